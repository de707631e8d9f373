"""Review 65j: small refusals and previews left from the last reviews (a skip kept by a notice raised late, the
new-incident lock in a dry run, ``--store`` with hidden characters, a read-only state file's advice, the state file
inside the site folder, a 429's endless wait), attacked through the CLI and the fakes."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Project, public_webhook
from tests.fakes.base import Fault, Response
from tests.fakes.discord import FakeDiscord
from tests.fakes.matrix import FakeMatrix
from tests.fakes.twitter import TOO_MANY
from tests.test_discord import error as discord_error
from tests.test_matrix import ROOM, TOKEN
from tests.test_matrix import send_error as matrix_error
from tests.test_narrow_incidents import ACME, STAFF, customers, customers_config  # noqa: F401 - the fixture
from tests.test_review62b import _run
from tests.test_review63a import down_for_two_hours
from tests.test_review65b import notices_lock_of_another_account


def test_a_notice_a_skipping_post_left_behind_the_lock_waits_where_the_post_left_out_when_the_tick_raises_it(
    project: Project, customers: tuple[Any, Any]  # noqa: F811 - the fixture
) -> None:
    """A post with `--skip tg-ops` that crossed acme's contract beside another account's notices lock: the notices
    were left unraised. The later tick raised them and sent staff's straight to tg-ops, which the post left out:
    a notice the post raised itself waits there for `retry`. Raised late, it is still that post's notice: it waits
    there too, the tick says so, and `retry` sends it, once."""
    telegram, x = customers
    project.write_config(customers_config(telegram, x, acme_sla="sla = 99.9"))
    down_for_two_hours(project, "api")
    lock = notices_lock_of_another_account(project)
    code, said = _run(project, "post", "--dry-run", "--skip", "tg-ops", "--title", "Checkout errors",
                      "-C", "api=major_outage", "Checkout is failing.")
    assert code == 0 and "Once raised, it waits at tg-ops" in said, said

    code, said = _run(project, "post", "--yes", "--skip", "tg-ops", "--title", "Checkout errors",
                      "-C", "api=major_outage", "Checkout is failing.")
    assert code == 3 and "An SLA notice is due and was not raised" in said, said
    assert "waits at tg-ops" in said, said  # told now what the notice will do once raised

    lock.unlink()
    code, said = _run(project, "tick")

    staff = [m.text for m in telegram.messages.get(STAFF, [])]
    assert staff == [], staff
    assert sum("Service level notice for Acme Corp" in m.text for m in telegram.messages.get(ACME, [])) == 1
    assert code == 3 and "tg-ops" in said and "`broadcaster retry" in said, said

    code, said = _run(project, "retry")
    assert code == 0, said
    staff = [m.text for m in telegram.messages.get(STAFF, [])]
    assert sum("SLA breach for customer Acme Corp" in t for t in staff) == 1, staff
    code, said = _run(project, "tick")
    assert code == 0 and "Nothing due" in said, said
    assert len(telegram.messages.get(STAFF, [])) == 1


def new_incident_lock_of_another_account(project: Project) -> Path:
    """The store-wide lock new incidents are stored under, beside the state file, made by another account (uid
    65534) and its only, as 65b's notices lock."""
    lock = project.root / ".broadcaster" / ".state.db.new-incident.lock"
    lock.touch()
    os.chown(lock, 65534, 65534)
    lock.chmod(0o600)
    return lock


def test_a_dry_run_of_a_new_incident_is_refused_as_the_post_is_behind_another_accounts_new_incident_lock(
        project: Project) -> None:
    """`post --dry-run` of a new incident beside the new-incident lock another account made exited 0, showing the
    post, and the real post was then refused (exit 2, nothing stored): a preview that passes promises a post that
    works. It is refused alike now, naming the lock and whose it is, without taking or making it."""
    with public_webhook(project) as hook:
        code, said = _run(project, "post", "--yes", "--title", "Queue slow", "-C", "api", "Slow.")
        assert code == 0, said
        lock = new_incident_lock_of_another_account(project)
        before = len(hook.received())

        code, real = _run(project, "post", "--yes", "--title", "Checkout errors", "-C", "web", "Failing.")
        assert code == 2 and "new-incident.lock" in real, real

        code, said = _run(project, "post", "--dry-run", "--title", "Checkout errors", "-C", "web", "Failing.")

        assert code == 2, said
        assert "new-incident.lock" in said and "uid 65534" in said and "Nothing was stored or sent" in said, said
        assert len(hook.received()) == before and lock.stat().st_uid == 65534
        assert [i["title"] for i in json.loads(project.cli("list", "--json").stdout)] == ["Queue slow"]
        # A follow-up takes no such lock: its preview is not refused.
        incident = json.loads(project.cli("list", "--json").stdout)[0]["id"]
        code, said = _run(project, "post", "--dry-run", "-i", incident, "Still slow.")
        assert code == 0, said


