"""Review 44c: the feeds and JSON through the real CLI (each test but the controls failed before its fix).

- 1: a customer's private feeds (``a/<token>/feed.xml``, ``atom.xml``) carried the public feeds' own identities:
  the Atom feed's ``<id>`` was the public feed's, and every entry's ``<id>``/``<guid>`` was the public entry's
  permalink, while its content holds that customer's detail. An id is what feed readers and aggregators key an
  entry (and an Atom feed) on: "the same entry" as the public one, in another version. A reader or an aggregator
  that follows both feeds (a Slack or Teams RSS app, a shared reader, a planet) keeps whichever came first and
  never shows the other again, or shows the customer's version where the public one is read.
"""

from __future__ import annotations

import json
from pathlib import Path

import feedparser

from tests.conftest import Project
from tests.test_audiences import TOKEN
from tests.test_postmortem_feeds_review36a import FEEDS, GLOBEX_TOKEN, _with_customers


def _feed(path: Path) -> feedparser.FeedParserDict:
    feed = feedparser.parse(path.read_bytes())
    assert feed.bozo == 0, (path, feed.bozo_exception)
    return feed


def test_a_customer_feed_shares_no_feed_or_entry_id_with_the_public_feeds(project: Project) -> None:
    _with_customers(project)
    posted = project.cli("post", "--yes", "--json", "--title", "API errors", "-C", "api", "--for", "acme",
                         "Your circuit ACM-7 is rerouted.", "--for", "globex", "Your exports are late.",
                         "Elevated error rates.")
    assert posted.exit_code == 0, posted.output
    incident = json.loads(posted.stdout)["incident_id"]
    assert project.cli("post", "--yes", "-i", incident, "-s", "identified", "Cause found.").exit_code == 0
    public = [project.site, project.site / "components" / "api"]
    customers = {TOKEN: "ACM-7", GLOBEX_TOKEN: "exports are late"}
    public_ids: set[str] = set()
    for folder in public:
        for name in FEEDS:
            feed = _feed(folder / name)
            public_ids.add(feed.feed.get("id", ""))
            public_ids.update(e.id for e in feed.entries)
    public_ids.discard("")
    seen: dict[str, set[str]] = {}
    for token, detail in customers.items():
        for name in FEEDS:
            feed = _feed(project.site / "a" / token / name)
            assert any(detail in e.summary for e in feed.entries), (token, name)  # the customer's own version
            ids = {e.id for e in feed.entries} | ({feed.feed.id} if feed.feed.get("id") else set())
            assert len(feed.entries) == 2, (token, name)
            assert not ids & public_ids, (token, name, sorted(ids & public_ids))
            # Stable, and still the incident's: the last part is the public anchor (readers keep their state).
            assert all(e.id.endswith((f"incidents/{incident}.html#update-1", f"incidents/{incident}.html#update-2"))
                       for e in feed.entries), [e.id for e in feed.entries]
            # A guid that is no page is not a permalink: readers do not open it.
            if name == "feed.xml":
                assert all(not e.get("guidislink") for e in feed.entries)
            seen.setdefault(token, set()).update(ids)
    assert not seen[TOKEN] & seen[GLOBEX_TOKEN]


def test_control_the_public_and_component_feeds_keep_their_ids(project: Project) -> None:
    """Control: the public feeds' ids are the documented ones, shared by the site's and the component's feeds."""
    _with_customers(project)
    posted = project.cli("post", "--yes", "--json", "--title", "API errors", "-C", "api", "Elevated error rates.")
    assert posted.exit_code == 0, posted.output
    incident = json.loads(posted.stdout)["incident_id"]
    expected = f"https://status.example.com/incidents/{incident}.html#update-1"
    for folder in (project.site, project.site / "components" / "api"):
        for name in FEEDS:
            assert [e.id for e in _feed(folder / name).entries] == [expected]
    assert _feed(project.site / "atom.xml").feed.id == "https://status.example.com/"
