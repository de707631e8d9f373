"""Review 61b: `withdraw --dry-run` promised to delete posts the withdrawal then refused to delete.

After a table moved to another Mastodon instance, another X account or another Bluesky account (or a Discord
webhook was replaced), the dry run listed the old instance's or account's posts under what it "deletes", and exited
0 with nothing left up; the real run refused them ("made by another account ... delete it by hand") and exited 3.
An operator deciding whether to withdraw a leaked post relies on the dry run. Now the channel's
``not_deletable_here`` decides for both: the dry run lists those posts under "Left up", with why and the link to
delete them by hand, and the real run refuses the same ones, saying the same.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Project
from tests.fakes.bluesky import DID, FakeBluesky
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.slack import FakeSlack
from tests.fakes.twitter import FakeX
from tests.social import B_PASSWORD
from tests.test_review19_channels_a import NEW_URL, OwningDiscord, _discord_config
from tests.test_review55a import TOKEN as SLACK_TOKEN
from tests.test_review55a import _slack_config
from tests.test_review56b import (  # noqa: F401 - sky and two_instances are fixtures
    OTHER_DID,
    OTHER_PASSWORD,
    X_KEYS,
    bluesky_as,
    mastodon_on,
    post,
    sky,
    two_instances,
    x_as,
)


def dry_run(project: Project, incident_id: str) -> tuple[dict[str, Any], str]:
    """The dry run's --json and its text, each exiting 0 (nothing stored or sent)."""
    as_json = project.cli("withdraw", "--dry-run", "--json", incident_id, "--reason", "Posted in error.")
    assert as_json.exit_code == 0, as_json.output
    text = project.cli("withdraw", "--dry-run", incident_id, "--reason", "Posted in error.")
    assert text.exit_code == 0, text.output
    return json.loads(as_json.stdout), " ".join(text.output.split())


def withdrawn(project: Project, incident_id: str, name: str) -> tuple[int, dict[str, Any]]:
    """The real run's exit code and its delivery at ``name``."""
    result = project.cli("withdraw", "--yes", "--json", incident_id, "--reason", "Posted in error.")
    found = json.loads(result.stdout)
    return result.exit_code, next(d for d in found["deliveries"] if d["destination"] == name)


def deletes(found: dict[str, Any], name: str) -> list[str]:
    return list(next(d for d in found["deliveries"] if d["destination"] == name)["deletes"])


def left_up(found: dict[str, Any]) -> dict[str, str]:
    """The dry run's posts left up: each remote id, with what it says of it."""
    return {d["remote_id"]: d["error"] for d in found["in_doubt"]}


# -- X: the access token changed to another account's ------------------------------------------------------------


@pytest.fixture
def x() -> Iterator[FakeX]:
    with FakeX(consumer_key=X_KEYS["X_CONSUMER_KEY"], consumer_secret=X_KEYS["X_CONSUMER_SECRET"],
               access_token_secret=X_KEYS["X_ACCESS_TOKEN_SECRET"]) as fake:
        yield fake


def test_the_dry_run_leaves_up_the_posts_of_the_x_account_the_token_moved_from(project: Project, x: FakeX) -> None:
    x_as(project, x, "1585-at-Yt6Hv3QaZ")
    first = post(project, "--title", "API errors", "Elevated errors.")
    x_as(project, x, "2718-at-Other8Acct")
    post(project, "-i", first["incident_id"], "-s", "identified", "Cause found.")
    old, new = x.tweets
    found, said = dry_run(project, first["incident_id"])
    assert deletes(found, "x") == [f"{new.id}@2718"], found
    (why,) = left_up(found).values()
    assert list(left_up(found)) == [f"{old.id}@1585"], found
    assert "user id is 1585" in why and f"https://x.com/i/status/{old.id}" in why and "by hand" in why, why
    assert "Left up: 1 post(s)" in said and f"{old.id}@1585" in said.partition("Left up")[2], said
    assert f"{old.id}@1585" not in said.partition("deletes its")[2].partition("──")[0], said

    code, delivery = withdrawn(project, first["incident_id"], "x")
    assert code == 3 and delivery["state"] == "failed", delivery  # as the dry run said
    assert [t.id for t in x.tweets] == [old.id]  # the new account's post deleted, as the dry run said
    assert why.rpartition(": X post ")[2] in delivery["error"], (why, delivery["error"])


# -- Mastodon: instance_url changed to another server ------------------------------------------------------------


def test_the_dry_run_leaves_up_the_statuses_of_the_instance_the_table_moved_from(
        project: Project, two_instances: tuple[FakeMastodon, FakeMastodon]) -> None:  # noqa: F811
    old, new = two_instances
    mastodon_on(project, "old.example", old)
    first = post(project, "--title", "API errors", "Elevated errors.")
    (status,) = old.posted
    mastodon_on(project, "mastodon.example", new)
    found, said = dry_run(project, first["incident_id"])
    assert deletes(found, "masto") == [], found
    why = left_up(found)[f"{status.id}@{status.account_id}@old.example"]
    assert f"https://old.example/web/statuses/{status.id}" in why and "by hand on old.example" in why, why
    assert "deletes its" not in said and "Left up: 1 post(s)" in said, said
    assert "left up" in next(d for d in found["deliveries"] if d["destination"] == "masto")["reason"], found

    code, delivery = withdrawn(project, first["incident_id"], "masto")
    assert code == 3 and delivery["state"] == "failed", delivery
    assert old.posted == [status] and not new.received("/api/v1/statuses/")
    assert f"https://old.example/web/statuses/{status.id}" in delivery["error"], delivery


