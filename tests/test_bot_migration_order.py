"""A group's last command and its becoming a supergroup, in one batch of updates (found by a review, 27bot).

The bot handles up to 64 updates at once; a chat's commands wait their turn (``Pacer.handling``), but the
migration did not: while a group administrator's ``/stop`` (or a public invite meant to take the group off a
customer's detail) waited on its ``getChatMember`` check, the migration moved the subscription to the supergroup's
id, and the command acted on the id the group had left. ``/stop`` was answered "not subscribed" and the supergroup
stayed on acme; the invite was answered "public updates" and written at the dead id, and the next post sent
acme's detail into the supergroup. Now the migration (and the bot's removal) takes the chat's turn after the
commands before it (``Pacer.in_order``). Each test failed on the code before, with and without the injected delay.
Its first version waited for the old group's turn alone, and a review of it (27rv) found the supergroup's own
``/stop``, sent right after the conversion, answered "not subscribed" while the migration waited: it now takes the
supergroup's turn first, as it arrives.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

import pytest
from broadcaster.messages import bot as words
from broadcaster.messages.model import Visibility

from broadcaster import subscribers
from broadcaster.store import Store
from tests.bot_helpers import AUDIENCES, TOKEN, bot_running
from tests.conftest import ENGINE, Project
from tests.fakes.base import Fault
from tests.fakes.telegram_bot import FakeTelegramBot
from tests.test_bot_chat import ADMIN, store_of
from tests.test_subscribers import bot_table

OLD, NEW = -4001, -1004001


@pytest.fixture
def fake() -> Iterator[FakeTelegramBot]:
    with FakeTelegramBot(token=TOKEN, chats={OLD: "Customer ops", NEW: {"title": "Customer ops", "type": "supergroup"}},
                         members={(OLD, ADMIN): "creator", (NEW, ADMIN): "creator"},
                         enforce_limits=True) as server:
        yield server


def _on_acme(project: Project) -> Store:
    """The group, subscribed to acme's detail."""
    project.write_config(AUDIENCES)
    store = store_of(project)
    code, _ = subscribers.create_invite(store, Visibility.parse("audience:acme"))
    subscribers.redeem(store, code, OLD, subscribers.ChatKind.GROUP)
    return store


def _converted(project: Project, fake: FakeTelegramBot, before: Sequence[str], after: Sequence[str] = ()) -> None:
    """In one batch of updates: the administrator's commands ``before`` in the group, its conversion to a
    supergroup, then ``after`` in the supergroup; the bot handles them, and is stopped."""
    for command in before:
        fake.say(OLD, command, user=ADMIN)
    fake.push("message", {"message_id": 77, "date": 1, "chat": fake.chat(OLD).as_json(),
                          "from": fake.user(ADMIN), "migrate_to_chat_id": NEW})
    for command in after:
        fake.say(NEW, command, user=ADMIN)
    with bot_running(project.config, fake):
        assert fake.wait_for(lambda: len(fake.texts(OLD)) >= len(before) and len(fake.texts(NEW)) >= len(after), 15)
        fake.wait_for(lambda: False, 1.5)


def _subscribed(store: Store) -> dict[str, tuple[str, bool]]:
    return {s.chat_id: (str(s.visibility), s.active) for s in store.subscriptions()}


@pytest.mark.parametrize("slow_check", [True, False], ids=["getChatMember-slow", "loopback"])
def test_stop_sent_just_before_the_group_became_a_supergroup_is_not_lost(
    project: Project, fake: FakeTelegramBot, slow_check: bool,
) -> None:
    store = _on_acme(project)
    if slow_check:
        fake.fail(Fault(match="getChatMember", delay=0.5))
    _converted(project, fake, ["/stop"])
    assert fake.texts(OLD) == [words.unsubscribed()], fake.texts(OLD)
    assert not any(active for _, active in _subscribed(store).values()), _subscribed(store)


def test_a_public_invite_opened_just_before_the_migration_takes_the_supergroup_off_acme(
    project: Project, fake: FakeTelegramBot,
) -> None:
    """The operator sends the group a public invite to take it off acme's detail (it now holds outsiders); its
    administrator opens it, then converts the group. The supergroup hears public updates only, as it was told."""
    store = _on_acme(project)
    public, _ = subscribers.create_invite(store, Visibility.parse("public"))
    _converted(project, fake, [f"/start {public}"])
    assert "public" in fake.texts(OLD)[-1], fake.texts(OLD)
    assert _subscribed(store).get(str(NEW)) == ("public", True), _subscribed(store)
    fake.migrated[OLD] = NEW  # Telegram: the old group is gone, sends there answer with its new id
    project.write_config(ENGINE + AUDIENCES + bot_table(fake, "status_bot"))
    project.env["BOT_TOKEN"] = TOKEN
    result = project.cli("post", "--yes", "--title", "API errors", "-C", "api=major_outage", "--for", "acme",
                         "ACME-CIRCUIT-SECRET-77", "Errors on the API.")
    assert result.exit_code == 0, result.output
    assert fake.texts(NEW) and not any("ACME-CIRCUIT-SECRET-77" in t for t in fake.texts(NEW)), fake.texts(NEW)


