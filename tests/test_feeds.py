"""feed.xml (RSS 2.0) and atom.xml, read back with feedparser and an XML parser."""

from __future__ import annotations

import calendar
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
from broadcaster.messages.model import Impact, Incident, Status, Update
from broadcaster.messages.visibility import public_incident

from broadcaster.site.build import build_site
from broadcaster.site.feeds import MAX_ENTRIES
from tests.site_helpers import NOW, T0, Document, Step, make_incident, sample_incidents, site_data

BASE = "https://status.example.com/"
ATOM = "{http://www.w3.org/2005/Atom}"
FEEDS = ["feed.xml", "atom.xml"]


def build(tmp_path: Path, incidents: list[Any] | None = None, **page: Any) -> Path:
    incidents = sample_incidents() if incidents is None else incidents
    build_site(site_data(incidents, **page), tmp_path, pages=incidents)
    return tmp_path


def parse(path: Path) -> feedparser.FeedParserDict:
    parsed = feedparser.parse(path.read_bytes())
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return parsed


def stamp(moment: datetime) -> int:
    return calendar.timegm(moment.utctimetuple())


# Updates of the sample incidents, newest first: (incident id, sequence, time).
EXPECTED = [
    ("2024-05-10-maint", 1, NOW - timedelta(hours=1)),
    ("2024-05-02-api", 2, NOW - timedelta(hours=1, minutes=30)),
    ("2024-05-02-api", 1, NOW - timedelta(hours=2)),
    ("2024-05-01-db", 2, T0 + timedelta(minutes=30)),
    ("2024-05-01-db", 1, T0),
    ("2024-04-01-old", 2, NOW - timedelta(days=30) + timedelta(minutes=30)),
    ("2024-04-01-old", 1, NOW - timedelta(days=30)),
]


@pytest.mark.parametrize("name", FEEDS)
@pytest.mark.parametrize("base_url", ["", BASE], ids=["no-base-url", "base-url"])
def test_feeds_parse_cleanly_with_one_entry_per_update_newest_first(
    tmp_path: Path, name: str, base_url: str
) -> None:
    feed = parse(build(tmp_path, base_url=base_url) / name)
    prefix = base_url or "urn:broadcaster:"
    page = ".html" if base_url else ""
    assert [e.id for e in feed.entries] == [
        f"{prefix}incidents/{incident}{page}#update-{sequence}"
        for incident, sequence, _ in EXPECTED
    ]
    assert [calendar.timegm(e.published_parsed) for e in feed.entries] == [
        stamp(at) for *_, at in EXPECTED
    ]
    if name == "atom.xml":  # RSS items have no updated time of their own
        assert [calendar.timegm(e.updated_parsed) for e in feed.entries] == [
            stamp(at) for *_, at in EXPECTED
        ]


@pytest.mark.parametrize("name", FEEDS)
def test_entries_have_status_and_title_and_link_to_the_incident_page(
    tmp_path: Path, name: str
) -> None:
    feed = parse(build(tmp_path, base_url=BASE) / name)
    first, second = feed.entries[1], feed.entries[2]
    assert first.title == "[Identified] Elevated API errors"
    assert second.title == "[Investigating] Elevated API errors"
    assert first.link == BASE + "incidents/2024-05-02-api.html#update-2"
    assert "A bad deploy." in first.summary and "<li>rolling back</li>" in first.summary
    assert "Next update by: 2 May 2024, 09:30 UTC" in first.summary
    assert feed.entries[0].title == "[Scheduled] Database upgrade"


def test_without_a_base_url_entry_links_are_relative_to_the_feed(tmp_path: Path) -> None:
    site = build(tmp_path)
    rss = ET.parse(site / "feed.xml").getroot()
    links = [item.findtext("link") for item in rss.iter("item")]
    assert links[1] == "incidents/2024-05-02-api.html#update-2"
    for link in links:
        assert link is not None and (site / link.split("#")[0]).is_file()


