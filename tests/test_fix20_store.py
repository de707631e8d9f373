"""Fixes of review 20e, findings 2-5: an import's stale updates and removed chats, files that are not state files."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest
from broadcaster.messages.model import Visibility

from broadcaster import subscribers
from broadcaster.errors import StoreError
from broadcaster.store import open_store, transfer
from broadcaster.subscribers import ChatKind
from tests import test_store_backends as backends
from tests.conftest import Project
from tests.pg import pg_server_fixture, pg_url_fixture  # noqa: F401 - pytest fixtures
from tests.test_store_backends import Opener
from tests.test_store_review17 import telegram_texts

opener = backends.opener  # SQLite and a real PostgreSQL

ACME = Visibility.parse("audience:acme")


# -- finding 2: a fallback's older update is not sent after this store's later one --------------------------------


def _fallback_posts_while_telegram_is_down(project: Project, world: Any, tmp_path: Path, message: str) -> tuple[str, str]:
    """Incident X posted on the team store, copied to a fallback, which posts ``message`` while Telegram is down.
    Returns (incident id, fallback store path)."""
    from tests.fakes.base import Fault, Response

    posted = project.cli("post", "--yes", "--json", "--title", "Checkout down", "-C", "api", "Investigating FIRST.")
    assert posted.exit_code == 0, posted.output
    incident = json.loads(posted.stdout)["incident_id"]
    team = tmp_path / "team.jsonl"
    assert project.cli("store", "export", str(team)).exit_code == 0
    fallback = str(project.root / "fallback.db")
    assert project.cli("--store", fallback, "store", "import", str(team)).exit_code == 0
    world.telegram.fail(*(Fault(match="sendMessage", response=Response(503, {"ok": False, "error_code": 503,
                                                                              "description": "down"}))
                          for _ in range(40)))
    stale = project.cli("--store", fallback, "post", "--yes", "-i", incident, "-s", "identified", message)
    assert stale.exit_code == 3, stale.output
    world.telegram._faults.clear()
    return incident, fallback


def _import_fallback(project: Project, tmp_path: Path, fallback: str) -> str:
    exported = tmp_path / "fallback.jsonl"
    assert project.cli("--store", fallback, "store", "export", str(exported)).exit_code == 0
    imported = project.cli("store", "import", str(exported))
    assert imported.exit_code == 0, imported.output
    return imported.output


def test_a_fallbacks_update_older_than_the_resolution_sent_here_is_kept_but_never_sent(
    project: Project, world: Any, tmp_path: Path
) -> None:
    from tests.fakes.world import PUBLIC_CHAT

    incident, fallback = _fallback_posts_while_telegram_is_down(project, world, tmp_path, "Identified STALE.")
    assert project.cli("post", "--yes", "-i", incident, "-s", "resolved", "Resolved FINAL.").exit_code == 0
    before = len(world.telegram.requests)
    report = _import_fallback(project, tmp_path, fallback)
    assert "1 update(s) of the other store were overtaken here" in report, report
    assert "not sent yet" not in report, report  # nothing left for retry
    assert project.cli("retry").exit_code == 0
    assert not [t for t in telegram_texts(world, PUBLIC_CHAT, before) if "STALE" in t]
    assert all("STALE" not in str(r.form.get("text")) for r in world.telegram.requests[before:])  # staff's too
    shown = project.cli("show", incident)
    assert "STALE" in shown.output and "superseded" in shown.output, shown.output  # kept, and why


def test_a_fallbacks_older_update_is_not_sent_after_a_resolution_that_is_still_to_be_sent(
    project: Project, world: Any, tmp_path: Path
) -> None:
    """The team store's resolution failed too (Telegram down for both): `retry` sends it first, so the fallback's
    older update, sent after it, would still reopen the incident in readers' eyes."""
    from tests.fakes.base import Fault, Response
    from tests.fakes.world import PUBLIC_CHAT

    incident, fallback = _fallback_posts_while_telegram_is_down(project, world, tmp_path, "Identified STALE.")
    world.telegram.fail(*(Fault(match="sendMessage", response=Response(503, {"ok": False, "error_code": 503,
                                                                              "description": "down"}))
                          for _ in range(40)))
    assert project.cli("post", "--yes", "-i", incident, "-s", "resolved", "Resolved FINAL.").exit_code == 3
    world.telegram._faults.clear()
    report = _import_fallback(project, tmp_path, fallback)
    assert "overtaken" in report, report
    assert project.cli("retry").exit_code == 0
    public = [t for t in telegram_texts(world, PUBLIC_CHAT) if "FINAL" in t or "STALE" in t]
    assert public and all("STALE" not in t for t in public), public


def test_a_fallbacks_update_newer_than_everything_sent_here_is_still_sent(
    project: Project, world: Any, tmp_path: Path
) -> None:
    from tests.fakes.world import PUBLIC_CHAT

    incident, fallback = _fallback_posts_while_telegram_is_down(project, world, tmp_path, "Identified LATER.")
    report = _import_fallback(project, tmp_path, fallback)
    assert "overtaken" not in report and "not sent yet" in report, report
    assert project.cli("retry").exit_code == 0
    assert [t for t in telegram_texts(world, PUBLIC_CHAT) if "LATER" in t]


# -- finding 3: a removed chat stays removed ------------------------------------------------------------------------


