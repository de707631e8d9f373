"""A Microsoft Teams Adaptive Card (1.4) for one update: pure functions from a view to the webhook body.

Safety first. A card's ``TextBlock`` and ``FactSet`` read a subset of markdown
(``**bold**``, ``[label](url)`` links that show one thing and open another,
lists). Nothing the operator wrote goes into one: operator text is put in
``RichTextBlock`` ``TextRun`` elements, which Teams shows as plain text, never
parsed. Our own words (labels, status, impact, times) use TextBlock and
FactSet. No ``msteams.entities`` are sent, so an ``<at>`` in a message is text,
never a mention.

The envelope is what a Workflows trigger ("When a Teams webhook request is
received" / "Post to a channel when a webhook request is received") expects:
``{"type": "message", "attachments": [{"contentType":
"application/vnd.microsoft.card.adaptive", "content": <card>}]}``.

Teams takes messages up to about 28 KB; a card is kept under ``MAX_CARD_BYTES``
by cutting the message, a private note and each customer's detail at a word,
never by failing; only a public message's cut points at the incident page (it
lacks what staff and customers are told). The message keeps at
least half the room; the private texts share the rest fairly, and customers
past what fits are left out whole and counted ("…and 3 more").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from broadcaster.messages import i18n
from broadcaster.messages.model import Impact, Status
from broadcaster.messages.preview import headline, plain_when, time_lines, word
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

# Not 1.5, though the issue named it and Teams' docs list it: a 1.5 card posted by a Workflows flow
# shows "We're sorry, this card couldn't be displayed" (microsoft/AdaptiveCards#8965, open;
# MicrosoftDocs/msteams-docs#9801, reproduced by Microsoft), while 1.4 shows. Every element used
# here (TextBlock, RichTextBlock/TextRun, FactSet, Action.OpenUrl) is 1.2 or older.
CARD_VERSION = "1.4"
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
MAX_CARD_BYTES = 24_000  # Teams refuses messages past about 28 KB; the envelope and headroom take the rest
MAX_ITEM_CHARS = 200  # one component, customer or ticket
MAX_LIST_BYTES = 3000  # one list: with every list full, the message keeps room of its own
MAX_HEADLINE_CHARS = 300
MIN_DETAIL_BYTES = 300  # a customer's detail cut shorter says too little: whole customers are left out instead
ELLIPSIS = "…"
MEDIUM = "Teams"  # in the note that says a text was cut to fit

_IMPACT_COLOUR = {Impact.CRITICAL: "Attention", Impact.MAJOR: "Attention", Impact.MINOR: "Warning", Impact.NONE: "Accent"}
_STATUS_COLOUR = {Status.RESOLVED: "Good", Status.COMPLETED: "Good"}

Element = dict[str, Any]


@dataclass(frozen=True)
class _Texts:
    """The operator's long texts as one card shows them, each possibly cut."""

    message: str
    note: str
    details: tuple[str, ...]  # the first customers' detail (see _customers), one each
    left_out: int = 0  # the customers after those, counted


