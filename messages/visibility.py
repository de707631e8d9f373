"""The visibility rules: the one module that reads an update's private fields.

Formatters never see an ``Update``. They get a view cut here:

* ``PublicView`` has no private field at all: not blank fields, absent ones, so a
  formatter for a public destination cannot print what it cannot reach.
* ``AudienceView`` (one customer's channels): the public fields, that one
  audience's name and its detail, and no field that could hold another
  audience's detail or internal detail: its ``message`` is cut from the text with
  only that audience's ``[for ID]`` spans kept.
* ``InternalView`` (``PrivateView``, its older name) has everything: internal
  notes, tickets, the full title, and every audience's detail labelled by audience.

Internal detail is ``--private`` text, ``--ticket`` refs, inline
``[private]...[/private]`` spans, and the free-text customers of old records.
Audience detail is ``--for ID TEXT`` and inline ``[for ID]...[/for]`` spans. Markers
fail closed: a marker that is unclosed, stray, nested or malformed is an input
error, so a typo can never publish what was meant to stay private.
"""

from __future__ import annotations

import re
import shlex
import unicodedata
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from dataclasses import fields as dataclass_fields
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, ClassVar, Protocol

from broadcaster.messages import gate
from broadcaster.messages.egress import OwnNames
from broadcaster.messages.model import (
    INTERNAL,
    PUBLIC,
    AffectedComponent,
    Audience,
    Impact,
    Incident,
    Level,
    Status,
    Update,
    Visibility,
)
from broadcaster.messages.words import CANCELLED, audience_heading, status_label

from broadcaster import lazy_re
from broadcaster.errors import InputError

__all__ = ["INTERNAL", "PUBLIC", "Visibility"]  # re-exported: the views' readers name them from here

# Update kinds meant for private channels only (overdue reminders, SLA breaches):
# they never get a public view and never appear on the page or in the feeds.
PRIVATE_KINDS = frozenset({"notice"})


@dataclass(frozen=True)
class Segment:
    text: str
    private: bool  # true for internal and audience spans alike: not public
    audience: str = ""  # the id of a ``[for ID]`` span


def split_private(message: str, field: str = "the message") -> tuple[Segment, ...]:
    """Split a stored text into public, internal and audience segments; InputError if a marker is malformed.

    The markers are parsed by the input gate (``messages.gate.parse_scoped``); texts
    were checked for marker lookalikes when they were admitted (``gate.admit``).
    """
    return tuple(Segment(text, private, audience) for text, private, audience in gate.parse_scoped(message, field))


def audience_text(message: str, audience: str, field: str = "the message") -> str:
    """The message as one audience reads it: public text and that audience's ``[for ID]`` spans only."""
    return _kept_text(split_private(message, field), lambda s: not s.private or s.audience == audience)


def public_text(message: str, field: str = "the message") -> str:
    """The message with every private span removed and the gaps tidied."""
    return _kept_text(split_private(message, field), lambda s: not s.private)


def full_text(message: str, field: str = "the message") -> str:
    """The message with private spans kept and the markers removed."""
    return _kept_text(split_private(message, field), lambda s: True)


def _kept_text(segments: Sequence[Segment], keep: Callable[[Segment], bool]) -> str:
    """The ``keep`` segments joined, tidied only where a marker or a span was taken out (``_joined_at_cut``),
    and stripped at both ends, as every stored text is (``compose``).

    Everything else stays as typed: a postmortem's code blocks, nested lists and hard line breaks are
    the operator's, and every reader must get them as written.
    """
    text, between, dropped = "", "", False
    for segment in segments:
        if not keep(segment):
            dropped = True
            continue
        piece = _LINE_BREAKS.sub("\n", segment.text)
        if not piece.strip():
            between += piece  # only spaces between two cuts: part of the gap, tidied with it
            continue
        text = _joined_at_cut(text, between + piece, dropped) if text.strip() else text + between + piece
        between, dropped = "", False
    return text.strip()


