"""Review 51c: fixes of fixes (the output folder's marker re-check, ``names_no_post``'s escapes, `store export`'s
escaping), attacked through the real CLI and the fakes."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.conftest import Project
from tests.matrix_helpers import ROOM
from tests.test_review49a import _at_room, _matrix_naming_events, _moved, _posted
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


def test_a_store_an_earlier_version_wrote_an_id_with_a_control_character_into_moves(
    project: Project, tmp_path: Path,
) -> None:
    """Every version before 91f90d8 stored a homeserver's event id holding a control character as it came
    ("$evA<ESC>B-Xy_z"; 53f12a9 escaped it, 3f1c18d took that back). 91f90d8 escapes such an id when the engine
    stores it, so that the store's own export imports, but a store an earlier version wrote still held it raw:
    its export was refused by `store import` ("holds a control character ... set it to the id as the service gave
    it", exit 2), which it was, so the store could not be moved to team mode or restored. The export now writes
    such an id as the engine stores it today (escaped: it names no post), and the withdrawal in the store it moved
    to leaves the post up, saying so (and shows the id on one line)."""
    with _matrix_naming_events(project, "A\x1bB") as matrix:
        incident = _posted(project, "post", "--title", "API errors", "Errors.")["incident_id"]
        with sqlite3.connect(project.root / ".broadcaster" / "state.db") as db:  # as every earlier version stored it
            db.execute("UPDATE deliveries SET remote_id = replace(remote_id, '\\x1b', char(27)),"
                       " thread_ref = replace(thread_ref, '\\x1b', char(27)), parts = replace(parts, '\\\\x1b', '\\u001b')"
                       " WHERE destination = 'room'")
            [(raw,)] = db.execute("SELECT remote_id FROM deliveries WHERE destination = 'room'")
        assert "\x1b" in raw, raw
        fresh, imported = _moved(project, tmp_path)
        assert imported.exit_code == 0, imported.output
        again = fresh.cli("store", "export", str(tmp_path / "again.jsonl"))
        assert again.exit_code == 0, again.output
        first, second = ((tmp_path / name).read_text(encoding="utf-8").splitlines()[1:]
                         for name in ("export.jsonl", "again.jsonl"))
        assert [line.replace('"import"', '"broadcaster"') for line in second] == first, (first, second)
        withdrawn = _at_room(_posted(fresh, "withdraw", incident, "--reason", "posted in error"))
        said = " ".join(withdrawn["notes"])
        assert "not deleted: the post !ops:example.org/$evA\\x1bB-Xy_z at room" in said, withdrawn
        assert not matrix.redacted, matrix.redacted
