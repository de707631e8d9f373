"""Chats that subscribe themselves through the bot, and the invites that let them.

The values (``Subscription``, ``Invite``, ``Redemption``), the rules, and the
functions the bot and the ``subscribers`` commands call; the SQL is the
store's (``broadcaster.store.subscriptions``), on both backends.

The rules:

* **Invites.** A code is ``secrets.token_urlsafe(24)``: 192 random bits in 32
  characters of ``A-Za-z0-9_-``, which a Telegram deep link carries as is
  (at most 64 of those). Only its SHA-256 is stored; the code is shown once,
  by ``subscribers invite``. An invite's ``id`` (the first 12 hex digits of the
  hash) names it in listings and ``subscribers revoke``: it does not let anyone in.
* **Counting.** Redeeming checks and counts a use in one transaction under the
  invite's row lock, and the count is a compare-and-set on the uses read: across
  processes and machines a use is counted once, and the last use goes to one chat.
  Expired, revoked, used-up or unknown invites raise ``InviteRefused`` (its
  ``reason`` says which), and nothing is stored. Redeeming the invite a chat is
  already subscribed with changes nothing and uses nothing.
* **Visibility.** A chat's visibility is that of the last invite redeemed in it,
  or ``public`` if it never redeemed one. A plain ``/start`` subscribes a new
  chat to public updates and reactivates an existing subscription as it was: it
  never changes its visibility. No command lets a chat choose its visibility:
  it changes only by redeeming an invite the operator made, and then
  ``Redemption.previous`` holds what it was, so the bot says so (a public
  invite redeemed in a customer's chat moves it to public updates, never silently).
* **Components.** A subscription's ``components`` (empty: every component) are
  the invite's; ``/components`` may choose among the invite's components (any
  component when the invite names none), never beyond them.
* **Revoking** an invite refuses its later uses; chats that joined with it stay
  subscribed until ``subscribers remove``.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from broadcaster import lazy_re
from broadcaster.errors import InputError
from broadcaster.messages.model import PUBLIC, Level, Visibility

if TYPE_CHECKING:
    from broadcaster.store import Store

CODE_BYTES = 24  # 192 bits; token_urlsafe makes 32 characters of A-Za-z0-9_-
INVITE_CODE = lazy_re.compile(r"[A-Za-z0-9_-]{22,64}")  # what a deep link's payload may be
INVITE_ID_CHARS = 12  # the hash prefix that names an invite in listings
INVITE_ID = lazy_re.compile(r"[0-9a-f]{8,64}")
DEFAULT_EXPIRY = timedelta(days=7)
CHAT_ID = lazy_re.compile(r"-?[0-9]{1,20}")


class ChatKind(StrEnum):
    PRIVATE = "private"
    GROUP = "group"  # groups and supergroups: only an administrator subscribes one


class Refusal(StrEnum):
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    REVOKED = "revoked"
    USED_UP = "used up"


class InviteRefused(InputError):
    """An invite that cannot be redeemed (``reason``); nothing was stored."""

    def __init__(self, reason: Refusal, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Invite:
    """An invite as stored: its hash, never its code."""

    hash: str
    visibility: Visibility
    components: tuple[str, ...]
    created_at: datetime
    expires_at: datetime | None
    max_uses: int | None  # None: as many as come before it expires
    uses: int
    revoked_at: datetime | None

    @property
    def id(self) -> str:
        return self.hash[:INVITE_ID_CHARS]

    @property
    def uses_left(self) -> int | None:
        return None if self.max_uses is None else max(self.max_uses - self.uses, 0)

    def refusal(self, now: datetime) -> Refusal | None:
        """Why it cannot be redeemed at ``now``; None when it can."""
        if self.revoked_at is not None:
            return Refusal.REVOKED
        if self.expires_at is not None and self.expires_at <= now:
            return Refusal.EXPIRED
        if self.max_uses is not None and self.uses >= self.max_uses:
            return Refusal.USED_UP
        return None

    def state(self, now: datetime) -> str:
        refusal = self.refusal(now)
        return "active" if refusal is None else str(refusal)


@dataclass(frozen=True)
class Subscription:
    """One chat's subscription. ``chat_id`` is Telegram's, as text (a delivery's target)."""

    chat_id: str
    kind: ChatKind
    visibility: Visibility
    components: tuple[str, ...]  # empty: every component
    active: bool
    joined_at: datetime
    updated_at: datetime
    invite: str | None  # the hash of the invite it joined with; None for a plain /start
    inactive_reason: str | None = None

    def wants(self, component_ids: Collection[str]) -> bool:
        """Whether an update touching these components goes to this chat (the configured channels' rule)."""
        return not self.components or bool(set(component_ids) & set(self.components))

    def choice(self, known: Collection[str]) -> tuple[str, ...]:
        """The components this chat hears, given the config's (``known``): its choice, or none (every one) when
        the choice names a component the config no longer defines (renamed, removed). Never silence: a chat that
        chose "db" must not go deaf to the database because it is now called "database"."""
        return () if self.unknown_components(known) else self.components

    def unknown_components(self, known: Collection[str]) -> tuple[str, ...]:
        return tuple(c for c in self.components if c not in known)

    def hears(self, component_ids: Collection[str], known: Collection[str]) -> bool:
        """``wants``, by its ``choice`` among the config's components."""
        chosen = self.choice(known)
        return not chosen or bool(set(component_ids) & set(chosen))


@dataclass(frozen=True)
class Redemption:
    """What redeeming an invite did."""

    subscription: Subscription
    previous: Visibility | None = None  # the chat's visibility before, when this changed it
    counted: bool = True  # False: the chat already had this invite's subscription


def _now() -> datetime:
    return datetime.now(UTC)


# -- codes -------------------------------------------------------------------------


def new_code() -> str:
    """A fresh code; never one starting with "-", which `subscribers revoke CODE` would take for options."""
    code = secrets.token_urlsafe(CODE_BYTES)
    while code.startswith("-"):
        code = secrets.token_urlsafe(CODE_BYTES)
    return code


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode("ascii")).hexdigest()


