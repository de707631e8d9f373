"""Team mode: the members' configs need not say the same (a laptop not yet given the new customer's channel).

Found by a review (27pg): a `retry` on a machine whose config lacked a customer's channel skipped, for good, the
delivery another machine had failed to send there ("'acme-slack' is no longer in the config"), exit 0; once that
channel answered again, `retry` on the machine that has it said "Nothing to resend", and the customer never heard
of its incident. One machine whose config changed skips such a delivery (``test_delivery_states``); in team mode it
is left as it is for a machine whose config has it, said so with exit 3, unless ``--skip-removed``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from broadcaster.messages.model import Visibility
from click.testing import Result

from broadcaster import subscribers
from broadcaster.store import Store, open_store
from tests.conftest import Project
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram
from tests.fakes.webhook import SECRET, FakeReceiver
from tests.fakes.world import TG_TOKEN
from tests.pg import PASSWORD_ENV, PgServer, pg_server_fixture  # noqa: F401 - pytest fixture
from tests.ports import free_port
from tests.test_audiences import AUDIENCES

SLACK_TOKEN = "xoxb-drift-27-team-5e1c"
PUBLIC, ACME, OPS = "C0PUB27001", "C0ACME2701", "C0OPS27001"
DETAIL = "circuit FRA-42 of acme down"
NOTE = "root cause: a BGP leak from AS64500"
ENGINE = "\n[engine]\ntimeout = 10\ndeadline = 40\nmax_attempts = 1\n"
LEFT = "not sent, left as it is"


@pytest.fixture
def team_db(pg_server: PgServer) -> Iterator[str]:
    name = pg_server.create_database()
    yield name
    pg_server.drop_database(name)


def _slack(name: str, channel: str, url: str, extra: str = "") -> str:
    return (f'\n[channels.{name}]\ntype = "slack"\ntoken = "${{SLACK_TOKEN}}"\nchannel = "{channel}"\n'
            f'api_url = "{url}"\n{extra}\n')


def _tg_ops(url: str, *chats: int) -> str:
    """Staff's Telegram channel, sending to ``chats``."""
    return (f'\n[channels.tg-ops]\ntype = "telegram"\nvisibility = "internal"\ntoken = "${{TG_TOKEN}}"\n'
            f'chat_ids = [{", ".join(map(str, chats))}]\napi_url = "{url}"\n')


def _bot(url: str) -> str:
    """The subscriber bot, on Telegram at ``url``."""
    return f'\n[bot]\ntype = "telegram"\ntoken = "${{BOT_TOKEN}}"\napi_url = "{url}"\nusername = "status_bot"\n'


def _bot_team(pg_server: PgServer, team_db: str) -> tuple[dict[str, str], str]:
    """The environment and the ``[store]`` table of a team whose machines run the bot."""
    return ({"BOT_TOKEN": TG_TOKEN, PASSWORD_ENV: pg_server.password},
            f'\n[store]\nurl = "{pg_server.config_url(team_db)}"\n')


def _invited(shared: Store, chat: int, readers: str) -> None:
    """``chat`` subscribed with an invite for ``readers``, as the bot would on the chat's /start CODE."""
    code, _ = subscribers.create_invite(shared, Visibility.parse(readers))
    subscribers.redeem(shared, code, chat, subscribers.ChatKind.GROUP)


def _acme_told_in(chat: int, machine: Project, team_url: str) -> Result:
    """``chat`` subscribed for acme, then ``machine`` posts an incident with acme's detail: the post's result."""
    assert machine.cli("list").exit_code == 0  # the team database's tables
    shared = open_store(team_url)
    _invited(shared, chat, "audience:acme")
    shared.close()
    return machine.cli("post", "--yes", "--json", "--title", "API slow", "-C", "api", "--for", "acme", DETAIL,
                       "The API is slow.")


def _machine(root: Path, name: str, env: dict[str, str], config: str) -> Project:
    machine = Project(root / name)
    machine.root.mkdir()
    machine.env.update(env)
    machine.write_config(config)
    return machine


def _states(machine: Project, incident: str, destination: str) -> list[str]:
    shown = json.loads(machine.cli("show", incident, "--json").stdout)
    return [d["state"] for d in shown["deliveries"] if d["destination"] == destination]


@pytest.fixture
def customer_down(project: Project, pg_server: PgServer, team_db: str, tmp_path: Path) -> Iterator[
        tuple[FakeSlack, Project, Project, str]]:
    """Machine A (acme's channel, refusing for now) posted; machine B's config has the public channel alone."""
    env = {"SLACK_TOKEN": SLACK_TOKEN, PASSWORD_ENV: pg_server.password}
    store = f'\n[store]\nurl = "{pg_server.config_url(team_db)}"\n'
    with FakeSlack(token=SLACK_TOKEN, channels={PUBLIC: "status", ACME: "acme"}) as slack:
        def a_config(acme_url: str) -> str:
            return (ENGINE + store + '\n[audiences.acme]\nname = "Acme Corp"\ncomponents = ["api"]\n'
                    + _slack("pub", PUBLIC, slack.api_url) + _slack("acme-slack", ACME, acme_url, 'audience = "acme"'))

        a = _machine(tmp_path, "a", env, a_config(f"http://127.0.0.1:{free_port()}/api/"))  # acme's Slack down
        b = _machine(tmp_path, "b", env, ENGINE + store + _slack("pub", PUBLIC, slack.api_url))
        posted = a.cli("post", "--yes", "--json", "--title", "API slow", "-C", "api", "--for", "acme", DETAIL,
                       "The API is slow.")
        assert posted.exit_code == 3, posted.output
        a.write_config(a_config(slack.api_url))  # and back
        incident = json.loads(posted.stdout)["incident_id"]
        assert _states(a, incident, "acme-slack") == ["failed"]
        yield slack, a, b, incident


