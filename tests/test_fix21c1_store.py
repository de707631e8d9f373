"""Fix 21c1 (review 21c findings 1 store side, 2, 5, 6, 7 and the counts after an import): a removal follows a group
through its supergroup migration in either store; an import weighs two copies of a chat's subscription by their
grant before their last change; an invite's --uses holds across an import; a chat re-opening its own link after
/stop uses no second use; an imported subscription has its invite's visibility."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from broadcaster.messages.model import Visibility

from broadcaster import subscribers
from broadcaster.errors import InputError
from broadcaster.store import Store, open_store, transfer
from broadcaster.subscribers import ChatKind, InviteRefused
from tests.conftest import Project
from tests.fakes.telegram import FakeTelegram
from tests.pg import pg_server_fixture, pg_url_fixture  # noqa: F401 - pytest fixtures
from tests.test_subscribers import (  # noqa: F401 - fixtures
    MESSAGE,
    NEW_GROUP,
    OLD_GROUP,
    bot_project,
    fake,
    invite,
    store_of,
    texts,
)

ACME = Visibility.parse("audience:acme")
GLOBEX = Visibility.parse("audience:globex")
PUBLIC = Visibility.parse("public")
ACME_DETAIL = "502s"
CHAT = -1001


def _moved(source: Store, target: Store) -> transfer.ImportResult:
    """``source`` exported and imported into ``target``, as `store export` then `store import` do."""
    lines = list(transfer.export_lines(source))
    return transfer.import_records(target, transfer.read_records(lines, "export", {"acme", "globex"}))


@pytest.fixture(params=["sqlite", "postgresql"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    """The team store (SQLite, or PostgreSQL as in team mode) and a SQLite fallback kept current by import."""
    location: Path | str = tmp_path / "team.db"
    if request.param == "postgresql":
        location = request.getfixturevalue("pg_url")
    team, fallback = open_store(location), open_store(tmp_path / "fallback.db")
    yield team, fallback
    team.close()
    fallback.close()


def _active(store: Store) -> list[tuple[str, str]]:
    return [(s.chat_id, str(s.visibility)) for s in store.subscriptions(active=True)]


# -- 1. a removal follows the group through its migration ---------------------------------------------------------


def test_a_backup_from_before_the_migration_does_not_bring_the_removed_supergroup_back(
    bot_project: Project, fake: FakeTelegram  # noqa: F811
) -> None:
    project = bot_project
    subscribers.redeem(store_of(project), invite(project, "--audience", "acme"), OLD_GROUP, ChatKind.GROUP)
    backup = project.root / "backup.jsonl"
    assert project.cli("store", "export", str(backup)).exit_code == 0
    first = project.cli("post", "--yes", "--title", "API errors", "-C", "api=major_outage", "--customer", "acme",
                        MESSAGE)
    assert first.exit_code == 0, first.output
    assert store_of(project).subscription(str(NEW_GROUP)) is not None  # the send followed the migration
    assert project.cli("subscribers", "remove", str(NEW_GROUP)).exit_code == 0
    before = len(texts(fake, NEW_GROUP))
    imported = project.cli("store", "import", str(backup))
    assert imported.exit_code == 0, imported.output
    assert "1 chat(s) removed here (`broadcaster subscribers remove`) after the file was written" in imported.output
    assert store_of(project).subscription(str(OLD_GROUP)) is None
    project.cli("post", "--yes", "--title", "DB errors", "-C", "api=major_outage", "--customer", "acme", MESSAGE)
    said = texts(fake, NEW_GROUP)[before:]
    assert not any(ACME_DETAIL in t for t in said), said


def test_a_removal_by_the_old_id_reaches_the_store_that_saw_the_migration_and_comes_back(
        stores: tuple[Store, Store]) -> None:
    team, fallback = stores
    code, _ = subscribers.create_invite(team, ACME, ["api"])
    subscribers.redeem(team, code, OLD_GROUP, ChatKind.GROUP)
    _moved(team, fallback)
    subscribers.migrate(fallback, OLD_GROUP, NEW_GROUP)  # the bot saw the migration while on the fallback
    assert subscribers.remove(team, OLD_GROUP)
    assert _moved(team, fallback).chats_removed == 1
    _moved(fallback, team)
    assert (_active(team), _active(fallback)) == ([], [])


def test_a_removal_by_the_new_id_reaches_the_store_that_still_knows_the_old_one(stores: tuple[Store, Store]) -> None:
    team, fallback = stores
    code, _ = subscribers.create_invite(fallback, ACME, ["api"])
    subscribers.redeem(fallback, code, OLD_GROUP, ChatKind.GROUP)
    _moved(fallback, team)
    subscribers.migrate(fallback, OLD_GROUP, NEW_GROUP)
    assert subscribers.remove(fallback, NEW_GROUP)
    _moved(fallback, team)
    _moved(team, fallback)
    assert (_active(team), _active(fallback)) == ([], [])
    # A removal forgets what was granted before it: a new invite redeemed in the supergroup since is a new grant.
    again, _ = subscribers.create_invite(team, GLOBEX)
    subscribers.redeem(team, again, NEW_GROUP, ChatKind.GROUP)
    _moved(fallback, team)
    _moved(team, fallback)
    assert _active(team) == _active(fallback) == [(str(NEW_GROUP), "audience:globex")]


def test_a_migration_learnt_from_the_other_store_never_moves_a_subscription_into_the_chat_removed_here(
        stores: tuple[Store, Store]) -> None:
    """The team store still holds the old group's acme subscription and the supergroup's own (a public invite),
    not knowing they are one chat; the operator removes the supergroup. The fallback saw the migration: its
    export must not move acme's subscription into the removed chat."""
    team, fallback = stores
    code, _ = subscribers.create_invite(team, ACME, ["api"])
    subscribers.redeem(team, code, OLD_GROUP, ChatKind.GROUP)
    _moved(team, fallback)
    subscribers.migrate(fallback, OLD_GROUP, NEW_GROUP)
    public, _ = subscribers.create_invite(team, PUBLIC)
    subscribers.redeem(team, public, NEW_GROUP, ChatKind.GROUP)
    assert subscribers.remove(team, NEW_GROUP)
    _moved(fallback, team)
    assert _active(team) == []
    _moved(team, fallback)
    assert _active(fallback) == []


