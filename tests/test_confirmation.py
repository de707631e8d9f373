"""Issue 16: the confirmation says what it acts on, before asking (driven through a pseudo-terminal)."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
from collections.abc import Callable

from tests.conftest import Project
from tests.fakes.world import FakeWorld


def in_terminal(project: Project, args: list[str],
                answer: bytes | Callable[[subprocess.Popen[bytes]], bytes | None], prompt: bytes, *,
                typed_ahead: bytes = b"", built_in: bool = False) -> tuple[int, str]:
    """Run the real CLI on a pseudo-terminal, typing ``answer`` once ``prompt`` appears (or calling it with the
    process: a signal sent as it waits, or what is done meanwhile before typing what it returns), and ``typed_ahead``
    before the process starts, as an impatient operator does.
    ``built_in``: in the project's folder with no config given, nor $BROADCASTER_CONFIG: the built-in default where
    the folder has no broadcaster.toml."""
    leader, follower = pty.openpty()
    env = {**os.environ, **project.env, "COLUMNS": "160", "TERM": "dumb"}
    config = [] if built_in else ["--config", str(project.config)]
    if built_in:
        env.pop("BROADCASTER_CONFIG", None)
    if typed_ahead:
        os.write(leader, typed_ahead)
    process = subprocess.Popen([sys.executable, "-m", "broadcaster", *config, *args],
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
            typed = answer(process) if callable(answer) else answer
            if typed:
                os.write(leader, typed)
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


def new_incident(project: Project, *args: str) -> str:
    created = project.cli("post", "--yes", "--json", "--title", "Login errors", "-C", "api", *args, "Investigating.")
    assert created.exit_code == 0, created.output
    return str(json.loads(created.stdout)["incident_id"])


def test_amend_names_the_incident_the_update_it_corrects_and_each_destination(
    project: Project, world: FakeWorld
) -> None:
    incident = new_incident(project)
    code, shown = in_terminal(project, ["amend", incident, "1", "Logins fail for EU users."], b"n\n", b"Publish now?")
    assert code == 2, shown
    assert f"Incident {incident}: Login errors" in shown
    assert "Correction of update #1" in shown and "Status: investigating (unchanged)" in shown
    assert "x [public]" in shown and "tg-ops [internal] (2 chats)" in shown and "tg-public [public]" in shown
    assert len(world.x.tweets) == 1


def test_postmortem_names_the_incident_and_each_destination(project: Project, world: FakeWorld) -> None:
    incident = new_incident(project)
    assert project.cli("resolve", incident, "--yes").exit_code == 0
    (project.root / "pm.md").write_text("# What happened\n\nA router failed.\n", encoding="utf-8")
    code, shown = in_terminal(project, ["postmortem", incident, "-f", "pm.md"], b"n\n", b"Publish now?")
    assert code == 2, shown
    assert f"Incident {incident}: Login errors" in shown and "Postmortem of the resolved incident" in shown
    assert "site [public]" in shown and "x [public]" in shown and "tg-ops [internal] (2 chats)" in shown


def test_maintenance_commands_name_the_window_its_status_change_and_each_destination(
    project: Project, world: FakeWorld
) -> None:
    code, shown = in_terminal(project, ["maintenance", "schedule", "--title", "Database upgrade", "--start", "2h",
                                        "--end", "1h", "-C", "db"], b"n\n", b"Publish now?")
    assert code == 2, shown
    assert "New incident database-upgrade-" in shown and ": Database upgrade" in shown
    assert "Status: new → scheduled" in shown and "Component db: not affected → operational" in shown
    assert "x [public]" in shown and "tg-ops [internal] (2 chats)" in shown
    created = project.cli("maintenance", "schedule", "--yes", "--json", "--title", "Database upgrade", "--start", "2h",
                          "--end", "1h", "-C", "db")
    window = json.loads(created.stdout)["incident_id"]
    for step, change in (("start", "scheduled → in_progress"), ("cancel", "scheduled → completed")):
        code, shown = in_terminal(project, ["maintenance", step, window], b"n\n", b"Publish now?")
        assert code == 2, shown
        assert f"Incident {window}: Database upgrade" in shown and f"Status: {change}" in shown, shown
        assert "x [public]" in shown and "tg-ops [internal] (2 chats)" in shown


def test_an_answer_that_is_neither_yes_nor_no_says_what_to_type(project: Project, world: FakeWorld) -> None:
    """A docs review: "ye" at the prompt got click's bare "Error: invalid input". It is asked again, saying what to
    type; a near miss is never taken as yes (the post cannot be taken back), and Enter stops."""
    code, shown = in_terminal(project, ["post", "--title", "API errors", "-C", "api", "Investigating."],
                              b"ye\n\x1b[31m\n\n", b"Publish now?")
    assert code == 2, shown
    assert '"ye" is neither yes nor no. Type y to go ahead, or n (or just Enter)' in shown
    assert '"\\x1b[31m" is neither' in shown and "\x1b[31m" not in shown.split("Publish now?")[-1]
    assert "invalid input" not in shown
    assert "not published: nothing was stored or sent." in shown
    assert world.x.tweets == [] and json.loads(project.cli("list", "--json").stdout) == []

    code, shown = in_terminal(project, ["post", "--title", "API errors", "-C", "api", "Investigating."],
                              b" Yes \n", b"Publish now?")
    assert code == 0, shown
    assert len(world.x.tweets) == 1
