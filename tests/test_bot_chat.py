"""The bot's commands (issue 19), driven through real python-telegram-bot against the fake Bot API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from broadcaster.messages.model import Visibility

from broadcaster import config_loader, subscribers
from broadcaster.store import Store, open_store, store_location
from tests.bot_helpers import AUDIENCES, TOKEN, BotThread, bot_running
from tests.conftest import Project
from tests.fakes.telegram_bot import FakeTelegramBot

ANN = 4242  # a private chat: its id is its user's
GROUP = -1001234567890
ADMIN, MEMBER = 51, 52


@pytest.fixture
def fake() -> Iterator[FakeTelegramBot]:
    with FakeTelegramBot(token=TOKEN, chats={GROUP: "Ops"}, members={(GROUP, ADMIN): "administrator"},
                         enforce_limits=True) as server:
        yield server


@pytest.fixture
def bot(project: Project, fake: FakeTelegramBot) -> Iterator[BotThread]:
    project.write_config(AUDIENCES)
    with bot_running(project.config, fake) as thread:
        yield thread


def store_of(project: Project) -> Store:
    return open_store(store_location(config_loader.load(str(project.config)), None))


def answered(fake: FakeTelegramBot, chat: int, count: int = 1) -> list[str]:
    assert fake.wait_for(lambda: len(fake.texts(chat)) >= count), fake.texts(chat)
    return fake.texts(chat)


def test_start_subscribes_a_private_chat_to_public_updates(project: Project, fake: FakeTelegramBot,
                                                           bot: BotThread) -> None:
    fake.say(ANN, "/start")
    assert "public status updates of Acme status" in answered(fake, ANN)[0]
    store = store_of(project)
    sub = store.subscription(str(ANN))
    assert sub is not None and sub.active and sub.visibility == Visibility.parse("public")
    assert bot.said and "@status_bot" in bot.said[0]


def test_an_invite_gives_its_audience_and_a_bad_one_is_refused(project: Project, fake: FakeTelegramBot,
                                                               bot: BotThread) -> None:
    store = store_of(project)
    code, _ = subscribers.create_invite(store, Visibility.parse("audience:acme"), ["api"], uses=1)
    fake.say(ANN, f"/start {code}")
    assert "for Acme Corp" in answered(fake, ANN)[0]
    fake.say(ANN + 1, f"/start {code}")
    assert "used as often as it may be" in answered(fake, ANN + 1)[0]
    fake.say(ANN + 2, "/start not-a-real-invite-code-at-all")
    assert "not valid" in answered(fake, ANN + 2)[0]
    assert store.subscription(str(ANN + 1)) is None and store.subscription(str(ANN + 2)) is None


def test_expired_and_revoked_invites_are_refused(project: Project, fake: FakeTelegramBot, bot: BotThread) -> None:
    store = store_of(project)
    expired, _ = subscribers.create_invite(store, Visibility.parse("internal"), expires=timedelta(seconds=1),
                                           now=subscribers._now() - timedelta(minutes=1))
    revoked, invite = subscribers.create_invite(store, Visibility.parse("internal"))
    subscribers.revoke(store, invite.id)
    fake.say(ANN, f"/start {expired}")
    fake.say(ANN + 1, f"/start {revoked}")
    assert "expired" in answered(fake, ANN)[0]
    assert "withdrawn" in answered(fake, ANN + 1)[0]
    assert store.subscription(str(ANN)) is None and store.subscription(str(ANN + 1)) is None


def test_in_a_group_only_an_administrators_invite_subscribes(project: Project, fake: FakeTelegramBot,
                                                            bot: BotThread) -> None:
    store = store_of(project)
    code, _ = subscribers.create_invite(store, Visibility.parse("internal"))
    fake.say(GROUP, f"/start {code}", user=MEMBER)
    fake.say(GROUP, "/status", user=MEMBER)
    assert fake.wait_for(lambda: len(fake.member_checks) >= 2)
    fake.say(GROUP, f"/start@status_bot {code}", user=ADMIN)
    texts = answered(fake, GROUP)
    assert len(texts) == 1 and "internal status updates" in texts[0]
    sub = store.subscription(str(GROUP))
    assert sub is not None and sub.visibility == Visibility.parse("internal")
    assert store.invite(subscribers.code_hash(code)).uses == 1  # type: ignore[union-attr]
    fake.say(GROUP, "/start", user=ADMIN)  # a group subscribes only with an invite
    assert "invite link" in answered(fake, GROUP, 2)[1]


def test_free_text_gets_the_short_help_once_a_minute(project: Project, fake: FakeTelegramBot,
                                                     bot: BotThread) -> None:
    for text in ("hello?", "/nonsense", "anyone there"):
        fake.say(ANN, text)
    fake.say(ANN, "/help")
    texts = answered(fake, ANN, 2)
    assert texts[0] == "I only understand commands. /help lists them."
    assert "/components" in texts[1] and len(texts) == 2
    sent = fake.messages[ANN]
    assert sent[1].time - sent[0].time >= 1.0  # one message a second into one chat
    assert fake.too_many_count == 0


# -- /components -----------------------------------------------------------------------------


def keyboard(fake: FakeTelegramBot, chat: int) -> list[str]:
    markup = fake.messages[chat][-1].reply_markup or {}
    return [button["text"] for row in markup.get("inline_keyboard", []) for button in row]


def test_components_narrow_within_the_invite_and_save_at_once(project: Project, fake: FakeTelegramBot,
                                                              bot: BotThread) -> None:
    store = store_of(project)
    code, _ = subscribers.create_invite(store, Visibility.parse("audience:acme"), ["api", "web"])
    fake.say(ANN, f"/start {code}")
    answered(fake, ANN)
    fake.say(ANN, "/components")
    answered(fake, ANN, 2)
    assert keyboard(fake, ANN) == ["✅ API", "✅ Website"]  # the invite's components only: no Database
    message_id = fake.messages[ANN][-1].message_id
    fake.tap(ANN, message_id, "c:web")
    assert fake.wait_for(lambda: len(fake.markup_edits) == 1)
    assert keyboard(fake, ANN) == ["✅ API", "▫️ Website"] and fake.answers[-1]["text"] == "Saved."
    assert store.subscription(str(ANN)).components == ("api",)  # type: ignore[union-attr]
    fake.tap(ANN, message_id, "c:api")  # the last one ticked
    fake.tap(ANN, message_id, "c:db")  # a forged button: beyond the invite
    assert fake.wait_for(lambda: len(fake.answers) == 3)
    assert "at least one" in fake.answers[1]["text"] and "no longer exists" in fake.answers[2]["text"]
    assert store.subscription(str(ANN)).components == ("api",)  # type: ignore[union-attr]
    assert len(fake.markup_edits) == 1 and fake.too_many_count == 0
    fake.tap(ANN, message_id, "c:web")  # every one of the invite's again: still not every component
    assert fake.wait_for(lambda: len(fake.markup_edits) == 2)
    again = store.subscription(str(ANN))
    assert again is not None and again.components == ("api", "web") and not again.wants({"db"})


def test_in_a_group_only_an_administrator_may_tap(project: Project, fake: FakeTelegramBot, bot: BotThread) -> None:
    store = store_of(project)
    code, _ = subscribers.create_invite(store, Visibility.parse("public"))
    fake.say(GROUP, f"/start {code}", user=ADMIN)
    answered(fake, GROUP)
    fake.say(GROUP, "/components", user=ADMIN)
    answered(fake, GROUP, 2)
    assert keyboard(fake, GROUP) == ["✅ API", "✅ Website", "✅ Database"]
    message_id = fake.messages[GROUP][-1].message_id
    fake.tap(GROUP, message_id, "c:db", user=MEMBER)
    assert fake.wait_for(lambda: len(fake.answers) == 1)
    assert "administrators" in fake.answers[0]["text"] and fake.markup_edits == []
    assert store.subscription(str(GROUP)).components == ()  # type: ignore[union-attr]
    fake.tap(GROUP, message_id, "c:db", user=ADMIN)
    assert fake.wait_for(lambda: len(fake.markup_edits) == 1)
    assert store.subscription(str(GROUP)).components == ("api", "web")  # type: ignore[union-attr]


def test_a_public_chat_cannot_raise_itself_and_stop_unsubscribes(project: Project, fake: FakeTelegramBot,
                                                                 bot: BotThread) -> None:
    fake.say(ANN, "/start")
    answered(fake, ANN)
    fake.say(ANN, "/start internal")  # no command or argument chooses a visibility
    fake.say(ANN, "/start")
    texts = answered(fake, ANN, 3)
    assert "not valid" in texts[1] and "already subscribed" in texts[2]
    store = store_of(project)
    assert store.subscription(str(ANN)).visibility == Visibility.parse("public")  # type: ignore[union-attr]
    fake.say(ANN, "/stop")
    fake.say(ANN, "/stop")
    texts = answered(fake, ANN, 5)
    assert "Unsubscribed" in texts[3] and "not subscribed" in texts[4]
    assert not store.subscription(str(ANN)).active  # type: ignore[union-attr]


# -- /status ---------------------------------------------------------------------------------

PRIVATE = {
    "title": "TITLE-SECRET-9431",
    "span": "SPAN-SECRET-5521",
    "note": "NOTE-SECRET-7702",
    "ticket": "TICKET-SECRET-3318",
    "acme": "ACME-DETAIL-6604",
    "globex": "GLOBEX-DETAIL-1187",
    "maintenance": "MAINT-SECRET-2290",
}


@pytest.fixture
def incidents(project: Project) -> None:
    project.write_config(AUDIENCES)
    result = project.cli(
        "post", "--yes", "--title", f"API errors [private]{PRIVATE['title']}[/private]", "-C", "api=partial_outage",
        "--private", PRIVATE["note"], "--ticket", PRIVATE["ticket"], "--customer", "acme",
        "--for", "acme", PRIVATE["acme"], "--for", "globex", PRIVATE["globex"],
        f"Errors on the API. [private]{PRIVATE['span']}[/private] [for acme]{PRIVATE['acme']} too.[/for]",
    )
    assert result.exit_code == 0, result.output
    scheduled = project.cli("maintenance", "schedule", "--yes", "--title", "Database upgrade", "--start", "2d",
                            "--end", "2h", "-C", "db", "--private", PRIVATE["maintenance"], "Upgrading the database.")
    assert scheduled.exit_code == 0, scheduled.output


def subscribe_as(project: Project, chat: int, visibility: str) -> None:
    store = store_of(project)
    code, _ = subscribers.create_invite(store, Visibility.parse(visibility))
    subscribers.redeem(store, code, chat, subscribers.ChatKind.PRIVATE)


@pytest.mark.parametrize(
    ("visibility", "shown", "hidden"),
    [
        ("public", [], list(PRIVATE)),
        ("audience:acme", ["acme"], ["title", "span", "note", "ticket", "globex", "maintenance"]),
        ("audience:globex", ["globex"], ["title", "span", "note", "ticket", "acme", "maintenance"]),
        ("internal", list(PRIVATE), []),
    ],
    ids=["public", "acme", "globex", "internal"],
)
def test_status_shows_each_chat_exactly_its_view(
    project: Project, fake: FakeTelegramBot, incidents: None, visibility: str, shown: list[str], hidden: list[str],
) -> None:
    if visibility != "public":
        subscribe_as(project, ANN, visibility)
    with bot_running(project.config, fake):
        fake.say(ANN, "/status")
        text = "\n".join(answered(fake, ANN))
    assert "API errors" in text and "Errors on the API." in text and "Database upgrade" in text
    assert "Upcoming maintenance" in text and "API: Partial outage" in text
    for key in shown:
        assert PRIVATE[key] in text, key
    for key in hidden:
        assert PRIVATE[key] not in text, key
    if visibility == "public":
        assert "Acme Corp" not in text and "Globex" not in text


def test_status_of_a_chat_that_chose_components(project: Project, fake: FakeTelegramBot, incidents: None) -> None:
    subscribe_as(project, ANN, "public")
    subscribers.choose_components(store_of(project), ANN, ["db"], ["api", "web", "db"])
    with bot_running(project.config, fake):
        fake.say(ANN, "/status")
        text = "\n".join(answered(fake, ANN))
    assert "API errors" not in text and "No open incidents." in text
    assert "Database: Operational" in text and "API:" not in text and "Database upgrade" in text


def test_status_is_refused_by_the_egress_guard_when_public_text_names_a_customer(
    project: Project, fake: FakeTelegramBot, tmp_path: Path,
) -> None:
    from tests.unsent_records import import_unsent

    project.write_config(AUDIENCES)
    # A customer named in the public title: `post` refuses that whole, so it reaches the store another way
    # (an import); the channels refuse it at send time, and so does /status.
    import_unsent(project, tmp_path, "post", "--title", "Outage", "-C", "api", "Errors.",
                  edit=lambda incident, update: incident.__setitem__("title", "Outage for Acme Corp"))
    with bot_running(project.config, fake):
        fake.say(ANN, "/status")
        text = "\n".join(answered(fake, ANN))
    assert "Acme Corp" not in text and "cannot be shown here just now" in text


def test_the_bot_speaks_the_pages_language(project: Project, fake: FakeTelegramBot) -> None:
    from tests.conftest import BASE_CONFIG

    project.write_config(AUDIENCES, base=BASE_CONFIG.replace('timezone = "Europe/Berlin"',
                                                             'timezone = "Europe/Berlin"\nlanguage = "sv"'))
    with bot_running(project.config, fake):
        fake.say(ANN, "/start")
        fake.say(ANN, "/status")
        texts = answered(fake, ANN, 2)
    assert texts[0].startswith("Prenumererar: den här chatten får de offentliga statusuppdateringarna")
    assert "Inga öppna incidenter." in texts[1]


# -- attacks and accidents -------------------------------------------------------------------


def test_a_chat_flooding_the_bot_is_paced_and_others_are_still_answered(
    project: Project, fake: FakeTelegramBot, bot: BotThread,
) -> None:
    for _ in range(15):
        fake.say(ANN, "/help")
    fake.say(ANN + 1, "/help")
    assert fake.wait_for(lambda: len(fake.texts(ANN + 1)) == 1, 5)  # not queued behind the flood
    assert fake.wait_for(lambda: not fake.pending(), 10)
    fake.wait_for(lambda: False, 3)  # let the paced replies finish
    times = [m.time for m in fake.messages[ANN]]
    assert 2 <= len(times) <= 8  # replies that would wait too long were dropped
    assert all(later - earlier >= 1.0 for earlier, later in zip(times, times[1:], strict=False))
    assert fake.too_many_count == 0


def test_blocked_removed_and_migrated_chats(project: Project, fake: FakeTelegramBot, bot: BotThread) -> None:
    store = store_of(project)
    for chat in (ANN, ANN + 1):
        fake.say(chat, "/start")
        answered(fake, chat)
    me = {"id": 7000000001, "is_bot": True, "first_name": "Status", "username": "status_bot"}
    fake.push("my_chat_member", {
        "chat": fake.chat(ANN).as_json(), "from": fake.user(ANN), "date": 1,
        "old_chat_member": {"status": "member", "user": me},
        "new_chat_member": {"status": "kicked", "until_date": 0, "user": me}})
    fake.blocked.add(ANN + 1)  # blocked, but the bot hears of it only when a reply is refused
    fake.say(ANN + 1, "/help")
    old_group = -4001
    code, _ = subscribers.create_invite(store, Visibility.parse("public"))
    fake.members[(old_group, ADMIN)] = "creator"
    fake.say(old_group, f"/start {code}", user=ADMIN)
    answered(fake, old_group)
    fake.push("message", {"message_id": 77, "date": 1, "chat": fake.chat(old_group).as_json(),
                          "from": fake.user(ADMIN), "migrate_to_chat_id": -1004001})
    assert fake.wait_for(lambda: store.subscription("-1004001") is not None)
    assert fake.wait_for(lambda: not store.subscription(str(ANN)).active)  # type: ignore[union-attr]
    assert fake.wait_for(lambda: not store.subscription(str(ANN + 1)).active)  # type: ignore[union-attr]
    assert store.subscription(str(old_group)) is None


def test_an_edited_start_and_a_bots_message_are_not_commands(project: Project, fake: FakeTelegramBot,
                                                             bot: BotThread) -> None:
    store = store_of(project)
    code, _ = subscribers.create_invite(store, Visibility.parse("internal"), uses=5)
    fake.say(ANN, "/start not-yet-the-code", kind="edited_message")
    fake.push("message", {"message_id": 5, "date": 1, "chat": {"id": ANN + 7, "type": "private", "first_name": "B"},
                          "from": {"id": ANN + 7, "is_bot": True, "first_name": "B"}, "text": f"/start {code}",
                          "entities": [{"type": "bot_command", "offset": 0, "length": 6}]})
    fake.say(ANN + 2, "/help")  # handled after the two above: by then they were ignored
    answered(fake, ANN + 2)
    assert fake.texts(ANN) == [] and fake.texts(ANN + 7) == []
    assert store.invite(subscribers.code_hash(code)).uses == 0  # type: ignore[union-attr]


def test_an_anonymous_administrator_is_asked_to_send_as_himself(project: Project, fake: FakeTelegramBot,
                                                               bot: BotThread) -> None:
    store = store_of(project)
    code, _ = subscribers.create_invite(store, Visibility.parse("internal"))
    fake.say(GROUP, f"/start {code}", sender_chat=GROUP)
    assert "as yourself" in answered(fake, GROUP)[0]
    assert store.subscription(str(GROUP)) is None


def test_a_token_revoked_while_running_stops_the_bot(project: Project, fake: FakeTelegramBot) -> None:
    from broadcaster.errors import ConfigError

    project.write_config(AUDIENCES)
    thread = BotThread(project.config, fake).start()
    fake.token = "7000000001:revoked-now"  # Telegram answers 401 from now on
    fake.say(ANN, "/help")  # ends the long poll in progress; the next one is refused
    thread.join()  # the bot stops by itself
    assert isinstance(thread.error, ConfigError) and "rejected the bot token" in str(thread.error)


def test_the_application_never_holds_the_token() -> None:
    from broadcaster.bot.pacing import Pacer
    from broadcaster.bot.runner import BotSettings, build_application

    app = build_application(BotSettings(TOKEN, "http://127.0.0.1:9"), [], Pacer().limiter, webhook=False)
    secret = TOKEN.split(":")[1]
    assert secret not in repr(app) and secret not in repr(app.bot) and secret not in str(vars(app.bot))


def test_what_a_chat_sent_while_the_bot_was_down_is_answered_in_order(project: Project,
                                                                      fake: FakeTelegramBot) -> None:
    project.write_config(AUDIENCES)
    for text in ("/start", "/components", "/stop", "/start"):
        fake.say(ANN, text)
    with bot_running(project.config, fake):
        texts = answered(fake, ANN, 4)
    assert [t.split(":")[0].split(" ")[0] for t in texts] == ["Subscribed", "Choose", "Unsubscribed", "Subscribed"]


def test_a_long_status_is_cut_with_a_pointer_to_the_page(project: Project, fake: FakeTelegramBot) -> None:
    project.write_config(AUDIENCES)
    for n in range(8):
        words = " ".join(f"word{n}x{i}" for i in range(300))
        assert project.cli("post", "--yes", "--title", f"Incident {n}", "-C", "api", words).exit_code == 0
    with bot_running(project.config, fake):
        fake.say(ANN, "/status")
        assert fake.wait_for(lambda: len(fake.texts(ANN)) == 4, 15)
        fake.wait_for(lambda: False, 2)  # nothing more comes
    texts = fake.texts(ANN)
    assert len(texts) == 4 and texts[-1] == "There is more than fits here: see https://status.example.com/"
    assert fake.too_many_count == 0


def test_an_invite_that_changes_a_chats_visibility_says_so(project: Project, fake: FakeTelegramBot,
                                                          bot: BotThread) -> None:
    fake.say(ANN, "/components")  # not subscribed yet
    fake.say(ANN, "/start")
    code, _ = subscribers.create_invite(store_of(project), Visibility.parse("audience:acme"))
    fake.say(ANN, f"/start {code}")
    texts = answered(fake, ANN, 3)
    assert "not subscribed" in texts[0] and "public status updates" in texts[1]
    assert texts[2].startswith("This invite changed which updates this chat receives.") and "Acme Corp" in texts[2]


def test_a_button_under_an_old_keyboard_after_stop_saves_nothing(project: Project, fake: FakeTelegramBot,
                                                                 bot: BotThread) -> None:
    fake.say(ANN, "/start")
    fake.say(ANN, "/components")
    answered(fake, ANN, 2)
    keyboard_id = fake.messages[ANN][-1].message_id
    fake.say(ANN, "/stop")
    answered(fake, ANN, 3)
    fake.tap(ANN, keyboard_id, "c:db")
    assert fake.wait_for(lambda: len(fake.answers) == 1)
    assert "not subscribed" in fake.answers[0]["text"] and fake.markup_edits == []
    assert store_of(project).subscription(str(ANN)).components == ()  # type: ignore[union-attr]


def test_a_429_is_waited_out_and_the_reply_still_arrives(project: Project, fake: FakeTelegramBot,
                                                         bot: BotThread) -> None:
    from tests.fakes.base import Fault, Response

    flood = {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
             "parameters": {"retry_after": 1}}
    fake.fail(Fault(match="sendMessage", response=Response(429, flood)))
    fake.say(ANN, "/help")
    assert "/components" in answered(fake, ANN)[0]
    assert len(fake.received("/sendMessage")) == 1  # the refused one never reached the fake's handler
