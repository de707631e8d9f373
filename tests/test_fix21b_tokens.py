"""Review 21b, finding 1: a customer's page path (its ``feed_token``) never serves another customer.

Acme leaves; the next customer's table is written from acme's and keeps ``feed_token = "${ACME_FEED_TOKEN}"``. Two
customers on one token at once was refused; one after the other wrote globex's page, its detail included, into the
``a/<token>/`` folder acme had bookmarked. The store remembers (by a keyed digest, never the token) which customer
each token served, and a post that would build the site, or a build, is refused while a token is another's.
"""

from __future__ import annotations

import json
import re

from tests.conftest import Project
from tests.fakes.slack import FakeSlack
from tests.test_audiences import CHANNELS, SLACK_TOKEN, channels_toml

ACME_TOKEN = "acme-feed-token-0123456789abcdef"
ACME_NEW_TOKEN = "acme-rotated-token-0123456789abcdef"
GLOBEX_TOKEN = "globex-feed-token-0123456789abcdef"
BOTH = """
[audiences.acme]
name = "Acme Corp"
components = ["api"]
feed_token = "${ACME_FEED_TOKEN}"

[audiences.globex]
name = "Globex Industries"
components = ["db"]
feed_token = "${GLOBEX_FEED_TOKEN}"
"""


def _page(project: Project, token: str) -> str:
    folder = project.site / "a" / token
    return "".join(p.read_text(encoding="utf-8") for p in folder.glob("*.*")) if folder.is_dir() else ""


def _incidents(project: Project) -> list[str]:
    return [i["id"] for i in json.loads(project.cli("list", "--json").stdout)]


def _started(project: Project, slack: FakeSlack) -> None:
    project.env.update({"SLACK_TOKEN": SLACK_TOKEN, "ACME_FEED_TOKEN": ACME_TOKEN, "GLOBEX_FEED_TOKEN": GLOBEX_TOKEN})
    project.write_config(BOTH + channels_toml(slack))
    for args in (("--title", "API errors", "-C", "api", "--for", "acme", "ACME-CIRCUIT-7", "Errors on the API."),
                 ("--title", "DB slow", "-C", "db", "--for", "globex", "GLOBEX-LINK-9", "The database is slow.")):
        result = project.cli("post", "--yes", "--json", *args)
        assert result.exit_code == 0, result.output
    assert "ACME-CIRCUIT-7" in _page(project, ACME_TOKEN) and "GLOBEX-LINK-9" in _page(project, GLOBEX_TOKEN)


def _globex_on(slack: FakeSlack, variable: str) -> str:
    """acme's table gone (and its channel), globex's token read from ``variable``."""
    globex = f'\n[audiences.globex]\nname = "Globex Industries"\ncomponents = ["db"]\nfeed_token = "${{{variable}}}"\n'
    return globex + re.sub(r"\n\[channels\.acme-slack\][^\[]*", "\n", channels_toml(slack))


def test_a_token_that_served_one_customer_is_refused_for_another_and_nothing_is_built(project: Project) -> None:
    with FakeSlack(token=SLACK_TOKEN, channels=CHANNELS) as slack:
        _started(project, slack)
        project.write_config(_globex_on(slack, "ACME_FEED_TOKEN"))
        built = project.cli("site", "build")
        assert built.exit_code == 2, built.output
        assert "[audiences.globex] feed_token (${ACME_FEED_TOKEN}) is the page path that was [audiences.acme]'s" in built.output
        assert ACME_TOKEN not in built.output
        assert "GLOBEX-LINK-9" not in _page(project, ACME_TOKEN)


def test_a_post_that_would_build_on_another_customers_token_stores_and_sends_nothing(project: Project) -> None:
    with FakeSlack(token=SLACK_TOKEN, channels=CHANNELS) as slack:
        _started(project, slack)
        before, sent = _incidents(project), len(slack.messages)
        project.write_config(_globex_on(slack, "ACME_FEED_TOKEN"))
        result = project.cli("post", "--yes", "--title", "DB down", "-C", "db", "--for", "globex", "GLOBEX-LINK-10",
                             "The database is down.")
        assert result.exit_code == 2, result.output
        assert "Nothing was stored or sent." in result.output
        assert _incidents(project) == before and len(slack.messages) == sent
        assert "GLOBEX-LINK-10" not in _page(project, ACME_TOKEN)


def test_a_rotated_token_retires_the_old_one_which_no_other_customer_may_take(project: Project) -> None:
    with FakeSlack(token=SLACK_TOKEN, channels=CHANNELS) as slack:
        _started(project, slack)
        project.env["ACME_FEED_TOKEN"] = ACME_NEW_TOKEN  # acme's token changed: its own, allowed
        assert project.cli("site", "build").exit_code == 0
        assert "ACME-CIRCUIT-7" in _page(project, ACME_NEW_TOKEN) and not _page(project, ACME_TOKEN)
        project.env["GLOBEX_FEED_TOKEN"] = ACME_TOKEN  # the old one, still bookmarked by acme's readers
        built = project.cli("site", "build")
        assert built.exit_code == 2, built.output
        assert "was [audiences.acme]'s" in built.output
        assert not _page(project, ACME_TOKEN)


def test_the_state_file_keeps_no_token_only_a_keyed_digest(project: Project) -> None:
    with FakeSlack(token=SLACK_TOKEN, channels=CHANNELS) as slack:
        _started(project, slack)
    for state in project.root.rglob("*.db*"):
        data = state.read_bytes()
        assert ACME_TOKEN.encode() not in data and GLOBEX_TOKEN.encode() not in data, state
