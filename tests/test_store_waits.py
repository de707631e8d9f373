"""A command waiting for the state file another command is writing: said, and stoppable with Ctrl-C.

SQLite waits up to 30 s for the file's write lock, and Python hears Ctrl-C only when that wait returns:
an operator stopping a post stuck behind another command (or behind one suspended with Ctrl-Z) saw
nothing for half a minute, and then the post was stored and sent anyway, exit 130 after the fact.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import Project

WAITING = "Waiting for the state file"


@contextmanager
def write_lock_held(state: Path) -> Iterator[sqlite3.Connection]:
    """Another command in the middle of a write: the file's write lock taken, not yet committed."""
    other = sqlite3.connect(state, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield other
    finally:
        if other.in_transaction:
            other.execute("ROLLBACK")
        other.close()


def state_file(project: Project) -> Path:
    assert project.cli("post", "--yes", "--title", "Earlier", "Done.").exit_code == 0
    [state] = project.root.glob(".broadcaster/state.db")
    return state


def start_post(project: Project) -> subprocess.Popen[str]:
    return project.process("post", "--yes", "--title", "API errors", "Investigating.",
                           preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def wait_for_line(process: subprocess.Popen[str], text: str, within: float = 20.0) -> str:
    """stderr's lines until one holds ``text`` (the process keeps running)."""
    assert process.stderr is not None
    seen, deadline = [], time.monotonic() + within
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        seen.append(line)
        if text in line or not line:
            break
    assert any(text in line for line in seen), seen
    return "".join(seen)


def titles(project: Project) -> list[str]:
    return [line for line in project.cli("list").stdout.splitlines() if "API errors" in line]


def test_ctrl_c_stops_a_post_waiting_for_the_state_file_at_once(project: Project) -> None:
    state = state_file(project)
    with write_lock_held(state):
        process = start_post(project)
        said = wait_for_line(process, WAITING)
        assert "Ctrl-C stops it now" in said and "fg" in said
        pressed = time.monotonic()
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=25)
        stopped_after = time.monotonic() - pressed
    assert process.returncode == 130, stderr
    assert stopped_after < 5, f"Ctrl-C took {stopped_after:.1f} s to stop the waiting post"
    assert titles(project) == []  # stopped before storing: nothing of it is posted later either


def test_a_post_that_waited_goes_on_once_the_file_is_free(project: Project) -> None:
    state = state_file(project)
    with write_lock_held(state):
        process = start_post(project)
        wait_for_line(process, WAITING)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert WAITING not in stderr  # said once
    assert len(titles(project)) == 1
