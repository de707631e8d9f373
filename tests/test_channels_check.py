"""`broadcaster channels check` verifies every channel through the real SDKs without posting anything;
`broadcaster site serve` serves the built page."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request

from tests.conftest import Project
from tests.fakes.world import FakeWorld


def test_check_reports_every_channel_and_posts_nothing(project: Project) -> None:
    with FakeWorld() as world:
        project.write_config(world.channels_toml())
        result = project.cli("channels", "check", env=world.env)
        assert result.exit_code == 0, result.stdout
        for name in ("x", "tg-public", "tg-ops", "slack-acme"):
            assert name in result.stdout
        assert "FAIL" not in result.stdout
        assert world.x.tweets == [] and world.slack_messages() == []
        assert all(world.telegram_messages(chat) == [] for chat in ("@acmestatus", -1001001))


def test_check_says_what_to_fix_and_exits_3(project: Project) -> None:
    with FakeWorld() as world:
        project.write_config(world.channels_toml())
        env = {**world.env, "SLACK_TOKEN": "xoxb-wrong-token-000"}
        result = project.cli("channels", "check", env=env)
        assert result.exit_code == 3
        line = next(line for line in result.stdout.splitlines() if "slack-acme" in line and "FAIL" in line)
        assert "token" in line.lower()
        assert "xoxb-wrong-token-000" not in result.stdout


def test_site_serve_serves_the_built_page(project: Project) -> None:
    assert project.cli("post", "--yes", "--title", "API errors", "Elevated errors.").exit_code == 0
    process = subprocess.Popen([sys.executable, "-m", "broadcaster", "--config", str(project.config), "site", "serve", "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # "Serving ... at http://127.0.0.1:PORT/ ..."
        url = line.split(" at ")[1].split()[0]
        deadline = time.monotonic() + 10
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    assert "Elevated errors." in response.read().decode()
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
    finally:
        process.terminate()
        process.communicate(timeout=10)  # reaps it and closes the pipes


def test_one_chat_written_two_ways_in_a_public_and_a_private_table_fails_the_check(project: Project) -> None:
    """The loader cannot tell @acmestatus from its numeric id, nor #acme-status from C0123ABCD; check can."""
    with FakeWorld() as world:
        chat_id = world.telegram.chat("@acmestatus").id
        toml = world.channels_toml().replace("chat_ids = [-1001001, -1001002]", f"chat_ids = [-1001001, {chat_id}]")
        toml += f"""
[channels.slack-public]
type = "slack"
token = "${{SLACK_TOKEN}}"
channel = "#acme-status"
api_url = "{world.slack.url}/api/"
"""
        project.write_config(toml)
        result = project.cli("channels", "check", env=world.env)
        assert result.exit_code == 3
        failures = [" ".join(row.split()) for row in result.stdout.split("FAIL")[1:]]
        assert len(failures) == 2 and all("cannot be both" in row for row in failures), result.stdout
        telegram, slack = sorted(failures, key=lambda row: "slack" in row)
        assert "[channels.tg-public] (public) as @acmestatus" in telegram and f"[channels.tg-ops] (internal) as {chat_id}" in telegram
        assert "[channels.slack-acme] (internal) as C0123ABCD" in slack and "[channels.slack-public] (public)" in slack


def test_one_chat_listed_public_and_private_is_refused_before_anything_is_stored(project: Project) -> None:
    with FakeWorld() as world:
        project.write_config(world.channels_toml().replace("chat_ids = [-1001001, -1001002]",
                                                           'chat_ids = [-1001001, "@AcmeStatus"]'))
        result = project.cli("post", "--yes", "--title", "API errors", "--private", "edge fra-2", "Errors.", env=world.env)
        assert result.exit_code == 2
        assert "channels.tg-ops" in result.stderr and "[channels.tg-public]" in result.stderr
        assert "cannot be both" in result.stderr
        assert world.telegram.requests == [] and world.x.tweets == [] and world.slack.requests == []
        assert not (project.root / ".broadcaster" / "state.db").exists()
