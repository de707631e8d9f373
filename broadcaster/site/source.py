"""What the site is built from: the store's incidents, cut into public views where the store is read.

The site builder (``broadcaster.site``) only ever receives public views. Each
comes here with the private values of its updates (``forbidden_values`` for the
public: internal detail, every customer's name and detail), as an opaque
``PrivateValues`` the builder hands to the egress guard, and with the version of
its record (``Store.incident_versions``). A customer with a ``feed_token`` also
gets its own page and feeds at ``a/<token>/`` (``AudiencePage``), cut into its
audience views and guarded against internal and other customers' values.

The local output folder is a copy of what the store shows, not a source of
truth: before every build its incident pages are made to match the store.
Pages that are missing or were built from an older version of their
incident's record are built again, pages of incidents the store no longer
holds are removed. So two machines sharing a team store publish the same
site, whichever of them published last, and a host never deletes the page of
an incident the store still holds (``BuiltSite.keep``).

One bad record never takes the site down: an incident whose record cannot be
cut into a view (text stored before the input gate, an extreme time) is left
out and named in ``BuiltSite.problems``; the rest is built and published.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, asynccontextmanager, contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from functools import cache, partial
from pathlib import Path
from typing import Any

from broadcaster.compose import without_kept
from broadcaster.config import (
    FEED_TOKEN,
    FEED_TOKEN_FORM,
    MAKE_FEED_TOKEN,
    SITE_DESTINATION,
    AudienceConfig,
    ComponentConfig,
    Config,
)
from broadcaster.customer_ids import claim_audience_ids, refuse_reused_audience_ids
from broadcaster.delivery import LEFT_OUT_BY_OPERATOR, DeliveryState, Receipt, skipped_as_read_the_same
from broadcaster.errors import ConfigError, DeliveryError, LockRefused, LockRefusedAfterStoring
from broadcaster.filelock import POLL_SECONDS, FileLock
from broadcaster.messages import i18n
from broadcaster.messages.egress import PrivateValues
from broadcaster.messages.model import PUBLIC, Incident, Update, Visibility
from broadcaster.messages.visibility import (
    PublicIncident,
    audience_incident,
    forbidden_values,
    own_values,
    public_incident,
    readers_own_name,
    reads_the_same,
    version_before,
)
from broadcaster.routing import reached
from broadcaster.site import parallel
from broadcaster.site.build import AUDIENCE_DIR, AudiencePage, Built, Page, Refused, SiteData, build_site
from broadcaster.site.hosts import BuiltSite, SiteHost
from broadcaster.site.links import incident_url
from broadcaster.site.output import LOCK, SiteWriter
from broadcaster.site.ownership import claim_folder
from broadcaster.site.pages import INCIDENT_DIR, incident_paths
from broadcaster.site.status import utc
from broadcaster.site.tokens import claim_feed_tokens
from broadcaster.store import Store, utcnow

# Above this many out-of-date pages, reading the whole store in batches beats one read per incident.
_READ_ALL_ABOVE = 200


# The site lock's file is the owner's only, as the store's are: anyone who can open it can hold the
# lock, and with it hold up every build of the site.
_LOCK_MODE = 0o600
# Who is told, once, that a build waits for another process's site lock (``site build`` says so on stderr).
_waiting: ContextVar[Callable[[Path], None] | None] = ContextVar("site_lock_waiting", default=None)


class site_lock(FileLock):
    """An exclusive lock on the site folder across processes (``flock`` on a file inside it).

    Inside the folder, which is broadcaster's, so it locks out every config
    that builds there and leaves nothing in folders broadcaster does not own.
    ``with`` waits as long as it takes, telling ``telling_waits``'s listener once;
    ``async with`` waits at most ``wait`` seconds (None: as long as it takes), then
    raises a DeliveryError naming the lock. Both are polled: Ctrl-C or a deadline
    ends the wait at once.
    """

    def __init__(self, output_dir: Path, *, wait: float | None = None) -> None:
        super().__init__(output_dir / LOCK, mode=_LOCK_MODE)
        self.wait = wait

    def __enter__(self) -> site_lock:
        if not self.acquire(wait=False):
            tell = _waiting.get()
            if tell is not None:
                tell(self.path)
            self.poll()
        return self

    async def __aenter__(self) -> site_lock:
        if not await self.poll_async(self.wait):
            raise DeliveryError(
                f"the site folder {self.path.parent} is locked by another process (its {self.path.name} was held "
                f"for all of the {self.wait:g}s waited), so the site was not built. Wait for the other `broadcaster` "
                "command to finish, or resume (`fg`) or end a `site build` suspended with Ctrl-Z, then run "
                "`broadcaster retry`.",
                retryable=False,  # the build is shared by the command's deliveries: trying again now finds it failed
            )
        return self


@contextmanager
def telling_waits(tell: Callable[[Path], None]) -> Iterator[None]:
    """Within this, a build that has to wait for another process's site lock calls ``tell(lock file)`` first."""
    token = _waiting.set(tell)
    try:
        yield
    finally:
        _waiting.reset(token)


