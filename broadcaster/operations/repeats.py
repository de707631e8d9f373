"""A post that repeats one just made: the up-arrow and Enter after a post that exited 3, or a second operator
posting what the first one did. Refused unless the operator says ``--again``: a second incident (or the same
update twice) on every channel is what readers would get, and ``retry`` is what sends what is left."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import NoReturn

from broadcaster.delivery import DONE_STATES, DeliveryState
from broadcaster.errors import InputError
from broadcaster.messages.model import Incident, Status, Update
from broadcaster.messages.visibility import written_alike
from broadcaster.store import PlannedDelivery, Store

# A new incident as one still open and posted within the hour; an update as the incident's latest within 15
# minutes (a "still investigating" repeated on the half hour is meant).
NEW_INCIDENT_WINDOW = timedelta(hours=1)
UPDATE_WINDOW = timedelta(minutes=15)
_CLOSED = (Status.RESOLVED, Status.COMPLETED)


def refuse_a_repeat(store: Store, incident: Incident, update: Update, planned: Sequence[PlannedDelivery], *,
                    new: bool) -> None:
    """Refuse ``update`` (not stored yet) when it repeats a post made just before where it would go (``planned``):
    for a new incident, an open one of the same title whose first update had the same text; for an update, the
    incident's latest update, when it had the same text and status. The same words to other readers (staff first,
    then the public; one customer, then another) repeat nothing. The refusal says what was posted when, and how to
    go on."""
    if new:
        _refuse_a_repeated_incident(store, incident, update, planned)
        return
    going = _going(planned)
    updates = [u for u in store.updates(incident.id) if u.kind == update.kind]
    latest = updates[-1] if updates else None
    if (latest is not None and latest.status == update.status and written_alike(latest, update)
            and _within(latest.created_at, update.created_at, UPDATE_WINDOW) and _told(store, latest) & going):
        _refuse(store, incident, latest, update.created_at,
                f"update {latest.sequence} of {incident.id} (the same text and status)")


def refuse_one_posted_meanwhile(store: Store, incident: Incident, update: Update,
                                planned: Sequence[PlannedDelivery]) -> None:
    """``refuse_a_repeat`` of a new incident once more, just before it is stored, under the store's
    ``NEW_INCIDENT_LOCK`` (``posting.store_checked``): a repeat found now was stored by another command after the
    first check, two operators paged by one alert both confirming at once. Its draft may be a little later than
    this one's (or its machine's clock a little ahead), so anything this new counts; the refusal says another
    command posted it."""
    _refuse_a_repeated_incident(store, incident, update, planned, meanwhile=True)


def _refuse_a_repeated_incident(store: Store, incident: Incident, update: Update, planned: Sequence[PlannedDelivery],
                                *, meanwhile: bool = False) -> None:
    going = _going(planned)
    for other in store.opened_since(update.created_at - NEW_INCIDENT_WINDOW):
        if (other.status in _CLOSED or other.kind != incident.kind
                or not (_within(other.created_at, update.created_at, NEW_INCIDENT_WINDOW)
                        or (meanwhile and other.created_at > update.created_at))
                or not written_alike(other, incident)):
            continue
        first = store.update(other.id, 1)
        if first is None or not written_alike(first, update) or not _told(store, first) & going:
            continue
        if meanwhile:
            _refuse_as_posted_meanwhile(other, first)
        _refuse(store, other, first, update.created_at, f"{other.id} (the same title and text)")


def _going(planned: Sequence[PlannedDelivery]) -> set[tuple[str, str]]:
    """Where this post would go: its pending deliveries."""
    return {(p.destination, p.target) for p in planned if p.state == DeliveryState.PENDING}


def _told(store: Store, update: Update) -> set[tuple[str, str]]:
    """Where ``update`` went (or is going): its deliveries not skipped."""
    return {(d.destination, d.target) for d in store.deliveries(incident_id=update.incident_id, sequence=update.sequence)
            if d.state != DeliveryState.SKIPPED}


def _within(earlier: datetime, now: datetime, window: timedelta) -> bool:
    return timedelta(0) <= now - earlier <= window  # the store's times and the draft's are in UTC


def _refuse(store: Store, incident: Incident, earlier: Update, now: datetime, what: str) -> None:
    minutes = int((now - earlier.created_at).total_seconds() // 60)
    raise InputError(
        f"this repeats {what}, posted {minutes} min ago at {earlier.created_at:%H:%M} UTC; "
        f"{_where_it_stands(store, incident.id, earlier.sequence)}. To post a follow-up: broadcaster post -i "
        f"{incident.id} \"...\". If you do mean to post it again, add --again. Nothing was stored or sent."
    )


def _refuse_as_posted_meanwhile(other: Incident, first: Update) -> NoReturn:
    """The refusal of a repeat another command stored while this one was being checked: that command is most
    likely still sending it, so this says where to look rather than advising ``retry``."""
    raise InputError(
        f"this repeats {other.id} (the same title and text), which another command posted at "
        f"{first.created_at:%H:%M} UTC while this one was being checked (two operators paged by the same alert?). "
        f"`broadcaster show {other.id}` shows where it went. To post a follow-up: broadcaster post -i {other.id} "
        "\"...\". If you do mean to post it again, add --again. Nothing was stored or sent."
    )


def _where_it_stands(store: Store, incident_id: str, sequence: int) -> str:
    """What is left of the earlier post, and what sends it: ``retry`` for what failed or waits, never for a post
    whose fate is unknown (checked first) or one another command is sending."""
    left = [d.state for d in store.deliveries(incident_id=incident_id, sequence=sequence) if d.state not in DONE_STATES]
    waiting = sum(s in (DeliveryState.PENDING, DeliveryState.FAILED) for s in left)
    unknown = left.count(DeliveryState.UNKNOWN)
    parts = []
    if waiting:
        parts.append(f"{waiting} of its deliveries are not sent: `broadcaster retry {incident_id}` sends them, never "
                     "twice what was sent")
    if unknown:
        parts.append(f"{unknown} may or may not have arrived: check, then `broadcaster retry {incident_id} "
                     "--mark-unknown-sent` (it is there) or `--include-unknown` (it is not)")
    if len(left) > waiting + unknown:
        parts.append(f"{len(left) - waiting - unknown} are being sent by another command right now")
    return "; ".join(parts) or "it was delivered everywhere it was planned"