def check_chat_id(chat_id: str | int) -> str:
    text = str(chat_id).strip()
    if not CHAT_ID.fullmatch(text):
        raise InputError(f"{str(chat_id)[:40]!r} is not a Telegram chat id (a number, -100... for groups).")
    return str(int(text))


# -- what the bot and the commands call --------------------------------------------------


def create_invite(
    store: Store,
    visibility: Visibility,
    components: Sequence[str] = (),
    *,
    expires: timedelta | None = DEFAULT_EXPIRY,
    uses: int | None = None,
    now: datetime | None = None,
) -> tuple[str, Invite]:
    """A new invite; returns its code (shown once, never stored) and the stored invite."""
    if uses is not None and uses < 1:
        raise InputError("--uses must be at least 1.")
    if expires is not None and expires <= timedelta(0):
        raise InputError("--expires must be in the future (e.g. 7d, 12h, 30m).")
    created = now or _now()
    code = new_code()
    invite = Invite(
        hash=code_hash(code), visibility=visibility, components=tuple(dict.fromkeys(components)),
        created_at=created, expires_at=created + expires if expires is not None else None,
        max_uses=uses, uses=0, revoked_at=None,
    )
    store.insert_invite(invite)
    return code, invite


def where_now(store: Store, chat_id: str | int) -> str:
    """The chat's id for a change of its subscription: a group's, or, once its subscription followed it to the
    supergroup it became (a post or the bot, in any process), the supergroup's. A /stop or an invite the group sent
    just before, read after the move, changed nothing, and the supergroup kept hearing the customer (review 28b)."""
    chat = check_chat_id(chat_id)
    if store.subscription(chat) is None and (moved := store.migrated_to(chat)) is not None:
        return moved if store.subscription(moved) is not None else chat
    return chat


def redeem(store: Store, code: str, chat_id: str | int, kind: ChatKind, *, now: datetime | None = None) -> Redemption:
    """Subscribe a chat with an invite's visibility and components; ``InviteRefused`` if it cannot."""
    if not INVITE_CODE.fullmatch(code):
        raise InviteRefused(Refusal.UNKNOWN, "That is not an invite code.")
    return store.redeem_invite(code_hash(code), where_now(store, chat_id), kind, now or _now())


def subscribe(store: Store, chat_id: str | int, kind: ChatKind, *, now: datetime | None = None) -> Subscription:
    """A plain ``/start``: a new chat gets public updates; an existing subscription is reactivated as it was."""
    return store.subscribe_public(where_now(store, chat_id), kind, now or _now())


