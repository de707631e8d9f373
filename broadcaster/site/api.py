"""Atlassian Statuspage's public API v2, as static files under ``api/v2/``.

Exporters, chat bots and dashboards already read Statuspage's API: they work
against our page unchanged. Every file is a selection of the same objects
(``summary.statuspage``), one function per shape, so two files can never tell
a different story; the root ``summary.json`` is byte for byte
``api/v2/summary.json``.

The selections follow Atlassian's documentation:

* ``incidents/unresolved.json``: incidents not yet resolved (the summary's);
* ``incidents.json``: the 50 most recent incidents, resolved ones included, newest first;
* ``scheduled-maintenances/upcoming.json``: windows still in the ``scheduled`` state;
* ``scheduled-maintenances/active.json``: windows ``in_progress`` or ``verifying``;
* ``scheduled-maintenances.json``: the 50 most recent windows, completed ones included.

"Most recent" is by start (a window's scheduled start, else when it opened)
among every incident the store holds: the page shows the open ones and those
closed within ``[page] history_days``, and the builder adds the 50 most recent
closed ones of each kind (``SiteData.archive``), which only these two files
list. Machine values (``indicator``, statuses, impacts)
are Statuspage's enums; ``status.description`` is the page's own headline.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from broadcaster.config import ComponentConfig, PageConfig
from broadcaster.messages.model import Status
from broadcaster.messages.uptime import DayUptime
from broadcaster.messages.visibility import PublicIncident
from broadcaster.site import status as st
from broadcaster.site.summary import Statuspage, encode, statuspage, summary_document

PREFIX = "api/v2/"
MOST_RECENT = 50  # Statuspage's "the 50 most recent"
_ACTIVE = (Status.IN_PROGRESS, Status.VERIFYING)

_Rows = list[tuple[PublicIncident, dict[str, Any]]]


def _incidents(rows: _Rows) -> _Rows:
    return [(i, row) for i, row in rows if not st.is_maintenance(i.header)]


def _maintenances(rows: _Rows) -> _Rows:
    return [(i, row) for i, row in rows if st.is_maintenance(i.header)]


def _rows(rows: _Rows, keep: Callable[[PublicIncident], bool] = lambda _: True) -> list[dict[str, Any]]:
    return [row for incident, row in rows if keep(incident)]


def _recent(rows: _Rows) -> list[dict[str, Any]]:
    """The most recent first (by start, then id, so ties keep one order), at most MOST_RECENT."""
    ordered = sorted(rows, key=lambda row: st.start_order(row[0]), reverse=True)
    return [row for _, row in ordered][:MOST_RECENT]


def status_document(view: Statuspage) -> dict[str, Any]:
    return {"page": view.page, "status": view.status}


def components_document(view: Statuspage) -> dict[str, Any]:
    return {"page": view.page, "components": view.components}


def unresolved_document(view: Statuspage) -> dict[str, Any]:
    return {"page": view.page, "incidents": _rows(_incidents(view.incidents), lambda i: not i.header.status.is_closed)}


def incidents_document(view: Statuspage) -> dict[str, Any]:
    return {"page": view.page, "incidents": _recent(_incidents(view.incidents + view.archive))}


def maintenances_document(view: Statuspage) -> dict[str, Any]:
    return {"page": view.page, "scheduled_maintenances": _recent(_maintenances(view.incidents + view.archive))}


def upcoming_document(view: Statuspage) -> dict[str, Any]:
    rows = _rows(_maintenances(view.incidents), lambda i: i.header.status == Status.SCHEDULED)
    return {"page": view.page, "scheduled_maintenances": rows}


def active_document(view: Statuspage) -> dict[str, Any]:
    rows = _rows(_maintenances(view.incidents), lambda i: i.header.status in _ACTIVE)
    return {"page": view.page, "scheduled_maintenances": rows}


# The files that list ``archive`` (closed before the page's history) besides what the page shows.
LISTING_THE_ARCHIVE = frozenset({PREFIX + "incidents.json", PREFIX + "scheduled-maintenances.json"})

DOCUMENTS: dict[str, Callable[[Statuspage], dict[str, Any]]] = {
    "summary.json": summary_document,
    "status.json": status_document,
    "components.json": components_document,
    "incidents.json": incidents_document,
    "incidents/unresolved.json": unresolved_document,
    "scheduled-maintenances.json": maintenances_document,
    "scheduled-maintenances/upcoming.json": upcoming_document,
    "scheduled-maintenances/active.json": active_document,
}


def build_api(
    page: PageConfig,
    components: Sequence[ComponentConfig],
    incidents: Sequence[PublicIncident],
    now: datetime,
    uptime: Mapping[str, Sequence[DayUptime]] | None = None,
    *,
    archive: Sequence[PublicIncident] = (),
) -> list[tuple[str, bytes]]:
    """``summary.json`` and every ``api/v2/`` file, as (path, bytes). ``archive``: closed incidents
    older than the page's history, listed in ``incidents.json`` and ``scheduled-maintenances.json``
    only (they change no status, component or summary)."""
    view = statuspage(page, components, incidents, now, uptime, archive=archive)
    files = [(PREFIX + name, encode(document(view))) for name, document in DOCUMENTS.items()]
    return [("summary.json", files[0][1]), *files]


def endpoints() -> Iterable[str]:
    """Every file's path, for the README and the tests."""
    return (PREFIX + name for name in DOCUMENTS)
