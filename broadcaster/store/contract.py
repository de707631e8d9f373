"""The state store: incidents, updates and one delivery row per update and destination.

One contract (``Store``), written once in SQL that both backends speak, and two
backends: the embedded default, one SQLite file in WAL mode
(``broadcaster.store.sqlite``), and a shared PostgreSQL database for teams
posting from several machines (``broadcaster.store.pg``, imported only when
``[store] url`` names one, so SQLite users never load the driver).
``open_store`` (``broadcaster.store.location``) picks one.

Writes that must not interleave run in one transaction that serialises them:
allocating an incident id (an ``INSERT ... ON CONFLICT DO NOTHING`` that tries
``api``, ``api-2``, ...), allocating an update's sequence number (under a lock
on the incident row: ``BEGIN IMMEDIATE`` in SQLite, ``SELECT ... FOR UPDATE``
in PostgreSQL) and claiming a delivery (an ``UPDATE ... WHERE state IN (...)``
that only one process can win). So two processes, on one machine or on
several, posting to one incident at the same moment land with distinct
sequence numbers, and two ``retry`` runs never send one delivery twice.

An update and all its deliveries are written in one transaction before anything
is sent (an outbox): a crash after ``record_update`` returns loses nothing, and
``broadcaster retry`` finds what is left.

Delivery states: ``pending`` (stored, not yet tried), ``sending`` (claimed by a
process that may be talking to the service right now), ``sent``, ``failed``
(the service did not take it: safe to send again), ``skipped`` (filtered out:
components, --only/--skip, or a destination or chat no longer in the config),
``unknown`` (the request may have reached the service and no answer came back,
or a process died mid-request: the post may or may not exist; see
``broadcaster retry``).

Incidents carry a ``version``: every change of the incident's own columns
(status, title, components...) bumps it, and a write based on a copy read at
an older version is refused with ``ConflictError`` (compare-and-
set) rather than writing stale columns back. A write changes only the columns
its caller changed. ``lock(name)`` is a lock in the store itself (a file lock
beside the SQLite file, an advisory lock in PostgreSQL), so ``tick`` and the
notices take turns across machines that share a team database.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, ClassVar

from broadcaster.config import SITE_DESTINATION
from broadcaster.delivery import LEFT_OUT_BY_OPERATOR, DeliveryState, Rendered
from broadcaster.errors import ConflictError, InputError, NewerStoreError, StoreError
from broadcaster.messages.model import PUBLIC, Incident, Level, Update, Visibility, in_force
from broadcaster.store.records import (
    INCIDENT_COLUMNS,
    MUTABLE_INCIDENT_COLUMNS,
    UPDATE_COLUMNS,
    WRITTEN,
    Delivery,
    PlannedDelivery,
    Row,
    as_prose,
    delivery_from,
    incident_from,
    incident_values,
    iso,
    stored_visibility,
    title_split_as_today,
    update_from,
    update_values,
    utc,
    utcnow,
)
from broadcaster.store.subscriptions import SubscriptionStore

SCHEMA_VERSION = 9

# How often a command reads an incident again when another command changed it under it.
CONFLICT_ATTEMPTS = 12  # each conflict is another command's write landing first: eight at once still all land

# What a claim may take: never one sent, skipped, or being sent by someone else; ``unknown`` only when asked.
CLAIMABLE = frozenset({DeliveryState.PENDING, DeliveryState.FAILED})

# The archive's closed incidents, and when each started (a window by its schedule): ``closed_incident_ids``.
_CLOSED = "withdrawn_at IS NULL AND status IN ('resolved','completed')"
_START = "CASE WHEN kind = 'maintenance' AND scheduled_start IS NOT NULL THEN scheduled_start ELSE created_at END"
_ABANDONED = "the process sending this was stopped before the service answered: the post may or may not exist"


def process_owner() -> str:
    """Who claims a delivery: host, pid and the process start, so a reused pid is not mistaken."""
    return f"{_host_name()}:{os.getpid()}:{_PROCESS_START}"


def _host_name() -> str:
    import socket  # here: a command that claims nothing (a dry run, a list) does not load it, about 2 ms

    return socket.gethostname()


_PROCESS_START = f"{time.time():.3f}"
# The ``meta`` key of ``Store.note_left_out_of_notices``.
_LEFT_OUT_OF_NOTICES = "left_out_of_notices"


def owner_is_alive(owner: str, claimed_at: datetime | None, lease: timedelta) -> bool:
    """Whether the process that claimed a delivery may still be sending it."""
    here = _here(owner)
    if here == "gone":
        return False
    if here in ("it", "unsure"):
        return True  # a long paced broadcast outlives any lease: alive is alive
    if here == "pid reused":
        return claimed_at is None or utcnow() - claimed_at < lease
    return claimed_at is not None and utcnow() - claimed_at < lease


def _lease(owner: str, now: datetime) -> str:
    return json.dumps({"owner": owner, "heartbeat": now.isoformat(), "pid_ns": _pid_namespace()})


def _pid_namespace() -> str:
    """This process's pid namespace ("" where /proc does not say): a pid means a process only within it."""
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def _lease_held(holder: str, pid_ns: str, age: timedelta, stale_after: timedelta) -> bool:
    """Whether a lease ``holder`` took and renewed ``age`` ago still holds: on this machine and in this pid namespace
    while its process lives (a bot killed with SIGKILL leaves its lease to the next at once); elsewhere, in another
    container of the same host name too (its pid means nothing here), until its heartbeat goes stale."""
    here = _here(holder) if pid_ns == _pid_namespace() else ""
    if here:  # this machine's: its process says
        return here in ("it", "unsure")
    return age < stale_after


def alive_here(owner: str) -> bool:
    """Whether ``owner`` is a live process of this machine (the one that recorded it, not a later one given its pid):
    a command the operator can see, which reports its own outcome."""
    return _here(owner) in ("it", "unsure")


def _here(owner: str) -> str:
    """What this machine knows of the process ``owner`` names: "" (another machine's), "gone", "it" (alive, the one
    that recorded it), "pid reused" (alive, but a later process with its pid, as far as /proc tells), or "unsure"
    (alive, another user's: not ours to ask)."""
    host, _, rest = owner.partition(":")
    pid_text, _, start = rest.partition(":")
    if host != _host_name() or not (pid_text.isascii() and pid_text.isdigit()):  # int() refuses a "²"
        return ""
    if int(pid_text) == os.getpid():
        return "it" if start == _PROCESS_START else "gone"
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return "gone"
    except PermissionError:
        # Another user's process: not ours to signal, but /proc/PID/stat is world-readable, and a process that
        # started after the claim is not its sender (which would otherwise count as alive for as long as it runs).
        same = _same_process(int(pid_text), start)
        return "pid reused" if same is False else "unsure"
    return "it" if _same_process(int(pid_text), start) else "pid reused"


