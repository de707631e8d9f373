"""Counting user-perceived characters (grapheme clusters), as Mastodon and Bluesky count a post.

ICU's character break iterator (UAX #29) through PyICU, which the input gate
already needs: an emoji family, a flag or a letter with its accents is one.
"""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def _iterator() -> Any:
    import icu

    return icu.BreakIterator.createCharacterInstance(icu.Locale.getRoot())


def count(text: str) -> int:
    """How many grapheme clusters ``text`` holds."""
    if not text:
        return 0
    iterator = _iterator()
    iterator.setText(text)
    return sum(1 for _ in iterator)


def cut_before(text: str, index: int) -> int:
    """The largest grapheme boundary of ``text`` at or before ``index`` (a Python index): a cut there never splits
    an emoji sequence, a flag or a letter from its accents. 0 when the first cluster alone is longer."""
    if index <= 0 or index >= len(text):
        return max(0, min(index, len(text)))
    iterator = _iterator()
    iterator.setText(text)
    units = text.encode("utf-16-le")  # ICU's offsets are UTF-16 code units
    offset = len(text[:index].encode("utf-16-le")) // 2
    if iterator.isBoundary(offset):
        return index
    at = iterator.preceding(offset)
    return len(units[: 2 * max(at, 0)].decode("utf-16-le"))
