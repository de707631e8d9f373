"""The visibility rules: the one module that reads an update's private fields.

Formatters never see an ``Update``. They get a view cut here:

* ``PublicView`` has no private field at all: not blank fields, absent ones, so a
  formatter for a public destination cannot print what it cannot reach.
* ``PrivateView`` extends it with the private detail, for private channels.

Private detail is ``--private`` text, ``--customer`` names, ``--ticket`` refs and
inline ``[private]...[/private]`` spans of the message. Markers fail closed: a
marker that is unclosed, stray, nested or malformed is an input error, so a
typo can never publish what was meant to stay private.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from dataclasses import fields as dataclass_fields
from datetime import datetime
from typing import ClassVar, Literal

from broadcaster.messages import gate
from broadcaster.messages.model import AffectedComponent, Impact, Incident, Status, Update

from broadcaster.errors import InputError

Visibility = Literal["public", "private"]

# Update kinds meant for private channels only (overdue reminders, SLA breaches):
# they never get a public view and never appear on the page or in the feeds.
PRIVATE_KINDS = frozenset({"notice"})


@dataclass(frozen=True)
class Segment:
    text: str
    private: bool


def split_private(message: str, field: str = "the message") -> tuple[Segment, ...]:
    """Split a stored text into public and private segments; raise InputError if a marker is malformed.

    The markers are parsed by the input gate (``messages.gate.parse``); texts
    were checked for marker lookalikes when they were admitted (``gate.admit``).
    """
    return tuple(Segment(text, private) for text, private in gate.parse(message, field))


def public_text(message: str, field: str = "the message") -> str:
    """The message with every private span removed and the gaps tidied."""
    kept = "".join(s.text for s in split_private(message, field) if not s.private)
    return _tidy(kept)


def full_text(message: str, field: str = "the message") -> str:
    """The message with private spans kept and the markers removed."""
    return _tidy("".join(s.text for s in split_private(message, field)))


def _tidy(text: str) -> str:
    lines = [re.sub(r"[ \t]{2,}", " ", line).strip() for line in text.splitlines()]
    joined = "\n".join(lines)
    joined = re.sub(r"\n{3,}", "\n\n", joined)
    # "Errors [private]for ACME[/private]." leaves "Errors ."; close that gap only
    # before sentence punctuation, so ":tada:" and " :" in prose survive.
    return re.sub(r" +([.,;!?])(?=\s|$)", r"\1", joined).strip()


def public_title(raw_title: str, field: str = "--title") -> str:
    """The title anyone may read: private spans removed; refused when nothing public is left."""
    title = _tidy(" ".join(public_text(raw_title, field).split()))
    if not title:
        raise InputError(
            f"{field} has no public text: everything is inside [private]...[/private]. "
            "Give the incident a title the public may read; nothing was stored or sent."
        )
    return title


def full_title(incident: Incident) -> str:
    """The title with its private spans (markers removed), for private channels and the operator."""
    return full_text(incident.raw_title, "the title") if incident.raw_title else incident.title


def title_private_values(incident: Incident) -> frozenset[str]:
    """The private spans of an incident's title, for the egress guard (as ``private_values``)."""
    if not incident.raw_title:
        return frozenset()
    spans = [s.text.strip() for s in split_private(incident.raw_title, "the title") if s.private]
    return frozenset(v for v in spans if len(v) >= MIN_GUARDED_LENGTH)


def validate_message(message: str) -> None:
    """Raise InputError unless the message is well formed and has public text."""
    if not message.strip():
        raise InputError("The message is empty. Say what customers should know; nothing was sent.")
    if not public_text(message):
        raise InputError(
            "The message has no public text: everything is inside [private]...[/private]. "
            "Add a sentence the public may read, or use --private for private-only detail."
        )


@dataclass(frozen=True)
class IncidentHeader:
    """What anyone may know about an incident."""

    id: str
    title: str
    impact: Impact
    status: Status
    kind: str
    created_at: datetime
    resolved_at: datetime | None
    components: tuple[AffectedComponent, ...]
    url: str
    scheduled_start: datetime | None = None
    scheduled_end: datetime | None = None


