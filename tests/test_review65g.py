"""Review 65g: postmortem versions and corrections against a text an unsent post carries, through the real CLI and
the fakes (Slack for staff, tests/fakes/slack.py, answering 503: nothing of the post went out).

1. A postmortem's version, or a correction, was compared with what a place was last *sent* of the text, never with
   the correction an unsent post there carries: an `amend` of a version still to go at a place is skipped there ("it
   goes with this correction's text"), and its readers get that text when `retry` sends the version. A later
   version (or correction) back to the text before the correction was then skipped there as reading the same, and
   the place kept (or got, from `retry`) the text taken back, while the page and every other place read the new
   one; exit 0.
2. A postmortem's version that a place's readers read the same as the version before it was skipped there with
   "its readers read nothing changed", exit 0, also where that version had not gone out there (it failed): they had
   never been told of the postmortem, and nothing said `retry` still owed it them. It now says so, as a correction
   does (review 20d).
3. An `amend` whose correction is skipped at a place because the update it corrects has not gone out there (the
   update goes with its text) was not guarded there: its preview had nothing to render at that place. One putting
   another customer's name in a customer's text was stored, exit 0, and every `retry` of the update was then refused
   there by the egress guard: the update never reached that customer. The preview now guards the update as it will
   go there, and the amend is refused (exit 2, nothing stored), as it is where the update went out.
4. A postmortem's new version previewed (`--dry-run`, the confirmation) where the version before it had not gone out
   showed "We have corrected our postmortem" there, while the send says "We have published a postmortem" (the
   earlier one is skipped there, never announced): the preview now renders it as the send does.
"""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import ENGINE, Project
from tests.fakes.base import Fault, Request, Response
from tests.fakes.slack import FakeSlack
from tests.fakes.world import FakeWorld
from tests.test_audiences import AUDIENCES, channels_toml, said

# One attempt a command: a failure stays failed without the engine's back-off between attempts.
ONCE = ENGINE.replace("max_attempts = 4", "max_attempts = 1")
DOWN = Response(503, {"ok": False, "error": "service_unavailable"})  # Slack did not take it: nothing was posted
V1 = "# What happened\n\nA router failed. [private]CHG-4411 broke it[/private]\n"
C1 = "# What happened\n\nA router failed. [private]CHG-4412 broke it, not CHG-4411[/private]\n"


def run(project: Project, *args: str, confirm: bool = True) -> dict[str, Any]:
    result = project.cli(*args, *(("--yes",) if confirm else ()), "--json")
    assert result.stdout, result.output
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def _slack(result: dict[str, Any]) -> dict[str, Any]:
    return next(d for d in result["deliveries"] if d["destination"] == "slack-acme")


def _to_the_public_chat(request: Request) -> bool:
    return "acmestatus" in json.dumps(request.form or request.json())


def _staff_slack_reads(world: FakeWorld) -> str:
    """Every Slack message as it stands now (edits applied), the staff channel's readers' view."""
    return "\n".join(json.dumps(m.blocks) for m in world.slack_messages())


def _resolved_with_slack_down_for_the_postmortem(project: Project, world: FakeWorld) -> tuple[str, int]:
    project.env.update(world.env)
    project.write_config(ONCE + world.channels_toml())
    incident: str = run(project, "post", "--title", "API errors", "-C", "api", "Elevated error rates.")["incident_id"]
    run(project, "resolve", incident, "Fixed.")
    (project.root / "1.md").write_text(V1, encoding="utf-8")
    world.slack.fail(*(Fault(match="chat.postMessage", response=DOWN) for _ in range(8)))
    first = run(project, "postmortem", incident, "--file", str(project.root / "1.md"))
    world.slack.clear_faults()
    assert _slack(first)["state"] == "failed", first
    corrected = run(project, "amend", incident, str(first["sequence"]), C1)
    assert "goes with this correction's text" in (_slack(corrected)["reason"] or ""), corrected
    return incident, first["sequence"]


def test_a_version_back_to_the_text_an_unsent_version_s_correction_replaced_goes_where_that_version_waits(
        project: Project) -> None:
    with FakeWorld() as world:
        incident, _ = _resolved_with_slack_down_for_the_postmortem(project, world)
        (project.root / "2.md").write_text(V1, encoding="utf-8")  # CHG-4412 was wrong after all
        second = run(project, "postmortem", incident, "--file", str(project.root / "2.md"))
        assert _slack(second)["state"] == "sent", second
        retried = project.cli("retry", incident, "--json")
        assert retried.exit_code == 0, retried.output
        staff = _staff_slack_reads(world)
        assert "CHG-4411 broke it" in staff and "CHG-4412" not in staff, staff


def test_a_version_back_to_the_text_a_retried_version_carried_goes_there(project: Project) -> None:
    with FakeWorld() as world:
        incident, _ = _resolved_with_slack_down_for_the_postmortem(project, world)
        retried = project.cli("retry", incident, "--json")
        assert retried.exit_code == 0, retried.output
        assert "CHG-4412" in _staff_slack_reads(world)  # the version went with its correction's text
        (project.root / "2.md").write_text(V1, encoding="utf-8")
        second = run(project, "postmortem", incident, "--file", str(project.root / "2.md"))
        assert _slack(second)["state"] == "sent", second
        assert "We have corrected our postmortem" in _staff_slack_reads(world)


