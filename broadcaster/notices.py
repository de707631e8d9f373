"""Private notices the tool raises by itself: an SLA breached, a promised update overdue.

A notice is an update of kind ``notice``: stored like any other, delivered only
to private channels, never shown on the page or in the feeds. Each is raised at
most once, keyed in ``Update.extra`` (an SLA breach once per component and
month, an overdue reminder once per promised update). Deciding which are due
happens under the store's ``notices`` lock (across machines in team mode), and
each is stored against the incident as just read (compare-and-set), so two
commands never raise one twice and a notice never writes back a stale incident.
An SLA breach notice whose incident was withdrawn told only the places it reached:
while the breach holds, it is raised again for the others alone (``_Told``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from broadcaster.compose import without_kept
from broadcaster.config import AudienceConfig, ComponentConfig, Config
from broadcaster.delivery import NOT_IN_ONLY, SKIPPED_BY_OPERATOR, DeliveryState
from broadcaster.destinations import destinations, plan, spelled_as_stored
from broadcaster.errors import ConflictError
from broadcaster.messages import i18n, words
from broadcaster.messages.model import INTERNAL, Incident, Update, Visibility
from broadcaster.messages.uptime import Outage, group_month_to_date, month_start, month_to_date, outages
from broadcaster.messages.visibility import PRIVATE_KINDS, PublicIncident, public_incident
from broadcaster.store import CONFLICT_ATTEMPTS, Delivery, PlannedDelivery, Store
from broadcaster.times import format_time

# The kinds of update that can carry a promise: an operator's post (``--next-update``). The tool's own
# notices and reminders, corrections and postmortems carry none, so they neither make nor end one.
PROMISING_KINDS = frozenset({"update"})


def has_private_channels(config: Config, store: Store | None = None) -> bool:
    """Whether an internal notice has anywhere to go: an internal channel, or (read from ``store``)
    a chat subscribed to internal updates through the bot."""
    if any(c.internal for c in config.channels.values()):
        return True
    return config.bot is not None and store is not None and bool(store.subscriptions(visibility=INTERNAL, active=True))


def notice_label(notice: Update) -> str:
    """What a notice is about, in a few words, for the summary of the command that raised it."""
    extra, kind = notice.extra, notice.extra.get("notice", "")
    if kind == "sla_breach":
        return f"SLA breach of {extra.get('component', '?')}"
    if kind in ("audience_sla", "audience_sla_internal"):
        return f"SLA breach of customer {extra.get('audience') or extra.get('of') or '?'}"
    if kind == "overdue":
        return f"update #{extra.get('of', '?')} overdue"
    return kind or "notice"


# What a notice's delivery says where the command that raised it left the destination out: it waits there.
WAITS_THERE = ("not sent: this command left {name} out ({why}), so the notice it raised waits; "
               "`broadcaster retry {incident}` sends it there")
# And where the post that made it due left it out, raised later (that post could not take the notices' lock).
WAITS_AS_THE_POST_LEFT_IT = ("not sent: the post that made this notice due left {name} out ({why}), so the notice "
                             "waits there as that post's own would; `broadcaster retry {incident}` sends it there")
SLA_KINDS = frozenset({"sla_breach", "audience_sla", "audience_sla_internal"})


def left_out_by_choice(planned: Sequence[PlannedDelivery]) -> dict[str, str]:
    """The destinations a command left out with ``--skip`` or ``--only`` (name -> why)."""
    return {p.destination: p.reason or "" for p in planned
            if p.state == DeliveryState.SKIPPED and p.reason in (NOT_IN_ONLY, SKIPPED_BY_OPERATOR)}


def waiting_where_left_out(store: Store, notices: Sequence[Update], planned: Sequence[PlannedDelivery],
                           by_the_post: Mapping[str, str] | None = None) -> dict[int, str]:
    """The deliveries of ``notices`` (raised by an operator's update) to destinations that update's command left
    out with ``--skip`` or ``--only``, each with why it is not sent now.

    The operator who left a destination out of a command (its service down, a team not to disturb) is not
    surprised by a post there from it. The notice is not lost either: it stays ``pending`` (the command exits 3,
    saying so), and ``retry`` sends it.

    ``by_the_post``: where an earlier post left destinations out whose SLA notices waited behind another account's
    notices lock (``Store.take_left_out_of_notices``): raised now, by a tick or the next command, they are still
    that post's, and wait there too. The tick sent them straight to the destination the post had left out."""
    left_out = {name: (WAITS_THERE, why) for name, why in left_out_by_choice(planned).items()}
    earlier = {name: (WAITS_AS_THE_POST_LEFT_IT, why) for name, why in (by_the_post or {}).items()
               if name not in left_out}
    if not left_out and not earlier:
        return {}
    waiting: dict[int, str] = {}
    for notice in notices:
        told = {**(earlier if notice.extra.get("notice") in SLA_KINDS else {}), **left_out}
        for d in store.deliveries(incident_id=notice.incident_id, sequence=notice.sequence):
            if d.state == DeliveryState.PENDING and d.destination in told:
                template, why = told[d.destination]
                # The notice's own incident (an SLA breach may be another incident's than the update's): `retry` by it.
                waiting[d.id] = template.format(name=d.destination, why=why, incident=d.incident_id)
    return waiting


def _raised(updates: list[Update], **key: str) -> bool:
    return any(_matches(u, key) for u in updates)


def _matches(update: Update, key: dict[str, str]) -> bool:
    return update.kind == "notice" and all(update.extra.get(name) == value for name, value in key.items())


def _record(config: Config, store: Store, incident_id: str, message: Callable[[Incident], str | None],
            now: datetime, components: set[str], *, audience: str = "", told: _Told | None = None,
            **key: str) -> Update | None:
    """Store one notice on the incident as it is now; ``message`` says what, or None when no longer due.

    Called under the notices lock, so no other command raises notices meanwhile;
    an operator's update in between only moves the incident's version: read again.
    With ``audience``, the notice is that customer's: planned for its channels only
    (``Update.extra["audience"]`` lets the audience view show it), else for internal channels.
    With ``told``, it is left out where an earlier notice of the same breach told the readers, and not stored
    when that is everywhere it would go.
    """
    extra = {**key, "audience": audience} if audience else dict(key)
    for _ in range(CONFLICT_ATTEMPTS):
        incident = store.incident(incident_id)
        text = message(incident) if incident is not None else None
        planned = _where_untold(_notice_plan(config, store, incident_id, components, audience), told or _Told())
        if incident is None or text is None or planned is None:
            return None
        notice = Update(incident.id, 0, now, incident.status, text, kind="notice", extra=extra, author="broadcaster")
        try:
            _, stored = store.record_update(incident, notice, planned, new=False)
        except ConflictError:
            continue
        return stored
    return None


def _notice_plan(config: Config, store: Store, incident_id: str, components: set[str],
                 audience: str) -> list[PlannedDelivery]:
    """Internal channels for an internal notice; that customer's channels alone for a customer's, each chat spelled
    as the incident's earlier deliveries there spell it (``spelled_as_stored``: the notice replies in their thread).

    The bot's subscribed chats (read from ``store``) are channels of their visibility like any other."""
    found = destinations(config, store)
    planned = plan(found, components, private_only=True, audiences={audience} if audience else ())
    planned = spelled_as_stored(planned, found, store.deliveries(incident_id=incident_id))
    if not audience:
        return planned
    return [p if p.state == DeliveryState.SKIPPED or Visibility.parse(p.visibility).audience == audience
            else replace(p, state=DeliveryState.SKIPPED, reason="the customer's own notice; internal channels get theirs")
            for p in planned]


def record_sla_breaches(config: Config, store: Store, now: datetime) -> list[Update]:
    """A notice for each component whose availability this month fell below its ``sla``, and for each
    audience whose availability over its components fell below its contracted ``sla``."""
    watched, customers = _under_sla(config, store)
    if not watched and not customers:
        return []
    raised: list[Update] = []
    with store.lock("notices"):
        month = _month_so_far(store, now)
        for table in customers:
            raised += _audience_breach(config, store, table, month, now)
        for entry in watched:
            if not _component_breached(entry, month, now):
                continue
            component = entry.component
            measured, target = month_to_date(month.found, component.id, now), entry.sla
            # The notice joins the latest incident that took the component down.
            culprits = [i for i, _ in month.history
                        if any(o.component_id == component.id for o in outages([month.views[i.id]], now))]
            incident = max(culprits, key=lambda i: i.created_at)
            with i18n.speaking(config.page.language):
                message = words.sla_breach(component.name, measured, target or 0.0)
            stored = _record(config, store, incident.id, _always(message), now, {component.id},
                             told=month.notices.told(**_component_key(entry, month)),
                             **_component_key(entry, month))
            raised.extend([stored] if stored else [])
    return raised


def sla_breach_may_be_due(config: Config, store: Store, now: datetime) -> bool:
    """Whether ``record_sla_breaches`` may raise a notice now, read without the notices lock and storing nothing.

    For a command that could not take the lock (another account's: a state file a group shares): only where a
    breach is below its target and not yet told is there a notice it leaves for later. Every post touching a
    component with an SLA said one was left, and exited 3, with none due."""
    watched, customers = _under_sla(config, store)
    if not watched and not customers:
        return False
    month = _month_so_far(store, now)
    return (any(_customer_breached(table, month, now) for table in customers)
            or any(_component_breached(entry, month, now) for entry in watched))


def watches_sla(config: Config, store: Store) -> bool:
    """Whether ``record_sla_breaches`` has anything to watch (and so takes the notices lock)."""
    watched, customers = _under_sla(config, store)
    return bool(watched or customers)


def _under_sla(config: Config, store: Store) -> tuple[list[ComponentConfig], list[AudienceConfig]]:
    """The components whose SLA staff are told of (none without an internal channel), and the customers with one."""
    watched = [c for c in config.components if c.sla is not None] if has_private_channels(config, store) else []
    customers = [t for t in config.audience_tables.values() if t.sla is not None and t.audience.components]
    return watched, customers


@dataclass(frozen=True)
class _Month:
    """This month so far, as its SLA notices are decided: its incidents, their public views, the outages in them,
    and the notices raised."""

    name: str  # "2026-12"
    history: list[tuple[Incident, list[Update]]]
    views: dict[str, PublicIncident]
    found: list[Outage]
    notices: _Notices


def _month_so_far(store: Store, now: datetime) -> _Month:
    history = store.site_incidents(month_start(now))
    views = {i.id: public_incident(i, [u for u in ups if u.kind not in PRIVATE_KINDS]) for i, ups in history}
    notices = _Notices(store, [u for _, ups in history for u in ups if u.kind == "notice"],
                       _withdrawn_notices(store, month_start(now)))
    return _Month(f"{now:%Y-%m}", history, views, outages(views.values(), now), notices)


def _component_key(entry: ComponentConfig, month: _Month) -> dict[str, str]:
    return {"notice": "sla_breach", "component": entry.component.id, "month": month.name}


def _component_breached(entry: ComponentConfig, month: _Month, now: datetime) -> bool:
    """Below its SLA this month, and its notice not told everywhere yet."""
    measured = month_to_date(month.found, entry.component.id, now)
    return (entry.sla is not None and measured < entry.sla
            and not month.notices.told(**_component_key(entry, month)).everywhere)


def _customer_key(month: _Month) -> dict[str, str]:
    return {"notice": "audience_sla", "month": month.name}


def _customer_breached(table: AudienceConfig, month: _Month, now: datetime) -> bool:
    """Below its contract this month over its components, and its own notice not told everywhere yet (staff's note
    of it is raised only beside the customer's)."""
    measured = group_month_to_date(month.found, table.audience.components, now)
    return (table.sla is not None and measured < table.sla
            and not month.notices.told(audience=table.audience.id, **_customer_key(month)).everywhere)


def _withdrawn_notices(store: Store, since: datetime) -> list[Update]:
    """The notices of incidents withdrawn since ``since``. A withdrawn incident leaves the page and the uptime, but
    what its notices told the private channels was told: once per month holds across it, where they arrived."""
    withdrawn = [i.id for i in store.list_incidents(limit=1000) if i.withdrawn_at is not None and i.withdrawn_at >= since]
    return [u for _, ups in store.incidents_of(withdrawn) for u in ups if u.kind == "notice"]


# Why a withdrawal settled a delivery whose fate was unknown where its note covers it (``operations.withdrawing``,
# which imports it from here): the post may have arrived, so a notice settled so may have been told.
COVERED = "withdrawn while its fate was unknown; the withdrawal's follow-up or note there covers it if it arrived"
MAY_HAVE_ARRIVED = (DeliveryState.SENT, DeliveryState.UNKNOWN, DeliveryState.SENDING)
# Why a notice raised again after a withdrawal is not sent to a place: the withdrawn incident's notice of the same
# breach arrived there (or may have), and its readers would read the breach twice.
TOLD_BEFORE = "told already: a notice of this breach arrived here on an incident withdrawn since"

Place = tuple[str, str]  # a destination and its target (a chat of a channel, a subscriber of the bot)


@dataclass(frozen=True)
class _Told:
    """Where this month's notices of one breach told their readers (a second notice of a breach is worse than none
    only where the first may be there).

    A notice on an incident still up told everyone (what it has not sent yet waits for ``retry``), except the places
    it left out because a withdrawn incident's notice had arrived there (``deferred``). A withdrawn incident's notice
    told only where it reached (or may have reached) its readers (``arrived``): where the withdrawal stopped it
    before it went out (left out, failed), it told nobody."""

    live: bool = False
    deferred: frozenset[Place] = frozenset()
    arrived: frozenset[Place] = frozenset()

    def there(self, place: Place) -> bool:
        return (self.live and place not in self.deferred) or place in self.arrived

    @property
    def anyone(self) -> bool:
        return self.live or bool(self.arrived)

    @property
    def everywhere(self) -> bool:
        return self.live and self.deferred <= self.arrived


@dataclass(frozen=True)
class _Notices:
    """This month's notices: those of the incidents still up (``live``) and of those withdrawn since."""

    store: Store
    live: list[Update]
    withdrawn: list[Update]

    def told(self, **key: str) -> _Told:
        """Where the notices matching ``key`` (in their ``extra``) told their readers."""
        live = [u for u in self.live if _matches(u, key)]
        arrived = {(d.destination, d.target) for u in self.withdrawn if _matches(u, key)
                   for d in self._deliveries(u) if _may_have_arrived(d)}
        return _Told(bool(live), _deferred([d for u in live for d in self._deliveries(u)]), frozenset(arrived))

    def _deliveries(self, notice: Update) -> list[Delivery]:
        return self.store.deliveries(incident_id=notice.incident_id, sequence=notice.sequence)


def _may_have_arrived(delivery: Delivery) -> bool:
    """Sent, or perhaps: its fate unknown, being sent, sent in part, or settled by a withdrawal as covered."""
    return (delivery.state in MAY_HAVE_ARRIVED or bool(delivery.parts)
            or (delivery.state == DeliveryState.SKIPPED and delivery.last_error == COVERED))


def _deferred(deliveries: list[Delivery]) -> frozenset[Place]:
    """The places these deliveries (of notices still up) all left out for a withdrawn incident's notice there."""
    left = {(d.destination, d.target) for d in deliveries if d.state == DeliveryState.SKIPPED and d.last_error == TOLD_BEFORE}
    return frozenset(left - {(d.destination, d.target) for d in deliveries if d.last_error != TOLD_BEFORE})


def _where_untold(planned: list[PlannedDelivery], told: _Told) -> list[PlannedDelivery] | None:
    """The plan, left out where an earlier notice of the breach told the readers; None if it told them everywhere
    this one would go (nothing to store)."""
    if not told.anyone:
        return planned
    kept = [replace(p, state=DeliveryState.SKIPPED, reason=TOLD_BEFORE)
            if p.state == DeliveryState.PENDING and told.there((p.destination, p.target)) else p for p in planned]
    return kept if any(p.state == DeliveryState.PENDING for p in kept) else None


def _audience_breach(config: Config, store: Store, table: AudienceConfig, month_so_far: _Month,
                     now: datetime) -> list[Update]:
    """The customer's notice (its own words: its components, its month against its contract) and the
    internal channels' one, once per audience and month."""
    if not _customer_breached(table, month_so_far, now):
        return []
    history, views, found, notices = month_so_far.history, month_so_far.views, month_so_far.found, month_so_far.notices
    audience, target, month = table.audience, table.sla or 0.0, month_so_far.name
    measured = group_month_to_date(found, audience.components, now)
    key = _customer_key(month_so_far)
    customer_told = notices.told(audience=audience.id, **key)
    mine = set(audience.components)
    culprits = [i for i, _ in history if any(o.component_id in mine for o in outages([views[i.id]], now))]
    if not culprits:
        return []
    # The customer's notice is threaded on an incident and shows its title, status and link: only on one it was
    # told of (on its channels or the page), and its figure counts only those: an outage kept from it (`--only
    # tg-ops`) would reach it as a number. Staff are told the whole figure, once.
    known = [(i, ups) for i, ups in history if _reached(store, i.id, audience.id)]
    told_of = [i for i in culprits if any(i is k for k, _ in known)]
    as_told = [_as_told(store, audience.id, i, ups) for i, ups in known]
    measured_known = group_month_to_date(outages(as_told, now), audience.components, now)
    names = ", ".join(config.component(c).name if config.component(c) else c for c in audience.components)  # type: ignore[union-attr]
    with i18n.speaking(config.page.language):
        customer = words.customer_sla_breach(audience.name, names, measured_known, target)
    told = _record(config, store, max(told_of, key=lambda i: i.created_at).id, _always(customer), now, mine,
                   told=customer_told, audience=audience.id, **key) if told_of and measured_known < target else None
    # An earlier notice of the customer's that arrived (on an incident withdrawn since) told it too.
    heard = (told is not None and _goes_to(store, told, audience.id)) or customer_told.anyone
    with i18n.speaking(config.page.language):
        staff = words.customer_sla_breach_internal(audience.name, audience.id, names, measured, target, told=heard)
    incident = max(told_of or culprits, key=lambda i: i.created_at)
    internal = _staff_note(config, store, notices, incident, staff, now, mine, heard, month=month, of=audience.id)
    return [n for n in (told, internal) if n]


# ``extra`` key of staff's note of a customer's breach: whether it said the customer was told ("yes" or "no").
CUSTOMER_TOLD = "customer_told"


def _staff_note(config: Config, store: Store, notices: _Notices, incident: Incident, text: str, now: datetime,
                components: set[str], heard: bool, **key: str) -> Update | None:
    """Staff's note of a customer's breach: once, and once more where it said the customer was not told and now it
    is (that is the news). Where one that said the customer was told arrived, it is not told again because the
    customer's notice is raised again (its first one stopped by a withdrawal)."""
    internal_key = {"notice": "audience_sla_internal", **key}
    told = notices.told(**internal_key, **({CUSTOMER_TOLD: "yes"} if heard else {}))
    if not has_private_channels(config, store) or told.everywhere:
        return None
    return _record(config, store, incident.id, _always(text), now, components, told=told,
                   **internal_key, **{CUSTOMER_TOLD: "yes" if heard else "no"})


def _as_told(store: Store, audience: str, incident: Incident, updates: list[Update]) -> PublicIncident:
    """The incident as this customer was told it: without the updates kept from it (a staff-only "major outage"
    of an incident told to it alone would otherwise reach it as a number), its header as the rest left it."""
    kept = {(incident.id, sequence) for sequence in store.kept_from(incident.id, Visibility.of(audience))}
    shown_incident, shown = without_kept(incident, updates, kept)
    return public_incident(shown_incident, [u for u in shown if u.kind not in PRIVATE_KINDS])


def _goes_to(store: Store, notice: Update, audience: str) -> bool:
    """Whether the stored ``notice`` has a delivery planned to this customer's channels."""
    return any(d.visibility == f"audience:{audience}" and d.state != DeliveryState.SKIPPED
               for d in store.deliveries(incident_id=notice.incident_id, sequence=notice.sequence))


def _reached(store: Store, incident_id: str, audience: str) -> bool:
    """Whether an update of the incident went to the public or to this customer's channels; one recorded with no
    public delivery (history, an import) is on the page, as ``site.source.on_page`` shows it."""
    deliveries = store.deliveries(incident_id=incident_id)
    if not any(d.visibility == "public" for d in deliveries):
        return True
    return any(d.state != DeliveryState.SKIPPED and d.visibility in ("public", f"audience:{audience}")
               for d in deliveries)


def _always(text: str) -> Callable[[Incident], str | None]:
    """A notice whose text does not depend on the incident as read (still due once decided under the lock)."""
    return lambda _incident: text


def record_overdue(config: Config, store: Store, now: datetime) -> list[Update]:
    """A notice for each open incident whose promised next update is late."""
    if not has_private_channels(config, store):
        return []
    raised: list[Update] = []
    with store.lock("notices"):
        for incident in store.list_incidents(limit=1000):
            due = _overdue_message(config, store, now)
            late = missed_promise(store, incident, now)
            if late is None or due(incident) is None:
                continue
            components = {c.id for c in incident.components}
            stored = _record(config, store, incident.id, due, now, components, notice="overdue", of=str(late.sequence))
            raised.extend([stored] if stored else [])
    return raised


def missed_promise(store: Store, incident: Incident, now: datetime) -> Update | None:
    """The update whose promised next update is late, if ``incident`` is overdue at ``now``.

    The one overdue rule, for ``list`` and ``tick`` alike: an open incident whose
    last update (of a kind that makes promises) promised another by a time now
    passed. Only a new update ends it: not the overdue notice itself, nor a
    correction (readers still see the promise of the update it corrects, and it
    cannot make one of its own), a reminder or a postmortem.
    """
    if not incident.is_open:
        return None
    promising = [u for u in store.updates(incident.id) if u.kind in PROMISING_KINDS]
    last = promising[-1] if promising else None
    if last is None or last.next_update_by is None or last.next_update_by > now:
        return None
    return last


def _overdue_message(config: Config, store: Store, now: datetime) -> Callable[[Incident], str | None]:
    """The overdue notice for an incident as read now, or None when nothing is late or it was raised."""

    def message(incident: Incident) -> str | None:
        last = missed_promise(store, incident, now)
        if last is None or last.next_update_by is None:
            return None
        if _raised(store.updates(incident.id), notice="overdue", of=str(last.sequence)):
            return None
        late = int((now - last.next_update_by).total_seconds() // 60)
        with i18n.speaking(config.page.language):
            return words.overdue(format_time(last.next_update_by, config.page.zone), incident.title, incident.id, late)

    return message
