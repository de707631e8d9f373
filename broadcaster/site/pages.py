"""The HTML pages: the status page (index.html) and one page per incident.

Rendering is pure: data in, bytes out; ``build.py`` decides what to write.
Every link is relative (``root`` is "" on the index and "../" on an incident
page) so the site works opened from disk and from any static host; only the
canonical and Open Graph URLs are absolute, and only when ``base_url`` is set.

The Jinja environment compiles each template once per process: a full build
renders thousands of incident pages.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import Environment, FileSystemBytecodeCache, FileSystemLoader, StrictUndefined, Template
from jinja2.bccache import Bucket
from markupsafe import Markup

from broadcaster import lazy_re
from broadcaster.config import ComponentConfig, PageConfig
from broadcaster.errors import InputError
from broadcaster.messages import i18n
from broadcaster.messages.markdown import plain_text, render_markdown
from broadcaster.messages.model import Component, ComponentStatus
from broadcaster.messages.uptime import DayUptime
from broadcaster.messages.visibility import PublicIncident, PublicView
from broadcaster.site import status as st
from broadcaster.site.fragments import Fragments, Names, Times, badge, duration, kind_note
from broadcaster.site.longform import render_document
from broadcaster.site.uptime import bars

TEMPLATE_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
INCIDENT_DIR = "incidents"
COMPONENT_DIR = "components"
# Incident ids become file names: refuse anything that could leave incidents/.
_SAFE_ID = lazy_re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
DESCRIPTION_CHARS = 160  # what search results show of a meta description
SUMMARY_CHARS = 240  # the latest update of a past incident, shortened on the index


# -- Static assets -------------------------------------------------------------


@dataclass(frozen=True)
class Asset:
    """A static file under a fingerprinted name, so hosts may cache it for a year."""

    path: str
    data: bytes


@cache
def assets() -> dict[str, Asset]:
    """``{"style": Asset("style.1a2b3c4d.css", ...), "favicon": ...}`` from static/."""
    found = {}
    for source in sorted(STATIC_DIR.iterdir()):
        if source.name.startswith(".") or not source.is_file():
            continue
        data = source.read_bytes()
        fingerprint = hashlib.sha256(data).hexdigest()[:8]
        found[source.stem] = Asset(f"{source.stem}.{fingerprint}{source.suffix}", data)
    return found


# -- Paths and URLs ------------------------------------------------------------


def safe_name(name: str, what: str = "incident id") -> str:
    """``name`` if it can be a file or folder name in the site (it cannot leave its folder)."""
    if not _SAFE_ID.fullmatch(name) or ".." in name:
        raise InputError(
            f"{what} {name!r} cannot be used as a page name. "
            "Use letters, digits, '-', '_' and '.'; nothing was published."
        )
    return name


def incident_path(incident_id: str) -> str:
    """The incident page's path relative to the site root."""
    return f"{INCIDENT_DIR}/{safe_name(incident_id)}.html"


def incident_paths(incident_ids: Iterable[str]) -> dict[str, str]:
    """Each incident's page path; an id that cannot be a file name has none (its page is refused,
    and reported, when it is built)."""
    paths = {}
    for incident_id in incident_ids:
        try:
            paths[incident_id] = incident_path(incident_id)
        except InputError:
            continue
    return paths


def component_folder(component_id: str) -> str:
    """The folder of a component's own feeds, relative to the site root, with a trailing '/'."""
    return f"{COMPONENT_DIR}/{safe_name(component_id, 'component id')}/"


def absolute(page: PageConfig, path: str) -> str | None:
    return page.base_url + path if page.base_url else None


# -- Jinja ---------------------------------------------------------------------


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(",.;:") + "…"


# What decides the Python code jinja compiles a template to, besides the template's own text.
_COMPILING = {
    "extensions": ["jinja2.ext.i18n"], "autoescape": True, "trim_blocks": True, "lstrip_blocks": True,
    "keep_trailing_newline": True,
}


