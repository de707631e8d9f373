"""What one command keeps for the next: values worked out from the product's own sources, never the store's data.

They are kept in jinja's private per-user folder (the one its compiled templates are kept in: made 0700, refused
if it is a link or anyone else owns it). Each file's first line is the hash of the rest, and it is written to a
file of its own and renamed into place, so a copy cut short, changed or half written is never used. Nothing kept
is needed: where the folder cannot be had, read or written, the value is worked out again.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading


def folder() -> str | None:
    """jinja's private per-user folder; None where there is none to be had."""
    try:
        from jinja2.bccache import FileSystemBytecodeCache

        return FileSystemBytecodeCache().directory
    except (OSError, RuntimeError):
        return None


def read(name: str) -> bytes | None:
    """What was kept as ``name``, if the file is there whole."""
    where = folder()
    if where is None:
        return None
    try:
        with open(os.path.join(where, name), "rb") as kept:
            check, _, data = kept.read().partition(b"\n")
    except OSError:
        return None
    return data if hashlib.sha256(data).hexdigest().encode() == check else None


def write(name: str, data: bytes) -> None:
    """Keep ``data`` as ``name``, whole or not at all."""
    where = folder()
    if where is None:
        return
    target = os.path.join(where, name)
    temp = f"{target}.{os.getpid()}-{threading.get_ident()}.tmp"
    with contextlib.suppress(OSError):
        with open(temp, "xb") as out:
            out.write(hashlib.sha256(data).hexdigest().encode() + b"\n" + data)
        os.replace(temp, target)
    with contextlib.suppress(OSError):
        os.unlink(temp)
