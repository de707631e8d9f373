"""The incident model: frozen values that the store saves and the views are cut from.

Fields that hold private detail (``raw_message``, ``raw_title``,
``private_note``, ``customers``, ``tickets``, ``audiences``, ``audience_detail``) are read only by
``messages.visibility`` (which cuts the views) and ``broadcaster.store`` (which
persists them). A test walks the
source tree to keep it that way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum


class Impact(StrEnum):
    NONE = "none"
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"

    @property
    def label(self) -> str:
        """The impact in words ("Major"), in the language in effect (``messages.i18n``)."""
        from broadcaster.messages.words import impact_label  # on first use: Babel loads only when a label is printed

        return impact_label(self)


class Status(StrEnum):
    """Where an incident (or a maintenance window) is in its life."""

    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    VERIFYING = "verifying"
    COMPLETED = "completed"

    @property
    def label(self) -> str:
        """The status in words, in the language in effect (``messages.i18n``)."""
        from broadcaster.messages.words import status_label  # on first use: Babel loads only when a label is printed

        return status_label(self)

    @property
    def is_closed(self) -> bool:
        return self in (Status.RESOLVED, Status.COMPLETED)


INCIDENT_LIFECYCLE = (Status.INVESTIGATING, Status.IDENTIFIED, Status.MONITORING, Status.RESOLVED)
MAINTENANCE_LIFECYCLE = (Status.SCHEDULED, Status.IN_PROGRESS, Status.VERIFYING, Status.COMPLETED)


class ComponentStatus(StrEnum):
    OPERATIONAL = "operational"
    DEGRADED_PERFORMANCE = "degraded_performance"
    PARTIAL_OUTAGE = "partial_outage"
    MAJOR_OUTAGE = "major_outage"
    UNDER_MAINTENANCE = "under_maintenance"

    @property
    def label(self) -> str:
        """The status in words, in the language in effect (``messages.i18n``)."""
        from broadcaster.messages.words import (
            component_status_label,  # on first use: Babel loads only when a label is printed
        )

        return component_status_label(self)

    @property
    def severity(self) -> int:
        """Higher is worse; used to pick the worst status of a component."""
        return _COMPONENT_SEVERITY[self]


_COMPONENT_SEVERITY = {
    ComponentStatus.OPERATIONAL: 0,
    ComponentStatus.UNDER_MAINTENANCE: 1,
    ComponentStatus.DEGRADED_PERFORMANCE: 2,
    ComponentStatus.PARTIAL_OUTAGE: 3,
    ComponentStatus.MAJOR_OUTAGE: 4,
}


@dataclass(frozen=True)
class Component:
    """A part of the service that customers know by name (from ``[[components]]``)."""

    id: str
    name: str
    group: str = ""
    description: str = ""


class Level(IntEnum):
    """Who reads a destination, from least to most: anyone, one customer, the provider's staff."""

    PUBLIC = 0
    AUDIENCE = 1
    INTERNAL = 2


# What configs and old stores call ``internal``: kept so existing configs keep working.
INTERNAL_SYNONYMS = frozenset({"internal", "private"})


@dataclass(frozen=True)
class Visibility:
    """A destination's readers: ``public``, ``internal`` or ``audience:ID`` (one customer).

    ``str()`` is the form stored with each delivery and printed by ``--json``.
    """

    level: Level
    audience: str = ""

    def __post_init__(self) -> None:
        if (self.level == Level.AUDIENCE) != bool(self.audience):
            raise ValueError("an audience visibility names exactly one audience; no other names one")

    @classmethod
    def parse(cls, text: str) -> Visibility:
        """``public``, ``internal`` (or its synonym ``private``) or ``audience:ID``; ValueError otherwise."""
        if text == "public":
            return PUBLIC
        if text in INTERNAL_SYNONYMS:
            return INTERNAL
        kind, _, audience = text.partition(":")
        if kind == "audience" and audience:
            return cls(Level.AUDIENCE, audience)
        raise ValueError(f"unknown visibility {text!r}")

    @classmethod
    def of(cls, audience: str) -> Visibility:
        return cls(Level.AUDIENCE, audience)

    def __str__(self) -> str:
        return f"audience:{self.audience}" if self.audience else self.level.name.lower()

    @property
    def outside(self) -> bool:
        """Read outside the company (the public, a customer): a withdrawal deletes what it posted there."""
        return self.level != Level.INTERNAL


