"""The input gate on its own: what reads as a marker, what is text, and the limits (messages/gate.py)."""

from __future__ import annotations

import itertools
import re
import sys
import unicodedata

import pytest
from broadcaster.messages import gate
from hypothesis import given, settings
from hypothesis import strategies as st

from broadcaster.errors import InputError

REFUSED = [
    ("fullwidth", "［private］x［/private］"),
    ("cyrillic-er", "[рrivate]x[/рrivate]"),
    ("greek-nu-for-v", "[priνate]x"),
    ("dotless-i", "[prıvate]x"),
    ("entity-decimal", "&#91;private&#93;"),
    ("entity-named", "&lsqb;private&rsqb;"),
    ("angle", "<private>x</private>"),
    ("guillemets", "«private»"),
    ("curly", "{private}"),
    ("round", "(private)"),
    ("mathematical-brackets", "⟨private⟩"),
    ("typo-missing", "[privte]"),
    ("typo-transposed", "[pirvate]"),
    ("typo-extra", "[privatte]"),
    ("typo-two-edits", "[prvte]"),
    ("round-typo", "(privte)"),
    ("spaced-word", "[p r i v a t e]"),
    ("hyphenated-word", "[pri-vate]"),
    ("markdown-escaped", r"\[private\]"),
    ("small-capitals", "[ᴘʀɪᴠᴀᴛᴇ]"),
    ("mathematical-letters", "[𝐩𝐫𝐢𝐯𝐚𝐭𝐞]"),
    ("half-open", "[private network] x"),
    ("half-close", "a private] b"),
    ("unclosed", "a [private] b"),
    ("stray-close", "a [/private] b"),
    ("nested", "[private]a[private]b[/private][/private]"),
    ("joined-by-the-span", "[pri[private]x[/private]vate]"),
]


@pytest.mark.parametrize("text", [t for _, t in REFUSED], ids=[n for n, _ in REFUSED])
def test_lookalikes_and_malformed_markers_are_refused(text: str) -> None:
    with pytest.raises(InputError, match="the message"):
        gate.admit(text, "the message", gate.MESSAGE)


@pytest.mark.parametrize(("text", "named"), [
    ("Errors. [fro acme]ACM-7 down[/for]", "'[fro acme]' meant to open it? Write [for ID] exactly."),
    ("Errors. [fro acme]\nACM-7 down[/for]", "'[fro acme]' meant to open it?"),
    ("[privte]INC-4242[/private] rising", "'[privte]' meant to open it? Write [private] exactly."),
    ("[private]a[/private] then b[/private]", None),  # a real marker is never named as the mistyped one
])
def test_a_stray_closer_names_the_opener_it_was_likely_meant_for(text: str, named: str | None) -> None:
    """A docs review: `[fro acme]...[/for]` was refused as a [/for] "with no [for] before it", pointing at the
    closer the operator wrote right rather than the opener they mistyped."""
    with pytest.raises(InputError) as refused:
        gate.admit(text, "the message", gate.MESSAGE)
    if named is None:
        assert "meant to open it" not in str(refused.value)
    else:
        assert named in str(refused.value) and "nothing was stored or sent" in str(refused.value)


ACCEPTED = [
    ("plain", "API errors are elevated. Investigating."),
    ("real-marker", "Errors [private]for ACME[/private] elevated."),
    ("upper-case-marker", "x [PRIVATE]y[/PRIVATE] z"),
    ("spaced-marker", "x [ private ]y[ / private ] z"),
    ("markdown-link", "See [the docs](https://example.com) (and notes)."),
    ("privacy-in-prose", "Our privacy policy (privacy matters) is unchanged."),
    ("private-network-in-parens", "The VPN (private network) is down."),
    ("word-private", "Private networks are fine; private keys were not exposed."),
    ("emoji-zwj", "On it 👩‍💻 now."),
    ("cjk", "API の エラー が 増加 しています。"),
    ("ampersand", "AT&T and R&D; fish & chips"),
]


@pytest.mark.parametrize("text", [t for _, t in ACCEPTED], ids=[n for n, _ in ACCEPTED])
def test_ordinary_text_and_real_markers_pass(text: str) -> None:
    assert gate.admit(text, "the message", gate.MESSAGE) == text


