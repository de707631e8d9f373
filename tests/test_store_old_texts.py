"""texts written before audiences (schema 3) in fields other than the title and the message.

Migration 4 and ``transfer._written_before_audiences`` rewrite "[for ...]" runs as prose only in ``title``,
``raw_title`` and ``raw_message``. Before audiences the gate took "[For details]" in a private note (it refused only
[private] lookalikes), so a schema-3 private note can hold one; today's gate refuses it everywhere.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.conftest import Project
from tests.test_import_rules import write
from tests.test_store_review17 import CREATED, old_store

NOTE = "Ops: see the runbook [For details] before paging."


def _with_private_note(path: Path) -> None:
    old_store(path, 3, message="Errors on the API.")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE updates SET private_note = ? WHERE incident_id = 'api-errors-2026-11-25'", (NOTE,))


def test_a_schema_3_private_note_with_for_prose_survives_export_and_import(project: Project, tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _with_private_note(path)
    shown = project.cli("--store", str(path), "show", "api-errors-2026-11-25")
    assert shown.exit_code == 0, shown.output
    out = tmp_path / "e.jsonl"
    exported = project.cli("--store", str(path), "store", "export", str(out))
    assert exported.exit_code == 0, exported.output
    # The upgraded store's own export must import into a new store (moving a store to PostgreSQL, a backup).
    imported = project.cli("--store", str(tmp_path / "new.db"), "store", "import", str(out))
    assert imported.exit_code == 0, imported.output


def test_an_export_made_before_audiences_with_for_prose_in_its_private_note_imports(
    project: Project, tmp_path: Path
) -> None:
    record = {
        "incident": {"id": "api-errors-2026-11-25", "title": "API errors", "raw_title": "", "impact": "minor",
                     "status": "investigating", "kind": "incident", "components": [["api", "degraded_performance"]],
                     "created_at": CREATED, "updated_at": CREATED, "resolved_at": None, "scheduled_start": None,
                     "scheduled_end": None, "version": 0},
        "updates": [{"sequence": 1, "created_at": CREATED, "status": "investigating", "raw_message": "Errors.",
                     "components": [], "private_note": NOTE, "customers": [], "tickets": [], "etr": None,
                     "next_update_by": None, "author": "", "kind": "update", "extra": {}, "deliveries": []}],
    }
    header = {"format": "broadcaster-store", "version": 1, "schema": 3, "source": "sqlite", "exported_at": CREATED}
    imported = project.cli("store", "import", str(write(tmp_path / "old.jsonl", [header, record])))
    assert imported.exit_code == 0, imported.output


def test_the_ids_a_title_split_may_hold_the_span_in_are_named_whichever_command_upgrades(
    project: Project, tmp_path: Path
) -> None:
    """A state file is upgraded by whichever command opens it first; only `store migrate` prints
    ``titles_split``, and once upgraded it says "up to date". Opened first by `list` (or `post`, `site build`),
    the warning that the incident's addresses may hold its [private] span is never shown to anyone."""
    from tests.test_store_review17 import MARKED_TITLE

    path = tmp_path / "old.db"
    old_store(path, 1, title=MARKED_TITLE)
    listed = project.cli("--store", str(path), "list")
    assert listed.exit_code == 0, listed.output
    migrated = project.cli("--store", str(path), "store", "migrate")
    told = listed.output + migrated.output
    assert "title(s) held [private] spans" in told, told
