"""The RSS 2.0 and Atom feeds: one entry per public update, newest first.

A postmortem is an entry of its own ("[Postmortem] <title>") that links to the
postmortem section of the incident page; a maintenance reminder is titled
"[Reminder] <title>". Every other entry is titled by the update's status. A
postmortem published again is one entry, as on the page: its newest version
(``status.postmortem``), under that version's own id.

Everything in a feed comes from the data, never from the clock, so building
the same data twice gives the same bytes and readers never see phantom
changes: entry ids are derived from the incident id and update sequence, the
feed's ``updated``/``lastBuildDate`` is the newest update's time (with none, a
date from the data: the newest change the page showed, or ``NEVER``).

feedgen pitfalls handled here: ``add_entry`` prepends unless told to append;
the RSS channel ``<link>`` is the last link added (so the site link goes last);
``updated`` and ``lastBuildDate`` default to now; naive datetimes raise.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from feedgen.feed import FeedEntry, FeedGenerator  # type: ignore[import-untyped]

from broadcaster.config import ComponentConfig, PageConfig
from broadcaster.messages import i18n
from broadcaster.messages.model import Component
from broadcaster.messages.visibility import PublicIncident, PublicView
from broadcaster.messages.words import kind_label
from broadcaster.site import status as st
from broadcaster.site.fragments import Names, Times
from broadcaster.site.longform import excerpt
from broadcaster.site.pages import component_folder, incident_path, template

MAX_ENTRIES = 100  # enough for every update of a bad week; readers keep older ones themselves
# A postmortem's entry carries its beginning and links to the rest: a book-length postmortem
# would otherwise be rendered, checked and uploaded again with every later post, twice.
POSTMORTEM_EXCERPT_CHARS = 2000
URN_PREFIX = "urn:broadcaster:"
NEVER = st.NEVER  # the updated time of a feed without entries, and nothing shown before
# Updates whose entry is titled by their kind, not by their status.
KIND_TITLES = frozenset({st.POSTMORTEM, st.REMINDER})


@dataclass(frozen=True)
class Feeds:
    rss: bytes
    atom: bytes


def entry_id(page: PageConfig, incident_id: str, update: PublicView, prefix: str = "") -> str:
    """Stable across builds: the update's permalink when the page has a public URL. Its anchor counts only
    the updates the page shows (``PublicView.anchor``). ``prefix``: a customer's feed folder (``a/<token>/``),
    whose entries are that customer's versions: their ids are its own (``<base_url>a/<token>/incidents/...``,
    no page: not a permalink), never the public entry's, which readers and aggregators would take for the same
    entry and show one version of where the other is read (review 44c)."""
    if page.base_url:
        return f"{page.base_url}{prefix}{incident_path(incident_id)}#{update.anchor}"
    return f"{URN_PREFIX}{prefix}incidents/{incident_id}#{update.anchor}"


def entry_link(page: PageConfig, incident_id: str, update: PublicView) -> str:
    """Where an entry leads: the update on its incident page, or the postmortem section."""
    anchor = "postmortem" if update.kind == st.POSTMORTEM else update.anchor
    return _link(page, f"{incident_path(incident_id)}#{anchor}")


def entry_title(incident: PublicIncident, update: PublicView) -> str:
    label = kind_label(update.kind) if update.kind in KIND_TITLES else update.status_label
    return f"[{label}] {incident.header.title}"


def _link(page: PageConfig, path: str) -> str:
    # Relative when no base_url is known: resolved against the feed's own address.
    return page.base_url + path


def entries_of(incident: PublicIncident) -> list[PublicView]:
    """The updates a feed shows of ``incident``: each but the postmortem versions a later one replaced.

    The page shows the newest version alone, and so does every feed: an older version left in a feed
    would keep text the page took back (a version may make earlier public text private, and the build
    would then leave the whole incident out of the site, review 36a). Its entry keeps the id of its own
    version (``postmortem-<n>``), not the first one's: a new id is what every reader shows as new (RSS
    readers key on ``guid`` alone and never show a known one again, while a correction, which keeps its
    id, is meant as the same update fixed), and a changed postmortem is news to readers."""
    shown = st.postmortem(incident)
    return [u for u in incident.updates if u.kind != st.POSTMORTEM or u is shown]


def newest_updates(
    incidents: Sequence[PublicIncident], limit: int = MAX_ENTRIES
) -> list[tuple[PublicIncident, PublicView]]:
    """(incident, update) pairs, newest first; ties broken by id so the order is stable."""
    pairs = [(incident, update) for incident in incidents for update in entries_of(incident)]
    pairs.sort(key=lambda p: (st.utc(p[1].created_at), p[0].header.id, p[1].sequence), reverse=True)
    return pairs[:limit]


def _entry(
    generator: FeedGenerator,
    page: PageConfig,
    incident: PublicIncident,
    update: PublicView,
    body: str,
    prefix: str = "",
) -> None:
    header = incident.header
    entry: FeedEntry = generator.add_entry(order="append")
    entry.guid(entry_id(page, header.id, update, prefix), permalink=bool(page.base_url) and not prefix)
    entry.title(entry_title(incident, update))
    entry.link(href=entry_link(page, header.id, update))
    entry.published(st.utc(update.created_at).replace(microsecond=0))
    # A correction rewrites the text in place: readers that track `updated` show it again.
    entry.updated(st.changed_at(update).replace(microsecond=0))
    entry.summary(body, type="html")


@dataclass(frozen=True)
class Channel:
    """Which feed: the whole page's, or one component's (``folder`` "components/<id>/")."""

    feed_id: str
    title: str
    description: str
    folder: str = ""


def site_channel(page: PageConfig) -> Channel:
    return Channel(
        page.base_url or f"{URN_PREFIX}status",
        page.title,
        page.description or i18n.gettext("Incident and maintenance updates from %(page)s.") % {"page": page.title},
    )


def audience_channel(page: PageConfig, folder: str) -> Channel:
    """A customer's feeds (``folder``: ``a/<token>/``): the site's title and words, under an id of their own, not
    the public feed's (an Atom feed's id names one feed: a reader taking the two for one would mix them)."""
    public = site_channel(page)
    return Channel(f"{page.base_url}{folder}" if page.base_url else f"{URN_PREFIX}{folder}", public.title,
                   public.description)


def component_channel(page: PageConfig, component: Component) -> Channel:
    folder = component_folder(component.id)
    names = {"page": page.title, "component": component.name}
    return Channel(
        f"{page.base_url}{folder}" if page.base_url else f"{URN_PREFIX}{folder}",
        # TRANSLATORS: the title of one component's feed, e.g. "Example status: API".
        i18n.gettext("%(page)s: %(component)s") % names,
        i18n.gettext("Incident and maintenance updates about %(component)s from %(page)s.") % names,
        folder,
    )


def _generator(page: PageConfig, channel: Channel, updated: datetime) -> FeedGenerator:
    generator = FeedGenerator()
    generator.id(channel.feed_id)
    generator.title(channel.title)
    generator.description(channel.description)
    generator.author({"name": page.title})
    generator.language(page.language)
    generator.generator("broadcaster")
    moment = st.utc(updated).replace(microsecond=0)
    generator.updated(moment)
    generator.lastBuildDate(moment)
    return generator


def _links(generator: FeedGenerator, page: PageConfig, self_path: str, media_type: str, prefix: str) -> None:
    links = []
    if page.base_url:
        links.append({"href": page.base_url + self_path, "rel": "self", "type": media_type})
    # Last, because feedgen makes the last link the RSS channel's <link>. A customer's feeds point to its own
    # page; a component's feeds to the page they are part of (there is no page per component).
    links.append({"href": _link(page, prefix + "index.html"), "rel": "alternate", "type": "text/html"})
    generator.link(links, replace=True)


def build_feeds(
    page: PageConfig,
    components: Sequence[ComponentConfig],
    incidents: Sequence[PublicIncident],
    quiet: datetime = NEVER,
    channel: Channel | None = None,
    prefix: str = "",
    bodies: dict[tuple[str, PublicView], str] | None = None,
    whole: Collection[str] = (),
) -> Feeds:
    """Render feed.xml and atom.xml for the updates of ``incidents`` (in ``channel``'s folder); ``prefix`` is
    where they are (a customer's ``a/<token>/``), for their self links and, a customer's, for the feed's and
    its entries' ids (``audience_channel``, ``entry_id``). ``quiet``: the feed's date when
    ``incidents`` have no update (``status.updated_at``), a date from the data, never the clock. ``bodies``:
    the entries' HTML already rendered, by incident id and the view itself (equal only to a view of the same kind
    and every field the same: one reader's entry is never another's), and where new ones go. ``whole``: ids of
    the incidents whose postmortem entry holds all of it, not its first ``POSTMORTEM_EXCERPT_CHARS``: one whose
    text the incident page (where the cut entry's link leads) does not hold whole, such as a customer's own."""
    channel = channel or (audience_channel(page, prefix) if prefix else site_channel(page))
    pairs = newest_updates(incidents)
    updated = max((st.changed_at(u) for _, u in pairs), default=None) or st.updated_at(incidents, quiet)
    generator = _generator(page, channel, updated)
    bodies = {} if bodies is None else bodies
    context = {"times": Times(page.timezone), "names": Names(components)}
    for incident, update in pairs:
        key = (incident.header.id, update)
        if key not in bodies:
            bodies[key] = _entry_body(page, context, incident, update, whole=incident.header.id in whole)
        _entry(generator, page, incident, update, bodies[key], prefix)
    _links(generator, page, prefix + channel.folder + "feed.xml", "application/rss+xml", prefix)
    rss = generator.rss_str(pretty=True)
    _links(generator, page, prefix + channel.folder + "atom.xml", "application/atom+xml", prefix)
    atom = generator.atom_str(pretty=True)
    return Feeds(rss=rss, atom=atom)


def _entry_body(
    page: PageConfig, context: dict[str, Any], incident: PublicIncident, update: PublicView, *, whole: bool = False
) -> str:
    """One entry's HTML: the same in every feed that shows the update (``whole``: a postmortem not cut)."""
    text, cut = update.message, False
    if update.kind == st.POSTMORTEM and not whole:
        text, cut = excerpt(update.message, POSTMORTEM_EXCERPT_CHARS)
    link = entry_link(page, incident.header.id, update)
    return template("feed_entry.html").render(context, update=update, text=text, cut=cut, link=link).strip()


def touches(incident: PublicIncident, component_id: str) -> bool:
    """Whether the incident or maintenance names the component, in its header or any update."""
    named = {c.id for c in incident.header.components}
    named.update(c.id for u in incident.updates for c in u.components)
    return component_id in named


def build_component_feeds(
    page: PageConfig,
    components: Sequence[ComponentConfig],
    incidents: Sequence[PublicIncident],
) -> list[tuple[str, bytes]]:
    """``components/<id>/feed.xml`` and ``atom.xml``: only what touches that component, bounded as the site's."""
    files = []
    bodies: dict[tuple[str, PublicView], str] = {}  # an update naming every component is rendered once, not once a feed
    for entry in components:
        component = entry.component
        channel = component_channel(page, component)
        mine = [i for i in incidents if touches(i, component.id)]
        # A feed with nothing to tell is dated NEVER: not the clock (phantom changes), and not the
        # site's newest update, which would rewrite and upload every quiet component's feeds with each post.
        feeds = build_feeds(page, components, mine, NEVER, channel, bodies=bodies)
        files += [(channel.folder + "feed.xml", feeds.rss), (channel.folder + "atom.xml", feeds.atom)]
    return files
