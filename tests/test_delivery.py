"""End to end through the real CLI, the real SDKs and the fake services: fan-out, threading, faults, retry, crashes.

Every assertion is on what the fakes received or what the store recorded,
never on what our code believes it did.
"""

from __future__ import annotations

import json
import os
import signal
import time
from typing import Any

import pytest

from tests.conftest import ENGINE, UNHURRIED_ENGINE, Project
from tests.fakes.base import Fault, Response
from tests.fakes.world import OPS_CHATS, PUBLIC_CHAT, SECRETS, FakeWorld
from tests.ports import free_port

PRIVATE = "PRIVDETAIL-fra2"




def post(project: Project, *args: str) -> tuple[int, dict[str, Any]]:
    result = project.cli("post", "--yes", "--json", *args)
    assert result.stdout, result.stderr
    return result.exit_code, json.loads(result.stdout)


def first_post(project: Project, message: str = "Elevated API errors.") -> tuple[int, dict[str, Any]]:
    return post(project, "--title", "API errors", "-C", "api", "--private", PRIVATE, message)


def states(payload: dict[str, Any]) -> dict[str, str]:
    return {(d["destination"] + (":" + d["target"] if d["target"] else "")): d["state"] for d in payload["deliveries"]}


def test_one_post_reaches_every_destination_with_the_right_view(project: Project, world: FakeWorld) -> None:
    code, payload = first_post(project)
    assert code == 0, payload
    assert set(states(payload).values()) == {"sent"}
    assert len(payload["deliveries"]) == 1 + 1 + 1 + len(OPS_CHATS) + 1
    [tweet] = world.x.tweets
    assert "Elevated API errors." in tweet.text and PRIVATE not in tweet.text
    [public_message] = world.telegram_messages(PUBLIC_CHAT)
    assert "Elevated API errors." in public_message.text and PRIVATE not in public_message.text
    for chat in OPS_CHATS:
        [ops_message] = world.telegram_messages(chat)
        assert PRIVATE in ops_message.text
    [slack_message] = world.slack_messages()
    assert PRIVATE in json.dumps(slack_message.blocks)
    remote_ids = {d["destination"]: d["remote_id"] for d in payload["deliveries"]}
    assert remote_ids["x"] == tweet.id


def test_component_subscription_skips_a_channel(project: Project, world: FakeWorld) -> None:
    code, payload = post(project, "--title", "DB slow", "-C", "db", "Queries are slow.")
    assert code == 0
    assert states(payload)["slack-acme"] == "skipped"
    assert world.slack_messages() == []
    skipped = next(d for d in payload["deliveries"] if d["destination"] == "slack-acme")
    assert "api" in skipped["reason"]


def test_three_updates_thread_on_every_channel_across_invocations(project: Project, world: FakeWorld) -> None:
    code, first = first_post(project)
    incident = first["incident_id"]
    assert post(project, "-i", incident, "-s", "identified", "Cause found.")[0] == 0
    assert project.cli("resolve", incident, "--yes", "Fixed.").exit_code == 0

    tweets = world.x.tweets
    assert len(tweets) == 3
    assert tweets[1].in_reply_to == tweets[0].id and tweets[2].in_reply_to == tweets[1].id
    for chat in (PUBLIC_CHAT, *OPS_CHATS):
        messages = world.telegram_messages(chat)
        assert len(messages) == 3
        assert [m.reply_to_message_id for m in messages[1:]] == [messages[0].message_id] * 2
    slack = world.slack_messages()
    assert len(slack) == 3
    assert slack[0].thread_ts is None and [m.thread_ts for m in slack[1:]] == [slack[0].ts] * 2
    assert "Resolved" in json.dumps(slack[0].blocks) or "resolved" in json.dumps(slack[0].blocks).lower()


# -- fault injection, per destination ------------------------------------------------

PATHS = {"x": "/2/tweets", "tg-ops": "sendMessage", "slack-acme": "chat.postMessage"}


def fake_for(world: FakeWorld, destination: str):  # type: ignore[no-untyped-def]
    return {"x": world.x, "tg-ops": world.telegram, "slack-acme": world.slack}[destination]


