"""Review 36b (each test failed before its fix), through the real CLI against the fakes.

1. ``withdraw`` skipped a webhook whose event failed by timeout, or was left pending by Ctrl-C, as "nothing of this
   incident was posted here", though the receiver had the event (its repeat carries one ``webhook-id``, so such a
   send is failed or pending, never unknown). The receiver kept the customer's detail and was never told. Now the
   withdrawal's event goes there; a channel whose failure proves nothing went out is still skipped.
2. A correction that failed at X, corrected again: ``retry`` posted both, the text the operator took back first.
   Now the earlier correction is skipped there, in the command that stores the later one and in ``retry``, and
   only the latest goes.
3. A correction made while a post's fate was in doubt where repeats carry one key (webhook, Matrix, Mastodon):
   the post was resent with the corrected text under its key, the service kept the first, and the correction,
   skipped as "it goes with this text", was lost. Now the correction follows the resend there.
"""

from __future__ import annotations

import json
import signal
import time
from typing import Any

from tests.conftest import Project
from tests.fakes.base import Fault, Response
from tests.fakes.matrix import FakeMatrix
from tests.fakes.teams import FakeTeams, plain_texts
from tests.fakes.webhook import SECRET, FakeReceiver
from tests.fakes.world import FakeWorld

HOLD = 5  # the receiver takes the event and answers only after this long: past [engine] timeout
ACME = '\n[audiences.acme]\nname = "Acme Corp"\ncomponents = ["api"]\n'
DOWN = Response(503, {"title": "Service Unavailable", "detail": "Service Unavailable", "status": 503})


def _hook_for_acme(project: Project, hook: FakeReceiver, engine: str, extra: str = "") -> None:
    project.env["S"] = SECRET
    project.write_config(engine + ACME + f'\n[channels.hook-acme]\ntype = "webhook"\naudience = "acme"\n'
                         f'url = "{hook.hook_url}"\nsecret = "${{S}}"\n' + extra)


def _at(project: Project, incident: str, destination: str) -> list[dict[str, Any]]:
    shown = json.loads(project.cli("show", incident, "--json").stdout)["deliveries"]
    return sorted((d for d in shown if d["destination"] == destination), key=lambda d: int(d["sequence"]))


def _incident(project: Project) -> str:
    return str(json.loads(project.cli("list", "--json").stdout)[0]["id"])


def _answers_gone(hook: FakeReceiver) -> None:
    """Wait until every held answer went out (to no one): the receiver serves the next request as usual."""
    last = max(r.at for r in list(hook.requests) if "/hooks/" in r.path)
    time.sleep(max(0.0, last + HOLD + 0.5 - time.monotonic()))


def _withdrawn_there(project: Project, hook: FakeReceiver, incident: str) -> None:
    """The receiver that may have the incident is sent the withdrawal's event; nothing of acme's is in it."""
    result = project.cli("withdraw", "--yes", incident, "--reason", "posted to the wrong customer")
    assert result.exit_code == 0, result.output
    assert "nothing of this incident was posted here" not in result.output, result.output
    kinds = [e["data"]["update"]["kind"] for e in hook.events]
    assert len(hook.events) == 2 and kinds[1] == "withdrawal", kinds
    assert "ACM-B1" in json.dumps(hook.events[0]) and "ACM-B1" not in json.dumps(hook.events[1])
    assert "wrong customer" not in json.dumps(hook.events[1])  # the reason is staff's
    states = [(d["sequence"], d["state"]) for d in _at(project, incident, "hook-acme")]
    assert states == [(1, "skipped"), (2, "sent")], states
    assert "Nothing to resend" in project.cli("retry", incident).output


def _left_then_withdrawn(project: Project, hook: FakeReceiver, state: str, why: str) -> None:
    """The event the receiver has is recorded ``state`` (saying ``why``); the withdrawal then goes there."""
    incident = _incident(project)
    [first] = _at(project, incident, "hook-acme")
    assert first["state"] == state and why in first["error"], first
    _answers_gone(hook)
    _withdrawn_there(project, hook, incident)


def _timed_out(project: Project, hook: FakeReceiver, title: str, detail: str, message: str) -> None:
    """A post whose event acme's receiver takes without answering in time, on both attempts: failed, yet there."""
    _hook_for_acme(project, hook, "[engine]\ntimeout = 2\ndeadline = 20\nmax_attempts = 2\n")
    hook.fail(Fault(match="/hooks/", hold=HOLD), Fault(match="/hooks/", hold=HOLD))
    posted = project.cli("post", "--yes", "--title", title, "-C", "api", "--for", "acme", detail, message)
    assert posted.exit_code == 3 and len(hook.events) == 1, posted.output  # the receiver has it


