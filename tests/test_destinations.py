"""The Destination protocol: every place an update goes implements it, and the engine knows nothing else.

Structural tests (the engine's shape) next to one behavioural check per fact
the engine schedules by, read through the protocol alone.
"""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path
from typing import Any

import pytest

from broadcaster import registry
from broadcaster.config import Config
from broadcaster.config_loader import parse
from broadcaster.destination import Destination
from broadcaster.destinations import ChannelDestination, destinations, plan, publish_targets, remote_destinations
from broadcaster.errors import InputError
from tests.sources import parse_file

ROOT = Path(__file__).resolve().parents[1]
ENV = {"X_TOKEN": "x-secret-token-value", "TG_TOKEN": "123:tg-secret-token", "SLACK_TOKEN": "xoxb-slack-secret",
       "MASTODON_TOKEN": "m-secret-token", "BSKY_PASSWORD": "bsky-secret-pass",
       "DISCORD_URL": "https://discord.com/api/webhooks/123456789012345678/" + "t" * 68,
       "TEAMS_URL": "https://prod-00.westus.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?sv=1.0&sig=s1g",
       "HOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "MATRIX_TOKEN": "syt_matrix_secret"}
CHANNEL_TABLES: dict[str, dict[str, Any]] = {
    "twitter": {"bearer_token": "${X_TOKEN}"},
    "telegram": {"token": "${TG_TOKEN}", "chat_ids": ["@acmestatus", -1001]},
    "slack": {"token": "${SLACK_TOKEN}", "channel": "C0123ABCD", "visibility": "private", "components": ["db"]},
    "mastodon": {"instance_url": "https://mastodon.example", "access_token": "${MASTODON_TOKEN}"},
    "bluesky": {"handle": "acme.bsky.social", "app_password": "${BSKY_PASSWORD}"},
    "discord": {"webhook_url": "${DISCORD_URL}", "thread_id": "1234567890123"},
    "teams": {"webhook_url": "${TEAMS_URL}", "visibility": "private"},
    "webhook": {"url": "https://hooks.example.com/status", "secret": "${HOOK_SECRET}", "headers": {"X-Tenant": "acme"}},
    "matrix": {"homeserver": "https://matrix.example.org", "access_token": "${MATRIX_TOKEN}", "room_id": "!AbC:example.org"},
    "email": {"host": "smtp.example.com", "from": "status@example.com", "to": ["a@example.com", "b@example.com"]},
}
HOST_TABLES: dict[str, dict[str, Any]] = {
    "directory": {"path": "mirror"},
    "git": {"remote": "file:///nowhere.git", "branch": "pages"},
    "s3": {"bucket": "status-bucket"},
}


def config(tmp_path: Path) -> Config:
    assert set(registry.channel_types()) == set(CHANNEL_TABLES), "add the new channel type to CHANNEL_TABLES"
    assert set(registry.host_types()) == set(HOST_TABLES), "add the new host type to HOST_TABLES"
    return parse({
        "page": {"title": "Acme"},
        "components": [{"id": "api", "name": "API"}, {"id": "db", "name": "DB"}],
        "engine": {"timeout": 7},
        "channels": {t: {"type": t, **table} for t, table in CHANNEL_TABLES.items()},
        "publish": {t: {"type": t, **table} for t, table in HOST_TABLES.items()},
    }, tmp_path / "broadcaster.toml", ENV)


def test_the_site_every_host_and_every_channel_are_destinations(tmp_path: Path) -> None:
    found = destinations(config(tmp_path))
    assert list(found) == ["site", *HOST_TABLES, *CHANNEL_TABLES]
    for name, destination in found.items():
        assert isinstance(destination, Destination), name
        assert destination.name == name
        assert destination.request_timeout == 7  # [engine] timeout, declared, not patched in later
        if isinstance(destination, ChannelDestination):  # and the channel it makes waits that long per request
            assert vars(destination.channel)["request_timeout"] == 7


def test_the_facts_the_engine_schedules_by(tmp_path: Path) -> None:
    found = destinations(config(tmp_path))
    whole_site = [found["site"], *(found[t] for t in HOST_TABLES)]
    channels = [found[t] for t in CHANNEL_TABLES]
    assert all(d.idempotent and not d.ordered and not d.sends_rendered and not d.can_edit for d in whole_site)
    assert all(not d.idempotent and d.ordered and d.sends_rendered for d in channels)
    assert found["telegram"].targets() == ("@acmestatus", "-1001")
    assert found["slack"].can_edit and not found["twitter"].can_edit
    assert found["discord"].can_edit and found["webhook"].can_edit and not found["teams"].can_edit
    assert found["matrix"].can_edit and not found["email"].can_edit
    assert found["email"].targets() == ("a@example.com", "b@example.com")  # a delivery record per address


def test_the_plan_reads_subscriptions_through_the_protocol(tmp_path: Path) -> None:
    planned = {(p.destination, p.target): (p.state, p.reason) for p in plan(destinations(config(tmp_path)), {"api"})}
    assert planned[("slack", "")] == ("skipped", "subscribed only to db")
    assert planned[("site", "")] == planned[("s3", "")] == ("pending", "")
    assert planned[("telegram", "-1001")] == ("pending", "")


def test_the_site_and_hosts_have_no_posts_to_name(tmp_path: Path) -> None:
    found = destinations(config(tmp_path))
    for name in ("site", "s3"):
        with pytest.raises(InputError, match="is not a channel"):
            found[name].remote_id_from("https://x.com/acme/status/1", "")
    assert [d.name for d in remote_destinations(config(tmp_path))] == [*HOST_TABLES, *CHANNEL_TABLES]
    assert [d.name for d in publish_targets(config(tmp_path))] == list(HOST_TABLES)


def test_closing_a_channel_never_built_builds_nothing(tmp_path: Path) -> None:
    channel = destinations(config(tmp_path))["slack"]
    asyncio.run(channel.close())
    assert channel.secret_values() == []  # a built one would name its token
    assert channel.targets() and channel.secret_values() == ["xoxb-slack-secret"]


def _module(path: str) -> ast.Module:
    return parse_file(ROOT / path)


@pytest.mark.parametrize("path", ["broadcaster/engine.py", "broadcaster/destinations.py",
                                  *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "broadcaster" / "operations").glob("*.py")),
                                  *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "broadcaster" / "cli").glob("*.py"))])
def test_the_engine_asks_no_destination_its_kind(path: str) -> None:
    kinds = {"channel", "site", "host"}
    for node in ast.walk(_module(path)):
        if isinstance(node, ast.Compare):
            compared = [node.left, *node.comparators]
            assert not any(isinstance(c, ast.Constant) and c.value in kinds for c in compared), ast.unparse(node)
        if isinstance(node, ast.Attribute) and node.attr in ("kind", "channel", "host"):
            assert "destination" not in ast.unparse(node.value), ast.unparse(node)


def test_the_engine_imports_no_channel_and_no_site_builder() -> None:
    imported = set()
    for node in ast.walk(_module("broadcaster/engine.py")):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
    assert not [m for m in imported if m.startswith("broadcaster.channels")]
    assert [m for m in imported if m.startswith("broadcaster.site")] == ["broadcaster.site.links"]
