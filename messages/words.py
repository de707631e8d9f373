"""The labels of the model's values in the language in effect (``messages.i18n``).

Short words are looked up with a context (``pgettext``): "Resolved" of an
incident and "Major" of an impact may differ by grammar in other languages.
Each table is built once per language: the site prints these labels tens of
thousands of times in a full build.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from broadcaster.messages import i18n

# Keyed by the values' strings (StrEnum members look them up): model.py imports this module.


@cache
def _statuses(language: str) -> dict[str, str]:
    with i18n.speaking(language):
        return {
            "investigating": i18n.pgettext("incident status", "Investigating"),
            "identified": i18n.pgettext("incident status", "Identified"),
            "monitoring": i18n.pgettext("incident status", "Monitoring"),
            "resolved": i18n.pgettext("incident status", "Resolved"),
            "scheduled": i18n.pgettext("incident status", "Scheduled"),
            "in_progress": i18n.pgettext("incident status", "In progress"),
            "verifying": i18n.pgettext("incident status", "Verifying"),
            "completed": i18n.pgettext("incident status", "Completed"),
            # TRANSLATORS: a maintenance window called off before it began (stored as completed).
            CANCELLED: i18n.pgettext("incident status", "Cancelled"),
        }


@cache
def _component_statuses(language: str) -> dict[str, str]:
    with i18n.speaking(language):
        return {
            "operational": i18n.pgettext("component status", "Operational"),
            "degraded_performance": i18n.pgettext("component status", "Degraded performance"),
            "partial_outage": i18n.pgettext("component status", "Partial outage"),
            "major_outage": i18n.pgettext("component status", "Major outage"),
            "under_maintenance": i18n.pgettext("component status", "Under maintenance"),
        }


@cache
def _impacts(language: str) -> dict[str, str]:
    with i18n.speaking(language):
        return {
            "none": i18n.pgettext("impact", "None"),
            "minor": i18n.pgettext("impact", "Minor"),
            "major": i18n.pgettext("impact", "Major"),
            "critical": i18n.pgettext("impact", "Critical"),
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


def status_label(status: str) -> str:
    """A status in words; ``CANCELLED`` for a window called off before it began."""
    return _statuses(i18n.current_language())[status]


CANCELLED = "cancelled"  # no stored status: a window completed before it began, before anything started


def component_status_label(status: str) -> str:
    return _component_statuses(i18n.current_language())[status]


def impact_label(impact: str) -> str:
    return _impacts(i18n.current_language())[impact]


def kind_label(kind: str) -> str:
    """An update's kind ("postmortem", "correction", ...) as a word; an unknown kind as itself, capitalised."""
    return _kinds(i18n.current_language()).get(kind, kind.capitalize())


def maintenance_message(step: str) -> str:
    """The public message of a maintenance step the operator wrote none for, in the language in effect.

    ``step``: in_progress, verifying, completed or cancelled. It is stored as the
    update's text, so it stays in the language it was posted in.
    """
    messages = {
        "in_progress": i18n.gettext("The scheduled maintenance has started."),
        "verifying": i18n.gettext("The work is done; we are verifying that everything works."),
        "completed": i18n.gettext("The scheduled maintenance is complete."),
        "cancelled": i18n.gettext("The scheduled maintenance has been cancelled."),
    }
    return messages[step]


def audience_heading(name: str) -> str:
    """The heading over one customer's own detail, addressed to that customer ("For Acme Corp:")."""
    return i18n.gettext("For %(name)s:") % {"name": name}


def named_no_detail() -> str:
    """What internal channels show for a customer an update names without detail for it."""
    return i18n.gettext("(named, no detail)")


def cut_note(medium: str = "") -> str:
    """What ends a text cut to fit ``medium`` (a product name, never translated), leading space included."""
    if medium:
        return " (" + i18n.gettext("cut to fit %(medium)s; the incident page has it in full") % {"medium": medium} + ")"
    return " (" + i18n.gettext("cut to fit; the incident page has it in full") + ")"


