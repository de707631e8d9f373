"""Review 42c: threading and retries on X, Telegram and Slack through the real CLI; each test failed before its fix."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import Project
from tests.fakes.base import Fault, Request, Response
from tests.fakes.twitter import DUPLICATE
from tests.fakes.world import FakeWorld


def post(project: Project, *args: str) -> tuple[int, dict[str, Any]]:
    result = project.cli("post", "--yes", "--json", *args)
    assert result.stdout, result.stderr
    return result.exit_code, json.loads(result.stdout)


def at(payload: dict[str, Any], destination: str) -> list[dict[str, Any]]:
    return [d for d in payload["deliveries"] if d["destination"] == destination]


def x_delivery(project: Project, incident: str, sequence: int) -> dict[str, Any]:
    shown = json.loads(project.cli("show", incident, "--json").stdout)
    return next(d for d in shown["deliveries"] if d["destination"] == "x" and d["sequence"] == sequence)


# -- X refused update 1 as a duplicate of another post: "say it in other words in the next update" ----------------


def _refuses_the_first_words(request: Request) -> bool:
    return "Elevated errors." in str(request.form.get("text", ""))


def refuse_the_first_words(world: FakeWorld) -> None:
    """X refuses update 1's words for good: the same text is on the account from another post (last month's)."""
    world.x.fail(*[Fault(match="/2/tweets", response=Response(403, DUPLICATE), when=_refuses_the_first_words)
                   for _ in range(10)])


def test_the_next_update_goes_out_on_x_after_x_refused_the_first_as_a_duplicate_of_another_post(
        project: Project, world: FakeWorld) -> None:
    """X refused update 1 as a copy of another post; the operator was told to say it in other words in the next
    update. That next update was held back behind update 1 ("`retry` sends both"), and `retry` resent update 1,
    refused again, and then called it "most likely posted, its answer lost" (unknown): every later update of the
    incident stayed off X unless the operator recorded as sent a post that was never made."""
    refuse_the_first_words(world)
    code, first = post(project, "--title", "API errors", "-C", "api", "Elevated errors.")
    assert code == 3
    [refused] = at(first, "x")
    assert refused["state"] == "failed" and "other words in the next update" in refused["error"]
    incident = first["incident_id"]

    code, second = post(project, "-i", incident, "We are still looking into the errors.")
    [followed] = at(second, "x")
    assert followed["state"] == "sent", followed
    assert code == 0, second
    assert any("#1" in note for note in followed["notes"]), followed
    [tweet] = world.x.tweets
    assert "still looking" in tweet.text
    assert x_delivery(project, incident, 1)["state"] == "skipped"
    assert project.cli("retry").exit_code == 0
    assert len(world.x.tweets) == 1


def test_retry_of_an_update_x_refused_as_a_duplicate_of_another_post_is_refused_again_not_in_doubt(
        project: Project, world: FakeWorld) -> None:
    """The refusal proved nothing of update 1 reached X; `retry` resending it into the same refusal counted that
    earlier run's refused attempt as one that may have arrived, and told the operator the post was most likely
    there (`--mark-unknown-sent` then recorded a tweet never made)."""
    refuse_the_first_words(world)
    code, first = post(project, "--title", "API errors", "-C", "api", "Elevated errors.")
    incident = first["incident_id"]
    assert x_delivery(project, incident, 1)["state"] == "failed"
    assert project.cli("retry", incident).exit_code == 3
    delivery = x_delivery(project, incident, 1)
    assert delivery["state"] == "failed", delivery
    assert "earlier attempt did post it" not in delivery["error"]
    assert world.x.tweets == []


# -- a thread's first message deleted in the chat: posted unthreaded, and said so ---------------------------------


def test_a_telegram_follow_up_whose_first_message_was_deleted_says_it_went_unthreaded(
        project: Project, world: FakeWorld) -> None:
    """X and Slack say so in a note when the post to reply to is gone and the update starts a new thread; Telegram
    (``allow_sending_without_reply``) posted the follow-up on its own with nothing said: the operator was never told
    the chat's readers now read it apart from the incident's first message."""
    from tests.fakes.world import PUBLIC_CHAT

    code, first = post(project, "--title", "API errors", "-C", "api", "Elevated errors.")
    assert code == 0
    world.telegram.messages[PUBLIC_CHAT].clear()  # an admin deleted it in the channel
    code, second = post(project, "-i", first["incident_id"], "Still investigating.")
    assert code == 0
    [sent] = at(second, "tg-public")
    [message] = world.telegram_messages(PUBLIC_CHAT)
    assert message.reply_to_message_id is None and sent["state"] == "sent"
    assert any("not in" in note or "deleted" in note for note in sent["notes"]), sent
    for ops in at(second, "tg-ops"):  # their first messages are there: threaded, nothing to say
        assert ops["notes"] == [], ops


# -- a correction of an update whose post's fate is unknown: what each way of settling it does -------------------


def test_a_correction_held_behind_a_post_of_unknown_fate_says_include_unknown_sends_its_text_instead_of_it(
        project: Project, world: FakeWorld) -> None:
    """`amend` while update 1's X post is of unknown fate: the correction is held back, told that `--include-unknown`
    (the post is not there) "sends this one after it". It did not: update 1 went out with the correction's text and
    the correction was skipped. Where update 1 had arrived after all, X then held the text taken back and the
    corrected one as two posts of update 1, with no correction under the first: the operator choosing between
    `--mark-unknown-sent` and `--include-unknown` must know which of them sends the correction."""
    world.x.fail(Fault(match="/2/tweets", hold=4))
    code, first = post(project, "--title", "API errors", "-C", "api", "Elevated errors on the API.")
    incident = first["incident_id"]
    assert x_delivery(project, incident, 1)["state"] == "unknown"
    amended = project.cli("amend", incident, "1", "--yes", "--json", "Elevated errors on the API and the website.")
    [held] = at(json.loads(amended.stdout), "x")
    assert held["state"] == "failed"
    assert "either sends this one after it" not in held["error"], held["error"]
    assert "--include-unknown" in held["error"] and "not sent" in held["error"], held["error"]
    assert project.cli("retry", incident, "--include-unknown").exit_code == 0
    assert x_delivery(project, incident, 2)["state"] == "skipped"  # as the operator was told
