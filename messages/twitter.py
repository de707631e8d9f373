"""One update as one X (Twitter) post: plain text of at most 280 weighted characters.

X measures a post with its twitter-text rules, not ``len()``: most Latin,
Cyrillic, Greek and punctuation count 1, CJK and most other scripts count 2,
every link counts 23 whatever its length (t.co wraps it), and an emoji
sequence counts 2. ``weighted_length`` asks the twitter-text library.

A post is laid out as::

    🔴 Investigating: <title>

    <message>

    <maintenance window> <expected fix> <next update>

    Update 2 · 14:05 UTC
    <link to the incident page>

The last two lines are always there: the status label opens the post, the link
ends it, and "Update N · HH:MM UTC" makes every post unique (X refuses a post
whose text repeats an earlier one, and a routine "Still investigating" must go
out anyway). When the whole does not fit, the message is cut at a word boundary
with "…"; the ETR and next-update lines stay while the message keeps a fair
share, and the title is cut only when it alone would crowd the message out.

Only public fields are read: X is public, so even a ``PrivateView`` handed here
by mistake yields its public message.
"""

from __future__ import annotations

import re
import sys
import types
import unicodedata
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from broadcaster.messages import i18n
from broadcaster.messages.model import Status
from broadcaster.messages.visibility import PrivateView, PublicView
from broadcaster.messages.words import kind_label

from broadcaster import lazy_re

MAX_WEIGHTED = 280  # X's limit for one post, in weighted characters (twitter-text config v3)
ELLIPSIS = "…"
# Weighted characters the message keeps before the ETR / next-update lines are
# dropped or the title is shortened: a post that is all headline says nothing.
MESSAGE_RESERVE = 60
# A cut mid-word is better than dropping this many characters to reach a space
# (CJK text has no spaces; a pasted stack trace has few).
_WORD_BACKTRACK = 30
_FIRST_PROBE = 320  # code points; most posts are cut well before this
# A longer message is cut to this many code points before fitting: a post holds
# 280 weighted characters, so only a message made mostly of long links could
# use more, and measuring 10,000 characters again and again is slow.
_PRE_CUT = 1500

STATUS_EMOJI = {
    Status.INVESTIGATING: "🔴",
    Status.IDENTIFIED: "🟠",
    Status.MONITORING: "🟡",
    Status.RESOLVED: "✅",
    Status.SCHEDULED: "📅",
    Status.IN_PROGRESS: "🔧",
    Status.VERIFYING: "🔎",
    Status.COMPLETED: "✅",
}

CANCELLED_EMOJI = "🚫"  # a window called off: not the completed one's check mark

# X refuses these code points outright (twitter-text's invalid characters).
_INVALID = lazy_re.compile("[\ufffe\ufeff\uffff]")
# Lone surrogates (undecodable bytes in a command line become these) cannot be
# encoded as UTF-8 or UTF-16 at all.
_SURROGATES = lazy_re.compile("[\ud800-\udfff]")
_SPACES = lazy_re.compile(r"[^\S\n]+")
# Not strftime("%b"): that follows the process locale, and rendering must be pure.
# Code points X counts as 1 (twitter-text config v3 "ranges"); all others count 2.
_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
# In those ranges, the code points twitter-text counts as an emoji (2) on their own: © and ®.
_LIGHT_EMOJI = frozenset("\u00a9\u00ae")
_DOTS = frozenset(".\uff0e\u3002\uff61")  # full stops a domain name may be written with
_LINK_SURPLUS = 23 - 4  # a link counts 23 and is at least 4 characters of weight 1 or more


def weighted_length(text: str) -> int:
    """The length of ``text`` as X counts it against the 280 limit."""
    if not text:
        return 0
    return int(_twitter_text().parse_tweet(_SURROGATES.sub("\ufffd", text)).weightedLength)


