"""The one file lock: held across processes, given up by a dying holder, private when asked."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from broadcaster.filelock import FileLock
from broadcaster.store import SQLiteStore

HOLD = """
import sys, time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from broadcaster.filelock import FileLock
lock = FileLock(Path(sys.argv[1]))
lock.acquire()
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


@contextmanager
def hold_in_another_process(path: Path, seconds: float) -> Iterator[subprocess.Popen[str]]:
    with subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None and process.stdout.readline().strip() == "held"
            yield process
        finally:
            process.kill()


def test_another_process_holding_it_makes_a_try_fail_and_its_death_frees_it(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    lock = FileLock(path)
    with hold_in_another_process(path, 60):
        assert lock.acquire(wait=False) is False
    assert lock.acquire(wait=False) is True  # the kernel dropped the dead holder's lock
    assert FileLock(path).acquire(wait=False) is False  # and now this one holds it, even against itself
    lock.release()
    assert path.exists(), "the lock file stays: deleting it would let two processes lock two files"


def test_waiting_takes_it_when_the_holder_lets_go(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    with hold_in_another_process(path, 0.5):
        started = time.monotonic()
        with FileLock(path):
            assert time.monotonic() - started >= 0.3


def test_waiting_asynchronously_keeps_the_event_loop_running(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"

    async def main() -> int:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.02)

        ticker = asyncio.create_task(tick())
        async with FileLock(path):
            ticker.cancel()
        return ticks

    with hold_in_another_process(path, 0.5):
        assert asyncio.run(main()) >= 10


def test_a_private_lock_file_is_the_owners_only(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        with FileLock(tmp_path / "p.lock", mode=0o600):
            pass
    finally:
        os.umask(old)
    assert (tmp_path / "p.lock").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("wait", [True, False], ids=["wait", "try"])
def test_the_store_lock_is_taken_once_and_its_file_is_private(tmp_path: Path, wait: bool) -> None:
    store = SQLiteStore(tmp_path / "state.db")
    try:
        with store.lock("tick", wait=wait) as first:
            assert first is True
            with store.lock("tick", wait=False) as second:
                assert second is False
            with store.lock("other", wait=False) as other:
                assert other is True
        with store.lock("tick", wait=False) as again:
            assert again is True
    finally:
        store.close()
    assert (tmp_path / ".state.db.tick.lock").stat().st_mode & 0o777 == 0o600


def test_an_asynchronous_wait_ends_at_once_when_cancelled(tmp_path: Path) -> None:
    """The wait used to block in a worker thread: a cancel left it there, and asyncio.run waited for it."""
    path = tmp_path / "x.lock"

    async def main() -> None:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2), FileLock(path):
                pass

    with hold_in_another_process(path, 5):
        started = time.monotonic()
        asyncio.run(main())
        assert time.monotonic() - started < 2


@pytest.mark.parametrize("waits", ["poll", "poll_async"])
def test_a_bounded_wait_gives_up_and_holds_nothing(tmp_path: Path, waits: str) -> None:
    path = tmp_path / "x.lock"
    lock = FileLock(path)
    with hold_in_another_process(path, 60):
        started = time.monotonic()
        got = lock.poll(0.3) if waits == "poll" else asyncio.run(lock.poll_async(0.3))
        assert got is False and 0.3 <= time.monotonic() - started < 2
    assert lock.acquire(wait=False) is True  # the holder gone, nothing of the wait is left held
    lock.release()


def test_a_lock_file_of_ours_wider_than_asked_is_narrowed(tmp_path: Path) -> None:
    path = tmp_path / "p.lock"
    path.touch()
    path.chmod(0o644)
    with FileLock(path, mode=0o600):
        pass
    assert path.stat().st_mode & 0o777 == 0o600
    with FileLock(path):  # a lock with the default mode leaves a narrower file alone
        pass
    assert path.stat().st_mode & 0o777 == 0o600
