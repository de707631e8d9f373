"""Uptime bars: each component's recent days as the index draws them, and its uptime figure.

The days come from ``messages.uptime.component_days`` (the weights are
documented there): calendar days in UTC, oldest first, today counted up to
now. This module turns them into what a reader sees and what summary.json
reports.

Each day is a bar with its date, uptime and worst status written out (a
tooltip, and text for screen readers); the bar is also shorter the worse the
day was, so colour is never the only cue. The figure over the whole span is
weighted by time, so today's few hours count for what they are.

Days before a component's history starts (``DayUptime.known`` false) are drawn
as "no data": a neutral bar of its own colour and pattern, said in words, and
left out of the figure; a component with no known day has no figure at all.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from markupsafe import Markup, escape

from broadcaster.config import ComponentConfig
from broadcaster.messages import i18n
from broadcaster.messages.uptime import DayUptime
from broadcaster.site import status as st
from broadcaster.site.fragments import Times

DAY = timedelta(days=1)
NO_DATA = "no-data"  # the class of a day before the component's history starts
# A phone shows this many of the newest days; style.css hides the older bars below 36rem.
NARROW_DAYS = 30


@dataclass(frozen=True)
class UptimeBar:
    """One component's bar: its days, oldest first, and the uptime over all of them."""

    days: tuple[DayUptime, ...]
    percent: float | None  # 0-100, weighted by how much of each known day has passed; None: no day known
    sla: float | None  # the monthly target from [[components]] sla, in percent

    @property
    def span(self) -> int:
        return len(self.days)

    @property
    def known_span(self) -> int:
        """The days the figure counts: those since the component's history starts."""
        return sum(1 for day in self.days if day.known)

    @property
    def narrow_span(self) -> int:
        return min(self.span, NARROW_DAYS)

    @property
    def text(self) -> str:
        return "" if self.percent is None else percent_text(self.percent)

    @property
    def figure(self) -> Markup:
        """The figure as the page stresses it, to be placed in a translated sentence."""
        return Markup("<strong>{}</strong>").format(self.text)

    @property
    def sla_text(self) -> str:
        return i18n.percent(self.sla) if self.sla is not None else ""

    @property
    def days_html(self) -> Markup:
        """The bar's ``<li>`` elements. Python, not a Jinja loop: 90 per component."""
        today = self.days[-1].day if self.days else None
        items = []
        for day in self.days:
            label = escape(day_label(day, today=day.day == today))
            kind = day.worst.value if day.known else NO_DATA
            items.append(
                f'<li class="day day--{escape(kind)}" title="{label}">'
                f'<span class="visually-hidden">{label}</span></li>'
            )
        return Markup("\n".join(items))


def percent_text(value: float) -> str:
    """``100%`` only for a perfect record; else two decimals, never rounded up to 100; written
    as the language in effect writes a percentage ("99,95 %" in Swedish)."""
    if value >= 100.0:
        return i18n.percent(Decimal(100))
    shown = f"{max(value, 0.0):.2f}"
    return i18n.percent(Decimal("99.99" if shown == "100.00" else shown), 2)


def json_percent(value: float) -> float:
    """The figure summary.json carries: four decimals, and 100 only when nothing was lost."""
    if value >= 100.0:
        return 100.0
    return math.floor(max(value, 0.0) * 10_000) / 10_000


def day_label(day: DayUptime, *, today: bool = False) -> str:
    """``20 Nov 2026: 95.83% uptime, major outage``: the date, the figure, the worst status."""
    when = Times.date_text(day.day)
    if today:
        when = i18n.gettext("%(date)s (today)") % {"date": when}
    if not day.known:
        return i18n.gettext("%(date)s: no data") % {"date": when}
    return i18n.gettext("%(date)s: %(figure)s uptime, %(status)s") % {
        "date": when, "figure": percent_text(day.uptime), "status": day.worst.label.lower(),
    }


def span_percent(days: Sequence[DayUptime], now: datetime) -> float | None:
    """Uptime over the known ``days``, each weighted by how much of it had passed at ``now``;
    None when no day is known."""
    now = st.utc(now)
    total = down = 0.0
    known = [day for day in days if day.known]
    if not known:
        return None
    for day in known:
        start = datetime.combine(day.day, time(), tzinfo=UTC)
        seconds = min(max((now - start).total_seconds(), 0.0), DAY.total_seconds())
        total += seconds
        down += seconds * (100.0 - day.uptime) / 100.0
    return 100.0 if total <= 0 else max(0.0, 100.0 * (1.0 - down / total))


def bars(
    components: Sequence[ComponentConfig],
    uptime: Mapping[str, Sequence[DayUptime]],
    now: datetime,
) -> dict[str, UptimeBar]:
    """A bar for each configured component that has days in ``uptime``."""
    found = {}
    for entry in components:
        days = tuple(uptime.get(entry.component.id, ()))
        if days:
            found[entry.component.id] = UptimeBar(days, span_percent(days, now), entry.sla)
    return found
