"""``store import`` is as strict as input (issue 12): one bad record refuses the whole file, naming its line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from broadcaster.errors import InputError
from tests.conftest import BASE_CONFIG, Project
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


def added(kind: str, extra: dict[str, str], sequence: int = 2) -> Callable[[dict[str, Any]], None]:
    """Adds update ``sequence`` of ``kind`` to the record, a copy of its first with ``extra``."""
    def change(record: dict[str, Any]) -> None:
        first = record["updates"][0]
        record["updates"].append({**first, "sequence": sequence, "kind": kind, "extra": extra,
                                  "raw_message": f"{kind} {sequence}.", "deliveries": []})
    return change


def both(*changes: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def change(record: dict[str, Any]) -> None:
        for each in changes:
            each(record)
    return change


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
    # Review: a merge renumbers the file's updates; a correction naming none of them corrected another update here.
    ("correction-of-no-update", added("correction", {"corrects": "7"}),
     "update #2: a correction must name an earlier update of this record, and it names update '7' (set "
     "extra.corrects to the sequence of that update in this record, or remove update #2)"),
    ("correction-of-itself", added("correction", {"corrects": "2"}), "names update '2'"),
    ("correction-naming-nothing", added("correction", {}), "update #2: a correction must name an earlier update of "
     "this record, and it has no extra.corrects"),
    ("correction-of-a-correction", both(added("correction", {"corrects": "1"}),
                                        added("correction", {"corrects": "2"}, 3)),
     "update #3: it corrects update #2, a correction, which `amend` never corrects"),
    ("correction-of-a-notice", both(added("notice", {"notice": "sla_breach"}), added("correction", {"corrects": "2"}, 3)),
     "it corrects update #2, a notice"),
    ("overdue-notice-of-no-update", added("notice", {"notice": "overdue", "of": "5"}), "names update '5'"),
    # Review: the CLI refuses [for ID] in --title; an import kept it (with an audience not even configured).
    ("audience-span-in-raw-title", incident("raw_title", "Checkout [private]ACMECORP[/private] [for initech]I-1[/for]"),
     "raw_title holds a [for ID] span, and a title takes none (every reader sees it): edit the file"),
    ("unknown-component", incident("components", [["globex-circuit-77", "major_outage"]]),
     "names the component 'globex-circuit-77'"),
]


@pytest.mark.parametrize("change", [
    update("raw_message", "Errors. [fro acme]Your circuit ACM-7 is down."),
    update("raw_message", "Errors. [fro AcmeCorp]Your circuit ACM-8 is down."),  # the name, written its own way
    incident("title", "API slow [fro acme]ACM-CIRCUIT-7"),
    incident("raw_title", "API slow [fro acme]ACM-CIRCUIT-7"),
    update("raw_message", "Errors. (for acme: circuit ACM-7 is down)"),  # review 29a: the detail after the head
    update("raw_message", "Errors.\n> For acme only: circuit ACM-7 is down"),
], ids=["id", "name", "title", "raw-title", "head-colon", "quoted-line"])
def test_a_mistyped_audience_marker_is_refused_as_the_command_line_refuses_it(
    project: Project, tmp_path: Path, change: Callable[[dict[str, Any]], None]
) -> None:
    """"[fro acme]...[/fro]" reads as prose, so as public text: the command line refuses it where acme is a
    customer (by its id or its name, in a message or a title), and so does an import (reviews)."""
    header, *records = exported(project, tmp_path)
    change(records[-1])
    source = write(tmp_path / "bad.jsonl", [header, *records])
    target = Project(tmp_path / "target")
    target.root.mkdir()
    target.write_config('[audiences.acme]\nname = "Acme Corp"\ncomponents = ["api"]\n')

    result = target.cli("store", "import", str(source))

    assert result.exit_code == 2, result.output
    assert "looks like an audience marker but is not one" in result.stderr and stored(target) == []


CLOUD = '[audiences.cloud]\nname = "Cloud Co"\ncomponents = ["api"]\nid_is_a_word = true\n'


@pytest.mark.parametrize(("message", "refused"), [
    ("Errors (cloud: eu-west-1) since 14:00.", False),
    ("Errors. (for Cloud Co: circuit LABEL-X-1)", True),
], ids=["id-heads-prose", "name-addresses"])
def test_an_id_that_is_a_word_heads_prose_in_an_import_as_on_the_command_line(
    project: Project, tmp_path: Path, message: str, refused: bool
) -> None:
    """``id_is_a_word``: "(cloud: eu-west-1)" names no customer "cloud" in an import either; its name still does."""
    header, *records = exported(project, tmp_path)
    update("raw_message", message)(records[-1])
    source = write(tmp_path / "records.jsonl", [header, *records])
    target = Project(tmp_path / "target")
    target.root.mkdir()
    target.write_config(CLOUD)
    result = target.cli("store", "import", str(source))
    assert (result.exit_code == 2) == refused, result.output
    assert ("looks like an audience marker" in result.stderr) == refused and (stored(target) == []) == refused


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


def test_a_component_the_config_does_not_define_is_refused_naming_it(project: Project, tmp_path: Path) -> None:
    """Review: a component removed from [[components]] since the export (or forged) came back on the page, the feeds
    and the JSON, though `post -C` refuses it. Refused, naming it and what to do; the config's own import fine."""
    from broadcaster import config_loader
    from broadcaster.store import SQLiteStore
    from broadcaster.store.transfer import import_records, read_records

    assert project.cli("post", "--yes", "--title", "DB slow", "-C", "api", "Slow.").exit_code == 0
    assert project.cli("post", "--yes", "--title", "Errors", "-C", "db=major_outage", "Errors.").exit_code == 0
    path = tmp_path / "export.jsonl"
    assert project.cli("store", "export", str(path)).exit_code == 0
    lines = path.read_text(encoding="utf-8").splitlines()
    config = config_loader.load(str(project.config))
    assert len(list(read_records(lines, "export.jsonl", config.audiences, config.component_ids))) == 2

    target = Project(tmp_path / "target")
    target.root.mkdir()
    target.write_config(base=BASE_CONFIG.replace('id = "db"', 'id = "db-eu"'))
    without_db = config_loader.load(str(target.config))
    with pytest.raises(InputError) as refused:
        list(read_records(lines, "export.jsonl", without_db.audiences, without_db.component_ids))
    assert str(refused.value).startswith(
        "export.jsonl, line 3: incident 'errors-") and (
        "components names the component 'db', which this config does not define. Did you mean 'db-eu'? Add it "
        "back to [[components]] in the config (with the id 'db'), or edit the file to name one it defines "
        "(api, web, db-eu). Nothing was imported") in str(refused.value)
    record = json.loads(lines[2])
    record["incident"]["components"] = []  # an update's components are checked as well
    lines[2] = json.dumps(record)
    store = SQLiteStore(tmp_path / "target.db")
    try:
        with pytest.raises(InputError, match="update #1: components names the component 'db'"):
            import_records(store, read_records(lines, "f", without_db.audiences, without_db.component_ids))
        assert store.incident_ids() == []  # every record is checked before the first is stored
    finally:
        store.close()


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
