"""The s3 publish target against moto's real S3 server on loopback.

Every assertion reads what the server holds (objects and their headers) or
what crossed the wire (the recording proxy in ``tests.fakes.s3``).
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from broadcaster.config import ChannelConfig, Secret
from broadcaster.config_loader import parse
from broadcaster.errors import ConfigError, DeliveryError
from broadcaster.registry import load_host_class
from broadcaster.site.hosts import BuiltSite
from broadcaster.site.hosts._s3_manifest import MANIFEST_NAME, Remote
from broadcaster.site.hosts.s3 import S3Host
from tests.conftest import Project
from tests.fakes.s3 import S3Fault, S3Server
from tests.ports import free_port

SITE = {
    "index.html": b"<!doctype html><title>Status</title><a href='incidents/inc-1.html'>x</a>",
    "incidents/inc-1.html": b"<!doctype html><title>Incident 1</title>",
    "incidents/inc-2.html": b"<!doctype html><title>Incident 2</title>",
    "style.0123abcd.css": b"body { color: #111 }",
    "favicon.89abcdef.svg": b"<svg xmlns='http://www.w3.org/2000/svg'/>",
    "feed.xml": b"<?xml version='1.0'?><rss version='2.0'/>",
    "atom.xml": b"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'/>",
    "summary.json": b'{"status": "ok"}',
}
SHORT = "public, max-age=60"
YEAR = "public, max-age=31536000, immutable"
EXPECTED_HEADERS = {
    "index.html": ("text/html; charset=utf-8", SHORT),
    "incidents/inc-1.html": ("text/html; charset=utf-8", SHORT),
    "style.0123abcd.css": ("text/css; charset=utf-8", YEAR),
    "favicon.89abcdef.svg": ("image/svg+xml; charset=utf-8", YEAR),
    "feed.xml": ("application/rss+xml; charset=utf-8", SHORT),
    "atom.xml": ("application/atom+xml; charset=utf-8", SHORT),
    "summary.json": ("application/json; charset=utf-8", SHORT),
}
LINKING = {"index.html", "feed.xml", "atom.xml", "summary.json"}
NOW = datetime(2024, 5, 2, 9, 0, tzinfo=UTC)
_bucket_numbers = itertools.count()


def write_site(root: Path, files: dict[str, bytes]) -> BuiltSite:
    """A finished build: the files on disk and the sha256 of each, as the site builder reports them."""
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    return BuiltSite(root=root, hashes={p: hashlib.sha256(d).hexdigest() for p, d in files.items()})


def make_host(endpoint: str, bucket: str, base_dir: Path, **options: object) -> S3Host:
    config = ChannelConfig("bucket", "s3", options={"bucket": bucket, "endpoint_url": endpoint,
                                                     "region": "us-east-1", **options})
    return S3Host(config, base_dir)


def publish(host: S3Host, site: BuiltSite) -> object:
    return asyncio.run(host.publish(site))


def failure(host: S3Host, site: BuiltSite) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        publish(host, site)
    return caught.value


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with S3Server() as server:
        yield server


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """boto3's default chain reads these; never the machine's own ~/.aws."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def bucket(s3: S3Server) -> str:
    name = f"status-{next(_bucket_numbers)}"
    s3.create_bucket(name)
    s3.clear()
    return name


@pytest.fixture
def site(tmp_path: Path) -> BuiltSite:
    return write_site(tmp_path / "public", SITE)


def puts(s3: S3Server, bucket: str) -> list[str]:
    return [r.path.removeprefix(f"/{bucket}/") for r in s3.received("PUT", f"/{bucket}/")]


def assert_consistent(s3: S3Server, bucket: str, prefix: str = "") -> dict[str, str]:
    """The bucket serves exactly what its manifest names, each file with the hash it records
    (a file it names unconfirmed too: it must have arrived). Returns the manifest's files."""
    manifest = json.loads(s3.body(bucket, prefix + MANIFEST_NAME))
    served = {k.removeprefix(prefix): hashlib.sha256(s3.body(bucket, k)).hexdigest() for k in s3.objects(bucket)
              if k.startswith(prefix) and k != prefix + MANIFEST_NAME and not k.startswith(prefix + "a/")}
    assert served == manifest["files"], "the manifest does not describe what the bucket serves"
    files: dict[str, str] = manifest["files"]
    return files


def rounds(s3: S3Server) -> list[list[str]]:
    """The requests the server received, grouped into round trips that depend on one another: a
    request starts a new round when it arrived after every request of the current round had been
    answered (a publish waits for a whole round before the next); one that arrived before that was
    sent with them, however slowly a loaded machine sent it."""
    found: list[list[str]] = []
    answered = float("-inf")  # when the last answer of the current round started back
    for request in sorted(s3.requests, key=lambda r: r.at):
        if request.at >= answered:
            found.append([])
            answered = request.answered
        else:
            answered = max(answered, request.answered)
        found[-1].append(f"{request.method} {request.path.rsplit('/', 1)[-1]}")
    return found


# -- uploading -----------------------------------------------------------------


def test_first_publish_uploads_every_file_with_its_type_and_cache_policy(
    s3: S3Server, bucket: str, site: BuiltSite, tmp_path: Path
) -> None:
    receipt = publish(make_host(s3.url, bucket, tmp_path), site)

    objects = s3.objects(bucket)
    assert set(objects) == set(SITE) | {MANIFEST_NAME}
    for path, data in SITE.items():
        assert s3.body(bucket, path) == data
    wrong = {
        path: (objects[path]["ContentType"], objects[path]["CacheControl"])
        for path, expected in EXPECTED_HEADERS.items()
        if (objects[path]["ContentType"], objects[path]["CacheControl"]) != expected
    }
    assert not wrong, f"wrong headers (Content-Type, Cache-Control): {wrong}"
    manifest = json.loads(s3.body(bucket, MANIFEST_NAME))
    assert manifest["files"] == site.hashes
    assert receipt.remote_id == f"s3://{bucket}/"  # type: ignore[attr-defined]


def test_pages_and_assets_go_up_before_the_files_that_link_to_them_and_the_manifest_last(
    s3: S3Server, bucket: str, site: BuiltSite, tmp_path: Path
) -> None:
    publish(make_host(s3.url, bucket, tmp_path), site)

    claim, *order = puts(s3, bucket)
    assert claim == MANIFEST_NAME  # a first publish names the place broadcaster's before any file goes up
    assert sorted(order) == sorted([*SITE, MANIFEST_NAME])
    # The index, feeds and JSON go up with the manifest, in one round after every page and asset
    # (two round trips, not four): the manifest names them unconfirmed (test_manifest_names...).
    last_linked = max(i for i, p in enumerate(order) if p not in LINKING and p != MANIFEST_NAME)
    first_linking = min(i for i, p in enumerate(order) if p in LINKING or p == MANIFEST_NAME)
    assert last_linked < first_linking, f"a page or asset went up after a file linking to it: {order}"


def test_second_publish_uploads_only_the_changed_file_and_the_manifest(
    s3: S3Server, bucket: str, site: BuiltSite, tmp_path: Path
) -> None:
    host = make_host(s3.url, bucket, tmp_path)
    publish(host, site)
    before = s3.objects(bucket)
    s3.clear()

    changed = write_site(site.root, {**SITE, "incidents/inc-2.html": b"<!doctype html><title>Resolved</title>"})
    receipt = publish(host, changed)

    assert puts(s3, bucket) == ["incidents/inc-2.html", MANIFEST_NAME]
    assert not s3.received("DELETE")
    after = s3.objects(bucket)
    assert after["incidents/inc-2.html"]["ETag"] != before["incidents/inc-2.html"]["ETag"]
    assert s3.body(bucket, "incidents/inc-2.html") == b"<!doctype html><title>Resolved</title>"
    assert after["index.html"]["LastModified"] == before["index.html"]["LastModified"]
    assert receipt.notes == ("1 uploaded, 0 deleted, 7 unchanged",)  # type: ignore[attr-defined]


