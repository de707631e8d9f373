"""Discord embeds for one update: pure functions from a view to a webhook message body.

Safety first. Discord reads markdown in an embed's title, description and
field texts: ``**bold**``, ``[label](url)`` masked links that show one address
and open another, ``||spoilers||``, ``# headings``, ``> quotes``, and mention
forms such as ``<@123>`` and ``@everyone``. Everything the operator wrote goes
through ``escape``: each markdown character gets a backslash (Discord drops a
backslash before any punctuation and shows the character), so a message shows
exactly what was typed. URLs are left whole, so they stay clickable, showing
their own address. The body always carries ``allowed_mentions: {"parse": []}``:
even a mention that got through would notify nobody.

Limits (Discord's "Embed Limits", counted here in UTF-16 units, never fewer
than Discord counts): title 256, description 4,096, 25 fields of 256/1,024,
footer 2,048, and 6,000 for all of an embed's texts together. A long message
is cut at a word boundary, never refused: a public one with a pointer to the incident
page, a staff or customer's one saying only that it was cut (the page lacks its private spans).
An internal embed's private fields (a note, lists, each named customer's
detail) share what the public part leaves of the 6,000 after the message's
``MIN_DESCRIPTION``: each is cut to a fair share, and customers past what fits
are left out whole and counted ("…and 3 more").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from broadcaster.messages import i18n
from broadcaster.messages.model import AffectedComponent, Impact, Status
from broadcaster.messages.preview import headline, time_lines, word
from broadcaster.messages.visibility import AudienceView, PrivateView, UpdateView
from broadcaster.messages.words import (
    and_more,
    audience_heading,
    cut_note,
    fair_share,
    kind_label,
    named_no_detail,
    private_cut_note,
)

from broadcaster import lazy_re

MAX_TITLE = 256
MAX_DESCRIPTION = 4096
MAX_FIELDS = 25
MAX_FIELD_NAME = 256
MAX_FIELD_VALUE = 1024
MAX_FOOTER = 2048
MAX_EMBED_TOTAL = 6000  # title + description + field names and values + footer, per message
MAX_THREAD_NAME = 100  # a forum post's title
MAX_LIST_ITEMS = 40  # components, customers, tickets: past this a list says "and N more"
# The public message keeps this much of the 6,000 (all of it when shorter) however much private detail
# competes for it: a note, two lists and every named customer's detail (up to 5,000 characters each).
# With the public part at its longest (title, components, times) the private fields still share about 2,700.
MIN_DESCRIPTION = 2000
MIN_DETAIL = 200  # a customer's detail cut shorter says too little: whole customers are left out instead
MAX_AUTHOR = 256
ELLIPSIS = "…"
MEDIUM = "Discord"  # in the note that says a text was cut to fit

RED, ORANGE, YELLOW, BLUE, GREEN, GREY = 0xE74C3C, 0xE67E22, 0xF1C40F, 0x3498DB, 0x2ECC71, 0x95A5A6
_IMPACT_COLOUR = {Impact.CRITICAL: RED, Impact.MAJOR: ORANGE, Impact.MINOR: YELLOW, Impact.NONE: BLUE}
_STATUS_COLOUR = {Status.RESOLVED: GREEN, Status.COMPLETED: GREEN, Status.SCHEDULED: GREY}

# A URL runs to white space or an angle bracket; trailing sentence punctuation is not part of it.
_URL = lazy_re.compile(r"https?://[^\s<>]+[^\s<>.,;:!?)\]'\"]")
# Characters Discord's markdown acts on anywhere in a line (mentions, emoji and timestamps
# start with <, @everyone with @), and list markers at a line's start (- + * and "1.").
_MARKDOWN = lazy_re.compile(r"([\\*_~`|\[\]()<>#@])|^(\s*)([-+]|\d+)(?=(\.)?)", re.MULTILINE)


def _escaped(found: re.Match[str]) -> str:
    if found.group(1):
        return "\\" + found.group(1)
    marker = found.group(3)
    if marker.isdigit():  # "1." starts a list: escape the dot (a backslash before a digit shows)
        return found.group(0) if found.group(4) is None else f"{found.group(2)}{marker}\\"
    return f"{found.group(2)}\\{marker}"


def escape(text: str) -> str:
    """Operator text that Discord shows as typed: markdown escaped, URLs kept whole."""
    out, last = [], 0
    for found in _URL.finditer(text):
        out.append(_MARKDOWN.sub(_escaped, text[last:found.start()]))
        out.append(found.group(0))
        last = found.end()
    out.append(_MARKDOWN.sub(_escaped, text[last:]))
    return "".join(out)


def units(text: str) -> int:
    """Length in UTF-16 code units: never less than Discord counts."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def cut(text: str, limit: int, note: str = "") -> str:
    """``text`` within ``limit`` units: cut at a space (not inside an escape or a URL), then ``note``."""
    if units(text) <= limit:
        return text
    room = limit - units(ELLIPSIS + note)
    used, end = 0, 0
    for index, ch in enumerate(text):
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > room:
            break
        end = index + 1
    head = text[:end]
    space = head.rfind(" ")
    if space > end // 2:
        head = head[:space]
    head = head.rstrip("\\")  # never leave a lone escape that would swallow the ellipsis
    return head.rstrip() + ELLIPSIS + note


