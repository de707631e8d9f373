"""components/<id>/feed.xml and atom.xml: only what touches the component, read by feedparser; the
egress guard over every new file of the site."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import feedparser
from broadcaster.messages.egress import PrivateValues
from broadcaster.messages.model import Impact, Status

from broadcaster.site.build import Page, build_site
from broadcaster.site.feeds import MAX_ENTRIES
from tests.site_helpers import NOW, Step, affected, make_incident, read_site, sample_incidents, site_data

BASE = "https://status.example.com/"


def parse(root: Path, path: str) -> feedparser.FeedParserDict:
    return feedparser.parse((root / path).read_bytes())


def test_each_component_feed_holds_only_what_touches_it(tmp_path: Path) -> None:
    incidents = sample_incidents()
    build_site(site_data(incidents, base_url=BASE), tmp_path, pages=incidents)
    site_ids = {e.id for e in parse(tmp_path, "atom.xml").entries}
    for kind in ("atom.xml", "feed.xml"):
        api = parse(tmp_path, f"components/api/{kind}")
        db = parse(tmp_path, f"components/db/{kind}")
        mail = parse(tmp_path, f"components/mail/{kind}")
        assert not api.bozo and not db.bozo and not mail.bozo
        assert {e.link.split("#")[0] for e in api.entries} == {f"{BASE}incidents/2024-05-02-api.html"}
        assert {e.link.split("#")[0] for e in db.entries} == {
            f"{BASE}incidents/2024-05-01-db.html", f"{BASE}incidents/2024-05-10-maint.html"
        }
        assert mail.entries == []
        assert {e.id for e in api.entries + db.entries} <= site_ids  # the same entries keep their ids
    atom = parse(tmp_path, "components/db/atom.xml")
    assert atom.feed.id == f"{BASE}components/db/"
    assert atom.feed.title == "Acme status: Database"
    assert any(link.rel == "self" and link.href == f"{BASE}components/db/atom.xml" for link in atom.feed.links)
    published = [e.published_parsed for e in atom.entries]
    assert published == sorted(published, reverse=True)


def test_an_empty_component_feed_is_dated_by_the_data_not_the_clock(tmp_path: Path) -> None:
    incidents = sample_incidents()
    build_site(site_data(incidents), tmp_path / "one", pages=incidents)
    build_site(site_data(incidents, now=NOW + timedelta(days=1)), tmp_path / "two", pages=incidents)
    assert (tmp_path / "one/components/mail/atom.xml").read_bytes() == (tmp_path / "two/components/mail/atom.xml").read_bytes()
    assert feedparser.parse((tmp_path / "one/components/mail/atom.xml").read_bytes()).feed.updated.startswith("1970-01-01")


def test_a_component_feed_is_bounded_like_the_site_feed(tmp_path: Path) -> None:
    steps = [Step(Status.INVESTIGATING, f"Update {n}.") for n in range(MAX_ENTRIES + 20)]
    busy = make_incident("busy", components=affected(web="major_outage"), steps=steps)
    build_site(site_data([busy]), tmp_path, pages=[busy])
    entries = parse(tmp_path, "components/web/feed.xml").entries
    assert len(entries) == MAX_ENTRIES and entries[0].title == "[Investigating] Elevated API errors"


def test_a_private_value_is_kept_out_of_every_new_file(tmp_path: Path) -> None:
    # An operator's slip: the customer's name, private on the update, also in the public text.
    slip = make_incident(
        "slip", "Database work", kind="maintenance", impact=Impact.NONE, start=NOW - timedelta(hours=1),
        components=affected(db="under_maintenance"),
        scheduled=(NOW + timedelta(days=1), NOW + timedelta(days=1, hours=1)),
        steps=[Step(Status.SCHEDULED, "Globex Industries asked us to move their shard.")],
    )
    values = PrivateValues.of(["Globex Industries"])
    incidents = [*sample_incidents(), slip]
    data = replace(site_data(incidents), private={"slip": values})
    built = build_site(data, tmp_path, pages=[*incidents[:-1], Page(slip, values)])
    assert any("incident slip was left out" in p for p in built.problems)
    files = read_site(tmp_path)
    for path in ("maintenance.ics", "components/db/atom.xml", "components/db/feed.xml",
                 "api/v2/scheduled-maintenances.json", "api/v2/scheduled-maintenances/upcoming.json"):
        assert b"Globex" not in files[path], path
    assert not [p for p, body in files.items() if b"Globex" in body]
    assert b"Database upgrade" in files["maintenance.ics"]  # the rest is built
