"""Review 51c: fixes of fixes (the output folder's marker re-check, ``names_no_post``'s escapes, `store export`'s
escaping), attacked through the real CLI and the fakes."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Project
from tests.matrix_helpers import ROOM
from tests.test_review49a import _at_room, _matrix_naming_events, _posted
from tests.test_review51a import _unknown_with_a_part


def test_marking_a_post_sent_under_an_id_that_names_no_post_says_so(project: Project, tmp_path: Path) -> None:
    """A homeserver named its event with a control character ("$evA\\x1bB-Xy_z", stored escaped since 91f90d8:
    it names no post). `retry --mark-unknown-sent` said "later updates thread under !ops:example.org/$evA\\x1bB-Xy_z"
    while the next update went out on its own (the engine threads under no id that names no post)."""
    with _matrix_naming_events(project, "A\x1bB") as matrix:
        incident = _posted(project, "post", "--title", "API errors", "Errors.")["incident_id"]
        fresh = _unknown_with_a_part(project, tmp_path)
        marked = fresh.cli("retry", "--mark-unknown-sent", "--json")
        assert marked.exit_code == 0, marked.output
        threading = json.loads(marked.stdout)["marked"][0]["threading"]
        follow_up = _at_room(_posted(fresh, "post", "--incident", incident, "--status", "monitoring", "Fixed."))
        assert follow_up["state"] == "sent", follow_up
        threaded = bool(matrix.events[ROOM][-1].relation)
    assert threaded == ("thread under" in threading and "unknown" not in threading), (threaded, threading)
