"""Review 35d, a hostile pass over review 35's fixes (each test but the controls failed before its fix).

- An option's value with another option attached (`--title -p"note"`: the note became the public title) or the end of
  the options (`--title -- "msg"` with the title unset) got past the refusal of options taken as values.
- A `--store` value refused as an option was printed whole, a URL's password with it.
- With `[store] url = "${DATABASE_URL}"` and the variable unset (the team database's case for a fallback file), a
  `--store fallback.db` post was refused before posting; and one on an existing fallback file was stored and sent,
  then exited 2 with "Export it ... and run the command again", which would post twice (so since before review 35).
- `store import` and `store migrate` into a new file named like the config's store were refused as a path typo.
- The hint to quote a title or a message came with every command's extra arguments.
- `resolve` of a completed window was told to complete it; a window given an incident's status, to end it.
- Receiver keys: escaped letters in other case, a backslash and final dots, which IIS and ASP.NET Core route alike.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import ENGINE, Project
from tests.fakes.webhook import SECRET
from tests.test_audiences import AUDIENCES
from tests.test_receiver_keys import hook_table
from tests.test_review35c import listed

CONFIG = AUDIENCES
TEAM_STORE = '\n[store]\nurl = "${DATABASE_URL}"\n'


@pytest.mark.parametrize("args", [
    ("post", "--title", '-pdb host 10.0.0.5 password rotated by Bob', "--yes", "Investigating errors."),
    ("post", "-t-iINC-1", "--yes", "Investigating errors."),
    ("post", "--title", "-Capi=major_outage", "--yes", "Investigating errors."),
    ("post", "--title", "-yp", "--yes", "Investigating errors."),
    ("post", "--title", "--", "Investigating errors.", "--yes"),
])
def test_a_value_that_reads_as_an_option_is_refused(project: Project, args: tuple[str, ...]) -> None:
    project.write_config(CONFIG)
    result = project.cli(*args)
    assert result.exit_code == 2 and "reads as an option" in result.output, result.output
    assert listed(project) == []


def test_control_a_title_beginning_with_a_dash_and_a_digit_is_a_title(project: Project) -> None:
    project.write_config(CONFIG)
    assert project.cli("post", "--title", "-5% of requests fail", "--yes", "Errors.").exit_code == 0


@pytest.mark.parametrize("given", [
    "--store=postgresql://bob:s3cret@db.internal/bc",
    "--password=s3cret",  # review 35e: a value _shown_store does not take for a connection string was shown whole
])
def test_a_store_refused_as_an_option_is_not_printed_with_its_password(project: Project, given: str) -> None:
    project.write_config(CONFIG)
    result = project.cli("--store", given, "list")
    assert result.exit_code == 2 and "reads as an option" in result.output, result.output
    assert "s3cret" not in result.output


def test_a_fallback_beside_a_team_store_whose_variable_is_unset_posts(project: Project) -> None:
    project.write_config(CONFIG + TEAM_STORE)
    fallback = str(project.root / "fallback.db")
    first = project.cli("--store", fallback, "post", "--title", "Checkout down", "--yes", "Investigating.")
    assert first.exit_code == 0, first.output
    [incident] = listed(project, "--store", fallback)
    again = project.cli("--store", fallback, "post", "-i", str(incident["id"]), "--yes", "Still investigating.")
    assert again.exit_code == 0 and "Export it" not in again.output, again.output  # stored and sent: exit 0
    shown = json.loads(project.cli("--store", fallback, "show", str(incident["id"]), "--json").stdout)
    assert len(shown["updates"]) == 2


@pytest.mark.parametrize("command", [("store", "import"), ("store", "migrate")])
def test_a_store_moved_into_a_new_file_of_the_same_name_is_not_refused(project: Project, command: tuple[str, str]) -> None:
    project.write_config(CONFIG)
    assert project.cli("post", "--title", "API errors", "--yes", "Errors.").exit_code == 0
    exported = project.root / "all.jsonl"
    assert project.cli("store", "export", str(exported)).exit_code == 0
    moved = project.root / "newhome" / "state.db"
    moved.parent.mkdir()
    args = (*command, str(exported)) if command[1] == "import" else command
    result = project.cli("--store", str(moved), *args)
    assert result.exit_code == 0, result.output
    assert moved.exists()


def test_a_post_into_a_new_file_of_the_same_name_in_other_letter_case_is_refused(project: Project) -> None:
    project.write_config(CONFIG)
    assert project.cli("post", "--title", "API errors", "--yes", "Errors.").exit_code == 0
    (project.root / "elsewhere").mkdir()
    result = project.cli("--store", str(project.root / "elsewhere" / "STATE.db"), "post", "--title", "Login errors",
                         "--yes", "Logins fail.")
    assert result.exit_code == 2 and "this config's own store" in result.output, result.output


def test_the_hint_to_quote_words_is_only_for_a_command_that_takes_them(project: Project) -> None:
    project.write_config(CONFIG)
    assert project.cli("post", "--title", "API errors", "--yes", "Errors.").exit_code == 0
    [incident] = listed(project)
    result = project.cli("show", str(incident["id"]), "extra")
    assert result.exit_code == 2 and "Got unexpected extra argument" in result.output, result.output
    assert "goes in quotes" not in result.output


def test_a_windows_status_advice_fits_what_was_asked(project: Project) -> None:
    project.write_config(CONFIG)
    assert project.cli("maintenance", "schedule", "--yes", "--title", "DB upgrade", "--start", "2h", "--end", "3h",
                       "-C", "api", "Upgrading.").exit_code == 0
    [window] = listed(project)
    wrong = project.cli("post", "-i", str(window["id"]), "-s", "investigating", "--yes", "Going.")
    assert wrong.exit_code == 2 and "is a maintenance window" in wrong.output, wrong.output
    assert "maintenance complete" not in wrong.output and "Nothing was stored or sent" in wrong.output
    assert project.cli("maintenance", "start", str(window["id"]), "--yes").exit_code == 0
    assert project.cli("maintenance", "complete", str(window["id"]), "--yes").exit_code == 0
    done = project.cli("resolve", str(window["id"]), "--yes", "Done.")
    assert done.exit_code == 2 and "is a maintenance window" in done.output, done.output
    assert "maintenance complete" not in done.output


@pytest.mark.parametrize("written", ["/hooks/%C3%A9tat", "/hooks/status.", "/hooks\\\\status"])
def test_one_receiver_written_as_iis_or_aspnet_route_it_is_refused(project: Project, written: str) -> None:
    first = "/hooks/%C3%89TAT" if "C3" in written else "/hooks/status"
    project.env["HOOK_SECRET"] = SECRET
    project.write_config(ENGINE + AUDIENCES + hook_table("one", 'visibility = "public"', "https://hooks.example.com" + first)
                         + hook_table("two", 'visibility = "internal"', "https://hooks.example.com" + written))
    result = project.cli("preview", "--title", "API errors", "-C", "api", "Errors.")
    assert result.exit_code == 2 and "One chat cannot be both" in result.output, result.output
