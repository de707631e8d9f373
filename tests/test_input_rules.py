"""The input gate through the CLI, against the fakes: each case a hostile afternoon found (issues 12 and 13).

A refused input exits 2 with a message naming what is wrong, and nothing is
stored, sent or built. An accepted one publishes no private value anywhere
public (every site file and its name, X, the public Telegram chat).
"""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import ENGINE, Project
from tests.fakes.world import FakeWorld
from tests.input_helpers import leaks, private_outputs, refused, requests, site_files, stored

SECRET = "ACMECORP"

LOOKALIKES = [
    ("fullwidth", f"Checkout down. ［private］{SECRET}［/private］"),
    ("soft-hyphen", f"Checkout down. [pri\u00advate]{SECRET}[/pri\u00advate]"),
    ("zero-width-space", f"Checkout down. [pri\u200bvate]{SECRET}[/pri\u200bvate]"),
    ("cyrillic-er", f"Checkout down. [\u0440rivate]{SECRET}[/\u0440rivate]"),
    ("html-entities", f"Checkout down. &#91;private&#93;{SECRET}&#91;/private&#93;"),
    ("angle-brackets", f"Checkout down. <private>{SECRET}</private>"),
    ("typo", f"Checkout down. [privte]{SECRET}[/privte]"),
    ("transposed", f"Checkout down. [pirvate]{SECRET}[/pirvate]"),
    ("spaced-letters", f"Checkout down. [p r i v a t e]{SECRET}[/p r i v a t e]"),
    ("small-capitals", f"Checkout down. [ᴘʀɪᴠᴀᴛᴇ]{SECRET}[/ᴘʀɪᴠᴀᴛᴇ]"),
    ("tortoise-shell", f"Checkout down. 〔private〕{SECRET}〔/private〕"),
    ("round", f"Checkout down. (private){SECRET}(/private)"),
    ("half-marker", f"Checkout down. [private {SECRET}"),
    # Found by a hostile review: a line break inside the word (stdin, an editor) hid the marker.
    ("line-break", f"Checkout down. [pri\nvate]{SECRET}[/pri\nvate]"),
    ("blank-line", f"Checkout down. [priv\n\nate]{SECRET}[/priv\n\nate]"),
    ("hyphen-line-break", f"Checkout down. [pri-\nvate]{SECRET}[/pri-\nvate]"),
    ("letter-per-line", f"Checkout down. [p\nr\ni\nv\na\nt\ne]{SECRET}[/p\nr\ni\nv\na\nt\ne]"),
]


@pytest.mark.parametrize("message", [m for _, m in LOOKALIKES], ids=[n for n, _ in LOOKALIKES])
def test_a_marker_lookalike_in_the_message_is_refused(project: Project, world: FakeWorld, message: str) -> None:
    result = project.cli("post", "--yes", "--title", "Checkout", message)
    refused(result, project, world, [], "the message")


@pytest.mark.parametrize("title", [m.replace("Checkout down. ", "Checkout ") for _, m in LOOKALIKES],
                         ids=[n for n, _ in LOOKALIKES])
def test_a_marker_lookalike_in_the_title_is_refused(project: Project, world: FakeWorld, title: str) -> None:
    result = project.cli("post", "--yes", "--title", title, "Checkout is failing.")
    refused(result, project, world, [], "--title")


FIELDS_WITHOUT_MARKERS = [
    ("--private", ["--private", "[private]x[/private]"]),
    ("--customer", ["--customer", "ACME [privte]"]),
    ("--ticket", ["--ticket", "OPS-1 ［private］"]),
]


@pytest.mark.parametrize(("field", "args"), FIELDS_WITHOUT_MARKERS, ids=[f for f, _ in FIELDS_WITHOUT_MARKERS])
def test_a_marker_in_a_wholly_private_field_is_refused(project: Project, world: FakeWorld, field: str, args: list[str]) -> None:
    result = project.cli("post", "--yes", "--title", "Checkout", *args, "Checkout is failing.")
    refused(result, project, world, [], field, "takes no markers")


@pytest.mark.parametrize("message", [
    f"Checkout is failing. [PRIVATE]{SECRET}[/PRIVATE]",
    f"Checkout is failing. [ private ]{SECRET}[ / private ]",
    f"Checkout is failing. [Private]{SECRET}[/Private]",
], ids=["upper-case", "spaced", "capitalised"])
def test_real_markers_in_upper_case_or_spaced_still_keep_the_span_private(project: Project, world: FakeWorld, message: str) -> None:
    result = project.cli("post", "--yes", "--title", "Checkout", message)
    assert result.exit_code == 0, result.stderr
    assert leaks(project, world, [SECRET]) == []
    assert SECRET in private_outputs(world)
    assert "Checkout is failing." in world.x.tweets[0].text


