"""The egress guard: the last check before anything leaves for a public place.

The views are the design: a public formatter is handed a ``PublicView``, which
has no private field, so it cannot print one. This module is defence in depth
against a bug in that design. Every public payload (a channel's message, each
file of the site, each upload) is checked against the private values of the
update(s) it carries (``messages.visibility.private_values``); a payload that
holds one is refused as a permanent failure, and nothing is sent.

Payloads are compared as readers would read them: HTML and XML entities are
decoded, JSON strings are unescaped, and both sides are folded by
``messages.gate.comparable`` (compatibility forms, invisible characters, case).
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from broadcaster.errors import DeliveryError
from messages.gate import comparable


class LeakRefused(DeliveryError):
    """A public payload held a private value of its update: nothing was sent."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


@dataclass(frozen=True)
class PrivateValues:
    """The private values no public payload may hold, kept in their comparable form."""

    folded: frozenset[str] = frozenset()

    @classmethod
    def of(cls, values: Iterable[str]) -> PrivateValues:
        return cls(frozenset(f for f in (comparable(v).strip() for v in values) if f))

    def __or__(self, other: PrivateValues) -> PrivateValues:
        return PrivateValues(self.folded | other.folded)

    def __bool__(self) -> bool:
        return bool(self.folded)

    def found_in(self, readable: str) -> str | None:
        """The first private value (folded) that ``readable`` holds, or None."""
        if not self.folded:
            return None
        haystack = comparable(readable)
        return next((value for value in sorted(self.folded) if value in haystack), None)


def readable_text(payload: str | bytes, media_type: str = "text/plain") -> str:
    """What a reader of the payload sees: entities decoded (HTML, XML), strings unescaped (JSON)."""
    text = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else payload
    if media_type.endswith("json"):
        try:
            return "\n".join(_json_strings(json.loads(text)))
        except ValueError:
            return text
    if "html" in media_type or "xml" in media_type:
        # Twice: feeds carry HTML escaped inside XML.
        return html.unescape(html.unescape(text))
    return text


def _json_strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _json_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _json_strings(item)


def guard(payload: str | bytes, values: PrivateValues, where: str, media_type: str = "text/plain") -> None:
    """Raise ``LeakRefused`` if the payload, read as its readers would, holds a private value."""
    if not values:
        return
    found = values.found_in(readable_text(payload, media_type))
    if found is not None:
        raise LeakRefused(
            f"refused to publish {where}: it holds private detail of the update "
            f"({len(found)} characters beginning {found[:2]!r}…). Nothing was sent there. "
            "This is a bug in a formatter or the site builder; report it, and use --skip to publish elsewhere."
        )
