"""What a channel says where it cannot show an update as the page does: reader-facing wording.

A postmortem is announced with a link, not pasted (nor are its corrections), and with what its text holds for
the channel's readers alone: a customer's ``[for ID]`` spans, staff's ``[private]`` spans (the public page shows neither);
a correction on a medium that cannot edit a post in place says what it corrects;
a withdrawal says the incident was posted in error (public) or who withdrew it (staff).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from broadcaster.messages import i18n
from broadcaster.messages.model import Update
from broadcaster.messages.visibility import PrivateView, UpdateView, author_of, corrected_sequence, with_spans_apart


def posted_in_error() -> str:
    """What public readers get where a withdrawn incident's posts cannot be deleted. No link: its page is gone."""
    return i18n.gettext("This notice was posted in error and has been withdrawn. Please disregard it.")


# The withdrawal's stored text, in English (the record); each channel renders posted_in_error() in its language.
POSTED_IN_ERROR = posted_in_error()


def announced(view: UpdateView, update: Update, updates: Sequence[Update], *, can_edit: bool) -> UpdateView:
    """``view`` as a channel posts it: postmortems and their corrections announced, corrections named.
    Every word is the catalogue's, in the language in effect; the operator's correction is kept as written."""
    link = " " + i18n.gettext("Read it: %(url)s") % {"url": view.incident.url} if view.incident.url else ""
    if update.kind == "withdrawal":
        return _withdrawal(view)
    corrects = corrected_sequence(update)
    original = next((u for u in updates if u.sequence == corrects), None) if corrects is not None else None
    if update.kind == "postmortem":
        # A new version of it replaces the first on the page: announced as the correction it is (the first
        # announcement again would be a duplicate on X, and say nothing new).
        original = next((u for u in updates if u.kind == "postmortem" and u.sequence < update.sequence), None)
        if original is None:
            said = i18n.gettext("We have published a postmortem: what happened, and what we are changing.")
            return replace(with_spans_apart(view, update), message=said + link)
    if original is not None and original.kind == "postmortem":
        said = i18n.gettext("We have corrected our postmortem of %(date)s.") % {"date": f"{original.created_at:%Y-%m-%d}"}
        return replace(with_spans_apart(view, update), message=said + link)
    if corrects is not None and not can_edit:
        if original:
            said = i18n.gettext("Correction to our update of %(time)s UTC:") % {"time": f"{original.created_at:%H:%M}"}
        else:
            said = i18n.gettext("Correction to our update:")
        return replace(view, message=f"{said} {view.message}")
    return view


def _withdrawal(view: UpdateView) -> UpdateView:
    """Staff keep their record and learn who withdrew it (the reason is the private note); the public
    get only "posted in error" (sent where the posts cannot be deleted). Neither links the incident's page:
    the withdrawal removed it, and a link to it would only show a 404."""
    gone = replace(view.incident, url="")
    if isinstance(view, PrivateView):
        who = author_of(view) or i18n.gettext("an operator")
        said = i18n.gettext("Withdrawn by %(who)s: taken off the status page, its public posts deleted where the "
                            "medium allows. This record stays.") % {"who": who}
        return replace(view, incident=gone, message=said)
    return replace(view, incident=gone, message=posted_in_error())
