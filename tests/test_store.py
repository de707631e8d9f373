"""The SQLite store: the outbox, concurrent writers, claims, and opening old state files."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from broadcaster.messages.model import Impact, Incident, Status, Update

from broadcaster.delivery import DeliveryState
from broadcaster.store import SCHEMA_VERSION, PlannedDelivery, SQLiteStore, process_owner
from tests.conftest import Project

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


def record(store: SQLiteStore, incident_id: str = "api", *, new: bool = True, plan: list[PlannedDelivery] | None = None) -> tuple[Incident, Update]:
    incident = Incident(incident_id, "API errors", Impact.MINOR, Status.INVESTIGATING, NOW)
    update = Update(incident_id, 0, NOW, Status.INVESTIGATING, "msg [private]secret[/private]", private_note="note")
    return store.record_update(incident, update, plan or [PlannedDelivery("site", "", "public")], new=new)


def test_update_and_deliveries_are_stored_together(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    incident, update = record(store, plan=[PlannedDelivery("site", "", "public"), PlannedDelivery("tg", "1", "private"), PlannedDelivery("tg", "2", "private", DeliveryState.SKIPPED, "--skip")])
    assert update.sequence == 1
    rows = store.deliveries(incident_id=incident.id)
    assert [(d.destination, d.target, d.state) for d in rows] == [("site", "", "pending"), ("tg", "1", "pending"), ("tg", "2", "skipped")]
    assert store.updates(incident.id)[0].private_note == "note"


def test_new_incident_ids_never_collide(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    first, _ = record(store)
    second, _ = record(store)
    assert (first.id, second.id) == ("api", "api-2")


def test_claim_is_exclusive(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store, other = SQLiteStore(path), SQLiteStore(path)
    record(store)
    delivery = store.deliveries()[0]
    assert store.claim(delivery.id, "a") is True
    assert other.claim(delivery.id, "b") is False
    store.mark_sent(delivery.id, "remote-1", None)
    assert other.claim(delivery.id, "b") is False  # sent is never sent again


def test_dead_owner_makes_a_delivery_unknown(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    record(store)
    delivery = store.deliveries()[0]
    import socket

    store.claim(delivery.id, f"{socket.gethostname()}:999999999:1.0")  # no such pid
    reaped = store.reap_abandoned(timedelta(minutes=5))
    assert [d.state for d in reaped] == ["unknown"]
    assert store.claim(delivery.id, process_owner()) is False
    assert store.claim(delivery.id, process_owner(), include_unknown=True) is True


def test_live_owner_is_left_alone(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    record(store)
    delivery = store.deliveries()[0]
    store.claim(delivery.id, process_owner())
    assert store.reap_abandoned(timedelta(minutes=5)) == []


def test_state_file_of_schema_1_opens(tmp_path: Path) -> None:
    """A state file written by version 0.1 (schema 1, kept as SQL in tests/data) opens and reads."""
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript((Path(__file__).parent / "data" / "state-schema-1.sql").read_text())
    db.close()
    store = SQLiteStore(path)
    assert store.schema_version() == SCHEMA_VERSION
    incident = store.incident("db-slow-2026-10-01")
    assert incident is not None and incident.status is Status.RESOLVED
    assert [u.sequence for u in store.updates(incident.id)] == [1, 2]
    assert store.deliveries(incident_id=incident.id)[0].remote_id == "1700000000.000100"
    # Upgraded to the current schema: no private title, no parts recorded then, and the incident
    # at version 0, writable.
    assert incident.raw_title == ""
    assert store.deliveries(incident_id=incident.id)[0].parts == ()
    assert incident.version == 0
    later = Update(incident.id, 0, NOW, Status.RESOLVED, "Postmortem follows.")
    stored, _ = store.record_update(incident, later, [PlannedDelivery("site", "", "public")], new=False)
    assert store.updates(incident.id)[-1].sequence == 3 and stored.version == 0


def test_state_file_of_schema_2_opens(tmp_path: Path) -> None:
    """A state file with private titles (schema 2, before parts and versions) is upgraded in place."""
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript((Path(__file__).parent / "data" / "state-schema-2.sql").read_text())
    db.close()
    store = SQLiteStore(path)
    assert (store.migrated_from, store.schema_version()) == (2, SCHEMA_VERSION)
    incident = store.incident("checkout-down-2026-10-02")
    assert incident is not None
    assert (incident.title, incident.raw_title, incident.version) == (
        "Checkout down", "Checkout [private]ACMECORP[/private] down", 0)
    assert [(d.destination, d.state, d.parts) for d in store.deliveries(incident_id=incident.id)] == [
        ("slack-ops", "sent", ()), ("x", "sent", ())]
    # A compare-and-set write on the upgraded row: the private title stays, the version moves.
    later = Update(incident.id, 0, NOW, Status.IDENTIFIED, "Found it.")
    moved = replace(incident, status=Status.IDENTIFIED)
    stored, _ = store.record_update(moved, later, [PlannedDelivery("site", "", "public")], new=False)
    again = store.incident(incident.id)
    assert again is not None and (again.status, again.raw_title, again.version) == (
        Status.IDENTIFIED, incident.raw_title, 1) and stored.version == 1


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    SQLiteStore(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    db.commit()
    db.close()
    import pytest

    from broadcaster.errors import StoreError

    with pytest.raises(StoreError, match="newer broadcaster"):
        SQLiteStore(path)


def test_two_concurrent_post_processes_both_land(project: Project) -> None:
    """Two operators post to one incident at the same moment: both stored, numbered apart, both on the page."""
    first = project.cli("post", "--yes", "--json", "--title", "API errors", "Investigating.")
    incident = json.loads(first.stdout)["incident_id"]
    processes = [
        project.process("post", "--yes", "--json", "-i", incident, f"Update from operator {n}.")
        for n in (1, 2)
    ]
    results = [p.communicate(timeout=60) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], results
    sequences = sorted(json.loads(out)["sequence"] for out, _ in results)
    assert sequences == [2, 3]
    shown = json.loads(project.cli("show", incident, "--json").stdout)
    assert {u["message"] for u in shown["updates"]} >= {"Update from operator 1.", "Update from operator 2."}
    page = (project.site / "incidents" / f"{incident}.html").read_text()
    assert "Update from operator 1." in page and "Update from operator 2." in page


def test_a_delivery_state_this_version_does_not_know_is_refused_by_name(project: Project) -> None:
    """A row written by hand (or by a future version at this schema) is never acted on as some other state."""
    posted = project.cli("post", "--yes", "--json", "--title", "API down", "--status", "investigating", "Looking.")
    assert posted.exit_code == 0
    incident = json.loads(posted.stdout)["incident_id"]  # the whole id: ids are matched whole since issue 16
    db = sqlite3.connect(project.root / ".broadcaster" / "state.db")
    db.execute("UPDATE deliveries SET state='parked'")
    db.commit()
    db.close()
    for command in (["show", incident], ["show", incident, "--json"]):
        result = project.cli(*command)
        assert result.exit_code == 1, (command, result.output)
        assert "'parked'" in result.output and "upgrade broadcaster" in result.output, (command, result.output)


def test_a_store_path_naming_another_file_leaves_it_alone(tmp_path: Path) -> None:
    """Attack (review): [store] path = "broadcaster.toml" made the config 0600, then failed as an unexpected error."""
    import os
    import stat

    from broadcaster.errors import ConfigError
    from broadcaster.store import SQLiteStore

    config = tmp_path / "broadcaster.toml"
    config.write_text('[page]\ntitle = "Acme status"\n', encoding="utf-8")
    os.chmod(config, 0o644)
    with pytest.raises(ConfigError, match="is not a state file"):
        SQLiteStore(config)
    assert stat.S_IMODE(config.stat().st_mode) == 0o644
    assert config.read_text(encoding="utf-8") == '[page]\ntitle = "Acme status"\n'
    empty = tmp_path / "new.db"
    empty.touch()  # an empty file is a new database to SQLite
    SQLiteStore(empty).close()


# -- store import: a merge renumbers what names an update by its number ------------------------------------------


def _updates_on_the_page(project: Project, incident: str) -> list[str]:
    """The bodies summary.json shows for ``incident``, oldest first, after a build from the store."""
    assert project.cli("site", "build").exit_code == 0
    summary = json.loads((project.site / "summary.json").read_text(encoding="utf-8"))
    (shown,) = [i for i in summary["incidents"] if i["id"] == incident]
    return [u["body"] for u in reversed(shown["incident_updates"])]


def _two_stores_posting(project: Project, tmp_path: Path) -> tuple[str, str]:
    """An incident copied into a fallback store, then posted to in both: each store's #2 is its own update."""
    posted = project.cli("post", "--yes", "--json", "--title", "API errors", "-C", "web", "Investigating API errors.")
    incident = json.loads(posted.stdout)["incident_id"]
    fallback, copy = str(tmp_path / "fallback.db"), str(tmp_path / "main.jsonl")
    assert project.cli("store", "export", copy).exit_code == 0
    assert project.cli("--store", fallback, "store", "import", copy).exit_code == 0
    assert project.cli("post", "--yes", "-i", incident, "Main store: update A, cause found.").exit_code == 0
    assert project.cli("--store", fallback, "post", "--yes", "-i", incident,
                       "Fallback: update B names host db-legacy-07 by mistake.").exit_code == 0
    return incident, fallback


