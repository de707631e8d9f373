"""Fixes of review 20c's S3 findings 1, 2, 3, 4 and 7 (each test failed before its fix), against moto's S3 server.

1. A withdrawal published over a lost or unreadable manifest still deletes the withdrawn page (and never a key
   broadcaster does not write).
2. A build that is behind never puts back a page the bucket's later build took out; one endpoint spelt two ways is
   one place (one lock, one record).
3. With customers' pages, a publish that changes no public file writes nothing public, not even the manifest.
4. A publish refused after it created new pages ahead deletes them again, or says it could not.
7. Only the builder's own top-level assets are cached for a year and never deleted.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from broadcaster.config import ChannelConfig, Secret
from broadcaster.errors import DeliveryError
from broadcaster.site.hosts import BuiltSite
from broadcaster.site.hosts._s3_manifest import MANIFEST_NAME, MANIFEST_VERSION, Plan, Remote
from broadcaster.site.hosts.s3 import S3Host, cache_control
from tests.conftest import Project
from tests.fakes.s3 import S3Fault, S3Server
from tests.test_hosts_s3 import aws_environment  # noqa: F401 - autouse pytest fixture: never the machine's ~/.aws
from tests.test_s3_foreign_files import AUDIENCE, BUCKET, TOKEN
from tests.test_s3_foreign_files import s3 as cli_s3  # noqa: F401 - pytest fixture

OLD_TOKEN, NEW_TOKEN = "a/old-token-0123456789abcdef/", "a/new-token-fedcba9876543210/"
SITE = {
    "index.html": b"<!doctype html><title>Status</title>",
    "incidents/inc-1.html": b"<!doctype html><title>Incident 1</title>",
    "style.0123abcd.css": b"body { color: #111 }",
    "feed.xml": b"<?xml version='1.0'?><rss version='2.0'/>",
    "api/v2/summary.json": b'{"status": "ok"}',  # the signature of a site broadcaster built
}
WITHDRAWN = "incidents/withdrawn.html"
# Keys broadcaster never writes, under the prefix and beside it: never deleted, whatever the manifest says.
FOREIGN = ("status/notes/readme.txt", "status/other.html", "status/incidents/keep.txt", "status/a/x/notes.txt",
           "elsewhere/index.html")
_numbers = itertools.count()


def write_site(root: Path, files: dict[str, bytes], generation: int = 5, latest: bool = True) -> BuiltSite:
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    return BuiltSite(root=root, hashes={p: hashlib.sha256(d).hexdigest() for p, d in files.items()},
                     store="one-store", generation=generation, latest=latest)


def make_host(endpoint: str, bucket: str, base_dir: Path, **options: object) -> S3Host:
    config = ChannelConfig("bucket", "s3", options={"bucket": bucket, "endpoint_url": endpoint,
                                                     "region": "us-east-1", **options})
    return S3Host(config, base_dir)


def publish(host: S3Host, site: BuiltSite) -> tuple[str, ...]:
    return asyncio.run(host.publish(site)).notes


@pytest.fixture(scope="module", name="s3")
def s3_server() -> Iterator[S3Server]:
    """One S3 server a test module (the other review-20 S3 test files import it)."""
    with S3Server() as server:
        yield server


@pytest.fixture(name="bucket")
def fresh_bucket(s3: S3Server) -> str:
    name = f"fix20-{next(_numbers)}"
    s3.create_bucket(name)
    s3.clear()
    return name


def damage_manifest(s3: S3Server, bucket: str, key: str, damage: str) -> None:
    client = s3.client()
    body = s3.body(bucket, key)
    if damage == "corrupted":
        client.put_object(Bucket=bucket, Key=key, Body=body[: len(body) // 2])
    elif damage == "other-version":
        version = f'"version": {MANIFEST_VERSION}'.encode()
        assert version in body, "set-up: the manifest holds no version to damage"
        client.put_object(Bucket=bucket, Key=key, Body=body.replace(version, b'"version": 99'))
    else:
        client.delete_object(Bucket=bucket, Key=key)


# -- 1. no usable manifest ---------------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["corrupted", "other-version", "deleted"])
@pytest.mark.parametrize("machine", ["this", "another"])
def test_a_withdrawal_over_a_lost_or_unreadable_manifest_deletes_the_sites_files_it_lacks_and_nothing_else(
    s3: S3Server, bucket: str, tmp_path: Path, damage: str, machine: str
) -> None:
    """``this``: the machine that wrote the manifest (its local copy no longer the bucket's: the write fails and it
    reads again); ``another``: a machine that never published there. The withdrawn page and a rotated token's page
    go; every key that is not in a site's shape stays."""
    client = s3.client()
    for key in FOREIGN:
        client.put_object(Bucket=bucket, Key=key, Body=b"not broadcaster's")
    first = {**SITE, WITHDRAWN: b"<p>posted in error: customer names</p>", OLD_TOKEN + "index.html": b"<p>acme</p>"}
    publish(make_host(s3.url, bucket, tmp_path / "this", prefix="status"), write_site(tmp_path / "one", first))
    assert "status/" + WITHDRAWN in s3.objects(bucket)
    damage_manifest(s3, bucket, "status/" + MANIFEST_NAME, damage)

    later = {**SITE, NEW_TOKEN + "index.html": b"<p>acme, new token</p>"}
    notes = publish(make_host(s3.url, bucket, tmp_path / machine, prefix="status"),
                    write_site(tmp_path / "two", later, generation=9))

    held = set(s3.objects(bucket))
    assert "status/" + WITHDRAWN not in held, notes
    assert "status/" + OLD_TOKEN + "index.html" not in held, notes
    assert set(FOREIGN) <= held, "a key broadcaster does not write was deleted"
    assert {"status/" + p for p in later} <= held
    manifest = json.loads(s3.body(bucket, "status/" + MANIFEST_NAME))
    # The pages just deleted stay named, hash unknown, until the next publish (``Plan.while_deleting``).
    assert manifest["version"] == MANIFEST_VERSION and {p for p, h in manifest["files"].items() if h} == set(SITE), manifest
    assert "token" not in json.dumps(manifest)


