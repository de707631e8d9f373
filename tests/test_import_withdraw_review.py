"""Review findings: `store import` never takes a withdrawal back, and `withdraw` reports a post whose fate
turned unknown while it waited. Through the real CLI against the fakes."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tests.conftest import ENGINE, Project
from tests.fakes.base import Fault, Response
from tests.fakes.world import PUBLIC_CHAT, FakeWorld
from tests.pg import PASSWORD_ENV, PgServer, pg_server_fixture  # noqa: F401 - pytest fixture

UNAVAILABLE = Response(503, {"title": "Service Unavailable"})


def states(payload: dict[str, Any]) -> dict[str, str]:
    return {d["destination"] + (f" {d['target']}" if d["target"] else ""): d["state"] for d in payload["deliveries"]}


def site_mentions(project: Project, incident: str) -> list[str]:
    """The site's files that name the incident (its page, feed entries, JSON)."""
    return sorted(str(f.relative_to(project.site)) for f in project.site.rglob("*")
                  if f.is_file() and not f.name.startswith(".") and incident in f.read_text(errors="replace"))


def test_an_import_from_a_store_that_kept_posting_never_takes_the_withdrawal_back(
    project: Project, world: FakeWorld, tmp_path: Path
) -> None:
    fallback_kept_posting(project, world, tmp_path)


def test_the_team_database_keeps_the_withdrawal_too(
    project: Project, world: FakeWorld, tmp_path: Path, pg_server: PgServer
) -> None:
    database = pg_server.create_database()
    try:
        project.write_config(ENGINE + world.channels_toml() + f'\n[store]\nurl = "{pg_server.config_url(database)}"\n')
        project.env[PASSWORD_ENV] = pg_server.password
        fallback_kept_posting(project, world, tmp_path)
    finally:
        pg_server.drop_database(database)


def fallback_kept_posting(project: Project, world: FakeWorld, tmp_path: Path) -> None:
    """The team store withdraws an incident; a fallback store, with a copy from before, posts once more to it; the
    fallback's export is imported into the team store."""
    code, first = project.cli_json("post", "--yes", "--title", "API errors", "-C", "api", "Investigating.")
    incident = first["incident_id"]
    world.x.fail(*(Fault(match="/2/tweets", response=UNAVAILABLE) for _ in range(4)))
    code, second = project.cli_json("post", "--yes", "-i", incident, "Still looking.")
    assert code == 3 and states(second)["x"] == "failed", second  # unsent when withdrawn: must never go out
    team = tmp_path / "team.jsonl"
    assert project.cli("store", "export", str(team)).exit_code == 0
    fallback = str(tmp_path / "fallback.db")
    assert project.cli("--store", fallback, "store", "import", str(team)).exit_code == 0

    code, withdrawn = project.cli_json("withdraw", incident, "--yes", "--reason", "wrong customer")
    assert code == 0, withdrawn
    before = project.cli_json("show", incident)[1]["withdrawn"]
    # The fallback store never heard of the withdrawal and posts once more: its X post cannot go (#2 failed).
    code, late = project.cli_json("--store", fallback, "post", "--yes", "--skip", "site", "-i", incident, "Fix deployed.")
    assert states(late)["x"] == "failed" and states(late)["tg-public @acmestatus"] == "sent", late
    moved = tmp_path / "fallback.jsonl"
    assert project.cli("--store", fallback, "store", "export", str(moved)).exit_code == 0
    record = json.loads(moved.read_text().splitlines()[1])
    assert record["incident"]["withdrawn_at"] is None
    assert record["incident"]["updated_at"] > before["at"]  # the live copy changed last
    tweets, public_chat = list(world.x.tweets), world.telegram_messages(PUBLIC_CHAT)

    imported = project.cli("store", "import", str(moved))
    assert imported.exit_code == 0, imported.output
    assert f"{incident} stays withdrawn: 1 update(s) the file adds after its withdrawal" in imported.stdout
    listed = {i["id"]: i for i in json.loads(project.cli("list", "--json").stdout)}
    assert listed[incident]["withdrawn"] is True
    shown = project.cli_json("show", incident)[1]
    assert shown["withdrawn"] == before  # when, by whom and why: the first withdrawal's
    assert "Fix deployed." in [u["message"] for u in shown["updates"]]  # kept for the record
    assert project.cli("site", "build").exit_code == 0
    assert site_mentions(project, incident) == []
    retried = project.cli("retry")
    assert retried.exit_code == 0, retried.output
    assert world.x.tweets == tweets and world.telegram_messages(PUBLIC_CHAT) == public_chat
    assert {d["state"] for d in project.cli_json("show", incident)[1]["deliveries"]
            if d["sequence"] > 3} <= {"sent", "skipped"}  # the fallback's sent post is on record, nothing queued


