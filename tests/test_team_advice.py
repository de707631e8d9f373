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


def _run(machine: Project, advice: str, *texts: str) -> CliResult:
    """The advice as printed, each "..." in it given the update's text it stands for, in order (the message last)."""
    args = shlex.split(advice)
    assert args[0] == "broadcaster" and args.count("...") == len(texts), (advice, texts)
    given = iter(texts)
    return machine.cli(*(next(given) if arg == "..." else arg for arg in args[1:]), "--yes")


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


def _not_sent_to(result: CliResult) -> list[dict[str, str]]:
    said: list[dict[str, str]] = json.loads(result.stdout).get("not_in_this_config", [])
    return said


def test_staff_note_correction_names_the_staff_channel_only_another_config_has(
    day: tuple[FakeTelegram, Project, Project, Project],
) -> None:
    """Found by a review (28g): a correction of the staff note alone named no place: staff's channel on C kept
    the old root cause."""
    telegram, a, _, c = day
    incident = _opened(c)  # C: its staff Telegram channel hears #1 with the note
    assert len(telegram.messages[STAFF_TG]) == 1 and NOTE in telegram.messages[STAFF_TG][0].text
    amended = a.cli("amend", "--yes", "--json", incident, "1", "-p", "root cause: a route leak from AS64501",
                    "API requests fail.")
    assert amended.exit_code == 0, amended.output
    said = _not_sent_to(amended)
    # staff's channel on C still shows the old root cause; nothing says so
    assert [p for p in said if p["destination"] == "tg-ops"], (said, amended.output)


def test_a_correction_back_to_the_original_text_names_where_the_first_correction_went(
    day: tuple[FakeTelegram, Project, Project, Project],
) -> None:
    """Found by a review (28g): compared with the original, a correction back to it named nothing, and the bot's
    chats kept the text corrected away everywhere else."""
    telegram, a, _, c = day
    incident = _opened(a)  # A: the bot's chats hear #1
    first = a.cli("amend", "--yes", incident, "1", "API requests fail in eu-west.")
    assert first.exit_code == 0 and "eu-west" in telegram.messages[PUB_CHAT][0].text, first.output
    back = c.cli("amend", "--yes", "--json", incident, "1", "API requests fail.")  # it was not eu-west after all
    assert back.exit_code == 0, back.output
    said = _not_sent_to(back)
    # the bot's chats still read "eu-west", corrected away everywhere C reaches; nothing says so
    assert {p["destination"] for p in said} >= {"subscribers"}, (said, back.output)


def test_a_detail_correction_back_to_the_original_names_the_customers_chat(
    day: tuple[FakeTelegram, Project, Project, Project],
) -> None:
    """The same for a customer's detail (review 28g)."""
    telegram, a, _, c = day
    incident = _opened(a)
    first = a.cli("amend", "--yes", incident, "1", "--for", "acme", "circuit FRA-43 of acme down", "API requests fail.")
    assert first.exit_code == 0 and "FRA-43" in telegram.messages[ACME_CHAT][0].text, first.output
    back = c.cli("amend", "--yes", "--json", incident, "1", "--for", "acme", DETAIL, "API requests fail.")
    assert back.exit_code == 0, back.output
    assert [p for p in _not_sent_to(back) if p["destination"].startswith("subscribers")], (_not_sent_to(back), back.output)


def test_a_resolution_with_only_still_names_the_customer_channel_this_config_cannot_name(
    day: tuple[FakeTelegram, Project, Project, Project],
) -> None:
    """Found by a review (28g): with `--only`, nothing was named, and acme, told of the outage from A, never heard it
    was over; B could not have named acme's places."""
    telegram, a, b, _ = day
    incident = _opened(a)  # acme's Slack channel and the bot's chats heard of it from A
    cannot = b.cli("resolve", "--yes", incident, "--only", "acme-slack", "Fixed.")
    assert cannot.exit_code != 0, cannot.output  # B could not have named acme's channel
    done = b.cli("resolve", "--yes", "--json", incident, "--only", "pub,ops", "Fixed.")  # the page held back
    assert done.exit_code == 0, done.output
    said = {p["destination"] for p in _not_sent_to(done)}
    # acme was told of the outage and is never told it is over; nothing says so
    assert {"acme-slack", "subscribers.audience.acme"} <= said, (said, done.output)


