"""Review 24 of bfaa20d: pages an ordinary (not stopped) failed S3 publish leaves public, in no manifest and no
in-doubt record."""

from __future__ import annotations

from pathlib import Path

import pytest

from broadcaster.errors import DeliveryError
from broadcaster.site.hosts._s3_manifest import MANIFEST_NAME
from tests.fakes.s3 import S3Fault, S3Server
from tests.test_fix20_s3 import SITE, fresh_bucket, make_host, publish, s3_server, write_site  # noqa: F401
from tests.test_hosts_s3 import aws_environment  # noqa: F401 - autouse fixture
from tests.test_s3_stop_doubts import (
    LATER,
    LIGHT_TIMEOUT,
    NEW_PAGE,
    _clear,
    _host,
    _wait_for_key,
    withdrawn_takes_it_down,
)


def test_a_put_that_landed_unanswered_then_was_refused_on_the_resend_is_recorded_in_doubt(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """The light client's put of the new page lands but its answer comes after the socket timeout; boto3 sends it
    again and is answered 403. The final error is permanent, so ``upload`` discards the path from ``_sent``
    (``not _may_have_landed``): the first send, which landed, is forgotten."""
    publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "one", SITE))
    host = _host(s3, bucket, tmp_path / "m")
    host.warm_up()
    assert host._warm is not None
    host._warm.result()  # answered: nothing is created ahead, the page goes up in the first round (light client)
    _clear(s3)
    s3.fail(S3Fault(match=NEW_PAGE, method="PUT", delay=LIGHT_TIMEOUT + 1.0, times=1),
            S3Fault(match=NEW_PAGE, method="PUT", status=403, code="AccessDenied", times=20))
    try:
        with pytest.raises(DeliveryError):
            publish(host, write_site(tmp_path / "two", LATER, generation=6))
        _wait_for_key(s3, bucket, NEW_PAGE)
    finally:
        _clear(s3)
    withdrawn_takes_it_down(s3, bucket, tmp_path)


def test_a_create_ahead_that_landed_unanswered_before_a_failed_first_round_is_recorded_in_doubt(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """Not stopped. The new page is created ahead (the warm-up's read is slow); the create lands after the light
    client's timeout, so ``create_object`` says False. The first round fails (403 on a changed page), before the
    round that would put the page again. bfaa20d dropped ``fresh.paths - made_ahead - done.files`` from ``unnamed``;
    ``_take_back`` (not stopped) looks only at ``fresh.orphans()`` (creations answered 2xx). The changed page goes
    in the first round because this machine's ETag for it is unknown (else it is replaced ahead too: the test
    after this one)."""
    publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "one", SITE))
    host = _host(s3, bucket, tmp_path / "m")
    host.local_copy.etags_path.unlink()
    changed = {**LATER, "incidents/inc-1.html": b"<p>incident 1, updated</p>"}
    _clear(s3)
    s3.fail(S3Fault(match=MANIFEST_NAME, method="GET", delay=0.6, times=1),  # the warm-up's read: created ahead
            S3Fault(match=NEW_PAGE, method="PUT", delay=LIGHT_TIMEOUT + 1.0, times=1),  # the create, landing late
            S3Fault(match="incidents/inc-1.html", method="PUT", status=403, code="AccessDenied", times=20))
    try:
        host.warm_up()
        with pytest.raises(DeliveryError):
            publish(host, write_site(tmp_path / "two", changed, generation=6))
        _wait_for_key(s3, bucket, NEW_PAGE)
    finally:
        _clear(s3)
    assert not [r for r in s3.received("PUT") if r.path.endswith(NEW_PAGE) and "if-none-match" not in r.headers], \
        "set-up: only the create ahead sent it"
    withdrawn_takes_it_down(s3, bucket, tmp_path)
