"""Review 54a: the engine's threading after a restarted thread (09915ad), attacked through the real CLI against
the loopback fakes: a thread whose first message was deleted, a follow-up that started it anew, and what
`retry --mark-unknown-sent` says later updates thread under."""

from __future__ import annotations

from tests.conftest import Project
from tests.fakes.base import Fault
from tests.fakes.slack import FakeSlack
from tests.test_review47b import CHANNEL, first_message_deleted, slack  # noqa: F401


def _said(output: str) -> str:
    return " ".join(output.split())


def test_a_post_of_unknown_id_after_a_known_post_that_followed_an_unnamed_restart_names_that_post(
        project: Project, slack: FakeSlack) -> None:  # noqa: F811
    """The first Slack message was deleted; update 2 started the thread anew and was marked sent without an id;
    update 3 went out at top level (a new thread, its id known); update 4's answer was lost. `retry
    --mark-unknown-sent` said 'later updates there start yet another thread' (and that giving update 4's id would
    have them thread under it), while the engine threads them under update 3's post, as it should."""
    incident = first_message_deleted(project, slack)
    slack.fail(Fault(match="chat.postMessage", reset_after=True, after=1))
    assert project.cli_json("post", "--yes", "-i", incident, "-s", "identified", "Cause found.")[0] == 3
    assert project.cli("retry", incident, "--mark-unknown-sent").exit_code == 0  # the restart: no id known
    assert project.cli_json("post", "--yes", "-i", incident, "-s", "identified", "Cause narrowed.")[0] == 0
    known = slack.top_level(CHANNEL)[-1]  # update 3: a new thread, its id stored
    slack.fail(Fault(match="chat.postMessage", reset_after=True))
    assert project.cli_json("post", "--yes", "-i", incident, "-s", "monitoring", "Fix deployed.")[0] == 3
    marked = project.cli("retry", incident, "--mark-unknown-sent")
    assert marked.exit_code == 0, marked.output
    said = _said(marked.output)
    assert "later updates thread under update #3's post instead" in said, marked.output
    assert "yet another thread" not in said, marked.output
    before = len(slack.top_level(CHANNEL))
    assert project.cli_json("post", "--yes", "-i", incident, "-s", "resolved", "Fixed.")[0] == 0
    assert len(slack.top_level(CHANNEL)) == before, [m.text for m in slack.top_level(CHANNEL)]
    assert [m.text.split("\n")[-1] for m in slack.replies(CHANNEL, known.ts)] == ["Fix deployed.", "Fixed."]