def test_a_removed_chat_stays_removed_through_an_older_export_but_may_join_again(opener: Opener) -> None:
    store = opener()
    code, invite = subscribers.create_invite(store, ACME, ["api"])
    subscribers.redeem(store, code, -1001, ChatKind.GROUP)
    older = list(transfer.export_lines(store))
    assert subscribers.remove(store, -1001)  # the invite still works: only the chat is taken off
    transfer.import_records(store, transfer.read_records(older, "export", {"acme"}))
    assert store.subscription("-1001") is None
    # A chat that joins again after its removal is subscribed, and an export made since imports as it was.
    subscribers.redeem(store, code, -1001, ChatKind.GROUP)
    newer = list(transfer.export_lines(store))
    transfer.import_records(store, transfer.read_records(newer, "export", {"acme"}))
    back = store.subscription("-1001")
    assert back is not None and back.active and back.visibility == ACME


def test_a_chat_that_took_an_invite_revoked_here_in_another_store_is_not_subscribed(tmp_path: Path) -> None:
    here, there = open_store(tmp_path / "here.db"), open_store(tmp_path / "there.db")
    try:
        code, invite = subscribers.create_invite(here, ACME, [])
        transfer.import_records(there, transfer.read_records(list(transfer.export_lines(here)), "export", {"acme"}))
        subscribers.revoke(here, invite.id)
        subscribers.redeem(there, code, -1002, ChatKind.GROUP)  # the other store did not know
        transfer.import_records(here, transfer.read_records(list(transfer.export_lines(there)), "export", {"acme"}))
        assert here.subscription("-1002") is None
    finally:
        here.close()
        there.close()


def test_subscribers_remove_then_import_of_the_earlier_export_on_the_command_line(
    project: Project, tmp_path: Path
) -> None:
    store = open_store(project.root / ".broadcaster" / "state.db")
    try:
        code, _ = subscribers.create_invite(store, Visibility.parse("internal"), [])
        subscribers.redeem(store, code, -1001, ChatKind.GROUP)
    finally:
        store.close()
    backup = tmp_path / "backup.jsonl"
    assert project.cli("store", "export", str(backup)).exit_code == 0
    assert project.cli("subscribers", "remove", "-1001").exit_code == 0
    imported = project.cli("store", "import", str(backup))
    assert imported.exit_code == 0, imported.output
    assert "1 chat(s) removed here" in imported.output, imported.output
    listed = project.cli("subscribers", "list")
    assert "-1001" not in listed.output, listed.output


# -- finding 4: another program's SQLite database is left alone -----------------------------------------------------


def _tables(path: Path) -> list[str]:
    db = sqlite3.connect(path)
    try:
        return sorted(r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
    finally:
        db.close()


@pytest.mark.parametrize("schema", [
    "CREATE TABLE dashboards (id INTEGER PRIMARY KEY, title TEXT)",
    "CREATE TABLE meta (name TEXT, data BLOB)",  # a table of the same name, another program's
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)",  # the same shape, but no schema_version
])
def test_another_programs_database_is_refused_before_anything_is_changed(
    project: Project, tmp_path: Path, schema: str
) -> None:
    other = tmp_path / "other.db"
    db = sqlite3.connect(other)
    db.execute(schema)
    db.commit()
    db.close()
    os.chmod(other, 0o644)
    before = _tables(other)
    for command in (("list",), ("post", "--yes", "--title", "API errors", "Investigating.")):
        refused = project.cli("--store", str(other), *command)
        assert refused.exit_code == 2, refused.output
        assert f"{other} is not a state file" in refused.output and "left it alone" in refused.output
    assert _tables(other) == before
    assert stat.S_IMODE(os.stat(other).st_mode) == 0o644
    assert not Path(f"{other}-wal").exists()


def test_an_empty_sqlite_file_and_a_state_file_are_still_used(project: Project, tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()  # a file of 0 bytes
    blank = tmp_path / "blank.db"
    db = sqlite3.connect(blank)
    db.execute("PRAGMA user_version = 1")  # a database with a header but no tables
    db.close()
    for path in (empty, blank):
        posted = project.cli("--store", str(path), "post", "--yes", "--title", "API errors", "Investigating.")
        assert posted.exit_code == 0, posted.output
        listed = project.cli("--store", str(path), "list")
        assert listed.exit_code == 0 and "API errors" in listed.output, listed.output


# -- finding 5: a damaged schema_version names the state file --------------------------------------------------------


@pytest.mark.parametrize("value", ["7x", "-1", ""])
def test_a_damaged_schema_version_is_told_as_damage_of_the_file(project: Project, value: str) -> None:
    assert project.cli("post", "--yes", "--title", "API errors", "Investigating.").exit_code == 0
    state = project.root / ".broadcaster" / "state.db"
    db = sqlite3.connect(state)
    db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (value,))
    db.commit()
    db.close()
    listed = project.cli("list")
    assert listed.exit_code == 1 and "unexpected error" not in listed.output, listed.output
    assert f"the state file {state} is damaged" in listed.output and "schema_version" in listed.output


def test_a_damaged_schema_version_is_a_store_error_on_both_backends(opener: Opener) -> None:
    store = opener()
    store.run("UPDATE meta SET value = '-1' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="damaged.*schema_version"):
        opener()
