"""Review 19a: the site's secondary outputs (``tests/test_zz_r19a_*.py`` made real tests, and more).

1. A component taken out of the config leaves no file behind: its feeds and badge leave the site, the
   manifest and so every host, on a full build, an incremental post and a full build in workers alike.
2. Nothing is deleted through a folder of the site that is a symbolic link: refused before anything goes.
3. A quiet page (nothing shown) is dated by the data, never by the build's clock: withdrawing a staff-only
   incident, or building again later, changes no byte the public or a customer reads.
4. Two pages below two paths of one host publish calendars with different UIDs; a page at the root keeps its.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
from broadcaster.messages.model import Impact, Status
from icalendar import Calendar

from broadcaster.errors import DeliveryError
from broadcaster.site import parallel, source
from broadcaster.site.build import AudiencePage, build_site
from broadcaster.site.ical import CALENDAR
from broadcaster.site.output import MANIFEST, SiteWriter
from tests.conftest import BASE_CONFIG, Project
from tests.fakes.world import FakeWorld
from tests.site_helpers import NOW, Step, affected, make_incident, read_site, site_data
from tests.test_site_parallel import build as rebuild_into

LEGACY = """
[[components]]
id = "globex-link"
name = "Globex dedicated link"
"""
TOKEN = "globex-feed-token-0123456789abcdef"
AUDIENCE = """
[audiences.globex]
name = "Globex Industries"
components = ["api"]
feed_token = "${GLOBEX_FEED_TOKEN}"
"""
PUBLIC_FILES = ("index.html", "feed.xml", "atom.xml", "summary.json", "api/v2/status.json", "api/v2/summary.json")


def site_files(project: Project) -> set[str]:
    return {p.relative_to(project.site).as_posix() for p in project.site.rglob("*") if p.is_file()
            and not p.name.startswith(".broadcaster")}


def post(project: Project, *args: str) -> str:
    result = project.cli(*args, "--yes", "--json")
    assert result.exit_code == 0, result.output
    return str(json.loads(result.stdout)["incident_id"])


def clock_at(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    monkeypatch.setattr(source, "utcnow", lambda: moment)


def later_the_same_day(moment: datetime) -> datetime:
    """Up to three hours later, never the next day (a new day adds a day to the uptime bars: a real change)."""
    midnight = datetime.combine(moment.date() + timedelta(days=1), datetime.min.time(), UTC)
    return min(moment + timedelta(hours=3), midnight - timedelta(seconds=1))


# 1. A component taken out of the config


def test_a_withdrawn_incident_does_not_stay_in_the_feed_of_a_component_taken_out_of_the_config(
    project: Project,
) -> None:
    project.write_config(LEGACY)
    incident = post(project, "post", "--title", "Link down", "-C", "globex-link=major_outage",
                    "POSTEDINERROR the link is down.")
    stale_feed = project.site / "components" / "globex-link" / "feed.xml"
    assert feedparser.parse(stale_feed.read_bytes()).entries  # built while the component was configured

    project.write_config()  # the operator takes the component out of the config (BASE_CONFIG alone)
    assert "globex-link" not in BASE_CONFIG
    withdrawn = project.cli("withdraw", incident, "--yes")
    assert withdrawn.exit_code == 0, withdrawn.output
    assert project.cli("site", "build").exit_code == 0

    holding = [name for name in sorted(site_files(project))
               if "POSTEDINERROR" in (project.site / name).read_text(encoding="utf-8", errors="replace")]
    assert holding == [], f"the withdrawn incident's text is still published in {holding}"
    manifest = (project.site / MANIFEST).read_text(encoding="utf-8")
    assert "globex-link" not in manifest, "the removed component's files are still part of the site (hosts upload them)"
    assert not (project.site / "components" / "globex-link").exists()  # the emptied folder too


def test_a_badge_of_a_component_taken_out_of_the_config_does_not_stay_frozen(project: Project) -> None:
    project.write_config(LEGACY)
    assert project.cli("site", "build").exit_code == 0
    assert (project.site / "badges" / "globex-link.svg").exists()
    project.write_config()
    assert project.cli("site", "build").exit_code == 0
    left = sorted(name for name in site_files(project) if "globex-link" in name)
    assert left == [], f"still in the site after a full build: {left}"
    assert (project.site / "badges" / "api.svg").exists() and (project.site / "components" / "api" / "feed.xml").exists()


def test_an_incremental_post_takes_a_removed_components_files_out_too(project: Project) -> None:
    project.write_config(LEGACY)
    post(project, "post", "--title", "Link down", "-C", "globex-link=major_outage", "The link is down.")
    project.write_config()

    post(project, "post", "--title", "API errors", "-C", "api", "Elevated errors.")  # an incremental build

    assert sorted(name for name in site_files(project) if "globex-link" in name) == []
    assert "globex-link" not in (project.site / MANIFEST).read_text(encoding="utf-8")
    assert not (project.site / "components" / "globex-link").exists()


def test_a_full_build_in_workers_takes_a_removed_components_files_out_as_one_process_does(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.write_config(LEGACY)
    for n in range(4):
        post(project, "post", "--title", f"Link errors {n}", "-C", "globex-link", "-C", "api", f"Errors {n}.")
    project.write_config()
    clock_at(monkeypatch, datetime.now(UTC))  # the uptime shown moves with the clock
    one = project.root / "one"
    shutil.copytree(project.site, one)  # the same stale site, built again in one process

    in_one = rebuild_into(project, one)
    monkeypatch.setattr(parallel, "MIN_PAGES", 1)
    monkeypatch.setattr(parallel, "CHUNK", 2)
    monkeypatch.setattr(parallel, "cores", lambda: 2)
    in_workers = rebuild_into(project, project.site)

    assert read_site(project.site) == read_site(one)
    assert in_workers.hashes == in_one.hashes
    assert not [p for p in in_workers.hashes if "globex-link" in p]
    assert sorted(name for name in site_files(project) if "globex-link" in name) == []


def test_the_last_component_gone_takes_its_folders_away(tmp_path: Path) -> None:
    build_site(site_data([]), tmp_path)
    assert (tmp_path / "badges").is_dir() and (tmp_path / "components").is_dir()

    built = build_site(replace(site_data([]), components=()), tmp_path)

    assert not [p for p in built.hashes if p.startswith(("badges/", "components/"))]
    assert not (tmp_path / "badges").exists() and not (tmp_path / "components").exists()
    assert (tmp_path / "badge.svg").is_file()  # the page's own badge stays


# 2. Nothing deleted through a link


def link_incidents_elsewhere(project: Project, tmp_path: Path, incident: str) -> Path:
    """Another project's pages, where the operator moved the folder; the same page name is there too."""
    elsewhere = tmp_path.parent / f"{tmp_path.name}-other-site" / "incidents"
    elsewhere.mkdir(parents=True)
    theirs = elsewhere / f"{incident}.html"
    theirs.write_text("<p>the other project's page</p>", encoding="utf-8")
    for page in (project.site / "incidents").iterdir():
        page.unlink()
    (project.site / "incidents").rmdir()
    os.symlink(elsewhere, project.site / "incidents")
    return theirs


