"""Review 47c: what the operator's terminal shows, attacked through the real CLI against the fakes."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from broadcaster import subscribers
from broadcaster.subscribers import ChatKind
from tests.bot_helpers import AUDIENCES, TOKEN
from tests.conftest import UNHURRIED_ENGINE, Project
from tests.fakes.base import Fault, Response
from tests.fakes.telegram import FakeTelegram
from tests.fakes.telegram_bot import FakeTelegramBot
from tests.fakes.world import FakeWorld
from tests.matrix_helpers import matrix_room
from tests.test_bot_run import bot_table, stopped
from tests.test_hosts_git_safety import no_git_config, pages_config, remote  # noqa: F401 - its fixtures
from tests.test_subscribers import PUBLIC_CHAT, bot_project, fake, store_of  # noqa: F401 - its fixtures

# A server (or a proxy in front of it) answering a refusal with a megabyte: an error page, a hostile description.
HUGE = "Bad Request: " + "A" * 1_000_000


def test_a_servers_megabyte_of_error_text_is_stored_and_shown_bounded(project: Project, world: FakeWorld) -> None:
    """Each delivery's line, its stored error and its `--json` carried the whole answer: 1 MB per delivery, five
    deliveries, five megabytes on the terminal and in the state file. Now each is cut in its middle, our advice
    (what to do) kept at its end."""
    # A megabyte answer met the 2 s request timeout in a loaded run, and a delivery the 20 s deadline in two (a slow
    # host, ten workers): neither is what this test is of.
    # (2026-12-08: at 10 s, one chat's megabyte still met the timeout in a full run beside other work: 30 s.)
    project.write_config(UNHURRIED_ENGINE.replace("deadline = 20\n", "deadline = 90\n").replace(
        "timeout = 10\n", "timeout = 30\n") + world.channels_toml())
    world.telegram.fail(*[Fault(match="sendMessage", response=Response(
        400, {"ok": False, "error_code": 400, "description": HUGE})) for _ in range(6)])
    world.slack.fail(*[Fault(match="chat.postMessage", response=Response(200, {"ok": False, "error": HUGE}))
                       for _ in range(6)])
    world.x.fail(*[Fault(match="tweets", response=Response(403, {"detail": HUGE, "title": "Forbidden"}))
                   for _ in range(6)])
    posted = project.cli("post", "--yes", "--json", "--title", "API errors", "-C", "api", "Elevated errors.")
    assert posted.exit_code == 3, posted.stderr[:2000]
    assert len(posted.stdout) < 30_000, len(posted.stdout)
    outcomes = json.loads(posted.stdout)["deliveries"]
    failed = [o for o in outcomes if o["state"] == "failed"]
    assert {o["destination"] for o in failed} == {"x", "tg-public", "tg-ops", "slack-acme"}, [
        (o["destination"], o["state"], (o["error"] or "")[-300:]) for o in outcomes]
    for outcome in failed:
        assert "…" in outcome["error"] and len(outcome["error"]) <= 2000, outcome["error"][:300]
    assert any(o["error"].endswith("and send again.") or "developer portal" in o["error"][-600:] for o in failed
               if o["destination"] == "x"), [o["error"][-300:] for o in failed]
    with sqlite3.connect(project.root / ".broadcaster" / "state.db") as db:
        lengths = [n for (n,) in db.execute("SELECT length(last_error) FROM deliveries WHERE last_error IS NOT NULL")]
    assert lengths and max(lengths) <= 2000, lengths
    incident = json.loads(posted.stdout)["incident_id"]
    for args in (("show", incident), ("retry",)):
        world.telegram.fail(*[Fault(match="sendMessage", response=Response(
            400, {"ok": False, "error_code": 400, "description": HUGE})) for _ in range(6)])
        shown = project.cli(*args)
        assert len(shown.stdout + shown.stderr) < 30_000, (args, len(shown.stdout + shown.stderr))


def test_site_publish_shows_a_git_hooks_megabyte_bounded_and_inert(project: Project, remote: Path) -> None:  # noqa: F811
    """`site publish` prints each target's failure itself, not through the engine: a pre-receive hook's output of
    1.5 MB (git passes it on) reached the terminal whole. Now cut as a delivery's error is, its escapes shown."""
    pages_config(project, str(remote))
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\nprintf 'GH006: Protected \\033]52;c;cm0gLXJmIH4=\\007 \\033[2J'\n"
                    "yes B | head -c 3000000 | tr -d '\\n'\necho\nexit 1\n")
    hook.chmod(0o755)
    published = project.cli("site", "publish")
    assert published.exit_code == 3, published.output[:2000]
    shown = published.stdout + published.stderr
    assert len(shown) < 5_000, len(shown)
    assert "pages:" in shown and "\\x1b]52;c;" in shown and "…" in shown, shown[:2000]
    assert not {"\x1b", "\x07"} & set(shown)