def unsubscribe(store: Store, chat_id: str | int) -> bool:
    """``/stop``: the subscription stays, inactive, so ``/start`` brings it back as it was."""
    return deactivate(store, chat_id, "stopped")


def deactivate(store: Store, chat_id: str | int, reason: str) -> bool:
    """Stop sending to a chat (it blocked the bot, left, or was deleted); True if it was active."""
    return store.deactivate_subscription(where_now(store, chat_id), reason)


def remove(store: Store, chat_id: str | int) -> bool:
    """``subscribers remove``: forget the chat; its next ``/start`` is a new public subscription."""
    return store.remove_subscription(check_chat_id(chat_id))


def migrate(store: Store, old_chat_id: str | int, new_chat_id: str | int) -> bool:
    """A group became a supergroup: its subscription follows it to the new id."""
    return store.migrate_subscription(check_chat_id(old_chat_id), check_chat_id(new_chat_id))


def choose_components(
    store: Store, chat_id: str | int, components: Sequence[str], known: Collection[str]
) -> Subscription:
    """``/components``: the chat's choice among what its invite allows (``known``: the config's)."""
    chat = where_now(store, chat_id)
    current = store.subscription(chat)
    if current is None:
        raise InputError("This chat is not subscribed: send /start first.")
    allowed = allowed_components(store, current, known)
    outside = [c for c in components if c not in allowed]
    if outside:
        raise InputError(f"Not among this chat's components: {', '.join(outside)}.")
    chosen = tuple(c for c in allowed if c in components)
    # Empty means every component, so only a chat whose invite names none may store it: one whose
    # invite does keeps its choice written out, or ticking all of them again would widen it to all.
    invite = store.invite(current.invite) if current.invite else None
    everything = set(chosen) == set(allowed) and not (invite is not None and invite.components)
    return store.set_subscription_components(chat, () if everything else chosen)


def allowed_components(store: Store, subscription: Subscription, known: Collection[str]) -> tuple[str, ...]:
    """What ``/components`` offers a chat: its invite's components, or every configured one."""
    invite = store.invite(subscription.invite) if subscription.invite else None
    offered = tuple(c for c in invite.components if c in known) if invite is not None and invite.components else ()
    return offered or tuple(known)  # an invite's components all renamed or removed: an empty keyboard is no choice


def heard_as(visibility: Visibility, audiences: Collection[str]) -> Visibility:
    """What a subscription of ``visibility`` is sent, given the config's audience ids: its own visibility, or
    public when it names an audience the config no longer defines (renamed or removed). Fail closed, and lose
    nothing: such a chat hears what any stranger's chat hears, as ``/status`` answers it, never silence."""
    if visibility.level == Level.AUDIENCE and visibility.audience not in audiences:
        return PUBLIC
    return visibility


def matching(store: Store, visibility: Visibility, component_ids: Collection[str]) -> list[Subscription]:
    """The active subscriptions of one visibility that an update touching these components goes to."""
    return [s for s in store.subscriptions(visibility=visibility, active=True) if s.wants(component_ids)]


def find_invite(store: Store, reference: str) -> Invite:
    """An invite by its code or its id (a prefix of its hash, 8 hex digits or more)."""
    text = reference.strip()
    found = store.invite(code_hash(text)) if INVITE_CODE.fullmatch(text) else None
    if found is None and INVITE_ID.fullmatch(text):
        candidates = [i for i in store.invites() if i.hash.startswith(text)]
        if len(candidates) > 1:
            raise InputError(f"{text!r} names {len(candidates)} invites: give more of its id.")
        found = candidates[0] if candidates else None
    if found is None:
        # A code is never echoed, not even in part: it may open another store's invite.
        named = "with that code" if INVITE_CODE.fullmatch(text) else repr(text[:16])
        raise InputError(
            f"no invite {named}: give its id from `broadcaster subscribers invites` or the code itself."
        )
    return found


def revoke(store: Store, reference: str, *, now: datetime | None = None) -> Invite:
    """Refuse an invite's later uses; returns it as it is now."""
    invite = find_invite(store, reference)
    store.revoke_invite(invite.hash, now or _now())
    revoked = store.invite(invite.hash)
    assert revoked is not None
    return revoked
