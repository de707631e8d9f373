"""Review 18i (each test failed before its fix): a group that migrates between two parts of one long post (channels/telegram.py TelegramChannel._post)."""

from __future__ import annotations

from broadcaster import subscribers
from broadcaster.subscribers import ChatKind
from tests.conftest import ENGINE, Project
from tests.fakes.base import Fault, Response
from tests.fakes.telegram import FakeTelegram
from tests.test_audiences import AUDIENCES
from tests.test_subscribers import NEW_GROUP, OLD_GROUP, TOKEN, bot_table, invite, store_of, texts

SECRET_DETAIL = "Your EU tenants see 502s"
LONG = "Errors on the API. " + "Investigating the edge. " * 190 + f"[for acme]{SECRET_DETAIL}.[/for]"


def test_a_migration_between_parts_never_follows_into_a_public_tables_chat(project: Project) -> None:
    """``_post`` asks ``may_follow_to`` only ``if not progress.message_ids``: when the acme group becomes a supergroup
    after the first part of a long post reached it, the second part (acme's detail) follows into the supergroup
    whatever it is -- here a chat a public table names -- and the public readers there read acme's detail."""
    with FakeTelegram(token=TOKEN, chats={OLD_GROUP: "acme group", NEW_GROUP: "public super"}) as fake, \
            FakeTelegram(token=TOKEN, chats={NEW_GROUP: "public super"}) as table_fake:
        project.write_config(ENGINE + AUDIENCES + bot_table(fake) + f"""
[channels.tg-public]
type = "telegram"
visibility = "public"
token = "${{BOT_TOKEN}}"
chat_ids = [{NEW_GROUP}]
api_url = "{table_fake.url}"
""")
        project.env["BOT_TOKEN"] = TOKEN
        store = store_of(project)
        subscribers.redeem(store, invite(project, "--audience", "acme"), OLD_GROUP, ChatKind.GROUP)
        fake.fail(Fault(match="sendMessage", after=1, response=Response(400, {
            "ok": False, "error_code": 400, "description": "Bad Request: group chat was upgraded to a supergroup chat",
            "parameters": {"migrate_to_chat_id": NEW_GROUP}})))
        result = project.cli("post", "--yes", "--title", "API errors", "-C", "api=major_outage", "--customer", "acme",
                             LONG)
        first = texts(fake, OLD_GROUP)
        followed = texts(fake, NEW_GROUP)
    assert first, ("the first part never reached the group", result.output)
    assert not any(SECRET_DETAIL in t for t in followed), ("acme's detail in a public table's chat", followed,
                                                           result.output)
