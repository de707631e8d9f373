"""The egress guard reads a payload as its readers do: no escape or markup a formatter adds hides a value.

Each case is a payload in the form one of our media produces it (Telegram
HTML, Slack mrkdwn and Block Kit JSON, feeds' HTML inside XML, JSON, plain
text with Markdown escapes) and a private value it does or does not hold.
"""

from __future__ import annotations

import html
import json
import pickle
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from broadcaster.messages import egress
from broadcaster.messages.egress import (
    SLACK_BLOCKS,
    SLACK_MRKDWN,
    TELEGRAM_HTML,
    Compared,
    LeakRefused,
    PrivateValues,
    _more,
    guard,
    readable_text,
)
from hypothesis import given, settings
from hypothesis import strategies as st

HELD = [
    ("ACME\\_CORP is down", "text/plain", "ACME_CORP"),  # a Markdown escape inside the value
    ("ACME\\_CORP is down", "text/plain", "ACME CORP"),
    ("*ACME*CORP", SLACK_MRKDWN, "ACMECORP"),  # emphasis splitting it
    ("_ACME_ ~CORP~", SLACK_MRKDWN, "ACME CORP"),
    ("<b>ACME</b>CORP", TELEGRAM_HTML, "ACMECORP"),  # a tag splitting it
    ("ACME&#95;CORP &amp; more", TELEGRAM_HTML, "ACME_CORP"),  # an entity inside it
    ("<description>&lt;p&gt;&lt;b&gt;Globex&lt;/b&gt; Corp&lt;/p&gt;</description>", "application/xml", "Globex Corp"),
    ("<https://x.example/a|Globex> Corp", SLACK_MRKDWN, "Globex Corp"),  # half a link label
    ("Globex &amp;amp; Corp", SLACK_MRKDWN, "Globex &amp; Corp"),
    ("https://status.example.com/?q=Globex%20Corp", "text/plain", "Globex Corp"),  # URL-quoted
    ("incidents/globex-corp-outage.html", "text/html", "Globex Corp"),  # a slug
    ("ＡＣＭＥＣＯＲＰ", "text/plain", "acmecorp"),  # fullwidth
    ("A\u200bCME\u00adCORP", "text/plain", "ACMECORP"),  # invisible characters
    ("edge\nfra-2  router", "text/plain", "edge fra-2 router"),  # a line break where it had a space
    (json.dumps({"Globex Corp": 1}), "application/json", "Globex Corp"),  # a JSON key
    (json.dumps({"a": "Glo\\bex"}), "application/json", "Glo\\bex"),
    (json.dumps({"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "part one ACME"}},
                            {"type": "section", "text": {"type": "mrkdwn", "text": "CORP part two"}}]}),
     SLACK_BLOCKS, "ACME CORP"),  # cut across two blocks at a space
    (json.dumps({"blocks": [{"text": {"type": "mrkdwn", "text": "…PRIVA1B2"}}, {"text": {"type": "mrkdwn", "text": "C3D4…"}}]}),
     SLACK_BLOCKS, "PRIVA1B2C3D4"),  # cut inside a word
]

NOT_HELD = [
    ("Report for the year 2026.", "text/plain", "#2026"),  # a number alone never widens to any year
    ("the globe x corporation", "text/plain", "Globex Corp"),
    ("<h1>Acme status</h1>", "text/html", "ACME CORP"),
    ("Errors for some customers.", TELEGRAM_HTML, "Initech"),
]


@pytest.mark.parametrize(("payload", "media_type", "value"), HELD, ids=[f"{m}:{v}" for _, m, v in HELD])
def test_the_guard_sees_a_value_through_each_medium_escape(payload: str, media_type: str, value: str) -> None:
    values = PrivateValues.of([value])
    assert values.found_in(readable_text(payload, media_type)) is not None
    with pytest.raises(LeakRefused) as refused:
        guard(payload.encode(), values, "the message for tg-public", media_type)
    assert not refused.value.retryable
    assert value not in str(refused.value)  # the refusal names the place, never the value


