"""Delivery states that tell the truth, through the real CLI against the fakes.

A post sent in parts resumes after its last confirmed part; a delivery the
config no longer wants is skipped, never sent; a later update held back says
exactly what sends it; an operator who checked an unknown post can give its
id so the thread goes on; the site and its hosts are simply redone.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import ENGINE, Project
from tests.fakes.base import Fault, Response
from tests.fakes.s3 import PUBLISH_ENV, S3Fault, S3Server
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram
from tests.fakes.twitter import DUPLICATE
from tests.fakes.world import OPS_CHATS, PUBLIC_CHAT, FakeWorld

TOKEN = "123456:tg-token-parts"
CHAT = -1001777
SLACK_TOKEN = "xoxb-states-5c8e1a"
UNAVAILABLE = Response(503, {"ok": False, "error_code": 503, "description": "Service Unavailable"})


def telegram_toml(fake: FakeTelegram, chats: str = str(CHAT), visibility: str = "private") -> str:
    return f"""
[channels.ops]
type = "telegram"
visibility = "{visibility}"
token = "${{TG_TOKEN}}"
chat_ids = [{chats}]
api_url = "{fake.url}"
"""


@pytest.fixture
def telegram(project: Project) -> Iterator[FakeTelegram]:
    # No rate limits: the faults below count requests ("after part 2"), and a part the fake's 1 msg/s
    # limit turned away with a 429 (a busy machine bunches the paced parts up) would be counted
    # too, so the fault would land on the resent part instead. Limits are test_telegram.py's subject.
    chats: dict[int | str, str] = {CHAT: "ops", -1001888: "ops 2", "@acmestatus": "Acme status"}
    with FakeTelegram(token=TOKEN, chats=chats, enforce_limits=False) as fake:
        project.write_config("[engine]\ntimeout = 2\ndeadline = 40\nmax_attempts = 3\n" + telegram_toml(fake))
        project.env["TG_TOKEN"] = TOKEN
        yield fake


COMPANIES = ("Northwind Logistics International GmbH", "Contoso Pharmaceuticals Research Ltd",
             "Fabrikam Industrial Automation Inc", "Tailspin Aviation Services Group AG")
REGIONS = ("eu-central-1", "us-east-2", "ap-southeast-1")


def long_update(parts: int = 5) -> tuple[str, list[str]]:
    """A message and the options of an update whose private rendering fills ``parts`` Telegram messages.

    Every field stays within the input limits (a message and --private at most 5,000 characters,
    at most 100 customers of 200): what makes it long is what a private chat shows beside the
    message, the note and the customers. Plain sentences and lines, so the parts differ.
    """
    target = 4096 * (parts - 1) + 1200  # the last part well short of full, whatever the cut points
    message = _filled("Sentence {n} says the queue is slow and retries pile up behind it. ", 4_800)
    note = _filled("worker-{n:03}: orders queue lag 42 s, 17 retries pending, consumer rebalanced.\n", 4_800)
    customers: list[str] = []
    while len(message) + len(note) + sum(len(c) + 2 for c in customers) < target:
        n = len(customers) + 1
        customers.append(f"Customer {n:03}: {COMPANIES[n % 4]} ({REGIONS[n % 3]}, enterprise plan, contract {2024 + n % 3}-{n:04})")
    assert len(customers) <= 100, "more customers than --ticket takes: lengthen the other fields"
    return message, ["--private", note, *(arg for c in customers for arg in ("--ticket", c))]


def _filled(line: str, limit: int) -> str:
    text, n = "", 0
    while len(text) + len(line) + 10 < limit:
        n += 1
        text += line.format(n=n)
    return text.strip()


def post_json(project: Project, *args: str, input: str | None = None) -> tuple[int, dict[str, Any]]:
    result = project.cli("post", "--yes", "--json", *args, input=input)
    assert result.stdout, result.stderr
    return result.exit_code, json.loads(result.stdout)


def shown(project: Project, incident: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(project.cli("show", incident, "--json").stdout)
    return payload


def ops_delivery(project: Project, incident: str, sequence: int = 1, target: str = str(CHAT)) -> dict[str, Any]:
    return next(d for d in shown(project, incident)["deliveries"]
                if d["destination"] == "ops" and d["sequence"] == sequence and d["target"] == target)


# -- a post in parts ----------------------------------------------------------------------


def test_a_five_part_post_cut_after_part_four_resumes_with_part_five(project: Project, telegram: FakeTelegram) -> None:
    telegram.fail(Fault(match="sendMessage", after=4, response=UNAVAILABLE),
                  *[Fault(match="sendMessage", response=UNAVAILABLE) for _ in range(2)])
    message, options = long_update(5)
    code, payload = post_json(project, "--title", "Queue slow", *options, "-", input=message)
    assert code == 3
    incident = payload["incident_id"]
    cut = ops_delivery(project, incident)
    assert cut["state"] == "failed" and len(cut["parts"]) == 4, cut
    assert "Gave up after 3 attempts" in cut["error"]
    first_four = list(telegram.messages[CHAT])
    assert len(first_four) == 4

    retried = project.cli("retry", "--json")
    assert retried.exit_code == 0, retried.stdout
    posted = telegram.messages[CHAT]
    assert len(posted) == 5  # only part five was sent again
    assert [m.message_id for m in posted[:4]] == [m.message_id for m in first_four]
    assert all(m.reply_to_message_id == posted[0].message_id for m in posted[1:])
    assert len({m.text for m in posted}) == 5  # no part twice
    done = ops_delivery(project, incident)
    assert done["state"] == "sent" and done["remote_id"] == f"{CHAT}:{posted[0].message_id}"
    assert done["parts"] == [f"{CHAT}:{m.message_id}" for m in posted]


def test_a_part_whose_answer_never_came_is_unknown_and_only_it_is_resent_on_request(
    project: Project, telegram: FakeTelegram
) -> None:
    telegram.fail(Fault(match="sendMessage", after=3, hang=30))
    message, options = long_update(5)
    code, payload = post_json(project, "--title", "Queue slow", *options, "-", input=message)
    assert code == 3
    incident = payload["incident_id"]
    doubtful = ops_delivery(project, incident)
    assert doubtful["state"] == "unknown" and len(doubtful["parts"]) == 3
    assert "Parts 1-3 of 5 were confirmed" in doubtful["error"] and "from part 4 on" in doubtful["error"]
    # Settling it by hand would leave part 5 unsent for good: the advice says so, not only `retry`'s listing.
    assert "`--mark-unknown-sent`: that settles the whole post, and part 5 would never be sent" in doubtful["error"]
    assert project.cli("retry").exit_code == 3
    assert len(telegram.messages[CHAT]) == 3  # plain retry never resends what may have arrived
    assert project.cli("retry", "--include-unknown").exit_code == 0
    posted = telegram.messages[CHAT]
    assert len(posted) == 5 and len({m.text for m in posted}) == 5


def test_a_crash_mid_post_in_parts_keeps_the_confirmed_parts(project: Project, telegram: FakeTelegram) -> None:
    """kill -9 while part 3 is out: parts 1 and 2 are in the store, part 3 is the only one in doubt."""
    telegram.fail(Fault(match="sendMessage", after=2, hold=120))
    source = project.root / "message.txt"
    message, options = long_update(4)
    source.write_text(message, encoding="utf-8")
    with source.open() as stdin:
        process = project.process("post", "--yes", "--json", "--title", "Queue slow", *options, "-", stdin=stdin)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not telegram.held.is_set():
        time.sleep(0.05)
    assert telegram.held.is_set(), process.communicate()
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=10)
    incident = json.loads(project.cli("list", "--json").stdout)[0]["id"]
    reaped = ops_delivery(project, incident)  # `show` reaps the dead process's claim
    assert reaped["state"] == "unknown" and len(reaped["parts"]) == 2
    told = project.cli("retry").stdout  # a review: "if the post is there" was true of part 1 alone
    assert "PARTLY POSTED: 2 part(s) confirmed" in told and "only if the whole update is there" in told, told
    assert project.cli("retry", "--mark-unknown-sent").exit_code == 0  # the operator saw part 3 arrive...
    assert len(telegram.messages[CHAT]) == 3  # ...and nothing was sent again


def test_ctrl_c_while_the_next_part_waits_its_turn_lets_a_plain_retry_send_the_rest(
    project: Project, telegram: FakeTelegram
) -> None:
    """A review: Ctrl-C after part 1 was confirmed, part 2 only waiting out the chat's pace, left the delivery
    to be reaped `unknown` with no word of its parts; `--mark-unknown-sent` ("the post is there": part 1 was)
    then settled it, and the rest of the update was never sent."""
    import sqlite3

    source = project.root / "message.txt"
    message, options = long_update(3)
    source.write_text(message, encoding="utf-8")
    with source.open() as stdin:
        process = project.process("post", "--yes", "--title", "Queue slow", *options, "-", stdin=stdin)
    state = project.root / ".broadcaster" / "state.db"
    deadline = time.monotonic() + 30

    def parts_recorded() -> bool:
        try:
            with sqlite3.connect(state) as db:
                row = db.execute("SELECT parts FROM deliveries WHERE destination = 'ops'").fetchone()
        except sqlite3.Error:
            return False
        return bool(row and row[0] not in (None, "", "[]"))

    while time.monotonic() < deadline and not parts_recorded():
        time.sleep(0.005)
    assert parts_recorded(), process.communicate()
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=30)
    incident = json.loads(project.cli("list", "--json").stdout)[0]["id"]
    stopped = ops_delivery(project, incident)
    if len(stopped["parts"]) == 3:  # the machine was slower than the pace: nothing left to test this time
        pytest.skip("all three parts were confirmed before the interrupt reached the command")
    assert stopped["state"] == "pending" and len(stopped["parts"]) >= 1, stopped

    assert project.cli("retry").exit_code == 0
    posted = telegram.messages[CHAT]
    assert len(posted) == 3 and len({m.text for m in posted}) == 3  # every part once
    assert ops_delivery(project, incident)["state"] == "sent"


def test_a_correction_of_a_post_in_parts_is_a_reply_not_an_edit_of_part_one(
    project: Project, telegram: FakeTelegram
) -> None:
    """A review: `amend` edited the first message alone; the original's second part, wrong text and all, stayed
    under the corrected first one."""
    message = _filled("Sentence {n} says the queue is slow and retries pile up behind it. ", 4_800)
    code, payload = post_json(project, "--title", "Queue slow", "-", input=message)
    assert code == 0
    original = list(telegram.messages[CHAT])
    assert len(original) == 2  # the message alone fills more than one; the correction below fits in one

    amended = project.cli("amend", "--yes", payload["incident_id"], "1", "The queue is slow for EU orders only.")

    assert amended.exit_code == 0, amended.output
    assert telegram.edits == []
    posted = telegram.messages[CHAT]
    assert [m.text for m in posted[:len(original)]] == [m.text for m in original]  # nothing replaced in part
    [correction] = posted[len(original):]
    assert "EU orders only" in correction.text and correction.reply_to_message_id == original[0].message_id


def test_a_crash_mid_broadcast_leaves_every_sent_chat_sent_or_unknown_and_retry_sends_none_twice(
    project: Project,
) -> None:
    """kill -9 while one of 40 chats' requests is out: claims and results are committed in batches
    (one transaction per turn of the event loop), and still no chat that got the message reads as
    pending, and a retry posts to no chat twice."""
    chats = [-1002500 - n for n in range(40)]
    with FakeTelegram(token=TOKEN, chats={c: f"ops {c}" for c in chats}, enforce_limits=False) as fake:
        project.write_config(ENGINE + telegram_toml(fake, ", ".join(map(str, chats))))
        project.env["TG_TOKEN"] = TOKEN
        fake.fail(Fault(match="sendMessage", after=25, hold=120))
        process = project.process("post", "--yes", "--json", "--title", "Queue slow", "-C", "api", "Queue slow.")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not fake.held.is_set():
            time.sleep(0.05)
        assert fake.held.is_set(), process.communicate()
        time.sleep(1.5)  # the other chats' answers come back and their results are recorded
        os.kill(process.pid, signal.SIGKILL)
        process.communicate(timeout=10)

        incident = json.loads(project.cli("list", "--json").stdout)[0]["id"]
        states = {d["target"]: d["state"] for d in shown(project, incident)["deliveries"]}  # reaps the claims
        got = {str(c) for c in chats if fake.messages.get(c)}
        assert len(got) >= 25  # the batch of results before the kill was committed...
        assert {states[c] for c in got} <= {"sent", "unknown"}  # ...and none that arrived reads as pending
        assert sum(states[c] == "sent" for c in got) >= 20
        project.cli("retry")
        assert all(len(fake.messages.get(c, [])) <= 1 for c in chats)  # nothing sent twice
        assert "unknown" in {states[c] for c in got}  # the held one


# -- deliveries the config no longer wants ----------------------------------------------------


def test_retry_skips_a_chat_removed_from_the_config(project: Project, telegram: FakeTelegram) -> None:
    project.write_config(ENGINE + telegram_toml(telegram, f"{CHAT}, -1001888"))
    telegram.blocked.add(-1001888)
    code, payload = post_json(project, "--title", "DB slow", "Queries are slow. [private]ACME-PRIVATE on db-7[/private]")
    assert code == 3
    telegram.blocked.clear()
    project.write_config(ENGINE + telegram_toml(telegram, str(CHAT)))  # the chat is removed

    retried = project.cli("retry")
    assert retried.exit_code == 0, retried.stdout
    assert "skipped" in retried.stdout and "-1001888 is no longer a target of ops" in retried.stdout
    assert telegram.messages[-1001888] == []
    skipped = ops_delivery(project, payload["incident_id"], target="-1001888")
    assert skipped["state"] == "skipped"
    assert project.cli("retry").stdout.startswith("Nothing to resend")


def test_retry_skips_a_chat_whose_channel_became_public(project: Project, telegram: FakeTelegram) -> None:
    """Stored for private readers: never sent once the channel is public, private detail and all."""
    secret = "ACME-PRIVATE on db-7"
    telegram.blocked.add(CHAT)
    code, payload = post_json(project, "--title", "DB slow", f"Queries are slow. [private]{secret}[/private]")
    assert code == 3
    telegram.blocked.clear()
    project.write_config(ENGINE + telegram_toml(telegram, str(CHAT), visibility="public"))

    retried = project.cli("retry", "--json")
    assert retried.exit_code == 0, retried.stdout
    [outcome] = json.loads(retried.stdout)["deliveries"]
    assert outcome["state"] == "skipped" and "public now" in outcome["reason"] and "internal" in outcome["reason"]  # private is internal since audiences
    assert telegram.messages[CHAT] == []
    assert all(secret not in r.body.decode() for r in telegram.requests)


@pytest.fixture
def slack(project: Project) -> Iterator[FakeSlack]:
    with FakeSlack(token=SLACK_TOKEN, channels={"C0123ABCD": "acme"}) as fake:
        project.env["SLACK_TOKEN"] = SLACK_TOKEN
        yield fake


def slack_toml(fake: FakeSlack, name: str = "acme", visibility: str = "private") -> str:
    return f"""
