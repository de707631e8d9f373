"""Review 60a: the state path's checks and the proxy key written as its user (review 59a's fixes), through the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Project
from tests.test_env_proxy import proxy_env

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


# -- a proxy's user without a scheme, and the same word in a post -----------------------------------------------------


def test_a_proxys_user_without_a_scheme_does_not_refuse_an_address_in_the_post(project: Project) -> None:
    """HTTPS_PROXY=support@proxy.internal:3128 (a user, no password, no scheme): 'support@' was taken for a secret, so
    a post giving 'support@example.com' was refused as holding 'the password in ${HTTPS_PROXY}', which has none."""
    project.write_config()
    env = proxy_env("support@proxy.internal:3128")
    result = project.cli("post", "--yes", "--title", "Mail delays", "Write to support@example.com for help.", env=env)
    said = " ".join((result.stdout + result.stderr).split())
    assert result.exit_code == 0, said
    shown = project.cli("show", project.cli("list", "--json", env=env).stdout.split('"id": "')[1].split('"')[0], env=env)
    assert "support@example.com" in shown.stdout, shown.stdout


# -- one state file named through a link and by its own name ---------------------------------------------------------


def test_a_state_file_named_through_a_link_shares_its_locks(project: Project, tmp_path: Path) -> None:
    """[store] path a link to the state file (shared state kept elsewhere) and a cron job naming the file itself: each
    took its locks beside the name it was given, so a tick (or two operators' posts of one new incident, whose lock
    keeps the second from putting it on every channel twice) ran at once through both names."""
    import fcntl

    shared = tmp_path / "shared"
    shared.mkdir()
    project.write_config(f'[store]\npath = "{shared / "state.db"}"\n')
    assert project.cli("store", "migrate").exit_code == 0
    project.write_config(LOOPED_STORE)
    (project.root / "state.db").symlink_to(shared / "state.db")
    with open(shared / ".state.db.tick.lock", "a") as held:  # a tick under way through the file's own name
        fcntl.flock(held, fcntl.LOCK_EX)
        result = project.cli("tick", "--json")
    assert '"busy": true' in result.stdout, result.stdout + result.stderr


# -- a state folder its owner may not enter --------------------------------------------------------------------------


def _as_its_owner(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    """The real CLI held to the files' modes: run as root, without the capabilities that pass over them."""
    import shutil

    held = []
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("run as root, and no setpriv to drop the capabilities that pass over a folder's mode")
        held = ["setpriv", "--inh-caps=-all", "--bounding-set=-all"]
    env = {**os.environ, **project.env}
    env.pop("BROADCASTER_CONFIG", None)
    return subprocess.run([*held, sys.executable, "-m", "broadcaster", "--config", str(project.config), *args],
                          cwd=project.root, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("command", [["list"], ["store", "export"], ["post", "--yes", "--title", "API", "Errors."]])
def test_a_state_folder_its_owner_may_not_enter_is_told_not_a_crash(project: Project, command: list[str]) -> None:
    """.broadcaster/ chmod 0600 (chmod -R go-x gone wrong, a copy without its x bit): every command ended 'unexpected
    error (PermissionError)', exit 1, as the state file's path could not even be looked at."""
    project.write_config()
    assert project.cli("post", "--yes", "--title", "First", "x").exit_code == 0
    folder = project.root / ".broadcaster"
    folder.chmod(0o600)
    try:
        done = _as_its_owner(project, *command)
    finally:
        folder.chmod(0o700)
    said = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 2 and "unexpected" not in said, said
    assert "Permission denied" in said and "state.db" in said and "permissions" in said, said
