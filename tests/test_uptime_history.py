"""Honest uptime (issue 17): a component's history starts on its ``since`` date or the first day the
store names it; the days before are "no data", drawn neutral and never counted as 100%."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from broadcaster.messages.model import ComponentStatus
from broadcaster.messages.uptime import DAYS_SHOWN, component_days

from broadcaster.site.build import build_site
from broadcaster.site.uptime import day_label, span_percent
from tests.conftest import Project
from tests.site_helpers import NOW, document, site_data

TODAY = NOW.date()


def test_days_before_the_start_are_no_data_and_do_not_count() -> None:
    start = TODAY - timedelta(days=9)
    days = component_days([], ["api", "web", "db"], NOW, starts={"api": start, "web": None})
    api, web, db = days["api"], days["web"], days["db"]
    assert [d.known for d in api] == [False] * (DAYS_SHOWN - 10) + [True] * 10
    assert not any(d.known for d in web)
    assert all(d.known for d in db)  # not in starts: every day known
    assert span_percent(web, NOW) is None
    assert span_percent(api, NOW) == 100.0
    assert day_label(api[0]).endswith(": no data")


def test_a_no_data_day_weighs_nothing_in_the_figure() -> None:
    # Half a day of major outage on the one known full day: 50% if the 89 no-data days are left out.
    days = component_days([], ["api"], NOW, starts={"api": TODAY})["api"]
    down = replace(days[-1], uptime=50.0, worst=ComponentStatus.MAJOR_OUTAGE)
    assert span_percent((*days[:-1], down), NOW) == pytest.approx(50.0)


def test_the_page_draws_no_data_days_in_words_and_a_class_of_their_own(tmp_path: Path) -> None:
    data = site_data([])
    starts = {"api": TODAY - timedelta(days=4), "web": None}
    ids = [c.component.id for c in data.components]
    build_site(replace(data, uptime=component_days([], ids, data.now, starts=starts)), tmp_path)
    page = document(tmp_path, "index.html")
    bar = page.one("ol", aria_labelledby="uptime-api")
    days = page.within(bar, "li")
    assert len(days) == DAYS_SHOWN
    assert ["day--no-data" in d.classes for d in days] == [True] * (DAYS_SHOWN - 5) + [False] * 5
    assert days[0].words().endswith(": no data") and days[0].attrs["title"].endswith(": no data")
    assert page.one("p", id="uptime-api").words().startswith("API: 100% uptime over the last 5 days (no data before)")
    assert page.one("p", id="uptime-web").words() == "Website: No uptime data yet"
    summary = json.loads((tmp_path / "summary.json").read_text())
    figures = {c["id"]: c["uptime_90d"] for c in summary["components"] if not c.get("group")}
    assert figures["api"] == 100.0 and figures["web"] is None


SINCE = """
[[components]]
id = "queue"
name = "Queue"
since = {since}
"""


def test_since_and_the_first_day_the_store_names_a_component_start_its_history(project: Project) -> None:
    today = datetime.now(UTC).date()
    project.write_config(SINCE.format(since=(today - timedelta(days=9)).isoformat()))
    posted = project.cli("post", "--yes", "--title", "API errors", "-C", "api=partial_outage", "Looking into it.")
    assert posted.exit_code == 0, posted.output
    page = document(project.site, "index.html")

    def no_data(component_id: str) -> int:
        bar = page.one("ol", aria_labelledby=f"uptime-{component_id}")
        return sum("day--no-data" in d.classes for d in page.within(bar, "li"))

    assert no_data("api") == DAYS_SHOWN - 1  # named by the store today: today only
    assert no_data("queue") == DAYS_SHOWN - 10  # since 9 days ago
    assert no_data("web") == DAYS_SHOWN  # never named, no since
    assert page.one("p", id="uptime-web").words() == "Website: No uptime data yet"


def _moved(record: object, to: str) -> object:
    """An export record with every time in it moved to ``to``."""
    if isinstance(record, dict):
        return {k: to if k.endswith("_at") and isinstance(v, str) else _moved(v, to) for k, v in record.items()}
    if isinstance(record, list):
        return [_moved(v, to) for v in record]
    return record


def test_a_component_named_before_the_ninety_days_knows_every_day(project: Project) -> None:
    # Only the store knows: the incident was closed long ago, so the page does not load it.
    posted = project.cli("post", "--yes", "--title", "Old", "-C", "db=major_outage", "Down.")
    assert posted.exit_code == 0, posted.output
    incident = json.loads(project.cli("list", "--json").stdout)[0]["id"]
    assert project.cli("resolve", "--yes", incident, "Fixed.").exit_code == 0
    export = project.root / "old.jsonl"
    assert project.cli("store", "export", str(export)).exit_code == 0
    long_ago = (datetime.now(UTC) - timedelta(days=120)).isoformat()
    lines = [_moved(json.loads(line), long_ago) for line in export.read_text().splitlines()]
    export.write_text("\n".join(json.dumps(r) for r in lines) + "\n")
    fresh = project.root / "fresh.db"
    imported = project.cli("--store", str(fresh), "store", "import", str(export))
    assert imported.exit_code == 0, imported.output
    built = project.cli("--store", str(fresh), "site", "build")
    assert built.exit_code == 0, built.output
    page = document(project.site, "index.html")
    assert "Old" not in page.section("past-heading").words()  # not loaded: closed 120 days ago

    def no_data(component_id: str) -> int:
        bar = page.one("ol", aria_labelledby=f"uptime-{component_id}")
        return sum("day--no-data" in d.classes for d in page.within(bar, "li"))

    assert no_data("db") == 0
    assert no_data("web") == DAYS_SHOWN


@pytest.mark.parametrize(
    "value", ['"2026-01-01"', "2026-01-01T10:00:00Z", "20260101"], ids=["string", "datetime", "number"],
)
def test_since_must_be_a_date(project: Project, value: str) -> None:
    project.write_config(SINCE.format(since=value))
    result = project.cli("post", "--yes", "--title", "API errors", "Looking into it.")
    assert result.exit_code == 2
    assert "since" in result.output and "2026-01-01" in result.output
    assert not project.site.exists() or not (project.site / "index.html").exists()

