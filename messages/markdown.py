"""Simple markdown in public messages, rendered to HTML that is safe to publish.

Operators may write emphasis, links, lists and code. The text is untrusted as
far as the page is concerned (it may quote an error message, a customer's
words, a pasted URL), so two layers stand between it and the HTML:

1. markdown-it-py with raw HTML disabled renders it, refusing links that are
   not http, https or mailto (relative links would break between the index and
   the incident pages; ``javascript:`` and ``data:`` must never become links).
2. nh3 sanitises the result against an allow-list of tags and attributes and
   adds ``rel="nofollow noopener"`` to every link, so a bug or a future option
   in layer 1 still cannot publish a script or an event handler.

Headings and images are switched off: a heading inside a message would break
the page's heading order, and an image would load a third party's content on
every visit.
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import cache, lru_cache
from typing import TYPE_CHECKING

import nh3

from broadcaster import lazy_re

if TYPE_CHECKING:  # imported by the parser's first use: a plain message never needs it (about 20 ms of a post)
    from markdown_it import MarkdownIt
    from markdown_it.rules_core import StateCore

ALLOWED_SCHEMES = frozenset({"http", "https", "mailto"})
ALLOWED_TAGS = frozenset(
    {"p", "br", "em", "strong", "a", "ul", "ol", "li", "code", "pre", "blockquote", "hr"}
)
_ALLOWED_ATTRIBUTES = {"a": {"href"}, "ol": {"start"}}
_LINK_REL = "nofollow noopener"
# The inline and block rules that would emit something outside the allow-list;
# messages also drop headings (a heading inside a message would break the page's outline).
_UNSAFE_RULES = ("image", "html_block", "html_inline")
_HEADING_RULES = ("heading", "lheading")


def link_is_allowed(url: str) -> bool:
    """The one link policy of every markdown the site renders: absolute http, https and mailto only."""
    scheme, colon, _ = url.partition(":")
    return bool(colon) and scheme.strip().lower() in ALLOWED_SCHEMES


@cache
def safe_parser(*, headings: bool = False) -> MarkdownIt:
    """A markdown-it parser with raw HTML and images off and the link policy on (headings only if asked)."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.disable(list(_UNSAFE_RULES if headings else _UNSAFE_RULES + _HEADING_RULES))
    # Checked on the normalised URL, so "JaVaScRiPt:" and entity tricks are caught too.
    md.validateLink = link_is_allowed  # type: ignore[method-assign]
    md.core.ruler.before("text_join", "hidden_references", _references_as_typed)
    return md


def _references_as_typed(state: StateCore) -> None:
    """A character reference to an invisible or control character ("&#x202E;", "&zwj;"), which the input gate
    refuses as a character, shown as typed instead of decoded (a bidi override would reorder the words readers
    see). In text; a link's title holding one is left out; code shows what was typed anyway, and a link's address is
    percent-encoded."""
    for token in state.tokens:
        for child in token.children or ():
            if child.type == "text_special" and child.info == "entity" and _hidden(child.content):
                child.content = child.markup
            elif child.type == "link_open" and _hidden(str(child.attrGet("title") or "")):
                child.attrs.pop("title", None)  # decoded already, so not as typed: left out (a tooltip, no more)


def _hidden(text: str) -> bool:
    return any(unicodedata.category(c) in ("Cf", "Cc", "Cs", "Co", "Cn", "Zl", "Zp") for c in text)


@cache
def safe_cleaner(extra_tags: frozenset[str] = frozenset()) -> nh3.Cleaner:
    """nh3 with the allow-list (plus ``extra_tags``), the link policy's schemes and rel="nofollow noopener"."""
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS | extra_tags),
        attributes={tag: set(names) for tag, names in _ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(ALLOWED_SCHEMES),
        link_rel=_LINK_REL,
        strip_comments=True,
    )


