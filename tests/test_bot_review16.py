"""Review 16 (the Telegram subscriber bot), fixed: each test is the reproduction the review left, plus the cases
around it.

1. A subscribed chat a channel table names by @name hears that table's view only (``operations.rooms`` resolves
   the name; ``SubscriberDestination.subscriptions`` compares resolved chats); a name that cannot be resolved
   holds back the subscribed groups that table's readers must not read.
2. ``/status`` (and the welcome) in a chat a channel table names speaks at that table's visibility; an invite
   opened there is not redeemed.
3. A customer's chat ``/status`` keeps what was told to that customer alone (``kept_from``, not ``kept_off``).
4. ``/status`` shows each incident's latest update, not a correction of an older one, with its text as corrected.
5. A group that sent ``/stop`` is brought back by ``/start``, as the bot promised.
6. A chat opening again the invite it holds uses nothing and is not refused, used up or expired.
7. ``subscribers remove`` names the invite the chat joined with while it still works, and says to revoke it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from broadcaster.messages.model import Level, Visibility

from broadcaster import config_loader, subscribers
from broadcaster.bot.status import status_replies
from broadcaster.delivery import DeliveryState
from broadcaster.store import SQLiteStore, Store, open_store, store_location
from broadcaster.subscribers import ChatKind, InviteRefused
from tests.bot_helpers import AUDIENCES, TOKEN, bot_running
from tests.conftest import ENGINE, Project
from tests.fakes.telegram import FakeTelegram
from tests.fakes.telegram_bot import FakeTelegramBot
from tests.test_subscribers import bot_table, invite, store_of, texts

ADMIN = 51
NOTE = "NOTE-SECRET-7702 edge fra-2 lost BGP"
ACME = Visibility.of("acme")
INTERNAL = Visibility.parse("internal")


def _bot_and_table(url: str, table: str, chats: str, table_url: str = "") -> str:
    """A [bot] and one Telegram channel table (``table``: its visibility line) on the bot's token."""
    return AUDIENCES + f"""
[bot]
type = "telegram"
token = "${{BOT_TOKEN}}"
api_url = "{url}"
username = "status_bot"

[channels.tg]
type = "telegram"
{table}
token = "${{BOT_TOKEN}}"
api_url = "{table_url or url}"
chat_ids = [{chats}]
"""


def _configured(project: Project, toml: str) -> Store:
    project.write_config(toml)
    project.env["BOT_TOKEN"] = TOKEN
    return open_store(store_location(config_loader.load(str(project.config)), None))


# -- 1. a subscribed chat a table names by @name --------------------------------------------------------

PUBLIC_GROUP_ID = -1003333333333


def test_a_chat_a_table_names_by_username_hears_only_that_tables_view(project: Project) -> None:
    """The public table names its supergroup by @username; the group redeemed an internal invite by mistake. It
    used to be pushed every update twice, the public view and the internal one with the staff note."""
    with FakeTelegramBot(token=TOKEN, chats={
        "@acme_public": {"type": "supergroup", "title": "Acme status", "id": PUBLIC_GROUP_ID},
    }) as fake:
        store = _configured(project, _bot_and_table(fake.url, 'visibility = "public"', '"@acme_public"'))
        code, _ = subscribers.create_invite(store, INTERNAL)
        subscribers.redeem(store, code, PUBLIC_GROUP_ID, ChatKind.GROUP)
        posted = project.cli("post", "--yes", "--title", "API errors", "-C", "api=partial_outage", "--private", NOTE,
                             "Errors on the API.")
        assert posted.exit_code == 0, posted.output
        incident_id = store.deliveries()[0].incident_id
        followed = project.cli("post", "--yes", "-i", incident_id, "--private", NOTE, "Still looking.")
        assert followed.exit_code == 0, followed.output  # the name is remembered now: left to its table at once
        pushed = fake.texts("@acme_public")
    assert len(pushed) == 2, pushed  # each update once, from its table
    assert not any(NOTE in text for text in pushed), f"internal note pushed into the public group:\n{pushed}"
    internal = [d for d in store.deliveries() if d.destination == "subscribers.internal"]
    # The first post was planned before the name was known: its delivery is skipped, saying why.
    assert [(d.state, (d.last_error or "")[:24]) for d in internal] == [
        (DeliveryState.SKIPPED, "left to [channels.tg], w")], internal


