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

from collections.abc import Iterator

import pytest
from broadcaster.messages.model import Visibility

from broadcaster import subscribers
from tests.bot_helpers import AUDIENCES, TOKEN, bot_running
from tests.fakes.base import Fault
from tests.fakes.telegram_bot import FakeTelegramBot
from tests.test_bot_chat import ADMIN, store_of


def words_not_subscribed() -> str:
    from broadcaster.messages import bot as words

    return words.not_subscribed()

OLD, NEW = -4001, -1004001


@pytest.fixture
def fake() -> Iterator[FakeTelegramBot]:
    with FakeTelegramBot(token=TOKEN, chats={OLD: "Customer ops", NEW: {"title": "Customer ops", "type": "supergroup"}},
                         members={(OLD, ADMIN): "creator", (NEW, ADMIN): "creator"},
                         enforce_limits=True) as server:
        yield server


def test_stop_sent_just_before_the_group_became_a_supergroup_is_not_lost(project, fake) -> None:
    project.write_config(AUDIENCES)
    store = store_of(project)
    code, _ = subscribers.create_invite(store, Visibility.parse("audience:acme"))
    subscribers.redeem(store, code, OLD, subscribers.ChatKind.GROUP)
    # The admin sends /stop, then converts the group: both updates wait in one getUpdates batch.
    fake.fail(Fault(match="getChatMember", delay=0.5))
    fake.say(OLD, "/stop", user=ADMIN)
    fake.push("message", {"message_id": 77, "date": 1, "chat": fake.chat(OLD).as_json(),
                          "from": fake.user(ADMIN), "migrate_to_chat_id": NEW})
    with bot_running(project.config, fake):
        assert fake.wait_for(lambda: len(fake.texts(OLD)) + len(fake.texts(NEW)) >= 1)
        fake.wait_for(lambda: False, 1)
    old, new = store.subscription(str(OLD)), store.subscription(str(NEW))
    live = [s for s in (old, new) if s is not None and s.active]
    assert not live, f"the admin's /stop was answered {fake.texts(OLD)} and the group is still subscribed: {live}"
    assert fake.texts(OLD)[-1] != words_not_subscribed()


def test_stop_then_migration_without_any_delay(project, fake) -> None:
    """The same with the fake's loopback getChatMember as it is (no injected delay)."""
    project.write_config(AUDIENCES)
    store = store_of(project)
    code, _ = subscribers.create_invite(store, Visibility.parse("audience:acme"))
    subscribers.redeem(store, code, OLD, subscribers.ChatKind.GROUP)
    fake.say(OLD, "/stop", user=ADMIN)
    fake.push("message", {"message_id": 77, "date": 1, "chat": fake.chat(OLD).as_json(),
                          "from": fake.user(ADMIN), "migrate_to_chat_id": NEW})
    with bot_running(project.config, fake):
        assert fake.wait_for(lambda: len(fake.texts(OLD)) + len(fake.texts(NEW)) >= 1)
        fake.wait_for(lambda: False, 1)
    old, new = store.subscription(str(OLD)), store.subscription(str(NEW))
    live = [s for s in (old, new) if s is not None and s.active]
    assert not live, f"the admin's /stop was answered {fake.texts(OLD)} and the group is still subscribed: {live}"


def test_a_public_invite_opened_just_before_the_migration_leaves_the_supergroup_on_acme(project, fake) -> None:
    """The operator sends the group a public invite to take it off acme's detail (it now holds outsiders); its admin
    opens it and then converts the group. The supergroup should hear public updates only."""
    project.write_config(AUDIENCES)
    store = store_of(project)
    acme, _ = subscribers.create_invite(store, Visibility.parse("audience:acme"))
    public, _ = subscribers.create_invite(store, Visibility.parse("public"))
    subscribers.redeem(store, acme, OLD, subscribers.ChatKind.GROUP)
    fake.say(OLD, f"/start {public}", user=ADMIN)
    fake.push("message", {"message_id": 77, "date": 1, "chat": fake.chat(OLD).as_json(),
                          "from": fake.user(ADMIN), "migrate_to_chat_id": NEW})
    with bot_running(project.config, fake):
        assert fake.wait_for(lambda: len(fake.texts(OLD)) + len(fake.texts(NEW)) >= 1)
        fake.wait_for(lambda: False, 1)
    subs = {s.chat_id: (str(s.visibility), s.active) for s in store.subscriptions()}
    assert subs.get(str(NEW)) == ("public", True), (
        f"told {fake.texts(OLD)}, yet the supergroup keeps acme's detail: {subs}")


def test_after_that_a_post_sends_acmes_detail_to_the_supergroup_told_it_is_public(project, fake) -> None:
    from tests.conftest import ENGINE
    from tests.test_subscribers import bot_table

    project.write_config(AUDIENCES)
    store = store_of(project)
    acme, _ = subscribers.create_invite(store, Visibility.parse("audience:acme"))
    public, _ = subscribers.create_invite(store, Visibility.parse("public"))
    subscribers.redeem(store, acme, OLD, subscribers.ChatKind.GROUP)
    fake.say(OLD, f"/start {public}", user=ADMIN)
    fake.push("message", {"message_id": 77, "date": 1, "chat": fake.chat(OLD).as_json(),
                          "from": fake.user(ADMIN), "migrate_to_chat_id": NEW})
    with bot_running(project.config, fake):
        assert fake.wait_for(lambda: len(fake.texts(OLD)) >= 1)
        fake.wait_for(lambda: False, 1)
    told = fake.texts(OLD)
    fake.migrated[OLD] = NEW  # Telegram: the old group is gone, sends there answer with its new id
    project.write_config(ENGINE + AUDIENCES + bot_table(fake, "status_bot"))
    project.env["BOT_TOKEN"] = TOKEN
    result = project.cli("post", "--yes", "--title", "API errors", "-C", "api=major_outage", "--for", "acme",
                         "ACME-CIRCUIT-SECRET-77", "Errors on the API.")
    assert result.exit_code == 0, result.output
    assert "public" in told[-1] and fake.texts(NEW), (told, result.output)
    assert not any("ACME-CIRCUIT-SECRET-77" in t for t in fake.texts(NEW)), (told, fake.texts(NEW))


def test_stop_in_the_new_supergroup_right_after_the_conversion_is_not_lost(project, fake) -> None:
    from broadcaster.messages import bot as words

    project.write_config(AUDIENCES)
    store = store_of(project)
    code, _ = subscribers.create_invite(store, Visibility.parse("audience:acme"))
    subscribers.redeem(store, code, OLD, subscribers.ChatKind.GROUP)
    # One batch: two commands in the old group (their paced replies hold its turn about a second), the conversion,
    # then the administrator's /stop in the supergroup.
    fake.say(OLD, "/help", user=ADMIN)
    fake.say(OLD, "/help", user=ADMIN)
    fake.push("message", {"message_id": 77, "date": 1, "chat": fake.chat(OLD).as_json(),
                          "from": fake.user(ADMIN), "migrate_to_chat_id": NEW})
    fake.say(NEW, "/stop", user=ADMIN)
    with bot_running(project.config, fake):
        assert fake.wait_for(lambda: len(fake.texts(NEW)) >= 1 and len(fake.texts(OLD)) >= 2, 15)
        fake.wait_for(lambda: False, 1.5)
    subs = {s.chat_id: (str(s.visibility), s.active) for s in store.subscriptions()}
    assert fake.texts(NEW) == [words.unsubscribed()], fake.texts(NEW)
    assert subs.get(str(NEW)) == ("audience:acme", False), subs
