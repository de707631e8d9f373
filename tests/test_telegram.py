"""The Telegram channel: the real python-telegram-bot against FakeTelegram on loopback.

Every assertion about what was posted reads the fake's record of what it
received (and parsed, with Telegram's HTML rules), not what the channel
believes it sent.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
import traceback
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import broadcaster.channels.telegram as telegram_module
import pytest
from broadcaster.channels._ratelimit import RateLimiter
from broadcaster.channels.telegram import TelegramChannel
from broadcaster.messages.model import AffectedComponent, ComponentStatus, Impact, Incident, Status, Update
from broadcaster.messages.visibility import UpdateView, private_view, public_view

from broadcaster.config import ChannelConfig, Secret
from broadcaster.config_loader import parse
from broadcaster.delivery import Receipt, Rendered, SendLog, ThreadRef
from broadcaster.errors import ConfigError, DeliveryError
from tests.conftest import Project
from tests.fakes.base import Fault, Response
from tests.fakes.telegram import FakeTelegram, utf16_len

TOKEN = "123456:AAHsecret-Token_value"
OPS, STATUS, ANN = -1001234567890, "@acmestatus", 4242
NOW = datetime(2026, 3, 4, 9, 30, tzinfo=UTC)
URL = "https://status.example.com/incidents/api-errors"
T = TypeVar("T")


# -- helpers ---------------------------------------------------------------------


def make_channel(
    fake: FakeTelegram,
    chats: list[Any],
    *,
    visibility: str = "public",
    token: str = TOKEN,
    api_url: str | None = None,
    **options: Any,
) -> TelegramChannel:
    config = ChannelConfig(
        "tg",
        "telegram",
        visibility,
        (),
        api_url or fake.url,
        {"token": Secret("TG_TOKEN", token), "chat_ids": chats, **options},
    )
    return TelegramChannel(config)


def run(channel: TelegramChannel, body: Callable[[TelegramChannel], Awaitable[T]]) -> T:
    """Run ``body`` on a fresh event loop, closing the channel after, like one CLI command."""

    async def main() -> T:
        try:
            return await body(channel)
        finally:
            await channel.aclose()

    return asyncio.run(main())


def send(
    channel: TelegramChannel, rendered: Rendered, target: str, thread: ThreadRef | None = None
) -> Receipt:
    return run(channel, lambda c: c.send(rendered, target=target, thread=thread))


def send_error(
    channel: TelegramChannel, rendered: Rendered, target: str, thread: ThreadRef | None = None
) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        send(channel, rendered, target, thread)
    return caught.value


def incident(title: str = "API errors", **changes: Any) -> Incident:
    fields: dict[str, Any] = {
        "id": "api-errors",
        "title": title,
        "impact": Impact.MAJOR,
        "status": Status.INVESTIGATING,
        "created_at": NOW,
    }
    return Incident(**(fields | changes))


def update(message: str = "We are looking into failed API calls.", sequence: int = 1, **changes: Any) -> Update:
    fields: dict[str, Any] = {
        "incident_id": "api-errors",
        "sequence": sequence,
        "created_at": NOW + timedelta(minutes=10 * (sequence - 1)),
        "status": Status.INVESTIGATING,
        "raw_message": message,
    }
    return Update(**(fields | changes))


def view(message: str = "We are looking into failed API calls.", *, title: str = "API errors",
         private: bool = False, url: str = URL, **changes: Any) -> UpdateView:
    cut = private_view if private else public_view
    return cut(incident(title), update(message, **changes), url=url)


def fake_telegram(**kwargs: Any) -> FakeTelegram:
    kwargs.setdefault("chats", {OPS: "ops", STATUS: "Acme status", ANN: "Ann"})
    return FakeTelegram(token=TOKEN, **kwargs)


@pytest.fixture(scope="module")
def server() -> Any:
    with fake_telegram() as running:
        yield running


@pytest.fixture
def fake(server: FakeTelegram) -> FakeTelegram:
    server.reset()
    return server


# -- config ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({}, "chat_ids: is required"),
        ({"chat_ids": []}, "non-empty list"),
        ({"chat_ids": "@acmestatus"}, "non-empty list"),
        ({"chat_ids": [1.5]}, "is not a chat"),
        ({"chat_ids": [True]}, "is not a chat"),
        ({"chat_ids": ["acmestatus"]}, "is not a chat"),
        ({"chat_ids": ["@ab"]}, "is not a chat"),
        ({"chat_ids": [Secret("CHAT", "-100")]}, "chat ids are not secrets"),
        ({"chat_ids": [-100, "-100"]}, "listed twice"),
        ({"chat_ids": [-100], "chat_id": -200}, "not both"),
        ({"chat_ids": [-100], "disable_notification": "yes"}, "true or false"),
    ],
    ids=["missing", "empty", "string-not-list", "float", "bool", "no-at", "short-name",
         "secret", "duplicate", "both-keys", "bad-flag"],
)
def test_validate_options_refuses_mistakes(options: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem) as caught:
        TelegramChannel.validate_options({"token": Secret("T", TOKEN), **options}, "x.toml: channels.tg.")
    assert "x.toml: channels.tg." in str(caught.value)


def test_config_file_loads_and_every_chat_is_a_target() -> None:
    data = {"channels": {"ops": {"type": "telegram", "token": "${TG_TOKEN}", "visibility": "private",
                                 "chat_ids": [OPS, "@acmestatus", "-1009"], "disable_notification": True}}}
    config = parse(data, None, {"TG_TOKEN": TOKEN})
    channel = TelegramChannel(config.channels["ops"])
    assert channel.targets() == (str(OPS), "@acmestatus", "-1009")
    single = parse({"channels": {"one": {"type": "telegram", "token": "${T}", "chat_id": 77}}}, None, {"T": TOKEN})
    assert TelegramChannel(single.channels["one"]).targets() == ("77",)


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ({"token": TOKEN, "chat_ids": [1]}, "holds a secret written in the file"),
        ({"chat_ids": [1]}, "token: is required"),
        ({"token": "${T}", "chat_ids": [1], "chat": 1}, "unknown key"),
        ({"token": "${T}"}, "chat_ids: is required"),
    ],
    ids=["plain-token", "no-token", "unknown-key", "no-chats"],
)
def test_config_file_mistakes_name_the_key(table: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        parse({"channels": {"tg": {"type": "telegram", **table}}}, None, {"T": TOKEN})


# -- happy path and threading ------------------------------------------------------


def test_send_posts_html_to_the_chat_without_calling_get_me(fake: FakeTelegram) -> None:
    channel = make_channel(fake, [OPS])
    receipt = send(channel, channel.render(view()), str(OPS))

    [message] = fake.messages[OPS]
    assert receipt == Receipt(remote_id=f"{OPS}:{message.message_id}")
    assert message.text.startswith("🔴 Investigating: API errors\n\nWe are looking into failed API calls.")
    assert {"type": "bold", "offset": 3, "length": len("Investigating: API errors")} in message.entities
    assert {"type": "text_link", "url": URL} .items() <= next(
        e for e in message.entities if e["type"] == "text_link").items()
    assert message.reply_to_message_id is None and message.disable_notification is False
    [request] = fake.received("sendMessage")
    assert request.form["parse_mode"] == "HTML"
    assert request.form["link_preview_options"] == '{"is_disabled": true}'
    assert fake.received("getMe") == []


def test_disable_notification_reaches_telegram(fake: FakeTelegram) -> None:
    channel = make_channel(fake, [STATUS], disable_notification=True)
    send(channel, channel.render(view()), STATUS)
    assert fake.messages[STATUS][0].disable_notification is True


def test_three_updates_from_separate_runs_read_as_one_thread_in_every_chat() -> None:
    # Separate CLI runs are seconds apart; here they are not, so the fake's per-chat
    # limit (which the limiter of each run cannot see across runs) is off.
    with fake_telegram(enforce_limits=False) as fake:
        receipts: dict[str, list[Receipt]] = {str(OPS): [], STATUS: []}
        statuses = (Status.INVESTIGATING, Status.IDENTIFIED, Status.RESOLVED)
        for sequence, status in enumerate(statuses, start=1):
            channel = make_channel(fake, [OPS, STATUS])  # a new command each time
            rendered = channel.render(view(f"Update {sequence}.", sequence=sequence, status=status))
            for target in channel.targets():
                earlier = receipts[target]
                thread = ThreadRef(earlier[0].remote_id, earlier[-1].remote_id) if earlier else None
                earlier.append(send(channel, rendered, target, thread))

        for key in (OPS, STATUS):
            first, second, third = fake.messages[key]
            assert first.reply_to_message_id is None
            assert second.reply_to_message_id == first.message_id
            assert third.reply_to_message_id == first.message_id
            assert [m.text.split("\n\n")[1] for m in (first, second, third)] == [
                "Update 1.", "Update 2.", "Update 3."]
            assert third.text.startswith("🟢 Resolved: API errors")


def test_a_reply_to_a_deleted_first_message_still_posts(fake: FakeTelegram) -> None:
    channel = make_channel(fake, [OPS])
    send(channel, channel.render(view()), str(OPS), ThreadRef(f"{OPS}:999", f"{OPS}:999"))
    [message] = fake.messages[OPS]
    assert message.reply_to_message_id is None
    assert '"allow_sending_without_reply": true' in fake.received("sendMessage")[0].form["reply_parameters"]


# -- long messages -----------------------------------------------------------------


def long_message(length: int = 10_000) -> str:
    sentences: list[str] = []
    paragraphs: list[str] = []
    words = 0
    while sum(map(len, paragraphs)) + sum(map(len, sentences)) < length:
        words += 1
        sentences.append(f"Sentence {words} says the queue <{words}> & retries are slow. ")
        if len(sentences) == 12:
            paragraphs.append("".join(sentences).strip())
            sentences = []
    paragraphs.append("".join(sentences).strip())
    return "\n\n".join(p for p in paragraphs if p)


def test_a_10000_character_update_arrives_split_and_every_part_is_accepted(fake: FakeTelegram) -> None:
    message = long_message()
    channel = make_channel(fake, [OPS])
    rendered = channel.render(view(message))
    assert len(rendered.parts) >= 3

    receipt = send(channel, rendered, str(OPS), ThreadRef(f"{OPS}:1", f"{OPS}:1"))

    posted = fake.messages[OPS]
    assert len(posted) == len(rendered.parts)
    assert all(utf16_len(m.text) <= 4096 for m in posted)
    assert receipt.remote_id == f"{OPS}:{posted[0].message_id}"
    assert all(m.reply_to_message_id == posted[0].message_id for m in posted[1:])
    received = " ".join(m.text for m in posted)
    for sentence in message.replace("\n\n", " ").split(". "):
        assert sentence.strip() in received
    gaps = [b.time - a.time for a, b in itertools.pairwise(posted)]
    assert min(gaps) >= 1.0  # one message a second into one chat
    assert fake.too_many_count == 0


def test_a_part_slow_in_transit_does_not_bring_the_next_one_too_close(fake: FakeTelegram) -> None:
    # Found on a loaded CI machine: the next part was spaced from when the slow one left, not
    # from when it arrived, so the two reached Telegram under a second apart and got a 429.
    channel = make_channel(fake, [OPS])
    rendered = channel.render(view(long_message()))
    fake.fail(Fault(match="sendMessage", delay=0.6))

    send(channel, rendered, str(OPS), ThreadRef(f"{OPS}:1", f"{OPS}:1"))

    posted = fake.messages[OPS]
    assert len(posted) == len(rendered.parts)
    assert fake.too_many_count == 0
    assert min(b.time - a.time for a, b in itertools.pairwise(posted)) >= 1.0


def test_a_retry_after_a_failed_part_resumes_instead_of_repeating(fake: FakeTelegram) -> None:
    """The engine keeps one SendLog per delivery across attempts: the retry sends only the rest."""
    channel = make_channel(fake, [OPS])
    rendered = channel.render(view(long_message()))
    log = SendLog()

    async def body(c: TelegramChannel) -> Receipt:
        task = asyncio.create_task(c.send(rendered, target=str(OPS), thread=None, log=log))
        while not fake.messages[OPS]:
            await asyncio.sleep(0.01)
        # The next part waits about a second for the per-chat limit: fail it meanwhile.
        fake.fail(Fault(match="sendMessage", response=Response(503, {
            "ok": False, "error_code": 503, "description": "Service Unavailable"})))
        with pytest.raises(DeliveryError) as caught:
            await task
        assert caught.value.retryable and not caught.value.outcome_unknown
        return await c.send(rendered, target=str(OPS), thread=None, log=log)

    receipt = run(channel, body)
    posted = fake.messages[OPS]
    assert len(posted) == len(rendered.parts)
    assert receipt.remote_id == f"{OPS}:{posted[0].message_id}"
    assert log.parts == [f"{OPS}:{m.message_id}" for m in posted]


def test_a_new_process_resumes_from_the_confirmed_parts_it_is_given(fake: FakeTelegram) -> None:
    """What a run stored (the confirmed parts) is all a later run needs: a fresh channel sends the rest."""
    rendered = make_channel(fake, [OPS]).render(view(long_message()))
    assert len(rendered.parts) >= 3
    first = make_channel(fake, [OPS])
    fake.fail(Fault(match="sendMessage", after=2, response=Response(503, {
        "ok": False, "error_code": 503, "description": "Service Unavailable"})))
    stored: list[str] = []
    log = SendLog(on_part=stored.append)

    async def cut(c: TelegramChannel) -> None:
        with pytest.raises(DeliveryError):
            await c.send(rendered, target=str(OPS), thread=None, log=log)

    run(first, cut)
    assert len(stored) == 2 and len(fake.messages[OPS]) == 2
    later = make_channel(fake, [OPS])
    receipt = run(later, lambda c: c.send(rendered, target=str(OPS), thread=None, log=SendLog(parts=list(stored))))
    posted = fake.messages[OPS]
    assert len(posted) == len(rendered.parts)
    assert receipt.remote_id == f"{OPS}:{posted[0].message_id}"
    assert all(m.reply_to_message_id == posted[0].message_id for m in posted[1:])


# -- nasty input ------------------------------------------------------------------

NASTY = [
    ("script", "<script>alert('x')</script> and <b>not bold</b>"),
    ("ampersands", "AT&T & Co; &amp; stays literal; &lt;not an entity&gt; &#169;"),
    ("slack-mention", "<!channel> <@U123> <#C1|general>"),
    ("markdown", r"*_[]()~>#+-=|{}.! `code` **bold** __u__ ||spoiler||"),
    ("emoji", "🔥💥 👩🏽‍💻 deploy 🇺🇦 ✅"),
    ("rtl", "الخدمة متوقفة مؤقتاً — שירות מושבת"),
    ("cjk", "服务中断。我们正在调查。サービス障害"),
    ("quotes", "He said \"it's fine\" 'really'"),
    ("angle-lines", "a < b > c\n>quoted\n< tail"),
]


@pytest.mark.parametrize(("text"), [t for _, t in NASTY], ids=[i for i, _ in NASTY])
def test_nasty_text_is_accepted_and_arrives_literally(fake: FakeTelegram, text: str) -> None:
    channel = make_channel(fake, [STATUS])
    shown = view(f"{text}\n\nSecond: {text}", title=f"Title {text}")
    send(channel, channel.render(shown), STATUS)

    [message] = fake.messages[STATUS]
    assert f"Investigating: Title {text}" in message.text
    assert shown.message in message.text
    assert not [e for e in message.entities if e["type"] not in ("bold", "italic", "text_link")]


def test_empty_optional_fields_leave_no_trace(fake: FakeTelegram) -> None:
    channel = make_channel(fake, [OPS])
    send(channel, channel.render(view("Short.", url="")), str(OPS))
    [message] = fake.messages[OPS]
    assert message.text == "🔴 Investigating: API errors\n\nShort."


def test_components_times_and_link_are_shown(fake: FakeTelegram) -> None:
    channel = make_channel(fake, [OPS])
    shown = view(
        "Fix deployed.",
        status=Status.MONITORING,
        components=(AffectedComponent("api", ComponentStatus.PARTIAL_OUTAGE),
                    AffectedComponent("db", ComponentStatus.DEGRADED_PERFORMANCE)),
        etr=NOW.replace(hour=11, minute=0),
        next_update_by=NOW + timedelta(days=1),
    )
    send(channel, channel.render(shown), str(OPS))
    text = fake.messages[OPS][0].text
    assert "• api: Partial outage\n• db: Degraded performance" in text
    assert "ETR: 11:00 UTC" in text
    assert "Next update by: 2026-03-05 09:30 UTC" in text
    assert text.endswith("🔗 Incident page")


def test_private_chat_gets_private_detail_and_public_chat_never_does(fake: FakeTelegram) -> None:
    detail: dict[str, Any] = {"private_note": "db-7 disk full", "customers": ("Globex",), "tickets": ("INC-991",),
              "author": "ann"}
    message = "Errors on login. [private]Caused by PRIVSPAN migration.[/private] Fix under way."
    private_channel = make_channel(fake, [OPS], visibility="private")
    public_channel = make_channel(fake, [STATUS])
    send(private_channel, private_channel.render(view(message, private=True, **detail)), str(OPS))
    send(public_channel, public_channel.render(view(message, **detail)), STATUS)

    private_text = fake.messages[OPS][0].text
    public_text = fake.messages[STATUS][0].text
    assert "🔒 Private: internal only" in private_text
    for secret in ("PRIVSPAN", "db-7 disk full", "Globex", "INC-991", "Posted by: ann"):
        assert secret in private_text
        assert secret not in public_text
    assert "Private" not in public_text
    assert "Errors on login. Fix under way." in public_text


# -- chats that move or refuse -------------------------------------------------------


def test_a_migrated_group_is_followed_and_the_receipt_says_so() -> None:
    with fake_telegram(migrated={-55: -1000055}, enforce_limits=False) as fake:
        channel = make_channel(fake, [-55])
        first = send(channel, channel.render(view()), "-55")
        assert first == Receipt(
            remote_id="-1000055:1",
            notes=("chat -55 migrated to -1000055: replace it in chat_ids in the config",),
        )
        # The next run still has the old id; it lands in the new chat, threaded.
        follow_up = make_channel(fake, [-55])
        send(follow_up, follow_up.render(view("More.", sequence=2)), "-55",
             ThreadRef(first.remote_id, first.remote_id))
        first_message, second_message = fake.messages[-1000055]
        assert second_message.reply_to_message_id == first_message.message_id


def test_a_group_that_moved_twice_in_one_send_leaves_nothing_on_the_wire() -> None:
    """Review 30b: a request Telegram refused because the group moved is not out. The send stayed counted on the
    wire while it followed the group, so a stop then left the chat ``unknown`` though nothing had been posted."""
    with fake_telegram(migrated={-55: -1000055, -1000055: -1000056}, enforce_limits=False) as fake:
        channel = make_channel(fake, [-55])
        log = SendLog()

        async def body(c: TelegramChannel) -> DeliveryError:
            with pytest.raises(DeliveryError) as caught:
                await c.send(c.render(view()), target="-55", thread=None, log=log)
            return caught.value

        refused = run(channel, body)
        assert "more than once" in str(refused) and not refused.outcome_unknown
        assert not log.on_wire and not any(fake.messages.values())


def test_a_send_of_a_stopped_command_says_so_and_is_not_tried_again() -> None:
    """Review 30b: the stop is checked as the request is let out (``SendLog.leaving``), inside the SDK, which wraps
    what the transport raises: it must still read "stopped", not be taken for a failure to connect and retried."""
    with fake_telegram(enforce_limits=False) as fake:
        channel = make_channel(fake, [OPS])
        log = SendLog()
        log.stop()

        async def body(c: TelegramChannel) -> DeliveryError:
            with pytest.raises(DeliveryError) as caught:
                await c.send(c.render(view()), target=str(OPS), thread=None, log=log)
            return caught.value

        stopped = run(channel, body)
        assert "stopped before this request left" in str(stopped) and "connect" not in str(stopped)
        assert not stopped.retryable and not stopped.outcome_unknown
        assert not fake.received("sendMessage")


def test_a_thread_from_the_old_group_is_not_replied_to_in_the_new_one() -> None:
    with fake_telegram(migrated={-55: -1000055}, enforce_limits=False) as fake:
        other = make_channel(fake, [-1000055])
        send(other, other.render(view("Unrelated.")), "-1000055")  # the new chat has a message 1
        channel = make_channel(fake, [-55])
        send(channel, channel.render(view()), "-55", ThreadRef("-55:1", "-55:1"))
        unrelated, ours = fake.messages[-1000055]
        assert unrelated.message_id == 1 and ours.reply_to_message_id is None


def test_a_blocked_chat_fails_alone(fake: FakeTelegram) -> None:
    fake.blocked.add(ANN)
    channel = make_channel(fake, [OPS, ANN, STATUS])
    rendered = channel.render(view())

    async def body(c: TelegramChannel) -> list[Any]:
        return await asyncio.gather(
            *(c.send(rendered, target=t, thread=None) for t in c.targets()), return_exceptions=True)

    ops, ann, status = run(channel, body)
    assert isinstance(ops, Receipt) and isinstance(status, Receipt)
    assert isinstance(ann, DeliveryError) and not ann.retryable
    assert f"Telegram chat {ANN}" in str(ann) and "blocked" in str(ann)
    assert f"remove {ANN} from chat_ids" in str(ann)
    assert len(fake.messages[OPS]) == len(fake.messages[STATUS]) == 1 and not fake.messages[ANN]


# -- errors ---------------------------------------------------------------------------


def error_body(code: int, description: str, **parameters: Any) -> Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    return Response(code, body | ({"parameters": parameters} if parameters else {}))


ERROR_CASES: list[tuple[str, dict[str, Any], bool, float | None, tuple[str, ...]]] = [
    ("429", {"fault": Fault("sendMessage", error_body(429, "Too Many Requests: retry after 7",
                                                        retry_after=7))},
     True, 7, ("rate limited", "wait 7s")),
    ("500", {"fault": Fault("sendMessage", error_body(500, "Internal Server Error"))},
     True, None, ("server error", "Internal Server Error", "may or may not have been posted")),
    ("502-html", {"fault": Fault("sendMessage", Response(502, "<html>bad gateway</html>",
                                                          content_type="text/html"))},
     True, None, ("server error", "may or may not have been posted")),
    ("503", {"fault": Fault("sendMessage", error_body(503, "Service Unavailable"))},
     True, None, ("unavailable", "Service Unavailable")),
    ("hang", {"fault": Fault("sendMessage", hang=3.0), "timeout": 0.3},
     True, None, ("did not answer within 0.3s", "may or may not have been posted")),
    ("reset", {"fault": Fault("sendMessage", reset=True)}, True, None,
     ("broke before it answered", "may or may not have been posted")),
    ("refused", {"api_url": "http://127.0.0.1:9"}, True, None, ("could not connect to Telegram",)),
    ("bad-token", {"token": "123456:AAHwrong-token"}, False, None,
     ("rejected the bot token", "${TG_TOKEN}", "@BotFather")),
    ("malformed-token", {"token": "not a token"}, False, None,
     ("${TG_TOKEN} does not look like a Telegram bot token",)),
    ("unknown-chat", {"target": "-100999"}, False, None,
     ("Telegram chat -100999 was not found", "chat_ids", "bot was added")),
    ("blocked", {"blocked": True}, False, None, ("blocked by the user", "Unblock")),
    ("rejected-content", {"fault": Fault("sendMessage", error_body(
        400, "Bad Request: can't parse entities: Unsupported start tag \"x\" at byte offset 3"))},
     False, None, ("rejected the message text", "broadcaster preview")),
]


MAY_HAVE_ARRIVED = {"500", "502-html", "hang", "reset"}


@pytest.mark.parametrize(
    ("setup", "retryable", "retry_after", "fragments"),
    [case[1:] for case in ERROR_CASES],
    ids=[case[0] for case in ERROR_CASES],
)
def test_errors_are_typed_helpful_and_never_hold_the_token(
    fake: FakeTelegram,
    caplog: pytest.LogCaptureFixture,
    request: pytest.FixtureRequest,
    setup: dict[str, Any],
    retryable: bool,
    retry_after: float | None,
    fragments: tuple[str, ...],
) -> None:
    caplog.set_level(logging.DEBUG)
    if "fault" in setup:
        fake.fail(setup["fault"])
    if setup.get("blocked"):
        fake.blocked.add(OPS)
    token = setup.get("token", TOKEN)
    channel = make_channel(fake, [OPS], token=token, api_url=setup.get("api_url"))
    channel.request_timeout = setup.get("timeout", channel.request_timeout)

    error = send_error(channel, channel.render(view()), setup.get("target", str(OPS)))

    assert error.retryable is retryable
    assert error.retry_after == retry_after
    # Only a failure that proves Telegram did not take the message is plain retryable.
    assert error.outcome_unknown is (request.node.callspec.id in MAY_HAVE_ARRIVED)
    assert "will retry" not in str(error)
    for fragment in fragments:
        assert fragment in str(error)
    everything = str(error) + "".join(traceback.format_exception(error)) + caplog.text
    for secret in {TOKEN, token}:
        assert secret not in everything
    assert not fake.messages[OPS]


def test_the_fakes_own_rate_limit_comes_back_as_retry_after(fake: FakeTelegram) -> None:
    rendered = make_channel(fake, [OPS]).render(view())
    send(make_channel(fake, [OPS]), rendered, str(OPS))
    telegram_module._LIMITERS.clear()  # the next send is another process: it has its own limiter
    # Another run in the same second: the chat's last message is made to stay that recent however long
    # this loaded machine takes to send again (up to 10 s; the fake then asks for 1 to 11 s, whole ones).
    sent_at = fake.chat(OPS).last_sent
    fake.chat(OPS).last_sent = time.monotonic() + 10.0
    error = send_error(make_channel(fake, [OPS]), rendered, str(OPS))
    assert sent_at > 0 and error.retryable and error.retry_after in range(1, 12)
    assert fake.too_many_count == 1 and len(fake.messages[OPS]) == 1


def test_logs_show_requests_but_never_the_token(fake: FakeTelegram, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    channel = make_channel(fake, [OPS, STATUS])

    async def body(c: TelegramChannel) -> None:
        await c.send(c.render(view()), target=str(OPS), thread=None)
        await c.check()

    run(channel, body)
    assert "/bot***/sendMessage" in caplog.text  # httpx's request log was captured
    assert TOKEN not in caplog.text and TOKEN not in repr(channel.config)
    assert any(TOKEN in r.path for r in fake.requests)  # while the server did get it


# -- edit ------------------------------------------------------------------------------


def test_edit_replaces_the_text_in_place(fake: FakeTelegram) -> None:
    channel = make_channel(fake, [STATUS])

    async def body(c: TelegramChannel) -> tuple[Receipt, Receipt]:
        receipt = await c.send(c.render(view("Typo here.")), target=STATUS, thread=None)
        corrected = c.render(view("Corrected text."))
        edited = await c.edit(corrected, target=STATUS, remote_id=receipt.remote_id)
        again = await c.edit(corrected, target=STATUS, remote_id=receipt.remote_id)  # unchanged: fine
        return edited, again

    edited, again = run(channel, body)
    [message] = fake.messages[STATUS]
    assert "Corrected text." in message.text and "Typo" not in message.text
    assert len(fake.edits) == 1
    assert edited == again == Receipt(remote_id=f"{STATUS}:{message.message_id}")


@pytest.mark.parametrize(
    ("long", "remote_id", "reason"),
    [(True, f"{OPS}:1", "needs"), (False, f"{OPS}:77", "Message to edit not found"),
     (False, "", "no message id")],
    ids=["too-long", "deleted", "no-id"],
)
def test_a_correction_that_cannot_be_edited_is_left_to_the_engine_to_post_anew(
    fake: FakeTelegram, long: bool, remote_id: str, reason: str
) -> None:
    """The channel posts nothing itself (review 19e: the edit's rendering, posted as a reply, repeated the original's
    old status and promises); the engine sends the correction rendered as one (test_a_correction_telegram_cannot_edit_*)."""
    from broadcaster.errors import NotEditable

    channel = make_channel(fake, [OPS])

    async def body(c: TelegramChannel) -> Receipt:
        await c.send(c.render(view()), target=str(OPS), thread=None)
        corrected = c.render(view(long_message() if long else "Corrected.", kind="correction"))
        return await c.edit(corrected, target=str(OPS), remote_id=remote_id)

    with pytest.raises(NotEditable, match=reason):
        run(channel, body)
    [original] = fake.messages[OPS]
    assert not fake.edits and "failed API calls." in original.text


def test_edit_errors_are_mapped(fake: FakeTelegram) -> None:
    fake.blocked.add(OPS)
    channel = make_channel(fake, [OPS])
    with pytest.raises(DeliveryError, match="blocked by the user") as caught:
        run(channel, lambda c: c.edit(c.render(view()), target=str(OPS), remote_id=f"{OPS}:1"))
    assert not caught.value.retryable


# -- check -----------------------------------------------------------------------------


def test_check_reports_every_chat_without_posting() -> None:
    with fake_telegram(migrated={-55: -1000055}, blocked={ANN}) as fake:
        channel = make_channel(fake, [OPS, STATUS, ANN, -55, -100999])
        results = run(channel, lambda c: c.check())

    by_target = {r.target: r for r in results}
    assert [r.ok for r in results] == [True, True, False, False, False]
    assert "supergroup 'ops'" in by_target[str(OPS)].detail
    assert "@status_bot" in by_target[str(OPS)].detail
    assert "channel 'Acme status' (@acmestatus)" in by_target[STATUS].detail
    assert "admin" in by_target[STATUS].detail
    assert "blocked" in by_target[str(ANN)].detail
    assert "replace -55 with -1000055 in chat_ids" in by_target["-55"].detail
    assert "was not found" in by_target["-100999"].detail
    assert len(fake.received("getMe")) == 1 and not fake.received("sendMessage")


def test_check_with_a_bad_token_says_so_once(fake: FakeTelegram) -> None:
    channel = make_channel(fake, [OPS, STATUS], token="123456:AAHwrong")
    [result] = run(channel, lambda c: c.check())
    assert not result.ok and "rejected the bot token" in result.detail
    assert "AAHwrong" not in result.detail


# -- rate limits -------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_limiter_spaces_all_chats_and_each_chat() -> None:
    clock = Clock()
    limiter = RateLimiter(30, 1.0, margin=1.0, clock=clock)
    delays = [limiter.reserve(f"chat{i}") for i in range(3)]
    assert delays == pytest.approx([0, 1 / 30, 2 / 30])
    assert limiter.reserve("chat0") == pytest.approx(1.0)  # its second message waits a second
    clock.now += 5
    assert limiter.reserve("chat9") == 0  # a quiet limiter does not make anyone wait


def test_the_window_counts_a_message_until_a_second_after_its_answer() -> None:
    clock = Clock()
    limiter = RateLimiter(3, 1.0, clock=clock)

    async def three_out() -> None:
        for _ in range(3):
            await limiter.admit()

    asyncio.run(three_out())
    assert limiter.free_at(clock.now) is None  # full, and nothing answered: it waits for an answer
    clock.now += 5  # however long a request is in transit, it still counts
    assert limiter.counted(clock.now) == 3
    limiter.landed()
    assert limiter.free_at(clock.now) == pytest.approx(clock.now + 1.0)
    clock.now += 0.999
    assert limiter.counted(clock.now) == 3  # it may have arrived just before its answer
    clock.now += 0.002
    assert limiter.counted(clock.now) == 2 and limiter.free_at(clock.now) == clock.now


def test_the_window_lets_waiters_through_in_order_and_skips_cancelled_ones() -> None:
    limiter = RateLimiter(2, 1.0)
    order: list[int] = []

    async def one(n: int) -> None:
        await limiter.admit()
        order.append(n)
        await asyncio.sleep(0.01)
        limiter.landed()

    async def body() -> float:
        started = time.monotonic()
        tasks = [asyncio.create_task(one(n)) for n in range(6)]
        await asyncio.sleep(0)
        tasks[3].cancel()  # a deadline while it waits: it must not hold a place
        await asyncio.gather(*tasks, return_exceptions=True)
        return time.monotonic() - started

    elapsed = asyncio.run(body())
    assert order == [0, 1, 2, 4, 5]
    assert 2.0 <= elapsed < 3.5  # two a second: the fifth waits two windows
    assert limiter.counted(time.monotonic()) <= 2


def test_requests_slow_in_transit_do_not_bunch_into_one_second_at_the_server() -> None:
    # The cause of the 429s the 200-chat test saw under load: the window counted a message
    # when it left, so messages held up in transit (here the first eight, 0.8 s each, with
    # the rest queued behind them) arrived in the same second as the ones after them.
    chats = {-1000000000001 - i: f"chat {i}" for i in range(45)}
    with fake_telegram(chats=chats) as fake:
        fake.fail(*[Fault(match="sendMessage", delay=0.8) for _ in range(8)])
        channel = make_channel(fake, list(chats))
        rendered = channel.render(view())

        async def body(c: TelegramChannel) -> list[Receipt]:
            return await asyncio.gather(*(c.send(rendered, target=t, thread=None) for t in c.targets()))

        run(channel, body)
    assert fake.too_many_count == 0
    assert all(len(fake.messages[key]) == 1 for key in chats)


def test_first_messages_to_several_chats_do_not_wait_a_second() -> None:
    chats = {-1000000000001 - i: f"chat {i}" for i in range(5)}
    with fake_telegram(chats=chats) as fake:
        channel = make_channel(fake, list(chats))
        rendered = channel.render(view())

        async def body(c: TelegramChannel) -> None:
            await asyncio.gather(*(c.send(rendered, target=t, thread=None) for t in c.targets()))

        run(channel, body)
        times = [fake.messages[key][0].time for key in chats]
    # Paced evenly (1/30 s apart) they span about 0.15 s; a chat's one-second limit applied across chats
    # would span 4 s. Under a fully loaded CI machine the span reached 0.71 s: the bound is the name's.
    assert max(times) - min(times) < 1.0


def test_a_broadcast_keeps_as_many_requests_out_as_connections_split_into_small_pools() -> None:
    """Paced sending needs about rate x latency requests on the wire (``in_flight``, 8). The connections
    are split into pools of two, which only saves CPU (httpcore's cost per request grows with a pool's
    size: measured in bench/subscribers); this guards what must not change with them: a request goes to
    the pool with the fewest out, so all eight connections carry requests at once, and no ninth is opened."""
    chats = {-1000000000001 - i: f"chat {i}" for i in range(24)}
    with fake_telegram(chats=chats, latency=1.0) as fake:  # 30 a second x 1 s: far more than 8 want out
        channel = make_channel(fake, list(chats))
        rendered = channel.render(view())

        async def body(c: TelegramChannel) -> list[Receipt]:
            return await asyncio.gather(*(c.send(rendered, target=t, thread=None) for t in c.targets()))

        receipts = run(channel, body)
        sends = sorted(fake.received("/sendMessage"), key=lambda r: r.at)

    assert len({r.remote_id for r in receipts}) == 24 and len(sends) == 24
    assert len({r.peer for r in sends}) == channel.in_flight == channel.pool_size == 8
    # A request is out from its arrival until its answer, a second later: at most 8 at once, and 8 reached.
    out = [sum(1 for other in sends if other.at <= r.at < other.at + 1.0) for r in sends]
    assert max(out) == 8, out


@pytest.mark.slow
def test_broadcast_to_200_chats_stays_within_telegrams_limits() -> None:
    chats = {-1000000000001 - i: f"chat {i}" for i in range(200)}
    with fake_telegram(chats=chats) as fake:
        channel = make_channel(fake, list(chats))
        rendered = channel.render(view())

        async def body(c: TelegramChannel) -> list[Receipt]:
            return await asyncio.gather(*(c.send(rendered, target=t, thread=None) for t in c.targets()))

        started = time.monotonic()
        receipts = run(channel, body)
        elapsed = time.monotonic() - started

    assert fake.too_many_count == 0
    assert all(len(fake.messages[key]) == 1 for key in chats)
    assert len({r.remote_id for r in receipts}) == 200
    # Not a speed goal (bench/subscribers.py measures that: within 1.05x of the limits' bound). This catches
    # pacing gone wrong by an order of magnitude (a message a second: 200 s), whatever else the machine runs:
    # 10 s, 1.5x the bound, failed in the suite's own runs on a loaded 2-core machine (10.1 s, 12.7 s).
    bound = len(chats) / 30
    assert elapsed < 3 * bound


@pytest.mark.parametrize(("reference", "target", "expected"), [
    ("42", "-1001234", "-1001234:42"),
    ("-1001234:42", "-1001234", "-1001234:42"),
    ("https://t.me/c/1234/42", "-1001234", "-1001234:42"),
    # Spelled as the delivery's chat (review 48a): kept as the operator wrote it, follow-ups replied to nothing.
    ("https://t.me/AcmeStatus/42", "@acmestatus", "@acmestatus:42"),
    ("@acmestatus:42", "@AcmeStatus", "@AcmeStatus:42"),
])
def test_remote_id_from_takes_a_message_of_the_deliverys_chat(reference: str, target: str, expected: str) -> None:
    with fake_telegram() as fake:
        assert make_channel(fake, [target]).remote_id_from(reference, target) == expected


@pytest.mark.parametrize("reference", ["@acmestatus:1", "https://t.me/acmestatus/1", "https://t.me/c/999999/42",
                                       "-1009999:42"])
def test_remote_id_from_refuses_a_message_of_another_chat(reference: str) -> None:
    """Attack (review): the public channel's message id given for an ops chat's post was recorded, and the next
    correction edited the public message into the ops text, internal detail and all."""
    from broadcaster.errors import InputError

    with fake_telegram() as fake, pytest.raises(InputError, match="not in -1001234, the chat this delivery went to"):
        make_channel(fake, ["-1001234"]).remote_id_from(reference, "-1001234")


def test_after_the_new_id_of_a_migrated_group_is_written_in_the_config_the_thread_goes_on(project: Project) -> None:
    """Attack (review): broadcaster follows a group that became a supergroup and says to write the new id in
    chat_ids; once that was done, the incident's next update there started a new thread."""
    with fake_telegram(chats={-55: "ops"}, migrated={-55: -1000055}, enforce_limits=False) as fake:
        def config(chat: int) -> str:
            return (f'\n[channels.tg-ops]\ntype = "telegram"\nvisibility = "internal"\ntoken = "${{TG_TOKEN}}"\n'
                    f'chat_ids = [{chat}]\napi_url = "{fake.url}"\n')

        project.env["TG_TOKEN"] = TOKEN
        project.write_config(config(-55))
        code, first = project.cli_json("post", "--yes", "--title", "API errors", "Update one.")
        assert code == 0, first
        assert project.cli("post", "--yes", "-i", first["incident_id"], "Update two.").exit_code == 0
        project.write_config(config(-1000055))  # as the receipt said
        assert project.cli("post", "--yes", "-i", first["incident_id"], "Update three.").exit_code == 0
        first_message, *followups = fake.messages[-1000055]
        assert [m.reply_to_message_id for m in followups] == [first_message.message_id] * 2


