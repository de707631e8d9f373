"""Review 18g (failed before its fix): `--config ""` (a `--config "$PROD_CONFIG"` whose variable is unset or misspelt) is taken as no --config at
all: the command silently reads $BROADCASTER_CONFIG's file (or ./broadcaster.toml) and posts to that config's page
and channels. a6a54d4 refuses `-C api=` for this very reason ("an unset shell variable?") and refuses --config
given twice so that another config's channels are never used silently; an empty one slips past both."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from broadcaster.cli import main
from tests.conftest import Project


@pytest.mark.parametrize("args", [["--config", ""], ["--config="], ["-c", ""]], ids=["space", "equals", "short"])
def test_an_empty_config_is_refused_not_replaced_by_the_environments(
        project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    staging = project.config  # what $BROADCASTER_CONFIG names in this shell
    elsewhere = tmp_path / "ops"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = CliRunner().invoke(main, [*args, "post", "--yes", "--title", "API errors", "Investigating."],
                                env={**project.env, "BROADCASTER_CONFIG": str(staging)})
    assert result.exit_code == 2, result.output
    listed = project.cli("list", "--json")
    assert json.loads(listed.stdout) == [], "posted with $BROADCASTER_CONFIG's config though --config was given"


def test_an_empty_config_after_the_command_is_refused(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project.root)  # ./broadcaster.toml is here
    result = CliRunner().invoke(main, ["post", "--config", "", "--yes", "--title", "API errors", "Investigating."],
                                env=project.env)
    assert result.exit_code == 2, result.output