@cache
def _twitter_text() -> Any:
    """The twitter-text library, imported on first use.

    Its import compiles the link and emoji patterns (about 200 ms), which a
    command that renders nothing for X (``--help``, a config check, a post to
    Slack alone) should not pay.
    """
    with warnings.catch_warnings():
        # twitter-text-parser 3.0 imports pkg_resources, which warns on import; the
        # warning is about the library's packaging, not about anything we can fix.
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
        if "pkg_resources" in sys.modules:
            import twitter_text

            return twitter_text
        return _import_with_resource_reader()


def _import_with_resource_reader() -> Any:
    """Import twitter-text with a stand-in for the one pkg_resources call it makes.

    It reads its emoji table with ``pkg_resources.resource_string``, and importing
    pkg_resources scans every installed distribution first (150 ms or more). The
    stand-in reads the same file with ``importlib.resources`` and is gone from
    ``sys.modules`` once the import is done; should a future twitter-text need
    more of pkg_resources, the real one is imported instead.
    """
    stand_in = types.ModuleType("pkg_resources", "twitter-text's resource reader (see messages/twitter.py)")
    stand_in.resource_string = _resource_string  # type: ignore[attr-defined]
    sys.modules["pkg_resources"] = stand_in
    try:
        import twitter_text
    except Exception:  # noqa: BLE001 - whatever the stand-in lacked, the real one has
        for name in [m for m in sys.modules if m == "twitter_text" or m.startswith("twitter_text.")]:
            del sys.modules[name]
        sys.modules.pop("pkg_resources", None)
        import twitter_text
    finally:
        if sys.modules.get("pkg_resources") is stand_in:
            del sys.modules["pkg_resources"]
    return twitter_text


def _resource_string(module: str, name: str) -> bytes:
    """``pkg_resources.resource_string``: a file beside the (imported) module ``module``."""
    return Path(sys.modules[module].__file__ or "").with_name(name).read_bytes()


def fits(text: str, reserve: int = 0) -> bool:
    """Whether ``text`` fits in one post with ``reserve`` weighted characters to spare."""
    limit = MAX_WEIGHTED - reserve
    # twitter-text's link pattern is slow on long runs without spaces (seconds
    # for a few thousand CJK characters); a linear lower bound settles most
    # "too long" answers without it. A linear upper bound settles most "fits"
    # answers, so a short post is laid out without importing twitter-text at all.
    if _lower_bound(text) > limit:
        return False
    if _upper_bound(text) <= limit:
        return True
    return weighted_length(text) <= limit


def _lower_bound(text: str) -> int:
    """At most the weighted length: one per character that surely starts its own unit.

    Words that could hold a link (they contain "." or ":") are skipped, and so
    is everything that only extends or joins an emoji sequence.
    """
    total = 0
    for word in unicodedata.normalize("NFC", text).split():
        if "." in word or ":" in word:
            continue
        flags = 0
        for index, char in enumerate(word):
            if _regional(char):
                flags += 1
            elif not _extends(char) and not (index and word[index - 1] == "\u200d"):
                total += 1
        total += flags // 2
    return total


def _upper_bound(text: str) -> int:
    """At least the weighted length: every character at its full weight, plus room for links.

    A link counts 23 however long it is, and is at least 4 characters ("x.co")
    of weight 1 or more, so each one adds at most 19 to its characters' weight.
    A link holds a dot with something after it in the same word, so there are
    no more links in a word than such dots. An emoji counts 2, never more than
    its code points, except the two that weigh 1 alone (``_LIGHT_EMOJI``).
    """
    normal = unicodedata.normalize("NFC", text)
    total = sum(2 if char in _LIGHT_EMOJI or not _light(char) else 1 for char in normal)
    for word in normal.split():
        total += _LINK_SURPLUS * sum(1 for char in word[:-1] if char in _DOTS)
    return total


def _light(char: str) -> bool:
    code = ord(char)
    return any(start <= code <= end for start, end in _LIGHT_RANGES)


def format_post(view: PublicView) -> str:
    """The text of the X post for one update, shortened to fit."""
    return _fit(_parts(view))