# Every line break ``str.splitlines`` knows, as "\n": U+2028 and U+2029 break a line in a chat or mail client.
_LINE_BREAKS = lazy_re.compile("\r\n|[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
# Sentence punctuation right after a cut: "Errors [private]for ACME[/private]." must read "Errors.", while
# ":tada:" and " :" in prose stay as typed.
_PUNCTUATION_NEXT = lazy_re.compile(r"[.,;!?](?=\s|$)")


def _joined_at_cut(left: str, right: str, dropped: bool) -> str:
    """``left`` and ``right`` joined where a marker (and, if ``dropped``, a span) was taken out between them.

    Only the whitespace around the cut is tidied: the line breaks of the side with more (at most one blank line),
    the indentation of the line that follows kept; or one space, none before sentence punctuation. Two words the cut would join are kept
    apart by a space ("Errors[private]x[/private]now" reads "Errors now").
    """
    before, after = left.rstrip(), right.lstrip()
    gap_left, gap_right = left[len(before) :], right[: len(right) - len(after)]
    gap = gap_left + gap_right
    if "\n" in gap:
        indent_from = gap_right if "\n" in gap_right else gap_left
        # The larger side's line breaks, not their sum: a line that was a span alone leaves no blank line behind.
        breaks = max(gap_left.count("\n"), gap_right.count("\n"))
        joint = "\n" * min(breaks, 2) + indent_from[indent_from.rfind("\n") + 1 :]
    elif gap:
        joint = "" if _PUNCTUATION_NEXT.match(after) else " "
    else:
        joint = " " if dropped and _spaced_word_edge(before[-1]) and _spaced_word_edge(after[0]) else ""
    return before + joint + after


def _spaced_word_edge(char: str) -> bool:
    """A letter or digit of a script that spaces its words: Chinese and Japanese run theirs together."""
    return char.isalnum() and unicodedata.east_asian_width(char) not in ("W", "F")


def public_title(raw_title: str, field: str = "--title") -> str:
    """The title anyone may read: private spans removed; refused when nothing public is left."""
    title = _one_line(public_text(raw_title, field))
    if not title:
        raise InputError(
            f"{field} has no public text: everything is inside [private]...[/private]. "
            "Give the incident a title the public may read; nothing was stored or sent."
        )
    return title


def _one_line(text: str) -> str:
    """A title's text on one line, its spacing squeezed and no space before sentence punctuation, as titles
    always were (the id is made from it)."""
    return re.sub(r" +([.,;!?])(?=\s|$)", r"\1", " ".join(text.split()))


def full_title(incident: Incident) -> str:
    """The title with its private spans (markers removed), for private channels and the operator."""
    return full_text(incident.raw_title, "the title") if incident.raw_title else incident.title


def written_alike(one: Update | Incident, other: Update | Incident) -> bool:
    """Whether two updates' texts (or two incidents' titles) were written alike, private spans included, letter
    case and spacing aside: a post that repeats one just made (``operations.repeats``)."""
    def words(item: Update | Incident) -> str:
        text = full_title(item) if isinstance(item, Incident) else item.raw_message
        return " ".join(text.split()).casefold()

    return words(one) == words(other)


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

    visibility: ClassVar[str] = "public"  # which view this is: public, audience or internal
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
    corrections: int = field(default=0, kw_only=True)  # how often it was corrected (corrected_at: the last)
    # The number readers know it by (see reader_number); ``sequence`` stays the store's key.
    number: int = field(default=0, kw_only=True)
    # A window called off before it began: stored as completed, told as cancelled (``called_off``).
    cancelled: bool = field(default=False, kw_only=True)
    # Its key on a page and in a feed ("update-3", "postmortem-1"), given by ``_timeline``: counted among what
    # those readers are shown, never the store's sequence, whose gaps would tell of notices and of updates
    # kept to staff or to another customer.
    anchor: str = field(default="", kw_only=True)
    # Its key for a receiver that links updates by it (a webhook's ``data.update.sequence``), and for a correction
    # the key of the update it corrects: counted among what its readers were told (``reader_key``), never the
    # store's sequence for public or customers' readers. 0 until the engine cuts it for a destination.
    key: int = field(default=0, kw_only=True)
    corrects_key: int | None = field(default=None, kw_only=True)

    @property
    def status_label(self) -> str:
        """The status in words as readers are told it: "Cancelled", not "Completed", for a window called off."""
        return status_label(CANCELLED) if self.cancelled else self.status.label

    @property
    def is_first(self) -> bool:
        return self.sequence == 1


@dataclass(frozen=True)
class AudienceView(PublicView):
    """One update as one audience's channels show it: ``message`` holds the public text and that
    audience's ``[for ID]`` spans; ``detail`` its ``--for`` text. No other private field exists here."""

    visibility: ClassVar[str] = "audience"
    audience: str  # the id, as in [audiences.ID]
    audience_name: str
    detail: str


@dataclass(frozen=True)
class AudienceNote:
    """One audience's part of an update, for the internal view: its name and all its detail."""

    audience: str
    name: str
    detail: str


@dataclass(frozen=True)
class InternalView(PublicView):
    """One update with everything: ``message`` includes every private and audience span."""

    visibility: ClassVar[str] = "internal"
    public_message: str
    private_note: str
    customers: tuple[str, ...]  # free-text customers of records stored before audiences
    tickets: tuple[str, ...]
    author: str
    audiences: tuple[AudienceNote, ...] = field(default=(), kw_only=True)


PrivateView = InternalView  # the name formatters and tests knew it by
UpdateView = PublicView | AudienceView | InternalView


@dataclass(frozen=True)
class PublicIncident:
    """An incident with its whole public timeline, oldest update first."""

    header: IncidentHeader
    updates: tuple[PublicView, ...]

    @property
    def latest(self) -> PublicView | None:
        return self.updates[-1] if self.updates else None


def _public_title(incident: Incident) -> str:
    """The stored public title; refused if it holds a marker, which readers would get with its span as written
    (a title stored whole before titles had a public part, an edited export): the record is left out, loudly."""
    where = f"the stored title of incident {incident.id}"
    if any(private for _, private in gate.parse(incident.title, where)):
        raise InputError(f"{where} holds a private span, which every reader of it would get as written. Correct "
                         "the record (it was stored before titles had a public part, or edited by hand).")
    return incident.title


def header_of(incident: Incident, url: str = "", *, private: bool = False) -> IncidentHeader:
    """What anyone may know about an incident; ``private`` gives the full title (for private channels)."""
    return IncidentHeader(
        id=incident.id,
        title=full_title(incident) if private else _public_title(incident),
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
    number: int | None = None, anchor: str = "",
) -> PublicView:
    """Cut the public view of one update: private spans dropped, private fields absent.

    ``number`` is the one readers see (``reader_number``); without it, the sequence. ``anchor``: its key on a
    page (``_timeline`` gives it).
    """
    if update.kind in PRIVATE_KINDS:
        raise ValueError(f"a {update.kind} update has no public view")
    return _public_part(incident, update, url, previous_status, number, anchor)


def _public_part(
    incident: Incident, update: Update, url: str, previous_status: Status | None, number: int | None = None,
    anchor: str = "",
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
        anchor=anchor,
    )


# The step that closed a maintenance window, in its update's ``extra``: ``broadcaster maintenance cancel`` writes
# CALLED_OFF, any other update that completes a window COMPLETED_STEP. Both are stored as status "completed".
WINDOW_STEP, CALLED_OFF, COMPLETED_STEP = "window", "cancelled", "completed"


def called_off(incident: Incident, updates: Sequence[Update], sequence: int) -> bool:
    """Whether the maintenance window stands cancelled as of update ``sequence``: the update that completed it
    (the first of the completed ones since it was last open) was a cancel. A note posted on the cancelled window
    afterwards, and a correction of the cancel, are told as cancelled too; a window completed early is not.

    A record stored before the steps were marked: completed straight from scheduled, before its start."""
    if incident.kind != "maintenance":
        return False
    steps = sorted((u for u in updates if u.sequence <= sequence and _in_timeline(u)), key=lambda u: u.sequence)
    if not steps or steps[-1].status != Status.COMPLETED:
        return False
    closing, before = steps[-1], None
    for step in reversed(steps[:-1]):
        if step.status != Status.COMPLETED:
            before = step
            break
        closing = step
    if WINDOW_STEP in closing.extra:
        return closing.extra[WINDOW_STEP] == CALLED_OFF
    return (before is not None and before.status == Status.SCHEDULED and incident.scheduled_start is not None
            and _aware(closing.created_at) < _aware(incident.scheduled_start))


def is_called_off(incident: Incident, updates: Sequence[Update]) -> bool:
    """Whether a maintenance window stands cancelled now (``called_off`` as of its last update)."""
    return bool(updates) and called_off(incident, updates, max(u.sequence for u in updates))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)  # an imported naive time is UTC