def test_a_manifest_unreadable_where_the_site_cannot_be_listed_is_refused_with_what_to_do(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    """Credentials that may not list the bucket: nothing is uploaded over an unreadable manifest (a publish that
    could not list the site would leave the withdrawn page up), and the error says which permission it needs."""
    publish(make_host(s3.url, bucket, tmp_path), write_site(tmp_path / "one", {**SITE, WITHDRAWN: b"<p>x</p>"}))
    damage_manifest(s3, bucket, MANIFEST_NAME, "corrupted")
    key_id, secret = s3.create_user(f"no-list-{bucket}", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"])
    host = make_host(s3.url, bucket, tmp_path / "other", access_key_id=Secret("K", key_id),
                     secret_access_key=Secret("S", secret))
    s3.clear()
    s3.enable_auth()
    try:
        with pytest.raises(DeliveryError) as refused:
            publish(host, write_site(tmp_path / "two", SITE, generation=9))
    finally:
        s3.disable_auth()

    assert "could not list the site's files" in str(refused.value) and "s3:ListBucket" in str(refused.value)
    assert not refused.value.retryable and s3.received("PUT") == []
    assert WITHDRAWN in s3.objects(bucket)  # left for a publish with the permission: nothing names it gone


def test_a_withdrawal_over_a_lost_manifest_through_the_cli_takes_the_page_out(
    project: Project, cli_s3: S3Server  # noqa: F811
) -> None:
    project.write_config(cli_s3.publish_toml(BUCKET))
    posted = project.cli("post", "--yes", "--json", "--title", "Wrong customer named", "Acme's outage.")
    assert posted.exit_code == 0, posted.output
    incident = json.loads(posted.stdout)["incident_id"]
    page = f"incidents/{incident}.html"
    assert page in cli_s3.objects(BUCKET)
    cli_s3.client().delete_object(Bucket=BUCKET, Key=MANIFEST_NAME)

    withdrawn = project.cli("withdraw", "--yes", incident)

    assert withdrawn.exit_code == 0, withdrawn.output
    assert page not in cli_s3.objects(BUCKET), withdrawn.output


# -- 2. a build that is behind; one place however it is spelt ---------------------------------------------


def test_a_build_that_is_behind_never_puts_back_what_the_later_build_took_out(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    before = {**SITE, WITHDRAWN: b"<p>posted in error</p>", OLD_TOKEN + "index.html": b"<p>acme</p>",
              "badges/db.svg": b"<svg/>"}
    publish(make_host(s3.url, bucket, tmp_path / "b"), write_site(tmp_path / "one", before, generation=5))
    # B, at generation 9: the incident withdrawn, the customer's token rotated, the component removed.
    publish(make_host(s3.url, bucket, tmp_path / "b"),
            write_site(tmp_path / "two", {**SITE, NEW_TOKEN + "index.html": b"<p>acme</p>"}, generation=9))
    s3.clear()

    # A built at generation 6, before all that, and publishes after B.
    notes = publish(make_host(s3.url, bucket, tmp_path / "a"),
                    write_site(tmp_path / "three", {**before, "index.html": b"<p>older</p>"}, generation=6,
                               latest=False))

    held = set(s3.objects(bucket))
    assert not {WITHDRAWN, OLD_TOKEN + "index.html", "badges/db.svg"} & held, notes
    assert s3.body(bucket, "index.html") == SITE["index.html"]
    assert [r for r in s3.received("PUT") if not r.path.endswith(MANIFEST_NAME)] == []
    assert any(note.endswith("not uploaded: taken out of the site since this build read the store") for note in notes)


@pytest.mark.parametrize("spelt", ["{url}/", "{url}//", "HTTP://{host}", "http://{host}/"])
def test_one_endpoint_spelt_another_way_is_the_same_place(tmp_path: Path, spelt: str) -> None:
    url = "http://127.0.0.1:9000"
    one = make_host(url, "acme", tmp_path)
    other = make_host(spelt.format(url=url, host="127.0.0.1:9000"), "acme", tmp_path)
    assert other.place == one.place and other.publish_lock == one.publish_lock
    assert make_host("http://127.0.0.1:80/", "acme", tmp_path).place == make_host("http://127.0.0.1", "acme",
                                                                                   tmp_path).place
    assert make_host("http://127.0.0.1:9001", "acme", tmp_path).place != one.place
    assert make_host(url, "acme", tmp_path, prefix="status").place != one.place
    with_user = make_host("https://ops:S3cret-Pw@s3.example.com/", "acme", tmp_path)
    assert "S3cret-Pw" not in with_user.place and with_user.place == make_host("https://s3.example.com", "acme",
                                                                               tmp_path).place


# -- 3. customers' pages compared by content -----------------------------------------------------------------


def test_with_customers_a_publish_that_changes_nothing_public_writes_nothing_public(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    files = {**SITE, NEW_TOKEN + "index.html": b"<p>acme</p>", NEW_TOKEN + "feed.xml": b"<rss/>"}
    publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "one", files))
    manifest = s3.client().head_object(Bucket=bucket, Key=MANIFEST_NAME)["ETag"]
    s3.clear()

    # The same bytes after a staff-only change (a later generation).
    publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "two", files, generation=7))
    assert s3.received("PUT") == [] and s3.received("DELETE") == []

    # One customer's page alone changes: it goes up, and the public manifest stays as it was.
    changed = {**files, NEW_TOKEN + "index.html": b"<p>acme, corrected</p>"}
    publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "four", changed, generation=9))
    assert [r.path for r in s3.received("PUT")] == [f"/{bucket}/{NEW_TOKEN}index.html"]
    assert s3.client().head_object(Bucket=bucket, Key=MANIFEST_NAME)["ETag"] == manifest
    assert s3.body(bucket, NEW_TOKEN + "index.html") == b"<p>acme, corrected</p>"


