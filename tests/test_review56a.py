"""Review 56a: `retry --mark-unknown-sent --remote-id` refusing an id recorded for another delivery (a correction's
own post refused, another incident's Bluesky post let through), `bot run` and `init FOLDER` in the wrong place,
attacked through the real CLI against the loopback fakes."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator

import pytest

from tests.conftest import ENGINE, Project
from tests.fakes.base import Fault
from tests.fakes.slack import FakeSlack

PUBLIC = "C0PUBLIC01"
TOKEN = "xoxb-review56a-token"


def _said(output: str) -> str:
    return " ".join(output.split())


@pytest.fixture
def slack(project: Project) -> Iterator[FakeSlack]:
    with FakeSlack(token=TOKEN, channels={PUBLIC: "status"}) as fake:
        project.env["SLACK_TOKEN"] = TOKEN
        project.write_config(ENGINE + f'\n[channels.status-slack]\ntype = "slack"\ntoken = "${{SLACK_TOKEN}}"\n'
                             f'channel = "{PUBLIC}"\napi_url = "{fake.api_url}"\n')
        yield fake


def _deliveries(project: Project, incident: str, destination: str) -> list[dict[str, object]]:
    shown = json.loads(project.cli("show", incident, "--json").stdout)["deliveries"]
    return [d for d in shown if d["destination"] == destination]


def test_the_id_of_the_post_a_correction_edited_in_place_is_taken_for_that_correction(
        project: Project, slack: FakeSlack) -> None:
    """An amend edits update 1's Slack message in place (chat.update), and records that message's id as the
    correction's. Killed while the edit's answer was out, the correction's fate is unknown; the operator saw the
    message corrected and gave its link. It was refused as 'the post broadcaster recorded for ... update #1 here,
    not this update's': the one post that is this correction's."""
    code, out = project.cli_json("post", "--yes", "--title", "API errors", "Errors on the API.")
    assert code == 0, out
    incident = str(out["incident_id"])
    [first] = slack.top_level(PUBLIC)
    slack.fail(Fault(match="chat.update", hold=60))
    amending = project.process("amend", "--yes", incident, "1", "Errors on the EU API.")
    try:
        assert slack.held.wait(30), amending.stderr.read() if amending.stderr else ""
    finally:
        amending.send_signal(signal.SIGKILL)
        amending.communicate(timeout=30)
    link = f"https://acme.slack.com/archives/{PUBLIC}/p{first.ts.replace('.', '')}"
    marked = project.cli("retry", incident, "--mark-unknown-sent", "--remote-id", f"status-slack={link}")
    assert marked.exit_code == 0, marked.output
    states = {d["sequence"]: (d["state"], d["remote_id"]) for d in _deliveries(project, incident, "status-slack")}
    assert states[2] == ("sent", f"{PUBLIC}:{first.ts}"), states
