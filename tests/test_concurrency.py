"""Several commands, several machines, one store: nothing done twice, nothing written back stale.

* ``tick`` from two machines (two config folders, one PostgreSQL store, the
  real CLI in two processes) starts each due window once and reminds once.
* A ``tick`` busy with one window and an operator starting another meanwhile:
  the operator's change stays (the lost update of issue 13).
* The store itself refuses a write based on a stale copy of an incident.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from broadcaster.messages.model import Impact, Incident, Status, Update

from broadcaster.errors import ConflictError
from broadcaster.store import PlannedDelivery, Store, open_store
from tests.conftest import BASE_CONFIG, Project
from tests.fakes.base import Fault
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram
from tests.pg import PASSWORD_ENV, PgServer, pg_server_fixture  # noqa: F401 - pytest fixture

SLACK_TOKEN = "xoxb-concurrency-1f2e3d"
TG_TOKEN = "123456:tg-concurrency-token"
CHANNEL = "C0123ABCD"
CHAT = -1001555
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


def iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat(timespec="seconds")


def channels_toml(slack: FakeSlack, telegram: FakeTelegram) -> str:
    return f"""
[engine]
timeout = 10
deadline = 60
max_attempts = 2

[maintenance]
reminder_minutes = 60

[channels.ops]
type = "slack"
visibility = "private"
token = "${{SLACK_TOKEN}}"
channel = "{CHANNEL}"
api_url = "{slack.api_url}"

[channels.tg]
type = "telegram"
visibility = "private"
token = "${{TG_TOKEN}}"
chat_ids = [{CHAT}]
api_url = "{telegram.url}"
"""


@pytest.fixture
def fakes() -> Iterator[tuple[FakeSlack, FakeTelegram]]:
    with FakeSlack(token=SLACK_TOKEN, channels={CHANNEL: "ops"}, latency=0.05) as slack, \
            FakeTelegram(token=TG_TOKEN, chats={CHAT: "ops"}, enforce_limits=False, latency=0.05) as telegram:
        yield slack, telegram


def posted_texts(slack: FakeSlack) -> list[str]:
    return [m.text for m in slack.messages[CHANNEL]]


def schedule(project: Project, title: str, start: timedelta, end: timedelta) -> str:
    result = project.cli("maintenance", "schedule", "--yes", "--json", "--title", title, "-C", "db",
                         "--start", iso(start), "--end", iso(end), f"{title} will be upgraded.")
    assert result.exit_code == 0, result.stdout + result.stderr
    return str(json.loads(result.stdout)["incident_id"])


# -- two machines, one store ----------------------------------------------------------------


@pytest.fixture
def team_db(pg_server: PgServer) -> Iterator[str]:
    name = pg_server.create_database()
    yield name
    pg_server.drop_database(name)


def machine(root: Path, pg_server: PgServer, dbname: str, fakes: tuple[FakeSlack, FakeTelegram]) -> Project:
    """One operator's laptop: its own folder and config, the shared team database."""
    root.mkdir()
    project = Project(root, env={"SLACK_TOKEN": SLACK_TOKEN, "TG_TOKEN": TG_TOKEN, PASSWORD_ENV: pg_server.password,
                                 "USER": "oncall"})
    project.write_config(channels_toml(*fakes) + f'\n[store]\nurl = "{pg_server.config_url(dbname)}"\n', base=BASE_CONFIG)
    return project


