"""Statuspage's ``incidents.json`` and ``scheduled-maintenances.json`` list the 50 most recent incidents
and windows the store holds, not only those the page shows (issue 17, point 1).

The page shows open incidents and those closed within ``[page] history_days`` (14 by default); a
reader of the API asks for the 50 most recent, resolved ones included, however old. Those older ones
are listed in these two files only: the page, the feeds, the summary and the status stay as they were.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from broadcaster.messages.model import AffectedComponent, ComponentStatus, Impact, Incident, Status, Update

from broadcaster import config_loader
from broadcaster.site import source
from broadcaster.site.api import MOST_RECENT, PREFIX
from broadcaster.store import open_store
from broadcaster.store.contract import Store
from tests.conftest import Project

NOW = datetime.now(UTC).replace(microsecond=0)
SECRET = "PAGER-NOTE-OLD-7731"


def _old_incident(store: Store, incident_id: str, days_ago: float, *, note: str = "") -> None:
    start = NOW - timedelta(days=days_ago)
    api = (AffectedComponent("api", ComponentStatus.PARTIAL_OUTAGE),)
    incident = Incident(incident_id, f"Old outage {incident_id}", Impact.MINOR, Status.INVESTIGATING, start,
                        components=api)
    stored, _ = store.record_update(
        incident, Update(incident_id, 0, start, Status.INVESTIGATING, f"Errors on {incident_id}.",
                         private_note=note), [], new=True)
    closed = replace(stored, status=Status.RESOLVED, resolved_at=start + timedelta(hours=1))
    store.record_update(closed, Update(stored.id, 0, start + timedelta(hours=1), Status.RESOLVED, "Fixed."), [],
                        new=False)


def _old_window(store: Store, incident_id: str, days_ago: float) -> None:
    start = NOW - timedelta(days=days_ago)
    window = Incident(incident_id, f"Old window {incident_id}", Impact.NONE, Status.SCHEDULED,
                      start - timedelta(days=3), kind="maintenance", scheduled_start=start,
                      scheduled_end=start + timedelta(hours=1))
    stored, _ = store.record_update(
        window, Update(incident_id, 0, start - timedelta(days=3), Status.SCHEDULED, "Planned."), [], new=True)
    done = replace(stored, status=Status.COMPLETED, resolved_at=start + timedelta(hours=1))
    store.record_update(done, Update(stored.id, 0, start + timedelta(hours=1), Status.COMPLETED, "Done."), [],
                        new=False)


@pytest.fixture
def site(project: Project) -> Path:
    """A store of 70 incidents closed 20 to 89 days ago, 55 windows completed 20 to 74 days ago, one
    withdrawn old incident, and one open incident posted now; the site fully built from it."""
    project.cli("post", "--title", "API errors now", "-C", "api", "--yes", "Errors are elevated.")
    store = open_store(project.root / ".broadcaster" / "state.db")
    try:
        for n in range(70):
            _old_incident(store, f"old-{n:03d}", 20 + n, note=SECRET if n == 0 else "")
        for n in range(55):
            _old_window(store, f"win-{n:03d}", 20 + n)
        _old_incident(store, "withdrawn-one", 19)
        with store.transaction():
            store.run("UPDATE incidents SET withdrawn_at = ? WHERE id = 'withdrawn-one'", (NOW.isoformat(),))
        config = config_loader.load(str(project.config))
        source.rebuild(config, store)
    finally:
        store.close()
    return project.site


def _read(site: Path, name: str) -> Any:
    return json.loads((site / PREFIX / name).read_bytes())


def test_incidents_json_lists_the_50_most_recent_however_old(site: Path) -> None:
    listed = [i["id"] for i in _read(site, "incidents.json")["incidents"]]
    assert len(listed) == MOST_RECENT
    assert listed[0].startswith("api-errors-now")
    assert listed[1:] == [f"old-{n:03d}" for n in range(MOST_RECENT - 1)]  # newest first
    assert "withdrawn-one" not in listed
    old = _read(site, "incidents.json")["incidents"][1]
    assert old["status"] == "resolved" and [u["status"] for u in old["incident_updates"]] == ["resolved", "investigating"]
    assert old["shortlink"].endswith("incidents/old-000.html") and (site / "incidents" / "old-000.html").exists()


def test_scheduled_maintenances_json_lists_the_50_most_recent_windows(site: Path) -> None:
    listed = [m["id"] for m in _read(site, "scheduled-maintenances.json")["scheduled_maintenances"]]
    assert listed == [f"win-{n:03d}" for n in range(MOST_RECENT)]


def test_the_older_ones_change_nothing_else(site: Path) -> None:
    # Only the two "most recent" lists reach past the page's history.
    for name in ("summary.json", "incidents/unresolved.json", "scheduled-maintenances/upcoming.json",
                 "scheduled-maintenances/active.json", "status.json", "components.json"):
        text = (site / PREFIX / name).read_text(encoding="utf-8")
        assert "old-0" not in text and "win-0" not in text, name
    for name in ("index.html", "feed.xml", "atom.xml", "maintenance.ics", "components/api/feed.xml"):
        text = (site / name).read_text(encoding="utf-8")
        assert "Old outage" not in text and "Old window" not in text, name


def test_an_old_incidents_private_note_stays_out_of_the_api(site: Path) -> None:
    for path in site.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_an_incremental_post_keeps_the_older_ones_listed(project: Project, site: Path) -> None:
    before = [i["id"] for i in _read(site, "incidents.json")["incidents"]]
    result = project.cli("post", "--title", "Mail delays", "-C", "api", "--yes", "Mail is slow.")
    assert result.exit_code == 0, result.stdout + result.stderr
    after = [i["id"] for i in _read(site, "incidents.json")["incidents"]]
    assert after[2:] == before[1:-1] and len(after) == MOST_RECENT  # the newest first; the 50th drops off


def test_an_old_incident_naming_a_customer_is_left_out_of_the_api(project: Project) -> None:
    # A record older than the page's history, brought in past the input gate (an import), whose public
    # text names a customer: the egress guard refuses its page, so the two files that list the archive
    # leave it out too (and search their own text for its values besides), named in the build's problems.
    project.write_config('[audiences.acme]\nname = "Acme Corp"\ncomponents = ["api"]\n')
    store = open_store(project.root / ".broadcaster" / "state.db")
    try:
        _old_incident(store, "old-clean", 30)
        start = NOW - timedelta(days=20)
        named = Incident("old-named", "Old outage", Impact.MINOR, Status.RESOLVED, start, resolved_at=start)
        store.record_update(named, Update("old-named", 0, start, Status.RESOLVED, "Acme Corp lost its tunnels."), [],
                            new=True)
        built = source.rebuild(config_loader.load(str(project.config)), store)
    finally:
        store.close()
    listed = [i["id"] for i in _read(project.site, "incidents.json")["incidents"]]
    assert listed == ["old-clean"]
    assert any("old-named" in problem for problem in built.problems)
    for path in project.site.rglob("*.json"):
        assert b"Acme Corp" not in path.read_bytes(), path


def test_the_archive_reaches_past_the_windows_the_page_reads(project: Project) -> None:
    # The page's build reads the incidents of the last 90 days (uptime) anyway; the archive takes those from
    # that read and reads only the older ones: the list is the same either side of the line, in one order,
    # an old incident's private note stays out, and an incident withdrawn or reopened leaves the archive.
    store = open_store(project.root / ".broadcaster" / "state.db")
    try:
        for n in range(30):
            _old_incident(store, f"near-{n:03d}", 60 + n, note=SECRET if n == 29 else "")
        for n in range(30):
            _old_incident(store, f"far-{n:03d}", 91 + n, note=SECRET if n == 0 else "")
        for gone in ("far-001", "near-003"):
            with store.transaction():
                store.run("UPDATE incidents SET withdrawn_at = ? WHERE id = ?", (NOW.isoformat(), gone))
        with store.transaction():  # reopened, its last update long ago: listed as the page shows it, open
            store.run("UPDATE incidents SET status = 'investigating' WHERE id = 'far-002'")
        source.rebuild(config_loader.load(str(project.config)), store)
    finally:
        store.close()
    listed = [i["id"] for i in _read(project.site, "incidents.json")["incidents"]]
    near = [f"near-{n:03d}" for n in range(30) if n != 3]
    far = [f"far-{n:03d}" for n in range(30) if n != 1]
    assert listed == (near + far)[:MOST_RECENT]  # by start, the open one in its place
    statuses = {i["id"]: i["status"] for i in _read(project.site, "incidents.json")["incidents"]}
    assert statuses["far-002"] == "investigating" and statuses["far-003"] == "resolved"
    for path in project.site.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    old = next(i for i in _read(project.site, "incidents.json")["incidents"] if i["id"] == "far-000")
    assert old["status"] == "resolved" and [u["body"] for u in old["incident_updates"]] == ["Fixed.", "Errors on far-000."]
