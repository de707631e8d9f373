"""Review 18g (failed before its fix): the "same postmortem again" refusal (lifecycle._refuse_published_again) tells the operator to fix a typo
with `broadcaster amend ID SEQ ...`, naming a version that the amend refusal added in the same series
(lifecycle._refuse_a_version_not_every_readers) then refuses: the advice is a command that does not work."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.conftest import Project
from tests.fakes.world import FakeWorld


def test_the_amend_the_published_again_refusal_suggests_is_not_itself_refused(
        project: Project, world: FakeWorld, tmp_path: Path) -> None:
    created = project.cli("post", "--yes", "--json", "--title", "API errors", "-C", "api", "Down.")
    incident = json.loads(created.stdout)["incident_id"]
    assert project.cli("resolve", "--yes", incident, "Fixed.").exit_code == 0
    pm = tmp_path / "pm.md"
    pm.write_text("# Postmortem\nA bad deploy.\n")
    # The draft to staff first (the README's own example), then the same file to everyone else.
    assert project.cli("postmortem", incident, "--yes", "-f", str(pm), "--only", "tg-ops").exit_code == 0
    assert project.cli("postmortem", incident, "--yes", "-f", str(pm)).exit_code == 0
    again = project.cli("postmortem", incident, "--yes", "-f", str(pm))  # from the shell's history
    assert again.exit_code == 2, again.output
    suggested = re.search(r"`broadcaster amend (\S+) (\d+) \.\.\.`", again.stderr)
    if suggested is None:
        return  # fixed by not offering an amend that cannot be done
    amended = project.cli("amend", "--yes", suggested.group(1), suggested.group(2), "# Postmortem\nA bad deploy, fixed.")
    assert amended.exit_code == 0, (again.stderr, amended.output)
