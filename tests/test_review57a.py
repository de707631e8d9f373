"""Review 57a: remote ids that name their place (Mastodon's instance, X's account, Bluesky's DID), attacked
through the CLI and the fakes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Project
from tests.fakes.base import Fault
from tests.fakes.bluesky import DID, FakeBluesky
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.twitter import FakeX
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


def deliveries(project: Project, incident_id: str) -> list[dict[str, Any]]:
    result = project.cli("show", incident_id, "--json")
    assert result.exit_code == 0, result.output
    return sorted((d for d in json.loads(result.stdout)["deliveries"] if d["destination"] != "site"),
                  key=lambda d: int(d["sequence"]))


# -- Mastodon ----------------------------------------------------------------------------------------------


@pytest.fixture
def masto() -> Iterator[FakeMastodon]:
    with FakeMastodon(token=M_TOKEN) as fake:
        yield fake


def mastodon_on(project: Project, instance_url: str, fake: FakeMastodon, token: str = M_TOKEN) -> None:
    project.write_config(ENGINE + f"""
        [channels.masto]
        type = "mastodon"
        instance_url = "{instance_url}"
        access_token = "${{MASTODON_TOKEN}}"
        api_url = "{fake.url}"
    """)
    project.env["MASTODON_TOKEN"] = token


def unknown_follow_up(project: Project, fake: FakeMastodon, match: str = "/api/v1/statuses") -> str:
    """An incident whose second update's status went up with its answer lost, twice: unknown."""
    first = post(project, "--title", "API errors", "Elevated errors.")
    fake.fail(Fault(match=match, reset_after=True), Fault(match=match, reset_after=True))
    result = project.cli("post", "--yes", "--json", "-i", first["incident_id"], "-s", "identified", "Cause found.")
    assert result.exit_code == 3, result.output
    return str(first["incident_id"])


def test_a_mastodon_id_as_broadcaster_shows_it_is_taken_back_by_retry(project: Project, masto: FakeMastodon) -> None:
    """`show`, `--json` and the advice after a result the store could not keep print a status's id as
    <status id>@<instance>: given back to `retry --mark-unknown-sent --remote-id`, it was refused as no status."""
    mastodon_on(project, "https://mastodon.example", masto)
    incident_id = unknown_follow_up(project, masto)
    status = masto.posted[-1]
    result = project.cli("retry", incident_id, "--mark-unknown-sent", "--remote-id",
                         f"masto={status.id}@mastodon.example")
    assert result.exit_code == 0, result.output
    assert deliveries(project, incident_id)[-1]["remote_id"] == f"{status.id}@{status.account_id}@mastodon.example"


def test_a_mastodon_id_of_another_instance_is_refused(project: Project, masto: FakeMastodon) -> None:
    """A status's link or id from another server names another status here (each server numbers its own): taken
    as this instance's, later updates replied to a stranger's status and a correction edited it."""
    mastodon_on(project, "https://mastodon.example", masto)
    incident_id = unknown_follow_up(project, masto)
    status = masto.posted[-1]
    for given in (f"https://other.example/@acme/{status.id}", f"{status.id}@other.example"):
        result = project.cli("retry", incident_id, "--mark-unknown-sent", "--remote-id", f"masto={given}")
        assert result.exit_code == 2, result.output
        assert "other.example" in result.output and "mastodon.example" in result.output, result.output
    assert deliveries(project, incident_id)[-1]["state"] == "unknown"


@pytest.mark.parametrize(("written_first", "written_then"), [
    ("https://mastodon.example", "https://mastodon.example:443"),
    ("https://mastodon.example", "https://mastodon.example./"),
    ("https://mastodon.example", "https://Mastodon.Example:443/"),
    ("https://bücher.example", "https://xn--bcher-kva.example"),
])
def test_the_same_instance_written_otherwise_still_deletes_its_statuses(
        project: Project, masto: FakeMastodon, written_first: str, written_then: str) -> None:
    """The default port, a trailing dot, an IDN host in its other spelling: the same server, yet the ids named
    another, and withdraw refused to delete the statuses ("a status on mastodon.example:443 ... delete it by hand"):
    they stayed up."""
    mastodon_on(project, written_first, masto)
    first = post(project, "--title", "API errors", "Elevated errors.")
    mastodon_on(project, written_then, masto)
    post(project, "-i", first["incident_id"], "-s", "identified", "Cause found.")
    one, two = masto.posted
    assert two.in_reply_to_id == one.id
    result = project.cli("withdraw", "--yes", first["incident_id"], "--reason", "Posted in error.")
    assert result.exit_code == 0, result.output
    assert masto.posted == []


