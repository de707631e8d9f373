"""Review 18b, findings 2, 3, 4, 6 and 7: options said twice, "did you mean" in another letter case, promises on a
closing update, `-C api=`, and --help that misled. Every test drives the real CLI (or the real function)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner, Result

from broadcaster.cli import main
from broadcaster.errors import did_you_mean
from tests.conftest import Project
from tests.fakes.world import PUBLIC_CHAT, FakeWorld


def _ids(project: Project) -> list[str]:
    return sorted(i["id"] for i in json.loads(project.cli("list", "--json").stdout))


def _updates(project: Project, incident: str) -> list[dict[str, Any]]:
    updates: list[dict[str, Any]] = json.loads(project.cli("show", incident, "--json").stdout)["updates"]
    return updates


def _new(project: Project, title: str = "API errors", *args: str) -> str:
    created = project.cli("post", "--yes", "--json", "--title", title, *args, "Investigating.")
    assert created.exit_code == 0, created.output
    return str(json.loads(created.stdout)["incident_id"])


def _bare(project: Project, *args: str) -> Result:
    """The CLI without conftest's leading `--config`: where --config goes is what is tested."""
    return CliRunner().invoke(main, list(args), env=project.env, catch_exceptions=False)


def _flat(text: str) -> str:
    return " ".join(text.split())


# --- 2. An option said twice with two values is refused ---------------------------------------------------------

def test_an_incident_given_twice_is_refused_and_nothing_is_sent(project: Project, world: FakeWorld) -> None:
    first, second = _new(project, "API errors"), _new(project, "Database slow")
    sent = len(world.telegram_messages(PUBLIC_CHAT))
    result = project.cli("post", "--yes", "-i", first, "-i", second, "-s", "identified", "Cause found.")
    assert result.exit_code == 2, result.output
    said = _flat(result.stderr)
    assert "'--incident' / '-i'" in said and repr(first) in said and repr(second) in said, said
    assert len(_updates(project, first)) == 1 and len(_updates(project, second)) == 1
    assert len(world.telegram_messages(PUBLIC_CHAT)) == sent


@pytest.mark.parametrize(("option", "values"), [
    ("--impact", ("critical", "none")),
    ("-s", ("identified", "monitoring")),
    ("--status", ("identified", "monitoring")),
    ("--title", ("API errors", "Database slow")),
    ("-t", ("API errors", "Database slow")),
    ("-p", ("circuit 7", "ticket 9")),
    ("--template", ("outage", "slow")),
], ids=lambda v: v if isinstance(v, str) else "-".join(v))
def test_a_field_said_once_given_twice_is_refused(project: Project, option: str, values: tuple[str, str]) -> None:
    project.write_config("""
[templates.outage]
title = "Outage"
message = "Down."

[templates.slow]
title = "Slow"
message = "Slow."
""")
    result = project.cli("post", "--yes", "--title", "Edge errors", option, values[0], option, values[1],
                         "Investigating.")
    assert result.exit_code == 2, result.output
    assert repr(values[0]) in result.stderr and repr(values[1]) in result.stderr, result.stderr
    assert _ids(project) == []


def test_two_private_notes_are_refused_saying_to_put_both_in_one(project: Project) -> None:
    incident = _new(project)
    result = project.cli("resolve", "--yes", "-p", "circuit 7", "-p", "ticket 9", incident, "Fixed.")
    assert result.exit_code == 2 and "both texts in it" in _flat(result.stderr), result.output
    assert len(_updates(project, incident)) == 1


def test_amend_with_two_private_notes_is_refused(project: Project) -> None:
    incident = _new(project, "API errors", "-p", "circuit 1")
    result = project.cli("amend", "--yes", incident, "1", "-p", "circuit 7", "-p", "ticket 9", "Errors on the API.")
    assert result.exit_code == 2 and "'circuit 7'" in result.stderr, result.output
    assert _updates(project, incident)[0]["private_note"] == "circuit 1"


