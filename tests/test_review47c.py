"""Review 47c: what the operator's terminal shows, attacked through the real CLI against the fakes."""

from __future__ import annotations

import json
import sqlite3

from tests.conftest import ENGINE, Project
from tests.fakes.base import Fault, Response
from tests.fakes.world import FakeWorld

# A server (or a proxy in front of it) answering a refusal with a megabyte: an error page, a hostile description.
HUGE = "Bad Request: " + "A" * 1_000_000


def test_a_servers_megabyte_of_error_text_is_stored_and_shown_bounded(project: Project, world: FakeWorld) -> None:
    """Each delivery's line, its stored error and its `--json` carried the whole answer: 1 MB per delivery, five
    deliveries, five megabytes on the terminal and in the state file. Now each is cut in its middle, our advice
    (what to do) kept at its end."""
    project.write_config(ENGINE + world.channels_toml())
    world.telegram.fail(*[Fault(match="sendMessage", response=Response(
        400, {"ok": False, "error_code": 400, "description": HUGE})) for _ in range(6)])
    world.slack.fail(*[Fault(match="chat.postMessage", response=Response(200, {"ok": False, "error": HUGE}))
                       for _ in range(6)])
    world.x.fail(*[Fault(match="tweets", response=Response(403, {"detail": HUGE, "title": "Forbidden"}))
                   for _ in range(6)])
    posted = project.cli("post", "--yes", "--json", "--title", "API errors", "-C", "api", "Elevated errors.")
    assert posted.exit_code == 3, posted.stderr[:2000]
    assert len(posted.stdout) < 30_000, len(posted.stdout)
    outcomes = json.loads(posted.stdout)["deliveries"]
    failed = [o for o in outcomes if o["state"] == "failed"]
    assert {o["destination"] for o in failed} == {"x", "tg-public", "tg-ops", "slack-acme"}, outcomes
    for outcome in failed:
        assert "…" in outcome["error"] and len(outcome["error"]) <= 2000, outcome["error"][:300]
    assert any(o["error"].endswith("and send again.") or "developer portal" in o["error"][-600:] for o in failed
               if o["destination"] == "x"), [o["error"][-300:] for o in failed]
    with sqlite3.connect(project.root / ".broadcaster" / "state.db") as db:
        lengths = [n for (n,) in db.execute("SELECT length(last_error) FROM deliveries WHERE last_error IS NOT NULL")]
    assert lengths and max(lengths) <= 2000, lengths
    incident = json.loads(posted.stdout)["incident_id"]
    for args in (("show", incident), ("retry",)):
        world.telegram.fail(*[Fault(match="sendMessage", response=Response(
            400, {"ok": False, "error_code": 400, "description": HUGE})) for _ in range(6)])
        shown = project.cli(*args)
        assert len(shown.stdout + shown.stderr) < 30_000, (args, len(shown.stdout + shown.stderr))
