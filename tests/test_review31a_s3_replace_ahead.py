"""Review 31a of 888fb89 (a follow-up's changed page replaced ahead of the manifest's read, ``If-Match`` on the ETag this
machine's last upload of it got): attacks against the real fake server (moto behind the recording proxy)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import pytest

from broadcaster.errors import DeliveryError
from broadcaster.site.hosts import BuiltSite
from broadcaster.site.hosts._s3_manifest import MANIFEST_NAME
from tests.fakes.s3 import S3Fault, S3Server
from tests.test_fix20_s3 import fresh_bucket, s3_server  # noqa: F401 - the fixtures s3 and bucket
from tests.test_hosts_s3 import (  # noqa: F401 - fixtures
    SITE,
    assert_consistent,
    aws_environment,
    make_host,
    publish,
    write_site,
)
from tests.test_s3_stop_doubts import _clear

PAGE = "incidents/inc-2.html"
OTHER = "incidents/inc-4.html"


def _built(root: Path, pages: dict[str, bytes], generation: int, *, latest: bool = True,
           versions: dict[str, str] | None = None, without: tuple[str, ...] = (), **more: object) -> BuiltSite:
    files = {**SITE, **pages, "index.html": f"<p>{sorted(pages.items())} at {generation}</p>".encode()}
    files = {p: d for p, d in files.items() if p not in without}
    built = write_site(root, files)
    return replace(built, store="one-store", generation=generation, latest=latest,
                   versions=versions or {p: f"{generation}-x" for p in pages},
                   keep=frozenset(p for p in files if p.startswith("incidents/")), **more)  # type: ignore[arg-type]


def _served_hash(s3: S3Server, bucket: str, key: str) -> str:
    return hashlib.sha256(s3.body(bucket, key)).hexdigest()


def assert_named_are_served(s3: S3Server, bucket: str) -> None:
    """Each file the manifest names by a hash is served with that hash (one named "" is being deleted: unknown)."""
    named = {p: h for p, h in _named(s3, bucket).items() if h}
    served = {p: _served_hash(s3, bucket, p) for p in named if p in set(s3.objects(bucket))}
    assert served == named, "the manifest does not describe what the bucket serves"


def _named(s3: S3Server, bucket: str) -> dict[str, str]:
    files: dict[str, str] = json.loads(s3.body(bucket, MANIFEST_NAME))["files"]
    return files


def test_a_refused_stale_or_restored_store_replaces_no_page_ahead(s3: S3Server, bucket: str, tmp_path: Path) -> None:
    """Alice (a store restored from a backup, or a stale copy: one store id) published incident 2; Bob, whose store
    moved on, published generation 3 with incident 4, leaving incident 2's page as it was (the very object Alice put
    there). Alice posts a follow-up to incident 2 from her copy: the publish is refused (``refuse_restored_over``,
    "Nothing was published there", run it again with --replace-later), yet her page already replaced Bob's ahead of
    the read (``If-Match`` found her own old object), and nothing takes it back: the bucket serves her stale copy's
    page behind Bob's manifest, which still names the old hash, so no later publish of Bob's (whose build has that
    old page) ever puts it right."""
    alice, bob = tmp_path / "alice", tmp_path / "bob"
    publish(make_host(s3.url, bucket, alice), _built(tmp_path / "a1", {PAGE: b"<p>opened</p>"}, 1))
    publish(make_host(s3.url, bucket, bob),
            _built(tmp_path / "b3", {PAGE: b"<p>opened</p>", OTHER: b"<p>4</p>"}, 3, versions={PAGE: "1-x"}))
    s3.clear()

    host = make_host(s3.url, bucket, alice)
    s3.fail(S3Fault(match=MANIFEST_NAME, method="GET", delay=0.6))  # the warm-up's read is slow: replaced ahead
    host.warm_up()
    try:
        with pytest.raises(DeliveryError, match="--replace-later") as refused:
            publish(host, _built(tmp_path / "a2", {PAGE: b"<p>stale copy's follow-up</p>"}, 2))
    finally:
        _clear(s3)

    replaced_ahead = [r.headers.get("if-match") for r in s3.received("PUT", PAGE)]
    refusal = str(refused.value)
    assert "Nothing was published there" not in refusal and PAGE in refusal and "named unknown" in refusal, refusal

    # The store that moved on publishes again (another update, incident 2 unchanged in it): the manifest it plans
    # against names incident 2's page by the hash of "opened", which is also its build's, so it sends nothing for it.
    publish(make_host(s3.url, bucket, bob),
            _built(tmp_path / "b4", {PAGE: b"<p>opened</p>", OTHER: b"<p>4 resolved</p>"}, 4, versions={PAGE: "1-x"}))

    assert s3.body(bucket, PAGE) == b"<p>opened</p>", (
        f"refused ({refusal}), yet the stale copy's follow-up is served for good (replaced ahead with If-Match "
        f"{replaced_ahead}); the manifest names the page by {_named(s3, bucket)[PAGE][:12]}…, the bucket serves "
        f"{_served_hash(s3, bucket, PAGE)[:12]}…")
    assert_consistent(s3, bucket)


def test_a_page_replaced_ahead_then_deleted_by_another_publisher_before_the_conflict_goes_up_again(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """Two publishers of two stores at one place, not taking turns (another store's lock). Alice's follow-up replaces
    incident 2's page ahead (``If-Match`` on her own object: it lands). While her first round is out, Bob publishes
    twice: his build lacks incident 2, so he deletes its page (his first manifest names it unknown while deleting),
    then writes a manifest that no longer names it. Alice's manifest write is refused (412); she reads Bob's
    manifest, which does not name the page, and plans again: ``_publish_over`` takes the page for one she put up
    (``remote.files.get(p) in (None, h, fresh.replaced.get(p))``: None, as for a page created ahead) and does not
    upload it again, though Bob deleted it after her put. Her manifest names the page, her index links to it, and the
    bucket has no such file; her next publishes trust her copy and never send it. Before 888fb89 the page went up
    in her first round after the read, and after the conflict her plan against Bob's manifest uploaded it again."""
    alice, bob = tmp_path / "alice", tmp_path / "bob"

    def built(root: Path, store: str, pages: dict[str, bytes], generation: int) -> BuiltSite:
        return replace(_built(root, pages, generation, without=() if PAGE in pages else (PAGE,)), store=store)

    publish(make_host(s3.url, bucket, alice), built(tmp_path / "a1", "alice-store", {PAGE: b"<p>opened</p>"}, 1))
    bob_published: list[object] = []

    host = make_host(s3.url, bucket, alice)
    write = host._write_manifest

    def bob_goes_first(*args: object, **kwargs: object) -> str:
        if not bob_published:  # Alice's first write, her first round out: Bob publishes twice meanwhile
            bob_published.append(publish(make_host(s3.url, bucket, bob),
                                         built(tmp_path / "b1", "bob-store", {OTHER: b"<p>4</p>"}, 1)))
            bob_published.append(publish(make_host(s3.url, bucket, bob),
                                         built(tmp_path / "b2", "bob-store", {OTHER: b"<p>4 resolved</p>"}, 2)))
        return write(*args, **kwargs)  # type: ignore[arg-type]

    host._write_manifest = bob_goes_first  # type: ignore[method-assign]
    s3.clear()
    s3.fail(S3Fault(match=MANIFEST_NAME, method="GET", delay=0.6))  # the warm-up's read is slow: replaced ahead
    host.warm_up()
    try:
        final = built(tmp_path / "a2", "alice-store", {PAGE: b"<p>identified</p>"}, 2)
        publish(host, final)
    finally:
        _clear(s3)

    assert [r.headers.get("if-match") is not None for r in s3.received("PUT", PAGE)][:1] == [True], "set-up"
    assert s3.received("DELETE", PAGE), "set-up: Bob deleted the page"
    named = _named(s3, bucket)
    assert PAGE in named, "set-up: Alice's manifest names her page"
    publish(make_host(s3.url, bucket, alice), final)  # her next command, nothing new: it plans from her copy
    assert PAGE in set(s3.objects(bucket)), (
        f"Alice's manifest names {PAGE} ({named[PAGE][:12]}…) and her index links to it, but the bucket has no "
        f"such file: her put ahead landed before Bob's delete, and her plan after the conflict took it as hers")
    assert_named_are_served(s3, bucket)


def test_a_page_replaced_ahead_that_the_plan_then_keeps_as_newer_is_not_left_behind_the_manifest(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """The same root cause without a refusal. Bob's copy of the store (one store id) stored an update to incident 2
    that its page does not show (kept to staff: the page's bytes are unchanged, its record version is 5) and
    published it at generation 5 with another change. Alice's copy, at generation 6 (not refused: 5 < 6), posts a
    follow-up to incident 2 at record version 4. Her page goes up ahead over the very object she put there (Bob sent
    none: same bytes); her plan against Bob's manifest then keeps his later version (``plan.newer``), so the manifest
    names the page by the hash of "opened" while the bucket serves her follow-up, and Bob's later publishes, whose
    build has "opened", never send it again. Before 888fb89 nothing of the page went up before the plan."""
    alice, bob = tmp_path / "alice", tmp_path / "bob"
    publish(make_host(s3.url, bucket, alice), _built(tmp_path / "a1", {PAGE: b"<p>opened</p>"}, 1, versions={PAGE: "1-x"}))
    publish(make_host(s3.url, bucket, bob), _built(tmp_path / "b5", {PAGE: b"<p>opened</p>", OTHER: b"<p>4</p>"}, 5,
                                                   versions={PAGE: "5-x", OTHER: "3-x"}))
    host = make_host(s3.url, bucket, alice)
    s3.clear()
    s3.fail(S3Fault(match=MANIFEST_NAME, method="GET", delay=0.6))  # the warm-up's read is slow: replaced ahead
    host.warm_up()
    try:
        notes = publish(host, _built(tmp_path / "a6", {PAGE: b"<p>Alice's follow-up</p>", OTHER: b"<p>4</p>"}, 6,
                                     versions={PAGE: "4-x", OTHER: "3-x"}))
    finally:
        _clear(s3)
    replaced_ahead = [r.headers.get("if-match") for r in s3.received("PUT", PAGE)]
    publish(make_host(s3.url, bucket, bob), _built(tmp_path / "b7", {PAGE: b"<p>opened</p>", OTHER: b"<p>4 done</p>"},
                                                   7, versions={PAGE: "5-x", OTHER: "7-x"}))
    assert s3.body(bucket, PAGE) == b"<p>opened</p>", (
        f"Alice's publish kept Bob's later page ({notes}) but had replaced it ahead (If-Match {replaced_ahead}): "
        f"the manifest names {_named(s3, bucket)[PAGE][:12]}…, the bucket serves {_served_hash(s3, bucket, PAGE)[:12]}…")
    assert_named_are_served(s3, bucket)