def test_a_retry_where_the_customers_channel_is_not_configured_leaves_it_for_a_machine_where_it_is(
    customer_down: tuple[FakeSlack, Project, Project, str],
) -> None:
    slack, a, b, incident = customer_down
    on_b = b.cli("retry")
    assert on_b.exit_code == 3, on_b.output
    assert LEFT in on_b.output and "'acme-slack' is not in this machine's config" in on_b.output, on_b.output
    assert "--skip-removed" in on_b.output, on_b.output
    assert _states(a, incident, "acme-slack") == ["failed"]  # as it was: not skipped, not claimed
    as_json = json.loads(b.cli("retry", "--json").stdout)
    [left] = [d for d in as_json["deliveries"] if d["destination"] == "acme-slack"]
    assert left["state"] == "failed" and LEFT in left["error"], as_json
    on_a = a.cli("retry")
    assert on_a.exit_code == 0, on_a.output
    assert any(DETAIL in json.dumps(m.blocks) + m.text for m in slack.messages[ACME]), (on_a.output, slack.messages[ACME])
    assert _states(a, incident, "acme-slack") == ["sent"]


def test_skip_removed_skips_it_for_good(customer_down: tuple[FakeSlack, Project, Project, str]) -> None:
    slack, a, b, incident = customer_down
    typo = b.cli("retry", "--skip-removed", "acme-slak")
    assert typo.exit_code == 2 and "Did you mean 'acme-slack'" in typo.output, typo.output
    assert _states(a, incident, "acme-slack") == ["failed"]  # nothing skipped or sent
    assert b.cli("retry", "--skip-removed", "pub").exit_code == 2  # this config has it: nothing to skip there
    on_b = b.cli("retry", "--skip-removed", "acme-slack")
    assert on_b.exit_code == 0, on_b.output
    assert _states(a, incident, "acme-slack") == ["skipped"]
    on_a = a.cli("retry")
    assert on_a.exit_code == 0 and "Nothing to resend" in on_a.output, on_a.output
    assert slack.messages[ACME] == []


def test_skip_removed_skips_only_what_it_names(
    project: Project, pg_server: PgServer, team_db: str, tmp_path: Path,
) -> None:
    """Found by a review (27rx): following one line's advice (a channel taken out of the team's config) skipped
    every delivery left for another member's config, a customer's still to send among them."""
    env = {"SLACK_TOKEN": SLACK_TOKEN, PASSWORD_ENV: pg_server.password}
    store = f'\n[store]\nurl = "{pg_server.config_url(team_db)}"\n'
    customer = '\n[audiences.acme]\nname = "Acme Corp"\ncomponents = ["api"]\n'
    with FakeSlack(token=SLACK_TOKEN, channels={PUBLIC: "status", ACME: "acme", OPS: "ops"}) as slack:
        down = f"http://127.0.0.1:{free_port()}/api/"

        def a_config(url: str) -> str:
            return (ENGINE + store + customer + _slack("pub", PUBLIC, slack.api_url)
                    + _slack("acme-slack", ACME, url, 'audience = "acme"')
                    + _slack("old-slack", OPS, url, 'visibility = "internal"'))

        a = _machine(tmp_path, "a", env, a_config(down))
        b = _machine(tmp_path, "b", env, ENGINE + store + _slack("pub", PUBLIC, slack.api_url))
        posted = a.cli("post", "--yes", "--json", "--title", "API slow", "-C", "api", "The API is slow.")
        assert posted.exit_code == 3, posted.output
        incident = json.loads(posted.stdout)["incident_id"]
        on_b = b.cli("retry")
        assert "--skip-removed acme-slack" in on_b.output and "--skip-removed old-slack" in on_b.output, on_b.output
        on_b = b.cli("retry", "--skip-removed", "old-slack")
        assert on_b.exit_code == 3, on_b.output  # acme's still waits
        assert (_states(a, incident, "old-slack"), _states(a, incident, "acme-slack")) == (["skipped"], ["failed"])
        a.write_config(a_config(slack.api_url))
        assert a.cli("retry").exit_code == 0
        assert len(slack.messages[ACME]) == 1 and slack.messages[OPS] == []


def test_a_chat_this_machines_channel_does_not_list_is_left_too(
    project: Project, pg_server: PgServer, team_db: str, tmp_path: Path,
) -> None:
    first, second = -1002701, -1002702
    env = {"TG_TOKEN": TG_TOKEN, PASSWORD_ENV: pg_server.password}
    store = f'\n[store]\nurl = "{pg_server.config_url(team_db)}"\n'

    with FakeTelegram(token=TG_TOKEN, chats={first: "ops one"}) as telegram:
        a = _machine(tmp_path, "a", env, ENGINE + store + _tg_ops(telegram.url, first, second))
        b = _machine(tmp_path, "b", env, ENGINE + store + _tg_ops(telegram.url, first))
        posted = a.cli("post", "--yes", "--json", "--title", "API slow", "-p", "edge router fra-2", "Slow.")
        assert posted.exit_code == 3, posted.output  # the second chat is not there yet
        incident = json.loads(posted.stdout)["incident_id"]
        on_b = b.cli("retry")
        assert on_b.exit_code == 3 and f"{second} is not a target of tg-ops in this machine's config" in on_b.output, \
            on_b.output
        assert sorted(_states(a, incident, "tg-ops")) == ["failed", "sent"]
        telegram.add_chat(second, "ops two")
        on_a = a.cli("retry")
        assert on_a.exit_code == 0, on_a.output
        [sent] = telegram.messages[second]
        assert "edge router fra-2" in sent.text  # staff's note, to staff's chat


