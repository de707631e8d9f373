"""One exclusive lock on a file, held across processes on one machine (``flock``).

The store's named locks beside the SQLite file, the site folder's lock and a git
host's clone lock all take turns this way. The lock is the kernel's, on an open
file: it goes when the file is closed or the process dies, so a crash never
leaves it behind, and the lock file itself is left in place (deleting it would let
a second process lock a new file while a first still holds the old one).

Written here rather than taken from the ``filelock`` package: broadcaster runs on
POSIX only, and that package polls a non-blocking lock, ties a lock to the thread
that took it (the site lock is taken in a worker thread and released on the event
loop) and creates files readable by all (the store's lock is the owner's only).
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path
from types import TracebackType

from broadcaster.errors import BroadcasterError


class FileLock:
    """An exclusive ``flock`` on ``path``, created with ``mode`` (less the umask) when missing.

    ``with FileLock(path):`` waits for it; ``async with`` waits in a worker thread so
    the event loop keeps running; ``acquire(wait=False)`` returns False at once when
    another process holds it. Not re-entrant: one holder per instance.
    """

    def __init__(self, path: Path, *, mode: int = 0o666) -> None:
        self.path = path
        self.mode = mode
        self._fd: int | None = None

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
        import asyncio
        await asyncio.to_thread(self.acquire)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.release()
