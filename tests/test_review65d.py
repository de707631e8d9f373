"""Review 65d: the state file named by ``[store] url`` (64a's ``path_from_url``) and its refusals, through the CLI.

1. ``url = " sqlite:///state.db"`` written with a space (or a newline from a multi-line string) before it was kept as
   a server's URL and opened as it stood: a file in the working folder, where the same URL without the space (or from
   ``${STORE_URL}``) names the one beside the config. A cron job run elsewhere read 'No incidents yet' and made a new,
   empty store there: two files for one config.
2. A query or fragment (``sqlite:///state.db?mode=ro``, SQLAlchemy's habit) or a %-escape was taken as part of the
   file's name: a new, empty store ``state.db?mode=ro`` beside the real one, and the page built from it dropped every
   other incident.
3. The refusals of a state file named by ``[store] url`` (a file where its folder should be, a link to nowhere, a loop
   of links, a pipe, another program's file) told the operator to fix ``[store] path``, a setting the config did not
   have; with ``--store`` the same.
4. A state file a group shares: each member's locks are its own, and its owner's next command takes the group's write
   bit back. The refusals said whose lock it is and to 'chmod g+w', never that the embedded store serves one account
   and a team shares a PostgreSQL store (team mode).
5. A config's state file gone from under a page built from it (moved, its url edited, a disk not mounted) was made
   afresh by `site publish`, `tick`, `retry`, `store migrate`, a post: an empty page published, two stores.
6. A new state file named inside the page's folder was made before the site's check refused it.
7. ``--store sqlite:///~/x.db`` named a folder "~" in the working folder, ``--store ~/x.db`` the home folder's file.
8. Hidden characters in a sqlite:/// URL's file name, ``path`` beside a sqlite:/// ``url``, ``init`` over the file.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import Project
from tests.test_review61g import group_shared_store


def _posted(project: Project, *args: str, title: str = "API errors") -> None:
    posted = project.cli(*args, "post", "--yes", "--title", title, "Errors.")
    assert posted.exit_code == 0, posted.output


# -- 1. a written URL with spaces around it ---------------------------------------------------------------------------


@pytest.mark.parametrize("written", ['" sqlite:///state.db"', '"""\nsqlite:///state.db\n"""', '"sqlite:///state.db "'])
def test_a_written_store_url_with_spaces_around_it_is_the_file_beside_the_config(
        project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, written: str) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # a cron job's folder
    project.write_config(f"\n[store]\nurl = {written}\n")

    _posted(project)

    assert [p.name for p in elsewhere.iterdir()] == []
    assert (project.root / "state.db").is_file()
    assert not any(p.name.startswith("state.db") and p.name != "state.db" for p in project.root.iterdir())
    monkeypatch.chdir(project.root)
    listed = project.cli("list")
    assert listed.exit_code == 0 and "api-errors" in listed.output, listed.output


# -- 2. a query, a fragment or a %-escape in a sqlite:/// URL ----------------------------------------------------------


@pytest.mark.parametrize("tail", ["?mode=ro", "?immutable=1", "#main", "%20"])
def test_a_sqlite_url_with_a_query_or_escape_is_refused_not_a_new_store(project: Project, tail: str) -> None:
    project.write_config('\n[store]\nurl = "sqlite:///state.db"\n')
    _posted(project, title="DB errors")
    before = sorted(p.name for p in project.root.iterdir())

    written = f"sqlite:///state.db{tail}"
    project.write_config(f'\n[store]\nurl = "{written}"\n')
    said = [project.cli("list"), project.cli("post", "--yes", "--title", "API errors", "Errors.")]
    project.write_config('\n[store]\nurl = "${STORE_URL}"\n')
    said += [project.cli("list", env={"STORE_URL": written}),
             project.cli("post", "--yes", "--title", "API errors", "Errors.", env={"STORE_URL": written})]
    project.write_config('\n[store]\nurl = "sqlite:///state.db"\n')
    said += [project.cli("--store", f"sqlite:///{project.root}/state.db{tail}", "post", "--yes", "--title",
                         "API errors", "Errors.")]

    for result in said:
        assert result.exit_code == 2, result.output
        text = " ".join(result.output.split())
        assert "nothing was stored or sent" in text.lower(), text
        assert ("?" if tail.startswith("?") else "#" if tail.startswith("#") else "%") in text, text
    assert sorted(p.name for p in project.root.iterdir()) == before
    listed = project.cli("list")
    assert "db-errors" in listed.output and "api-errors" not in listed.output, listed.output


