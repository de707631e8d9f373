"""The input gate: every text an operator or a file supplies passes here before it is stored.

Two jobs, both fail-closed:

* ``normalise(text, field)`` returns the text in Unicode NFC, or raises
  ``InputError`` naming the field and the position of a character that has no
  business in an incident update (control characters other than newline and
  tab, format characters such as zero-width spaces, bidi overrides).
* ``comparable(text)`` is the form in which texts are *compared*, never shown:
  the marker-lookalike check and the egress guard both look for one text
  inside another after folding compatibility forms, dropping format
  characters and ignoring case, so a fullwidth or soft-hyphenated copy of a
  private value still matches.
"""

from __future__ import annotations

import unicodedata

from broadcaster.errors import InputError

_ALLOWED_CONTROLS = frozenset("\n\t")


def normalise(text: str, field: str) -> str:
    """``text`` in NFC, with ``\\r\\n`` as ``\\n``; refuse control and format characters."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n"))
    for position, char in enumerate(text, start=1):
        if char in _ALLOWED_CONTROLS:
            continue
        category = unicodedata.category(char)
        if category in ("Cc", "Cf", "Cs", "Co", "Cn"):
            name = unicodedata.name(char, "a control character")
            raise InputError(
                f"{field} holds an invisible or control character ({name}, U+{ord(char):04X}) at "
                f"character {position}. Remove it (it often comes from copying out of a chat or a "
                "terminal); nothing was stored or sent."
            )
    return text


def comparable(text: str) -> str:
    """The folded form two texts are compared in: NFKC, format characters dropped, case folded."""
    folded = unicodedata.normalize("NFKC", text)
    # Look up each distinct character once: the egress guard folds whole pages, thousands of
    # characters of few kinds, and a lookup per character made a full site build twice as slow.
    drop = {ord(c): None for c in set(folded) if unicodedata.category(c) == "Cf"}
    kept = folded.translate(drop) if drop else folded
    return unicodedata.normalize("NFKC", kept.casefold())
