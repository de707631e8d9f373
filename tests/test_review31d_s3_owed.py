"""Review 31d of 8f2e651 (files this machine sent are owed as (hash sent, hash named then) and planned as unknown by
its next publish where the bucket's manifest names that version, "", or nothing): attacks on ordinary operation
against the real fake server (moto behind the recording proxy)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from broadcaster.errors import DeliveryError
from broadcaster.site.hosts import BuiltSite
from tests.fakes.s3 import S3Fault, S3Server
from tests.test_fix20_s3 import fresh_bucket, s3_server  # noqa: F401 - the fixtures s3 and bucket
from tests.test_hosts_s3 import (  # noqa: F401 - fixtures
    aws_environment,
    make_host,
    publish,
)
from tests.test_review31a_s3_replace_ahead import _named
from tests.test_review31b_s3_marks import PAGE, _built
from tests.test_review31c_s3_marks import _sha
from tests.test_s3_stop_doubts import LIGHT_TIMEOUT, _clear, _cut_when, _host

OPENED = b"<p>opened</p>"
FOLLOW_UP = b"<p>follow-up posted by mistake</p>"


def _cut_with_the_page_landing_late(
    s3: S3Server, bucket: str, tmp_path: Path, base: Path, site: BuiltSite, *, landing: bytes = FOLLOW_UP,
    late_by: float = 1.5, meanwhile: Callable[[], None] = lambda: None,
) -> None:
    """Publish ``site`` from ``base``; its upload of PAGE (``landing``) is answered ``late_by`` seconds after the light
    client's timeout (it lands), and the publish is cut (Ctrl-C, the deadline) while it is out: no progress manifest,
    the page owed. ``meanwhile``: what happens after the cut and before the page lands (another's publish)."""
    host = _host(s3, bucket, base)
    host.warm_up()
    assert host._warm is not None
    host._warm.result()  # answered: nothing created ahead; the page goes up in the first round
    _clear(s3)
    s3.fail(S3Fault(match=PAGE, method="PUT", delay=LIGHT_TIMEOUT + late_by, times=1))
    try:
        _cut_when(host, site, s3.delayed)
        meanwhile()
        _wait_for_key_body(s3, bucket, PAGE, landing)
    finally:
        _clear(s3)


def _wait_for_key_body(s3: S3Server, bucket: str, key: str, body: bytes, within: float = 8.0) -> None:
    import time
    give_up = time.monotonic() + within
    while s3.body(bucket, key) != body:
        assert time.monotonic() < give_up, f"set-up: {key} never landed"
        time.sleep(0.1)


# -- finding 1: a second failed send of a suspect page whose hash is the one the manifest named overwrites the owed
# -- entry with (h, h), which ``_sent_over`` then drops (``mine != then``): the first send's object stays served --------


def test_a_follow_up_cut_then_retracted_and_a_503_on_the_resend_is_put_back_by_the_next_publish(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """One machine, one store. Incident 2 published (generation 1). A follow-up (generation 2) is posted; its page's
    upload is out when the publish is cut (Ctrl-C), and lands: the bucket serves the follow-up, its manifest names the
    opened page; owed (follow-up, opened). The follow-up is taken back (generation 3: the page is the opened one
    again); that publish plans the page as unknown and sends the opened page, which gets a 503 (the owed entry is now
    (opened, opened): ``_upload_round`` keeps the version named, not the hash first sent, and ``owe`` replaces the
    entry). The next publish (generation 4, retry) drops the entry (``mine != then``), plans from a manifest naming
    the opened page and sends nothing for it: the bucket serves the retracted follow-up for good."""
    me = tmp_path / "me"
    publish(make_host(s3.url, bucket, me), _built(tmp_path / "g1", {PAGE: OPENED}, 1))
    _cut_with_the_page_landing_late(s3, bucket, tmp_path, me, _built(tmp_path / "g2", {PAGE: FOLLOW_UP}, 2))
    owed_then = make_host(s3.url, bucket, me).local_copy.owed()
    assert owed_then.get(PAGE) == frozenset({_sha(OPENED)}), f"set-up: owed (the version named when another was sent) {owed_then}"
    assert _named(s3, bucket)[PAGE] == _sha(OPENED), "set-up: the manifest names the opened page"

    s3.fail(S3Fault(match=PAGE, method="PUT", status=503, code="SlowDown", times=50))
    try:
        with pytest.raises(DeliveryError):
            publish(make_host(s3.url, bucket, me), _built(tmp_path / "g3", {PAGE: OPENED}, 3))
    finally:
        _clear(s3)
    owed_now = make_host(s3.url, bucket, me).local_copy.owed()

    notes = publish(make_host(s3.url, bucket, me), _built(tmp_path / "g4", {PAGE: OPENED}, 4))
    assert s3.body(bucket, PAGE) == OPENED, (
        f"owed after the first failure {owed_then}, after the second {owed_now}; the next publish ({notes}) left the "
        f"retracted follow-up served behind a manifest naming {_named(s3, bucket)[PAGE][:12]}… (the opened page)")


# -- finding 2: the receipt of an ordinary single-machine publish that deletes an owed page says it was "put up from this
# -- machine before another publisher's manifest ... named unknown in the manifest": neither is true ------------------


def test_a_withdrawal_after_a_cut_follow_up_says_only_what_happened(s3: S3Server, bucket: str, tmp_path: Path) -> None:
    """One machine: a follow-up's publish is cut with its page landing late (owed); the incident is then withdrawn.
    The next publish deletes the page (right), and its receipt says the page was "put up from this machine before
    another publisher's manifest, maybe left behind it: named unknown in the manifest, so the next publish there puts
    its own up or deletes them": there was no other publisher, and this publish deleted it
    (``unknown = [p for p in suspect if not result.files.get(p)]`` counts a deleted path, absent from the result,
    as named unknown)."""
    me = tmp_path / "me"
    publish(make_host(s3.url, bucket, me), _built(tmp_path / "g1", {PAGE: OPENED}, 1))
    _cut_with_the_page_landing_late(s3, bucket, tmp_path, me, _built(tmp_path / "g2", {PAGE: FOLLOW_UP}, 2))
    from dataclasses import replace
    g3 = _built(tmp_path / "g3", {"incidents/inc-4.html": b"<p>4</p>"}, 3)
    g3 = replace(g3, hashes={p: h for p, h in g3.hashes.items() if p != PAGE},
                 keep=g3.keep - {PAGE})
    notes = publish(make_host(s3.url, bucket, me), g3)
    assert PAGE not in s3.objects(bucket), f"the withdrawn page stays up ({notes})"
    said = " ".join(getattr(notes, "notes", ()))
    assert "another publisher" not in said and "named unknown" not in said, said


def test_every_version_named_when_another_was_sent_is_kept_and_looked_for(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """An entry owed for one version named (a stale copy's page sent over h0) and a later publish that sends another
    page over a different version (h1, its local copy kept by the refusal) and fails too: both are kept, and the next
    publish plans the page as unknown where the manifest names either, or none; not where it names a third."""
    from broadcaster.site.hosts._s3_manifest import Remote

    host = make_host(s3.url, bucket, tmp_path / "me")
    assert host.local_copy.owe({PAGE: {"h0"}})
    assert host.local_copy.owe({PAGE: {"h1"}, "a/k3y/index.html": {"hc"}})
    assert host.local_copy.owed() == {PAGE: frozenset({"h0", "h1"})}  # never a customer's page

    def suspect(named: str | None) -> bool:
        return PAGE in host._sent_over(Remote(files={} if named is None else {PAGE: named}))

    assert suspect("h0") and suspect("h1") and suspect("") and suspect(None)
    assert not suspect("h2"), "a version named since was written after: it stands"
