"""A post that repeats one just made: the up-arrow and Enter after a post that exited 3, or a second operator
posting what the first one did. Refused unless the operator says ``--again``: a second incident (or the same
update twice) on every channel is what readers would get, and ``retry`` is what sends what is left."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import NoReturn

from broadcaster.delivery import DONE_STATES, NOT_IN_ONLY, READ_THE_SAME, SKIPPED_BY_OPERATOR, DeliveryState
from broadcaster.errors import InputError
from broadcaster.messages import advice
from broadcaster.messages.model import INTERNAL, Incident, Level, Status, Update, Visibility
from broadcaster.messages.visibility import (
    as_last_corrected,
    corrected_sequence,
    identical_text,
    reads_the_same,
    written_alike,
)
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
    for other, first in _open_and_alike(store, incident, update.created_at, meanwhile=meanwhile):
        if not written_alike(first, update) or not _same_customers(incident, first, update) or not _told(store, first) & going:
            continue
        if meanwhile:
            _refuse_as_posted_meanwhile(other, first)
        _refuse(store, other, first, update.created_at, f"{other.id} ({_same(incident)})")


def refuse_a_repeated_window(store: Store, incident: Incident, update: Update, planned: Sequence[PlannedDelivery],
                             standard: Callable[[Incident], str]) -> None:
    """``refuse_a_repeat`` of a maintenance window announced with the standard text (``standard``: that text for a
    window), which names the window's times: ``--start 2h`` typed again a minute later moves them, and the texts
    differ by that minute. A window whose first update is the standard text of its own window repeats it."""
    going = _going(planned)
    for other, first in _open_and_alike(store, incident, update.created_at):
        if (identical_text(first, replace(first, raw_message=standard(other))) and _same_customers(incident, first, update)
                and _told(store, first) & going):
            _refuse(store, other, first, update.created_at, f"{other.id} ({_same(incident)})")


def _open_and_alike(store: Store, incident: Incident, now: datetime, *,
                    meanwhile: bool = False) -> Iterator[tuple[Incident, Update]]:
    """Each incident still open, of ``incident``'s kind, title (and window), opened within ``NEW_INCIDENT_WINDOW``
    of ``now`` (``meanwhile``: or after it), with its first update."""
    for other in store.opened_since(now - NEW_INCIDENT_WINDOW):
        if (other.status in _CLOSED or other.kind != incident.kind
                or not (_within(other.created_at, now, NEW_INCIDENT_WINDOW) or (meanwhile and other.created_at > now))
                or not written_alike(other, incident) or not _same_window(other, incident)):
            continue
        first = store.update(other.id, 1)
        if first is not None:
            yield other, first


def _same(incident: Incident) -> str:
    if incident.kind == "maintenance":
        return "the same title, text and window, for the same components and customers"
    return "the same title and text"


def _same_customers(incident: Incident, first: Update, update: Update) -> bool:
    """For maintenance, the same customers named (``--customer``): the same window for another customer tells other
    readers of it. An incident's repeat is told by its title and text alone, as before."""
    return incident.kind != "maintenance" or set(first.audiences) == set(update.audiences)


def _same_window(one: Incident, other: Incident) -> bool:
    """For maintenance, the same window announced twice: each of its start and end within ``NEW_INCIDENT_WINDOW`` of
    the other's (``--start 2h`` typed again a minute later moves it by that minute). A window of the same title and
    text tomorrow night is another one, and so is one for other components (the standard text names none: the
    same words announce ``-C db`` and ``-C web``). An incident has no window: always true."""
    if one.kind != "maintenance":
        return True
    if {c.id for c in one.components} != {c.id for c in other.components}:
        return False
    pairs = ((one.scheduled_start, other.scheduled_start), (one.scheduled_end, other.scheduled_end))
    return all(a is not None and b is not None and abs(a - b) <= NEW_INCIDENT_WINDOW for a, b in pairs)