# -- publishing ------------------------------------------------------------------


async def publish(store: Store, host: SiteHost, built: BuiltSite, *, wait: float | None = None) -> Receipt:
    """Upload ``built`` to ``host`` holding the store's lock for that place.

    Every machine of one store takes turns at one target: a publish reads what
    the target serves (the bucket's manifest, the branch's tip), decides what
    to upload or keep, uploads and records it with no other publish from the
    same store in between. Two machines can then never interleave their files
    in a bucket: the one that comes second sees the first one's manifest and
    keeps what was built from a later state of the store. ``wait``: seconds to
    wait for the lock before giving up (the engine's deadline bounds it instead).
    """
    import asyncio

    async with _store_lock(store, host, wait):
        # By place, as the lock: one folder, bucket or branch, whatever each machine's config names its table.
        place = host.publish_lock
        reached = store.published_generation(place)
        if built.store and reached > built.generation:
            return Receipt(remote_id=host.name, notes=(
                f"kept: {host.name} already holds a site built from a later state of the store", ))
        latest = bool(built.store) and store.site_generation() == (built.store, built.generation)
        # What this store records it published there tells a stale copy or a restore apart only where one machine
        # writes the store: a team's machines may each spell the place its own way (a remote's trailing "/").
        own_record = reached or None if store.one_machine else None
        try:
            receipt = await host.publish(replace(built, latest=latest, reached=own_record))
        except asyncio.CancelledError:
            # Cut, the push or swap under way landed all the same: counted, or the next publish took the place for a
            # later copy of this store's (``BuiltSite.restored_over``). Written at once: the loop is being torn down.
            if built.store and host.landed_after_cut:
                with suppress(Exception):
                    store.note_published(host.publish_lock, built.generation)
            raise
        if built.store:  # under the name the place has now: its first publish may give it one (a folder's id)
            store.note_published(host.publish_lock, built.generation)
        return receipt


@asynccontextmanager
async def _store_lock(store: Store, host: SiteHost, wait: float | None) -> AsyncIterator[None]:
    # Asked without blocking and awaited between tries: a blocking wait would hold up every
    # other delivery of the command (they share the event loop and the store's connection).
    import asyncio
    give_up = None if wait is None else time.monotonic() + wait
    while True:
        with ExitStack() as held:
            try:
                got = held.enter_context(store.lock(host.publish_lock, wait=False))
            except (LockRefused, LockRefusedAfterStoring) as exc:
                # Another account's lock (a state file a group shares) fails this target alone: it ended `site
                # publish` 'Nothing was stored or sent' after the page was built (the targets after it never got
                # the site), and a post's target 'unexpected error', saying a retry (which meets it again) sends it.
                raise DeliveryError(f"{exc.reason or exc} Nothing was uploaded to {host.name}.",
                                    retryable=False) from exc
            if got:
                yield
                return
        if give_up is not None and time.monotonic() > give_up:
            raise DeliveryError(
                f"another command of this store has been publishing to {host.name} for over {wait:g}s; "
                "nothing was uploaded. Run `broadcaster site publish` again once it is done.",
                retryable=True,
            )
        await asyncio.sleep(POLL_SECONDS)


