"""Deliver stored updates to every destination at once, and record each outcome.

The flow for one command: the update and its deliveries are already in the
store (the outbox). ``Publisher.deliver`` then runs one asyncio task per
delivery: claim it (so no other process sends it too), wait until the earlier
update of the same incident has been sent to that destination (threading
depends on order), render the view the destination may see, send with retries
and backoff inside the command's deadline, and record the result the moment it
is known. A slow destination holds back no other.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

from broadcaster.config import Config
from broadcaster.delivery import Receipt, Rendered, SendLog, ThreadRef
from broadcaster.destinations import Destination, destinations
from broadcaster.errors import ConfigError, DeliveryError
from broadcaster.messages.egress import Compared, LeakRefused, PrivateValues, guard
from broadcaster.messages.model import Incident, Status, Update
from broadcaster.messages.visibility import (
    UpdateView,
    corrected_sequence,
    private_values,
    reader_number,
    view_for,
    without_text,
)
from broadcaster.own_words import own_words
from broadcaster.redaction import redact
from broadcaster.site.links import incident_url
from broadcaster.store import Delivery, Store, process_owner

if TYPE_CHECKING:
    from broadcaster.site.hosts import BuiltSite

POLL_SECONDS = 0.05


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
            error=delivery.last_error if delivery.state not in ("sent", "skipped") else None,
            attempts=delivery.attempts,
            notes=notes,
            reason=delivery.last_error if delivery.state == "skipped" else None,
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


def previous_status(updates: Sequence[Update], sequence: int) -> Status | None:
    earlier = [u for u in updates if u.sequence < sequence]
    return earlier[-1].status if earlier else None


def render(
    destination: Destination, incident: Incident, update: Update, updates: Sequence[Update], config: Config,
    *, without_update_text: bool = False,
) -> Rendered:
    """What one destination shows for one update, cut from the view its visibility allows.

    ``without_update_text``: the same rendering with the operator's texts shaped into
    ``x``s (the egress guard's template: what the destination shows of its own).
    """
    view: UpdateView = view_for(
        destination.visibility,
        incident,
        update,
        url=incident_url(config, incident.id),
        previous_status=previous_status(updates, update.sequence),
        number=reader_number([*updates, update] if update not in updates else updates, update.sequence),
    )
    if without_update_text:
        view = without_text(view)
    if destination.kind == "channel":
        return destination.channel.render(_as_channel_message(view, update, updates, destination))
    if destination.kind == "site":
        return Rendered(text=f"{view.status.label}: {view.message}", visibility="public")
    return Rendered(text="uploads the rebuilt site (page, incident pages, feeds, summary.json)", visibility="public")


def carried_private_values(incident: Incident, update: Update, updates: Sequence[Update]) -> PrivateValues:
    """What no public rendering of ``update`` may hold: its private values and its incident title's,
    and a correction's those of the update it corrects too (its text is what the correction replaces)."""
    values = set(private_values(update, incident))
    corrects = corrected_sequence(update)
    original = next((u for u in updates if u.sequence == corrects), None) if corrects is not None else None
    if original is not None:
        values |= private_values(original)
    return PrivateValues.of(values)


def egress_refusal(
    destination: Destination, visibility: str, rendered: Rendered, incident: Incident, update: Update,
    updates: Sequence[Update], config: Config,
) -> LeakRefused | None:
    """The egress guard for one rendering: the refusal if a public one holds a private value, else None.

    ``visibility`` is the delivery's (as planned); the destination's may have changed
    since. If either is public, the rendering must hold nothing private. The
    destination's own words (a status, "Next update by", the page's title) count
    only as often as its rendering without the update's texts holds them.
    """
    if "public" not in (visibility, destination.visibility):
        return None
    values = carried_private_values(incident, update, updates)
    payloads = _egress_payloads(destination, rendered)
    shown = cache(lambda: _egress_payloads(
        destination, render(destination, incident, update, updates, config, without_update_text=True)
    ))  # rendered once, and only if a value is found

    def template(index: int) -> tuple[str, Compared] | None:
        if len(shown()) != len(payloads):  # cut into other parts: no like-for-like template
            return None
        return shown()[index][0], own_words(config.page, config.components)

    try:
        for index, (payload, media_type) in enumerate(payloads):
            guard(payload, values, f"the message for {destination.name}", media_type, lambda i=index: template(i))
    except LeakRefused as refused:
        return refused
    return None


def _egress_payloads(destination: Destination, rendered: Rendered) -> list[tuple[str, str]]:
    if destination.kind == "channel":
        return destination.channel.egress_payloads(rendered)
    return [(rendered.text, "text/plain")]


def _as_channel_message(
    view: UpdateView, update: Update, updates: Sequence[Update], destination: Destination
) -> UpdateView:
    """Postmortems are announced, not pasted (their corrections too); corrections say what they
    correct where they cannot edit."""
    link = f" Read it: {view.incident.url}" if view.incident.url else ""
    if update.kind == "postmortem":
        return replace(view, message=f"We have published a postmortem: what happened, and what we are changing.{link}")
    corrects = corrected_sequence(update)
    original = next((u for u in updates if u.sequence == corrects), None) if corrects is not None else None
    if original is not None and original.kind == "postmortem":
        return replace(view, message=f"We have corrected our postmortem of {original.created_at:%Y-%m-%d}.{link}")
    if corrects is not None and not destination.channel.can_edit:
        when = f" of {original.created_at:%H:%M} UTC" if original else ""
        return replace(view, message=f"Correction to our update{when}: {view.message}")
    return view


class Publisher:
    """Sends deliveries concurrently for one command. One instance per command."""

    def __init__(self, config: Config, store: Store, *, progress: Progress | None = None) -> None:
        self.config = config
        self.store = store
        self.progress: Progress = progress or SilentProgress()
        self.destinations = destinations(config)
        self.owner = process_owner()
        self._site_build: asyncio.Task[BuiltSite] | None = None
        self._uploads: dict[str, asyncio.Task[Receipt]] = {}
        self._batch: set[int] = set()
        self._batch_incidents: set[str] = set()
        self._finished: set[int] = set()
        self._renders: dict[tuple[str, str, str, int], Rendered | LeakRefused] = {}
        self._deadline = 0.0

    @property
    def lease(self) -> timedelta:
        """How long a claim by a process on another machine is trusted."""
        return timedelta(seconds=self.config.engine.deadline + 60)

    def reap(self) -> list[Delivery]:
        return self.store.reap_abandoned(self.lease)

    def deliver(self, deliveries: Sequence[Delivery], *, include_unknown: bool = False) -> list[Outcome]:
        """Send these deliveries at once; returns an outcome for each, in the given order."""
        if any(self.destinations.get(d.destination, None) and self.destinations[d.destination].kind != "channel" for d in deliveries):
            # Import the site builder here, not in its worker thread: an import there holds
            # the GIL long enough to bunch up the paced sends of a large Telegram broadcast.
            import broadcaster.site.build  # noqa: F401
        return asyncio.run(self._deliver_all(list(deliveries), include_unknown))

    async def _deliver_all(self, deliveries: list[Delivery], include_unknown: bool) -> list[Outcome]:
        loop = asyncio.get_running_loop()
        self._batch = {d.id for d in deliveries}
        self._batch_incidents = {d.incident_id for d in deliveries}
        pacing = 0.0
        for destination in self.destinations.values():
            count = sum(d.destination == destination.name for d in deliveries)
            if destination.kind == "channel" and count:
                destination.channel.request_timeout = self.config.engine.timeout  # type: ignore[attr-defined]
                pacing += destination.channel.pacing_seconds(count)
        self._deadline = loop.time() + self.config.engine.deadline + pacing
        try:
            tasks = [asyncio.create_task(self._deliver_one(d, include_unknown)) for d in deliveries]
            return list(await asyncio.gather(*tasks))
        finally:
            await self._close_channels(deliveries)

    async def _close_channels(self, deliveries: list[Delivery]) -> None:
        used = {d.destination for d in deliveries}
        for name in used:
            destination = self.destinations.get(name)
            if destination is not None and destination.kind == "channel" and "channel" in vars(destination):
                try:
                    await destination.channel.aclose()
                except Exception:  # noqa: BLE001 - closing must never hide the real outcome
                    pass

    async def _deliver_one(self, delivery: Delivery, include_unknown: bool) -> Outcome:
        destination = self.destinations.get(delivery.destination)
        # Idempotent destinations (the site, its hosts) are redone even when unknown:
        # building and uploading again shows nothing twice.
        claim_unknown = include_unknown or (destination is not None and destination.idempotent)
        gone = no_longer_wanted(delivery, destination)
        if gone:
            return self._claim_and_skip(delivery, claim_unknown, gone)
        assert destination is not None
        self.progress.started(delivery)
        try:
            # Wait for earlier updates before claiming: a delivery that is only waiting
            # has sent nothing, so a crash here must leave it pending, not unknown.
            async with asyncio.timeout_at(self._deadline):
                thread = await self._thread_for(delivery) if destination.ordered else None
        except Held as held:
            return self._claim_and_fail(delivery, claim_unknown, str(held))
        except TimeoutError:
            return self._claim_and_fail(
                delivery, claim_unknown,
                f"timed out waiting for an earlier update of this incident to be sent here "
                f"(deadline {self.config.engine.deadline:g}s). Run `broadcaster retry`.",
            )
        if not self.store.claim(delivery.id, self.owner, include_unknown=claim_unknown):
            return self._taken_elsewhere(delivery)
        refused = self._egress_refusal(destination, delivery)
        if refused is not None:
            return self._fail(delivery, str(refused))  # permanent: nothing left, and nothing may
        log = self._send_log(destination, delivery)
        try:
            async with asyncio.timeout_at(self._deadline):
                receipt = await self._send_with_retries(destination, delivery, thread, log)
        except DeliveryError as exc:
            return self._gave_up(destination, delivery, exc, log)
        except TimeoutError:
            return self._cut_by_deadline(destination, delivery, thread, log)
        except Exception as exc:  # noqa: BLE001 - a bug in one destination must not stop the others
            return self._fail(delivery, f"unexpected error: {type(exc).__name__}: {exc}")  # _fail scrubs it
        return self._sent(delivery, receipt, thread)

    def _sent(self, delivery: Delivery, receipt: Receipt, thread: ThreadRef | None) -> Outcome:
        self._finished.add(delivery.id)
        notes = tuple(self._scrubbed(n) for n in receipt.notes)
        note = "; ".join(notes) or None
        self.store.mark_sent(delivery.id, receipt.remote_id, thread.first_remote_id if thread else None, note)
        outcome = self._outcome(self.store.delivery(delivery.id), notes=notes)
        self.progress.finished(outcome)
        return outcome

    def _egress_refusal(self, destination: Destination, delivery: Delivery) -> LeakRefused | None:
        """The egress guard's refusal of this delivery's rendering, before any of it is sent.

        Checked here, before the send log and its deadline, so that a refusal is a
        permanent failure whatever happens next; ``_send_once`` guards every send again.
        Past this point the rendering is known clean, and every later ``_rendered``
        (part counts, advice) returns it.
        """
        if destination.kind != "channel":
            return None
        try:
            self._rendered(destination, delivery)
        except LeakRefused as refused:
            return refused
        return None

    def _send_log(self, destination: Destination, delivery: Delivery) -> SendLog:
        """The delivery's confirmed parts; for a post in parts, each new one stored the moment it is confirmed.

        A one-message post is recorded sent right after its one confirmation: a store
        write per message on top would cost a round trip per chat in team mode.
        """
        log = SendLog(parts=list(delivery.parts))
        if destination.kind == "channel" and len(self._rendered(destination, delivery).messages) > 1:
            log.on_part = lambda _remote_id: self.store.add_part(delivery.id, log.parts)
        return log

    def _gave_up(self, destination: Destination, delivery: Delivery, exc: DeliveryError, log: SendLog) -> Outcome:
        """Record a delivery whose last attempt failed: unknown if it may have arrived, else failed."""
        if exc.outcome_unknown and not destination.idempotent:
            return self._unknown(delivery, f"{exc} {self._unknown_advice(destination, delivery, log)}")
        if not exc.retryable:
            return self._fail(delivery, str(exc))
        attempts = self.store.delivery(delivery.id).attempts
        return self._fail(
            delivery,
            f"{exc} Gave up after {attempts} attempt{'s' if attempts != 1 else ''} "
            f"([engine] max_attempts {self.config.engine.max_attempts}, deadline "
            f"{self.config.engine.deadline:g}s); `broadcaster retry` sends it again.",
        )

    def _cut_by_deadline(
        self, destination: Destination, delivery: Delivery, thread: ThreadRef | None, log: SendLog
    ) -> Outcome:
        """The command's deadline came mid-send: sent, unknown or failed, by what had left."""
        if destination.kind == "channel" and log.parts:
            if len(log.parts) >= len(self._rendered(destination, delivery).messages):
                return self._sent(delivery, Receipt(remote_id=log.parts[0]), thread)
        in_flight = destination.kind == "channel" and (log.on_wire or not destination.channel.reports_requests)
        deadline = f"the command's deadline of {self.config.engine.deadline:g}s ([engine] deadline)"
        if in_flight:
            return self._unknown(
                delivery,
                f"{deadline} came while a request was out, without an answer, so it may or may not "
                f"have been posted. {self._unknown_advice(destination, delivery, log)}",
            )
        if destination.idempotent:
            return self._fail(
                delivery,
                f"timed out: no success within {deadline}. `broadcaster retry` publishes it again (harmless).",
            )
        return self._fail(
            delivery,
            f"timed out: no success within {deadline}, and no request was out. "
            "Run `broadcaster retry` when the destination is back.",
        )

    def _unknown_advice(self, destination: Destination, delivery: Delivery, log: SendLog) -> str:
        where = destination.name + (f" {delivery.target}" if delivery.target else "")
        incident = delivery.incident_id
        resume = ""
        if log.parts:
            total = len(self._rendered(destination, delivery).messages)
            resume = (
                f" Parts 1-{len(log.parts)} of {total} were confirmed; the first not confirmed is the "
                f"one in doubt, and `--include-unknown` sends from part {len(log.parts) + 1} on."
            )
        return (
            f"It was not sent again, since that could post it twice.{resume} Check {where}: if the post "
            f"is there, run `broadcaster retry {incident} --mark-unknown-sent`; if not, "
            f"`broadcaster retry {incident} --include-unknown`."
        )

    def _scrubbed(self, text: str) -> str:
        """Every text the engine stores or reports, without a secret: whatever a channel or host
        already scrubbed, a server's answer quoted in an error, a note or advice may echo one."""
        return redact(text, self._secrets())

    def _secrets(self) -> list[str]:
        values = self.config.secret_values()
        for destination in self.destinations.values():
            if destination.kind == "channel" and "channel" in vars(destination):
                values.extend(destination.channel.secret_values())
        return values

    def _claim_and_fail(self, delivery: Delivery, include_unknown: bool, error: str) -> Outcome:
        if not self.store.claim(delivery.id, self.owner, include_unknown=include_unknown):
            return self._taken_elsewhere(delivery)
        return self._fail(delivery, error)

    def _claim_and_skip(self, delivery: Delivery, include_unknown: bool, reason: str) -> Outcome:
        if not self.store.claim(delivery.id, self.owner, include_unknown=include_unknown):
            return self._taken_elsewhere(delivery)
        self._finished.add(delivery.id)
        self.store.mark_skipped(delivery.id, self._scrubbed(reason))
        outcome = self._outcome(self.store.delivery(delivery.id))
        self.progress.finished(outcome)
        return outcome

    def _unknown(self, delivery: Delivery, error: str) -> Outcome:
        self._finished.add(delivery.id)
        self.store.mark_unknown(delivery.id, self._scrubbed(error))
        outcome = self._outcome(self.store.delivery(delivery.id))
        self.progress.finished(outcome)
        return outcome

    def _taken_elsewhere(self, delivery: Delivery) -> Outcome:
        """Another process claimed (or already sent) this delivery: report what the store says."""
        self._finished.add(delivery.id)
        current = self.store.delivery(delivery.id)
        error = self._scrubbed(current.last_error) if current.state != "sent" and current.last_error else None
        outcome = self._outcome(current, error=error)
        self.progress.finished(outcome)
        return outcome

    def _fail(self, delivery: Delivery, error: str) -> Outcome:
        self._finished.add(delivery.id)
        self.store.mark_failed(delivery.id, self._scrubbed(error))
        outcome = self._outcome(self.store.delivery(delivery.id))
        self.progress.finished(outcome)
        return outcome

    def _outcome(self, delivery: Delivery, *, error: str | None = None, notes: tuple[str, ...] = ()) -> Outcome:
        outcome = Outcome.of(delivery, notes=notes)
        return replace(outcome, error=error) if error is not None else outcome

    # -- ordering and threading ---------------------------------------------

    async def _thread_for(self, delivery: Delivery) -> ThreadRef | None:
        """Wait for earlier updates of the incident at this destination; return where to thread."""
        while True:
            history = self.store.thread_history(
                delivery.incident_id, delivery.destination, delivery.target, delivery.sequence
            )
            blocking = next((h for h in history if h.state not in ("sent", "skipped")), None)
            if blocking is None:
                return _thread_of(history)
            if not self._may_still_arrive(blocking):
                raise Held(_held_message(blocking))
            await asyncio.sleep(POLL_SECONDS)

    def _may_still_arrive(self, earlier: Delivery) -> bool:
        if earlier.state in ("pending", "sending"):
            return True
        # An earlier update in this same run that has not finished yet will be tried first.
        return earlier.id in self._batch and earlier.id not in self._finished

    # -- sending --------------------------------------------------------------

    async def _send_with_retries(
        self, destination: Destination, delivery: Delivery, thread: ThreadRef | None, log: SendLog
    ) -> Receipt:
        from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt

        def stop_at_deadline(state: Any) -> bool:
            wait = getattr(state, "upcoming_sleep", 0.0) or 0.0
            return asyncio.get_running_loop().time() + wait >= self._deadline

        def worth_repeating(error: BaseException) -> bool:
            # A request that may have arrived is repeated only where repeating shows nothing twice.
            return isinstance(error, DeliveryError) and error.retryable and (
                destination.idempotent or not error.outcome_unknown
            )

        async for attempt in AsyncRetrying(
            retry=retry_if_exception(worth_repeating),
            stop=stop_after_attempt(self.config.engine.max_attempts) | stop_at_deadline,
            wait=_wait_honouring_retry_after,
            before_sleep=lambda state: self.progress.retrying(
                delivery, state.attempt_number, self._scrubbed(str(state.outcome.exception())),
                state.upcoming_sleep,
            ),
            reraise=True,
        ):
            with attempt:
                log.on_wire = False
                self.store.note_attempt(delivery.id)
                return await self._send_once(destination, delivery, thread, log)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    async def _send_once(
        self, destination: Destination, delivery: Delivery, thread: ThreadRef | None, log: SendLog
    ) -> Receipt:
        if destination.kind == "site":
            built = await self._built_site()
            if built.problems:
                raise DeliveryError(_left_out_message(built.problems), retryable=False)
            return Receipt(remote_id=str(built.root / "index.html"))
        if destination.kind == "host":
            try:
                built = await self._built_site()
            except DeliveryError as exc:
                raise DeliveryError(f"the site could not be built, so nothing was uploaded: {exc}", retryable=exc.retryable) from exc
            return await asyncio.shield(self._upload(destination, built))
        rendered = self._rendered(destination, delivery)  # raises LeakRefused: nothing leaves
        original = self._original_post(destination, delivery)
        if original is not None:
            return await destination.channel.edit(rendered, target=delivery.target, remote_id=original, log=log)
        return await destination.channel.send(rendered, target=delivery.target, thread=thread, log=log)

    def _upload(self, destination: Destination, built: BuiltSite) -> asyncio.Task[Receipt]:
        """One upload per host and command, shared by every delivery to it (each publishes the whole site)."""
        task = self._uploads.get(destination.name)
        if task is None or (task.done() and (task.cancelled() or task.exception() is not None)):
            from broadcaster.site import source as site_source

            task = asyncio.create_task(site_source.publish(self.store, destination.host, built))
            self._uploads[destination.name] = task
        return task

    def _original_post(self, destination: Destination, delivery: Delivery) -> str | None:
        """For a correction on a medium that edits: the remote id of the post it corrects."""
        if not destination.channel.can_edit:
            return None
        update = self.store.update(delivery.incident_id, delivery.sequence)
        corrects = corrected_sequence(update) if update else None
        if corrects is None:
            return None
        corrected = self.store.update(delivery.incident_id, corrects)
        if corrected is not None and corrected.kind == "postmortem":
            return None  # its announcement stays; the correction is a short notice of its own
        earlier = self.store.thread_history(delivery.incident_id, delivery.destination, delivery.target, delivery.sequence)
        return next((d.remote_id for d in earlier if d.sequence == corrects and d.state == "sent"), None)

    def _rendered(self, destination: Destination, delivery: Delivery) -> Rendered:
        """What the channel sends for this delivery, past the egress guard (else LeakRefused).

        Rendered and guarded once per destination and update, however many chats it goes to.
        """
        key = (destination.name, delivery.visibility, delivery.incident_id, delivery.sequence)
        if key not in self._renders:
            incident = self.store.incident(delivery.incident_id)
            updates = self.store.updates(delivery.incident_id)
            update = next(u for u in updates if u.sequence == delivery.sequence)
            assert incident is not None
            rendered = render(destination, incident, update, updates, self.config)
            self._renders[key] = (
                egress_refusal(destination, delivery.visibility, rendered, incident, update, updates, self.config)
                or rendered
            )
        found = self._renders[key]
        if isinstance(found, LeakRefused):
            raise LeakRefused(str(found))  # a fresh one per delivery: a raised exception keeps its traceback
        return found

    # -- the site -------------------------------------------------------------

    def _built_site(self) -> asyncio.Task[BuiltSite]:
        """The site build of this command, started by the first destination that needs it."""
        if self._site_build is None:
            self._site_build = asyncio.create_task(self._build_site())
        return self._site_build

    async def _build_site(self) -> BuiltSite:
        from broadcaster.site import source as site_source
        from broadcaster.site.output import SiteWriter

        output_dir = self.config.output_dir
        try:
            site_source.claim_folder(self.config, self.store)
            # Another process may be building too: the one holding the lock reads the
            # store inside it, so the last build to finish always shows every update.
            async with site_source.site_lock(output_dir):
                writer = SiteWriter(output_dir)
                source = site_source.read(self.config, self.store, writer, changed=sorted(self._batch_incidents))
                return await asyncio.to_thread(site_source.build, source, writer)
        except ConfigError as exc:  # a folder that is not broadcaster's: fixing it takes the operator
            raise DeliveryError(str(exc), retryable=False) from exc
        except OSError as exc:
            raise DeliveryError(
                f"cannot write the site to {output_dir}: {exc.strerror or exc}. "
                "Check [page] output_dir and its permissions.",
                retryable=False,
            ) from exc


def _left_out_message(problems: Sequence[str]) -> str:
    return (
        "; ".join(problems) + ". The rest of the site was built and published. See `broadcaster show ID` "
        "for the record; run `broadcaster retry` once it is fixed."
    )


def no_longer_wanted(delivery: Delivery, destination: Destination | None) -> str:
    """Why a stored delivery must not go out under the current config, or "".

    A chat removed from a channel, a channel removed, or a channel whose
    visibility changed: the delivery was planned for readers who are no longer
    the ones that destination reaches (a private update into a chat that is now
    public, say), so it is skipped, never sent.
    """
    name = delivery.destination
    if destination is None:
        return f"{name!r} is no longer in the config, so this was not sent there."
    if destination.visibility != delivery.visibility:
        return (
            f"{name} is {destination.visibility} now but this update was stored for {delivery.visibility} "
            "readers, so it was not sent there. Post it again if it should go there."
        )
    if delivery.target and delivery.target not in destination.target_set:
        return f"{delivery.target} is no longer a target of {name} in the config, so this was not sent there."
    return ""


def _thread_of(history: Sequence[Delivery]) -> ThreadRef | None:
    """Where a follow-up threads: the earliest and latest earlier posts whose id is known."""
    known = [h for h in history if h.state == "sent" and h.remote_id]
    if not known:
        return None
    return ThreadRef(known[0].remote_id, known[-1].remote_id)  # type: ignore[arg-type]


def _held_message(blocking: Delivery) -> str:
    """Why a later update waits, and exactly what sends it."""
    earlier = f"update #{blocking.sequence} of this incident"
    if blocking.state == "unknown":
        return (
            f"held back: {earlier} may or may not have arrived here (unknown), and updates must arrive in "
            f"order. Check whether it is there, then run `broadcaster retry {blocking.incident_id} "
            f"--mark-unknown-sent` (it is) or `broadcaster retry {blocking.incident_id} --include-unknown` "
            "(it is not): either sends this one after it."
        )
    return (
        f"held back: {earlier} is {blocking.state} here, and updates must arrive in order. "
        f"`broadcaster retry {blocking.incident_id}` sends both, in order."
    )


def _wait_honouring_retry_after(state: Any) -> float:
    """Exponential backoff with full jitter, but never sooner than the server asked."""
    error = state.outcome.exception() if state.outcome else None
    backoff = random.uniform(0, min(30.0, 0.5 * 2 ** (state.attempt_number - 1)))
    server_hint = getattr(error, "retry_after", None) or 0.0
    return max(backoff, float(server_hint))


def monotonic() -> float:
    return time.monotonic()


Callback = Callable[[Outcome], None]
