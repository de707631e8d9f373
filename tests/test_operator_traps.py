"""Issue 16's small untruths and traps, each through the CLI: previews that check what post checks, the whole
site preview, a taken port, promised times in the past, a quiet tick, files beside the config, the README example."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shutil
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from broadcaster.errors import InputError
from broadcaster.times import parse_time
from tests.conftest import ROOT, Project
from tests.fakes.world import FakeWorld


def test_preview_and_dry_run_refuse_missing_secrets_as_post_does(project: Project, world: FakeWorld) -> None:
    env: dict[str, str] = {"X_TOKEN": None}  # type: ignore[dict-item]  # CliRunner unsets it
    results = [project.cli(*args, "--title", "API errors", "Investigating.", env=env)
               for args in (["post", "--yes"], ["post", "--dry-run"], ["preview"])]
    assert {r.exit_code for r in results} == {2}
    assert len({r.stderr for r in results}) == 1 and "X_TOKEN" in results[0].stderr
    assert json.loads(project.cli("list", "--json").stdout) == []


def test_the_site_preview_shows_the_whole_entry(project: Project) -> None:
    shown = project.cli("preview", "--title", "API errors", "-C", "api=partial_outage", "--etr", "2h",
                        "--next-update", "30m", "Investigating.").stdout
    site = shown.split("site (public)")[1]
    assert "API errors · Investigating · impact minor" in site
    assert "Components: API partial outage" in site
    assert "Estimated recovery:" in site and "Next update by:" in site


def test_site_serve_on_a_taken_port_says_so(project: Project) -> None:
    assert project.cli("site", "build").exit_code == 0
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = project.cli("site", "serve", "--port", str(port))
    assert result.exit_code == 2 and f"port {port} is taken" in result.stderr and "--port" in result.stderr


@pytest.mark.parametrize("option", ["--next-update", "--etr"])
def test_a_promised_time_in_the_past_is_refused(project: Project, option: str) -> None:
    result = project.cli("post", "--yes", "--title", "API errors", option, "2026-01-01T10:00:00Z", "Investigating.")
    assert result.exit_code == 2 and f"{option} '2026-01-01T10:00:00Z' is in the past" in result.stderr
    assert json.loads(project.cli("list", "--json").stdout) == []


def test_tick_says_why_no_notice_can_come(project: Project) -> None:
    quiet = project.cli("tick").stdout
    assert "Nothing due." in quiet and 'visibility = "internal"' in quiet  # "private" is internal's old name (issue 15)


def test_tick_with_a_private_channel_just_says_nothing_is_due(project: Project, world: FakeWorld) -> None:
    assert project.cli("tick").stdout.strip() == "Nothing due."


def test_channels_check_never_promises_a_retry_it_does_not_make(project: Project) -> None:
    project.write_config('\n[channels.tg]\ntype = "telegram"\ntoken = "${TG}"\nchat_ids = ["@acme"]\n'
                         'api_url = "http://127.0.0.1:9"\n')
    result = project.cli("channels", "check", env={"TG": "1:abc"})
    assert result.exit_code == 3 and "could not connect" in result.output
    assert "retry" not in result.output.lower()


def test_init_keeps_the_state_folder_out_of_git_and_work_files_stay_in_it(tmp_path: Path) -> None:
    project = Project(tmp_path)
    assert project.cli("init", str(project.config)).exit_code == 0
    assert (tmp_path / ".broadcaster" / ".gitignore").read_text().splitlines()[-1] == "*"
    with project.config.open("a") as config:
        config.write('\n[publish.local]\ntype = "directory"\npath = "served"\n')
    for args in (["post", "--yes", "--title", "API errors", "Investigating."], ["site", "build"], ["tick"],
                 ["site", "publish"]):
        assert project.cli(*args).exit_code == 0, args
    assert sorted(p.name for p in tmp_path.iterdir()) == [".broadcaster", "broadcaster.toml", "public", "served"]


def readme_example() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return readme[readme.index("Day to day"):].split("```sh\n", 1)[1].split("```", 1)[0]


def test_the_readme_day_to_day_example_works_when_pasted(tmp_path: Path) -> None:
    """Run as a script in a terminal, answering yes to each confirmation, as an operator pasting it would."""
    # Not skipped when jq is missing: scripts/install-browser.sh installs it, so a miss is a setup bug.
    assert shutil.which("jq"), "jq is missing: run bash scripts/install-browser.sh (scripts/test.sh does)"
    script = tmp_path / "example.sh"
    script.write_text("set -e\n" + readme_example() + "broadcaster show \"$ID\" --json > shown.json\n", encoding="utf-8")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "TERM": "dumb"}
    env.pop("BROADCASTER_CONFIG", None)
    leader, follower = pty.openpty()
    process = subprocess.Popen(["bash", str(script)], stdin=follower, stdout=follower, stderr=follower, env=env,
                               cwd=tmp_path)
    os.close(follower)
    output = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            process.kill()
            break
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
        if re.search(rb"Publish now\? \[y/N\]: $", output):
            output += b"\n"
            os.write(leader, b"y\n")
    os.close(leader)
    assert process.wait(timeout=60) == 0, output.decode(errors="replace")
    shown = json.loads((tmp_path / "shown.json").read_text())
    assert [u["status"] for u in shown["updates"]] == ["investigating", "identified", "resolved"]


@pytest.mark.parametrize("option", ["--next-update", "--etr"])
def test_a_local_time_the_clocks_skip_is_refused_not_moved_an_hour(project: Project, option: str) -> None:
    """[page] timezone is Europe/Berlin: 02:30 on 2027-03-28 does not exist (clocks go from 02:00 to 03:00)."""
    result = project.cli("post", "--yes", "--title", "API errors", option, "2027-03-28T02:30", "Investigating.")
    assert result.exit_code == 2 and "does not exist in Europe/Berlin" in result.stderr, result.output
    assert json.loads(project.cli("list", "--json").stdout) == []
    window = project.cli("maintenance", "schedule", "--yes", "--title", "DB", "-C", "db",
                         "--start", "2027-03-28T02:30", "--end", "1h")
    assert window.exit_code == 2 and "does not exist in Europe/Berlin" in window.stderr


BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(("now", "typed", "expected"), [
    # 2026-10-25: clocks go back from 03:00 CEST to 02:00 CET, so 02:00-03:00 happens twice.
    (datetime(2026, 10, 25, 1, 15, tzinfo=UTC), "02:30", datetime(2026, 10, 25, 1, 30, tzinfo=UTC)),  # the 2nd 02:30
    # At 02:45 CEST the wall clock shows 02:30 again in 45 minutes (CET), not tomorrow.
    (datetime(2026, 10, 25, 0, 45, tzinfo=UTC), "02:30", datetime(2026, 10, 25, 1, 30, tzinfo=UTC)),
    # Tomorrow's only within 12 hours: a time just past is refused (tests/test_review_docs.py).
    (datetime(2026, 10, 25, 20, 15, tzinfo=UTC), "02:10", datetime(2026, 10, 26, 1, 10, tzinfo=UTC)),  # both past
    (datetime(2027, 3, 28, 20, 0, tzinfo=UTC), "02:30", datetime(2027, 3, 29, 0, 30, tzinfo=UTC)),  # skipped today: past
], ids=["second-occurrence", "again-after-the-first", "tomorrow", "after-the-skip"])
def test_a_clock_time_across_a_dst_change_is_the_next_one_to_come(now: datetime, typed: str, expected: datetime) -> None:
    """No clock seam in the CLI: parse_time is what every --etr, --next-update and --start goes through."""
    assert parse_time(typed, now=now, zone=BERLIN, option="--etr") == expected


def test_a_clock_time_both_of_whose_occurrences_are_to_come_is_refused() -> None:
    """At 02:10 CEST, 02:30 is 20 minutes away (CEST) or 80 (CET): as a date and time without offset, refused
    naming both (review 45a); it was the first, silently."""
    with pytest.raises(InputError, match=r"happens twice in Europe/Berlin.*02:30\+02:00.*02:30\+01:00"):
        parse_time("02:30", now=datetime(2026, 10, 25, 0, 10, tzinfo=UTC), zone=BERLIN, option="--etr")


def test_a_clock_time_skipped_tonight_is_refused() -> None:
    with pytest.raises(InputError, match="does not exist in Europe/Berlin"):
        parse_time("02:30", now=datetime(2027, 3, 28, 0, 10, tzinfo=UTC), zone=BERLIN, option="--etr")
