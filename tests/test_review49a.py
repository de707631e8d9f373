"""Review 49a: the output bound and the storable texts (``errors.bounded``, ``errors.storable``), fixes of fixes,
attacked through the real CLI and the fakes."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from tests.conftest import ENGINE, Project
from tests.fakes.base import Fault, Response
from tests.fakes.matrix import FakeMatrix
from tests.fakes.world import TG_TOKEN, FakeWorld
from tests.matrix_helpers import ROOM, matrix_room
from tests.test_guard_after_config_change import CUSTOMERS, GLOBEX, NAME
from tests.test_guard_after_config_change import TOKEN as GUARD_TOKEN
from tests.test_guard_after_config_change import post as guarded_post

MATRIX_TOKEN = "syt_review_49a_token_7e2b"


def public_matrix_room(project: Project) -> AbstractContextManager[FakeMatrix]:
    """The project's one channel: ``room``, a public Matrix room on a fake homeserver."""
    return matrix_room(project, MATRIX_TOKEN, channel="room", visibility="public")


@contextmanager
def _matrix_naming_events(project: Project, *names: str) -> Iterator[FakeMatrix]:
    """A public Matrix room whose homeserver names its first events "$ev<name>-Xy_z" (by default a lone surrogate,
    valid JSON: "$ev7\\ud800-Xy_z"): the event is up under that id, which broadcaster stores escaped."""
    with public_matrix_room(project) as matrix:
        matrix.name_next_events(*(names or ("7\ud800",)))
        yield matrix


def _posted(project: Project, *args: str) -> dict[str, Any]:
    result = project.cli(*args, "--yes", "--json")
    assert result.exit_code == 0, result.output
    posted: dict[str, Any] = json.loads(result.stdout)
    return posted


def _at_room(posted: dict[str, Any]) -> dict[str, Any]:
    [delivery] = [d for d in posted["deliveries"] if d["destination"] == "room"]
    assert isinstance(delivery, dict)
    return delivery


def test_a_withdrawal_never_says_deleted_a_post_whose_stored_id_names_none(project: Project) -> None:
    """The event's id held a lone surrogate, stored escaped ("\\ud800", six characters, errors.storable). withdraw
    asked the homeserver to redact the escaped id, which names no event: M_NOT_FOUND, counted as deleted, and
    withdraw said "deleted 1 post(s) of the incident here" (exit 0) while the post stayed up in the room. Now the
    post is left alone and the outcome says it is still up and must be deleted by hand."""
    with _matrix_naming_events(project) as matrix:
        incident = _posted(project, "post", "--title", "API errors", "Errors.")["incident_id"]
        withdrawn = _at_room(_posted(project, "withdraw", incident, "--reason", "posted in error"))
        [event] = matrix.events[ROOM]
        assert event.content, "the fake's event is up"
        assert not any(note.startswith("deleted 1 post") for note in withdrawn["notes"]), withdrawn
        said = " ".join(withdrawn["notes"])
        assert "not deleted" in said and "$ev7\\ud800-Xy_z" in said and "still up" in said, withdrawn


def test_a_follow_up_and_a_correction_under_a_post_whose_stored_id_names_none_go_out(project: Project) -> None:
    """A follow-up threaded under the escaped id and a correction edited it: the homeserver knows no such event and
    refused both for good ("Cannot start threads ...", "Edits must name an event ..."), so the room never heard of
    either. Now neither names it: the follow-up goes out on its own, the correction as a new message."""
    with _matrix_naming_events(project) as matrix:
        incident = _posted(project, "post", "--title", "API errors", "Errors.")["incident_id"]
        follow_up = _at_room(_posted(project, "post", "--incident", incident, "--status", "monitoring", "Fixed."))
        assert follow_up["state"] == "sent", follow_up
        corrected = _at_room(_posted(project, "amend", incident, "1", "Errors on the API."))
        assert corrected["state"] == "sent", corrected
        bodies = [str(e.content.get("body", "")) for e in matrix.events[ROOM]]
        assert len(bodies) == 3 and "Fixed." in bodies[1] and "Errors on the API." in bodies[2], bodies


