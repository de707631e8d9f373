"""Small formatted pieces shared by the pages and the feeds: times, badges, update facts.

They are Python, not Jinja macros: a macro call costs about as much as rendering
the rest of an incident page, and a full build shows tens of thousands of
updates. Every piece of outside text (names, labels) goes through ``escape()``;
times and enum values are generated here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

from broadcaster.config import ComponentConfig
from broadcaster.messages import i18n
from broadcaster.messages.markdown import render_markdown
from broadcaster.messages.model import AffectedComponent, ComponentStatus
from broadcaster.messages.visibility import PublicView
from broadcaster.messages.words import kind_label
from broadcaster.site import status as st
from broadcaster.site.longform import render_document

_UTC_NAMES = {"UTC", "Etc/UTC", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu", "Etc/UCT", "UCT"}


# -- Times ---------------------------------------------------------------------


def _date_pattern() -> str:
    # TRANSLATORS: a date: %(day)s is the day of the month, %(month)s the month's abbreviated name
    # (from CLDR), %(year)s the year. E.g. "1 May 2024"; German "%(day)s. %(month)s %(year)s".
    return i18n.gettext("%(day)s %(month)s %(year)s")


def _stamp_pattern() -> str:
    # TRANSLATORS: a date and a time of day, e.g. "1 May 2024, 12:00".
    return i18n.gettext("%(date)s, %(time)s")


def _zone_label(moment: datetime) -> str:
    name = moment.tzname() or ""
    return f"UTC{name}" if name[:1] in "+-" else name


class Times:
    """Formats instants as UTC, plus the page's time zone when that is not UTC.

    Built with f-strings rather than Markup.format: a full build formats tens
    of thousands of times, and every part is generated here, never user text.
    """

    def __init__(self, timezone: str) -> None:
        self.zone = None if timezone in _UTC_NAMES else ZoneInfo(timezone)
        # Month names from CLDR, never strftime's %b (it follows the process locale); the
        # patterns from the catalogue. Read once: a full build formats tens of thousands of times.
        self._months = i18n.month_abbreviations()
        self._date = _date_pattern()
        self._stamp_pattern = _stamp_pattern()

    @staticmethod
    def date_text(day: date) -> str:
        """``1 May 2024`` in the language in effect."""
        month = i18n.month_abbreviations()[day.month - 1]
        return _date_pattern() % {"day": day.day, "month": month, "year": day.year}

    def _date_of(self, moment: datetime | date) -> str:
        return self._date % {"day": moment.day, "month": self._months[moment.month - 1], "year": moment.year}

    def _stamp(self, moment: datetime) -> str:
        return self._stamp_pattern % {"date": self._date_of(moment), "time": f"{moment.hour:02d}:{moment.minute:02d}"}

    def when(self, moment: datetime | None) -> Markup:
        """``<time datetime=...>1 May 2024, 12:00 UTC</time> <span>(14:00 CEST)</span>``."""
        if moment is None:
            return Markup("")
        at = st.utc(moment)
        shown = f'<time datetime="{st.iso(at)}">{self._stamp(at)} UTC</time>'
        local = self._local(at)
        if local:
            shown += f' <span class="local">({escape(local)})</span>'
        return Markup(shown)

    def text(self, moment: datetime) -> str:
        """The same as plain text, for the feeds."""
        at = st.utc(moment)
        local = self._local(at)
        return f"{self._stamp(at)} UTC ({local})" if local else f"{self._stamp(at)} UTC"

    def _local(self, at: datetime) -> str:
        if self.zone is None:
            return ""
        local = at.astimezone(self.zone)
        if local.date() == at.date():
            shown = f"{local.hour:02d}:{local.minute:02d}"
        else:
            shown = self._stamp(local)
        return f"{shown} {_zone_label(local)}"

    def day(self, moment: datetime) -> str:
        return self._date_of(st.utc(moment).astimezone(self.zone or UTC))


def duration(start: datetime, end: datetime | None) -> str:
    if end is None:
        return ""
    minutes = max(0, int((st.utc(end) - st.utc(start)) / timedelta(minutes=1)))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [
        i18n.gettext("%(num)d d") % {"num": days} if days else "",
        i18n.gettext("%(num)d h") % {"num": hours} if hours else "",
        i18n.gettext("%(num)d min") % {"num": minutes} if minutes or not (days or hours) else "",
    ]
    return " ".join(p for p in parts if p)


# -- Components and updates ------------------------------------------------------


class Names:
    """Component id -> display name; an id the config no longer knows shows as itself."""

    def __init__(self, components: Iterable[ComponentConfig]) -> None:
        self._names = {c.component.id: c.component.name for c in components}

    def __call__(self, component_id: str) -> str:
        return self._names.get(component_id, component_id)

    def affected(
        self, components: Iterable[AffectedComponent]
    ) -> list[tuple[str, ComponentStatus]]:
        return [(self(c.id), c.status) for c in components]


def badge(status: ComponentStatus) -> Markup:
    """A component status in words, with a decorative dot (colour is never the only cue)."""
    return Markup(
        f'<span class="badge badge--{escape(status.value)}"><span class="dot" aria-hidden="true">'
        f"</span>{escape(status.label)}</span>"
    )


def kind_note(update: PublicView) -> Markup:
    """The note after the status of anything but a plain update, e.g. "(Postmortem)"."""
    if update.kind == "update":
        return Markup("")
    return Markup(' <span class="kind">({})</span>').format(kind_label(update.kind))


class Fragments:
    """The pieces that need the page's component names and time zone."""

    def __init__(self, names: Names, times: Times) -> None:
        self.names = names
        self.times = times

    def affected(self, components: Iterable[AffectedComponent]) -> Markup:
        items = "".join(
            f"<li>{escape(name)}: {badge(status)}</li>\n"
            for name, status in self.names.affected(components)
        )
        return Markup(f'<ul class="affected">\n{items}</ul>')

    def entry(self, update: PublicView) -> TimelineEntry:
        # Each Jinja call costs ~10 us; a full build shows tens of thousands of updates.
        return TimelineEntry(
            update=update,
            note=kind_note(update),
            posted=self.times.when(update.created_at),
            corrected=self.times.when(update.corrected_at),
            message=Markup(render_markdown(update.message)),
            facts=self.facts(update),
        )

    def postmortem(self, update: PublicView) -> TimelineEntry:
        """A postmortem: a document, so its headings are kept (see ``longform``)."""
        return TimelineEntry(
            update=update,
            note=Markup(""),
            posted=self.times.when(update.created_at),
            corrected=self.times.when(update.corrected_at),
            message=Markup(render_document(update.message)),
            facts=Markup(""),
        )

    def facts(self, update: PublicView, *, with_components: bool = True) -> Markup:
        """Components, ETR and next update of one update, as a <dl>; empty if none."""
        rows = []
        # The catalogue's words are asked for outside f-strings: Babel's extraction does not look inside them.
        if with_components and update.components:
            rows.append(_fact(i18n.gettext("Components"), self.affected(update.components)))
        if update.etr:
            rows.append(_fact(i18n.gettext("Estimated resolution"), self.times.when(update.etr)))
        if update.next_update_by:
            rows.append(_fact(i18n.gettext("Next update by"), self.times.when(update.next_update_by)))
        if not rows:
            return Markup("")
        return Markup('<dl class="facts">\n' + "\n".join(rows) + "\n</dl>")


def _fact(label: str, value: str) -> str:
    return f"<dt>{escape(label)}</dt>\n<dd>{value}</dd>"


@dataclass(frozen=True)
class TimelineEntry:
    """One update as its incident page shows it, the pieces built by ``Fragments.entry``."""

    update: PublicView
    note: Markup
    posted: Markup
    corrected: Markup
    message: Markup
    facts: Markup
