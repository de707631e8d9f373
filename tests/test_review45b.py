"""Review 45b: Slack's status card and thread, attacked through the real CLI against FakeSlack."""

from __future__ import annotations

import json

from tests.conftest import Project
from tests.fakes.slack import FakeSlack, SlackMessage
from tests.test_audiences import post, slack  # noqa: F401

PUBLIC, ACME, OPS = "C0PUB00001", "C0ACME0001", "C0OPS00001"


def shown(message: SlackMessage) -> str:
    return message.text + json.dumps(message.blocks, ensure_ascii=False)


def test_after_the_first_message_is_deleted_one_new_thread_carries_the_card(
        project: Project, slack: FakeSlack) -> None:  # noqa: F811
    code, out = post(project, "--title", "API errors", "-C", "api", "Errors on the API.")
    assert code == 0, out
    incident = str(out["incident_id"])
    slack.messages[PUBLIC].remove(slack.top_level(PUBLIC)[0])  # someone deleted it in Slack
    for status, text in (("identified", "Cause found."), ("monitoring", "A fix is out."), ("resolved", "Fixed.")):
        code, out = post(project, "-i", incident, "-s", status, text)
        assert code == 0, out
    roots = slack.top_level(PUBLIC)
    assert len(roots) == 1, [shown(m) for m in roots]  # the first follow-up starts the new thread, once
    assert [m.text.split("\n")[-1] for m in slack.replies(PUBLIC, roots[0].ts)] == ["A fix is out.", "Fixed."]
    card = shown(roots[0])
    assert "Resolved" in card and "Fixed." in card and "Latest update" in card, card  # the card, kept current