def test_an_import_of_a_withdrawal_withdraws_a_copy_that_changed_later(
    project: Project, world: FakeWorld, tmp_path: Path
) -> None:
    incident, moved = withdrawn_in_a_fallback(project, tmp_path)
    code, _ = project.cli_json("post", "--yes", "--skip", "site", "-i", incident, "Still looking.")
    assert code == 0  # the team's copy changed after the fallback's withdrawal

    posted_here = [t.id for t in world.x.tweets]
    assert len(posted_here) == 2

    imported = project.cli("store", "import", str(moved))
    assert imported.exit_code == 0, imported.output
    assert f"{incident} was withdrawn in the other store" in imported.stdout and "retry" in imported.stdout
    shown = project.cli_json("show", incident)[1]
    assert shown["withdrawn"] and shown["withdrawn"]["reason"] == "test post"
    assert project.cli("site", "build").exit_code == 0
    assert site_mentions(project, incident) == []
    # What this store posted is deleted as withdraw would have (found by the fix review: it stayed up, and
    # withdraw refused an incident already withdrawn).
    again = project.cli("store", "import", str(moved))  # imports are safe to repeat (found by the second review:
    assert again.exit_code == 0, again.output           # the same file again cancelled the planned deletes)
    retried = project.cli("retry")
    assert retried.exit_code == 0, retried.output
    assert sorted(t.id for t in world.x.deleted) == sorted(posted_here), retried.output
    assert not world.x.tweets
    # The internal channel was told by the other store's withdrawal: not twice (found by the same review).
    assert sum("ithdrawn" in m.text for m in world.slack_messages()) == 1
    assert project.cli("retry").stdout.startswith("Nothing to resend")


def test_a_post_whose_fate_turns_unknown_while_the_withdrawal_waits_is_in_doubt(
    project: Project, world: FakeWorld
) -> None:
    code, first = project.cli_json("post", "--yes", "--title", "API errors", "Investigating.")
    incident = first["incident_id"]
    world.x.fail(Fault(match="/2/tweets", hold=6))  # X takes the next post; its answer comes after the timeout
    posting = project.process("post", "--yes", "-i", incident, "Still looking.")
    deadline = time.monotonic() + 20
    while len(world.x.tweets) < 2 and time.monotonic() < deadline:  # X has it; the post still waits for the answer
        time.sleep(0.02)
    code, withdrawn = project.cli_json("withdraw", incident, "--yes")
    _, errors = posting.communicate(timeout=60)  # read to the end: no pipe left open
    assert posting.returncode == 3, errors
    assert code == 3, withdrawn
    assert [(d["destination"], d["sequence"], d["state"]) for d in withdrawn["in_doubt"]] == [("x", 2, "unknown")]
    assert "delete it by hand" in withdrawn["in_doubt"][0]["error"]
    assert len(world.x.tweets) == 1 and len(world.x.deleted) == 1  # the post with no id is still up
    again = project.cli("retry", incident, "--include-unknown")
    assert again.exit_code == 3 and "delete it by hand" in again.output, again.output
    assert len(world.x.tweets) == 1