def _same_process(pid: int, recorded_start: str) -> bool | None:
    """Whether the live process ``pid`` is the one that recorded ``recorded_start`` (its start, as
    ``process_owner`` wrote it), not a later one given the same pid; None where /proc cannot say when
    it started (then the lease decides)."""
    try:
        recorded = float(recorded_start)
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rpartition(b")")[2].split()  # after the name: field 3 (state) onwards
        if fields[0] in (b"Z", b"X"):
            return False  # ended, not yet waited for: it sends nothing more
        ticks = int(fields[19])  # field 22: start, in ticks after boot
        with open("/proc/stat", "rb") as system:
            boot = next(int(line.split()[1]) for line in system if line.startswith(b"btime "))
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    started = boot + ticks / os.sysconf("SC_CLK_TCK")
    # The recorded start is taken as this module is imported, after the process started; boot time
    # is in whole seconds. A process that started later than that is another one with the same pid.
    return started <= recorded + 2


class Store(SubscriptionStore):
    """The store contract, in SQL both backends speak (``?`` placeholders, ISO times as text).

    A backend provides the primitives: ``select`` (rows as mappings), ``run``
    (returns the row count), ``run_many``, ``transaction`` (serialises writers;
    not re-entrant), ``schema_version``, ``migrate`` and ``close``; it may
    override ``run_atomic`` (one statement, its own transaction). Everything
    else, what the engine, the commands and the views call, is here, once.
    Every method raises ``StoreError`` when the store itself fails. Invites and
    subscriptions (``SubscriptionStore``) use the same primitives.
    """

    backend: ClassVar[str] = ""
    # Appended to a SELECT whose row must stay locked until commit. SQLite's
    # BEGIN IMMEDIATE already locks the whole file.
    lock_for_update: ClassVar[str] = ""
    lock_for_share: ClassVar[str] = ""  # the same, letting other readers lock it so too
    location: str = ""  # where the data lives, safe to print (no password)
    migrated_from: int | None = None  # the schema version found, when opening upgraded it
    titles_split: tuple[str, ...] = ()  # incidents whose titles that upgrade split (``_split_old_titles``)
    _batched: bool = False  # inside batch(): run_atomic joins its transaction
    reopenable: ClassVar[bool] = False  # whether reopened() can give another process its own connection
    one_machine: ClassVar[bool] = False  # whether only one machine writes it (the embedded file), not a team

    # -- primitives a backend provides ---------------------------------------

    def select(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        raise NotImplementedError

    def run(self, sql: str, args: Sequence[Any] = ()) -> int:
        raise NotImplementedError

    def run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        raise NotImplementedError

    def transaction(self) -> Any:
        raise NotImplementedError

    def schema_version(self) -> int:
        raise NotImplementedError

    def migrate(self) -> int:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def reopened(self) -> Store:
        """Another connection to this store, for a worker process (see ``reopenable``)."""
        raise NotImplementedError

    def lasting(self) -> Store:
        """This store where a secret drawn in it now is the one later commands read: itself, but for a
        ``ScratchStore``, whose file is made for it."""
        return self

    def holding_its_secret(self) -> Store:
        """Where the store's secret (``site_generation``) is read, and a secret drawn now kept for later commands:
        ``lasting()``, but for the copy a dry run reads of a state file it may not write (``store.read_only``)."""
        return self.lasting()

    def run_atomic(self, sql: str, args: Sequence[Any] = ()) -> int:
        """One write statement as its own transaction (or the open ``batch``'s); returns the row count."""
        if self._batched:
            return self.run(sql, args)
        with self.transaction():
            return self.run(sql, args)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """One transaction for several of the writes below (claims, results): each one's own
        transaction joins it, so they commit together, or none does. Not re-entrant."""
        with self.transaction():
            self._batched = True
            try:
                yield
            finally:
                self._batched = False

    def select_one(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        rows = self.select(sql, args)
        return rows[0] if rows else None

    # -- incidents and updates -------------------------------------------------

    def record_update(
        self,
        incident: Incident,
        update: Update,
        plan: Sequence[PlannedDelivery],
        *,
        new: bool,
        after: int | None = None,
    ) -> tuple[Incident, Update]:
        """Store an update (and a new incident) with its deliveries, in one transaction.

        The sequence number (and, for a new incident, a free id derived from
        ``incident.id``) is allocated inside the transaction. Returns what was stored.
        For an existing incident, ``incident`` must have been read at the stored
        version: otherwise ``ConflictError``, and nothing is stored. ``after``: the last update
        the plan was made after; another stored since (one that named a customer, say, whose
        channels this plan leaves out) is a ``ConflictError`` too, so the plan is made again.
        """
        with self.transaction():
            if new:
                incident = replace(
                    incident, id=self.insert_incident(incident_values(incident, update.created_at)), version=0
                )
            else:
                row = self.select_one(f"SELECT * FROM incidents WHERE id = ?{self.lock_for_update}", (incident.id,))
                if row is None:
                    raise InputError(f"no incident {incident.id!r}; see `broadcaster list`.")
                # ``after``: the latest update in force the plan read (``updates``), not one kept as history.
                if after is not None and self._latest_in_force(incident.id) != after:
                    raise ConflictError(f"another update of {incident.id} was stored while this one was planned; "
                                        "nothing was stored or sent.")
                if self._gone_out_since_planned(plan):
                    raise ConflictError(f"an update of {incident.id} this one was planned to ride with went out "
                                        "while it was planned; nothing was stored or sent.")
                incident = self._update_incident(row, incident, update.created_at)
            update = replace(update, incident_id=incident.id, sequence=self.next_sequence(incident.id))
            self._write_update(update)
            now = iso(utcnow())
            self.run_many(
                "INSERT INTO deliveries(incident_id, sequence, destination, target, visibility, state,"
                " last_error, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
                [
                    (incident.id, update.sequence, p.destination, p.target, stored_visibility(p.visibility), p.state,
                     p.reason or None, now, now)
                    for p in plan
                ],
            )
        return incident, update

    def _gone_out_since_planned(self, plan: Sequence[PlannedDelivery]) -> bool:
        """Whether a delivery a planned one is left to (``PlannedDelivery.carried_by``) was claimed or sent since the
        plan read it unsent: another command (a `retry`) took it meanwhile and rendered it without this update, so
        this one must be planned again. Read in the storing transaction: a claim is a write, so it comes before or
        after it whole."""
        carriers = sorted({p.carried_by for p in plan if p.carried_by is not None})
        if not carriers:
            return False
        unsent = sorted(CLAIMABLE)
        row = self.select_one(
            f"SELECT COUNT(*) AS n FROM deliveries WHERE id IN ({','.join('?' * len(carriers))})"
            f" AND state IN ({','.join('?' * len(unsent))}) AND parts = '[]'",
            (*carriers, *unsent),
        )
        return row is None or int(row["n"]) != len(carriers)

    def insert_incident(self, values: Mapping[str, Any]) -> str:
        """Insert an incident under ``values["id"]``, or the first free ``id-2``, ``id-3``...; returns it.

        ``ON CONFLICT DO NOTHING`` rather than a look-up first: in PostgreSQL a
        concurrent insert of the same id waits for the other transaction, so
        two machines creating ``api`` at once get ``api`` and ``api-2``.
        Call inside a transaction.
        """
        wanted, n = values["id"], 1
        columns = ", ".join(INCIDENT_COLUMNS)
        marks = ",".join("?" * len(INCIDENT_COLUMNS))
        while True:
            candidate = numbered_id(wanted, n)
            row = [candidate if c == "id" else values[c] for c in INCIDENT_COLUMNS]
            if self.run(f"INSERT INTO incidents({columns}) VALUES ({marks}) ON CONFLICT (id) DO NOTHING", row):
                return candidate
            n += 1

    def free_incident_id(self, wanted: str) -> str:
        """The id ``insert_incident`` would give an incident wanting ``wanted`` now (what a preview shows)."""
        n = 1
        while self.incident(numbered_id(wanted, n)) is not None:
            n += 1
        return numbered_id(wanted, n)

    def _latest_in_force(self, incident_id: str) -> int:
        return max((u.sequence for u in self.updates(incident_id)), default=0)

    def next_sequence(self, incident_id: str) -> int:
        """The next update number of an incident whose row this transaction has locked."""
        row = self.select_one(
            "SELECT COALESCE(MAX(sequence), 0) + 1 AS next FROM updates WHERE incident_id = ?", (incident_id,)
        )
        assert row is not None
        return int(row["next"])

    def _update_incident(self, row: Row, incident: Incident, at: datetime) -> Incident:
        """Write what ``incident`` changed since it was read, if nobody changed it in between (compare-and-set).

        Only the columns that differ from the stored row are written: a copy read
        at the current version differs exactly where its caller changed it. The
        version moves when a column does, so a decision taken on an older copy
        (start this window, remind of it) is refused once someone changed it.
        """
        stored = incident_from(row)
        if stored.version != incident.version:
            raise ConflictError(
                f"{incident.id} was changed by another command while this one was preparing its update; "
                "nothing was stored or sent."
            )
        wanted, current = incident_values(incident, at), incident_values(stored, at)
        changed = [c for c in MUTABLE_INCIDENT_COLUMNS if wanted[c] != current[c]]
        assignments = "".join(f"{c}=?, " for c in changed) + ("version = version + 1, " if changed else "")
        count = self.run(
            f"UPDATE incidents SET {assignments}updated_at = CASE WHEN updated_at < ? THEN ? ELSE updated_at END"
            " WHERE id=? AND version=?",
            [*(wanted[c] for c in changed), iso(at), iso(at), incident.id, incident.version],
        )
        if count != 1:  # cannot happen under the row lock; kept so a stale write can never land
            raise ConflictError(f"{incident.id} changed while it was being written; nothing was stored or sent.")
        return replace(incident, version=incident.version + (1 if changed else 0))

    def _write_update(self, update: Update) -> None:
        self.run(
            f"INSERT INTO updates({', '.join(UPDATE_COLUMNS)}) VALUES ({','.join('?' * len(UPDATE_COLUMNS))})",
            update_values(update),
        )

    def _incident_row(self, incident_id: str) -> Row | None:
        return self.select_one("SELECT * FROM incidents WHERE id = ?", (incident_id,))

    def incident(self, incident_id: str) -> Incident | None:
        row = self._incident_row(incident_id)
        return incident_from(row) if row else None

    def incident_ids(self) -> list[str]:
        return [r["id"] for r in self.select("SELECT id FROM incidents ORDER BY updated_at DESC")]

    def updates(self, incident_id: str) -> list[Update]:
        """The incident's updates in force: without the older versions ``store import`` kept as history
        (``model.in_force``), which no command may take for the latest."""
        return in_force(self.history(incident_id))

    def history(self, incident_id: str) -> list[Update]:
        """Every update of the incident, those ``store import`` kept as history among them (``show``)."""
        rows = self.select("SELECT * FROM updates WHERE incident_id = ? ORDER BY sequence", (incident_id,))
        return [update_from(r) for r in rows]

    def update(self, incident_id: str, sequence: int) -> Update | None:
        row = self.select_one(
            "SELECT * FROM updates WHERE incident_id = ? AND sequence = ?", (incident_id, sequence)
        )
        return update_from(row) if row else None

    def last_correction_after(self, incident_id: str, sequence: int) -> int:
        """The sequence of the latest correction stored after update ``sequence`` (0: none): what tells a
        command that a rendering it made of that update may be out of date (``amend`` ran beside it)."""
        row = self.select_one(
            "SELECT COALESCE(MAX(sequence), 0) AS latest FROM updates WHERE incident_id = ? AND sequence > ?"
            " AND kind = 'correction'", (incident_id, sequence))
        return int(row["latest"]) if row else 0

    def opened_since(self, since: datetime) -> list[Incident]:
        """The open incidents created at ``since`` or later, newest first (what a new post may be repeating)."""
        rows = self.select(
            "SELECT * FROM incidents WHERE created_at >= ? AND status NOT IN ('resolved','completed')"
            " AND withdrawn_at IS NULL ORDER BY created_at DESC", (iso(since),))
        return [incident_from(r) for r in rows]

    def list_incidents(self, *, limit: int = 50) -> list[Incident]:
        """Open incidents first (newest first), then the most recently updated closed or withdrawn ones (a
        withdrawn incident is not open: listed above a running one, it reads as running, and ``.[0].id`` picks it)."""
        rows = self.select(
            "SELECT * FROM incidents ORDER BY (status IN ('resolved','completed') OR withdrawn_at IS NOT NULL),"
            " updated_at DESC LIMIT ?",
            (limit,),
        )
        return [incident_from(r) for r in rows]

    def site_incidents(self, since: datetime) -> list[tuple[Incident, list[Update]]]:
        """What the page shows: open incidents and those updated since ``since``, with updates."""
        rows = self.select(
            "SELECT * FROM incidents WHERE withdrawn_at IS NULL"
            " AND (status NOT IN ('resolved','completed') OR updated_at >= ?) ORDER BY created_at DESC",
            (iso(since),),
        )
        updates = self._update_rows_of([r["id"] for r in rows])
        return [(incident_from(r), in_force(update_from(u) for u in updates[r["id"]])) for r in rows]

    def closed_incidents(self, limit: int, hidden: Collection[str] = frozenset()) -> list[tuple[Incident, list[Update]]]:
        """The ``limit`` most recent closed incidents and the ``limit`` most recent closed maintenance
        windows, with updates: what Statuspage's ``incidents.json`` may list beyond the page's history
        (``closed_incident_ids``, then ``closed_incidents_of`` those)."""
        ids = self.closed_incident_ids(limit, hidden)
        found = self.closed_incidents_of(ids)
        return [found[i] for i in ids if i in found]

    def closed_incident_ids(self, limit: int, hidden: Collection[str] = frozenset()) -> list[str]:
        """The ids of the ``limit`` most recent closed incidents, then of the ``limit`` most recent closed
        maintenance windows. ``hidden``: incidents left out (kept from the public), read past rather than counted,
        so that each kind still has ``limit``: 49 listed would tell that one was kept.

        Most recent by start (a window's scheduled start, else when it was opened), then id, as the
        site orders them (``site.status.start_order``): two scans of the incidents table for the ids alone.
        Sorting the ids alone, not whole rows, is what makes it cheap: at 10,000 incidents 6-8 ms where sorting
        the rows took 28 ms (the benchmarks' store).
        """
        ids: list[str] = []
        for kind in ("kind = 'maintenance'", "kind <> 'maintenance'"):
            kept: list[str] = []
            for offset in itertools.count(0, limit + len(hidden)):
                page = [str(r["id"]) for r in self.select(
                    f"SELECT id FROM incidents WHERE {_CLOSED} AND {kind} ORDER BY {_START} DESC, id DESC LIMIT ? OFFSET ?",
                    (limit + len(hidden), offset),
                )]
                kept += [i for i in page if i not in hidden][: limit - len(kept)]
                if len(kept) >= limit or len(page) < limit + len(hidden):
                    break
            ids += kept
        return ids

    def closed_incidents_of(self, ids: Sequence[str]) -> dict[str, tuple[Incident, list[Update]]]:
        """These incidents (from ``closed_incident_ids``) with their updates, by id: those still closed. Read with
        the same condition as the ids: one reopened or withdrawn since they were read is left out."""
        rows = {str(r["id"]): r for r in self.select(
            f"SELECT * FROM incidents WHERE id IN ({','.join('?' * len(ids))}) AND {_CLOSED}", list(ids))} if ids else {}
        updates = self._update_rows_of(list(rows))
        return {i: (incident_from(row), in_force(update_from(u) for u in updates[i])) for i, row in rows.items()}

    def named_before(self, component_ids: Sequence[str], before: datetime) -> set[str]:
        """The components that an update the public was shown, stored before ``before``, names.

        Where a component's public uptime history starts: a component named before the window the page draws
        has known every day of it. One probe per component (a scan that stops at its first match); only
        components without ``since`` and not named earlier in the window are asked about. What the public was
        not shown does not count (an update kept to staff or to a customer: every public delivery of it skipped,
        as ``kept_off``; a notice; a withdrawn incident's), nor an incident's row, whose components a later
        update kept from the public may have changed: it would tell readers that something was said, and when.
        """
        found = set()
        for component_id in component_ids:
            # components is stored as [["id", "status"], ...] (JSON text in SQLite, jsonb in PostgreSQL).
            pattern = '%["' + _like_literal(component_id) + '", %'
            public = "d.incident_id = u.incident_id AND d.sequence = u.sequence AND d.visibility = ?"
            hit = self.select_one(
                "SELECT 1 AS hit FROM updates u WHERE u.created_at < ? AND CAST(u.components AS TEXT) LIKE ? ESCAPE '!'"
                " AND u.kind <> 'notice'"
                " AND NOT EXISTS (SELECT 1 FROM incidents i WHERE i.id = u.incident_id AND i.withdrawn_at IS NOT NULL)"
                f" AND (EXISTS (SELECT 1 FROM deliveries d WHERE {public} AND d.state <> ?)"
                f" OR NOT EXISTS (SELECT 1 FROM deliveries d WHERE {public})) LIMIT 1",
                (iso(before), pattern, str(PUBLIC), DeliveryState.SKIPPED, str(PUBLIC)),
            )
            if hit is not None:
                found.add(component_id)
        return found

    def incident_versions(self) -> dict[str, str]:
        """Every incident's id and a version of its record: ``<last sequence>-<updated_at>``.

        The version changes whenever the incident or its updates are written: every
        update written moves ``updated_at`` (and with it anything else of the
        incident's row), one imported out of order moves the last sequence. Its
        number only grows, so a page built from an older record can tell it is
        older. A site folder compares these with the versions its pages were built
        from; at 10,000 incidents this costs one index lookup each (~40 ms). A withdrawn
        incident has no page: it is left out, so its page is removed and hosts delete it.
        """
        rows = self.select(
            "SELECT i.id, i.updated_at,"
            " (SELECT MAX(sequence) FROM updates u WHERE u.incident_id = i.id) AS last_sequence FROM incidents i"
            " WHERE i.withdrawn_at IS NULL"
        )
        return {row["id"]: f"{row['last_sequence'] or 0}-{row['updated_at']}" for row in rows}

    def kept_off(self, incident_ids: Sequence[str]) -> set[tuple[str, int]]:
        """The updates (incident id, sequence) of these incidents kept from the public: every public delivery of
        theirs skipped (``--only tg-ops``; not ``--skip site`` alone, which went to public channels and leaves the
        page as it is meanwhile). An update with no delivery recorded (imported, stored before) is not kept off."""
        if not incident_ids:
            return set()
        rows = self.select(
            f"SELECT incident_id, sequence FROM deliveries WHERE visibility = ?"
            f" AND incident_id IN ({','.join('?' * len(incident_ids))}) GROUP BY incident_id, sequence"
            " HAVING SUM(CASE WHEN state = ? THEN 0 ELSE 1 END) = 0",
            [str(PUBLIC), *incident_ids, DeliveryState.SKIPPED],
        )
        return {(row["incident_id"], int(row["sequence"])) for row in rows}

    def left_out_by_operator(self, incident_id: str, readers: Visibility, *, at: str | None = None) -> set[int]:
        """The sequences of the incident's updates the operator kept from these readers (``--only``, ``--skip``):
        every one of their places skipped by that choice, or, for a customer with no channel of its update, the
        page (its private page) so skipped. ``at``: one destination alone (``--only``/``--skip`` name destinations,
        never a chat), for what is sent there: the same for each of its chats, which share one rendering.
        A correction so kept is not theirs: what is sent to them later never builds on it; one any of their
        places was given is (another place of theirs then being told the same)."""
        rows = self.select(
            "SELECT sequence, destination, visibility, state, last_error FROM deliveries WHERE incident_id = ?",
            [incident_id])
        theirs: dict[int, list[bool]] = {}  # sequence -> for each of their places, whether the operator left it out
        page_left_out = set()
        for row in rows:
            sequence = int(row["sequence"])
            by_choice = row["state"] == DeliveryState.SKIPPED and row["last_error"] in LEFT_OUT_BY_OPERATOR
            if at is not None:
                if row["destination"] == at:
                    theirs.setdefault(sequence, []).append(by_choice)
            elif row["visibility"] == str(readers):
                theirs.setdefault(sequence, []).append(by_choice)
            elif row["destination"] == SITE_DESTINATION and by_choice:
                page_left_out.add(sequence)
        left_out = {sequence for sequence, choices in theirs.items() if all(choices)}
        if at is None and readers.level == Level.AUDIENCE:
            left_out |= page_left_out - theirs.keys()
        return left_out

    def kept_from(self, incident_id: str, readers: Visibility) -> set[int]:
        """The sequences of the incident's updates these readers were never told: kept from the public
        (``kept_off``) and, for one customer's readers, sent to none of that customer's channels either. Staff
        are told everything. What a follow-up's number and "status changed" mark are counted among."""
        if readers.level == Level.INTERNAL:
            return set()
        kept = {sequence for _, sequence in self.kept_off([incident_id])}
        if kept and readers.level == Level.AUDIENCE:
            kept -= {int(row["sequence"]) for row in self.select(
                "SELECT DISTINCT sequence FROM deliveries WHERE incident_id = ? AND visibility = ? AND state != ?",
                [incident_id, str(readers), DeliveryState.SKIPPED])}
        return kept

    def incidents_kept_off(self) -> set[str]:
        """The incidents kept from the public: public deliveries recorded, every one of them skipped."""
        # Two narrow reads, not a scan of every delivery on every post: the few skipped ones (the state's index),
        # then whether those incidents have any other (the thread index, by incident).
        skipped = {row["incident_id"] for row in self.select(
            "SELECT DISTINCT incident_id FROM deliveries WHERE state = ? AND visibility = ?",
            [DeliveryState.SKIPPED, str(PUBLIC)])}
        shown: set[str] = set()
        candidates = sorted(skipped)
        for start in range(0, len(candidates), 500):
            chunk = candidates[start:start + 500]
            shown |= {row["incident_id"] for row in self.select(
                f"SELECT DISTINCT incident_id FROM deliveries WHERE incident_id IN ({','.join('?' * len(chunk))})"
                " AND visibility = ? AND state != ?", [*chunk, str(PUBLIC), DeliveryState.SKIPPED])}
        return skipped - shown

    def site_generation(self) -> tuple[str, int]:
        """Which store this is and how far it has got: a number that grows with every update stored (the newest
        delivery record). Machines that publish one site from one store compare these, so a site built from a later
        state is never replaced. The first is a secret made on first use: hosts publish only its digest, and seal
        the rest with it (``site/hosts/_sealed.py``). Not the ``store_id`` versions before 2026-12-05 made, which
        they published in the clear: a seal keyed by it would open for whoever kept a copy."""
        row = self.select_one("SELECT value FROM meta WHERE key = 'site_key'")
        if row is None:
            with self.transaction():
                self.run("INSERT INTO meta(key, value) VALUES ('site_key', ?) ON CONFLICT (key) DO NOTHING",
                         (secrets.token_hex(32),))
            row = self.select_one("SELECT value FROM meta WHERE key = 'site_key'")
        latest = self.select_one("SELECT COALESCE(MAX(id), 0) AS n FROM deliveries")
        assert row is not None and latest is not None
        return str(row["value"]), int(latest["n"])

    def remembered_room(self, key: str) -> str | None:
        """The chat a channel name was found to be (``slack:C0123``), as ``remember_room`` kept it."""
        row = self.select_one("SELECT value FROM meta WHERE key = ?", ("room:" + key,))
        return str(row["value"]) if row is not None else None

    def remember_room(self, key: str, room: str) -> None:
        """Keep what a service said a channel name is, so each name costs one lookup (kept in ``meta``:
        a cache any store can rebuild, so it needs no migration and no place in an export)."""
        with self.transaction():
            self.run("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                     ("room:" + key, room))

    def published_generation(self, place: str) -> int:
        """How far this store had got when a publish of it last reached ``place`` (0: none known here)."""
        row = self.select_one("SELECT value FROM meta WHERE key = ?", ("published:" + place,))
        value = str(row["value"]) if row is not None else ""
        return int(value) if value.isascii() and value.isdigit() else 0  # int() refuses a "²"

    def note_published(self, place: str, generation: int) -> None:
        """Remember that a build of ``generation`` reached ``place``: an older build must not land after it, even
        where the place itself records nothing (a build that changed no file writes nothing there, since what it
        would write tells readers something happened). Kept in ``meta``, as the rooms are."""
        with self.transaction():
            if generation > self.published_generation(place):
                self.run("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                         ("published:" + place, str(generation)))

    def feed_token_reader(self, digest: str) -> str | None:
        """The customer a page path served (``site/tokens.py``), found by the path's keyed digest."""
        row = self.select_one("SELECT value FROM meta WHERE key = ?", ("feed_token:" + digest,))
        return str(row["value"]) if row is not None else None

    def note_feed_token_reader(self, digest: str, audience: str) -> None:
        """Remember the first customer a page path served; a later one never replaces it (kept in ``meta``)."""
        with self.transaction():
            self.run("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                     ("feed_token:" + digest, audience))

    def note_left_out_of_notices(self, left_out: Mapping[str, str]) -> None:
        """Remember the destinations (name -> why) a post left out (``--skip``/``--only``) whose SLA notices it could
        not raise (another account's notices lock): the command that raises them later leaves them out there too
        (``notices.waiting_where_left_out``). Kept in ``meta``: the word of a command, for the next one that raises."""
        with self.transaction():
            merged = {**self._left_out_of_notices(), **left_out}
            self.run("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                     (_LEFT_OUT_OF_NOTICES, json.dumps(merged, sort_keys=True)))

    def take_left_out_of_notices(self) -> dict[str, str]:
        """What ``note_left_out_of_notices`` kept, forgotten as it is read: by a command that raised the notices due."""
        with self.transaction():
            left_out = self._left_out_of_notices()
            if left_out:
                self.run("DELETE FROM meta WHERE key = ?", (_LEFT_OUT_OF_NOTICES,))
        return left_out

    def _left_out_of_notices(self) -> dict[str, str]:
        row = self.select_one(f"SELECT value FROM meta WHERE key = ?{self.lock_for_update}", (_LEFT_OUT_OF_NOTICES,))
        try:
            found = json.loads(row["value"]) if row is not None else {}
        except ValueError:
            return {}
        return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}

    def claim_bot(self, owner: str, now: datetime, stale_after: timedelta) -> str | None:
        """Take the lease of the one ``bot run`` answering this store's chats for ``owner``; None when taken, else who
        holds it: a process alive on this machine, or one elsewhere whose heartbeat is younger than ``stale_after``.
        Two bots of one token end each other's polls (Telegram answers 409), and a polling one deletes a webhook
        bot's webhook, which then answers nothing, unaware: the second is refused before it asks Telegram anything."""
        with self.transaction():
            self.run("INSERT INTO meta(key, value) VALUES ('bot_lease', '') ON CONFLICT (key) DO NOTHING")
            held = self._bot_lease()
            holder, beat = str(held.get("owner", "")), utc(held.get("heartbeat"))
            if (holder and holder != owner and beat is not None
                    and _lease_held(holder, str(held.get("pid_ns", "")), now - beat, stale_after)):
                return f"{holder}, last seen {beat:%Y-%m-%d %H:%M:%S} UTC"
            self.run("UPDATE meta SET value = ? WHERE key = 'bot_lease'", (_lease(owner, now),))
        return None

    def beat_bot(self, owner: str, now: datetime) -> bool:
        """Renew ``owner``'s lease (``claim_bot``); False when another bot holds it now."""
        with self.transaction():
            if self._bot_lease().get("owner") != owner:
                return False
            self.run("UPDATE meta SET value = ? WHERE key = 'bot_lease'", (_lease(owner, now),))
        return True

    def release_bot(self, owner: str) -> None:
        """Give up ``owner``'s lease, so the next ``bot run`` starts at once."""
        with self.transaction():
            if self._bot_lease().get("owner") == owner:
                self.run("UPDATE meta SET value = '' WHERE key = 'bot_lease'")

    def _bot_lease(self) -> dict[str, Any]:
        """The bot's lease as stored, its row locked for the transaction ({} when none is held)."""
        row = self.select_one(f"SELECT value FROM meta WHERE key = 'bot_lease'{self.lock_for_update}")
        return dict(json.loads(row["value"])) if row is not None and row["value"] else {}

    def audience_names(self) -> dict[str, str]:
        """Audience id -> the (folded) name of the customer its stored detail was written for (``customer_ids.py``)."""
        rows = self.select("SELECT key, value FROM meta WHERE key LIKE ?", ("audience_name:%",))
        return {str(row["key"]).removeprefix("audience_name:"): str(row["value"]) for row in rows}

    def holds_audience(self, audience: str) -> bool:
        """Whether anything stored is this audience id's: an update naming it (``--customer``), its detail (``--for``,
        a ``[for ID]`` span), a delivery to its channels, or a chat or invite of its. Read only when an id's customer
        changed name (``customer_ids.py``): a scan of the updates, fail-closed (an id holding "_" may match more).
        Imported records count too: they are rows like any other."""
        # Any mention of the id in a text counts: a ``[for ID]`` span may be written with spaces or in any case
        # (``[ For  acme ]``), and an id that is a word refuses more renames, never fewer. The JSON columns are read
        # as text (PostgreSQL keeps them as jsonb).
        quoted, mention, visibility = f'%"{audience}"%', f"%{audience.lower()}%", f"audience:{audience}"
        for sql, args in (
            ("SELECT 1 AS found FROM updates WHERE CAST(audiences AS TEXT) LIKE ? OR CAST(audience_detail AS TEXT) LIKE ?"
             " OR LOWER(raw_message) LIKE ? OR CAST(extra AS TEXT) LIKE ?", (quoted, quoted, mention, quoted)),
            ("SELECT 1 AS found FROM deliveries WHERE visibility = ?", (visibility,)),
            ("SELECT 1 AS found FROM subscriptions WHERE visibility = ?", (visibility,)),
            ("SELECT 1 AS found FROM invites WHERE visibility = ?", (visibility,)),
        ):
            if self.select_one(sql + " LIMIT 1", args) is not None:
                return True
        return False

    def note_audience_names(self, names: Mapping[str, str]) -> None:
        """Remember the customer each of these ids serves, or now serves when it was renamed (kept in ``meta``)."""
        with self.transaction():
            for audience, name in names.items():
                self.run("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                         ("audience_name:" + audience, name))

    def _update_rows_of(self, ids: Sequence[str], chunk: int = 500) -> dict[str, list[Row]]:
        """Update rows by incident id, a few queries for many incidents rather than one each."""
        found: dict[str, list[Row]] = {i: [] for i in ids}
        for start in range(0, len(ids), chunk):
            part = list(ids[start : start + chunk])
            for row in self.select(
                f"SELECT * FROM updates WHERE incident_id IN ({','.join('?' * len(part))}) ORDER BY incident_id, sequence",
                part,
            ):
                found[row["incident_id"]].append(row)
        return found

    def all_incidents(self, batch: int = 500) -> Iterator[tuple[Incident, list[Update]]]:
        """Every incident with its updates, streamed in batches (for a full site build)."""
        for rows, updates in self.incident_batches(batch):
            for row in rows:
                yield incident_from(row), in_force(update_from(u) for u in updates[row["id"]])

    def incidents_of(self, ids: Sequence[str]) -> Iterator[tuple[Incident, list[Update]]]:
        """These incidents (those the store has) with their updates, in id order: a few queries for many."""
        if not ids:
            return
        rows = self.select(f"SELECT * FROM incidents WHERE id IN ({','.join('?' * len(ids))}) ORDER BY id", list(ids))
        updates = self._update_rows_of([r["id"] for r in rows], chunk=max(len(rows), 1))
        for row in rows:
            yield incident_from(row), in_force(update_from(u) for u in updates[row["id"]])

    def incident_batches(self, batch: int = 500) -> Iterator[tuple[list[Row], dict[str, list[Row]]]]:
        """Incident rows in id order, ``batch`` at a time, with their update rows by incident id."""
        last = ""
        while True:
            rows = self.select("SELECT * FROM incidents WHERE id > ? ORDER BY id LIMIT ?", (last, batch))
            if not rows:
                return
            yield rows, self._update_rows_of([r["id"] for r in rows], chunk=batch)
            last = rows[-1]["id"]

    # -- deliveries --------------------------------------------------------------

    def deliveries(
        self, *, incident_id: str | None = None, sequence: int | None = None, states: Sequence[str] = ()
    ) -> list[Delivery]:
        sql, args = "SELECT * FROM deliveries WHERE 1=1", list[Any]()
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
        return [delivery_from(r) for r in self.select(sql, args)]

    def delivery(self, delivery_id: int) -> Delivery:
        row = self.select_one("SELECT * FROM deliveries WHERE id = ?", (delivery_id,))
        if row is None:
            raise StoreError(f"delivery {delivery_id} vanished from the store")
        return delivery_from(row)

    def claim(self, delivery_id: int, owner: str, *, include_unknown: bool = False, sending: bool = True,
              held_for: timedelta = timedelta(0)) -> bool:
        """Atomically take a delivery for sending; False if it is sent or someone else has it.

        One conditional UPDATE: in PostgreSQL a second claimer blocks on the row
        lock, then re-checks ``state`` against the committed row and matches nothing.
        ``sending``: never a delivery of an update a withdrawal followed; in the same UPDATE, so a command
        racing ``withdraw`` sends nothing once the withdrawal is stored (``False``: the operator settling one).
        ``held_for``: how long the claimer may hold it before its request leaves (a paced broadcast queues chats
        for minutes): ``claimed_at`` is put that far ahead, so another machine, which trusts a claim for a lease
        from ``claimed_at`` (``owner_is_alive``), does not reap a live, queued one as abandoned.
        """
        states = CLAIMABLE | {DeliveryState.UNKNOWN} if include_unknown else CLAIMABLE
        now = iso(utcnow())
        trusted_from = iso(utcnow() + held_for)
        withdrawn = (" AND NOT EXISTS (SELECT 1 FROM updates u WHERE u.incident_id = deliveries.incident_id"
                     " AND u.kind = 'withdrawal' AND u.sequence > deliveries.sequence)") if sending else ""

        def take() -> int:
            if sending and self.lock_for_share:
                # The check above sees only what was committed when the UPDATE began. Holding the incident's row
                # until this claim commits (with its batch), a withdrawal being stored (``record_update`` holds the
                # row) is waited for and seen, and one stored after waits for this claim and finds it `sending`.
                self.select(f"SELECT 1 AS held FROM incidents WHERE id = (SELECT incident_id FROM deliveries"
                            f" WHERE id = ?){self.lock_for_share}", (delivery_id,))
            return self.run(
                f"UPDATE deliveries SET state=?, claimed_by=?, claimed_at=?, updated_at=?"
                f" WHERE id=? AND state IN ({','.join('?' * len(states))}){withdrawn}",
                (DeliveryState.SENDING, owner, trusted_from, now, delivery_id, *sorted(states)),
            )

        if self._batched:
            return take() == 1
        with self.transaction():
            return take() == 1

    def note_attempt(self, delivery_id: int) -> None:
        self.run_atomic("UPDATE deliveries SET attempts = attempts + 1, updated_at=? WHERE id=?", (iso(utcnow()), delivery_id))

    def mark_sent(
        self, delivery_id: int, remote_id: str, thread_ref: str | None, note: str | None = None, *,
        origin: str = WRITTEN, starts_thread: bool = False,
    ) -> None:
        """``thread_ref``: the thread's first post the caller knows. A post that starts its thread (``starts_thread``,
        or kept so since the channel decided it: ``mark_starts_thread``) is recorded as its own thread's instead."""
        now = iso(utcnow())
        self.run_atomic(
            # Its rendering was kept only to finish it: a sent post in parts is never sent again.
            "UPDATE deliveries SET state=?, remote_id=?, thread_ref=CASE WHEN starts_thread OR ? THEN ? ELSE ? END,"
            " starts_thread=(starts_thread OR ?), last_error=?, claimed_by=NULL, sent_at=?, updated_at=?,"
            " remote_origin=?, rendering=NULL WHERE id=?",
            (DeliveryState.SENT, remote_id, starts_thread, remote_id, thread_ref, starts_thread, note, now, now, origin,
             delivery_id),
        )

    def mark_starts_thread(self, delivery_id: int) -> None:
        """The channel posts this delivery as its thread's first (``SendLog.starting_thread``), before the request
        leaves: kept, so that it is recorded its own thread's however it is recorded sent."""
        self.run_atomic("UPDATE deliveries SET starts_thread=?, updated_at=? WHERE id=?",
                        (True, iso(utcnow()), delivery_id))

    def add_part(self, delivery_id: int, parts: Sequence[str], rendering: Rendered | None = None) -> None:
        """Record the remote ids of the messages of a delivery confirmed so far (a post in parts), with the
        rendering they were cut from (``rendering``; None keeps the one stored): the rest goes from it."""
        stored = json.dumps(rendering.stored(), ensure_ascii=False) if rendering is not None else None
        self.run_atomic(
            "UPDATE deliveries SET parts=?, rendering=COALESCE(?, rendering), updated_at=? WHERE id=?",
            (json.dumps(list(parts)), stored, iso(utcnow()), delivery_id),
        )

    def mark_unknown(self, delivery_id: int, error: str) -> None:
        """The request may have reached the service: never resent without a human (``retry --include-unknown``)."""
        self.mark_failed(delivery_id, error, state=DeliveryState.UNKNOWN)

    def mark_skipped(self, delivery_id: int, reason: str) -> None:
        self.mark_failed(delivery_id, reason, state=DeliveryState.SKIPPED)

    def skip_open_deliveries(self, incident_id: str, before: int, reason: str) -> list[Delivery]:
        """Mark every delivery of updates before ``before`` not yet done (pending, failed, unknown) as
        skipped with ``reason``: a withdrawn incident's old updates must never go out later. Returns them
        as they were, so the caller can say which posts were in doubt."""
        states = (DeliveryState.PENDING, DeliveryState.FAILED, DeliveryState.UNKNOWN)
        found = [d for d in self.deliveries(incident_id=incident_id, states=states) if d.sequence < before]
        for delivery in found:
            self.run_atomic(
                f"UPDATE deliveries SET state=?, last_error=?, claimed_by=NULL, updated_at=?"
                f" WHERE id=? AND state IN ({','.join('?' * len(states))})",
                (DeliveryState.SKIPPED, reason, iso(utcnow()), delivery.id, *states),
            )
        return found

    def lock(self, name: str, *, wait: bool = True) -> Any:
        """A context manager holding the store-wide lock ``name``; it yields False when
        ``wait`` is off and another process holds it. Held across machines in team mode."""
        raise NotImplementedError

    def lock_refused(self, name: str) -> str | None:
        """What ``lock(name)`` would be refused for (the lock and whose it is), asked without taking or making it: a
        dry run's. None where it may be taken, or it is no file (team mode's locks are the database's)."""
        return None

    def mark_failed(self, delivery_id: int, error: str, *, state: DeliveryState = DeliveryState.FAILED) -> None:
        self.run_atomic(
            "UPDATE deliveries SET state=?, last_error=?, claimed_by=NULL, updated_at=? WHERE id=?",
            (state, error, iso(utcnow()), delivery_id),
        )

    def release(self, delivery_id: int, error: str) -> None:
        """Give back a claimed delivery untried (``pending`` again), keeping the reason."""
        self.mark_failed(delivery_id, error, state=DeliveryState.PENDING)

    def give_back(self, delivery_id: int, owner: str, state: DeliveryState, error: str | None) -> bool:
        """Give back a claim ``owner`` may have taken and sent nothing of, in ``state``; False if it holds none
        (the claim never committed, or matched nothing)."""
        return self.run_atomic(
            "UPDATE deliveries SET state=?, last_error=?, claimed_by=NULL, updated_at=?"
            " WHERE id=? AND state=? AND claimed_by=?",
            (state, error, iso(utcnow()), delivery_id, DeliveryState.SENDING, owner),
        ) == 1

    def reap_abandoned(self, lease: timedelta) -> list[Delivery]:
        """Mark ``sending`` rows whose process is gone as ``unknown``; return them."""
        reaped = []
        for delivery in self.deliveries(states=(DeliveryState.SENDING,)):
            if delivery.claimed_by and owner_is_alive(delivery.claimed_by, delivery.claimed_at, lease):
                continue
            count = self.run_atomic(
                "UPDATE deliveries SET state=?, claimed_by=NULL, updated_at=?, last_error=?"
                " WHERE id=? AND state=? AND COALESCE(claimed_by, '') = ?",
                (DeliveryState.UNKNOWN, iso(utcnow()), _ABANDONED, delivery.id, DeliveryState.SENDING,
                 delivery.claimed_by or ""),
            )
            if count == 1:
                reaped.append(self.delivery(delivery.id))
        return reaped

    def thread_history(self, incident_id: str, destination: str, target: str, before: int) -> list[Delivery]:
        """Earlier deliveries of this incident to one destination and target, oldest first."""
        rows = self.select(
            "SELECT * FROM deliveries WHERE incident_id=? AND destination=? AND target=? AND sequence < ?"
            " ORDER BY sequence",
            (incident_id, destination, target, before),
        )
        return [delivery_from(r) for r in rows]


def numbered_id(wanted: str, n: int) -> str:
    """An incident's id, the ``n``-th to want ``wanted``: ``api``, ``api-2``, ``api-3``..."""
    return wanted if n == 1 else f"{wanted}-{n}"


def apply_migrations(store: Store, migrations: Mapping[int, str]) -> int:
    """Run the migrations after the store's version, inside the caller's transaction; returns the old version."""
    current = store.schema_version()
    if current < 0:  # the backends refuse one that is not a whole number; kept so no migration runs off the table
        raise StoreError(f"{store.location} is damaged: its schema_version is {current}. Restore it from a backup.")
    if current > SCHEMA_VERSION:
        raise NewerStoreError(
            f"{store.location} was written by a newer broadcaster (schema {current}); upgrade broadcaster. "
            "Nothing was stored or sent."
        )
    for version in range(current + 1, SCHEMA_VERSION + 1):
        for statement in migrations[version].split(";"):
            if statement.strip():
                store.run(statement)
        _keep_old_texts_meaning(store, version)
    store.run(
        "INSERT INTO meta(key, value) VALUES('schema_version', ?) "
        "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
        (str(SCHEMA_VERSION),),
    )
    return current


def _keep_old_texts_meaning(store: Store, version: int) -> None:
    """The stored texts whose meaning migration ``version`` changes, rewritten to keep the meaning they were written
    with (the same on both backends). Run only by that migration, so only on texts written before it."""
    if version == 2:  # raw_title: a title typed with [private] spans was stored whole, and read as all public
        store.titles_split = _split_old_titles(store)
    elif version == 4:  # [for ID] markers: "[for ...]" was prose before
        _old_for_runs_as_prose(store)


_BRACKETED = "%[%"  # a parameter: the backends' placeholders leave no literal % in the SQL


def _split_old_titles(store: Store) -> tuple[str, ...]:
    """Each title stored as typed split as ``compose`` splits one today (the public title, ``raw_title`` as typed):
    left whole, "Checkout [private]ACME[/private] down" was the public title, markers and all, on every follow-up.
    Returns the ids of the incidents split: an id was made from the whole title then, so it may hold the span."""
    split = []
    for row in store.select("SELECT id, title FROM incidents WHERE raw_title = '' AND title LIKE ?", (_BRACKETED,)):
        title, raw_title = title_split_as_today(row["title"])
        if (title, raw_title) != (row["title"], ""):
            store.run("UPDATE incidents SET title = ?, raw_title = ? WHERE id = ?", (title, raw_title, row["id"]))
            split.append(row["id"])
    return tuple(split)


def _old_for_runs_as_prose(store: Store) -> None:
    """Each "[for ...]" run of a text written before audiences in round brackets (``records.as_prose``)."""
    for row in store.select("SELECT id, title, raw_title FROM incidents WHERE title LIKE ? OR raw_title LIKE ?",
                            (_BRACKETED, _BRACKETED)):
        title, raw_title = as_prose(row["title"]), as_prose(row["raw_title"])
        if (title, raw_title) != (row["title"], row["raw_title"]):
            store.run("UPDATE incidents SET title = ?, raw_title = ? WHERE id = ?", (title, raw_title, row["id"]))
    # The texts of an update the gate reads markers in (a private note and an author refuse one). Customers and
    # tickets are JSON on PostgreSQL, out of LIKE's reach; names of them holding "[for" are left as they are.
    texts = ("raw_message", "private_note", "author")
    where = " OR ".join(f"{column} LIKE ?" for column in texts)
    for row in store.select(f"SELECT incident_id, sequence, {', '.join(texts)} FROM updates WHERE {where}",
                            (_BRACKETED,) * len(texts)):
        changed = {column: as_prose(row[column]) for column in texts if row[column] and as_prose(row[column]) != row[column]}
        if changed:
            store.run(f"UPDATE updates SET {', '.join(f'{c} = ?' for c in changed)} WHERE incident_id = ? AND sequence = ?",
                      (*changed.values(), row["incident_id"], row["sequence"]))


def _like_literal(text: str) -> str:
    """``text`` matched literally by LIKE ... ESCAPE '!'."""
    return text.replace("!", "!!").replace("%", "!%").replace("_", "!_")
