"""The labels of the model's values in the language in effect (``messages.i18n``).

Short words are looked up with a context (``pgettext``): "Resolved" of an
incident and "Major" of an impact may differ by grammar in other languages.
Each table is built once per language: the site prints these labels tens of
thousands of times in a full build.
"""

from __future__ import annotations

from functools import cache

from broadcaster.messages import i18n
from broadcaster.messages.model import ComponentStatus, Impact, Status


@cache
def _statuses(language: str) -> dict[Status, str]:
    with i18n.speaking(language):
        _ = i18n.pgettext
        return {
            Status.INVESTIGATING: _("incident status", "Investigating"),
            Status.IDENTIFIED: _("incident status", "Identified"),
            Status.MONITORING: _("incident status", "Monitoring"),
            Status.RESOLVED: _("incident status", "Resolved"),
            Status.SCHEDULED: _("incident status", "Scheduled"),
            Status.IN_PROGRESS: _("incident status", "In progress"),
            Status.VERIFYING: _("incident status", "Verifying"),
            Status.COMPLETED: _("incident status", "Completed"),
        }


@cache
def _component_statuses(language: str) -> dict[ComponentStatus, str]:
    with i18n.speaking(language):
        _ = i18n.pgettext
        return {
            ComponentStatus.OPERATIONAL: _("component status", "Operational"),
            ComponentStatus.DEGRADED_PERFORMANCE: _("component status", "Degraded performance"),
            ComponentStatus.PARTIAL_OUTAGE: _("component status", "Partial outage"),
            ComponentStatus.MAJOR_OUTAGE: _("component status", "Major outage"),
            ComponentStatus.UNDER_MAINTENANCE: _("component status", "Under maintenance"),
        }


@cache
def _impacts(language: str) -> dict[Impact, str]:
    with i18n.speaking(language):
        _ = i18n.pgettext
        return {
            Impact.NONE: _("impact", "None"),
            Impact.MINOR: _("impact", "Minor"),
            Impact.MAJOR: _("impact", "Major"),
            Impact.CRITICAL: _("impact", "Critical"),
        }


@cache
def _kinds(language: str) -> dict[str, str]:
    with i18n.speaking(language):
        _ = i18n.pgettext
        return {
            "postmortem": _("update kind", "Postmortem"),
            "correction": _("update kind", "Correction"),
            "reminder": _("update kind", "Reminder"),
            "notice": _("update kind", "Notice"),
            "update": _("update kind", "Update"),
        }


def status_label(status: Status) -> str:
    return _statuses(i18n.current_language())[status]


def component_status_label(status: ComponentStatus) -> str:
    return _component_statuses(i18n.current_language())[status]


def impact_label(impact: Impact) -> str:
    return _impacts(i18n.current_language())[impact]


def kind_label(kind: str) -> str:
    """An update's kind ("postmortem", "correction", ...) as a word; an unknown kind as itself, capitalised."""
    return _kinds(i18n.current_language()).get(kind, kind.capitalize())
