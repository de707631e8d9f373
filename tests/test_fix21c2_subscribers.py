"""Fix 21c2 (review 21c, findings 3, 4 and the send side of 1): a subscribed chat's send reads the chat's
subscription as each message leaves, a withdrawal deletes the bot's posts in chats it no longer sends to, and a
send never follows a group into a supergroup the operator removed.

Driven through the real CLI (``post`` in its own process where a send must wait) against the fake Bot API.
"""

from __future__ import annotations

import json
import subprocess
import time
from contextlib import closing

import pytest

from broadcaster import subscribers
from broadcaster.subscribers import ChatKind
from tests.conftest import Project
from tests.fakes.base import Fault, Response
from tests.fakes.telegram import FakeTelegram
from tests.test_subscribers import (  # noqa: F401 - fixtures
    ACME_CHAT,
    BLOCKED,
    MESSAGE,
    NEW_GROUP,
    OLD_GROUP,
    PUBLIC_CHAT,
    bot_project,
    fake,
    invite,
    store_of,
    texts,
)

FLOOD = Response(429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 3",
                       "parameters": {"retry_after": 3}})
ACME_DETAIL = "502s"
POST = ("post", "--yes", "--title", "API errors", "-C", "api=major_outage", "--customer", "acme", MESSAGE)


def _invites(project: Project) -> dict[str, str]:
    return {"public invite": invite(project), "globex invite": invite(project, "--audience", "globex")}


def _change(project: Project, chat: int, change: str, codes: dict[str, str]) -> None:
    """What may happen to a chat while its send waits: README's ways to take it off a customer's updates.

    By a connection opened for it, or by the CLI in its own process, as the bot and the operator do: a connection
    this process kept open while another process's closed may lose its writes (SQLite's POSIX locks are per
    process, and the CLI reads the file's header here)."""
    if change == "remove":
        remove = project.process("subscribers", "remove", str(chat))
        out, err = remove.communicate(timeout=60)
        assert remove.returncode == 0, (out, err)
        return
    with closing(store_of(project)) as store:
        if change == "stop":
            subscribers.unsubscribe(store, chat)
        else:
            subscribers.redeem(store, codes[change], chat, ChatKind.GROUP)


def _finished(process: subprocess.Popen[str]) -> tuple[str, str]:
    try:
        return process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()