@dataclass(frozen=True)
class PublicView:
    """One update as a public destination may show it. It holds no private field."""

    visibility: ClassVar[Visibility] = "public"
    incident: IncidentHeader
    sequence: int
    created_at: datetime
    status: Status
    message: str
    components: tuple[AffectedComponent, ...]
    etr: datetime | None
    next_update_by: datetime | None
    kind: str
    status_changed: bool
    corrected_at: datetime | None = field(default=None, kw_only=True)
    # The number readers know it by (see reader_number); ``sequence`` stays the store's key.
    number: int = field(default=0, kw_only=True)

    @property
    def is_first(self) -> bool:
        return self.sequence == 1


@dataclass(frozen=True)
class PrivateView(PublicView):
    """One update with everything: ``message`` includes the private spans."""

    visibility: ClassVar[Visibility] = "private"
    public_message: str
    private_note: str
    customers: tuple[str, ...]
    tickets: tuple[str, ...]
    author: str


UpdateView = PublicView | PrivateView


@dataclass(frozen=True)
class PublicIncident:
    """An incident with its whole public timeline, oldest update first."""

    header: IncidentHeader
    updates: tuple[PublicView, ...]

    @property
    def latest(self) -> PublicView | None:
        return self.updates[-1] if self.updates else None


def header_of(incident: Incident, url: str = "", *, private: bool = False) -> IncidentHeader:
    """What anyone may know about an incident; ``private`` gives the full title (for private channels)."""
    return IncidentHeader(
        id=incident.id,
        title=full_title(incident) if private else incident.title,
        impact=incident.impact,
        status=incident.status,
        kind=incident.kind,
        created_at=incident.created_at,
        resolved_at=incident.resolved_at,
        components=incident.components,
        url=url,
        scheduled_start=incident.scheduled_start,
        scheduled_end=incident.scheduled_end,
    )


def public_view(
    incident: Incident, update: Update, *, url: str = "", previous_status: Status | None = None,
    number: int | None = None,
) -> PublicView:
    """Cut the public view of one update: private spans dropped, private fields absent.

    ``number`` is the one readers see (``reader_number``); without it, the sequence.
    """
    if update.kind in PRIVATE_KINDS:
        raise ValueError(f"a {update.kind} update has no public view")
    return _public_part(incident, update, url, previous_status, number)


def _public_part(
    incident: Incident, update: Update, url: str, previous_status: Status | None, number: int | None = None
) -> PublicView:
    return PublicView(
        incident=header_of(incident, url),
        sequence=update.sequence,
        created_at=update.created_at,
        status=update.status,
        message=public_text(update.raw_message),
        components=update.components,
        etr=update.etr,
        next_update_by=update.next_update_by,
        kind=update.kind,
        status_changed=previous_status is not None and previous_status != update.status,
        number=update.sequence if number is None else number,
    )


def private_view(
    incident: Incident, update: Update, *, url: str = "", previous_status: Status | None = None,
    number: int | None = None,
) -> PrivateView:
    """Cut the full view of one update, for private channels only."""
    public = _public_part(incident, update, url, previous_status, number)
    fields = {f.name: getattr(public, f.name) for f in dataclass_fields(public)}
    return PrivateView(
        **{**fields, "message": full_text(update.raw_message), "incident": header_of(incident, url, private=True)},
        public_message=public.message,
        private_note=update.private_note,
        customers=update.customers,
        tickets=update.tickets,
        author=update.author,
    )


def view_for(
    visibility: Visibility,
    incident: Incident,
    update: Update,
    *,
    url: str = "",
    previous_status: Status | None = None,
    number: int | None = None,
) -> UpdateView:
    """The view a destination of this visibility may receive; anything but "private" is public."""
    if visibility == "private":
        return private_view(incident, update, url=url, previous_status=previous_status, number=number)
    return public_view(incident, update, url=url, previous_status=previous_status, number=number)


def public_incident(
    incident: Incident, updates: list[Update], *, url: str = ""
) -> PublicIncident:
    """An incident's public timeline, for the page, the feeds and the JSON.

    Private-only notices are left out. A correction replaces the text of the
    update it corrects (marked ``corrected_at``) instead of appearing itself.
    """
    views: dict[int, PublicView] = {}
    previous: Status | None = None
    ordered = sorted(updates, key=lambda u: u.sequence)
    for update in ordered:
        if update.kind in PRIVATE_KINDS:
            continue
        corrects = corrected_sequence(update)
        if corrects is not None:
            if corrects in views:
                views[corrects] = replace(
                    views[corrects], message=public_text(update.raw_message), corrected_at=update.created_at
                )
            continue
        number = reader_number(ordered, update.sequence)
        views[update.sequence] = public_view(incident, update, url=url, previous_status=previous, number=number)
        previous = update.status
    return PublicIncident(header=header_of(incident, url), updates=tuple(views.values()))


