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
