"""A small threaded HTTP server for fakes of real APIs.

A fake subclasses ``FakeServer`` and registers handlers with ``route``. Every
request is recorded (``requests``) after its body is parsed (JSON, form or
multipart-free form encoding). Faults queued with ``fail`` are served to the
next matching requests before the real handler runs, which is how tests inject
429s, 5xx, hangs and connection resets through the real client libraries.
Some faults let the request take effect first, as a real service does when only
its answer is lost: ``hold`` answers late, ``reset_after`` drops the connection
instead of answering. ``after=N`` lets N matching requests through untouched
before the fault applies (the fifth part of a post, say).

``echo_credentials = True`` makes every error answer (a fault's canned one
too) repeat the credentials the request carried (``credentials``), verbatim,
URL-quoted and in other letter cases, as a misconfigured proxy or a
self-hosted API may.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, quote, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    form: dict[str, Any]
    at: float
    # When its answer started back (the S3 proxy records it): a request that arrived later may depend on it.
    answered: float = float("inf")
    peer: tuple[str, int] = ("", 0)  # the client's address and port: one connection

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Response:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


@dataclass
class Fault:
    """One scripted misbehaviour: a canned response, a hang, or a connection reset."""

    match: str = ""  # substring of the path; "" matches every request
    response: Response | None = None
    hang: float = 0.0
    reset: bool = False
    hold: float = 0.0  # serve the request (it takes effect), but answer only after this long
    reset_after: bool = False  # serve the request (it takes effect), then reset instead of answering
    after: int = 0  # let this many matching requests through before this fault applies
    delay: float = 0.0  # the request reaches the service only after this long (slow in transit), then is served
    # And only a request this holds true of (its parameters: which chat, which channel), where ``match`` alone
    # would take whichever of several concurrent requests came first.
    when: Callable[[Request], bool] | None = None


Handler = Callable[[Request, "re.Match[str]"], Response]


def echo_of(credentials: list[str]) -> str:
    """Credentials as a careless server or proxy echoes them: verbatim, URL-quoted, in other letter cases."""
    forms: list[str] = []
    for value in credentials:
        for form in (value, quote(value, safe=""), value.upper(), value.lower(), value.swapcase()):
            if form not in forms:
                forms.append(form)
    return " ".join(forms)


def with_echo(response: Response, echo: str) -> Response:
    """``response`` with ``echo`` added to every text it holds, if it is an error answer.

    Every string of a JSON error body gets it (the codes too: a client may print
    any field), and a text body (a proxy's HTML page) gets it appended.
    """
    body = response.body
    failed = response.status >= 400 or (isinstance(body, dict) and body.get("ok") is False)
    if not failed or not echo:
        return response
    if isinstance(body, bytes | str):
        text = body.decode(errors="replace") if isinstance(body, bytes) else body
        return replace(response, body=f"{text} (request was {echo})")
    return replace(response, body=_echo_strings(body, echo))


def _echo_strings(value: Any, echo: str) -> Any:
    if isinstance(value, str):
        return f"{value} (request was {echo})"
    if isinstance(value, dict):
        return {k: _echo_strings(v, echo) for k, v in value.items()}
    if isinstance(value, list):
        return [_echo_strings(v, echo) for v in value]
    return value


class ListeningServer(ThreadingHTTPServer):
    """A loopback HTTP server whose backlog takes every connection a client opens at once: with the
    default of 5, the kernel drops the SYNs of the rest and they arrive a second later (a client
    posting to 7 endpoints together, or an upload round of 20 files, would be timed wrongly)."""

    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet when the client went away (a connection it kept alive, closed with a reset), as a real
        server would be; any other error is printed as ``socketserver`` does. The print would land in
        the output of a CLI run in the test's process, which tests search for tracebacks."""
        import sys

        if isinstance(sys.exc_info()[1], ConnectionResetError | BrokenPipeError | ConnectionAbortedError):
            return
        super().handle_error(request, client_address)


class FakeServer:
    """A loopback HTTP server bound to port 0. Use as a context manager."""

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        # A misconfigured proxy or a self-hosted API that echoes the request (its path,
        # its Authorization header) in every error answer.
        self.echo_credentials = False
        self.requests: list[Request] = []
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._faults: list[Fault] = []
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.held = threading.Event()  # set when a ``hold`` fault has served its request

    # -- set-up ---------------------------------------------------------------

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self._routes.append((method.upper(), re.compile(pattern + r"$"), handler))

    def fail(self, *faults: Fault) -> None:
        """Queue faults; each is used once, by the first request it matches."""
        with self._lock:
            self._faults.extend(faults)

    def clear_faults(self) -> None:
        """Forget the queued faults no request has used yet (the service is well again)."""
        with self._lock:
            self._faults.clear()

    def start(self) -> Self:
        server = ListeningServer(("127.0.0.1", 0), self._handler_class())
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def credentials(self, request: Request) -> list[str]:
        """What of a request carries a credential: its path (Telegram's token) and Authorization."""
        return [value for value in (request.path, request.headers.get("authorization", "")) if value]

    def received(self, path_part: str = "") -> list[Request]:
        with self._lock:
            return [r for r in self.requests if path_part in r.path]

    # -- serving --------------------------------------------------------------

    def _take_fault(self, request: Request) -> Fault | None:
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.match in request.path and (fault.when is None or fault.when(request)):
                    if fault.after > 0:
                        fault.after -= 1
                        return None
                    return self._faults.pop(index)
        return None

    def dispatch(self, request: Request) -> Response:
        for method, pattern, handler in self._routes:
            if method == request.method:
                found = pattern.match(request.path)
                if found:
                    return handler(request, found)
        return Response(404, {"error": f"no route for {request.method} {request.path}"})

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                    form=_parse_body(self.headers.get("Content-Type", ""), body),
                    at=time.monotonic(),
                    peer=self.client_address[:2],
                )
                fault = fake._take_fault(request)
                if fault and fault.reset:
                    self._reset()
                    return
                if fault and fault.hang:
                    fake._stopping.wait(fault.hang)
                    self.close_connection = True
                    return
                if fault and fault.delay:
                    fake._stopping.wait(fault.delay)
                    request = replace(request, at=time.monotonic())
                if fake.latency:
                    time.sleep(fake.latency)
                if fault and fault.response:
                    response = fault.response
                else:
                    with fake._lock:
                        fake.requests.append(request)
                    response = fake.dispatch(request)
                if fake.echo_credentials:
                    response = with_echo(response, echo_of(fake.credentials(request)))
                if fault and fault.hold:
                    fake.held.set()
                    if fake._stopping.wait(fault.hold):
                        return
                if fault and fault.reset_after:
                    self._reset()
                    return
                self._write(response)

            def _write(self, response: Response) -> None:
                payload = response.encoded()
                try:
                    self.send_response(response.status)
                    self.send_header("Content-Type", response.content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    for key, value in response.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (a cancelled long poll)
                    self.close_connection = True

            def _reset(self) -> None:
                # SO_LINGER with a zero timeout makes close() send RST, like a dropped proxy.
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.close_connection = True
                self.connection.close()

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        return _Handler


def _parse_body(content_type: str, body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    if "application/json" in content_type:
        try:
            value = json.loads(body)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}
    if "application/x-www-form-urlencoded" in content_type:
        return {k: v[0] if len(v) == 1 else v for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
    return {}
