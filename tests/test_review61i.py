"""Review 61i: a post of another account taken for this table's own.

Mastodon: after access_token was changed to another account's token on the same instance, a follow-up replied under
the old account's status (ids named the instance, not the account), a correction tried to edit it (Mastodon: 404,
"another account posted it", failed for good) and withdraw asked to delete it. X and Bluesky: `retry
--mark-unknown-sent --remote-id` took another account's post as this table's, and later updates threaded under a
stranger's post (X) or the stranger was found out only at the next update (Bluesky).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Project
from tests.fakes.base import Fault
from tests.fakes.bluesky import DID, FakeBluesky, Post
from tests.fakes.mastodon import FakeMastodon, Status
from tests.fakes.twitter import FIRST_ID, FakeTweet, FakeX
from tests.social import B_PASSWORD, M_TOKEN
from tests.test_review56b import (  # noqa: F401 - sky is a fixture
    ENGINE,
    OTHER_DID,
    OTHER_PASSWORD,
    X_KEYS,
    bluesky_as,
    post,
    sky,
    x_as,
)
from tests.test_review57a import mastodon_on

OTHER_TOKEN = "mastodon-other-account-7Qz"  # another account of the same instance
OTHER_ACCOUNT = "2002"


@pytest.fixture
def masto() -> Iterator[FakeMastodon]:
    with FakeMastodon(token=M_TOKEN) as fake:
        fake.add_account(OTHER_TOKEN, OTHER_ACCOUNT, "acme_incidents")
        yield fake


def mastodon_as(project: Project, fake: FakeMastodon, token: str) -> None:
    mastodon_on(project, "https://mastodon.example", fake, token)


def verifications(fake: FakeMastodon) -> int:
    return len(fake.received("/api/v1/accounts/verify_credentials"))


def command(project: Project, *args: str) -> tuple[int, str]:
    """The real broadcaster in a process of its own, as each command is (what it learnt of a token goes with it)."""
    child = project.process(*args)
    out, err = child.communicate(timeout=120)
    return child.returncode, " ".join((out + err).split())


def test_a_follow_up_from_another_account_of_the_instance_starts_that_accounts_thread(
        project: Project, masto: FakeMastodon) -> None:
    mastodon_as(project, masto, M_TOKEN)
    code, said = command(project, "post", "--yes", "--title", "API errors", "Elevated errors.")
    assert code == 0 and verifications(masto) == 0, said  # an incident's first post asks nothing more
    incident_id = shown_incident(project)
    mastodon_as(project, masto, OTHER_TOKEN)
    code, said = command(project, "post", "--yes", "-i", incident_id, "-s", "identified", "Cause found.")
    assert code == 0 and "starts the incident's thread on this account" in said, said
    one, two = masto.posted
    assert two.account_id == OTHER_ACCOUNT
    assert two.in_reply_to_id is None, "replied under the old account's status"
    code, said = command(project, "post", "--yes", "-i", incident_id, "-s", "monitoring", "A fix is out.")
    assert code == 0, said
    assert masto.posted[-1].in_reply_to_id == two.id  # the new account's thread goes on
    assert verifications(masto) == 2  # one per command that threads


def shown_incident(project: Project) -> str:
    result = project.cli("list", "--json")
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    return str((listed["incidents"] if isinstance(listed, dict) else listed)[0]["id"])


def test_a_correction_from_another_account_is_posted_anew_and_the_original_left_alone(
        project: Project, masto: FakeMastodon) -> None:
    mastodon_as(project, masto, M_TOKEN)
    first = post(project, "--title", "API errors", "Elevated errors.")
    mastodon_as(project, masto, OTHER_TOKEN)
    result = project.cli("amend", "--yes", "--json", first["incident_id"], "1", "Elevated errors on the EU cluster.")
    assert result.exit_code == 0, result.output
    original, correction = masto.posted
    assert "EU cluster" not in original.text and not original.history
    assert correction.account_id == OTHER_ACCOUNT and "EU cluster" in correction.text
    assert correction.in_reply_to_id is None
    assert not [r for r in masto.requests if r.method == "PUT"], "asked to edit another account's status"
    said = " ".join(result.output.split())
    assert "by hand" in said and "1001" in said, said


def test_a_withdrawal_from_another_account_says_the_old_accounts_statuses_are_to_delete_by_hand(
        project: Project, masto: FakeMastodon) -> None:
    mastodon_as(project, masto, M_TOKEN)
    first = post(project, "--title", "API errors", "Elevated errors.")
    mastodon_as(project, masto, OTHER_TOKEN)
    code, said = command(project, "withdraw", "--dry-run", first["incident_id"], "--reason", "Posted in error.")
    assert code == 0 and "by hand" in said and "may be left up" not in said, said
    assert verifications(masto) == 1
    code, said = command(project, "withdraw", "--yes", first["incident_id"], "--reason", "Posted in error.")
    assert code == 3, said
    assert "by hand" in said and "1001" in said and "another account" in said, said
    assert not [r for r in masto.requests if r.method == "DELETE"], "asked to delete another account's status"
    assert len(masto.posted) == 1
    assert verifications(masto) == 2  # its preview's answer serves the withdrawal of the same command


def test_the_same_accounts_withdrawal_deletes_after_one_question(project: Project, masto: FakeMastodon) -> None:
    mastodon_as(project, masto, M_TOKEN)
    first = post(project, "--title", "API errors", "Elevated errors.")
    code, said = command(project, "post", "--yes", "-i", first["incident_id"], "-s", "identified", "Cause found.")
    assert code == 0, said
    code, said = command(project, "withdraw", "--yes", first["incident_id"], "--reason", "Posted in error.")
    assert code == 0, said
    assert masto.posted == [] and verifications(masto) == 2  # the follow-up's command, then the withdrawal's


def test_ids_stored_before_ids_named_the_account_still_thread_and_are_edited(
        project: Project, masto: FakeMastodon) -> None:
    mastodon_as(project, masto, M_TOKEN)
    first = post(project, "--title", "API errors", "Elevated errors.")
    with sqlite3.connect(project.root / ".broadcaster" / "state.db") as db:  # as stored before: <status>@<instance>
        db.execute("UPDATE deliveries SET remote_id = substr(remote_id, 1, instr(remote_id, '@')) || 'mastodon.example',"
                   " thread_ref = substr(thread_ref, 1, instr(thread_ref, '@')) || 'mastodon.example'"
                   " WHERE destination = 'masto'")
    post(project, "-i", first["incident_id"], "-s", "identified", "Cause found.")
    one, two = masto.posted
    assert two.in_reply_to_id == one.id
    result = project.cli("amend", "--yes", first["incident_id"], "1", "Elevated errors on the EU cluster.")
    assert result.exit_code == 0, result.output
    assert "EU cluster" in one.text and len(masto.posted) == 2


def test_a_token_that_may_not_read_its_account_threads_as_before(project: Project, masto: FakeMastodon) -> None:
    """write:statuses alone is all a table needs: verify_credentials refused (403), a follow-up replies as it did."""
    masto.write_only.add(M_TOKEN)
    mastodon_as(project, masto, M_TOKEN)
    code, said = command(project, "post", "--yes", "--title", "API errors", "Elevated errors.")
    assert code == 0, said
    code, said = command(project, "post", "--yes", "-i", shown_incident(project), "-s", "identified", "Cause found.")
    assert code == 0, said
    one, two = masto.posted
    assert two.in_reply_to_id == one.id and verifications(masto) == 1


# -- X: retry --mark-unknown-sent --remote-id of another account's post ------------------------------------------


@pytest.fixture
def x() -> Iterator[FakeX]:
    with FakeX(consumer_key=X_KEYS["X_CONSUMER_KEY"], consumer_secret=X_KEYS["X_CONSUMER_SECRET"],
               access_token_secret=X_KEYS["X_ACCESS_TOKEN_SECRET"]) as fake:
        yield fake


def x_unknown_follow_up(project: Project, x: FakeX) -> str:
    """An incident whose second update's post went up with its answer lost: unknown."""
    first = post(project, "--title", "API errors", "Elevated errors.")
    x.fail(Fault(match="/2/tweets", reset_after=True))
    result = project.cli("post", "--yes", "--json", "-i", first["incident_id"], "-s", "identified", "Cause found.")
    assert result.exit_code == 3, result.output
    return str(first["incident_id"])


