"""A state file this command may not write: read as it stands by the commands that only read, refused by the others.

A snapshot mounted read-only, a backup copy kept at mode 0444 in a folder of mode 0555, another user's state file its
group may read, a ``.broadcaster/`` its owner set to 0500. SQLite in WAL mode keeps two files beside the state file
(``-wal``, ``-shm``) and a reader makes them when they are missing: in a folder it may not write it cannot, and every
reading command failed 'cannot write to the state file (attempt to write a readonly database)', exit 1; in a folder it
may write (a 0444 file of one's own) it leaves them behind with the file's read-only mode, and every later writer
fails the same way until they are removed by hand. So a reading command works on a private copy, never in place:

- the ``-wal`` and ``-shm`` both there (a snapshot taken while a command ran, or a writer at work now): the copy is
  SQLite's own backup of the file opened with ``mode=ro``, read in one read transaction, the commits still in the
  ``-wal`` included; SQLite makes nothing beside it (https://www.sqlite.org/wal.html, "Read-Only Databases").
- otherwise ``mode=ro`` would have to make them: the copy is the file's bytes (and its ``-wal``'s, if one is there),
  taken again until neither changed while it was taken (size, modification time and inode the same before and after).
  In WAL mode the file itself changes only when a ``-wal`` is checkpointed into it, so no ``-wal`` and an unchanged
  file is a whole one.

``immutable=1`` is not used. It tells SQLite that no one, not even a privileged process, changes the file while it is
open: SQLite then takes no locks, looks for no change and ignores the ``-wal``. A snapshot on read-only media is that;
a read-only bind mount of a live state folder, or a 0555 folder that a cron job run as root writes anyway, is not, and
a read there torn by a checkpoint gives a wrong listing or 'malformed', while the commits in a ``-wal`` would be left
out. The copy is right in all of these, and leaves the command free to do what it does on any store: an older
version's file is brought up to date in the copy, and a dry run's lookups kept there, never in the original.

A command that writes is refused before anything is stored or sent (``why_unwritable``): never opened read-only.
The owner's write bit is taken as the operator's word even for root, whom modes do not stop.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from broadcaster.errors import SHARED_STATE_FILE, BroadcasterError, InputError, StoreError
from broadcaster.store.sqlite import (
    STORE_SETTING,
    SQLiteStore,
    _refuse_special_files,
    refuse_a_file_for_its_folder,
)

# How often a copy is taken again when the file changed while it was copied (a writer at work through another name).
_COPY_ATTEMPTS = 5
_COPY_PAUSE = 0.05


def why_unwritable(path: Path) -> str | None:
    """Why the state file ``path`` (or, not made yet, its folder) may not be written by this command, in words that
    name what to change; None when it may be. Its folder is asked too: SQLite writes the ``-wal`` and ``-shm``
    there."""
    resolved = Path(os.path.realpath(path))
    folder = resolved.parent
    while not folder.is_dir() and folder != folder.parent:  # folders not made yet are made by the command
        folder = folder.parent
    if not os.access(folder, os.X_OK):
        return None  # a folder its owner may not enter: told by the opening, as a permission to check
    try:
        for where in (resolved, folder):  # the file alone may be mounted read-only (a container's bind mount)
            if where.exists() and os.statvfs(where).f_flag & os.ST_RDONLY:
                return f"it is on a file system mounted read-only ({where}). To write to it, mount it read-write"
        if resolved.is_file():
            status = resolved.stat()
            if not status.st_mode & stat.S_IWUSR:
                return (f"the file is read-only for you (mode {stat.S_IMODE(status.st_mode):04o}, owner uid "
                        f"{status.st_uid}). To write to it, give it back its write permission (chmod u+w, as its owner)")
            if not os.access(resolved, os.W_OK):
                return f"the file is read-only for you ({_whose(status)}). {_AS_ITS_OWNER}"
        status = folder.stat()
    except OSError:
        return None  # told by the opening itself, in its own words
    if not status.st_mode & stat.S_IWUSR:
        return (f"its folder {folder} may not be written by you (mode {stat.S_IMODE(status.st_mode):04o}), and SQLite "
                "keeps the state file's -wal and -shm files there. To write to it, give the folder back its write "
                "permission (chmod u+w, as its owner)")
    if not os.access(folder, os.W_OK | os.X_OK):
        return (f"its folder {folder} may not be written by you ({_whose(status)}), and SQLite keeps the state file's "
                f"-wal and -shm files there. {_AS_ITS_OWNER}")
    return None


# A file or folder its owner may write, not ours to: told to give back a write permission (chmod u+w) its owner has,
# an operator had nothing to change; told to have it give a group write permission (chmod g+w), the owner's next
# command took it back, and the members' locks stopped each other (``errors.SHARED_STATE_FILE``).
_AS_ITS_OWNER = f"To write to it now, run the command as that account. {SHARED_STATE_FILE}"


def _whose(status: os.stat_result) -> str:
    return f"mode {stat.S_IMODE(status.st_mode):04o}, owned by uid {status.st_uid}, who may write it"


def refusal(path: Path, why: str) -> str:
    """What a command that writes says of a state file it may not write: what, why, and the ways on (``why`` ends
    with its own). Never a copy to write to (``--store COPY``, as it said): a writer's copy is a second store, and
    what was stored there is missing from the one every later command reads."""
    return (f"the state file {path} cannot be written: {why.rstrip('.')}. This command stores what it does, so it "
            "was refused: nothing was stored or sent. Not on a copy of it either (--store COPY): what this command stored there "
            "would be missing from this state file, which the next command, the tick and the page read, and two stores "
            "would each hold a part. The commands that only read (list, show, store export, a --dry-run) read it as "
            "it stands, or a copy of it.")


def _beside(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


class CopiedStore(SQLiteStore):
    """A private copy of a state file this command may not write, in a temporary folder of the owner's only, removed
    when closed. What a reading command reads in its place (see the module's words)."""

    def __init__(self, path: Path, *, when_waiting: Callable[[Path], None] | None = None,
                 setting: str = STORE_SETTING) -> None:
        self._folder = Path(tempfile.mkdtemp(prefix="broadcaster-copy-"))  # 0700: no one else opens it
        self._original = path
        copy = self._folder / "state.db"
        try:
            refuse_a_file_for_its_folder(path, setting)
            _refuse_special_files(path, setting)  # a named pipe's copy waited for ever
            # The file a link names, whose -wal and -shm SQLite keeps beside it: looked for beside the link, none was
            # found, and the commits still in the -wal were left out of the copy (and of its export).
            _copied(Path(os.path.realpath(path)), copy)
            super().__init__(copy, when_waiting=when_waiting, setting=setting)
        except BroadcasterError as exc:  # said of the copy (not a state file, damaged): said of the file it copies
            shutil.rmtree(self._folder, ignore_errors=True)
            exc.args = tuple(str(a).replace(str(copy), str(path)) for a in exc.args)
            raise
        except BaseException:
            shutil.rmtree(self._folder, ignore_errors=True)
            raise
        self.location = f"the state file {path} (read from a copy: it may not be written)"

    def lasting(self) -> SQLiteStore:
        """Never the copy: what a publication stores there is lost when the command ends. ``cli.options.open_store``
        refuses a command that writes before this is asked; this is the last word (a refusal, exit 2: the original
        was never written) if one ever gets here."""
        raise InputError(refusal(self._original, "it is read from a copy, and this command would store in it. To "
                                                 "write to it, run the command where it may be written"))

    def holding_its_secret(self) -> SQLiteStore:
        """The copy: its secret is the original's, copied with it, so a preview of an incident kept from the public
        names the id a post to the original gets (``compose.unspelt_id``). Asking ``lasting()`` for it refused the
        dry run as a command that stores. A secret drawn here (a file that never had one) goes with the copy: no
        command may store in the original to need it."""
        return self

    @contextmanager
    def lock(self, name: str, *, wait: bool = True) -> Iterator[bool]:
        """Never taken: a lock beside the copy keeps no other command out, and beside the original it cannot be made
        (its folder may not be written). Only a command that writes takes one, and such a command is refused."""
        raise InputError(refusal(self._original, "it is read from a copy, and this step needs its lock. To write to "
                                                 "it, run the command where it may be written"))
        yield False  # pragma: no cover - a generator, for @contextmanager

    def close(self) -> None:
        super().close()
        shutil.rmtree(self._folder, ignore_errors=True)


def _copied(path: Path, copy: Path) -> None:
    """``path``, whole, at ``copy``: through SQLite with ``mode=ro`` where it needs to make nothing, else its bytes."""
    if _beside(path, "-wal").exists() and _beside(path, "-shm").exists():
        try:
            _backed_up(path, copy)
            return
        except sqlite3.Error:
            for made in (copy, _beside(copy, "-wal"), _beside(copy, "-shm")):
                made.unlink(missing_ok=True)  # a -shm we may not read: its bytes, below
    for _ in range(_COPY_ATTEMPTS):
        if _bytes_copied(path, copy):
            return
        time.sleep(_COPY_PAUSE)  # a checkpoint under way ends within milliseconds
    raise StoreError(f"the state file {path} changed each time it was read ({_COPY_ATTEMPTS} times): another command is "
                     "writing to it. Nothing was stored or sent. Let it finish, then run the command again.")


def _backed_up(path: Path, copy: Path) -> None:
    from urllib.parse import quote

    with closing(sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)) as source, \
            closing(sqlite3.connect(copy)) as target:
        source.backup(target)


def _bytes_copied(path: Path, copy: Path) -> bool:
    """The file and its ``-wal`` copied; False when either changed meanwhile (the copy may mix two moments)."""
    try:
        before = [_identity(p) for p in (path, _beside(path, "-wal"))]
        shutil.copyfile(path, copy)
        if before[1] is not None:
            shutil.copyfile(_beside(path, "-wal"), _beside(copy, "-wal"))
        else:
            _beside(copy, "-wal").unlink(missing_ok=True)
        after = [_identity(p) for p in (path, _beside(path, "-wal"))]
    except FileNotFoundError:
        return False  # its -wal checkpointed and removed as it was copied
    except OSError as exc:
        raise StoreError(f"cannot copy the state file {path} to read it ({exc.strerror or exc}): a command that only "
                         "reads a state file it may not write reads a private copy of it in $TMPDIR. Check that you may "
                         "read it (and its -wal file, if any) and that $TMPDIR has room for it. Nothing was stored or "
                         "sent.") from exc
    return before == after


def _identity(path: Path) -> tuple[int, int, int, int] | None:
    try:
        status = path.stat()
    except FileNotFoundError:
        return None
    return (status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns)
