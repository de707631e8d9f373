"""Found by review 19b: the signed webhook's ``data.incident`` (components, status, resolved_at) is cut from the stored incident,
which holds what every update changed, a staff-only one's too. The engine adjusts only ``created_at`` for readers
never told an update (``engine.render``: ``started_as_told``); the site, the bot's /status and notices use
``compose.without_kept`` ("its header too, as the shown ones left it"). A public receiver is told of a component
outage only staff were told of. ``engine.render`` now cuts the incident as those readers were told it
(``compose.as_shown``), for every medium."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.conftest import ENGINE, Project
from tests.fakes.webhook import SECRET, FakeReceiver


@pytest.fixture
def hooks(project: Project) -> Iterator[tuple[FakeReceiver, FakeReceiver]]:
    with FakeReceiver() as public, FakeReceiver() as ops:
        project.write_config(ENGINE + f"""
[channels.hook]
type = "webhook"
url = "{public.hook_url}"
secret = "${{HOOK_SECRET}}"

[channels.ops]
type = "webhook"
visibility = "internal"
url = "{ops.hook_url}"
secret = "${{HOOK_SECRET}}"
""")
        project.env["HOOK_SECRET"] = SECRET
        yield public, ops


def test_a_widened_incidents_public_event_does_not_carry_a_component_only_staff_were_told_of(
    project: Project, hooks: tuple[FakeReceiver, FakeReceiver]
) -> None:
    public, ops = hooks

    def post(*args: str) -> str:
        result = project.cli("post", "--yes", "--json", *args)
        assert result.exit_code == 0, result.output
        return str(json.loads(result.stdout)["incident_id"])

    # Staff first (kept from the public from its creation), then widened to everyone.
    incident = post("--title", "Login errors", "--only", "ops", "-C", "db=major_outage", "Staff only: db-7 is down.")
    post("-i", incident, "--widen", "--status", "identified", "-C", "api", "Logins fail for some users.")
    assert len(public.events) == 1 and len(ops.events) == 2
    told = public.events[-1]["data"]["incident"]
    # The public page's JSON does not name it (compose.without_kept); the public receiver must not either.
    page = json.loads((project.root / "public" / "api" / "v2" / "incidents.json").read_text(encoding="utf-8"))
    [shown] = [i for i in page["incidents"] if i["id"] == incident]
    assert [c["id"] for c in shown["components"]] == ["api"]
    assert "db" not in [c["id"] for c in told["components"]], told["components"]


def test_a_customer_told_later_is_not_told_of_another_customers_component_outage(project: Project) -> None:
    with FakeReceiver() as a_hook, FakeReceiver() as b_hook:
        project.write_config(ENGINE + f"""
[audiences.initech]
name = "Initech"
components = ["db"]

[audiences.globex]
name = "Globex"
components = ["api"]

[channels.initech-hook]
type = "webhook"
audience = "initech"
url = "{a_hook.hook_url}"
secret = "${{HOOK_SECRET}}"

[channels.globex-hook]
type = "webhook"
audience = "globex"
url = "{b_hook.hook_url}"
secret = "${{HOOK_SECRET}}"
""")
        project.env["HOOK_SECRET"] = SECRET
        first = project.cli("post", "--yes", "--json", "--title", "Storage errors", "--only", "initech-hook",
                            "-C", "db=major_outage", "Your database is down.")
        assert first.exit_code == 0, first.output
        incident = json.loads(first.stdout)["incident_id"]
        second = project.cli("post", "--yes", "--json", "-i", incident, "--only", "initech-hook,globex-hook",
                             "-C", "api", "API calls fail too.")
        assert second.exit_code == 0, second.output
        assert len(b_hook.events) == 1
        told = b_hook.events[0]["data"]["incident"]
        assert "db" not in [c["id"] for c in told["components"]], told["components"]
