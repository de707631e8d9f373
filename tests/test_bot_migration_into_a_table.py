"""Review 18i (each test failed before its fix): the bot's own migration path (broadcaster/bot/chat.py ChatBot._migrated) against 82279fc's rule."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from broadcaster.messages.model import Visibility

from broadcaster import config_loader, subscribers
from broadcaster.store import Store, open_store, store_location
from tests.bot_helpers import AUDIENCES, TOKEN, bot_running
from tests.conftest import Project
from tests.fakes.telegram_bot import FakeTelegramBot

OLD_GROUP, NEW_GROUP, ADMIN = -4001, -1004001, 51


@pytest.fixture
def fake() -> Iterator[FakeTelegramBot]:
    with FakeTelegramBot(token=TOKEN, chats={OLD_GROUP: "Acme ops"}, members={(OLD_GROUP, ADMIN): "creator"},
                         enforce_limits=True) as server:
        yield server


def store_of(project: Project) -> Store:
    return open_store(store_location(config_loader.load(str(project.config)), None))


def test_the_bot_does_not_move_a_customers_subscription_into_a_public_tables_chat(
    project: Project, fake: FakeTelegramBot
) -> None:
    """82279fc: where a subscribed group migrates into a chat a table names, the subscription ENDS ("a table's chat
    is the table's: a subscription moved there would come back, its customer's cut, the day the table stops naming
    it"). The engine's path does so; the bot, which hears the migration first (a service message), still moves acme's
    subscription to the public table's chat (subscribers.migrate), so the engine never sees a migration and the acme
    subscription sits at the public table's chat, hidden while the table names it, live again once it does not."""
    project.write_config(AUDIENCES + f"""
[channels.tg-public]
type = "telegram"
visibility = "public"
token = "${{TG_PUBLIC_TOKEN}}"
chat_ids = [{NEW_GROUP}]
""")
    with bot_running(project.config, fake):
        store = store_of(project)
        code, _ = subscribers.create_invite(store, Visibility.parse("audience:acme"))
        fake.say(OLD_GROUP, f"/start {code}", user=ADMIN)
        assert fake.wait_for(lambda: store.subscription(str(OLD_GROUP)) is not None)
        fake.push("message", {"message_id": 77, "date": 1, "chat": fake.chat(OLD_GROUP).as_json(),
                              "from": fake.user(ADMIN), "migrate_to_chat_id": NEW_GROUP})
        assert fake.wait_for(lambda: (found := store.subscription(str(OLD_GROUP))) is not None and not found.active)
    moved = store_of(project).subscription(str(NEW_GROUP))
    assert moved is None or moved.visibility == Visibility.parse("public"), moved
