"""Mastodon statuses and Bluesky posts over nasty input: lengths as each service counts, mentions, markup,
emoji, right-to-left text, links. The fakes' own counting (tests/fakes) is the oracle."""

from __future__ import annotations

import pytest
from broadcaster.messages import bluesky, mastodon
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes.bluesky import FakeBluesky, Post
from tests.fakes.mastodon import countable_length, graphemes, mentions_in
from tests.social import URL, update, view

FAMILY = "👨‍👩‍👧"
NASTY = {
    "long-words": "word " * 1200,
    "links": " ".join(f"https://example.com/{'x' * 80}/{i}" for i in range(40)),
    "families": FAMILY * 900,
    "flags": "🇩🇪🇫🇷" * 700,
    "cjk": "東京の障害" * 400,
    "hebrew": "שגיאות בממשק " * 300,
    "arabic-and-latin": "خطأ في API الخاص بنا " * 200,
    "one-long-word": "a" * 5000,
    "markup": "<script>alert(1)</script> <a href='https://evil.example'>click</a> **bold** [x](https://evil.example) " * 40,
    "mentions": "@everyone @here @alice@evil.social #incident " * 100,
}


def status(message: str, title: str = "API errors") -> str:
    return mastodon.format_status(view(update(1, message), title=title))


def post(message: str, title: str = "API errors") -> str:
    return bluesky.format_post(view(update(1, message), title=title))


@pytest.mark.parametrize("message", list(NASTY.values()), ids=list(NASTY))
def test_a_status_always_fits_500_as_mastodon_counts_and_keeps_its_link(message: str) -> None:
    text = status(message, title="T" * 200)
    assert countable_length(text) <= 500 and mastodon.status_length(text) <= 500
    assert text.endswith(URL) and "Update 1 · 14:01 UTC" in text


@pytest.mark.parametrize("message", list(NASTY.values()), ids=list(NASTY))
def test_a_post_always_fits_300_graphemes_and_3000_bytes_and_keeps_its_link(message: str) -> None:
    text = post(message, title="T" * 200)
    assert graphemes(text) <= 300 and len(text.encode()) <= 3000
    assert text.endswith(URL)


def test_cuts_never_split_an_emoji_sequence() -> None:
    for text in (status(FAMILY * 900), post(FAMILY * 900)):
        kept = text.split("\n\n")[1]
        assert kept.endswith(FAMILY + "…") and kept.removesuffix("…").replace(FAMILY, "") == ""


def test_no_mention_survives_in_a_status_but_the_text_reads_the_same() -> None:
    text = status("Ping @everyone and @alice@evil.social, mail ops@acme.example.", title="@here outage")
    assert mentions_in(text) == []
    assert text.replace("\u200c", "") == text.replace("@\u200c", "@")  # only the joiners were added
    assert "Ping @\u200ceveryone and @\u200calice@evil.social" in text
    assert "ops@acme.example" in text  # an address is not a mention: left alone


def test_a_short_link_counts_23_and_a_long_one_too() -> None:
    assert mastodon.status_length("see https://a.co/x") == 4 + 23
    assert mastodon.status_length("see https://example.com/" + "x" * 300) == 4 + 23
    assert mastodon.status_length("see example.com/" + "x" * 10) == 4 + 22  # no scheme: counted as written


def test_markup_is_sent_as_written_on_both() -> None:
    message = "<b>bold</b> &amp; <script>x</script>"
    assert message in status(message) and message in post(message)


def test_right_to_left_text_is_kept_whole() -> None:
    message = "השירות חזר לפעול. الخدمة تعمل الآن."
    assert message in status(message) and message in post(message)


def test_facets_cover_exactly_their_links_after_multibyte_text() -> None:
    text = post(f"{FAMILY} שלום 東京 https://api.example.com/v1?q=1 then https://example.org/ok.")
    record = {"text": text, "facets": bluesky.link_facets(text, (URL,))}
    links = Post("k", "at://x", "c", record).links
    assert links == [("https://api.example.com/v1?q=1", "https://api.example.com/v1?q=1"),
                     ("https://example.org/ok", "https://example.org/ok"), (URL, URL)]


def test_the_incident_page_is_linked_whatever_its_top_level_domain() -> None:
    url = "https://status.acme.internal-tld/incidents/inc-1.html"  # twitter-text knows no such TLD
    text = bluesky.format_post(view(url=url))
    assert Post("k", "at://x", "c", {"text": text, "facets": bluesky.link_facets(text, (url,))}).links == [(url, url)]


def test_the_incident_page_is_linked_whole_where_twitter_text_sees_only_part_of_it() -> None:
    url = "https://status.example.com/incidents/inc-1.html?x=ü&y=1"  # twitter-text stops at the ü
    text = bluesky.format_post(view(url=url))
    assert Post("k", "at://x", "c", {"text": text, "facets": bluesky.link_facets(text, (url,))}).links == [(url, url)]


def test_mentions_and_tags_get_no_facet_on_bluesky() -> None:
    text = post("@alice.bsky.social #outage javascript:alert(1) example.com")
    features = [f for facet in bluesky.link_facets(text, (URL,)) for f in facet["features"]]
    assert [f["uri"] for f in features] == [URL]


def test_the_card_is_cut_and_holds_the_public_text() -> None:
    card = bluesky.card(view(update(1, "word " * 400), title="T" * 200))
    assert card is not None and card["uri"] == URL
    assert graphemes(card["description"]) <= 300 and card["description"].startswith("Investigating: word")
    assert bluesky.card(view(url="")) is None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Cf")), max_size=30) | st.sampled_from(
    [" ", "\n", "@", "#", "https://example.com/a", FAMILY, "🇩🇪", "é", "ש"]), min_size=1, max_size=150).map("".join))
def test_any_text_fits_both_and_every_facet_decodes(message: str) -> None:
    if not message.strip():
        return
    assert countable_length(status(message)) <= 500
    text = post(message)
    assert graphemes(text) <= 300
    assert FakeBluesky._invalid_facets({"facets": bluesky.link_facets(text, (URL,))}, text.encode()) == ""


def test_both_speak_the_page_language() -> None:
    from broadcaster.messages import i18n

    with i18n.speaking("sv"):
        texts = [status("Vi undersöker."), post("Vi undersöker.")]
        card = bluesky.card(view(update(1, "Vi undersöker.")))
    for text in texts:
        assert "Undersöker: API errors" in text and "Uppdatering 1" in text, text
    assert card is not None and card["description"].startswith("Undersöker: ")
