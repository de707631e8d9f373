"""What the operator is told when the deadline stops an S3 publish that left a page in the bucket no manifest names
(review 22, finding 5; the tests of /work/wt/zz22/test_zz22_s3_stop_cli.py)."""

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
from tests.test_s3_stop_bounded import HELD, _clear, _configure


def _post_cut_at_the_manifest(project: Project, s3: S3Server, *, first: bool = True) -> tuple[Result, str, str]:  # noqa: F811
    """A post whose new page went up and whose manifest PUT the bucket holds past the deadline (after a first post,
    unless ``first`` is False: made already); the post's result, its incident and that page."""
    if first:
        assert project.cli("post", "--yes", "--title", "Database errors", "-C", "db", "Looking into it.").exit_code == 0
    s3.fail(S3Fault(match=MANIFEST_NAME, hold=HELD, times=50, method="PUT"))
    posted = project.cli("post", "--yes", "--json", "--title", "Wrong customer named", "Acme's circuits.")
    _clear(s3)
    incident = json.loads(posted.stdout)["incident_id"]
    page = f"incidents/{incident}.html"
    assert page in s3.objects(BUCKET), "set-up: the page went up"
    return posted, incident, page


# -- what the operator is told -------------------------------------------------------------------------------------


def test_a_post_stopped_at_the_deadline_says_which_page_it_left_in_the_bucket_unnamed(
        project: Project, s3: S3Server) -> None:  # noqa: F811
    """The host's thread raises ``_in_doubt_failure`` (the page named, "if you publish from another machine instead
    ... delete it from the bucket by hand"), as test_fix21d1_s3 requires of every failure that leaves one; but
    ``S3Host.publish`` dropped the thread's error once cancelled (``_stopped`` retrieved it and re-raised the
    cancellation), and the engine recorded "timed out ... publishes it again (harmless)". Now the engine's cut asks
    the destination what it left (``HostDestination.left_by_cut``), and records that instead."""
    _configure(project, s3, 4)
    posted, incident, page = _post_cut_at_the_manifest(project, s3)
    assert page not in json.loads(s3.body(BUCKET, MANIFEST_NAME))["files"], "set-up: no manifest names it"
    shown = project.cli("show", incident).output

    assert page in posted.output or page in shown, (
        f"a page no manifest names is public, and neither the post nor `show` says so:\n{posted.output}\n{shown}")
    [bucket] = [d for d in json.loads(posted.stdout)["deliveries"] if d["destination"] == "bucket"]
    error = bucket["error"]
    assert bucket["state"] == "failed" and error.startswith("timed out: no success within"), bucket
    assert page in error and "by hand" in error and "harmless" not in error, error


def test_a_page_left_unnamed_by_a_stopped_post_whose_record_could_not_be_written_is_not_left_public_unsaid(
        project: Project, s3: S3Server) -> None:  # noqa: F811
    """The in-doubt record cannot be written (``LocalCopy.doubt`` -> False: a full disk, a read-only .broadcaster/):
    the only thing that could take the page down is the operator, whom ``_in_doubt_failure(recorded=False)`` tells to
    delete it by hand, and that message is dropped at the deadline. The withdrawal then succeeds (exit 0) and the
    wrong customer's page stays public for good."""
    _configure(project, s3, 4)
    assert project.cli("post", "--yes", "--title", "Database errors", "-C", "db", "Looking into it.").exit_code == 0
    [copy] = [p for p in (project.root / ".broadcaster").glob("site-publish-*.json") if "." not in p.stem]
    (copy.parent / f"{copy.stem}.in-doubt.json").mkdir()  # the record cannot be written
    posted, incident, page = _post_cut_at_the_manifest(project, s3, first=False)

    withdrawn = project.cli("withdraw", "--yes", incident, "--reason", "wrong customer named")

    told = page in posted.output or "by hand" in posted.output or withdrawn.exit_code != 0
    assert page not in s3.objects(BUCKET) or told, (
        f"the withdrawn page is public, and no command said so:\n{posted.output}\n{withdrawn.output}")
    [bucket] = [d for d in json.loads(posted.stdout)["deliveries"] if d["destination"] == "bucket"]
    assert page in bucket["error"] and "failed too" in bucket["error"] and "by hand" in bucket["error"], bucket


def test_a_post_stopped_at_the_deadline_before_any_page_went_up_still_says_a_retry_publishes_it_again(
        project: Project, s3: S3Server) -> None:  # noqa: F811
    """Nothing left in doubt (every request stalls, the manifest's read first): the advice is as before."""
    _configure(project, s3, 3)
    s3.fail(S3Fault(match="", hold=HELD, times=50))
    posted = project.cli("post", "--yes", "--json", "--title", "API errors", "-C", "api", "Elevated errors.")
    _clear(s3)

    [bucket] = [d for d in json.loads(posted.stdout)["deliveries"] if d["destination"] == "bucket"]
    assert bucket["state"] == "failed" and "publishes it again (harmless)" in bucket["error"], bucket
