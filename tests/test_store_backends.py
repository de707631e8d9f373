"""The store contract, run against both backends: the embedded SQLite file and a real PostgreSQL.

Every test here takes ``opener`` (a function opening a new connection to one
fresh store) and runs once per backend. PostgreSQL is a real server started by
``tests/pg.py``; if it cannot be started these tests fail with the reason.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from broadcaster.messages.model import AffectedComponent, ComponentStatus, Impact, Incident, Status, Update

from broadcaster.delivery import DeliveryState
from broadcaster.errors import ConfigError, InputError, StoreError
from broadcaster.store import SCHEMA_VERSION, PlannedDelivery, Store, open_store, process_owner
from tests.pg import PgServer, pg_server_fixture, pg_url_fixture  # noqa: F401 - pytest fixtures

NOW = datetime(2026, 11, 25, 15, 0, 0, 123456, tzinfo=UTC)
SITE = PlannedDelivery("site", "", "public")
Opener = Callable[[], Store]


@pytest.fixture(params=["sqlite", "postgresql"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    location: Path | str = tmp_path / "state.db"
    if request.param == "postgresql":
        location = request.getfixturevalue("pg_url")
    opened: list[Store] = []

    def open_one() -> Store:
        store = open_store(location)
        if threading.current_thread() is threading.main_thread():
            opened.append(store)  # a thread closes its own (SQLite connections are per thread)
        return store

    yield open_one
    for store in opened:
        store.close()


def incident(incident_id: str = "api", **changes: object) -> Incident:
    values: dict[str, object] = {
        "id": incident_id, "title": "API errors", "impact": Impact.MINOR, "status": Status.INVESTIGATING, "created_at": NOW,
    }
    values.update(changes)
    return Incident(**values)  # type: ignore[arg-type]


def update(incident_id: str = "api", message: str = "Investigating.", **changes: object) -> Update:
    values: dict[str, object] = {
        "incident_id": incident_id, "sequence": 0, "created_at": NOW, "status": Status.INVESTIGATING, "raw_message": message,
    }
    values.update(changes)
    return Update(**values)  # type: ignore[arg-type]


def record(store: Store, incident_id: str = "api", message: str = "Investigating.", *, new: bool = True,
           plan: list[PlannedDelivery] | None = None) -> tuple[Incident, Update]:
    """Store an update; for an existing incident, written over the version stored, as a command reads first."""
    written, stored = incident(incident_id), store.incident(incident_id)
    if not new and stored is not None:
        written = replace(written, version=stored.version)
    return store.record_update(written, update(incident_id, message), plan or [SITE], new=new)


# -- incidents and updates ---------------------------------------------------------


def test_every_field_comes_back_as_stored(opener: Opener) -> None:
    store = opener()
    api = (AffectedComponent("api", ComponentStatus.PARTIAL_OUTAGE),)
    later = NOW + timedelta(hours=2)
    stored_incident, stored_update = store.record_update(
        incident(components=api, kind="maintenance", scheduled_start=NOW, scheduled_end=later),
        update(
            message="Errors [private]on fra-2[/private] — ünïcode ✓", components=api, private_note="router fra-2",
            customers=("Acme", "Initech"), tickets=("OPS-1",), etr=later, next_update_by=NOW + timedelta(minutes=30),
            author="oncall", kind="update", extra={"corrects": "1", "lang": "de"},
        ),
        [SITE, PlannedDelivery("ops", "C1", "private")],
        new=True,
    )
    assert store.incident("api") == stored_incident
    (read,) = store.updates("api")
    assert read == stored_update and read.sequence == 1
    assert read.extra == {"corrects": "1", "lang": "de"}  # extra is not part of equality
    assert read.created_at.tzinfo is not None and read.created_at.utcoffset() == timedelta(0)
    assert store.update("api", 1) == read and store.update("api", 2) is None


def test_update_and_deliveries_are_stored_together(opener: Opener) -> None:
    store = opener()
    plan = [SITE, PlannedDelivery("tg", "1", "private"), PlannedDelivery("tg", "2", "private", DeliveryState.SKIPPED, "--skip")]
    stored, _ = record(store, plan=plan)
    rows = store.deliveries(incident_id=stored.id)
    assert [(d.destination, d.target, d.state, d.last_error) for d in rows] == [
        ("site", "", "pending", None), ("tg", "1", "pending", None), ("tg", "2", "skipped", "--skip"),
    ]


def test_a_failed_write_stores_nothing(opener: Opener) -> None:
    store = opener()
    with pytest.raises(Exception, match="(?i)unique"):
        record(store, plan=[SITE, SITE])  # the same destination twice breaks a constraint mid-transaction
    assert store.incident_ids() == [] and store.deliveries() == []
    assert record(store)[1].sequence == 1  # and the store is usable afterwards


def test_new_incident_ids_never_collide(opener: Opener) -> None:
    store = opener()
    assert [record(store)[0].id for _ in range(3)] == ["api", "api-2", "api-3"]


def test_sequences_count_per_incident(opener: Opener) -> None:
    store = opener()
    record(store, "api")
    record(store, "db")
    assert [record(store, "api", f"u{n}", new=False)[1].sequence for n in range(3)] == [2, 3, 4]
    assert record(store, "db", new=False)[1].sequence == 2
    assert [u.raw_message for u in store.updates("api")] == ["Investigating.", "u0", "u1", "u2"]


def test_an_update_to_an_unknown_incident_stores_nothing(opener: Opener) -> None:
    store = opener()
    with pytest.raises(InputError, match="no incident 'nope'"):
        record(store, "nope", new=False)
    assert store.incident_ids() == [] and store.deliveries() == []


def test_listing_puts_open_incidents_first(opener: Opener) -> None:
    store = opener()
    old = incident("old", status=Status.RESOLVED, created_at=NOW - timedelta(days=1))
    store.record_update(old, update("old", created_at=NOW + timedelta(hours=5)), [SITE], new=True)
    store.record_update(incident("open"), update("open"), [SITE], new=True)
    assert [i.id for i in store.list_incidents()] == ["open", "old"]
    assert store.incident_ids() == ["old", "open"]  # most recently updated first
    shown = store.site_incidents(NOW + timedelta(hours=6))
    assert [i.id for i, _ in shown] == ["open"]  # the closed one is older than `since`
    assert [i.id for i, _ in store.site_incidents(NOW)] == ["open", "old"]  # newest first


def test_opened_since_lists_the_open_incidents_created_since(opener: Opener) -> None:
    """What a new post may be repeating (``operations.repeats``): open, not withdrawn, created since."""
    store = opener()
    store.record_update(incident("older", created_at=NOW - timedelta(hours=2)),
                        update("older", created_at=NOW - timedelta(hours=2)), [SITE], new=True)
    store.record_update(incident("closed", status=Status.RESOLVED, created_at=NOW), update("closed"), [SITE], new=True)
    store.record_update(incident("recent", created_at=NOW - timedelta(minutes=5)),
                        update("recent", created_at=NOW - timedelta(minutes=5)), [SITE], new=True)
    store.record_update(incident("newest"), update("newest"), [SITE], new=True)
    assert [i.id for i in store.opened_since(NOW - timedelta(hours=1))] == ["newest", "recent"]


def test_named_before_finds_components_named_by_earlier_records_only(opener: Opener) -> None:
    # Where a component's uptime history starts (issue 17): LIKE's wildcards in an id match only themselves.
    store = opener()
    hit = (AffectedComponent("a_b", ComponentStatus.PARTIAL_OUTAGE),)
    early = incident("early", created_at=NOW - timedelta(days=100), components=hit)
    store.record_update(early, update("early", created_at=NOW - timedelta(days=100), components=hit), [SITE], new=True)
    later = (AffectedComponent("db", ComponentStatus.MAJOR_OUTAGE),)
    store.record_update(incident("late", components=later), update("late", components=later), [SITE], new=True)
    assert store.named_before(["a_b", "axb", "a%", "db", "web"], NOW - timedelta(days=1)) == {"a_b"}
    assert store.named_before(["db"], NOW + timedelta(seconds=1)) == {"db"}


def test_all_incidents_streams_every_incident_with_updates(opener: Opener) -> None:
    store = opener()
    for name in ("e", "a", "d", "b", "c"):
        record(store, name)
        record(store, name, "second", new=False)
    streamed = list(store.all_incidents(batch=2))
    assert [i.id for i, _ in streamed] == ["a", "b", "c", "d", "e"]
    assert all([u.sequence for u in updates] == [1, 2] for _, updates in streamed)


# -- deliveries -------------------------------------------------------------------


def test_deliveries_filter_by_incident_sequence_and_state(opener: Opener) -> None:
    store = opener()
    record(store, "api", plan=[SITE, PlannedDelivery("ops", "", "private")])
    record(store, "api", "two", new=False)
    first = store.deliveries(incident_id="api", sequence=1)
    assert [d.destination for d in first] == ["site", "ops"]
    store.mark_failed(first[1].id, "boom")
    assert [d.id for d in store.deliveries(states=("failed",))] == [first[1].id]
    assert [(d.sequence, d.state) for d in store.deliveries(incident_id="api", states=("pending",))] == [(1, "pending"), (2, "pending")]
    with pytest.raises(StoreError, match="vanished"):
        store.delivery(10_000)


def test_claim_is_exclusive_across_connections(opener: Opener) -> None:
    store, other = opener(), opener()
    record(store)
    delivery = store.deliveries()[0]
    assert store.claim(delivery.id, "a") is True
    assert other.claim(delivery.id, "b") is False
    claimed = other.delivery(delivery.id)
    assert (claimed.state, claimed.claimed_by) == ("sending", "a") and claimed.claimed_at is not None
    store.mark_sent(delivery.id, "remote-1", None)
    assert other.claim(delivery.id, "b") is False  # sent is never sent again


def in_threads(opener: Opener, count: int, work: Callable[[Store, int], object]) -> list[object]:
    """Run ``work`` in ``count`` threads at once, each on its own connection; returns the results."""
    barrier = threading.Barrier(count)
    results: list[object] = []

    def run(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            store = opener()  # a connection belongs to the thread that opened it (SQLite insists)
        except BaseException as exc:  # noqa: BLE001 - returned, so the test shows it
            results.append(exc)
            return
        try:
            results.append(work(store, n))
        except BaseException as exc:  # noqa: BLE001
            results.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    assert len(results) == count, "a thread did not finish in time"
    return results


def test_only_one_of_many_concurrent_claims_wins(opener: Opener) -> None:
    store = opener()
    record(store)
    delivery_id = store.deliveries()[0].id
    wins = in_threads(opener, 8, lambda s, n: s.claim(delivery_id, f"claimer-{n}"))
    assert sorted(wins) == [False] * 7 + [True]  # type: ignore[type-var]


def test_concurrent_updates_to_one_incident_get_distinct_sequences(opener: Opener) -> None:
    store = opener()
    record(store)
    results = in_threads(opener, 8, lambda s, n: record(s, "api", f"from {n}", new=False)[1].sequence)
    assert sorted(results) == list(range(2, 10))  # type: ignore[type-var]
    updates = store.updates("api")
    assert [u.sequence for u in updates] == list(range(1, 10))
    assert sorted(u.raw_message for u in updates[1:]) == sorted(f"from {n}" for n in range(8))
    assert len(store.deliveries(incident_id="api")) == 9


def test_many_opening_a_new_store_at_once_all_succeed(opener: Opener) -> None:
    """Several machines' first command against an empty store create the schema once."""
    versions = in_threads(opener, 8, lambda s, n: s.schema_version())
    assert versions == [SCHEMA_VERSION] * 8


