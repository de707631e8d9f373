"""Review 65i: `retry --mark-unknown-sent --remote-id` for Slack and Discord, through the real CLI and the fakes.

Slack's link was searched for anywhere in the text: junk around it, another host, a `cid` naming another channel
were taken, and a link to a reply in another incident's thread (or a message no one made) was recorded as this
update's post: later corrections edited it, and the status card of this incident was not the thread's. Now the whole
link is read, and Slack is asked where the message is (chat.getPermalink: which thread, and whether it is there).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Project
from tests.fakes.base import Fault
from tests.fakes.slack import FakeSlack, SlackMessage
from tests.test_review47b import CHANNEL, slack  # noqa: F401 - a pytest fixture


def deliveries(project: Project, incident: str, destination: str) -> list[dict[str, Any]]:
    shown = json.loads(project.cli("show", incident, "--json").stdout)["deliveries"]
    return [d for d in shown if d["destination"] == destination]


def marked(project: Project, incident: str, pair: str) -> tuple[int, str]:
    result = project.cli("retry", incident, "--mark-unknown-sent", "--remote-id", pair)
    return result.exit_code, " ".join((result.stdout + result.stderr).split())


# -- Slack ---------------------------------------------------------------------------------------------------------


def slack_unknown_follow_up(project: Project, fake: FakeSlack) -> tuple[str, SlackMessage, SlackMessage]:
    """An incident whose second update's reply went up with its answer lost (unknown): its id, first message, reply."""
    code, out = project.cli_json("post", "--yes", "--title", "API errors", "Errors on the API.")
    assert code == 0, out
    incident = str(out["incident_id"])
    [first] = fake.top_level(CHANNEL)
    fake.fail(Fault(match="chat.postMessage", reset_after=True))
    code, out = project.cli_json("post", "--yes", "-i", incident, "-s", "identified", "Cause found.")
    assert code == 3, out
    [reply] = fake.replies(CHANNEL, first.ts)
    return incident, first, reply


def someone_elses(fake: FakeSlack, thread_ts: str | None, ts: str = "1700000099.000099") -> SlackMessage:
    """A message someone else wrote in the channel (a reply in ``thread_ts``, or at top level)."""
    message = SlackMessage(CHANNEL, ts, "Seeing this too", [], thread_ts=thread_ts)
    fake.messages[CHANNEL].append(message)
    return message


def slack_link(ts: str, query: str = "") -> str:
    return f"https://acme.slack.com/archives/{CHANNEL}/p{ts.replace('.', '')}{query}"


def test_slack_a_reply_in_another_incidents_thread_is_refused(project: Project, slack: FakeSlack) -> None:  # noqa: F811
    incident, _, _ = slack_unknown_follow_up(project, slack)
    code, out = project.cli_json("post", "--yes", "--title", "Web down", "-C", "web", "The website is down.")
    assert code == 0, out
    other = slack.top_level(CHANNEL)[-1]
    stranger = someone_elses(slack, other.ts)
    for given in (slack_link(stranger.ts, f"?thread_ts={other.ts}&cid={CHANNEL}"), f"{CHANNEL}:{stranger.ts}"):
        code, said = marked(project, incident, f"status-slack={given}")
        assert code == 2 and "another thread" in said and "nothing was stored" in said, said
    assert deliveries(project, incident, "status-slack")[-1]["state"] == "unknown"


def test_slack_a_top_level_message_for_a_reply_is_refused(project: Project, slack: FakeSlack) -> None:  # noqa: F811
    incident, _, _ = slack_unknown_follow_up(project, slack)
    stranger = someone_elses(slack, None)
    code, said = marked(project, incident, f"status-slack={slack_link(stranger.ts)}")
    assert code == 2 and "not a reply" in said and "nothing was stored" in said, said
    assert deliveries(project, incident, "status-slack")[-1]["state"] == "unknown"


def test_slack_a_message_that_is_not_there_is_refused(project: Project, slack: FakeSlack) -> None:  # noqa: F811
    incident, _, _ = slack_unknown_follow_up(project, slack)
    code, said = marked(project, incident, f"status-slack={CHANNEL}:1700004242.000042")
    assert code == 2 and "has no message" in said and "nothing was stored" in said, said


def test_slack_the_replys_own_link_as_slack_copies_it_is_taken(project: Project, slack: FakeSlack) -> None:  # noqa: F811
    incident, first, reply = slack_unknown_follow_up(project, slack)
    for given in (slack_link(reply.ts, f"?thread_ts={first.ts}&cid={CHANNEL}"),):
        code, said = marked(project, incident, f"status-slack={given}")
        assert code == 0, said
    assert deliveries(project, incident, "status-slack")[-1]["remote_id"] == f"{CHANNEL}:{reply.ts}"


@pytest.mark.parametrize("written", [
    "see {link}",                                               # junk before the link: was searched for and taken
    "https://acme.slack.com.evil.example/archives/{ch}/p{p}",  # another host
    "https://acme.slack.com/archives/{ch}/p{p}?cid=C0OTHER01",   # cid names another channel than the path
    "https://acme.slack.com/archives/{ch}/p{p}?thread_ts={first}&cid={ch}&thread_ts=1700000099.000099",
    "https://acme.slack.com/archives/{ch}/p1700000000000001/../p{p}",
    "ftp://acme.slack.com/archives/{ch}/p{p}",
    "{link}\u200b",
    "https://acme.slack.com/archives/{ch}/p{p}\x1b[0m",
    "https://acme.slack.com/archives/{ch}/p\uff11{p}",
])
def test_slack_what_is_not_a_whole_message_link_is_refused(
        project: Project, slack: FakeSlack, written: str) -> None:  # noqa: F811
    incident, first, reply = slack_unknown_follow_up(project, slack)
    given = written.format(link=slack_link(reply.ts, f"?thread_ts={first.ts}&cid={CHANNEL}"), ch=CHANNEL,
                           p=reply.ts.replace(".", ""), first=first.ts)
    code, said = marked(project, incident, f"status-slack={given}")
    assert code == 2 and "unexpected" not in said, said
    assert deliveries(project, incident, "status-slack")[-1]["state"] == "unknown"
