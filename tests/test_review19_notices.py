"""Review 19f, findings 1 and 2: an SLA breach notice raised again after a withdrawal tells each reader once.

1. A customer's breach raised again (its first notice stopped by the withdrawal) does not tell staff twice.
2. A breach notice that reached one staff channel but waited (left out, failed) on another is told to that other
   channel, once, when its incident is withdrawn; never again where it arrived.

The real CLI against the fakes; assertions on what the fake servers received, the exit codes and the store.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

from broadcaster.messages.model import AffectedComponent, ComponentStatus, Impact, Incident, Status, Update

from broadcaster.config_loader import load
from broadcaster.delivery import DeliveryState
from broadcaster.notices import TOLD_BEFORE
from broadcaster.store import Delivery, open_store
from tests.conftest import Project
from tests.fakes.base import Fault, Response
from tests.fakes.world import OPS_CHATS, FakeWorld
from tests.test_narrow_incidents import ACME, STAFF, customers, customers_config  # noqa: F401 - the fixture
from tests.test_review19_tick import breach_notices, run_json, with_sla

STAFF_NOTE = "SLA breach for customer Acme Corp"


def down_for_two_hours(project: Project, incident_id: str) -> None:
    """An outage of api two hours ago (within this month), stored as history: below 99.9 % this month so far."""
    began = datetime.now(UTC) - timedelta(hours=2)
    if began.month != datetime.now(UTC).month:
        began = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    down = (AffectedComponent("api", ComponentStatus.MAJOR_OUTAGE),)
    store = open_store(load(str(project.config), environ=project.env).store_path)
    try:
        store.record_update(
            Incident(incident_id, "API down", Impact.CRITICAL, Status.INVESTIGATING, began, components=down),
            Update(incident_id, 0, began, Status.INVESTIGATING, "The API is down.", components=down), [], new=True)
    finally:
        store.close()


def notices_of(project: Project, incident_id: str) -> list[tuple[Update, list[Delivery]]]:
    store = open_store(load(str(project.config), environ=project.env).store_path)
    try:
        return [(u, store.deliveries(incident_id=incident_id, sequence=u.sequence))
                for u in store.updates(incident_id) if u.kind == "notice"]
    finally:
        store.close()


def staff_told(telegram: Any) -> list[str]:
    return [m.text for m in telegram.messages.get(STAFF, []) if STAFF_NOTE in m.text]


def each_staff_chat_told_once(world: FakeWorld) -> None:
    for chat in OPS_CHATS:
        assert sum("SLA breach" in m.text for m in world.telegram_messages(chat)) == 1, chat
    assert sum("SLA breach" in m.text for m in world.slack_messages()) == 1


def post_in_error(project: Project, *args: str) -> dict[str, Any]:
    posted = project.cli("post", "--yes", "--json", "--title", "Checkout errors", "-C", "api=major_outage", *args,
                         "Checkout is failing.")
    return json.loads(posted.stdout)  # type: ignore[no-any-return]


def withdraw(project: Project, incident_id: str) -> str:
    withdrawn = project.cli("withdraw", incident_id, "--yes", "--reason", "posted in error")
    assert withdrawn.exit_code in (0, 3), withdrawn.output
    return withdrawn.output


# -- 1. a customer's breach raised again does not tell staff twice ---------------------------------------------


def test_a_customers_breach_raised_again_after_a_withdrawal_tells_staff_once(
    project: Project, customers: tuple[Any, Any]  # noqa: F811 - the fixture
) -> None:
    """The reviewer's case, its assertions kept: acme's own notice waited (`--skip tg-acme`), staff's reached
    tg-ops. Withdrawn, acme's notice is raised again on api-down and sent; staff's is not, and a tick after has
    nothing due."""
    telegram, x = customers
    project.write_config(customers_config(telegram, x, acme_sla="sla = 99.9"))
    down_for_two_hours(project, "api-down")
    posted = post_in_error(project, "--skip", "tg-acme")
    assert sum(STAFF_NOTE in m.text for m in telegram.messages.get(STAFF, [])) == 1, posted["notices"]
    assert telegram.messages.get(ACME, []) == []
    output = withdraw(project, posted["incident_id"])
    assert "SLA breach of customer acme" in output, output  # acme's notice, raised by the withdrawal
    project.cli("tick")
    project.cli("retry")
    acme = [m.text for m in telegram.messages.get(ACME, [])]
    assert sum("Service level notice" in text for text in acme) == 1, acme
    assert len(staff_told(telegram)) == 1, staff_told(telegram)
    assert [u.extra["notice"] for u, _ in notices_of(project, "api-down")] == ["audience_sla"]
    assert run_json(project, "tick")[1]["actions"] == []
    assert len(staff_told(telegram)) == 1 and len(telegram.messages.get(ACME, [])) == 1


def test_staff_are_told_again_when_a_customer_told_nothing_is_told_now(
    project: Project, customers: tuple[Any, Any]  # noqa: F811 - the fixture
) -> None:
    """A control: staff read "They have not been told" (the outage was kept from acme); once acme is told of it on
    an incident it knows, staff learn that, once. Nothing is told a third time."""
    telegram, x = customers
    project.write_config(customers_config(telegram, x, acme_sla="sla = 100"))
    hidden = project.cli("post", "--yes", "--only", "tg-ops", "--title", "Rack fire", "-C", "api=major_outage",
                         "--impact", "critical", "Staff only.")
    assert hidden.exit_code == 0, hidden.output
    assert ["They have not been told" in text for text in staff_told(telegram)] == [True]
    told = project.cli("post", "--yes", "--only", "tg-acme", "--title", "API errors for Acme", "-C",
                       "api=major_outage", "--impact", "critical", "Acme's API is down.")
    assert told.exit_code == 3 and "so the notice it raised waits" in told.output, told.output  # tg-ops left out
    assert project.cli("retry").exit_code == 0
    assert ["They have been told" in text for text in staff_told(telegram)] == [False, True]
    project.cli("tick")
    assert len(staff_told(telegram)) == 2 and len(telegram.messages.get(ACME, [])) == 2  # the post and its notice


def test_staff_never_told_of_a_breach_acme_heard_of_are_told_so_after_the_withdrawal(
    project: Project, customers: tuple[Any, Any]  # noqa: F811 - the fixture
) -> None:
    """The other way round: acme's notice arrived, staff's waited (`--skip tg-ops`) and was stopped by the
    withdrawal. Staff are told, once, that acme was told; acme is not told again."""
    telegram, x = customers
    project.write_config(customers_config(telegram, x, acme_sla="sla = 99.9"))
    down_for_two_hours(project, "api-down")
    posted = post_in_error(project, "--skip", "tg-ops")
    assert sum("Service level notice" in m.text for m in telegram.messages.get(ACME, [])) == 1
    assert staff_told(telegram) == []
    withdraw(project, posted["incident_id"])
    project.cli("tick")
    project.cli("retry")
    assert [("They have been told" in text) for text in staff_told(telegram)] == [True]
    # Sent once; the withdrawal deleted it with the incident's other posts there.
    sent = telegram.messages.get(ACME, []) + [m for m in telegram.deleted if m.chat_id == ACME]
    assert sum("Service level notice" in m.text for m in sent) == 1, [m.text for m in sent]
    assert run_json(project, "tick")[1]["actions"] == []


# -- 2. a staff channel that never got the notice is told, once ------------------------------------------------


def test_a_component_breach_notice_one_staff_channel_never_got_is_not_lost_with_its_withdrawn_incident(
    project: Project, world: FakeWorld
) -> None:
    """The reviewer's case, its assertions kept: the notice reached slack-acme and waited on tg-ops. The withdrawal
    raises it again for tg-ops alone (Slack's delivery skipped, saying why); a tick after has nothing due."""
    with_sla(project, world)
    down_for_two_hours(project, "api-down")
    payload = post_in_error(project, "--skip", "tg-ops")
    assert sum("SLA breach" in m.text for m in world.slack_messages()) == 1
    output = withdraw(project, payload["incident_id"])
    assert "Notice (SLA breach of api) raised by this update: api-down #2" in output, output
    [(notice, deliveries)] = notices_of(project, "api-down")
    assert {(d.destination, d.state, d.last_error) for d in deliveries if d.visibility == "internal"} == {
        ("tg-ops", DeliveryState.SENT, None), ("slack-acme", DeliveryState.SKIPPED, TOLD_BEFORE)}
    project.cli("tick")
    project.cli("retry")
    for chat in OPS_CHATS:
        assert sum("SLA breach" in m.text for m in world.telegram_messages(chat)) == 1, (
            f"tg-ops chat {chat} was never told the API is below its SLA")
    assert sum("SLA breach" in m.text for m in world.slack_messages()) == 1
    assert run_json(project, "tick") == (0, {"busy": False, "actions": [], "deliveries": []})
    each_staff_chat_told_once(world)


def test_a_notice_of_unknown_fate_on_one_channel_is_raised_again_only_where_it_waited(
    project: Project, world: FakeWorld
) -> None:
    """Slack took the notice but its answer was lost (unknown, then covered by the withdrawal: it may be there);
    tg-ops was left out. The breach is raised again for tg-ops alone: Slack's staff never read it twice."""
    with_sla(project, world)
    down_for_two_hours(project, "api-down")
    world.slack.fail(Fault(match="chat.postMessage", after=1, reset_after=True))  # the update's goes; the notice's?
    code, posted = run_json(project, "post", "--yes", "--title", "Checkout errors", "-C", "api=major_outage",
                            "--skip", "tg-ops", "Checkout is failing.")
    assert code == 3, posted
    assert {n["destination"]: n["state"] for n in posted["notices"] if n["visibility"] == "internal"} == {
        "slack-acme": "unknown", "tg-ops": "pending"}, posted["notices"]
    withdraw(project, posted["incident_id"])
    assert run_json(project, "tick")[1]["actions"] == []
    project.cli("retry")
    assert sum("SLA breach" in m.text for m in world.slack_messages()) == 1
    for chat in OPS_CHATS:
        assert sum("SLA breach" in m.text for m in world.telegram_messages(chat)) == 1, chat


def test_a_notice_that_failed_on_one_channel_is_raised_again_only_there(project: Project, world: FakeWorld) -> None:
    with_sla(project, world)
    down_for_two_hours(project, "api-down")
    chat_not_found = Response(400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"})
    world.telegram.fail(*(Fault(match="sendMessage", response=chat_not_found) for _ in range(30)))
    code, posted = run_json(project, "post", "--yes", "--title", "Checkout errors", "-C", "api=major_outage",
                            "Checkout is failing.")
    assert code == 3, posted
    assert {n["destination"]: n["state"] for n in posted["notices"] if n["visibility"] == "internal"} == {
        "slack-acme": "sent", "tg-ops": "failed"}, posted["notices"]
    world.telegram.clear_faults()
    withdraw(project, posted["incident_id"])
    each_staff_chat_told_once(world)
    assert run_json(project, "tick")[1]["actions"] == []
    project.cli("retry")
    each_staff_chat_told_once(world)


def test_a_place_left_to_a_withdrawn_notice_that_then_failed_is_told_by_the_next_tick(
    project: Project, world: FakeWorld
) -> None:
    """The notice raised again left Slack out because the withdrawn one was there (say, still being sent). Had
    that send failed after all, Slack was told nothing: the next tick raises the breach for Slack alone, once."""
    with_sla(project, world)
    down_for_two_hours(project, "api-down")
    payload = post_in_error(project, "--skip", "tg-ops")
    withdraw(project, payload["incident_id"])
    [(first, _)] = notices_of(project, payload["incident_id"])
    with sqlite3.connect(project.root / ".broadcaster" / "state.db") as db:  # Slack's send of it failed after all
        db.execute("UPDATE deliveries SET state = 'failed', remote_id = NULL WHERE incident_id = ? AND sequence = ? "
                   "AND destination = 'slack-acme'", (first.incident_id, first.sequence))
    code, ticked = run_json(project, "tick")
    assert ticked["actions"] == ["sla_breach notice for api-down"], ticked
    [_, (again, deliveries)] = notices_of(project, "api-down")
    assert {d.destination for d in deliveries if d.state != DeliveryState.SKIPPED} == {"slack-acme"}, deliveries
    assert breach_notices(world) == 4  # Slack's first (recorded failed here), tg-ops' two chats, Slack's again
    assert run_json(project, "tick")[1]["actions"] == []


def test_a_breach_told_on_two_withdrawn_incidents_is_not_raised_a_third_time(project: Project, world: FakeWorld) -> None:
    """The notice raised again is withdrawn with its incident too, while another outage still breaches: between
    them staff were told everywhere, so nothing more is raised."""
    with_sla(project, world)
    down_for_two_hours(project, "api-down")
    down_for_two_hours(project, "api-down-again")
    payload = post_in_error(project, "--skip", "tg-ops")
    withdraw(project, payload["incident_id"])
    each_staff_chat_told_once(world)
    [carrier] = [i for i in ("api-down", "api-down-again") if notices_of(project, i)]
    output = withdraw(project, carrier)
    assert "Notice (" not in output, output
    assert run_json(project, "tick")[1]["actions"] == []
    project.cli("retry")
    each_staff_chat_told_once(world)
