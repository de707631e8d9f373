"""``store import`` is as strict as input (issue 12): one bad record refuses the whole file, naming its line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Project
from tests.input_helpers import stored
from tests.pg import pg_server_fixture, pg_url_fixture  # noqa: F401 - pytest fixtures


def exported(project: Project, tmp_path: Path) -> list[dict[str, Any]]:
    """An export of two incidents, the second with a private title span, as parsed lines."""
    assert project.cli("post", "--yes", "--title", "API errors", "Errors [private]fra-2[/private].",
                       "--ticket", "ACME").exit_code == 0
    assert project.cli("post", "--yes", "--title", "Checkout [private]ACMECORP[/private] down", "Failing.").exit_code == 0
    path = tmp_path / "export.jsonl"
    assert project.cli("store", "export", str(path)).exit_code == 0
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def write(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    return path


def incident(field: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda record: record["incident"].__setitem__(field, value)


def update(field: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda record: record["updates"][0].__setitem__(field, value)


def delivery(field: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda record: record["updates"][0]["deliveries"][0].__setitem__(field, value)


BAD = [
    ("path-id", incident("id", "../../../tmp/x"), "'../../../tmp/x' is not an incident id"),
    ("empty-id", incident("id", ""), "is not an incident id"),
    ("script-id", incident("id", "<script>"), "is not an incident id"),
    ("rtl-override-in-title", incident("title", "Checkout \u202edown"), "RIGHT-TO-LEFT OVERRIDE"),
    ("marker-in-public-title", incident("title", "Checkout [private]X[/private]"), "takes no markers"),
    ("private-span-in-public-title", incident("title", "Checkout ACMECORP down"), "private span of raw_title"),
    ("unclosed-marker", update("raw_message", "Errors [private]fra-2."), "never closed"),
    ("lookalike-marker", update("raw_message", "Errors ［private］fra-2［/private］."), "looks like a private marker"),
    ("nul-in-customer", update("customers", ["AC\x00ME"]), "U+0000"),
    ("unknown-status", update("status", "exploded"), "status 'exploded' is not one of"),
    ("unknown-kind", incident("kind", "outage"), "kind 'outage'"),
    ("status-of-the-other-lifecycle", incident("status", "in_progress"), "status 'in_progress'"),
    ("unknown-visibility", delivery("visibility", "everyone"), "visibility 'everyone'"),
    ("unknown-state", delivery("state", "lost"), "state 'lost'"),
    ("year-9999", update("etr", "9999-12-31T23:30:00+00:00"), "etr '9999-12-31T23:30:00+00:00' is outside"),
    ("not-a-time", update("created_at", "yesterday"), "is not an ISO 8601 time"),
    ("naive-time", incident("created_at", "2026-11-25T15:00:00"), "with its offset"),
    ("too-long-message", update("raw_message", "x" * 5_001), "5,001 characters"),
    ("bad-destination", delivery("destination", "../x"), "is not a destination name"),
    ("duplicate-sequence", lambda r: r["updates"].append(dict(r["updates"][0])), "is not a new positive number"),
    ("parts-not-a-list", delivery("parts", "C1:1.0"), "parts is not a list of remote ids"),
    ("parts-of-numbers", delivery("parts", [1, 2]), "parts is not a list of remote ids"),
    ("empty-part", delivery("parts", ["C1:1.0", " "]), "parts is not a list of remote ids"),
    ("part-twice", delivery("parts", ["C1:1.0", "C1:1.0"]), "the same remote id twice"),
    ("escape-in-part", delivery("parts", ["C1:1\x1b[2J"]), "U+001B"),
    ("negative-version", incident("version", -1), "version -1 is not a count of changes"),
]


@pytest.mark.parametrize(("change", "said"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_a_bad_record_refuses_the_whole_file_naming_its_line(project: Project, tmp_path: Path,
                                                             change: Callable[[dict[str, Any]], None], said: str) -> None:
    header, *records = exported(project, tmp_path)
    change(records[-1])  # the last line: the records before it are fine, and must not be imported either
    source = write(tmp_path / "bad.jsonl", [header, *records])
    target = Project(tmp_path / "target")
    target.root.mkdir()
    target.write_config()
    result = target.cli("store", "import", str(source))
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert f"line {len(records) + 1}" in result.stderr and said in result.stderr, result.stderr
    assert stored(target) == []
    same = project.cli("store", "import", str(source))  # into a store that has data: it stays as it was
    before = stored(project)
    assert same.exit_code == 2 and stored(project) == before


def test_a_private_title_survives_export_and_import(project: Project, tmp_path: Path) -> None:
    header, *records = exported(project, tmp_path)
    assert header["schema"] >= 2
    titled = next(r for r in records if r["incident"]["raw_title"])
    assert titled["incident"]["title"] == "Checkout down"
    target = Project(tmp_path / "target")
    target.root.mkdir()
    target.write_config()
    assert target.cli("store", "import", str(write(tmp_path / "ok.jsonl", [header, *records]))).exit_code == 0
    shown = json.loads(target.cli("show", titled["incident"]["id"], "--json").stdout)
    assert (shown["title"], shown["private_title"]) == ("Checkout down", "Checkout ACMECORP down")


def test_an_export_from_before_private_titles_still_imports(project: Project, tmp_path: Path) -> None:
    header, *records = exported(project, tmp_path)
    header["schema"] = 1
    for record in records:
        record["incident"].pop("raw_title")
        record["incident"]["title"] = "Checkout down"
    target = Project(tmp_path / "target")
    target.root.mkdir()
    target.write_config()
    result = target.cli("store", "import", str(write(tmp_path / "old.jsonl", [header, *records])))
    assert result.exit_code == 0, result.stderr
    assert [r["incident"]["raw_title"] for r in stored(target)] == ["", ""]


# -- the raw_title column: schema 2 on both backends ------------------------------------------------


def test_a_team_database_of_schema_1_is_upgraded_and_keeps_its_titles(pg_url: str) -> None:
    """`store migrate` adds raw_title to a database made by the previous version; its incidents read as before."""
    import psycopg

    from broadcaster.store import SCHEMA_VERSION, open_store
    from broadcaster.store.pg import _MIGRATIONS

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        for statement in _MIGRATIONS[1].split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute("INSERT INTO meta VALUES ('schema_version', '1')")
        conn.execute("INSERT INTO incidents(id, title, impact, status, created_at, updated_at)"
                     " VALUES ('api-2026-11-25', 'API errors', 'minor', 'investigating', now(), now())")
    store = open_store(pg_url, upgrade=True)
    try:
        assert (store.migrated_from, store.schema_version()) == (1, SCHEMA_VERSION)
        incident = store.incident("api-2026-11-25")
        assert incident is not None and (incident.title, incident.raw_title) == ("API errors", "")
    finally:
        store.close()


def test_a_private_title_round_trips_through_the_team_database(pg_url: str) -> None:
    from datetime import UTC, datetime

    from broadcaster.messages.model import Impact, Incident, Status, Update

    from broadcaster.store import PlannedDelivery, open_store

    now = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
    store = open_store(pg_url)
    try:
        stored_incident, _ = store.record_update(
            Incident("checkout", "Checkout down", Impact.MINOR, Status.INVESTIGATING, now,
                     raw_title="Checkout [private]ACMECORP[/private] down"),
            Update("checkout", 0, now, Status.INVESTIGATING, "Failing."), [PlannedDelivery("site", "", "public")], new=True)
        again = store.incident(stored_incident.id)
        assert again is not None and again.raw_title == "Checkout [private]ACMECORP[/private] down"
        assert again.title == "Checkout down"
    finally:
        store.close()
