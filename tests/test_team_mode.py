"""Team mode end to end: several ``broadcaster`` processes sharing one real PostgreSQL store.

The processes are the real CLI (``python -m broadcaster``), the store a real
PostgreSQL server on loopback (``tests/pg.py``), and Slack is FakeSlack driven
by the real slack-sdk. Every "sent once, in order" claim is checked on what
FakeSlack received, and against what the store recorded.
"""

from __future__ import annotations

import json
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from broadcaster.store import SCHEMA_VERSION, Store, open_store
from tests.conftest import Project
from tests.fakes.base import Fault
from tests.fakes.slack import FakeSlack, SlackMessage
from tests.pg import PASSWORD_ENV, PgServer, pg_server_fixture  # noqa: F401 - pytest fixture
from tests.ports import free_port

TOKEN = "xoxb-team-mode-7c1d9e"
CHANNEL = "C0123ABCD"
ENGINE = """
[engine]
timeout = 2
deadline = 30
max_attempts = 2
"""


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(token=TOKEN, channels={CHANNEL: "ops"}) as fake:
        yield fake


@pytest.fixture
def team_db(pg_server: PgServer) -> Iterator[str]:
    name = pg_server.create_database()
    yield name
    pg_server.drop_database(name)


def store_toml(pg_server: PgServer, dbname: str) -> str:
    return f'\n[store]\nurl = "{pg_server.config_url(dbname)}"\n'


def slack_toml(api_url: str) -> str:
    return f"""
[channels.ops]
type = "slack"
visibility = "private"
token = "${{SLACK_TOKEN}}"
channel = "{CHANNEL}"
api_url = "{api_url}"
"""


@pytest.fixture
def team(project: Project, pg_server: PgServer, team_db: str, slack: FakeSlack) -> Project:
    """A project whose store is the team database and whose Slack is the fake."""
    project.write_config(ENGINE + store_toml(pg_server, team_db) + slack_toml(slack.api_url))
    project.env.update({"SLACK_TOKEN": TOKEN, PASSWORD_ENV: pg_server.password})
    return project


def cli(project: Project, pg_server: PgServer, *args: str, code: int | None = 0) -> Any:
    """Run the CLI in-process; checks the exit code and that the database password never shows."""
    result = project.cli(*args)
    assert pg_server.password not in result.stdout + result.stderr
    if code is not None:
        assert result.exit_code == code, result.stdout + result.stderr
    return result


def open_team(pg_server: PgServer, dbname: str) -> Store:
    return open_store(pg_server.url(dbname))


def first_version(message: SlackMessage) -> str:
    """Slack's first message is later edited into a status card: what was posted first."""
    return json.dumps(message.edits[0]["blocks"] if message.edits else message.blocks)


def assert_slack_thread(slack: FakeSlack, store: Store, incident_id: str, messages: list[str]) -> None:
    """FakeSlack holds each update exactly once, in sequence order, threaded under the first post,
    and the store's remote ids are exactly those posts."""
    posted = slack.messages[CHANNEL]
    assert len(posted) == len(messages), [first_version(m) for m in posted]
    for message, text in zip(posted, messages, strict=True):
        assert text in first_version(message)
    first, *replies = posted
    assert first.thread_ts is None and all(r.thread_ts == first.ts for r in replies)
    assert [float(m.ts) for m in posted] == sorted(float(m.ts) for m in posted)
    rows = store.deliveries(incident_id=incident_id)
    slack_rows = sorted((d for d in rows if d.destination == "ops"), key=lambda d: d.sequence)
    assert [d.state for d in rows] == ["sent"] * len(rows)
    assert [d.remote_id for d in slack_rows] == [f"{CHANNEL}:{m.ts}" for m in posted]
    assert len(slack.received("chat.postMessage")) == len(messages)


def wait_all(processes: list[Any], timeout: float = 60) -> list[tuple[int, str, str]]:
    results = []
    for process in processes:
        out, err = process.communicate(timeout=timeout)
        results.append((process.returncode, out, err))
    return results


# -- concurrency across processes -------------------------------------------------------


