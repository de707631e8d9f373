"""Review 61h: channel and guard changes of session 61 (spellings, not_deletable_here), through the CLI and fakes."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.conftest import ENGINE, Project
from tests.fakes.telegram import FakeTelegram

TG_TOKEN = "123456:tg-token-61h"
GROUP, SUPERGROUP = -5, -1001000000005


@pytest.fixture
def telegram(project: Project) -> Iterator[FakeTelegram]:
    with FakeTelegram(token=TG_TOKEN, chats={"@acmestatus": "Acme status"}, migrated={GROUP: SUPERGROUP},
                      enforce_limits=False) as fake:
        project.env["TG"] = TG_TOKEN
        yield fake


def name_the_chat(project: Project, telegram: FakeTelegram, chat: int) -> None:
    project.write_config(ENGINE + f'\n[channels.tg]\ntype = "telegram"\ntoken = "${{TG}}"\nchat_ids = [{chat}]\n'
                                  f'api_url = "{telegram.url}"\n')


def posted_in_the_group_that_migrated(project: Project, telegram: FakeTelegram) -> str:
    """An incident posted to a group that became a supergroup on the way (the post followed it), the config then
    given the supergroup's id in place of the group's, as the receipt's note tells."""
    name_the_chat(project, telegram, GROUP)
    posted = project.cli("post", "--yes", "--json", "--title", "API errors", "Errors on the API.")
    assert posted.exit_code == 0, posted.stdout
    assert "replace it in chat_ids" in posted.stdout
    name_the_chat(project, telegram, SUPERGROUP)
    return str(json.loads(posted.stdout)["incident_id"])


def test_a_withdrawal_deletes_the_posts_made_before_the_config_named_the_supergroup(project: Project,
                                                                                   telegram: FakeTelegram) -> None:
    """Left up (exit 3), 'the config has no such destination and chat now', though the post is in the chat the
    table names, follow-ups reply under it, and the bot may delete it there."""
    incident = posted_in_the_group_that_migrated(project, telegram)
    dry = project.cli("withdraw", "--dry-run", incident)
    assert dry.exit_code == 0, dry.stdout
    assert "Left up" not in dry.stdout and f"{SUPERGROUP}:1" in dry.stdout
    withdrawn = project.cli("withdraw", "--yes", incident)
    said = withdrawn.stdout + withdrawn.stderr
    assert withdrawn.exit_code == 0, said
    assert telegram.messages[SUPERGROUP] == []


def test_a_withdrawal_after_a_follow_up_in_the_supergroup_deletes_both(project: Project,
                                                                       telegram: FakeTelegram) -> None:
    """The follow-up (stored at the supergroup) was deleted, the first post (stored at the group) left up."""
    incident = posted_in_the_group_that_migrated(project, telegram)
    assert project.cli("post", "--yes", "-i", incident, "Cause found.").exit_code == 0
    first, second = telegram.messages[SUPERGROUP]
    assert second.reply_to_message_id == first.message_id
    withdrawn = project.cli("withdraw", "--yes", incident)
    assert withdrawn.exit_code == 0, withdrawn.stdout + withdrawn.stderr
    assert telegram.messages[SUPERGROUP] == []


def test_a_post_the_withdrawal_will_not_delete_is_named_in_one_sentence(project: Project,
                                                                        telegram: FakeTelegram) -> None:
    """The dry run's "Left up" line ended '...import it again..': the channel's why, then the line's own stop."""
    name_the_chat(project, telegram, GROUP)
    posted = project.cli("post", "--yes", "--json", "--title", "API errors", "Errors on the API.")
    incident = str(json.loads(posted.stdout)["incident_id"])
    dry = project.cli("withdraw", "--dry-run", incident)
    left = [line for line in dry.stdout.splitlines() if line.startswith("? ")]
    assert left and "will not delete it" in left[0], dry.stdout
    assert not left[0].endswith(".."), left[0]
