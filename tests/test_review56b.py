"""Review 56b: a follow-up threads under, and a correction edits, only posts made where the table points now.

After a table was changed mid-incident to another instance or account, the next update replied to (and a
correction edited) the post the old one made: a status number of the old Mastodon instance, which on the new one
is another account's status or none; the old Bluesky account's thread; the old X account's post. Each now starts
a new thread where the table points, as Slack and Matrix do.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Project
from tests.fakes.bluesky import DID, FakeBluesky
from tests.fakes.mastodon import FakeMastodon, Status
from tests.fakes.twitter import FakeX
from tests.social import B_PASSWORD, M_TOKEN

ENGINE = """
[engine]
timeout = 10
deadline = 40
max_attempts = 2
"""


def post(project: Project, *args: str) -> dict[str, Any]:
    result = project.cli("post", "--yes", "--json", *args)
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


# -- Mastodon: instance_url changed to another server -------------------------------------------------


@pytest.fixture
def two_instances() -> Iterator[tuple[FakeMastodon, FakeMastodon]]:
    old, new = FakeMastodon(token=M_TOKEN), FakeMastodon(token=M_TOKEN)
    with old, new:
        yield old, new


def mastodon_on(project: Project, host: str, fake: FakeMastodon) -> None:
    project.write_config(ENGINE + f"""
        [channels.masto]
        type = "mastodon"
        instance_url = "https://{host}"
        access_token = "${{MASTODON_TOKEN}}"
        api_url = "{fake.url}"
    """)
    project.env["MASTODON_TOKEN"] = M_TOKEN


def test_a_follow_up_on_another_instance_starts_a_thread_there_never_replying_to_a_stranger(
        project: Project, two_instances: tuple[FakeMastodon, FakeMastodon]) -> None:
    old, new = two_instances
    mastodon_on(project, "old.example", old)
    first = post(project, "--title", "API errors", "Elevated errors.")
    (posted,) = old.posted
    # On the new server, that number is a stranger's status (ids are each server's own).
    new.statuses[posted.id] = Status(posted.id, "A stranger's lunch photo.", "public", None, "")
    new._ids = itertools.count(112233445566790001)  # its own next numbers
    mastodon_on(project, "mastodon.example", new)
    post(project, "-i", first["incident_id"], "-s", "identified", "Cause found.")
    stranger, follow_up = new.posted
    assert follow_up.in_reply_to_id is None, "replied to another account's status on the new instance"
    result = project.cli("amend", "--yes", first["incident_id"], "1", "Elevated errors on the EU cluster.")
    assert result.exit_code == 0, result.output
    assert stranger.text == "A stranger's lunch photo." and not stranger.history
    correction = new.posted[-1]
    assert "EU cluster" in correction.text and correction.in_reply_to_id == follow_up.id
    assert "EU cluster" not in old.posted[0].text  # the old server was not asked to edit either


def test_a_status_of_the_same_instance_still_threads_and_is_edited(
        project: Project, two_instances: tuple[FakeMastodon, FakeMastodon]) -> None:
    old, _ = two_instances
    mastodon_on(project, "mastodon.example", old)
    first = post(project, "--title", "API errors", "Elevated errors.")
    mastodon_on(project, "MASTODON.example", old)  # the same instance, written otherwise
    post(project, "-i", first["incident_id"], "-s", "identified", "Cause found.")
    one, two = old.posted
    assert two.in_reply_to_id == one.id
    result = project.cli("amend", "--yes", first["incident_id"], "1", "Elevated errors on the EU cluster.")
    assert result.exit_code == 0, result.output
    assert "EU cluster" in one.text and len(old.posted) == 2


# -- Bluesky: handle changed to another account --------------------------------------------------------


OTHER_DID = "did:plc:acmeincidents2other4k7q"
OTHER_PASSWORD = "bsky-other-SeCrEt-5e1b"


@pytest.fixture
def sky() -> Iterator[FakeBluesky]:
    fake = FakeBluesky(password=B_PASSWORD)
    fake.add_account("acme-incidents.bsky.social", OTHER_PASSWORD, OTHER_DID)
    with fake:
        yield fake


def bluesky_as(project: Project, handle: str, password: str, fake: FakeBluesky) -> None:
    project.write_config(ENGINE + f"""
        [channels.sky]
        type = "bluesky"
        handle = "{handle}"
        app_password = "${{BSKY_PASSWORD}}"
        api_url = "{fake.url}"
    """)
    project.env["BSKY_PASSWORD"] = password


def test_a_follow_up_from_another_account_starts_its_own_thread(project: Project, sky: FakeBluesky) -> None:
    bluesky_as(project, "acme.bsky.social", B_PASSWORD, sky)
    first = post(project, "--title", "API errors", "Elevated errors.")
    bluesky_as(project, "acme-incidents.bsky.social", OTHER_PASSWORD, sky)
    post(project, "-i", first["incident_id"], "-s", "identified", "Cause found.")
    one, two = sky.posted
    assert one.uri.startswith(f"at://{DID}/") and two.uri.startswith(f"at://{OTHER_DID}/")
    assert two.reply is None, "replied into the old account's thread"
    post(project, "-i", first["incident_id"], "-s", "monitoring", "A fix is out.")
    three = sky.posted[-1]
    assert three.reply is not None and three.reply["root"]["uri"] == two.uri  # the new account's thread goes on
    assert three.reply["parent"]["uri"] == two.uri


def test_a_correction_from_another_account_is_no_reply_to_the_old_accounts_post(project: Project,
                                                                                sky: FakeBluesky) -> None:
    bluesky_as(project, "acme.bsky.social", B_PASSWORD, sky)
    first = post(project, "--title", "API errors", "Elevated errors.")
    bluesky_as(project, "acme-incidents.bsky.social", OTHER_PASSWORD, sky)
    result = project.cli("amend", "--yes", first["incident_id"], "1", "Elevated errors on the EU cluster.")
    assert result.exit_code == 0, result.output
    correction = sky.posted[-1]
    assert correction.uri.startswith(f"at://{OTHER_DID}/") and correction.reply is None


# -- X: the access token changed to another account's --------------------------------------------------


X_KEYS = {"X_CONSUMER_KEY": "ck-Zq81XkTr4nW", "X_CONSUMER_SECRET": "cs-P0w9LmNb2vQ",
          "X_ACCESS_TOKEN_SECRET": "ats-Rr5Ee7Ww1Tt"}


def x_as(project: Project, fake: FakeX, access_token: str) -> None:
    project.write_config(ENGINE + f"""
        [channels.x]
        type = "twitter"
        consumer_key = "${{X_CONSUMER_KEY}}"
        consumer_secret = "${{X_CONSUMER_SECRET}}"
        access_token = "${{X_ACCESS_TOKEN}}"
        access_token_secret = "${{X_ACCESS_TOKEN_SECRET}}"
        api_url = "{fake.api_url}"
    """)
    project.env.update({**X_KEYS, "X_ACCESS_TOKEN": access_token})
    fake.access_token = access_token  # the service takes this account's token


def test_a_follow_up_from_another_x_account_starts_its_own_thread(project: Project) -> None:
    with FakeX(consumer_key=X_KEYS["X_CONSUMER_KEY"], consumer_secret=X_KEYS["X_CONSUMER_SECRET"],
               access_token_secret=X_KEYS["X_ACCESS_TOKEN_SECRET"]) as fake:
        x_as(project, fake, "1585-at-Yt6Hv3QaZ")
        first = post(project, "--title", "API errors", "Elevated errors.")
        x_as(project, fake, "2718-at-Other8Acct")
        post(project, "-i", first["incident_id"], "-s", "identified", "Cause found.")
        one, two = fake.tweets
        assert two.in_reply_to is None, "replied to the old account's post"
        post(project, "-i", first["incident_id"], "-s", "monitoring", "A fix is out.")
        assert fake.tweets[-1].in_reply_to == two.id  # the new account's thread goes on
        x_as(project, fake, "2718-at-Rotated9Q")  # the same account, its token made anew
        post(project, "-i", first["incident_id"], "-s", "monitoring", "Still watching.")
        assert fake.tweets[-1].in_reply_to == fake.tweets[-2].id
