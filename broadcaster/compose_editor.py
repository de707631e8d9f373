"""Write an update in $VISUAL/$EDITOR, like ``git commit``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from broadcaster.errors import InputError
from broadcaster.messages import gate

# The template's lines are one block between these two lines, stripped whole; everything else in the file is the
# operator's, "# " headings of a postmortem included. Nothing markdown writes, and nothing typed by accident.
BLOCK_OPENS = "#~~~~ broadcaster: from this line to the closing one, nothing is published ~~~~"
BLOCK_CLOSES = "#~~~~ broadcaster: end of the lines never published ~~~~"

TEMPLATE_HELP = """\
# Write the public update above this block; the whole block is left out, and every line outside it is yours
# (markdown headings too). Leave its lines as they are, or delete the block whole.
# Private detail (only private channels see it): [private]circuit 12, ACME[/private]
# An empty message aborts: nothing is stored or sent.
"""


def compose_in_editor(incident: Any, updates: Sequence[Any], correcting: Any = None) -> str:
    """Open the editor with a template; return what the operator wrote, the template's block left out.

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
    block = f"{BLOCK_OPENS}\n{header}{TEMPLATE_HELP}{BLOCK_CLOSES}\n"
    try:
        text = click.edit("\n\n" + block, extension=".md", require_save=True)
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
    message = without_block(text, block)
    if not message:
        raise InputError("empty message: nothing was stored or sent.")
    return message


def without_block(text: str, block: str) -> str:
    """``text`` as saved, the template's ``block`` taken out whole. Refused when a line of the block was edited,
    or the block was cut apart (a line of it outside, an opening or closing line gone): the template shows the
    incident's and an update's texts for reference, some only staff read, and an edited line of it must never
    pass for the operator's text. A line the operator wrote inside the block is refused rather than lost."""
    ours = [line.rstrip() for line in block.splitlines()]
    lines = [line.rstrip() for line in text.splitlines()]
    opened, closed = _at(lines, BLOCK_OPENS), _at(lines, BLOCK_CLOSES)
    if opened is not None and closed is not None and opened < closed:
        _refuse_edited(lines[opened:closed + 1], ours)
        lines = lines[:opened] + lines[closed + 1:]
    elif opened is not None or closed is not None:
        raise InputError(
            "the editor's template block is no longer whole (its opening or closing \"#~~~~ broadcaster\" line is "
            "gone or moved), so its lines would pass for your text: nothing was stored or sent. Write the message "
            "above the block and leave the block's lines as they are, or delete the whole block.")
    # A bare "#" (an empty line of a shown text) is no telling line: markdown may have one too.
    telling = {line for line in ours if line.strip() not in ("", "#")}
    stray = next((line for line in lines if line in telling), None)
    if stray is not None:
        raise InputError(
            f"{_shortened(stray)!r} is a line of the editor's template left outside its block, and would be published: "
            "nothing was stored or sent. Delete it, or write the message again above the block.")
    return "\n".join(lines).strip()


def _at(lines: Sequence[str], marker: str) -> int | None:
    return next((n for n, line in enumerate(lines) if line.strip() == marker), None)


def _refuse_edited(kept: Sequence[str], ours: Sequence[str]) -> None:
    """The block as saved is the template's, blank lines aside (an editor may add or drop them)."""
    saved = [line for line in kept if line.strip()]
    if saved == [line for line in ours if line.strip()]:
        return
    changed = next((line for line in saved if line not in ours), None)
    where = f": {_shortened(changed)!r} is not one of its lines" if changed is not None else ""
    raise InputError(
        f"a line of the editor's template block was changed, added or deleted{where}. The block is never published, "
        "and an edited line of it is not taken for your text: nothing was stored or sent. Write the message above "
        "the block (the lines "
        "starting \"#~~~~ broadcaster\" open and close it), and leave the block's lines as they are, or delete the "
        "whole block.")


def _shortened(line: str) -> str:
    return line if len(line) <= 80 else line[:77] + "..."


def _shown(update: Any) -> str:
    """``update``'s public text as lines of the template."""
    from broadcaster.messages.visibility import public_text

    return "".join(f"#   {line}\n" for line in public_text(update.raw_message).splitlines())
