"""Review of 0f7332c (a cancelled S3 publish starts no request after the stop): pages a stopped publish leaves in the
bucket that no manifest names and no in-doubt record names, so that the withdrawal published next leaves them public
for good. Driven on the host directly, cancelled the moment the fake takes the request of interest."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from pathlib import Path
from typing import Any

from broadcaster.site.hosts import BuiltSite
from broadcaster.site.hosts._s3_manifest import MANIFEST_NAME
from broadcaster.site.hosts.s3 import S3Host
from tests.fakes.s3 import S3Fault, S3Server
from tests.test_fix20_s3 import SITE, fresh_bucket, make_host, publish, s3_server, write_site  # noqa: F401 - fixtures
from tests.test_hosts_s3 import aws_environment  # noqa: F401 - autouse fixture: never the machine's ~/.aws

NEW_PAGE = "incidents/posted-in-error.html"
LATER = {**SITE, NEW_PAGE: b"<p>posted in error: acme's circuits</p>", "index.html": b"<p>index linking it</p>"}
LIGHT_TIMEOUT = 1.0  # the light client's socket timeout (S3Host.connect_timeout, 5 s), shortened for a quick test


def _clear(s3: S3Server) -> None:
    with s3._lock:
        s3._faults.clear()
    s3.held.clear()
    s3.delayed.clear()


def _named(s3: S3Server, bucket: str) -> dict[str, str]:
    files: dict[str, str] = json.loads(s3.body(bucket, MANIFEST_NAME))["files"]
    return files


def withdrawn_takes_it_down(s3: S3Server, bucket: str, tmp_path: Path) -> None:
    """No manifest names NEW_PAGE; the incident is withdrawn (the next publish's build lacks the page): it goes."""
    assert NEW_PAGE not in _named(s3, bucket), "set-up: no manifest names the page"
    recorded = make_host(s3.url, bucket, tmp_path / "m").local_copy.in_doubt()
    notes = publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "three", SITE, generation=7))
    assert NEW_PAGE not in set(s3.objects(bucket)), (
        f"withdrawn, the publish succeeded ({notes}), and the page is still public; in doubt was {sorted(recorded)}")



def _cut_when(host: S3Host, site: BuiltSite, taken: threading.Event) -> None:
    """Publish, and cancel the publish (as the command's deadline or Ctrl-C does) the moment ``taken`` is set."""
    async def run() -> None:
        task = asyncio.ensure_future(host.publish(site))
        while not taken.is_set() and not task.done():
            await asyncio.sleep(0.005)
        assert not task.done(), f"set-up: the publish ended before the cut: {task.exception() or task.result()}"
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(run())


def _wait_for_key(s3: S3Server, bucket: str, key: str, within: float = 8.0) -> None:
    give_up = time.monotonic() + within
    while key not in s3.objects(bucket):
        assert time.monotonic() < give_up, f"set-up: {key} never landed"
        time.sleep(0.1)


def _host(s3: S3Server, bucket: str, base: Path) -> S3Host:
    host = make_host(s3.url, bucket, base)
    host.connect_timeout = LIGHT_TIMEOUT  # type: ignore[misc]
    return host


def test_a_first_round_page_out_at_the_stop_that_landed_late_is_recorded_somewhere(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """The new incident's page goes up in the first round (not created ahead: the warm-up's read was already answered),
    and is out when the publish is cancelled; the bucket stores it but answers after the light client's timeout.
    Since 0f7332c ``_LightClient.put_object`` raises ``_Stopped`` there (before: boto3 sent it again, it succeeded,
    and the progress manifest or the in-doubt record named it). ``done.files`` never gets it, so ``unnamed`` in
    ``_publish_over``'s except clause cannot hold it: the page is public, in no manifest and no in-doubt record, and
    the withdrawal published next leaves it up."""
    publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "one", SITE))
    host = _host(s3, bucket, tmp_path / "m")
    host.warm_up()
    assert host._warm is not None
    host._warm.result()  # answered: nothing is created ahead, the page goes up in the first round
    _clear(s3)
    s3.fail(S3Fault(match=NEW_PAGE, method="PUT", delay=LIGHT_TIMEOUT + 1.5, times=1))
    try:
        _cut_when(host, write_site(tmp_path / "two", LATER, generation=6), s3.delayed)
        _wait_for_key(s3, bucket, NEW_PAGE)
    finally:
        _clear(s3)
    withdrawn_takes_it_down(s3, bucket, tmp_path)


