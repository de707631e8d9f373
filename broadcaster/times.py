"""Times as operators type them: ``30m``, ``2h``, ``1h30m``, ``2d``, ``15:30``, or ISO 8601."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from broadcaster import lazy_re
from broadcaster.errors import InputError

# ``30m``, ``2h``, ``1h30m``, ``2d``, and the everyday spellings of the same: ``in 2h``, ``2 hours``,
# ``30 mins``, ``1h30`` (two digits of minutes after hours). A bare number is never a duration:
# ``1530`` is not 1530 minutes.
_DURATION = lazy_re.compile(
    r"^(?:in\s+)?(?:(\d+)\s*d(?:ays?)?)?\s*(?:(\d+)\s*h(?:(?:ou)?rs?)?)?\s*(?:(\d+)\s*m(?:in(?:ute)?s?)?)?$",
    re.IGNORECASE,
)
_HOURS_MINUTES = lazy_re.compile(r"^(?:in\s+)?(\d+)\s*h\s*([0-5]\d)$", re.IGNORECASE)
# ``16h00``: how much of Europe writes the time of day 16:00, and the ``1h30`` form of a 16-hour span. An hour of
# two digits (``09h30`` too: nobody pads a span's hours) with two digits of minutes is refused (never a promise 16
# hours away without a word); ``1h30`` stays a span.
_CLOCK_WITH_H = lazy_re.compile(r"^([01]\d|2[0-3])\s*h\s*([0-5]\d)$", re.IGNORECASE)
_CLOCK = lazy_re.compile(r"^(\d{1,2}):(\d{2})(?:\s*(utc|z))?$", re.IGNORECASE)


# Times an operator may give: a year back (a window already begun) to two years ahead.
# Anything further is a typo, and a time near the calendar's ends cannot even be
# shown in every zone (9999-12-31T23:30Z in Berlin is year 10000).
WINDOW_BACK = timedelta(days=365)
WINDOW_AHEAD = timedelta(days=2 * 365)
# The longest maintenance window an --end given as a time of day may make (see lifecycle), and how far
# ahead a promise given as a time of day already past today may be taken as tomorrow's.
MAX_CLOCK_WINDOW = timedelta(hours=12)
# The times promised to readers. "15:11" typed at 15:21 (or "16:00" meant as UTC on a Berlin page)
# is a slip, not a promise for tomorrow afternoon that `list` and `tick` would not call late for a
# day; "01:00" typed at 23:00 is tonight's. A maintenance --start or an invite's --expires may well
# be tomorrow's time of day, and --end counts from --start (lifecycle checks the window itself).
PROMISES = frozenset({"--etr", "--next-update"})


def is_duration(text: str) -> bool:
    """Whether ``text`` is a span from now (``30m``, ``2h``, ``1h30m``, ``2d``, ``in 2 hours``)."""
    return _duration(text) is not None


def _duration(text: str) -> timedelta | None:
    value = text.strip()
    found = _DURATION.match(value)
    if value and found is not None and any(found.groups()):
        days, hours, minutes = (int(g) if g else 0 for g in found.groups())
        return timedelta(days=days, hours=hours, minutes=minutes)
    found = _HOURS_MINUTES.match(value)
    if found is not None:
        return timedelta(hours=int(found.group(1)), minutes=int(found.group(2)))
    return None


def is_clock_time(text: str) -> bool:
    """Whether ``text`` is a time of day (``15:30``, ``15:30 UTC``), taken at its next occurrence."""
    return _CLOCK.match(text.strip()) is not None


def format_duration(span: timedelta) -> str:
    """``23 h 30 min``: a span as an operator reads it."""
    hours, minutes = divmod(int(span.total_seconds()) // 60, 60)
    return " ".join(part for part in (f"{hours} h" if hours else "", f"{minutes} min" if minutes else "") if part) or "0 min"


def parse_time(text: str, *, now: datetime, zone: ZoneInfo, option: str = "time") -> datetime:
    """A point in time from operator input, as an aware UTC datetime.

    ``30m``/``2h``/``1h30m``/``2d`` count from ``now``; ``15:30`` is today in
    ``zone`` (tomorrow if already passed; ``15:30 UTC`` forces UTC); anything
    else must be ISO 8601 (a naive one is read in ``zone``). Refused
    (``InputError``) outside ``check_window`` of ``now``, and for an ``option``
    in ``PROMISES``, a time of day past today whose next occurrence is more
    than ``MAX_CLOCK_WINDOW`` away.
    """
    try:
        parsed = _parse(text, now=now, zone=zone, option=option)
    except OverflowError:
        parsed = None
    if parsed is None:
        raise _outside(text, now, option)
    check_window(parsed, now, option, text)
    return parsed


def check_window(value: datetime, now: datetime, option: str, text: str | None = None) -> None:
    """Refuse a time more than a year before ``now`` or two years after it."""
    if not now - WINDOW_BACK <= value <= now + WINDOW_AHEAD:
        raise _outside(text or value.isoformat(), now, option)


def _outside(text: str, now: datetime, option: str) -> InputError:
    return InputError(
        f"{option} {text!r} is outside the times broadcaster accepts: from {(now - WINDOW_BACK):%Y-%m-%d} "
        f"to {(now + WINDOW_AHEAD):%Y-%m-%d} (a year back to two years ahead). Check the date; nothing was "
        "stored or sent."
    )


def _parse(text: str, *, now: datetime, zone: ZoneInfo, option: str) -> datetime:
    value = text.strip()
    _refuse_clock_with_h(value, text, option)
    duration = _duration(value)
    if duration is not None:
        return (now + duration).astimezone(UTC)
    clock = _CLOCK.match(value)
    if clock:
        clock_zone: tzinfo = UTC if clock.group(3) else zone
        found = _next_clock_time(int(clock.group(1)), int(clock.group(2)), now, clock_zone, text, option)
        if option in PROMISES:
            _refuse_passed_today(found, now, clock_zone, text, option)
        return found
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError:
        raise InputError(
            f"{option} {text!r} is not a time. Use 30m, 2h, 1h30m, 2d, 15:30 (read in the page's time zone, {zone.key}; "
            "only \"UTC\" may follow it, as in 15:30 UTC) or an ISO time like 2026-11-25T15:30Z."
        ) from None
    if parsed.tzinfo is None:
        parsed = _local(parsed, zone, text, option)
        _refuse_twice(parsed, zone, text, option)
    return parsed.astimezone(UTC)


def _refuse_twice(wall: datetime, zone: tzinfo, text: str, option: str) -> None:
    """A naive date and time the clocks pass twice (the hour they go back) is refused rather than taken as its first
    occurrence: a window typed for 02:30 on that night, meant after the change, was announced an hour early."""
    found = _occurrences(wall.replace(tzinfo=None), zone)
    if len(found) < 2:
        return
    first, second = (f"{t.isoformat(timespec='minutes')}" for t in found)
    # Measured, not assumed: Lord Howe Island's clocks go back half an hour.
    gap = found[1].astimezone(UTC) - found[0].astimezone(UTC)
    later = "an hour later" if gap == timedelta(hours=1) else f"{format_duration(gap)} later"
    raise InputError(
        f"{option} {text!r} happens twice in {zone}: the clocks go back that night (daylight saving time ends), so it "
        f"is {first} ({found[0]:%Z}) or {later}, {second} ({found[1]:%Z}). Give it with its offset, as one of "
        "these, or in UTC. Nothing was stored or sent."
    )


def _refuse_clock_with_h(value: str, text: str, option: str) -> None:
    """``16h00`` is a time of day or a 16-hour span: which is meant is never guessed (``in 16h00`` is a span)."""
    found = _CLOCK_WITH_H.match(value)
    if found is None:
        return
    hour, minute = found.groups()
    span = f"{hour}h" + (f"{minute}m" if minute != "00" else "")
    raise InputError(
        f"{option} {text!r} may be a time of day or a span of {hour} hours: write {hour}:{minute} for a time of day, "
        f"{span} for a duration. Nothing was stored or sent."
    )


def _next_clock_time(hour: int, minute: int, now: datetime, zone: tzinfo, text: str, option: str) -> datetime:
    if hour > 23 or minute > 59:
        raise InputError(f"{option} {text!r} is not a time of day (00:00 to 23:59).")
    today = now.astimezone(zone).replace(tzinfo=None)
    for days in (0, 1):
        wall = (today + timedelta(days=days)).replace(hour=hour, minute=minute, second=0, microsecond=0)
        # Compared in UTC: within the hour the clocks go back, a wall-clock comparison takes a time
        # already past (its first occurrence) for one to come.
        found = _occurrences(wall, zone)
        if not found and wall > today:  # the next such time is skipped tonight: never silently a day later
            _local(wall, zone, text, option)
        later = [t for t in found if t > now]
        if len(later) > 1:  # both to come (the clocks go back tonight): never silently the first
            _refuse_twice(wall, zone, text, option)
        if later:
            return later[0].astimezone(UTC)
    return _local(wall, zone, text, option).astimezone(UTC)  # the only way here: a time that does not exist


def _refuse_passed_today(found: datetime, now: datetime, zone: tzinfo, text: str, option: str) -> None:
    """A time of day already past today, whose next occurrence is more than ``MAX_CLOCK_WINDOW`` away, is refused."""
    if found - now <= MAX_CLOCK_WINDOW or found.astimezone(zone).date() == now.astimezone(zone).date():
        return
    local = found.astimezone(zone)
    iso = f"{local:%Y-%m-%dT%H:%M}" + ("Z" if zone is UTC else "")
    raise InputError(
        f"{option} {text!r} has passed today (it is {now.astimezone(zone):%H:%M %Z}): taken as tomorrow it would be "
        f"{format_duration(found - now)} away. If you mean tomorrow, give a date and time ({iso}); for a time from "
        "now, a duration (30m, 2h). Nothing was stored or sent."
    )


def _occurrences(wall: datetime, zone: tzinfo) -> list[datetime]:
    """Each moment a wall-clock time names in ``zone``: none in the hour the clocks skip, two in the one they repeat."""
    found: dict[datetime, datetime] = {}  # keyed by the UTC instant: same-zone comparison ignores fold
    for fold in (0, 1):
        moment = wall.replace(tzinfo=zone, fold=fold)
        instant = moment.astimezone(UTC)
        if instant.astimezone(zone).replace(tzinfo=None) == wall:
            found.setdefault(instant, moment)
    return [found[instant] for instant in sorted(found)]


def _local(wall: datetime, zone: tzinfo, text: str, option: str) -> datetime:
    """A naive time read in ``zone``; one the clocks skip (a DST change) is refused rather than moved an hour."""
    found = _occurrences(wall, zone)
    if not found:
        raise InputError(
            f"{option} {text!r} does not exist in {zone}: the clocks skip that hour on {wall:%Y-%m-%d} "
            "(daylight saving time). Give a time outside it, or in UTC (15:30 UTC, or ISO with Z)."
        )
    return found[0]


def format_time(value: datetime, zone: ZoneInfo | None = None) -> str:
    """``15:30 UTC`` (and ``16:30 CET`` when the display zone differs, with its own date when that is another day:
    ``2027-01-11 04:00 UTC (2027-01-10 20:00 PST)``. Without it, a window at 20:00 in Los Angeles or 00:30 in Berlin
    read as that hour of the UTC date, and its readers came a day late or early)."""
    utc = value.astimezone(UTC)
    text = utc.strftime("%Y-%m-%d %H:%M UTC")
    if zone is not None and zone.key not in ("UTC", "Etc/UTC"):
        local = value.astimezone(zone)
        shown = "%H:%M %Z" if local.date() == utc.date() else "%Y-%m-%d %H:%M %Z"
        text += f" ({local.strftime(shown)})"
    return text
