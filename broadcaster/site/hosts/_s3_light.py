"""The bucket's requests without boto3: the manifest's conditional read, and the uploads.

boto3 takes about 0.2 s of CPU to import and make a client (botocore's signer alone
0.09 s), as long as the rest of the CLI before it, on the one GIL the site build and the
other destinations' SDKs share; a post's slowest chain of round trips is the bucket's.
So its requests are signed here with AWS Signature Version 4 as AWS documents it
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html),
checked against botocore's own signer in the tests, and sent over ``http.client``:
a GET (the read, at once) and PUTs (each file, the payload's hash signed, with the
headers S3 does not need signed: content type, cache policy, ``If-Match`` /
``If-None-Match``).

Used only where nothing is left to boto3's judgement: keys given (in the config, or the
standard environment variables without a profile), a known region, a path-style
endpoint or an AWS bucket name that is a plain host name, and no ``ca_bundle`` in the
AWS files for the profile boto3 uses. Otherwise ``S3Host._light_access``
returns None and boto3 does it all. Whatever these requests do not see succeed, boto3
does again and reports (``S3Host._LightClient``): an optimisation, never the only way.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import http.client  # with this module, in the thread that starts the read, not in the daemon thread that sends it
import os
import ssl  # already imported by http.client
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

from broadcaster import lazy_re

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_DNS_BUCKET = lazy_re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")
# A region as botocore takes one (a host label: it refuses any other). Without an endpoint, only the regions of
# AWS's own partition go into a host name here: China's, GovCloud's, the isolated and sovereign regions have
# other domains, boto3's to work out; and a region written wrongly must never make the signed request go elsewhere.
_REGION = lazy_re.compile(r"(?![0-9]+$)(?!-)[a-zA-Z0-9-]{1,63}(?<!-)")
_AWS_REGION = lazy_re.compile(r"[a-z]{2}(?:-[a-z]+)+-[0-9]+")
_OTHER_PARTITIONS = ("cn-", "us-gov-", "us-iso")
# The session token's variables in botocore's order (credentials.EnvProvider.TOKENS): the older name first.
_TOKEN_VARIABLES = ("AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN")
# The profile's variables in botocore's order (configprovider: "profile"): the first that is set names it.
_PROFILE_VARIABLES = ("AWS_DEFAULT_PROFILE", "AWS_PROFILE")


@dataclass(frozen=True, repr=False)
class Keys:
    """An access key; never shown (``repr`` names only the key id's first four characters)."""

    key_id: str
    secret: str
    token: str | None = None

    def __repr__(self) -> str:
        return f"Keys({self.key_id[:4]}…)"

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Keys | None:
        """The keys boto3's chain would take first: the environment's, unless a profile is named.
        The token as botocore's ``EnvProvider`` takes it: the first of its variables that is not empty."""
        key_id, secret = environ.get("AWS_ACCESS_KEY_ID"), environ.get("AWS_SECRET_ACCESS_KEY")
        if not key_id or not secret or environ.get("AWS_PROFILE"):
            return None
        token = next((environ[name] for name in _TOKEN_VARIABLES if environ.get(name)), None)
        return cls(key_id, secret, token)


class Refused(Exception):
    """The bucket answered, but not with the manifest, a 304 or its absence: boto3 reads it and says why."""


@dataclass(frozen=True)
class Answer:
    status: int
    etag: str
    body: bytes


def object_url(endpoint_url: str | None, region: str, bucket: str, key: str) -> str | None:
    """The URL boto3 would use for ``key`` (path style with an endpoint, as the client is made;
    AWS's virtual host otherwise), or None where that takes boto3's rules to decide."""
    path = quote(key, safe="/~")
    if not _REGION.fullmatch(region):
        return None
    if endpoint_url:
        try:
            parts = urlsplit(endpoint_url)
            plain = parts.scheme in ("http", "https") and parts.hostname and parts.port != 0
        except ValueError:  # an unclosed "[" or a port that is not a number: boto3 says what is wrong
            return None
        if not plain or parts.username or parts.password or parts.query or parts.path.strip("/"):
            return None
        return f"{parts.scheme}://{parts.netloc}/{quote(bucket, safe='~')}/{path}"
    # "--" marks names boto3 routes elsewhere ("xn--" prefixes, "--x-s3" directory buckets, "--ol-s3" aliases).
    if not _DNS_BUCKET.fullmatch(bucket) or "--" in bucket:
        return None
    if not _AWS_REGION.fullmatch(region) or region.startswith(_OTHER_PARTITIONS):
        return None
    return f"https://{bucket}.s3.{region}.amazonaws.com/{path}"


def signed_headers(
    method: str, url: str, region: str, keys: Keys, now: datetime, payload_hash: str = EMPTY_SHA256,
    amz: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The headers that sign a request to S3 (Signature Version 4) whose body has ``payload_hash``, ``amz`` among
    them (``x-amz-meta-*``: S3 refuses a request whose x-amz- headers are not all signed)."""
    parts = urlsplit(url)
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    headers = {name.lower(): value for name, value in (amz or {}).items()}
    headers.update({"host": parts.netloc, "x-amz-content-sha256": payload_hash, "x-amz-date": stamp})
    if keys.token:
        headers["x-amz-security-token"] = keys.token
    names = sorted(headers)
    canonical = "\n".join([
        method, parts.path or "/", "",  # the path as sent (each segment encoded once, as S3 wants); no query
        *(f"{name}:{headers[name].strip()}" for name in names), "",
        ";".join(names), payload_hash,
    ])
    scope = f"{stamp[:8]}/{region}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + keys.secret).encode()
    for part in (stamp[:8], region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={keys.key_id}/{scope}, "
                                f"SignedHeaders={';'.join(names)}, Signature={signature}")
    return headers


def get(
    url: str, region: str, keys: Keys, *, unless: str | None, timeout: float, cafile: str | None = None,
    sent: Callable[[], None] | None = None,
) -> Answer:
    """GET ``url`` signed with ``keys``; with ``unless``, only if its ETag is no longer that (304).
    ``cafile``: the certificate authorities to trust instead of certifi's (boto3's ``AWS_CA_BUNDLE``);
    ``sent`` is called once the request is written, before its answer is awaited."""
    parts = urlsplit(url)
    headers = signed_headers("GET", url, region, keys, datetime.now(UTC))
    if unless is not None:
        headers["if-none-match"] = unless
    context = tls_context(cafile) if parts.scheme == "https" else None
    connection = _connection(url, timeout, context)
    try:
        connection.request("GET", parts.path, headers=headers)  # Host as signed (http.client drops a default port)
        if sent is not None:
            sent()
        response = connection.getresponse()
        return Answer(response.status, response.getheader("ETag") or "", response.read())
    finally:
        connection.close()


class Connections:
    """Connections to one endpoint, each kept open for the next request once its answer is read: over
    TLS a new one costs a handshake (a round trip or two), and a publish sends hundreds of files."""

    def __init__(self, url: str, timeout: float, context: ssl.SSLContext | None) -> None:
        self._url = url
        self._timeout = timeout
        self._context = context
        self._idle: list[http.client.HTTPConnection] = []
        self._closed = False
        self._lock = threading.Lock()

    def take(self) -> tuple[http.client.HTTPConnection, bool]:
        """A connection, and whether it was used before (the server may have closed it since)."""
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        return self.new(), False

    def new(self) -> http.client.HTTPConnection:
        return _connection(self._url, self._timeout, self._context)

    def give_back(self, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            if not self._closed:
                self._idle.append(connection)
                return
        connection.close()  # an answer read after ``close``

    def close(self) -> None:
        with self._lock:
            idle, self._idle, self._closed = self._idle, [], True
        for connection in idle:
            connection.close()


# A kept connection the server closed while it was idle fails as the request is written or its
# answer awaited, before any of the answer: sent again on a new one, as urllib3 does.
_CLOSED_WHILE_IDLE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ssl.SSLEOFError)


def put(
    connections: Connections, url: str, region: str, keys: Keys, body: bytes, headers: Mapping[str, str],
    *, stop: threading.Event | None = None,
) -> Answer:
    """PUT ``body`` at ``url`` (on ``connections``' endpoint) with ``headers`` (signed only the x-amz- ones, the
    object's metadata: content type, cache policy and conditions need not be), signed with ``keys``. Raises on any
    failure to send it or read the answer; once ``stop`` is set (the publish was cancelled), without sending it again
    on a new connection."""
    amz = {name: value for name, value in headers.items() if name.lower().startswith("x-amz-")}
    unsigned = {name: value for name, value in headers.items() if name not in amz}
    signed = signed_headers("PUT", url, region, keys, datetime.now(UTC), hashlib.sha256(body).hexdigest(), amz)
    connection, reused = connections.take()
    while True:
        try:
            connection.request("PUT", urlsplit(url).path, body=body, headers={**unsigned, **signed})
            response = connection.getresponse()
            answer = Answer(response.status, response.getheader("ETag") or "", response.read())
        except _CLOSED_WHILE_IDLE:
            connection.close()
            if not reused or (stop is not None and stop.is_set()):  # a cancelled publish starts no request
                raise
            connection, reused = connections.new(), False  # the same bytes, or a condition that then fails
            continue
        except BaseException:
            connection.close()
            raise
        break
    if response.will_close:
        connection.close()
    else:
        connections.give_back(connection)
    return answer


@functools.lru_cache(maxsize=4)
def tls_context(cafile: str | None) -> ssl.SSLContext:
    """The TLS context for the bucket's requests, made once per CA bundle: making one reads the bundle
    (about 20 ms of CPU), and the read and the uploads of a command share it (it is thread-safe).

    It trusts what boto3 trusts: ``cafile`` (``AWS_CA_BUNDLE``), else certifi's bundle, botocore's default,
    never the system's store or ``SSL_CERT_FILE``, which boto3 ignores: a certificate boto3 would refuse
    must not be enough for the light client's signed requests. (A ``ca_bundle`` in the AWS files leaves
    every request to boto3: ``environment_blocks_it``.)"""
    return ssl.create_default_context(cafile=cafile or _bundle_boto3_trusts())


def _bundle_boto3_trusts() -> str:
    try:
        import certifi
    except ImportError:  # botocore then uses the bundle it ships (without importing botocore here)
        import importlib.util

        spec = importlib.util.find_spec("botocore")
        return os.path.join(os.path.dirname(spec.origin or ""), "cacert.pem") if spec else ""
    return str(certifi.where())


def _connection(url: str, timeout: float, context: ssl.SSLContext | None) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    if parts.scheme == "https":
        return http.client.HTTPSConnection(parts.netloc, timeout=timeout, context=context)
    return http.client.HTTPConnection(parts.netloc, timeout=timeout)


def client_endpoint(endpoint_url: str | None, region: str) -> str:
    """The endpoint boto3's client is made for (its proxy is chosen for it, not for each request)."""
    if endpoint_url:
        return endpoint_url
    return "https://s3.amazonaws.com" if region == "us-east-1" else f"https://s3.{region}.amazonaws.com"


def proxied(endpoint: str, environ: Mapping[str, str]) -> bool:
    """Whether boto3 would send requests to ``endpoint`` through a proxy, decided as botocore decides
    (``utils.get_environ_proxies``: urllib's ``proxy_bypass`` for the endpoint's host and port, then
    urllib's proxies for its scheme), from the process's environment (and, on macOS and Windows, the
    system's settings, which urllib reads too). ``http.client`` would go around it."""
    import sys

    if sys.platform not in ("darwin", "win32") and not any(
        value and name.lower().endswith("_proxy") for name, value in environ.items()
    ):
        return False  # urllib would find none: not worth importing it (16 ms)
    import socket
    import urllib.request

    netloc = urlsplit(endpoint).netloc
    try:
        if urllib.request.proxy_bypass(netloc):
            return False
    except (TypeError, socket.gaierror):  # as botocore: then the proxies apply
        pass
    return bool(urllib.request.getproxies().get(urlsplit(endpoint).scheme))


def environment_blocks_it(environ: Mapping[str, str], *, endpoint_given: bool) -> bool:
    """Settings by which boto3 would send the requests elsewhere or otherwise than ``object_url`` says,
    or trust other authorities than ``tls_context``: an endpoint, FIPS or dual-stack hosts; without an
    endpoint in our config, an AWS config file, whose default profile may name one; with one, a
    ``ca_bundle`` in the profile boto3 uses (or AWS files it cannot read). (``AWS_CA_BUNDLE`` is
    honoured by ``get``; a proxy is ``proxied``'s to say.)"""
    if any(environ.get(name) for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_USE_FIPS_ENDPOINT",
                                          "AWS_USE_DUALSTACK_ENDPOINT")):
        return True
    config_file = _aws_file(environ, "AWS_CONFIG_FILE", "config")
    if not endpoint_given and os.path.exists(config_file):
        return True
    # boto3 reads its profile from both files (the credentials file's sections are named as the profile).
    profile = next((environ[name] for name in _PROFILE_VARIABLES if name in environ), "default")
    credentials_file = _aws_file(environ, "AWS_SHARED_CREDENTIALS_FILE", "credentials")
    return (_sets_ca_bundle(config_file, lambda section: _config_profile(section) == profile)
            or _sets_ca_bundle(credentials_file, lambda section: section == profile))