@pytest.fixture
def told_acme(project: Project, pg_server: PgServer, team_db: str, tmp_path: Path) -> Iterator[
        tuple[FakeSlack, Project, Project, str]]:
    """Machine A (public, staff's and acme's channels) posted with acme's detail; machine B's config has the public
    channel alone. Found by the same review: B's follow-up, correction and resolution never reached acme or staff,
    exit 0, and nothing said so (A's `retry`: "Nothing to resend")."""
    env = {"SLACK_TOKEN": SLACK_TOKEN, PASSWORD_ENV: pg_server.password}
    store = f'\n[store]\nurl = "{pg_server.config_url(team_db)}"\n'
    with FakeSlack(token=SLACK_TOKEN, channels={PUBLIC: "status", ACME: "acme", OPS: "ops"}) as slack:
        a = _machine(tmp_path, "a", env, ENGINE + store + '\n[audiences.acme]\nname = "Acme Corp"\ncomponents = ["api"]\n'
                     + _slack("pub", PUBLIC, slack.api_url) + _slack("acme-slack", ACME, slack.api_url, 'audience = "acme"')
                     + _slack("ops", OPS, slack.api_url, 'visibility = "internal"'))
        b = _machine(tmp_path, "b", env, ENGINE + store + _slack("pub", PUBLIC, slack.api_url))
        posted = a.cli("post", "--yes", "--json", "--title", "API slow", "-C", "api", "-p", NOTE, "--for", "acme",
                       DETAIL, "The API is slow.")
        assert posted.exit_code == 0, posted.output
        yield slack, a, b, json.loads(posted.stdout)["incident_id"]


def _texts(slack: FakeSlack, channel: str) -> list[str]:
    return [m.text for m in slack.messages[channel]]


NOT_SENT = "Not sent to acme-slack (audience:acme), ops (internal): this incident's earlier updates went there"


def test_a_follow_up_says_where_the_incident_went_that_this_config_does_not_have(
    told_acme: tuple[FakeSlack, Project, Project, str],
) -> None:
    """Said, not sent for another member's config: a first fix that recorded it there for the other machine's retry
    posted twice where the other config names the table otherwise, and past a --skip (review 27rw)."""
    slack, a, b, incident = told_acme
    preview = b.cli("post", "--dry-run", "-i", incident, "Still slow (from B).")
    assert NOT_SENT in " ".join(preview.output.split()), preview.output
    followed = b.cli("post", "--yes", "-i", incident, "Still slow (from B).")
    assert followed.exit_code == 0, followed.output
    said = " ".join(followed.output.split())
    assert NOT_SENT in said and f'broadcaster post -i {incident} --only acme-slack,ops "..."' in said, said
    as_json = json.loads(b.cli("resolve", "--yes", "--json", incident, "Fixed (from B).").stdout)
    assert as_json["not_in_this_config"] == [
        {"destination": "acme-slack", "target": "", "visibility": "audience:acme"},
        {"destination": "ops", "target": "", "visibility": "internal"},
    ], as_json
    assert _texts(slack, ACME) == ["Investigating: API slow\nThe API is slow."]  # B cannot send there
    assert a.cli("retry").output.startswith("Nothing to resend")  # and nothing sends it by itself
    assert not any(DETAIL in t or NOTE in t for t in _texts(slack, PUBLIC))


def test_a_follow_up_with_only_sends_nothing_later(told_acme: tuple[FakeSlack, Project, Project, str]) -> None:
    slack, a, b, incident = told_acme
    followed = b.cli("post", "--yes", "--only", "pub", "-i", incident, "Still slow (public only).")
    assert followed.exit_code == 0, followed.output
    assert a.cli("retry").output.startswith("Nothing to resend")
    assert not any("public only" in t for t in _texts(slack, ACME) + _texts(slack, OPS))


def test_a_withdrawal_where_the_customers_channel_is_not_configured_leaves_its_delete_for_a_machine_that_has_it(
    told_acme: tuple[FakeSlack, Project, Project, str],
) -> None:
    """Found by a review (28a): B named acme's post left up, "delete it by hand", and nothing could take it back:
    a withdrawn incident takes no second withdrawal, and no delete was recorded for A's retry."""
    slack, a, b, incident = told_acme
    withdrawn = b.cli("withdraw", "--yes", incident, "--reason", "posted in error")
    said = " ".join(withdrawn.output.split())
    assert withdrawn.exit_code == 3 and LEFT in said and "--skip-removed acme-slack" in said, said
    assert slack.messages[PUBLIC] == [] and len(slack.messages[ACME]) == 1
    assert b.cli("retry").exit_code == 3  # still B's config lacks it
    on_a = a.cli("retry")
    assert on_a.exit_code == 0 and "deleted 1 post(s)" in on_a.output, on_a.output
    assert slack.messages[ACME] == [] and len(slack.deleted) == 2  # the public channel's (B's) and acme's (A's)
    assert not any("posted in error" in m.text for m in slack.messages[OPS])  # staff's note: B's, by hand


def test_one_machine_whose_config_lost_a_channel_still_leaves_it_out(project: Project, tmp_path: Path) -> None:
    """The embedded file: one machine, its config changed (acme's channel taken out), nothing left for anyone."""
    project.env["SLACK_TOKEN"] = SLACK_TOKEN
    with FakeSlack(token=SLACK_TOKEN, channels={PUBLIC: "status", ACME: "acme"}) as slack:
        customer = '\n[audiences.acme]\nname = "Acme Corp"\ncomponents = ["api"]\n'
        project.write_config(ENGINE + customer + _slack("pub", PUBLIC, slack.api_url)
                             + _slack("acme-slack", ACME, slack.api_url, 'audience = "acme"'))
        posted = project.cli("post", "--yes", "--json", "--title", "API slow", "-C", "api", "The API is slow.")
        assert posted.exit_code == 0, posted.output
        project.write_config(ENGINE + customer + _slack("pub", PUBLIC, slack.api_url))
        followed = project.cli("post", "--yes", "-i", json.loads(posted.stdout)["incident_id"], "Still slow.")
        assert followed.exit_code == 0 and "acme-slack" not in followed.output, followed.output
        assert "Not sent to" not in followed.output


