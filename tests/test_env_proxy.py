"""Feature 55c: the environment's proxy (``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY``, ``NO_PROXY``, either case) on
the channels whose transport is our own (Telegram, Discord, Teams, signed webhooks) and on Matrix (nio's aiohttp),
by httpx's rules, as Slack, X, Mastodon, Bluesky and boto3 already took it.

Through the real CLI and SDKs to the loopback fakes, with a real forwarding proxy between
(``tests.proxy_helpers.ForwardingProxy``): the fakes are http://, so the proxy receives absolute-form requests
and relays them; the fake receiving the post shows it got through. ``NO_PROXY=127.0.0.1`` goes around it. A proxy's
credentials reach it as ``Proxy-Authorization`` and never show, even with ``--debug``. A proxy that refuses the
tunnel (an https:// URL: ``CONNECT``), or that nothing answers at, fails the delivery, retryable, naming the proxy
without its credentials."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import ENGINE, Project
from tests.ports import free_port
from tests.proxy_helpers import ForwardingProxy, RefusingProxy

PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")
PROXY_USER, PROXY_PASSWORD = "deploy", "Pr0xyPass-55c-x7q"


def proxy_env(url: str, *, no_proxy: str = "") -> dict[str, str]:
    """Every proxy variable set to ``url`` (a test's own environment may hold others), ``NO_PROXY`` to ``no_proxy``."""
    return {**dict.fromkeys(PROXY_VARIABLES, url), "NO_PROXY": no_proxy, "no_proxy": no_proxy}


@dataclass
class Channel:
    """One channel on its fake: its table, and how to tell the fake got the post."""

    table: str
    env: dict[str, str]
    received: Callable[[], int]
    secret: str


@contextmanager
def telegram() -> Iterator[Channel]:
    from tests.fakes.telegram import FakeTelegram

    token = "123456:AAproxyTeLeGrAmToKeN55c"
    with FakeTelegram(token=token, chats={-100555: "ops"}) as fake:
        yield Channel(f'type = "telegram"\ntoken = "${{TG}}"\nchat_ids = [-100555]\napi_url = "{fake.url}"\n',
                      {"TG": token}, lambda: len(fake.messages.get(-100555, [])), token)


@contextmanager
def discord() -> Iterator[Channel]:
    from tests.fakes.discord import FakeDiscord

    with FakeDiscord() as fake:
        yield Channel(f'type = "discord"\nwebhook_url = "${{HOOK}}"\napi_url = "{fake.api_url}"\n',
                      {"HOOK": fake.webhook_url}, lambda: len(fake.messages), fake.token)


@contextmanager
def teams() -> Iterator[Channel]:
    from tests.fakes.teams import FakeTeams

    with FakeTeams() as fake:
        yield Channel(f'type = "teams"\nwebhook_url = "${{HOOK}}"\napi_url = "{fake.url}"\n',
                      {"HOOK": fake.webhook_url}, lambda: len(fake.cards), fake.sig)


@contextmanager
def webhook() -> Iterator[Channel]:
    from tests.fakes.webhook import SECRET, FakeReceiver

    with FakeReceiver() as fake:
        yield Channel(f'type = "webhook"\nurl = "{fake.hook_url}"\nsecret = "${{HOOK}}"\n',
                      {"HOOK": SECRET}, lambda: len(fake.events), SECRET)


@contextmanager
def matrix() -> Iterator[Channel]:
    from tests.fakes.matrix import FakeMatrix

    token = "syt_cHJveHk_PrOxYmAtRiXtOkEn_55c"
    room = "!ops:example.org"
    with FakeMatrix(token=token, rooms=[room]) as fake:
        yield Channel(f'type = "matrix"\nhomeserver = "{fake.url}"\naccess_token = "${{MX}}"\nroom_id = "{room}"\n',
                      {"MX": token}, lambda: len(fake.events[room]), token)


CHANNELS: dict[str, Callable[[], Any]] = {
    "telegram": telegram, "discord": discord, "teams": teams, "webhook": webhook, "matrix": matrix,
}


def post(project: Project, channel: Channel, env: dict[str, str], *extra: str) -> tuple[int, dict[str, Any], str]:
    project.env.update(channel.env)
    project.write_config(ENGINE + "[channels.ops]\nvisibility = \"internal\"\n" + channel.table)
    result = project.cli("post", "--yes", "--json", *extra, "--title", "API errors", "-C", "api", "Errors.", env=env)
    [ops] = [d for d in json.loads(result.stdout)["deliveries"] if d["destination"] == "ops"]
    return result.exit_code, ops, result.output


@pytest.mark.parametrize("kind", list(CHANNELS))
def test_a_post_goes_through_the_environments_proxy(project: Project, kind: str) -> None:
    proxy = ForwardingProxy()
    with ExitStack() as stack:
        stack.callback(proxy.close)
        channel = stack.enter_context(CHANNELS[kind]())
        code, ops, output = post(project, channel, proxy_env(proxy.url))
        assert code == 0 and ops["state"] == "sent", output
        assert channel.received() == 1
    assert proxy.targets() and all(t.split(" ")[1].startswith("http://127.0.0.1:") for t in proxy.targets()), (
        proxy.targets())  # absolute-form: the proxy was asked to relay it


@pytest.mark.parametrize("kind", list(CHANNELS))
def test_no_proxy_goes_around_it(project: Project, kind: str) -> None:
    proxy = ForwardingProxy()
    with ExitStack() as stack:
        stack.callback(proxy.close)
        channel = stack.enter_context(CHANNELS[kind]())
        code, ops, output = post(project, channel, proxy_env(proxy.url, no_proxy="127.0.0.1"))
        assert code == 0 and ops["state"] == "sent", output
        assert channel.received() == 1
    assert proxy.relayed == []


@pytest.mark.parametrize("kind", list(CHANNELS))
def test_a_proxys_credentials_reach_it_and_never_show(project: Project, kind: str) -> None:
    proxy = ForwardingProxy(credentials=f"{PROXY_USER}:{PROXY_PASSWORD}")
    url = f"http://{PROXY_USER}:{PROXY_PASSWORD}@{proxy.address}"
    with ExitStack() as stack:
        stack.callback(proxy.close)
        channel = stack.enter_context(CHANNELS[kind]())
        code, ops, output = post(project, channel, proxy_env(url), "--debug")
        assert code == 0 and ops["state"] == "sent", output
        assert channel.received() == 1
    wanted = "Basic " + base64.b64encode(f"{PROXY_USER}:{PROXY_PASSWORD}".encode()).decode()
    assert proxy.relayed and all(h.get("proxy-authorization") == wanted for _, h in proxy.relayed), proxy.relayed
    assert proxy.refused == []
    assert PROXY_PASSWORD not in output and wanted.split()[1] not in output


@pytest.mark.parametrize("kind", list(CHANNELS))
def test_a_proxy_without_the_credentials_it_asks_for_fails_retryable_naming_it(project: Project, kind: str) -> None:
    """An https:// service behind a proxy that answers the tunnel's CONNECT with 407: nothing left."""
    proxy = RefusingProxy(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
    url = f"http://{PROXY_USER}:{PROXY_PASSWORD}@{proxy.address}"
    with ExitStack() as stack:
        stack.callback(proxy.close)
        channel = stack.enter_context(CHANNELS[kind]())
        channel.table = _https(channel.table)
        code, ops, output = post(project, channel, proxy_env(url), "--debug")
    assert proxy.received and all(r.startswith(b"CONNECT ") for r in proxy.received), proxy.received
    assert code == 3, output
    assert ops["state"] == "failed" and "may or may not" not in ops["error"], ops
    assert f"the proxy http://{proxy.address} (from $" in ops["error"] and "credentials" in ops["error"], ops
    assert PROXY_PASSWORD not in output and PROXY_USER not in ops["error"]


@pytest.mark.parametrize("kind", list(CHANNELS))
def test_a_proxy_nothing_answers_at_fails_retryable_naming_it(project: Project, kind: str) -> None:
    url = f"http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:{free_port()}"
    with CHANNELS[kind]() as channel:
        code, ops, output = post(project, channel, proxy_env(url))
        assert channel.received() == 0
    assert code == 3, output
    assert ops["state"] == "failed" and "may or may not" not in ops["error"], ops
    assert "the proxy http://127.0.0.1:" in ops["error"] and "NO_PROXY" in ops["error"], ops
    assert PROXY_PASSWORD not in output and channel.secret not in output


def _https(table: str) -> str:
    """The table with its service's URL made https:// on a port nothing holds (the proxy never lets it through)."""
    import re

    return re.sub(r"http://127\.0\.0\.1:\d+", f"https://127.0.0.1:{free_port()}", table)


@pytest.mark.parametrize("value", ["socks5://{user}:{password}@127.0.0.1:1080", "ftp://{user}:{password}@proxy:21",
                                   "proxy.corp:notaport", "http://{user}:{password}@[bad",
                                   "http://{user}:{password}@127.0.0.1:99999", "http://{user}:sec\x07{password}@p:3128"],
                         ids=["socks", "ftp", "port-word", "bracket", "port-range", "control"])
@pytest.mark.parametrize("kind", ["telegram", "discord", "matrix"])
def test_a_proxy_that_cannot_be_used_fails_saying_so_never_unexpected(project: Project, kind: str, value: str) -> None:
    """httpx raised as the client was made (an 'unexpected error'), or the request failed as one that may have
    arrived: nothing left, and the variable is named, never its credentials."""
    url = value.format(user=PROXY_USER, password=PROXY_PASSWORD)
    with CHANNELS[kind]() as channel:
        code, ops, output = post(project, channel, proxy_env(url))
        assert channel.received() == 0
    assert code == 3, output
    assert ops["state"] == "failed" and "unexpected" not in ops["error"] and "may or may not" not in ops["error"], ops
    assert "cannot be used" in ops["error"] and "_proxy" in ops["error"].lower(), ops
    assert PROXY_PASSWORD not in output and "\x07" not in output


@pytest.mark.parametrize("kind", list(CHANNELS))
def test_a_no_proxy_entry_httpx_cannot_read_fails_saying_which(project: Project, kind: str) -> None:
    """``NO_PROXY=[::1]``: a plain httpx client raises as it is made; which hosts were meant direct is not known."""
    with CHANNELS[kind]() as channel:
        code, ops, output = post(project, channel, proxy_env("http://127.0.0.1:9", no_proxy="[::1],127.0.0.1"))
        assert channel.received() == 0
    assert code == 3, output
    assert ops["state"] == "failed" and "'[::1]'" in ops["error"] and "without brackets" in ops["error"], ops


@pytest.mark.parametrize("kind", list(CHANNELS))
def test_a_forwarding_proxy_refusing_the_credentials_is_failed_and_retry_sends_it_once_they_are_right(
        project: Project, kind: str) -> None:
    """An http:// service: the proxy answers the request itself with 407. It went no further (Discord, Teams and
    webhooks said 'refused the request (HTTP 407)', not to be retried; Matrix likewise)."""
    proxy = ForwardingProxy(credentials=f"{PROXY_USER}:{PROXY_PASSWORD}")
    with ExitStack() as stack:
        stack.callback(proxy.close)
        channel = stack.enter_context(CHANNELS[kind]())
        code, ops, output = post(project, channel, proxy_env(f"http://{PROXY_USER}:wrong-{PROXY_PASSWORD}@{proxy.address}"))
        assert code == 3 and ops["state"] == "failed" and channel.received() == 0, output
        assert f"the proxy http://{proxy.address} (from $" in ops["error"] and "407" in ops["error"], ops
        assert "refused the credentials" in ops["error"] and PROXY_PASSWORD not in output, ops
        retried = project.cli("retry", env=proxy_env(f"http://{PROXY_USER}:{PROXY_PASSWORD}@{proxy.address}"))
        assert retried.exit_code == 0, retried.output
        assert channel.received() == 1


def test_teams_check_makes_its_handshake_through_the_environments_proxy(project: Project) -> None:
    """``channels check`` for Teams connects to the flow's host and hangs up (no request): it connected directly,
    so behind an egress proxy it said the host could not be reached while posts went through, or the reverse."""
    proxy = ForwardingProxy(credentials=f"{PROXY_USER}:{PROXY_PASSWORD}")
    with ExitStack() as stack:
        stack.callback(proxy.close)
        channel = stack.enter_context(teams())
        project.env.update(channel.env)
        project.write_config(ENGINE + "[channels.ops]\n" + channel.table)
        good = proxy_env(f"http://{PROXY_USER}:{PROXY_PASSWORD}@{proxy.address}")
        checked = project.cli("channels", "check", env=good)
        assert checked.exit_code == 0, checked.output
        assert [t.split(" ")[0] for t in proxy.targets()] == ["CONNECT"] and channel.received() == 0
        around = project.cli("channels", "check", env={**good, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"})
        assert around.exit_code == 0 and len(proxy.relayed) == 1, around.output
        wrong = project.cli("channels", "check", env=proxy_env(f"http://{PROXY_USER}:wrong@{proxy.address}"))
    said = " ".join(wrong.output.split())  # the table's cell, its lines joined
    assert wrong.exit_code == 3, wrong.output
    assert f"the proxy http://{proxy.address} (from $" in said and "refused the credentials" in said, said
    assert PROXY_PASSWORD not in checked.output + around.output + wrong.output
