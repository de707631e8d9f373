"""The embedded store: one SQLite file in WAL mode, the default for one operator.

Writers serialise on ``BEGIN IMMEDIATE``, which takes the file's write lock
up front, so a read-then-write (the next sequence number) cannot race; a
busy file is waited for up to ``BUSY_TIMEOUT_MS``, in short turns so that
Ctrl-C is heard while waiting. The schema is brought up
to date whenever a file is opened. A failure of the file itself (damaged,
full, unwritable) is a ``StoreError`` naming it, with what became of the
command's writes and what to do (``sqlite_errors``).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from broadcaster.errors import (
    BroadcasterError,
    ConfigError,
    LockRefused,
    LockRefusedAfterStoring,
    StoreError,
    lock_refused_advice,
)
from broadcaster.filelock import FileLock
from broadcaster.store.contract import SCHEMA_VERSION, Store, apply_migrations
from broadcaster.store.records import Row
from broadcaster.store.sqlite_errors import BUGS, _damaged, explained, file_failure, is_busy

BUSY_TIMEOUT_MS = 30_000
# The write lock is waited for in turns this long: SQLite's own wait is deaf to Ctrl-C (Python hears a
# signal only when the call returns), and an operator stopping a post stuck behind another command must
# not see it posted half a minute later.
_TURN_MS = 200
_TELL_AFTER_S = 1.0  # a wait longer than this is said (a silent one looks like a hang)

_MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE incidents (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        impact TEXT NOT NULL,
        status TEXT NOT NULL,
        kind TEXT NOT NULL DEFAULT 'incident',
        components TEXT NOT NULL DEFAULT '[]',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        resolved_at TEXT,
        scheduled_start TEXT,
        scheduled_end TEXT
    );
    CREATE INDEX incidents_updated_at ON incidents(updated_at);
    CREATE INDEX incidents_status ON incidents(status);
    CREATE TABLE updates (
        incident_id TEXT NOT NULL REFERENCES incidents(id),
        sequence INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        status TEXT NOT NULL,
        raw_message TEXT NOT NULL,
        components TEXT NOT NULL DEFAULT '[]',
        private_note TEXT NOT NULL DEFAULT '',
        customers TEXT NOT NULL DEFAULT '[]',
        tickets TEXT NOT NULL DEFAULT '[]',
        etr TEXT,
        next_update_by TEXT,
        author TEXT NOT NULL DEFAULT '',
        kind TEXT NOT NULL DEFAULT 'update',
        extra TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (incident_id, sequence)
    );
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        incident_id TEXT NOT NULL,
        sequence INTEGER NOT NULL,
        destination TEXT NOT NULL,
        target TEXT NOT NULL DEFAULT '',
        visibility TEXT NOT NULL,
        state TEXT NOT NULL,
        remote_id TEXT,
        thread_ref TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        claimed_by TEXT,
        claimed_at TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        sent_at TEXT,
        UNIQUE (incident_id, sequence, destination, target),
        FOREIGN KEY (incident_id, sequence) REFERENCES updates(incident_id, sequence)
    );
    CREATE INDEX deliveries_state ON deliveries(state);
    CREATE INDEX deliveries_thread ON deliveries(incident_id, destination, target, sequence);
    """,
    # Titles may hold [private] spans: the title as written, beside the public one ("" when it has none).
    2: """
    ALTER TABLE incidents ADD COLUMN raw_title TEXT NOT NULL DEFAULT ''
    """,
    # Delivery states that tell the truth: each confirmed part of a post in parts, so a retry
    # resumes after it; and the incident's row version, for compare-and-set writes.
    3: """
    ALTER TABLE deliveries ADD COLUMN parts TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE incidents ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
    """,
    # Audiences: the ids --customer named and the --for detail of each update. Old free-text
    # customers stay in ``customers``, read as internal detail; "private" deliveries are "internal".
    4: """
    ALTER TABLE updates ADD COLUMN audiences TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE updates ADD COLUMN audience_detail TEXT NOT NULL DEFAULT '[]';
    UPDATE deliveries SET visibility = 'internal' WHERE visibility = 'private';
    """,
    # Issue 16: `broadcaster withdraw` marks an incident withdrawn (who and why: its withdrawal update).
    5: """
    ALTER TABLE incidents ADD COLUMN withdrawn_at TEXT;
    """,
    # Who gave a sent delivery's remote id: broadcaster (the service's answer to its own request), the
    # operator (retry --mark-unknown-sent --remote-id) or an import. Withdraw deletes only broadcaster's.
    6: """
    ALTER TABLE deliveries ADD COLUMN remote_origin TEXT NOT NULL DEFAULT 'broadcaster';
    UPDATE deliveries SET remote_origin = 'operator'
        WHERE last_error = 'marked sent by the operator after an interrupted send' AND remote_id <> '';
    """,
    # Issue 19: chats that subscribe themselves through the bot, and the invites that let them
    # (only each code's SHA-256 is kept).
    7: """
    CREATE TABLE invites (
        hash TEXT PRIMARY KEY,
        visibility TEXT NOT NULL,
        components TEXT NOT NULL DEFAULT '[]',
        created_at TEXT NOT NULL,
        expires_at TEXT,
        max_uses INTEGER,
        uses INTEGER NOT NULL DEFAULT 0,
        revoked_at TEXT
    );
    CREATE TABLE subscriptions (
        chat_id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        visibility TEXT NOT NULL,
        components TEXT NOT NULL DEFAULT '[]',
        active INTEGER NOT NULL DEFAULT 1,
        joined_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        invite TEXT,
        inactive_reason TEXT
    );
    CREATE INDEX subscriptions_visibility ON subscriptions(visibility, active);
    """,
    # A post in parts half sent keeps the rendering its confirmed parts were cut from: the rest goes from it in
    # every later run, never from the incident as it stands then (resumed by counting parts).
    8: """
    ALTER TABLE deliveries ADD COLUMN rendering TEXT;
    """,
    # A post that goes out as its thread's first (the first one was deleted) is kept so from the moment the channel
    # decides it: recorded sent any way (a resume, a cut at the deadline, --mark-unknown-sent), it is the thread's.
    9: """
    ALTER TABLE deliveries ADD COLUMN starts_thread INTEGER NOT NULL DEFAULT 0;
    """,
}


PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700


def keep_out_of_git(folder: Path) -> None:
    """``.broadcaster/.gitignore`` holding ``*``: the state, locks and caches never reach a commit.

    A file inside the folder rather than a line in the project's .gitignore: it needs no
    edit of the operator's own file, and it travels with the folder wherever that is.
    """
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# broadcaster's state, locks and caches: never commit them.\n*\n", encoding="utf-8")


def _private_file(path: Path) -> None:
    """The state file (and its WAL and shared-memory files) readable by the owner only, whatever
    the umask: it holds customers and private notes. SQLite gives the WAL and SHM files the
    mode of the database file; existing ones from older versions are tightened too."""
    missing = []
    folder = path.parent
    while not folder.is_dir():
        missing.append(folder)
        folder = folder.parent
    for created in reversed(missing):  # folders we create are ours: .broadcaster/ and the like
        created.mkdir(exist_ok=True)
        os.chmod(created, PRIVATE_FOLDER)
    state_folder = path.parent
    if state_folder.name == ".broadcaster" and state_folder.stat().st_uid == os.getuid():
        _narrowed(state_folder)  # made 0755 by older versions
        keep_out_of_git(state_folder)
    os.close(os.open(path, os.O_RDONLY | os.O_CREAT, PRIVATE_FILE))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        _narrowed(file)
    _writable_as_the_state_file(path)


def _writable_as_the_state_file(path: Path) -> None:
    """The WAL and shared-memory files given the owner's bits of the state file where they lack them: SQLite makes
    them with the state file's mode, and a command that read a state file made read-only (0400) left them 0400 (a
    reader cannot remove them). Once the file was writable again every write failed 'attempt to write a readonly
    database', telling to check the file and its folder, both writable."""
    state_file = Path(os.path.realpath(path))  # SQLite keeps them beside the file a link names
    owner = stat.S_IMODE(state_file.stat().st_mode) & PRIVATE_FILE
    for file in (state_file.with_name(state_file.name + "-wal"), state_file.with_name(state_file.name + "-shm")):
        try:
            info = file.stat()
        except FileNotFoundError:
            continue
        mode = stat.S_IMODE(info.st_mode)
        if info.st_uid == os.getuid() and owner & ~mode:
            os.chmod(file, (mode | owner) & PRIVATE_FILE)


