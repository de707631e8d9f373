"""What the site says about the service right now, derived from public incidents alone.

The page, the feeds and summary.json all read these facts from here so that
they can never disagree: which incidents are active, each component's current
status, the overall indicator and its one-line description.

Rules:

* An incident is active while it is open. A maintenance window is active once
  it is in progress or verifying, or while its scheduled window is running even
  if nobody has posted "in progress" yet; before that it is upcoming and does
  not change any component's status.
* A component's status is the worst (``ComponentStatus.severity``) given to it
  by any active incident's header; operational otherwise.
* The banner (the indicator and its words) follows one rule: the worst of the
  active incidents' impacts and the component statuses, each read on the
  impact scale the incident cards use (degraded performance -> minor, partial
  outage -> major, major outage -> critical), and named after that impact:
  "Minor service disruption", "Major service disruption", "Critical service
  outage". So a "Major" incident never sits under a milder banner, and a
  banner never names a component status the cards do not show: "Major"
  on a card and "Major service disruption" above it. "maintenance" when nothing
  is worse than a maintenance window.
* A postmortem is not part of the timeline: it has a section of its own on the
  incident page (the latest one, if it was published twice), and the index
  summarises an incident by its latest update that is neither a postmortem nor
  a reminder (a reminder's "starts in 60 min" goes stale on a static page).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from broadcaster.messages import i18n, words
from broadcaster.messages.model import ComponentStatus, Impact, Status
from broadcaster.messages.visibility import IncidentHeader, PublicIncident, PublicView

MAINTENANCE = "maintenance"
POSTMORTEM = "postmortem"
REMINDER = "reminder"

# Statuspage's indicator values, best first; the index is the severity.
INDICATORS = ("none", "minor", "major", "critical")
_IMPACT_INDICATOR = {
    Impact.NONE: "none",
    Impact.MINOR: "minor",
    Impact.MAJOR: "major",
    Impact.CRITICAL: "critical",
}
_COMPONENT_INDICATOR = {
    ComponentStatus.OPERATIONAL: "none",
    ComponentStatus.UNDER_MAINTENANCE: "none",
    ComponentStatus.DEGRADED_PERFORMANCE: "minor",
    ComponentStatus.PARTIAL_OUTAGE: "major",
    ComponentStatus.MAJOR_OUTAGE: "critical",
}
# The date of what has shown nothing yet: a date from no data, never the clock (see ``updated_at``).
NEVER = datetime(1970, 1, 1, tzinfo=UTC)
OPEN = "open"  # an open incident with no impact and no component affected: say so rather than "all good"


def description(level: str) -> str:
    """The banner's words for a level, in the language in effect: named after the impact level (the
    word on the incident cards), never after a component status."""
    return {
        "none": i18n.gettext("All systems operational"),
        "minor": i18n.gettext("Minor service disruption"),
        "major": i18n.gettext("Major service disruption"),
        "critical": i18n.gettext("Critical service outage"),
        MAINTENANCE: i18n.gettext("Under maintenance"),
        OPEN: i18n.gettext("Systems operational, incident open"),
    }[level]


@dataclass(frozen=True)
class Overall:
    """The page's headline: Statuspage's ``status`` object."""

    indicator: str  # none | minor | major | critical | maintenance
    description: str


def utc(moment: datetime) -> datetime:
    """The same instant in UTC; a naive time is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, to the second: what <time datetime> and the JSON carry."""
    if moment is None:
        return None
    return utc(moment).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def is_maintenance(header: IncidentHeader) -> bool:
    return header.kind == MAINTENANCE


def window_running(header: IncidentHeader, now: datetime) -> bool:
    start, end = header.scheduled_start, header.scheduled_end
    if start is None or utc(start) > now:
        return False
    return end is None or now < utc(end)


def is_active(header: IncidentHeader, now: datetime) -> bool:
    """Whether the incident changes what the service looks like right now."""
    if header.status.is_closed:
        return False
    if header.status == Status.SCHEDULED:
        return window_running(header, now)
    return True


def is_upcoming(header: IncidentHeader, now: datetime) -> bool:
    """Scheduled maintenance not yet under way (also one whose window passed unannounced)."""
    return (
        is_maintenance(header) and header.status == Status.SCHEDULED and not is_active(header, now)
    )


def closed_at(incident: PublicIncident) -> datetime:
    header = incident.header
    if header.resolved_at is not None:
        return utc(header.resolved_at)
    latest = incident.latest
    return utc(latest.created_at if latest else header.created_at)


def changed_at(update: PublicView) -> datetime:
    """When an update last changed: posted, or later corrected in place."""
    posted = utc(update.created_at)
    return max(posted, utc(update.corrected_at)) if update.corrected_at else posted


def last_changed(incident: PublicIncident) -> datetime:
    return max((changed_at(u) for u in incident.updates), default=utc(incident.header.created_at))


def started_at(header: IncidentHeader) -> datetime:
    if is_maintenance(header) and header.scheduled_start is not None:
        return utc(header.scheduled_start)
    return utc(header.created_at)


def began(incident: PublicIncident) -> datetime:
    """When the incident began, as its page says: a window's first step in progress (started early or late by
    hand too), else its scheduled start; an incident's first post."""
    if is_maintenance(incident.header):
        steps = [u.created_at for u in incident.updates if u.status in (Status.IN_PROGRESS, Status.VERIFYING)]
        if steps:
            return utc(min(steps))
    return started_at(incident.header)