[channels.{name}]
type = "slack"
visibility = "{visibility}"
token = "${{SLACK_TOKEN}}"
channel = "C0123ABCD"
api_url = "{fake.api_url}"
"""


@pytest.mark.parametrize("change", ["removed", "public"])
def test_retry_never_posts_to_a_slack_channel_the_config_took_away(project: Project, slack: FakeSlack, change: str) -> None:
    project.write_config(ENGINE + slack_toml(slack))
    slack.fail(*[Fault(match="chat.postMessage", response=Response(503, "<html>down</html>", content_type="text/html"))
                 for _ in range(4)])
    code, _ = post_json(project, "--title", "DB slow", "Slow. [private]ACME-PRIVATE db-7[/private]")
    assert code == 3
    project.write_config(ENGINE + ("" if change == "removed" else slack_toml(slack, visibility="public")))
    retried = project.cli("retry")
    assert retried.exit_code == 0, retried.stdout
    assert "skipped" in retried.stdout
    assert ("no longer in the config" if change == "removed" else "public now") in retried.stdout
    assert slack.messages["C0123ABCD"] == []


# -- held back, and what to run ----------------------------------------------------------------


def test_a_later_update_held_behind_an_unknown_one_says_what_sends_both(project: Project, world: FakeWorld) -> None:
    world.slack.fail(Fault(match="chat.postMessage", hang=30))
    code, first = post_json(project, "--title", "API errors", "-C", "api", "Elevated errors.")
    assert code == 3
    incident = first["incident_id"]
    code, second = post_json(project, "-i", incident, "Still investigating.")
    held = next(d for d in second["deliveries"] if d["destination"] == "slack-acme")
    assert held["state"] == "failed"
    assert "--mark-unknown-sent" in held["error"] and "--include-unknown" in held["error"]
    assert "sends both" not in held["error"]  # plain retry would not
    plain = project.cli("retry")
    assert plain.exit_code == 3 and world.slack_messages() == []
    assert project.cli("retry", incident, "--include-unknown").exit_code == 0
    posted = world.slack_messages()
    assert len(posted) == 2 and posted[1].thread_ts == posted[0].ts


def test_a_later_update_held_behind_a_failed_one_is_sent_by_plain_retry(project: Project, world: FakeWorld) -> None:
    down = Response(503, "<html>down</html>", content_type="text/html")
    world.slack.fail(*[Fault(match="chat.postMessage", response=down) for _ in range(4)])
    code, first = post_json(project, "--title", "API errors", "-C", "api", "Elevated errors.")
    code, second = post_json(project, "-i", first["incident_id"], "Still investigating.")
    held = next(d for d in second["deliveries"] if d["destination"] == "slack-acme")
    assert f"`broadcaster retry {first['incident_id']}` sends both" in held["error"]
    assert project.cli("retry").exit_code == 0
    assert len(world.slack_messages()) == 2


# -- X's "duplicate content": ours only if an earlier attempt may have arrived ---------------------------


def x_delivery(project: Project, incident: str) -> dict[str, Any]:
    return next(d for d in shown(project, incident)["deliveries"] if d["destination"] == "x")


def test_a_duplicate_on_the_first_attempt_is_a_refusal_not_a_post_that_may_exist(project: Project, world: FakeWorld) -> None:
    """Noticed in a session's own review: X refuses a text already on the account from another post (the same
    standard words under the same title as last month's), and that first refusal was recorded ``unknown``,
    "most likely an earlier attempt did post it": `--mark-unknown-sent` would then have recorded a tweet
    that was never made."""
    world.x.fail(Fault(match="/2/tweets", response=Response(403, DUPLICATE)))
    code, first = post_json(project, "--title", "API errors", "-C", "api", "Elevated errors.")
    assert code == 3
    incident = first["incident_id"]
    delivery = x_delivery(project, incident)
    assert delivery["state"] == "failed", delivery
    assert "from another post" in delivery["error"] and "not there" in delivery["error"]
    assert "earlier attempt did post it" not in delivery["error"]
    assert world.x.tweets == []


def test_a_duplicate_after_a_lost_answer_stays_unknown(project: Project, world: FakeWorld) -> None:
    """The other side of the rule above: the first attempt arrived and its answer was lost, so X's refusal
    of the resend (`--include-unknown`) is of our own post."""
    world.x.fail(Fault(match="/2/tweets", reset_after=True))
    code, first = post_json(project, "--title", "API errors", "-C", "api", "Elevated errors.")
    incident = first["incident_id"]
    assert x_delivery(project, incident)["state"] == "unknown"
    assert project.cli("retry", incident, "--include-unknown").exit_code == 3
    delivery = x_delivery(project, incident)
    assert delivery["state"] == "unknown" and "earlier attempt did post it" in delivery["error"], delivery
    assert len(world.x.tweets) == 1


def test_a_duplicate_after_an_earlier_runs_refused_attempt_is_still_in_doubt(project: Project, world: FakeWorld) -> None:
    """A run whose attempts X provably did not take (503) leaves the delivery failed, as does one that resent an
    unknown post (`--include-unknown`) into a 503: the store keeps no more than the count of attempts, so a later
    run's duplicate after any earlier attempt stays in doubt."""
    down = Response(503, {"title": "Service Unavailable", "detail": "Service Unavailable", "status": 503})
    world.x.fail(*[Fault(match="/2/tweets", response=down) for _ in range(4)])
    code, first = post_json(project, "--title", "API errors", "-C", "api", "Elevated errors.")
    incident = first["incident_id"]
    assert x_delivery(project, incident)["state"] == "failed"
    world.x.fail(Fault(match="/2/tweets", response=Response(403, DUPLICATE)))
    assert project.cli("retry", incident).exit_code == 3
    assert x_delivery(project, incident)["state"] == "unknown"


