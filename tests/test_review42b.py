"""Review 42b: the git and directory publish targets attacked through the real CLI.

Real bare repositories in tmp_path, real processes and signals; HOME is a temporary folder (no_git_config).
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from tests.conftest import Project
from tests.test_hosts_git import git
from tests.test_hosts_git_safety import no_git_config, pages_config, remote  # noqa: F401


def _post(project: Project, title: str) -> str:
    posted = project.cli("post", "--yes", "--json", "--title", title, f"{title}: elevated errors.")
    assert posted.exit_code == 0, posted.output
    return str(json.loads(posted.stdout)["incident_id"])


def test_a_push_that_lands_after_sigterm_does_not_wedge_the_branch_as_restored_from_a_backup(
    project: Project, remote: Path, tmp_path: Path  # noqa: F811
) -> None:
    """SIGTERM while git pushes: the push goes on in its thread and lands. The store must count it as its own, so
    the next retry publishes (or finds nothing to do) instead of refusing the branch as a backup's and asking for
    --replace-later, which would keep every later post off the page."""
    pages_config(project, str(remote))
    _post(project, "API errors")  # the branch now holds this store's site, recorded as published
    _post(project, "Queue delays")
    started = tmp_path / "push-started"
    hook = remote / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\ntouch '{started}'\nsleep 3\ncat >/dev/null\n")
    hook.chmod(0o755)

    running = project.process("post", "--yes", "--title", "Login broken", "Logins fail.")
    deadline = time.monotonic() + 60
    while not started.exists():
        assert running.poll() is None, running.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    running.send_signal(signal.SIGTERM)
    running.communicate(timeout=60)
    assert running.returncode == 130
    hook.unlink()
    landed = git("--git-dir", str(remote), "rev-parse", "gh-pages").strip()
    assert "Login broken" in git("--git-dir", str(remote), "show", "gh-pages:index.html")  # the push landed

    retried = project.cli("retry")
    said = " ".join(retried.output.split())

    assert retried.exit_code == 0, said
    assert "restored from a backup" not in said and "--replace-later" not in said
    assert git("--git-dir", str(remote), "rev-parse", "gh-pages").strip() == landed  # unchanged: nothing to push
