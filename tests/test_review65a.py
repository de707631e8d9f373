"""Review 65a: a maintenance reminder (or a post) sent after its window was cancelled or started (or it withdrawn).

1. A reminder paced out to many chats went on after its window was cancelled or started. A window announced to many
   subscribed Telegram chats has its reminder paced (one message a second per chat, thirty a second overall): a
   thousand chats take a minute or more. Each chat's delivery was weighed against the window when it was planned
   and claimed, not as its message left: a `maintenance cancel` run meanwhile did not stop it, and chat after chat
   read "this maintenance starts at ..." beside "cancelled". Every reminder message not yet sent when the window is
   cancelled or started is now skipped with why, never sent; the cancellation still reaches every chat. So too for
   a reminder waiting out a rate limit (a webhook's 429).

2. A reminder of unknown fate in one chat (its answer lost) held the cancellation back there, exit 3, until the
   operator checked the chat: arrived or not, the cancellation after it is in order, and it is never sent again.
   The brief's check that `retry` never sends a failed reminder after the cancel held already (a test says so).

3. The same as 1 for `withdraw`: a post paced out to many chats went on after the withdrawal was stored (each
   message deleted after it, its readers notified of the text taken back). Now skipped, "withdrawn", as the
   withdrawal skips what it finds unsent.

The real CLI against the Telegram fake; assertions on what the fake received, the exit codes and the store.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from broadcaster import subscribers
from broadcaster.delivery import DeliveryState
from broadcaster.store import SQLiteStore
from broadcaster.subscribers import ChatKind
from tests.conftest import Project, public_webhook
from tests.fakes.base import Fault, Request, Response
from tests.fakes.telegram import BOT_ID_NAME, FakeTelegram
from tests.fakes.world import FakeWorld

BOT_TOKEN = "123456:bot-token"
CANCELLED = "Maintenance cancelled"
CHATS = tuple(5000 + n for n in range(200))  # seven seconds of Telegram's thirty a second


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    # Each process keeps to Telegram's thirty a second; the tick's and the cancel's together would not, and the fake's
    # 429s then wore out a chat's attempts in a loaded run. The pacing under test is the client's own.
    with FakeTelegram(token=BOT_TOKEN, chats={c: f"chat {c}" for c in CHATS}, enforce_limits=False) as running:
        yield running


def iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat(timespec="seconds")


def with_public_subscribers(project: Project, telegram: FakeTelegram, chats: tuple[int, ...] = CHATS,
                            engine: str = "[engine]\ntimeout = 10\ndeadline = 60\n") -> None:
    """Only the bot, ``chats`` subscribed to the public's updates; reminders for windows within the hour."""
    project.write_config(engine + "[maintenance]\nreminder_minutes = 60\n"
                         f'[bot]\ntype = "telegram"\ntoken = "${{BOT_TOKEN}}"\napi_url = "{telegram.url}"\n'
                         f'username = "{BOT_ID_NAME}"\n')
    project.env["BOT_TOKEN"] = BOT_TOKEN
    store = SQLiteStore(project.root / ".broadcaster" / "state.db")
    for chat in chats:
        subscribers.subscribe(store, chat, ChatKind.PRIVATE)
    store.close()


def scheduled(project: Project, start: timedelta) -> str:
    made = project.cli("maintenance", "schedule", "--yes", "--json", "--title", "DB upgrade", "-C", "db",
                       "--start", iso(start), "--end", iso(start + timedelta(hours=1)), "The database is upgraded.")
    assert made.exit_code == 0, made.output
    return str(json.loads(made.stdout)["incident_id"])


def reminded(telegram: FakeTelegram) -> list[float]:
    """When each reminder reached a chat (the fake's clock)."""
    return sorted(m.time for c in CHATS for m in telegram.messages.get(c, []) if "Reminder" in m.text)