def test_a_subscribed_group_a_table_name_might_be_is_held_while_the_name_cannot_be_resolved(project: Project) -> None:
    """Fail closed: the table's @name cannot be asked about (its Bot API server does not answer), so any
    subscribed group may be that chat. The internal subscribers' groups are held (failed, with why, for
    ``retry``); a private chat, never an @name, still gets its update."""
    group, person = -1004444444444, 4242
    with FakeTelegramBot(token=TOKEN, chats={group: "some group", person: "a person"}) as fake:
        store = _configured(project, ENGINE + _bot_and_table(fake.url, 'visibility = "public"', '"@acme_public"',
                                                             table_url="http://127.0.0.1:9"))
        code, _ = subscribers.create_invite(store, INTERNAL)
        subscribers.redeem(store, code, group, ChatKind.GROUP)
        subscribers.redeem(store, code, person, ChatKind.PRIVATE)
        posted = project.cli("post", "--yes", "--title", "API errors", "-C", "api=partial_outage", "--private", NOTE,
                             "Errors on the API.")
        assert posted.exit_code == 3, posted.output
        assert fake.texts(group) == []
        assert any(NOTE in text for text in fake.texts(person)), (fake.texts(person), posted.output)
    held = [d for d in store.deliveries() if d.destination == "subscribers.internal" and d.target == str(group)]
    assert len(held) == 1 and held[0].state == DeliveryState.FAILED
    assert "@acme_public" in (held[0].last_error or "") and "retry" in (held[0].last_error or "")


# -- 2. /status and invites in a chat a table names -------------------------------------------------------

PUBLIC_GROUP = -1001111111111  # the company's public announcement group, a configured public channel
ACME_GROUP = -1002222222222  # acme's own group, configured as acme's audience channel
GLOBEX_DETAIL = "GLOBEX-DETAIL-1187 nightly exports stalled"


@pytest.fixture
def public_group() -> Iterator[FakeTelegramBot]:
    with FakeTelegramBot(token=TOKEN, chats={PUBLIC_GROUP: "Acme status (public)"},
                         members={(PUBLIC_GROUP, ADMIN): "administrator"}) as server:
        yield server


def test_status_in_a_configured_public_group_never_holds_internal_detail(project: Project,
                                                                         public_group: FakeTelegramBot) -> None:
    """An administrator of both groups picked the wrong one for a staff invite: the public group holds an internal
    subscription. Its pushes are the table's (public) view, and so is its /status."""
    fake = public_group
    store = _configured(project, _bot_and_table(fake.url, 'visibility = "public"', str(PUBLIC_GROUP)))
    code, _ = subscribers.create_invite(store, INTERNAL)
    subscribers.redeem(store, code, PUBLIC_GROUP, ChatKind.GROUP)
    posted = project.cli("post", "--yes", "--title", "API errors", "-C", "api=partial_outage", "--private", NOTE,
                         "Errors on the API.")
    assert posted.exit_code == 0, posted.output
    pushed = fake.texts(PUBLIC_GROUP)
    assert len(pushed) == 1 and NOTE not in pushed[0]
    with bot_running(project.config, fake):
        fake.say(PUBLIC_GROUP, "/status", user=ADMIN)
        assert fake.wait_for(lambda: len(fake.texts(PUBLIC_GROUP)) >= 2), fake.texts(PUBLIC_GROUP)
    answer = "\n".join(fake.texts(PUBLIC_GROUP)[1:])
    assert "Errors on the API." in answer
    assert NOTE not in answer and "Posted by" not in answer, answer


