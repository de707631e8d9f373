"""Fix 23l (review 23i, finding 4): a post cut by the deadline on its second attempt still names the page its
first attempt left in the bucket, named by no manifest (the reviewer's test, tests/zz23i_cut_retry.py)."""

from __future__ import annotations

import json

from click.testing import Result

from broadcaster.site.hosts._s3_manifest import MANIFEST_NAME
from tests.conftest import Project
from tests.fakes.s3 import S3Fault, S3Server
from tests.test_s3_foreign_files import (
    BUCKET,
    s3,  # noqa: F401 - pytest fixture
)
from tests.test_s3_stop_bounded import _clear, _configure


def post_after_one_under(project: Project, s3: S3Server, *faults: S3Fault) -> tuple[Result, str, str]:  # noqa: F811
    """A first post, then a second one with ``faults`` on the bucket: its result, its incident and its page."""
    assert project.cli("post", "--yes", "--title", "Database errors", "-C", "db", "Looking into it.").exit_code == 0
    s3.fail(*faults)
    try:
        posted = project.cli("post", "--yes", "--json", "--title", "Wrong customer named", "Acme's circuits.")
    finally:
        _clear(s3)
    incident = json.loads(posted.stdout)["incident_id"]
    return posted, incident, f"incidents/{incident}.html"


def test_a_post_cut_on_its_second_attempt_still_names_the_page_its_first_attempt_left_unnamed(
        project: Project, s3: S3Server) -> None:  # noqa: F811
    """Attempt 1 uploads the new incident's page, then loses the manifest write to "another publisher" four times
    (412s): it fails retryably with ``_in_doubt_failure`` (the page named, "delete it from the bucket by hand" if
    publishing elsewhere). The engine tries again within the deadline; ``run.shared(again_after_failure=True)``
    starts a second upload, which ``HostDestination.left_by_cut`` now holds as the command's upload; it stalls on
    the manifest's read and is cut. It sent nothing, so ``S3Host.left_by_stop`` is None (reset at its start) and the
    delivery is recorded "`broadcaster retry` publishes it again (harmless)", the first attempt's message dropped,
    though the page is in the bucket and no manifest names it: exactly what a33cb5c set out to stop saying. The host
    now keeps what every failed attempt of the command said it left (``S3Host.left_by_stop``)."""
    # 10 s: at 4 s a loaded run (ten workers and two reviews on two cores) spent the deadline on attempt 1 alone.
    _configure(project, s3, 10)
    posted, incident, page = post_after_one_under(
        project, s3,
        S3Fault(match=MANIFEST_NAME, delay=0.001, times=5, method="GET"),  # attempt 1's reads: carried out
        S3Fault(match=MANIFEST_NAME, hold=15, times=50, method="GET"),  # attempt 2's read: stalls past the deadline
        S3Fault(match=MANIFEST_NAME, status=412, code="PreconditionFailed", times=4, method="PUT"))
    assert page in s3.objects(BUCKET), "set-up: the page went up"
    assert page not in json.loads(s3.body(BUCKET, MANIFEST_NAME))["files"], "set-up: no manifest names it"
    [bucket] = [d for d in json.loads(posted.stdout)["deliveries"] if d["destination"] == "bucket"]
    assert bucket["attempts"] == 2 and bucket["error"].startswith("timed out"), f"set-up: {bucket}"
    assert page in bucket["error"] and "harmless" not in bucket["error"], bucket
