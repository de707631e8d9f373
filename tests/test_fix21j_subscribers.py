"""Fix 21j (review 21j): an imported inactive copy of a chat takes a use of its invite (or is kept off); a group that
became a supergroup during a run gets each of the run's updates there; a post cut between its parts says what is in
the chat; a ``migrated`` line links only a basic group to a supergroup, once, and no two chats of other readers."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from contextlib import closing
from datetime import timedelta

import pytest
from broadcaster.messages.model import Visibility

from broadcaster import subscribers
from broadcaster.errors import InputError
from broadcaster.store import Store, transfer
from broadcaster.subscribers import ChatKind, InviteRefused
from tests.conftest import Project
from tests.fakes.base import Fault, Response
from tests.fakes.telegram import FakeTelegram
from tests.pg import pg_server_fixture, pg_url_fixture  # noqa: F401 - pytest fixtures
from tests.test_fix21c1_store import _moved, stores  # noqa: F401 - fixture
from tests.test_fix21c2_subscribers import FLOOD, _change, _finished, _invites, _until
from tests.test_subscribers import (  # noqa: F401 - fixtures
    ACME_CHAT,
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
DOWN = Response(400, {"ok": False, "error_code": 400, "description": "Bad Request: something went wrong"})
LONG = MESSAGE + " " + " ".join(f"Step {n}: the 502s on the API gateway were traced further." for n in range(78))


def _holders(store: Store, invite_hash: str) -> list[str]:
    return sorted(s.chat_id for s in store.subscriptions(active=True) if s.invite == invite_hash)


# -- 1. an inactive copy takes a use ------------------------------------------------------------------------------


@pytest.mark.parametrize(("chat", "kind", "end"), [(-1002, ChatKind.GROUP, "stop"), (1002, ChatKind.PRIVATE, "stop"),
                                                   (1002, ChatKind.PRIVATE, "blocked")],
                         ids=["stopped group", "stopped private chat", "private chat that blocked the bot"])
def test_an_inactive_copy_let_in_beyond_uses_elsewhere_cannot_come_back_uncounted(
    stores: tuple[Store, Store], chat: int, kind: ChatKind, end: str  # noqa: F811
) -> None:
    team, fallback = stores
    code, made = subscribers.create_invite(team, ACME, ["api"], uses=1)
    _moved(team, fallback)
    subscribers.redeem(team, code, -1001, ChatKind.GROUP)
    subscribers.redeem(fallback, code, chat, kind)  # the fallback did not know of -1001
    if end == "stop":
        subscribers.unsubscribe(fallback, chat)
    else:
        subscribers.deactivate(fallback, chat, "blocked")
    result = _moved(fallback, team)
    assert result.kept_off_used_up == 1 and team.subscription(str(chat)) is None
    with pytest.raises(InviteRefused):  # its own link: used up here, by -1001
        subscribers.redeem(team, code, chat, kind)
    if kind == ChatKind.PRIVATE:  # a plain /start: a new public subscription, no acme detail
        assert subscribers.subscribe(team, chat, kind).visibility == Visibility.parse("public")
    assert _holders(team, made.hash) == ["-1001"]
    assert team.invite(made.hash).uses == 1  # type: ignore[union-attr]


def test_an_inactive_copy_within_uses_takes_one_before_a_later_chat_and_comes_back_on_it(
    stores: tuple[Store, Store],  # noqa: F811
) -> None:
    team, fallback = stores
    code, made = subscribers.create_invite(team, ACME, ["api"], uses=2)
    _moved(team, fallback)
    subscribers.redeem(team, code, -1001, ChatKind.GROUP)
    subscribers.redeem(fallback, code, -1002, ChatKind.GROUP)
    subscribers.unsubscribe(fallback, -1002)
    subscribers.redeem(fallback, code, -1003, ChatKind.GROUP, now=subscribers._now() + timedelta(minutes=1))
    assert _moved(fallback, team).kept_off_used_up == 1  # -1003, the later: the stopped -1002 took the second use
    assert team.subscription("-1003") is None
    assert not subscribers.redeem(team, code, -1002, ChatKind.GROUP).counted  # its own use: back uncounted
    assert _holders(team, made.hash) == ["-1001", "-1002"]
    assert team.invite(made.hash).uses == 2  # type: ignore[union-attr]


def test_an_inactive_private_copy_that_joined_after_the_invite_was_revoked_here_is_kept_off(
    stores: tuple[Store, Store],  # noqa: F811
) -> None:
    team, fallback = stores
    code, made = subscribers.create_invite(team, ACME, ["api"])
    _moved(team, fallback)
    subscribers.revoke(team, made.hash, now=made.created_at + timedelta(minutes=1))
    # the fallback did not know of the revocation
    subscribers.redeem(fallback, code, 1002, ChatKind.PRIVATE, now=made.created_at + timedelta(minutes=2))
    subscribers.unsubscribe(fallback, 1002)
    result = _moved(fallback, team)
    assert result.kept_off_revoked == 1 and team.subscription("1002") is None
    assert subscribers.subscribe(team, 1002, ChatKind.PRIVATE).visibility == Visibility.parse("public")


# -- 2. a group that became a supergroup during the run ----------------------------------------------------------


def test_two_incidents_retried_to_a_group_that_became_a_supergroup_both_arrive(
    bot_project: Project, fake: FakeTelegram  # noqa: F811
) -> None:
    with closing(store_of(bot_project)) as store:
        subscribers.redeem(store, invite(bot_project, "--audience", "acme"), OLD_GROUP, ChatKind.GROUP)
    for title in ("API errors", "Login errors"):
        fake.fail(Fault(match="sendMessage", response=DOWN))
        result = bot_project.cli("post", "--yes", "--title", title, "-C", "api=major_outage", "--customer", "acme",
                                 MESSAGE)
        assert result.exit_code != 0, result.output
    retried = bot_project.cli("retry")
    assert retried.exit_code == 0, retried.output
    assert "no longer subscribed" not in retried.output, retried.output
    sent = texts(fake, NEW_GROUP)
    assert len(sent) == 2 and all("502s" in text for text in sent), (sent, retried.output)
    with closing(store_of(bot_project)) as store:
        states = {(d.target, d.state) for d in store.deliveries() if d.destination.startswith("subscribers")}
        assert states == {(str(NEW_GROUP), "sent")}, states
        assert store.subscription(str(NEW_GROUP)).visibility == ACME  # type: ignore[union-attr]


def test_a_group_the_bot_saw_migrate_while_the_send_waited_out_a_429_still_gets_the_update(
    bot_project: Project, fake: FakeTelegram  # noqa: F811
) -> None:
    from broadcaster.config_loader import load
    from broadcaster.destinations import follow_migration

    with closing(store_of(bot_project)) as store:
        subscribers.redeem(store, invite(bot_project, "--audience", "acme"), OLD_GROUP, ChatKind.GROUP)
    fake.fail(Fault(match="sendMessage", response=FLOOD))
    process: subprocess.Popen[str] = bot_project.process("post", "--yes", "--title", "API errors", "-C",
                                                         "api=major_outage", "--customer", "acme", MESSAGE)
    _until(lambda: not fake._faults, process)
    config = load(str(bot_project.root / "broadcaster.toml"), bot_project.env)
    with closing(store_of(bot_project)) as store:
        follow_migration(config, store, str(OLD_GROUP), str(NEW_GROUP))  # as the bot does on the service message
    out, err = _finished(process)
    assert process.returncode == 0, (out, err)
    assert len(texts(fake, NEW_GROUP)) == 1 and "502s" in texts(fake, NEW_GROUP)[0], (out, err)


def test_a_group_whose_supergroup_was_removed_while_the_send_waited_gets_nothing(
    bot_project: Project, fake: FakeTelegram  # noqa: F811
) -> None:
    """Following the migration stops at a removal: the operator took the group off under its new id."""
    with closing(store_of(bot_project)) as store:
        subscribers.redeem(store, invite(bot_project, "--audience", "acme"), OLD_GROUP, ChatKind.GROUP)
    fake.fail(Fault(match="sendMessage", response=FLOOD))
    process = bot_project.process("post", "--yes", "--title", "API errors", "-C", "api=major_outage", "--customer",
                                  "acme", MESSAGE)
    _until(lambda: not fake._faults, process)
    with closing(store_of(bot_project)) as store:
        subscribers.migrate(store, OLD_GROUP, NEW_GROUP)
    _change(bot_project, NEW_GROUP, "remove", {})
    out, err = _finished(process)
    assert texts(fake, NEW_GROUP) == [] and texts(fake, OLD_GROUP) == [], (out, err)
    with closing(store_of(bot_project)) as store:
        (delivery,) = [d for d in store.deliveries() if d.destination.startswith("subscribers")]
    # The reason is the removal: a migration alone is followed, never a reason to send nothing.
    assert delivery.state == "skipped" and "no longer subscribed" in (delivery.last_error or ""), delivery
    assert "supergroup" not in (delivery.last_error or ""), delivery.last_error


# -- 3. a post cut between its parts ----------------------------------------------------------------------------


def test_a_post_cut_between_its_parts_says_how_many_were_sent_and_exits_3(
    bot_project: Project, fake: FakeTelegram  # noqa: F811
) -> None:
    codes = _invites(bot_project)
    with closing(store_of(bot_project)) as store:
        subscribers.redeem(store, invite(bot_project, "--audience", "acme"), ACME_CHAT, ChatKind.GROUP)
    fake.fail(Fault(match="sendMessage", response=FLOOD, after=1))  # part 1 goes, part 2 waits out a 429
    process = bot_project.process("post", "--yes", "--title", "API errors", "-C", "api=major_outage",
                                  "--customer", "acme", LONG)
    _until(lambda: not fake._faults, process)
    _change(bot_project, ACME_CHAT, "remove", codes)
    out, err = _finished(process)
    assert len(texts(fake, ACME_CHAT)) == 1, (out, err)
    assert process.returncode == 3, (out, err)
    with closing(store_of(bot_project)) as store:
        (delivery,) = [d for d in store.deliveries() if d.target == str(ACME_CHAT)]
        incident = delivery.incident_id
    assert delivery.state == "failed" and len(delivery.parts) == 1, delivery
    assert "1 of 2 messages of it had been sent there" in (delivery.last_error or ""), delivery.last_error
    assert "Nothing was sent there" not in f"{delivery.last_error}\n{out}"
    planned = bot_project.cli("withdraw", incident, "--dry-run", "--reason", "wrong chat")  # still deletes part 1
    assert str(ACME_CHAT) in planned.output, planned.output


# -- hardening: migrated lines --------------------------------------------------------------------------------


def _file(*records: Mapping[str, object]) -> list[str]:
    header = {"format": transfer.FORMAT, "version": transfer.FORMAT_VERSION, "schema": 1}
    return [json.dumps(header), *(json.dumps(r) for r in records)]


def _subscription(chat: str, visibility: str, invite_hash: str | None = None, active: bool = True) -> dict[str, object]:
    return {"subscription": {"chat_id": chat, "kind": "group", "visibility": visibility, "components": [],
                             "active": active, "joined_at": "2026-12-01T10:00:00+00:00",
                             "updated_at": "2026-12-01T10:00:00+00:00", "invite": invite_hash}}


@pytest.mark.parametrize(("old", "new", "said"), [
    ("-1", "-2", "not a supergroup's id"),
    ("-1001234567890", "-1009876543210", "is a supergroup's id"),
    ("-5", "-100", "not a supergroup's id"),
    ("-5", "-1002345678", "not a supergroup's id"),
], ids=["two basic groups", "from a supergroup", "to -100", "to a basic group whose id begins with -100"])
def test_a_migrated_line_that_is_no_telegram_migration_refuses_the_file(old: str, new: str, said: str) -> None:
    good = {"migrated": {"chat_id": "-1002345678", "to": "-1001002345678"}}  # a basic group's id may begin with -100
    assert list(transfer.read_records(_file(good), "export")) == [good]
    with pytest.raises(InputError, match=f"line 2: migrated: .*{said}"):
        list(transfer.read_records(_file({"migrated": {"chat_id": old, "to": new}}), "export"))


@pytest.mark.parametrize("lines", [
    [("-5", "-1001000000005"), ("-5", "-1001000000006")],
    [("-5", "-1001000000005"), ("-6", "-1001000000005")],
], ids=["one group, two supergroups", "two groups, one supergroup"])
def test_an_id_migrating_twice_in_the_file_refuses_it(lines: list[tuple[str, str]]) -> None:
    records = [{"migrated": {"chat_id": old, "to": new}} for old, new in lines]
    with pytest.raises(InputError, match="Telegram turns a group into a supergroup once"):
        list(transfer.read_records(_file(*records), "export"))


def test_an_id_that_migrated_otherwise_in_this_store_refuses_the_file(stores: tuple[Store, Store]) -> None:  # noqa: F811
    team, _ = stores
    team.migrate_subscription(str(OLD_GROUP), str(NEW_GROUP))
    records = list(transfer.read_records(_file({"migrated": {"chat_id": str(OLD_GROUP), "to": "-1001000000006"}}), "export"))
    with pytest.raises(InputError, match="Telegram turns a group into a supergroup once"):
        transfer.import_records(team, records)
    assert team.migrations() == [(str(OLD_GROUP), str(NEW_GROUP))]
    transfer.import_records(team, transfer.read_records(  # the same migration again is no news
        _file({"migrated": {"chat_id": str(OLD_GROUP), "to": str(NEW_GROUP)}}), "export"))


def test_a_migrated_line_linking_two_live_chats_of_other_readers_refuses_the_file(
    stores: tuple[Store, Store],  # noqa: F811
) -> None:
    """The review's probe: -1 (acme) and -1001000000002 (globex) both subscribed; an edited line would make them one chat (a
    removal of either forgets both, and -1's subscription moves into globex's chat)."""
    team, _ = stores
    subscribers.redeem(team, subscribers.create_invite(team, ACME)[0], -1, ChatKind.GROUP)
    _, globex = subscribers.create_invite(team, GLOBEX)
    line = {"migrated": {"chat_id": "-1", "to": "-1001000000002"}}
    in_the_file = _file({"invite": {"hash": globex.hash, "visibility": "audience:globex", "components": [],
                                    "created_at": "2026-12-01T09:00:00+00:00", "max_uses": None, "uses": 1}},
                        _subscription("-1001000000002", "audience:globex", globex.hash), line)
    with pytest.raises(InputError, match="both are subscribed, to other readers' updates"):
        transfer.import_records(team, transfer.read_records(in_the_file, "export", {"acme", "globex"}))
    subscribers.redeem(team, subscribers.create_invite(team, GLOBEX)[0], -1001000000002, ChatKind.GROUP)
    with pytest.raises(InputError, match="both are subscribed, to other readers' updates"):
        transfer.import_records(team, transfer.read_records(_file(line), "export", {"acme", "globex"}))
    assert team.migrations() == []
    assert {s.chat_id for s in team.subscriptions(active=True)} == {"-1", "-1001000000002"}
    with pytest.raises(InputError, match="both are subscribed"):  # both in the file: refused before a store is read
        list(transfer.read_records(_file(_subscription("-1", "public"),
                                         _subscription("-1001000000002", "audience:globex", globex.hash), line),
                                   "export", {"acme", "globex"}))