def test_a_page_created_ahead_whose_create_failed_and_that_went_up_in_the_regular_round_is_recorded_somewhere(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """The create ahead (``If-None-Match: *``) is answered 500, so the page goes up with the other pages (the second
    ``_upload_round`` of ``_publish_over``, ``p in fresh.paths and p not in created``); the manifest's write is out at
    the stop and never lands. ``_save_progress`` is skipped (stopped); ``unnamed`` leaves out every path of
    ``fresh.paths``, for ``_take_back``, which looks only at ``fresh.created()`` (those the create put up): the page is
    in the bucket, in no manifest and in no in-doubt record."""
    publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "one", SITE))
    host = _host(s3, bucket, tmp_path / "m")
    made: list[Any] = []
    create = host._create_fresh_pages

    def spied(*args: Any) -> Any:
        made.append(fresh := create(*args))
        return fresh

    host._create_fresh_pages = spied  # type: ignore[method-assign,assignment]
    _clear(s3)
    s3.fail(S3Fault(match=MANIFEST_NAME, method="GET", delay=0.6, times=1),  # the warm-up's read: pages created ahead
            S3Fault(match=NEW_PAGE, method="PUT", status=500, code="InternalError", times=1),  # the create ahead
            S3Fault(match=MANIFEST_NAME, method="PUT", hold=LIGHT_TIMEOUT + 1.0, times=1))
    try:
        host.warm_up()
        _cut_when(host, write_site(tmp_path / "two", LATER, generation=6), s3.held)
    finally:
        _clear(s3)
    assert made and NEW_PAGE in made[0].paths, "set-up: the page was to be created ahead"
    assert NEW_PAGE in s3.objects(bucket), "set-up: the regular round put it up"
    withdrawn_takes_it_down(s3, bucket, tmp_path)


def test_a_create_ahead_out_at_the_stop_that_landed_late_is_recorded_somewhere(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """The create ahead is out when the publish is cancelled, and lands after the light client's timeout:
    ``create_object`` says False for any failure (a timeout as for a 412), so ``fresh.created()`` leaves it out,
    ``_take_back`` has no orphan to record, and the upload that would have put it in a manifest is stopped."""
    publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "one", SITE))
    host = _host(s3, bucket, tmp_path / "m")
    _clear(s3)
    s3.fail(S3Fault(match=MANIFEST_NAME, method="GET", hold=LIGHT_TIMEOUT + 0.5, times=1),  # the warm-up's read
            S3Fault(match=NEW_PAGE, method="PUT", delay=LIGHT_TIMEOUT + 1.5, times=1))  # the create ahead, landing late
    try:
        host.warm_up()
        _cut_when(host, write_site(tmp_path / "two", LATER, generation=6), s3.delayed)
        _wait_for_key(s3, bucket, NEW_PAGE)
    finally:
        _clear(s3)
    withdrawn_takes_it_down(s3, bucket, tmp_path)


TOKEN_PAGE = "a/tok-0123456789abcdef/index.html"


def test_a_customer_page_put_up_by_a_stopped_publish_is_taken_down_once_the_customer_is_removed(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """The first customer page goes up in the second round beside the manifest's write, which is out at the stop and
    never lands. Before 0f7332c the progress manifest (``_save_progress``) recorded ``customer_pages``, so the next
    publish listed a/ and deleted the page its build lacks; now nothing does (the in-doubt record never names a
    customer's page, by design), and the bucket's manifest still says the place has none: the customer removed (the
    page went to the wrong customer), the publish that follows never lists a/, and the page stays at its address."""
    publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "one", SITE))
    host = _host(s3, bucket, tmp_path / "m")
    _clear(s3)
    s3.fail(S3Fault(match=MANIFEST_NAME, method="PUT", hold=LIGHT_TIMEOUT + 1.0, times=1))
    with_customer = {**SITE, TOKEN_PAGE: b"<p>For Acme: your circuits</p>", "index.html": b"<p>index, again</p>"}
    try:
        host.warm_up()
        _cut_when(host, write_site(tmp_path / "two", with_customer, generation=6), s3.held)
    finally:
        _clear(s3)
    assert TOKEN_PAGE in s3.objects(bucket), "set-up: the customer's page went up"
    assert not json.loads(s3.body(bucket, MANIFEST_NAME)).get("customer_pages"), "set-up: the manifest never landed"

    notes = publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "three", SITE, generation=7))

    assert TOKEN_PAGE not in set(s3.objects(bucket)), (
        f"the customer was removed, the publish succeeded ({notes}), and their page is still served")
