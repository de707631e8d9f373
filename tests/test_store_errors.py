"""A state file or an export that cannot be used is named, with what became of the writes and what to do.

Review (misc_errors.sh): a damaged state file, a full disk under the store and an export onto a full
disk reached the operator as "unexpected error (...). Run again with --debug", exit 1.

A full disk without root: ``RLIMIT_FSIZE`` (``ulimit -f``) makes a write past the limit fail as a
full disk does, with ``EFBIG`` where a full disk gives ``ENOSPC``: SQLite reports it as "disk I/O
error" rather than "database or disk is full" (both are explained, see ``store/sqlite_errors.py``).
SQLite needs 32 KiB for the ``-shm`` file it makes on opening, so a limit under that fails the
opening, and one just over it (room for eight WAL frames) fails the first large commit.
"""

from __future__ import annotations

import json
import os
import resource
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Project

SHM_BYTES = 32 * 1024  # the -shm file SQLite makes for a WAL file on opening it
LONG = "Elevated error rates on the API, " * 150  # 4,950 characters: an update of several database pages
NOTE = "Edge router fra-2 drops the circuits of customer 4471; ticket OPS-9. " * 70  # 4,830 characters, private
INCIDENT = "api-errors"


def file_size_limit(limit: int) -> Callable[[], None]:
    """Run in the child before broadcaster starts: no file it writes may grow past ``limit`` bytes."""
    def apply() -> None:
        hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))
    return apply


def run_limited(project: Project, limit: int, *args: str) -> tuple[int, str]:
    """The real CLI under a file-size limit, unmeasured: coverage's own data file, written under the same
    limit, would be cut short and read back as a malformed database (a warning in every run)."""
    env = {k: v for k, v in {**os.environ, **project.env}.items()
           if k not in ("BROADCASTER_CONFIG", "COVERAGE_PROCESS_CONFIG", "COVERAGE_PROCESS_START")}
    process = subprocess.Popen(
        [sys.executable, "-m", "broadcaster", "--config", str(project.config), *args], cwd=project.root, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=file_size_limit(limit),
    )
    _, stderr = process.communicate(timeout=120)
    return process.returncode, stderr


def first_post(project: Project) -> str:
    result = project.cli("post", "--yes", "--json", "--title", "API errors", "Investigating.")
    assert result.exit_code == 0, result.output
    incident: str = json.loads(result.stdout)["incident_id"]
    assert incident.startswith(INCIDENT)
    return incident


def updates_stored(project: Project, incident: str) -> int:
    shown = project.cli("show", incident, "--json")
    assert shown.exit_code == 0, shown.output
    return len(json.loads(shown.stdout)["updates"])


def assert_explained(output: str) -> None:
    assert "unexpected error" not in output and "--debug" not in output, output


# -- a damaged state file ---------------------------------------------------------------------------


@pytest.mark.parametrize(("offset", "command"), [
    (4096 * 3, ("list",)),  # the reviewer's: one page of the tables overwritten, found on reading them
    (100, ("post", "--yes", "--title", "Checkout down", "Investigating.")),  # the schema itself, found on opening
], ids=["a-table-page", "the-schema-page"])
def test_a_damaged_state_file_is_named_with_how_to_restore_it(
    project: Project, offset: int, command: tuple[str, ...]
) -> None:
    first_post(project)
    damaged = project.root / "damaged.db"
    damaged.write_bytes((project.root / ".broadcaster" / "state.db").read_bytes())
    with open(damaged, "r+b") as file:
        file.seek(offset)
        file.write(b"\xff" * (4096 - offset % 4096))

    result = project.cli("--store", str(damaged), *command)

    assert result.exit_code == 1, result.output  # a StoreError: the store cannot be used
    assert_explained(result.output)
    assert f"the state file {damaged} is damaged" in result.output
    assert "malformed" in result.output
    assert "backup" in result.output and "store export" in result.output and "Move it aside" in result.output


# -- a full disk under the state file ---------------------------------------------------------------


def test_a_post_the_full_disk_refuses_stores_nothing_and_says_so(project: Project) -> None:
    incident = first_post(project)
    state = project.root / ".broadcaster" / "state.db"

    code, stderr = run_limited(project, SHM_BYTES + 4096, "post", "--yes", "-i", incident, "--private", NOTE, LONG)

    assert code == 1, stderr
    assert_explained(stderr)
    assert f"the state file {state}" in stderr and "Nothing was stored." in stderr, stderr
    assert "disk I/O error" in stderr and "Free space on that disk" in stderr, stderr
    assert updates_stored(project, incident) == 1


