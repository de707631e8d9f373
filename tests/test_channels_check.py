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
