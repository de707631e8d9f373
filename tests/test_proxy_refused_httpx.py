"""A proxy from the environment (``HTTPS_PROXY``) that refuses the tunnel (``CONNECT`` answered 403 or 407) to
Bluesky, whose client (atproto's httpx) takes it: httpcore raises ``ProxyError`` before a byte of the request is
written, so the service saw nothing, and the delivery is ``failed`` and retryable, never ``unknown`` ("may or may
not"), which would hold every later update there back until a human looks. X's and Slack's cases:
tests/test_review47c_proxy.py and tests/test_fix20j.py. Telegram, Discord, Teams, webhooks and Matrix (their transports
our own, or nio's aiohttp): tests/test_env_proxy.py."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ENGINE, Project
from tests.ports import free_port
from tests.proxy_helpers import RefusingProxy

CHANNELS = {
    "bluesky": ('type = "bluesky"\nhandle = "acme.bsky.social"\napp_password = "${{SECRET}}"\napi_url = "{url}"\n',
                "bsky-proxy-pass-f0a1"),
}


@pytest.mark.parametrize("answer", [b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n",
                                    b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n"],
                         ids=["403", "407"])
@pytest.mark.parametrize("kind", list(CHANNELS))
def test_a_tunnel_the_proxy_refuses_is_failed_not_unknown(project: Project, kind: str, answer: bytes) -> None:
    table, secret = CHANNELS[kind]
    proxy = RefusingProxy(answer)
    project.env["SECRET"] = secret
    project.write_config(ENGINE + "[channels.ops]\n" + table.format(url=f"https://127.0.0.1:{free_port()}/"))
    env = {name: f"http://{proxy.address}" for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")}
    env.update(NO_PROXY="", no_proxy="")
    try:
        posted = project.cli("post", "--yes", "--json", "--only", "ops", "--title", "API errors", "-C", "api",
                             "Errors.", env=env)
    finally:
        proxy.close()
    assert proxy.received and all(r.startswith(b"CONNECT ") for r in proxy.received), proxy.received
    assert posted.exit_code == 3, posted.output
    [ops] = [d for d in json.loads(posted.stdout)["deliveries"] if d["destination"] == "ops"]
    assert ops["state"] == "failed" and "may or may not" not in ops["error"], ops
    assert "proxy" in ops["error"].lower(), ops
    assert secret not in posted.output
