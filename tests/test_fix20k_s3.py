"""Fixes of review 20k's S3 findings 1, 2 and 4 (each test failed before its fix), against moto's S3 server.

1. A manifest write that failed in a way that may have stored it (5xx, timeout) is read back: the pages created
   ahead are kept only if the manifest there names them, else taken back (a withdrawal later would never find them).
2. Over a lost manifest, site-shaped files carrying no mark at all that the build lacks (maybe this site's from before
   the mark: a withdrawn page) fail the delivery (exit 3) with the keys to check; every publish fails again until
   they are gone, then succeeds.
4. A HEAD refused with 400/403 (SSE-C, a policy) over a lost manifest: the key is left and named, the site published.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from broadcaster.errors import DeliveryError, retryable
from broadcaster.site.hosts._s3_manifest import MANIFEST_NAME
from tests.conftest import Project
from tests.fakes.s3 import S3Fault, S3Server
from tests.test_fix20_s3 import SITE, WITHDRAWN, fresh_bucket, make_host, publish, s3_server, write_site  # noqa: F401 - pytest fixtures (s3, bucket)
from tests.test_hosts_s3 import aws_environment  # noqa: F401 - autouse pytest fixture: never the machine's ~/.aws
from tests.test_s3_foreign_files import BUCKET
from tests.test_s3_foreign_files import s3 as cli_s3  # noqa: F401 - pytest fixture

NEW_PAGE = "incidents/posted-in-error.html"
LATER = {**SITE, NEW_PAGE: b"<p>posted in error: acme's circuits</p>", "index.html": b"<p>index linking it</p>"}


def _unmark_everything(s3: S3Server, bucket: str) -> None:
    """The bucket as every release before the mark left it, then its manifest lost."""
    client = s3.client()
    for key in s3.objects(bucket):
        if key != MANIFEST_NAME:
            client.put_object(Bucket=bucket, Key=key, Body=s3.body(bucket, key))
    client.delete_object(Bucket=bucket, Key=MANIFEST_NAME)


# -- 1. a page created ahead is kept only if the manifest read back names it -----------------------------------


def test_a_page_created_ahead_is_taken_back_when_the_manifest_answered_503_never_landed(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "one", SITE))
    s3.fail(S3Fault(match=MANIFEST_NAME, status=503, code="SlowDown", times=1000, method="PUT"))
    s3.latency = 0.4  # the read takes a while: the page is created ahead
    try:
        host = make_host(s3.url, bucket, tmp_path / "m")
        host.warm_up()
        with pytest.raises(DeliveryError) as failed:
            publish(host, write_site(tmp_path / "two", LATER, generation=6))
    finally:
        s3.latency = 0.0
        with s3._lock:
            s3._faults.clear()
    assert NEW_PAGE not in s3.body(bucket, MANIFEST_NAME).decode(), "set-up: no manifest names it"
    assert any(r.path.endswith(NEW_PAGE) for r in s3.received("PUT")), "set-up: the page was created ahead"
    assert NEW_PAGE not in s3.objects(bucket), "a page named by no manifest was left public"
    assert failed.value.retryable

    # The withdrawal that follows leaves nothing public, and the read-back happened only on the failure path.
    publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "three", SITE, generation=7))
    assert NEW_PAGE not in s3.objects(bucket)


def test_a_page_created_ahead_is_kept_when_the_manifest_answered_500_did_land(
    s3: S3Server, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other side of the read-back: stored, then answered with an error. The manifest there names the page."""
    publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "one", SITE))
    host = make_host(s3.url, bucket, tmp_path / "m")
    write = host._write_manifest
    calls = itertools.count()

    def stored_then_failed(*args: Any, **kwargs: Any) -> str:
        etag = write(*args, **kwargs)
        if next(calls) == 0:
            raise retryable("could not write the manifest: InternalError (stored all the same)")
        return etag

    monkeypatch.setattr(host, "_write_manifest", stored_then_failed)
    s3.latency = 0.4
    try:
        host.warm_up()
        with pytest.raises(DeliveryError):
            publish(host, write_site(tmp_path / "two", LATER, generation=6))
    finally:
        s3.latency = 0.0
    assert NEW_PAGE in json.loads(s3.body(bucket, MANIFEST_NAME))["files"], "set-up: the manifest landed"
    assert NEW_PAGE in s3.objects(bucket), "a page the bucket's manifest names was taken back"