def private_view(
    incident: Incident, update: Update, *, url: str = "", previous_status: Status | None = None,
    number: int | None = None, audiences: Mapping[str, Audience] | None = None,
) -> InternalView:
    """Cut the full view of one update, for internal channels only."""
    public = _public_part(incident, update, url, previous_status, number)
    fields = {f.name: getattr(public, f.name) for f in dataclass_fields(public)}
    return InternalView(
        **{**fields, "message": full_text(update.raw_message), "incident": header_of(incident, url, private=True)},
        public_message=public.message,
        private_note=update.private_note,
        customers=update.customers,
        tickets=update.tickets,
        author=update.author,
        audiences=audience_notes(update, audiences or {}),
    )


internal_view = private_view


def audience_view(
    audience: Audience, incident: Incident, update: Update, *, url: str = "",
    previous_status: Status | None = None, number: int | None = None, anchor: str = "",
) -> AudienceView:
    """Cut the view one audience's channels receive: public fields plus this audience's own detail.

    A notice has an audience view only when it is addressed to this audience (an SLA
    notice written for that customer); any other notice is internal.
    """
    if update.kind in PRIVATE_KINDS and update.extra.get("audience") != audience.id:
        raise ValueError(f"a {update.kind} update not addressed to {audience.id} has no view for it")
    public = _public_part(incident, update, url, previous_status, number, anchor)
    fields = {f.name: getattr(public, f.name) for f in dataclass_fields(public)}
    return AudienceView(
        **{**fields, "message": audience_text(update.raw_message, audience.id)},
        audience=audience.id,
        audience_name=audience.name,
        detail=_detail_for(update, audience.id),
    )


def with_spans_apart(view: UpdateView, update: Update) -> UpdateView:
    """``view`` of ``update`` with the spans of its text that the view's readers may read set apart: a customer's
    ``[for ID]`` spans added to its ``detail``, the ``[private]`` spans to staff's ``private_note``; a public view
    as it is.

    For an announcement that stands in for the text (a postmortem is a link to its page): the page shows the
    public text only, so what was written for these readers reaches them here, under the heading formatters give
    a customer's detail or staff's note. What each view may hold is its own cut: nothing is added a view's
    readers may not read.
    """
    if isinstance(view, InternalView):
        spans = _span_texts(update, lambda s: s.private and not s.audience)
        return replace(view, private_note=_joined(view.private_note, *spans)) if spans else view
    if isinstance(view, AudienceView):
        spans = _span_texts(update, lambda s: s.audience == view.audience)
        return replace(view, detail=_joined(view.detail, *spans)) if spans else view
    return view