# -- titles ---------------------------------------------------------------------------------


def test_a_private_span_in_the_title_never_reaches_a_public_place(project: Project, world: FakeWorld) -> None:
    code = project.cli("post", "--yes", "--json", "--title", f"Checkout [private]{SECRET}[/private] down",
                       "Checkout is failing.")
    assert code.exit_code == 0, code.stderr
    payload = json.loads(code.stdout)
    assert payload["title"] == "Checkout down"
    assert payload["incident_id"].startswith("checkout-down-") and "acme" not in payload["incident_id"]
    assert leaks(project, world, [SECRET]) == []
    assert not any(SECRET.lower() in name.lower() for name in site_files(project))
    assert SECRET in private_outputs(world), "private channels show the whole title"
    shown = json.loads(project.cli("show", payload["incident_id"], "--json").stdout)
    assert (shown["title"], shown["private_title"]) == ("Checkout down", f"Checkout {SECRET} down")
    assert SECRET in project.cli("show", payload["incident_id"]).stdout
    listed = json.loads(project.cli("list", "--json").stdout)
    assert listed[0]["title"] == "Checkout down"


def test_a_private_span_in_a_maintenance_title_never_reaches_a_public_place(project: Project, world: FakeWorld) -> None:
    start = (datetime.now(UTC) + timedelta(hours=2)).isoformat(timespec="seconds")
    result = project.cli("maintenance", "schedule", "--yes", "--json", "--title", f"DB upgrade [private]{SECRET}[/private]",
                         "--start", start, "--end", "3h", "-C", "db")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["incident_id"].startswith("db-upgrade-")
    assert leaks(project, world, [SECRET]) == []
    assert SECRET in private_outputs(world)


def test_a_new_title_on_an_update_keeps_its_private_span_private(project: Project, world: FakeWorld) -> None:
    first = json.loads(project.cli("post", "--yes", "--json", "--title", "Checkout", "Failing.").stdout)
    result = project.cli("post", "--yes", "-i", first["incident_id"], "--title", f"Checkout for [private]{SECRET}[/private]",
                         "Still failing.")
    assert result.exit_code == 0, result.stderr
    assert leaks(project, world, [SECRET]) == []


def test_a_title_that_is_all_private_is_refused(project: Project, world: FakeWorld) -> None:
    result = project.cli("post", "--yes", "--title", f"[private]{SECRET}[/private]", "Checkout is failing.")
    refused(result, project, world, [], "--title has no public text")


# -- control and format characters ---------------------------------------------------------------


CONTROLS = [
    ("nul-in-message", ["--title", "Checkout"], "Checkout\x00 is failing.", "U+0000"),
    ("esc-in-message", ["--title", "Checkout"], "Checkout \x1b[31mfailing.", "U+001B"),
    ("bel-in-title", ["--title", "Checkout\x07"], "Checkout is failing.", "U+0007"),
    ("rtl-override-in-title", ["--title", "Checkout \u202edown"], "Checkout is failing.", "RIGHT-TO-LEFT OVERRIDE"),
    ("bidi-isolate-in-title", ["--title", "Checkout \u2067down\u2069"], "Checkout is failing.", "RIGHT-TO-LEFT ISOLATE"),
    ("zero-width-in-customer", ["--title", "Checkout", "--customer", "AC\u200bME"], "Failing.", "ZERO WIDTH SPACE"),
    ("newline-in-title", ["--title", "Checkout\ndown"], "Checkout is failing.", "one line"),
    # A review: a line separator is a line break in a chat or a mail client, as "\n" is.
    ("line-separator-in-title", ["--title", "Checkout\u2028down"], "Checkout is failing.", "one line"),
    ("paragraph-separator-in-ticket", ["--title", "Checkout", "--ticket", "OPS-1\u2029OPS-2"], "Failing.", "one line"),
]


@pytest.mark.parametrize(("args", "message", "named"), [c[1:] for c in CONTROLS], ids=[c[0] for c in CONTROLS])
def test_control_and_format_characters_are_refused_from_stdin_too(project: Project, world: FakeWorld, args: list[str],
                                                                   message: str, named: str) -> None:
    result = project.cli("post", "--yes", *args, "-", input=message.encode("utf-8"))
    refused(result, project, world, [], named)


def test_the_error_names_the_field_and_the_position(project: Project, world: FakeWorld) -> None:
    result = project.cli("post", "--yes", "--title", "Checkout", "Checkout\x00 is failing.")
    refused(result, project, world, [], "the message", "character 9", "U+0000")


def test_an_emoji_with_a_zero_width_joiner_is_text_not_a_hidden_character(project: Project, world: FakeWorld) -> None:
    result = project.cli("post", "--yes", "--title", "Checkout", "Our engineers 👩\u200d💻 are on it.")
    assert result.exit_code == 0, result.stderr


