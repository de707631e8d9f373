"""The site folder's lock held by another process: a post's build gives up inside the deadline and says why,
Ctrl-C ends any wait at once, `site build` says it is waiting, and the lock file is the owner's only.

The holder opens the lock file read-only and locks it, as any local user could while the file was 0644
(or a `site build` suspended with Ctrl-Z does)."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from broadcaster.site.output import LOCK
from broadcaster.site.source import site_lock
from tests.conftest import ENGINE, Project

# Locks the file through a read-only descriptor until its stdin closes (or a minute passes: a test that
# hangs on the old code ends anyway).
HOLD = """
import fcntl, os, select, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
select.select([sys.stdin], [], [], 60)
"""
WAITING = "Waiting for the site folder's lock"


@contextmanager
def held(project: Project) -> Iterator[subprocess.Popen[str]]:
    """The site folder's lock, held by another process until the block ends or ``let_go``."""
    lock = project.site / LOCK
    with subprocess.Popen([sys.executable, "-c", HOLD, str(lock)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          text=True) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline() == "held\n"
            yield holder
        finally:
            holder.kill()


def let_go(holder: subprocess.Popen[str]) -> None:
    assert holder.stdin is not None
    holder.stdin.close()
    holder.wait(timeout=5)


def with_a_site(project: Project, deadline: float = 20) -> None:
    """A config with [engine] deadline, and a first post that made the site folder and its lock file."""
    project.write_config(ENGINE.replace("deadline = 20", f"deadline = {deadline:g}"))
    first = project.cli("post", "--yes", "--title", "Lock test", "-C", "api", "First update.")
    assert first.exit_code == 0 and (project.site / LOCK).exists(), first.stdout + first.stderr


def finished(process: subprocess.Popen[str], within: float) -> tuple[str, str]:
    """The process's output once it ends; fails (and kills it) if it runs ``within`` seconds more."""
    try:
        return process.communicate(timeout=within)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        raise AssertionError(f"still running {within}s later: {out}{err}") from None


class Said:
    """A process's stderr lines as they come, read in a thread: a test waits on them with a timeout."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        assert process.stderr is not None
        self.process, self.lines = process, queue.Queue[str]()
        self.reader = threading.Thread(target=self._read, args=(process.stderr,))
        self.reader.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line)

    def next(self) -> str:
        try:
            return self.lines.get(timeout=10)
        except queue.Empty:
            self.process.kill()
            self.reader.join()
            raise AssertionError("nothing said in 10s") from None

    def ended(self, within: float) -> tuple[int, list[str]]:
        """The exit code and the lines not yet taken, once the process ends; fails if it runs ``within`` more."""
        try:
            code = self.process.wait(timeout=within)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"still running {within}s later") from None
        finally:
            self.reader.join()
        return code, list(self.lines.queue)


def site_delivery_claimed(project: Project, within: float = 10) -> bool:
    """Whether the running post has claimed its site delivery (it is then building: waiting for the lock)."""
    give_up = time.monotonic() + within
    while time.monotonic() < give_up:
        for incident in json.loads(project.cli("list", "--json").stdout):
            shown = json.loads(project.cli("show", incident["id"], "--json").stdout)
            if any(d["destination"] == "site" and d["state"] == "sending" and d["sequence"] == 2
                   for d in shown["deliveries"]):
                return True
        time.sleep(0.05)
    return False


def test_a_post_gives_up_on_a_held_site_lock_inside_its_deadline_and_retry_finishes_it(project: Project) -> None:
    with_a_site(project, deadline=2)
    incident = json.loads(project.cli("list", "--json").stdout)[0]["id"]
    with held(project) as holder:
        started = time.monotonic()
        posting = project.process("post", "--yes", "--json", "-i", incident, "Second update, while the lock is held.")
        out, err = finished(posting, within=15)
        took = time.monotonic() - started
        assert posting.returncode == 3 and took < 2 + 4, (took, out, err)  # the deadline, plus the start-up
        [site] = [d for d in json.loads(out)["deliveries"] if d["destination"] == "site"]
        assert site["state"] == "failed", site
        assert "locked by another process" in site["error"] and "1.5s" in site["error"], site
        assert "suspended with Ctrl-Z" in site["error"] and "broadcaster retry" in site["error"], site
        let_go(holder)

    retried = project.cli("retry")
    assert retried.exit_code == 0, retried.stdout + retried.stderr
    assert "Second update, while the lock is held." in (project.site / "index.html").read_text(encoding="utf-8")


def test_ctrl_c_ends_a_post_waiting_for_the_site_lock_at_once(project: Project) -> None:
    with_a_site(project, deadline=20)
    incident = json.loads(project.cli("list", "--json").stdout)[0]["id"]
    with held(project):
        posting = project.process("post", "--yes", "-i", incident, "Second update, while the lock is held.")
        assert site_delivery_claimed(project), finished(posting, within=30)
        time.sleep(0.2)
        posting.send_signal(signal.SIGINT)
        stopped = time.monotonic()
        out, err = finished(posting, within=5)
        assert posting.returncode == 130 and "Interrupted" in err, out + err
        assert time.monotonic() - stopped < 3


def test_site_build_says_once_that_it_waits_for_the_lock_and_builds_when_it_is_let_go(project: Project) -> None:
    with_a_site(project)
    with held(project) as holder, project.process("site", "build") as building:
        said = Said(building)
        first = said.next()
        assert WAITING in first and str(project.site / LOCK) in first, first
        assert "Ctrl-C" in first and "Ctrl-Z" in first, first
        time.sleep(0.3)
        assert building.poll() is None, "it keeps waiting"
        let_go(holder)
        code, rest = said.ended(within=10)
        assert code == 0 and not rest, rest  # said once
        assert building.stdout is not None and "Built" in building.stdout.read()


def test_ctrl_c_ends_a_site_build_waiting_for_the_lock(project: Project) -> None:
    with_a_site(project)
    with held(project), project.process("site", "build") as building:
        said = Said(building)
        assert WAITING in said.next()
        building.send_signal(signal.SIGINT)
        code, rest = said.ended(within=3)
        assert code == 130 and "Interrupted" in "".join(rest), rest


def test_the_lock_file_is_the_owners_only(project: Project, tmp_path: Path) -> None:
    with_a_site(project)
    assert (project.site / LOCK).stat().st_mode & 0o777 == 0o600
    old = os.umask(0)
    try:
        with site_lock(tmp_path):
            pass
    finally:
        os.umask(old)
    assert (tmp_path / LOCK).stat().st_mode & 0o777 == 0o600


def test_a_lock_file_an_older_version_left_readable_by_all_is_narrowed(project: Project) -> None:
    with_a_site(project)
    (project.site / LOCK).chmod(0o644)
    built = project.cli("site", "build")
    assert built.exit_code == 0, built.stdout + built.stderr
    assert (project.site / LOCK).stat().st_mode & 0o777 == 0o600
