"""The docs review (review-docs.md): what README promises and the messages an operator acts on under stress.

A1: a promised time of day already past is refused, not silently taken as tomorrow's. A1b: the everyday
spellings of a duration. B3: a malformed feed token is refused before anything is stored. B4: a mistyped
--config names the file meant. D5: a missing postmortem file says nothing happened. D6: `amend ID '#2'`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from broadcaster.cli import main
from broadcaster.errors import InputError
from broadcaster.times import parse_time
from tests.conftest import Project

BERLIN = ZoneInfo("Europe/Berlin")
UTC_ZONE = ZoneInfo("UTC")


# -- A1: a time of day that has passed today ---------------------------------------------------------


@pytest.mark.parametrize(("now", "zone", "typed"), [
    (datetime(2026, 12, 4, 15, 21, tzinfo=UTC), UTC_ZONE, "15:11"),  # the review's: ten minutes ago
    (datetime(2026, 12, 4, 15, 37, tzinfo=UTC), BERLIN, "16:00"),  # meant as UTC on a Berlin page (16:37 CET)
    (datetime(2026, 12, 4, 15, 37, tzinfo=UTC), BERLIN, "15:00 UTC"),
    # 2026-10-25, 02:15 CET: both 02:10s of the repeated hour are past; the next is a day away.
    (datetime(2026, 10, 25, 1, 15, tzinfo=UTC), BERLIN, "02:10"),
], ids=["utc", "berlin", "forced-utc", "repeated-hour"])
@pytest.mark.parametrize("option", ["--next-update", "--etr"])
def test_a_promised_time_of_day_just_past_is_refused_not_taken_as_tomorrow(
    now: datetime, zone: ZoneInfo, typed: str, option: str
) -> None:
    with pytest.raises(InputError) as refused:
        parse_time(typed, now=now, zone=zone, option=option)
    said = str(refused.value)
    assert f"{option} {typed!r} has passed today" in said
    assert "give a date and time" in said and "Nothing was stored or sent" in said


@pytest.mark.parametrize(("now", "typed", "expected"), [
    (datetime(2026, 12, 4, 22, 0, tzinfo=UTC), "01:00", datetime(2026, 12, 5, 0, 0, tzinfo=UTC)),  # 23:00 CET: tonight
    (datetime(2026, 12, 4, 7, 0, tzinfo=UTC), "21:30", datetime(2026, 12, 4, 20, 30, tzinfo=UTC)),  # later today, 13.5 h
    (datetime(2026, 12, 4, 15, 0, tzinfo=UTC), "16:30", datetime(2026, 12, 4, 15, 30, tzinfo=UTC)),  # in half an hour
], ids=["tomorrow-within-12h", "today-beyond-12h", "soon"])
def test_a_promised_time_of_day_to_come_is_taken(now: datetime, typed: str, expected: datetime) -> None:
    assert parse_time(typed, now=now, zone=BERLIN, option="--next-update") == expected


@pytest.mark.parametrize("option", ["--start", "--expires"])
def test_a_maintenance_start_or_an_invite_expiry_may_be_tomorrows_time_of_day(option: str) -> None:
    """Planned for tomorrow morning is ordinary there; only promises to readers are refused."""
    now = datetime(2026, 12, 4, 14, 0, tzinfo=UTC)  # 15:00 CET
    assert parse_time("09:00", now=now, zone=BERLIN, option=option) == datetime(2026, 12, 5, 8, 0, tzinfo=UTC)


def test_post_refuses_a_next_update_that_has_just_passed_and_stores_nothing(project: Project) -> None:
    """The review's repro: `--next-update 15:11` at 15:21 was stored as tomorrow 15:11, never marked overdue."""
    local = datetime.now(BERLIN)  # the test config's [page] timezone
    typed = max(local - timedelta(minutes=10), local.replace(hour=0, minute=0, second=0, microsecond=0))
    result = project.cli("post", "--yes", "--only", "site", "--title", "Late promise", "--next-update",
                         f"{typed:%H:%M}", "Investigating.")
    assert result.exit_code == 2, result.output
    assert "has passed today" in result.stderr and "give a date and time" in result.stderr
    assert json.loads(project.cli("list", "--json").stdout) == []


# -- A1b: everyday durations ---------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "span"), [
    ("in 2h", timedelta(hours=2)), ("2 hours", timedelta(hours=2)), ("30 mins", timedelta(minutes=30)),
    ("1h30", timedelta(hours=1, minutes=30)), ("in 30 minutes", timedelta(minutes=30)),
    ("1 hour 30 min", timedelta(hours=1, minutes=30)), ("2d", timedelta(days=2)), ("2 days", timedelta(days=2)),
    ("1h30m", timedelta(hours=1, minutes=30)), ("30min", timedelta(minutes=30)),
])
def test_everyday_spellings_of_a_duration_are_taken(typed: str, span: timedelta) -> None:
    now = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
    assert parse_time(typed, now=now, zone=BERLIN, option="--next-update") == now + span


@pytest.mark.parametrize("typed", ["1530", "in", "1h5", "1h60", "2 hoursss", "30 ms"])
def test_what_is_not_a_duration_is_refused_naming_the_forms(typed: str) -> None:
    with pytest.raises(InputError, match=r"is not a time\. Use 30m, 2h, 1h30m, 2d, 15:30"):
        parse_time(typed, now=datetime(2026, 12, 4, 15, 0, tzinfo=UTC), zone=BERLIN, option="--etr")


