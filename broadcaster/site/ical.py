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

Since the same data gives the same bytes, each page's last calendar is kept between
commands (``broadcaster.kept``) under the hash of all it is made from: the page's
settings, the windows it shows, the language, and the sources of the code that
writes it (each file's size and time, as Python's own compiled modules are
checked) with icalendar's installed version. A post that changes no window then
writes the kept bytes and never loads icalendar, about 30 ms of CPU on the path
to its first upload.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import pickle
import sys
from collections.abc import Iterator, Sequence
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from broadcaster import kept
from broadcaster.config import PageConfig
from broadcaster.messages import i18n
from broadcaster.messages.markdown import plain_text_with_links
from broadcaster.messages.visibility import PublicIncident
from broadcaster.site import status as st
from broadcaster.site.feeds import URN_PREFIX
from broadcaster.site.pages import incident_path

if TYPE_CHECKING:
    from icalendar import Component, vText

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


@cache
def _text_type() -> type[vText]:
    """icalendar's TEXT value, loaded when a calendar is written rather than kept."""
    from icalendar import vText

    class _Text(vText):
        """A TEXT value escaped by RFC 5545 (3.3.11) alone. icalendar 7 first turns the two characters ``\\N``
        into a line break, so a Windows share (``\\\\NAS01``) or path (``D:\\Nightly``) reached calendars broken
        in two."""

        __slots__ = ()

        def to_ical(self) -> bytes:
            text = self.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            text = text.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")
            return text.encode("utf-8")  # the calendar's, as every other value in it

    return _Text


def _text(value: str) -> vText:
    return _text_type()(value)


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
    text = plain_text_with_links(latest.message) if latest else ""
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
    from icalendar import STATUS, Event

    header = incident.header
    changed = st.last_changed(incident)
    return _in_language(Event.new(
        uid=_uid(page, f"maintenance-{header.id}"),
        stamp=changed,
        last_modified=changed,
        created=st.utc(header.created_at),
        start=st.utc(header.scheduled_start or header.created_at),
        end=st.utc(header.scheduled_end) if header.scheduled_end else None,
        summary=_text(header.title),
        description=_text(_description(incident)),
        url=page.base_url + incident_path(header.id) if page.base_url else None,
        sequence=sequence(incident),
        status=STATUS.CANCELLED if st.is_cancelled(incident) else STATUS.CONFIRMED,
    ), page.language)


def build_calendar(page: PageConfig, incidents: Sequence[PublicIncident]) -> bytes:
    """The calendar of the maintenance windows among ``incidents``, by start: the kept one when it was made
    from the same."""
    windows = sorted((i for i in incidents if st.is_maintenance(i.header)), key=st.start_order)
    key = _key(page, windows)
    if key is not None:
        made = kept.read(_kept_as(page))
        if made is not None and made.startswith(key + b"\n"):
            return made[len(key) + 1:]
    data = _calendar(page, windows)
    if key is not None:
        kept.write(_kept_as(page), key + b"\n" + data)
    return data


def _kept_as(page: PageConfig) -> str:
    """One file per page (its settings' hash): two projects on one machine, or a test suite, do not write over each
    other's calendar at every post; a page's own next calendar replaces its last."""
    try:
        settings = pickle.dumps(page, protocol=5)
    except Exception:  # noqa: BLE001 - never a reason for a build to fail; ``_key`` makes none of it kept then
        settings = b""
    return f"broadcaster-maintenance-{hashlib.sha256(settings).hexdigest()[:16]}.ics"


def _calendar(page: PageConfig, windows: Sequence[PublicIncident]) -> bytes:
    from icalendar import Calendar

    calendar = Calendar.new(
        prodid=PRODID,
        uid=_uid(page, "calendar"),
        # TRANSLATORS: the calendar's name in a reader's calendar app, e.g. "Example status: maintenance".
        name=_text(i18n.gettext("%(page)s: maintenance") % {"page": page.title}),
        description=_text(i18n.gettext("Scheduled maintenance of %(page)s.") % {"page": page.title}),
        url=page.base_url + CALENDAR if page.base_url else None,
        refresh_interval=REFRESH,
    )
    for incident in windows:
        calendar.add_component(_event(page, incident))
    _in_language(calendar, page.language)
    data: bytes = calendar.to_ical()
    return data


def _key(page: PageConfig, windows: Sequence[PublicIncident]) -> bytes | None:
    """The hash of all a calendar is made from; None for values that cannot be pickled (made every time)."""
    try:
        made_from = pickle.dumps((page, list(windows), i18n.current_language()), protocol=5)
        stamp = _code_stamp()
    except Exception:  # noqa: BLE001 - never a reason for a build to fail: the calendar is made instead
        return None
    digest = hashlib.sha256(made_from)
    digest.update(stamp)
    return digest.hexdigest().encode()


@cache
def _code_stamp() -> bytes:
    """Python's version, the installed distributions beside icalendar with their versions (icalendar, and
    markdown-it and nh3, which write each window's description) and each source of the site and the messages (the
    words, the catalogues, the views): path, size and time; a source that cannot be read, as such."""
    stamp = [sys.version]
    spec = importlib.util.find_spec("icalendar")
    if spec is None or spec.origin is None:
        raise ImportError("icalendar is not installed where it can be stamped")
    installed = Path(spec.origin).parent.parent
    stamp += sorted(name for name in os.listdir(installed) if name.endswith((".dist-info", ".egg-info")))
    stamp += [f"{path}|{size}|{mtime}" for path, size, mtime in _sources("broadcaster.site", "broadcaster.messages")]
    return "\n".join(stamp).encode("utf-8", errors="surrogateescape")


def _sources(*packages: str) -> Iterator[tuple[str, int | str, int | str]]:
    for name in packages:
        spec = importlib.util.find_spec(name)
        for top in (spec.submodule_search_locations or []) if spec else []:
            for folder, subfolders, files in os.walk(top):
                subfolders[:] = sorted(f for f in subfolders if f != "__pycache__")
                for file in sorted(files):
                    path = os.path.join(folder, file)
                    try:
                        info = os.stat(path)
                    except OSError:  # a dangling link (an editor's lock file), a file taken away mid-upgrade
                        yield path, "-", "-"
                        continue
                    yield path, info.st_size, info.st_mtime_ns
