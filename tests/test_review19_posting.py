"""Review 19c, findings 1 and 7: posting one new incident twice at once, and `retry` where one secret is unset.

1. Two operators paged by one alert post the same new incident at the same moment: the repeat check ran before
   either had stored anything, so both passed and every channel got the incident twice. The check is now made
   once more under the store's "new-incident" lock, just before storing (``posting.store_checked``): the second
   is refused as a repeat (exit 2, nothing stored or sent). Shown with two real processes racing (the reviewer's
   test), and deterministically: a second process's post lands between the first's check and its store, on the
   embedded SQLite store and on the PostgreSQL team store.
7. `retry` where one destination's secret is unset refused everything and advised `--skip`, which `retry` does
   not have. It now sends what it can and records the others failed, saying which variable to export (exit 3).
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from broadcaster.config_loader import load
from broadcaster.operations import posting, retrying
from broadcaster.operations.rooms import check_shared_rooms
from broadcaster.store import Delivery, open_store
from tests.conftest import ENGINE, UNHURRIED_ENGINE, Project
from tests.fakes.base import Fault, Response
from tests.fakes.world import PUBLIC_CHAT, SLACK_CHANNEL, FakeWorld
from tests.pg import PASSWORD_ENV, PgServer, pg_server_fixture  # noqa: F401 - pytest fixture

POST = ("post", "--yes", "--json", "--title", "API errors", "-C", "api=major_outage",
        "We are investigating errors on the API.")


@pytest.fixture
def slow_world(project: Project) -> Iterator[FakeWorld]:
    with FakeWorld(latency=0.3) as fakes:
        project.write_config(ENGINE + fakes.channels_toml())
        project.env.update(fakes.env)
        yield fakes


# -- 1. two posts of one new incident at once -----------------------------------------------------------------


def test_two_operators_posting_the_same_incident_at_once_make_one_incident(project: Project,
                                                                           slow_world: FakeWorld) -> None:
    """The reviewer's race, two real processes started together (fakes answering in 0.3 s)."""
    first, second = project.process(*POST), project.process(*POST)
    outputs = [first.communicate(timeout=120), second.communicate(timeout=120)]
    codes = sorted([first.returncode, second.returncode])
    ids = sorted({json.loads(out)["incident_id"] for out, _ in outputs if out.strip().startswith("{")})
    on_public_chat = [m.text for m in slow_world.telegram_messages(PUBLIC_CHAT)]
    # One of them is told it repeats the other (exit 2, nothing stored); readers see the incident once.
    assert len(ids) == 1 and len(slow_world.x.tweets) == 1 and len(on_public_chat) == 1, (
        codes, ids, len(slow_world.x.tweets), len(on_public_chat), len(slow_world.slack_messages()))
    assert codes == [0, 2], "\n".join(f"exit {p.returncode}:\n{out}{err}" for p, (out, err) in zip((first, second), outputs, strict=True))
    refused = next(err for (out, err), p in zip(outputs, (first, second), strict=True) if p.returncode == 2)
    assert "repeats" in refused and "Nothing was stored or sent." in refused, refused


def test_control_the_same_post_one_after_the_other_is_refused(project: Project, slow_world: FakeWorld) -> None:
    """The sequential case keeps its message (checked before the secrets, folders and rooms, as before)."""
    args = ("post", "--yes", "--title", "API errors", "-C", "api=major_outage", "We are investigating errors on the API.")
    assert project.cli(*args).exit_code == 0
    again = project.cli(*args)
    assert again.exit_code == 2 and "repeats" in again.output, again.output
    assert "min ago at" in again.output and "another command posted" not in again.output, again.output


def pg_project(project: Project, pg_server: PgServer, world: FakeWorld) -> Iterator[str]:
    name = pg_server.create_database()
    project.env[PASSWORD_ENV] = pg_server.password
    project.write_config(ENGINE + world.channels_toml() + f'\n[store]\nurl = "{pg_server.config_url(name)}"\n')
    try:
        yield pg_server.url(name)
    finally:
        pg_server.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_kind(request: pytest.FixtureRequest, project: Project, world: FakeWorld) -> Iterator[str]:
    """The embedded store (the project's default), or a fresh team database."""
    if request.param == "sqlite":
        yield ""
        return
    yield from pg_project(project, request.getfixturevalue("pg_server"), world)


