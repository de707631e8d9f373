"""Uptime bars on the status page and ``uptime_90d`` in summary.json, from known outages.

The expected figures are worked out by hand from the weights documented in
messages/uptime.py (major outage 1, partial 1/2, degraded 1/10, maintenance
0): NOW is 2 May 2024 09:00 UTC, so the 90 days shown are 3 Feb to 2 May and
hold 89 x 24 + 9 = 2145 hours.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from broadcaster.messages.model import AffectedComponent, ComponentStatus, Impact, Incident, Status, Update
from broadcaster.messages.uptime import DayUptime, Outage, availability, component_days, outages
from broadcaster.messages.visibility import PublicIncident, public_incident

from broadcaster.site.build import build_site
from broadcaster.site.uptime import json_percent, percent_text, span_percent
from tests.site_helpers import NOW, Document, document, site_data, site_files, with_uptime


def at(day: int, hour: int, month: int = 4) -> datetime:
    return datetime(2024, month, day, hour, tzinfo=UTC)


@dataclass(frozen=True)
class Down:
    """One incident that puts a component in a status from ``start`` until ``end`` (None: still open)."""

    component: str
    status: str
    start: datetime
    end: datetime | None


def incident_of(n: int, down: Down) -> PublicIncident:
    hit = (AffectedComponent(down.component, ComponentStatus(down.status)),)
    incident_id = f"i{n}"
    updates = [Update(incident_id, 1, down.start, Status.INVESTIGATING, "Looking into it.", hit)]
    if down.end is not None:
        updates.append(Update(incident_id, 2, down.end, Status.RESOLVED, "Fixed."))
    status = Status.RESOLVED if down.end else Status.INVESTIGATING
    header = Incident(incident_id, f"Outage {n}", Impact.MAJOR, status, down.start, hit, resolved_at=down.end)
    return public_incident(header, updates)


def api_bar(page: Document) -> list[Any]:
    bar = page.one("ol", aria_labelledby="uptime-api")  # named by its figure
    return [li for li in page.within(bar, "li")]


def figure_of(page: Document, component_id: str) -> str:
    return page.one("p", id=f"uptime-{component_id}").words()


# (outages, the API's day to look at, its label, its status class, the 90-day figure, uptime_90d)
CASES = [
    (
        [Down("api", "major_outage", at(30, 10), at(30, 11))],
        date(2024, 4, 30), "30 Apr 2024: 95.83% uptime, major outage", "major_outage", "99.95%", 99.9533,
    ),
    (
        [Down("api", "partial_outage", at(30, 10), at(30, 12))],
        date(2024, 4, 30), "30 Apr 2024: 95.83% uptime, partial outage", "partial_outage", "99.95%", 99.9533,
    ),
    (
        [Down("api", "degraded_performance", at(30, 10), at(30, 15))],
        date(2024, 4, 30), "30 Apr 2024: 97.92% uptime, degraded performance", "degraded_performance",
        "99.98%", 99.9766,
    ),
    (
        [Down("api", "under_maintenance", at(30, 10), at(30, 13))],
        date(2024, 4, 30), "30 Apr 2024: 100% uptime, operational", "operational", "100%", 100.0,
    ),
    (
        [Down("api", "major_outage", at(1, 23, month=5), at(2, 1, month=5))],
        date(2024, 5, 1), "1 May 2024: 95.83% uptime, major outage", "major_outage", "99.91%", 99.9067,
    ),
    (
        [Down("api", "major_outage", at(1, 23, month=5), at(2, 1, month=5))],
        date(2024, 5, 2), "2 May 2024 (today): 88.89% uptime, major outage", "major_outage", "99.91%", 99.9067,
    ),
    (
        [Down("api", "major_outage", at(2, 7, month=5), None)],
        date(2024, 5, 2), "2 May 2024 (today): 77.78% uptime, major outage", "major_outage", "99.91%", 99.9067,
    ),
    (
        [
            Down("api", "major_outage", at(30, 10), at(30, 11)),
            Down("api", "partial_outage", at(30, 10), at(30, 12)),
        ],
        date(2024, 4, 30), "30 Apr 2024: 93.75% uptime, major outage", "major_outage", "99.93%", 99.93,
    ),
    (
        [Down("web", "major_outage", at(30, 10), at(30, 11))],
        date(2024, 4, 30), "30 Apr 2024: 100% uptime, operational", "operational", "100%", 100.0,
    ),
    (
        [Down("api", "major_outage", at(1, 10, month=2), at(1, 11, month=2))],
        date(2024, 2, 3), "3 Feb 2024: 100% uptime, operational", "operational", "100%", 100.0,
    ),
    (
        [Down("api", "major_outage", at(2, 23, month=2), at(3, 1, month=2))],
        date(2024, 2, 3), "3 Feb 2024: 95.83% uptime, major outage", "major_outage", "99.95%", 99.9533,
    ),
]
CASE_IDS = [
    "one-hour-major-outage",
    "two-hours-partial-count-as-one",
    "five-hours-degraded-count-as-half-an-hour",
    "maintenance-does-not-count",
    "across-midnight-day-before",
    "across-midnight-today-so-far",
    "still-open",
    "overlapping-outages-count-once-worst-first",
    "another-component-is-untouched",
    "older-than-90-days-changes-nothing",
    "crossing-the-window-start-counts-its-part",
]


@pytest.mark.parametrize(("downs", "day", "label", "tone", "figure", "json_figure"), CASES, ids=CASE_IDS)
def test_bars_and_figures_from_known_outages(
    tmp_path: Path, downs: list[Down], day: date, label: str, tone: str, figure: str, json_figure: float
) -> None:
    incidents = [incident_of(n, d) for n, d in enumerate(downs)]
    build_site(with_uptime(site_data(incidents)), tmp_path)
    page = document(tmp_path, "index.html")

    days = api_bar(page)
    [bar] = [li for li in days if li.words().split(":")[0] == label.split(":")[0]]
    assert days.index(bar) == 89 - (NOW.date() - day).days  # oldest first, today last
    assert bar.words() == label and bar.attrs["title"] == label
    assert f"day--{tone}" in bar.classes
    assert figure_of(page, "api") == f"API: {figure} uptime over the last 90 days · SLA target 99.9% a month"
    summary = json.loads((tmp_path / "summary.json").read_bytes())
    api = next(c for c in summary["components"] if c["id"] == "api")
    assert api["uptime_90d"] == json_figure


def test_a_bar_has_ninety_days_oldest_first_and_ends_today(tmp_path: Path) -> None:
    build_site(with_uptime(site_data([])), tmp_path)
    days = api_bar(document(tmp_path, "index.html"))
    assert len(days) == 90
    assert days[0].words() == "3 Feb 2024: 100% uptime, operational"
    assert days[-1].words() == "2 May 2024 (today): 100% uptime, operational"
    assert all(li.attrs["title"] == li.words() for li in days)


def test_every_component_with_days_gets_a_bar_and_only_those_with_an_sla_show_it(tmp_path: Path) -> None:
    build_site(with_uptime(site_data([])), tmp_path)
    page = document(tmp_path, "index.html")
    assert [ol.attrs["aria-labelledby"] for ol in page.all("ol") if "uptime-days" in ol.classes] == [
        "uptime-mail", "uptime-api", "uptime-web", "uptime-db"
    ]
    assert figure_of(page, "api").endswith("· SLA target 99.9% a month")
    assert figure_of(page, "web") == "Website: 100% uptime over the last 90 days"
    scales = [p.words() for p in page.all("p") if "uptime-scale" in p.classes]
    assert scales and all(s == "90 days ago 30 days ago Today" for s in scales)  # CSS shows one of the two
    assert all(p.attrs["aria-hidden"] == "true" for p in page.all("p") if "uptime-scale" in p.classes)


def test_without_uptime_data_there_are_no_bars_and_uptime_90d_is_null(tmp_path: Path) -> None:
    build_site(site_data([]), tmp_path)
    assert not [e for e in document(tmp_path, "index.html").elements if "uptime" in e.classes]
    summary = json.loads((tmp_path / "summary.json").read_bytes())
    members = [c for c in summary["components"] if not c["group"]]
    assert members and all(c["uptime_90d"] is None for c in members)
    assert all("uptime_90d" not in c for c in summary["components"] if c["group"])


@pytest.mark.parametrize(
    ("value", "shown", "as_json"),
    [
        (100.0, "100%", 100.0),
        (99.99999, "99.99%", 99.9999),
        (99.995, "99.99%", 99.995),
        (95.833333, "95.83%", 95.8333),
        (88.888888, "88.89%", 88.8888),
        (0.0, "0.00%", 0.0),
    ],
    ids=["perfect", "never-rounded-up-to-100", "half-way-below-100", "one-hour-down", "rounds-up-below-100", "zero"],
)
def test_percentages_are_shown_with_two_decimals_and_100_only_when_perfect(
    value: float, shown: str, as_json: float
) -> None:
    assert percent_text(value) == shown
    assert json_percent(value) == as_json


def test_the_figure_weighs_today_by_the_hours_that_have_passed() -> None:
    days = component_days(
        outages([incident_of(0, Down("api", "major_outage", at(2, 0, month=5), None))], NOW), ["api"], NOW
    )["api"]
    assert days[-1].uptime == 0.0  # down all of today so far
    assert span_percent(days, NOW) == pytest.approx(100 * (1 - 9 / 2145))


def slow_days(found: list[Outage], component_id: str, now: datetime) -> tuple[DayUptime, ...]:
    """The obvious way, independent of component_days' filing: every outage checked on every day."""
    result = []
    for offset in range(89, -1, -1):
        day = now.date() - timedelta(days=offset)
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        end = min(start + timedelta(days=1), now)
        mine = [o for o in found if o.component_id == component_id and min(o.end, end) > max(o.start, start)]
        worst = max((o.status for o in mine), key=lambda s: s.severity, default=ComponentStatus.OPERATIONAL)
        result.append(DayUptime(day, availability(mine, component_id, start, end), worst))
    return tuple(result)


