"""The Slack channel end to end: the real slack-sdk WebClient against FakeSlack on loopback.

Every assertion is on what the fake received and stored, never on what the
channel believes it sent. Separate CLI invocations are simulated with a new
channel object and a fresh event loop per send, threading by the ThreadRef
built from earlier receipts, as the engine does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from broadcaster.channels.slack import SlackChannel, SlackDeliveryError
from broadcaster.messages.model import AffectedComponent, ComponentStatus, Impact, Incident, Status, Update
from broadcaster.messages.visibility import UpdateView, private_view, public_view

from broadcaster.config import ChannelConfig, Secret
from broadcaster.config_loader import parse
from broadcaster.delivery import Receipt, Rendered, ThreadRef
from broadcaster.errors import ConfigError, DeliveryError, NotEditable
from tests.conftest import Project
from tests.fakes.base import Fault, Response
from tests.fakes.slack import FakeSlack, SlackMessage

TOKEN = "xoxb-1111-2222-SeCrEtToKeN"
CHANNEL_ID = "C0123"
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
URL = "https://status.example.com/incidents/inc-1.html"
API = (AffectedComponent("api", ComponentStatus.PARTIAL_OUTAGE),)


T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@pytest.fixture(scope="module")
def server() -> Any:
    with FakeSlack() as started:
        yield started


@pytest.fixture
def fake(server: FakeSlack) -> FakeSlack:
    """One server per module (starting and stopping one costs ~0.5 s), reset for each test."""
    server.reset(token=TOKEN, channels={CHANNEL_ID: "status", "C0456": "general"})
    return server


def make_channel(fake: FakeSlack, token: str = TOKEN, **options: Any) -> SlackChannel:
    opts: dict[str, Any] = {
        "token": Secret("SLACK_BOT_TOKEN", token),
        "channel": "#status",
        **options,
    }
    return SlackChannel(ChannelConfig("ops-slack", "slack", api_url=fake.api_url, options=opts))


def incident(title: str = "API errors", impact: Impact = Impact.MAJOR) -> Incident:
    return Incident("inc-1", title, impact, Status.INVESTIGATING, T0, components=API)


def update(
    sequence: int = 1,
    status: Status = Status.INVESTIGATING,
    message: str = "We are looking into it.",
    **kw: Any,
) -> Update:
    kw.setdefault("components", API)
    return Update("inc-1", sequence, T0 + timedelta(minutes=sequence), status, message, **kw)


def view(
    upd: Update,
    *,
    private: bool = False,
    previous: Status | None = None,
    inc: Incident | None = None,
) -> UpdateView:
    cut = private_view if private else public_view
    return cut(inc or incident(), upd, url=URL, previous_status=previous)


async def deliver(
    channel: SlackChannel, rendered: Rendered, thread: ThreadRef | None = None
) -> Receipt:
    try:
        return await channel.send(rendered, target="", thread=thread)
    finally:
        await channel.aclose()


def send_once(
    fake: FakeSlack, v: UpdateView, thread: ThreadRef | None = None, **options: Any
) -> Receipt:
    """One CLI invocation: a new channel object, a new event loop, one send."""
    channel = make_channel(fake, **options)
    receipt: Receipt = run(deliver(channel, channel.render(v), thread))
    return receipt


def send_error(fake: FakeSlack, v: UpdateView | None = None, **options: Any) -> SlackDeliveryError:
    with pytest.raises(SlackDeliveryError) as caught:
        send_once(fake, v or view(update()), **options)
    return caught.value


def posted(fake: FakeSlack) -> list[SlackMessage]:
    return fake.messages[CHANNEL_ID]


def posted_json(fake: FakeSlack, method: str = "chat.postMessage") -> list[dict[str, Any]]:
    return [r.json() for r in fake.received(f"/api/{method}")]


# -- the happy path ---------------------------------------------------------------


def test_first_update_is_a_top_level_block_kit_message(fake: FakeSlack) -> None:
    receipt = send_once(
        fake, view(update(etr=T0 + timedelta(hours=2), next_update_by=T0 + timedelta(minutes=30)))
    )

    [message] = posted(fake)
    assert receipt.remote_id == f"{CHANNEL_ID}:{message.ts}"
    assert message.thread_ts is None
    header, body, facts, footer = message.blocks
    assert header["type"] == "header" and header["text"]["type"] == "plain_text"
    assert "Investigating: API errors" in header["text"]["text"]
    assert body["text"] == {"type": "mrkdwn", "text": "We are looking into it.", "verbatim": True}
    labels = [f["text"].split("\n")[0] for f in facts["fields"]]
    assert labels == ["*Impact*", "*Components*", "*Expected resolution*", "*Next update*"]
    assert "api: Partial outage" in facts["fields"][1]["text"]
    assert f"<{URL}|Incident page>" in [e["text"] for e in footer["elements"]]
    assert message.text.startswith("Investigating: API errors\nWe are looking into it.")
    assert message.mentions == []


def test_request_uses_the_web_api_path_bearer_token_and_no_auto_parsing(fake: FakeSlack) -> None:
    send_once(fake, view(update()))

    [request] = fake.received("/api/chat.postMessage")
    assert request.path == "/api/chat.postMessage"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    body = request.json()
    assert body["channel"] == "#status"
    assert (body["link_names"], body["unfurl_links"], body["unfurl_media"]) == (False, False, False)
    assert "thread_ts" not in body and "reply_broadcast" not in body


def test_channel_by_id_works_too(fake: FakeSlack) -> None:
    receipt = send_once(fake, view(update()), channel="C0456")

    assert receipt.remote_id.startswith("C0456:")
    assert len(fake.messages["C0456"]) == 1 and posted(fake) == []


def test_concurrent_sends_on_one_channel_object(fake: FakeSlack) -> None:
    channel = make_channel(fake)

    async def many() -> list[Receipt]:
        try:
            renders = [channel.render(view(update(message=f"note {i}"))) for i in range(8)]
            return await asyncio.gather(*(channel.send(r, target="", thread=None) for r in renders))
        finally:
            await channel.aclose()

    receipts = run(many())
    assert len({r.remote_id for r in receipts}) == 8
    assert sorted(m.text.split("\n")[1] for m in posted(fake)) == sorted(
        f"note {i}" for i in range(8)
    )


# -- threading --------------------------------------------------------------------


def three_updates(fake: FakeSlack, **options: Any) -> list[Receipt]:
    """Investigating -> Identified -> Resolved, each by a separate 'CLI invocation'."""
    steps = [
        (update(1, Status.INVESTIGATING, "Errors on the API."), None),
        (update(2, Status.IDENTIFIED, "A bad deploy; rolling back."), Status.INVESTIGATING),
        (update(3, Status.RESOLVED, "Rolled back; all good."), Status.IDENTIFIED),
    ]
    receipts: list[Receipt] = []
    for upd, previous in steps:
        thread = ThreadRef(receipts[0].remote_id, receipts[-1].remote_id) if receipts else None
        receipts.append(send_once(fake, view(upd, previous=previous), thread, **options))
    return receipts


def test_three_updates_end_as_one_thread_under_the_first(fake: FakeSlack) -> None:
    receipts = three_updates(fake)

    [parent] = fake.top_level(CHANNEL_ID)
    replies = fake.replies(CHANNEL_ID, parent.ts)
    assert receipts[0].remote_id == f"{CHANNEL_ID}:{parent.ts}"
    assert [f"{CHANNEL_ID}:{r.ts}" for r in replies] == [r.remote_id for r in receipts[1:]]
    assert ["rolling back" in replies[0].text, "all good" in replies[1].text] == [True, True]
    assert all(not r.notes for r in receipts)


def test_first_message_is_edited_to_the_latest_status(fake: FakeSlack) -> None:
    three_updates(fake)

    [parent] = fake.top_level(CHANNEL_ID)
    assert len(parent.edits) == 2  # once per follow-up
    assert "Investigating: API errors" in parent.edits[0]["blocks"][0]["text"]["text"]
    assert "Identified: API errors" in parent.edits[1]["blocks"][0]["text"]["text"]
    assert "Resolved: API errors" in parent.blocks[0]["text"]["text"]
    assert "Rolled back; all good." in parent.blocks[1]["text"]["text"]
    assert parent.text.startswith("Resolved: API errors")
    [update_call, *_] = posted_json(fake, "chat.update")
    assert update_call["channel"] == CHANNEL_ID and update_call["ts"] == parent.ts
    # chat.update parses text as a client would by default, unlike chat.postMessage: never here.
    assert (update_call["parse"], update_call["link_names"]) == ("none", False)


def test_status_changes_are_broadcast_to_the_channel(fake: FakeSlack) -> None:
    three_updates(fake)

    assert [
        m.reply_broadcast for m in fake.replies(CHANNEL_ID, fake.top_level(CHANNEL_ID)[0].ts)
    ] == [True, True]


def test_same_status_follow_up_stays_in_the_thread(fake: FakeSlack) -> None:
    first = send_once(fake, view(update(1)))
    thread = ThreadRef(first.remote_id, first.remote_id)
    send_once(
        fake,
        view(update(2, Status.INVESTIGATING, "Still looking."), previous=Status.INVESTIGATING),
        thread,
    )

    [reply] = fake.replies(CHANNEL_ID, posted(fake)[0].ts)
    assert reply.reply_broadcast is False
    assert (
        "reply_broadcast" in posted_json(fake)[1]
        and posted_json(fake)[1]["reply_broadcast"] is False
    )


def test_reply_broadcast_option_false_never_broadcasts(fake: FakeSlack) -> None:
    three_updates(fake, reply_broadcast=False)

    replies = fake.replies(CHANNEL_ID, fake.top_level(CHANNEL_ID)[0].ts)
    assert [m.reply_broadcast for m in replies] == [False, False]


@pytest.mark.parametrize(
    "fault",
    [
        Fault(
            match="chat.update",
            response=Response(200, {"ok": False, "error": "edit_window_closed"}),
        ),
        Fault(
            match="chat.update", response=Response(500, {"ok": False, "error": "internal_error"})
        ),
        Fault(match="chat.update", reset=True),
    ],
    ids=["refused", "server-error", "reset"],
)
def test_a_failed_card_edit_is_a_note_not_a_failure(fake: FakeSlack, fault: Fault) -> None:
    first = send_once(fake, view(update(1)))
    fake.fail(fault)
    receipt = send_once(
        fake,
        view(update(2, Status.IDENTIFIED, "Found it."), previous=Status.INVESTIGATING),
        ThreadRef(first.remote_id, first.remote_id),
    )

    [parent, reply] = posted(fake)
    assert receipt.remote_id == f"{CHANNEL_ID}:{reply.ts}" and reply.thread_ts == parent.ts
    assert parent.edits == [] and "Investigating" in parent.blocks[0]["text"]["text"]
    [note] = receipt.notes
    assert "first message still shows an older status" in note and TOKEN not in note


def test_a_hanging_card_edit_is_bounded_and_noted(fake: FakeSlack) -> None:
    first = send_once(fake, view(update(1)))
    fake.fail(Fault(match="chat.update", hang=3))
    channel = make_channel(fake)
    channel.card_edit_timeout = 0.3
    rendered = channel.render(view(update(2, Status.IDENTIFIED), previous=Status.INVESTIGATING))
    receipt = run(deliver(channel, rendered, ThreadRef(first.remote_id, first.remote_id)))

    assert len(fake.replies(CHANNEL_ID, posted(fake)[0].ts)) == 1
    assert "did not answer within 0.3s" in receipt.notes[0]


def test_a_deleted_thread_parent_falls_back_to_a_top_level_post(fake: FakeSlack) -> None:
    gone = ThreadRef(f"{CHANNEL_ID}:1600000000.000001", f"{CHANNEL_ID}:1600000000.000001")
    receipt = send_once(
        fake, view(update(2, Status.IDENTIFIED), previous=Status.INVESTIGATING), gone
    )

    [message] = posted(fake)
    assert message.thread_ts is None and receipt.remote_id == f"{CHANNEL_ID}:{message.ts}"
    assert "posted at top level" in receipt.notes[0]


@pytest.mark.parametrize(
    "remote_id", ["", "C0123", "1700000000.000100", "#status:1.2", "C0123:abc"]
)
def test_a_malformed_stored_remote_id_is_permanent(fake: FakeSlack, remote_id: str) -> None:
    with pytest.raises(SlackDeliveryError) as caught:
        send_once(fake, view(update(2)), ThreadRef(remote_id, remote_id))
    assert caught.value.retryable is False and "cannot be threaded" in str(caught.value)
    assert fake.received("/api/") == []


# -- edit (for `amend`) -----------------------------------------------------------


def test_edit_replaces_the_message_in_place(fake: FakeSlack) -> None:
    first = send_once(fake, view(update(1, message="Typo in hte message.")))
    channel = make_channel(fake)
    rendered = channel.render(view(update(1, message="Typo fixed in the message.")))

    async def amend() -> Receipt:
        try:
            return await channel.edit(rendered, target="", remote_id=first.remote_id)
        finally:
            await channel.aclose()

    assert run(amend()).remote_id == first.remote_id
    [message] = posted(fake)
    assert (
        "Typo fixed" in message.blocks[1]["text"]["text"]
        and "hte" in message.edits[0]["blocks"][1]["text"]["text"]
    )
    assert channel.can_edit
    [edit] = posted_json(fake, "chat.update")
    assert (edit["parse"], edit["link_names"]) == ("none", False)


def test_edit_of_an_unknown_message_is_not_editable(fake: FakeSlack) -> None:
    """Deleted: the engine posts the correction anew (NotEditable), as for Discord and Telegram (review 45b)."""
    channel = make_channel(fake)
    rendered = channel.render(view(update()))

    async def amend() -> Receipt:
        try:
            return await channel.edit(rendered, target="", remote_id=f"{CHANNEL_ID}:1.000001")
        finally:
            await channel.aclose()

    with pytest.raises(NotEditable) as caught:
        run(amend())
    assert "message_not_found" in str(caught.value) and not caught.value.retryable
    assert "posted the correction as a new message" in str(caught.value)


# -- errors -----------------------------------------------------------------------

HTML_503 = Response(503, "<html><body>Service Unavailable</body></html>", content_type="text/html")
ERROR_CASES: list[tuple[str, dict[str, Any], Any, bool, str, float | None]] = [
    # id, channel options, fault or fake tweak, retryable, words in the message, retry_after
    ("bad-token", {"token": "xoxb-wrong-but-secret"}, None, False, "SLACK_BOT_TOKEN", None),
    (
        "revoked",
        {},
        Fault("chat.postMessage", Response(200, {"ok": False, "error": "token_revoked"})),
        False,
        "rejected the bot token",
        None,
    ),
    (
        "rate-limited",
        {},
        Fault(
            "chat.postMessage",
            Response(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "7"}),
        ),
        True,
        "wait 7s",
        7.0,
    ),
    (
        "server-500",
        {},
        Fault("chat.postMessage", Response(500, {"ok": False, "error": "internal_error"})),
        True,
        "HTTP 500",
        None,
    ),
    ("server-503-html", {}, Fault("chat.postMessage", HTML_503), True, "HTTP 503", None),
    (
        "service-unavailable",
        {},
        Fault("chat.postMessage", Response(200, {"ok": False, "error": "service_unavailable"})),
        True,
        "service_unavailable",
        None,
    ),
    (
        "fatal-error",
        {},
        Fault("chat.postMessage", Response(200, {"ok": False, "error": "fatal_error"})),
        True,
        "fatal_error",
        None,
    ),
    ("hang", {}, Fault("chat.postMessage", hang=3), True, "no answer within 0.5s", None),
    ("reset", {}, Fault("chat.postMessage", reset=True), True, "reset or closed", None),
    ("unknown-channel", {"channel": "#nope"}, None, False, "/invite", None),
    ("unknown-channel-id", {"channel": "C9999"}, None, False, "cannot find channel C9999", None),
    ("not-member", {"channel": "C0456"}, "not-member", False, "/invite @your-bot", None),
    ("archived", {}, "archived", False, "is archived", None),
    (
        "invalid-blocks",
        {},
        Fault(
            "chat.postMessage",
            Response(
                200,
                {
                    "ok": False,
                    "error": "invalid_blocks",
                    "errors": ["bad [json-pointer:/blocks/1]"],
                },
            ),
        ),
        False,
        "json-pointer:/blocks/1",
        None,
    ),
    (
        "too-long",
        {},
        Fault("chat.postMessage", Response(200, {"ok": False, "error": "msg_too_long"})),
        False,
        "refused the message content",
        None,
    ),
    (
        "missing-scope",
        {},
        Fault(
            "chat.postMessage",
            Response(200, {"ok": False, "error": "missing_scope", "needed": "chat:write"}),
        ),
        False,
        "chat:write scope",
        None,
    ),
    (
        "unknown-error",
        {},
        Fault("chat.postMessage", Response(200, {"ok": False, "error": "team_not_found"})),
        False,
        "team_not_found",
        None,
    ),
]


# Slack's docs say of internal_error and fatal_error that part of the operation may have succeeded.
MAY_HAVE_BEEN_DONE = {"server-500", "fatal-error", "hang", "reset"}


@pytest.mark.parametrize(
    ("options", "fault", "retryable", "words", "retry_after"),
    [case[1:] for case in ERROR_CASES],
    ids=[case[0] for case in ERROR_CASES],
)
def test_errors_are_typed_explained_and_never_hold_the_token(
    fake: FakeSlack,
    caplog: pytest.LogCaptureFixture,
    request: pytest.FixtureRequest,
    options: dict[str, Any],
    fault: Any,
    retryable: bool,
    words: str,
    retry_after: float | None,
) -> None:
    caplog.set_level(logging.DEBUG)
    if isinstance(fault, Fault):
        fake.fail(fault)
    elif fault == "not-member":
        fake.member_of.discard("C0456")
    elif fault == "archived":
        fake.archived.add(CHANNEL_ID)
    token = options.pop("token", TOKEN)
    channel = make_channel(fake, token=token, **options)
    channel.request_timeout = 0.5

    with pytest.raises(DeliveryError) as caught:
        run(deliver(channel, channel.render(view(update()))))

    error = caught.value
    assert error.retryable is retryable
    assert words in str(error) and "retried" not in str(error)
    # Slack has no idempotency key: only a failure that proves Slack took nothing is plain retryable.
    assert error.outcome_unknown is (request.node.callspec.id in MAY_HAVE_BEEN_DONE)
    assert error.retry_after == retry_after
    assert posted(fake) == []
    assert token not in str(error) and token not in caplog.text
    assert any("Sending a request" in r.getMessage() for r in caplog.records), (
        "slack-sdk's DEBUG log was not captured"
    )


def test_no_retry_inside_the_sdk_after_a_reset(fake: FakeSlack) -> None:
    fake.fail(Fault("chat.postMessage", reset=True))
    send_error(fake)

    # The reset request is not recorded by the base; a retried one would be, and would post.
    assert fake.received("/api/chat.postMessage") == [] and posted(fake) == []


def test_connection_refused_is_retryable() -> None:
    with FakeSlack(token=TOKEN) as fake:
        channel = make_channel(fake)
    with pytest.raises(SlackDeliveryError) as caught:
        run(deliver(channel, channel.render(view(update()))))
    assert caught.value.retryable and "could not connect" in str(caught.value)
    assert not caught.value.outcome_unknown


def test_token_absent_from_logs_on_success(
    fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    receipts = three_updates(fake)

    assert len(receipts) == 3
    assert "(redacted)" in caplog.text  # the SDK's own header redaction, seen at work
    assert TOKEN not in caplog.text


def test_unset_token_variable_is_a_permanent_error_naming_it(fake: FakeSlack) -> None:
    channel = SlackChannel(
        ChannelConfig(
            "ops-slack",
            "slack",
            api_url=fake.api_url,
            options={"token": Secret("SLACK_BOT_TOKEN", None), "channel": "#status"},
        )
    )
    with pytest.raises(DeliveryError) as caught:
        run(deliver(channel, channel.render(view(update()))))
    assert not caught.value.retryable and "SLACK_BOT_TOKEN" in str(caught.value)
    assert fake.received("/api/") == []


# -- formatting over nasty inputs, as accepted by the fake ----------------------------

NASTY = [
    ("script", "<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ("ampersand", "R&D & ops", "R&amp;D &amp; ops"),
    ("entity-lookalike", "&amp; &lt; already", "&amp;amp; &amp;lt; already"),
    (
        "channel-ping",
        "Hey <!channel> and <!here> and <!everyone>",
        "Hey &lt;!channel&gt; and &lt;!here&gt; and &lt;!everyone&gt;",
    ),
    (
        "user-mention",
        "ping <@U123> and <!subteam^S1>",
        "ping &lt;@U123&gt; and &lt;!subteam^S1&gt;",
    ),
    (
        "disguised-link",
        "<http://evil.example|click here>",
        "&lt;http://evil.example|click here&gt;",
    ),
    ("markdown-chars", "*_[]()~>#+-=|{}.!", "*_[]()~&gt;#+-=|{}.!"),
    ("plain-at-channel", "@channel @here", "@channel @here"),
    ("emoji", "Fixed 🎉🔥 👩‍💻 𝒳 ✅ 1️⃣", "Fixed 🎉🔥 👩‍💻 𝒳 ✅ 1️⃣"),
    ("rtl", "خطأ في الخادم — שגיאה בשרת", "خطأ في الخادم — שגיאה בשרת"),
    (
        "cjk",
        "服务器出现故障。我们正在调查。サーバー障害",
        "服务器出现故障。我们正在调查。サーバー障害",
    ),
]


@pytest.mark.parametrize(("message", "expected"), [c[1:] for c in NASTY], ids=[c[0] for c in NASTY])
def test_nasty_messages_arrive_escaped_and_ping_nobody(
    fake: FakeSlack, message: str, expected: str
) -> None:
    send_once(fake, view(update(message=message)))

    [stored] = posted(fake)
    assert stored.blocks[1]["text"]["text"] == expected
    assert expected in stored.text
    assert stored.mentions == []
    assert all(c.startswith(("!date^", "https://status.example.com/")) for c in stored.controls), (
        stored.controls
    )


def test_url_in_a_message_becomes_a_plain_link(fake: FakeSlack) -> None:
    send_once(fake, view(update(message="Details: https://example.com/a?b=1&c=2.")))

    [stored] = posted(fake)
    assert stored.blocks[1]["text"]["text"] == "Details: <https://example.com/a?b=1&amp;c=2>."
    assert "https://example.com/a?b=1&amp;c=2" in stored.controls


def test_nasty_title_is_plain_text_in_the_header_and_escaped_elsewhere(fake: FakeSlack) -> None:
    send_once(fake, view(update(), inc=incident(title="<!channel> DB & <@U1> " + "x" * 300)))

    [stored] = posted(fake)
    header_text = stored.blocks[0]["text"]["text"]
    assert header_text.startswith(":large_orange_circle: Investigating: <!channel> DB & <@U1> x")
    assert len(header_text) == 150 and header_text.endswith("…")
    assert stored.text.startswith("Investigating: &lt;!channel&gt; DB &amp; &lt;@U1&gt;")
    assert stored.mentions == []


def test_ten_thousand_characters_become_several_accepted_sections(fake: FakeSlack) -> None:
    sentence = "The database & cache <tier> is slow again. "
    message = "\n\n".join(sentence * 12 for _ in range(20))[:10_000]
    send_once(fake, view(update(message=message)))

    [stored] = posted(fake)
    sections = [b["text"]["text"] for b in stored.blocks if b["type"] == "section" and "text" in b]
    assert len(sections) >= 4 and all(len(s) <= 3000 for s in sections)
    rejoined = " ".join(" ".join(s.split()) for s in sections)
    expected = " ".join(
        message.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").split()
    )
    assert rejoined == expected  # nothing lost, nothing cut inside &amp; / &lt;
    assert len(stored.text) <= 4000


def test_sixty_components_stay_within_block_and_field_limits(fake: FakeSlack) -> None:
    components = tuple(
        AffectedComponent(f"component-number-{i:02d}", ComponentStatus.MAJOR_OUTAGE)
        for i in range(60)
    )
    send_once(fake, view(update(components=components)))

    [stored] = posted(fake)
    assert len(stored.blocks) <= 50
    field_sections = [b for b in stored.blocks if "fields" in b]
    assert all(len(b["fields"]) <= 10 for b in field_sections)
    shown = "\n".join(f["text"] for b in field_sections for f in b["fields"])
    assert all(f"component-number-{i:02d}" in shown for i in range(60))


def test_empty_optional_fields_are_left_out(fake: FakeSlack) -> None:
    bare = Incident("inc-1", "Blip", Impact.NONE, Status.INVESTIGATING, T0)
    v = public_view(bare, update(message="A blip.", components=()))
    send_once(fake, v)

    [stored] = posted(fake)
    assert [f["text"] for f in stored.blocks[2]["fields"]] == ["*Impact*\nNone"]
    assert [e["text"] for e in stored.blocks[-1]["elements"]][
        1:
    ] == []  # no incident page link without a URL


# -- visibility -----------------------------------------------------------------------

SECRET_BITS = (
    "db-7 at 10.0.0.7",
    "Acme Corp",
    "JIRA-4242",
    "alice@example.com",
    "restart the primary",
)


def private_update(sequence: int = 1, status: Status = Status.INVESTIGATING) -> Update:
    return update(
        sequence,
        status,
        "Errors on checkout. [private]Root cause: db-7 at 10.0.0.7[/private] We are on it.",
        private_note="Plan: restart the primary",
        customers=("Acme Corp",),
        tickets=("JIRA-4242",),
        author="alice@example.com",
    )


def test_private_channel_shows_private_detail_clearly_marked(fake: FakeSlack) -> None:
    send_once(fake, view(private_update(), private=True))

    [stored] = posted(fake)
    assert all(bit in stored.all_text for bit in SECRET_BITS)
    divider = next(i for i, b in enumerate(stored.blocks) if b["type"] == "divider")
    assert stored.blocks[divider + 1]["text"]["text"].startswith("*:lock: Private: internal only")


def test_public_channel_never_shows_private_detail(fake: FakeSlack) -> None:
    first = send_once(fake, view(private_update()))
    send_once(
        fake,
        view(private_update(2, Status.IDENTIFIED), previous=Status.INVESTIGATING),
        ThreadRef(first.remote_id, first.remote_id),
    )

    received = "\n".join(r.body.decode() for r in fake.received("/api/"))
    stored = "\n".join(m.all_text + str(m.edits) for m in posted(fake))
    for bit in SECRET_BITS:
        assert bit not in received and bit not in stored
    assert "Errors on checkout. We are on it." in posted(fake)[1].all_text
    assert all(b["type"] != "divider" for m in posted(fake) for b in m.blocks)


# -- check() ----------------------------------------------------------------------------


def checks(fake: FakeSlack, **options: Any) -> list[Any]:
    channel = make_channel(fake, **options)

    async def go() -> list[Any]:
        try:
            return await channel.check()
        finally:
            await channel.aclose()

    return run(go())


def test_check_ok_by_name_and_by_id(fake: FakeSlack) -> None:
    for channel in ("#status", CHANNEL_ID):
        identity, target = checks(fake, channel=channel)
        assert (
            identity.ok and "@broadcaster" in identity.detail and "Example Inc" in identity.detail
        )
        assert target.ok and "#status (C0123)" in target.detail and "member" in target.detail
    assert fake.received("/api/chat.") == []  # check never posts


def test_check_by_name_follows_pagination(fake: FakeSlack) -> None:
    for i in range(30):
        fake.channels[f"C9{i:03d}"] = f"other-{i}"
    fake.channels["CZZZ"] = "zz-last"
    fake.member_of.add("CZZZ")
    channel = make_channel(fake, channel="#zz-last")
    channel.list_page_size = 7

    async def go() -> list[Any]:
        try:
            return await channel.check()
        finally:
            await channel.aclose()

    _, target = run(go())
    assert target.ok and "CZZZ" in target.detail
    assert len(fake.received("/api/conversations.list")) == 5


@pytest.mark.parametrize(
    ("tweak", "options", "words"),
    [
        ("not-member", {"channel": "#general"}, "/invite @broadcaster"),
        ("archived", {}, "archived"),
        ("", {"channel": "#missing"}, "cannot find channel #missing"),
        ("", {"channel": "C0999"}, "cannot find channel C0999"),
    ],
    ids=["not-member", "archived", "no-such-name", "no-such-id"],
)
def test_check_reports_channel_problems(
    fake: FakeSlack, tweak: str, options: dict[str, Any], words: str
) -> None:
    if tweak == "not-member":
        fake.member_of.discard("C0456")
    if tweak == "archived":
        fake.archived.add(CHANNEL_ID)
    identity, target = checks(fake, **options)
    assert identity.ok and not target.ok and words in target.detail


def test_check_with_a_bad_token(fake: FakeSlack, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    [result] = checks(fake, token="xoxb-not-the-right-one")
    assert (
        not result.ok
        and "rejected the bot token" in result.detail
        and "SLACK_BOT_TOKEN" in result.detail
    )
    assert "xoxb-not-the-right-one" not in result.detail + caplog.text


# -- config -----------------------------------------------------------------------------

ENV = {"SLACK_BOT_TOKEN": TOKEN}


def slack_table(**keys: Any) -> dict[str, Any]:
    return {
        "channels": {
            "ops": {"type": "slack", "token": "${SLACK_BOT_TOKEN}", "channel": "#status", **keys}
        }
    }


def test_config_loads_with_defaults() -> None:
    config = parse(slack_table(visibility="private", api_url="http://127.0.0.1:9/api/"), None, ENV)
    channel = SlackChannel(config.channels["ops"])
    assert channel.reply_broadcast is True and channel.channel == "#status"
    assert channel.api_url == "http://127.0.0.1:9/api/" and channel.config.visibility == "internal"  # "private" is read as internal since audiences
    assert TOKEN not in repr(config.channels["ops"])


@pytest.mark.parametrize(
    ("keys", "words"),
    [
        ({"channel": "status channel"}, "must be a channel id"),
        ({"channel": 123}, "must be a channel id"),
        ({"channel": "#Status"}, "must be a channel id"),
        ({"reply_broadcast": "yes"}, "reply_broadcast: must be true or false"),
        ({"token": "xoxb-literal"}, "holds a secret written in the file"),
        ({"token": ""}, 'token = "${SLACK_BOT_TOKEN}"'),
        ({"channnel": "#status"}, "Did you mean 'channel'"),
    ],
    ids=["space", "number", "uppercase", "broadcast-type", "literal-token", "empty-token", "typo"],
)
def test_config_mistakes_are_explained(keys: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(slack_table(**keys), None, ENV)
    assert words in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_config_requires_channel() -> None:
    table = slack_table()
    del table["channels"]["ops"]["channel"]
    with pytest.raises(ConfigError, match="channel: is required"):
        parse(table, None, ENV)


def test_remote_id_from_refuses_a_message_of_another_channel() -> None:
    """Attack (review): a correction edits the message in the channel its id names: a public channel's message,
    pasted for a customer's channel, would have been given the customer's text."""
    from broadcaster.errors import InputError

    with FakeSlack(token=TOKEN, channels={"C0ACME0001": "acme"}) as fake:
        channel = make_channel(fake, channel="C0ACME0001")
        assert channel.remote_id_from("1700000000.000100", "") == "C0ACME0001:1700000000.000100"
        assert channel.remote_id_from("https://x.slack.com/archives/C0ACME0001/p1700000000000100", "") == (
            "C0ACME0001:1700000000.000100")
        with pytest.raises(InputError, match="not in C0ACME0001"):
            channel.remote_id_from("https://x.slack.com/archives/C0PUBLIC01/p1700000000000100", "")
        with pytest.raises(InputError, match="not in C0ACME0001"):
            channel.remote_id_from("C0PUBLIC01:1700000000.000100", "")


def test_retry_refuses_a_message_id_of_another_channel_for_a_channel_configured_by_name(project: Project) -> None:
    """Attack (review of the --remote-id fix): with `channel = "#acme-status"`, the customer channel by its name as the
    README writes it, a link to the public channel's message was accepted; the next amend would have edited the
    public message into the customer's text. The place of the posts broadcaster made there decides."""
    with FakeSlack(token=TOKEN, channels={"C0ACME0001": "acme-status", "C0PUBLIC01": "status"}) as fake:
        project.env["SLACK_BOT_TOKEN"] = TOKEN
        project.write_config(f'\n[channels.acme]\ntype = "slack"\ntoken = "${{SLACK_BOT_TOKEN}}"\n'
                             f'channel = "#acme-status"\napi_url = "{fake.api_url}"\n')
        code, first = project.cli_json("post", "--yes", "--title", "API errors", "Errors.")
        assert code == 0, first
        fake.fail(Fault(match="chat.postMessage", reset_after=True))  # posted, the answer lost: unknown
        code, second = project.cli_json("post", "--yes", "-i", first["incident_id"], "Still errors.")
        assert code == 3, second
        elsewhere = "https://x.slack.com/archives/C0PUBLIC01/p1700000000000100"
        refused = project.cli("retry", "--mark-unknown-sent", "--remote-id", f"acme={elsewhere}")
        assert refused.exit_code == 2 and "is a post in C0PUBLIC01" in refused.stderr, refused.output
        [_, reply] = fake.messages["C0ACME0001"]
        here = f"https://x.slack.com/archives/C0ACME0001/p{reply.ts.replace('.', '')}"
        assert project.cli("retry", "--mark-unknown-sent", "--remote-id", f"acme={here}").exit_code == 0


class _BusyStore:
    """Where a channel keeps which chat a name leads to, busy at the moment (another process's transaction)."""

    def remembered_room(self, key: str) -> str | None:
        return None

    def remember_room(self, key: str, room: str) -> None:
        from broadcaster.errors import StoreError

        raise StoreError("the store is locked by another process for too long")


def test_a_post_made_by_name_stays_sent_when_the_store_cannot_remember_where_it_went(
    fake: FakeSlack, caplog: Any
) -> None:
    """Found by the fourth fix review: the store's write after a confirmed post turned it into a failure,
    and retry posted it twice."""
    from broadcaster.delivery import SendLog

    channel = make_channel(fake)
    channel.rooms = _BusyStore()
    log = SendLog()
    with caplog.at_level(logging.WARNING):
        receipt = run(channel.send(channel.render(view(update())), target="", thread=None, log=log))
    assert receipt.remote_id == log.parts[0] and len(posted(fake)) == 1
    assert "Could not remember which channel #status is" in caplog.text