@pytest.mark.parametrize("readers", ['visibility = "public"', 'audience = "globex"'])
def test_a_retry_where_the_channel_is_for_other_readers_leaves_it_too(
    project: Project, pg_server: PgServer, team_db: str, tmp_path: Path, readers: str,
) -> None:
    """Found by a review of the rule above (27rv): machine B's config, older or newer, names acme's table for other
    readers (the public, another customer): its retry skipped acme's delivery for good, exit 0. Never sent there
    (to other readers), and now left for a machine whose config has it for acme."""
    env = {"SLACK_TOKEN": SLACK_TOKEN, PASSWORD_ENV: pg_server.password}
    store = f'\n[store]\nurl = "{pg_server.config_url(team_db)}"\n'
    customers = ('\n[audiences.acme]\nname = "Acme Corp"\ncomponents = ["api"]\n'
                 '\n[audiences.globex]\nname = "Globex Industries"\ncomponents = ["db"]\n')
    other = "C0GLOB2701"
    with FakeSlack(token=SLACK_TOKEN, channels={PUBLIC: "status", ACME: "acme", other: "globex"}) as slack:
        def a_config(acme_url: str) -> str:
            return (ENGINE + store + customers + _slack("pub", PUBLIC, slack.api_url)
                    + _slack("acme-slack", ACME, acme_url, 'audience = "acme"'))

        a = _machine(tmp_path, "a", env, a_config(f"http://127.0.0.1:{free_port()}/api/"))
        b = _machine(tmp_path, "b", env, ENGINE + store + customers + _slack("pub", PUBLIC, slack.api_url)
                     + _slack("acme-slack", other, slack.api_url, readers))
        posted = a.cli("post", "--yes", "--json", "--title", "API slow", "-C", "api", "--for", "acme", DETAIL,
                       "The API is slow.")
        assert posted.exit_code == 3, posted.output
        a.write_config(a_config(slack.api_url))
        incident = json.loads(posted.stdout)["incident_id"]
        on_b = b.cli("retry")
        assert on_b.exit_code == 3 and "acme-slack is for" in on_b.output and LEFT in on_b.output, on_b.output
        assert slack.messages[other] == []
        assert _states(a, incident, "acme-slack") == ["failed"]
        on_a = a.cli("retry")
        assert on_a.exit_code == 0, on_a.output
        assert any(DETAIL in json.dumps(m.blocks) + m.text for m in slack.messages[ACME])
        assert slack.messages[other] == []


def test_the_tick_says_where_the_window_went_that_this_config_does_not_have(
    project: Project, pg_server: PgServer, team_db: str, tmp_path: Path,
) -> None:
    """The tick's reminder, from a machine whose config lacks acme's channel (review 27rw): said in its output and
    its JSON, from cron the operator's only word of it."""
    env = {"SLACK_TOKEN": SLACK_TOKEN, PASSWORD_ENV: pg_server.password}
    store = f'\n[store]\nurl = "{pg_server.config_url(team_db)}"\n'
    remind = "\n[maintenance]\nreminder_minutes = 60\n"
    with FakeSlack(token=SLACK_TOKEN, channels={PUBLIC: "status", ACME: "acme"}) as slack:
        a = _machine(tmp_path, "a", env, ENGINE + remind + store + '\n[audiences.acme]\nname = "Acme Corp"\n'
                     'components = ["api"]\n' + _slack("pub", PUBLIC, slack.api_url)
                     + _slack("acme-slack", ACME, slack.api_url, 'audience = "acme"'))
        b = _machine(tmp_path, "b", env, ENGINE + remind + store + _slack("pub", PUBLIC, slack.api_url))
        scheduled = a.cli("maintenance", "schedule", "--yes", "--json", "--title", "API upgrade", "--start", "30m",
                          "--end", "2h", "-C", "api")
        assert scheduled.exit_code == 0, scheduled.output
        ticked = b.cli("tick", "--json")
        assert ticked.exit_code == 0, ticked.output
        said = json.loads(ticked.stdout)["not_in_this_config"]
        assert [(s["destination"], s["visibility"]) for s in said] == [("acme-slack", "audience:acme")], said
        assert len(slack.messages[ACME]) == 1  # the schedule, from A; not the reminder


@pytest.mark.parametrize("readers", ['visibility = "public"', 'audience = "globex"'])
def test_a_follow_up_where_this_config_has_the_channel_for_other_readers_says_so(
    told_acme: tuple[FakeSlack, Project, Project, str], readers: str,
) -> None:
    slack, a, b, incident = told_acme
    with b.config.open("a", encoding="utf-8") as config:  # B's config, older or newer, has acme's table otherwise
        config.write('\n[audiences.globex]\nname = "Globex"\ncomponents = ["db"]\n'
                     + _slack("acme-slack", OPS, slack.api_url, readers))
    followed = b.cli("post", "--yes", "--json", "-i", incident, "Still slow (from B).")
    assert followed.exit_code == 0, followed.output
    said = json.loads(followed.stdout)["not_in_this_config"]
    assert {"destination": "acme-slack", "target": "", "visibility": "audience:acme"} in said, said


@pytest.mark.parametrize("drift", ["a table names the chat there", "its audience is defined there alone",
                                   "the chat stopped"])
