"""Review 65e: a Mastodon correction's preview after access_token changed to another account's, and links an operator
pastes into `retry --remote-id`.

After access_token was changed to another account's on the same instance, `amend --dry-run` (and amend's confirmation)
said the correction edits the status, while the real run posts it anew (only the account that posted a status may edit
it) and says why: the preview now asks which account the token is for, as withdraw's dry run does, and says what the
run does.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import Project
from tests.fakes.base import Fault
from tests.fakes.bluesky import DID, FakeBluesky
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.telegram import FakeTelegram
from tests.fakes.twitter import FakeX
from tests.social import B_PASSWORD, M_TOKEN
from tests.test_confirmation import in_terminal
from tests.test_review56b import OTHER_DID, bluesky_as, post, sky, x_as  # noqa: F401 - sky is a fixture
from tests.test_review61d import name_the_chat, telegram  # noqa: F401 - telegram is a fixture
from tests.test_review61i import (  # noqa: F401 - masto and x are fixtures
    OTHER_TOKEN,
    a_post_of_the_other_account,
    a_strangers_post,
    command,
    masto,
    mastodon_as,
    sky_deliveries,
    sky_unknown_post,
    verifications,
    x,
    x_deliveries,
    x_unknown_follow_up,
)

CORRECTED = "Elevated errors on the EU cluster."


def edits(fake: FakeMastodon) -> list[object]:
    return [r for r in fake.requests if r.method == "PUT"]


def test_an_amend_dry_run_by_another_account_says_the_correction_goes_as_a_new_status(
        project: Project, masto: FakeMastodon) -> None:  # noqa: F811
    mastodon_as(project, masto, M_TOKEN)
    first = post(project, "--title", "API errors", "Elevated errors.")
    mastodon_as(project, masto, OTHER_TOKEN)
    code, said = command(project, "amend", "--dry-run", first["incident_id"], "1", CORRECTED)
    assert code == 0, said
    assert "a new post, not an edit of the original" in said.lower(), said
    assert "1001" in said and "by hand" in said and "https://mastodon.example/web/statuses/" in said, said
    code, said = command(project, "amend", "--dry-run", "--json", first["incident_id"], "1", CORRECTED)
    (masto_entry,) = [d for d in json.loads(said)["deliveries"] if d["destination"] == "masto"]
    assert "1001" in masto_entry["reason"] and "new status" in masto_entry["reason"], masto_entry
    assert len(masto.posted) == 1 and not edits(masto)  # a dry run: nothing sent


def test_the_same_accounts_amend_dry_run_still_says_nothing_of_a_new_post(
        project: Project, masto: FakeMastodon) -> None:  # noqa: F811
    mastodon_as(project, masto, M_TOKEN)
    first = post(project, "--title", "API errors", "Elevated errors.")
    code, said = command(project, "amend", "--dry-run", first["incident_id"], "1", CORRECTED)
    assert code == 0 and "not an edit" not in said, said
    assert verifications(masto) == 1  # asked once, as withdraw's dry run does
    code, said = command(project, "amend", "--yes", first["incident_id"], "1", CORRECTED)
    assert code == 0 and "note:" not in said, said
    assert len(edits(masto)) == 1 and CORRECTED in masto.posted[0].text


def test_amends_confirmation_by_another_account_says_a_new_status_goes(
        project: Project, masto: FakeMastodon) -> None:  # noqa: F811
    mastodon_as(project, masto, M_TOKEN)
    first = post(project, "--title", "API errors", "Elevated errors.")
    mastodon_as(project, masto, OTHER_TOKEN)
    code, shown = in_terminal(project, ["amend", first["incident_id"], "1", CORRECTED], b"n\n", b"Publish now?")
    said = " ".join(shown.split())
    assert code == 2, said
    assert "masto [public]: a new post, not an edit of the original" in said and "1001" in said, said


def test_the_real_amend_after_its_preview_still_says_the_original_is_to_correct_by_hand(
        project: Project, masto: FakeMastodon) -> None:  # noqa: F811
    mastodon_as(project, masto, M_TOKEN)
    first = post(project, "--title", "API errors", "Elevated errors.")
    mastodon_as(project, masto, OTHER_TOKEN)
    code, said = command(project, "amend", "--yes", first["incident_id"], "1", CORRECTED)
    assert code == 0, said
    assert "1001" in said and "correct the original by hand" in said, said
    original, correction = masto.posted
    assert not edits(masto) and correction.account_id == "2002" and correction.in_reply_to_id is None
    assert verifications(masto) == 1  # the preview's answer serves the run of the same command


# -- retry --remote-id: the links an operator pastes --------------------------------------------------------------

X_LINKS = [
    "https://x.com/i/web/status/{id}", "https://twitter.com/i/web/status/{id}", "https://X.com/acme/status/{id}",
    "HTTPS://x.com/acme/status/{id}", "https://mobile.twitter.com/acme/status/{id}", "https://mobile.x.com/acme/status/{id}",
    "https://Twitter.com/acme/status/{id}?s=20&t=abc", "https://x.com/acme/status/{id}/photo/1",
]


@pytest.mark.parametrize("written", X_LINKS)
def test_retry_takes_the_x_links_an_operator_pastes(project: Project, x: FakeX, written: str) -> None:  # noqa: F811
    x_as(project, x, "1585-at-Yt6Hv3QaZ")
    incident_id = x_unknown_follow_up(project, x)
    own = x.tweets[-1]
    result = project.cli("retry", incident_id, "--mark-unknown-sent", "--remote-id", "x=" + written.format(id=own.id))
    assert result.exit_code == 0, result.output
    assert x_deliveries(project, incident_id)[-1]["remote_id"] == f"{own.id}@1585"


@pytest.mark.parametrize("written", ["https://x.com/i/web/status/{id}", "HTTPS://MOBILE.X.COM/acme/status/{id}"])
def test_retry_still_refuses_another_accounts_x_post_by_such_a_link(project: Project, x: FakeX, written: str) -> None:  # noqa: F811
    x_as(project, x, "1585-at-Yt6Hv3QaZ")
    incident_id = x_unknown_follow_up(project, x)
    stranger = a_strangers_post(x)
    result = project.cli("retry", incident_id, "--mark-unknown-sent", "--remote-id", "x=" + written.format(id=stranger.id))
    said = " ".join(result.output.split())
    assert result.exit_code == 2 and "9999" in said and "nothing was stored" in said, said
    assert x_deliveries(project, incident_id)[-1]["state"] == "unknown"


@pytest.mark.parametrize("written", [
    "https://x.com/acme/status/{id}/../{other}",  # the page of post {other}, read as post {id}
    "https://x.com.example.net/acme/status/{id}", "https://x.com:8443/acme/status/{id}", "ftp://x.com/acme/status/{id}",
])
def test_retry_refuses_what_names_no_one_x_post(project: Project, x: FakeX, written: str) -> None:  # noqa: F811
    x_as(project, x, "1585-at-Yt6Hv3QaZ")
    incident_id = x_unknown_follow_up(project, x)
    own, other = x.tweets[-1], x.tweets[0]
    given = written.format(id=own.id, other=other.id)
    result = project.cli("retry", incident_id, "--mark-unknown-sent", "--remote-id", f"x={given}")
    said = " ".join(result.output.split())
    assert result.exit_code == 2 and "is not an X post" in said, said
    assert x_deliveries(project, incident_id)[-1]["state"] == "unknown"


@pytest.mark.parametrize("written", [
    "https://bsky.app/profile/acme.bsky.social/post/{rkey}?ref_src=embed",
    "http://bsky.app/profile/acme.bsky.social/post/{rkey}",
    "https://BSKY.APP/profile/acme.bsky.social/post/{rkey}",
    "HTTPS://bsky.app/profile/acme.bsky.social/post/{rkey}/#reply",
])
def test_retry_takes_the_bluesky_links_an_operator_pastes(
        project: Project, sky: FakeBluesky, written: str) -> None:  # noqa: F811
    bluesky_as(project, "acme.bsky.social", B_PASSWORD, sky)
    incident_id = sky_unknown_post(project, sky)
    [made] = sky.posted
    result = project.cli("retry", incident_id, "--mark-unknown-sent", "--remote-id",
                         "sky=" + written.format(rkey=made.rkey))
    assert result.exit_code == 0, result.output
    assert sky_deliveries(project, incident_id)[0]["remote_id"] == f"at://{DID}/app.bsky.feed.post/{made.rkey}"


def test_retry_still_refuses_another_accounts_bluesky_post_by_such_a_link(
        project: Project, sky: FakeBluesky) -> None:  # noqa: F811
    bluesky_as(project, "acme.bsky.social", B_PASSWORD, sky)
    incident_id = sky_unknown_post(project, sky)
    rkey = a_post_of_the_other_account(sky)
    refused = project.cli("retry", incident_id, "--mark-unknown-sent", "--remote-id",
                          f"sky=http://BSKY.app/profile/{OTHER_DID}/post/{rkey}?ref_src=embed")
    said = " ".join(refused.output.split())
    assert refused.exit_code == 2 and OTHER_DID in said and "nothing was stored" in said, said
    assert [d["state"] for d in sky_deliveries(project, incident_id)] == ["unknown"]


@pytest.mark.parametrize("written", [
    "https://bsky.app/profile/acme.bsky.social/post/..",
    "https://bsky.app/profile/acme.bsky.social/post/{rkey}/../3kzzzzzzzzzzz",
    "https://bsky.app.example.net/profile/acme.bsky.social/post/{rkey}",
])
def test_retry_refuses_what_names_no_one_bluesky_post(
        project: Project, sky: FakeBluesky, written: str) -> None:  # noqa: F811
    bluesky_as(project, "acme.bsky.social", B_PASSWORD, sky)
    incident_id = sky_unknown_post(project, sky)
    [made] = sky.posted
    refused = project.cli("retry", incident_id, "--mark-unknown-sent", "--remote-id",
                          "sky=" + written.format(rkey=made.rkey))
    assert refused.exit_code == 2 and "is not a Bluesky post" in refused.output, refused.output


def test_retry_takes_a_mastodon_link_written_in_capitals(project: Project, masto: FakeMastodon) -> None:  # noqa: F811
    mastodon_as(project, masto, M_TOKEN)
    first = post(project, "--title", "API errors", "Elevated errors.")
    masto.fail(*[Fault(match="/api/v1/statuses", reset_after=True)] * 2)
    result = project.cli("post", "--yes", "--json", "-i", first["incident_id"], "-s", "identified", "Cause found.")
    assert result.exit_code == 3, result.output
    own = masto.posted[1]
    result = project.cli("retry", first["incident_id"], "--mark-unknown-sent", "--remote-id",
                         f"masto=HTTPS://Mastodon.Example/@AcmeStatus/{own.id}?utm_source=share")
    assert result.exit_code == 0, result.output
    shown = json.loads(project.cli("show", first["incident_id"], "--json").stdout)
    assert [d["remote_id"] for d in shown["deliveries"] if d["destination"] == "masto"][-1] == \
        f"{own.id}@1001@mastodon.example"


# -- Telegram: what --remote-id read as a message number ----------------------------------------------------------


def telegram_unknown_follow_up(project: Project, fake: FakeTelegram) -> tuple[str, int]:
    """An incident whose second update's message went up with its answer lost: unknown. Its message's number."""
    name_the_chat(project, fake, "@AcmeStatus")
    posted = project.cli("post", "--yes", "--json", "--title", "API errors", "Errors on the API.")
    incident = str(json.loads(posted.stdout)["incident_id"])
    fake.fail(Fault(match="sendMessage", reset_after=True))
    assert project.cli("post", "--yes", "-i", incident, "Cause found.").exit_code == 3
    return incident, list(fake.messages.values())[0][-1].message_id


@pytest.mark.parametrize(("written", "said"), [
    ("{n}\u00b2", "superscript two"),  # was 'unexpected error (ValueError)', exit 1
    ("@AcmeStatus:{n}\u00b2", "superscript two"),
    ("\u0663", "arabic-indic digit three"),  # was recorded as message 3
    ("0", "is not a Telegram message"),  # Telegram numbers messages from 1: was recorded, replied to as message 0
    ("@AcmeStatus:0", "is not a Telegram message"),
])
def test_retry_refuses_telegram_numbers_that_name_no_message(
        project: Project, telegram: FakeTelegram, written: str, said: str) -> None:  # noqa: F811
    incident, number = telegram_unknown_follow_up(project, telegram)
    result = project.cli("retry", incident, "--mark-unknown-sent", "--remote-id", "tg=" + written.format(n=number))
    shown = " ".join((result.stdout + result.stderr).split())
    assert result.exit_code == 2 and said in shown and "unexpected" not in shown, shown
    assert {d["state"] for d in json.loads(project.cli("show", incident, "--json").stdout)["deliveries"]
            if d["destination"] == "tg" and d["sequence"] == 2} == {"unknown"}


@pytest.mark.parametrize("written", ["HTTPS://T.ME/AcmeStatus/{n}", "https://telegram.me/AcmeStatus/{n}?single"])
def test_retry_takes_a_telegram_link_in_capitals_or_of_telegram_me(
        project: Project, telegram: FakeTelegram, written: str) -> None:  # noqa: F811
    incident, number = telegram_unknown_follow_up(project, telegram)
    result = project.cli("retry", incident, "--mark-unknown-sent", "--remote-id", "tg=" + written.format(n=number))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert f"@AcmeStatus:{number}" in result.stdout
