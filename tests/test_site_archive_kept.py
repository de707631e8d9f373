"""A review (each test failed before its fix): Statuspage's "50 most recent" incidents.json must not count incidents kept from the public."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta

from broadcaster.messages.model import AffectedComponent, ComponentStatus, Impact, Incident, Status, Update

from broadcaster.config_loader import load
from broadcaster.store import open_store
from tests.conftest import Project
from tests.fakes.slack import FakeSlack
from tests.test_audiences import (
    post,
    slack,  # noqa: F401  (fixture)
)


def _listed(project: Project) -> list[str]:
    return [i["name"] for i in json.loads((project.site / "api/v2/incidents.json").read_text())["incidents"]]


def test_a_staff_only_incident_does_not_push_a_public_one_out_of_incidents_json(
    project: Project, slack: FakeSlack  # noqa: F811
) -> None:
    config = load(str(project.config), environ=project.env)
    store = open_store(config.store_path)
    down = (AffectedComponent("api", ComponentStatus.PARTIAL_OUTAGE),)
    # 50 public incidents, all closed before the page's history (so only incidents.json lists them).
    for n in range(50):
        began = datetime.now(UTC) - timedelta(days=60, hours=n)
        iid = f"old-{n:02d}"
        store.record_update(
            Incident(iid, f"Old outage {n:02d}", Impact.MINOR, Status.RESOLVED, began, components=down,
                     resolved_at=began + timedelta(minutes=10)),
            Update(iid, 0, began, Status.RESOLVED, "It was slow, now fixed.", components=down), [], new=True)
    store.close()
    assert project.cli("site", "build").exit_code == 0
    before = _listed(project)
    assert len(before) == 50
    # Staff alone are told of one more incident, closed as long ago but more recent than all of them.
    code, out = post(project, "--only", "ops", "--title", "Secret breach", "-C", "db=major_outage", "Bad.")
    assert code == 0, out
    hidden = out["incident"]["id"] if "incident" in out else out["incident_id"]
    assert project.cli("resolve", "--yes", hidden, "Contained.").exit_code == 0
    when = (datetime.now(UTC) - timedelta(days=59)).isoformat()
    with sqlite3.connect(config.store_path) as db:
        db.execute("UPDATE incidents SET created_at = ?, updated_at = ?, resolved_at = ? WHERE id = ?",
                   (when, when, when, hidden))
        db.execute("UPDATE updates SET created_at = ? WHERE incident_id = ?", (when, hidden))
    built = project.cli("site", "build")
    assert built.exit_code == 0, built.output
    after = _listed(project)
    assert after == before, (
        f"incidents.json lists {len(after)} public incidents, not {len(before)}: the staff-only one took a place "
        f"(gone: {sorted(set(before) - set(after))})")
