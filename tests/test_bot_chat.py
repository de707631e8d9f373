"""The bot's commands (issue 19), driven through real python-telegram-bot against the fake Bot API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from broadcaster.messages.model import Visibility

from broadcaster import config_loader, subscribers
from broadcaster.store import Store, open_store, store_location
from tests.bot_helpers import AUDIENCES, TOKEN, BotThread, bot_running
from tests.conftest import Project
from tests.fakes.telegram_bot import FakeTelegramBot

ANN = 4242  # a private chat: its id is its user's
GROUP = -1001234567890
ADMIN, MEMBER = 51, 52


@pytest.fixture
def fake() -> Iterator[FakeTelegramBot]:
    with FakeTelegramBot(token=TOKEN, chats={GROUP: "Ops"}, members={(GROUP, ADMIN): "administrator"},
                         enforce_limits=True) as server:
        yield server


@pytest.fixture
def bot(project: Project, fake: FakeTelegramBot) -> Iterator[BotThread]:
    project.write_config(AUDIENCES)
    with bot_running(project.config, fake) as thread:
        yield thread


def store_of(project: Project) -> Store:
    return open_store(store_location(config_loader.load(project.config), None))


def answered(fake: FakeTelegramBot, chat: int, count: int = 1) -> list[str]:
    assert fake.wait_for(lambda: len(fake.texts(chat)) >= count), fake.texts(chat)
    return fake.texts(chat)


def test_start_subscribes_a_private_chat_to_public_updates(project: Project, fake: FakeTelegramBot,
                                                           bot: BotThread) -> None:
    fake.say(ANN, "/start")
    assert "public status updates of Acme status" in answered(fake, ANN)[0]
    store = store_of(project)
    sub = store.subscription(str(ANN))
    assert sub is not None and sub.active and sub.visibility == Visibility.parse("public")
    assert bot.said and "@status_bot" in bot.said[0]


def test_an_invite_gives_its_audience_and_a_bad_one_is_refused(project: Project, fake: FakeTelegramBot,
                                                               bot: BotThread) -> None:
    store = store_of(project)
    code, _ = subscribers.create_invite(store, Visibility.parse("audience:acme"), ["api"], uses=1)
    fake.say(ANN, f"/start {code}")
    assert "for Acme Corp" in answered(fake, ANN)[0]
    fake.say(ANN + 1, f"/start {code}")
    assert "used as often as it may be" in answered(fake, ANN + 1)[0]
    fake.say(ANN + 2, "/start not-a-real-invite-code-at-all")
    assert "not valid" in answered(fake, ANN + 2)[0]
    assert store.subscription(str(ANN + 1)) is None and store.subscription(str(ANN + 2)) is None


def test_expired_and_revoked_invites_are_refused(project: Project, fake: FakeTelegramBot, bot: BotThread) -> None:
    store = store_of(project)
    expired, _ = subscribers.create_invite(store, Visibility.parse("internal"), expires=timedelta(seconds=1),
                                           now=subscribers._now() - timedelta(minutes=1))
    revoked, invite = subscribers.create_invite(store, Visibility.parse("internal"))
    subscribers.revoke(store, invite.id)
    fake.say(ANN, f"/start {expired}")
    fake.say(ANN + 1, f"/start {revoked}")
    assert "expired" in answered(fake, ANN)[0]
    assert "withdrawn" in answered(fake, ANN + 1)[0]
    assert store.subscription(str(ANN)) is None and store.subscription(str(ANN + 1)) is None


def test_in_a_group_only_an_administrators_invite_subscribes(project: Project, fake: FakeTelegramBot,
                                                            bot: BotThread) -> None:
    store = store_of(project)
    code, _ = subscribers.create_invite(store, Visibility.parse("internal"))
    fake.say(GROUP, f"/start {code}", user=MEMBER)
    fake.say(GROUP, "/status", user=MEMBER)
    assert fake.wait_for(lambda: len(fake.member_checks) >= 2)
    fake.say(GROUP, f"/start@status_bot {code}", user=ADMIN)
    texts = answered(fake, GROUP)
    assert len(texts) == 1 and "internal status updates" in texts[0]
    sub = store.subscription(str(GROUP))
    assert sub is not None and sub.visibility == Visibility.parse("internal")
    assert store.invite(subscribers.code_hash(code)).uses == 1  # type: ignore[union-attr]


def test_free_text_gets_the_short_help_once_a_minute(project: Project, fake: FakeTelegramBot,
                                                     bot: BotThread) -> None:
    for text in ("hello?", "/nonsense", "anyone there"):
        fake.say(ANN, text)
    fake.say(ANN, "/help")
    texts = answered(fake, ANN, 2)
    assert texts[0] == "I only understand commands. /help lists them."
    assert "/components" in texts[1] and len(texts) == 2
    sent = fake.messages[ANN]
    assert sent[1].time - sent[0].time >= 1.0  # one message a second into one chat
    assert fake.too_many_count == 0
