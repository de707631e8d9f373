"""What a host records beside the published site for the next publisher, unreadable to the site's readers.

A bucket's manifest and a branch's commits are as readable as the page. The store's id, how far it had got
(its generation: every delivery it recorded) and each page's record version (its last sequence and time) would
tell a reader that the store wrote something the page does not show: an update kept to staff or to a customer,
and when. So they are published sealed with a key only the store's users hold: derived from the store's id, a
random value kept in the store, never published (only its digest is, which names the store).

The seal is a keystream from SHAKE-256 over the key and a fresh random nonce, XORed with the JSON, padded to a
multiple of ``_BLOCK`` so its length tells nothing of the numbers inside. It hides; it does not authenticate:
whoever can write the bucket or the branch can replace the site itself.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from typing import Any

_BLOCK = 256
_NONCE = 16


def store_digest(store_id: str) -> str:
    """The store's published name: equal for one store, and it does not give the store's id (the key) away."""
    return hashlib.sha256(f"broadcaster-store:{store_id}".encode()).hexdigest()[:32] if store_id else ""


def _stream(store_id: str, nonce: bytes, size: int) -> bytes:
    key = hashlib.sha256(f"broadcaster-seal:{store_id}".encode()).digest()
    return hashlib.shake_256(key + nonce).digest(size)


def seal(store_id: str, values: dict[str, Any]) -> str:
    """``values`` (JSON) readable only with ``store_id``."""
    plain = json.dumps(values, sort_keys=True, separators=(",", ":")).encode()
    plain += b" " * (-len(plain) % _BLOCK)
    nonce = os.urandom(_NONCE)
    return base64.b64encode(nonce + _xor(plain, _stream(store_id, nonce, len(plain)))).decode("ascii")


def _xor(one: bytes, other: bytes) -> bytes:
    return (int.from_bytes(one, "big") ^ int.from_bytes(other, "big")).to_bytes(len(one), "big")


def unseal(store_id: str, text: Any) -> dict[str, Any] | None:
    """What ``seal`` sealed with ``store_id``; None for anything else (another store's, damaged, not a seal)."""
    if not store_id or not isinstance(text, str):
        return None
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        return None
    nonce, sealed = raw[:_NONCE], raw[_NONCE:]
    plain = _xor(sealed, _stream(store_id, nonce, len(sealed)))
    try:
        values = json.loads(plain.decode("utf-8"))
    except ValueError:
        return None
    return values if isinstance(values, dict) else None
