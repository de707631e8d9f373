"""The rest of an incident's life: corrections, postmortems, maintenance windows, templates, tick.

Each builds an Update and hands it to ``operations.publish``, so it is stored
with its deliveries before anything is sent, like any post.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from broadcaster import compose
from broadcaster.config import SITE_DESTINATION, Config
from broadcaster.delivery import (
    LEFT_OUT_BY_OPERATOR,
    LEFT_OUT_WHEN_ANNOUNCED,
    READ_THE_SAME,
    DeliveryState,
    carried_unsent,
    skipped_as_read_the_same,
)
from broadcaster.destination import Destination, resend_may_be_dropped
from broadcaster.destinations import destinations, no_wider_than_before, plan, spelled_as_stored
from broadcaster.errors import (
    BroadcasterError,
    ConfigError,
    ConflictError,
    InputError,
    KeptChanging,
    LockRefused,
    LockRefusedAfterStoring,
)
from broadcaster.messages import advice, gate, i18n, words
from broadcaster.messages.model import INTERNAL, Incident, Status, Update, Visibility
from broadcaster.messages.visibility import (
    CALLED_OFF,
    PRIVATE_KINDS,
    WINDOW_STEP,
    as_last_corrected,
    corrected_sequence,
    identical_text,
    private_detail_of_correction,
    reads_the_same,
    shown_postmortem,
    validate_message,
)
from broadcaster.operations import PostResult, again_on_conflict, delivery_plan, incident_to_post_to, publish
from broadcaster.operations.posting import latest_deliveries, latest_told
from broadcaster.operations.repeats import (
    not_delivered,
    refuse_a_repeated_correction,
    refuse_a_repeated_window,
    skip_where_it_was_given,
)
from broadcaster.routing import reached_audiences
from broadcaster.store import CONFLICT_ATTEMPTS, Delivery, PlannedDelivery, Store, utcnow
from broadcaster.times import format_time

# -- corrections ------------------------------------------------------------------


def amend(config: Config, store: Store, incident_id: str, sequence: int, message: str, *,
          private: str = "", for_detail: Sequence[tuple[str, str]] = (), only: Sequence[str] = (),
          skip: Sequence[str] = (), dry_run: bool = False, progress: Any = None) -> PostResult:
    """Correct a posted update: edited in place where the medium can, a correction reply where not.

    The store keeps both: the original update as it was, and the correction (an
    update of kind ``correction`` naming the sequence it corrects).
    """
    _, original = _correctable(store, incident_id, sequence)
    # The gate before the loop: its verdict does not depend on the incident's version, and a
    # refusal then stores nothing. An update's kind never changes, so the limit read here holds.
    message = gate.admit(message, "the message", gate.POSTMORTEM if original.kind == "postmortem" else gate.MESSAGE)
    private = gate.admit(private, "--private", gate.PRIVATE)
    validate_message(message)
    compose.check_span_audiences(message, config)
    gate.check_count(tuple(for_detail), "--for")
    replacing = {}
    for key, text in for_detail:
        key = gate.admit(key, "--for", gate.NAME).strip()
        config.require_audience(key, "--for")
        replacing[key] = gate.admit(text, f"--for {key}", gate.AUDIENCE_DETAIL).strip()  # "": that customer's taken out
    compose.refuse_secrets([("--private", private), *((f"--for {key}", text) for key, text in replacing.items())], config)

    def attempt() -> PostResult:
        incident, original = _correctable(store, incident_id, sequence)
        spans = {key: "span" for key in gate.audience_ids(message, "the message")}  # [for ID] detail in the text too
        _refuse_detail_for_the_untold(config, store, incident, {**spans, **replacing})
        correction = Update(
            incident.id, 0, utcnow(), incident.status, message.strip(), kind="correction",
            extra={"corrects": str(sequence)}, author=compose.author_name(config),
            **private_detail_of_correction(_as_each_reader_has_it(store, incident, original), private.strip(), replacing),
        )
        planned = _where_the_original_went(config, store, incident, original, correction, only, skip)
        refuse_a_repeated_correction(store, incident, correction, planned)
        planned = skip_where_it_was_given(store, incident, correction, planned)
        shown = latest_told(store, incident.id, _corrections_of(store, original)).get((SITE_DESTINATION, ""), original)
        result = publish(config, store, incident, correction, new=False, dry_run=dry_run, progress=progress,
                         planned=planned)
        result.notes.extend(_customer_pages_behind(config, planned, shown, correction))
        return result

    return again_on_conflict(attempt)


def _as_each_reader_has_it(store: Store, incident: Incident, original: Update) -> Update:
    """What a new correction builds on: ``original`` as last corrected, staff's fields from the latest correction
    staff were given, each customer's detail from the latest one that customer was given. Built on the original
    alone, a second amend put back the detail (another customer's circuit) or the note the first one corrected;
    built on one the operator kept to others (``amend --only ops`` of a draft), it would send them the draft."""
    updates = store.updates(incident.id)
    base = as_last_corrected(original, updates, store.left_out_by_operator(incident.id, INTERNAL))
    keys = dict.fromkeys(key for u in updates if u.sequence == original.sequence or corrected_sequence(u) == original.sequence
                         for key, _ in u.audience_detail)
    detail = []
    for key in keys:
        theirs = as_last_corrected(original, updates, store.left_out_by_operator(incident.id, Visibility.of(key)))
        text = dict(theirs.audience_detail).get(key, "")
        if text:
            detail.append((key, text))
    return replace(base, audience_detail=tuple(detail))


def _correctable(store: Store, incident_id: str, sequence: int) -> tuple[Incident, Update]:
    """The incident as it is now and its update ``sequence``, if that is one a correction may name."""
    incident = incident_to_post_to(store, incident_id)
    original = store.update(incident.id, sequence)
    if original is not None and original.kind == "correction":
        corrected = original.extra.get("corrects", "?")
        raise InputError(f"#{sequence} of {incident.id} is a correction of update #{corrected}: to correct it again, "
                         f"amend #{corrected} (`broadcaster amend {incident.id} {corrected} ...`).")
    if original is not None and original.sequence not in {u.sequence for u in store.updates(incident.id)}:
        raise InputError(f"#{sequence} of {incident.id} is kept as history: `store import` brought it in, older than "
                         "this store's latest version of the same text, which is the one shown and sent. Correct that "
                         f"one (`broadcaster show {incident.id}` lists them). Nothing was stored or sent.")
    if original is None or original.kind in PRIVATE_KINDS:
        numbers = ", ".join(str(u.sequence) for u in store.updates(incident.id) if u.kind not in (*PRIVATE_KINDS, "correction"))
        raise InputError(f"{incident.id} has no update #{sequence} to correct. Its updates: {numbers}.")
    return incident, original


def _refuse_detail_for_the_untold(config: Config, store: Store, incident: Incident, replacing: dict[str, str]) -> None:
    """A correction's ``--for ID`` detail goes only to a customer the incident has reached: to any other it would go
    nowhere (the correction goes where the original went), and would route the incident to it from then on, its
    next update the first it hears."""
    told = reached_audiences(config.audiences, incident, store.updates(incident.id))
    untold = sorted(key for key, text in replacing.items() if text and key not in told)
    if untold:
        raise InputError(
            f"{', '.join(untold)} {'was' if len(untold) == 1 else 'were'} not told of {incident.id}, so a correction "
            f"cannot carry detail for {'it' if len(untold) == 1 else 'them'}. Tell {'it' if len(untold) == 1 else 'them'} "
            f"with an update: broadcaster post -i {incident.id} --for {untold[0]} \"...\". Nothing was stored or sent."
        )


UNSENT = (DeliveryState.PENDING, DeliveryState.FAILED)  # nothing of it out: a retry sends it


def _where_the_original_went(config: Config, store: Store, incident: Incident, original: Update, correction: Update,
                             only: Sequence[str], skip: Sequence[str]) -> list[PlannedDelivery]:
    """A correction goes where the original went and changes what its readers read; a destination that skipped the
    original skips this too, and so does one whose readers would read it as they do now (``reads_the_same``)."""
    updates = store.updates(incident.id)
    planned = delivery_plan(config, incident, original, only, skip, updates, store)
    found = destinations(config, store)
    posts = {(d.destination, d.target): d for d in store.deliveries(incident_id=incident.id, sequence=original.sequence)
             if d.state != DeliveryState.SKIPPED}
    corrections = [u for u in updates if corrected_sequence(u) == original.sequence]
    shown_at = latest_told(store, incident.id, corrections)
    coming = latest_deliveries(store, incident.id, corrections)
    _refuse_a_version_not_every_readers(store, incident, original, updates)

    def where(p: PlannedDelivery) -> PlannedDelivery:
        post = posts.get((p.destination, p.target)) or _the_place_s(found, posts, p)
        if post is not None and post.target != p.target:
            p = replace(p, target=post.target)  # the original's post, edited where it is recorded
        shown = shown_at.get((p.destination, p.target), original)  # what these readers have now
        if p.state == DeliveryState.SKIPPED:
            return p
        if post is None:
            why = f"update #{original.sequence} was not sent here"
        elif (p.destination in config.channels and post.state in UNSENT and not post.parts
              and not resend_may_be_dropped(found[p.destination], post)):
            # Nothing of it went out: it goes with this text (``as_last_corrected``), never the text corrected. Only
            # if that still holds as this is stored: a `retry` that takes it meanwhile sends the text corrected.
            return PlannedDelivery(p.destination, p.target, p.visibility, DeliveryState.SKIPPED,
                                   carried_unsent(original.sequence), carried_by=post.id)
        elif reads_the_same(Visibility.parse(p.visibility), shown, correction):
            # The page too, though a customer's page reads it otherwise: a build for it would rewrite public bytes
            # (the JSON's times, a host's manifest, a commit). That page takes it at the site's next build.
            why = _read_the_same_or_coming(coming.get((p.destination, p.target)), incident.id)
        else:
            return p
        return PlannedDelivery(p.destination, p.target, p.visibility, DeliveryState.SKIPPED, why)

    return [where(p) for p in planned]


def _the_place_s(found: Mapping[str, Destination], posts: Mapping[tuple[str, str], Delivery],
                 planned: PlannedDelivery) -> Delivery | None:
    """The original's delivery to the planned place under another spelling of it (``Destination.target_key``): a
    store written before targets were compared by their key holds an update sent after a rewrite (@AcmeStatus ->
    @acmestatus) under the new spelling, while the plan spells the place as the incident's first post does. Its
    correction was skipped, 'update #2 was not sent here', and its readers kept the text it corrects."""
    destination = found.get(planned.destination)
    if destination is None or not planned.target:
        return None
    key = destination.target_key(planned.target)
    return next((d for (name, target), d in posts.items()
                 if name == planned.destination and target and destination.target_key(target) == key), None)


def _corrections_of(store: Store, original: Update) -> list[Update]:
    return [u for u in store.updates(original.incident_id) if corrected_sequence(u) == original.sequence]


def _customer_pages_behind(config: Config, planned: Sequence[PlannedDelivery], shown: Update | None,
                           update: Update) -> list[str]:
    """What to tell the operator when the site skipped a correction or a postmortem's version that its public readers
    read as they have it, but a customer's own page reads otherwise: that page shows it only from the site's next
    build (a build now would rewrite public files at a moment only that customer's text changed). Said, since the
    site's "read nothing changed" alone read as if every page had it (review 37b): a version correcting one
    customer's detail is the one the operator wants out soonest."""
    site = next((p for p in planned if p.destination == SITE_DESTINATION), None)
    if site is None or not skipped_as_read_the_same(site.reason) or shown is None:
        return []
    behind = [key for key, table in config.audience_tables.items()
              if table.feed_token is not None and not reads_the_same(Visibility.of(key), shown, update)]
    if not behind:
        return []
    return [f"The public page has nothing new to show, so the site is not rebuilt for this: {', '.join(behind)}'s own page "
            "and feeds (a/<token>/) show this from the site's next build (the next post, or `broadcaster site "
            "build`, and `broadcaster site publish` for the hosts, now; a build also rewrites the public files' "
            "dates)."]


def _read_the_same_or_coming(latest: Delivery | None, incident_id: str, versions: Collection[int] = ()) -> str:
    """Why a correction (or a postmortem's version) is skipped where its readers would read it as the version they
    have: ``READ_THE_SAME``; or, where that version has not gone out yet (it failed: the amend exited 3), that
    ``retry`` sends it. "Read nothing changed" there, exit 0, told the operator those readers had the correction
    while they read the text corrected away (review 20d), or had a postmortem they were never told of (65g).
    ``versions``: the postmortem's versions, which ``latest`` may be one of rather than a correction."""
    if latest is None or latest.state == DeliveryState.SENT or latest.parts:
        return READ_THE_SAME
    if latest.sequence in versions:
        return advice.postmortem_not_out(latest.sequence, latest.state, incident_id)
    return advice.correction_not_out(latest.sequence, latest.state, incident_id)


def _refuse_a_version_not_every_readers(store: Store, incident: Incident, original: Update,
                                        updates: Sequence[Update]) -> None:
    """A postmortem's version is corrected in place only where it is every reader's: one that went only to some
    readers (the others read it as the version they had), or that a later version replaced for some, would take
    the correction where it went alone, and leave others (a customer's page among them) with the text corrected.
    The file published again is planned for each reader."""
    why = _why_not_every_readers(store, incident, original, updates)
    if why:
        raise InputError(
            f"#{original.sequence} of {incident.id} is a version of the postmortem that not every reader has: {why}. "
            f"As a correction it would reach only the readers #{original.sequence} reached. Publish the "
            f"corrected file instead (`broadcaster postmortem {incident.id} --file FILE`): each reader is told what "
            "changed for it. Nothing was stored or sent."
        )


def _why_not_every_readers(store: Store, incident: Incident, original: Update, updates: Sequence[Update]) -> str:
    """Why a postmortem's version is not every reader's ("" when it is, or ``original`` is no postmortem)."""
    if original.kind != "postmortem":
        return ""
    if any(u.kind == "postmortem" and u.sequence > original.sequence for u in updates):
        return "a later version replaced it"
    if any(d.state == DeliveryState.SKIPPED and skipped_as_read_the_same(d.last_error)
           for d in store.deliveries(incident_id=incident.id, sequence=original.sequence)):
        return "some readers were not sent it (they read it as the version they had)"
    return ""


# -- postmortems ------------------------------------------------------------------


def postmortem(config: Config, store: Store, incident_id: str, text: str, *, only: Sequence[str] = (),
               skip: Sequence[str] = (), widen: bool = False, dry_run: bool = False, progress: Any = None) -> PostResult:
    """Publish the explanation of a closed incident: a page section, a feed entry, an announcement."""
    text = gate.admit(text, "the postmortem", gate.POSTMORTEM)
    validate_message(text)
    compose.check_span_audiences(text, config, "the postmortem")

    def attempt() -> PostResult:
        incident = incident_to_post_to(store, incident_id)
        if incident.is_open:
            raise InputError(f"{incident.id} is still {incident.status.value}: resolve it before publishing a postmortem.")
        update = Update(incident.id, 0, utcnow(), incident.status, text.strip(), kind="postmortem",
                        author=compose.author_name(config))
        planned = _where_it_reads_otherwise(config, store, incident, update, only, skip, widen)
        _refuse_published_again(store, incident, text.strip(), planned)
        shown = _postmortem_told(store, incident.id, store.updates(incident.id)).get((SITE_DESTINATION, ""))
        result = publish(config, store, incident, update, new=False, dry_run=dry_run, progress=progress,
                         planned=planned)
        result.notes.extend(_customer_pages_behind(config, planned, shown, update))
        return result

    return again_on_conflict(attempt)


def _refuse_published_again(store: Store, incident: Incident, text: str, planned: Sequence[PlannedDelivery]) -> None:
    """The same postmortem again where every place has it (the command run again from the shell's history) stores a
    version that goes nowhere; a changed one replaces it on the page, as a new version, on purpose, and the same
    one goes on to places that lack it (a draft given to staff first, ``--only ops``)."""
    shown = shown_postmortem(store.updates(incident.id))
    same = shown[0] if shown is not None and shown[1] == text else None
    if same is not None and all(p.state == DeliveryState.SKIPPED for p in planned):
        # In place only where amend takes it: a version some readers were not sent is corrected by a new version.
        typo = ("" if _why_not_every_readers(store, incident, same, store.updates(incident.id))
                else f"; to fix a typo in place, `broadcaster amend {incident.id} {same.sequence} ...`")
        left = not_delivered(store, incident.id, same.sequence)  # published again after it exited 3: `retry`
        raise InputError(
            f"{incident.id} #{same.sequence} is this very postmortem, published {format_time(same.created_at)}"
            f"{'; ' + left if left else ''}: nothing was stored or sent. To change it, edit the file and publish it "
            f"again{typo}."
        )


def _where_it_reads_otherwise(config: Config, store: Store, incident: Incident, update: Update, only: Sequence[str],
                              skip: Sequence[str], widen: bool) -> list[PlannedDelivery]:
    """A new version of the postmortem skips the places whose readers would read it as the version they have, as a
    correction does: "We have corrected our postmortem" there, a feed entry or a moved anchor, would tell them that
    staff's or another customer's text changed."""
    updates = store.updates(incident.id)
    planned = delivery_plan(config, incident, update, only, skip, updates, store, widen=widen)
    shown_at = _postmortem_told(store, incident.id, updates)
    coming = latest_deliveries(store, incident.id, _postmortem_versions(updates))
    versions = {u.sequence for u in updates if u.kind == "postmortem"}

    def where(p: PlannedDelivery) -> PlannedDelivery:
        shown = shown_at.get((p.destination, p.target))
        if p.state == DeliveryState.SKIPPED or shown is None:
            return p
        if not identical_text(shown, update) and not reads_the_same(Visibility.parse(p.visibility), shown, update):
            return p
        why = _read_the_same_or_coming(coming.get((p.destination, p.target)), incident.id, versions)
        return PlannedDelivery(p.destination, p.target, p.visibility, DeliveryState.SKIPPED, why)

    return [where(p) for p in planned]


def _postmortem_told(store: Store, incident_id: str, updates: Sequence[Update]) -> dict[tuple[str, str], Update]:
    """Each place's latest version of the postmortem (or correction of one) that went there: what its readers read."""
    return latest_told(store, incident_id, _postmortem_versions(updates))


def _postmortem_versions(updates: Sequence[Update]) -> list[Update]:
    """The postmortem's versions and their corrections."""
    versions = {u.sequence for u in updates if u.kind == "postmortem"}
    return [u for u in updates if u.sequence in versions or corrected_sequence(u) in versions]


# -- maintenance ------------------------------------------------------------------


def schedule_maintenance(config: Config, store: Store, *, title: str, start: str, end: str,
                         components: Sequence[str], message: str, private: str = "", only: Sequence[str] = (),
                         skip: Sequence[str] = (), again: bool = False, dry_run: bool = False,
                         progress: Any = None) -> PostResult:
    """Announce a maintenance window (status ``scheduled``). Unless ``again``, one repeating a window announced
    within the hour, still open (the same title, text and components, its start and end within the hour of its), is refused as
    a repeated ``post`` is (``repeats``): the tick would start and complete both, each step posted twice."""
    from broadcaster.times import MAX_CLOCK_WINDOW, check_window, format_duration, is_clock_time, parse_time

    now = utcnow()
    starts = parse_time(start, now=now, zone=config.page.zone, option="--start")
    ends = parse_time(end, now=starts, zone=config.page.zone, option="--end")
    check_window(ends, now, "--end", end)
    if ends <= starts:
        raise InputError(f"--end ({format_time(ends)}) must be after --start ({format_time(starts)}).")
    if is_clock_time(end) and ends - starts > MAX_CLOCK_WINDOW:
        # A time of day is taken at its next occurrence after the start: "20:00" to "20:00" made a 24-hour
        # window and "19:00" a 23-hour one, where a typo is likelier than a day-long maintenance.
        raise InputError(
            f"--end {end!r} makes a window of {format_duration(ends - starts)} ({format_time(starts, config.page.zone)} "
            f"to {format_time(ends, config.page.zone)}). If you mean it, give --end as a duration (e.g. 23h) or a date "
            "and time; nothing was stored or sent."
        )
    if ends <= now:
        raise InputError(
            f"the window ended at {format_time(ends, config.page.zone)}, in the past: nothing to announce. "
            "Check --start and --end; nothing was stored or sent."
        )
    if not components:
        raise InputError("name the components under maintenance with --component ID (repeatable).")
    standard = not message.strip()
    if standard:
        message = _scheduled_message(config, starts, ends)
    draft = compose.Draft(message=message, title=title, status="scheduled", components=components, private=private,
                          incident_kind="maintenance", impact="none", scheduled_start=starts, scheduled_end=ends)
    incident, update = compose.build(draft, None, config, now)
    planned = delivery_plan(config, incident, update, only, skip, (), store)
    if standard and not again:  # its text names its times, which a `--start 2h` typed again moves by a minute
        refuse_a_repeated_window(store, incident, update, planned, lambda window: _scheduled_message(
            config, window.scheduled_start or starts, window.scheduled_end or ends))
    return publish(config, store, incident, update, new=True, again=again, dry_run=dry_run, progress=progress,
                   planned=planned)


def _scheduled_message(config: Config, starts: datetime, ends: datetime) -> str:
    """The standard announcement of a window, in ``[page] language``."""
    with i18n.speaking(config.page.language):
        return words.scheduled_message(format_time(starts, config.page.zone), format_time(ends, config.page.zone))


def maintenance_step(config: Config, store: Store, incident_id: str, status: str, message: str | None,
                     **options: Any) -> PostResult:
    """Move a maintenance window along ``scheduled -> in_progress -> verifying -> completed``.

    No ``message``: the step's standard one, in ``[page] language``."""
    # The operator's texts through the gate once, before the loop that reads and writes the store.
    text = message or _standard_message(config, status)
    draft = compose.admit(compose.Draft(message=text, status=status, private=options.pop("private", "")))
    return again_on_conflict(lambda: _step(config, store, incident_to_post_to(store, incident_id), draft, **options))


def cancel_maintenance(config: Config, store: Store, incident_id: str, message: str | None,
                       **options: Any) -> PostResult:
    """Call off a window that has not started: it is completed before its start, which the page, the
    channels and the calendar read as cancelled (``visibility.called_off``: the update says so); the JSON keeps
    Statuspage's ``completed``.

    No ``message``: the standard one, in ``[page] language``."""
    text = message or _standard_message(config, "cancelled")
    draft = compose.admit(compose.Draft(message=text, status="completed", private=options.pop("private", ""),
                                        extra={WINDOW_STEP: CALLED_OFF}))

    def attempt() -> PostResult:
        incident = incident_to_post_to(store, incident_id)
        if incident.kind == "maintenance":
            _refuse_started(incident)
        return _step(config, store, incident, draft, **options)

    return again_on_conflict(attempt)


def _standard_message(config: Config, step: str) -> str:
    with i18n.speaking(config.page.language):
        return words.maintenance_message(step)


def _refuse_started(incident: Incident) -> None:
    if incident.status.is_closed:
        raise InputError(f"{incident.id} is already {incident.status.value} (it ended, or was cancelled): there is "
                         "nothing to cancel. Nothing was stored or sent.")
    # Still scheduled is not started, whatever the clock says: a window whose start passed while no tick ran (or
    # the on-call calling it off at 22:01) is cancelled, not "completed" for work that never happened.
    if incident.status != Status.SCHEDULED:
        raise InputError(
            f"{incident.id} has already started ({incident.status.value}); a window that began cannot be "
            f"cancelled. Nothing was stored or sent. End it with `broadcaster maintenance complete {incident.id}`."
        )


def _step(config: Config, store: Store, incident: Incident, draft: compose.Draft, *, unattended: bool = False,
          **options: Any) -> PostResult:
    """One step of a window from ``incident`` as read: ConflictError if it changed since.

    ``unattended`` (the tick): a destination whose secret is unset is recorded failed, not refused."""
    status = draft.status
    if incident.kind != "maintenance":
        raise InputError(f"{incident.id} is an incident, not a maintenance window; use `broadcaster post -i {incident.id}`.")
    if incident.status.is_closed:  # the maintenance commands take no --reopen: say what does
        raise InputError(
            f"{incident.id} is already {incident.status.value}; nothing was stored or sent."
            f"{_not_reached_yet(store, incident)} To say more about "
            f"it, post an update that keeps it {incident.status.value}: broadcaster post -i {incident.id} --reopen "
            f"-s {incident.status.value} \"...\" (without -s, --reopen would schedule it again, and tick start it)"
        )
    if incident.status.value == status:
        # Another command (a tick, a colleague) took this step first: announcing it twice helps nobody.
        raise InputError(
            f"{incident.id} is already {status}; nothing was stored or sent.{_not_reached_yet(store, incident)} "
            f"To say more, post an update: broadcaster post -i {incident.id} \"...\""
        )
    built_incident, update = compose.build(replace(draft, incident_id=incident.id), incident, config, utcnow())
    if unattended:
        planned = delivery_plan(config, built_incident, update, earlier=store.updates(incident.id), store=store)
        options["planned"] = _failed_where_unset(config, _where_the_operator_sent_it(store, incident, planned))
    return publish(config, store, built_incident, update, new=False, **options)


def _not_reached_yet(store: Store, incident: Incident) -> str:
    """`` Its update #3 is not sent to x (failed): `broadcaster retry ID` sends it there ...``, or "": said before any
    other advice when a step is refused as taken already. That is the step run again after it exited 3 (up-arrow
    and Enter), and what it did not reach is what the operator came back for."""
    left = not_delivered(store, incident.id)
    return f" {left[0].upper()}{left[1:]}." if left else ""


def _where_the_operator_sent_it(store: Store, incident: Incident,
                                planned: Sequence[PlannedDelivery]) -> list[PlannedDelivery]:
    """``planned``, skipping each place the operator left every earlier update of the window out of (``--skip``,
    ``--only``): an internal-only window must not be announced in public by the unattended tick."""
    # By destination, not by chat: --skip and --only name destinations, and a chat that joined since (a bot's
    # subscriber, a chat added to chat_ids) was left out with the rest of it.
    earlier: dict[str, list[Any]] = {}
    for d in store.deliveries(incident_id=incident.id):
        earlier.setdefault(d.destination, []).append(d)

    def left_out(entry: PlannedDelivery) -> bool:
        # Never reached there, and left out by the operator at least once: a reminder or a notice skips a
        # destination for reasons of its own, which must not count as the operator having sent it there.
        found = earlier.get(entry.destination, [])
        return (all(d.state == DeliveryState.SKIPPED for d in found)
                and any(d.last_error in LEFT_OUT_BY_OPERATOR for d in found))

    return [replace(p, state=DeliveryState.SKIPPED, reason=LEFT_OUT_WHEN_ANNOUNCED)
            if p.state == DeliveryState.PENDING and left_out(p) else p for p in planned]


def _failed_where_unset(config: Config, planned: Sequence[PlannedDelivery]) -> list[PlannedDelivery]:
    """``planned`` with the pending deliveries whose secret is not set recorded failed, saying what to do.

    An operator's post refuses them instead: nothing is stored, and the operator exports it and posts
    again. The tick has nobody to ask: refusing would keep the window from starting on time anywhere,
    every minute, where a notice already goes to the channels that work. ``retry`` sends these once set.
    """
    unset = {name: "; ".join(config.missing_secrets({name})) for name in {p.destination for p in planned}}

    def failed(entry: PlannedDelivery) -> PlannedDelivery:
        return replace(entry, state=DeliveryState.FAILED, reason=(
            f"not sent: {unset[entry.destination]} has no value where `broadcaster tick` runs. Set it there "
            "(its cron job or systemd unit), then `broadcaster retry` sends this."))

    return [failed(p) if p.state == DeliveryState.PENDING and unset[p.destination] else p for p in planned]


# -- tick ------------------------------------------------------------------------------


@dataclass
class TickResult:
    actions: list[str] = field(default_factory=list)
    results: list[PostResult] = field(default_factory=list)
    busy: bool = False
    # Steps refused before anything of theirs was stored (a folder that is not broadcaster's, one chat
    # in two visibilities): each is also named in ``actions``, with why.
    refused: list[BroadcasterError] = field(default_factory=list)
    # Each window's step by its line in ``actions``: what became of its deliveries is said under that line
    # (``StepSkips``), since a skip is done and no line of the failures names it.
    steps: dict[str, PostResult] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return bool(self.refused) or any(r.failed for r in self.results)

    def skips(self) -> list[StepSkips]:
        """The steps of which a delivery was skipped, each with how many went and why the others did not."""
        return [found for label, done in self.steps.items() if (found := StepSkips.found_in(label, done)).reasons]


@dataclass(frozen=True)
class StepSkips:
    """A window's step some of whose deliveries were skipped: a reminder paced out to a thousand chats while the
    window was cancelled (or started, or the incident withdrawn) goes to a few and is skipped in the rest. The tick
    printed "- reminded ID" alone, exit 0, and from cron that line is the operator's only word of it."""

    label: str  # the step's line in ``TickResult.actions``: "reminded ID"
    sent: int
    of: int  # the step's deliveries this tick took to send, those skipped as they went included
    reasons: tuple[tuple[str, int], ...]  # why they were skipped, with how many, most first

    @classmethod
    def found_in(cls, label: str, done: PostResult) -> StepSkips:
        """Only the skips decided as the step went (``Outcome.tried``): one planned (a chat subscribed to other
        components, a place the window never went) is the step as the operator set it up, said on every tick."""
        tried = [o for o in done.outcomes if o.tried]
        why = Counter(o.reason or "" for o in tried if o.state == DeliveryState.SKIPPED)
        sent = sum(o.state == DeliveryState.SENT for o in tried)
        return cls(label, sent, len(tried), tuple(why.most_common()))


def tick(config: Config, store: Store, *, now: datetime | None = None, progress: Any = None) -> TickResult:
    """Everything that is due by now, once: maintenance transitions and reminders, overdue and SLA notices.

    Safe to run every minute, from several machines: one tick at a time runs
    (the lock lives in the store, so in team mode it holds across machines; a
    second tick finds it taken and does nothing), each step is decided on the
    incident as read just before, and stored only if nobody changed the
    incident since (compare-and-set). A step another command got to first is
    decided again, and is usually no longer due.

    Each window is judged by the clock as it is when that window is decided: one window's slow sends (a paced
    broadcast to many chats) must not make the next one's "starts at 22:00" reminder go out at 22:03. ``now``
    fixes the clock for the whole tick (tests).
    """
    clock: Callable[[], datetime] = utcnow if now is None else (lambda: now)
    result = TickResult()
    with store.lock("tick", wait=False) as held:
        if not held:
            result.busy = True
            return result
        _maintenance_due(config, store, clock, result, progress)
        _notices_due(config, store, clock(), result, progress)
    if result.refused and not result.results:
        raise result.refused[0]  # nothing was stored or sent, as its exit code says
    return result


def _maintenance_due(config: Config, store: Store, clock: Callable[[], datetime], result: TickResult,
                     progress: Any) -> None:
    windows = [i.id for i in store.list_incidents(limit=1000) if i.kind == "maintenance" and i.is_open]
    for incident_id in windows:
        for _ in range(CONFLICT_ATTEMPTS):
            incident = store.incident(incident_id)  # as it is now, not as it was when the tick began
            due = _due_step(config, store, incident, clock(), progress) if incident else None
            if due is None:
                break
            label, act = due
            try:
                done = act()
            except ConflictError:
                continue
            except (ConfigError, InputError) as exc:
                # One window's refusal must not hold back the others and the notices; the next tick asks again.
                result.refused.append(exc)
                result.actions.append(f"not {label}: {exc}")
                break
            result.results.append(done)
            result.actions.append(label)
            result.steps[label] = done
            break
        else:  # every decision met another command's write: said, or cron's log read "Nothing due." and exit 0
            given_up = _kept_changing(incident_id)
            result.refused.append(given_up)
            result.actions.append(f"not done for {incident_id}: {given_up}")


def _kept_changing(incident_id: str) -> KeptChanging:
    return KeptChanging(
        f"another command stored an update of {incident_id} each of the {CONFLICT_ATTEMPTS} times this tick decided "
        "its next step, so the tick gave up on it: nothing was stored or sent for it. The next tick decides it again; "
        f"if this repeats, see what keeps writing to it (`broadcaster show {incident_id}`)."
    )


def _due_step(config: Config, store: Store, incident: Incident, now: datetime,
              progress: Any) -> tuple[str, Callable[[], PostResult]] | None:
    """What is due for one window, as a label and the step that does it; None when nothing is."""
    lead = timedelta(minutes=config.maintenance_reminder_minutes)
    start, end = incident.scheduled_start, incident.scheduled_end
    if not incident.is_open or start is None:
        return None
    # What the decision is made on: an update stored after this read (the operator's overrun ETR, which changes no
    # column of the incident's row) makes the step a ConflictError, and the window is decided again.
    seen = max((u.sequence for u in store.updates(incident.id)), default=0)
    complete = (f"completed {incident.id}", lambda: _step(
        config, store, incident, compose.Draft(_standard_message(config, "completed"), status="completed"),
        unattended=True, progress=progress, decided_after=seen))
    if incident.status is Status.SCHEDULED and end is not None and end <= now:
        return complete  # the whole window passed while no tick ran: one step, not "started" after it ended
    if incident.status is Status.SCHEDULED and start <= now:
        return f"started {incident.id}", lambda: _step(
            config, store, incident, compose.Draft(_standard_message(config, "in_progress"), status="in_progress"),
            unattended=True, progress=progress, decided_after=seen)
    if incident.status in (Status.IN_PROGRESS, Status.VERIFYING) and end is not None:
        promised = _end_as_promised(store, incident, end)
        return complete if promised is not None and promised <= now else None
    if incident.status is Status.SCHEDULED and lead and start - lead <= now:
        if any(u.kind == "reminder" for u in store.updates(incident.id)):
            return None
        # An absolute time only: "in 60 min" would be wrong on the page a minute later.
        with i18n.speaking(config.page.language):
            message = words.reminder_message(format_time(start, config.page.zone))
        reminder = Update(incident.id, 0, now, incident.status, message, kind="reminder", author="broadcaster")
        reached = reached_audiences(config.audiences, incident, [*store.updates(incident.id), reminder])
        found, before = destinations(config, store), store.deliveries(incident_id=incident.id)
        planned = spelled_as_stored(plan(found, {c.id for c in incident.components}, audiences=reached), found, before)
        # No wider than the window went, as every step: a channel added since, or the bot's first subscriber,
        # was never told of a window kept to staff, and must not hear of it from its reminder.
        planned = no_wider_than_before(planned, before)
        planned = _failed_where_unset(config, _where_the_operator_sent_it(store, incident, planned))
        return f"reminded {incident.id}", lambda: publish(
            config, store, incident, reminder, new=False, planned=planned, progress=progress, decided_after=seen)
    return None


def _end_as_promised(store: Store, incident: Incident, scheduled_end: datetime) -> datetime | None:
    """When the tick completes a running window: at its scheduled end, or at the latest ``--etr`` given past it (an
    overrun: "about 30 more minutes"); never once the operator kept it open past its end without one (reopened it,
    say): they complete it themselves, and the tick announced "complete" again a minute later."""
    steps = [u for u in store.updates(incident.id) if u.kind == "update"]
    closed = [i for i, step in enumerate(steps) if step.status.is_closed]
    steps = steps[closed[-1] + 1:] if closed else steps  # since it was last reopened: an older ETR was spent
    # The latest ETR past the end stands until another replaces it: a note without one keeps it.
    overrun = next((u.etr for u in reversed(steps) if u.etr is not None), None)
    if overrun is not None and overrun > scheduled_end:
        return overrun
    if steps and steps[-1].created_at >= scheduled_end:
        return None
    return scheduled_end


def _notices_due(config: Config, store: Store, now: datetime, result: TickResult, progress: Any) -> None:
    from broadcaster.engine import Outcome
    from broadcaster.notices import record_overdue, record_sla_breaches, waiting_where_left_out
    from broadcaster.operations import PostResult, publish_stored
    from broadcaster.operations.posting import check_customers

    try:  # before any is stored: a customer's notice is written for the customer its id's table names now
        check_customers(config, store, consequence="No notice was stored or sent.")
    except ConfigError as exc:
        result.refused.append(exc)
        result.actions.append(f"no notices: {exc}")
        return
    try:
        notices = [*record_overdue(config, store, now), *record_sla_breaches(config, store, now)]
    except (LockRefused, LockRefusedAfterStoring) as exc:
        # Another account's notices lock (a state file a group shares): after a window's step was sent, it ended the
        # tick 'error', exit 1, that step unreported and 'retry sends it' said of notices never stored.
        why = exc.reason or str(exc)
        result.refused.append(LockRefused(f"{why} Nothing was stored or sent.", reason=why))
        result.actions.append(f"no notices: {why} No notice was stored or sent; the next tick raises those "
                              "still due once it can take the lock.")
        return
    # Raised: where a post whose notices waited behind the lock left destinations out, they wait there (for `retry`),
    # as that post's own would have. The tick sent them there straight away.
    left_out = store.take_left_out_of_notices()
    if not notices:
        return
    keys = [(n.incident_id, n.sequence) for n in notices]
    waiting = waiting_where_left_out(store, notices, (), by_the_post=left_out)
    try:
        outcomes = publish_stored(config, store, keys, progress=progress, waiting=waiting)
    except ConfigError as exc:  # one chat in two visibilities: found only now, and these are stored already
        why = str(exc).removesuffix(" Nothing was stored or sent.")
        result.actions.append(f"notices stored, not sent: {why} Then `broadcaster retry` sends them.")
        outcomes = [Outcome.of(d) for i, n in keys for d in store.deliveries(incident_id=i, sequence=n)]
    for notice in notices:
        incident = store.incident(notice.incident_id)
        assert incident is not None
        label = notice.extra.get("notice", "notice")
        result.actions.append(f"{label} notice for {notice.incident_id}")
        mine = [o for o in outcomes if (o.incident_id, o.sequence) == (notice.incident_id, notice.sequence)]
        result.results.append(PostResult(incident, notice, False, outcomes=mine))
