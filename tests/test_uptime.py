"""Uptime from incident history: weights, overlaps, days, the month."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from broadcaster.messages.model import AffectedComponent, ComponentStatus, Impact, Incident, Status, Update
from broadcaster.messages.uptime import daily, month_to_date, outages
from broadcaster.messages.visibility import public_incident

START = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)


def incident(statuses: list[tuple[int, Status, ComponentStatus]], resolved_after: int | None = None, iid: str = "a"):  # type: ignore[no-untyped-def]
    updates = [
        Update(iid, n + 1, START + timedelta(minutes=minute), status, "m", components=(AffectedComponent("api", component),))
        for n, (minute, status, component) in enumerate(statuses)
    ]
    resolved = START + timedelta(minutes=resolved_after) if resolved_after is not None else None
    inc = Incident(iid, "t", Impact.MAJOR, updates[-1].status, START, resolved_at=resolved)
    return public_incident(inc, updates)


CASES = [
    ("one hour major outage", [(0, Status.INVESTIGATING, ComponentStatus.MAJOR_OUTAGE), (60, Status.RESOLVED, ComponentStatus.OPERATIONAL)], 60, 60.0),
    ("one hour partial is half", [(0, Status.INVESTIGATING, ComponentStatus.PARTIAL_OUTAGE), (60, Status.RESOLVED, ComponentStatus.OPERATIONAL)], 60, 30.0),
    ("degraded is a tenth", [(0, Status.INVESTIGATING, ComponentStatus.DEGRADED_PERFORMANCE), (100, Status.RESOLVED, ComponentStatus.OPERATIONAL)], 100, 10.0),
    ("maintenance does not count", [(0, Status.IN_PROGRESS, ComponentStatus.UNDER_MAINTENANCE), (60, Status.COMPLETED, ComponentStatus.OPERATIONAL)], 60, 0.0),
    ("escalation", [(0, Status.INVESTIGATING, ComponentStatus.PARTIAL_OUTAGE), (30, Status.IDENTIFIED, ComponentStatus.MAJOR_OUTAGE), (60, Status.RESOLVED, ComponentStatus.OPERATIONAL)], 60, 45.0),
]


@pytest.mark.parametrize(("statuses", "resolved", "down_minutes"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_downtime_is_weighted(statuses, resolved, down_minutes) -> None:  # type: ignore[no-untyped-def]
    now = START + timedelta(days=1)
    found = outages([incident(statuses, resolved)], now)
    day = next(d for d in daily(found, "api", now) if d.day == START.date())
    assert day.uptime == pytest.approx(100 * (1 - down_minutes * 60 / 86400))


def test_overlapping_incidents_count_once() -> None:
    now = START + timedelta(days=1)
    one = incident([(0, Status.INVESTIGATING, ComponentStatus.MAJOR_OUTAGE), (60, Status.RESOLVED, ComponentStatus.OPERATIONAL)], 60, "a")
    two = incident([(0, Status.INVESTIGATING, ComponentStatus.MAJOR_OUTAGE), (60, Status.RESOLVED, ComponentStatus.OPERATIONAL)], 60, "b")
    found = outages([one, two], now)
    day = next(d for d in daily(found, "api", now) if d.day == START.date())
    assert day.uptime == pytest.approx(100 * (1 - 3600 / 86400))
    assert day.worst is ComponentStatus.MAJOR_OUTAGE


def test_an_open_incident_counts_until_now_and_ninety_days_are_shown() -> None:
    now = START + timedelta(hours=2)
    found = outages([incident([(0, Status.INVESTIGATING, ComponentStatus.MAJOR_OUTAGE)])], now)
    days = daily(found, "api", now)
    assert len(days) == 90 and days[-1].day == now.date()
    assert days[-1].uptime == pytest.approx(100 * (1 - 7200 / (14 * 3600)))  # today so far: 14 h, 2 h down
    assert all(d.uptime == 100.0 for d in days[:-1])


def test_month_to_date() -> None:
    now = datetime(2026, 11, 11, 0, 0, tzinfo=UTC)  # 10 days into November
    found = outages([incident([(0, Status.INVESTIGATING, ComponentStatus.MAJOR_OUTAGE), (144, Status.RESOLVED, ComponentStatus.OPERATIONAL)], 144)], now)
    assert month_to_date(found, "api", now) == pytest.approx(99.0)
