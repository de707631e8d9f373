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
is cut at a word boundary with a pointer to the incident page, never refused.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from broadcaster.messages import i18n
from broadcaster.messages.model import AffectedComponent, Impact, Status
from broadcaster.messages.preview import headline, time_lines, word
from broadcaster.messages.visibility import AudienceView, PrivateView, UpdateView
from broadcaster.messages.words import and_more, audience_heading, cut_note, kind_label, named_no_detail

MAX_TITLE = 256
MAX_DESCRIPTION = 4096
MAX_FIELDS = 25
MAX_FIELD_NAME = 256
MAX_FIELD_VALUE = 1024
MAX_FOOTER = 2048
MAX_EMBED_TOTAL = 6000  # title + description + field names and values + footer, per message
MAX_THREAD_NAME = 100  # a forum post's title
MAX_LIST_ITEMS = 40  # components, customers, tickets: past this a list says "and N more"
# With every field at its longest the description keeps about 1,000 units of the 6,000.
MAX_AUTHOR = 256
ELLIPSIS = "…"
MEDIUM = "Discord"  # in the note that says a text was cut to fit

RED, ORANGE, YELLOW, BLUE, GREEN, GREY = 0xE74C3C, 0xE67E22, 0xF1C40F, 0x3498DB, 0x2ECC71, 0x95A5A6
_IMPACT_COLOUR = {Impact.CRITICAL: RED, Impact.MAJOR: ORANGE, Impact.MINOR: YELLOW, Impact.NONE: BLUE}
_STATUS_COLOUR = {Status.RESOLVED: GREEN, Status.COMPLETED: GREEN, Status.SCHEDULED: GREY}

# A URL runs to white space or an angle bracket; trailing sentence punctuation is not part of it.
_URL = re.compile(r"https?://[^\s<>]+[^\s<>.,;:!?)\]'\"]")
# Characters Discord's markdown acts on anywhere in a line (mentions, emoji and timestamps
# start with <, @everyone with @), and list markers at a line's start (- + * and "1.").
_MARKDOWN = re.compile(r"([\\*_~`|\[\]()<>#@])|^(\s*)([-+]|\d+)(?=(\.)?)", re.MULTILINE)


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


def _list_value(items: list[str]) -> str:
    """One item a line, as many as fit a field's value; the rest counted ("…and 12 more")."""
    room = MAX_FIELD_VALUE - units(f"\n{ELLIPSIS}{and_more(len(items))}")
    shown: list[str] = []
    for item in items[:MAX_LIST_ITEMS]:
        line = cut(item, 200)
        if units("\n".join([*shown, line])) > room:
            break
        shown.append(line)
    more = len(items) - len(shown)
    return "\n".join(shown) + (f"\n{ELLIPSIS}{and_more(more)}" if more else "")


def _field(name: str, value: str, inline: bool = False) -> dict[str, Any]:
    return {"name": cut(name, MAX_FIELD_NAME), "value": cut(value, MAX_FIELD_VALUE), "inline": inline}


def facts(view: UpdateView) -> list[dict[str, Any]]:
    fields = [
        _field(i18n.gettext("Status"), view.status.label, inline=True),
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


def private_fields(view: UpdateView) -> list[dict[str, Any]]:
    """Internal detail, clearly marked; a customer's own detail under its heading; empty for a public view."""
    if isinstance(view, AudienceView):
        return [_field(escape(audience_heading(view.audience_name)), cut(escape(view.detail), MAX_FIELD_VALUE, cut_note(MEDIUM)))
                ] if view.detail else []
    if not isinstance(view, PrivateView):
        return []
    fields = []
    if view.private_note:
        fields.append(_field("🔒 " + i18n.gettext("Private: internal only, never shown publicly"), escape(view.private_note)))
    if view.customers:
        fields.append(_field("🔒 " + word("Customers: "), _list_value([escape(c) for c in view.customers])))
    if view.tickets:
        fields.append(_field("🔒 " + word("Tickets: "), _list_value([escape(t) for t in view.tickets])))
    for note in view.audiences:
        fields.append(_field("🔒 " + escape(audience_heading(note.name)),
                             cut(escape(note.detail or named_no_detail()), MAX_FIELD_VALUE, cut_note(MEDIUM))))
    if view.author:
        fields.append(_field("🔒 " + word("Posted by: "), cut(escape(view.author), MAX_AUTHOR), inline=True))
    return fields


def footer_text(view: UpdateView) -> str:
    kind = "" if view.kind == "update" else f"{kind_label(view.kind)} · "
    numbered = i18n.gettext("Update %(num)d · ") % {"num": view.number} if view.number else ""
    return cut(f"{kind}{numbered}{view.incident.id}", MAX_FOOTER)


def embed(view: UpdateView) -> dict[str, Any]:
    """The one embed of an update, within every limit."""
    title = cut(escape(headline(view)), MAX_TITLE)
    fields = [*facts(view), *private_fields(view)][:MAX_FIELDS]
    footer = footer_text(view)
    used = units(title) + units(footer) + sum(units(f["name"]) + units(f["value"]) for f in fields)
    room = min(MAX_DESCRIPTION, MAX_EMBED_TOTAL - used)
    body: dict[str, Any] = {
        "title": title,
        "description": cut(escape(view.message), room, cut_note(MEDIUM)),
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
