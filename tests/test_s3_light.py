"""The warm-up's read of the manifest without boto3 (``site/hosts/_s3_light.py``): signed exactly as
botocore signs it, accepted by an S3 server that checks signatures, and left to boto3 wherever its
rules could decide otherwise (issue 20: the slowest destination's first request leaves first)."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import given, settings
from hypothesis import strategies as st

from broadcaster.config import ChannelConfig, Secret
from broadcaster.site.hosts import _s3_light
from broadcaster.site.hosts._s3_manifest import MANIFEST_NAME
from broadcaster.site.hosts.s3 import S3Host
from tests.fakes.s3 import S3Server

BUCKET = "status-read"
_users = itertools.count(1)  # moto keeps its users for the server's life: each test its own


def botocore_signed(url: str, region: str, keys: _s3_light.Keys, method: str = "GET", body: bytes = b"") -> tuple[str, dict[str, str]]:
    """botocore's own signature of a request to ``url``, and the headers ours must then carry."""
    request = AWSRequest(method=method, url=url, data=body or None)
    S3SigV4Auth(Credentials(keys.key_id, keys.secret, keys.token), "s3", region).add_auth(request)
    return request.headers["X-Amz-Date"], {k.lower(): v for k, v in request.headers.items()}


@pytest.mark.parametrize(("url", "region", "keys"), [
    ("http://127.0.0.1:9000/status/.broadcaster-manifest.json", "us-east-1", _s3_light.Keys("AKIDEXAMPLE", "s3cr3t")),
    ("http://minio.internal/sites/status/%C3%A9t%C3%A9%20page%2B1.json", "eu-west-3",
     _s3_light.Keys("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token="FwoGZXIvYXdzEB4aDHNlc3Npb24=")),
    ("http://status.s3.ap-south-1.amazonaws.com/.broadcaster-manifest.json", "ap-south-1",
     _s3_light.Keys("AKIAIOSFODNN7EXAMPLE", "secret with spaces ✓")),
])
def test_the_signature_is_botocores(url: str, region: str, keys: _s3_light.Keys) -> None:
    stamp, theirs = botocore_signed(url, region, keys)
    ours = _s3_light.signed_headers("GET", url, region, keys, datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC))
    assert ours["authorization"] == theirs["authorization"]
    assert {k: v for k, v in ours.items() if k != "host"} == {k: theirs[k] for k in ours if k != "host"}


@pytest.mark.parametrize("body", [b"", b"<!doctype html><p>API errors</p>", "été ✓\n".encode() * 1000])
def test_a_put_is_signed_as_botocore_signs_it_with_its_body(body: bytes) -> None:
    url = "http://127.0.0.1:9000/status/incidents/api-errors.html"
    keys = _s3_light.Keys("AKIDEXAMPLE", "s3cr3t", token="FwoGZXIvYXdzEB4aDHNlc3Npb24=")
    stamp, theirs = botocore_signed(url, "eu-west-3", keys, "PUT", body)
    now = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    ours = _s3_light.signed_headers("PUT", url, "eu-west-3", keys, now, hashlib.sha256(body).hexdigest())
    assert ours["authorization"] == theirs["authorization"]
    assert ours["x-amz-content-sha256"] == theirs["x-amz-content-sha256"] == hashlib.sha256(body).hexdigest()


@pytest.fixture(scope="module")
def boto3_client() -> object:
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "s3", region_name="us-east-1", endpoint_url="http://127.0.0.1:9000", aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="s3cr3t", config=Config(s3={"addressing_style": "path"}))


@settings(max_examples=60, deadline=None)
@given(key=st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=40) | st.sampled_from(
    ["a+b", "a b", "~tilde", "é/ü", "x%2By", "q?s#f", "semi;colon=eq&amp", "../up", "*star'(paren)!"]))
def test_any_object_key_goes_where_boto3_sends_it_signed_as_botocore_signs_it(boto3_client: Any, key: str) -> None:
    url = _s3_light.object_url("http://127.0.0.1:9000", "us-east-1", BUCKET, key)
    assert url is not None
    theirs_url = boto3_client.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": key})
    assert urlsplit(url).path == urlsplit(theirs_url).path
    keys = _s3_light.Keys("AKIDEXAMPLE", "s3cr3t")
    stamp, theirs = botocore_signed(url, "us-east-1", keys)
    ours = _s3_light.signed_headers("GET", url, "us-east-1", keys, datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC))
    assert ours["authorization"] == theirs["authorization"]


