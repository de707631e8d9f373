"""A review (each test failed before its fix): where a component's public uptime history starts must not tell of an incident kept from the public."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta

from broadcaster.config_loader import load
from tests.conftest import Project
from tests.fakes.slack import FakeSlack
from tests.test_audiences import (
    post,
    slack,  # noqa: F401  (fixture)
)


def _age(project: Project, incident: str, days: int) -> None:
    config = load(str(project.config), environ=project.env)
    when = (datetime.now(UTC) - timedelta(days=days)).isoformat()
    with sqlite3.connect(config.store_path) as db:
        db.execute("UPDATE incidents SET created_at = ?, updated_at = ?, resolved_at = ? WHERE id = ?",
                   (when, when, when, incident))
        db.execute("UPDATE updates SET created_at = ? WHERE incident_id = ?", (when, incident))


def _summary_uptime(project: Project) -> dict[str, object]:
    summary = json.loads((project.site / "summary.json").read_text(encoding="utf-8"))
    return {c["id"]: c.get("uptime_90d") for c in summary["components"]}


def test_a_staff_only_incident_long_ago_does_not_start_the_public_uptime_history(
    project: Project, slack: FakeSlack  # noqa: F811
) -> None:
    # A public incident on the API only: the database was never named to the public.
    code, out = post(project, "--title", "API slow", "-C", "api=degraded_performance", "Slow.")
    assert code == 0, out
    assert project.cli("site", "build").exit_code == 0
    before = _summary_uptime(project)
    index_before = (project.site / "index.html").read_text(encoding="utf-8")
    assert before["db"] is None  # "No uptime data yet": nothing public ever named it
    # Staff (only) were told of a database incident, 120 days ago.
    code, out = post(project, "--only", "ops", "--title", "DB replica lost", "-C", "db=major_outage", "Lost a replica.")
    assert code == 0, out
    hidden = out["incident"]["id"] if "incident" in out else out["incident_id"]
    assert project.cli("resolve", "--yes", hidden, "Rebuilt.").exit_code == 0
    _age(project, hidden, 120)
    built = project.cli("site", "build")
    assert built.exit_code == 0, built.output
    # The public page and JSON must read as before: nothing public named the database.
    after = _summary_uptime(project)
    assert after["db"] is None, f"summary.json db uptime_90d went from null to {after['db']}: a staff-only incident shows"
    assert index_before.count("day--no-data") == (project.site / "index.html").read_text(encoding="utf-8").count("day--no-data")