def test_a_detail_correction_after_a_text_correction_names_no_public_place(
    day: tuple[FakeTelegram, Project, Project, Project],
) -> None:
    """Found by a review (28g): compared with the original, a correction of acme's detail after one of the text
    named the public's chat, whose text it leaves as it is."""
    telegram, a, _, c = day
    incident = _opened(a)
    assert a.cli("amend", "--yes", incident, "1", "API requests fail in eu-west.").exit_code == 0
    amended = c.cli("amend", "--yes", "--json", incident, "1", "--for", "acme", "circuit FRA-43 of acme down",
                    "API requests fail in eu-west.")
    assert amended.exit_code == 0, amended.output
    said = _not_sent_to(amended)
    assert said and not [p for p in said if p["visibility"] == "public"], said  # the public's text is unchanged


def test_a_retitle_with_the_same_text_names_acmes_places(
    day: tuple[FakeTelegram, Project, Project, Project],
) -> None:
    """Found by a review (28h): B retitled the incident and raised its impact with the latest update's words:
    acme's places (not in B's config) kept the old title and impact, and nothing said so."""
    _, a, b, _ = day
    incident = _opened(a)
    assert a.cli("post", "--yes", "-i", incident, "Still investigating.").exit_code == 0
    retitled = b.cli("post", "--yes", "--json", "--again", "-i", incident, "--title", "API outage in every region",
                     "--impact", "critical", "Still investigating.")
    assert retitled.exit_code == 0, retitled.output
    said = {p["destination"] for p in _not_sent_to(retitled)}
    assert {"acme-slack", "subscribers.audience.acme"} <= said, said


def _followed(first: CliResult, machines: list[Project], *texts: str) -> str | None:
    """Each machine in turn runs the last one's advice, with ``texts``; the advice left at the end."""
    advice = _advice(first)
    while advice and machines:
        done = _run(machines.pop(0), advice, *texts)
        assert done.exit_code == 0, done.output
        advice = _advice(done)
    return advice


def test_the_advice_after_a_resolution_with_a_note_carries_it_and_tells_staff_once(
    day: tuple[FakeTelegram, Project, Project, Project],
) -> None:
    """Found by a review (28h): the advice gave the text alone; the follower's resolution lacked C's note, so A's
    advice named C's staff channel, and following it posted the resolution there a second time."""
    telegram, a, _, c = day
    incident = _opened(a)
    done = c.cli("resolve", "--yes", incident, "-p", "root cause: a route leak", "Fixed.")
    assert done.exit_code == 0 and len(telegram.messages[STAFF_TG]) == 1, done.output
    assert ' -p "..." "..."`' in " ".join(done.output.split()), done.output
    assert _followed(done, [a, c, a, c], "root cause: a route leak", "Fixed.") is None
    assert len(telegram.messages[STAFF_TG]) == 1, [m.text for m in telegram.messages[STAFF_TG]]


def test_the_advice_after_a_resolution_with_acmes_detail_carries_it(
    day: tuple[FakeTelegram, Project, Project, Project],
) -> None:
    """Found by a review (28h): C resolved with acme's detail; the advice as printed posted the bot's acme chat the
    resolution without it."""
    telegram, a, _, c = day
    incident = _opened(a)
    done = c.cli("resolve", "--yes", incident, "--for", "acme", "circuit FRA-42 repaired", "Fixed.")
    assert done.exit_code == 0, done.output
    assert '--for acme "..." "..."`' in " ".join(done.output.split()), done.output
    assert _followed(done, [a, c, a, c], "circuit FRA-42 repaired", "Fixed.") is None
    assert any("FRA-42 repaired" in m.text for m in telegram.messages[ACME_CHAT])
    assert not any("FRA-42 repaired" in m.text for m in telegram.messages[PUB_CHAT])



def test_the_advice_names_no_customer_the_places_named_are_not(
    day: tuple[FakeTelegram, Project, Project, Project],
) -> None:
    """Found by a review (28i): C's newer config has customer initech; its post for initech named the bot's chats
    (the public's and acme's), and the advice repeated `--customer initech`, which A, whose config lacks initech,
    refused (exit 2): the advice failed on the very machine it sent the operator to."""
    telegram, a, _, c = day
    with c.config.open("a", encoding="utf-8") as config:
        config.write('\n[audiences.initech]\nname = "Initech"\ncomponents = ["web"]\n')
    incident = _opened(a)
    done = c.cli("post", "--yes", "-i", incident, "--customer", "initech", "-C", "web", "Web too.")
    advice = _advice(done)
    assert done.exit_code == 0 and advice and "initech" not in advice, done.output
    followed = _run(a, advice, "Web too.")
    assert followed.exit_code == 0, followed.output
    assert any("Web too." in m.text for m in telegram.messages[PUB_CHAT])
