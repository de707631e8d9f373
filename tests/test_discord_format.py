"""Discord embeds over nasty input: markdown and mention injection, lengths, emoji, right-to-left text.

Each body is checked by the fake's own validator (Discord's limits) and read
back as Discord shows it (escapes undone), so "shows what was typed" is
tested on the reader's side.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from broadcaster.messages import discord as fmt
from broadcaster.messages import gate
from broadcaster.messages.model import AffectedComponent, ComponentStatus
from broadcaster.messages.visibility import public_text
from broadcaster.messages.words import cut_note, private_cut_note
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.fakes.discord import DiscordMessage, validate
from tests.hook_helpers import incident, update, view

# Unescaped markdown a reader would see acting: a masked link, a mention, bold, a heading, a spoiler.
_ACTIVE = re.compile(r"(?<!\\)\[[^\]]*(?<!\\)\]\(|(?<!\\)<[@#:t]|(?<!\\)@(everyone|here)|(?<!\\)\*\*|(?<!\\)\|\||^#", re.M)


def shown(body: dict[str, Any]) -> str:
    return DiscordMessage("1", "1", body).shown


@pytest.mark.parametrize("text", [
    "[https://status.example.com](https://evil.example.com/phish)",
    "**Everything is fine** @everyone @here <@123456> <@&987> <#555> <:pepe:123> <t:0:R>",
    "# Big heading\n> quoted\n- list\n1. numbered\n||spoiler|| ~~struck~~ `code` __under__",
    "C:\\Users\\admin\\ and a trailing backslash \\",
    "שגיאות בממשק ה-API \u202e evil \u202c مرحبا",
    "🔴🧑🏽‍💻 emoji 👨‍👩‍👧 and 🇩🇪",
], ids=["masked-link", "mentions", "block-markdown", "backslashes", "rtl", "emoji"])
def test_nasty_text_is_shown_as_typed_and_acts_on_nothing(text: str) -> None:
    body = fmt.message(view(update(message=text), inc=incident(title=f"API {text[:40]}")))
    validate(body)
    embed = body["embeds"][0]
    assert text in shown(body)
    assert not _ACTIVE.search(embed["description"]) and not _ACTIVE.search(embed["title"])
    assert body["allowed_mentions"] == {"parse": []} and "content" not in body


def test_urls_stay_whole_and_clickable() -> None:
    text = "See https://docs.example.com/a_(b)_c?x=1&y=*2* for details."
    description = fmt.message(view(update(message=text)))["embeds"][0]["description"]
    assert "https://docs.example.com/a_(b)_c?x=1&y=*2*" in description


def test_a_very_long_message_is_cut_within_every_limit_with_a_pointer_to_the_page() -> None:
    body = fmt.message(view(update(message="word " * 3000), private=True))
    validate(body)
    description = body["embeds"][0]["description"]
    # Staff's message may hold [private] spans the page never shows: its cut points at no page (review 19b, 8).
    assert description.endswith(private_cut_note(fmt.MEDIUM)) and fmt.units(description) <= fmt.MAX_DESCRIPTION
    public = fmt.message(view(update(message="word " * 3000)))
    validate(public)
    description = public["embeds"][0]["description"]
    assert description.endswith(cut_note(fmt.MEDIUM)) and fmt.units(description) <= fmt.MAX_DESCRIPTION


def test_long_lists_and_private_detail_stay_within_6000_in_all() -> None:
    many = tuple(AffectedComponent(f"component-{i:03d}", ComponentStatus.MAJOR_OUTAGE) for i in range(120))
    upd = update(message="x" * 4000, components=many, private_note="n" * 3000, customers=tuple(f"c{i}" * 30 for i in range(80)),
                 tickets=tuple(f"T-{i}" * 40 for i in range(90)), author="a" * 3000)
    body = fmt.message(view(upd, private=True))
    validate(body)
    assert fmt.units(body["embeds"][0]["description"]) >= 900  # the message keeps room of its own
    fields = body["embeds"][0]["fields"]
    listed = next(f["value"] for f in fields if f["name"] == "Components")
    shown_count = listed.count("component-")
    assert 0 < shown_count < 120 and listed.endswith(f"and {120 - shown_count} more")
    assert [f["name"] for f in fields if f["name"].startswith("🔒")] == [
        "🔒 Private: internal only, never shown publicly", "🔒 Customers", "🔒 Tickets", "🔒 Posted by"]


def test_public_and_private_bodies_differ_by_the_private_fields_alone() -> None:
    upd = update(message="Errors [private]for ACME[/private].", private_note="edge fra-2", customers=("ACME",))
    public, private = fmt.message(view(upd)), fmt.message(view(upd, private=True))
    assert "ACME" not in str(public) and "edge fra" not in str(public)
    assert "ACME" in shown(private) and "edge fra-2" in shown(private)


def test_colour_follows_impact_then_resolution() -> None:
    from broadcaster.messages.model import Impact, Status

    assert fmt.colour(view(inc=incident(impact=Impact.CRITICAL))) == fmt.RED
    assert fmt.colour(view(update(status=Status.RESOLVED))) == fmt.GREEN


# What the gate admits: a text holding a marker it refuses ("[/for]" alone, "[FOR]") never reaches a formatter.
texts = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Cf", "Co", "Cn")) | st.sampled_from("\\*_~`|[]()<>#@-+.:\n"),
                min_size=1, max_size=6000).filter(lambda s: s.strip() and gate.find_marker(s) is None)


@settings(max_examples=150, deadline=None)
@given(texts, texts)
@example(message="0  0", title="0")  # found by a run: runs of spaces are tidied before any channel sees them
def test_any_text_is_valid_for_discord_and_shown_as_typed_when_it_fits(message: str, title: str) -> None:
    cut = view(update(message=message), inc=incident(title=" ".join(title.split())[:200] or "t"))
    body = fmt.message(cut)
    validate(body)
    description = body["embeds"][0]["description"]
    assert not _ACTIVE.search(description)
    # As typed, after the one tidying every channel's view gets (messages.visibility: runs of spaces
    # and tabs, blank lines, the ends of lines), which the formatter must not undo or add to.
    assert cut.message == public_text(message)
    if not description.endswith(cut_note(fmt.MEDIUM)):
        assert cut.message in shown(body)


def test_the_detector_above_sees_active_markdown() -> None:
    """The check the tests above rely on fails on what Discord would act on (so it can fail)."""
    for active in ("[a](https://x)", "<@123>", "@everyone", "**b**", "||s||", "# h"):
        assert _ACTIVE.search(active), active
    assert not _ACTIVE.search(fmt.escape("[a](https://x) <@123> @everyone **b** ||s||\n# h"))


def test_own_words_follow_the_page_language() -> None:
    """[page] language: the headings and labels come from the catalogue; the operator's text stays as written."""
    from datetime import timedelta

    from broadcaster.messages import i18n
    from broadcaster.messages import teams as teams_fmt

    from tests.hook_helpers import T0

    upd = update(message="Errors on the API.", next_update_by=T0 + timedelta(hours=1), customers=("ACME",))
    with i18n.speaking("sv"):
        discord, teams = fmt.message(view(upd, private=True)), teams_fmt.message(view(upd, private=True))
    for body in (str(discord), str(teams)):
        assert "Nästa uppdatering senast" in body and "Kunder" in body and "Errors on the API." in body
        assert "Next update" not in body and "Customers" not in body