def test_a_withdrawal_reaches_a_webhook_whose_event_timed_out(project: Project) -> None:
    with FakeReceiver() as hook:
        _timed_out(project, hook, "Cache misses", "Your bucket ACM-B1 is cold.", "Cache hit rate dropped.")
        _left_then_withdrawn(project, hook, "failed", "no answer within 2s")


def test_a_withdrawal_reaches_a_webhook_whose_event_was_stopped_before_its_answer(project: Project) -> None:
    with FakeReceiver() as hook:
        _hook_for_acme(project, hook, "[engine]\ntimeout = 20\ndeadline = 60\n")
        hook.fail(Fault(match="/hooks/", hold=HOLD))
        process = project.process("post", "--yes", "--title", "Cache misses", "-C", "api", "--for", "acme",
                                  "Your bucket ACM-B1 is cold.", "Cache hit rate dropped.")
        waited_until = time.monotonic() + 30
        while not hook.events and time.monotonic() < waited_until:
            time.sleep(0.05)
        assert len(hook.events) == 1
        process.send_signal(signal.SIGINT)
        output, errors = process.communicate(timeout=60)
        assert process.returncode == 130, output + errors
        _left_then_withdrawn(project, hook, "pending", "may have arrived")


def test_a_channel_whose_failure_proves_nothing_went_out_is_still_skipped(project: Project) -> None:
    """Control: Teams answered 503 to every attempt (nothing was posted, and its repeat is no harmless one): the
    withdrawal sends it nothing, as before; the webhook that answered at once is sent its follow-up."""
    with FakeReceiver() as hook, FakeTeams() as teams:
        project.env["TEAMS_URL"] = teams.webhook_url
        _hook_for_acme(project, hook, "[engine]\ntimeout = 2\ndeadline = 20\nmax_attempts = 2\n",
                       f'\n[channels.teams-pub]\ntype = "teams"\nwebhook_url = "${{TEAMS_URL}}"\napi_url = "{teams.url}"\n')
        teams.fail(Fault(response=DOWN), Fault(response=DOWN))
        posted = project.cli("post", "--yes", "--title", "Cache misses", "-C", "api", "--for", "acme",
                             "Your bucket ACM-B1 is cold.", "Cache hit rate dropped.")
        assert posted.exit_code == 3 and teams.cards == [], posted.output
        incident = _incident(project)
        result = project.cli("withdraw", "--yes", incident, "--reason", "posted to the wrong customer")
        assert result.exit_code == 0, result.output
        assert teams.cards == [], [plain_texts(c) for c in teams.cards]
        [_, withdrawal] = _at(project, incident, "teams-pub")
        assert withdrawal["state"] == "skipped" and withdrawal["error"] == "nothing of this incident was posted here"
        assert [e["data"]["update"]["kind"] for e in hook.events][-1] == "withdrawal"


def _replies(world: FakeWorld) -> list[str]:
    return [t.text for t in world.x.tweets if "Correction" in t.text]


def _corrected_twice(project: Project, world: FakeWorld, faults: list[Fault]) -> tuple[str, Any]:
    """Posted; then X refuses (``faults``) while update 1 is corrected ("Paris"), and corrected again ("Lyon")."""
    project.write_config("[engine]\ntimeout = 1\ndeadline = 20\nmax_attempts = 2\n" + world.channels_toml())
    posted = project.cli("post", "--yes", "--json", "--title", "CDN errors", "-C", "api", "CDN errors in one region.")
    incident = json.loads(posted.stdout)["incident_id"]
    world.x.fail(*faults)
    assert project.cli("amend", "--yes", incident, "1", "CDN errors in the Paris region.").exit_code == 3
    assert [d["state"] for d in _at(project, incident, "x")][1] in ("failed", "unknown")
    again = project.cli("amend", "--yes", incident, "1", "CDN errors in the Lyon region.")
    return incident, again


def test_a_correction_corrected_again_before_it_went_out_is_never_sent(project: Project, world: FakeWorld) -> None:
    """The report's case: both corrections fail at X. The second's command skips the first there, and says so
    truly; ``retry`` sends only the latest."""
    incident, again = _corrected_twice(project, world, [Fault(match="/2/tweets", response=DOWN)] * 4)
    assert again.exit_code == 3, again.output
    assert "sends both" not in again.output and "held back" not in again.output, again.output
    assert _replies(world) == []
    states = {d["sequence"]: d for d in _at(project, incident, "x")}
    assert states[2]["state"] == "skipped" and "correction #3" in states[2]["error"], states[2]
    assert states[3]["state"] == "failed" and "503" in states[3]["error"], states[3]
    retried = project.cli("retry", incident)
    assert retried.exit_code == 0, retried.output
    assert [("Lyon" in t, "Paris" in t) for t in _replies(world)] == [(True, False)], _replies(world)
    assert project.cli("retry", incident).exit_code == 0 and len(_replies(world)) == 1


