"""Ctrl-C or SIGTERM while a delivery's claim is being stored: nothing of it was sent, so it is given back.

The engine's claims of one turn of the event loop commit together, and a stop that lands while they do cancels the
tasks waiting for them: the claims committed all the same. Left ``sending``, the next command reaped the delivery as
``unknown`` ("the post may or may not exist"): a post that never left, held for a human, and every later update to
that chat held behind it (review 29b). The claim's statement is slowed by SQLite itself (its trace hook, a disk busy
with another writer's fsync), in the stopped process only: what is written is the product's own.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from tests.conftest import Project
from tests.fakes.slack import FakeSlack

TOKEN = "xoxb-claim-stop-123456"
CHANNEL = "C0PUBLIC01"

SLOW_CLAIM = """
import os, sqlite3, time

_connect = sqlite3.connect


def connect(*args, **kwargs):
    db = _connect(*args, **kwargs)

    def slowly(statement):
        if statement.startswith("UPDATE deliveries SET state=") and "claimed_by=" in statement and "claimed_at=" in statement:
            with open(os.environ["SLOW_CLAIM_MARKER"], "a") as marker:
                marker.write("claiming\\n")
            time.sleep(2.0)

    db.set_trace_callback(slowly)
    return db


sqlite3.connect = connect
"""


def _stopped_while_claiming(project: Project, tmp_path: Path, slack: FakeSlack, stop: signal.Signals) -> str:
    """Post to Slack, stop the command while its claim is being stored; the incident's id."""
    slow = tmp_path / "slow-claim"
    slow.mkdir()
    (slow / "sitecustomize.py").write_text(SLOW_CLAIM, encoding="utf-8")
    marker = tmp_path / "claiming"
    project.env["SLACK_TOKEN"] = TOKEN
    project.write_config(f'\n[engine]\ntimeout = 5\ndeadline = 30\n[channels.status-slack]\ntype = "slack"\n'
                         f'token = "${{SLACK_TOKEN}}"\nchannel = "{CHANNEL}"\napi_url = "{slack.api_url}"\n')
    process = project.process("post", "--yes", "--title", "API errors", "Investigating.",
                              env={"PYTHONPATH": str(slow), "SLOW_CLAIM_MARKER": str(marker)})
    until = time.monotonic() + 30
    while not marker.exists() and time.monotonic() < until and process.poll() is None:
        time.sleep(0.02)
    assert marker.exists(), process.communicate(timeout=30)
    time.sleep(0.3)
    process.send_signal(stop)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130, (out, err)
    assert not slack.messages.get(CHANNEL), "sent before the stop: the probe proves nothing"
    listed = json.loads(project.cli("list", "--json").stdout)
    return str(listed[0]["id"])


def _state(project: Project, incident: str) -> dict[str, object]:
    [delivery] = [d for d in json.loads(project.cli("show", incident, "--json").stdout)["deliveries"]
                  if d["destination"] == "status-slack"]
    return dict(delivery)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_claim_stored_as_the_command_stops_is_given_back_and_a_plain_retry_sends_it(
    project: Project, tmp_path: Path, stop: signal.Signals
) -> None:
    with FakeSlack(token=TOKEN, channels={CHANNEL: "status"}) as slack:
        incident = _stopped_while_claiming(project, tmp_path, slack, stop)
        delivery = _state(project, incident)
        assert delivery["state"] == "pending", delivery
        assert "stopped" in str(delivery["error"]), delivery
        retried = project.cli("retry", incident)
        assert retried.exit_code == 0, retried.output
        assert [m.text for m in slack.messages[CHANNEL]] != [] and len(slack.messages[CHANNEL]) == 1


def test_the_next_update_is_not_held_behind_a_claim_given_back(project: Project, tmp_path: Path) -> None:
    with FakeSlack(token=TOKEN, channels={CHANNEL: "status"}) as slack:
        incident = _stopped_while_claiming(project, tmp_path, slack, signal.SIGINT)
        followup = project.cli("post", "--yes", "-i", incident, "-s", "identified", "Cause found.")
        assert followup.exit_code == 0, followup.output
        texts = [m.text for m in slack.messages[CHANNEL]]
        assert any("Cause found." in t for t in texts), texts
        states = [d["state"] for d in json.loads(project.cli("show", incident, "--json").stdout)["deliveries"]
                  if d["destination"] == "status-slack"]
        assert "unknown" not in states and "pending" not in states, states  # the first superseded: told as the card
