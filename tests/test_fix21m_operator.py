"""Review 21m, findings 5 and 6 (the operator's terminal): ``--json`` on a stream that is not UTF-8 is JSON a reader
parses, and a publication at a terminal with standard input closed is refused, not an unexpected error. Through
the console script (``python -m broadcaster``), in a subprocess or on a pseudo-terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import Project

TITLE = "Checkout down 🔥 in Zürich"
SOON = datetime.now(UTC) + timedelta(days=30)


def _run(project: Project, *args: str, encoding: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, **project.env, "PYTHONIOENCODING": encoding}
    env.pop("BROADCASTER_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "broadcaster", "--config", str(project.config), *args],
                          cwd=project.root, env=env, capture_output=True, timeout=120, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("encoding", ["latin-1", "ascii", "cp1252"])
def test_show_json_on_a_stream_that_is_not_utf8_is_json_with_the_very_title(project: Project, encoding: str) -> None:
    """backslashreplace (``cli.run``) wrote an emoji as Python's "\\U0001f525", which no JSON reader takes; exit 0
    all the same."""
    assert project.cli("post", "--yes", "--title", TITLE, "-C", "api", "Payments fail.").exit_code == 0
    incident = json.loads(project.cli("list", "--json").stdout)[0]["id"]
    result = _run(project, "show", incident, "--json", encoding=encoding)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.decode(encoding))["title"] == TITLE


def test_json_on_a_utf8_stream_keeps_its_text_as_it_is(project: Project) -> None:
    """On UTF-8 nothing changes: the text as it is, no escapes (asserted after the Latin-1 case, which fails
    without the fix)."""
    assert project.cli("post", "--yes", "--title", TITLE, "-C", "api", "Payments fail.").exit_code == 0
    incident = json.loads(project.cli("list", "--json").stdout)[0]["id"]
    latin1 = _run(project, "show", incident, "--json", encoding="latin-1")
    assert json.loads(latin1.stdout.decode("latin-1"))["title"] == TITLE
    utf8 = _run(project, "show", incident, "--json", encoding="utf-8")
    assert utf8.returncode == 0 and TITLE in utf8.stdout.decode("utf-8")


@pytest.mark.parametrize("command", [
    ("post", "--title", "Queue slow", "-C", "api", "Messages are delayed."),
    ("maintenance", "schedule", "--title", "DB upgrade", "--start", f"{SOON:%Y-%m-%d}T10:00Z",
     "--end", f"{SOON:%Y-%m-%d}T11:00Z", "-C", "api", "Short read-only window."),
], ids=["post", "maintenance"])
def test_publishing_at_a_terminal_with_standard_input_closed_is_refused_asking_for_yes(
        project: Project, command: tuple[str, ...]) -> None:
    """Standard output a terminal, standard input closed (``<&-``): "unexpected error (AttributeError)", exit 1.
    Now the refusal of a publication that cannot be confirmed: exit 2, add --yes, nothing stored."""
    import pty

    leader, follower = pty.openpty()
    env = {**os.environ, **project.env}
    env.pop("BROADCASTER_CONFIG", None)
    try:
        result = subprocess.run([sys.executable, "-m", "broadcaster", "--config", str(project.config), *command],
                                cwd=project.root, env=env, stdout=follower, stderr=subprocess.PIPE, timeout=120,
                                preexec_fn=lambda: os.close(0))
    finally:
        os.close(follower)
        os.close(leader)
    assert b"unexpected error" not in result.stderr, result.stderr
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert b"--yes" in result.stderr, result.stderr
    assert json.loads(project.cli("list", "--json").stdout) == []
