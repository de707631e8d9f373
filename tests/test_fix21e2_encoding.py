"""Review 21e, finding 6: a terminal that is not UTF-8 (an ssh session with ``LANG=en_US``, ISO-8859-1 on glibc)
cannot print "✓", and a post already stored and sent was reported "unexpected error (UnicodeEncodeError)", exit 1,
its summary lost. Simulated with ``PYTHONIOENCODING`` (no Latin-1 locale is installed on the test machine), in the
console script's own process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import Project


def _run(project: Project, *args: str, encoding: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **project.env, "PYTHONIOENCODING": encoding}
    env.pop("BROADCASTER_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "broadcaster", "--config", str(project.config), *args], cwd=project.root, env=env,
        capture_output=True, text=True, encoding=encoding, errors="replace", timeout=120, stdin=subprocess.DEVNULL,
    )


def _incidents(project: Project) -> list[dict[str, object]]:
    listed: list[dict[str, object]] = json.loads(project.cli("list", "--json").stdout)
    return listed


@pytest.mark.parametrize("encoding", ["latin-1", "ascii"])
def test_a_post_on_a_terminal_that_is_not_utf8_reports_what_it_did_and_exits_0(project: Project, encoding: str) -> None:
    result = _run(project, "post", "--yes", "--title", "Queue delay", "-C", "api", "Messages are delayed.",
                  encoding=encoding)
    assert len(_incidents(project)) == 1
    assert "unexpected error" not in result.stderr, result.stderr
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    # The summary is there, its mark escaped (not "?", the mark of a delivery of unknown fate).
    assert "\\u2713" in result.stdout and "site" in result.stdout and "stored" in result.stdout, result.stdout


@pytest.mark.parametrize("encoding", ["latin-1", "ascii"])
def test_show_and_list_of_a_title_the_terminal_cannot_encode_are_printed(project: Project, encoding: str) -> None:
    posted = project.cli("post", "--yes", "--title", "Störung – API ✓", "-C", "api", "Fehler beim Login — wir prüfen.")
    assert posted.exit_code == 0, posted.output
    incident = str(_incidents(project)[0]["id"])
    for args in (("show", incident), ("list",)):
        result = _run(project, *args, encoding=encoding)
        assert result.returncode == 0, (args, result.returncode, result.stderr)
        assert "unexpected error" not in result.stderr, result.stderr
        assert incident in result.stdout, result.stdout
        assert "\\u2013" in result.stdout, result.stdout  # the title's dash, escaped rather than dropped


def test_json_on_a_terminal_that_is_not_utf8_still_reads_as_the_same_text(project: Project) -> None:
    """An escape, never a silent "?": ``show --json`` (ensure_ascii off) written on a Latin-1 stream decodes
    to the characters stored."""
    assert project.cli("post", "--yes", "--title", "Störung – API", "-C", "api", "Wir prüfen → bald.").exit_code == 0
    incident = str(_incidents(project)[0]["id"])
    result = _run(project, "show", incident, "--json", encoding="latin-1")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert "Störung – API" in json.dumps(shown, ensure_ascii=False), result.stdout
