"""Incidents and site data for the site, feed and summary.json tests.

Incidents are built the way the engine builds them: an ``Incident`` and its
``Update`` values cut into a ``PublicIncident`` by ``messages.visibility``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from broadcaster.messages.model import (
    AffectedComponent,
    Component,
    ComponentStatus,
    Impact,
    Incident,
    Status,
    Update,
)
from broadcaster.messages.uptime import component_days, outages
from broadcaster.messages.visibility import PublicIncident, public_incident

from broadcaster.config import ComponentConfig, PageConfig
from broadcaster.site.build import SiteData

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
NOW = datetime(2024, 5, 2, 9, 0, tzinfo=UTC)
STEP = timedelta(minutes=30)

COMPONENTS = (
    ComponentConfig(Component("api", "API", "Core", "The REST API"), sla=99.9),
    ComponentConfig(Component("web", "Website", "Core")),
    ComponentConfig(Component("db", "Database", "Data")),
    ComponentConfig(Component("mail", "Email notifications")),
)


@dataclass(frozen=True)
class Step:
    """One update: its status and public text, plus anything else Update takes."""

    status: Status
    message: str
    extra: dict[str, Any] = field(default_factory=dict)


def affected(**statuses: str) -> tuple[AffectedComponent, ...]:
    return tuple(AffectedComponent(cid, ComponentStatus(s)) for cid, s in statuses.items())


def make_incident(
    incident_id: str,
    title: str = "Elevated API errors",
    *,
    steps: Sequence[Step] = (Step(Status.INVESTIGATING, "We are looking into it."),),
    impact: Impact = Impact.MAJOR,
    components: tuple[AffectedComponent, ...] = (),
    start: datetime = T0,
    kind: str = "incident",
    scheduled: tuple[datetime, datetime] | None = None,
) -> PublicIncident:
    """An incident whose updates are STEP apart from ``start``; closed if its last step is."""
    updates = [
        Update(incident_id, n, start + (n - 1) * STEP, step.status, step.message, **step.extra)
        for n, step in enumerate(steps, start=1)
    ]
    last = updates[-1]
    incident = Incident(
        id=incident_id,
        title=title,
        impact=impact,
        status=last.status,
        created_at=start,
        components=components,
        resolved_at=last.created_at if last.status.is_closed else None,
        kind=kind,
        scheduled_start=scheduled[0] if scheduled else None,
        scheduled_end=scheduled[1] if scheduled else None,
    )
    return public_incident(incident, updates)


def page_config(**overrides: Any) -> PageConfig:
    settings: dict[str, Any] = {
        "title": "Acme status",
        "history_days": 7,
        "description": "Live status of Acme services.",
    }
    return PageConfig(**{**settings, **overrides})


def site_data(
    incidents: Sequence[PublicIncident] = (), *, now: datetime = NOW, **page: Any
) -> SiteData:
    return SiteData(
        page=page_config(**page), components=COMPONENTS, incidents=tuple(incidents), now=now
    )


def with_uptime(data: SiteData, history: Sequence[PublicIncident] | None = None) -> SiteData:
    """``data`` with every component's 90 days, from ``history`` (default: its incidents).

    Computed as the engine does (``messages.uptime.outages``, then the days), so
    tests that need bars on the page get realistic ones.
    """
    found = outages(data.incidents if history is None else history, data.now)
    ids = [c.component.id for c in data.components]
    return replace(data, uptime=component_days(found, ids, data.now))


def sample_incidents() -> list[PublicIncident]:
    """An open incident, a resolved one, upcoming maintenance and an old resolved one."""
    return [
        make_incident(
            "2024-05-02-api",
            "Elevated API errors",
            start=NOW - timedelta(hours=2),
            components=affected(api="partial_outage"),
            steps=[
                Step(Status.INVESTIGATING, "We see *elevated* error rates on the API."),
                Step(
                    Status.IDENTIFIED,
                    "A bad deploy.\n\n- rolling back\n- watching errors",
                    {
                        "components": affected(api="partial_outage"),
                        "next_update_by": NOW + timedelta(minutes=30),
                    },
                ),
            ],
        ),
        make_incident(
            "2024-05-01-db",
            "Database latency",
            impact=Impact.MINOR,
            components=affected(db="degraded_performance"),
            steps=[
                Step(Status.INVESTIGATING, "Queries are slow."),
                Step(Status.RESOLVED, "Latency is back to normal."),
            ],
        ),
        make_incident(
            "2024-05-10-maint",
            "Database upgrade",
            kind="maintenance",
            impact=Impact.NONE,
            start=NOW - timedelta(hours=1),
            components=affected(db="under_maintenance"),
            scheduled=(NOW + timedelta(days=8), NOW + timedelta(days=8, hours=2)),
            steps=[Step(Status.SCHEDULED, "We will upgrade the database.")],
        ),
        make_incident(
            "2024-04-01-old",
            "Old outage",
            start=NOW - timedelta(days=30),
            steps=[Step(Status.INVESTIGATING, "Down."), Step(Status.RESOLVED, "Fixed.")],
        ),
    ]


def read_site(root: Path) -> dict[str, bytes]:
    """Every file of a built site (the manifest aside), by relative path."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".broadcaster-manifest.json"
    }


def site_files(root: Path) -> list[Path]:
    return [p for p in sorted(root.rglob("*")) if p.is_file() and not p.name.startswith(".")]


# -- A small DOM over html.parser, enough to ask questions about the pages ----

_VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}


@dataclass(eq=False)  # elements are compared by identity
class Element:
    tag: str
    attrs: dict[str, str]
    parents: tuple[Element, ...]
    text: str = ""

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def words(self) -> str:
        return " ".join(self.text.split())

    def inside(self, class_name: str) -> bool:
        return any(class_name in parent.classes for parent in self.parents)


class Document(HTMLParser):
    """Every element of an HTML page with its attributes, ancestors and text."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.doctype = ""
        self._stack: list[tuple[Element, int]] = []
        self._chunks: list[str] = []
        self.feed(text)
        self.close()

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs}, tuple(e for e, _ in self._stack))
        self.elements.append(element)
        if tag not in _VOID:
            self._stack.append((element, len(self._chunks)))

    def handle_endtag(self, tag: str) -> None:
        while self._stack:
            element, start = self._stack.pop()
            element.text = "".join(self._chunks[start:])
            if element.tag == tag:
                break

    def handle_data(self, data: str) -> None:
        self._chunks.append(data)

    def all(self, tag: str | None = None, **attrs: str) -> list[Element]:
        return [
            e
            for e in self.elements
            if (tag is None or e.tag == tag)
            and all(e.attrs.get(k.rstrip("_").replace("_", "-")) == v for k, v in attrs.items())
        ]

    def one(self, tag: str | None = None, **attrs: str) -> Element:
        found = self.all(tag, **attrs)
        assert len(found) == 1, f"expected one <{tag} {attrs}>, found {len(found)}"
        return found[0]

    def section(self, heading_id: str) -> Element:
        return self.one("section", aria_labelledby=heading_id)

    def within(self, ancestor: Element, tag: str | None = None) -> list[Element]:
        return [e for e in self.elements if ancestor in e.parents and (tag is None or e.tag == tag)]

    def text(self) -> str:
        return " ".join("".join(self._chunks).split())


def document(root: Path, path: str) -> Document:
    return Document((root / path).read_text(encoding="utf-8"))
