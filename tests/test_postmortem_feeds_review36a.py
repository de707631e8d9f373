"""Review 36a, findings 2 and 3: a postmortem in the feeds (each test but the control failed before its fix).

- 2a: every feed (the site's, each component's, each customer's) kept one entry per published version of a
  postmortem, while the incident page shows the newest alone: text taken back stayed public.
- 2b: so a version that made earlier public text private (`[private]CHG-4411[/private]`) took the incident off the
  site for good: the pre-store check renders the incident page (which passed) and the build then refused the feeds.
- 3: a customer's `[for acme]` detail past the feed's 2,000-character excerpt reached that customer nowhere: the cut
  entry links to the public incident page, which leaves it out, and customers have no incident pages.

Through the real CLI; feeds parsed with feedparser; every file of the output folder searched, entities decoded.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from urllib.parse import unquote

import feedparser
import pytest

from broadcaster.site.feeds import POSTMORTEM_EXCERPT_CHARS
from tests.conftest import Project
from tests.test_audiences import TOKEN

GLOBEX_TOKEN = "globex-feed-token-0123456789abcdef"
CUSTOMERS = """
[audiences.acme]
name = "Acme Corp"
components = ["api"]
feed_token = "${ACME_FEED_TOKEN}"

[audiences.globex]
name = "Globex Industries"
components = ["api"]
feed_token = "${GLOBEX_FEED_TOKEN}"
"""
FEEDS = ("feed.xml", "atom.xml")


def _with_customers(project: Project) -> None:
    project.env.update(ACME_FEED_TOKEN=TOKEN, GLOBEX_FEED_TOKEN=GLOBEX_TOKEN)
    project.write_config(CUSTOMERS)


def _ok(project: Project, *args: str) -> str:
    result = project.cli(*args)
    assert result.exit_code == 0, result.output
    return result.output


def _resolved(project: Project, title: str, message: str) -> str:
    posted = project.cli("post", "--yes", "--json", "--title", title, "-C", "api", message)
    assert posted.exit_code == 0, posted.output
    incident: str = json.loads(posted.stdout)["incident_id"]
    _ok(project, "resolve", "--yes", incident, "Fixed.")
    return incident


def _postmortem(project: Project, incident: str, text: str) -> tuple[int, str]:
    file = project.root / "pm.md"
    file.write_text(text, encoding="utf-8")
    result = project.cli("postmortem", "--yes", incident, "--file", str(file))
    return result.exit_code, result.output


def _readable(raw: bytes) -> str:
    """A file as any reader may read it: percent-escapes and entities decoded, as often as they nest (a feed
    entry is HTML escaped into XML)."""
    text = unquote(raw.decode("utf-8", errors="replace"))
    while (decoded := html.unescape(text)) != text:
        text = decoded
    return text


def _holding(site: Path, value: str) -> list[str]:
    """Every file under the output folder (the local journal and lock too) that holds ``value``."""
    return sorted(str(p.relative_to(site)) for p in site.rglob("*") if p.is_file() and value in _readable(p.read_bytes()))


def _postmortem_entries(path: Path) -> list[feedparser.FeedParserDict]:
    feed = feedparser.parse(path.read_bytes())
    assert feed.bozo == 0, (path, feed.bozo_exception)
    return [e for e in feed.entries if e.title.startswith("[Postmortem]")]


def _every_feed(project: Project) -> list[Path]:
    folders = [project.site, project.site / "components" / "api", project.site / "a" / TOKEN,
               project.site / "a" / GLOBEX_TOKEN]
    return [folder / name for folder in folders for name in FEEDS]


def test_a_republished_postmortem_is_its_newest_version_alone_in_every_feed(project: Project) -> None:
    """2a: one entry per version was left in every feed; now each shows the newest, under that version's id."""
    _with_customers(project)
    incident = _resolved(project, "API errors", "Elevated error rates.")
    assert _postmortem(project, incident, "# Summary\n\nThe API failed OLDPMTEXT.\n")[0] == 0
    assert _postmortem(project, incident, "# Summary\n\nThe API failed.\n")[0] == 0
    for path in _every_feed(project):
        entries = _postmortem_entries(path)
        assert len(entries) == 1, (path, [e.id for e in entries])
        assert "The API failed." in entries[0].summary, path
        # A new version is a new entry id (readers show it as new); the link still leads to the section.
        assert entries[0].id.endswith(f"incidents/{incident}.html#postmortem-2"), (path, entries[0].id)
        assert entries[0].link.endswith(f"incidents/{incident}.html#postmortem"), path
    assert _holding(project.site, "OLDPMTEXT") == []


