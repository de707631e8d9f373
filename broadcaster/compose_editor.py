"""Write an update in $VISUAL/$EDITOR, like ``git commit``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from broadcaster.errors import InputError
from broadcaster.messages import gate

TEMPLATE_HELP = """\
# Write the public update above. Lines starting with '# ' (a hash and a space) are ignored.
# Private detail (only private channels see it): [private]circuit 12, ACME[/private]
# An empty message aborts: nothing is stored or sent.
"""


def compose_in_editor(incident: Any, updates: Sequence[Any], correcting: Any = None) -> str:
    """Open the editor with a template; return the message without comment lines.

    ``correcting``: the update ``amend`` corrects, as last corrected: shown in place of the latest update, which
    may be another one."""
    header = ""
    if incident is not None and correcting is not None:
        header = (f"# Correcting update #{correcting.sequence} of {incident.id}: {incident.title}\n"
                  f"# Its text now ({correcting.status.value}); the correction replaces it wherever "
                  f"#{correcting.sequence} went:\n" + _shown(correcting))
        if gate.MARKER.search(correcting.raw_message):  # the spans are text: a correction without them drops them
            header += "# (its [private] and [for ID] spans are not shown here: write them again to keep them)\n"
    elif incident is not None:
        header = f"# Update to {incident.id}: {incident.title} (now {incident.status.value})\n"
        if updates:
            last = updates[-1]
            header += f"# Last update #{last.sequence} ({last.status.value}):\n" + _shown(last)
    try:
        text = click.edit("\n\n" + header + TEMPLATE_HELP, extension=".md", require_save=True)
    except click.ClickException as exc:  # the editor would not start (a typo in $EDITOR, not installed)
        raise InputError(
            f"the editor could not be started ({exc.format_message()}): nothing was stored or sent. Set $VISUAL or "
            "$EDITOR to an editor that is installed, or give the message as an argument, or `-` to read it from "
            "standard input."
        ) from None
    except UnicodeDecodeError as exc:  # click reads the saved file as UTF-8: an editor set to Latin-1 or a code page
        raise InputError(
            f"the editor saved text that is not UTF-8 (byte {exc.start}): nothing was stored or sent. Set your editor "
            "to save UTF-8 and write the message again, or give it as an argument, or `-` to read it from a UTF-8 file."
        ) from None
    if text is None:
        raise InputError("no message written (editor closed without saving): nothing was stored or sent.")
    message = "\n".join(line for line in text.splitlines() if not _is_comment(line)).strip()
    if not message:
        raise InputError("empty message: nothing was stored or sent.")
    return message


def _shown(update: Any) -> str:
    """``update``'s public text as comment lines of the template."""
    from broadcaster.messages.visibility import public_text

    return "".join(f"#   {line}\n" for line in public_text(update.raw_message).splitlines())


def _is_comment(line: str) -> bool:
    """A line of the template's: '#' then a space or nothing. '#42 customers' is the operator's text."""
    stripped = line.lstrip()
    return stripped == "#" or stripped.startswith(("# ", "#\t"))
