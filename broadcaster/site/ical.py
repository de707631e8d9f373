"""maintenance.ics: the maintenance windows as an iCalendar feed readers can subscribe to.

It holds the windows the page shows: scheduled, in progress, and those closed
within ``[page] history_days``. Everything in it comes from the stored
history, never from the clock, so building the same data twice gives the same
bytes and calendars never see phantom changes:

* ``UID``: from the window's id (``maintenance-<id>@<host of base_url>``, with
  base_url's path after the host when it has one: ``maintenance-<id>@<host>/eu``,
  or a ``urn:broadcaster:maintenance-<id>`` without a base URL), the same in every build;
* ``DTSTAMP`` and ``LAST-MODIFIED``: the window's last change; no ``METHOD``,
  so by RFC 5545 DTSTAMP is exactly that (with one it would be the build time);
* ``SEQUENCE``: how often the window changed since it was announced (each
  update but reminders and postmortems, and each correction of one), so it
  rises with every change and a rebuild leaves it alone;
* ``STATUS:CANCELLED`` for a cancelled window (``broadcaster maintenance
  cancel``: see ``status.is_cancelled``), ``CONFIRMED`` otherwise; a cancelled
  window also says so in its description, for calendars that ignore STATUS.

Its own words (the calendar's name and description, "Cancelled.") are in
``[page] language``; the names of the format (``FRAME``) are not words and stay.
Every text property says its language with RFC 5545's ``LANGUAGE`` parameter
(3.2.10; RFC 7986 allows it on ``NAME`` and the calendar's ``DESCRIPTION``):
the page's, as ``<html lang>`` says it for the same titles and messages.
``PRODID`` keeps ``//EN``: that is the language of the product identifier itself.

With no window the file is a calendar without events (RFC 5545 asks for one
component, but subscribers keep a subscription that lists nothing, while a
missing file or a made-up event would break it or mislead).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from urllib.parse import urlsplit

from icalendar import STATUS, Calendar, Component, Event, vText

from broadcaster.config import PageConfig
from broadcaster.messages import i18n
from broadcaster.messages.markdown import plain_text
from broadcaster.messages.visibility import PublicIncident
from broadcaster.site import status as st
from broadcaster.site.feeds import URN_PREFIX
from broadcaster.site.pages import incident_path

CALENDAR = "maintenance.ics"
PRODID = "-//broadcaster//maintenance calendar//EN"
REFRESH = timedelta(hours=1)  # what the page's own caching allows; calendars poll no faster

# The names the format itself prints (what the library writes around our text). They are here as
# literals for the egress guard's own words (broadcaster.own_words): a customer named "Interval"
# must not keep a window off the page because the calendar says REFRESH-INTERVAL. A test checks
# that every name a built calendar holds is listed.
FRAME = (
    "BEGIN", "END", "VCALENDAR", "VEVENT", "VERSION", "PRODID", "NAME", "X-WR-CALNAME", "DESCRIPTION",
    "X-WR-CALDESC", "UID", "URL", "REFRESH-INTERVAL", "VALUE", "DURATION", "SUMMARY", "DTSTART", "DTEND",
    "DTSTAMP", "CREATED", "LAST-MODIFIED", "SEQUENCE", "STATUS", "CONFIRMED", "CANCELLED", "PT1H", "LANGUAGE",
)
# The properties that hold words, tagged with the page's language.
TEXTS = ("NAME", "X-WR-CALNAME", "DESCRIPTION", "X-WR-CALDESC", "SUMMARY")


class _Text(vText):
    """A TEXT value escaped by RFC 5545 (3.3.11) alone. icalendar 7 first turns the two characters ``\\N`` into
    a line break, so a Windows share (``\\\\NAS01``) or path (``D:\\Nightly``) reached calendars broken in two."""

    __slots__ = ()

    def to_ical(self) -> bytes:
        text = self.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
        text = text.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")
        return text.encode("utf-8")  # the calendar's, as every other value in it


def _uid(page: PageConfig, name: str) -> str:
    """``name@host``, or ``name@host/path`` for a page below a path of its host: two pages on one host
    (``/eu/`` and ``/us/``) announcing the same work must not share a UID (RFC 5545 wants it unique), and
    a page at the root keeps the UIDs its subscribers' calendars already hold. The path goes after the
    host, where no root page's UID has a '/': ``maintenance-db.eu@host`` could be a root page's window
    ``db.eu``."""
    if not page.base_url:
        return f"{URN_PREFIX}{name}"
    parts = urlsplit(page.base_url)
    if not parts.hostname:
        return f"{URN_PREFIX}{name}"
    path = parts.path.strip("/")
    return f"{name}@{parts.hostname}/{path}" if path else f"{name}@{parts.hostname}"


def sequence(incident: PublicIncident) -> int:
    """How many times the window changed after it was announced, from its stored updates."""
    changes = [u for u in incident.updates if u.kind not in (st.POSTMORTEM, st.REMINDER)]
    # Every correction counts, a second one of the same update too (a view built with only corrected_at
    # has had one).
    corrected = sum(max(u.corrections, u.corrected_at is not None) for u in changes)
    return max(0, len(changes) - 1 + corrected)


def _description(incident: PublicIncident) -> str:
    latest = st.latest_news(incident)
    text = plain_text(latest.message) if latest else ""
    if not st.is_cancelled(incident):
        return text
    # TRANSLATORS: first line of a cancelled maintenance window's description in the calendar.
    cancelled = i18n.gettext("Cancelled.")
    return f"{cancelled}\n\n{text}".strip()


def _in_language(component: Component, language: str) -> Component:
    for name in TEXTS:
        if name in component:
            component[name].params["LANGUAGE"] = language
    return component


def _event(page: PageConfig, incident: PublicIncident) -> Component:
    header = incident.header
    changed = st.last_changed(incident)
    return _in_language(Event.new(
        uid=_uid(page, f"maintenance-{header.id}"),
        stamp=changed,
        last_modified=changed,
        created=st.utc(header.created_at),
        start=st.utc(header.scheduled_start or header.created_at),
        end=st.utc(header.scheduled_end) if header.scheduled_end else None,
        summary=_Text(header.title),
        description=_Text(_description(incident)),
        url=page.base_url + incident_path(header.id) if page.base_url else None,
        sequence=sequence(incident),
        status=STATUS.CANCELLED if st.is_cancelled(incident) else STATUS.CONFIRMED,
    ), page.language)


def build_calendar(page: PageConfig, incidents: Sequence[PublicIncident]) -> bytes:
    """The calendar of the maintenance windows among ``incidents``, by start."""
    calendar = Calendar.new(
        prodid=PRODID,
        uid=_uid(page, "calendar"),
        # TRANSLATORS: the calendar's name in a reader's calendar app, e.g. "Example status: maintenance".
        name=_Text(i18n.gettext("%(page)s: maintenance") % {"page": page.title}),
        description=_Text(i18n.gettext("Scheduled maintenance of %(page)s.") % {"page": page.title}),
        url=page.base_url + CALENDAR if page.base_url else None,
        refresh_interval=REFRESH,
    )
    windows = [i for i in incidents if st.is_maintenance(i.header)]
    for incident in sorted(windows, key=st.start_order):
        calendar.add_component(_event(page, incident))
    _in_language(calendar, page.language)
    data: bytes = calendar.to_ical()
    return data