def test_unchanged_publish_sends_nothing_when_this_machine_wrote_the_manifest(
    s3: S3Server, bucket: str, site: BuiltSite, tmp_path: Path
) -> None:
    """Planned from the local copy of the manifest this machine wrote: nothing to ask the bucket.
    (Deliberate change: an unchanged publish used to read the bucket's manifest.)"""
    host = make_host(s3.url, bucket, tmp_path)
    publish(host, replace(site, latest=True))
    s3.clear()

    publish(host, replace(site, latest=True))

    assert s3.requests == []


def test_manifest_names_the_files_written_with_it_unconfirmed_and_a_reader_uploads_them_again(
    s3: S3Server, bucket: str, site: BuiltSite, tmp_path: Path
) -> None:
    """The index, feeds and JSON go up with the manifest: a machine that did not see them all
    arrive (another one, or this one after a crash) checks them against the build and uploads again
    the one that did not arrive as built; nothing else (re-uploading the rest, with a new manifest,
    would tell readers someone published when nothing public changed)."""
    publish(make_host(s3.url, bucket, tmp_path / "alice"), replace(site, latest=True))
    manifest = json.loads(s3.body(bucket, MANIFEST_NAME))
    assert set(manifest["unconfirmed"]) == LINKING
    lost = sorted(LINKING)[0]
    s3.client().put_object(Bucket=bucket, Key=lost, Body=b"an older copy")  # as if its upload never arrived
    s3.clear()

    publish(make_host(s3.url, bucket, tmp_path / "bob"), replace(site, latest=True))

    assert [(r.method, r.path) for r in s3.requests][0] == ("GET", f"/{bucket}/{MANIFEST_NAME}")
    assert sorted(puts(s3, bucket)) == sorted([lost, MANIFEST_NAME])
    assert_consistent(s3, bucket)


def test_a_file_gone_from_the_site_is_deleted_from_the_bucket(
    s3: S3Server, bucket: str, site: BuiltSite, tmp_path: Path
) -> None:
    host = make_host(s3.url, bucket, tmp_path)
    publish(host, site)
    s3.clear()

    smaller = dict(SITE)
    del smaller["incidents/inc-1.html"]
    (site.root / "incidents/inc-1.html").unlink()
    publish(host, write_site(site.root, smaller))

    assert [r.path for r in s3.received("DELETE")] == [f"/{bucket}/incidents/inc-1.html"]
    assert set(s3.objects(bucket)) == set(smaller) | {MANIFEST_NAME}
    assert puts(s3, bucket) == [MANIFEST_NAME]


def test_prefix_puts_the_site_and_its_manifest_in_a_folder(
    s3: S3Server, bucket: str, site: BuiltSite, tmp_path: Path
) -> None:
    publish(make_host(s3.url, bucket, tmp_path, prefix="status/"), site)

    assert set(s3.objects(bucket)) == {f"status/{p}" for p in [*SITE, MANIFEST_NAME]}


def test_files_uploaded_before_a_failure_are_not_uploaded_again(
    s3: S3Server, bucket: str, site: BuiltSite, tmp_path: Path
) -> None:
    host = make_host(s3.url, bucket, tmp_path)
    # Both attempts botocore makes at index.html get S3's "slow down" answer.
    s3.fail(S3Fault(match="index.html", method="PUT", status=503, code="SlowDown", times=S3Host.request_attempts))

    error = failure(host, site)
    assert error.retryable
    assert "SlowDown" in str(error) and "busy" in str(error) and not error.outcome_unknown
    s3.clear()

    publish(host, site)
    assert sorted(puts(s3, bucket)) == sorted(["index.html", MANIFEST_NAME])
    assert_consistent(s3, bucket)


# -- errors ----------------------------------------------------------------------


@pytest.fixture
def authenticated(s3: S3Server) -> Iterator[dict[str, tuple[str, str]]]:
    """moto checking signatures and IAM policies, with a writer and a user allowed nothing."""
    suffix = next(_bucket_numbers)
    users = {
        "writer": s3.create_user(f"writer-{suffix}", ["s3:*"]),
        "nobody": s3.create_user(f"nobody-{suffix}", []),
    }
    s3.enable_auth()
    try:
        yield users
    finally:
        s3.disable_auth()


CREDENTIAL_CASES = [
    # (id, which key id, which secret, bucket exists, words the advice must hold)
    ("unknown-key", "unknown", "writer", True, ["does not know this access key id", "access_key_id"]),
    ("wrong-secret", "writer", "wrong", True, ["secret access key does not match", "secret_access_key"]),
    ("no-permission", "nobody", "nobody", True, ["access denied", "s3:PutObject"]),
    ("unknown-bucket", "writer", "writer", False, ["does not exist", "publish.bucket.bucket"]),
]


@pytest.mark.parametrize(("key_from", "secret_from", "exists", "advice"),
                         [c[1:] for c in CREDENTIAL_CASES], ids=[c[0] for c in CREDENTIAL_CASES])
def test_credential_and_bucket_mistakes_are_permanent_and_say_what_to_fix(
    s3: S3Server, bucket: str, site: BuiltSite, tmp_path: Path, authenticated: dict[str, tuple[str, str]],
    key_from: str, secret_from: str, exists: bool, advice: list[str],
) -> None:
    key_id = "AKIAUNKNOWNKEY000000" if key_from == "unknown" else authenticated[key_from][0]
    secret = "wrong-secret-wrong-secret-0123456789" if secret_from == "wrong" else authenticated[secret_from][1]
    host = make_host(
        s3.url, bucket if exists else "no-such-bucket", tmp_path,
        access_key_id=Secret("S3_KEY_ID", key_id), secret_access_key=Secret("S3_SECRET", secret),
    )

    error = failure(host, site)

    assert not error.retryable
    for words in advice:
        assert words in str(error), f"{words!r} missing from: {error}"
    assert key_id not in str(error) and secret not in str(error)
    assert not s3.received("PUT")


def test_the_right_credentials_from_the_config_work_when_the_server_checks_them(
    s3: S3Server, bucket: str, site: BuiltSite, tmp_path: Path, authenticated: dict[str, tuple[str, str]]
) -> None:
    key_id, secret = authenticated["writer"]
    host = make_host(s3.url, bucket, tmp_path, access_key_id=Secret("K", key_id), secret_access_key=Secret("S", secret))

    publish(host, site)

    assert authenticated["writer"][0] in s3.received("PUT")[0].headers["authorization"]
    assert s3.received("PUT")


def test_unreachable_endpoint_is_retryable(site: BuiltSite, tmp_path: Path) -> None:
    secret = "unreachable-secret-0123456789"
    endpoint = f"http://127.0.0.1:{free_port()}"
    host = make_host(endpoint, "status", tmp_path,
                     access_key_id=Secret("K", "AKIAREACH"), secret_access_key=Secret("S", secret))

    error = failure(host, site)

    assert error.retryable
    assert endpoint in str(error) and "endpoint_url" in str(error)
    assert secret not in str(error)


