"""Postmortems, maintenance reminders and notices as the site shows them (or does not).

A postmortem is an update of kind "postmortem": the incident page gives it a
section of its own instead of a timeline entry, the index points to it, the
feeds give it an entry, summary.json puts it on the incident. A reminder is an
ordinary timeline entry. A notice never reaches the site.
"""

from __future__ import annotations

import itertools
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from broadcaster.messages.model import Impact, Incident, Status, Update
from broadcaster.messages.visibility import PublicIncident, public_incident

from broadcaster.site.build import build_site
from broadcaster.site.longform import render_document
from tests.site_helpers import NOW, Document, document, site_data, site_files

START = NOW - timedelta(days=2)
POSTMORTEM = (
    "## What happened\n\nA *router* in one region failed.\n\n"
    "## What we are changing\n\n- a spare router\n- an alert on [BGP](https://example.com/bgp)"
)


def history(*extra: Update, incident_id: str = "api", open_: bool = False) -> PublicIncident:
    """An API incident resolved after an hour (unless ``open_``), plus ``extra`` updates."""
    updates = [
        Update(incident_id, 1, START, Status.INVESTIGATING, "Errors on the API."),
        Update(incident_id, 2, START + timedelta(hours=1), Status.RESOLVED, "Error rates are back to normal."),
        *extra,
    ]
    if open_:
        updates.append(Update(incident_id, 9, START + timedelta(days=1), Status.INVESTIGATING, "Errors again."))
    last = updates[-1]
    incident = Incident(
        incident_id, "API errors", Impact.MAJOR, Status.INVESTIGATING if open_ else Status.RESOLVED, START,
        resolved_at=None if open_ else START + timedelta(hours=1),
    )
    assert last.created_at >= START
    return public_incident(incident, updates)


def postmortem(sequence: int = 3, text: str = POSTMORTEM, hours: int = 30) -> Update:
    return Update("api", sequence, START + timedelta(hours=hours), Status.RESOLVED, text, kind="postmortem")


def build(tmp_path: Path, incident: PublicIncident, **page: Any) -> Path:
    build_site(site_data([incident], **page), tmp_path, pages=[incident])
    return tmp_path


def timeline_ids(page: Document) -> list[str]:
    timeline = next(e for e in page.all("ol") if "timeline" in e.classes)
    return [a.attrs["id"] for a in page.within(timeline, "article")]


# -- The incident page ---------------------------------------------------------------------------


def test_a_postmortem_has_its_own_section_and_is_not_a_timeline_entry(tmp_path: Path) -> None:
    page = document(build(tmp_path, history(postmortem())), "incidents/api.html")
    section = page.one("section", id="postmortem")
    assert section.attrs["aria-labelledby"] == "postmortem-heading"
    assert page.one("h2", id="postmortem-heading").words() == "Postmortem"
    words = section.words()
    assert "Published 1 May 2024, 15:00 UTC" in words
    assert "A router in one region failed." in words
    assert [e.words() for e in page.within(section, "em")] == ["router"]
    assert [e.words() for e in page.within(section, "li")] == ["a spare router", "an alert on BGP"]
    link = next(e for e in page.within(section, "a") if e.words() == "BGP")
    assert set(link.attrs["rel"].split()) == {"nofollow", "noopener"}
    assert timeline_ids(page) == ["update-2", "update-1"]
    assert "What happened" not in page.section("updates-heading").words()


def test_the_postmortem_comes_before_the_updates_and_keeps_an_anchor_for_its_feed_id(tmp_path: Path) -> None:
    page = document(build(tmp_path, history(postmortem())), "incidents/api.html")
    order = [e.attrs.get("id") for e in page.all("section")]
    assert order == ["postmortem", None]  # the updates section is labelled, not identified
    assert page.one("article", id="postmortem-1").inside("postmortem")  # counted apart, never the store's key


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("## What happened\n\ntext\n\n## Impact", [("h3", "What happened"), ("h3", "Impact")]),
        ("# Summary\n\n## Timeline\n\n### 14:02", [("h3", "Summary"), ("h4", "Timeline"), ("h5", "14:02")]),
        ("## A\n\n#### B", [("h3", "A"), ("h4", "B")]),
        ("# A\n## B\n### C\n#### D\n##### E", [("h3", "A"), ("h4", "B"), ("h5", "C"), ("h6", "D"), ("h6", "E")]),
        ("Plain words.", []),
    ],
    ids=["all-h2-become-h3", "levels-keep-their-order", "gaps-close", "deep-levels-stop-at-h6", "no-headings"],
)
def test_postmortem_headings_are_renumbered_under_the_section(text: str, expected: list[tuple[str, str]]) -> None:
    html = Document(render_document(text))
    assert [(e.tag, e.words()) for e in html.elements if e.tag.startswith("h")] == expected


