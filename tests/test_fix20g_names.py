"""Fix of review 20g, findings 1 and 4: customers' names in the egress guard.

1. A reader's short name begins and ends with a name's own word (``visibility._short_names``): never a function
   word of the page languages ("and", "und", "och", "of", "the", "für", "för"...) nor a word of one or two letters
   (the "s" of "Globex's", the "A" of "A/S"). "Globex and" of "Globex and Partners GmbH" masked another customer
   "globex" in "made by Globex and Initech", and the detail reached the reader.
4. HTML is read as a browser shows it, entities decoded once (``egress._readings``): a name "Globex <EU> Partners"
   printed "Globex &lt;EU&gt; Partners" lost its "<EU>" as a tag in a second decoding, its mask was not found, and
   every detail for that customer was refused. Feeds (XML carrying escaped HTML) are still decoded twice.
"""

from __future__ import annotations

import re
from functools import cache

import pytest
from broadcaster.messages.egress import PrivateValues, readable_text
from broadcaster.messages.model import Audience
from broadcaster.messages.visibility import _short_names
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Project
from tests.input_helpers import READER_TOKEN, page_of, post_for, stored, two_customers
from tests.test_fix20_names import _audiences, _covered_everywhere, _guarded, _tokens, _values_for, customers, joined


# 1. Short names begin and end with a name's own word.
@pytest.mark.parametrize(("name", "shorts"), [
    ("Globex and Partners GmbH", ("Globex and Partners",)),
    ("Globex und Partner GmbH", ("Globex und Partner",)),
    ("Globex och Partners AB", ("Globex och Partners",)),
    ("Globex für Partner GmbH", ("Globex für Partner",)),
    ("Globex's Partners Ltd", ("Globex's Partners", "Globex s Partners")),
    ("Globex A/S Danmark", ()),
    ("The Globex Group Ltd", ()),
    ("Globex of Europe Ltd", ("Globex of Europe",)),
    ("Globex & Partners GmbH", ("Globex & Partners", "Globex Partners")),
])
def test_a_short_name_begins_and_ends_with_a_names_own_word(name: str, shorts: tuple[str, ...]) -> None:
    audiences = _audiences(("globex", "Globex Corporation"), ("reader", name))
    assert _short_names(audiences["reader"], audiences) == shorts


def test_no_short_name_is_another_customers_name_without_its_function_words() -> None:
    """"The Nestle Waters" (another customer) is "Nestle Waters" as a name: not a short name of the reader's."""
    audiences = _audiences(("other", "The Nestle Waters"), ("reader", "Nestle Waters Europe AG"))
    assert _short_names(audiences["reader"], audiences) == ("Nestle Waters Europe",)


CASES = [
    ("Globex and Partners GmbH", "A change made by Globex and Initech broke your uplink FRA-7."),
    ("Globex für Partner GmbH", "Eine Änderung von Globex für Initech hat Ihren Uplink FRA-7 gestört."),
    ("Globex för Partner AB", "En ändring av Globex för Initech bröt er uplink FRA-7."),
    ("Globex's Partners Ltd", "A change made by Globex's team broke your uplink FRA-7."),
    ("Globex A/S Danmark", "A change made by Globex a week ago broke your uplink FRA-7."),
    ("The Globex Group Ltd", "A change made by the Globex team broke your uplink FRA-7."),
]


@pytest.mark.parametrize(("reader_name", "detail"), CASES, ids=["and", "fur", "for-sv", "possessive", "a-s", "the"])
def test_another_customer_beside_a_function_word_or_fragment_does_not_reach_the_reader(
    project: Project, reader_name: str, detail: str,
) -> None:
    """globex (Globex Corporation) is named in the reader's detail beside a word of prose: refused, nothing stored."""
    two_customers(project, "globex", "Globex Corporation", "globex-partners", reader_name)
    result = post_for(project, "globex-partners", detail)
    assert "FRA-7" not in page_of(project, READER_TOKEN), result.output
    assert result.exit_code == 2, result.output
    assert stored(project) == [], result.output


