"""One bad record never takes the site down (issue 12 deliver 8, issue 13 item 11).

The records are written straight into the store, as an older version (before
the input gate) or an import could have left them: the CLI refuses them now.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from broadcaster.messages.model import Impact, Incident, Status, Update

from broadcaster.store import PlannedDelivery, open_store
from tests.conftest import Project
from tests.fakes.s3 import PUBLISH_ENV, S3Server

BUCKET = "acme-status"
HISTORY: list[PlannedDelivery] = []  # no delivery recorded: history, as an import leaves it


def store_record(project: Project, incident_id: str, message: str, **update: object) -> None:
    """An incident with one update, written as an older version or an import would have."""
    now = datetime.now(UTC) - timedelta(minutes=5)
    store = open_store(project.root / ".broadcaster" / "state.db")
    try:
        incident = Incident(incident_id, f"Title of {incident_id}", Impact.MINOR, Status.INVESTIGATING, now)
        store.record_update(incident, Update(incident_id, 0, now, Status.INVESTIGATING, message, **update),  # type: ignore[arg-type]
                            HISTORY, new=True)
    finally:
        store.close()


BAD_RECORDS = {
    "far-etr": ("An ETR no calendar can show.", {"etr": datetime(9999, 12, 31, 23, 30, tzinfo=UTC)}),
    "unclosed": ("Stored before the gate [private]ACME-LEAK-CUSTOMER", {}),
    "nul-byte": ("Control \x00 character from stdin \x1b[31m", {}),
    "../../escape": ("An id an import let through.", {}),
}


@pytest.fixture
def s3(project: Project) -> Iterator[S3Server]:
    with S3Server() as server:
        server.create_bucket(BUCKET)
        project.write_config(server.publish_toml(BUCKET))
        project.env.update(PUBLISH_ENV)
        yield server


@pytest.mark.parametrize("bad_id", list(BAD_RECORDS), ids=list(BAD_RECORDS))
def test_site_build_leaves_a_bad_record_out_loudly_and_builds_the_rest(project: Project, bad_id: str) -> None:
    assert project.cli("post", "--yes", "--title", "Checkout down", "Checkout is failing.").exit_code == 0
    message, fields = BAD_RECORDS[bad_id]
    store_record(project, bad_id, message, **fields)

    result = project.cli("site", "build")

    assert result.exit_code == 3, result.output
    assert f"incident {bad_id} was left out of the site" in result.stderr
    index = (project.site / "index.html").read_text()
    assert "Checkout is failing." in index and f"Title of {bad_id}" not in index
    for name in ("feed.xml", "atom.xml", "summary.json"):
        text = (project.site / name).read_text()
        assert "Checkout is failing." in text and f"Title of {bad_id}" not in text
    assert "ACME-LEAK-CUSTOMER" not in "".join(p.read_text(errors="replace") for p in project.site.rglob("*.*"))
    assert not (project.root / "escape.html").exists() and not (project.root.parent / "escape.html").exists()


def test_a_post_still_publishes_its_update_and_names_the_bad_record(project: Project, s3: S3Server) -> None:
    store_record(project, "far-etr", "An ETR no calendar can show.", etr=datetime(9999, 12, 31, 23, 30, tzinfo=UTC))

    result = project.cli("post", "--yes", "--json", "--title", "Checkout down", "Checkout is failing.")

    assert result.exit_code == 3, result.output
    payload = json.loads(result.stdout)
    states = {d["destination"]: d for d in payload["deliveries"]}
    assert states["bucket"]["state"] == "sent"
    assert states["site"]["state"] == "failed"
    assert "incident far-etr was left out of the site" in states["site"]["error"]
    assert "OverflowError" in states["site"]["error"]
    page = s3.body(BUCKET, f"incidents/{payload['incident_id']}.html").decode()
    assert "Checkout is failing." in page
    assert "Checkout is failing." in s3.body(BUCKET, "index.html").decode()
    assert "far-etr" not in s3.body(BUCKET, "index.html").decode()

    # Every later post says so again, until the record is fixed; the site keeps working.
    again = project.cli("post", "--yes", "--json", "-i", payload["incident_id"], "-s", "identified", "Cause found.")
    assert again.exit_code == 3
    assert "Cause found." in s3.body(BUCKET, "index.html").decode()


def test_site_publish_uploads_the_rest_and_exits_3(project: Project, s3: S3Server) -> None:
    assert project.cli("post", "--yes", "--title", "Checkout down", "Checkout is failing.").exit_code == 0
    store_record(project, "unclosed", "Stored before the gate [private]ACME-LEAK-CUSTOMER")

    result = project.cli("site", "publish")

    assert result.exit_code == 3
    assert "incident unclosed was left out of the site" in result.stderr
    assert "Checkout is failing." in s3.body(BUCKET, "index.html").decode()
    for key in s3.objects(BUCKET):
        assert b"ACME-LEAK-CUSTOMER" not in s3.body(BUCKET, key)
