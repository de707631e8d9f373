"""Status badges: ``badge.svg`` for the page, ``badges/<component id>.svg`` for each component.

Shields' "flat" look (grey label, coloured message, rounded corners), so a
badge sits well beside the other badges of a README. Text is drawn at ten
times the size and scaled down (shields' trick for even glyph spacing), and
``textLength`` pins each text to the width worked out here, so the badge
looks right whichever font the viewer has. Widths come from a rough model of
Verdana at 11 px (narrow, wide and capital letters); ``textLength`` absorbs
its error. ``role="img"`` and ``<title>`` give screen readers "label: message";
``role="img"`` makes the texts (and their drop-shadow copies) presentational, so
they are not read again. No ``aria-label``/``aria-hidden``: the W3C checker's
SVG schema refuses them, and the title already names the image.

A badge stays under ``MAX_BYTES``: a long component name is shortened.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import datetime

from markupsafe import escape

from broadcaster.config import ComponentConfig, PageConfig
from broadcaster.messages.model import ComponentStatus
from broadcaster.messages.visibility import PublicIncident
from broadcaster.site import status as st
from broadcaster.site.pages import safe_name

MAX_BYTES = 2048
BADGE_DIR = "badges"
PAGE_BADGE = "badge.svg"

# Shields' named colours: brightgreen, yellow, orange, red, blue.
COLOURS = {
    "none": "#4c1",
    "minor": "#dfb317",
    "major": "#fe7d37",
    "critical": "#e05d44",
    "maintenance": "#007ec6",
}
_STATUS_LEVEL = {
    ComponentStatus.OPERATIONAL: "none",
    ComponentStatus.DEGRADED_PERFORMANCE: "minor",
    ComponentStatus.PARTIAL_OUTAGE: "major",
    ComponentStatus.MAJOR_OUTAGE: "critical",
    ComponentStatus.UNDER_MAINTENANCE: "maintenance",
}
# Advance widths in px at 11 px, by kind of letter (Verdana's, roughly).
_NARROW = dict.fromkeys("ijl|!.,:;'", 3.2) | dict.fromkeys("ftI()[]{}-/", 4.6) | dict.fromkeys("rsJ", 5.5)
_WIDE = dict.fromkeys("mwMW@%", 10.5) | dict.fromkeys("ODGHNQU&", 8.4)
_SPACE, _DIGIT, _LOWER, _UPPER, _OTHER = 3.9, 7.0, 6.7, 7.5, 7.5

_TEMPLATE = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="20" role="img">'
    "<title>{title}</title>"
    '<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/>'
    '<stop offset="1" stop-opacity=".1"/></linearGradient>'
    '<clipPath id="r"><rect width="{w}" height="20" rx="3" fill="#fff"/></clipPath>'
    '<g clip-path="url(#r)"><rect width="{lw}" height="20" fill="#555"/>'
    '<rect x="{lw}" width="{mw}" height="20" fill="{colour}"/><rect width="{w}" height="20" fill="url(#s)"/></g>'
    '<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" '
    'text-rendering="geometricPrecision" font-size="110">'
    '<text x="{lx}" y="150" fill="#010101" fill-opacity=".3" transform="scale(.1)" '
    'textLength="{lt}">{label}</text>'
    '<text x="{lx}" y="140" transform="scale(.1)" textLength="{lt}">{label}</text>'
    '<text x="{mx}" y="150" fill="#010101" fill-opacity=".3" transform="scale(.1)" '
    'textLength="{mt}">{message}</text>'
    '<text x="{mx}" y="140" transform="scale(.1)" textLength="{mt}">{message}</text></g></svg>\n'
)


def _char_width(char: str) -> float:
    base = unicodedata.normalize("NFD", char)[:1] or char  # å -> a: accents barely change the width
    if base in _NARROW:
        return _NARROW[base]
    if base in _WIDE:
        return _WIDE[base]
    if base == " ":
        return _SPACE
    if base.isdigit():
        return _DIGIT
    if base.islower():
        return _LOWER
    return _UPPER if base.isupper() else _OTHER


def text_width(text: str) -> int:
    """The text's width in px, odd (shields centres on a whole pixel that way)."""
    width = int(sum(_char_width(c) for c in text))
    return width if width % 2 else width + 1


def render_badge(label: str, message: str, level: str) -> bytes:
    """A flat badge "label | message" coloured for ``level`` (an indicator: none ... maintenance)."""
    while True:
        svg = _render(label, message, COLOURS[level])
        if len(svg) < MAX_BYTES or len(label) <= 1:
            return svg
        label = label[: max(1, len(label) - 8)].rstrip() + "…"


def _render(label: str, message: str, colour: str) -> bytes:
    lt, mt = text_width(label), text_width(message)
    lw, mw = lt + 10, mt + 10
    return _TEMPLATE.format(
        w=lw + mw, lw=lw, mw=mw, colour=colour, lt=lt * 10, mt=mt * 10,
        lx=(lw * 10) // 2, mx=(lw + mw // 2) * 10,
        label=escape(label), message=escape(message), title=escape(f"{label}: {message}"),
    ).encode("utf-8")


def badge_path(component_id: str) -> str:
    return f"{BADGE_DIR}/{safe_name(component_id, 'component id')}.svg"


def build_badges(
    page: PageConfig, components: Sequence[ComponentConfig], incidents: Sequence[PublicIncident], now: datetime
) -> list[tuple[str, bytes]]:
    """The page's badge (its headline) and one per component (its current status)."""
    statuses = st.component_statuses((c.component.id for c in components), incidents, now)
    overall = st.overall(incidents, statuses, now)
    files = [(PAGE_BADGE, render_badge(page.title, overall.description, overall.indicator))]
    for entry in components:
        component = entry.component
        status = statuses[component.id]
        files.append((badge_path(component.id), render_badge(component.name, status.label, _STATUS_LEVEL[status])))
    return files