def _narrowed(path: Path) -> None:
    """The group's and others' bits of a file or folder of ours taken away, and nothing else changed: setting it to
    0700 (0600) gave back the owner's write bit to a ``.broadcaster`` its owner had set to 0500, or a state file kept
    at 0444, and the command wrote there (review 61c). One the command may not write is refused before this
    (``store.read_only``)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    if info.st_mode & 0o077 and info.st_uid == os.getuid():
        os.chmod(path, stat.S_IMODE(info.st_mode) & ~0o077)


_SQLITE_HEADER = b"SQLite format 3\x00"
# The setting a refusal tells the operator to change where the caller does not say which one named the file: a state
# file named by [store] url (written, or "${STORE_URL}") or by --store is told by that name (``cli.options``), never
# as "[store] path", a setting the config did not have.
STORE_SETTING = "[store] path (or --store)"


def is_sqlite_file(path: Path) -> bool:
    """Whether ``path`` is a SQLite database (a state file, or another program's): a regular file with its header."""
    try:
        with open(path, "rb") as file:
            return os.path.isfile(path) and file.read(len(_SQLITE_HEADER)) == _SQLITE_HEADER
    except OSError:  # not there, a folder, unreadable: no database this command could replace either
        return False


def refuse_a_file_for_its_folder(path: Path, setting: str = STORE_SETTING) -> None:
    """A file where a folder of the state file's path should be (``.broadcaster`` made by `touch` for `mkdir`, a copy
    gone wrong): opening it failed as an unexpected error (NotADirectoryError). Also asked before a command reads the
    scratch store that stands for a state file not made yet (``cli.options.open_store``): else a post's preview and
    its dry run passed, and the post was refused only once the operator had confirmed it."""
    refuse_a_link_that_cannot_be_followed(path, setting)
    for folder in path.parents:
        if folder.is_dir():
            return
        if folder.exists() or folder.is_symlink():
            raise ConfigError(
                f"{folder} is {_standing_there(folder)}, not a folder, so the state file {path} cannot be made in it. "
                f"Check the path: move or rename it, or point {setting} at a file in a folder. Nothing was stored or "
                "sent."
            )


def refuse_a_link_that_cannot_be_followed(path: Path, setting: str = STORE_SETTING) -> None:
    """The state file's own name a loop of links, or a link to a file in a folder that is not there (a volume not
    mounted): a post ended as an unexpected error (OSError) or 'cannot open the state file', exit 1, while its dry
    run, `list` and `store export` read an empty store, 'not made yet'. A link to a file not made yet in a folder that
    is there is followed, as before: the state file is made where it points."""
    if not path.is_symlink() or path.exists():
        return
    if _standing_there(path) == "a loop of symbolic links":
        raise ConfigError(
            f"{path} is a loop of symbolic links, so it cannot be the state file. Check the path: remove or repoint "
            f"the link, or point {setting} at the state file. Nothing was stored or sent."
        )
    target = Path(os.path.realpath(path))
    if not target.parent.is_dir():
        raise ConfigError(
            f"{path} is a symbolic link to {target}, and {target.parent} is no folder there (a disk not mounted?), "
            f"so the state file cannot be made through it. Check the path: make or mount that folder, or point "
            f"{setting} at the state file. Nothing was stored or sent."
        )


def _standing_there(path: Path) -> str:
    """What a path that is no folder is, in a word an operator can act on: a loop of links read as "a link to nothing"
    (``Path.exists`` says False for both)."""
    import errno

    if path.exists():
        return "a file"
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a loop of symbolic links"
    return "a symbolic link to nothing"


def _refuse_special_files(path: Path, setting: str = STORE_SETTING) -> None:
    """A named pipe, a device or a socket given as the state file (`--store /dev/null`, to keep no state): reading
    its header waited for ever on a pipe, and a device was made 0600 (run as root, /dev/null for every user of the
    machine) and then told as a disk full or failing."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return  # not there yet (made below), or refused with its own message below
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise ConfigError(
            f"{path} is not a regular file (a named pipe, a device or a socket), so it cannot be the state file; "
            f"broadcaster left it alone. Point {setting} at the state file, or at a new file in a folder. Nothing "
            "was stored or sent."
        )


def _refuse_other_files(path: Path, setting: str = STORE_SETTING) -> None:
    """A path naming a file that is not a state file (the config, a page) is refused before it is
    touched: opening it made it private (0600) and then failed as an unexpected error."""
    _refuse_special_files(path, setting)
    try:
        with open(path, "rb") as existing:
            header = existing.read(len(_SQLITE_HEADER))
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        return  # made, or refused with its own message, below
    if header and header != _SQLITE_HEADER:
        raise ConfigError(
            f"{path} is not a state file (an SQLite database) but some other file; broadcaster left it alone. "
            f"Point {setting} at the state file, or at a new file. Nothing was stored or sent."
        )
    if not header:
        return  # new or empty: made a state file below
    # Another program's database (grafana.db) is SQLite too: taking it over switched it to WAL mode for good, made
    # it 0600 and wrote seven tables into it. Read before anything is changed: only a database with no tables, or
    # one with broadcaster's schema_version, is a state file. A file SQLite cannot read is told below, as damaged.
    try:
        with closing(sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)) as db:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            ours = "meta" in tables and {"key", "value"} <= {r[1] for r in db.execute("PRAGMA table_info(meta)")} and (
                db.execute("SELECT 1 FROM meta WHERE key='schema_version'").fetchone() is not None)
    except sqlite3.Error:
        return
    if tables and not ours:
        raise ConfigError(
            f"{path} is not a state file (broadcaster's SQLite database) but another program's SQLite database: "
            f"broadcaster left it alone. Point {setting} at the state file, or at a new file. Nothing was stored "
            "or sent."
        )


class _Commits:
    """Whether a command's connections to one state file have committed a write (see ``sqlite_errors``)."""

    def __init__(self) -> None:
        self.any = False


class SQLiteStore(Store):
    """The embedded store. One instance per command; not shared between threads."""

    backend = "sqlite"

    def __init__(self, path: Path, *, commits: _Commits | None = None,
                 when_waiting: Callable[[Path], None] | None = None, setting: str = STORE_SETTING) -> None:
        self.path = path
        self._when_waiting = when_waiting
        self._setting = setting  # the setting that named the file, which each refusal of it tells to change
        # Whether this command committed anything yet, shared with the connections it reopens (threads, a
        # worker): a failure after that must not say "run the command again", which would post twice.
        self._commits = commits or _Commits()
        self.location = f"the state file {path}"
        # The file the path names as it is opened, which this connection writes for as long as it lives: the locks
        # are beside it (``lock``), not beside whatever a link retargeted meanwhile names.
        self._resolved = Path(os.path.realpath(path))
        refuse_a_file_for_its_folder(path, setting)
        _refuse_other_files(path, setting)
        try:
            _private_file(path)
            self.db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        except OSError as exc:
            raise file_failure(path, exc, setting) from exc
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the state file {path}: {exc}. Check the path and its permissions "
                             f"({setting}).") from exc
        self.db.row_factory = sqlite3.Row
        # What a failure may say of the command's writes: whether one was under way, and whether any
        # committed before it (a schema brought up to date on opening is not the command's data).
        self._writing = True
        try:
            self._set_up()
        except BaseException:
            self.db.close()
            raise
        self._writing = False

    def _set_up(self) -> None:
        try:
            self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._use_wal()
            self.db.execute("PRAGMA synchronous = NORMAL")
            self.db.execute("PRAGMA foreign_keys = ON")
        except BUGS:
            raise
        except sqlite3.Error as exc:
            raise self._failure(exc) from exc
        self.migrate()

    def _use_wal(self) -> None:
        """WAL mode. Switching a new file to it takes a lock the busy timeout does not wait for,
        so two processes creating the state file at once would fail: try again briefly."""
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                self.db.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if not is_busy(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def _failure(self, exc: sqlite3.Error) -> StoreError:
        return explained(self.path, exc, stored=self._commits.any, writing=self._writing, setting=self._setting)

    def close(self) -> None:
        self.db.close()

    reopenable = True
    one_machine = True

    def reopened(self) -> SQLiteStore:
        """Another connection to the file this one writes (a build's worker): not through a link retargeted since at
        another store, whose incidents the workers would have rendered into this store's site."""
        again = SQLiteStore(self._resolved, commits=self._commits, when_waiting=self._when_waiting,
                            setting=self._setting)
        again.location = self.location
        return again

    # Each primitive turns the driver's failures of the file (damaged, full, unwritable) into a StoreError
    # naming it; BUGS stay unexpected errors. Inline rather than a shared context manager: these run
    # thousands of times in a build, and a try costs nothing until it catches.

    def select(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        try:
            return self.db.execute(sql, args).fetchall()
        except BUGS:
            raise
        except sqlite3.Error as exc:
            raise self._failure(exc) from exc

    def run(self, sql: str, args: Sequence[Any] = ()) -> int:
        try:
            return self.db.execute(sql, args).rowcount
        except BUGS:
            raise
        except sqlite3.Error as exc:
            raise self._failure(exc) from exc

    def run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        try:
            self.db.executemany(sql, rows)
        except BUGS:
            raise
        except sqlite3.Error as exc:
            raise self._failure(exc) from exc

    # -- transactions & schema -----------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that takes the lock up front, so read-then-write cannot race.

        A failure of the file, COMMIT's too (a full disk shows there first: WAL mode writes
        the pages then), is a StoreError saying that the transaction was not stored."""
        try:
            self._begin()
        except BUGS:
            raise
        except sqlite3.Error as exc:
            raise explained(self.path, exc, stored=self._commits.any, writing=True, setting=self._setting) from exc
        self._writing = True
        try:
            yield self.db
            self._commit()
        except BaseException:
            self._roll_back()
            raise
        finally:
            self._writing = False
        self._commits.any = True

    def _begin(self) -> None:
        """``BEGIN IMMEDIATE``: the write lock, waited for in turns of ``_TURN_MS`` up to ``BUSY_TIMEOUT_MS``
        while another command holds it, and said once after ``_TELL_AFTER_S``."""
        self.db.execute(f"PRAGMA busy_timeout = {_TURN_MS}")
        try:
            start, told = time.monotonic(), False
            while True:
                try:
                    self.db.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as exc:
                    waited = time.monotonic() - start
                    if not is_busy(exc) or waited >= BUSY_TIMEOUT_MS / 1000:
                        raise
                if not told and waited >= _TELL_AFTER_S and self._when_waiting is not None:
                    self._when_waiting(self.path)
                    told = True
        finally:
            self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

    def _commit(self) -> None:
        try:
            self.db.execute("COMMIT")
        except BUGS:
            raise
        except sqlite3.Error as exc:
            raise self._failure(exc) from exc

    def _roll_back(self) -> None:
        """Undo the open transaction, unless SQLite already has (it may, after a full disk or an I/O
        error). A ROLLBACK that fails is not raised: the error that led here is the one to tell,
        and closing the connection undoes the transaction anyway."""
        if not self.db.in_transaction:
            return
        try:
            self.db.execute("ROLLBACK")
        except sqlite3.Error:
            pass

    @contextmanager
    def lock(self, name: str, *, wait: bool = True) -> Iterator[bool]:
        """A file lock beside the state file: the embedded store lives on one machine.

        The lock file is the owner's only, like the state file: anyone who can open it can
        hold the lock, and with it hold up every tick and publish of this store.

        Beside the file the path resolves to: a state file named through a link ([store] path) and by its own name (a
        cron job's --store) took two locks, and a tick, or the new-incident lock that keeps two operators' posts of
        one alert from both reaching every channel, ran at once through both (SQLite's WAL is there too).

        Resolved when the store was opened: a link retargeted while a post waited at its question (`ln -sfn` to
        another store) gave it the other file's lock while it wrote this one, and another post of the same alert
        through this file's own name, holding its lock, did not hold it back."""
        lock = self._lock_file(name)
        try:
            got = lock.acquire(wait=wait)
        except PermissionError as exc:
            raise self._lock_refused(lock.path, exc) from exc
        if not got:
            yield False
            return
        try:
            yield True
        finally:
            lock.release()

    def _lock_file(self, name: str) -> FileLock:
        state_file = self._resolved
        return FileLock(state_file.parent / f".{state_file.name}.{name}.lock", mode=PRIVATE_FILE)

    def lock_refused(self, name: str) -> str | None:
        lock = self._lock_file(name)
        refused = lock.refused()
        return None if refused is None else _lock_said(lock.path, refused)

    def _lock_refused(self, path: Path, exc: PermissionError) -> BroadcasterError:
        """A lock file this user may not open: another account's, its maker's only (a state file a group shares,
        0660, each member's first command making its own locks). It ended 'unexpected error (PermissionError)'."""
        lock = _lock_said(path, exc)
        said = lock_refused_advice(lock)
        if self._commits.any:  # the notices' lock, taken once the update is stored
            return LockRefusedAfterStoring(
                said + " What this command stored before it is kept, and what it did not send yet is not lost: see "
                "`broadcaster show`, and `broadcaster retry` sends it.", reason=said, lock=lock)
        return LockRefused(said + " Nothing was stored or sent.", reason=said, lock=lock)

    def schema_version(self) -> int:
        if not self.select("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'"):
            return 0
        row = self.select_one("SELECT value FROM meta WHERE key='schema_version'")
        if row is None:
            return 0
        value = str(row["value"]).strip()
        if not value.isdecimal():  # "7x", "-1": damaged, and read as a number it failed as an unexpected error
            raise _damaged(self.path, f"its schema_version is {value[:20]!r}, not a whole number", "Nothing was changed. ")
        return int(value)

    def migrate(self) -> int:
        """Bring the schema up to date; returns the version now in place."""
        if self.schema_version() == SCHEMA_VERSION:
            return SCHEMA_VERSION
        with self.transaction():
            self.run("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            self.migrated_from = apply_migrations(self, _MIGRATIONS)
        return SCHEMA_VERSION


def _lock_said(path: Path, exc: PermissionError) -> str:
    """The lock this user may not open, and whose it is."""
    try:
        status = path.stat()
        whose = (f" (made by {_account(status.st_uid)}, mode {stat.S_IMODE(status.st_mode):04o}: a lock file is its "
                 "maker's only)")
    except OSError:
        whose = ""
    return f"cannot take the store's lock {path}: {exc.strerror or exc}{whose}."


def _account(uid: int) -> str:
    """``uid 1001 (alice)``: the name is what an operator types to run a command as that account (``sudo -u``)."""
    import pwd  # here: only a refused lock needs it

    try:
        name = pwd.getpwuid(uid).pw_name
    except (KeyError, OSError):
        return f"uid {uid}"
    return f"uid {uid} ({name})" if name.isprintable() and name.strip() == name else f"uid {uid}"


class ScratchStore(SQLiteStore):
    """An empty store in a private temporary folder, removed when closed: what a command that only reads (a listing,
    an export, a dry run) reads where the state file ``stands_for`` is not made yet. Opened there, it made the state
    file (and ``.broadcaster/``) of a command that stored nothing, in whatever folder it ran (review 55b)."""

    def __init__(self, *, stands_for: Path, when_waiting: Callable[[Path], None] | None = None,
                 setting: str = STORE_SETTING) -> None:
        self._folder = Path(tempfile.mkdtemp(prefix="broadcaster-empty-"))  # 0700: no one else opens it
        self._stands_for = stands_for
        self._made: SQLiteStore | None = None
        try:
            super().__init__(self._folder / "state.db", when_waiting=when_waiting)
        except BaseException:
            shutil.rmtree(self._folder, ignore_errors=True)
            raise
        self._setting = setting  # of the state file it stands for, which ``lasting`` makes
        self.location = f"the state file {stands_for} (not made yet: nothing is stored there)"

    def lasting(self) -> SQLiteStore:
        """The state file this stands for, made now: the store's secret is drawn once, in it, and a preview naming an
        incident's id from it (``compose.unspelt_id``) names the id the post after it gets."""
        if self._made is None:
            self._made = SQLiteStore(self._stands_for, when_waiting=self._when_waiting, setting=self._setting)
        return self._made

    def close(self) -> None:
        super().close()
        if self._made is not None:
            self._made.close()
        shutil.rmtree(self._folder, ignore_errors=True)
