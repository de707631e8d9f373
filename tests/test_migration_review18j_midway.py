"""Review 18j (each test failed before its fix): a group that migrates mid-post into a chat told otherwise (channels/telegram.py _send_message since
abd046a): the delivery is skipped as "nothing was sent there", though its first part reached the group."""

from __future__ import annotations

from broadcaster import subscribers
from broadcaster.subscribers import ChatKind
from tests.conftest import ENGINE, Project
from tests.fakes.base import Fault, Response
from tests.fakes.telegram import FakeTelegram
from tests.test_audiences import AUDIENCES
from tests.test_subscriber_migration_midway import LONG
from tests.test_subscribers import NEW_GROUP, OLD_GROUP, TOKEN, bot_table, invite, store_of, texts


def test_a_post_cut_midway_by_a_migration_is_not_reported_as_nothing_sent(project: Project) -> None:
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
    acme = [d for d in store_of(project).deliveries() if d.destination == "subscribers.audience.acme"]
    assert first, ("control: the first part reached the group", result.output)
    # Half a post reached acme's group, its detail never will (the subscription ends); the operator is told
    # "nothing was sent there" and the run exits 0 with the delivery skipped.
    assert not (all(d.state == "skipped" for d in acme) and "nothing was sent there" in result.output), (
        [(d.target, d.state) for d in acme], result.exit_code, result.output)
