"""Fix 21i1 (review 21i, finding 5): a shared bucket's own file under a/ is looked at beside the first round's
uploads, once: remembered (a digest of key and ETag), it is neither looked at nor named again while unchanged."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tests.fakes.s3 import S3Server
from tests.test_fix20_s3 import publish as notes_of
from tests.test_hosts_s3 import SITE, aws_environment, make_host, publish, rounds, s3, slow_s3, write_site  # noqa: F401

TOKEN_PAGE = "a/tok-0123456789abcdef/index.html"
SHARED = "a/docs/index.html"


def _customer(**more: bytes) -> dict[str, bytes]:
    return {**SITE, "a/index.html": b"<!doctype html>", TOKEN_PAGE: b"<p>For Acme</p>", **more}


def _rounds(s3: S3Server, bucket: str, tmp_path: Path, *, shared_key: bool) -> list[list[str]]:  # noqa: F811
    s3.create_bucket(bucket)
    host = make_host(s3.url, bucket, tmp_path)
    publish(host, replace(write_site(tmp_path / "one", _customer()), latest=True))
    if shared_key:
        s3.client().put_object(Bucket=bucket, Key=SHARED, Body=b"<h1>docs</h1>")
    s3.clear()
    changed = _customer(**{"incidents/inc-2.html": b"<p>Resolved</p>", "index.html": b"<p>2</p>"})
    publish(host, replace(write_site(tmp_path / "two", changed), latest=True))
    return rounds(s3)


def test_a_shared_buckets_own_a_file_is_looked_at_beside_the_first_round(
    slow_s3: S3Server, tmp_path: Path  # noqa: F811
) -> None:
    plain = _rounds(slow_s3, "fix21i1-plain", tmp_path / "p", shared_key=False)
    shared = _rounds(slow_s3, "fix21i1-shared", tmp_path / "s", shared_key=True)

    assert len(shared) == len(plain), f"without the shared key: {plain}\nwith it: {shared}"
    assert sum(r.count("HEAD index.html") for r in shared) == 1, shared


def test_a_shared_buckets_own_a_file_is_looked_at_and_named_once(s3: S3Server, tmp_path: Path) -> None:  # noqa: F811
    s3.create_bucket("fix21i1-once")
    host = make_host(s3.url, "fix21i1-once", tmp_path)
    publish(host, replace(write_site(tmp_path / "one", _customer()), latest=True))
    s3.client().put_object(Bucket="fix21i1-once", Key=SHARED, Body=b"<h1>docs</h1>")
    first = notes_of(host, replace(write_site(tmp_path / "two", _customer(**{"index.html": b"<p>2</p>"})), latest=True))
    assert any("no mark" in note for note in first), first
    s3.clear()

    again = notes_of(host, replace(write_site(tmp_path / "three", _customer(**{"index.html": b"<p>3</p>"})),
                                  latest=True))

    assert not any("no mark" in note for note in again), again
    assert not [r for r in s3.requests if r.method == "HEAD"], [f"{r.method} {r.path}" for r in s3.requests]
    assert SHARED in s3.objects("fix21i1-once")
    record = host.local_copy.theirs_path.read_text()
    assert "docs" not in record, "a path under a/ is never kept, only a digest"
    # Changed since: looked at again (it may be this site's now), and named again.
    s3.client().put_object(Bucket="fix21i1-once", Key=SHARED, Body=b"<h1>docs v2</h1>")
    changed = notes_of(host, replace(write_site(tmp_path / "four", _customer(**{"index.html": b"<p>4</p>"})),
                                    latest=True))
    assert any("no mark" in note for note in changed), changed
