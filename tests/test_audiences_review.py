"""Attacks on audiences (issue 15) that found something, kept as tests.

Each drives the CLI against the fake Slack, with the fixtures of ``test_audiences``.
"""

from __future__ import annotations

import pytest

from tests.conftest import Project
from tests.fakes.slack import FakeSlack
from tests.test_audiences import AUDIENCES, TOKEN, channels_toml, post, slack  # noqa: F401 - the fixture

__all__ = ["slack"]


def _with_tokens(acme: str, globex: str) -> str:
    return (AUDIENCES.replace('components = ["api"]', f'components = ["api"]\nfeed_token = "${{{acme}}}"')
            .replace('components = ["db"]', f'components = ["db"]\nfeed_token = "${{{globex}}}"'))


@pytest.mark.parametrize(("acme", "globex"), [("SHARED_TOKEN", "SHARED_TOKEN"), ("ACME_TOKEN", "GLOBEX_TOKEN")],
                         ids=["one-variable", "one-value"])
def test_two_customers_on_one_feed_token_are_refused(project: Project, slack: FakeSlack, acme: str, globex: str) -> None:
    """Attack: two audiences given the same token would share one a/<token>/ folder, and one customer would
    read the other's page (whichever was written last)."""
    project.env.update({acme: TOKEN, globex: TOKEN})
    project.write_config(_with_tokens(acme, globex) + channels_toml(slack))
    result = project.cli("post", "--yes", "--title", "API errors", "-C", "api", "-C", "db", "--for", "acme", "ACME-CIRCUIT-7",
                         "--for", "globex", "GLOBEX-LINK-9", "Errors.")
    assert result.exit_code == 2, result.stdout + result.stderr
    assert "audiences.globex.feed_token" in result.stderr and "[audiences.acme]" in result.stderr
    assert TOKEN not in result.stderr and TOKEN not in result.stdout
    assert all(not messages for messages in slack.messages.values())
    assert not (project.site / "a" / TOKEN).exists()
