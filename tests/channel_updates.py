"""An incident and its updates as the channel tests build them: one place for the Matrix and email tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from broadcaster.messages.model import AffectedComponent, ComponentStatus, Impact, Incident, Status, Update
from broadcaster.messages.visibility import UpdateView, private_view, public_view

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
URL = "https://status.example.com/incidents/inc-1.html"
API = (AffectedComponent("api", ComponentStatus.PARTIAL_OUTAGE),)


def incident(title: str = "API errors") -> Incident:
    return Incident("inc-1", title, Impact.MAJOR, Status.INVESTIGATING, T0, components=API)


def update(sequence: int = 1, status: Status = Status.INVESTIGATING, message: str = "We are looking into it.",
           **kw: Any) -> Update:
    kw.setdefault("components", API)
    return Update("inc-1", sequence, T0 + timedelta(minutes=sequence), status, message, **kw)


def view(upd: Update, *, private: bool = False, inc: Incident | None = None) -> UpdateView:
    return (private_view if private else public_view)(inc or incident(), upd, url=URL)