def test_stop_in_the_new_supergroup_right_after_the_conversion_is_not_lost(
    project: Project, fake: FakeTelegramBot,
) -> None:
    """Two commands in the old group (their paced replies hold its turn about a second), the conversion, then the
    administrator's /stop in the supergroup."""
    store = _on_acme(project)
    _converted(project, fake, ["/help", "/help"], ["/stop"])
    assert fake.texts(NEW) == [words.unsubscribed()], fake.texts(NEW)
    assert _subscribed(store).get(str(NEW)) == ("audience:acme", False), _subscribed(store)


def test_two_migrations_crossing_do_not_hold_the_chats_for_ever(project: Project) -> None:
    """Never sent by Telegram, but a fake or a proxy might (review 27rx): G1 -> G2 and G2 -> G1, each chat with a
    slow command in hand. Taking the new chat's turn then the old's, they waited on each other for ever; the two
    turns are taken lowest id first."""
    g1, g2 = -4101, -4102
    with FakeTelegramBot(token=TOKEN, chats={g1: "one", g2: "two"},
                         members={(g1, ADMIN): "creator", (g2, ADMIN): "creator"}) as fake:
        project.write_config(AUDIENCES)
        fake.fail(Fault(match="getChatMember", delay=1.0))
        fake.say(g1, "/stop", user=ADMIN)
        fake.say(g2, "/stop", user=ADMIN)
        for old, new, message_id in ((g1, g2, 81), (g2, g1, 82)):
            fake.push("message", {"message_id": message_id, "date": 1, "chat": fake.chat(old).as_json(),
                                  "from": fake.user(ADMIN), "migrate_to_chat_id": new})
        fake.say(g1, "/help", user=ADMIN)
        fake.say(g2, "/help", user=ADMIN)
        with bot_running(project.config, fake):
            assert fake.wait_for(lambda: len(fake.texts(g1)) >= 2 and len(fake.texts(g2)) >= 2, 12), (
                fake.texts(g1), fake.texts(g2))


SECRET = "ACME-CIRCUIT-SECRET-77"


def _on_acme_with_a_bot(project: Project, fake: FakeTelegramBot) -> None:
    project.write_config(ENGINE + AUDIENCES + bot_table(fake, "status_bot"))
    project.env["BOT_TOKEN"] = TOKEN
    store = store_of(project)
    code, _ = subscribers.create_invite(store, Visibility.parse("audience:acme"))
    subscribers.redeem(store, code, OLD, subscribers.ChatKind.GROUP)


def _said_then_converted(fake: FakeTelegramBot, command: str) -> None:
    fake.say(OLD, command, user=ADMIN)
    fake.push("message", {"message_id": 77, "date": 1, "chat": fake.chat(OLD).as_json(),
                          "from": fake.user(ADMIN), "migrate_to_chat_id": NEW})


def _post(project: Project, *args: str) -> None:
    result = project.cli("post", "--yes", "--title", "API errors", *args)
    assert result.exit_code == 0, result.output


def _acme_detail_in_the_supergroup(project: Project, fake: FakeTelegramBot) -> tuple[bool, object]:
    _post(project, "-C", "api=major_outage", "--for", "acme", SECRET, "Errors on the API.")
    subs = {s.chat_id: (str(s.visibility), s.active) for s in store_of(project).subscriptions()}
    return any(SECRET in t for t in fake.texts(NEW)), (subs, fake.texts(OLD), fake.texts(NEW))


def test_stop_read_after_the_conversion(project: Project, fake: FakeTelegramBot) -> None:
    """Found by a review (28b): the bot read a group's /stop after the group became a supergroup (it was restarting):
    the administrator check on the dead id failed, the /stop was dropped, and the migration carried acme's
    subscription to the supergroup."""
    _on_acme_with_a_bot(project, fake)
    _said_then_converted(fake, "/stop")  # while the bot restarts: the updates wait at Telegram
    fake.migrated[OLD] = NEW  # the group is gone: its methods answer with the supergroup's id
    with bot_running(project.config, fake):
        fake.wait_for(lambda: False, 3)
    leaked, seen = _acme_detail_in_the_supergroup(project, fake)
    assert not leaked, seen


def test_public_invite_read_after_the_conversion(project: Project, fake: FakeTelegramBot) -> None:
    """The same for a public invite meant to take the group off acme (review 28b)."""
    _on_acme_with_a_bot(project, fake)
    public, _ = subscribers.create_invite(store_of(project), Visibility.parse("public"))
    _said_then_converted(fake, f"/start {public}")
    fake.migrated[OLD] = NEW
    with bot_running(project.config, fake):
        fake.wait_for(lambda: False, 3)
    leaked, seen = _acme_detail_in_the_supergroup(project, fake)
    assert not leaked, seen


def test_stop_checked_before_the_conversion_while_a_post_follows_the_migration(
    project: Project, fake: FakeTelegramBot,
) -> None:
    """Found by a review (28b): a post in another process met the migration while the /stop's check was on its way,
    and moved the subscription; the /stop then acted on the dead id and stopped nothing."""
    _on_acme_with_a_bot(project, fake)
    fake.fail(Fault(match="getChatMember", hold=6.0))  # served at once (before the conversion), answered late
    _said_then_converted(fake, "/stop")
    with bot_running(project.config, fake):
        time.sleep(1.0)  # the /stop's check was served
        fake.migrated[OLD] = NEW
        _post(project, "-C", "api=degraded_performance", "Slow.")  # meets the migration, moves the subscription
        fake.wait_for(lambda: False, 7)
    leaked, seen = _acme_detail_in_the_supergroup(project, fake)
    assert not leaked, seen
