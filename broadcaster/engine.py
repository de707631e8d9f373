"""Deliver stored updates to every destination at once, and record each outcome.

The flow for one command: the update and its deliveries are already in the
store (the outbox). ``Publisher.deliver`` then runs one asyncio task per
delivery: claim it (so no other process sends it too), wait until the earlier
update of the same incident has been sent to that destination (threading
depends on order), render the view the destination may see, send with retries
and backoff inside the command's deadline, and record the result the moment it
is known. Claims and results of the deliveries that reach that point in the same
turn of the event loop commit in one transaction (``store.batched``): a claim is
committed before its send starts. A slow destination holds back no other.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache, partial
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from broadcaster.compose import as_shown
from broadcaster.config import Config
from broadcaster.delivery import (
    DONE_STATES,
    DeliveryState,
    NotKnownBeforeLogin,
    PostedAnew,
    Receipt,
    Rendered,
    SendLog,
    ThreadRef,
    carried_sent,
    names_no_post,
)
from broadcaster.destination import Destination, Job, Run, names_target, resend_may_be_dropped
from broadcaster.destinations import destinations
from broadcaster.errors import DeliveryError, NotEditable, NotNeeded, StoreError, bounded, storable
from broadcaster.messages import advice
from broadcaster.messages.egress import Compared, LeakRefused, PrivateValues, guard
from broadcaster.messages.model import PUBLIC, Incident, Level, Status, Update, Visibility
from broadcaster.messages.visibility import (
    PRIVATE_KINDS,
    UpdateView,
    as_last_corrected,
    called_off,
    corrected_sequence,
    forbidden_values,
    own_values,
    reader_key,
    reader_number,
    readers_own_name,
    reads_the_same,
    view_for,
    without_text,
)
from broadcaster.own_words import own_words
from broadcaster.redaction import stored_text
from broadcaster.site.links import incident_url
from broadcaster.store import Delivery, Store, process_owner
from broadcaster.store.batched import BatchedWrites
from broadcaster.store.records import WRITTEN, utcnow

if TYPE_CHECKING:
    import asyncio

POLL_SECONDS = 0.05
# How long an earlier update's delivery may stay pending, untouched, before a later update's run sends it
# itself: the command that stored it claims it at once unless it is waiting its own turn.
TAKE_OVER_AFTER = timedelta(seconds=2)
# How stale the incident a paced message is weighed against may be (withdrawn? a reminder's window moved on?): a
# thousand chats' post is paced over a minute or more, and a read before each message costs a round trip in team mode.
INCIDENT_REREAD_SECONDS = 1.0
# asyncio is imported in the functions that run the loop, here as in every module a preview
# loads: a dry run starts no event loop, and asyncio with ssl is a tenth of its time.


@dataclass(frozen=True)
class Outcome:
    """The result of one delivery, as ``--json`` and the summary report it."""

    incident_id: str
    sequence: int
    destination: str
    target: str
    visibility: str
    state: str
    remote_id: str | None = None
    error: str | None = None
    attempts: int = 0
    notes: tuple[str, ...] = ()
    reason: str | None = None  # why a delivery was skipped
    # Taken by this command to send (pending when it began): its skip, if skipped, was decided as it went (a window
    # cancelled, the incident withdrawn), not planned. Not in ``--json``: the tick counts these (``StepSkips``).
    tried: bool = False

    @classmethod
    def of(cls, delivery: Delivery, *, notes: tuple[str, ...] = ()) -> Outcome:
        """A delivery's recorded state as an outcome; ``last_error`` is the skip reason for skipped ones."""
        return cls(
            incident_id=delivery.incident_id,
            sequence=delivery.sequence,
            destination=delivery.destination,
            target=delivery.target,
            visibility=delivery.visibility,
            state=delivery.state,
            remote_id=delivery.remote_id,
            error=delivery.last_error if delivery.state not in DONE_STATES else None,
            attempts=delivery.attempts,
            notes=notes,
            reason=delivery.last_error if delivery.state == DeliveryState.SKIPPED else None,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "destination": self.destination,
            "target": self.target,
            "visibility": self.visibility,
            "incident_id": self.incident_id,
            "sequence": self.sequence,
            "state": self.state,
            "remote_id": self.remote_id,
            "error": self.error,
            "attempts": self.attempts,
            "notes": list(self.notes),
            "reason": self.reason,
        }


class Progress(Protocol):
    """What the engine tells whoever shows progress (a terminal, or nobody)."""

    def started(self, delivery: Delivery) -> None: ...
    def retrying(self, delivery: Delivery, attempt: int, error: str, wait: float) -> None: ...
    def finished(self, outcome: Outcome) -> None: ...


class SilentProgress:
    def started(self, delivery: Delivery) -> None:
        pass

    def retrying(self, delivery: Delivery, attempt: int, error: str, wait: float) -> None:
        pass

    def finished(self, outcome: Outcome) -> None:
        pass


class Held(Exception):
    """An earlier update of the incident has not been sent to this destination."""


