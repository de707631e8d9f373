"""A review (each test failed before its fix): the gate refuses bidi overrides and zero-width characters, but an HTML character reference for one
passes it as plain ASCII and markdown-it decodes it: Matrix's formatted_body and the mail's HTML part then carry
a real U+202E (Trojan-source style text), while the plain body shows the reference."""

from __future__ import annotations

import unicodedata

import pytest
from broadcaster.messages import email as email_fmt
from broadcaster.messages import gate
from broadcaster.messages import matrix as matrix_fmt
from broadcaster.messages.markdown import render_markdown

from tests.channel_updates import update, view
from tests.conftest import Project

# Shown by an HTML client as "Customer data was not exposed in this incident."
MESSAGE = "Customer data was &#x202E;desopxe ton&#x202C; in this incident."


def _format_characters(text: str) -> list[str]:
    return [f"U+{ord(c):04X}" for c in text if unicodedata.category(c) == "Cf"]


@pytest.mark.parametrize("message", [MESSAGE, "Zero&#8203;width and &#xFEFF; and &#x2066;isolate&#x2069;"])
def test_matrix_formatted_body_holds_no_format_character(message: str) -> None:
    assert gate.admit(message, "the message", gate.MESSAGE) == message  # plain ASCII: the gate takes it
    content = matrix_fmt.content(view(update(message=message)))
    assert _format_characters(content["formatted_body"]) == []


def test_the_mails_html_part_holds_no_format_character() -> None:
    v = view(update(message=MESSAGE))
    assert _format_characters(email_fmt.document(v, email_fmt.subject(v, "Acme status"))) == []


def test_a_reference_to_a_visible_character_is_still_decoded() -> None:
    from broadcaster.messages.markdown import render_markdown

    assert render_markdown("Fish &amp; chips &mdash; *now* &#x41;") == "<p>Fish &amp; chips \u2014 <em>now</em> A</p>"
    assert render_markdown("*x* &#x202E;y") == "<p><em>x</em> &amp;#x202E;y</p>"


@pytest.mark.parametrize(("typed", "shown"), [
    ("Strip `&zwj;` from the **names**.", "&zwj;"),
    ("The payload held `&#x202E;` in the **title**.", "&#x202E;"),
    ("Before:\n\n```\nname=&#8203;admin\n```\n", "name=&#8203;admin"),
])
def test_a_reference_in_code_is_shown_as_typed(typed: str, shown: str) -> None:
    """A review of the first fix: it rewrote "&zwj;" before parsing, in code too, which showed "&amp;zwj;"."""
    import html

    from broadcaster.messages.markdown import render_markdown

    assert shown in html.unescape(render_markdown(typed))


# A review of the second fix: a link's title (an attribute nh3 keeps) still decoded them.
HIDDEN = ("\u202e", "\u200d", "\u200b")


def test_link_title_keeps_hidden_reference_as_typed() -> None:
    out = render_markdown('See [the report](https://status.example.com/r "&#x202E;gnitroper &zwj;x") **now**.')
    assert not any(c in out for c in HIDDEN), repr(out)


def test_reference_link_title_keeps_hidden_reference_as_typed() -> None:
    out = render_markdown('See [the report] **now**.\n\n[the report]: https://status.example.com/r "a&#8238;b"')
    assert not any(c in out for c in HIDDEN), repr(out)


def test_posted_link_title_puts_no_bidi_override_on_the_page(project: Project) -> None:
    project.write_config()
    result = project.cli("post", "--yes", "--title", "API errors", "--",
                         'Errors on the API, see [the report](https://status.example.com/r "&#x202E;evil").')
    assert result.exit_code == 0, result.output
    pages = [p for p in project.site.rglob("*") if p.is_file() and p.suffix in (".html", ".xml", ".json")]
    assert pages
    bad = [str(p.relative_to(project.site)) for p in pages if "\u202e" in p.read_text(encoding="utf-8")]
    assert bad == [], bad