def test_the_incident_page_outline_has_no_gaps_with_a_postmortem(tmp_path: Path) -> None:
    text = "# Summary\n\nOne.\n\n## Timeline\n\nTwo.\n\n#### Detail\n\nThree."
    page = document(build(tmp_path, history(postmortem(text=text))), "incidents/api.html")
    levels = [int(e.tag[1]) for e in page.elements if e.tag in {"h1", "h2", "h3", "h4", "h5", "h6"}]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels)), levels


HOSTILE = (
    "## <script>alert(1)</script>\n\n<img src=x onerror=alert(2)> <b>bold</b>\n\n"
    "[x](javascript:alert(3)) ![pic](https://example.com/p.png) <a href=\"javascript:alert(4)\">z</a>"
)


def test_a_hostile_postmortem_is_inert(tmp_path: Path) -> None:
    site = build(tmp_path, history(postmortem(text=HOSTILE)))
    page = document(site, "incidents/api.html")
    assert not page.all("script") and not page.all("img") and not page.all("b")
    for element in page.elements:
        assert not [a for a in element.attrs if a.startswith("on")], element
        assert not element.attrs.get("href", "").lower().startswith("javascript"), element
    words = page.section("postmortem-heading").words()
    assert "<script>alert(1)</script>" in words and "<b>bold</b>" in words
    assert b"<script>" not in (site / "atom.xml").read_bytes() + (site / "feed.xml").read_bytes()


def test_a_corrected_postmortem_shows_the_new_text_and_when_it_was_corrected(tmp_path: Path) -> None:
    correction = Update(
        "api", 4, START + timedelta(hours=40), Status.RESOLVED, "## What happened\n\nA *switch* failed.",
        kind="correction", extra={"corrects": "3"},
    )
    page = document(build(tmp_path, history(postmortem(), correction)), "incidents/api.html")
    words = page.section("postmortem-heading").words()
    assert "A switch failed." in words and "router" not in words
    assert "Published 1 May 2024, 15:00 UTC · Corrected 2 May 2024, 01:00 UTC" in words


def test_a_second_postmortem_replaces_the_first_on_the_page(tmp_path: Path) -> None:
    revised = postmortem(sequence=4, text="## Revised\n\nWith the vendor's findings.", hours=50)
    page = document(build(tmp_path, history(postmortem(), revised)), "incidents/api.html")
    words = page.section("postmortem-heading").words()
    assert "With the vendor's findings." in words and "router" not in words
    assert len(page.all("section", id="postmortem")) == 1
    assert timeline_ids(page) == ["update-2", "update-1"]


def test_an_incident_without_a_postmortem_has_no_such_section(tmp_path: Path) -> None:
    page = document(build(tmp_path, history()), "incidents/api.html")
    assert not page.all("section", id="postmortem")
    assert "Postmortem" not in page.text()


def test_the_meta_description_sums_up_the_incident_not_the_postmortem(tmp_path: Path) -> None:
    page = document(build(tmp_path, history(postmortem())), "incidents/api.html")
    assert page.one("meta", name="description").attrs["content"] == "Error rates are back to normal."


# -- The index -----------------------------------------------------------------------------------


def test_the_index_says_a_postmortem_is_available_and_links_to_it(tmp_path: Path) -> None:
    site = build(tmp_path, history(postmortem()))
    page = document(site, "index.html")
    past = page.section("past-heading")
    [link] = [a for a in page.within(past, "a") if "postmortem-link" in a.classes]
    assert link.attrs["href"] == "incidents/api.html#postmortem"
    assert link.words() == "Postmortem available for API errors"  # the incident's name for screen readers
    summary = next(p for p in page.within(past, "p") if "past-summary" in p.classes)
    assert summary.words() == "Error rates are back to normal."


def test_no_postmortem_no_mark_on_the_index(tmp_path: Path) -> None:
    page = document(build(tmp_path, history()), "index.html")
    assert "Postmortem" not in page.text()


# -- Feeds and summary.json ------------------------------------------------------------------------


@pytest.mark.parametrize("base_url", ["", "https://status.example.com/"], ids=["no-base-url", "base-url"])
def test_a_postmortem_keeps_its_own_feed_entry_that_links_to_the_section(tmp_path: Path, base_url: str) -> None:
    import feedparser

    site = build(tmp_path, history(postmortem()), base_url=base_url)
    for name in ("feed.xml", "atom.xml"):
        feed = feedparser.parse((site / name).read_bytes())
        assert feed.bozo == 0
        entry = feed.entries[0]
        assert entry.title == "[Postmortem] API errors"
        assert entry.link == f"{base_url}incidents/api.html#postmortem"
        assert entry.id.endswith("incidents/api.html#postmortem-1" if base_url else "incidents/api#postmortem-1")
        assert "<h3>What happened</h3>" in entry.summary and "<em>router</em>" in entry.summary
        assert [e.title for e in feed.entries[1:]] == ["[Resolved] API errors", "[Investigating] API errors"]


