"""`broadcaster init FOLDER` writes FOLDER/broadcaster.toml, as `git init FOLDER` makes its repository there: click
refused a folder with "'ops' is a directory", and the operator had to guess the file's name."""

from __future__ import annotations

import pytest

from tests.conftest import Project


def test_init_of_an_existing_folder_writes_its_broadcaster_toml(project: Project) -> None:
    folder = project.root / "ops"
    folder.mkdir()
    result = project.cli("init", str(folder))
    assert result.exit_code == 0, result.output
    written = folder / "broadcaster.toml"
    assert written.read_text(encoding="utf-8").startswith("#")
    assert (folder / ".broadcaster" / ".gitignore").is_file()
    assert f"--config {written}" in result.output, result.output
    checked = Project(folder).cli("channels", "check")  # the file the command named is a config that works
    assert checked.exit_code == 0, checked.output


def test_init_of_a_name_ending_in_a_slash_makes_the_folder(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project.root)
    result = project.cli("init", "new/ops/")
    assert result.exit_code == 0, result.output
    assert (project.root / "new" / "ops" / "broadcaster.toml").is_file()
    assert not (project.root / "new" / "ops.toml").exists()


def test_init_of_a_folder_with_a_config_keeps_it_without_force(project: Project) -> None:
    folder = project.root / "ops"
    folder.mkdir()
    (folder / "broadcaster.toml").write_text("# mine\n", encoding="utf-8")
    result = project.cli("init", str(folder))
    assert result.exit_code == 2, result.output
    assert "already exists" in result.output and "--force" in result.output
    assert (folder / "broadcaster.toml").read_text(encoding="utf-8") == "# mine\n"
    forced = project.cli("init", "--force", str(folder))
    assert forced.exit_code == 0, forced.output
    assert (folder / "broadcaster.toml.bak").read_text(encoding="utf-8") == "# mine\n"


def test_init_of_a_file_path_still_writes_that_file(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project.root)
    result = project.cli("init", "staging.toml")
    assert result.exit_code == 0, result.output
    assert (project.root / "staging.toml").is_file()
    assert "--config staging.toml" in result.output
