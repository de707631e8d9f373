"""Private notices the tool raises by itself: an SLA breached, a promised update overdue.

A notice is an update of kind ``notice``: stored like any other, delivered only
to private channels, never shown on the page or in the feeds. Each is raised at
most once, keyed in ``Update.extra`` (an SLA breach once per component and
month, an overdue reminder once per promised update).
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from broadcaster.config import Config
from broadcaster.destinations import destinations, plan
from broadcaster.store import Store
from broadcaster.times import format_time
from messages.model import Incident, Update
from messages.uptime import month_start, month_to_date, outages
from messages.visibility import PRIVATE_KINDS, public_incident


@contextmanager
def notice_lock(config: Config) -> Iterator[None]:
    """One process at a time decides which notices are due, so none is raised twice."""
    path = config.store_path.parent / ".notices.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def has_private_channels(config: Config) -> bool:
    return any(c.visibility == "private" for c in config.channels.values())


def _raised(updates: list[Update], **key: str) -> bool:
    return any(
        u.kind == "notice" and all(u.extra.get(name) == value for name, value in key.items()) for u in updates
    )


def _record(config: Config, store: Store, incident: Incident, message: str, now: datetime, components: set[str], **key: str) -> Update:
    notice = Update(incident.id, 0, now, incident.status, message, kind="notice", extra=dict(key), author="broadcaster")
    planned = plan(destinations(config), components, private_only=True)
    _, stored = store.record_update(incident, notice, planned, new=False)
    return stored


def record_sla_breaches(config: Config, store: Store, now: datetime) -> list[Update]:
    """A notice for each component whose availability this month fell below its ``sla``."""
    watched = [c for c in config.components if c.sla is not None]
    if not watched or not has_private_channels(config):
        return []
    month = f"{now:%Y-%m}"
    raised = []
    with notice_lock(config):
        history = store.site_incidents(month_start(now))
        views = {i.id: public_incident(i, [u for u in ups if u.kind not in PRIVATE_KINDS]) for i, ups in history}
        found = outages(views.values(), now)
        all_updates = [u for _, ups in history for u in ups]
        for entry in watched:
            component = entry.component
            measured = month_to_date(found, component.id, now)
            if measured >= entry.sla or _raised(all_updates, notice="sla_breach", component=component.id, month=month):  # type: ignore[operator]
                continue
            # The notice joins the latest incident that took the component down.
            culprits = [i for i, _ in history if any(o.component_id == component.id for o in outages([views[i.id]], now))]
            incident = max(culprits, key=lambda i: i.created_at)
            message = (
                f"SLA breach: {component.name} availability this month is {measured:.3f}%, "
                f"below its {entry.sla:g}% target. Customers with an SLA on {component.name} may be owed credits."
            )
            raised.append(_record(config, store, incident, message, now, {component.id}, notice="sla_breach", component=component.id, month=month))
    return raised


def record_overdue(config: Config, store: Store, now: datetime) -> list[Update]:
    """A notice for each open incident whose promised next update is late."""
    if not has_private_channels(config):
        return []
    raised = []
    with notice_lock(config):
        for incident in store.list_incidents(limit=1000):
            if not incident.is_open:
                continue
            updates = store.updates(incident.id)
            published = [u for u in updates if u.kind not in PRIVATE_KINDS]
            last = published[-1] if published else None
            if last is None or last.next_update_by is None or last.next_update_by > now:
                continue
            if _raised(updates, notice="overdue", of=str(last.sequence)):
                continue
            late = int((now - last.next_update_by).total_seconds() // 60)
            message = (
                f"Overdue: the update promised by {format_time(last.next_update_by, config.page.zone)} for "
                f"\"{incident.title}\" ({incident.id}) has not been posted ({late} min late). "
                f"Post one: broadcaster post -i {incident.id} \"...\""
            )
            components = {c.id for c in incident.components}
            raised.append(_record(config, store, incident, message, now, components, notice="overdue", of=str(last.sequence)))
    return raised