def test_tick_on_two_machines_starts_each_window_once(tmp_path: Path, pg_server: PgServer, team_db: str,
                                                      fakes: tuple[FakeSlack, FakeTelegram]) -> None:
    slack, telegram = fakes
    first, second = (machine(tmp_path / name, pg_server, team_db, fakes) for name in ("a", "b"))
    # Three windows: each notice to one chat is paced a second apart, so more windows only add waiting.
    due = [schedule(first, f"Window {n}", timedelta(seconds=-30), timedelta(hours=2)) for n in range(3)]
    soon = schedule(second, "Later window", timedelta(minutes=30), timedelta(hours=3))
    before = len(slack.messages[CHANNEL])

    # Both machines tick at once, twice over: in every round each due step happens once in all.
    for _round in range(2):
        processes = [p.process("tick", "--json") for p in (first, second, first, second)]
        outputs = [p.communicate(timeout=120) for p in processes]
        assert all(p.returncode == 0 for p in processes), outputs

    started = [t for t in posted_texts(slack)[before:] if "has started" in t]
    reminded = [t for t in posted_texts(slack)[before:] if "Reminder" in t]
    assert len(started) == len(due) and len(reminded) == 1, posted_texts(slack)[before:]
    assert len([m for m in telegram.messages[CHAT] if "has started" in m.text]) == len(due)
    store = open_store(pg_server.url(team_db))
    try:
        for incident_id in due:
            statuses = [u.status for u in store.updates(incident_id)]
            assert statuses == [Status.SCHEDULED, Status.IN_PROGRESS], (incident_id, statuses)
            assert store.incident(incident_id).status is Status.IN_PROGRESS  # type: ignore[union-attr]
        assert [u.kind for u in store.updates(soon)] == ["update", "reminder"]
    finally:
        store.close()


def test_overdue_notices_from_two_machines_are_raised_once(tmp_path: Path, pg_server: PgServer, team_db: str,
                                                           fakes: tuple[FakeSlack, FakeTelegram]) -> None:
    slack, _ = fakes
    first, second = (machine(tmp_path / name, pg_server, team_db, fakes) for name in ("a", "b"))
    for n in range(3):
        result = first.cli("post", "--yes", "--title", f"Errors {n}", "-C", "api",
                           "--next-update", iso(timedelta(seconds=-30)), "Investigating.")
        assert result.exit_code == 0, result.stdout
    processes = [p.process("tick", "--json") for p in (first, second, first, second)]
    outputs = [p.communicate(timeout=120) for p in processes]
    assert all(p.returncode == 0 for p in processes), outputs
    assert len([t for t in posted_texts(slack) if t.startswith("Overdue") or "Overdue:" in t]) == 3


# -- a lost update --------------------------------------------------------------------------


def test_maintenance_start_during_a_running_tick_is_not_undone(project: Project,
                                                               fakes: tuple[FakeSlack, FakeTelegram]) -> None:
    """The tick reads both windows, then waits on Slack for the first one's start post; meanwhile
    the operator starts the second. The tick must not write its old copy of the second back."""
    slack, telegram = fakes
    project.env.update({"SLACK_TOKEN": SLACK_TOKEN, "TG_TOKEN": TG_TOKEN})
    project.write_config(channels_toml(slack, telegram))
    later = schedule(project, "Second window", timedelta(minutes=20), timedelta(hours=2))  # reminder due
    first = schedule(project, "First window", timedelta(seconds=-30), timedelta(hours=2))  # start due
    slack.fail(Fault(match="chat.postMessage", hold=4))

    tick = project.process("tick", "--json")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not slack.held.is_set():
        time.sleep(0.02)
    assert slack.held.is_set(), tick.communicate()
    started = project.cli("maintenance", "start", "--yes", later)
    assert started.exit_code == 0, started.stdout + started.stderr
    out, err = tick.communicate(timeout=60)
    assert tick.returncode == 0, out + err
    assert json.loads(out)["actions"] == [f"started {first}"]  # the second is no longer due for a reminder

    listed = {i["id"]: i["status"] for i in json.loads(project.cli("list", "--json").stdout)}
    assert listed == {first: "in_progress", later: "in_progress"}
    shown = json.loads(project.cli("show", later, "--json").stdout)
    assert [u["status"] for u in shown["updates"]] == ["scheduled", "in_progress"]
    assert not any("Reminder" in t for t in posted_texts(slack))


