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

from click.testing import CliRunner

from broadcaster.cli import main
from tests.conftest import Project
from tests.test_audiences import AUDIENCES

CONFIG = AUDIENCES


def _stored(project: Project) -> list[dict[str, object]]:
    result = project.cli("list", "--json")
    assert result.exit_code == 0, result.output
    listed: list[dict[str, object]] = json.loads(result.stdout)
    return listed


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
    [window] = _stored(project)
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
