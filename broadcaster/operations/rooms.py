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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from broadcaster.config import ChannelConfig, Config
from broadcaster.delivery import DeliveryState
from broadcaster.errors import ConfigError, DeliveryError
from broadcaster.messages.model import Level, Visibility
from broadcaster.registry import load_channel_class
from broadcaster.store import Delivery, PlannedDelivery, Store

if TYPE_CHECKING:
    pass

# Table name -> why its deliveries wait: it might post into a chat whose readers must not see its detail.
Held = Mapping[str, str]


@dataclass(frozen=True)
class _Written:
    table: ChannelConfig
    written: str


def check_shared_rooms(config: Config, store: Store, *, ask: bool = True) -> Held:
    """``ConfigError`` when one chat is the target of tables of different visibilities; else the tables held back.

    ``ask=False`` (a dry run, which stores and sends nothing and asks no service) compares the chats the
    config and the store already know, and holds nothing back.
    """
    tables = _comparable_tables(config)
    if not tables:
        return {}
    found, doubts = _rooms(config, store, tables, ask=ask)
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
    return _held(tables, doubts)


def hold_back(planned: Sequence[PlannedDelivery], held: Held) -> list[PlannedDelivery]:
    """``planned`` with the pending deliveries of held tables recorded failed (``retry`` sends them later)."""
    return [replace(p, state=DeliveryState.FAILED, reason=held[p.destination])
            if p.state == DeliveryState.PENDING and p.destination in held else p for p in planned]


def _comparable_tables(config: Config) -> list[ChannelConfig]:
    """Tables of the types whose chats may be written two ways, where those tables differ in visibility."""
    by_type: dict[str, list[ChannelConfig]] = {}
    for table in config.channels.values():
        if load_channel_class(table.type)(table).room_names():
            by_type.setdefault(table.type, []).append(table)
    return [t for group in by_type.values() if len({t.visibility for t in group}) > 1 for t in group]


def _rooms(
    config: Config, store: Store, tables: Sequence[ChannelConfig], *, ask: bool
) -> tuple[list[tuple[_Written, str]], list[tuple[_Written, str]]]:
    """Each chat of ``tables`` with the chat it is (from the config, the store, or the service), and the
    names that could not be resolved now, each with why."""
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
                    doubts.append((entry, f"{missing} is not set, so which chat {written} is cannot be asked"))
                    continue
                if room is None:
                    asks.append((entry, key))
                    continue
            known.append((entry, room))
    for (entry, key), (room, problem) in zip(asks, _ask(config, [e for e, _ in asks]), strict=True):
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
            if table.type == entry.table.type and not _may_read(readers, Visibility.parse(table.visibility)):
                held.setdefault(table.name, (
                    f"not sent: [channels.{entry.table.name}] names {entry.written}, and {problem}; it might be this "
                    f"table's chat, where readers of another visibility would see this detail. `broadcaster retry` "
                    "asks again and sends it (or write the chat's id in the config)."))
    return held


def _may_read(readers: Visibility, sender: Visibility) -> bool:
    """Whether ``readers`` may see what a table of ``sender`` visibility posts."""
    if sender.level == Level.PUBLIC or readers.level == Level.INTERNAL:
        return True
    return sender == readers


def hold_stored(store: Store, deliveries: Sequence[Delivery], held: Held) -> tuple[list[Delivery], set[int]]:
    """(the deliveries that may go, the ids of those held back); held pending and failed ones are recorded
    failed with why, held ``unknown`` ones keep their state (a retry must not forget they may have arrived)."""
    kept, stopped = [], set()
    for delivery in deliveries:
        if delivery.destination not in held:
            kept.append(delivery)
            continue
        stopped.add(delivery.id)
        if delivery.state in (DeliveryState.PENDING, DeliveryState.FAILED):
            store.mark_failed(delivery.id, held[delivery.destination])
    return kept, stopped