def test_a_migration_seen_in_the_other_store_moves_the_subscription_here(stores: tuple[Store, Store]) -> None:
    """One group, one subscription: the old id's follows the new one, and the invite counts one chat."""
    team, fallback = stores
    code, made = subscribers.create_invite(team, ACME, ["api"], uses=2)
    subscribers.redeem(team, code, OLD_GROUP, ChatKind.GROUP)
    _moved(team, fallback)
    subscribers.migrate(fallback, OLD_GROUP, NEW_GROUP)
    _moved(fallback, team)
    assert _active(team) == [(str(NEW_GROUP), "audience:acme")]
    counted = team.invite(made.hash)
    assert counted is not None and counted.uses == 1, counted


def test_an_export_carries_the_migration(tmp_path: Path) -> None:
    store = open_store(tmp_path / "state.db")
    try:
        subscribers.redeem(store, subscribers.create_invite(store, ACME)[0], OLD_GROUP, ChatKind.GROUP)
        subscribers.migrate(store, OLD_GROUP, NEW_GROUP)
        lines = [json.loads(line) for line in transfer.export_lines(store)]
    finally:
        store.close()
    assert {"migrated": {"chat_id": str(OLD_GROUP), "to": str(NEW_GROUP)}} in lines


@pytest.mark.parametrize("line", [{"chat_id": "-5", "to": "-5"}, {"chat_id": "7", "to": "-1005"},
                                  {"chat_id": "-5"}], ids=["same", "private", "missing"])
def test_a_bad_migration_line_refuses_the_file(line: dict[str, str]) -> None:
    header = json.dumps({"format": transfer.FORMAT, "version": transfer.FORMAT_VERSION, "schema": 1})
    with pytest.raises(InputError, match="line 2: migrated"):
        list(transfer.read_records([header, json.dumps({"migrated": line})], "export"))


# -- 2. the later grant wins --------------------------------------------------------------------------------------


def _no_new_grant(store: Store, after: str) -> None:
    if after == "components":
        subscribers.choose_components(store, CHAT, ["api"], ["api", "db"])
    else:
        subscribers.unsubscribe(store, CHAT)
        subscribers.subscribe(store, CHAT, ChatKind.GROUP)


