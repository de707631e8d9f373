"""Rows as the store keeps them and the values the rest of broadcaster reads: the column lists
(as the export format names them), times and JSON as both backends hold them, and the
conversions between a row and an ``Incident``, ``Update`` or ``Delivery``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from broadcaster import lazy_re
from broadcaster.delivery import DeliveryState, Rendered
from broadcaster.errors import InputError, StoreError
from broadcaster.messages.model import AffectedComponent, ComponentStatus, Impact, Incident, Status, Update

# The columns as the export format names them (the delivery id is local to one store).
INCIDENT_COLUMNS = (
    "id", "title", "impact", "status", "kind", "components", "created_at", "updated_at",
    "resolved_at", "scheduled_start", "scheduled_end", "raw_title", "withdrawn_at",
)
UPDATE_COLUMNS = (
    "incident_id", "sequence", "created_at", "status", "raw_message", "components", "private_note",
    "customers", "tickets", "etr", "next_update_by", "author", "kind", "extra", "audiences", "audience_detail",
)
DELIVERY_COLUMNS = (
    "incident_id", "sequence", "destination", "target", "visibility", "state", "remote_id",
    "thread_ref", "attempts", "last_error", "claimed_by", "claimed_at", "created_at", "updated_at",
    "sent_at", "parts", "remote_origin", "rendering", "starts_thread",
)
# Who gave a sent delivery's remote id (``remote_origin``): only a post broadcaster wrote is ever deleted.
WRITTEN = "broadcaster"  # the service's answer to broadcaster's own request
BY_HAND = "operator"  # retry --mark-unknown-sent --remote-id: an id someone copied, maybe of another post
IMPORTED = "import"  # written by whichever store exported it, with whichever account that used
REMOTE_ORIGINS = (WRITTEN, BY_HAND, IMPORTED)
TIME_COLUMNS = frozenset(
    {"created_at", "updated_at", "resolved_at", "scheduled_start", "scheduled_end", "withdrawn_at", "etr",
     "next_update_by", "claimed_at", "sent_at", "expires_at", "revoked_at", "joined_at"}
)
JSON_COLUMNS = frozenset({"components", "customers", "tickets", "extra", "parts", "audiences", "audience_detail",
                          "rendering"})
# Columns of true or false: SQLite keeps 1 or 0, PostgreSQL a boolean; an export holds JSON's true or false.
BOOLEAN_COLUMNS = frozenset({"starts_thread"})
# JSON columns that may hold nothing (SQL NULL, never the JSON text "null").
NULLABLE_JSON_COLUMNS = frozenset({"rendering"})
# What an update may change in its incident; id and created_at never change.
MUTABLE_INCIDENT_COLUMNS = tuple(c for c in INCIDENT_COLUMNS if c not in ("id", "created_at", "updated_at"))

Row = Mapping[str, Any]


@dataclass(frozen=True)
class PlannedDelivery:
    """One destination (and target) an update is meant for, decided before storing."""

    destination: str
    target: str
    visibility: str
    state: DeliveryState = DeliveryState.PENDING  # or SKIPPED
    reason: str = ""
    # Skipped because the delivery of this id, nothing of which has gone out, will carry this update's text (a
    # correction whose original waits for `retry`): stored only while that is still so (``Store.record_update``).
    carried_by: int | None = None


@dataclass(frozen=True)
class Delivery:
    id: int
    incident_id: str
    sequence: int
    destination: str
    target: str
    visibility: str
    state: DeliveryState
    remote_id: str | None
    thread_ref: str | None
    attempts: int
    last_error: str | None
    claimed_by: str | None
    claimed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None
    parts: tuple[str, ...] = ()  # remote ids of the messages confirmed so far (a post sent in parts)
    remote_origin: str = WRITTEN  # who gave remote_id (and parts): see REMOTE_ORIGINS
    # A post in parts half sent: the rendering its confirmed parts were cut from, which the rest is sent from
    # (``parts`` count messages of this rendering, never of one made later). None before any part is confirmed,
    # once it is sent, and for parts recorded before schema 8.
    # Left out of ==, hash and repr: a payload is a dict, and a delivery in an error or a set stays short and hashable.
    rendering: Rendered | None = field(default=None, compare=False, repr=False)
    # Its post goes (or went) out as its thread's first, the first one gone (``Receipt.starts_thread``): kept from
    # the moment the channel decides so (schema 9), whichever way the post is recorded sent later.
    starts_thread: bool = False


def stored_visibility(visibility: str) -> str:
    """A delivery's visibility as stored: ``private`` (what stores before audiences wrote) is ``internal``."""
    return "internal" if visibility == "private" else visibility


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime reached the store")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def utc(value: str | datetime | None) -> datetime | None:
    """A stored time: ISO text from SQLite, a ``datetime`` from PostgreSQL; always UTC."""
    if not value:
        return None
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return parsed.astimezone(UTC)


