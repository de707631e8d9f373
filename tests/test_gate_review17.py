"""Review 17: what the input gate and the egress guard let through, through the real CLI.

- Tag pairs that are no marker ("[priv]...[/priv]", "[to acme]...[/to]") published the span as prose.
- Invisible characters that are not format characters (the combining grapheme joiner, variation selectors,
  Hangul fillers) passed the gate and split a customer's name for the guard ("Ac\\u034fme Corp").
- The Turkish dotted İ and dotless ı defeated the guard's case folding ("İzmir Port" for "Izmir Port").
- A marker in a config text readers see (a component's or customer's name) was published as written.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from broadcaster.messages import gate

from tests.conftest import Project, public_webhook
from tests.fakes.webhook import SECRET, FakeReceiver
from tests.test_audiences import AUDIENCES
from tests.test_leak_review import hooks, public_files  # noqa: F401  (fixture)

LEAK = "CHG-4411"


@pytest.mark.parametrize("text", [
    f"API errors. [priv]edge router fra-2 lost BGP after {LEAK}[/priv]",
    f"API errors. [pvt]edge router fra-2 lost BGP after {LEAK}[/pvt]",
    f"API errors. [intern]edge router fra-2 lost BGP after {LEAK}[/intern]",
    f"API errors. [redacted]edge router fra-2 lost BGP after {LEAK}[/redacted]",
    f"API errors. [ops only]edge router fra-2 lost BGP after {LEAK}[/ops only]",
    f"API errors. [spoiler]edge router fra-2 lost BGP after {LEAK}[/spoiler]",
    f"API errors. [to acme]Your circuit {LEAK} is rerouted via Frankfurt.[/to]",
    f"API errors. [only acme]Your circuit {LEAK} is rerouted via Frankfurt.[/only]",
    f"API errors. [acme only]Your circuit {LEAK} is rerouted via Frankfurt.[/acme only]",
    f"API errors. [foracme]Your circuit {LEAK} is rerouted via Frankfurt.[/foracme]",
    f"API errors. [to acme] Your circuit {LEAK} is rerouted via Frankfurt.",  # no closer: the id says who
    f"API errors. [priv] edge router fra-2 lost BGP after {LEAK}",
])
def test_a_tag_pair_or_an_opener_that_is_no_marker_is_refused(
        project: Project, hooks: dict[str, FakeReceiver], text: str) -> None:  # noqa: F811
    result = project.cli("post", "--yes", "--title", "API errors", "-C", "api", text)
    assert result.exit_code == 2, result.output
    assert "looks like" in result.stderr and "nothing was stored or sent" in result.stderr
    assert not [e for e in hooks["pub"].events if LEAK in json.dumps(e)]
    assert LEAK not in public_files(project)


@pytest.mark.parametrize("text", [
    "Fixed: the <b>checkout</b> and [b]login[/b] pages load again; see [code]GET /v1/users[/code].",
    "Errors on [see below] and [or the CDN] for [four hours].",
    "Use <em>one</em> of [1] and [2]; ticket [OPS-12] tracks it.",
    "The proxy had <timeout>30</timeout> in <upstream name=\"api\">its config</upstream>.",  # XML quoted, not tags
])
def test_formatting_tags_and_bracketed_prose_are_still_taken(project: Project, text: str) -> None:
    result = project.cli("preview", "--title", "API errors", text)
    assert result.exit_code == 0, result.output


TURKIC_CUSTOMERS = """
[audiences.izmir]
name = "Izmir Port"
components = ["api"]

[audiences.diyar]
name = "Diyarbakir Enerji"
components = ["db"]
"""


@pytest.fixture
def public_hook(project: Project) -> Iterator[FakeReceiver]:
    with public_webhook(project, AUDIENCES + TURKIC_CUSTOMERS) as hook:
        yield hook


@pytest.mark.parametrize("name", [
    "Acme Corp",  # the control: the name as configured
    *(f"Ac{mark}me Corp" for mark in ("\u034f", "\ufe00", "\ufe0f", "\u180b", "\U000e0100", "\u17b4", "\u3164")),
    "İzmir Port", "İZMİR PORT", "Diyarbakır Enerji", "IZMIR PORT",
])
def test_a_customer_named_in_the_public_text_is_refused_however_spelt(
        project: Project, public_hook: FakeReceiver, name: str) -> None:
    result = project.cli("post", "--yes", "--title", "API errors", "-C", "api", f"Errors for {name} users.")
    assert result.exit_code == 2, result.output
    assert public_hook.events == []


@pytest.mark.parametrize("text", ["Back up ❤️ thanks", "Step 1️⃣ done", "🏳️‍🌈 team", "葛\U000e0100飾 office",
                                  "\u2139\ufe0f Maintenance tonight", "👩🏽‍💻 on it", "🧑🏿‍🔧 fixed"])
def test_variation_selectors_that_pick_an_emoji_or_an_ideographs_form_are_taken(text: str) -> None:
    assert gate.normalise(text, "the message") == text


def test_the_letters_that_are_emoji_are_those_icu_says() -> None:
    import unicodedata

    import icu

    letters = {chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF and unicodedata.category(chr(c))[0] in "LM"
               and icu.Char.hasBinaryProperty(chr(c), icu.UProperty.EMOJI)}
    assert gate.EMOJI_LETTERS == letters


def test_the_invisible_marks_are_unicodes_default_ignorables_outside_the_refused_categories() -> None:
    import unicodedata

    import icu

    ignorable = icu.UnicodeSet("[:Default_Ignorable_Code_Point:]")
    expected = {chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF and ignorable.contains(chr(c))
                and unicodedata.category(chr(c)) not in ("Cf", "Cn")}
    assert gate.IGNORABLE_MARKS == expected


COMPONENT_MARKER = """
[page]
title = "Acme status"
base_url = "https://status.example.com/"
output_dir = "public"

[[components]]
id = "api"
name = "API [private]pg-prod-7 behind lb-fra-2[/private]"
"""


def test_a_marker_in_a_component_name_refuses_the_config(project: Project) -> None:
    project.write_config(base=COMPONENT_MARKER)
    result = project.cli("post", "--yes", "--title", "API errors", "-C", "api", "Elevated error rates.")
    assert result.exit_code == 2 and "components" in result.stderr and "takes no markers" in result.stderr
    assert not project.site.exists()


def test_a_marker_in_a_customer_name_never_reaches_that_customer(project: Project) -> None:
    hook = FakeReceiver().start()
    try:
        project.env["S"] = SECRET
        project.write_config('[audiences.acme]\nname = "Acme Corp [privte]churn risk[/privte]"\ncomponents = ["api"]\n'
                             f'\n[channels.acme-hook]\ntype = "webhook"\naudience = "acme"\nurl = "{hook.hook_url}"\n'
                             'secret = "${S}"\n')
        result = project.cli("post", "--yes", "--title", "API errors", "-C", "api", "--for", "acme",
                             "Your circuit ACM-7 is rerouted.", "Elevated error rates.")
        assert result.exit_code == 2 and "audiences.acme.name" in result.stderr, result.output
        assert hook.events == []
    finally:
        hook.stop()
