"""Fix 21i1 (review 21i, findings 1, 3 and 4): S3 keys the plan would delete that no manifest names are looked at
beside the first round. Under a/, an unmarked page in a customer's folder shape is deleted where an upgrade publish
stopped part way (``unmarked_pages``), else fails the publish (exit 3) rather than being left up silently; a page in
doubt holding another's object is left; a page in doubt that the manifest names is never "taken out"."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from broadcaster.errors import DeliveryError
from broadcaster.site.hosts._s3_manifest import MANIFEST_NAME, MANIFEST_VERSION
from broadcaster.site.hosts.s3 import S3Host
from tests.conftest import ENGINE, Project
from tests.fakes.s3 import S3Fault, S3Server
from tests.test_fix20_s3 import SITE, fresh_bucket, make_host, publish, s3_server, write_site  # noqa: F401 - fixtures
from tests.test_fix21d1_s3 import LATER, NEW_PAGE, TOKEN_PAGE, _clear, _manifest_files
from tests.test_hosts_s3 import aws_environment  # noqa: F401 - autouse fixture
from tests.test_s3_foreign_files import AUDIENCE, BUCKET, TOKEN
from tests.test_s3_foreign_files import s3 as cli_s3  # noqa: F401 - pytest fixture

OLD = "a/acme-leaked-token-0123456789/index.html"
NEW = "a/acme-rotated-token-9876543210/index.html"
ACME = b"<p>Acme: your circuit ACM-OLD-1 is rerouted.</p>"
SHARED = "a/docs/index.html"  # a shared bucket's own file under a/: no feed token's shape


def _upgrade_that_stopped_part_way(s3: S3Server, bucket: str, tmp_path: Path, first: dict[str, bytes]) -> None:
    publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "one", first))
    client = s3.client()  # as version 1 left the bucket: its manifest, and objects without the mark
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
    publish(make_host(s3.url, bucket, tmp_path / "n"), write_site(tmp_path / "two", first, generation=6))  # retry
    assert "broadcaster" not in (s3.objects(bucket)[OLD].get("Metadata") or {}), "set-up: the page stayed unmarked"


def test_a_rotated_tokens_page_left_unmarked_by_an_upgrade_that_stopped_part_way_is_deleted(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    first = {**SITE, "a/index.html": b"<!doctype html>", OLD: ACME}
    _upgrade_that_stopped_part_way(s3, bucket, tmp_path, first)
    s3.client().put_object(Bucket=bucket, Key=SHARED, Body=b"<h1>the other team's docs</h1>")

    rotated = {**SITE, "a/index.html": b"<!doctype html>", NEW: ACME}
    notes = publish(make_host(s3.url, bucket, tmp_path / "n"), write_site(tmp_path / "three", rotated, generation=7))

    assert OLD not in s3.objects(bucket), f"the leaked token's page is still served after the rotation: {notes}"
    assert SHARED in s3.objects(bucket), f"a file in no customer's folder shape, unmarked, was deleted: {notes}"
    assert "acme" not in " ".join(notes), notes
    assert json.loads(s3.body(bucket, MANIFEST_NAME)).get("unmarked_pages") is True, "the flag is kept"


def test_an_unmarked_page_in_a_customers_folder_shape_fails_the_publish_where_no_upgrade_stopped(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """No flag: broadcaster marked every customer page it wrote here, yet such a page may be one it wrote before the
    mark (a bucket upgraded by 83b276a, whose progress manifest had no flag) or another program's. Neither left up
    silently with exit 0, nor deleted: exit 3, counted (a path is a capability), what to do said."""
    customer = {**SITE, "a/index.html": b"<!doctype html>", TOKEN_PAGE: b"<p>For Acme</p>"}
    publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "one", customer))
    s3.client().put_object(Bucket=bucket, Key=OLD, Body=ACME)  # unmarked

    with pytest.raises(DeliveryError) as failed:
        publish(make_host(s3.url, bucket, tmp_path / "m"),
                write_site(tmp_path / "two", {**customer, "index.html": b"<p>v2</p>"}, generation=6))

    said = str(failed.value)
    assert not failed.value.retryable, said
    assert OLD in s3.objects(bucket), "nothing provably ours is deleted"
    assert s3.body(bucket, "index.html") == b"<p>v2</p>", "the rest is published"
    assert "1 files under a/" in said and "delete by hand" in said and "acme" not in said, said
    with pytest.raises(DeliveryError):  # every publish, until it is gone
        publish(make_host(s3.url, bucket, tmp_path / "m"),
                write_site(tmp_path / "three", {**customer, "index.html": b"<p>v3</p>"}, generation=7))
    s3.client().delete_object(Bucket=bucket, Key=OLD)
    publish(make_host(s3.url, bucket, tmp_path / "m"),
            write_site(tmp_path / "four", {**customer, "index.html": b"<p>v4</p>"}, generation=8))


def test_through_the_cli_an_unmarked_old_tokens_page_fails_the_post_with_exit_3(
    project: Project, cli_s3: S3Server  # noqa: F811
) -> None:
    project.env["ACME_FEED_TOKEN"] = TOKEN
    project.write_config(ENGINE + AUDIENCE + cli_s3.publish_toml(BUCKET))
    assert project.cli("post", "--yes", "-t", "API errors", "-C", "api", "Looking into it.").exit_code == 0
    old = "a/acme-old-token-fedcba9876543210/index.html"  # a page from before the mark, its token since rotated
    cli_s3.client().put_object(Bucket=BUCKET, Key=old, Body=b"<p>Acme: circuit ACME-OLD-1</p>")

    posted = project.cli("post", "--yes", "-t", "DNS errors", "-C", "api", "Looking into it.")

    assert posted.exit_code == 3, posted.output
    assert "1 files under a/" in posted.output and "acme-old-token" not in posted.output, posted.output
    assert TOKEN not in posted.output
    assert old in cli_s3.objects(BUCKET) and "delete by hand" in posted.output


def _post_whose_manifest_write_failed(s3: S3Server, bucket: str, tmp_path: Path) -> None:
    publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "one", SITE))
    s3.fail(S3Fault(match=MANIFEST_NAME, status=503, code="SlowDown", times=1000, method="PUT"))
    try:
        with pytest.raises(DeliveryError):
            publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "two", LATER, generation=6))
    finally:
        _clear(s3)
    assert make_host(s3.url, bucket, tmp_path / "m").local_copy.in_doubt() == {NEW_PAGE}, "set-up: in doubt"


def test_a_page_in_doubt_that_now_holds_an_unmarked_object_is_left_named_and_settled(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    _post_whose_manifest_write_failed(s3, bucket, tmp_path)
    s3.client().put_object(Bucket=bucket, Key=NEW_PAGE, Body=b"<p>hand-written notice: posted in error</p>")

    notes = publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "three", SITE, generation=7))

    assert NEW_PAGE in s3.objects(bucket), f"an unmarked object (not ours) was deleted: {notes}"
    assert "0 deleted" in notes[0] and any(NEW_PAGE in note and "not deleted" in note for note in notes), notes
    assert not make_host(s3.url, bucket, tmp_path / "m").local_copy.in_doubt(), "settled"
    assert NEW_PAGE not in _manifest_files(s3, bucket)


@pytest.mark.parametrize("versioned", [False, True], ids=["no-versions", "versions"])
def test_a_behind_build_does_not_call_a_live_page_in_doubt_taken_out(
    s3: S3Server, bucket: str, tmp_path: Path, versioned: bool
) -> None:
    _post_whose_manifest_write_failed(s3, bucket, tmp_path)
    later = {**LATER, NEW_PAGE: b"<p>updated on the other machine</p>", "index.html": b"<p>v8</p>"}
    publish(make_host(s3.url, bucket, tmp_path / "other"),
            replace(write_site(tmp_path / "b", later, generation=8), versions={NEW_PAGE: "9-later"}))
    named = _manifest_files(s3, bucket)[NEW_PAGE]
    behind = write_site(tmp_path / "a", LATER, generation=7, latest=False)

    notes = publish(make_host(s3.url, bucket, tmp_path / "m"),
                    replace(behind, versions={NEW_PAGE: "5-earlier"}) if versioned else behind)

    assert not any("taken out" in note for note in notes), f"a live, named page reported as taken out: {notes}"
    if versioned:  # without versions, a behind build cannot tell the later build's page is newer (never could)
        assert _manifest_files(s3, bucket)[NEW_PAGE] == named, notes
    assert not make_host(s3.url, bucket, tmp_path / "m").local_copy.in_doubt(), "a manifest names it: settled"