def test_site_publish_again_with_a_customer_changes_nothing_public_through_the_cli(
    project: Project, cli_s3: S3Server  # noqa: F811
) -> None:
    project.env["ACME_FEED_TOKEN"] = TOKEN
    project.write_config(AUDIENCE + cli_s3.publish_toml(BUCKET))
    posted = project.cli("post", "--yes", "--title", "API errors", "-C", "api", "-s", "resolved", "Fixed.")
    assert posted.exit_code == 0, posted.output
    assert f"a/{TOKEN}/index.html" in cli_s3.objects(BUCKET)
    before = {k: (h["ETag"], h["LastModified"]) for k, h in cli_s3.objects(BUCKET).items()}
    time.sleep(1.1)  # Last-Modified has a resolution of one second
    cli_s3.clear()

    again = project.cli("site", "publish")

    assert again.exit_code == 0, again.output
    assert cli_s3.received("PUT") == [], [r.path for r in cli_s3.received("PUT")]
    assert {k: (h["ETag"], h["LastModified"]) for k, h in cli_s3.objects(BUCKET).items()} == before


# -- 4. pages created ahead of a publish that is refused -----------------------------------------------------


def _refused_after_creating_a_page(s3: S3Server, bucket: str, tmp_path: Path) -> tuple[DeliveryError, str]:
    """A stale copy of the store (generation 6, its local copy of the bucket's manifest at 5) publishes over the
    bucket where the store that moved on published generation 9: its new page is created while the read of the
    manifest is on its way, then the plan refuses."""
    publish(make_host(s3.url, bucket, tmp_path / "a"), write_site(tmp_path / "one", SITE))
    publish(make_host(s3.url, bucket, tmp_path / "b"),
            write_site(tmp_path / "two", {**SITE, "index.html": b"<p>later</p>"}, generation=9))
    page = "incidents/from-the-stale-copy.html"
    stale = write_site(tmp_path / "three", {**SITE, page: b"<p>new</p>"}, generation=6)
    s3.latency = 0.4
    try:
        host = make_host(s3.url, bucket, tmp_path / "a")
        host.warm_up()
        with pytest.raises(DeliveryError) as refused:
            publish(host, stale)
    finally:
        s3.latency = 0.0
    assert [r for r in s3.received("PUT") if r.path.endswith(page) and r.headers.get("if-none-match") == "*"]
    return refused.value, page


