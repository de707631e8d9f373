"""The team store: the same contract as the embedded file, in a shared PostgreSQL database.

Selected by ``[store] url = "postgresql://user@host/dbname"``. The password
comes from ``${VAR}`` inside the URL, or libpq's own ``PGPASSWORD`` /
``~/.pgpass``; it is never printed (``location`` names host, port and database
only, and every message is scrubbed of it).

Concurrency across machines rests on PostgreSQL's row locks, in READ COMMITTED:
the incident row is locked (``FOR UPDATE``) while its next sequence number is
allocated, an id taken by a concurrent insert waits and moves on to ``id-2``,
and a claim is one conditional UPDATE that only one transaction can win.

An unreachable server is a ``StoreError`` within ``connect_timeout`` (5 s
unless the URL says otherwise) naming host and port and how to post anyway:
``--store fallback.db`` for one command, ``broadcaster store import`` later.

psycopg is imported here only, so SQLite users never load it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from broadcaster import lazy_re
from broadcaster.errors import ConfigError, StoreError
from broadcaster.store.contract import SCHEMA_VERSION, Store, apply_migrations
from broadcaster.store.records import Row

CONNECT_TIMEOUT = 5  # seconds: an operator mid-outage must not wait long to learn the database is down
LOCK_TIMEOUT = "30s"  # as long as SQLite's busy timeout: writers hold their locks for milliseconds
MIGRATION_LOCK = 0x62726F61  # pg_advisory_xact_lock key: two first runs must not both create the tables
_ENV_REF = lazy_re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

FALLBACK_HINT = (
    "To post while it is down, point this one command at a local file: "
    "`broadcaster --store fallback.db post ...`; when the database is back, move it over with "
    "`broadcaster --store fallback.db store export fallback.jsonl` and `broadcaster store import fallback.jsonl`, "
    "then `broadcaster retry` and `broadcaster site publish` (the page from the whole team store again)."
)

_MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE incidents (
        id TEXT COLLATE "C" PRIMARY KEY,
        title TEXT NOT NULL,
        impact TEXT NOT NULL,
        status TEXT NOT NULL,
        kind TEXT NOT NULL DEFAULT 'incident',
        components JSONB NOT NULL DEFAULT '[]',
        created_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL,
        resolved_at TIMESTAMPTZ,
        scheduled_start TIMESTAMPTZ,
        scheduled_end TIMESTAMPTZ
    );
    CREATE INDEX incidents_updated_at ON incidents(updated_at);
    CREATE INDEX incidents_status ON incidents(status);
    CREATE TABLE updates (
        incident_id TEXT COLLATE "C" NOT NULL REFERENCES incidents(id),
        sequence INTEGER NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        status TEXT NOT NULL,
        raw_message TEXT NOT NULL,
        components JSONB NOT NULL DEFAULT '[]',
        private_note TEXT NOT NULL DEFAULT '',
        customers JSONB NOT NULL DEFAULT '[]',
        tickets JSONB NOT NULL DEFAULT '[]',
        etr TIMESTAMPTZ,
        next_update_by TIMESTAMPTZ,
        author TEXT NOT NULL DEFAULT '',
        kind TEXT NOT NULL DEFAULT 'update',
        extra JSONB NOT NULL DEFAULT '{}',
        PRIMARY KEY (incident_id, sequence)
    );
    CREATE TABLE deliveries (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        incident_id TEXT COLLATE "C" NOT NULL,
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
        claimed_at TIMESTAMPTZ,
        created_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL,
        sent_at TIMESTAMPTZ,
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
    ALTER TABLE deliveries ADD COLUMN parts JSONB NOT NULL DEFAULT '[]';
    ALTER TABLE incidents ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
    """,
    # Audiences: the ids --customer named and the --for detail of each update. Old free-text
    # customers stay in ``customers``, read as internal detail; "private" deliveries are "internal".
    4: """
    ALTER TABLE updates ADD COLUMN audiences JSONB NOT NULL DEFAULT '[]';
    ALTER TABLE updates ADD COLUMN audience_detail JSONB NOT NULL DEFAULT '[]';
    UPDATE deliveries SET visibility = 'internal' WHERE visibility = 'private';
    """,
    # Issue 16: `broadcaster withdraw` marks an incident withdrawn (who and why: its withdrawal update).
    5: """
    ALTER TABLE incidents ADD COLUMN withdrawn_at TIMESTAMPTZ;
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
        hash TEXT COLLATE "C" PRIMARY KEY,
        visibility TEXT NOT NULL,
        components JSONB NOT NULL DEFAULT '[]',
        created_at TIMESTAMPTZ NOT NULL,
        expires_at TIMESTAMPTZ,
        max_uses INTEGER,
        uses INTEGER NOT NULL DEFAULT 0,
        revoked_at TIMESTAMPTZ
    );
    CREATE TABLE subscriptions (
        chat_id TEXT COLLATE "C" PRIMARY KEY,
        kind TEXT NOT NULL,
        visibility TEXT NOT NULL,
        components JSONB NOT NULL DEFAULT '[]',
        active INTEGER NOT NULL DEFAULT 1,
        joined_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL,
        invite TEXT,
        inactive_reason TEXT
    );
    CREATE INDEX subscriptions_visibility ON subscriptions(visibility, active);
    """,
    # A post in parts half sent keeps the rendering its confirmed parts were cut from: the rest goes from it in
    # every later run, never from the incident as it stands then (resumed by counting parts).
    8: """
    ALTER TABLE deliveries ADD COLUMN rendering JSONB;
    """,
    # A post that goes out as its thread's first (the first one was deleted) is kept so from the moment the channel
    # decides it: recorded sent any way (a resume, a cut at the deadline, --mark-unknown-sent), it is the thread's.
    9: """
    ALTER TABLE deliveries ADD COLUMN starts_thread BOOLEAN NOT NULL DEFAULT FALSE;
    """,
}


