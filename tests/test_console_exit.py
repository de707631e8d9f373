"""The console script's exit (``broadcaster.cli.run``) when the output cannot all be written at the end.

``run`` ends with ``os._exit`` once the output is flushed (``_leave``); these are the ends a review found where the
flush itself fails (attacks kept as tests): the reader of the output gone before its last bytes, and Ctrl-C while
that flush waits on a reader that does not read. A command's output under 8 KiB stays in Python's buffer until that
flush, so ``store export`` of one incident writes nothing before it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import Project


def _export(project: Project, stdout: int) -> subprocess.Popen[bytes]:
    """``store export`` of the project's store, its output buffered (as on any machine without PYTHONUNBUFFERED)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONUNBUFFERED", "BROADCASTER_CONFIG")}
    return subprocess.Popen([sys.executable, "-m", "broadcaster", "--config", str(project.config), "store", "export"],
                            cwd=project.root, env={**env, **project.env}, stdout=stdout, stderr=subprocess.PIPE)


def _posted(project: Project) -> Project:
    posted = project.cli("post", "--yes", "--title", "API errors", "-C", "api", "Elevated API errors.")
    assert posted.exit_code == 0, posted.stdout + posted.stderr
    return project


def test_a_reader_gone_before_the_last_of_the_output_ends_with_141_and_nothing_said(project: Project) -> None:
    """README: 141, "the reader of the output went away; nothing else is said". Python's own exit said
    "Exception ignored ... BrokenPipeError" and ended 120 when the reader went away before the last flush."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    export = _export(_posted(project), write_end)
    os.close(write_end)
    _, errors = export.communicate(timeout=60)
    assert export.returncode == 141, errors
    assert b"Exception ignored" not in errors and b"Traceback" not in errors, errors
    assert errors.startswith(b"Exported 1 incident(s)"), errors


def test_ctrl_c_while_the_last_of_the_output_waits_for_its_reader_ends_with_120_and_no_traceback(
    project: Project,
) -> None:
    """Ctrl-C while the exit's flush waits on a full pipe: Python's exit code for output it could not flush, and no
    traceback (the review saw ``SystemExit`` and ``KeyboardInterrupt`` tracebacks, and a process killed by SIGINT)."""
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    try:
        while True:  # a reader that reads nothing: the pipe is full before the command starts
            os.write(write_end, b"." * 4096)
    except BlockingIOError:
        os.set_blocking(write_end, True)
    export = _export(_posted(project), write_end)
    os.close(write_end)
    try:
        assert export.stderr is not None
        assert export.stderr.readline().startswith(b"Exported 1 incident(s)")  # said just before the exit
        _wait_for_the_blocked_write(export.pid)
        export.send_signal(signal.SIGINT)
        _, errors = export.communicate(timeout=60)
    finally:
        os.close(read_end)
        if export.poll() is None:
            export.kill()
    assert export.returncode == 120, errors
    assert b"Traceback" not in errors and b"KeyboardInterrupt" not in errors, errors


def _wait_for_the_blocked_write(pid: int) -> None:
    """Until the process sleeps in a write to the pipe (Linux names the wait in ``wchan``): the flush has begun.
    Where the kernel does not name it, a second, against the microseconds between the message and the flush."""
    wchan = Path(f"/proc/{pid}/wchan")
    waited_until = time.monotonic() + 10
    while time.monotonic() < waited_until:
        try:
            waiting_in = wchan.read_text()
        except OSError:
            break
        if "pipe_write" in waiting_in:
            return
        if waiting_in in ("", "0"):  # not named here
            break
        time.sleep(0.02)
    time.sleep(1)
