"""Markdown for a postmortem: the rules of ``messages.markdown``, plus headings.

An update message is a few sentences, and ``messages.markdown`` keeps headings
off so a message cannot break the page's outline. A postmortem is a document
with sections ("What happened", "Timeline", "What we are changing"), and its
headings are what make it readable. They are renumbered to sit under the
"Postmortem" heading (an h2): the levels the author used, in order, become h3,
h4, h5 and h6, so "## Summary" and "# Summary" both become an h3 and the page
never skips a level.

Everything else is as for messages: no raw HTML, no images, only http, https
and mailto links; then nh3 with the same allow-list plus h3-h6, which adds
``rel="nofollow noopener"`` to every link.
"""

from __future__ import annotations

from functools import cache, lru_cache

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

from broadcaster.messages.markdown import ALLOWED_SCHEMES, ALLOWED_TAGS

FIRST_LEVEL = 3  # under the section's h2
HEADINGS = frozenset(f"h{level}" for level in range(FIRST_LEVEL, 7))
_ATTRIBUTES = {"a": {"href"}, "ol": {"start"}}  # as messages.markdown allows
_LINK_REL = "nofollow noopener"


def _link_is_allowed(url: str) -> bool:
    scheme, colon, _ = url.partition(":")
    return bool(colon) and scheme.strip().lower() in ALLOWED_SCHEMES


@cache
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.disable(["image", "html_block", "html_inline"])
    # Checked on the normalised URL, so "JaVaScRiPt:" and entity tricks are caught too.
    md.validateLink = _link_is_allowed  # type: ignore[method-assign]
    return md


@cache
def _cleaner() -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS | HEADINGS),
        attributes={tag: set(names) for tag, names in _ATTRIBUTES.items()},
        url_schemes=set(ALLOWED_SCHEMES),
        link_rel=_LINK_REL,
        strip_comments=True,
    )


def _renumber(tokens: list[Token]) -> None:
    headings = [t for t in tokens if t.type in ("heading_open", "heading_close")]
    used = sorted({t.tag for t in headings})
    level = {tag: f"h{min(FIRST_LEVEL + rank, 6)}" for rank, tag in enumerate(used)}
    for token in headings:
        token.tag = level[token.tag]


@lru_cache(maxsize=64)
def render_document(text: str) -> str:
    """Markdown text -> sanitised HTML with headings from h3 down."""
    md = _parser()
    tokens = md.parse(text)
    _renumber(tokens)
    return _cleaner().clean(md.renderer.render(tokens, md.options, {})).strip()


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
