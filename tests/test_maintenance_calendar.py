"""maintenance.ics: parsed back with icalendar; stable UIDs, SEQUENCE from history, cancelled windows."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from broadcaster.messages.egress import PrivateValues
from broadcaster.messages.model import Impact, Status
from broadcaster.messages.visibility import PublicIncident
from icalendar import STATUS, Calendar, Event

from broadcaster.site.build import Page, build_site
from broadcaster.site.ical import CALENDAR, FRAME
from tests.conftest import Project
from tests.fakes.world import FakeWorld
from tests.site_helpers import NOW, STEP, Step, affected, make_incident, sample_incidents, site_data

BASE = "https://status.example.com/"
WINDOW = (NOW + timedelta(days=8), NOW + timedelta(days=8, hours=2))


def window(incident_id: str, *steps: Step, scheduled: tuple[datetime, datetime] = WINDOW) -> PublicIncident:
    return make_incident(
        incident_id, "Database upgrade", kind="maintenance", impact=Impact.NONE, start=NOW - timedelta(hours=3),
        components=affected(db="under_maintenance"), scheduled=scheduled,
        steps=steps or (Step(Status.SCHEDULED, "We will upgrade the database."),),
    )


def calendar(root: Path, incidents: list[PublicIncident], **page: Any) -> Calendar:
    build_site(site_data(incidents, **page), root, pages=incidents)
    return Calendar.from_ical((root / CALENDAR).read_bytes())


def events(root: Path, incidents: list[PublicIncident], **page: Any) -> dict[str, Event]:
    return {str(e.uid): e for e in calendar(root, incidents, **page).events}


def test_a_scheduled_window_reads_back_with_its_window_link_and_stable_uid(tmp_path: Path) -> None:
    found = events(tmp_path, sample_incidents(), base_url=BASE)
    assert list(found) == ["maintenance-2024-05-10-maint@status.example.com"]  # incidents are not in it
    event = next(iter(found.values()))
    assert (event.start, event.end) == WINDOW
    assert str(event["SUMMARY"]) == "Database upgrade"
    assert str(event["DESCRIPTION"]) == "We will upgrade the database."
    assert str(event["URL"]) == f"{BASE}incidents/2024-05-10-maint.html"
    assert event.sequence == 0 and event["STATUS"] == STATUS.CONFIRMED
    # DTSTAMP is the window's last change, never the build time.
    assert event.decoded("DTSTAMP") == NOW - timedelta(hours=1)  # its one update


def test_two_builds_and_a_later_clock_give_the_same_bytes(tmp_path: Path) -> None:
    incidents = [*sample_incidents(), window("w")]
    build_site(site_data(incidents), tmp_path / "one", pages=incidents)
    build_site(site_data(incidents, now=NOW + timedelta(hours=5)), tmp_path / "two", pages=incidents)
    first = (tmp_path / "one" / CALENDAR).read_bytes()
    assert first == (tmp_path / "two" / CALENDAR).read_bytes()
    assert b"urn:broadcaster:maintenance-w" in first  # no base_url: a URN, still stable


def test_sequence_rises_with_every_change_and_only_then(tmp_path: Path) -> None:
    scheduled = Step(Status.SCHEDULED, "Planned.")
    runs = (NOW - timedelta(hours=1), NOW + timedelta(hours=1))
    steps = [scheduled, Step(Status.IN_PROGRESS, "Started."), Step(Status.IN_PROGRESS, "Half way.")]
    reminder = Step(Status.SCHEDULED, "Starts soon.", {"kind": "reminder"})
    found = events(tmp_path, [
        window("one", scheduled, scheduled=runs),
        window("three", *steps, scheduled=runs),
        window("reminded", scheduled, reminder, scheduled=runs),  # a reminder changes nothing of the event
    ])
    sequences = {uid.removeprefix("urn:broadcaster:maintenance-"): e.sequence for uid, e in found.items()}
    assert sequences == {"one": 0, "three": 2, "reminded": 0}


def test_a_correction_is_a_change(tmp_path: Path) -> None:
    plain = window("w")
    update = plain.updates[0]
    corrected = PublicIncident(plain.header, (type(update)(**{**update.__dict__, "corrected_at": NOW}),))
    assert [e.sequence for e in events(tmp_path / "a", [plain]).values()] == [0]
    assert [e.sequence for e in events(tmp_path / "b", [corrected]).values()] == [1]


def test_a_window_completed_before_it_started_is_cancelled(tmp_path: Path) -> None:
    cancelled = window("off", Step(Status.SCHEDULED, "Planned."), Step(Status.COMPLETED, "Called off."))
    runs = (NOW - timedelta(hours=3), NOW - timedelta(hours=3) + STEP)  # started, then completed on time
    done = window("done", Step(Status.SCHEDULED, "Planned."), Step(Status.IN_PROGRESS, "Started."),
                  Step(Status.COMPLETED, "Done."), scheduled=runs)
    found = {str(e.uid).rsplit("-", 1)[-1]: e for e in calendar(tmp_path, [cancelled, done]).events}
    assert found["off"]["STATUS"] == STATUS.CANCELLED and found["off"].sequence == 1
    assert str(found["off"]["DESCRIPTION"]).startswith("Cancelled.")
    assert found["done"]["STATUS"] == STATUS.CONFIRMED


def test_with_no_window_the_file_is_a_calendar_without_events(tmp_path: Path) -> None:
    parsed = calendar(tmp_path, [])
    assert parsed.events == [] and str(parsed["VERSION"]) == "2.0" and str(parsed["PRODID"])
    assert str(parsed["X-WR-CALNAME"]) == "Acme status: maintenance"


def test_a_private_value_cut_by_the_calendars_line_folding_is_still_refused(tmp_path: Path) -> None:
    # A 75-octet fold can split a value in two: the guard reads the calendar unfolded.
    from broadcaster.messages.egress import LeakRefused, PrivateValues, guard

    prefix = "x" * 60
    secret = "Northwind Traders Incorporated"
    event = Event.new(uid="u", stamp=NOW, start=NOW, summary="s", description=f"{prefix} {secret}")
    body = event.to_ical()
    assert secret.encode() not in body  # folded across lines
    try:
        guard(body, PrivateValues.of([secret]), "maintenance.ics", "text/calendar")
    except LeakRefused:
        return
    raise AssertionError("the folded value was not found")


# -- through the CLI -------------------------------------------------------------------------------


def _schedule(project: Project, start: str = "2h") -> str:
    result = project.cli("maintenance", "schedule", "--yes", "--json", "--title", "DB upgrade", "--start", start,
                         "--end", "3h", "-C", "db", "Upgrading the database.")
    assert result.exit_code == 0, result.output
    return str(json.loads(result.stdout)["incident_id"])


def _site_calendar(project: Project) -> list[Event]:
    return list(Calendar.from_ical((project.site / CALENDAR).read_bytes()).events)


def test_cancel_marks_the_window_cancelled_everywhere(project: Project, world: FakeWorld) -> None:
    incident = _schedule(project)
    assert [(e.sequence, str(e["STATUS"])) for e in _site_calendar(project)] == [(0, STATUS.CONFIRMED)]
    result = project.cli("maintenance", "cancel", incident, "--yes", "--json")
    assert result.exit_code == 0, result.output
    assert [(e.sequence, str(e["STATUS"])) for e in _site_calendar(project)] == [(1, STATUS.CANCELLED)]
    shown = json.loads(project.cli("show", incident, "--json").stdout)
    assert [u["status"] for u in shown["updates"]] == ["scheduled", "completed"]
    assert "The scheduled maintenance has been cancelled." in world.x.tweets[-1].text
    # Left alone last session: show and list said "completed", and --json could not tell the two apart.
    listed = {i["id"]: i for i in json.loads(project.cli("list", "--json").stdout)}
    assert shown["cancelled"] is True and listed[incident]["cancelled"] is True
    assert "Cancelled · impact" in project.cli("show", incident).stdout
    assert "cancelled" in project.cli("list").stdout and "completed" not in project.cli("list").stdout
    assert project.cli("site", "build").exit_code == 0  # a rebuild does not raise SEQUENCE
    assert [e.sequence for e in _site_calendar(project)] == [1]


def test_a_window_that_started_cannot_be_cancelled(project: Project, world: FakeWorld) -> None:
    # Started is its status, not the clock: one still scheduled after its start time is cancelled (test_lifecycle).
    started = datetime.now(UTC) - timedelta(minutes=1)
    incident = _schedule(project, start=started.isoformat(timespec="seconds"))
    assert project.cli("maintenance", "start", incident, "--yes").exit_code == 0
    result = project.cli("maintenance", "cancel", incident, "--yes")
    assert result.exit_code == 2
    assert "cannot be cancelled" in result.output and f"broadcaster maintenance complete {incident}" in result.output
    shown = json.loads(project.cli("show", incident, "--json").stdout)
    assert [u["status"] for u in shown["updates"]] == ["scheduled", "in_progress"]  # nothing stored
    assert len(world.x.tweets) == 2  # nothing sent


def test_cancelling_an_incident_is_refused(project: Project, world: FakeWorld) -> None:
    posted = project.cli("post", "--yes", "--json", "--title", "API errors", "-C", "api", "Investigating.")
    incident = json.loads(posted.stdout)["incident_id"]
    result = project.cli("maintenance", "cancel", incident, "--yes")
    assert result.exit_code == 2 and "not a maintenance window" in result.output


# -- the calendar's own words and the egress guard ---------------------------------------------------


def _names(calendar_bytes: bytes) -> set[str]:
    """Every property, parameter and parameter value name of an iCalendar file (not the values)."""
    names: set[str] = set()
    for line in re.sub(r"\r\n[ \t]", "", calendar_bytes.decode()).split("\r\n"):
        head = line.partition(":")[0]
        name, *parameters = head.split(";")
        names.add(name)
        for parameter in parameters:
            names.update(parameter.split("="))
    return names - {""}


def test_every_name_the_calendar_prints_is_among_its_own_words(tmp_path: Path) -> None:
    cancelled = window("off", Step(Status.SCHEDULED, "Planned."), Step(Status.COMPLETED, "Called off."))
    build_site(site_data([window("w"), cancelled], base_url=BASE), tmp_path, pages=[])
    # LANGUAGE's value is the page's language, among the own words too (own_words._language_words).
    assert _names((tmp_path / CALENDAR).read_bytes()) <= {*FRAME, "en"}


def test_a_customer_named_like_a_calendar_word_keeps_the_window_on_the_site(tmp_path: Path) -> None:
    # Found by attack: "Interval" (REFRESH-INTERVAL) kept every maintenance window off the site.
    shown = window("w")
    for name in ("Interval", "Refresh", "Sequence", "Confirmed"):
        values = PrivateValues.of([name])
        data = replace(site_data([shown], base_url=BASE), private={"w": values})
        built = build_site(data, tmp_path / name, pages=[Page(shown, values)])
        assert built.problems == (), name
        assert [str(e.uid) for e in Calendar.from_ical((tmp_path / name / CALENDAR).read_bytes()).events] == [
            "maintenance-w@status.example.com"
        ]


def test_each_correction_raises_sequence_a_second_one_of_the_same_update_too(
    project: Project, world: FakeWorld
) -> None:
    # Found reviewing issue 17: a second `amend` of the same update changed DTSTAMP and the description
    # but left SEQUENCE where the first had put it.
    incident = _schedule(project)
    for n, text in enumerate(["Upgrading the database to 16.", "Upgrading the database to 16.4."], start=1):
        assert project.cli("amend", incident, "1", text, "--yes").exit_code == 0
        [event] = _site_calendar(project)
        assert (event.sequence, str(event["DESCRIPTION"])) == (n, text)


def test_a_withdrawn_window_leaves_every_file_of_the_site(project: Project, world: FakeWorld) -> None:
    # Issue 17's new files (api/v2, maintenance.ics, components/<id>/, badges) were not in any withdraw test.
    incident = _schedule(project)
    assert project.cli("maintenance", "start", incident, "--yes").exit_code == 0  # running: it colours the db badge
    before = {p.relative_to(project.site).as_posix(): p.read_bytes() for p in project.site.rglob("*") if p.is_file()}
    assert incident.encode() in before["api/v2/scheduled-maintenances/active.json"]
    assert incident.encode() in before["components/db/feed.xml"] and b"maintenance-" in before["maintenance.ics"]
    assert project.cli("withdraw", incident, "--yes", "--reason", "posted in error").exit_code == 0
    after = {p.relative_to(project.site).as_posix(): p.read_bytes() for p in project.site.rglob("*") if p.is_file()}
    assert not [path for path, body in after.items()
                if (b"DB upgrade" in body or incident.encode() in body) and not path.startswith(".broadcaster")]
    assert after["badges/db.svg"] != before["badges/db.svg"] and _site_calendar(project) == []
