"""Review 36c, a hostile pass over the subscriber bot (each test but the controls failed before its fix).

- A private chat that sent /stop came back at its customer's visibility with a plain ``/start`` after the operator
  had revoked its invite: an ex-employee of the customer read its detail again. Groups were already refused.
- A chat that chose a component later renamed or removed in the config heard nothing of it, unmarked, and its
  ``/components`` got no answer (an empty keyboard).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from broadcaster.messages.model import Visibility

from broadcaster import subscribers
from broadcaster.subscribers import ChatKind
from tests.bot_helpers import AUDIENCES, TOKEN, BotThread, bot_running
from tests.conftest import BASE_CONFIG, ENGINE, Project
from tests.fakes.telegram import FakeTelegram
from tests.fakes.telegram_bot import FakeTelegramBot
from tests.test_bot_chat import answered, bot, store_of  # noqa: F401 - bot: a fixture, on this module's fake
from tests.test_subscribers import TOKEN as SUBSCRIBERS_TOKEN
from tests.test_subscribers import bot_table, invite, texts
from tests.test_subscribers import store_of as store_of_project

ANN = 4242


@pytest.fixture
def fake() -> Iterator[FakeTelegramBot]:
    with FakeTelegramBot(token=TOKEN, enforce_limits=True) as server:
        yield server


def _joined_then_stopped(project: Project, fake: FakeTelegramBot) -> str:
    store = store_of(project)
    code, invite = subscribers.create_invite(store, Visibility.parse("audience:acme"), ["api"])
    fake.say(ANN, f"/start {code}")
    assert "for Acme Corp" in answered(fake, ANN)[0]
    fake.say(ANN, "/stop")
    assert "Unsubscribed" in answered(fake, ANN, 2)[1]
    return invite.id


def test_a_private_chat_whose_invite_was_revoked_comes_back_public(
        project: Project, fake: FakeTelegramBot, bot: BotThread) -> None:  # noqa: F811 - the fixture
    invite = _joined_then_stopped(project, fake)
    subscribers.revoke(store_of(project), invite)
    fake.say(ANN, "/start")
    reply = answered(fake, ANN, 3)[2]
    assert "withdrawn" in reply and "public status updates" in reply and "Acme Corp" not in reply, reply
    subscription = store_of(project).subscription(str(ANN))
    assert subscription is not None and subscription.active
    assert subscription.visibility == Visibility.parse("public") and subscription.invite is None


def test_a_private_chat_that_stopped_comes_back_as_it_was_while_its_invite_stands(
        project: Project, fake: FakeTelegramBot, bot: BotThread) -> None:  # noqa: F811 - the fixture
    """Control: /stop promised it (passed before the fix too)."""
    _joined_then_stopped(project, fake)
    fake.say(ANN, "/start")
    assert "for Acme Corp" in answered(fake, ANN, 3)[2]
    subscription = store_of(project).subscription(str(ANN))
    assert subscription is not None and subscription.visibility == Visibility.parse("audience:acme")


# -- a chat's components renamed in the config --------------------------------------------------------------------

WEB_CHAT, ALL_CHAT = 104, 101


@pytest.fixture
def renamed(project: Project) -> Iterator[tuple[Project, FakeTelegram]]:
    """A chat that joined for the website alone, and a chat that hears everything; then "web" renamed "website"."""
    chats: dict[int | str, str] = {WEB_CHAT: "web chat", ALL_CHAT: "all chat"}
    with FakeTelegram(token=SUBSCRIBERS_TOKEN, chats=chats) as server:
        project.env["BOT_TOKEN"] = SUBSCRIBERS_TOKEN
        project.write_config(ENGINE + AUDIENCES + bot_table(server))
        store = store_of_project(project)
        subscribers.redeem(store, invite(project, "--components", "web"), WEB_CHAT, ChatKind.PRIVATE)
        subscribers.subscribe(store, ALL_CHAT, ChatKind.PRIVATE)
        renamed_config = BASE_CONFIG.replace('id = "web"', 'id = "website"')
        project.write_config(ENGINE + AUDIENCES + bot_table(server), base=renamed_config)
        yield project, server


def test_a_chat_whose_component_was_renamed_hears_every_update_and_is_named(
        renamed: tuple[Project, FakeTelegram]) -> None:
    project, fake = renamed
    result = project.cli("post", "--yes", "--title", "Website down", "-C", "website", "The website is down.")
    assert result.exit_code == 0, result.output
    assert len(texts(fake, WEB_CHAT)) == 1 and len(texts(fake, ALL_CHAT)) == 1
    assert "chose components the config no longer defines (web)" in result.output, result.output
    listed = project.cli("subscribers", "list")
    assert "not in the config: web; sent every update" in listed.output, listed.output
    rows = {row["chat_id"]: row for row in json.loads(project.cli("subscribers", "list", "--json").stdout)}
    assert rows[str(WEB_CHAT)]["unknown_components"] == ["web"] and "unknown_components" not in rows[str(ALL_CHAT)]


def test_a_chat_whose_components_are_all_defined_hears_its_own_alone(project: Project) -> None:
    """Control: the chat's choice stands while its components exist (passed before the fix too)."""
    chats: dict[int | str, str] = {WEB_CHAT: "web chat"}
    with FakeTelegram(token=SUBSCRIBERS_TOKEN, chats=chats) as fake:
        project.env["BOT_TOKEN"] = SUBSCRIBERS_TOKEN
        project.write_config(ENGINE + AUDIENCES + bot_table(fake))
        subscribers.redeem(store_of_project(project), invite(project, "--components", "web"), WEB_CHAT, ChatKind.PRIVATE)
        assert project.cli("post", "--yes", "--title", "API down", "-C", "api", "Down.").exit_code == 0
        assert texts(fake, WEB_CHAT) == []


def test_components_offers_every_component_when_the_invites_are_all_renamed(
        project: Project, fake: FakeTelegramBot) -> None:
    """/components answered nothing: the keyboard of the invite's components still defined was empty."""
    project.write_config(AUDIENCES)
    code, _ = subscribers.create_invite(store_of(project), Visibility.parse("public"), ["web"])
    project.write_config(AUDIENCES, base=BASE_CONFIG.replace('id = "web"', 'id = "website"'))
    with bot_running(project.config, fake):
        fake.say(ANN, f"/start {code}")
        answered(fake, ANN)
        fake.say(ANN, "/components")
        keyboard = answered(fake, ANN, 2)
    assert len(keyboard) == 2


def test_an_invite_for_a_customer_no_longer_configured_is_refused_and_marked(
        project: Project, fake: FakeTelegramBot) -> None:
    """The chat was welcomed to public updates while the store kept it as acme's: an [audiences.acme] back (another
    customer's, perhaps) would have sent it that customer's detail."""
    project.write_config(AUDIENCES)
    code, _ = subscribers.create_invite(store_of(project), Visibility.parse("audience:acme"), ["api"])
    project.write_config(AUDIENCES.split("[audiences.globex]")[0].replace("[audiences.acme]", "[audiences.initech]"))
    with bot_running(project.config, fake):
        fake.say(ANN, f"/start {code}")
        assert "not valid" in answered(fake, ANN)[0]
    assert store_of(project).subscription(str(ANN)) is None
    assert "audience not in the config: the bot refuses it" in project.cli("subscribers", "invites").output
