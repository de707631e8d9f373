"""Markdown in public messages: rendered, sanitised, and the plain-text shortcut kept honest."""

from __future__ import annotations

from collections.abc import Callable
from html.parser import HTMLParser

import pytest
from broadcaster.messages import markdown
from broadcaster.messages.markdown import plain_text, render_markdown
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broadcaster.site.longform import HEADINGS, render_document


class Tags(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, {k: v or "" for k, v in attrs}))


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("plain words", "<p>plain words</p>"),
        ("*em* and **strong**", "<p><em>em</em> and <strong>strong</strong></p>"),
        ("- one\n- two", "<ul>\n<li>one</li>\n<li>two</li>\n</ul>"),
        ("3. three\n4. four", '<ol start="3">\n<li>three</li>\n<li>four</li>\n</ol>'),
        ("run `make <all>`", "<p>run <code>make &lt;all&gt;</code></p>"),
        (
            "[docs](https://example.com/a?b=1&c=2)",
            '<p><a href="https://example.com/a?b=1&amp;c=2" rel="nofollow noopener">docs</a></p>',
        ),
        (
            "[mail](mailto:ops@example.com)",
            '<p><a href="mailto:ops@example.com" rel="nofollow noopener">mail</a></p>',
        ),
        ("one\n\ntwo", "<p>one</p>\n<p>two</p>"),
    ],
    ids=["plain", "emphasis", "bullets", "ordered", "code", "link", "mailto", "paragraphs"],
)
def test_simple_markdown_renders(text: str, html: str) -> None:
    assert render_markdown(text) == html


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](&#106;avascript:alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "[x](vbscript:msgbox)",
        "<a href='javascript:alert(1)'>x</a>",
        "![x](https://tracker.example.com/pixel.png)",
        "[relative](../admin.html)",
    ],
    ids=[
        "script",
        "img-onerror",
        "js-link",
        "js-mixed-case",
        "js-entity",
        "data-url",
        "vbscript",
        "raw-anchor",
        "image",
        "relative-link",
    ],
)
@pytest.mark.parametrize("render", [render_markdown, render_document], ids=["message", "postmortem"])
def test_nothing_active_survives(text: str, render: Callable[[str], str]) -> None:
    """One link and tag policy for messages and postmortems (a postmortem may add headings, nothing else)."""
    for tag, attrs in Tags(render(text)).found:
        assert tag in markdown.ALLOWED_TAGS | HEADINGS
        assert not [a for a in attrs if a.startswith("on")]
        if tag == "a":
            assert attrs["href"].split(":")[0] in markdown.ALLOWED_SCHEMES


@pytest.mark.parametrize("render", [render_markdown, render_document], ids=["message", "postmortem"])
def test_allowed_links_survive_with_one_rel(render: Callable[[str], str]) -> None:
    links = [attrs for tag, attrs in Tags(render("[a](https://e.example/x) [m](mailto:ops@e.example)")).found if tag == "a"]
    assert links == [
        {"href": "https://e.example/x", "rel": "nofollow noopener"},
        {"href": "mailto:ops@e.example", "rel": "nofollow noopener"},
    ]


def test_headings_stay_text_so_the_page_outline_is_ours() -> None:
    assert render_markdown("# Big news") == "<p># Big news</p>"


def test_plain_text_drops_markup_and_keeps_words() -> None:
    assert plain_text("We *think* it is <fixed> & [done](https://x.example)") == (
        "We think it is <fixed> & done"
    )


# The shortcut for messages with no markdown must give what the parser gives.
_PIECES = st.sampled_from(
    [
        *"ab Z9 0.)(-+=*_#>`[]!&<\"':/é~|\\\t\r\x0c\u00a0\u2003",
        "\n",
        "\n\n",
        "1. ",
        "- ",
        "  ",
        "word",
    ]
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_PIECES, max_size=30).map("".join))
def test_the_plain_text_shortcut_matches_the_parser(text: str) -> None:
    shortcut = markdown._plain_paragraphs(text)
    if shortcut is not None:
        assert shortcut == markdown.safe_parser().render(text)


def test_the_shortcut_is_taken_for_ordinary_messages() -> None:
    message = "We are seeing errors on the API (about 5% of requests).\nNext update in 30 minutes."
    assert markdown._plain_paragraphs(message) == markdown.safe_parser().render(message)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([*"&<>\"'a é\n;#x27", "&amp;", "&#x27;"]), max_size=40).map("".join))
def test_the_shortcuts_escaping_is_markdown_its(text: str) -> None:
    from markdown_it.common.utils import escapeHtml

    assert markdown._escape_html(text) == escapeHtml(text)


def test_a_plain_message_is_rendered_without_the_parser() -> None:
    """markdown-it's import is about 20 ms of every post's path to its first upload: a plain message (the shortcut)
    never needs it; one with markdown loads it then."""
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from broadcaster.messages.markdown import render_markdown\n"
        "from broadcaster.site import build, longform\n"
        "assert render_markdown('Errors on the API (5%).\\nNext update at 15:30 UTC.') == "
        "'<p>Errors on the API (5%).\\nNext update at 15:30 UTC.</p>'\n"
        "print(sorted(m for m in sys.modules if m.startswith('markdown_it')))\n"
        "render_markdown('*now*')\n"
        "print('markdown_it' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split("\n")[:2] == ["[]", "True"]