def test_eight_processes_posting_to_one_incident_at_once(team: Project, pg_server: PgServer, team_db: str, slack: FakeSlack) -> None:
    incident = json.loads(cli(team, pg_server, "post", "--yes", "--json", "--title", "API errors", "Investigating.").stdout)["incident_id"]
    processes = [team.process("post", "--yes", "--json", "-i", incident, f"Update from laptop {n}.") for n in range(8)]
    results = wait_all(processes)
    assert [code for code, _, _ in results] == [0] * 8, results
    assert all(pg_server.password not in out + err for _, out, err in results)
    assert sorted(json.loads(out)["sequence"] for _, out, _ in results) == list(range(2, 10))
    store = open_team(pg_server, team_db)
    updates = store.updates(incident)
    assert [u.sequence for u in updates] == list(range(1, 10))
    texts = [u.raw_message for u in updates]
    assert sorted(texts[1:]) == sorted(f"Update from laptop {n}." for n in range(8))  # each stored once
    assert_slack_thread(slack, store, incident, texts)
    page = (team.site / "incidents" / f"{incident}.html").read_text(encoding="utf-8")
    assert all(text in page for text in texts)
    store.close()


def test_two_retries_at_once_after_a_slack_outage_send_each_delivery_once_in_order(
    team: Project, pg_server: PgServer, team_db: str, slack: FakeSlack
) -> None:
    engine = ENGINE.replace("timeout = 2", "timeout = 10")  # longer than the held answer below
    incident = json.loads(cli(team, pg_server, "post", "--yes", "--json", "--title", "API errors", "Investigating.").stdout)["incident_id"]
    team.write_config(engine + store_toml(pg_server, team_db) + slack_toml(f"http://127.0.0.1:{free_port()}/api/"))
    for n in (2, 3, 4):
        cli(team, pg_server, "post", "--yes", "-i", incident, f"Update {n} during the outage.", code=3)
    store = open_team(pg_server, team_db)
    assert [d.state for d in store.deliveries(incident_id=incident) if d.destination == "ops"] == ["sent", "failed", "failed", "failed"]

    team.write_config(engine + store_toml(pg_server, team_db) + slack_toml(slack.api_url))  # Slack is back
    # The first run's first post is answered late, so the second run starts while the first is
    # mid-send; each later send is slow enough that both runs reach for the same delivery.
    slack.fail(Fault(match="chat.postMessage", hold=4.0))
    slack.latency = 0.3
    first = team.process("retry")
    assert slack.held.wait(30), "the first retry never reached Slack"
    second = team.process("retry")
    results = wait_all([first, second])
    # Each run exits 0, or 3 when the other run had the delivery: never an unexpected error.
    assert {code for code, _, _ in results} <= {0, 3}, results
    assert not any("unexpected" in err for _, _, err in results), results
    assert_slack_thread(slack, store, incident, ["Investigating."] + [f"Update {n} during the outage." for n in (2, 3, 4)])
    store.close()


# -- moving a store, and the database being down --------------------------------------------


def test_export_from_sqlite_and_import_into_postgres_keeps_threading(
    project: Project, pg_server: PgServer, team_db: str, slack: FakeSlack, tmp_path: Path
) -> None:
    project.env.update({"SLACK_TOKEN": TOKEN, PASSWORD_ENV: pg_server.password})
    project.write_config(ENGINE + slack_toml(slack.api_url))  # the embedded store
    incident = json.loads(cli(project, pg_server, "post", "--yes", "--json", "--title", "DB slow", "--private", "replica lag on db-3", "Queries are slow.").stdout)["incident_id"]
    cli(project, pg_server, "post", "--yes", "-i", incident, "Failing over.")
    exported = tmp_path / "state.jsonl"
    result = cli(project, pg_server, "store", "export", str(exported))
    assert "Exported 1 incident(s), 2 update(s) and 4 delivery record(s)" in result.stderr
    assert stat.S_IMODE(exported.stat().st_mode) == 0o600  # it holds private detail
    assert "replica lag on db-3" in exported.read_text(encoding="utf-8")

    project.write_config(ENGINE + store_toml(pg_server, team_db) + slack_toml(slack.api_url))
    imported = cli(project, pg_server, "store", "import", str(exported)).stdout
    assert "Imported 1 incident(s)" in imported and "1 new" in imported and "2 update(s) added" in imported
    again = cli(project, pg_server, "store", "import", str(exported)).stdout  # safe to repeat
    assert "0 new, 1 already there; 0 update(s) added, 2 already there" in again

    cli(project, pg_server, "post", "--yes", "-i", incident, "Recovered on the new store.")
    store = open_team(pg_server, team_db)
    assert [u.private_note for u in store.updates(incident)] == ["replica lag on db-3", "", ""]
    assert_slack_thread(slack, store, incident, ["Queries are slow.", "Failing over.", "Recovered on the new store."])
    store.close()


