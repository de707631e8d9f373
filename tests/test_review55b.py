"""Review 55b: a command that only reads made the state file where it ran.

Run in a folder with no config and no state (a `cd` typo), `list`, `show`, `store export`, `subscribers list`, a dry
run... each made ./.broadcaster/state.db there, and reported an empty store with exit 0: a later real command in that
folder used that store. Now, with the built-in default, a command that stores nothing new is refused there (exit 2,
saying where it looked and what to do) and makes nothing; a dry run of a command that would make the store previews
on an empty one and makes nothing either. With a config whose store is not made yet, a command that only reads
answers as an empty store (`list` says "No incidents yet", as the demo's first `list --json` needs) without making
it. Commands that store something make it as before.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from broadcaster.cli import main
from tests.conftest import Project
from tests.pg import PASSWORD_ENV, PgServer, pg_server_fixture, pg_url_fixture  # noqa: F401 - pytest fixtures


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def _here(*args: str, input: str | None = None) -> Result:
    """The CLI as typed in the current folder: no --config, $BROADCASTER_CONFIG unset."""
    return CliRunner().invoke(main, list(args), env={"BROADCASTER_CONFIG": ""}, input=input, catch_exceptions=False)


@pytest.fixture
def wrong_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty folder the operator `cd`-ed into by mistake; temporary files go to a folder of this test's own."""
    monkeypatch.delenv("BROADCASTER_CONFIG", raising=False)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    folder = tmp_path / "typo"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def _postmortem(tmp_path: Path) -> str:
    path = tmp_path / "pm.md"
    path.write_text("# What happened\n\nA router failed.\n", encoding="utf-8")
    return str(path)


# Every command that stores nothing new, as an operator would type it in the wrong folder.
REFUSED_WITHOUT_A_STORE = [
    ("list",), ("list", "--json"), ("show", "api-errors-2026-12-07"), ("show", "--json", "x"),
    ("store", "export"), ("store", "export", "out.jsonl"),
    ("subscribers", "list"), ("subscribers", "list", "--json"), ("subscribers", "invites"),
    ("subscribers", "remove", "12345"), ("subscribers", "revoke", "abcdef"),
    ("retry",), ("retry", "--include-unknown"), ("tick",), ("tick", "--json"),
    ("withdraw", "x", "--dry-run"), ("withdraw", "x", "--yes"),
    ("amend", "x", "1", "Corrected.", "--dry-run"), ("resolve", "x", "--dry-run"), ("resolve", "x", "--yes"),
    ("post", "-i", "x", "--dry-run", "Still on it."), ("postmortem", "x", "-f", "PM", "--dry-run"),
    ("maintenance", "start", "x", "--dry-run"), ("maintenance", "complete", "x", "--yes"),
    ("maintenance", "cancel", "x", "--yes"),
    ("site", "build"), ("site", "publish"),
]


@pytest.mark.parametrize("args", REFUSED_WITHOUT_A_STORE, ids=" ".join)
def test_a_command_that_stores_nothing_new_makes_no_store_where_there_is_no_config(
    wrong_folder: Path, tmp_path: Path, args: tuple[str, ...]
) -> None:
    args = tuple(_postmortem(tmp_path) if a == "PM" else a for a in args)
    result = _here(*args)
    assert result.exit_code == 2, result.output
    assert _files(wrong_folder) == set(), result.output
    said = " ".join(result.stderr.split())
    assert "no store here" in said and str(wrong_folder / ".broadcaster" / "state.db") in said, said
    assert "broadcaster init" in said and "--config" in said and "$BROADCASTER_CONFIG" in said, said
    assert "Nothing was stored or sent" in said, said
    assert not list((tmp_path / "tmp").rglob("state.db*"))


@pytest.mark.parametrize("args", [
    ("post", "--dry-run", "--title", "API errors", "Investigating."),
    ("post", "--dry-run", "--json", "--title", "API errors", "Investigating."),
    ("preview", "--title", "API errors", "Investigating."),
], ids=" ".join)
def test_a_dry_run_of_a_command_that_would_make_the_store_makes_nothing(wrong_folder: Path, tmp_path: Path,
                                                                       args: tuple[str, ...]) -> None:
    result = _here(*args)
    assert result.exit_code == 0, result.output
    assert _files(wrong_folder) == set(), result.output
    assert "built-in default is used" in result.stderr  # the note still says which config was read
    assert not list((tmp_path / "tmp").rglob("state.db*"))  # the empty store it read is gone too


