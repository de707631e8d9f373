"""Fixes of review 20d (the operator in a hurry: unset variables, up-arrow + Enter, typos), each driven through the
real CLI against the fakes. The reviewer's own cases are in tests/test_zz_r20d_operator.py; these cover the rest of
each fix (other commands, other spellings, what still works)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from tests.conftest import ENGINE, Project
from tests.fakes.base import Fault, Response
from tests.fakes.world import PUBLIC_CHAT, FakeWorld

UNAVAILABLE = Response(503, {"title": "Service Unavailable", "status": 503})


def _setup(project: Project, world: FakeWorld) -> None:
    project.write_config(ENGINE + world.channels_toml())


def _new(project: Project, title: str = "API errors", text: str = "Investigating.") -> str:
    created = project.cli("post", "--yes", "--json", "--title", title, "-C", "api", text)
    assert created.exit_code == 0, created.output
    return str(json.loads(created.stdout)["incident_id"])


def _updates(project: Project, incident: str) -> list[dict[str, Any]]:
    updates: list[dict[str, Any]] = json.loads(project.cli("show", incident, "--json").stdout)["updates"]
    return updates


def _ids(project: Project) -> list[str]:
    return [i["id"] for i in json.loads(project.cli("list", "--json").stdout)]


def _flat(text: str) -> str:
    return " ".join(text.split())


def _x_down(world: FakeWorld) -> None:
    world.x.fail(*[Fault(match="/2/tweets", response=UNAVAILABLE) for _ in range(6)])


# --- 1. an empty --skip/--only value -----------------------------------------------------------------------------

@pytest.mark.parametrize(("option", "value", "said"), [
    ("--skip", "x,", "empty name between its commas"),
    ("--skip", "x, ,tg-ops", "empty name between its commas"),
    ("--only", "", "is empty"),
    ("--only", " , ", "is empty"),
], ids=["trailing-comma", "blank-between", "only-empty", "only-commas"])
def test_an_empty_destination_name_is_refused(project: Project, world: FakeWorld, option: str, value: str,
                                              said: str) -> None:
    _setup(project, world)
    incident = _new(project)
    tweets = len(world.x.tweets)
    result = project.cli("post", "--yes", "-i", incident, option, value, "-s", "identified", "Cause found.")
    assert result.exit_code == 2, result.output
    assert option in result.stderr and said in _flat(result.stderr) and "unset shell variable" in result.stderr
    assert len(_updates(project, incident)) == 1 and len(world.x.tweets) == tweets


def test_an_empty_skip_is_refused_by_resolve_and_maintenance_too(project: Project, world: FakeWorld) -> None:
    _setup(project, world)
    incident = _new(project)
    resolved = project.cli("resolve", "--yes", incident, "--skip", "", "Fixed.")
    assert resolved.exit_code == 2 and "is empty" in resolved.stderr, resolved.output
    scheduled = project.cli("maintenance", "schedule", "--yes", "--title", "Database upgrade", "--start", "2h",
                            "--end", "1h", "-C", "db", "--skip=", "We upgrade the database.")
    assert scheduled.exit_code == 2 and "is empty" in scheduled.stderr, scheduled.output
    assert _ids(project) == [incident] and len(_updates(project, incident)) == 1


# --- 2. an empty incident id, as an option or an argument ----------------------------------------------------------

@pytest.mark.parametrize("args", [
    ("post", "--yes", "-i", " ", "-t", "API errors: EU only", "Cause found."),
    ("preview", "-i", "", "Cause found."),
    ("retry", " "),
    ("withdraw", "--yes", ""),
    ("amend", "--yes", "", "1", "Errors on the API."),
    ("postmortem", "--yes", "", "--file", "pm.md"),
    ("maintenance", "start", "--yes", ""),
    ("maintenance", "cancel", "--yes", " "),
], ids=["post-blank", "preview", "retry-blank", "withdraw", "amend", "postmortem", "maintenance-start",
        "maintenance-cancel"])
def test_an_empty_incident_id_is_refused_as_empty(project: Project, world: FakeWorld, args: tuple[str, ...]) -> None:
    _setup(project, world)
    incident = _new(project)
    tweets = len(world.x.tweets)
    result = project.cli(*args)
    assert result.exit_code == 2, result.output
    said = _flat(result.stderr)
    assert "is empty (an unset shell variable?)" in said and "--title" not in said, said
    assert _ids(project) == [incident] and len(world.x.tweets) == tweets


# --- 3. maintenance schedule repeated ------------------------------------------------------------------------------

SCHEDULE = ("maintenance", "schedule", "--yes", "--title", "Database upgrade", "--start", "2h", "--end", "1h",
            "-C", "db")


def test_a_repeated_schedule_with_the_standard_text_is_refused_and_again_announces_it(
        project: Project, world: FakeWorld) -> None:
    """Without MESSAGE the announcement names the window's times, which `--start 2h` typed again a minute later
    moves: still the same window. `--again` announces it anyway; a window a day later is another one."""
    _setup(project, world)
    assert project.cli(*SCHEDULE).exit_code == 0
    public_posts = len(world.telegram_messages(PUBLIC_CHAT))
    again = project.cli(*SCHEDULE[:6], "2h1m", *SCHEDULE[7:])
    assert again.exit_code == 2, again.output
    said = _flat(again.stderr)
    assert "repeats" in said and "the same title, text and window" in said and "--again" in said, said
    assert len(_ids(project)) == 1 and len(world.telegram_messages(PUBLIC_CHAT)) == public_posts
    later = project.cli(*SCHEDULE[:6], "26h", *SCHEDULE[7:])
    assert later.exit_code == 0, later.output
    forced = project.cli(*SCHEDULE, "--again")
    assert forced.exit_code == 0, forced.output
    assert len(_ids(project)) == 3


# --- 4. amend repeated after a failed delivery -----------------------------------------------------------------

def test_an_amend_repeated_is_refused_naming_where_it_is_not_sent_then_retry_sends_it(
        project: Project, world: FakeWorld) -> None:
    _setup(project, world)
    incident = _new(project, text="Errors on the APi.")
    _x_down(world)
    assert project.cli("amend", "--yes", incident, "1", "Errors on the API.").exit_code == 3
    world.x.clear_faults()
    stored = len(_updates(project, incident))
    again = project.cli("amend", "--yes", incident, "1", "Errors on the API.")
    said = _flat(again.stderr)
    assert again.exit_code == 2, again.output
    assert "x (failed)" in said and f"broadcaster retry {incident}" in said, said
    assert len(_updates(project, incident)) == stored
    assert project.cli("retry", incident).exit_code == 0
    settled = project.cli("amend", "--yes", incident, "1", "Errors on the API.")
    assert settled.exit_code == 2 and "delivered everywhere" in _flat(settled.stderr), settled.output
    # A correction of letter case is a correction: not a repeat.
    cased = project.cli("amend", "--yes", incident, "1", "Errors on the api.")
    assert cased.exit_code == 0, cased.output


def test_a_correction_the_same_for_readers_the_first_never_reached_names_retry(
        project: Project, world: FakeWorld) -> None:
    """A second correction changing only the private note reads the same for X's readers as #2, which X never got:
    X is skipped (``retry`` sends #2 there, once), saying so and naming retry, never "read nothing changed"."""
    _setup(project, world)
    incident = _new(project, text="Errors on the APi.")
    _x_down(world)
    assert project.cli("amend", "--yes", incident, "1", "Errors on the API.").exit_code == 3
    world.x.clear_faults()
    third = project.cli("amend", "--yes", "--json", incident, "1", "--private", "edge fra-2", "Errors on the API.")
    deliveries = {d["destination"]: d for d in json.loads(third.stdout)["deliveries"]}
    why = _flat(json.dumps(deliveries["x"]))
    assert deliveries["x"]["state"] == "skipped" and "read nothing changed" not in why, why
    assert "correction #2" in why and "(failed)" in why and f"broadcaster retry {incident}" in why, why
    assert project.cli("retry", incident).exit_code == 0
    assert sum("Errors on the API." in t.text for t in world.x.tweets) == 1


def test_a_correction_back_to_the_text_x_has_still_follows_the_one_it_never_got(
        project: Project, world: FakeWorld) -> None:
    """A -> B (X down) -> A: X still owes B (``retry`` sends it), so A is planned after it there; compared with what
    went out alone, A would be skipped at X and retry would leave X's readers with B."""
    _setup(project, world)
    incident = _new(project, text="Errors on the API in the EU.")
    _x_down(world)
    assert project.cli("amend", "--yes", incident, "1", "Errors on the API in the US.").exit_code == 3
    world.x.clear_faults()
    back = project.cli("amend", "--yes", "--json", incident, "1", "Errors on the API in the EU.")
    deliveries = {d["destination"]: d for d in json.loads(back.stdout)["deliveries"]}
    assert deliveries["x"]["state"] != "skipped", deliveries["x"]


# --- 5. a closing step taken again after it exited 3 ---------------------------------------------------------------

def test_resolve_again_names_what_failed_and_retry_before_reopen(project: Project, world: FakeWorld) -> None:
    _setup(project, world)
    incident = _new(project)
    _x_down(world)
    assert project.cli("resolve", "--yes", incident, "Fixed.").exit_code == 3
    world.x.clear_faults()
    again = project.cli("post", "--yes", "-i", incident, "-s", "resolved", "Fixed.")
    said = _flat(again.stderr)
    assert again.exit_code == 2, again.output
    assert "x (failed)" in said and said.index(f"broadcaster retry {incident}") < said.index("--reopen"), said
    assert project.cli("retry", incident).exit_code == 0
    settled = project.cli("resolve", "--yes", incident, "Fixed.")
    assert settled.exit_code == 2 and "retry" not in settled.stderr, settled.output  # nothing left to send


def test_maintenance_start_again_after_a_failed_start_names_retry(project: Project, world: FakeWorld) -> None:
    _setup(project, world)
    created = project.cli(*SCHEDULE, "--json", "We upgrade the database.")
    window = json.loads(created.stdout)["incident_id"]
    _x_down(world)
    assert project.cli("maintenance", "start", "--yes", window).exit_code == 3
    world.x.clear_faults()
    again = project.cli("maintenance", "start", "--yes", window)
    said = _flat(again.stderr)
    assert again.exit_code == 2 and "already in_progress" in said, again.output
    assert "x (failed)" in said and said.index(f"broadcaster retry {window}") < said.index("post -i"), said


# --- 6. list and completion: a withdrawn incident with the closed ones ---------------------------------------------

def _complete(project: Project, *words: str) -> list[str]:
    env = {**os.environ, **project.env, "COMP_WORDS": " ".join(["broadcaster", "--config", str(project.config), *words]),
           "COMP_CWORD": str(2 + len(words)), "_BROADCASTER_COMPLETE": "bash_complete"}
    done = subprocess.run([sys.executable, "-c", "from broadcaster.cli import main; main(prog_name='broadcaster')"],
                          env=env, capture_output=True, text=True, timeout=60, cwd=project.root)
    return [line.split(",", 1)[1] for line in done.stdout.splitlines() if "," in line]


def test_list_and_completion_put_the_running_incident_before_a_withdrawn_one(project: Project, world: FakeWorld) -> None:
    _setup(project, world)
    mistaken = _new(project, "Edge errors")
    running = _new(project, "Login failures")
    assert project.cli("withdraw", "--yes", mistaken).exit_code == 0
    assert _ids(project) == [running, mistaken]
    assert project.cli("list").stdout.index(running) < project.cli("list").stdout.index(mistaken)
    assert _complete(project, "post", "-i", "") == [running, mistaken]


# --- 7. empty --customer / --ticket ------------------------------------------------------------------------------

@pytest.mark.parametrize("option", ["--customer", "--ticket"])
def test_an_empty_customer_or_ticket_is_refused(project: Project, world: FakeWorld, option: str) -> None:
    _setup(project, world)
    incident = _new(project)
    result = project.cli("post", "--yes", "-i", incident, option, " ", "Still investigating.")
    assert result.exit_code == 2 and "is empty (an unset shell variable?)" in _flat(result.stderr), result.output
    assert len(_updates(project, incident)) == 1


# --- 8. 16h00 ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("option", "value", "clock", "span"), [
    ("--next-update", "16h00", "16:00", "16h "), ("--etr", "23h30", "23:30", "23h30m"), ("--next-update", "10 h 05",
                                                                                          "10:05", "10h05m"),
    ("--next-update", "09h30", "09:30", "09h30m"),
], ids=["16h00", "23h30-etr", "spaced", "09h30-padded"])
def test_a_clock_time_written_with_h_is_refused(project: Project, world: FakeWorld, option: str, value: str,
                                                clock: str, span: str) -> None:
    _setup(project, world)
    result = project.cli("post", "--yes", "--title", "API errors", "-C", "api", option, value, "Investigating.")
    said = _flat(result.stderr) + " "
    assert result.exit_code == 2 and f"{clock} for a time of day" in said and f"{span}" in said, said
    assert _ids(project) == []


