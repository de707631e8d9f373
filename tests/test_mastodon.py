"""The Mastodon channel end to end: the real Mastodon.py against FakeMastodon on loopback.

Assertions are on what the fake stored, never on what the channel believes it
sent. A new channel object and event loop per send stand for separate CLI
invocations; the CLI tests run the real command.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from broadcaster.channels.mastodon import MastodonChannel
from broadcaster.messages.mastodon import instance_limits

from broadcaster.config import ChannelConfig, Secret
from broadcaster.config_loader import parse
from broadcaster.delivery import Receipt, Rendered, SendLog, ThreadRef
from broadcaster.errors import ConfigError, DeliveryError, InputError
from tests.conftest import Project
from tests.fakes.base import Fault, Response
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.mastodon import FakeMastodon, countable_length
from tests.social import B_PASSWORD, M_TOKEN, Social, checked, deleted, edited, sent, social_project, update, view


@pytest.fixture(scope="module")
def server() -> Iterator[FakeMastodon]:
    started = FakeMastodon()
    with started:
        yield started


@pytest.fixture
def fake(server: FakeMastodon) -> FakeMastodon:
    server.reset(token=M_TOKEN)
    server.echo_credentials = False
    return server


def channel(fake: FakeMastodon, token: str = M_TOKEN, **options: Any) -> MastodonChannel:
    opts = {"instance_url": "https://mastodon.example", "access_token": Secret("MASTODON_TOKEN", token), **options}
    made = MastodonChannel(ChannelConfig("masto", "mastodon", api_url=fake.url, options=opts))
    made.request_timeout = 2.0
    return made


def send(fake: FakeMastodon, rendered: Rendered | None = None, thread: ThreadRef | None = None,
         ch: MastodonChannel | None = None, **options: Any) -> Receipt:
    ch = ch or channel(fake, **options)
    return asyncio.run(sent(ch, rendered or ch.render(view()), thread, None))


def failure(fake: FakeMastodon, **options: Any) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        send(fake, **options)
    return caught.value


# -- posting, threading, amending ---------------------------------------------------


def test_the_first_update_is_one_public_status_with_an_idempotency_key(fake: FakeMastodon) -> None:
    receipt = send(fake)
    [status] = fake.posted
    assert receipt.remote_id == f"{status.id}@{status.account_id}@mastodon.example"  # a status of one account, on one instance
    assert status.visibility == "public" and status.in_reply_to_id is None
    assert status.text.startswith("🔴 Investigating: API errors\n\nWe are looking into it.")
    assert status.text.endswith("https://status.example.com/incidents/inc-1.html")
    assert status.idempotency_key.startswith("broadcaster-")
    [request] = fake.received("/api/v1/statuses")
    assert "application/x-www-form-urlencoded" in request.headers["content-type"]


def test_unlisted_is_passed_on(fake: FakeMastodon) -> None:
    send(fake, post_visibility="unlisted")
    assert fake.posted[0].visibility == "unlisted"


def test_follow_ups_reply_to_the_latest_status_across_invocations(fake: FakeMastodon) -> None:
    first = send(fake)
    second = send(fake, channel(fake).render(view(update(2, "Cause found."))), ThreadRef(first.remote_id, first.remote_id))
    third = send(fake, channel(fake).render(view(update(3, "Fixed."))), ThreadRef(first.remote_id, second.remote_id))
    statuses = fake.posted
    assert [s.in_reply_to_id for s in statuses] == [None, statuses[0].id, statuses[1].id]
    assert [r.remote_id for r in (first, second, third)] == [f"{s.id}@{s.account_id}@mastodon.example" for s in statuses]
    assert len({s.idempotency_key for s in statuses}) == 3  # one key per delivery


def test_amend_edits_the_status_in_place(fake: FakeMastodon) -> None:
    first = send(fake)
    ch = channel(fake)
    rendered = ch.render(view(update(1, "We are looking into errors on the EU cluster.")))

    assert asyncio.run(edited(ch, rendered, first.remote_id)).remote_id == first.remote_id
    [status] = fake.posted
    assert "EU cluster" in status.text and status.history and "EU cluster" not in status.history[0]


def test_amending_a_deleted_status_says_so_and_is_not_retried(fake: FakeMastodon) -> None:
    ch = channel(fake)
    with pytest.raises(DeliveryError) as caught:
        asyncio.run(edited(ch, ch.render(view()), "999"))
    assert not caught.value.retryable and "deleted" in str(caught.value)


def test_a_stored_id_that_is_not_a_status_id_is_a_permanent_delivery_error(fake: FakeMastodon) -> None:
    ch = channel(fake)
    with pytest.raises(DeliveryError, match="edited by hand"):
        asyncio.run(edited(ch, ch.render(view()), "C0123:1700000000.000100"))


def test_a_reply_to_a_deleted_status_is_posted_on_its_own_with_a_note(fake: FakeMastodon) -> None:
    receipt = send(fake, thread=ThreadRef("404404", "404404"))
    [status] = fake.posted
    assert status.in_reply_to_id is None and receipt.remote_id == f"{status.id}@{status.account_id}@mastodon.example"
    assert "gone" in receipt.notes[0]


# -- lost answers, limits and refusals ----------------------------------------------------


def test_a_lost_answer_is_repeated_with_the_same_key_and_makes_no_second_status(fake: FakeMastodon) -> None:
    fake.fail(Fault(match="/api/v1/statuses", reset_after=True))
    ch = channel(fake)
    rendered = ch.render(view())
    log = SendLog()
    with pytest.raises(DeliveryError) as caught:
        asyncio.run(sent(ch, rendered, None, log))
    # It may have arrived, and one repeat with the same key is safe: the key dedupes.
    assert caught.value.retryable and caught.value.outcome_unknown and caught.value.repeat_safe
    assert log.on_wire
    receipt = asyncio.run(sent(ch, rendered, None, SendLog()))
    [status] = fake.posted
    assert receipt.remote_id == f"{status.id}@{status.account_id}@mastodon.example"


def test_a_second_failure_after_a_lost_answer_is_unknown(fake: FakeMastodon) -> None:
    fake.fail(Fault(match="/api/v1/statuses", reset_after=True))
    fake.rate_limit(5)
    ch = channel(fake)
    rendered = ch.render(view())
    asyncio.run(_expect_error(ch, rendered))
    error = asyncio.run(_expect_error(ch, rendered))
    assert error.outcome_unknown and "may have posted it already" in str(error)


async def _expect_error(ch: MastodonChannel, rendered: Rendered) -> DeliveryError:
    try:
        await sent(ch, rendered, None, None)
    except DeliveryError as exc:
        return exc
    raise AssertionError("no error")


def test_429_is_retryable_after_the_reset_time(fake: FakeMastodon) -> None:
    fake.rate_limit(30)
    error = failure(fake)
    assert error.retryable and not error.outcome_unknown
    assert error.retry_after is not None and 20 < error.retry_after <= 31
    assert fake.posted == []


def test_a_5xx_may_have_posted_so_it_is_repeated_with_the_same_key(fake: FakeMastodon) -> None:
    fake.fail(Fault(match="/api/v1/statuses", response=Response(500, {"error": "boom"})))
    error = failure(fake)
    assert error.retryable and error.outcome_unknown and error.repeat_safe


def test_a_refused_connection_is_retryable_and_nothing_was_sent() -> None:
    with FakeMastodon() as gone:
        url = gone.url
    ch = MastodonChannel(ChannelConfig("masto", "mastodon", api_url=url, options={
        "instance_url": "https://mastodon.example", "access_token": Secret("MASTODON_TOKEN", M_TOKEN)}))
    with pytest.raises(DeliveryError) as caught:
        asyncio.run(sent(ch, ch.render(view()), None, None))
    assert caught.value.retryable and not caught.value.outcome_unknown and "could not connect" in str(caught.value)


def test_a_bad_token_is_permanent_names_the_variable_and_never_echoes_the_token(fake: FakeMastodon) -> None:
    fake.echo_credentials = True
    wrong = "wrong-token-XyZ-123"
    error = failure(fake, token=wrong)
    assert not error.retryable and "MASTODON_TOKEN" in str(error)
    assert wrong not in str(error) and wrong.lower() not in str(error).lower()


def test_an_instance_with_a_lower_limit_refuses_and_the_error_says_why(fake: FakeMastodon) -> None:
    fake.max_characters = 100
    ch = channel(fake)
    error = failure(fake, ch=ch, rendered=ch.render(view(update(1, "A long message. " * 10))))
    assert not error.retryable and "character limit of 100" in str(error)


def test_a_token_that_names_a_file_is_not_read_from_it(fake: FakeMastodon, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # Mastodon.py reads access_token from a file of that name if one exists (found by reading its source).
    monkeypatch.chdir(tmp_path)
    fake.reset(token="token.secret")
    (tmp_path / "token.secret").write_text("something-else\n")
    send(fake, token="token.secret")
    assert fake.received("/api/v1/statuses")[0].headers["authorization"] == "Bearer token.secret"


# -- check ---------------------------------------------------------------------------------


def test_check_with_a_good_token_reads_the_account_and_the_limit(fake: FakeMastodon) -> None:
    results = asyncio.run(checked(channel(fake)))
    assert [r.ok for r in results] == [True, True]
    assert "@acmestatus" in results[0].detail and "500" in results[1].detail
    assert fake.posted == []


def test_check_with_a_bad_token_fails(fake: FakeMastodon) -> None:
    [result] = asyncio.run(checked(channel(fake, token="nope")))
    assert not result.ok and "rejected the access token" in result.detail


def test_check_reports_the_instance_limit_broadcaster_writes_to(fake: FakeMastodon) -> None:
    # Changed on purpose: statuses now fit the instance's own limit, so a lower one is no longer a failure.
    fake.max_characters, fake.url_characters = 300, 30
    results = asyncio.run(checked(channel(fake)))
    assert results[1].ok and "up to 300 characters (a link counts 30)" in results[1].detail
    fake.instance_status = 500
    broken = asyncio.run(checked(channel(fake)))
    assert not broken[1].ok and "cannot read the instance's status limit" in broken[1].detail


# -- the instance's limits ---------------------------------------------------------------------------


def prepared(fake: FakeMastodon) -> MastodonChannel:
    ch = channel(fake)
    ch.prepare()
    return ch


LONG = "The EU cluster is failing over; " * 40


def test_a_status_fits_the_instance_limit_read_from_v2(fake: FakeMastodon) -> None:
    fake.max_characters = 2000
    rendered = prepared(fake).render(view(update(1, LONG)))
    assert 500 < countable_length(rendered.text) <= 2000 and LONG.strip() in rendered.text
    send(fake, rendered)
    assert fake.posted[0].text == rendered.text
    assert [r.path for r in fake.received("/instance")] == ["/api/v2/instance/"]


def test_a_lower_limit_and_a_dearer_link_are_kept_to(fake: FakeMastodon) -> None:
    fake.max_characters, fake.url_characters = 200, 60
    ch = prepared(fake)
    rendered = ch.render(view(update(1, LONG)))
    assert "https://" in rendered.text and countable_length(rendered.text, 60) <= 200
    send(fake, rendered, ch=ch)  # the fake counts each link 60, as the instance says
    assert len(fake.posted) == 1
    with pytest.raises(DeliveryError, match="character limit of 200"):  # fitted to the defaults, it is refused
        send(fake, channel(fake).render(view(update(2, LONG))))


def test_an_older_server_is_read_through_v1_and_the_limit_read_once(fake: FakeMastodon) -> None:
    fake.v2, fake.max_characters = False, 1000
    ch = prepared(fake)
    ch.prepare()
    for sequence in (1, 2):
        assert countable_length(ch.render(view(update(sequence, LONG))).text) > 500
    assert [r.path for r in fake.received("/instance")] == ["/api/v2/instance/", "/api/v1/instance/"]


def test_an_instance_that_will_not_say_leaves_the_default_and_a_refusal_says_so(fake: FakeMastodon) -> None:
    fake.instance_status, fake.max_characters = 500, 400
    ch = prepared(fake)
    rendered = ch.render(view(update(1, LONG)))
    assert 400 < countable_length(rendered.text) <= 500
    error = failure(fake, ch=ch, rendered=rendered)
    assert "wrote up to 500" in str(error) and "Mastodon's default" in str(error) and "channels check" in str(error)


@pytest.mark.parametrize(("instance", "expected"), [
    ({"configuration": {"statuses": {"max_characters": 5000, "characters_reserved_per_url": 23}}}, (5000, 23)),
    ({"max_toot_chars": 5000}, (5000, 23)),  # Pleroma and Akkoma's v1
    ({"configuration": {"statuses": {"max_characters": 3}}}, None),
    ({"configuration": {"statuses": {"max_characters": True}}}, None),
    ({"configuration": {"statuses": {"max_characters": "5000"}}}, None),
    ({"configuration": {"statuses": {"max_characters": 800, "characters_reserved_per_url": 0}}}, (800, 23)),
    ({"configuration": {"statuses": {"max_characters": 800, "characters_reserved_per_url": -5}}}, (800, 23)),
    ({}, None),
], ids=["mastodon", "pleroma", "tiny", "bool", "string", "zero-per-url", "negative-per-url", "none"])
def test_only_sane_limits_are_believed(instance: dict[str, Any], expected: tuple[int, int] | None) -> None:
    found = instance_limits(instance, "/api/v2/instance")
    assert ((found.max_characters, found.url_characters) if found else None) == expected


def _with_mastodon(project: Project, fake: FakeMastodon, engine: str = "") -> None:
    """A project whose one channel is a Mastodon account on ``fake``."""
    project.write_config(engine + f"""
        [channels.masto]
        type = "mastodon"
        instance_url = "https://mastodon.example"
        access_token = "${{MASTODON_TOKEN}}"
        api_url = "{fake.url}"
    """)
    project.env["MASTODON_TOKEN"] = M_TOKEN


def test_the_preview_and_the_post_fit_the_same_limit_through_the_cli(project: Project, fake: FakeMastodon) -> None:
    fake.max_characters = 1500
    _with_mastodon(project, fake)
    dry = project.cli("post", "--dry-run", "--title", "Failover", LONG)
    assert dry.exit_code == 0, dry.output
    assert project.cli("post", "--yes", "--title", "Failover", LONG).exit_code == 0
    [status] = fake.posted
    assert countable_length(status.text) > 500 and LONG.strip() in status.text
    assert status.text.split("\n")[2] in dry.stdout  # the preview showed the same long message


# -- delete (withdraw) -----------------------------------------------------------------------------


def test_delete_removes_each_status_and_one_already_gone_counts(fake: FakeMastodon) -> None:
    first = send(fake)
    second = send(fake, channel(fake).render(view(update(2, "Cause found."))), ThreadRef(first.remote_id, first.remote_id))
    assert channel(fake).can_delete
    receipt = asyncio.run(deleted(channel(fake), [first.remote_id, second.remote_id, "112233445566779999"]))
    assert receipt.remote_id == first.remote_id and fake.posted == []
    assert [f"{s.id}@{s.account_id}@mastodon.example" for s in fake.deleted] == [first.remote_id, second.remote_id]


def test_a_rate_limited_delete_is_retryable_and_never_unknown(fake: FakeMastodon) -> None:
    first = send(fake)
    fake.rate_limit(5, match="/api/v1/statuses/")
    with pytest.raises(DeliveryError) as caught:
        asyncio.run(deleted(channel(fake), [first.remote_id]))
    assert caught.value.retryable and not caught.value.outcome_unknown and caught.value.retry_after
    fake.fail(Fault(match="/api/v1/statuses/", reset_after=True))
    with pytest.raises(DeliveryError) as lost:
        asyncio.run(deleted(channel(fake), [first.remote_id]))
    assert lost.value.retryable and not lost.value.outcome_unknown
    asyncio.run(deleted(channel(fake), [first.remote_id]))  # gone by the lost one: counts as deleted
    assert fake.posted == []


def test_a_delete_with_a_bad_token_or_id_says_to_delete_by_hand(fake: FakeMastodon) -> None:
    first = send(fake)
    with pytest.raises(DeliveryError) as caught:
        asyncio.run(deleted(channel(fake, token="revoked"), [first.remote_id, "not-an-id"]))
    error = str(caught.value)
    assert not caught.value.retryable and "MASTODON_TOKEN" in error and "1 more" in error and "revoked" not in error
    assert len(fake.posted) == 1


# -- config and references -----------------------------------------------------------------------


@pytest.mark.parametrize(("options", "complaint"), [
    ({"instance_url": "http://mastodon.example"}, "instance_url"),
    ({"instance_url": "mastodon.example"}, "instance_url"),
    ({"instance_url": "https://user:pw@mastodon.example"}, "instance_url"),
    ({"post_visibility": "private"}, "post_visibility"),
    ({"post_visibility": "direct"}, "post_visibility"),
    ({"access_token": "written-in-the-file"}, "access_token"),
    ({"visibility": "private"}, "visibility"),
], ids=["http", "no-scheme", "credentials", "private-posts", "direct", "written-token", "private-channel"])
def test_config_mistakes_are_refused(options: dict[str, Any], complaint: str) -> None:
    table = {"type": "mastodon", "instance_url": "https://mastodon.example", "access_token": "${T}", **options}
    with pytest.raises(ConfigError, match=complaint):
        parse({"page": {"title": "Acme"}, "channels": {"masto": table}}, None, {"T": "x"})


@pytest.mark.parametrize(("reference", "expected"), [
    ("112233445566778899", "112233445566778899@mastodon.example"),
    ("https://mastodon.example/@acme/112233445566778899", "112233445566778899@mastodon.example"),
    ("https://mastodon.example/web/statuses/42", "42@mastodon.example"),
    (" https://mastodon.example/users/acme/statuses/42/ ", "42@mastodon.example"),
], ids=["id", "link", "web", "uri"])
def test_remote_ids_from_links(fake: FakeMastodon, reference: str, expected: str) -> None:
    assert channel(fake).remote_id_from(reference, "") == expected


def test_a_reference_that_is_not_a_status_is_refused(fake: FakeMastodon) -> None:
    with pytest.raises(InputError, match="not a Mastodon status"):
        channel(fake).remote_id_from("https://evil.example/phish", "")


# -- through the CLI -------------------------------------------------------------------------------


@pytest.fixture
def social(project: Project, fake: FakeMastodon) -> Iterator[Social]:
    sky = FakeBluesky(password=B_PASSWORD)
    with sky:
        yield from social_project(project, fake, sky)


def test_withdraw_deletes_the_statuses_and_the_posts_through_the_cli(social: Social) -> None:
    code, first = social.post("--title", "API errors", "Elevated errors.")
    assert code == 0, first
    assert social.post("-i", first["incident_id"], "-s", "identified", "Cause found.")[0] == 0
    assert len(social.mastodon.posted) == 2 and len(social.bluesky.posted) == 2
    result = social.project.cli("withdraw", first["incident_id"], "--yes")
    assert result.exit_code == 0, result.output
    assert social.mastodon.posted == [] and len(social.mastodon.deleted) == 2
    assert social.bluesky.posted == [] and len(social.bluesky.deleted) == 2


def test_post_follow_up_and_amend_through_the_cli(social: Social) -> None:
    code, first = social.post("--title", "API errors", "-C", "api", "--skip", "sky", "--private", "PRIVNOTE-42",
                              "Elevated errors.")
    assert code == 0 and social.states(first) == {"masto": "sent", "sky": "skipped"}
    code, second = social.post("-i", first["incident_id"], "-s", "identified", "--skip", "sky", "Cause found.")
    assert code == 0
    result = social.project.cli("amend", "--yes", first["incident_id"], "1", "Elevated errors on the EU cluster.",
                                "--skip", "sky")
    assert result.exit_code == 0, result.output
    one, two = social.mastodon.posted
    assert two.in_reply_to_id == one.id
    assert "EU cluster" in one.text and one.history  # edited in place
    assert all("PRIVNOTE" not in s.text and "PRIVNOTE" not in "".join(s.history) for s in (one, two))


def test_a_lost_answer_through_the_engine_ends_sent_with_one_status(social: Social) -> None:
    social.mastodon.fail(Fault(match="/api/v1/statuses", reset_after=True))
    code, payload = social.post("--title", "API errors", "--skip", "sky", "Elevated errors.")
    assert code == 0, payload
    masto = next(d for d in payload["deliveries"] if d["destination"] == "masto")
    assert masto["state"] == "sent" and masto["attempts"] == 2
    assert len(social.mastodon.posted) == 1


def test_channels_check_through_the_cli(social: Social) -> None:
    good = social.project.cli("channels", "check")
    assert good.exit_code == 0, good.output
    bad = social.project.cli("channels", "check", env={"MASTODON_TOKEN": "revoked"})
    assert bad.exit_code == 3 and "MASTODON_TOKEN" in bad.output and "revoked" not in bad.output


def test_a_429_through_the_engine_waits_for_the_reset_and_sends(social: Social) -> None:
    social.mastodon.rate_limit(1)
    code, payload = social.post("--title", "API errors", "--skip", "sky", "Elevated errors.")
    assert code == 0, payload
    masto = next(d for d in payload["deliveries"] if d["destination"] == "masto")
    assert masto["state"] == "sent" and masto["attempts"] == 2 and len(social.mastodon.posted) == 1


def test_a_bad_token_through_the_engine_fails_at_once_and_retry_sends_it_later(social: Social) -> None:
    result = social.project.cli("post", "--yes", "--json", "--title", "API errors", "--skip", "sky", "Errors.",
                                env={"MASTODON_TOKEN": "revoked"})
    assert result.exit_code == 3
    masto = next(d for d in json.loads(result.stdout)["deliveries"] if d["destination"] == "masto")
    assert masto["state"] == "failed" and masto["attempts"] == 1 and "MASTODON_TOKEN" in masto["error"]
    retried = social.project.cli("retry", "--json", json.loads(result.stdout)["incident_id"])
    assert retried.exit_code == 0, retried.output
    assert len(social.mastodon.posted) == 1


def test_an_answer_later_than_the_timeout_is_repeated_with_the_key_and_makes_one_status(fake: FakeMastodon) -> None:
    fake.fail(Fault(match="/api/v1/statuses", hold=3))
    ch = channel(fake)
    ch.request_timeout = 1.0
    rendered = ch.render(view())
    with pytest.raises(DeliveryError) as caught:
        asyncio.run(sent(ch, rendered))
    assert "no answer within 1s" in str(caught.value) and caught.value.retryable
    receipt = asyncio.run(sent(ch, rendered))
    [status] = fake.posted
    assert receipt.remote_id == f"{status.id}@{status.account_id}@mastodon.example"


def test_an_answer_lost_on_the_last_attempt_leaves_the_status_unknown_not_failed(project: Project, fake: FakeMastodon) -> None:
    """Attack (review): three 503s, then the status posted and its answer lost on the last attempt the engine
    allows: recorded failed, because the channel had cleared "may have arrived" for a repeat that never came; a
    plain retry (cron, an hour later, when Mastodon has forgotten the key) posted it twice."""
    _with_mastodon(project, fake, engine="[engine]\ntimeout = 2\ndeadline = 30\nmax_attempts = 4\n")
    busy = Response(503, {"error": "unavailable"})
    fake.fail(*[Fault(match="/api/v1/statuses", response=busy) for _ in range(3)],
              Fault(match="/api/v1/statuses", reset_after=True))
    result = project.cli("post", "--yes", "--json", "--title", "API errors", "Elevated API errors.")
    assert result.exit_code == 3, result.output
    masto = next(d for d in json.loads(result.stdout)["deliveries"] if d["destination"] == "masto")
    assert masto["state"] == "unknown" and masto["attempts"] == 4, masto
    assert len(fake.posted) == 1
    posts_before = sum(r.method == "POST" and r.path.startswith("/api/v1/statuses") for r in fake.requests)
    assert project.cli("retry").exit_code == 3  # unknown stays for a human to settle
    assert sum(r.method == "POST" and r.path.startswith("/api/v1/statuses") for r in fake.requests) == posts_before


def test_an_instance_that_does_not_answer_its_limits_holds_the_post_seconds_not_the_request_timeout(
        project: Project, fake: FakeMastodon) -> None:
    """The limits are read before `[engine] deadline`'s clock starts, with the request timeout of a post: an instance
    answering nothing held `post` 20 s (`timeout = 20`), then the deadline began. Now at most `limits_timeout` per
    wait, Mastodon's default limit stands, and the status still goes out."""
    import time

    _with_mastodon(project, fake, engine="[engine]\ntimeout = 20\ndeadline = 30\n")
    fake.fail(Fault(match="/api/v2/instance", hold=25))
    started = time.monotonic()
    posted = project.cli("post", "--yes", "--title", "Failover", "Failing over to the second site.")
    took = time.monotonic() - started
    assert posted.exit_code == 0, posted.output
    assert took < 2 * MastodonChannel.limits_timeout + 6, (took, posted.output)
    [status] = fake.posted
    assert "Failing over to the second site." in status.text
