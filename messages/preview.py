"""The terminal form of one update (``broadcaster preview``), shared by the channels without markup of their own.

Unescaped, as the operator wrote it: the terminal reads no markdown.
"""

from __future__ import annotations

from datetime import UTC, datetime

from broadcaster.messages.visibility import PrivateView, UpdateView


def plain_when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def headline(view: UpdateView) -> str:
    """``Status: title``, the first line everywhere."""
    return f"{view.status.label}: {view.incident.title}"


def preview(view: UpdateView, medium: str) -> str:
    """``[medium] Status: title``, the message, the facts, any private detail and the incident page."""
    lines = [f"[{medium}] {headline(view)}", "", view.message, "", f"Impact: {view.incident.impact.value.capitalize()}"]
    if view.components:
        lines.append("Components: " + ", ".join(f"{c.id} ({c.status.label})" for c in view.components))
    if view.etr:
        lines.append(f"Expected resolution: {plain_when(view.etr)}")
    if view.next_update_by:
        lines.append(f"Next update by: {plain_when(view.next_update_by)}")
    if isinstance(view, PrivateView):
        if view.private_note:
            lines.append(f"Private (internal only): {view.private_note}")
        if view.customers:
            lines.append("Customers: " + ", ".join(view.customers))
        if view.tickets:
            lines.append("Tickets: " + ", ".join(view.tickets))
        if view.author:
            lines.append(f"Author: {view.author}")
    if view.incident.url:
        lines.append(f"Incident page: {view.incident.url}")
    return "\n".join(lines)