def a_strangers_post(x: FakeX) -> FakeTweet:
    stranger = FakeTweet(str(FIRST_ID + 777), "A stranger's lunch photo.", None, "oauth1", author_id="9999")
    x.tweets.append(stranger)
    return stranger


@pytest.mark.parametrize("written", ["https://x.com/someone/status/{id}", "{id}", "{id}@1585"])
def test_an_x_post_of_another_account_is_refused_by_retry(project: Project, x: FakeX, written: str) -> None:
    x_as(project, x, "1585-at-Yt6Hv3QaZ")
    incident_id = x_unknown_follow_up(project, x)
    stranger = a_strangers_post(x)
    given = written.format(id=stranger.id)
    result = project.cli("retry", incident_id, "--mark-unknown-sent", "--remote-id", f"x={given}")
    said = " ".join(result.output.split())
    assert result.exit_code == 2, said
    assert "9999" in said and "1585" in said and "nothing was stored" in said, said
    assert x_deliveries(project, incident_id)[-1]["state"] == "unknown"


def test_the_accounts_own_post_is_taken_by_retry_after_asking_x(project: Project, x: FakeX) -> None:
    x_as(project, x, "1585-at-Yt6Hv3QaZ")
    incident_id = x_unknown_follow_up(project, x)
    own = x.tweets[-1]
    result = project.cli("retry", incident_id, "--mark-unknown-sent", "--remote-id",
                         f"x=https://x.com/acme_status/status/{own.id}")
    assert result.exit_code == 0, result.output
    assert x_deliveries(project, incident_id)[-1]["remote_id"] == f"{own.id}@1585"
    assert x.received(f"/2/tweets/{own.id}")