@dataclass(frozen=True)
class _Post:
    label: str
    title: str
    message: str
    extras: tuple[str, ...]
    stamp: str
    link: str

    def text(self) -> str:
        head = f"{self.label}: {self.title}" if self.title else self.label
        tail = f"{self.stamp}\n{self.link}" if self.link else self.stamp
        blocks = (head, self.message, " ".join(self.extras), tail)
        return "\n\n".join(block for block in blocks if block)


def _parts(view: PublicView) -> _Post:
    # A PrivateView's ``message`` holds the private spans; its public text is
    # ``public_message``. Reading it here keeps X safe even if misrouted.
    message = view.public_message if isinstance(view, PrivateView) else view.message
    return _Post(
        label=f"{CANCELLED_EMOJI if view.cancelled else STATUS_EMOJI.get(view.status, '•')} {view.status_label}",
        title=_one_line(view.incident.title),
        message=_pre_cut(_clean(message)),
        extras=_extras(view),
        stamp=_stamp(view),
        link=view.incident.url.strip(),
    )


def _extras(view: PublicView) -> tuple[str, ...]:
    """Short facts in the order they are kept when room runs out."""
    if view.status.is_closed:
        return ()
    ref = view.created_at
    extras = []
    start, end = view.incident.scheduled_start, view.incident.scheduled_end
    if view.status is Status.SCHEDULED and start:
        window = _when(start, ref) + (f"–{_when(end, start)}" if end else "")
        extras.append(i18n.gettext("Window: %(window)s.") % {"window": window})
    if view.etr:
        etr = _when(view.etr, ref)
        if view.incident.kind == "maintenance":
            extras.append(i18n.gettext("Expected to finish by %(time)s.") % {"time": etr})
        else:
            extras.append(i18n.gettext("Expected fix by %(time)s.") % {"time": etr})
    if view.next_update_by:
        extras.append(i18n.gettext("Next update by %(time)s.") % {"time": _when(view.next_update_by, ref)})
    return tuple(extras)


def _stamp(view: PublicView) -> str:
    numbered = i18n.gettext("Update %(num)d · ") % {"num": view.number} if view.number else ""
    stamp = f"{numbered}{_when(view.created_at, view.created_at)}"
    if view.kind and view.kind != "update":
        stamp = f"{kind_label(view.kind)} · {stamp}"
    return stamp


def _when(moment: datetime, ref: datetime) -> str:
    """``14:05 UTC``, with the date when it is not the day of ``ref``."""
    moment, ref = moment.astimezone(UTC), ref.astimezone(UTC)
    clock = moment.strftime("%H:%M UTC")
    if moment.date() == ref.date():
        return clock
    return f"{moment.day} {i18n.month_abbreviations()[moment.month - 1]} {clock}"


def _one_line(text: str) -> str:
    return " ".join(_normalise(text).split())


