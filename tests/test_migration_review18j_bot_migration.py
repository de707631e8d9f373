"""Review 18j (each test failed before its fix): the bot's migration path (broadcaster/bot/chat.py ChatBot._migrated -> destinations.follow_migration)
ends a customer's subscription that migrated into a table's chat SILENTLY: no delivery, no note, nothing in
`subscribers list`, nothing said in the chat. The engine's path at least records a skipped delivery with advice."""

from __future__ import annotations

from broadcaster.messages.model import Visibility

from broadcaster import subscribers
from tests.bot_helpers import TOKEN, bot_running  # noqa: F401
from tests.conftest import Project
from tests.fakes.telegram_bot import FakeTelegramBot
from tests.test_bot_migration_into_a_table import ADMIN, NEW_GROUP, OLD_GROUP, fake, store_of  # noqa: F401


def test_a_customers_subscription_ended_by_the_bots_migration_path_is_told_somewhere(
    project: Project, fake: FakeTelegramBot  # noqa: F811
) -> None:
    from tests.bot_helpers import AUDIENCES

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
        before = {c: list(fake.texts(c)) for c in (OLD_GROUP, NEW_GROUP)}
        fake.push("message", {"message_id": 77, "date": 1, "chat": fake.chat(OLD_GROUP).as_json(),
                              "from": fake.user(ADMIN), "migrate_to_chat_id": NEW_GROUP})
        assert fake.wait_for(lambda: (found := store.subscription(str(OLD_GROUP))) is not None and not found.active)
        said = {c: fake.texts(c)[len(before[c]):] for c in (OLD_GROUP, NEW_GROUP)}
    listed = project.cli("subscribers", "list")
    # acme's subscription is gone for good; the operator's list and the chats are told nothing of it.
    assert any(said.values()) or str(OLD_GROUP) in listed.output or "acme" in listed.output, (said, listed.output)
