"""Review 23 of 0f7332c, 428b279, ec9afd4: the stop's bookkeeping seen from publishes that are not stopped."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from broadcaster.errors import DeliveryError
from broadcaster.site.hosts._s3_manifest import MANIFEST_NAME
from tests.fakes.s3 import S3Fault, S3Server
from tests.test_fix20_s3 import SITE, fresh_bucket, make_host, publish, s3_server, write_site  # noqa: F401
from tests.test_hosts_s3 import aws_environment  # noqa: F401 - autouse fixture
from tests.test_s3_stop_doubts import LATER, NEW_PAGE, _clear, _cut_when, _host

TOKEN_PAGE = "a/tok-0123456789abcdef/index.html"


def test_a_put_the_bucket_refused_is_not_said_put_and_the_next_publish_settles_it(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """An ordinary publish (not stopped): the bucket answers the new page's put 403 AccessDenied, every time. The
    failure said the publish "put (or sent, with no answer)" it. It is still recorded in doubt, by decision (review
    24): a refusal may answer boto3's resend of a put the light client sent first and that landed unanswered, so a
    refused page is recorded, and the next publish, whose build lacks it, settles the record without a word."""
    publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "one", SITE))
    _clear(s3)
    s3.fail(S3Fault(match=NEW_PAGE, method="PUT", status=403, code="AccessDenied", times=20))
    try:
        with pytest.raises(DeliveryError) as caught:
            publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "two", LATER, generation=6))
    finally:
        _clear(s3)
    said = str(caught.value)
    assert NEW_PAGE not in s3.objects(bucket), "set-up: the bucket refused it"
    assert "access denied" in said and "this publish put" not in said and "may be there" in said, said

    publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "three", SITE, generation=7))

    assert not make_host(s3.url, bucket, tmp_path / "m").local_copy.in_doubt()
    assert NEW_PAGE not in s3.objects(bucket)


def test_check_on_the_host_that_a_stopped_publish_used_reaches_the_bucket(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """``_stop`` stays the stopped publish's (set) until a warm-up: every boto3 client the host makes afterwards
    registers ``_refuse_once_stopped``, which refuses every request, so ``check`` (no warm-up) fails."""
    publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "one", SITE))
    host = _host(s3, bucket, tmp_path / "m")
    _clear(s3)
    s3.fail(S3Fault(match=MANIFEST_NAME, method="PUT", hold=2.0, times=1))
    try:
        host.warm_up()
        _cut_when(host, write_site(tmp_path / "two", LATER, generation=6), s3.held)
    finally:
        _clear(s3)
    reached, *doubts = asyncio.run(host.check())
    assert reached.ok, reached  # not refused as stopped
    # What the stopped publish left is told (cdf8a0c), and nothing else fails.
    assert [NEW_PAGE in str(d) for d in doubts] == [True] and not any(d.ok for d in doubts), doubts

