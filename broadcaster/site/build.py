"""Build the off-net status page from public views: HTML, feeds and summary.json.

``build_site`` only accepts ``PublicIncident`` values, cut by
``messages.visibility``: the site cannot print private detail because it never
receives any. Each comes with the private values of its updates as an opaque
``PrivateValues``, and every file is checked by the egress guard against the
values of the incidents it shows before it is written (defence in depth).

What a build writes:

* always, from ``data.incidents`` (and ``data.uptime`` for the uptime bars and
  ``uptime_90d``): ``index.html``, ``feed.xml``, ``atom.xml``, ``summary.json``,
  Statuspage's ``api/v2/*.json``, ``badge.svg`` and ``badges/<component>.svg``,
  ``maintenance.ics``, ``components/<id>/feed.xml`` and ``atom.xml``, and the
  fingerprinted static assets (``data.archive``, closed incidents older than the
  page's history, is listed in Statuspage's ``incidents.json`` and
  ``scheduled-maintenances.json`` only);
* ``incidents/<id>.html`` for each incident in ``pages`` (the changed one on an
  incremental publish, every incident on a full build), plus any incident of
  ``data.incidents`` whose page is missing, so the index never links to
  nothing.

A build also takes out of the site every file under ``components/``, ``badges/``
and ``a/`` it did not write (a component taken out of the config, a customer's
old token), and the folders they leave empty, so no host keeps serving them as
they last were. Pages, feeds and JSON are dated by the data, never by the clock:
with nothing on the page, by the newest change of the archive, else ``NEVER``.

One bad record never takes the site down: an incident whose page cannot be
rendered, or whose page would hold a private value, is left out (of its page,
the index, the feeds and the JSON) and named in ``BuiltSite.problems``; the
rest of the site is built.

A file is rewritten only when its bytes change, so hosts upload only what
changed and an incremental build costs about the same with 10 or 10,000
incidents on disk. Pages and assets are written before the index, feeds and
JSON that link to them.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cache, partial, reduce
from operator import or_
from pathlib import Path

from broadcaster import lazy_re
from broadcaster.config import ComponentConfig, PageConfig
from broadcaster.errors import InputError, permanent
from broadcaster.messages import i18n
from broadcaster.messages.egress import CALENDAR, Compared, LeakRefused, PrivateValues, Template, guard, readable_text
from broadcaster.messages.uptime import DayUptime
from broadcaster.messages.visibility import PublicIncident, incident_without_text
from broadcaster.own_words import own_words
from broadcaster.site import api, badges, feeds, ical
from broadcaster.site import pages as html
from broadcaster.site import status as st
from broadcaster.site.folder import AUDIENCE_DIR, AUDIENCE_INDEX, AUDIENCE_INDEX_TEXT, close_audience_dir
from broadcaster.site.hosts import BuiltSite
from broadcaster.site.output import MANIFEST, SiteWriter
from broadcaster.site.status import utc

__all__ = ["AUDIENCE_DIR", "MANIFEST", "AudiencePage", "Built", "Page", "SiteData", "build_site", "is_immutable"]

_FINGERPRINTED = lazy_re.compile(r"[a-z-]+\.[0-9a-f]{8}\.(css|svg)")
_NO_VALUES = PrivateValues()
# Folders whose files are each of one configured component: the files of a component the config no
# longer has are taken out of the site by the next build.
_PER_COMPONENT = (html.COMPONENT_DIR + "/", badges.BADGE_DIR + "/")


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
    # Incident id -> the private values of its updates, for the egress guard. Opaque here.
    private: Mapping[str, PrivateValues] = field(default_factory=dict)
    # Customers' private pages and feeds (``[audiences.ID] feed_token``).
    audiences: tuple[AudiencePage, ...] = ()
    # Closed incidents and windows older than history_days (at most api.MOST_RECENT of each): what
    # Statuspage's incidents.json and scheduled-maintenances.json list beyond the page. Their private
    # values are in ``private`` with the others'.
    archive: tuple[PublicIncident, ...] = ()


@dataclass(frozen=True)
class AudiencePage:
    """One customer's private page and feeds in ``folder`` (``a/<token>/``): the incidents it is
    told about, as it reads them, and per incident what its files must not hold (internal
    detail, every other customer's name and detail). ``label`` names it in problems: the
    folder is a capability and is never printed."""

    label: str
    folder: str
    incidents: tuple[PublicIncident, ...]
    private: Mapping[str, PrivateValues] = field(default_factory=dict)


@dataclass(frozen=True)
class Page:
    """One incident page to write, the private values it must not hold, and the version of the
    store's record it was cut from (None: unknown, not recorded).

    ``private`` may be a function giving them: they are worked out only for a page that
    changed, since an unchanged page was checked when it was written.
    """

    incident: PublicIncident
    private: PrivateValues | Callable[[], PrivateValues] = _NO_VALUES
    version: str | None = None

    def values(self) -> PrivateValues:
        return self.private if isinstance(self.private, PrivateValues) else self.private()


@dataclass(frozen=True)
class Built:
    """An incident page another process rendered, guarded and wrote as this build would have
    (``broadcaster.site.parallel``): what the manifest and the hosts need to know of it."""

    incident_id: str
    path: str
    digest: str
    version: str | None
    values: PrivateValues | None  # what it was guarded against, when it changed
    wrote: bool  # written to disk (not there already)


@dataclass(frozen=True)
class Refused:
    """An incident whose page another process refused to write (it would show private detail):
    taken out of the site with every page of it that an earlier build left there."""

    incident_id: str


@dataclass(frozen=True)
class _Listing:
    """Files that list incidents (the index, feeds and JSON; a customer's page and feeds): how they are
    rendered from the incidents they show, and what each incident, and so each file, must not hold."""

    render: Callable[[Sequence[PublicIncident]], list[tuple[str, bytes]]]
    values_of: Callable[[PublicIncident], PrivateValues]
    values_by_file: Callable[[list[tuple[str, bytes]], list[PublicIncident]], dict[str, PrivateValues]]


def _values_on(audience: AudiencePage, incident: PublicIncident) -> PrivateValues:
    return audience.private.get(incident.header.id, _NO_VALUES)


def _same_values_everywhere(
    values_of: Callable[[PublicIncident], PrivateValues], files: list[tuple[str, bytes]], shown: list[PublicIncident]
) -> dict[str, PrivateValues]:
    every = reduce(or_, (values_of(i) for i in shown), _NO_VALUES)
    return dict.fromkeys((path for path, _ in files), every)


def build_site(
    data: SiteData,
    output: Path | SiteWriter,
    *,
    pages: Iterable[PublicIncident | Page | Built | Refused] = (),
    remove: Iterable[str] = (),
    left_out: Mapping[str, str] | None = None,
) -> BuiltSite:
    """Write the site into ``output`` (a folder, or a writer opened on one) and return every file's hash.

    ``pages`` may be a generator streamed from the store: each page is written
    as soon as it is rendered, so a full build holds one incident at a time.
    ``remove``: files to take out of the site (pages of incidents the store no
    longer has). ``left_out``: incident id -> why, for incidents the caller could
    not cut into a view; it may still grow while ``pages`` is read. Raises
    DeliveryError (permanent) when the folder cannot be written.
    """
    writer = output if isinstance(output, SiteWriter) else SiteWriter(output)
    build = _Build(writer, data, {} if left_out is None else left_out)
    try:
        writer.remove_all(remove)  # refused before anything is removed if a folder of the site is a link
        with i18n.speaking(data.page.language):  # every word of the site in the page's language
            build.run(pages)
    except BaseException:
        if isinstance(pages, Generator):
            pages.close()  # a stream's worker processes stop before the build forgets what it wrote
        writer.abandon()
        raise
    # Pages of incidents left out that the site no longer holds (taken out now or by an earlier build): no
    # host may keep what it published of them, although the store still holds their incidents.
    refused = frozenset(p for p in html.incident_paths(build.left_out).values() if p not in writer.hashes)
    return replace(writer.finish(), problems=tuple(build.problems.values()), private=build.guarded, refused=refused)


class _Build:
    """One build: what it wrote with which values, and what it had to leave out."""

    def __init__(self, writer: SiteWriter, data: SiteData, problems: Mapping[str, str]) -> None:
        self.writer = writer
        self.data = data
        self.problems = problems if isinstance(problems, dict) else dict(problems)
        self.guarded: dict[str, PrivateValues] = {}
        self.refused: set[str] = set()  # incidents whose pages would show private detail: out of the site
        self._own_words: Compared | None = None

    @property
    def left_out(self) -> set[str]:
        return set(self.problems)

    def run(self, pages: Iterable[PublicIncident | Page | Built | Refused]) -> None:
        for asset in html.assets().values():
            self.writer.write(asset.path, asset.data)
        done = self._write_pages(_as_page(p) for p in pages)
        accounted = done | self.left_out
        missing = [Page(i, self._values(i)) for i in self.data.incidents if i.header.id not in accounted and self._missing(i)]
        self._write_pages(missing)
        self.writer.flush()  # every page on disk before anything links to it
        shown = [i for i in (*self.data.incidents, *self.data.archive) if i.header.id not in self.left_out]
        linking = self._linking_files(shown)
        for path, body in linking:
            self.writer.write(path, body)
        self._remove_stale(_PER_COMPONENT, {path for path, _ in linking})
        left_out = self.left_out
        self._audience_pages([i for i in self.data.incidents if i.header.id not in left_out])
        # The pages no build can vouch for, after the files that linked to them: those the guard refused;
        # and, when the private values are worked out otherwise than when the last build checked (a
        # customer added since), those of every incident left out, last checked against other values.
        unvouched = self.refused if self.writer.guarded_alike else self.refused | self.left_out
        self.writer.remove_all(html.incident_paths(unvouched).values(), even_unlisted=True)

    def _audience_pages(self, public: Sequence[PublicIncident]) -> None:
        """Each customer's page and feeds, leaving out any incident that would put there what that customer
        must not read (as the index and feeds do); any other ``a/`` folder (a changed or removed token) is
        taken out of the site, so every host deletes it. ``public``: what the components' statuses are of."""
        keep: set[str] = set()
        if self.data.audiences:  # a/ lists no token to whoever asks for it (``AUDIENCE_INDEX``)
            self.writer.write(AUDIENCE_INDEX, AUDIENCE_INDEX_TEXT)
            keep.add(AUDIENCE_INDEX)
        left_out = self.left_out
        for audience in self.data.audiences:
            listing = _Listing(
                render=partial(self._render_audience, audience, public),
                values_of=partial(_values_on, audience),
                values_by_file=partial(_same_values_everywhere, partial(_values_on, audience)),
            )
            shown = [i for i in audience.incidents if i.header.id not in left_out]
            for path, body in self._guarded(listing, shown, partial(self._leave_out_of_page, audience)):
                self.writer.write(path, body)
                keep.add(path)
        self._remove_stale((AUDIENCE_DIR,), keep)
        self._close_audience_dir()

    def _remove_stale(self, folders: tuple[str, ...], keep: set[str]) -> None:
        """Take out of the site every file under ``folders`` (each ending in '/') that this build did not
        write (``keep``): a customer's old token, a component taken out of the config. Nothing renders them
        again, so they would stay published as they last were (withdrawn text, a frozen badge); out of the
        manifest, every host deletes them. Then the folders they leave empty, so no host keeps their names."""
        gone = [p for p in self.writer.hashes if p.startswith(folders) and p not in keep]
        self.writer.remove_all(gone)
        # Deepest first: a/ (the last customer gone) is empty only once each a/<token>/ is taken away.
        for folder in sorted(_folders_of(gone), key=lambda f: f.count("/"), reverse=True):
            self.writer.remove_folder(folder)

    def _close_audience_dir(self) -> None:
        """``a/`` unlistable on this machine (``AUDIENCE_DIR_MODE``); the writer makes every folder 0755."""
        try:
            close_audience_dir(self.writer.root)
        except OSError as exc:
            raise permanent(f"cannot make {self.writer.root / AUDIENCE_DIR} unlistable: {exc.strerror or exc}. "
                            "Check that the site folder is yours, then run the command again.") from exc

    def _render_audience(
        self, audience: AudiencePage, public: Sequence[PublicIncident], shown: Sequence[PublicIncident]
    ) -> list[tuple[str, bytes]]:
        data, now = self.data, utc(self.data.now)
        quiet = self._quiet([i for i in data.archive if i.header.id not in self.left_out])
        feed = feeds.build_feeds(data.page, data.components, shown, quiet, prefix=audience.folder,
                                 whole=_postmortems_of_its_own(shown, public))
        index = html.render_index(data.page, data.components, shown, now, data.uptime, root="../../",
                                  statuses_from=public, quiet=quiet)
        return [(audience.folder + "feed.xml", feed.rss), (audience.folder + "atom.xml", feed.atom),
                (audience.folder + "index.html", index)]

    def _leave_out_of_page(self, audience: AudiencePage, incidents: list[PublicIncident], exc: Exception | None) -> None:
        reason = str(exc) if exc is None or isinstance(exc, LeakRefused) else f"{type(exc).__name__}: {exc}"
        for incident in incidents:
            self.problems.setdefault(
                f"audience {audience.label} {incident.header.id}",
                f"incident {incident.header.id} was left out of the private page of audience {audience.label} "
                f"({reason if exc is not None else 'it would show what that customer must not read'})",
            )

    def _missing(self, incident: PublicIncident) -> bool:
        try:
            return not self.writer.exists(html.incident_path(incident.header.id))
        except InputError:
            return True  # an id that cannot be a file name: _write_pages reports it

    def _values(self, incident: PublicIncident) -> PrivateValues:
        return self.data.private.get(incident.header.id, _NO_VALUES)

    def _own(self) -> Compared:
        """The words the product and this page print of their own (the guard's templates need them)."""
        if self._own_words is None:
            self._own_words = own_words(self.data.page, self.data.components)
        return self._own_words

    def _template(self, render: Callable[[], bytes], *, own_words: bool = True) -> Template:
        """The guard's template (``template_of``) with this page's own words; without ``own_words``,
        every value is allowed as often as ``render`` holds it."""
        return template_of(render, self._own if own_words else None)

    def _write_pages(self, pages: Iterable[Page | Built | Refused]) -> set[str]:
        done = set()
        for page in pages:
            if isinstance(page, Refused):
                self.refused.add(page.incident_id)
                continue
            if isinstance(page, Built):
                self.writer.record(page.path, page.digest, version=page.version, wrote=page.wrote)
                path, values, incident_id = page.path, page.values, page.incident_id
            else:
                incident_id = page.incident.header.id
                try:
                    path, body, values = self.page_file(page)
                except Exception as exc:  # noqa: BLE001 - one bad record must not take the site down
                    self._leave_out(incident_id, exc)
                    continue
                self.writer.write(path, body, version=page.version)
            if values:
                self.guarded[path] = values
            done.add(incident_id)
        return done

    def page_file(self, page: Page) -> tuple[str, bytes, PrivateValues | None]:
        """An incident page's path and bytes, and the values it was guarded against (None: this
        build's folder holds the same bytes from the same record, checked when they were written)."""
        path = html.incident_path(page.incident.header.id)
        body = html.render_incident(self.data.page, self.data.components, page.incident)
        if self.writer.unchanged(path, body, page.version):
            return path, body, None
        return path, body, guard_incident_page(self.data.page, self.data.components, page, body, self._own)

    def _linking_files(self, shown: list[PublicIncident]) -> list[tuple[str, bytes]]:
        """The index, feeds and JSON of ``shown``, leaving out any incident that breaks them."""
        listing = _Listing(render=self._render_linking, values_of=self._values, values_by_file=self._values_by_file)
        return self._guarded(listing, shown, self._leave_out_all)

    def _guarded(
        self, listing: _Listing, shown: list[PublicIncident],
        leave_out: Callable[[list[PublicIncident], Exception | None], None],
    ) -> list[tuple[str, bytes]]:
        """``listing``'s files of ``shown``, leaving out (``leave_out``) each incident that breaks them or
        puts one of its values there; each file's values noted for the hosts."""
        while True:
            try:
                files = listing.render(shown)
            except Exception as exc:
                bad = self._breaking(listing, shown)
                if not bad:
                    raise  # not one incident's fault: a bug that fails the build
                leave_out(bad, exc)
            else:
                values = listing.values_by_file(files, shown)
                read = {p: Compared(readable_text(b, _media(p))) for p, b in files if values[p]}
                found = [(p, b, read[p]) for p, b in files if values[p] and values[p].found_in(read[p]) is not None]
                bad = self._leaking(listing, found, shown)
                if not bad:
                    self.guarded.update((p, v) for p, v in values.items() if v)
                    # What a page's own words put there: an upload may hold each value no more often.
                    self.guarded.update((p, values[p].allowing(r)) for p, _, r in found)
                    return files
                leave_out(bad, None)
            gone = {i.header.id for i in bad}
            shown = [i for i in shown if i.header.id not in gone]

    def _values_by_file(self, files: list[tuple[str, bytes]], shown: list[PublicIncident]) -> dict[str, PrivateValues]:
        """What each linking file must not hold: the values of the incidents it can show. The archive
        (closed before the page's history) is listed by two API files only, so only they are searched
        for its values: a search per value per file, and the archive is up to a hundred incidents."""
        archived = {i.header.id for i in self.data.archive}
        on_page = reduce(or_, (self._values(i) for i in shown if i.header.id not in archived), _NO_VALUES)
        everything = reduce(or_, (self._values(i) for i in shown if i.header.id in archived), on_page)
        return {path: everything if path in api.LISTING_THE_ARCHIVE else on_page for path, _ in files}

    def _render_linking(self, listed: Sequence[PublicIncident]) -> list[tuple[str, bytes]]:
        """The linking files of ``listed``: the page's incidents and the archive's (API only)."""
        data, now = self.data, utc(self.data.now)
        page, components = data.page, data.components
        archived = {i.header.id for i in data.archive}
        shown = [i for i in listed if i.header.id not in archived]
        quiet = self._quiet([i for i in listed if i.header.id in archived])
        feed = feeds.build_feeds(page, components, shown, quiet)
        index = html.render_index(page, components, shown, now, data.uptime, quiet=quiet)
        return [
            ("feed.xml", feed.rss), ("atom.xml", feed.atom),
            *feeds.build_component_feeds(page, components, shown),
            *api.build_api(page, components, shown, now, data.uptime,
                           archive=[i for i in listed if i.header.id in archived]),
            *badges.build_badges(page, components, shown, now),
            (ical.CALENDAR, ical.build_calendar(page, shown)),
            ("index.html", index),
        ]

    @staticmethod
    def _quiet(archive: Sequence[PublicIncident]) -> datetime:
        """What a page, a feed or the JSON is dated with no incident on the page: the newest change the
        public was shown (the archive holds what left the page), else ``NEVER``; never the build's clock,
        which would rewrite and upload them at each build, and date what staff did where the public reads."""
        return st.updated_at(archive)

    @staticmethod
    def _breaking(listing: _Listing, shown: list[PublicIncident]) -> list[PublicIncident]:
        """The incidents that make ``listing``'s files fail to render on their own."""
        return [i for i in shown if _fails(partial(listing.render, [i]))]

    def _leaking(
        self, listing: _Listing, found: list[tuple[str, bytes, Compared]], shown: list[PublicIncident]
    ) -> list[PublicIncident]:
        """The incidents whose own texts put one of their private values in the files ``found`` to
        hold one (almost always none). Each is checked against the same files with its texts shaped
        away: what is left of a value there is the page's own words and the other incidents' public
        texts. With every incident's texts shaped away first: one rendering clears the incidents whose
        value only the page's own words hold."""
        if not found:
            return []
        everyone = cache(lambda: dict(listing.render([incident_without_text(i) for i in shown])))
        suspects = [i for i in shown if listing.values_of(i) and self._puts_a_value(listing, i, found, everyone)]
        # A suspect is left out if its texts put a value there (the page's own words allowed), and only if it is
        # there more often with the incident than without it: one whose value only another incident's text holds
        # stays (a customer's page forbids every other customer's name in all its incidents alike).
        return [
            incident for incident in suspects
            if self._puts_a_value(listing, incident, found, cache(lambda i=incident: dict(listing.render(
                [incident_without_text(other) if other is i else other for other in shown]
            )))) and self._puts_a_value(listing, incident, found, cache(lambda i=incident: dict(listing.render(
                [other for other in shown if other is not i]
            ))), own_words_only=False)
        ]

    def _puts_a_value(
        self, listing: _Listing, incident: PublicIncident, found: list[tuple[str, bytes, Compared]],
        without: Callable[[], dict[str, bytes]], *, own_words_only: bool = True,
    ) -> bool:
        """Whether a file holds a value of ``incident`` more often than ``without()`` (the same files,
        some texts shaped away; rendered only if needed) holds it, and, ``own_words_only``, the page's
        words allow."""
        values = listing.values_of(incident)
        return any(
            _fails(partial(guard, b, values, p, _media(p),
                           self._template(partial(_file, without, p), own_words=own_words_only), read=r))
            for p, b, r in found
        )

    def _leave_out_all(self, incidents: list[PublicIncident], exc: Exception | None) -> None:
        for incident in incidents:
            self._leave_out(incident.header.id, exc or LeakRefused("it would show private detail of its updates"))

    def _leave_out(self, incident_id: str, exc: Exception) -> None:
        if isinstance(exc, LeakRefused):
            self.refused.add(incident_id)
        reason = str(exc) if isinstance(exc, LeakRefused) else f"{type(exc).__name__}: {exc}"
        self.problems.setdefault(incident_id, f"incident {incident_id} was left out of the site ({reason})")


def template_of(render: Callable[[], bytes], own: Callable[[], Compared] | None) -> Template:
    """The guard's template: ``render`` (the same file without the update's texts) and the page's own words
    (``own``; None: every value allowed as often as ``render`` holds it), made when a value is found; none if
    it cannot be rendered (every value counts)."""
    def template() -> tuple[bytes, Compared | None] | None:
        try:
            return render(), own() if own is not None else None
        except Exception:  # noqa: BLE001 - fail closed: the guard refuses what it found
            return None

    return template


def guard_incident_page(
    page_config: PageConfig, components: Sequence[ComponentConfig], page: Page, body: bytes,
    own: Callable[[], Compared],
) -> PrivateValues:
    """The egress guard of one incident page (``LeakRefused`` if it holds a value of ``page``), its template the
    same page with the updates' texts shaped away: what a build checks, and a preview before anything is stored."""
    def without() -> bytes:  # shaped only when a value is found: most pages never need it
        return html.render_incident(page_config, components, incident_without_text(page.incident))

    return guard(body, page.values(), html.incident_path(page.incident.header.id), "text/html",
                 template_of(without, own))


def guard_incident_feed(
    page_config: PageConfig, components: Sequence[ComponentConfig], page: Page, own: Callable[[], Compared],
) -> PrivateValues:
    """The egress guard of the site's feed holding ``page``'s incident alone (``LeakRefused`` if it holds a value of
    it), as ``guard_incident_page`` for its page. The feeds show what the page does (its newest postmortem only, the
    timeline with its corrections), but in their own words and cut: a check before anything is stored renders them
    too, so it cannot pass what a build would refuse in them. The Atom feed and the component's hold the same
    entries."""
    def rss(incident: PublicIncident) -> bytes:
        return feeds.build_feeds(page_config, components, [incident]).rss

    return guard(rss(page.incident), page.values(), "feed.xml", "application/xml",
                 template_of(lambda: rss(incident_without_text(page.incident)), own))


def write_pages_here(
    data: SiteData, writer: SiteWriter, pages: Iterable[Page], problems: dict[str, str]
) -> list[Built | Refused]:
    """Render, guard and write ``pages`` with ``writer`` exactly as a build does, in a worker
    process of one (``broadcaster.site.parallel``): what that build records of each page.
    Incidents left out go into ``problems``."""
    build = _Build(writer, data, problems)
    with i18n.speaking(data.page.language):
        done = build._write_pages(pages)
    built: list[Built | Refused] = []
    for incident_id in sorted(done):
        path = html.incident_path(incident_id)
        built.append(Built(incident_id, path, writer.hashes[path], writer.versions.get(path),
                           build.guarded.get(path), path in writer.written))
    return built + [Refused(i) for i in sorted(build.refused)]


def _postmortems_of_its_own(shown: Sequence[PublicIncident], public: Sequence[PublicIncident]) -> set[str]:
    """The incidents whose postmortem a customer reads otherwise than the public page shows it (its ``[for ID]``
    detail, a version only it was sent): its feed entry holds all of it. A cut entry ends in a link to the public
    incident page, which holds none of that customer's text, and customers have no incident pages of their own:
    detail past the cut would reach that customer nowhere (review 36a). Only these: an entry the public page holds
    whole stays short, so a book-length postmortem does not weigh on every customer's feed at every post."""
    on_page = {i.header.id: st.postmortem(i) for i in public}
    return {
        incident.header.id for incident in shown
        if (own := st.postmortem(incident)) is not None
        and ((seen := on_page.get(incident.header.id)) is None or seen.message != own.message)
    }


def _folders_of(paths: Iterable[str]) -> set[str]:
    """Every folder holding one of ``paths``, and each folder above it (never the site's root)."""
    folders = set()
    for path in paths:
        folder = path.rpartition("/")[0]
        while folder:
            folders.add(folder)
            folder = folder.rpartition("/")[0]
    return folders


def _as_page(page: PublicIncident | Page | Built | Refused) -> Page | Built | Refused:
    return page if isinstance(page, Page | Built | Refused) else Page(page)


def _file(files: Callable[[], dict[str, bytes]], path: str) -> bytes:
    return files()[path]


def _fails(action: Callable[[], object]) -> bool:
    try:
        action()
    except Exception:  # noqa: BLE001 - asking whether it fails at all
        return True
    return False


_MEDIA = {".json": "application/json", ".html": "text/html", ".ics": CALENDAR, ".svg": "image/svg+xml"}


def _media(path: str) -> str:
    return _MEDIA.get(path[path.rfind("."):], "application/xml")


def is_immutable(path: str) -> bool:
    """Whether a site path is a fingerprinted asset, safe to cache for a year.

    Hosts may send ``Cache-Control: public, max-age=31536000, immutable`` for
    these: a changed stylesheet gets a new name. Old names are kept on disk
    because incident pages built earlier still link to them.
    """
    return _FINGERPRINTED.fullmatch(path) is not None
