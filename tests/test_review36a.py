"""Review 36a, a hostile pass over the static site (each test but the controls failed before its fix).

- An ``[audiences.ID]`` id reused for the next customer (a departed customer's table copied, its name, components
  and token changed, its id kept) handed the new customer the old one's incidents and detail, under the new name,
  on its page and feeds, and would have on its channels. The store now keeps the name each id served
  (``broadcaster/audience_names.py``).
- A file of the site replaced by a symbolic link (to a store export, say) stayed a link while its content did not
  change: a web server serving the folder followed it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from broadcaster.messages.model import Visibility

from broadcaster import subscribers
from tests.conftest import Project
from tests.fakes.base import Fault, Response
from tests.fakes.slack import FakeSlack
from tests.test_audiences import CHANNELS, SLACK_TOKEN, channels_toml
from tests.test_bot_chat import store_of

GLOBEX_TOKEN = "globex-feed-token-0123456789abcdef"
NEW_TOKEN = "globex-travel-token-0123456789abcdef"
DETAIL = "GLX-EXPORT-LATE"
GLOBEX = """
[audiences.globex]
name = "Globex Corporation"
components = ["db"]
feed_token = "${GLOBEX_FEED_TOKEN}"
"""
# The departed customer's table, copied for the next one: a new name, components and token, the same id.
REUSED = """
[audiences.globex]
name = "Globex Travel Ltd"
components = ["api"]
feed_token = "${GLOBEX_FEED_TOKEN}"
"""


def _everything_under(folder: Path) -> str:
    return "".join(p.read_text(encoding="utf-8", errors="replace") for p in folder.rglob("*") if p.is_file())


def _incidents(project: Project) -> list[str]:
    return [i["id"] for i in json.loads(project.cli("list", "--json").stdout)]


@pytest.fixture
def slack(project: Project) -> Iterator[FakeSlack]:
    with FakeSlack(token=SLACK_TOKEN, channels=CHANNELS) as fake:
        project.env.update({"SLACK_TOKEN": SLACK_TOKEN, "GLOBEX_FEED_TOKEN": GLOBEX_TOKEN})
        project.write_config(GLOBEX + _channels(fake))
        posted = project.cli("post", "--yes", "--title", "Exports late", "-C", "db", "--customer", "globex",
                             "--for", "globex", DETAIL, "Nightly exports run late.")
        assert posted.exit_code == 0, posted.output
        assert DETAIL in _everything_under(project.site / "a" / GLOBEX_TOKEN)
        yield fake


def _channels(fake: FakeSlack) -> str:
    return channels_toml(fake).replace("\n[channels.acme-slack]", "\n[channels.unused]").replace(
        'audience = "acme"', 'visibility = "internal"')


def _reused(project: Project, fake: FakeSlack, table: str = REUSED) -> None:
    project.env["GLOBEX_FEED_TOKEN"] = NEW_TOKEN
    project.write_config(table + _channels(fake))


def test_a_build_with_an_id_reused_for_another_customer_is_refused_and_builds_nothing(
        project: Project, slack: FakeSlack) -> None:
    _reused(project, slack)
    built = project.cli("site", "build")
    assert built.exit_code == 2, built.output
    assert '[audiences.globex] is named "Globex Travel Ltd"' in built.output
    assert 'renamed_from = "globex corporation"' in built.output and "Nothing was built." in built.output
    assert not (project.site / "a" / NEW_TOKEN).exists()


def test_a_post_with_an_id_reused_for_another_customer_stores_and_sends_nothing(
        project: Project, slack: FakeSlack) -> None:
    before, sent = _incidents(project), len(slack.messages)
    _reused(project, slack)
    for args in (("post", "--yes", "--title", "API slow", "-C", "api", "Slow."),
                 ("post", "--yes", "--dry-run", "--title", "API slow", "-C", "api", "Slow."),
                 ("post", "--yes", "-i", before[0], "Still late.")):
        result = project.cli(*args)
        assert result.exit_code == 2 and "Nothing was stored or sent." in result.output, result.output
    assert _incidents(project) == before and len(slack.messages) == sent
    assert not (project.site / "a" / NEW_TOKEN).exists()


def test_a_retry_with_an_id_reused_for_another_customer_sends_nothing(project: Project, slack: FakeSlack) -> None:
    slack.fail(Fault(match="chat.postMessage", response=Response(200, {"ok": False, "error": "is_archived"}),
                     when=lambda request: b"C0GLOB0001" in request.body))
    failed = project.cli("post", "--yes", "-i", _incidents(project)[0], "Still late.")
    assert failed.exit_code == 3, failed.output
    sent = len(slack.messages)
    _reused(project, slack)
    result = project.cli("retry")
    assert result.exit_code == 2 and "Nothing was sent." in result.output, result.output
    assert len(slack.messages) == sent


def test_a_renamed_customer_says_so_once_and_keeps_its_detail(project: Project, slack: FakeSlack) -> None:
    renamed = GLOBEX.replace('"Globex Corporation"', '"Globex Group"')
    project.write_config(renamed + _channels(slack))
    assert project.cli("site", "build").exit_code == 2
    project.write_config(renamed.replace("components", 'renamed_from = "Globex Corporation"\ncomponents') + _channels(slack))
    built = project.cli("site", "build")
    assert built.exit_code == 0, built.output
    page = _everything_under(project.site / "a" / GLOBEX_TOKEN)
    assert DETAIL in page and "Globex Group" in page
    project.write_config(renamed + _channels(slack))  # renamed_from taken out again: the store knows the new name
    assert project.cli("site", "build").exit_code == 0
    project.write_config(GLOBEX + _channels(slack))  # and the old name is now another customer's
    assert project.cli("site", "build").exit_code == 2


@pytest.mark.parametrize("name", ["globex corporation", "GLOBEX  Corporation", "Ｇlobex Corporation"])
def test_a_name_written_another_way_is_the_same_customer(project: Project, slack: FakeSlack, name: str) -> None:
    """Control: case, spacing and compatibility forms are no new customer (passed before the fix too)."""
    project.write_config(GLOBEX.replace("Globex Corporation", name) + _channels(slack))
    built = project.cli("site", "build")
    assert built.exit_code == 0, built.output


def test_a_wrong_renamed_from_is_named(project: Project, slack: FakeSlack) -> None:
    _reused(project, slack, REUSED.replace("components", 'renamed_from = "Globex Inc"\ncomponents'))
    built = project.cli("site", "build")
    assert built.exit_code == 2 and 'Its renamed_from ("Globex Inc") is not that name either.' in built.output


@pytest.mark.parametrize("path", ["feed.xml", f"a/{GLOBEX_TOKEN}/feed.xml", ".broadcaster-site"])
def test_a_file_replaced_by_a_link_is_a_file_again_after_the_next_build(
        project: Project, slack: FakeSlack, path: str, tmp_path: Path) -> None:
    secret = tmp_path / "export.jsonl"
    secret.write_text("STORE-EXPORT-PRIVATE\n")
    target = project.site / path
    os.unlink(target)
    os.symlink(secret, target)
    built = project.cli("site", "build")
    assert built.exit_code == 0, built.output
    assert not target.is_symlink() and target.is_file()
    assert "STORE-EXPORT-PRIVATE" not in target.read_text()
    assert secret.read_text() == "STORE-EXPORT-PRIVATE\n"


ACME = '\n[audiences.acme]\nname = "Acme Corp"\ncomponents = ["api"]\n'


def test_an_id_whose_old_customers_chats_are_subscribed_is_refused_for_another(project: Project) -> None:
    """Review 36c found the other way: chats subscribed with the departed customer's invite got the next customer's
    detail under the reused id."""
    project.write_config(ACME)
    assert project.cli("site", "build").exit_code == 0
    store = store_of(project)
    code, _ = subscribers.create_invite(store, Visibility.parse("audience:acme"), ["api"])
    subscribers.redeem(store, code, 4242, subscribers.ChatKind.PRIVATE)
    project.write_config("")  # Acme Corp leaves; its chat stays subscribed
    assert project.cli("post", "--yes", "--title", "API errors", "-C", "api", "Errors.").exit_code == 0
    project.write_config(ACME.replace("Acme Corp", "Acme Logistics GmbH"))
    result = project.cli("post", "--yes", "--title", "API down", "-C", "api", "--for", "acme", "DEPOT-DL-99", "Down.")
    assert result.exit_code == 2 and "Nothing was stored or sent." in result.output, result.output


def test_an_id_nothing_is_stored_under_is_renamed_without_a_word(project: Project) -> None:
    """A customer's name changed before anything was told to it hands nothing over (passed before the fix); once
    something is stored under the id, the old name is another customer's."""
    project.write_config(ACME)
    assert project.cli("post", "--yes", "--title", "DB slow", "-C", "db", "Slow.").exit_code == 0
    project.write_config(ACME.replace("Acme Corp", "Acme Corporation"))
    result = project.cli("post", "--yes", "--title", "API slow", "-C", "api", "--for", "acme", "CIRCUIT-7", "Slow.")
    assert result.exit_code == 0, result.output
    project.write_config(ACME)  # and now that something is stored under it, the old name is another customer
    assert project.cli("site", "build").exit_code == 2