def incident_ids(project: Project, url: str) -> list[str]:
    if url:
        store = open_store(url)
    else:
        store = open_store(load(str(project.config), environ=project.env).store_path)
    try:
        return sorted(store.incident_ids())
    finally:
        store.close()


def unhurried(project: Project) -> None:
    """The config as it is, with a 10 s request timeout: two posts at once on a loaded run (ten workers and reviews
    on two cores) once had a 2 s request time out, and the second post exited 3."""
    config = project.config.read_text(encoding="utf-8")
    assert ENGINE in config
    project.config.write_text(config.replace(ENGINE, UNHURRIED_ENGINE), encoding="utf-8")


def not_sent(stdout: str) -> list[Any]:
    """A post's ``--json`` deliveries that did not go (what a failed exit came from), or its stdout unparsed."""
    try:
        return [d for d in json.loads(stdout)["deliveries"] if d["state"] != "sent"]
    except (ValueError, KeyError, TypeError):
        return [stdout]


def post_while_checked(project: Project, monkeypatch: pytest.MonkeyPatch, *args: str) -> list[str]:
    """Run ``project.cli(*POST)`` with a second operator's identical post (the real CLI, its own process) stored
    and sent between this one's repeat check and its store: deterministically what two operators confirming at
    the same moment do. Returns the second one's outputs (stdout, stderr) with its exit code first."""
    real = check_shared_rooms
    seconds: list[str] = []

    def meanwhile(*given: Any, **kwargs: Any) -> Any:
        # The real run's rooms check (``ask=True``; the preview's asks nothing), the last step before storing.
        if kwargs.get("ask") is True and not seconds:
            other = project.process(*args)
            out, err = other.communicate(timeout=120)
            seconds.extend([str(other.returncode), out, err])
        return real(*given, **kwargs)

    monkeypatch.setattr(posting, "check_shared_rooms", meanwhile)
    return seconds


