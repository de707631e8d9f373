"""Review 61d: small operator-facing defects left alone by earlier reviews, through the CLI and the fakes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from broadcaster.cli import main
from tests.conftest import ENGINE, Project
from tests.fakes.base import Fault, Response
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.telegram import FakeTelegram
from tests.social import M_TOKEN
from tests.test_review57a import deliveries as masto_deliveries
from tests.test_review57a import mastodon_on, unknown_follow_up

# -- a Telegram @name rewritten in another letter case mid-incident ----------------------------------------------------

TG_TOKEN = "123456:tg-token-61d"
UNAVAILABLE = Response(503, {"ok": False, "error_code": 503, "description": "Service Unavailable"})


@pytest.fixture
def telegram(project: Project) -> Iterator[FakeTelegram]:
    with FakeTelegram(token=TG_TOKEN, chats={"@acmestatus": "Acme status"}, enforce_limits=False) as fake:
        project.env["TG"] = TG_TOKEN
        yield fake


def name_the_chat(project: Project, telegram: FakeTelegram, chat: str) -> None:
    project.write_config(ENGINE + f'\n[channels.tg]\ntype = "telegram"\ntoken = "${{TG}}"\nchat_ids = ["{chat}"]\n'
                                  f'api_url = "{telegram.url}"\n')


def first_post(project: Project, telegram: FakeTelegram) -> str:
    """An incident posted to the table's chat written @AcmeStatus, the table then rewritten @acmestatus."""
    name_the_chat(project, telegram, "@AcmeStatus")
    posted = project.cli("post", "--yes", "--json", "--title", "API errors", "Errors on the API.")
    assert posted.exit_code == 0, posted.stdout + posted.stderr
    name_the_chat(project, telegram, "@acmestatus")
    return str(json.loads(posted.stdout)["incident_id"])