@pytest.mark.parametrize(("reader_name", "detail"), [
    ("Globex and Partners GmbH", "Your Globex and Partners uplink FRA-7 is down."),
    ("Globex's Partners Ltd", "Your Globex's Partners uplink FRA-7 is down."),
    ("Globex A/S Danmark", "Your Globex A/S Danmark uplink FRA-7 is down."),
])
def test_the_readers_own_short_and_full_name_still_reach_it(project: Project, reader_name: str, detail: str) -> None:
    two_customers(project, "globex", "Globex Corporation", "globex-partners", reader_name)
    result = post_for(project, "globex-partners", detail)
    assert result.exit_code == 0, result.output
    assert "uplink FRA-7 is down." in page_of(project, READER_TOKEN), result.output


# The property of test_fix20_names, with names that hold function words and fragments. The reader's phrases are
# made here by the rule itself (first and last word three letters or more, no function word), not by the code's.
WORDS = ["globex", "initech", "umbrella", "europe", "partners", "gmbh"]
PROSE_WORDS = ["and", "und", "och", "of", "the", "der", "für", "för", "a", "s"]
NAME_WORDS = WORDS + PROSE_WORDS
NOT_NAME_WORDS = {"and", "und", "och", "of", "the", "der", "für", "för"}
JOINERS = [" ", " ", " & ", " - ", "'", "/", ", "]


def _real(word: str) -> bool:
    return len(word) > 2 and word not in NOT_NAME_WORDS


# The first word a real one: drawn from those alone, as filtering whole lists drew the same names more slowly.
name_st = joined(st.sampled_from([w for w in NAME_WORDS if _real(w)]), st.lists(st.sampled_from(NAME_WORDS), max_size=3),
                 st.sampled_from(JOINERS)).map(str.title)
# Made once, not in each example (see test_fix20_names's ``_ID_WORDS``); the values drawn are the same.
_CUSTOMERS = customers(name_st, 3)
_TAIL = st.lists(st.sampled_from(NAME_WORDS), min_size=1, max_size=3)


@cache
def _joiners(n: int) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(JOINERS), min_size=n, max_size=n)


def _own_phrases(audiences: dict[str, Audience], reader: str) -> list[str]:
    """The reader's full name, its id and id's words, and its leading runs of two words or more short of the whole
    that begin and end with a real name word; but the full name, each no other customer's name or id as words."""
    me = audiences[reader]
    words = list(re.finditer(r"[^\W_]+", me.name))
    shorts = [me.name[:words[n - 1].end()] for n in range(2, len(words))
              if _real(words[0].group().casefold()) and _real(words[n - 1].group().casefold())]
    others = {_tokens(v) for key, a in audiences.items() if key != reader for v in (a.name, a.id)}
    return [me.name, *(p for p in [me.id, " ".join(_tokens(me.id)), *shorts] if _tokens(p) not in others)]


