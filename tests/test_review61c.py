"""Review 61c: a state file this command may not write (a snapshot, a read-only copy, another user's file, a
``.broadcaster`` set to 0500): read as it stands by the commands that only read, refused by the others, never widened."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Project

READING = [
    ["list"],
    ["show", "{id}"],
    ["store", "export"],
    ["post", "--dry-run", "--incident", "{id}", "Still looking."],
    ["preview", "--title", "Queue delays", "Looking into it."],
    ["resolve", "--dry-run", "{id}"],
    ["subscribers", "list"],
]
WRITING = [
    ["post", "--yes", "--title", "Queue delays", "Looking into it."],
    ["post", "--yes", "--incident", "{id}", "Still looking."],
    ["resolve", "--yes", "{id}"],
    ["tick"],
    ["store", "migrate"],
    ["site", "build"],
]


def _held_to_modes() -> list[str]:
    """Root passes over every mode: the CLI runs without the capabilities that let it (as review 60a's tests)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("run as root, and no setpriv to drop the capabilities that pass over a file's mode")
    return ["setpriv", "--inh-caps=-all", "--bounding-set=-all"]


def _run(project: Project, args: list[str], *, store: Path, incident: str = "", as_: list[str] | None = None,
         ) -> tuple[int, str]:
    env = {**os.environ, **project.env}
    env.pop("BROADCASTER_CONFIG", None)
    args = [a.replace("{id}", incident) for a in args]
    done = subprocess.run([*(as_ if as_ is not None else _held_to_modes()), sys.executable, "-m", "broadcaster",
                           "--config", str(project.config), "--store", str(store), *args],
                          cwd=project.root, env=env, capture_output=True, text=True, timeout=90)
    return done.returncode, " ".join((done.stdout + done.stderr).split())


def _first_incident(project: Project, store: Path) -> str:
    posted = project.cli("--store", str(store), "post", "--yes", "--title", "API errors", "Errors [private]db-3[/private].")
    assert posted.exit_code == 0, posted.output
    return project.cli("--store", str(store), "list", "--json").stdout.split('"id": "')[1].split('"')[0]


def _as_found(folder: Path) -> dict[str, tuple[int, bytes]]:
    return {p.name: (stat.S_IMODE(p.stat().st_mode), p.read_bytes() if p.is_file() else b"")
            for p in sorted(folder.iterdir())} | {".": (stat.S_IMODE(folder.stat().st_mode), b"")}


@pytest.fixture
def snapshot(project: Project, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A state file with one incident, then made read-only: the file 0444 in a folder 0555."""
    folder = tmp_path / "snapshot"
    incident = _first_incident(project, folder / "state.db")
    (folder / "state.db").chmod(0o444)
    folder.chmod(0o555)
    try:
        yield folder / "state.db", incident
    finally:
        folder.chmod(0o755)


@pytest.mark.parametrize("command", READING, ids=" ".join)
def test_a_read_only_state_file_is_read_by_the_commands_that_only_read(project: Project, snapshot: tuple[Path, str],
                                                                       command: list[str]) -> None:
    """`broadcaster --store /mnt/snapshot/state.db list` ended 'cannot write to the state file (attempt to write a
    readonly database)', exit 1: SQLite in WAL mode makes its -wal and -shm beside the file to read it."""
    store, incident = snapshot
    before = _as_found(store.parent)
    code, said = _run(project, command, store=store, incident=incident)
    assert code == 0, said
    assert "readonly" not in said and "cannot write" not in said, said
    if command[0] in ("list", "show", "store"):
        assert incident in said, said
    assert _as_found(store.parent) == before  # nothing made, nothing changed, no lock file


@pytest.mark.parametrize("command", WRITING, ids=" ".join)
def test_a_command_that_writes_is_refused_a_read_only_state_file(project: Project, snapshot: tuple[Path, str],
                                                                 command: list[str]) -> None:
    """Refused before anything is stored or sent, naming the file and that it is read-only; never opened read-only."""
    store, incident = snapshot
    before = _as_found(store.parent)
    code, said = _run(project, command, store=store, incident=incident)
    assert code == 2, said
    assert f"the state file {store} cannot be written" in said and "read-only" in said and "0444" in said, said
    assert "nothing was stored or sent" in said and "unexpected" not in said, said
    assert _as_found(store.parent) == before


def test_a_read_only_file_of_ones_own_in_a_folder_one_may_write_is_neither_widened_nor_littered(
        project: Project, tmp_path: Path) -> None:
    """A backup kept at 0444 beside the live store: `list` made it 0600 (its owner's write bit given back) and a post
    wrote to it; read with SQLite's mode=ro, it would leave 0444 -wal and -shm files that fail every later writer."""
    folder = tmp_path / "backups"
    incident = _first_incident(project, folder / "state.db")
    (folder / "state.db").chmod(0o444)
    before = _as_found(folder)

    listed = _run(project, ["list"], store=folder / "state.db")
    posted = _run(project, WRITING[1], store=folder / "state.db", incident=incident)

    assert listed[0] == 0 and incident in listed[1], listed
    assert posted[0] == 2 and "read-only for you (mode 0444" in posted[1], posted
    assert _as_found(folder) == before


def test_commits_still_in_the_wal_of_a_snapshot_are_read(project: Project, tmp_path: Path) -> None:
    """A snapshot taken while a command had the file open: the second incident is only in state.db-wal (with its
    -shm), read through SQLite with mode=ro, which makes nothing beside it."""
    live = tmp_path / "live"
    _first_incident(project, live / "state.db")
    holder = sqlite3.connect(live / "state.db")  # keeps the -wal from being folded into the file as the post ends
    try:
        holder.execute("PRAGMA wal_autocheckpoint = 0")
        holder.execute("SELECT 1 FROM meta").fetchall()
        second = project.cli("--store", str(live / "state.db"), "post", "--yes", "--title", "Queue delays", "Slow.")
        assert second.exit_code == 0, second.output
        assert (live / "state.db-wal").stat().st_size > 0
        snap = tmp_path / "snap"
        snap.mkdir()
        for name in ("state.db", "state.db-wal", "state.db-shm"):
            shutil.copy2(live / name, snap / name)
            (snap / name).chmod(0o444)
    finally:
        holder.close()
    snap.chmod(0o555)
    try:
        before = _as_found(snap)
        code, said = _run(project, ["list"], store=snap / "state.db")
        assert code == 0 and "queue-delays" in said and "api-errors" in said, said
        assert _as_found(snap) == before
    finally:
        snap.chmod(0o755)


@pytest.fixture
def read_only_mount(tmp_path: Path) -> Iterator[Path]:
    where = tmp_path / "mnt"
    where.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "none", str(where)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def test_a_state_file_on_a_read_only_mount_is_read_and_a_post_refused(project: Project,
                                                                      read_only_mount: Path) -> None:
    """A snapshot mounted read-only: even root may not write it, and SQLite cannot make its -wal there."""
    store = read_only_mount / ".broadcaster" / "state.db"
    incident = _first_incident(project, store)
    subprocess.run(["mount", "-o", "remount,ro", str(read_only_mount)], check=True)

    listed = _run(project, ["list"], store=store, as_=[])
    posted = _run(project, WRITING[1], store=store, incident=incident, as_=[])

    assert listed[0] == 0 and incident in listed[1], listed
    assert posted[0] == 2 and "mounted read-only" in posted[1] and str(store) in posted[1], posted


def test_a_state_file_bind_mounted_read_only_alone_is_read_and_a_post_refused(project: Project, tmp_path: Path) -> None:
    """The file alone mounted read-only in a folder that may be written (a container's `-v state.db:...:ro`): the
    refusal says so and says to mount it read-write, not to chmod a file whose mode is 0600."""
    store = tmp_path / "bound" / "state.db"
    incident = _first_incident(project, store)
    if subprocess.run(["mount", "--bind", str(store), str(store)], capture_output=True).returncode:
        pytest.skip("cannot bind-mount here")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(store)], check=True)
        before = _as_found(store.parent)
        listed = _run(project, ["list"], store=store, as_=[])
        posted = _run(project, WRITING[1], store=store, incident=incident, as_=[])
        assert _as_found(store.parent) == before
    finally:
        subprocess.run(["umount", "-l", str(store)], capture_output=True)
    assert listed[0] == 0 and incident in listed[1], listed
    assert posted[0] == 2 and f"mounted read-only ({store}). To write to it, mount it read-write" in posted[1], posted
    assert "chmod" not in posted[1], posted