# -- B3: a malformed feed token ------------------------------------------------------------------------

FEED_TOKEN_CONFIG = """
[audiences.acme]
name = "Acme Corp"
components = ["api"]
feed_token = "${ACME_FEED_TOKEN}"
"""


def test_a_malformed_feed_token_is_refused_before_anything_is_stored(project: Project) -> None:
    """It was found by the site's build after the update was stored (exit 3), advising `python -m secrets`."""
    project.write_config(FEED_TOKEN_CONFIG)
    project.env["ACME_FEED_TOKEN"] = "tooshort-42"
    result = project.cli("post", "--yes", "--title", "API", "-C", "api", "Errors.")
    assert result.exit_code == 2, result.output
    assert "audiences.acme.feed_token" in result.stderr and "${ACME_FEED_TOKEN}" in result.stderr
    assert "secrets.token_hex(24)" in result.stderr and "python -m secrets" not in result.stderr
    assert "tooshort-42" not in result.output
    assert json.loads(project.cli("list", "--json").stdout) == []
    project.env["ACME_FEED_TOKEN"] = "a" * 24
    assert project.cli("post", "--yes", "--title", "API", "-C", "api", "Errors.").exit_code == 0


# -- B4: a mistyped --config ---------------------------------------------------------------------------


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stderr


def test_a_mistyped_config_path_names_the_config_beside_it_and_offers_no_init(project: Project) -> None:
    typo = str(project.root / "broadcaster.tom")
    code, said = _run("--config", typo, "list")
    assert code == 2 and f"Did you mean {str(project.config)!r}?" in said and "broadcaster init" not in said
    code, said = _run("list", env={"BROADCASTER_CONFIG": typo})
    assert code == 2 and f"Did you mean {str(project.config)!r}?" in said and "broadcaster init" not in said


def test_a_config_path_in_a_folder_with_no_config_offers_init(tmp_path: Path) -> None:
    missing = str(tmp_path / "broadcaster.toml")
    code, said = _run("--config", missing, "list")
    assert code == 2 and f"broadcaster init {missing}" in said


# -- D5, D6: postmortem --file and amend '#2' ------------------------------------------------------------


def test_a_missing_postmortem_file_says_nothing_was_stored_and_names_the_file_beside_it(project: Project) -> None:
    posted = json.loads(project.cli("post", "--yes", "--json", "--only", "site", "--title", "T", "Errors.").stdout)
    incident = posted["incident_id"]
    assert project.cli("resolve", "--yes", "--only", "site", incident).exit_code == 0
    (project.root / "pm.md").write_text("# What happened\n", encoding="utf-8")
    result = project.cli("postmortem", "--yes", incident, "--file", str(project.root / "pm.mdx"))
    assert result.exit_code == 2
    assert "nothing was stored or sent" in result.stderr and repr(str(project.root / "pm.md")) in result.stderr


def test_amend_takes_the_update_number_as_every_output_writes_it(project: Project) -> None:
    posted = json.loads(project.cli("post", "--yes", "--json", "--only", "site", "--title", "T", "Errors.").stdout)
    incident = posted["incident_id"]
    amended = project.cli("amend", "--yes", "--json", "--only", "site", incident, "#1", "Errors on the API.")
    assert amended.exit_code == 0, amended.output
    shown = json.loads(project.cli("show", "--json", incident).stdout)
    assert [u["message"] for u in shown["updates"]] == ["Errors.", "Errors on the API."]
    wrong = project.cli("amend", "--yes", "--only", "site", incident, "x1", "Errors.")
    assert wrong.exit_code == 2 and "2 or #2" in wrong.stderr


def test_amend_help_says_what_private_does(project: Project) -> None:
    shown = " ".join(project.cli("amend", "--help").stdout.split())
    assert "Replace the update's private note" in shown


def test_a_huge_postmortem_file_or_message_input_is_refused_before_it_is_read_whole(project: Project) -> None:
    """Left alone last session: `--file` and `-` read everything before the size check, so a mistaken path (a log,
    `/dev/zero`) filled the memory before anything was said."""
    posted = json.loads(project.cli("post", "--yes", "--json", "--only", "site", "--title", "T", "Errors.").stdout)
    incident = posted["incident_id"]
    assert project.cli("resolve", "--yes", "--only", "site", incident).exit_code == 0
    huge = project.root / "huge.log"
    with huge.open("wb") as handle:
        handle.truncate(64 * 1024 * 1024)  # sparse: no disk used
    for source, stdin in ((str(huge), None), ("-", "x" * 1_000_000)):
        result = project.cli("postmortem", "--yes", incident, "--file", source, input=stdin)
        assert result.exit_code == 2 and "Is it the right file?" in result.stderr, result.output
        assert "at most 204,800 bytes" in result.stderr
    message = project.cli("post", "--yes", "--only", "site", "-i", incident, "-", input="y" * 1_000_000)
    assert message.exit_code == 2 and "at most 5,000 characters" in message.stderr, message.output
    assert [u["sequence"] for u in json.loads(project.cli("show", "--json", incident).stdout)["updates"]] == [1, 2]
    assert project.cli("postmortem", "--yes", "--only", "site", incident, "--file", "/dev/zero").exit_code == 2
