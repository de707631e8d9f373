"""A hostile review of the wire (losses and duplicates); each test failed before its fix.

Ctrl-C or SIGTERM while a delivery only waited out a 429's retry-after: the README says a delivery with nothing
out goes back to pending, for a plain retry to send. A 429 is a refusal, nothing was posted; but the engine's
``log.on_wire``, set before the refused request, stayed set, so the stop left the delivery ``sending`` and the
next command reaped it ``unknown``: a plain ``retry`` never sent it (and `--mark-unknown-sent` settled a post in
parts on its first part, the rest never sent).
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import Project
from tests.fakes.base import Fault, Response
from tests.fakes.discord import FakeDiscord
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.matrix import FakeMatrix
from tests.fakes.telegram import FakeTelegram
from tests.social import M_TOKEN
from tests.test_interrupted_send import mastodon_alone

TOKEN = "123456:tg-token-zzwire"
CHAT = -1001777
TOO_MANY = Response(429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 20",
                          "parameters": {"retry_after": 20}}, headers={"Retry-After": "20"})


def _telegram_alone(project: Project, fake: FakeTelegram) -> None:
    project.env["TG_TOKEN"] = TOKEN
    project.write_config(f'[engine]\ntimeout = 2\ndeadline = 60\nmax_attempts = 3\n\n[channels.ops]\n'
                         f'type = "telegram"\nvisibility = "private"\ntoken = "${{TG_TOKEN}}"\n'
                         f'chat_ids = [{CHAT}]\napi_url = "{fake.url}"\n')


def _stop_during_wait(project: Project, fake_requests: Callable[[], bool], what: str) -> dict[str, Any]:
    process = project.process("post", "--yes", "--title", "API errors", "Elevated API errors.")
    until = time.monotonic() + 30
    while not fake_requests() and time.monotonic() < until:
        time.sleep(0.05)
    assert fake_requests(), process.communicate()
    time.sleep(1.0)  # the 429 is answered; the engine now sleeps its retry-after (20 s)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    incident = json.loads(project.cli("list", "--json").stdout)[0]["id"]
    [d] = [d for d in json.loads(project.cli("show", incident, "--json").stdout)["deliveries"] if d["destination"] == what]
    return {"incident": incident, "delivery": d, "out": out + err}


def test_ctrl_c_while_waiting_out_a_telegram_429_leaves_it_pending(project: Project) -> None:
    with FakeTelegram(token=TOKEN, chats={CHAT: "ops"}, enforce_limits=False) as fake:
        _telegram_alone(project, fake)
        fake.fail(Fault(match="sendMessage", response=TOO_MANY))
        got = _stop_during_wait(project, lambda: not fake._faults, "ops")
        assert not fake.messages.get(CHAT)  # nothing was posted: the only request was turned away
        retried = project.cli("retry", got["incident"])
        assert len(fake.messages.get(CHAT, [])) == 1, (got["delivery"], retried.exit_code, retried.stdout)
        assert got["delivery"]["state"] == "pending", got["delivery"]


def test_ctrl_c_while_waiting_out_a_mastodon_429_leaves_it_pending(project: Project) -> None:
    with FakeMastodon() as fake:
        fake.reset(token=M_TOKEN)
        mastodon_alone(project, fake)
        reset_at = str(int(time.time()) + 20)
        fake.fail(Fault(match="/api/v1/statuses", response=Response(
            429, {"error": "Too many requests"}, headers={"X-RateLimit-Reset": reset_at, "Retry-After": "20"})))
        got = _stop_during_wait(project, lambda: not fake._faults, "masto")
        assert got["delivery"]["state"] == "pending", got["delivery"]


def test_ctrl_c_while_part_2_waits_out_a_429_lets_a_plain_retry_send_the_rest(project: Project) -> None:
    """The same, for a post in parts: part 1 confirmed, part 2 turned away with a 429, Ctrl-C during the wait."""
    from tests.test_delivery_states import long_update

    with FakeTelegram(token=TOKEN, chats={CHAT: "ops"}, enforce_limits=False) as fake:
        _telegram_alone(project, fake)
        fake.fail(Fault(match="sendMessage", after=1, response=TOO_MANY))
        message, options = long_update(3)
        source = project.root / "message.txt"
        source.write_text(message, encoding="utf-8")
        with source.open() as stdin:
            process = project.process("post", "--yes", "--title", "Queue slow", *options, "-", stdin=stdin)
        until = time.monotonic() + 30
        while fake._faults and time.monotonic() < until:
            time.sleep(0.05)
        assert not fake._faults, process.communicate()
        time.sleep(1.0)
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
        incident = json.loads(project.cli("list", "--json").stdout)[0]["id"]
        [d] = [d for d in json.loads(project.cli("show", incident, "--json").stdout)["deliveries"]
               if d["destination"] == "ops"]
        assert len(fake.messages[CHAT]) == 1 and len(d["parts"]) == 1, d
        retried = project.cli("retry", incident)
        assert len(fake.messages[CHAT]) == 3, (d["state"], retried.exit_code, retried.stdout)


ROOM = "!ops:example.org"
OLD, NEW = "syt_old_ToKeN_1", "syt_new_ToKeN_2"


def _proxy_times_out_after_sending(fake: FakeMatrix, html: bool) -> dict[str, bool]:
    """Wrap the send route: the event is stored, then the answer is a proxy's 504 while ``down``."""
    state = {"down": True}
    for index, (method, pattern, handler) in enumerate(fake._routes):
        if method == "PUT" and "/send/" in pattern.pattern:
            def wrapped(request, found, handler=handler):  # type: ignore[no-untyped-def]
                answer = handler(request, found)
                if state["down"]:
                    if html:  # nginx's own page
                        return Response(504, "<html><body><h1>504 Gateway Time-out</h1></body></html>",
                                        content_type="text/html")
                    return Response(504, {"errcode": "M_UNKNOWN", "error": "Gateway Time-out"})
                return answer
            fake._routes[index] = (method, pattern, wrapped)
    return state


