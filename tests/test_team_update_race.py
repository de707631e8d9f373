"""Two operators update one incident at once, one of them naming a customer (a hostile review's finding; failed
before its fix).

"Routing is a pure function: named in any update so far ... an audience once told hears every later update"
(ARCHITECTURE.md). ``operations.posting.publish`` plans the deliveries (``delivery_plan`` with ``earlier`` =
the incident's updates as read) before ``record_update``, and naming an audience changes no incident column, so
the compare-and-set on ``incidents.version`` does not catch a plan made before another command's update named
one. Operator B's update, planned before operator A's update named acme and stored after it, was numbered after
it yet never went to acme's channel: acme was told update 2 and silently never heard update 3. The store now
refuses a plan made before another update was stored (a conflict), and the post plans again.

Deterministic: B's shared-rooms lookup (between its plan and its store) is answered late by the fake Slack;
A runs and finishes meanwhile.
"""

from __future__ import annotations

import json
import sqlite3
import time

from tests.conftest import Project
from tests.fakes.base import Fault
from tests.fakes.slack import FakeSlack

TOKEN = "xoxb-team16-audience-4411"
CHANNELS = {"C0ACME0001": "acme-status", "C0OPS00001": "ops", "C0PUB00001": "status"}
CONFIG = """
[engine]
timeout = 10
deadline = 40
max_attempts = 2

[audiences.acme]
name = "Acme Corp"
components = ["api"]

[channels.acme-slack]
type = "slack"
audience = "acme"
token = "${{SLACK_TOKEN}}"
channel = "#acme-status"
api_url = "{url}"

[channels.ops]
type = "slack"
visibility = "internal"
token = "${{SLACK_TOKEN}}"
channel = "C0OPS00001"
api_url = "{url}"

[channels.public-slack]
type = "slack"
token = "${{SLACK_TOKEN}}"
channel = "C0PUB00001"
api_url = "{url}"
"""


def test_an_update_planned_before_a_racing_update_named_a_customer_still_reaches_that_customer(
    project: Project,
) -> None:
    with FakeSlack(token=TOKEN, channels=CHANNELS) as slack:
        project.env["SLACK_TOKEN"] = TOKEN
        project.write_config(CONFIG.format(url=slack.api_url))
        code, out = project.cli_json("post", "--yes", "--title", "Website slow", "-C", "web", "The website is slow.")
        assert code == 0, out
        incident = out["incident_id"]
        assert slack.messages["C0ACME0001"] == []  # acme not reached yet (web is not its component)
        # Forget the looked-up room (a cache any store rebuilds), so B's next command asks Slack again.
        with sqlite3.connect(project.root / ".broadcaster" / "state.db") as db:
            db.execute("DELETE FROM meta WHERE key LIKE 'room:%'")
        slack.fail(Fault(match="conversations.list", delay=4.0))

        b = project.process("post", "-i", incident, "--yes", "--json", "Still looking into it (operator B).")
        deadline = time.monotonic() + 30
        while slack._faults and time.monotonic() < deadline:  # B's lookup reached Slack: B has planned
            time.sleep(0.01)
        assert not slack._faults, b.communicate()
        code, a_out = project.cli_json("post", "-i", incident, "--yes", "--for", "acme", "Your login page is affected.",
                                       "Acme's logins are affected (operator A).")
        assert code == 0, a_out
        b_stdout, b_stderr = b.communicate(timeout=60)
        assert b.returncode == 0, b_stdout + b_stderr
        b_out = json.loads(b_stdout)
        acme = [m.text for m in slack.messages["C0ACME0001"]]
        assert a_out["sequence"] < b_out["sequence"], (a_out, b_out)
        assert [d["state"] for d in a_out["deliveries"] if d["destination"] == "acme-slack"] == ["sent"], a_out
        # Acme, told of the incident by update 2, hears update 3 too.
        b_acme = [d for d in b_out["deliveries"] if d["destination"] == "acme-slack"]
        assert [d["state"] for d in b_acme] == ["sent"] and any("operator B" in t for t in acme), json.dumps([acme, b_acme])