def test_a_post_x_does_not_have_is_refused_by_retry(project: Project, x: FakeX) -> None:
    x_as(project, x, "1585-at-Yt6Hv3QaZ")
    incident_id = x_unknown_follow_up(project, x)
    result = project.cli("retry", incident_id, "--mark-unknown-sent", "--remote-id", f"x={FIRST_ID + 4242}")
    assert result.exit_code == 2 and "X has no post" in result.output, result.output


def test_with_a_bearer_token_x_says_whose_token_it_is(project: Project, x: FakeX) -> None:
    project.write_config(ENGINE + f"""
        [channels.x]
        type = "twitter"
        bearer_token = "${{X_USER_TOKEN}}"
        api_url = "{x.api_url}"
    """)
    project.env["X_USER_TOKEN"] = x.bearer_token
    incident_id = x_unknown_follow_up(project, x)
    stranger = a_strangers_post(x)
    refused = project.cli("retry", incident_id, "--mark-unknown-sent", "--remote-id", f"x={stranger.id}")
    assert refused.exit_code == 2 and "9999" in refused.output, refused.output
    result = project.cli("retry", incident_id, "--mark-unknown-sent", "--remote-id", f"x={x.tweets[-2].id}")
    assert result.exit_code == 0, result.output


def x_deliveries(project: Project, incident_id: str) -> list[dict[str, Any]]:
    result = project.cli("show", incident_id, "--json")
    assert result.exit_code == 0, result.output
    return sorted((d for d in json.loads(result.stdout)["deliveries"] if d["destination"] == "x"),
                  key=lambda d: int(d["sequence"]))


# -- Bluesky: retry --mark-unknown-sent --remote-id of another account's post -------------------------------------


def sky_unknown_post(project: Project, fake: FakeBluesky) -> str:
    """An incident whose Bluesky post went up with every answer lost, and the look-ups of its key too: unknown."""
    fake.fail(*[Fault(match="createRecord", reset_after=True)] * 2, *[Fault(match="getRecord", reset=True)] * 4)
    code, out = project.cli_json("post", "--yes", "--title", "API errors", "Elevated errors.")
    assert code == 3, out
    fake.clear_faults()
    return str(out["incident_id"])


def a_post_of_the_other_account(fake: FakeBluesky) -> str:
    """A post the other account made (not through broadcaster): its record key."""
    rkey = "3kzotheracct2"
    fake.posts[rkey] = Post(rkey, f"at://{OTHER_DID}/app.bsky.feed.post/{rkey}", "bafyreifakeother1",
                            {"text": "A stranger's lunch photo.", "createdAt": "2026-12-01T12:00:00Z"})
    return rkey


