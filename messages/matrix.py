"""Matrix ``m.room.message`` content for one update: pure functions from a view to JSON.

A message carries a plain ``body`` and an HTML ``formatted_body``
(``org.matrix.custom.html``), both from ``messages.rich``. The HTML holds only
tags of the spec's suggested allow-list and ``href`` on links (nh3 once more
here, so not even ``rel`` is left for a client to wonder about).

Nobody is ever pinged: every content carries ``"m.mentions": {}``. Since
Matrix 1.7 its presence turns off the legacy push rules that notify on a
display name or ``@room`` found in the body, so operator text cannot mention.

An event may be at most 65,536 bytes as the homeserver stores it. The largest
form of a rendering is its edit (``m.replace`` carries the text twice), so the
texts are cut until that form fits with room for what the server adds; then
a long component list is halved, down to a few, the rest counted ("…and 250
more"); then, for a staff update naming dozens of customers each with its
detail, customers are left out whole and counted ("…and 40 more"), as on Discord
and Teams; last, the few components left. The post and its edit are cut alike.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import nh3
from broadcaster.messages import rich
from broadcaster.messages.markdown import ALLOWED_SCHEMES, ALLOWED_TAGS
from broadcaster.messages.visibility import PrivateView, UpdateView

MSGTYPE = "m.notice"  # the spec's type for automated messages: other bots must not answer it
FORMAT = "org.matrix.custom.html"
MAX_EVENT_BYTES = 65536  # "The complete event MUST NOT be larger than 65536 bytes"
ENVELOPE_BYTES = 4096  # sender, room, ids, hashes, signatures, prev and auth events the server adds
_LIMITS = (None, 8000, 4000, 2000, 1000, 500, 200)  # characters per long text, tried in turn
# Components still listed while customers are left out: staff need each customer's detail more than the
# hundredth component's name, though a list of a few says what broke.
_FEW_COMPONENTS = 10
MEDIUM = "Matrix"
# An event id as long as any homeserver makes, to size the edit form before the real one is known.
_LONGEST_EVENT_ID = "$" + "x" * 255


@cache
def _cleaner() -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS), attributes={"a": {"href"}, "ol": {"start"}}, url_schemes=set(ALLOWED_SCHEMES),
        link_rel=None, strip_comments=True,
    )


def formatted(view: UpdateView, fit: rich.Fit = rich.WHOLE) -> str:
    return _cleaner().clean(rich.rich_html(view, fit))


def base_content(view: UpdateView, fit: rich.Fit = rich.WHOLE) -> dict[str, Any]:
    return {
        "msgtype": MSGTYPE,
        "body": rich.plain(view, fit),
        "format": FORMAT,
        "formatted_body": formatted(view, fit),
        "m.mentions": {},
    }


def _fits(found: dict[str, Any]) -> bool:
    return event_bytes(edit_content(found, _LONGEST_EVENT_ID)) + ENVELOPE_BYTES <= MAX_EVENT_BYTES


def _halved(count: int) -> list[int]:
    """How many of a list to show, tried in turn once the texts are cut short: half as many each time, to none."""
    counts = []
    while count:
        count //= 2
        counts.append(count)
    return counts


def _fits_to_try(components: int, named: int) -> list[rich.Fit]:
    """Shorter texts; then fewer components, down to a few; then fewer customers; then fewer components still."""
    fits = [rich.Fit(MEDIUM, limit) for limit in _LIMITS]
    shortest = _LIMITS[-1]
    many = [n for n in _halved(components) if n >= _FEW_COMPONENTS]
    few = [n for n in _halved(components) if n < _FEW_COMPONENTS]
    fits += [rich.Fit(MEDIUM, shortest, components=n) for n in many]
    listed = many[-1] if many else None
    fits += [rich.Fit(MEDIUM, shortest, shown, listed) for shown in _halved(named)]
    fits += [rich.Fit(MEDIUM, shortest, 0 if named else None, n) for n in few]
    return fits


def content(view: UpdateView) -> dict[str, Any]:
    """The message content, cut (texts, then components and customers) until even its edit form fits in one event."""
    named = len(view.audiences) if isinstance(view, PrivateView) else 0
    for fit in _fits_to_try(len(view.components), named):
        found = base_content(view, fit)
        if _fits(found):
            return found
    return found


def thread_content(base: dict[str, Any], root: str, latest: str) -> dict[str, Any]:
    """``base`` posted in the thread under ``root``, replying to ``latest`` for clients without threads."""
    relation = {"rel_type": "m.thread", "event_id": root, "is_falling_back": True,
                "m.in_reply_to": {"event_id": latest}}
    return {**base, "m.relates_to": relation}


def edit_content(base: dict[str, Any], original: str) -> dict[str, Any]:
    """An ``m.replace`` of event ``original`` by ``base``; the ``* `` fallback is for clients without edits."""
    return {
        **base,
        "body": f"* {base['body']}",
        "formatted_body": f"* {base['formatted_body']}",
        "m.new_content": dict(base),
        "m.relates_to": {"rel_type": "m.replace", "event_id": original},
    }


def event_bytes(value: dict[str, Any]) -> int:
    """Its size as the homeserver stores it: compact JSON in UTF-8."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def preview(view: UpdateView) -> str:
    return f"[Matrix] {rich.plain(view)}"