def test_a_step_another_command_took_first_is_refused_not_posted_twice(project: Project,
                                                                       fakes: tuple[FakeSlack, FakeTelegram]) -> None:
    """tick started the window; the operator's `maintenance start` a moment later changes and posts nothing."""
    slack, telegram = fakes
    project.env.update({"SLACK_TOKEN": SLACK_TOKEN, "TG_TOKEN": TG_TOKEN})
    project.write_config(channels_toml(slack, telegram))
    window_id = schedule(project, "Window", timedelta(seconds=-30), timedelta(hours=2))
    assert json.loads(project.cli("tick", "--json").stdout)["actions"] == [f"started {window_id}"]
    posted = len(slack.messages[CHANNEL])
    late = project.cli("maintenance", "start", "--yes", window_id)
    assert late.exit_code == 2 and "already in_progress" in late.stderr and "nothing was stored" in late.stderr
    assert len(slack.messages[CHANNEL]) == posted
    assert [u["status"] for u in json.loads(project.cli("show", window_id, "--json").stdout)["updates"]] == [
        "scheduled", "in_progress"]


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        opened = open_store(tmp_path / "state.db")
        yield opened
        opened.close()
        return
    pg_server: PgServer = request.getfixturevalue("pg_server")
    name = pg_server.create_database()
    opened = open_store(pg_server.url(name))
    yield opened
    opened.close()
    pg_server.drop_database(name)


def window(status: Status = Status.SCHEDULED) -> Incident:
    return Incident("db", "DB upgrade", Impact.NONE, status, NOW, kind="maintenance",
                    scheduled_start=NOW, scheduled_end=NOW + timedelta(hours=1))


def note(status: Status, kind: str = "update") -> Update:
    return Update("db", 0, NOW, status, "Text.", kind=kind)


SITE = [PlannedDelivery("site", "", "public")]


def test_a_write_from_a_stale_copy_is_refused_and_changes_nothing(store: Store) -> None:
    stored, _ = store.record_update(window(), note(Status.SCHEDULED), SITE, new=True)
    stale = store.incident(stored.id)
    assert stale is not None
    # Another command starts the window...
    store.record_update(replace(stale, status=Status.IN_PROGRESS), note(Status.IN_PROGRESS), SITE, new=False)
    # ...and this one, holding the copy read before, would remind of it (a write of no column) or move it.
    for attempt in (stale, replace(stale, title="DB upgrade (moved)")):
        with pytest.raises(ConflictError):
            store.record_update(attempt, note(Status.SCHEDULED, "reminder"), SITE, new=False)
    current = store.incident(stored.id)
    assert current is not None and current.status is Status.IN_PROGRESS and current.title == "DB upgrade"
    assert [u.kind for u in store.updates(stored.id)] == ["update", "update"]
    assert len(store.deliveries(incident_id=stored.id)) == 2


def test_a_write_changes_only_the_columns_its_caller_changed(store: Store) -> None:
    stored, _ = store.record_update(window(), note(Status.SCHEDULED), SITE, new=True)
    read = store.incident(stored.id)
    assert read is not None
    moved = store.record_update(replace(read, title="DB upgrade, part 2"), note(Status.SCHEDULED), SITE, new=False)[0]
    assert moved.version == read.version + 1
    after = store.incident(stored.id)
    assert after is not None and after.title == "DB upgrade, part 2" and after.status is Status.SCHEDULED
    assert after.scheduled_end == read.scheduled_end and after.version == moved.version