def rate_limited(destination: str) -> Response:
    if destination == "x":
        return Response(429, {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429},
                        headers={"x-rate-limit-reset": str(int(time.time()) + 2), "x-rate-limit-remaining": "0"})
    if destination == "tg-ops":
        return Response(429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1", "parameters": {"retry_after": 1}})
    return Response(429, {"ok": False, "error": "ratelimited"}, headers={"Retry-After": "1"})


def server_error(destination: str, status: int = 500) -> Response:
    """A 5xx as each service sends it. 503 promises nothing was done; 500 does not."""
    if destination == "tg-ops":
        return Response(status, {"ok": False, "error_code": status, "description": "Internal Server Error"})
    if destination == "x":
        return Response(status, {"title": "Internal Server Error", "status": status})
    return Response(status, "<html>internal error</html>", content_type="text/html")


DESTINATIONS = ["x", "tg-ops", "slack-acme"]


def group_of(destination: str) -> set[str]:
    """Both Telegram channels share one fake, so a queued fault may hit either of them."""
    return {"tg-public", "tg-ops"} if destination.startswith("tg") else {destination}


def target_of(payload: dict[str, Any], destination: str) -> list[dict[str, Any]]:
    return [d for d in payload["deliveries"] if d["destination"] in group_of(destination)]


def extra_attempts(payload: dict[str, Any], destination: str) -> int:
    """Attempts beyond the first, over the destination's group: one per injected fault."""
    return sum(d["attempts"] - 1 for d in target_of(payload, destination))


def first_version(message) -> str:  # type: ignore[no-untyped-def]
    """Slack's first message is later edited into a status card: what was posted first."""
    return json.dumps(message.edits[0]["blocks"] if message.edits else message.blocks)


@pytest.mark.parametrize("destination", DESTINATIONS)
def test_rate_limit_is_honoured_then_sent(project: Project, world: FakeWorld, destination: str) -> None:
    fake_for(world, destination).fail(Fault(match=PATHS[destination], response=rate_limited(destination)))
    started = time.monotonic()
    code, payload = first_post(project)
    assert code == 0, payload
    assert extra_attempts(payload, destination) == 1
    assert all(d["state"] == "sent" for d in target_of(payload, destination))
    assert time.monotonic() - started >= 0.9  # waited for the server's retry-after


@pytest.mark.parametrize("destination", DESTINATIONS)
def test_two_unavailable_answers_then_ok(project: Project, world: FakeWorld, destination: str) -> None:
    """503: the service took nothing, so trying again cannot post twice."""
    fake = fake_for(world, destination)
    fake.fail(Fault(match=PATHS[destination], response=server_error(destination, 503)),
              Fault(match=PATHS[destination], response=server_error(destination, 503)))
    code, payload = first_post(project)
    assert code == 0, payload
    assert extra_attempts(payload, destination) == 2


def _post_loading(project: Project, title: str) -> tuple[dict[str, Any], str]:
    """A post in its own process: its JSON, and what ``-X importtime`` says it imported."""
    post = project.process("post", "--yes", "--json", "--title", title, "-C", "api", "Elevated API errors.",
                           env={"PYTHONPROFILEIMPORTTIME": "1"})
    out, imports = post.communicate(timeout=120)
    assert post.returncode == 0, out + imports[-2000:]
    return json.loads(out), imports


def test_sends_that_succeed_at_once_never_load_the_retry_library_and_a_failed_one_is_retried_by_it(
    project: Project, world: FakeWorld
) -> None:
    """tenacity (about 10 ms on the way to every first request) is loaded by the first failure worth repeating, which
    it then takes as its own first attempt's: the server's retry-after is honoured from there as before."""
    # Each request given long enough that a loaded machine's slow answer is no failure to repeat (a fresh clone's
    # run, ten workers on two cores, once timed one out at the fixture's 2 s).
    project.write_config("[engine]\ntimeout = 20\ndeadline = 60\nmax_attempts = 4\n" + world.channels_toml())
    payload, imports = _post_loading(project, "All at once")
    assert all(d["state"] == "sent" and d["attempts"] == 1 for d in payload["deliveries"]), payload
    assert " tenacity\n" not in imports and "| tenacity" not in imports

    world.slack.fail(Fault(match=PATHS["slack-acme"], response=rate_limited("slack-acme")))
    started = time.monotonic()
    payload, imports = _post_loading(project, "Slack asks to wait")
    assert "| tenacity" in imports
    assert extra_attempts(payload, "slack-acme") == 1
    assert all(d["state"] == "sent" for d in payload["deliveries"]), payload
    assert time.monotonic() - started >= 0.9  # waited for the server's retry-after


def received(world: FakeWorld, destination: str) -> int:
    """How many posts of the incident's first update the fake service holds for this destination."""
    if destination == "x":
        return len(world.x.tweets)
    if destination == "slack-acme":
        return len(world.slack_messages())
    return sum(len(world.telegram_messages(chat)) for chat in (PUBLIC_CHAT, *OPS_CHATS))


def assert_unknown_then_resent_only_on_request(project: Project, world: FakeWorld, destination: str, payload: dict[str, Any],
                                               arrived: bool) -> None:
    """A delivery whose request may have arrived: unknown, tried once, never resent by plain `retry`."""
    doubtful = [d for d in target_of(payload, destination) if d["state"] != "sent"]
    assert doubtful and all(d["state"] == "unknown" and d["attempts"] == 1 for d in doubtful), payload
    assert all("--mark-unknown-sent" in d["error"] and "--include-unknown" in d["error"] for d in doubtful)
    assert all(d["state"] == "sent" for d in payload["deliveries"] if d["destination"] not in group_of(destination))
    posted = received(world, destination)
    plain = project.cli("retry", "--json")
    assert plain.exit_code == 3
    assert json.loads(plain.stdout)["deliveries"] == []
    assert {(d["destination"], d["state"]) for d in json.loads(plain.stdout)["unknown"]} == {
        (d["destination"], "unknown") for d in doubtful}
    assert received(world, destination) == posted  # nothing posted twice
    if arrived:
        return
    resent = project.cli("retry", "--include-unknown", "--json")
    assert resent.exit_code == 0, resent.stdout
    assert received(world, destination) == posted + len(doubtful)


@pytest.mark.parametrize("destination", DESTINATIONS)
def test_a_server_error_that_may_have_posted_is_unknown_and_not_retried(project: Project, world: FakeWorld, destination: str) -> None:
    fake_for(world, destination).fail(Fault(match=PATHS[destination], response=server_error(destination, 500)))
    code, payload = first_post(project)
    assert code == 3
    assert_unknown_then_resent_only_on_request(project, world, destination, payload, arrived=False)


@pytest.mark.parametrize("destination", DESTINATIONS)
def test_a_request_that_never_answers_is_unknown_and_not_retried(project: Project, world: FakeWorld, destination: str) -> None:
    fake_for(world, destination).fail(Fault(match=PATHS[destination], hang=30))
    code, payload = first_post(project)
    assert code == 3
    assert all("answer" in d["error"] for d in target_of(payload, destination) if d["state"] == "unknown")
    assert_unknown_then_resent_only_on_request(project, world, destination, payload, arrived=False)


@pytest.mark.parametrize("destination", DESTINATIONS)
def test_a_slow_server_that_posted_is_never_posted_twice(project: Project, world: FakeWorld, destination: str) -> None:
    """The request arrived and was posted; the answer came after [engine] timeout (2 s)."""
    fake_for(world, destination).fail(Fault(match=PATHS[destination], hold=4))
    code, payload = first_post(project)
    assert code == 3
    expected = len([d for d in target_of(payload, destination)])
    assert received(world, destination) == expected  # each target once, none twice
    assert_unknown_then_resent_only_on_request(project, world, destination, payload, arrived=True)
    assert received(world, destination) == expected


@pytest.mark.parametrize("destination", DESTINATIONS)
def test_a_reset_after_the_service_took_the_post_is_never_posted_twice(project: Project, world: FakeWorld, destination: str) -> None:
    fake_for(world, destination).fail(Fault(match=PATHS[destination], reset_after=True))
    code, payload = first_post(project)
    assert code == 3
    assert_unknown_then_resent_only_on_request(project, world, destination, payload, arrived=True)
    assert received(world, destination) == len(target_of(payload, destination))


@pytest.mark.parametrize("destination", DESTINATIONS)
def test_a_reset_before_the_answer_is_unknown_even_when_nothing_was_posted(project: Project, world: FakeWorld, destination: str) -> None:
    """The client cannot tell a reset before processing from one after: it must not guess."""
    fake_for(world, destination).fail(Fault(match=PATHS[destination], reset=True))
    code, payload = first_post(project)
    assert code == 3
    assert_unknown_then_resent_only_on_request(project, world, destination, payload, arrived=False)


@pytest.mark.parametrize("destination", DESTINATIONS)
def test_a_request_in_flight_at_the_deadline_is_unknown_not_failed(project: Project, world: FakeWorld, destination: str) -> None:
    """[engine] deadline (6 s) comes before [engine] timeout (12 s) while the service holds the request.

    The deadline leaves the requests time to leave on a loaded machine: one still in the client's hands when it
    comes is ``failed``, nothing out (since 4d80967), which is not what this test is about."""
    project.write_config("[engine]\ntimeout = 12\ndeadline = 6\nmax_attempts = 4\n" + world.channels_toml())
    fake_for(world, destination).fail(*[Fault(match=PATHS[destination], hold=30) for _ in range(3)])
    code, payload = first_post(project)
    assert code == 3
    doubtful = [d for d in target_of(payload, destination) if d["state"] != "sent"]
    assert doubtful and all(d["state"] == "unknown" and "deadline" in d["error"] for d in doubtful), [
        (d["destination"], d["target"], d["state"], d["error"]) for d in doubtful]  # whole, where the payload is cut
    posted = received(world, destination)
    assert project.cli("retry").exit_code == 3
    assert received(world, destination) == posted
    shown = json.loads(project.cli("show", payload["incident_id"], "--json").stdout)
    assert {d["state"] for d in shown["deliveries"]} <= {"sent", "unknown"}


@pytest.mark.parametrize("destination", DESTINATIONS)
def test_a_refused_connection_is_retried_and_failed_then_retry_sends_it_once(project: Project, world: FakeWorld, destination: str) -> None:
    """Nothing listens: no request can have arrived, so it is retried, and `retry` may send it."""
    dead = f"http://127.0.0.1:{free_port()}"
    live = fake_for(world, destination).url
    project.write_config(ENGINE + world.channels_toml().replace(live, dead))
    code, payload = first_post(project)
    assert code == 3
    for delivery in target_of(payload, destination):
        if delivery["destination"] == "tg-ops":
            # Since the review of issue 15: Telegram cannot say which chat tg-public's @acmestatus is, so the
            # internal chats (which might be it) are held back untried, failed with why (test_shared_rooms).
            assert delivery["state"] == "failed" and delivery["attempts"] == 0, delivery
            assert "could not ask which chat @acmestatus is" in delivery["error"] and "retry" in delivery["error"]
        elif delivery["destination"] == destination or destination == "tg-ops":
            assert delivery["state"] == "failed" and delivery["attempts"] == 4, delivery
            assert "connect" in delivery["error"] and "Gave up after 4 attempts" in delivery["error"]
            assert "will retry" not in delivery["error"].lower()
    project.write_config(ENGINE + world.channels_toml())
    before = received(world, destination)
    assert project.cli("retry").exit_code == 0
    assert project.cli("retry").exit_code == 0
    assert received(world, destination) == before + len(target_of(payload, destination))


@pytest.mark.parametrize(("destination", "variable"), [("x", "X_TOKEN"), ("tg-ops", "TG_TOKEN"), ("slack-acme", "SLACK_TOKEN")])
def test_bad_credentials_fail_at_once_and_the_others_are_sent(project: Project, world: FakeWorld, destination: str, variable: str) -> None:
    if destination == "tg-ops":  # one token shared by both Telegram channels in the world: give ops its own
        project.write_config(ENGINE + world.channels_toml().replace('visibility = "private"\ntoken = "${TG_TOKEN}"', 'visibility = "private"\ntoken = "${TG_OPS_TOKEN}"'))
        variable = "TG_OPS_TOKEN"
    project.env[variable] = "wrong-" + project.env.get(variable, "token-123456")
    code, payload = first_post(project)
    assert code == 3
    for delivery in payload["deliveries"]:
        if delivery["destination"] == destination:
            assert delivery["state"] == "failed" and delivery["attempts"] == 1
            assert delivery["error"]
            assert not any(secret in delivery["error"] for secret in [*SECRETS, project.env[variable]])
        else:
            assert delivery["state"] in ("sent", "skipped"), delivery


def test_one_destination_down_then_retry_sends_it_once(project: Project, world: FakeWorld) -> None:
    world.slack.fail(*[Fault(match="chat.postMessage", response=server_error("slack-acme", 503)) for _ in range(4)])
    code, payload = first_post(project)
    assert code == 3
    assert states(payload)["slack-acme"] == "failed"
    assert world.slack_messages() == []
    error = next(d["error"] for d in payload["deliveries"] if d["destination"] == "slack-acme")
    assert error
    tweets_before = len(world.x.tweets)

    retried = project.cli("retry", "--json")
    assert retried.exit_code == 0, retried.stdout
    assert [d["destination"] for d in json.loads(retried.stdout)["deliveries"]] == ["slack-acme"]
    assert len(world.slack_messages()) == 1
    assert len(world.x.tweets) == tweets_before  # nothing sent twice
    again = project.cli("retry")
    assert again.exit_code == 0 and "Nothing to resend" in again.stdout
    assert len(world.slack_messages()) == 1


def test_a_later_update_waits_for_the_earlier_one_and_retry_sends_both_in_order(project: Project, world: FakeWorld) -> None:
    world.slack.fail(*[Fault(match="chat.postMessage", response=server_error("slack-acme", 503)) for _ in range(4)])
    code, first = first_post(project)
    assert code == 3
    code, second = post(project, "-i", first["incident_id"], "Still investigating.")
    assert code == 3
    held = next(d for d in second["deliveries"] if d["destination"] == "slack-acme")
    assert held["state"] == "failed" and "#1" in held["error"] and "retry" in held["error"]
    assert world.slack_messages() == []
    assert project.cli("retry").exit_code == 0
    slack = world.slack_messages()
    assert len(slack) == 2
    assert "Elevated API errors." in first_version(slack[0])
    assert "Still investigating." in first_version(slack[1]) and slack[1].thread_ts == slack[0].ts


def test_sigkill_mid_flight_then_retry_loses_nothing_and_posts_nothing_twice(project: Project, world: FakeWorld) -> None:
    fakes = [(world.x, "/2/tweets"), (world.telegram, "sendMessage"), (world.slack, "chat.postMessage")]
    for fake, path in fakes:
        fake.fail(*[Fault(match=path, hold=120) for _ in range(4)])
    # Unhurried: at 2 s, the question of which chat @acmestatus is went unanswered in a loaded run, the ops chats
    # were refused unsent, and the process ended before their requests could arrive to be cut.
    project.write_config(UNHURRIED_ENGINE + world.channels_toml())
    process = project.process("post", "--yes", "--json", "--title", "API errors", "-C", "api", "Elevated API errors.")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(f.held.is_set() for f, _ in fakes):
        time.sleep(0.05)
    assert all(f.held.is_set() for f, _ in fakes), process.communicate()
    # Every chat's request must have arrived before the kill: one still on its way would be sent
    # by the retry into a hold fault left queued for it (a fixed wait lost that race under load).
    chats = (PUBLIC_CHAT, *OPS_CHATS)
    while time.monotonic() < deadline and not all(world.telegram_messages(chat) for chat in chats):
        time.sleep(0.05)
    assert all(world.telegram_messages(chat) for chat in chats), process.communicate()
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=10)  # reaps it and closes the pipes

    retried = project.cli("retry", "--json")
    assert retried.exit_code == 3
    report = json.loads(retried.stdout)
    unknown = {(d["destination"], d["target"]) for d in report["unknown"]}
    assert ("x", "") in unknown and ("slack-acme", "") in unknown
    assert "unknown" in project.cli("retry").stdout  # reported, not resent
    assert len(world.x.tweets) == 1 and len(world.slack_messages()) == 1

    marked = project.cli("retry", "--mark-unknown-sent")
    assert marked.exit_code == 0, marked.stdout
    final = project.cli("retry", "--json")
    assert final.exit_code == 0
    incident = json.loads(project.cli("list", "--json").stdout)[0]["id"]
    shown = json.loads(project.cli("show", incident, "--json").stdout)
    assert {d["state"] for d in shown["deliveries"]} <= {"sent", "skipped"}
    assert len(world.x.tweets) == 1
    assert len(world.slack_messages()) == 1
    assert len(world.telegram_messages(PUBLIC_CHAT)) == 1
    for chat in OPS_CHATS:
        assert len(world.telegram_messages(chat)) == 1


