"""Review 17d (the wire): redirects never followed with a credential, and answers that are not the service's.

* A 3xx is never followed by a channel's client: it would carry the token (Slack's urllib copies every header but
  ``Content-*``) or the body (a 307 resends it, a login's password included) to wherever it points.
* A 2xx whose body is not the service's (a proxy's page, an empty body, an "ok" without the message) may come
  after the post was made: ``unknown`` (or ``sent`` once a keyed repeat reads the real answer), never ``failed``,
  which a plain ``retry`` would post a second time; and never ``sent`` without the message's id.
* An answer that posted nothing (a redirect, a proxy's 407 or 413) is a failure a plain ``retry`` resends, never
  "the connection broke" (``unknown``, which it never resends).

Each test drives the real CLI against the fakes; ``served_then_garbled`` lets a request take effect (or not) and
replaces its answer, as a proxy between broadcaster and the service would.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import Project
from tests.fakes.base import FakeServer, Fault, Request, Response
from tests.fakes.discord import FakeDiscord
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram
from tests.social import B_PASSWORD, M_TOKEN
from tests.test_interrupted_send import mastodon_alone

HTML = Response(200, "<html><body>Request accepted by gateway</body></html>", content_type="text/html")
EMPTY = Response(200, b"", content_type="application/json")
BODIES = {"html": HTML, "empty": EMPTY}

TG_TOKEN = "123456:tg-token-wire17"
CHAT = -1001917
SLACK_TOKEN = "xoxb-wire17-token"
SLACK_CHANNEL = "C0WIRE17001"
ENGINE = "[engine]\ntimeout = 2\ndeadline = 20\nmax_attempts = 3\n\n"


def served_then_garbled(fake: FakeServer, path_part: str, answer: Response, *, serve: bool = True,
                        times: int = 1) -> None:
    """The first ``times`` requests whose path holds ``path_part`` take effect (when ``serve``), but the
    client gets ``answer`` back: a proxy that forwarded the request and mangled the service's answer."""
    real: Callable[[Request], Response] = fake.dispatch
    left = {"n": times}

    def dispatch(request: Request) -> Response:
        if path_part in request.path and left["n"] > 0:
            left["n"] -= 1
            if serve:
                real(request)
            return answer
        return real(request)

    fake.dispatch = dispatch  # type: ignore[method-assign]


def post(project: Project, *args: str) -> dict[str, Any]:
    result = project.cli("post", "--yes", "--json", "--title", "API errors", *args, "Elevated API errors.")
    assert result.stdout.strip(), (result.exit_code, result.output)
    payload: dict[str, Any] = json.loads(result.stdout)
    return {"exit": result.exit_code, "output": result.output, **payload}


