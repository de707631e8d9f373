"""The last maintenance.ics made is kept between commands and written again only when what it is made from changed.

A post that changes no window then never loads icalendar (about 30 ms of CPU before a post's first upload). What
is kept must never stand in for a calendar made from anything else: each test holds the calendar a build returns to
the one made afresh from the same windows, page and language, with the kept folder the test's own.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from broadcaster.messages import i18n
from broadcaster.messages.model import Status
from broadcaster.messages.visibility import PublicIncident

from broadcaster import kept
from broadcaster.config import PageConfig
from broadcaster.site import ical
from broadcaster.site import status as st
from tests.site_helpers import NOW, Step, page_config, sample_incidents
from tests.test_maintenance_calendar import window


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    where = tmp_path / "kept"
    where.mkdir()
    monkeypatch.setattr(kept, "folder", lambda: str(where))
    return where


def made_afresh(page: PageConfig, incidents: list[PublicIncident]) -> bytes:
    windows = sorted((i for i in incidents if st.is_maintenance(i.header)), key=st.start_order)
    return ical._calendar(page, windows)


def kept_file(folder: Path, page: PageConfig | None = None) -> Path:
    return folder / ical._kept_as(page or page_config())


def test_a_calendar_is_kept_and_the_next_build_of_the_same_reads_it(folder: Path) -> None:
    page, incidents = page_config(), [*sample_incidents(), window("w")]
    first = ical.build_calendar(page, incidents)
    assert first == made_afresh(page, incidents) and b"BEGIN:VEVENT" in first
    key, _, body = kept_file(folder).read_bytes().partition(b"\n")[2].partition(b"\n")
    assert body == first
    # Shown with a copy no code would write: the next build of the same windows returns it.
    marked = b"BEGIN:VCALENDAR\r\nX-MARK:kept\r\nEND:VCALENDAR\r\n"
    kept.write(ical._kept_as(page), key + b"\n" + marked)
    assert ical.build_calendar(page, list(incidents)) == marked


def _changed(incidents: list[PublicIncident], what: str) -> list[PublicIncident]:
    w = incidents[-1]
    header, update = w.header, w.updates[-1]
    changed = {
        "title": replace(w, header=replace(header, title="Database upgrade, part two")),
        "start": replace(w, header=replace(header, scheduled_start=(header.scheduled_start or NOW) + timedelta(hours=1))),
        "text": replace(w, updates=(*w.updates[:-1], replace(update, message="We will upgrade the database twice."))),
        "cancelled": replace(w, updates=(*w.updates, replace(update, status=Status.COMPLETED, sequence=2, cancelled=True,
                                                              created_at=update.created_at + timedelta(minutes=5)))),
    }
    if what in changed:
        return [*incidents[:-1], changed[what]]
    if what == "another":
        return [*incidents, window("w2", Step(Status.SCHEDULED, "A second window."))]
    if what == "gone":
        return incidents[:-1]
    raise AssertionError(what)


@pytest.mark.parametrize("what", ["title", "start", "text", "cancelled", "another", "gone"])
def test_a_window_changed_is_made_again(folder: Path, what: str) -> None:
    page, incidents = page_config(), [*sample_incidents(), window("w")]
    before = ical.build_calendar(page, incidents)
    after = _changed(incidents, what)
    built = ical.build_calendar(page, after)
    assert built == made_afresh(page, after) != before


@pytest.mark.parametrize("setting", [{"title": "Globex status"}, {"base_url": "https://status.globex.example/"},
                                     {"language": "sv"}])
def test_a_page_setting_changed_is_made_again(folder: Path, setting: dict[str, str]) -> None:
    incidents = [*sample_incidents(), window("w")]
    before = ical.build_calendar(page_config(), incidents)
    page = page_config(**setting)
    with i18n.speaking(page.language):
        built = ical.build_calendar(page, incidents)
        assert built == made_afresh(page, incidents) != before


def test_the_language_in_effect_is_part_of_what_it_is_made_from(folder: Path) -> None:
    """The calendar's own words come from the language in effect: the same page in another is another calendar."""
    page, incidents = page_config(), [window("w")]
    english = ical.build_calendar(page, incidents)
    with i18n.speaking("de"):
        german = ical.build_calendar(page, incidents)
        assert german == made_afresh(page, incidents) != english
    assert ical.build_calendar(page, incidents) == english