def texts_read_by(incident: Incident, update: Update, readers: Visibility) -> list[tuple[str, str]]:
    """What ``readers`` (the public or one audience; staff read everything) read of ``update`` as written: the
    incident's public title, the message as they read it, and for an audience its ``--for`` detail; each with the
    name the operator knows the field by."""
    return written_texts_read_by(incident.title, update.raw_message, update.kind, update.audience_detail, readers)


def written_texts_read_by(title: str, raw_message: str, kind: str, audience_detail: Sequence[Sequence[str]],
                          readers: Visibility) -> list[tuple[str, str]]:
    """``texts_read_by`` of an update's fields (an imported record's, before it is an ``Update``)."""
    what = "the postmortem" if kind == "postmortem" else "the message"
    if readers.level == Level.PUBLIC:
        return [("the title", title), (what, public_text(raw_message, what))]
    audience = readers.audience
    return [("the title", title),
            (f"{what} as {audience} reads it", audience_text(raw_message, audience, what)),
            *((f"--for {key}", text) for key, text in audience_detail if key == audience)]


def _span_texts(update: Update, which: Callable[[Segment], bool]) -> list[str]:
    return [s.text.strip() for s in split_private(update.raw_message) if which(s) and s.text.strip()]


def _joined(*parts: str) -> str:
    return "\n\n".join(part for part in parts if part)


def _detail_for(update: Update, audience: str) -> str:
    return "\n\n".join(text.strip() for key, text in update.audience_detail if key == audience and text.strip())


def _parsed_or_public(text: str) -> Visibility:
    try:
        return Visibility.parse(text)
    except ValueError:
        return PUBLIC


def named_audiences(update: Update) -> tuple[str, ...]:
    """Every audience an update names: ``--customer``, ``--for`` and ``[for ID]`` spans, each once."""
    inline = gate.audience_ids(update.raw_message, "the message")
    return tuple(dict.fromkeys([*update.audiences, *(key for key, _ in update.audience_detail), *inline]))


def audience_notes(update: Update, audiences: Mapping[str, Audience]) -> tuple[AudienceNote, ...]:
    """Each audience the update names with all its detail (``--for`` and its spans), labelled by name."""
    notes = []
    for key in named_audiences(update):
        spans = [s.text.strip() for s in split_private(update.raw_message) if s.audience == key and s.text.strip()]
        detail = "\n\n".join(part for part in (_detail_for(update, key), *spans) if part)
        name = audiences[key].name if key in audiences else key
        notes.append(AudienceNote(key, name, detail))
    return tuple(notes)


def view_for(
    visibility: Visibility | str,
    incident: Incident,
    update: Update,
    *,
    url: str = "",
    previous_status: Status | None = None,
    number: int | None = None,
    audiences: Mapping[str, Audience] | None = None,
) -> UpdateView:
    """The view a destination of this visibility may receive; a text that is no visibility gets the public one.

    An audience the ``audiences`` do not hold is a ValueError: a destination is never
    handed more than its readers may see because its audience went missing.
    """
    scope = visibility if isinstance(visibility, Visibility) else _parsed_or_public(visibility)
    cut = {"url": url, "previous_status": previous_status, "number": number}
    if scope.level == Level.INTERNAL:
        return private_view(incident, update, audiences=audiences, **cut)  # type: ignore[arg-type]
    if scope.level == Level.AUDIENCE:
        known = audiences or {}
        if scope.audience not in known:
            raise ValueError(f"no audience {scope.audience!r} is configured")
        return audience_view(known[scope.audience], incident, update, **cut)  # type: ignore[arg-type]
    return public_view(incident, update, **cut)  # type: ignore[arg-type]


def public_incident(
    incident: Incident, updates: list[Update], *, url: str = ""
) -> PublicIncident:
    """An incident's public timeline, for the page, the feeds and the JSON.

    Private-only notices are left out. A correction replaces the text of the
    update it corrects (marked ``corrected_at``) instead of appearing itself.
    """
    return _timeline(incident, updates, url, lambda update, **cut: public_view(incident, update, url=url, **cut))


def audience_incident(
    audience: Audience, incident: Incident, updates: list[Update], *, url: str = ""
) -> PublicIncident:
    """An incident's timeline as one audience's private page and feeds show it: each update's
    audience view, its ``--for`` detail under a heading addressed to that customer.

    The page and feed builders render ``message``; the detail is folded into it here, so
    the builders need not know audiences exist. Notices stay out, as on the public page.
    """
    def cut(update: Update, **kw: Status | int | str | None) -> PublicView:
        view = audience_view(audience, incident, update, url=url, **kw)  # type: ignore[arg-type]
        heading = audience_heading(markdown_as_text(audience.name))
        text = f"{view.message}\n\n**{heading}** {view.detail}" if view.detail else view.message
        return replace(view, message=text)

    # A correction's text with its detail too: it carries the detail of the update it corrects.
    return _timeline(incident, updates, url, cut, text=lambda u: cut(u).message)


# Every ASCII punctuation character: CommonMark lets a backslash make any of them a literal character.
_MARKDOWN_PUNCTUATION = lazy_re.compile(r"([!-/:-@\[-`{-~])")


def markdown_as_text(text: str) -> str:
    """``text`` (a config text, such as an audience's name) as markdown that shows it as typed: each ASCII
    punctuation character backslash-escaped and its line breaks folded, so it adds no link, emphasis or block."""
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", " ".join(text.split()))


