"""Review 45a: the times, calendar, customer-feed and site-build fixes through the real CLI."""

from __future__ import annotations

import json
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.conftest import Project
from tests.fakes.world import FakeWorld


def _tzif(rule: str) -> bytes:
    """A TZif file with no transitions, only a POSIX rule (RFC 8536): a zone whose clocks go back on a day of our
    choosing, since no real zone's do near every day the suite runs."""
    block = b"TZif2" + b"\0" * 15 + struct.pack(">6l", 0, 0, 0, 0, 1, 4) + struct.pack(">lbB", 3600, 0, 0) + b"XST\0"
    return block + block + b"\n" + rule.encode() + b"\n"


def _zone_going_back_tonight(folder: Path) -> datetime:
    """Test/Back under ``folder``: UTC+2 until the clocks go back an hour at 03:00 on the day of the next 02:30
    (UTC+2), so that 02:30 then happens twice. Returns that naive 02:30."""
    (folder / "Test").mkdir(parents=True)
    path = folder / "Test" / "Back"
    local = datetime.now(UTC) + timedelta(hours=2)
    day = local.date() if (local.hour, local.minute) < (2, 30) else local.date() + timedelta(days=1)
    wall = datetime(day.year, day.month, day.day, 2, 30)
    for n in range(max(1, day.timetuple().tm_yday - 3), day.timetuple().tm_yday + 3):  # the rule's day, as read
        path.write_bytes(_tzif(f"XST-1XDT,0/0,{n}/3"))
        with path.open("rb") as file:
            zone = ZoneInfo.from_file(file)
        if [wall.replace(tzinfo=zone, fold=f).utcoffset() for f in (0, 1)] == [timedelta(hours=2), timedelta(hours=1)]:
            return wall
    raise AssertionError("no rule makes 02:30 happen twice tonight")


def test_a_time_of_day_the_clocks_pass_twice_is_refused_as_a_date_and_time_is(project: Project, tmp_path: Path) -> None:
    """--start 2027-10-31T02:30 is refused on the night the clocks go back, but --start 02:30 typed that evening was
    silently its first occurrence (before the change): the window planned after it was announced, started and
    completed an hour early. A time of day whose next two occurrences are both to come is refused the same way."""
    wall = _zone_going_back_tonight(tmp_path / "zones")
    project.config.write_text(project.config.read_text().replace("Europe/Berlin", "Test/Back"))
    env = {"PYTHONTZPATH": str(tmp_path / "zones")}
    run = project.process("maintenance", "schedule", "--yes", "--title", "DB upgrade", "--start", "02:30",
                          "--end", "1h", "-C", "api", env=env)
    out, err = run.communicate(timeout=60)
    assert run.returncode == 2, out + err
    typed = wall.isoformat(timespec="minutes")
    assert f"{typed}+02:00" in err and f"{typed}+01:00" in err and "Nothing was stored or sent" in err, err
    listed = project.process("list", "--json", env=env)
    assert json.loads(listed.communicate(timeout=60)[0]) == []


def _next_lord_howe_repeat() -> datetime:
    zone = ZoneInfo("Australia/Lord_Howe")
    day = datetime.now(UTC).date() + timedelta(days=2)
    for _ in range(400):
        wall = datetime(day.year, day.month, day.day, 1, 45)
        first, second = (wall.replace(tzinfo=zone, fold=fold).utcoffset() for fold in (0, 1))
        if first is not None and second is not None and first > second:
            return wall
        day += timedelta(days=1)
    raise AssertionError("no repeated half hour on Lord Howe Island within a year")


def test_the_twice_refusal_says_how_far_apart_the_two_are(project: Project) -> None:
    """Lord Howe Island's clocks go back half an hour: the refusal said the second 01:45 was "an hour later"."""
    project.config.write_text(project.config.read_text().replace("Europe/Berlin", "Australia/Lord_Howe"))
    typed = _next_lord_howe_repeat().isoformat(timespec="minutes")
    result = project.cli("maintenance", "schedule", "--yes", "--title", "DB upgrade", "--start", typed,
                         "--end", "1h", "-C", "api")
    assert result.exit_code == 2, result.output
    assert "an hour later" not in result.output and "30 min later" in result.output, result.output
    assert f"{typed}+11:00" in result.output and f"{typed}+10:30" in result.output, result.output


def test_a_publish_target_whose_secret_is_unset_fails_alone(project: Project, tmp_path: Path) -> None:
    """`site publish` to a bucket whose ${NO_KEY} is unset, then a folder: the bucket's secret was read at its upload,
    and its ConfigError ended the command (exit 2) with the folder never published, while a target before it had the
    site and the command said nothing of it. The target fails alone, by its key, and the others get the site."""
    out = tmp_path / "out"
    project.write_config(f"""
[publish.bucket]
type = "s3"
bucket = "b"
access_key_id = "${{NO_KEY_45A}}"
secret_access_key = "${{NO_SECRET_45A}}"

[publish.dir]
type = "directory"
path = "{out}"
""")
    result = project.cli("site", "publish")
    assert result.exit_code == 3, result.output
    assert "bucket.access_key_id: ${NO_KEY_45A}" in result.output, result.output
    assert (out / "index.html").is_file(), result.output


def test_a_correction_of_a_customers_detail_alone_does_not_hold_back_the_next_update_on_x(
        project: Project, world: FakeWorld) -> None:
    """X refused update 1's words for good. A correction of acme's detail alone changes nothing X reads (it is not
    sent there): it is no rewording of what X refused. The next update still goes in update 1's place."""
    from tests.test_review42c import at, post, refuse_the_first_words, x_delivery

    project.config.write_text(project.config.read_text() + '\n[audiences.acme]\nname = "Acme Logistics"\n')
    refuse_the_first_words(world)
    code, first = post(project, "--title", "API errors", "-C", "api", "--customer", "acme", "--for", "acme",
                       "Your cluster c1 is affected.", "Elevated errors.")
    incident = first["incident_id"]
    amended = project.cli("amend", incident, "1", "--yes", "--json", "--for", "acme", "Your clusters c1 and c2.",
                          "Elevated errors.")
    assert amended.exit_code in (0, 3), amended.output
    code, second = post(project, "-i", incident, "We are still looking into the errors.")
    assert code == 0, second
    assert [d["state"] for d in at(second, "x")] == ["sent"], json.dumps(at(second, "x"))
    assert x_delivery(project, incident, 1)["state"] == "skipped", x_delivery(project, incident, 1)


def test_the_calendar_keeps_the_numbers_of_numbered_steps(project: Project) -> None:
    """The calendar's description marked every list item "- ": "2. Restart the workers" read "- Restart the
    workers", and a step the text names by its number ("after step 2") could not be found."""
    import icalendar

    message = "Before the window:\n\n1. Drain the queue.\n2. Restart the workers.\n\nWrites resume after step 2."
    code, scheduled = project.cli_json("maintenance", "schedule", "--yes", "--title", "DB upgrade", "--start", "3d",
                                       "--end", "2h", "-C", "api", message)
    assert code == 0, scheduled
    [event] = icalendar.Calendar.from_ical((project.site / "maintenance.ics").read_bytes()).walk("VEVENT")
    described = str(event["DESCRIPTION"])
    assert "\n1. Drain the queue.\n2. Restart the workers.\n" in described, described