@pytest.mark.parametrize("after", ["components", "stop-start"])
@pytest.mark.parametrize("moved_to", [PUBLIC, GLOBEX], ids=["public", "globex"])
def test_a_later_invite_here_is_not_undone_by_a_command_in_the_other_store(
        stores: tuple[Store, Store], after: str, moved_to: Visibility) -> None:
    team, fallback = stores
    code, _ = subscribers.create_invite(team, ACME, ["api", "db"])
    subscribers.redeem(team, code, CHAT, ChatKind.GROUP)
    subscribers.redeem(team, code, -1002, ChatKind.GROUP)
    subscribers.redeem(team, code, -1003, ChatKind.GROUP)
    _moved(team, fallback)
    other, _ = subscribers.create_invite(team, moved_to)
    subscribers.redeem(team, other, CHAT, ChatKind.GROUP)
    _no_new_grant(fallback, after)
    # The same grant in both stores: a /stop or a /components choice in the other store is the chat's latest word.
    subscribers.unsubscribe(fallback, -1002)
    subscribers.choose_components(fallback, -1003, ["db"], ["api", "db"])
    _moved(fallback, team)
    kept = team.subscription(str(CHAT))
    assert kept is not None and kept.visibility == moved_to and kept.active, kept
    stopped, chose = team.subscription("-1002"), team.subscription("-1003")
    assert stopped is not None and not stopped.active, stopped
    assert chose is not None and chose.components == ("db",), chose
    _moved(team, fallback)  # and the fallback takes the later grant
    there = fallback.subscription(str(CHAT))
    assert there is not None and there.visibility == moved_to, there


# -- 5. --uses across an import ------------------------------------------------------------------------------------


def test_an_invite_for_three_taken_twice_in_each_store_admits_no_fourth_chat(stores: tuple[Store, Store]) -> None:
    team, fallback = stores
    code, made = subscribers.create_invite(team, ACME, ["api"], uses=3)
    _moved(team, fallback)
    subscribers.redeem(team, code, -1001, ChatKind.GROUP)
    subscribers.redeem(team, code, -1002, ChatKind.GROUP)
    subscribers.redeem(fallback, code, -1003, ChatKind.GROUP)
    subscribers.redeem(fallback, code, -1004, ChatKind.GROUP)
    result = _moved(fallback, team)
    assert result.kept_off_used_up == 1, result
    holders = sorted(s.chat_id for s in team.subscriptions(active=True) if s.invite == made.hash)
    assert holders == ["-1001", "-1002", "-1003"], holders  # the later-joined one is kept off
    counted = team.invite(made.hash)
    assert counted is not None and counted.uses == 3, counted
    again = _moved(fallback, team)  # safe to repeat
    assert again.kept_off_used_up == 1 and len(team.subscriptions(active=True)) == 3


def test_the_import_reports_the_chats_kept_off_an_invite(project: Project, tmp_path: Path) -> None:
    here, there = project.root / ".broadcaster" / "state.db", tmp_path / "there.db"
    store = open_store(here)
    try:
        code, _ = subscribers.create_invite(store, Visibility.parse("internal"), [], uses=3)
        subscribers.redeem(store, code, -1001, ChatKind.GROUP)
        other = open_store(there)
        try:
            _moved(store, other)
            subscribers.redeem(other, code, -1002, ChatKind.GROUP)
            subscribers.redeem(store, code, -1003, ChatKind.GROUP)
            subscribers.redeem(other, code, -1004, ChatKind.GROUP)  # 2 of 3 in each store: 4 chats in all
        finally:
            other.close()
    finally:
        store.close()
    theirs = tmp_path / "there.jsonl"
    assert project.cli("--store", str(there), "store", "export", str(theirs)).exit_code == 0
    imported = project.cli("store", "import", str(theirs))
    assert imported.exit_code == 0, imported.output
    assert "1 chat(s) joined the other store with an invite already used up here" in imported.output
    listed = project.cli("subscribers", "list").output
    assert all(chat in listed for chat in ("-1001", "-1002", "-1003")) and "-1004" not in listed, listed


def test_a_chat_kept_off_an_invite_is_not_counted_as_one_of_its_uses(stores: tuple[Store, Store]) -> None:
    team, fallback = stores
    code, made = subscribers.create_invite(team, ACME, ["api"], uses=1)
    _moved(team, fallback)
    subscribers.redeem(team, code, -1001, ChatKind.GROUP)
    subscribers.redeem(fallback, code, -1002, ChatKind.GROUP)
    assert _moved(fallback, team).kept_off_used_up == 1
    counted = team.invite(made.hash)
    assert counted is not None and counted.uses == 1, counted


# -- 6. the same chat, the same link ----------------------------------------------------------------------------------


def test_a_chat_opening_its_own_link_again_after_stop_uses_no_second_use(stores: tuple[Store, Store]) -> None:
    store = stores[0]
    code, made = subscribers.create_invite(store, ACME, uses=2)
    subscribers.redeem(store, code, 101, ChatKind.PRIVATE)
    subscribers.unsubscribe(store, 101)
    back = subscribers.redeem(store, code, 101, ChatKind.PRIVATE)
    assert not back.counted and back.subscription.active
    counted = store.invite(made.hash)
    assert counted is not None and counted.uses == 1, counted
    subscribers.redeem(store, code, 102, ChatKind.PRIVATE)  # the second chat it was made for
    assert store.subscription("102") is not None