# -- an unknown post marked sent: threading goes on --------------------------------------------


def unknown_first_post(project: Project, world: FakeWorld) -> str:
    """The first update's X post and Telegram messages arrive, their answers do not."""
    world.x.fail(Fault(match="/2/tweets", reset_after=True))
    world.telegram.fail(Fault(match="sendMessage", reset_after=True))
    code, first = post_json(project, "--title", "API errors", "-C", "api", "Elevated errors.")
    assert code == 3
    return str(first["incident_id"])


def test_mark_unknown_sent_with_the_post_link_keeps_the_thread(project: Project, world: FakeWorld) -> None:
    incident = unknown_first_post(project, world)
    [tweet] = world.x.tweets
    unknown_chat = next(c for c in (PUBLIC_CHAT, *OPS_CHATS)
                        if ops_state(project, incident, c) == "unknown")
    [message] = world.telegram_messages(unknown_chat)
    destination = "tg-public" if unknown_chat == PUBLIC_CHAT else "tg-ops"
    marked = project.cli("retry", incident, "--mark-unknown-sent",
                         "--remote-id", f"x=https://x.com/acmestatus/status/{tweet.id}",
                         "--remote-id", f"{destination}:{unknown_chat}={message.message_id}")
    assert marked.exit_code == 0, marked.stdout + marked.stderr
    assert f"later updates thread under {tweet.id}" in marked.stdout
    assert project.cli("post", "--yes", "-i", incident, "Cause found.").exit_code == 0
    assert world.x.tweets[1].in_reply_to == tweet.id
    assert world.telegram_messages(unknown_chat)[1].reply_to_message_id == message.message_id