def refuse_a_repeated_correction(store: Store, incident: Incident, correction: Update,
                                 planned: Sequence[PlannedDelivery]) -> None:
    """Refuse an ``amend`` that repeats the latest correction of its update, made within ``UPDATE_WINDOW``, at every
    place it would go (or going nowhere: every reader has it): the up-arrow after an amend that exited 3. Stored
    again, it was sent once more to staff, and the readers the first one failed to reach were called "read nothing
    changed", exit 0: the refusal names where the first is not sent, and ``retry``. The same words to other readers
    (staff first, then the public) repeat nothing: an amend that goes to any place the first one did not is no
    repeat, and ``skip_where_it_was_given`` keeps it from the places the first one went."""
    latest, told = _told_the_same(store, incident, correction)
    going = _going(planned)
    if latest is None or not going <= told:
        _refuse_a_correction_of_nothing(store, incident, correction, planned)
        return
    sequence = corrected_sequence(correction)
    minutes = int((correction.created_at - latest.created_at).total_seconds() // 60)
    kept = _kept_from(store, incident.id, latest, told)
    # Kept from some readers, it was not "delivered everywhere it was planned" as the operator reads that.
    stands = not_delivered(store, incident.id, latest.sequence) or (
        "it was delivered everywhere it went" if kept else "it was delivered everywhere it was planned")
    raise InputError(
        f"this repeats #{latest.sequence} of {incident.id}, the same correction of update #{sequence}, made {minutes} "
        f"min ago at {latest.created_at:%H:%M} UTC; {stands}{kept}. Nothing was stored or sent. To correct it "
        f"otherwise, amend it with the new text (`broadcaster amend {incident.id} {sequence} \"...\"`)."
    )


def _refuse_a_correction_of_nothing(store: Store, incident: Incident, correction: Update,
                                    planned: Sequence[PlannedDelivery]) -> None:
    """Refuse an ``amend`` that changes nothing for any reader: going nowhere (``reads_the_same`` skipped every
    place), and the version staff and every planned reader have (or are owed: ``retry`` sends it) in every field.
    Stored, it was sent to staff as a "Correction" of nothing (the update's own words retyped, a line recalled from
    the shell's history), and the public was told "the correction changes only what others read"."""
    sequence = corrected_sequence(correction)
    original = store.update(incident.id, sequence) if sequence is not None else None
    if original is None or _going(planned):
        return
    updates = store.updates(incident.id)
    for readers in {INTERNAL, *(Visibility.parse(p.visibility) for p in planned)}:
        theirs = as_last_corrected(original, updates, store.left_out_by_operator(incident.id, readers))
        if not reads_the_same(readers, theirs, correction):
            return  # a version some readers are owed (one failed there) reads otherwise: this one replaces it
    left = not_delivered(store, incident.id)
    raise InputError(
        f"nothing to correct: update #{sequence} of {incident.id} already reads exactly so for every reader (the text to the "
        "character, the private note, tickets and each customer's detail). Nothing was stored or sent."
        f"{' Meanwhile ' + left + '.' if left else ''} To correct it, give the corrected text (`broadcaster amend "
        f"{incident.id} {sequence} \"...\"`), or --private NOTE, --for ID TEXT to change only the note or a "
        "customer's detail."
    )


def skip_where_it_was_given(store: Store, incident: Incident, correction: Update,
                            planned: Sequence[PlannedDelivery]) -> list[PlannedDelivery]:
    """``planned`` with the places that have (or are owed: ``retry`` sends it) the same correction, made within
    ``UPDATE_WINDOW``, skipped: ``amend --only ops`` then the same amend for everyone gives the rest the correction,
    and staff do not get it twice."""
    latest, told = _told_the_same(store, incident, correction)
    if latest is None:
        return list(planned)
    why = (f"correction #{latest.sequence}, the same words, is this place's already (`broadcaster retry {incident.id}` "
           "sends it where it has not gone out)")
    return [PlannedDelivery(p.destination, p.target, p.visibility, DeliveryState.SKIPPED, why)
            if (p.state == DeliveryState.PENDING or _staff_read_the_same(p)) and (p.destination, p.target) in told
            else p for p in planned]


def _staff_read_the_same(planned: PlannedDelivery) -> bool:
    """Staff's place skipped as reading the correction as they have it (``reads_the_same``): where that is because
    they were given these very words, saying so (and ``retry``) tells the operator more than "read nothing changed"."""
    return (planned.state == DeliveryState.SKIPPED and planned.reason == READ_THE_SAME
            and Visibility.parse(planned.visibility).level == Level.INTERNAL)


def _told_the_same(store: Store, incident: Incident, correction: Update) -> tuple[Update | None, set[tuple[str, str]]]:
    """The latest correction of ``correction``'s update that is the same correction, made within ``UPDATE_WINDOW``,
    and every place whose newest correction of that update is such a one: ``amend --only ops``, then the same amend
    for everyone (ops skipped there), then the same again gave every place the words, though no one correction
    went everywhere. A place told other words since (a different correction) is not told these."""
    sequence = corrected_sequence(correction)
    corrections = [u for u in store.updates(incident.id) if corrected_sequence(u) == sequence]
    latest: Update | None = None
    told: set[tuple[str, str]] = set()
    reached: set[tuple[str, str]] = set()  # places a newer correction went to: their newest words are decided
    for earlier in reversed(corrections):
        places = _told(store, earlier)
        if _same_correction(earlier, correction) and _within(earlier.created_at, correction.created_at, UPDATE_WINDOW):
            latest = latest or earlier
            told |= places - reached
        reached |= places
    return latest, told


def _kept_from(store: Store, incident_id: str, latest: Update, given: set[tuple[str, str]]) -> str:
    """The places ``latest`` was kept from (``--only``, ``--skip``) that no earlier same correction reached
    (``given``), and how to give it to them alone: "" when it went everywhere. Without it, "delivered everywhere it
    was planned" read as "everyone has it"."""
    deliveries = store.deliveries(incident_id=incident_id, sequence=latest.sequence)
    kept = sorted({d.destination for d in deliveries
                   if d.state == DeliveryState.SKIPPED and d.last_error in (NOT_IN_ONLY, SKIPPED_BY_OPERATOR)
                   and (d.destination, d.target) not in given})
    told = sorted({d.destination for d in deliveries if d.state != DeliveryState.SKIPPED} | {p for p, _ in given})
    if not kept or not told:
        return ""
    skips = " ".join(f"--skip {name}" for name in told)
    return (f", but it was not given to {', '.join(kept)}: to give it there, `broadcaster amend {incident_id} "
            f"{corrected_sequence(latest)} {skips} \"...\"` with the same words")


def _same_correction(one: Update, other: Update) -> bool:
    """Equal but for their numbers, times and authors: the same text to the character (a correction of letter case
    is one) and the same detail beside it. Compared as whole values: no private field is read here."""
    return replace(one, sequence=0, created_at=other.created_at, author="") == replace(other, sequence=0, author="")


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
    return not_delivered(store, incident_id, sequence) or "it was delivered everywhere it was planned"


def not_delivered(store: Store, incident_id: str, sequence: int | None = None) -> str:
    """``advice.not_sent_yet`` for the deliveries of update ``sequence`` (or of the whole incident) that have not
    reached their readers, each place named with its state (and, across updates, the updates' numbers); ""
    when none is left."""
    left = [d for d in store.deliveries(incident_id=incident_id, sequence=sequence) if d.state not in DONE_STATES]
    if not left:
        return ""
    sequences = sorted({d.sequence for d in left})
    numbered = sequence is None and len(sequences) > 1
    what = "it" if sequence is not None else (f"its update #{sequences[0]}" if not numbered else "some of its updates")

    def places(*states: DeliveryState) -> list[str]:
        found: dict[tuple[str, str], list[str]] = {}
        for d in left:
            if d.state in states:
                numbers = found.setdefault((d.destination, str(d.state)), [])
                numbers += [] if f"#{d.sequence}" in numbers else [f"#{d.sequence}"]
        return [f"{name} ({', '.join(numbers) + ': ' if numbered else ''}{state})"
                for (name, state), numbers in found.items()]

    return advice.not_sent_yet(incident_id, what, places(DeliveryState.PENDING, DeliveryState.FAILED),
                               places(DeliveryState.UNKNOWN), places(DeliveryState.SENDING), plural=numbered)
