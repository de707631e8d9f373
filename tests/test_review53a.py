"""Review 53a: the fixes of review 52b attacked through the real CLI (a byte order mark, init --force's backup, the
$BROADCASTER_CONFIG note, a build's temporary files, store import and retry after a restarted thread)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import Project


def _run(project: Project, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The real ``broadcaster`` in its own process, with no --config: found as an operator's plain command finds it."""
    env = {"PATH": "/usr/bin:/bin", "USER": "oncall", "HOME": str(project.root), **project.env}
    return subprocess.run([sys.executable, "-m", "broadcaster", *args], cwd=cwd or project.root, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_a_config_named_by_the_variable_is_used_from_a_folder_since_removed(project: Project, tmp_path: Any) -> None:
    """A shell left in a folder a deploy removed (an old release's), with $BROADCASTER_CONFIG naming the config by
    its full path: the note about the folder's own broadcaster.toml asked for the working folder, which is gone, and
    the post failed 'unexpected error (FileNotFoundError)' (exit 1), where it had gone out before the note."""
    project.env["BROADCASTER_CONFIG"] = str(project.config)
    gone = tmp_path / "release-41"
    gone.mkdir()
    # The process starts in the folder, which is removed before it runs (as by a deploy while the shell sat in it).
    done = subprocess.run(
        ["/bin/sh", "-c", f'cd "{gone}" && rmdir "{gone}" && exec "$0" -m broadcaster post --yes --title "API errors" '
                          '"Elevated errors."', sys.executable],
        env={"PATH": "/usr/bin:/bin", "HOME": str(project.root), **project.env},
        capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "Note" not in done.stderr
    assert (project.root / "public" / "index.html").is_file()
