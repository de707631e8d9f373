"""Every place an update can go, by the name operators use for it.

``site`` (the built-in page and feed builder), each ``[publish.NAME]`` target
(uploads what ``site`` built) and each ``[channels.NAME]``. This module decides
which of them an update is for (``--only``/``--skip``, component subscriptions)
and builds their delivery plan; it imports no SDK.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, replace
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any

from broadcaster import subscribers
from broadcaster.config import SITE_DESTINATION, SUBSCRIBERS, ChannelConfig, Config, destination_names, is_subscribers
from broadcaster.delivery import (
    NOT_IN_ONLY,
    SKIPPED_BY_OPERATOR,
    WIDER_THAN_BEFORE,
    CheckResult,
    DeliveryState,
    PostedAnew,
    Receipt,
    Rendered,
)
from broadcaster.destination import Destination, Job, Run, names_target
from broadcaster.errors import (
    DeliveryError,
    InputError,
    MovedElsewhere,
    NotNeeded,
    bounded,
    did_you_mean,
    permanent,
    printable,
)
from broadcaster.messages import advice, i18n
from broadcaster.messages.announcements import announced
from broadcaster.messages.model import INTERNAL, PUBLIC, Level, Visibility
from broadcaster.redaction import redact, remember
from broadcaster.registry import load_channel_class
from broadcaster.site.destination import HostDestination, site_destinations
from broadcaster.store import Delivery, PlannedDelivery

if TYPE_CHECKING:
    from datetime import datetime

    from broadcaster.channels.base import Channel
    from broadcaster.messages.model import Update
    from broadcaster.messages.visibility import UpdateView
    from broadcaster.store import Store
    from broadcaster.subscribers import Subscription


class ChannelDestination:
    """One ``[channels.NAME]``: a ``Channel`` (built on first use, so its SDK loads only when needed)."""

    ordered = True  # follow-ups thread under earlier posts
    idempotent = False  # a second post is a duplicate readers see
    slowest = False  # one request per target, or a few
    sends_rendered = True

    def __init__(self, table: ChannelConfig, request_timeout: float, language: str = i18n.DEFAULT,
                 rooms: Store | None = None) -> None:
        self.name = table.name
        self.language = language  # [page] language: the words the formatters write
        self.visibility = table.visibility
        self.components = table.components
        self.table = table
        self.request_timeout = request_timeout
        self.rooms = rooms  # the store: the chats a channel's names were found to be
        self._channel: Channel | None = None
        # Whether a chat this table's chat moved to is another's (a table's, a subscription's): never followed into.
        self.told_otherwise: Callable[[ChannelConfig, Store, str], bool] | None = None

    @property
    def channel(self) -> Channel:
        if self._channel is None:
            self._channel = load_channel_class(self.table.type)(self.table)
            self._channel.request_timeout = self.request_timeout
            self._channel.rooms = self.rooms
            self._channel.may_follow_to = self._may_follow_to  # type: ignore[method-assign]
            remember_secrets_of(self._channel)
        return self._channel

    def _may_follow_to(self, chat: str) -> bool:
        """Whether a send may follow this table's chat where it moved (a supergroup): never into a chat another
        table or a subscription has (its readers' cut, or the update twice)."""
        return self.told_otherwise is None or self.rooms is None or not self.told_otherwise(self.table, self.rooms, chat)

    @property
    def reports_requests(self) -> bool:
        return self.channel.reports_requests

    @property
    def repeats_alike(self) -> str:
        return self.channel.repeats_alike

    @property
    def keyed_repeats(self) -> bool:
        return self.channel.keyed_repeats

    @property
    def can_edit(self) -> bool:
        return self.channel.can_edit

    @property
    def can_delete(self) -> bool:
        return self.channel.can_delete

    @property
    def keeps_a_summary(self) -> bool:
        return self.channel.keeps_a_summary

    def targets(self) -> tuple[str, ...]:
        return self.channel.targets()

    def target_key(self, target: str) -> str:
        return load_channel_class(self.table.type).target_key(target)

    def targets_for(self, component_ids: set[str]) -> tuple[str, ...]:
        return self.targets()

    @cached_property
    def target_set(self) -> frozenset[str]:
        return frozenset(self.targets())

    def wants(self, component_ids: set[str]) -> bool:
        return self.table.wants(component_ids)

    def render(self, view: UpdateView, update: Update, updates: Sequence[Update]) -> Rendered:
        with i18n.speaking(self.language):
            return self.channel.render(announced(view, update, updates, can_edit=self.can_edit))

    def egress_payloads(self, rendered: Rendered) -> list[tuple[str, str]]:
        return self.channel.egress_payloads(rendered)

    def pacing_seconds(self, deliveries: int) -> float:
        return self.channel.pacing_seconds(deliveries)

    def prepare(self) -> None:
        self.channel.prepare()

    def warm_up(self) -> None:
        pass  # a channel's SDK is imported on its first send, off the slowest destination's path

    def head_start(self, run: Run) -> None:
        return None  # one request or a few: nothing the others need wait for

    async def left_by_cut(self, run: Run) -> None:
        return None  # what a cut post may have left is its delivery's fate: unknown or failed

    async def deliver(self, job: Job) -> Receipt:
        if job.deletes is not None:
            return await self.channel.delete(job.deletes, target=job.target)
        rendered = job.rendered()  # raises LeakRefused: nothing leaves
        if job.replaces is not None:
            return await self.channel.edit(rendered, target=job.target, remote_id=job.replaces, log=job.log)
        if self.told_otherwise is None:  # the bot's subscribers: ``SubscriberDestination`` decides
            return await self.channel.send(rendered, target=job.target, thread=job.thread, log=job.log)
        try:
            return await self.channel.send(rendered, target=job.target, thread=job.thread, log=job.log)
        except MovedElsewhere as elsewhere:
            raise permanent(advice.table_chat_moved_elsewhere(self.name, job.target, elsewhere.moved_to,
                                                              elsewhere.parts)) from None

    async def check(self) -> list[CheckResult]:
        return await self.channel.check()

    async def close(self) -> None:
        if self._channel is not None:  # never built, nothing to close
            await self._channel.aclose()

    def secret_values(self) -> list[str]:
        return self._channel.secret_values() if self._channel is not None else []

    def remote_id_from(self, reference: str, target: str) -> str:
        return self.channel.remote_id_from(reference, target)

    async def checked_post_id(self, remote_id: str, target: str, replies_to: str | None = None) -> str:
        return await self.channel.checked_post_id(remote_id, target, replies_to)

    def remote_location(self, remote_id: str) -> str | None:
        return self.channel.remote_location(remote_id)

    def left_after_delete(self, remote_ids: Sequence[str]) -> list[str]:
        return self.channel.left_after_delete(remote_ids)

    def not_deletable_here(self, remote_id: str, target: str) -> str:
        why = self.channel.not_deletable_here(remote_id, target)
        return type(why)(self.channel.redact(why)) if why else ""  # a NotKnownBeforeLogin stays one

    def not_editable_here(self, remote_id: str, target: str) -> PostedAnew | None:
        why = self.channel.not_editable_here(remote_id, target)
        return why.redacted(self.channel.redact) if why else None

    def names_its_location(self) -> bool:
        return self.channel.names_its_location()

    def posted_here(self, remote_id: str, target: str) -> bool:
        return self.channel.posted_here(remote_id, target)

    def same_post(self, stored: str, given: str) -> bool:
        return self.channel.same_post(stored, given)

    def preflight(self, store: Store) -> None:
        pass


class SubscriberDestination(ChannelDestination):
    """The bot's subscribed chats of one visibility (``[bot]``): one target per active chat.

    Delivered as a configured Telegram channel is (the same client and pacing,
    threading, retries, egress guard and a delivery record per chat), with the view
    its visibility allows. Each chat chooses its components (``targets_for``). A chat
    also listed in a channel table (by its id, or by an @name ``operations.rooms``
    resolved to it) is left to that table, so it hears an update once, at that
    table's visibility.
    A chat that blocked the bot or is gone becomes inactive (the failure is not
    retried); a group that became a supergroup is followed and its new id stored,
    with its deliveries (the store moves them). A chat whose invite named an
    audience the config no longer defines gets the public view (fail closed,
    never silence), and the run's output says so once.
    The chat's subscription is read again as each message leaves (``_still_wanted``): a send waits out a 429 or
    its turn in a broadcast for seconds to minutes, while the chat may be removed, stop, or take other readers'
    invite. A withdrawal deletes the bot's posts also where it no longer sends (``withdrawal_plan``).
    """

    deletes_where_it_no_longer_sends = True  # read by ``engine.no_longer_wanted``

    def __init__(self, config: Config, visibility: Visibility, store: Store | None) -> None:
        assert config.bot is not None
        table = replace(config.bot.table, name=subscribers_name(visibility), visibility=str(visibility))
        super().__init__(table, config.engine.timeout, config.page.language)
        self.scope = visibility
        self._store = store
        self._config = config
        self._configured = {key for t in config.channels.values() for key, _ in _target_keys(t.type, t.options)}
        self._told_unknown_audiences = False
        self._told_unknown_components = False

    @cached_property
    def subscriptions(self) -> list[Subscription]:
        """The active chats of this visibility, less those a channel table names (as written, or by the @name
        the service said is that chat, ``operations.rooms``): those hear the update from their table only."""
        if self._store is None:  # naming and rendering need no store; planning and sending have one
            return []
        rooms = table_rooms(self._config, self._store)
        return [
            s for s in self._scoped(self._store)
            if not any(key in self._configured for key, _ in _target_keys(self.table.type, {"chat_ids": [s.chat_id]}))
            and not rooms.naming(s.chat_id)
        ]

    def _scoped(self, store: Store) -> list[Subscription]:
        """The active chats this destination's view is for (``subscribers.heard_as``): the public one also takes
        the chats whose invite named an audience the config no longer defines (renamed, removed)."""
        if self.scope != PUBLIC:
            return store.subscriptions(visibility=self.scope, active=True)
        return [s for s in store.subscriptions(active=True)
                if subscribers.heard_as(s.visibility, self._config.audiences) == PUBLIC]

    @cached_property
    def unknown_audiences(self) -> dict[str, str]:
        """The chats sent public updates because their audience left the config: chat id -> that audience."""
        return {s.chat_id: s.visibility.audience for s in self.subscriptions if s.visibility != self.scope}

    def targets(self) -> tuple[str, ...]:
        return tuple(s.chat_id for s in self.subscriptions)

    def targets_for(self, component_ids: set[str]) -> tuple[str, ...]:
        return tuple(s.chat_id for s in self.subscriptions if s.hears(component_ids, self._config.component_ids))

    def wants(self, component_ids: set[str]) -> bool:
        return True  # each chat chooses: targets_for

    async def deliver(self, job: Job) -> Receipt:
        if job.deletes is None:  # a delete sends no text: it goes wherever the bot's posts are
            job.log.still_wanted = partial(self._still_wanted, job.run.store, job)
        _SENDING_TO.set(job.target)  # this delivery's task: ``_may_follow_to`` weighs a migration against it
        receipt = await self._deliver_following(job)
        notes = []  # each once a run: a broadcast has many chats
        if job.target in self.unknown_audiences and not self._told_unknown_audiences:
            self._told_unknown_audiences = True
            notes.append(self._unknown_audiences_note())
        if job.target in self.unknown_components and not self._told_unknown_components:
            self._told_unknown_components = True
            notes.append(self._unknown_components_note())
        return replace(receipt, notes=(*receipt.notes, *notes)) if notes else receipt

    @cached_property
    def unknown_components(self) -> dict[str, tuple[str, ...]]:
        """The chats sent every update because they chose a component the config no longer defines (``choice``)."""
        known = self._config.component_ids
        return {s.chat_id: s.unknown_components(known) for s in self.subscriptions if s.unknown_components(known)}

    def _unknown_components_note(self) -> str:
        chats = sorted(self.unknown_components)
        gone = ", ".join(sorted({c for ids in self.unknown_components.values() for c in ids}))
        return (f"{len(chats)} subscribed chat(s) ({', '.join(chats[:5])}{', ...' if len(chats) > 5 else ''}) chose "
                f"components the config no longer defines ({gone}): they are sent every update of their readers, "
                "whatever it touches, until they choose again with /components; `broadcaster subscribers list` "
                "marks them.")

    def _still_wanted(self, store: Store, job: Job) -> None:
        """``NotNeeded`` unless the delivery's chat is still subscribed, active, to this destination's readers, read
        as the message leaves (one indexed query): the run read the subscriptions when it began. A group that became
        a supergroup meanwhile is weighed by the supergroup's subscription (``subscription_now``), and the send
        follows it there (``_may_follow_to``). A post cut between its parts fails instead, saying what is there."""
        chat = job.target
        now = subscription_now(store, chat)
        if now is None:
            why = "it is no longer subscribed (`broadcaster subscribers remove`)"
        elif now.chat_id != chat and now.chat_id in self.target_set:
            why = f"it became {now.chat_id} (a supergroup), which this update goes to under its own subscription"
        elif not now.active:
            why = f"its subscription stopped ({now.inactive_reason or 'inactive'})"
        elif subscribers.heard_as(now.visibility, self._config.audiences) != self.scope:
            why = "it now hears other readers' updates (it joined with another invite)"
        else:
            return
        if not job.log.parts:
            raise NotNeeded(f"chat {chat} changed while this update waited to be sent: {why}. Nothing was sent there "
                            f"from {self.name}.")
        # Part of the post is in the chat: a quiet skip would tell the operator nothing reached it.
        raise permanent(
            f"chat {chat} changed while this update was being sent: {why}. {len(job.log.parts)} of "
            f"{len(job.rendered().messages)} messages of it had been sent there from {self.name}; the rest was not "
            "sent. If what is there must go, `broadcaster withdraw` of the incident deletes it (with the incident's "
            "other posts), or an administrator of the chat deletes it there."
        )

    def _unknown_audiences_note(self) -> str:
        chats = sorted(self.unknown_audiences)
        audiences = ", ".join(sorted(set(self.unknown_audiences.values())))
        return (f"{len(chats)} subscribed chat(s) ({', '.join(chats[:5])}{', ...' if len(chats) > 5 else ''}) "
                f"joined with an invite for audience {audiences}, which the config no longer defines: they are "
                "sent the public view. The same customer's table back, under the name it had, gives them its updates "
                "again (another customer needs an id of its own: the store refuses it under that id). To give them "
                "another customer's updates, send them a new invite (`broadcaster subscribers invite --audience ID`); "
                "`broadcaster subscribers list` marks them.")

    async def _deliver_following(self, job: Job) -> Receipt:
        """The send, with a chat that is gone made inactive and a group that migrated followed, unless the new chat
        hears its updates otherwise (its own subscription, a table): then nothing is sent there from here."""
        try:
            receipt = await super().deliver(job)
        except MovedElsewhere as elsewhere:
            raise NotNeeded(self._moved_to_a_chat_told_otherwise(job.run.store, job.target, elsewhere.moved_to,
                                                                 elsewhere.parts)) from None
        except DeliveryError as exc:
            if not self.channel.target_gone(exc):
                raise
            # The raw error, kept in the store and shown by `subscribers list`: a proxy may echo the token, or answer
            # with megabytes. Cut once escaped: an escape is up to ten characters for one, and `store import` takes
            # no reason longer than its limit (the store's own export was refused).
            reason = bounded(printable(redact(str(exc.__cause__ or exc), self.channel.secret_values()), one_line=True))
            subscribers.deactivate(job.run.store, job.target, reason)
            raise permanent(advice.subscription_ended(job.target, reason)) from exc
        moved = self.channel.moved_target(receipt, job.target)
        if moved is None:
            return receipt
        subscribers.migrate(job.run.store, job.target, moved)
        kept = tuple(n for n in receipt.notes if not n.startswith(f"chat {job.target} migrated"))
        return replace(receipt, notes=(*kept, advice.subscription_moved(job.target, moved)))

    def _may_follow_to(self, chat: str) -> bool:
        if self._store is None:
            return True
        sending_to = _SENDING_TO.get()
        old = self._store.subscription(sending_to)
        granted = old.joined_at if old is not None else None
        told = subscription_told_otherwise(self._config, self._store, chat, self.scope, granted)
        # The group's own subscription, moved to the supergroup during this run (the bot saw the migration, or an
        # earlier delivery followed it): the same readers (``_still_wanted`` read it), and no planned send of its own.
        moved_here = (old is None and told.by == "subscription" and chat not in self.target_set
                      and (now := subscription_now(self._store, sending_to)) is not None and now.chat_id == chat)
        return moved_here or not told.by

    def _moved_to_a_chat_told_otherwise(self, store: Store, old: str, new: str, parts: int) -> str:
        """What becomes of the old subscription and this delivery when the chat it moved to is told otherwise
        (``heard_otherwise``): the reason the delivery is skipped with; a DeliveryError where these readers may not
        have heard the update there (its cut goes to no other readers' chat)."""
        told = follow_migration(self._config, store, old, new)
        return moved_elsewhere_outcome(told, old, new, parts)

    async def check(self) -> list[CheckResult]:
        """The bot's token (getMe), once: on the public subscribers. Chats are never probed."""
        if self.scope != PUBLIC:
            return []
        try:
            name = await self.channel.username()
        except DeliveryError as exc:
            return [CheckResult(self.name, "", False, str(exc))]
        return [CheckResult(self.name, "", True, advice.bot_answers(name))]


def remember_secrets_of(channel: Channel) -> None:
    """Every log record scrubbed of ``channel``'s secrets from now on, in each form it knows them: the
    config's whole values (``load_config`` remembers those) miss what a library logs of them, a secret
    webhook url's token in the URL httpx logs, a Teams ``sig``, a Discord token alone, SMTP's base64."""
    remember(channel.secret_values())


def _target_keys(kind: str, options: Mapping[str, Any]) -> list[tuple[tuple[str, ...], str]]:
    return load_channel_class(kind).target_keys(options)


def subscribers_name(visibility: Visibility) -> str:
    """The destination of the subscribed chats of one visibility: ``subscribers``, ``subscribers.internal``..."""
    return SUBSCRIBERS if visibility == PUBLIC else f"{SUBSCRIBERS}.{str(visibility).replace(':', '.')}"


@dataclass(frozen=True)
class TableRooms:
    """The chats the bot's kind of channel tables name, as far as this machine knows now.

    ``rooms``: each chat (``telegram:-100123``) with the tables that name it, by its id or by an @name the
    service was asked about (``operations.rooms`` asks and the store remembers). ``unresolved``: the tables
    with a name nobody has asked about yet, which may be any group's.
    """

    room_of: Callable[[str], str | None]
    rooms: Mapping[str, tuple[ChannelConfig, ...]]
    unresolved: tuple[ChannelConfig, ...]

    def naming(self, chat_id: str) -> tuple[ChannelConfig, ...]:
        """The tables that certainly name the subscribed chat ``chat_id``."""
        room = self.room_of(chat_id)
        return self.rooms.get(room, ()) if room else ()


def table_rooms(config: Config, store: Store) -> TableRooms:
    """Which chats the channel tables of the bot's type name, from the config and the rooms the store remembers
    (no service is asked here: ``operations.rooms.check_shared_rooms`` does, before a post's first send)."""
    if config.bot is None:
        return TableRooms(lambda _: None, {}, ())
    bot_channel = load_channel_class(config.bot.table.type)(config.bot.table)
    rooms: dict[str, list[ChannelConfig]] = {}
    unresolved: list[ChannelConfig] = []
    for table in config.channels.values():
        if table.type != config.bot.table.type:
            continue
        channel = load_channel_class(table.type)(table)
        for written in channel.room_names():
            unaskable = channel.cache_key_needs_secret and config.missing_secrets({table.name})
            room = channel.room(written) or (None if unaskable else
                                             store.remembered_room(channel.room_cache_key(written)))
            if room:
                rooms.setdefault(room, []).append(table)
            elif room is None and table not in unresolved:  # "": the service knows no such chat
                unresolved.append(table)
    return TableRooms(bot_channel.room, {r: tuple(ts) for r, ts in rooms.items()}, tuple(unresolved))


@dataclass(frozen=True)
class ToldOtherwise:
    """How a chat a group moved to (a supergroup) hears updates without the group's old subscription or table:
    ``by`` "table" (a table names it, by id or by an @name the store resolved), "subscription" (its own), "maybe"
    (a table's @name is unresolved and may be it), "removed" (``subscribers remove`` forgot it, and no subscription
    is there now: for a subscription's send only, ``subscription_told_otherwise``) or "" (nothing: a send follows
    it); ``how``, for a table or a
    subscription: "same" (these readers, every component: it heard this update), "filtered" (these readers, some
    components: it may not have), "other" (other readers: never these readers' cut), "stopped" (it chose to hear
    nothing)."""

    by: str = ""
    how: str = ""


def heard_otherwise(config: Config, store: Store, chat: str, readers: Visibility) -> ToldOtherwise:
    """``ToldOtherwise`` of ``chat`` for a send or subscription of ``readers``."""
    kind = config.bot.table.type if config.bot is not None else "telegram"  # the only kind that migrates today
    rooms = table_rooms(config, store)
    keys = {key for key, _ in _target_keys(kind, {"chat_ids": [chat]})}
    tables = [*rooms.naming(chat), *(t for t in config.channels.values() if t.type == kind
                                     and keys & {key for key, _ in _target_keys(t.type, t.options)})]
    if tables:
        return ToldOtherwise("table", _how(readers, [(t.scope, bool(t.components)) for t in tables]))
    own = store.subscription(chat)
    if own is not None:
        how = "stopped" if not own.active else _how(readers, [(own.visibility, bool(own.components))])
        return ToldOtherwise("subscription", how)
    return ToldOtherwise("maybe") if rooms.unresolved else ToldOtherwise()


def subscription_now(store: Store, chat: str) -> Subscription | None:
    """The subscription a delivery planned for ``chat`` is for now: the chat's own or, for a group that became a
    supergroup since the plan (its subscription moved, ``migrate_subscription``), the supergroup's. Never across a
    removal of the group under any of its ids (``removed_at``): the operator took it off."""
    now = store.subscription(chat)
    if now is not None or store.removed_at(chat) is not None:
        return now
    seen, later = {chat}, store.migrated_to(chat)
    while later is not None and later not in seen:  # a chain, read once per id: an edited import may loop it
        now = store.subscription(later)
        if now is not None:
            return now
        seen.add(later)
        later = store.migrated_to(later)
    return None


# The subscribed chat a delivery's task sends to (``SubscriberDestination.deliver``): the channel asks
# ``may_follow_to`` with the chat a group moved to alone, and deliveries to many chats share the channel.
_SENDING_TO: ContextVar[str] = ContextVar("_SENDING_TO", default="")


def subscription_told_otherwise(config: Config, store: Store, chat: str, readers: Visibility,
                                granted: datetime | None = None) -> ToldOtherwise:
    """``heard_otherwise`` for a subscribed group's send or migration into ``chat``, and "removed" where the
    operator removed ``chat`` (since the old subscription was ``granted``, its ``joined_at``; any removal when
    unknown) and nothing subscribed it since: a group's old id brought back (an old export imported) must not
    lead its readers' detail into the chat that was taken off them."""
    told = heard_otherwise(config, store, chat, readers)
    removed = store.removed_at(chat) if not told.by else None
    if removed is not None and (granted is None or removed >= granted):
        return ToldOtherwise("removed")
    return told


def _how(readers: Visibility, places: Sequence[tuple[Visibility, bool]]) -> str:
    if any(scope == readers and not filtered for scope, filtered in places):
        return "same"
    return "filtered" if any(scope == readers for scope, _ in places) else "other"


def follow_migration(config: Config, store: Store, old: str, new: str) -> ToldOtherwise:
    """A subscribed group became a supergroup: its subscription follows, unless the new chat is told otherwise. Its
    own subscription there (the chat's later choice) stays and the old one ends; a table's chat is the table's (a
    subscription moved there would come back, its readers' cut, the day the table stops naming it): the old one is
    stopped, saying why (``subscribers list`` shows it). A chat the operator removed (``subscription_told_otherwise``)
    takes nothing back: the old id is removed too."""
    subscription = store.subscription(old)
    told = subscription_told_otherwise(config, store, new, subscription.visibility if subscription else PUBLIC,
                                       subscription.joined_at if subscription else None)
    if told.by == "removed":
        subscribers.remove(store, old)  # the same chat, under its old id: removed as the operator removed it
    elif told.by == "table":
        subscribers.deactivate(store, old, f"became {new}, a chat a table names: invite it again if it should hear "
                                           "this subscription's updates")
    else:
        subscribers.migrate(store, old, new)
    return told


def moved_elsewhere_outcome(told: ToldOtherwise, old: str, new: str, parts: int) -> str:
    """The reason a subscribed chat's delivery is skipped with when its group moved to ``new``, told otherwise; a
    DeliveryError (failed, said) where these readers may not have heard the update there."""
    if told.by == "maybe":
        raise DeliveryError(advice.subscription_moved_unsure(old, new), retryable=False)
    if told.by == "removed":
        return (f"chat {old} became {new} (a supergroup), which was removed from the subscribers (`broadcaster "
                f"subscribers remove`): nothing was sent to {new}, and {old}'s subscription is removed too. If {new} "
                "should hear these updates again, send it a new invite")
    if told.how in ("filtered", "other"):
        raise permanent(advice.subscription_moved_to_a_narrower_one(old, new, other_readers=told.how == "other"))
    return advice.subscription_moved_to_its_own(old, new, stopped=told.how == "stopped", parts=parts)


def _table_told_otherwise(config: Config, table: ChannelConfig, store: Store, chat: str) -> bool:
    """Whether a table may not follow its chat into ``chat`` (it moved there): unless the table names it itself,
    any other table or subscription there would get this table's readers' cut, or the update twice."""
    if {key for key, _ in _target_keys(table.type, {"chat_ids": [chat]})} & {
            key for key, _ in _target_keys(table.type, table.options)}:
        return False
    return bool(heard_otherwise(config, store, chat, table.scope).by)


def may_read(readers: Visibility, sender: Visibility) -> bool:
    """Whether ``readers`` may see what a table (or a subscription) of ``sender`` visibility is sent."""
    if sender.level == Level.PUBLIC or readers.level == Level.INTERNAL:
        return True
    return sender == readers


def subscriber_visibilities(config: Config) -> list[Visibility]:
    """Public, each configured audience, internal: what a subscribed chat may hear."""
    return [PUBLIC, *(Visibility.of(a) for a in sorted(config.audiences)), INTERNAL]


def destinations(config: Config, store: Store | None = None) -> dict[str, Destination]:
    """All destinations in the order they are shown: site, publish targets, channels, then the bot's
    subscribers (their chats read from ``store``; without one they are named but have no chats)."""
    result: dict[str, Destination] = {d.name: d for d in site_destinations(config)}
    for name, table in config.channels.items():
        channel = ChannelDestination(table, config.engine.timeout, config.page.language, store)
        channel.told_otherwise = partial(_table_told_otherwise, config)
        result[name] = channel
    if config.bot is not None:
        for visibility in subscriber_visibilities(config):
            subscribed = SubscriberDestination(config, visibility, store)
            result[subscribed.name] = subscribed
    return result


def remote_destinations(config: Config) -> list[Destination]:
    """Every destination outside this machine (publish targets, channels): what ``channels check`` checks."""
    return [d for name, d in destinations(config).items() if name != SITE_DESTINATION]


def publish_targets(config: Config) -> list[HostDestination]:
    """The ``[publish.NAME]`` targets, which ``site publish`` uploads the built site to."""
    return [HostDestination(table, config) for table in config.publish.values()]


def check_names(names: Sequence[str], known: Sequence[str], option: str) -> set[str]:
    """Split comma lists and refuse unknown names, suggesting the closest one, and empty ones."""
    _refuse_empty_names(names, known, option)
    result: set[str] = set()
    for name in destination_names(names):
        if name not in known:
            _refuse_spaced_names(name, known, option)
            hint = did_you_mean(name, list(known))
            raise InputError(f"{option}: no destination named {name!r}.{hint} Destinations: {', '.join(known)}.")
        result.add(name)
    return result


def _refuse_empty_names(names: Sequence[str], known: Sequence[str], option: str) -> None:
    """A value naming nothing (``--skip "$DOWN"`` with DOWN unset, ``--skip=``, ``--skip ","``), or with an empty name
    between its commas (``--skip "x,$DOWN"``): read as fewer names, the update went where it was meant not to."""
    for value in names:
        pieces = [piece.strip() for piece in value.split(",")]
        if all(pieces):
            continue
        what = "is empty" if not any(pieces) else "has an empty name between its commas"
        raise InputError(
            f"{option} {value!r} {what} (an unset shell variable?): name the destinations, comma-separated, or "
            f"leave {option} out. Destinations: {', '.join(known)}. Nothing was stored or sent."
        )


def _refuse_spaced_names(name: str, known: Sequence[str], option: str) -> None:
    """``--skip "x tg-public"``: names separated by a space, not a comma. Suggesting the one closest to the whole
    (``tg-public``) would drop the other, and X, meant to be skipped, would get the update."""
    words = name.split()
    if len(words) < 2 or not any(word in known for word in words):
        return
    unknown = [word for word in words if word not in known]
    also = (f" ({', '.join(map(repr, unknown))} {'is' if len(unknown) == 1 else 'are'} no destination: "
            f"Destinations: {', '.join(known)})" if unknown else "")
    raise InputError(
        f"{option} {name!r}: separate names with commas, not spaces: {option} {','.join(words)}{also}. "
        "Nothing was stored or sent."
    )


def not_configured_here(config: Config, found: Mapping[str, Destination], destination: str, target: str,
                        visibility: str, store: Store, *, stored_at: datetime | None = None,
                        deleting: bool = False) -> str:
    """Where this machine's config has no such destination, a channel table of it no such chat, or that table for
    other readers than ``visibility``, what to say of it; "" if it has them. A team's machines need not read one
    config: a laptop's may be older or newer than the one that stored it.

    The bot's chats are the store's, the same for every machine, but which of its destinations sends to one is the
    config's (a table naming it, its audience defined or not): a chat still subscribed for the readers the delivery
    was stored for (at ``stored_at``), that this config sends otherwise, is another config's. One stopped, removed,
    or subscribed for other readers since (another invite, a group become a supergroup subscribed itself) is
    nobody's: "" here, and the engine skips it, on any machine (review 27ry: left, it waited for ever). A
    withdrawal's delete (``deleting``) goes to the chat whatever it is sent now (``engine.no_longer_wanted``), by a
    config that has the destination (review 28a: skipped here, acme's detail stayed up)."""
    here = found.get(destination)
    if is_subscribers(destination):
        if here is not None and (deleting or names_target(here, target)):
            return ""
        if deleting:
            return f"{destination!r} is not in this machine's config"
        subscription = store.subscription(target) if target else None
        if subscription is None or not subscription.active or not _still_for(subscription, visibility, stored_at):
            return ""
        return f"subscribed chat {target} is sent otherwise than by {destination} in this machine's config"
    if here is None:
        return f"{destination!r} is not in this machine's config"
    if destination not in config.channels:
        return ""
    if target and not names_target(here, target):
        return f"{target} is not a target of {destination} in this machine's config"
    if here.visibility != visibility:
        return f"{destination} is for {here.visibility} readers in this machine's config, and this is for {visibility}"
    return ""


def _still_for(subscription: Subscription, stored: str, stored_at: datetime | None) -> bool:
    """Whether a chat subscribed as ``subscription`` is still the one a delivery for ``stored`` readers was meant
    for: the same readers, or the public's view of a customer's chat already subscribed for that customer when it
    was stored (by a config without that customer's audience, which sends it the public's). A public chat
    re-invited for a customer since is not (review 28a: left for ever, every config sending it acme's view)."""
    if str(subscription.visibility) == stored:
        return True
    was_already = stored_at is None or subscription.joined_at <= stored_at
    return stored == str(PUBLIC) and subscription.visibility.level == Level.AUDIENCE and was_already


def no_wider_than_before(
    planned: Sequence[PlannedDelivery], earlier: Iterable[Delivery], named: Collection[str] = frozenset(),
    named_audiences: Collection[str] = frozenset(),
) -> list[PlannedDelivery]:
    """``planned`` kept to the readers the incident has reached: an incident whose earlier updates the operator
    kept to staff (``--only tg-ops``) or to one customer is not told to the public, nor to another customer, by
    a follow-up that does not ask for it (a colleague's `post -i`, a maintenance step, the tick, a postmortem).

    Reached means a delivery that was not skipped, whatever else was skipped and why (a notice skips the public
    on its own; that widens nothing). Staff are never wider. A customer is told if told before, or named by
    this update (``named_audiences``: ``--customer``, ``--for``, ``[for ID]``); a destination ``named`` in
    ``--only`` is the operator's to choose. No earlier delivery (a new incident, an imported one): nothing
    to keep to."""
    earlier = list(earlier)
    if not earlier:
        return list(planned)
    reached = {str(Visibility.parse(d.visibility)) for d in earlier if d.state != DeliveryState.SKIPPED}
    if str(PUBLIC) in reached:
        return list(planned)
    told = reached | {str(Visibility.of(audience)) for audience in named_audiences}

    def wider(entry: PlannedDelivery) -> bool:
        scope = Visibility.parse(entry.visibility)
        return entry.destination not in named and scope.level != Level.INTERNAL and str(scope) not in told

    return [replace(p, state=DeliveryState.SKIPPED, reason=WIDER_THAN_BEFORE)
            if p.state == DeliveryState.PENDING and wider(p) else p for p in planned]


def spelled_as_stored(planned: Sequence[PlannedDelivery], found: Mapping[str, Destination],
                      earlier: Iterable[Delivery]) -> list[PlannedDelivery]:
    """``planned`` with each target the config now spells otherwise than the incident's earlier deliveries there
    (`@AcmeStatus` rewritten `@acmestatus`: one Telegram chat, ``Destination.target_key``) spelled as they are, the
    first: the store finds an incident's posts at a place by its target as written, and a follow-up replied to
    nothing, an amend was skipped ("not sent here") and a withdrawal left the post up, as if made elsewhere."""
    spelled = StoredSpellings(found, earlier)
    if not spelled.stored:
        return list(planned)  # the common case: a copy per planned delivery (a thousand chats) for nothing
    return [replace(p, target=spelled(p.destination, p.target)) for p in planned]


class StoredSpellings:
    """The targets of an incident's earlier deliveries that the config spells otherwise now, by place."""

    def __init__(self, found: Mapping[str, Destination], earlier: Iterable[Delivery]) -> None:
        self.found = found
        self.stored: dict[tuple[str, str], str] = {}
        # Every spelling of a place, the first first: a store written before targets were compared by their key
        # holds an incident's posts under two (#1 at @AcmeStatus, #2 at @acmestatus after the rewrite).
        self.spellings: dict[tuple[str, str], list[str]] = {}
        for d in sorted(earlier, key=lambda d: d.sequence):  # the first spelling: where the thread starts
            destination = found.get(d.destination)
            if destination is not None and d.target and d.target not in destination.target_set:
                key = (d.destination, destination.target_key(d.target))
                self.stored.setdefault(key, d.target)
                if d.target not in self.spellings.setdefault(key, []):
                    self.spellings[key].append(d.target)

    def __call__(self, name: str, target: str) -> str:
        """``target`` of destination ``name`` as the earlier deliveries spell that place, or as it is."""
        if not self.stored or not target:
            return target  # the common case: every earlier target is spelled as the config spells it
        return self.stored.get((name, self.found[name].target_key(target)), target)

    def each(self, name: str, target: str) -> tuple[str, ...]:
        """Every spelling of ``target``'s place the earlier deliveries and the config use, the first first: where a
        withdrawal deletes (each spelling's posts are found under it alone)."""
        if not self.stored or not target:
            return (target,)
        return tuple(dict.fromkeys([*self.spellings.get((name, self.found[name].target_key(target)), ()), target]))


def plan(
    all_destinations: dict[str, Destination],
    component_ids: set[str],
    *,
    only: set[str] | None = None,
    skip: set[str] | frozenset[str] = frozenset(),
    private_only: bool = False,
    audiences: Collection[str] = frozenset(),
) -> list[PlannedDelivery]:
    """One planned delivery per destination and target; filtered ones are ``skipped`` with the reason.

    ``private_only`` (notices such as an overdue update or an SLA breach) skips
    every public destination, the site included; a customer's channel takes it only
    when its audience is in ``audiences`` (a notice addressed to that customer).
    ``audiences`` are the ids the update reaches (``routing.reached_audiences``): a
    customer's channel of any other audience is skipped.
    """
    planned = []
    for name, destination in all_destinations.items():
        scope = Visibility.parse(destination.visibility)
        reason = ""
        if private_only and scope.level == Level.PUBLIC:
            reason = "internal notice"
        elif scope.audience and scope.audience not in audiences:
            reason = f"audience {scope.audience} is not affected by this incident"
        elif only is not None and name not in only:
            reason = NOT_IN_ONLY
        elif name in skip:
            reason = SKIPPED_BY_OPERATOR
        elif not destination.wants(component_ids):
            reason = f"subscribed only to {', '.join(destination.components)}"
        state = DeliveryState.SKIPPED if reason else DeliveryState.PENDING
        for target in destination.targets_for(component_ids):
            planned.append(PlannedDelivery(name, target, destination.visibility, state, reason))
    return planned
