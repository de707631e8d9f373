"""What the confirmation shows against what is published (review 18d; each test failed before its fix): another
reader's rendering was printed under "What the public will read" when no public channel took the update, a "y"
typed before the question answered it, and a new title was not named."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys

from tests.conftest import Project
from tests.fakes.slack import FakeSlack
from tests.fakes.world import FakeWorld
from tests.test_audiences import slack  # noqa: F401 - the fixture
from tests.test_confirmation import in_terminal


def typed_ahead(project: Project, args: list[str], keys: bytes) -> tuple[int, str]:
    """Start the real CLI on a pseudo-terminal with ``keys`` already typed (before any question is shown),
    then answer nothing more: a further question gets Enter (no)."""
    leader, follower = pty.openpty()
    env = {**os.environ, **project.env, "COLUMNS": "160", "TERM": "dumb"}
    os.write(leader, keys)
    process = subprocess.Popen([sys.executable, "-m", "broadcaster", "--config", str(project.config), *args],
                               stdin=follower, stdout=follower, stderr=follower, env=env, cwd=project.root)
    os.close(follower)
    output = b""
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
        if output.rstrip().endswith(b"[y/N]:"):
            os.write(leader, b"\n")
    os.close(leader)
    return process.wait(timeout=30), output.decode(errors="replace")


def _public_part(shown: str) -> str:
    """What is printed under "What the public will read", up to the next heading (a line of rules)."""
    after = shown.split("What the public will read", 1)[1].split("\n", 1)[1]
    return after.split("──")[0]


def _posted(project: Project, text: str) -> str:
    found = json.loads(project.cli("post", "--yes", "--json", "--title", "API errors", "-C", "api", text).stdout)
    return str(found["incident_id"])


def test_a_staff_only_update_is_not_shown_as_what_the_public_will_read(project: Project, world: FakeWorld) -> None:
    incident = _posted(project, "Investigating.")
    code, shown = in_terminal(project, ["post", "-i", incident, "--only", "tg-ops", "--private", "circuit 42 of Initech",
                                        "Staff: [private]router r7 at Initech[/private] looking."], b"n\n", b"Publish now?")
    assert code == 2, shown
    public = _public_part(shown)
    assert "Initech" not in public and "router r7" not in public and "no public channel" in public, public
    assert "What tg-ops (internal) will read" in shown and "router r7" in shown  # the operator still sees it, named


def test_a_customer_only_update_is_not_shown_as_what_the_public_will_read(project: Project, slack: FakeSlack) -> None:  # noqa: F811
    code, shown = in_terminal(project, ["post", "--title", "API errors", "-C", "api", "--only", "acme-slack",
                                        "--for", "acme", "Your circuit ACM-CIRCUIT-7", "Errors."], b"n\n", b"Publish now?")
    assert code == 2, shown
    assert "ACM-CIRCUIT-7" not in _public_part(shown), shown
    assert "What acme-slack (audience:acme) will read" in shown


def test_a_correction_of_staff_detail_alone_is_not_shown_as_what_the_public_will_read(
        project: Project, world: FakeWorld) -> None:
    incident = _posted(project, "Errors on the API. [private]router r6[/private]")
    code, shown = in_terminal(project, ["amend", incident, "1", "Errors on the API. [private]router r7 at Initech[/private]"],
                              b"n\n", b"Publish now?")
    assert code == 2, shown
    assert "x [public]" not in shown and "tg-ops [internal]" in shown, shown  # staff alone take it
    public = _public_part(shown)
    assert "Initech" not in public and "router r7" not in public, public


def test_a_public_update_is_shown_as_the_public_reads_it(project: Project, world: FakeWorld) -> None:
    code, shown = in_terminal(project, ["post", "--title", "API errors", "-C", "api", "--private", "circuit 42",
                                        "Errors on the API. [private]router r7[/private]"], b"n\n", b"Publish now?")
    assert code == 2, shown
    public = _public_part(shown)
    assert "Errors on the API." in public and "router r7" not in public and "circuit 42" not in public, public


def test_the_confirmation_says_the_update_retitles_the_incident(project: Project, world: FakeWorld) -> None:
    incident = _posted(project, "Investigating.")
    code, shown = in_terminal(project, ["post", "-i", incident, "-t", "Payments outage", "Still looking."], b"n\n",
                              b"Publish now?")
    assert code == 2, shown
    assert "Title: API errors → Payments outage" in shown, shown


def test_a_yes_typed_before_the_confirmation_was_shown_does_not_publish(project: Project, world: FakeWorld) -> None:
    code, shown = typed_ahead(project, ["post", "--title", "API errors", "-C", "api", "Investigating."], b"y\n")
    assert world.x.tweets == [], shown
    assert json.loads(project.cli("list", "--json").stdout) == [], shown
    assert code != 0, shown