def plain(text: str, **style: Any) -> Element:
    """Operator text: a RichTextBlock of one TextRun, which Teams never reads as markdown."""
    return {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": text, **style}]}


def _label(text: str) -> Element:
    return {"type": "TextBlock", "text": text, "weight": "Bolder", "wrap": True, "spacing": "Medium"}


def _heading(text: str) -> Element:
    """A label naming something from the config (an audience's name): bold, and never read as markdown."""
    return {**plain(text, weight="Bolder"), "spacing": "Medium"}


def _facts(view: UpdateView) -> list[Element]:
    facts = [(i18n.gettext("Status"), view.status_label), (i18n.gettext("Impact"), view.incident.impact.label)]
    start, end = view.incident.scheduled_start, view.incident.scheduled_end
    if start and end:
        facts.append((i18n.gettext("Window"),
                      i18n.gettext("%(start)s to %(end)s") % {"start": plain_when(start), "end": plain_when(end)}))
    found: list[Element] = [{"type": "FactSet", "facts": [{"title": t, "value": v} for t, v in facts]}]
    times = time_lines(view, plain_when)
    if times:
        found.append({"type": "TextBlock", "text": "\n\n".join(times), "wrap": True})
    return found


def _listed(label: str, items: list[str]) -> list[Element]:
    """A label and one item a line, as many as fit MAX_LIST_BYTES; the rest counted ("…and 12 more")."""
    shown: list[str] = []
    for item in items:
        line = item if len(item) <= MAX_ITEM_CHARS else item[:MAX_ITEM_CHARS] + ELLIPSIS
        if len("\n".join([*shown, line]).encode()) > MAX_LIST_BYTES:
            break
        shown.append(line)
    more = len(items) - len(shown)
    return [_label(label), plain("\n".join(shown) + (f"\n{ELLIPSIS}{and_more(more)}" if more else ""))]


def _customers(view: UpdateView) -> list[tuple[str, str]]:
    """Each customer's name and detail a card shows: every one named internally, its own on a customer's channel."""
    if isinstance(view, AudienceView):
        return [(view.audience_name, view.detail)] if view.detail else []
    if isinstance(view, PrivateView):
        return [(audience.name, audience.detail or named_no_detail()) for audience in view.audiences]
    return []


def _details(view: UpdateView, texts: _Texts) -> list[Element]:
    body: list[Element] = []
    for (name, _), detail in zip(_customers(view), texts.details, strict=False):
        body += [_heading(audience_heading(name)), plain(detail)]
    if texts.left_out:
        body.append({"type": "TextBlock", "text": f"{ELLIPSIS}{and_more(texts.left_out)}{private_cut_note(MEDIUM)}", "wrap": True})
    return body


def _private(view: UpdateView, texts: _Texts) -> list[Element]:
    if not isinstance(view, PrivateView):
        return []
    body: list[Element] = [{
        "type": "TextBlock", "text": "🔒 " + i18n.gettext("Private: internal only, never shown publicly"), "weight": "Bolder",
        "color": "Attention", "wrap": True, "separator": True, "spacing": "Large",
    }]
    if view.private_note:  # on the view, not the text: a card measured with the texts blank keeps its shape
        body.append(plain(texts.note))
    if view.customers:
        body += _listed(word("Customers: "), list(view.customers))
    if view.tickets:
        body += _listed(word("Tickets: "), list(view.tickets))
    body += _details(view, texts)
    if view.author:
        body += _listed(word("Posted by: "), [view.author])
    return body if len(body) > 1 else []


def _footer(view: UpdateView) -> Element:
    kind = "" if view.kind == "update" else f"{kind_label(view.kind)} · "
    numbered = i18n.gettext("Update %(num)d · ") % {"num": view.number} if view.number else ""
    posted = i18n.gettext("Posted %(time)s") % {"time": plain_when(view.created_at)}
    return {"type": "TextBlock", "text": f"{kind}{numbered}{posted}",
            "isSubtle": True, "size": "Small", "wrap": True}


def _card(view: UpdateView, texts: _Texts) -> Element:
    colour = _STATUS_COLOUR.get(view.status) or _IMPACT_COLOUR.get(view.incident.impact, "Accent")
    body: list[Element] = [
        {"type": "RichTextBlock", "inlines": [
            {"type": "TextRun", "text": _short(headline(view), MAX_HEADLINE_CHARS), "weight": "Bolder", "size": "Large", "color": colour}]},
        plain(texts.message),
        *_facts(view),
    ]
    if view.components:
        body += _listed(i18n.gettext("Components"), [f"{c.id}: {c.status.label}" for c in view.components])
    if isinstance(view, AudienceView):  # a customer's channel: its own detail
        body += _details(view, texts)
    body += [*_private(view, texts), _footer(view)]
    card: Element = {"$schema": CARD_SCHEMA, "type": "AdaptiveCard", "version": CARD_VERSION, "body": body,
                     "msteams": {"width": "Full"}}
    if view.incident.url:
        card["actions"] = [{"type": "Action.OpenUrl", "title": i18n.gettext("Incident page"), "url": view.incident.url}]
    return card


def envelope(card: Element) -> Element:
    return {"type": "message", "attachments": [{"contentType": CARD_CONTENT_TYPE, "contentUrl": None, "content": card}]}


def size(body: Element) -> int:
    return len(json.dumps(body, ensure_ascii=False).encode())


def encoded_len(text: str) -> int:
    """Bytes ``text`` takes inside the card's JSON (escapes included)."""
    return len(json.dumps(text, ensure_ascii=False).encode()) - 2


def cut(text: str, limit: int, note: str | None = None) -> str:
    """``text`` within ``limit`` bytes of JSON, cut at a word, ending with ``note`` (``cut_note``'s by default)."""
    if encoded_len(text) <= limit:
        return text
    ending = ELLIPSIS + (cut_note(MEDIUM) if note is None else note)
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits with the ending
        middle = (low + high + 1) // 2
        if encoded_len(text[:middle] + ending) <= limit:
            low = middle
        else:
            high = middle - 1
    head = text[:low]
    space = head.rfind(" ")
    if space > len(head) // 2:
        head = head[:space]
    return head.rstrip() + ending


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + ELLIPSIS


def _cut_to_fit(view: UpdateView, whole: _Texts, shown: int) -> _Texts | None:
    """The texts with the first ``shown`` customers, cut to fit MAX_CARD_BYTES; None if a detail would
    be cut under MIN_DETAIL_BYTES. The message keeps half the room (all it needs when shorter); the
    note and the details share the rest fairly, and the message takes what they leave."""
    blank = _Texts("", "", ("",) * shown, len(whole.details) - shown)
    room = MAX_CARD_BYTES - size(envelope(_card(view, blank)))
    private = [whole.note, *whole.details[:shown]] if whole.note else list(whole.details[:shown])
    wants = [encoded_len(text) for text in private]
    cap = fair_share(wants, room - min(encoded_len(whole.message), room // 2))
    if shown and cap < MIN_DETAIL_BYTES:
        return None
    note = cut(whole.note, cap, private_cut_note(MEDIUM)) if whole.note else ""
    details = tuple(cut(text, cap, private_cut_note(MEDIUM)) for text in whole.details[:shown])
    # A staff or customer's message may hold spans the incident page never shows: its cut points at no page.
    ending = private_cut_note(MEDIUM) if isinstance(view, (PrivateView, AudienceView)) else None
    message = cut(whole.message, room - sum(min(want, cap) for want in wants), ending)
    return _Texts(message, note, details, blank.left_out)


def message(view: UpdateView) -> Element:
    """The webhook body: one Adaptive Card within MAX_CARD_BYTES; long texts are cut, customers past a bound counted."""
    note = view.private_note if isinstance(view, PrivateView) else ""
    whole = _Texts(view.message, note, tuple(detail for _, detail in _customers(view)))
    body = envelope(_card(view, whole))
    if size(body) <= MAX_CARD_BYTES:
        return body
    fitted = (_cut_to_fit(view, whole, shown) for shown in range(len(whole.details), -1, -1))
    return envelope(_card(view, next(texts for texts in fitted if texts)))
