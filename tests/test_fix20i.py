"""Fixes of review 20i: removals travel in exports, the overtaken rule counts status updates only, a used-up invite
admits no chat through an import, amend to staff first then everyone, a window for another component, and what a
post in parts from before schema 8 is told."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from broadcaster.messages.model import Visibility

from broadcaster import subscribers
from broadcaster.delivery import DeliveryState
from broadcaster.store import open_store, transfer
from broadcaster.subscribers import ChatKind
from tests import test_store_backends as backends
from tests.conftest import ENGINE, Project
from tests.pg import pg_server_fixture, pg_url_fixture  # noqa: F401 - pytest fixtures
from tests.test_store_backends import Opener
from tests.test_store_review17 import telegram_texts

opener = backends.opener  # SQLite and a real PostgreSQL

ACME = Visibility.parse("audience:acme")


def _moved(source: Any, target: Any) -> transfer.ImportResult:
    return transfer.import_records(target, transfer.read_records(list(transfer.export_lines(source)), "export", {"acme"}))


# -- finding 1: a removal travels in the export -----------------------------------------------------------------------


def test_a_removed_chat_stays_removed_in_the_store_it_was_moved_to(opener: Opener, tmp_path: Path) -> None:
    old, new = open_store(tmp_path / "old.db"), opener()
    try:
        code, _ = subscribers.create_invite(old, ACME, ["api"])
        subscribers.redeem(old, code, -1001, ChatKind.GROUP)
        backup = list(transfer.export_lines(old))
        assert subscribers.remove(old, -1001)
        _moved(old, new)
        transfer.import_records(new, transfer.read_records(backup, "export", {"acme"}))
        assert new.subscription("-1001") is None
        assert new.removed_at("-1001") == old.removed_at("-1001")
    finally:
        old.close()


def test_a_removal_reaches_a_store_kept_current_by_import_and_a_later_join_stands(tmp_path: Path) -> None:
    team, fallback = open_store(tmp_path / "team.db"), open_store(tmp_path / "fallback.db")
    try:
        code, _ = subscribers.create_invite(team, ACME, ["api"])
        subscribers.redeem(team, code, -1001, ChatKind.GROUP)
        _moved(team, fallback)
        assert subscribers.remove(team, -1001)
        assert _moved(team, fallback).chats_removed == 1
        assert fallback.subscription("-1001") is None
        # The chat joins again in the team store: the export holds the new subscription and the older removal.
        subscribers.redeem(team, code, -1001, ChatKind.GROUP)
        _moved(team, fallback)
        back = fallback.subscription("-1001")
        assert back is not None and back.active and back.visibility == ACME
    finally:
        team.close()
        fallback.close()


def test_a_removal_does_not_forget_a_chat_that_changed_here_after_it(tmp_path: Path) -> None:
    here, there = open_store(tmp_path / "here.db"), open_store(tmp_path / "there.db")
    try:
        code, _ = subscribers.create_invite(there, ACME, [])
        subscribers.redeem(there, code, -1001, ChatKind.GROUP)
        assert subscribers.remove(there, -1001)
        subscribers.subscribe(here, -1001, ChatKind.GROUP)  # joined here (public) after the removal there
        assert _moved(there, here).chats_removed == 0
        kept = here.subscription("-1001")
        assert kept is not None and kept.active
    finally:
        here.close()
        there.close()


def test_a_removal_line_is_checked_and_the_cli_says_what_it_did(project: Project, tmp_path: Path) -> None:
    team = tmp_path / "team.db"
    store = open_store(team)
    try:
        code, _ = subscribers.create_invite(store, Visibility.parse("internal"), [])
        subscribers.redeem(store, code, -1001, ChatKind.GROUP)
    finally:
        store.close()
    first = tmp_path / "first.jsonl"
    assert project.cli("--store", str(team), "store", "export", str(first)).exit_code == 0
    assert project.cli("store", "import", str(first)).exit_code == 0
    assert project.cli("--store", str(team), "subscribers", "remove", "-1001").exit_code == 0
    second = tmp_path / "second.jsonl"
    exported = project.cli("--store", str(team), "store", "export", str(second))
    assert exported.exit_code == 0 and "1 removed chat(s)" in exported.output, exported.output
    assert any('"removed"' in line for line in second.read_text().splitlines())
    imported = project.cli("store", "import", str(second))
    assert imported.exit_code == 0, imported.output
    assert "1 chat(s) removed in the other store" in imported.output, imported.output
    assert "-1001" not in project.cli("subscribers", "list").output
    bad = tmp_path / "bad.jsonl"
    bad.write_text(second.read_text().splitlines()[0] + '\n{"removed": {"chat_id": "x", "removed_at": "2026-01-01"}}\n')
    refused = project.cli("store", "import", str(bad))
    assert refused.exit_code == 2 and "removed: chat_id" in refused.output, refused.output


# -- finding 2: only a status update overtakes a fallback's update ----------------------------------------------------


def test_a_correction_made_here_does_not_hold_back_the_fallbacks_update(
    project: Project, world: Any, tmp_path: Path
) -> None:
    from tests.fakes.world import PUBLIC_CHAT
    from tests.test_fix20_store import _fallback_posts_while_telegram_is_down, _import_fallback

    incident, fallback = _fallback_posts_while_telegram_is_down(
        project, world, tmp_path, "Identified: the database. WORKAROUND use the EU endpoint.")
    assert project.cli("amend", "--yes", incident, "1", "Investigating FIRST, typo fixed.").exit_code == 0
    report = _import_fallback(project, tmp_path, fallback)
    assert "overtaken" not in report, report
    assert project.cli("retry").exit_code == 0
    assert [t for t in telegram_texts(world, PUBLIC_CHAT) if "WORKAROUND" in t]


def test_a_status_update_made_here_still_holds_back_the_fallbacks_older_one(
    project: Project, world: Any, tmp_path: Path
) -> None:
    from tests.fakes.world import PUBLIC_CHAT
    from tests.test_fix20_store import _fallback_posts_while_telegram_is_down, _import_fallback

    incident, fallback = _fallback_posts_while_telegram_is_down(project, world, tmp_path, "Identified STALE.")
    assert project.cli("post", "--yes", "-i", incident, "-s", "monitoring", "A fix is out.").exit_code == 0
    assert "overtaken" in _import_fallback(project, tmp_path, fallback)
    assert project.cli("retry").exit_code == 0
    assert not [t for t in telegram_texts(world, PUBLIC_CHAT) if "STALE" in t]


# -- finding 3: an invite used up here -------------------------------------------------------------------------------


def test_an_invite_used_up_here_admits_no_second_chat_through_an_import(project: Project, tmp_path: Path) -> None:
    here, there = project.root / ".broadcaster" / "state.db", tmp_path / "there.db"
    store = open_store(here)
    try:
        code, _ = subscribers.create_invite(store, Visibility.parse("internal"), [], uses=1)
    finally:
        store.close()
    invite = tmp_path / "invite.jsonl"
    assert project.cli("store", "export", str(invite)).exit_code == 0
    assert project.cli("--store", str(there), "store", "import", str(invite)).exit_code == 0
    for path, chat in ((here, -1001), (there, -1002)):
        store = open_store(path)
        try:
            subscribers.redeem(store, code, chat, ChatKind.GROUP)
        finally:
            store.close()
    theirs = tmp_path / "there.jsonl"
    assert project.cli("--store", str(there), "store", "export", str(theirs)).exit_code == 0
    imported = project.cli("store", "import", str(theirs))
    assert imported.exit_code == 0, imported.output
    assert "1 chat(s) joined the other store with an invite already used up here" in imported.output, imported.output
    listed = project.cli("subscribers", "list").output
    assert "-1001" in listed and "-1002" not in listed, listed
    # Moved into a new store, the same file subscribes both: that store gave out no use of it.
    fresh = tmp_path / "fresh.db"
    assert project.cli("--store", str(fresh), "store", "import", str(theirs)).exit_code == 0
    assert "-1002" in project.cli("--store", str(fresh), "subscribers", "list").output


# -- finding 4: staff first, then everyone --------------------------------------------------------------------------


def _posted(project: Project, world: Any) -> str:
    project.write_config(ENGINE + world.channels_toml())
    created = project.cli("post", "--yes", "--json", "--title", "API errors", "-C", "api", "Errors on the APi.")
    assert created.exit_code == 0, created.output
    return str(json.loads(created.stdout)["incident_id"])


def test_the_same_correction_for_everyone_after_staff_goes_to_the_rest_only(project: Project, world: Any) -> None:
    from tests.fakes.world import OPS_CHATS, PUBLIC_CHAT

    incident = _posted(project, world)
    assert project.cli("amend", "--yes", "--only", "tg-ops", incident, "1", "Errors on the API.").exit_code == 0
    staff = {chat: len(telegram_texts(world, str(chat))) for chat in OPS_CHATS}
    before = len(world.telegram.requests)
    everyone = project.cli("amend", "--yes", "--json", incident, "1", "Errors on the API.")
    assert everyone.exit_code == 0, everyone.output
    assert [t for t in telegram_texts(world, PUBLIC_CHAT, before) if "the API." in t]
    assert {chat: len(telegram_texts(world, str(chat))) for chat in OPS_CHATS} == staff  # staff not told twice
    ops = [d for d in json.loads(everyone.stdout)["deliveries"] if d["destination"] == "tg-ops"]
    assert ops and all(d["state"] == "skipped" and "correction #2" in (d["reason"] or d["error"] or "") for d in ops), ops


def test_the_same_correction_to_the_same_places_is_refused_naming_who_was_not_given_it(
        project: Project, world: Any) -> None:
    incident = _posted(project, world)
    assert project.cli("amend", "--yes", "--only", "tg-ops", incident, "1", "Errors on the API.").exit_code == 0
    again = project.cli("amend", "--yes", "--only", "tg-ops", incident, "1", "Errors on the API.")
    assert again.exit_code == 2, again.output
    assert "not given to" in again.output and "--skip tg-ops" in again.output, again.output
    assert "delivered everywhere it was planned" not in again.output, again.output


# -- finding 5: a window for another component ----------------------------------------------------------------------


def test_a_window_for_another_component_is_no_repeat_but_the_same_one_is(project: Project, world: Any) -> None:
    project.write_config(ENGINE + world.channels_toml())
    base = ("maintenance", "schedule", "--yes", "--title", "Network maintenance", "--start", "2h", "--end", "1h")
    assert project.cli(*base, "-C", "db").exit_code == 0
    assert project.cli(*base, "-C", "web").exit_code == 0
    repeated = project.cli(*base, "-C", "web")
    assert repeated.exit_code == 2 and "components" in repeated.output, repeated.output


# -- finding 6: a post in parts from before schema 8, every part out ------------------------------------------------


def test_a_post_in_parts_all_out_before_the_upgrade_is_told_as_it_is(project: Project, world: Any) -> None:
    from tests.fakes.world import PUBLIC_CHAT
    from tests.test_fix20_parts import LONG_TITLE, TAIL, WORDS, _public_row

    posted = project.cli("post", "--yes", "--json", "--only", "tg-public", "--title", LONG_TITLE, "-C", "api",
                         f"{' '.join(WORDS)}\n\n{TAIL}")
    incident = json.loads(posted.stdout)["incident_id"]
    messages = len(telegram_texts(world, PUBLIC_CHAT))
    with sqlite3.connect(project.root / ".broadcaster" / "state.db") as db:
        db.execute("UPDATE deliveries SET state='unknown', sent_at=NULL, rendering=NULL, last_error='abandoned'")
    project.cli("retry", incident, "--include-unknown")
    row = _public_row(project, incident)
    assert row.state == DeliveryState.UNKNOWN and len(telegram_texts(world, PUBLIC_CHAT)) == messages
    assert "changed since" not in (row.last_error or ""), row.last_error
    assert "all 2 message(s)" in (row.last_error or "") and "--mark-unknown-sent" in (row.last_error or "")