def test_a_subscribers_chat_another_config_sends_is_left_to_it(
    project: Project, pg_server: PgServer, team_db: str, tmp_path: Path, drift: str,
) -> None:
    """Found by a review (27rx): the bot's chats are the store's, but which destination sends to one is each config's
    (a table naming it, its audience defined or not): B's retry skipped A's failed delivery to an active chat for
    good ("no longer a target"), and the chat never heard the update. A chat that stopped is skipped, as ever."""
    chat = -1002799001
    env, store = _bot_team(pg_server, team_db)

    with FakeTelegram(token=TG_TOKEN, chats={chat: "customer group"}) as telegram:
        b_extra = (f'\n[channels.ops]\ntype = "telegram"\nvisibility = "internal"\ntoken = "${{BOT_TOKEN}}"\n'
                   f'chat_ids = [{chat}]\napi_url = "{telegram.url}"\n') if drift.startswith("a table") else ""
        a_customers = "" if drift.startswith("its audience") else AUDIENCES
        a = _machine(tmp_path, "a", env, ENGINE + store + a_customers + _bot(f"http://127.0.0.1:{free_port()}/"))
        b = _machine(tmp_path, "b", env, ENGINE + store + AUDIENCES + _bot(telegram.url) + b_extra)
        assert a.cli("list").exit_code == 0  # the team database's tables
        shared = open_store(pg_server.url(team_db))
        _invited(shared, chat, "audience:acme" if drift.startswith("its audience") else "public")
        posted = a.cli("post", "--yes", "--json", "--title", "API slow", "The API is slow.")
        assert posted.exit_code == 3, posted.output  # the bot's API is down on A
        incident = json.loads(posted.stdout)["incident_id"]
        a.write_config(ENGINE + store + a_customers + _bot(telegram.url))
        if drift == "the chat stopped":
            subscribers.unsubscribe(shared, chat)
        shared.close()
        on_b = b.cli("retry")
        states = [d["state"] for d in json.loads(a.cli("show", incident, "--json").stdout)["deliveries"]
                  if d["destination"].startswith("subscribers")]
        if drift == "the chat stopped":
            assert on_b.exit_code == 0 and states == ["skipped"], (on_b.output, states)
            return
        assert on_b.exit_code == 3 and "is sent otherwise than by subscribers" in on_b.output, on_b.output
        assert states == ["failed"], states
        assert a.cli("retry").exit_code == 0
        assert [m.text for m in telegram.messages[chat]] and "The API is slow." in telegram.messages[chat][0].text


def test_the_advice_after_a_resolution_works_as_given(told_acme: tuple[FakeSlack, Project, Project, str]) -> None:
    """Found by a review (27rx): after B's resolution the advice was a plain `post -i ID --only ...`, which a resolved
    incident refuses (exit 2). It reopens and closes it again, there alone."""
    import shlex

    slack, a, b, incident = told_acme
    resolved = b.cli("resolve", "--yes", incident, "Fixed (from B).")
    said = " ".join(resolved.output.split())
    advised = f"broadcaster post -i {incident} --reopen -s resolved --only acme-slack,ops"
    assert advised in said, said
    public = len(slack.messages[PUBLIC])
    followed = a.cli(*shlex.split(advised)[1:], "--yes", "Fixed.")
    assert followed.exit_code == 0, followed.output
    assert any("Fixed." in t for t in _texts(slack, ACME)) and any("Fixed." in t for t in _texts(slack, OPS))
    assert len(slack.messages[PUBLIC]) == public


def test_a_bots_thousands_of_chats_are_counted_not_listed_in_the_line() -> None:
    """A review's probe (27rx): 5,000 earlier deliveries to chats this config lacks made one line of 170 KB."""
    import io
    from datetime import UTC, datetime

    from broadcaster.messages.model import Impact, Incident, Status, Update
    from rich.console import Console

    from broadcaster.cli.output import ELSEWHERE_SHOWN, print_elsewhere
    from broadcaster.operations import PostResult

    now = datetime(2026, 12, 6, tzinfo=UTC)
    incident = Incident("api-slow", "API slow", Impact.MAJOR, Status.INVESTIGATING, now)
    places = [("subscribers.audience.acme", str(-1002700000 - n), "audience:acme") for n in range(5000)]
    result = PostResult(incident, Update("api-slow", 2, now, Status.INVESTIGATING, "Still slow."), False,
                        elsewhere=places)
    written = io.StringIO()
    print_elsewhere(Console(file=written, width=200, soft_wrap=True), result)
    said = written.getvalue()
    assert len(said) < 2_000 and f"and {5000 - ELSEWHERE_SHOWN} more (`--json` lists them)" in said, said
    assert "--only subscribers.audience.acme " in said


@pytest.mark.parametrize("drift", ["re-invited for another customer", "re-invited for the public",
                                   "migrated into a supergroup subscribed for the public"])
def test_a_subscribers_chat_now_subscribed_for_other_readers_is_skipped_not_left_for_ever(
    project: Project, pg_server: PgServer, team_db: str, tmp_path: Path, drift: str,
) -> None:
    """Found by a review (27ry): A's delivery of acme's detail to a chat failed; the chat was then subscribed for
    other readers. Every machine's retry left it "for another member's config", exit 3, for ever: no config sends
    that chat acme's detail any more, and none should. It is skipped (the engine's rule), and acme's detail never
    reaches the chat's new readers."""

    chat, supergroup = -2799101, -1002799102
    env, store = _bot_team(pg_server, team_db)

    with FakeTelegram(token=TG_TOKEN, chats={chat: "acme's group", supergroup: "acme's supergroup"}) as telegram:
        a = _machine(tmp_path, "a", env, ENGINE + store + AUDIENCES + _bot(f"http://127.0.0.1:{free_port()}/"))
        b = _machine(tmp_path, "b", env, ENGINE + store + AUDIENCES + _bot(telegram.url))
        assert a.cli("list").exit_code == 0  # the team database's tables
        shared = open_store(pg_server.url(team_db))
        _invited(shared, chat, "audience:acme")
        posted = a.cli("post", "--yes", "--json", "--title", "API slow", "-C", "api", "--for", "acme", DETAIL,
                       "The API is slow.")
        assert posted.exit_code == 3, posted.output  # the bot's API is down on A
        incident = json.loads(posted.stdout)["incident_id"]
        if drift.startswith("migrated"):
            subscribers.subscribe(shared, supergroup, subscribers.ChatKind.GROUP)
            subscribers.migrate(shared, chat, supergroup)
        else:
            readers = "audience:globex" if "customer" in drift else "public"
            _invited(shared, chat, readers)
        shared.close()
        on_b = b.cli("retry")
        assert on_b.exit_code == 0 and LEFT not in on_b.output, on_b.output
        states = [d["state"] for d in json.loads(a.cli("show", incident, "--json").stdout)["deliveries"]
                  if d["destination"].startswith("subscribers")]
        assert states == ["skipped"], states
        assert telegram.messages[chat] == [] and telegram.messages[supergroup] == []
        a.write_config(ENGINE + store + AUDIENCES + _bot(telegram.url))
        assert a.cli("retry").output.startswith("Nothing to resend")


