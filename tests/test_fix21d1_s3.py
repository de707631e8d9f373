"""Fix 21d1 (review 21d, findings 1, 2 and 4): S3 pages that no manifest names after a failed publish are recorded
in doubt and settled by the next publish (a withdrawn page taken down, a page a landed manifest names put back);
under a/, only keys carrying broadcaster's mark are deleted."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from broadcaster.errors import DeliveryError, retryable
from broadcaster.site.hosts._s3_manifest import MANIFEST_NAME
from tests.conftest import ENGINE, Project
from tests.fakes.s3 import S3Fault, S3Server
from tests.test_fix20_s3 import SITE, fresh_bucket, make_host, publish, s3_server, write_site  # noqa: F401 - fixtures
from tests.test_hosts_s3 import aws_environment  # noqa: F401 - autouse fixture: never the machine's ~/.aws
from tests.test_s3_foreign_files import BUCKET
from tests.test_s3_foreign_files import s3 as cli_s3  # noqa: F401 - pytest fixture

NEW_PAGE = "incidents/posted-in-error.html"
LATER = {**SITE, NEW_PAGE: b"<p>posted in error: acme's circuits</p>", "index.html": b"<p>index linking it</p>"}
TOKEN_PAGE = "a/tok-0123456789abcdef/index.html"


def _clear(s3: S3Server) -> None:
    with s3._lock:
        s3._faults.clear()


def _manifest_files(s3: S3Server, bucket: str) -> dict[str, str]:
    files: dict[str, str] = json.loads(s3.body(bucket, MANIFEST_NAME))["files"]
    return files


# -- finding 1: a new page whose manifest never landed --------------------------------------------------------------


def test_a_page_the_first_round_put_up_unnamed_is_deleted_by_the_next_publish_that_lacks_it(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "one", SITE))
    s3.fail(S3Fault(match=MANIFEST_NAME, status=503, code="SlowDown", times=1000, method="PUT"))
    try:
        with pytest.raises(DeliveryError) as failed:
            publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "two", LATER, generation=6))
    finally:
        _clear(s3)
    assert NEW_PAGE in s3.objects(bucket), "set-up: round 1 put the page up"
    assert NEW_PAGE not in _manifest_files(s3, bucket), "set-up: no manifest names it"
    # Loud: the failure names the page left in the bucket and what settles it.
    assert NEW_PAGE in str(failed.value) and "next publish" in str(failed.value), str(failed.value)

    notes = publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "three", SITE, generation=7))

    assert NEW_PAGE not in s3.objects(bucket), f"the withdrawn page is still public after a successful publish: {notes}"
    assert "1 deleted" in notes[0], notes
    # Settled: the record is gone, and a publish after it changes nothing.
    assert not make_host(s3.url, bucket, tmp_path / "m").local_copy.in_doubt()
    notes = publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "three", SITE, generation=7))
    assert notes[0].startswith("0 uploaded, 0 deleted"), notes


def test_a_page_in_doubt_that_the_next_build_has_is_uploaded_and_named(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """The retry of the post: the page goes in the manifest, the record is settled."""
    publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "one", SITE))
    s3.fail(S3Fault(match=MANIFEST_NAME, status=503, code="SlowDown", times=1000, method="PUT"))
    try:
        with pytest.raises(DeliveryError):
            publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "two", LATER, generation=6))
    finally:
        _clear(s3)
    assert make_host(s3.url, bucket, tmp_path / "m").local_copy.in_doubt() == {NEW_PAGE}

    publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "two", LATER, generation=6))

    assert _manifest_files(s3, bucket).get(NEW_PAGE), "the page is named with its hash"
    assert s3.body(bucket, NEW_PAGE) == LATER[NEW_PAGE]
    assert not make_host(s3.url, bucket, tmp_path / "m").local_copy.in_doubt()


def test_post_whose_manifest_write_failed_then_withdraw_takes_the_page_down_through_the_cli(
    project: Project, cli_s3: S3Server  # noqa: F811
) -> None:
    project.write_config(ENGINE + cli_s3.publish_toml(BUCKET))
    assert project.cli("post", "--yes", "-t", "Database errors", "Looking into it.").exit_code == 0
    cli_s3.fail(S3Fault(match=MANIFEST_NAME, status=503, code="SlowDown", times=10_000, method="PUT"))
    try:
        posted = project.cli("post", "--yes", "--json", "--title", "Wrong customer named", "Acme's circuits down.")
    finally:
        _clear(cli_s3)
    assert posted.exit_code == 3, posted.output
    incident = json.loads(posted.stdout)["incident_id"]
    page = f"incidents/{incident}.html"
    assert page in cli_s3.objects(BUCKET), "set-up: the page went up in the first round"

    withdrawn = project.cli("withdraw", "--yes", incident)

    assert withdrawn.exit_code == 0, withdrawn.output
    assert page not in cli_s3.objects(BUCKET), f"withdrawn, exit 0, and its page is still public: {withdrawn.output}"


def test_the_record_of_pages_in_doubt_never_names_a_customer_page(s3: S3Server, bucket: str, tmp_path: Path) -> None:
    publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "one", SITE))
    s3.fail(S3Fault(match=MANIFEST_NAME, status=503, code="SlowDown", times=1000, method="PUT"))
    try:
        with pytest.raises(DeliveryError) as failed:
            publish(make_host(s3.url, bucket, tmp_path / "m"),
                    write_site(tmp_path / "two", {**LATER, TOKEN_PAGE: b"<p>For Acme</p>"}, generation=6))
    finally:
        _clear(s3)
    record = make_host(s3.url, bucket, tmp_path / "m").local_copy.doubts_path.read_text()
    assert NEW_PAGE in record
    assert "tok-0123456789abcdef" not in record and "tok-0123456789abcdef" not in str(failed.value)


# -- finding 2: a page created ahead, the manifest's fate unknown ------------------------------------------------------


def _failing_write_then_reads(host: Any, s3: S3Server, monkeypatch: pytest.MonkeyPatch, *, stored: bool) -> None:
    """The first manifest write answered with an error (``stored``: after storing it; else every write fails), and
    every read of the manifest failing from then on for a while (the service still busy)."""
    write = host._write_manifest
    calls = itertools.count()

    def failing(*args: Any, **kwargs: Any) -> str:
        call = next(calls)
        if call == 0 or not stored:  # not ``stored``: every write refused (the progress manifest's too)
            if stored:
                write(*args, **kwargs)
            if call == 0:
                s3.fail(S3Fault(match=MANIFEST_NAME, status=503, code="SlowDown", times=40, method="GET"))
            raise retryable("could not write the manifest: InternalError")
        etag: str = write(*args, **kwargs)
        return etag

    monkeypatch.setattr(host, "_write_manifest", failing)


def test_a_page_created_ahead_whose_manifest_landed_unseen_is_not_taken_back_from_under_it(
    s3: S3Server, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "one", SITE))
    host = make_host(s3.url, bucket, tmp_path / "m")
    _failing_write_then_reads(host, s3, monkeypatch, stored=True)
    s3.latency = 0.4  # the warm-up's read takes a while: the page is created ahead
    try:
        host.warm_up()
        with pytest.raises(DeliveryError):
            publish(host, write_site(tmp_path / "two", LATER, generation=6))
    finally:
        s3.latency = 0.0
        _clear(s3)
    assert any(r.path.endswith(NEW_PAGE) and "if-none-match" in r.headers for r in s3.received("PUT")), \
        "set-up: the page was created ahead"
    assert NEW_PAGE in _manifest_files(s3, bucket), "set-up: the manifest landed"
    assert NEW_PAGE in s3.objects(bucket), "kept: the manifest in the bucket may name it"

    notes = publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "three", LATER, generation=6))

    assert NEW_PAGE in s3.objects(bucket), f"the bucket's manifest names the page, the page is gone: {notes}"


def test_a_page_created_ahead_kept_for_want_of_a_read_is_deleted_by_the_withdrawal(
    s3: S3Server, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other side: the manifest never landed and could not be read back, the page is kept in doubt (not guessed
    away), the failure names it, and the next publish, which lacks it, deletes it."""
    publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "one", SITE))
    host = make_host(s3.url, bucket, tmp_path / "m")
    _failing_write_then_reads(host, s3, monkeypatch, stored=False)
    s3.latency = 0.4
    try:
        host.warm_up()
        with pytest.raises(DeliveryError) as failed:
            publish(host, write_site(tmp_path / "two", LATER, generation=6))
    finally:
        s3.latency = 0.0
        _clear(s3)
    assert any(r.path.endswith(NEW_PAGE) and "if-none-match" in r.headers for r in s3.received("PUT")), \
        "set-up: the page was created ahead"
    assert NEW_PAGE not in _manifest_files(s3, bucket), "set-up: the manifest never landed"
    assert NEW_PAGE in str(failed.value), str(failed.value)

    notes = publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "three", SITE, generation=7))

    assert NEW_PAGE not in s3.objects(bucket), notes
    assert not make_host(s3.url, bucket, tmp_path / "m").local_copy.in_doubt()