def test_an_instance_url_with_an_empty_user_and_a_password_is_refused(project: Project, masto: FakeMastodon) -> None:
    """`https://:pw@host` passed the check of credentials in an address (its user is ""): its password was written
    into every status's remote id (`show`, exports) and the ids, with two "@", were said "not a status id"."""
    mastodon_on(project, "https://:hunter2-pw@mastodon.example", masto)
    result = project.cli("post", "--yes", "--title", "API errors", "Elevated errors.")
    assert result.exit_code == 2, result.output
    assert "hunter2-pw" not in result.output and masto.posted == []


# -- X --------------------------------------------------------------------------------------------------------


@pytest.fixture
def x() -> Iterator[FakeX]:
    with FakeX(consumer_key=X_KEYS["X_CONSUMER_KEY"], consumer_secret=X_KEYS["X_CONSUMER_SECRET"],
               access_token_secret=X_KEYS["X_ACCESS_TOKEN_SECRET"]) as fake:
        yield fake




def test_an_x_id_as_broadcaster_shows_it_is_taken_back_by_retry(project: Project, x: FakeX) -> None:
    """`show` and `--json` print an X post's id as <post id>@<user id>: given back to `retry --mark-unknown-sent
    --remote-id`, it was refused as no X post. Now taken; one of another account refused (later updates would not
    thread under it: ``posted_here``)."""
    x_as(project, x, "1585-at-Yt6Hv3QaZ")
    first = post(project, "--title", "API errors", "Elevated errors.")
    x.fail(Fault(match="/2/tweets", reset_after=True))
    result = project.cli("post", "--yes", "--json", "-i", first["incident_id"], "-s", "identified", "Cause found.")
    assert result.exit_code == 3, result.output
    tweet = x.tweets[-1]
    refused = project.cli("retry", first["incident_id"], "--mark-unknown-sent", "--remote-id", f"x={tweet.id}@2718")
    assert refused.exit_code == 2 and "2718" in refused.output and "1585" in refused.output, refused.output
    assert deliveries(project, first["incident_id"])[-1]["state"] == "unknown"
    result = project.cli("retry", first["incident_id"], "--mark-unknown-sent", "--remote-id", f"x={tweet.id}@1585")
    assert result.exit_code == 0, result.output
    assert deliveries(project, first["incident_id"])[-1]["remote_id"] == f"{tweet.id}@1585"


def test_a_withdrawal_after_the_token_moved_to_another_account_says_whose_posts_stay(project: Project, x: FakeX) -> None:
    """X lets only the account that posted it delete a post: after access_token was changed to another account's,
    withdraw asked X to delete the old account's posts, was answered 403, and said to check the app's permissions
    and the account's standing (each `retry` asking again). It now says whose posts they are, to delete by hand."""
    x_as(project, x, "1585-at-Yt6Hv3QaZ")
    first = post(project, "--title", "API errors", "Elevated errors.")
    x_as(project, x, "2718-at-Other8Acct")
    x.undeletable = {t.id for t in x.tweets}  # X refuses another account's post to this token
    result = project.cli("withdraw", "--yes", first["incident_id"], "--reason", "Posted in error.")
    assert result.exit_code == 3, result.output
    said = " ".join(result.output.split())
    assert "user id is 1585" in said and "by hand" in said and "permissions" not in said, said
    assert not x.received("/2/tweets/"), "asked X to delete another account's post"


def test_a_post_stored_before_ids_named_the_account_is_said_to_be_anothers_when_x_refuses(
        project: Project, x: FakeX) -> None:
    """An id stored before (no account in it) of a post the old account made: X's 403 read as the app's
    permissions."""
    x_as(project, x, "fake-token-no-user-id")  # not OAuth 1.0a shaped: ids name no account, as before
    first = post(project, "--title", "API errors", "Elevated errors.")
    assert "@" not in deliveries(project, first["incident_id"])[0]["remote_id"]
    x.undeletable = {t.id for t in x.tweets}
    result = project.cli("withdraw", "--yes", first["incident_id"], "--reason", "Posted in error.")
    assert result.exit_code == 3, result.output
    said = " ".join(result.output.split())
    assert "another account" in said and "by hand" in said and "permissions" not in said, said


