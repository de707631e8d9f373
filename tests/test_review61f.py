"""Review 61f: a withdrawal's delete that can never succeed could not be settled once the posts were deleted by hand.

After a table moved to another Mastodon instance (another X or Bluesky account, a replaced Discord webhook),
`withdraw` refuses to delete the old one's posts and says to delete them by hand (exit 3). Once the operator had,
nothing settled that delivery: every `retry` (a cron job's too) failed there again and exited 3, and `list` counted
it undelivered, for ever; only putting the old credentials back ended it. `retry ID --mark-deleted DEST[:CHAT]` now
records it done, deleted by hand (said in `show` and `--json`), and every message that sends the operator to delete
by hand names it. It takes only what this table can never delete on the operator's word: a post it can delete
itself is deleted by the same retry first, and a name that matches no such delete is refused, nothing changed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Project
from tests.fakes.base import Fault, Response
from tests.fakes.bluesky import DID, FakeBluesky
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.twitter import FakeX
from tests.pg import PASSWORD_ENV, PgServer, pg_server_fixture  # noqa: F401 - pytest fixture
from tests.social import B_PASSWORD
from tests.test_review19_channels_a import NEW_URL, OwningDiscord, _discord_config
from tests.test_review56b import (  # noqa: F401 - sky and two_instances are fixtures
    OTHER_PASSWORD,
    X_KEYS,
    bluesky_as,
    mastodon_on,
    post,
    sky,
    two_instances,
    x_as,
)

REASON = ("--reason", "Posted in error.")


def moved(project: Project, old: FakeMastodon, new: FakeMastodon, *, follow_up: bool = False) -> str:
    """An incident posted on old.example, its table then moved to mastodon.example (with a follow-up posted there)."""
    mastodon_on(project, "old.example", old)
    incident_id = str(post(project, "--title", "API errors", "Elevated errors.")["incident_id"])
    mastodon_on(project, "mastodon.example", new)
    if follow_up:
        post(project, "-i", incident_id, "-s", "identified", "Cause found.")
    return incident_id


def withdrawn_by_hand(project: Project, old: FakeMastodon, incident_id: str) -> str:
    """Withdraw (refused on the old instance's status, exit 3); the operator deletes it there by hand. What the
    withdrawal said there."""
    result = project.cli("withdraw", "--yes", incident_id, *REASON)
    assert result.exit_code == 3, result.output
    old.statuses.clear()  # deleted by hand, signed in on old.example
    return " ".join(result.output.split())


def deliveries(project: Project, incident_id: str) -> list[dict[str, Any]]:
    shown = project.cli("show", "--json", incident_id)
    assert shown.exit_code == 0, shown.output
    return list(json.loads(shown.stdout)["deliveries"])


def at(project: Project, incident_id: str, name: str) -> dict[str, Any]:
    return [d for d in deliveries(project, incident_id) if d["destination"] == name][-1]


def test_a_delete_only_the_old_instance_could_do_is_recorded_deleted_by_hand(
        project: Project, two_instances: tuple[FakeMastodon, FakeMastodon]) -> None:  # noqa: F811
    old, new = two_instances
    incident_id = moved(project, old, new)
    (status,) = old.posted
    mark = f"broadcaster retry {incident_id} --mark-deleted masto"
    dry = project.cli("withdraw", "--dry-run", incident_id, *REASON)
    assert dry.exit_code == 0 and mark in " ".join(dry.output.split()), dry.output  # the "Left up" line says it
    said = withdrawn_by_hand(project, old, incident_id)
    assert mark in said, said
    assert mark in at(project, incident_id, "masto")["error"]  # and `show`
    again = project.cli("retry", incident_id)
    assert again.exit_code == 3, again.output  # as before: a plain retry cannot delete it

    code, found = project.cli_json("retry", incident_id, "--mark-deleted", "masto")
    assert code == 0, found
    (marked,) = found["marked_deleted"]
    assert marked["state"] == "sent" and "deleted by hand" in marked["error"], marked
    assert f"{status.id}@{status.account_id}@old.example" in marked["error"], marked
    delivery = at(project, incident_id, "masto")
    assert delivery["state"] == "sent" and "deleted by hand" in delivery["error"], delivery
    shown = project.cli("show", incident_id)
    assert "deleted by hand" in " ".join(shown.output.split()), shown.output
    listed = project.cli("list")
    (row,) = [line.split() for line in listed.output.splitlines() if incident_id in line]
    assert row[-1] == "0", listed.output  # undelivered: none
    cron = project.cli("retry")
    assert cron.exit_code == 0, cron.output
    twice = project.cli("retry", incident_id, "--mark-deleted", "masto")
    assert twice.exit_code == 2 and "recorded deleted by hand there already" in twice.output, twice.output
    assert not new.received("/api/v1/statuses/")  # nothing was asked of the new instance for the old status


def test_the_text_says_what_it_recorded(project: Project,
                                        two_instances: tuple[FakeMastodon, FakeMastodon]) -> None:  # noqa: F811
    old, new = two_instances
    incident_id = moved(project, old, new)
    withdrawn_by_hand(project, old, incident_id)
    result = project.cli("retry", incident_id, "--mark-deleted", "masto")
    said = " ".join(result.output.split())
    assert result.exit_code == 0 and "Deleted by hand:" in said and "masto" in said, result.output
    assert "not sent" not in said, said


@pytest.mark.parametrize(("args", "says"), [
    (("--mark-deleted", "mastoo"), "Did you mean 'masto'?"),
    (("--mark-deleted", "ｍａｓｔｏ"), "It accepts: masto."),  # fullwidth: no such destination
    (("--mark-deleted", "masto\u200b"), "Did you mean 'masto'?"),
    (("--mark-deleted", "site"), "It accepts: masto."),  # the site: a rebuild, never a delete by hand
    (("--mark-deleted", "masto", "--skip-removed", "masto"), "choose one"),
])
def test_a_name_that_is_no_such_delete_is_refused_with_nothing_changed(
        project: Project, two_instances: tuple[FakeMastodon, FakeMastodon],  # noqa: F811
        args: tuple[str, ...], says: str) -> None:
    old, new = two_instances
    incident_id = moved(project, old, new)
    withdrawn_by_hand(project, old, incident_id)
    before = deliveries(project, incident_id)
    result = project.cli("retry", incident_id, *args)
    said = " ".join(result.output.split())
    assert result.exit_code == 2 and says in said and "Nothing was recorded or sent." in said, result.output
    assert "\u200b" not in said
    assert deliveries(project, incident_id) == before


def test_it_needs_the_incident(project: Project, two_instances: tuple[FakeMastodon, FakeMastodon]) -> None:  # noqa: F811
    old, new = two_instances
    incident_id = moved(project, old, new)
    withdrawn_by_hand(project, old, incident_id)
    before = deliveries(project, incident_id)
    result = project.cli("retry", "--mark-deleted", "masto")
    assert result.exit_code == 2 and "retry INCIDENT --mark-deleted masto" in result.output, result.output
    assert deliveries(project, incident_id) == before


def test_a_post_still_to_send_is_never_dropped_by_it(project: Project, two_instances: tuple[FakeMastodon, FakeMastodon]) -> None:  # noqa: F811
    """An incident not withdrawn, its public post failed: --mark-deleted refuses, and the post is still to send."""
    _, new = two_instances
    mastodon_on(project, "mastodon.example", new)
    new.fail(*[Fault(match="/api/v1/statuses", response=Response(403, {"error": "This action is not allowed"}))] * 3)
    result = project.cli("post", "--yes", "--json", "--title", "API errors", "Elevated errors.")
    assert result.exit_code == 3, result.output
    incident_id = json.loads(result.stdout)["incident_id"]
    before = deliveries(project, incident_id)
    refused = project.cli("retry", incident_id, "--mark-deleted", "masto")
    assert refused.exit_code == 2 and "is not withdrawn" in refused.output, refused.output
    assert deliveries(project, incident_id) == before
    new.clear_faults()
    assert project.cli("retry", incident_id).exit_code == 0 and len(new.posted) == 1


def test_a_delete_a_plain_retry_finishes_is_not_taken_on_the_operators_word(
        project: Project, two_instances: tuple[FakeMastodon, FakeMastodon]) -> None:  # noqa: F811
    """The withdrawal's delete failed on the table's own instance alone (a 503): nothing there is beyond it."""
    _, new = two_instances
    mastodon_on(project, "mastodon.example", new)
    incident_id = str(post(project, "--title", "API errors", "Elevated errors.")["incident_id"])
    new.fail(*[Fault(match="/api/v1/statuses/", response=Response(503, {"error": "down"}))] * 4)
    assert project.cli("withdraw", "--yes", incident_id, *REASON).exit_code == 3
    new.clear_faults()
    before = deliveries(project, incident_id)
    refused = project.cli("retry", incident_id, "--mark-deleted", "masto")
    assert refused.exit_code == 2 and f"`broadcaster retry {incident_id}` finishes it" in refused.output, refused.output
    assert deliveries(project, incident_id) == before and len(new.posted) == 1  # still up: not recorded deleted


def test_what_the_table_can_delete_is_deleted_first_then_the_rest_recorded(
        project: Project, two_instances: tuple[FakeMastodon, FakeMastodon]) -> None:  # noqa: F811
    """Its follow-up on the new instance failed to delete too (a 503): the same retry deletes it, and records
    the old instance's status deleted by hand; while its delete still fails, nothing is recorded."""
    old, new = two_instances
    incident_id = moved(project, old, new, follow_up=True)
    new.fail(*[Fault(match="/api/v1/statuses/", response=Response(503, {"error": "down"}))] * 20)
    withdrawn_by_hand(project, old, incident_id)
    assert len(new.posted) == 1
    code, found = project.cli_json("retry", incident_id, "--mark-deleted", "masto")
    assert code == 3 and found["marked_deleted"] == [], found
    (left,) = found["not_marked_deleted"]
    assert "can delete itself" in left["why"] and left["state"] == "failed", left
    assert f"{new.posted[0].id}@{new.posted[0].account_id}@mastodon.example" in left["why"] and "old.example" not in left["why"], left
    assert at(project, incident_id, "masto")["state"] == "failed"

    new.clear_faults()
    code, found = project.cli_json("retry", incident_id, "--mark-deleted", "masto")
    assert code == 0 and new.posted == [], found
    (marked,) = found["marked_deleted"]
    assert "1 other post(s) here deleted by broadcaster" in marked["error"], marked
    assert [d["state"] for d in found["deliveries"] if d["destination"] == "masto"] == ["sent"], found


def test_a_replaced_discord_webhooks_message(project: Project) -> None:
    with OwningDiscord() as discord:
        _discord_config(project, discord)
        incident_id = str(post(project, "--title", "Login errors", "Logins fail for some users.")["incident_id"])
        [message] = discord.messages
        project.env["DISCORD_URL"] = NEW_URL
        result = project.cli("withdraw", "--yes", incident_id, *REASON)
        said = " ".join(result.output.split())
        assert result.exit_code == 3 and f"retry {incident_id} --mark-deleted discord" in said, said
        discord.messages.clear()  # deleted by hand in Discord
        code, found = project.cli_json("retry", incident_id, "--mark-deleted", "discord")
        assert code == 0 and message.id in found["marked_deleted"][0]["error"], found
        assert NEW_URL not in json.dumps(found) and discord.webhook_url not in json.dumps(found)


def test_the_old_x_accounts_post(project: Project) -> None:
    with FakeX(consumer_key=X_KEYS["X_CONSUMER_KEY"], consumer_secret=X_KEYS["X_CONSUMER_SECRET"],
               access_token_secret=X_KEYS["X_ACCESS_TOKEN_SECRET"]) as x:
        x_as(project, x, "1585-at-Yt6Hv3QaZ")
        incident_id = str(post(project, "--title", "API errors", "Elevated errors.")["incident_id"])
        x_as(project, x, "2718-at-Other8Acct")
        post(project, "-i", incident_id, "-s", "identified", "Cause found.")
        old, _ = x.tweets
        result = project.cli("withdraw", "--yes", incident_id, *REASON)
        assert result.exit_code == 3 and "--mark-deleted x" in result.output, result.output
        assert [t.id for t in x.tweets] == [old.id]
        x.tweets.clear()  # deleted by hand, signed in as the old account
        code, found = project.cli_json("retry", incident_id, "--mark-deleted", "x")
        assert code == 0 and f"{old.id}@1585" in found["marked_deleted"][0]["error"], found
        assert "1 other post(s) here deleted by broadcaster" in found["marked_deleted"][0]["error"], found


def test_the_old_bluesky_accounts_post(project: Project, sky: FakeBluesky) -> None:  # noqa: F811
    bluesky_as(project, "acme.bsky.social", B_PASSWORD, sky)
    incident_id = str(post(project, "--title", "API errors", "Elevated errors.")["incident_id"])
    (one,) = sky.posted
    bluesky_as(project, "acme-incidents.bsky.social", OTHER_PASSWORD, sky)
    result = project.cli("withdraw", "--yes", incident_id, *REASON)  # its login learns which account it is
    assert result.exit_code == 3 and f"retry {incident_id} --mark-deleted sky" in result.output, result.output
    assert sky.posted == [one]
    # deleted by hand, signed in as the old account (the fake keeps it: broadcaster takes the operator's word)
    code, found = project.cli_json("retry", incident_id, "--mark-deleted", "sky")
    assert code == 0 and one.uri in found["marked_deleted"][0]["error"] and DID in found["marked_deleted"][0]["error"]


@pytest.fixture
def team(project: Project, pg_server: PgServer) -> Iterator[str]:  # noqa: F811
    name = pg_server.create_database()
    project.env[PASSWORD_ENV] = pg_server.password
    try:
        yield f'\n[store]\nurl = "{pg_server.config_url(name)}"\n'
    finally:
        pg_server.drop_database(name)


def test_in_team_mode_too(project: Project, two_instances: tuple[FakeMastodon, FakeMastodon], team: str) -> None:  # noqa: F811
    old, new = two_instances
    mastodon_on(project, "old.example", old)
    project.config.write_text(project.config.read_text(encoding="utf-8") + team, encoding="utf-8")
    incident_id = str(post(project, "--title", "API errors", "Elevated errors.")["incident_id"])
    mastodon_on(project, "mastodon.example", new)
    project.config.write_text(project.config.read_text(encoding="utf-8") + team, encoding="utf-8")
    withdrawn_by_hand(project, old, incident_id)
    assert project.cli("retry", incident_id).exit_code == 3
    code, found = project.cli_json("retry", incident_id, "--mark-deleted", "masto")
    assert code == 0 and found["marked_deleted"][0]["state"] == "sent", found
    assert project.cli("retry").exit_code == 0