def test_a_correction_telegram_cannot_edit_is_posted_as_the_incident_stands(project: Project, world: Any) -> None:
    """Review 19e (Discord's finding, the same in Telegram): the original deleted by hand, the edit's rendering was
    posted as a reply, reading "Investigating ... Next update by" under a resolved incident. The engine now sends
    the correction rendered as a new post: the incident as it stands, marked as a correction."""
    import json

    from tests.fakes.world import PUBLIC_CHAT

    posted = project.cli("post", "--yes", "--json", "--title", "Login errors", "--next-update", "30m",
                         "Logins fail in eu-west.")
    assert posted.exit_code == 0, posted.output
    incident = json.loads(posted.stdout)["incident_id"]
    assert project.cli("post", "--yes", "-i", incident, "-s", "resolved", "Fixed.").exit_code == 0
    world.telegram.messages[PUBLIC_CHAT].pop(0)  # the first post, deleted by hand in the channel
    amended = project.cli("amend", incident, "1", "--yes", "--json", "Logins failed in eu-central.")
    assert amended.exit_code == 0, amended.output
    correction = world.telegram_messages(PUBLIC_CHAT)[-1].text
    assert "eu-central" in correction and "Correction" in correction and "Resolved" in correction, correction
    assert "Next update" not in correction and "Investigating" not in correction, correction
    [delivery] = [d for d in json.loads(amended.stdout)["deliveries"] if d["destination"] == "tg-public"]
    assert delivery["state"] == "sent" and any("could not edit" in n for n in delivery["notes"]), delivery
