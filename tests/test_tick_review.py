"""What `tick` must keep doing after a correction, a withdrawal, a missing secret, and for the bot's chats.

The real CLI against the fakes: assertions are on what the fake servers received, the exit codes, and
what `list`, `show` and `tick --json` report.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from broadcaster.messages.model import AffectedComponent, ComponentStatus, Impact, Incident, Status, Update

from broadcaster import subscribers
from broadcaster.config_loader import load
from broadcaster.store import SQLiteStore, open_store
from broadcaster.subscribers import ChatKind
from tests.conftest import ENGINE, Project
from tests.fakes.telegram import BOT_ID_NAME, FakeTelegram
from tests.fakes.world import OPS_CHATS, PUBLIC_CHAT, FakeWorld
from tests.test_audiences import AUDIENCES  # acme (api) and globex (db)


def iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat(timespec="seconds")


def run_json(project: Project, *args: str) -> tuple[int, dict[str, Any]]:
    result = project.cli(*args, "--json")
    assert result.stdout, result.stderr
    return result.exit_code, json.loads(result.stdout)


def tick(project: Project) -> tuple[int, dict[str, Any]]:
    return run_json(project, "tick")


def overdue_post(project: Project) -> str:
    code, posted = run_json(project, "post", "--yes", "--title", "API errors", "-C", "api",
                            "--next-update", iso(timedelta(seconds=-30)), "Investigting.")
    assert code == 0, posted
    return str(posted["incident_id"])


def down_for_two_hours(project: Project, incident_id: str, component: str = "api") -> None:
    """An outage that began two hours ago, stored as history: over any month's SLA so far."""
    began = datetime.now(UTC) - timedelta(hours=2)
    down = (AffectedComponent(component, ComponentStatus.MAJOR_OUTAGE),)
    config = load(str(project.config), environ=project.env)
    store = open_store(config.store_path)
    store.record_update(Incident(incident_id, "API down", Impact.CRITICAL, Status.INVESTIGATING, began, components=down),
                        Update(incident_id, 0, began, Status.INVESTIGATING, "The API is down.", components=down),
                        [], new=True)
    store.close()


# -- 1. a correction keeps the promise ------------------------------------------------------------


def test_a_typo_fix_does_not_cancel_an_overdue_promise(project: Project, world: FakeWorld) -> None:
    incident = overdue_post(project)
    amended = project.cli("amend", incident, "1", "--yes", "Investigating.")
    assert amended.exit_code == 0, amended.output
    assert [i["overdue"] for i in json.loads(project.cli("list", "--json").stdout)] == [True]
    assert "OVERDUE" in project.cli("list").stdout
    code, first = tick(project)
    assert code == 0 and first["actions"] == [f"overdue notice for {incident}"]
    for chat in OPS_CHATS:
        assert "Overdue" in world.telegram_messages(chat)[-1].text
    assert all("Overdue" not in m.text for m in world.telegram_messages(PUBLIC_CHAT))
    assert tick(project)[1]["actions"] == []  # once per promise
    # The next update the operator posts is what ends it, as before.
    assert run_json(project, "post", "--yes", "-i", incident, "Still investigating.")[0] == 0
    assert [i["overdue"] for i in json.loads(project.cli("list", "--json").stdout)] == [False]


# -- 2. once per component and month, withdrawn incidents too -------------------------------------


def test_withdrawing_the_incident_that_carried_the_sla_notice_does_not_raise_it_again(
    project: Project, world: FakeWorld,
) -> None:
    project.config.write_text(project.config.read_text().replace('id = "api"\nname = "API"', 'id = "api"\nname = "API"\nsla = 99.9'))
    down_for_two_hours(project, "api-down")
    code, posted = run_json(project, "post", "--yes", "--title", "Checkout errors", "-C", "api=major_outage", "Down.")
    assert code == 0, posted
    assert [n["incident_id"] for n in posted["notices"] if n["destination"] == "tg-ops"] == [posted["incident_id"]] * 2

    def breaches() -> int:
        return sum("SLA breach" in m.text for m in world.telegram_messages(OPS_CHATS[0]))

    assert breaches() == 1
    withdrawn = project.cli("withdraw", posted["incident_id"], "--yes", "--reason", "a duplicate of api-down")
    assert withdrawn.exit_code == 0, withdrawn.output
    assert tick(project) == (0, {"busy": False, "actions": [], "deliveries": []})
    assert breaches() == 1
    assert run_json(project, "post", "--yes", "-i", "api-down", "Still down.")[1]["notices"] == []
    assert breaches() == 1


