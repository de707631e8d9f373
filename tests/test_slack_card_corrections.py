"""Slack's status card after `amend`: the thread's first message shows the incident as it stands, for its readers.

Once a thread has a reply, its first message is the incident's status card (``channels/slack.py``): the current
status and a quote of the latest update. A correction edits its own post, then redoes the card from the incident's
latest update as last corrected, cut for that channel's readers and past the egress guard; a correction of the
first message, once it is the card, never sets the card back to that update. The real CLI against FakeSlack, with
acme's, globex's, the staff's and the public channels of ``tests/test_audiences.py``.
"""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import Project
from tests.fakes.base import Fault, Response
from tests.fakes.slack import FakeSlack, SlackMessage
from tests.test_audiences import post, slack  # noqa: F401

PUBLIC, ACME, OPS = "C0PUB00001", "C0ACME0001", "C0OPS00001"


def card(fake: FakeSlack, channel: str) -> str:
    """All the incident's first message shows (its card once a reply went), text and blocks."""
    first: SlackMessage = fake.top_level(channel)[0]
    return first.text + json.dumps(first.blocks, ensure_ascii=False)


def replies(fake: FakeSlack, channel: str) -> list[SlackMessage]:
    return fake.replies(channel, fake.top_level(channel)[0].ts)


def amend(project: Project, *args: str) -> tuple[int, dict[str, Any]]:
    return project.cli_json("amend", "--yes", *args)


def public_table(fake: FakeSlack) -> str:
    """The public channel alone (no customers): the SLACK_TOKEN the ``slack`` fixture sets."""
    return (f'\n[channels.public-slack]\ntype = "slack"\nvisibility = "public"\ntoken = "${{SLACK_TOKEN}}"\n'
            f'channel = "{PUBLIC}"\napi_url = "{fake.api_url}"\n')


def incident_with_a_leaky_cause(project: Project) -> str:
    code, out = post(project, "--title", "API errors", "-C", "api", "Errors on the API.")
    assert code == 0, out
    incident = str(out["incident_id"])
    code, out = post(project, "-i", incident, "-s", "identified",
                     "Cause found: HOST-DB7-INTERNAL failed. [for acme]Your circuit OTHER-CIRCUIT-5.[/for]")
    assert code == 0, out
    return incident


def test_correcting_the_latest_update_redoes_each_channels_card_from_its_own_cut(
        project: Project, slack: FakeSlack) -> None:  # noqa: F811
    incident = incident_with_a_leaky_cause(project)
    assert "HOST-DB7-INTERNAL" in card(slack, PUBLIC) and "OTHER-CIRCUIT-5" in card(slack, ACME)
    code, out = amend(project, incident, "2", "Cause found: a database failed. [for acme]Your circuit ACME-CIRCUIT-2.[/for]")
    assert code == 0, out
    public, acme, ops = card(slack, PUBLIC), card(slack, ACME), card(slack, OPS)
    for shown in (public, acme, ops):
        assert "HOST-DB7-INTERNAL" not in shown and "OTHER-CIRCUIT-5" not in shown, shown
        assert "Cause found: a database failed." in shown and "Identified" in shown, shown
        assert "Latest update" in shown and "Update 2 · Updated" in shown, shown  # the card, of update 2
    assert "ACME-CIRCUIT-2" in acme and "ACME-CIRCUIT-2" in ops
    assert "ACME-CIRCUIT-2" not in public and "Acme" not in public  # the public card is the public's cut
    assert slack.messages["C0GLOB0001"] == []
    for channel in (PUBLIC, ACME):  # the reply is corrected too, and nothing new was posted
        assert len(slack.top_level(channel)) == 1 and len(replies(slack, channel)) == 1
        assert "a database failed" in replies(slack, channel)[0].all_text


def test_correcting_update_1_of_a_resolved_incident_leaves_every_card_resolved(
        project: Project, slack: FakeSlack) -> None:  # noqa: F811
    code, out = post(project, "--title", "API errors", "-C", "api", "Errors on the API.")
    assert code == 0, out
    incident = str(out["incident_id"])
    assert post(project, "-i", incident, "-s", "identified", "Cause found.")[0] == 0
    assert post(project, "-i", incident, "-s", "resolved", "Fixed.")[0] == 0
    threads = {channel: [m.all_text for m in replies(slack, channel)] for channel in (PUBLIC, ACME, OPS)}
    code, out = amend(project, incident, "1", "Errors on the public API.")
    assert code == 0, out
    for channel in (PUBLIC, ACME, OPS):
        shown = card(slack, channel)
        assert "Investigating" not in shown and "Degraded" not in shown, (channel, shown)
        assert "Resolved" in shown and "Fixed." in shown and "Update 3 · Updated" in shown, (channel, shown)
        assert [m.all_text for m in replies(slack, channel)] == threads[channel]  # the thread as it was
    code, out = amend(project, incident, "1", "Errors on the public API, EU only.")  # again: the same card
    assert code == 0, out
    for channel in (PUBLIC, ACME, OPS):
        shown = card(slack, channel)
        assert "Investigating" not in shown and "Resolved" in shown and "Fixed." in shown, (channel, shown)


