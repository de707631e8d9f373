"""Bounded feeds (issue 13 item 12): the most recent entries only, and a postmortem's entry is its
beginning and a link, so a book-length postmortem does not weigh on every later post."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import feedparser

from broadcaster.site.feeds import MAX_ENTRIES, POSTMORTEM_EXCERPT_CHARS
from tests.conftest import Project


def long_postmortem(path: Path, size: int = 200_000) -> str:
    sections: list[str] = []
    n = 0
    while sum(map(len, sections)) < size:
        n += 1
        sections.append(f"## Part {n}\n\nThe replica lagged behind the primary while pools held stale sockets. " * 3 + "\n\n")
    text = "# What happened\n\nThe primary database failed over at 10:02.\n\n" + "".join(sections) + "THE-LAST-WORDS"
    path.write_text(text, encoding="utf-8")
    return text


def test_a_postmortem_of_200_kb_is_a_short_entry_linking_to_the_whole(project: Project, tmp_path: Path) -> None:
    first = project.cli("post", "--yes", "--json", "--title", "DB failover", "The database failed over.")
    incident_id = json.loads(first.stdout)["incident_id"]
    assert project.cli("resolve", "--yes", incident_id, "Resolved.").exit_code == 0
    long_postmortem(tmp_path / "pm.md")

    assert project.cli("postmortem", "--yes", incident_id, "--file", str(tmp_path / "pm.md")).exit_code == 0
    assert project.cli("post", "--yes", "--title", "Later", "Something later.").exit_code == 0

    for name in ("feed.xml", "atom.xml"):
        raw = (project.site / name).read_bytes()
        assert len(raw) < 4 * POSTMORTEM_EXCERPT_CHARS + 20_000, (name, len(raw))
        feed = feedparser.parse(raw)
        assert feed.bozo == 0
        entry = next(e for e in feed.entries if e.title == "[Postmortem] DB failover")
        assert "The primary database failed over at 10:02." in entry.summary
        assert "read all of it" in entry.summary and f"incidents/{incident_id}.html#postmortem" in entry.summary
        assert "THE-LAST-WORDS" not in entry.summary
    page = (project.site / "incidents" / f"{incident_id}.html").read_text()
    assert "THE-LAST-WORDS" in page  # the whole postmortem is on the incident page


def seed_updates(project: Project, incident_id: str, messages: list[str]) -> None:
    """Write updates to an incident the way ``post`` records them (checked by ``compose.build``, every
    delivery marked sent), without a site build and a delivery per update: a hundred CLI posts would
    spend most of a minute rebuilding the same page."""
    from broadcaster import compose, config_loader
    from broadcaster.delivery import DeliveryState
    from broadcaster.destinations import destinations, plan
    from broadcaster.store import open_store
    from broadcaster.store.location import store_location

    settings = config_loader.load(str(project.config))
    store = open_store(store_location(settings))
    try:
        incident = store.incident(incident_id)
        for message in messages:
            draft = compose.Draft(message=message, incident_id=incident_id)
            incident, update = compose.build(draft, incident, settings, datetime.now(UTC))
            planned = [replace(p, state=DeliveryState.SENT) for p in plan(destinations(settings), set())]
            incident, _ = store.record_update(incident, update, planned, new=False)
    finally:
        store.close()


def test_feeds_keep_the_most_recent_entries_only(project: Project) -> None:
    first = project.cli("post", "--yes", "--json", "--title", "Long incident", "Update 0.")
    incident_id = json.loads(first.stdout)["incident_id"]
    seed_updates(project, incident_id, [f"Update {n}." for n in range(1, MAX_ENTRIES + 4)])
    # The last update goes through the CLI: the build that writes the feeds is post's own.
    assert project.cli("post", "--yes", "-i", incident_id, f"Update {MAX_ENTRIES + 4}.").exit_code == 0

    for name in ("feed.xml", "atom.xml"):
        entries = feedparser.parse((project.site / name).read_bytes()).entries
        assert len(entries) == MAX_ENTRIES
        assert entries[0].summary.count(f"Update {MAX_ENTRIES + 4}.") == 1
        assert not [e for e in entries if "Update 0." in e.summary]
        assert [e for e in entries if f"Update {MAX_ENTRIES - 1}." in e.summary]