def _timeline(
    incident: Incident, updates: list[Update], url: str, cut: Callable[..., PublicView],
    text: Callable[[Update], str] | None = None,
) -> PublicIncident:
    views: dict[int, PublicView] = {}
    previous: Status | None = None
    ordered = sorted(updates, key=lambda u: u.sequence)
    unnumbered: Counter[str] = Counter()  # postmortems, counted apart: they have no number
    for update in ordered:
        if update.kind in PRIVATE_KINDS:
            continue
        corrects = corrected_sequence(update)
        if corrects is not None:
            message = text(update) if text else public_text(update.raw_message)
            # One that changes nothing these readers read (a customer's detail, on the public page or another
            # customer's) is not theirs to see: no "Corrected", which would tell them something private changed.
            if corrects in views and message != views[corrects].message:
                views[corrects] = replace(views[corrects], message=message, corrected_at=update.created_at,
                                          corrections=views[corrects].corrections + 1)
            continue
        number = reader_number(ordered, update.sequence)
        if number:
            anchor = f"update-{number}"
        else:
            unnumbered[update.kind] += 1
            anchor = f"{update.kind}-{unnumbered[update.kind]}"
        view = cut(update, previous_status=previous, number=number, anchor=anchor)
        # replace() only where it changes something: this runs for every update of every page of a full build.
        views[update.sequence] = replace(view, cancelled=True) if called_off(incident, ordered, update.sequence) else view
        previous = update.status
    return PublicIncident(header=header_of(incident, url), updates=tuple(views.values()))


# A letter of operator text, outside a link's scheme (kept, so a link stays a link).
_LETTER = lazy_re.compile(r"(https?://|mailto:)|[^\W\d_]", re.IGNORECASE)


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


def reader_key(updates: Sequence[Update], sequence: int, readers: Visibility) -> int:
    """An update's key as ``readers`` know it: its place among the incident's ``updates`` they were told (the engine
    leaves out what was kept from them), notices counted only where addressed to them. Staff keep the store's
    sequence. The store counts everything, and a public or customer's receiver that got 1, then 3, would learn that
    something was said elsewhere."""
    if readers.level == Level.INTERNAL:
        return sequence

    def told(update: Update) -> bool:
        if update.kind not in PRIVATE_KINDS:
            return True
        return readers.level == Level.AUDIENCE and update.extra.get("audience") == readers.audience

    return sum(1 for u in updates if u.sequence <= sequence and told(u))


def _in_timeline(update: Update) -> bool:
    return update.kind not in PRIVATE_KINDS and update.kind not in ("correction", "postmortem", "withdrawal")


def shown_postmortem(updates: Sequence[Update]) -> tuple[Update, str] | None:
    """The postmortem the page shows now, and its text as the operator wrote it (its latest correction's)."""
    published = [u for u in updates if u.kind == "postmortem"]
    if not published:
        return None
    latest = published[-1]
    corrections = [u for u in updates if corrected_sequence(u) == latest.sequence]
    return latest, (corrections[-1] if corrections else latest).raw_message


def version_before(updates: Sequence[Update], update: Update) -> Update | None:
    """The version of the same text its readers had before ``update`` (a correction, or a postmortem's new version):
    the update it corrects or its latest earlier correction among ``updates``; the latest earlier postmortem or
    correction of one. None: the text is new to them."""
    corrected = corrected_sequence(update)
    if corrected is not None:
        same_text = {corrected}
    else:
        same_text = {u.sequence for u in updates if u.kind == "postmortem"} if update.kind == "postmortem" else set()
    earlier = [u for u in updates if u.sequence < update.sequence
               and (u.sequence in same_text or corrected_sequence(u) in same_text)]
    return max(earlier, key=lambda u: u.sequence, default=None)


def corrected_sequence(update: Update) -> int | None:
    """The sequence number a correction replaces, or None for any other update."""
    if update.kind != "correction":
        return None
    value = update.extra.get("corrects", "")
    text = str(value)
    return int(text) if text.isascii() and text.isdigit() else None  # int() refuses a "²"


# Shorter private values ("EU", "db") occur in ordinary prose too often for a
# payload check to mean anything; the views keep them out by construction.
MIN_GUARDED_LENGTH = 4


def private_values(update: Update, incident: Incident | None = None) -> frozenset[str]:
    """Every private value of one update, for the egress guard: what no public payload may hold.

    Each private and audience span of the message, the ``--private`` text, each
    ``--for`` text, each old free-text customer and each ticket, and with
    ``incident`` each private span of its title, of ``MIN_GUARDED_LENGTH``
    characters or more once stripped. Audience names come from the config:
    ``forbidden_values`` adds them.
    """
    return internal_values(update, incident) | frozenset(v for _, v in _audience_values(update))


def internal_values(update: Update, incident: Incident | None = None) -> frozenset[str]:
    """The values only internal channels may hold: ``[private]`` spans, notes, tickets, old customers."""
    spans = [s.text for s in split_private(update.raw_message) if s.private and not s.audience]
    candidates = [*spans, _guarded_note(update, incident), *update.customers, *update.tickets]
    values = _guarded(candidates)
    return values | title_private_values(incident) if incident is not None else values