# -- sizes ------------------------------------------------------------------------------------


SIZES = [
    ("message", ["--title", "Checkout", "x" * 5_001], "the message is 5,001 characters", "at most 5,000"),
    ("title", ["--title", "T" * 201, "Failing."], "--title is 201 characters", "at most 200"),
    ("private", ["--title", "Checkout", "--private", "p" * 5_001, "Failing."], "--private is 5,001", "at most 5,000"),
    ("customer", ["--title", "Checkout", "--customer", "c" * 201, "Failing."], "--customer is 201", "at most 200"),
]


@pytest.mark.parametrize(("args", "said", "limit"), [s[1:] for s in SIZES], ids=[s[0] for s in SIZES])
def test_a_text_over_its_limit_is_refused_naming_size_and_limit(project: Project, world: FakeWorld, args: list[str],
                                                                 said: str, limit: str) -> None:
    refused(project.cli("post", "--yes", *args), project, world, [], said, limit)


def test_a_postmortem_over_200_kb_is_refused(project: Project, world: FakeWorld, tmp_path: Path) -> None:
    posted = json.loads(project.cli("post", "--yes", "--json", "--title", "Checkout", "Failing.").stdout)
    assert project.cli("resolve", posted["incident_id"], "--yes").exit_code == 0
    before, sent = stored(project), len(requests(world))
    book = tmp_path / "postmortem.md"
    book.write_text("# What happened\n" + "word " * 41_000, encoding="utf-8")
    result = project.cli("postmortem", posted["incident_id"], "--file", str(book), "--yes")
    assert result.exit_code == 2 and "the postmortem is 205,016 bytes" in result.stderr and "204,800" in result.stderr
    assert stored(project) == before and len(requests(world)) == sent


# -- templates ----------------------------------------------------------------------------------

TEMPLATES = """
[templates.outage]
title = "Checkout down for {region}"
impact = "major"
message = "Checkout is failing in {region}. [private]Customer: {cust}[/private]"

[templates.spliced]
title = "Checkout"
message = "Errors [priv{x} more."
"""


@pytest.fixture
def templated(project: Project, world: FakeWorld) -> FakeWorld:
    project.write_config(ENGINE + world.channels_toml() + TEMPLATES)
    return world


def test_a_template_value_cannot_close_and_reopen_a_private_span(project: Project, templated: FakeWorld) -> None:
    result = project.cli("post", "--yes", "--template", "outage", "--set", "region=eu",
                         "--set", "cust=X[/private] LEAK [private]")
    refused(result, project, templated, [], "--set cust", "takes no markers")


def test_a_template_value_cannot_form_a_marker_across_its_edge(project: Project, templated: FakeWorld) -> None:
    result = project.cli("post", "--yes", "--template", "spliced", "--set", "x=ate]LEAK[/private]")
    refused(result, project, templated, [], "--set x")
    alone = project.cli("post", "--yes", "--template", "spliced", "--set", "x=ate] LEAK")
    refused(alone, project, templated, [], "--set x", "forms a private marker")


def test_a_template_value_inside_a_private_span_stays_private(project: Project, templated: FakeWorld) -> None:
    result = project.cli("post", "--yes", "--template", "outage", "--set", "region=eu", "--set", f"cust={SECRET}")
    assert result.exit_code == 0, result.stderr
    assert leaks(project, templated, [SECRET]) == []
    assert SECRET in private_outputs(templated)


@pytest.mark.parametrize("placeholder", ["{x.__class__}", "{x[0]}", "{0}", "{}", "{x!r}", "{x:>99999}", "{x"],
                         ids=["attribute", "index", "positional", "empty", "conversion", "format-spec", "unbalanced"])
def test_a_template_with_anything_but_plain_placeholders_is_a_config_error(project: Project, world: FakeWorld,
                                                                            placeholder: str) -> None:
    project.write_config(ENGINE + world.channels_toml() + f'\n[templates.bad]\ntitle = "T"\nmessage = "A {placeholder} B"\n')
    result = project.cli("post", "--yes", "--template", "bad", "--set", "x=1")
    refused(result, project, world, [], "templates.bad.message")
    assert "KeyError" not in result.stderr and "unexpected" not in result.stderr


def test_preview_takes_a_template_like_post(project: Project, templated: FakeWorld) -> None:
    result = project.cli("preview", "--template", "outage", "--set", "region=eu", "--set", f"cust={SECRET}")
    assert result.exit_code == 0, result.stderr
    assert "Checkout is failing in eu." in result.stdout
    assert stored(project) == [] and requests(templated) == []


def test_set_without_a_template_is_refused(project: Project, world: FakeWorld) -> None:
    result = project.cli("post", "--yes", "--title", "Checkout", "--set", "region=eu", "Failing.")
    refused(result, project, world, [], "--set", "--template")