def test_an_endpoint_that_never_answers_times_out_as_retryable_though_it_may_have_acted(
    site: BuiltSite, tmp_path: Path
) -> None:
    """A read timeout may come after S3 stored the object: retryable all the same, since uploading
    a file again is harmless (the engine repeats a site upload whatever its outcome)."""
    with socket.socket() as listener:  # accepts connections, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        host = make_host(f"http://127.0.0.1:{listener.getsockname()[1]}", "status", tmp_path)
        host.read_timeout = 0.3  # type: ignore[misc]

        error = failure(host, site)

    assert error.retryable and error.outcome_unknown
    assert "did not answer in time" in str(error)


def test_a_reset_connection_is_retryable(s3: S3Server, bucket: str, site: BuiltSite, tmp_path: Path) -> None:
    s3.fail(S3Fault(match=MANIFEST_NAME, reset=True, times=S3Host.request_attempts))

    error = failure(make_host(s3.url, bucket, tmp_path), site)

    assert error.retryable


# -- check -------------------------------------------------------------------------


def test_check_reports_a_reachable_bucket_without_writing(
    s3: S3Server, bucket: str, site: BuiltSite, tmp_path: Path
) -> None:
    host = make_host(s3.url, bucket, tmp_path)
    (before,) = asyncio.run(host.check())
    publish(host, site)
    s3.clear()

    (after,) = asyncio.run(host.check())

    assert before.ok and "nothing published yet" in before.detail
    assert after.ok and f"{len(SITE)} files published" in after.detail
    assert {r.method for r in s3.requests} <= {"GET", "HEAD"}


def test_check_reports_a_missing_bucket(s3: S3Server, tmp_path: Path) -> None:
    (result,) = asyncio.run(make_host(s3.url, "never-created", tmp_path).check())

    assert not result.ok
    assert "does not exist" in result.detail


# -- configuration -------------------------------------------------------------------


def test_config_loader_builds_an_s3_target(tmp_path: Path) -> None:
    config = parse(
        {"publish": {"bucket": {"type": "s3", "bucket": "status", "prefix": "site",
                                "access_key_id": "${K}", "secret_access_key": "${S}"}}},
        tmp_path / "broadcaster.toml", {"K": "AKIA1", "S": "secret-value"},
    )
    host = load_host_class("s3")(config.publish["bucket"], tmp_path)

    assert isinstance(host, S3Host)
    assert (host.bucket, host.prefix, host.manifest_key) == ("status", "site/", f"site/{MANIFEST_NAME}")
    assert "secret-value" not in repr(config.publish["bucket"])