def test_the_same_value_twice_is_taken(project: Project) -> None:
    """`-i A -i A` or `--etr 30m --etr 30m` says one thing: nothing to choose between (_once refused it before)."""
    incident = _new(project)
    result = project.cli("post", "--yes", "-i", incident, "-i", incident, "-s", "identified", "-s", "identified",
                         "--etr", "30m", "--etr", "30m", "Cause found.")
    assert result.exit_code == 0, result.output
    assert _updates(project, incident)[-1]["status"] == "identified"


def test_config_given_before_and_after_the_command_is_refused(project: Project, tmp_path_factory: Any) -> None:
    other = tmp_path_factory.mktemp("other") / "broadcaster.toml"
    other.write_text(project.config.read_text())
    for args in (["--config", str(project.config), "post", "-c", str(other)],  # before and after
                 ["-c", str(project.config), "-c", str(other), "post"]):        # an alias's, then one typed
        result = _bare(project, *args, "--yes", "--title", "API errors", "Investigating.")
        assert result.exit_code == 2, result.output
        assert repr(str(other)) in result.stderr and repr(str(project.config)) in result.stderr, result.stderr
        assert not (other.parent / ".broadcaster").exists() and _ids(project) == []


def test_the_same_config_named_two_ways_is_one_config(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project.root)
    result = _bare(project, "--config", "broadcaster.toml", "post", "--config", str(project.config), "--yes",
                   "--title", "API errors", "Investigating.")
    assert result.exit_code == 0, result.output


def test_store_given_before_and_after_is_refused_without_its_password(project: Project) -> None:
    result = project.cli("--store", "postgresql://deploy:s3cret-pw@db.example/status", "post",
                         "--store", str(project.root / "fallback.db"), "--yes", "--title", "API errors", "Down.")
    assert result.exit_code == 2, result.output
    assert "s3cret-pw" not in result.output and "fallback.db" in result.stderr, result.output
    assert not (project.root / "fallback.db").exists()


# --- 3. "Did you mean": the name the operator typed in another case comes alone ----------------------------------

def test_did_you_mean_puts_the_name_but_for_case_alone() -> None:
    assert did_you_mean("API-ERRORS-2026-12-05", ["api-errors-2026-12-05-2", "api-errors-2026-12-05"]) == \
        " Did you mean 'api-errors-2026-12-05'?"
    assert did_you_mean("API", ["api-gateway", "api"]) == " Did you mean 'api'?"
    assert did_you_mean("Api", ["API", "api", "api-gateway"]).startswith(" Did you mean 'API' or 'api'")
    assert did_you_mean("api-gatway", ["api-gateway", "api"]) == " Did you mean 'api-gateway'?"  # a typo: as before


def test_an_incident_in_capitals_suggests_that_incident_alone(project: Project) -> None:
    for _ in range(2):
        assert project.cli("post", "--yes", "--again", "--title", "API errors", "Investigating.").exit_code == 0
    plain = min(_ids(project), key=len)
    result = project.cli("resolve", "--yes", plain.upper(), "Fixed.")
    assert result.exit_code == 2 and f"Did you mean {plain!r}?" in result.stderr, result.stderr


# --- 4. A closing update promises nothing -------------------------------------------------------------------------

@pytest.mark.parametrize("command", [
    ["resolve", "--yes", "--next-update", "30m", "{id}", "Fixed."],
    ["resolve", "--yes", "--etr", "1h", "{id}", "Fixed."],
    ["post", "--yes", "-i", "{id}", "-s", "resolved", "--next-update", "1h", "Fixed."],
], ids=["resolve-next-update", "resolve-etr", "post-resolved"])
def test_a_closing_update_refuses_a_promise_saying_why(project: Project, world: FakeWorld, command: list[str]) -> None:
    incident = _new(project)
    sent = len(world.telegram_messages(PUBLIC_CHAT))
    result = project.cli(*[incident if word == "{id}" else word for word in command])
    assert result.exit_code == 2, result.output
    assert "resolves the incident" in _flat(result.stderr) and "No such option" not in result.stderr, result.stderr
    assert len(_updates(project, incident)) == 1 and len(world.telegram_messages(PUBLIC_CHAT)) == sent


