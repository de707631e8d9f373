"""Issue 16's withdraw, reviewed: media that cannot delete, posts of unknown fate, posts broadcaster did not write,
deletes that must be safe to repeat. Each through the real CLI against the fakes."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from broadcaster.messages.announcements import POSTED_IN_ERROR

from tests.conftest import ENGINE, Project
from tests.fakes.base import Fault, Response
from tests.fakes.smtp import USERNAME, SmtpServer
from tests.fakes.teams import FakeTeams, markdown_texts, plain_texts
from tests.fakes.webhook import SECRET, FakeReceiver
from tests.fakes.world import PUBLIC_CHAT, FakeWorld

SMTP_PASSWORD = "smtp-pass-Secret-42"
CUSTOMERS = "customers@example.net"
REASON = "posted for Initech by mistake"
PRIVATE = "edge router fra-2"


@dataclass
class Fakes:
    hook: FakeReceiver
    hook_ops: FakeReceiver
    hook_db: FakeReceiver
    teams: FakeTeams
    smtp: SmtpServer


@pytest.fixture
def fakes(project: Project, tmp_path: Path) -> Iterator[Fakes]:
    """A public webhook, Teams and email (none can delete), an internal webhook, and a public webhook
    subscribed only to the database (so an API incident never reached it)."""
    with ExitStack() as stack:
        found = Fakes(FakeReceiver(), FakeReceiver(), FakeReceiver(), FakeTeams(),
                      SmtpServer(tmp_path, password=SMTP_PASSWORD))
        for fake in (found.hook, found.hook_ops, found.hook_db, found.teams, found.smtp):
            stack.enter_context(fake)
        project.write_config(ENGINE + f"""
[channels.hook]
type = "webhook"
url = "{found.hook.hook_url}"
secret = "${{HOOK_SECRET}}"

[channels.hook-ops]
type = "webhook"
visibility = "internal"
url = "{found.hook_ops.hook_url}"
secret = "${{HOOK_SECRET}}"

[channels.hook-db]
type = "webhook"
components = ["db"]
url = "{found.hook_db.hook_url}"
secret = "${{HOOK_SECRET}}"

[channels.teams]
type = "teams"
webhook_url = "${{TEAMS_WEBHOOK_URL}}"
api_url = "{found.teams.url}"

