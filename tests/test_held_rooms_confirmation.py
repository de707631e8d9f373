"""Deliveries held back because a chat name cannot be resolved now: the confirmation says so, and the reason does not.

Telegram cannot say which chat the public table's ``@acmestatus`` is (getChat fails): it might be one of the staff
chats, so tg-ops is held back (recorded failed; ``retry`` asks again and sends it). The confirmation was built from a
dry run that asked no service, so it listed tg-ops as going; and the hold's reason quoted the lookup's error in a
send's words, "the message may or may not have been posted", although nothing was sent anywhere.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import Project
from tests.fakes.base import Fault, Response
from tests.fakes.world import FakeWorld
from tests.test_confirmation import in_terminal

OPS = (-1001001, -1001002)
GET_CHAT_FAILS = Fault(match="getChat", response=Response(
    500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}))


def destinations_shown(shown: str, question: str = "Publish now?") -> list[str]:
    return [line.strip() for line in shown.split("Destinations")[1].split(question)[0].splitlines() if line.strip()]


def test_the_confirmation_shows_tg_ops_held_and_the_run_holds_it_without_asking_telegram_again(
    project: Project, world: FakeWorld
) -> None:
    world.telegram.fail(GET_CHAT_FAILS)  # once: a second getChat would be answered, and tg-ops sent to
    code, shown = in_terminal(project, ["post", "--title", "API errors", "-C", "api", "Errors."], b"y\n", b"Publish now?")

    [ops] = [line for line in destinations_shown(shown) if line.startswith("tg-ops")]
    assert ops.startswith("tg-ops [internal] (2 chats) held: [channels.tg-public] names @acmestatus"), shown
    assert "x [public]" in destinations_shown(shown) and "tg-public [public]" in destinations_shown(shown)
    # The real run held back what was shown: it did not ask Telegram again (and get an answer this time).
    assert code == 3, shown
    assert world.telegram.received("getChat") == [] and all(world.telegram_messages(c) == [] for c in OPS)
    assert len(world.telegram_messages("@acmestatus")) == 1

    retried = project.cli("retry")  # as before: asks again, and sends what was held back
    assert retried.exit_code == 0, retried.output
    assert len(world.telegram.received("getChat")) == 1
    assert all(len(world.telegram_messages(c)) == 1 for c in OPS)


def test_a_no_at_a_confirmation_showing_held_destinations_stores_and_sends_nothing(
    project: Project, world: FakeWorld
) -> None:
    world.telegram.fail(GET_CHAT_FAILS)
    code, shown = in_terminal(project, ["post", "--title", "API errors", "-C", "api", "Errors."], b"n\n", b"Publish now?")
    assert code == 2 and "held:" in shown and "nothing was stored or sent" in shown, shown
    assert json.loads(project.cli("list", "--json").stdout) == []
    assert world.telegram_messages("@acmestatus") == [] and all(world.telegram_messages(c) == [] for c in OPS)


def test_a_lifecycle_command_confirms_with_the_held_destinations_too(project: Project, world: FakeWorld) -> None:
    world.telegram.fail(GET_CHAT_FAILS)
    code, shown = in_terminal(project, ["maintenance", "schedule", "--title", "DB upgrade", "--start", "2h",
                                        "--end", "3h", "-C", "api"], b"y\n", b"Publish now?")
    [ops] = [line for line in destinations_shown(shown) if line.startswith("tg-ops")]
    assert " held: " in ops, shown
    assert code == 3 and all(world.telegram_messages(c) == [] for c in OPS), shown


def test_a_dry_run_and_yes_ask_telegram_as_before(project: Project, world: FakeWorld) -> None:
    """No confirmation, nothing asked ahead: a dry run asks no service, and --yes asks once, in the real run."""
    assert project.cli("post", "--dry-run", "--title", "API errors", "-C", "api", "Errors.").exit_code == 0
    assert world.telegram.received("getChat") == []
    assert project.cli("post", "--yes", "--title", "API errors", "-C", "api", "Errors.").exit_code == 0
    assert len(world.telegram.received("getChat")) == 1


@pytest.mark.parametrize("fault, said", [
    (GET_CHAT_FAILS, "Telegram answered getChat with a server error (Internal Server Error (500))"),
    (Fault(match="getChat", hang=10), "Telegram did not answer getChat within 2s"),
    (Fault(match="getChat", reset=True), "getChat got no answer from Telegram"),
], ids=["server-error", "no-answer", "reset"])
def test_a_held_delivery_says_the_lookup_failed_not_that_it_may_have_been_posted(
    project: Project, world: FakeWorld, fault: Fault, said: str
) -> None:
    world.telegram.fail(fault)
    code, out = project.cli_json("post", "--yes", "--title", "API errors", "-C", "api", "Errors.")
    assert code == 3, out
    held = [d for d in out["deliveries"] if d["destination"] == "tg-ops"]
    assert [d["state"] for d in held] == ["failed", "failed"], held
    for delivery in held:
        assert said in delivery["error"] and "may or may not" not in delivery["error"], delivery["error"]
        assert delivery["error"].startswith("not sent: [channels.tg-public] names @acmestatus"), delivery["error"]
    assert all(world.telegram_messages(c) == [] for c in OPS)


def test_a_slack_delivery_held_for_a_failed_lookup_is_not_said_to_be_maybe_posted(project: Project) -> None:
    """The same at Slack (conversations.list answering 500): a lookup changes nothing, so its failure is no post in
    doubt (channels/slack.py read the lookup's 500 as a send's, "may or may not have been done")."""
    from tests.conftest import ENGINE
    from tests.fakes.slack import FakeSlack
    from tests.test_audiences import AUDIENCES
    from tests.test_shared_rooms import CHANNELS, SLACK_TOKEN, slack_table

    with FakeSlack(token=SLACK_TOKEN, channels=CHANNELS) as fake:
        project.env["SLACK_TOKEN"] = SLACK_TOKEN
        project.write_config(ENGINE + AUDIENCES + slack_table("public-slack", 'visibility = "public"', "#status", fake)
                             + slack_table("acme-slack", 'audience = "acme"', "C0ACME0001", fake))
        fake.fail(*[Fault(match="conversations.list", response=Response(500, {"ok": False, "error": "fatal_error"}))] * 6)
        code, out = project.cli_json("post", "--yes", "--title", "API errors", "-C", "api", "--for", "acme", "Circuit 7.",
                                     "Errors.")
        assert code == 3, out
        [held] = [d for d in out["deliveries"] if d["destination"] == "acme-slack"]
        assert held["state"] == "failed" and "may or may not" not in held["error"], held
        assert fake.messages["C0ACME0001"] == []
