"""Review 35c (each test failed before its fix): what an operator in a hurry is told.

- A maintenance window scheduled with the operator's own message: the dry run and the confirmation showed no start
  or end (`--start 06:00` already past became tomorrow's unseen).
- `resolve` of a window: "unknown status 'resolved'" listing the window's statuses; now how to end it.
- `--config FOLDER`: advised `broadcaster init FOLDER`, which fails ("is a directory").
- `list --customer acm`: "(Free-text customer names go into --private now.) Nothing was stored or sent." from a command
  that only reads.
- `post --help`: "with --private, --customer and --ticket", though `--customer` is an audience id that tells that
  customer's channels, not private text.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from broadcaster.cli import main
from tests.conftest import Project
from tests.fakes.webhook import SECRET, FakeReceiver
from tests.test_audiences import AUDIENCES
from tests.test_review35c import listed

CONFIG = AUDIENCES


def test_a_window_scheduled_with_its_own_message_shows_when_before_it_goes(project: Project) -> None:
    """The dry run and the confirmation showed the status, impact, message and components of a window, never its
    start and end: `--start 06:00` already past today became tomorrow's without the operator seeing it."""
    project.write_config(CONFIG)
    start = (datetime.now(UTC) + timedelta(days=40)).replace(hour=6, minute=0, second=0, microsecond=0)
    result = project.cli("maintenance", "schedule", "--dry-run", "--title", "DB upgrade", "--start", start.isoformat(),
                         "--end", (start + timedelta(hours=2)).isoformat(), "-C", "api", "Upgrading the database.")
    assert result.exit_code == 0, result.output
    day = f"{start:%Y-%m-%d}"
    assert f"Window: {day} 06:00 UTC" in result.output and f" to {day} 08:00 UTC" in result.output, result.output


def test_resolving_a_maintenance_window_says_how_to_end_it(project: Project) -> None:
    project.write_config(CONFIG)
    scheduled = project.cli("maintenance", "schedule", "--yes", "--title", "DB upgrade", "--start", "2h", "--end", "3h",
                            "-C", "api", "Upgrading the database.")
    assert scheduled.exit_code == 0, scheduled.output
    [window] = listed(project)
    result = project.cli("resolve", str(window["id"]), "--yes", "Done.")
    assert result.exit_code == 2, result.output
    assert "is a maintenance window" in result.output and f"maintenance complete {window['id']}" in result.output


def test_a_config_that_is_a_folder_is_told_where_init_would_make_one(project: Project) -> None:
    folder = project.root / "initdir"
    folder.mkdir()
    result = CliRunner().invoke(main, ["--config", str(folder), "list"])
    assert result.exit_code == 2, result.output
    assert f"broadcaster init {folder / 'broadcaster.toml'}" in result.output, result.output


def test_a_listing_of_an_unknown_customer_does_not_speak_of_storing(project: Project) -> None:
    project.write_config(CONFIG)
    result = project.cli("list", "--customer", "acm")
    assert result.exit_code == 2 and "no audience 'acm'" in result.output, result.output
    assert "Nothing was stored" not in result.output and "--private" not in result.output


def test_posts_help_names_for_as_a_customers_detail(project: Project) -> None:
    result = project.cli("post", "--help")
    assert "--for ID TEXT" in result.output and "--private, --customer and --ticket" not in result.output


def test_words_taken_for_extra_arguments_are_told_to_go_in_quotes(project: Project) -> None:
    project.write_config(CONFIG)
    result = project.cli("post", "--title", "API", "errors", "now", "--yes")
    assert result.exit_code == 2 and "Got unexpected extra argument" in result.output, result.output
    assert "goes in quotes" in result.output and listed(project) == []


@pytest.mark.parametrize("args", [("post", "--title", "API errors", "-p", "", "--yes", "Errors."),
                                  ("post", "--title", "API errors", "--private", " ", "--yes", "Errors.")])
def test_an_empty_private_note_is_refused_not_dropped(project: Project, args: tuple[str, ...]) -> None:
    project.write_config(CONFIG)
    result = project.cli(*args)
    assert result.exit_code == 2 and "is empty (an unset shell variable?)" in result.output, result.output
    assert listed(project) == []


def test_an_empty_reason_of_a_withdrawal_is_refused(project: Project) -> None:
    project.write_config(CONFIG)
    assert project.cli("post", "--title", "API errors", "--yes", "Errors.").exit_code == 0
    [incident] = listed(project)
    result = project.cli("withdraw", str(incident["id"]), "--reason", "", "--yes")
    assert result.exit_code == 2 and "is empty (an unset shell variable?)" in result.output, result.output
    assert [i["withdrawn"] for i in listed(project)] == [False]


def test_attempts_over_more_than_one_command_say_so(project: Project) -> None:
    """"Gave up after 2 attempts ([engine] max_attempts 1)" read as a broken limit: the count is of every command's."""
    with FakeReceiver() as hook:
        hook.answer = 500
        project.env["S"] = SECRET
        project.write_config("[engine]\ntimeout = 5\ndeadline = 20\nmax_attempts = 1\n"
                             f'\n[channels.pub]\ntype = "webhook"\nurl = "{hook.hook_url}"\nsecret = "${{S}}"\n')
        assert project.cli("post", "--title", "API errors", "--yes", "Errors.").exit_code == 3
        [incident] = listed(project)
        assert project.cli("retry").exit_code == 3
        [delivery] = [d for d in json.loads(project.cli("show", str(incident["id"]), "--json").stdout)["deliveries"]
                      if d["destination"] == "pub"]
        assert "Gave up after 2 attempts (in all, over more than one command: [engine] max_attempts 1" \
            in delivery["error"], delivery


@pytest.mark.parametrize("components", ["api,", ",", "api,,db", " , "])
def test_an_invites_components_with_an_empty_name_are_refused(project: Project, components: str) -> None:
    """`--components "$A,$B"` with one unset was read as fewer components, or with both unset as every one."""
    from tests.conftest import ENGINE
    from tests.fakes.telegram import FakeTelegram
    from tests.test_subscribers import TOKEN, bot_table, store_of

    with FakeTelegram(token=TOKEN) as fake:
        project.write_config(ENGINE + AUDIENCES + bot_table(fake))
        project.env["BOT_TOKEN"] = TOKEN
        result = project.cli("subscribers", "invite", "--components", components)
        assert result.exit_code == 2 and "an empty name between its commas" in result.output, result.output
        assert store_of(project).invites() == []
