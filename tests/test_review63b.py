"""Review 63b: duplicates and losses where recent reviews had not looked, through the real CLI and the fakes.

1. ``amend`` beside a ``retry`` (a cron job's, every minute) that sends the update it corrects. The amend read the
   original's deliveries as not gone out (failed: held back, say), planned its correction skipped there ("it goes
   with this correction's text"), then stored it; meanwhile the retry claimed the original and rendered it without
   the correction, not stored yet, and posted the text taken back. The chats kept it for good, the amend exited 0,
   and a later retry said every delivery was sent or skipped. Anything between the amend's plan and its store widens
   the window: here Telegram slow to answer getChat, which the amend asks before storing.
2. `retry` beside a live `post` of this machine still sending a paced broadcast said "Nothing to resend: every
   delivery is sent or skipped.", exit 0, while most chats had nothing yet: a cron job's log read all was well. The
   exit code stays 0 (the post reports how its sends end, as a withdraw beside a retry does), but the line says
   how many are still being sent and by whom.
"""

from __future__ import annotations

import json
import threading
import time

from click.testing import Result

from tests.conftest import ENGINE, Project
from tests.fakes.base import Fault, Request, Response
from tests.fakes.world import OPS_CHATS, FakeWorld

CHATS = tuple(-1002000 - n for n in range(90))
WRONG = "Wrong: the database is down."
RIGHT = "Elevated API errors; the database is fine."


def _ops_texts(world: FakeWorld) -> dict[int, list[str]]:
    return {chat: [m.text for m in world.telegram_messages(chat)] for chat in OPS_CHATS}


def _getchat_fails(world: FakeWorld, times: int) -> None:
    """Telegram cannot say which chat @acmestatus is: the staff table is held back (it might be that chat)."""
    down = Response(500, {"ok": False, "error_code": 500, "description": "Internal Server Error"})
    world.telegram.fail(*(Fault(match="getChat", response=down) for _ in range(times)))


def test_a_correction_is_not_skipped_where_a_retry_sent_the_original_meanwhile(project: Project) -> None:
    with FakeWorld() as world:
        project.env.update(world.env)
        project.write_config(ENGINE.replace("timeout = 2\n", "timeout = 20\n").replace("deadline = 20", "deadline = 40")
                             + world.channels_toml())
        _getchat_fails(world, 3)
        posted = project.cli("post", "--yes", "--json", "--only", "tg-ops", "--title", "API errors", "-C", "api", WRONG)
        assert posted.exit_code == 3, posted.output  # held back: nothing of it went out
        incident = json.loads(posted.stdout)["incident_id"]
        assert _ops_texts(world) == {chat: [] for chat in OPS_CHATS}
        world.telegram.clear_faults()

        asked = threading.Event()

        def amend_asks(request: Request) -> bool:
            asked.set()
            return True

        world.telegram.fail(Fault(match="getChat", delay=8, when=amend_asks))  # the amend's question, answered late
        amend = project.process("amend", "--yes", incident, "1", RIGHT)
        assert asked.wait(60), "the amend never asked which chat @acmestatus is"
        retried = project.cli("retry", incident)  # the original goes out while the amend waits for its answer
        assert retried.exit_code == 0, retried.output
        output, errors = amend.communicate(timeout=90)
        assert amend.returncode == 0, output + errors

        for chat, texts in _ops_texts(world).items():  # the original, corrected in place where it went
            assert len(texts) == 1 and RIGHT in texts[0] and WRONG not in texts[0], (chat, texts, output)
        again = project.cli("retry", incident)
        assert again.exit_code == 0, again.output


def retried_while_a_post_sends(project: Project, *args: str) -> Result:
    """`retry ARGS` run once a post to ninety staff chats has reached ten of them, the post then read to its end."""
    with FakeWorld(ops_chats=CHATS) as world:
        project.env.update(world.env)
        project.write_config("[engine]\ntimeout = 5\ndeadline = 60\n" + world.channels_toml())
        post = project.process("post", "--yes", "--only", "tg-ops", "--title", "API errors", "-C", "api",
                               "Elevated API errors.")
        waited_until = time.monotonic() + 30
        while sum(bool(world.telegram_messages(c)) for c in CHATS) < 10 and time.monotonic() < waited_until:
            time.sleep(0.05)
        retried = project.cli("retry", *args)
        told = sum(bool(world.telegram_messages(c)) for c in CHATS)
        output, errors = post.communicate(timeout=90)
        assert post.returncode == 0, output + errors
        assert told < len(CHATS), told  # the retry ran while the post was still sending
        return retried


def test_a_retry_beside_a_post_still_sending_does_not_say_every_delivery_is_sent(project: Project) -> None:
    retried = retried_while_a_post_sends(project)
    assert retried.exit_code == 0, retried.output  # the post reports its own sends
    assert "every delivery is sent or skipped" not in retried.output, retried.output
    assert "still being sent by another command on this machine" in retried.output, retried.output
