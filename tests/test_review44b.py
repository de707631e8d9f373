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


def _next_repeated_hour(zone: str) -> datetime:
    """The first 02:30 from a month ahead on that ``zone``'s clocks pass twice (they go back), as a naive time."""
    tz = ZoneInfo(zone)
    day = datetime.now(UTC).date() + timedelta(days=30)
    for _ in range(400):
        wall = datetime(day.year, day.month, day.day, 2, 30)
        first, second = (wall.replace(tzinfo=tz, fold=fold).utcoffset() for fold in (0, 1))
        if first is not None and second is not None and first > second:  # skipped when first < second
            return wall
        day += timedelta(days=1)
    raise AssertionError(f"no repeated hour in {zone} within a year")


def test_a_start_the_clocks_pass_twice_is_refused_saying_how_to_give_either(project: Project, world: FakeWorld) -> None:
    """--start 02:30 (naive ISO) on the night the clocks go back in Berlin is two moments an hour apart. It was taken
    as the first, silently, with --yes: a window planned after the change was announced, started and completed an
    hour early. One the clocks skip is refused; one they pass twice is too, naming both with their offsets."""
    wall = _next_repeated_hour("Europe/Berlin")
    typed = wall.isoformat(timespec="minutes")
    result = project.cli("maintenance", "schedule", "--yes", "--title", "DB upgrade", "--start", typed,
                         "--end", "1h", "-C", "api")
    assert result.exit_code == 2, result.output
    assert f"{typed}+02:00" in result.output and f"{typed}+01:00" in result.output, result.output
    assert "Nothing was stored or sent" in result.output
    assert world.x.tweets == [] and json.loads(project.cli("list", "--json").stdout) == []
    later = project.cli("maintenance", "schedule", "--yes", "--title", "DB upgrade", "--start", f"{typed}+01:00",
                        "--end", "1h", "-C", "api", "--json")
    assert later.exit_code == 0, later.output
    shown = project.cli("show", json.loads(later.stdout)["incident_id"]).output
    assert f"{wall:%Y-%m-%d} 01:30 UTC (02:30 CET)" in shown, shown


def test_the_calendar_keeps_a_links_address_and_the_paragraphs(project: Project, world: FakeWorld) -> None:
    """The calendar's description was the page's one-line summary: "see the [migration guide](https://...)" read
    "see the migration guide" with no address, and every paragraph ran into one line. A subscriber reading the
    event in a calendar app lost what to do, the only place it was written."""
    import icalendar

    message = ("Rotate your API keys before the window: see the [migration guide](https://example.com/guide).\n\n"
               "Writes are refused while it runs.")
    code, scheduled = project.cli_json("maintenance", "schedule", "--yes", "--title", "DB upgrade", "--start", "3d",
                                       "--end", "2h", "-C", "api", message)
    assert code == 0, scheduled
    calendar = icalendar.Calendar.from_ical((project.site / "maintenance.ics").read_bytes())
    [event] = calendar.walk("VEVENT")
    described = str(event["DESCRIPTION"])
    assert "migration guide (https://example.com/guide)" in described, described
    assert described.endswith("\nWrites are refused while it runs."), described
