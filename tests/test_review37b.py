"""Review 37b, a hostile pass over review 36's fixes (each test but the controls failed before its fix).

- A postmortem's version (or a correction) changing only one customer's ``[for ID]`` text said "site skipped: its
  readers read nothing changed", exit 0, while that customer's own page kept the text replaced until the site's
  next build: the operator is now told so, and how to show it at once.
- Review 37b's other finding, a correction sent after a Matrix or Mastodon post that the service had refused, is
  held by ``tests/test_review36b.py`` (the Matrix post refused with 503).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Project

TOKEN = "acme-feed-token-0123456789abcdef"
ACME = '\n[audiences.acme]\nname = "Acme Corp"\ncomponents = ["api"]\nfeed_token = "${ACME_FEED_TOKEN}"\n'
BEHIND = "acme's own page and feeds (a/<token>/) show this from the site's next build"


@pytest.fixture
def resolved(project: Project) -> str:
    project.env["ACME_FEED_TOKEN"] = TOKEN
    project.write_config(ACME)
    posted = project.cli("post", "--yes", "--json", "--title", "Queue stall", "-C", "api", "--for", "acme",
                         "Your queue ACM-Q1 stalled.", "Queues stalled.")
    incident = json.loads(posted.stdout)["incident_id"]
    assert project.cli("resolve", "--yes", incident, "Fixed.").exit_code == 0
    return str(incident)


def _postmortem(project: Project, incident: str, tmp_path: Path, detail: str) -> str:
    text = tmp_path / "pm.md"
    text.write_text(f"# Summary\n\nQueues stalled for an hour. [for acme]Your queue {detail} was drained.[/for]\n")
    result = project.cli("postmortem", "--yes", incident, "--file", str(text))
    assert result.exit_code == 0, result.output
    return result.output


def test_a_version_for_one_customer_says_its_page_is_behind(project: Project, resolved: str, tmp_path: Path) -> None:
    assert BEHIND not in _postmortem(project, resolved, tmp_path, "ACM-S1")
    said = _postmortem(project, resolved, tmp_path, "ACM-S2")
    assert BEHIND in said and "`broadcaster site build`" in said, said


def test_a_correction_of_one_customers_detail_says_its_page_is_behind(project: Project, resolved: str) -> None:
    amended = project.cli("amend", "--yes", "--json", resolved, "1", "Queues stalled.", "--for", "acme",
                          "Your queue ACM-Q2 stalled.")
    assert amended.exit_code == 0, amended.output
    assert any(BEHIND in note for note in json.loads(amended.stdout)["notes"]), amended.stdout


def test_a_correction_the_public_reads_says_nothing_of_pages_behind(project: Project, resolved: str) -> None:
    """Control: the site is rebuilt, every page with it (passed before the fix too)."""
    amended = project.cli("amend", "--yes", resolved, "1", "Queues stalled in one region.")
    assert amended.exit_code == 0 and BEHIND not in amended.output, amended.output
