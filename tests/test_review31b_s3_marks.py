"""Review 31b of 888fb89, c97d720 and 3dc0a73 (a follow-up's changed page replaced ahead of the manifest's read,
``If-Match`` on the ETag this machine's last upload of it got; the fixes of review 31a): attacks against the real fake
server (moto behind the recording proxy). A publish of a stale copy of the store, refused, must not leave a file of its
own behind a manifest that names another version (or none): the bucket's manifest is marked, or this machine's next
publish marks it (no request starts after a stop)."""

from __future__ import annotations

import threading
import time
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
    aws_environment,
    make_host,
    publish,
    write_site,
)
from tests.test_review31a_s3_replace_ahead import _named, _served_hash
from tests.test_s3_stop_doubts import LIGHT_TIMEOUT, _clear, _cut_when, _host

PAGE = "incidents/inc-2.html"
OTHER = "incidents/inc-4.html"
STALE = b"<p>stale copy's follow-up</p>"


def _built(root: Path, pages: dict[str, bytes], generation: int, *, versions: dict[str, str] | None = None,
           **more: object) -> BuiltSite:
    files = {**SITE, **pages, "index.html": f"<p>{sorted(pages.items())} at {generation}</p>".encode()}
    built = write_site(root, files)
    return replace(built, store="one-store", generation=generation, latest=True,
                   versions=versions or {p: f"{generation}-x" for p in pages},
                   keep=frozenset(p for p in files if p.startswith("incidents/")), **more)  # type: ignore[arg-type]


def _alice_then_bob_moves_on(s3: S3Server, bucket: str, tmp_path: Path) -> tuple[Path, Path]:
    """As review 31a's first test: Alice (a stale copy of the store) published incident 2 at generation 1; Bob, whose
    store moved on, published generation 3 with incident 4, incident 2's page left as it was (Alice's very object)."""
    alice, bob = tmp_path / "alice", tmp_path / "bob"
    publish(make_host(s3.url, bucket, alice), _built(tmp_path / "a1", {PAGE: b"<p>opened</p>"}, 1))
    publish(make_host(s3.url, bucket, bob),
            _built(tmp_path / "b3", {PAGE: b"<p>opened</p>", OTHER: b"<p>4</p>"}, 3, versions={PAGE: "1-x"}))
    s3.clear()
    return alice, bob


def _bob_publishes_on(s3: S3Server, bucket: str, tmp_path: Path, bob: Path) -> object:
    """The store that moved on publishes another update (incident 2 unchanged in it, as it always was)."""
    return publish(make_host(s3.url, bucket, bob), _built(tmp_path / "b4", {PAGE: b"<p>opened</p>",
                                                                            OTHER: b"<p>4 resolved</p>"}, 4,
                                                          versions={PAGE: "1-x"}))


def _stale_follow_up(tmp_path: Path, name: str = "a2") -> BuiltSite:
    return _built(tmp_path / name, {PAGE: STALE}, 2)


def _stale_copy_refused_with_the_mark_failing(s3: S3Server, bucket: str, tmp_path: Path) -> tuple[Path, Path, str]:
    """The stale copy's follow-up replaces incident 2's page ahead, is refused, and the manifest's write of the unknown
    mark is refused too (403: a policy, or any error). Alice's and Bob's folders, and the refusal."""
    alice, bob = _alice_then_bob_moves_on(s3, bucket, tmp_path)
    host = make_host(s3.url, bucket, alice)
    s3.fail(S3Fault(match=MANIFEST_NAME, method="GET", delay=0.6),  # the warm-up's read is slow: replaced ahead
            S3Fault(match=MANIFEST_NAME, method="PUT", status=403, code="AccessDenied", times=5))
    host.warm_up()
    try:
        with pytest.raises(DeliveryError, match="--replace-later") as refused:
            publish(host, _stale_follow_up(tmp_path))
    finally:
        _clear(s3)
    assert s3.body(bucket, PAGE) == STALE, "set-up: the stale copy's page replaced Bob's ahead of the read"
    assert "the next publish from this machine does it" in str(refused.value), f"set-up: {refused.value}"
    assert sorted(make_host(s3.url, bucket, alice).local_copy.owed()) == [PAGE], "set-up: the mark is owed"
    return alice, bob, str(refused.value)