def test_correcting_an_older_update_keeps_the_card_on_the_latest(project: Project, slack: FakeSlack) -> None:  # noqa: F811
    code, out = post(project, "--title", "API errors", "-C", "api", "Errors on the API.")
    assert code == 0, out
    incident = str(out["incident_id"])
    assert post(project, "-i", incident, "-s", "identified", "Cause found: a cable.")[0] == 0
    assert post(project, "-i", incident, "-s", "monitoring", "A fix is out.")[0] == 0
    code, out = amend(project, incident, "2", "Cause found: a switch.")
    assert code == 0, out
    shown = card(slack, PUBLIC)
    assert "A fix is out." in shown and "Monitoring" in shown and "switch" not in shown, shown
    assert "a switch" in replies(slack, PUBLIC)[0].all_text


def test_correcting_update_1_before_any_reply_edits_it_in_place(project: Project, slack: FakeSlack) -> None:  # noqa: F811
    code, out = post(project, "--title", "API errors", "-C", "api", "Errors on the API.")
    assert code == 0, out
    code, out = amend(project, str(out["incident_id"]), "1", "Errors on the public API.")
    assert code == 0, out
    assert len(slack.messages[PUBLIC]) == 1
    shown = card(slack, PUBLIC)
    assert "Errors on the public API." in shown and "Investigating" in shown
    assert "Latest update" not in shown  # update 1 itself, not a card: there is no thread yet


def test_a_correction_whose_card_cannot_be_refreshed_fails_and_retry_corrects_both(
        project: Project, slack: FakeSlack) -> None:  # noqa: F811
    incident = incident_with_a_leaky_cause(project)
    # Each correction's first chat.update (its reply) goes through; the card's after it is refused, every attempt.
    refused = Response(200, {"ok": False, "error": "service_unavailable"})
    slack.fail(*(Fault(match="chat.update", after=1, response=refused) for _ in range(20)))
    code, out = amend(project, incident, "2", "Cause found: a database failed.", "--only", "public-slack")
    assert code == 3, out  # not "sent": the text taken back is still on the card
    failed = next(d for d in out["deliveries"] if d["destination"] == "public-slack")
    assert failed["state"] == "failed" and "status card" in failed["error"], failed
    assert "HOST-DB7-INTERNAL" in card(slack, PUBLIC)
    slack.clear_faults()
    retried = project.cli("retry", incident)
    assert retried.exit_code == 0, retried.output
    assert "HOST-DB7-INTERNAL" not in card(slack, PUBLIC) and "a database failed" in card(slack, PUBLIC)
    assert "HOST-DB7-INTERNAL" not in replies(slack, PUBLIC)[0].all_text


def test_a_correction_posted_as_a_reply_leaves_the_card_on_the_incident_as_it_stands(
        project: Project, slack: FakeSlack) -> None:  # noqa: F811
    """Update 2's post is of unknown fate, then recorded sent without its id: its correction is a reply of its own.
    The card after it shows the incident as it stands (resolved), never that reply as the latest update."""
    project.write_config(public_table(slack))
    code, out = post(project, "--title", "API errors", "-C", "api", "Errors on the API.")
    assert code == 0, out
    incident = str(out["incident_id"])
    slack.fail(Fault(match="chat.postMessage", reset_after=True))  # posted, but the answer is lost
    code, out = post(project, "-i", incident, "-s", "identified", "Cause found: a cable.")
    assert code == 3 and out["deliveries"][-1]["state"] == "unknown", out
    assert project.cli("retry", incident, "--mark-unknown-sent").exit_code == 0
    assert post(project, "-i", incident, "-s", "resolved", "Fixed.")[0] == 0
    code, out = amend(project, incident, "2", "Cause found: a switch.")
    assert code == 0, json.dumps(out["deliveries"])
    assert "a switch" in replies(slack, PUBLIC)[-1].all_text  # posted in the thread: there was nothing to edit
    shown = card(slack, PUBLIC)
    assert "Resolved" in shown and "Fixed." in shown and "Identified" not in shown and "switch" not in shown, shown


def test_the_refreshed_card_passes_the_egress_guard(project: Project, slack: FakeSlack) -> None:  # noqa: F811
    """The latest update named a company that became a customer since: "Initech" is then a customer's name, which
    no public payload may hold. A correction of update 1 says nothing of it, but the public card it would redo
    quotes the latest update: the guard refuses it at the preview, and nothing is stored or sent."""
    public = public_table(slack)
    project.write_config(public)  # no customers yet
    code, out = post(project, "--title", "API errors", "-C", "api", "Errors on the API.")
    assert code == 0, out
    incident = str(out["incident_id"])
    assert post(project, "-i", incident, "-s", "identified", "Cause found: the Initech uplink failed.")[0] == 0
    assert "Initech" in card(slack, PUBLIC)
    project.write_config('\n[audiences.initech]\nname = "Initech"\ncomponents = ["web"]\n' + public)
    before = [(m.text, m.blocks, len(m.edits)) for m in slack.messages[PUBLIC]]
    code, out = amend(project, incident, "1", "Errors on the public API.")
    assert code == 2 and out["refused"], out
    refused = next(d for d in out["deliveries"] if d["destination"] == "public-slack")
    assert "refused to publish" in refused["error"] and "Initech" not in json.dumps(out), out
    assert [(m.text, m.blocks, len(m.edits)) for m in slack.messages[PUBLIC]] == before  # nothing sent
    assert project.cli_json("show", incident)[1]["updates"][-1]["sequence"] == 2  # nothing stored
