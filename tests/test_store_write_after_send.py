"""The store refuses a write after a service has answered (attack from a review, kept as tests).

A full disk, or the state file locked by another process for too long, while a post was out: the service
took the post, recording its answer failed, and the command ended with "unexpected error ... Run again"
(exit 1). The answers were lost, the next command showed every delivery unknown, and running it again
posted everything twice. Now each outcome is told as it was (the post's id), with the command that
records it once the store works, and the exit code is 3.

The store's refusal here is real: a trigger that SQLite runs inside broadcaster's own write makes it fail,
added while the fake service holds its answer, so the post has been taken and the claim was committed.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Iterator

import pytest

from tests.conftest import ENGINE, Project
from tests.fakes.base import Fault
from tests.fakes.slack import FakeSlack
from tests.input_helpers import STATE

TOKEN = "xoxb-store-write-test"
CHANNEL = "C0STATUS01"
REFUSE = ("CREATE TRIGGER refuse_results BEFORE UPDATE OF state ON deliveries WHEN NEW.state <> 'sending' "
          "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")


@pytest.fixture
def slack(project: Project) -> Iterator[FakeSlack]:
    with FakeSlack(token=TOKEN, channels={CHANNEL: "status"}) as fake:
        project.env["SLACK_TOKEN"] = TOKEN
        project.write_config(ENGINE + f'\n[channels.status]\ntype = "slack"\ntoken = "${{SLACK_TOKEN}}"\n'
                                      f'channel = "{CHANNEL}"\napi_url = "{fake.api_url}"\n')
        yield fake


def _post_while_the_store_refuses(project: Project, slack: FakeSlack, *args: str) -> tuple[int, str]:
    slack.fail(Fault(match="chat.postMessage", hold=1.0))  # taken at once, answered a second later
    process = project.process("post", "--yes", "--only", "status", *args)
    until = time.monotonic() + 30
    while not slack.received("chat.postMessage") and time.monotonic() < until:
        time.sleep(0.02)
    with sqlite3.connect(project.root / STATE) as db:
        db.execute(REFUSE)
    output, errors = process.communicate(timeout=60)
    with sqlite3.connect(project.root / STATE) as db:
        db.execute("DROP TRIGGER refuse_results")
    return process.returncode, output + errors


def test_a_post_whose_result_cannot_be_stored_says_it_was_posted_and_how_to_record_it(
    project: Project, slack: FakeSlack
) -> None:
    code, said = _post_while_the_store_refuses(project, slack, "--title", "API errors", "-C", "api", "Errors.")

    assert code == 3, said
    assert "unexpected error" not in said and "Traceback" not in said
    [message] = slack.top_level(CHANNEL)
    assert "POSTED at status" in said and "Do not post it again" in said and "database or disk is full" in said
    command = re.search(r"`(broadcaster retry \S+ --mark-unknown-sent --remote-id status=\S+)`", said)
    assert command is not None, said
    assert message.ts in command.group(1)

    recorded = project.cli(*command.group(1).split()[1:])  # as printed, once the store works

    assert recorded.exit_code == 0, recorded.output
    incident = json.loads(project.cli("list", "--json").stdout)[0]["id"]
    [delivery] = [d for d in json.loads(project.cli("show", incident, "--json").stdout)["deliveries"]
                  if d["destination"] == "status"]
    assert delivery["state"] == "sent" and message.ts in delivery["remote_id"]
    followed = project.cli("post", "--yes", "-i", incident, "Cause found.")
    assert followed.exit_code == 0, followed.output
    assert len(slack.top_level(CHANNEL)) == 1  # the follow-up is a reply in the thread, nothing posted twice
    assert len(slack.replies(CHANNEL, message.ts)) == 1


def test_a_claim_the_store_refuses_sends_nothing_and_a_plain_retry_sends_it(project: Project, slack: FakeSlack) -> None:
    first = project.cli("post", "--yes", "--json", "--title", "API errors", "-C", "api", "Errors.")
    incident = json.loads(first.stdout)["incident_id"]
    with sqlite3.connect(project.root / STATE) as db:
        db.execute("CREATE TRIGGER refuse_claims BEFORE UPDATE OF state ON deliveries WHEN NEW.state = 'sending' "
                   "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")
    blocked = project.cli("post", "--yes", "-i", incident, "Cause found.")
    with sqlite3.connect(project.root / STATE) as db:
        db.execute("DROP TRIGGER refuse_claims")

    assert blocked.exit_code == 3, blocked.output
    assert "not sent: the store could not be written" in blocked.output and "unexpected error" not in blocked.output
    [first_post] = slack.top_level(CHANNEL)
    assert slack.replies(CHANNEL, first_post.ts) == []
    assert project.cli("retry", incident).exit_code == 0
    assert len(slack.replies(CHANNEL, first_post.ts)) == 1 and len(slack.top_level(CHANNEL)) == 1


def test_a_post_in_parts_whose_parts_cannot_be_stored_is_never_posted_again_from_part_one(project: Project) -> None:
    """A review: a Telegram post in two parts, the store refusing to record its parts: the part posted was
    reported "nothing was sent there", and the advised retry posted it again."""
    from tests.fakes.telegram import FakeTelegram

    token, chat = "123456:store-parts-test", -1001234
    with FakeTelegram(token=token, chats={chat: "status"}, enforce_limits=False) as fake:
        project.env["TG_TOKEN"] = token
        project.write_config(ENGINE + f'\n[channels.status]\ntype = "telegram"\ntoken = "${{TG_TOKEN}}"\n'
                                      f'chat_ids = [{chat}]\napi_url = "{fake.url}"\n')
        first = project.cli("post", "--yes", "--json", "--only", "status", "--title", "API errors", "-C", "api", "First.")
        incident = json.loads(first.stdout)["incident_id"]
        with sqlite3.connect(project.root / STATE) as db:
            db.execute("CREATE TRIGGER refuse_parts BEFORE UPDATE OF parts ON deliveries "
                       "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")
        long = " ".join(f"Sentence {n} says the queue is slow and retries pile up." for n in range(90))[:4990]
        posted = project.cli("post", "--yes", "--only", "status", "-i", incident, long)
        with sqlite3.connect(project.root / STATE) as db:
            db.execute("DROP TRIGGER refuse_parts")
        sent = len(fake.messages[chat])

        assert posted.exit_code == 3, posted.output
        assert "nothing was sent" not in posted.output and "POSTED at status" in posted.output, posted.output
        assert sent == 3  # the first update, and both parts of this one
        assert project.cli("retry", incident).exit_code in (0, 3)
        assert len(fake.messages[chat]) == sent  # nothing posted again
