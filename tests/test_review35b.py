"""Review 35b (each test failed before its fix): a webhook event whose request was out when the command's deadline cut
it, or when Ctrl-C or SIGTERM stopped it, was recorded with "no request was out" / "before this was sent", and the
receiver had it. It stays failed or pending (its repeat carries the same ``webhook-id``, which the receiver drops: a
plain retry sends it again, as before), and now says so."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import Project
from tests.fakes.base import Fault
from tests.fakes.webhook import SECRET, FakeReceiver

HOLD = 6  # the receiver takes the event and answers only after this long


def _hooked(project: Project, hook: FakeReceiver, engine: str) -> None:
    project.env["S"] = SECRET
    project.write_config(engine + f'\n[channels.pub]\ntype = "webhook"\nurl = "{hook.hook_url}"\nsecret = "${{S}}"\n')


def _delivery(project: Project) -> dict[str, str]:
    incident = json.loads(project.cli("list", "--json").stdout)[0]["id"]
    [delivery] = [d for d in json.loads(project.cli("show", incident, "--json").stdout)["deliveries"]
                  if d["destination"] == "pub"]
    return delivery  # type: ignore[no-any-return]


def _told_the_truth(error: str) -> None:
    assert "no request was out" not in error and "before this was sent" not in error, error
    assert "may have arrived" in error and "webhook-id" in error and "broadcaster retry" in error, error


def _arrived(hook: FakeReceiver) -> float:
    [first, *_] = [r.at for r in list(hook.requests) if "/hooks/" in r.path]
    return first


def test_a_webhook_event_cut_by_the_deadline_says_it_may_have_arrived(project: Project) -> None:
    with FakeReceiver() as hook:
        _hooked(project, hook, "[engine]\ntimeout = 10\ndeadline = 3\nmax_attempts = 3\n")
        hook.fail(Fault(match="/hooks/", hold=HOLD))
        result = project.cli("post", "--yes", "--title", "API errors", "-C", "api", "Elevated errors.")
        assert result.exit_code == 3 and len(hook.events) == 1, result.output  # the receiver has it
        delivery = _delivery(project)
        assert delivery["state"] == "failed", delivery
        _told_the_truth(delivery["error"])
        time.sleep(max(0.0, _arrived(hook) + HOLD + 0.5 - time.monotonic()))  # the held answer went to no one
        assert project.cli("retry").exit_code == 0
        assert (len(hook.events), hook.repeats) == (1, 1)  # sent again with its webhook-id: dropped as a repeat
        assert _delivery(project)["state"] == "sent"


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_webhook_event_stopped_before_its_answer_says_it_may_have_arrived(
    project: Project, stop: signal.Signals
) -> None:
    with FakeReceiver() as hook:
        _hooked(project, hook, "[engine]\ntimeout = 20\ndeadline = 60\n")
        hook.fail(Fault(match="/hooks/", hold=HOLD))
        env = {**os.environ, **project.env}
        env.pop("BROADCASTER_CONFIG", None)
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "broadcaster"), "--config", str(project.config), "post", "--yes",
             "--title", "API errors", "-C", "api", "Elevated errors."],
            cwd=project.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        waited_until = time.monotonic() + 30
        while not hook.events and time.monotonic() < waited_until:
            time.sleep(0.05)
        assert len(hook.events) == 1
        process.send_signal(stop)
        output, errors = process.communicate(timeout=60)
        assert process.returncode == 130 and "Traceback" not in errors, output + errors
        delivery = _delivery(project)
        assert delivery["state"] == "pending", delivery
        _told_the_truth(delivery["error"])
        time.sleep(max(0.0, _arrived(hook) + HOLD + 0.5 - time.monotonic()))
        assert project.cli("retry").exit_code == 0
        assert (len(hook.events), hook.repeats) == (1, 1)