def parsed_json(value: Any) -> Any:
    """A stored JSON column: text from SQLite, already parsed from PostgreSQL's jsonb."""
    if not isinstance(value, str):
        return value
    # Most of an update's lists (customers, tickets, audiences...) are empty: a full build reads
    # fifty thousand updates, six of these each.
    if value == "[]":
        return []
    if value == "{}":
        return {}
    return json.loads(value)


def components_json(components: Sequence[AffectedComponent]) -> str:
    return json.dumps([[c.id, c.status.value] for c in components])


def _components_from(value: Any) -> tuple[AffectedComponent, ...]:
    return tuple(AffectedComponent(cid, ComponentStatus(status)) for cid, status in parsed_json(value))


def incident_values(incident: Incident, updated_at: datetime) -> dict[str, Any]:
    return {
        "id": incident.id, "title": incident.title, "impact": incident.impact.value,
        "status": incident.status.value, "kind": incident.kind,
        "components": components_json(incident.components), "created_at": iso(incident.created_at),
        "updated_at": iso(updated_at), "resolved_at": iso(incident.resolved_at),
        "scheduled_start": iso(incident.scheduled_start), "scheduled_end": iso(incident.scheduled_end),
        "raw_title": incident.raw_title, "withdrawn_at": iso(incident.withdrawn_at),
    }


def update_values(update: Update) -> list[Any]:
    """An update as the parameters of an INSERT of ``UPDATE_COLUMNS``."""
    return [
        update.incident_id, update.sequence, iso(update.created_at), update.status.value,
        update.raw_message, components_json(update.components), update.private_note,
        json.dumps(list(update.customers)), json.dumps(list(update.tickets)),
        iso(update.etr), iso(update.next_update_by), update.author, update.kind,
        json.dumps(update.extra), json.dumps(list(update.audiences)),
        json.dumps([list(pair) for pair in update.audience_detail]),
    ]


def incident_from(row: Row) -> Incident:
    return Incident(
        id=row["id"],
        title=row["title"],
        impact=Impact(row["impact"]),
        status=Status(row["status"]),
        created_at=utc(row["created_at"]),  # type: ignore[arg-type]
        components=_components_from(row["components"]),
        resolved_at=utc(row["resolved_at"]),
        kind=row["kind"],
        scheduled_start=utc(row["scheduled_start"]),
        scheduled_end=utc(row["scheduled_end"]),
        raw_title=row["raw_title"],
        withdrawn_at=utc(row["withdrawn_at"]),
        version=int(row["version"]),
    )


def update_from(row: Row) -> Update:
    return Update(
        incident_id=row["incident_id"],
        sequence=row["sequence"],
        created_at=utc(row["created_at"]),  # type: ignore[arg-type]
        status=Status(row["status"]),
        raw_message=row["raw_message"],
        components=_components_from(row["components"]),
        private_note=row["private_note"],
        customers=tuple(parsed_json(row["customers"])),
        tickets=tuple(parsed_json(row["tickets"])),
        etr=utc(row["etr"]),
        next_update_by=utc(row["next_update_by"]),
        author=row["author"],
        kind=row["kind"],
        extra=parsed_json(row["extra"]),
        audiences=tuple(parsed_json(row["audiences"])),
        audience_detail=tuple((str(key), str(text)) for key, text in parsed_json(row["audience_detail"])),
    )


def delivery_from(row: Row) -> Delivery:
    values: dict[str, Any] = dict(row)
    for key in ("claimed_at", "created_at", "updated_at", "sent_at"):
        values[key] = utc(values[key])
    values["parts"] = tuple(parsed_json(values.get("parts") or "[]"))
    values["rendering"] = _rendering(values)
    values["starts_thread"] = bool(values.get("starts_thread"))
    values["state"] = _state(values)
    values["visibility"] = stored_visibility(values["visibility"])
    return Delivery(**values)


