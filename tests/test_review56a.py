"""Review 56a: `retry --mark-unknown-sent --remote-id` refusing an id recorded for another delivery (a correction's
own post refused, another incident's Bluesky post let through), `bot run` and `init FOLDER` in the wrong place,
attacked through the real CLI against the loopback fakes."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from broadcaster.cli import main
from tests.conftest import ENGINE, Project
from tests.fakes.base import Fault
from tests.fakes.bluesky import DID, FakeBluesky
from tests.fakes.slack import FakeSlack

PUBLIC = "C0PUBLIC01"
TOKEN = "xoxb-review56a-token"


def _said(output: str) -> str:
    return " ".join(output.split())


@pytest.fixture
def slack(project: Project) -> Iterator[FakeSlack]:
    with FakeSlack(token=TOKEN, channels={PUBLIC: "status"}) as fake:
        project.env["SLACK_TOKEN"] = TOKEN
        project.write_config(ENGINE + f'\n[channels.status-slack]\ntype = "slack"\ntoken = "${{SLACK_TOKEN}}"\n'
                             f'channel = "{PUBLIC}"\napi_url = "{fake.api_url}"\n')
        yield fake


def _deliveries(project: Project, incident: str, destination: str) -> list[dict[str, object]]:
    shown = json.loads(project.cli("show", incident, "--json").stdout)["deliveries"]
    return [d for d in shown if d["destination"] == destination]


def test_the_id_of_the_post_a_correction_edited_in_place_is_taken_for_that_correction(
        project: Project, slack: FakeSlack) -> None:
    """An amend edits update 1's Slack message in place (chat.update), and records that message's id as the
    correction's. Killed while the edit's answer was out, the correction's fate is unknown; the operator saw the
    message corrected and gave its link. It was refused as 'the post broadcaster recorded for ... update #1 here,
    not this update's': the one post that is this correction's."""
    code, out = project.cli_json("post", "--yes", "--title", "API errors", "Errors on the API.")
    assert code == 0, out
    incident = str(out["incident_id"])
    [first] = slack.top_level(PUBLIC)
    slack.fail(Fault(match="chat.update", hold=60))
    amending = project.process("amend", "--yes", incident, "1", "Errors on the EU API.")
    try:
        assert slack.held.wait(30), amending.stderr.read() if amending.stderr else ""
    finally:
        amending.send_signal(signal.SIGKILL)
        amending.communicate(timeout=30)
    link = f"https://acme.slack.com/archives/{PUBLIC}/p{first.ts.replace('.', '')}"
    marked = project.cli("retry", incident, "--mark-unknown-sent", "--remote-id", f"status-slack={link}")
    assert marked.exit_code == 0, marked.output
    states = {d["sequence"]: (d["state"], d["remote_id"]) for d in _deliveries(project, incident, "status-slack")}
    assert states[2] == ("sent", f"{PUBLIC}:{first.ts}"), states


BSKY_PASSWORD = "bsky-review56a-pass"


@pytest.fixture
def bluesky(project: Project) -> Iterator[FakeBluesky]:
    with FakeBluesky(password=BSKY_PASSWORD) as fake:
        project.env["BSKY_PASSWORD"] = BSKY_PASSWORD
        project.write_config("[engine]\ntimeout = 10\ndeadline = 40\nmax_attempts = 4\n"
                             '\n[channels.sky]\ntype = "bluesky"\nhandle = "acme.bsky.social"\n'
                             f'app_password = "${{BSKY_PASSWORD}}"\napi_url = "{fake.url}"\n')
        yield fake


def _bluesky_lost(project: Project, bluesky: FakeBluesky) -> tuple[str, str]:
    """Incident A posted to Bluesky; incident B's post there of unknown fate (its answers lost, and the look-ups
    of its key too). A's post's record key, and B's id."""
    assert project.cli_json("post", "--yes", "--title", "DB slow", "Queries are slow.")[0] == 0
    [other] = bluesky.posted
    bluesky.fail(*[Fault(match="createRecord", reset=True)] * 4, *[Fault(match="getRecord", reset=True)] * 4)
    code, out = project.cli_json("post", "--yes", "--title", "API errors", "Errors on the API.")
    assert code == 3, out
    incident = str(out["incident_id"])
    assert [d["state"] for d in _deliveries(project, incident, "sky")] == ["unknown"]
    bluesky.clear_faults()
    return other.uri.rsplit("/", 1)[1], incident


