"""Posting an update: config -> draft -> (incident, update) -> plan -> store (outbox) -> deliver -> outcomes."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar
from urllib.parse import unquote

from broadcaster import compose
from broadcaster.config import SITE_DESTINATION, Config
from broadcaster.delivery import (
    DONE_STATES,
    LEFT_OUT_BY_OPERATOR,
    DeliveryState,
    Rendered,
    carried_by_its_update,
    skipped_as_read_the_same,
)
from broadcaster.destinations import (
    check_names,
    destinations,
    no_wider_than_before,
    not_configured_here,
    plan,
    spelled_as_stored,
    table_rooms,
)
from broadcaster.engine import (
    Outcome,
    Progress,
    Publisher,
    correction_plan,
    egress_refusal,
    readers_never_told,
    render,
    versions_not_announced_here,
)
from broadcaster.errors import (
    SHARED_STATE_FILE,
    ConfigError,
    ConflictError,
    InputError,
    LockRefused,
    LockRefusedAfterStoring,
    did_you_mean,
    lock_refused_advice,
)
from broadcaster.messages import gate
from broadcaster.messages.model import INTERNAL, PUBLIC, Incident, Level, Update, Visibility
from broadcaster.messages.visibility import (
    as_last_corrected,
    corrected_sequence,
    full_title,
    named_audiences,
    reads_the_same,
    texts_read_by,
    withdrawal_of,
)
from broadcaster.operations.repeats import not_delivered, refuse_a_repeat, refuse_one_posted_meanwhile
from broadcaster.operations.rooms import Held, check_shared_rooms, hold_back, hold_stored
from broadcaster.routing import reached_audiences
from broadcaster.store import CONFLICT_ATTEMPTS, Delivery, PlannedDelivery, Store, utcnow

T = TypeVar("T")


@dataclass(frozen=True)
class Preview:
    """What one destination would receive (or why it receives nothing)."""

    destination: str
    target: str
    visibility: str
    state: str
    rendered: Rendered | None
    reason: str = ""
    refused: str = ""  # the egress guard's refusal: sending would fail here, and nothing would leave
    deletes: tuple[str, ...] | None = None  # a withdrawal here deletes these posts instead of sending ``rendered``
    # A withdrawal's posts here that it will not delete, each with why (``Destination.not_deletable_here``).
    left_up: tuple[tuple[str, str], ...] = ()
    # A correction that goes here as a new post, not an edit of its original, and why (``Destination.not_editable_here``:
    # another account's), as the send will say it.
    posted_anew: str = ""


@dataclass
class PostResult:
    incident: Incident
    update: Update
    new: bool
    outcomes: list[Outcome] = field(default_factory=list)
    previews: list[Preview] = field(default_factory=list)
    dry_run: bool = False
    notices: list[Outcome] = field(default_factory=list)
    before: Incident | None = None  # the incident as stored before this update (None: new)
    raised: list[Update] = field(default_factory=list)  # the notices whose deliveries are ``notices``
    # Team mode: (destination, target, visibility) the incident's earlier updates went to that this machine's config
    # has no such destination or chat for, or has for other readers (``not_in_this_config``): not sent to them.
    elsewhere: list[tuple[str, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the operator should know beyond each delivery's line
    unraised: str = ""  # why the SLA notices due could not be raised (``sla_notices``), said among ``notes``

    @property
    def failed(self) -> bool:
        return bool(self.unraised) or any(o.state not in DONE_STATES for o in [*self.outcomes, *self.notices])


def find_incident(store: Store, incident_id: str) -> Incident:
    """The incident with exactly this id; anything else is refused, with the closest ids as suggestions.

    Never a prefix: ``resolve t`` must not resolve ``t-2026-12-02`` in public.
    """
    incident = store.incident(incident_id.strip())
    if incident is not None:
        return incident
    hint = did_you_mean(incident_id.strip(), store.incident_ids()) or " See `broadcaster list`."
    raise InputError(f"no incident {incident_id!r}.{hint} Incident ids are matched whole; Tab completes them "
                     "(`broadcaster completion`).")


def refuse_withdrawn(incident: Incident, store: Store) -> None:
    """A withdrawn incident takes no more posts: say when, by whom, and what to do instead."""
    if incident.withdrawn_at is None:
        return
    by, _reason = withdrawal_of(store.updates(incident.id))
    raise InputError(
        f"{incident.id} was withdrawn on {incident.withdrawn_at:%Y-%m-%d %H:%M} UTC{' by ' + by if by else ''}; "
        "it takes no more posts and cannot be brought back. Post a new incident (post --title ...) instead; "
        "`broadcaster retry` finishes a withdrawal that failed somewhere. Nothing was stored or sent."
    )


def incident_to_post_to(store: Store, incident_id: str) -> Incident:
    """The incident with exactly this id, refused when it was withdrawn."""
    incident = find_incident(store, incident_id)
    refuse_withdrawn(incident, store)
    return incident


def with_template(config: Config, options: Mapping[str, Any]) -> dict[str, Any]:
    """A command's options with ``--template NAME`` (filled from ``--set key=value``) under them.

    What was typed wins over the template; the template's message comes back as
    ``template_message``, for when no MESSAGE was given.
    """
    from broadcaster import templates

    if options.get("sets") and not options.get("template"):
        raise InputError("--set fills the placeholders of a template: use it with --template NAME "
                         "(see `broadcaster templates`). Nothing was stored or sent.")
    if not options.get("template"):
        return dict(options)
    filled = templates.apply_template(config.templates, options["template"], templates.parse_sets(options["sets"]))
    return {**options, **templates.merge(filled, options)}


def prepare(config: Config, store: Store, draft: compose.Draft) -> tuple[Incident, Update, bool]:
    """Check the draft against the stored incident; nothing is written."""
    existing = incident_to_post_to(store, draft.incident_id) if draft.incident_id else None
    if existing is not None and existing.status.is_closed and not draft.reopen:
        refuse_closed_not_reached(store, existing)
    incident, update = compose.build(draft, existing, config, utcnow())
    return incident, update, existing is None


def refuse_closed_not_reached(store: Store, incident: Incident) -> None:
    """A post to a closed incident without ``--reopen``, when some of its deliveries have not reached their readers:
    most likely the ``resolve`` that closed it run again after it exited 3 (up-arrow and Enter). Refused as
    ``compose.check_transition`` refuses it, but saying first where it is not sent and that ``retry`` sends it: its
    advice alone (post again with --reopen) gives the closing text a second time to every reader who has it."""
    left = not_delivered(store, incident.id)
    if not left:
        return  # ``compose.check_transition`` says what to do
    closed = incident.status.value
    raise InputError(
        f"{incident.id} is already {closed}; nothing was stored or sent. {left[0].upper()}{left[1:]}. To say more "
        f"about it once every reader has it, post with --reopen: broadcaster post -i {incident.id} --reopen -s "
        f"{closed} \"...\" (without -s, --reopen opens it again)."
    )


def delivery_plan(
    config: Config, incident: Incident, update: Update, only: Sequence[str] = (), skip: Sequence[str] = (),
    earlier: Sequence[Update] = (), store: Store | None = None, *, widen: bool = False,
) -> list[PlannedDelivery]:
    """Where ``update`` goes; ``earlier`` are the incident's stored updates (for the audiences it reaches).
    ``store`` holds the bot's subscribed chats (without it none are planned) and where the incident went: no
    wider than before unless ``widen`` or named in ``only`` (``destinations.no_wider_than_before``)."""
    all_destinations = destinations(config, store)
    known = list(all_destinations)
    only_names = check_names(only, known, "--only") if only else None
    skip_names = check_names(skip, known, "--skip")
    both = sorted((only_names or set()) & skip_names)
    if both:
        raise InputError(
            f"{', '.join(both)} is both in --only and in --skip: say which you mean. Nothing was stored or sent."
        )
    component_ids = {c.id for c in incident.components} | {c.id for c in update.components}
    reached = reached_audiences(config.audiences, incident, [*earlier, update])
    planned = plan(all_destinations, component_ids, only=only_names, skip=skip_names, audiences=reached)
    before = store.deliveries(incident_id=incident.id) if earlier and store is not None else []
    planned = spelled_as_stored(planned, all_destinations, before)
    if before and not widen:
        planned = no_wider_than_before(planned, before, only_names or (), named_audiences(update))
    if (only or skip) and not any(p.state == DeliveryState.PENDING for p in planned):
        reasons = "; ".join(sorted({f"{p.destination}: {p.reason}" for p in planned}))
        raise InputError(
            f"with --only/--skip, this update would go nowhere ({reasons}). Name a destination that takes it; "
            "nothing was stored or sent."
        )
    return planned


def not_in_this_config(config: Config, store: Store, incident_id: str, planned: Sequence[PlannedDelivery], *,
                       told_otherwise: bool = True, update: Update | None = None,
                       incident: Incident | None = None) -> list[tuple[str, str, str]]:
    """Team mode: where the incident's earlier updates went that this machine's config has no such destination or
    chat for (a laptop not yet given the new customer's channel), or has for other readers than those it last had
    there, each (destination, target, those readers), for the
    command to say so: this update was not sent there, and no machine will send it by itself (a review, 27pg: a
    customer told of an incident from one laptop never heard its resolution from another, and nothing said so).
    Said, not planned: planning it for another member's config sent it twice where a table is named otherwise
    there, and past a ``--skip`` (27rw). A chat planned here under another table is reached (unless not
    ``told_otherwise``: a withdrawal deletes only its own destination's posts). Nothing for one machine (the
    embedded file): there a destination gone from the config was taken out on purpose.

    Of ``update``, the one this command posts: a place whose last update there is this news already (its status
    and text, another machine's post of it) is not named (review 28f: each machine's advice, followed in turn,
    asked for the same resolution again); a correction is owed only where the update it corrects went, to
    readers who would read it otherwise than the version they have (``reads_the_same``; 28f, 28g). An
    ``incident`` retitled, or of another impact, than the store has it is news everywhere (28h)."""
    if store.one_machine:
        return []
    found = destinations(config, store)
    here = {(p.destination, p.target): p.visibility for p in planned}
    updates = {u.sequence: u for u in store.updates(incident_id)} if update is not None else {}
    corrects = corrected_sequence(update) if update is not None else None
    last: dict[tuple[str, str], Delivery] = {}  # each place's readers, as they last were
    for delivery in store.deliveries(incident_id=incident_id, sequence=corrects):
        if delivery.state != DeliveryState.SKIPPED:
            last[(delivery.destination, delivery.target)] = delivery
    before = store.incident(incident_id) if incident is not None else None
    reheaded = before is not None and incident is not None and (
        (before.title, before.impact) != (incident.title, incident.impact))
    if update is not None and not reheaded:
        # What each place reads now of the update a correction corrects: read once, not once per place (a bot's
        # thousand chats).
        versions = [u for u in updates.values() if corrects is not None and corrected_sequence(u) == corrects
                    and u.sequence != update.sequence]
        shown_at = latest_told(store, incident_id, versions) if versions else {}
        last = {place: d for place, d in last.items() if _owed(update, updates, shown_at.get(place), d)}
    reached = _chats_reached(config, store, planned) if told_otherwise else (lambda _: False)
    places = []
    for (name, target), delivery in sorted(last.items()):
        readers = delivery.visibility
        if (name, target) in here:  # planned here, but for other readers (this config older or newer)
            if here[(name, target)] != readers:
                places.append((name, target, readers))
        elif not reached(target) and not_configured_here(config, found, name, target, readers, store,
                                                         stored_at=delivery.created_at):
            places.append((name, target, readers))
    return places


def _owed(update: Update, updates: Mapping[int, Update], corrected_shown: Update | None, last: Delivery) -> bool:
    """Whether ``update`` is news at a place whose last delivery (of the update it corrects, for a correction) is
    ``last``; ``corrected_shown``: the latest correction of that update the place was sent, if any."""
    corrects = corrected_sequence(update)
    if corrects is None:
        told = updates.get(last.sequence)
        return told is None or last.state != DeliveryState.SENT or not _same_news(told, update)
    shown = corrected_shown or updates.get(corrects)  # what its readers have now
    return shown is None or not reads_the_same(Visibility.parse(last.visibility), shown, update)


def _same_news(told: Update, update: Update) -> bool:
    """Whether ``update`` says nothing ``told`` did not, to any reader: its status, components, times and every
    text staff read (the public's and each customer's are parts of it)."""
    return ((told.status, told.components, told.etr, told.next_update_by, told.kind)
            == (update.status, update.components, update.etr, update.next_update_by, update.kind)
            and reads_the_same(INTERNAL, told, update))


def latest_told(store: Store, incident_id: str, versions: Sequence[Update]) -> dict[tuple[str, str], Update]:
    """Each place's latest of these versions of a text (corrections of an update, a postmortem's) that went there:
    what its readers read now. One kept to others (``--only ops``) is not theirs: compared with it, one back to
    their text would tell them of a change.

    A correction skipped because the post of the update it corrects carries its text there (``carried_unsent``,
    ``carried_sent``) is theirs while that post is not skipped: they read it, or will once ``retry`` sends that post.
    Passed over, a later version or correction back to the text it replaced read the same as the one before it
    there, was skipped, and the place kept the text taken back, exit 0 (review 65g)."""
    by_sequence = {c.sequence: c for c in versions}
    deliveries = sorted(store.deliveries(incident_id=incident_id), key=lambda d: d.sequence)
    carriers = {(d.sequence, d.destination, d.target, d.visibility) for d in deliveries
                if d.state != DeliveryState.SKIPPED}

    def theirs(delivery: Delivery) -> bool:
        if delivery.state != DeliveryState.SKIPPED:
            return True
        corrects = corrected_sequence(by_sequence[delivery.sequence])
        return carried_by_its_update(delivery.last_error) and (
            corrects, delivery.destination, delivery.target, delivery.visibility) in carriers

    told: dict[tuple[str, str], Update] = {}
    for delivery in deliveries:
        if delivery.sequence in by_sequence and theirs(delivery):
            told[(delivery.destination, delivery.target)] = by_sequence[delivery.sequence]
    return told


def latest_deliveries(store: Store, incident_id: str, versions: Sequence[Update]) -> dict[tuple[str, str], Delivery]:
    """``latest_told``'s deliveries: each place's latest delivery, not skipped, of one of these versions. One that
    has not gone out yet (failed, pending, of unknown fate) counts: ``retry`` sends it, and a later version must
    come after it (compared with the version before it, a correction back to that text would be skipped there,
    and ``retry`` would then leave its readers with the text corrected away)."""
    sequences = {c.sequence for c in versions}
    latest: dict[tuple[str, str], Delivery] = {}
    for delivery in sorted(store.deliveries(incident_id=incident_id), key=lambda d: d.sequence):
        if delivery.sequence in sequences and delivery.state != DeliveryState.SKIPPED:
            latest[(delivery.destination, delivery.target)] = delivery
    return latest


def _chats_reached(config: Config, store: Store, planned: Sequence[PlannedDelivery]) -> Callable[[str], bool]:
    """Whether this update reaches a chat under another destination: its subscription left to a table naming it,
    by its id or by an @name the store resolved (review 28a). One a table here names but skips (its components)
    is not reached (review 27ry)."""
    sent = [p for p in planned if p.target and p.state != DeliveryState.SKIPPED]
    chats = {p.target for p in sent}
    tables = {p.destination for p in sent}
    rooms = table_rooms(config, store) if tables & set(config.channels) else None
    return lambda chat: bool(chat) and (
        chat in chats or (rooms is not None and any(t.name in tables for t in rooms.naming(chat))))


def refuse_hidden_header_change(config: Config, store: Store, incident: Incident,
                                planned: Sequence[PlannedDelivery]) -> None:
    """An update kept from readers the incident was told to may not change what they are shown of it: its title,
    impact, status and components are the incident's, carried by every later update, correction and routing (a
    staff-only "identified" would head the next public post, a staff-only component would tell that component's
    customer, an update sent to one customer alone would retitle the incident for the other).

    Kept from the public: every public destination skipped, of an incident the page shows. Kept from a customer
    told of an incident the page does not show: each of its channels left out by the operator (``--only``,
    ``--skip``, no wider than before)."""
    kept_from = _told_readers_left_out(store, incident.id, planned)
    before = store.incident(incident.id) if kept_from else None
    if before is None:
        return
    shown: dict[str, tuple[object, object]] = {
        "title": ((incident.title, full_title(incident)), (before.title, full_title(before))),
        "impact": (incident.impact, before.impact), "status": (incident.status, before.status),
        "components": (frozenset(incident.components), frozenset(before.components)),
    }
    changed = [name for name, (now, then) in shown.items() if now != then]
    if changed and str(PUBLIC) in kept_from:
        raise InputError(
            f"this update is kept off the page, but it changes the incident's {', '.join(changed)}, which the page "
            "and every later public update show. Send it to the page too (name site in --only, or take it out of "
            "--skip), or tell staff without that change. Nothing was stored or sent."
        )
    if changed:
        customers = ", ".join(sorted(Visibility.parse(v).audience for v in kept_from))
        channels = ", ".join(sorted({name for names in kept_from.values() for name in names}))
        raise InputError(
            f"this update is kept from {customers}, told of this incident before, but it changes the incident's "
            f"{', '.join(changed)}, which every later update to them shows. Send it to them too (name {channels} "
            "in --only, or take them out of --skip), or leave that change out. Nothing was stored or sent."
        )


def _told_readers_left_out(store: Store, incident_id: str, planned: Sequence[PlannedDelivery]) -> dict[str, list[str]]:
    """The readers (visibility -> its destinations) told of the incident before whom this update is kept from: the
    public, where the page shows the incident and every public destination is skipped; a customer told of it
    before, where the operator left out every channel of its."""
    by_readers: dict[str, list[PlannedDelivery]] = {}
    for entry in planned:
        by_readers.setdefault(entry.visibility, []).append(entry)
    on_page = incident_id not in store.incidents_kept_off()
    told: set[str] | None = None
    left_out: dict[str, list[str]] = {}
    for visibility, entries in by_readers.items():
        scope = Visibility.parse(visibility)
        if scope.level == Level.INTERNAL or any(e.state != DeliveryState.SKIPPED for e in entries):
            continue
        if scope.level == Level.PUBLIC:
            if on_page:
                left_out[visibility] = sorted({e.destination for e in entries})
            continue
        if on_page:
            continue  # a customer reads the page too: its channel left out (its Slack down, say) hides nothing
        if told is None:
            told = {d.visibility for d in store.deliveries(incident_id=incident_id) if d.state != DeliveryState.SKIPPED}
        # Left out by the operator: a channel its own components or the routing leave out is kept from nothing.
        if visibility in told and all(e.reason in LEFT_OUT_BY_OPERATOR for e in entries):
            left_out[visibility] = sorted({e.destination for e in entries})
    return left_out


def refuse_staff_labels_beyond_staff(config: Config, store: Store, incident: Incident, update: Update,
                                     planned: Sequence[PlannedDelivery], earlier: Sequence[Update], *,
                                     new: bool) -> None:
    """An update whose text beyond staff holds a line labelled for staff ("Internal only: the cause was ...",
    ``gate.staff_label``) is refused when it goes anywhere but internal destinations: the label shows the operator
    meant it for staff. The same line sent with ``--only`` to staff channels alone goes out as written. Beyond staff
    counts a delivery skipped because its readers read the same (a correction of another reader's text): the site
    shows that correction all the same. And whenever anything goes beyond staff, the next build (this post's, the
    next post's, ``tick``'s, ``site publish``) writes the update into each reached customer's private page (a
    ``feed_token``'s), whatever this post does with the site or that customer's channel: that text is read too
    (reviews 25b, 25c). The title is read where it is new to a reader (a new incident, a new title, readers not
    told of the incident before), so that an incident titled before this rule, or for staff and then widened, is
    read once, not refused on every follow-up and every step the tick posts; and a correction is read only for the
    readers whose text it changes (review 25d: one changing a staff note was refused over the public text it left
    as it was)."""
    beyond = [p for p in planned if (p.state != DeliveryState.SKIPPED or skipped_as_read_the_same(p.reason))
              and Visibility.parse(p.visibility).level != Level.INTERNAL]
    if not beyond:
        return
    before = None if new else store.incident(incident.id)
    deliveries = [] if before is None else [d for d in store.deliveries(incident_id=incident.id)
                                            if d.state != DeliveryState.SKIPPED]
    told = {d.visibility for d in deliveries}
    reading = {Visibility.parse(p.visibility) for p in beyond}
    reached = reached_audiences(config.audiences, incident, [*earlier, update])
    reading |= {Visibility.of(key) for key, table in config.audience_tables.items()
                if table.feed_token is not None and key in reached}
    if str(PUBLIC) in told:  # the page went out before: each customer reached then has read the title there
        told |= {str(Visibility.of(key)) for key in reached_audiences(config.audiences, incident, earlier)}
    corrects = corrected_sequence(update)
    corrected = next((u for u in earlier if u.sequence == corrects), None) if corrects is not None else None
    told_it = {d.visibility for d in deliveries if d.sequence == corrects}  # who was sent the corrected update
    read: dict[str, str | None] = {}  # a thousand customers' pages read mostly the same public text: read it once
    for readers in sorted(reading, key=str):
        title_known = before is not None and before.title == incident.title and str(readers) in told
        texts = texts_read_by(incident, update, readers)
        if corrected is not None and (str(readers) in told_it or str(PUBLIC) in told_it) and (
                [t for _, t in texts] == [t for _, t in texts_read_by(incident, corrected, readers)]):
            continue  # a correction that changes nothing these readers read (a staff note): they have read it
        found = gate.first_staff_label(((f, t) for f, t in texts if not (f == "the title" and title_known)), read)
        if found is not None:
            names = ", ".join(sorted({p.destination for p in beyond}))
            raise InputError(
                f"{found[0]} has {found[1]!r} heading or ending a line: a label for staff, but this update goes "
                f"beyond staff too ({names}). Put what is for staff in [private]...[/private] or --private, send "
                "the update to staff channels alone with --only, or reword the line. Nothing was stored or sent."
            )


# What a command that takes --only/--skip advises for a destination whose secret is missing.
LEAVE_OUT = "Export them, or leave those destinations out with --skip."


def secrets_unset(missing: Sequence[str]) -> str:
    """What every command says of secrets it cannot use (``Config.missing_secrets``), each by its key."""
    return "these secrets are not set in the environment, or not usable: " + "; ".join(missing)


def refuse_missing_secrets(config: Config, planned: Sequence[PlannedDelivery], advice: str = LEAVE_OUT) -> None:
    """Nothing is stored or sent while a destination's secret is not in the environment. ``advice``: what to do, for
    a command without --skip (``withdraw``)."""
    names = {p.destination for p in planned if p.state == DeliveryState.PENDING}
    missing = config.missing_secrets(names)
    if missing:
        raise ConfigError(
            f"{secrets_unset(missing)}. {advice} Nothing was stored or sent."
        )


def refuse_unowned_folders(config: Config, store: Store, planned: Sequence[PlannedDelivery]) -> None:
    """Nothing is stored or sent while the site's folder, or a target's, holds files broadcaster did not write."""
    pending = {p.destination for p in planned if p.state == DeliveryState.PENDING}
    for name, destination in destinations(config).items():
        if name in pending:
            destination.preflight(store)


def check_customers(config: Config, store: Store, *, dry_run: bool = False, consequence: str = "Nothing was stored or sent.") -> None:
    """Refuse an audience id configured for another customer than the one it served (``broadcaster.customer_ids``);
    unless ``dry_run``, remember the customer each id serves."""
    from broadcaster.customer_ids import claim_audience_ids, refuse_reused_audience_ids

    (refuse_reused_audience_ids if dry_run else claim_audience_ids)(config, store, consequence)


def previews(
    config: Config, store: Store, incident: Incident, update: Update, updates: Sequence[Update],
    planned: Sequence[PlannedDelivery],
) -> list[Preview]:
    """Render every planned destination exactly as it would be sent."""
    all_destinations = destinations(config)
    everything = [*updates, update]
    # A rendering depends on the destination, not the chat: once each, however many chats (but for a postmortem's
    # earlier versions never announced in a chat, which make its announcement there the first).
    done: dict[tuple[Any, ...], tuple[Rendered, str]] = {}
    result = []
    corrects = corrected_sequence(update)
    for entry in planned:
        rendered, refused, anew = None, "", None
        if entry.state == DeliveryState.PENDING:
            destination = all_destinations[entry.destination]  # one this config lacks is never pending here
            # As the engine will send it at this place: an edit of its original, or a new message where it cannot
            # edit that post (sent in parts, its id unknown), headed with the incident as it stands.
            edited, anew = (correction_plan(
                store, destination, incident.id, entry.target, entry.visibility, update.sequence, corrects,
                next((u for u in updates if u.sequence == corrects), None))
                if destination.can_edit and corrects is not None else (None, None))
            edits = bool(edited)
            unannounced = versions_not_announced_here(store, update, entry.destination, entry.target,
                                                      entry.visibility)
            key = (entry.destination, entry.visibility, edits, unannounced)
            if key not in done:
                destination.prepare()  # what the send will learn first (a Mastodon instance's limits)
                hidden = {*readers_never_told(store, destination, entry.visibility, incident.id), *unannounced}
                rendered = render(destination, incident, update, everything, config, hidden=hidden, edits=edits)
                refusal = egress_refusal(destination, entry.visibility, rendered, incident, update, everything, config,
                                         hidden=hidden, edits=edits)
                done[key] = (rendered, refusal.found if refusal is not None else "")  # the command says what to do
            rendered, refused = done[key]
        if entry.carried_by is not None:
            refused = _carried_refusal(config, store, incident, entry, everything, corrects, done)
        result.append(Preview(entry.destination, entry.target, entry.visibility, entry.state, rendered, entry.reason,
                              refused=refused, posted_anew=anew.said() if anew and entry.state == DeliveryState.PENDING else ""))
    if any(p.destination == SITE_DESTINATION and p.state == DeliveryState.PENDING for p in planned):
        if not any(p.destination == SITE_DESTINATION and p.refused for p in result):  # else said once already
            result += _incident_page_refused(config, incident, update, everything)
        result += _customer_pages_refused(config, incident, update, everything)
    return result


def _carried_refusal(config: Config, store: Store, incident: Incident, entry: PlannedDelivery,
                     everything: Sequence[Update], corrects: int | None,
                     done: dict[tuple[Any, ...], tuple[Rendered, str]]) -> str:
    """The egress guard's refusal of the post a correction skipped here rides with (``PlannedDelivery.carried_by``):
    the update it corrects, not gone out here yet, which `retry` sends with the correction's text, as the engine
    renders it. Unchecked, an amend putting another customer's name in this customer's text was stored, exit 0
    (its preview had nothing to render here), and every `retry` of the update was then refused here for good: the
    update never reached these readers (review 65g)."""
    original = next((u for u in everything if u.sequence == corrects), None)
    if original is None:
        return ""
    carried = (entry.destination, f"carried:{entry.visibility}", False)  # apart from the correction's own rendering
    if carried not in done:
        destination = destinations(config)[entry.destination]
        left_out = store.left_out_by_operator(incident.id, Visibility.parse(entry.visibility), at=entry.destination)
        update = as_last_corrected(original, everything, left_out)
        hidden = readers_never_told(store, destination, entry.visibility, incident.id)
        destination.prepare()
        rendered = render(destination, incident, update, everything, config, hidden=hidden, left_out=left_out)
        refusal = egress_refusal(destination, entry.visibility, rendered, incident, update, everything, config,
                                 hidden=hidden, left_out=left_out)
        done[carried] = (rendered, refusal.found if refusal is not None else "")
    return done[carried][1]


def _incident_page_refused(config: Config, incident: Incident, update: Update, updates: Sequence[Update]) -> list[Preview]:
    """The incident's page as the build would guard it, every update on it: a new private value an earlier
    public text holds would take the whole incident off the page (refused here, nothing stored)."""
    if update.kind == "withdrawal" or not _earlier_texts_hold_its_values(config, incident, update, updates):
        return []  # the page goes; or nothing shown before holds what this update keeps private (most posts)
    from broadcaster.site.source import incident_page_refusal  # the site builder's imports: only when needed

    earlier = [u for u in updates if u.sequence != update.sequence]
    if earlier and incident_page_refusal(config, incident, earlier):
        return []  # already off the page (a customer added since, say): this update makes it no worse, let it go
    refused = incident_page_refusal(config, incident, updates)
    return [Preview(SITE_DESTINATION, "the incident's page", "public", DeliveryState.PENDING, None,
                    refused=refused)] if refused else []


def _earlier_texts_hold_its_values(config: Config, incident: Incident, update: Update, updates: Sequence[Update]) -> bool:
    """Whether the title or an earlier update's public text holds one of ``update``'s private values: only then is
    the page rendered (a dry run stays as fast as it was; the page's jinja is not imported for every preview)."""
    from broadcaster.messages.egress import Compared, PrivateValues
    from broadcaster.messages.model import PUBLIC
    from broadcaster.messages.visibility import forbidden_values, public_texts_besides

    values = PrivateValues.of(forbidden_values(update, incident, PUBLIC, config.audiences))
    if not values:
        return False
    # Read as the page shows it: entities and percent-escapes decoded ("Frankfurt&nbsp;POP", ".../Frankfurt%20POP").
    shown = html.unescape(unquote(public_texts_besides(incident, updates, update.sequence)))
    return values.found_in(Compared(shown)) is not None


def _customer_pages_refused(
    config: Config, incident: Incident, update: Update, updates: Sequence[Update]
) -> list[Preview]:
    """The customer pages the site would have to leave this incident out of, as refusals: each shows that
    customer's view of the update, guarded as its own channel would be (nothing is shown when all pass, so
    preview and --json read as before)."""
    from broadcaster.site.destination import CustomerPage

    told = reached_audiences(config.audiences, incident, updates)
    refused = []
    for key, table in config.audience_tables.items():
        if table.feed_token is None or key not in told:
            continue
        page = CustomerPage(config, key)
        rendered = render(page, incident, update, updates, config)
        refusal = egress_refusal(page, page.visibility, rendered, incident, update, updates, config)
        if refusal is not None:
            refused.append(Preview(SITE_DESTINATION, f"the private page of audience {key}", page.visibility,
                                   DeliveryState.PENDING, rendered, refused=refusal.found))
    return refused


def post(
    config: Config,
    store: Store,
    draft: compose.Draft,
    *,
    only: Sequence[str] = (),
    skip: Sequence[str] = (),
    widen: bool = False,
    again: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> PostResult:
    """Check, store (with every delivery, before sending) and publish one update. ``again``: post it even where it
    repeats a post just made (``repeats.refuse_a_repeat``)."""

    def attempt() -> PostResult:
        incident, update, new = prepare(config, store, draft)
        return publish(config, store, incident, update, new=new, only=only, skip=skip, widen=widen, again=again,
                       dry_run=dry_run, progress=progress)

    return again_on_conflict(attempt)


def again_on_conflict(attempt: Callable[[], T]) -> T:
    """Run ``attempt``; when another command changed the incident under it, read it again and retry.

    ``ConflictError`` comes from the store before anything is stored or sent, so
    running the whole attempt again (it reads the incident afresh) is safe. A
    change that makes the attempt invalid (a status moved past it) then surfaces
    as the attempt's own InputError.
    """
    for remaining in reversed(range(CONFLICT_ATTEMPTS)):
        try:
            return attempt()
        except ConflictError:
            if not remaining:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def publish(
    config: Config,
    store: Store,
    incident: Incident,
    update: Update,
    *,
    new: bool,
    only: Sequence[str] = (),
    skip: Sequence[str] = (),
    widen: bool = False,
    again: bool = True,
    dry_run: bool = False,
    progress: Progress | None = None,
    planned: Sequence[PlannedDelivery] | None = None,
    decided_after: int | None = None,
) -> PostResult:
    """Store a built update with its deliveries (the outbox), then deliver them at once.

    Private notices the update causes (an SLA breach) are stored and delivered in the same run. Unless ``again``,
    an update that repeats one just made where it would go is refused (``repeats``). ``decided_after``: the last
    update the caller's decision read (the tick's); one stored since makes this a ConflictError, nothing stored.
    """
    earlier = [] if new else store.updates(incident.id)
    if planned is None:
        planned = delivery_plan(config, incident, update, only, skip, earlier, store, widen=widen)
    refuse_staff_labels_beyond_staff(config, store, incident, update, planned, earlier, new=new)
    if not new:
        refuse_hidden_header_change(config, store, incident, planned)
    elif _kept_from_the_public(planned):
        # From the store's own secret: a preview where the state file is not made yet makes it for this (the one read
        # that does), or it would name another id than the post after it gets (review 55b).
        unspelt = compose.unspelt_id(incident, *store.holding_its_secret().site_generation())
        incident, update = replace(incident, id=unspelt), replace(update, incident_id=unspelt)
    # A dry run checks the config exactly as the real run does: a preview that passes promises a post that works.
    if not again:
        refuse_a_repeat(store, incident, update, planned, new=new)
        if new:
            refuse_the_new_incident_lock(store)
    checked_plan = planned  # what the repeat check compared (before rooms held back, as it was checked)
    refuse_missing_secrets(config, planned)
    refuse_unowned_folders(config, store, planned)
    check_customers(config, store, dry_run=dry_run)
    held = check_shared_rooms(config, store, ask=not dry_run)
    planned = hold_back(planned, held)
    elsewhere = [] if new else not_in_this_config(config, store, incident.id, planned, update=update,
                                                  incident=incident)  # read before it is stored
    if dry_run:
        # The number the store will give it: after the updates kept as history too (``Store.history``).
        numbered = replace(update, sequence=1 if new else store.next_sequence(incident.id))
        if new:  # shown with the id the store will give it (``insert_incident``), its link too; stored from the
            # plain one, so that two posts racing get ``-2`` and ``-3``, never ``-2-2``
            free = store.free_incident_id(incident.id)
            incident, numbered = replace(incident, id=free), replace(numbered, incident_id=free)
        unraised = sla_notices_unraised_in_a_dry_run(config, store, planned)
        return PostResult(incident, numbered, new, previews=previews(config, store, incident, numbered, earlier, planned),
                          dry_run=True, before=None if new else store.incident(incident.id), elsewhere=elsewhere,
                          notes=[unraised] if unraised else [])
    after = None if new else max((u.sequence for u in earlier), default=0)  # what the plan was made after
    if decided_after is not None and not new:
        after = min(after or 0, decided_after)
    incident, update = store_checked(store, incident, update, planned, new=new, after=after,
                                     repeats_of=None if again else checked_plan)
    from broadcaster.notices import waiting_where_left_out

    notices, unraised = sla_notices(config, store, planned)
    keys = [(incident.id, update.sequence), *((n.incident_id, n.sequence) for n in notices)]
    # A destination this command left out gets none of its notices now either (``retry`` sends them later), nor one
    # an earlier post left out whose notices it raises now (that post could not).
    waiting = waiting_where_left_out(store, notices, planned, by_the_post=notices_left_out_before(store, unraised))
    outcomes = publish_stored(config, store, keys, progress=progress, held=held, waiting=waiting)
    key = (incident.id, update.sequence)
    mine = [o for o in outcomes if (o.incident_id, o.sequence) == key]
    return PostResult(incident, update, new, outcomes=mine, notices=[o for o in outcomes if (o.incident_id, o.sequence) != key],
                      raised=notices, elsewhere=elsewhere, notes=[unraised] if unraised else [], unraised=unraised)


def sla_notices(config: Config, store: Store,
                planned: Sequence[PlannedDelivery] = ()) -> tuple[list[Update], str]:
    """The SLA notices this stored update makes due (``record_sla_breaches``), or none and why: another account's
    notices lock (a state file a group shares) ended the command 'error', exit 1, the update stored and never sent,
    though sending it takes no such lock (the `broadcaster retry` it pointed to sent it).

    Left unraised, the destinations ``planned`` left out (``--skip``/``--only``) are kept in the store: the tick or
    command that raises them later leaves them out there too, as this command would have (``notices_left_out_before``).
    """
    from broadcaster.notices import left_out_by_choice, record_sla_breaches, sla_breach_may_be_due

    try:
        return record_sla_breaches(config, store, utcnow()), ""
    except (LockRefused, LockRefusedAfterStoring) as exc:
        # Every post on a component with an SLA takes the lock to decide; one with no breach due leaves nothing
        # for later, and exited 3 saying so all the same.
        if not sla_breach_may_be_due(config, store, utcnow()):
            return [], ""
        left_out = left_out_by_choice(planned)
        if left_out:
            store.note_left_out_of_notices(left_out)
        waits = (f" Once raised, it waits at {', '.join(sorted(left_out))}, which this command left out, as its own "
                 "notice would, and `broadcaster retry` sends it there." if left_out else "")
        # The lock's own refusal says to run the command as its maker: this one, sent already, would be posted again.
        return [], (f"An SLA notice is due and was not raised: {exc.lock} This command's update went out as shown: do "
                    "not run it again for the notice. Run `broadcaster tick` as that account to raise it now, or have that "
                    "account (or root) remove the lock while no broadcaster command runs, and the next post, "
                    f"withdrawal or tick raises it.{waits} {SHARED_STATE_FILE}")


def notices_left_out_before(store: Store, unraised: str) -> dict[str, str]:
    """Where the posts whose SLA notices waited behind the notices' lock left destinations out
    (``Store.note_left_out_of_notices``), taken once this command raised the notices due (``unraised`` empty): they
    are raised, so what those posts left out is said of them now, and never of a later breach's."""
    return {} if unraised else store.take_left_out_of_notices()


def sla_notices_unraised_in_a_dry_run(config: Config, store: Store, planned: Sequence[PlannedDelivery] = ()) -> str:
    """What a dry run can tell of ``sla_notices``' refusal: the notices' lock is another account's. Whether the post
    makes a breach due is known only once it is stored, so it is said wherever an SLA is watched. The dry run said
    nothing, and the real post then exited 3, its notice left behind the lock. Where it leaves destinations out
    (``planned``), the notice raised later waits there, as ``sla_notices`` says."""
    from broadcaster.notices import left_out_by_choice, watches_sla

    refused = store.lock_refused("notices") if watches_sla(config, store) else None
    if refused is None:
        return ""
    left_out = sorted(left_out_by_choice(planned))
    waits = (f" Once raised, it waits at {', '.join(left_out)}, which this post leaves out, for `broadcaster retry`."
             if left_out else "")
    return (f"If this post makes an SLA notice due, it is not raised: {refused} The post itself goes out, and exits 3 "
            "saying so; `broadcaster tick` run as that account raises the notice, or have that account (or root) "
            f"remove the lock while no broadcaster command runs.{waits} {SHARED_STATE_FILE}")


# The store-wide lock (``Store.lock``) new incidents are checked and stored under, one command at a time.
NEW_INCIDENT_LOCK = "new-incident"


def refuse_the_new_incident_lock(store: Store) -> None:
    """A new incident is stored under ``NEW_INCIDENT_LOCK`` (``store_checked``): where that lock is another account's,
    refused before the preview, asked without taking or making it. A dry run showed the post and exited 0, and the
    real one was refused once confirmed (exit 2, nothing stored): a preview that passes promises a post that works."""
    refused = store.lock_refused(NEW_INCIDENT_LOCK)
    if refused is not None:
        said = lock_refused_advice(refused)
        raise LockRefused(f"{said} Nothing was stored or sent.", reason=said, lock=refused)


def store_checked(
    store: Store, incident: Incident, update: Update, planned: Sequence[PlannedDelivery], *, new: bool,
    after: int | None, repeats_of: Sequence[PlannedDelivery] | None,
) -> tuple[Incident, Update]:
    """``store.record_update``; a new incident checked once more for a repeat (``repeats_of``: the plan the first
    check compared; None: ``--again``) under ``NEW_INCIDENT_LOCK``, held until it is stored.

    The first check runs before the secrets, folders and rooms checks (which may ask Telegram) and the operator's
    confirmation: two operators paged by one alert both passed it and put the incident on every channel twice,
    since the store gives the second ``-2`` on purpose. Under the lock, the second finds the first's incident and
    is refused as a repeat, nothing stored. An update to an existing incident needs no lock: ``after`` makes one
    stored meanwhile a ConflictError, and ``again_on_conflict`` runs the whole check again."""
    if not new or repeats_of is None:
        return store.record_update(incident, update, planned, new=new, after=after)
    with ExitStack() as held:
        try:
            held.enter_context(store.lock(NEW_INCIDENT_LOCK))
        except LockRefusedAfterStoring as exc:
            # What the checks before it stored (a chat an @name is, as Telegram said) is no part of the post: told
            # 'what this command stored is kept, `broadcaster retry` sends it', the operator waited for a post that
            # was never stored.
            raise LockRefused(f"{exc.reason} Nothing was stored or sent.", reason=exc.reason or str(exc)) from exc
        refuse_one_posted_meanwhile(store, incident, update, repeats_of)
        return store.record_update(incident, update, planned, new=True)


def _kept_from_the_public(planned: Sequence[PlannedDelivery]) -> bool:
    """No public destination is told of this update: every one skipped (``--only tg-ops``), or none configured."""
    return not any(Visibility.parse(p.visibility).level == Level.PUBLIC and p.state != DeliveryState.SKIPPED
                   for p in planned)


def publish_stored(
    config: Config, store: Store, updates: Sequence[tuple[str, int]], *, progress: Progress | None = None,
    held: Held | None = None, waiting: Mapping[int, str] | None = None,
) -> list[Outcome]:
    """Deliver every pending delivery of these stored updates; skipped ones are reported as such.

    Site and host deliveries left failed or unknown by an earlier command (a crash
    mid-publish) ride along: this command rebuilds and uploads the whole site
    anyway, so the page never stays behind the store. ``held``: the rooms check
    (``check_shared_rooms``) when the caller ran it; notices come here without one.
    ``waiting``: deliveries left ``pending`` for ``retry`` (id -> why), reported with why.
    """
    if held is None:  # notices: the caller (a post, a withdrawal) ran both checks before storing
        check_customers(config, store, consequence="Nothing was sent.")
        held = check_shared_rooms(config, store)
    waiting = waiting or {}
    publisher = Publisher(config, store, progress=progress)
    publisher.reap()
    rows = [d for incident_id, sequence in updates for d in store.deliveries(incident_id=incident_id, sequence=sequence)]
    pending, stopped = hold_stored(
        store, [d for d in rows if d.state == DeliveryState.PENDING and d.id not in waiting], held)
    rows = [store.delivery(d.id) if d.id in stopped else d for d in rows]
    # Only the site and targets this command publishes to anyway (--only/--skip hold for them too).
    publishing = {d.destination for d in pending if d.destination in publisher.destinations
                  and publisher.destinations[d.destination].idempotent}
    mine = {d.id for d in rows}
    pending += [d for d in stale_site_deliveries(config, store) if d.destination in publishing and d.id not in mine]
    sent = {d.id: replace(o, tried=True) for d, o in zip(pending, publisher.deliver(pending), strict=True)}
    return [sent.get(d.id) or _as_left(d, waiting.get(d.id)) for d in rows]


def _as_left(delivery: Delivery, waits: str | None) -> Outcome:
    """A delivery not sent by this command, as recorded; one left waiting says why (the store keeps it plain
    ``pending``: writing a reason there could race a ``retry`` that sends it meanwhile)."""
    outcome = Outcome.of(delivery)
    return replace(outcome, error=waits) if waits and delivery.state == DeliveryState.PENDING else outcome


def stale_site_deliveries(config: Config, store: Store, incident_id: str | None = None) -> list[Delivery]:
    """Site and host deliveries an earlier command left unfinished (failed, or unknown after a crash)."""
    idempotent = {name for name, d in destinations(config).items() if d.idempotent}
    return [d for d in store.deliveries(incident_id=incident_id, states=(DeliveryState.FAILED, DeliveryState.UNKNOWN)) if d.destination in idempotent]
