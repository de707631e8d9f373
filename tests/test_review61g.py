"""Review 61g: a state file the command may not write (review 61c's copy and refusal), attacked through the CLI."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import Project
from tests.test_review61c import _held_to_modes


def _run(project: Project, *args: str, held: bool = True, env: dict[str, str] | None = None) -> tuple[int, str]:
    full = {**os.environ, **project.env, **(env or {})}
    full.pop("BROADCASTER_CONFIG", None)
    done = subprocess.run([*(_held_to_modes() if held else []), sys.executable, "-m", "broadcaster",
                           "--config", str(project.config), *args],
                          cwd=project.root, env=full, capture_output=True, text=True, timeout=90)
    return done.returncode, " ".join((done.stdout + done.stderr).split())


def _as_found(folder: Path) -> dict[str, tuple[int, bytes]]:
    return {p.name: (stat.S_IMODE(p.stat().st_mode), p.read_bytes() if p.is_file() else b"")
            for p in sorted(folder.iterdir())} | {".": (stat.S_IMODE(folder.stat().st_mode), b"")}


def _backup(project: Project, folder: Path) -> Path:
    """A state file with one incident, kept as a backup: the file 0444 in a folder its owner may write."""
    store = folder / "state.db"
    posted = project.cli("--store", str(store), "post", "--yes", "--title", "API errors", "Errors.")
    assert posted.exit_code == 0, posted.output
    store.chmod(0o444)
    return store


# -- [store] url = "${STORE_URL}" naming a file -----------------------------------------------------------------------


def test_a_read_only_state_file_named_by_a_store_url_variable_is_read_from_a_copy(project: Project,
                                                                                   tmp_path: Path) -> None:
    """[store] url = "${STORE_URL}", STORE_URL=sqlite:///…/state.db (the url kept as a secret): the checks of a state
    file the command may not write looked only at a path or a written URL, so `list` of a snapshot failed 'attempt
    to write a readonly database', exit 1, and narrowed the snapshot's 0444 to 0400, as before review 61c."""
    store = _backup(project, tmp_path / "backup")
    project.write_config('\n[store]\nurl = "${STORE_URL}"\n')
    before = _as_found(store.parent)

    code, said = _run(project, "list", env={"STORE_URL": f"sqlite:///{store}"})

    assert code == 0 and "api-errors" in said, said
    assert _as_found(store.parent) == before


def test_a_post_to_a_read_only_state_file_named_by_a_store_url_variable_is_refused(project: Project,
                                                                                   tmp_path: Path) -> None:
    """Run as root (whom modes do not stop), the post wrote into the 0444 backup, which `--store` or [store] path
    refuse: the owner's write bit is the operator's word even for root."""
    store = _backup(project, tmp_path / "backup")
    project.write_config('\n[store]\nurl = "${STORE_URL}"\n')
    before = _as_found(store.parent)

    code, said = _run(project, "post", "--yes", "--title", "Queue delays", "Slow.", held=False,
                      env={"STORE_URL": f"sqlite:///{store}"})

    assert code == 2 and "cannot be written" in said and "read-only for you (mode 0444" in said, said
    assert _as_found(store.parent) == before


# -- a dry run of an incident kept from the public --------------------------------------------------------------------

OPS = """
[channels.ops]
type = "webhook"
url = "http://127.0.0.1:9/hook"
visibility = "internal"
secret = "${HOOK_SECRET}"
"""


@pytest.mark.parametrize("command", [["preview"], ["post", "--dry-run"]], ids=" ".join)
def test_a_dry_run_of_an_incident_kept_from_the_public_reads_a_read_only_state_file(
        project: Project, tmp_path: Path, command: list[str]) -> None:
    """`preview --only ops` of a new incident (its id drawn from the store's secret, as the post will draw it) was
    refused 'this command would store in it', exit 2, while the refusal itself said a --dry-run reads the file as it
    stands. It reads the copy's secret, the original's, and names the id the same preview names on the file itself."""
    import base64

    project.env["HOOK_SECRET"] = "whsec_" + base64.b64encode(b"k" * 32).decode()
    store = _backup(project, tmp_path / "backup")
    project.write_config(OPS)
    store.parent.chmod(0o555)
    try:
        before = _as_found(store.parent)
        args = ["--store", str(store), *command, "--only", "ops", "--title", "DB down", "Looking [private]db-3[/private]."]
        code, said = _run(project, *args)
        assert _as_found(store.parent) == before
    finally:
        store.parent.chmod(0o755)
    store.chmod(0o600)
    _, in_place = _run(project, *args)

    assert code == 0 and "cannot be written" not in said, said
    drawn = [word for word in said.split() if word.startswith("incident-")]
    assert drawn and drawn[0] in in_place, (said, in_place)


# -- a snapshot named through a link --------------------------------------------------------------------------------


def test_a_snapshot_named_through_a_link_is_read_with_the_commits_in_its_wal(project: Project, tmp_path: Path) -> None:
    """[store] path (or --store) a link to a snapshot taken while a command ran (its -wal holds the last commits):
    the copy looked for the -wal beside the link, found none, and copied the file alone. `list` left out the second
    incident, and `store export` too: an export restored from it lost it."""
    import sqlite3

    live = tmp_path / "live"
    first = project.cli("--store", str(live / "state.db"), "post", "--yes", "--title", "API errors", "Errors.")
    assert first.exit_code == 0, first.output
    holder = sqlite3.connect(live / "state.db")  # keeps the -wal from being folded into the file as the post ends
    snap = tmp_path / "snap"
    try:
        holder.execute("PRAGMA wal_autocheckpoint = 0")
        holder.execute("SELECT 1 FROM meta").fetchall()
        second = project.cli("--store", str(live / "state.db"), "post", "--yes", "--title", "Queue delays", "Slow.")
        assert second.exit_code == 0, second.output
        snap.mkdir()
        for name in ("state.db", "state.db-wal", "state.db-shm"):
            shutil.copy2(live / name, snap / name)
            (snap / name).chmod(0o444)
    finally:
        holder.close()
    link = tmp_path / "current.db"
    link.symlink_to(snap / "state.db")
    snap.chmod(0o555)
    try:
        before = _as_found(snap)
        listed = _run(project, "--store", str(link), "list")
        exported = _run(project, "--store", str(link), "store", "export")
        assert _as_found(snap) == before
    finally:
        snap.chmod(0o755)

    assert listed[0] == 0 and "queue-delays" in listed[1] and "api-errors" in listed[1], listed
    assert exported[0] == 0 and "queue-delays" in exported[1], exported


# -- another account's state file -----------------------------------------------------------------------------------


def test_a_post_to_another_accounts_state_file_says_whose_it_is_not_to_chmod_what_is_writable(project: Project) -> None:
    """A team account's state file (0640, its owner may write it) posted to by a member of its group: refused, as it
    should be, but told to 'give it back its write permission (chmod u+w, as its owner)', which its owner has: the way
    on is to run the command as that account. Its folder's refusal (0750) said the same of the folder."""
    import tempfile

    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run as another account")
    base = Path(tempfile.mkdtemp(prefix="review61g-"))  # not under pytest's 0700 folder: nobody must get in
    try:
        base.chmod(0o755)
        shared = base / "shared"
        posted = project.cli("--store", str(shared / "state.db"), "post", "--yes", "--title", "API errors", "Errors.")
        assert posted.exit_code == 0, posted.output
        guest = Project(base / "guest", env=dict(project.env))
        guest.root.mkdir()
        guest.root.chmod(0o777)
        guest.config.write_text(project.config.read_text(encoding="utf-8"), encoding="utf-8")
        said = {}
        for folder_mode, file_mode in ((0o770, 0o640), (0o750, 0o660)):
            for path, mode in ((shared, folder_mode), (shared / "state.db", file_mode)):
                os.chown(path, 0, 65534)
                path.chmod(mode)
            done = subprocess.run(
                ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-m", "broadcaster",
                 "--config", str(guest.config), "--store", str(shared / "state.db"), "post", "--yes", "--title",
                 "Queue delays", "Slow."], cwd=guest.root, env={**os.environ, **guest.env}, capture_output=True,
                text=True, timeout=90)
            said[oct(file_mode)] = (done.returncode, " ".join((done.stdout + done.stderr).split()))
    finally:
        shutil.rmtree(base, ignore_errors=True)

    for code, text in said.values():
        if "Permission denied" in text and "python" in text.lower():
            pytest.skip(f"this python cannot be run as another account: {text[:200]}")
        assert code == 2 and "cannot be written" in text and "nothing was stored or sent" in text, text
        assert "chmod u+w" not in text and "uid 0" in text and "run the command as" in text, text