def test_completing_a_window_refuses_a_next_update(project: Project) -> None:
    scheduled = project.cli("maintenance", "schedule", "--yes", "--json", "--title", "DB upgrade", "--start", "1h",
                            "--end", "2h", "-C", "db")
    window = json.loads(scheduled.stdout)["incident_id"]
    result = project.cli("post", "--yes", "-i", window, "-s", "completed", "--next-update", "3h", "Done.")
    assert result.exit_code == 2 and "completes the window" in _flat(result.stderr), result.output
    assert len(_updates(project, window)) == 1


def test_resolve_help_does_not_offer_a_promise(project: Project) -> None:
    shown = project.cli("resolve", "--help").stdout
    assert "--next-update" not in shown and "--etr" not in shown, shown
    assert "--next-update" in project.cli("post", "--help").stdout


# --- 6. `-C api=`: a status was meant -----------------------------------------------------------------------------

@pytest.mark.parametrize("entry", ["api=", "api= "])
def test_a_component_with_nothing_after_equals_is_refused_by_name(project: Project, entry: str) -> None:
    incident = _new(project, "API errors", "-C", "api=major_outage")
    result = project.cli("post", "--yes", "-i", incident, "-s", "monitoring", "-C", entry, "Fix deployed.")
    assert result.exit_code == 2 and "-C api=" in result.stderr, result.output
    assert len(_updates(project, incident)) == 1
    assert project.cli("post", "--yes", "--title", "Web errors", "-C", entry, "Down.").exit_code == 2


# --- 7. --help that misled --------------------------------------------------------------------------------------

def test_post_help_says_a_follow_up_keeps_its_status(project: Project) -> None:
    shown = _flat(project.cli("post", "--help").stdout)
    assert "investigating (default)" not in shown and "a follow-up keeps the incident's status" in shown, shown


def test_preview_offers_no_publishing_options_and_explains_its_own(project: Project) -> None:
    shown = _flat(project.cli("preview", "--help").stdout)
    options = shown.split("Options:", 1)[1]
    assert "--yes" not in options and "--dry-run" not in options and "Publish without asking" not in shown, shown
    for option, words in (("--incident ID", "this incident"), ("--title TEXT", "Title of"),
                          ("--impact TEXT", "critical"), ("--status TEXT", "monitoring"),
                          ("--reopen", "backward"), ("--again", "repeats")):
        assert option in shown and words in shown.split(option, 1)[1][:120], (option, shown)
    previewed = project.cli("preview", "--json", "--title", "API errors", "Investigating.")
    assert previewed.exit_code == 0 and json.loads(previewed.stdout)["dry_run"] is True, previewed.output
    # A script that passed them (they were offered) still gets its preview: they change nothing.
    scripted = project.cli("preview", "--yes", "--dry-run", "--json", "--title", "API errors", "Investigating.")
    assert scripted.exit_code == 0 and json.loads(scripted.stdout)["dry_run"] is True, scripted.output
    assert _ids(project) == []


def test_top_level_amend_and_tick_help_say_what_happens(project: Project) -> None:
    top = _flat(project.cli("--help").stdout)
    assert all(f"{code} " in top for code in ("1", "130", "141")), top
    amend = _flat(project.cli("amend", "--help").stdout)
    assert all(name in amend for name in ("Matrix", "Mastodon", "Discord", "Bluesky", "Teams", "email")), amend
    tick = _flat(project.cli("tick", "--help").stdout)
    assert "internal channels" in tick and "customer's channels" in tick, tick
