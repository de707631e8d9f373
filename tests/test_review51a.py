"""Review 51a: the post-id rules after their narrowing (``delivery.storable_id``, ``delivery.names_no_post``,
`store import`'s check of an id, `retry --mark-unknown-sent --remote-id`), attacked through the real CLI and the
fakes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Project
from tests.test_review49a import _matrix_naming_events, _posted

# What no terminal line may carry raw: a right-to-left override (the line reads reversed: "detaleted" for
# "deleted"), an isolate, a byte-order mark, a soft hyphen.
_REORDERING = "\u202e\u2066\u2069\ufeff\u00ad"


def _unknown_with_a_part(project: Project, tmp_path: Path) -> Project:
    """``project``'s store moved into a fresh project, its room delivery of unknown fate with its one part
    confirmed under an id holding a right-to-left override, as an export from another store brings it."""
    export = tmp_path / "export.jsonl"
    assert project.cli("store", "export", str(export)).exit_code == 0
    records = [json.loads(line) for line in export.read_text(encoding="utf-8").splitlines()]
    for delivery in (d for r in records for u in r.get("updates", []) for d in u["deliveries"]):
        if delivery["destination"] == "room":
            delivery.update(state="unknown", parts=[delivery["remote_id"]], remote_id=None, sent_at=None)
    export.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    fresh = Project(tmp_path / "fresh", env=dict(project.env))
    fresh.root.mkdir()
    fresh.config.write_text(project.config.read_text(encoding="utf-8"), encoding="utf-8")
    imported = fresh.cli("store", "import", str(export))
    assert imported.exit_code == 0, imported.output
    return fresh


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_marking_a_post_sent_shows_the_id_it_threads_under_escaped(
    project: Project, tmp_path: Path, as_json: bool,
) -> None:
    """`retry --mark-unknown-sent` said "later updates thread under <id>" with the confirmed part's id raw (on the
    terminal and in `--json`'s "threading"): a right-to-left override a service (or an import) put in it reversed
    the rest of the line. Every other line shows the id escaped; now this one does too."""
    with _matrix_naming_events(project, "A\u202eB"):
        _posted(project, "post", "--title", "API errors", "Errors.")
        fresh = _unknown_with_a_part(project, tmp_path)
        marked = fresh.cli("retry", "--mark-unknown-sent", *(["--json"] if as_json else []))
    assert marked.exit_code == 0, marked.output
    assert not [c for c in marked.output if c in _REORDERING], ascii(marked.output)
    shown: Any = json.loads(marked.stdout)["marked"][0]["threading"] if as_json else marked.output
    assert "thread under !ops:example.org/$evA\\u202eB-Xy_z" in shown, ascii(shown)