def test_a_chat_a_table_here_names_but_skips_is_said_not_sent(
    project: Project, pg_server: PgServer, team_db: str, tmp_path: Path,
) -> None:
    """Found by a review (27ry): a subscribed chat this config names in a staff table filtered to other components
    counted as told (a planned delivery to it, skipped), so "Not sent to ..." left out the customer's chat that the
    incident's first post reached."""

    chat = -1002799201
    env, store = _bot_team(pg_server, team_db)
    with FakeTelegram(token=TG_TOKEN, chats={chat: "acme's group"}) as telegram:
        a = _machine(tmp_path, "a", env, ENGINE + store + AUDIENCES + _bot(telegram.url))
        table = (f'\n[channels.db-ops]\ntype = "telegram"\nvisibility = "internal"\ntoken = "${{BOT_TOKEN}}"\n'
                 f'chat_ids = [{chat}]\ncomponents = ["db"]\napi_url = "{telegram.url}"\n')
        b = _machine(tmp_path, "b", env, ENGINE + store + AUDIENCES + _bot(telegram.url) + table)
        assert a.cli("list").exit_code == 0
        shared = open_store(pg_server.url(team_db))
        _invited(shared, chat, "audience:acme")
        shared.close()
        posted = a.cli("post", "--yes", "--json", "--title", "API slow", "-C", "api", "The API is slow.")
        assert posted.exit_code == 0 and len(telegram.messages[chat]) == 1, posted.output
        followed = b.cli("post", "--yes", "--json", "-i", json.loads(posted.stdout)["incident_id"], "Still slow.")
        assert followed.exit_code == 0, followed.output
        said = json.loads(followed.stdout).get("not_in_this_config", [])
        assert {"destination": "subscribers.audience.acme", "target": str(chat), "visibility": "audience:acme"} \
            in said, said
        assert len(telegram.messages[chat]) == 1  # B's table skips it (its components): not told, and said so


def test_a_withdrawal_names_staffs_channel_this_config_lacks(
    told_acme: tuple[FakeSlack, Project, Project, str],
) -> None:
    """Found by a review (27ry): B's withdrawal named acme's post left up, but not staff's channel, which heard the
    incident and never its withdrawal (its note with the reason not sent there), exit 3 for acme's alone."""
    slack, a, b, incident = told_acme
    withdrawn = b.cli("withdraw", "--yes", incident, "--reason", "posted in error")
    said = " ".join(withdrawn.output.split())
    assert "Not told of the withdrawal: ops (internal)" in said and "Tell them by hand" in said, said
    assert "acme-slack (audience:acme)" not in said.split("Not told of the withdrawal:")[1], said  # named above
    assert withdrawn.exit_code == 3 and len(slack.messages[OPS]) == 1, withdrawn.output  # B cannot tell staff


def test_skip_removed_names_one_chat_of_a_channel(
    project: Project, pg_server: PgServer, team_db: str, tmp_path: Path,
) -> None:
    """Found by a review (27ry): the advice named the whole destination, and a bot's or a channel's thousands of chats
    went with the one chat taken out of the team's config. `--skip-removed DEST:CHAT` skips that chat's alone."""
    first, gone, waiting = -1002703, -1002704, -1002705
    env = {"TG_TOKEN": TG_TOKEN, PASSWORD_ENV: pg_server.password}
    store = f'\n[store]\nurl = "{pg_server.config_url(team_db)}"\n'

    with FakeTelegram(token=TG_TOKEN, chats={first: "ops one"}) as telegram:
        a = _machine(tmp_path, "a", env, ENGINE + store + _tg_ops(telegram.url, first, gone, waiting))
        b = _machine(tmp_path, "b", env, ENGINE + store + _tg_ops(telegram.url, first))
        posted = a.cli("post", "--yes", "--json", "--title", "API slow", "Slow.")
        assert posted.exit_code == 3, posted.output
        incident = json.loads(posted.stdout)["incident_id"]
        on_b = b.cli("retry")
        said = " ".join(on_b.output.split())
        assert f"--skip-removed tg-ops:{gone}" in said and f"--skip-removed tg-ops:{waiting}" in said, said
        assert b.cli("retry", "--skip-removed", f"tg-ops:{first}").exit_code == 2  # B has that chat: nothing to skip
        on_b = b.cli("retry", "--skip-removed", f"tg-ops:{gone}")
        assert on_b.exit_code == 3, on_b.output  # the other chat still waits
        shown = json.loads(a.cli("show", incident, "--json").stdout)["deliveries"]
        assert {d["target"]: d["state"] for d in shown if d["destination"] == "tg-ops"} == {
            str(first): "sent", str(gone): "skipped", str(waiting): "failed"}, shown
        telegram.add_chat(gone, "ops two")
        telegram.add_chat(waiting, "ops three")
        assert a.cli("retry").exit_code == 0
        assert len(telegram.messages[waiting]) == 1 and telegram.messages[gone] == []


