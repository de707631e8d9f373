"""Build the off-net status page from public views: HTML, feeds and summary.json.

``build_site`` only accepts ``PublicIncident`` values, cut by
``messages.visibility``: the site cannot print private detail because it never
receives any.

What a build writes:

* always, from ``data.incidents`` (and ``data.uptime`` for the uptime bars and
  ``uptime_90d``): ``index.html``, ``feed.xml``, ``atom.xml``, ``summary.json``
  and the fingerprinted static assets;
* ``incidents/<id>.html`` for each incident in ``pages`` (the changed one on an
  incremental publish, every incident on a full build), plus any incident of
  ``data.incidents`` whose page is missing, so the index never links to
  nothing.

A file is rewritten only when its bytes change, so hosts upload only what
changed and an incremental build costs about the same with 10 or 10,000
incidents on disk. Pages and assets are written before the index, feeds and
JSON that link to them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from broadcaster.config import ComponentConfig, PageConfig
from broadcaster.site import feeds, summary
from broadcaster.site import pages as html
from broadcaster.site.hosts import BuiltSite
from broadcaster.site.output import MANIFEST, SiteWriter
from broadcaster.site.status import utc
from messages.uptime import DayUptime
from messages.visibility import PublicIncident

__all__ = ["MANIFEST", "SiteData", "build_site", "is_immutable"]

_FINGERPRINTED = re.compile(r"[a-z-]+\.[0-9a-f]{8}\.(css|svg)")


@dataclass(frozen=True)
class SiteData:
    """Everything the public site shows, and the clock it is shown at."""

    page: PageConfig
    components: tuple[ComponentConfig, ...]
    # Open incidents, scheduled maintenance and incidents closed within history_days.
    incidents: tuple[PublicIncident, ...]
    now: datetime  # tz-aware UTC; decides what is "past" and "upcoming"; printed nowhere
    # Component id -> its last 90 days (messages.uptime.daily), oldest first. A component
    # without an entry gets no uptime bar and a null uptime_90d.
    uptime: Mapping[str, tuple[DayUptime, ...]] = field(default_factory=dict)


def build_site(
    data: SiteData, output_dir: Path, *, pages: Iterable[PublicIncident] = ()
) -> BuiltSite:
    """Write the site into ``output_dir`` and return every file's hash.

    ``pages`` may be a generator streamed from the store: each page is written
    as soon as it is rendered, so a full build holds one incident at a time.
    Raises DeliveryError (permanent) when the directory cannot be written.
    """
    writer = SiteWriter(output_dir)
    try:
        _write_site(writer, data, pages, utc(data.now))
    except BaseException:
        writer.abandon()
        raise
    return writer.finish()


def _write_site(
    writer: SiteWriter, data: SiteData, pages: Iterable[PublicIncident], now: datetime
) -> None:
    for asset in html.assets().values():
        writer.write(asset.path, asset.data)
    done = _write_pages(writer, data, pages)
    missing = [
        i
        for i in data.incidents
        if i.header.id not in done and not writer.exists(html.incident_path(i.header.id))
    ]
    _write_pages(writer, data, missing)
    writer.flush()  # every page on disk before anything links to it
    feed = feeds.build_feeds(data.page, data.components, data.incidents, now)
    writer.write("feed.xml", feed.rss)
    writer.write("atom.xml", feed.atom)
    json = summary.build_summary(data.page, data.components, data.incidents, now, data.uptime)
    writer.write("summary.json", json)
    index = html.render_index(data.page, data.components, data.incidents, now, data.uptime)
    writer.write("index.html", index)


def _write_pages(
    writer: SiteWriter, data: SiteData, incidents: Iterable[PublicIncident]
) -> set[str]:
    done = set()
    for incident in incidents:
        body = html.render_incident(data.page, data.components, incident)
        writer.write(html.incident_path(incident.header.id), body)
        done.add(incident.header.id)
    return done


def is_immutable(path: str) -> bool:
    """Whether a site path is a fingerprinted asset, safe to cache for a year.

    Hosts may send ``Cache-Control: public, max-age=31536000, immutable`` for
    these: a changed stylesheet gets a new name. Old names are kept on disk
    because incident pages built earlier still link to them.
    """
    return _FINGERPRINTED.fullmatch(path) is not None