def test_the_later_correction_goes_at_once_where_the_earlier_one_failed(project: Project, world: FakeWorld) -> None:
    """X is back when the operator corrects again: the later correction goes out in that command, alone."""
    incident, again = _corrected_twice(project, world, [Fault(match="/2/tweets", response=DOWN)] * 2)
    assert again.exit_code == 0, again.output
    assert [("Lyon" in t, "Paris" in t) for t in _replies(world)] == [(True, False)], _replies(world)
    [_, first, second] = _at(project, incident, "x")
    assert first["state"] == "skipped" and "later correction of update #1" in first["error"], first
    assert second["state"] == "sent", second
    assert "Nothing to resend" in project.cli("retry", incident).output


def test_retry_skips_a_correction_of_unknown_fate_corrected_again(project: Project, world: FakeWorld) -> None:
    """The first correction's fate at X is unknown (no answer): the second is held behind it. The operator checks
    (not there) and resends with --include-unknown: ``retry`` skips the first, and sends only the latest."""
    incident, again = _corrected_twice(project, world, [Fault(match="/2/tweets", hang=3)])
    assert again.exit_code == 3 and "may or may not have arrived" in again.output, again.output
    assert _replies(world) == []
    retried = project.cli("retry", incident, "--include-unknown")
    assert retried.exit_code == 0, retried.output
    assert [("Lyon" in t, "Paris" in t) for t in _replies(world)] == [(True, False)], _replies(world)
    [_, first, second] = _at(project, incident, "x")
    assert first["state"] == "skipped" and "correction #3" in first["error"], first
    assert second["state"] == "sent", second


def test_a_correction_held_behind_its_original_says_what_retry_sends(project: Project, world: FakeWorld) -> None:
    """``amend`` while update 1 was out at X, then refused: the correction is held behind it. ``retry`` posts
    update 1 with the corrected text and skips the correction there (review 21n), so "`retry` sends both" was
    false; the held-back reason now says what ``retry`` does."""
    project.write_config("[engine]\ntimeout = 8\ndeadline = 20\nmax_attempts = 3\n" + world.channels_toml())
    world.x.fail(Fault(match="/2/tweets", response=DOWN, hold=3), Fault(match="/2/tweets", response=DOWN),
                 Fault(match="/2/tweets", response=DOWN))
    process = project.process("post", "--yes", "--title", "API errors", "-C", "api", "Errors on the EU cluster.")
    assert world.x.held.wait(10)
    time.sleep(0.3)
    amended = project.cli("amend", _incident(project), "1", "--yes", "Errors on the US cluster.")
    process.communicate(timeout=60)
    assert amended.exit_code == 3 and "sends both" not in amended.output, amended.output
    assert "sends it with this correction's text, and this correction is then not sent here" in amended.output
    assert project.cli("retry", _incident(project)).exit_code == 0
    assert [("US cluster" in t.text, "Correction" in t.text) for t in world.x.tweets] == [(True, False)]


# -- 3. a correction made while a keyed post's fate was in doubt ---------------------------------------------------
# A webhook's event, a Matrix message, a Mastodon status carry a key made from the delivery (webhook-id, transaction
# id, Idempotency-Key): the service keeps the first of two requests of one key. The original was resent with the
# corrected text under its key, kept as first sent, and the correction, skipped as "it goes with this text", was lost.


def test_a_correction_reaches_a_webhook_whose_original_may_have_arrived(project: Project) -> None:
    with FakeReceiver() as hook:
        _timed_out(project, hook, "Quota errors", "Your project ACM-Q1 is over quota.", "Quota checks fail.")
        incident = _incident(project)
        _answers_gone(hook)
        amended = project.cli("amend", "--yes", incident, "1", "Quota checks fail for some projects.",
                              "--for", "acme", "Your project ACM-Q2 is over quota.")
        assert "it goes with this correction's text" not in amended.output, amended.output
        retried = project.cli("retry", incident)
        assert retried.exit_code == 0, retried.output
        kept = [json.dumps(e) for e in hook.events]  # what the receiver took: a repeated webhook-id is dropped
        assert len(kept) == 2 and "ACM-Q1" in kept[0] and "ACM-Q2" in kept[1], kept
        assert [d["state"] for d in _at(project, incident, "hook-acme")] == ["sent", "sent"]