# -- 3. one window's trouble does not stop the tick -------------------------------------------------


def test_a_missing_secret_fails_that_destination_and_the_rest_of_the_tick_still_runs(
    project: Project, world: FakeWorld,
) -> None:
    windows = []
    for title, component in (("Router swap", "api"), ("DB upgrade", "db")):
        code, scheduled = run_json(project, "maintenance", "schedule", "--yes", "--title", title,
                                   "--start", iso(timedelta(seconds=-5)), "--end", "2h", "-C", component, f"{title}.")
        assert code == 0, scheduled
        windows.append(scheduled["incident_id"])
    incident = overdue_post(project)
    tweets, slack = len(world.x.tweets), len(world.slack_messages())
    token = project.env.pop("SLACK_TOKEN")  # slack-acme (private, api only) cannot be reached by this tick

    code, first = tick(project)
    assert code == 3, first  # stored and sent, one destination failed: not 2 ("nothing was stored or sent")
    assert first["actions"] == [*(f"started {w}" for w in sorted(windows)), f"overdue notice for {incident}"]
    assert sum("In progress" in t.text for t in world.x.tweets[tweets:]) == 2
    assert "Overdue" in world.telegram_messages(OPS_CHATS[0])[-1].text
    failed = [d for d in first["deliveries"] if d["state"] == "failed"]
    assert {d["destination"] for d in failed} == {"slack-acme"} and len(failed) == 2  # the api window and the notice
    assert all("SLACK_TOKEN" in d["error"] for d in failed)
    assert len(world.slack_messages()) == slack
    assert tick(project) == (0, {"busy": False, "actions": [], "deliveries": []})  # nothing stuck, nothing twice

    project.env["SLACK_TOKEN"] = token
    retried = project.cli("retry")
    assert retried.exit_code == 0, retried.output
    sent = [m.get("text", "") if isinstance(m, dict) else str(m) for m in world.slack_messages()[slack:]]
    assert len(sent) == 2, sent


# -- 4. notices reach the bot's subscribed chats of their visibility ----------------------------------

BOT_TOKEN = "123456:bot-token"
PUBLIC_SUB, ACME_SUB, STAFF_SUB, GLOBEX_SUB = 101, 102, 103, 104


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    chats: dict[int | str, str] = {c: f"chat {c}" for c in (PUBLIC_SUB, ACME_SUB, STAFF_SUB, GLOBEX_SUB)}
    with FakeTelegram(token=BOT_TOKEN, chats=chats) as running:
        yield running


def with_subscribers(project: Project, telegram: FakeTelegram, audiences: str = AUDIENCES) -> None:
    """Only the bot: no configured channel at all, so every notice has to reach a subscribed chat."""
    project.write_config(ENGINE + audiences + f'\n[bot]\ntype = "telegram"\ntoken = "${{BOT_TOKEN}}"\n'
                         f'api_url = "{telegram.url}"\nusername = "{BOT_ID_NAME}"\n')
    project.env["BOT_TOKEN"] = BOT_TOKEN
    store = SQLiteStore(project.root / ".broadcaster" / "state.db")
    subscribers.subscribe(store, PUBLIC_SUB, ChatKind.PRIVATE)
    for chat, scope in ((ACME_SUB, ("--audience", "acme")), (GLOBEX_SUB, ("--audience", "globex")),
                        (STAFF_SUB, ("--internal",))):
        made = project.cli("subscribers", "invite", *scope)
        assert made.exit_code == 0, made.output
        code = made.output.split("?start=", 1)[1].split()[0]
        subscribers.redeem(store, code, chat, ChatKind.PRIVATE)
    store.close()


def texts(telegram: FakeTelegram, chat: int) -> list[str]:
    return [m.text for m in telegram.messages.get(chat, [])]


def test_an_overdue_notice_reaches_internal_subscribers_only(project: Project, telegram: FakeTelegram) -> None:
    with_subscribers(project, telegram)
    incident = overdue_post(project)
    assert all(len(texts(telegram, c)) == 1 for c in (PUBLIC_SUB, STAFF_SUB))  # the post itself
    code, first = tick(project)
    assert code == 0 and first["actions"] == [f"overdue notice for {incident}"]
    assert "Overdue" in texts(telegram, STAFF_SUB)[-1]
    for chat in (PUBLIC_SUB, ACME_SUB, GLOBEX_SUB):
        assert all("Overdue" not in t for t in texts(telegram, chat))
    assert tick(project)[1]["actions"] == []
    assert sum("Overdue" in t for t in texts(telegram, STAFF_SUB)) == 1
    quiet = project.cli("tick")  # the staff's chats count: no hint that notices have nowhere to go
    assert quiet.exit_code == 0 and quiet.stdout.strip() == "Nothing due.", quiet.stdout


