"""Slack Block Kit for one update: pure functions from a view to blocks and text.

Safety first. Slack treats ``&``, ``<`` and ``>`` as control characters in
mrkdwn (``<!channel>``, ``<@U123>``, ``<http://x|label>``), so everything the
operator wrote goes through ``mrkdwn()``, which escapes exactly those three:
a message can then never ping a channel, mention a user or disguise a link.
Text objects carry ``verbatim: true`` so Slack does not guess at plain text
either (no channel linking, no mention parsing); in exchange the URLs of a
message are wrapped here as ``<url>`` links, which show the address itself.
Header blocks are ``plain_text``, which Slack never parses.

Block Kit limits are met by splitting, never by failing: a long message
becomes several sections cut at paragraph, line, sentence or word boundaries
(never inside ``&amp;`` or a ``<url>`` link), long lists become several
fields, and a message that would pass 50 blocks is cut with a pointer to the
incident page.

Two layouts: ``update_blocks`` is one update as posted (the first at top
level, later ones in its thread); ``card_blocks`` is what the first message is
edited into after each follow-up: the incident's current status at a glance.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from broadcaster.messages import graphemes, i18n
from broadcaster.messages.model import AffectedComponent, Impact, Status
from broadcaster.messages.preview import preview as plain_preview
from broadcaster.messages.preview import word
from broadcaster.messages.visibility import AudienceView, PrivateView, UpdateView
from broadcaster.messages.words import and_more, audience_heading, kind_label, named_no_detail, private_cut_note

from broadcaster import lazy_re

Block = dict[str, Any]

MAX_BLOCKS = 50  # per message; Slack answers invalid_blocks past it
MAX_SECTION_CHARS = 3000  # a section's text object
MAX_HEADER_CHARS = 150  # a header block's plain_text
MAX_FIELDS = 10  # fields in one section
MAX_FIELD_CHARS = 2000  # one field's text
MAX_CONTEXT_ELEMENTS = 10  # elements in one context block
FALLBACK_CHARS = 4000  # Slack advises keeping the top-level text under 4,000 characters
CARD_EXCERPT_CHARS = (
    600  # the status card quotes the start of the latest update; the thread has it all
)
MAX_LIST_FIELDS = (
    3  # components, customers, tickets: past 6,000 characters a list says "and N more"
)
MAX_NOTE_SECTIONS = 5  # a private note past ~15,000 characters is cut; it lives in the store anyway

ELLIPSIS = "…"
MEDIUM = "Slack"  # in the note that says a private text was cut to fit

_STATUS_EMOJI = {
    Status.RESOLVED: ":white_check_mark:",
    Status.COMPLETED: ":white_check_mark:",
    Status.SCHEDULED: ":calendar:",
    Status.IN_PROGRESS: ":wrench:",
    Status.VERIFYING: ":mag:",
}
_IMPACT_EMOJI = {
    Impact.CRITICAL: ":red_circle:",
    Impact.MAJOR: ":large_orange_circle:",
    Impact.MINOR: ":large_yellow_circle:",
    Impact.NONE: ":large_blue_circle:",
}

# A URL ends at whitespace, at a character Slack's link syntax uses (< > |), or at an
# escaped < or >; trailing punctuation belongs to the sentence, not the address. One
# written inside <...> stays text: "<http://evil|click>" must read as typed.
_URL = lazy_re.compile(r"(?<!&lt;)https?://(?:(?!&lt;|&gt;)[^\s<>|])+")
_URL_TRAILING = ".,;:!?)]}'\""
_MAX_LINK_CHARS = 1000  # longer "URLs" stay plain text so a link never needs splitting
_SENTENCE_END = lazy_re.compile(r"[.!?][)\]\"']*\s|[。！？]")


# -- Text primitives -----------------------------------------------------------


def escape(text: str) -> str:
    """``text`` with Slack's three control characters as HTML entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def linkify(escaped: str) -> str:
    """Wrap the URLs of already escaped text as ``<url>`` links (shown as the address)."""

    def wrap(found: re.Match[str]) -> str:
        url = found.group(0)
        trailing = ""
        while url and url[-1] in _URL_TRAILING:
            url, trailing = url[:-1], url[-1] + trailing
        if len(url) <= len("https://") or len(url) > _MAX_LINK_CHARS:
            return found.group(0)
        return f"<{url}>{trailing}"

    return _URL.sub(wrap, escaped)