def test_concurrent_new_incidents_with_one_name_get_distinct_ids(opener: Opener) -> None:
    ids = in_threads(opener, 6, lambda s, n: record(s, "api")[0].id)
    assert sorted(ids) == sorted(["api", *(f"api-{n}" for n in range(2, 7))])  # type: ignore[type-var]


def test_a_delivery_goes_through_its_states(opener: Opener) -> None:
    store = opener()
    record(store)
    delivery = store.deliveries()[0]
    assert store.claim(delivery.id, "me")
    store.note_attempt(delivery.id)
    store.note_attempt(delivery.id)
    store.release(delivery.id, "not yet: earlier update pending")
    released = store.delivery(delivery.id)
    assert (released.state, released.attempts, released.claimed_by, released.last_error) == (
        "pending", 2, None, "not yet: earlier update pending")
    assert store.claim(delivery.id, "me")
    store.mark_failed(delivery.id, "HTTP 500")
    assert store.delivery(delivery.id).state == "failed"
    assert store.claim(delivery.id, "me")  # failed is claimable again (retry)
    store.mark_sent(delivery.id, "C1:1.0001", "C1:1.0000", "card not refreshed")
    sent = store.delivery(delivery.id)
    assert (sent.state, sent.remote_id, sent.thread_ref, sent.last_error, sent.claimed_by) == (
        "sent", "C1:1.0001", "C1:1.0000", "card not refreshed", None)
    assert sent.sent_at is not None and sent.sent_at >= sent.created_at


