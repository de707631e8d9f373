"""Review 57b of the environment's proxy (channels/_proxy.py): through the real CLI, the fakes and
``tests.proxy_helpers``, as a hostile or careless operator sets HTTPS_PROXY and the others."""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ENGINE, Project
from tests.proxy_helpers import OnLoopback
from tests.test_env_proxy import CHANNELS, post, proxy_env

# -- a password holding '/', '?' or '#' unencoded ----------------------------------------------------------------

# What an operator pastes from a password manager: '/', '?' and '#' end a URL's host part, so httpx (and urllib3,
# and aiohttp) read "deploy" as the host and the password's first piece as its port ("Invalid port: 's3cretHead'").
HEAD, TAIL = "s3cretHead", "Tail9q"


@pytest.mark.parametrize("mark", ["/", "?", "#"], ids=["slash", "question", "hash"])
@pytest.mark.parametrize("kind", ["telegram", "matrix"])
def test_a_password_with_a_character_that_ends_the_host_shows_no_piece_of_it(
        project: Project, kind: str, mark: str) -> None:
    """It was 'the proxy http://deploy:s3cretHead (from $http_proxy) cannot be used (... Invalid port: 's3cretHead')',
    stored and printed: the password's head in clear. Now the proxy is named by its host alone, and the message says
    to percent-encode the character."""
    with CHANNELS[kind]() as channel:
        code, ops, output = post(project, channel, proxy_env(f"http://deploy:{HEAD}{mark}{TAIL}@127.0.0.1:3128"))
        assert channel.received() == 0
    assert code == 3 and ops["state"] == "failed", output
    assert HEAD not in output and TAIL not in output and "deploy" not in ops["error"], ops["error"]
    assert "the proxy http://127.0.0.1:3128 (from $" in ops["error"] and "percent-encoded" in ops["error"], ops
    stored = project.cli("store", "export").output + project.cli("show", ops["incident_id"]).output
    assert HEAD not in stored and TAIL not in stored
    assert all(HEAD.encode() not in f.read_bytes() for f in (project.root / ".broadcaster").iterdir() if f.is_file())


@pytest.mark.parametrize("credentials", [f"deploy:{HEAD}/{TAIL}", f"{HEAD}/{TAIL}"], ids=["password", "key-as-user"])
def test_a_password_with_a_slash_stays_out_of_slacks_debug_log(project: Project, credentials: str) -> None:
    """slack_sdk logs the proxy URL it loaded; the password with a '/' was no password to the config (its URL
    read strictly has none) and no URL's user:password@ to the log's scrub, so it was printed whole. Likewise a
    key given as the user alone (http://KEY@proxy:3128, as some proxies take it) with a '/' in it."""
    from tests.fakes.world import FakeWorld

    with FakeWorld() as world:
        project.write_config(ENGINE + world.channels_toml())
        project.env.update(world.env)
        result = project.cli("--debug", "post", "--yes", "--title", "API errors", "-C", "api", "Errors.",
                             env=proxy_env(f"http://{credentials}@127.0.0.1:9"))
    shown = result.stdout + result.stderr
    assert "HTTP proxy URL has been loaded" in shown
    assert HEAD not in shown and TAIL not in shown


# -- a tunnel that fails after the proxy said yes ----------------------------------------------------------------

class InspectingProxy(OnLoopback):
    """A TLS-inspecting proxy on loopback: answers each ``CONNECT`` 200, then makes the TLS handshake itself (a
    certificate for the target from ``ca``) and relays the plain request to the target's port. The first ``drops``
    tunnels it hangs up on right after its 200 instead (a proxy restarting, an ACL applied late), as a client's
    TLS handshake through it fails."""

    def __init__(self, ca: Any, drops: int) -> None:
        import ssl

        self.connects: list[str] = []
        self._drops = drops
        self._tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(self._tls)
        super().__init__()
        self.url = f"http://{self.address}"

    def _take(self, client: Any) -> None:
        import threading

        threading.Thread(target=self._one, args=(client,), daemon=True).start()

    def _one(self, client: Any) -> None:
        import socket
        import threading

        with client:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = client.recv(4096)
                if not chunk:
                    return
                head += chunk
            target = head.split(b" ", 2)[1].decode()
            self.connects.append(target)
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if len(self.connects) <= self._drops:
                return
            try:
                inside = self._tls.wrap_socket(client, server_side=True)
            except OSError:
                return
            with inside, socket.create_connection(("127.0.0.1", int(target.rpartition(":")[2]))) as upstream:
                threading.Thread(target=_pump, args=(upstream, inside), daemon=True).start()
                _pump(inside, upstream)


def _pump(source: Any, sink: Any) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass


def test_telegram_sends_once_the_proxy_lets_a_tunnel_through_after_some_failed(project: Project, tmp_path: Path) -> None:
    """httpcore keeps a tunnel whose TLS handshake failed after the proxy's 200 in its pool as a connection in use
    (encode/httpcore#1023), and Telegram's pools hold two each: two such failures and every later request of the run
    waited for them and gave
    'did not open the way (PoolTimeout)', the post failed though the proxy let the next tunnel through, and a
    `bot run` stayed so until restarted. The failed tunnel is now closed, and the next attempt goes through."""
    import trustme

    from tests.fakes.telegram import FakeTelegram

    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    token = "123456:AAreview57bTeLeGrAmToKeN"
    proxy = InspectingProxy(ca, drops=2)
    with ExitStack() as stack:
        stack.callback(proxy.close)
        fake = stack.enter_context(FakeTelegram(token=token, chats={-100557: "ops"}))
        project.env.update({"TG": token, "SSL_CERT_FILE": str(ca_file)})
        project.write_config(ENGINE + '[channels.ops]\nvisibility = "internal"\ntype = "telegram"\n'
                             f'token = "${{TG}}"\nchat_ids = [-100557]\napi_url = "https://127.0.0.1:{fake.port}"\n')
        result = project.cli("post", "--yes", "--json", "--title", "API errors", "-C", "api", "Errors.",
                             env=proxy_env(proxy.url))
        [ops] = [d for d in json.loads(result.stdout)["deliveries"] if d["destination"] == "ops"]
        assert ops["state"] == "sent" and len(fake.messages.get(-100557, [])) == 1, (ops, proxy.connects)
    assert len(proxy.connects) == 3 and result.exit_code == 0
