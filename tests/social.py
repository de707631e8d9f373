"""Shared set-up for the Mastodon and Bluesky tests: updates, views and a project using both fakes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from broadcaster.channels.base import Channel
from broadcaster.messages.model import AffectedComponent, ComponentStatus, Impact, Incident, Status, Update
from broadcaster.messages.visibility import UpdateView, public_view

from broadcaster.delivery import CheckResult, Receipt, Rendered, SendLog, ThreadRef
from tests.conftest import Project
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.mastodon import FakeMastodon

T0 = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)
URL = "https://status.example.com/incidents/inc-1.html"
API = (AffectedComponent("api", ComponentStatus.PARTIAL_OUTAGE),)
M_TOKEN = "mastodon-SeCrEt-token-4f1a"
B_PASSWORD = "bsky-app-SeCrEt-9c2d"


def incident(title: str = "API errors") -> Incident:
    return Incident("inc-1", title, Impact.MAJOR, Status.INVESTIGATING, T0, components=API)


def update(sequence: int = 1, message: str = "We are looking into it.", status: Status = Status.INVESTIGATING,
           **kw: Any) -> Update:
    kw.setdefault("components", API)
    return Update("inc-1", sequence, T0 + timedelta(minutes=sequence), status, message, **kw)


def view(upd: Update | None = None, *, title: str = "API errors", url: str = URL) -> UpdateView:
    return public_view(incident(title), upd or update(), url=url)


async def sent(ch: Channel, rendered: Rendered, thread: ThreadRef | None = None, log: SendLog | None = None) -> Receipt:
    """One send as one CLI invocation makes it: the channel's clients closed after."""
    try:
        return await ch.send(rendered, target="", thread=thread, log=log)
    finally:
        await ch.aclose()


async def edited(ch: Channel, rendered: Rendered, remote_id: str) -> Receipt:
    try:
        return await ch.edit(rendered, target="", remote_id=remote_id)
    finally:
        await ch.aclose()


async def deleted(ch: Channel, remote_ids: list[str]) -> Receipt:
    try:
        return await ch.delete(remote_ids, target="")
    finally:
        await ch.aclose()


async def checked(ch: Channel) -> list[CheckResult]:
    try:
        return await ch.check()
    finally:
        await ch.aclose()


@dataclass
class Social:
    """A project whose config has a ``masto`` and a ``sky`` channel on the fakes."""

    project: Project
    mastodon: FakeMastodon
    bluesky: FakeBluesky

    def post(self, *args: str) -> tuple[int, dict[str, Any]]:
        result = self.project.cli("post", "--yes", "--json", *args)
        assert result.stdout, result.stderr
        return result.exit_code, json.loads(result.stdout)

    def states(self, payload: dict[str, Any]) -> dict[str, str]:
        return {d["destination"]: d["state"] for d in payload["deliveries"] if d["destination"] != "site"}


def social_project(project: Project, mastodon: FakeMastodon, bluesky: FakeBluesky) -> Iterator[Social]:
    # A roomier timeout than conftest's ENGINE: atproto's first import takes seconds on a busy machine.
    project.write_config(f"""
        [engine]
        timeout = 10
        deadline = 40
        max_attempts = 4

        [channels.masto]
        type = "mastodon"
        instance_url = "https://mastodon.example"
        access_token = "${{MASTODON_TOKEN}}"
        api_url = "{mastodon.url}"

        [channels.sky]
        type = "bluesky"
        handle = "acme.bsky.social"
        app_password = "${{BSKY_PASSWORD}}"
        api_url = "{bluesky.url}"
    """)
    project.env.update({"MASTODON_TOKEN": M_TOKEN, "BSKY_PASSWORD": B_PASSWORD})
    yield Social(project, mastodon, bluesky)
