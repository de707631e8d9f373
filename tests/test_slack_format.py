"""The pure Slack formatter: escaping, splitting and Block Kit limits, checked without HTTP.

Blocks are judged by the fake's own validator (``tests.fakes.slack.block_errors``),
the same code that answers ``invalid_blocks`` over HTTP in test_slack.py.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from broadcaster.messages import slack as fmt
from broadcaster.messages.model import AffectedComponent, ComponentStatus, Impact, Incident, Status, Update
from broadcaster.messages.visibility import private_view, public_view
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes.slack import _CONTROL, block_errors, mrkdwn_texts

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
URL = "https://status.example.com/incidents/inc-1.html"


def make_view(
    message: str = "Investigating.", *, title: str = "API errors", private: bool = False, **kw: Any
) -> Any:
    incident = Incident("inc-1", title, Impact.MAJOR, Status.INVESTIGATING, T0)
    upd = Update(
        "inc-1", kw.pop("sequence", 1), T0, kw.pop("status", Status.INVESTIGATING), message, **kw
    )
    return (private_view if private else public_view)(incident, upd, url=URL)


def controls(blocks: list[dict[str, Any]]) -> list[str]:
    return [m.group(1) for text in mrkdwn_texts(blocks) for m in _CONTROL.finditer(text)]


# -- escaping and links -----------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a & b", "a &amp; b"),
        ("<!channel>", "&lt;!channel&gt;"),
        ("<@U123>", "&lt;@U123&gt;"),
        ("&amp;", "&amp;amp;"),
        ("*bold* _it_ ~s~ `c`", "*bold* _it_ ~s~ `c`"),
    ],
    ids=["amp", "channel", "user", "entity-lookalike", "markdown-kept"],
)
def test_escape(raw: str, escaped: str) -> None:
    assert fmt.escape(raw) == escaped


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("see https://example.com/x.", "see <https://example.com/x>."),
        ("(https://example.com/a?b=1&c=2)", "(<https://example.com/a?b=1&amp;c=2>)"),
        ("<http://evil.example|click>", "&lt;http://evil.example|click&gt;"),
        ("http://a.example|label", "<http://a.example>|label"),
        ("https://", "https://"),
        ("ftp://example.com", "ftp://example.com"),
    ],
    ids=[
        "trailing-dot",
        "parens-and-query",
        "disguised-stays-text",
        "pipe-ends-url",
        "bare-scheme",
        "not-http",
    ],
)
def test_mrkdwn_links_urls_but_never_disguises_them(raw: str, expected: str) -> None:
    assert fmt.mrkdwn(raw) == expected


def test_incident_link_escapes_the_url() -> None:
    assert (
        fmt.link("https://x.example/a?b=1&c=<2>|", "Page & more")
        == "<https://x.example/a?b=1&amp;c=&lt;2&gt;%7C|Page &amp; more>"
    )


# -- splitting --------------------------------------------------------------------


def test_split_prefers_paragraphs() -> None:
    text = "\n\n".join(["a" * 1500, "b" * 1400, "c" * 1500])
    assert fmt.split_text(text, 3000) == ["a" * 1500 + "\n\n" + "b" * 1400, "c" * 1500]


def test_split_falls_back_to_sentences_then_words() -> None:
    sentences = "One short sentence here. " * 200
    chunks = fmt.split_text(sentences.strip(), 1000)
    assert all(len(c) <= 1000 and c.endswith(".") for c in chunks)
    words = " ".join(["word"] * 1000)
    assert all(len(c) <= 1000 and not c.endswith("wor") for c in fmt.split_text(words, 1000))


def test_split_never_cuts_an_entity() -> None:
    escaped = fmt.escape("&<>" * 4000)  # no whitespace at all: only hard cuts
    chunks = fmt.split_text(escaped, 3000)
    assert "".join(chunks) == escaped
    assert all(len(c) <= 3000 and re.fullmatch(r"(?:&amp;|&lt;|&gt;)+", c) for c in chunks)


def test_split_never_cuts_a_link() -> None:
    escaped = fmt.mrkdwn("x" * 2990 + "https://example.com/" + "p" * 200)
    chunks = fmt.split_text(escaped, 3000)
    assert chunks[0] == "x" * 2990 and chunks[1].startswith("<https://example.com/")


def test_split_counts_astral_characters_twice() -> None:
    chunks = fmt.split_text("😀" * 3000, 3000)
    assert [len(c) for c in chunks] == [1500, 1500]
    assert all(fmt.slack_len(c) <= 3000 for c in chunks)


def test_split_cjk_at_full_stops() -> None:
    text = "服务器出现故障。" * 500
    chunks = fmt.split_text(text, 1000)
    assert all(c.endswith("。") and len(c) <= 1000 for c in chunks)
    assert "".join(chunks) == text


# -- Block Kit limits ---------------------------------------------------------------


def test_header_is_plain_text_within_150() -> None:
    [header] = fmt.update_blocks(make_view(title="T" * 400))[:1]
    assert header["text"]["type"] == "plain_text"
    assert fmt.slack_len(header["text"]["text"]) == 150 and header["text"]["text"].endswith("…")


def test_a_huge_message_is_cut_to_fifty_blocks_with_a_pointer() -> None:
    blocks = fmt.update_blocks(make_view("All the words. " * 20_000))
    assert len(blocks) == 50 and block_errors(blocks) == []
    sections = [b for b in blocks if b["type"] == "section" and "text" in b]
    assert "the incident page has it in full" in sections[-1]["text"]["text"]


def test_long_lists_become_capped_fields() -> None:
    customers = tuple(
        f"Customer number {i} with a long legal name GmbH & Co. KG" for i in range(2000)
    )
    blocks = fmt.update_blocks(make_view(private=True, customers=customers))
    fields = [f["text"] for b in blocks if "fields" in b for f in b["fields"]]
    customer_fields = [f for f in fields if f.startswith("*Customers")]
    assert block_errors(blocks) == [] and len(customer_fields) == fmt.MAX_LIST_FIELDS
    shown = sum(f.count("\n") for f in customer_fields)  # one line each, after the label
    # The count is written as the language writes numbers (issue 17): "1,195" in English.
    count = int(re.search(r"and ([\d,]+) more", customer_fields[-1]).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert shown - 1 + count == 2000


def test_a_huge_private_note_is_cut() -> None:
    blocks = fmt.update_blocks(make_view(private=True, private_note="secret plan. " * 5000))
    assert block_errors(blocks) == [] and len(blocks) <= 50
    assert "note cut to fit Slack" in str(blocks)


def test_card_quotes_only_the_start_of_the_latest_update() -> None:
    blocks = fmt.card_blocks(make_view("word " * 2000, sequence=3, status=Status.MONITORING))
    assert block_errors(blocks) == []
    assert "Monitoring: API errors" in blocks[0]["text"]["text"]
    assert (
        len(blocks[1]["text"]["text"]) < 700
        and "continued in the thread" in blocks[1]["text"]["text"]
    )
    assert "The timeline is in the thread" in str(blocks[-1])


def test_fallback_text_is_escaped_and_bounded() -> None:
    text = fmt.fallback_text(make_view("<!here> " + "x" * 9000))
    assert (
        text.startswith("Investigating: API errors\n&lt;!here&gt; ") and fmt.slack_len(text) <= 4000
    )


def test_times_are_slack_dates_with_a_utc_fallback() -> None:
    blocks = fmt.update_blocks(make_view(etr=T0 + timedelta(hours=1)))
    assert (
        f"<!date^{int(T0.timestamp()) + 3600}^{{date_short_pretty}} {{time}}|2024-05-01 13:00 UTC>"
        in str(blocks)
    )


@pytest.mark.parametrize(
    ("status", "emoji"),
    [
        (Status.INVESTIGATING, ":large_orange_circle:"),
        (Status.RESOLVED, ":white_check_mark:"),
        (Status.IN_PROGRESS, ":wrench:"),
    ],
    ids=["by-impact", "resolved", "maintenance"],
)
def test_header_emoji(status: Status, emoji: str) -> None:
    assert fmt.update_blocks(make_view(status=status))[0]["text"]["text"].startswith(emoji + " ")


# -- visibility and preview -----------------------------------------------------------


def test_public_view_has_no_private_part_and_private_view_does() -> None:
    kw: dict[str, Any] = {
        "private_note": "restart db-7",
        "customers": ("Acme",),
        "tickets": ("T-1",),
        "author": "alice",
    }
    public = fmt.update_blocks(make_view("Slow. [private]db-7 is sick[/private]", **kw))
    private = fmt.update_blocks(
        make_view("Slow. [private]db-7 is sick[/private]", private=True, **kw)
    )
    assert "db-7" not in str(public) and "Acme" not in str(public) and "divider" not in str(public)
    for bit in ("db-7 is sick", "restart db-7", "Acme", "T-1", "alice", ":lock: Private"):
        assert bit in str(private)


def test_preview_is_readable_unescaped_text() -> None:
    text = fmt.preview(make_view("R&D <team> is on it.", private=True, private_note="p", etr=T0))
    assert "R&D <team> is on it." in text and "&amp;" not in text
    assert (
        "Expected resolution: 2024-05-01 12:00 UTC" in text and "Private (internal only): p" in text
    )
    assert f"Incident page: {URL}" in text


# -- properties ----------------------------------------------------------------------

_PIECES = st.sampled_from(
    list("&<>|!@#*_~`:. \n")
    + ["<!channel>", "<@U1>", "&amp;", "http://x.io/a?b&c", "😀", "。", "<http://e.io|x>"]
)
_CHARS = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"))
_TEXT = (
    st.lists(st.one_of(_PIECES, _CHARS), min_size=1, max_size=200)
    .map("".join)
    .filter(lambda s: "private" not in s.lower() and s.strip())
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(message=_TEXT, title=_TEXT, repeat=st.integers(min_value=1, max_value=60))
def test_any_text_gives_valid_blocks_that_ping_nobody(
    message: str, title: str, repeat: int
) -> None:
    components = tuple(
        AffectedComponent(f"c{i}", ComponentStatus.DEGRADED_PERFORMANCE) for i in range(repeat)
    )
    view = make_view((message + "\n") * repeat, title=title.strip() or "t", components=components)
    for blocks in (fmt.update_blocks(view), fmt.card_blocks(view)):
        assert block_errors(blocks) == []
        for control in controls(blocks):
            assert control.startswith(("!date^", "http://", "https://")), control
            assert (
                "|" not in control
                or control.startswith("!date^")
                or control.endswith("|Incident page")
            )
    assert fmt.slack_len(fmt.fallback_text(view)) <= fmt.FALLBACK_CHARS