def test_another_users_state_file_its_group_may_read_is_read(project: Project) -> None:
    """A state file owned by its team's account, 0640 in a folder 0750, read by a member of the group."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run as another account")
    base = Path(tempfile.mkdtemp(prefix="review61c-"))  # not under pytest's 0700 folder: nobody must get in
    try:
        base.chmod(0o755)
        shared = base / "shared"
        incident = _first_incident(project, shared / "state.db")
        for path, mode in ((shared, 0o750), (shared / "state.db", 0o640)):
            os.chown(path, 0, 65534)
            path.chmod(mode)
        guest = Project(base / "guest", env=dict(project.env))
        guest.root.mkdir()
        guest.root.chmod(0o777)
        guest.config.write_text(project.config.read_text(encoding="utf-8"), encoding="utf-8")
        before = _as_found(shared)
        code, said = _run(guest, ["list"], store=shared / "state.db",
                          as_=["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"])
        if "Permission denied" in said and "python" in said.lower():
            pytest.skip(f"this python cannot be run as another account: {said[:200]}")
        assert code == 0 and incident in said, said
        assert _as_found(shared) == before
    finally:
        shutil.rmtree(base, ignore_errors=True)


# -- a state folder its owner set to 0500 ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [0o500, 0o550], ids=oct)
def test_a_state_folder_its_owner_made_read_only_is_not_widened(project: Project, mode: int) -> None:
    """.broadcaster chmod 0500 by its owner: every command set it back to 0700 (the owner's write bit too) and wrote.
    A post is refused naming the folder and its mode; a listing reads the file as it stands."""
    project.write_config()
    assert project.cli("post", "--yes", "--title", "API errors", "Errors.").exit_code == 0
    folder = project.root / ".broadcaster"
    folder.chmod(mode)
    try:
        before = _as_found(folder)
        posted = _run(project, ["post", "--yes", "--title", "Queue delays", "Slow."], store=folder / "state.db")
        listed = _run(project, ["list"], store=folder / "state.db")
        after = _as_found(folder)
    finally:
        folder.chmod(0o700)
    assert posted[0] == 2, posted
    assert f"its folder {folder}" in posted[1] and f"mode {mode:04o}" in posted[1], posted
    assert listed[0] == 0 and "api-errors" in listed[1], listed
    assert after == before


def test_a_state_folder_open_to_its_group_is_still_narrowed(project: Project) -> None:
    """Narrowing takes away only the group's and others' bits: 0750 becomes 0700, as before."""
    project.write_config()
    assert project.cli("post", "--yes", "--title", "API errors", "Errors.").exit_code == 0
    folder = project.root / ".broadcaster"
    folder.chmod(0o750)
    (folder / "state.db").chmod(0o640)
    assert project.cli("post", "--yes", "--title", "Queue delays", "Slow.").exit_code == 0
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "state.db").stat().st_mode) == 0o600


def test_opening_a_store_takes_away_only_the_groups_and_others_bits(tmp_path: Path) -> None:
    """The store itself, whoever opens it: ``.broadcaster`` at 0550 was set to 0700 (its owner's write bit given back)
    and a state file at 0440 to 0600. Now 0500 and 0400: the command that may write is the CLI's to decide."""
    from broadcaster.store.sqlite import SQLiteStore

    if os.geteuid() != 0:
        pytest.skip("opens a store in a folder its owner may not write: only root passes over the modes")
    folder = tmp_path / ".broadcaster"
    SQLiteStore(folder / "state.db").close()
    (folder / "state.db").chmod(0o440)
    folder.chmod(0o550)
    try:
        SQLiteStore(folder / "state.db").close()  # run as root here: the modes do not stop it
        assert (stat.S_IMODE(folder.stat().st_mode), stat.S_IMODE((folder / "state.db").stat().st_mode)) == (0o500, 0o400)
    finally:
        folder.chmod(0o700)


def test_the_copy_of_a_read_only_state_file_is_never_where_a_command_stores_or_locks(project: Project,
                                                                                     snapshot: tuple[Path, str]) -> None:
    """The last word if a command that writes ever reached the copy: refused (exit 2), never stored in a copy that is
    gone when the command ends, nor locked beside it where no other command looks."""
    from broadcaster.errors import InputError
    from broadcaster.store.read_only import CopiedStore

    store, _ = snapshot
    copied = CopiedStore(store)
    try:
        with pytest.raises(InputError, match="read from a copy"):
            copied.lasting()
        with pytest.raises(InputError, match="read from a copy"), copied.lock("tick"):
            pass
    finally:
        copied.close()
    assert not copied.path.parent.exists()
