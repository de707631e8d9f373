"""Found by review 19g: 960591b starts a delivery left ``unknown`` with ``SendLog.may_have_arrived`` set, and
``Publisher._cut_by_deadline`` reads that flag before it asks whether the destination repeats harmlessly
(``destination.idempotent``). A host upload reaped ``unknown`` (its command died mid-upload), retried and cut by the
deadline, is recorded ``unknown`` again, with advice to check whether "the post" is there and settle it with
--mark-unknown-sent/--include-unknown; before, and for the same cut of any other upload, it is failed, "harmless"."""

from __future__ import annotations

import json
import sqlite3
import textwrap

import pytest

from tests.conftest import Project
from tests.fakes.s3 import PUBLISH_ENV, S3Fault, S3Server

BUCKET = "acme-status"


@pytest.mark.parametrize("left", ["failed", "unknown"])
def test_an_upload_left_unknown_and_cut_by_the_deadline_is_failed_harmlessly_not_unknown(project: Project, left: str) -> None:
    with S3Server() as s3:
        s3.create_bucket(BUCKET)
        project.write_config(textwrap.dedent("""
            [engine]
            timeout = 2
            deadline = 4
            max_attempts = 2
        """) + s3.publish_toml(BUCKET))
        project.env.update(PUBLISH_ENV)
        posted = project.cli("post", "--yes", "--json", "--title", "API errors", "-C", "api", "Elevated errors.")
        assert posted.exit_code == 0, posted.output
        incident_id = json.loads(posted.stdout)["incident_id"]
        with sqlite3.connect(project.root / ".broadcaster" / "state.db") as db:  # as reap_abandoned leaves it
            db.execute("UPDATE deliveries SET state = ?, last_error = 'abandoned' WHERE destination = 'bucket'", (left,))
        s3.fail(S3Fault(match="", hold=8.0, times=50))  # every request stalls past the deadline
        retried = project.cli("retry", incident_id, "--json")
    bucket = next(d for d in json.loads(retried.stdout)["deliveries"] if d["destination"] == "bucket")
    assert bucket["state"] != "unknown", (
        f"an upload (repeats harmlessly) cut by the deadline was recorded unknown: {bucket['error']}")
