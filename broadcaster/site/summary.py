"""summary.json: the Atlassian Statuspage ``/api/v2/summary.json`` shape.

Widgets, dashboards and status aggregators already read that format, so we
write the same keys with the same meanings (a component's ``group`` is a
boolean that marks group entries; members point at their group through
``group_id``). Fields Statuspage has and we cannot know are left out rather
than invented. Incident update bodies are the public text (markdown source);
consumers must escape them, as they must Statuspage's.

Two things Statuspage's summary does not have, under names that cannot clash
with its own: each component's ``uptime_90d`` (percent, from the uptime bars;
null when not computed), and, as on Statuspage's incident objects,
``postmortem_body``/``postmortem_published_at``/``postmortem_body_last_updated_at``
(null without a postmortem; the postmortem is not one of ``incident_updates``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from broadcaster.config import ComponentConfig, PageConfig
from broadcaster.messages.model import ComponentStatus, Status
from broadcaster.messages.uptime import DayUptime
from broadcaster.messages.visibility import PublicIncident
from broadcaster.site import status as st
from broadcaster.site.fragments import Names
from broadcaster.site.pages import group_components, incident_path
from broadcaster.site.uptime import UptimeBar, bars, json_percent

GROUP_ID_PREFIX = "group:"  # ':' cannot occur in a component id, so a group id never clashes


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "status"


def _page(page: PageConfig, updated: datetime) -> dict[str, Any]:
    return {
        "id": _slug(page.title),
        "name": page.title,
        "url": page.base_url,
        "time_zone": page.timezone,
        "updated_at": st.iso(updated),
    }


def _component_times(incidents: Sequence[PublicIncident]) -> dict[str, datetime]:
    """A component's ``updated_at``: the last change of any incident that names it."""
    times: dict[str, datetime] = {}
    for incident in incidents:
        at = st.last_changed(incident)
        named = {c.id for c in incident.header.components}
        named.update(c.id for u in incident.updates for c in u.components)
        for component_id in named:
            times[component_id] = max(at, times.get(component_id, at))
    return times


def _components(
    components: Sequence[ComponentConfig],
    statuses: dict[str, ComponentStatus],
    changed: dict[str, datetime],
    fallback: datetime,
    uptime: dict[str, UptimeBar],
    page_id: str,
) -> list[dict[str, Any]]:
    """In the page's order: ungrouped components, then each group followed by its members."""
    rows: list[dict[str, Any]] = []
    for group in group_components(components, statuses):
        group_id = GROUP_ID_PREFIX + group.name if group.name else None
        if group_id:
            ids = [row.component.id for row in group.rows]
            newest = max((changed.get(i, fallback) for i in ids), default=fallback)
            entry = _component(
                group_id, group.name, group.status, "", len(rows) + 1, newest, group_id=None, page_id=page_id
            )
            rows.append({**entry, "group": True, "components": ids})
        for row in group.rows:
            component = row.component
            entry = _component(
                component.id,
                component.name,
                row.status,
                component.description,
                len(rows) + 1,
                changed.get(component.id, fallback),
                group_id=group_id,
                page_id=page_id,
            )
            bar = uptime.get(component.id)
            entry["uptime_90d"] = json_percent(bar.percent) if bar and bar.percent is not None else None
            rows.append(entry)
    return rows


def _component(
    component_id: str,
    name: str,
    status: ComponentStatus,
    description: str,
    position: int,
    updated: datetime,
    *,
    group_id: str | None,
    page_id: str,
) -> dict[str, Any]:
    return {
        "id": component_id,
        "page_id": page_id,
        "name": name,
        "status": status.value,
        "description": description or None,
        "group": False,
        "group_id": group_id,
        "position": position,
        "showcase": True,
        "only_show_if_degraded": False,
        "updated_at": st.iso(updated),
    }


def _updates(incident: PublicIncident, names: Names) -> list[dict[str, Any]]:
    """Newest first, as Statuspage lists them; old_status comes from the previous mention."""
    rows = []
    known: dict[str, ComponentStatus] = {}
    for update in incident.updates:
        if update.kind == st.POSTMORTEM:
            continue  # on the incident itself, as Statuspage has it
        affected = []
        for component in update.components:
            old = known.get(component.id, ComponentStatus.OPERATIONAL)
            known[component.id] = component.status
            affected.append(
                {
                    "code": component.id,
                    "name": names(component.id),
                    "old_status": old.value,
                    "new_status": component.status.value,
                }
            )
        at = st.iso(update.created_at)
        rows.append(
            {
                # The number readers see ("api-errors-3"; a postmortem "...-postmortem-1"), never the store's
                # sequence, whose gaps would tell of notices and of updates kept from the public.
                "id": f"{incident.header.id}-{update.anchor.removeprefix('update-')}",
                "incident_id": incident.header.id,
                "status": update.status.value,
                "body": update.message,
                "created_at": at,
                "updated_at": st.iso(st.changed_at(update)),
                "display_at": at,
                "affected_components": affected,
            }
        )
    return rows[::-1]