# -- reading the store --------------------------------------------------------------


@dataclass
class SiteInput:
    """One build's worth of the store: what to show, which pages to (re)build, which to remove."""

    data: SiteData
    pages: Iterable[Page | Built | Refused]
    remove: list[str]
    keep: frozenset[str]
    store: str
    generation: int
    problems: dict[str, str]  # incident id -> why it is left out; filled while ``pages`` is read


def read(
    config: Config, store: Store, writer: SiteWriter, *, changed: Iterable[str] = (), full: bool = False,
    stream: bool = False, workers: bool = False,
) -> SiteInput:
    """What to build into ``writer``'s folder so that it matches the store.

    ``changed``: incidents this command wrote (always rebuilt). ``full``: rebuild every page.
    ``stream``: read the pages lazily (the caller builds in the same thread as the store is read).
    ``workers``: with ``stream``, let worker processes build the pages when there are many
    (``broadcaster.site.parallel``).
    """
    problems: dict[str, str] = {}
    # Both refused before either is recorded: a build refused for a reused id must not have recorded the new
    # customer's token as that id's, which would then refuse it under the id of its own the refusal advises.
    refuse_reused_audience_ids(config, store, "Nothing was built.")
    claim_feed_tokens(config, store)
    claim_audience_ids(config, store, "Nothing was built.")
    store_id, generation = store.site_generation()
    hidden = store.incidents_kept_off()
    versions = {i: v for i, v in store.incident_versions().items() if i not in hidden}  # no page: removed
    paths = incident_paths(versions)
    writer.guard_with(guard_key(config))
    # Pages checked against values worked out otherwise (before a customer was added to the
    # config) may hold what is private now: every one is built and checked again.
    stale = set(versions) if full or not writer.guarded_alike else {
        i for i, v in versions.items() if i not in paths or writer.versions.get(paths[i]) != v
    }
    todo = (stale | set(changed)) & set(versions)
    listed = {p for p in writer.hashes if p.startswith(f"{INCIDENT_DIR}/") and p.endswith(".html")}
    data = site_data(config, store, problems)
    count = parallel.workers(len(todo), store) if workers and stream else 0
    pages: Iterable[Page | Built | Refused] = (
        parallel.pages(store, partial(_cut_from, config, versions), sorted(todo), data, writer, problems, count)
        if count else _pages(config, store, todo, versions, problems)
    )
    return SiteInput(
        data=data,
        pages=pages if stream else list(pages),
        remove=sorted(listed - set(paths.values())),
        keep=frozenset(paths.values()),
        store=store_id,
        generation=generation,
        problems=problems,
    )


def on_page(store: Store, records: Iterable[tuple[Incident, list[Update]]],
            chunk: int = 250) -> Iterator[tuple[Incident, list[Update]]]:
    """``records`` without the updates the operator kept from the public (every public delivery skipped: `post
    --only tg-ops`, a follow-up no wider than that); an incident left with none is left out. The page is built
    from the whole store on every post, so skipping the public in one command would otherwise protect nothing.
    (`--skip site` alone went public on the channels: the page shows it from its next build, as documented.)"""
    batch: list[tuple[Incident, list[Update]]] = []
    for record in records:
        batch.append(record)
        if len(batch) >= chunk:
            yield from _shown(store, batch)
            batch = []
    yield from _shown(store, batch)