[channels.mail]
type = "email"
host = "127.0.0.1"
port = {found.smtp.port}
username = "{USERNAME}"
password = "${{SMTP_PASSWORD}}"
from = "Acme status <status@example.com>"
to = ["{CUSTOMERS}"]
""")
        project.env.update({"HOOK_SECRET": SECRET, "TEAMS_WEBHOOK_URL": found.teams.webhook_url,
                            "SMTP_PASSWORD": SMTP_PASSWORD, "SSL_CERT_FILE": str(found.smtp.ca_file)})
        yield found


def states(payload: dict[str, Any]) -> dict[str, str]:
    return {d["destination"] + (f" {d['target']}" if d["target"] else ""): d["state"] for d in payload["deliveries"]}


def test_media_that_cannot_delete_get_a_posted_in_error_follow_up_and_nothing_more(
    project: Project, fakes: Fakes
) -> None:
    code, first = project.cli_json("post", "--yes", "--title", "Login errors", "-C", "api",
                           f"Logins fail. [private]{PRIVATE}[/private]")
    assert code == 0, first
    incident = first["incident_id"]
    assert states(first)["hook-db"] == "skipped" and not fakes.hook_db.events

    code, withdrawn = project.cli_json("withdraw", incident, "--yes", "--reason", REASON)
    assert code == 0, withdrawn
    assert states(withdrawn) == {"site": "sent", "hook": "sent", "hook-ops": "sent", "hook-db": "skipped",
                                 "teams": "sent", f"mail {CUSTOMERS}": "sent"}
    assert withdrawn["in_doubt"] == []

    # The webhook: a second event of the same incident, the public follow-up and nothing private.
    event = fakes.hook.events[-1]["data"]
    assert len(fakes.hook.events) == 2 and event["visibility"] == "public"
    assert event["incident"]["id"] == incident and event["update"]["kind"] == "withdrawal"
    assert event["update"]["message"] == POSTED_IN_ERROR and "private" not in event["update"]
    assert event["incident"]["url"] is None  # its page is gone: no link to a 404
    # The internal webhook keeps the staff's record: who and why.
    note = fakes.hook_ops.events[-1]["data"]["update"]
    assert note["private"]["note"] == REASON and "Withdrawn by oncall" in note["message"]
    # Teams: the follow-up card, without the reason, the private span, or a button to the removed page.
    card = fakes.teams.cards[-1]
    texts = " ".join(markdown_texts(card) + plain_texts(card))
    assert len(fakes.teams.cards) == 2 and POSTED_IN_ERROR in texts
    assert "actions" not in card
    # Email: a reply in the incident's thread, to the same readers only.
    mails = fakes.smtp.to(CUSTOMERS)
    assert len(mails) == 2 and len(fakes.smtp.mails) == 2
    assert mails[1].message["In-Reply-To"] == mails[0].message["Message-ID"]
    assert POSTED_IN_ERROR in mails[1].text and f"/incidents/{incident}" not in mails[1].text + mails[1].html
    # The subscription skipped the original: the follow-up never reaches it either.
    assert fakes.hook_db.events == []
    for payload in (json.dumps(fakes.hook.events), json.dumps(fakes.teams.cards),
                    *(m.raw.decode(errors="replace") for m in fakes.smtp.mails)):
        assert REASON not in payload and PRIVATE not in payload and "Initech" not in payload


def test_a_public_post_of_unknown_fate_is_listed_exits_3_and_retry_settles_it(
    project: Project, world: FakeWorld
) -> None:
    code, first = project.cli_json("post", "--yes", "--title", "API errors", "Investigating.")
    incident = first["incident_id"]
    world.x.fail(Fault(match="/2/tweets", reset_after=True))  # X posts it, the answer is lost
    code, second = project.cli_json("post", "--yes", "-i", incident, "Still looking.")
    assert code == 3 and states(second)["x"] == "unknown"
    assert len(world.x.tweets) == 2

    code, withdrawn = project.cli_json("withdraw", incident, "--yes")
    assert code == 3, withdrawn
    assert states(withdrawn)["x"] == "sent"  # the post it knows of is deleted
    assert [(d["destination"], d["sequence"], d["state"]) for d in withdrawn["in_doubt"]] == [("x", 2, "unknown")]
    assert "delete it by hand" in withdrawn["in_doubt"][0]["error"]
    assert len(world.x.tweets) == 1  # the one whose id never came back is still there: only a human can find it

    # `retry` neither resends it (the incident is withdrawn) nor pretends it is done.
    for args in (["retry", incident], ["retry", incident, "--include-unknown"]):
        again = project.cli(*args)
        assert again.exit_code == 3 and "delete it by hand" in again.output, again.output
    assert len(world.x.tweets) == 1 and len(world.x.deleted) == 1
    refused = project.cli("retry", incident, "--mark-unknown-sent", "--remote-id", f"x={world.x.tweets[0].id}")
    assert refused.exit_code == 2 and "never deletes a post by an id given by hand" in refused.stderr

    world.x.tweets.clear()  # the operator deleted it on x.com
    settled = project.cli("retry", incident, "--mark-unknown-sent")
    assert settled.exit_code == 0, settled.output
    assert "Settled:" in settled.output and "Recorded as sent" not in settled.output
    assert project.cli("retry", incident).exit_code == 0
    shown = json.loads(project.cli("show", incident, "--json").stdout)
    assert [d["state"] for d in shown["deliveries"] if d["destination"] == "x"] == ["sent", "skipped", "sent"]


def test_a_telegram_post_of_unknown_fate_gets_no_follow_up_resend(project: Project, world: FakeWorld) -> None:
    """A public chat whose second post is unknown: the withdrawal deletes the first, never re-posts the second."""
    code, first = project.cli_json("post", "--yes", "--title", "API errors", "Investigating.")
    incident = first["incident_id"]
    world.telegram.fail(Fault(match="sendMessage", reset_after=True))
    code, second = project.cli_json("post", "--yes", "--only", "tg-public", "-i", incident, "Still looking.")
    assert code == 3 and states(second)["tg-public @acmestatus"] == "unknown"
    code, withdrawn = project.cli_json("withdraw", incident, "--yes")
    assert code == 3 and [d["destination"] for d in withdrawn["in_doubt"]] == ["tg-public"]
    assert len(world.telegram_messages(PUBLIC_CHAT)) == 1  # the unconfirmed one: left for a human


def test_a_thread_whose_first_post_was_deleted_by_hand_is_still_withdrawn(project: Project, world: FakeWorld) -> None:
    incident = project.cli_json("post", "--yes", "--title", "API errors", "Investigating.")[1]["incident_id"]
    project.cli_json("post", "--yes", "-i", incident, "Still looking.")
    project.cli_json("post", "--yes", "-i", incident, "Fix deployed.")
    world.x.tweets.pop(0)  # the head of the thread, deleted on x.com: X answers 404 for it
    code, withdrawn = project.cli_json("withdraw", incident, "--yes")
    assert code == 0 and states(withdrawn)["x"] == "sent", withdrawn
    assert world.x.tweets == [] and len(world.x.deleted) == 2


def test_a_delete_whose_answer_was_lost_is_retried_and_404_counts_as_done(project: Project, world: FakeWorld) -> None:
    incident = project.cli_json("post", "--yes", "--title", "API errors", "Investigating.")[1]["incident_id"]
    project.cli_json("post", "--yes", "-i", incident, "Still looking.")
    # The first DELETE takes effect but its answer never arrives; the engine repeats the whole list.
    world.x.fail(Fault(match="/2/tweets/", reset_after=True))
    code, withdrawn = project.cli_json("withdraw", incident, "--yes")
    assert code == 0 and states(withdrawn)["x"] == "sent", withdrawn
    assert world.x.tweets == [] and len(world.x.deleted) == 2
    assert project.cli("retry", incident).exit_code == 0


def test_withdraw_twice_and_withdraw_of_an_incident_withdrawn_elsewhere(project: Project, world: FakeWorld) -> None:
    incident = project.cli_json("post", "--yes", "--title", "API errors", "Investigating.")[1]["incident_id"]
    assert project.cli("withdraw", incident, "--yes").exit_code == 0
    sent = (len(world.x.deleted), len(world.telegram.requests))
    again = project.cli("withdraw", incident, "--yes", "--json")
    assert again.exit_code == 2 and "was withdrawn" in again.stderr
    assert (len(world.x.deleted), len(world.telegram.requests)) == sent


def test_withdraw_never_deletes_a_post_it_did_not_write(project: Project, world: FakeWorld) -> None:
    incident = project.cli_json("post", "--yes", "--title", "API errors", "Investigating.")[1]["incident_id"]
    world.x.fail(Fault(match="/2/tweets", reset_after=True))
    code, _ = project.cli_json("post", "--yes", "--only", "x", "-i", incident, "Still looking.")
    assert code == 3
    stranger = world.x.tweets[-1]  # an id an operator copies by hand, that may be anyone's post
    marked = project.cli("retry", incident, "--mark-unknown-sent", "--remote-id", f"x={stranger.id}")
    assert marked.exit_code == 0, marked.output
    code, withdrawn = project.cli_json("withdraw", incident, "--yes")
    assert code == 0, withdrawn
    assert [t.id for t in world.x.tweets] == [stranger.id]  # broadcaster's own first post deleted, not this one
    notes = next(d for d in withdrawn["deliveries"] if d["destination"] == "x")["notes"]
    assert any(stranger.id in n and "recorded by hand" in n for n in notes)


def test_an_imported_post_is_never_deleted(project: Project, world: FakeWorld, tmp_path: Path) -> None:
    incident = project.cli_json("post", "--yes", "--title", "API errors", "Investigating.")[1]["incident_id"]
    dump = tmp_path / "dump.jsonl"
    assert project.cli("store", "export", str(dump)).exit_code == 0
    other = Project(tmp_path / "other", env=project.env)
    other.root.mkdir()
    other.config.write_text(project.config.read_text())
    assert other.cli("store", "import", str(dump)).exit_code == 0
    code, withdrawn = other.cli_json("withdraw", incident, "--yes")
    assert code == 0, withdrawn
    assert len(world.x.tweets) == 1 and world.x.deleted == []
    notes = next(d for d in withdrawn["deliveries"] if d["destination"] == "x")["notes"]
    assert any("came from a store import" in n for n in notes)


def test_migration_6_keeps_hand_marked_ids_from_deletion(project: Project, world: FakeWorld) -> None:
    """Rows marked sent by hand before schema 6 are read as the operator's, not broadcaster's."""
    incident = project.cli_json("post", "--yes", "--title", "API errors", "Investigating.")[1]["incident_id"]
    state = next(project.root.rglob("*.db"))
    with sqlite3.connect(state) as db:
        db.execute("UPDATE deliveries SET last_error = 'marked sent by the operator after an interrupted send'"
                   " WHERE destination = 'x'")
        db.execute("ALTER TABLE deliveries DROP COLUMN remote_origin")
        # What later migrations added goes too, so the file is a schema-5 store again.
        db.execute("DROP TABLE subscriptions")
        db.execute("DROP TABLE invites")
        db.execute("ALTER TABLE deliveries DROP COLUMN rendering")
        db.execute("ALTER TABLE deliveries DROP COLUMN starts_thread")
        db.execute("UPDATE meta SET value = '5' WHERE key = 'schema_version'")
    code, withdrawn = project.cli_json("withdraw", incident, "--yes")
    assert code == 0, withdrawn
    assert len(world.x.tweets) == 1 and world.x.deleted == []


def test_a_customers_channel_is_cleaned_like_a_public_one_and_hears_no_reason(project: Project) -> None:
    from tests.fakes.slack import FakeSlack
    from tests.test_audiences import AUDIENCES, CHANNELS, SLACK_TOKEN, channels_toml

    with FakeSlack(token=SLACK_TOKEN, channels=CHANNELS) as slack:
        project.env["SLACK_TOKEN"] = SLACK_TOKEN
        project.write_config(AUDIENCES + channels_toml(slack))
        code, first = project.cli_json("post", "--yes", "--title", "API errors", "-C", "api", "--for", "acme",
                               "Your circuit ACM-7", "Errors on the API.")
        assert code == 0 and states(first)["acme-slack"] == "sent", first
        incident = first["incident_id"]
        shown = project.cli("withdraw", incident, "--dry-run")
        assert shown.exit_code == 0 and "acme-slack (audience:acme) deletes its 1 post(s) there" in shown.output, \
            shown.output
        code, withdrawn = project.cli_json("withdraw", incident, "--yes", "--reason", REASON)
        assert code == 0, withdrawn
        assert slack.messages["C0ACME0001"] == [] and slack.messages["C0PUB00001"] == []
        ops = json.dumps([[m.text, m.blocks] for m in slack.messages["C0OPS00001"]])
        assert REASON in ops  # the staff's record stays, with why


def test_a_withdraw_dry_run_shows_the_deletions_not_a_follow_up_it_never_sends(project: Project, world: FakeWorld) -> None:
    incident = project.cli_json("post", "--yes", "--title", "API errors", "Investigating.")[1]["incident_id"]
    project.cli_json("post", "--yes", "-i", incident, "Still looking.")
    code, dry = project.cli_json("withdraw", incident, "--dry-run")
    assert code == 0, dry
    entries = {d["destination"]: d for d in dry["deliveries"] if not d["target"] or d["destination"] != "tg-ops"}
    assert entries["x"]["deletes"] == [t.id for t in world.x.tweets] and entries["x"]["rendered"] is None
    assert len(entries["tg-public"]["deletes"]) == 2
    assert entries["site"]["deletes"] == [] and "rebuilt without it" in entries["site"]["reason"] and entries["site"]["error"] is None
    shown = project.cli("withdraw", incident, "--dry-run").output
    assert "x (public) deletes its 2 post(s) there" in shown and "site (public) rebuilt without it" in shown
    assert POSTED_IN_ERROR not in shown and ".html" not in shown
    assert len(world.x.tweets) == 2 and world.x.deleted == []


def test_withdraw_during_a_retry_waits_for_the_post_being_sent_and_deletes_it_too(
    project: Project, world: FakeWorld
) -> None:
    incident = project.cli_json("post", "--yes", "--title", "API errors", "Investigating.")[1]["incident_id"]
    world.x.fail(Fault(match="/2/tweets", response=Response(503, {"title": "Service Unavailable"})),
                 Fault(match="/2/tweets", response=Response(503, {"title": "Service Unavailable"})),
                 Fault(match="/2/tweets", response=Response(503, {"title": "Service Unavailable"})),
                 Fault(match="/2/tweets", response=Response(503, {"title": "Service Unavailable"})))
    code, second = project.cli_json("post", "--yes", "--only", "x", "-i", incident, "Still looking.")
    assert code == 3 and states(second)["x"] == "failed", second
    world.x.fail(Fault(match="/2/tweets", hold=1.5))  # the retry's post arrives, its answer takes a while
    retrying = project.process("retry", incident)
    deadline = time.monotonic() + 20
    while len(world.x.tweets) < 2 and time.monotonic() < deadline:  # X has it; the retry still waits for the answer
        time.sleep(0.02)
    withdrawn = project.cli("withdraw", incident, "--yes")
    _, errors = retrying.communicate(timeout=60)  # read to the end: no pipe left open
    assert retrying.returncode == 0, errors
    assert withdrawn.exit_code == 0, withdrawn.output
    assert world.x.tweets == [] and len(world.x.deleted) == 2


def test_a_withdrawal_killed_while_its_delete_was_out_is_deleted_again_by_a_plain_retry(
    project: Project, world: FakeWorld
) -> None:
    """Found by a review: `withdraw` killed (-9) while Telegram's deleteMessage was out left the delete unknown;
    plain `retry` did not redo it and advised `--mark-unknown-sent` "if the post is there", which recorded the
    withdrawal done with the mistaken post still up. Deleting again is harmless: a plain retry does it, and
    --mark-unknown-sent leaves it to retry."""
    first = project.cli("post", "--yes", "--json", "--title", "Posted by mistake", "-C", "api", "Wrong page.")
    incident = json.loads(first.stdout)["incident_id"]
    assert world.telegram_messages(PUBLIC_CHAT)
    world.telegram.fail(*[Fault(match="deleteMessage", hang=60)] * 8)  # every attempt's delete hangs
    process = project.process("withdraw", "--yes", incident, "--reason", "wrong page")
    until = time.monotonic() + 30
    while not world.x.deleted and time.monotonic() < until:  # the withdrawal's deletes are out
        time.sleep(0.02)
    time.sleep(0.5)
    process.kill()
    process.communicate(timeout=30)
    world.telegram.clear_faults()

    settled = project.cli("retry", incident, "--mark-unknown-sent")
    retried = project.cli("retry", incident)

    assert settled.exit_code == 0 and retried.exit_code == 0, settled.output + retried.output
    assert world.telegram_messages(PUBLIC_CHAT) == []
    states = {d["destination"]: d["state"] for d in json.loads(project.cli("show", incident, "--json").stdout)["deliveries"]
              if d["sequence"] == 2}
    assert states["tg-public"] == "sent"


# -- a review: "withdrawn" while a post of the incident stays up -------------------------------------------------


def shown_states(project: Project, incident: str) -> list[dict[str, Any]]:
    deliveries: list[dict[str, Any]] = json.loads(project.cli("show", incident, "--json").stdout)["deliveries"]
    return deliveries


def test_a_post_racing_the_withdrawal_is_deleted_not_left_up(project: Project, world: FakeWorld) -> None:
    """A review: a delivery still pending when `withdraw` read its plan, sent by the racing `post` before the
    withdrawal was stored, stayed up ("nothing of this incident was posted here", exit 0). Telegram's getChat is
    made slow (the shared-rooms check of both commands) to widen the window the race needs."""
    project.write_config(ENGINE + world.channels_toml())
    project.cli("post", "--dry-run", "--only", "site,tg-public", "--title", "Warm", "-C", "api", "warm")
    world.telegram.fail(*[Fault(match="getChat", hang=3) for _ in range(6)])
    racing = project.process("post", "--yes", "--only", "site,tg-public", "--title", "API errors", "-C", "api",
                             "Elevated API errors.")
    state = project.root / ".broadcaster" / "state.db"
    deadline = time.monotonic() + 30
    incident = None
    while incident is None and time.monotonic() < deadline:
        try:
            with sqlite3.connect(state) as db:
                row = db.execute("SELECT id FROM incidents").fetchone()
            incident = row[0] if row else None
        except sqlite3.Error:
            pass
        time.sleep(0.002)
    assert incident is not None, racing.communicate()
    withdrawn = project.cli("withdraw", "--yes", incident, "--reason", "posted in error")
    racing.communicate(timeout=60)
    assert world.telegram_messages(PUBLIC_CHAT) == [], withdrawn.output  # deleted, or never sent
    if withdrawn.exit_code != 0:  # then it names what is left to do, never "done"
        assert "by hand" in withdrawn.output or "unknown" in withdrawn.output, withdrawn.output


def test_the_store_never_hands_out_a_delivery_a_withdrawal_followed(project: Project) -> None:
    """The other half of the race above: once the withdrawal is stored, no command can claim an earlier update's
    delivery for sending (the claim checks it in the same UPDATE); the operator can still settle one."""
    from broadcaster.messages.model import Impact, Incident, Status, Update

    from broadcaster.store import PlannedDelivery, open_store

    store = open_store(project.root / "state.db")
    try:
        incident = Incident("api-errors", "API errors", Impact.MINOR, Status.INVESTIGATING, datetime.now(UTC))
        _, first = store.record_update(incident, Update("api-errors", 0, datetime.now(UTC), Status.INVESTIGATING,
                                                        "Errors."), [PlannedDelivery("x", "", "public")], new=True)
        [pending] = store.deliveries(incident_id="api-errors")
        store.record_update(replace(incident, withdrawn_at=datetime.now(UTC)),
                            Update("api-errors", 0, datetime.now(UTC), Status.INVESTIGATING, "Posted in error.",
                                   kind="withdrawal"), [PlannedDelivery("x", "", "public")], new=False)
        assert not store.claim(pending.id, "someone")
        assert store.delivery(pending.id).state == "pending"
        assert store.claim(pending.id, "operator", sending=False)
    finally:
        store.close()


def test_a_post_under_a_chat_written_another_way_is_named_not_called_withdrawn(project: Project, world: FakeWorld) -> None:
    """A review: `@acmestatus` rewritten as its numeric id, a table renamed, a migrated group: the posts recorded
    under the old name were neither deleted nor mentioned, and withdraw exited 0."""
    project.write_config(ENGINE + world.channels_toml())
    incident = json.loads(project.cli("post", "--yes", "--json", "--only", "site,tg-public", "--title", "API errors",
                                      "-C", "api", "Elevated API errors.").stdout)["incident_id"]
    project.write_config(ENGINE + world.channels_toml().replace("[channels.tg-public]", "[channels.tg-announce]"))

    withdrawn = project.cli("withdraw", "--yes", incident, "--reason", "posted in error")

    assert withdrawn.exit_code == 3, withdrawn.output
    assert "tg-public" in withdrawn.output and "not deleted" in withdrawn.output and "by hand" in withdrawn.output
    assert len(world.telegram_messages(PUBLIC_CHAT)) == 1  # still up: said, not hidden


def test_a_post_marked_sent_without_its_id_is_named_not_called_withdrawn(project: Project, world: FakeWorld) -> None:
    project.write_config(ENGINE + world.channels_toml())
    world.x.fail(Fault(match="/2/tweets", reset_after=True))
    incident = json.loads(project.cli("post", "--yes", "--json", "--only", "site,x", "--title", "API errors", "-C",
                                      "api", "Elevated API errors.").stdout)["incident_id"]
    assert project.cli("retry", incident, "--mark-unknown-sent").exit_code == 0

    withdrawn = project.cli("withdraw", "--yes", incident, "--json")

    assert withdrawn.exit_code == 3, withdrawn.output
    [left] = json.loads(withdrawn.stdout)["in_doubt"]
    assert left["destination"] == "x" and "without its id" in left["error"]


def test_a_channel_whose_readers_changed_since_gets_no_note_and_its_post_is_named(project: Project, world: FakeWorld) -> None:
    """A review: a public channel's table marked `visibility = "internal"` after the incident went out there: withdraw
    left the public post up, exit 0, and posted the private reason and the author into that public chat."""
    project.write_config(ENGINE + world.channels_toml())
    incident = json.loads(project.cli("post", "--yes", "--json", "--only", "site,tg-public", "--title", "API errors",
                                      "-C", "api", "Elevated API errors.").stdout)["incident_id"]
    reclassified = world.channels_toml().replace("[channels.tg-public]\n", '[channels.tg-public]\nvisibility = "internal"\n')
    assert reclassified != world.channels_toml()
    project.write_config(ENGINE + reclassified)

    withdrawn = project.cli("withdraw", "--yes", incident, "--reason", "SECRETREASON the customer asked")

    assert withdrawn.exit_code == 3, withdrawn.output
    assert "readers changed" in withdrawn.output and "by hand" in withdrawn.output
    assert all("SECRETREASON" not in m.text for m in world.telegram_messages(PUBLIC_CHAT))


def test_a_deletion_says_what_it_deleted(project: Project, world: FakeWorld) -> None:
    """The docs review: withdraw printed "✓ x sent 1790..." for a deletion, the id of a post now gone."""
    project.write_config(ENGINE + world.channels_toml())
    incident = json.loads(project.cli("post", "--yes", "--json", "--only", "site,x", "--title", "API errors", "-C",
                                      "api", "Elevated API errors.").stdout)["incident_id"]
    withdrawn = project.cli("withdraw", "--yes", incident)
    assert withdrawn.exit_code == 0 and "deleted 1 post(s) of the incident here" in withdrawn.output, withdrawn.output
    assert world.x.tweets == []


def test_a_post_named_left_up_is_shown_escaped(project: Project, world: FakeWorld) -> None:
    """Found in the session's last look: the "not deleted" line quoted the stored post id, a server's text, raw."""
    project.write_config(ENGINE + world.channels_toml())
    incident = json.loads(project.cli("post", "--yes", "--json", "--only", "site,tg-public", "--title", "API errors",
                                      "-C", "api", "Elevated API errors.").stdout)["incident_id"]
    with sqlite3.connect(project.root / ".broadcaster" / "state.db") as db:
        db.execute("UPDATE deliveries SET remote_id = ? WHERE destination = 'tg-public'", ("@acme:1\x1b]0;pwned\x07",))
    project.write_config(ENGINE + world.channels_toml().replace("[channels.tg-public]", "[channels.tg-announce]"))
    withdrawn = project.cli("withdraw", "--yes", incident)
    assert withdrawn.exit_code == 3 and "not deleted" in withdrawn.output
    assert "\x1b" not in withdrawn.output and "\x07" not in withdrawn.output, repr(withdrawn.output)
