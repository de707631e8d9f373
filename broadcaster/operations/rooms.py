"""One chat written two ways: refused before anything is stored or sent, not only by ``channels check``.

The config loader compares chats as written, so ``#acme-status`` in a public table and ``C0123ABCD`` in a
customer's table pass it even when they are one Slack channel (likewise a Telegram ``@name`` and its numeric
id): the customer's detail would then be posted where the public reads. Before the first send, each name in a
type whose tables differ in visibility is resolved to its id through the service (Slack conversations.list,
Telegram getChat), once per name (the store remembers the answer), and two tables of different visibility that
reach one chat are refused (``ConfigError``: exit 2, nothing stored or sent).

A name that cannot be resolved now (the service does not answer, its token is not set) leaves a doubt, not a
refusal: the status page and every other channel still get the update. Only the tables whose detail the
readers of that name must not see are held back (their deliveries recorded failed, with why); ``retry``
asks again and sends them once the doubt is gone.

A chat subscribed through the bot is always written as its id, and may be a chat a table names by @name.
While any chat is subscribed, the names of every table of the bot's type are resolved the same way, so that
``SubscriberDestination`` leaves such a chat to its table (it hears that table's view only); a name that cannot
be resolved holds back the subscribed chats whose detail that table's readers must not see.

A command that asks the operator to confirm runs inside ``asked_once``: its dry run asks the services too, so the
confirmation shows what will be held back, and the real run reuses those answers (the services are asked once):
it holds back what the operator was shown, and a service that does not answer is not waited on twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from broadcaster.config import ChannelConfig, Config
from broadcaster.delivery import DeliveryState
from broadcaster.destinations import may_read, subscribers_name
from broadcaster.errors import ConfigError, DeliveryError
from broadcaster.messages.model import Visibility
from broadcaster.registry import load_channel_class
from broadcaster.store import Delivery, PlannedDelivery, Store, process_owner
from broadcaster.subscribers import ChatKind, Subscription, heard_as

if TYPE_CHECKING:
    pass

# Table name -> why its deliveries wait: it might post into a chat whose readers must not see its detail. A
# subscribed chat is held alone (``held_chat``): its destination's other chats are not in doubt.
Held = Mapping[str, str]


class LeftToTable(str):
    """A reason in ``Held`` that skips rather than holds: the subscribed chat is a table's chat and hears the
    update from that table only, so nothing is owed to it and ``retry`` must not send it."""

    __slots__ = ()


def held_chat(destination: str, target: str) -> str:
    """The key of one destination's chat in ``Held`` (a destination's name holds no line break)."""
    return f"{destination}\n{target}"


def _why_held(held: Held, destination: str, target: str) -> str | None:
    return held.get(destination) or held.get(held_chat(destination, target))


@dataclass(frozen=True)
class _Written:
    table: ChannelConfig
    written: str


# What the services said within ``asked_once``: (table, name as written) -> (the chat or "", why it is not known).
Answers = dict[tuple[str, str], tuple[str, str]]
_ANSWERS: ContextVar[Answers | None] = ContextVar("rooms_answers", default=None)


@contextmanager
def asked_once() -> Iterator[None]:
    """Within it, every rooms check asks the services, a dry run's too, and each name is asked once: a later
    check (the real run after the confirmation) reuses the answer, so it holds back what the dry run showed."""
    token = _ANSWERS.set({})
    try:
        yield
    finally:
        _ANSWERS.reset(token)


def check_shared_rooms(config: Config, store: Store, *, ask: bool = True) -> Held:
    """``ConfigError`` when one chat is the target of tables of different visibilities; else the tables held back.

    ``ask=False`` (a dry run, which stores and sends nothing and asks no service) compares the chats the
    config and the store already know, and holds nothing back; within ``asked_once`` it asks all the same.
    """
    tables = _comparable_tables(config, store)
    if not tables:
        return {}
    answers = _ANSWERS.get()
    found, doubts = _rooms(config, store, tables, ask=ask or answers is not None,
                           answers={} if answers is None else answers)  # remembered: a subscribed chat is compared too
    by_room: dict[str, list[_Written]] = {}
    for entry, room in found:
        if room:
            by_room.setdefault(room, []).append(entry)
    for room, reached in by_room.items():
        seen = sorted({e.table.visibility for e in reached})
        if len(seen) > 1:
            where = ", ".join(f"[channels.{e.table.name}] ({e.table.visibility}) as {e.written}" for e in reached)
            raise ConfigError(
                f"one chat ({room}) is a target of {where}. One chat cannot be both {' and '.join(seen)}: the "
                "detail meant for one would reach the readers of the other. Remove it from one of the tables. "
                "Nothing was stored or sent."
            )
    return {**_held(tables, doubts), **_held_subscribers(config, store, doubts), **_left_to_tables(config, store, by_room)}


def hold_back(planned: Sequence[PlannedDelivery], held: Held) -> list[PlannedDelivery]:
    """``planned`` with the pending deliveries of held tables recorded failed (``retry`` sends them later)."""
    return [replace(p, state=_state(why), reason=why)
            if p.state == DeliveryState.PENDING and (why := _why_held(held, p.destination, p.target)) else p
            for p in planned]


def _state(why: str) -> DeliveryState:
    return DeliveryState.SKIPPED if isinstance(why, LeftToTable) else DeliveryState.FAILED


def _comparable_tables(config: Config, store: Store) -> list[ChannelConfig]:
    """Tables of the types whose chats may be written two ways, where those tables differ in visibility; and
    every table of the bot's type while a chat is subscribed, since a subscribed chat (always an id) is left to
    the table naming it (``SubscriberDestination.subscriptions``) only once that table's @names are resolved."""
    by_type: dict[str, list[ChannelConfig]] = {}
    for table in config.channels.values():
        if load_channel_class(table.type)(table).room_names():
            by_type.setdefault(table.type, []).append(table)
    subscribed = config.bot is not None and bool(store.subscriptions(active=True))
    return [t for kind, group in by_type.items()
            if len({t.visibility for t in group}) > 1 or (subscribed and _bot_type(config) == kind) for t in group]