def _alice_retries_then_bob_publishes(s3: S3Server, bucket: str, tmp_path: Path, alice: Path, bob: Path) -> object:
    """As the refusal says: Alice's next publish (refused again) makes the owed mark; then the store that moved on
    publishes, and puts its own page back."""
    with pytest.raises(DeliveryError, match="--replace-later"):
        publish(make_host(s3.url, bucket, alice), _stale_follow_up(tmp_path, "a2-again"))
    return _bob_publishes_on(s3, bucket, tmp_path, bob)


def _assert_the_moved_on_page_is_back(s3: S3Server, bucket: str, said: str) -> None:
    assert s3.body(bucket, PAGE) == b"<p>opened</p>", (
        f"{said}, yet the stale copy's follow-up is served: the manifest names {PAGE} by "
        f"{_named(s3, bucket)[PAGE][:12]}…, the bucket serves {_served_hash(s3, bucket, PAGE)[:12]}…")


def _when_received(s3: S3Server, method: str, part: str) -> threading.Event:
    """An event set once the fake has recorded a ``method`` request whose path holds ``part`` (it then forwards it)."""
    seen = threading.Event()

    def watch() -> None:
        give_up = time.monotonic() + 10
        while not s3.received(method, part) and time.monotonic() < give_up:
            time.sleep(0.005)
        seen.set()

    threading.Thread(target=watch, daemon=True).start()
    return seen


# -- finding 1: the refusal's fallback (the in-doubt record) repairs nothing -----------------------------------------


