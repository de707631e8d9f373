"""A reverse proxy on loopback that adds a fixed delay to every request, like a distant server.

Put it in front of a fake that has no latency of its own (moto's S3 server, say)
to see how the code under test behaves when each round trip costs what it
costs across the internet::

    with S3Server() as s3, LatencyProxy(s3.url, latency=0.3) as slow:
        ... point the code at slow.url ...

The request is forwarded as received (method, path, headers, body: a SigV4
signature still matches, since the Host header is passed through), after
``latency`` seconds. The answer comes back as the upstream gave it.
"""

from __future__ import annotations

import http.client
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import urlsplit

# Hop-by-hop headers belong to one connection and are not forwarded (RFC 9110 7.6.1).
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


class LatencyProxy:
    """Forwards every request to ``upstream`` (``http://host:port``) after ``latency`` seconds."""

    def __init__(self, upstream: str, latency: float) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.latency = latency
        self.count = 0  # requests forwarded
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> Self:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def _serve(self) -> None:
                body = self._read_body()
                time.sleep(proxy.latency)
                with proxy._lock:
                    proxy.count += 1
                connection = http.client.HTTPConnection(*proxy.upstream, timeout=60)
                try:
                    connection.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                    for key, value in self.headers.items():
                        if key.lower() not in _HOP_BY_HOP and key.lower() != "content-length":
                            connection.putheader(key, value)
                    connection.putheader("Content-Length", str(len(body)))
                    connection.endheaders(body)
                    response = connection.getresponse()
                    payload = response.read()
                    headers = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
                finally:
                    connection.close()
                self.send_response(response.status)
                for key, value in headers:
                    if key.lower() != "content-length":
                        self.send_header(key, value)
                # A HEAD answer announces the length of a body it does not carry.
                given = next((v for k, v in headers if k.lower() == "content-length"), None)
                self.send_header("Content-Length", given if self.command == "HEAD" and given else str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            def _read_body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while size := int(self.rfile.readline().split(b";")[0], 16):
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                    self.rfile.readline()
                    return b"".join(chunks)
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = _serve

        return _Handler