def _bot_type(config: Config) -> str:
    return config.bot.table.type if config.bot is not None else ""


def _rooms(
    config: Config, store: Store, tables: Sequence[ChannelConfig], *, ask: bool, answers: Answers
) -> tuple[list[tuple[_Written, str]], list[tuple[_Written, str]]]:
    """Each chat of ``tables`` with the chat it is (from the config, the store, ``answers`` or the service), and
    the names that could not be resolved now, each with why. What the service says is added to ``answers``."""
    known: list[tuple[_Written, str]] = []
    asks: list[tuple[_Written, str]] = []  # (name, cache key)
    doubts: list[tuple[_Written, str]] = []
    for table in tables:
        channel = load_channel_class(table.type)(table)
        for written in channel.room_names():
            entry, room = _Written(table, written), channel.room(written)
            if room is None:
                missing = "; ".join(config.missing_secrets({table.name}))
                key = "" if missing and channel.cache_key_needs_secret else channel.room_cache_key(written)
                room = store.remembered_room(key) if key else None
                if room is None and not ask:
                    continue
                if room is None and missing:
                    doubts.append((entry, f"{missing} has no value, so which chat {written} is cannot be asked"))
                    continue
                if room is None and (table.name, written) in answers:
                    room, problem = answers[(table.name, written)]
                    if problem:
                        doubts.append((entry, problem))
                        continue
                if room is None:
                    asks.append((entry, key))
                    continue
            known.append((entry, room))
    for (entry, key), (room, problem) in zip(asks, _ask(config, [e for e, _ in asks]), strict=True):
        answers[(entry.table.name, entry.written)] = (room, problem)
        if problem:
            doubts.append((entry, problem))
            continue
        if room:
            store.remember_room(key, room)
        known.append((entry, room))
    return known, doubts


def _ask(config: Config, entries: Sequence[_Written]) -> list[tuple[str, str]]:
    """(the chat each name is, "") looked up concurrently; ("", why) where the service could not say."""
    if not entries:
        return []
    import asyncio  # here: a dry run imports this module and starts no event loop

    async def one(entry: _Written) -> tuple[str, str]:
        channel = load_channel_class(entry.table.type)(entry.table)
        channel.request_timeout = config.engine.timeout
        try:
            return await asyncio.wait_for(channel.lookup_room(entry.written), config.engine.timeout * 2), ""
        except (DeliveryError, TimeoutError) as exc:
            return "", f"could not ask which chat {entry.written} is ({str(exc) or 'no answer in time'})"
        finally:
            await channel.aclose()

    async def run() -> list[tuple[str, str]]:
        return list(await asyncio.gather(*(one(e) for e in entries)))

    return asyncio.run(run())