@pytest.mark.parametrize(("options", "words"), [
    ({"access_key_id": "AKIA1", "secret_access_key": "written-in-the-file"}, "environment variable"),
    ({"access_key_id": Secret("K", "AKIA1")}, "set both"),
], ids=["secret-in-file", "half-a-pair"])
def test_credential_options_that_cannot_work_are_refused(
    tmp_path: Path, options: dict[str, object], words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        make_host("http://127.0.0.1:1", "status", tmp_path, **options)

    assert words in str(caught.value)
    assert "written-in-the-file" not in str(caught.value)


def test_publish_does_not_block_the_event_loop(
    s3: S3Server, bucket: str, site: BuiltSite, tmp_path: Path
) -> None:
    """Other destinations deliver while S3 uploads: the loop keeps ticking during publish."""
    ticks = 0
    stop = threading.Event()

    async def main() -> None:
        nonlocal ticks

        async def tick() -> None:
            nonlocal ticks
            while not stop.is_set():
                ticks += 1
                await asyncio.sleep(0.001)

        ticker = asyncio.create_task(tick())
        await make_host(s3.url, bucket, tmp_path).publish(site)
        stop.set()
        await ticker

    asyncio.run(main())
    assert ticks > 1
    assert len(puts(s3, bucket)) == len(SITE) + 2  # and the manifest: the first publish's claim, then the last


def test_a_real_build_gets_a_charset_on_every_text_file_and_a_year_only_on_fingerprinted_assets(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """The builder's own output, so a renamed asset or a new file type cannot slip past the rules."""
    from broadcaster.config import PageConfig
    from broadcaster.site.build import SiteData, build_site, is_immutable

    data = SiteData(page=PageConfig(title="Acme status"), components=(), incidents=(), now=NOW)
    built = build_site(data, tmp_path / "public")

    publish(make_host(s3.url, bucket, tmp_path), built)

    objects = s3.objects(bucket)
    for path in built.hashes:
        kind, cache = objects[path]["ContentType"], objects[path]["CacheControl"]
        if kind.startswith(("text/", "application/")) or kind.endswith("+xml"):
            assert kind.endswith("; charset=utf-8"), f"{path}: {kind}"
        assert (cache == YEAR) is is_immutable(path), f"{path}: {cache}"
    assert objects["index.html"]["ContentType"] == "text/html; charset=utf-8"


@pytest.mark.parametrize("prefix", ["../elsewhere", "status/../../x", "/status", "a//b", "./status", "st atus",
                                    "status\\..\\x", "a/\x00/b", "a/%2e%2e/b", "a?x", "a#x"],
                         ids=["dotdot", "inner-dotdot", "leading-slash", "empty-part", "dot", "space",
                              "backslash", "control", "encoded-dotdot", "query", "fragment"])
def test_a_prefix_that_resolves_elsewhere_is_refused_at_config_load(project: Project, prefix: str) -> None:
    escaped = prefix.replace("\\", "\\\\").replace("\x00", "\\u0000")
    project.write_config(f'\n[publish.bucket]\ntype = "s3"\nbucket = "acme-status"\nprefix = "{escaped}"\n')

    result = project.cli("channels", "check")

    assert result.exit_code == 2, result.output
    assert "publish.bucket.prefix" in result.output and "no leading '/'" in result.output


@pytest.mark.parametrize("prefix", ["status", "status/", "sites/acme-status", "a.b/c_d-e"])
def test_a_folder_prefix_is_accepted(tmp_path: Path, prefix: str) -> None:
    config = parse({"publish": {"b": {"type": "s3", "bucket": "acme", "prefix": prefix}}}, tmp_path / "b.toml", {})
    host = load_host_class("s3")(config.publish["b"], tmp_path)
    assert isinstance(host, S3Host) and host.prefix == prefix.rstrip("/") + "/"


# -- customers' private pages ----------------------------------------------------------------


def test_a_customer_page_is_never_named_in_the_bucket_manifest_and_goes_when_its_token_changes(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """The manifest in the bucket is readable by whoever reads the site: a customer page's path (its
    capability) is listed from the bucket instead; a rotated token's old page is deleted."""
    old, new = "a/old-token-0123456789abcdef/", "a/new-token-fedcba9876543210/"
    host = make_host(s3.url, bucket, tmp_path)
    first = {**SITE, old + "index.html": b"<p>acme</p>", old + "feed.xml": b"<rss/>"}
    publish(host, write_site(tmp_path / "one", first))
    assert "old-token" not in s3.body(bucket, MANIFEST_NAME).decode()
    assert s3.body(bucket, old + "index.html") == b"<p>acme</p>"
    publish(host, write_site(tmp_path / "two", {**SITE, new + "index.html": b"<p>acme 2</p>"}))
    assert s3.body(bucket, new + "index.html") == b"<p>acme 2</p>"
    assert not any(key.startswith(old) for key in s3.objects(bucket))
    assert "token" not in s3.body(bucket, MANIFEST_NAME).decode()


# -- round trips and publishers that take turns ---------------------------------------------


@pytest.fixture
def slow_s3(s3: S3Server) -> Iterator[S3Server]:
    """The same server, each request held ``latency`` seconds: round trips are told apart by time. A second, not
    0.4 s: on ten workers a publish's thread sending the second of a round's PUTs was once held past the first's
    answer (07:50, session 35), and the round read as two."""
    s3.latency = 1.0
    try:
        yield s3
    finally:
        s3.latency = 0.0


def test_a_publish_after_the_build_takes_two_dependent_round_trips(
    slow_s3: S3Server, bucket: str, site: BuiltSite, tmp_path: Path
) -> None:
    host = make_host(slow_s3.url, bucket, tmp_path)
    publish(host, replace(site, latest=True))
    changed = write_site(site.root, {**SITE, "incidents/inc-2.html": b"<p>Resolved</p>", "index.html": b"<p>2</p>",
                                     "feed.xml": b"<rss version='2.0'><item/></rss>"})
    slow_s3.clear()

    publish(host, replace(changed, latest=True))

    found = rounds(slow_s3)
    assert len(found) == 2, found
    assert found[0] == ["PUT inc-2.html"]
    assert sorted(found[1]) == sorted(["PUT index.html", "PUT feed.xml", f"PUT {MANIFEST_NAME}"])
    assert_consistent(slow_s3, bucket)


def test_the_first_round_trip_can_start_while_the_site_builds(
    slow_s3: S3Server, bucket: str, site: BuiltSite, tmp_path: Path
) -> None:
    """Without a local copy the manifest is read by ``warm_up``, at command start: the publish
    itself then needs the same two round trips."""
    publish(make_host(slow_s3.url, bucket, tmp_path / "alice"), site)
    host = make_host(slow_s3.url, bucket, tmp_path / "bob")
    slow_s3.clear()

    host.warm_up()
    assert host._warm is not None
    host._warm.result()  # the site "builds" meanwhile
    read = len(slow_s3.requests)
    publish(host, replace(site, latest=True))

    assert read == 1 and slow_s3.requests[0].method == "GET"
    assert len(rounds(slow_s3)) == 1 + 1  # the read, then the index, feeds and JSON with the manifest
    assert_consistent(slow_s3, bucket)


def test_two_publishers_with_their_own_copies_take_turns_and_leave_the_bucket_consistent(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """Alice and Bob publish one store's site by turns, each from its own local copy of the manifest:
    each time one's copy is out of date, its conditional write fails, it reads the bucket's and
    plans again. Every page of every build stays, and the manifest describes the bucket."""
    alice, bob = make_host(s3.url, bucket, tmp_path / "alice"), make_host(s3.url, bucket, tmp_path / "bob")

    def build(name: str, generation: int, pages: dict[str, bytes]) -> BuiltSite:
        files = {**SITE, **pages, "index.html": f"<p>{sorted(pages)} at {generation}</p>".encode()}
        built = write_site(tmp_path / f"{name}-{generation}", files)
        versions = {p: f"{generation}-x" for p in pages}
        return replace(built, store="one-store", generation=generation, versions=versions,
                       keep=frozenset(p for p in files if p.startswith("incidents/")), latest=True)

    publish(alice, build("alice", 1, {"incidents/inc-3.html": b"<p>3 opened</p>"}))
    publish(bob, build("bob", 2, {"incidents/inc-3.html": b"<p>3 opened</p>", "incidents/inc-4.html": b"<p>4</p>"}))
    s3.clear()
    final = build("alice", 3, {"incidents/inc-3.html": b"<p>3 resolved</p>", "incidents/inc-4.html": b"<p>4</p>"})
    publish(alice, final)

    conditional = [r for r in s3.received("PUT") if r.path.endswith(MANIFEST_NAME)]
    assert len(conditional) == 2 and all("if-match" in r.headers for r in conditional)
    assert [r.method for r in s3.received("GET")] == ["GET"]  # read once, after the condition failed
    files = assert_consistent(s3, bucket)
    assert files == final.hashes
    assert s3.body(bucket, "incidents/inc-3.html") == b"<p>3 resolved</p>"

    s3.clear()
    publish(bob, build("bob", 3, {"incidents/inc-3.html": b"<p>3 resolved</p>", "incidents/inc-4.html": b"<p>4</p>"}))
    assert_consistent(s3, bucket)


def of_one_store(root: Path, files: dict[str, bytes], generation: int, latest: bool) -> BuiltSite:
    """A build of one store at ``generation``, its incident 1's page showing that version of its record."""
    return replace(write_site(root, files), store="one-store", generation=generation,
                   versions={"incidents/inc-1.html": f"{generation}-x"}, latest=latest)


def test_a_publisher_whose_build_is_behind_reads_the_bucket_before_uploading_anything(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """Bob built before Alice stored a later update, and Alice published first: Bob's copy of the
    manifest is stale and his build older (``latest`` false), so he reads before he uploads and
    never replaces Alice's newer page, index or feeds, even for a moment."""
    alice, bob = make_host(s3.url, bucket, tmp_path / "alice"), make_host(s3.url, bucket, tmp_path / "bob")
    old = {**SITE, "incidents/inc-1.html": b"<p>old</p>"}
    new = {**SITE, "incidents/inc-1.html": b"<p>new</p>", "index.html": b"<p>new index</p>"}

    def built(name: str, files: dict[str, bytes], generation: int, latest: bool) -> BuiltSite:
        return of_one_store(tmp_path / name, files, generation, latest)

    publish(bob, built("bob-1", SITE, 1, True))
    publish(alice, built("alice", new, 3, True))
    s3.clear()
    publish(bob, built("bob-2", old, 2, False))

    assert s3.requests[0].method == "GET"
    assert not [p for p in puts(s3, bucket) if p in ("incidents/inc-1.html", "index.html")]
    assert s3.body(bucket, "incidents/inc-1.html") == b"<p>new</p>"
    assert s3.body(bucket, "index.html") == b"<p>new index</p>"
    assert_consistent(s3, bucket)


def test_a_publish_that_stops_part_way_records_its_pages_versions_so_an_older_build_keeps_them(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """Alice's page of update 3 went up, her index did not (refused twice): the manifest that records
    what did go up names the page with update 3's version and her old generation (the bucket does not
    show her index yet). Bob, whose build read the store at update 2, must keep her page, and may
    replace only the index, which is older than his."""
    alice, bob = make_host(s3.url, bucket, tmp_path / "alice"), make_host(s3.url, bucket, tmp_path / "bob")

    def built(name: str, page: bytes, index: bytes, generation: int, latest: bool) -> BuiltSite:
        return of_one_store(tmp_path / name, {**SITE, "incidents/inc-1.html": page, "index.html": index},
                            generation, latest)

    publish(alice, built("alice-1", b"<p>1</p>", b"<p>index 1</p>", 1, True))
    s3.fail(S3Fault(match="/index.html", method="PUT", status=503, code="SlowDown", times=S3Host.request_attempts))
    assert failure(alice, built("alice-3", b"<p>3</p>", b"<p>index 3</p>", 3, True)).retryable
    recorded = Remote.of_bytes(s3.body(bucket, MANIFEST_NAME), None).opened("one-store")  # sealed: the store opens it
    assert recorded.versions["incidents/inc-1.html"] == "3-x" and recorded.generation == 1

    publish(bob, built("bob-2", b"<p>2</p>", b"<p>index 2</p>", 2, False))

    assert s3.body(bucket, "incidents/inc-1.html") == b"<p>3</p>"
    assert s3.body(bucket, "index.html") == b"<p>index 2</p>"
    assert_consistent(s3, bucket)


def test_a_first_publish_that_stops_part_way_names_its_store_and_claims_no_generation(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    site = of_one_store(tmp_path / "site", SITE, 4, latest=False)
    s3.fail(S3Fault(match="/index.html", method="PUT", status=503, code="SlowDown", times=S3Host.request_attempts))

    assert failure(make_host(s3.url, bucket, tmp_path), site).retryable

    recorded = Remote.of_bytes(s3.body(bucket, MANIFEST_NAME), None).opened("one-store")  # sealed: the store opens it
    assert (recorded.store, recorded.generation) == ("one-store", 0)
    assert recorded.versions == {"incidents/inc-1.html": "4-x"} and "index.html" not in recorded.files


def test_a_manifest_deleted_from_the_bucket_is_written_again(
    s3: S3Server, bucket: str, site: BuiltSite, tmp_path: Path
) -> None:
    """If-Match on a manifest that is gone fails (404): read again, and write it as a first one."""
    host = make_host(s3.url, bucket, tmp_path)
    publish(host, replace(site, latest=True))
    s3.client().delete_object(Bucket=bucket, Key=MANIFEST_NAME)

    changed = write_site(site.root, {**SITE, "index.html": b"<p>changed</p>"})
    publish(host, replace(changed, latest=True))

    manifest_puts = [r for r in s3.received("PUT") if r.path.endswith(MANIFEST_NAME)]
    assert manifest_puts[-1].headers.get("if-none-match") == "*"
    assert assert_consistent(s3, bucket) == changed.hashes


def test_the_local_copy_names_no_customer_page(s3: S3Server, bucket: str, tmp_path: Path) -> None:
    token = "a/secret-token-0123456789abcdef/"
    host = make_host(s3.url, bucket, tmp_path)
    publish(host, replace(write_site(tmp_path / "one", {**SITE, token + "index.html": b"<p>acme</p>"}), latest=True))

    assert host.local_copy.path.is_file()
    assert "secret-token" not in host.local_copy.path.read_text()
    s3.clear()
    publish(host, replace(write_site(tmp_path / "one", {**SITE, token + "index.html": b"<p>acme</p>"}), latest=True))
    # Listed from the bucket and compared by content (its hash is never recorded here): the same page is not
    # uploaded again, and the manifest is not rewritten (a new ETag would tell readers someone published).
    assert puts(s3, bucket) == []
    assert_consistent(s3, bucket)


def test_the_warm_up_asks_whether_the_local_copy_is_current_while_the_site_builds(
    slow_s3: S3Server, bucket: str, site: BuiltSite, tmp_path: Path
) -> None:
    """The bucket's first request leaves at command start: a GET of the manifest unless its ETag is
    still the local copy's. 304: the publish plans from the copy; another publisher's manifest: from
    that one, with no failed write (412) and no second read."""
    alice, bob = make_host(slow_s3.url, bucket, tmp_path / "alice"), make_host(slow_s3.url, bucket, tmp_path / "bob")
    publish(alice, replace(site, latest=True))
    etag = slow_s3.client().head_object(Bucket=bucket, Key=MANIFEST_NAME)["ETag"]
    second = write_site(tmp_path / "two", {**SITE, "incidents/inc-2.html": b"<p>Resolved</p>", "index.html": b"<p>2</p>"})
    slow_s3.clear()

    alice.warm_up()
    assert alice._warm is not None
    alice._warm.result()  # the site "builds" meanwhile
    publish(alice, replace(second, latest=True))

    found = rounds(slow_s3)
    assert found[0] == [f"GET {MANIFEST_NAME}"] and slow_s3.requests[0].headers["if-none-match"] == etag
    assert len(found) == 3 and found[1] == ["PUT inc-2.html"], found
    assert sorted(found[2]) == sorted(["PUT index.html", f"PUT {MANIFEST_NAME}"])

    publish(bob, replace(write_site(tmp_path / "three", {**SITE, "index.html": b"<p>3</p>"}), latest=True))
    third = write_site(tmp_path / "four", {**SITE, "incidents/inc-2.html": b"<p>Resolved</p>", "index.html": b"<p>4</p>"})
    slow_s3.clear()
    alice.warm_up()
    assert alice._warm is not None
    alice._warm.result()
    publish(alice, replace(third, latest=True))

    assert [r.method for r in slow_s3.received("GET")] == ["GET"]  # Bob's manifest, sent back at once
    manifest_puts = [r for r in slow_s3.received("PUT") if r.path.endswith(MANIFEST_NAME)]
    assert len(manifest_puts) == 1, "the write failed once: the warm-up's read was not used"
    assert assert_consistent(slow_s3, bucket) == third.hashes


def test_the_warm_up_takes_over_the_read_ahead_unless_the_local_copy_changed_since(
    s3: S3Server, bucket: str, site: BuiltSite, tmp_path: Path
) -> None:
    """``read_ahead`` (as the config is read) starts the warm-up's read early; the warm-up takes it over
    instead of asking again. If this machine published meanwhile (another command), the early answer
    was asked against the older copy: the warm-up asks again, and the publish plans from the new one."""
    alice = make_host(s3.url, bucket, tmp_path / "alice")
    publish(alice, replace(site, latest=True))
    s3.clear()

    make_host(s3.url, bucket, tmp_path / "alice").read_ahead()
    deadline = time.monotonic() + 5
    while not s3.received("GET", MANIFEST_NAME) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(s3.received("GET", MANIFEST_NAME)) == 1  # on its way before the warm-up starts
    again = make_host(s3.url, bucket, tmp_path / "alice")  # the engine's host is another instance
    again.warm_up()
    assert again._warm is not None
    again._warm.result()
    publish(again, replace(write_site(tmp_path / "two", {**SITE, "index.html": b"<p>2</p>"}), latest=True))
    assert len(s3.received("GET", MANIFEST_NAME)) == 1, "the warm-up asked again"

    make_host(s3.url, bucket, tmp_path / "alice").read_ahead()
    publish(make_host(s3.url, bucket, tmp_path / "alice"),  # another command of this machine, meanwhile
            replace(write_site(tmp_path / "three", {**SITE, "index.html": b"<p>3</p>"}), latest=True))
    s3.clear()
    late = make_host(s3.url, bucket, tmp_path / "alice")
    late.warm_up()
    assert late._warm is not None
    late._warm.result()
    fourth = write_site(tmp_path / "four", {**SITE, "index.html": b"<p>4</p>"})
    publish(late, replace(fourth, latest=True))
    manifest_puts = [r for r in s3.received("PUT") if r.path.endswith(MANIFEST_NAME)]
    assert len(s3.received("GET", MANIFEST_NAME)) == 1 and len(manifest_puts) == 1, "planned from the stale answer"
    assert assert_consistent(s3, bucket) == fourth.hashes



def test_a_read_ahead_older_than_a_few_seconds_is_not_taken_over(
    s3: S3Server, bucket: str, site: BuiltSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``post --yes`` opens $EDITOR (or reads standard input) after its read has left: by the time the
    warm-up runs, the answer may be minutes old. The warm-up then asks again."""
    alice = make_host(s3.url, bucket, tmp_path / "alice")
    publish(alice, replace(site, latest=True))
    s3.clear()
    monkeypatch.setattr(S3Host, "read_ahead_fresh", 0.2)

    leaving = make_host(s3.url, bucket, tmp_path / "alice").read_ahead()
    assert leaving is not None and leaving.wait(5)
    time.sleep(0.5)  # the operator writes the message
    late = make_host(s3.url, bucket, tmp_path / "alice")
    late.warm_up()
    assert late._warm is not None
    late._warm.result()
    assert len(s3.received("GET", MANIFEST_NAME)) == 2, "an old answer was taken over"


def test_a_read_ahead_that_failed_is_not_taken_over(s3: S3Server, bucket: str, site: BuiltSite, tmp_path: Path) -> None:
    """A read ahead whose connection was reset is not the bucket's answer: the warm-up asks again (taken
    over, the failure would read as "unreachable", and boto3 would not ask either)."""
    from concurrent.futures import wait as wait_for

    alice = make_host(s3.url, bucket, tmp_path / "alice")
    publish(alice, replace(site, latest=True))
    s3.clear()
    s3.fail(S3Fault(match=MANIFEST_NAME, reset=True))

    early = make_host(s3.url, bucket, tmp_path / "alice")
    assert early.read_ahead() is not None
    started = early.taken_ahead()  # what the warm-up will find, once the reset has come back
    wait_for([started.reading], timeout=10)  # type: ignore[attr-defined]
    assert isinstance(started.reading.exception(), OSError)  # type: ignore[attr-defined]
    early.keep_ahead(started)

    late = make_host(s3.url, bucket, tmp_path / "alice")
    late.warm_up()
    assert late._warm is not None
    late._warm.result()
    assert len(s3.received("GET", MANIFEST_NAME)) == 1, "the failed read was taken over"


def test_a_service_without_conditional_writes_gets_the_manifest_read_and_written_plainly(
    s3: S3Server, bucket: str, site: BuiltSite, tmp_path: Path
) -> None:
    """Some S3-compatible services answer If-Match with 501: the publish reads the manifest and
    writes it without a condition (as before conditional writes), and still completes."""
    host = make_host(s3.url, bucket, tmp_path)
    publish(host, replace(site, latest=True))
    changed = write_site(site.root, {**SITE, "index.html": b"<p>changed</p>"})
    s3.clear()
    s3.fail(S3Fault(match=MANIFEST_NAME, status=501, code="NotImplemented", times=1))

    publish(host, replace(changed, latest=True))

    writes = [r for r in s3.received("PUT") if r.path.endswith(MANIFEST_NAME)]
    assert writes and not ({"if-match", "if-none-match"} & set(writes[-1].headers))
    assert [r.method for r in s3.received("GET")] == ["GET"]
    assert assert_consistent(s3, bucket) == changed.hashes


def test_a_round_of_twenty_files_is_one_round_trip(
    slow_s3: S3Server, bucket: str, site: BuiltSite, tmp_path: Path
) -> None:
    """A post changes the index and a score of feeds, JSON and badges: they go up with the manifest at once."""
    host = make_host(slow_s3.url, bucket, tmp_path)
    many = {**SITE, **{f"components/c{n}/feed.xml": f"<rss>{n}</rss>".encode() for n in range(16)}}
    publish(host, replace(write_site(tmp_path / "one", many), latest=True))
    changed = {**{p: d + b" " for p, d in many.items() if p not in ("style.0123abcd.css", "favicon.89abcdef.svg")
                  and not p.startswith("incidents/")}}
    slow_s3.clear()

    publish(host, replace(write_site(tmp_path / "one", {**many, **changed}), latest=True))

    found = rounds(slow_s3)
    assert len(found) == 1 and len(found[0]) == len(changed) + 1, found


@pytest.mark.parametrize("copy", ["{not json", '{"place": "s3:elsewhere", "etag": "\\"x\\"", "manifest": {}}',
                                  '{"place": null}', "[]"], ids=["garbled", "another-place", "no-etag", "not-a-dict"])
def test_a_local_copy_that_cannot_be_trusted_is_ignored_and_the_bucket_read(
    s3: S3Server, bucket: str, site: BuiltSite, tmp_path: Path, copy: str
) -> None:
    host = make_host(s3.url, bucket, tmp_path)
    publish(host, replace(site, latest=True))
    host.local_copy.path.write_text(copy, encoding="utf-8")
    changed = write_site(site.root, {**SITE, "index.html": b"<p>changed</p>"})
    s3.clear()

    publish(host, replace(changed, latest=True))

    assert s3.requests[0].method == "GET"
    assert assert_consistent(s3, bucket) == changed.hashes


def test_a_fork_waits_for_the_warm_up_to_finish(s3: S3Server, bucket: str, tmp_path: Path) -> None:
    """`site publish` warms up, then a full build of 1,000 pages forks its workers (site.parallel): a
    fork while the warm-up imports boto3 or holds its locks would copy them held into the child."""
    host = make_host(s3.url, bucket, tmp_path)
    s3.fail(S3Fault(match=MANIFEST_NAME, delay=1.0))  # the warm-up's read of the manifest is slow
    host.warm_up()
    assert s3.delayed.wait(10)  # the read is in flight
    assert host._warm is not None and not host._warm.done()
    with warnings.catch_warnings():  # Python 3.12+ warns of a fork with threads: that is the point here
        warnings.simplefilter("ignore", DeprecationWarning)
        child = os.fork()
    if child == 0:
        os._exit(0)
    os.waitpid(child, 0)
    assert host._warm.done()  # the fork waited for it


def test_the_fork_hook_is_registered_once_not_at_every_warm_up_or_read(
    s3: S3Server, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hook registered with ``os.register_at_fork`` stays for the life of the process: one per warm-up
    and per read would pile up in a process that publishes again and again (the bot, a test run)."""
    registered: list[object] = []
    monkeypatch.setattr(os, "register_at_fork", lambda **hooks: registered.append(hooks))
    for n in range(3):
        host = make_host(s3.url, bucket, tmp_path / str(n))
        host.read_ahead()
        host.warm_up()
        assert host._warm is not None
        host._warm.result(timeout=30)
    assert registered == []  # the module's own, registered as it was imported


@pytest.mark.parametrize("cancels", [1, 2], ids=["cancelled", "cancelled-again-while-it-stops"])
def test_a_cancelled_publish_returns_only_once_its_requests_on_their_way_are_done(
    s3: S3Server, bucket: str, site: BuiltSite, tmp_path: Path, cancels: int
) -> None:
    """The caller gives up the store's lock (site.source.publish) as the publish returns: an upload of
    its own still on its way then could land over the newer file of the publisher that goes next."""
    host = make_host(s3.url, bucket, tmp_path)
    s3.delayed.clear()
    s3.fail(S3Fault(match="/index.html", method="PUT", delay=1.5))  # the index's upload is slow, but lands

    def all_on_their_way() -> bool:
        # The claim's empty manifest, then the one naming the files, and every file of the last round: on a loaded
        # machine their threads may not have sent them yet when the index's PUT arrives, and a cancel then rightly
        # stops one before it leaves (the manifest names it unconfirmed, and the next publish looks at it).
        def sent() -> bool:
            # The index's own PUT is recorded once its delay is over: ``s3.delayed`` says it arrived.
            return len(s3.received("PUT", MANIFEST_NAME)) >= 2 and set(puts(s3, bucket)) >= SITE.keys() - {"index.html"}

        deadline = time.monotonic() + 20
        while not sent() and time.monotonic() < deadline:
            time.sleep(0.01)
        return sent()

    async def main() -> None:
        publishing = asyncio.create_task(host.publish(replace(site, latest=True)))
        assert await asyncio.to_thread(s3.delayed.wait, 20)  # on its way
        assert await asyncio.to_thread(all_on_their_way)  # and so are the manifest and the other files
        for _ in range(cancels):
            publishing.cancel()
            await asyncio.sleep(0.05)
        with pytest.raises(asyncio.CancelledError):
            await publishing
        # Checked here: asyncio.run waits for its threads before it returns.
        assert s3.body(bucket, "index.html") == SITE["index.html"]  # it landed before the publish returned

    asyncio.run(main())
    assert assert_consistent(s3, bucket) == site.hashes


def test_the_warm_up_returns_once_its_first_request_is_leaving(slow_s3: S3Server, bucket: str, tmp_path: Path) -> None:
    """Issue 20: until the bucket's first request has left, the command does nothing else: importing
    the site builder or another SDK meanwhile would share the one GIL with boto3's import and hold the
    slowest chain of round trips up. In a fresh interpreter, where boto3 is not imported yet."""
    probe = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from broadcaster.config import ChannelConfig
        from broadcaster.site.hosts.s3 import S3Host
        host = S3Host(ChannelConfig("bucket", "s3", options={{"bucket": "{bucket}", "endpoint_url": "{slow_s3.url}",
                                                              "region": "us-east-1"}}), Path("{tmp_path}"))
        assert "boto3" not in sys.modules
        host.warm_up()
        print(host._leaving.is_set(), host._warm.done())
        host._warm.result()
    """)
    slow_s3.clear()
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    # Its client made and the read on its way (its answer is 0.4 s away): nothing to wait for after it.
    assert done.stdout.split() == ["True", "False"]
    assert [r.method for r in slow_s3.requests] == ["GET"]


@pytest.mark.parametrize("endpoint", ["admin:hunter2secret@127.0.0.1:9", "s3.example.com", "ftp://admin:hunter2secret@x",
                                      "https://", "https:///path", " https://s3.example.com"],
                         ids=["userinfo-no-scheme", "host-no-scheme", "other-scheme", "no-host", "path-only", "space"])
def test_an_endpoint_that_is_not_an_http_url_is_refused_at_config_load_without_being_shown(
    project: Project, endpoint: str
) -> None:
    """botocore refuses "user:password@host" and repeats it whole in its error: it never gets there."""
    project.write_config(f'\n[publish.bucket]\ntype = "s3"\nbucket = "acme-status"\nendpoint_url = "{endpoint}"\n')

    for command in (("channels", "check"), ("post", "--yes", "--title", "API errors", "Investigating.")):
        result = project.cli(*command)
        assert result.exit_code == 2, result.output
        assert "publish.bucket.endpoint_url must be an http(s) URL" in result.output
        assert "hunter2secret" not in result.output
    assert not (project.root / "public").exists()  # refused before anything was stored or built


@pytest.mark.parametrize(("endpoint", "used"), [("https://s3.example.com", "https://s3.example.com"),
                                               ("HTTP://127.0.0.1:9000", "HTTP://127.0.0.1:9000"), ("", None)])
def test_an_http_endpoint_is_accepted_and_an_empty_one_means_aws(tmp_path: Path, endpoint: str, used: str | None) -> None:
    config = parse({"publish": {"b": {"type": "s3", "bucket": "acme", "endpoint_url": endpoint}}}, tmp_path / "b.toml", {})
    host = load_host_class("s3")(config.publish["b"], tmp_path)
    assert isinstance(host, S3Host) and host.endpoint_url == used


def test_the_local_copy_of_the_manifest_never_holds_the_endpoints_credentials(tmp_path: Path) -> None:
    """The place a local copy belongs to is written into .broadcaster/: with the endpoint's password in
    it, an endpoint from "${VAR}" (or one written with a password) would put a secret in the state."""
    config = parse({"publish": {"b": {"type": "s3", "bucket": "acme", "endpoint_url": "${S3_ENDPOINT}"}}},
                   tmp_path / "b.toml", {"S3_ENDPOINT": "https://ops:Endp0int-Passw0rd@s3.example.com"})
    host = load_host_class("s3")(config.publish["b"], tmp_path)
    assert isinstance(host, S3Host) and host.endpoint_url == "https://ops:Endp0int-Passw0rd@s3.example.com"
    host.local_copy.save(Remote(files={"index.html": "ab12"}, etag='"abc"'))

    written = b"".join(p.read_bytes() for p in (tmp_path / ".broadcaster").rglob("*") if p.is_file())
    assert b"s3.example.com" in written and b"Endp0int-Passw0rd" not in written
    assert host.local_copy.read() is not None  # read back against the same place


# -- the light client: the uploads signed without boto3 (issue 20) ------------------------------


def without_boto3(s3: S3Server) -> bool:
    return not [r for r in s3.requests if "Boto3" in r.headers.get("user-agent", "")]


def test_a_new_page_goes_up_while_the_bucket_answers_the_read_of_the_manifest(
    slow_s3: S3Server, bucket: str, site: BuiltSite, tmp_path: Path
) -> None:
    """A new incident's page is not in this machine's copy of the manifest: it is created, only if the
    bucket has no such file, in the round trip of the warm-up's read; the index that links to it, with
    the manifest, in the next. Two dependent round trips in all, the read included, and no boto3."""
    host = make_host(slow_s3.url, bucket, tmp_path)
    publish(host, replace(site, latest=True))
    grown = write_site(site.root, {**SITE, "incidents/inc-3.html": b"<p>New</p>", "index.html": b"<p>3</p>"})
    slow_s3.clear()

    host.warm_up()
    publish(host, replace(grown, latest=True))

    found = rounds(slow_s3)
    assert [sorted(r) for r in found] == [["GET " + MANIFEST_NAME, "PUT inc-3.html"],
                                          sorted(["PUT index.html", "PUT " + MANIFEST_NAME])], found
    created = slow_s3.received("PUT", "inc-3.html")
    assert len(created) == 1 and created[0].headers.get("if-none-match") == "*"
    assert without_boto3(slow_s3)
    assert slow_s3.body(bucket, "incidents/inc-3.html") == b"<p>New</p>"
    assert_consistent(slow_s3, bucket)


def _two_publishers_of_one_store(tmp_path: Path, slow_s3: S3Server, bucket: str, alice_latest: bool,
                                 replace_later: bool = False) -> object:
    """Alice publishes incident 3, then Bob a later state of the store with incident 4 resolved; then Alice
    a build of incident 4 opened, her copy of the manifest not naming it, so she creates it ahead of her
    read's answer (``If-None-Match: *``) if her build is of the store's latest state."""
    alice, bob = make_host(slow_s3.url, bucket, tmp_path / "alice"), make_host(slow_s3.url, bucket, tmp_path / "bob")

    def build(name: str, generation: int, pages: dict[str, bytes], latest: bool = True) -> BuiltSite:
        files = {**SITE, **pages, "index.html": f"<p>{sorted(pages)} at {generation}</p>".encode()}
        built = write_site(tmp_path / f"{name}-{generation}", files)
        return replace(built, store="one-store", generation=generation, versions={p: f"{generation}-x" for p in pages},
                       keep=frozenset(p for p in files if p.startswith("incidents/")), latest=latest)

    publish(alice, build("alice", 1, {"incidents/inc-3.html": b"<p>3 opened</p>"}))
    publish(bob, build("bob", 3, {"incidents/inc-3.html": b"<p>3 opened</p>", "incidents/inc-4.html": b"<p>4 resolved</p>"}))
    slow_s3.clear()
    alice.warm_up()
    return publish(alice, replace(build("alice", 2, {"incidents/inc-3.html": b"<p>3 opened</p>",
                                                     "incidents/inc-4.html": b"<p>4 opened</p>"}, latest=alice_latest),
                                  replace_later=replace_later))


def test_a_build_that_is_behind_keeps_the_later_page_and_creates_nothing_ahead(
    slow_s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """Alice's build read the store before Bob's update (so it is not of the latest state): she reads the
    manifest before any upload, and keeps Bob's later page of incident 4."""
    _two_publishers_of_one_store(tmp_path, slow_s3, bucket, alice_latest=False)
    assert [r.headers.get("if-none-match") for r in slow_s3.received("PUT", "inc-4.html")] == []
    assert slow_s3.body(bucket, "incidents/inc-4.html") == b"<p>4 resolved</p>"
    assert_consistent(slow_s3, bucket)


def test_a_page_created_ahead_never_replaces_one_another_publisher_put_there(
    slow_s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """A build of the store's latest state finding a later one in the bucket (the store was restored
    from a backup, or it is a stale copy) is refused, after its conflict too: the page created ahead of the
    read's answer is refused by the bucket (it has one), and nothing of hers replaces his."""
    from broadcaster.errors import DeliveryError

    with pytest.raises(DeliveryError, match="--replace-later"):
        _two_publishers_of_one_store(tmp_path, slow_s3, bucket, alice_latest=True)
    assert [r.headers.get("if-none-match") for r in slow_s3.received("PUT", "inc-4.html")] == ["*"]  # refused
    assert slow_s3.body(bucket, "incidents/inc-4.html") == b"<p>4 resolved</p>"
    assert_consistent(slow_s3, bucket)


def test_a_build_told_to_replace_a_later_one_does_so_by_its_plan(slow_s3: S3Server, bucket: str, tmp_path: Path) -> None:
    """`site publish --replace-later` (a restored store): the plan, made against the bucket's manifest, replaces
    the later build; a page is never hers behind a manifest naming his."""
    _two_publishers_of_one_store(tmp_path, slow_s3, bucket, alice_latest=True, replace_later=True)
    first, *planned = slow_s3.received("PUT", "inc-4.html")
    assert first.headers.get("if-none-match") == "*"  # the one created ahead, refused
    assert [r.headers.get("if-none-match") for r in planned] == [None]  # the plan's upload, the bucket's manifest read
    assert slow_s3.body(bucket, "incidents/inc-4.html") == b"<p>4 opened</p>"
    assert_consistent(slow_s3, bucket)


def test_the_light_clients_conditional_writes_are_refused_as_boto3s_are(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """A manifest written over one another publisher replaced (412), or created where one exists, is a
    conflict the publish plans again after, whichever client sent it; and it takes no boto3 to say so."""
    from broadcaster.site.hosts.s3 import _Conflict, _LightClient

    host = make_host(s3.url, bucket, tmp_path)
    host.warm_up()
    assert host._warm is not None
    client, _ = host._warm.result()
    assert isinstance(client, _LightClient)

    try:
        first = host._write_manifest(client, Remote(), replaces=None)  # If-None-Match: * on an empty bucket
        with pytest.raises(_Conflict):
            host._write_manifest(client, Remote(), replaces=None)
        with pytest.raises(_Conflict):
            host._write_manifest(client, Remote(), replaces='"0123456789abcdef0123456789abcdef"')
        assert host._write_manifest(client, Remote(files={"index.html": "x"}), replaces=first) != first
    finally:
        client.close()
    assert without_boto3(s3)


@pytest.mark.parametrize("fault", [
    S3Fault(match="index.html", method="PUT", status=503, code="SlowDown"),
    # Two: a put on a kept connection that is reset is sent once more on a new one, by the light client.
    S3Fault(match="index.html", method="PUT", reset=True, times=2),
    S3Fault(match="index.html", method="PUT", status=403, code="AccessDenied"),
])
def test_a_put_the_light_client_did_not_see_succeed_is_sent_again_by_boto3(
    s3: S3Server, bucket: str, site: BuiltSite, tmp_path: Path, fault: S3Fault
) -> None:
    """Its retries, and its words for what went wrong, are boto3's: one failure of the light put is
    followed by boto3's put of the same file, which the bucket takes. (The fake records only the
    requests it forwards: the light put it failed is not among them.)"""
    host = make_host(s3.url, bucket, tmp_path)
    host.warm_up()
    s3.fail(fault)
    publish(host, replace(site, latest=True))

    sent = s3.received("PUT", "/index.html")
    assert len(sent) == 1 and "Boto3" in sent[0].headers.get("user-agent", "")
    assert not [r for r in s3.received("PUT", "/incidents/") if "Boto3" in r.headers.get("user-agent", "")]
    assert s3.body(bucket, "index.html") == SITE["index.html"]
    assert_consistent(s3, bucket)


def test_a_page_created_ahead_that_another_publisher_replaced_goes_up_again_after_the_conflict(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """Alice created incident 3's page ahead; Bob, publishing another store's site to the same bucket,
    replaced it and wrote his manifest before hers, so her write failed and she planned again against
    his. That plan must upload her page again: trusting the creation would leave his page served
    behind a manifest naming hers."""
    from concurrent.futures import Future

    from broadcaster.site.hosts.s3 import _Fresh

    alice, bob = make_host(s3.url, bucket, tmp_path / "alice"), make_host(s3.url, bucket, tmp_path / "bob")
    hers = replace(write_site(tmp_path / "hers", {**SITE, "incidents/inc-3.html": b"<p>Alice's 3</p>"}), latest=True)
    s3.client().put_object(Bucket=bucket, Key="incidents/inc-3.html", Body=b"<p>Alice's 3</p>")  # created ahead
    theirs = write_site(tmp_path / "theirs", {**SITE, "incidents/inc-3.html": b"<p>Bob's 3</p>"})
    publish(bob, replace(theirs, store="bobs-store", latest=True))
    created: Future[bool] = Future()
    created.set_result(True)

    client = alice._client()
    alice._publish_over(client, hers, alice._read_manifest(client, hers), threading.Event(),
                        _Fresh({"incidents/inc-3.html": created}, hers))

    assert s3.body(bucket, "incidents/inc-3.html") == b"<p>Alice's 3</p>"
    assert_consistent(s3, bucket)


def test_a_ca_bundle_that_cannot_be_read_is_a_delivery_error_not_an_unexpected_one(
    bucket: str, site: BuiltSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_CA_BUNDLE", str(tmp_path / "no-such-bundle.pem"))
    host = make_host(f"https://127.0.0.1:{free_port()}", bucket, tmp_path)
    host.warm_up()
    error = failure(host, site)  # a DeliveryError, which the engine reports with its advice
    assert "no-such-bundle" in str(error) or "127.0.0.1" in str(error), error


def test_after_one_failed_light_put_boto3_sends_the_rest_of_the_publish(
    s3: S3Server, bucket: str, site: BuiltSite, tmp_path: Path
) -> None:
    """A proxy, a CA bundle or a clock boto3 knows of and the light client does not: once a put failed,
    the light client stops trying, rather than failing and sending again every file."""
    host = make_host(s3.url, bucket, tmp_path)
    host.warm_up()
    s3.fail(S3Fault(match="inc-1.html", status=503, code="SlowDown"))
    publish(host, replace(site, latest=True))

    _claim, *after_it = s3.received("PUT")  # the first publish's claim of the place, before the failure
    second_round = [r for r in after_it if r.path.rsplit("/", 1)[-1] in LINKING | {MANIFEST_NAME}]
    assert len(second_round) == len(LINKING) + 1
    assert all("Boto3" in r.headers.get("user-agent", "") for r in second_round)
    assert_consistent(s3, bucket)
