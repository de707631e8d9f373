"""A paced broadcast stopped part way (attack from a review, kept as tests).

Ctrl-C or SIGTERM while a Telegram channel of many chats was being sent at its rate limit: every chat only
queued behind the limiter had been claimed, and was reaped as unknown ("may or may not exist") though no
request had gone to it; a plain retry sent none of them, and every later update to those chats was held
back. SIGTERM ended the process at once. Now a delivery with nothing out goes back to pending, and SIGTERM
stops the command as Ctrl-C does.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import Project
from tests.fakes.base import Fault
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.slack import FakeSlack
from tests.fakes.world import FakeWorld
from tests.input_helpers import STATE
from tests.social import M_TOKEN

SLOW_SECOND_ATTEMPT = Path(__file__).parent / "data" / "slow_second_attempt"

CHATS = tuple(-1002000 - n for n in range(90))


def _stopped_part_way(
    project: Project, world: FakeWorld, stop: signal.Signals, *, told: int = 10, then: float = 0.0, timeout: int = 5,
) -> tuple[str, dict[str, str]]:
    """A post to the 90 chats of tg-ops, stopped with ``stop`` once ``told`` have their message and ``then``
    seconds more have passed: the incident's id and each chat's delivery state."""
    project.env.update(world.env)
    project.write_config(f"[engine]\ntimeout = {timeout}\ndeadline = 60\n" + world.channels_toml())
    process = project.process("post", "--yes", "--only", "tg-ops", "--title", "API errors", "-C", "api",
                              "Elevated API errors.")
    waited_until = time.monotonic() + 30
    while sum(bool(world.telegram_messages(c)) for c in CHATS) < told and time.monotonic() < waited_until:
        time.sleep(0.05)
    time.sleep(then)
    process.send_signal(stop)
    output, errors = process.communicate(timeout=60)
    assert process.returncode == 130 and "Interrupted" in errors, output + errors
    incident = json.loads(project.cli("list", "--json").stdout)[0]["id"]
    shown = json.loads(project.cli("show", incident, "--json").stdout)["deliveries"]
    return incident, {d["target"]: d["state"] for d in shown if d["destination"] == "tg-ops"}


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_broadcast_stopped_part_way_leaves_the_chats_it_never_sent_to_pending_for_a_plain_retry(
    project: Project, stop: signal.Signals
) -> None:
    with FakeWorld(ops_chats=CHATS) as world:
        incident, states = _stopped_part_way(project, world, stop)
        received = {c for c in CHATS if world.telegram_messages(c)}
        assert 10 <= len(received) < len(CHATS)
        unsent = [states[str(c)] for c in CHATS if c not in received]
        # Pending, but for a request out at the stop (eight connections at most) the fake never took in.
        assert "pending" in unsent and set(unsent) <= {"pending", "unknown"} and unsent.count("unknown") <= 8, states
        assert {states[str(c)] for c in received} <= {"sent", "unknown"}  # an answer cut off may be unknown
        retried = project.cli("retry", incident)
        assert retried.exit_code in (0, 3), retried.stdout + retried.stderr
        for chat in CHATS:  # every chat told once, none twice; one cut off mid-request may have it or not
            assert len(world.telegram_messages(chat)) == 1 or (states[str(chat)] == "unknown"
                                                               and not world.telegram_messages(chat)), chat


def test_a_stop_while_sends_wait_for_a_connection_leaves_only_the_requests_out_unknown(project: Project) -> None:
    """Attack (a fresh clone's loaded run: 12 chats unknown where 8 requests at most can be out): the rate limit
    admits a second's worth of sends at once, and only ``in_flight`` (8) of them are out; the others wait for a
    connection inside the client. Each was counted on the wire as the SDK was called, so a stop left them
    ``unknown`` ("may or may not exist"): a plain retry did not send them, and every later update to those chats
    was held behind them. A Telegram answering in a second makes it happen every time."""
    with FakeWorld(ops_chats=CHATS, latency=1.0) as world:
        # Then the next eight are out, and the rest of the second's sends wait for them.
        incident, states = _stopped_part_way(project, world, signal.SIGINT, told=8, then=0.5, timeout=10)
        received = {c for c in CHATS if world.telegram_messages(c)}
        unsent = [states[str(c)] for c in CHATS if c not in received]
        assert unsent.count("unknown") <= 8 and "pending" in unsent, states
        assert project.cli("retry", incident).exit_code in (0, 3)
        told = sum(len(world.telegram_messages(c)) == 1 for c in CHATS)
        assert told >= len(CHATS) - 8, told  # all but those cut off mid-request


def test_the_next_update_sends_what_a_stopped_broadcast_left_pending_first_instead_of_waiting(project: Project) -> None:
    """Attack (review): an update's deliveries left pending by a stopped command (or one still waiting its turn)
    held the next update at the same chats until the deadline, then failed it, though nothing would ever send
    them. The next update's run now sends them first, in order."""
    with FakeWorld(ops_chats=CHATS) as world:
        incident, first = _stopped_part_way(project, world, signal.SIGINT)
        assert "pending" in first.values()
        started = time.monotonic()
        followup = project.cli("post", "--yes", "--json", "--only", "tg-ops", "-i", incident, "Cause found.")
        assert followup.exit_code in (0, 3), followup.stdout + followup.stderr  # 3: held behind a chat cut off mid-answer
        assert time.monotonic() - started < 30  # not the 60 s deadline
        for chat in CHATS:
            texts = [m.text for m in world.telegram_messages(chat)]
            if first[str(chat)] == "unknown":  # cut off mid-request (it may have arrived): held for a human
                assert len(texts) <= 1, (chat, texts)
                continue
            assert len(texts) == 2 and "Elevated API errors." in texts[0] and "Cause found." in texts[1], (chat, texts)


def test_a_stop_after_the_service_confirmed_the_post_records_it_sent(project: Project) -> None:
    """Attack (review of the fix above): a Slack reply confirmed, then Ctrl-C while the status card was being
    edited: the delivery went back to pending, its id forgotten, and a retry posted the reply again."""
    channel = "C0PUBLIC01"
    with FakeSlack(token="xoxb-stop-test", channels={channel: "status"}) as fake:
        project.env["SLACK_TOKEN"] = "xoxb-stop-test"
        project.write_config(f'\n[channels.status-slack]\ntype = "slack"\ntoken = "${{SLACK_TOKEN}}"\n'
                             f'channel = "{channel}"\napi_url = "{fake.api_url}"\n')
        code, first = project.cli_json("post", "--yes", "--title", "API errors", "Investigating.")
        assert code == 0, first
        fake.fail(Fault(match="chat.update", hang=8))  # the status card's edit hangs
        process = project.process("post", "--yes", "-i", first["incident_id"], "-s", "identified", "Cause found.")
        waited_until = time.monotonic() + 20
        while len(fake.messages[channel]) < 2 and time.monotonic() < waited_until:
            time.sleep(0.02)
        time.sleep(0.3)  # the reply is confirmed; the card's edit hangs
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
        shown = json.loads(project.cli("show", first["incident_id"], "--json").stdout)["deliveries"]
        [second] = [d for d in shown if d["sequence"] == 2 and d["destination"] == "status-slack"]
        assert second["state"] == "sent" and second["remote_id"], second
        project.cli("retry", first["incident_id"])
        assert sum("Cause found." in m.text for m in fake.messages[channel]) == 1


def test_a_stop_before_the_repeat_of_a_post_whose_answer_was_lost_leaves_it_unknown(project: Project, tmp_path: Path) -> None:
    """Attack (review of the fix above): a Mastodon status posted, its answer lost; Ctrl-C as the engine began
    its one repeat with the same key: released as pending ("stopped before this was sent"), and a plain retry
    an hour later, when Mastodon has forgotten the key, posted it twice."""
    with FakeMastodon() as fake:
        fake.reset(token=M_TOKEN)
        mastodon_alone(project, fake)
        fake.fail(Fault(match="/api/v1/statuses", reset_after=True))  # posted, the answer lost
        in_window = tmp_path / "in-window"
        process = project.process("post", "--yes", "--title", "API errors", "Elevated API errors.",
                                  env={"PYTHONPATH": str(SLOW_SECOND_ATTEMPT),
                                       "BROADCASTER_TEST_SLOW_SECOND_ATTEMPT": str(in_window)})
        waited_until = time.monotonic() + 30
        while not in_window.exists() and time.monotonic() < waited_until:
            time.sleep(0.05)
        assert in_window.exists()
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
        incident = json.loads(project.cli("list", "--json").stdout)[0]["id"]
        [masto] = [d for d in json.loads(project.cli("show", incident, "--json").stdout)["deliveries"]
                   if d["destination"] == "masto"]
        assert masto["state"] in ("sending", "unknown"), masto  # reaped as unknown by the next command
        assert project.cli("retry", incident).exit_code == 3
        assert len(fake.statuses) == 1


def test_sigterm_stops_a_command_started_with_sigint_ignored(project: Project) -> None:
    """Attack (review of the fix above): SIGTERM was turned into SIGINT, which a command started in the
    background of a script (`broadcaster post ... &`) or after `trap '' INT` ignores: `kill` no longer stopped it."""
    with FakeWorld(ops_chats=CHATS) as world:
        project.env.update(world.env)
        project.write_config("[engine]\ntimeout = 5\ndeadline = 60\n" + world.channels_toml())
        process = project.process("post", "--yes", "--only", "tg-ops", "--title", "API errors", "-C", "api",
                                  "Elevated API errors.", preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
        waited_until = time.monotonic() + 30
        while sum(bool(world.telegram_messages(c)) for c in CHATS) < 10 and time.monotonic() < waited_until:
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        output, errors = process.communicate(timeout=60)
        assert process.returncode == 130, output + errors
        assert sum(bool(world.telegram_messages(c)) for c in CHATS) < len(CHATS)


def test_an_update_left_pending_before_the_clock_was_set_back_is_still_sent_first(project: Project) -> None:
    """Found by a review: a delivery left pending by a stopped command, then the clock set back an hour. The
    next update saw it "just touched" (its time was ahead of now), waited its whole deadline for it, and
    failed. A pending delivery untouched for longer than the take-over time either way is sent first."""
    with FakeSlack(token="xoxb-clock-test", channels={"C0CLOCK001": "status"}) as slack:
        project.env["SLACK_TOKEN"] = "xoxb-clock-test"
        project.write_config("[engine]\ntimeout = 2\ndeadline = 20\nmax_attempts = 1\n"
                             f'[channels.status]\ntype = "slack"\ntoken = "${{SLACK_TOKEN}}"\nchannel = "C0CLOCK001"\n'
                             f'api_url = "{slack.api_url}"\n')
        first = project.cli("post", "--yes", "--json", "--title", "API errors", "-C", "api", "Errors.")
        incident = json.loads(first.stdout)["incident_id"]
        ahead = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        with sqlite3.connect(project.root / STATE) as db:  # stopped before its claim; then the clock went back
            db.execute("UPDATE deliveries SET state='pending', remote_id=NULL, updated_at=? WHERE destination='status'",
                       (ahead,))
        slack.messages["C0CLOCK001"].clear()

        started = time.monotonic()
        followed = project.cli("post", "--yes", "-i", incident, "Cause found.")

        assert followed.exit_code == 0, followed.output
        assert time.monotonic() - started < 15  # not the 20 s deadline
        assert [m.text for m in slack.top_level("C0CLOCK001")] != [] and len(slack.messages["C0CLOCK001"]) == 2


def mastodon_alone(project: Project, fake: FakeMastodon) -> None:
    """A config with one Mastodon channel, "masto", on ``fake``."""
    project.env["MASTODON_TOKEN"] = M_TOKEN
    project.write_config(f'[engine]\ntimeout = 2\ndeadline = 60\n\n[channels.masto]\ntype = "mastodon"\n'
                         f'instance_url = "https://mastodon.example"\naccess_token = "${{MASTODON_TOKEN}}"\n'
                         f'api_url = "{fake.url}"\n')