def _guarded_note(update: Update, incident: Incident | None) -> str:
    """The private note; but not a withdrawal's reason that the incident's public title holds ("test" for a
    "Test incident"): what the withdrawal tells the public names only that title, which everyone has read,
    and taking back a post must not be refused for it."""
    note = update.private_note
    if update.kind == "withdrawal" and incident is not None and gate.comparable(" ".join(note.split())) in gate.comparable(
        incident.title
    ):
        return ""
    return note


def _guarded(candidates: Sequence[str]) -> frozenset[str]:
    return frozenset(v.strip() for v in candidates if len(v.strip()) >= MIN_GUARDED_LENGTH)


def _audience_values(update: Update) -> list[tuple[str, str]]:
    """(audience id, value) for each ``--for`` text and ``[for ID]`` span of the update."""
    spans = [(s.audience, s.text) for s in split_private(update.raw_message) if s.audience]
    return [(key, value.strip()) for key, value in [*update.audience_detail, *spans]
            if len(value.strip()) >= MIN_GUARDED_LENGTH]


def forbidden_values(
    update: Update, incident: Incident | None, visibility: Visibility, audiences: Mapping[str, Audience],
    *, read_beside: Collection[str] = (),
) -> frozenset[str]:
    """What a payload for ``visibility`` must not hold, for the egress guard.

    Public: every internal value, every audience's detail and every configured
    audience's name and id (``audience_names``). One audience: the internal values, and every OTHER audience's
    name, id and detail (a text it shares with this audience excepted: it may read it;
    so is one it reads in ``read_beside``, its own values of the other updates a
    payload shows, such as a customer's page: ``own_values``). Internal: nothing.

    Both also every configured secret that ``audiences`` carries (``CarriesSecrets``: the config's
    ``Config.audiences`` does), but a customer's own feed token for that customer: its page links to its own
    feeds. A secret pasted into an update's text is refused as it is admitted (``compose``); this is the second line.
    """
    if visibility.level == Level.INTERNAL:
        return frozenset()
    per_audience = [*_audience_values(update), *((a.id, name) for a in audiences.values() for name in audience_names(a))]
    others = _guarded([value for key, value in per_audience if key != visibility.audience])
    own = {value for key, value in per_audience if key == visibility.audience}
    return internal_values(update, incident) | (others - own - set(read_beside)) | _secrets_kept_from(visibility, audiences)


# An id shorter than this is a typing shorthand as often as a name, and as often a word of ordinary prose
# ("post" for Swiss Post, "mail", "bank", "core"): guarded, it would refuse "[postgres]" and "POST /v1/orders".
# The customer's name is guarded whatever its id.
MIN_GUARDED_ID = 5


def audience_names(audience: Audience) -> tuple[str, ...]:
    """What names a customer: its name, and its id where that says more than the name and more than a
    short code ("globex" for "Globex Corporation"; not "eu", "4711", "post", nor "globex" for "GLOBEX"). Operators
    write the id in every ``--for``, ``--customer`` and ``[for ID]``: of all spellings, the one likeliest to slip
    into a public text. The id's ``-``/``_`` words are the egress guard's words form ("globex-eu" in "Globex EU")."""
    name, key = audience.name.strip(), audience.id.strip()
    id_names = (not audience.id_is_a_word and len(key) >= MIN_GUARDED_ID and any(c.isalpha() for c in key)
                and gate.comparable(key) != gate.comparable(name))
    return (name, key) if id_names else (name,)


# A word as the egress guard reads one: a run of letters and digits (its words form, ``egress._words``).
_WORD = lazy_re.compile(r"[^\W_]+")


@lru_cache(maxsize=8192)
def _as_words(text: str) -> frozenset[tuple[str, ...]]:
    """``text``'s words as the egress guard compares them: folded (``gate.comparable``), punctuation aside, with
    its accents and without. Cached: a site build asks for every customer's name on each customer's page."""
    return frozenset(tuple(_WORD.findall(gate.comparable(t))) for t in (text, gate.without_accents(text)))


# Words that join, point or relate in the page languages (English, German, Swedish), accents off: never a name's
# own word. A short name must not begin or end with one (``_short_names``): "Globex and" of "Globex and Partners
# GmbH" would mask another customer "Globex" in "made by Globex and Initech", "The Globex" in "the Globex team".
_FUNCTION_WORDS = frozenset("""
    a an and as at be but by for from in into is it its nor not of off on onto or our per than that the their
    this to via was were with your
    als am an auf aus bei das dem den der des die durch ein eine einem einen einer eines es fur fuer gegen ihr
    ihre im ist mit nach oder ohne sowie um und unser unsere unter vom von zu zum zur
    av de den det efter eller en er era ert ett fran for har hos i med och om pa som till var vid ar
    aka bzw except excl excluding exkl exklusive incl including inkl inklusive jamte nebst plus resp respektive samt
    versus vs without
""".split())
# A word this short at a short name's edge is a fragment ("A" and "S" of "A/S", the "s" of "Globex's") or an
# article ("a week"), as often as a name's own word.
_MIN_EDGE_WORD = 3


