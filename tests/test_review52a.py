"""Review 52a: the fixes of review 51 (the mark's retry and the scan of a new output folder, `store export`'s ids
through ``storable_id``, `retry --mark-unknown-sent`'s threading), attacked through the real CLI and the fakes."""

from __future__ import annotations

from tests.conftest import Project


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
