"""`broadcaster withdraw` on the issue-18 channels, through the CLI against their fakes.

Discord and Matrix delete (Matrix redacts); Teams, a signed webhook and email cannot, so each gets the short
"posted in error" follow-up. The reason is internal: it never reaches a public channel.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import UNHURRIED_ENGINE, Project
from tests.fakes.base import Fault
from tests.fakes.discord import FakeDiscord
from tests.fakes.matrix import FakeMatrix
from tests.fakes.smtp import USERNAME, SmtpServer
from tests.fakes.teams import FakeTeams, plain_texts
from tests.fakes.webhook import SECRET, FakeReceiver

ROOM = "!status:example.org"
REASON = "wrong customer Initech"
MATRIX_TOKEN = "syt_withdraw_SeCrEt_1"
SMTP_PASSWORD = "smtp-pass-Secret-42"
READER = "customers@example.net"


@dataclass
class Fakes:
    discord: FakeDiscord
    teams: FakeTeams
    hook: FakeReceiver
    matrix: FakeMatrix
    smtp: SmtpServer


@pytest.fixture
def fakes(project: Project, tmp_path: Path) -> Iterator[Fakes]:
    with FakeDiscord() as discord, FakeTeams() as teams, FakeReceiver() as hook, \
            FakeMatrix(token=MATRIX_TOKEN, rooms=[ROOM]) as matrix, SmtpServer(tmp_path, password=SMTP_PASSWORD) as smtp:
        project.write_config(UNHURRIED_ENGINE + f"""
[channels.discord]
type = "discord"
webhook_url = "${{DISCORD_URL}}"
api_url = "{discord.api_url}"

[channels.teams]
type = "teams"
webhook_url = "${{TEAMS_URL}}"
api_url = "{teams.url}"

[channels.hook]
type = "webhook"
url = "{hook.hook_url}"
secret = "${{HOOK_SECRET}}"

[channels.room]
type = "matrix"
homeserver = "{matrix.url}"
access_token = "${{MATRIX_TOKEN}}"
room_id = "{ROOM}"

[channels.mail]
type = "email"
host = "127.0.0.1"
port = {smtp.port}
username = "{USERNAME}"
password = "${{SMTP_PASSWORD}}"
from = "Acme status <status@example.com>"
to = ["{READER}"]
""")
        project.env.update({
            "DISCORD_URL": discord.webhook_url, "TEAMS_URL": teams.webhook_url, "HOOK_SECRET": SECRET,
            "MATRIX_TOKEN": MATRIX_TOKEN, "SMTP_PASSWORD": SMTP_PASSWORD, "SSL_CERT_FILE": str(smtp.ca_file),
        })
        yield Fakes(discord, teams, hook, matrix, smtp)


def post(project: Project, *args: str) -> dict[str, Any]:
    result = project.cli("post", "--yes", "--json", *args)
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def test_withdraw_deletes_where_it_can_and_says_posted_in_error_elsewhere(project: Project, fakes: Fakes) -> None:
    incident = post(project, "--title", "Login errors", "Logins fail for some users.")["incident_id"]
    post(project, "-i", incident, "--status", "identified", "Cause found.")
    assert len(fakes.discord.messages) == 2 and len(fakes.matrix.events[ROOM]) == 2

    result = project.cli("withdraw", incident, "--yes", "--json", "--reason", REASON)
    assert result.exit_code == 0, result.output
    states = {d["destination"]: d["state"] for d in json.loads(result.stdout)["deliveries"]}
    assert {states[n] for n in ("discord", "teams", "hook", "room", "mail")} == {"sent"}

    assert fakes.discord.messages == [] and len(fakes.discord.deleted) == 2
    assert all(e.content == {} for e in fakes.matrix.events[ROOM]) and len(fakes.matrix.redacted) == 2
    assert len(fakes.teams.cards) == 3 and "posted in error" in " ".join(plain_texts(fakes.teams.cards[-1]))
    last = fakes.hook.events[-1]
    assert len(fakes.hook.events) == 3 and last["data"]["update"]["kind"] == "withdrawal"
    assert "posted in error" in last["data"]["update"]["message"] and last["data"]["incident"]["id"] == incident
    mails = fakes.smtp.to(READER)
    assert len(mails) == 3 and "posted in error" in mails[-1].text
    assert mails[-1].message["In-Reply-To"] == mails[1].message["Message-ID"]  # in the incident's thread
    everything = json.dumps([fakes.teams.cards, fakes.hook.events]) + "".join(m.text + m.html for m in mails)
    assert "Initech" not in everything  # the reason is internal


def test_a_refused_discord_delete_exits_3_and_retry_finishes_it(project: Project, fakes: Fakes) -> None:
    incident = post(project, "--title", "Login errors", "--only", "discord", "Logins fail.")["incident_id"]
    token = fakes.discord.token
    fakes.discord.token = "x" * 68  # the webhook's token was reset: every call is refused
    refused = project.cli("withdraw", incident, "--yes")
    assert refused.exit_code == 3 and "by hand" in refused.output and token not in refused.output
    assert len(fakes.discord.messages) == 1
    fakes.discord.token = token
    again = project.cli("retry", incident)
    assert again.exit_code == 0, again.output
    assert fakes.discord.messages == [] and fakes.teams.cards == []  # nothing posted where nothing was


def test_discord_teams_and_webhook_thread_amend_and_retry_through_the_cli(project: Project, fakes: Fakes) -> None:
    """The CLI across invocations for the three webhook-style channels, which had unit tests only."""
    only = ("--only", "discord,teams,hook")
    fakes.discord.rate_limit(0.5)  # through the engine: waits as asked, then sends
    fakes.hook.fail(Fault(reset_after=True))  # the event arrives, its answer is lost: retried with the same id
    incident = post(project, "--title", "Login errors", *only, "Logins fail @everyone.")["incident_id"]
    post(project, "-i", incident, *only, "Cause found.")
    amended = project.cli("amend", incident, "1", "--yes", *only, "Logins fail in eu-west.")
    assert amended.exit_code == 0, amended.output

    first, second = fakes.discord.messages
    assert "eu-west" in first.embed["description"] and first.edits and first.pings == []
    assert all(r.json()["allowed_mentions"] == {"parse": []} for r in fakes.discord.requests if r.method != "GET"
               and r.body)
    assert len(fakes.teams.cards) == 3 and fakes.teams.undisplayed == []
    assert [e["type"] for e in fakes.hook.events] == ["incident.updated", "incident.updated", "update.amended"]
    assert fakes.hook.events[2]["data"]["update"]["sequence"] == 1 and "eu-west" in fakes.hook.events[2]["data"][
        "update"]["message"]
    assert {e["data"]["incident"]["id"] for e in fakes.hook.events} == {incident}
    assert fakes.hook.repeats == 1 and len(fakes.hook.ids) == 3  # the repeat dropped by its webhook-id
