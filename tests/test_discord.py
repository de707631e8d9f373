"""The Discord channel through httpx against FakeDiscord on loopback: posts, threads, edits, faults, check.

Assertions are on what the fake received and kept, never on what the channel believes it sent.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from broadcaster.channels.discord import DiscordChannel

from broadcaster.config import ChannelConfig, Secret
from broadcaster.config_loader import parse
from broadcaster.delivery import SendLog, ThreadRef
from broadcaster.errors import ConfigError, DeliveryError, InputError
from tests.fakes.base import Fault, Response
from tests.fakes.discord import FakeDiscord
from tests.hook_helpers import check_once, delete_once, edit_once, send_once, update, view


@pytest.fixture(scope="module")
def server() -> Any:
    with FakeDiscord() as started:
        yield started


@pytest.fixture
def fake(server: FakeDiscord) -> FakeDiscord:
    server.requests.clear()
    server._faults.clear()
    server.messages.clear()
    server.deleted.clear()
    server.threads.clear()
    server.forum = False
    server.echo_credentials = False
    return server


def channel(fake: FakeDiscord, url: str | None = None, **options: Any) -> DiscordChannel:
    opts = {"webhook_url": Secret("DISCORD_WEBHOOK_URL", url or fake.webhook_url), **options}
    return DiscordChannel(ChannelConfig("discord-status", "discord", api_url=fake.api_url, options=opts))


def error(fake: FakeDiscord, **options: Any) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        send_once(channel(fake, **options), view())
    return caught.value


def test_an_update_is_one_embed_posted_with_wait_and_no_mentions(fake: FakeDiscord) -> None:
    receipt = send_once(channel(fake), view())

    [request] = fake.received("/webhooks/")
    assert request.path == f"/api/webhooks/{fake.webhook_id}/{fake.token}"
    assert request.query == {"wait": ["true"]}
    [message] = fake.messages
    # The id names the webhook that posted it (review 19b: a webhook edits and deletes only its own messages).
    assert receipt.remote_id == f"{message.id}@{fake.webhook_id}" and message.channel_id == fake.channel_id
    assert message.body["allowed_mentions"] == {"parse": []}
    embed = message.embed
    assert embed["title"] == "Investigating: API errors" and embed["url"].endswith("/api-errors.html")
    assert "We are looking into it" in embed["description"]
    assert embed["color"] == 0xE67E22  # major: orange
    assert [f["name"] for f in embed["fields"]] == ["Status", "Impact", "Components"]


def test_follow_ups_in_a_text_channel_post_at_top_level(fake: FakeDiscord) -> None:
    first = send_once(channel(fake), view())
    second = send_once(channel(fake), view(update(2, "Fixed.")), ThreadRef(first.remote_id, first.remote_id))

    assert [m.channel_id for m in fake.messages] == [fake.channel_id] * 2
    assert second.remote_id == f"{fake.messages[1].id}@{fake.webhook_id}"
    assert "thread_id" not in fake.received("/webhooks/")[1].query


def test_a_forum_channel_gets_one_post_per_incident_and_follow_ups_in_it(fake: FakeDiscord) -> None:
    fake.forum = True
    first = send_once(channel(fake), view())
    second = send_once(channel(fake), view(update(2, "Fixed.")), ThreadRef(first.remote_id, first.remote_id))

    refused, opened, follow_up = fake.requests  # the plain post is refused (220001), nothing posted
    assert "thread_name" not in refused.json() and opened.json()["thread_name"] == "API errors"
    thread = fake.messages[0].id
    assert first.remote_id == f"{thread}:{thread}@{fake.webhook_id}"
    assert follow_up.query["thread_id"] == [thread]
    assert second.remote_id == f"{thread}:{fake.messages[1].id}@{fake.webhook_id}"
    assert [m.channel_id for m in fake.messages] == [thread, thread]


def test_a_configured_thread_takes_every_update(fake: FakeDiscord) -> None:
    thread = fake.open_thread()
    receipt = send_once(channel(fake, thread_id=thread), view())

    assert fake.messages[0].channel_id == thread and receipt.remote_id == f"{thread}:{fake.messages[0].id}@{fake.webhook_id}"


def test_an_unknown_configured_thread_is_a_permanent_error_naming_thread_id(fake: FakeDiscord) -> None:
    problem = error(fake, thread_id="900000000000000099")

    assert not problem.retryable and "thread_id" in str(problem)
    assert fake.messages == []


def test_a_deleted_incident_thread_posts_without_it_and_says_so(fake: FakeDiscord) -> None:
    receipt = send_once(channel(fake), view(update(2)), ThreadRef("900000000000000055:1200000000000000001", "900000000000000055:1200000000000000001"))

    assert fake.messages[0].channel_id == fake.channel_id
    assert "gone" in receipt.notes[0]


def test_amend_edits_the_message_and_keeps_mentions_off(fake: FakeDiscord) -> None:
    first = send_once(channel(fake), view())
    receipt = edit_once(channel(fake), view(update(2, "Corrected @everyone <@123>.", kind="correction")), first.remote_id)

    [message] = fake.messages
    assert receipt.remote_id == first.remote_id and len(message.edits) == 1
    [patch] = fake.received("/messages/")
    assert patch.method == "PATCH" and patch.json()["allowed_mentions"] == {"parse": []}
    assert "Corrected @everyone <@123>." in message.shown and message.pings == []


def test_amend_in_a_forum_post_edits_inside_its_thread(fake: FakeDiscord) -> None:
    fake.forum = True
    first = send_once(channel(fake), view())
    edit_once(channel(fake), view(update(2, "Corrected.", kind="correction")), first.remote_id)

    [patch] = fake.received("/messages/")
    assert patch.query["thread_id"] == [fake.messages[0].id] and fake.messages[0].edits


def test_amend_of_a_deleted_message_says_it_cannot_edit_it(fake: FakeDiscord) -> None:
    """The channel posts nothing itself: the engine sends the correction as a new post, rendered as one (review 19e:
    the edit's rendering posted anew repeated the original's status and promise); see test_review19_discord."""
    from broadcaster.errors import NotEditable

    with pytest.raises(NotEditable, match="gone"):
        edit_once(channel(fake), view(update(2, "Corrected.", kind="correction")), "1200000000000000999")
    assert fake.messages == []


def test_delete_removes_each_message_in_its_thread_and_one_already_gone_counts(fake: FakeDiscord) -> None:
    fake.forum = True
    first = send_once(channel(fake), view())
    second = send_once(channel(fake), view(update(2, "Cause found.")), ThreadRef(first.remote_id, first.remote_id))
    fake.messages.remove(fake.messages[1])  # the follow-up deleted by hand already
    assert channel(fake).can_delete
    receipt = delete_once(channel(fake), [first.remote_id, second.remote_id])
    assert receipt.remote_id == first.remote_id and fake.messages == [] and len(fake.deleted) == 1
    deletes = [r for r in fake.requests if r.method == "DELETE"]
    thread = first.remote_id.split(":")[0]
    assert len(deletes) == 2 and all(r.query["thread_id"] == [thread] for r in deletes)


def test_a_delete_refused_names_the_message_and_says_to_delete_by_hand(fake: FakeDiscord) -> None:
    first = send_once(channel(fake), view())
    fake.fail(Fault(match="/messages/", response=Response(403, {"message": "Missing Permissions", "code": 50013})))
    with pytest.raises(DeliveryError) as caught:
        delete_once(channel(fake), [first.remote_id])
    assert not caught.value.retryable and "by hand" in str(caught.value) and fake.messages[0].id in str(caught.value)
    assert fake.token not in str(caught.value)
    fake.rate_limit(1.5)
    with pytest.raises(DeliveryError) as limited:
        delete_once(channel(fake), [first.remote_id])
    assert limited.value.retryable and limited.value.retry_after and not limited.value.outcome_unknown
    assert delete_once(channel(fake), [first.remote_id]).remote_id == first.remote_id and fake.messages == []


def test_a_wrong_token_is_permanent_and_says_where_to_get_the_url(fake: FakeDiscord) -> None:
    wrong = fake.webhook_url.replace(fake.token, "W" * 68)
    problem = error(fake, url=wrong)

    assert not problem.retryable and not problem.outcome_unknown
    assert "DISCORD_WEBHOOK_URL" in str(problem) and "Integrations > Webhooks" in str(problem)
    assert "W" * 68 not in str(problem)


def test_a_deleted_webhook_is_permanent(fake: FakeDiscord) -> None:
    gone = fake.webhook_url.replace(fake.webhook_id, "123456789012345679")
    problem = error(fake, url=gone)
    assert not problem.retryable and "deleted" in str(problem)


def test_429_is_retryable_after_the_wait_discord_asks(fake: FakeDiscord) -> None:
    fake.rate_limit(2.5)
    log = SendLog()
    with pytest.raises(DeliveryError) as caught:
        send_once(channel(fake), view(), log=log)
    problem = caught.value
    assert problem.retryable and problem.retry_after == 3.0 and not problem.outcome_unknown
    assert fake.messages == []
    assert not log.on_wire  # a deadline during the wait records it failed (nothing posted), not unknown


@pytest.mark.parametrize(("status", "unknown"), [(503, False), (500, True), (502, True)], ids=["503", "500", "502"])
def test_server_errors_are_retryable_and_unknown_unless_503(fake: FakeDiscord, status: int, unknown: bool) -> None:
    fake.fail(Fault(response=Response(status, {"message": "oops", "code": 0})))
    problem = error(fake)
    assert problem.retryable and problem.outcome_unknown is unknown


def test_a_lost_answer_is_unknown_never_repeated_by_the_channel(fake: FakeDiscord) -> None:
    fake.fail(Fault(reset_after=True))
    log = SendLog()
    with pytest.raises(DeliveryError) as caught:
        send_once(channel(fake), view(), log=log)

    assert caught.value.outcome_unknown and caught.value.retryable
    assert len(fake.messages) == 1 and len(fake.received("/webhooks/")) == 1
    assert log.on_wire  # the engine records the delivery unknown, not failed


def test_a_confirmed_post_is_never_posted_again(fake: FakeDiscord) -> None:
    receipt = send_once(channel(fake), view(), log=SendLog(parts=["1200000000000000042"]))
    assert receipt.remote_id == "1200000000000000042" and fake.requests == []


def test_a_connection_refused_is_retryable_and_not_unknown(fake: FakeDiscord) -> None:
    config = ChannelConfig("d", "discord", api_url="http://127.0.0.1:9/api",
                           options={"webhook_url": Secret("V", fake.webhook_url)})
    with pytest.raises(DeliveryError) as caught:
        send_once(DiscordChannel(config), view())
    assert caught.value.retryable and not caught.value.outcome_unknown


def test_the_token_never_reaches_logs_or_errors(fake: FakeDiscord, caplog: pytest.LogCaptureFixture) -> None:
    fake.echo_credentials = True
    fake.fail(Fault(response=Response(400, {"message": "bad", "code": 50035})))
    with caplog.at_level(logging.DEBUG):
        problem = error(fake)
    assert fake.token not in str(problem) and fake.token.lower() not in str(problem).lower()
    assert "***" in str(problem)
    assert fake.token not in caplog.text and "webhooks/123456789012345678/***" in caplog.text  # httpx's own log line


def test_check_names_the_webhook_and_posts_nothing(fake: FakeDiscord) -> None:
    [result] = check_once(channel(fake))
    assert result.ok and "'Status'" in result.detail and fake.channel_id in result.detail
    assert fake.messages == []


def test_check_with_a_wrong_token_fails_without_showing_it(fake: FakeDiscord) -> None:
    wrong = fake.webhook_url.replace(fake.token, "W" * 68)
    [result] = check_once(channel(fake, url=wrong))
    assert not result.ok and "token" in result.detail and "W" * 68 not in result.detail


@pytest.mark.parametrize("url", [
    "https://evil.example.com/api/webhooks/123456789012345678/" + "t" * 68,
    "http://discord.com/api/webhooks/123456789012345678/" + "t" * 68,
    "https://discord.com/api/webhooks/123456789012345678",
    "https://discord.com/api/webhooks/123456789012345678/" + "t" * 68 + "?wait=false",
], ids=["other-host", "http", "no-token", "query"])
def test_the_config_refuses_what_is_not_a_discord_webhook_url_without_printing_it(url: str) -> None:
    table = {"type": "discord", "webhook_url": "${HOOK}"}
    with pytest.raises(ConfigError) as caught:
        parse({"channels": {"d": table}}, None, {"HOOK": url})
    assert "${HOOK}" in str(caught.value) and "discord.com/api/webhooks/<id>/<token>" in str(caught.value)
    assert "t" * 68 not in str(caught.value)


def test_the_config_wants_the_url_from_the_environment_and_a_numeric_thread() -> None:
    with pytest.raises(ConfigError, match="environment variable"):
        parse({"channels": {"d": {"type": "discord", "webhook_url": "https://discord.com/api/webhooks/1/x"}}}, None, {})
    with pytest.raises(ConfigError, match="thread_id"):
        parse({"channels": {"d": {"type": "discord", "webhook_url": "${H}", "thread_id": "general"}}}, None, {})


def test_remote_ids_from_what_an_operator_copies(fake: FakeDiscord) -> None:
    assert channel(fake).remote_id_from(" 1200000000000000001 ", "") == "1200000000000000001"
    assert channel(fake, thread_id="900000000000000077").remote_id_from("1200000000000000001", "") == (
        "900000000000000077:1200000000000000001")
    with pytest.raises(InputError, match="Copy Message ID"):
        channel(fake).remote_id_from("https://discord.com/channels/1/2/3", "")


def test_an_internal_update_naming_many_customers_with_long_detail_is_accepted_and_amended(fake: FakeDiscord) -> None:
    # Found in review: six customers' --for detail and a note passed the 6,000 of an embed; Discord
    # answered 400 and the internal delivery failed for good.
    from tests.test_discord_format import crowded

    opts = {"webhook_url": Secret("DISCORD_WEBHOOK_URL", fake.webhook_url)}
    ops = DiscordChannel(ChannelConfig("discord-ops", "discord", "internal", api_url=fake.api_url, options=opts))
    internal = crowded(6, private_note="edge router fra-2 lost BGP " * 180, tickets=("INC-1234",), author="dana")
    receipt = send_once(ops, internal)
    edit_once(ops, crowded(30, "Fixed. " * 700, private_note="n" * 5000), receipt.remote_id)

    [message] = fake.messages
    assert f"{message.id}@{fake.webhook_id}" == receipt.remote_id and message.embed["description"].startswith("Fixed. Fixed.")
    assert "We are looking into it." in fake.received("/webhooks/")[0].json()["embeds"][0]["description"]
    assert any(f["name"].startswith("🔒 …and ") for f in message.embed["fields"])