def state_of(payload: dict[str, Any], destination: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [d for d in payload["deliveries"] if d["destination"] == destination]
    [delivery] = found
    return delivery


def elsewhere_server() -> FakeServer:
    """Another host, answering anything: what a redirect points at."""
    server = FakeServer()
    for method in ("GET", "POST", "PUT"):
        server.route(method, r".*", lambda request, found: Response(200, {"ok": False, "error": "elsewhere"}))
    return server


def redirect_to(elsewhere: FakeServer, status: int = 302) -> Response:
    target = elsewhere.url.replace("127.0.0.1", "localhost") + "/landing"
    return Response(status, b"", headers={"Location": target}, content_type="text/plain")


def telegram_config(project: Project, fake: FakeTelegram, max_attempts: int = 3) -> None:
    project.env["TG_TOKEN"] = TG_TOKEN
    project.write_config(f'[engine]\ntimeout = 2\ndeadline = 20\nmax_attempts = {max_attempts}\n\n[channels.ops]\n'
                         f'type = "telegram"\nvisibility = "private"\ntoken = "${{TG_TOKEN}}"\n'
                         f'chat_ids = [{CHAT}]\napi_url = "{fake.url}"\n')


def slack_config(project: Project, fake: FakeSlack) -> None:
    project.env["SLACK_TOKEN"] = SLACK_TOKEN
    project.write_config(f'{ENGINE}[channels.status]\ntype = "slack"\ntoken = "${{SLACK_TOKEN}}"\n'
                         f'channel = "{SLACK_CHANNEL}"\napi_url = "{fake.api_url}"\n')


# -- 1. Slack: a redirect is refused, never followed with the bot token ----------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307])
def test_slack_redirect_is_refused_and_the_bot_token_goes_nowhere_else(project: Project, status: int) -> None:
    elsewhere = elsewhere_server()
    with elsewhere, FakeSlack(token=SLACK_TOKEN, channels={SLACK_CHANNEL: "status"}) as fake:
        slack_config(project, fake)
        served_then_garbled(fake, "chat.postMessage", redirect_to(elsewhere, status), serve=False)
        first = post(project)
        assert elsewhere.requests == []  # not followed: nothing, the token least of all, reached the other host
        delivery = state_of(first, "status")
        assert delivery["state"] == "failed", delivery
        assert "localhost" in delivery["error"] and "api_url" in delivery["error"], delivery["error"]
        assert SLACK_TOKEN not in first["output"]
        assert project.cli("retry", first["incident_id"]).exit_code == 0  # nothing was posted: retry posts it
        assert len(fake.messages[SLACK_CHANNEL]) == 1


# -- 3. Telegram and Slack: a garbled 2xx is unknown ------------------------------------------------------


@pytest.mark.parametrize("body", sorted(BODIES))
def test_telegram_2xx_garbled_after_posting_is_unknown_and_not_resent(project: Project, body: str) -> None:
    with FakeTelegram(token=TG_TOKEN, chats={CHAT: "ops"}, enforce_limits=False) as fake:
        telegram_config(project, fake)
        served_then_garbled(fake, "sendMessage", BODIES[body])
        first = post(project)
        delivery = state_of(first, "ops")
        assert delivery["state"] == "unknown", delivery
        assert "may or may not have been posted" in delivery["error"]
        project.cli("retry", first["incident_id"])
        assert len(fake.messages[CHAT]) == 1


@pytest.mark.parametrize("body", [*sorted(BODIES), "ok-without-ts"])
def test_slack_2xx_garbled_after_posting_is_unknown_and_not_resent(project: Project, body: str) -> None:
    with FakeSlack(token=SLACK_TOKEN, channels={SLACK_CHANNEL: "status"}) as fake:
        slack_config(project, fake)
        served_then_garbled(fake, "chat.postMessage", BODIES.get(body) or Response(200, {"ok": True}))
        first = post(project)
        delivery = state_of(first, "status")
        assert delivery["state"] == "unknown", delivery
        assert "may or may not have been done" in delivery["error"]
        project.cli("retry", first["incident_id"])
        assert len(fake.messages[SLACK_CHANNEL]) == 1


def test_slack_refusal_in_a_200_is_still_a_refusal(project: Project) -> None:
    """Slack answers its own refusals with 200 and {"ok": false, "error": ...}: those stay failed."""
    with FakeSlack(token=SLACK_TOKEN, channels={SLACK_CHANNEL: "status"}) as fake:
        slack_config(project, fake)
        served_then_garbled(fake, "chat.postMessage", Response(200, {"ok": False, "error": "not_in_channel"}),
                            serve=False)
        delivery = state_of(post(project), "status")
        assert delivery["state"] == "failed" and "/invite" in delivery["error"], delivery


# -- 4/5. Mastodon, Matrix, X: a garbled 2xx is not a refusal ---------------------------------------------


def test_mastodon_2xx_html_after_posting_is_settled_by_the_keyed_repeat_not_failed(project: Project) -> None:
    """The Idempotency-Key makes one repeat safe: it reads the real answer, so the delivery is sent with the
    status's id (or unknown if the repeat fails too), never failed and posted again by a plain retry."""
    with FakeMastodon() as fake:
        fake.reset(token=M_TOKEN)
        mastodon_alone(project, fake)
        served_then_garbled(fake, "/api/v1/statuses", HTML)
        delivery = state_of(post(project), "masto")
        [status_id] = list(fake.statuses)
        assert delivery["state"] == "sent" and delivery["remote_id"] == f"{status_id}@1001@mastodon.example", delivery


def test_mastodon_2xx_html_twice_is_unknown(project: Project) -> None:
    with FakeMastodon() as fake:
        fake.reset(token=M_TOKEN)
        mastodon_alone(project, fake)
        served_then_garbled(fake, "/api/v1/statuses", HTML, times=5)
        first = post(project)
        delivery = state_of(first, "masto")
        assert delivery["state"] == "unknown", delivery
        for status in fake.statuses.values():  # an hour later: the instance no longer holds the key
            status.idempotency_key = ""
        project.cli("retry", first["incident_id"])
        assert len(fake.statuses) == 1


def test_mastodon_200_with_an_unreadable_rate_limit_header_is_not_a_rate_limit(project: Project) -> None:
    with FakeMastodon() as fake:
        fake.reset(token=M_TOKEN)
        mastodon_alone(project, fake)
        real = fake.dispatch

        def dispatch(request: Request) -> Response:
            answer = real(request)
            if "/api/v1/statuses" in request.path and request.method == "POST":
                answer = Response(answer.status, answer.body, {**answer.headers, "X-RateLimit-Reset": "soon"},
                                  answer.content_type)
            return answer

        fake.dispatch = dispatch  # type: ignore[method-assign]
        first = post(project)
        delivery = state_of(first, "masto")
        # The header it cannot read is left out, and the answer read as what it is: posted, its id known.
        [status] = fake.statuses.values()
        assert delivery["state"] == "sent" and delivery["remote_id"] == f"{status.id}@{status.account_id}@mastodon.example", delivery
        fake.dispatch = real  # type: ignore[method-assign]
        for status in fake.statuses.values():
            status.idempotency_key = ""
        project.cli("retry", first["incident_id"])
        assert len(fake.statuses) == 1


def test_matrix_2xx_html_after_posting_is_unknown(project: Project) -> None:
    from tests.fakes.matrix import FakeMatrix

    room = "!ops:example.org"
    with FakeMatrix(token="syt_wire17_token", rooms=[room]) as fake:
        matrix_config(project, fake)
        served_then_garbled(fake, "/send/", HTML)
        first = post(project)
        delivery = state_of(first, "mx")
        assert delivery["state"] == "unknown", delivery
        project.cli("retry", first["incident_id"])
        assert len(fake.events[room]) == 1


def test_x_2xx_html_after_posting_is_unknown(project: Project) -> None:
    from tests.fakes.twitter import FakeX

    with FakeX(bearer_token="x-wire17-token") as fake:
        x_config(project, fake)
        served_then_garbled(fake, "/2/tweets", HTML)
        first = post(project)
        delivery = state_of(first, "x")
        assert delivery["state"] == "unknown", delivery
        project.cli("retry", first["incident_id"])
        assert len(fake.tweets) == 1


# -- 6. Discord: a 2xx without the message is never sent -------------------------------------------------


def discord_config(project: Project, fake: FakeDiscord) -> None:
    project.env["DISCORD_WEBHOOK_URL"] = fake.webhook_url
    project.write_config(f'{ENGINE}[channels.discord]\ntype = "discord"\nwebhook_url = "${{DISCORD_WEBHOOK_URL}}"\n'
                         f'api_url = "{fake.api_url}"\n')


@pytest.mark.parametrize("forwarded", [False, True], ids=["eaten", "forwarded"])
def test_discord_2xx_without_the_message_is_unknown_not_sent(project: Project, forwarded: bool) -> None:
    """Eaten by a proxy or forwarded and its answer mangled: broadcaster cannot tell, so it is in doubt (a resend
    could show it twice), never ``sent`` with no id (nothing left to retry when the proxy ate it)."""
    with FakeDiscord() as fake:
        discord_config(project, fake)
        served_then_garbled(fake, "/webhooks/", HTML, serve=forwarded)
        first = post(project)
        delivery = state_of(first, "discord")
        assert delivery["state"] == "unknown", delivery
        assert first["exit"] != 0
        assert "held no message" in delivery["error"] and fake.webhook_url not in first["output"]
        assert len(fake.messages) == (1 if forwarded else 0)


# -- 7. Telegram: an answer that posted nothing is a failure retry resends --------------------------------

NOT_POSTED = {
    "302-moved": Response(302, b"", headers={"Location": "https://elsewhere.example/bot/sendMessage"},
                          content_type="text/plain"),
    "407-proxy-auth": Response(407, "<html>Proxy Authentication Required</html>", content_type="text/html",
                               headers={"Proxy-Authenticate": "Basic realm=corp"}),
    "413-too-large": Response(413, "<html>413 Request Entity Too Large</html>", content_type="text/html"),
}


@pytest.mark.parametrize("answer", sorted(NOT_POSTED))
def test_telegram_answer_that_posted_nothing_is_failed_and_resent_by_retry(project: Project, answer: str) -> None:
    with FakeTelegram(token=TG_TOKEN, chats={CHAT: "ops"}, enforce_limits=False) as fake:
        telegram_config(project, fake, max_attempts=2)
        fake.fail(*[Fault(match="sendMessage", response=NOT_POSTED[answer]) for _ in range(2)])
        first = post(project)
        delivery = state_of(first, "ops")
        assert delivery["state"] == "failed", delivery
        assert "nothing was posted" in delivery["error"] and "may or may not" not in delivery["error"]
        assert answer.split("-")[0] in delivery["error"]  # the status, for the operator to look up
        assert TG_TOKEN not in first["output"]
        assert not fake.messages.get(CHAT)
        assert project.cli("retry", first["incident_id"]).exit_code == 0
        assert len(fake.messages[CHAT]) == 1


# -- 1, the other SDK channels: a redirect is refused, never followed with a credential or a post -----------


def bluesky_config(project: Project, fake: FakeServer) -> None:
    project.env["BSKY_PASSWORD"] = B_PASSWORD
    project.write_config(f'{ENGINE}[channels.sky]\ntype = "bluesky"\nhandle = "acme.bsky.social"\n'
                         f'app_password = "${{BSKY_PASSWORD}}"\napi_url = "{fake.url}"\n')


def x_config(project: Project, fake: FakeServer) -> None:
    project.env["X_TOKEN"] = "x-wire17-token"
    project.write_config(f'{ENGINE}[channels.x]\ntype = "twitter"\nbearer_token = "${{X_TOKEN}}"\n'
                         f'api_url = "{fake.url}"\n')


def matrix_config(project: Project, fake: FakeServer) -> None:
    project.env["MATRIX_TOKEN"] = "syt_wire17_token"
    project.write_config(f'{ENGINE}[channels.mx]\ntype = "matrix"\nvisibility = "private"\n'
                         f'homeserver = "{fake.url}"\naccess_token = "${{MATRIX_TOKEN}}"\n'
                         'room_id = "!ops:example.org"\n')


def masto_config(project: Project, fake: FakeServer) -> None:
    fake.reset(token=M_TOKEN)  # type: ignore[attr-defined]
    mastodon_alone(project, fake)  # type: ignore[arg-type]


def _fake(kind: str) -> FakeServer:
    from tests.fakes.bluesky import FakeBluesky
    from tests.fakes.matrix import FakeMatrix
    from tests.fakes.twitter import FakeX

    makers: dict[str, Callable[[], FakeServer]] = {
        "bluesky": lambda: FakeBluesky(password=B_PASSWORD),
        "mastodon": FakeMastodon,
        "x": lambda: FakeX(bearer_token="x-wire17-token"),
        "matrix": lambda: FakeMatrix(token="syt_wire17_token", rooms=["!ops:example.org"]),
    }
    return makers[kind]()


# (channel, its config, the request redirected, the destination's name, the secret that must not leave)
REDIRECTED = {
    "bluesky-login": ("bluesky", bluesky_config, "createSession", "sky", B_PASSWORD),
    "bluesky-post": ("bluesky", bluesky_config, "createRecord", "sky", B_PASSWORD),
    "mastodon": ("mastodon", masto_config, "/api/v1/statuses", "masto", M_TOKEN),
    "x": ("x", x_config, "/2/tweets", "x", "x-wire17-token"),
    "matrix": ("matrix", matrix_config, "/send/", "mx", "syt_wire17_token"),
}


@pytest.mark.parametrize("status", [302, 307])
@pytest.mark.parametrize("case", sorted(REDIRECTED))
def test_sdk_channel_refuses_a_redirect(project: Project, case: str, status: int) -> None:
    """A 307 resends the body (Bluesky's login holds the app password; a Matrix post a private room's text) to
    wherever it points; a 302 turns the post into a GET whose answer was read as the service's ("unknown").
    Refused: nothing reaches the other host, and the delivery is failed (nothing was posted) naming the host."""
    kind, configure, path, destination, secret = REDIRECTED[case]
    elsewhere = elsewhere_server()
    with elsewhere, _fake(kind) as fake:
        configure(project, fake)
        served_then_garbled(fake, path, redirect_to(elsewhere, status), serve=False)
        first = post(project)
        assert elsewhere.requests == []
        delivery = state_of(first, destination)
        assert delivery["state"] == "failed", delivery
        assert "redirect to localhost" in delivery["error"] and "nothing was" in delivery["error"], delivery["error"]
        assert secret not in first["output"]
