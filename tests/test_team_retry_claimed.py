"""A `post` on one machine killed mid-send, then `retry` on another machine (a hostile review's finding; failed
before its fix).

The claim of a process on another host is trusted for a lease (``owner_is_alive``: ``[engine] deadline`` + 60 s),
so the other machine's ``retry`` leaves the ``sending`` row alone: right. But ``retry`` then says "Nothing to
resend: every delivery is sent or skipped." and exited 0, while a delivery was in fact neither: its post may or may
not exist (here: it arrived; had the kill come before the request left, it would be lost). The operator who ran
`retry` to make sure was told all is done. Now `retry` names the delivery still claimed by another machine (who,
since when, until when its claim is trusted, what to run then) and exits 3.

"Another machine" is this one with another hostname (a ``sitecustomize`` on ``PYTHONPATH`` of the killed process
only): ``process_owner`` records the hostname, and the store is the team PostgreSQL database.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Project
from tests.fakes.base import Fault
from tests.fakes.slack import FakeSlack
from tests.pg import PASSWORD_ENV, PgServer, pg_server_fixture  # noqa: F401 - pytest fixture

TOKEN = "xoxb-team16-dead-sender-91"
CHANNEL = "C0OPS16016"


@pytest.fixture
def team_db(pg_server: PgServer) -> Iterator[str]:
    name = pg_server.create_database()
    yield name
    pg_server.drop_database(name)


def test_retry_on_another_machine_does_not_call_a_delivery_claimed_by_a_killed_sender_done(
    project: Project, pg_server: PgServer, team_db: str, tmp_path: Path,
) -> None:
    other = tmp_path / "laptop-b"
    other.mkdir()
    (other / "sitecustomize.py").write_text("import socket\nsocket.gethostname = lambda: 'laptop-b'\n", encoding="utf-8")
    project.env.update({"SLACK_TOKEN": TOKEN, PASSWORD_ENV: pg_server.password})
    with FakeSlack(token=TOKEN, channels={CHANNEL: "ops"}) as slack:
        project.write_config(
            "\n[engine]\ntimeout = 10\ndeadline = 30\nmax_attempts = 2\n"
            f'\n[store]\nurl = "{pg_server.config_url(team_db)}"\n'
            f'\n[channels.ops]\ntype = "slack"\nvisibility = "internal"\ntoken = "${{SLACK_TOKEN}}"\n'
            f'channel = "{CHANNEL}"\napi_url = "{slack.api_url}"\n')
        slack.fail(Fault(match="chat.postMessage", hold=30.0))  # posted; the answer never comes in time
        laptop_b = project.process("post", "--yes", "--title", "API errors", "Elevated API errors.",
                                   env={"PYTHONPATH": str(other)})
        assert slack.held.wait(30), laptop_b.communicate()
        laptop_b.kill()  # SIGKILL: after the request reached Slack, before the answer was recorded
        laptop_b.communicate()
        slack.clear_faults()

        shown = json.loads(project.cli("list", "--json").stdout)
        states = [d["state"] for d in json.loads(project.cli("show", shown[0]["id"], "--json").stdout)["deliveries"]
                  if d["destination"] == "ops"]
        assert states == ["sending"], states  # claimed by the killed laptop-b, within its lease
        retry = project.cli("retry")
        told = f"retry exit {retry.exit_code}:\n{retry.output}\nlist: {json.dumps(shown)[:600]}"
        assert len(slack.messages[CHANNEL]) == 1, told  # it did arrive; and nothing resent it: right
        # A delivery still "sending" is not reported as sent or skipped: named, with what to do, and exit 3.
        assert "every delivery is sent or skipped" not in retry.output, told
        assert retry.exit_code == 3 and "being sent by laptop-b" in retry.output and "trusted until" in retry.output, told
        as_json = json.loads(project.cli("retry", "--json").stdout)
        assert "ops" in {d["destination"] for d in as_json["sending"]}, as_json