# -- 3. each refusal names the setting the operator wrote -------------------------------------------------------------


def _refusals(project: Project) -> dict[str, str]:
    """The state file's refusals, each for a file named in the config's folder: {its name: what it stands for}."""
    root = project.root
    (root / "touched").write_text("")
    os.symlink("/nonexistent-65d/x.db", root / "nowhere.db")
    os.symlink("loop.db", root / "loop.db")
    os.mkfifo(root / "pipe.db")
    (root / "notes.db").write_text("not a database\n")
    return {"touched/state.db": "a file for its folder", "nowhere.db": "a link to nowhere",
            "loop.db": "a loop of links", "pipe.db": "a pipe", "notes.db": "another file"}


@pytest.mark.parametrize("command", [["list"], ["post", "--yes", "--title", "API errors", "Errors."]])
def test_each_refusal_of_a_state_file_names_the_setting_the_operator_wrote(project: Project,
                                                                            command: list[str]) -> None:
    for name, what in _refusals(project).items():
        project.write_config(f'\n[store]\nurl = "sqlite:///{name}"\n')
        written = project.cli(*command)
        project.write_config('\n[store]\nurl = "${STORE_URL}"\n')
        variable = project.cli(*command, env={"STORE_URL": f"sqlite:///{name}"})
        given = project.cli("--store", str(project.root / name), *command)
        for result, setting in ((written, "[store] url"), (variable, "[store] url (${STORE_URL})"),
                                (given, "--store")):
            text = " ".join(result.output.split())
            assert result.exit_code == 2, (what, setting, text)
            assert setting in text and "[store] path" not in text, (what, setting, text)


# -- 4. a state file a group shares ------------------------------------------------------------------------------------


def test_a_state_file_a_group_shares_is_told_to_need_team_mode(project: Project) -> None:
    """A team account's state file its group may write (0660 in a 2770 folder): the next member meets the first one's
    lock (its own only); and once its owner ran any command, the group's write bit is gone again. Each refusal says
    what to do for good: one account for the embedded store, or a shared PostgreSQL store (team mode)."""
    with group_shared_store(project) as (shared, member):
        first = member(65534, "Queue delays")
        locked = member(65533, "Login errors")
        listed = project.cli("--store", str(shared / "state.db"), "list")  # the owner: takes the group's bit back
        narrowed = member(65533, "Mail delays")

    if "Permission denied" in first[1] and "python" in first[1].lower():
        pytest.skip(f"this python cannot be run as another account: {first[1][:200]}")
    assert first[0] in (0, 3), first  # the site's folder is root's: stored, the page not built
    assert listed.exit_code == 0, listed.output
    for code, text in (locked, narrowed):
        assert code == 2 and "nothing was stored or sent" in text.lower(), text
        assert "team mode" in text.lower() and "postgresql" in text.lower(), text
        assert "one account" in text, text
    assert "uid 65534" in locked[1], locked
    assert "chmod g+w" not in narrowed[1], narrowed


# -- 5. the state file gone from under a page built from it -----------------------------------------------------------


@pytest.mark.parametrize("command", [["site", "publish"], ["site", "build"], ["tick"], ["retry"], ["store", "migrate"],
                                     ["post", "--yes", "--title", "Queue delays", "Looking."]])
def test_a_state_file_gone_from_under_a_built_page_is_not_made_afresh(project: Project, tmp_path: Path,
                                                                      command: list[str]) -> None:
    """[store] url moved to a folder the file was not moved to (or its disk not mounted): `site publish` made a new,
    empty store there and put a page without the open incident on the target; a post went into that store, lost to
    the real one once back."""
    www = tmp_path / "www"
    project.write_config(f'\n[store]\nurl = "sqlite:///state.db"\n[publish.www]\ntype = "directory"\npath = "{www}"\n')
    _posted(project, title="DB errors")
    assert "DB errors" in (www / "index.html").read_text(encoding="utf-8")
    (project.root / "data").mkdir()  # the mount point, its disk not mounted
    project.write_config(f'\n[store]\nurl = "sqlite:///data/state.db"\n[publish.www]\ntype = "directory"\n'
                         f'path = "{www}"\n')

    refused = project.cli(*command)

    text = " ".join(refused.output.split())
    assert refused.exit_code == 2, text
    assert "[store] url" in text and "no such file" in text and "nothing was stored or sent" in text.lower(), text
    assert list((project.root / "data").iterdir()) == []
    assert "DB errors" in (www / "index.html").read_text(encoding="utf-8")
    assert "DB errors" in (project.site / "index.html").read_text(encoding="utf-8")
    listed = project.cli("list")  # a command that only reads: an empty store, nothing made
    assert listed.exit_code == 0 and list((project.root / "data").iterdir()) == [], listed.output
    (project.root / "data" / "state.db").touch()  # a new store meant: made first
    assert project.cli(*command).exit_code in (0, 3)


