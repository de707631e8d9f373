"""Ids made from a delivery: the same in every attempt and process, distinct across deliveries."""

from __future__ import annotations

import hashlib

from broadcaster import lazy_re

# RFC 5322's msg-id, "=?" left out: broadcaster's own ids are <digits.broadcaster@domain>, and the mail library
# decodes an RFC 2047 encoded word in In-Reply-To or References into other text, line breaks and headers included.
_MESSAGE_ID = lazy_re.compile(r"^<(?!.*=\?)[!-;=?-~]+@[A-Za-z0-9.\-]+>$")


def stable_digits(*parts: str) -> str:
    """A stable id of ``parts`` in 29 decimal digits: no letters, so it can never spell a private value."""
    digest = hashlib.sha256("\0".join(parts).encode()).digest()
    return str(int.from_bytes(digest[:12], "big")).zfill(29)


def is_message_id(text: str) -> bool:
    """A Message-ID the email channel threads under: ``<id@domain>``, no "=?" (``store import`` checks stored ids
    with it too)."""
    return bool(_MESSAGE_ID.match(text))
