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
import os
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
    fake: Any = None


@contextmanager
def telegram() -> Iterator[Channel]:
    from tests.fakes.telegram import FakeTelegram

    token = "123456:AAproxyTeLeGrAmToKeN55c"
    with FakeTelegram(token=token, chats={-100555: "ops"}) as fake:
        yield Channel(f'type = "telegram"\ntoken = "${{TG}}"\nchat_ids = [-100555]\napi_url = "{fake.url}"\n',
                      {"TG": token}, lambda: len(fake.messages.get(-100555, [])), token, fake)


@contextmanager
def discord() -> Iterator[Channel]:
    from tests.fakes.discord import FakeDiscord

    with FakeDiscord() as fake:
        yield Channel(f'type = "discord"\nwebhook_url = "${{HOOK}}"\napi_url = "{fake.api_url}"\n',
                      {"HOOK": fake.webhook_url}, lambda: len(fake.messages), fake.token, fake)


@contextmanager
def teams() -> Iterator[Channel]:
    from tests.fakes.teams import FakeTeams

    with FakeTeams() as fake:
        yield Channel(f'type = "teams"\nwebhook_url = "${{HOOK}}"\napi_url = "{fake.url}"\n',
                      {"HOOK": fake.webhook_url}, lambda: len(fake.cards), fake.sig, fake)


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
                      {"MX": token}, lambda: len(fake.events[room]), token, fake)


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


RULES = [  # (environment, URL, the proxy a plain httpx client takes for it)
    ({"HTTPS_PROXY": "http://a:1", "HTTP_PROXY": "http://b:2"}, "https://api.telegram.org/x", "http://a:1"),
    ({"HTTPS_PROXY": "http://a:1", "HTTP_PROXY": "http://b:2"}, "http://127.0.0.1:8081/x", "http://b:2"),
    ({"ALL_PROXY": "http://c:3"}, "https://discord.com/api", "http://c:3"),
    ({"HTTPS_PROXY": "proxy.corp:3128"}, "https://discord.com/api", "http://proxy.corp:3128"),  # no scheme: http://
    ({"https_proxy": "http://low:1", "HTTPS_PROXY": "http://up:2"}, "https://x.example/", "http://low:1"),
    ({"HTTPS_PROXY": "http://a:1", "NO_PROXY": ".corp"}, "https://flows.corp/x", None),
    ({"HTTPS_PROXY": "http://a:1", "NO_PROXY": ".corp"}, "https://corp/x", "http://a:1"),
    ({"HTTPS_PROXY": "http://a:1", "NO_PROXY": "corp"}, "https://flows.corp/x", None),
    ({"HTTPS_PROXY": "http://a:1", "NO_PROXY": "10.0.0.1, localhost"}, "https://10.0.0.1:8443/", None),
    ({"HTTPS_PROXY": "http://a:1", "NO_PROXY": "10.0.0.1, localhost"}, "https://localhost/", None),
    ({"HTTPS_PROXY": "http://a:1", "NO_PROXY": "*"}, "https://x.example/", None),
    ({"HTTPS_PROXY": "http://a:1", "NO_PROXY": "::1"}, "https://[::1]:8448/", None),
    ({"HTTP_PROXY": "http://b:2"}, "https://x.example/", None),
    ({"NO_PROXY": "x.example"}, "https://x.example/", None),
]


