"""Review 32a of the "owed marks" rule (843a6c0, 8f2e651, d2315a7, ef4257b, de29e29, 8fa8c40): attacks against the real
fake server (moto behind the recording proxy) with two publishers at one place, refusals, and hostile side files."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from broadcaster.errors import DeliveryError
from broadcaster.site.hosts._s3_manifest import MANIFEST_NAME
from tests.fakes.s3 import S3Fault, S3Server
from tests.test_fix20_s3 import fresh_bucket, s3_server  # noqa: F401 - the fixtures s3 and bucket
from tests.test_hosts_s3 import (  # noqa: F401 - fixtures
    aws_environment,
    make_host,
    publish,
)
from tests.test_review31a_s3_replace_ahead import _named, _served_hash
from tests.test_review31b_s3_marks import OTHER, PAGE, STALE, _alice_then_bob_moves_on, _bob_publishes_on, _built
from tests.test_review31c_s3_marks import _sha
from tests.test_review31d_s3_owed import _cut_with_the_page_landing_late
from tests.test_s3_stop_doubts import _clear

OPENED = b"<p>opened</p>"
MISTAKE = b"<p>an update posted by mistake</p>"
FOREIGN = "incidents/inc-8.html"  # a key of the bucket's that is not broadcaster's (no mark)
FOREIGN_BODY = b"<p>the bucket owner's own file</p>"


# -- finding 1: a refusal names "" in the bucket's manifest a creation ahead the bucket refused (412: another's object
# -- there), taken for one that may have landed unanswered; the next publisher deletes the key, with no look at it -----


def test_a_creation_ahead_refused_for_anothers_object_is_not_named_unknown_by_the_refusal(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """Alice's stale copy of the store (generation 2) holds an incident 8 the store that moved on (Bob, generation 3)
    never had; the bucket holds, at incident 8's key, a file that is not broadcaster's (no mark). Alice's page is
    created ahead (``If-None-Match: *``): refused, 412 (``put_ahead`` answers None, as for no answer at all). Her
    publish is refused (a later state in the bucket) and ``_refused_after_putting`` takes the key for an "unanswered"
    creation: it writes it into the bucket's manifest as "". Bob's next publish lacks incident 8, plans the key as
    named and deletes it (``_judge`` only looks at Bob's own doubts): a file that was never broadcaster's is gone. A
    page in doubt holding the same file would have been looked at and left (review 31c's finding 3)."""
    alice, bob = _alice_then_bob_moves_on(s3, bucket, tmp_path)
    s3.client().put_object(Bucket=bucket, Key=FOREIGN, Body=FOREIGN_BODY)
    host = make_host(s3.url, bucket, alice)
    s3.fail(S3Fault(match=MANIFEST_NAME, method="GET", delay=0.6))  # the warm-up's read is slow: created ahead
    host.warm_up()
    try:
        with pytest.raises(DeliveryError, match="--replace-later") as refused:
            publish(
                host,
                _built(
                    tmp_path / "a2",
                    {PAGE: OPENED, FOREIGN: b"<p>8: the stale copy's</p>"},
                    2,
                    versions={PAGE: "1-x", FOREIGN: "2-x"},
                ),
            )
    finally:
        _clear(s3)
    assert s3.received("PUT", FOREIGN), "set-up: the page was created ahead"
    assert s3.body(bucket, FOREIGN) == FOREIGN_BODY, "set-up: the creation was refused (412), the file left"

    notes = _bob_publishes_on(s3, bucket, tmp_path, bob)
    assert FOREIGN in set(s3.objects(bucket)), (
        f"refused ({refused.value}); Bob published after ({notes}) and deleted {FOREIGN}, a file carrying no mark of "
        "broadcaster's that Alice's creation never replaced"
    )


# -- finding 2: a file this publish put over the version its plan read, where the manifest read after the conflict names
# -- a third version written by a publisher whose own put went up *before* this one's: "written after it, it stands" is
# -- taken for granted, and the refusal neither marks nor (usefully) owes it ---------------------------------------------


def _bob_interleaved(
    s3: S3Server, bucket: str, tmp_path: Path, alice: Path, bob: Path, bobs: bytes, *, latest: bool = True
) -> tuple[str, str]:
    """Alice (a stale copy of the store, generation 2: her follow-up STALE to incident 2) and Bob (the copy that moved
    on, generation 3: his own follow-up ``bobs``) publish at once, each under its own copy's lock. Bob's first round
    (his page) lands, then Alice's first round (hers, over it), then Bob's manifest, then Alice's manifest write: 412,
    she reads Bob's: refused (``latest``), or behind (a build not of her copy's latest state: Bob's page kept as
    later). What Alice's publish said, and Bob's receipt."""
    host = make_host(s3.url, bucket, alice)
    bob_host = make_host(s3.url, bucket, bob)
    at_manifest, go_on = threading.Event(), threading.Event()
    bobs_write = bob_host._write_manifest

    def bob_waits(*args: Any, **kwargs: Any) -> str:
        at_manifest.set()
        assert go_on.wait(20), "set-up: Alice never reached her manifest"
        return bobs_write(*args, **kwargs)

    bob_host._write_manifest = bob_waits  # type: ignore[method-assign]
    received: list[object] = []
    bob_thread = threading.Thread(
        target=lambda: received.append(publish(bob_host, _built(tmp_path / "b3", {PAGE: bobs, OTHER: b"<p>4</p>"}, 3)))
    )
    first_round = host._upload_round
    alices_write = host._write_manifest

    def bob_first(*args: Any, **kwargs: Any) -> None:
        if not bob_thread.ident:
            bob_thread.start()
            assert at_manifest.wait(20), "set-up: Bob never reached his manifest"
        first_round(*args, **kwargs)

    def bob_lands_first(*args: Any, **kwargs: Any) -> str:
        go_on.set()
        bob_thread.join(20)
        if len(received) != 1:  # Bob failed, or checked already (the refusal's own write)
            return alices_write(*args, **kwargs)
        assert _named(s3, bucket)[PAGE] == _sha(bobs), "set-up: Bob's manifest names his page"
        assert s3.body(bucket, PAGE) == STALE, "set-up: Alice's page went up after Bob's"
        received.append("checked")
        return alices_write(*args, **kwargs)

    host._upload_round = bob_first  # type: ignore[method-assign]
    host._write_manifest = bob_lands_first  # type: ignore[method-assign]
    alices = replace(_built(tmp_path / "a2", {PAGE: STALE}, 2), latest=latest)
    try:
        if latest:
            with pytest.raises(DeliveryError, match="--replace-later") as refused:
                publish(host, alices)
            said = f"refused: {refused.value}"
        else:
            said = f"succeeded: {publish(host, alices)}"
    finally:
        go_on.set()
        bob_thread.join(20)
    assert received[1:] == ["checked"], "set-up: Bob's publish succeeded before Alice's manifest write"
    return said, str(received[0])


@pytest.mark.parametrize("latest", [True, False], ids=["refused", "behind"])
def test_a_page_put_over_anothers_put_whose_manifest_landed_after_is_put_back(
    s3: S3Server, bucket: str, tmp_path: Path, latest: bool
) -> None:
    """The bucket serves Alice's stale follow-up behind Bob's manifest, which names his own (a third version: neither
    the one Alice's plan read nor hers). ``_sent_over`` reads that as "written after hers: it stands"; it was written
    before. The refusal marks nothing for the page (it says nothing of it either), Bob's next publish trusts the
    manifest and never sends the page: the stale copy's follow-up is public for good, the moved-on store's (a
    retraction, say) never shown. Behind instead of refused, Alice's publish succeeds, its manifest naming Bob's page
    (kept as later) over hers."""
    alice, bob = tmp_path / "alice", tmp_path / "bob"
    publish(make_host(s3.url, bucket, alice), _built(tmp_path / "a1", {PAGE: OPENED}, 1))
    bobs = b"<p>Bob's follow-up: the earlier update retracted</p>"
    said, bobs_notes = _bob_interleaved(s3, bucket, tmp_path, alice, bob, bobs, latest=latest)

    notes = publish(make_host(s3.url, bucket, bob), _built(tmp_path / "b4", {PAGE: bobs, OTHER: b"<p>4 fixed</p>"}, 4))
    assert s3.body(bucket, PAGE) == bobs, (
        f"Bob published ({bobs_notes}); Alice's publish {said}; Bob published again ({notes}): the bucket serves the "
        f"stale copy's follow-up ({_served_hash(s3, bucket, PAGE)[:12]}…) behind a manifest naming Bob's "
        f"({_named(s3, bucket)[PAGE][:12]}…)"
    )


# -- finding 3: an owed entry (or one in doubt) is planned as unknown, and deleted where the build lacks it, whatever the
# -- path: a hand-edited or damaged side file deletes a key that is no site file (another program's, the manifest) -----


@pytest.mark.parametrize(
    ("side", "key"), [("owed", "notes/keep-me.txt"), ("owed", MANIFEST_NAME), ("in-doubt", MANIFEST_NAME)]
)
def test_a_side_file_entry_that_is_no_site_file_deletes_nothing(
    s3: S3Server, bucket: str, tmp_path: Path, side: str, key: str
) -> None:
    """``LocalCopy.owed`` takes any string for a path. A side file naming a key no build of broadcaster's writes (a
    shared bucket's own ``notes/keep-me.txt``; the manifest's own key) makes the next publish plan it as unknown and
    delete it, with no look at whose it is: the bucket owner's file is gone, or the manifest the publish has just
    written (every later publish then takes the place for one without a site). A page in doubt is looked at first
    (``_judge``), but the manifest carries this place's mark: deleted all the same."""
    me = tmp_path / "me"
    publish(make_host(s3.url, bucket, me), _built(tmp_path / "g1", {PAGE: OPENED}, 1))
    if key != MANIFEST_NAME:
        s3.client().put_object(Bucket=bucket, Key=key, Body=b"not broadcaster's")
    copy = make_host(s3.url, bucket, me).local_copy
    damaged = (
        copy._write_list(copy.owed_path, "owed_named", {key: [""]})
        if side == "owed"
        else copy._write_list(copy.doubts_path, "in_doubt", [key])
    )
    assert damaged, "set-up: the side file, as damaged"

    notes = publish(make_host(s3.url, bucket, me), _built(tmp_path / "g2", {PAGE: b"<p>follow-up</p>"}, 2))
    assert key in set(s3.objects(bucket)), f"the publish ({notes}) deleted {key}, named only by a damaged side file"


# -- finding 4: a failed publish whose owed marks cannot be recorded (the side file unwritable) says nothing of it --------


def test_a_failed_publish_whose_owed_marks_cannot_be_recorded_says_so(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """A follow-up's page goes up over the version the manifest names; the manifest's write then fails (503, again on
    the progress manifest). The page is owed, but ``.owed-marks.json`` cannot be written (here a folder stands in its
    place; a full disk or a read-only ``.broadcaster/`` alike): ``_publish`` ignores ``owe``'s answer. The error says
    nothing of the page (the manifest names it, so it is not "in doubt"), and no later publish knows to look: retract
    the follow-up and the next publish, planning from a manifest naming the opened page, leaves the follow-up served.
    The refusal's branch says when its record failed; the failure's should too."""
    me = tmp_path / "me"
    publish(make_host(s3.url, bucket, me), _built(tmp_path / "g1", {PAGE: OPENED}, 1))
    host = make_host(s3.url, bucket, me)
    host.local_copy.owed_path.mkdir()
    s3.fail(S3Fault(match=MANIFEST_NAME, method="PUT", status=503, code="SlowDown", times=50))
    try:
        with pytest.raises(DeliveryError) as failed:
            publish(host, _built(tmp_path / "g2", {PAGE: b"<p>follow-up</p>"}, 2))
    finally:
        _clear(s3)
    assert s3.body(bucket, PAGE) == b"<p>follow-up</p>", "set-up: the page went up"
    assert _named(s3, bucket)[PAGE] == _sha(OPENED), "set-up: the manifest names the opened page"
    assert PAGE in str(failed.value), (
        f"the failure does not say the page may be left behind the manifest: {failed.value}"
    )


# -- finding 5: one store, one lock. A follow-up's publish is cut while its page is out; the page lands late, after the
# -- next publisher's whole publish changed the page again: "a third version, written after" is false there too -------


def test_a_cut_follow_up_landing_after_the_next_publishers_change_is_put_back(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """Alice and Bob share one store (one lock). Alice posts a follow-up to incident 2; her publish is cut (the
    deadline, Ctrl-C) while the page is out, and the bucket takes it only seconds later (answered after the client gave
    up: the lock is free by then). Bob meanwhile retracts that follow-up (the page as it was, with his own update) and
    publishes: his page and his manifest land first, then Alice's late one replaces his page. Alice's record is owed
    {page: the opened version}; the bucket's manifest names Bob's, a third version, which ``_sent_over`` takes for one
    written after hers. Alice's next publish (her build is Bob's state: it has the page as the manifest names it)
    sends nothing, and no later publish ever does: the retracted follow-up is public for good."""
    alice, bob = tmp_path / "alice", tmp_path / "bob"
    publish(make_host(s3.url, bucket, alice), _built(tmp_path / "g1", {PAGE: OPENED}, 1))
    retracted = b"<p>retracted: the earlier update was posted by mistake</p>"
    bobs: list[Any] = []

    def bob_publishes() -> None:
        bobs.append(publish(make_host(s3.url, bucket, bob), _built(tmp_path / "g3", {PAGE: retracted}, 3)))
        assert s3.body(bucket, PAGE) == retracted, "set-up: Bob's whole publish went before Alice's page landed"

    _cut_with_the_page_landing_late(s3, bucket, tmp_path, alice, _built(tmp_path / "g2", {PAGE: MISTAKE}, 2),
                                    landing=MISTAKE, late_by=4.0, meanwhile=bob_publishes)
    owed = make_host(s3.url, bucket, alice).local_copy.owed()

    notes = publish(make_host(s3.url, bucket, alice), _built(tmp_path / "g4", {PAGE: retracted, OTHER: b"<p>4</p>"}, 4))
    assert s3.body(bucket, PAGE) == retracted, (
        f"owed {owed}; Bob published ({bobs[0]}), Alice's cut page landed after, Alice published again ({notes}): the "
        f"bucket serves the retracted follow-up behind a manifest naming Bob's ({_named(s3, bucket)[PAGE][:12]}…)"
    )