def _import_fallback(project: Project, tmp_path: Path, fallback: str) -> None:
    moved = str(tmp_path / "fallback.jsonl")
    assert project.cli("--store", fallback, "store", "export", moved).exit_code == 0
    imported = project.cli("store", "import", moved)
    assert imported.exit_code == 0, imported.output


def test_an_imported_correction_corrects_the_update_it_corrected_in_the_other_store(
    project: Project, tmp_path: Path
) -> None:
    """Review: the merge appended the fallback's #2 and its correction after this store's #2 but left the correction
    naming #2, so this store's update A left the page for the correction's text, and B stayed uncorrected."""
    incident, fallback = _two_stores_posting(project, tmp_path)
    assert project.cli("--store", fallback, "amend", incident, "2", "--yes",
                       "Fallback: update B, corrected.").exit_code == 0
    _import_fallback(project, tmp_path, fallback)

    assert _updates_on_the_page(project, incident) == [
        "Investigating API errors.", "Main store: update A, cause found.", "Fallback: update B, corrected."]
    assert not [f for f in project.site.rglob("*") if f.is_file() and "db-legacy-07" in f.read_text(errors="replace")]
    shown = json.loads(project.cli("show", incident, "--json").stdout)
    assert [u["sequence"] for u in shown["updates"]] == [1, 2, 3, 4]
    _import_fallback(project, tmp_path, fallback)  # safe to repeat: the correction is found again, not added
    assert len(json.loads(project.cli("show", incident, "--json").stdout)["updates"]) == 4
    assert _updates_on_the_page(project, incident)[1:] == [
        "Main store: update A, cause found.", "Fallback: update B, corrected."]


