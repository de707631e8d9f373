"""The state store: incidents, updates and one delivery row per update and destination.

The embedded default is one SQLite file in WAL mode. Writes that must not
interleave (allocating an incident id or an update's sequence number, claiming
a delivery) run in ``BEGIN IMMEDIATE`` transactions, so two ``broadcaster``
processes posting to the same incident at the same moment both land with
distinct sequence numbers.

An update and all its deliveries are written in one transaction before anything
is sent (an outbox): a crash after ``record_update`` returns loses nothing, and
``broadcaster retry`` finds what is left.

Delivery states: ``pending`` (stored, not yet tried), ``sending`` (claimed by a
process that may be talking to the service right now), ``sent``, ``failed``,
``skipped`` (filtered out: components, --only/--skip), ``unknown`` (a process
died mid-request: the post may or may not exist; see ``broadcaster retry``).
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from broadcaster.errors import InputError, StoreError
from messages.model import AffectedComponent, ComponentStatus, Impact, Incident, Status, Update

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 30_000

OPEN_STATES = ("pending", "sending", "failed", "unknown")
DONE_STATES = ("sent", "skipped")

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
}


@dataclass(frozen=True)
class PlannedDelivery:
    """One destination (and target) an update is meant for, decided before storing."""

    destination: str
    target: str
    visibility: str
    state: str = "pending"  # or "skipped"
    reason: str = ""


@dataclass(frozen=True)
class Delivery:
    id: int
    incident_id: str
    sequence: int
    destination: str
    target: str
    visibility: str
    state: str
    remote_id: str | None
    thread_ref: str | None
    attempts: int
    last_error: str | None
    claimed_by: str | None
    claimed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None


def utcnow() -> datetime:
    return datetime.now(UTC)


def _ts(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime reached the store")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _components_json(components: Sequence[AffectedComponent]) -> str:
    return json.dumps([[c.id, c.status.value] for c in components])


def _components_from(text: str) -> tuple[AffectedComponent, ...]:
    return tuple(AffectedComponent(cid, ComponentStatus(status)) for cid, status in json.loads(text))


def process_owner() -> str:
    """Who claims a delivery: host, pid and the process start, so a reused pid is not mistaken."""
    return f"{socket.gethostname()}:{os.getpid()}:{_PROCESS_START}"


_PROCESS_START = f"{time.time():.3f}"


def owner_is_alive(owner: str, claimed_at: datetime | None, lease: timedelta) -> bool:
    """Whether the process that claimed a delivery may still be sending it."""
    host, _, rest = owner.partition(":")
    pid_text, _, start = rest.partition(":")
    if host == socket.gethostname() and pid_text.isdigit():
        if int(pid_text) == os.getpid():
            return start == _PROCESS_START
        try:
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return claimed_at is None or utcnow() - claimed_at < lease
    return claimed_at is not None and utcnow() - claimed_at < lease


class SQLiteStore:
    """The embedded store. One instance per command; not shared between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the state file {path}: {exc}. Check the path and its permissions ([store] path).") from exc
        self.db.row_factory = sqlite3.Row
        self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = NORMAL")
        self.db.execute("PRAGMA foreign_keys = ON")
        self.migrate()

    def close(self) -> None:
        self.db.close()

    # -- transactions & schema -----------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that takes the lock up front, so read-then-write cannot race."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StoreError(f"the state file {self.path} is locked by another process for too long: {exc}. Try again.") from exc
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")

    def schema_version(self) -> int:
        exists = self.db.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'"
        ).fetchone()
        if not exists:
            return 0
        row = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        return int(row["value"]) if row else 0

    def migrate(self) -> int:
        """Bring the schema up to date; returns the version now in place."""
        if self.schema_version() == SCHEMA_VERSION:
            return SCHEMA_VERSION
        with self.transaction() as db:
            db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            current = self.schema_version()
            if current > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} was written by a newer broadcaster (schema {current}); upgrade broadcaster."
                )
            for version in range(current + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[version].split(";"):
                    if statement.strip():
                        db.execute(statement)
            db.execute(
                "INSERT INTO meta(key, value) VALUES('schema_version', ?) "
                "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (str(SCHEMA_VERSION),),
            )
        return SCHEMA_VERSION

    # -- incidents and updates -------------------------------------------------

    def record_update(
        self,
        incident: Incident,
        update: Update,
        plan: Sequence[PlannedDelivery],
        *,
        new: bool,
    ) -> tuple[Incident, Update]:
        """Store an update (and a new incident) with its deliveries, in one transaction.

        The sequence number (and, for a new incident, a free id derived from
        ``incident.id``) is allocated inside the transaction. Returns what was stored.
        """
        with self.transaction() as db:
            if new:
                incident = replace(incident, id=self._free_id(db, incident.id))
            else:
                current = self._incident_row(db, incident.id)
                if current is None:
                    raise InputError(f"no incident {incident.id!r}; see `broadcaster list`.")
            sequence = db.execute(
                "SELECT COALESCE(MAX(sequence), 0) + 1 FROM updates WHERE incident_id = ?", (incident.id,)
            ).fetchone()[0]
            update = replace(update, incident_id=incident.id, sequence=sequence)
            self._write_incident(db, incident, update.created_at, new=new)
            self._write_update(db, update)
            now = _ts(utcnow())
            db.executemany(
                "INSERT INTO deliveries(incident_id, sequence, destination, target, visibility, state,"
                " last_error, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
                [
                    (incident.id, sequence, p.destination, p.target, p.visibility, p.state, p.reason or None, now, now)
                    for p in plan
                ],
            )
        return incident, update

    def _free_id(self, db: sqlite3.Connection, wanted: str) -> str:
        candidate, n = wanted, 1
        while self._incident_row(db, candidate) is not None:
            n += 1
            candidate = f"{wanted}-{n}"
        return candidate

    def _write_incident(self, db: sqlite3.Connection, incident: Incident, at: datetime, *, new: bool) -> None:
        values = (
            incident.title, incident.impact.value, incident.status.value, incident.kind,
            _components_json(incident.components), _ts(incident.resolved_at),
            _ts(incident.scheduled_start), _ts(incident.scheduled_end), _ts(at), incident.id,
        )
        if new:
            db.execute(
                "INSERT INTO incidents(title, impact, status, kind, components, resolved_at, scheduled_start,"
                " scheduled_end, updated_at, id, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (*values, _ts(incident.created_at)),
            )
        else:
            db.execute(
                "UPDATE incidents SET title=?, impact=?, status=?, kind=?, components=?, resolved_at=?,"
                " scheduled_start=?, scheduled_end=?, updated_at=? WHERE id=?",
                values,
            )

    def _write_update(self, db: sqlite3.Connection, update: Update) -> None:
        db.execute(
            "INSERT INTO updates(incident_id, sequence, created_at, status, raw_message, components,"
            " private_note, customers, tickets, etr, next_update_by, author, kind, extra)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                update.incident_id, update.sequence, _ts(update.created_at), update.status.value,
                update.raw_message, _components_json(update.components), update.private_note,
                json.dumps(list(update.customers)), json.dumps(list(update.tickets)),
                _ts(update.etr), _ts(update.next_update_by), update.author, update.kind,
                json.dumps(update.extra),
            ),
        )

    def _incident_row(self, db: sqlite3.Connection, incident_id: str) -> sqlite3.Row | None:
        return db.execute("SELECT * FROM incidents WHERE id = ?", (incident_id,)).fetchone()

    def incident(self, incident_id: str) -> Incident | None:
        row = self._incident_row(self.db, incident_id)
        return _incident_from(row) if row else None

    def incident_ids(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT id FROM incidents ORDER BY updated_at DESC")]

    def updates(self, incident_id: str) -> list[Update]:
        rows = self.db.execute(
            "SELECT * FROM updates WHERE incident_id = ? ORDER BY sequence", (incident_id,)
        ).fetchall()
        return [_update_from(r) for r in rows]

    def update(self, incident_id: str, sequence: int) -> Update | None:
        row = self.db.execute(
            "SELECT * FROM updates WHERE incident_id = ? AND sequence = ?", (incident_id, sequence)
        ).fetchone()
        return _update_from(row) if row else None

    def list_incidents(self, *, limit: int = 50) -> list[Incident]:
        """Open incidents first (newest first), then the most recently updated closed ones."""
        rows = self.db.execute(
            "SELECT * FROM incidents ORDER BY (status IN ('resolved','completed')), updated_at DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [_incident_from(r) for r in rows]

    def site_incidents(self, since: datetime) -> list[tuple[Incident, list[Update]]]:
        """What the page shows: open incidents and those updated since ``since``, with updates."""
        rows = self.db.execute(
            "SELECT * FROM incidents WHERE status NOT IN ('resolved','completed') OR updated_at >= ?"
            " ORDER BY created_at DESC",
            (_ts(since),),
        ).fetchall()
        return [(_incident_from(r), self.updates(r["id"])) for r in rows]

    def all_incidents(self, batch: int = 500) -> Iterator[tuple[Incident, list[Update]]]:
        """Every incident with its updates, streamed in batches (for a full site build)."""
        last = ""
        while True:
            rows = self.db.execute(
                "SELECT * FROM incidents WHERE id > ? ORDER BY id LIMIT ?", (last, batch)
            ).fetchall()
            if not rows:
                return
            ids = [r["id"] for r in rows]
            marks = ",".join("?" * len(ids))
            updates: dict[str, list[Update]] = {i: [] for i in ids}
            for row in self.db.execute(
                f"SELECT * FROM updates WHERE incident_id IN ({marks}) ORDER BY incident_id, sequence", ids
            ):
                updates[row["incident_id"]].append(_update_from(row))
            for row in rows:
                yield _incident_from(row), updates[row["id"]]
            last = ids[-1]

    # -- deliveries --------------------------------------------------------------

    def deliveries(
        self, *, incident_id: str | None = None, sequence: int | None = None, states: Sequence[str] = ()
    ) -> list[Delivery]:
        sql, args = "SELECT * FROM deliveries WHERE 1=1", []
        if incident_id is not None:
            sql += " AND incident_id = ?"
            args.append(incident_id)
        if sequence is not None:
            sql += " AND sequence = ?"
            args.append(sequence)
        if states:
            sql += f" AND state IN ({','.join('?' * len(states))})"
            args.extend(states)
        sql += " ORDER BY created_at, incident_id, sequence, id"
        return [_delivery_from(r) for r in self.db.execute(sql, args)]

    def delivery(self, delivery_id: int) -> Delivery:
        row = self.db.execute("SELECT * FROM deliveries WHERE id = ?", (delivery_id,)).fetchone()
        if row is None:
            raise StoreError(f"delivery {delivery_id} vanished from the store")
        return _delivery_from(row)

    def claim(self, delivery_id: int, owner: str, *, include_unknown: bool = False) -> bool:
        """Atomically take a delivery for sending; False if it is sent or someone else has it."""
        states = ("pending", "failed", "unknown") if include_unknown else ("pending", "failed")
        now = _ts(utcnow())
        with self.transaction() as db:
            cursor = db.execute(
                f"UPDATE deliveries SET state='sending', claimed_by=?, claimed_at=?, updated_at=?"
                f" WHERE id=? AND state IN ({','.join('?' * len(states))})",
                (owner, now, now, delivery_id, *states),
            )
            return cursor.rowcount == 1

    def note_attempt(self, delivery_id: int) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE deliveries SET attempts = attempts + 1, updated_at=? WHERE id=?",
                (_ts(utcnow()), delivery_id),
            )

    def mark_sent(self, delivery_id: int, remote_id: str, thread_ref: str | None, note: str | None = None) -> None:
        now = _ts(utcnow())
        with self.transaction() as db:
            db.execute(
                "UPDATE deliveries SET state='sent', remote_id=?, thread_ref=?, last_error=?, claimed_by=NULL,"
                " sent_at=?, updated_at=? WHERE id=?",
                (remote_id, thread_ref, note, now, now, delivery_id),
            )

    def mark_failed(self, delivery_id: int, error: str, *, state: str = "failed") -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE deliveries SET state=?, last_error=?, claimed_by=NULL, updated_at=? WHERE id=?",
                (state, error, _ts(utcnow()), delivery_id),
            )

    def release(self, delivery_id: int, error: str) -> None:
        """Give back a claimed delivery untried (``pending`` again), keeping the reason."""
        self.mark_failed(delivery_id, error, state="pending")

    def reap_abandoned(self, lease: timedelta) -> list[Delivery]:
        """Mark ``sending`` rows whose process is gone as ``unknown``; return them."""
        reaped = []
        for delivery in self.deliveries(states=("sending",)):
            if delivery.claimed_by and owner_is_alive(delivery.claimed_by, delivery.claimed_at, lease):
                continue
            with self.transaction() as db:
                cursor = db.execute(
                    "UPDATE deliveries SET state='unknown', claimed_by=NULL, updated_at=?, last_error=?"
                    " WHERE id=? AND state='sending' AND claimed_by IS ?",
                    (
                        _ts(utcnow()),
                        "the process sending this was stopped before the service answered: "
                        "the post may or may not exist",
                        delivery.id,
                        delivery.claimed_by,
                    ),
                )
            if cursor.rowcount == 1:
                reaped.append(self.delivery(delivery.id))
        return reaped

    def thread_history(self, incident_id: str, destination: str, target: str, before: int) -> list[Delivery]:
        """Earlier deliveries of this incident to one destination and target, oldest first."""
        rows = self.db.execute(
            "SELECT * FROM deliveries WHERE incident_id=? AND destination=? AND target=? AND sequence < ?"
            " ORDER BY sequence",
            (incident_id, destination, target, before),
        ).fetchall()
        return [_delivery_from(r) for r in rows]


