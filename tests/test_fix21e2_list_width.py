"""Review 21e, finding 10: `list` on a narrow terminal (a phone's ssh client, a split tmux pane) cut every column
with "…": the incident ids the operator copies and types after -i, resolve and withdraw, and a withdrawn incident's
"withdrawn", which then read as one still open or plainly resolved. Only the title may wrap; too narrow for the
table, each incident takes lines of its own."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from tests.conftest import Project


def _on_a_terminal(project: Project, columns: int, *args: str) -> str:
    """The CLI's output on a pseudo-terminal ``columns`` wide, colours taken out."""
    import fcntl
    import pty
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    env = {**os.environ, **project.env}
    env.pop("BROADCASTER_CONFIG", None)
    env.pop("COLUMNS", None)
    process = subprocess.Popen([sys.executable, "-m", "broadcaster", "--config", str(project.config), *args],
                               cwd=project.root, env=env, stdin=follower, stdout=follower, stderr=follower)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the process ended
            break
        if not chunk:
            break
        chunks.append(chunk)
    assert process.wait(timeout=60) == 0, b"".join(chunks)
    os.close(leader)
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode("utf-8", "replace")).replace("\r", "")


@pytest.fixture
def three(project: Project) -> list[str]:
    """Three incidents, the first withdrawn; one title longer than any narrow terminal's line."""
    for title in ("API errors", "Queue slow", "Checkout payments fail for some cards in the EU region since the deploy"):
        assert project.cli("post", "--yes", "--title", title, "-C", "api", "Looking into it.").exit_code == 0
    ids = [str(i["id"]) for i in json.loads(project.cli("list", "--json").stdout)]
    withdrawn = next(i for i in ids if i.startswith("api-errors"))
    assert project.cli("withdraw", withdrawn, "--yes", "--reason", "posted in error").exit_code == 0
    return ids


@pytest.mark.parametrize("columns", [32, 40, 60, 80, 100, 120])
def test_list_shows_every_id_whole_and_the_withdrawal_at_any_width(project: Project, three: list[str],
                                                                 columns: int) -> None:
    shown = _on_a_terminal(project, columns, "list")
    assert "…" not in shown, shown
    lines = shown.splitlines()
    for incident_id in three:
        assert any(incident_id in line for line in lines), (incident_id, shown)  # whole, on one line
    assert "withdrawn" in shown, shown
    # Nothing left for the terminal to break, but an id longer than the whole line: that is the terminal's to wrap
    # (copied, its own wrap joins again), never cut in two by a line end of ours.
    assert all(len(line.rstrip()) <= columns or line.strip() in three for line in lines), shown
    assert "Checkout payments fail" in shown and "deploy" in shown, shown  # the title wraps, never dropped