def _shown(store: Store, batch: list[tuple[Incident, list[Update]]]) -> Iterator[tuple[Incident, list[Update]]]:
    kept = store.kept_off([incident.id for incident, _ in batch])
    for incident, updates in batch:
        shown_incident, shown = without_kept(incident, updates, kept)  # its header too, as the shown ones left it
        if shown or not updates:
            yield shown_incident, shown


def guard_key(config: Config) -> str:
    """What the site's private values depend on besides the store's records: every customer's id
    and name (``forbidden_values`` adds them) and the rules that work them out and compare them."""
    import hashlib
    import json

    customers = sorted((key, audience.name) for key, audience in config.audiences.items())
    return hashlib.sha256(json.dumps([_guard_rules(), customers]).encode()).hexdigest()[:32]


@cache
def _guard_rules() -> str:
    """The code of the rules, hashed: any change to them (an upgrade, say) has every page checked again.
    The package's version would not do: it is not bumped for each change."""
    import hashlib

    from broadcaster import __version__, own_words
    from broadcaster.messages import egress, gate, visibility

    rules = hashlib.sha256()
    for module in (visibility, egress, gate, own_words):
        loader: Any = module.__loader__  # through the loader: a zipped install has no file to open
        try:
            rules.update(loader.get_data(str(module.__file__)))
        except (OSError, AttributeError):
            rules.update(f"{module.__name__} {__version__}".encode())  # unreadable: the version will do
    return rules.hexdigest()


def build(source: SiteInput, writer: SiteWriter) -> BuiltSite:
    """Build ``source`` (no store access here: safe in a worker thread)."""
    built = build_site(source.data, writer, pages=source.pages, remove=source.remove, left_out=source.problems)
    return replace(built, keep=source.keep - built.refused, store=source.store, generation=source.generation)


def rebuild(config: Config, store: Store) -> BuiltSite:
    """A full build of the site from the whole store (``broadcaster site build``)."""
    claim_folder(config, store)
    with site_lock(config.output_dir):
        writer = SiteWriter(config.output_dir)
        return build(read(config, store, writer, full=True, stream=True, workers=True), writer)


def _pages(
    config: Config, store: Store, ids: set[str], versions: dict[str, str], problems: dict[str, str]
) -> Iterator[Page]:
    if len(ids) > _READ_ALL_ABOVE:
        records: Iterable[tuple[Incident, list[Update]]] = (
            (incident, updates) for incident, updates in store.all_incidents() if incident.id in ids
        )
    else:
        records = _each(store, sorted(ids))
    return _cut(config, on_page(store, records), versions, problems)


def _cut(
    config: Config, records: Iterable[tuple[Incident, list[Update]]], versions: dict[str, str],
    problems: dict[str, str],
) -> Iterator[Page]:
    for incident, updates in records:
        page = _page(config, incident, updates, problems)
        if page is not None:
            yield replace(page, version=versions.get(incident.id))


def _cut_from(
    config: Config, versions: dict[str, str], store: Store, ids: Sequence[str], problems: dict[str, str]
) -> Iterator[Page]:
    """The pages of ``ids``, as a worker process reads and cuts them."""
    return _cut(config, on_page(store, store.incidents_of(ids)), versions, problems)


def _each(store: Store, ids: Sequence[str]) -> Iterator[tuple[Incident, list[Update]]]:
    for incident_id in ids:
        incident = store.incident(incident_id)
        if incident is not None:
            yield incident, store.updates(incident_id)


def _page(config: Config, incident: Incident, updates: list[Update], problems: dict[str, str]) -> Page | None:
    """The incident's public timeline and private values; None (reported) if its record cannot be cut."""
    try:
        view = public_incident(incident, updates, url=incident_url(config, incident.id))
    except Exception as exc:  # noqa: BLE001 - a record stored before the input gate must not stop the site
        problems.setdefault(incident.id, f"incident {incident.id} was left out of the site ({type(exc).__name__}: {exc})")
        return None
    # Worked out when the page changed (the builder leaves the page out if this fails). With the
    # incident: the private spans of its title are private values of every update it shows; and
    # every customer's name and detail (forbidden_values for the public).
    audiences = config.audiences
    return Page(view, lambda: PrivateValues.of(
        v for update in updates for v in forbidden_values(update, incident, PUBLIC, audiences)))


