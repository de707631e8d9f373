"""Review 60a: the state path's checks and the proxy key written as its user (review 59a's fixes), through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Project

# -- the state file's own path is a loop of symbolic links ----------------------------------------------------------

LOOPED_STORE = """
[store]
path = "state.db"
"""


@pytest.mark.parametrize("command", [
    ["post", "--yes", "--title", "API errors", "Errors."],
    ["post", "--dry-run", "--title", "API errors", "Errors."],
    ["list"],
    ["store", "export"],
    ["site", "build"],
])
def test_a_loop_of_links_named_as_the_state_file_is_refused_as_one(project: Project, command: list[str]) -> None:
    """[store] path naming a loop of links (state.db -> other -> state.db): the post ended 'unexpected error
    (OSError)', exit 1, and its dry run, list and export said all was well on an empty store ('not made yet')."""
    project.write_config(LOOPED_STORE)
    (project.root / "state.db").symlink_to("other")
    (project.root / "other").symlink_to("state.db")
    result = project.cli(*command)
    said = " ".join((result.stdout + result.stderr).split())
    assert result.exit_code == 2, said
    assert "loop of symbolic links" in said and "Check the path" in said, said
    assert "unexpected" not in said
    assert sorted(p.name for p in project.root.iterdir() if p.name.startswith(("state", "other"))) == ["other", "state.db"]


def test_a_link_to_a_file_in_no_folder_as_the_state_file_is_refused_before_the_post(project: Project,
                                                                                     tmp_path: Path) -> None:
    """[store] path a link to a file whose folder does not exist (a volume not mounted): the dry run passed and the
    post ended 'cannot open the state file ... No such file or directory', exit 1."""
    project.write_config(LOOPED_STORE)
    (project.root / "state.db").symlink_to(tmp_path / "not-mounted" / "state.db")
    for command in (["post", "--dry-run", "--title", "API errors", "Errors."],
                    ["post", "--yes", "--title", "API errors", "Errors."]):
        result = project.cli(*command)
        said = " ".join((result.stdout + result.stderr).split())
        assert result.exit_code == 2, said
        assert "symbolic link" in said and str(tmp_path / "not-mounted") in said, said
    assert not (tmp_path / "not-mounted").exists()