def _matrix_for_acme(project: Project, matrix: FakeMatrix, room: str) -> None:
    project.env["MATRIX_TOKEN"] = "syt_review36b"
    project.write_config("[engine]\ntimeout = 2\ndeadline = 20\nmax_attempts = 2\n" + ACME
                         + f'\n[channels.matrix-acme]\ntype = "matrix"\naudience = "acme"\nhomeserver = "{matrix.url}"'
                         f'\naccess_token = "${{MATRIX_TOKEN}}"\nroom_id = "{room}"\n')


def test_a_correction_reaches_a_matrix_room_whose_original_was_of_unknown_fate(project: Project) -> None:
    room = "!acme:example.org"
    with FakeMatrix(token="syt_review36b", rooms=[room]) as matrix:
        _matrix_for_acme(project, matrix, room)
        matrix.fail(Fault(match="/send/", hold=HOLD))
        posted = project.cli("post", "--yes", "--title", "Routing flaps", "-C", "api", "--for", "acme",
                             "Your route ACM-R1 flaps.", "Routes are flapping.")
        assert posted.exit_code == 3, posted.output
        incident = _incident(project)
        assert _at(project, incident, "matrix-acme")[0]["state"] == "unknown"
        time.sleep(HOLD)
        amended = project.cli("amend", "--yes", incident, "1", "Routes are flapping in Amsterdam.",
                              "--for", "acme", "Your route ACM-R2 flaps.")
        assert amended.exit_code == 3 and "held back" in amended.output, amended.output
        retried = project.cli("retry", incident, "--include-unknown")
        assert retried.exit_code == 0, retried.output
        assert "never read the text corrected" not in retried.output, retried.output
        shown = json.dumps([e.content for e in matrix.events[room]])
        assert "ACM-R2" in shown and "Amsterdam" in shown, shown  # the edit
        assert [d["state"] for d in _at(project, incident, "matrix-acme")] == ["sent", "sent"]


def test_a_correction_still_goes_with_a_webhook_post_never_tried(project: Project) -> None:
    """Control (passed before the fix too): held back behind an earlier update and never tried, nothing of it can
    have arrived, so it goes with the corrected text and the correction is not sent there twice."""
    with FakeReceiver() as hook:
        _hook_for_acme(project, hook, "[engine]\ntimeout = 2\ndeadline = 20\nmax_attempts = 2\n")
        hook.fail(*[Fault(match="/hooks/", response=Response(503, {"error": "down"}))] * 2)
        first = project.cli("post", "--yes", "--title", "Quota errors", "-C", "api", "Quota checks fail.")
        assert first.exit_code == 3, first.output
        incident = _incident(project)
        hook.fail(*[Fault(match="/hooks/", response=Response(503, {"error": "down"}))] * 2)
        second = project.cli("post", "--yes", "-i", incident, "Still failing.")
        assert second.exit_code == 3, second.output
        hook.clear_faults()
        [_, held] = _at(project, incident, "hook-acme")
        assert held["attempts"] == 0, held
        project.cli("amend", "--yes", incident, "2", "Still failing for some projects.")
        retried = project.cli("retry", incident)
        assert retried.exit_code == 0, retried.output
        texts = [e["data"]["update"]["message"] for e in hook.events]
        assert texts[-1] == "Still failing for some projects." and len(texts) == 2, texts


def test_a_correction_rides_in_a_matrix_post_that_the_homeserver_refused(project: Project) -> None:
    """Review 37b: a failure that proved nothing arrived (503) leaves one message, the corrected one, as before the
    fix: a correction after it would change nothing."""
    room = "!acme:example.org"
    with FakeMatrix(token="syt_review36b", rooms=[room]) as matrix:
        _matrix_for_acme(project, matrix, room)
        down = Response(503, {"errcode": "M_UNKNOWN", "error": "down"})
        matrix.fail(Fault(match="/send/", response=down), Fault(match="/send/", response=down))
        posted = project.cli("post", "--yes", "--title", "Routing flaps", "-C", "api", "Routes are flapping.")
        assert posted.exit_code == 3, posted.output
        incident = _incident(project)
        assert _at(project, incident, "matrix-acme")[0]["state"] == "failed"
        amended = project.cli("amend", "--yes", incident, "1", "Routes are flapping in Amsterdam.")
        assert "it goes with this correction's text" in amended.output, amended.output
        assert project.cli("retry", incident).exit_code == 0
        bodies = [e.content.get("body", "") for e in matrix.events[room]]
        assert len(bodies) == 1 and "Amsterdam" in bodies[0], bodies
