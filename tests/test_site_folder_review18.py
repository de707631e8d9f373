"""A config and its state never inside the site's folder (review 18b; each test failed before its fix): `cd public`
to look at the page, then `broadcaster init` there, wrote broadcaster.toml and .broadcaster/ into the site, and from
then on every command there found a config, so the refusal of the built-in default in a site never fired."""

from __future__ import annotations

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