def test_an_audiences_sla_notice_reaches_its_subscribers_and_staffs(project: Project, telegram: FakeTelegram) -> None:
    with_subscribers(project, telegram, AUDIENCES.replace('components = ["api"]', 'components = ["api"]\nsla = 99.95'))
    down_for_two_hours(project, "api-down")
    code, first = tick(project)
    assert code == 0, first
    acme, staff = "\n".join(texts(telegram, ACME_SUB)), "\n".join(texts(telegram, STAFF_SUB))
    assert "Service level notice for Acme Corp" in acme and "SLA breach for customer" not in acme
    assert "SLA breach for customer Acme Corp" in staff and "Service level notice" not in staff
    assert texts(telegram, PUBLIC_SUB) == [] and texts(telegram, GLOBEX_SUB) == []
    assert tick(project)[1]["actions"] == []
    assert sum("Service level notice" in t for t in texts(telegram, ACME_SUB)) == 1


def test_a_window_refused_for_its_config_holds_back_neither_the_notices_nor_an_honest_exit_code(
    project: Project,
) -> None:
    from tests.fakes.slack import FakeSlack

    def config(ops_channel: str) -> str:
        return ENGINE + "".join(
            f'\n[channels.{name}]\ntype = "slack"\nvisibility = "{scope}"\ntoken = "${{SLACK_TOKEN}}"\n'
            f'channel = "{channel}"\napi_url = "{fake.api_url}"\n'
            for name, scope, channel in (("public-slack", "public", "#status"), ("ops", "internal", ops_channel)))

    with FakeSlack(token="xoxb-tick", channels={"C0PUB00001": "status", "C0OPS00001": "ops"}) as fake:
        project.env["SLACK_TOKEN"] = "xoxb-tick"
        project.write_config(config("C0OPS00001"))
        code, scheduled = run_json(project, "maintenance", "schedule", "--yes", "--title", "DB upgrade",
                                   "--start", iso(timedelta(seconds=-5)), "--end", "2h", "-C", "db", "Upgrading.")
        assert code == 0, scheduled
        incident = overdue_post(project)
        window = scheduled["incident_id"]
        # The ops table now names the public channel by its id: every step is refused before it is stored.
        project.write_config(config("C0PUB00001"))
        before = {c: len(m) for c, m in fake.messages.items()}

        code, first = tick(project)
        assert code == 3, first  # the notice was stored: exit 2 would say nothing was
        refused, held, notice = first["actions"]
        assert refused.startswith(f"not started {window}: one chat (slack:C0PUB00001)")
        assert held.startswith("notices stored, not sent: one chat (slack:C0PUB00001)")
        assert held.endswith("`broadcaster retry` sends them.") and "Nothing was stored" not in held
        assert notice == f"overdue notice for {incident}"
        assert {d["state"] for d in first["deliveries"]} <= {"pending", "skipped"}
        again = project.cli("tick")  # only the window is due, and nothing of it is stored: exit 2 is true
        assert again.exit_code == 2 and "one chat (slack:C0PUB00001)" in again.stderr
        assert {c: len(m) for c, m in fake.messages.items()} == before

        project.write_config(config("C0OPS00001"))
        assert tick(project)[1]["actions"] == [f"started {window}"]
        assert project.cli("retry").exit_code == 0
        assert any("Overdue" in m.text for m in fake.messages["C0OPS00001"])
        assert not any("Overdue" in m.text for m in fake.messages["C0PUB00001"])


def test_a_tick_from_cron_says_which_delivery_failed_and_why(project: Project, world: FakeWorld) -> None:
    """Its output is all cron mails: it named the step and exited 3, and said nothing of what failed."""
    incident = overdue_post(project)
    project.env.pop("SLACK_TOKEN")
    ticked = project.cli("tick")
    assert ticked.exit_code == 3, ticked.output
    assert f"- overdue notice for {incident}" in ticked.stdout
    [failed] = [line for line in ticked.stdout.splitlines() if "slack-acme" in line]
    assert "failed" in failed and "SLACK_TOKEN" in failed, ticked.stdout
    assert f"broadcaster retry {incident}" in ticked.stdout