def mrkdwn(text: str) -> str:
    """Operator text made safe for a mrkdwn text object."""
    return linkify(escape(text))


def slack_len(text: str) -> int:
    """Length in UTF-16 code units: never less than Python's, so limits hold either way."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _fit(text: str, limit: int) -> int:
    """The largest prefix length of ``text`` whose slack_len is at most ``limit``, ending on a grapheme boundary: a
    cut inside a cluster showed half an emoji sequence, or a letter without its accent ("é" cut to "e")."""
    if slack_len(text) <= limit:
        return len(text)
    used = 0
    for index, ch in enumerate(text):
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > limit:
            return graphemes.cut_before(text, index) or index
    return len(text)


def truncate(text: str, limit: int) -> str:
    """Plain text cut to ``limit`` with an ellipsis (for plain_text objects only)."""
    if slack_len(text) <= limit:
        return text
    return text[: _fit(text, limit - 1)].rstrip() + ELLIPSIS


def split_text(text: str, limit: int) -> list[str]:
    """Cut escaped mrkdwn into chunks of at most ``limit``, at the gentlest boundary found."""
    chunks: list[str] = []
    rest = text.strip()
    while slack_len(rest) > limit:
        cut = _cut_point(rest, limit)
        chunk = rest[:cut].rstrip()
        if chunk:
            chunks.append(chunk)
        rest = rest[cut:].lstrip()
    if rest:
        chunks.append(rest)
    return chunks


def _cut_point(text: str, limit: int) -> int:
    window = text[: _fit(text, limit)]
    floor = len(window) // 2  # a boundary in the first half would make a stub chunk
    for boundary in ("\n\n", "\n"):
        at = window.rfind(boundary)
        if at > floor:
            return at + len(boundary)
    sentence_ends = [m.end() for m in _SENTENCE_END.finditer(window)]
    if sentence_ends and sentence_ends[-1] > floor:
        return sentence_ends[-1]
    at = max(window.rfind(" "), window.rfind("\t"))
    if at > floor:
        return at + 1
    return _outside_markup(window)


def _outside_markup(window: str) -> int:
    """A hard cut at the window's end, moved back before an open ``&entity;`` or ``<link>``."""
    cut = len(window)
    amp = window.rfind("&", max(0, cut - 8))
    if amp != -1 and ";" not in window[amp:]:
        cut = amp
    opened = window.rfind("<", 0, cut)
    if opened > window.rfind(">", 0, cut):
        cut = opened
    return cut if cut > 0 else len(window)


def cut_with_note(escaped: str, limit: int, note: str) -> str:
    """The first chunk of ``escaped`` that leaves room for ``note`` when the text is longer."""
    if slack_len(escaped) <= limit:
        return escaped
    head = split_text(escaped, limit - slack_len(note) - 1)[0]
    return f"{head}{ELLIPSIS}{note}"


def when(moment: datetime) -> str:
    """A time that each reader's Slack shows in their own zone; UTC for older clients."""
    epoch = int(moment.timestamp())
    return f"<!date^{epoch}^{{date_short_pretty}} {{time}}|{plain_when(moment)}>"


def plain_when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def link(url: str, label: str) -> str:
    """A ``<url|label>`` link; the URL is escaped too, as Slack asks."""
    safe_url = escape(url).replace("|", "%7C")
    return f"<{safe_url}|{escape(label)}>"


# -- Block primitives ----------------------------------------------------------


def _mrkdwn_object(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def header(text: str) -> Block:
    flat = " ".join(text.split())
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": truncate(flat, MAX_HEADER_CHARS), "emoji": True},
    }


def section(text: str) -> Block:
    return {"type": "section", "text": _mrkdwn_object(text)}


def fields_sections(fields: list[str]) -> list[Block]:
    """Sections of at most MAX_FIELDS fields each."""
    return [
        {"type": "section", "fields": [_mrkdwn_object(f) for f in fields[i : i + MAX_FIELDS]]}
        for i in range(0, len(fields), MAX_FIELDS)
    ]


def context(parts: list[str]) -> Block:
    elements = [_mrkdwn_object(p) for p in parts[:MAX_CONTEXT_ELEMENTS]]
    return {"type": "context", "elements": elements}


