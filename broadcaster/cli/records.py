"""The ``--json`` shapes of every command, in one place: a stable contract (tests/test_golden_json.py).

Pure functions from what the operations return to plain dicts. ``show`` is the
operator's own view of an incident, so its records hold the private detail
(marked as such by their keys); this module and the store are the only
broadcaster modules that read an update's private fields.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING, Any

from broadcaster.delivery import DeliveryState
from broadcaster.errors import bounded, printable
from broadcaster.messages.visibility import (
    audience_notes,
    full_text,
    full_title,
    is_called_off,
    public_text,
    withdrawal_of,
)
from broadcaster.redaction import stored_text

if TYPE_CHECKING:
    from broadcaster.lifecycle import TickResult
    from broadcaster.messages.model import Incident, Update, Visibility
    from broadcaster.operations import PostResult, RetryResult
    from broadcaster.operations.listing import IncidentRecord, IncidentSummary
    from broadcaster.store import Delivery
    from broadcaster.subscribers import Subscription


def _scrubbed(text: str | None) -> str | None:
    """A stored text as shown: rows written before a secret was known to redaction, or before a user name
    standing alone in a URL was masked, are scrubbed here; and bounded, as the engine stores them today (a row
    written before holds a server's answer whole)."""
    return bounded(printable(stored_text(text))) if text else text


# The fields a server made, or may have written into (a post's id, a thread's, a part's, notes, errors,
# reasons quoting an answer, the ids a withdrawal deletes, why a chat left): ``printable`` as on the
# terminal, since ``--json`` goes to a terminal too and ``json.dumps`` escapes C0 controls only, not a C1
# CSI (U+009B) nor a bidirectional override (U+202E, which reorders what is shown: "failed" read "sent").
_SERVER_MADE = frozenset(
    {"remote_id", "thread_ref", "parts", "notes", "error", "reason", "deletes", "chat_id", "inactive_reason"}
)


def _printable_value(value: Any) -> Any:
    if isinstance(value, str):
        # Cut as on the terminal's lines too: a row an earlier version stored may hold a megabyte of a post's id.
        return bounded(printable(value))
    if isinstance(value, (list, tuple)):
        return [_printable_value(v) for v in value]
    return value


def _shown(entry: dict[str, Any]) -> dict[str, Any]:
    """``entry`` with each of its server-made fields (``_SERVER_MADE``) printable."""
    return {key: _printable_value(value) if key in _SERVER_MADE else value for key, value in entry.items()}


def delivery_json(delivery: Delivery) -> dict[str, Any]:
    return _shown({
        "id": delivery.id,
        "incident_id": delivery.incident_id,
        "sequence": delivery.sequence,
        "destination": delivery.destination,
        "target": delivery.target,
        "visibility": delivery.visibility,
        "state": delivery.state,
        "remote_id": delivery.remote_id,
        "thread_ref": delivery.thread_ref,
        "attempts": delivery.attempts,
        "error": _scrubbed(delivery.last_error),
        "parts": list(delivery.parts),
        "updated_at": delivery.updated_at.isoformat(),
    })


def update_json(update: Update) -> dict[str, Any]:
    """One update as the operator may see it: the public text and every private detail, keyed apart."""
    return {
        "sequence": update.sequence, "status": update.status.value, "created_at": update.created_at.isoformat(),
        "message": public_text(update.raw_message), "private_message": full_text(update.raw_message),
        "private_note": update.private_note, "customers": list(update.customers), "tickets": list(update.tickets),
        "etr": update.etr.isoformat() if update.etr else None,
        "next_update_by": update.next_update_by.isoformat() if update.next_update_by else None,
        "author": update.author,
        # Each audience the update names, with all its detail (--for and [for ID] spans).
        "audiences": [{"audience": n.audience, "detail": n.detail} for n in audience_notes(update, {})],
    }


def incident_json(record: IncidentRecord) -> dict[str, Any]:
    incident = record.incident
    return {
        "id": incident.id, "title": incident.title, "private_title": full_title(incident),
        "status": incident.status.value, "impact": incident.impact.value, "kind": incident.kind,
        "created_at": incident.created_at.isoformat(),
        "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
        **window_json(incident, is_called_off(incident, record.updates)),
        "components": [{"id": c.id, "status": c.status.value} for c in incident.components],
        "withdrawn": withdrawn_json(record),
        "updates": [update_json(u) for u in record.updates],
        "deliveries": [delivery_json(d) for d in record.deliveries],
    }


def window_json(incident: Incident, cancelled: bool) -> dict[str, Any]:
    """A maintenance window's scheduled start and end, and whether it was called off (its ``status`` is then
    "completed", as stored); absent for an incident: it has none."""
    if incident.kind != "maintenance":
        return {}
    return {"scheduled_start": incident.scheduled_start.isoformat() if incident.scheduled_start else None,
            "scheduled_end": incident.scheduled_end.isoformat() if incident.scheduled_end else None,
            "cancelled": cancelled}


def withdrawn_json(record: IncidentRecord) -> dict[str, Any] | None:
    """When, by whom and why an incident was withdrawn (``None`` if it was not)."""
    if record.incident.withdrawn_at is None:
        return None
    by, reason = withdrawal_of(record.updates)
    return {"at": record.incident.withdrawn_at.isoformat(), "by": by, "reason": reason}


def list_json(summaries: list[IncidentSummary]) -> list[dict[str, Any]]:
    return [
        {
            "id": s.incident.id, "title": s.incident.title, "status": s.incident.status.value,
            "impact": s.incident.impact.value, "kind": s.incident.kind, "open": s.incident.is_open,
            "withdrawn": s.incident.withdrawn_at is not None,
            "overdue": s.overdue, "created_at": s.incident.created_at.isoformat(),
            "resolved_at": s.incident.resolved_at.isoformat() if s.incident.resolved_at else None,
            **window_json(s.incident, s.cancelled),
        }
        for s in summaries
    ]


def post_result_json(result: PostResult, *, asked: bool = True) -> dict[str, Any]:
    """``asked``: False for a publication refused at its preview: ``dry_run`` false, ``refused`` true."""
    found: dict[str, Any] = {
        "incident_id": result.incident.id,
        "sequence": result.update.sequence,
        "status": result.update.status.value,
        "title": result.incident.title,
        "new_incident": result.new,
        "dry_run": result.dry_run and asked,
        "refused": any(p.refused for p in result.previews),
        "notices": [_shown(o.as_json()) for o in result.notices],
        "deliveries": [_shown(o.as_json()) for o in result.outcomes] if not result.dry_run else [
            _shown({
                "destination": p.destination, "target": p.target, "visibility": p.visibility,
                "state": p.state if p.state == DeliveryState.SKIPPED else DeliveryState.FAILED if p.refused else DeliveryState.PENDING,
                "remote_id": None, "error": p.refused or None, "reason": p.reason or p.posted_anew or None,
                "rendered": p.rendered.messages if p.rendered and not p.refused else None,
            })
            for p in result.previews
        ],
    }
    if result.notes:
        found["notes"] = list(result.notes)
    if result.elsewhere:  # team mode: where it was not sent, this machine's config lacking the destination
        found["not_in_this_config"] = [{"destination": name, "target": target, "visibility": readers}
                                       for name, target, readers in result.elsewhere]
    if result.update.kind == "withdrawal":  # the posts it could not act on, each with why and what to do
        found["in_doubt"] = [delivery_json(d) for d in getattr(result, "in_doubt", ())]
        if result.dry_run:
            for entry, preview in zip(found["deliveries"], result.previews, strict=True):
                entry["deletes"] = _printable_value(list(preview.deletes)) if preview.deletes is not None else None
    return found


def retry_json(
    incident_id: str | None, result: RetryResult, marked: Sequence[tuple[Delivery, str]] = (),
    deleted: Sequence[tuple[Delivery, str]] = (), not_deleted: Sequence[tuple[Delivery, str]] = (),
) -> dict[str, Any]:
    return {
        "incident_id": incident_id,
        "deliveries": [_shown(o.as_json()) for o in result.outcomes],
        "unknown": [delivery_json(d) for d in result.unknown],
        "sending": [delivery_json(d) for d in result.elsewhere],  # another command has them: not sent again here
        # Being sent by a live command of this machine (a `post` beside a cron job's retry), whose own output says how
        # they end: without this count, empty lists read as every delivery sent or skipped.
        "sending_here": result.sending_here,
        # --mark-unknown-sent: each delivery recorded as sent (or settled), and what later updates thread under
        "marked": [{**delivery_json(d), "threading": threading} for d, threading in marked],
        # --mark-deleted: each withdrawal's delete recorded done (its note says what was deleted by hand), and each
        # left as it was because a post this table can delete is still up there (``why``)
        "marked_deleted": [delivery_json(d) for d, _ in deleted],
        "not_marked_deleted": [{**delivery_json(d), "why": why} for d, why in not_deleted],
    }


def tick_json(result: TickResult) -> dict[str, Any]:
    found: dict[str, Any] = {
        "busy": result.busy,
        "actions": result.actions,
        "deliveries": [_shown(o.as_json()) for r in result.results for o in [*r.outcomes, *r.notices]],
    }
    skips = result.skips()
    if skips:  # a step's deliveries skipped as it went (its window cancelled meanwhile): how many, and why
        found["skipped"] = [{
            "action": s.label, "sent": s.sent, "of": s.of,
            "reasons": [{"reason": _scrubbed(why), "count": count} for why, count in s.reasons],
        } for s in skips]
    elsewhere = [{"incident_id": r.incident.id, "sequence": r.update.sequence, "destination": name, "target": target,
                  "visibility": readers} for r in result.results for name, target, readers in r.elsewhere]
    if elsewhere:  # team mode, as ``post_result_json``'s
        found["not_in_this_config"] = elsewhere
    return found


def subscriptions_json(subscriptions: list[Subscription], audiences: Collection[str],
                       heard: Callable[[Subscription], Visibility] | None = None,
                       maybe_named_by: Callable[[Subscription], list[str]] | None = None,
                       known_components: Collection[str] | None = None) -> list[dict[str, Any]]:
    """``subscribers list --json``: each chat, what it hears, and the id of the invite it joined with.
    ``heard_as`` is the view it is sent (``heard``): ``public`` for a chat of an audience the config no longer
    defines, a channel table's for a chat that table names. ``maybe_named_by`` (only when not empty): tables whose
    @names the service has not resolved, which may name this group and send it their view instead.
    ``unknown_components`` (only when not empty, given ``known_components``): components of the chat's choice
    the config no longer defines; such a chat is sent every update (``Subscription.choice``)."""
    from broadcaster.subscribers import heard_as

    rows = []
    for s in subscriptions:
        row = {
            "chat_id": s.chat_id, "kind": s.kind.value, "visibility": str(s.visibility),
            "heard_as": str(heard(s) if heard is not None else heard_as(s.visibility, audiences)),
            # Scrubbed and bounded as `subscribers list` prints it: a row an earlier version stored whole.
            "components": list(s.components), "active": s.active, "inactive_reason": _scrubbed(s.inactive_reason),
            "joined_at": s.joined_at.isoformat(), "invite": s.invite[:12] if s.invite else None,
        }
        if maybe := (maybe_named_by(s) if maybe_named_by is not None else []):
            row["maybe_named_by"] = maybe
        if unknown := (s.unknown_components(known_components) if known_components is not None else ()):
            row["unknown_components"] = list(unknown)
        rows.append(_shown(row))
    return rows