def test_thread_history_is_earlier_deliveries_to_one_target(opener: Opener) -> None:
    store = opener()
    plan = [SITE, PlannedDelivery("tg", "1", "private"), PlannedDelivery("tg", "2", "private")]
    for n in range(4):
        record(store, "api", f"u{n}", new=n == 0, plan=plan)
    history = store.thread_history("api", "tg", "1", 4)
    assert [(h.sequence, h.target) for h in history] == [(1, "1"), (2, "1"), (3, "1")]
    assert store.thread_history("api", "tg", "1", 1) == []


def test_dead_owner_makes_a_delivery_unknown(opener: Opener) -> None:
    import socket

    store = opener()
    record(store)
    delivery = store.deliveries()[0]
    store.claim(delivery.id, f"{socket.gethostname()}:999999999:1.0")  # no such pid
    reaped = store.reap_abandoned(timedelta(minutes=5))
    assert [d.state for d in reaped] == ["unknown"]
    assert store.claim(delivery.id, process_owner()) is False
    assert store.claim(delivery.id, process_owner(), include_unknown=True) is True


def test_live_and_recent_remote_owners_are_left_alone(opener: Opener) -> None:
    store = opener()
    record(store, plan=[SITE, PlannedDelivery("ops", "", "private")])
    mine, remote = store.deliveries()
    store.claim(mine.id, process_owner())
    store.claim(remote.id, "another-laptop:4242:1.0")  # another machine: trusted for the lease
    assert store.reap_abandoned(timedelta(minutes=5)) == []
    assert [d.id for d in store.reap_abandoned(timedelta(0))] == [remote.id]


