"""Review 62b: the store and withdrawal changes of session 62 (store url variables, shared state files' locks,
moved_here, StoredSpellings.each), attacked through the CLI and the fakes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Project


def _held_to_modes() -> list[str]:
    """Root passes over every mode: the CLI runs without the capabilities that let it (as review 61g's tests)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("run as root, and no setpriv to drop the capabilities that pass over a file's mode")
    return ["setpriv", "--inh-caps=-all", "--bounding-set=-all"]


def _run(project: Project, *args: str) -> tuple[int, str]:
    full = {**os.environ, **project.env}
    full.pop("BROADCASTER_CONFIG", None)
    done = subprocess.run([*_held_to_modes(), sys.executable, "-m", "broadcaster", "--config", str(project.config),
                           *args], cwd=project.root, env=full, capture_output=True, text=True, timeout=90)
    return done.returncode, " ".join((done.stdout + done.stderr).split())


def _host(name: str, path: Path) -> str:
    return f'\n[publish.{name}]\ntype = "directory"\npath = "{path}"\n'


def _publish_lock_of_another_account(project: Project, tmp_path: Path) -> tuple[Path, Path]:
    """A directory host `www` whose site-publish lock beside the state file another account made (a state file a
    group shares: each member's first publish makes it, its own only); then a second host `zzz`, after it."""
    www, zzz = tmp_path / "www", tmp_path / "zzz"
    project.write_config(_host("www", www))
    posted = project.cli("post", "--yes", "--title", "API errors", "Errors on the API.")
    assert posted.exit_code == 0, posted.output
    assert project.cli("site", "publish").exit_code == 0  # its lock named by the folder's record from now on
    for lock in (project.root / ".broadcaster").glob(".state.db.site-publish-*.lock"):  # www's alone so far
        os.chown(lock, 65534, 65534)
        lock.chmod(0o600)
    project.write_config(_host("www", www) + _host("zzz", zzz))
    return www, zzz


def test_a_publish_lock_of_another_account_fails_that_target_alone(project: Project, tmp_path: Path) -> None:
    """`site publish` ended at the target whose store lock another account made: 'Nothing was stored or sent',
    exit 2, though the page in output_dir was rebuilt, and the targets after it never got the site (each target
    that fails is to be reported while the others still get it)."""
    www, zzz = _publish_lock_of_another_account(project, tmp_path)
    (project.site / "index.html").unlink()

    code, said = _run(project, "site", "publish")

    if "Permission denied" in said and "python" in said.lower():
        pytest.skip(f"this python cannot be run without its capabilities: {said[:200]}")
    assert (project.site / "index.html").exists(), said  # the page was rebuilt: something was sent
    assert "nothing was stored or sent" not in said.lower(), said
    assert code == 3, said
    assert (zzz / "index.html").exists(), said
    assert "site-publish-" in said and "uid 65534" in said, said


def test_a_post_s_publish_lock_of_another_account_is_told_not_an_unexpected_error(project: Project,
                                                                                    tmp_path: Path) -> None:
    """A follow-up's site target failed 'unexpected error: StoreError: ...', and told that `broadcaster retry`
    sends it, which meets the same lock."""
    _publish_lock_of_another_account(project, tmp_path)
    incident = project.cli("list", "--json").stdout
    assert "api-errors" in incident

    code, said = _run(project, "post", "--yes", "-i", incident.split('"id": "')[1].split('"')[0], "Cause found.")

    if "Permission denied" in said and "python" in said.lower():
        pytest.skip(f"this python cannot be run without its capabilities: {said[:200]}")
    assert code == 3, said
    assert "unexpected error" not in said and "uid 65534" in said, said
    assert "run the command as the account that made it" in said.lower() or "as that account" in said, said


TG_TOKEN = "123456:tg-token-62b"


def test_a_new_incident_lock_of_another_account_after_a_chat_lookup_says_nothing_was_stored(project: Project) -> None:
    """A post whose checks stored what Telegram said of an @name (two tables of other readers: the chat each is)
    met the new-incident lock another account made, and said 'What this command stored before it is kept ... and
    `broadcaster retry` sends it', exit 1: the post was not stored, and no retry sends it (the operator, told so,
    waits for a post that never comes). Refused as the lock is before anything of the post is stored, exit 2."""
    from tests.fakes.telegram import FakeTelegram

    with FakeTelegram(token=TG_TOKEN, chats={"@acmestatus": "Acme status", -100123: "ops"},
                      enforce_limits=False) as telegram:
        project.env["TG"] = TG_TOKEN
        project.write_config(
            f'\n[channels.pub]\ntype = "telegram"\ntoken = "${{TG}}"\nchat_ids = ["@acmestatus"]\napi_url = "{telegram.url}"\n'
            f'\n[channels.ops]\ntype = "telegram"\ntoken = "${{TG}}"\nvisibility = "internal"\nchat_ids = [-100123]\n'
            f'api_url = "{telegram.url}"\n')
        lock = project.root / ".broadcaster" / ".state.db.new-incident.lock"
        assert project.cli("list").exit_code in (0, 2)
        lock.parent.mkdir(exist_ok=True)
        lock.touch()
        os.chown(lock, 65534, 65534)
        lock.chmod(0o600)

        code, said = _run(project, "post", "--yes", "--title", "API errors", "Errors on the API.")

        sent = [m for chat in telegram.messages.values() for m in chat]
    if "Permission denied" in said and "python" in said.lower():
        pytest.skip(f"this python cannot be run without its capabilities: {said[:200]}")
    assert not sent, said
    assert "retry" not in said and "nothing was stored or sent" in said.lower(), said
    assert code == 2 and ".state.db.new-incident.lock" in said, said


# -- [store] url = "${STORE_URL}" naming a file: read as the same URL written in the config -------------------------


def test_a_store_url_variable_s_relative_file_is_the_config_s_not_the_working_folder_s(
        project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """url = "sqlite:///rel/state.db" written in the config names the file beside the config, from any folder; the
    same URL in ${STORE_URL} named one in the working folder: a cron job's `list` there said 'No incidents yet', and
    its post made a new, empty store there (an incident posted again, a follow-up threaded under nothing)."""
    project.write_config('\n[store]\nurl = "${STORE_URL}"\n')
    project.env["STORE_URL"] = "sqlite:///rel/state.db"
    monkeypatch.chdir(project.root)
    assert project.cli("post", "--yes", "--title", "API errors", "Errors on the API.").exit_code == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    listed = project.cli("list")

    assert "api-errors" in listed.output, listed.output
    assert not (elsewhere / "rel").exists()


def test_a_store_url_variable_s_tilde_is_the_home_folder_as_in_a_written_url(
        project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """url = "sqlite:///~/status/state.db" written in the config is the home folder's file; in ${STORE_URL} it made a
    folder named '~' in the working folder and a new store in it."""
    home = tmp_path / "home"
    home.mkdir()
    project.write_config('\n[store]\nurl = "${STORE_URL}"\n')
    project.env.update(STORE_URL="sqlite:///~/status/state.db", HOME=str(home))
    monkeypatch.chdir(project.root)

    posted = project.cli("post", "--yes", "--title", "API errors", "Errors on the API.")

    assert posted.exit_code == 0, posted.output
    assert (home / "status" / "state.db").is_file()
    assert not (project.root / "~").exists()