# A letter of operator text, outside a link's scheme (kept, so a link stays a link).
_LETTER = re.compile(r"(https?://|mailto:)|[^\W\d_]", re.IGNORECASE)


def _shape(text: str) -> str:
    """``text`` with each letter an ``x``: the same length, words, digits, punctuation and links."""
    return _LETTER.sub(lambda m: m.group(1) or "x", text)


def _shaped_header(header: IncidentHeader) -> IncidentHeader:
    shaped_id = _shape(header.id)
    start, found, end = header.url.rpartition(header.id)  # the page's own link, after the base URL
    url = start + shaped_id + end if found and header.id else header.url
    return replace(header, id=shaped_id, title=_shape(header.title), url=url)


def without_text(view: PublicView) -> PublicView:
    """What a formatter shows of its own for ``view``: the same update with every text an
    operator wrote (the title, the id made from it, the message) shaped into ``x``s.

    For the egress guard's templates. Always a ``PublicView`` built from the public
    fields alone, whatever view it is handed, so it holds nothing private.
    """
    public = {f.name: getattr(view, f.name) for f in dataclass_fields(PublicView)}
    return replace(
        PublicView(**public), incident=_shaped_header(view.incident), message=_shape(view.message)
    )


def incident_without_text(incident: PublicIncident) -> PublicIncident:
    """``without_text`` for an incident's whole public timeline."""
    return PublicIncident(_shaped_header(incident.header), tuple(without_text(u) for u in incident.updates))


def reader_number(updates: Sequence[Update], sequence: int) -> int:
    """The number readers know an update by: its place among the incident's timeline updates.

    Private notices, corrections and postmortems are not counted, so a notice
    leaves no gap in what readers see (Update 4, then Update 5). A correction
    carries the number of the update it corrects; a postmortem or a notice has
    none (0). The store's ``sequence`` stays the key of the update everywhere else.
    """
    by_sequence = {u.sequence: u for u in updates}
    update = by_sequence.get(sequence)
    if update is None:
        return 0
    corrects = corrected_sequence(update)
    if corrects is not None:
        return reader_number(updates, corrects) if corrects != sequence else 0
    if not _in_timeline(update):
        return 0
    return sum(1 for u in updates if u.sequence <= sequence and _in_timeline(u))


def _in_timeline(update: Update) -> bool:
    return update.kind not in PRIVATE_KINDS and update.kind not in ("correction", "postmortem", "withdrawal")


def corrected_sequence(update: Update) -> int | None:
    """The sequence number a correction replaces, or None for any other update."""
    if update.kind != "correction":
        return None
    value = update.extra.get("corrects", "")
    return int(value) if str(value).isdigit() else None


# Shorter private values ("EU", "db") occur in ordinary prose too often for a
# payload check to mean anything; the views keep them out by construction.
MIN_GUARDED_LENGTH = 4


def private_values(update: Update, incident: Incident | None = None) -> frozenset[str]:
    """Every private value of one update, for the egress guard: what no public payload may hold.

    Each private span of the message, the ``--private`` text, each customer and
    each ticket, and with ``incident`` each private span of its title, of
    ``MIN_GUARDED_LENGTH`` characters or more once stripped.
    """
    spans = [s.text for s in split_private(update.raw_message) if s.private]
    candidates = [*spans, update.private_note, *update.customers, *update.tickets]
    values = frozenset(v.strip() for v in candidates if len(v.strip()) >= MIN_GUARDED_LENGTH)
    return values | title_private_values(incident) if incident is not None else values


def author_of(view: PublicView) -> str:
    """Who wrote the update, for staff only: "" in a public view."""
    return view.author if isinstance(view, PrivateView) else ""


def withdrawal_of(updates: Sequence[Update]) -> tuple[str, str]:
    """(who, why) of an incident's withdrawal, for the operator's own views; ("", "") if none."""
    found = next((u for u in reversed(updates) if u.kind == "withdrawal"), None)
    return (found.author, found.private_note) if found else ("", "")