@pytest.mark.parametrize("written", [
    "https://bsky.app/profile/acme.bsky.social/post/{rkey}",
    "https://bsky.app/profile/" + DID + "/post/{rkey}",
    "at://" + DID + "/app.bsky.feed.post/{rkey}",
], ids=["link-by-handle", "link-by-did", "at-uri-without-cid"])
def test_another_incident_s_bluesky_post_written_another_way_is_refused(
        project: Project, bluesky: FakeBluesky, written: str) -> None:
    """broadcaster records a Bluesky post as at://DID/app.bsky.feed.post/KEY#CID; the operator copies its bsky.app
    link (by handle or by DID) or its at:// URI. Given for another incident's unknown post, none of these was told
    from the recorded id, and it was recorded as B's: B's next update replied in A's thread."""
    rkey, incident = _bluesky_lost(project, bluesky)
    refused = project.cli("retry", incident, "--mark-unknown-sent", "--remote-id", "sky=" + written.format(rkey=rkey))
    assert refused.exit_code == 2, refused.output
    assert "is the post broadcaster recorded for" in _said(refused.output), refused.output
    assert [d["state"] for d in _deliveries(project, incident, "sky")] == ["unknown"]


def test_bot_run_refused_in_a_folder_with_no_config_makes_no_store(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """`bot run` in the wrong folder (a `cd` typo): the built-in default has no [bot] table, so it is refused, but
    only after it had made ./.broadcaster/state.db there, which the next `list` in that folder read as an empty store
    ("No incidents yet", exit 0) instead of saying no store is here."""
    monkeypatch.delenv("BROADCASTER_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    refused = CliRunner().invoke(main, ["bot", "run"], env={"BROADCASTER_CONFIG": ""}, catch_exceptions=False)
    assert refused.exit_code == 2 and "no [bot] table" in refused.output, refused.output
    assert not (tmp_path / ".broadcaster").exists()
    listed = CliRunner().invoke(main, ["list"], env={"BROADCASTER_CONFIG": ""}, catch_exceptions=False)
    assert listed.exit_code == 2 and "no store here" in _said(listed.output), listed.output


@pytest.mark.parametrize("name", ["f/", "broadcaster.toml/"], ids=["a-file-given-as-a-folder", "the-config-itself"])
def test_init_of_a_file_named_as_a_folder_says_it_is_a_file(project: Project, monkeypatch: pytest.MonkeyPatch,
                                                            name: str) -> None:
    """`init f/` where f is a file (or the config itself, with a slash after it): it said "could not write f: File
    exists; nothing was written. Write the config where you may write (another folder, or as the folder's owner),
    or free the space", none of which is the matter."""
    monkeypatch.chdir(project.root)
    (project.root / "f").write_text("mine\n", encoding="utf-8")
    before = project.config.read_text(encoding="utf-8")
    result = project.cli("init", name)
    assert result.exit_code == 2, result.output
    said = _said(result.output)
    assert "is a file, not a folder" in said and "free the space" not in said, said
    assert (project.root / "f").read_text(encoding="utf-8") == "mine\n"
    assert project.config.read_text(encoding="utf-8") == before


@pytest.mark.parametrize("name", ["--x/", "-cfg/"], ids=["long", "short-attached"])
def test_init_of_a_folder_named_like_an_option_prints_a_command_that_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """`init -- --x/` wrote --x/broadcaster.toml and told the operator to run `broadcaster --config
    --x/broadcaster.toml post ...`, which is refused: its value reads as an option."""
    monkeypatch.delenv("BROADCASTER_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    written = CliRunner().invoke(main, ["init", "--", name], env={"BROADCASTER_CONFIG": ""}, catch_exceptions=False)
    assert written.exit_code == 0, written.output
    told = written.output.split("then: broadcaster ", 1)[1].split(" post ", 1)[0].split()
    assert told[0] == "--config", written.output
    listed = CliRunner().invoke(main, [*told, "list"], env={"BROADCASTER_CONFIG": ""}, catch_exceptions=False)
    assert listed.exit_code == 0 and "No incidents yet" in listed.output, listed.output