def test_component_days_gives_exactly_what_checking_every_day_gives() -> None:
    rng = random.Random(7)
    statuses = list(ComponentStatus)
    for _ in range(60):
        found = []
        for _ in range(rng.randint(0, 30)):
            start = NOW - timedelta(minutes=rng.randint(0, 100 * 24 * 60))
            end = min(start + timedelta(minutes=rng.randint(1, 3 * 24 * 60)), NOW)
            status = rng.choice(statuses)
            weight = {"major_outage": 1.0, "partial_outage": 0.5, "degraded_performance": 0.1}.get(status.value, 0.0)
            found.append(Outage(rng.choice(["api", "db"]), start, end, weight, status))
        now = NOW + timedelta(minutes=rng.randint(0, 24 * 60))
        expected = {cid: slow_days(found, cid, now) for cid in ("api", "db", "web")}
        assert component_days(found, ["api", "db", "web"], now) == expected


def test_the_same_history_gives_byte_identical_bars(tmp_path: Path) -> None:
    incidents = [incident_of(0, Down("api", "partial_outage", at(30, 10), at(30, 12)))]
    build_site(with_uptime(site_data(incidents)), tmp_path / "one")
    build_site(with_uptime(site_data(incidents)), tmp_path / "two")
    for name in ("index.html", "summary.json"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


# -- What the engine hands the site --------------------------------------------------------------

CONFIG = """
[page]
title = "Acme status"
base_url = "https://status.example.com/"
history_days = 14

[[components]]
id = "api"
name = "API"
sla = 99.9

[[components]]
id = "db"
name = "Database"
"""


def test_site_data_reads_90_days_for_uptime_but_shows_only_history_days(tmp_path: Path) -> None:
    from broadcaster.config_loader import load
    from broadcaster.site.source import site_data as engine_site_data
    from broadcaster.store import PlannedDelivery, open_store

    (tmp_path / "broadcaster.toml").write_text(CONFIG)
    config = load(str(tmp_path / "broadcaster.toml"), environ={})
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    store = open_store(config.store_path)
    plan: list[PlannedDelivery] = []  # no delivery recorded: history, as an import leaves it
    # Shown and counted / counted only / neither / open and shown.
    history = {
        "recent": ("api", "major_outage", today - timedelta(days=10) + timedelta(hours=6), timedelta(hours=1)),
        "older": ("db", "partial_outage", today - timedelta(days=40) + timedelta(hours=6), timedelta(hours=2)),
        "ancient": ("api", "major_outage", today - timedelta(days=100), timedelta(hours=24)),
        "open": ("db", "degraded_performance", today - timedelta(days=1), None),
    }
    for name, (component, status, start, length) in history.items():
        hit = (AffectedComponent(component, ComponentStatus(status)),)
        incident = Incident(name, name.title(), Impact.MAJOR, Status.INVESTIGATING, start, hit)
        store.record_update(incident, Update(name, 0, start, Status.INVESTIGATING, "Down.", hit), plan, new=True)
        if length is not None:
            resolved = Incident(name, name.title(), Impact.MAJOR, Status.RESOLVED, start, hit,
                                resolved_at=start + length)
            store.record_update(resolved, Update(name, 0, start + length, Status.RESOLVED, "Fixed."), plan, new=False)
    # A private notice on the recent incident: never on the site, never counted.
    notice = Update("recent", 0, today - timedelta(days=10) + timedelta(hours=8), Status.RESOLVED,
                    "NOTICE-ONLY for ops", (AffectedComponent("api", ComponentStatus.MAJOR_OUTAGE),), kind="notice")
    recent_incident = store.incident("recent")
    assert recent_incident is not None
    store.record_update(recent_incident, notice, plan, new=False)

    data = engine_site_data(config, store)
    store.close()

    assert sorted(i.header.id for i in data.incidents) == ["open", "recent"]
    assert all(u.kind != "notice" for i in data.incidents for u in i.updates)
    assert set(data.uptime) == {"api", "db"} and all(len(days) == 90 for days in data.uptime.values())
    by_day = {name: {d.day: d for d in days} for name, days in data.uptime.items()}
    recent = by_day["api"][(today - timedelta(days=10)).date()]
    assert (round(recent.uptime, 2), recent.worst) == (95.83, ComponentStatus.MAJOR_OUTAGE)
    older = by_day["db"][(today - timedelta(days=40)).date()]
    assert (round(older.uptime, 2), older.worst) == (95.83, ComponentStatus.PARTIAL_OUTAGE)
    assert by_day["db"][(today - timedelta(days=1)).date()].uptime == pytest.approx(90.0)  # degraded all day
    bad_api_days = [d for d in data.uptime["api"] if d.uptime < 100]
    assert [d.day for d in bad_api_days] == [(today - timedelta(days=10)).date()]

    build_site(data, tmp_path / "public")
    page = document(tmp_path / "public", "index.html")
    assert len(api_bar(page)) == 90
    assert not [p for p in site_files(tmp_path / "public") if b"NOTICE-ONLY" in p.read_bytes()]