def test_a_store_option_with_hidden_characters_is_refused_as_store_path_is(project: Project) -> None:
    """`--store` was not checked for hidden characters as `[store] path` and `url` are: a soft hyphen or a zero-width
    space copied from a chat made a new, empty store by a post (beside no other store, the page built from it alone),
    and an escape sequence went into every message naming the file. Refused alike, exit 2, naming --store."""
    for hidden in ("st\u00adate.db", "st\u200bate.db", "st\x1b[2Kate.db", "sqlite:///st\u200bate.db"):
        code, said = _run(project, "--store", hidden, "post", "--yes", "--title", "Queue slow", "-C", "api", "Slow.")

        assert code == 2, said
        assert "--store" in said and "invisible or control character" in said, said
        assert "\x1b" not in said, said
        assert sorted(p.name for p in project.root.iterdir()) == ["broadcaster.toml"], hidden
        code, said = _run(project, "list", "--store", hidden)
        assert code == 2 and "--store" in said and "invisible or control character" in said, said


def test_a_read_only_state_file_refused_to_a_writer_does_not_send_it_to_a_copy(project: Project) -> None:
    """A post refused a read-only state file was told to 'work on a copy in a folder you may write (--store COPY)':
    the post then went into the copy, the state file never heard of it, and the next tick, retry and page build
    read the state file without it (two stores, each with a part). The refusal says what makes the file writable,
    and that a copy is for reading; the reading commands still read it."""
    code, said = _run(project, "post", "--yes", "--title", "Queue slow", "-C", "api", "Slow.")
    assert code == 0, said
    state = project.root / ".broadcaster" / "state.db"
    state.chmod(0o444)

    code, said = _run(project, "post", "--yes", "-i", json.loads(project.cli("list", "--json").stdout)[0]["id"],
                      "Still slow.")

    assert code == 2 and "cannot be written" in said and "chmod u+w" in said, said
    assert "work on a copy" not in said and "Not on a copy of it either (--store COPY)" in said, said
    assert ").." not in said and ".." not in said.replace("...", ""), said
    code, listed = _run(project, "list")
    assert code == 0 and "Queue slow" in listed, listed


def test_a_state_file_inside_a_site_folder_named_public_is_not_told_to_point_output_dir_at_public(
        project: Project) -> None:
    """`output_dir = "public"` with the state file inside it (`--store public/state.db`, `[store] path`, one there
    already): refused, rightly, but told to 'Point [page] output_dir at a folder of its own, e.g. "public"', the
    folder it already is. It suggests another name now."""
    (project.root / "public").mkdir()
    (project.root / "public" / "state.db").touch()
    for args in (("--store", "public/new.db"), ("--store", "public/state.db")):
        code, said = _run(project, *args, "post", "--yes", "--title", "Queue slow", "-C", "api", "Slow.")

        assert code == 2 and "holds the store" in said, said
        assert 'e.g. "public"' not in said and 'e.g. "site"' in said, said
    project.write_config('\n[store]\npath = "public/state.db"\n')
    code, said = _run(project, "post", "--yes", "--title", "Queue slow", "-C", "api", "Slow.")
    assert code == 2 and 'e.g. "public"' not in said and 'e.g. "site"' in said, said


# A 429's wait as a service may write it, none of it a number of seconds to say: Infinity and NaN (JSON and float()
# take both), a number of seconds past any use, and as many digits as a header may hold.
ENDLESS_WAITS = ("Infinity", "NaN", "1e300", "9" * 400)


