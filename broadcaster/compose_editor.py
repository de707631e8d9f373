"""Write an update in $VISUAL/$EDITOR, like ``git commit``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from broadcaster.errors import InputError

TEMPLATE_HELP = """\
# Write the public update above. Lines starting with '# ' (a hash and a space) are ignored.
# Private detail (only private channels see it): [private]circuit 12, ACME[/private]
# An empty message aborts: nothing is stored or sent.
"""


def compose_in_editor(incident: Any, updates: Sequence[Any]) -> str:
    """Open the editor with a template; return the message without comment lines."""
    from broadcaster.messages.visibility import public_text

    header = ""
    if incident is not None:
        header = f"# Update to {incident.id}: {incident.title} (now {incident.status.value})\n"
        if updates:
            last = updates[-1]
            header += f"# Last update #{last.sequence} ({last.status.value}):\n"
            header += "".join(f"#   {line}\n" for line in public_text(last.raw_message).splitlines())
    try:
        text = click.edit("\n\n" + header + TEMPLATE_HELP, extension=".md", require_save=True)
    except click.ClickException as exc:  # the editor would not start (a typo in $EDITOR, not installed)
        raise InputError(
            f"the editor could not be started ({exc.format_message()}): nothing was stored or sent. Set $VISUAL or "
            "$EDITOR to an editor that is installed, or give the message as an argument, or `-` to read it from "
            "standard input."
        ) from None
    if text is None:
        raise InputError("no message written (editor closed without saving): nothing was stored or sent.")
    message = "\n".join(line for line in text.splitlines() if not _is_comment(line)).strip()
    if not message:
        raise InputError("empty message: nothing was stored or sent.")
    return message


def _is_comment(line: str) -> bool:
    """A line of the template's: '#' then a space or nothing. '#42 customers' is the operator's text."""
    stripped = line.lstrip()
    return stripped == "#" or stripped.startswith(("# ", "#\t"))