def _rows(project: Project, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(project.root / ".broadcaster" / "state.db") as db:
        return list(db.execute(query))


def test_store_import_masks_a_long_notes_secret_before_cutting_it(project: Project, world: FakeWorld, tmp_path: Path) -> None:
    """dc78210 cut a long last_error on import (errors.bounded keeps its first 1,399 characters and its last 600)
    before anything masked it: a token of this config that straddles the cut lost its start, and what was left of
    it after the "…" was no secret to redaction: `show` printed most of the bot token. (Before, a note under 5,000
    characters was kept whole, and masked whole where shown.) Now masked first, as the engine stores a note: cut
    after."""
    project.write_config(ENGINE + world.channels_toml())
    world.telegram.fail(*[Fault(match="sendMessage", response=Response(
        400, {"ok": False, "error_code": 400, "description": "Bad Request: no"})) for _ in range(6)])
    assert project.cli("post", "--yes", "--title", "API errors", "-C", "api", "Elevated errors.").exit_code == 3
    export = tmp_path / "export.jsonl"
    assert project.cli("store", "export", str(export)).exit_code == 0
    # As an export from a store whose config did not know this token (or a hand-edited one) holds it: whole.
    # The token's first 7 characters before the 600 the cut keeps at the end, the rest of it in them.
    end = f"{TG_TOKEN[7:]} is bad " + "y" * (600 - len(TG_TOKEN[7:]) - 15) + "</html>"
    page = "Bad Request: <html>" + "x" * 2_400 + " token " + TG_TOKEN[:7] + end
    export.write_text(export.read_text(encoding="utf-8").replace("Telegram refused the message (No). Fix the cause and retry.", page), encoding="utf-8")
    fresh = project.fresh_beside(tmp_path / "fresh")
    imported = fresh.cli("store", "import", str(export))
    assert imported.exit_code == 0, imported.output
    stored = " ".join(str(error) for (error,) in _rows(fresh, "SELECT last_error FROM deliveries WHERE last_error IS NOT NULL"))
    shown = fresh.cli("show", "api-errors-" + str(_rows(fresh, "SELECT id FROM incidents")[0][0]).split("api-errors-")[1])
    secret_half = TG_TOKEN[7:]
    assert secret_half not in stored, stored[-700:]
    assert secret_half not in shown.output, shown.output[-2000:]


def _moved(project: Project, tmp_path: Path) -> tuple[Project, Any]:
    """``project``'s store exported and imported into a fresh project of the same config."""
    export = tmp_path / "export.jsonl"
    exported = project.cli("store", "export", str(export))
    assert exported.exit_code == 0, exported.output
    fresh = project.fresh_beside(tmp_path / "fresh")
    return fresh, fresh.cli("store", "import", str(export))


def test_a_post_id_holding_an_invisible_character_keeps_the_stores_export_importable(
    project: Project, tmp_path: Path,
) -> None:
    """A homeserver named its event "$evA\\u200bB-Xy_z" (a zero-width space): the engine stored it as it came, and
    `store import` refused the store's own export ("remote_id holds an invisible or control character (ZERO WIDTH
    SPACE)", exit 2): the store could not be moved to team mode or restored. Now the import takes an id as the
    service wrote it (a line break and a lone surrogate excepted), and the post, named as it was, is withdrawn.
    (Review 49a kept such an id escaped instead, as naming no post: withdraw then left posts up that it had deleted
    before, tests/test_fix20j.py and test_review_secrets.py.)"""
    with _matrix_naming_events(project, "A\u200bB") as matrix:
        incident = _posted(project, "post", "--title", "API errors", "Errors.")["incident_id"]
        fresh, imported = _moved(project, tmp_path)
        assert imported.exit_code == 0, imported.output
        [(remote_id,)] = _rows(fresh, "SELECT remote_id FROM deliveries WHERE destination = 'room'")
        assert remote_id == f"{ROOM}/$evA\u200bB-Xy_z", ascii(remote_id)
        withdrawn = _at_room(_posted(project, "withdraw", incident, "--reason", "posted in error"))
        assert "not deleted" not in " ".join(withdrawn["notes"]), withdrawn
        assert "$evA\u200bB-Xy_z" in matrix.redacted, matrix.redacted


def test_store_import_keeps_a_post_id_in_the_form_the_service_wrote_it(project: Project, tmp_path: Path) -> None:
    """`store import` put every id in Unicode's composed form (NFC): a homeserver's event "$evCe\\u0301D-Xy_z" (an
    accent written apart) was imported as "$evC\\u00e9D-Xy_z", which names no event: the imported copy's follow-ups
    and corrections were refused there. Now an id is checked in that form and kept as it was written."""
    with _matrix_naming_events(project, "Ce\u0301D"):
        _posted(project, "post", "--title", "API errors", "Errors.")
        fresh, imported = _moved(project, tmp_path)
        assert imported.exit_code == 0, imported.output
        [(remote_id,)] = _rows(fresh, "SELECT remote_id FROM deliveries WHERE destination = 'room'")
        assert remote_id == f"{ROOM}/$evCe\u0301D-Xy_z", ascii(remote_id)


def test_a_sites_error_naming_many_incidents_left_out_says_how_many_it_does_not_name(project: Project) -> None:
    """A customer added to the config took six public incidents naming it off the site, and the next post's site
    delivery failed naming them: each with about 470 characters of why, cut in the middle to 2,000 (errors.bounded),
    so that two of the six were named nowhere, without a word of it, and `show` had only that. Now the error names
    as many as it holds whole and says how many more, and which command names each."""
    project.env["ACME_FEED_TOKEN"] = GUARD_TOKEN
    project.write_config(CUSTOMERS)
    incidents = [guarded_post(project, "--title", f"Slow exports {n}", "-C", "api", f"Exports for {NAME} are slow.")
                 for n in range(6)]
    project.write_config(CUSTOMERS + GLOBEX)
    result = project.cli("post", "--yes", "--json", "--title", "Login errors", "-C", "web", "Logins fail for some.")
    assert result.exit_code == 3, result.output
    [site] = [d for d in json.loads(result.stdout)["deliveries"] if d["destination"] == "site"]
    error = str(site["error"])
    unnamed = [incident for incident in incidents if incident not in error]
    assert unnamed and f"and {len(unnamed)} more incident(s) were left out" in error, error
    assert "`broadcaster site build` names each" in error and error.endswith("once it is fixed."), error


def test_a_megabyte_part_id_an_earlier_version_stored_is_shown_cut(project: Project, world: FakeWorld) -> None:
    """a156fa5 cut a post's id on the delivery's line and in `show`; a version before stored one whole (a megabyte
    a server made up). `retry` printed the first confirmed part of one of unknown fate whole (1 MB), and so did
    `withdraw --dry-run` among the posts it deletes, and `retry --json`. Now each is cut as on the delivery's line."""
    project.write_config(ENGINE + world.channels_toml())
    assert project.cli("post", "--yes", "--title", "API errors", "-C", "api", "Elevated errors.").exit_code == 0
    with sqlite3.connect(project.root / ".broadcaster" / "state.db") as db:  # as a version before the bound did
        db.execute("UPDATE deliveries SET state = 'unknown', remote_id = NULL, sent_at = NULL, parts = ?"
                   " WHERE destination = 'x'", (json.dumps(["9" * 1_000_000]),))
    incident = str(_rows(project, "SELECT id FROM incidents")[0][0])
    for args in (("retry",), ("retry", "--json"), ("withdraw", incident, "--dry-run")):
        process = project.process(*args)
        out, err = process.communicate(timeout=120)
        assert "9" * 1300 in out and len(out) < 20_000, (args, len(out), err[-500:])


def test_a_refusal_quoting_a_private_use_character_keeps_the_stores_export_importable(
    project: Project, world: FakeWorld, tmp_path: Path,
) -> None:
    """A Bot API refusal quoting "\\uf8ff" (a private-use character: Apple's logo in a chat's title) is stored as
    it came (errors.printable escapes control and format characters only), and `store import` refused the store's
    own export ("last_error holds an invisible or control character (a private-use character, U+F8FF)", exit 2):
    the store could not be moved or restored. Now the import keeps such a note with the character escaped."""
    project.write_config(ENGINE + world.channels_toml())
    refused = {"ok": False, "error_code": 400, "description": "Bad Request: chat \uf8ff Fans is unusable"}
    world.telegram.fail(*[Fault(match="sendMessage", response=Response(400, refused)) for _ in range(6)])
    assert project.cli("post", "--yes", "--title", "API errors", "-C", "api", "Elevated errors.").exit_code == 3
    fresh, imported = _moved(project, tmp_path)
    assert imported.exit_code == 0, imported.output
    stored = [str(error) for (error,) in _rows(fresh, "SELECT last_error FROM deliveries WHERE destination LIKE 'tg-%'")]
    assert stored and all("hat \\uf8ff fans is unusable" in error for error in stored), stored