def test_status_in_a_customers_configured_group_never_holds_another_customers_detail(project: Project) -> None:
    """Acme's configured group redeemed a globex invite: its /status is acme's, as its pushes are."""
    with FakeTelegramBot(token=TOKEN, chats={ACME_GROUP: "Acme status"},
                         members={(ACME_GROUP, ADMIN): "administrator"}) as fake:
        store = _configured(project, _bot_and_table(fake.url, 'audience = "acme"', str(ACME_GROUP)))
        code, _ = subscribers.create_invite(store, Visibility.parse("audience:globex"))
        subscribers.redeem(store, code, ACME_GROUP, ChatKind.GROUP)
        posted = project.cli("post", "--yes", "--title", "Platform errors", "-C", "api=partial_outage",
                             "-C", "db=degraded_performance", "--for", "acme", "Circuit ACM-7 rerouted.",
                             "--for", "globex", GLOBEX_DETAIL, "Errors on the platform.")
        assert posted.exit_code == 0, posted.output
        pushed = fake.texts(ACME_GROUP)
        assert len(pushed) == 1 and "ACM-7" in pushed[0] and GLOBEX_DETAIL not in pushed[0]
        with bot_running(project.config, fake):
            fake.say(ACME_GROUP, "/status", user=ADMIN)
            assert fake.wait_for(lambda: len(fake.texts(ACME_GROUP)) >= 2), fake.texts(ACME_GROUP)
        answer = "\n".join(fake.texts(ACME_GROUP)[1:])
    assert "Errors on the platform." in answer and "ACM-7" in answer  # acme's view: its own detail
    assert GLOBEX_DETAIL not in answer and "Globex" not in answer, answer


def test_an_invite_opened_in_a_configured_group_is_not_redeemed_nor_named(project: Project,
                                                                         public_group: FakeTelegramBot) -> None:
    """The slip itself: a staff invite opened in the public group. Nothing is stored, no use is counted, and the
    reply names no visibility (it used to say "the internal status updates ... with private detail")."""
    fake = public_group
    store = _configured(project, _bot_and_table(fake.url, 'visibility = "public"', str(PUBLIC_GROUP)))
    code, made = subscribers.create_invite(store, INTERNAL, uses=1)
    with bot_running(project.config, fake):
        fake.say(PUBLIC_GROUP, f"/start {code}", user=ADMIN)
        assert fake.wait_for(lambda: len(fake.texts(PUBLIC_GROUP)) >= 1)
    reply = fake.texts(PUBLIC_GROUP)[0]
    assert "internal" not in reply.lower() and "private" not in reply.lower(), reply
    assert "set up for it" in reply and "this one was not used" in reply, reply  # not "already subscribed": it was not
    assert store.subscription(str(PUBLIC_GROUP)) is None
    assert store.invite(made.hash).uses == 0  # type: ignore[union-attr]  # still there for the right group


# -- 3 and 4. /status against what each chat was told --------------------------------------------------------

ACME_CHAT, PUBLIC_CHAT = 102, 101


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram(token=TOKEN, chats={ACME_CHAT: "acme chat", PUBLIC_CHAT: "public chat"}) as running:
        yield running


@pytest.fixture
def bot_project(project: Project, fake: FakeTelegram) -> Project:
    project.write_config(ENGINE + AUDIENCES + bot_table(fake))
    project.env["BOT_TOKEN"] = TOKEN
    return project


def _status(project: Project, store: Store, chat: int) -> str:
    config = config_loader.load(str(project.config))
    return "\n".join(status_replies(config, store, store.subscription(str(chat))))


def test_status_in_a_customers_chat_shows_the_incident_it_was_just_sent(bot_project: Project,
                                                                        fake: FakeTelegram) -> None:
    """An incident told to acme alone is in acme's /status (it said "No open incidents"), and in no one else's."""
    store = store_of(bot_project)
    subscribers.redeem(store, invite(bot_project, "--audience", "acme"), ACME_CHAT, ChatKind.PRIVATE)
    subscribers.subscribe(store, PUBLIC_CHAT, ChatKind.PRIVATE)
    result = bot_project.cli("post", "--yes", "--only", "subscribers.audience.acme", "--title", "Circuit down",
                             "-C", "api=major_outage", "--customer", "acme",
                             "Your dedicated circuit is down. [for acme]Circuit ACM-7.[/for]")
    assert result.exit_code == 0, result.output
    pushed = texts(fake, ACME_CHAT)
    assert len(pushed) == 1 and "Circuit down" in pushed[0]
    answer = _status(bot_project, store, ACME_CHAT)
    assert "Circuit down" in answer and "ACM-7" in answer, answer
    assert "No open incidents" not in answer, answer
    public = _status(bot_project, store, PUBLIC_CHAT)
    assert "Circuit down" not in public and "No open incidents" in public, public


