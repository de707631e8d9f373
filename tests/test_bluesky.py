"""The Bluesky channel end to end: the real atproto AsyncClient against FakeBluesky on loopback.

Assertions are on what the fake stored. A new channel object and event loop
per send stand for separate CLI invocations; the CLI tests run the real command.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from broadcaster.channels.bluesky import BlueskyChannel, record_key, record_keys
from broadcaster.messages.model import Status, Update
from broadcaster.messages.visibility import public_view

from broadcaster.config import ChannelConfig, Secret
from broadcaster.config_loader import parse
from broadcaster.delivery import Receipt, Rendered, SendLog, ThreadRef
from broadcaster.errors import ConfigError, DeliveryError, InputError
from tests.conftest import Project
from tests.fakes.base import Fault, Response
from tests.fakes.bluesky import DID, FakeBluesky
from tests.fakes.mastodon import FakeMastodon
from tests.social import (
    B_PASSWORD,
    M_TOKEN,
    T0,
    URL,
    Social,
    checked,
    deleted,
    incident,
    sent,
    social_project,
    update,
    view,
)


@pytest.fixture(scope="module")
def server() -> Iterator[FakeBluesky]:
    started = FakeBluesky()
    with started:
        yield started


@pytest.fixture
def fake(server: FakeBluesky) -> FakeBluesky:
    server.reset(password=B_PASSWORD)
    server.echo_credentials = False
    return server


def channel(fake: FakeBluesky, password: str = B_PASSWORD, **options: Any) -> BlueskyChannel:
    opts = {"handle": "acme.bsky.social", "app_password": Secret("BSKY_PASSWORD", password), **options}
    made = BlueskyChannel(ChannelConfig("sky", "bluesky", api_url=fake.url, options=opts))
    made.request_timeout = 10.0  # the first send imports atproto, seconds on a busy machine
    return made


def send(fake: FakeBluesky, rendered: Rendered | None = None, thread: ThreadRef | None = None,
         ch: BlueskyChannel | None = None, **options: Any) -> Receipt:
    ch = ch or channel(fake, **options)
    return asyncio.run(sent(ch, rendered or ch.render(view()), thread, None))


def failure(fake: FakeBluesky, **options: Any) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        send(fake, **options)
    return caught.value


# -- posting and threading ----------------------------------------------------------


def test_the_first_update_is_a_post_with_link_facets_and_a_card(fake: FakeBluesky) -> None:
    receipt = send(fake, channel(fake).render(view(update(1, "Errors on https://api.example.com/v1 since 14:00."))))
    [post] = fake.posted
    assert receipt.remote_id == f"{post.uri}#{post.cid}" and post.uri.startswith(f"at://{DID}/app.bsky.feed.post/")
    assert post.text.startswith("🔴 Investigating: API errors")
    assert post.links == [("https://api.example.com/v1", "https://api.example.com/v1"), (URL, URL)]
    assert post.record["embed"]["external"] == {
        "$type": "app.bsky.embed.external#external", "uri": URL, "title": "API errors",
        "description": "Investigating: Errors on https://api.example.com/v1 since 14:00.",
    }
    assert post.reply is None
    assert fake.logins == 1


def test_follow_ups_reply_with_the_first_as_root_and_the_latest_as_parent(fake: FakeBluesky) -> None:
    first = send(fake)
    second = send(fake, channel(fake).render(view(update(2, "Found it.", Status.IDENTIFIED))),
                  ThreadRef(first.remote_id, first.remote_id))
    send(fake, channel(fake).render(view(update(3, "Fixed.", Status.RESOLVED))),
         ThreadRef(first.remote_id, second.remote_id))
    one, two, three = fake.posted
    assert two.reply is not None and three.reply is not None
    assert two.reply["root"]["uri"] == two.reply["parent"]["uri"] == one.uri
    assert three.reply["root"] == {"$type": "com.atproto.repo.strongRef", "uri": one.uri, "cid": one.cid}
    assert three.reply["parent"]["uri"] == two.uri and three.reply["parent"]["cid"] == two.cid


def test_a_thread_named_by_a_bsky_app_link_is_completed_by_a_look_up(fake: FakeBluesky) -> None:
    first = send(fake)
    rkey = first.remote_id.split("/")[-1].split("#")[0]
    ch = channel(fake)
    given = ch.remote_id_from(f"https://bsky.app/profile/acme.bsky.social/post/{rkey}", "")
    assert given == f"at://acme.bsky.social/app.bsky.feed.post/{rkey}"
    send(fake, ch.render(view(update(2, "Next."))), ThreadRef(given, given), ch=ch)
    reply = fake.posted[1].reply
    assert reply is not None and reply["parent"]["uri"] == fake.posted[0].uri  # the DID, as a strong ref needs


def test_a_stored_id_that_is_not_an_at_uri_is_refused(fake: FakeBluesky) -> None:
    error = failure(fake, thread=ThreadRef("12345", "12345"))
    assert not error.retryable and "edited by hand" in str(error)
    assert fake.posted == []


@pytest.mark.parametrize("reference", ["https://evil.example/post/1", "at://did:plc:x/app.bsky.feed.like/abc", ""])
def test_references_that_are_not_posts_are_refused(fake: FakeBluesky, reference: str) -> None:
    with pytest.raises(InputError):
        channel(fake).remote_id_from(reference, "")


# -- delete (withdraw) -------------------------------------------------------------------------


def test_delete_removes_each_post_logging_in_once_and_one_already_gone_counts(fake: FakeBluesky) -> None:
    first = send(fake)
    second = send(fake, channel(fake).render(view(update(2, "Found it."))), ThreadRef(first.remote_id, first.remote_id))
    rkey = first.remote_id.split("/")[-1].split("#")[0]
    by_hand = f"at://acme.bsky.social/app.bsky.feed.post/{rkey}"  # as retry --remote-id takes a bsky.app link
    logins = fake.logins
    assert channel(fake).can_delete
    receipt = asyncio.run(deleted(channel(fake), [first.remote_id, second.remote_id, by_hand]))
    assert receipt.remote_id == first.remote_id and fake.posted == [] and len(fake.deleted) == 2
    assert len(fake.received("deleteRecord")) == 3 and fake.logins == logins + 1
    body = fake.received("deleteRecord")[0].json()
    assert body == {"repo": DID, "collection": "app.bsky.feed.post", "rkey": rkey}


def test_a_delete_with_a_wrong_password_is_permanent_and_a_429_waits(fake: FakeBluesky) -> None:
    first = send(fake)
    with pytest.raises(DeliveryError) as caught:
        asyncio.run(deleted(channel(fake, password="wrong-pass-Zz9"), [first.remote_id]))
    assert not caught.value.retryable and "wrong-pass-Zz9" not in str(caught.value) and len(fake.posted) == 1
    fake.rate_limit(3, match="deleteRecord")
    with pytest.raises(DeliveryError) as limited:
        asyncio.run(deleted(channel(fake), [first.remote_id, "not-a-post"]))
    assert limited.value.retryable and not limited.value.outcome_unknown and "1 more" in str(limited.value)
    asyncio.run(deleted(channel(fake), [first.remote_id]))
    assert fake.posted == []


# -- repeats, limits and refusals ---------------------------------------------------------


def test_a_lost_answer_is_settled_by_looking_the_key_up(fake: FakeBluesky) -> None:
    fake.fail(Fault(match="createRecord", reset_after=True))
    receipt = send(fake)
    [post] = fake.posted  # it had arrived: found under its key, not posted again
    assert receipt.remote_id == f"{post.uri}#{post.cid}"
    assert len(fake.received("createRecord")) == 1 and len(fake.received("getRecord")) == 1


def test_a_repeat_under_a_taken_key_finds_the_first_post(fake: FakeBluesky) -> None:
    ch = channel(fake)
    rendered = ch.render(view())
    first = send(fake, rendered, ch=ch)
    again = send(fake, rendered, ch=channel(fake))  # another run repeating it: the key is taken
    assert again.remote_id == first.remote_id and len(fake.posted) == 1


def test_a_lost_answer_whose_look_up_fails_too_is_retryable_once_then_unknown(fake: FakeBluesky) -> None:
    fake.fail(Fault(match="createRecord", reset_after=True), Fault(match="getRecord", reset=True),
              Fault(match="createRecord", response=Response(503, {"error": "x", "message": "busy"})))
    ch = channel(fake)
    rendered = ch.render(view())
    errors = []
    for _ in range(2):
        with pytest.raises(DeliveryError) as caught:
            asyncio.run(sent(ch, rendered, None, SendLog()))
        errors.append(caught.value)
    assert errors[0].retryable and errors[0].outcome_unknown and errors[0].repeat_safe  # the same key: one repeat
    assert errors[1].outcome_unknown and "may have posted it already" in str(errors[1])


def _windows_sharing_a_key(fake: FakeBluesky) -> tuple[Rendered, Rendered]:
    """Two windows' reminders stored at one instant (``tick`` gives every step of a run one clock) whose
    record keys are the same: 1 pair in 1,024 is, by their 10 bits of clock id."""
    ch, seen = channel(fake), dict[str, Rendered]()
    for n in range(2000):
        incident_id = f"window-{n}"
        moment = T0 + timedelta(minutes=5)
        upd = Update(incident_id, 2, moment, Status.SCHEDULED, f"Reminder: window {n} starts soon.")
        shown = public_view(replace(incident(f"Window {n}"), id=incident_id), upd,
                            url=f"https://status.example.com/incidents/{incident_id}.html")
        rendered = ch.render(shown)
        if rendered.payload["rkey"] in seen:
            return seen[rendered.payload["rkey"]], rendered
        seen[rendered.payload["rkey"]] = rendered
    raise AssertionError("no two keys alike in 2,000")


def test_two_posts_of_one_instant_under_one_key_are_both_made_and_each_finds_its_own(fake: FakeBluesky) -> None:
    first, second = _windows_sharing_a_key(fake)
    assert first.payload["rkey"] == second.payload["rkey"]
    one = send(fake, first)
    other = send(fake, second)  # the key holds the first window's reminder: not this post, so the next key
    assert one.remote_id != other.remote_id
    assert sorted(p.text for p in fake.posted) == sorted([first.text, second.text])
    # A repeat of either (another run, an answer lost) finds its own post, never the other's.
    assert send(fake, second, ch=channel(fake)).remote_id == other.remote_id
    assert send(fake, first, ch=channel(fake)).remote_id == one.remote_id
    assert len(fake.posted) == 2


def test_a_lost_answer_under_a_key_another_post_holds_is_settled_under_the_next(fake: FakeBluesky) -> None:
    first, second = _windows_sharing_a_key(fake)
    send(fake, first)
    fake.fail(Fault(match="createRecord", after=1, reset_after=True))  # the second's post arrives, its answer not
    again = send(fake, second)
    made = [p for p in fake.posted if p.text == second.text]
    assert len(made) == 1 and again.remote_id == f"{made[0].uri}#{made[0].cid}"


def test_the_keys_tried_keep_the_time_and_the_order() -> None:
    key = record_key(T0, "sky\ninc-1\n1")
    keys = record_keys(key)
    assert keys[0] == key and len(set(keys)) == len(keys) == 4
    assert {k[:11] for k in keys} == {key[:11]}  # the same 53 bits of time: only the clock id differs
    assert keys == record_keys(key)


def test_the_record_key_is_a_tid_fixed_by_the_update_and_the_channel() -> None:
    key = record_key(T0, "sky\ninc-1\n1")
    assert len(key) == 13 and key[0] in "234567abcdefghij"
    assert key == record_key(T0, "sky\ninc-1\n1") != record_key(T0, "sky\ninc-1\n2")


def test_429_is_retryable_at_the_reset_time(fake: FakeBluesky) -> None:
    fake.rate_limit(40)
    error = failure(fake)
    assert error.retryable and not error.outcome_unknown
    assert error.retry_after is not None and 30 < error.retry_after <= 41
    assert fake.posted == []


def test_a_500_may_have_posted_the_look_up_finds_nothing_and_a_repeat_is_allowed(fake: FakeBluesky) -> None:
    fake.fail(Fault(match="createRecord", response=Response(500, {"error": "InternalServerError", "message": "x"})))
    ch = channel(fake)
    rendered = ch.render(view())
    with pytest.raises(DeliveryError) as caught:
        asyncio.run(sent(ch, rendered, None, None))
    assert caught.value.retryable and caught.value.outcome_unknown and caught.value.repeat_safe
    assert fake.received("getRecord")  # it looked for the post before giving up
    send(fake, rendered, ch=ch)
    assert len(fake.posted) == 1


def test_a_wrong_app_password_is_permanent_and_never_echoed(fake: FakeBluesky) -> None:
    fake.echo_credentials = True
    wrong = "wrong-app-pass-QwE"
    error = failure(fake, password=wrong)
    assert not error.retryable and "BSKY_PASSWORD" in str(error) and "app password" in str(error)
    assert wrong.lower() not in str(error).lower()


def test_a_refused_connection_is_retryable_and_nothing_was_sent() -> None:
    with FakeBluesky() as gone:
        url = gone.url
    ch = BlueskyChannel(ChannelConfig("sky", "bluesky", api_url=url, options={
        "handle": "acme.bsky.social", "app_password": Secret("BSKY_PASSWORD", B_PASSWORD)}))
    with pytest.raises(DeliveryError) as caught:
        asyncio.run(sent(ch, ch.render(view()), None, None))
    assert caught.value.retryable and not caught.value.outcome_unknown and "could not connect" in str(caught.value)


# -- check and config ---------------------------------------------------------------------


def test_check_with_a_good_and_a_bad_app_password(fake: FakeBluesky) -> None:
    [good] = asyncio.run(checked(channel(fake)))
    assert good.ok and DID in good.detail
    [bad] = asyncio.run(checked(channel(fake, password="revoked")))
    assert not bad.ok and "app password" in bad.detail
    assert fake.posted == []


@pytest.mark.parametrize(("options", "complaint"), [
    ({"handle": "not a handle"}, "handle"),
    ({"service": "http://bsky.social"}, "service"),
    ({"app_password": "written-in-the-file"}, "app_password"),
    ({"visibility": "private"}, "visibility"),
], ids=["handle", "http-service", "written-password", "private-channel"])
def test_config_mistakes_are_refused(options: dict[str, Any], complaint: str) -> None:
    table = {"type": "bluesky", "handle": "acme.bsky.social", "app_password": "${P}", **options}
    with pytest.raises(ConfigError, match=complaint):
        parse({"page": {"title": "Acme"}, "channels": {"sky": table}}, None, {"P": "x"})


# -- through the CLI -----------------------------------------------------------------------------


@pytest.fixture
def social(project: Project, fake: FakeBluesky) -> Iterator[Social]:
    masto = FakeMastodon(token=M_TOKEN)
    with masto:
        yield from social_project(project, masto, fake)


def test_post_follow_up_and_amend_through_the_cli(social: Social) -> None:
    code, first = social.post("--title", "API errors", "-C", "api", "--skip", "masto", "--private", "PRIVNOTE-42",
                              "Elevated errors.")
    assert code == 0 and social.states(first) == {"masto": "skipped", "sky": "sent"}
    code, _ = social.post("-i", first["incident_id"], "-s", "identified", "--skip", "masto", "Cause found.")
    assert code == 0
    result = social.project.cli("amend", "--yes", first["incident_id"], "1", "Elevated errors on the EU cluster.",
                                "--skip", "masto")
    assert result.exit_code == 0, result.output
    one, two, correction = social.bluesky.posted
    assert two.reply is not None and two.reply["root"]["uri"] == one.uri
    assert correction.reply is not None and correction.reply["parent"]["uri"] == two.uri
    assert "Correction to our update" in correction.text and "EU cluster" in correction.text
    assert social.bluesky.logins == 3  # one per command
    assert all("PRIVNOTE" not in p.text for p in social.bluesky.posted)


def test_a_lost_answer_through_the_engine_ends_sent_with_one_post(social: Social) -> None:
    social.bluesky.fail(Fault(match="createRecord", reset_after=True))
    code, payload = social.post("--title", "API errors", "--skip", "masto", "Elevated errors.")
    assert code == 0, payload
    sky = next(d for d in payload["deliveries"] if d["destination"] == "sky")
    assert sky["state"] == "sent" and sky["attempts"] == 1  # the post was found under its key
    assert len(social.bluesky.posted) == 1


def test_a_private_value_in_a_title_span_never_reaches_the_card(social: Social) -> None:
    code, payload = social.post("--title", "API errors [private]for CUSTOMER-ACME[/private]", "--skip", "masto",
                                "Elevated errors.")
    assert code == 0, payload
    [post] = social.bluesky.posted
    assert "CUSTOMER-ACME" not in str(post.record)


def test_channels_check_through_the_cli(social: Social) -> None:
    good = social.project.cli("channels", "check")
    assert good.exit_code == 0, good.output
    bad = social.project.cli("channels", "check", env={"BSKY_PASSWORD": "revoked-pass"})
    assert bad.exit_code == 3 and "BSKY_PASSWORD" in bad.output and "revoked-pass" not in bad.output


def test_no_secret_in_debug_output_or_the_store_when_both_services_echo_them(social: Social) -> None:
    social.mastodon.echo_credentials = social.bluesky.echo_credentials = True
    wrong = {"MASTODON_TOKEN": "wrong-m-SeCrEt-1", "BSKY_PASSWORD": "wrong-b-SeCrEt-2"}
    for env in ({}, wrong):
        result = social.project.cli("post", "--debug", "--yes", "--again", "--title", "API errors", "Elevated errors.",
                                    env=env)
        assert result.exit_code in (0, 3), result.output
        shown = (result.stdout + result.stderr).lower()
        assert not any(s.lower() in shown for s in (M_TOKEN, B_PASSWORD, *wrong.values()))
    stored = b"".join(p.read_bytes() for p in social.project.root.rglob("*") if p.is_file()).lower()
    assert not any(s.lower().encode() in stored for s in (M_TOKEN, B_PASSWORD, *wrong.values()))


def test_an_answer_later_than_the_timeout_is_settled_by_the_look_up(fake: FakeBluesky) -> None:
    ch = channel(fake)
    asyncio.run(checked(ch))  # atproto imported and the session made before the short timeout
    fake.fail(Fault(match="createRecord", hold=3))
    ch = channel(fake)
    ch.request_timeout = 1.0
    receipt = send(fake, ch=ch)
    [post] = fake.posted
    assert receipt.remote_id == f"{post.uri}#{post.cid}"


def test_the_session_tokens_an_app_password_was_traded_for_are_never_shown(fake: FakeBluesky) -> None:
    """Found by a review: a 400 whose message quoted the request's Authorization header showed the
    session's access token (a live bearer credential, never in the config) in the error and the store."""
    fake.echo_credentials = True
    fake.fail(Fault(match="createRecord", response=Response(400, {"error": "InvalidRequest", "message": "bad record"})))
    error = failure(fake)
    [bearer] = fake.tokens  # the one session's access token
    assert len(bearer) > 20 and bearer.lower() not in str(error).lower() and "***" in str(error)



def test_the_session_tokens_are_masked_in_every_log_record(fake: FakeBluesky) -> None:
    """They are no config value, so the log filter learns them as the session is made: a library's log line
    quoting what a server said of the request (its Authorization) shows no live bearer credential."""
    import logging

    from broadcaster import redaction

    asyncio.run(checked(channel(fake)))
    [bearer] = fake.tokens
    record = logging.LogRecord("atproto_client", logging.DEBUG, __file__, 1, "answer: %s", (f"Bearer {bearer}",), None)
    redaction.RedactingFilter().filter(record)
    assert bearer not in record.getMessage() and "***" in record.getMessage()
