"""Review 18i (each test failed before its fix): SubscriberDestination._heard_otherwise calls a chat "subscribed" whatever its subscription hears."""

from __future__ import annotations

from broadcaster import subscribers
from broadcaster.subscribers import ChatKind
from tests.conftest import ENGINE, Project
from tests.fakes.telegram import FakeTelegram
from tests.test_audiences import AUDIENCES
from tests.test_subscribers import MESSAGE, NEW_GROUP, OLD_GROUP, TOKEN, bot_table, invite, store_of, texts


def test_a_skip_because_the_chat_hears_it_otherwise_is_true(project: Project) -> None:
    """The supergroup has its own subscription, but one that does not want this update (its /components chose db;
    the post is about api). _heard_otherwise only asks ``store.subscription(chat) is not None``: the acme delivery is
    skipped "hears its updates otherwise", exit 0, the acme subscription is dropped -- and the chat heard nothing."""
    with FakeTelegram(token=TOKEN, chats={OLD_GROUP: "old group"}, migrated={OLD_GROUP: NEW_GROUP}) as fake:
        project.write_config(ENGINE + AUDIENCES + bot_table(fake))
        project.env["BOT_TOKEN"] = TOKEN
        store = store_of(project)
        subscribers.redeem(store, invite(project, "--audience", "acme"), OLD_GROUP, ChatKind.GROUP)
        subscribers.redeem(store, invite(project), NEW_GROUP, ChatKind.GROUP)
        subscribers.choose_components(store, NEW_GROUP, ["db"], ["api", "db"])
        result = project.cli("post", "--yes", "--title", "API errors", "-C", "api=major_outage", "--customer", "acme",
                             MESSAGE)
        said = texts(fake, NEW_GROUP)
    skipped = [d for d in store_of(project).deliveries()
               if d.destination.startswith("subscribers") and d.state == "skipped"]
    assert said or not skipped, ("skipped as heard otherwise, yet the chat heard nothing", skipped, result.output)
