"""A follow-up's changed page replaced in the round trip of the manifest's read (issue 20: two dependent round trips
after the build), only where the bucket still holds the very object this machine put there (``If-Match``)."""

from __future__ import annotations

import json
import stat
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path

import pytest

from broadcaster.errors import DeliveryError
from broadcaster.site.hosts import BuiltSite
from broadcaster.site.hosts._s3_manifest import ETAGS_KEPT, MANIFEST_NAME, LocalCopy
from broadcaster.site.hosts.s3 import _Fresh
from tests.fakes.s3 import S3Fault, S3Server
from tests.test_fix20_s3 import fresh_bucket, s3_server  # noqa: F401 - the fixtures s3 and bucket
from tests.test_hosts_s3 import (  # noqa: F401 - fixtures (slow_s3: 0.4 s a request)
    SITE,
    assert_consistent,
    aws_environment,
    make_host,
    publish,
    rounds,
    slow_s3,
    without_boto3,
    write_site,
)
from tests.test_s3_stop_doubts import _clear, _host

PAGE = "incidents/inc-2.html"


def _built(root: Path, pages: dict[str, bytes], generation: int, versions: dict[str, str] | None = None) -> BuiltSite:
    files = {**SITE, **pages, "index.html": f"<p>{sorted(pages.values())} at {generation}</p>".encode()}
    built = write_site(root, files)
    return replace(built, store="one-store", generation=generation, latest=True, versions=versions or {},
                   keep=frozenset(p for p in files if p.startswith("incidents/")))


def _etag_of(s3: S3Server, bucket: str, key: str) -> str:
    return str(s3.objects(bucket)[key]["ETag"])


