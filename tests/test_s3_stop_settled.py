"""Review of 0f7332c: checks that held (these pass). A stopped publish whose manifest write landed late keeps the
pages it names; the same host object publishes again after a stopped publish and settles what it left in doubt; a
`retry` after a stopped post settles the page in doubt with exit 0."""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path

from broadcaster.site.hosts._s3_manifest import MANIFEST_NAME
from tests.conftest import Project
from tests.fakes.s3 import S3Fault, S3Server
from tests.test_fix20_s3 import SITE, fresh_bucket, make_host, publish, s3_server, write_site  # noqa: F401 - fixtures
from tests.test_hosts_s3 import aws_environment  # noqa: F401 - autouse fixture
from tests.test_s3_foreign_files import BUCKET
from tests.test_s3_foreign_files import s3 as cli_s3  # noqa: F401 - pytest fixture
from tests.test_s3_stop_doubts import LATER, LIGHT_TIMEOUT, NEW_PAGE, _clear, _cut_when, _host, _named


def test_a_manifest_write_out_at_the_stop_that_landed_keeps_the_page_created_ahead(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "one", SITE))
    host = _host(s3, bucket, tmp_path / "m")
    _clear(s3)
    s3.fail(S3Fault(match=MANIFEST_NAME, method="GET", delay=0.6, times=1),  # pages created ahead
            S3Fault(match=MANIFEST_NAME, method="PUT", delay=LIGHT_TIMEOUT + 1.0, times=1))  # lands, answered late
    try:
        host.warm_up()
        s3.delayed.wait(5)
        s3.delayed.clear()  # the read's
        _cut_when(host, write_site(tmp_path / "two", LATER, generation=6), s3.delayed)
        give_up = time.monotonic() + 8
        while not _named(s3, bucket).get(NEW_PAGE) and time.monotonic() < give_up:
            time.sleep(0.1)
    finally:
        _clear(s3)
    assert any(r.path.endswith(NEW_PAGE) and "if-none-match" in r.headers for r in s3.received("PUT")), \
        "set-up: created ahead"
    assert _named(s3, bucket).get(NEW_PAGE), "set-up: the manifest landed"
    assert NEW_PAGE in s3.objects(bucket), "a page the landed manifest names was taken back"
    assert NEW_PAGE in make_host(s3.url, bucket, tmp_path / "m").local_copy.in_doubt()

    publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "three", LATER, generation=6))
    assert NEW_PAGE in s3.objects(bucket) and _named(s3, bucket).get(NEW_PAGE)
    assert not make_host(s3.url, bucket, tmp_path / "m").local_copy.in_doubt()

    publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "four", SITE, generation=7))
    assert NEW_PAGE not in s3.objects(bucket)


def test_the_same_host_publishes_again_after_a_stopped_publish(s3: S3Server, bucket: str, tmp_path: Path) -> None:
    publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "one", SITE))
    host = _host(s3, bucket, tmp_path / "m")
    _clear(s3)
    s3.fail(S3Fault(match=MANIFEST_NAME, method="PUT", hold=LIGHT_TIMEOUT + 1.0, times=1))
    try:
        host.warm_up()
        _cut_when(host, write_site(tmp_path / "two", LATER, generation=6), s3.held)
    finally:
        _clear(s3)
    assert not host._stopped(), "the stopped publish's stop outlived its thread (review 23: it refused a check)"
    assert NEW_PAGE in host.local_copy.in_doubt()
    host.warm_up()
    notes = publish(host, write_site(tmp_path / "three", LATER, generation=6))
    assert _named(s3, bucket).get(NEW_PAGE), notes
    assert not host.local_copy.in_doubt()
    assert not host._stopped()


def test_retry_after_a_stopped_post_settles_the_page_in_doubt(project: Project, cli_s3: S3Server) -> None:  # noqa: F811
    project.write_config(textwrap.dedent("""
        [engine]
        timeout = 2
        deadline = 4
        max_attempts = 2
    """) + cli_s3.publish_toml(BUCKET))
    assert project.cli("post", "--yes", "--title", "Database errors", "-C", "db", "Looking into it.").exit_code == 0
    cli_s3.fail(S3Fault(match=MANIFEST_NAME, hold=8.0, times=50, method="PUT"))
    posted = project.cli("post", "--yes", "--json", "--title", "Wrong customer named", "Acme's circuits.")
    _clear(cli_s3)
    assert posted.exit_code == 3, posted.output
    incident = json.loads(posted.stdout)["incident_id"]
    page = f"incidents/{incident}.html"
    assert list((project.root / ".broadcaster").glob("*.in-doubt.json")), "set-up: in doubt"

    retried = project.cli("retry", incident)

    assert retried.exit_code == 0, retried.output
    assert json.loads(cli_s3.body(BUCKET, MANIFEST_NAME))["files"].get(page), retried.output
    assert not list((project.root / ".broadcaster").glob("*.in-doubt.json"))
