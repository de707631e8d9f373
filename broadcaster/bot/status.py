"""``/status``: open incidents, component statuses and upcoming maintenance, cut to the chat's visibility.

Read from the store at the moment of asking. Each incident is shown by its
latest update's view for the chat's visibility (``view_for``: public, one
audience's or internal), never the update itself; a chat that chose components
sees what concerns them, by the rule its deliveries follow. Every message is
then checked by the egress guard against what that visibility may not hold,
as the engine checks a channel's: a refusal sends nothing of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

from broadcaster.compose import without_kept
from broadcaster.config import Config
from broadcaster.destinations import may_read, table_rooms
from broadcaster.engine import carried_private_values, previous_status
from broadcaster.messages.bot import ComponentLine, status_continues, status_messages
from broadcaster.messages.egress import TELEGRAM_HTML, Compared, PrivateValues, guard
from broadcaster.messages.model import PUBLIC, Incident, Level, Update, Visibility
from broadcaster.messages.visibility import (
    PRIVATE_KINDS,
    PublicIncident,
    UpdateView,
    as_last_corrected,
    reader_number,
    view_for,
    without_text,
)
from broadcaster.own_words import own_words
from broadcaster.site.links import incident_url
from broadcaster.site.status import component_statuses, is_upcoming
from broadcaster.store import Store
from broadcaster.subscribers import ChatKind, Subscription

_NOT_SHOWN = PRIVATE_KINDS | {"withdrawal"}
# A chat gets one message a second and a reply waits at most pacing.MAX_WAIT: a longer answer is cut
# here, with a pointer to the page, rather than lose its end unannounced.
MAX_MESSAGES = 3


@dataclass(frozen=True)
class Shown:
    """One incident as ``/status`` shows it: its latest update and that update's view."""

    incident: Incident
    update: Update
    updates: tuple[Update, ...]
    view: UpdateView


def status_replies(
    config: Config, store: Store, subscription: Subscription | None, now: datetime | None = None,
) -> tuple[str, ...]:
    """The ``/status`` messages for a chat (``subscription`` None or inactive: the public's); LeakRefused if
    one would hold what the chat's visibility may not."""
    moment = now or datetime.now(UTC)
    visibility = chat_visibility(config, store, subscription)
    shown = [s for s in _latest(config, store, visibility, moment) if subscription is None or
             subscription.hears({c.id for c in s.incident.components}, config.component_ids)]
    open_now = [s for s in shown if not is_upcoming(s.view.incident, moment)]
    upcoming = [s for s in shown if is_upcoming(s.view.incident, moment)]
    lines = _component_lines(config, [s.view for s in open_now], subscription, moment)
    texts = status_messages([s.view for s in open_now], [s.view for s in upcoming], lines)
    if visibility.level != Level.INTERNAL:
        _check(config, texts, open_now, upcoming, lines, visibility)
    if len(texts) > MAX_MESSAGES:
        texts = (*texts[:MAX_MESSAGES], status_continues(config.page.base_url))
    return texts


def chat_visibility(config: Config, store: Store, subscription: Subscription | None) -> Visibility:
    """What the chat may be told: never more than its pushes get.

    The public's for a chat that is not (or no longer) subscribed, and for an audience the config no longer
    names (its detail cannot be cut apart from others'). A chat a channel table names hears that table's view
    only (``SubscriberDestination.subscriptions``), so it is answered at that table's visibility whatever
    invite was redeemed there. A group that a table's @name not yet resolved may be is answered as the public
    when that table's readers must not read its subscription's detail (fail closed, as its pushes are held).
    """
    if subscription is None or not subscription.active:
        return PUBLIC
    visibility = _known(config, subscription.visibility)
    rooms = table_rooms(config, store)
    tables = rooms.naming(subscription.chat_id)
    if tables:
        seen = {Visibility.parse(t.visibility) for t in tables}
        return _known(config, seen.pop()) if len(seen) == 1 else PUBLIC
    if subscription.kind == ChatKind.GROUP and any(
            not may_read(Visibility.parse(t.visibility), visibility) for t in rooms.unresolved):
        return PUBLIC
    return visibility


def _known(config: Config, visibility: Visibility) -> Visibility:
    if visibility.level == Level.AUDIENCE and visibility.audience not in config.audiences:
        return PUBLIC
    return visibility


def _latest(config: Config, store: Store, visibility: Visibility, now: datetime) -> list[Shown]:
    found = []
    records = store.site_incidents(now)
    if visibility.level != Level.INTERNAL:  # what these readers were never told stays untold here too
        kept = _kept(store, [i.id for i, _ in records], visibility)
        records = [without_kept(i, ups, kept) for i, ups in records]
    records = [(i, ups) for i, ups in records if not i.status.is_closed]
    for incident, updates in records:
        # The latest update, as last corrected: a correction of an older one is not the latest news.
        shown = next((u for u in reversed(updates) if u.kind not in _NOT_SHOWN and u.kind != "correction"), None)
        if shown is None:
            continue
        latest = as_last_corrected(shown, updates)
        view = view_for(
            visibility, incident, latest, url=incident_url(config, incident.id),
            previous_status=previous_status(updates, latest.sequence),
            number=reader_number(updates, latest.sequence), audiences=config.audiences,
        )
        found.append(Shown(incident, latest, tuple(updates), view))
    return found


def _kept(store: Store, incident_ids: list[str], visibility: Visibility) -> set[tuple[str, int]]:
    """The updates (incident id, sequence) these readers were never told. For one customer's chat that is what
    was kept from the public less what went to that customer's channels (``kept_from``, by which the engine
    numbers its pushes): an update told to that customer alone is theirs, one told to another customer is not."""
    kept = store.kept_off(incident_ids)
    if visibility.level != Level.AUDIENCE:
        return kept
    touched = {incident_id for incident_id, _ in kept}  # kept_from is a part of kept_off: ask only of these
    return {(incident_id, sequence) for incident_id in touched for sequence in store.kept_from(incident_id, visibility)}


def _component_lines(
    config: Config, views: Sequence[UpdateView], subscription: Subscription | None, now: datetime,
) -> list[ComponentLine]:
    chosen = set(subscription.choice(config.component_ids)) if subscription is not None and subscription.active else set()
    # The page's rule, from the views' headers (what anyone may know of an incident).
    statuses = component_statuses(config.component_ids, [PublicIncident(v.incident, ()) for v in views], now)
    return [ComponentLine(c.component.name, statuses[c.component.id]) for c in config.components
            if not chosen or c.component.id in chosen]


def _check(
    config: Config, texts: tuple[str, ...], open_now: list[Shown], upcoming: list[Shown],
    lines: list[ComponentLine], visibility: Visibility,
) -> None:
    values = PrivateValues.of(())
    for shown in [*open_now, *upcoming]:
        values = values | carried_private_values(shown.incident, shown.update, shown.updates, visibility, config)

    def template(index: int) -> tuple[str, Compared] | None:
        # The same answer with every operator text shaped into x's: what the bot says of its own.
        shaped = status_messages([without_text(s.view) for s in open_now], [without_text(s.view) for s in upcoming],
                                 lines)
        if len(shaped) != len(texts):
            return None
        return shaped[index], own_words(config.page, config.components)

    for index, text in enumerate(texts):
        guard(text, values, "the /status answer", TELEGRAM_HTML, partial(template, index))
