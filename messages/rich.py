"""One update as plain text and as sanitised HTML, for media that carry both (Matrix, email).

The plain text is the operator's words as written (markdown source included):
Matrix shows it where HTML is not rendered, and a mail's text/plain part is read
as is. The HTML is built from escaped pieces around the message, which goes
through ``messages.markdown.render_markdown`` (raw HTML off, the link policy,
nh3's allow-list): operator text can never add a tag, an attribute or a
``javascript:`` link. Both say the same things in the same order: headline,
message, facts, private detail (private views only, clearly marked), footer.

A ``Fit`` shapes both for a medium with a size cap (Matrix's 64 KiB event): each
long text (message, private note, a customer's detail) cut to so many characters
and each list to what fits in them, and past so many named customers, or so many
components, the rest counted ("…and 12 more"). Each cut says where the whole text is: the incident
page for public text, nowhere public for private text.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from broadcaster.messages import i18n
from broadcaster.messages.markdown import render_markdown
from broadcaster.messages.preview import word
from broadcaster.messages.visibility import AudienceView, PrivateView, UpdateView
from broadcaster.messages.words import (
    and_more,
    audience_heading,
    cut_note,
    kind_label,
    named_no_detail,
    private_cut_note,
)

ELLIPSIS = "…"


@dataclass(frozen=True)
class Fit:
    """How much of an update a medium with a size cap shows: long texts cut to ``limit`` characters, only the
    first ``customers`` named customers' detail in a private view, and only the first ``components``
    components. None: all of it."""

    medium: str
    limit: int | None = None
    customers: int | None = None
    components: int | None = None


WHOLE = Fit("")


def private_heading() -> str:
    return "🔒 " + i18n.gettext("Private: internal only, never shown publicly")


def when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def headline(view: UpdateView) -> str:
    """``Status: title``, the first line everywhere (a correction says so first)."""
    kind = "" if view.kind == "update" else f"{kind_label(view.kind)} · "
    return f"{kind}{view.status_label}: {view.incident.title}"


def cut(text: str, limit: int | None, note: str | None = None) -> str:
    """``text`` cut at a word boundary to about ``limit`` characters, ending with ``note`` (by default: the
    incident page has it in full); whole if it fits."""
    if limit is None or len(text) <= limit:
        return text
    head = text[:limit]
    space = head.rfind(" ")
    if space > limit // 2:
        head = head[:space]
    return head.rstrip() + ELLIPSIS + (cut_note() if note is None else note)


def _cut_private(text: str, fit: Fit) -> str:
    """A private text cut to ``fit``: its note points at no incident page, which never holds it."""
    return cut(text, fit.limit, private_cut_note(fit.medium))


def _message(view: UpdateView, fit: Fit) -> str:
    """The view's message cut to ``fit``; a staff or customer's message may hold spans the public page lacks, so
    its cut points at no page."""
    if isinstance(view, (PrivateView, AudienceView)):
        return _cut_private(view.message, fit)
    return cut(view.message, fit.limit)


def _listed_private(items: Sequence[str], fit: Fit) -> str:
    """Private items joined by commas; past ``fit.limit`` characters, the rest counted ("and 7 more")."""
    shown: list[str] = []
    for item in items:
        if fit.limit is not None and shown and len(", ".join([*shown, item])) > fit.limit:
            return ", ".join(shown) + " " + and_more(len(items) - len(shown))
        shown.append(_cut_private(item, fit))
    return ", ".join(shown)


def facts(view: UpdateView, fit: Fit = WHOLE) -> list[tuple[str, str]]:
    """Impact, components and times, as (label, value)."""
    found = [(i18n.gettext("Impact"), view.incident.impact.label)]
    if view.components:
        found.append((i18n.gettext("Components"), _components(view, fit)))
    if view.etr:
        found.append((i18n.gettext("Expected resolution"), when(view.etr)))
    if view.next_update_by:
        found.append((word("Next update by: "), when(view.next_update_by)))
    start, end = view.incident.scheduled_start, view.incident.scheduled_end
    if start and end:
        found.append((i18n.gettext("Window"), i18n.gettext("%(start)s to %(end)s") % {"start": when(start), "end": when(end)}))
    return found


def _components(view: UpdateView, fit: Fit) -> str:
    """Each component with its status; past ``fit.components``, the rest counted ("…and 250 more"). No note on
    where the rest is: a staff or customer's view may name components the public page does not."""
    shown = view.components if fit.components is None else view.components[:fit.components]
    listed = [f"{c.id} ({c.status.label})" for c in shown]
    if len(shown) < len(view.components):
        listed.append(ELLIPSIS + and_more(len(view.components) - len(shown)))
    return ", ".join(listed)