# Characters that may start markdown syntax anywhere, or odd whitespace and
# control characters the parser normalises; and what makes a line start a block
# (list item, quote, heading, thematic break, setext underline, ordered list).
_SYNTAX = lazy_re.compile(
    r"[\\`*_\[\]<>!&~#|\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]|^[-+=]|^\d+[.)]",
    re.MULTILINE,
)


def _escape_html(text: str) -> str:
    """markdown-it's ``escapeHtml``: ``&``, ``<``, ``>`` and ``"`` as entities, a single quote as it is."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _plain_paragraphs(text: str) -> str | None:
    """What the parser would emit for text with no markdown in it; None if it has some.

    Most incident messages are plain sentences. Parsing them costs more than
    the rest of an incident page, and a full build renders tens of thousands.
    A property test checks this shortcut against the parser.
    """
    if _SYNTAX.search(text):
        return None
    lines = text.split("\n")
    if any(line != line.strip() for line in lines):
        return None  # leading spaces (code blocks), trailing ones (hard breaks)
    paragraphs = text.split("\n\n")
    return "".join(f"<p>{_escape_html(p.strip(chr(10)))}</p>\n" for p in paragraphs if p.strip())


def _render(text: str) -> str:
    plain = _plain_paragraphs(text)
    return plain if plain is not None else safe_parser().render(text)


# A full site build renders the same latest update on the index, its page and the feeds.
@lru_cache(maxsize=2048)
def render_markdown(text: str) -> str:
    """Markdown text -> sanitised HTML fragment (block level: paragraphs, lists)."""
    return safe_cleaner().clean(_render(text)).strip()


@cache
def _tag_stripper() -> nh3.Cleaner:
    return nh3.Cleaner(tags=set(), attributes={}, link_rel=None)


def plain_text(text: str) -> str:
    """Markdown text -> the words alone, for meta descriptions and summaries."""
    rendered = _tag_stripper().clean(render_markdown(text))
    return " ".join(html.unescape(rendered).split())


_LINK = lazy_re.compile(r'<a\s[^>]*?href="([^"]*)"[^>]*>(.*?)</a>', re.DOTALL)
_LINE_END = lazy_re.compile(r"</(?:p|li|h[1-6]|blockquote|pre)>|<br\s*/?>", re.IGNORECASE)
_ITEM = lazy_re.compile(r"<(/?)(ol|ul|li)(?:\s[^>]*)?>", re.IGNORECASE)
_START = lazy_re.compile(r'start="(\d+)"')


def _items(rendered: str) -> str:
    """Each list item's mark as the page shows it: ``- `` in a bulleted list, its number in a numbered one (``1. ``,
    from its ``start``): "2. Restart the workers" read "- Restart the workers", and a step named by its number
    was lost."""
    counters: list[int | None] = []

    def mark(found: re.Match[str]) -> str:
        closing, tag = found.group(1), found.group(2).lower()
        if tag != "li":
            if closing:
                counters[-1:] = []
            else:
                start = _START.search(found.group(0))
                counters.append(None if tag == "ul" else int(start.group(1)) if start else 1)
            return ""
        if closing:
            return ""
        number = counters[-1] if counters else None
        if number is None:
            return "- "
        counters[-1] = number + 1
        return f"{number}. "

    return _ITEM.sub(mark, rendered)


def plain_text_with_links(text: str) -> str:
    """Markdown text -> the words, one line per paragraph or list item, each link's address after its words: for
    a calendar's description, where nothing is a link and the reader has only these words (``plain_text``, one line
    without addresses, lost "see the [guide](https://...)")."""

    def link(found: re.Match[str]) -> str:
        address = html.unescape(found.group(1)).strip()
        words = html.unescape(_tag_stripper().clean(found.group(2))).strip()
        return found.group(2) if not address or address == words else f"{found.group(2)} ({html.escape(address)})"

    rendered = _items(_LINE_END.sub("\n", _LINK.sub(link, render_markdown(text))))
    lines = (" ".join(line.split()) for line in html.unescape(_tag_stripper().clean(rendered)).split("\n"))
    return "\n".join(line for line in lines if line)
