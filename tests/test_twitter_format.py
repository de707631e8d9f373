"""The X formatter: weighted length, shortening, uniqueness, and what a post always keeps.

Lengths are checked twice: with the twitter-text library the formatter uses, and
with the fake server's own implementation of X's rules (``x_weighted_length``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from broadcaster.messages.model import Impact, Incident, Status, Update
from broadcaster.messages.twitter import ELLIPSIS, MAX_WEIGHTED, _lower_bound, format_post, weighted_length
from broadcaster.messages.visibility import PublicView, private_view, public_view
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes.twitter import x_weighted_length

T0 = datetime(2026, 6, 3, 14, 5, tzinfo=UTC)
URL = "https://status.example.com/incidents/inc-1"
TITLE = "Elevated API error rates"
LABEL = "🔴 Investigating"


def make_view(
    message: str = "Still investigating.",
    *,
    sequence: int = 1,
    status: Status = Status.INVESTIGATING,
    title: str = TITLE,
    url: str = URL,
    minutes: int = 0,
    kind: str = "incident",
    update_kind: str = "update",
    etr: datetime | None = None,
    next_update_by: datetime | None = None,
    scheduled_start: datetime | None = None,
    scheduled_end: datetime | None = None,
) -> PublicView:
    """A public view of one update of incident inc-1 (``minutes`` after 14:05 UTC)."""
    incident = Incident(
        id="inc-1",
        title=title,
        impact=Impact.MAJOR,
        status=status,
        created_at=T0,
        kind=kind,
        scheduled_start=scheduled_start,
        scheduled_end=scheduled_end,
    )
    update = Update(
        incident_id="inc-1",
        sequence=sequence,
        created_at=T0 + timedelta(minutes=minutes),
        status=status,
        raw_message=message,
        kind=update_kind,
        etr=etr,
        next_update_by=next_update_by,
    )
    return public_view(incident, update, url=url)


def assert_fits(text: str) -> None:
    assert weighted_length(text) <= MAX_WEIGHTED
    assert x_weighted_length(text) <= MAX_WEIGHTED, "the fake's independent count disagrees"


def message_part(text: str) -> str:
    """The message block: between the headline and the facts/stamp blocks."""
    blocks = text.split("\n\n")
    return blocks[1]


# -- Counting ----------------------------------------------------------------

COUNTS = [
    ("ascii", "hello world", 11),
    ("cjk", "日本語のテキスト", 16),
    ("hangul", "한국어", 6),
    ("emoji", "😷", 2),
    ("zwj-family", "👨‍👩‍👧", 2),
    ("skin-tone", "👍🏽", 2),
    ("flag", "🇫🇷", 2),
    ("keycap", "1️⃣", 2),
    ("vs16-symbol", "©️", 2),
    ("short-link", "https://x.io", 23),
    ("long-link", "https://example.com/" + "a" * 200, 23),
    ("bare-domain", "see example.com now", 31),
    ("arabic", "مرحبا", 5),
    ("cyrillic", "Привет", 6),
    ("curly-quotes", "“hi”", 4),
    ("ellipsis", "…", 2),
    ("combining", "e\u0301", 1),  # NFC makes it one é
    ("math-bold", "𝐀", 2),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in COUNTS], ids=[c[0] for c in COUNTS])
def test_weighted_length_counts_like_x(text: str, expected: int) -> None:
    assert weighted_length(text) == expected
    assert x_weighted_length(text) == expected


# -- Layout ------------------------------------------------------------------


def test_short_update_has_label_title_message_stamp_and_link() -> None:
    text = format_post(make_view("We are looking into errors on the EU cluster.", sequence=2))
    assert text == (
        f"{LABEL}: {TITLE}\n\n"
        "We are looking into errors on the EU cluster.\n\n"
        "Update 2 · 14:05 UTC\n"
        f"{URL}"
    )


def test_same_message_twice_gives_different_posts() -> None:
    # X refuses a post equal to an earlier one; the stamp keeps them apart.
    first = format_post(make_view("Still investigating.", sequence=2, minutes=0))
    same_minute = format_post(make_view("Still investigating.", sequence=3, minutes=0))
    later = format_post(make_view("Still investigating.", sequence=4, minutes=30))
    assert len({first, same_minute, later}) == 3
    assert "Update 3 · 14:05 UTC" in same_minute
    assert "Update 4 · 14:35 UTC" in later


def test_etr_and_next_update_are_shown() -> None:
    text = format_post(
        make_view(
            "Rolling back.",
            etr=T0 + timedelta(hours=2),
            next_update_by=T0 + timedelta(days=1, minutes=30),
        )
    )
    assert "Expected fix by 16:05 UTC. Next update by 4 Jun 14:35 UTC." in text


def test_resolved_update_has_no_etr() -> None:
    text = format_post(make_view("Fixed.", status=Status.RESOLVED, etr=T0, next_update_by=T0))
    assert text.startswith("✅ Resolved: ")
    assert "Expected" not in text and "Next update" not in text


def test_maintenance_window() -> None:
    text = format_post(
        make_view(
            "Database upgrade.",
            status=Status.SCHEDULED,
            kind="maintenance",
            scheduled_start=T0 + timedelta(days=2),
            scheduled_end=T0 + timedelta(days=2, hours=2),
        )
    )
    assert text.startswith("📅 Scheduled: ")
    assert "Window: 5 Jun 14:05 UTC–16:05 UTC." in text


def test_correction_is_marked_in_the_stamp() -> None:
    text = format_post(
        make_view("The cause was DNS, not the database.", sequence=3, update_kind="correction")
    )
    assert "Correction · Update 3 · 14:05 UTC" in text


def test_without_a_page_url_the_post_ends_with_the_stamp() -> None:
    text = format_post(make_view("Still investigating.", url=""))
    assert text.endswith("Update 1 · 14:05 UTC")
    assert "http" not in text


def test_text_is_normalised_for_x() -> None:
    text = format_post(
        make_view("line one\r\n\r\n\r\n\r\nline\ufeff two\ufffe\udcff   spaced", title="A\n title")
    )
    assert "\ufeff" not in text and "\ufffe" not in text and "\r" not in text
    text.encode("utf-8")  # no lone surrogate left (undecodable bytes from a command line)
    assert "line one\n\nline two spaced" in text
    assert text.startswith(f"{LABEL}: A title\n")


def test_rendering_is_pure() -> None:
    view = make_view("Investigating. " * 100, etr=T0 + timedelta(hours=1))
    assert format_post(view) == format_post(view)


def test_private_view_yields_only_public_text() -> None:
    # X is public-only; even if a private view were misrouted here, no private text appears.
    incident = Incident(
        id="inc-1", title=TITLE, impact=Impact.MAJOR, status=Status.IDENTIFIED, created_at=T0
    )
    update = Update(
        incident_id="inc-1",
        sequence=2,
        created_at=T0,
        status=Status.IDENTIFIED,
        raw_message="Cause found. [private]db-7 disk full, ticket OPS-99[/private] Fix in progress.",
        private_note="call Bob",
        customers=("MegaCorp",),
        tickets=("OPS-99",),
        author="alice",
    )
    text = format_post(private_view(incident, update, url=URL))
    assert "Cause found. Fix in progress." in text
    for secret in ("db-7", "OPS-99", "Bob", "MegaCorp", "alice"):
        assert secret not in text


# -- Shortening ----------------------------------------------------------------

WORDS = "We are still investigating elevated error rates on the API in all regions. "


def test_ten_thousand_characters_are_cut_at_a_word_with_label_title_and_link_kept() -> None:
    message = (WORDS * 200)[:10_000]
    text = format_post(make_view(message, sequence=7))
    assert_fits(text)
    assert text.startswith(f"{LABEL}: {TITLE}\n\n")
    assert text.endswith(f"Update 7 · 14:05 UTC\n{URL}")
    cut = message_part(text)
    assert cut.endswith(ELLIPSIS)
    kept = cut[: -len(ELLIPSIS)]
    assert message.startswith(kept) and message[len(kept)] == " ", "cut inside a word"
    assert weighted_length(text) >= MAX_WEIGHTED - 15, "the post wastes room"


def test_long_message_keeps_etr_and_next_update() -> None:
    text = format_post(
        make_view(
            WORDS * 50, etr=T0 + timedelta(hours=1), next_update_by=T0 + timedelta(minutes=30)
        )
    )
    assert_fits(text)
    assert "Expected fix by 15:05 UTC. Next update by 14:35 UTC." in text
    assert weighted_length(message_part(text)) >= 60


def test_long_title_is_shortened_but_label_message_and_link_stay() -> None:
    title = "Partial outage of the public API and the dashboard " * 8
    text = format_post(make_view(WORDS * 10, title=title))
    assert_fits(text)
    headline = text.split("\n\n")[0]
    assert headline.startswith(f"{LABEL}: Partial outage of the public API")
    assert headline.endswith(ELLIPSIS)
    assert message_part(text).startswith("We are still investigating")
    assert text.endswith(URL)


WIDE_CASES = [
    # (id, message, where a cut may fall: a predicate on the kept length)
    ("cjk", "日本語のテキストです。" * 1000, lambda m, n: True),
    ("zwj-emoji", "👨‍👩‍👧" * 3000, lambda m, n: n % len("👨‍👩‍👧") == 0),
    ("flags", "🇫🇷🇩🇪" * 2000, lambda m, n: n % 2 == 0),
    ("rtl-arabic", "مرحبا بالعالم " * 800, lambda m, n: m[n] == " "),
    ("one-long-word", "x" * 10_000, lambda m, n: True),
]


@pytest.mark.parametrize(
    ("message", "boundary"), [c[1:] for c in WIDE_CASES], ids=[c[0] for c in WIDE_CASES]
)
def test_long_wide_text_fits_and_no_sequence_is_split(message: str, boundary: object) -> None:
    text = format_post(make_view(message))
    assert_fits(text)
    kept = message_part(text).removesuffix(ELLIPSIS)
    assert kept and message.startswith(kept)
    assert boundary(message, len(kept)), f"cut at {len(kept)} splits a sequence"  # type: ignore[operator]
    assert weighted_length(text) >= MAX_WEIGHTED - 15, "the post wastes room"
    assert text.endswith(URL)


def test_links_in_a_long_message_are_never_cut() -> None:
    link = "https://example.com/a/very/long/path/that/goes/on/and/on?x=1"
    text = format_post(make_view(f"See {link} for details. " * 100))
    assert_fits(text)
    found = re.findall(r"https?://\S+", message_part(text))
    assert found and all(f == link for f in found)


# -- Property ------------------------------------------------------------------

_ALPHABET = st.sampled_from(
    [
        *"abc xyz.,!?-",
        "\n",
        "日",
        "本",
        "é",
        "ß",
        "ш",
        "ع",
        "😷",
        "👨‍👩‍👧",
        "🇫🇷",
        "<",
        "&",
        "@",
        "#",
        " https://example.com/p ",
        " example.org ",
        "…",
        "\u200d",
        "\u0301",
    ]
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    message=st.lists(_ALPHABET | st.characters(), min_size=1, max_size=600)
    .map("".join)
    .filter(lambda m: m.strip()),
    title=st.lists(_ALPHABET, min_size=1, max_size=120).map("".join).filter(lambda t: t.strip()),
)
def test_any_text_fits_and_keeps_label_and_link(message: str, title: str) -> None:
    text = format_post(make_view(message, title=title, etr=T0 + timedelta(hours=1)))
    assert_fits(text)
    assert text.startswith(f"{LABEL}: ")
    assert text.endswith(f"\n{URL}")
    assert "Update 1 · 14:05 UTC" in text


@settings(max_examples=200, deadline=None)
@given(st.lists(_ALPHABET | st.characters(), max_size=80).map("".join))
def test_the_quick_lower_bound_never_exceeds_the_real_length(text: str) -> None:
    # fits() trusts this bound to answer "too long" without the slow parser.
    assert _lower_bound(text) <= weighted_length(text)
