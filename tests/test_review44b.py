"""Review 44b: maintenance windows and `tick` through the real CLI, against the fakes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.conftest import Project
from tests.fakes.world import FakeWorld


def _local_evening_next_week(zone: str) -> datetime:
    """20:00 in ``zone`` a week from now: in Los Angeles, the next day in UTC."""
    day = datetime.now(ZoneInfo(zone)).date() + timedelta(days=7)
    return datetime(day.year, day.month, day.day, 20, 0, tzinfo=ZoneInfo(zone))


def test_a_window_whose_local_day_is_not_the_utc_day_names_the_local_day(project: Project, world: FakeWorld) -> None:
    """A window at 20:00 in Los Angeles starts on the next day in UTC. The announcement said "from <UTC's day> 04:00
    UTC (20:00 PST)", and the reminder "starts at <UTC's day> 04:00 UTC (20:00 PST)": a reader of the page's own zone
    read its day with its hour and came a day late. The local time carries its own date when that date is another."""
    project.config.write_text(project.config.read_text().replace("Europe/Berlin", "America/Los_Angeles"))
    start = _local_evening_next_week("America/Los_Angeles")
    code, scheduled = project.cli_json("maintenance", "schedule", "--yes", "--title", "DB upgrade",
                                       "--start", start.replace(tzinfo=None).isoformat(timespec="minutes"),
                                       "--end", "2h", "-C", "api")
    assert code == 0, scheduled
    local_day = f"{start:%Y-%m-%d}"
    announced = world.x.tweets[0].text
    assert f"({local_day} 20:00 P" in announced, announced
    shown = project.cli("show", scheduled["incident_id"]).output
    assert f"({local_day} 20:00 P" in shown, shown
    assert json.loads(project.cli("list", "--json").stdout)[0]["id"] == scheduled["incident_id"]
    assert start.astimezone(UTC).date() != start.date()  # what makes the two days differ