def test_fields_without_markers_refuse_real_ones_too() -> None:
    with pytest.raises(InputError, match="--customer .*takes no markers"):
        gate.admit("ACME [private]x[/private]", "--customer", gate.NAME)


def test_text_is_stored_in_nfc() -> None:
    assert gate.admit("Cafe\u0301 down", "the message", gate.MESSAGE) == "Café down"


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x07", "\r", "\u00ad", "\u200b", "\u202e", "\u2066", "\ufeff", "\U000e0041"],
                         ids=["nul", "esc", "bel", "cr", "soft-hyphen", "zwsp", "rlo", "lri", "bom", "tag"])
def test_control_and_format_characters_are_refused_with_the_position(char: str) -> None:
    with pytest.raises(InputError, match=f"--title holds .*U\\+{ord(char):04X}.* at character 4"):
        gate.admit("abc" + char + "def", "--title", gate.TITLE)


def test_a_lookalike_error_names_the_position_and_the_text_as_written() -> None:
    with pytest.raises(InputError, match=r"holds '＜private＞' at character 7"):
        gate.admit("Down. ＜private＞x", "the message", gate.MESSAGE)


def test_limits_count_characters_and_the_postmortem_bytes() -> None:
    assert gate.admit("é" * 5_000, "m", gate.MESSAGE)
    with pytest.raises(InputError, match="5,001 characters; a message may be at most 5,000"):
        gate.admit("é" * 5_001, "m", gate.MESSAGE)
    with pytest.raises(InputError, match="204,802 bytes"):
        gate.admit("é" * 102_401, "p", gate.POSTMORTEM)


@pytest.mark.parametrize(("a", "b", "expected"), [("private", "private", 0), ("privte", "private", 1),
                                                  ("pirvate", "private", 1), ("privacy", "private", 2), ("", "abc", 3)])
def test_distance_counts_a_transposition_as_one_edit(a: str, b: str, expected: int) -> None:
    assert gate.distance(a, b) == expected


def _slip_by_its_definition(word: str, meant: str) -> bool:
    """``gate._slip_of`` as its docstring defines it, through the edit distance: the reference for the fast one."""
    if abs(len(word) - len(meant)) == 1:
        return gate.distance(word, meant) == 1
    return len(word) == len(meant) and sorted(word) == sorted(meant) and gate.distance(word, meant) == 1


def test_a_slip_is_read_in_one_pass_as_the_edit_distance_reads_it() -> None:
    words = ["".join(letters) for size in range(6) for letters in itertools.product("abc", repeat=size)]
    differing = [(word, meant) for word in words for meant in words
                 if abs(len(word) - len(meant)) <= 1 and gate._slip_of(word, meant) != _slip_by_its_definition(word, meant)]
    assert not differing, differing[:10]  # every pair of words of up to 5 letters of 3


@st.composite
def _edited(draw: st.DrawFn) -> tuple[str, str]:
    """A word and the same word with one or two edits: most random pairs are far apart, slips are near."""
    meant = draw(st.text("abcni", max_size=9))
    word = meant
    for _ in range(draw(st.integers(1, 2))):
        at = draw(st.integers(0, len(word)))
        letter = draw(st.sampled_from("abcni"))
        edit = draw(st.sampled_from(("drop", "double", "swap", "replace", "insert")))
        if edit == "drop":
            word = word[:at] + word[at + 1 :]
        elif edit == "double":
            word = word[: at + 1] + word[at : at + 1] + word[at + 1 :]
        elif edit == "swap":
            word = word[:at] + word[at + 1 : at + 2] + word[at : at + 1] + word[at + 2 :]
        elif edit == "replace":
            word = word[:at] + letter + word[at + 1 :]
        else:
            word = word[:at] + letter + word[at:]
    return word, meant


@settings(max_examples=1000, deadline=None)
@given(_edited())
def test_a_slip_near_its_word_is_read_as_the_edit_distance_reads_it(pair: tuple[str, str]) -> None:
    word, meant = pair
    assert gate._slip_of(word, meant) == _slip_by_its_definition(word, meant)
    assert gate._slip_of(meant, word) == _slip_by_its_definition(meant, word)


