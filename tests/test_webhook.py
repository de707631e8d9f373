"""The signed webhook through httpx against a receiver that verifies with the ``standardwebhooks`` library itself."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from broadcaster.channels.webhook import WebhookChannel
from broadcaster.messages import webhook as fmt

from broadcaster.config import ChannelConfig, Secret
from broadcaster.config_loader import parse
from broadcaster.errors import ConfigError, DeliveryError, InputError
from tests.fakes.base import Fault, Response
from tests.fakes.webhook import SECRET, FakeReceiver
from tests.hook_helpers import check_once, edit_once, send_once, update, view


@pytest.fixture(scope="module")
def server() -> Any:
    with FakeReceiver() as started:
        yield started


@pytest.fixture
def fake(server: FakeReceiver) -> FakeReceiver:
    server.requests.clear()
    server._faults.clear()
    server.events.clear()
    server.ids.clear()
    server.repeats = 0
    server.answer = 200
    server.secret = SECRET
    server.required_headers = {}
    server.echo_credentials = False
    return server


def channel(fake: FakeReceiver, secret: str = SECRET, visibility: str = "public", **options: Any) -> WebhookChannel:
    opts = {"url": fake.hook_url, "secret": Secret("HOOK_SECRET", secret), **options}
    return WebhookChannel(ChannelConfig(f"hook-{visibility}", "webhook", visibility, options=opts))


def error(fake: FakeReceiver, **kw: Any) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        send_once(channel(fake, **kw), view())
    return caught.value


def test_an_update_is_a_signed_event_the_library_verifies(fake: FakeReceiver) -> None:
    receipt = send_once(channel(fake), view())

    [event] = fake.events
    assert event["type"] == "incident.updated" and event["timestamp"] == "2026-11-25T14:01:00Z"
    data = event["data"]
    assert data["version"] == 1 and data["visibility"] == "public"
    assert data["incident"]["id"] == "api-errors" and data["update"]["sequence"] == 1
    assert data["update"]["message"] == "We are looking into it."
    assert receipt.remote_id == f"1:{fake.ids[0]}" and fake.ids[0].startswith("msg_")
    [request] = fake.requests
    assert request.headers["content-type"] == "application/json"


def test_a_public_event_holds_no_private_field_and_a_private_one_does(fake: FakeReceiver) -> None:
    upd = update(message="Errors [private]for ACME[/private].", private_note="edge fra-2", customers=("ACME",))
    send_once(channel(fake), view(upd))
    send_once(channel(fake, visibility="private"), view(upd, private=True))

    public, private = fake.events
    assert "private" not in public["data"]["update"] and "ACME" not in str(public)
    assert public["data"]["update"]["message"] == "Errors."
    assert private["data"]["update"]["private"]["customers"] == ["ACME"]
    assert private["data"]["update"]["message"] == "Errors for ACME."


def test_a_retry_sends_the_same_webhook_id_and_the_receiver_drops_it(fake: FakeReceiver) -> None:
    fake.fail(Fault(reset_after=True))  # the event arrives, its answer is lost
    with pytest.raises(DeliveryError) as caught:
        send_once(channel(fake), view())
    assert caught.value.retryable and not caught.value.outcome_unknown  # a repeat is harmless here

    send_once(channel(fake), view())  # a later run's retry
    first, second = fake.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert len(fake.events) == 1 and fake.repeats == 1


def test_each_update_and_each_channel_has_its_own_id(fake: FakeReceiver) -> None:
    send_once(channel(fake), view())
    send_once(channel(fake), view(update(2)))
    other = WebhookChannel(ChannelConfig("hook-2", "webhook", options={"url": fake.hook_url,
                                                                        "secret": Secret("S", SECRET)}))
    send_once(other, view())
    assert len(set(fake.ids)) == 3


def test_amend_sends_update_amended_for_the_corrected_update(fake: FakeReceiver) -> None:
    first = send_once(channel(fake), view())
    edit_once(channel(fake), view(update(3, "Corrected.", kind="correction", extra={"corrects": "1"})), first.remote_id)
    edit_once(channel(fake), view(update(4, "Corrected again.", kind="correction", extra={"corrects": "1"})),
              first.remote_id)

    _, amended, again = fake.events
    assert amended["type"] == "update.amended"
    assert amended["data"]["update"]["sequence"] == 1 and amended["data"]["correction"] == {"sequence": 3}
    assert amended["data"]["update"]["message"] == "Corrected."
    assert again["data"]["correction"] == {"sequence": 4}  # a second correction is not dropped as a repeat


def test_a_wrong_secret_is_refused_by_the_receiver_and_said_plainly(fake: FakeReceiver) -> None:
    problem = error(fake, secret="whsec_" + "A" * 32)
    assert not problem.retryable and "401" in str(problem) and "whsec_" in str(problem)
    assert fake.events == []


def test_410_is_permanent(fake: FakeReceiver) -> None:
    fake.answer = 410
    problem = error(fake)
    assert not problem.retryable and "410 Gone" in str(problem)


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_429_and_5xx_are_retried_never_unknown(fake: FakeReceiver, status: int) -> None:
    fake.fail(Fault(response=Response(status, {"error": "busy"}, headers={"retry-after": "4"})))
    problem = error(fake)
    assert problem.retryable and not problem.outcome_unknown
    if status in (429, 503):
        assert problem.retry_after == 4


def test_a_redirect_is_not_followed(fake: FakeReceiver) -> None:
    fake.fail(Fault(response=Response(307, b"", headers={"location": "https://elsewhere.example/hook"})))
    problem = error(fake)
    assert not problem.retryable and "elsewhere.example" in str(problem) and len(fake.requests) == 0


def test_configured_headers_are_sent_and_secret_ones_kept_out_of_errors(fake: FakeReceiver, caplog: Any) -> None:
    fake.required_headers = {"Authorization": "Bearer hook-auth-token-123"}
    headers = {"Authorization": Secret("HOOK_AUTH", "Bearer hook-auth-token-123"), "X-Tenant": "acme"}
    send_once(channel(fake, headers=headers), view())
    assert len(fake.events) == 1 and fake.requests[0].headers["x-tenant"] == "acme"

    fake.answer = 400
    fake.echo_credentials = True
    with caplog.at_level(logging.DEBUG):
        problem = error(fake, headers=headers)
    assert "hook-auth-token-123" not in str(problem) and "hook-auth-token-123" not in caplog.text


def test_check_pings_with_a_signed_event(fake: FakeReceiver) -> None:
    [good] = check_once(channel(fake))
    assert good.ok and fake.events[0]["type"] == "check.ping"
    [bad] = check_once(channel(fake, secret="whsec_" + "B" * 32))
    assert not bad.ok and "401" in bad.detail


@pytest.mark.parametrize(("secret", "ok"), [
    (SECRET, True),
    ("whsec_" + "A" * 20, False),  # 15 bytes: too short
    ("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD!", False),  # a stray character the library would drop
    ("C2FVsBQIhrscChlQIMV+b5sSYspob7oD", False),  # no prefix
], ids=["good", "short", "stray", "no-prefix"])
def test_the_secret_is_checked_strictly_and_never_printed(secret: str, ok: bool) -> None:
    table = {"type": "webhook", "url": "https://hooks.example.com/x", "secret": "${S}"}
    if ok:
        parse({"channels": {"h": table}}, None, {"S": secret})
        return
    with pytest.raises(ConfigError) as caught:
        parse({"channels": {"h": table}}, None, {"S": secret})
    assert "${S}" in str(caught.value) and secret not in str(caught.value)


@pytest.mark.parametrize(("options", "words"), [
    ({"url": "http://hooks.example.com/x"}, "https://"),
    ({"url": "ftp://hooks.example.com/x"}, "https://"),
    ({"url": "https://h.example.com", "headers": {"webhook-id": "x"}}, "reserved"),
    ({"url": "https://h.example.com", "headers": {"X-A": "a\r\nX-Evil: 1"}}, "one-line"),
    ({"url": "https://h.example.com", "headers": "X-A: 1"}, "table"),
    ({"url": "https://hooks.example.com:port/x"}, "https://"),
    ({"url": "https://hooks.example.com[/x"}, "https://"),
], ids=["http", "ftp", "reserved-header", "header-injection", "headers-not-table", "port-not-a-number",
        "unclosed-bracket"])
def test_the_config_refuses_bad_urls_and_headers(options: dict[str, Any], words: str) -> None:
    table = {"type": "webhook", "secret": "${S}", **options}
    with pytest.raises(ConfigError, match=words):
        parse({"channels": {"h": table}}, None, {"S": SECRET})


def test_a_url_from_the_environment_is_a_secret_and_one_with_a_password_in_the_file_is_refused(
    fake: FakeReceiver,
) -> None:
    hidden = WebhookChannel(ChannelConfig("hook-env", "webhook", options={
        "url": Secret("HOOK_URL", fake.hook_url + "?token=url-token-4711"), "secret": Secret("S", SECRET)}))
    send_once(hidden, view())
    assert fake.requests[0].query == {"token": ["url-token-4711"]}
    assert fake.hook_url + "?token=url-token-4711" in hidden.secret_values()
    with pytest.raises(ConfigError, match="password written in the file") as caught:
        parse({"channels": {"h": {"type": "webhook", "url": "https://u:pw-4711@h.example.com/x", "secret": "${S}"}}},
              None, {"S": SECRET})
    assert "pw-4711" not in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        parse({"channels": {"h": {"type": "webhook", "url": "ftp://u:pw-4711@h.example.com/x", "secret": "${S}"}}},
              None, {"S": SECRET})
    assert "pw-4711" not in str(caught.value)


def test_remote_ids_and_the_event_schema(fake: FakeReceiver) -> None:
    assert channel(fake).remote_id_from(" 2:msg_abc ", "") == "2:msg_abc"
    with pytest.raises(InputError):
        channel(fake).remote_id_from("msg_abc", "")
    assert set(fmt.event(view())["data"]["incident"]) == {
        "id", "title", "kind", "impact", "status", "url", "created_at", "resolved_at", "scheduled_start",
        "scheduled_end", "components"}


def _shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v) for v in value[:1]]
    return None


def test_the_readme_documents_the_event_as_it_is_sent() -> None:
    import json
    import re

    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Webhook events"):]
    documented = json.loads(re.search(r"```json\n(.*?)\n```", section, re.S).group(1))  # type: ignore[union-attr]
    sent = fmt.event(view())
    assert _shape(documented) == _shape(sent)
    assert documented["data"]["version"] == fmt.SCHEMA_VERSION


SECRET_PATH = "/hooks/catch/123/ZAPSECRETabcdef/"


@pytest.mark.parametrize("answer", [
    Response(400, f"<pre>Cannot POST {SECRET_PATH}</pre>", content_type="text/html"),  # Express's default page
    Response(302, b"", headers={"location": f"http://127.0.0.1:1{SECRET_PATH}"}),
], ids=["echoed-path", "redirect"])
def test_the_token_in_a_secret_urls_path_is_never_shown(fake: FakeReceiver, answer: Response) -> None:
    """Found by a review: a url given as ${VAR} was masked only whole, and receivers quote its path."""
    hidden = WebhookChannel(ChannelConfig("hook-env", "webhook", options={
        "url": Secret("HOOK_URL", fake.url + SECRET_PATH), "secret": Secret("S", SECRET)}))
    fake.fail(Fault(response=answer))
    with pytest.raises(DeliveryError) as caught:
        send_once(hidden, view())
    assert "ZAPSECRET" not in str(caught.value).upper() and "***" in str(caught.value)
    assert "webhook" in hidden.redact("the webhook receiver")  # plain words of a path stay readable


def test_the_words_dates_and_versions_of_a_secret_url_stay_readable_in_errors() -> None:
    """Found by the fix review: every query value became a secret ("json" masked in a content type)."""
    hidden = WebhookChannel(ChannelConfig("hook-env", "webhook", options={"secret": Secret("S", SECRET), "url": Secret(
        "HOOK_URL", "https://prod-00.westus.logic.azure.com/workflows/1f2e3d4c5b6a79880011aabbccddeeff/triggers/manual/"
        "paths/invoke?api-version=2016-10-01&sp=%2Ftriggers%2Fmanual%2Frun&format=json&sig=AbCdEfGhIjKlMnOpQrStUvWx012")}))
    said = 'expected application/json since 2016-10-01 at /triggers/manual/run; sig AbCdEfGhIjKlMnOpQrStUvWx012'
    assert hidden.redact(said) == 'expected application/json since 2016-10-01 at /triggers/manual/run; sig ***'
    assert "1f2e3d4c5b6a79880011aabbccddeeff" not in hidden.redact("POST /workflows/1f2e3d4c5b6a79880011aabbccddeeff/x")


@pytest.mark.parametrize("kind", ["webhook", "teams", "discord"])
def test_a_url_set_after_the_load_that_urlsplit_refuses_fails_its_send_with_advice(kind: str) -> None:
    """Found by a review: a ${VAR} url the loader never saw (its variable unset then, in a long-running process)
    and urlsplit refuses (an unclosed "[") raised a bare ValueError from the error path that masks secrets."""
    from broadcaster.destinations import remember_secrets_of
    from broadcaster.registry import load_channel_class

    options: dict[str, Any] = {"url": Secret("HOOK_URL", "https://[hooks.example.com/x?sig=abc")}
    if kind == "webhook":
        options["secret"] = Secret("HOOK_SECRET", SECRET)
    hook = load_channel_class(kind)(ChannelConfig("h", kind, "public", options=options))
    remember_secrets_of(hook)
    with pytest.raises(DeliveryError) as caught:
        send_once(hook, view())
    assert not caught.value.retryable and "[hooks" not in str(caught.value)
    assert "HOOK_URL" in str(caught.value) or "webhook URL" in str(caught.value) or "trigger URL" in str(caught.value)