# -- schema --------------------------------------------------------------------------


def test_a_new_store_has_the_current_schema_and_reopens(opener: Opener) -> None:
    store = opener()
    assert store.schema_version() == SCHEMA_VERSION
    record(store)
    again = opener()
    assert again.schema_version() == SCHEMA_VERSION and again.migrated_from is None
    assert again.incident_ids() == ["api"]


def test_a_remembered_room_comes_back_and_is_replaced(opener: Opener) -> None:
    """What a service said a channel name is (see test_shared_rooms): kept per name, the newest answer wins."""
    store = opener()
    assert store.remembered_room("slack:abc:status") is None
    store.remember_room("slack:abc:status", "slack:C0OLD")
    store.remember_room("slack:abc:status", "slack:C0NEW")
    store.remember_room("telegram:def:@acmestatus", "telegram:-1001")
    other = opener()
    assert other.remembered_room("slack:abc:status") == "slack:C0NEW"
    assert other.remembered_room("telegram:def:@acmestatus") == "telegram:-1001"


def test_a_newer_schema_is_refused(opener: Opener) -> None:
    store = opener()
    with store.transaction():
        store.run("UPDATE meta SET value='99' WHERE key='schema_version'")
    with pytest.raises(StoreError, match="newer broadcaster"):
        opener()


# -- opening the right backend ----------------------------------------------------------


@pytest.mark.parametrize(
    "location, backend",
    [("state.db", "sqlite"), ("sqlite:///{tmp}/x.db", "sqlite")],
    ids=["path", "sqlite-url"],
)
def test_a_path_or_sqlite_url_opens_the_embedded_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, location: str, backend: str) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store(location.format(tmp=tmp_path))
    assert store.backend == backend
    store.close()


def test_an_unknown_scheme_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="mysql://"):
        open_store("mysql://u@h/db")


