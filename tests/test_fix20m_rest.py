"""Fixes of review 20m's findings 4, 5 and 6 (each fix's test failed before it).

4. Directory: a marker 65d2534 wrote (a ``folder:`` line, the hash of id and inode, no ``files:`` line) is trusted by
   the old rule only in the folder its line names; copied (cp -a) into a web root, that root's own pages are kept.
   A marker older still (no folder line) keeps the old rule.
5. S3: over a lost manifest, an unmarked key the build lacks fails the publish (exit 3, ``list_again``) only under
   incidents/, components/ or a/ (pages readers were sent to that broadcaster takes back); another site-shaped key
   (a shared bucket's api/v2/users.json, badges/coverage.svg) is left, named in a note, exit 0.
6. Config: brackets in an authority are "plain" only around an IPv6 literal that is the whole host.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from broadcaster.errors import ConfigError, DeliveryError
from broadcaster.site.folder import MARKER
from broadcaster.site.hosts._s3_manifest import MANIFEST_NAME
from tests.conftest import Project
from tests.fakes.s3 import S3Server
from tests.test_fix20_s3 import SITE, fresh_bucket, make_host, publish, s3_server, write_site  # noqa: F401 - fixtures
from tests.test_hosts_s3 import aws_environment  # noqa: F401 - autouse fixture: never the machine's ~/.aws

OWN = "<h1>Database outage, 1 May 2023</h1>"
OLD_PAGE = "incidents/2023-05-01-database-outage.html"


# -- 4. directory: an old marker's folder line ------------------------------------------------------------------


def _directory(project: Project, path: str) -> None:
    project.write_config(f'\n[publish.www]\ntype = "directory"\npath = "{path}"\n')


def _as_an_older_version_wrote_it(www: Path, *, folder_line: bool) -> None:
    """No files: line; with folder_line, 65d2534's folder line: sha256(id:inode)[:16] of the folder it is in."""
    marker = (www / MARKER).read_bytes()
    record = next(x for x in marker.splitlines() if x.startswith(b"publish: "))
    target_id = json.loads(record[len(b"publish: "):])["id"]
    old_mark = hashlib.sha256(f"{target_id}:{os.stat(www).st_ino}".encode()).hexdigest()[:16]
    kept = [x for x in marker.splitlines(True) if not x.startswith((b"folder: ", b"files: "))]
    head, tail = kept[:-1], kept[-1:]
    folder = [b"folder: " + old_mark.encode() + b"\n"] if folder_line else []
    (www / MARKER).write_bytes(b"".join([*head, *folder, *tail]))


def test_an_old_marker_copied_into_a_web_root_keeps_the_web_roots_own_page(project: Project) -> None:
    _directory(project, "www")
    www = project.root / "www"
    assert project.cli("post", "--yes", "-t", "Posted in error", "Wrong text.").exit_code == 0
    _as_an_older_version_wrote_it(www, folder_line=True)
    webroot = project.root / "webroot"
    (webroot / "incidents").mkdir(parents=True)
    (webroot / OLD_PAGE).write_text(OWN, encoding="utf-8")
    subprocess.run(["cp", "-a", f"{www}/.", str(webroot)], check=True)
    _directory(project, "webroot")

    result = project.cli("post", "--yes", "-t", "Database errors", "Looking into it.")

    assert (webroot / OLD_PAGE).read_text(encoding="utf-8") == OWN, "the web root's own page was deleted"
    assert result.exit_code == 3 and "records no list of the files" in result.output, result.output


@pytest.mark.parametrize("folder_line", [True, False], ids=["65d2534-marker-in-place", "marker-with-no-folder-line"])
def test_an_old_marker_in_its_own_folder_still_hands_over_its_older_files(project: Project, folder_line: bool) -> None:
    """The upgrade path caafdbe kept: the target's own older file (no digest names it) is replaced, exit 0."""
    _directory(project, "www")
    www = project.root / "www"
    assert project.cli("post", "--yes", "-t", "Posted in error", "Wrong text.").exit_code == 0
    _as_an_older_version_wrote_it(www, folder_line=folder_line)
    # A marker with no folder line names nothing of its folder, so it hands over only paths this store published
    # (review 21i finding 2: a cp -r copy is as new as the folder's own files), here the previous release's stylesheet.
    older = OLD_PAGE if folder_line else "style.0a1b2c3d.css"
    (www / older).write_text("<p>a file an older build published</p>", encoding="utf-8")

    result = project.cli("post", "--yes", "-t", "Database errors", "Looking into it.")

    assert result.exit_code == 0, result.output
    assert not (www / older).exists()
    assert b"files: " in (www / MARKER).read_bytes()


