"""Review 18j (each test failed before its fix): heard_otherwise (broadcaster/destinations.py) says "table" for a table that names the chat but carries
only OTHER components (``components = ["db"]``): the migrated subscription's delivery is skipped "hears its updates
otherwise", exit 0, the subscription ends -- and the chat heard nothing. abd046a made this case a failure
("filtered") for the chat's own subscription, not for a table's filter."""

from __future__ import annotations

from broadcaster import subscribers
from broadcaster.subscribers import ChatKind
from tests.conftest import ENGINE, Project
from tests.fakes.telegram import FakeTelegram
from tests.test_audiences import AUDIENCES
from tests.test_subscribers import MESSAGE, NEW_GROUP, OLD_GROUP, TOKEN, bot_table, invite, store_of, texts


def test_a_table_that_does_not_carry_this_component_is_no_hearing_otherwise(project: Project) -> None:
    with FakeTelegram(token=TOKEN, chats={OLD_GROUP: "old group"}, migrated={OLD_GROUP: NEW_GROUP}) as fake:
        project.write_config(ENGINE + AUDIENCES + bot_table(fake) + f"""
[channels.tg-db]
type = "telegram"
token = "${{BOT_TOKEN}}"
chat_ids = [{NEW_GROUP}]
components = ["db"]
api_url = "{fake.url}"
""")
        project.env["BOT_TOKEN"] = TOKEN
        store = store_of(project)
        subscribers.redeem(store, invite(project), OLD_GROUP, ChatKind.GROUP)  # public, every component
        result = project.cli("post", "--yes", "--title", "API errors", "-C", "api=major_outage", MESSAGE)
        said = texts(fake, NEW_GROUP)
    skipped = [d for d in store_of(project).deliveries()
               if d.destination.startswith("subscribers") and d.state == "skipped"]
    assert said or not skipped, ("skipped as heard otherwise, yet the chat heard nothing", skipped, result.output)