def test_a_correction_back_to_the_text_a_retried_update_carried_goes_there(project: Project) -> None:
    with FakeWorld() as world:
        project.env.update(world.env)
        project.write_config(ONCE + world.channels_toml())
        world.slack.fail(*(Fault(match="chat.postMessage", response=DOWN) for _ in range(8)))
        first = run(project, "post", "--title", "API errors", "-C", "api", "Elevated error rates.",
                    "-p", "CHG-4411 broke it")
        world.slack.clear_faults()
        incident = first["incident_id"]
        assert _slack(first)["state"] == "failed", first
        corrected = run(project, "amend", incident, "1", "Elevated error rates.", "--private",
                        "CHG-4412 broke it, not CHG-4411")
        assert "goes with this correction's text" in (_slack(corrected)["reason"] or ""), corrected
        assert project.cli("retry", incident, "--json").exit_code == 0
        assert "CHG-4412" in _staff_slack_reads(world)
        again = run(project, "amend", incident, "1", "Elevated error rates.", "--private", "CHG-4411 broke it")
        assert _slack(again)["state"] == "sent", again
        staff = _staff_slack_reads(world)
        assert "CHG-4411 broke it" in staff and "CHG-4412" not in staff, staff


def test_a_version_read_the_same_where_the_version_before_has_not_gone_out_says_retry_sends_that(
        project: Project) -> None:
    with FakeWorld() as world:
        project.env.update(world.env)
        project.write_config(ONCE + world.channels_toml())
        incident: str = run(project, "post", "--title", "API errors", "-C", "api", "Elevated error rates.")["incident_id"]
        run(project, "resolve", incident, "Fixed.")
        (project.root / "1.md").write_text(V1, encoding="utf-8")
        world.telegram.fail(*(Fault(match="sendMessage", response=DOWN, when=_to_the_public_chat) for _ in range(8)))
        first = run(project, "postmortem", incident, "--file", str(project.root / "1.md"))
        world.telegram.clear_faults()
        public = next(d for d in first["deliveries"] if d["destination"] == "tg-public")
        assert public["state"] == "failed", first
        (project.root / "2.md").write_text(C1, encoding="utf-8")  # staff's text alone changed
        second = run(project, "postmortem", incident, "--file", str(project.root / "2.md"))
        public = next(d for d in second["deliveries"] if d["destination"] == "tg-public")
        assert public["state"] == "skipped", second
        assert f"postmortem #{first['sequence']} reads the same here, and has not gone out (failed)" in public["reason"]
        assert f"`broadcaster retry {incident}` sends it" in public["reason"], public
        # Still a version not every reader has: corrected in place, it would reach only where it went.
        amended = project.cli("amend", incident, str(second["sequence"]), "--yes", V1.replace("router", "switch"))
        assert amended.exit_code == 2 and "not every reader has" in amended.output, amended.output


def _to_acme(request: Request) -> bool:
    return "C0ACME0001" in request.body.decode()


def test_an_amend_riding_with_an_update_not_gone_out_is_guarded_as_that_update_will_go(project: Project) -> None:
    with FakeSlack(token="xoxb-review-65g", channels={"C0ACME0001": "acme", "C0GLOB0001": "globex",
                                                     "C0OPS00001": "ops", "C0PUB00001": "status"}) as slack:
        project.env["SLACK_TOKEN"] = "xoxb-review-65g"
        project.write_config(ONCE + AUDIENCES + channels_toml(slack))
        slack.fail(*(Fault(match="chat.postMessage", response=DOWN, when=_to_acme) for _ in range(3)))
        first = run(project, "post", "--title", "API errors", "-C", "api",
                    "Errors on the API. [for acme]Your circuit ACM-7.[/for]")
        slack.clear_faults()
        incident = first["incident_id"]
        assert {d["destination"]: d["state"] for d in first["deliveries"]}["acme-slack"] == "failed", first
        amended = project.cli("amend", incident, "1", "--yes",
                              "Errors on the API. [for acme]Your circuit ACM-7; Globex Industries too.[/for]")
        assert amended.exit_code == 2, amended.output
        assert "acme-slack" in amended.output and "Nothing was stored or sent" in amended.output, amended.output
        shown = json.loads(project.cli("show", incident, "--json").stdout)
        assert [u["sequence"] for u in shown["updates"]] == [1], shown["updates"]  # no correction stored
        retried = project.cli("retry", incident, "--json")
        assert retried.exit_code == 0, retried.output
        acme = said(slack, "C0ACME0001")
        assert "ACM-7" in acme and "Globex" not in acme, acme


def test_a_version_previewed_where_the_one_before_never_went_out_reads_as_the_send_will(project: Project) -> None:
    with FakeWorld() as world:
        project.env.update(world.env)
        project.write_config(ONCE + world.channels_toml())
        incident: str = run(project, "post", "--title", "API errors", "-C", "api", "Elevated error rates.")["incident_id"]
        run(project, "resolve", incident, "Fixed.")
        (project.root / "1.md").write_text(V1, encoding="utf-8")
        world.telegram.fail(*(Fault(match="sendMessage", response=DOWN, when=_to_the_public_chat) for _ in range(3)))
        run(project, "postmortem", incident, "--file", str(project.root / "1.md"))
        world.telegram.clear_faults()
        (project.root / "2.md").write_text(V1.replace("A router", "Two routers"), encoding="utf-8")
        dry = run(project, "postmortem", incident, "--dry-run", "--file", str(project.root / "2.md"), confirm=False)
        previewed = next(d for d in dry["deliveries"] if d["destination"] == "tg-public")["rendered"]
        assert "We have published a postmortem" in previewed[0], previewed
        run(project, "postmortem", incident, "--file", str(project.root / "2.md"))
        sent = world.telegram_messages("@acmestatus")[-1].html
        assert "We have published a postmortem" in sent, sent