def test_a_stopped_group_opening_its_own_link_again_uses_no_second_use_unlike_one_the_bot_left(tmp_path: Path) -> None:
    store = open_store(tmp_path / "state.db")
    try:
        code, made = subscribers.create_invite(store, ACME, uses=1)
        subscribers.redeem(store, code, CHAT, ChatKind.GROUP)
        subscribers.unsubscribe(store, CHAT)
        assert not subscribers.redeem(store, code, CHAT, ChatKind.GROUP).counted
        assert store.subscription(str(CHAT)).active  # type: ignore[union-attr]
        assert store.invite(made.hash).uses == 1  # type: ignore[union-attr]
        # The group rule holds: a group the bot was removed from may have other members now, and takes a use.
        subscribers.deactivate(store, CHAT, "removed")
        with pytest.raises(InviteRefused):
            subscribers.redeem(store, code, CHAT, ChatKind.GROUP)
        # A revoked invite still refuses a chat that stopped.
        other, _ = subscribers.create_invite(store, ACME)
        subscribers.redeem(store, other, 101, ChatKind.PRIVATE)
        subscribers.unsubscribe(store, 101)
        subscribers.revoke(store, other)
        with pytest.raises(InviteRefused):
            subscribers.redeem(store, other, 101, ChatKind.PRIVATE)
        assert not store.subscription("101").active  # type: ignore[union-attr]
    finally:
        store.close()


# -- 7. an imported subscription has its invite's visibility ----------------------------------------------------------


def _edited(source: Store, old: str, new: str) -> list[str]:
    return [line.replace(old, new) if '"subscription"' in line else line for line in transfer.export_lines(source)]


def test_a_subscription_without_an_invite_is_public_or_refused(tmp_path: Path) -> None:
    source, target = open_store(tmp_path / "source.db"), open_store(tmp_path / "target.db")
    try:
        subscribers.subscribe(source, 999, ChatKind.PRIVATE)
        lines = _edited(source, '"visibility": "public"', '"visibility": "internal"')
        with pytest.raises(InputError, match="without an invite"):
            transfer.import_records(target, transfer.read_records(lines, "export", {"acme"}))
        assert target.subscription("999") is None
    finally:
        source.close()
        target.close()


def test_a_subscription_with_another_visibility_than_its_invite_refuses_the_file(
        project: Project, tmp_path: Path) -> None:
    source = open_store(tmp_path / "source.db")
    try:
        code, _ = subscribers.create_invite(source, PUBLIC)
        subscribers.redeem(source, code, 999, ChatKind.PRIVATE)
        edited = _edited(source, '"visibility": "public"', '"visibility": "internal"')
    finally:
        source.close()
    path = tmp_path / "edited.jsonl"
    path.write_text("\n".join(edited) + "\n")
    refused = project.cli("store", "import", str(path))
    assert refused.exit_code == 2, refused.output
    assert "a chat's visibility is only ever an invite's" in refused.output
    assert "Nothing was imported" in refused.output
    assert not (project.root / ".broadcaster" / "state.db").exists()  # refused before a store was made for it


def test_an_invite_only_this_store_holds_is_checked_too(stores: tuple[Store, Store]) -> None:
    team, fallback = stores
    code, made = subscribers.create_invite(team, PUBLIC)
    subscribers.redeem(team, code, 999, ChatKind.PRIVATE)
    lines = [line for line in _edited(team, '"visibility": "public"', '"visibility": "internal"')
             if '"invite"' not in line or '"subscription"' in line]
    with pytest.raises(InputError, match=f"its invite {made.hash[:12]} gives public"):
        transfer.import_records(team, transfer.read_records(lines, "export", {"acme"}))
    assert team.subscription("999").visibility == PUBLIC  # type: ignore[union-attr]


# -- smaller: what `subscribers remove` says a chat can do next --------------------------------------------------


def test_remove_tells_that_a_group_needs_an_invite_and_a_private_chat_a_start(
        bot_project: Project) -> None:  # noqa: F811
    store = store_of(bot_project)
    subscribers.redeem(store, invite(bot_project, "--audience", "acme"), CHAT, ChatKind.GROUP)
    subscribers.subscribe(store, 101, ChatKind.PRIVATE)
    group = bot_project.cli("subscribers", "remove", str(CHAT))
    assert group.exit_code == 0 and "only with an invite" in group.output and "/start again" not in group.output
    private = bot_project.cli("subscribers", "remove", "101")
    assert private.exit_code == 0 and "If it sends /start again, it gets public updates" in private.output
