"""The Telegram formatter: layout, escaping and splitting, checked with the fake's HTML rules."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from broadcaster.messages import telegram
from broadcaster.messages.model import AffectedComponent, ComponentStatus, Impact, Incident, Status, Update
from broadcaster.messages.visibility import UpdateView, private_view, public_view
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fakes.telegram import parse_html, utf16_len

NOW = datetime(2026, 3, 4, 9, 30, tzinfo=UTC)


def view(message: str = "All good now.", *, title: str = "API errors", private: bool = False,
         incident_changes: dict[str, Any] | None = None, url: str = "", **changes: Any) -> UpdateView:
    incident_fields: dict[str, Any] = {"id": "i", "title": title, "impact": Impact.MINOR,
                                       "status": Status.INVESTIGATING, "created_at": NOW}
    update_fields: dict[str, Any] = {"incident_id": "i", "sequence": 1, "created_at": NOW,
                                     "status": Status.INVESTIGATING, "raw_message": message}
    incident = Incident(**(incident_fields | (incident_changes or {})))
    update = Update(**(update_fields | changes))
    return (private_view if private else public_view)(incident, update, url=url)


def plain(html: str) -> str:
    return parse_html(html)[0]


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# -- layout --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shown", "first_line"),
    [
        (view(status=Status.IDENTIFIED), "🟠 Identified: API errors"),
        (view(status=Status.RESOLVED), "🟢 Resolved: API errors"),
        (view(title="  "), "🔴 Investigating"),
        (view(status=Status.IN_PROGRESS, incident_changes={"kind": "maintenance"}),
         "🔧 Maintenance in progress: API errors"),
    ],
    ids=["identified", "resolved", "no-title", "maintenance"],
)
def test_first_line_is_status_and_title_in_bold(shown: UpdateView, first_line: str) -> None:
    html = telegram.full_text(shown)
    text, entities = parse_html(html)
    assert text.split("\n")[0] == first_line
    bold = entities[0]
    assert bold["type"] == "bold" and bold["offset"] == 3  # after the emoji (2 UTF-16 units) and a space


def test_update_kind_is_labelled() -> None:
    assert plain(telegram.full_text(view(kind="postmortem"))).split("\n")[1] == "Postmortem"
    assert "Update" not in plain(telegram.full_text(view()))


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"etr": NOW.replace(hour=14, minute=5)}, "ETR: 14:05 UTC"),
        ({"etr": NOW + timedelta(days=2)}, "ETR: 2026-03-06 09:30 UTC"),
        ({"next_update_by": datetime(2026, 3, 4, 12, 0, tzinfo=timezone(timedelta(hours=2)))},
         "Next update by: 10:00 UTC"),
        ({"etr": NOW.replace(hour=11), "next_update_by": NOW.replace(hour=10)},
         "ETR: 11:30 UTC\nNext update by: 10:30 UTC"),
    ],
    ids=["same-day", "other-day", "converted-to-utc", "both"],
)
def test_times_are_utc_hh_mm(changes: dict[str, Any], expected: str) -> None:
    assert expected in plain(telegram.full_text(view(**changes)))


def test_maintenance_window_is_shown() -> None:
    shown = view(incident_changes={"kind": "maintenance", "scheduled_start": NOW + timedelta(days=1),
                                   "scheduled_end": NOW + timedelta(days=1, hours=2)})
    assert "Window: 2026-03-05 09:30 UTC to 11:30 UTC" in plain(telegram.full_text(shown))


def test_components_and_link() -> None:
    shown = view(components=(AffectedComponent("api", ComponentStatus.MAJOR_OUTAGE),),
                 url="https://status.example.com/i?a=1&b=\"2\"")
    html = telegram.full_text(shown)
    text, entities = parse_html(html)
    assert "Components\n• api: Major outage" in text
    assert {"type": "text_link", "url": "https://status.example.com/i?a=1&b=\"2\"",
            "offset": utf16_len(text) - len("Incident page"), "length": len("Incident page")} in entities


def test_public_view_has_no_private_section_and_private_view_marks_it() -> None:
    detail: dict[str, Any] = {"private_note": "PRIVNOTE", "customers": ("PRIVCUST",), "tickets": ("PRIVTICKET",)}
    public = plain(telegram.full_text(view("Hi [private]PRIVSPAN[/private] there.", **detail)))
    private = plain(telegram.full_text(view("Hi [private]PRIVSPAN[/private] there.", private=True,
                                            **detail)))
    assert "PRIV" not in public and "Private" not in public
    assert private.endswith(
        "🔒 Private: internal only, never shown publicly\n"
        "Note: PRIVNOTE\nCustomers: PRIVCUST\nTickets: PRIVTICKET")
    assert "Hi PRIVSPAN there." in private
    assert "Private" not in plain(telegram.full_text(view(private=True)))  # nothing private to show


@pytest.mark.parametrize(
    "text",
    ["<b>x</b> <script>", "a & b &amp; &#60; &bogus;", "*_[]()~>#+-=|{}.!", "<!channel>", "\"'"],
    ids=["tags", "entities", "markdown", "mention", "quotes"],
)
def test_operator_text_is_escaped_to_itself(text: str) -> None:
    html = telegram.full_text(view(f"{text} end", title=text))
    parsed, entities = parse_html(html)
    assert f"{text} end" in parsed and f"Investigating: {text}" in parsed
    assert {e["type"] for e in entities} == {"bold"}


# -- splitting -------------------------------------------------------------------------


def parts_of(message: str, limit: int = telegram.MAX_CHARS, **kwargs: Any) -> list[str]:
    parts = telegram.messages(view(message, **kwargs), limit)
    for part in parts:
        text, _ = parse_html(part)  # raises if Telegram would refuse it
        assert 0 < utf16_len(text) <= limit
    return [plain(part) for part in parts]


def test_a_short_update_is_one_message() -> None:
    assert len(telegram.messages(view())) == 1


def test_splits_prefer_paragraph_breaks() -> None:
    paragraphs = [f"Paragraph {i}. " + "word " * 500 for i in range(6)]  # ~2,515 characters each
    parts = parts_of("\n\n".join(paragraphs))
    assert len(parts) == 6
    assert all(part.rstrip().endswith("word") for part in parts)
    assert all(part.startswith(f"Paragraph {i}.") for i, part in enumerate(parts[1:], start=1))


def test_splits_fall_back_to_sentences_then_words() -> None:
    sentences = parts_of(" ".join(f"Sentence number {i} is here." for i in range(600)))
    assert all(part.endswith(".") for part in sentences)
    words = parts_of(" ".join(f"word{i}" for i in range(2000)))
    assert all(re.fullmatch(r"(word\d+ ?)+", part.split("\n\n")[-1]) for part in words[1:])
    assert " ".join(words).split()[-1] == "word1999"


def test_a_giant_word_is_cut_but_emoji_sequences_stay_whole() -> None:
    parts = parts_of("x" * 9000)
    assert squash("".join(parts[1:])) == "x" * (9000 - len(parts[0].split("\n\n")[-1]))
    coder = "👩🏽‍💻"  # woman, skin tone, zero-width joiner, laptop: 7 UTF-16 units
    parts = parts_of(coder * 1500)
    assert all(part.split("\n\n")[-1].replace(coder, "") == "" for part in parts[1:])
    assert sum(part.count(coder) for part in parts) == 1500


def test_a_title_longer_than_a_message_is_split_into_valid_bold_parts() -> None:
    parts = telegram.messages(view(title="T" * 5000))
    assert len(parts) >= 2
    assert all(part.count("<b>") == part.count("</b>") for part in parts)
    assert all(parse_html(part) for part in parts)


def test_the_whole_text_survives_splitting() -> None:
    message = "\n\n".join(f"Para {i}: <tag> & ampersand; 🔥 " * 40 for i in range(20))
    shown = view(message, private=True, private_note="N " * 3000, customers=("Globex",))
    parts = telegram.messages(shown)
    assert squash(" ".join(plain(p) for p in parts)) == squash(plain(telegram.full_text(shown)))


pieces = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30) | st.sampled_from(
    ["<", ">", "&", "&amp;", "<b>", "\n", "\n\n", " ", ". ", "!", "。", "👩🏽\u200d💻", "x" * 60])
messages = st.lists(pieces, min_size=1, max_size=80).map("".join).filter(
    lambda s: s.strip() and "private" not in s.lower())


@settings(max_examples=60, deadline=None)
@given(message=messages, limit=st.integers(min_value=40, max_value=400))
def test_every_part_is_valid_within_the_limit_and_nothing_is_lost(message: str, limit: int) -> None:
    shown = view(message)
    parts = telegram.messages(shown, limit)
    for part in parts:
        assert 0 < utf16_len(parse_html(part)[0]) <= limit
    # A giant word is cut without a space, so compare with all whitespace removed.
    assert re.sub(r"\s", "", "".join(plain(p) for p in parts)) == re.sub(
        r"\s", "", plain(telegram.full_text(shown)))
