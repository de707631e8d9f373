"""An update as a mail: subject, text/plain and text/html parts. Pure functions from a view.

The subject is ``[Acme status] Investigating: API errors``: the prefix is the
display name of the channel's ``from`` address, the rest the headline. The HTML
part is a small document around ``messages.rich``'s fragment (sanitised
markdown inside escaped pieces); ``dir="auto"`` lets mail clients lay out
right-to-left text the way it was written.
"""

from __future__ import annotations

import html

from broadcaster.messages import i18n, rich
from broadcaster.messages.visibility import UpdateView
from broadcaster.messages.words import cut_note

MAX_SUBJECT_CHARS = 250  # the title is at most 200; mail clients cut long subjects anyway


# "=?utf-8?q?=0D=0AReply-To:...?=" in a title is one line of ASCII, which the mail library decodes (RFC 2047)
# into a line break and a header of the writer's: a word joiner after "=" keeps it text, and shows nothing.
_ENCODED_WORD_OPENER = "=?"


def subject(view: UpdateView, prefix: str = "") -> str:
    words = " ".join(f"[{prefix}] {rich.headline(view)}".split()) if prefix else " ".join(rich.headline(view).split())
    return rich.cut(words, MAX_SUBJECT_CHARS).removesuffix(cut_note()).replace(_ENCODED_WORD_OPENER, "=\u2060?")


def text(view: UpdateView) -> str:
    return rich.plain(view) + "\n"


def document(view: UpdateView, title: str) -> str:
    """The text/html part: a whole document, so clients do not guess at its encoding or direction."""
    return (
        f'<!DOCTYPE html>\n<html lang="{i18n.current_language()}"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head>\n"
        f'<body><div dir="auto">\n{rich.rich_html(view)}\n</div></body></html>\n'
    )


def preview(view: UpdateView, prefix: str = "") -> str:
    return f"[Email] Subject: {subject(view, prefix)}\n\n{rich.plain(view)}"