@pytest.mark.parametrize("written", [
    "https://bsky.app/profile/acme-incidents.bsky.social/post/{rkey}",
    "https://bsky.app/profile/" + OTHER_DID + "/post/{rkey}",
    "at://" + OTHER_DID + "/app.bsky.feed.post/{rkey}",
], ids=["link-by-handle", "link-by-did", "at-uri"])
def test_a_bluesky_post_of_another_account_is_refused_by_retry(project: Project, sky: FakeBluesky,  # noqa: F811
                                                               written: str) -> None:
    bluesky_as(project, "acme.bsky.social", B_PASSWORD, sky)
    incident_id = sky_unknown_post(project, sky)
    rkey = a_post_of_the_other_account(sky)
    refused = project.cli("retry", incident_id, "--mark-unknown-sent", "--remote-id", "sky=" + written.format(rkey=rkey))
    said = " ".join(refused.output.split())
    assert refused.exit_code == 2, said
    assert OTHER_DID in said and "acme.bsky.social" in said and "nothing was stored" in said, said
    assert [d["state"] for d in sky_deliveries(project, incident_id)] == ["unknown"]


def test_the_bluesky_accounts_own_post_is_taken_by_retry_with_its_did(
        project: Project, sky: FakeBluesky) -> None:  # noqa: F811
    bluesky_as(project, "acme.bsky.social", B_PASSWORD, sky)
    incident_id = sky_unknown_post(project, sky)
    [made] = sky.posted
    result = project.cli("retry", incident_id, "--mark-unknown-sent", "--remote-id",
                         f"sky=https://bsky.app/profile/acme.bsky.social/post/{made.rkey}")
    assert result.exit_code == 0, result.output
    assert sky_deliveries(project, incident_id)[0]["remote_id"] == f"at://{DID}/app.bsky.feed.post/{made.rkey}"


def test_a_bluesky_post_that_is_not_there_is_refused_by_retry(
        project: Project, sky: FakeBluesky) -> None:  # noqa: F811
    bluesky_as(project, "acme.bsky.social", B_PASSWORD, sky)
    incident_id = sky_unknown_post(project, sky)
    refused = project.cli("retry", incident_id, "--mark-unknown-sent", "--remote-id",
                          "sky=https://bsky.app/profile/acme.bsky.social/post/3kzzzzzzzzzzz")
    assert refused.exit_code == 2 and "Bluesky has no post" in refused.output, refused.output


def sky_deliveries(project: Project, incident_id: str) -> list[dict[str, Any]]:
    result = project.cli("show", incident_id, "--json")
    assert result.exit_code == 0, result.output
    return [d for d in json.loads(result.stdout)["deliveries"] if d["destination"] == "sky"]


# -- Mastodon: retry --mark-unknown-sent --remote-id of another account's status on the instance -----------------


def test_a_mastodon_status_of_another_account_of_the_instance_is_refused_by_retry(
        project: Project, masto: FakeMastodon) -> None:
    mastodon_as(project, masto, M_TOKEN)
    first = post(project, "--title", "API errors", "Elevated errors.")
    masto.fail(*[Fault(match="/api/v1/statuses", reset_after=True)] * 2)
    result = project.cli("post", "--yes", "--json", "-i", first["incident_id"], "-s", "identified", "Cause found.")
    assert result.exit_code == 3, result.output
    theirs = Status("112233445566799999", "A stranger's lunch photo.", "public", None, "", account_id=OTHER_ACCOUNT)
    masto.statuses[theirs.id] = theirs
    refused = project.cli("retry", first["incident_id"], "--mark-unknown-sent", "--remote-id",
                          f"masto=https://mastodon.example/@acme_incidents/{theirs.id}")
    said = " ".join(refused.output.split())
    assert refused.exit_code == 2 and OTHER_ACCOUNT in said and "1001" in said, said
    own = masto.posted[1]
    result = project.cli("retry", first["incident_id"], "--mark-unknown-sent", "--remote-id",
                         f"masto=https://mastodon.example/@acmestatus/{own.id}")
    assert result.exit_code == 0, result.output
