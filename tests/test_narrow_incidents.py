"""An incident kept to narrow readers stays there until the operator says otherwise.

The tick already kept a window's steps where it was announced; an operator's own follow-up did not: an
incident posted `--only tg-ops` (staff only) went to the page, X and the public Telegram channel with the
next `post -i` that named no destination, title and all. Through the real CLI against the fakes.
"""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import Project
from tests.fakes.world import OPS_CHATS, PUBLIC_CHAT, FakeWorld


def posted(project: Project, *args: str) -> dict[str, Any]:
    result = project.cli("post", "--yes", "--json", *args)
    assert result.stdout, result.output
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def states(result: dict[str, Any]) -> dict[str, set[str]]:
    by_destination: dict[str, set[str]] = {}
    for d in result["deliveries"]:
        by_destination.setdefault(d["destination"], set()).add(d["state"])
    return by_destination


def staff_only_incident(project: Project) -> str:
    first = posted(project, "--title", "Replica lag on db-7", "--only", "tg-ops", "Replica lag, watching it.")
    assert states(first) == {"tg-ops": {"sent"}, **{n: {"skipped"} for n in states(first) if n != "tg-ops"}}
    return str(first["incident_id"])


def test_a_follow_up_of_a_staff_only_incident_reaches_staff_alone(project: Project, world: FakeWorld) -> None:
    incident = staff_only_incident(project)

    follow_up = posted(project, "-i", incident, "Lag gone.")
    resolved = posted(project, "-i", incident, "-s", "resolved", "Fixed.")

    for result in (follow_up, resolved):
        assert states(result)["tg-ops"] == {"sent"}
        for name in ("site", "x", "tg-public"):
            assert states(result)[name] == {"skipped"}, result
        reason = next(d["reason"] for d in result["deliveries"] if d["destination"] == "x")
        assert "--widen" in reason and "--only" in reason
    assert world.x.tweets == [] and world.telegram_messages(PUBLIC_CHAT) == []
    assert len(world.telegram_messages(OPS_CHATS[0])) == 3
    assert not any("Replica lag" in p.read_text() for p in project.site.rglob("*.*") if p.is_file())


def test_widen_or_a_destination_named_in_only_tells_more_readers(project: Project, world: FakeWorld) -> None:
    incident = staff_only_incident(project)

    named = posted(project, "-i", incident, "--only", "tg-ops,x", "Customers may notice slow reports.")
    assert states(named)["x"] == {"sent"} and states(named)["tg-public"] == {"skipped"}

    widened = posted(project, "-i", incident, "--widen", "Reports are slow for some customers.")
    assert states(widened)["tg-public"] == {"sent"} and states(widened)["site"] == {"sent"}
    assert len(world.telegram_messages(PUBLIC_CHAT)) == 1

    after = posted(project, "-i", incident, "Recovering.")  # public now: the next goes everywhere by itself
    assert states(after)["tg-public"] == {"sent"} and states(after)["x"] == {"sent"}


def test_a_skipped_public_channel_does_not_narrow_the_follow_ups(project: Project, world: FakeWorld) -> None:
    """--skip x while X is down keeps the incident public: only where it never went wider matters."""
    first = posted(project, "--title", "API errors", "--skip", "x", "Elevated errors.")
    follow_up = posted(project, "-i", first["incident_id"], "Still investigating.")
    assert states(follow_up)["x"] == {"sent"} and len(world.x.tweets) == 1


def test_a_maintenance_step_and_a_postmortem_stay_narrow_too(project: Project, world: FakeWorld, tmp_path) -> None:  # type: ignore[no-untyped-def]
    scheduled = json.loads(project.cli("maintenance", "schedule", "--yes", "--json", "--title", "Failover drill",
                                       "--start", "2h", "--end", "3h", "-C", "db", "--only", "tg-ops").stdout)
    window = scheduled["incident_id"]
    start = project.cli("maintenance", "start", window, "--yes", "--json")
    assert start.stdout, start.output
    started = json.loads(start.stdout)
    assert states(started)["tg-ops"] == {"sent"} and states(started)["x"] == {"skipped"}
    completed = json.loads(project.cli("maintenance", "complete", window, "--yes", "--json").stdout)
    assert states(completed)["tg-public"] == {"skipped"}
    notes = tmp_path / "pm.md"
    notes.write_text("# What happened\n\nThe drill went to plan.\n", encoding="utf-8")
    review = json.loads(project.cli("postmortem", window, "--file", str(notes), "--yes", "--json").stdout)
    assert states(review)["site"] == {"skipped"} and states(review)["tg-ops"] == {"sent"}
    assert world.x.tweets == [] and world.telegram_messages(PUBLIC_CHAT) == []
