"""What ``list`` and ``show`` read: incidents with what an operator needs to know about each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from broadcaster.compose import without_kept
from broadcaster.config import Config
from broadcaster.delivery import OPEN_STATES, DeliveryState
from broadcaster.messages.model import Audience, Incident, Update
from broadcaster.messages.visibility import Visibility, is_called_off
from broadcaster.notices import missed_promise
from broadcaster.operations.posting import find_incident
from broadcaster.operations.retrying import reap
from broadcaster.routing import reached
from broadcaster.store import Delivery, Store, utcnow


@dataclass(frozen=True)
class IncidentSummary:
    """One row of ``list``."""

    incident: Incident
    updates: int
    undelivered: int  # deliveries not sent or skipped yet (pending, sending, failed, unknown)
    overdue: bool
    cancelled: bool = False  # a maintenance window called off: stored as completed (``visibility.called_off``)


@dataclass(frozen=True)
class IncidentRecord:
    """All of ``show``: the incident, its timeline and every delivery of it."""

    incident: Incident
    updates: list[Update]
    deliveries: list[Delivery]


def list_incidents(
    store: Store, *, limit: int, now: datetime | None = None, audience: Audience | None = None
) -> list[IncidentSummary]:
    """Open incidents first, then the most recent, each with its counts and whether a promise is late.

    With ``audience``, only the incidents that customer is told about (``told``).
    """
    now = now or utcnow()
    incidents = store.list_incidents(limit=limit)
    if audience is not None:
        incidents = [i for i in incidents if told(store, audience, i)]
    return [_summary(store, incident, now) for incident in incidents]


def told(store: Store, audience: Audience, incident: Incident) -> bool:
    """Whether the customer was told of the incident: its channels were sent an update of it, or ``routing.reached``
    by the updates it was told (a customer with no channel of its own reads the page), the incident as they left
    it. Not by one kept to staff or sent to another customer alone (``Store.kept_from``, as the bot's ``/status`` and
    the engine's numbering read it), even one naming its component."""
    readers = Visibility.of(audience.id)
    if any(d.visibility == str(readers) and d.state != DeliveryState.SKIPPED
           for d in store.deliveries(incident_id=incident.id)):
        return True
    kept = {(incident.id, sequence) for sequence in store.kept_from(incident.id, readers)}
    shown_incident, shown = without_kept(incident, store.updates(incident.id), kept)
    # A withdrawal tells nothing of the incident: its page's removal (a public delivery) is no telling (review 28b).
    shown = [u for u in shown if u.kind != "withdrawal"]
    return bool(shown) and reached(audience, shown_incident, shown)


def _summary(store: Store, incident: Incident, now: datetime) -> IncidentSummary:
    updates = store.updates(incident.id)
    return IncidentSummary(
        incident,
        updates=len(updates),
        undelivered=len(store.deliveries(incident_id=incident.id, states=tuple(OPEN_STATES))),
        overdue=missed_promise(store, incident, now) is not None,
        cancelled=is_called_off(incident, updates),
    )


def incident_record(config: Config, store: Store, incident_id: str) -> IncidentRecord:
    """The incident (a typo gets suggestions) as it stands, deliveries left ``sending`` by a dead command
    shown as ``unknown``."""
    reap(config, store)
    incident = find_incident(store, incident_id)
    return IncidentRecord(incident, store.history(incident.id), store.deliveries(incident_id=incident.id))