def _first_time(incident: PublicIncident, status: Status) -> str | None:
    return next((st.iso(u.created_at) for u in incident.updates if u.status == status), None)


def _incident(
    page: PageConfig, incident: PublicIncident, names: Names, components: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    header = incident.header
    maintenance = st.is_maintenance(header)
    row: dict[str, Any] = {
        "id": header.id,
        "name": header.title,
        "status": header.status.value,
        "impact": "maintenance" if maintenance else header.impact.value,
        "created_at": st.iso(header.created_at),
        "updated_at": st.iso(st.last_changed(incident)),
        "started_at": st.iso(st.started_at(header)),
        "monitoring_at": _first_time(incident, Status.MONITORING),
        "resolved_at": st.iso(header.resolved_at),
        "shortlink": page.base_url + incident_path(header.id),
        "page_id": _slug(page.title),
        "components": [components[c.id] for c in header.components if c.id in components],
        "incident_updates": _updates(incident, names),
    }
    postmortem = st.postmortem(incident)
    row["postmortem_body"] = postmortem.message if postmortem else None
    row["postmortem_published_at"] = st.iso(postmortem.created_at) if postmortem else None
    row["postmortem_body_last_updated_at"] = (
        st.iso(st.changed_at(postmortem)) if postmortem else None
    )
    if maintenance:
        row["scheduled_for"] = st.iso(header.scheduled_start)
        row["scheduled_until"] = st.iso(header.scheduled_end)
    return row


@dataclass(frozen=True)
class Statuspage:
    """The Statuspage objects of one build, cut once: every api/v2 file is a selection of these."""

    page: dict[str, Any]
    status: dict[str, str]
    components: list[dict[str, Any]]
    # Every incident and maintenance shown, as (incident, its Statuspage object), by start.
    incidents: list[tuple[PublicIncident, dict[str, Any]]]
    # Closed ones older than the page's history, the same way (listed by incidents.json and
    # scheduled-maintenances.json only).
    archive: list[tuple[PublicIncident, dict[str, Any]]] = field(default_factory=list)


def statuspage(
    page: PageConfig,
    components: Sequence[ComponentConfig],
    incidents: Sequence[PublicIncident],
    now: datetime,
    uptime: Mapping[str, Sequence[DayUptime]] | None = None,
    *,
    archive: Sequence[PublicIncident] = (),
) -> Statuspage:
    """The page, status, component and incident objects for ``incidents`` (open or recently closed),
    and the incident objects of ``archive`` (closed before the page's history: they decide nothing)."""
    statuses = st.component_statuses((c.component.id for c in components), incidents, now)
    # A quiet page is dated by the newest change it showed before (archived), never by the clock.
    updated = st.updated_at(incidents, quiet=st.updated_at(archive))
    overall = st.overall(incidents, statuses, now)
    component_rows = _components(
        components,
        statuses,
        _component_times(incidents),
        updated,
        bars(components, uptime or {}, now),
        _slug(page.title),
    )
    by_id = {row["id"]: row for row in component_rows}
    names = Names(components)
    def rows(chosen: Sequence[PublicIncident]) -> list[tuple[PublicIncident, dict[str, Any]]]:
        ordered = sorted(chosen, key=st.start_order)
        return [(i, _incident(page, i, names, by_id)) for i in ordered]

    return Statuspage(
        page=_page(page, updated),
        status={"indicator": overall.indicator, "description": overall.description},
        components=component_rows,
        incidents=rows(incidents),
        archive=rows(archive),
    )


def summary_document(view: Statuspage) -> dict[str, Any]:
    """Statuspage's summary: the status, every component, open incidents and open maintenance."""
    return {
        "page": view.page,
        "status": view.status,
        "components": view.components,
        "incidents": [row for i, row in view.incidents if _open(i) and not st.is_maintenance(i.header)],
        "scheduled_maintenances": [row for i, row in view.incidents if _open(i) and st.is_maintenance(i.header)],
    }


def _open(incident: PublicIncident) -> bool:
    return not incident.header.status.is_closed


def encode(document: dict[str, Any]) -> bytes:
    """Pretty JSON; '<', '>' and '&' escaped so the file is inert even if pasted into HTML."""
    text = json.dumps(document, indent=2, ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return (text + "\n").encode("utf-8")
