"""The Matrix channel end to end: the real matrix-nio AsyncClient against FakeMatrix on loopback.

Assertions are on what the fake received and stored. Separate CLI invocations
are simulated with a new channel object and a fresh event loop per send,
threading by the ThreadRef built from earlier receipts, as the engine does.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Coroutine, Iterator
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import unquote

import pytest
from broadcaster.channels.matrix import MatrixChannel
from broadcaster.messages import matrix as fmt
from broadcaster.messages.model import Status
from broadcaster.messages.visibility import UpdateView

from broadcaster.config import ChannelConfig, Secret
from broadcaster.config_loader import parse
from broadcaster.delivery import Receipt, Rendered, SendLog, ThreadRef
from broadcaster.errors import ConfigError, DeliveryError, InputError
from tests.channel_updates import T0, URL, incident, update, view
from tests.fakes.base import Fault, Response
from tests.fakes.matrix import ALLOWED_TAGS, PREFIX, FakeMatrix, MatrixEvent
from tests.ports import free_port

TOKEN = "syt_c2VjcmV0_SeCrEtMaTrIxToKeN_1a2b3c"
ROOM = "!AbCdEf:example.org"

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@pytest.fixture(scope="module")
def server() -> Iterator[FakeMatrix]:
    with FakeMatrix() as started:
        yield started


@pytest.fixture
def fake(server: FakeMatrix) -> FakeMatrix:
    server.reset(token=TOKEN, rooms=[ROOM, "!other:example.org"])
    server.echo_credentials = False
    return server


# Where no test is of a timeout: at 2 s, a nasty message's send met it once in a loaded fresh clone's run.
UNHURRIED = 10.0
# The tests of a server that hangs (5 s): the timeout they see.
HURRIED = 2.0


def make_channel(fake: FakeMatrix, token: str | None = TOKEN, *, timeout: float = UNHURRIED,
                 **options: Any) -> MatrixChannel:
    opts: dict[str, Any] = {"homeserver": fake.url, "access_token": Secret("MATRIX_TOKEN", token), "room_id": ROOM,
                            **options}
    channel = MatrixChannel(ChannelConfig("ops-matrix", "matrix", options=opts))
    channel.request_timeout = timeout
    return channel








async def deliver(channel: MatrixChannel, rendered: Rendered, thread: ThreadRef | None = None,
                  log: SendLog | None = None) -> Receipt:
    try:
        return await channel.send(rendered, target="", thread=thread, log=log)
    finally:
        await channel.aclose()


def send_once(fake: FakeMatrix, v: UpdateView, thread: ThreadRef | None = None, log: SendLog | None = None,
              **options: Any) -> Receipt:
    channel = make_channel(fake, **options)
    return run(deliver(channel, channel.render(v), thread, log))


def send_error(fake: FakeMatrix, v: UpdateView | None = None, **options: Any) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        send_once(fake, v or view(update()), **options)
    return caught.value


def posted(fake: FakeMatrix) -> list[MatrixEvent]:
    return fake.events[ROOM]


# -- the happy path ----------------------------------------------------------------------


def test_first_update_is_a_plain_and_html_notice_in_the_room(fake: FakeMatrix) -> None:
    receipt = send_once(fake, view(update(etr=T0 + timedelta(hours=2))))

    [event] = posted(fake)
    assert receipt.remote_id == f"{ROOM}/{event.event_id}"
    content = event.content
    assert content["msgtype"] == "m.notice" and content["format"] == "org.matrix.custom.html"
    assert content["body"].startswith("Investigating: API errors\n\nWe are looking into it.")
    assert "Expected resolution: 2024-05-01 14:00 UTC" in content["body"]
    assert "<strong>Investigating: API errors</strong>" in content["formatted_body"]
    assert f'<a href="{URL}">Incident page</a>' in content["formatted_body"]
    assert content["m.mentions"] == {} and "m.relates_to" not in content
    assert event.markup.tags <= ALLOWED_TAGS


def test_request_path_token_and_transaction_id(fake: FakeMatrix) -> None:
    send_once(fake, view(update()))

    [request] = fake.received("/send/")
    assert request.method == "PUT"
    assert unquote(request.path).startswith(f"{PREFIX}/rooms/{ROOM}/send/m.room.message/bc")
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert "access_token" not in request.query


def test_a_repeated_delivery_reuses_its_transaction_id_and_posts_once(fake: FakeMatrix) -> None:
    """A later attempt at the same delivery (a new process, say) sends the same txnId: the homeserver dedupes."""
    first = send_once(fake, view(update()))
    again = send_once(fake, view(update()))
    other = send_once(fake, view(update(2, message="Another update.")))

    assert first.remote_id == again.remote_id != other.remote_id
    assert len(posted(fake)) == 2
    txns = [r.path.rsplit("/", 1)[1] for r in fake.received("/send/")]
    assert txns[0] == txns[1] != txns[2]


async def redacted(channel: MatrixChannel, remote_ids: list[str]) -> Receipt:
    try:
        return await channel.delete(remote_ids, target="")
    finally:
        await channel.aclose()


def test_delete_redacts_each_event_once_and_one_already_gone_counts(fake: FakeMatrix) -> None:
    first = send_once(fake, view(update()))
    second = send_once(fake, view(update(2, message="Found it.")), ThreadRef(first.remote_id, first.remote_id))
    gone = f"{ROOM}/$never-posted"
    assert make_channel(fake).can_delete
    receipt = run(redacted(make_channel(fake), [first.remote_id, second.remote_id, gone]))
    assert receipt.remote_id == first.remote_id
    assert all(e.content == {} for e in posted(fake)) and len(fake.redacted) == 2
    run(redacted(make_channel(fake), [first.remote_id]))  # again (retry): the same transaction, one redaction
    assert len(fake.redacted) == 2
    paths = [unquote(r.path) for r in fake.received("/redact/")]
    assert paths[0].startswith(f"{PREFIX}/rooms/{ROOM}/redact/{first.remote_id.split('/')[-1]}/bc")
    assert paths[0] == paths[3]


def test_a_refused_redaction_says_to_remove_it_by_hand_and_a_429_waits(fake: FakeMatrix) -> None:
    first = send_once(fake, view(update()))
    fake.rate_limit(retry_after=4, match="/redact/")
    with pytest.raises(DeliveryError) as limited:
        run(redacted(make_channel(fake), [first.remote_id]))
    assert limited.value.retryable and limited.value.retry_after == 4 and not limited.value.outcome_unknown
    fake.joined.discard(ROOM)
    with pytest.raises(DeliveryError) as refused:
        run(redacted(make_channel(fake), [first.remote_id]))
    assert not refused.value.retryable and "by hand" in str(refused.value) and TOKEN not in str(refused.value)
    assert posted(fake)[0].content != {}


def test_a_log_with_a_confirmed_post_sends_nothing(fake: FakeMatrix) -> None:
    receipt = send_once(fake, view(update()), log=SendLog(parts=[f"{ROOM}/$earlier"]))
    assert receipt.remote_id == f"{ROOM}/$earlier" and posted(fake) == []


# -- threading and edits --------------------------------------------------------------------


def three_updates(fake: FakeMatrix) -> list[Receipt]:
    steps = [update(1, Status.INVESTIGATING, "Errors on the API."), update(2, Status.IDENTIFIED, "A bad deploy."),
             update(3, Status.RESOLVED, "Rolled back; all good.")]
    receipts: list[Receipt] = []
    for upd in steps:
        thread = ThreadRef(receipts[0].remote_id, receipts[-1].remote_id) if receipts else None
        receipts.append(send_once(fake, view(upd), thread))
    return receipts


def test_follow_ups_go_in_the_thread_of_the_first_replying_to_the_latest(fake: FakeMatrix) -> None:
    receipts = three_updates(fake)

    [root] = fake.top_level(ROOM)
    replies = fake.thread(ROOM, root.event_id)
    assert [f"{ROOM}/{e.event_id}" for e in [root, *replies]] == [r.remote_id for r in receipts]
    assert replies[0].relation["m.in_reply_to"] == {"event_id": root.event_id}
    assert replies[1].relation["m.in_reply_to"] == {"event_id": replies[0].event_id}
    assert all(r.relation["is_falling_back"] is True for r in replies)
    assert replies[1].content["body"].startswith("Resolved: API errors")


def test_edit_replaces_the_original_and_its_id_names_both_events(fake: FakeMatrix) -> None:
    """The correction's id names the original (follow-ups reply to it, a second amend edits it) and the edit event,
    which a withdrawal redacts too (review 19b: the edit kept the corrected text in the room)."""
    receipts = three_updates(fake)
    [root] = fake.top_level(ROOM)
    channel = make_channel(fake)
    corrected = channel.render(view(update(1, message="Errors on the API in eu-central.")))

    async def edit() -> Receipt:
        try:
            return await channel.edit(corrected, target="", remote_id=receipts[0].remote_id)
        finally:
            await channel.aclose()

    edited = run(edit())
    [replacement] = fake.edits(ROOM, root.event_id)
    assert edited.remote_id == f"{receipts[0].remote_id}/{replacement.event_id}"
    new = replacement.content["m.new_content"]
    assert "eu-central" in new["body"] and "eu-central" in new["formatted_body"]
    assert replacement.content["body"].startswith("* ") and new["m.mentions"] == {}


def test_an_edit_whose_answer_was_lost_is_retried_not_unknown(fake: FakeMatrix) -> None:
    """Repeating an edit with its transaction id shows nothing twice, so the engine may simply repeat it."""
    receipt = send_once(fake, view(update()))
    fake.fail(Fault(match="/send/", hang=5))
    channel = make_channel(fake, timeout=HURRIED)

    async def edit() -> Receipt:
        try:
            return await channel.edit(channel.render(view(update(message="Fixed text."))), target="",
                                      remote_id=receipt.remote_id)
        finally:
            await channel.aclose()

    with pytest.raises(DeliveryError) as caught:
        run(edit())
    assert caught.value.retryable and not caught.value.outcome_unknown
    run(edit())
    assert len(fake.edits(ROOM, posted(fake)[0].event_id)) == 1


def test_a_malformed_stored_remote_id_is_permanent(fake: FakeMatrix) -> None:
    with pytest.raises(DeliveryError) as caught:
        send_once(fake, view(update(2)), ThreadRef("not-an-event", "not-an-event"))
    error = caught.value
    assert not error.retryable and "edited by hand" in str(error) and posted(fake) == []


@pytest.mark.parametrize(("reference", "expected"), [
    (f"https://matrix.to/#/{ROOM}/$ev1-Xy_z?via=example.org", f"{ROOM}/$ev1-Xy_z"),
    (f"{ROOM}/$ev1-Xy_z", f"{ROOM}/$ev1-Xy_z"),
    ("$ev1-Xy_z", f"{ROOM}/$ev1-Xy_z"),
    ("$v3+base64/ids==", f"{ROOM}/$v3+base64/ids=="),
], ids=["matrix.to", "room/event", "event", "v3-event-id"])
def test_remote_id_from_what_an_operator_copies(fake: FakeMatrix, reference: str, expected: str) -> None:
    channel = make_channel(fake)
    assert channel.remote_id_from(reference, "") == expected
    room, event = channel.parse_remote_id(expected)
    assert (room, f"{room}/{event}") == (ROOM, expected)


@pytest.mark.parametrize("reference", ["", "hello", "https://example.org/x", "!room:example.org"])
def test_remote_id_from_refuses_what_is_not_an_event(fake: FakeMatrix, reference: str) -> None:
    with pytest.raises(InputError, match="not a Matrix event"):
        make_channel(fake).remote_id_from(reference, "")


# -- errors ---------------------------------------------------------------------------------------


def test_rate_limit_is_retryable_with_the_retry_after_header(fake: FakeMatrix) -> None:
    fake.rate_limit(retry_after=7)
    error = send_error(fake)
    assert error.retryable and not error.outcome_unknown and error.retry_after == 7.0
    assert posted(fake) == []


def test_rate_limit_falls_back_to_retry_after_ms(fake: FakeMatrix) -> None:
    fake.rate_limit(retry_after=None, retry_after_ms=2500)
    error = send_error(fake)
    assert error.retryable and error.retry_after == 2.5


@pytest.mark.parametrize(("token", "words"), [
    ("syt_wrong_token_value", "rejected the access token"),
], ids=["bad-token"])
def test_bad_token_is_permanent_and_names_the_variable(fake: FakeMatrix, token: str, words: str) -> None:
    fake.echo_credentials = True
    error = send_error(fake, token=token)
    assert not error.retryable and words in str(error) and "MATRIX_TOKEN" in str(error)
    assert token not in str(error) and token.lower() not in str(error).lower()


def test_not_in_the_room_is_permanent_and_says_to_invite(fake: FakeMatrix) -> None:
    fake.reset(token=TOKEN, rooms=[ROOM], joined=[])
    error = send_error(fake)
    assert not error.retryable and "M_FORBIDDEN" in str(error) and "Invite" in str(error)


def test_unknown_room_is_permanent(fake: FakeMatrix) -> None:
    error = send_error(fake, room_id="!nope:example.org")
    assert not error.retryable and "M_NOT_FOUND" in str(error) and "room_id" in str(error)


def test_server_error_is_retryable(fake: FakeMatrix) -> None:
    fake.fail(Fault(match="/send/", response=Response(502, b"<html>Bad gateway</html>", content_type="text/html")))
    error = send_error(fake)
    assert error.retryable


def test_a_reset_after_the_post_arrived_is_repeated_safely_by_its_transaction_id(fake: FakeMatrix) -> None:
    """aiohttp repeats an idempotent PUT once after a reset; the same txnId gets the first event back."""
    fake.fail(Fault(match="/send/", reset_after=True))
    receipt = send_once(fake, view(update()))
    [event] = posted(fake)
    assert receipt.remote_id == f"{ROOM}/{event.event_id}" and len(fake.received("/send/")) == 2


def test_a_lost_answer_is_unknown_and_a_resend_shows_nothing_twice(fake: FakeMatrix) -> None:
    fake.fail(Fault(match="/send/", reset_after=True), Fault(match="/send/", reset_after=True))
    log = SendLog()
    with pytest.raises(DeliveryError) as caught:
        send_once(fake, view(update()), log=log)
    assert caught.value.outcome_unknown and log.on_wire
    assert len(posted(fake)) == 1  # it had arrived
    send_once(fake, view(update()))  # the operator resends: same transaction id
    assert len(posted(fake)) == 1


def test_a_hanging_server_is_unknown_within_the_timeout(fake: FakeMatrix) -> None:
    fake.fail(Fault(match="/send/", hang=5))
    error = send_error(fake, timeout=HURRIED)
    assert error.outcome_unknown and "2s" in str(error)


def test_connection_refused_is_retryable_and_nothing_was_sent() -> None:
    port = free_port()
    channel = MatrixChannel(ChannelConfig("m", "matrix", options={
        "homeserver": f"http://127.0.0.1:{port}", "access_token": Secret("MATRIX_TOKEN", TOKEN), "room_id": ROOM}))
    with pytest.raises(DeliveryError) as caught:
        run(deliver(channel, channel.render(view(update()))))
    assert caught.value.retryable and not caught.value.outcome_unknown and "could not connect" in str(caught.value)


def test_unset_token_variable_is_permanent_and_names_it(fake: FakeMatrix) -> None:
    error = send_error(fake, token=None)
    assert not error.retryable and "MATRIX_TOKEN" in str(error) and fake.received() == []


def test_token_never_logged(fake: FakeMatrix, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fake.rate_limit(retry_after=1)
    send_error(fake)
    send_once(fake, view(update()))
    assert TOKEN not in caplog.text


# -- formatting over nasty input -------------------------------------------------------------------


NASTY = [
    "<script>alert(1)</script><img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">click</a> [x](javascript:alert(1))',
    "@room @everyone please look",
    "שגיאות ב-API · خطأ في الواجهة",
    "🔥🚒 fire 👩‍👩‍👧 family \u2764\ufe0f",
    "</p></ul><hr>&amp; &lt;b&gt;",
]


@pytest.mark.parametrize("message", NASTY, ids=["script", "js-link", "mentions", "rtl", "emoji", "entities"])
def test_nasty_messages_arrive_inert(fake: FakeMatrix, message: str) -> None:
    send_once(fake, view(update(message=message), inc=incident(title="<b>Bold</b> @room")))

    [event] = posted(fake)
    assert event.markup.tags <= ALLOWED_TAGS and "script" not in event.markup.tags and "img" not in event.markup.tags
    assert event.markup.attributes <= {("a", "href"), ("ol", "start")}
    assert all(href.startswith("https://") for href in event.markup.hrefs)
    assert not event.would_ping_room and event.content["m.mentions"] == {}
    assert message in event.content["body"]  # the plain body keeps the words as written
    assert "&lt;b&gt;Bold&lt;/b&gt; @room" in event.content["formatted_body"]


def test_a_huge_private_update_is_cut_to_fit_one_event_and_its_edit(fake: FakeMatrix) -> None:
    upd = update(message="😀" * 5000, private_note="é" * 5000, customers=tuple(f"Customer {i} " + "x" * 180 for i in range(100)),
                 tickets=tuple(f"T-{i}-" + "y" * 190 for i in range(100)))
    v = view(upd, private=True)
    receipt = send_once(fake, v)
    [event] = posted(fake)
    assert "cut to fit" in event.content["body"] and "more" in event.content["body"]
    assert fmt.event_bytes(fmt.edit_content(event.content, "$" + "x" * 255)) + fmt.ENVELOPE_BYTES <= fmt.MAX_EVENT_BYTES
    channel = make_channel(fake)

    async def edit() -> Receipt:
        try:
            return await channel.edit(channel.render(v), target="", remote_id=receipt.remote_id)
        finally:
            await channel.aclose()

    run(edit())
    assert len(fake.edits(ROOM, event.event_id)) == 1


def test_private_room_gets_private_detail_marked_and_public_gets_none(fake: FakeMatrix) -> None:
    upd = update(message="Errors [private]for ACME-CORP[/private].", private_note="Root cause: db-7 failover",
                 customers=("ACME-CORP",), tickets=("INC-4242",))
    send_once(fake, view(upd, private=True))
    send_once(fake, view(update(2, message="Errors [private]for ACME-CORP[/private]."), private=False))

    private, public = posted(fake)
    text = json.dumps(private.content, ensure_ascii=False)
    assert "Private: internal only" in text and "db-7 failover" in text and "INC-4242" in text
    public_text = json.dumps(public.content, ensure_ascii=False)
    assert "ACME" not in public_text and "Private" not in public_text


# -- check -------------------------------------------------------------------------------------------


def check(fake: FakeMatrix, **options: Any) -> list[Any]:
    channel = make_channel(fake, **options)
    # What the check says, not how fast: the 2 s of the send tests timed whoami out in a fresh clone's loaded run
    # (load average 13), and the check ended at its first answer.
    channel.request_timeout = 20.0

    async def go() -> list[Any]:
        try:
            return await channel.check()
        finally:
            await channel.aclose()

    return list(run(go()))


def test_check_ok(fake: FakeMatrix) -> None:
    identity, room = check(fake)
    assert identity.ok and "@status-bot:example.org" in identity.detail
    assert room.ok and room.resolved == f"matrix:{ROOM}"
    assert posted(fake) == []


def test_check_with_a_bad_token(fake: FakeMatrix) -> None:
    [result] = check(fake, token="syt_wrong_value_123")
    assert not result.ok and "access token" in result.detail and "syt_wrong_value_123" not in result.detail


@pytest.mark.parametrize(("setup", "words"), [
    ({"joined": []}, "has not joined"),
    ({"encrypted": [ROOM]}, "end-to-end encrypted"),
], ids=["not-joined", "encrypted"])
def test_check_reports_room_problems(fake: FakeMatrix, setup: dict[str, Any], words: str) -> None:
    fake.reset(token=TOKEN, rooms=[ROOM], **setup)
    identity, room = check(fake)
    assert identity.ok and not room.ok and words in room.detail


# -- config ----------------------------------------------------------------------------------------------


def config_table(**overrides: Any) -> dict[str, Any]:
    table = {"type": "matrix", "homeserver": "https://matrix.example.org", "access_token": "${MATRIX_TOKEN}",
             "room_id": ROOM, "visibility": "private"}
    return {k: v for k, v in {**table, **overrides}.items() if v is not None}


def load(table: dict[str, Any]) -> Any:
    return parse({"channels": {"mx": table}}, None, {"MATRIX_TOKEN": TOKEN})


def test_config_loads() -> None:
    channel = load(config_table()).channels["mx"]
    assert channel.type == "matrix" and channel.visibility == "internal"  # "private" is read as internal since issue 15


@pytest.mark.parametrize(("overrides", "words"), [
    ({"homeserver": "matrix.example.org"}, "homeserver"),
    ({"access_token": "syt_written_in_the_file"}, "access_token"),
    ({"room_id": "#status:example.org"}, "alias"),
    ({"room_id": None}, "room_id"),
], ids=["homeserver-scheme", "written-token", "alias", "missing-room"])
def test_config_mistakes_are_explained(overrides: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigError, match=words) as caught:
        load(config_table(**overrides))
    assert "syt_written_in_the_file" not in str(caught.value)


def test_the_egress_guard_reads_matrix_html_as_html() -> None:
    """A value split by tags or written with entities in formatted_body is read as a reader sees it."""
    from broadcaster.messages.egress import HTML_STRINGS, LeakRefused, PrivateValues, guard

    payload = json.dumps({"content": {"body": "Errors.", "formatted_body": "<p>Glo<em>bex</em> &amp; Co</p>"}})
    with pytest.raises(LeakRefused):
        guard(payload, PrivateValues.of(["Globex & Co"]), "the message", HTML_STRINGS)
    guard(payload, PrivateValues.of(["Initech"]), "the message", HTML_STRINGS)


def test_remote_id_from_refuses_an_event_of_another_room(fake: FakeMatrix) -> None:
    """Attack (review): a correction replaces the event its id names, in that event's room."""
    with pytest.raises(InputError, match="not in !AbCdEf:example.org"):
        make_channel(fake).remote_id_from("https://matrix.to/#/!Other:example.org/$ev1", "")
