"""What a failing state file means to the operator: each SQLite error as a ``StoreError`` that names
the file, says what became of the command's writes, and what to do.

Apart from ``sqlite.py`` so the store reads as the store; these words are read only when
something has gone wrong.
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

from broadcaster.errors import StoreError

# Driver errors that are bugs of ours (a constraint, a misuse of the API), not the file's fault: they stay
# unexpected errors, with their traceback under --debug, rather than read as a damaged or full disk.
BUGS: tuple[type[sqlite3.Error], ...] = (
    sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError, sqlite3.NotSupportedError,
    sqlite3.DataError,
)

_DAMAGED = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})
_UNWRITABLE = frozenset({sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM, sqlite3.SQLITE_CANTOPEN})
_BUSY = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
_NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def _code(exc: sqlite3.Error) -> int | None:
    """SQLite's primary result code (the extended code's low byte), or None for the module's own errors."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def is_busy(exc: sqlite3.Error) -> bool:
    """Another connection holds the file's lock (the busy timeout ran out)."""
    return _code(exc) in _BUSY or "locked" in str(exc)


def _what_was_stored(stored: bool, writing: bool) -> str:
    """What became of the command's writes: "nothing" only when nothing was, and what it stored before
    kept (a read failing after a post stored its update, too)."""
    if stored:
        return ("The change being written was not stored; " if writing else "") + \
            "what this command stored before it is kept. "
    return "Nothing was stored. " if writing else ""


def _then(stored: bool, writing: bool) -> str:
    """What to run once the file works: the same command only if it stored nothing (a post run again
    after its update was stored would post it twice)."""
    if stored:
        return "then see `broadcaster show` for what was stored, and `broadcaster retry` sends what was not sent."
    return "then run the command again."


def explained(path: Path, exc: sqlite3.Error, *, stored: bool, writing: bool,
              setting: str = "[store] path or --store") -> StoreError:
    """``exc`` of the state file ``path`` as a StoreError to raise ``from`` it.

    ``stored``: whether this connection committed a write before; ``writing``: whether a write
    (or opening the file, which may create and upgrade it) was under way.
    """
    code, reason = _code(exc), str(exc) or type(exc).__name__
    told, then = _what_was_stored(stored, writing), _then(stored, writing)
    if code in _DAMAGED or "malformed" in reason or "not a database" in reason:
        return _damaged(path, reason, told)
    if code == sqlite3.SQLITE_FULL:
        return StoreError(
            f"the disk holding the state file {path} is full ({reason}). {told}Free space on that disk (or "
            f"point --store at a file on another disk), {then}"
        )
    if code == sqlite3.SQLITE_IOERR:
        return StoreError(
            f"the state file {path} could not be read or written ({reason}): its disk may be full, the file larger "
            f"than this system allows (`ulimit -f`), or the disk failing. {told}Free space on that disk (and check "
            f"it), {then}"
        )
    if code in _UNWRITABLE:
        return StoreError(
            f"cannot write to the state file {path} ({reason}). {told}Check that you may write to it and to its "
            f"folder ({setting}), {then}"
        )
    if is_busy(exc):
        return StoreError(
            f"the state file {path} is locked by another process for too long: {reason}. {told}Let the other "
            f"command finish, {then}"
        )
    return StoreError(
        f"the state file {path} failed ({reason}). {told}Check the file and its disk (--debug shows where it failed), "
        f"{then}"
    )


def _damaged(path: Path, reason: str, told: str) -> StoreError:
    """The file is not a readable database any more: what to put in its place."""
    return StoreError(
        f"the state file {path} is damaged ({reason}): broadcaster cannot use it. {told}Move it aside (with its "
        f"{path.name}-wal and {path.name}-shm files, if any), then put back a backup copy of it, or run "
        "`broadcaster store import FILE` with a `broadcaster store export` file to fill a new one; with neither, "
        "the next post starts afresh with an empty store."
    )


def file_failure(path: Path, exc: OSError, setting: str = "[store] path") -> StoreError:
    """The state file (or its folder) could not be made or opened, before SQLite had it."""
    reason = exc.strerror or str(exc)
    if exc.errno in _NO_ROOM:
        return StoreError(
            f"cannot open the state file {path}: {reason}. Nothing was stored. Free space on that disk (or point "
            "--store at a file on another disk), then run the command again."
        )
    return StoreError(f"cannot open the state file {path}: {reason}. Check the path and its permissions ({setting}).")
