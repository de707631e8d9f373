"""Review 36c, a hostile pass over the subscriber bot (each test but the controls failed before its fix).

- A private chat that sent /stop came back at its customer's visibility with a plain ``/start`` after the operator
  had revoked its invite: an ex-employee of the customer read its detail again. Groups were already refused.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from broadcaster.messages.model import Visibility

from broadcaster import subscribers
from tests.bot_helpers import AUDIENCES, TOKEN, BotThread, bot_running
from tests.conftest import Project
from tests.fakes.telegram_bot import FakeTelegramBot
from tests.test_bot_chat import answered, store_of

ANN = 4242


@pytest.fixture
def fake() -> Iterator[FakeTelegramBot]:
    with FakeTelegramBot(token=TOKEN, enforce_limits=True) as server:
        yield server


@pytest.fixture
def bot(project: Project, fake: FakeTelegramBot) -> Iterator[BotThread]:
    project.write_config(AUDIENCES)
    with bot_running(project.config, fake) as thread:
        yield thread


def _joined_then_stopped(project: Project, fake: FakeTelegramBot) -> str:
    store = store_of(project)
    code, invite = subscribers.create_invite(store, Visibility.parse("audience:acme"), ["api"])
    fake.say(ANN, f"/start {code}")
    assert "for Acme Corp" in answered(fake, ANN)[0]
    fake.say(ANN, "/stop")
    assert "Unsubscribed" in answered(fake, ANN, 2)[1]
    return invite.id


def test_a_private_chat_whose_invite_was_revoked_comes_back_public(
        project: Project, fake: FakeTelegramBot, bot: BotThread) -> None:
    invite = _joined_then_stopped(project, fake)
    subscribers.revoke(store_of(project), invite)
    fake.say(ANN, "/start")
    reply = answered(fake, ANN, 3)[2]
    assert "withdrawn" in reply and "public status updates" in reply and "Acme Corp" not in reply, reply
    subscription = store_of(project).subscription(str(ANN))
    assert subscription is not None and subscription.active
    assert subscription.visibility == Visibility.parse("public") and subscription.invite is None


def test_a_private_chat_that_stopped_comes_back_as_it_was_while_its_invite_stands(
        project: Project, fake: FakeTelegramBot, bot: BotThread) -> None:
    """Control: /stop promised it (passed before the fix too)."""
    _joined_then_stopped(project, fake)
    fake.say(ANN, "/start")
    assert "for Acme Corp" in answered(fake, ANN, 3)[2]
    subscription = store_of(project).subscription(str(ANN))
    assert subscription is not None and subscription.visibility == Visibility.parse("audience:acme")
