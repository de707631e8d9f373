"""A review (failed before its fix): a correction sent to staff only (``amend --only ops``), then taken back to the text the public has: the
second correction is compared with the staff-only one (``_where_the_original_went``'s ``shown``), not with what the
public read, so every public channel is sent a "correction" that changes nothing they read; the public page, whose
``_timeline`` compares with what it shows, has no "Corrected". The public learns a correction was made elsewhere."""

from __future__ import annotations

import json

from tests.conftest import Project
from tests.fakes.slack import FakeSlack
from tests.test_audiences import post, slack  # noqa: F401


def test_correction_back_to_the_public_text_is_not_sent_to_the_public(project: Project, slack: FakeSlack) -> None:  # noqa: F811
    code, out = post(project, "--title", "API errors", "-C", "api", "Errors on the API.")
    assert code == 0, out
    incident = str(out["incident_id"])
    staff = project.cli("amend", "--yes", "--only", "ops", incident, "1", "Errors on the API, edge fra-2 suspected.")
    assert staff.exit_code == 0, staff.output
    public_before = json.dumps([[m.text, m.blocks] for m in slack.messages["C0PUB00001"]])
    code, back = project.cli_json("amend", "--yes", incident, "1", "Errors on the API.")
    assert code == 0, back
    states = {d["destination"]: d["state"] for d in back["deliveries"]}
    public_after = json.dumps([[m.text, m.blocks] for m in slack.messages["C0PUB00001"]])
    assert states.get("public-slack") == "skipped", states
    assert public_after == public_before, "the public channel was told of a correction of nothing it read"