def incident_page_refusal(config: Config, incident: Incident, updates: Sequence[Update]) -> str:
    """What the build would refuse of the incident's page or feed with ``updates`` (every one they show), said as the
    guard says it; "" if nothing. A new update's private detail that an earlier public text holds takes the whole
    incident off the site: a publishing command checks it here, before anything is stored. The feed too: it once
    kept every postmortem version while the page showed the newest, and this check, of the page alone, let a version
    be stored that the build then refused (review 36a)."""
    from broadcaster.messages.egress import LeakRefused
    from broadcaster.own_words import own_words
    from broadcaster.site import pages as html
    from broadcaster.site.build import guard_incident_feed, guard_incident_page

    problems: dict[str, str] = {}
    with i18n.speaking(config.page.language):
        page = _page(config, incident, list(updates), problems)
        if page is None:
            return problems.get(incident.id, "")
        try:
            body = html.render_incident(config.page, config.components, page.incident)
        except Exception as exc:  # noqa: BLE001 - as the build: a record it cannot render is left out, loudly
            return f"incident {incident.id} cannot be shown on the page ({type(exc).__name__}: {exc})"
        own = partial(own_words, config.page, config.components)
        try:
            guard_incident_page(config.page, config.components, page, body, own)
            guard_incident_feed(config.page, config.components, page, own)
        except LeakRefused as refused:
            return refused.found
    return ""


def audience_folder(key: str, table: AudienceConfig) -> str:
    """``a/<token>/`` for a customer with a ``feed_token``; ConfigError (never showing it) if it is unfit."""
    assert table.feed_token is not None
    token = table.feed_token.reveal()
    if not FEED_TOKEN.fullmatch(token):
        raise ConfigError(
            f"[audiences.{key}] feed_token (${{{table.feed_token.env_var}}}) must be {FEED_TOKEN_FORM}: it is the "
            f"only protection of that customer's page. Make one with {MAKE_FEED_TOKEN}."
        )
    return f"{AUDIENCE_DIR}{token}/"


CorrectionsTold = Callable[[str, Incident, list[Update]], list[Update]]


def _audience_pages(
    config: Config, shown: list[tuple[Incident, list[Update]]], problems: dict[str, str],
    corrections: CorrectionsTold = lambda _key, _incident, _updates: [],
) -> tuple[AudiencePage, ...]:
    """Each customer page: the incidents that customer is told about, cut into its own views, with the
    corrections of its own detail it was sent (``corrections``)."""
    return tuple(_audience_page(config, key, table, shown, problems, corrections)
                 for key, table in config.audience_tables.items() if table.feed_token is not None)


def _audience_page(
    config: Config, key: str, table: AudienceConfig, shown: list[tuple[Incident, list[Update]]],
    problems: dict[str, str], corrections: CorrectionsTold,
) -> AudiencePage:
    scope, told = Visibility.of(key), []
    for incident, public_updates in shown:
        updates = sorted([*public_updates, *corrections(key, incident, public_updates)], key=lambda u: u.sequence)
        try:
            if reached(table.audience, incident, updates):
                view = audience_incident(table.audience, incident, updates, url=incident_url(config, incident.id))
                told.append((incident, updates, view))
        except Exception as exc:  # noqa: BLE001 - as in _page: a bad record is left out of this page, loudly
            problems.setdefault(f"audience {key} {incident.id}", f"incident {incident.id} was left out of the "
                                f"private page of audience {key} ({type(exc).__name__}: {exc})")
    # What the customer reads anywhere on its page is its own: the same sentence given to another customer
    # in another update must not make its own detail forbidden there.
    own = frozenset().union(*(own_values(u, scope) for _, updates, _ in told for u in updates))
    values = {}
    for incident, updates, _ in told:
        found = PrivateValues.of(
            (v for u in updates for v in forbidden_values(u, incident, scope, config.audiences, read_beside=own)),
            mask=readers_own_name(scope, config.audiences),
        )
        if found:
            values[incident.id] = found
    return AudiencePage(key, audience_folder(key, table), tuple(view for _, _, view in told), values)


