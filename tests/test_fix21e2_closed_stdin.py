"""Review 21e, finding 9: `-` (read the text from standard input) in a command started with standard input closed
(``<&-``, a job runner that closes fd 0): Python's ``sys.stdin`` is None, and the command ended "unexpected error
(AttributeError)", exit 1 and "Run again with --debug". Nothing is stored: it is a refusal, exit 2, saying so."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import Project


def _closed_stdin(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **project.env}
    env.pop("BROADCASTER_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "broadcaster", "--config", str(project.config), *args], cwd=project.root, env=env,
        capture_output=True, text=True, encoding="utf-8", errors="replace", timeout=120,
        preexec_fn=lambda: os.close(0),
    )


def _updates(project: Project, incident: str) -> int:
    code, shown = project.cli_json("show", incident)
    assert code == 0
    return len(shown["updates"])


@pytest.mark.parametrize("command", ["post", "resolve", "amend", "postmortem", "store-import"])
def test_dash_with_standard_input_closed_is_refused_saying_so(project: Project, command: str) -> None:
    incident = ""
    if command != "post":
        assert project.cli("post", "--yes", "--title", "API errors", "-C", "api", "Errors.").exit_code == 0
        incident = str(json.loads(project.cli("list", "--json").stdout)[0]["id"])
    if command == "postmortem":
        assert project.cli("resolve", incident, "--yes", "Fixed.").exit_code == 0
    before = _updates(project, incident) if incident else 0
    args = {
        "post": ("post", "--yes", "--title", "Queue slow", "-C", "api", "-"),
        "resolve": ("resolve", incident, "--yes", "-"),
        "amend": ("amend", incident, "1", "--yes", "-"),
        "postmortem": ("postmortem", incident, "--yes", "--file", "-"),
        "store-import": ("store", "import", "-"),
    }[command]
    result = _closed_stdin(project, *args)
    assert "unexpected error" not in result.stderr, result.stderr
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "standard input is closed" in result.stderr, result.stderr
    if incident:
        assert _updates(project, incident) == before
    else:
        assert json.loads(project.cli("list", "--json").stdout) == []
