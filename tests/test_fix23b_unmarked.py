"""``unmarked_pages`` (a stopped upgrade may have left this site's customers' pages unmarked: under it an unmarked key
in a customer's folder shape that the build lacks is deleted) was kept by every later manifest, so in a shared bucket
another program's ``a/<20-128 characters>/...`` key was deleted for as long as the bucket lived. A publish that marks
every customer's page of its build, and finds none unmarked to delete, drops it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from broadcaster.errors import DeliveryError
from broadcaster.site.hosts._s3_manifest import MANIFEST_NAME, MANIFEST_VERSION
from broadcaster.site.hosts.s3 import S3Host
from tests.fakes.s3 import S3Fault, S3Server
from tests.test_fix20_s3 import SITE, fresh_bucket, make_host, publish, s3_server, write_site  # noqa: F401 - fixtures
from tests.test_fix21d1_s3 import _clear
from tests.test_fix21i1_s3 import ACME, NEW, OLD
from tests.test_hosts_s3 import aws_environment  # noqa: F401 - autouse fixture

OTHERS = "a/another-programs-folder-0123/index.html"  # another program's, in a customer's folder shape, unmarked


def _marked(s3: S3Server, bucket: str, key: str) -> bool:
    return "broadcaster" in (s3.objects(bucket)[key].get("Metadata") or {})


def _flag(s3: S3Server, bucket: str) -> bool:
    return json.loads(s3.body(bucket, MANIFEST_NAME)).get("unmarked_pages") is True


def _upgrade_that_stopped_part_way(s3: S3Server, bucket: str, tmp_path: Path, first: dict[str, bytes]) -> None:
    """As tests/test_fix21i1_s3.py: version 1's bucket, and an upgrade publish that failed on OLD's put."""
    publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "one", first))
    client = s3.client()
    body = s3.body(bucket, MANIFEST_NAME).replace(f'"version": {MANIFEST_VERSION}'.encode(), b'"version": 1')
    client.put_object(Bucket=bucket, Key=MANIFEST_NAME, Body=body)
    for key in s3.objects(bucket):
        if key != MANIFEST_NAME:
            client.put_object(Bucket=bucket, Key=key, Body=s3.body(bucket, key), CacheControl=S3Host.immutable_cache)
    s3.clear()
    s3.fail(S3Fault(match=OLD, status=503, code="SlowDown", times=1000, method="PUT"))
    try:
        with pytest.raises(DeliveryError):
            publish(make_host(s3.url, bucket, tmp_path / "n"), write_site(tmp_path / "two", first, generation=6))
    finally:
        _clear(s3)
    assert _flag(s3, bucket) and not _marked(s3, bucket, OLD), "set-up: flagged, the page unmarked"


def test_a_publish_that_marks_every_customers_page_drops_the_flag_and_another_programs_key_then_survives(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    first = {**SITE, "a/index.html": b"<!doctype html>", OLD: ACME}
    _upgrade_that_stopped_part_way(s3, bucket, tmp_path, first)

    publish(make_host(s3.url, bucket, tmp_path / "n"), write_site(tmp_path / "three", first, generation=7))
    assert _marked(s3, bucket, OLD), "the page left unmarked is uploaded again, marked"
    assert not _flag(s3, bucket), "every customer's page is marked: the flag has nothing left to stand for"

    s3.client().put_object(Bucket=bucket, Key=OTHERS, Body=b"<p>the other program's page</p>")
    with pytest.raises(DeliveryError) as failed:  # no flag: kept, and the publish says so (exit 3)
        publish(make_host(s3.url, bucket, tmp_path / "n"),
                write_site(tmp_path / "four", {**first, "index.html": b"<p>v8</p>"}, generation=8))
    assert OTHERS in s3.objects(bucket), f"another program's key was deleted: {failed.value}"
    assert "delete by hand" in str(failed.value)

    s3.client().delete_object(Bucket=bucket, Key=OTHERS)
    rotated = {**SITE, "a/index.html": b"<!doctype html>", NEW: ACME}
    publish(make_host(s3.url, bucket, tmp_path / "n"), write_site(tmp_path / "five", rotated, generation=9))
    assert OLD not in s3.objects(bucket), "the rotated token's page, marked since, is deleted as this site's"


def test_a_publish_that_deletes_a_page_under_the_flag_keeps_it_for_the_next(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """Its deletes come after its manifest: one that failed would be left by a manifest without the flag."""
    first = {**SITE, "a/index.html": b"<!doctype html>", OLD: ACME}
    _upgrade_that_stopped_part_way(s3, bucket, tmp_path, first)
    rotated = {**SITE, "a/index.html": b"<!doctype html>", NEW: ACME}

    publish(make_host(s3.url, bucket, tmp_path / "n"), write_site(tmp_path / "three", rotated, generation=7))
    assert OLD not in s3.objects(bucket) and _flag(s3, bucket)

    publish(make_host(s3.url, bucket, tmp_path / "n"), write_site(tmp_path / "four", rotated, generation=8))
    assert not _flag(s3, bucket), "nothing left unmarked: the next publish drops it"