def _until(condition: object, process: subprocess.Popen[str], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline and process.poll() is None, _finished(process)
        time.sleep(0.02)


# -- finding 3: changed while the send waits ----------------------------------------------------------------


@pytest.mark.parametrize("change", ["public invite", "globex invite", "stop", "remove"])
def test_a_chat_changed_while_its_send_waits_out_a_429_gets_no_acme_detail(
    bot_project: Project, fake: FakeTelegram, change: str  # noqa: F811
) -> None:
    codes = _invites(bot_project)
    with closing(store_of(bot_project)) as store:
        subscribers.redeem(store, invite(bot_project, "--audience", "acme"), ACME_CHAT, ChatKind.GROUP)
    fake.fail(Fault(match="sendMessage", response=FLOOD))
    process = bot_project.process(*POST)
    # The 429 was answered (a fault's request is not in ``fake.requests``: its queue is the sign): the send waits 3 s.
    _until(lambda: not fake._faults, process)
    _change(bot_project, ACME_CHAT, change, codes)
    out, err = _finished(process)
    assert not any(ACME_DETAIL in t for t in texts(fake, ACME_CHAT)), (out, err)
    with closing(store_of(bot_project)) as store:
        (delivery,) = [d for d in store.deliveries() if d.target == str(ACME_CHAT)]
    assert delivery.state == "skipped" and "changed while this update waited" in (delivery.last_error or ""), out


def test_a_chat_changed_while_waiting_its_turn_in_a_paced_broadcast_gets_no_acme_detail(
    bot_project: Project, fake: FakeTelegram  # noqa: F811
) -> None:
    """90 chats at Telegram's 30 a second: the last ones are sent about 3 s after the run read the subscriptions."""
    codes = _invites(bot_project)
    code = invite(bot_project, "--audience", "acme")
    chats = list(range(5000, 5090))
    with closing(store_of(bot_project)) as store:
        for chat in chats:
            fake.add_chat(chat, f"chat {chat}")
            subscribers.redeem(store, code, chat, ChatKind.GROUP)
    process = bot_project.process(*POST)
    _until(lambda: fake.received("sendMessage"), process)
    changed = dict(zip(chats[-3:], ["public invite", "stop", "remove"], strict=True))
    for chat, change in changed.items():
        _change(bot_project, chat, change, codes)
    out, err = _finished(process)
    assert process.returncode == 0, (out, err)
    assert [c for c in changed if texts(fake, c)] == [], out
    assert all(ACME_DETAIL in texts(fake, c)[0] for c in chats[:10])


# -- finding 1, the send side: never into a supergroup the operator removed -----------------------------------


def test_a_send_never_follows_a_group_into_the_supergroup_the_operator_removed(
    bot_project: Project, fake: FakeTelegram  # noqa: F811
) -> None:
    """The supergroup (NEW_GROUP) was removed; the group's old id (-5) holds acme's subscription again (as an export
    from before the migration brings it back). Telegram answers -5's send "migrated to" NEW_GROUP: nothing goes there,
    and -5's subscription goes the way of the removal."""
    store = store_of(bot_project)
    acme = invite(bot_project, "--audience", "acme")
    subscribers.redeem(store, acme, OLD_GROUP, ChatKind.GROUP)  # granted before the removal, as the export's was
    subscribers.redeem(store, acme, NEW_GROUP, ChatKind.GROUP)
    assert bot_project.cli("subscribers", "remove", str(NEW_GROUP)).exit_code == 0
    result = bot_project.cli(*POST)
    assert texts(fake, NEW_GROUP) == [] and texts(fake, OLD_GROUP) == [], result.output
    assert store.subscription(str(OLD_GROUP)) is None and store.subscription(str(NEW_GROUP)) is None
    (delivery,) = [d for d in store.deliveries() if d.target in (str(OLD_GROUP), str(NEW_GROUP))]
    assert delivery.state == "skipped" and "removed from the subscribers" in (delivery.last_error or "")
    # The next post has nowhere to go for that chat.
    bot_project.cli("post", "--yes", "--title", "DB errors", "-C", "api=major_outage", "--customer", "acme", MESSAGE)
    assert texts(fake, NEW_GROUP) == []


# -- finding 4: a withdrawal deletes the bot's posts where it no longer sends ----------------------------------


def _posted(project: Project, telegram: FakeTelegram, chats: tuple[int, ...]) -> str:
    posted = project.cli("post", "--yes", "--json", *POST[2:])
    assert posted.exit_code == 0, posted.output
    assert all(len(texts(telegram, chat)) == 1 for chat in chats)
    return str(json.loads(posted.stdout)["incident_id"])


@pytest.mark.parametrize("then", ["stop", "remove", "public invite", "globex invite"])
def test_a_withdrawal_deletes_the_post_in_a_chat_that_stopped_was_removed_or_moved(
    bot_project: Project, fake: FakeTelegram, then: str  # noqa: F811
) -> None:
    codes = _invites(bot_project)
    store = store_of(bot_project)
    subscribers.subscribe(store, PUBLIC_CHAT, ChatKind.PRIVATE)
    subscribers.redeem(store, invite(bot_project, "--audience", "acme"), ACME_CHAT, ChatKind.PRIVATE)
    incident = _posted(bot_project, fake, (PUBLIC_CHAT, ACME_CHAT))
    for chat in (PUBLIC_CHAT, ACME_CHAT):
        _change(bot_project, chat, then, codes)
    result = bot_project.cli("withdraw", incident, "--yes", "--reason", "posted for the wrong customer")
    assert texts(fake, PUBLIC_CHAT) == [] and texts(fake, ACME_CHAT) == [], result.output
    assert result.exit_code == 0 and "by hand" not in result.output, result.output
    # Deleting sent no text anywhere: no "posted in error" follow-up into a chat that asked for nothing more.
    assert not fake.received("sendMessage")[2:], [r.form for r in fake.received("sendMessage")]


def test_a_withdrawal_names_the_post_in_a_chat_that_blocked_the_bot_without_a_delete_by_hand(
    bot_project: Project, fake: FakeTelegram  # noqa: F811
) -> None:
    store = store_of(bot_project)
    fake.blocked.discard(BLOCKED)
    subscribers.subscribe(store, BLOCKED, ChatKind.PRIVATE)
    subscribers.subscribe(store, PUBLIC_CHAT, ChatKind.PRIVATE)
    incident = _posted(bot_project, fake, (BLOCKED, PUBLIC_CHAT))
    fake.blocked.add(BLOCKED)
    subscribers.deactivate(store, BLOCKED, "blocked")  # as the bot hears it (my_chat_member)
    subscribers.unsubscribe(store, PUBLIC_CHAT)
    result = bot_project.cli("withdraw", incident, "--yes", "--reason", "wrong")
    assert texts(fake, PUBLIC_CHAT) == [], result.output
    assert result.exit_code == 3, result.output
    flat = " ".join(result.output.split())
    assert "blocked the bot" in flat and "cannot be deleted" in flat and "Delete it by hand" not in flat, flat
