"""Review 35e, a hostile pass over review 35d's fixes (each test but the controls failed before its fix).

- The new `--store` check matched the config's store's name exactly: `--store ./states.db` (a typo in another
  folder) made an empty store again, and the page built from it dropped every open incident.
- Receiver keys case-folded ("straße" became "strasse", "ﬁle" "file": two receivers refused as one) and read an
  escaped "%" (`%252F` became an escaped slash); a final space (IIS trims it) was kept.
- A value refused as an option had no way out (`--title "-php errors"`: "give it quoted" was refused again), and a
  `--store` value so refused was shown whole, a password with it.

Review 35f, over those: the way out's hint printed a refused `--store` whole and was false advice for an id or a
path; `--store " sqlite:///states.db"` skipped every new-store check (read unstripped) and wiped the page; a
variable holding bytes that are no UTF-8 ended in a traceback.
"""

from __future__ import annotations

import pytest
from broadcaster.channels._http import receiver_key

from broadcaster.errors import ConfigError
from tests.conftest import Project
from tests.test_audiences import AUDIENCES
from tests.test_review35c import listed

CONFIG = AUDIENCES


@pytest.mark.parametrize("name", ["states.db", "stat.db", "state2.db", "State.DB"])
def test_a_new_store_a_typo_away_from_the_configs_in_another_folder_is_refused(project: Project, name: str) -> None:
    project.write_config(CONFIG)
    assert project.cli("post", "--title", "API errors", "--yes", "Errors.").exit_code == 0
    result = project.cli("--store", str(project.root / name), "post", "--title", "Disk full", "--yes", "Investigating.")
    assert result.exit_code == 2 and "this config's own store" in result.output, result.output
    assert not (project.root / name).exists()
    assert "API errors" in (project.root / "public" / "index.html").read_text()


def test_a_store_of_its_own_name_is_made_and_its_note_names_no_team_store(project: Project) -> None:
    project.write_config(CONFIG)
    assert project.cli("post", "--title", "API errors", "--yes", "Errors.").exit_code == 0
    result = project.cli("--store", str(project.root / "fallback.db"), "post", "--title", "Disk full", "--yes", "Down.")
    assert result.exit_code == 0, result.output
    assert "Once the config's store can be used again" in result.output


@pytest.mark.parametrize("one, other", [
    ("/hooks/stra%C3%9Fe", "/hooks/strasse"),  # no server routes "ß" as "ss"
    ("/hooks/%EF%AC%81le", "/hooks/file"),  # nor the ligature "ﬁ" as "fi"
    ("/hooks/a%2Fb", "/hooks/a%252Fb"),  # an escaped slash, and the text "%2F"
])
def test_two_receivers_are_not_folded_into_one(one: str, other: str) -> None:
    assert receiver_key("https://h.example" + one) != receiver_key("https://h.example" + other)


@pytest.mark.parametrize("one, other", [("/hooks/status%20", "/hooks/status"), ("/hooks/%C3%89TAT", "/hooks/%C3%A9tat")])
def test_one_receiver_written_two_ways_is_one(one: str, other: str) -> None:
    assert receiver_key("https://h.example" + one) == receiver_key("https://h.example" + other)


def test_a_url_of_bytes_that_are_not_text_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not UTF-8"):
        receiver_key("https://h.example/hooks/\udcff")


def test_a_value_beginning_like_a_short_option_has_a_way_out(project: Project) -> None:
    project.write_config(CONFIG)
    refused = project.cli("post", "--title", "-php errors", "--yes", "Errors.")
    assert refused.exit_code == 2 and "put a space before it" in refused.output, refused.output
    meant = project.cli("post", "--title", " -php errors", "--yes", "Errors.")
    assert meant.exit_code == 0, meant.output
    assert [i["title"] for i in listed(project)] == ["-php errors"]


# -- review 35f, a hostile pass over 35e's fixes ---------------------------------------------------------------


def test_the_way_out_is_offered_for_texts_alone_and_never_shows_a_store(project: Project) -> None:
    """The hint "put a space before it" printed a refused --store value whole (its password with it), and was false
    advice for an id, a path or a URL, which are not stripped."""
    project.write_config(CONFIG)
    store = project.cli("--store", "-cpostgresql://ops:S3cretPw@db/status", "list")
    assert store.exit_code == 2 and "S3cretPw" not in store.output and "space before it" not in store.output
    config = project.cli("post", "-i", "-tfoo", "--yes", "Errors.")
    assert config.exit_code == 2 and "space before it" not in config.output, config.output
    note = project.cli("post", "--title", "API errors", "-p", "-ssh broken", "--yes", "Errors.")
    assert note.exit_code == 2 and "space before it" in note.output, note.output


@pytest.mark.parametrize("given", [" sqlite:///{root}/states.db", "sqlite:///{root}/states.db "])
def test_a_store_url_with_spaces_around_is_checked_as_the_file_it_opens(project: Project, given: str) -> None:
    project.write_config(CONFIG)
    assert project.cli("post", "--title", "API errors", "--yes", "Errors.").exit_code == 0
    result = project.cli("--store", given.format(root=project.root), "post", "--title", "Disk", "--yes", "Down.")
    assert result.exit_code == 2 and "this config's own store" in result.output, result.output
    assert not (project.root / "states.db").exists()
    assert "API errors" in (project.root / "public" / "index.html").read_text()


def test_a_variable_of_bytes_that_are_not_text_is_a_config_error_not_a_traceback(project: Project) -> None:
    project.env["HOOK"] = "http://127.0.0.1:9/h\udcffSECRETTOK"
    project.env["S"] = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
    project.write_config(CONFIG + '\n[channels.hook]\ntype = "webhook"\nurl = "${HOOK}"\nsecret = "${S}"\n')
    result = project.cli("post", "--title", "API errors", "--dry-run", "Errors.")
    assert result.exit_code == 2 and "HOOK holds bytes that are not UTF-8" in result.output, result.output
    assert "SECRETTOK" not in result.output and "Traceback" not in result.output
