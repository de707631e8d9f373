"""Issue 16: the confirmation says what it acts on, before asking (driven through a pseudo-terminal)."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys

from tests.conftest import Project
from tests.fakes.world import FakeWorld


def in_terminal(project: Project, args: list[str], answer: bytes, prompt: bytes) -> tuple[int, str]:
    """Run the real CLI on a pseudo-terminal, typing ``answer`` once ``prompt`` appears."""
    leader, follower = pty.openpty()
    env = {**os.environ, **project.env, "COLUMNS": "160", "TERM": "dumb"}
    process = subprocess.Popen([sys.executable, "-m", "broadcaster", "--config", str(project.config), *args],
                               stdin=follower, stdout=follower, stderr=follower, env=env, cwd=project.root)
    os.close(follower)
    output, sent = b"", False
    while True:
        ready, _, _ = select.select([leader], [], [], 30)
        if not ready:
            process.kill()
            break
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
        if not sent and prompt in output:
            os.write(leader, answer)
            sent = True
    os.close(leader)
    return process.wait(timeout=30), output.decode(errors="replace")


def test_an_update_names_the_incident_and_each_change(project: Project, world: FakeWorld) -> None:
    created = project.cli("post", "--yes", "--json", "--title", "Login [private]Initech[/private] errors",
                          "-C", "api=degraded_performance", "Investigating.")
    incident = json.loads(created.stdout)["incident_id"]
    code, shown = in_terminal(project, ["post", "-i", incident, "-s", "monitoring", "--impact", "major",
                                        "-C", "api=partial_outage", "Fix deployed."], b"n\n", b"Publish now?")
    assert code == 2, shown
    assert f"Incident {incident}: Login errors (its title has a private part" in shown
    assert "Status: investigating → monitoring" in shown
    assert "Impact: minor → major" in shown
    assert "Component api: degraded_performance → partial_outage" in shown
    assert "tg-ops [internal] (2 chats)" in shown and "x [public]" in shown
    assert "Initech" not in shown.split("What the public will read")[1].split("Destinations")[0]


def test_withdraw_shows_what_happens_at_each_destination_and_asks(project: Project, world: FakeWorld) -> None:
    incident = json.loads(project.cli("post", "--yes", "--json", "--title", "API errors", "-C", "api",
                                      "Investigating.").stdout)["incident_id"]
    code, shown = in_terminal(project, ["withdraw", incident, "--reason", "test"], b"n\n", b"Withdraw it now?")
    assert code == 2, shown
    assert f"Incident {incident}: API errors" in shown and "WITHDRAW it" in shown
    assert "x [public]: its posts deleted" in shown
    assert "tg-ops [internal] (2 chats): a note that it was withdrawn" in shown
    assert "site [public]: rebuilt without it" in shown
    assert len(world.x.tweets) == 1  # answered no: nothing deleted