def _clean(text: str) -> str:
    lines = [_SPACES.sub(" ", line).strip() for line in _normalise(text).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _pre_cut(message: str) -> str:
    if len(message) <= _PRE_CUT:
        return message
    return _cut(message, _PRE_CUT)


def _normalise(text: str) -> str:
    # X counts and stores NFC text; normalising here keeps our count equal to theirs.
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    return _SURROGATES.sub("", _INVALID.sub("", text))


# -- Fitting -----------------------------------------------------------------


def _fit(post: _Post) -> str:
    if fits(post.text()):
        return post.text()
    # A prefix is enough to know whether the message has MESSAGE_RESERVE to give.
    head = post.message[: MESSAGE_RESERVE * 2]
    reserve = min(weighted_length(head), MESSAGE_RESERVE) + 2  # +2: the blank line
    bare = replace(post, message="", extras=())
    if not fits(bare.text(), reserve):
        title = shorten(post.title, lambda t: fits(replace(bare, title=t).text(), reserve))
        post = replace(post, title=title)
    extras = post.extras
    while extras and not fits(replace(post, message="", extras=extras).text(), reserve):
        extras = extras[:-1]  # the least important fact goes first
    post = replace(post, extras=extras)
    message = shorten(post.message, lambda m: fits(replace(post, message=m).text()))
    return replace(post, message=message).text()


def shorten(text: str, accept: Callable[[str], bool]) -> str:
    """The longest cut of ``text`` ending in "…" that ``accept`` takes ("" if none).

    Cuts fall on a word boundary when one is near, never inside a link or an
    emoji sequence. ``accept`` is asked about whole candidates, so links (23)
    and wide characters are counted exactly as X will count them.
    """
    if accept(text):
        return text
    cut = _longest_accepted(text, accept)
    while cut > 0:
        candidate = _cut(text, cut)
        if candidate and accept(candidate):
            return candidate
        cut = _boundary_before(text, cut) if cut > 1 else 0
    return ""


def _longest_accepted(text: str, accept: Callable[[str], bool]) -> int:
    """Binary search for the longest prefix length whose ellipsised form is accepted."""
    low, high = 0, min(len(text), _FIRST_PROBE)
    while high < len(text) and accept(text[:high] + ELLIPSIS):
        low, high = high, min(len(text), high * 2)
    while low < high:
        middle = (low + high + 1) // 2
        if accept(text[:middle] + ELLIPSIS):
            low = middle
        else:
            high = middle - 1
    return low


def _cut(text: str, cut: int) -> str:
    """``text`` cut near ``cut`` at a word boundary, never inside a link, plus "…"."""
    space = max(text.rfind(" ", 0, cut + 1), text.rfind("\n", 0, cut + 1))
    end = text.find(" ", cut, cut + 200)
    word = text[space + 1 : end if end != -1 else cut + 200]
    if cut < len(text) and not text[cut].isspace():
        near = space >= 0 and cut - space <= _WORD_BACKTRACK
        if near or _twitter_text().extract_urls(word):
            cut = max(space, 0)
        else:
            cut = _safe_cut(text, cut)
    kept = text[:cut].rstrip(" \n,;:-–—·")
    return kept + ELLIPSIS if kept else ""


def _boundary_before(text: str, cut: int) -> int:
    space = max(text.rfind(" ", 0, cut - 1), text.rfind("\n", 0, cut - 1))
    return space if space > 0 else cut - 1


def _safe_cut(text: str, cut: int) -> int:
    """Move ``cut`` back so no emoji sequence or accented letter is split."""
    while 0 < cut < len(text) and (_extends(text[cut]) or text[cut - 1] == "\u200d"):
        cut -= 1
    run = 0
    while run < cut and _regional(text[cut - 1 - run]):
        run += 1
    if run % 2 and cut < len(text) and _regional(text[cut]):
        cut -= 1  # a flag is a pair of regional indicators; do not split one
    return cut


def _extends(char: str) -> bool:
    code = ord(char)
    return (
        unicodedata.combining(char) > 0
        or unicodedata.category(char) in ("Mn", "Me")
        or code in (0x200D, 0x20E3)
        or 0xFE00 <= code <= 0xFE0F
        or 0x1F3FB <= code <= 0x1F3FF
        or 0xE0020 <= code <= 0xE007F
    )


def _regional(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def fit_with(post: _Post, fits: Callable[[str], bool]) -> str:
    """``post``'s text, cut as ``_fit`` cuts but to what ``fits`` accepts (media that count otherwise)."""
    if fits(post.text()):
        return post.text()
    bare = replace(post, message=ELLIPSIS)
    extras = post.extras
    while extras and not fits(replace(bare, extras=extras).text()):
        extras = extras[:-1]  # the least important fact goes first
    post, bare = replace(post, extras=extras), replace(bare, extras=extras)
    if not fits(bare.text()):
        post = replace(post, title=shorten(post.title, lambda t: fits(replace(bare, title=t).text())))
    return replace(post, message=shorten(post.message, lambda m: fits(replace(post, message=m).text()))).text()