def test_a_failed_delete_in_a_stopped_customers_chat_is_left_for_the_config_that_has_it(
    project: Project, pg_server: PgServer, team_db: str, tmp_path: Path,
) -> None:
    """Found by a review (28a) of the fix above: a withdrawal's failed delete in a chat that stopped was skipped by a
    machine without acme's audience ("nobody's": it sends nothing there now), and acme's detail stayed up. A
    delete goes to the chat whatever it is sent now, from a config that has the destination."""
    chat = -2899401
    env, store = _bot_team(pg_server, team_db)
    with FakeTelegram(token=TG_TOKEN, enforce_limits=False, chats={chat: "acme's group"}) as telegram:
        a = _machine(tmp_path, "a", env, ENGINE + store + AUDIENCES + _bot(telegram.url))
        b = _machine(tmp_path, "b", env, ENGINE + store + _bot(telegram.url))  # no audiences
        assert a.cli("list").exit_code == 0
        shared = open_store(pg_server.url(team_db))
        _invited(shared, chat, "audience:acme")
        posted = a.cli("post", "--yes", "--json", "--title", "API slow", "-C", "api", "--for", "acme", DETAIL,
                       "The API is slow.")
        assert posted.exit_code == 0 and any(DETAIL in m.text for m in telegram.messages[chat]), posted.output
        incident = json.loads(posted.stdout)["incident_id"]
        subscribers.unsubscribe(shared, chat)  # the chat's /stop: the bot is still in it
        shared.close()
        a.write_config(ENGINE + store + AUDIENCES + _bot(f"http://127.0.0.1:{free_port()}/"))  # A's bot API down
        withdrawn = a.cli("withdraw", "--yes", incident, "--reason", "posted in error")
        assert withdrawn.exit_code == 3, withdrawn.output
        a.write_config(ENGINE + store + AUDIENCES + _bot(telegram.url))
        on_b = b.cli("retry")
        on_a = a.cli("retry")
        assert any(DETAIL in m.text for m in telegram.deleted), (on_b.output, on_a.output)


def test_public_chat_reinvited_for_a_customer_is_skipped_not_left_for_ever(
    project: Project, pg_server: PgServer, team_db: str, tmp_path: Path,
) -> None:
    """Found by a review (28a): a public delivery to a chat re-invited for acme since was taken for the public's view of
    acme's chat, and left "for another member's config" by every machine, exit 3 for ever."""
    chat = -2899101
    env, store = _bot_team(pg_server, team_db)
    with FakeTelegram(token=TG_TOKEN, chats={chat: "a group"}) as telegram:
        a = _machine(tmp_path, "a", env, ENGINE + store + AUDIENCES + _bot(f"http://127.0.0.1:{free_port()}/"))
        b = _machine(tmp_path, "b", env, ENGINE + store + AUDIENCES + _bot(telegram.url))  # the same config
        assert a.cli("list").exit_code == 0
        shared = open_store(pg_server.url(team_db))
        _invited(shared, chat, "public")
        posted = a.cli("post", "--yes", "--json", "--title", "API slow", "-C", "api", "The API is slow.")
        assert posted.exit_code == 3, posted.output  # the bot's API is down on A
        _invited(shared, chat, "audience:acme")  # now acme's chat
        shared.close()
        a.write_config(ENGINE + store + AUDIENCES + _bot(telegram.url))  # A's bot answers again: same config as B
        for machine in (b, a):
            done = machine.cli("retry")
            assert done.exit_code == 0 and LEFT not in done.output, done.output


def test_a_chat_reached_under_a_table_naming_it_by_name_is_not_said_not_sent(
    project: Project, pg_server: PgServer, team_db: str, tmp_path: Path,
) -> None:
    """Found by a review (28a): a chat B's table names by its @name was said "Not sent to" although B's follow-up reached
    it there; the advice, run from A, would have posted it twice."""
    chat = -1002899301
    env, store = _bot_team(pg_server, team_db)
    with FakeTelegram(token=TG_TOKEN, enforce_limits=False, chats={
        "@acme_status": {"type": "supergroup", "title": "acme status", "id": chat},
    }) as telegram:
        table = (f'\n[channels.acme-tg]\ntype = "telegram"\naudience = "acme"\ntoken = "${{BOT_TOKEN}}"\n'
                 f'chat_ids = ["@acme_status"]\napi_url = "{telegram.url}"\n')
        a = _machine(tmp_path, "a", env, ENGINE + store + AUDIENCES + _bot(telegram.url))
        b = _machine(tmp_path, "b", env, ENGINE + store + AUDIENCES + _bot(telegram.url) + table)
        posted = _acme_told_in(chat, a, pg_server.url(team_db))
        assert posted.exit_code == 0, posted.output
        incident = json.loads(posted.stdout)["incident_id"]
        assert len([m.text for m in telegram.messages["@acme_status"]]) == 1
        first = b.cli("post", "--yes", "--json", "-i", incident, "Still slow (B, 1).")
        assert first.exit_code == 0, first.output
        followed = b.cli("post", "--yes", "--json", "-i", incident, "Still slow (B, 2).")
        assert followed.exit_code == 0, followed.output
        got = [m.text for m in telegram.messages["@acme_status"]]
        assert sum("Still slow (B, 2)" in t for t in got) == 1, got  # B's table reached acme's chat
        said = json.loads(followed.stdout).get("not_in_this_config", [])
        assert not any(p["target"] == str(chat) for p in said), said