def test_a_first_post_there_still_being_sent_is_waited_for_and_in_doubt(project: Project, world: FakeWorld) -> None:
    code, first = project.cli_json("post", "--yes", "--skip", "x", "--title", "API errors", "Investigating.")
    incident = first["incident_id"]
    world.x.fail(Fault(match="/2/tweets", hold=6))
    posting = project.process("post", "--yes", "-i", incident, "Still looking.")  # the incident's first post on X
    deadline = time.monotonic() + 20
    while not world.x.tweets and time.monotonic() < deadline:
        time.sleep(0.02)
    code, withdrawn = project.cli_json("withdraw", incident, "--yes")
    _, errors = posting.communicate(timeout=60)
    assert posting.returncode == 3, errors
    assert code == 3, withdrawn
    assert [(d["destination"], d["sequence"]) for d in withdrawn["in_doubt"]] == [("x", 2)]
    assert len(world.x.tweets) == 1
    # Review 42c: X's withdrawal said "no post of the incident left here" beside the post in doubt, still up.
    notes = [n for d in withdrawn["deliveries"] if d["destination"] == "x" for n in d["notes"]]
    assert notes and not any("left here" in n for n in notes), notes
    assert any("whose id is known" in n for n in notes), notes


def test_an_incident_withdrawn_in_both_stores_is_not_withdrawn_again_by_the_import(
    project: Project, world: FakeWorld, tmp_path: Path
) -> None:
    """Found by the third fix review: the import planned this store's withdrawal again, and retry deleted again
    and sent the public a second withdrawal."""
    incident, moved = withdrawn_in_a_fallback(project, tmp_path)
    assert project.cli("withdraw", incident, "--yes", "--reason", "test post (team)").exit_code == 0
    requests = {name: len(fake.requests) for name, fake in (("x", world.x), ("tg", world.telegram), ("slack", world.slack))}

    imported = project.cli("store", "import", str(moved))
    assert imported.exit_code == 0 and "was withdrawn in the other store" not in imported.stdout, imported.output
    assert project.cli("retry").stdout.startswith("Nothing to resend")
    assert requests == {name: len(fake.requests) for name, fake in (("x", world.x), ("tg", world.telegram), ("slack", world.slack))}


def withdrawn_in_a_fallback(project: Project, tmp_path: Path) -> tuple[str, Path]:
    """An incident posted here; a fallback store, with a copy of it, withdraws it; the fallback's export."""
    code, first = project.cli_json("post", "--yes", "--title", "API errors", "-C", "api", "Investigating.")
    assert code == 0, first
    incident = first["incident_id"]
    team = tmp_path / "team.jsonl"
    assert project.cli("store", "export", str(team)).exit_code == 0
    fallback = str(tmp_path / "fallback.db")
    assert project.cli("--store", fallback, "store", "import", str(team)).exit_code == 0
    assert project.cli("--store", fallback, "withdraw", incident, "--yes", "--reason", "test post").exit_code == 0
    moved = tmp_path / "fallback.jsonl"
    assert project.cli("--store", fallback, "store", "export", str(moved)).exit_code == 0
    return incident, moved



def test_a_retry_that_withdrew_in_part_then_the_same_import_again_still_deletes_the_rest(
    project: Project, world: FakeWorld, tmp_path: Path
) -> None:
    """Found by the fourth fix review: a guard for the whole incident took a retry's done places (the site, a
    chat) for all of them, and the repeat import recorded the failed X delete as the other store's, sent."""
    incident, moved = withdrawn_in_a_fallback(project, tmp_path)
    code, _ = project.cli_json("post", "--yes", "--skip", "site", "-i", incident, "Still looking.")
    assert code == 0
    posted_here = [t.id for t in world.x.tweets]
    assert project.cli("store", "import", str(moved)).exit_code == 0
    world.x.fail(*(Fault(match="/2/tweets", response=UNAVAILABLE) for _ in range(8)))
    assert project.cli("retry").exit_code == 3  # X's deletes fail; the rest is done
    world.x._faults.clear()  # X answers again
    assert project.cli("store", "import", str(moved)).exit_code == 0
    retried = project.cli("retry")
    assert retried.exit_code == 0, retried.output
    assert sorted(t.id for t in world.x.deleted) == sorted(posted_here)
