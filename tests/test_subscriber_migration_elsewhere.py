"""Review 18f (each test failed before its fix): a group subscribed for a customer whose supergroup has ALSO subscribed (public invite, redeemed before the
bot recorded the migration) is told the update twice in the supergroup, the customer's detail included.

Both subscriptions are active when the update is planned: the old group's (acme) and the supergroup's (public).
The send to the old id follows Telegram's ``migrate_to_chat_id`` into the supergroup, so the supergroup, whose own,
later choice is the public view (``migrate_subscription`` keeps it, and review 18c's test refuses acme's retry
there), gets acme's detail AND the public post: the customer's detail in a public chat, and the update twice.
"""

from __future__ import annotations

from broadcaster import subscribers
from broadcaster.subscribers import ChatKind
from tests.conftest import Project
from tests.fakes.telegram import FakeTelegram
from tests.test_subscriber_migration import ACME_DETAIL
from tests.test_subscribers import (  # noqa: F401 - fixtures
    MESSAGE,
    NEW_GROUP,
    OLD_GROUP,
    bot_project,
    fake,
    invite,
    store_of,
    texts,
)


def test_a_supergroup_subscribed_public_never_gets_the_old_groups_customer_post_nor_the_update_twice(
    bot_project: Project, fake: FakeTelegram  # noqa: F811
) -> None:
    store = store_of(bot_project)
    subscribers.redeem(store, invite(bot_project, "--audience", "acme"), OLD_GROUP, ChatKind.GROUP)
    subscribers.redeem(store, invite(bot_project), NEW_GROUP, ChatKind.GROUP)  # the chat's later choice
    result = bot_project.cli("post", "--yes", "--title", "API errors", "-C", "api=major_outage", "--customer", "acme",
                             MESSAGE)
    said = texts(fake, NEW_GROUP)
    kept = store.subscription(str(NEW_GROUP))
    assert kept is not None and str(kept.visibility) == "public", kept
    assert not any(ACME_DETAIL in t for t in said), ("customer detail in the public supergroup", said, result.output)
    assert len(said) <= 1, ("the update told twice in one chat", said)


def test_a_migrated_customer_group_never_follows_into_a_chat_a_public_table_names(
    project: Project, fake: FakeTelegram  # noqa: F811
) -> None:
    """The operator did as told for configured chats ("replace it in chat_ids"): the supergroup's id is now a chat of
    a PUBLIC table; the bot has not yet seen the old group (subscribed for acme) migrate. The send to the old id
    follows into the public table's chat with acme's detail, and that chat gets the update twice."""
    from tests.conftest import ENGINE
    from tests.test_audiences import AUDIENCES
    from tests.test_subscribers import TOKEN, bot_table

    project.write_config(ENGINE + AUDIENCES + bot_table(fake) + f"""
[channels.tg-public]
type = "telegram"
token = "${{BOT_TOKEN}}"
chat_ids = [{NEW_GROUP}]
api_url = "{fake.url}"
""")
    project.env["BOT_TOKEN"] = TOKEN
    store = store_of(project)
    subscribers.redeem(store, invite(project, "--audience", "acme"), OLD_GROUP, ChatKind.GROUP)
    result = project.cli("post", "--yes", "--title", "API errors", "-C", "api=major_outage", "--customer", "acme",
                         MESSAGE)
    said = texts(fake, NEW_GROUP)
    assert not any(ACME_DETAIL in t for t in said), ("customer detail in a public table's chat", said, result.output)
    assert len(said) <= 1, ("the update told twice in one chat", said)