def shown(project: Project, incident: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(project.cli("show", incident, "--json").stdout)
    return result


def test_a_follow_up_after_the_name_is_rewritten_replies_in_the_thread(project: Project,
                                                                        telegram: FakeTelegram) -> None:
    """Went out replying to nothing: the earlier posts were taken for another chat's."""
    incident = first_post(project, telegram)
    followup = project.cli("post", "--yes", "-i", incident, "-s", "identified", "Cause found.")
    assert followup.exit_code == 0, followup.stdout
    first, second = telegram.messages["@acmestatus"]
    assert second.reply_to_message_id == first.message_id


def test_an_amend_after_the_name_is_rewritten_edits_the_post(project: Project, telegram: FakeTelegram) -> None:
    """Was skipped, 'update #1 was not sent here': the readers kept the text taken back."""
    incident = first_post(project, telegram)
    amended = project.cli("amend", "--yes", incident, "1", "Errors on the API and the website.")
    assert amended.exit_code == 0, amended.stdout
    assert "not sent here" not in amended.stdout
    assert [e for e in telegram.edits if "website" in str(e)], telegram.edits


def test_a_withdrawal_after_the_name_is_rewritten_deletes_the_post(project: Project, telegram: FakeTelegram) -> None:
    """Left the post up, saying the config had no such chat now (exit 3)."""
    incident = first_post(project, telegram)
    withdrawn = project.cli("withdraw", "--yes", incident)
    said = withdrawn.stdout + withdrawn.stderr
    assert withdrawn.exit_code == 0, said
    assert "not deleted" not in said
    assert telegram.messages["@acmestatus"] == []


def test_a_failed_post_is_retried_after_the_name_is_rewritten(project: Project, telegram: FakeTelegram) -> None:
    """Was skipped for good by `retry`, as a chat removed from the config: the update never reached the chat."""
    name_the_chat(project, telegram, "@AcmeStatus")
    telegram.fail(*[Fault(match="sendMessage", response=UNAVAILABLE) for _ in range(8)])
    posted = project.cli("post", "--yes", "--json", "--title", "API errors", "Errors on the API.")
    assert posted.exit_code == 3, posted.stdout
    incident = str(json.loads(posted.stdout)["incident_id"])
    telegram.reset()
    name_the_chat(project, telegram, "@acmestatus")
    retried = project.cli("retry", incident)
    assert retried.exit_code == 0, retried.stdout + retried.stderr
    assert [m.text for m in telegram.messages["@acmestatus"] if "Errors on the API" in m.text]


def test_mark_unknown_sent_takes_the_chat_and_link_in_another_letter_case(project: Project,
                                                                         telegram: FakeTelegram) -> None:
    """`--remote-id tg:@acmestatus=...` for a delivery stored to @AcmeStatus was refused: no such delivery."""
    name_the_chat(project, telegram, "@AcmeStatus")
    posted = project.cli("post", "--yes", "--json", "--title", "API errors", "Errors on the API.")
    incident = str(json.loads(posted.stdout)["incident_id"])
    telegram.fail(Fault(match="sendMessage", reset_after=True))
    assert project.cli("post", "--yes", "-i", incident, "Cause found.").exit_code == 3
    name_the_chat(project, telegram, "@acmestatus")
    second = telegram.messages["@acmestatus"][-1]
    marked = project.cli("retry", incident, "--mark-unknown-sent", "--remote-id",
                         f"tg:@acmestatus=https://t.me/acmestatus/{second.message_id}")
    assert marked.exit_code == 0, marked.stdout + marked.stderr
    states = {d["sequence"]: (d["state"], d["remote_id"]) for d in shown(project, incident)["deliveries"]
              if d["destination"] == "tg"}
    assert states[2] == ("sent", f"@AcmeStatus:{second.message_id}")
    third = project.cli("post", "--yes", "-i", incident, "Fix in progress.")
    assert third.exit_code == 0, third.stdout
    assert telegram.messages["@acmestatus"][-1].reply_to_message_id == telegram.messages["@acmestatus"][0].message_id


# -- a Mastodon status's link as a browser's address bar or the web UI shows it ---------------------------------------


@pytest.fixture
def masto() -> Iterator[FakeMastodon]:
    with FakeMastodon(token=M_TOKEN) as fake:
        yield fake


@pytest.mark.parametrize("link", [
    "https://mastodon.example/@acme/{id}?utm_source=mastodon",
    "https://mastodon.example/@acme/{id}#replies",
    "https://mastodon.example/@acme/{id}/",
    "https://mastodon.example/deck/@acme/{id}",
    "https://mastodon.example/deck/@acme/{id}/?utm=x#top",
    "https://Mastodon.Example/web/statuses/{id}?x=1",
])
def test_a_mastodon_link_with_a_query_a_fragment_or_the_deck_is_taken(project: Project, masto: FakeMastodon,
                                                                     link: str) -> None:
    """Refused as 'not a Mastodon status': the operator had to trim the link by hand, at 3 a.m."""
    mastodon_on(project, "https://mastodon.example", masto)
    incident_id = unknown_follow_up(project, masto)
    status = masto.posted[-1]
    result = project.cli("retry", incident_id, "--mark-unknown-sent", "--remote-id",
                         f"masto={link.format(id=status.id)}")
    assert result.exit_code == 0, result.output
    assert masto_deliveries(project, incident_id)[-1]["remote_id"] == f"{status.id}@{status.account_id}@mastodon.example"


@pytest.mark.parametrize("link", [
    "https://other.example/@acme/{id}?utm_source=mastodon",
    "https://other.example/deck/@acme/{id}#x",
    "https://other.example/@acme/{id}/",
])
def test_a_mastodon_link_of_another_instance_is_still_refused_in_any_form(project: Project, masto: FakeMastodon,
                                                                         link: str) -> None:
    mastodon_on(project, "https://mastodon.example", masto)
    incident_id = unknown_follow_up(project, masto)
    status = masto.posted[-1]
    result = project.cli("retry", incident_id, "--mark-unknown-sent", "--remote-id",
                         f"masto={link.format(id=status.id)}")
    assert result.exit_code == 2, result.output
    assert "other.example" in result.output and "mastodon.example" in result.output, result.output
    assert masto_deliveries(project, incident_id)[-1]["state"] == "unknown"


# -- init given an empty name, or a place inside the state folder ------------------------------------------------------


def init_in(folder: Path, *args: str) -> Result:
    """`broadcaster init ...` run in ``folder``, with no --config and no $BROADCASTER_CONFIG."""
    return CliRunner().invoke(main, ["init", *args], env={"BROADCASTER_CONFIG": None}, catch_exceptions=False)


@pytest.mark.parametrize("given", ["", "  "])
def test_init_of_an_empty_name_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: str) -> None:
    """`broadcaster init "$CONFIG"` with CONFIG unset wrote ./broadcaster.toml and said all was well."""
    monkeypatch.chdir(tmp_path)
    result = init_in(tmp_path, given)
    assert result.exit_code == 2, result.output
    assert "empty" in result.output and "broadcaster init" in result.output and "Nothing was written" in result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("given", [".broadcaster/", ".broadcaster", ".broadcaster/git/", ".broadcaster/mine.toml",
                                   "./.broadcaster/../.broadcaster/ops/"])