def list_fields(label: str, items: Iterable[str], cut_note: str = "") -> list[str]:
    """A labelled list as fields under MAX_FIELD_CHARS; past MAX_LIST_FIELDS it says "and N more".

    An item longer than a field is cut with an ellipsis and ``cut_note`` (escaped mrkdwn), which says so
    where the reader has nowhere else to read the rest (a customer's detail)."""
    continued = i18n.gettext("%(label)s (cont.)") % {"label": label}
    body_limit = MAX_FIELD_CHARS - slack_len(f"*{continued}*\n")
    lines = [cut_with_note(escape(item), body_limit, cut_note) for item in items if item]
    bodies: list[list[str]] = []
    for line in lines:
        if not bodies or slack_len("\n".join([*bodies[-1], line])) > body_limit:
            bodies.append([])
        bodies[-1].append(line)
    if len(bodies) > MAX_LIST_FIELDS:
        bodies = bodies[:MAX_LIST_FIELDS]
        _end_with_count(bodies, len(lines), body_limit)
    return [
        f"*{label if i == 0 else continued}*\n" + "\n".join(b) for i, b in enumerate(bodies)
    ]


def _end_with_count(bodies: list[list[str]], total: int, body_limit: int) -> None:
    last = bodies[-1]
    while True:
        left = total - sum(len(b) for b in bodies)
        more = f"_{ELLIPSIS}{and_more(left)}_"
        if slack_len("\n".join([*last, more])) <= body_limit:
            last.append(more)
            return
        last.pop()


# -- The update ----------------------------------------------------------------


def headline(view: UpdateView) -> str:
    """``Status: title``, the first line everywhere."""
    return f"{view.status_label}: {view.incident.title}"


def status_emoji(view: UpdateView) -> str:
    if view.cancelled:
        return ":no_entry_sign:"  # not the completed window's check mark
    return _STATUS_EMOJI.get(view.status) or _IMPACT_EMOJI.get(
        view.incident.impact, ":large_blue_circle:"
    )


def component_line(component: AffectedComponent) -> str:
    return f"• {component.id}: {component.status.label}"


def facts(view: UpdateView) -> list[str]:
    """The fields every layout shows: impact, components, times."""
    fields = [_field(i18n.gettext("Impact"), view.incident.impact.label)]
    fields += list_fields(i18n.gettext("Components"), [component_line(c) for c in view.components])
    if view.etr:
        fields.append(_field(i18n.gettext("Expected resolution"), when(view.etr)))
    if view.next_update_by:
        fields.append(_field(i18n.gettext("Next update"), i18n.gettext("by %(time)s") % {"time": when(view.next_update_by)}))
    start, end = view.incident.scheduled_start, view.incident.scheduled_end
    if start and end:
        window = i18n.gettext("%(start)s to %(end)s") % {"start": when(start), "end": when(end)}
        fields.append(_field(i18n.gettext("Window"), window))
    return fields


def _field(label: str, value: str) -> str:
    """A bold label over its value (the catalogue's words are asked for outside f-strings, where Babel finds them)."""
    return f"*{label}*\n{value}"


def private_cut_mrkdwn() -> str:
    """What ends a private text (a customer's detail) cut to fit Slack, as mrkdwn: ``private_cut_note`` in
    italics. It names no page: the public page never holds that text."""
    return f" _{escape(private_cut_note(MEDIUM).strip())}_"


def kept_with_note(chunks: list[str], count: int, limit: int, note: str) -> list[str]:
    """The first ``count`` of ``chunks`` (each at most ``limit``); when some are left out, the last kept one cut
    to end with an ellipsis and ``note``: a reader who gets less than was written is told so, never cut silently."""
    if len(chunks) <= count:
        return chunks
    last = split_text(chunks[count - 1], limit - slack_len(note) - 1)[0]
    return [*chunks[: count - 1], f"{last}{ELLIPSIS}{note}"]


def audience_blocks(view: UpdateView) -> list[Block]:
    """One audience's own detail under a heading addressed to it; empty for any other view."""
    if not isinstance(view, AudienceView) or not view.detail:
        return []
    limit = MAX_SECTION_CHARS - 200  # room for the heading over the first
    chunks = kept_with_note(split_text(mrkdwn(view.detail), limit), MAX_NOTE_SECTIONS, limit, private_cut_mrkdwn())
    first = f"*{escape(audience_heading(view.audience_name))}*\n{chunks[0]}"
    return [{"type": "divider"}, *(section(c) for c in [first, *chunks[1:]])]


