"""Review of 0f7332c through the CLI: `[engine] deadline` bounds the command where boto3 sends the requests (no light
client: a region from the AWS config file, a role or a profile), and on the retry after a stopped publish, which
reads the manifest through boto3: botocore's second attempt left after the stop (24 s and 29 s against 15 and 19).
Each request and each attempt is now refused once the publish is cancelled (a ``before-send`` handler)."""

from __future__ import annotations

import json
import sqlite3
import textwrap
import time

import pytest

from tests.conftest import Project
from tests.fakes.s3 import S3Fault, S3Server
from tests.test_s3_foreign_files import (
    BUCKET,
    s3,  # noqa: F401 - pytest fixture
)

HELD = 12.0  # each stalled request is dropped unanswered after this long: past the deadline, within boto3's 15 s


def _configure(project: Project, s3: S3Server, deadline: float, *, light: bool = True) -> None:  # noqa: F811
    publish = s3.publish_toml(BUCKET)
    if not light:
        # The region where most AWS set-ups keep it, in the AWS config file: the light client needs a region it
        # knows (``_find_light_access``), so boto3 sends every request, as it does with a profile or a role.
        assert 'region = "us-east-1"\n' in publish
        publish = publish.replace('region = "us-east-1"\n', "")
        aws_config = project.root / "aws-config"
        aws_config.write_text("[default]\nregion = us-east-1\n")
        project.env.update(AWS_CONFIG_FILE=str(aws_config),
                           AWS_SHARED_CREDENTIALS_FILE=str(project.root / "no-aws-credentials"))
    project.write_config(textwrap.dedent(f"""
        [engine]
        timeout = 2
        deadline = {deadline}
        max_attempts = 2
    """) + publish)


def _clear(s3: S3Server) -> None:  # noqa: F811
    with s3._lock:
        s3._faults.clear()


def _bound(deadline: float) -> float:
    return deadline + 5 + 6  # as tests/test_s3_deadline.py: one request out at the deadline, and a loaded machine


def _mark_failed(project: Project) -> None:
    with sqlite3.connect(project.root / ".broadcaster" / "state.db") as db:  # as a publish cut short leaves it
        db.execute("UPDATE deliveries SET state = 'failed', last_error = 'cut' WHERE destination = 'bucket'")


# -- what the operator is told -------------------------------------------------------------------------------------


def test_retry_against_a_stalling_bucket_without_the_light_client_ends_soon_after_its_deadline(
        project: Project, s3: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """tests/test_s3_deadline.py's retry, with the region in the AWS config file instead of publish.bucket: boto3
    sends every request (as with an instance role or a profile). botocore sends each stalled request a second time
    (``total_max_attempts = 2``) after the stop, and ``_publish`` waits for the warm-up's read without looking at it."""
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    _configure(project, s3, 4, light=False)
    posted = project.cli("post", "--yes", "--json", "--title", "API errors", "-C", "api", "Elevated errors.")
    assert posted.exit_code == 0, posted.output
    incident = json.loads(posted.stdout)["incident_id"]
    _mark_failed(project)
    s3.fail(S3Fault(match="", hold=HELD, times=50))
    started = time.monotonic()
    retried = project.cli("retry", incident, "--json")
    took = time.monotonic() - started
    _clear(s3)

    assert took < _bound(4), (took, retried.output)


def test_a_second_retry_after_a_stopped_publish_ends_soon_after_its_deadline(
        project: Project, s3: S3Server) -> None:  # noqa: F811
    """With the light client, as tests/test_s3_deadline.py. A stopped publish forgets the local copy (``_publish_over``:
    ``self.local_copy.forget()``), so the next one reads the manifest with boto3 (``_read_manifest``) once the light
    read failed; botocore sends that GET again after the stop, and ``_publish_with`` goes on to ``_claim`` /
    ``_publish_over`` (HEADs, listings, ``_confirm``, ``_judge``) without looking at the stop in between."""
    deadline = 8
    _configure(project, s3, deadline)
    posted = project.cli("post", "--yes", "--json", "--title", "API errors", "-C", "api", "Elevated errors.")
    assert posted.exit_code == 0, posted.output
    incident = json.loads(posted.stdout)["incident_id"]
    _mark_failed(project)
    # Every page changes, so the retry must upload: with nothing changed since the post (the page's uptime figure
    # the same, as when the two run within the same minute) it plans from the local copy, sends nothing and succeeds.
    project.config.write_text(project.config.read_text().replace('title = "Acme status"', 'title = "Acme status page"'))
    s3.fail(S3Fault(match="", hold=HELD, times=200))
    first = project.cli("retry", incident, "--json")
    assert not list((project.root / ".broadcaster").glob("site-publish-*[0-9a-f].json")), \
        f"set-up: the stopped publish forgot the local copy: {first.output}"
    started = time.monotonic()
    second = project.cli("retry", incident, "--json")
    took = time.monotonic() - started
    _clear(s3)

    assert took < _bound(deadline), (took, second.output)