def _held(tables: Sequence[ChannelConfig], doubts: Sequence[tuple[_Written, str]]) -> dict[str, str]:
    """Every table of a doubtful name's type whose detail that name's readers must not see."""
    held: dict[str, str] = {}
    for entry, problem in doubts:
        readers = Visibility.parse(entry.table.visibility)
        for table in tables:
            if table.type == entry.table.type and not may_read(readers, Visibility.parse(table.visibility)):
                held.setdefault(table.name, (
                    f"not sent: [channels.{entry.table.name}] names {entry.written}, and {problem}; it might be this "
                    f"table's chat, where readers of another visibility would see this detail. `broadcaster retry` "
                    "asks again and sends it (or write the chat's id in the config)."))
    return held


def _left_to_tables(config: Config, store: Store, by_room: Mapping[str, Sequence[_Written]]) -> dict[str, str]:
    """Each subscribed chat a table names (by an @name just resolved, say), skipped for its subscription: the
    plan was made before the name was known, and the chat hears that table's view only."""
    if config.bot is None or not by_room:
        return {}
    bot = load_channel_class(config.bot.table.type)(config.bot.table)
    left: dict[str, str] = {}
    for chat in store.subscriptions(active=True):
        tables = by_room.get(bot.room(chat.chat_id) or "", ())
        if tables:
            left[held_chat(_destination_of(config, chat), chat.chat_id)] = LeftToTable(
                f"left to [channels.{tables[0].table.name}], which names this chat as {tables[0].written}: it hears "
                "the update from that table only. `broadcaster subscribers remove` ends its subscription.")
    return left


def _destination_of(config: Config, chat: Subscription) -> str:
    """The destination a subscribed chat hears from: a chat of an audience the config no longer defines is
    one of the public subscribers (``subscribers.heard_as``)."""
    return subscribers_name(heard_as(chat.visibility, config.audiences))


def _held_subscribers(config: Config, store: Store, doubts: Sequence[tuple[_Written, str]]) -> dict[str, str]:
    """The subscribed groups whose detail a doubtful name's readers must not see: any of them may be the
    chat the name is, and then the table's readers would read the subscription's detail (fail closed,
    as for tables: held, and sent by ``retry`` once the name is known)."""
    held: dict[str, str] = {}
    for entry, problem in doubts:
        if entry.table.type != _bot_type(config):
            continue
        readers = Visibility.parse(entry.table.visibility)
        # A private chat is a person: never a table's @name, which names a public group or channel.
        for chat in store.subscriptions(active=True):
            heard = heard_as(chat.visibility, config.audiences)
            if chat.kind == ChatKind.GROUP and not may_read(readers, heard):
                held.setdefault(held_chat(subscribers_name(heard), chat.chat_id), (
                    f"not sent: [channels.{entry.table.name}] names {entry.written}, and {problem}; it might be a "
                    "subscribed chat, where that table's readers would see this detail. `broadcaster retry` asks "
                    "again and sends it (or write the chat's id in the config)."))
    return held


def hold_stored(store: Store, deliveries: Sequence[Delivery], held: Held) -> tuple[list[Delivery], set[int]]:
    """(the deliveries that may go, the ids of those held back); held pending and failed ones are recorded
    failed with why, held ``unknown`` ones keep their state (a retry must not forget they may have arrived)."""
    kept, stopped = [], set()
    for delivery in deliveries:
        why = _why_held(held, delivery.destination, delivery.target)
        if why is None:
            kept.append(delivery)
            continue
        stopped.add(delivery.id)
        if delivery.state in (DeliveryState.PENDING, DeliveryState.FAILED):
            # Taken first: one another command claimed since it was read is being sent, and marking it failed
            # under that command would have the next retry send it again.
            with store.batch():
                if store.claim(delivery.id, process_owner(), sending=False):
                    store.mark_failed(delivery.id, why, state=_state(why))
    return kept, stopped