@contextmanager
def group_shared_store(project: Project) -> Iterator[tuple[Path, Callable[[int, str], tuple[int, str]]]]:
    """A team account's state file its group may write (0660 in a 2770 folder, group 65534), one incident posted by
    root, its new-incident lock gone; and ``member(uid, title)``: a post by that account of the group, through its own
    config, as (exit code, output on one line). Skipped without root and setpriv."""
    import tempfile

    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run as other accounts")
    base = Path(tempfile.mkdtemp(prefix="group-shared-"))  # not under pytest's 0700 folder: nobody must get in
    try:
        base.chmod(0o755)
        shared = base / "shared"
        posted = project.cli("--store", str(shared / "state.db"), "post", "--yes", "--title", "API errors", "Errors.")
        assert posted.exit_code == 0, posted.output
        for path, mode in ((shared, 0o2770), (shared / "state.db", 0o660)):
            os.chown(path, 0, 65534)
            path.chmod(mode)
        (shared / ".state.db.new-incident.lock").unlink()
        guest = Project(base / "guest", env=dict(project.env))
        guest.root.mkdir()
        guest.root.chmod(0o777)
        guest.config.write_text(project.config.read_text(encoding="utf-8"), encoding="utf-8")

        def member(uid: int, title: str) -> tuple[int, str]:
            done = subprocess.run(
                ["setpriv", f"--reuid={uid}", "--regid=65534", "--clear-groups", sys.executable, "-m", "broadcaster",
                 "--config", str(guest.config), "--store", str(shared / "state.db"), "post", "--yes", "--title",
                 title, "Looking."], cwd=guest.root, env={**os.environ, **guest.env}, capture_output=True, text=True,
                timeout=90)
            return done.returncode, " ".join((done.stdout + done.stderr).split())

        yield shared, member
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_a_store_lock_made_by_another_member_of_the_group_is_told_not_an_unexpected_error(project: Project) -> None:
    """A team account's state file its group may write (0660 in a 2770 folder): the first member's post made the
    new-incident lock beside it, its own only (0600); the next member's post, confirmed, ended 'unexpected error
    (PermissionError)', exit 1. Refused before anything is stored, exit 2, naming the lock, whose it is, and what to do."""
    with group_shared_store(project) as (shared, member):
        said = [member(65534, "Queue delays"), member(65533, "Login errors")]
        listed = project.cli("--store", str(shared / "state.db"), "list").output

    if "Permission denied" in said[0][1] and "python" in said[0][1].lower():
        pytest.skip(f"this python cannot be run as another account: {said[0][1][:200]}")
    assert said[0][0] == 0, said[0]
    code, text = said[1]
    assert code == 2 and "unexpected" not in text and ".state.db.new-incident.lock" in text, text
    assert "uid 65534" in text and "nothing was stored or sent" in text.lower(), text
    assert "login-errors" not in listed and "queue-delays" in listed, listed