# A Matrix send that took effect but came back as a 5xx (a reverse proxy's 504 while Synapse finished the send):
# every other channel calls a 5xx other than 503 "may have been done"; Matrix called it failed, and a plain retry
# sent it again, shown twice once the homeserver no longer held the transaction id (a new token, the next day).
@pytest.mark.parametrize("html", [False, True], ids=["json-504", "nginx-html-504"])
def test_a_matrix_5xx_after_the_event_was_stored_is_not_resent_by_a_plain_retry(project: Project, html: bool) -> None:
    with FakeMatrix(token=OLD, rooms=[ROOM]) as fake:
        project.write_config(f"""
[engine]
timeout = 2
deadline = 20
max_attempts = 3

[channels.ops-matrix]
type = "matrix"
visibility = "private"
homeserver = "{fake.url}"
access_token = "${{MATRIX_TOKEN}}"
room_id = "{ROOM}"
""")
        project.env["MATRIX_TOKEN"] = OLD
        state = _proxy_times_out_after_sending(fake, html)
        first = project.cli("post", "--yes", "--json", "--title", "API errors", "Errors on the API.")
        payload = json.loads(first.stdout)
        incident = payload["incident_id"]
        [d] = [d for d in payload["deliveries"] if d["destination"] == "ops-matrix"]
        assert len(fake.events[ROOM]) == 1  # the homeserver has the update (every attempt's answer was lost)
        recorded = d["state"]

        # Later: the proxy is fixed and the bot's token was replaced (logged in again), or a day passed.
        state["down"] = False
        fake.token = NEW
        project.env["MATRIX_TOKEN"] = NEW
        retried = project.cli("retry", incident)
        texts = [e.content.get("body", "") for e in fake.events[ROOM]]
        assert len(texts) == 1, (recorded, retried.exit_code, texts)
        assert recorded == "unknown", recorded


def test_retry_after_amend_sends_the_corrected_text_never_the_one_corrected(project: Project) -> None:
    """Update 1 failed at X, then was amended: retry posted the text the operator had already corrected (X cannot
    edit it), then the correction as a reply. Corrected because it named something it should not, that published
    it. Nothing of it had gone out: it goes with the correction's text, and the correction is not sent there."""
    from tests.conftest import ENGINE
    from tests.fakes.world import FakeWorld

    unavailable = Response(503, {"title": "Service Unavailable", "detail": "Service Unavailable", "status": 503})
    with FakeWorld() as world:
        project.env.update(world.env)
        project.write_config(ENGINE + world.channels_toml())
        world.x.fail(*[Fault(match="/2/tweets", response=unavailable) for _ in range(10)])
        result = project.cli("post", "--yes", "--json", "--title", "DB outage", "Database down in region eu-west-1.")
        incident = json.loads(result.stdout)["incident_id"]
        assert not world.x.tweets
        world.x.clear_faults()
        amended = project.cli("amend", incident, "1", "--yes", "--json", "Database down in region eu-central-1.")
        assert amended.exit_code == 0, amended.output
        states = {d["destination"]: d for d in json.loads(amended.stdout)["deliveries"]}
        assert states["x"]["state"] == "skipped" and "has not gone out here yet" in states["x"]["reason"]
        assert states["tg-public"]["state"] == "sent"  # edited in place where it went out
        retried = project.cli("retry", incident)
        assert retried.exit_code == 0, retried.output
        assert [t.text for t in world.x.tweets if "eu-" in t.text] == [
            t.text for t in world.x.tweets if "eu-central-1" in t.text] != []
        assert len(world.x.tweets) == 1


# A Discord forum post whose answer was lost, settled as the README says (`retry --mark-unknown-sent --remote-id
# discord=<id>`, the id copied with Developer Mode): the id was stored as a message in the channel, so the next
# update, refused by the forum without a thread, opened a second forum post for the same incident.
def test_a_forum_post_marked_sent_by_its_message_id_keeps_the_follow_ups_in_it(project: Project) -> None:
    with FakeDiscord(forum=True) as fake:
        project.env["DISCORD_WEBHOOK_URL"] = fake.webhook_url
        project.write_config(f'[engine]\ntimeout = 2\ndeadline = 20\nmax_attempts = 3\n\n[channels.discord]\n'
                             f'type = "discord"\nwebhook_url = "${{DISCORD_WEBHOOK_URL}}"\napi_url = "{fake.api_url}"\n')
        fake.fail(Fault(match="/webhooks/", reset_after=True, after=1))  # the 220001 refusal first, then the post
        first = json.loads(project.cli("post", "--yes", "--json", "--title", "API errors", "Errors on the API.").stdout)
        incident = first["incident_id"]
        [d] = [d for d in first["deliveries"] if d["destination"] == "discord"]
        assert d["state"] == "unknown" and len(fake.messages) == 1, (d, fake.messages)
        starter = fake.messages[0].id  # what "Copy Message ID" gives on the forum post's first message
        marked = project.cli("retry", incident, "--mark-unknown-sent", "--remote-id", f"discord={starter}")
        assert marked.exit_code == 0, marked.stdout + marked.stderr
        follow = project.cli("post", "--yes", "-i", incident, "-s", "identified", "Cause found.")
        assert follow.exit_code == 0, follow.stdout + follow.stderr
        threads = sorted({m.channel_id for m in fake.messages})
        assert threads == [starter], (marked.stdout, [(m.id, m.channel_id, m.body.get("thread_name")) for m in fake.messages])
