"""A stored update that never passed the preview's egress check, still to be sent: the send-time guard's case.

Every publishing command refuses, before storing anything, an update whose
rendering the egress guard would refuse. The guard at send time is the second
line of defence, for what reaches the store another way: an export edited by
hand, or written before a check existed, brought in by ``store import``; or a
formatter bug that shows only when the update is sent. ``import_unsent`` makes
such a record through the CLI: the command runs clean in a copy of the project
(sending only to a site of its own), the export of its update is edited, its
deliveries set pending, and ``store import`` brings it into the project, where
``retry`` (or the next post) sends it.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import Project

STATE = Path(".broadcaster/state.db")
Edit = Callable[[dict[str, Any], dict[str, Any]], None]


def import_unsent(project: Project, tmp_path: Path, *command: str, edit: Edit | None = None) -> str:
    """Run ``command`` in a copy of ``project``, let ``edit(incident, update)`` change the update it stored,
    and import that update into ``project`` with every delivery pending. Returns the incident's id."""
    side = Project(tmp_path / f"unsent-{len(list(tmp_path.glob('unsent-*')))}", env=dict(project.env))
    side.root.mkdir()
    shutil.copy(project.config, side.config)
    if (project.root / STATE).exists():
        (side.root / STATE).parent.mkdir()
        with sqlite3.connect(project.root / STATE) as source, sqlite3.connect(side.root / STATE) as copy:
            source.backup(copy)
    ran = side.cli(*command, "--yes", "--json", "--only", "site")
    assert ran.exit_code in (0, 3), (ran.stdout, ran.stderr)  # 3: the copy's site left out an earlier such record
    incident_id = json.loads(ran.stdout)["incident_id"]
    exported = side.root / "export.jsonl"
    assert side.cli("store", "export", str(exported)).exit_code == 0
    header, *records = [json.loads(line) for line in exported.read_text(encoding="utf-8").splitlines()]
    [record] = [r for r in records if r["incident"]["id"] == incident_id]
    update = max(record["updates"], key=lambda u: u["sequence"])
    if edit:
        edit(record["incident"], update)
    for delivery in update["deliveries"]:
        delivery.update(state="pending", remote_id=None, thread_ref=None, attempts=0, last_error=None,
                        claimed_by=None, claimed_at=None, sent_at=None, parts=[])
    source_file = side.root / "edited.jsonl"
    source_file.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in (header, record)), encoding="utf-8")
    imported = project.cli("store", "import", str(source_file))
    assert imported.exit_code == 0, (imported.stdout, imported.stderr)
    return str(record["incident"]["id"])


def saying(message: str) -> Edit:
    """The edit that makes the update's public message ``message``."""
    return lambda incident, update: update.__setitem__("raw_message", message)


def assert_refused_whole(result: Any, *destinations: str) -> None:
    """A publishing command whose rendering the egress guard would refuse: exit 2 before anything is stored or
    sent, naming the destinations and saying what to do. (The caller checks the store, the fakes and the site.)"""
    said = " ".join(result.stderr.split())
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert f"the rendering for {', '.join(sorted(destinations))} holds detail" in said, said
    assert "Nothing was stored or sent" in said and "--skip" in said and "out of the public message" in said, said


def replacing(old: str, new: str) -> Edit:
    """The edit that writes ``new`` for ``old`` in every text of the update (message, private and audience detail)."""

    def edit(incident: dict[str, Any], update: dict[str, Any]) -> None:
        update.update(json.loads(json.dumps(update, ensure_ascii=False).replace(old, new)))

    return edit