# -- finding 4: another program's key under a/ ----------------------------------------------------------------------


def test_a_shared_buckets_own_page_under_a_is_left_and_counted_while_a_rotated_tokens_page_goes(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    old = "a/old-token-0123456789abcdef/index.html"
    customer = {**SITE, "a/index.html": b"<!doctype html>", TOKEN_PAGE: b"<p>For Acme</p>"}
    publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "one", {**customer, old: b"<p>old</p>"}))
    s3.client().put_object(Bucket=bucket, Key="a/docs/index.html", Body=b"<h1>the other team's docs</h1>")

    notes = publish(make_host(s3.url, bucket, tmp_path / "m"),
                    write_site(tmp_path / "two", {**customer, "index.html": b"<p>v2</p>"}, generation=6))

    assert "a/docs/index.html" in s3.objects(bucket), f"a key broadcaster never wrote (no mark) was deleted: {notes}"
    assert old not in s3.objects(bucket), f"the rotated token's page (marked) stays: {notes}"
    said = " ".join(notes)
    assert "no mark" in said and "1 under a/" in said and "docs" not in said, notes


# -- two publishers: pages put up by an attempt that met another publisher's manifest ---------------------------------


def test_pages_put_up_before_another_later_build_won_the_manifest_are_deleted_by_the_next_publish(
    s3: S3Server, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Our post's first round put the new page up; meanwhile another publisher wrote the manifest of a later build
    that withdrew it. Our publish plans again, is behind (deletes nothing, uploads nothing taken out). It is said,
    and (since review 31c) named unknown in the manifest this publish writes, so that the next publish there, this
    machine's or another's, deletes it; here this machine's does."""
    publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "one", SITE))
    host = make_host(s3.url, bucket, tmp_path / "m")
    write = host._write_manifest
    calls = itertools.count()

    def another_wins_first(*args: Any, **kwargs: Any) -> str:
        if next(calls) == 0:
            publish(make_host(s3.url, bucket, tmp_path / "other"), write_site(tmp_path / "later", SITE, generation=8))
        etag: str = write(*args, **kwargs)
        return etag

    monkeypatch.setattr(host, "_write_manifest", another_wins_first)
    # Built from the store before the later build's withdrawal (behind it, not a restore).
    notes = publish(host, write_site(tmp_path / "two", LATER, generation=6, latest=False))

    assert NEW_PAGE in s3.objects(bucket) and _manifest_files(s3, bucket).get(NEW_PAGE) == "", "named unknown"
    assert any(NEW_PAGE in note and "next publish" in note for note in notes), notes

    publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "three", SITE, generation=9))

    assert NEW_PAGE not in s3.objects(bucket)


def test_pages_put_up_by_a_publish_that_lost_the_manifest_every_time_are_in_doubt(
    s3: S3Server, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from broadcaster.site.hosts.s3 import _Conflict

    publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "one", SITE))
    host = make_host(s3.url, bucket, tmp_path / "m")

    def always_replaced(*args: Any, **kwargs: Any) -> str:
        raise _Conflict()

    monkeypatch.setattr(host, "_write_manifest", always_replaced)
    with pytest.raises(DeliveryError) as failed:
        publish(host, write_site(tmp_path / "two", LATER, generation=6))
    assert "replaced the manifest" in str(failed.value) and NEW_PAGE in str(failed.value), str(failed.value)
    assert NEW_PAGE in s3.objects(bucket), "set-up: the first round put it up"

    publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "three", SITE, generation=7))

    assert NEW_PAGE not in s3.objects(bucket)
