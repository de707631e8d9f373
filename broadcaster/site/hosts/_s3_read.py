"""The bucket's first request without boto3: the warm-up's conditional read of the manifest.

boto3 takes about 0.2 s to import and make a client (botocore's signer alone 0.09 s), as
long as the rest of the CLI before it; a post's slowest chain of round trips starts with
this read. So it leaves at once, signed here, while boto3 loads in the background for the
uploads. One GET, signed with AWS Signature Version 4 as AWS documents it
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html)
and checked against botocore's own signer in the tests.

Used only where nothing is left to boto3's judgement: keys given (in the config, or the
standard environment variables without a profile), a known region, a path-style
endpoint or an AWS bucket name that is a plain host name. Otherwise ``S3Host._light_read``
returns None, and on any failure the caller reads with boto3 as before: this read is
an optimisation, never the only way.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client  # with this module, in the thread that starts the read, not in the daemon thread that sends it
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_DNS_BUCKET = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")


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
        """The keys boto3's chain would take first: the environment's, unless a profile is named."""
        key_id, secret = environ.get("AWS_ACCESS_KEY_ID"), environ.get("AWS_SECRET_ACCESS_KEY")
        if not key_id or not secret or environ.get("AWS_PROFILE"):
            return None
        return cls(key_id, secret, environ.get("AWS_SESSION_TOKEN") or None)


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
    return f"https://{bucket}.s3.{region}.amazonaws.com/{path}"


def signed_headers(method: str, url: str, region: str, keys: Keys, now: datetime) -> dict[str, str]:
    """The headers that sign a request without a body to S3 (Signature Version 4)."""
    parts = urlsplit(url)
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    headers = {"host": parts.netloc, "x-amz-content-sha256": EMPTY_SHA256, "x-amz-date": stamp}
    if keys.token:
        headers["x-amz-security-token"] = keys.token
    names = sorted(headers)
    canonical = "\n".join([
        method, parts.path or "/", "",  # the path as sent (each segment encoded once, as S3 wants); no query
        *(f"{name}:{headers[name].strip()}" for name in names), "",
        ";".join(names), EMPTY_SHA256,
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
    ``cafile``: the certificate authorities to trust instead of the system's (boto3's ``AWS_CA_BUNDLE``);
    ``sent`` is called once the request is written, before its answer is awaited."""
    parts = urlsplit(url)
    headers = signed_headers("GET", url, region, keys, datetime.now(UTC))
    if unless is not None:
        headers["if-none-match"] = unless
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        import ssl
        connection = http.client.HTTPSConnection(parts.netloc, timeout=timeout, context=ssl.create_default_context(cafile=cafile))
    else:
        connection = http.client.HTTPConnection(parts.netloc, timeout=timeout)
    try:
        connection.request("GET", parts.path, headers=headers)  # Host as signed (http.client drops a default port)
        if sent is not None:
            sent()
        response = connection.getresponse()
        return Answer(response.status, response.getheader("ETag") or "", response.read())
    finally:
        connection.close()


def environment_blocks_it(environ: Mapping[str, str], *, endpoint_given: bool) -> bool:
    """Settings by which boto3 would send the read elsewhere or otherwise than ``object_url`` says:
    an endpoint, FIPS or dual-stack hosts; and, without an endpoint in our config, an AWS config
    file, whose default profile may name one. (``AWS_CA_BUNDLE`` is honoured by ``get``.)"""
    if any(environ.get(name) for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_USE_FIPS_ENDPOINT",
                                          "AWS_USE_DUALSTACK_ENDPOINT")):
        return True
    config_file = environ.get("AWS_CONFIG_FILE") or os.path.join(os.path.expanduser("~"), ".aws", "config")
    return not endpoint_given and os.path.exists(config_file)
