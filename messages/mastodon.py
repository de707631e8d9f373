"""One update as one Mastodon status: plain text within the instance's character limit.

The layout is X's (``messages.twitter``): status label and title, the message,
the ETR and next-update facts, "Update N · HH:MM UTC" and the incident page's
link. Mastodon counts a status as its server does (``StatusLengthValidator``):
grapheme clusters, with every ``http(s)://`` link counted as 23 whatever its
length. ``MAX_CHARACTERS`` and ``URL_CHARACTERS`` are Mastodon's defaults; the
channel reads the instance's own (``configuration.statuses``) and passes them in.

Mentions are defused: ``@name`` in a public status notifies that account, so
a zero-width non-joiner after each ``@`` that starts a handle keeps the text as
written while Mastodon finds no mention in it (it joins the ``@`` grapheme, so
the count does not change). The server escapes HTML and links URLs itself.

Only public fields are read: Mastodon channels are public, and even a
``PrivateView`` handed here by mistake yields its public message.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from broadcaster.messages import graphemes
from broadcaster.messages.twitter import _parts, _twitter_text, fit_with  # X's layout and cutting
from broadcaster.messages.visibility import PublicView

from broadcaster import lazy_re

MAX_CHARACTERS = 500  # Mastodon's default configuration.statuses.max_characters
URL_CHARACTERS = 23  # configuration.statuses.characters_reserved_per_url
# What Mastodon's mention pattern starts at: "@" after a non-word character, before a handle.
LIMIT_RANGE = (100, 100_000)  # status limits believed; Mastodon's default is 500, some instances allow 5,000+
_HANDLE_START = lazy_re.compile(r"@(?=[A-Za-z0-9_])")
_NON_JOINER = "\u200c"


def status_length(text: str, url_characters: int = URL_CHARACTERS) -> int:
    """The length of ``text`` as Mastodon counts it against ``max_characters`` (a link: ``url_characters``)."""
    found = _twitter_text().extract_urls_with_indices(text)
    links = [u for u in found if u["url"].lower().startswith(("http://", "https://"))]  # Mastodon's rule
    counted, start = [], 0
    for link in links:
        begin, end = link["indices"]
        counted += [text[start:begin], "x" * url_characters]
        start = end
    counted.append(text[start:])
    return graphemes.count("".join(counted))


def defuse_mentions(text: str) -> str:
    """``text`` with no ``@handle`` Mastodon would turn into a mention (and a notification). Mastodon's own rule
    (``Account::MENTION_RE``) decides: a handle after "=", "/" or a word character as Ruby counts them (letters,
    marks, decimal digits, connectors) is none, and left whole (a link's "?host=@all"); after anything else,
    Python's word characters included ("10²@oncall"), it is one, and a non-joiner keeps it text."""
    def defused(found: re.Match[str]) -> str:
        before = text[found.start() - 1] if found.start() else ""
        return "@" if before and (before in "=/" or _ruby_word(before)) else "@" + _NON_JOINER

    return _HANDLE_START.sub(defused, text)


def _ruby_word(char: str) -> bool:
    category = unicodedata.category(char)
    return category[0] in "LM" or category in ("Nd", "Pc")


def format_status(view: PublicView, limit: int = MAX_CHARACTERS, url_characters: int = URL_CHARACTERS) -> str:
    """The status text for one update, shortened to ``limit`` as Mastodon counts it."""
    post = _parts(view)
    post = replace(post, title=defuse_mentions(post.title), message=defuse_mentions(post.message))
    return fit_with(post, lambda text: status_length(text, url_characters) <= limit)


@dataclass(frozen=True)
class Limits:
    """An instance's ``configuration.statuses``, and where they were read (or why they were not)."""

    max_characters: int
    url_characters: int
    source: str
    problem: str = ""


def instance_limits(instance: Mapping[str, Any], source: str) -> Limits | None:
    """The limits an instance entity gives, or None when it gives none that make sense.

    v2 and Mastodon's v1 say ``configuration.statuses``; Pleroma and Akkoma's v1
    says ``max_toot_chars``. Values outside ``LIMIT_RANGE`` are ignored: a status
    fitted to a nonsense limit would be cut to nothing or refused.
    """
    statuses = (instance.get("configuration") or {}).get("statuses") or {}
    most = _count(statuses.get("max_characters") or instance.get("max_toot_chars"))
    if most is None or not LIMIT_RANGE[0] <= most <= LIMIT_RANGE[1]:
        return None
    per_url = _count(statuses.get("characters_reserved_per_url"))
    return Limits(most, per_url if per_url is not None and 0 < per_url <= most else URL_CHARACTERS, source)


def _count(value: Any) -> int | None:
    """``value`` if it is a whole number (a JSON ``true`` is not), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None
