"""Review 52a: the fixes of review 51 (the mark's retry and the scan of a new output folder, `store export`'s ids
through ``storable_id``, `retry --mark-unknown-sent`'s threading), attacked through the real CLI and the fakes."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import Project
from tests.fakes.world import PUBLIC_CHAT, FakeWorld
from tests.test_review47a import _post as _post_json
from tests.test_review47a import died_recording_a_restarted_thread
from tests.test_review49a import _matrix_naming_events, _posted


def _post(project: Project, *args: str) -> tuple[int, str]:
    result = project.cli("post", "--yes", "--title", "API errors", "--impact", "major", *args, "Errors.")
    return result.exit_code, result.output


def test_a_users_file_named_like_a_temporary_one_is_never_taken_as_a_dead_builds(project: Project) -> None:
    """A new output folder holding only the operator's files whose names end in ".broadcaster-tmp" was read as
    empty (every such name skipped as a build's temporary file), marked, and the first build's scan deleted them
    without a word. Only a name replace_file makes (".<name>.<pid>-<n>.broadcaster-tmp") is a build's: the
    folder is refused as holding files broadcaster did not write, and they stay."""
    mine = {"draft.broadcaster-tmp": b"my draft\n", "sub/notes.broadcaster-tmp": b"notes\n"}
    for name, data in mine.items():
        (project.site / name).parent.mkdir(parents=True, exist_ok=True)
        (project.site / name).write_bytes(data)
    code, output = _post(project)
    assert code == 2, output
    assert "did not write" in output and "draft.broadcaster-tmp" in output, output
    assert {name: (project.site / name).read_bytes() for name in mine} == mine


def test_a_dead_builds_temporary_file_in_a_new_folder_is_still_cleared(project: Project) -> None:
    """What a build that died mid-write leaves (its name as replace_file makes it) is still no file of the
    operator's: the folder is claimed and the file cleared."""
    project.site.mkdir()
    leftover = project.site / ".index.html.4242-7.broadcaster-tmp"
    leftover.write_bytes(b"<p>half a page")
    code, output = _post(project)
    assert code == 0, output
    assert not leftover.exists()
    assert not list(project.site.rglob("*.broadcaster-tmp"))


def _room_delivery(project: Project, state: str, parts: list[str]) -> None:
    """The room's delivery as a version before 91f90d8 stored it: its parts as the homeserver named them (a raw
    control character in the first), ``state`` after them."""
    with sqlite3.connect(project.root / ".broadcaster" / "state.db") as db:
        db.execute("UPDATE deliveries SET state=?, parts=?, remote_id=NULL, sent_at=NULL WHERE destination='room'",
                   (state, json.dumps(parts)))


def _room_row(project: Project) -> tuple[str, list[str]]:
    with sqlite3.connect(project.root / ".broadcaster" / "state.db") as db:
        [(state, parts)] = db.execute("SELECT state, parts FROM deliveries WHERE destination='room'")
    return state, json.loads(parts)


def test_a_merge_of_an_older_stores_export_into_its_own_backup_resumes_after_its_parts(
    project: Project, tmp_path: Path,
) -> None:
    """A store written before 91f90d8 holds a part the homeserver named with a control character raw; a backup of
    it (the state file copied) holds the same. The store went on (a second part confirmed, the rest failed) and its
    export, now writing each part escaped, is merged into the backup: the import compared the escaped part with the
    backup's raw one as text, found them apart, and put the delivery in doubt ('posted apart': held by `retry` for
    the operator), where it resumes after the other store's parts, the first of them its own."""
    with _matrix_naming_events(project, "A\x1bB"):
        _posted(project, "post", "--title", "API errors", "Errors.")
    first = "$evA\x1bB-Xy_z"
    backup = Project(tmp_path / "backup", env=dict(project.env))
    backup.root.mkdir()
    backup.config.write_text(project.config.read_text(encoding="utf-8"), encoding="utf-8")
    _room_delivery(project, "failed", [first])
    shutil.copytree(project.root / ".broadcaster", backup.root / ".broadcaster")
    _room_delivery(project, "failed", [first, "$evSecond-Xy_z"])
    export = tmp_path / "export.jsonl"
    assert project.cli("store", "export", str(export)).exit_code == 0
    imported = backup.cli("store", "import", str(export))
    assert imported.exit_code == 0, imported.output
    assert "may exist" not in imported.output, imported.output
    assert _room_row(backup) == ("failed", ["$evA\\x1bB-Xy_z", "$evSecond-Xy_z"]), (_room_row(backup), imported.output)


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_marking_a_restarted_thread_whose_id_names_no_post_says_the_next_update_starts_another(
    project: Project, world: FakeWorld, as_json: bool,
) -> None:
    """The incident's first message was deleted, so its follow-up started the thread anew; it was confirmed under an
    id that names no post (stored escaped or cut) and the command died as it recorded it sent. `retry
    --mark-unknown-sent` said "later updates thread under update #1's post instead": that post is the deleted one,
    and the next update, replying to nothing, started yet another thread. Now it says so."""
    incident = died_recording_a_restarted_thread(project, world)
    with sqlite3.connect(project.root / ".broadcaster" / "state.db") as db:  # its id as a store keeps one that names none
        db.execute("UPDATE deliveries SET parts = json_array(json_extract(parts, '$[0]') || '\\u200b')"
                   " WHERE sequence = 2 AND destination = 'tg-public'")
    marked = project.cli("retry", incident, "--mark-unknown-sent", *(["--json"] if as_json else []))
    assert marked.exit_code == 0, marked.output
    said = json.loads(marked.stdout)["marked"][0]["threading"] if as_json else marked.output
    code, out = _post_json(project, "-i", incident, "-s", "resolved", "Fixed.")
    assert code == 0, out
    *_, fixed = world.telegram_messages(PUBLIC_CHAT)
    assert fixed.reply_to_message_id is None, fixed  # another thread, as the engine does it
    assert "names no post" in said and "update #1" not in said and "another thread" in said, said


def test_a_merge_that_finds_parts_posted_apart_says_so(project: Project, tmp_path: Path) -> None:
    """Both stores posted parts of one update at one place (a backup restored, and each went on): the import put the
    delivery in doubt, rightly, but said the other store's request 'got no answer', which it had; the operator was
    sent to look for a post that may be missing, where two are up. It names both causes now."""
    with _matrix_naming_events(project, "A"):
        _posted(project, "post", "--title", "API errors", "Errors.")
    backup = Project(tmp_path / "backup", env=dict(project.env))
    backup.root.mkdir()
    backup.config.write_text(project.config.read_text(encoding="utf-8"), encoding="utf-8")
    _room_delivery(project, "failed", ["$evMine-Xy_z"])
    shutil.copytree(project.root / ".broadcaster", backup.root / ".broadcaster")
    _room_delivery(project, "failed", ["$evTheirs-Xy_z", "$evSecond-Xy_z"])
    export = tmp_path / "export.jsonl"
    assert project.cli("store", "export", str(export)).exit_code == 0
    imported = backup.cli("store", "import", str(export))
    assert imported.exit_code == 0, imported.output
    assert _room_row(backup)[0] == "unknown", imported.output
    assert "both stores posted" in imported.output, imported.output