@pytest.mark.parametrize(("payload", "media_type", "value"), NOT_HELD, ids=[f"{m}:{v}" for _, m, v in NOT_HELD])
def test_the_guard_does_not_refuse_ordinary_text(payload: str, media_type: str, value: str) -> None:
    guard(payload, PrivateValues.of([value]), "the message for x", media_type)


def test_no_values_means_nothing_to_refuse() -> None:
    guard("anything at all", PrivateValues.of(["", "   "]), "the message for x")


# -- a destination's own words (the template) ----------------------------------------

SHOWN = "<b>Investigating</b>\nNext update by 15:00 UTC"
OWN = Compared("Investigating\nNext update by")


def test_a_word_the_destination_prints_counts_only_where_the_update_adds_it() -> None:
    values = PrivateValues.of(["Next"])
    template = lambda: (SHOWN, OWN)  # noqa: E731

    checked = guard(SHOWN, values, "the message for x", TELEGRAM_HTML, template)

    guard(SHOWN, checked, "the upload of x", TELEGRAM_HTML)  # the same bytes, checked again
    for values_now, tmpl in ((values, template), (checked, None)):
        with pytest.raises(LeakRefused):
            guard(f"NEXT sees errors.\n{SHOWN}", values_now, "the message for x", TELEGRAM_HTML, tmpl)
    with pytest.raises(LeakRefused):  # markup around it is no disguise either
        guard(f"*Ne*xt sees errors.\n{SHOWN}", values, "the message for x", TELEGRAM_HTML, template)


def test_a_value_only_a_bug_could_print_is_never_excused_by_its_template() -> None:
    """A formatter that prints a private value whatever the update says (a paste, stale state)
    prints it in the template too; not a word the product prints, it is refused all the same."""
    values = PrivateValues.of(["OPS-4711-X"])
    with pytest.raises(LeakRefused):
        guard(f"{SHOWN} ops-4711-x", values, "the message for x", TELEGRAM_HTML, lambda: (f"{SHOWN} ops-4711-x", OWN))


def test_without_a_template_a_value_counts_wherever_it_is() -> None:
    with pytest.raises(LeakRefused):
        guard(SHOWN, PrivateValues.of(["Next"]), "the message for x", TELEGRAM_HTML, lambda: None)


def test_the_products_own_words_are_read_from_its_code_templates_and_config() -> None:
    from broadcaster.messages.model import Component

    from broadcaster.config import ComponentConfig, PageConfig
    from broadcaster.own_words import own_words

    words = own_words(PageConfig(title="Acme status", timezone="Europe/Berlin"),
                      (ComponentConfig(Component("db", "Billing database", "Core")),)).base

    for word in ("next update by", "incident page", "postmortem", "guid", "blocks", "degraded_performance",
                 "acme status", "billing database", "december", "cest"):
        assert word in words, word
    assert "ops-4711" not in words and "we have published a postmortem" in words


# Words, punctuation and markup of the kinds the guard folds, so that values and texts share words.
_PIECES = ["acme", "corp", "ACME", "Corp", "édge", "fra", "2", "_", "-", " ", "\n", "*", ".", "·", "ｃｏｒｐ", "\u00ad", "%20"]


@given(
    text=st.lists(st.sampled_from(_PIECES), max_size=12).map("".join),
    value=st.lists(st.sampled_from(_PIECES), min_size=1, max_size=6).map("".join),
)
@settings(max_examples=400, deadline=None)
def test_the_words_check_before_the_words_form_never_changes_what_is_found(text: str, value: str) -> None:
    """``may_hold_words`` lets the guard skip a text's words form; it must only ever skip a form
    that would not have held the value."""
    compared, values = Compared(text), PrivateValues.of([value])
    for _, _, words, _ in values._forms:
        if words is not None and words in compared.words:
            assert compared.may_hold_words(tuple(words.split(" ")))
    held_words = any(w is not None and w in compared.words for _, _, w, _ in values._forms)
    found = values.found_in(compared)
    forms = values._forms
    plain = any(base in compared.base or (m is not None and m in compared.markup) for base, m, _, _ in forms)
    assert (found is not None) == (plain or held_words)


