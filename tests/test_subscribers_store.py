"""Invites and subscriptions in the store (issue 19), on both backends: SQLite and a real PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from broadcaster.messages.model import Visibility

from broadcaster import subscribers
from broadcaster.errors import InputError
from broadcaster.store import SQLiteStore, Store, transfer
from broadcaster.subscribers import ChatKind, InviteRefused, Refusal
from tests import test_store_backends as backends
from tests.pg import pg_server_fixture, pg_url_fixture  # noqa: F401 - pytest fixtures
from tests.test_store_backends import Opener, in_threads

opener = backends.opener  # the fixture: each test runs on SQLite and on PostgreSQL

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
PUBLIC = Visibility.parse("public")
ACME = Visibility.parse("audience:acme")
INTERNAL = Visibility.parse("internal")


def test_an_invite_is_random_stored_hashed_and_redeemed_with_its_visibility(opener: Opener) -> None:
    store = opener()
    code, invite = subscribers.create_invite(store, ACME, ["api", "web"], expires=timedelta(days=7), uses=3, now=NOW)
    assert len(code) >= 22 and subscribers.INVITE_CODE.fullmatch(code)  # 128+ bits, a deep link's alphabet
    assert invite.hash == hashlib.sha256(code.encode()).hexdigest()
    rows = store.select("SELECT * FROM invites")
    assert [r["hash"] for r in rows] == [invite.hash] and code not in repr([dict(r) for r in rows])
    redeemed = subscribers.redeem(store, code, -1001234, ChatKind.GROUP, now=NOW + timedelta(hours=1))
    sub = redeemed.subscription
    assert (sub.chat_id, sub.kind, sub.visibility, sub.components, sub.active, sub.invite) == (
        "-1001234", ChatKind.GROUP, ACME, ("api", "web"), True, invite.hash)
    assert redeemed.counted and redeemed.previous is None
    assert store.invite(invite.hash).uses == 1  # type: ignore[union-attr]
    assert store.subscription("-1001234") == sub


def test_two_codes_differ(opener: Opener) -> None:
    store = opener()
    codes = {subscribers.create_invite(store, PUBLIC)[0] for _ in range(20)}
    assert len(codes) == 20


def test_no_code_starts_with_a_dash() -> None:
    # One in 64 would, and `subscribers revoke CODE` would read it as options (-c FILE, -s STORE).
    codes = [subscribers.new_code() for _ in range(3000)]  # without the rule, none starts with "-" at odds of (63/64)**3000, about 4e-21
    assert not [c for c in codes if c.startswith("-")]
    assert all(subscribers.INVITE_CODE.fullmatch(c) and len(c) == 32 for c in codes)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"expires": timedelta(minutes=5), "at": timedelta(minutes=6)}, Refusal.EXPIRED),
        ({"revoke": True}, Refusal.REVOKED),
        ({"uses": 1, "used": True}, Refusal.USED_UP),
    ],
    ids=["expired", "revoked", "used-up"],
)
def test_an_invite_that_cannot_be_used_is_refused_and_stores_nothing(
    opener: Opener, change: dict[str, object], reason: Refusal
) -> None:
    store = opener()
    code, invite = subscribers.create_invite(
        store, INTERNAL, expires=change.get("expires", timedelta(days=1)), uses=change.get("uses"), now=NOW,  # type: ignore[arg-type]
    )
    if change.get("revoke"):
        subscribers.revoke(store, invite.id, now=NOW)
    if change.get("used"):
        subscribers.redeem(store, code, 1, ChatKind.PRIVATE, now=NOW)
    at = NOW + change.get("at", timedelta(seconds=1))  # type: ignore[operator]
    with pytest.raises(InviteRefused) as refused:
        subscribers.redeem(store, code, 2, ChatKind.PRIVATE, now=at)
    assert refused.value.reason == reason and "ask for a new one" in str(refused.value)
    assert store.subscription("2") is None
    assert store.invite(invite.hash).uses == (1 if change.get("used") else 0)  # type: ignore[union-attr]


def test_unknown_and_malformed_codes_are_refused(opener: Opener) -> None:
    store = opener()
    for code in ("A" * 32, "short", "has space in it and is long enough", "Ｚ" * 30):
        with pytest.raises(InviteRefused) as refused:
            subscribers.redeem(store, code, 5, ChatKind.PRIVATE)
        assert refused.value.reason == Refusal.UNKNOWN
    assert store.subscriptions() == []


def test_the_last_use_goes_to_one_chat_across_connections(opener: Opener) -> None:
    store = opener()
    code, invite = subscribers.create_invite(store, ACME, uses=1)

    def redeem(s: Store, n: int) -> str:
        try:
            subscribers.redeem(s, code, 1000 + n, ChatKind.PRIVATE)
        except InviteRefused as exc:
            return str(exc.reason)
        return "won"

    results = in_threads(opener, 6, redeem)
    assert sorted(results) == ["used up"] * 5 + ["won"]  # type: ignore[type-var]
    assert store.invite(invite.hash).uses == 1  # type: ignore[union-attr]
    assert len(store.subscriptions()) == 1


def test_redeeming_the_same_invite_again_uses_nothing(opener: Opener) -> None:
    store = opener()
    code, invite = subscribers.create_invite(store, ACME, uses=2)
    subscribers.redeem(store, code, 7, ChatKind.PRIVATE)
    again = subscribers.redeem(store, code, 7, ChatKind.PRIVATE)
    assert not again.counted and store.invite(invite.hash).uses == 1  # type: ignore[union-attr]


def test_a_chat_cannot_raise_its_own_visibility_and_an_invite_changes_it_openly(opener: Opener) -> None:
    store = opener()
    assert subscribers.subscribe(store, 9, ChatKind.PRIVATE).visibility == PUBLIC
    acme_code, _ = subscribers.create_invite(store, ACME)
    moved = subscribers.redeem(store, acme_code, 9, ChatKind.PRIVATE)
    assert (moved.subscription.visibility, moved.previous) == (ACME, PUBLIC)
    # A plain /start (after /stop too) keeps what the operator's invite gave, never changes it.
    assert subscribers.unsubscribe(store, 9)
    back = subscribers.subscribe(store, 9, ChatKind.PRIVATE)
    assert (back.visibility, back.active) == (ACME, True)
    # A public invite moves it to public, and says so.
    public_code, _ = subscribers.create_invite(store, PUBLIC)
    lowered = subscribers.redeem(store, public_code, 9, ChatKind.PRIVATE)
    assert (lowered.subscription.visibility, lowered.previous) == (PUBLIC, ACME)


def test_components_narrow_within_the_invite(opener: Opener) -> None:
    store = opener()
    known = ("api", "web", "db")
    code, _ = subscribers.create_invite(store, ACME, ["api", "web"])
    subscribers.redeem(store, code, 11, ChatKind.PRIVATE)
    assert subscribers.choose_components(store, 11, ["web"], known).components == ("web",)
    with pytest.raises(InputError, match="db"):
        subscribers.choose_components(store, 11, ["db"], known)
    # All it may have: written out, since empty would mean every component, the invite's or not.
    again = subscribers.choose_components(store, 11, ["web", "api"], known)
    assert again.components == ("api", "web") and not again.wants({"db"})
    subscribers.subscribe(store, 12, ChatKind.PRIVATE)
    assert subscribers.allowed_components(store, store.subscription("12"), known) == known  # type: ignore[arg-type]
    assert subscribers.choose_components(store, 12, ["db"], known).components == ("db",)
    with pytest.raises(InputError, match="/start"):
        subscribers.choose_components(store, 13, ["db"], known)


def test_matching_deactivating_migrating_and_removing(opener: Opener) -> None:
    store = opener()
    code, _ = subscribers.create_invite(store, ACME, ["api"])
    subscribers.redeem(store, code, -100, ChatKind.GROUP)
    subscribers.subscribe(store, 20, ChatKind.PRIVATE)
    subscribers.subscribe(store, 21, ChatKind.PRIVATE)
    assert [s.chat_id for s in subscribers.matching(store, ACME, {"api"})] == ["-100"]
    assert subscribers.matching(store, ACME, {"web"}) == []
    assert subscribers.deactivate(store, 21, "blocked the bot") and not subscribers.deactivate(store, 21, "again")
    assert [s.chat_id for s in subscribers.matching(store, PUBLIC, set())] == ["20"]
    assert store.subscription("21").inactive_reason == "blocked the bot"  # type: ignore[union-attr]
    assert subscribers.migrate(store, -100, -1009999)
    assert store.subscription("-100") is None and store.subscription("-1009999").visibility == ACME  # type: ignore[union-attr]
    assert subscribers.remove(store, 20) and not subscribers.remove(store, 20)
    with pytest.raises(InputError):
        subscribers.remove(store, "@name")


def test_revoke_by_id_or_code_and_ambiguous_or_unknown_references(opener: Opener) -> None:
    store = opener()
    code, invite = subscribers.create_invite(store, PUBLIC)
    assert subscribers.find_invite(store, code) == invite
    assert subscribers.revoke(store, invite.id).state(datetime.now(UTC)) == "revoked"
    with pytest.raises(InputError, match="no invite"):
        subscribers.find_invite(store, "deadbeefdeadbeef")
    with pytest.raises(InputError, match="no invite"):
        subscribers.find_invite(store, "x")


def test_invite_options_are_checked() -> None:
    with pytest.raises(InputError, match="--uses"):
        subscribers.create_invite(None, PUBLIC, uses=0)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="--expires"):
        subscribers.create_invite(None, PUBLIC, expires=timedelta(0))  # type: ignore[arg-type]


# -- export and import ------------------------------------------------------------------


def test_export_and_import_carry_invites_and_subscriptions(opener: Opener, tmp_path: Path) -> None:
    store = opener()
    code, invite = subscribers.create_invite(store, ACME, ["api"], uses=5)
    subscribers.redeem(store, code, -1001, ChatKind.GROUP)
    subscribers.subscribe(store, 42, ChatKind.PRIVATE)
    subscribers.deactivate(store, 42, "blocked the bot")
    subscribers.revoke(store, invite.id)
    lines = list(transfer.export_lines(store))
    assert code not in "\n".join(lines)  # hashes travel, never a code
    target = SQLiteStore(tmp_path / "moved.db")
    result = transfer.import_records(target, transfer.read_records(lines, "export", {"acme"}))
    assert (result.invites_added, result.subscriptions_added) == (1, 2)
    assert target.invites() == store.invites() and target.subscriptions() == store.subscriptions()
    again = transfer.import_records(target, transfer.read_records(lines, "export", {"acme"}))
    assert (again.invites_added, again.subscriptions_added) == (0, 0)
    assert target.invites() == store.invites()


def test_an_import_never_gives_an_invite_uses_back(opener: Opener) -> None:
    store = opener()
    code, invite = subscribers.create_invite(store, PUBLIC, uses=2)
    lines = list(transfer.export_lines(store))  # exported with no use
    subscribers.redeem(store, code, 1, ChatKind.PRIVATE)
    transfer.import_records(store, transfer.read_records(lines, "export"))
    assert store.invite(invite.hash).uses == 1  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("record", "complaint"),
    [
        ({"subscription": {"chat_id": "-1", "kind": "group", "visibility": "audience:ghost", "components": [],
                           "active": True, "joined_at": "2026-11-25T15:00:00+00:00",
                           "updated_at": "2026-11-25T15:00:00+00:00"}}, "ghost"),
        ({"subscription": {"chat_id": "@chan", "kind": "group", "visibility": "public"}}, "chat_id"),
        ({"subscription": {"chat_id": "5", "kind": "channel", "visibility": "public", "active": True}}, "kind"),
        ({"invite": {"hash": "not-a-hash", "visibility": "public"}}, "SHA-256"),
        ({"invite": {"hash": "a" * 64, "visibility": "public", "max_uses": 0,
                     "created_at": "2026-11-25T15:00:00+00:00"}}, "max_uses"),
        ({"invite": {"hash": "a" * 64, "visibility": "private\u200b",
                     "created_at": "2026-11-25T15:00:00+00:00"}}, "visibility"),
    ],
    ids=["unknown-audience", "chat-name", "kind", "hash", "uses", "zero-width-visibility"],
)
def test_import_refuses_a_bad_invite_or_subscription(tmp_path: Path, record: dict[str, object], complaint: str) -> None:
    header = {"format": "broadcaster-store", "version": 1, "schema": 6}
    lines = [json.dumps(header), json.dumps(record)]
    with pytest.raises(InputError, match=complaint):
        list(transfer.read_records(lines, "forged.jsonl", {"acme"}))
