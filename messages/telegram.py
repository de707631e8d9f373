"""Telegram messages: one update as ``parse_mode=HTML`` text, split to fit.

The update is first laid out as blocks of styled runs (plain text plus at most
one tag each). Escaping happens last, run by run, so every piece of operator
text reaches Telegram as text: ``<``, ``>`` and ``&`` become entities, and
Markdown-looking characters mean nothing in HTML mode.

Telegram refuses a message over 4096 UTF-16 code units of parsed text. A long
update is cut into several messages at a paragraph break, else a line break,
else a sentence end, else a space (a hard cut only inside a giant word).
Cutting the runs, not the HTML, means no part can end inside a tag or an
entity: each part is valid HTML on its own.

Pure functions of the view: no clock, no I/O.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from broadcaster.messages import i18n
from broadcaster.messages.model import Status
from broadcaster.messages.visibility import AudienceView, PrivateView, UpdateView
from broadcaster.messages.words import audience_heading, kind_label, named_no_detail

from broadcaster import lazy_re

MAX_CHARS = 4096  # Telegram's limit per message, in UTF-16 code units after entity parsing

STATUS_EMOJI = {
    Status.INVESTIGATING: "🔴",
    Status.IDENTIFIED: "🟠",
    Status.MONITORING: "🟡",
    Status.RESOLVED: "🟢",
    Status.SCHEDULED: "🗓",
    Status.IN_PROGRESS: "🔧",
    Status.VERIFYING: "🔎",
    Status.COMPLETED: "✅",
}
CANCELLED_EMOJI = "🚫"  # a window called off: not the completed one's check mark
KIND_LABEL = frozenset({"postmortem", "correction", "reminder"})  # said under the heading


def private_heading() -> str:
    return "🔒 " + i18n.gettext("Private: internal only, never shown publicly")


@dataclass(frozen=True)
class Run:
    """Plain text with one optional tag (``b``, ``i`` or ``a`` with ``href``)."""

    text: str
    tag: str = ""
    href: str = ""

    def html(self) -> str:
        body = html.escape(self.text, quote=False)
        if self.tag == "a":
            return f'<a href="{html.escape(self.href, quote=True)}">{body}</a>'
        return f"<{self.tag}>{body}</{self.tag}>" if self.tag else body


Block = tuple[Run, ...]


def messages(view: UpdateView, limit: int = MAX_CHARS) -> tuple[str, ...]:
    """The update as one or more HTML messages, each within ``limit``, to send in order."""
    return tuple(to_html(part) for part in split(layout(view), limit))


def full_text(view: UpdateView) -> str:
    """The whole update as one HTML text, however long (what preview shows)."""
    return to_html(_join(layout(view)))


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji is often 2)."""
    return len(text.encode("utf-16-le")) // 2


def to_html(runs: Iterable[Run]) -> str:
    return "".join(run.html() for run in runs)


# -- Layout -----------------------------------------------------------------


def layout(view: UpdateView) -> list[Block]:
    """The update's blocks, in reading order; empty fields leave no trace."""
    blocks = [_header(view)]
    blocks += [(Run(p),) for p in _paragraphs(view.message)]
    blocks += [b for b in (_window(view), _components(view), _times(view), _link(view)) if b]
    if isinstance(view, PrivateView):
        blocks += [b for b in (_private(view),) if b]
    if isinstance(view, AudienceView) and view.detail:
        blocks.append((Run(audience_heading(view.audience_name), "b"), Run("\n"), Run(view.detail)))
    return blocks


def _header(view: UpdateView) -> Block:
    label = view.status_label
    if view.incident.kind == "maintenance":
        label = i18n.gettext("Maintenance %(status)s") % {"status": label.lower()}
    title = view.incident.title.strip()
    heading = f"{label}: {title}" if title else label
    emoji = CANCELLED_EMOJI if view.cancelled else STATUS_EMOJI.get(view.status, "")
    runs = [Run(f"{emoji} "), Run(heading, "b")]
    if view.kind in KIND_LABEL:
        runs += [Run("\n"), Run(kind_label(view.kind), "i")]
    return tuple(runs)


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def _window(view: UpdateView) -> Block:
    start, end = view.incident.scheduled_start, view.incident.scheduled_end
    if not start:
        return ()
    text = _when(start, view.created_at)
    if end:
        text = i18n.gettext("%(start)s to %(end)s") % {"start": text, "end": _when(end, start)}
    return (Run(i18n.gettext("Window: "), "b"), Run(text))


def _components(view: UpdateView) -> Block:
    if not view.components:
        return ()
    runs = [Run(i18n.gettext("Components"), "b")]
    for component in view.components:
        runs.append(Run(f"\n• {component.id}: {component.status.label}"))
    return tuple(runs)


