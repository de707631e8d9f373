"""The ``broadcaster`` command: thin click commands that parse, call one function of
``broadcaster.operations`` (or ``lifecycle``), and print through ``broadcaster.cli.output``.

``group`` holds the group and the only mapping of errors to exit codes; ``options`` the
options shared by many commands; one module per family of commands, each listing its
``COMMANDS``, added here. Nothing in the package imports this module back.
"""

from __future__ import annotations

import gc
import sys

from broadcaster.cli import bot, inspect, lifecycle, post, store, subscribers
from broadcaster.cli.group import main

for _family in (post, inspect, lifecycle, store, subscribers, bot):
    for _command in _family.COMMANDS:
        main.add_command(_command)

# Modules the libraries import for features broadcaster never uses, left unloaded by the console script.
# ``httpx._main``: httpx's own command-line client, which ``import httpx`` loads whenever click and rich are
# installed (they are: ours), with rich's progress bars, tables and pygments' syntax highlighting. Every
# Telegram post imports httpx (python-telegram-bot sends with it): measured, about 60 ms of CPU, on the one
# GIL the site's build and the other SDKs share. httpx catches the ImportError (its ``main`` then says the
# CLI's extras are missing), and only that function is affected.
UNUSED_IMPORTS = ("httpx._main",)


def run() -> None:
    """The ``broadcaster`` console script: ``main``, then the interpreter's exit without its garbage hunt.

    At exit the interpreter tears its modules down and collects garbage over every object
    the SDKs made (boto3's models, python-telegram-bot, tweepy): measured, 150 ms of a
    post to every destination, after its last answer. Frozen objects are left out of those
    collections; everything else about the exit (threads joined, ``atexit``, files flushed
    and closed) is unchanged. Only the console script does it, and leaves ``UNUSED_IMPORTS``
    unloaded: tests call ``main`` in-process.
    """
    for name in UNUSED_IMPORTS:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]  # None: "import halted", an ImportError
    _never_fail_for_the_encoding()
    try:
        main()
    finally:
        gc.freeze()


def _never_fail_for_the_encoding() -> None:
    """A terminal that is not UTF-8 (an ssh session with ``LANG=en_US``, ISO-8859-1 on glibc; ``PYTHONIOENCODING``)
    cannot show "✓", "→" or a title's "–": printed strictly, the summary of a post already stored and sent ended
    "unexpected error (UnicodeEncodeError)", exit 1, as if nothing had gone out. Escaped as ``\\u2713`` rather than
    "?" (already the mark of a delivery of unknown fate). What programs read is not left to this: ``--json`` is
    written ASCII-escaped on such a terminal and ``store export`` as UTF-8 whatever the terminal's encoding."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)  # None when closed (`>&-`); a replaced stream may lack it
        if reconfigure is not None and stream.errors == "strict":
            reconfigure(errors="backslashreplace")


__all__ = ["main", "run"]
