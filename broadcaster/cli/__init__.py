"""The ``broadcaster`` command: thin click commands that parse, call one function of
``broadcaster.operations`` (or ``lifecycle``), and print through ``broadcaster.cli.output``.

``group`` holds the group and the only mapping of errors to exit codes; ``options`` the
options shared by many commands; one module per family of commands, each listing its
``COMMANDS``, named here and imported when one of them runs. Nothing in the package imports
this module back.
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
import threading

from broadcaster.cli.group import EXIT_BROKEN_PIPE, main

# Each command's module, imported when the command runs (``BroadcasterGroup.families``; tests/test_cli_lazy.py holds
# this to every module's ``COMMANDS``).
main.families = {
    **dict.fromkeys(("post", "resolve", "preview", "retry", "withdraw"), "post"),
    **dict.fromkeys(("list", "show", "channels", "site", "init"), "inspect"),
    **dict.fromkeys(("amend", "postmortem", "maintenance", "tick", "templates", "completion"), "lifecycle"),
    "store": "store", "subscribers": "subscribers", "bot": "bot",
}

# Modules the libraries import for features broadcaster never uses, left unloaded by the console script.
# ``httpx._main``: httpx's own command-line client, which ``import httpx`` loads whenever click and rich are
# installed (they are: ours), with rich's progress bars, tables and pygments' syntax highlighting. Every
# Telegram post imports httpx (python-telegram-bot sends with it): measured, about 60 ms of CPU, on the one
# GIL the site's build and the other SDKs share. httpx catches the ImportError (its ``main`` then says the
# CLI's extras are missing), and only that function is affected.
UNUSED_IMPORTS = ("httpx._main",)


def run() -> None:
    """The ``broadcaster`` console script: ``main``, then the interpreter's exit without its teardown.

    At exit the interpreter collects garbage over every object the SDKs made (boto3's models,
    python-telegram-bot, tweepy): measured, 150 ms of a post to every destination, after its last
    answer; frozen objects are left out of those collections. Then it tears every module down, one
    by one: 12-14 ms more of a post to the site alone, paid by every command (``_leave``). What the
    exit does that anyone can see (threads joined, ``atexit`` hooks, the output flushed, the exit
    code) is unchanged. Only the console script does it, and leaves ``UNUSED_IMPORTS`` unloaded:
    tests call ``main`` in-process.
    """
    for name in UNUSED_IMPORTS:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]  # None: "import halted", an ImportError
    _never_fail_for_the_encoding()
    try:
        main()
    except SystemExit as stop:
        gc.freeze()
        _leave(stop.code)
        raise
    finally:
        gc.freeze()
    _leave(0)


def _leave(code: object) -> None:
    """End the process as the interpreter's exit would, less tearing down its modules and objects.

    What ``Py_FinalizeEx`` does first, in its order: wait for the threads that are not daemons, run
    the ``atexit`` hooks (``multiprocessing``'s, ``weakref.finalize``'s, logging's), flush the
    output; then ``os._exit``. Nothing of broadcaster's is left to a destructor at exit: the store
    is closed and the file writer waited for by the command. Returns, for the interpreter's own exit,
    where that says something of its own: a message as the code, output that cannot be flushed (a
    full disk: Python's exit 120), a Python without ``threading._shutdown``. A reader gone before the
    last of the output ends it as a reader gone earlier does (``EXIT_BROKEN_PIPE``, nothing said), where
    Python said "Exception ignored ... BrokenPipeError" and exited 120. Ctrl-C while the threads
    are waited for ends the wait, as it did, without the interpreter's traceback of it; Ctrl-C while the
    output is flushed ends the process with the interpreter's code for output it could not flush, 120,
    without one either (the operator stopped a reader that was not reading)."""
    shutdown = getattr(threading, "_shutdown", None)
    if not (code is None or isinstance(code, int)) or shutdown is None:
        return
    try:
        shutdown()
    except KeyboardInterrupt:  # the interpreter's own wait returns at once now: the main thread is marked stopped
        return
    atexit._run_exitfuncs()
    reader_gone = False
    try:
        for stream in (sys.stdout, sys.stderr):
            try:
                if stream is not None:
                    stream.flush()
            except BrokenPipeError:
                if stream is not sys.stdout:
                    raise
                reader_gone = True
    except (OSError, ValueError):
        return
    except KeyboardInterrupt:
        os._exit(_UNFLUSHED)
    status = (code or 0) & 0xFF
    os._exit(EXIT_BROKEN_PIPE if reader_gone and not status else status)  # a command's failure says more


# The interpreter's exit code when it cannot flush the output at exit.
_UNFLUSHED = 120


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