def test_a_private_title_is_written_and_guarded_like_any_column(store: Store) -> None:
    """raw_title (main's private titles) goes through the compare-and-set write: set, cleared, never overwritten stale."""
    stored, _ = store.record_update(window(), note(Status.SCHEDULED), SITE, new=True)
    read = store.incident(stored.id)
    assert read is not None
    private = "DB upgrade [private]for ACMECORP[/private]"
    titled, _ = store.record_update(replace(read, raw_title=private), note(Status.SCHEDULED), SITE, new=False)
    after = store.incident(stored.id)
    assert after is not None and (after.raw_title, after.version) == (private, read.version + 1) == (
        titled.raw_title, titled.version)
    with pytest.raises(ConflictError):  # a copy read before the private title was set cannot clear it
        store.record_update(replace(read, status=Status.IN_PROGRESS), note(Status.IN_PROGRESS), SITE, new=False)
    cleared, _ = store.record_update(replace(after, raw_title=""), note(Status.SCHEDULED), SITE, new=False)
    final = store.incident(stored.id)
    assert final is not None and (final.raw_title, final.title, final.version) == ("", "DB upgrade", after.version + 1)
    assert cleared.version == final.version


def test_two_threads_racing_to_start_one_window_start_it_once(tmp_path: Path) -> None:
    """Two commands read the same scheduled window and both try to start it: one wins, one conflicts."""
    path = tmp_path / "state.db"
    setup = open_store(path)
    stored, _ = setup.record_update(window(), note(Status.SCHEDULED), SITE, new=True)
    setup.close()
    barrier = threading.Barrier(2)
    results: list[Any] = []

    def start() -> None:
        mine = open_store(path)
        read = mine.incident(stored.id)
        assert read is not None
        barrier.wait()
        try:
            mine.record_update(replace(read, status=Status.IN_PROGRESS), note(Status.IN_PROGRESS), SITE, new=False)
            results.append("stored")
        except ConflictError:
            results.append("conflict")
        finally:
            mine.close()

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["conflict", "stored"]
    check = open_store(path)
    assert [u.status for u in check.updates(stored.id)] == [Status.SCHEDULED, Status.IN_PROGRESS]
    check.close()


def test_a_live_process_on_this_host_keeps_its_claims_past_the_lease() -> None:
    """Attack (review): a paced broadcast of a few thousand chats outlives the lease (deadline + 60 s); any
    other command then reaped the live process's claims as unknown, and `retry --include-unknown` sent those
    chats the message twice. A live process is now known by its start, not by how long it has held a claim."""
    import subprocess
    import sys
    from datetime import timedelta

    from broadcaster.store.contract import owner_is_alive
    from broadcaster.store.records import utcnow

    child = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from broadcaster.store.contract import process_owner; "
                               "print(process_owner(), flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert child.stdout is not None
        owner = child.stdout.readline().strip()
        long_ago, lease = utcnow() - timedelta(hours=2), timedelta(seconds=65)
        assert owner_is_alive(owner, long_ago, lease)
        host, pid, start = owner.split(":", 2)
        # The same pid, but a process that started long after the one that claimed: the lease decides.
        assert not owner_is_alive(f"{host}:{pid}:{float(start) - 3600:.3f}", long_ago, lease)
        child.kill()
        stat = Path(f"/proc/{pid}/stat")
        while stat.read_bytes().rpartition(b")")[2].split()[0] != b"Z":
            time.sleep(0.01)  # ended, not yet waited for (a zombie): it sends nothing more
        assert not owner_is_alive(owner, long_ago, lease)
    finally:
        child.kill()
        child.communicate()
    assert not owner_is_alive(owner, long_ago, lease)  # gone


@pytest.fixture
def another_users_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[int, float]]:
    """A live process of another user, as a non-root operator sees one (``kill(pid, 0)``: PermissionError; the
    sandbox runs as root, so that answer is put in): its pid, and when it started."""
    import os
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    real_kill = os.kill

    def kill(pid: int, sig: int) -> None:
        if pid == child.pid and sig == 0:
            raise PermissionError(1, "Operation not permitted")
        real_kill(pid, sig)

    monkeypatch.setattr(os, "kill", kill)
    try:
        yield child.pid, time.time()
    finally:
        child.kill()
        child.wait()