def test_a_withdrawal_never_deletes_through_a_linked_incidents_folder(project: Project, tmp_path: Path) -> None:
    incident = post(project, "post", "--title", "API errors", "Elevated errors.")
    theirs = link_incidents_elsewhere(project, tmp_path, incident)

    result = project.cli("withdraw", incident, "--yes", "--json")

    assert theirs.exists(), (
        f"the build deleted {theirs} through the link public/incidents (exit {result.exit_code}): {result.output}")
    assert result.exit_code != 0
    built = project.cli("site", "build")
    assert built.exit_code != 0 and "symbolic link" in built.output and "never writes through links" in built.output
    assert theirs.exists()


def test_a_removed_customers_page_is_never_deleted_through_a_linked_audience_folder(
    project: Project, tmp_path: Path
) -> None:
    project.env["GLOBEX_FEED_TOKEN"] = TOKEN
    project.write_config(AUDIENCE)
    assert project.cli("site", "build").exit_code == 0
    assert (project.site / "a" / TOKEN / "index.html").is_file()
    elsewhere = tmp_path.parent / f"{tmp_path.name}-other-a"
    shutil.copytree(project.site / "a", elsewhere)
    shutil.rmtree(project.site / "a")
    os.symlink(elsewhere, project.site / "a")
    project.write_config()  # the customer's page is taken away: its files are to be removed

    result = project.cli("site", "build")

    assert result.exit_code != 0 and "symbolic link" in result.output, result.output
    assert (elsewhere / TOKEN / "index.html").is_file() and (elsewhere / TOKEN / "feed.xml").is_file()


