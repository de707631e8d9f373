"""Review 18g (failed before its fix): `init` inside a site (cli/inspect.py:_refuse_writing_into_a_site) advises "Run `broadcaster init` in the
folder beside the site (e.g. `cd ..`)"; from a folder of the site one level down (`cd public/incidents` to look at a
page, the very case a6a54d4 names for runs), `cd ..` lands in the site again and init is refused again."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from broadcaster.cli import main
from tests.conftest import Project


def test_the_way_out_init_suggests_from_inside_a_site_works(project: Project, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    assert project.cli("post", "--yes", "--title", "API errors", "Investigating.").exit_code == 0
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    site = fresh / "public"
    os.rename(project.site, site)  # a built site (marker and all), in a folder with no config
    monkeypatch.chdir(site / "incidents")
    first = CliRunner().invoke(main, ["init"], env=project.env)
    assert first.exit_code == 2, first.output
    if "cd .." not in first.output:
        return  # fixed by naming the folder to go to
    monkeypatch.chdir(Path.cwd().parent)  # as advised
    second = CliRunner().invoke(main, ["init"], env=project.env)
    assert second.exit_code == 0, (first.output, second.output)