# And pieces whose runs of letters and digits change as the guard folds them: markup inside a word, a
# hyphenated ticket, letters that fold to two, a combining accent, fullwidth digits, a zero-width space.
_RUN_PIECES = [*_PIECES, "ac*me", "ac`me", "INC-4711", "4711", "ß", "ss", "Σ", "x_y", "e\u0301", "１２", "\u200b", "~"]


def _held_searching_every_text(values: PrivateValues, text: str) -> list[str]:
    """What ``PrivateValues._held`` finds, by searching each form in the whole text, as before the vocabulary."""
    compared, masked, held = Compared(text), {}, []  # type: ignore[var-annotated]
    for value, markup, words, (in_base, in_markup, in_words) in values._forms:
        searched = values._searched(compared, value, masked)
        if (_more(searched.base, value, in_base) or (markup is not None and _more(searched.markup, markup, in_markup))
                or (words is not None and _more(searched.words, words, in_words))):
            held.append(value)
    return held


@given(
    text=st.lists(st.sampled_from(_RUN_PIECES), max_size=16).map("".join),
    chosen=st.lists(st.lists(st.sampled_from(_RUN_PIECES), min_size=1, max_size=5).map("".join), min_size=1, max_size=4),
    template=st.lists(st.sampled_from(_RUN_PIECES), max_size=8).map("".join),
    mask=st.lists(st.sampled_from(["Acme Corp", "acme", "INC-4711", "Édge"]), max_size=2),
)
@settings(max_examples=600, deadline=None)
def test_searching_the_vocabulary_first_never_changes_what_is_found(
    text: str, chosen: list[str], template: str, mask: list[str]
) -> None:
    """The guard looks for a value's runs of letters and digits among the text's (``Compared.may_hold``)
    before it searches the text: it must find exactly what searching every text finds, allowances and masks
    included."""
    values = PrivateValues.of(chosen, mask=mask).allowing(template)
    expected = _held_searching_every_text(values, text)
    for sift_from in (0, egress._SIFT_FROM):  # sifted, as a text searched for many values is; and as for few
        with _sifting_from(sift_from):
            assert list(values._held(Compared(text))) == expected
            assert (values.found_in(text) is not None) == bool(expected)


@contextmanager
def _sifting_from(values: int) -> Iterator[None]:
    kept = egress._SIFT_FROM
    egress._SIFT_FROM = values
    try:
        yield
    finally:
        egress._SIFT_FROM = kept


def test_private_values_go_to_another_process_without_the_forms_worked_out_from_them() -> None:
    """A full build's workers send each page's values back; the forms are worked out again where needed."""
    values = PrivateValues.of(["Globex Corp", "TICKET-7"], mask=["Acme Corp"]).allowing("globex corp")
    assert values.found_in("for Acme Corp: globex-corp and globex corp") is not None  # works its forms out
    copied = pickle.loads(pickle.dumps(values))
    assert copied == values
    assert set(vars(copied)) == {"folded", "allowed", "mask"}
    for text in ("globex corp", "globex-corp, globex corp", "ticket-7", "for Acme Corp:"):
        assert copied.found_in(text) == values.found_in(text)


@pytest.mark.parametrize(("mask", "value", "text"), [
    ("Acme", "Acme Logistics", "For Acme: your circuit ACM-7. Acme Logistics is affected too."),  # another customer
    ("Acme", "ACME-4711", "For Acme: we track this as ACME-4711."),  # an internal ticket
    ("GE", "edge router fra-2 lost BGP", "For GE: the edge router fra-2 lost BGP."),  # a short name in any word
    ("Acme Corp EU", "Acme Corp", "For Acme Corp EU: Acme Corp Europe is affected too."),  # the name only in part
])
def test_the_readers_own_name_hides_only_values_inside_it(mask: str, value: str, text: str) -> None:
    """Attack (review): the reader's own name was taken out of the text before every value was searched, so
    a value holding it (a ticket, another customer's longer name) or holding any part of a short name ("ge"
    in "edge") reached that customer's channel and private page."""
    assert PrivateValues.of([value], mask=[mask]).found_in(text) is not None