def test_the_withdrawals_advice_for_acmes_chat_deletes_its_post(
    project: Project, pg_server: PgServer, team_db: str, tmp_path: Path,
) -> None:
    """Found by a review (28a): B, whose config lacks acme's audience, said of acme's post in its chat "put it back and
    run `broadcaster retry`", which found nothing to do, on B or on A: only the bot reaches that chat, and a withdrawn
    incident takes no second withdrawal. The delete is recorded for a machine whose config has it."""
    chat = -2899201
    env, store = _bot_team(pg_server, team_db)
    with FakeTelegram(token=TG_TOKEN, chats={chat: "acme's group"}) as telegram:
        a = _machine(tmp_path, "a", env, ENGINE + store + AUDIENCES + _bot(telegram.url))
        b = _machine(tmp_path, "b", env, ENGINE + store + _bot(telegram.url))  # no audiences
        posted = _acme_told_in(chat, a, pg_server.url(team_db))
        assert posted.exit_code == 0 and any(DETAIL in m.text for m in telegram.messages[chat]), posted.output
        incident = json.loads(posted.stdout)["incident_id"]
        withdrawn = b.cli("withdraw", "--yes", incident, "--reason", "posted in error")
        said = " ".join(withdrawn.output.split())
        assert withdrawn.exit_code == 3 and LEFT in said, said
        assert f"--skip-removed subscribers.audience.acme:{chat}" in said and "put it back" not in said, said
        assert b.cli("retry").exit_code == 3 and telegram.deleted == []
        on_a = a.cli("retry")  # the machine whose config has acme
        assert on_a.exit_code == 0 and any(DETAIL in m.text for m in telegram.deleted), (said, on_a.output)
        assert not any(DETAIL in m.text for m in telegram.messages[chat])


def test_a_withdrawal_leaves_the_bots_delete_for_acmes_chat_though_a_table_here_names_it(
    project: Project, pg_server: PgServer, team_db: str, tmp_path: Path,
) -> None:
    """Found by a review (28d). A (acme defined) posted acme's detail to acme's subscribed group X. B's config has
    no acme audience but a public table naming X by @name (its config from before X was acme's). B withdraws: the withdrawal deletes B's
    table posts in X, but records no delete of the bot's acme post for A (X is "reached"), so A's retry never deletes
    it; without B's table it would have (test_the_withdrawals_advice_for_acmes_chat_deletes_its_post)."""
    chat = -1002899501
    env, store = _bot_team(pg_server, team_db)
    with FakeTelegram(token=TG_TOKEN, enforce_limits=False, chats={
        "@acme_status": {"type": "supergroup", "title": "acme status", "id": chat},
    }) as telegram:
        table = (f'\n[channels.pub-tg]\ntype = "telegram"\ntoken = "${{BOT_TOKEN}}"\n'
                 f'chat_ids = ["@acme_status"]\napi_url = "{telegram.url}"\n')
        a = _machine(tmp_path, "a", env, ENGINE + store + AUDIENCES + _bot(telegram.url))
        b = _machine(tmp_path, "b", env, ENGINE + store + _bot(telegram.url) + table)
        posted = _acme_told_in(chat, a, pg_server.url(team_db))
        assert posted.exit_code == 0, posted.output
        incident = json.loads(posted.stdout)["incident_id"]
        assert any(DETAIL in m.text for m in telegram.messages["@acme_status"]), telegram.messages
        followed = b.cli("post", "--yes", "--json", "-i", incident, "Still slow.")
        assert followed.exit_code in (0, 3), followed.output
        withdrawn = b.cli("withdraw", "--yes", incident, "--reason", "posted in error")
        said = " ".join(withdrawn.output.split())
        assert withdrawn.exit_code == 3 and "--skip-removed subscribers.audience.acme:" in said, said
        on_a = a.cli("retry")
        left = [m.text for m in telegram.messages["@acme_status"]]
        assert not any(DETAIL in t for t in left), (said, on_a.output, left)


def test_a_delete_left_for_another_config_is_done_by_one_whose_same_named_table_is_another_place(
    project: Project, pg_server: PgServer, team_db: str, tmp_path: Path,
) -> None:
    """Found by a review (28d). A's [channels.pub] is a Slack channel (it can delete); C's, a webhook (another place, cannot delete); W has
    none. W's withdrawal records pub's delete for another config; C's retry takes it, sends a "posted in error" note
    to its webhook, which never had the incident, and records it sent: A's Slack post is never deleted."""
    env = {"SLACK_TOKEN": SLACK_TOKEN, "S": SECRET, PASSWORD_ENV: pg_server.password}
    store = f'\n[store]\nurl = "{pg_server.config_url(team_db)}"\n'
    hook = FakeReceiver().start()
    try:
        with FakeSlack(token=SLACK_TOKEN, channels={PUBLIC: "status"}) as slack:
            a = _machine(tmp_path, "a", env, ENGINE + store + _slack("pub", PUBLIC, slack.api_url))
            w = _machine(tmp_path, "w", env, ENGINE + store)
            c = _machine(tmp_path, "c", env, ENGINE + store +
                         f'\n[channels.pub]\ntype = "webhook"\nurl = "{hook.hook_url}"\nsecret = "${{S}}"\n')
            posted = a.cli("post", "--yes", "--json", "--title", "API slow", "-C", "api", "The API is slow.")
            assert posted.exit_code == 0 and len(slack.messages[PUBLIC]) == 1, posted.output
            incident = json.loads(posted.stdout)["incident_id"]
            withdrawn = w.cli("withdraw", "--yes", incident, "--reason", "posted in error")
            assert withdrawn.exit_code == 3, withdrawn.output
            on_c = c.cli("retry")
            assert on_c.exit_code == 3 and "cannot delete posts" in on_c.output, on_c.output
            on_a = a.cli("retry")
            assert hook.events == [], on_c.output  # C's webhook never had the incident
            assert slack.messages[PUBLIC] == [], on_a.output  # A's post deleted
    finally:
        hook.stop()