def private_cut_note(medium: str) -> str:
    """What ends a private text (a note, a customer's detail) cut to fit ``medium``: no pointer to the incident
    page, which never holds it; staff have it in `broadcaster show`, a customer in its own page."""
    return " (" + i18n.gettext("cut to fit %(medium)s") % {"medium": medium} + ")"


def and_more(count: int) -> str:
    """The end of a list cut short: "and 12 more" (the ellipsis before it is the caller's)."""
    return i18n.ngettext("and %(num)s more", "and %(num)s more", count) % {"num": i18n.number(count)}


def fair_share(wants: Sequence[int], room: int) -> int:
    """The most any one of several texts may take so that together they fit ``room``.

    Max-min fair: a text wanting less than an equal share keeps all it wants and what it
    leaves goes to the others, so one long text never squeezes the short ones. When all
    fit whole this is the largest want (0 for none); never negative.
    """
    left, count = room, len(wants)
    for want in sorted(wants):
        if want > left // count:
            return max(left // count, 0)
        left, count = left - want, count - 1
    return max(wants, default=0)


# -- Texts broadcaster stores as an update of its own, in the page's language when written ---------------


def scheduled_message(start: str, end: str) -> str:
    """The public message of a maintenance window announced without one (times already written)."""
    return i18n.gettext("We will carry out scheduled maintenance from %(start)s to %(end)s.") % {"start": start, "end": end}


def resolved_message() -> str:
    """The public message of ``resolve`` given none."""
    return i18n.gettext("This incident has been resolved.")


def reminder_message(start: str) -> str:
    """The reminder before a window starts: an absolute time ("in 60 min" would be wrong a minute later)."""
    return i18n.gettext("Reminder: this maintenance starts at %(time)s.") % {"time": start}


def sla_breach(component: str, measured: float, target: float) -> str:
    """Staff's notice of a component below its monthly SLA."""
    return i18n.gettext(
        "SLA breach: %(component)s availability this month is %(measured)s, below its %(target)s target. "
        "Customers with an SLA on %(component)s may be owed credits."
    ) % {"component": component, "measured": i18n.percent(measured, 3), "target": i18n.percent(target)}


def customer_sla_breach(customer: str, components: str, measured: float, target: float) -> str:
    """The customer's own notice: its services below the availability in its contract."""
    return i18n.gettext(
        "Service level notice for %(customer)s: the availability of your services (%(components)s) this month "
        "is %(measured)s, below the %(target)s in your contract. We are sorry; your account team will follow up "
        "on service credits."
    ) % {"customer": customer, "components": components, "measured": i18n.percent(measured, 3),
         "target": i18n.percent(target)}


def customer_sla_breach_internal(customer: str, audience_id: str, components: str, measured: float,
                                 target: float, *, told: bool = True) -> str:
    """Staff's notice of a customer's SLA breach, and whether the customer was told (not where the incidents
    behind it were kept from it)."""
    values = {"customer": customer, "id": audience_id, "components": components, "measured": i18n.percent(measured, 3),
              "target": i18n.percent(target)}
    if not told:
        return i18n.gettext(
            "SLA breach for customer %(customer)s (%(id)s): %(components)s at %(measured)s this month, below the "
            "contracted %(target)s. They have not been told: no channel of theirs took the notice, or the incidents "
            "behind it were kept from them."
        ) % values
    return i18n.gettext(
        "SLA breach for customer %(customer)s (%(id)s): %(components)s at %(measured)s this month, below the "
        "contracted %(target)s. They have been told on their channels."
    ) % values


def overdue(promised: str, title: str, incident_id: str, minutes: int) -> str:
    """Staff's notice that a promised update is late, with the command that posts one."""
    return i18n.gettext(
        'Overdue: the update promised by %(time)s for "%(title)s" (%(id)s) has not been posted (%(num)s min '
        'late). Post one: broadcaster post -i %(id)s "..."'
    ) % {"time": promised, "title": title, "id": incident_id, "num": i18n.number(minutes)}