class _CompiledTemplates(FileSystemBytecodeCache):
    """The templates as jinja compiled them, kept between commands in jinja's own per-user folder
    (made private, refused if anyone else owns it): a command that renders skips compiling them,
    about 40 ms. jinja checks the template's text and its own and Python's versions; the key also
    holds what else decides the compiled code: the compiling options, jinja's version and this
    module, where the filters and the gettext calls are set up (a filter that takes the context
    is called otherwise). A cache that cannot be read or written is skipped: never a reason for a
    build to fail."""

    _salt = f"{_COMPILING!r}|{jinja2.__version__}|{hashlib.sha256(Path(__file__).read_bytes()).hexdigest()}"

    def get_cache_key(self, name: str, filename: str | None = None) -> str:
        return super().get_cache_key(f"{self._salt}|{name}", filename)

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # noqa: BLE001 - a damaged file (jinja reads its checksum with pickle, unguarded)
            bucket.reset()  # compiled again, and the file written over

    def dump_bytecode(self, bucket: Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def _compiled_templates() -> _CompiledTemplates | None:
    try:
        return _CompiledTemplates()
    except (OSError, RuntimeError):  # no private folder to be had: compile every time
        return None


@cache
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        undefined=StrictUndefined,
        auto_reload=False,  # templates ship with the package; no stat() per render
        bytecode_cache=_compiled_templates(),
        **_COMPILING,  # type: ignore[arg-type]
    )
    # The language in effect (i18n.speaking) is read at each call, so one environment serves every language.
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=i18n.gettext, ngettext=i18n.ngettext, pgettext=i18n.pgettext, newstyle=True
    )
    # The same as the extension's newstyle `_` and `gettext`, in one call instead of three through
    # the template's context: an incident page says about twenty-five of them, a fifth of its rendering.
    env.globals.update(_=_gettext, gettext=_gettext)
    env.filters["markdown"] = lambda text: Markup(render_markdown(text))
    env.filters["document"] = lambda text: Markup(render_document(text))
    env.filters["summary"] = lambda text: _shorten(plain_text(text), SUMMARY_CHARS)
    env.globals.update(
        incident_path=incident_path,
        component_folder=component_folder,
        duration=duration,
        badge=badge,
        kind_note=kind_note,
        latest_news=st.latest_news,
        postmortem=st.postmortem,
        status_of=st.status_label,
    )
    return env


def _gettext(string: str, /, **variables: Any) -> Markup:
    """Jinja's newstyle ``gettext`` where autoescaping is always on: the translation is markup,
    each variable is escaped into it, and it is always a format string (``%%`` is one ``%``)."""
    if not variables:
        return _label(i18n.current_language(), string)
    return Markup(i18n.gettext(string)) % variables


@lru_cache(maxsize=512)
def _label(language: str, string: str) -> Markup:
    """A template's words without variables ("Status", "Updates"), worked out once per language."""
    with i18n.speaking(language):
        return Markup(i18n.gettext(string)) % {}


@cache
def template(name: str) -> Template:
    return _environment().get_template(name)


# -- Page data -----------------------------------------------------------------


@dataclass(frozen=True)
class ComponentRow:
    component: Component
    status: ComponentStatus


@dataclass(frozen=True)
class Group:
    name: str  # "" for components outside any group
    rows: tuple[ComponentRow, ...]

    @property
    def status(self) -> ComponentStatus:
        return st.worst(row.status for row in self.rows)


def group_components(
    components: Sequence[ComponentConfig], statuses: dict[str, ComponentStatus]
) -> list[Group]:
    """Groups in the order the config first names them; ungrouped components first."""
    rows: dict[str, list[ComponentRow]] = {"": []}
    for entry in components:
        component = entry.component
        rows.setdefault(component.group, []).append(ComponentRow(component, statuses[component.id]))
    return [Group(name, tuple(members)) for name, members in rows.items() if members]


@dataclass(frozen=True)
class Chrome:
    """The head links, site title, nav and footer note: the same on every page of a depth."""

    head_links: Markup
    site_title: Markup
    subscribe: Markup
    time_zones: Markup


@lru_cache(maxsize=16)
def chrome(page: PageConfig, root: str, feeds: str | None = None, private: bool = False) -> Chrome:
    # Rendered once per build and depth instead of once per incident page. ``feeds``: where this
    # page's feeds are (a customer's own, beside its page), by default the site's.
    macros: Any = template("_chrome.html").module
    paths = {name: asset.path for name, asset in assets().items()}
    feeds = root if feeds is None else feeds
    return Chrome(
        head_links=macros.head_links(page, root, paths, feeds, private),
        site_title=macros.site_title(page, root),
        subscribe=macros.subscribe(root, feeds),
        time_zones=macros.time_zones(page, Times(page.timezone).zone is None),
    )