def _corrections_told(store: Store, stored: Mapping[str, list[Update]], key: str, incident: Incident,
                      shown: list[Update]) -> list[Update]:
    """The new versions of ``incident``'s texts kept from the public (corrections, a postmortem's later versions)
    that customer ``key``'s page takes: those its channels were sent, and those the page was left out of only because
    the public reads them the same while this customer reads them otherwise (a customer's detail corrected: a
    customer with no channel of its own reads it there alone). Not one the operator kept to others (``amend --only
    ops``), nor one changing only what others read (staff's note: "corrected" there would tell of it)."""
    have = {u.sequence for u in shown}
    kept = [u for u in stored.get(incident.id, []) if u.kind in ("correction", "postmortem") and u.sequence not in have]
    if not kept:
        return []
    deliveries = store.deliveries(incident_id=incident.id)
    scope = Visibility.of(key)
    untold = store.kept_from(incident.id, scope)
    for_others = {d.sequence for d in deliveries if d.destination == SITE_DESTINATION
                  and d.state == DeliveryState.SKIPPED and skipped_as_read_the_same(d.last_error)}
    # The operator's choice, however spelt (``--only ops``, ``--skip acme-slack``): none of it reaches acme's page.
    kept_from_it = {d.sequence for d in deliveries if d.visibility == str(scope)
                    and d.state == DeliveryState.SKIPPED and d.last_error in LEFT_OUT_BY_OPERATOR}
    taken: list[Update] = []
    for update in sorted(kept, key=lambda u: u.sequence):
        if update.sequence in kept_from_it:
            continue
        if update.sequence in untold:
            before = version_before([*shown, *taken], update)
            if update.sequence not in for_others or (before is not None and reads_the_same(scope, before, update)):
                continue
        taken.append(update)
    return taken


def history_starts(
    components: Sequence[ComponentConfig], incidents: Sequence[PublicIncident], store: Store, now: datetime
) -> dict[str, date | None]:
    """Each component's first day of uptime history: its ``since``, else the first day the store names it
    (None: never named). A component named before the 90 days drawn is left out: every day counts."""
    from broadcaster.messages.uptime import DAYS_SHOWN

    first_day = utc(now).date() - timedelta(days=DAYS_SHOWN - 1)
    window = datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC)
    starts: dict[str, date | None] = {}
    first_named = _first_named(incidents)
    for entry in components:
        cid = entry.component.id
        seen = first_named.get(cid)
        if entry.since is not None:
            starts[cid] = entry.since
        elif seen is None or seen > window:
            starts[cid] = seen.date() if seen is not None else None
    earlier = store.named_before(sorted(starts.keys() - {c.component.id for c in components if c.since}), window)
    return {cid: start for cid, start in starts.items() if cid not in earlier}


def _first_named(incidents: Sequence[PublicIncident]) -> dict[str, datetime]:
    """Component id -> the earliest time one of ``incidents`` (or its updates) names it, in UTC."""
    first: dict[str, datetime] = {}
    for incident in incidents:
        moments = [(incident.header.created_at, incident.header.components)]
        moments += [(u.created_at, u.components) for u in incident.updates]
        for moment, named in moments:
            at = utc(moment)
            for component in named:
                if component.id not in first or at < first[component.id]:
                    first[component.id] = at
    return first


