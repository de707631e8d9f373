"""The signed webhook's JSON event for one update: a pure function from a view to a dict.

The schema is versioned (``data.version``) and documented in the README
("Webhook events"). An event holds exactly the fields of the view it is cut
from: a public channel's event has no private field at all (not empty ones),
a private channel's adds ``data.update.private``.

Texts go as written: JSON carries them safely, and what a receiver does with
them is its own business (it must escape them for its own medium).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from broadcaster.messages.model import AffectedComponent
from broadcaster.messages.visibility import AudienceView, IncidentHeader, PrivateView, UpdateView

SCHEMA_VERSION = 1
UPDATED = "incident.updated"
AMENDED = "update.amended"
PING = "check.ping"


def when(moment: datetime | None) -> str | None:
    """RFC 3339 in UTC with a Z, or None."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _components(components: tuple[AffectedComponent, ...]) -> list[dict[str, str]]:
    return [{"id": c.id, "status": c.status.value} for c in components]


def _incident(header: IncidentHeader) -> dict[str, Any]:
    return {
        "id": header.id,
        "title": header.title,
        "kind": header.kind,
        "impact": header.impact.value,
        "status": header.status.value,
        "url": header.url or None,
        "created_at": when(header.created_at),
        "resolved_at": when(header.resolved_at),
        "scheduled_start": when(header.scheduled_start),
        "scheduled_end": when(header.scheduled_end),
        "components": _components(header.components),
    }


def _update(view: UpdateView) -> dict[str, Any]:
    if view.key < 1:
        raise ValueError("an update view without its readers' key (the engine gives it)")
    update: dict[str, Any] = {
        "sequence": view.key,  # counted among what its receiver was told: a gap would tell of one said elsewhere
        "number": view.number,
        "kind": view.kind,
        "status": view.status.value,
        "status_changed": view.status_changed,
        "cancelled": view.cancelled,  # a maintenance window called off: its status is "completed", as stored
        "message": view.message,
        "created_at": when(view.created_at),
        "expected_resolution": when(view.etr),
        "next_update_by": when(view.next_update_by),
        "components": _components(view.components),
    }
    if isinstance(view, PrivateView):
        update["private"] = {
            "note": view.private_note,
            "customers": list(view.customers),
            "tickets": list(view.tickets),
            "author": view.author,
            "audiences": [{"id": a.audience, "name": a.name, "detail": a.detail} for a in view.audiences],
        }
    if isinstance(view, AudienceView):  # a customer's own receiver: who it is, and its own detail
        update["audience"] = {"id": view.audience, "name": view.audience_name, "detail": view.detail}
    return update


def event(view: UpdateView) -> dict[str, Any]:
    """``{"type": "incident.updated", "timestamp", "data": {...}}`` for one update.

    ``timestamp`` is the update's own time, so every attempt sends the same body;
    the ``webhook-timestamp`` header says when the attempt was signed.
    """
    return {
        "type": UPDATED,
        "timestamp": when(view.created_at),
        "data": {
            "version": SCHEMA_VERSION,
            "visibility": view.visibility,
            "incident": _incident(view.incident),
            "update": _update(view),
        },
    }


def amended(event_body: dict[str, Any], sequence: int) -> dict[str, Any]:
    """The event of a correction, as ``update.amended`` of the update it corrects (``sequence``).

    ``data.update`` then names the corrected update; ``data.correction`` the correction's own sequence.
    """
    data = dict(event_body["data"])
    correction = data["update"]["sequence"]
    data["update"] = {**data["update"], "sequence": sequence}
    data["correction"] = {"sequence": correction}
    return {**event_body, "type": AMENDED, "data": data}


def ping(now: datetime) -> dict[str, Any]:
    """What ``channels check`` sends: a signed event with no update in it."""
    return {"type": PING, "timestamp": when(now), "data": {"version": SCHEMA_VERSION}}
