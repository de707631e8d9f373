"""Review 53a: the fixes of review 52b attacked through the real CLI (a byte order mark, init --force's backup, the
$BROADCASTER_CONFIG note, a build's temporary files, store import and retry after a restarted thread)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import Project
from tests.fakes.base import Fault
from tests.fakes.slack import FakeSlack
from tests.test_review47b import CHANNEL, first_message_deleted, slack  # noqa: F401


def _run(project: Project, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The real ``broadcaster`` in its own process, with no --config: found as an operator's plain command finds it."""
    env = {"PATH": "/usr/bin:/bin", "USER": "oncall", "HOME": str(project.root), **project.env}
    return subprocess.run([sys.executable, "-m", "broadcaster", *args], cwd=cwd or project.root, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_a_config_named_by_the_variable_is_used_from_a_folder_since_removed(project: Project, tmp_path: Any) -> None:
    """A shell left in a folder a deploy removed (an old release's), with $BROADCASTER_CONFIG naming the config by
    its full path: the note about the folder's own broadcaster.toml asked for the working folder, which is gone, and
    the post failed 'unexpected error (FileNotFoundError)' (exit 1), where it had gone out before the note."""
    project.env["BROADCASTER_CONFIG"] = str(project.config)
    gone = tmp_path / "release-41"
    gone.mkdir()
    # The process starts in the folder, which is removed before it runs (as by a deploy while the shell sat in it).
    done = subprocess.run(
        ["/bin/sh", "-c", f'cd "{gone}" && rmdir "{gone}" && exec "$0" -m broadcaster post --yes --title "API errors" '
                          '"Elevated errors."', sys.executable],
        env={"PATH": "/usr/bin:/bin", "HOME": str(project.root), **project.env},
        capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "Note" not in done.stderr
    assert (project.root / "public" / "index.html").is_file()


def test_a_post_marked_sent_with_its_id_after_a_restart_of_unknown_id_carries_the_next_update(
        project: Project, slack: FakeSlack) -> None:  # noqa: F811
    """The incident's first Slack message was deleted; update 2 started the thread anew and was marked sent without
    an id; update 3's answer was lost and the operator, finding its post, gave its id. `retry --mark-unknown-sent`
    said 'later updates thread under <id>', while the engine replied under the deleted first message, was refused,
    and update 4 started yet another thread at the top of the channel."""
    incident = first_message_deleted(project, slack)
    slack.fail(Fault(match="chat.postMessage", reset_after=True, after=1))
    assert project.cli_json("post", "--yes", "-i", incident, "-s", "identified", "Cause found.")[0] == 3
    assert project.cli("retry", incident, "--mark-unknown-sent").exit_code == 0  # no id: the restart names none
    slack.fail(Fault(match="chat.postMessage", reset_after=True))
    assert project.cli_json("post", "--yes", "-i", incident, "-s", "monitoring", "Fix deployed.")[0] == 3
    found = slack.top_level(CHANNEL)[-1]  # the post the operator finds in the channel, latest at the top level
    given = f"{CHANNEL}:{found.ts}"
    marked = project.cli("retry", incident, "--mark-unknown-sent", "--remote-id", f"status-slack={given}")
    assert marked.exit_code == 0, marked.output
    assert f"later updates thread under {given}" in " ".join(marked.output.split()), marked.output
    before = len(slack.top_level(CHANNEL))
    assert project.cli_json("post", "--yes", "-i", incident, "-s", "resolved", "Fixed.")[0] == 0
    assert len(slack.top_level(CHANNEL)) == before, [m.text for m in slack.top_level(CHANNEL)]
    assert [m.text.split("\n")[-1] for m in slack.replies(CHANNEL, found.ts)] == ["Fixed."]