def first_cancellation(telegram: FakeTelegram) -> float:
    """When the cancellation first reached a chat: after the cancel was stored."""
    return min(m.time for c in CHATS for m in telegram.messages.get(c, []) if CANCELLED in m.text)


def wait_for_reminders(telegram: FakeTelegram, count: int) -> None:
    until = time.monotonic() + 60
    while len(reminded(telegram)) < count and time.monotonic() < until:
        time.sleep(0.02)
    assert len(reminded(telegram)) >= count, "the tick never began sending its reminder"


def reminder_states(project: Project, incident: str, destination: str) -> dict[DeliveryState, list[str | None]]:
    """The reminder's deliveries to ``destination``: by state, each one's reason."""
    store = SQLiteStore(project.root / ".broadcaster" / "state.db")
    try:
        sequence = next(u.sequence for u in store.updates(incident) if u.kind == "reminder")
        states: dict[DeliveryState, list[str | None]] = {}
        for d in store.deliveries(incident_id=incident):
            if d.sequence == sequence and d.destination == destination:
                states.setdefault(d.state, []).append(d.last_error)
        return states
    finally:
        store.close()


def test_a_reminder_being_paced_out_stops_when_the_window_is_cancelled(
    project: Project, telegram: FakeTelegram
) -> None:
    with_public_subscribers(project, telegram)
    incident = scheduled(project, timedelta(minutes=30))
    tick = project.process("tick")
    wait_for_reminders(telegram, 10)
    cancelled = project.cli("maintenance", "cancel", incident, "--yes")
    output, errors = tick.communicate(timeout=120)
    assert cancelled.exit_code == 0, cancelled.output
    assert tick.returncode == 0, output + errors

    # Weighed again at most once a second, and up to a second's sends admitted at once: a reminder may still leave in
    # the moments after the cancel was stored, never for the rest of the broadcast (before: 15 s after it).
    told = first_cancellation(telegram)
    late = [t - told for t in reminded(telegram) if t > told + 3]
    assert not late, f"{len(late)} reminders went out after the cancellation, the last {late[-1]:.1f} s after it"
    for chat in CHATS:
        texts = [m.text for m in telegram.messages[chat]]
        assert sum(CANCELLED in t for t in texts) == 1 and CANCELLED in texts[-1], (chat, texts)
    states = reminder_states(project, incident, "subscribers")
    assert set(states) == {DeliveryState.SENT, DeliveryState.SKIPPED}, states
    assert all("not sent: the window was cancelled" in (why or "") for why in states[DeliveryState.SKIPPED]), states


def test_a_reminder_waiting_out_a_rate_limit_is_not_sent_once_the_window_is_cancelled(project: Project) -> None:
    """A webhook never asks before its request leaves (a repeat carries the same webhook-id): the engine asks before
    each attempt. Here the receiver's 429 asks for four seconds, and the window is cancelled in them."""
    limited = threading.Event()

    def first_reminder(request: Request) -> bool:
        if b'"kind":"reminder"' not in request.body.replace(b" ", b""):
            return False
        limited.set()
        return True

    with public_webhook(project, "[engine]\ntimeout = 10\ndeadline = 30\n[maintenance]\nreminder_minutes = 60\n") as hook:
        incident = scheduled(project, timedelta(minutes=30))
        hook.fail(Fault(match="/hooks/status", when=first_reminder,
                        response=Response(429, {"error": "slow down"}, headers={"Retry-After": "4"})))
        tick = project.process("tick")
        assert limited.wait(60), "the tick never sent its reminder"
        cancelled = project.cli("maintenance", "cancel", incident, "--yes")
        output, errors = tick.communicate(timeout=90)
        assert cancelled.exit_code == 0, cancelled.output
        assert tick.returncode == 0, output + errors
        kinds = [e["data"]["update"]["kind"] for e in hook.events]
        assert kinds == ["update", "update"] and "cancelled" in hook.events[-1]["data"]["update"]["message"], kinds
        states = reminder_states(project, incident, "pub")
        assert list(states) == [DeliveryState.SKIPPED], states
        assert "not sent: the window was cancelled" in (states[DeliveryState.SKIPPED][0] or ""), states


