"""What a bucket's manifest tells its readers. It sits beside the site, as readable as the page: the store's id,
its generation (every delivery it recorded) and each page's record version (its last sequence and time) told a
reader that an update was kept to staff or to a customer, and when. They are sealed with the store's id now."""

from __future__ import annotations

import json
import re
from typing import Any

from broadcaster.site.hosts._s3_manifest import Remote
from broadcaster.site.hosts._sealed import seal, store_digest, unseal
from broadcaster.store import open_store
from tests.conftest import Project
from tests.fakes.s3 import S3Server
from tests.test_delivery_states import BUCKET, s3  # noqa: F401 - s3: the fixture (the world's channels and a bucket)


def posted(project: Project, *args: str) -> dict[str, Any]:
    result = project.cli("post", "--yes", "--json", *args)
    assert result.stdout, result.output
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def store_state(project: Project) -> tuple[str, int]:
    store = open_store(project.root / ".broadcaster" / "state.db")
    try:
        return store.site_generation()
    finally:
        store.close()


def test_a_staff_only_follow_up_leaves_no_trace_a_reader_of_the_bucket_can_read(
        project: Project, s3: S3Server) -> None:  # noqa: F811
    incident = str(posted(project, "--title", "API errors", "-C", "api", "Elevated errors.")["incident_id"])
    staff = posted(project, "-i", incident, "--only", "tg-ops", "Staff only: router fra-2 is flapping.")
    assert {d["destination"] for d in staff["deliveries"] if d["state"] == "sent"} == {"tg-ops"}, staff
    assert project.cli("site", "publish").exit_code == 0

    store_id, generation = store_state(project)
    manifest = json.loads(s3.body(BUCKET, ".broadcaster-manifest.json"))
    readable = json.dumps({k: v for k, v in manifest.items() if k != "sealed"})
    # Before: "versions": {"incidents/<id>.html": "2-<time>"} (two updates; the page shows one), "generation": 14
    # (deliveries of staff and customers counted), "store": the id that keys the seal.
    assert "versions" not in manifest and "generation" not in manifest, manifest
    assert store_id not in json.dumps(manifest) and not re.search(rf"\b{generation}\b", readable), manifest
    assert manifest["store"] == store_digest(store_id)
    # The store's own publishers (another machine of a team) read them back.
    opened = Remote.of_bytes(json.dumps(manifest).encode(), "etag").opened(store_id)
    assert opened.generation == generation and opened.versions[f"incidents/{incident}.html"].startswith("2-")
    assert opened.store == store_id
    assert Remote.of_bytes(json.dumps(manifest).encode(), "etag").opened("another-store").versions == {}


def test_a_seal_opens_only_with_its_store_and_its_length_tells_nothing() -> None:
    small, large = seal("store-a", {"generation": f"{7:020d}"}), seal("store-a", {"generation": f"{10**19:020d}"})
    assert len(small) == len(large) and small != seal("store-a", {"generation": f"{7:020d}"})  # a fresh nonce
    assert unseal("store-a", small) == {"generation": f"{7:020d}"}
    assert unseal("store-b", small) is None and unseal("store-a", "not a seal") is None and unseal("", small) is None


def test_a_manifest_written_by_an_earlier_version_is_read_as_before() -> None:
    plain = {"version": 1, "files": {"index.html": "h1"}, "versions": {"incidents/a.html": "3-t"},
             "store": "s1", "generation": 9, "customer_pages": False}
    remote = Remote.of_bytes(json.dumps(plain).encode(), "etag").opened("s1")
    assert (remote.store, remote.generation, remote.versions) == ("s1", 9, {"incidents/a.html": "3-t"})


def test_versions_or_generation_alone_do_not_rewrite_the_manifest() -> None:
    before = Remote({"index.html": "h1"}, {"incidents/a.html": "1-t1"}, "s1", 5, etag="e1")
    after = Remote({"index.html": "h1"}, {"incidents/a.html": "2-t2"}, "s1", 9)
    assert after.shows_the_same(before)
    assert not Remote({"index.html": "h2"}, {}, "s1", 9).shows_the_same(before)


OLD_STORE_ID = "5f0c0ffee5f0c0ffee5f0c0ffee5f0c0"  # the id versions before the seal made, and published in the clear


def as_an_earlier_version_left_it(project: Project, s3: S3Server) -> None:  # noqa: F811
    """The bucket's manifest (and this machine's copy) as versions before the seal wrote it: store id, versions and
    generation in the clear; and that id in the store's meta, where those versions kept it."""
    import sqlite3

    with sqlite3.connect(project.root / ".broadcaster" / "state.db") as db:
        db.execute("INSERT INTO meta(key, value) VALUES ('store_id', ?)", (OLD_STORE_ID,))
    key, _ = store_state(project)
    plain = json.loads(Remote.of_bytes(s3.body(BUCKET, ".broadcaster-manifest.json"), None).opened(key)
                       .document(sealed=False))
    plain["store"] = OLD_STORE_ID
    put = s3.client().put_object(Bucket=BUCKET, Key=".broadcaster-manifest.json",
                                 Body=json.dumps(plain, sort_keys=True).encode(), ContentType="application/json")
    for copy in (project.root / ".broadcaster").glob("*.json"):
        saved = json.loads(copy.read_text())
        if isinstance(saved, dict) and "manifest" in saved and "etag" in saved:
            copy.write_text(json.dumps({**saved, "etag": put["ETag"], "manifest": plain}, sort_keys=True))


def test_an_upgrade_reseals_the_plain_manifest_and_its_seal_never_opens_with_the_id_once_published(
        project: Project, s3: S3Server) -> None:  # noqa: F811
    """A review: the first seals were keyed by the store's id, which earlier versions published in every manifest and
    pages commit (a crawler's copy opens them); and a publish that changed no file left the plain manifest up."""
    incident = str(posted(project, "--title", "API errors", "-C", "api", "Elevated errors.")["incident_id"])
    assert project.cli("site", "publish").exit_code == 0
    as_an_earlier_version_left_it(project, s3)

    assert project.cli("site", "publish").exit_code == 0  # no page changed
    manifest = json.loads(s3.body(BUCKET, ".broadcaster-manifest.json"))
    assert "generation" not in manifest and "versions" not in manifest and OLD_STORE_ID not in json.dumps(manifest)
    posted(project, "-i", incident, "--only", "tg-ops", "Staff only: router fra-2 is flapping.")
    posted(project, "-i", incident, "-C", "api", "A fix is rolling out.")
    manifest = json.loads(s3.body(BUCKET, ".broadcaster-manifest.json"))
    assert unseal(OLD_STORE_ID, manifest["sealed"]) is None and store_digest(OLD_STORE_ID) != manifest["store"]
