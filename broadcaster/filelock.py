"""One exclusive lock on a file, held across processes on one machine (``flock``).

The store's named locks beside the SQLite file, the site folder's lock and a git
host's clone lock all take turns this way. The lock is the kernel's, on an open
file: it goes when the file is closed or the process dies, so a crash never
leaves it behind, and the lock file itself is left in place (deleting it would let
a second process lock a new file while a first still holds the old one).

A wait that must be bounded or stopped asks without blocking and sleeps between
tries (``poll``, ``poll_async``, ``async with``): a blocking ``flock`` ends only
when the holder lets go, so it has no deadline, and in a worker thread no cancel
or Ctrl-C ends it either (``asyncio.run`` waits for that thread before it returns).

Written here rather than taken from the ``filelock`` package: broadcaster runs on
POSIX only, and that package ties a lock to the thread that took it and creates
files readable by all (the store's and the site folder's locks are the owner's only).
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from pathlib import Path
from types import TracebackType

from broadcaster.errors import BroadcasterError

# How often a polling wait asks again: soon enough to follow a holder that lets go, rare enough to cost nothing.
POLL_SECONDS = 0.05


class FileLock:
    """An exclusive ``flock`` on ``path``, created with ``mode`` (less the umask) when missing.

    ``with FileLock(path):`` waits for it (a blocking ``flock``); ``async with`` polls,
    awaiting between tries, so the event loop keeps running and a cancel ends the wait
    at once; ``poll``/``poll_async`` poll for at most so long; ``acquire(wait=False)``
    returns False at once when another process holds it. Not re-entrant: one holder
    per instance.
    """

    def __init__(self, path: Path, *, mode: int = 0o666) -> None:
        self.path = path
        self.mode = mode
        self._fd: int | None = None

    def refused(self) -> PermissionError | None:
        """Why this user may not open the lock file as ``acquire`` does, if it may not; made by nobody, nothing held
        (a dry run's question: one that made the lock would make it its own, and refuse the others)."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW)
        except PermissionError as exc:
            return exc
        except OSError:
            return None  # not made yet (``acquire`` makes it), or a link (``acquire`` says so)
        os.close(fd)
        return None

    def acquire(self, *, wait: bool = True) -> bool:
        """Take the lock; with ``wait`` off, False (and nothing held) if another holds it."""
        try:
            # Never through a link left in its place: the lock file would be created wherever it points.
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, self.mode)
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise
            raise BroadcasterError(
                f"{self.path} is a symbolic link; broadcaster never writes through links. Remove it (it is "
                "made again as a plain file) and run the command again."
            ) from None
        self._narrow(fd)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return True

    def _narrow(self, fd: int) -> None:
        """A lock file of ours left wider than ``mode`` (an older version made the site's 0644) is narrowed:
        anyone who can open it can hold the lock. Best effort: a file system without modes keeps its own."""
        try:
            status = os.fstat(fd)
            if status.st_uid == os.geteuid() and status.st_mode & 0o777 & ~self.mode:
                os.fchmod(fd, status.st_mode & 0o777 & self.mode)
        except OSError:
            pass

    def poll(self, within: float | None = None) -> bool:
        """Take the lock, asking every ``POLL_SECONDS``; False if another process held it for ``within`` seconds.

        ``within`` None: as long as it takes (Ctrl-C ends the sleep, and with it the wait)."""
        give_up = None if within is None else time.monotonic() + within
        while not self.acquire(wait=False):
            if give_up is not None and time.monotonic() >= give_up:
                return False
            time.sleep(POLL_SECONDS)
        return True

    async def poll_async(self, within: float | None = None) -> bool:
        """``poll``, awaiting between tries: the event loop keeps running, and cancelling ends the wait."""
        import asyncio

        give_up = None if within is None else time.monotonic() + within
        while not self.acquire(wait=False):
            if give_up is not None and time.monotonic() >= give_up:
                return False
            await asyncio.sleep(POLL_SECONDS)
        return True

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.release()

    async def __aenter__(self) -> FileLock:
        await self.poll_async()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.release()
