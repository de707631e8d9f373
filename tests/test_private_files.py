"""Secrets and private data on disk (issue 13 item 8, issue 12): readable by the owner only, whatever
the umask, and no credential written in the config file."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from broadcaster.config_loader import parse
from broadcaster.errors import ConfigError
from tests.conftest import Project


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def run_with_umask(project: Project, umask: int, *args: str) -> subprocess.CompletedProcess[str]:
    script = f"import os, sys; os.umask({umask:#o}); from broadcaster.cli import main; sys.argv = ['broadcaster', *sys.argv[1:]]; main()"
    return subprocess.run([sys.executable, "-c", script, "--config", str(project.config), *args],
                          cwd=project.root, capture_output=True, text=True, check=False, env={**os.environ, **project.env})


@pytest.mark.parametrize("umask", [0o022, 0o000], ids=["022", "000"])
def test_the_state_file_its_journal_and_folder_are_private(project: Project, umask: int) -> None:
    done = run_with_umask(project, umask, "post", "--yes", "--title", "API errors", "--ticket", "Acme Corp",
                          "Elevated errors. [private]edge fra-2[/private]")
    assert done.returncode == 0, done.stderr

    state = project.root / ".broadcaster"
    assert mode(state) == 0o700
    files = [p for p in state.iterdir() if p.name.startswith("state.db")]
    assert {p.name for p in files} >= {"state.db"}
    for path in files:
        assert mode(path) == 0o600, (path.name, oct(mode(path)))
    # The store's locks (main's tick lock) too: whoever can open one can hold it.
    assert run_with_umask(project, umask, "tick").returncode == 0
    locks = list(state.glob(".state.db.*.lock"))
    assert locks
    for path in locks:
        assert mode(path) == 0o600, (path.name, oct(mode(path)))
    # The site, on the other hand, is for everyone.
    assert mode(project.site / "index.html") == 0o644


def test_a_state_file_made_readable_by_an_older_version_is_tightened(project: Project) -> None:
    assert project.cli("post", "--yes", "--title", "API errors", "Elevated errors.").exit_code == 0
    state = project.root / ".broadcaster"
    state.chmod(0o755)
    for path in state.glob("state.db*"):
        path.chmod(0o644)

    assert project.cli("list").exit_code == 0

    assert mode(state) == 0o700
    assert all(mode(p) == 0o600 for p in state.glob("state.db*"))


@pytest.mark.parametrize("url", [
    "postgresql://oncall:hunter2-written@db.internal:5432/broadcaster",
    "postgresql://oncall:hunter2-written@db.internal/broadcaster?sslmode=require",
    "postgresql://oncall@db.internal/broadcaster?sslmode=require&password=hunter2-written",
    "postgres://oncall:pre${DB_PASSWORD}hunter2-written@db.internal/broadcaster",
], ids=["userinfo", "userinfo-query", "query", "partly-env"])
def test_a_store_url_with_a_password_written_in_the_file_is_refused(project: Project, url: str) -> None:
    project.write_config(f'\n[store]\nurl = "{url}"\n')

    result = project.cli("list", env={"DB_PASSWORD": "x"})

    assert result.exit_code == 2
    assert "store.url" in result.output and "holds a password written in the file" in result.output
    assert "hunter2" not in result.output


@pytest.mark.parametrize("url", [
    "postgresql://oncall:${DB_PASSWORD}@db.internal:5432/broadcaster",
    "postgresql://oncall@db.internal/broadcaster?sslmode=require",
    "${STORE_URL}",
    "sqlite:///var/lib/broadcaster/state.db",
], ids=["env-password", "no-password", "whole-url-from-env", "sqlite"])
def test_a_store_url_without_a_written_password_is_accepted(tmp_path: Path, url: str) -> None:
    config = parse({"store": {"url": url}}, tmp_path / "broadcaster.toml", {"STORE_URL": "postgresql://x@y/z"})
    assert config.store is not None


def test_a_written_password_never_shows_in_the_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        parse({"store": {"url": "postgresql://u:S3cr3t-pw@h/db"}}, tmp_path / "b.toml", {})
    assert "S3cr3t-pw" not in str(caught.value)


@pytest.mark.parametrize(("url", "env"), [
    ("host=db.internal password=hunter2-written dbname=broadcaster", {}),
    ("${STORE_URL}", {"STORE_URL": "host=db.internal password=hunter2-written dbname=broadcaster"}),
    ("db.internal/broadcaster", {}),
], ids=["keyword-string", "keyword-string-from-env", "no-scheme"])
def test_a_store_url_that_is_not_a_url_is_refused_and_creates_no_file(project: Project, url: str, env: dict[str, str]) -> None:
    # Found by review: a libpq keyword string was opened as a local SQLite file named after it, so the
    # team store was silently replaced and the password landed in a file name.
    project.write_config(f'\n[store]\nurl = "{url}"\n')
    before = sorted(p.name for p in project.root.iterdir())

    result = project.cli("list", env=env)

    assert result.exit_code == 2
    assert "url" in result.output and "postgresql://" in result.output
    assert "hunter2" not in result.output
    assert sorted(p.name for p in project.root.iterdir()) == before