def test_a_writer_refuses_a_link_before_it_removes_anything(tmp_path: Path) -> None:
    site = tmp_path / "site"
    build_site(site_data([make_incident("one")]), site)
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "kept").mkdir(parents=True)
    (elsewhere / "api.svg").write_text("theirs", encoding="utf-8")
    shutil.rmtree(site / "badges")
    os.symlink(elsewhere, site / "badges")
    writer = SiteWriter(site)

    with pytest.raises(DeliveryError) as raised:
        writer.remove("badges/api.svg")
    assert "symbolic link" in str(raised.value) and not raised.value.retryable
    assert (elsewhere / "api.svg").is_file()
    with pytest.raises(DeliveryError):
        writer.remove_all(["incidents/one.html", "badges/api.svg"])
    assert (site / "incidents" / "one.html").is_file(), "removed before the link was refused"
    assert (elsewhere / "api.svg").is_file()

    with pytest.raises(DeliveryError):
        writer.remove_folder("badges/kept")
    assert (elsewhere / "kept").is_dir()
    writer.abandon()


# 3. A quiet page is dated by the data


def snapshot(site: Path) -> dict[str, bytes]:
    return {name: (site / name).read_bytes() for name in PUBLIC_FILES}


def test_withdrawing_a_staff_only_incident_changes_nothing_the_public_reads(
    project: Project, world: FakeWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = datetime.now(UTC)
    clock_at(monkeypatch, start)
    assert project.cli("site", "build").exit_code == 0
    before = snapshot(project.site)
    everything_before = read_site(project.site)
    summary_before = json.loads(before["summary.json"])

    posted = project.cli("post", "--yes", "--json", "--only", "tg-ops", "--title", "Rack fire", "Staff only.")
    incident: Any = json.loads(posted.stdout)["incident_id"]
    assert snapshot(project.site) == before  # kept from the public: the page is not even rebuilt

    clock_at(monkeypatch, later_the_same_day(start))  # staff withdraw it later
    assert project.cli("withdraw", incident, "--yes", "--reason", "drill").exit_code == 0

    after = snapshot(project.site)
    summary_after = json.loads(after["summary.json"])
    rss_before, rss_after = feedparser.parse(before["feed.xml"]), feedparser.parse(after["feed.xml"])
    # Nothing the public was ever shown changed; what it reads must not either.
    assert summary_after["page"]["updated_at"] == summary_before["page"]["updated_at"], (
        summary_before["page"]["updated_at"], summary_after["page"]["updated_at"])
    assert rss_after.feed.get("updated") == rss_before.feed.get("updated")
    assert after == before, [name for name in PUBLIC_FILES if after[name] != before[name]]
    assert read_site(project.site) == everything_before


def test_an_empty_site_built_twice_at_two_clocks_gives_the_same_bytes(tmp_path: Path) -> None:
    """The feeds' own promise, for the page with nothing to show (the component feeds keep it: ``NEVER``)."""
    build_site(site_data([]), tmp_path / "one")
    build_site(site_data([], now=NOW + timedelta(days=2)), tmp_path / "two")
    changed = [name for name in PUBLIC_FILES
               if (tmp_path / "one" / name).read_bytes() != (tmp_path / "two" / name).read_bytes()]
    assert changed == []
    assert read_site(tmp_path / "one") == read_site(tmp_path / "two")
    index = (tmp_path / "one" / "index.html").read_text(encoding="utf-8")
    assert "Last updated" not in index and "No incidents in the last" in index  # no made-up date


def test_a_quiet_page_is_dated_by_the_last_change_it_showed(tmp_path: Path) -> None:
    old = make_incident("2024-03-01-api", start=NOW - timedelta(days=60),
                        steps=[Step(Status.INVESTIGATING, "Errors."), Step(Status.RESOLVED, "Fixed.")])
    data = replace(site_data([]), archive=(old,))  # closed before the page's history: only the API lists it
    build_site(data, tmp_path / "one")
    build_site(replace(data, now=NOW + timedelta(days=2)), tmp_path / "two")

    assert read_site(tmp_path / "one") == read_site(tmp_path / "two")
    last = old.updates[-1].created_at.astimezone(UTC)
    summary = json.loads((tmp_path / "one" / "api" / "v2" / "summary.json").read_bytes())
    assert summary["page"]["updated_at"] == last.strftime("%Y-%m-%dT%H:%M:%SZ")
    rss = feedparser.parse((tmp_path / "one" / "feed.xml").read_bytes())
    assert rss.feed.updated_parsed[:6] == last.timetuple()[:6]
    assert "Last updated" in (tmp_path / "one" / "index.html").read_text(encoding="utf-8")


def test_a_customers_quiet_page_and_feeds_are_not_dated_by_the_clock(tmp_path: Path) -> None:
    folder = "a/token-of-globex-0123456789/"
    data = replace(site_data([]), audiences=(AudiencePage("globex", folder, ()),))
    build_site(data, tmp_path / "one")
    build_site(replace(data, now=NOW + timedelta(days=2)), tmp_path / "two")
    for name in ("index.html", "feed.xml", "atom.xml"):
        assert (tmp_path / "one" / folder / name).read_bytes() == (tmp_path / "two" / folder / name).read_bytes(), name


def test_a_quiet_site_built_again_later_writes_the_same_bytes(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.env["GLOBEX_FEED_TOKEN"] = TOKEN
    project.write_config(AUDIENCE)
    start = datetime.now(UTC)
    clock_at(monkeypatch, start)
    assert project.cli("site", "build").exit_code == 0
    before = read_site(project.site)
    clock_at(monkeypatch, later_the_same_day(start))
    assert project.cli("site", "build").exit_code == 0
    assert read_site(project.site) == before


# 4. Calendar UIDs


def uids(root: Path, base_url: str, start: int) -> tuple[str, list[str]]:
    window = make_incident(
        "database-upgrade-2026-12-05", "Database upgrade", kind="maintenance", impact=Impact.NONE,
        start=NOW - timedelta(hours=1), components=affected(db="under_maintenance"),
        scheduled=(NOW + timedelta(hours=start), NOW + timedelta(hours=start + 2)),
        steps=[Step(Status.SCHEDULED, "We will upgrade the database.")],
    )
    build_site(site_data([window], base_url=base_url), root, pages=[window])
    calendar = Calendar.from_ical((root / CALENDAR).read_bytes())
    return str(calendar["UID"]), [str(e["UID"]) for e in calendar.events]


def test_two_pages_on_one_host_do_not_share_calendar_uids(tmp_path: Path) -> None:
    eu_calendar, eu_events = uids(tmp_path / "eu", "https://status.example.com/eu/", 24)
    us_calendar, us_events = uids(tmp_path / "us", "https://status.example.com/us/", 30)  # another window
    assert eu_calendar != us_calendar
    assert not set(eu_events) & set(us_events), (eu_events, us_events)
    assert (eu_calendar, eu_events) == (
        "calendar@status.example.com/eu", ["maintenance-database-upgrade-2026-12-05@status.example.com/eu"])


def test_a_page_at_the_root_of_its_host_keeps_its_calendar_uids(tmp_path: Path) -> None:
    calendar, events = uids(tmp_path, "https://status.example.com/", 24)
    assert (calendar, events) == (
        "calendar@status.example.com", ["maintenance-database-upgrade-2026-12-05@status.example.com"])
