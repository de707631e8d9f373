"""Fix 23l (review 23i, finding 5): Ctrl-C while the deadline's cut waits for the stopped S3 upload (``left_by_cut``)
still records the cut, with the page the upload left (the reviewer's test, tests/zz23i_cut_interrupt.py)."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import time
from collections.abc import Iterator

import pytest

from broadcaster.site.hosts._s3_manifest import MANIFEST_NAME
from tests.conftest import Project
from tests.fakes.s3 import S3Fault, S3Server
from tests.test_s3_foreign_files import (
    BUCKET,
    s3,  # noqa: F401 - pytest fixture
)
from tests.test_s3_stop_bounded import _clear, _configure


def test_ctrl_c_while_the_cut_waits_for_the_stopped_upload_still_records_the_cut_and_the_page_it_left(
        project: Project, s3: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """The deadline (4 s) cuts a post whose manifest PUT is out (the client waits 7 s, [engine] timeout). Before
    a33cb5c the cut was recorded at once ("failed"), then the runner's close waited for the upload. Now
    ``_cut_by_deadline`` first awaits ``HostDestination.left_by_cut``, which waits for the stopped upload: an
    operator who presses Ctrl-C during that wait (the command has run past its deadline and looks stuck; with boto3
    sending the requests, as with a profile, a role, a region from the AWS config file, the wait lasts up to
    [engine] timeout, 7 s here; with 10 s the command ended 11 s after its 4 s deadline) got the CancelledError
    raised inside the ``except TimeoutError`` handler of ``_claim_and_deliver``, which the sibling
    ``except asyncio.CancelledError`` (``_stopped_mid_send``) does not see: the delivery stayed ``sending`` with no
    error, and the page left in the bucket that no manifest names is said nowhere (the next command reaps it as a
    generic unknown). ``Publisher._left_by_cut`` now records the cut at once and, once the upload has stopped, what
    it left."""
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    with _interrupted_while_the_cut_waits(project, s3, timeout=7) as process:
        output, errors = process.communicate(timeout=60)
    incident = _the_cut_incident(project)
    page = f"incidents/{incident}.html"
    assert page in s3.objects(BUCKET), "set-up: the page went up"
    [bucket] = [d for d in json.loads(project.cli("show", incident, "--json").stdout)["deliveries"]
                if d["destination"] == "bucket"]
    assert bucket["state"] == "failed" and page in (bucket.get("error") or ""), (
        f"cut by the deadline, then Ctrl-C while the cut waited: {bucket}\n{output}\n{errors}")


def test_a_command_ended_for_good_while_the_cut_waits_for_the_stopped_upload_has_recorded_the_cut_already(
        project: Project, s3: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """As above, but the operator, the Ctrl-C not ending the command at once (the cut still waits for the stopped
    upload), kills it for good (SIGKILL, or a second Ctrl-C and then a close of the terminal): the cut was recorded
    at the Ctrl-C (``failed``, saying pages may have been left and what settles them), not left ``sending`` for
    the next command to reap as a post that may or may not exist."""
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    # boto3 waits 12 s for the held PUT's answer: the command is killed well before the stopped upload ends.
    with _interrupted_while_the_cut_waits(project, s3, timeout=12) as process:
        time.sleep(1.5)
        assert process.poll() is None, "set-up: the command ended before it was killed"
        process.kill()
        process.communicate(timeout=30)
    incident = _the_cut_incident(project)
    [bucket] = [d for d in json.loads(project.cli("show", incident, "--json").stdout)["deliveries"]
                if d["destination"] == "bucket"]
    assert bucket["state"] == "failed", bucket
    assert "interrupted before the stopped upload ended" in bucket["error"] and "by hand" in bucket["error"], bucket


@contextlib.contextmanager
def _interrupted_while_the_cut_waits(project: Project, s3: S3Server, *, timeout: int) -> Iterator[subprocess.Popen[str]]:  # noqa: F811
    """A post whose manifest PUT the bucket holds, cut by the 4 s deadline, and sent Ctrl-C while the cut waits for
    the stopped upload (boto3 sends every request, as with a profile or a role, and waits ``timeout`` for the answer)."""
    _configure(project, s3, 4, light=False)
    project.write_config(project.config.read_text().replace("timeout = 2", f"timeout = {timeout}"), base="")
    assert project.cli("post", "--yes", "--title", "Database errors", "-C", "db", "Looking into it.").exit_code == 0
    s3.held.clear()
    s3.fail(S3Fault(match=MANIFEST_NAME, hold=30, times=50, method="PUT"))
    process = project.process("post", "--yes", "--json", "--title", "Wrong customer named", "Acme's circuits.")
    try:
        assert s3.held.wait(30), "set-up: the manifest's PUT never went out"
        time.sleep(5.5)  # past the deadline (the delivery started before the PUT), within boto3's read timeout
        assert process.poll() is None, "set-up: the command ended before the Ctrl-C"
        process.send_signal(signal.SIGINT)
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        _clear(s3)


def _the_cut_incident(project: Project) -> str:
    listed = json.loads(project.cli("list", "--json").stdout)
    [incident] = [i["id"] for i in listed if i["title"] == "Wrong customer named"]
    return str(incident)
