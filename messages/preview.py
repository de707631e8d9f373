"""The terminal form of one update (``broadcaster preview``), shared by the channels without markup of their own.

Unescaped, as the operator wrote it: the terminal reads no markdown. The product's own
words come from the catalogue in effect (``messages.i18n``), as Slack's preview does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from broadcaster.messages import i18n
from broadcaster.messages.visibility import AudienceView, PrivateView, UpdateView
from broadcaster.messages.words import audience_heading, named_no_detail


def plain_when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def headline(view: UpdateView) -> str:
    """``Status: title``, the first line everywhere."""
    return f"{view.status_label}: {view.incident.title}"


def preview(view: UpdateView, medium: str) -> str:
    """``[medium] Status: title``, the message, the facts, any private detail and the incident page."""
    lines = [f"[{medium}] {headline(view)}", "", view.message, "",
             i18n.gettext("Impact: %(impact)s") % {"impact": view.incident.impact.label}]
    if view.components:
        lines.append(i18n.gettext("Components: ") + ", ".join(f"{c.id} ({c.status.label})" for c in view.components))
    lines += window_lines(view, plain_when) + time_lines(view, plain_when)
    if isinstance(view, PrivateView):
        if view.private_note:
            lines.append(i18n.gettext("Private (internal only): ") + view.private_note)
        if view.customers:
            lines.append(i18n.gettext("Customers: ") + ", ".join(view.customers))
        if view.tickets:
            lines.append(i18n.gettext("Tickets: ") + ", ".join(view.tickets))
        lines += [f"{audience_heading(a.name)} {a.detail or named_no_detail()}" for a in view.audiences]
        if view.author:
            lines.append(i18n.gettext("Author: ") + view.author)
    if isinstance(view, AudienceView) and view.detail:
        lines.append(f"{audience_heading(view.audience_name)} {view.detail}")
    if view.incident.url:
        lines.append(i18n.gettext("Incident page: %(url)s") % {"url": view.incident.url})
    return "\n".join(lines)


def window_lines(view: UpdateView, show: Callable[[datetime], str]) -> list[str]:
    """"Window: start to end" of a maintenance window, times written by ``show``: a window scheduled with the
    operator's own message says when only here (review 35c: `--start 06:00` already past became tomorrow's)."""
    start, end = view.incident.scheduled_start, view.incident.scheduled_end
    if start is None:
        return []
    window = i18n.gettext("%(start)s to %(end)s") % {"start": show(start), "end": show(end)} if end else show(start)
    return [i18n.gettext("Window: ") + window]


def time_lines(view: UpdateView, show: Callable[[datetime], str]) -> list[str]:
    """"Expected resolution: …" and "Next update by: …", each when the update gives it, times written by ``show``."""
    lines = []
    if view.etr:
        lines.append(i18n.gettext("Expected resolution: %(time)s") % {"time": show(view.etr)})
    if view.next_update_by:
        lines.append(i18n.gettext("Next update by: %(time)s") % {"time": show(view.next_update_by)})
    return lines


def word(label_with_colon: str) -> str:
    """A catalogue label written for a line ("Customers: ") as a heading ("Customers")."""
    return i18n.gettext(label_with_colon).strip().rstrip(":").strip()