def private_blocks(view: UpdateView) -> list[Block]:
    """Internal detail, clearly marked; empty for a public or an audience view."""
    if not isinstance(view, PrivateView):
        return audience_blocks(view)
    note_chunks = (
        split_text(mrkdwn(view.private_note), MAX_SECTION_CHARS - 60) if view.private_note else []
    )
    fields = list_fields(word("Customers: "), view.customers) + list_fields(word("Tickets: "), view.tickets)
    for note in view.audiences:
        # The customer's name is the config's text: escaped, or "<!channel>" in it would ping the whole channel.
        fields += list_fields(escape(audience_heading(note.name).rstrip(":")), [note.detail or named_no_detail()],
                              cut_note=private_cut_mrkdwn())
    if view.author:
        fields.append(f"*{word('Author: ')}*\n{cut_with_note(escape(view.author), MAX_FIELD_CHARS - 20, '')}")
    if not note_chunks and not fields:
        return []
    heading = "*:lock: " + i18n.gettext("Private: internal only, never shown publicly") + "*"
    first = f"{heading}\n{note_chunks[0]}" if note_chunks else heading
    notes = [first, *note_chunks[1:]]
    if len(notes) > MAX_NOTE_SECTIONS:
        cut = i18n.gettext("note cut to fit Slack")
        notes = [
            *notes[: MAX_NOTE_SECTIONS - 1],
            f"{notes[MAX_NOTE_SECTIONS - 1]}{ELLIPSIS} _({cut})_",
        ]
    return [{"type": "divider"}, *(section(n) for n in notes), *fields_sections(fields)]


def footer(view: UpdateView, *, card: bool = False) -> Block:
    kind = "" if view.kind == "update" else f"{kind_label(view.kind)} · "
    numbered = i18n.gettext("Update %(num)d · ") % {"num": view.number} if view.number else ""
    posted = i18n.gettext("Updated %(time)s") if card else i18n.gettext("Posted %(time)s")
    parts = [f"{kind}{numbered}{posted % {'time': when(view.created_at)}}"]
    if card and view.sequence > 1:
        parts.append(i18n.gettext("The timeline is in the thread"))
    if view.incident.url:
        parts.append(link(view.incident.url, i18n.gettext("Incident page")))
    return context(parts)


def message_chunks(view: UpdateView) -> list[str]:
    label = "" if view.kind == "update" else f"*{escape(kind_label(view.kind))}*\n"
    return split_text(label + mrkdwn(view.message), MAX_SECTION_CHARS)


def update_blocks(view: UpdateView) -> list[Block]:
    """One update as posted: header, message sections, facts, private detail, footer."""
    head = [header(f"{status_emoji(view)} {headline(view)}")]
    tail = [*fields_sections(facts(view)), *private_blocks(view), footer(view)]
    chunks = message_chunks(view)
    room = MAX_BLOCKS - len(head) - len(tail)
    # A staff or customer's message may hold spans the public page lacks: its cut points at no page.
    public = not isinstance(view, (PrivateView, AudienceView))
    note = " _(" + i18n.gettext("message cut to fit Slack; the incident page has it in full") + ")_" if public \
        else private_cut_mrkdwn()
    chunks = kept_with_note(chunks, room, MAX_SECTION_CHARS, note)
    return [*head, *(section(c) for c in chunks), *tail]


def card_blocks(view: UpdateView) -> list[Block]:
    """What the incident's first message becomes after a follow-up: its current status."""
    excerpt = cut_with_note(
        mrkdwn(view.message), CARD_EXCERPT_CHARS, " _(" + i18n.gettext("continued in the thread") + ")_"
    )
    return [
        header(f"{status_emoji(view)} {headline(view)}"),
        section(_field(i18n.gettext("Latest update"), excerpt)),
        *fields_sections(facts(view)),
        footer(view, card=True),
    ]


def fallback_text(view: UpdateView) -> str:
    """The top-level ``text``: notifications and clients that cannot show blocks."""
    return cut_with_note(escape(f"{headline(view)}\n{view.message}"), FALLBACK_CHARS, "")


def card_text(view: UpdateView) -> str:
    return cut_with_note(
        escape(headline(view) + " (" + i18n.gettext("latest update in the thread") + ")"), FALLBACK_CHARS, ""
    )


def preview(view: UpdateView) -> str:
    """The update as a person reads it in the terminal (``broadcaster preview``): unescaped."""
    return plain_preview(view, "Slack")
