"""Review 23g: two mistakes of the e-mail channel's SMTP host, found while checking ``is_loopback``'s callers (fixed):

* the SMTP ``host`` reaches ``is_loopback`` as written, while every other caller (matrix's homeserver, the git
  remote, config_loader's api_url/endpoint_url) passes ``urlsplit(...).hostname``, lower-cased: "LOCALHOST" is this
  machine for Matrix and refused for e-mail (over-refusal, and the operator told the password would cross the network);
* ``host = "[::1]"`` passes the host pattern and ``is_loopback`` (which strips the brackets), but the brackets reach
  aiosmtplib, whose getaddrinfo cannot read them: a config that is accepted and can never connect.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from broadcaster.channels.email import EmailChannel

from broadcaster.config import ChannelConfig, Secret
from broadcaster.config_loader import parse
from broadcaster.errors import ConfigError
from broadcaster.registry import load_channel_class

PASSWORD = "smtp-pass-Secret-42"


def _email(host: str) -> dict[str, Any]:
    return {"type": "email", "host": host, "security": "none", "username": "status", "password": "${SMTP_PASSWORD}",
            "from": "status@example.com", "to": ["ops@example.com"]}


def test_matrix_takes_localhost_in_capitals_as_this_machine() -> None:
    """The reference: Matrix's homeserver (urlsplit's hostname, lower-cased) takes it."""
    load_channel_class("matrix").validate_options(
        {"homeserver": "http://LOCALHOST:8008", "access_token": Secret("T", "t"), "room_id": "!a:example.org"}, "")


def test_an_smtp_relay_named_localhost_in_capitals_is_this_machine_too() -> None:
    """'LOCALHOST' (which resolves to 127.0.0.1 like 'localhost') was refused: '"none" would send the password in
    clear text to LOCALHOST': the host reaches is_loopback as written, which compared it with "localhost"."""
    assert socket.getaddrinfo("LOCALHOST", 25, type=socket.SOCK_STREAM)[0][4][0] == "127.0.0.1"
    try:
        parse({"channels": {"mail": _email("LOCALHOST")}}, None, {"SMTP_PASSWORD": PASSWORD})
    except ConfigError as exc:
        pytest.fail(f"refused a relay on this machine: {exc}")


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.parametrize(("written", "listen"), [("[::1]", "::1"), ("[127.0.0.1]", "127.0.0.1"),
                                               ("127.0.0.1:{port}", "127.0.0.1"), ("::1", "::1"),
                                               ("127.0.0.1", "127.0.0.1")],
                         ids=["ipv6-in-brackets", "ipv4-in-brackets", "host-with-its-port", "ipv6", "ipv4"])
def test_an_smtp_host_the_config_takes_can_be_reached(written: str, listen: str) -> None:
    """The host pattern (then ``^\\[?[0-9A-Fa-f:.]+\\]?$``) took "[::1]", "[127.0.0.1]" and
    "127.0.0.1:2525", and is_loopback strips the brackets; but the host reaches aiosmtplib as written, and getaddrinfo
    reads none of them: every send and check fails ('Name or service not known'), and with a password and
    security = "none" the refusal says the password would cross the network to "127.0.0.1:2525". Either strip the
    brackets before connecting, or refuse brackets and a ':port' in host, naming the form to write."""
    from aiosmtpd.controller import Controller

    if listen == "::1" and not _ipv6_loopback():
        pytest.skip("no IPv6 loopback here")

    class Accept:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            return "250 OK"

    family = socket.AF_INET6 if ":" in listen else socket.AF_INET
    with socket.socket(family) as sock:
        sock.bind((listen, 0))
        port = sock.getsockname()[1]
    host = written.format(port=port)
    try:
        # A relay that needs no login (no username, password): the host alone is checked.
        no_login = {k: v for k, v in _email(host).items() if k not in ("username", "password")}
        parse({"channels": {"mail": {**no_login, "port": port}}}, None, {})
    except ConfigError as refused:
        assert "[" in written or "{port}" in written, f"a bare address was refused: {refused}"
        assert "no brackets; the port goes in port" in str(refused), refused  # what to write instead
        return  # refused up front, before anything is stored: fine
    server = Controller(Accept(), hostname=listen, port=port)
    server.start()
    try:
        channel = EmailChannel(ChannelConfig("mail", "email", options={
            "host": host, "port": port, "security": "none", "from": "status@example.com", "to": ["ops@example.com"]}))
        channel.request_timeout = 2.0
        results = asyncio.run(channel.check())
    finally:
        server.stop()
    assert all(r.ok for r in results), results


def test_a_host_written_with_its_login_is_refused_without_showing_the_password() -> None:
    """``host = "status:S3cret@smtp.example.com"`` is no host: refused, and the error (printed, and in any log) shows
    the host alone, not the password written into it (``host`` is no secret option, so nothing else masks it)."""
    with pytest.raises(ConfigError) as refused:
        parse({"channels": {"mail": {**_email("status:" + PASSWORD + "@smtp.example.com")}}}, None,
              {"SMTP_PASSWORD": PASSWORD})
    assert PASSWORD not in str(refused.value) and "'smtp.example.com'" in str(refused.value), refused.value
    assert "username and password" in str(refused.value), refused.value  # where a login goes