def test_a_version_making_earlier_public_text_private_keeps_the_incident_on_the_site(project: Project) -> None:
    """2b, the report's sequence (no customers): exit 3 and the incident gone from the page, index and feeds, for
    good. Now the new version replaces the old one in every file, and nothing holds the now-private text."""
    incident = _resolved(project, "Login failures", "Logins fail.")
    assert _postmortem(project, incident, "# Summary\n\nLogins failed after change CHG-4411.\n")[0] == 0
    code, output = _postmortem(project, incident,
                               "# Summary\n\nLogins failed after a change. [private]CHG-4411[/private]\n")
    assert code == 0, output
    assert "left out of the site" not in output, output
    page = project.site / "incidents" / f"{incident}.html"
    assert page.is_file() and "Logins failed after a change." in _readable(page.read_bytes())
    assert f"incidents/{incident}.html" in (project.site / "index.html").read_text(encoding="utf-8")
    for name in FEEDS:
        [entry] = _postmortem_entries(project.site / name)
        assert "Logins failed after a change." in entry.summary
    assert _holding(project.site, "CHG-4411") == []
    rebuilt = project.cli("site", "build")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert _ok(project, "post", "--yes", "--title", "Later", "Something later.")  # later posts reach the site
    assert _holding(project.site, "CHG-4411") == []


def test_a_version_making_private_what_the_timeline_still_shows_is_refused_before_it_is_stored(
        project: Project) -> None:
    """The case the build still refuses (control: refused before too): an update of the timeline, which the page
    and feeds keep, holds what the postmortem makes private. The command refuses with exit 2, nothing is stored, and
    the incident stays on the site as it was."""
    incident = _resolved(project, "Login failures", "Logins fail after change CHG-4411.")
    before = {p: p.read_bytes() for p in project.site.rglob("*.html")}
    code, output = _postmortem(project, incident, "# Summary\n\nLogins failed. [private]CHG-4411[/private]\n")
    assert code == 2, output
    assert "CHG-4411" in output or "private" in output, output
    assert not any(_postmortem_entries(project.site / name) for name in FEEDS)
    assert {p: p.read_bytes() for p in project.site.rglob("*.html")} == before
    shown = json.loads(project.cli("show", "--json", incident).stdout)
    assert [u["sequence"] for u in shown["updates"]] == [1, 2], "the post and the resolve alone: nothing stored"
    assert project.cli("site", "build").exit_code == 0


PARAGRAPH = ("The billing service computed invoices against a stale exchange-rate table for three hours after the "
             "nightly refresh failed silently; the failure was not alerted on because the job reported success "
             "while writing no rows, and the dashboards showed the previous day's figures as current. ")


def _long_postmortem() -> str:
    paragraphs = [PARAGRAPH.strip() + f" Paragraph {n}." for n in range(1, 9)]
    assert sum(map(len, paragraphs)) > POSTMORTEM_EXCERPT_CHARS
    return ("# Summary\n\n" + "\n\n".join(paragraphs)
            + "\n\n[for acme]Acme: your invoices INV-ACME-42 were recalculated; credit note CN-77 issued.[/for]\n")


def test_a_customers_detail_past_the_excerpt_reaches_that_customer_and_no_one_else(project: Project) -> None:
    """3: acme's entry was cut at 2,000 characters and linked to the public page, which drops acme's span: acme read
    INV-ACME-42 nowhere. Now acme's feed entry holds its postmortem whole; globex's (no detail of its own) and the
    public's stay cut, and no file outside acme's folder holds acme's detail (the egress guard, unchanged, checks
    every customer's files against the others' detail)."""
    _with_customers(project)
    incident = _resolved(project, "Billing errors", "Billing errors.")
    code, output = _postmortem(project, incident, _long_postmortem())
    assert code == 0, output
    acme = project.site / "a" / TOKEN
    for name in FEEDS:
        [entry] = _postmortem_entries(acme / name)
        assert "INV-ACME-42" in entry.summary and "Paragraph 8." in entry.summary, name
        assert "read all of it" not in entry.summary, name
        for other in (project.site / name, project.site / "components" / "api" / name,
                      project.site / "a" / GLOBEX_TOKEN / name):
            [cut] = _postmortem_entries(other)
            assert "read all of it" in cut.summary and "INV-ACME-42" not in cut.summary, other
    assert _holding(project.site, "INV-ACME-42") == sorted(f"a/{TOKEN}/{name}" for name in FEEDS)
    assert project.cli("site", "build").exit_code == 0


@pytest.mark.parametrize("detail", ["", "\n\n[for acme]Acme: ticket ACME-SHORT-1 is closed.[/for]"],
                         ids=["no-detail", "detail-in-the-excerpt"])
def test_a_short_postmortem_is_the_same_in_a_customers_feed_whatever_its_detail(project: Project, detail: str) -> None:
    """Control: under the excerpt nothing is cut, so acme's feed reads as before, its detail (if any) with it."""
    _with_customers(project)
    incident = _resolved(project, "Billing errors", "Billing errors.")
    assert _postmortem(project, incident, "# Summary\n\nInvoices were late." + detail + "\n")[0] == 0
    for name in FEEDS:
        [entry] = _postmortem_entries(project.site / "a" / TOKEN / name)
        assert "Invoices were late." in entry.summary and "read all of it" not in entry.summary
        assert ("ACME-SHORT-1" in entry.summary) == bool(detail)
    assert _holding(project.site / "a" / GLOBEX_TOKEN, "ACME-SHORT-1") == []
