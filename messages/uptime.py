"""Uptime of each component, computed from the public incident history.

A component counts as down, in part, while an open incident reports it so:

====================  ======
status                weight
====================  ======
major_outage          1.0
partial_outage        0.5
degraded_performance  0.1
under_maintenance     0.0 (planned work does not count against availability)
operational           0.0
====================  ======

So an hour of partial outage costs 30 minutes of availability. An incident
stops counting when it is resolved (or a maintenance window completed).

A component's history starts on its first day (``starts``: its ``since`` date,
or the first day the store names it): the days before are "no data"
(``DayUptime.known`` false), never 100%, and count for nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from broadcaster.messages.model import ComponentStatus
from broadcaster.messages.visibility import PublicIncident

WEIGHTS = {
    ComponentStatus.MAJOR_OUTAGE: 1.0,
    ComponentStatus.PARTIAL_OUTAGE: 0.5,
    ComponentStatus.DEGRADED_PERFORMANCE: 0.1,
    ComponentStatus.UNDER_MAINTENANCE: 0.0,
    ComponentStatus.OPERATIONAL: 0.0,
}
DAYS_SHOWN = 90


@dataclass(frozen=True)
class Outage:
    """A stretch of time during which one component was (partly) down."""

    component_id: str
    start: datetime
    end: datetime
    weight: float
    status: ComponentStatus


@dataclass(frozen=True)
class DayUptime:
    day: date
    uptime: float  # percent, 0-100; 100 for a day with no outage
    worst: ComponentStatus
    known: bool = True  # False before the component's history starts: "no data", not counted


def outages(incidents: Iterable[PublicIncident], now: datetime) -> list[Outage]:
    """Every weighted outage stretch in these incidents' public timelines."""
    result: list[Outage] = []
    for incident in incidents:
        state: dict[str, ComponentStatus] = {}
        updates = incident.updates
        for index, update in enumerate(updates):
            for component in update.components:
                state[component.id] = component.status
            if update.status.is_closed:
                break
            end = updates[index + 1].created_at if index + 1 < len(updates) else (incident.header.resolved_at or now)
            for component_id, status in state.items():
                if WEIGHTS[status] > 0 and end > update.created_at:
                    result.append(Outage(component_id, update.created_at, min(end, now), WEIGHTS[status], status))
    return result


def _overlap(outage: Outage, start: datetime, end: datetime) -> float:
    return max(0.0, (min(outage.end, end) - max(outage.start, start)).total_seconds())


def availability(found: Iterable[Outage], component_id: str, start: datetime, end: datetime) -> float:
    """Percent of ``start..end`` the component was up (overlapping outages count once, worst first)."""
    span = (end - start).total_seconds()
    if span <= 0:
        return 100.0
    relevant = sorted((o for o in found if o.component_id == component_id), key=lambda o: -o.weight)
    down = 0.0
    covered: list[tuple[datetime, datetime]] = []
    for outage in relevant:
        for piece_start, piece_end in _uncovered(outage.start, outage.end, covered, start, end):
            down += (piece_end - piece_start).total_seconds() * outage.weight
            covered.append((piece_start, piece_end))
    return max(0.0, 100.0 * (1 - down / span))


def _uncovered(
    start: datetime, end: datetime, covered: list[tuple[datetime, datetime]], lo: datetime, hi: datetime
) -> list[tuple[datetime, datetime]]:
    pieces = [(max(start, lo), min(end, hi))]
    for c_start, c_end in covered:
        next_pieces = []
        for p_start, p_end in pieces:
            if c_end <= p_start or c_start >= p_end:
                next_pieces.append((p_start, p_end))
                continue
            if p_start < c_start:
                next_pieces.append((p_start, c_start))
            if c_end < p_end:
                next_pieces.append((c_end, p_end))
        pieces = next_pieces
    return [(s, e) for s, e in pieces if e > s]


def daily(found: list[Outage], component_id: str, now: datetime, days: int = DAYS_SHOWN) -> list[DayUptime]:
    """One entry per calendar day (UTC), oldest first, today last (counted up to now)."""
    return list(component_days(found, [component_id], now, days)[component_id])


def component_days(
    found: Iterable[Outage], component_ids: Iterable[str], now: datetime, days: int = DAYS_SHOWN,
    starts: Mapping[str, date | None] | None = None,
) -> dict[str, tuple[DayUptime, ...]]:
    """The days of every component in one pass over the outages.

    Each outage is first filed under the days it touches, so every day looks at
    its own outages only: this runs on every publish, with up to 90 days of history.
    ``starts``: component id -> its first day (None: no day known yet); a component
    not in it has known every day shown.
    """
    now = now.astimezone(UTC)
    today = now.date()
    first = today - timedelta(days=days - 1)
    filed: dict[tuple[str, date], list[Outage]] = {}
    for outage in found:
        day = max(outage.start.astimezone(UTC).date(), first)
        last = min(outage.end.astimezone(UTC).date(), today)
        while day <= last:
            filed.setdefault((outage.component_id, day), []).append(outage)
            day += timedelta(days=1)
    starts = starts or {}
    shown = [first + timedelta(days=offset) for offset in range(days)]
    return {component_id: tuple(_day_of(filed.get((component_id, day)), component_id, day, now, starts) for day in shown)
            for component_id in component_ids}


def _day_of(candidates: list[Outage] | None, component_id: str, day: date, now: datetime,
            starts: Mapping[str, date | None]) -> DayUptime:
    if not _known(starts, component_id, day):
        return DayUptime(day, 100.0, ComponentStatus.OPERATIONAL, known=False)
    if not candidates:  # most days of most components: what ``_day`` makes of no outage, without measuring it
        return DayUptime(day, 100.0, ComponentStatus.OPERATIONAL)
    return _day(candidates, component_id, day, now)


def _known(starts: Mapping[str, date | None], component_id: str, day: date) -> bool:
    if component_id not in starts:
        return True
    start = starts[component_id]
    return start is not None and day >= start


def _day(candidates: list[Outage], component_id: str, day: date, now: datetime) -> DayUptime:
    start = datetime.combine(day, time(), tzinfo=UTC)
    end = min(start + timedelta(days=1), now)
    mine = [o for o in candidates if _overlap(o, start, end) > 0]
    worst = max((o.status for o in mine), key=lambda s: s.severity, default=ComponentStatus.OPERATIONAL)
    return DayUptime(day, availability(mine, component_id, start, end), worst)


def month_start(now: datetime) -> datetime:
    utc = now.astimezone(UTC)
    return datetime(utc.year, utc.month, 1, tzinfo=UTC)


def month_to_date(found: list[Outage], component_id: str, now: datetime) -> float:
    """Availability of a component this calendar month (UTC), up to now."""
    return availability(found, component_id, month_start(now), now)


def group_month_to_date(found: list[Outage], component_ids: Iterable[str], now: datetime) -> float:
    """Availability of a group of components this month (a customer's): down while any of them is,
    overlapping outages counted once, the worst first."""
    wanted = set(component_ids)
    merged = [replace(o, component_id="") for o in found if o.component_id in wanted]
    return availability(merged, "", month_start(now), now)
