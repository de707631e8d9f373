"""Review 48b: the output bound (``errors.bounded``) and what it meets, attacked through the real CLI and the fakes."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from broadcaster import subscribers
from broadcaster.subscribers import ChatKind
from tests.conftest import ENGINE, Project
from tests.fakes.base import Fault, Response
from tests.fakes.telegram import FakeTelegram
from tests.fakes.world import FakeWorld
from tests.matrix_helpers import matrix_room
from tests.test_review47c import dropped_by_a_refusal
from tests.test_subscribers import PUBLIC_CHAT, bot_project, fake, store_of  # noqa: F401 - its fixtures

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
    with matrix_room(project, MATRIX_TOKEN) as matrix:
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


def test_a_dropped_chats_reason_of_escapes_is_stored_bounded_and_survives_export_and_import(
    bot_project: Project, fake: FakeTelegram, tmp_path: Path,  # noqa: F811
) -> None:
    """The reason was cut to 2,000 characters *before* its escapes were written out ("\\u200b" is six characters
    for one): a 403 whose description is zero-width spaces was stored at 12,000 characters, and `store import`
    (which takes at most 5,000) refused the store's own export, so the store could not be moved or restored.
    Now it is escaped first and then cut: stored within the bound, and the export imports."""
    reason = dropped_by_a_refusal(bot_project, fake, "\u200b" * 100_000)
    assert "bot was blocked" in reason and "\u200b" not in reason
    export = tmp_path / "export.jsonl"
    assert bot_project.cli("store", "export", str(export)).exit_code == 0
    fresh = bot_project.fresh_beside(tmp_path / "fresh")
    imported = fresh.cli("store", "import", str(export))
    assert imported.exit_code == 0, imported.output
    listed = json.loads(fresh.cli("subscribers", "list", "--json").stdout)
    assert [row["active"] for row in listed] == [False], listed


def test_an_earlier_versions_long_stored_error_does_not_make_the_stores_export_unimportable(
    project: Project, world: FakeWorld, tmp_path: Path,
) -> None:
    """A version before the bound stored a server's answer whole (a proxy's error page, 40 kB): `show` and
    `--json` now cut it, but `store export` carried it whole and `store import` refused the store's own export
    ("last_error is 40,013 characters; a private detail may be at most 5,000"), so the store could not be moved
    (team mode) or restored. Now the import cuts such a note as the engine stores one today."""
    project.write_config(ENGINE + world.channels_toml())
    world.telegram.fail(*[Fault(match="sendMessage", response=Response(
        400, {"ok": False, "error_code": 400, "description": "Bad Request: no"})) for _ in range(6)])
    assert project.cli("post", "--yes", "--title", "API errors", "-C", "api", "Elevated errors.").exit_code == 3
    page = "Bad Request: <html>" + "proxy error page " * 2_353 + "</html> Fix the cause and retry."
    with sqlite3.connect(project.root / ".broadcaster" / "state.db") as db:  # as the version before the bound did
        db.execute("UPDATE deliveries SET last_error = ? WHERE destination = 'tg-public'", (page,))
    export = tmp_path / "export.jsonl"
    assert project.cli("store", "export", str(export)).exit_code == 0
    fresh = project.fresh_beside(tmp_path / "fresh")
    imported = fresh.cli("store", "import", str(export))
    assert imported.exit_code == 0, imported.output
    [(error,)] = _rows(fresh, "SELECT last_error FROM deliveries WHERE destination = 'tg-public'")
    assert len(str(error)) <= 2000 and str(error).startswith("Bad Request: <html>"), str(error)[:300]
    assert str(error).endswith("Fix the cause and retry."), str(error)[-300:]


def test_channels_check_shows_a_megabyte_getme_refusal_bounded(project: Project, world: FakeWorld) -> None:
    """`channels check` asks each Telegram table's getMe and prints the refusal in its table: a megabyte of
    description (words, which the table wraps) was 2.4 MB on the terminal for two tables. 40fd3ae bounded the same
    refusal in `subscribers invite` and `bot run`; now each check's detail is cut as a delivery's error is."""
    project.write_config(ENGINE + world.channels_toml())
    huge = {"ok": False, "error_code": 400, "description": "Bad Request: " + "word " * 200_000}
    world.telegram.fail(*[Fault(match="getMe", response=Response(400, huge)) for _ in range(20)])
    checked = project.cli("channels", "check")
    assert checked.exit_code == 3, checked.output[:2000]
    assert len(checked.stdout) < 20_000, len(checked.stdout)
    words = " ".join(checked.stdout.split())  # the table wraps the detail over its lines
    assert "tg-public" in words and "…" in words and "Fix the cause and retry." in words, words[-2000:]


def test_subscribers_list_json_cuts_a_reason_an_earlier_version_stored_whole(
    bot_project: Project, fake: FakeTelegram,  # noqa: F811
) -> None:
    """e0ffb00 cut a dropped chat's reason where it is stored and where `subscribers list` prints a row an earlier
    version stored whole, but `subscribers list --json` printed that row's megabyte as it was. Now cut there too."""
    store = store_of(bot_project)
    subscribers.subscribe(store, PUBLIC_CHAT, ChatKind.PRIVATE)
    subscribers.deactivate(store, str(PUBLIC_CHAT), "Forbidden: bot was blocked by the user")
    with sqlite3.connect(bot_project.root / ".broadcaster" / "state.db") as db:  # as the version before the bound
        db.execute("UPDATE subscriptions SET inactive_reason = ?", ("Forbidden: " + "A" * 1_000_000 + " the end",))
    listed = bot_project.cli("subscribers", "list", "--json")
    assert listed.exit_code == 0 and len(listed.stdout) < 5_000, len(listed.stdout)
    [row] = json.loads(listed.stdout)
    assert row["active"] is False and row["inactive_reason"].startswith("Forbidden: AAA"), row
    assert row["inactive_reason"].endswith("the end") and "…" in row["inactive_reason"], row
