"""Review 48b: the output bound (``errors.bounded``) and what it meets, attacked through the real CLI and the fakes."""

from __future__ import annotations

import sqlite3

from tests.conftest import ENGINE, Project
from tests.fakes.base import Fault, Response
from tests.fakes.world import FakeWorld

MATRIX_TOKEN = "syt_review_48b_token_3c9d"


def _rows(project: Project, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(project.root / ".broadcaster" / "state.db") as db:
        return list(db.execute(query))


def test_a_refusal_quoting_a_lone_surrogate_is_recorded_failed_not_left_sending(project: Project, world: FakeWorld) -> None:
    """A Bot API description holding "\\ud800" (valid JSON; Python decodes it to a lone surrogate) passed
    ``printable`` and ``bounded`` as it came, and SQLite cannot store it: the refusal (nothing sent) was never
    recorded, the deliveries stayed ``sending``, were reaped as unknown ("the post may or may not exist"), and every
    `retry --include-unknown` met the same refusal and left them so, holding back every later update to the chats.
    Now the surrogate is shown escaped, and the refusal is recorded failed."""
    project.write_config(ENGINE + world.channels_toml())
    refused = {"ok": False, "error_code": 400, "description": "Bad Request: chat \ud800 is unusable"}
    world.telegram.fail(*[Fault(match="sendMessage", response=Response(400, refused)) for _ in range(6)])
    posted = project.cli("post", "--yes", "--title", "API errors", "-C", "api", "Elevated errors.")
    assert posted.exit_code == 3, posted.output
    assert "could not record" not in posted.output, posted.output
    stored = _rows(project, "SELECT state, last_error FROM deliveries WHERE destination LIKE 'tg-%'")
    assert stored and all(state == "failed" for state, _ in stored), stored
    assert all("hat \\ud800 is unusable" in str(error) for _, error in stored), stored


def test_a_post_id_holding_a_lone_surrogate_is_recorded_sent_and_never_posted_twice(project: Project) -> None:
    """A Matrix event_id holding "\\ud800": the post was up, but the store could not record its id and the
    terminal could not print it: `post` ended in "unexpected error (UnicodeEncodeError)" (exit 1) with the delivery
    left ``sending``, reaped as unknown, which `retry --include-unknown` posts a second time. Now the id is kept with
    the surrogate escaped: recorded sent, shown, and not posted again."""
    from tests.fakes.matrix import FakeMatrix

    with FakeMatrix(token=MATRIX_TOKEN, rooms=["!ops:example.org"]) as matrix:
        project.env["MATRIX_TOKEN"] = MATRIX_TOKEN
        project.write_config(ENGINE + f"""
[channels.ops]
type = "matrix"
visibility = "internal"
homeserver = "{matrix.url}"
access_token = "${{MATRIX_TOKEN}}"
room_id = "!ops:example.org"
""")
        matrix.fail(Fault(match="/send/", response=Response(200, {"event_id": "$abc\ud800def"})))
        process = project.process("post", "--yes", "--title", "API errors", "Errors.")
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, (out[-2000:], err[-2000:])
        assert "$abc\\ud800def" in out, out
        [(state, remote_id)] = _rows(project, "SELECT state, remote_id FROM deliveries WHERE destination = 'ops'")
        assert state == "sent" and str(remote_id).endswith("$abc\\ud800def"), (state, remote_id)
        retried = project.cli("retry", "--include-unknown")
        assert retried.exit_code == 0, retried.output
        assert matrix.received("/send/") == []  # the fake records no request it faulted: none came after it