def expand_env(url: str, environ: dict[str, str] | None = None) -> str:
    """``${VAR}`` anywhere in the URL (usually the password) replaced from the environment."""
    env = os.environ if environ is None else environ

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise ConfigError(
                f"[store] url uses ${{{name}}}, which is not set. Export it (export {name}=...) "
                "and run the command again."
            )
        from urllib.parse import quote

        return quote(env[name], safe="")

    return _ENV_REF.sub(value, url)


def describe(params: dict[str, Any]) -> str:
    """host:port/dbname as libpq will resolve them, without user or password."""
    host = params.get("host") or params.get("hostaddr") or os.environ.get("PGHOST") or "localhost"
    port = params.get("port") or os.environ.get("PGPORT") or "5432"
    dbname = params.get("dbname") or os.environ.get("PGDATABASE") or params.get("user") or os.environ.get("PGUSER") or ""
    return f"{host}:{port}/{dbname}"


class PostgresStore(Store):
    """The shared store. One connection per command, in autocommit; writes in explicit transactions."""

    backend = "postgresql"
    lock_for_update = " FOR UPDATE"
    lock_for_share = " FOR SHARE"

    def __init__(self, url: str, *, upgrade: bool = False) -> None:
        import psycopg
        from psycopg.conninfo import conninfo_to_dict

        expanded = expand_env(url)
        try:
            params: dict[str, Any] = conninfo_to_dict(expanded)
        except psycopg.ProgrammingError:  # its text may hold the URL, so it is not shown
            raise ConfigError(
                "the store URL ([store] url or --store) is not a valid PostgreSQL URL; write "
                "postgresql://user@host:5432/dbname (the password through ${VAR}, PGPASSWORD or ~/.pgpass)."
            ) from None  # not even under --debug
        self.location = f"the team database at {describe(params)}"
        self._secrets = [s for s in (params.get("password"), os.environ.get("PGPASSWORD")) if s]
        self.conn = self._connect(params)
        try:
            self._check_schema(upgrade)
        except BaseException:
            self.conn.close()
            raise

    def _connect(self, params: dict[str, Any]) -> Any:
        import psycopg
        from psycopg.rows import dict_row

        params.setdefault("connect_timeout", CONNECT_TIMEOUT)
        params.setdefault("application_name", "broadcaster")
        # Notice a dead server mid-command rather than waiting on the socket forever.
        for key, value in (("keepalives", 1), ("keepalives_idle", 10), ("keepalives_interval", 5), ("keepalives_count", 3)):
            params.setdefault(key, value)
        try:
            conn = psycopg.connect(autocommit=True, row_factory=dict_row, prepare_threshold=None, **params)
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot reach {self.location}: {self._reason(exc)} Check [store] url, the network and "
                f"that the server is up. {FALLBACK_HINT}"
            ) from None
        with self._errors():
            conn.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
            conn.execute("SET TIME ZONE 'UTC'")
        return conn

    def _reason(self, exc: BaseException) -> str:
        """The driver's message as one sentence, scrubbed of the password."""
        from broadcaster.redaction import redact

        text = redact(" ".join(str(exc).split()) or type(exc).__name__, self._secrets)
        return text if text.endswith((".", "?", "!")) else text + "."

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Driver failures of the connection (lost, timed out, locked) as StoreError."""
        import psycopg

        try:
            yield
        except psycopg.OperationalError as exc:
            failed = f"{self.location} failed: {self._reason(exc)}"
            raise StoreError(
                f"{failed} Whatever was stored before is safe; check `broadcaster show` and run the command again. "
                f"{FALLBACK_HINT}", reason=failed.rstrip("."),
            ) from None

    def close(self) -> None:
        self.conn.close()

    def select(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        with self._errors():
            rows: list[Row] = self.conn.execute(_placeholders(sql), args).fetchall()
            return rows

    def run(self, sql: str, args: Sequence[Any] = ()) -> int:
        with self._errors():
            count: int = self.conn.execute(_placeholders(sql), args).rowcount
            return count

    def run_atomic(self, sql: str, args: Sequence[Any] = ()) -> int:
        # In autocommit one statement is its own transaction: one round trip, not three
        # (BEGIN, statement, COMMIT), which a team database across a network notices.
        return self.run(sql, args)

    def run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        with self._errors(), self.conn.cursor() as cursor:
            cursor.executemany(_placeholders(sql), rows)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._errors(), self.conn.transaction():
            yield

    @contextmanager
    def lock(self, name: str, *, wait: bool = True) -> Iterator[bool]:
        """A session advisory lock: held across machines, and released by PostgreSQL if this
        process dies, so a crashed ``tick`` never leaves the lock behind."""
        key = _lock_key(name)
        if wait:
            self.run("SELECT pg_advisory_lock(?)", (key,))
        elif not self.select_one("SELECT pg_try_advisory_lock(?) AS got", (key,))["got"]:  # type: ignore[index]
            yield False
            return
        try:
            yield True
        finally:
            self.run("SELECT pg_advisory_unlock(?)", (key,))

    # -- schema ------------------------------------------------------------------

    def schema_version(self) -> int:
        if self.select_one("SELECT to_regclass('meta') AS name")["name"] is None:  # type: ignore[index]
            return 0
        row = self.select_one("SELECT value FROM meta WHERE key='schema_version'")
        if row is None:
            return 0
        value = str(row["value"]).strip()
        if not value.isdecimal():  # "7x", "-1": damaged, and read as a number it failed as an unexpected error
            raise StoreError(
                f"{self.location} is damaged: its meta table's schema_version is {value[:20]!r}, not a whole number. "
                "Restore the database from a backup, or set it back to the schema it was written with "
                "(`broadcaster store migrate` tells the schema this version needs)."
            )
        return int(value)

    def migrate(self) -> int:
        """Bring the schema up to date, once even when several machines try at the same moment."""
        with self.transaction():
            self.run(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            self.run("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            self.migrated_from = apply_migrations(self, _MIGRATIONS)
        return SCHEMA_VERSION

    def _check_schema(self, upgrade: bool) -> None:
        current = self.schema_version()
        if current == SCHEMA_VERSION:
            return
        if current == 0 or upgrade or current > SCHEMA_VERSION:
            self.migrate()  # refuses a newer schema with a clear message
            return
        raise StoreError(
            f"{self.location} has schema {current}; this broadcaster needs {SCHEMA_VERSION}. "
            "Run `broadcaster store migrate` once (every team member then needs this version of broadcaster)."
        )


def _lock_key(name: str) -> int:
    """A stable 63-bit advisory lock key for a lock name, in broadcaster's own range."""
    import hashlib

    digest = hashlib.sha256(f"broadcaster:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def _placeholders(sql: str) -> str:
    """The portable ``?`` placeholders as psycopg's ``%s`` (our SQL has no literal ``?`` or ``%``)."""
    return sql.replace("?", "%s")
