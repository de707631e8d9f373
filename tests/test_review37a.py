"""Review 37a, a hostile pass over review 36's fixes of reused audience ids (each test failed before its fix).

- The bot never looked at the store's record: an invite for the reused id was made, the bot started, and its chats
  were welcomed as the new customer and told the old one's detail by /status.
- On PostgreSQL the check crashed (the JSON columns are jsonb: ``LIKE`` on them is no operator), stopping every
  publishing command of the team.
- A ``[for acme ]`` span (spaces inside the brackets, which the input gate accepts) was no history for the check,
  and a renamed id was recorded anew without a word: the new customer's page showed the old one's detail.
- ``store export``/``import`` neither carried the record nor checked it: a store made from an export forgot it, and
  an import handed one customer's detail to another customer of the same id.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Project
from tests.fakes.telegram import FakeTelegram
from tests.pg import PASSWORD_ENV, PgServer, pg_server_fixture  # noqa: F401 - pytest fixture
from tests.test_subscribers import TOKEN, bot_table

ACME = '\n[audiences.acme]\nname = "Acme Corp"\ncomponents = ["api"]\nfeed_token = "${ACME_FEED_TOKEN}"\n'
TOKEN_1, TOKEN_2 = "acme-feed-token-0123456789abcdef", "second-feed-token-0123456789abcdef"
DETAIL = "Your circuit ACM-9 is down."


def _posted(project: Project, message: str, *args: str) -> None:
    result = project.cli("post", "--yes", "--title", "API errors", "-C", "api", *args, message)
    assert result.exit_code == 0, result.output


def _as_initech(project: Project, extra: str = "") -> None:
    """Acme Corp's table copied for Initech, its id kept (and a new token)."""
    project.env["ACME_FEED_TOKEN"] = TOKEN_2
    project.write_config(ACME.replace("Acme Corp", "Initech") + extra)


def _everything_under(folder: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file()) if folder.exists() else ""


@pytest.fixture
def acme(project: Project) -> Project:
    project.env["ACME_FEED_TOKEN"] = TOKEN_1
    project.write_config(ACME)
    return project


def test_a_for_span_written_with_spaces_is_history_of_its_id(acme: Project) -> None:
    _posted(acme, f"Elevated API errors. [for acme ]{DETAIL}[/for]")
    assert DETAIL in _everything_under(acme.site / "a" / TOKEN_1)
    _as_initech(acme)
    built = acme.cli("site", "build")
    assert built.exit_code == 2 and '[audiences.acme] is named "Initech"' in built.output, built.output
    assert DETAIL not in _everything_under(acme.site / "a" / TOKEN_2)


@pytest.fixture
def with_bot(acme: Project) -> Iterator[tuple[Project, str]]:
    with FakeTelegram(token=TOKEN) as fake:
        acme.env["BOT_TOKEN"] = TOKEN
        table = bot_table(fake)
        acme.write_config(ACME + table)
        _posted(acme, "Elevated API errors.", "--for", "acme", DETAIL)
        yield acme, table


def test_an_invite_for_a_reused_id_is_not_made(with_bot: tuple[Project, str]) -> None:
    project, table = with_bot
    _as_initech(project, table)
    made = project.cli("subscribers", "invite", "--audience", "acme")
    assert made.exit_code == 2 and "No invite was made." in made.output, made.output
    assert "No invites" in project.cli("subscribers", "invites").output


def test_the_bot_does_not_start_for_a_reused_id(with_bot: tuple[Project, str]) -> None:
    project, table = with_bot
    _as_initech(project, table)
    started = project.cli("bot", "run")
    assert started.exit_code == 2 and "The bot did not start." in started.output, started.output


def _exported(project: Project, tmp_path: Path, name: str) -> Path:
    out = tmp_path / name
    assert project.cli("store", "export", str(out)).exit_code == 0
    return out


def test_a_store_made_from_an_export_keeps_whom_each_id_served(acme: Project, tmp_path: Path) -> None:
    _posted(acme, "Elevated API errors.", "--for", "acme", DETAIL)
    export = _exported(acme, tmp_path, "acme.jsonl")
    other = Project(tmp_path / "other")
    other.root.mkdir()
    other.env.update(acme.env)
    _as_initech(other)
    imported = other.cli("store", "import", str(export))
    assert imported.exit_code == 2 and 'written for a customer named "acme corp"' in imported.output, imported.output
    assert not (other.root / ".broadcaster" / "state.db").exists()
    other.write_config(ACME)  # the same customer: imported, and the record comes along
    assert other.cli("store", "import", str(export)).exit_code == 0
    _as_initech(other)
    assert other.cli("site", "build").exit_code == 2


def test_an_export_of_another_customer_of_the_same_id_is_not_imported(acme: Project, tmp_path: Path) -> None:
    travel = Project(tmp_path / "travel")
    travel.root.mkdir()
    travel.env["ACME_FEED_TOKEN"] = TOKEN_2
    travel.write_config(ACME.replace("Acme Corp", "Acme Travel"))
    _posted(travel, "Booking errors.", "--for", "acme", "PNR locator TRV-99 affected.")
    export = _exported(travel, tmp_path, "travel.jsonl")
    _posted(acme, "Elevated API errors.")  # Acme Corp's store knows its acme
    imported = acme.cli("store", "import", str(export))
    assert imported.exit_code == 2 and "Nothing was imported." in imported.output, imported.output
    assert acme.cli("site", "build").exit_code == 0
    assert "TRV-99" not in _everything_under(acme.site)


@pytest.fixture
def team(project: Project, pg_server: PgServer) -> Iterator[tuple[Project, str]]:
    name = pg_server.create_database()
    project.env.update({PASSWORD_ENV: pg_server.password, "ACME_FEED_TOKEN": TOKEN_1})
    try:
        yield project, f'\n[store]\nurl = "{pg_server.config_url(name)}"\n'
    finally:
        pg_server.drop_database(name)


def test_on_postgresql_a_rename_is_checked_not_crashed(team: tuple[Project, str]) -> None:
    project, store = team
    globex = '\n[audiences.globex]\nname = "Globex"\ncomponents = ["db"]\n'
    project.write_config(store + ACME + globex)
    _posted(project, "Elevated API errors.", "--for", "acme", DETAIL)
    project.write_config(store + ACME + globex.replace('"Globex"', '"Globex Industries"'))
    _posted(project, "Still elevated.")  # nothing is stored under globex: renamed without a word
    project.env["ACME_FEED_TOKEN"] = TOKEN_2
    project.write_config(store + ACME.replace("Acme Corp", "Initech"))
    refused = project.cli("post", "--yes", "--title", "Web errors", "-C", "api", "Errors.")
    assert refused.exit_code == 2 and '[audiences.acme] is named "Initech"' in refused.output, refused.output
