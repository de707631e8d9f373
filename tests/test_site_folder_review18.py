"""A config and its state never inside the site's folder (review 18b; each test failed before its fix): `cd public`
to look at the page, then `broadcaster init` there, wrote broadcaster.toml and .broadcaster/ into the site, and from
then on every command there found a config, so the refusal of the built-in default in a site never fired."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from broadcaster.cli import main
from tests.conftest import Project


def _post(project: Project) -> None:
    result = project.cli("post", "--yes", "--title", "API errors", "-p", "circuit 42, Initech", "Investigating.")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("inside", [".", "incidents"])
def test_init_inside_the_site_folder_is_refused(project: Project, monkeypatch: pytest.MonkeyPatch, inside: str) -> None:
    _post(project)
    monkeypatch.delenv("BROADCASTER_CONFIG", raising=False)
    monkeypatch.chdir(project.site / inside)
    result = CliRunner().invoke(main, ["init"], catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert "would be published" in result.output
    assert not (project.site / inside / "broadcaster.toml").exists()
    assert not (project.site / inside / ".broadcaster").exists()


def test_init_beside_the_site_is_taken(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    _post(project)
    monkeypatch.delenv("BROADCASTER_CONFIG", raising=False)
    (project.root / "other").mkdir()
    monkeypatch.chdir(project.root / "other")
    assert CliRunner().invoke(main, ["init"], catch_exceptions=False).exit_code == 0


@pytest.mark.parametrize("planted", [".broadcaster/state.db", "broadcaster.toml"])
def test_a_build_into_a_site_folder_holding_a_store_or_a_config_is_refused(project: Project, planted: str) -> None:
    _post(project)
    target = project.site / planted
    target.parent.mkdir(exist_ok=True)
    target.write_bytes(project.config.read_bytes() if planted.endswith(".toml") else b"SQLite format 3\0")
    result = project.cli("site", "build")
    assert result.exit_code == 2, result.stdout
    assert planted.split("/")[0] in result.output
    posted = project.cli("post", "--yes", "--title", "DB errors", "Investigating.")
    assert posted.exit_code == 2 and "Nothing was stored or sent" in posted.output


def test_a_post_from_a_config_written_by_hand_inside_the_site_is_refused(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not made by init (copied there): its post would keep its store in the site and build another site into it."""
    _post(project)
    inner = project.site / "incidents" / "broadcaster.toml"
    inner.write_text('[page]\ntitle = "Status"\n', encoding="utf-8")
    monkeypatch.delenv("BROADCASTER_CONFIG", raising=False)
    result = CliRunner().invoke(main, ["--config", str(inner), "post", "--yes", "--title", "X", "-p", "circuit 7",
                                       "Down."], catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert "inside" in result.output and not (project.site / "incidents" / ".broadcaster").exists()


def test_a_run_without_a_config_in_a_sites_subfolder_keeps_no_state_inside_the_site(project: Project) -> None:
    """Review 18e: `cd public/incidents` to look at a page, then `broadcaster post`: no broadcaster.toml there, so
    the built-in default ran and kept its store (private notes and all) in ./.broadcaster/, inside the site."""
    project.write_config()
    posted = project.cli("post", "--yes", "--title", "API errors", "-C", "api", "Errors.")
    assert posted.exit_code == 0, posted.output
    inside = project.site / "incidents"
    assert inside.is_dir()
    env = {k: v for k, v in os.environ.items() if k != "BROADCASTER_CONFIG"}
    done = subprocess.run([sys.executable, "-m", "broadcaster", "post", "--yes", "--title", "DB down",
                           "--private", "Ticket OPS-77 (staff only)", "Database down."],
                          cwd=inside, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert not (inside / ".broadcaster").exists(), "the store, with staff's note, was written inside the site"
