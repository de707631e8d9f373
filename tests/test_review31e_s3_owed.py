"""Review 31e of d2315a7 and ef4257b (owed entries: the versions named when another was sent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from broadcaster.errors import DeliveryError
from broadcaster.site.hosts._s3_manifest import MANIFEST_NAME
from tests.fakes.s3 import S3Fault, S3Server
from tests.test_fix20_s3 import fresh_bucket, s3_server  # noqa: F401 - the fixtures s3 and bucket
from tests.test_fix20k_s3 import _unmark_everything
from tests.test_hosts_s3 import (  # noqa: F401 - fixtures
    aws_environment,
    make_host,
    publish,
)
from tests.test_review31a_s3_replace_ahead import _built, _named
from tests.test_review31c_s3_marks import _sha
from tests.test_s3_stop_doubts import _clear

PAGE = "incidents/inc-2.html"
LEFT = "incidents/inc-9.html"  # this site's from before the mark: left unmarked, the build lacks it
OPENED = b"<p>opened</p>"
FOLLOW_UP = b"<p>follow-up</p>"


def test_a_page_replaced_ahead_by_a_publish_whose_manifest_landed_is_not_owed(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """A publish that wrote its manifest (naming the follow-up it replaced ahead) and then raised ``_unproven_failure``
    (list_again: unmarked files left) is not one that "did not finish" for the manifest: ``settle_owed()`` ran, yet
    ``_publish``'s except path owes ``_ahead(site, fresh)`` again (``_over`` was reset, ``_ahead`` is not), so the
    side file says the page was sent over a version no manifest names any more."""
    me = tmp_path / "me"
    publish(make_host(s3.url, bucket, me), _built(tmp_path / "g1", {PAGE: OPENED, LEFT: b"<p>9</p>"}, 1))
    _unmark_everything(s3, bucket)
    with pytest.raises(DeliveryError):  # over the lost manifest: LEFT carries no mark, the build lacks it
        publish(make_host(s3.url, bucket, me), _built(tmp_path / "g2", {PAGE: OPENED}, 2))
    s3.clear()

    host = make_host(s3.url, bucket, me)
    s3.fail(S3Fault(match=MANIFEST_NAME, method="GET", delay=0.6))  # the warm-up's read is slow: replaced ahead
    host.warm_up()
    try:
        with pytest.raises(DeliveryError):  # LEFT still there: fails the same way, after writing its manifest
            publish(host, _built(tmp_path / "g3", {PAGE: FOLLOW_UP}, 3))
    finally:
        _clear(s3)
    assert _named(s3, bucket)[PAGE] == _sha(FOLLOW_UP), "set-up: the manifest that landed names the follow-up"
    owed = make_host(s3.url, bucket, me).local_copy.owed()
    assert PAGE not in owed, f"owed after a publish whose manifest named what it sent: {owed}"


def test_an_owed_file_of_the_format_before_ef4257b_is_not_read_as_named_versions(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """Before ef4257b the side file held ``[hash sent, hash named then]`` per path, and (after d2315a7) a resend of the
    very version named was kept as ``[h, h]``, which ``_sent_over`` ignored (``mine != then``). ``owed()`` now reads
    either list as a set of versions named: the hash sent is looked for as if named, so a manifest naming exactly what
    this machine sent (a progress manifest, or ``[h, h]``: what it named all along) makes the page suspect, re-sent and
    a manifest written, with nothing owed."""
    from broadcaster.site.hosts._s3_manifest import Remote

    me = tmp_path / "me"
    publish(make_host(s3.url, bucket, me), _built(tmp_path / "g1", {PAGE: OPENED}, 1))
    host = make_host(s3.url, bucket, me)
    copy = host.local_copy
    assert copy._write_list(copy.owed_path, "owed", {PAGE: [_sha(OPENED), _sha(OPENED)],
                                                    "incidents/inc-4.html": [_sha(FOLLOW_UP), _sha(OPENED)]})
    named = Remote(files={PAGE: _sha(OPENED), "incidents/inc-4.html": _sha(FOLLOW_UP)})
    assert host._sent_over(named) == set(), (
        f"read from the older format as {copy.owed()}: each path planned unknown where the manifest names what was sent")