def private_facts(view: UpdateView, fit: Fit = WHOLE) -> list[tuple[str, str]]:
    """Customers, tickets and author of a private view; nothing for a public one."""
    if not isinstance(view, PrivateView):
        return []
    found = []
    if view.customers:
        found.append((word("Customers: "), _listed_private(view.customers, fit)))
    if view.tickets:
        found.append((word("Tickets: "), _listed_private(view.tickets, fit)))
    shown = view.audiences[:fit.customers] if fit.customers is not None else view.audiences
    for audience in shown:  # each customer the update names, with its own detail
        found.append((audience_heading(audience.name).rstrip(":"), _cut_private(audience.detail, fit) or named_no_detail()))
    if len(shown) < len(view.audiences):
        found.append((ELLIPSIS + and_more(len(view.audiences) - len(shown)) + private_cut_note(fit.medium), ""))
    if view.author:
        found.append((word("Author: "), view.author))
    return found


def private_note(view: UpdateView, fit: Fit = WHOLE) -> str:
    return _cut_private(view.private_note, fit) if isinstance(view, PrivateView) else ""


def audience_detail(view: UpdateView, fit: Fit = WHOLE) -> tuple[str, str] | None:
    """(heading, detail) of a customer's own channel; None for any other view or no detail."""
    if not isinstance(view, AudienceView) or not view.detail:
        return None
    return audience_heading(view.audience_name), _cut_private(view.detail, fit)


def footer(view: UpdateView) -> str:
    numbered = i18n.gettext("Update %(num)d · ") % {"num": view.number} if view.number else ""
    return numbered + i18n.gettext("Posted %(time)s") % {"time": when(view.created_at)}


def plain(view: UpdateView, fit: Fit = WHOLE) -> str:
    """The update as plain text."""
    blocks = [headline(view), _message(view, fit), "\n".join(f"{k}: {v}" for k, v in facts(view, fit))]
    note, detail = private_note(view, fit), private_facts(view, fit)
    if note or detail:
        lines = [private_heading(), *([note] if note else []), *(_fact_line(k, v) for k, v in detail)]
        blocks.append("\n".join(lines))
    own = audience_detail(view, fit)
    if own:
        blocks.append("\n".join(own))
    tail = [footer(view)] + ([i18n.gettext("Incident page: %(url)s") % {"url": view.incident.url}] if view.incident.url else [])
    blocks.append("\n".join(tail))
    return "\n\n".join(blocks)


def _fact_line(label: str, value: str) -> str:
    """``label: value``, or the label alone (a list's "…and 12 more")."""
    return f"{label}: {value}" if value else label


def _escaped(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


def _fact_list(found: list[tuple[str, str]]) -> str:
    items = "".join(f"<li><strong>{html.escape(k)}</strong>: {_escaped(v)}</li>" if v else f"<li>{html.escape(k)}</li>"
                    for k, v in found)
    return f"<ul>{items}</ul>"


def rich_html(view: UpdateView, fit: Fit = WHOLE) -> str:
    """The update as an HTML fragment: escaped pieces around the sanitised markdown of the message."""
    parts = [f"<p><strong>{html.escape(headline(view))}</strong></p>", render_markdown(_message(view, fit))]
    parts.append(_fact_list(facts(view, fit)))
    note, detail = private_note(view, fit), private_facts(view, fit)
    if note or detail:
        parts.append(f"<hr><p><strong>{html.escape(private_heading())}</strong></p>")
        if note:
            parts.append(f"<p>{_escaped(note)}</p>")
        if detail:
            parts.append(_fact_list(detail))
    own = audience_detail(view, fit)
    if own:
        parts.append(f"<hr><p><strong>{html.escape(own[0])}</strong></p>\n<p>{_escaped(own[1])}</p>")
    page = html.escape(i18n.gettext("Incident page"))
    link = f' · <a href="{html.escape(view.incident.url)}">{page}</a>' if view.incident.url else ""
    parts.append(f"<p><em>{html.escape(footer(view))}</em>{link}</p>")
    return "\n".join(parts)