# -- 5. S3: which unmarked keys fail a publish over a lost manifest --------------------------------------------


@pytest.mark.parametrize("key", ["api/v2/users.json", "badges/coverage.svg"])
def test_a_shared_buckets_unmarked_file_is_named_and_never_fails_the_publish(
    s3: S3Server, bucket: str, tmp_path: Path, key: str
) -> None:
    publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "one", SITE))
    s3.client().put_object(Bucket=bucket, Key=key, Body=b"the other team's")
    s3.client().delete_object(Bucket=bucket, Key=MANIFEST_NAME)
    for n in (2, 3):
        later = {**SITE, "index.html": f"<p>v{n}</p>".encode()}
        publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / f"v{n}", later, generation=n + 4))
        assert s3.body(bucket, "index.html") == f"<p>v{n}</p>".encode()
        assert "list_again" not in json.loads(s3.body(bucket, MANIFEST_NAME))
    assert s3.body(bucket, key) == b"the other team's"


def test_the_note_names_the_shared_buckets_file(s3: S3Server, bucket: str, tmp_path: Path) -> None:
    publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "one", SITE))
    s3.client().put_object(Bucket=bucket, Key="api/v2/users.json", Body=b'{"users": []}')
    s3.client().delete_object(Bucket=bucket, Key=MANIFEST_NAME)
    notes = " ".join(publish(make_host(s3.url, bucket, tmp_path / "m"),
                             write_site(tmp_path / "two", {**SITE, "index.html": b"<p>v2</p>"}, generation=6)))
    assert "api/v2/users.json" in notes and "not deleted" in notes and "prefix" in notes, notes


@pytest.mark.parametrize("key", ["incidents/2023-05-01-outage.html", "components/db/feed.xml",
                                 "a/tok-0123456789abcdef/index.html"])
def test_an_unmarked_page_readers_may_have_been_sent_to_still_fails_the_publish(
    s3: S3Server, bucket: str, tmp_path: Path, key: str
) -> None:
    publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "one", SITE))
    s3.client().put_object(Bucket=bucket, Key=key, Body=b"<p>from before the mark</p>")
    s3.client().delete_object(Bucket=bucket, Key=MANIFEST_NAME)
    later = {**SITE, "index.html": b"<p>v2</p>"}
    with pytest.raises(DeliveryError) as failed:
        publish(make_host(s3.url, bucket, tmp_path / "m"), write_site(tmp_path / "two", later, generation=6))
    assert not failed.value.retryable and "by hand" in str(failed.value)
    assert json.loads(s3.body(bucket, MANIFEST_NAME)).get("list_again") is True


# -- 6. config: brackets only around a whole IPv6 host ------------------------------------------------------------

SLACK = {"type": "slack", "token": "${TK}", "channel": "C0123ABCD"}


def _parse(url: str) -> Any:
    from broadcaster.config_loader import parse

    return parse({"channels": {"ops": {**SLACK, "api_url": url}}}, Path("/nonexistent/broadcaster.toml"),
                 {"TK": "xoxb-f20m"})


@pytest.mark.parametrize("url", ["http://192.0.2.10[::1]/", "http://[::1]192.0.2.10/", "http://[::1]]/",
                                 "http://u@192.0.2.10[::1]:80/"])
def test_a_bracket_outside_a_whole_ipv6_host_is_refused(url: str) -> None:
    with pytest.raises(ConfigError):
        _parse(url)


@pytest.mark.parametrize("url", ["http://[::1]/", "http://[::1]:8080/x", "http://user:pw@[::1]:8080/"])
def test_a_loopback_ipv6_literal_still_loads(url: str) -> None:
    _parse(url)
