"""Fix 21f: the calendar carries backslashes as typed (icalendar 7 read the two characters "\\N" as a line break)."""

from __future__ import annotations

from icalendar import Calendar

from tests.conftest import BASE_CONFIG, Project


def unfolded(ics: bytes) -> list[str]:
    """The content lines as a plain RFC 5545 reader sees them: CRLF lines, a leading space continues one."""
    return ics.decode("utf-8").replace("\r\n ", "").split("\r\n")


def test_backslashes_reach_calendars_as_typed(project: Project) -> None:
    project.write_config(base=BASE_CONFIG.replace('title = "Acme status"', r'title = "Acme \\Nightly status"'))
    title = r"Maintenance of \\NAS01\backups; DB, web"
    message = r"Backups to D:\Nightly pause meanwhile; ask in #ops, please."
    result = project.cli("maintenance", "schedule", "--yes", "-t", title, "--start", "2h", "--end", "1h",
                         "-C", "db", message)
    assert result.exit_code == 0, result.output
    ics = (project.site / "maintenance.ics").read_bytes()

    calendar = Calendar.from_ical(ics)
    (event,) = calendar.walk("VEVENT")
    assert str(event["SUMMARY"]) == title
    assert str(event["DESCRIPTION"]) == message

    lines = unfolded(ics)  # also the calendar's name, which icalendar's parser leaves escaped
    assert "SUMMARY;LANGUAGE=en:Maintenance of \\\\\\\\NAS01\\\\backups\\; DB\\, web" in lines, lines
    assert "DESCRIPTION;LANGUAGE=en:Backups to D:\\\\Nightly pause meanwhile\\; ask in #ops\\, please." in lines, lines
    assert "X-WR-CALNAME;LANGUAGE=en:Acme \\\\Nightly status: maintenance" in lines, lines