def _common(page: PageConfig, components: Sequence[ComponentConfig], root: str) -> dict[str, Any]:
    times = Times(page.timezone)
    names = Names(components)
    return {
        "page": page,
        "chrome": chrome(page, root),
        "times": times,
        "names": names,
        "html": Fragments(names, times),
    }


def _days(
    incidents: Sequence[PublicIncident], times: Times
) -> list[tuple[str, list[PublicIncident]]]:
    days: dict[str, list[PublicIncident]] = {}
    for incident in incidents:
        days.setdefault(times.day(st.closed_at(incident)), []).append(incident)
    return list(days.items())


def render_index(
    page: PageConfig,
    components: Sequence[ComponentConfig],
    incidents: Sequence[PublicIncident],
    now: datetime,
    uptime: Mapping[str, Sequence[DayUptime]] | None = None,
    *,
    root: str = "",
    statuses_from: Sequence[PublicIncident] | None = None,
    quiet: datetime = st.NEVER,
) -> bytes:
    """The status page; ``uptime`` (component id -> days, oldest first) draws the uptime bars.

    With ``root`` (``"../../"``) it is a customer's private page at ``a/<token>/``: its own
    feeds beside it, the site's pages and assets under ``root``, never indexed, no canonical.
    ``statuses_from``: the incidents the components' statuses and the banner are of, if not those
    listed (a customer's page lists its own, and shows the state of everything as the public page does).
    ``quiet``: its date when none of them is shown (``status.updated_at``); ``NEVER`` prints none.
    """
    everything = incidents if statuses_from is None else statuses_from
    statuses = st.component_statuses((c.component.id for c in components), everything, now)
    active = [i for i in incidents if st.is_active(i.header, now)]
    context = _common(page, components, root=root)
    if root:
        context.update(chrome=chrome(page, root, feeds="", private=True),
                       incident_path=lambda incident_id: root + incident_path(incident_id),
                       component_folder=lambda component_id: root + component_folder(component_id))
    overall = st.overall(everything, statuses, now)
    context.update(
        title=page.title,
        description=page.description or i18n.gettext("%(status)s. Current status of %(page)s.") % {
            "status": overall.description, "page": page.title,
        },
        canonical=None if root else absolute(page, ""),
        og_type="website",
        overall=overall,
        updated=_shown_date(st.updated_at(everything, quiet)),
        groups=group_components(components, statuses),
        current=_by_start([i for i in active if not st.is_maintenance(i.header)]),
        maintenance=_by_start([i for i in active if st.is_maintenance(i.header)]),
        upcoming=_by_start([i for i in incidents if st.is_upcoming(i.header, now)]),
        past_days=_days(st.recently_closed(incidents, now, page.history_days), context["times"]),
        uptime=bars(components, uptime or {}, now),
    )
    return template("index.html").render(context).encode("utf-8")


def _shown_date(updated: datetime) -> datetime | None:
    """The page's "Last updated" date; None (no such line) when nothing was ever shown: the index says
    "No incidents" instead, and never prints the build's clock."""
    return None if updated == st.NEVER else updated


def _by_start(incidents: list[PublicIncident]) -> list[PublicIncident]:
    return sorted(incidents, key=st.start_order)


def render_incident(
    page: PageConfig, components: Sequence[ComponentConfig], incident: PublicIncident
) -> bytes:
    latest: PublicView | None = st.latest_news(incident)
    summary = plain_text(latest.message) if latest else st.status_label(incident)
    context = _common(page, components, root="../")
    postmortem = st.postmortem(incident)
    context.update(
        title=f"{incident.header.title} · {page.title}",
        description=_shorten(summary, DESCRIPTION_CHARS),
        canonical=absolute(page, incident_path(incident.header.id)),
        og_type="article",
        incident=incident,
        header=incident.header,
        timeline=[context["html"].entry(u) for u in st.timeline(incident)],
        postmortem=context["html"].postmortem(postmortem) if postmortem else None,
        is_maintenance=st.is_maintenance(incident.header),
        cancelled=st.is_cancelled(incident),
        started=st.began(incident),  # a window's start: not its announcement
        updated=st.last_changed(incident),
    )
    return template("incident.html").render(context).encode("utf-8")