# -- Bluesky: handle changed to another account ------------------------------------------------------------------


def test_the_dry_run_leaves_up_the_posts_of_the_bluesky_account_the_handle_moved_from(
        project: Project, sky: FakeBluesky) -> None:  # noqa: F811
    """Which account the new handle is, its first follow-up's login learnt (kept in the store)."""
    bluesky_as(project, "acme.bsky.social", B_PASSWORD, sky)
    first = post(project, "--title", "API errors", "Elevated errors.")
    bluesky_as(project, "acme-incidents.bsky.social", OTHER_PASSWORD, sky)
    post(project, "-i", first["incident_id"], "-s", "identified", "Cause found.")
    one, two = sky.posted
    found, said = dry_run(project, first["incident_id"])
    assert deletes(found, "sky") == [f"{two.uri}#{two.cid}"], found
    why = left_up(found)[f"{one.uri}#{one.cid}"]
    assert DID in why and f"https://bsky.app/profile/{DID}/post/{one.rkey}" in why and "by hand" in why, why
    assert "Left up: 1 post(s)" in said, said

    code, delivery = withdrawn(project, first["incident_id"], "sky")
    assert code == 3 and delivery["state"] == "failed", delivery
    assert sky.posted == [one] and f"https://bsky.app/profile/{DID}/post/{one.rkey}" in delivery["error"], delivery


def test_before_the_new_handles_first_login_the_dry_run_says_the_post_may_be_left_up(
        project: Project, sky: FakeBluesky) -> None:  # noqa: F811
    """No login has told which account the new handle is (a dry run logs in nowhere): it cannot know whether the
    post is that account's (a handle renamed keeps its DID), and says so, with the link, rather than promise."""
    bluesky_as(project, "acme.bsky.social", B_PASSWORD, sky)
    first = post(project, "--title", "API errors", "Elevated errors.")
    (one,) = sky.posted
    bluesky_as(project, "acme-incidents.bsky.social", OTHER_PASSWORD, sky)
    logins = sky.logins
    found, said = dry_run(project, first["incident_id"])
    assert sky.logins == logins  # nothing asked
    reason = next(d for d in found["deliveries"] if d["destination"] == "sky")["reason"]
    assert "may be left up" in reason and f"https://bsky.app/profile/{DID}/post/{one.rkey}" in reason, found
    assert "may be left up" in said, said

    code, delivery = withdrawn(project, first["incident_id"], "sky")
    assert code == 3 and sky.posted == [one] and OTHER_DID in delivery["error"], delivery


def test_a_handle_renamed_on_the_same_account_is_still_deleted(project: Project, sky: FakeBluesky) -> None:  # noqa: F811
    """The same account under a new handle (its DID kept): nothing refused, nothing left up."""
    bluesky_as(project, "acme.bsky.social", B_PASSWORD, sky)
    first = post(project, "--title", "API errors", "Elevated errors.")
    sky.add_account("status.acme.example", B_PASSWORD, DID)
    bluesky_as(project, "status.acme.example", B_PASSWORD, sky)
    post(project, "-i", first["incident_id"], "-s", "identified", "Cause found.")  # its login learns the DID
    found, _ = dry_run(project, first["incident_id"])
    assert len(deletes(found, "sky")) == 2 and found["in_doubt"] == [], found
    code, delivery = withdrawn(project, first["incident_id"], "sky")
    assert code == 0 and sky.posted == [], delivery


# -- Discord: the webhook replaced --------------------------------------------------------------------------------


def test_the_dry_run_leaves_up_the_messages_of_a_replaced_discord_webhook(project: Project) -> None:
    with OwningDiscord() as discord:
        _discord_config(project, discord)
        first = post(project, "--title", "Login errors", "Logins fail for some users.")
        [message] = discord.messages
        project.env["DISCORD_URL"] = NEW_URL  # the old URL leaked: a new webhook in the same channel
        found, said = dry_run(project, first["incident_id"])
        assert deletes(found, "discord") == [], found
        (why,) = left_up(found).values()
        assert message.id in why and "another webhook" in why and "by hand" in why, why
        assert "Left up: 1 post(s)" in said and "deletes its" not in said, said
        assert NEW_URL not in said and discord.webhook_url not in said

        code, delivery = withdrawn(project, first["incident_id"], "discord")
        assert code == 3 and delivery["state"] == "failed" and discord.messages == [message], delivery


# -- Slack: a table pointed at another channel deletes there all the same -----------------------------------------


def test_slack_still_deletes_in_the_channel_the_table_left_as_its_dry_run_says(project: Project) -> None:
    """Not ``posted_here``: a bot token deletes its own message in a channel the table no longer posts to, so the
    dry run lists it as deleted, and the withdrawal deletes it."""
    with FakeSlack(token=SLACK_TOKEN, channels={"C0PUBLIC01": "status", "C0OTHER001": "status-2"}) as slack:
        project.env["SLACK_TOKEN"] = SLACK_TOKEN
        _slack_config(project, slack, "C0PUBLIC01")
        first = post(project, "--title", "API errors", "Elevated errors.")
        _slack_config(project, slack, "C0OTHER001")
        found, _ = dry_run(project, first["incident_id"])
        (remote_id,) = deletes(found, "status-slack")
        assert remote_id.startswith("C0PUBLIC01:") and found["in_doubt"] == [], found
        code, delivery = withdrawn(project, first["incident_id"], "status-slack")
        assert code == 0 and slack.messages["C0PUBLIC01"] == [] and len(slack.deleted) == 1, delivery