def start_order(incident: PublicIncident) -> tuple[datetime, str]:
    """The site's one order of incidents: by start, then id (ties keep one order in every file).
    ``Store.closed_incidents`` reads the store in the same order."""
    return started_at(incident.header), incident.header.id


def component_statuses(
    component_ids: Iterable[str], incidents: Iterable[PublicIncident], now: datetime
) -> dict[str, ComponentStatus]:
    """Each configured component's current status (ids no incident names stay operational)."""
    statuses = {cid: ComponentStatus.OPERATIONAL for cid in component_ids}
    for incident in incidents:
        if not is_active(incident.header, now):
            continue
        for affected in incident.header.components:
            current = statuses.get(affected.id)
            if current is not None and affected.status.severity > current.severity:
                statuses[affected.id] = affected.status
    return statuses


def worst(statuses: Iterable[ComponentStatus]) -> ComponentStatus:
    return max(statuses, key=lambda s: s.severity, default=ComponentStatus.OPERATIONAL)


def overall(
    incidents: Sequence[PublicIncident], statuses: dict[str, ComponentStatus], now: datetime
) -> Overall:
    active = [i.header for i in incidents if is_active(i.header, now)]
    levels = [_COMPONENT_INDICATOR[s] for s in statuses.values()]
    levels += [_IMPACT_INDICATOR[h.impact] for h in active if not is_maintenance(h)]
    indicator = max(levels, key=INDICATORS.index, default="none")
    if indicator != "none":
        return Overall(indicator, description(indicator))
    in_maintenance = ComponentStatus.UNDER_MAINTENANCE in statuses.values()
    if in_maintenance or any(is_maintenance(h) for h in active):
        return Overall(MAINTENANCE, description(MAINTENANCE))
    if active:
        return Overall("none", description(OPEN))
    return Overall("none", description("none"))


def recently_closed(
    incidents: Iterable[PublicIncident], now: datetime, history_days: int
) -> list[PublicIncident]:
    """Closed incidents and maintenance of the last ``history_days`` days, newest first."""
    since = now - timedelta(days=history_days)
    closed = [i for i in incidents if i.header.status.is_closed and closed_at(i) >= since]
    return sorted(closed, key=lambda i: (closed_at(i), i.header.id), reverse=True)


def updated_at(incidents: Iterable[PublicIncident], quiet: datetime = NEVER) -> datetime:
    """The newest update's time: what changed last, not when we happened to build. ``quiet`` when
    nothing is shown: a date from the data too (the newest change shown before, or ``NEVER``), never the
    clock, or a quiet page would change with every build, and the public see when staff did something."""
    return max((last_changed(i) for i in incidents), default=quiet)


def updates_newest_first(incident: PublicIncident) -> list[PublicView]:
    return sorted(incident.updates, key=lambda u: u.sequence, reverse=True)


def timeline(incident: PublicIncident) -> list[PublicView]:
    """The updates the incident page lists, newest first: everything but postmortems."""
    return [u for u in updates_newest_first(incident) if u.kind != POSTMORTEM]


def postmortem(incident: PublicIncident) -> PublicView | None:
    """The incident's postmortem: the latest one published, or None."""
    found = [u for u in incident.updates if u.kind == POSTMORTEM]
    return max(found, key=lambda u: u.sequence) if found else None


def latest_news(incident: PublicIncident) -> PublicView | None:
    """The update that sums up where an incident stands (no postmortem, no reminder)."""
    return next(
        (u for u in reversed(incident.updates) if u.kind not in (POSTMORTEM, REMINDER)),
        incident.latest,
    )


def status_label(incident: PublicIncident) -> str:
    """Where the incident stands, in words: "Cancelled" for a window called off (``is_cancelled``)."""
    return words.status_label(words.CANCELLED) if is_cancelled(incident) else incident.header.status.label


def is_cancelled(incident: PublicIncident) -> bool:
    """A maintenance window called off (``broadcaster maintenance cancel``): its latest news says so, as each
    update's view was cut (``visibility.called_off``), the same rule every channel tells it by."""
    header = incident.header
    if not is_maintenance(header) or header.status != Status.COMPLETED:
        return False
    latest = latest_news(incident)
    return latest is not None and latest.cancelled