def ops_state(project: Project, incident: str, chat: int | str) -> str:
    return str(next(d["state"] for d in shown(project, incident)["deliveries"] if d["target"] == str(chat)))


def test_mark_unknown_sent_without_an_id_says_the_thread_starts_anew(project: Project, world: FakeWorld) -> None:
    incident = unknown_first_post(project, world)
    marked = project.cli("retry", incident, "--mark-unknown-sent")
    assert marked.exit_code == 0, marked.stdout
    assert "later updates there start a new thread" in marked.stdout and "--remote-id x=ID" in marked.stdout
    followup = project.cli("post", "--yes", "--json", "-i", incident, "Cause found.")
    assert world.x.tweets[1].in_reply_to is None  # as the operator was told
    assert followup.exit_code == 0


def test_a_remote_id_that_names_no_unknown_delivery_is_refused(project: Project, world: FakeWorld) -> None:
    incident = unknown_first_post(project, world)
    for bad in ("slack-acme=C0123ABCD:1.2", "x=not-a-post", "nonsense"):
        refused = project.cli("retry", incident, "--mark-unknown-sent", "--remote-id", bad)
        assert refused.exit_code == 2, (bad, refused.stdout)
        assert "--remote-id" in refused.stderr or "X post" in refused.stderr
    assert {d["state"] for d in shown(project, incident)["deliveries"] if d["destination"] == "x"} == {"unknown"}
    assert project.cli("retry", "--remote-id", "x=1").exit_code == 2  # only with --mark-unknown-sent