@settings(max_examples=1500, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_no_reader_reads_another_customers_name_beside_a_word_of_prose(data: st.DataObject) -> None:
    """Another customer's guarded name or id beside a function word or a fragment ("Globex and Initech", "Globex's
    team", "the Globex team", "Globex a week ago") is found unless each of its places is inside the reader's own
    phrases as words."""
    audiences = data.draw(_CUSTOMERS)
    reader = data.draw(st.sampled_from(sorted(audiences)))
    other = data.draw(st.sampled_from(sorted(k for k in audiences if k != reader)))
    if not _guarded(audiences[other]):
        return
    value = data.draw(st.sampled_from(_guarded(audiences[other])))
    if data.draw(st.booleans()):  # the reader named after the other customer: "Globex And Partners" beside globex
        tail = data.draw(_TAIL)
        joiners = data.draw(_joiners(len(tail)))
        name = value + "".join(j + w.title() for j, w in zip(joiners, tail, strict=True))
        if any(_tokens(name) == _tokens(a.name) for a in audiences.values()):
            return
        audiences[reader] = Audience(reader, name, ("api",))
    before = data.draw(st.sampled_from(["", "the ", "Initech and ", "der ", "a "]))
    after = data.draw(st.sampled_from(["", " and Initech", " und Initech", " och Initech", "'s team", " a week",
                                       " of Initech", " S", " für Initech", " Partners"]))
    detail = f"A change made by {before}{value}{after} broke your uplink."
    text = f"For {audiences[reader].name}: {detail}"
    covers = [_tokens(p) for p in _own_phrases(audiences, reader)]
    if _covered_everywhere(text, _tokens(value), covers):
        return
    assert _values_for(audiences, reader, detail).found_in(text) is not None, (audiences, reader, text)


@settings(max_examples=800, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_a_reader_named_with_words_of_prose_may_read_each_of_its_own_phrases(data: st.DataObject) -> None:
    audiences = data.draw(customers(name_st, 3))
    reader = data.draw(st.sampled_from(sorted(audiences)))
    phrase = data.draw(st.sampled_from(_own_phrases(audiences, reader)))
    detail = f"Your {phrase} uplink is down."
    text = f"For {audiences[reader].name}: {detail}"
    found = _values_for(audiences, reader, detail).found_in(text)
    assert found is None, (audiences, reader, text, found)


# 4. HTML read once, as shown; XML twice.
def test_html_is_read_as_a_browser_shows_it() -> None:
    read = readable_text("<p><strong>For Globex &lt;EU&gt; Partners:</strong> your uplink.</p>", "text/html")
    assert PrivateValues.of(["globex"], mask=["Globex <EU> Partners"]).found_in(read) is None
    # A name a browser shows between angle brackets is still that name.
    assert PrivateValues.of(["globex"]).found_in(readable_text("<p>Initech &lt;Globex&gt;</p>", "text/html"))
    # A feed still carries its items' HTML escaped: read twice.
    feed = "<entry><content>&lt;p&gt;Glo&lt;b&gt;bex&lt;/b&gt; Corp&lt;/p&gt;</content></entry>"
    assert PrivateValues.of(["Globex Corp"]).found_in(readable_text(feed, "application/atom+xml")) == "globex corp"


def test_a_customer_named_with_angle_brackets_gets_its_detail_on_its_page_and_telegram(project: Project) -> None:
    """The page prints "Globex &lt;EU&gt; Partners", Telegram's HTML the same: each was read as "Globex  Partners",
    where the sister's id globex was found and the mask was not. Every detail was refused (exit 2)."""
    from tests.fakes.telegram import FakeTelegram

    token, chat = "123456:tg-token-f20g", -1002021
    with FakeTelegram(token=token, chats={chat: "globex eu"}, enforce_limits=False) as fake:
        two_customers(project, "globex", "Globex Corporation", "globex-eu", "Globex <EU> Partners",
                      env={"TG": token},
                      extra=f'\n[channels.eu-tg]\ntype = "telegram"\naudience = "globex-eu"\n'
                            f'token = "${{TG}}"\nchat_ids = [{chat}]\napi_url = "{fake.url}"\n')
        result = post_for(project, "globex-eu", "Your uplink FRA-7 is down.")
        assert result.exit_code == 0, result.output
        assert any("FRA-7 is down" in m.text for m in fake.messages.get(chat, [])), result.output
    assert "Your uplink FRA-7 is down." in page_of(project, READER_TOKEN)


def test_a_customer_named_with_angle_brackets_is_still_refused_its_sisters_name(project: Project) -> None:
    two_customers(project, "globex", "Globex Corporation", "globex-eu", "Globex <EU> Partners")
    result = post_for(project, "globex-eu", "A change made by Globex <EU> broke your uplink FRA-7.")
    assert result.exit_code == 2, result.output
    assert "FRA-7" not in page_of(project, READER_TOKEN) and stored(project) == []
