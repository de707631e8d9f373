"""Proxies on loopback: one that refuses (a tunnel the proxy never opens), one that relays and records."""

from __future__ import annotations

import socket
import threading


class OnLoopback:
    """A server on a free loopback port, taking each connection as it comes (``_take``) until closed."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._server.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            self._take(client)

    def _take(self, client: socket.socket) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self._server.close()


class RefusingProxy(OnLoopback):
    """Reads what it is sent, answers ``answer`` (nothing: hangs up) and closes, for every connection."""

    def __init__(self, answer: bytes) -> None:
        self.received: list[bytes] = []
        self._answer = answer
        super().__init__()

    def _take(self, client: socket.socket) -> None:
        with client:
            client.settimeout(2)
            try:
                self.received.append(client.recv(4096))
                client.sendall(self._answer)
            except OSError:
                pass


class ForwardingProxy(OnLoopback):
    """An HTTP proxy on loopback that relays what it is asked to and records each request it took.

    An absolute-form request (``POST http://127.0.0.1:PORT/path HTTP/1.1``, what a client sends for an http://
    URL) is forwarded to its host; a ``CONNECT host:port`` (an https:// URL, or a client that tunnels everything)
    opens a tunnel and relays bytes both ways. Each is recorded in ``relayed`` as its request line and headers
    (lower-case names). With ``credentials`` ("user:password"), a request without that ``Proxy-Authorization``
    is answered 407 and relayed nowhere. One request per connection: the answer says ``Connection: close``.
    """

    def __init__(self, credentials: str = "") -> None:
        import base64

        self.relayed: list[tuple[str, dict[str, str]]] = []
        self.refused: list[tuple[str, dict[str, str]]] = []
        self._wanted = f"Basic {base64.b64encode(credentials.encode()).decode()}" if credentials else ""
        super().__init__()
        self.url = f"http://{self.address}"

    def _take(self, client: socket.socket) -> None:
        threading.Thread(target=self._one, args=(client,), daemon=True).start()

    def _one(self, client: socket.socket) -> None:
        with client:
            client.settimeout(10)
            try:
                head, rest = _read_head(client)
            except OSError:
                return
            if not head:
                return
            line, *header_lines = head.decode("latin-1").split("\r\n")
            headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines if h)}
            if self._wanted and headers.get("proxy-authorization") != self._wanted:
                self.refused.append((line, headers))
                client.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"t\"\r\n"
                               b"Content-Length: 0\r\nConnection: close\r\n\r\n")
                return
            self.relayed.append((line, headers))
            method, target, _version = line.split(" ", 2)
            try:
                if method == "CONNECT":
                    self._tunnel(client, target)
                else:
                    self._forward(client, method, target, header_lines, rest)
            except OSError:
                return

    @staticmethod
    def _tunnel(client: socket.socket, target: str) -> None:
        host, _, port = target.rpartition(":")
        with socket.create_connection((host.strip("[]"), int(port)), timeout=10) as upstream:
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            _relay(client, upstream)

    @staticmethod
    def _forward(client: socket.socket, method: str, target: str, header_lines: list[str], rest: bytes) -> None:
        from urllib.parse import urlsplit

        parts = urlsplit(target)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        kept = [h for h in header_lines if h and h.split(":", 1)[0].strip().lower()
                not in ("proxy-authorization", "proxy-connection", "connection")]
        head = "\r\n".join([f"{method} {path or '/'} HTTP/1.1", *kept, "Connection: close", "", ""]).encode("latin-1")
        length = next((int(h.split(":", 1)[1]) for h in kept if h.lower().startswith("content-length:")), 0)
        body = rest
        while len(body) < length:
            chunk = client.recv(65536)
            if not chunk:
                break
            body += chunk
        with socket.create_connection((parts.hostname or "", parts.port or 80), timeout=10) as upstream:
            upstream.sendall(head + body)
            answer_head, answer_rest = _read_head(upstream)
            lines = [h for h in answer_head.decode("latin-1").split("\r\n")
                     if h and not h.lower().startswith("connection:")]
            client.sendall("\r\n".join([*lines, "Connection: close", "", ""]).encode("latin-1") + answer_rest)
            while chunk := upstream.recv(65536):
                client.sendall(chunk)

    def targets(self) -> list[str]:
        """What each relayed request asked for: ``POST http://127.0.0.1:PORT/...`` or ``CONNECT host:port``."""
        return [" ".join(line.split(" ")[:2]) for line, _ in self.relayed]


def _read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    """A request's or answer's head (up to the blank line) and what came after it."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data, b""
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _relay(a: socket.socket, b: socket.socket) -> None:
    """Bytes both ways until either side hangs up."""
    import selectors

    a.settimeout(None)
    b.settimeout(None)
    with selectors.DefaultSelector() as selector:
        selector.register(a, selectors.EVENT_READ, b)
        selector.register(b, selectors.EVENT_READ, a)
        while True:
            events = selector.select(timeout=30)
            if not events:
                return
            for key, _ in events:
                source: socket.socket = key.fileobj  # type: ignore[assignment]
                chunk = source.recv(65536)
                if not chunk:
                    return
                key.data.sendall(chunk)