def test_the_readers_own_name_still_hides_another_customers_name_inside_it() -> None:
    values = PrivateValues.of(["Acme Corp", "ACM-9"], mask=["Acme Corp EU"])
    assert values.found_in("For Acme Corp EU: your circuit EU-7.") is None
    assert values.found_in("*For Acme Corp EU:* your circuit EU-7.") is None
    assert values.found_in("For Acme Corp EU: Acme Corp is down too.") == "acme corp"


@given(
    text=st.lists(st.sampled_from([*_PIECES, "acme", "acme corp", "-"]), max_size=12).map("".join),
    value=st.lists(st.sampled_from([*_PIECES, "acme"]), min_size=1, max_size=6).map("".join),
    mask=st.sampled_from(["acme", "acme corp", "ge", "b"]),
)
@settings(max_examples=400, deadline=None)
def test_a_value_not_inside_the_readers_name_is_found_as_if_there_were_no_mask(text: str, value: str, mask: str) -> None:
    masked = PrivateValues.of([value], mask=[mask])
    if not masked._inside_mask:
        assert masked.found_in(text) == PrivateValues.of([value]).found_in(text)


@pytest.mark.parametrize(("name", "text", "found"), [
    ("Nestlé Waters", "Nestle Waters is affected.", True),
    ("Nestlé Waters", "NESTLE WATERS is affected.", True),
    ("Nestlé Waters", "Nestlé Waters is affected.", True),
    ("São Paulo Telecom", "Sao Paulo Telecom is affected.", True),
    ("Uber", "Die Störung über Nacht.", False),  # the texts keep their accents: "über" is no "uber"
    ("Time Out", "Elevated timeouts.", False),  # a name's words run together are not searched
])
def test_a_name_typed_without_its_accents_is_found_and_ordinary_words_are_not(name: str, text: str, found: bool) -> None:
    """Attack (review): "Nestle Waters" for a customer "Nestlé Waters" passed. Its first fix (accents dropped from
    the texts too, names run together) refused "über" for a customer "Uber" and "timeouts" for "Time Out"."""
    assert (PrivateValues.of([name]).found_in(text) is not None) == found


def test_a_value_inside_the_readers_name_is_allowed_only_as_often_as_the_template_holds_it_masked() -> None:
    """Review: the allowance of a value inside the reader's name was counted in the template with that name in
    it, the payload searched without it: each heading "For Next Gen Corp:" let one more "Next" (another
    customer) through to Next Gen Corp's readers."""
    values = PrivateValues.of(["Next"], mask=["Next Gen Corp"])
    template = "For Next Gen Corp:\nNext update by 10:00 UTC."
    payload = "For Next Gen Corp:\nNext is also affected by the outage.\nNext update by 10:00 UTC."
    with pytest.raises(LeakRefused):
        guard(payload, values, "acme-slack", template=lambda: (template, Compared("Next update by")))
    guard(template, values, "acme-slack", template=lambda: (template, Compared("Next update by")))  # its own words pass


_REFERENCE_PIECES = ["&", "lt", "gt", "amp", "quot", "#39", "#x27", "#x3C", "#60", "nbsp", "hellip", ";", "a", "<", "#",
                     "x", " ", "é"]


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(_REFERENCE_PIECES), max_size=14).map("".join))
def test_references_are_read_as_html_reads_them(text: str) -> None:
    assert egress._unescape(text) == html.unescape(text)


@pytest.mark.parametrize("text", ["&amp;lt;", "&amp;amp;", "&lt", "&ampfoo", "&#39", "&lt;&gt;&quot;&#39;&#x27;",
                                  "&lt;li&gt;Globex &amp; Partners&lt;/li&gt;", "a & b", "&;", "&#x27;&amp;#39;"])
def test_common_references_are_read_as_html_reads_them(text: str) -> None:
    assert egress._unescape(text) == html.unescape(text)
