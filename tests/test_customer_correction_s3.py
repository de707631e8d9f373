"""A correction of one customer's detail alone (`amend --for acme`) changes nothing public in the bucket: not a byte,
not a Last-Modified, not the manifest (a review found a first fix that rebuilt the site for it)."""

from __future__ import annotations

import json
import time

import pytest

from tests.conftest import Project
from tests.fakes.s3 import S3Server
from tests.test_s3_foreign_files import AUDIENCE, BUCKET, TOKEN, s3  # noqa: F401


def _public(server: S3Server) -> dict[str, tuple[bytes, object, object]]:
    out = {}
    for key, head in server.objects(BUCKET).items():
        if not key.startswith("a/"):
            out[key] = (server.body(BUCKET, key), head.get("ETag"), head.get("LastModified"))
    return out


@pytest.mark.parametrize(("status", "text"), [("investigating", "Errors on the API."),
                                             ("resolved", "Errors on the API, fixed.")], ids=["open", "resolved"])
def test_a_customer_only_correction_changes_nothing_public_in_the_bucket(
        project: Project, s3: S3Server, status: str, text: str) -> None:  # noqa: F811
    project.env["ACME_FEED_TOKEN"] = TOKEN
    project.write_config(AUDIENCE + s3.publish_toml(BUCKET))
    result = project.cli("post", "--yes", "--json", "--title", "API errors", "-C", "api", "-s", status,
                         "--for", "acme", "Your circuit ACME-OLD-1 is down.", text)
    assert result.exit_code == 0, result.output
    incident = json.loads(result.stdout)["incident_id"]
    assert b"ACME-OLD-1" in s3.body(BUCKET, f"a/{TOKEN}/index.html")
    before = _public(s3)
    time.sleep(1.1)  # Last-Modified has a resolution of one second
    amended = project.cli("amend", "--yes", incident, "1", text, "--for", "acme", "Your circuit ACME-NEW-2 is down.")
    assert amended.exit_code == 0, amended.output
    after = _public(s3)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    assert changed == [], f"public objects rewritten for a customer-only correction: {changed}"
