"""Markdown for a postmortem: the rules of ``messages.markdown``, plus headings.

An update message is a few sentences, and ``messages.markdown`` keeps headings
off so a message cannot break the page's outline. A postmortem is a document
with sections ("What happened", "Timeline", "What we are changing"), and its
headings are what make it readable. They are renumbered to sit under the
"Postmortem" heading (an h2): the levels the author used, in order, become h3,
h4, h5 and h6, so "## Summary" and "# Summary" both become an h3 and the page
never skips a level.

Everything else is as for messages, from the same place (``safe_parser`` and
``safe_cleaner``, the one link policy): no raw HTML, no images, only http,
https and mailto links; then nh3 with the same allow-list plus h3-h6, which
adds ``rel="nofollow noopener"`` to every link.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from broadcaster.messages.markdown import safe_cleaner, safe_parser

if TYPE_CHECKING:
    from markdown_it.token import Token

FIRST_LEVEL = 3  # under the section's h2
HEADINGS = frozenset(f"h{level}" for level in range(FIRST_LEVEL, 7))


def _renumber(tokens: list[Token]) -> None:
    headings = [t for t in tokens if t.type in ("heading_open", "heading_close")]
    used = sorted({t.tag for t in headings})
    level = {tag: f"h{min(FIRST_LEVEL + rank, 6)}" for rank, tag in enumerate(used)}
    for token in headings:
        token.tag = level[token.tag]


@lru_cache(maxsize=64)
def render_document(text: str) -> str:
    """Markdown text -> sanitised HTML with headings from h3 down."""
    md = safe_parser(headings=True)
    tokens = md.parse(text)
    _renumber(tokens)
    return safe_cleaner(HEADINGS).clean(md.renderer.render(tokens, md.options, {})).strip()


def excerpt(text: str, limit: int) -> tuple[str, bool]:
    """The first blocks of a markdown document, at most ``limit`` characters; and whether it was cut.

    Cut between blocks (blank lines), so a heading or a list is never broken in two;
    a first block longer than the limit is cut at a space.
    """
    if len(text) <= limit:
        return text, False
    kept: list[str] = []
    size = 0
    for block in text.split("\n\n"):
        if size + len(block) > limit:
            break
        kept.append(block)
        size += len(block) + 2
    if not kept:
        head = text[:limit]
        kept = [head.rsplit(" ", 1)[0] if " " in head else head]
    return "\n\n".join(kept).rstrip(), True