def test_summary_json_puts_the_postmortem_on_the_incident_like_statuspage(tmp_path: Path) -> None:
    correction = Update(
        "api", 4, START + timedelta(hours=40), Status.RESOLVED, "## What happened\n\nA switch failed.",
        kind="correction", extra={"corrects": "3"},
    )
    reopened = history(postmortem(), correction, open_=True)  # summary.json lists open incidents only
    build(tmp_path, reopened)
    [incident] = json.loads((tmp_path / "summary.json").read_bytes())["incidents"]
    assert incident["postmortem_body"] == "## What happened\n\nA switch failed."
    assert incident["postmortem_published_at"] == "2024-05-01T15:00:00Z"
    assert incident["postmortem_body_last_updated_at"] == "2024-05-02T01:00:00Z"
    assert [u["id"] for u in incident["incident_updates"]] == ["api-3", "api-2", "api-1"]  # numbered as read


def test_summary_json_postmortem_fields_are_null_without_one(tmp_path: Path) -> None:
    build(tmp_path, history(open_=True))
    [incident] = json.loads((tmp_path / "summary.json").read_bytes())["incidents"]
    assert incident["postmortem_body"] is None
    assert incident["postmortem_published_at"] is None
    assert incident["postmortem_body_last_updated_at"] is None


# -- Reminders and notices -------------------------------------------------------------------------


def maintenance_with_reminder() -> PublicIncident:
    begins = NOW + timedelta(minutes=50)
    incident = Incident(
        "upgrade", "Database upgrade", Impact.NONE, Status.SCHEDULED, NOW - timedelta(days=1),
        kind="maintenance", scheduled_start=begins, scheduled_end=begins + timedelta(hours=2),
    )
    updates = [
        Update("upgrade", 1, NOW - timedelta(days=1), Status.SCHEDULED, "We will upgrade the database."),
        Update("upgrade", 2, NOW - timedelta(minutes=10), Status.SCHEDULED,
               "Reminder: this maintenance starts at 09:50 UTC (in 60 min).", kind="reminder"),
    ]
    return public_incident(incident, updates)


def test_a_reminder_is_a_timeline_entry_marked_as_such(tmp_path: Path) -> None:
    page = document(build(tmp_path, maintenance_with_reminder()), "incidents/upgrade.html")
    assert timeline_ids(page) == ["update-2", "update-1"]
    reminder = page.one("article", id="update-2")
    assert page.within(reminder, "h3")[0].words() == "Scheduled (Reminder)"
    assert "Reminder: this maintenance starts at 09:50 UTC" in reminder.words()


def test_the_index_shows_the_announcement_of_upcoming_maintenance_not_its_reminder(tmp_path: Path) -> None:
    page = document(build(tmp_path, maintenance_with_reminder()), "index.html")
    upcoming = page.section("upcoming-heading").words()
    assert "We will upgrade the database." in upcoming
    assert "in 60 min" not in upcoming  # stale the moment it is published on a static page
    assert "Full history (2 updates)" in upcoming


def test_a_reminder_feed_entry_is_titled_as_a_reminder(tmp_path: Path) -> None:
    import feedparser

    site = build(tmp_path, maintenance_with_reminder())
    titles = [e.title for e in feedparser.parse((site / "atom.xml").read_bytes()).entries]
    assert titles == ["[Reminder] Database upgrade", "[Scheduled] Database upgrade"]


def test_notices_never_reach_any_file_of_the_site(tmp_path: Path) -> None:
    notice = Update(
        "api", 3, START + timedelta(hours=2), Status.RESOLVED,
        "NOTICE-SLA breach: API availability this month is 99.1%.", kind="notice",
    )
    overdue = Update(
        "api", 4, START + timedelta(hours=3), Status.RESOLVED, "NOTICE-OVERDUE: the promised update is late.",
        kind="notice",
    )
    site = build(tmp_path, history(notice, postmortem(sequence=5), overdue))
    files = site_files(site)
    assert len(files) >= 7
    assert not [p.name for p in files if b"NOTICE-" in p.read_bytes()]
    page = document(site, "incidents/api.html")
    assert timeline_ids(page) == ["update-2", "update-1"]
    assert page.one("article", id="postmortem-1").inside("postmortem")