def test_a_set_key_the_template_does_not_take_is_refused(project: Project, templated: FakeWorld) -> None:
    result = project.cli("post", "--yes", "--template", "outage", "--set", "region=eu", "--set", "cust=A", "--set", "regoin=x")
    refused(result, project, templated, [], "regoin")


def test_a_mistyped_set_key_is_named_with_a_suggestion_not_reported_as_the_one_missing(
    project: Project, templated: FakeWorld
) -> None:
    """A review: `--set regoin=eu` alone said the template "needs a value for region", not what was typed."""
    result = project.cli("post", "--yes", "--template", "outage", "--set", "regoin=eu", "--set", "cust=A")
    refused(result, project, templated, [], "no placeholder regoin", "Did you mean 'region'?")


def test_reopen_on_a_new_incident_is_refused(project: Project, world: FakeWorld) -> None:
    result = project.cli("post", "--yes", "--reopen", "--title", "Checkout", "Failing.")
    refused(result, project, world, [], "--reopen")


# -- times ------------------------------------------------------------------------------------------


TIMES = [
    ("huge-duration", ["--next-update", "999999999h"]),
    ("huge-days", ["--etr", "99999999d"]),
    ("year-2001", ["--etr", "2001-06-01T12:00:00Z"]),
    ("year-9999", ["--etr", "9999-12-31T23:30:00Z"]),
    ("year-1", ["--next-update", "0001-01-01T00:00"]),
    ("three-years-ahead", ["--etr", (datetime.now(UTC) + timedelta(days=3 * 365)).isoformat(timespec="seconds")]),
]


@pytest.mark.parametrize("args", [t[1] for t in TIMES], ids=[t[0] for t in TIMES])
def test_a_time_outside_a_year_back_to_two_ahead_is_refused(project: Project, world: FakeWorld, args: list[str]) -> None:
    result = project.cli("post", "--yes", "--title", "Checkout", *args, "Failing.")
    refused(result, project, world, [], args[0], "a year back to two years ahead")


def test_a_maintenance_window_that_already_ended_is_refused(project: Project, world: FakeWorld) -> None:
    start = (datetime.now(UTC) - timedelta(hours=3)).isoformat(timespec="seconds")
    result = project.cli("maintenance", "schedule", "--yes", "--title", "DB", "--start", start, "--end", "1h", "-C", "db")
    refused(result, project, world, [], "in the past")


def test_a_maintenance_end_too_far_ahead_is_refused(project: Project, world: FakeWorld) -> None:
    start = (datetime.now(UTC) + timedelta(days=700)).isoformat(timespec="seconds")
    result = project.cli("maintenance", "schedule", "--yes", "--title", "DB", "--start", start, "--end", "60d", "-C", "db")
    refused(result, project, world, [], "--end")


# -- destinations and config ------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["--only", "tg-public", "--skip", "tg-public"], ["--only", "x,site", "--skip", "site", "--skip", "x"],
                                  ["--only", "slack-acme"]],
                         ids=["same-name", "all-only-skipped", "subscription-leaves-none"])
def test_a_filter_that_leaves_no_destination_is_refused(project: Project, world: FakeWorld, args: list[str]) -> None:
    result = project.cli("post", "--yes", "--title", "Checkout", "-C", "web", *args, "Failing.")
    refused(result, project, world, [])
    assert "--only" in result.stderr


@pytest.mark.parametrize("value", ["123", "true", "[1]"], ids=["number", "boolean", "list"])
def test_a_secret_that_is_not_a_string_is_a_config_error(project: Project, world: FakeWorld, value: str) -> None:
    toml = world.channels_toml().replace('token = "${TG_TOKEN}"', f"token = {value}", 1)
    project.write_config(ENGINE + toml)
    result = project.cli("post", "--yes", "--title", "Checkout", "Failing.")
    refused(result, project, world, [], "channels.tg-public.token", "${MY_VAR}")


@pytest.mark.parametrize("url", ["http://status.example.com/", "https://status.example.com/#top",
                                 "https://status.example.com/?utm=1", "https://user:pw@status.example.com/",
                                 "https://status example.com/", "https:///path", "status.example.com",
                                 "https://status.example.com/\\\\evil.example"],
                         ids=["http", "fragment", "query", "credentials", "space", "no-host", "no-scheme", "backslash"])
def test_base_url_must_be_a_plain_https_url(project: Project, url: str) -> None:
    project.write_config(base=textwrap.dedent(f"""
        [page]
        base_url = "{url}"
    """))
    result = project.cli("post", "--yes", "--title", "Checkout", "Failing.")
    refused(result, project, None, [], "page.base_url", "https://", "no ?query, no #fragment,")
    assert "pw" not in result.stderr