@pytest.mark.usefixtures("slow_s3")
def test_a_follow_up_replaces_its_changed_page_in_the_round_trip_of_the_read(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """The page goes up with the read, on the condition that the bucket still holds the ETag this machine's
    last upload of it got; the index and the manifest in the next round. No boto3."""
    host = make_host(s3.url, bucket, tmp_path / "m")
    publish(host, _built(tmp_path / "one", {PAGE: b"<p>investigating</p>"}, 1))
    before = _etag_of(s3, bucket, PAGE)
    s3.clear()

    host = make_host(s3.url, bucket, tmp_path / "m")  # a new command: the copy and its ETags from the file
    host.warm_up()
    publish(host, _built(tmp_path / "two", {PAGE: b"<p>identified</p>"}, 2))

    found = rounds(s3)
    assert [sorted(r) for r in found] == [sorted(["GET " + MANIFEST_NAME, "PUT inc-2.html"]),
                                          sorted(["PUT index.html", "PUT " + MANIFEST_NAME])], found
    [put] = s3.received("PUT", PAGE)
    assert put.headers.get("if-match") == before
    assert without_boto3(s3)
    assert s3.body(bucket, PAGE) == b"<p>identified</p>"
    assert_consistent(s3, bucket)

    # And the next follow-up, on the ETag this one got.
    latest = _etag_of(s3, bucket, PAGE)
    s3.clear()
    host = make_host(s3.url, bucket, tmp_path / "m")
    host.warm_up()
    publish(host, _built(tmp_path / "three", {PAGE: b"<p>resolved</p>"}, 3))
    assert [r.headers.get("if-match") for r in s3.received("PUT", PAGE)] == [latest]
    assert len(rounds(s3)) == 2
    assert_consistent(s3, bucket)


@pytest.mark.usefixtures("slow_s3")
def test_a_page_another_publisher_put_there_since_is_never_replaced_ahead(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """Bob published a later version of the page since Alice's last publish (a later record version): her
    replacement ahead names her own ETag, which the bucket no longer holds, so it is refused, and her plan,
    made against Bob's manifest, keeps his page."""
    alice, bob = tmp_path / "alice", tmp_path / "bob"
    publish(make_host(s3.url, bucket, alice), _built(tmp_path / "a1", {PAGE: b"<p>opened</p>"}, 1, {PAGE: "1-x"}))
    publish(make_host(s3.url, bucket, bob), _built(tmp_path / "b2", {PAGE: b"<p>Bob's</p>"}, 2, {PAGE: "5-x"}))
    s3.clear()

    host = make_host(s3.url, bucket, alice)
    host.warm_up()
    publish(host, _built(tmp_path / "a3", {PAGE: b"<p>Alice's</p>"}, 3, {PAGE: "4-x"}))

    conditional = [r for r in s3.received("PUT", PAGE) if "if-match" in r.headers]
    assert len(conditional) == 1, "set-up: Alice replaced the page ahead"
    assert s3.body(bucket, PAGE) == b"<p>Bob's</p>"
    assert_consistent(s3, bucket)


def test_a_page_replaced_ahead_stays_up_when_the_publish_then_fails_and_the_next_one_settles_it(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """The index is refused after the page was replaced: the page is an incident's, named by the bucket's manifest,
    so nothing takes it back (a page created ahead would be deleted). The next publish puts the manifest right."""
    publish(make_host(s3.url, bucket, tmp_path / "m"), _built(tmp_path / "one", {PAGE: b"<p>investigating</p>"}, 1))
    s3.clear()
    s3.fail(S3Fault(match=MANIFEST_NAME, method="GET", delay=0.6),  # the read is slow: the page goes up ahead
            S3Fault(match="index.html", method="PUT", status=403, code="AccessDenied", times=20))
    host = _host(s3, bucket, tmp_path / "m")
    host.warm_up()
    later = _built(tmp_path / "two", {PAGE: b"<p>identified</p>"}, 2)
    try:
        with pytest.raises(DeliveryError):
            publish(host, later)
    finally:
        _clear(s3)
    assert [r.headers.get("if-match") is not None for r in s3.received("PUT", PAGE)][:1] == [True]
    assert not s3.received("DELETE", PAGE)
    assert s3.body(bucket, PAGE) == b"<p>identified</p>"

    publish(make_host(s3.url, bucket, tmp_path / "m"), later)
    assert s3.body(bucket, PAGE) == b"<p>identified</p>"
    assert_consistent(s3, bucket)


def test_a_replaced_page_is_never_an_orphan_of_the_publish() -> None:
    """What ``_take_back`` and a stopped publish's doubts read: a created page no manifest names is; a replaced one,
    put over the very object a manifest named, is not, stopped or not."""
    site = BuiltSite(root=Path("."), hashes={"incidents/new.html": "h-new", PAGE: "h-changed"})
    outcomes: dict[str, Future[object]] = {"incidents/new.html": Future(), PAGE: Future()}
    for outcome in outcomes.values():
        outcome.set_result('"etag"')
    fresh = _Fresh(outcomes, site, sent={"incidents/new.html", PAGE}, replaced={PAGE: "h-before"})
    assert fresh.orphans() == {"incidents/new.html"}
    assert fresh.unnamed() == {"incidents/new.html"}
    assert fresh.put() == {"incidents/new.html": ("h-new", '"etag"'), PAGE: ("h-changed", '"etag"')}


def test_the_etags_kept_are_the_latest_pages_never_a_customers_and_private(tmp_path: Path) -> None:
    copy = LocalCopy(tmp_path / ".broadcaster" / "copy.json", "s3://b/")
    pages = {f"incidents/inc-{n}.html": (f"h{n}", f'"e{n}"') for n in range(ETAGS_KEPT + 20)}
    customer = "a/k3y-0f-acme/index.html"
    never = {customer: ("hc", '"ec"'), "index.html": ("hi", '"ei"'), "style.0123abcd.css": ("hs", '"es"')}
    files = {p: h for p, (h, _) in {**never, **pages}.items()}
    copy.keep_page_etags(files, {**never, **pages})

    saved = json.loads(copy.etags_path.read_text())
    assert not [p for p in never if p in copy.etags_path.read_text()]  # a capability; and pages alone are replaced
    assert len(saved["pages"]) == ETAGS_KEPT
    assert stat.S_IMODE(copy.etags_path.stat().st_mode) == 0o600

    # Read back only for the hash the copy names: another hash there is another object.
    from broadcaster.site.hosts._s3_manifest import Remote

    kept = copy.page_etags(Remote(files={"incidents/inc-0.html": "h0", "incidents/inc-1.html": "other"}))
    assert kept == {"incidents/inc-0.html": '"e0"'}
    # The next publish keeps those the manifest it wrote still names by the same hash, after its own.
    copy.keep_page_etags({"incidents/inc-0.html": "h0", "incidents/inc-1.html": "new"},
                         {"incidents/inc-1.html": ("new", '"e1b"')})
    assert json.loads(copy.etags_path.read_text())["pages"] == [["incidents/inc-1.html", "new", '"e1b"'],
                                                                ["incidents/inc-0.html", "h0", '"e0"']]


def test_a_service_that_takes_no_conditional_writes_gets_the_page_after_the_read(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """An S3-compatible service answering the condition with 501: nothing is replaced ahead; the page goes up
    plainly once the read has answered, as it did before, and the bucket is whole."""
    publish(make_host(s3.url, bucket, tmp_path / "m"), _built(tmp_path / "one", {PAGE: b"<p>investigating</p>"}, 1))
    s3.clear()
    s3.fail(S3Fault(match=MANIFEST_NAME, method="GET", delay=0.6),  # the read is slow: the page goes up ahead
            S3Fault(match=PAGE, method="PUT", status=501, code="NotImplemented"))
    host = make_host(s3.url, bucket, tmp_path / "m")
    host.warm_up()
    try:
        publish(host, _built(tmp_path / "two", {PAGE: b"<p>identified</p>"}, 2))
    finally:
        _clear(s3)
    assert [r.headers.get("if-match") for r in s3.received("PUT", PAGE)] == [None]  # the 501 was the fake's
    assert s3.body(bucket, PAGE) == b"<p>identified</p>"
    assert_consistent(s3, bucket)
