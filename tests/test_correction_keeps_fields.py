"""A review (failed before its fix): a correction edited in place on Slack drops the update's "Components" field (the correction row
carries no components, and the edit renders it as the message): the public message loses what was affected."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import Project
from tests.fakes.slack import FakeSlack
from tests.test_audiences import post, slack  # noqa: F401


def test_slack_correction_keeps_the_components_field(project: Project, slack: FakeSlack) -> None:  # noqa: F811
    code, out = post(project, "--title", "API errors", "-C", "api", "Errors on the API.")
    assert code == 0, out
    assert "api: Degraded performance" in json.dumps([m.blocks for m in slack.messages["C0PUB00001"]])
    amended = project.cli("amend", "--yes", str(out["incident_id"]), "1", "Errors on the public API.")
    assert amended.exit_code == 0, amended.output
    blocks = json.dumps([m.blocks for m in slack.messages["C0PUB00001"]])
    assert "Errors on the public API." in blocks
    assert "api: Degraded performance" in blocks, blocks





# A review of the fix above: a correction sent as a new post (X) repeated the update's promises as if made now.
def test_correction_reply_on_x_repeats_a_stale_next_update_promise(project: Project, world: Any) -> None:
    first = project.cli_json("post", "--yes", "--title", "API errors", "--next-update", "30m", "--etr", "2h",
                             "Errors on the API.")
    assert first[0] == 0, first
    incident = str(first[1]["incident_id"])
    second = project.cli_json("post", "--yes", "-i", incident, "--status", "monitoring", "A fix is out; watching.")
    assert second[0] == 0, second
    before = len(world.x.tweets)
    amended = project.cli("amend", "--yes", incident, "1", "Errors on the API for EU customers only.")
    assert amended.exit_code == 0, amended.output
    [reply] = world.x.tweets[before:]
    print(reply.text)
    assert "EU customers only" in reply.text
    # Update 2 made no promise: the newest post on X now tells readers of update 1's ETR and next update.
    assert "Next update by" not in reply.text and "Expected fix by" not in reply.text, reply.text
