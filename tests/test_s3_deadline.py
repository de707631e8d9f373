"""`[engine] deadline` bounds the whole command where the bucket stalls, as it does for the posts.

A publish cancelled at the deadline waits for the requests it has out (each bounded by the S3 target's own
timeouts), but starts none: before, it went on to write the manifest, sent a put that failed again through
boto3 (two attempts), read the manifest back twice, and `retry` with a deadline of 4 s took 42 s. What it
leaves unsettled is recorded in doubt, and the next publish settles it: no page is left up that no manifest
names."""

from __future__ import annotations

import json
import sqlite3
import textwrap
import time

import pytest

from broadcaster.site.hosts._s3_manifest import MANIFEST_NAME
from tests.conftest import Project
from tests.fakes.s3 import S3Fault, S3Server
from tests.test_s3_foreign_files import (
    BUCKET,
    s3,  # noqa: F401 - pytest fixture
)

DEADLINE = 4
HELD = 8.0  # each stalled request is dropped unanswered after this long: past the deadline
# The deadline, one request out at it (the light client's 5 s, its connect_timeout), and room for a loaded machine.
# Without the fix: 42 s (retry) and 27-35 s (post).
BOUND = DEADLINE + 5 + 6


def _configure(project: Project, s3: S3Server) -> None:  # noqa: F811
    project.write_config(textwrap.dedent(f"""
        [engine]
        timeout = 2
        deadline = {DEADLINE}
        max_attempts = 2
    """) + s3.publish_toml(BUCKET))


def _timed(project: Project, *args: str) -> tuple[float, object]:
    started = time.monotonic()
    result = project.cli(*args)
    return time.monotonic() - started, result


def _clear(s3: S3Server) -> None:  # noqa: F811
    with s3._lock:
        s3._faults.clear()


def test_retry_against_a_bucket_stalling_every_request_ends_soon_after_its_deadline(
        project: Project, s3: S3Server) -> None:  # noqa: F811
    _configure(project, s3)
    posted = project.cli("post", "--yes", "--json", "--title", "API errors", "-C", "api", "Elevated errors.")
    assert posted.exit_code == 0, posted.output
    incident = json.loads(posted.stdout)["incident_id"]
    with sqlite3.connect(project.root / ".broadcaster" / "state.db") as db:  # as a publish cut short leaves it
        db.execute("UPDATE deliveries SET state = 'failed', last_error = 'cut' WHERE destination = 'bucket'")
    s3.fail(S3Fault(match="", hold=HELD, times=50))
    took, retried = _timed(project, "retry", incident, "--json")
    _clear(s3)
    output = retried.output  # type: ignore[attr-defined]
    assert took < BOUND, (took, output)
    bucket = next(d for d in json.loads(retried.stdout)["deliveries"]  # type: ignore[attr-defined]
                  if d["destination"] == "bucket")
    assert bucket["state"] == "failed", output


@pytest.mark.parametrize("stalled", ["manifest", "pages"])
def test_a_post_whose_publish_stalls_ends_soon_after_its_deadline_and_leaves_no_page_unnamed(
        project: Project, s3: S3Server, stalled: str) -> None:  # noqa: F811
    """The manifest's write out at the deadline (the new page went up in the first round), or the first round's
    pages: either way the command ends soon after the deadline, and withdrawing the incident once the bucket
    answers again takes its page down (a page named by no manifest would stay public for good)."""
    _configure(project, s3)
    assert project.cli("post", "--yes", "--title", "Database errors", "-C", "db", "Looking into it.").exit_code == 0
    match = MANIFEST_NAME if stalled == "manifest" else "incidents/"
    s3.fail(S3Fault(match=match, hold=HELD, times=50, method="PUT"))
    took, posted = _timed(project, "post", "--yes", "--json", "--title", "Wrong customer named", "Acme's circuits.")
    _clear(s3)
    output = posted.output  # type: ignore[attr-defined]
    assert took < BOUND, (took, output)
    assert posted.exit_code == 3, output  # type: ignore[attr-defined]
    incident = json.loads(posted.stdout)["incident_id"]  # type: ignore[attr-defined]
    page = f"incidents/{incident}.html"

    withdrawn = project.cli("withdraw", "--yes", incident, "--reason", "wrong customer named")

    assert withdrawn.exit_code == 0, withdrawn.output
    assert page not in s3.objects(BUCKET), f"withdrawn, exit 0, and its page is still public: {withdrawn.output}"
    assert incident not in s3.body(BUCKET, "index.html").decode()


def test_check_names_the_page_a_cut_post_left_in_doubt_until_a_publish_settles_it(
        project: Project, s3: S3Server) -> None:  # noqa: F811
    """The pages a cut post left in the bucket that no manifest names are told by the post's own record
    (tests/test_fix23b_cut.py) and by `channels check`, which an operator publishing from another machine needs (they
    must go by hand there)."""
    _configure(project, s3)
    assert project.cli("post", "--yes", "--title", "Database errors", "-C", "db", "Looking into it.").exit_code == 0
    s3.fail(S3Fault(match=MANIFEST_NAME, hold=HELD, times=50, method="PUT"))
    posted = project.cli("post", "--yes", "--json", "--title", "Wrong customer named", "Acme's circuits.")
    _clear(s3)
    assert posted.exit_code == 3, posted.output
    page = f"incidents/{json.loads(posted.stdout)['incident_id']}.html"
    assert page in s3.objects(BUCKET), "set-up: the first round put the page up"

    checked = project.cli("channels", "check")
    assert checked.exit_code != 0 and page in checked.output and "named by no manifest" in checked.output, \
        checked.output

    assert project.cli("retry").exit_code == 0
    checked = project.cli("channels", "check")
    assert checked.exit_code == 0 and "named by no manifest" not in checked.output, checked.output