# -- Bluesky ------------------------------------------------------------------------------------------------

# The other account, and a table posting as one or the other: review 56b's.


def test_a_withdrawal_after_the_handle_moved_to_another_account_says_whose_posts_stay(
        project: Project, sky: FakeBluesky) -> None:  # noqa: F811
    bluesky_as(project, "acme.bsky.social", B_PASSWORD, sky)
    first = post(project, "--title", "API errors", "Elevated errors.")
    bluesky_as(project, "acme-incidents.bsky.social", OTHER_PASSWORD, sky)
    result = project.cli("withdraw", "--yes", first["incident_id"], "--reason", "Posted in error.")
    """Only the account that posted it may delete a Bluesky post: after handle was changed to another account,
    withdraw asked the PDS to delete the old account's posts and, refused, said to check handle and the app
    password (which were right), each `retry` asking again. It now says whose posts they are, to delete by hand."""
    said = " ".join(result.output.split())
    assert result.exit_code == 3, said
    assert DID in said and "by hand" in said and "app password" not in said, said
    assert not sky.received("deleteRecord") and len(sky.posted) == 1


def test_a_handle_moved_to_another_account_starts_that_accounts_thread_and_leaves_the_old_posts_to_delete(
        project: Project, sky: FakeBluesky) -> None:  # noqa: F811
    """The handle itself now names another account (a domain handle moved): the DID remembered for it is the old
    account's until the next login tells otherwise."""
    bluesky_as(project, "acme.bsky.social", B_PASSWORD, sky)
    first = post(project, "--title", "API errors", "Elevated errors.")
    sky.add_account("acme.bsky.social", OTHER_PASSWORD, OTHER_DID)  # the handle moved to another account
    bluesky_as(project, "acme.bsky.social", OTHER_PASSWORD, sky)
    post(project, "-i", first["incident_id"], "-s", "identified", "Cause found.")
    one, two = sky.posted
    assert two.uri.startswith(f"at://{OTHER_DID}/") and two.reply is None, two.reply
    result = project.cli("withdraw", "--yes", first["incident_id"], "--reason", "Posted in error.")
    said = " ".join(result.output.split())
    assert result.exit_code == 3, said
    assert sky.posted == [one] and DID in said and "by hand" in said, said


# -- digits of another script ----------------------------------------------------------------------------------

FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@pytest.mark.parametrize("script", [FULLWIDTH, ARABIC_INDIC], ids=["fullwidth", "arabic-indic"])
def test_an_x_id_in_digits_of_another_script_is_refused(project: Project, x: FakeX, script: dict[int, str]) -> None:
    """`\\d` takes every script's digits: an id typed with an input method's fullwidth digits was recorded, and
    every later update to X failed for good (X: "is not a Tweet id"; the advice: "Fix the message")."""
    x_as(project, x, "1585-at-Yt6Hv3QaZ")
    first = post(project, "--title", "API errors", "Elevated errors.")
    x.fail(Fault(match="/2/tweets", reset_after=True))
    result = project.cli("post", "--yes", "--json", "-i", first["incident_id"], "-s", "identified", "Cause found.")
    assert result.exit_code == 3, result.output
    given = x.tweets[-1].id.translate(script)
    refused = project.cli("retry", first["incident_id"], "--mark-unknown-sent", "--remote-id", f"x={given}")
    assert refused.exit_code == 2 and "0-9" in refused.output, refused.output
    assert deliveries(project, first["incident_id"])[-1]["state"] == "unknown"


def test_a_mastodon_id_in_fullwidth_digits_is_refused(project: Project, masto: FakeMastodon) -> None:
    """Taken, the correction of that update was posted as a new status (the status "gone"), the original left
    uncorrected, and the thread started anew."""
    mastodon_on(project, "https://mastodon.example", masto)
    incident_id = unknown_follow_up(project, masto)
    given = masto.posted[-1].id.translate(FULLWIDTH)
    refused = project.cli("retry", incident_id, "--mark-unknown-sent", "--remote-id", f"masto={given}")
    assert refused.exit_code == 2 and "0-9" in refused.output, refused.output
    assert deliveries(project, incident_id)[-1]["state"] == "unknown"