class _ClaimNotStored(Exception):
    """The store could not take a delivery's claim: nothing of it was sent, and it stays pending."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


def previous_status(updates: Sequence[Update], sequence: int) -> Status | None:
    earlier = [u for u in updates if u.sequence < sequence]
    return earlier[-1].status if earlier else None


def render(
    destination: Destination, incident: Incident, update: Update, updates: Sequence[Update], config: Config,
    *, without_update_text: bool = False, edits: bool | None = None, hidden: Collection[int] = frozenset(),
    left_out: Collection[int] = frozenset(),
) -> Rendered:
    """What one destination shows for one update, cut from the view its visibility allows.

    ``left_out``: updates the operator kept from this place (``--skip``), which a summary of the incident
    there (Slack's status card) must not quote though its readers were told them elsewhere.

    ``without_update_text``: the same rendering with the operator's texts shaped into
    ``x``s (the egress guard's template: what the destination shows of its own).
    """
    # ``edits``: whether it replaces a post in place (None: wherever the medium edits, as a preview shows it).
    shown = _as_it_was_posted(update, updates) if (destination.can_edit if edits is None else edits) else update
    before = corrected_sequence(update) if shown is not update else None  # the edited post's place in the timeline
    # Numbered and marked among the updates its readers were told (``hidden``: ``readers_never_told``), as their
    # page numbers them: "Update 2" after "Update 1", never "Update 4" that shows two were kept from them.
    # This update among them once, as rendered: a post that had not gone out goes as last corrected, a copy of the
    # stored one, which counted beside it made update 1 "Update 2".
    told = sorted([*(u for u in updates if u.sequence not in hidden and u.sequence != update.sequence), update],
                  key=lambda u: u.sequence)
    if hidden:
        # As these readers were told it: the stored record holds what every update changed, a component only
        # staff, or another customer, was told of too (a webhook event's ``data.incident`` carries them all).
        incident = as_shown(incident, told)
    view: UpdateView = view_for(
        Visibility.parse(destination.visibility),
        incident,
        shown,
        url=incident_url(config, incident.id),
        previous_status=previous_status(told, before if before is not None else update.sequence),
        number=reader_number(told, update.sequence),
        audiences=config.audiences,
    )
    if called_off(incident, told, update.sequence):
        view = replace(view, cancelled=True)
    view = _keyed(view, update, told, destination.visibility)
    if without_update_text:
        view = without_text(view)
    # Announced among what its readers were told too: a postmortem given to staff first (``--only ops``) is no
    # earlier version for the public, who are told "We have published", never "We have corrected".
    rendered = destination.render(view, update, told)
    now = _latest_as_corrected(update, [u for u in told if u.sequence not in left_out or u.sequence == update.sequence])
    if now is None or not (destination.can_edit and destination.keeps_a_summary):
        return rendered
    # Where the medium edits and keeps a summary, a correction carries the rendering of the incident as these readers now read it
    # (``payload["now"]``): a medium that keeps a summary of the incident apart from its posts (Slack's status
    # card) refreshes it from there, never from the corrected update. Guarded with the rest of the payload.
    as_told = [now if u.sequence == now.sequence else u for u in updates]  # counted once, as last corrected
    current = render(destination, incident, now, as_told, config, without_update_text=without_update_text,
                     edits=False, hidden=hidden)
    return replace(rendered, payload={**rendered.payload, "now": dict(current.payload)})


def _latest_as_corrected(update: Update, told: Sequence[Update]) -> Update | None:
    """For a correction: the incident's latest update its readers were told (``told``), as last corrected among
    them; None for any other update."""
    if corrected_sequence(update) is None:
        return None
    latest = max((u for u in told if corrected_sequence(u) is None and u.kind not in (*PRIVATE_KINDS, "withdrawal")),
                 key=lambda u: u.sequence, default=None)
    return as_last_corrected(latest, told) if latest is not None else None


def _keyed(view: UpdateView, update: Update, told: Sequence[Update], visibility: str) -> UpdateView:
    """``view`` with its key, and a correction's the corrected update's, among the updates its readers were told."""
    readers = Visibility.parse(visibility)
    corrects = corrected_sequence(update)
    return replace(view, key=reader_key(told, update.sequence, readers),
                   corrects_key=None if corrects is None else reader_key(told, corrects, readers))


def _as_it_was_posted(update: Update, updates: Sequence[Update]) -> Update:
    """A correction, as the post it replaces in place showed its update: that update's status (the incident may
    have moved on since: an edited "Identified" message must not turn "Resolved")."""
    corrects = corrected_sequence(update)
    original = next((u for u in updates if u.sequence == corrects), None) if corrects is not None else None
    if original is None or original.kind == "postmortem":
        return update
    # Its time stays the correction's (when it was corrected); what readers saw beside the text stays too, in an
    # edit only: a correction sent as a new post (X) must not repeat an old promise as if it were made now.
    return replace(update, status=original.status, components=original.components, etr=original.etr,
                   next_update_by=original.next_update_by)


def carried_private_values(
    incident: Incident, update: Update, updates: Sequence[Update], visibility: Visibility = PUBLIC,
    config: Config | None = None, *, every_update: bool = False,
) -> PrivateValues:
    """What no rendering of ``update`` for ``visibility`` may hold (``forbidden_values``) with its incident
    title's, and a correction's those of the update it corrects too (its text is what the correction replaces).
    ``every_update``: those of every update of the incident too, for a destination that shows them all at once
    (the page: its build guards each page against them all, and would leave the incident out)."""
    audiences = config.audiences if config is not None else {}
    if every_update:
        shown = list({u.sequence: u for u in [*updates, update]}.values())
        own = frozenset().union(*(own_values(u, visibility) for u in shown))
        every = {v for u in shown for v in forbidden_values(u, incident, visibility, audiences, read_beside=own)}
        return PrivateValues.of(every, mask=readers_own_name(visibility, audiences))
    values = set(forbidden_values(update, incident, visibility, audiences))
    corrects = corrected_sequence(update)
    original = next((u for u in updates if u.sequence == corrects), None) if corrects is not None else None
    if original is not None:
        values |= forbidden_values(original, None, visibility, audiences)
    return PrivateValues.of(values, mask=readers_own_name(visibility, audiences))


def readers_of(destination: Destination, visibility: str) -> Visibility:
    """Who reads a delivery: its visibility as planned, or the public's, the strictest, where the destination's
    has changed since."""
    return Visibility.parse(visibility) if visibility == destination.visibility else PUBLIC


def readers_never_told(store: Store, destination: Destination, visibility: str, incident_id: str) -> set[int]:
    """The updates of the incident (sequences) a delivery's readers were never told (``Store.kept_from``)."""
    return store.kept_from(incident_id, readers_of(destination, visibility))


def versions_not_announced_here(store: Store, update: Update, destination: str, target: str,
                                visibility: str) -> tuple[int, ...]:
    """For a postmortem's version: its earlier versions whose announcement never went out in this place (failed,
    then ``_superseded``; skipped; never planned here). One that may have gone out (of unknown fate) counts. A
    preview asks it too: without it, it showed "We have corrected our postmortem" where the send said "We have
    published" (review 65g)."""
    if update.kind != "postmortem":
        return ()
    earlier = [u.sequence for u in store.updates(update.incident_id)
               if u.kind == "postmortem" and u.sequence < update.sequence]
    if not earlier:
        return ()
    out = {d.sequence for d in store.thread_history(update.incident_id, destination, target, update.sequence)
           if d.visibility == visibility and (d.parts or d.state in (
               DeliveryState.SENT, DeliveryState.SENDING, DeliveryState.UNKNOWN))}
    return tuple(sequence for sequence in earlier if sequence not in out)


def egress_refusal(
    destination: Destination, visibility: str, rendered: Rendered, incident: Incident, update: Update,
    updates: Sequence[Update], config: Config, *, edits: bool | None = None, hidden: Collection[int] = frozenset(),
    left_out: Collection[int] = frozenset(),
) -> LeakRefused | None:
    """The egress guard for one rendering: the refusal if it holds a value its readers may not see, else None.

    ``visibility`` is the delivery's (as planned); the destination's may have changed
    since: then the rendering is held to the public's rule, the strictest. A public
    rendering may hold nothing private; one audience's, nothing internal and nothing
    of any other audience (``forbidden_values``). The destination's own words (a
    status, "Next update by", the page's title) count only as often as its
    rendering without the update's texts holds them.
    """
    scope = readers_of(destination, visibility)
    if scope.level == Level.INTERNAL:
        return None
    # Every update's: a private span of update 1 repeated in update 3 is as private on X as on the page.
    values = carried_private_values(incident, update, updates, scope, config, every_update=True)
    payloads = destination.egress_payloads(rendered)

    @cache  # rendered once, and only if a value is found
    def shown() -> list[tuple[str, str]]:
        return destination.egress_payloads(render(destination, incident, update, updates, config,
                                                  without_update_text=True, edits=edits, hidden=hidden,
                                                  left_out=left_out))

    def template(index: int) -> tuple[str, Compared] | None:
        if len(shown()) != len(payloads):  # cut into other parts: no like-for-like template
            return None
        return shown()[index][0], own_words(config.page, config.components)

    try:
        for index, (payload, media_type) in enumerate(payloads):
            guard(payload, values, f"the message for {destination.name}", media_type, partial(template, index))
    except LeakRefused as refused:
        return refused
    return None


class Publisher:
    """Sends deliveries concurrently for one command. One instance per command."""

    # How long the other sends wait at most for the destinations' head starts (``Destination.head_start``):
    # a build of one update takes well under a second, and a stuck one must not hold the others back.
    head_start_wait: ClassVar[float] = 5.0

    def __init__(self, config: Config, store: Store, *, progress: Progress | None = None) -> None:
        self.config = config
        self.store = store
        self.progress: Progress = progress or SilentProgress()
        self.destinations = destinations(config, store)
        self.owner = process_owner()
        self._run = Run(config, store)
        self._writes = BatchedWrites(store)  # claims and results of many deliveries in one transaction
        self._batch: set[int] = set()
        self._ahead: dict[str, asyncio.Future[Any]] = {}  # head starts the other sends wait for, by destination
        self._finished: set[int] = set()
        self._renders: dict[tuple[str, str, str, int, bool, bool, int, tuple[int, ...]], Rendered | LeakRefused] = {}
        # By rendering key, then by delivery id: the corrections whose text a post of which nothing had gone out
        # carries (``as_last_corrected``); sent so, their own deliveries in its place are skipped (``_sent``).
        self._carries: dict[tuple[str, str, str, int, bool, bool, int, tuple[int, ...]], tuple[int, ...]] = {}
        self._carried: dict[int, tuple[int, ...]] = {}
        self._sending: dict[int, Rendered | LeakRefused] = {}  # by delivery id: what its attempts of this run send
        # Posts in parts half sent, finished from their stored renderings (``_as_posted``), guarded once each.
        self._as_posted_renders: dict[tuple[str, str, str, int, str], Rendered | LeakRefused] = {}
        self._originals: dict[int, str | None] = {}  # by delivery id: the post a correction replaces in place
        # Corrections whose post the channel could not edit, posted anew: the channel's reason (the original still up,
        # uncorrected?), told with the outcome however the post is recorded (a later attempt, a cut at the deadline).
        self._not_editable: dict[int, PostedAnew] = {}
        self._updates: dict[tuple[str, int], Update | None] = {}
        self._deleting: set[int] = set()  # deliveries that delete posts (a withdrawal): safe to repeat
        self._logs: dict[int, SendLog] = {}  # the send logs of posts in parts, by delivery id
        self._parts_unrecorded: set[int] = set()  # posts in parts whose confirmed parts the store did not take
        self._starts_unrecorded: set[int] = set()  # posts starting their thread anew the store was not told of yet
        self._left_alone: dict[int, list[str]] = {}  # a withdrawal's notes on posts it did not write, kept
        self._sent_first: dict[int, asyncio.Future[Outcome]] = {}  # earlier updates' deliveries this run took over
        self._sent_elsewhere: dict[tuple[str, str], list[Delivery]] = {}  # see _thread_moved_here
        self._posted_elsewhere: dict[tuple[str, str], list[Delivery]] = {}  # see _moved_here
        self._deadline = 0.0
        self._pacing: dict[str, float] = {}  # by destination: how long its paced sends may queue a claimed delivery
        self._incidents_read: dict[str, tuple[float, Incident | None]] = {}  # by id: when read, as read (_incident_now)
        self._moved_on: dict[str, str] = {}  # by incident: why its window is no longer to be reminded of

    @property
    def lease(self) -> timedelta:
        """How long a claim by a process on another machine is trusted."""
        return timedelta(seconds=self.config.engine.deadline + 60)

    def reap(self) -> list[Delivery]:
        return self.store.reap_abandoned(self.lease)

    def deliver(self, deliveries: Sequence[Delivery], *, include_unknown: bool = False) -> list[Outcome]:
        """Send these deliveries at once; returns an outcome for each, in the given order."""
        import asyncio
        used = self._used(deliveries)
        # The slowest first: its first request starts the longest chain of round trips, and the
        # others' warm-ups (the site builder's import) would share the one GIL with it.
        for destination in sorted(used, key=lambda d: not d.slowest):
            destination.warm_up()  # the slow clients first, then what renderings depend on
        for destination in used:
            destination.prepare()
        with asyncio.Runner() as runner, _terminate_as_interrupt():
            return runner.run(self._deliver_all(list(deliveries), include_unknown))

    async def _deliver_all(self, deliveries: list[Delivery], include_unknown: bool) -> list[Outcome]:
        import asyncio
        loop = asyncio.get_running_loop()
        self._batch = {d.id for d in deliveries}
        self._run = Run(self.config, self.store, sorted({d.incident_id for d in deliveries}))
        self._pacing = {
            destination.name: destination.pacing_seconds(sum(d.destination == destination.name for d in deliveries))
            for destination in self._used(deliveries)
        }
        self._deadline = loop.time() + self.config.engine.deadline + sum(self._pacing.values())
        self._ahead = {d.name: f for d in self._used(deliveries) if (f := d.head_start(self._run)) is not None}
        try:
            tasks = [asyncio.create_task(self._deliver_one(d, include_unknown)) for d in deliveries]
            return list(await asyncio.gather(*tasks))
        finally:
            for destination in self._used(deliveries):
                try:
                    await destination.close()
                except Exception:  # noqa: BLE001 - closing must never hide the real outcome
                    pass

    def _used(self, deliveries: Sequence[Delivery]) -> list[Destination]:
        """The configured destinations these deliveries go to, each once."""
        names = {d.destination for d in deliveries}
        return [d for name, d in self.destinations.items() if name in names]

    async def _deliver_one(self, delivery: Delivery, include_unknown: bool) -> Outcome:
        try:
            return await self._claim_and_deliver(delivery, include_unknown)
        except _ClaimNotStored as failed:  # nothing of it was sent: the store still has it pending
            outcome = replace(Outcome.of(delivery), error=advice.claim_not_stored(delivery.incident_id, failed.cause))
            self.progress.finished(outcome)
            return outcome

    async def _claim_and_deliver(self, delivery: Delivery, include_unknown: bool) -> Outcome:
        import asyncio
        destination = self.destinations.get(delivery.destination)
        claim_unknown = include_unknown or repeats_safely(
            delivery, destination, self._update(delivery.incident_id, delivery.sequence))
        gone = (no_longer_wanted(delivery, destination, deleting=self._deletes_only(delivery, destination))
                or self._expired_reminder(delivery, destination))
        if gone:
            return await self._claim_and_skip(delivery, claim_unknown, gone)
        assert destination is not None
        self.progress.started(delivery)
        if self._ahead and destination.name not in self._ahead:
            # Whatever the head start's outcome: a failed build is its own deliveries' failure. Never
            # more than a quarter of the deadline: a stuck build must leave the others time to send.
            wait = min(self.head_start_wait, self.config.engine.deadline / 4)
            await asyncio.wait(self._ahead.values(), timeout=wait)
        try:
            # Wait for earlier updates before claiming: a delivery that is only waiting
            # has sent nothing, so a crash here must leave it pending, not unknown.
            async with asyncio.timeout_at(self._deadline):
                thread = await self._thread_for(delivery) if destination.ordered else None
        except Held as held:
            return await self._claim_and_fail(delivery, claim_unknown, str(held))
        except TimeoutError:
            return await self._claim_and_fail(delivery, claim_unknown, advice.waited_too_long(self.config.engine.deadline))
        late = (self._expired_reminder(delivery, destination)  # its window may have started while it waited
                or self._superseded(delivery, destination))
        if late:
            return await self._claim_and_skip(delivery, claim_unknown, late)
        if not await self._claim(delivery, claim_unknown):
            return await self._taken_elsewhere(delivery)
        # A delete sends no text: the withdrawal's rendering is never sent, so nothing of it is the guard's to refuse
        # (refused, the posts stayed up for good: a withdrawn incident takes no second withdrawal; review 28d).
        if self._deletes_only(delivery, destination):
            self._deleting.add(delivery.id)
        refused = None if delivery.id in self._deleting else self._egress_refusal(destination, delivery)
        if refused is not None:
            return await self._fail(delivery, str(refused))  # permanent: nothing left, and nothing may
        changed = self._rendered_otherwise(destination, delivery)
        if changed is not None:
            return await self._unknown(delivery, changed)
        log = self._send_log(destination, delivery)
        try:
            async with asyncio.timeout_at(self._deadline):
                receipt = await self._send_with_retries(destination, delivery, thread, log)
        except asyncio.CancelledError:
            self._stopped_mid_send(destination, delivery, log, thread)
            raise
        except DeliveryError as exc:
            return await self._gave_up(destination, delivery, exc, log)
        except NotNeeded as exc:
            return await self._record(delivery, partial(self.store.mark_skipped, delivery.id, self._scrubbed(str(exc))),
                                      state=DeliveryState.SKIPPED)
        except TimeoutError:
            return await self._cut_by_deadline(destination, delivery, thread, log)
        except Exception as exc:  # noqa: BLE001 - a bug in one destination must not stop the others
            return await self._fail(delivery, f"unexpected error: {type(exc).__name__}: {exc}")  # _fail scrubs it
        return await self._sent(delivery, receipt, thread)

    def _stopped_mid_send(
        self, destination: Destination, delivery: Delivery, log: SendLog, thread: ThreadRef | None
    ) -> None:
        """Ctrl-C or SIGTERM while a delivery was claimed. One whose every message the service confirmed
        is sent (a Slack post whose status card was still being refreshed); one with nothing out and
        nothing that may have arrived (queued behind a rate limit, waiting out a 429) goes back to
        pending, for a plain retry to send; any other stays sending, for the next command to reap as
        unknown. Written at once: the loop is being torn down, and the batched writes may never commit."""
        may_be_out = log.stop()
        try:
            if log.parts and destination.sends_rendered and delivery.id not in self._deleting and (
                    len(log.parts) >= len(self._rendered(destination, delivery).messages)):
                self.store.mark_sent(delivery.id, log.parts[0], thread.first_remote_id if thread else None,
                                     "; ".join(self._reason_posted_anew(delivery)) or None,
                                     starts_thread=log.starts_thread)
            elif destination.idempotent or (destination.reports_requests and not may_be_out):
                # Parts confirmed stay recorded: a plain retry resumes after them. Left ``sending``, it was reaped
                # as unknown, and "the post is there" (part 1 was) settled it with the rest never sent.
                self.store.release(delivery.id, advice.stopped_before_sending(destination.repeats_alike))
        except Exception:  # noqa: BLE001 - stopping goes on; the claim is reaped as unknown instead
            pass

    async def _claim(self, delivery: Delivery, include_unknown: bool) -> bool:
        """Take the delivery for this process, committed before anything of it is sent."""
        import asyncio
        try:
            return await self._writes(partial(self.store.claim, delivery.id, self.owner, include_unknown=include_unknown,
                                              held_for=self._may_queue(delivery)))
        except asyncio.CancelledError:
            self._give_back_unsent(delivery)
            raise
        except Exception as exc:  # noqa: BLE001 - a full disk, a lock held too long: this one is not sent
            raise _ClaimNotStored(self._store_failure(exc)) from exc

    def _give_back_unsent(self, delivery: Delivery) -> None:
        """Ctrl-C or SIGTERM while the claim was being stored: the loop's turn commits the claims it took all the
        same, and nothing of this one was sent. Left ``sending``, the next command reaped it as unknown (a post
        that never left, held for a human, and every later update to its chat held behind it). Given back as it
        was: pending, or unknown where it was claimed from unknown. Written at once: the loop is being torn down."""
        was_unknown = delivery.state == DeliveryState.UNKNOWN
        try:
            self.store.give_back(delivery.id, self.owner, DeliveryState.UNKNOWN if was_unknown else DeliveryState.PENDING,
                                 delivery.last_error if was_unknown else advice.stopped_before_sending())
        except Exception:  # noqa: BLE001 - stopping goes on; the claim is reaped as unknown instead
            pass

    def _may_queue(self, delivery: Delivery) -> timedelta:
        """How long a claimed delivery may wait for its turn: none where its destination is not paced; where it is,
        the run's whole pacing (two tables of one Telegram bot share its limits, so one's chats queue behind the
        other's)."""
        if not self._pacing.get(delivery.destination):
            return timedelta(0)
        return timedelta(seconds=sum(self._pacing.values()))

    def _store_failure(self, exc: Exception) -> str:
        """The store's failure in a few words: the driver's own (a StoreError's advice is for a command that
        sent nothing; the caller says what to do about a delivery)."""
        if isinstance(exc, StoreError):
            driver = exc.__cause__
            if exc.reason is not None:  # the team database's: its driver's words are in it, already redacted
                return self._scrubbed(exc.reason)
            return self._scrubbed(f"{type(driver).__name__}: {driver}" if isinstance(driver, Exception) else str(exc))
        return self._scrubbed(f"{type(exc).__name__}: {exc}")

    async def _record(
        self, delivery: Delivery, write: Callable[[], None], *, state: DeliveryState, remote_id: str | None = None,
        notes: tuple[str, ...] = (),
    ) -> Outcome:
        """Record a delivery's end with ``write`` (batched with the others') and report it. If the store cannot
        take it (a full disk, a lock held too long), the outcome is still told as it was (``state``, ``remote_id``),
        with what to record once the store works: the service has answered, and a "try again" would post twice."""
        self._finished.add(delivery.id)
        notes = (*notes, *(n for n in self._reason_posted_anew(delivery, state) if n not in notes))

        parts = tuple(self._logs[delivery.id].parts) if delivery.id in self._logs else ()

        def written() -> Delivery:
            if delivery.id in self._starts_unrecorded:  # with its end: a resume or a mark by hand must know it
                self.store.mark_starts_thread(delivery.id)
            if delivery.id in self._parts_unrecorded:  # with its end, or the parts posted would be posted again
                self.store.add_part(delivery.id, parts, self._rendering_posted(delivery))
            write()
            return self.store.delivery(delivery.id)

        try:
            outcome = self._outcome(await self._writes(written), notes=notes)
        except Exception as exc:  # noqa: BLE001 - the answer is known; only its record failed
            told = advice.result_not_stored(delivery.incident_id, delivery.destination, delivery.target, state,
                                            remote_id, self._store_failure(exc), parts=parts)
            outcome = replace(Outcome.of(delivery, notes=notes), state=DeliveryState.UNKNOWN, remote_id=remote_id,
                              error=told)
        self.progress.finished(outcome)
        return outcome

    async def _sent(self, delivery: Delivery, receipt: Receipt, thread: ThreadRef | None) -> Outcome:
        notes = tuple(self._scrubbed(n) for n in (*receipt.notes, *self._left_alone.pop(delivery.id, ())))
        notes = (*notes, *(n for n in self._reason_posted_anew(delivery) if n not in notes))  # stored with it too
        note = "; ".join(notes) or None
        # A post that started the thread anew is recorded as its own thread's: ``thread_of`` threads under it. The
        # store knows it too when the channel said so before posting (``_starts_thread``): a resumed post's receipt,
        # or a cut's, may not say it again.
        first = thread.first_remote_id if thread else None

        def write() -> None:
            self.store.mark_sent(delivery.id, receipt.remote_id, first, note, starts_thread=receipt.starts_thread)
            self._skip_corrections_carried(delivery)

        return await self._record(delivery, write, state=DeliveryState.SENT, remote_id=receipt.remote_id, notes=notes)

    def _reason_posted_anew(self, delivery: Delivery, state: DeliveryState = DeliveryState.SENT) -> tuple[str, ...]:
        """Why a correction was posted anew, not edited in place (the original may still be up, uncorrected), as the
        attempt that found it was told: said whichever attempt ends the delivery, and however its post is recorded
        (a later attempt's receipt, a cut at the deadline after the post was confirmed). Ended failed or of unknown
        fate, it is not "posted the correction as a new message": the channel gives its reason apart (``PostedAnew``),
        and the new post is worded here as it ended."""
        found = self._not_editable.get(delivery.id)
        return (self._scrubbed(found.said(state)),) if found else ()

    def _skip_corrections_carried(self, delivery: Delivery) -> None:
        """With a post sent carrying corrections' text (``amend`` while it was out, failing or of unknown fate):
        their deliveries still to go in its place, skipped in the same write. Its readers never read the text
        corrected: "Correction to our update" under it told them of a change they never saw. Each claimed first,
        so one another process took meanwhile is left to it."""
        carried = self._carried.get(delivery.id, ())
        if not carried:
            return
        reason = carried_sent(delivery.sequence)
        for held in self.store.deliveries(incident_id=delivery.incident_id,
                                          states=(DeliveryState.PENDING, DeliveryState.FAILED)):
            if (held.sequence in carried and (held.destination, held.target, held.visibility)
                    == (delivery.destination, delivery.target, delivery.visibility)
                    and self.store.claim(held.id, self.owner)):
                self.store.mark_skipped(held.id, reason)

    def _egress_refusal(self, destination: Destination, delivery: Delivery) -> LeakRefused | None:
        """The egress guard's refusal of this delivery's rendering, before any of it is sent.

        Checked here, before the send log and its deadline, so that a refusal is a
        permanent failure whatever happens next; ``_send_once`` guards every send again.
        Past this point the rendering is known clean, and every later ``_rendered``
        (part counts, advice) returns it.
        """
        if not destination.sends_rendered:
            return None
        try:
            self._rendered(destination, delivery)
        except LeakRefused as refused:
            return refused
        return None

    def _rendered_otherwise(self, destination: Destination, delivery: Delivery) -> str | None:
        """Why not to resume a post in parts whose rendering was not kept (parts recorded before schema 8, or taken
        over from an older export), when the rendering made now has no message left after its confirmed parts:
        it is not the one they were cut from (a post is recorded sent once its last part is out), and counted in
        it, the rest would be recorded sent and never posted. With messages left, nothing tells: resumed as then."""
        if not (destination.sends_rendered and delivery.parts and delivery.rendering is None):
            return None
        update = self._update(delivery.incident_id, delivery.sequence)
        if update is None or update.kind == "withdrawal":  # its parts are the posts it deleted
            return None
        total = len(self._rendered(destination, delivery).messages)
        if total > len(delivery.parts):
            return None
        where = destination.name + (f" {delivery.target}" if delivery.target else "")
        if total == len(delivery.parts):
            # No time of the last part is kept (``updated_at`` moves with every claim, reaping and verdict), so
            # nothing proves the post was cut as it renders now: what is known is said, and the operator decides.
            return (f"all {total} message(s) its update renders as now are confirmed out, but the rendering they were "
                    "cut from was not kept (recorded before this version of broadcaster), so whether the post is whole "
                    f"cannot be told. Nothing more was posted. Check {where}: if the post is whole, `broadcaster retry "
                    f"{delivery.incident_id} --mark-unknown-sent`; if not, post what is missing as a new update, then "
                    "the same.")
        return (f"{len(delivery.parts)} part(s) of this post are out, but its update now renders as {total} message(s) "
                "(the incident changed since; the rendering they were cut from was not kept), so what is missing "
                f"cannot be told. Nothing more was posted. Check {where}: post what is missing as a new update if "
                f"need be, then `broadcaster retry {delivery.incident_id} --mark-unknown-sent`.")

    def _send_log(self, destination: Destination, delivery: Delivery) -> SendLog:
        """The delivery's confirmed parts; for a post in parts, each new one stored the moment it is confirmed.

        A one-message post is recorded sent right after its one confirmation: a store
        write per message on top would cost a round trip per chat in team mode.
        """
        # A delivery left ``unknown`` (resent by ``retry --include-unknown``): an earlier run's request may have
        # arrived, so a channel that can look its post up does so before posting again (Bluesky).
        log = SendLog(parts=list(delivery.parts), may_have_arrived=delivery.state == DeliveryState.UNKNOWN,
                      starts_thread=delivery.starts_thread)
        log.on_starts_thread = partial(self._starts_thread, destination, delivery, log)
        # Kept as its thread's first by an earlier attempt (refused, or of unknown fate): the channel's word comes to
        # nothing now (the log knows it), and its one message must be stored once confirmed all the same, or a crash
        # before it is recorded sent has its resume post it again, another new thread.
        if destination.sends_rendered and delivery.id not in self._deleting and (
                delivery.starts_thread or len(self._rendered(destination, delivery).messages) > 1):
            self._keep_each_part(delivery, log)
        if not destination.idempotent and not self._withdraws(delivery):
            log.still_timely = partial(self._still_due, delivery, self._reminds(delivery, destination), log)
        return log

    def _keep_each_part(self, delivery: Delivery, log: SendLog) -> None:
        """Store each message of the delivery the moment the service confirms it (``_add_part``)."""
        if log.on_part is None:
            log.on_part = partial(self._add_part, delivery, log)
            self._logs[delivery.id] = log

    def _starts_thread(self, destination: Destination, delivery: Delivery, log: SendLog) -> None:
        """The channel posts this delivery as its thread's first, before the request leaves: stored at once, and so is
        the post's id once confirmed, even of one message. A run that ends before recording it sent (a crash, a cut)
        leaves a post a resume finishes, or ``--mark-unknown-sent`` settles, as the thread's first, under its own id:
        recorded any other way, the next follow-up replied under the deleted first message and started yet another
        thread. Rare (the first message deleted), so the store's round trip per message costs nothing that matters."""
        if destination.sends_rendered and delivery.id not in self._deleting:
            self._keep_each_part(delivery, log)
        try:
            self.store.mark_starts_thread(delivery.id)
        except Exception:  # noqa: BLE001 - the post goes on; it is stored with the delivery's end
            self._starts_unrecorded.add(delivery.id)

    def _add_part(self, delivery: Delivery, log: SendLog, _remote_id: str) -> None:
        """Record the confirmed parts; if the store cannot, the parts stay known here (the post goes on, and
        its end is recorded with them, or told with their ids), never lost for a resend from part 1."""
        try:
            self.store.add_part(delivery.id, log.parts, self._rendering_posted(delivery))
        except Exception:  # noqa: BLE001 - the part is posted: what matters is that it is not posted again
            self._parts_unrecorded.add(delivery.id)

    def _rendering_posted(self, delivery: Delivery) -> Rendered | None:
        """The rendering this run's parts of the delivery were cut from, kept with them: a later run, another
        process or another store after ``store import`` sends the rest from it (``_as_posted``), never from a
        rendering made then, whose messages would not be the ones counted. None for a withdrawal (its parts
        are posts it deleted)."""
        found = self._sending.get(delivery.id)
        if delivery.id in self._deleting or not isinstance(found, Rendered):
            return None
        return found

    async def _gave_up(self, destination: Destination, delivery: Delivery, exc: DeliveryError, log: SendLog) -> Outcome:
        """Record a delivery whose last attempt failed: unknown if it may have arrived, else failed."""
        if exc.outcome_unknown and exc.refused_if_first and not self._earlier_attempt_may_have_arrived(delivery, log):
            return await self._fail(delivery, advice.refused_for_good(exc.refused_if_first))
        if exc.outcome_unknown and not destination.idempotent and delivery.id not in self._deleting:
            return await self._unknown(delivery, f"{exc} {self._unknown_advice(destination, delivery, log)}")
        if not exc.retryable:
            return await self._fail(delivery, f"{exc}{self._settled_by_hand(destination, delivery, log)}")
        attempts = self.store.delivery(delivery.id).attempts
        engine = self.config.engine
        return await self._fail(delivery, advice.gave_up(str(exc), attempts, engine.max_attempts, engine.deadline))

    def _settled_by_hand(self, destination: Destination, delivery: Delivery, log: SendLog) -> str:
        """For a withdrawal's delete refused on posts this table's credentials can never delete: what records it done
        once they are deleted by hand. Without it, the operator was sent to delete them by hand, and then every
        `retry` (a cron job's too) failed there again, exit 3, for ever."""
        if delivery.id not in self._deleting:
            return ""
        left = left_to_delete(self.store, delivery, log.parts)
        if not not_deletable(destination, left, delivery.target):
            return ""
        return " " + advice.delete_by_hand_then_mark(delivery.incident_id, delivery.destination, delivery.target)

    def _earlier_attempt_may_have_arrived(self, delivery: Delivery, log: SendLog) -> bool:
        """Whether a request of this delivery before the last one may have reached the service: one of this run
        whose answer was lost, a part confirmed, or any attempt of an earlier run (the store counts them all)."""
        if log.earlier_may_have_arrived or log.parts:
            return True
        # Recorded refused for good, the attempts made before this run were all refused (that verdict weighed them):
        # counted as in doubt, `retry` into the same refusal called a post never made "most likely there".
        proven = delivery.attempts if _refused_for_good(delivery) else 0
        try:
            return self.store.delivery(delivery.id).attempts - proven > log.attempts
        except Exception:  # noqa: BLE001 - cannot tell: in doubt, as before
            return True

    async def _cut_by_deadline(
        self, destination: Destination, delivery: Delivery, thread: ThreadRef | None, log: SendLog
    ) -> Outcome:
        """The command's deadline came mid-send: sent, unknown or failed, by what had left."""
        # A withdrawal's parts are the posts it deleted so far, never a post it made.
        if destination.sends_rendered and log.parts and delivery.id not in self._deleting:
            if len(log.parts) >= len(self._rendered(destination, delivery).messages):
                return await self._sent(delivery, Receipt(remote_id=log.parts[0], starts_thread=log.starts_thread), thread)
        deadline = self.config.engine.deadline
        left = await self._left_by_cut(destination, delivery)
        if left:  # "retry publishes it again" would hide it: a withdrawn incident's page may stay public
            return await self._fail(delivery, advice.cut_left(deadline, left))
        if delivery.id in self._deleting:
            return await self._fail(delivery, advice.cut_harmless(deadline))  # deleting again shows nothing twice
        # An earlier run's request may have arrived (a delivery left unknown): where repeating shows nothing twice
        # (the site and hosts rebuild and upload whole), that changes nothing.
        earlier = log.may_have_arrived and not destination.idempotent
        if log.on_wire or earlier or not destination.reports_requests:
            return await self._unknown(
                delivery, f"{advice.cut_while_out(deadline)} {self._unknown_advice(destination, delivery, log)}"
            )
        if destination.idempotent:
            return await self._fail(delivery, advice.cut_harmless(deadline))
        return await self._fail(delivery, advice.cut_before_sending(deadline, destination.repeats_alike))

    async def _left_by_cut(self, destination: Destination, delivery: Delivery) -> str | None:
        """``destination.left_by_cut``, which waits for the cut send to stop. Ctrl-C or SIGTERM meanwhile (the
        command has run past its deadline and looks stuck) would leave the delivery ``sending``, reaped later as a
        post that may or may not exist, and the pages left in the bucket named nowhere: so the cut is recorded at
        once, then again with what the destination says it left once the send has stopped, and the command goes on
        as interrupted. Written at once, as ``_stopped_mid_send`` does: the batched writes may never commit."""
        import asyncio

        if not destination.idempotent:  # a channel has nothing to wait for, and its cut may be "unknown", not failed
            return await destination.left_by_cut(self._run)
        # A whole site's cut ends failed whatever it left (it repeats harmlessly), so that much is known at once.
        asking = asyncio.ensure_future(destination.left_by_cut(self._run))
        try:
            return await asyncio.shield(asking)
        except asyncio.CancelledError:
            deadline = self.config.engine.deadline
            self._failed_at_once(delivery, advice.cut_interrupted(deadline))  # should a second Ctrl-C end it all
            # The wait goes on (the send stops after the requests it has out, each bounded by the destination's
            # timeouts, and the runner's close would wait for it all the same), until a second Ctrl-C: the cut is
            # recorded already.
            await asyncio.wait([asking])
            if not asking.cancelled() and asking.exception() is None:
                left = asking.result()
                self._failed_at_once(delivery, advice.cut_left(deadline, left) if left else advice.cut_harmless(deadline))
            raise

    def _failed_at_once(self, delivery: Delivery, error: str) -> None:
        try:
            self.store.mark_failed(delivery.id, self._scrubbed(error))
        except Exception:  # noqa: BLE001 - stopping goes on; the claim is reaped as unknown instead
            pass

    def _unknown_advice(self, destination: Destination, delivery: Delivery, log: SendLog) -> str:
        where = destination.name + (f" {delivery.target}" if delivery.target else "")
        total = len(self._rendered(destination, delivery).messages) if log.parts and delivery.id not in self._deleting else 0
        return advice.unknown(where, delivery.incident_id, len(log.parts), total)

    def _scrubbed(self, text: str) -> str:
        """Every text the engine stores or reports, without a secret: whatever a channel or host
        already scrubbed, a server's answer quoted in an error, a note or advice may echo one; nor a
        user name standing alone in a URL (a proxy's key written as the user: ``without_lone_users``); nor a lone
        surrogate, which the store cannot take (``storable``: a note quoting a server is not escaped on its way)."""
        return bounded(storable(stored_text(text, self._secrets())))

    def _secrets(self) -> list[str]:
        values = self.config.secret_values()
        for destination in self.destinations.values():
            values.extend(destination.secret_values())
        return values

    async def _claim_and_fail(self, delivery: Delivery, include_unknown: bool, error: str) -> Outcome:
        if not await self._claim(delivery, include_unknown):
            return await self._taken_elsewhere(delivery)
        return await self._fail(delivery, error)

    async def _claim_and_skip(self, delivery: Delivery, include_unknown: bool, reason: str) -> Outcome:
        if not await self._claim(delivery, include_unknown):
            return await self._taken_elsewhere(delivery)
        return await self._record(delivery, partial(self.store.mark_skipped, delivery.id, self._scrubbed(reason)),
                                  state=DeliveryState.SKIPPED)

    async def _unknown(self, delivery: Delivery, error: str) -> Outcome:
        return await self._record(delivery, partial(self.store.mark_unknown, delivery.id, self._scrubbed(error)),
                                  state=DeliveryState.UNKNOWN)

    async def _taken_elsewhere(self, delivery: Delivery) -> Outcome:
        """Another process claimed (or already sent) this delivery: report what the store says, once
        that process is done with it (or the deadline comes)."""
        import asyncio

        self._finished.add(delivery.id)
        current = self.store.delivery(delivery.id)
        while current.state == DeliveryState.SENDING and asyncio.get_running_loop().time() < self._deadline:
            await asyncio.sleep(POLL_SECONDS)
            current = self.store.delivery(delivery.id)
        error = self._scrubbed(current.last_error) if current.state != DeliveryState.SENT and current.last_error else None
        outcome = self._outcome(current, error=error)
        self.progress.finished(outcome)
        return outcome

    async def _fail(self, delivery: Delivery, error: str) -> Outcome:
        return await self._record(delivery, partial(self.store.mark_failed, delivery.id, self._scrubbed(error)),
                                  state=DeliveryState.FAILED)

    def _outcome(self, delivery: Delivery, *, error: str | None = None, notes: tuple[str, ...] = ()) -> Outcome:
        outcome = Outcome.of(delivery, notes=notes)
        return replace(outcome, error=error) if error is not None else outcome

    # -- ordering and threading ---------------------------------------------

    async def _thread_for(self, delivery: Delivery) -> ThreadRef | None:
        """Wait for earlier updates of the incident at this destination; return where to thread."""
        import asyncio
        # A withdrawal waits for posts still being sent (to delete them too), never for one of unknown
        # fate: that one is never sent again, and withdraw has told the operator to settle it by hand.
        waits_for = (DeliveryState.PENDING, DeliveryState.SENDING) if self._withdraws(delivery) else None
        while True:
            history = self.store.thread_history(
                delivery.incident_id, delivery.destination, delivery.target, delivery.sequence
            )
            blocking = next((h for h in history if h.state not in DONE_STATES
                             and (waits_for is None or h.state in waits_for)
                             and not self._passed_over(h, delivery)), None)
            if blocking is None:
                return thread_of(self._made_alike(delivery, history)) or self._thread_moved_here(delivery)
            if self._left_pending(blocking):
                await self._send_first(blocking, delivery)
                continue
            if (await self._skipped_expired_reminder(blocking, delivery) or await self._skipped_superseded(blocking, delivery)
                    or await self._skipped_refused(blocking, delivery)):
                continue
            if not self._may_still_arrive(blocking):
                raise Held(advice.held_back(blocking.sequence, blocking.state, blocking.incident_id,
                                            carried=self._carries_it(blocking, delivery)))
            await asyncio.sleep(POLL_SECONDS)

    def _thread_moved_here(self, delivery: Delivery) -> ThreadRef | None:
        """The thread of earlier posts made in this target while the config named it otherwise: a Telegram
        group that became a supergroup is followed (its posts' ids name the new chat), and the operator then
        writes the new id in chat_ids, as told. Without this, the next update started a new thread."""
        key = (delivery.incident_id, delivery.destination)
        if key not in self._sent_elsewhere:  # once per incident and destination: a broadcast has many chats
            self._sent_elsewhere[key] = [
                d for d in self.store.deliveries(incident_id=delivery.incident_id, states=(DeliveryState.SENT,))
                if d.destination == delivery.destination and d.remote_id]
        moved = [d for d in self._sent_elsewhere[key] if d.target != delivery.target and d.sequence < delivery.sequence
                 and (d.remote_id or "").startswith(f"{delivery.target}:")]
        return thread_of(self._made_alike(delivery, sorted(moved, key=lambda d: d.sequence)))

    def _made_alike(self, delivery: Delivery, earlier: Sequence[Delivery]) -> list[Delivery]:
        return made_alike(self.destinations[delivery.destination], delivery.visibility, delivery.target, earlier)

    def _left_pending(self, earlier: Delivery) -> bool:
        # Untouched for longer either way: a time ahead of now is a clock set back since (or another machine's
        # clock), not a command that just stored it. Sending it here is safe whoever else may: claims are atomic.
        return (earlier.state == DeliveryState.PENDING and earlier.id not in self._batch
                and abs(utcnow() - earlier.updated_at) > TAKE_OVER_AFTER)

    async def _send_first(self, earlier: Delivery, delivery: Delivery) -> None:
        """An earlier update's delivery here, stored and never sent, that this run was not asked to send:
        its command was stopped (Ctrl-C) or is still waiting its turn. This run sends it first, keeping
        the order; a command of its own that claims it first sends it instead (claims are atomic). The
        later delivery waited for it until the deadline, then failed, though nothing would ever send it."""
        import asyncio

        sending = self._sent_first.get(earlier.id)
        if sending is None:
            self._batch.add(earlier.id)
            sending = self._sent_first[earlier.id] = asyncio.ensure_future(self._deliver_one(earlier, False))
        outcome = await asyncio.shield(sending)
        if outcome.state == DeliveryState.SENT:
            self._left_alone.setdefault(delivery.id, []).append(
                f"update #{earlier.sequence}, stored but never sent here, was sent first")

    async def _skipped_expired_reminder(self, earlier: Delivery, delivery: Delivery) -> bool:
        """Skip ``earlier`` if it is a reminder that failed here and its window is no longer to start; whether it
        was (or another process claimed it first: read again). Left failed, it held back every later step of the
        window here, and ``retry`` then sent "starts at 22:00" at 23:30, or after "Cancelled"."""
        if earlier.state != DeliveryState.FAILED:
            return False
        why = self._expired_reminder(earlier, self.destinations.get(earlier.destination))
        if not why:
            return False
        if await self._claim(earlier, False):
            await self._writes(partial(self.store.mark_skipped, earlier.id, self._scrubbed(why)))
            self._left_alone.setdefault(delivery.id, []).append(
                f"update #{earlier.sequence}, a reminder that had failed here, was skipped: {why}")
        return True

    def _passed_over(self, earlier: Delivery, delivery: Delivery) -> bool:
        """Whether ``earlier`` is a reminder of unknown fate here whose window was cancelled, started or ended, or whose
        start passed: it holds back none of the window's later steps. Arrived or not, the step after it is in order:
        it is never sent again (``retry --include-unknown`` skips it), and it has no post to thread under. Held behind
        it, the cancellation reached every chat but those whose reminder timed out, until the operator looked."""
        if earlier.state != DeliveryState.UNKNOWN or self._may_still_arrive(earlier):
            return False
        why = self._expired_reminder(earlier, self.destinations.get(earlier.destination))
        notes = self._left_alone.setdefault(delivery.id, [])
        note = f"update #{earlier.sequence}, a reminder of unknown fate here, held nothing back: {why.removeprefix('not sent: ')}"
        if why and note not in notes:
            notes.append(note)
        return bool(why)

    async def _skipped_refused(self, earlier: Delivery, delivery: Delivery) -> bool:
        """Skip ``earlier`` if the service refused it for good (X: its words are already on the account, from another
        post), which told the operator to say it in other words in the next update: ``delivery`` is that update, and
        goes in its place. Left failed, it held back every later update here, and `retry` resent it into the same
        refusal. Whether it was skipped (or another process claimed it first: read again)."""
        if not _refused_for_good(earlier) or self._reworded_since_refused(earlier):
            return False
        if await self._claim(earlier, False):
            why = advice.refused_skipped(delivery.sequence, earlier.last_error or "")
            await self._writes(partial(self.store.mark_skipped, earlier.id, self._scrubbed(why)))
            self._left_alone.setdefault(delivery.id, []).append(
                f"update #{earlier.sequence}, which the service had refused for good, was skipped: this one goes "
                "in its place")
        return True

    def _reworded_since_refused(self, earlier: Delivery) -> bool:
        """Whether ``earlier``, refused for good, was corrected since (``amend``: said in other words, as the refusal
        told): its resend now goes with the correction's text, not the words refused, and the correction's own
        delivery here was skipped on that promise. Skipped all the same, the corrected text never went out here."""
        visibility = Visibility.parse(earlier.visibility)
        left_out = self.store.left_out_by_operator(earlier.incident_id, visibility, at=earlier.destination)
        versions = [u for u in self.store.updates(earlier.incident_id)
                    if u.sequence == earlier.sequence or corrected_sequence(u) == earlier.sequence]
        refused = [u for u in versions if u.created_at < earlier.updated_at][-1:]  # the words the service refused
        # Only a correction its readers read otherwise: one of another reader's detail alone (`amend --for acme`)
        # leaves here the very words refused, and held the next update back for a `retry` into the same refusal.
        return any(u.sequence != earlier.sequence and u.sequence not in left_out and u.created_at >= earlier.updated_at
                   and not (refused and reads_the_same(visibility, refused[0], u)) for u in versions)

    def _carries_it(self, earlier: Delivery, delivery: Delivery) -> bool:
        """Whether ``earlier``, sent by ``retry``, goes with ``delivery``'s text and skips it: ``delivery`` corrects
        it, and nothing of it went out here (``as_last_corrected``, ``_skip_corrections_carried``). Its held-back
        reason then says so: "`retry` sends both" promised the operator a correction that never goes."""
        update = self._update(delivery.incident_id, delivery.sequence)
        destination = self.destinations.get(earlier.destination)
        return (update is not None and corrected_sequence(update) == earlier.sequence and not earlier.parts
                and destination is not None and destination.sends_rendered and not resend_may_be_dropped(destination, earlier))

    async def _skipped_superseded(self, earlier: Delivery, delivery: Delivery) -> bool:
        """Skip ``earlier`` if it failed here and a later version is still to go here (``_superseded``): whether it
        was (or another process claimed it first: read again). Left failed, it held back the later one, and the
        command that stored that told the operator "`retry` sends both", which then sent the text taken back."""
        destination = self.destinations.get(earlier.destination)
        if earlier.state != DeliveryState.FAILED or destination is None:
            return False
        why = self._superseded(earlier, destination)
        if not why:
            return False
        if await self._claim(earlier, False):
            await self._writes(partial(self.store.mark_skipped, earlier.id, self._scrubbed(why)))
            self._left_alone.setdefault(delivery.id, []).append(
                f"update #{earlier.sequence}, which had failed here, was skipped: {why.removeprefix('not sent: ')}")
        return True

    def _expired_reminder(self, delivery: Delivery, destination: Destination | None) -> str:
        """Why this delivery of a window's reminder must not go out now, or "" (not a reminder, or still due)."""
        if not self._reminds(delivery, destination):
            return ""
        return self._window_moved_on(delivery.incident_id)

    def _reminds(self, delivery: Delivery, destination: Destination | None) -> bool:
        """Whether this delivery is a window's reminder to a place that shows it as sent. The site and its hosts
        always take it: they build the page from the store, the window as it stands now."""
        update = self._update(delivery.incident_id, delivery.sequence)
        return update is not None and update.kind == "reminder" and destination is not None and not destination.idempotent

    def _window_moved_on(self, incident_id: str, *, fresh: bool = True) -> str:
        """``reminder_no_longer_wanted`` for the window as it stands now: a cancel or a start moves it. Not ``fresh``:
        as read at most ``INCIDENT_REREAD_SECONDS`` ago, weighed against the clock now (its start passes exactly)."""
        if incident_id in self._moved_on:
            return self._moved_on[incident_id]
        incident = self._incident_now(incident_id, fresh=fresh)
        why = "" if incident is None else reminder_no_longer_wanted(incident, lambda: self.store.updates(incident_id), utcnow())
        if why:  # for good: a reminder for a start that came, or of a window called off, is never due again
            self._moved_on[incident_id] = why
        return why

    def _incident_now(self, incident_id: str, *, fresh: bool) -> Incident | None:
        """The incident as read now (``fresh``), or at most ``INCIDENT_REREAD_SECONDS`` ago."""
        read_at, incident = self._incidents_read.get(incident_id, (-math.inf, None))
        if fresh or time.monotonic() - read_at >= INCIDENT_REREAD_SECONDS:
            incident = self.store.incident(incident_id)
            self._incidents_read[incident_id] = (time.monotonic(), incident)
        return incident

    def _still_due(self, delivery: Delivery, reminder: bool, log: SendLog) -> None:
        """``NotNeeded`` when the incident was withdrawn, or a reminder's window was cancelled, started or ended, or its
        start passed, since the delivery was claimed: asked as each message leaves (``SendLog.still_timely``), after
        its turn in a paced broadcast that may last minutes (a thousand chats' post or reminder is claimed at once).
        The incident is read again at most once an ``INCIDENT_REREAD_SECONDS`` for all its chats. A post of which a part
        is out is finished: its readers have it already (a withdrawal deletes it), and half of it says less."""
        if log.parts:
            return
        incident = self._incident_now(delivery.incident_id, fresh=False)
        if incident is not None and incident.withdrawn_at is not None:
            raise NotNeeded("withdrawn")  # as the withdrawal skips those it found unsent
        why = self._window_moved_on(delivery.incident_id, fresh=False) if reminder else ""
        if why:
            raise NotNeeded(why)

    def _deletes_only(self, delivery: Delivery, destination: Destination | None) -> bool:
        """Whether this delivery deletes the incident's posts and sends no text (``_posts_to_delete``)."""
        return (destination is not None and self._withdraws(delivery) and Visibility.parse(delivery.visibility).outside
                and destination.can_delete)

    def _withdraws(self, delivery: Delivery) -> bool:
        update = self._update(delivery.incident_id, delivery.sequence)
        return update is not None and update.kind == "withdrawal"

    def _may_still_arrive(self, earlier: Delivery) -> bool:
        if earlier.state in (DeliveryState.PENDING, DeliveryState.SENDING):
            return True
        # An earlier update in this same run that has not finished yet will be tried first.
        return earlier.id in self._batch and earlier.id not in self._finished

    # -- sending --------------------------------------------------------------

    async def _send_with_retries(
        self, destination: Destination, delivery: Delivery, thread: ThreadRef | None, log: SendLog
    ) -> Receipt:
        import asyncio

        def worth_repeating(error: BaseException) -> bool:
            # A request that may have arrived is repeated only where repeating shows nothing twice.
            return isinstance(error, DeliveryError) and error.retryable and (
                destination.idempotent or not error.outcome_unknown or error.repeat_safe
            )

        # The first attempt before tenacity is imported (about 10 ms on the way to every first request): most sends
        # succeed at once. A failure worth repeating is handed to tenacity as its first attempt's, so the waits,
        # the stop and what the operator is told are tenacity's from the first failure on, as ever.
        try:
            return await self._attempt(destination, delivery, thread, log)
        except DeliveryError as exc:
            if not worth_repeating(exc):
                raise
            first_failure: DeliveryError | None = exc

        from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

        attempts = stop_after_attempt(self.config.engine.max_attempts)

        def stop(state: RetryCallState) -> bool:
            wait = state.upcoming_sleep or 0.0
            return attempts(state) or asyncio.get_running_loop().time() + wait >= self._deadline

        def before_sleep(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            self.progress.retrying(delivery, state.attempt_number, self._scrubbed(str(error)), state.upcoming_sleep)

        async for attempt in AsyncRetrying(
            retry=retry_if_exception(worth_repeating),
            stop=stop,
            wait=_wait_honouring_retry_after,
            before_sleep=before_sleep,
            reraise=True,
        ):
            with attempt:
                if first_failure is not None:  # tenacity's first attempt: the one made above
                    failed, first_failure = first_failure, None
                    raise failed
                return await self._attempt(destination, delivery, thread, log)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    async def _attempt(
        self, destination: Destination, delivery: Delivery, thread: ThreadRef | None, log: SendLog
    ) -> Receipt:
        if log.still_timely is not None:  # the retry of a reminder waited out a 429: its window may have moved on
            log.still_timely()  # asked here too for the channels that never call ``log.sending()`` (webhooks)
        log.on_wire = False
        await self._writes(partial(self.store.note_attempt, delivery.id))
        log.attempts += 1
        log.earlier_may_have_arrived = log.may_have_arrived
        try:
            return await self._send_once(destination, delivery, thread, log)
        except DeliveryError as exc:
            # Repeated with the same key (Mastodon, Bluesky), an earlier attempt may still have
            # arrived: a stop or the deadline before the repeat must not call it unsent.
            log.may_have_arrived |= exc.outcome_unknown
            # Refused (a 429, a 503, no connection): nothing of this request is out, so a stop while
            # the retry waits puts the delivery back to pending, not in doubt.
            log.on_wire = exc.outcome_unknown and log.on_wire
            raise

    async def _send_once(
        self, destination: Destination, delivery: Delivery, thread: ThreadRef | None, log: SendLog
    ) -> Receipt:
        # A post recorded sent without its id (``retry --mark-unknown-sent``) cannot be edited: posted, as rendered.
        replaces = (self._original_post(delivery) or None) if self._edits_in_place(destination, delivery) else None
        deletes = self._posts_to_delete(destination, delivery, log) if destination.can_delete else None
        try:
            return await destination.deliver(Job(
                target=delivery.target,
                thread=thread,
                log=log,
                rendered=lambda: _with_its_thread(self._rendered(destination, delivery), thread if replaces else None),
                run=self._run,
                replaces=replaces,
                deletes=deletes,
            ))
        except NotEditable as cannot:
            if replaces is None:
                raise
            return await self._posted_anew(destination, delivery, thread, log, cannot)
        except DeliveryError as exc:
            if deletes is not None and exc.deleted:
                self._keep_deleted(delivery, log, exc.deleted)
            raise

    async def _posted_anew(
        self, destination: Destination, delivery: Delivery, thread: ThreadRef | None, log: SendLog, cannot: NotEditable
    ) -> Receipt:
        """A correction whose post the channel cannot edit, sent as a new post in the same attempt, rendered as one:
        the edit's rendering shows the update as it was posted (its status, its "next update by"), which in a new
        post would read as made now. The channel's reason (the original still up?) becomes a note."""
        self._not_editable[delivery.id] = cannot.anew  # every later attempt of this run posts too, never edits
        self._sending.pop(delivery.id, None)  # rendered and guarded anew, as a new post
        if destination.sends_rendered and log.on_part is None and len(self._rendered(destination, delivery).messages) > 1:
            log.on_part = partial(self._add_part, delivery, log)  # a post in parts: each stored once confirmed
            self._logs[delivery.id] = log
        return await destination.deliver(Job(
            target=delivery.target,
            thread=thread,
            log=log,
            rendered=lambda: self._rendered(destination, delivery),
            run=self._run,
        ))

    def _posts_to_delete(self, destination: Destination, delivery: Delivery, log: SendLog) -> tuple[str, ...] | None:
        """For a withdrawal at a public destination: every post of the incident there not yet deleted, to delete.

        Internal destinations keep their record and get the withdrawal note instead; a customer's
        channel is cleaned like a public one (its readers are outside too). Parts
        count wherever they are recorded: a post in parts cut short left some of them out.
        Only posts broadcaster wrote itself are deleted: an id an operator gave (``--remote-id``)
        or an import brought may name someone else's post; each is kept and named in a note.
        Those an earlier attempt deleted (the log's parts, see ``_keep_deleted``) are not asked about again:
        another sender's credentials may be needed for the rest (a replaced Discord webhook's), and with
        those the ones already deleted would be refused as another's.
        """
        update = self._update(delivery.incident_id, delivery.sequence)
        if update is None or update.kind != "withdrawal" or not Visibility.parse(delivery.visibility).outside:
            return None
        self._deleting.add(delivery.id)
        found, kept = withdrawn_posts(self.store, delivery.incident_id, delivery.destination, delivery.target,
                                      delivery.sequence, self._moved_here(destination, delivery))
        done = [remote_id for remote_id in found if remote_id in log.parts]
        if done:  # what the attempt that deleted them would have said of them is said with the outcome
            kept = [*kept, f"{len(done)} post(s) of the incident here deleted by an earlier attempt",
                    *destination.left_after_delete(done)]
        self._left_alone[delivery.id] = kept
        return tuple(remote_id for remote_id in found if remote_id not in done)

    def _moved_here(self, destination: Destination, delivery: Delivery) -> list[Delivery]:
        """``moved_here`` before this withdrawal, the incident's deliveries read once per destination: a withdrawal
        deletes in each of a thousand subscribed chats."""
        key = (delivery.incident_id, delivery.destination)
        if key not in self._posted_elsewhere:
            self._posted_elsewhere[key] = [
                d for d in self.store.deliveries(incident_id=delivery.incident_id)
                if d.destination == delivery.destination and d.target and not names_target(destination, d.target)]
        earlier = [d for d in self._posted_elsewhere[key] if d.sequence < delivery.sequence]
        return moved_here(earlier, destination, delivery.destination, delivery.target)

    def _keep_deleted(self, delivery: Delivery, log: SendLog, deleted: Sequence[str]) -> None:
        """The posts a withdrawal's failed attempt deleted, kept as its delivery's parts (stored at once, or with
        its end if the store cannot take them now): later attempts, of this run or a ``retry``, leave them out."""
        log.parts.extend(remote_id for remote_id in dict.fromkeys(deleted) if remote_id not in log.parts)
        self._logs[delivery.id] = log
        self._add_part(delivery, log, "")

    def _original_post(self, delivery: Delivery) -> str | None:
        """For a correction on a medium that edits: the remote id of the post it corrects (read once per delivery:
        the rendering and the send both ask)."""
        if delivery.id not in self._originals:
            self._originals[delivery.id] = self._original_post_read(delivery)
        return self._originals[delivery.id]

    def _original_post_read(self, delivery: Delivery) -> str | None:
        update = self._update(delivery.incident_id, delivery.sequence)
        corrects = corrected_sequence(update) if update else None
        if corrects is None:
            return None
        edited, why = correction_plan(self.store, self.destinations[delivery.destination], delivery.incident_id,
                                      delivery.target, delivery.visibility, delivery.sequence,
                                      corrects, self._update(delivery.incident_id, corrects))
        if why:  # said with its outcome, as a channel's NotEditable is: the original stays up uncorrected
            self._not_editable.setdefault(delivery.id, why)
        return edited

    def _edits_in_place(self, destination: Destination, delivery: Delivery) -> bool:
        """Whether this delivery replaces a post in place: a correction where the medium edits and its original
        post is known here (and the channel did not find it cannot edit it: ``_posted_anew``). Without one it is
        posted as a new message, as the incident stands now. One with confirmed parts was being posted anew (an
        edit records none): its rest goes the same way, never as an edit of the original over a half-sent post."""
        if not destination.can_edit or delivery.id in self._not_editable or delivery.parts:
            return False
        return bool(self._original_post(delivery))

    def _update(self, incident_id: str, sequence: int) -> Update | None:
        """An update, read once per command (the command stored its updates before sending;
        a thousand chats would otherwise read and parse the same row a thousand times)."""
        key = (incident_id, sequence)
        if key not in self._updates:
            self._updates[key] = self.store.update(incident_id, sequence)
        return self._updates[key]

    def _rendered(self, destination: Destination, delivery: Delivery) -> Rendered:
        """What the channel sends for this delivery, past the egress guard (else LeakRefused).

        Rendered and guarded once per destination and update, however many chats it goes to; and for one
        delivery, the same in every attempt of this run: a post in parts half sent is never finished from a
        correction stored meanwhile (its first part would say one thing, the rest another).
        """
        if delivery.id not in self._sending:
            self._sending[delivery.id] = self._rendered_now(destination, delivery)
        found = self._sending[delivery.id]
        if isinstance(found, LeakRefused):
            raise LeakRefused(str(found), found.found)  # a fresh one per delivery: it keeps its traceback
        return found

    def _rendered_now(self, destination: Destination, delivery: Delivery) -> Rendered | LeakRefused:
        """The rendering (or refusal) as the store stands now, shared by every chat of the destination; for a post
        in parts half sent, the one its confirmed parts were cut from (``_as_posted``).

        Parts recorded before schema 8 have no rendering stored: resumed, as then, after as many messages of the
        rendering made now (nothing tells whether it is the one they were cut from)."""
        if delivery.parts and delivery.rendering is not None:
            return self._as_posted(destination, delivery, delivery.rendering)
        edits = self._edits_in_place(destination, delivery)
        # A post of which nothing went out yet goes with its latest correction's text (``amend`` while it waited),
        # one stored since another chat of the same table got a rendering too.
        fresh = not delivery.parts
        corrected = self.store.last_correction_after(delivery.incident_id, delivery.sequence) if fresh else 0
        unannounced = self._versions_not_announced_here(delivery)
        key = (destination.name, delivery.visibility, delivery.incident_id, delivery.sequence, edits, fresh, corrected,
               unannounced)
        if key not in self._renders:
            incident = self.store.incident(delivery.incident_id)
            updates = self.store.updates(delivery.incident_id)
            update = next(u for u in updates if u.sequence == delivery.sequence)
            # What the operator kept from this place (``amend --only ops``, ``--skip``): never sent here as the text
            # last corrected, nor quoted by a summary of the incident here (Slack's card).
            left_out = self.store.left_out_by_operator(delivery.incident_id, Visibility.parse(delivery.visibility),
                                                       at=delivery.destination)
            if fresh:
                update = as_last_corrected(update, updates, left_out)
                self._carries[key] = tuple(u.sequence for u in updates if corrected_sequence(u) == delivery.sequence
                                           and u.sequence not in left_out)
            assert incident is not None
            # A postmortem's earlier versions never announced here are none of these readers': "We have published",
            # not "We have corrected" a postmortem they were never told of.
            hidden = {*readers_never_told(self.store, destination, delivery.visibility, delivery.incident_id),
                      *unannounced}
            rendered = render(destination, incident, update, updates, self.config, edits=edits, hidden=hidden,
                              left_out=left_out)
            self._renders[key] = (
                egress_refusal(destination, delivery.visibility, rendered, incident, update, updates, self.config,
                               edits=edits, hidden=hidden, left_out=left_out)
                or rendered
            )
        self._carried[delivery.id] = () if resend_may_be_dropped(destination, delivery) else self._carries.get(key, ())
        return self._renders[key]

    def _versions_not_announced_here(self, delivery: Delivery) -> tuple[int, ...]:
        """``versions_not_announced_here`` of this delivery's update."""
        update = self._update(delivery.incident_id, delivery.sequence)
        if update is None:
            return ()
        return versions_not_announced_here(self.store, update, delivery.destination, delivery.target,
                                           delivery.visibility)

    def _superseded(self, delivery: Delivery, destination: Destination) -> str:
        """Why a version of which nothing went out must not go now, or "": a later version's delivery is still to go
        in this place, for the same readers. A postmortem's later version goes as the first announcement there
        (``_versions_not_announced_here``): sent both, its readers read "We have published" and then "We have
        corrected" a postmortem they were just told of, both linking the same page. A later correction of the same
        update replaces this one's text: sent both, readers were told the text the operator took back, for good
        where a post stays (X, Teams, email; review 36b). The site and its hosts build from the store: they take
        both."""
        update = self._update(delivery.incident_id, delivery.sequence)
        if update is None or delivery.parts or destination.idempotent:
            return ""
        updates = self.store.updates(delivery.incident_id)
        if update.kind == "postmortem":
            later = {u.sequence for u in updates if u.kind == "postmortem" and u.sequence > delivery.sequence}
        elif (corrects := corrected_sequence(update)) is not None:
            later = {u.sequence for u in updates if corrected_sequence(u) == corrects and u.sequence > delivery.sequence}
        else:
            return ""
        coming = [d.sequence for d in self.store.deliveries(incident_id=delivery.incident_id,
                                                            states=(DeliveryState.PENDING, DeliveryState.FAILED))
                  if d.sequence in later and (d.destination, d.target, d.visibility)
                  == (delivery.destination, delivery.target, delivery.visibility)]
        if not coming:
            return ""
        if update.kind == "postmortem":
            return (f"not sent: postmortem #{max(coming)}, a later version, is still to go here and is announced "
                    "instead, as the first announcement of the postmortem here")
        return (f"not sent: correction #{max(coming)}, a later correction of update #{corrects}, is still to go here "
                "and is sent instead: its readers are never told the text it replaced")

    def _as_posted(self, destination: Destination, delivery: Delivery, rendering: Rendered) -> Rendered | LeakRefused:
        """A post in parts half sent, finished from the rendering its confirmed parts were cut from (stored with
        them). Its confirmed parts count messages of that rendering: the rest of one made now (a new title, an
        edited config) would skip or repeat words at the join, or be found already sent and recorded so, never
        posted. Guarded again as the store and config stand now: a value made private since is a refusal."""
        key = (destination.name, delivery.visibility, delivery.incident_id, delivery.sequence,
               json.dumps(rendering.stored(), sort_keys=True))
        if key not in self._as_posted_renders:
            incident = self.store.incident(delivery.incident_id)
            updates = self.store.updates(delivery.incident_id)
            update = next(u for u in updates if u.sequence == delivery.sequence)
            assert incident is not None
            left_out = self.store.left_out_by_operator(delivery.incident_id, Visibility.parse(delivery.visibility),
                                                       at=delivery.destination)
            hidden = readers_never_told(self.store, destination, delivery.visibility, delivery.incident_id)
            self._as_posted_renders[key] = (
                egress_refusal(destination, delivery.visibility, rendering, incident, update, updates, self.config,
                               edits=False, hidden=hidden, left_out=left_out)
                or rendering
            )
        return self._as_posted_renders[key]


def post_to_edit(store: Store, destination: Destination, incident_id: str, target: str, visibility: str, sequence: int,
                 corrects: int, corrected: Update | None) -> str | None:
    """The post a correction (``sequence``) of update ``corrects`` edits at this place, or None where it is posted
    as a new message: the original, sent there in one message, made for the same readers in the place the config
    names now. What the engine does and what a preview shows of it (an edit renders the update as it was posted,
    a new message the incident as it stands)."""
    return correction_plan(store, destination, incident_id, target, visibility, sequence, corrects, corrected)[0]


def correction_plan(store: Store, destination: Destination, incident_id: str, target: str, visibility: str,
                    sequence: int, corrects: int, corrected: Update | None) -> tuple[str | None, PostedAnew | None]:
    """``post_to_edit``, and why the correction goes as a new post where its original is there but this table may
    not edit it (``Destination.not_editable_here``: another account's): the preview says so, and the send's note."""
    if corrected is not None and corrected.kind == "postmortem":
        return None, None  # its announcement stays; the correction is a short notice of its own
    earlier = store.thread_history(incident_id, destination.name, target, sequence)
    sent = [d for d in earlier if d.sequence == corrects and d.state == DeliveryState.SENT and d.visibility == visibility]
    original = next((d for d in sent if not d.remote_id or destination.posted_here(d.remote_id, target)), None)
    if original is None:
        unedited = next((d for d in sent if d.remote_id and len(d.parts) <= 1 and not names_no_post(d.remote_id)), None)
        return None, destination.not_editable_here(str(unedited.remote_id), target) if unedited else None
    if len(original.parts) > 1:
        # An edit replaces one message: the original's later parts, the wrong text with them, would stay
        # under it. The correction is posted as a reply instead, as where the medium cannot edit.
        return None, None
    if original.remote_id and names_no_post(original.remote_id):
        return None, None  # its stored id names no post (``names_no_post``): the edit would be refused, nothing sent
    why = destination.not_editable_here(original.remote_id, target) if original.remote_id else None
    return (None, why) if why else (original.remote_id, None)


def _with_its_thread(rendered: Rendered, thread: ThreadRef | None) -> Rendered:
    """An edit's rendering with its thread's first and latest posts (``payload["thread"]``): an edit is given the
    post it replaces alone, and Slack's status card is the thread's first post, refreshed after a correction."""
    if thread is None:
        return rendered
    return replace(rendered, payload={**rendered.payload, "thread": [thread.first_remote_id, thread.last_remote_id]})


def repeats_safely(delivery: Delivery, destination: Destination | None, update: Update | None) -> bool:
    """Whether doing ``delivery`` again shows nothing twice, so that one of unknown fate is simply redone by a
    plain ``retry``: the site and its hosts (built and uploaded whole), and a withdrawal's deletes where posts
    are deleted (a post deleted twice is deleted; a "posted in error" note is not safe to repeat)."""
    if destination is None:
        return False
    if destination.idempotent:
        return True
    return (update is not None and update.kind == "withdrawal" and destination.can_delete
            and Visibility.parse(delivery.visibility).outside)


def withdrawn_posts(
    store: Store, incident_id: str, destination: str, target: str, before: int, moved: Sequence[Delivery] = ()
) -> tuple[tuple[str, ...], list[str]]:
    """What a withdrawal deletes at one destination and target: every post broadcaster wrote there (each part,
    each follow-up), and those ``moved`` there (``moved_here``); and a note on each post it leaves alone, whose id an
    operator gave or an import brought."""
    found: list[str] = []
    kept: dict[str, str] = {}
    unnamed: list[str] = []
    history = store.thread_history(incident_id, destination, target, before)
    for d in sorted([*moved, *history], key=lambda d: d.sequence):
        ids = [*d.parts, *([d.remote_id] if d.state == DeliveryState.SENT and d.remote_id else [])]
        if d.remote_origin == WRITTEN:
            found.extend(i for i in ids if not names_no_post(i))
            unnamed.extend(i for i in ids if names_no_post(i))
        else:
            kept.update(dict.fromkeys(ids, d.remote_origin))
    where = destination + (f" {target}" if target else "")
    notes = [advice.not_ours(where, remote_id, origin) for remote_id, origin in kept.items() if remote_id not in found]
    # Asked to delete it, the service finds no such post, which counts as deleted: it would stay up, said gone.
    notes += [advice.unnameable(where, remote_id) for remote_id in dict.fromkeys(unnamed) if remote_id not in kept]
    return tuple(dict.fromkeys(found)), notes


def left_to_delete(store: Store, delivery: Delivery, deleted: Sequence[str] | None = None) -> list[str]:
    """A withdrawal's delivery's posts still to delete: those ``withdrawn_posts`` finds there that no attempt deleted
    (``deleted``: its parts, as the store keeps them unless given)."""
    done = set(delivery.parts if deleted is None else deleted)
    found, _ = withdrawn_posts(store, delivery.incident_id, delivery.destination, delivery.target, delivery.sequence)
    return [remote_id for remote_id in found if remote_id not in done]


def not_deletable(destination: Destination, remote_ids: Sequence[str], target: str) -> dict[str, str]:
    """Of a withdrawal's posts still up at one destination, those this table's credentials can never delete
    (``Destination.not_deletable_here``: another account's or instance's), each with why: only deleting them by hand
    takes them down. Not one only a login can tell of: the withdrawal's next attempt logs in and asks."""
    found = {}
    for remote_id in remote_ids:
        why = destination.not_deletable_here(remote_id, target)
        if why and not isinstance(why, NotKnownBeforeLogin):
            found[remote_id] = why
    return found


def posted_ids(delivery: Delivery) -> list[str]:
    """The ids of the posts a delivery made: each part, and its id once sent."""
    return [*delivery.parts, *([delivery.remote_id] if delivery.state == DeliveryState.SENT and delivery.remote_id else [])]


def lies_in(delivery: Delivery, target: str) -> bool:
    """Whether every post of a delivery stored at another target is in ``target``'s chat, as its ids name it
    (``-1001000000005:1`` is in -1001000000005): a Telegram group that became a supergroup, followed there."""
    ids = posted_ids(delivery)
    return bool(target) and delivery.target != target and bool(ids) and all(i.startswith(f"{target}:") for i in ids)


def moved_here(earlier: Iterable[Delivery], destination: Destination, name: str, target: str) -> list[Delivery]:
    """The incident's deliveries at a target of ``name`` the config no longer names, of the readers it has now, whose
    posts all lie in ``target``'s chat (``lies_in``): a group's posts before the operator wrote the supergroup it
    became in chat_ids, as the receipt's note told. Follow-ups reply under them (``_thread_moved_here``); a
    withdrawal deletes them there. It left them up, 'the config has no such destination and chat now' (exit 3)."""
    if not target:
        return []
    return [d for d in earlier if d.destination == name and d.target and not names_target(destination, d.target)
            and str(Visibility.parse(d.visibility)) == str(Visibility.parse(destination.visibility)) and lies_in(d, target)]


def no_longer_wanted(delivery: Delivery, destination: Destination | None, *, deleting: bool = False) -> str:
    """Why a stored delivery must not go out under the current config, or "".

    A chat removed from a channel, a channel removed, or a channel whose
    visibility changed: the delivery was planned for readers who are no longer
    the ones that destination reaches (a private update into a chat that is now
    public, say), so it is skipped, never sent. A withdrawal's delete (``deleting``)
    at the bot's subscribers goes to a chat it no longer sends to (stopped, removed,
    moved to other readers): it sends no text, and only the bot can take its post back.
    """
    name = delivery.destination
    if destination is None:
        return advice.no_longer_in_config(name)
    if destination.visibility != delivery.visibility:
        return advice.visibility_changed(name, destination.visibility, delivery.visibility)
    if deleting and getattr(destination, "deletes_where_it_no_longer_sends", False):
        return ""
    if delivery.target and not names_target(destination, delivery.target):
        return advice.target_removed(delivery.target, name)
    return ""


REMINDER_NOT_WANTED = "not sent: {why}, and this reminder says the window is still to start"


def reminder_no_longer_wanted(incident: Incident, updates: Callable[[], Sequence[Update]], now: datetime) -> str:
    """Why a window's reminder ("this maintenance starts at 22:00") must not go out at ``now``, or "".

    A reminder is wanted only while its window is scheduled to start in the future: one that failed and went
    out with ``retry`` after the window was cancelled, started or ended told readers of a start still to come.
    Skipped, it is done, and the later steps of the window waiting behind it go out. A withdrawn incident's
    deliveries are stopped by the withdrawal. ``updates``: the window's, read only for one that ended (to say
    whether it was cancelled)."""
    if incident.withdrawn_at is not None:
        return ""
    if incident.status == Status.SCHEDULED:
        if incident.scheduled_start is None or incident.scheduled_start > now:
            return ""
        why = "the window's start time has passed"
    elif not incident.status.is_closed:
        why = "the window has started"
    else:
        steps = updates()
        cancelled = called_off(incident, steps, max((u.sequence for u in steps), default=0))
        why = "the window was cancelled" if cancelled else "the window has ended"
    return REMINDER_NOT_WANTED.format(why=why)


def _refused_for_good(delivery: Delivery) -> bool:
    """Whether the service refused this delivery for good, nothing of it sent (``advice.refused_for_good``)."""
    return (delivery.state == DeliveryState.FAILED and not delivery.parts
            and (delivery.last_error or "").startswith(advice.REFUSED_FOR_GOOD))


def thread_of(history: Sequence[Delivery]) -> ThreadRef | None:
    """Where a follow-up threads: the earliest and latest earlier posts whose id is known. The earliest is the
    latest post that started the thread anew (recorded as its own thread's: ``Receipt.starts_thread``) when
    there is one: the first post was gone, and every later follow-up went out on its own under it."""
    # An id that names no post (``names_no_post``) is not known either: a reply under it was refused for good.
    sent = [h for h in since_the_latest_restart(history)
            if h.state == DeliveryState.SENT and h.remote_id and not names_no_post(h.remote_id)]
    if not sent:
        return None
    roots = [h.remote_id for h in sent if h.starts_thread or h.thread_ref == h.remote_id]
    return ThreadRef(str(roots[-1] if roots else sent[0].remote_id), str(sent[-1].remote_id))


def made_alike(destination: Destination, visibility: str, target: str, earlier: Sequence[Delivery]) -> list[Delivery]:
    """The earlier posts a delivery for ``visibility`` at ``target`` may thread under or edit: those made for the same
    readers, in the place the config names now. A table turned from public to internal (or from one customer to
    another, or pointed at another channel) kept replying in, and editing, the posts it made before, in the old
    channel, with what only its new readers may see. `retry --mark-unknown-sent` reads the thread with it too."""
    return [d for d in earlier if d.visibility == visibility
            and (not d.remote_id or destination.posted_here(d.remote_id, target))]


def since_the_latest_restart(history: Sequence[Delivery]) -> Sequence[Delivery]:
    """The posts from the latest one that started the thread anew (its first message was gone) on: the posts before
    it are no thread to join. A restart whose id is unknown (marked sent without one, or stored escaped) left only
    later posts to thread under: the first of them whose id is known (one the operator gave `retry
    --mark-unknown-sent`), else none, and the next update starts a new thread. Threaded under the gone first
    message instead, it was refused and started yet another, where `retry` had said it would join the given post."""
    restarts = [i for i, h in enumerate(history) if h.state == DeliveryState.SENT and h.starts_thread]
    return history[restarts[-1]:] if restarts else history


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (a service manager, `kill`) handled as Ctrl-C is: the deliveries' tasks are cancelled, so each
    records what it knows (``_stopped_mid_send``), and the command ends as interrupted. The default
    ended the process at once, and every claimed delivery, even one only queued behind a rate limit,
    was reaped as unknown. Only in the main thread, where Python runs signal handlers."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    # Over any handler there was (coverage's, a test runner's): it is put back when delivering ends.
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, _as_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def _as_interrupt(number: int, frame: object) -> None:
    """SIGTERM as SIGINT where asyncio handles SIGINT (it cancels the tasks); where SIGINT is ignored (a
    command started with `&` in a script, `trap '' INT`), as Python's own Ctrl-C: KeyboardInterrupt."""
    import signal

    if callable(signal.getsignal(signal.SIGINT)):
        signal.raise_signal(signal.SIGINT)
    else:
        raise KeyboardInterrupt


def _wait_honouring_retry_after(state: Any) -> float:
    """Exponential backoff with full jitter, but never sooner than the server asked."""
    error = state.outcome.exception() if state.outcome else None
    backoff = random.uniform(0, min(30.0, 0.5 * 2 ** (state.attempt_number - 1)))
    server_hint = getattr(error, "retry_after", None) or 0.0
    return max(backoff, float(server_hint))