def _times(view: UpdateView) -> Block:
    runs: list[Run] = []
    for label, moment in ((i18n.gettext("ETR: "), view.etr), (i18n.gettext("Next update by: "), view.next_update_by)):
        if moment:
            if runs:
                runs.append(Run("\n"))
            runs += [Run(label, "b"), Run(_when(moment, view.created_at))]
    return tuple(runs)


def _when(moment: datetime, reference: datetime) -> str:
    """HH:MM UTC, with the date only when it is not the reference's day."""
    utc = moment.astimezone(UTC)
    if utc.date() == reference.astimezone(UTC).date():
        return utc.strftime("%H:%M UTC")
    return utc.strftime("%Y-%m-%d %H:%M UTC")


def _link(view: UpdateView) -> Block:
    url = view.incident.url
    if not url:
        return ()
    return (Run("🔗 "), Run(i18n.gettext("Incident page"), "a", url))


def _private(view: PrivateView) -> Block:
    fields = (
        (i18n.gettext("Note: "), view.private_note.strip()),
        (i18n.gettext("Customers: "), ", ".join(view.customers)),
        (i18n.gettext("Tickets: "), ", ".join(view.tickets)),
        *((audience_heading(note.name) + " ", note.detail or named_no_detail()) for note in view.audiences),
        (i18n.gettext("Posted by: "), view.author),
    )
    runs = [Run(private_heading(), "b")]
    for label, value in fields:
        if value:
            runs += [Run("\n"), Run(label, "b"), Run(value)]
    return tuple(runs) if len(runs) > 1 else ()


# -- Splitting --------------------------------------------------------------

_PARAGRAPH = lazy_re.compile(r"\n\s*\n")
_LINE = lazy_re.compile(r"\n")
_SENTENCE = lazy_re.compile(r"(?<=[.!?…;])\s|(?<=[。！？])")
_SPACE = lazy_re.compile(r"\s")
_BOUNDARIES = (_PARAGRAPH, _LINE, _SENTENCE, _SPACE)


def _join(blocks: Sequence[Block]) -> list[Run]:
    runs: list[Run] = []
    for index, block in enumerate(blocks):
        if index:
            runs.append(Run("\n\n"))
        runs.extend(block)
    return runs


def split(blocks: Sequence[Block], limit: int = MAX_CHARS) -> list[list[Run]]:
    """The blocks as runs per message, each at most ``limit`` UTF-16 units of text."""
    runs = _join(blocks)
    plain = "".join(run.text for run in runs)
    return [_slice(runs, start, end) for start, end in _ranges(plain, limit)]


def _ranges(plain: str, limit: int) -> list[tuple[int, int]]:
    ranges = []
    start = _skip_space(plain, 0)
    while start < len(plain):
        end = _fit(plain, start, limit)
        if end < len(plain):
            end = _boundary(plain, start, end)
        ranges.append((start, _trim_space(plain, start, end)))
        start = _skip_space(plain, end)
    return [(a, b) for a, b in ranges if b > a]


def _fit(plain: str, start: int, limit: int) -> int:
    """The furthest end such that plain[start:end] is within ``limit`` UTF-16 units."""
    units, end = 0, start
    while end < len(plain):
        units += 2 if ord(plain[end]) > 0xFFFF else 1
        if units > limit:
            break
        end += 1
    return end


def _boundary(plain: str, start: int, end: int) -> int:
    """Where to end a part that cannot hold everything up to ``end``.

    The best kind of break in the second half of the window wins, so no part
    is needlessly short; a giant word is cut, but never inside a character
    sequence such as an emoji with modifiers.
    """
    floor = start + (end - start) // 2
    for pattern in _BOUNDARIES:
        cuts = [m.start() for m in pattern.finditer(plain, floor, end + 1) if m.start() <= end]
        cuts = [cut for cut in cuts if cut > start]
        if cuts:
            return cuts[-1]
    cut = end
    while cut > start + 1 and _joins(plain, cut):
        cut -= 1
    return cut


def _joins(plain: str, cut: int) -> bool:
    """Whether cutting before plain[cut] would break a visible character apart."""
    after, before = plain[cut], plain[cut - 1]
    return (
        unicodedata.combining(after) != 0
        or after in "\u200d\ufe0e\ufe0f"
        or before == "\u200d"
        or 0x1F3FB <= ord(after) <= 0x1F3FF  # skin-tone modifiers
    )


def _skip_space(plain: str, index: int) -> int:
    while index < len(plain) and plain[index].isspace():
        index += 1
    return index


def _trim_space(plain: str, start: int, end: int) -> int:
    while end > start and plain[end - 1].isspace():
        end -= 1
    return end


def _slice(runs: Sequence[Run], start: int, end: int) -> list[Run]:
    """The runs cut to the plain-text range [start, end), each keeping its tag."""
    sliced, offset = [], 0
    for run in runs:
        low, high = max(start, offset), min(end, offset + len(run.text))
        if low < high:
            sliced.append(Run(run.text[low - offset : high - offset], run.tag, run.href))
        offset += len(run.text)
    return sliced