def dropped_by_a_refusal(bot_project: Project, fake: FakeTelegram, more: str) -> str:  # noqa: F811
    """A subscribed chat dropped by a post: Telegram refused it (403, blocked), its description followed by
    ``more``. The reason stored, checked within the bound."""
    subscribers.subscribe(store_of(bot_project), PUBLIC_CHAT, ChatKind.PRIVATE)
    blocked = {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user " + more}
    fake.fail(*[Fault(match="sendMessage", response=Response(403, blocked)) for _ in range(3)])
    assert bot_project.cli("post", "--yes", "--title", "API errors", "Errors on the API.").exit_code == 3
    dropped = store_of(bot_project).subscription(str(PUBLIC_CHAT))
    assert dropped is not None and not dropped.active
    reason = dropped.inactive_reason or ""
    assert len(reason) <= 2000, len(reason)
    return reason


def test_a_blocked_chats_megabyte_reason_is_stored_and_listed_bounded(bot_project: Project, fake: FakeTelegram) -> None:  # noqa: F811
    """Why a subscribed chat was dropped is the library's error as the server worded it, kept in the store and
    shown by `subscribers list` (and `withdraw`): a 403 with a megabyte of description was kept and listed whole."""
    dropped_by_a_refusal(bot_project, fake, "A" * 1_000_000)
    listed = bot_project.cli("subscribers", "list")
    assert "inactive" in listed.output and len(listed.output) < 5_000, len(listed.output)


@pytest.fixture
def bot_api() -> Iterator[FakeTelegramBot]:
    """test_bot_run's fake, under a name of its own: test_subscribers' ``fake`` is a channel's."""
    with FakeTelegramBot(token=TOKEN) as server:
        yield server


@pytest.fixture
def configured(project: Project, bot_api: FakeTelegramBot) -> Project:
    project.write_config(AUDIENCES + bot_table(bot_api))
    project.env["BOT_TOKEN"] = TOKEN
    return project


def test_the_bots_log_of_a_megabyte_poll_failure_is_bounded(configured: Project, bot_api: FakeTelegramBot) -> None:
    """`bot run` logs each failed poll with the server's description, escaped but whole: a megabyte per attempt on
    the operator's terminal or journal. Now our own log records are cut as a delivery's error is."""
    huge = {"ok": False, "error_code": 400, "description": "Bad Request: \x1b[2J " + "A" * 1_000_000}
    bot_api.fail(Fault(match="getUpdates", response=Response(400, huge)))
    process = configured.process("bot", "run")
    # The fake records no request it answers with a fault: the one before the first poll, then time for it.
    assert bot_api.wait_for(lambda: bool(bot_api.received("/deleteWebhook")), 20), "the bot never started"
    time.sleep(2)  # the failed poll answered, and logged
    code, out, err = stopped(process)
    assert code == 0, err[-2000:]
    assert "could not be polled" in err and "\\x1b[2" in err and "\x1b" not in err, err[:2000]
    assert len(err) < 10_000, len(err)


def test_a_megabyte_post_id_a_server_made_up_is_shown_bounded(project: Project) -> None:
    """A post's id is the server's (Matrix's event_id): `post` and `show` printed a megabyte of one whole, on the
    delivery's line and in the table. Now cut there as an error is."""
    with matrix_room(project, "syt_bounded_id_test_47") as matrix:
        matrix.fail(Fault(match="/send/", response=Response(200, {"event_id": "$" + "e" * 1_000_000})))
        posted = project.cli("post", "--yes", "--title", "API errors", "Errors.")
        assert posted.exit_code == 0, posted.output[:2000]
        incident = json.loads(project.cli("list", "--json").stdout)[0]["id"]
        shown = project.cli("show", incident)
    assert "✓ ops" in posted.stdout and "$eee" in posted.stdout and "…" in posted.stdout, posted.stdout[:2000]
    assert len(posted.stdout) < 10_000 and len(shown.stdout) < 10_000, (len(posted.stdout), len(shown.stdout))


def test_a_commands_error_quoting_a_megabyte_of_getme_is_bounded(project: Project, bot_api: FakeTelegramBot) -> None:
    """`subscribers invite` (and `bot run`) ask Telegram for the bot's name first and, refused, say so quoting the
    description: a megabyte of it was the whole `error:` line. Now the line is cut (at 8,000 characters: our own
    errors may name many destinations), its advice kept at the end."""
    project.write_config(AUDIENCES + bot_table(bot_api))
    project.env["BOT_TOKEN"] = TOKEN
    huge = {"ok": False, "error_code": 400, "description": "Bad Request: " + "A" * 1_000_000}
    bot_api.fail(*[Fault(match="getMe", response=Response(400, huge)) for _ in range(20)])
    invited = project.cli("subscribers", "invite")
    assert invited.exit_code == 2, invited.stderr[:2000]
    assert len(invited.stderr) < 10_000 and "Nothing was stored" in invited.stderr[-1000:], invited.stderr[-1000:]
    process = project.process("bot", "run")
    _, err = process.communicate(timeout=60)
    assert process.returncode != 0 and "The bot could not start" in err and len(err) < 10_000, (process.returncode, len(err))


def test_our_log_record_of_invisible_characters_is_cut_once_escaped() -> None:
    """The bot's own log records quote what a server said, raw: each invisible character is shown as its escape
    (six characters for one), so cut before it was escaped a record bounded to 2,000 characters came out as 12,000."""
    import logging

    from broadcaster.redaction import RedactingFilter

    record = logging.LogRecord("broadcaster.bot", logging.WARNING, __file__, 1, "Telegram could not be polled (%s)",
                               ("\u200b" * 100_000,), None)
    assert RedactingFilter([]).filter(record)
    assert "\\u200b" in record.msg and len(record.msg) <= 2_000, len(record.msg)