def _incident_from(row: sqlite3.Row) -> Incident:
    return Incident(
        id=row["id"],
        title=row["title"],
        impact=Impact(row["impact"]),
        status=Status(row["status"]),
        created_at=_dt(row["created_at"]),  # type: ignore[arg-type]
        components=_components_from(row["components"]),
        resolved_at=_dt(row["resolved_at"]),
        kind=row["kind"],
        scheduled_start=_dt(row["scheduled_start"]),
        scheduled_end=_dt(row["scheduled_end"]),
    )


def _update_from(row: sqlite3.Row) -> Update:
    return Update(
        incident_id=row["incident_id"],
        sequence=row["sequence"],
        created_at=_dt(row["created_at"]),  # type: ignore[arg-type]
        status=Status(row["status"]),
        raw_message=row["raw_message"],
        components=_components_from(row["components"]),
        private_note=row["private_note"],
        customers=tuple(json.loads(row["customers"])),
        tickets=tuple(json.loads(row["tickets"])),
        etr=_dt(row["etr"]),
        next_update_by=_dt(row["next_update_by"]),
        author=row["author"],
        kind=row["kind"],
        extra=json.loads(row["extra"]),
    )


def _delivery_from(row: sqlite3.Row) -> Delivery:
    values: dict[str, Any] = dict(row)
    for key in ("claimed_at", "created_at", "updated_at", "sent_at"):
        values[key] = _dt(values[key])
    return Delivery(**values)


def open_store(path: Path) -> SQLiteStore:
    """Open the configured store (the embedded SQLite file)."""
    return SQLiteStore(path)