def site_data(config: Config, store: Store, problems: dict[str, str] | None = None) -> SiteData:
    """What the page, feeds and JSON are built from: public views of recent incidents only,
    each with its private values, and each component's uptime by day over the last 90 days.

    One read covers both windows (history_days and 90 days). The page gets what
    ``site_incidents(now - history_days)`` would give (open, or a newest update since
    then); the older ones count for uptime only. Notices never get a public view.
    """
    from broadcaster.messages.uptime import DAYS_SHOWN, component_days, outages

    problems = {} if problems is None else problems
    now = utcnow()
    shown_since = now - timedelta(days=config.page.history_days)
    loaded, stored = [], dict[str, list[Update]]()
    read = store.site_incidents(min(shown_since, now - timedelta(days=DAYS_SHOWN)))
    for incident, updates in on_page(store, ((i, stored.setdefault(i.id, u)) for i, u in read)):
        page = _page(config, incident, updates, problems)
        if page is not None:
            loaded.append((incident, updates, page))
    shown = [
        page
        for incident, updates, page in loaded
        if incident.is_open or max((u.created_at for u in updates), default=incident.created_at) >= shown_since
    ]
    found = outages([page.incident for *_, page in loaded], now)
    starts = history_starts(config.components, [page.incident for *_, page in loaded], store, now)
    uptime = component_days(found, [c.component.id for c in config.components], now, starts=starts)
    values = _private_values(shown, problems)
    shown = [p for p in shown if p.incident.header.id in values]
    ids = {p.incident.header.id for p in shown}
    with i18n.speaking(config.page.language):  # the customer's heading is folded into each update's text
        customers = _audience_pages(config, [(i, u) for i, u, _ in loaded if i.id in ids], problems,
                                    partial(_corrections_told, store, stored))
    archive = _archive(config, store, ids, {i.id: page for i, _, page in loaded}, problems)
    values.update(_private_values(archive, problems))
    return SiteData(
        page=config.page, components=config.components, incidents=tuple(p.incident for p in shown), now=now,
        uptime=uptime, private={i: v for i, v in values.items() if v}, audiences=customers,
        archive=tuple(p.incident for p in archive if p.incident.header.id in values),
    )


def _archive(
    config: Config, store: Store, shown: set[str], loaded: dict[str, Page], problems: dict[str, str]
) -> list[Page]:
    """The closed incidents older than the page's history that Statuspage's "50 most recent" may list.

    The store's 50 most recent closed ones of each kind suffice: an incident among the 50 most recent
    of all has fewer than 50 before it, so fewer than 50 closed ones.
    """
    from broadcaster.site.api import MOST_RECENT

    # Those kept from the public are read past, not counted: 49 listed, the oldest gone, would tell one was kept.
    ids = [i for i in store.closed_incident_ids(MOST_RECENT, hidden=store.incidents_kept_off()) if i not in shown]
    # Most are among the incidents the page's windows loaded already (any opened in the last 90 days): only
    # the others are read, and only those still closed. One of the loaded ones withdrawn or reopened since
    # is listed as that read saw it, as the rest of the site shows it (review 34a); the withdrawing
    # command's own build takes it out.
    unread = [i for i in ids if i not in loaded]
    found = store.closed_incidents_of(unread)
    read = {incident.id: (incident, updates)
            for incident, updates in on_page(store, (found[i] for i in unread if i in found))}
    archive = []
    for incident_id in ids:
        page = loaded.get(incident_id)
        if page is None and incident_id in read:
            page = _page(config, *read[incident_id], problems)
        if page is not None:
            archive.append(page)
    return archive


def _private_values(pages: Iterable[Page], problems: dict[str, str]) -> dict[str, PrivateValues]:
    """Each page's private values, by incident id; a page whose values cannot be worked out is left out."""
    values = {}
    for page in pages:
        try:
            values[page.incident.header.id] = page.values()
        except Exception as exc:  # noqa: BLE001 - as in _page: a bad record is left out, loudly
            incident_id = page.incident.header.id
            problems.setdefault(incident_id, f"incident {incident_id} was left out of the site ({type(exc).__name__}: {exc})")
    return values
