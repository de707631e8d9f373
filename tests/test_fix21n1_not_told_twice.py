"""Review 21n, findings 1 and 2: a post that went out late, already carrying what a later command changed, is not
followed by a second post announcing that change.

1. ``amend`` while update 1's X post is in flight (then failing) or of unknown fate: ``retry`` posts update 1 with the
   corrected text (``as_last_corrected``); the correction held behind it is then skipped there, never posted as
   "Correction to our update" of a text X's readers never saw. Where the original went out with the old text, the
   correction still goes.
2. A postmortem whose announcement failed at X, then a changed version: ``retry`` skips the first version's
   announcement there and announces the latest as the first ("We have published a postmortem"), once.

The real CLI against the fakes."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.conftest import Project
from tests.fakes.base import Fault, Response
from tests.fakes.world import FakeWorld

DOWN = Response(503, {"title": "Service Unavailable", "detail": "Service Unavailable", "status": 503})


def _at(project: Project, incident: str, destination: str) -> list[dict[str, object]]:
    shown = json.loads(project.cli("show", incident, "--json").stdout)["deliveries"]
    return sorted((d for d in shown if d["destination"] == destination), key=lambda d: int(str(d["sequence"])))


def test_an_unknown_post_resent_after_amend_carries_the_correction_and_the_correction_is_skipped(
    project: Project, world: FakeWorld
) -> None:
    project.write_config("[engine]\ntimeout = 1\ndeadline = 20\nmax_attempts = 4\n" + world.channels_toml())
    world.x.fail(Fault(match="/2/tweets", hang=3))  # never reaches X: unknown
    posted = project.cli("post", "--yes", "--json", "--title", "API errors", "-C", "api", "Errors on the EU cluster.")
    incident = json.loads(posted.stdout)["incident_id"]
    assert [d["state"] for d in _at(project, incident, "x")] == ["unknown"]
    assert project.cli("amend", incident, "1", "--yes", "Errors on the US cluster.").exit_code == 3  # held at x

    resent = project.cli("retry", incident, "--include-unknown")
    assert resent.exit_code == 0, resent.stdout + resent.stderr
    assert [t.text for t in world.x.tweets if "cluster" in t.text] == [
        next(t.text for t in world.x.tweets if "US cluster" in t.text)]
    assert not any("Correction" in t.text or "EU cluster" in t.text for t in world.x.tweets)
    original, correction = _at(project, incident, "x")
    assert original["state"] == "sent" and correction["state"] == "skipped", (original, correction)
    assert "already with its text" in str(correction["error"])
    again = project.cli("retry", incident)  # nothing left to send there
    assert again.exit_code == 0 and len(world.x.tweets) == 1, [t.text for t in world.x.tweets]


def test_a_correction_made_while_the_post_was_out_and_failing_is_not_sent_after_it(project: Project,
                                                                                    world: FakeWorld) -> None:
    project.write_config("[engine]\ntimeout = 8\ndeadline = 20\nmax_attempts = 3\n" + world.channels_toml())
    world.x.fail(Fault(match="/2/tweets", response=DOWN, hold=3), Fault(match="/2/tweets", response=DOWN),
                 Fault(match="/2/tweets", response=DOWN))
    process = project.process("post", "--yes", "--title", "API errors", "-C", "api", "Errors on the EU cluster.")
    assert world.x.held.wait(10)
    time.sleep(0.3)
    incident = json.loads(project.cli("list", "--json").stdout)[0]["id"]
    assert project.cli("amend", incident, "1", "--yes", "Errors on the US cluster.").exit_code == 3  # held at x
    process.communicate(timeout=60)
    assert world.x.tweets == []
    retried = project.cli("retry", incident)
    assert retried.exit_code == 0, retried.stdout + retried.stderr
    assert [("US cluster" in t.text, "Correction" in t.text) for t in world.x.tweets] == [(True, False)]


def test_a_correction_still_goes_where_the_post_in_flight_went_out_with_the_old_text(project: Project,
                                                                                     world: FakeWorld) -> None:
    """No correction lost: the post out at X when ``amend`` ran arrives with the text corrected, so X's readers
    are told of the correction under it."""
    project.write_config("[engine]\ntimeout = 8\ndeadline = 20\nmax_attempts = 3\n" + world.channels_toml())
    world.x.fail(Fault(match="/2/tweets", hold=3))  # taken, answered late
    process = project.process("post", "--yes", "--title", "API errors", "-C", "api", "Errors on the EU cluster.")
    assert world.x.held.wait(10)
    time.sleep(0.3)
    incident = json.loads(project.cli("list", "--json").stdout)[0]["id"]
    amended = project.cli("amend", incident, "1", "--yes", "Errors on the US cluster.")
    process.communicate(timeout=60)
    assert amended.exit_code == 0, amended.stdout + amended.stderr
    texts = [t.text for t in world.x.tweets]
    assert len(texts) == 2 and "EU cluster" in texts[0] and "Correction" in texts[1] and "US cluster" in texts[1], texts


def _postmortem_twice(project: Project, world: FakeWorld, tmp_path: Path, fault: Fault, count: int) -> tuple[str, int]:
    posted = project.cli("post", "--yes", "--json", "--title", "API errors", "-C", "api", "Investigating.")
    incident = json.loads(posted.stdout)["incident_id"]
    assert project.cli("resolve", incident, "--yes", "Fixed.").exit_code == 0
    document = tmp_path / "postmortem.md"
    document.write_text("## What happened\n\nA router failed.\n")
    world.x.fail(*[fault for _ in range(count)])
    assert project.cli("postmortem", incident, "--file", str(document), "--yes").exit_code == 3
    before = len(world.x.tweets)
    document.write_text("## What happened\n\nA switch failed.\n")
    # Not sent at x: held behind a first version of unknown fate, or (review 36b) refused itself, the first
    # version's failed announcement skipped there by this command already.
    assert project.cli("postmortem", incident, "--file", str(document), "--yes").exit_code == 3
    return incident, before


def test_a_postmortem_version_whose_predecessor_never_went_out_is_announced_as_the_first(
    project: Project, world: FakeWorld, tmp_path: Path
) -> None:
    incident, before = _postmortem_twice(project, world, tmp_path, Fault(match="/2/tweets", response=DOWN), 8)
    retried = project.cli("retry", incident)
    assert retried.exit_code == 0, retried.stdout + retried.stderr
    told = [t.text for t in world.x.tweets[before:]]
    assert len(told) == 1 and "published a postmortem" in told[0] and "/incidents/" in told[0], told
    states = [(d["sequence"], d["state"]) for d in _at(project, incident, "x")][-2:]
    assert [s for _, s in states] == ["skipped", "sent"], states
    # Where the first version's announcement went out, the second is announced as the correction it is.
    chats = [m.text for messages in world.telegram.messages.values() for m in messages]
    assert any("corrected our postmortem" in t for t in chats), chats


def test_a_postmortem_version_after_one_of_unknown_fate_resent_is_announced_once(
    project: Project, world: FakeWorld, tmp_path: Path
) -> None:
    project.write_config("[engine]\ntimeout = 1\ndeadline = 20\nmax_attempts = 4\n" + world.channels_toml())
    incident, before = _postmortem_twice(project, world, tmp_path, Fault(match="/2/tweets", hang=3), 1)
    assert world.x.tweets[before:] == []  # the operator checks: not there
    retried = project.cli("retry", incident, "--include-unknown")
    assert retried.exit_code == 0, retried.stdout + retried.stderr
    told = [t.text for t in world.x.tweets[before:]]
    assert len(told) == 1 and "published a postmortem" in told[0], told
