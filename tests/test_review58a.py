"""Review 58a: the scratch-then-real store of a post with the built-in default, everyday status words, and 57a's
refusals of another account's posts, attacked through the CLI and the fakes."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Project
from tests.fakes.base import Fault
from tests.fakes.bluesky import DID, FakeBluesky
from tests.social import B_PASSWORD
from tests.test_confirmation import in_terminal
from tests.test_review56b import ENGINE


def post(project: Project, *args: str) -> dict[str, Any]:
    result = project.cli("post", "--yes", "--json", *args)
    assert result.exit_code in (0, 3), result.output
    return dict(json.loads(result.stdout))


def deliveries(project: Project, incident_id: str) -> list[dict[str, Any]]:
    result = project.cli("show", incident_id, "--json")
    assert result.exit_code == 0, result.output
    return [d for d in json.loads(result.stdout)["deliveries"] if d["destination"] != "site"]


# -- Bluesky: a post given by its link, then the handle changed (the same account) ------------------------------


@pytest.fixture
def sky() -> Iterator[FakeBluesky]:
    with FakeBluesky(password=B_PASSWORD) as fake:
        yield fake


def bluesky_as(project: Project, handle: str, fake: FakeBluesky) -> None:
    project.write_config(ENGINE + f"""
        [channels.sky]
        type = "bluesky"
        handle = "{handle}"
        app_password = "${{BSKY_PASSWORD}}"
        api_url = "{fake.url}"
    """)
    project.env["BSKY_PASSWORD"] = B_PASSWORD


def _found_by_its_link(project: Project, sky: FakeBluesky) -> tuple[str, str]:
    """An incident whose Bluesky post went up with every answer lost (unknown), then recorded by hand from the
    link the operator copied in the app (by handle, as bsky.app writes it). The incident and the post's key."""
    sky.fail(*[Fault(match="createRecord", reset_after=True)] * 2, *[Fault(match="getRecord", reset=True)] * 4)
    first = post(project, "--title", "API errors", "Elevated errors.")
    sky.clear_faults()
    [made] = sky.posted
    rkey = made.uri.rsplit("/", 1)[1]
    assert [d["state"] for d in deliveries(project, first["incident_id"])] == ["unknown"]
    marked = project.cli("retry", first["incident_id"], "--mark-unknown-sent", "--remote-id",
                         f"sky=https://bsky.app/profile/acme.bsky.social/post/{rkey}")
    assert marked.exit_code == 0, marked.output
    return str(first["incident_id"]), rkey


def test_a_post_given_by_its_link_is_still_the_account_s_after_its_handle_changes(
        project: Project, sky: FakeBluesky) -> None:
    """A bsky.app link names the account by its handle, which changes (acme.bsky.social to a domain of its own);
    its DID does not. Recorded by handle, the post was read as another account's once handle was changed in the
    config: the next update started a new thread, saying the earlier posts were "made by another account" (they
    were the same account's)."""
    bluesky_as(project, "acme.bsky.social", sky)
    incident_id, rkey = _found_by_its_link(project, sky)
    assert deliveries(project, incident_id)[0]["remote_id"] == f"at://{DID}/app.bsky.feed.post/{rkey}"
    sky.handle = "status.acme.example"  # the same account (DID), under its new handle
    bluesky_as(project, "status.acme.example", sky)
    follow_up = project.cli("post", "--yes", "-i", incident_id, "-s", "identified", "Cause found.")
    assert follow_up.exit_code == 0, follow_up.output
    assert "another account" not in follow_up.output, follow_up.output
    first, second = sky.posted
    assert second.reply is not None and second.reply["root"]["uri"] == first.uri, second.reply


# -- the scratch store of a post with the built-in default --------------------------------------------------------


def _stopped_at_the_prompt(folder: Path, scratch: Path, args: list[str], how: signal.Signals) -> tuple[int, str]:
    """The real CLI on a pseudo-terminal in ``folder`` (no config: the built-in default), sent ``how`` as it waits
    for the answer."""
    def stop(process: subprocess.Popen[bytes]) -> None:
        time.sleep(0.5)  # waiting for the answer: a signal in the instant before the read begins waits for a key
        process.send_signal(how)

    return in_terminal(Project(folder, {"TMPDIR": str(scratch)}), args, stop, b"Publish now?", built_in=True)


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGHUP], ids=["sigterm", "sighup"])
def test_a_post_stopped_at_its_prompt_leaves_no_scratch_store(tmp_path: Path, how: signal.Signals) -> None:
    """With the built-in default and no state file, the preview reads an empty store in a temporary folder, removed
    when the command ends. Stopped at the question (SIGTERM from a job's timeout, SIGHUP from a terminal closed),
    the process died at once and the folder stayed, with its empty state file, in $TMPDIR: one more at each. It is
    now an answer of no, as Ctrl-C there is."""
    folder, scratch = tmp_path / "typo", tmp_path / "tmp"
    folder.mkdir()
    scratch.mkdir()
    code, shown = _stopped_at_the_prompt(folder, scratch, ["post", "--title", "API errors", "Investigating."], how)
    assert "Publish now?" in shown, shown
    assert code == 2 and "nothing was stored or sent" in shown, (code, shown)
    assert sorted(p.name for p in scratch.iterdir() if p.name.startswith("broadcaster-empty-")) == []
    assert sorted(p.name for p in folder.iterdir()) == []


def test_a_state_folder_that_is_a_file_is_said_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``.broadcaster`` a file (a copy gone wrong, `touch` for `mkdir`): the post was an "unexpected error
    (NotADirectoryError)", and with the built-in default only once the operator had confirmed it."""
    from click.testing import CliRunner

    from broadcaster.cli import main

    monkeypatch.delenv("BROADCASTER_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".broadcaster").write_text("", encoding="utf-8")
    result = CliRunner().invoke(main, ["post", "--yes", "--title", "API errors", "Investigating."],
                                env={"BROADCASTER_CONFIG": ""})
    said = " ".join(result.output.split())
    assert result.exit_code == 2, said
    assert "unexpected" not in said and f"{tmp_path / '.broadcaster'} is a file, not a folder" in said, said
    assert (tmp_path / ".broadcaster").read_text(encoding="utf-8") == ""