def test_a_refused_publish_deletes_the_page_it_created_ahead(s3: S3Server, bucket: str, tmp_path: Path) -> None:
    refused, page = _refused_after_creating_a_page(s3, bucket, tmp_path)
    assert "Nothing was published there" in str(refused) and not refused.retryable
    assert page not in s3.objects(bucket)


def test_a_refused_publish_that_cannot_delete_its_page_says_so(s3: S3Server, bucket: str, tmp_path: Path) -> None:
    # This bucket's only (left over, it touches no other test's), as often as boto3 would ask.
    s3.fail(S3Fault(match=f"/{bucket}/incidents/from-the-stale-copy", method="DELETE", status=403,
                    code="AccessDenied", times=S3Host.request_attempts))
    refused, page = _refused_after_creating_a_page(s3, bucket, tmp_path)
    message = str(refused)
    assert "Nothing was published there" not in message and "Nothing else was published there" in message
    assert f"delete {page} from the bucket" in message and "--replace-later" in message
    assert page in s3.objects(bucket)


# -- 7. fingerprinted assets --------------------------------------------------------------------------------


def test_a_components_badge_is_short_cached_and_deleted_once_the_component_is_gone(
    s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    badge = "badges/db.20260101.svg"
    assert cache_control(badge) == S3Host.short_cache
    assert cache_control("style.0123abcd.css") == S3Host.immutable_cache
    host = make_host(s3.url, bucket, tmp_path)
    publish(host, write_site(tmp_path / "one", {**SITE, badge: b"<svg>major outage</svg>"}))
    assert s3.objects(bucket)[badge]["CacheControl"] == S3Host.short_cache
    assert s3.objects(bucket)["style.0123abcd.css"]["CacheControl"] == S3Host.immutable_cache

    publish(host, write_site(tmp_path / "two", SITE, generation=6))

    assert badge not in s3.objects(bucket)
    assert "style.0123abcd.css" in s3.objects(bucket)
    site = BuiltSite(root=tmp_path, hashes={"index.html": "1"}, store="s", generation=2, latest=True)
    old_asset = Remote(files={"index.html": "1", "style.89abcdef.css": "2"}, store="s", generation=1, etag='"e"')
    assert Plan.of(site, old_asset).delete == []  # pages built elsewhere may still link to it