def test_status_in_a_customers_chat_shows_its_corrected_detail(bot_project: Project, fake: FakeTelegram) -> None:
    """`amend ID 1 --for acme TEXT`: acme's /status shows the corrected detail, not the one taken back."""
    store = store_of(bot_project)
    subscribers.redeem(store, invite(bot_project, "--audience", "acme"), ACME_CHAT, ChatKind.PRIVATE)
    posted = bot_project.cli("post", "--yes", "--title", "API errors", "-C", "api=major_outage", "--customer", "acme",
                             "--for", "acme", "Circuit ACM-7 rerouted.", "Errors on the API.")
    assert posted.exit_code == 0, posted.output
    incident_id = store.deliveries()[0].incident_id
    amended = bot_project.cli("amend", "--yes", incident_id, "1", "--for", "acme", "Circuit ACM-9 rerouted.",
                              "Errors on the API.")
    assert amended.exit_code == 0, amended.output
    assert any("ACM-9" in t for t in texts(fake, ACME_CHAT))
    answer = _status(bot_project, store, ACME_CHAT)
    assert "ACM-7" not in answer, answer
    assert "ACM-9" in answer, answer


def test_status_shows_the_latest_update_not_a_correction_of_an_older_one(bot_project: Project,
                                                                         fake: FakeTelegram) -> None:
    """After `amend ID 1` while update 2 is the latest, /status shows update 2; and a correction of the latest
    update shows its corrected text."""
    store = store_of(bot_project)
    subscribers.subscribe(store, PUBLIC_CHAT, ChatKind.PRIVATE)
    assert bot_project.cli("post", "--yes", "--title", "API errors", "-C", "api=major_outage",
                           "Errors on the APX.").exit_code == 0
    incident_id = store.deliveries()[0].incident_id
    assert bot_project.cli("post", "--yes", "-i", incident_id, "-s", "identified", "-C", "api=degraded_performance",
                           "Cause found: a faulty rooter.").exit_code == 0
    amended = bot_project.cli("amend", "--yes", incident_id, "1", "Errors on the API.")
    assert amended.exit_code == 0, amended.output
    after = _status(bot_project, store, PUBLIC_CHAT)
    assert "Cause found: a faulty rooter." in after and "Errors on the AP" not in after, after
    assert bot_project.cli("amend", "--yes", incident_id, "2", "Cause found: a faulty router.").exit_code == 0
    corrected = _status(bot_project, store, PUBLIC_CHAT)
    assert "Cause found: a faulty router." in corrected and "rooter" not in corrected, corrected


# -- 5. /stop, then /start, in a group ---------------------------------------------------------------------

GROUP = -1001234567890


def test_a_group_that_stopped_is_brought_back_by_start_as_the_bot_promised(project: Project) -> None:
    """The group's invite was single-use and is used up by the group itself: /start brings it back as it was (the
    customer's visibility), and a group that never subscribed still needs an invite."""
    other = -1009999999999
    with FakeTelegramBot(token=TOKEN, chats={GROUP: "Acme ops", other: "Other"},
                         members={(GROUP, ADMIN): "administrator", (other, ADMIN): "administrator"}) as fake:
        project.write_config(AUDIENCES)
        store = open_store(store_location(config_loader.load(str(project.config)), None))
        code, _ = subscribers.create_invite(store, ACME, uses=1)
        with bot_running(project.config, fake):
            fake.say(GROUP, f"/start {code}", user=ADMIN)
            assert fake.wait_for(lambda: len(fake.texts(GROUP)) == 1)
            fake.say(GROUP, "/stop", user=ADMIN)
            assert fake.wait_for(lambda: len(fake.texts(GROUP)) == 2)
            assert "/start subscribes it again" in fake.texts(GROUP)[1]
            fake.say(GROUP, "/start", user=ADMIN)
            assert fake.wait_for(lambda: len(fake.texts(GROUP)) == 3)
            fake.say(other, "/start", user=ADMIN)
            assert fake.wait_for(lambda: len(fake.texts(other)) == 1)
        reply, refused = fake.texts(GROUP)[2], fake.texts(other)[0]
    subscription = store.subscription(str(GROUP))
    assert subscription is not None and subscription.active, f"still inactive; the bot said: {reply}"
    assert subscription.visibility == ACME and "Acme Corp" in reply, reply
    assert "invite" in refused and store.subscription(str(other)) is None


# -- 6. the invite a chat already holds ----------------------------------------------------------------------