def colour(view: UpdateView) -> int:
    return _STATUS_COLOUR.get(view.status) or _IMPACT_COLOUR.get(view.incident.impact, BLUE)


def timestamp(moment: datetime) -> str:
    """A time each reader's Discord shows in their own zone (``<t:epoch:f>``)."""
    return f"<t:{int(moment.timestamp())}:f>"




def thread_name(view: UpdateView) -> str:
    """A forum post's title: the incident's title (plain text; Discord shows it as is)."""
    return cut(" ".join(view.incident.title.split()), MAX_THREAD_NAME)


def _component(component: AffectedComponent) -> str:
    return f"{escape(component.id)}: {component.status.label}"


def _list_value(items: list[str], limit: int = MAX_FIELD_VALUE) -> str:
    """One item a line, as many as fit ``limit`` units; the rest counted ("…and 12 more")."""
    room = limit - units(f"\n{ELLIPSIS}{and_more(len(items))}")
    shown: list[str] = []
    for item in items[:MAX_LIST_ITEMS]:
        line = cut(item, 200)
        if units("\n".join([*shown, line])) > room:
            break
        shown.append(line)
    more = len(items) - len(shown)
    return "\n".join([*shown, f"{ELLIPSIS}{and_more(more)}"] if more else shown)


def _field(name: str, value: str, inline: bool = False) -> dict[str, Any]:
    return {"name": cut(name, MAX_FIELD_NAME), "value": cut(value, MAX_FIELD_VALUE), "inline": inline}


def facts(view: UpdateView) -> list[dict[str, Any]]:
    fields = [
        _field(i18n.gettext("Status"), view.status_label, inline=True),
        _field(i18n.gettext("Impact"), view.incident.impact.label, inline=True),
    ]
    if view.components:
        fields.append(_field(i18n.gettext("Components"), _list_value([_component(c) for c in view.components])))
    times = time_lines(view, timestamp)
    if times:
        fields.append(_field("⏱", "\n".join(times)))
    start, end = view.incident.scheduled_start, view.incident.scheduled_end
    if start and end:
        fields.append(_field(i18n.gettext("Window"),
                             i18n.gettext("%(start)s to %(end)s") % {"start": timestamp(start), "end": timestamp(end)}))
    return fields


@dataclass(frozen=True)
class _Private:
    """A private field before it is fitted: ``value(limit)`` is its text within ``limit`` units."""

    name: str
    value: Callable[[int], str]
    want: int  # units of the value when it may take a whole field
    inline: bool = False


def _private(name: str, value: Callable[[int], str], inline: bool = False) -> _Private:
    return _Private(cut(name, MAX_FIELD_NAME), value, units(value(MAX_FIELD_VALUE)), inline)


def _text(text: str) -> Callable[[int], str]:
    """Operator text cut to a limit, saying it was cut."""
    escaped = escape(text)
    return lambda limit: cut(escaped, limit, private_cut_note(MEDIUM))


def _listed(items: tuple[str, ...]) -> Callable[[int], str]:
    escaped = [escape(item) for item in items]
    return lambda limit: _list_value(escaped, limit)


