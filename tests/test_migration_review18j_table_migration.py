"""Review 18j (each test failed before its fix): a TABLE's group that migrates (channels/telegram.py _post: ChatMigrated) follows into the new chat
whatever it is (``Channel.may_follow_to`` is True for tables): a customer's table whose group became a supergroup
that a PUBLIC table names sends the customer's detail into the public table's chat."""

from __future__ import annotations

from tests.conftest import ENGINE, Project
from tests.fakes.telegram import FakeTelegram
from tests.test_audiences import AUDIENCES
from tests.test_subscribers import MESSAGE, NEW_GROUP, OLD_GROUP, TOKEN, texts

DETAIL = "Your EU tenants see 502s"


def test_a_customers_table_group_migrating_into_a_public_tables_chat_does_not_take_its_detail_there(
    project: Project,
) -> None:
    with FakeTelegram(token=TOKEN, chats={OLD_GROUP: "acme group", NEW_GROUP: "public super"},
                      migrated={OLD_GROUP: NEW_GROUP}) as fake:
        project.write_config(ENGINE + AUDIENCES + f"""
[channels.tg-public]
type = "telegram"
visibility = "public"
token = "${{BOT_TOKEN}}"
chat_ids = [{NEW_GROUP}]
api_url = "{fake.url}"

[channels.tg-acme]
type = "telegram"
audience = "acme"
token = "${{BOT_TOKEN}}"
chat_ids = [{OLD_GROUP}]
api_url = "{fake.url}"
""")
        project.env["BOT_TOKEN"] = TOKEN
        result = project.cli("post", "--yes", "--title", "API errors", "-C", "api=major_outage", "--customer", "acme",
                             MESSAGE)
        said = texts(fake, NEW_GROUP)
    assert said, ("control: the public table posted", result.output)
    assert not any(DETAIL in t for t in said), ("acme's detail in the public table's chat", said, result.output)
