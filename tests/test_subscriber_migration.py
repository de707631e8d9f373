"""Review 18c, findings 2 and 3: a subscribed group that became a supergroup keeps its posts (retry, amend,
withdraw, follow-ups find them at its new id), and a chat whose audience left the config hears the public view.

Driven through the real CLI against the fake Bot API; the store's half runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json

from broadcaster.messages.model import Visibility

from broadcaster import subscribers
from broadcaster.store import Delivery, PlannedDelivery
from broadcaster.subscribers import ChatKind
from tests.conftest import ENGINE, Project
from tests.fakes.base import Fault, Request, Response
from tests.fakes.telegram import FakeTelegram
from tests.pg import pg_server_fixture, pg_url_fixture  # noqa: F401 - pytest fixtures
from tests.test_store_backends import SITE, Opener, record
from tests.test_store_backends import opener as opener  # noqa: F401 - the fixture: SQLite and PostgreSQL
from tests.test_subscribers import (  # noqa: F401 - fixtures
    ACME,
    ACME_CHAT,
    MESSAGE,
    NEW_GROUP,
    OLD_GROUP,
    PUBLIC_CHAT,
    bot_project,
    bot_table,
    fake,
    invite,
    store_of,
    texts,
)

PUBLIC = Visibility.parse("public")
FLOOD = Response(429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 3600",
                       "parameters": {"retry_after": 3600}})
ACME_DETAIL = "502s"
RENAMED_MESSAGE = ("Errors on the API. [private]Edge fra-2 flapping.[/private] [for acme-corp]Your EU tenants see "
                   "502s.[/for] Investigating.")


def _subscribed_deliveries(project: Project) -> list[Delivery]:
    return [d for d in store_of(project).deliveries() if d.destination.startswith("subscribers")]


def _calls(telegram: FakeTelegram, method: str, chat: int) -> list[Request]:
    return [r for r in telegram.requests if r.path.endswith(f"/{method}") and str(r.form.get("chat_id")) == str(chat)]


def _post_while_the_group_migrates(project: Project) -> str:
    """acme's group migrates as the post goes (the send follows it); returns the incident's id."""
    subscribers.redeem(store_of(project), invite(project, "--audience", "acme"), OLD_GROUP, ChatKind.GROUP)
    result = project.cli("post", "--yes", "--title", "API errors", "-C", "api=major_outage", "--customer", "acme",
                         MESSAGE)
    assert result.exit_code == 0, result.output
    (delivery,) = _subscribed_deliveries(project)
    return str(delivery.incident_id)


# -- finding 2: the deliveries follow the group ----------------------------------------------------------


def test_retry_sends_a_failed_delivery_to_the_new_id_once_the_bot_saw_the_group_migrate(
    bot_project: Project, fake: FakeTelegram  # noqa: F811
) -> None:
    store = store_of(bot_project)
    subscribers.redeem(store, invite(bot_project, "--audience", "acme"), OLD_GROUP, ChatKind.GROUP)
    fake.migrated.clear()
    fake.fail(*[Fault(match="sendMessage", response=FLOOD) for _ in range(10)])
    assert bot_project.cli("post", "--yes", "--title", "API errors", "-C", "api=major_outage", "--customer", "acme",
                           MESSAGE).exit_code == 3
    fake.clear_faults()
    fake.migrated[OLD_GROUP] = NEW_GROUP
    subscribers.migrate(store, OLD_GROUP, NEW_GROUP)  # what bot/chat.py:_migrated calls

    (moved,) = _subscribed_deliveries(bot_project)
    assert moved.target == str(NEW_GROUP) and moved.state == "failed"
    result = bot_project.cli("retry")
    assert result.exit_code == 0, result.output
    assert len(texts(fake, NEW_GROUP)) == 1 and ACME_DETAIL in texts(fake, NEW_GROUP)[0]
    assert "no longer a target" not in result.output


def test_a_correction_edits_the_post_in_the_group_it_migrated_to(
    bot_project: Project, fake: FakeTelegram  # noqa: F811
) -> None:
    incident = _post_while_the_group_migrates(bot_project)
    (delivery,) = _subscribed_deliveries(bot_project)
    assert delivery.target == str(NEW_GROUP) and delivery.remote_id == f"{NEW_GROUP}:1"
    result = bot_project.cli("amend", incident, "1", "--yes", "--for", "acme", "Only EU-West sees errors.", MESSAGE)
    assert result.exit_code == 0, result.output
    (edit,) = _calls(fake, "editMessageText", NEW_GROUP)
    assert str(edit.form.get("message_id")) == "1" and "EU-West" in str(edit.form.get("text"))
    assert "was not sent here" not in result.output


def test_withdraw_deletes_the_post_in_the_group_it_migrated_to(
    bot_project: Project, fake: FakeTelegram  # noqa: F811
) -> None:
    incident = _post_while_the_group_migrates(bot_project)
    result = bot_project.cli("withdraw", incident, "--yes", "--reason", "wrong customer")
    assert result.exit_code == 0, result.output
    (deleted,) = _calls(fake, "deleteMessage", NEW_GROUP)
    assert str(deleted.form.get("message_id")) == "1"
    assert "by hand" not in result.output


def test_a_follow_up_threads_under_the_first_post_in_the_new_group(
    bot_project: Project, fake: FakeTelegram  # noqa: F811
) -> None:
    incident = _post_while_the_group_migrates(bot_project)
    result = bot_project.cli("post", "--yes", "-i", incident, "--status", "identified", "Found it.")
    assert result.exit_code == 0, result.output
    follow_up = fake.messages[NEW_GROUP][-1]
    assert len(fake.messages[NEW_GROUP]) == 2 and follow_up.reply_to_message_id == 1


def test_a_chat_moved_to_public_in_its_supergroup_never_gets_the_customers_retry(
    bot_project: Project, fake: FakeTelegram  # noqa: F811
) -> None:
    """The new id already holds a subscription (a public invite redeemed in the supergroup, before the bot
    recorded the migration): that later choice is kept, and acme's failed delivery, moved with the group,
    is not sent into what is now a public chat."""
    store = store_of(bot_project)
    subscribers.redeem(store, invite(bot_project, "--audience", "acme"), OLD_GROUP, ChatKind.GROUP)
    fake.migrated.clear()
    fake.fail(*[Fault(match="sendMessage", response=FLOOD) for _ in range(10)])
    assert bot_project.cli("post", "--yes", "--title", "API errors", "-C", "api=major_outage", "--customer", "acme",
                           MESSAGE).exit_code == 3
    fake.clear_faults()
    subscribers.redeem(store, invite(bot_project), NEW_GROUP, ChatKind.GROUP)
    subscribers.migrate(store, OLD_GROUP, NEW_GROUP)
    assert store.subscription(str(OLD_GROUP)) is None
    assert store.subscription(str(NEW_GROUP)).visibility == PUBLIC  # type: ignore[union-attr]

    bot_project.cli("retry")
    assert not any(ACME_DETAIL in t for t in texts(fake, NEW_GROUP) + texts(fake, OLD_GROUP))


def test_the_store_moves_only_the_subscribed_chats_deliveries_that_live_in_the_new_group(opener: Opener) -> None:
    """On both backends: unsent deliveries and posts whose ids name the new chat move; a post left in the old
    group (it cannot be edited or deleted through the new id), a table's delivery to the same id, and one the
    new chat already has for the same update stay as they are; nothing collides."""
    store = opener()
    old, new = str(OLD_GROUP), str(NEW_GROUP)
    plan = [SITE, PlannedDelivery("subscribers.audience.acme", old, "audience:acme"),
            PlannedDelivery("subscribers", old, "public"), PlannedDelivery("subscribers", new, "public"),
            PlannedDelivery("tg-acme", old, "audience:acme")]
    incident, _ = record(store, plan=plan)
    record(store, incident.id, "Found it.", new=False, plan=[PlannedDelivery("subscribers.audience.acme", old,
                                                                              "audience:acme")])
    rows = {(d.sequence, d.destination, d.target): d for d in store.deliveries()}
    store.mark_sent(rows[(1, "subscribers.audience.acme", old)].id, f"{new}:7", None)  # followed the migration
    store.mark_sent(rows[(2, "subscribers.audience.acme", old)].id, f"{old}:8", None)  # posted before it
    store.run_atomic("UPDATE deliveries SET parts = ? WHERE id = ?",
                     (json.dumps([f"{old}:9"]), rows[(1, "subscribers", old)].id))  # began in the old group

    subscribers.redeem(store, subscribers.create_invite(store, ACME)[0], OLD_GROUP, ChatKind.GROUP)
    assert subscribers.migrate(store, OLD_GROUP, NEW_GROUP)

    after = {d.id: d.target for d in store.deliveries()}
    assert after[rows[(1, "subscribers.audience.acme", old)].id] == new
    assert after[rows[(2, "subscribers.audience.acme", old)].id] == old
    assert after[rows[(1, "subscribers", old)].id] == old
    assert after[rows[(1, "subscribers", new)].id] == new
    assert after[rows[(1, "tg-acme", old)].id] == old
    assert store.subscription(new).visibility == ACME  # type: ignore[union-attr]


def test_the_store_leaves_a_delivery_the_new_chat_already_has_for_that_update(opener: Opener) -> None:
    store = opener()
    old, new = str(OLD_GROUP), str(NEW_GROUP)
    record(store, plan=[SITE, PlannedDelivery("subscribers", old, "public"), PlannedDelivery("subscribers", new,
                                                                                             "public")])
    subscribers.subscribe(store, OLD_GROUP, ChatKind.GROUP)
    subscribers.subscribe(store, NEW_GROUP, ChatKind.GROUP)
    subscribers.migrate(store, OLD_GROUP, NEW_GROUP)  # the unique (incident, sequence, destination, target) holds
    assert sorted(d.target for d in store.deliveries() if d.destination == "subscribers") == sorted([old, new])
    assert store.subscription(old) is None and store.subscription(new) is not None


# -- finding 3: an audience that left the config -------------------------------------------------------


def _rename_acme(project: Project, fake: FakeTelegram) -> None:  # noqa: F811
    project.write_config(ENGINE + '\n[audiences.acme-corp]\nname = "Acme Corp"\ncomponents = ["api"]\n'
                         + bot_table(fake))


def test_chats_of_a_renamed_audience_get_the_public_view_and_the_post_says_so_once(
    bot_project: Project, fake: FakeTelegram  # noqa: F811
) -> None:
    store = store_of(bot_project)
    code = invite(bot_project, "--audience", "acme")
    subscribers.redeem(store, code, ACME_CHAT, ChatKind.PRIVATE)
    subscribers.redeem(store, code, OLD_GROUP, ChatKind.GROUP)
    subscribers.subscribe(store, PUBLIC_CHAT, ChatKind.PRIVATE)
    fake.migrated.clear()
    _rename_acme(bot_project, fake)

    result = bot_project.cli("post", "--yes", "--title", "API errors", "-C", "api=major_outage", RENAMED_MESSAGE)
    assert result.exit_code == 0, result.output
    public = texts(fake, PUBLIC_CHAT)
    assert len(public) == 1
    for chat in (ACME_CHAT, OLD_GROUP):
        assert texts(fake, chat) == public  # the public view: no [for acme] span, no staff detail
    assert ACME_DETAIL not in public[0] and "fra-2" not in public[0]
    assert result.output.count("which the config no longer defines") == 1, result.output
    assert "audience acme," in result.output and "Acme Corp" not in result.output


def test_subscribers_list_marks_the_chats_of_an_audience_that_left_the_config(
    bot_project: Project, fake: FakeTelegram  # noqa: F811
) -> None:
    store = store_of(bot_project)
    subscribers.redeem(store, invite(bot_project, "--audience", "acme"), ACME_CHAT, ChatKind.PRIVATE)
    subscribers.subscribe(store, PUBLIC_CHAT, ChatKind.PRIVATE)
    assert "not in the config" not in bot_project.cli("subscribers", "list").output
    _rename_acme(bot_project, fake)

    listed = bot_project.cli("subscribers", "list")
    assert listed.exit_code == 0, listed.output
    (marked,) = [line for line in listed.output.splitlines() if "not in the config" in line]
    assert str(ACME_CHAT) in marked and "sent public updates" in marked
    assert "1 chat(s) joined with an invite for an audience the config no longer defines" in listed.output
    as_json = bot_project.cli("subscribers", "list", "--json")
    heard = {str(s["chat_id"]): (s["visibility"], s["heard_as"]) for s in json.loads(as_json.stdout)}
    assert heard[str(ACME_CHAT)] == ("audience:acme", "public") and heard[str(PUBLIC_CHAT)] == ("public", "public"), heard
