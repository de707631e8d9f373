"""Team mode: the "Not sent to ..." advice, followed as printed from machine to machine (review 28f).

Three members share one team store: A has every channel and the subscriber bot, B lacks acme's channel and the
bot, C has acme's channel and a new staff Telegram channel but not the bot. Found by playing an on-call day: after
a correction the advice posted a new update (reading "...") instead of correcting, named chats the corrected
update never reached and the public for a correction of one customer's detail; and following each machine's
advice in turn after a resolution posted it again and again.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
from broadcaster.messages.model import Visibility
from click.testing import Result as CliResult

from broadcaster import subscribers
from broadcaster.store import open_store
from tests.conftest import Project
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram
from tests.fakes.world import TG_TOKEN
from tests.pg import PASSWORD_ENV, PgServer, pg_server_fixture  # noqa: F401 - pytest fixture
from tests.test_audiences import AUDIENCES
from tests.test_team_config_drift import DETAIL, ENGINE, NOTE, SLACK_TOKEN, _bot, _machine, _slack, _tg_ops

PUBLIC, ACME, OPS = "C0PUB28F01", "C0ACME28F1", "C0OPS28F01"
STAFF_TG, ACME_CHAT, PUB_CHAT = -1002800001, -1002800101, -1002800102


@pytest.fixture
def team_db(pg_server: PgServer) -> Iterator[str]:
    name = pg_server.create_database()
    yield name
    pg_server.drop_database(name)


@pytest.fixture
def day(project: Project, pg_server: PgServer, team_db: str, tmp_path: Path) -> Iterator[
        tuple[FakeTelegram, Project, Project, Project]]:
    env = {"SLACK_TOKEN": SLACK_TOKEN, "TG_TOKEN": TG_TOKEN, "BOT_TOKEN": TG_TOKEN, PASSWORD_ENV: pg_server.password}
    store = f'\n[store]\nurl = "{pg_server.config_url(team_db)}"\n'
    with FakeSlack(token=SLACK_TOKEN, channels={PUBLIC: "status", ACME: "acme", OPS: "ops"}) as slack, \
            FakeTelegram(token=TG_TOKEN, enforce_limits=False,
                         chats={STAFF_TG: "staff", ACME_CHAT: "acme's group", PUB_CHAT: "a public group"}) as telegram:
        base = (ENGINE + store + AUDIENCES + _slack("pub", PUBLIC, slack.api_url)
                + _slack("ops", OPS, slack.api_url, 'visibility = "internal"'))
        acme = _slack("acme-slack", ACME, slack.api_url, 'audience = "acme"')
        a = _machine(tmp_path, "a", env, base + acme + _bot(telegram.url))
        b = _machine(tmp_path, "b", env, base)
        c = _machine(tmp_path, "c", env, base + acme + _tg_ops(telegram.url, STAFF_TG))
        assert a.cli("list").exit_code == 0  # the team database's tables
        shared = open_store(pg_server.url(team_db))
        for chat, readers in ((ACME_CHAT, "audience:acme"), (PUB_CHAT, "public")):
            code, _ = subscribers.create_invite(shared, Visibility.parse(readers))
            subscribers.redeem(shared, code, chat, subscribers.ChatKind.GROUP)
        shared.close()
        yield telegram, a, b, c


def _opened(a: Project) -> str:
    posted = a.cli("post", "--yes", "--json", "--title", "API errors", "-C", "api", "--impact", "major",
                   "--for", "acme", DETAIL, "-p", NOTE, "API requests fail.")
    assert posted.exit_code == 0, posted.output
    return str(json.loads(posted.stdout)["incident_id"])


def _advice(result: CliResult) -> str | None:
    said = " ".join(result.output.split())
    return said.split("`")[1] if "Not sent to" in said else None


def _run(machine: Project, advice: str, text: str) -> CliResult:
    """The advice as printed, this update's text in place of its "..."."""
    args = shlex.split(advice)
    assert args[0] == "broadcaster" and args[-1] == "...", advice
    return machine.cli(*args[1:-1], "--yes", text)


def test_the_advice_after_a_correction_corrects_the_chats_it_names(
    day: tuple[FakeTelegram, Project, Project, Project],
) -> None:
    telegram, a, _, c = day
    incident = _opened(a)  # A: the bot's two chats get update #1
    amended = c.cli("amend", "--yes", incident, "1", "API requests fail in eu-west.")
    advice = _advice(amended)
    assert amended.exit_code == 0 and advice == (
        f"broadcaster amend {incident} 1 --only subscribers,subscribers.audience.acme \"...\""), amended.output
    followed = _run(a, advice, "API requests fail in eu-west.")
    assert followed.exit_code == 0, followed.output
    for chat in (ACME_CHAT, PUB_CHAT):
        assert len(telegram.messages[chat]) == 1, telegram.messages[chat]  # edited, not a second post
        assert "eu-west" in telegram.messages[chat][0].text


def test_a_correction_names_only_where_the_corrected_update_went(
    day: tuple[FakeTelegram, Project, Project, Project],
) -> None:
    _, a, b, c = day
    incident = _opened(a)
    assert b.cli("post", "--yes", "-i", incident, "Mitigation under way.").exit_code == 0  # #2: never to the bot
    amended = c.cli("amend", "--yes", "--json", incident, "2", "Mitigation under way in eu-west.")
    assert amended.exit_code == 0, amended.output
    assert json.loads(amended.stdout).get("not_in_this_config", []) == []


def test_a_correction_of_acmes_detail_names_none_of_the_publics_places(
    day: tuple[FakeTelegram, Project, Project, Project],
) -> None:
    _, a, b, _ = day
    incident = _opened(a)
    amended = b.cli("amend", "--yes", "--json", incident, "1", "--for", "acme", "circuit FRA-43 of acme down",
                    "API requests fail.")
    assert amended.exit_code == 0, amended.output
    found = json.loads(amended.stdout)
    assert {d["destination"]: d["state"] for d in found["deliveries"]}["pub"] == "skipped"  # the public: not told
    said = found.get("not_in_this_config", [])
    assert said and not [p for p in said if p["visibility"] == "public"], said


def test_following_each_machines_advice_posts_each_resolution_once(
    day: tuple[FakeTelegram, Project, Project, Project],
) -> None:
    telegram, a, _, c = day
    incident = _opened(a)
    done = c.cli("resolve", "--yes", incident, "Fixed.")
    assert done.exit_code == 0 and len(telegram.messages[STAFF_TG]) == 1, done.output
    machines = [a, c, a, c]
    advice = _advice(done)
    while advice and machines:
        done = _run(machines.pop(0), advice, "Fixed.")
        assert done.exit_code == 0, done.output
        advice = _advice(done)
    assert advice is None and len(machines) == 3, advice  # A told the bot's chats, and nothing more was asked
    assert len(telegram.messages[STAFF_TG]) == 1 and len(telegram.messages[ACME_CHAT]) == 2
