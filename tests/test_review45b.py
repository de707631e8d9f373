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


def test_a_correction_of_a_deleted_reply_holds_back_no_later_update(project: Project, slack: FakeSlack) -> None:  # noqa: F811
    code, out = post(project, "--title", "API errors", "-C", "api", "Errors on the API.")
    assert code == 0, out
    incident = str(out["incident_id"])
    assert post(project, "-i", incident, "-s", "identified", "Cause found: HOST-DB7.")[0] == 0
    root = slack.top_level(PUBLIC)[0]
    slack.messages[PUBLIC].remove(slack.replies(PUBLIC, root.ts)[0])  # someone deleted the reply in Slack
    code, out = project.cli_json("amend", "--yes", incident, "2", "Cause found: a database.")
    public = next(d for d in out["deliveries"] if d["destination"] == "public-slack")
    assert code == 0 and public["state"] == "sent", out  # posted anew, as Discord and Telegram do
    assert "posted the correction as a new message" in " ".join(public["notes"]), public
    [correction] = slack.replies(PUBLIC, root.ts)
    assert "Correction" in shown(correction) and "a database" in shown(correction), shown(correction)
    assert "HOST-DB7" not in shown(root) and "a database" in shown(root)  # the card quotes the corrected text
    code, out = post(project, "-i", incident, "-s", "resolved", "Fixed.")
    assert code == 0, out  # was: "held back: update #3 ... is failed here", and retry failed the same way
    assert [m.text.split("\n")[-1] for m in slack.replies(PUBLIC, root.ts)] == ["Cause found: a database.", "Fixed."]
    assert "Resolved" in shown(root) and "Fixed." in shown(root)


def test_a_correction_of_a_deleted_first_message_after_the_thread_started_anew(
        project: Project, slack: FakeSlack) -> None:  # noqa: F811
    code, out = post(project, "--title", "API errors", "-C", "api", "Errors on the API.")
    assert code == 0, out
    incident = str(out["incident_id"])
    slack.messages[PUBLIC].remove(slack.top_level(PUBLIC)[0])
    assert post(project, "-i", incident, "-s", "identified", "Cause found.")[0] == 0
    code, out = project.cli_json("amend", "--yes", incident, "1", "Errors on the whole API.")
    assert code == 0, out
    assert post(project, "-i", incident, "-s", "resolved", "Fixed.")[0] == 0
    roots = slack.top_level(PUBLIC)
    assert len(roots) == 1 and "Resolved" in shown(roots[0]) and "Fixed." in shown(roots[0])
    assert [m.text.split("\n")[-1] for m in slack.replies(PUBLIC, roots[0].ts)] == ["Errors on the whole API.", "Fixed."]


FAMILY = "\U0001f469\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # one grapheme of seven code points


def test_slack_cuts_fall_between_graphemes_never_inside_an_emoji_or_a_letter_and_its_accent(
        project: Project, slack: FakeSlack) -> None:  # noqa: F811
    accented = "x" + "q\u0301" * 2000  # a letter and its accent (no precomposed form): 4,000 characters, past 3,000
    code, out = post(project, "--title", "API errors in EU " + FAMILY * 25, "-C", "api", accented)
    assert code == 0, out
    [message] = slack.messages[PUBLIC]
    heading = message.blocks[0]["text"]["text"]
    assert heading.endswith(FAMILY + "…"), repr(heading[-12:])  # was "👩\u200d…": half a family
    sections = [b["text"]["text"] for b in message.blocks if b["type"] == "section" and "text" in b]
    assert len(sections) >= 2 and all(not s.startswith("\u0301") for s in sections), [s[:3] for s in sections]
    assert "".join(sections[:2]).count("\u0301") == "".join(sections[:2]).count("q")  # no "q" lost its accent