def black_hole() -> socket.socket:
    """A port that accepts connections and never answers: a database host gone quiet."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    return sock


def test_unreachable_database_fails_fast_and_a_fallback_store_is_imported_later(
    team: Project, pg_server: PgServer, team_db: str, slack: FakeSlack, tmp_path: Path
) -> None:
    with black_hole() as hole:
        port = hole.getsockname()[1]
        down = ENGINE + f'\n[store]\nurl = "postgresql://postgres:${{{PASSWORD_ENV}}}@127.0.0.1:{port}/{team_db}"\n'
        team.write_config(down + slack_toml(slack.api_url))
        started = time.monotonic()
        result = cli(team, pg_server, "post", "--yes", "--title", "Checkout down", "Investigating.", code=1)
        assert time.monotonic() - started < 9
        assert f"cannot reach the team database at 127.0.0.1:{port}/{team_db}" in result.stderr
        assert "timeout" in result.stderr and "--store fallback.db" in result.stderr and "store import" in result.stderr

        # The operator posts anyway, to a local file (the option works before or after the command).
        fallback = tmp_path / "fallback.db"
        posted = cli(team, pg_server, "post", "--store", str(fallback), "--yes", "--json", "--title", "Checkout down", "Investigating.")
        incident = json.loads(posted.stdout)["incident_id"]
        export = tmp_path / "fallback.jsonl"
        cli(team, pg_server, "--store", str(fallback), "store", "export", str(export))

    team.write_config(ENGINE + store_toml(pg_server, team_db) + slack_toml(slack.api_url))  # the database is back
    assert "1 new" in cli(team, pg_server, "store", "import", str(export)).stdout
    cli(team, pg_server, "post", "--yes", "-i", incident, "Fixed; posted from the team store.")
    store = open_team(pg_server, team_db)
    assert_slack_thread(slack, store, incident, ["Investigating.", "Fixed; posted from the team store."])
    store.close()


def test_store_migrate_reports_what_it_did(team: Project, pg_server: PgServer, tmp_path: Path) -> None:
    assert f"created (schema {SCHEMA_VERSION})" in cli(team, pg_server, "store", "migrate").stdout
    assert f"schema {SCHEMA_VERSION}, up to date" in cli(team, pg_server, "store", "migrate").stdout
    embedded = cli(team, pg_server, "--store", f"sqlite:///{tmp_path / 'x.db'}", "store", "migrate").stdout
    assert f"the state file {tmp_path / 'x.db'}" in embedded


def test_the_embedded_store_never_loads_the_postgres_driver(project: Project) -> None:
    """SQLite users do not pay for psycopg at start-up."""
    process = project.process("list", env={"PYTHONVERBOSE": "1"})
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0
    assert "import 'broadcaster.store'" in err and "psycopg" not in err


def test_shell_completion_reads_the_team_store_and_creates_no_file(team: Project, pg_server: PgServer, tmp_path: Path) -> None:
    """Tab after `show` lists the team database's incidents; no stray state file appears. `--store`
    is honoured too, and a --store file that does not exist is not created by pressing Tab."""
    import os
    import subprocess
    import sys

    incident = json.loads(cli(team, pg_server, "post", "--yes", "--json", "--title", "API errors", "Investigating.").stdout)["incident_id"]

    def complete(*words: str) -> list[str]:
        env = {**os.environ, **team.env, "COMP_WORDS": " ".join(["broadcaster", "--config", str(team.config), *words]),
               "COMP_CWORD": str(2 + len(words)), "_BROADCASTER_COMPLETE": "bash_complete"}
        done = subprocess.run([sys.executable, "-c", "from broadcaster.cli import main; main(prog_name='broadcaster')"],
                              env=env, capture_output=True, text=True, timeout=30, cwd=team.root)
        assert pg_server.password not in done.stdout + done.stderr
        return [line.split(",", 1)[1] for line in done.stdout.splitlines() if line]

    assert incident in complete("show", "api")
    assert not (team.root / ".broadcaster").exists()  # no embedded state file was made
    fallback = tmp_path / "fallback.db"
    cli(team, pg_server, "--store", str(fallback), "post", "--yes", "--title", "DB slow", "Queries are slow.")
    from_file = complete("--store", str(fallback), "show", "")
    assert any(i.startswith("db-slow") for i in from_file) and incident not in from_file
    missing = tmp_path / "nowhere.db"
    assert complete("--store", str(missing), "show", "") == []
    assert not missing.exists()
