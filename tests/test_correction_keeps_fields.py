"""A review (failed before its fix): a correction edited in place on Slack drops the update's "Components" field (the correction row
carries no components, and the edit renders it as the message): the public message loses what was affected."""

from __future__ import annotations

import json

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