# -- an internal embed naming many customers, each with a long --for detail -----------------------


def crowded(customers: int, message: str = "We are looking into it.", **kw: Any) -> Any:
    """An internal view naming ``customers`` customers, each with the longest --for detail the gate admits."""
    from broadcaster.messages.model import Audience
    from broadcaster.messages.visibility import private_view

    from tests.hook_helpers import URL

    ids = [f"cust{i}" for i in range(customers)]
    detail = tuple((a, (f"Your circuit {a} is rerouted via Frankfurt. " * 200)[:5000]) for a in ids)
    upd = update(message=message, audiences=tuple(ids), audience_detail=detail, **kw)
    return private_view(incident(), upd, url=URL, audiences={a: Audience(a, f"Customer {a}") for a in ids})


def test_six_customers_details_a_long_note_and_tickets_stay_within_6000_and_keep_the_message() -> None:
    # Found in review: the fields alone passed 6,000, the message was replaced by the cut note and
    # Discord still refused the embed (400), failing the internal delivery for good.
    message = "Elevated error rates on the API since 14:00 UTC. " * 30  # 1,500 characters, all public
    body = fmt.message(crowded(6, message, private_note="edge router fra-2 lost BGP " * 180,
                               tickets=tuple(f"T-{i}" * 40 for i in range(90)), author="dana"))
    validate(body)
    embed = body["embeds"][0]
    assert embed["description"] == fmt.escape(message.strip())  # every public word stays
    private = {f["name"]: f["value"] for f in embed["fields"] if f["name"].startswith("🔒")}
    details = [private[f"🔒 For Customer cust{i}:"] for i in range(6)]
    assert all(d.startswith("Your circuit cust") and d.endswith(private_cut_note(fmt.MEDIUM)) for d in details)
    assert min(map(fmt.units, details)) >= fmt.MIN_DETAIL  # each customer keeps a fair share
    assert private["🔒 Private: internal only, never shown publicly"].endswith(private_cut_note(fmt.MEDIUM))
    assert "more" in private["🔒 Tickets"].splitlines()[-1] and private["🔒 Posted by"] == "dana"


def test_customers_past_what_fits_are_left_out_whole_and_counted() -> None:
    body = fmt.message(crowded(40, "x " * 2500, private_note="n" * 5000, author="dana"))
    validate(body)
    embed = body["embeds"][0]
    names = [f["name"] for f in embed["fields"]]
    shown = sum(name.startswith("🔒 For Customer") for name in names)
    assert 0 < shown < 40 and len(names) <= fmt.MAX_FIELDS
    assert names[-2:] == [f"🔒 …and {40 - shown} more", "🔒 Posted by"]  # counted, and where to read them
    assert embed["fields"][-2]["value"] == private_cut_note(fmt.MEDIUM).strip()
    assert embed["description"].endswith(private_cut_note(fmt.MEDIUM))  # 5,000 characters: cut, to its minimum at least
    assert fmt.units(embed["description"]) >= fmt.MIN_DESCRIPTION - len(cut_note(fmt.MEDIUM))


def test_a_customers_own_embed_keeps_its_detail_and_the_message() -> None:
    from broadcaster.messages.model import Audience
    from broadcaster.messages.visibility import audience_view

    from tests.hook_helpers import URL

    upd = update(message="障" * 5000, audiences=("acme",), audience_detail=(("acme", "🔌" * 5000),))
    body = fmt.message(audience_view(Audience("acme", "Acme"), incident(), upd, url=URL))
    validate(body)
    embed = body["embeds"][0]
    [detail] = [f["value"] for f in embed["fields"] if f["name"] == "For Acme:"]
    assert detail.startswith("🔌") and detail.endswith(private_cut_note(fmt.MEDIUM))
    assert embed["description"].startswith("障" * 1000) and embed["description"].endswith(private_cut_note(fmt.MEDIUM))