def test_a_post_still_makes_the_store_of_the_built_in_default_and_reading_it_then_works(wrong_folder: Path) -> None:
    posted = _here("post", "--yes", "--json", "--title", "API errors", "Investigating.")
    assert posted.exit_code == 0, posted.output
    assert (wrong_folder / ".broadcaster" / "state.db").is_file()
    listed = _here("list", "--json")
    assert listed.exit_code == 0, listed.output
    assert [i["id"] for i in json.loads(listed.stdout)] == [json.loads(posted.stdout)["incident_id"]]


def test_store_migrate_still_makes_the_store_of_the_built_in_default(wrong_folder: Path) -> None:
    migrated = _here("store", "migrate")
    assert migrated.exit_code == 0 and (wrong_folder / ".broadcaster" / "state.db").is_file(), migrated.output


READ_ONLY_WITH_A_CONFIG = [
    ("list",), ("list", "--json"), ("show", "x"), ("store", "export"), ("store", "export", "OUT"),
    ("subscribers", "list"), ("subscribers", "invites"),
    ("post", "--dry-run", "--title", "API errors", "-C", "api", "Investigating."),
    ("preview", "--title", "API errors", "Investigating."),
    ("maintenance", "schedule", "--dry-run", "--title", "DB upgrade", "--start", "2h", "--end", "3h", "-C", "db"),
    ("resolve", "x", "--dry-run"), ("withdraw", "x", "--dry-run"), ("amend", "x", "1", "Fixed.", "--dry-run"),
]


@pytest.mark.parametrize("args", READ_ONLY_WITH_A_CONFIG, ids=" ".join)
def test_a_command_that_only_reads_does_not_make_the_configured_store(project: Project, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch,
                                                                     args: tuple[str, ...]) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    out = tmp_path / "export.jsonl"
    result = project.cli(*(str(out) if a == "OUT" else a for a in args))
    no_such_incident = "x" in args  # read as an empty store: "no incident 'x'"
    assert result.exit_code == (2 if no_such_incident else 0), result.output
    assert ("no incident 'x'" in result.stderr) == no_such_incident, result.output
    assert not (project.root / ".broadcaster").exists(), result.output
    assert not list(scratch.rglob("state.db*"))


def test_with_a_config_an_empty_listing_and_export_are_read_without_a_store(project: Project, tmp_path: Path) -> None:
    listed = project.cli("list")
    assert listed.exit_code == 0 and "No incidents yet" in listed.stdout, listed.output
    assert json.loads(project.cli("list", "--json").stdout) == []
    out = tmp_path / "export.jsonl"
    exported = project.cli("store", "export", str(out))
    assert exported.exit_code == 0, exported.output
    said = " ".join(exported.stderr.split())
    assert "Exported 0 incident(s)" in said and str(project.root / ".broadcaster" / "state.db") in said, said
    assert "not made yet" in said, said
    assert not (project.root / ".broadcaster").exists()
    # The empty export is an export: imported, it makes the store, as any import does.
    imported = project.cli("store", "import", str(out))
    assert imported.exit_code == 0, imported.output
    assert (project.root / ".broadcaster" / "state.db").is_file()


def test_a_dry_run_on_a_new_store_file_makes_no_file(project: Project, tmp_path: Path) -> None:
    fallback = tmp_path / "fallback.db"
    result = project.cli("--store", str(fallback), "post", "--dry-run", "--title", "API errors", "Investigating.")
    assert result.exit_code == 0, result.output
    assert not fallback.exists() and not (project.root / ".broadcaster").exists()
    posted = project.cli("--store", str(fallback), "post", "--yes", "--title", "API errors", "Investigating.")
    assert posted.exit_code == 0 and fallback.is_file(), posted.output


# -- the team database ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [("list", "--json"), ("store", "export"), ("subscribers", "invites"),
                                  ("post", "--dry-run", "--title", "API errors", "Investigating.")], ids=" ".join)
def test_with_a_team_database_a_read_makes_no_file_and_is_not_refused_without_a_config(
    wrong_folder: Path, pg_server: PgServer, pg_url: str, args: tuple[str, ...]
) -> None:
    """The team database is a server the URL names: no file is made where the command runs, with [store] url or with
    --store and no config (the built-in default's refusal is of its file alone)."""
    given = _here("--store", pg_url, *args)
    assert given.exit_code == 0, given.output
    assert _files(wrong_folder) == set(), given.output
    config = wrong_folder.parent / "team.toml"
    config.write_text(f'[store]\nurl = "{pg_server.config_url(pg_url.rsplit("/", 1)[1])}"\n', encoding="utf-8")
    configured = CliRunner().invoke(main, ["--config", str(config), *args], env={PASSWORD_ENV: pg_server.password},
                                    catch_exceptions=False)
    assert configured.exit_code == 0, configured.output
    assert _files(wrong_folder) == set() and not (wrong_folder.parent / ".broadcaster").exists(), configured.output