# -- the site and its hosts are simply redone ------------------------------------------------------

BUCKET = "status"


@pytest.fixture
def s3(project: Project, world: FakeWorld) -> Iterator[S3Server]:
    with S3Server() as server:
        server.create_bucket(BUCKET)
        project.write_config(ENGINE + world.channels_toml() + server.publish_toml(BUCKET))
        project.env.update(PUBLISH_ENV)
        yield server


def killed_mid_upload(project: Project, s3: S3Server) -> str:
    """A second update whose upload of the incident page stalls, and kill -9 meanwhile."""
    code, first = post_json(project, "--title", "API errors", "-C", "api", "Elevated errors.")
    assert code == 0, first
    incident = first["incident_id"]
    s3.fail(S3Fault(match=f"incidents/{incident}.html", hold=120, times=1))
    process = project.process("post", "--yes", "--json", "-i", incident, "--only", "site,bucket", "Cause found.")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not s3.held.is_set():
        time.sleep(0.05)
    assert s3.held.is_set(), process.communicate()
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=10)
    assert "Cause found." not in s3.body(BUCKET, f"incidents/{incident}.html").decode()  # the page is behind
    return str(incident)


def test_after_kill_9_mid_upload_plain_retry_publishes_the_page(project: Project, s3: S3Server) -> None:
    incident = killed_mid_upload(project, s3)
    retried = project.cli("retry", "--json")
    assert retried.exit_code == 0, retried.stdout
    report = json.loads(retried.stdout)
    assert {(d["destination"], d["state"]) for d in report["deliveries"]} == {("bucket", "sent")}
    assert report["unknown"] == []
    assert "Cause found." in s3.body(BUCKET, f"incidents/{incident}.html").decode()
    assert {d["state"] for d in shown(project, incident)["deliveries"]} <= {"sent", "skipped"}