def test_a_reminder_paced_out_to_a_channels_chats_stops_when_the_windows_start_passes(project: Project) -> None:
    """A configured channel's chats, paced as the bot's are; no other command: the start time passes mid-broadcast.
    Readers past it never read "starts at 01:56" of a window that is now under way."""
    with FakeWorld(ops_chats=CHATS) as world:
        project.env.update(world.env)
        project.write_config("[engine]\ntimeout = 10\ndeadline = 60\n[maintenance]\nreminder_minutes = 60\n"
                             + world.channels_toml())
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=30)
        made = project.cli("maintenance", "schedule", "--yes", "--json", "--only", "tg-ops", "--title", "DB upgrade",
                           "-C", "db", "--start", start.isoformat(), "--end", (start + timedelta(hours=1)).isoformat(),
                           "The database is upgraded.")
        assert made.exit_code == 0, made.output
        incident = str(json.loads(made.stdout)["incident_id"])
        to_start = (start - datetime.now(UTC)).total_seconds()
        assert to_start > 4, f"the schedule took too long for this test ({to_start:.1f} s left)"
        time.sleep(to_start - 3)  # the reminder goes out three seconds before the start, to seven seconds of chats
        ticked = project.cli("tick", "--json")
        assert ticked.exit_code == 0, ticked.output
        assert json.loads(ticked.stdout)["actions"] == [f"reminded {incident}"], ticked.output

        started = time.monotonic() + (start - datetime.now(UTC)).total_seconds()
        late = [t - started for t in reminded(world.telegram) if t > started + 2]
        assert not late, f"{len(late)} reminders went out after the start, the last {late[-1]:.1f} s after it"
        states = reminder_states(project, incident, "tg-ops")
        assert set(states) == {DeliveryState.SENT, DeliveryState.SKIPPED}, states
        assert all("not sent: the window's start time has passed" in (why or "") for why in states[DeliveryState.SKIPPED]), states



def reminder_refused_in_one_chat(project: Project, telegram: FakeTelegram, failing: int, answer: Response) -> str:
    """A window announced to three subscribed chats; the tick's reminder to ``failing`` answered ``answer`` twice."""
    with_public_subscribers(project, telegram, CHATS[:3], "[engine]\ntimeout = 5\ndeadline = 20\nmax_attempts = 2\n")
    incident = scheduled(project, timedelta(minutes=30))
    to_failing = telegram.to_chat(failing)
    telegram.fail(*(Fault(match="sendMessage", response=answer, when=lambda r: to_failing(r) and b"Reminder" in r.body)
                    for _ in range(2)))
    ticked = project.cli("tick")
    assert ticked.exit_code == 3, ticked.output
    telegram.clear_faults()
    return incident


def cancelled_everywhere(telegram: FakeTelegram, failing: int) -> None:
    """Each chat's last message is the cancellation; the one whose reminder failed never had the reminder."""
    for chat in CHATS[:3]:
        texts = [m.text for m in telegram.messages[chat]]
        assert CANCELLED in texts[-1] and len(texts) == (2 if chat == failing else 3), (chat, texts)


def test_a_reminder_that_failed_in_one_chat_is_not_sent_there_by_retry_after_the_cancel(
    project: Project, telegram: FakeTelegram
) -> None:
    """The brief's check of `retry` (it held already): a subscribed chat whose reminder failed (Telegram's 429s) takes
    the cancellation, never the reminder, from the cancel and from a `retry` after it; the reminder is skipped there."""
    failing = CHATS[1]
    limited = Response(429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
                             "parameters": {"retry_after": 1}})
    incident = reminder_refused_in_one_chat(project, telegram, failing, limited)
    assert DeliveryState.FAILED in reminder_states(project, incident, "subscribers")
    cancelled = project.cli("maintenance", "cancel", incident, "--yes")
    assert cancelled.exit_code == 0, cancelled.output
    retried = project.cli("retry")
    assert retried.exit_code == 0, retried.output
    cancelled_everywhere(telegram, failing)
    states = reminder_states(project, incident, "subscribers")
    assert len(states[DeliveryState.SENT]) == 2 and len(states[DeliveryState.SKIPPED]) == 1, states
    assert "not sent: the window was cancelled" in (states[DeliveryState.SKIPPED][0] or ""), states