def _private_parts(view: UpdateView) -> tuple[list[_Private], list[_Private], list[_Private]]:
    """The private fields a view holds, in order: those always shown, one per named customer, those after."""
    if isinstance(view, AudienceView):  # the reader's own detail: never left out
        return [_private(escape(audience_heading(view.audience_name)), _text(view.detail))] if view.detail else [], [], []
    if not isinstance(view, PrivateView):
        return [], [], []
    first = []
    if view.private_note:
        first.append(_private("🔒 " + i18n.gettext("Private: internal only, never shown publicly"), _text(view.private_note)))
    if view.customers:
        first.append(_private("🔒 " + word("Customers: "), _listed(view.customers)))
    if view.tickets:
        first.append(_private("🔒 " + word("Tickets: "), _listed(view.tickets)))
    customers = [_private("🔒 " + escape(audience_heading(note.name)), _text(note.detail or named_no_detail()))
                 for note in view.audiences]
    author = escape(view.author)
    last = [_private("🔒 " + word("Posted by: "), lambda limit: cut(author, min(limit, MAX_AUTHOR)), inline=True)]
    return first, customers, last if view.author else []


def _arranged(parts: tuple[list[_Private], list[_Private], list[_Private]], shown: int) -> list[_Private]:
    """The fields with only the first ``shown`` customers, the others counted in a field of their own."""
    first, customers, last = parts
    left_out = len(customers) - shown
    more = [_private("🔒 " + ELLIPSIS + and_more(left_out), lambda _: private_cut_note(MEDIUM).strip())] if left_out else []
    return [*first, *customers[:shown], *more, *last]


def _cap(fields: list[_Private], room: int) -> int:
    """The most units any one value may take for all of ``fields`` to fit ``room``."""
    return min(fair_share([f.want for f in fields], room - sum(units(f.name) for f in fields)), MAX_FIELD_VALUE)


def private_fields(view: UpdateView, room: int = MAX_EMBED_TOTAL, slots: int = MAX_FIELDS) -> list[dict[str, Any]]:
    """Internal detail, clearly marked, within ``room`` units and ``slots`` fields; empty for a public view.

    A customer's own channel gets its detail; an internal one every customer's. Each value is cut
    to a fair share of ``room``; when that share would be under MIN_DETAIL (or the fields too many),
    the last customers are left out whole, and counted, until it is not.
    """
    parts = _private_parts(view)

    def fits(fields: list[_Private]) -> bool:
        return len(fields) <= slots and _cap(fields, room) >= MIN_DETAIL

    shown = next((n for n in range(len(parts[1]), 0, -1) if fits(_arranged(parts, n))), 0)
    fields = _arranged(parts, shown)
    cap = _cap(fields, room)
    return [_field(f.name, f.value(cap), f.inline) for f in fields]


def _size(fields: list[dict[str, Any]]) -> int:
    return sum(units(f["name"]) + units(f["value"]) for f in fields)


def footer_text(view: UpdateView) -> str:
    kind = "" if view.kind == "update" else f"{kind_label(view.kind)} · "
    numbered = i18n.gettext("Update %(num)d · ") % {"num": view.number} if view.number else ""
    return cut(f"{kind}{numbered}{view.incident.id}", MAX_FOOTER)


def _message_cut_note(view: UpdateView) -> str:
    """What ends the message cut to fit: a staff or customer's message may hold spans the incident page never
    shows, so its cut points at no page (as ``rich._message`` does for Matrix and email)."""
    return private_cut_note(MEDIUM) if isinstance(view, (PrivateView, AudienceView)) else cut_note(MEDIUM)


def embed(view: UpdateView) -> dict[str, Any]:
    """The one embed of an update, within every limit."""
    title, footer, public = cut(escape(headline(view)), MAX_TITLE), footer_text(view), facts(view)
    description = escape(view.message)
    used = units(title) + units(footer) + _size(public)
    private = private_fields(view, MAX_EMBED_TOTAL - used - min(units(description), MIN_DESCRIPTION),
                             MAX_FIELDS - len(public))
    fields = [*public, *private]
    room = min(MAX_DESCRIPTION, MAX_EMBED_TOTAL - used - _size(private))
    body: dict[str, Any] = {
        "title": title,
        "description": cut(description, room, _message_cut_note(view)),
        "color": colour(view),
        "fields": fields,
        "footer": {"text": footer},
        "timestamp": view.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    }
    if view.incident.url:
        body["url"] = view.incident.url
    return body


def message(view: UpdateView) -> dict[str, Any]:
    """The webhook body: one embed, no mentions parsed, ever."""
    return {"embeds": [embed(view)], "allowed_mentions": {"parse": []}}
