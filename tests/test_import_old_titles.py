"""An old export's whole title (review 17j) (schema 1: [private] spans stored in the public title)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Project
from tests.test_import_rules import write
from tests.test_store_review17 import CREATED

TITLE = "Checkout [private]ACMECORP[/private] down"


def test_a_schema_1_export_title_with_a_private_span_is_split_on_import_as_the_upgrade_splits_it(
        project: Project, tmp_path: Path) -> None:
    record = {
        "incident": {"id": "checkout-down-2026-11-25", "title": TITLE, "impact": "minor",
                     "status": "investigating", "kind": "incident", "components": [["api", "degraded_performance"]],
                     "created_at": CREATED, "updated_at": CREATED, "resolved_at": None, "scheduled_start": None,
                     "scheduled_end": None, "version": 0},
        "updates": [{"sequence": 1, "created_at": CREATED, "status": "investigating", "raw_message": "Errors.",
                     "components": [], "private_note": "", "customers": [], "tickets": [], "etr": None,
                     "next_update_by": None, "author": "", "kind": "update", "extra": {}, "deliveries": []}],
    }
    header = {"format": "broadcaster-store", "version": 1, "schema": 1, "source": "sqlite", "exported_at": CREATED}
    imported = project.cli("store", "import", str(write(tmp_path / "old.jsonl", [header, record])))
    # Refused, it says "title takes no markers: remove it": an operator who removes the markers publishes the span
    # ("Checkout ACMECORP down"). `store migrate` splits such a title (records.title_split_as_today); so must import.
    assert imported.exit_code == 0, imported.output
    built = project.cli("site", "build")
    assert built.exit_code == 0, built.output
    public = "\n".join(p.read_text(errors="replace") for p in project.site.rglob("*") if p.is_file())
    assert "ACMECORP" not in public
    # A title stored whole from before titles had a public part is split as `store migrate` splits one: the
    # incident stays on the page under its public title, not left out of the page (nor published whole).
    assert "Checkout down" in public, built.output