def test_init_inside_the_state_folder_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: str) -> None:
    """Wrote the config into the state folder: kept out of git by its .gitignore, lost with the folder."""
    monkeypatch.chdir(tmp_path)
    assert init_in(tmp_path).exit_code == 0  # ./broadcaster.toml and its state folder
    (tmp_path / "broadcaster.toml").unlink()
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    result = init_in(tmp_path, given)
    said = " ".join(result.output.split())
    assert result.exit_code == 2, said
    assert "state folder" in said and "Nothing was written" in said, said
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


@pytest.mark.parametrize("given", [".broadcaster", "ops/.broadcaster"])
def test_init_of_a_file_named_as_the_state_folder_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             given: str) -> None:
    """A config file named .broadcaster, where its own state folder goes: made the state folder, then failed 'could not
    write ..broadcaster.4649-0.broadcaster-tmp: Is a directory ... or free the space', the folder left behind."""
    monkeypatch.chdir(tmp_path)
    result = init_in(tmp_path, given)
    said = " ".join(result.output.split())
    assert result.exit_code == 2, said
    assert "state folder" in said and "free the space" not in said, said
    assert list(tmp_path.iterdir()) == []


def test_init_over_the_state_file_is_refused_even_with_force(project: Project, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """`init --force` over the state file ([store] path elsewhere) replaced the store with the starter config."""
    project.write_config('[store]\npath = "data/state.db"\n')
    assert project.cli("post", "--yes", "--title", "API errors", "Errors.").exit_code == 0
    state = project.root / "data" / "state.db"
    held = state.read_bytes()
    monkeypatch.chdir(project.root)
    result = init_in(project.root, "--force", "data/state.db")
    said = " ".join(result.output.split())
    assert result.exit_code == 2, said
    assert "SQLite" in said and "Nothing was written" in said, said
    assert state.read_bytes() == held
    assert not (project.root / "data" / "state.db.bak").exists()


def test_init_through_a_loop_of_links_is_refused_as_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Was 'unexpected error (RuntimeError)', exit 1."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "loop").symlink_to("loop")
    result = init_in(tmp_path, "loop/ops.toml")
    assert result.exit_code == 2, result.output
    assert "loop of symbolic links" in result.output and "Nothing was written" in result.output


def test_another_incidents_post_in_another_letter_case_is_refused_as_its(project: Project,
                                                                       telegram: FakeTelegram) -> None:
    """An incident posted while the table said @AcmeStatus, a later one's post of unknown fate while it says
    @acmestatus: the first incident's message given for it (the wrong line of `show` copied) was taken, and the later
    incident's updates replied under the other incident's first message."""
    earlier = first_post(project, telegram)  # @AcmeStatus:1, the table now @acmestatus
    telegram.fail(Fault(match="sendMessage", reset_after=True))
    later = project.cli("post", "--yes", "--json", "--title", "Checkout errors", "Checkout fails.")
    assert later.exit_code == 3, later.stdout
    incident = str(json.loads(later.stdout)["incident_id"])
    taken = project.cli("retry", incident, "--mark-unknown-sent", "--remote-id", "tg=https://t.me/AcmeStatus/1")
    said = " ".join((taken.stdout + taken.stderr).split())
    assert taken.exit_code == 2, said
    assert f"recorded for {earlier} update #1" in said, said
    assert {d["state"] for d in shown(project, incident)["deliveries"] if d["destination"] == "tg"} == {"unknown"}