def _aws_file(environ: Mapping[str, str], variable: str, name: str) -> str:
    """The AWS file boto3 reads, its path expanded as botocore expands it."""
    path = environ.get(variable) or os.path.join("~", ".aws", name)
    return os.path.expanduser(os.path.expandvars(path))


def _config_profile(section: str) -> str | None:
    """The profile an AWS config file's section belongs to, read as botocore reads it
    (``configloader.build_profile_map``): "default", or "profile NAME"."""
    import shlex

    if section == "default":
        return section
    if not section.startswith("profile"):
        return None
    try:
        parts = shlex.split(section)
    except ValueError:
        return None
    return parts[1] if len(parts) == 2 else None


def _sets_ca_bundle(path: str, ours: Callable[[str], bool]) -> bool:
    """Whether the INI file at ``path`` gives a section ``ours`` picks a ``ca_bundle`` (boto3 then
    trusts its authorities, not certifi's), or cannot be read or parsed (nobody can say it does not)."""
    import configparser

    if not os.path.isfile(path):  # as botocore: no such file, no settings
        return False
    parser = configparser.RawConfigParser()  # as botocore parses it: options in any case, [DEFAULT] shared
    try:
        with open(path) as file:  # the locale's encoding, as botocore's parser reads it
            parser.read_file(file)
    except (OSError, UnicodeDecodeError, configparser.Error):
        return True
    return any(ours(section) and parser.has_option(section, "ca_bundle") for section in parser.sections())