def _said_of_the_wait(said: str, code: int = 3) -> None:
    """Said as a wait it did not say how long, or too long to wait out; never as its number. Where it is no wait at
    all (NaN), the engine's own backoff, and the resend may go through (exit 0); else the delivery fails at once, its
    state `failed` (a 429 refused it), never `unknown`, for `retry`."""
    for garbled in ("infs", "nans", "inf s", "nan s", "1e+300", "e+", "9999999999"):
        assert garbled not in said, said
    if code == 0:
        return
    assert code == 3 and " failed " in said and " unknown " not in said, said
    assert "without saying how long" in said or "longer than a day" in said or "no wait time" in said, said


@pytest.mark.parametrize("wait", ENDLESS_WAITS)
def test_a_telegram_429_asking_an_endless_wait_is_worded_as_one(project: Project, world: Any, wait: str) -> None:
    """Telegram's 429 asking `retry_after: Infinity` was reported 'Telegram asked to wait infs' (NaN: 'nans', 1e300:
    '1e+300s'). Said now as a wait it did not say how long, or one too long to wait out; the delivery fails for
    `retry`, at once (no sleep on it)."""
    body = ('{"ok": false, "error_code": 429, "description": "Too Many Requests", '
            f'"parameters": {{"retry_after": {wait}}}}}').encode()
    world.telegram.fail(Fault(match="sendMessage", response=Response(429, body)))

    code, said = _run(project, "post", "--yes", "--only", "tg-public", "--title", "Queue slow", "-C", "api", "Slow.")

    _said_of_the_wait(said, code)


@pytest.mark.parametrize("wait", ENDLESS_WAITS)
def test_a_slack_429_asking_an_endless_wait_is_worded_as_one(project: Project, world: Any, wait: str) -> None:
    world.slack.fail(Fault(match="chat.postMessage", response=Response(
        429, {"ok": False, "error": "ratelimited"}, headers={"Retry-After": wait})))

    code, said = _run(project, "post", "--yes", "--only", "slack-acme", "--title", "Queue slow", "-C", "api",
                      "Slow.")

    _said_of_the_wait(said, code)


@pytest.mark.parametrize("header", [{"Retry-After": "9" * 400}, {"x-rate-limit-reset": "9" * 40},
                                    {"x-rate-limit-reset": "9" * 400}])
def test_an_x_429_asking_an_endless_wait_is_worded_as_one(project: Project, world: Any,
                                                          header: dict[str, str]) -> None:
    """X's reset time or Retry-After past any date: 'this app may post again at' a date Python cannot write, which
    ended the send as an unexpected error."""
    world.x.fail(Fault(match="/2/tweets", response=Response(429, TOO_MANY, header)))

    code, said = _run(project, "post", "--yes", "--only", "x", "--title", "Queue slow", "-C", "api", "Slow.")

    _said_of_the_wait(said, code)
    assert "Traceback" not in said and "unexpected" not in said, said


@pytest.fixture(scope="module")
def discord_server() -> Iterator[FakeDiscord]:
    with FakeDiscord() as started:
        yield started


@pytest.mark.parametrize("wait", ENDLESS_WAITS)
def test_a_discord_429_asking_an_endless_wait_is_worded_as_one(discord_server: FakeDiscord, wait: str) -> None:
    discord_server.fail(Fault(response=Response(
        429, f'{{"message": "You are being rate limited.", "retry_after": {wait}, "global": false}}'.encode(),
        headers={"Retry-After": wait})))

    error = discord_error(discord_server)

    assert error.retryable and not error.outcome_unknown
    _said_of_the_wait(f" failed {error}")


@pytest.fixture(scope="module")
def matrix_server() -> Iterator[FakeMatrix]:
    with FakeMatrix() as started:
        yield started


@pytest.mark.parametrize("wait", ENDLESS_WAITS)
def test_a_matrix_429_asking_an_endless_wait_is_worded_as_one(matrix_server: FakeMatrix, wait: str) -> None:
    matrix_server.reset(token=TOKEN, rooms=[ROOM])
    matrix_server.fail(Fault(match="/send/", response=Response(
        429, {"errcode": "M_LIMIT_EXCEEDED", "error": "Too Many Requests"}, headers={"Retry-After": wait})))

    error = matrix_error(matrix_server)

    assert error.retryable and not error.outcome_unknown
    _said_of_the_wait(f" failed {error}")