def test_a_maintenance_start_written_with_h_is_refused_and_1h30_is_still_a_duration(
        project: Project, world: FakeWorld) -> None:
    _setup(project, world)
    start = project.cli("maintenance", "schedule", "--yes", "--title", "Database upgrade", "--start", "22h00",
                        "--end", "1h", "-C", "db")
    assert start.exit_code == 2 and "22:00 for a time of day" in _flat(start.stderr), start.output
    code, payload = project.cli_json("post", "--yes", "--title", "API errors", "-C", "api", "--next-update", "1h30",
                                     "Investigating.")
    assert code == 0, payload
    nine = project.cli("post", "--yes", "-i", payload["incident_id"], "--next-update", "in 12h00", "Still on it.")
    assert nine.exit_code == 0, nine.output  # "in" says a span


# --- 9. names separated by spaces -----------------------------------------------------------------------------------

def test_names_separated_by_spaces_are_told_to_use_commas_never_one_name(project: Project, world: FakeWorld) -> None:
    _setup(project, world)
    incident = _new(project)
    both = project.cli("post", "--yes", "-i", incident, "--only", "tg-ops slack-acme", "Still investigating.")
    said = _flat(both.stderr)
    assert both.exit_code == 2 and "--only tg-ops,slack-acme" in said and "Did you mean" not in said, said
    typo = project.cli("post", "--yes", "-i", incident, "--skip", "x tg-publc", "Still investigating.")
    said = _flat(typo.stderr)
    assert typo.exit_code == 2 and "commas" in said and "'tg-publc'" in said and "Did you mean" not in said, said
    assert len(_updates(project, incident)) == 1


def test_list_of_an_empty_customer_is_refused_not_a_list_of_everything(project: Project, world: FakeWorld) -> None:
    """`list --customer "$CUST"` with CUST unset listed every incident, as if no customer had been asked about."""
    _setup(project, world)
    _new(project)
    listed = project.cli("list", "--customer", "")
    # Since review 35c every option said once refuses an empty value itself, saying so (it said "no audience ''").
    assert listed.exit_code == 2 and "--customer" in _flat(listed.stderr), listed.output
    assert "is empty (an unset shell variable?)" in _flat(listed.stderr), listed.output