@pytest.mark.parametrize("damage", ["cut", "changed", "no-check", "another-key"])
def test_a_damaged_or_foreign_copy_is_never_used(folder: Path, damage: str) -> None:
    page, incidents = page_config(), [window("w")]
    made = ical.build_calendar(page, incidents)
    data = kept_file(folder).read_bytes()
    check, _, body = data.partition(b"\n")
    key, _, calendar = body.partition(b"\n")
    evil = calendar.replace(b"Database upgrade", b"Globex Corp outage")
    damaged = {
        "cut": data[: len(data) // 2],
        "changed": check + b"\n" + key + b"\n" + evil,
        "no-check": body,
        "another-key": hashlib.sha256(b"x\n" + evil).hexdigest().encode() + b"\nx\n" + evil,
    }[damage]
    kept_file(folder).write_bytes(damaged)
    assert ical.build_calendar(page, incidents) == made
    assert kept_file(folder).read_bytes() == data  # and written again


def test_other_code_makes_it_again(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A source of the site or the messages changed (or icalendar upgraded): the kept copy is not this code's."""
    page, incidents = page_config(), [window("w")]
    made = ical.build_calendar(page, incidents)
    key = kept_file(folder).read_bytes().partition(b"\n")[2].partition(b"\n")[0]
    monkeypatch.setattr(ical, "_code_stamp", lambda: b"another version")
    assert ical._key(page, sorted(incidents, key=st.start_order)) != key
    kept.write(ical._kept_as(page), key + b"\n" + b"BEGIN:VCALENDAR\r\nX-MARK:old code\r\nEND:VCALENDAR\r\n")
    assert ical.build_calendar(page, incidents) == made


def test_the_code_stamp_names_every_source_of_the_site_and_the_messages() -> None:
    """And the versions of the libraries that write it: icalendar, and markdown-it and nh3, which write each
    window's description (review 29c: an upgrade of nh3 served the description as the older nh3 wrote it)."""
    stamp = ical._code_stamp().decode()
    for source in ("ical.py", "status.py", "pages.py", "markdown.py", "i18n.py", "broadcaster.po", "icalendar-",
                   "markdown_it_py-", "nh3-"):
        assert source in stamp, source


def test_a_source_that_cannot_be_read_is_stamped_as_such(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An editor's lock link (``.#pages.py``, dangling) among the sources failed every site build (review 29c)."""
    package = tmp_path / "zz_stamped"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / ".#pages.py").symlink_to(tmp_path / "gone")
    monkeypatch.syspath_prepend(str(tmp_path))
    found = {Path(path).name: (size, mtime) for path, size, mtime in ical._sources("zz_stamped")}
    assert found[".#pages.py"] == ("-", "-") and found["__init__.py"][0] == 0


def test_a_stamp_that_cannot_be_made_makes_the_calendar_every_time(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreadable() -> bytes:
        raise PermissionError("site-packages is not readable")

    monkeypatch.setattr(ical, "_code_stamp", unreadable)
    page, incidents = page_config(), [window("w")]
    assert ical.build_calendar(page, incidents) == made_afresh(page, incidents)
    assert not kept_file(folder).exists()


def test_without_a_folder_to_keep_it_in_it_is_made_every_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kept, "folder", lambda: None)
    page, incidents = page_config(), [window("w")]
    assert ical.build_calendar(page, incidents) == made_afresh(page, incidents)


def test_two_pages_keep_their_calendars_apart(folder: Path) -> None:
    """Two projects on one machine posting in turn: each finds its own calendar kept, not the other's made over it."""
    ours, theirs = page_config(), page_config(title="Globex status", base_url="https://status.globex.example/")
    incidents = [window("w")]
    made = ical.build_calendar(ours, incidents)
    ical.build_calendar(theirs, incidents)
    assert kept_file(folder, ours) != kept_file(folder, theirs)
    assert kept_file(folder, ours).read_bytes().partition(b"\n")[2].partition(b"\n")[2] == made
