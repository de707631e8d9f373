"""Review 51a: the post-id rules after their narrowing (``delivery.storable_id``, ``delivery.names_no_post``,
`store import`'s check of an id, `retry --mark-unknown-sent --remote-id`), attacked through the real CLI and the
fakes."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Project
from tests.matrix_helpers import ROOM
from tests.test_review49a import _at_room, _matrix_naming_events, _moved, _posted

# What no terminal line may carry raw: a right-to-left override (the line reads reversed: "detaleted" for
# "deleted"), an isolate, a byte-order mark, a soft hyphen.
_REORDERING = "\u202e\u2066\u2069\ufeff\u00ad"


def _room_ids(project: Project) -> list[str]:
    with sqlite3.connect(project.root / ".broadcaster" / "state.db") as db:
        return [str(remote_id) for (remote_id,) in db.execute("SELECT remote_id FROM deliveries WHERE destination = 'room'")]


@pytest.mark.parametrize("char", ["\x1b", "\x9b", "\n", "\u2028"], ids=["esc", "csi", "line-end", "line-separator"])
def test_a_post_id_holding_a_control_character_keeps_the_stores_export_importable(
    project: Project, tmp_path: Path, char: str,
) -> None:
    """A homeserver named its event with a control character or a line break in it ("$evA\\x1bB-Xy_z"): the engine
    stored it as it came (3f1c18d), and `store import` refused the store's own export ("holds a control character
    ... which no post id holds", exit 2, 103aa5e): the store could not be moved to team mode or restored, and the
    refusal told the operator to set the id "as the service gave it", which it was. Now such an id is kept escaped,
    as a lone surrogate is: the export imports, and exports again the same; the post is left to the operator."""
    with _matrix_naming_events(project, f"A{char}B") as matrix:
        incident = _posted(project, "post", "--title", "API errors", "Errors.")["incident_id"]
        fresh, imported = _moved(project, tmp_path)
        assert imported.exit_code == 0, imported.output
        assert _room_ids(fresh) == _room_ids(project), (_room_ids(fresh), _room_ids(project))
        withdrawn = _at_room(_posted(project, "withdraw", incident, "--reason", "posted in error"))
        said = " ".join(withdrawn["notes"])
        assert "not deleted" in said and "still up" in said and "deleted 1 post" not in said, withdrawn
        assert not matrix.redacted, matrix.redacted


def _unknown_with_a_part(project: Project, tmp_path: Path) -> Project:
    """``project``'s store moved into a fresh project, its room delivery of unknown fate with its one part
    confirmed under an id holding a right-to-left override, as an export from another store brings it."""
    export = tmp_path / "export.jsonl"
    assert project.cli("store", "export", str(export)).exit_code == 0
    records = [json.loads(line) for line in export.read_text(encoding="utf-8").splitlines()]
    for delivery in (d for r in records for u in r.get("updates", []) for d in u["deliveries"]):
        if delivery["destination"] == "room":
            delivery.update(state="unknown", parts=[delivery["remote_id"]], remote_id=None, sent_at=None)
    export.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    fresh = project.fresh_beside(tmp_path / "fresh")
    imported = fresh.cli("store", "import", str(export))
    assert imported.exit_code == 0, imported.output
    return fresh


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_marking_a_post_sent_shows_the_id_it_threads_under_escaped(
    project: Project, tmp_path: Path, as_json: bool,
) -> None:
    """`retry --mark-unknown-sent` said "later updates thread under <id>" with the confirmed part's id raw (on the
    terminal and in `--json`'s "threading"): a right-to-left override a service (or an import) put in it reversed
    the rest of the line. Every other line shows the id escaped; now this one does too."""
    with _matrix_naming_events(project, "A\u202eB"):
        _posted(project, "post", "--title", "API errors", "Errors.")
        fresh = _unknown_with_a_part(project, tmp_path)
        marked = fresh.cli("retry", "--mark-unknown-sent", *(["--json"] if as_json else []))
    assert marked.exit_code == 0, marked.output
    assert not [c for c in marked.output if c in _REORDERING], ascii(marked.output)
    shown: Any = json.loads(marked.stdout)["marked"][0]["threading"] if as_json else marked.output
    assert "thread under !ops:example.org/$evA\\u202eB-Xy_z" in shown, ascii(shown)


def test_an_id_an_earlier_version_kept_escaped_is_never_sent_back(project: Project) -> None:
    """53f12a9 (a version of 2026-12-07) stored an event id holding a zero-width space escaped ("$evA\\u200bB",
    six ASCII characters for it); 3f1c18d narrowed names_no_post to a lone surrogate's escape, so after upgrading
    the follow-up threaded under the escape and was refused for good ("Cannot start threads ..."), and withdraw
    asked to redact it, was told not found, and said "deleted 1 post(s)" while the event stayed up. Now such an
    escape names no post: the follow-up goes out on its own and the withdrawal says the post is still up."""
    with _matrix_naming_events(project, "A\u200bB") as matrix:
        incident = _posted(project, "post", "--title", "API errors", "Errors.")["incident_id"]
        with sqlite3.connect(project.root / ".broadcaster" / "state.db") as db:  # as that version stored it
            db.execute("UPDATE deliveries SET remote_id = replace(remote_id, char(8203), '\\u200b')"
                       " WHERE destination = 'room'")
        follow_up = _at_room(_posted(project, "post", "--incident", incident, "--status", "monitoring", "Fixed."))
        assert follow_up["state"] == "sent", follow_up
        first, second = matrix.events[ROOM]
        assert "Fixed." in str(second.content.get("body")) and not second.relation, second  # on its own
        withdrawn = _at_room(_posted(project, "withdraw", incident, "--reason", "posted in error"))
        said = " ".join(withdrawn["notes"])
        assert "not deleted: the post !ops:example.org/$evA\\u200bB-Xy_z at room is still up" in said, withdrawn
        assert matrix.redacted == [second.event_id], (matrix.redacted, first.event_id)  # the follow-up alone


def test_store_export_writes_an_id_that_would_reorder_the_terminal_as_a_json_escape(
    project: Project, tmp_path: Path,
) -> None:
    """`store export` with no file writes to standard output, as JSON with its non-ASCII text kept as it is: a right-
    to-left override a service put in a post id (kept as it came: it names the post) reached the terminal raw, and
    the rest of the line read reversed. Each character that is never printed is written as its JSON escape, which
    reads back the same: the export imports, and the id is the service's."""
    with _matrix_naming_events(project, "A\u202eB\u2066C\u00adD\U000e0041E"):
        _posted(project, "post", "--title", "API errors", "Errors.")
        exported = project.cli("store", "export")
    assert exported.exit_code == 0, exported.output
    assert not [c for c in exported.stdout if not c.isprintable() and c != "\n"], ascii(exported.stdout)
    assert "$evA\\u202eB\\u2066C\\u00adD\\udb40\\udc41E-Xy_z" in exported.stdout, ascii(exported.stdout)
    (tmp_path / "export.jsonl").write_text(exported.stdout, encoding="utf-8")
    fresh = project.fresh_beside(tmp_path / "fresh")
    imported = fresh.cli("store", "import", str(tmp_path / "export.jsonl"))
    assert imported.exit_code == 0, imported.output
    with sqlite3.connect(fresh.root / ".broadcaster" / "state.db") as db:
        ids = [str(r) for (r,) in db.execute("SELECT remote_id FROM deliveries WHERE destination = 'room'")]
    assert ids == _room_ids(project) and "$evA\u202eB\u2066C\u00adD\U000e0041E-Xy_z" in ids[0], ascii(ids)