def test_a_stale_copys_page_replaced_ahead_then_refused_with_the_mark_failing_is_marked_by_its_next_publish(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """Review 31a's first attack, the manifest's write of ``_refused_after_putting`` refused (403: a policy, or any
    error; a 412 from the moved-on store's publish at that moment is the same). c97d720 then records the page "in
    doubt: the next publish from this machine settles them". It settles nothing: the in-doubt record is of pages *no
    manifest names*; the bucket's manifest names incident 2's page (by the hash replaced), so a publish from Alice's
    machine that gets past the refusal drops the record at once (``doubts & set(named)``: settled), a refused one
    never reaches it, and the store that moved on (another machine: no record; the refusal tells the operator to
    post from it) plans against a manifest naming the page by its own build's hash and never sends it. The stale
    copy's follow-up is served for good."""
    alice, bob, refused = _stale_copy_refused_with_the_mark_failing(s3, bucket, tmp_path)
    recorded = sorted(make_host(s3.url, bucket, alice).local_copy.owed())
    # The operator does as the refusal says: Alice retries once (refused again), then posts from the store that moved on.
    notes = _alice_retries_then_bob_publishes(s3, bucket, tmp_path, alice, bob)

    _assert_the_moved_on_page_is_back(
        s3, bucket, f"refused ({refused}); owed on Alice's machine: {recorded}; Bob published after ({notes})")


def test_a_stale_copys_page_replaced_ahead_then_stopped_while_the_read_was_out_is_marked_by_its_next_publish(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """The stop (Ctrl-C, the command's deadline) comes while the warm-up's read is out, after the stale copy's page
    was replaced ahead. ``_publish_with`` stops before ``_publish_over``, so the refusal (and its unknown mark, or
    3dc0a73's in-doubt record) never happens; ``_take_back`` (stopped) looks at ``fresh.unnamed()``, which never holds
    a replaced page (named from the start): nothing is written, nothing recorded, and the error does not name the page.
    Alice's retry is refused plainly (her read is answered before anything goes ahead); the store that moved on never
    sends the page. Before 888fb89 no changed page left before the read's answer."""
    alice, bob = _alice_then_bob_moves_on(s3, bucket, tmp_path)
    host = _host(s3, bucket, alice)
    s3.fail(S3Fault(match=MANIFEST_NAME, method="GET", delay=0.8))  # the warm-up's read is slow: replaced ahead
    host.warm_up()
    try:
        _cut_when(host, _stale_follow_up(tmp_path), _when_received(s3, "PUT", PAGE))
    finally:
        _clear(s3)
    time.sleep(0.3)  # the put ahead, forwarded once recorded
    assert s3.body(bucket, PAGE) == STALE, "set-up: the stale copy's page replaced Bob's ahead of the read"
    recorded = sorted(make_host(s3.url, bucket, alice).local_copy.owed())
    assert recorded == [PAGE], "the mark is owed"

    notes = _alice_retries_then_bob_publishes(s3, bucket, tmp_path, alice, bob)

    _assert_the_moved_on_page_is_back(
        s3, bucket, f"stopped while the read was out, owed: {recorded}; Bob published after ({notes})")


def test_a_stale_copys_page_replaced_ahead_then_stopped_at_the_refusal_is_marked_by_its_next_publish(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """3dc0a73's branch: the stop comes as the read is answered, the refusal being made: ``_refused_after_putting``
    writes nothing (no request after a stop, rightly) and records the page in doubt, which (as above) nothing acts on."""
    alice, bob = _alice_then_bob_moves_on(s3, bucket, tmp_path)
    host = make_host(s3.url, bucket, alice)
    unknown = host._refused_after_putting

    def stopped_now(*args: object) -> DeliveryError:
        assert host._stop is not None
        host._stop.set()  # Ctrl-C, the deadline: at this very moment
        return unknown(*args)  # type: ignore[arg-type]

    host._refused_after_putting = stopped_now  # type: ignore[method-assign,assignment]
    s3.fail(S3Fault(match=MANIFEST_NAME, method="GET", delay=0.6))
    host.warm_up()
    try:
        with pytest.raises(DeliveryError, match="--replace-later") as refused:
            publish(host, _stale_follow_up(tmp_path))
    finally:
        _clear(s3)
    assert s3.body(bucket, PAGE) == STALE, "set-up"
    assert not s3.received("PUT", MANIFEST_NAME), "no request after the stop"

    assert PAGE in str(refused.value) and "the next publish from this machine does it" in str(refused.value)
    # No request after the stop: the mark is owed, and the operator's next publish from this machine (refused again,
    # as the refusal says it would be) makes it.
    _alice_retries_then_bob_publishes(s3, bucket, tmp_path, alice, bob)
    assert s3.body(bucket, PAGE) == b"<p>opened</p>", (
        f"refused ({refused.value}), Bob published after, yet the stale copy's follow-up is served for good")


# -- finding 2 (older than 888fb89): a create ahead that lands unanswered before a refusal is recorded nowhere ---------

NEW = "incidents/inc-9.html"


def test_a_stale_copys_new_page_created_ahead_unanswered_then_refused_is_deleted_by_the_next_publish_there(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """The stale copy posts a new incident (9, which the store that moved on never had). Its page is created ahead
    (``If-None-Match: *``) and lands after the light client's timeout; the publish is refused (a later state in the
    bucket). The refusal is raised in ``_publish_over`` before its ``try``: the except clause that records
    ``fresh.sent() - made_ahead`` (review 24's fix) is never reached; ``_publish``'s except calls ``_take_back`` (not
    stopped), which looks only at ``fresh.orphans()`` (creations answered 2xx). Nothing names the page: no manifest,
    no in-doubt record, not the error. The store that moved on never deletes a page no manifest names."""
    alice, bob = _alice_then_bob_moves_on(s3, bucket, tmp_path)
    host = _host(s3, bucket, alice)
    s3.fail(S3Fault(match=MANIFEST_NAME, method="GET", delay=0.6, times=1),  # the warm-up's read: created ahead
            S3Fault(match=NEW, method="PUT", delay=LIGHT_TIMEOUT + 1.0, times=1))  # the create, landing late
    host.warm_up()
    try:
        with pytest.raises(DeliveryError, match="--replace-later") as refused:
            publish(host, _built(tmp_path / "a2", {PAGE: b"<p>opened</p>", NEW: b"<p>9: acme's circuits</p>"}, 2,
                                 versions={PAGE: "1-x", NEW: "2-x"}))
        give_up = time.monotonic() + 8
        while NEW not in s3.objects(bucket):
            assert time.monotonic() < give_up, "set-up: the create never landed"
            time.sleep(0.1)
    finally:
        _clear(s3)
    recorded = sorted(make_host(s3.url, bucket, alice).local_copy.in_doubt())
    assert _named(s3, bucket).get(NEW) == "", "the refusal marks it unknown in the bucket's manifest"

    notes = _bob_publishes_on(s3, bucket, tmp_path, bob)
    assert NEW not in set(s3.objects(bucket)), (
        f"refused ({refused.value}); in doubt: {recorded}; Bob published after ({notes}): the stale copy's incident "
        f"page {NEW} is public, in no manifest and no record")


# -- finding 4 (older than 888fb89; c97d720's fix covers only pages put ahead): a refusal after a conflict leaves the
# -- first attempt's changed pages behind the later build's manifest ---------------------------------------------------


def test_a_changed_page_of_the_first_attempt_then_refused_after_the_conflict_is_put_back_by_the_next_publish(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """Alice's copy of the store is level with the bucket (generation 1, hers) when she posts a follow-up to incident
    2 (generation 2); no warm-up, so nothing goes ahead: the page goes up in her first round over the manifest she
    planned against. Meanwhile Bob, whose copy of the store moved on (generation 3), publishes: his build has incident
    2's page as the bucket's manifest names it, so he sends nothing for it. Alice's manifest write is refused (412),
    she reads Bob's manifest and is refused (``refuse_restored_over`` after the conflict: "Nothing was published
    there"). ``_refused_after_putting`` looks only at ``fresh.maybe_over`` (pages put ahead): her first attempt's
    page stays, behind Bob's manifest naming his hash; his later publishes never send it."""
    alice, bob = tmp_path / "alice", tmp_path / "bob"
    publish(make_host(s3.url, bucket, alice), _built(tmp_path / "a1", {PAGE: b"<p>opened</p>"}, 1))
    host = make_host(s3.url, bucket, alice)
    write = host._write_manifest
    bob_published: list[object] = []

    def bob_goes_first(*args: object, **kwargs: object) -> str:
        if not bob_published:
            bob_published.append(publish(make_host(s3.url, bucket, bob), _built(
                tmp_path / "b3", {PAGE: b"<p>opened</p>", OTHER: b"<p>4</p>"}, 3, versions={PAGE: "1-x"})))
        return write(*args, **kwargs)  # type: ignore[arg-type]

    host._write_manifest = bob_goes_first  # type: ignore[method-assign]
    with pytest.raises(DeliveryError, match="--replace-later") as refused:
        publish(host, _stale_follow_up(tmp_path))
    assert bob_published, "set-up: Bob published during Alice's first attempt"
    assert s3.body(bucket, PAGE) == STALE, "set-up: Alice's first round put her page up"

    notes = _bob_publishes_on(s3, bucket, tmp_path, bob)
    assert s3.body(bucket, PAGE) == b"<p>opened</p>", (
        f"refused after the conflict ({refused.value}); Bob published after ({notes}), yet the stale copy's follow-up "
        f"is served: the manifest names {_named(s3, bucket)[PAGE][:12]}…, the bucket serves "
        f"{_served_hash(s3, bucket, PAGE)[:12]}…")

