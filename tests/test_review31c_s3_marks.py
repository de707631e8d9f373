"""Review 31c of 843a6c0 (a refused, failed or stopped publish marks unknown ("") in the bucket's manifest every file
it put up over a version that manifest still names, or owes the mark to this machine's next publish): attacks
against the real fake server (moto behind the recording proxy)."""

from __future__ import annotations

import hashlib
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
from tests.test_review31b_s3_marks import (
    OTHER,
    PAGE,
    STALE,
    _alice_then_bob_moves_on,
    _bob_publishes_on,
    _built,
    _stale_copy_refused_with_the_mark_failing,
    _stale_follow_up,
)
from tests.test_s3_stop_doubts import _clear


def _sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


# -- finding 1: an owed mark is made only by a refused publish, or where the page is "newer" in the bucket ------------


def test_an_owed_mark_is_made_by_this_machines_next_publish_that_is_not_refused(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """Alice's stale copy replaces incident 2's page ahead, is refused, and the mark's write fails (403): the mark is
    owed ("not yet named unknown in the bucket's manifest: the next publish from this machine does it"). The
    operator then brings Alice's copy of the store level with the store that moved on (generation 3, incident 2
    unchanged) and publishes from her machine: not refused. ``_publish_over`` applies owed marks only to
    ``plan.newer`` (``self._put_over(remote, fresh) & plan.newer``); incident 2 is not newer (same version), and her
    build has it by the very hash the manifest names, so nothing is uploaded and nothing marked: the bucket keeps
    serving the stale copy's follow-up behind a manifest naming the old hash, and ``settle_owed`` keeps the record
    for good (the manifest still names the recorded hash). Bob's later publishes never send the page either."""
    alice, bob, refused = _stale_copy_refused_with_the_mark_failing(s3, bucket, tmp_path)

    # Alice's copy of the store brought level with Bob's (generation 3): her next publish is not refused.
    level = _built(tmp_path / "a3", {PAGE: b"<p>opened</p>", OTHER: b"<p>4</p>"}, 3, versions={PAGE: "1-x"})
    notes = publish(make_host(s3.url, bucket, alice), level)
    still_owed = make_host(s3.url, bucket, alice).local_copy.owed()
    _bob_publishes_on(s3, bucket, tmp_path, bob)

    assert s3.body(bucket, PAGE) == b"<p>opened</p>", (
        f"Alice's next publish ({notes}) was not refused and did not make the owed mark (still owed: "
        f"{sorted(still_owed)}); Bob published after: the stale copy's follow-up is served, the manifest naming "
        f"{_named(s3, bucket)[PAGE][:12]}…, the bucket serving {_served_hash(s3, bucket, PAGE)[:12]}…")


# -- finding 2: after a conflict, files put over the planned-against version that the later manifest names otherwise
# -- (or not at all) are neither marked nor owed in a way anything acts on --------------------------------------------


WITHDRAWN = "incidents/inc-5.html"  # not in SITE: a build without it lacks it


def _alice_refused_after_bob_withdrew(s3: S3Server, bucket: str, tmp_path: Path) -> tuple[Path, Path, str, Any]:
    """Alice and Bob share one store; Alice published generation 1 with incident 2. Alice's copy is stale: she posts a
    follow-up to incident 2 (generation 2). Between her plan (from her local copy) and her first round, Bob, whose copy
    moved on, publishes generation 3, in which incident 2 was withdrawn: his publish deletes its page. Alice's first
    round then puts her page up (over the version her plan's manifest named), her second round her index, and her
    manifest write meets Bob's (412): she reads his, and is refused."""
    alice, bob = tmp_path / "alice", tmp_path / "bob"
    publish(make_host(s3.url, bucket, alice), _built(tmp_path / "a1", {WITHDRAWN: b"<p>opened</p>"}, 1))
    bob3 = _built(tmp_path / "b3", {OTHER: b"<p>4</p>"}, 3)
    assert WITHDRAWN not in bob3.hashes
    host = make_host(s3.url, bucket, alice)
    first_round = host._upload_round
    bob_published: list[object] = []

    def bob_goes_first(*args: Any, **kwargs: Any) -> None:
        if not bob_published:
            bob_published.append(publish(make_host(s3.url, bucket, bob), bob3))
        first_round(*args, **kwargs)

    host._upload_round = bob_goes_first  # type: ignore[method-assign]
    with pytest.raises(DeliveryError, match="--replace-later") as refused:
        publish(host, _built(tmp_path / "a2", {WITHDRAWN: STALE}, 2))
    assert bob_published, "set-up: Bob published during Alice's first attempt"
    return alice, bob, str(refused.value), bob3


def test_a_page_put_in_the_first_attempt_that_the_later_build_withdrew_is_taken_down_after_the_refusal(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """Bob's build withdrew incident 2 (his manifest does not name its page; his publish deleted it); Alice's first
    round put her stale follow-up of it back up afterwards. ``_put_over`` marks only files the re-read manifest names
    *by the version replaced*: Bob's names it "" (written while his publish deleted it), and his machine's copy of it,
    which his next publish plans from while the ETag holds, not at all. Not unanswered, not in doubt (the manifest her attempt planned against
    named it, so ``_put_up`` skips it): the refusal marks nothing and says "Nothing was published there."; the owed
    record (``{inc-5: hash of generation 1}``) never matches Bob's manifest. A withdrawn incident's page is public,
    named by no manifest: no later publish of anyone's deletes it."""
    alice, bob, said, _ = _alice_refused_after_bob_withdrew(s3, bucket, tmp_path)
    assert s3.body(bucket, WITHDRAWN) == STALE, "set-up: Alice's page went up after Bob's delete"
    notes = publish(make_host(s3.url, bucket, bob), _built(tmp_path / "b4", {OTHER: b"<p>4 resolved</p>"}, 4))

    assert WITHDRAWN not in set(s3.objects(bucket)), (
        f"refused ({said}); Bob published after ({notes}): the withdrawn incident's page is public (the stale copy's "
        f"follow-up), named by no manifest ({sorted(_named(s3, bucket))}), recorded nowhere on Alice's machine (in "
        f"doubt: {sorted(make_host(s3.url, bucket, alice).local_copy.in_doubt())})")


def test_a_refusal_after_a_first_round_put_pages_does_not_say_nothing_was_published(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """The same refusal's message: its first round and second round put pages and the index up, yet, no file being
    named by the re-read manifest by the version replaced, ``_refused_after_putting`` returns the refusal unchanged:
    "Nothing was published there." is false."""
    _, _, said, _ = _alice_refused_after_bob_withdrew(s3, bucket, tmp_path)
    assert "Nothing was published there." not in said, said


def test_the_index_put_over_the_later_builds_index_is_put_back(s3: S3Server, bucket: str, tmp_path: Path) -> None:
    """Alice's second round put her stale index.html up after Bob's publish wrote his (the manifest write is in the
    same round: her index lands whatever the 412). Bob's manifest names his index by his hash; ``_put_over`` looks for
    the hash *Alice's plan* named (generation 1's), so the index is neither marked nor owed usefully. Bob's next
    publish whose index is unchanged (a page's follow-up that leaves the index's bytes alone) never sends it: the
    public index is the stale copy's, linking to the withdrawn incident and not to incident 4."""
    _, bob, said, bob3 = _alice_refused_after_bob_withdrew(s3, bucket, tmp_path)
    bobs_index = (bob3.root / "index.html").read_bytes()
    assert s3.body(bucket, "index.html") != bobs_index, "set-up: Alice's index replaced Bob's"
    # Bob's next update changes incident 4's page only; his index's bytes are the same.
    b4 = _built(tmp_path / "b4", {OTHER: b"<p>4 resolved</p>"}, 4)
    (b4.root / "index.html").write_bytes(bobs_index)
    b4.hashes["index.html"] = _sha(bobs_index)
    notes = publish(make_host(s3.url, bucket, bob), b4)

    assert s3.body(bucket, "index.html") == bobs_index, (
        f"refused ({said}); Bob published after ({notes}): the bucket serves the stale copy's index "
        f"{s3.body(bucket, 'index.html')!r}, the manifest names Bob's ({_named(s3, bucket)['index.html'][:12]}…)")


def test_a_behind_build_that_meets_the_withdrawal_after_a_conflict_leaves_no_page_of_it_public(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """Finding 2 without a refusal: Alice's build is not of her store's latest state (``latest=False``: a retry of an
    older build), so Bob's later manifest makes it *behind*, not refused. Her first attempt put incident 5's page up
    after Bob's withdrawal deleted it; her second plan takes incident 5 as taken out (``taken_out``: kept off, not
    named; the bucket's manifest is Bob's, naming it "" only) and the publish succeeds. Nothing marks, owes or
    deletes the page she put there; Bob's next publish plans from his copy (no such page) and writes a manifest that
    does not name it at all: public, named nowhere, for good."""
    alice, bob = tmp_path / "alice", tmp_path / "bob"
    publish(make_host(s3.url, bucket, alice), _built(tmp_path / "a1", {WITHDRAWN: b"<p>opened</p>"}, 1))
    host = make_host(s3.url, bucket, alice)
    first_round = host._upload_round
    bob_published: list[object] = []

    def bob_goes_first(*args: Any, **kwargs: Any) -> None:
        if not bob_published:
            bob_published.append(publish(make_host(s3.url, bucket, bob), _built(tmp_path / "b3", {OTHER: b"<p>4</p>"}, 3)))
        first_round(*args, **kwargs)

    host._upload_round = bob_goes_first  # type: ignore[method-assign]
    from dataclasses import replace
    notes = publish(host, replace(_built(tmp_path / "a2", {WITHDRAWN: STALE}, 2), latest=False))
    assert bob_published, "set-up"
    bob4 = publish(make_host(s3.url, bucket, bob), _built(tmp_path / "b4", {OTHER: b"<p>4 resolved</p>"}, 4))

    assert WITHDRAWN not in set(s3.objects(bucket)), (
        f"Alice's publish succeeded ({notes}), then Bob's ({bob4}); the withdrawn incident's page she put up after "
        f"Bob deleted it is public, named by no manifest now ({sorted(_named(s3, bucket))}), recorded nowhere (owed: {make_host(s3.url, bucket, alice).local_copy.owed()})")


# -- finding 3: a refusal names pages in doubt in the bucket's manifest, bypassing the look at their mark -------------

FOREIGN = "incidents/inc-8.html"


def test_a_page_in_doubt_holding_anothers_file_is_not_deleted_by_the_next_publisher_after_a_refusal(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """Alice's machine has incident 8's page in doubt (a put sent that never answered), and the key holds a file that is
    not broadcaster's (no mark: the bucket owner's own, or another program's). Her own next publish would look at its
    mark before deleting it (``_judge``/``_judged``: "a page in doubt holding another's object is left and settled").
    Refused instead, ``_refused_after_putting`` writes every page in doubt the manifest does not name into the bucket's
    manifest as unknown (""): Bob, whose build lacks incident 8, plans it as named and deletes it, no look at its mark
    (``_judge`` only looks at his own doubts and listed a/ keys). A file that was never broadcaster's is deleted."""
    alice, bob = _alice_then_bob_moves_on(s3, bucket, tmp_path)
    s3.client().put_object(Bucket=bucket, Key=FOREIGN, Body=b"<p>the bucket owner's own file</p>")
    assert make_host(s3.url, bucket, alice).local_copy.doubt([FOREIGN]), "set-up"

    from dataclasses import replace
    # Read first (not of the store's latest state) and refused at once (``reached``): no plan of hers judges the key.
    stale = replace(_stale_follow_up(tmp_path), latest=False, reached=1)
    with pytest.raises(DeliveryError, match="--replace-later") as refused:
        publish(make_host(s3.url, bucket, alice), stale)
    notes = _bob_publishes_on(s3, bucket, tmp_path, bob)

    assert FOREIGN in set(s3.objects(bucket)), (
        f"refused ({refused.value}); Bob published after ({notes}) and deleted {FOREIGN}, a file carrying no mark of "
        "broadcaster's, which Alice's own publish would have left")


# -- finding 4: the refusal's message says "this publish had already sent" pages an earlier publish sent --------------


def test_a_repeated_refusal_that_sent_nothing_does_not_say_it_sent_the_owed_pages(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """The first refusal's mark could not be written (403): owed. Alice retries with a build the bucket's manifest is
    read for first (nothing goes ahead, the read answered before any page): refused again, it writes the owed mark, and says "this publish had already
    sent incidents/inc-2.html" and "Nothing else was published there": it sent nothing; an earlier publish did."""
    alice, _ = _alice_then_bob_moves_on(s3, bucket, tmp_path)
    host = make_host(s3.url, bucket, alice)
    s3.fail(S3Fault(match=MANIFEST_NAME, method="GET", delay=0.6),
            S3Fault(match=MANIFEST_NAME, method="PUT", status=403, code="AccessDenied", times=5))
    host.warm_up()
    try:
        with pytest.raises(DeliveryError, match="--replace-later"):
            publish(host, _stale_follow_up(tmp_path))
    finally:
        _clear(s3)
    s3.clear()
    from dataclasses import replace
    # Not of the store's latest state: the bucket's manifest is read first, and ``reached`` (1) refuses it then.
    retry = replace(_stale_follow_up(tmp_path, "a2-again"), latest=False, reached=1)
    with pytest.raises(DeliveryError, match="--replace-later") as again:
        publish(make_host(s3.url, bucket, alice), retry)
    assert not [r for r in s3.received("PUT") if MANIFEST_NAME not in r.path], "set-up: the retry sent no page"
    assert "this publish had already sent" not in str(again.value), str(again.value)