def test_a_reminder_of_unknown_fate_holds_back_no_cancellation(project: Project, telegram: FakeTelegram) -> None:
    """A chat whose reminder's answer was lost (Telegram's 500: it may be there) had the cancellation held back behind
    it, exit 3, until the operator checked the chat: in order whether the reminder arrived or not (never sent again
    once its window moved on), the cancellation now goes, saying so. The reminder stays unknown: only the chat tells."""
    failing = CHATS[1]
    down = Response(500, {"ok": False, "error_code": 500, "description": "Internal Server Error"})
    incident = reminder_refused_in_one_chat(project, telegram, failing, down)
    assert DeliveryState.UNKNOWN in reminder_states(project, incident, "subscribers")
    cancelled = project.cli("maintenance", "cancel", incident, "--yes")
    assert cancelled.exit_code == 0, cancelled.output
    assert "a reminder of unknown fate here, held nothing back: the window was cancelled" in cancelled.output
    cancelled_everywhere(telegram, failing)
    retried = project.cli("retry", incident, "--include-unknown")  # "it is not there": skipped, never sent
    assert retried.exit_code == 0, retried.output
    cancelled_everywhere(telegram, failing)
    states = reminder_states(project, incident, "subscribers")
    assert "not sent: the window was cancelled" in (states[DeliveryState.SKIPPED][0] or ""), states


def test_a_post_being_paced_out_stops_when_the_incident_is_withdrawn(project: Project, telegram: FakeTelegram) -> None:
    """3. The same for a withdrawal (found beside finding 1): a post paced out to two hundred subscribed chats went on
    for seconds after `withdraw` was stored, each message then deleted: every chat's reader was notified of the text
    the operator had taken back. The README: "Updates of it not yet sent when it is withdrawn are never sent"."""
    with_public_subscribers(project, telegram)
    post = project.process("post", "--yes", "--title", "API errors", "-C", "api", "Wrong text posted by mistake.")
    until = time.monotonic() + 60
    while sum(bool(telegram.messages.get(c)) for c in CHATS) < 10 and time.monotonic() < until:
        time.sleep(0.02)
    listed = project.cli("list", "--json")
    incident = str(json.loads(listed.stdout)[0]["id"])
    withdrawing = time.monotonic()
    withdrawn = project.cli("withdraw", incident, "--yes", "--reason", "wrong text")
    output, errors = post.communicate(timeout=120)
    assert withdrawn.exit_code == 0, withdrawn.output
    assert post.returncode == 0, output + errors

    posted = [m for m in [*telegram.deleted, *(m for c in CHATS for m in telegram.messages.get(c, []))]
              if "Wrong text" in m.text]
    late = sorted(m.time - withdrawing for m in posted if m.time > withdrawing + 3)
    assert not late, f"{len(late)} chats were sent the post after the withdrawal, the last {late[-1]:.1f} s after it"
    assert len(posted) < len(CHATS) and all(m in telegram.deleted for m in posted), len(posted)
    store = SQLiteStore(project.root / ".broadcaster" / "state.db")
    try:
        skipped = [d for d in store.deliveries(incident_id=incident) if d.sequence == 1 and d.state == DeliveryState.SKIPPED]
    finally:
        store.close()
    assert len(skipped) == len(CHATS) - len(posted) and all(d.last_error == "withdrawn" for d in skipped), skipped[:3]
