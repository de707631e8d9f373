"""``--store`` names a file or a store URL; anything else is refused, and its password never shown.

Found by a review: a libpq keyword string (``host=db password=...``) or a URL missing its ``//`` was
opened as a file: a new, empty store named after it (the password in a file name, outside
``.broadcaster/`` and so not ignored by git), and the post went past the team store without a word.
A malformed URL's password was printed in the ``--debug`` traceback.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Project

PASSWORD = "S3cretPGpass"


@pytest.mark.parametrize("store", [
    f"host=db.internal password={PASSWORD} dbname=broadcaster",
    f"dbname=broadcaster user=oncall password={PASSWORD}",
    f"postgresql:/oncall:{PASSWORD}@db.internal/broadcaster",
    f"postgres:oncall:{PASSWORD}@db.internal/broadcaster",
    "service=team", "dbname=broadcaster",  # one keyword alone (found by the second fix review)
], ids=["keywords", "keywords-dbname-first", "url-missing-a-slash", "url-missing-both", "service", "dbname"])
def test_a_store_that_is_neither_a_file_nor_a_url_is_refused_unshown(
    project: Project, store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project.root)  # where a relative --store would be made
    before = {p for p in project.root.rglob("*")}
    for flags in ((), ("--debug",)):
        result = project.cli(*flags, "--store", store, "post", "--yes", "--only", "site", "--title", "Foo", "Errors.")
        assert result.exit_code == 2, result.stdout + result.stderr
        assert "--store" in result.stderr and PASSWORD.lower() not in (result.stdout + result.stderr).lower()
    assert {p for p in project.root.rglob("*")} == before  # no store made, no page written


@pytest.mark.parametrize("name", ["postgres-fallback.db", "postgres/state.db", "PostgresBackup.sqlite",
                                  "host=db1/state.db", "sqlite-old.db"])
def test_a_file_whose_name_only_resembles_a_store_url_is_a_file(
    project: Project, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by the review of the refusal above: ordinary file names were refused."""
    monkeypatch.chdir(project.root)
    (project.root / name).parent.mkdir(parents=True, exist_ok=True)
    result = project.cli("--store", name, "post", "--yes", "--only", "site", "--title", "Foo", "Errors.")
    assert result.exit_code == 0, result.output
    assert (project.root / name).is_file()


def test_a_malformed_store_url_keeps_its_password_out_of_the_debug_traceback(project: Project) -> None:
    result = project.cli("--debug", "--store", f"postgresql://oncall:{PASSWORD}@[::1/broadcaster", "list")
    assert result.exit_code == 2, result.stdout + result.stderr
    assert "not a valid PostgreSQL URL" in result.stderr and PASSWORD.lower() not in result.stderr.lower()


def test_a_post_to_a_fallback_store_says_what_it_could_not_do(project: Project, tmp_path: Path) -> None:
    """Found by a review: the fallback the README suggests while the team database is down built the page
    from that store alone (the team's open incidents left it) and reached no chat subscribed through the
    bot (the fallback holds no subscription), and said neither."""
    from tests.bot_helpers import TOKEN

    project.write_config('[bot]\ntype = "telegram"\ntoken = "${BOT_TOKEN}"\napi_url = "http://127.0.0.1:9"\n')
    project.env["BOT_TOKEN"] = TOKEN
    usual = project.cli("post", "--yes", "--title", "Database slow", "Queries are slow.")
    assert usual.exit_code == 0 and "note:" not in usual.stderr, usual.output
    fallback = str(tmp_path / "fallback.db")
    posted = project.cli("--store", fallback, "post", "--yes", "--title", "Checkout down", "Investigating.")
    assert posted.exit_code == 0, posted.output
    assert f"the page was built from {fallback} alone" in posted.stderr and "site publish" in posted.stderr
    assert "holds no chat subscribed through the bot" in posted.stderr
    same = project.cli("--store", str(project.root / ".broadcaster" / "state.db"), "post", "--yes", "-i",
                       usual.stdout.split()[0], "Still slow.")
    assert same.exit_code == 0 and "note:" not in same.stderr, same.output  # the config's own store, named
    # Named as a URL, or the config naming it by one (the second fix review: a false note, or none at all).
    as_url = "sqlite:///" + str(project.root / ".broadcaster" / "state.db")
    assert "note:" not in project.cli("--store", as_url, "post", "--yes", "-i", usual.stdout.split()[0], "Slow.").stderr
    project.env["STORE_URL"] = as_url
    project.write_config('[store]\nurl = "${STORE_URL}"\n[bot]\ntype = "telegram"\ntoken = "${BOT_TOKEN}"\n'
                         'api_url = "http://127.0.0.1:9"\n')
    assert "note:" not in project.cli("--store", as_url, "post", "--yes", "-i", usual.stdout.split()[0], "Slower.").stderr
    noted = project.cli("--store", fallback, "post", "--yes", "--title", "Cart down", "Investigating.")
    assert f"the page was built from {fallback} alone" in noted.stderr, noted.output


def test_a_fallback_notes_store_url_is_shown_without_its_password(project: Project) -> None:
    """Found by the third fix review: the note named the --store URL, password and all."""
    from types import SimpleNamespace

    import click

    from broadcaster import config_loader
    from broadcaster.cli.publishing import fallback_notes

    done = SimpleNamespace(outcomes=[SimpleNamespace(destination="site")])
    # In the query, and with an "@" in it too (found by the fourth fix review).
    for url in (f"postgresql://oncall:{PASSWORD}@db.internal/status", f"postgresql://oncall@db.internal/status?password={PASSWORD}",
                "postgresql://oncall:S3@cr3tPGpass@db.internal/status"):
        context = click.Context(click.Command("post"), obj={"store": url})
        [note] = fallback_notes(context, config_loader.load(str(project.config)), done)
        assert "db.internal/status" in note and "PGpass" not in note and "cr3t" not in note, note


def test_a_socket_folder_alone_is_a_connection_string_not_a_file(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project.root)
    refused = project.cli("--store", "host=/var/run/postgresql", "post", "--yes", "--title", "Foo", "Errors.")
    assert refused.exit_code == 2 and not (project.root / "host=").exists(), refused.output