def _name_word(word: str) -> bool:
    """Whether ``word`` (one of ``_WORD``'s) can stand at a short name's edge: three letters or more, and no
    function word (``_FUNCTION_WORDS``), accents aside ("för", "für")."""
    plain = gate.comparable(gate.without_accents(word))
    return len(plain) >= _MIN_EDGE_WORD and plain not in _FUNCTION_WORDS


def _core(words: tuple[str, ...]) -> tuple[str, ...]:
    """``words`` without the words at either end that are no name's own (``_name_word``)."""
    start, end = 0, len(words)
    while start < end and not _name_word(words[start]):
        start += 1
    while end > start and not _name_word(words[end - 1]):
        end -= 1
    return words[start:end]


def _short_names(audience: Audience, audiences: Mapping[str, Audience]) -> tuple[str, ...]:
    """The leading words of ``audience``'s name, two or more, short of the whole: how its own detail names it, as
    the name writes them ("Globex & Partners" of "Globex & Partners GmbH") and as words alone ("Globex Partners").
    Words as the guard reads them: "Globex &" is the one word "globex", which may be another customer's name or id.
    Each begins and ends with a name's own word (``_name_word``): "Globex and", "Globex's", "Globex A" (of
    "Globex A/S") and "The Globex" are another customer "Globex" beside a word of prose, never a short name.
    None that is another customer's name or id as words, accents aside, whole or without the words at its ends
    that are no name's own (``_core``: "The Acme Corp" is "Acme Corp"): "Acme Corp", a customer of its own ("Acme
    Corp." or acme-corp too), stays that customer wherever acme-eu ("Acme Corp EU") reads it."""
    name = audience.name.strip()
    words = list(_WORD.finditer(name))
    values = [_as_words(value) for a in audiences.values() if a.id != audience.id for value in (a.name, a.id)]
    others = frozenset().union(*values) | {_core(w) for forms in values for w in forms}
    shorts: list[str] = []
    for n in range(2, len(words)):
        if not (_name_word(words[0].group()) and _name_word(words[n - 1].group())):
            continue
        prefix = name[:words[n - 1].end()]
        if _as_words(prefix) & others:
            continue
        shorts += dict.fromkeys((prefix, " ".join(w.group() for w in words[:n])))
    return tuple(shorts)


class CarriesSecrets(Protocol):
    """The audiences as the config gives them (``Config.audiences``), with its secrets: value -> the id of
    the audience whose feed token it is ("" for any other secret)."""

    secrets: Mapping[str, str]


# Shorter secrets (a database password "postgres") may be part of ordinary words ("PostgreSQL"), which a
# payload check, matching anywhere, would refuse; the input check (``compose``) refuses them as whole words.
# Every token and key is longer; a feed token has 20 characters at least. (``redaction.WHOLE_WORD_BELOW``.)
MIN_GUARDED_SECRET = 12


def _secrets_kept_from(visibility: Visibility, audiences: Mapping[str, Audience]) -> frozenset[str]:
    """The configured secrets ``audiences`` carries that ``visibility``'s readers may not hold: all of them, but a
    customer's own feed token for that customer. None where ``audiences`` carries none (a caller without a config)."""
    # What isinstance(audiences, CarriesSecrets) asks, without typing's runtime protocol check: about 10 µs on
    # each update of a site build, 3-4% of a full one.
    secrets: Mapping[str, str] | None = getattr(audiences, "secrets", None)
    if secrets is None:
        return frozenset()
    return frozenset(value.strip() for value, owner in secrets.items()
                     if len(value.strip()) >= MIN_GUARDED_SECRET and not (owner and owner == visibility.audience))


def public_texts_besides(incident: Incident, updates: Sequence[Update], sequence: int) -> str:
    """The public title and every other update's public text, one a line: what the incident's page shows
    besides update ``sequence``."""
    return "\n".join([incident.title, *(public_text(u.raw_message) for u in updates if u.sequence != sequence)])


def own_values(update: Update, visibility: Visibility) -> frozenset[str]:
    """One audience's own detail in ``update`` (its ``--for`` texts and spans): what it may read wherever it is."""
    if not visibility.audience:
        return frozenset()
    return frozenset(value for key, value in _audience_values(update) if key == visibility.audience)


def private_detail_of_correction(
    original: Update, private_note: str, replacing: Mapping[str, str]
) -> dict[str, Any]:
    """The private fields of a correction of ``original`` (keyword arguments of ``Update``).

    A correction replaces the text readers were shown, edited in place where the medium can: what
    only the text's readers saw beside it stays, or the edit would silently take it away. The
    tickets and customers; the private note, unless a new one is given; each customer's detail,
    unless ``replacing`` gives that customer's anew ("" takes it out).
    """
    return {
        "private_note": private_note or original.private_note,
        "customers": original.customers,
        "tickets": original.tickets,
        "audiences": original.audiences,
        "audience_detail": (*((k, t) for k, t in original.audience_detail if k not in replacing),
                            *((k, t) for k, t in replacing.items() if t)),
    }