def test_a_post_stored_by_another_command_after_the_check_refuses_this_one(
    project: Project, world: FakeWorld, store_kind: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    unhurried(project)
    second = post_while_checked(project, monkeypatch, *POST)
    first = project.cli(*POST)
    assert second and second[0] == "0", (not_sent(second[1]), second[2])
    other_id = json.loads(second[1])["incident_id"]
    assert first.exit_code == 2, first.output
    # The refusal names the other post, says another command posted it, and what to do; nothing was stored.
    said = " ".join(first.output.split())
    assert f"this repeats {other_id} (the same title and text), which another command posted at" in said, said
    assert f"broadcaster show {other_id}" in said and "--again" in said and "Nothing was stored or sent." in said
    assert incident_ids(project, store_kind) == [other_id]
    assert len(world.x.tweets) == 1 and len(world.telegram_messages(PUBLIC_CHAT)) == 1
    assert len(world.slack_messages()) == 1


def test_again_still_posts_a_second_incident_meanwhile(
    project: Project, world: FakeWorld, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``--again`` means it: no second check, the store gives the second incident ``-2`` as before."""
    unhurried(project)
    second = post_while_checked(project, monkeypatch, *POST)
    first = project.cli(*POST, "--again")
    assert first.exit_code == 0 and second[0] == "0", (first.output, not_sent(second[1]), second[2])
    ids = incident_ids(project, "")
    assert len(ids) == 2 and ids[1] == ids[0] + "-2", ids
    assert len(world.x.tweets) == 2


def test_a_different_incident_posted_meanwhile_is_no_repeat(
    project: Project, world: FakeWorld, monkeypatch: pytest.MonkeyPatch,
) -> None:
    second = post_while_checked(project, monkeypatch, "post", "--yes", "--json", "--title", "Website down",
                                "-C", "web=major_outage", "The website does not load.")
    first = project.cli(*POST)
    assert first.exit_code == 0 and second[0] == "0", (first.output, second)
    assert len(incident_ids(project, "")) == 2


# -- 7. retry where one destination's secret is unset ---------------------------------------------------------


def fail_x_and_slack_once(project: Project, world: FakeWorld) -> None:
    """A post whose X and Slack deliveries failed (services down), the services back."""
    project.write_config(ENGINE + world.channels_toml())
    world.x.fail(*(Fault(match="/2/tweets", response=Response(503, {"title": "Unavailable", "status": 503}))
                   for _ in range(4)))
    world.slack.fail(*(Fault(match="chat.postMessage", response=Response(503, "down", content_type="text/html"))
                       for _ in range(4)))
    posted = project.cli("post", "--yes", "--title", "API errors", "-C", "api", "Investigating.")
    assert posted.exit_code == 3, posted.output
    world.x.clear_faults()
    world.slack.clear_faults()


def test_retry_without_one_secret_gives_advice_retry_can_follow(project: Project, world: FakeWorld) -> None:
    """The reviewer's test."""
    fail_x_and_slack_once(project, world)
    # The retry runs where SLACK_TOKEN is not set (a cron job's environment, another shell).
    project.env.pop("SLACK_TOKEN")
    retried = project.cli("retry")
    out = retried.output
    # Whatever it does, it must not tell the operator to use an option the command refuses.
    if "--skip" in out:
        assert project.cli("retry", "--skip", "slack-acme").exit_code != 2, out


def test_retry_sends_what_it_can_and_says_which_secret_to_export(project: Project, world: FakeWorld) -> None:
    fail_x_and_slack_once(project, world)
    project.env.pop("SLACK_TOKEN")
    retried = project.cli("retry")
    said = " ".join(retried.output.split())
    assert retried.exit_code == 3, retried.output
    assert len(world.x.tweets) == 1 and not world.slack_messages(), said  # X went; Slack could not
    assert "--skip" not in said, said
    assert "slack-acme.token: ${SLACK_TOKEN} has no value where `broadcaster retry` ran. Export it there" in said, said
    _, shown = project.cli_json("retry")
    [slack] = [o for o in shown["deliveries"] if o["destination"] == "slack-acme"]
    assert slack["state"] == "failed" and "SLACK_TOKEN" in slack["error"], shown
    # Exported again, the next retry sends it, once; X is not sent twice.
    project.env["SLACK_TOKEN"] = world.env["SLACK_TOKEN"]
    again = project.cli("retry")
    assert again.exit_code == 0, again.output
    assert len(world.slack.messages[SLACK_CHANNEL]) == 1 and len(world.x.tweets) == 1


def test_retry_leaves_a_delivery_another_command_claims_meanwhile(
    project: Project, world: FakeWorld, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A delivery another (live) command claims between retry's read and its marking is left to that command,
    never marked failed under it (a post it then sends would be resent by the next retry)."""
    fail_x_and_slack_once(project, world)
    config = load(str(project.config), environ=project.env)
    store = open_store(config.store_path)
    sender = subprocess.Popen(["sleep", "60"])
    owner = f"{socket.gethostname()}:{sender.pid}:{time.time():.3f}"
    real_todo = retrying.retry_todo

    def claimed_meanwhile(*args: Any, **kwargs: Any) -> list[Delivery]:
        todo = real_todo(*args, **kwargs)
        for delivery in todo:
            if delivery.destination == "slack-acme":
                assert store.claim(delivery.id, owner)
        return todo

    monkeypatch.setattr(retrying, "retry_todo", claimed_meanwhile)
    try:
        [slack] = [d for d in store.deliveries() if d.destination == "slack-acme"]
        project.env.pop("SLACK_TOKEN")
        retried = project.cli("retry")
        assert retried.exit_code == 3, retried.output
        assert store.delivery(slack.id).state == "sending", retried.output
        assert len(world.x.tweets) == 1
    finally:
        sender.kill()
        sender.wait()
        store.close()
