"""A `withdraw` racing a `retry` on a team (PostgreSQL) store (a hostile review's finding; failed before its fix).

``Store.claim`` checks "no withdrawal follows this update" inside its UPDATE, and the docstring of
``withdrawing._where_posted_since`` says no command can claim an earlier delivery once the withdrawal is
stored. In PostgreSQL (READ COMMITTED) that holds only for a claim that *starts* after the withdrawal
commits. A claim whose UPDATE ran just before, and whose batch transaction (``store.batched``: every claim of
one loop turn, then COMMIT) commits just after, is invisible to the withdrawal's plan and to
``skip_open_deliveries`` (whose UPDATE waits for the claim's row lock, then finds the row ``sending`` and
leaves it). The withdrawal then skipped that channel ("nothing of this incident was posted here"), exited 0
saying the incident was withdrawn, and the retry posted the withdrawn incident to the public channel, where
it stayed. A claim now holds its incident's row (FOR SHARE) until it commits: the withdrawal, which locks the
row to be stored, waits for it, sees the post being sent, waits for it and deletes it.

Deterministic: a trigger on ``deliveries`` (test instrumentation of the database only) holds the retry's
claim transaction open, uncommitted, on an advisory lock the test holds, until the withdrawal is waiting on
that row; the retry's post is answered after a hold, so the withdrawal is over before it is recorded.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Project
from tests.fakes.base import Fault
from tests.fakes.slack import FakeSlack
from tests.pg import PASSWORD_ENV, PgServer, pg_server_fixture  # noqa: F401 - pytest fixture
from tests.ports import free_port

TOKEN = "xoxb-team16-withdraw-7c1d9e"
CHANNEL = "C0PUBLIC16"
ENGINE = "\n[engine]\ntimeout = 10\ndeadline = 40\nmax_attempts = 2\n"
LOCK_KEY = 16016


@pytest.fixture
def team_db(pg_server: PgServer) -> Iterator[str]:
    name = pg_server.create_database()
    yield name
    pg_server.drop_database(name)


def _config(pg_server: PgServer, db: str, api_url: str) -> str:
    return (ENGINE + f'\n[store]\nurl = "{pg_server.config_url(db)}"\n'
            f'\n[channels.public-slack]\ntype = "slack"\ntoken = "${{SLACK_TOKEN}}"\nchannel = "{CHANNEL}"\n'
            f'api_url = "{api_url}"\n')


def _wait_for(conn: Any, sql: str, args: tuple[Any, ...], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if conn.execute(sql, args).fetchone()[0]:
            return
        time.sleep(0.02)
    raise AssertionError(f"never saw: {what}")


def test_a_retry_claim_committing_just_after_the_withdrawal_is_never_posted_and_left_up(
    project: Project, pg_server: PgServer, team_db: str,
) -> None:
    import psycopg

    project.env.update({"SLACK_TOKEN": TOKEN, PASSWORD_ENV: pg_server.password})
    with FakeSlack(token=TOKEN, channels={CHANNEL: "status"}) as slack:
        # The first post: the page is built, the public Slack channel is down (connection refused): failed.
        project.write_config(_config(pg_server, team_db, f"http://127.0.0.1:{free_port()}/api/"))
        first = project.cli("post", "--yes", "--json", "--title", "API errors", "Elevated API errors.")
        assert first.exit_code == 3, first.stdout + first.stderr
        incident = json.loads(first.stdout)["incident_id"]
        project.write_config(_config(pg_server, team_db, slack.api_url))  # Slack is back

        with psycopg.connect(pg_server.url(team_db), autocommit=True) as admin:
            admin.execute(
                "CREATE FUNCTION zz16_hold_claim() RETURNS trigger AS $$ BEGIN"
                f" PERFORM pg_advisory_xact_lock_shared({LOCK_KEY}); RETURN NEW; END $$ LANGUAGE plpgsql")
            admin.execute(
                "CREATE TRIGGER zz16_hold_claim AFTER UPDATE ON deliveries FOR EACH ROW"
                " WHEN (NEW.state = 'sending' AND OLD.state <> 'sending' AND NEW.destination = 'public-slack')"
                " EXECUTE FUNCTION zz16_hold_claim()")
            admin.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
            slack.fail(Fault(match="chat.postMessage", hold=4.0))  # the retry's post lands, answered late

            retry = project.process("retry", incident)
            # The retry's claim UPDATE has run (the row is locked, the NOT EXISTS checked), not yet committed.
            _wait_for(admin, "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event = 'advisory'",
                      (team_db,), "the retry's claim held uncommitted")
            withdraw = project.process("withdraw", "--yes", incident, "--reason", "posted in error")
            # The withdrawal is stored and waits on the claimed row (skip_open_deliveries).
            _wait_for(admin, "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'"
                      " AND wait_event IN ('transactionid', 'tuple')", (team_db,), "the withdrawal waiting on the row")
            admin.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
            w_out, w_err = withdraw.communicate(timeout=60)
            r_out, r_err = retry.communicate(timeout=60)
        later = project.cli("retry")  # and nothing later takes it down either
        told = f"later retry exit {later.exit_code}: {later.output}\n" + f"withdraw exit {withdraw.returncode}:\n{w_out}{w_err}\nretry exit {retry.returncode}:\n{r_out}{r_err}"
        # The withdrawn incident is not left on the public channel: the withdrawal waited for the post and deleted it.
        assert slack.messages[CHANNEL] == [], told
        assert withdraw.returncode == 0, told
        # Either the retry's post went before the withdrawal's delete pass, which deleted it, or (since 65a's check
        # of the incident as each paced message leaves) the retry read the withdrawal first and sent nothing.
        never_sent = "withdrawn" in r_out and "no post of the incident here" in w_out and not slack.deleted
        assert "deleted 1 post" in w_out or never_sent, told
        assert later.exit_code == 0, told
