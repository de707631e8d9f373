"""What the CLI prints without rich: JSON, and whether it talks to a terminal at all.

``--json`` output and the terminal check come before anything is drawn: a post with
``--json`` (a script's, a cron job's) loads no rich, whose import is about 12 ms on
the way to the first upload. ``broadcaster.cli.output`` prints JSON through this.
"""

from __future__ import annotations

import codecs
import json
import sys
from typing import Any

import click


def is_terminal() -> bool:
    # A closed stream (``<&-``, ``>&-``) is None: no terminal to ask on, so the "add --yes" refusal applies.
    return (sys.stdout is not None and sys.stdout.isatty()) and (sys.stdin is not None and sys.stdin.isatty())


def print_json(payload: Any, *, ensure_ascii: bool = False) -> None:
    # ``list`` and ``tick`` have always escaped non-ASCII text; the other commands print it as is where standard
    # output takes every character. Elsewhere (a Latin-1 terminal) the backslashreplace of ``cli.run`` would write an
    # emoji as "\U0001f525", which no JSON reader takes: JSON's own escapes instead.
    click.echo(json.dumps(payload, ensure_ascii=ensure_ascii or not _takes_any_text()))


def _takes_any_text() -> bool:
    try:
        return codecs.lookup(getattr(sys.stdout, "encoding", None) or "ascii").name.startswith("utf")
    except LookupError:
        return False
