"""Files in a bucket that broadcaster did not write are never replaced nor deleted (a hostile review's findings;
each test failed before its fix), through the real CLI against moto's server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Project
from tests.fakes.s3 import PUBLISH_ENV, S3Server

BUCKET = "acme-www"
TOKEN = "acme-feed-token-0123456789abcdef"
AUDIENCE = """
[audiences.acme]
name = "Acme Corp"
components = ["api"]
feed_token = "${ACME_FEED_TOKEN}"
"""


def post(project: Project, *args: str) -> tuple[int, dict[str, Any]]:
    result = project.cli("post", "--yes", "--json", "--title", "API errors", *args, "Elevated errors.")
    return result.exit_code, (json.loads(result.stdout) if result.stdout.startswith("{") else {"output": result.output})


@pytest.fixture
def s3(project: Project) -> Iterator[S3Server]:
    with S3Server() as server:
        server.create_bucket(BUCKET)
        project.env.update(PUBLISH_ENV)
        yield server


def test_a_bucket_serving_another_website_is_not_overwritten(project: Project, s3: S3Server) -> None:
    """The directory target refuses a folder holding files broadcaster did not write, and the git target
    a branch holding another project; the S3 target overwrote the company's own index.html in place."""
    client = s3.client()
    client.put_object(Bucket=BUCKET, Key="index.html", Body=b"<h1>Acme marketing home</h1>")
    client.put_object(Bucket=BUCKET, Key="about.html", Body=b"<h1>About Acme</h1>")
    project.write_config(s3.publish_toml(BUCKET))

    code, payload = post(project)

    assert s3.body(BUCKET, "index.html") == b"<h1>Acme marketing home</h1>", (
        "a file broadcaster did not write was replaced; expected a refusal like the directory and git targets")
    [site] = [d for d in payload["deliveries"] if d["destination"] == "bucket"]
    assert code == 3 and site["state"] == "failed" and "did not publish (index.html)" in site["error"], payload
    assert "prefix" in site["error"] and set(s3.objects(BUCKET)) == {"index.html", "about.html"}


def test_a_prefix_of_its_own_in_that_bucket_publishes(project: Project, s3: S3Server) -> None:
    s3.client().put_object(Bucket=BUCKET, Key="index.html", Body=b"<h1>Acme marketing home</h1>")
    project.write_config(s3.publish_toml(BUCKET).replace("[publish.bucket]", '[publish.bucket]\nprefix = "status/"'))
    code, payload = post(project)
    assert code == 0, payload
    assert s3.body(BUCKET, "index.html") == b"<h1>Acme marketing home</h1>" and "status/index.html" in s3.objects(BUCKET)


def test_objects_under_a_that_broadcaster_did_not_write_are_not_deleted(project: Project, s3: S3Server) -> None:
    """With a customer page the bucket's whole a/ is listed and every key there that is not this
    build's page is deleted: objects another tool put under a/ (a shared bucket) are destroyed."""
    client = s3.client()
    client.put_object(Bucket=BUCKET, Key="a/logo.png", Body=b"\x89PNG someone else's image")
    client.put_object(Bucket=BUCKET, Key="a/b/c.css", Body=b"body{}")
    project.env["ACME_FEED_TOKEN"] = TOKEN
    project.write_config(AUDIENCE + s3.publish_toml(BUCKET))

    code, payload = post(project, "-C", "api")

    keys = set(s3.objects(BUCKET))
    assert f"a/{TOKEN}/index.html" in keys or code != 0, payload
    assert {"a/logo.png", "a/b/c.css"} <= keys, f"objects broadcaster never wrote were deleted: {sorted(keys)}"



@pytest.mark.parametrize("failing", [("/api/v2/",), ("/api/v2/", ".broadcaster-manifest.json")],
                         ids=["the-api-files", "the-api-files-and-the-manifest"])
def test_a_first_publish_that_failed_part_way_is_finished_by_the_next(
        project: Project, s3: S3Server, failing: tuple[str, ...]) -> None:
    """A review: the half of a first publish that went up (index.html, the feeds) was then taken for another
    website's files, and `retry` refused it for good. A first publish now names the place first."""
    from tests.fakes.s3 import S3Fault

    project.write_config(s3.publish_toml(BUCKET))
    faults = [S3Fault(match=m, status=500, code="InternalError", times=1000, method="PUT") for m in failing]
    s3.fail(*faults)
    code, _ = post(project)
    assert code == 3
    for fault in faults:
        fault.times = 0  # the endpoint is well again

    retried = project.cli("retry", "--json")
    assert retried.exit_code == 0, retried.output
    assert json.loads(s3.body(BUCKET, "api/v2/summary.json")) and ".broadcaster-manifest.json" in s3.objects(BUCKET)