def test_urls_are_boto3s_or_none_where_its_rules_decide() -> None:
    assert _s3_light.object_url("http://127.0.0.1:9000", "us-east-1", "b", "a/x y.json") == "http://127.0.0.1:9000/b/a/x%20y.json"
    assert _s3_light.object_url(None, "eu-west-1", "status", "index.html") == "https://status.s3.eu-west-1.amazonaws.com/index.html"
    assert _s3_light.object_url(None, "eu-west-1", "status.example.com", "i") is None  # dots: TLS names differ
    assert _s3_light.object_url(None, "eu-west-1", "Upper", "i") is None
    assert _s3_light.object_url(None, "eu-west-1", "status--usw2-az1--x-s3", "i") is None  # a directory bucket
    assert _s3_light.object_url("http://proxy.example/s3/", "us-east-1", "b", "i") is None  # a path prefix
    assert _s3_light.object_url("ftp://host", "us-east-1", "b", "i") is None
    assert _s3_light.object_url("http://user:pass@127.0.0.1:9000", "us-east-1", "b", "i") is None  # never in a Host header
    assert _s3_light.object_url("http://[::1", "us-east-1", "b", "i") is None
    assert _s3_light.object_url("http://127.0.0.1:port", "us-east-1", "b", "i") is None
    assert _s3_light.object_url("http://[::1]:9000", "us-east-1", "b", "i") == "http://[::1]:9000/b/i"


@pytest.mark.parametrize("region", ["evil.example#", "x@evil.example?", "us-east-1 ", "eu west 1", "-us-east-1", "12345"])
def test_a_region_boto3_would_refuse_never_makes_a_url(region: str) -> None:
    """A region goes into the host name and the signature: one written wrongly (or on purpose) must
    not send the signed request to another host. boto3 refuses it and says so."""
    assert _s3_light.object_url(None, region, "status", "index.html") is None
    assert _s3_light.object_url("http://127.0.0.1:9000", region, "status", "index.html") is None


@pytest.mark.parametrize("region", ["cn-north-1", "us-gov-west-1", "us-isob-east-1", "eusc-de-east-1", "garage"])
def test_regions_outside_aws_own_partition_are_left_to_boto3(region: str) -> None:
    """China's, GovCloud's and the isolated and sovereign regions have other domains than amazonaws.com."""
    assert _s3_light.object_url(None, region, "status", "index.html") is None


def test_any_region_botocore_takes_goes_with_an_endpoint() -> None:
    # A service of one's own may name its region as it likes (Garage: "garage"); the host is the endpoint's.
    assert _s3_light.object_url("http://127.0.0.1:3900", "garage", "b", "i") == "http://127.0.0.1:3900/b/i"
    assert _s3_light.object_url(None, "ap-southeast-2", "status", "i") == "https://status.s3.ap-southeast-2.amazonaws.com/i"


def test_the_light_client_trusts_the_authorities_boto3_trusts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """boto3 trusts ``AWS_CA_BUNDLE``, else certifi's bundle; never ``SSL_CERT_FILE`` or the system's store.
    A certificate boto3 would refuse (an intercepting proxy's, say) must not carry the light client's signed
    requests either."""
    import ssl

    import trustme

    from tests.test_http_tls import handshake

    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    _s3_light.tls_context.cache_clear()
    try:
        with pytest.raises(ssl.SSLCertVerificationError):
            handshake(_s3_light.tls_context(None), ca)
        handshake(_s3_light.tls_context(str(tmp_path / "ca.pem")), ca)  # AWS_CA_BUNDLE's: trusted
    finally:
        _s3_light.tls_context.cache_clear()


