"""Review 35c (each test but the controls failed before its fix): an operator's command line, as typed in a hurry.

- A value-taking option swallowed the next flag: `post --title --dry-run "..."` took "--dry-run" for the title and
  posted for real; `-p`, `--for ID`, `--ticket`, `--store` and `--config` alike.
- A `--store` path wrong by its folder made a new, empty store, and the page built from it dropped every open
  incident.
- An empty value (an unset shell variable) was read as not given: `-s "$STATUS"` left the incident open,
  `--impact "$IMPACT"` posted a critical outage as minor.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Project
from tests.test_audiences import AUDIENCES

CONFIG = AUDIENCES


def listed(project: Project, *store: str) -> list[dict[str, object]]:
    """The incidents ``list --json`` shows (``store``: ``--store PATH``)."""
    result = project.cli(*store, "list", "--json")
    assert result.exit_code == 0, result.output
    found: list[dict[str, object]] = json.loads(result.stdout)
    return found


@pytest.mark.parametrize("args", [
    ("post", "--title", "--dry-run", "--yes", "Elevated error rates."),
    ("post", "--title", "API errors", "-p", "--dry-run", "--yes", "Elevated error rates."),
    ("post", "--title", "API errors", "--private", "--yes", "--dry-run", "Elevated error rates."),
    ("post", "--title", "API errors", "--for", "acme", "--dry-run", "--yes", "Elevated error rates."),
    ("post", "--title", "API errors", "--ticket", "--dry-run", "--yes", "Elevated error rates."),
    ("post", "--title=--dry-run", "--yes", "Elevated error rates."),
    ("post", "--title", "API errors", "--impact", "-y", "--dry-run", "Elevated error rates."),
    ("--store", "--dry-run", "post", "--title", "API errors", "--yes", "Elevated error rates."),
    ("--store", "--yes", "post", "--title", "API errors", "Elevated error rates."),
    ("post", "--store", "--yes", "--title", "API errors", "Elevated error rates."),
])
def test_an_option_whose_value_is_another_option_is_refused(project: Project, args: tuple[str, ...]) -> None:
    project.write_config(CONFIG)
    result = project.cli(*args)
    assert result.exit_code == 2, result.output
    assert "reads as an option" in result.output and "Nothing was stored or sent" in result.output
    assert listed(project) == []
    for folder in (project.root, Path.cwd()):
        assert not any(p.name.startswith("--") for p in folder.iterdir())  # no store file named "--yes"


def test_control_a_value_after_double_dash_is_the_message(project: Project) -> None:
    project.write_config(CONFIG)
    result = project.cli("post", "--title", "API errors", "--dry-run", "--", "--yes")
    assert result.exit_code == 0, result.output


def test_control_a_value_that_begins_with_a_dash_is_a_value(project: Project) -> None:
    project.write_config(CONFIG)
    result = project.cli("post", "--title", "-5% of requests fail", "--yes", "Elevated error rates.")
    assert result.exit_code == 0, result.output
    assert [i["title"] for i in listed(project)] == ["-5% of requests fail"]


def test_a_new_store_beside_the_configs_own_is_refused(project: Project) -> None:
    project.write_config(CONFIG)
    assert project.cli("post", "--title", "API errors", "--yes", "Elevated error rates.").exit_code == 0
    result = project.cli("--store", str(project.root / "state.db"), "post", "--title", "Login errors", "--yes",
                         "Logins fail.")
    assert result.exit_code == 2 and "this config's own store" in result.output, result.output
    assert not (project.root / "state.db").exists()
    page = (project.root / "public" / "index.html").read_text()
    assert "API errors" in page and "Login errors" not in page


def test_control_a_new_store_made_first_is_used(project: Project) -> None:
    project.write_config(CONFIG)
    assert project.cli("post", "--title", "API errors", "--yes", "Elevated error rates.").exit_code == 0
    (project.root / "separate.db").touch()
    result = project.cli("--store", str(project.root / "separate.db"), "post", "--title", "Login errors", "--yes",
                         "Logins fail.")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("args", [
    ("-s", ""), ("--impact", ""), ("--next-update", ""), ("--etr", " "), ("--template", ""), ("--title", ""),
])
def test_an_empty_value_is_refused_not_read_as_not_given(project: Project, args: tuple[str, str]) -> None:
    project.write_config(CONFIG)
    assert project.cli("post", "--title", "API errors", "--yes", "Elevated error rates.").exit_code == 0
    [incident] = listed(project)
    result = project.cli("post", "-i", str(incident["id"]), *args, "--yes", "All fixed.")
    assert result.exit_code == 2 and "is empty (an unset shell variable?)" in result.output, result.output
    assert [(i["status"], i["impact"]) for i in listed(project)] == [("investigating", "minor")]
    shown = json.loads(project.cli("show", str(incident["id"]), "--json").stdout)
    assert len(shown["updates"]) == 1


def test_every_command_refuses_an_option_as_a_value() -> None:
    """Each command, nested ones too (`maintenance schedule`, `subscribers invite`), checks its options' values: one
    added without the group's `add_command` would take `--title --dry-run` as before."""
    import click

    from broadcaster.cli import main

    ctx = click.Context(main)
    unchecked: list[str] = []

    def walk(command: click.Command, path: str) -> None:
        if command.callback is not None and not getattr(command.callback, "refuses_options_as_values", False):
            unchecked.append(path)
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                found = command.get_command(ctx, name)
                assert found is not None
                walk(found, f"{path} {name}")

    walk(main, "broadcaster")
    assert unchecked == []
