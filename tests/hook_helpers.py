"""Updates and views for the webhook-style channel tests (Discord, Teams, signed webhooks)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from broadcaster.channels.base import Channel
from broadcaster.messages.model import AffectedComponent, ComponentStatus, Impact, Incident, Status, Update
from broadcaster.messages.visibility import UpdateView, corrected_sequence, private_view, public_view

from broadcaster.delivery import CheckResult, Receipt, SendLog, ThreadRef

T0 = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)
URL = "https://status.example.com/incidents/api-errors.html"
API = (AffectedComponent("api", ComponentStatus.PARTIAL_OUTAGE),)


def incident(title: str = "API errors", impact: Impact = Impact.MAJOR) -> Incident:
    return Incident("api-errors", title, impact, Status.INVESTIGATING, T0, components=API)


def update(sequence: int = 1, message: str = "We are looking into it.", status: Status = Status.INVESTIGATING,
           **kw: Any) -> Update:
    kw.setdefault("components", API)
    return Update("api-errors", sequence, T0 + timedelta(minutes=sequence), status, message, **kw)


def view(upd: Update | None = None, *, private: bool = False, inc: Incident | None = None) -> UpdateView:
    """The view the engine cuts, keyed as where nothing was kept from its readers: by the store's sequences."""
    cut = private_view if private else public_view
    upd = upd or update()
    return replace(cut(inc or incident(), upd, url=URL), key=upd.sequence, corrects_key=corrected_sequence(upd))


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


def send_once(channel: Channel, v: UpdateView, thread: ThreadRef | None = None, log: SendLog | None = None) -> Receipt:
    """One CLI invocation's send: a fresh event loop, the channel closed after."""
    async def go() -> Receipt:
        try:
            return await channel.send(channel.render(v), target="", thread=thread, log=log)
        finally:
            await channel.aclose()
    return run(go())  # type: ignore[no-any-return]


def edit_once(channel: Channel, v: UpdateView, remote_id: str) -> Receipt:
    async def go() -> Receipt:
        try:
            return await channel.edit(channel.render(v), target="", remote_id=remote_id)
        finally:
            await channel.aclose()
    return run(go())  # type: ignore[no-any-return]


def check_once(channel: Channel) -> list[CheckResult]:
    async def go() -> list[CheckResult]:
        try:
            return await channel.check()
        finally:
            await channel.aclose()
    return run(go())  # type: ignore[no-any-return]


def delete_once(channel: Channel, remote_ids: list[str]) -> Receipt:
    """One withdrawal's delete at one target, as one CLI invocation makes it."""
    async def go() -> Receipt:
        try:
            return await channel.delete(remote_ids, target="")
        finally:
            await channel.aclose()
    return run(go())  # type: ignore[no-any-return]