PUBLIC = Visibility(Level.PUBLIC)
INTERNAL = Visibility(Level.INTERNAL)


@dataclass(frozen=True)
class Audience:
    """One customer (``[audiences.ID]``): told about incidents touching its components or naming it.

    ``name`` is shown to that customer only, never publicly and never to another customer.
    """

    id: str
    name: str
    components: tuple[str, ...] = ()
    # ``[audiences.ID] id_is_a_word``: its id is an everyday word ("route", "cloud"), not a way to name it, so the
    # egress guard does not look for it (``visibility.audience_names``); its name is guarded whatever this says.
    id_is_a_word: bool = False


@dataclass(frozen=True)
class AffectedComponent:
    """A component as one update reports it."""

    id: str
    status: ComponentStatus


@dataclass(frozen=True)
class Incident:
    """An incident or a maintenance window; its updates are stored separately.

    ``title`` is the PUBLIC title: private spans removed, so every reader of it
    gets text anyone may see, and the id is made from it. ``raw_title`` is the
    title as written, ``[private]`` spans included ("" when it has none, or for
    incidents stored before titles could hold them); only the private views
    show it.
    """

    id: str
    title: str
    impact: Impact
    status: Status
    created_at: datetime
    components: tuple[AffectedComponent, ...] = ()
    resolved_at: datetime | None = None
    kind: str = "incident"  # or "maintenance"
    scheduled_start: datetime | None = None
    scheduled_end: datetime | None = None
    raw_title: str = ""
    # When it was withdrawn (``broadcaster withdraw``): off the page, the feeds and the JSON,
    # its public posts deleted; who and why are in its "withdrawal" update.
    withdrawn_at: datetime | None = None
    # The store's row version this copy was read at: a write based on an older copy is
    # refused (compare-and-set), so a stale copy never overwrites a newer change.
    version: int = field(default=0, compare=False)

    @property
    def is_open(self) -> bool:
        """Still running: not closed, and not withdrawn (nothing is due of a withdrawn one)."""
        return not self.status.is_closed and self.withdrawn_at is None


@dataclass(frozen=True)
class Update:
    """One message about an incident, as the operator wrote it.

    ``raw_message`` may contain ``[private]...[/private]`` and ``[for ID]...[/for]``
    spans; it has been checked to be well formed before an Update is built.
    ``audiences`` are the audience ids ``--customer`` named; ``audience_detail``
    the ``--for ID TEXT`` pairs. ``customers`` holds the free-text customer names
    of records stored before audiences existed: internal detail, never written now.
    """

    incident_id: str
    sequence: int
    created_at: datetime
    status: Status
    raw_message: str
    components: tuple[AffectedComponent, ...] = ()
    private_note: str = ""
    customers: tuple[str, ...] = ()
    tickets: tuple[str, ...] = ()
    audiences: tuple[str, ...] = ()
    audience_detail: tuple[tuple[str, str], ...] = ()
    etr: datetime | None = None
    next_update_by: datetime | None = None
    author: str = ""
    kind: str = "update"  # or "postmortem", "correction", "reminder", "notice", "withdrawal"
    extra: dict[str, str] = field(default_factory=dict, compare=False)


# The ``extra`` key ``store import`` sets on a postmortem version, or a correction, that the other store wrote before
# this store's latest of the same text (its value: when that latest was written). Imported updates are numbered after
# this store's, so by its number it would have become the latest: the page and the feeds showing the older text, and
# ``retry`` sending it as a correction of the newer one. Kept as history (``show``, ``store export``), never in force.
OVERTAKEN = "overtaken"


def in_force(updates: Iterable[Update]) -> list[Update]:
    """``updates`` (in sequence order) without those ``store import`` kept as history (``OVERTAKEN``), nor the
    corrections of one: what every command reads to tell which version of a text is the latest."""
    found: list[Update] = []
    gone: set[str] = set()
    for update in updates:
        # Only a version of a text is ever kept as history: the key on a status update or a withdrawal (an edited
        # file) must not take it off the page or out of what ``retry`` reads.
        version = update.kind in ("postmortem", "correction")
        if version and (OVERTAKEN in update.extra or update.extra.get("corrects") in gone):
            gone.add(str(update.sequence))
            continue
        found.append(update)
    return found
