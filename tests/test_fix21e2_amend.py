"""Review 21e, finding 7: an `amend` with the update's own words (retyped in a hurry, a line recalled from the
shell's history) was stored as a correction and sent to staff as a "Correction" of nothing (Telegram ops chats and
the private Slack edited), while the public side was told "the correction changes only what others read". One that
changes nothing for any reader is refused, exit 2, nothing stored or sent; one that changes only the private note
still goes to staff, and only to them."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import Project


def _post(project: Project) -> str:
    posted = project.cli("post", "--yes", "--title", "Disk full", "-C", "api", "--private", "db-3 ran out",
                         "--ticket", "OPS-12", "The disk is full.")
    assert posted.exit_code == 0, posted.output
    return str(json.loads(project.cli("list", "--json").stdout)[0]["id"])


def _updates(project: Project, incident: str) -> list[dict[str, Any]]:
    code, shown = project.cli_json("show", incident)
    assert code == 0
    return list(shown["updates"])


def _slack_edits(world: Any) -> int:
    return sum(len(m.edits) for m in world.slack_messages())


def test_an_amend_with_the_updates_own_words_is_refused_and_nothing_is_stored_or_sent(
    project: Project, world: Any
) -> None:
    incident = _post(project)
    tweets, before = len(world.x.tweets), _updates(project, incident)
    amended = project.cli("amend", incident, "1", "--yes", "The disk is full.")
    assert amended.exit_code == 2, amended.output
    assert "nothing to correct" in amended.output, amended.output
    assert "Nothing was stored or sent" in amended.output, amended.output
    assert world.telegram.edits == [], [e.text for e in world.telegram.edits]
    assert _slack_edits(world) == 0
    assert len(world.x.tweets) == tweets
    assert _updates(project, incident) == before


def test_the_same_words_with_the_same_private_note_are_refused_too(project: Project, world: Any) -> None:
    incident = _post(project)
    amended = project.cli("amend", incident, "1", "--yes", "--private", "db-3 ran out", "The disk is full.")
    assert amended.exit_code == 2, amended.output
    assert "nothing to correct" in amended.output, amended.output
    assert world.telegram.edits == []
    assert len(_updates(project, incident)) == 1


def test_after_a_refused_one_an_amend_of_the_private_note_alone_goes_to_staff_and_only_to_them(
    project: Project, world: Any
) -> None:
    incident = _post(project)
    tweets = len(world.x.tweets)
    assert project.cli("amend", incident, "1", "--yes", "The disk is full.").exit_code == 2
    amended = project.cli("amend", incident, "1", "--yes", "--private", "db-3 and db-4 ran out", "The disk is full.")
    assert amended.exit_code == 0, amended.output
    assert len(_updates(project, incident)) == 2
    edited = {e.chat_id for e in world.telegram.edits}
    assert edited == set(world.ops_chats), edited  # staff's chats, not the public channel
    assert any("db-4" in e.text for e in world.telegram.edits), [e.text for e in world.telegram.edits]
    assert _slack_edits(world) == 1  # the private Slack is staff's too
    assert len(world.x.tweets) == tweets  # the public read nothing changed: no correction reply


def test_a_real_correction_after_a_refused_one_goes_everywhere(project: Project, world: Any) -> None:
    incident = _post(project)
    assert project.cli("amend", incident, "1", "--yes", "The disk is full.").exit_code == 2
    amended = project.cli("amend", incident, "1", "--yes", "The disk on db-3 is full.")
    assert amended.exit_code == 0, amended.output
    assert any("db-3" in e.text for e in world.telegram.edits)
    assert _slack_edits(world) == 1