def test_within_one_edit_is_read_in_one_pass_as_the_edit_distance_reads_it() -> None:
    words = ["".join(letters) for size in range(6) for letters in itertools.product("abc", repeat=size)]
    differing = [(a, b) for a in words for b in words if gate.within_one_edit(a, b) != (gate.distance(a, b) <= 1)]
    assert not differing, differing[:10]  # every pair of words of up to 5 letters of 3


@settings(max_examples=1000, deadline=None)
@given(_edited())
def test_within_one_edit_of_a_near_word_is_read_as_the_edit_distance_reads_it(pair: tuple[str, str]) -> None:
    word, meant = pair
    assert gate.within_one_edit(word, meant) == (gate.distance(word, meant) <= 1) == gate.within_one_edit(meant, word)


@pytest.mark.parametrize(("word", "meant"), [("intrnal", "internal"), ("internnal", "internal"), ("internla", "internal"),
                                             ("niternal", "internal"), ("internal", "internal"), ("interval", "internal"),
                                             ("internl", "internal"), ("nternal", "internal"), ("internals", "internal"),
                                             ("intenral", "internal"), ("internal", "intrnal"), ("a", ""), ("", "")])
def test_a_slip_of_a_label_word(word: str, meant: str) -> None:
    assert gate._slip_of(word, meant) == _slip_by_its_definition(word, meant)


def _matching_round_from(text: str, start: int, limit: int) -> int | None:
    """The ")" closing a "(" opened just before ``start``, read from there as the gate once did for each "(": the
    reference for ``gate._round_closers``, which reads them all in one pass."""
    depth: list[str] = []
    for at in range(start, limit):
        char = text[at]
        if char in "([":
            depth.append(")" if char == "(" else "]")
        elif char in ")]":
            if not depth:
                return at if char == ")" else None
            if depth.pop() != char:
                return None
    return None


def _without_inner_brackets_by_rounds(content: str) -> str:
    """The innermost bracket pairs dropped again and again, as the gate once did: the reference for its one pass."""
    while True:
        inner = re.sub(r"\([^()\[\]]*\)|\[[^()\[\]]*\]", " ", content)
        if inner == content:
            return content
        content = inner


def test_brackets_are_matched_in_one_pass_as_reading_from_each_opener_matches_them() -> None:
    texts = ["".join(chars) for size in range(8) for chars in itertools.product("()[]a", repeat=size)]
    differing = []
    for text in texts:
        closers = gate._round_closers(text)
        assert gate._without_inner_brackets(text) == _without_inner_brackets_by_rounds(text), text
        for opener in (at for at, char in enumerate(text) if char == "("):
            for limit in range(opener + 1, len(text) + 1):
                whole = closers.get(opener)
                if (whole if whole is not None and whole < limit else None) != _matching_round_from(text, opener + 1,
                                                                                                    limit):
                    differing.append((text, opener, limit))
    assert not differing, differing[:10]  # every text of up to 7 brackets and letters, every opener, every reach


@settings(max_examples=300, deadline=None)
@given(st.text("()[]a -*", max_size=60))
def test_longer_brackets_are_matched_and_dropped_as_before(text: str) -> None:
    closers = gate._round_closers(text)
    assert gate._without_inner_brackets(text) == _without_inner_brackets_by_rounds(text)
    for opener in (at for at, char in enumerate(text) if char == "("):
        assert closers.get(opener) == _matching_round_from(text, opener + 1, len(text))


def _comparable_char_by_char(text: str) -> str:
    """``comparable`` as its docstring says it, one lookup per character: the reference for the fast one."""
    folded = unicodedata.normalize("NFKC", text)
    kept = "".join(c for c in folded if unicodedata.category(c) != "Cf" and c not in gate.IGNORABLE_MARKS).casefold()
    return unicodedata.normalize("NFKC", kept.replace("i\u0307", "i").replace("ı", "i"))


# Format characters, compatibility forms, case pairs that fold to several characters, and
# combining marks whose composition a dropped format character can change.
_TRICKY = "\u00ad\u200b\u200d\u2060\ufeff\u202e\u0301\u0308ＡＢ［］ﬁßẞİıΣσς\u1e9e𝐩ᴘ①㎏é\u034f\ufe0f\u3164\uffa0i\u0307"


@given(st.text(st.characters(codec="utf-8") | st.sampled_from(_TRICKY), max_size=80))
@settings(max_examples=300, deadline=None)
def test_comparable_agrees_with_the_plain_computation(text: str) -> None:
    assert gate.comparable(text) == _comparable_char_by_char(text)


