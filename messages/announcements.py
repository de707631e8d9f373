"""What a channel says where it cannot show an update as the page does: reader-facing wording.

A postmortem is announced with a link, not pasted (nor are its corrections);
a correction on a medium that cannot edit a post in place says what it corrects;
a withdrawal says the incident was posted in error (public) or who withdrew it (staff).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from broadcaster.messages.model import Update
from broadcaster.messages.visibility import PrivateView, UpdateView, author_of, corrected_sequence

# What public readers get where a withdrawn incident's posts cannot be deleted. No link: its page is gone.
POSTED_IN_ERROR = "This notice was posted in error and has been withdrawn. Please disregard it."


def announced(view: UpdateView, update: Update, updates: Sequence[Update], *, can_edit: bool) -> UpdateView:
    """``view`` as a channel posts it: postmortems and their corrections announced, corrections named."""
    link = f" Read it: {view.incident.url}" if view.incident.url else ""
    if update.kind == "withdrawal":
        return _withdrawal(view)
    if update.kind == "postmortem":
        return replace(view, message=f"We have published a postmortem: what happened, and what we are changing.{link}")
    corrects = corrected_sequence(update)
    original = next((u for u in updates if u.sequence == corrects), None) if corrects is not None else None
    if original is not None and original.kind == "postmortem":
        return replace(view, message=f"We have corrected our postmortem of {original.created_at:%Y-%m-%d}.{link}")
    if corrects is not None and not can_edit:
        when = f" of {original.created_at:%H:%M} UTC" if original else ""
        return replace(view, message=f"Correction to our update{when}: {view.message}")
    return view


def _withdrawal(view: UpdateView) -> UpdateView:
    """Staff keep their record and learn who withdrew it (the reason is the private note); the public
    get only "posted in error" (sent where the posts cannot be deleted). Neither links the incident's page:
    the withdrawal removed it, and a link to it would only show a 404."""
    gone = replace(view.incident, url="")
    if isinstance(view, PrivateView):
        who = author_of(view) or "an operator"
        return replace(view, incident=gone, message=f"Withdrawn by {who}: taken off the status page, its public "
                                                    "posts deleted where the medium allows. This record stays.")
    return replace(view, incident=gone, message=POSTED_IN_ERROR)