def _rendering(row: Mapping[str, Any]) -> Rendered | None:
    """The stored rendering of a post in parts half sent; a damaged one is an error naming the delivery, never
    read as none (its rest would then be cut from a rendering made now, and resumed by count)."""
    if row.get("rendering") is None:
        return None
    try:
        stored = parsed_json(row["rendering"])
        if not isinstance(stored, Mapping):
            raise ValueError("not a JSON object")
        return Rendered.from_stored(stored)
    except ValueError as exc:
        raise StoreError(
            f"delivery {row['id']} ({row['incident_id']} #{row['sequence']} to {row['destination']}) has a damaged "
            f"rendering ({exc}): the state file was changed by something other than broadcaster. Restore it from "
            "a backup."
        ) from None


def _state(row: Mapping[str, Any]) -> DeliveryState:
    try:
        return DeliveryState(row["state"])
    except ValueError:
        # Never guess: a delivery read as some other state could be sent twice or never.
        raise StoreError(
            f"delivery {row['id']} ({row['incident_id']} #{row['sequence']} to {row['destination']}) has the state "
            f"{row['state']!r}, which this broadcaster does not know: upgrade broadcaster, or ask whoever wrote it."
        ) from None


def portable(row: Row, columns: Sequence[str]) -> dict[str, Any]:
    """A stored row in the backend-neutral form of the export: ISO times, parsed JSON."""
    result = {}
    for column in columns:
        value = row[column]
        if column in TIME_COLUMNS:
            value = iso(utc(value))
        elif column in JSON_COLUMNS:
            value = parsed_json(value)
        elif column in BOOLEAN_COLUMNS:
            value = bool(value)
        result[column] = value
    return result


def storable(values: Mapping[str, Any], columns: Sequence[str]) -> list[Any]:
    """The parameters to insert a portable row into either backend (JSON as text, times normalised)."""
    result = []
    for column in columns:
        value = values[column]
        if column in JSON_COLUMNS:
            value = None if value is None and column in NULLABLE_JSON_COLUMNS else json.dumps(value)
        elif column in TIME_COLUMNS:
            value = iso(utc(value))
        elif column in BOOLEAN_COLUMNS:
            value = bool(value)
        result.append(value)
    return result


# -- choosing the backend ---------------------------------------------------------


# -- texts stored under an older grammar ------------------------------------------------

# Before audiences (schema 4) only [private] was a marker: "[For details]" or "the [for] loop" was prose. Read with
# today's grammar, such a run is an audience marker (most often one never closed) and the whole record can no longer
# be shown, built or taken on. Its "[" (and its "]") become round brackets: it reads as the prose it was, never as
# a span; a run held inside a [private] span stays inside it.
_OLD_FOR_RUN = lazy_re.compile(r"\[(\s*/?\s*for\b[^\[\]\n]{0,60})(\])?", re.IGNORECASE)
# Anything a title written before titles had a public part holds that is, or is half of, a [private] marker.
_PRIVATE_MARKERISH = lazy_re.compile(r"\[\s*/?\s*private\b|\bprivate\s*\]", re.IGNORECASE)
# The public title of an old title whose [private] markers cannot be read: nothing of it, since where its private
# part ends is not known.
WITHHELD_TITLE = "Incident"


def as_prose(text: str) -> str:
    """``text`` written before audiences, with each "[for ...]" run in round brackets: "(For details)"."""
    return _OLD_FOR_RUN.sub(lambda m: f"({m.group(1)}{')' if m.group(2) else ''}", text)


def title_split_as_today(title: str) -> tuple[str, str]:
    """A title stored as typed (schema 1, before the public title and ``raw_title``), as ``compose`` stores one
    today: ``(public title, raw_title)``; ``raw_title`` is "" when the title has no [private] span. A title whose
    markers cannot be read gets ``WITHHELD_TITLE``: any part of it might be the private one."""
    from broadcaster.messages.visibility import public_title

    title = as_prose(title)
    if not _PRIVATE_MARKERISH.search(title):
        return title, ""
    try:
        return public_title(title, "the title"), title
    except InputError:
        return WITHHELD_TITLE, ""