@pytest.mark.parametrize(("env", "url", "expected"), RULES)
def test_the_proxy_taken_is_the_one_a_plain_httpx_client_takes(
        monkeypatch: pytest.MonkeyPatch, env: dict[str, str], url: str, expected: str | None) -> None:
    import httpx
    from broadcaster.channels import _proxy

    for name in (*PROXY_VARIABLES, "NO_PROXY", "no_proxy", "REQUEST_METHOD"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert _proxy.proxy_for(url) == expected
    chosen = httpx.Client()._transport_for_url(httpx.URL(url))  # what httpx mounts for it (test-only look)
    pool = getattr(chosen, "_pool", None)
    proxied = getattr(pool, "_proxy_url", None)
    shown = None if proxied is None else f"{proxied.scheme.decode()}://{proxied.host.decode()}:{proxied.port}"
    assert shown == expected


def test_no_proxy_variable_imports_nothing() -> None:
    """The post path is timed (bench/fanout.py): without a proxy variable, asking for one imports no httpx."""
    import subprocess
    import sys

    probe = ("import os, sys\n"
             "from broadcaster.channels import _proxy\n"
             "assert _proxy.proxy_for('https://api.telegram.org/') is None and _proxy.environment_proxies() == {}\n"
             "print('httpx' in sys.modules)\n")
    env = {k: v for k, v in os.environ.items() if k.lower() not in {v.lower() for v in PROXY_VARIABLES}}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize("answer", [b"", b"SSH-2.0-OpenSSH_9.6\r\n\r\n"], ids=["hangs-up", "not-http"])
@pytest.mark.parametrize("kind", list(CHANNELS))
def test_a_proxy_that_never_opens_the_tunnel_is_failed_not_unknown(project: Project, kind: str, answer: bytes) -> None:
    """A proxy that hangs up on the CONNECT (an ACL that drops), or answers what is not HTTP: the request never
    left, but it was 'may or may not have been posted' (unknown), holding every later update there back."""
    proxy = RefusingProxy(answer)
    with ExitStack() as stack:
        stack.callback(proxy.close)
        channel = stack.enter_context(CHANNELS[kind]())
        channel.table = _https(channel.table)
        code, ops, output = post(project, channel, proxy_env(f"http://{PROXY_USER}:{PROXY_PASSWORD}@{proxy.address}"))
    assert proxy.received and all(r.startswith(b"CONNECT ") for r in proxy.received), proxy.received
    assert code == 3 and ops["state"] == "failed" and "may or may not" not in ops["error"], ops
    assert f"the proxy http://{proxy.address} (from $" in ops["error"], ops
    assert PROXY_PASSWORD not in output and PROXY_USER not in ops["error"]


@pytest.mark.parametrize("kind", ["telegram", "discord", "teams", "matrix"])
def test_a_post_lost_after_the_proxy_relayed_it_stays_unknown(project: Project, kind: str) -> None:
    """The other side of the above: once the request went through the proxy, a lost answer may hide a post."""
    from tests.fakes.base import Fault

    proxy = ForwardingProxy()
    with ExitStack() as stack:
        stack.callback(proxy.close)
        channel = stack.enter_context(CHANNELS[kind]())
        channel.fake.fail(*[Fault(reset_after=True) for _ in range(4)])
        code, ops, output = post(project, channel, proxy_env(proxy.url))
        assert channel.received() == 1
    assert proxy.relayed
    assert code == 3 and ops["state"] == "unknown" and "may or may not" in ops["error"], ops


@pytest.mark.parametrize("kind", list(CHANNELS))
def test_an_http_url_is_never_sent_in_clear_to_a_proxy_elsewhere(project: Project, kind: str) -> None:
    """An http:// URL is allowed only to this machine (its token would cross the network in clear text). Through an
    http:// proxy elsewhere it would, path and token and all (and that proxy reads 127.0.0.1 as itself): refused,
    nothing sent, saying to list the host in NO_PROXY."""
    with CHANNELS[kind]() as channel:
        code, ops, output = post(project, channel,
                                 proxy_env(f"http://{PROXY_USER}:{PROXY_PASSWORD}@proxy.invalid:3128"))
        assert channel.received() == 0
    assert code == 3 and ops["state"] == "failed", output
    assert "the proxy http://proxy.invalid:3128 (from $" in ops["error"] and "NO_PROXY" in ops["error"], ops
    assert "is not on this machine" in ops["error"] and PROXY_PASSWORD not in output, ops