def test_a_state_file_gone_from_under_a_built_page_is_restored_by_store_import(project: Project,
                                                                                tmp_path: Path) -> None:
    project.write_config('\n[store]\nurl = "sqlite:///state.db"\n')
    _posted(project, title="DB errors")
    exported = project.cli("store", "export", str(tmp_path / "backup.jsonl"))
    assert exported.exit_code == 0, exported.output
    project.write_config('\n[store]\nurl = "sqlite:///data/state.db"\n')

    imported = project.cli("store", "import", str(tmp_path / "backup.jsonl"))

    assert imported.exit_code == 0, imported.output
    built = project.cli("site", "build")
    assert built.exit_code == 0, built.output
    assert "DB errors" in (project.site / "index.html").read_text(encoding="utf-8")


# -- 6. a new state file named inside the page's folder -----------------------------------------------------------------


def test_a_new_state_file_inside_the_page_is_refused_before_it_is_made(project: Project) -> None:
    project.write_config('\n[store]\nurl = "sqlite:///public/state.db"\n')
    written = project.cli("post", "--yes", "--title", "API errors", "Errors.")
    project.write_config('\n[store]\nurl = "${STORE_URL}"\n')
    variable = project.cli("post", "--yes", "--title", "API errors", "Errors.",
                           env={"STORE_URL": "sqlite:///public/nested/state.db"})

    for result, setting in ((written, "[store] url"), (variable, "[store] url (${STORE_URL})")):
        text = " ".join(result.output.split())
        assert result.exit_code == 2 and "nothing was stored or sent" in text.lower(), text
        assert f"{setting} " in text and "output_dir" in text, text
    assert not [p for p in project.root.rglob("state.db*")], list(project.root.rglob("*"))


# -- 7. --store sqlite:///~/… -------------------------------------------------------------------------------------------


def test_a_store_url_given_with_a_tilde_is_the_home_folders_file(project: Project, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(project.root)

    _posted(project, "--store", "sqlite:///~/fallback.db")

    assert (home / "fallback.db").is_file()
    assert not (project.root / "~").exists()
    listed = project.cli("--store", "~/fallback.db", "list")
    assert listed.exit_code == 0 and "api-errors" in listed.output, listed.output


# -- 8. hidden characters in a sqlite:/// URL ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["state\u200b.db", "state\u00ad.db", "st\x1b[2Jate.db"])
def test_a_store_url_naming_a_file_with_a_hidden_character_is_refused_as_a_path_is(project: Project, name: str) -> None:
    escaped = "".join(c if c.isascii() and c.isprintable() else f"\\u{ord(c):04x}" for c in name)  # TOML's escapes
    project.write_config(f'\n[store]\nurl = "sqlite:///{escaped}"\n')
    written = project.cli("post", "--yes", "--title", "API errors", "Errors.")
    project.write_config('\n[store]\nurl = "${STORE_URL}"\n')
    variable = project.cli("post", "--yes", "--title", "API errors", "Errors.", env={"STORE_URL": f"sqlite:///{name}"})

    for result in (written, variable):
        assert result.exit_code == 2 and "invisible or control character" in result.output, result.output
        assert "\x1b" not in result.output, result.output
    assert not [p for p in project.root.iterdir() if p.name.startswith("st")]


def test_a_store_path_beside_a_sqlite_store_url_is_refused_not_left_unread(project: Project) -> None:
    project.write_config('\n[store]\npath = "moved/state.db"\nurl = "sqlite:///state.db"\n')

    refused = project.cli("post", "--yes", "--title", "API errors", "Errors.")

    assert refused.exit_code == 2 and "store.path" in refused.output and "[store] url" in refused.output, refused.output
    assert not [p for p in project.root.rglob("state.db")]


def test_init_over_a_state_file_named_by_a_store_url_names_that_setting(project: Project) -> None:
    project.write_config('\n[store]\nurl = "sqlite:///state.db"\n')
    _posted(project)

    refused = project.cli("init", "--force", str(project.root / "state.db"))

    assert refused.exit_code == 2 and "[store] path or url" in refused.output, refused.output