def test_a_state_file_the_full_disk_keeps_from_opening_is_named(project: Project) -> None:
    incident = first_post(project)
    state = project.root / ".broadcaster" / "state.db"

    code, stderr = run_limited(project, SHM_BYTES // 2, "post", "--yes", "-i", incident, "Still investigating.")

    assert code == 1, stderr
    assert_explained(stderr)
    assert f"the state file {state}" in stderr and "Nothing was stored." in stderr, stderr
    assert "Free space on that disk" in stderr, stderr
    assert updates_stored(project, incident) == 1


def test_a_full_disk_after_the_command_stored_something_says_what_was_kept(tmp_path: Path) -> None:
    """At the store: after a committed write (a claim), "run the command again" would post an update twice.
    In-process, SQLite's own page limit makes the disk "full" for real (the CLI has no way to set it)."""
    from broadcaster.errors import StoreError
    from broadcaster.store import SQLiteStore

    path = tmp_path / "state.db"
    store = SQLiteStore(path)
    store.run_atomic("INSERT INTO meta(key, value) VALUES ('kept', 'yes')")
    store.db.execute(f"PRAGMA max_page_count = {store.select('PRAGMA page_count')[0]['page_count']}")

    with pytest.raises(StoreError) as caught, store.transaction():
        store.run("INSERT INTO meta(key, value) VALUES ('lost', ?)", ("x" * 100_000,))

    said = str(caught.value)
    assert f"the disk holding the state file {path} is full (database or disk is full)" in said, said
    assert "The change being written was not stored; what this command stored before it is kept." in said, said
    assert "`broadcaster show`" in said and "run the command again" not in said and "Nothing was stored" not in said
    assert [r["key"] for r in store.select("SELECT key FROM meta WHERE key IN ('kept', 'lost')")] == ["kept"]
    store.close()


def test_a_read_failing_after_the_command_stored_something_never_says_run_it_again(tmp_path: Path) -> None:
    """A review: a post stored its update, then a read failed (a disk I/O error): "then run the command again",
    and doing so posted the incident twice. Also through a reopened connection (a thread's, a worker's), and
    when the lock is held too long after a commit."""
    import sqlite3

    from broadcaster.store import SQLiteStore

    store = SQLiteStore(tmp_path / "state.db")
    other = store.reopened()
    store.run_atomic("INSERT INTO meta(key, value) VALUES ('kept', 'yes')")
    for code in (sqlite3.SQLITE_IOERR, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_FULL):
        failed = sqlite3.OperationalError("disk I/O error" if code == sqlite3.SQLITE_IOERR else "database is locked")
        failed.sqlite_errorcode = code
        for connection in (store, other):
            said = str(connection._failure(failed))
            assert "run the command again" not in said and "Nothing was stored" not in said, said
            assert "what this command stored before it is kept" in said and "`broadcaster retry`" in said, said
    fresh = SQLiteStore(tmp_path / "state.db")  # another command: it stored nothing
    assert "run the command again" in str(fresh._failure(failed))
    for opened in (store, other, fresh):
        opened.close()


# -- an export onto a full disk ---------------------------------------------------------------------


def test_an_export_the_disk_cannot_hold_leaves_no_cut_file(project: Project) -> None:
    """It left a cut 0600 file that `store import` then refused as "line 2: not JSON"."""
    incident = first_post(project)
    for n in range(4):  # well over the limit below as JSON
        assert project.cli("post", "--yes", "-i", incident, "--private", f"{n} {NOTE}", f"{n} {LONG}").exit_code == 0
    new, older = project.root / "new.jsonl", project.root / "older.jsonl"
    assert project.cli("store", "export", str(older)).exit_code == 0
    kept = older.read_bytes()

    for target, words in ((new, "no new.jsonl was made"), (older, "the older.jsonl already there is left as it was")):
        code, stderr = run_limited(project, SHM_BYTES + 4096, "store", "export", str(target))

        assert code == 2, stderr
        assert_explained(stderr)
        assert f"cannot write the export to {target}" in stderr and words in stderr, stderr
        assert "ulimit -f" in stderr, stderr
    assert not new.exists()
    assert older.read_bytes() == kept and stat.S_IMODE(older.stat().st_mode) == 0o600
    assert not [p.name for p in project.root.iterdir() if p.name.endswith(".tmp")]
    imported = project.cli("--store", str(project.root / "copy.db"), "store", "import", str(older))
    assert imported.exit_code == 0, imported.output


def test_an_export_is_put_in_place_whole_and_private(project: Project, tmp_path: Path) -> None:
    first_post(project)
    target = project.root / "state.jsonl"
    # An older export, readable by all (any other file is refused: tests/test_cli_review.py).
    target.write_text('{"format": "broadcaster-store", "version": 1, "schema": 1}\n', encoding="utf-8")
    target.chmod(0o644)

    result = project.cli("store", "export", str(target))

    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert json.loads(target.read_text(encoding="utf-8").splitlines()[0])["format"] == "broadcaster-store"
    assert not [p.name for p in project.root.iterdir() if p.name.endswith(".tmp")]


def test_an_export_into_a_pipe_is_written_into_it(project: Project, tmp_path: Path) -> None:
    """A review: with exports written beside and renamed into place, `store export >(gzip > x.gz)` failed and a
    named pipe was replaced by a file, its reader getting nothing. A pipe is written as it is read."""
    import os
    import threading

    assert project.cli("post", "--yes", "--title", "API errors", "-C", "api", "Errors.").exit_code == 0
    fifo = tmp_path / "export.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()

    exported = project.cli("store", "export", str(fifo))
    reader.join(timeout=30)

    assert exported.exit_code == 0, exported.output
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    lines = got[0].decode().splitlines()
    assert len(lines) >= 2 and json.loads(lines[1])["incident"]["title"] == "API errors"
