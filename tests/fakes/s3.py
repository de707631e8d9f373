"""A real S3-compatible server on loopback: moto's server, behind a recording proxy.

moto implements the S3 API (objects, headers, errors, SigV4 checks once
authentication is switched on); the proxy in front of it records every request
as it crossed the wire, so tests assert on what the server received and in
which order, and can inject faults (a 503 SlowDown, a reset) the way a busy
S3 endpoint produces them.

    with S3Server() as s3:
        s3.create_bucket("status")
        ... point the code at s3.url ...
        [r.path for r in s3.received("PUT")]
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import struct
import textwrap
import threading
import time
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

from tests.fakes.base import ListeningServer, Request, echo_of

REGION = "us-east-1"
ADMIN_KEY = "testing"  # moto accepts any key while authentication is off
# The variables ``publish_toml`` names, as a test's environment gives them.
PUBLISH_ENV = {"S3_KEY": ADMIN_KEY, "S3_SECRET": ADMIN_KEY}
# Hop-by-hop headers belong to one connection and are not forwarded (RFC 9110 7.6.1).
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}
# The boto3 session every server's set-up clients are built from (``S3Server.client``). Untyped: one session
# serves S3 and IAM, and boto3-stubs types each service's client apart, so a service named at run time gets none.
_session: Any = None
_session_lock = threading.Lock()


@dataclass
class S3Fault:
    """Served instead of forwarding, to the next ``times`` requests whose path holds ``match``."""

    match: str = ""
    status: int = 503
    code: str = "SlowDown"
    times: int = 1
    reset: bool = False
    hold: float = 0.0  # keep the request this long, then drop it unanswered (a stalled upload)
    delay: float = 0.0  # keep the request this long, then carry it out (a slow upload that lands)
    method: str = ""  # only requests of this method ("PUT": an upload, not a first publish's look-up); "" any


class S3Server:
    """moto's ThreadedMotoServer on 127.0.0.1:0 plus a recording pass-through proxy.

    moto keeps its buckets in the process, not in the server: a second server would
    see the first one's buckets and objects (a test checking that a page is missing
    found another test's). So the first server to start, and the last to stop, empty
    moto: each server on its own starts with no bucket, as a fresh endpoint does.
    """

    _live = 0  # servers started and not stopped in this process
    _live_lock = threading.Lock()

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency  # seconds added to every request, like a distant endpoint (benchmarks)
        # Error answers repeat the request's credentials (its Authorization header), as a
        # misconfigured gateway in front of an S3-compatible service may.
        self.echo_credentials = False
        self.requests: list[Request] = []
        self._faults: list[S3Fault] = []
        self._lock = threading.Lock()
        self._moto: Any = None
        self._clients: dict[tuple[str, str, str], Any] = {}
        self._proxy: ThreadingHTTPServer | None = None
        self.held = threading.Event()  # set when a ``hold`` fault has taken a request
        self.delayed = threading.Event()  # set when a ``delay`` fault has taken a request
        self._stopping = threading.Event()

    # -- life cycle -------------------------------------------------------------

    def start(self) -> Self:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request otherwise
        self._moto = _s3_moto_server()
        with S3Server._live_lock:
            S3Server._live += 1
            if S3Server._live == 1:
                self._moto_api("reset", b"")
        self._proxy = ListeningServer(("127.0.0.1", 0), self._handler_class())
        self._proxy.daemon_threads = True
        # Polled as the other fakes are (``FakeServer.start``): ``stop`` waits up to one interval for the loop.
        threading.Thread(target=self._proxy.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._proxy:
            self._proxy.shutdown()
            self._proxy.server_close()
        if self._moto:
            self.disable_auth()
            with S3Server._live_lock:
                S3Server._live -= 1
                if S3Server._live == 0:
                    self._moto_api("reset", b"")
            self._moto.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The endpoint the code under test uses: every request is recorded."""
        assert self._proxy is not None
        return f"http://127.0.0.1:{self._proxy.server_address[1]}"

    @property
    def moto_url(self) -> str:
        """moto itself, for set-up and inspection that should not show in ``requests``."""
        host, port = self._moto.get_host_and_port()
        return f"http://{host}:{port}"

    # -- recording and faults ---------------------------------------------------

    def received(self, method: str = "", path_part: str = "") -> list[Request]:
        with self._lock:
            return [r for r in self.requests if (not method or r.method == method) and path_part in r.path]

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    def fail(self, *faults: S3Fault) -> None:
        with self._lock:
            self._faults.extend(faults)

    def _take_fault(self, method: str, path: str) -> S3Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.match in path and fault.times > 0 and fault.method in ("", method):
                    fault.times -= 1
                    return fault
        return None

    # -- set-up helpers (straight to moto) ----------------------------------------

    def client(self, service: str = "s3", key: str = ADMIN_KEY, secret: str = ADMIN_KEY) -> Any:
        """A boto3 client straight to moto; cached, since building one takes a good part of a second.

        Every server's clients come from one boto3 session per process: a session reads the services' models
        (S3's is a large JSON file) once and keeps them, and a fresh session per server read them again, about
        0.1-0.2 s of CPU for each test that starts a server."""
        import boto3
        from botocore.config import Config

        cache_key = (service, key, secret)
        if cache_key not in self._clients:
            with _session_lock:  # a boto3 session is not safe to build clients from in two threads at once
                global _session
                if _session is None:
                    _session = boto3.session.Session()
                self._clients[cache_key] = _session.client(
                    service, region_name=REGION, endpoint_url=self.moto_url,
                    aws_access_key_id=key, aws_secret_access_key=secret,
                    config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}),
                )
        return self._clients[cache_key]

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)

    def publish_toml(self, bucket: str) -> str:
        """``[publish.bucket]`` serving ``bucket`` here, its keys read from ``PUBLISH_ENV``'s variables."""
        return textwrap.dedent(f"""
            [publish.bucket]
            type = "s3"
            bucket = "{bucket}"
            region = "{REGION}"
            endpoint_url = "{self.url}"
            access_key_id = "${{S3_KEY}}"
            secret_access_key = "${{S3_SECRET}}"
        """)

    def objects(self, bucket: str) -> dict[str, dict[str, Any]]:
        """Every object's HEAD response (ContentType, CacheControl, ETag, ...), by key."""
        client = self.client()
        listing = client.list_objects_v2(Bucket=bucket).get("Contents", [])
        return {o["Key"]: client.head_object(Bucket=bucket, Key=o["Key"]) for o in listing}

    def body(self, bucket: str, key: str) -> bytes:
        data: bytes = self.client().get_object(Bucket=bucket, Key=key)["Body"].read()
        return data

    def create_user(self, name: str, actions: list[str]) -> tuple[str, str]:
        """An IAM user allowed ``actions`` on every S3 resource; returns its key id and secret."""
        iam = self.client("iam")
        iam.create_user(UserName=name)
        if actions:
            policy = {"Version": "2012-10-17",
                      "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
            iam.put_user_policy(UserName=name, PolicyName="site", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]

    def enable_auth(self) -> None:
        """From now on moto checks SigV4 signatures and IAM policies, like AWS."""
        self._moto_api("reset-auth", b"0")

    def disable_auth(self) -> None:
        self._moto_api("reset-auth", b"inf")

    def _moto_api(self, action: str, data: bytes) -> None:
        # text/plain: flask would parse a form body away and moto would read nothing.
        request = urllib.request.Request(
            f"{self.moto_url}/moto-api/{action}", data=data, method="POST", headers={"Content-Type": "text/plain"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    # -- the proxy ------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                body = self._read_body()
                arrived = time.monotonic()  # as the other fakes record it: before the latency
                if server.latency:
                    time.sleep(server.latency)
                parts = urlsplit(self.path)
                fault = server._take_fault(self.command, parts.path)
                if fault and fault.reset:
                    self._reset()
                    return
                if fault and fault.delay:
                    server.delayed.set()
                    server._stopping.wait(fault.delay)
                    fault = None
                if fault and fault.hold:
                    server.held.set()
                    server._stopping.wait(fault.hold)
                    self.close_connection = True
                    return
                if fault:
                    self._send(fault.status, {"Content-Type": "application/xml"}, _error_xml(fault.code, self._echo()))
                    return
                request = Request(
                    method=self.command, path=unquote(parts.path), query=parse_qs(parts.query),
                    headers={k.lower(): v for k, v in self.headers.items()}, body=body, form={},
                    at=arrived, peer=self.client_address[:2],
                )
                with server._lock:
                    server.requests.append(request)
                self._forward(body, request)

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

            def _forward(self, body: bytes, request: Request) -> None:
                host, port = server._moto.get_host_and_port()
                connection = http.client.HTTPConnection(host, port, timeout=30)
                try:
                    # The Host header is part of the SigV4 signature: send the client's own.
                    connection.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                    for key, value in self.headers.items():
                        if key.lower() not in _HOP_BY_HOP and key.lower() != "content-length":
                            connection.putheader(key, value)
                    connection.putheader("Content-Length", str(len(body)))
                    connection.endheaders(body)
                    response = connection.getresponse()
                    payload = response.read()
                    headers = {k: v for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP}
                finally:
                    connection.close()
                if response.status >= 400 and self._echo():
                    payload = payload.replace(b"</Message>", f" (request was {escape(self._echo())})</Message>".encode())
                request.answered = time.monotonic()  # before the answer leaves: nothing can follow it sooner
                self._send(response.status, headers, payload, head=self.command == "HEAD")

            def _echo(self) -> str:
                """The request's credentials, if the server echoes them (``echo_credentials``)."""
                if not server.echo_credentials:
                    return ""
                carried = [self.headers.get(name, "") for name in ("Authorization", "X-Amz-Security-Token")]
                return echo_of([value for value in carried if value])

            def _send(self, status: int, headers: dict[str, str], payload: bytes, head: bool = False) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    if key.lower() != "content-length":
                        self.send_header(key, value)
                # A HEAD response announces the object's length but carries no body.
                length = headers.get("Content-Length") or headers.get("content-length") if head else None
                self.send_header("Content-Length", str(length or len(payload)))
                self.end_headers()
                if not head:
                    self.wfile.write(payload)

            def _reset(self) -> None:
                # SO_LINGER 0 makes close() send RST, like a load balancer dropping the connection.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                self.connection.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _serve

        return _Handler


def _error_xml(code: str, echo: str = "") -> bytes:
    said = f" (request was {escape(echo)})" if echo else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>Please reduce your request rate.{said}</Message>"
        "<RequestId>FAKE</RequestId><HostId>FAKE</HostId></Error>"
    ).encode()


def _s3_moto_server() -> Any:
    """moto's ThreadedMotoServer on 127.0.0.1:0 serving S3 alone.

    moto's server finds the service of each request among all of its own (it lists its package's folder and tries
    every service's URL patterns, request by request): most of the CPU of the tests that publish to a bucket. A
    request signed for S3, or not signed, goes to S3's application at once; the rest (moto's own API at
    ``/moto-api``, the IAM users a test makes) are found as moto finds them."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from moto.server import ThreadedMotoServer
    from werkzeug.serving import make_server

    class S3Only(DomainDispatcherApplication):
        def get_application(self, environ: dict[str, Any]) -> Any:
            signed = str(environ.get("HTTP_AUTHORIZATION", ""))
            if str(environ.get("PATH_INFO", "")).startswith("/moto-api") or (signed and "/s3/aws4_request" not in signed):
                return super().get_application(environ)
            with self.lock:
                if "s3" not in self.app_instances:
                    self.app_instances["s3"] = self.create_app("s3")
                return self.app_instances["s3"]

    class S3Server(ThreadedMotoServer):
        def _server_entry(self) -> None:  # ThreadedMotoServer's, with the application above
            self._server = make_server(self._ip_address, self._port, S3Only(create_backend_app), True,
                                       request_handler=MotoRequestHandler)
            self._server_ready_event.set()
            # werkzeug polls for its shutdown every 0.5 s by default: each server's stop waited that long.
            self._server.serve_forever(poll_interval=0.05)

    server = S3Server(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    return server
