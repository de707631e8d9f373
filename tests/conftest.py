"""Shared fixtures: a project folder with a config, and ways to run the real CLI in it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner, Result

from broadcaster.cli import main

ROOT = Path(__file__).resolve().parent.parent

BASE_CONFIG = """
[page]
title = "Acme status"
base_url = "https://status.example.com/"
output_dir = "public"
timezone = "Europe/Berlin"

[[components]]
id = "api"
name = "API"
group = "Core"

[[components]]
id = "web"
name = "Website"
group = "Core"

[[components]]
id = "db"
name = "Database"
group = "Infrastructure"
"""


@dataclass
class Project:
    """A folder with broadcaster.toml; runs the CLI against it."""

    root: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def config(self) -> Path:
        return self.root / "broadcaster.toml"

    def write_config(self, extra: str = "", base: str = BASE_CONFIG) -> None:
        self.config.write_text(textwrap.dedent(base) + textwrap.dedent(extra), encoding="utf-8")

    def cli(self, *args: str, input: str | bytes | None = None, env: dict[str, str] | None = None) -> Result:
        """Run the CLI in-process (stdin/stdout are not terminals)."""
        runner = CliRunner()
        merged = {**self.env, **(env or {})}
        return runner.invoke(main, ["--config", str(self.config), *args], input=input, env=merged, catch_exceptions=False)

    def cli_json(self, *args: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        result = self.cli(*args, "--json", **kwargs)
        return result.exit_code, json.loads(result.stdout)

    def process(self, *args: str, env: dict[str, str] | None = None, **kwargs: Any) -> subprocess.Popen[str]:
        """Start the real ``broadcaster`` in its own process."""
        full_env = {**os.environ, **self.env, **(env or {})}
        full_env.pop("BROADCASTER_CONFIG", None)
        return subprocess.Popen(
            [sys.executable, "-m", "broadcaster", "--config", str(self.config), *args],
            cwd=self.root, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs,
        )

    @property
    def site(self) -> Path:
        return self.root / "public"

    def fresh_beside(self, root: Path) -> Project:
        """A new project at ``root`` with this one's config and environment, and no store yet: where an export of
        this one's store is imported."""
        fresh = Project(root, env=dict(self.env))
        fresh.root.mkdir()
        fresh.config.write_text(self.config.read_text(encoding="utf-8"), encoding="utf-8")
        return fresh


@contextmanager
def public_webhook(project: Project, config: str = "") -> Iterator[Any]:
    """``config``, then a signed public webhook channel ``pub`` on a FakeReceiver (what reached the public)."""
    from tests.fakes.webhook import SECRET, FakeReceiver

    hook = FakeReceiver().start()
    project.env["S"] = SECRET
    project.write_config(config + f'\n[channels.pub]\ntype = "webhook"\nurl = "{hook.hook_url}"\nsecret = "${{S}}"\n')
    try:
        yield hook
    finally:
        hook.stop()


# Incident ids carry the day (`api-errors-2026-12-05`), and pages their day's uptime: a test that posts twice
# and compares would see two days if midnight fell between. Midnight in UTC (ids, uptime) and in the test
# config's zone (dates in messages). No test starts in the last CLEAR_OF_MIDNIGHT seconds before either.
CLEAR_OF_MIDNIGHT = 45
DAY_ZONES = ("UTC", "Europe/Berlin")


def seconds_to_midnight(now: datetime, zone: str) -> float:
    local = now.astimezone(ZoneInfo(zone))
    next_day = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), ZoneInfo(zone))
    return (next_day - local).total_seconds()


@pytest.fixture(autouse=True)
def _clear_of_midnight() -> None:
    wait = min(seconds_to_midnight(datetime.now(UTC), zone) for zone in DAY_ZONES)
    if wait < CLEAR_OF_MIDNIGHT:
        print(f"conftest: waiting {wait + 1:.0f} s for midnight to pass before this test", file=sys.stderr)
        time.sleep(wait + 1)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.delenv("BROADCASTER_CONFIG", raising=False)
    monkeypatch.setenv("USER", "oncall")
    p = Project(tmp_path)
    p.write_config()
    return p


ENGINE = """
[engine]
timeout = 2
deadline = 20
max_attempts = 4
"""
# For tests of no timeout whose requests meet a loaded run (ten workers on two cores): at 2 s, a Matrix request, an
# amend's and a post's to a subscriber once each timed out in a full run, and the command exited 3.
UNHURRIED_ENGINE = ENGINE.replace("timeout = 2\n", "timeout = 10\n")


@pytest.fixture
def world(project: Project) -> Iterator[Any]:
    """The fake X, Telegram and Slack, with the project configured to use them."""
    from tests.fakes.world import FakeWorld

    with FakeWorld() as fakes:
        project.write_config(ENGINE + fakes.channels_toml())
        project.env.update(fakes.env)
        yield fakes


# The files that take longest (most of it waiting on paced fakes, races and child processes), in
# that order: scripts/test.sh keeps each file on one worker (--dist loadfile) and hands files out in
# collection order, so starting these first keeps one long file from running alone at the end.
# Collection order holds only with --no-loadscope-reorder (pytest-xdist 3.8; scripts/test.sh passes it): by
# default pytest-xdist hands a loadfile run's files out by their number of tests, most first, and so the long
# files of few tests (test_s3_stop_bounded.py's 2 tests, 40 s of waiting on deadlines)
# went out last and ran alone at the end. Ranked by each file's wall time on its worker in a full run with ten workers
# (2026-12-08, `-p bench.suite_cpu`: the 48 longest, 32-156 s); the rest follow in collection order.
LONGEST_FIRST = (
    "test_hosts_s3.py", "test_lifecycle.py", "test_env_proxy.py", "test_delivery.py", "test_fix20_names.py",
    "test_two_publishers.py", "test_review65e.py", "test_restored_store.py", "test_review65a.py",
    "test_fix25_staff_labels.py", "test_delivery_states.py", "test_telegram.py", "test_review62a.py",
    "test_fix20_parts.py", "test_fix21n2_deadline.py", "test_review61i.py", "test_subscribers.py", "test_browser.py",
    "test_narrow_incidents.py", "test_site_parallel.py", "test_bench_smoke.py", "test_startup.py",
    "test_review36b.py", "test_interrupted_send.py", "test_team_mode.py", "test_team_advice.py",
    "test_fix20g_names.py", "test_review19_tick.py", "test_s3_foreign_files.py", "test_bot_chat.py",
    "test_s3_stop_bounded.py", "test_own_words_kept.py", "test_review_secrets.py", "test_review65c.py",
    "test_s3_deadline.py", "test_review33a.py", "test_secrets_echo.py", "test_review65b.py", "test_withdraw_edges.py",
    "test_review61c.py", "test_s3_replace_ahead.py", "test_concurrency.py", "test_site.py", "test_fix20_operator.py",
    "test_browser_language.py", "test_review63a.py", "test_publish_e2e.py", "test_site_compiled_templates.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: n for n, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their order
