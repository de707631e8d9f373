"""The fallback recipe the program prints goes on to the page (review 18b; each test failed before its fix)."""

from __future__ import annotations

import json

from tests.conftest import Project

UNREACHABLE = '\n[store]\nurl = "postgresql://oncall@127.0.0.1:1/broadcaster?connect_timeout=1"\n'


def test_the_unreachable_database_advice_ends_with_site_publish(project: Project) -> None:
    """The error for an unreachable team database tells the operator to post to `--store fallback.db`, then
    "when the database is back, move it over with `... store export fallback.jsonl` and `broadcaster store import
    fallback.jsonl`" and stops there. The README's recipe goes on with `broadcaster retry` and `broadcaster site
    publish` ("the page again, from the whole team store"): the fallback's post published a page holding the
    fallback's incidents alone, and following the error's advice leaves every other open incident off the page."""
    project.write_config(UNREACHABLE)
    result = project.cli("list")
    assert result.exit_code == 1 and "fallback.db" in result.stderr
    assert "site publish" in result.stderr, result.stderr


def test_importing_a_fallback_says_the_page_needs_publishing(project: Project) -> None:
    """The import of a fallback's export is the moment the team store is whole again, but it says nothing of the
    page, which still shows the fallback's incidents alone (the fallback post printed its note an hour earlier)."""
    assert project.cli("post", "--yes", "--title", "API errors", "Investigating.").exit_code == 0
    fallback = str(project.root / "fallback.db")
    assert project.cli("--store", fallback, "post", "--yes", "--title", "Checkout down", "Investigating.").exit_code == 0
    index = (project.site / "index.html").read_text()
    assert "Checkout down" in index and "API errors" not in index  # as documented: the fallback's page
    export = str(project.root / "fallback.jsonl")
    assert project.cli("--store", fallback, "store", "export", export).exit_code == 0
    imported = project.cli("store", "import", export)
    assert imported.exit_code == 0
    index = (project.site / "index.html").read_text()
    assert "API errors" in index or "site publish" in imported.stdout + imported.stderr, imported.stdout
    assert json.loads(project.cli("list", "--json").stdout)