def test_the_chat_that_used_a_single_use_invite_opening_it_again_is_not_refused(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "state.db")
    code, made = subscribers.create_invite(store, ACME, uses=1)
    subscribers.redeem(store, code, 7, ChatKind.PRIVATE)
    again = subscribers.redeem(store, code, 7, ChatKind.PRIVATE)
    assert not again.counted and again.subscription.visibility == ACME
    assert store.invite(made.hash).uses == 1  # type: ignore[union-attr]
    with pytest.raises(InviteRefused) as refused:  # another chat: used up, as before
        subscribers.redeem(store, code, 8, ChatKind.PRIVATE)
    assert refused.value.reason == subscribers.Refusal.USED_UP


def test_the_chat_opening_again_an_expired_invite_it_holds_is_not_refused(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "state.db")
    start = datetime(2026, 12, 1, tzinfo=UTC)
    code, _ = subscribers.create_invite(store, ACME, expires=timedelta(hours=1), now=start)
    subscribers.redeem(store, code, 7, ChatKind.PRIVATE, now=start)
    later = start + timedelta(days=2)
    assert not subscribers.redeem(store, code, 7, ChatKind.PRIVATE, now=later).counted
    subscribers.unsubscribe(store, 7)  # a stopped chat is not holding it: the expiry counts again
    with pytest.raises(InviteRefused) as refused:
        subscribers.redeem(store, code, 7, ChatKind.PRIVATE, now=later)
    assert refused.value.reason == subscribers.Refusal.EXPIRED


# -- 7. subscribers remove ------------------------------------------------------------------------------------