def as_last_corrected(update: Update, updates: Sequence[Update], left_out: Collection[int] = ()) -> Update:
    """``update`` with the text and private detail of its latest correction in ``updates``: what a post of it that
    has not gone out yet sends (``retry`` after ``amend``), never the text the operator already corrected.
    ``left_out``: corrections the operator kept from the readers asked for (``amend --only ops``), not theirs."""
    corrections = [u for u in updates if corrected_sequence(u) == update.sequence and u.sequence != update.sequence
                   and u.sequence not in left_out]
    if not corrections:
        return update
    latest = max(corrections, key=lambda u: u.sequence)
    return replace(update, raw_message=latest.raw_message, private_note=latest.private_note,
                   customers=latest.customers, tickets=latest.tickets, audiences=latest.audiences,
                   audience_detail=latest.audience_detail)


def started_as_told(incident: Incident, told: Sequence[Update]) -> Incident:
    """``incident`` starting when its first update ``told`` (of those readers) was written: one first kept to
    staff and widened later would otherwise tell the public how long it was known before they heard of it."""
    first = min((u.created_at for u in told if u.kind == "update"), default=None)
    return replace(incident, created_at=first) if first is not None and first > incident.created_at else incident


def reads_the_same(visibility: Visibility, shown: Update, correction: Update) -> bool:
    """Whether the readers of ``visibility`` would read ``correction`` exactly as ``shown`` (the text they have): one
    that changes only what others read (a customer's detail, the staff note) is not theirs to hear of, and telling
    them "Corrected" would tell them something private changed. Staff read everything: the same for them only when
    every field a correction carries is (an amend of the update's own words sent them "Correction" of nothing)."""
    if visibility.level == Level.INTERNAL:
        return _same_for_staff(shown, correction)
    if visibility.level == Level.AUDIENCE and visibility.audience:
        key = visibility.audience
        return (audience_text(shown.raw_message, key) == audience_text(correction.raw_message, key)
                and _detail_for(shown, key) == _detail_for(correction, key))
    return public_text(shown.raw_message) == public_text(correction.raw_message)


def _same_for_staff(shown: Update, correction: Update) -> bool:
    """The text to the character, the private note, tickets, customers and each customer's detail (in any order:
    a correction lists the kept ones first)."""
    return (shown.raw_message == correction.raw_message and shown.private_note == correction.private_note
            and shown.tickets == correction.tickets and shown.customers == correction.customers
            and shown.audiences == correction.audiences
            and sorted(shown.audience_detail) == sorted(correction.audience_detail))


def identical_text(one: Update, other: Update) -> bool:
    """Whether two updates' texts are the same to the character as the operator wrote them, every span included
    (``written_alike`` leaves letter case and spacing aside)."""
    return one.raw_message == other.raw_message


def readers_own_name(visibility: Visibility, audiences: Mapping[str, Audience]) -> tuple[str, ...]:
    """The name an audience's renderings address it by ("For Acme Corp EU:"), its id where that names it too
    (``audience_names``), its id as the text writes it ("globex eu", guarded or not: "Globex-EU" is named like its
    id) and its short names (``_short_names``): the egress guard's mask (``PrivateValues.mask``), so another
    customer's name or id inside them ("globex" in "Your Globex Europe circuit", for globex-eu) is not taken for
    that customer there. Anywhere else in the text it still is. Its full name comes first (``OwnNames``): a mask
    even for another customer's name or id spelt like it, which every rendering addressed to it prints."""
    audience = audiences.get(visibility.audience) if visibility.audience else None
    if audience is None:
        return ()
    id_words = " ".join(_WORD.findall(audience.id))  # "globex eu": the id as the text writes it
    spelt = (id_words,) if id_words != audience.id else ()
    return OwnNames((*audience_names(audience), *spelt, *_short_names(audience, audiences)))


def author_of(view: PublicView) -> str:
    """Who wrote the update, for staff only: "" in a public view."""
    return view.author if isinstance(view, PrivateView) else ""


def withdrawal_of(updates: Sequence[Update]) -> tuple[str, str]:
    """(who, why) of an incident's withdrawal, for the operator's own views; ("", "") if none."""
    found = next((u for u in reversed(updates) if u.kind == "withdrawal"), None)
    return (found.author, found.private_note) if found else ("", "")


def repeated_options(update: Update, readers: Collection[str]) -> list[str]:
    """The command-line options that repeat what ``update`` carries besides its text, for advice to post it again
    where ``readers`` were left out (team mode's "Not sent to ..."): each private text as "..." (the advice is
    printed; review 28h: followed without the note or a customer's detail, the customer never had it, and the next
    machine named staff's channel again). A customer only where the readers named are theirs, or staff, who read
    every customer's: the machine the advice sends the operator to may not know another (review 28i)."""
    staff = str(INTERNAL) in readers
    detailed = [key for key, _ in update.audience_detail]
    named = {key for key in {*update.audiences, *detailed} if staff or str(Visibility.of(key)) in readers}
    words = [f"-C {shlex.quote(f'{c.id}={c.status.value}')}" for c in update.components]
    words += [f'--for {shlex.quote(key)} "..."' for key in detailed if key in named]
    words += [f"--customer {shlex.quote(key)}" for key in update.audiences if key in named and key not in detailed]
    words += ['-p "..."'] if update.private_note else []
    words += ['--ticket "..."' for _ in update.tickets]
    words += [f"--etr {update.etr.isoformat()}"] if update.etr else []
    words += [f"--next-update {update.next_update_by.isoformat()}"] if update.next_update_by else []
    return words