def test_after_kill_9_mid_upload_the_next_post_publishes_the_page(project: Project, s3: S3Server) -> None:
    incident = killed_mid_upload(project, s3)
    code, _ = post_json(project, "--title", "DB slow", "-C", "db", "Queries are slow.")
    assert code == 0
    assert "Cause found." in s3.body(BUCKET, f"incidents/{incident}.html").decode()
    states = {(d["sequence"], d["destination"]): d["state"] for d in shown(project, incident)["deliveries"]}
    assert states[(2, "bucket")] == "sent"
    assert len(s3.received("PUT", ".broadcaster-manifest.json")) >= 1


def test_a_post_with_only_the_site_leaves_another_target_alone(project: Project, s3: S3Server) -> None:
    """--only holds for what rides along too: the bucket delivery waits for a command that publishes there."""
    incident = killed_mid_upload(project, s3)
    uploads = len(s3.received("PUT"))
    code, _ = post_json(project, "--title", "DB slow", "-C", "db", "--only", "site", "Queries are slow.")
    assert code == 0
    assert len(s3.received("PUT")) == uploads
    states = {(d["sequence"], d["destination"]): d["state"] for d in shown(project, incident)["deliveries"]}
    assert states[(2, "bucket")] == "unknown"


# -- nothing the operator wrote is read as terminal markup ------------------------------------------