# -- 2. unmarked files over a lost manifest fail the delivery until they are gone ------------------------------


def test_a_withdrawn_page_from_before_the_mark_fails_the_publish_until_it_is_deleted(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    first = {**SITE, WITHDRAWN: b"<p>posted in error</p>", "a/tok-0123456789abcdef/index.html": b"<p>acme</p>"}
    publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "one", first))
    _unmark_everything(s3, bucket)

    with pytest.raises(DeliveryError) as failed:
        publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "two", SITE, generation=6))
    said = str(failed.value)
    assert not failed.value.retryable, "the engine would retry it in vain"
    assert WITHDRAWN in said and "by hand" in said and "fails again" in said and "retry" in said
    assert "1 under a/" in said and "tok-0123456789abcdef" not in said, "a customer's page named"
    manifest = json.loads(s3.body(bucket, MANIFEST_NAME))
    assert manifest.get("list_again") is True and WITHDRAWN not in manifest["files"]
    assert "tok-0123456789abcdef" not in s3.body(bucket, MANIFEST_NAME).decode()

    # A retry on another machine (no local copy) fails the same way while the page is there.
    with pytest.raises(DeliveryError) as again:
        publish(make_host(s3.url, bucket, tmp_path / "ci"), write_site(tmp_path / "three", SITE, generation=6))
    assert WITHDRAWN in str(again.value)

    # Deleted by hand: the next publish succeeds, and stops looking.
    s3.client().delete_object(Bucket=bucket, Key=WITHDRAWN)
    s3.client().delete_object(Bucket=bucket, Key="a/tok-0123456789abcdef/index.html")
    publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "four", SITE, generation=6))
    assert "list_again" not in json.loads(s3.body(bucket, MANIFEST_NAME))
    s3.clear()
    publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "five", SITE, generation=6))
    listings = [r for r in s3.received("GET") if "list-type" in r.query]
    assert listings == [] and s3.received("HEAD") == [], "still listing after recovery"


def test_a_withdrawal_over_a_lost_manifest_from_before_the_mark_exits_3_through_the_cli(
    project: Project, cli_s3: S3Server  # noqa: F811
) -> None:
    project.write_config(cli_s3.publish_toml(BUCKET))
    posted = project.cli("post", "--yes", "--json", "--title", "Wrong customer named", "Acme's outage.")
    assert posted.exit_code == 0, posted.output
    incident = json.loads(posted.stdout)["incident_id"]
    page = f"incidents/{incident}.html"
    _unmark_everything(cli_s3, BUCKET)

    withdrawn = project.cli("withdraw", "--yes", incident)

    assert withdrawn.exit_code == 3, "a withdrawn page may still be public, and the withdrawal said it was done"
    assert page in withdrawn.output and "by hand" in withdrawn.output, withdrawn.output


# -- 4. a HEAD refused is "not provably ours": left and named --------------------------------------------------


@pytest.mark.parametrize(("status", "code"), [(400, "BadRequest"), (403, "AccessDenied")])
def test_a_site_shaped_object_whose_head_is_refused_is_left_and_named(
    s3: S3Server, bucket: str, tmp_path: Path, status: int, code: str
) -> None:
    publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "one", SITE))
    s3.client().put_object(Bucket=bucket, Key="badges/coverage.svg", Body=b"<svg>93%</svg>")
    s3.client().delete_object(Bucket=bucket, Key=MANIFEST_NAME)
    s3.fail(S3Fault(match="badges/coverage.svg", status=status, code=code, times=1000, method="HEAD"))
    try:
        later = {**SITE, "index.html": b"<p>index, later</p>"}
        notes = publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "two", later, generation=6))
    finally:
        with s3._lock:
            s3._faults.clear()
    assert s3.body(bucket, "index.html") == b"<p>index, later</p>"
    assert "badges/coverage.svg" in s3.objects(bucket) and "badges/coverage.svg" in " ".join(notes)
    assert "list_again" not in json.loads(s3.body(bucket, MANIFEST_NAME))
