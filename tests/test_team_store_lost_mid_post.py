"""The team database's connection lost while a post's answer is on its way (found by a review, 27pg).

Nothing is sent twice (each delivery is `unknown` and named with what settles it), but each delivery's line
carried the store's whole advice for a command that sent nothing: "check `broadcaster show` and run the command
again" and the fallback file's recipe, inside a line saying "POSTED ... Do not post it again", and the embedded
file's "(free disk space, end the command holding it)". Now the line names what failed and what settles it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import psycopg
import pytest

from tests.conftest import Project
from tests.fakes.base import Fault
from tests.fakes.slack import FakeSlack
from tests.pg import PASSWORD_ENV, PgServer, pg_server_fixture  # noqa: F401 - pytest fixture

TOKEN = "xoxb-team-lost-mid-post-27"
CHANNEL = "C0PUB27LOS"


@pytest.fixture
def team_db(pg_server: PgServer) -> Iterator[str]:
    name = pg_server.create_database()
    yield name
    pg_server.drop_database(name)


def test_each_line_says_what_failed_and_what_settles_it(project: Project, pg_server: PgServer, team_db: str) -> None:
    project.env.update({"SLACK_TOKEN": TOKEN, PASSWORD_ENV: pg_server.password})
    with FakeSlack(token=TOKEN, channels={CHANNEL: "status"}) as slack:
        project.write_config(
            "\n[engine]\ntimeout = 10\ndeadline = 40\nmax_attempts = 2\n"
            f'\n[store]\nurl = "{pg_server.config_url(team_db)}"\n'
            f'\n[channels.pub]\ntype = "slack"\ntoken = "${{SLACK_TOKEN}}"\nchannel = "{CHANNEL}"\n'
            f'api_url = "{slack.api_url}"\n')
        slack.fail(Fault(match="chat.postMessage", hold=3.0))
        posting = project.process("post", "--yes", "--title", "API errors", "Investigating.")
        assert slack.held.wait(30), posting.communicate()
        with psycopg.connect(pg_server.url(team_db), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s"
                          " AND pid <> pg_backend_pid()", (team_db,))
        out, err = posting.communicate(timeout=90)
        said = out + err
        assert posting.returncode == 3 and len(slack.messages[CHANNEL]) == 1, said
        [line] = [line for line in said.splitlines() if "POSTED at pub" in line]
        assert "the store could not record it (the team database at" in line, line
        assert "Do not post it again" in line and "--mark-unknown-sent --remote-id pub=" in line, line
        for advice in ("run the command again", "fallback.db", "free disk space"):
            assert advice not in line, line
        assert pg_server.password not in said
        slack.clear_faults()
        incident = json.loads(project.cli("list", "--json").stdout)[0]["id"]
        assert project.cli("retry").exit_code == 3  # unknown: never resent by itself
        assert len(slack.messages[CHANNEL]) == 1
        assert project.cli("show", incident).exit_code == 0