def test_pg_password_from_an_env_reference(pg_server: PgServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.pg import PASSWORD_ENV

    monkeypatch.setenv(PASSWORD_ENV, pg_server.password)
    store = open_store(pg_server.config_url("postgres"))
    assert store.backend == "postgresql" and pg_server.password not in store.location
    store.close()
    monkeypatch.delenv(PASSWORD_ENV)
    with pytest.raises(ConfigError, match=PASSWORD_ENV):
        open_store(pg_server.config_url("postgres"))


def test_pg_password_from_the_pg_environment(pg_server: PgServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGPASSWORD", pg_server.password)
    store = open_store(pg_server.url(password=False))
    assert store.schema_version() == SCHEMA_VERSION
    store.close()


def test_pg_wrong_password_is_reported_without_it(pg_server: PgServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PGPASSWORD", raising=False)
    wrong = "not-the-Password-123"
    with pytest.raises(StoreError) as caught:
        open_store(f"postgresql://postgres:{wrong}@127.0.0.1:{pg_server.port}/postgres")
    message = str(caught.value)
    assert f"127.0.0.1:{pg_server.port}/postgres" in message and "password authentication failed" in message
    assert wrong not in message and "--store" in message


def test_pg_lost_connection_is_a_store_error(pg_server: PgServer, pg_url: str) -> None:
    store = open_store(pg_url)
    pid = store.select_one("SELECT pg_backend_pid() AS pid")["pid"]  # type: ignore[index]
    pg_server.admin(f"SELECT pg_terminate_backend({pid})")
    with pytest.raises(StoreError, match=f"127.0.0.1:{pg_server.port}"):
        store.incident_ids()
    store.close()


def test_pg_json_and_times_are_native_types(pg_url: str) -> None:
    """The team database uses PostgreSQL's own types, so SQL reports can query it directly."""
    store = open_store(pg_url)
    record(store)
    row = store.select_one(
        "SELECT pg_typeof(created_at)::text AS t, pg_typeof(components)::text AS j, components AS c FROM updates"
    )
    assert row == {"t": "timestamp with time zone", "j": "jsonb", "c": []}
    assert json.loads(json.dumps(row["c"])) == []
    store.close()


# -- export and import between backends ----------------------------------------------------

PAIRS = [("sqlite", "postgresql"), ("postgresql", "sqlite"), ("postgresql", "postgresql")]


@pytest.fixture(params=PAIRS, ids=["sqlite-to-pg", "pg-to-sqlite", "pg-to-pg"])
def source_and_target(request: pytest.FixtureRequest, tmp_path: Path, pg_server: PgServer) -> Iterator[tuple[Store, Store]]:
    def open_kind(kind: str, name: str) -> tuple[Store, str | None]:
        if kind == "sqlite":
            return open_store(tmp_path / f"{name}.db"), None
        database = pg_server.create_database()
        return open_store(pg_server.url(database)), database

    (source, db1), (target, db2) = open_kind(request.param[0], "source"), open_kind(request.param[1], "target")
    yield source, target
    for store, database in ((source, db1), (target, db2)):
        store.close()
        if database:
            pg_server.drop_database(database)


def exported(store: Store) -> list[dict[str, Any]]:
    from broadcaster.store.transfer import export_lines

    header, *records = (json.loads(line) for line in export_lines(store))
    assert header["format"] == "broadcaster-store" and header["source"] == store.backend
    return records


def without_origin(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for record in records:
        for update in record["updates"]:
            for delivery in update["deliveries"]:
                delivery.pop("remote_origin")
    return records


def transfer(source: Store, target: Store) -> object:
    from broadcaster.store.transfer import export_lines, import_records, read_records

    return import_records(target, read_records(export_lines(source), "export"))


def fill(store: Store) -> None:
    """Two incidents with private detail, threads and every delivery state."""
    api = (AffectedComponent("api", ComponentStatus.MAJOR_OUTAGE),)
    store.record_update(
        incident("api", components=api),
        update("api", "Errors ✓ [private]on fra-2[/private]", private_note="BGP", customers=("Acme",), tickets=("OPS-9",),
               etr=NOW + timedelta(hours=1), extra={"k": "v"}),
        [SITE, PlannedDelivery("ops", "C1", "private"), PlannedDelivery("x", "", "public", DeliveryState.SKIPPED, "--skip")],
        new=True,
    )
    first = store.deliveries(incident_id="api", sequence=1)
    store.claim(first[1].id, "me")
    store.mark_sent(first[1].id, "C1:100.1", None)
    store.record_update(incident("api"), update("api", "Fixing.", created_at=NOW + timedelta(minutes=5)),
                        [SITE, PlannedDelivery("ops", "C1", "private")], new=False)
    second = store.deliveries(incident_id="api", sequence=2)
    store.claim(second[1].id, "me")
    store.mark_sent(second[1].id, "C1:100.2", "C1:100.1", "card not refreshed")
    store.mark_failed(second[0].id, "disk full")
    record(store, "db")


def test_export_then_import_gives_the_same_history(source_and_target: tuple[Store, Store]) -> None:
    source, target = source_and_target
    fill(source)
    result = transfer(source, target)
    assert (result.incidents_added, result.updates_added, result.deliveries_added) == (2, 3, 6)  # type: ignore[attr-defined]
    # Every delivery arrives marked as imported (withdraw never deletes a post another store wrote, issue 16's
    # review); apart from that, the history is the same.
    assert {d.remote_origin for d in target.deliveries()} == {"import"}
    assert without_origin(exported(target)) == without_origin(exported(source))
    assert target.updates("api") == source.updates("api")
    sent = target.deliveries(incident_id="api", states=("sent",))
    assert [(d.remote_id, d.thread_ref) for d in sent] == [("C1:100.1", None), ("C1:100.2", "C1:100.1")]
    # The next update to the imported incident threads under the imported posts.
    history = target.thread_history("api", "ops", "C1", record(target, "api", "Next.", new=False)[1].sequence)
    assert [h.remote_id for h in history] == ["C1:100.1", "C1:100.2"]


def test_importing_twice_changes_nothing(source_and_target: tuple[Store, Store]) -> None:
    source, target = source_and_target
    fill(source)
    transfer(source, target)
    before = exported(target)
    again = transfer(source, target)
    assert (again.incidents_added, again.incidents_merged, again.updates_added, again.updates_skipped,  # type: ignore[attr-defined]
            again.deliveries_added, again.deliveries_marked_sent) == (0, 2, 0, 3, 0, 0)  # type: ignore[attr-defined]
    assert exported(target) == before


def test_a_different_incident_under_a_taken_id_is_renamed(source_and_target: tuple[Store, Store]) -> None:
    source, target = source_and_target
    target.record_update(incident("api", created_at=NOW - timedelta(days=3)), update("api", "Old one."), [SITE], new=True)
    fill(source)
    result = transfer(source, target)
    assert result.renamed == [("api", "api-2")]  # type: ignore[attr-defined]
    assert [u.raw_message for u in target.updates("api")] == ["Old one."]
    assert [u.sequence for u in target.updates("api-2")] == [1, 2]
    assert len(target.deliveries(incident_id="api-2")) == 5


def test_updates_posted_on_both_sides_are_merged_in_order(source_and_target: tuple[Store, Store]) -> None:
    """A fallback seeded from the team store, both then posting to one incident."""
    source, target = source_and_target
    fill(target)
    transfer(target, source)  # the fallback starts as a copy
    both = [SITE, PlannedDelivery("ops", "C1", "private")]
    record(target, "api", "Team's third.", new=False, plan=both)
    record(source, "api", "Fallback's third.", new=False, plan=both)
    delivery = source.deliveries(incident_id="api", sequence=3)[1]
    source.claim(delivery.id, "me")
    source.mark_sent(delivery.id, "C1:100.9", "C1:100.1")
    result = transfer(source, target)
    assert (result.updates_added, result.updates_skipped) == (1, 3)  # type: ignore[attr-defined]
    assert [u.raw_message for u in target.updates("api")][2:] == ["Team's third.", "Fallback's third."]
    moved = target.deliveries(incident_id="api", sequence=4)
    assert [(d.destination, d.state, d.remote_id) for d in moved] == [("site", "pending", None), ("ops", "sent", "C1:100.9")]


def test_a_delivery_sent_elsewhere_is_recorded_sent_not_sent_again(source_and_target: tuple[Store, Store]) -> None:
    source, target = source_and_target
    record(target, "api", plan=[PlannedDelivery("ops", "C1", "private")])
    transfer(target, source)
    (delivery,) = source.deliveries()
    source.claim(delivery.id, "me")
    source.mark_sent(delivery.id, "C1:7.0", None)
    result = transfer(source, target)
    assert result.deliveries_marked_sent == 1  # type: ignore[attr-defined]
    (merged,) = target.deliveries()
    assert (merged.state, merged.remote_id) == ("sent", "C1:7.0")
    assert target.claim(merged.id, "retry") is False


def test_a_delivery_exported_mid_send_arrives_unknown(source_and_target: tuple[Store, Store]) -> None:
    source, target = source_and_target
    record(source)
    source.claim(source.deliveries()[0].id, "laptop:1:1.0")
    transfer(source, target)
    (moved,) = target.deliveries()
    assert (moved.state, moved.claimed_by) == ("unknown", None) and "may or may not" in (moved.last_error or "")


@pytest.mark.parametrize(
    "text, problem",
    [
        ("", "is empty"),
        ("not json\n", "line 1: not JSON"),
        ('{"format": "something-else"}\n', "does not start with"),
        ('{"format": "broadcaster-store", "version": 99, "schema": 1}\n', "newer broadcaster"),
        ('{"format": "broadcaster-store", "version": 1, "schema": 1}\n{"incident": 3}\n', "line 2: not an incident record"),
        ('{"format": "broadcaster-store", "version": 1, "schema": 1}\n{"incident": {"id": "x"}, "updates": []}\n', "incident 'x'"),
    ],
    ids=["empty", "not-json", "foreign", "newer", "not-a-record", "incomplete"],
)
def test_a_bad_export_file_is_refused_with_the_reason(opener: Opener, text: str, problem: str) -> None:
    from broadcaster.store.transfer import import_records, read_records

    store = opener()
    with pytest.raises(InputError, match=problem):
        import_records(store, read_records(text.splitlines(keepends=True), "f.jsonl"))
    assert store.incident_ids() == []


def test_confirmed_parts_are_kept_and_travel_in_an_export(source_and_target: tuple[Store, Store]) -> None:
    """A post cut after some parts: the parts confirmed stay with the delivery, here and after a move."""
    source, target = source_and_target
    record(source, "api", plan=[PlannedDelivery("ops", "-100123", "private")])
    (delivery,) = source.deliveries()
    source.claim(delivery.id, "me")
    source.add_part(delivery.id, ["-100123:1"])
    source.add_part(delivery.id, ["-100123:1", "-100123:2"])
    source.mark_failed(delivery.id, "cut after part 2")
    assert source.delivery(delivery.id).parts == ("-100123:1", "-100123:2")
    transfer(source, target)
    (moved,) = target.deliveries()
    assert (moved.state, moved.parts) == ("failed", ("-100123:1", "-100123:2"))


def test_an_export_from_schema_1_without_parts_imports(source_and_target: tuple[Store, Store]) -> None:
    from broadcaster.store.transfer import export_lines, import_records, read_records

    source, target = source_and_target
    record(source, "api", plan=[PlannedDelivery("ops", "C1", "private")])
    lines = list(export_lines(source))
    header, *records = (json.loads(line) for line in lines)
    header["schema"] = 1
    for record_ in records:
        for update_ in record_["updates"]:
            for delivery in update_["deliveries"]:
                delivery.pop("parts")
    old = [json.dumps(header), *(json.dumps(r) for r in records)]
    import_records(target, read_records(old, "old export"))
    (moved,) = target.deliveries()
    assert moved.parts == () and moved.state == "pending"


def test_a_team_database_of_schema_2_keeps_its_private_titles_when_upgraded(pg_server: PgServer) -> None:
    """Schema 2 as released (private titles, before parts and versions): store migrate brings it to the current one."""
    import psycopg

    from broadcaster.store.pg import _MIGRATIONS

    name = pg_server.create_database()
    try:
        with psycopg.connect(pg_server.url(name), autocommit=True) as conn:
            conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            for statement in _MIGRATIONS[1].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute("ALTER TABLE incidents ADD COLUMN raw_title TEXT NOT NULL DEFAULT ''")  # schema 2, as shipped
            conn.execute("INSERT INTO meta VALUES ('schema_version', '2')")
            conn.execute("INSERT INTO incidents(id, title, raw_title, impact, status, created_at, updated_at)"
                         " VALUES ('checkout', 'Checkout down', 'Checkout [private]ACMECORP[/private] down',"
                         " 'major', 'investigating', now(), now())")
            conn.execute("INSERT INTO updates(incident_id, sequence, created_at, status, raw_message)"
                         " VALUES ('checkout', 1, now(), 'investigating', 'Failing.')")
            conn.execute("INSERT INTO deliveries(incident_id, sequence, destination, visibility, state, remote_id,"
                         " created_at, updated_at) VALUES ('checkout', 1, 'ops', 'private', 'sent', 'C1:1.0', now(), now())")
        with pytest.raises(StoreError, match="broadcaster store migrate"):
            open_store(pg_server.url(name))
        store = open_store(pg_server.url(name), upgrade=True)
        assert (store.migrated_from, store.schema_version()) == (2, SCHEMA_VERSION)
        stored = store.incident("checkout")
        assert stored is not None and (stored.raw_title, stored.version) == ("Checkout [private]ACMECORP[/private] down", 0)
        assert [(d.state, d.remote_id, d.parts) for d in store.deliveries()] == [("sent", "C1:1.0", ())]
        moved, _ = store.record_update(replace(stored, status=Status.IDENTIFIED),
                                       update("checkout", "Found it.", status=Status.IDENTIFIED), [SITE], new=False)
        again = store.incident("checkout")
        assert again is not None and (again.status, again.raw_title, again.version) == (
            Status.IDENTIFIED, stored.raw_title, 1) and moved.version == 1
        store.close()
    finally:
        pg_server.drop_database(name)


def test_a_team_database_of_schema_1_is_upgraded_only_by_store_migrate(pg_server: PgServer) -> None:
    """Schemas 2 and 3 add raw_title, deliveries.parts and incidents.version; an older team database says what to run."""
    import psycopg

    from broadcaster.store.pg import _MIGRATIONS

    name = pg_server.create_database()
    try:
        with psycopg.connect(pg_server.url(name), autocommit=True) as conn:
            conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            for statement in _MIGRATIONS[1].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute("INSERT INTO meta VALUES ('schema_version', '1')")
        with pytest.raises(StoreError, match="broadcaster store migrate"):
            open_store(pg_server.url(name))
        store = open_store(pg_server.url(name), upgrade=True)
        assert store.schema_version() == SCHEMA_VERSION and store.migrated_from == 1
        record(store, "api", plan=[PlannedDelivery("ops", "C1", "private")])
        (delivery,) = store.deliveries()
        store.add_part(delivery.id, ["C1:1.0"])
        assert store.delivery(delivery.id).parts == ("C1:1.0",) and store.incident("api").version == 0  # type: ignore[union-attr]
        store.close()
    finally:
        pg_server.drop_database(name)


def test_a_team_database_of_schema_3_keeps_its_customers_as_internal_detail(pg_server: PgServer) -> None:
    """Schema 3 as released, with free-text customers and a "private" delivery: store migrate adds the audience
    columns, keeps the customers (internal detail now) and says internal where the delivery said private."""
    import psycopg

    from broadcaster.store.pg import _MIGRATIONS

    name = pg_server.create_database()
    try:
        with psycopg.connect(pg_server.url(name), autocommit=True) as conn:
            conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            for version in (1, 2, 3):
                for statement in _MIGRATIONS[version].split(";"):
                    if statement.strip():
                        conn.execute(statement)
            conn.execute("INSERT INTO meta VALUES ('schema_version', '3')")
            conn.execute("INSERT INTO incidents(id, title, impact, status, created_at, updated_at)"
                         " VALUES ('checkout', 'Checkout down', 'major', 'investigating', now(), now())")
            conn.execute("INSERT INTO updates(incident_id, sequence, created_at, status, raw_message, customers)"
                         " VALUES ('checkout', 1, now(), 'investigating', 'Failing.', '[\"Initech Payroll\"]')")
            conn.execute("INSERT INTO deliveries(incident_id, sequence, destination, visibility, state, created_at,"
                         " updated_at) VALUES ('checkout', 1, 'ops', 'private', 'sent', now(), now())")
        store = open_store(pg_server.url(name), upgrade=True)
        assert (store.migrated_from, store.schema_version()) == (3, SCHEMA_VERSION)
        (old,) = store.updates("checkout")
        assert (old.customers, old.audiences, old.audience_detail) == (("Initech Payroll",), (), ())
        assert [d.visibility for d in store.deliveries()] == ["internal"]
        stored = store.incident("checkout")
        assert stored is not None
        store.record_update(stored, replace(update("checkout", "Found it."), audiences=("acme",),
                                            audience_detail=(("acme", "ACM-7"),)), [SITE], new=False)
        (_, new) = store.updates("checkout")
        assert (new.audiences, new.audience_detail) == (("acme",), (("acme", "ACM-7"),))
        store.close()
    finally:
        pg_server.drop_database(name)


def test_closed_incidents_are_the_most_recent_of_each_kind_by_start(opener: Opener) -> None:
    # Statuspage's "50 most recent" beyond the page (issue 17): a window by its scheduled start, an
    # incident by when it opened; open and withdrawn ones are not asked for.
    store = opener()
    for n, days in enumerate((30, 10, 20)):
        start = NOW - timedelta(days=days)
        store.record_update(incident(f"inc-{n}", status=Status.RESOLVED, created_at=start),
                            update(f"inc-{n}", created_at=start), [SITE], new=True)
    for n, days in enumerate((5, 40)):  # planned long before: ordered by the window, not the post
        window = incident(f"win-{n}", kind="maintenance", status=Status.COMPLETED, created_at=NOW - timedelta(days=60),
                          scheduled_start=NOW - timedelta(days=days))
        store.record_update(window, update(f"win-{n}", created_at=NOW - timedelta(days=60)), [SITE], new=True)
    store.record_update(incident("open"), update("open"), [SITE], new=True)
    store.record_update(incident("gone", status=Status.RESOLVED), update("gone"), [SITE], new=True)
    with store.transaction():
        store.run("UPDATE incidents SET withdrawn_at = created_at WHERE id = 'gone'")
    assert [(i.id, len(u)) for i, u in store.closed_incidents(2)] == [("win-0", 1), ("win-1", 1), ("inc-1", 1), ("inc-2", 1)]
    assert [i.id for i, _ in store.closed_incidents(5)][2:] == ["inc-1", "inc-2", "inc-0"]


def test_an_incident_reopened_while_the_archive_is_read_is_not_listed_as_closed(tmp_path: Path) -> None:
    # The archive sorts the ids alone, then reads the rows of those it chose: one reopened in between (another
    # command's follow-up) must not be listed closed beside its open self on the page.
    store = open_store(tmp_path / "state.db")
    for n in range(3):
        start = NOW - timedelta(days=n + 1)
        store.record_update(incident(f"inc-{n}", status=Status.RESOLVED, created_at=start),
                            update(f"inc-{n}", created_at=start), [SITE], new=True)
    other = sqlite3.connect(tmp_path / "state.db", isolation_level=None)

    def reopen_before_the_rows_are_read(statement: str) -> None:
        if statement.startswith("SELECT * FROM incidents WHERE id IN"):
            other.execute("UPDATE incidents SET status = 'investigating' WHERE id = 'inc-1'")

    store.db.set_trace_callback(reopen_before_the_rows_are_read)  # type: ignore[attr-defined]
    try:
        assert [i.id for i, _ in store.closed_incidents(5)] == ["inc-0", "inc-2"]
    finally:
        store.db.set_trace_callback(None)  # type: ignore[attr-defined]
        other.close()
        store.close()


def test_an_update_left_to_ride_with_one_a_retry_took_meanwhile_is_not_stored(opener: Opener) -> None:
    """A correction skipped where its original has not gone out ("it goes with this correction's text") is stored
    only while that delivery is still unclaimed and nothing of it sent (``PlannedDelivery.carried_by``, review 63b):
    once another command took it, the correction is planned again, on PostgreSQL as on SQLite."""
    from broadcaster.errors import ConflictError

    store = opener()
    stored, _ = record(store, plan=[SITE, PlannedDelivery("tg", "1", "private")])
    original = next(d for d in store.deliveries(incident_id=stored.id) if d.destination == "tg")
    riding = [SITE, PlannedDelivery("tg", "1", "private", DeliveryState.SKIPPED, "goes with it", carried_by=original.id)]
    record(store, message="Corrected.", new=False, plan=riding)  # unclaimed: stored
    assert store.claim(original.id, "a retry")
    with pytest.raises(ConflictError, match="went out while it was planned"):
        record(store, message="Corrected again.", new=False, plan=riding)
    assert [u.raw_message for u in store.updates(stored.id)] == ["Investigating.", "Corrected."]