def test_two_operators_posting_at_once_are_delivered_everywhere_in_order(project: Project, world: FakeWorld) -> None:
    code, first = first_post(project)
    incident = first["incident_id"]
    processes = [project.process("post", "--yes", "--json", "-i", incident, f"Operator {n} update.") for n in (1, 2)]
    outputs = [p.communicate(timeout=60) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    assert sorted(json.loads(out)["sequence"] for out, _ in outputs) == [2, 3]
    shown = json.loads(project.cli("show", incident, "--json").stdout)
    messages = [u["message"] for u in shown["updates"]]  # in sequence order
    tweets = world.x.tweets
    assert len(tweets) == 3
    for index, message in enumerate(messages):
        assert message in tweets[index].text
    assert tweets[1].in_reply_to == tweets[0].id and tweets[2].in_reply_to == tweets[1].id
    for chat in (PUBLIC_CHAT, *OPS_CHATS):
        received = world.telegram_messages(chat)
        assert [m for m in messages if any(m in r.text for r in received)] == messages
        for index, message in enumerate(messages):
            assert message in received[index].text
    slack = world.slack_messages()
    assert len(slack) == 3
    for index, message in enumerate(messages):
        assert message in first_version(slack[index])


@pytest.mark.slow
def test_a_telegram_channel_with_200_chats_stays_within_limits_and_shows_progress(project: Project) -> None:
    chats = tuple(-1002000 - n for n in range(200))
    with FakeWorld(ops_chats=chats) as fakes:
        project.write_config("[engine]\ntimeout = 5\ndeadline = 30\n" + fakes.channels_toml())
        # rich draws its live display when told the output is a terminal that can take it.
        process = project.process("post", "--yes", "--title", "API errors", "-C", "api", "Elevated API errors.",
                                  env={**fakes.env, "TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "1", "COLUMNS": "100"})
        output, errors = process.communicate(timeout=120)
        assert process.returncode == 0, output + errors
        assert fakes.telegram.too_many_count == 0
        for chat in chats:
            assert len(fakes.telegram_messages(chat)) == 1
        assert "tg-ops" in output and "200/200" in output
        assert "/200" in output.split("200/200")[0]  # counts were shown while it ran


def test_no_secret_in_output_logs_or_the_state_file(project: Project, world: FakeWorld) -> None:
    """Every channel fails once with a retryable error and one for good: the tokens stay out of everything."""
    world.slack.fail(*[Fault(match="chat.postMessage", response=server_error("slack-acme", 503)) for _ in range(4)])
    world.x.fail(Fault(match="/2/tweets", reset=True))
    world.telegram.fail(Fault(match="sendMessage", hang=30))
    result = project.cli("--debug", "post", "--yes", "--title", "API errors", "-C", "api", "Elevated errors.")
    assert result.exit_code == 3
    shown = project.cli("show", json.loads(project.cli("list", "--json").stdout)[0]["id"])
    checked = project.cli("channels", "check")
    state = b"".join(p.read_bytes() for p in (project.root / ".broadcaster").glob("state.db*"))
    for secret in SECRETS:
        for text in (result.stdout, result.stderr, shown.stdout, checked.stdout):
            assert secret not in text
        assert secret.encode() not in state