def test_an_imported_correction_of_an_update_both_stores_have_corrects_it_here(
    project: Project, tmp_path: Path
) -> None:
    """The update the file corrects was already here under another number (skipped by the merge): the correction
    follows it to that number."""
    incident, fallback = _two_stores_posting(project, tmp_path)
    main = str(tmp_path / "main-again.jsonl")
    assert project.cli("store", "export", main).exit_code == 0
    assert project.cli("--store", fallback, "store", "import", main).exit_code == 0  # the fallback's #3 is A
    assert project.cli("--store", fallback, "amend", incident, "3", "--yes",
                       "Main store: update A, cause found and fixed.").exit_code == 0
    _import_fallback(project, tmp_path, fallback)

    assert _updates_on_the_page(project, incident) == [
        "Investigating API errors.", "Main store: update A, cause found and fixed.",
        "Fallback: update B names host db-legacy-07 by mistake."]


def test_an_imported_overdue_notice_still_names_the_update_whose_promise_was_missed(tmp_path: Path) -> None:
    """``tick`` tells of a missed promise once, keyed by the update's number: a merge renumbers that too."""
    from broadcaster.store.transfer import export_lines, import_records, read_records

    here, there = SQLiteStore(tmp_path / "here.db"), SQLiteStore(tmp_path / "there.db")
    incident, _ = record(here)
    import_records(there, read_records(export_lines(here), "copy"))
    site = [PlannedDelivery("site", "", "public")]
    here.record_update(incident, Update(incident.id, 0, NOW + timedelta(minutes=1), Status.INVESTIGATING, "Here."),
                       site, new=False)
    copy = there.incident(incident.id)
    assert copy is not None
    copy, _ = there.record_update(
        copy, Update(incident.id, 0, NOW + timedelta(minutes=2), Status.INVESTIGATING, "There."), site, new=False)
    notice = Update(incident.id, 0, NOW + timedelta(minutes=40), Status.INVESTIGATING, "Update #2 is overdue.",
                    kind="notice", extra={"notice": "overdue", "of": "2"}, author="broadcaster")
    there.record_update(copy, notice, [], new=False)

    import_records(here, read_records(export_lines(there), "fallback"))
    updates = {u.raw_message: u for u in here.updates(incident.id)}
    assert updates["There."].sequence == 3
    assert updates["Update #2 is overdue."].extra == {"notice": "overdue", "of": "3"}
