"""`broadcaster channels check` names the pages a publish from this machine left in doubt even where the bucket's
manifest cannot be read: it listed the bucket's files into those it compared with, and so took every page in doubt
that is there (those that matter) for one a manifest names."""

from __future__ import annotations

import json

from broadcaster.site.hosts._s3_manifest import MANIFEST_NAME
from tests.conftest import Project
from tests.fakes.s3 import S3Fault, S3Server
from tests.test_s3_foreign_files import (
    BUCKET,
    s3,  # noqa: F401 - pytest fixture
)
from tests.test_s3_stop_bounded import HELD, _clear, _configure


def test_check_over_an_unreadable_manifest_names_the_page_a_cut_post_left_in_doubt(
        project: Project, s3: S3Server) -> None:  # noqa: F811
    _configure(project, s3, 4)
    assert project.cli("post", "--yes", "--title", "Database errors", "-C", "db", "Looking into it.").exit_code == 0
    s3.fail(S3Fault(match=MANIFEST_NAME, hold=HELD, times=50, method="PUT"))
    posted = project.cli("post", "--yes", "--json", "--title", "Wrong customer named", "Acme's circuits.")
    _clear(s3)
    page = f"incidents/{json.loads(posted.stdout)['incident_id']}.html"
    assert page in s3.objects(BUCKET), "set-up: the first round put the page up"
    s3.client().put_object(Bucket=BUCKET, Key=MANIFEST_NAME, Body=b'{"files": {"index.html"')  # cut short

    checked = project.cli("channels", "check")

    assert checked.exit_code != 0 and page in checked.output and "named by no manifest" in checked.output, \
        checked.output
