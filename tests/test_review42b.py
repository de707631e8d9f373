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


def test_a_push_a_hook_declines_names_the_hook_and_its_words_not_the_credentials(
    project: Project, remote: Path  # noqa: F811
) -> None:
    """A pre-receive hook (GitHub's push protection, a size limit, a GitLab server hook) declines the push for what it
    holds: the refusal quotes the hook's first words (what it objects to), and does not send the operator to fix
    credentials that work."""
    pages_config(project, str(remote))
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\n"
                    "echo 'error: GH013: Repository rule violations found for refs/heads/gh-pages.' >&2\n"
                    "echo '- Push cannot contain secrets' >&2\n"
                    "echo '  commit: 0123abcd' >&2\n"
                    "echo '  path: index.html:12' >&2\n"
                    "exit 1\n")
    hook.chmod(0o755)

    posted = project.cli("post", "--yes", "--title", "API errors", "Elevated errors.")
    said = " ".join(posted.output.split())

    assert posted.exit_code == 3, said
    assert "GH013: Repository rule violations found" in said and "Push cannot contain secrets" in said
    assert "hook" in said and "credentials" not in said
    assert "gh-pages" not in git("--git-dir", str(remote), "branch")  # nothing pushed
