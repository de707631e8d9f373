"""A correction of one customer's detail alone (`amend --for acme`) makes no commit on the public pages branch: its tip,
its time and its sealed trailer would change for something only that customer reads (a review found a first fix that
rebuilt the site for it)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Project
from tests.test_audiences import AUDIENCES, TOKEN
from tests.test_hosts_git import commits, git
from tests.test_hosts_review16 import no_git_config, remote  # noqa: F401


def test_a_customer_only_correction_makes_no_public_commit(project: Project, remote: Path) -> None:  # noqa: F811
    project.env["ACME_FEED_TOKEN"] = TOKEN
    project.write_config(AUDIENCES.replace('components = ["api"]', 'components = ["api"]\nfeed_token = "${ACME_FEED_TOKEN}"')
                         + f'\n[publish.pages]\ntype = "git"\nremote = "{remote}"\nbranch = "gh-pages"\n')
    result = project.cli("post", "--yes", "--json", "--title", "API errors", "-C", "api", "-s", "resolved",
                         "--for", "acme", "Your circuit ACME-OLD-1 was down.", "Errors on the API, fixed.")
    assert result.exit_code == 0, result.output
    incident = json.loads(result.stdout)["incident_id"]
    before = commits(remote, "gh-pages")
    tip = git("--git-dir", str(remote), "rev-parse", "gh-pages")
    amended = project.cli("amend", "--yes", incident, "1", "Errors on the API, fixed.", "--for", "acme",
                          "Your circuit ACME-NEW-2 was down.")
    assert amended.exit_code == 0, amended.output
    after = commits(remote, "gh-pages")
    assert git("--git-dir", str(remote), "rev-parse", "gh-pages") == tip, (
        f"a new commit on the public branch for a customer-only correction: {before} -> {after}")