@pytest.mark.parametrize(
    "text",
    ["", "plain", "AC\u00adME\u200bCORP", "ＡＣＭＥ", "e\u200b\u0301", "ß and ẞ", "a\ufeffb\u2060c", "x" * 10_000],
    ids=["empty", "plain", "soft-hyphen-zwsp", "fullwidth", "format-between-base-and-mark", "sharp-s", "bom-wj",
         "long"],
)
def test_comparable_agrees_with_the_plain_computation_on_known_cases(text: str) -> None:
    assert gate.comparable(text) == _comparable_char_by_char(text)


def test_comparable_drops_every_format_character_of_this_pythons_unicode() -> None:
    """``comparable`` looks for format characters outside ASCII only: every one of them, between
    ASCII letters and beside other characters, is dropped."""
    formats = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cf"]
    assert len(formats) > 150
    text = "ACME" + "CORP·".join(formats) + "ＣＯＲＰ"
    assert gate.comparable(text) == _comparable_char_by_char(text)
    assert not any(c in gate.comparable(text) for c in formats)


def test_the_ascii_table_folds_as_icu_does() -> None:
    """``_ASCII_FOLDS`` spares a text of ASCII alone the import of ICU; it must say what ICU's skeletons say."""
    for code in range(128):
        char = chr(code)
        assert gate._fold_piece(char) == gate._fold_with_icu(char), repr(char)


_CUSTOMERS = ["acme", "Acme Corp", "moore", "Moore & Sons", "dana", "Dana Incorporated", "node", "Node Networks",
              "edge", "Edge Media Group", "stark", "Stark Industries"]


@pytest.mark.parametrize(("text", "everyday", "refused"), [
    # Review 29d: a real span's own detail is addressed as it should be.
    ("Errors since 14:00.\n[for acme]\nFor acme only: circuit ACM-7 is down.\n[/for]", (), False),
    ("Errors since 14:00. [for acme](acme: circuit ACM-7 down)[/for]", (), False),
    ("Errors since 14:00.\n[private]\nFor acme: we credited 3 days.\n[/private]", (), False),
    # A word one slip from an id heads prose; only an exact id or name addresses a customer.
    ("For more: see our engineering blog.", (), False),
    ("Customer data: unaffected.", (), False),
    ("Internal note: restart the workers.", (), False),
    ("Maintenance window (start: 14:00 UTC, end: 16:00 UTC).", (), False),
    # An id that is an everyday word heads prose, in every form; its name still addresses it.
    ("[edge] 502s from FRA and AMS PoPs.", ("edge",), False),
    ("Traffic fails over to the secondary (or edge) cache.", ("edge",), False),
    ("For edge customers: purge your cache.", ("edge",), False),
    ("(Edge Media Group: unaffected)", ("edge",), True),
    ("[edge] 502s from FRA and AMS PoPs.", (), True),  # not flagged: its id alone in brackets, as before
    # Heads the review found published.
    ("Errors since 14:00. For acme only: circuit ACM-7 is down.", (), True),
    ("For acme only -- circuit ACM-7 is down.", (), True),
    ("For acme only -> circuit ACM-7 is down.", (), True),
    ("(for acme -> circuit ACM-7)", (), True),
    ("Errors. (for Moore & Sons: circuit 7)", (), True),
    ("Errors. [for acme]Your circuit.[/for] For acme only: ACM-7 down.", (), True),  # after a real span: public again
    ("[14:05] For acme only: circuit ACM-7 is down.", (), True),
    ("[14:05] Note: restart the workers.", (), False),
], ids=["in-for-span", "in-for-span-bracket", "in-private-span", "more", "data", "note", "start", "flagged-bracket",
        "flagged-or", "flagged-line", "flagged-name", "unflagged-bracket", "sentence", "double-dash", "arrow",
        "arrow-bracket", "name-with-ampersand", "after-a-real-span", "after-a-timestamp", "timestamped-note"])
def test_a_head_addressed_to_a_customer(text: str, everyday: tuple[str, ...], refused: bool) -> None:
    assert (gate.mistyped_audience_marker(text, _CUSTOMERS, everyday=everyday) is not None) == refused