def test_the_rss_channel_links_to_the_site_and_atom_links_to_itself(tmp_path: Path) -> None:
    site = build(tmp_path, base_url=BASE)
    channel = ET.parse(site / "feed.xml").getroot().find("channel")
    assert channel is not None and channel.findtext("link") == BASE + "index.html"
    self_link = channel.find(f"{ATOM}link")
    assert self_link is not None and self_link.get("href") == BASE + "feed.xml"
    atom = ET.parse(site / "atom.xml").getroot()
    links = {link.get("rel"): link.get("href") for link in atom.findall(f"{ATOM}link")}
    assert links == {"self": BASE + "atom.xml", "alternate": BASE + "index.html"}


@pytest.mark.parametrize("name", FEEDS)
def test_feed_updated_is_the_newest_update_not_the_build_time(tmp_path: Path, name: str) -> None:
    one = build(tmp_path / "one")
    later = tmp_path / "two"
    build_site(
        site_data(sample_incidents(), now=NOW + timedelta(hours=3)), later, pages=sample_incidents()
    )
    assert (one / name).read_bytes() == (later / name).read_bytes()
    feed = parse(one / name)
    newest = NOW - timedelta(hours=1)
    assert calendar.timegm(feed.feed.updated_parsed) == stamp(newest)


def test_a_correction_bumps_the_entry_updated_time_but_not_published(tmp_path: Path) -> None:
    incident = Incident("api", "API errors", Impact.MAJOR, Status.INVESTIGATING, T0)
    updates = [
        Update("api", 1, T0, Status.INVESTIGATING, "Errors in eu-west."),
        Update(
            "api",
            2,
            T0 + timedelta(minutes=5),
            Status.INVESTIGATING,
            "Errors in eu-central.",
            kind="correction",
            extra={"corrects": "1"},
        ),
    ]
    view = public_incident(incident, updates)
    build_site(site_data([view]), tmp_path, pages=[view])
    entry = parse(tmp_path / "atom.xml").entries[0]
    assert calendar.timegm(entry.published_parsed) == stamp(T0)
    assert calendar.timegm(entry.updated_parsed) == stamp(T0 + timedelta(minutes=5))
    assert "eu-central" in entry.summary and "eu-west" not in entry.summary


def test_feeds_keep_only_the_newest_entries(tmp_path: Path) -> None:
    steps = [Step(Status.INVESTIGATING, f"Update number {n}.") for n in range(1, MAX_ENTRIES + 31)]
    incident = make_incident("long", steps=steps)
    build_site(site_data([incident]), tmp_path, pages=[incident])
    for name in FEEDS:
        entries = parse(tmp_path / name).entries
        assert len(entries) == MAX_ENTRIES
        assert entries[0].id.endswith(f"#update-{MAX_ENTRIES + 30}")
        assert entries[-1].id.endswith("#update-31")


def test_an_empty_site_still_has_valid_feeds(tmp_path: Path) -> None:
    build_site(site_data([]), tmp_path)
    for name in FEEDS:
        feed = parse(tmp_path / name)
        assert feed.entries == [] and feed.feed.title == "Acme status"


@pytest.mark.parametrize("name", FEEDS)
def test_hostile_text_is_escaped_into_inert_html(tmp_path: Path, name: str) -> None:
    hostile = (
        "<script>alert(1)</script> <img src=x onerror=alert(2)> "
        "[x](javascript:alert(3)) *still markdown*"
    )
    incident = make_incident(
        "hostile", "<script>alert('t')</script>", steps=[Step(Status.INVESTIGATING, hostile)]
    )
    build_site(site_data([incident]), tmp_path, pages=[incident])
    root = ET.parse(tmp_path / name).getroot()
    # What a reader gets: the entry's HTML after XML unescaping, parsed as HTML.
    body = next(
        e.text
        for e in root.iter()
        if e.tag in ("description", f"{ATOM}summary") and e.text and "alert(1)" in e.text
    )
    page = Document(body)
    assert [e.tag for e in page.elements] == ["p", "em"]
    assert "<script>alert(1)</script>" in page.text() and "[x](javascript:alert(3))" in page.text()
    title = next(
        e.text
        for e in root.iter()
        if e.tag in ("title", f"{ATOM}title") and e.text and "alert('t')" in e.text
    )
    assert title == "[Investigating] <script>alert('t')</script>"  # plain text, escaped by the XML
    assert b"<script>" not in (tmp_path / name).read_bytes()