def test_remove_warns_that_the_chat_can_rejoin_with_the_invite_it_used(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BROADCASTER_CONFIG", raising=False)
    project = Project(tmp_path)
    project.write_config(AUDIENCES + '\n[bot]\ntype = "telegram"\ntoken = "${BOT_TOKEN}"\nusername = "status_bot"\n')
    project.env["BOT_TOKEN"] = "123456:bot-token"
    made = project.cli("subscribers", "invite", "--audience", "acme")
    assert made.exit_code == 0, made.output
    code = made.output.split("?start=")[1].split()[0]
    store = SQLiteStore(tmp_path / ".broadcaster" / "state.db")
    subscribers.redeem(store, code, 7, ChatKind.PRIVATE)
    invite_id = subscribers.find_invite(store, code).id
    removed = project.cli("subscribers", "remove", "7")
    assert removed.exit_code == 0, removed.output
    assert f"subscribers revoke {invite_id}" in removed.output, removed.output
    assert code not in removed.output  # the code itself is never shown again
    subscribers.redeem(store, code, 7, ChatKind.PRIVATE)
    subscribers.revoke(store, invite_id)
    again = project.cli("subscribers", "remove", "7")
    assert again.exit_code == 0 and "revoke" not in again.output, again.output  # nothing left to revoke


# A review: a plain /start brought back any inactive group, not only one that sent /stop.
REMOVED_GROUP = -1004242424242
REMOVED_ADMIN = 51


def test_a_group_the_bot_was_removed_from_needs_a_new_invite_after_its_invite_was_revoked(project: Project) -> None:
    with FakeTelegramBot(token=TOKEN, chats={REMOVED_GROUP: "Ops war room"},
                         members={(REMOVED_GROUP, REMOVED_ADMIN): "administrator"}) as fake:
        project.write_config(AUDIENCES)
        store = open_store(store_location(config_loader.load(str(project.config)), None))
        code, made = subscribers.create_invite(store, Visibility.parse("internal"), uses=1)
        subscribers.redeem(store, code, REMOVED_GROUP, subscribers.ChatKind.GROUP)
        # The bot is removed from the group (my_chat_member "left"/"kicked": the handler deactivates it as "left"),
        # the group is handed over (a customer community now), and the operator revokes the staff invite.
        subscribers.deactivate(store, REMOVED_GROUP, "left")
        subscribers.revoke(store, made.id)
        with bot_running(project.config, fake):
            fake.say(REMOVED_GROUP, "/start", user=REMOVED_ADMIN)  # someone adds the bot back; an administrator says /start
            assert fake.wait_for(lambda: len(fake.texts(REMOVED_GROUP)) == 1)
        reply = fake.texts(REMOVED_GROUP)[0]
    subscription = store.subscription(str(REMOVED_GROUP))
    assert subscription is not None
    # It came back active and internal ("staff updates") with no invite asked; a /stop alone is undone by /start.
    assert not (subscription.active and subscription.visibility.level == Level.INTERNAL), (subscription, reply)


# A review of that fix: a removal after a /stop recorded nothing (only active rows were updated), so the group
# still counted as one that stopped itself.
HANDED_OVER = -1005151515151
ME = {"id": 7000000001, "is_bot": True, "first_name": "Status", "username": "status_bot"}


def test_a_stopped_group_the_bot_was_then_removed_from_needs_a_new_invite(project: Project) -> None:
    with FakeTelegramBot(token=TOKEN, chats={HANDED_OVER: "Ops war room"},
                         members={(HANDED_OVER, REMOVED_ADMIN): "administrator"}) as fake:
        project.write_config(AUDIENCES)
        project.env["BOT_TOKEN"] = TOKEN
        store = open_store(store_location(config_loader.load(str(project.config)), None))
        code, _ = subscribers.create_invite(store, Visibility.parse("internal"), uses=1)
        with bot_running(project.config, fake):
            fake.say(HANDED_OVER, f"/start {code}", user=REMOVED_ADMIN)
            assert fake.wait_for(lambda: len(fake.texts(HANDED_OVER)) == 1)
            fake.say(HANDED_OVER, "/stop", user=REMOVED_ADMIN)
            assert fake.wait_for(lambda: len(fake.texts(HANDED_OVER)) == 2)
            # The bot is then removed from the group (the group is handed over to a customer community).
            fake.push("my_chat_member", {
                "chat": fake.chat(HANDED_OVER).as_json(), "from": fake.user(REMOVED_ADMIN), "date": 1,
                "old_chat_member": {"status": "member", "user": ME},
                "new_chat_member": {"status": "kicked", "until_date": 0, "user": ME}})
            fake.say(HANDED_OVER, "/help", user=REMOVED_ADMIN)  # the membership change is handled before this is answered
            assert fake.wait_for(lambda: len(fake.texts(HANDED_OVER)) == 3)
            # Someone adds the bot back; an administrator says a plain /start.
            fake.say(HANDED_OVER, "/start", user=REMOVED_ADMIN)
            assert fake.wait_for(lambda: len(fake.texts(HANDED_OVER)) == 4)
        reply = fake.texts(HANDED_OVER)[3]
    subscription = store.subscription(str(HANDED_OVER))
    assert subscription is not None
    assert subscription.inactive_reason != "stopped" or not subscription.active, subscription
    assert not (subscription.active and subscription.visibility.level == Level.INTERNAL), (
        f"back at staff visibility with no invite after the bot was removed: {subscription}; the bot said: {reply}")


def test_a_chat_of_an_audience_the_config_no_longer_defines_that_a_table_names_hears_the_first_post_once(
    project: Project,
) -> None:
    """Found by a fix's own review (session 18): such a chat is one of the public subscribers (``heard_as``), but
    the rooms check left the table's chat to it under its old audience's destination, so the first post after
    the name was resolved reached the group twice, from the table and from the public subscribers."""
    with FakeTelegramBot(token=TOKEN, chats={
        "@acme_public": {"type": "supergroup", "title": "Acme status", "id": PUBLIC_GROUP_ID},
    }) as fake:
        store = _configured(project, _bot_and_table(fake.url, 'visibility = "public"', '"@acme_public"'))
        code, _ = subscribers.create_invite(store, Visibility.of("left-the-config"))
        subscribers.redeem(store, code, PUBLIC_GROUP_ID, ChatKind.GROUP)
        posted = project.cli("post", "--yes", "--title", "API errors", "-C", "api=partial_outage", "--private", NOTE,
                             "Errors on the API.")
        assert posted.exit_code == 0, posted.output
        pushed = fake.texts("@acme_public")
    assert len(pushed) == 1, pushed
    assert NOTE not in pushed[0]
    [public] = [d for d in store.deliveries() if d.destination == "subscribers" and d.target == str(PUBLIC_GROUP_ID)]
    assert public.state == DeliveryState.SKIPPED and "left to [channels.tg]" in (public.last_error or ""), public