def test_a_claim_of_a_dead_sender_whose_pid_another_users_process_has_now_is_settled_by_the_lease(
    another_users_process: tuple[int, float],
) -> None:
    """Found by review 19c: a process of another user holding the dead sender's pid kept its claims alive for as
    long as it ran (``kill`` answers PermissionError, read as "alive, unsure"); /proc/PID/stat is world-readable
    and says it started after the claim. That user's own live sender still counts as alive."""
    import socket

    from broadcaster.store.contract import alive_here, owner_is_alive
    from broadcaster.store.records import utcnow

    pid, started = another_users_process
    long_ago, lease = utcnow() - timedelta(hours=1), timedelta(seconds=65)
    dead_sender = f"{socket.gethostname()}:{pid}:{started - 3600:.3f}"
    assert not owner_is_alive(dead_sender, long_ago, lease) and not alive_here(dead_sender)
    assert owner_is_alive(dead_sender, utcnow(), lease)  # within the lease, it may still be sending
    live_sender = f"{socket.gethostname()}:{pid}:{started:.3f}"
    assert owner_is_alive(live_sender, long_ago, lease) and alive_here(live_sender)


def test_retry_settles_a_claim_whose_pid_another_users_process_has_now(
    project: Project, world: Any, another_users_process: tuple[int, float],
) -> None:
    """Found by review 19c, end to end: the post stayed `sending` and `retry` exited 0 with nothing to say."""
    import socket

    from broadcaster.config_loader import load
    from tests.fakes.base import Response

    pid, started = another_users_process
    world.x.fail(*(Fault(match="/2/tweets", response=Response(503, {"title": "Unavailable", "status": 503}))
                   for _ in range(4)))
    posted = project.cli("post", "--yes", "--json", "--title", "API errors", "-C", "api", "Investigating.")
    assert posted.exit_code == 3, posted.output
    config = load(str(project.config), environ=project.env)
    store = open_store(config.store_path)
    try:
        [tweet] = [d for d in store.deliveries() if d.destination == "x"]
        assert store.claim(tweet.id, f"{socket.gethostname()}:{pid}:{started - 3600:.3f}")
        store.run_atomic("UPDATE deliveries SET claimed_at=? WHERE id=?",
                         ((datetime.now(UTC) - timedelta(hours=1)).isoformat(), tweet.id))
    finally:
        store.close()
    world.x.clear_faults()
    retried = project.cli("retry", "--json")
    store = open_store(config.store_path)
    try:
        state = store.delivery(tweet.id).state
    finally:
        store.close()
    assert state != "sending" or retried.exit_code != 0, (state, retried.exit_code, retried.output)
    assert state in ("unknown", "sent"), (state, retried.output)


def test_a_held_delivery_another_command_claimed_since_it_was_read_is_left_to_that_command(store: Store) -> None:
    """Found while fixing review 19c: ``hold_stored`` marked a held delivery failed from the copy read before the
    rooms check, under a command that had claimed and was sending it meanwhile; the next retry sent it again."""
    from broadcaster.operations.rooms import held_chat, hold_stored
    from broadcaster.store import process_owner

    chat = [PlannedDelivery("subscribers.internal", "-1004444444444", "internal")]
    stored, _ = store.record_update(window(), note(Status.SCHEDULED), chat, new=True)
    [read_before] = store.deliveries(incident_id=stored.id)
    assert store.claim(read_before.id, process_owner())  # another command (alive: this process) is sending it
    held = {held_chat("subscribers.internal", "-1004444444444"): "not sent: @name unresolved"}
    kept, stopped = hold_stored(store, [read_before], held)
    assert kept == [] and stopped == {read_before.id}
    now = store.delivery(read_before.id)
    assert now.state == "sending" and now.claimed_by == process_owner(), now
    store.mark_sent(read_before.id, "remote-1", None)
    assert store.delivery(read_before.id).state == "sent"