def test_square_brackets_are_printed_as_written(project: Project, world: FakeWorld) -> None:
    """list, show, post and retry print titles, messages, authors and errors as written, never as markup."""
    title = "Markup [engine] test [bold]B[/bold]"
    answer = "Bad Request: [bold]weird[/bold] [engine] answer"
    world.slack.fail(Fault(match="chat.postMessage", response=Response(200, {"ok": False, "error": "x[bold]y[/bold]"})))
    world.telegram.fail(Fault(match="sendMessage", response=Response(400, {"ok": False, "error_code": 400, "description": answer})))
    posted = project.cli("post", "--yes", "--title", title, "-C", "api", "Look at [red]this[/red].",
                         env={"USER": "ops [bold]lead[/bold]"})
    assert posted.exit_code == 3
    assert "[bold]weird[/bold] [engine] answer" in posted.stdout and "x[bold]y[/bold]" in posted.stdout
    incident = json.loads(project.cli("list", "--json").stdout)[0]["id"]
    assert title in project.cli("list").stdout
    # The table may wrap a long error over two lines (how long depends on which chat the fault hit
    # first): compare with the whitespace collapsed, as a reader reads it.
    detail = " ".join(project.cli("show", incident).stdout.split())
    for text in (title, "[red]this[/red]", "ops [bold]lead[/bold]", "[bold]weird[/bold] [engine] answer"):
        assert text in detail, detail
    world.slack.fail(Fault(match="chat.postMessage", response=Response(200, {"ok": False, "error": "x[bold]y[/bold]"})))
    retried = project.cli("retry")
    assert "x[bold]y[/bold]" in retried.stdout


