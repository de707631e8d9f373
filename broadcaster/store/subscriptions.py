"""The store's half of subscriptions and invites (``broadcaster.subscribers`` holds the rules).

Two tables, in SQL both backends speak: ``invites`` (keyed by the SHA-256 of
the code, never the code) and ``subscriptions`` (keyed by the chat id, as text).
Redeeming is one transaction: the invite's row is locked (``FOR UPDATE`` in
PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` locks the file), checked, and its use
counted by a compare-and-set on the count read, then the chat's subscription
is written. So a use is never counted twice and the last use goes to one chat,
whichever processes or machines redeem at once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from broadcaster.config import SUBSCRIBERS
from broadcaster.errors import StoreError
from broadcaster.messages.model import Visibility
from broadcaster.store.records import Row, iso, parsed_json, utc, utcnow
from broadcaster.subscribers import ChatKind, Invite, InviteRefused, Redemption, Refusal, Subscription

INVITE_COLUMNS = ("hash", "visibility", "components", "created_at", "expires_at", "max_uses", "uses", "revoked_at")
SUBSCRIPTION_COLUMNS = (
    "chat_id", "kind", "visibility", "components", "active", "joined_at", "updated_at", "invite", "inactive_reason",
)

REMOVED = "removed:"  # in ``meta``, ``removed:CHAT`` holds when ``subscribers remove`` last forgot that chat
# In ``meta``, ``migrated:OLD`` holds the id a group took when it became a supergroup: a removal under either id is
# the group's (an export from before the migration names the old one, ``subscribers list`` shows the new one).
MIGRATED = "migrated:"

_REFUSED = {
    Refusal.UNKNOWN: "That invite is not known: ask for a new one.",
    Refusal.EXPIRED: "That invite has expired: ask for a new one.",
    Refusal.REVOKED: "That invite was revoked: ask for a new one.",
    Refusal.USED_UP: "That invite has been used as often as it may be: ask for a new one.",
}


class SubscriptionStore:
    """Invites and subscriptions; mixed into ``Store``, whose primitives it uses."""

    lock_for_update: ClassVar[str] = ""

    if TYPE_CHECKING:

        def select(self, sql: str, args: Sequence[Any] = ()) -> list[Row]: ...
        def select_one(self, sql: str, args: Sequence[Any] = ()) -> Row | None: ...
        def run(self, sql: str, args: Sequence[Any] = ()) -> int: ...
        def run_atomic(self, sql: str, args: Sequence[Any] = ()) -> int: ...
        def transaction(self) -> Any: ...

    # -- invites -----------------------------------------------------------------

    def insert_invite(self, invite: Invite) -> None:
        self.run_atomic(
            f"INSERT INTO invites({', '.join(INVITE_COLUMNS)}) VALUES ({','.join('?' * len(INVITE_COLUMNS))})",
            invite_values(invite),
        )

    def invite(self, invite_hash: str) -> Invite | None:
        row = self.select_one("SELECT * FROM invites WHERE hash = ?", (invite_hash,))
        return invite_from(row) if row else None

    def invites(self) -> list[Invite]:
        return [invite_from(r) for r in self.select("SELECT * FROM invites ORDER BY created_at, hash")]

    def revoke_invite(self, invite_hash: str, at: datetime) -> bool:
        """True if it was not revoked before."""
        return self.run_atomic(
            "UPDATE invites SET revoked_at = ? WHERE hash = ? AND revoked_at IS NULL", (iso(at), invite_hash)
        ) == 1

    def redeem_invite(self, invite_hash: str, chat_id: str, kind: ChatKind, at: datetime) -> Redemption:
        """Count one use of the invite and subscribe the chat with it, in one transaction."""
        with self.transaction():
            row = self.select_one(f"SELECT * FROM invites WHERE hash = ?{self.lock_for_update}", (invite_hash,))
            invite = invite_from(row) if row else None
            before = self.subscription(chat_id)
            # The chat already holds this invite (a link tapped twice): nothing to use, so nothing to refuse,
            # even when the invite is used up (by this very chat) or has expired since. A revoked one is
            # refused: the operator withdrew it, and the chat is told so rather than that all is well.
            # Also a chat that sent /stop and opens the same link to come back: one chat, one use (a plain /start
            # brings it back too), though an expired link is refused to it as to any chat not holding it now. A
            # group the bot left (or that blocked it) may have other members now: it takes a use, as a new chat does.
            if (invite is not None and invite.revoked_at is None and before is not None
                    and before.invite == invite_hash and _may_come_back(before, invite, at)):
                if not before.active:
                    self.run("UPDATE subscriptions SET active = 1, inactive_reason = NULL, updated_at = ?"
                             " WHERE chat_id = ?", (iso(at), chat_id))
                    before = self.subscription(chat_id) or before
                return Redemption(before, counted=False)
            refusal = Refusal.UNKNOWN if invite is None else invite.refusal(at)
            if refusal is not None:
                raise InviteRefused(refusal, _REFUSED[refusal])
            assert invite is not None
            counted = self.run(
                "UPDATE invites SET uses = uses + 1 WHERE hash = ? AND uses = ? AND revoked_at IS NULL",
                (invite_hash, invite.uses),
            )
            if counted != 1:  # cannot happen under the row lock; kept so a use is never counted twice
                raise InviteRefused(Refusal.USED_UP, _REFUSED[Refusal.USED_UP])
            # joined_at is when the chat joined with the invite it holds (its grant), even if it was subscribed
            # before: a removal in another store is weighed against it (``apply_removal``), and a /start or a
            # /components choice since, which grants nothing, never moves it.
            subscription = Subscription(
                chat_id=chat_id, kind=kind, visibility=invite.visibility, components=invite.components,
                active=True, joined_at=at, updated_at=at, invite=invite_hash,
            )
            self._write_subscription(subscription)
        changed = before is not None and before.visibility != invite.visibility
        return Redemption(subscription, previous=before.visibility if changed and before else None)

    # -- subscriptions ---------------------------------------------------------------

    def subscribe_public(self, chat_id: str, kind: ChatKind, at: datetime) -> Subscription:
        """A new chat subscribed to public updates; an existing one reactivated, visibility unchanged."""
        with self.transaction():
            before = self.subscription(chat_id)
            if before is None:
                subscription = Subscription(
                    chat_id=chat_id, kind=kind, visibility=Visibility.parse("public"), components=(),
                    active=True, joined_at=at, updated_at=at, invite=None,
                )
                self._write_subscription(subscription)
                return subscription
            self.run(
                "UPDATE subscriptions SET active = 1, inactive_reason = NULL, updated_at = ? WHERE chat_id = ?",
                (iso(at), chat_id),
            )
        found = self.subscription(chat_id)
        assert found is not None
        return found

    def subscription(self, chat_id: str) -> Subscription | None:
        row = self.select_one("SELECT * FROM subscriptions WHERE chat_id = ?", (chat_id,))
        return subscription_from(row) if row else None

    def subscriptions(self, *, visibility: Visibility | None = None, active: bool | None = None) -> list[Subscription]:
        sql, args = "SELECT * FROM subscriptions WHERE 1=1", list[Any]()
        if visibility is not None:
            sql += " AND visibility = ?"
            args.append(str(visibility))
        if active is not None:
            sql += " AND active = ?"
            args.append(1 if active else 0)
        return [subscription_from(r) for r in self.select(sql + " ORDER BY joined_at, chat_id", args)]

    def set_subscription_components(self, chat_id: str, components: Sequence[str]) -> Subscription:
        self.run_atomic(
            "UPDATE subscriptions SET components = ?, updated_at = ? WHERE chat_id = ?",
            (json.dumps(list(components)), iso(utcnow()), chat_id),
        )
        found = self.subscription(chat_id)
        if found is None:
            raise StoreError(f"the subscription of chat {chat_id} vanished from the store")
        return found

    def deactivate_subscription(self, chat_id: str, reason: str) -> bool:
        """Stop sending to a chat, saying why; True if it was active. A chat that stopped itself and is then left
        by the bot (removed, blocked) takes the new reason, and a ``/stop`` never replaces one: ``/start`` brings back
        only a chat that stopped itself."""
        with self.transaction():
            row = self.select_one("SELECT active, inactive_reason FROM subscriptions WHERE chat_id = ?", (chat_id,))
            was_active = row is not None and bool(row["active"])
            # An inactive chat keeps its first reason, but for one that stopped itself and is then left by the bot;
            # a /stop never turns a chat the bot left into one that stopped.
            if was_active or (row is not None and row["inactive_reason"] == "stopped" and reason != "stopped"):
                self.run("UPDATE subscriptions SET active = 0, inactive_reason = ?, updated_at = ? WHERE chat_id = ?",
                         (reason, iso(utcnow()), chat_id))
        return was_active

    def remove_subscription(self, chat_id: str) -> bool:
        """Forget the chat, keeping when (``meta`` ``removed:CHAT``): ``store import`` of an export made before
        the removal (a backup, the file the store was moved with) would otherwise subscribe it again, with the
        customer's detail it was removed from. A group that became a supergroup is forgotten under each of its ids
        (``chat_ids``): an export from before the migration names the old one. True if it was subscribed."""
        with self.transaction():
            chats = self.chat_ids(chat_id)
            removed = sum(self.run("DELETE FROM subscriptions WHERE chat_id = ?", (chat,)) for chat in chats) > 0
            if removed:
                at = iso(utcnow())
                for chat in chats:
                    self.run("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET"
                             " value = excluded.value", (REMOVED + chat, at))
        return removed

    def removals(self) -> list[tuple[str, datetime]]:
        """Every chat ``subscribers remove`` forgot, with when: ``store export`` carries them, so a store moved or
        kept current by import forgets the chat too, and an older export never brings it back there."""
        rows = self.select("SELECT key, value FROM meta WHERE key LIKE ? ORDER BY key", (REMOVED + "%",))
        return [(row["key"][len(REMOVED):], utc(row["value"])) for row in rows]  # type: ignore[misc]

    def apply_removal(self, chat_id: str, removed_at: datetime) -> int:
        """Another store's ``subscribers remove`` of the chat, taken here (``store import``): the later time of the
        two is kept, and a subscription here granted before it (``joined_at``: its redemption, or its public join)
        is forgotten as the removal forgot it there, whatever the chat did since (a /start, a /components choice,
        a /stop and /start grant nothing new). Under each of the chat's ids (``chat_ids``): the other store may know
        the group by the id it had before becoming a supergroup, this one by the new one, or the other way round.
        Returns how many were forgotten. Runs in the caller's transaction."""
        forgotten = 0
        for chat in self.chat_ids(chat_id):
            row = self.select_one("SELECT value FROM meta WHERE key = ?", (REMOVED + chat,))
            if row is None or utc(row["value"]) < removed_at:  # type: ignore[operator]
                self.run("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET"
                         " value = excluded.value", (REMOVED + chat, iso(removed_at)))
            found = self.select_one("SELECT joined_at FROM subscriptions WHERE chat_id = ?", (chat,))
            if found is not None and utc(found["joined_at"]) <= removed_at:  # type: ignore[operator]
                forgotten += self.run("DELETE FROM subscriptions WHERE chat_id = ?", (chat,))
        return forgotten

    def removed_at(self, chat_id: str) -> datetime | None:
        """When ``subscribers remove`` last forgot the chat, under any of its ids (``chat_ids``), if it did."""
        times = [utc(row["value"]) for chat in self.chat_ids(chat_id)
                 for row in self.select("SELECT value FROM meta WHERE key = ?", (REMOVED + chat,))]
        return max((t for t in times if t is not None), default=None)

    def chat_ids(self, chat_id: str) -> list[str]:
        """The chat's ids: its own, and those Telegram gave the same group before or after it became a supergroup
        (``migrate_subscription``, or an import of a store that saw it), the given one first."""
        chats = [chat_id]
        for chat in chats:  # grows as it goes: a chain of migrations, seen from either end
            after = self.select("SELECT value FROM meta WHERE key = ?", (MIGRATED + chat,))
            before = self.select("SELECT key FROM meta WHERE key LIKE ? AND value = ?", (MIGRATED + "%", chat))
            linked = [row["value"] for row in after] + [row["key"][len(MIGRATED):] for row in before]
            chats += [linked_chat for linked_chat in dict.fromkeys(linked) if linked_chat not in chats]
        return chats

    def migrated_to(self, chat_id: str) -> str | None:
        """The id the group took when it became a supergroup, if this store knows it did (``migrated:``)."""
        row = self.select_one("SELECT value FROM meta WHERE key = ?", (MIGRATED + chat_id,))
        return str(row["value"]) if row is not None else None

    def migrations(self) -> list[tuple[str, str]]:
        """Every group's old id and the supergroup id it became: ``store export`` carries them, so a store that
        imports it knows the two ids as one chat (a removal under either forgets both)."""
        rows = self.select("SELECT key, value FROM meta WHERE key LIKE ? ORDER BY key", (MIGRATED + "%",))
        return [(row["key"][len(MIGRATED):], row["value"]) for row in rows]

    def apply_migration(self, old_chat_id: str, new_chat_id: str) -> None:
        """Another store saw a group become a supergroup (``store import``): kept as this store's own, and a
        subscription here at the old id follows it as ``migrate_subscription`` moves one (its last change kept: the
        chat changed nothing). Runs in the caller's transaction."""
        self._follow(old_chat_id, new_chat_id, None)

    def migrate_subscription(self, old_chat_id: str, new_chat_id: str) -> bool:
        """Move a subscription to a group's new id, and its deliveries with it (``_move_deliveries``), in one
        transaction. One already at the new id is kept as it is: it was made in the supergroup, after the
        migration, so it is the chat's latest choice; the old one is dropped."""
        with self.transaction():
            return self._follow(old_chat_id, new_chat_id, iso(utcnow()))

    def _follow(self, old_chat_id: str, new_chat_id: str, at: str | None) -> bool:
        """The migration kept (``meta`` ``migrated:OLD``), the old id's subscription and deliveries moved to the new
        id; ``at`` the subscription's last change (None: kept as it was). One granted before a removal of the group
        under either id is forgotten instead: the operator took the chat off it (an old export brought it back)."""
        self.run("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                 (MIGRATED + old_chat_id, new_chat_id))
        old, removed_at = self.subscription(old_chat_id), self.removed_at(new_chat_id)
        if old is not None and removed_at is not None and old.joined_at <= removed_at:
            self.run("DELETE FROM subscriptions WHERE chat_id = ?", (old_chat_id,))
            return False
        self._move_deliveries(old_chat_id, new_chat_id)
        if self.subscription(new_chat_id) is not None:
            return self.run("DELETE FROM subscriptions WHERE chat_id = ?", (old_chat_id,)) == 1
        return self.run(
            "UPDATE subscriptions SET chat_id = ?, updated_at = COALESCE(?, updated_at) WHERE chat_id = ?",
            (new_chat_id, at, old_chat_id),
        ) == 1

    def _move_deliveries(self, old_chat_id: str, new_chat_id: str) -> None:
        """The subscribed chat's deliveries retargeted to its new id, so `retry`, `amend`, `withdraw` and
        follow-ups, which look for them at today's target, find them. Only deliveries with no post in the old
        group move (unsent ones, and those whose send followed the migration: their ids name the new chat);
        a post left in the old group cannot be edited or deleted through the new id, and one the new chat
        already holds for the same update (a second subscription there) is not overwritten."""
        rows = self.select(
            "SELECT id, incident_id, sequence, destination, remote_id, parts FROM deliveries"
            " WHERE target = ? AND (destination = ? OR destination LIKE ?)",
            (old_chat_id, SUBSCRIBERS, f"{SUBSCRIBERS}.%"),
        )
        for row in rows:
            posts = [*parsed_json(row["parts"]), *([row["remote_id"]] if row["remote_id"] else [])]
            if any(_chat_of(post, old_chat_id) == old_chat_id for post in posts):
                continue
            self.run(
                "UPDATE deliveries SET target = ? WHERE id = ? AND NOT EXISTS (SELECT 1 FROM deliveries d"
                " WHERE d.incident_id = ? AND d.sequence = ? AND d.destination = ? AND d.target = ?)",
                (new_chat_id, row["id"], row["incident_id"], row["sequence"], row["destination"], new_chat_id),
            )

    def _write_subscription(self, subscription: Subscription) -> None:
        columns = ", ".join(SUBSCRIPTION_COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in SUBSCRIPTION_COLUMNS if c != "chat_id")
        self.run(
            f"INSERT INTO subscriptions({columns}) VALUES ({','.join('?' * len(SUBSCRIPTION_COLUMNS))})"
            f" ON CONFLICT (chat_id) DO UPDATE SET {updates}",
            subscription_values(subscription),
        )


def _may_come_back(before: Subscription, invite: Invite, at: datetime) -> bool:
    """Whether a chat holding an invite is (back) on it uncounted: it is subscribed, or, while the invite has not
    expired, it stopped itself (a group the bot left needs a new use, as a plain /start there needs a new invite) or
    is a private chat (one person)."""
    if before.active:
        return True
    unexpired = invite.expires_at is None or invite.expires_at > at
    return unexpired and (before.inactive_reason == "stopped" or before.kind == ChatKind.PRIVATE)


# -- rows <-> values ---------------------------------------------------------------------


def _chat_of(remote_id: str, target: str) -> str:
    """The chat a Telegram post's id names (``-1005:12``), or ``target`` for a bare message number."""
    chat, _, number = remote_id.rpartition(":")
    return chat if chat and number.isascii() and number.isdigit() else target


def invite_values(invite: Invite) -> list[Any]:
    return [
        invite.hash, str(invite.visibility), json.dumps(list(invite.components)), iso(invite.created_at),
        iso(invite.expires_at), invite.max_uses, invite.uses, iso(invite.revoked_at),
    ]


def invite_from(row: Row) -> Invite:
    return Invite(
        hash=row["hash"],
        visibility=Visibility.parse(row["visibility"]),
        components=tuple(parsed_json(row["components"])),
        created_at=utc(row["created_at"]),  # type: ignore[arg-type]
        expires_at=utc(row["expires_at"]),
        max_uses=row["max_uses"],
        uses=int(row["uses"]),
        revoked_at=utc(row["revoked_at"]),
    )


def subscription_values(subscription: Subscription) -> list[Any]:
    return [
        subscription.chat_id, subscription.kind.value, str(subscription.visibility),
        json.dumps(list(subscription.components)), 1 if subscription.active else 0, iso(subscription.joined_at),
        iso(subscription.updated_at), subscription.invite, subscription.inactive_reason,
    ]


def subscription_from(row: Row) -> Subscription:
    return Subscription(
        chat_id=row["chat_id"],
        kind=ChatKind(row["kind"]),
        visibility=Visibility.parse(row["visibility"]),
        components=tuple(parsed_json(row["components"])),
        active=bool(row["active"]),
        joined_at=utc(row["joined_at"]),  # type: ignore[arg-type]
        updated_at=utc(row["updated_at"]),  # type: ignore[arg-type]
        invite=row["invite"],
        inactive_reason=row["inactive_reason"],
    )
