"""Review 65i: `retry --mark-unknown-sent --remote-id` for Slack and Discord, through the real CLI and the fakes.

Slack's link was searched for anywhere in the text: junk around it, another host, a `cid` naming another channel
were taken, and a link to a reply in another incident's thread (or a message no one made) was recorded as this
update's post: later corrections edited it, and the status card of this incident was not the thread's. Now the whole
link is read, and Slack is asked where the message is (chat.getPermalink: which thread, and whether it is there).

Discord took only a bare message id, refusing its own "Copy Message Link", and never asked whose message an id named:
another webhook's message, or none, was recorded, and later corrections and withdrawals edited or deleted by it. Now
the link is read (discord.com, discordapp.com, ptb., canary.), and the webhook asks Discord for its own message
(GET /webhooks/{id}/{token}/messages/{id}): another's, or one in another thread or channel, is refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import ENGINE, Project
from tests.fakes.base import Fault
from tests.fakes.discord import DiscordMessage, FakeDiscord
from tests.fakes.slack import FakeSlack, SlackMessage
from tests.test_review47b import CHANNEL, slack  # noqa: F401 - a pytest fixture

GUILD = "800000000000000001"  # the fake's guild


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


# -- Discord -------------------------------------------------------------------------------------------------------


@pytest.fixture
def discord(project: Project) -> Iterator[FakeDiscord]:
    with FakeDiscord() as fake:
        discord_as(project, fake)
        yield fake


def discord_as(project: Project, fake: FakeDiscord) -> None:
    project.env["DISCORD_URL"] = fake.webhook_url
    project.write_config(ENGINE + '\n[channels.discord]\ntype = "discord"\nwebhook_url = "${DISCORD_URL}"\n'
                         f'api_url = "{fake.api_url}"\n')


def discord_unknown_follow_up(project: Project, fake: FakeDiscord) -> tuple[str, DiscordMessage]:
    """An incident whose second update went up with its answer lost (unknown): its id, and that message."""
    code, out = project.cli_json("post", "--yes", "--title", "API errors", "Errors on the API.")
    assert code == 0, out
    incident = str(out["incident_id"])
    fake.fail(Fault(match="/webhooks/", reset_after=True, when=lambda r: r.method == "POST"))
    code, out = project.cli_json("post", "--yes", "-i", incident, "-s", "identified", "Cause found.")
    assert code == 3, out
    return incident, fake.messages[-1]


def another_webhooks(fake: FakeDiscord, channel: str = "") -> DiscordMessage:
    """A message another webhook (a bot, another tool) posted into the same channel."""
    fake.other_webhooks["555555555555555555"] = "U" * 68
    message = DiscordMessage("1299999999999999999", channel or fake.channel_id, {"content": "hi"},
                             webhook_id="555555555555555555")
    fake.messages.append(message)
    return message


@pytest.mark.parametrize("site", ["https://discord.com", "https://discordapp.com", "https://ptb.discord.com",
                                  "https://canary.discord.com", "HTTPS://Discord.com"])
def test_discord_its_copy_message_link_is_taken(project: Project, discord: FakeDiscord, site: str) -> None:
    incident, own = discord_unknown_follow_up(project, discord)
    code, said = marked(project, incident, f"discord={site}/channels/{GUILD}/{discord.channel_id}/{own.id}")
    assert code == 0, said
    assert deliveries(project, incident, "discord")[-1]["remote_id"] == f"{own.id}@{discord.webhook_id}"


def test_discord_a_bare_id_of_its_own_message_is_recorded_with_its_webhook(
        project: Project, discord: FakeDiscord) -> None:
    incident, own = discord_unknown_follow_up(project, discord)
    code, said = marked(project, incident, f"discord={own.id}")
    assert code == 0, said
    assert deliveries(project, incident, "discord")[-1]["remote_id"] == f"{own.id}@{discord.webhook_id}"


def test_discord_another_webhooks_message_is_refused(project: Project, discord: FakeDiscord) -> None:
    incident, _ = discord_unknown_follow_up(project, discord)
    stranger = another_webhooks(discord)
    for given in (stranger.id, f"https://discord.com/channels/{GUILD}/{discord.channel_id}/{stranger.id}"):
        code, said = marked(project, incident, f"discord={given}")
        assert code == 2 and "nothing was stored" in said and "this webhook" in said, said
    assert deliveries(project, incident, "discord")[-1]["state"] == "unknown"


def test_discord_a_message_that_is_not_there_is_refused(project: Project, discord: FakeDiscord) -> None:
    incident, _ = discord_unknown_follow_up(project, discord)
    code, said = marked(project, incident, "discord=1234567890123456789")
    assert code == 2 and "nothing was stored" in said, said


@pytest.mark.parametrize("written", [
    "https://discord.com/channels/811111111111111111/{ch}/{m}",  # another guild
    "https://discord.com/channels/@me/{ch}/{m}",                  # a direct message
    "https://discord.com/channels/{g}/977777777777777777/{m}",   # another channel (or a thread not this incident's)
    "see https://discord.com/channels/{g}/{ch}/{m}",
    "https://discord.com/channels/{g}/{ch}/{m}/../1200000000000000001",
    "https://discord.com.evil.example/channels/{g}/{ch}/{m}",
    "https://discord.com/channels/{g}/{ch}/{m}\u200b",
    "https://discord.com/channels/{g}/{ch}/\x1b{m}",
    "https://discord.com/channels/{g}/{ch}/{m}\uff10",
    "\uff11{m}",
])
def test_discord_what_names_no_message_of_this_incident_is_refused(
        project: Project, discord: FakeDiscord, written: str) -> None:
    incident, own = discord_unknown_follow_up(project, discord)
    given = written.format(g=GUILD, ch=discord.channel_id, m=own.id)
    code, said = marked(project, incident, f"discord={given}")
    assert code == 2 and "unexpected" not in said, said
    assert deliveries(project, incident, "discord")[-1]["state"] == "unknown"


def test_discord_a_message_in_another_incidents_forum_post_is_refused(project: Project) -> None:
    with FakeDiscord(forum=True) as forum:
        discord_as(project, forum)
        incident, own = discord_unknown_follow_up(project, forum)
        code, out = project.cli_json("post", "--yes", "--title", "Web down", "-C", "web", "The website is down.")
        assert code == 0, out
        other_post = forum.messages[-1]
        assert other_post.channel_id == other_post.id  # a forum post of its own
        link = f"https://discord.com/channels/{GUILD}/{other_post.channel_id}/{other_post.id}"
        code, said = marked(project, incident, f"discord={link}")
        assert code == 2 and "nothing was stored" in said, said
        # Its own message, but the link names the forum itself as its place: Discord never copies such a link.
        code, said = marked(project, incident, f"discord=https://discord.com/channels/{GUILD}/{forum.channel_id}/{own.id}")
        assert code == 2 and "no message" in said, said
        code, said = marked(project, incident, f"discord=https://discord.com/channels/{GUILD}/{own.channel_id}/{own.id}")
        assert code == 0, said
        assert deliveries(project, incident, "discord")[-1]["remote_id"] == \
            f"{own.channel_id}:{own.id}@{forum.webhook_id}"