def test_keys_come_from_the_environment_only_as_boto3_would_take_them_first() -> None:
    assert _s3_light.Keys.from_environment({"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"}) == _s3_light.Keys("k", "s")
    assert _s3_light.Keys.from_environment({"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s",
                                           "AWS_SESSION_TOKEN": "t"}) == _s3_light.Keys("k", "s", "t")
    assert _s3_light.Keys.from_environment({"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "AWS_PROFILE": "p"}) is None
    assert _s3_light.Keys.from_environment({"AWS_ACCESS_KEY_ID": "k"}) is None
    assert "s3cr3t" not in repr(_s3_light.Keys("AKIDEXAMPLE", "s3cr3t")) and "AKIDEXAMPLE" not in repr(_s3_light.Keys("AKIDEXAMPLE", "x"))


@pytest.mark.parametrize("tokens", [
    {}, {"AWS_SESSION_TOKEN": "session"}, {"AWS_SECURITY_TOKEN": "security"},
    {"AWS_SECURITY_TOKEN": "security", "AWS_SESSION_TOKEN": "session"},
    {"AWS_SECURITY_TOKEN": "", "AWS_SESSION_TOKEN": "session"},
], ids=["none", "session", "security", "both", "empty-security"])
def test_the_session_token_is_the_one_botocore_takes_from_the_environment(tokens: dict[str, str]) -> None:
    """botocore's EnvProvider reads AWS_SECURITY_TOKEN first: a request signed with another token than
    boto3's would be refused where boto3's succeeds, or act with other rights."""
    from botocore.credentials import EnvProvider

    environ = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "s3cr3t", **tokens}
    theirs = EnvProvider(environ).load()
    ours = _s3_light.Keys.from_environment(environ)
    assert ours is not None and theirs is not None
    assert (ours.key_id, ours.secret, ours.token) == (theirs.access_key, theirs.secret_key, theirs.token)


def botocore_reads_a_ca_bundle() -> bool:
    """Whether boto3, made now, would trust a ``ca_bundle`` of the AWS files (or could not read them)."""
    import botocore.session
    from botocore.exceptions import ConfigParseError

    try:
        return botocore.session.Session().get_config_variable("ca_bundle") is not None
    except ConfigParseError:
        return True


BUNDLE = "ca_bundle = /etc/corp-only.pem\n"


@pytest.mark.parametrize(("config", "credentials", "profile", "blocks"), [
    ("[default]\n" + BUNDLE, None, {}, True),
    ("[default]\n" + BUNDLE.upper(), None, {}, True),  # option names are read in any case
    ("[DEFAULT]\n" + BUNDLE + "[default]\nregion = eu-west-1\n", None, {}, True),  # shared by every section
    ("[profile ops]\n" + BUNDLE, None, {}, False),
    ("[profile ops]\n" + BUNDLE, None, {"AWS_PROFILE": "ops"}, True),
    ('[profile "ops"]\n' + BUNDLE, None, {"AWS_PROFILE": "ops"}, True),
    ("[profile ops]\n" + BUNDLE + "[profile dev]\n", None, {"AWS_DEFAULT_PROFILE": "ops", "AWS_PROFILE": "dev"}, True),
    ("[profile ops]\n" + BUNDLE + "[profile dev]\n", None, {"AWS_DEFAULT_PROFILE": "dev", "AWS_PROFILE": "ops"}, False),
    (None, "[default]\n" + BUNDLE, {}, True),  # boto3 reads the profile's settings from both files
    (None, "[ops]\n" + BUNDLE, {}, False),
    (None, "[ops]\n" + BUNDLE, {"AWS_PROFILE": "ops"}, True),
    ("[default]\nregion = eu-west-1\n", "[default]\naws_access_key_id = AKIDEXAMPLE\n", {}, False),
    (BUNDLE, None, {}, True),  # no section: boto3 cannot read it, nobody can say what it trusts
], ids=["default", "capitals", "shared-section", "other-profile", "that-profile", "quoted-profile",
        "default-profile-first", "default-profile-other", "credentials-file", "credentials-other-profile",
        "credentials-that-profile", "none", "unparseable"])
def test_a_ca_bundle_boto3_would_trust_leaves_everything_to_boto3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: str | None, credentials: str | None,
    profile: dict[str, str], blocks: bool,
) -> None:
    """With an endpoint given, boto3 still trusts the ``ca_bundle`` of its profile (the config file's
    section, or the credentials file's), not certifi's bundle as the light client does."""
    for name, text in (("config", config), ("credentials", credentials)):
        if text is not None:
            (tmp_path / name).write_text(text, encoding="utf-8")
    monkeypatch.setenv("AWS_TEST_FILES", str(tmp_path))
    monkeypatch.setenv("AWS_CONFIG_FILE", "$AWS_TEST_FILES/config")  # expanded, as botocore expands it
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    for name in ("AWS_CA_BUNDLE", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in profile.items():
        monkeypatch.setenv(name, value)

    assert botocore_reads_a_ca_bundle() == blocks  # the cases say what botocore does
    assert _s3_light.environment_blocks_it(os.environ, endpoint_given=True) == blocks
    if config is None:  # without an endpoint, any config file leaves it to boto3; the credentials file counts too
        assert _s3_light.environment_blocks_it(os.environ, endpoint_given=False) == blocks


def test_a_ca_bundle_in_the_aws_config_file_leaves_the_read_and_the_uploads_to_boto3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    for name in ("AWS_CA_BUNDLE", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    options = {"bucket": BUCKET, "endpoint_url": "https://s3.example.com", "region": "us-east-1"}
    bucket = S3Host(ChannelConfig("bucket", "s3", options=options), tmp_path)
    (tmp_path / "aws-config").write_text("[default]\nregion = eu-west-1\n", encoding="utf-8")
    assert bucket._light_access() is not None and bucket._light_read() is not None
    (tmp_path / "aws-config").write_text("[default]\n" + BUNDLE, encoding="utf-8")
    assert bucket._light_access() is None and bucket._light_read() is None


# -- against an S3 server that checks signatures ------------------------------------------------


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with S3Server() as server:
        server.create_bucket(BUCKET)
        yield server


@pytest.fixture
def writer(s3: S3Server) -> Iterator[tuple[str, str]]:
    keys = s3.create_user(f"reader-{next(_users)}", ["s3:*"])
    s3.enable_auth()
    try:
        yield keys
    finally:
        s3.disable_auth()


def host(s3: S3Server, base_dir: Path, key_id: str, secret: str) -> S3Host:
    options = {"bucket": BUCKET, "endpoint_url": s3.url, "region": "us-east-1",
               "access_key_id": Secret("K", key_id), "secret_access_key": Secret("S", secret)}
    return S3Host(ChannelConfig("bucket", "s3", options=options), base_dir)


def test_the_server_accepts_the_signed_read_and_it_answers_like_boto3(
    s3: S3Server, writer: tuple[str, str], tmp_path: Path
) -> None:
    url = _s3_light.object_url(s3.url, "us-east-1", BUCKET, MANIFEST_NAME)
    assert url is not None
    keys = _s3_light.Keys(*writer)
    assert _s3_light.get(url, "us-east-1", keys, unless=None, timeout=5).status == 404  # no manifest yet

    s3.client(key=writer[0], secret=writer[1]).put_object(Bucket=BUCKET, Key=MANIFEST_NAME, Body=b'{"version": 0}')
    found = _s3_light.get(url, "us-east-1", keys, unless=None, timeout=5)
    assert (found.status, found.body) == (200, b'{"version": 0}') and found.etag.startswith('"')
    assert _s3_light.get(url, "us-east-1", keys, unless=found.etag, timeout=5).status == 304
    assert _s3_light.get(url, "us-east-1", _s3_light.Keys(writer[0], "wrong-secret"), unless=None, timeout=5).status == 403


def test_the_server_takes_a_signed_put_with_its_conditions_and_refuses_a_wrong_key(
    s3: S3Server, writer: tuple[str, str]
) -> None:
    url = _s3_light.object_url(s3.url, "us-east-1", BUCKET, "incidents/été 1.html")
    assert url is not None
    keys = _s3_light.Keys(*writer)
    headers = {"content-type": "text/html; charset=utf-8", "cache-control": "public, max-age=60"}

    connections = _s3_light.Connections(url, 5, None)

    def put(body: bytes, condition: dict[str, str], signer: _s3_light.Keys = keys) -> _s3_light.Answer:
        return _s3_light.put(connections, url, "us-east-1", signer, body, {**headers, **condition})

    created = put(b"<p>one</p>", {"if-none-match": "*"})
    assert created.status == 200 and created.etag.startswith('"')
    assert put(b"<p>two</p>", {"if-none-match": "*"}).status == 412  # it exists: not replaced
    assert put(b"<p>two</p>", {"if-match": '"0123456789abcdef0123456789abcdef"'}).status == 412
    assert put(b"<p>two</p>", {}, _s3_light.Keys(writer[0], "wrong-secret")).status == 403
    assert put(b"<p>three</p>", {"if-match": created.etag}).status == 200
    stored = s3.client(key=writer[0], secret=writer[1]).get_object(Bucket=BUCKET, Key="incidents/été 1.html")
    assert stored["Body"].read() == b"<p>three</p>"
    assert (stored["ContentType"], stored["CacheControl"]) == (headers["content-type"], headers["cache-control"])
    ports = {r.peer for r in s3.received("PUT", "/incidents/")}
    connections.close()
    assert len(ports) == 1, ports  # one connection, kept open between the requests


def test_the_warm_up_reads_without_boto3_and_falls_back_to_it_when_refused(
    s3: S3Server, writer: tuple[str, str], tmp_path: Path
) -> None:
    s3.clear()
    good = host(s3, tmp_path, *writer)
    good.warm_up()
    assert good._warm is not None
    good._warm.result()
    assert len(s3.received("GET")) == 1 and "Boto3" not in s3.received("GET")[0].headers.get("user-agent", "")

    s3.clear()
    wrong = host(s3, tmp_path / "wrong", writer[0], "wrong-secret")
    wrong.warm_up()
    assert wrong._warm is not None
    wrong._warm.result()
    agents = [r.headers.get("user-agent", "") for r in s3.received("GET")]
    assert len(agents) == 2 and "Boto3" not in agents[0] and "Boto3" in agents[1]  # refused, then boto3's own read


def test_the_first_request_leaves_before_boto3_is_imported(s3: S3Server, writer: tuple[str, str], tmp_path: Path) -> None:
    probe = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from broadcaster.config import ChannelConfig, Secret
        from broadcaster.site.hosts.s3 import S3Host
        options = {{"bucket": "{BUCKET}", "endpoint_url": "{s3.url}", "region": "us-east-1",
                    "access_key_id": Secret("K", "{writer[0]}"), "secret_access_key": Secret("S", "{writer[1]}")}}
        host = S3Host(ChannelConfig("bucket", "s3", options=options), Path("{tmp_path}"))
        host.warm_up()
        print("boto3 imported when warm_up returned:", "botocore.client" in sys.modules)
        host._warm.result()
    """)
    s3.clear()
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "boto3 imported when warm_up returned: False"
    assert [r.method for r in s3.requests] == ["GET"]


@pytest.mark.parametrize("setting", ["AWS_PROFILE", "AWS_ENDPOINT_URL_S3", "HTTP_PROXY"])
def test_settings_boto3_would_weigh_leave_the_read_to_it(
    s3: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: str
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    options = {"bucket": BUCKET, "endpoint_url": s3.url, "region": "us-east-1"}
    plain = S3Host(ChannelConfig("bucket", "s3", options=options), tmp_path)
    assert plain._light_read() is not None
    monkeypatch.setenv(setting, "profile-or-url")
    assert plain._light_read() is None


def test_an_aws_config_file_leaves_the_read_to_boto3_unless_the_endpoint_is_ours(tmp_path: Path) -> None:
    """Its default profile may name an endpoint (or FIPS hosts) that boto3 would use instead of AWS's."""
    config = tmp_path / "aws-config"
    environ = {"AWS_CONFIG_FILE": str(config)}
    assert not _s3_light.environment_blocks_it(environ, endpoint_given=False)
    config.write_text("[default]\nendpoint_url = http://127.0.0.1:9000\n", encoding="utf-8")
    assert _s3_light.environment_blocks_it(environ, endpoint_given=False)
    assert not _s3_light.environment_blocks_it(environ, endpoint_given=True)
    assert _s3_light.environment_blocks_it({**environ, "AWS_USE_FIPS_ENDPOINT": "true"}, endpoint_given=True)


class Listener:
    """A TCP port on loopback whose every connection ``serve`` handles in turn, counted in ``accepted``."""

    def __init__(self) -> None:
        self.accepted = 0
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._server.accept()
            except OSError:
                return
            self.accepted += 1
            self.serve(connection)

    def serve(self, connection: socket.socket) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self._server.close()


class CountingListener(Listener):
    """Holding each connection open without a word (``silent``), or answering a TLS hello in plain HTTP
    (the handshake then fails as an SSL error, not a reset: the hello is read before the answer)."""

    def __init__(self, silent: bool) -> None:
        self.silent = silent
        self._held: list[socket.socket] = []
        super().__init__()

    def serve(self, connection: socket.socket) -> None:
        if self.silent:
            self._held.append(connection)
            return
        with connection:
            connection.settimeout(5)
            with contextlib.suppress(OSError):
                connection.recv(4096)
                connection.sendall(b"HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    def close(self) -> None:
        super().close()
        for connection in self._held:
            connection.close()


class QuickS3Host(S3Host):
    connect_timeout = 0.5
    read_timeout = 0.5
    request_attempts = 1


@pytest.mark.parametrize(("scheme", "silent", "connections"), [
    ("http", True, 1),  # no answer: boto3 would wait as long, so it does not read (the publish reports it)
    ("https", False, 2),  # the TLS handshake fails: boto3 (maybe trusting another authority) reads it
])
def test_an_endpoint_that_does_not_answer_is_asked_once_and_a_tls_failure_is_left_to_boto3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scheme: str, silent: bool, connections: int
) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    listener = CountingListener(silent)
    try:
        options = {"bucket": BUCKET, "endpoint_url": f"{scheme}://127.0.0.1:{listener.port}", "region": "us-east-1",
                   "access_key_id": Secret("K", "AKIDEXAMPLE"), "secret_access_key": Secret("S", "s3cr3t")}
        host = QuickS3Host(ChannelConfig("bucket", "s3", options=options), tmp_path)
        assert host._light_read() is not None
        host.warm_up()
        assert host._warm is not None
        client, known = host._warm.result(timeout=30)
        assert client is not None and known is None  # nothing known: the publish reads it, or reports why
        assert listener.accepted == connections
    finally:
        listener.close()


class AnswersOnceEach(Listener):
    """An endpoint that answers one request on each connection, then closes it while the client thinks
    it is kept open (HTTP/1.1, no ``Connection: close``): as a server does with an idle connection."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.answered = 0
        self.closed = threading.Semaphore(0)  # released as each connection is closed
        super().__init__()

    def serve(self, connection: socket.socket) -> None:
        with connection:
            connection.settimeout(5)
            received = b""
            while b"\r\n\r\n" not in received:
                received += connection.recv(65536)
            head, _, body = received.partition(b"\r\n\r\n")
            length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            while len(body) < length:
                body += connection.recv(65536)
            # Counted before the answer leaves: the client may read it and the test look at the count
            # before this thread runs again.
            etag, self.answered = f'"e{self.answered}"', self.answered + 1
            connection.sendall(f"HTTP/1.1 {self.status} OK\r\nETag: {etag}\r\nContent-Length: 0\r\n\r\n".encode())
        self.closed.release()


def test_a_kept_connection_the_server_closed_is_replaced_and_the_put_sent_on_a_new_one() -> None:
    server = AnswersOnceEach()
    connections = _s3_light.Connections(server.url, 5, None)
    keys = _s3_light.Keys("AKIDEXAMPLE", "s3cr3t")
    try:
        first = _s3_light.put(connections, f"{server.url}/b/one.html", "us-east-1", keys, b"1", {})
        assert server.closed.acquire(timeout=5)  # the server has closed it; the client kept it
        second = _s3_light.put(connections, f"{server.url}/b/two.html", "us-east-1", keys, b"2", {})
    finally:
        connections.close()
        server.close()
    assert (first.status, second.status) == (200, 200) and (first.etag, second.etag) == ('"e0"', '"e1"')
    assert server.accepted == 2 and server.answered == 2


def test_a_connection_whose_answer_comes_after_close_is_closed_not_kept() -> None:
    connections = _s3_light.Connections("http://127.0.0.1:9", 5, None)
    connections.close()
    late = connections.new()
    connections.give_back(late)
    assert late.sock is None and connections.take()[1] is False  # closed, and nothing kept


@pytest.mark.parametrize(("environ", "endpoint", "through"), [
    ({}, "http://127.0.0.1:9000", False),
    ({"HTTP_PROXY": "http://proxy:3128"}, "http://127.0.0.1:9000", True),
    ({"http_proxy": "http://proxy:3128"}, "http://127.0.0.1:9000", True),
    ({"HTTPS_PROXY": "http://proxy:3128"}, "http://127.0.0.1:9000", False),  # botocore: the scheme's proxy only
    ({"HTTPS_PROXY": "http://proxy:3128"}, "https://s3.eu-west-1.amazonaws.com", True),
    ({"ALL_PROXY": "socks5://proxy:1080"}, "https://s3.amazonaws.com", False),  # botocore never uses it
    ({"HTTP_PROXY": "http://proxy:3128", "NO_PROXY": "127.0.0.1,localhost"}, "http://127.0.0.1:9000", False),
    ({"HTTP_PROXY": "http://proxy:3128", "no_proxy": "*"}, "http://127.0.0.1:9000", False),
    ({"HTTP_PROXY": "http://proxy:3128", "NO_PROXY": "example.com"}, "http://127.0.0.1:9000", True),
    # The host botocore asks about is its client's endpoint, not the bucket's virtual host:
    ({"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": "status.s3.eu-west-1.amazonaws.com"},
     "https://s3.eu-west-1.amazonaws.com", True),
    ({"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": ".amazonaws.com"}, "https://s3.eu-west-1.amazonaws.com", False),
    # urllib's precedence (the lower-case name wins), as botocore reads it:
    ({"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": ".amazonaws.com", "no_proxy": "localhost"},
     "https://s3.eu-west-1.amazonaws.com", True),
    ({"HTTP_PROXY": "http://proxy:3128", "NO_PROXY": "::1"}, "http://[::1]:9000", True),  # "[::1]" is asked about
])
def test_a_proxy_leaves_the_requests_to_boto3_exactly_where_botocore_would_use_it(
    monkeypatch: pytest.MonkeyPatch, environ: dict[str, str], endpoint: str, through: bool
) -> None:
    from botocore.utils import get_environ_proxies

    for name in list(os.environ):
        if name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    botocores = bool(get_environ_proxies(endpoint).get(urlsplit(endpoint).scheme))
    assert botocores == through  # the case says what botocore does
    assert _s3_light.proxied(endpoint, os.environ) == through


def test_the_endpoint_boto3s_client_is_made_for() -> None:
    assert _s3_light.client_endpoint("http://127.0.0.1:9000", "us-east-1") == "http://127.0.0.1:9000"
    assert _s3_light.client_endpoint(None, "us-east-1") == "https://s3.amazonaws.com"
    assert _s3_light.client_endpoint(None, "eu-west-1") == "https://s3.eu-west-1.amazonaws.com"
def test_any_2xx_answer_to_a_light_put_is_success_without_asking_boto3() -> None:
    """A gateway in front of the bucket may answer 201 or 204: not a reason to send the file again."""
    from broadcaster.site.hosts.s3 import _LightAccess, _LightClient

    def no_boto3() -> object:
        raise AssertionError("boto3 was asked to send it again")

    server = AnswersOnceEach(status=201)
    client = _LightClient.made(_LightAccess(server.url, "us-east-1", "b", _s3_light.Keys("AKIDEXAMPLE", "s3cr3t")),
                               no_boto3, 5)
    assert client is not None
    try:
        answer = client.put_object(Bucket="b", Key="k.html", Body=b"x", ContentType="text/html", CacheControl="no-store")
    finally:
        client.close()
        server.close()
    assert answer == {"ETag": '"e0"'}