def test_a_private_title_is_shown_as_written_too(project: Project, world: FakeWorld) -> None:
    """show prints the full title and the public one (main's private titles) without reading either as markup."""
    title = "Checkout [bold]down[/bold] [private]ACME [red]x[/red][/private]"
    posted = project.cli("post", "--yes", "--title", title, "-C", "api", "Failing.")
    assert posted.exit_code == 0, posted.stderr
    incident = json.loads(project.cli("list", "--json").stdout)[0]["id"]
    detail = project.cli("show", incident).stdout
    assert "Checkout [bold]down[/bold] ACME [red]x[/red]  (" in detail, detail  # the full title, spans opened
    assert "the public reads: Checkout [bold]down[/bold]" in detail, detail
    assert "ACME [red]x[/red]" not in project.cli("list").stdout


def test_a_remote_id_of_a_message_in_another_chat_is_refused(project: Project, world: FakeWorld) -> None:
    """Attack (review): the id of the public channel's message, pasted for an ops chat's unknown post, was recorded;
    the next `amend` then edited the public message into the ops text, internal detail and all."""
    incident = unknown_first_post(project, world)
    unknown_chat = next(c for c in (PUBLIC_CHAT, *OPS_CHATS) if ops_state(project, incident, c) == "unknown")
    other_chat = next(c for c in (PUBLIC_CHAT, *OPS_CHATS) if c != unknown_chat)
    [elsewhere] = world.telegram_messages(other_chat)
    destination = "tg-public" if unknown_chat == PUBLIC_CHAT else "tg-ops"
    for reference in (f"{other_chat}:{elsewhere.message_id}", f"https://t.me/c/999999/{elsewhere.message_id}"):
        refused = project.cli("retry", incident, "--mark-unknown-sent",
                              "--remote-id", f"{destination}:{unknown_chat}={reference}")
        assert refused.exit_code == 2, refused.stdout + refused.stderr
        assert f"not in {unknown_chat}, the chat this delivery went to" in refused.stderr
    assert ops_state(project, incident, unknown_chat) == "unknown"


def test_a_paced_broadcasts_queued_claims_are_trusted_for_as_long_as_its_pacing(project: Project) -> None:
    """A review (team mode): 3,000 chats take 100 s at Telegram's 30 a second, but another machine trusted a claim
    for `deadline + 60` s from when it was made; its `retry` reaped the queued chats as unknown and the advised
    `--include-unknown` posted to 930 of them twice. A claim now counts from when its request may leave."""
    import sqlite3
    from datetime import UTC, datetime, timedelta

    chats = [-1003000000 - n for n in range(90)]  # 3 s of pacing at 30 a second
    with FakeTelegram(token=TOKEN, chats={c: f"chat {c}" for c in chats}, enforce_limits=False) as fake:
        project.write_config("[engine]\ntimeout = 5\ndeadline = 1\n" + telegram_toml(fake, ", ".join(map(str, chats))))
        project.env["TG_TOKEN"] = TOKEN
        fake.fail(Fault(match="sendMessage", hold=60))
        process = project.process("post", "--yes", "--title", "API errors", "Elevated errors.")
        state = project.root / ".broadcaster" / "state.db"
        deadline = time.monotonic() + 30
        claims: list[str] = []
        site: list[str] = []
        while time.monotonic() < deadline and len(claims) < len(chats):
            try:
                with sqlite3.connect(state) as db:
                    claims = [r[0] for r in db.execute("SELECT claimed_at FROM deliveries WHERE state = 'sending' AND destination = 'ops'")]
                    site = [r[0] for r in db.execute("SELECT claimed_at FROM deliveries WHERE destination = 'site' AND claimed_at IS NOT NULL")]
            except sqlite3.Error:
                pass
            time.sleep(0.02)
        process.kill()
        process.communicate(timeout=10)
    assert len(claims) == len(chats)
    latest = max(datetime.fromisoformat(c) for c in claims)
    # Ahead by the pacing (3 s) less the time since: another machine trusts it `deadline + 60` s from then.
    assert latest - datetime.now(UTC) > timedelta(seconds=1.5)
    # An unpaced destination's claim is not (a review): a dead machine's would be trusted for the pacing too.
    assert site and all(datetime.fromisoformat(c) <= datetime.now(UTC) for c in site)
