"""Issue 17's new site files in the page's language: the api/v2 JSON's description, the badges, the
per-component feeds, the maintenance calendar and its links, and the maintenance commands' standard
messages. Machine values (``indicator``, statuses, impacts, calendar names) stay as they are."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import feedparser
import pytest
from icalendar import STATUS, Calendar

from broadcaster.site.ical import CALENDAR
from tests.conftest import Project
from tests.fakes.world import FakeWorld
from tests.site_helpers import document
from tests.test_language import in_language, post
from tests.test_language import swedish_world as swedish_world  # noqa: F401  (the fixture)

WORDS = {
    "sv": {
        "banner": "Större störning i tjänsten", "partial": "Delvis avbrott", "operational": "Fungerar",
        "calendar_link": "Underhållskalender", "calendar_title": "Acme status (underhållskalender)", "feed_of": "flöde för API",
        "feed_description": "Uppdateringar om incidenter och underhåll för API från Acme status.",
        "calendar_name": "Acme status: underhåll", "cancelled": "Inställt.",
        "cancel_message": "Det planerade underhållet har ställts in.",
        "start_message": "Det planerade underhållet har börjat.",
    },
    "de": {
        "banner": "Größere Dienststörung", "partial": "Teilausfall", "operational": "Betriebsbereit",
        "calendar_link": "Wartungskalender", "calendar_title": "Acme status (Wartungskalender)", "feed_of": "Feed von API",
        "feed_description": "Meldungen zu Störungen und Wartungen von API bei Acme status.",
        "calendar_name": "Acme status: Wartung", "cancelled": "Abgesagt.",
        "cancel_message": "Die geplante Wartung wurde abgesagt.",
        "start_message": "Die geplante Wartung hat begonnen.",
    },
}


def _json(project: Project, path: str) -> Any:
    return json.loads((project.site / path).read_text())


def _badge_title(project: Project, path: str) -> str | None:
    return ET.fromstring((project.site / path).read_bytes()).findtext("{http://www.w3.org/2000/svg}title")


def _schedule(project: Project, start: str = "2h") -> str:
    result = project.cli("maintenance", "schedule", "--yes", "--json", "--title", "DB upgrade", "--start", start,
                         "--end", "3h", "-C", "db", "Upgrading the database.")
    assert result.exit_code == 0, result.output
    return str(json.loads(result.stdout)["incident_id"])


@pytest.mark.parametrize("language", sorted(WORDS))
def test_the_api_badges_and_component_feeds_speak_the_page_language(project: Project, language: str) -> None:
    words = WORDS[language]
    project.write_config(base=in_language(language))
    post(project)
    status = _json(project, "api/v2/status.json")["status"]
    assert status == {"indicator": "major", "description": words["banner"]}
    assert _json(project, "api/v2/summary.json") == _json(project, "summary.json")
    api = {c["id"]: c["status"] for c in _json(project, "api/v2/components.json")["components"]}
    assert api["api"] == "partial_outage"  # an enum, never translated
    assert _badge_title(project, "badge.svg") == f"Acme status: {words['banner']}"
    assert _badge_title(project, "badges/api.svg") == f"API: {words['partial']}"
    assert _badge_title(project, "badges/web.svg") == f"Website: {words['operational']}"
    feed = feedparser.parse((project.site / "components/api/feed.xml").read_bytes())
    assert not feed.bozo and feed.feed.language == language
    assert feed.feed.subtitle == words["feed_description"]
    assert feed.entries[0].title.endswith("] Fel i kassan")
    index = document(project.site, "index.html")
    assert index.one("a", href="maintenance.ics").words() == words["calendar_link"]
    assert index.one("a", href="components/api/atom.xml").words() == f"Atom {words['feed_of']}"
    calendar_link = index.one("link", type="text/calendar")
    assert calendar_link.attrs["title"] == words["calendar_title"]
    assert "Maintenance calendar" not in index.text() and "feed of" not in index.text()


@pytest.mark.parametrize("language", sorted(WORDS))
def test_the_calendar_and_a_cancelled_window_speak_the_page_language(project: Project, language: str) -> None:
    words = WORDS[language]
    project.write_config(base=in_language(language))
    incident = _schedule(project)
    result = project.cli("maintenance", "cancel", incident, "--yes", "--json")
    assert result.exit_code == 0, result.output
    calendar = Calendar.from_ical((project.site / CALENDAR).read_bytes())
    assert str(calendar["X-WR-CALNAME"]) == words["calendar_name"]
    [event] = calendar.events
    assert event["STATUS"] == STATUS.CANCELLED and str(event["SUMMARY"]) == "DB upgrade"  # the operator's title
    assert str(event["DESCRIPTION"]) == f"{words['cancelled']}\n\n{words['cancel_message']}"
    # Each text says its language (RFC 5545 3.2.10), as <html lang> does on the page.
    texts = [calendar[n] for n in ("NAME", "X-WR-CALNAME", "DESCRIPTION", "X-WR-CALDESC")] + [event["SUMMARY"], event["DESCRIPTION"]]
    assert [t.params["LANGUAGE"] for t in texts] == [language] * 6
    assert "LANGUAGE" not in event["UID"].params and str(calendar["PRODID"]).endswith("//EN")
    shown = json.loads(project.cli("show", incident, "--json").stdout)
    assert shown["updates"][-1]["message"] == words["cancel_message"]
    maintenance = _json(project, "api/v2/scheduled-maintenances.json")["scheduled_maintenances"][0]
    assert maintenance["status"] == "completed"  # Statuspage's enum


def test_the_maintenance_steps_standard_messages_reach_the_channels_in_the_page_language(
    project: Project, swedish_world: FakeWorld  # noqa: F811
) -> None:
    incident = _schedule(project)
    assert project.cli("maintenance", "start", incident, "--yes").exit_code == 0
    assert WORDS["sv"]["start_message"] in swedish_world.x.tweets[-1].text
    written = project.cli("maintenance", "complete", incident, "--yes", "Klart tidigare än väntat.")
    assert written.exit_code == 0, written.output
    assert "Klart tidigare än väntat." in swedish_world.x.tweets[-1].text  # the operator's own text as written


def test_a_private_detail_saying_a_translated_calendar_word_keeps_the_window(
    project: Project, swedish_world: FakeWorld  # noqa: F811
) -> None:
    # "Underhållskalender" is on every Swedish page and "Inställt" in its calendar: the product's own
    # words, so a private detail that says them takes nothing off the site.
    result = project.cli("maintenance", "schedule", "--yes", "--json", "--title", "DB upgrade", "--start", "2h",
                         "--end", "3h", "-C", "db", "-p", "Underhållskalender", "Upgrading the database.")
    assert result.exit_code == 0, result.output
    incident = json.loads(result.stdout)["incident_id"]
    assert project.cli("maintenance", "cancel", incident, "--yes", "-p", "Inställt").exit_code == 0
    assert [e["STATUS"] for e in Calendar.from_ical((project.site / CALENDAR).read_bytes()).events] == ["CANCELLED"]
    assert incident in (project.site / "index.html").read_text()
