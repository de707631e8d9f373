"""Review 65k: the per-message re-read of a paced broadcast (65a) and its neighbours, through the real CLI and fakes.

1. A `tick` whose reminder was skipped in most chats (its window cancelled while the reminder was paced out) printed
   "- reminded ID" and nothing else, exit 0: a skip is done, so no line said it. From cron that line is the
   operator's only word of it. The tick now says how many of the step's deliveries went, how many were skipped and
   why, under the step's line (and `--json` lists it under "skipped").

The real CLI against the Telegram fake; assertions on what the fake received, the output, the exit codes and the store.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from broadcaster.delivery import DeliveryState
from tests.conftest import Project
from tests.fakes.base import Fault, Response
from tests.fakes.telegram import FakeTelegram
from tests.fakes.world import FakeWorld
from tests.test_review65a import (  # noqa: F401 - telegram: a pytest fixture
    CANCELLED,
    CHATS,
    reminder_states,
    scheduled,
    telegram,
    wait_for_reminders,
    with_public_subscribers,
)
from tests.test_wire_review17 import post


def chats_told(fake: FakeTelegram, text: str) -> int:
    return sum(any(text in m.text for m in fake.messages.get(c, [])) for c in CHATS)


# 1. The tick's word of a reminder skipped in most chats.

@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_a_tick_whose_reminder_was_skipped_in_most_chats_says_how_many_and_why(
    project: Project, telegram: FakeTelegram, as_json: bool,  # noqa: F811 - the fixture
) -> None:
    with_public_subscribers(project, telegram)
    incident = scheduled(project, timedelta(minutes=30))
    tick = project.process("tick", *(["--json"] if as_json else []))
    wait_for_reminders(telegram, 10)
    cancelled = project.cli("maintenance", "cancel", incident, "--yes")
    output, errors = tick.communicate(timeout=120)
    assert cancelled.exit_code == 0 and tick.returncode == 0, cancelled.output + output + errors
    states = reminder_states(project, incident, "subscribers")
    skipped = len(states[DeliveryState.SKIPPED])
    sent = len(states[DeliveryState.SENT]) + 1  # and the site, which builds the page from the store as it stands
    assert skipped > 0 and chats_told(telegram, CANCELLED) == len(CHATS), states.keys()
    assert set(states) == {DeliveryState.SENT, DeliveryState.SKIPPED}, states.keys()

    if as_json:
        ticked = json.loads(output)
        assert ticked["actions"] == [f"reminded {incident}"], ticked["actions"]  # unchanged: scripts compare it
        [step] = ticked["skipped"]
        assert (step["action"], step["sent"], step["of"]) == (f"reminded {incident}", sent, sent + skipped), step
        [why] = step["reasons"]
        assert why["count"] == skipped and "the window was cancelled" in why["reason"], why
        return
    said = " ".join(output.split())
    assert f"- reminded {incident} " in said + " ", said
    assert f"{sent} of {sent + skipped} deliveries sent, {skipped} skipped as they went:" in said, said
    assert f"the window was cancelled, and this reminder says the window is still to start ({skipped})" in said, said


# 2. Telegram's note on a correction it could not edit said nothing of the original, where Slack's, Discord's and
# Mastodon's say it is still up, uncorrected, and what to do (``PostedAnew.then``).

CANT_EDIT = Response(400, {"ok": False, "error_code": 400, "description": "Bad Request: message can't be edited"})


@pytest.mark.parametrize(("fault", "fate"), [
    (None, "posted the correction as a new message"),
    (Fault(match="sendMessage", response=Response(400, {"ok": False, "error_code": 400,
                                                        "description": "Bad Request: not enough rights"})),
     "did not go"),
], ids=["sent", "failed"])
def test_a_telegram_correction_that_could_not_edit_its_original_says_the_original_is_still_up(
    project: Project, world: FakeWorld, fault: Fault | None, fate: str,
) -> None:
    first = post(project, "--only", "tg-public")
    assert first["exit"] == 0, first["output"]
    world.telegram.fail(Fault(match="editMessageText", response=CANT_EDIT), *([fault] * 4 if fault else []))
    code, out = project.cli_json("amend", "--yes", str(first["incident_id"]), "1", "Errors on the whole API.")
    [corrected] = [d for d in out["deliveries"] if d["destination"] == "tg-public"]
    said = " ".join(corrected["notes"])
    assert fate in said, corrected
    assert "still up, uncorrected" in said and "by hand in Telegram" in said, said
