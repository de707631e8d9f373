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
        return {
            Status.INVESTIGATING: i18n.pgettext("incident status", "Investigating"),
            Status.IDENTIFIED: i18n.pgettext("incident status", "Identified"),
            Status.MONITORING: i18n.pgettext("incident status", "Monitoring"),
            Status.RESOLVED: i18n.pgettext("incident status", "Resolved"),
            Status.SCHEDULED: i18n.pgettext("incident status", "Scheduled"),
            Status.IN_PROGRESS: i18n.pgettext("incident status", "In progress"),
            Status.VERIFYING: i18n.pgettext("incident status", "Verifying"),
            Status.COMPLETED: i18n.pgettext("incident status", "Completed"),
        }


@cache
def _component_statuses(language: str) -> dict[ComponentStatus, str]:
    with i18n.speaking(language):
        return {
            ComponentStatus.OPERATIONAL: i18n.pgettext("component status", "Operational"),
            ComponentStatus.DEGRADED_PERFORMANCE: i18n.pgettext("component status", "Degraded performance"),
            ComponentStatus.PARTIAL_OUTAGE: i18n.pgettext("component status", "Partial outage"),
            ComponentStatus.MAJOR_OUTAGE: i18n.pgettext("component status", "Major outage"),
            ComponentStatus.UNDER_MAINTENANCE: i18n.pgettext("component status", "Under maintenance"),
        }


@cache
def _impacts(language: str) -> dict[Impact, str]:
    with i18n.speaking(language):
        return {
            Impact.NONE: i18n.pgettext("impact", "None"),
            Impact.MINOR: i18n.pgettext("impact", "Minor"),
            Impact.MAJOR: i18n.pgettext("impact", "Major"),
            Impact.CRITICAL: i18n.pgettext("impact", "Critical"),
        }


@cache
def _kinds(language: str) -> dict[str, str]:
    with i18n.speaking(language):
        return {
            "postmortem": i18n.pgettext("update kind", "Postmortem"),
            "correction": i18n.pgettext("update kind", "Correction"),
            "reminder": i18n.pgettext("update kind", "Reminder"),
            "notice": i18n.pgettext("update kind", "Notice"),
            "update": i18n.pgettext("update kind", "Update"),
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
