"""Upload the built site to a bucket: AWS S3, or any S3 API (R2, B2, MinIO) via ``endpoint_url``.

Only files whose content changed are uploaded, in two rounds of parallel requests
after the build: incident pages and assets first, then the index, feeds and JSON
that link to them together with the manifest (``_s3_manifest``), so a reader never
follows a link to a page that is not there yet. Files gone from the site are
deleted last, in a third round only when there are some.

Several machines may publish to one bucket. The manifest records the version of
the store's record each incident page shows and how far the store had got (its
generation), so a publish never replaces a page, or the index, feeds and JSON,
built from a later state of the store by another machine; it never deletes the
page of an incident the store still holds (``BuiltSite.keep``), nor a
fingerprinted asset that pages built elsewhere may still link to. A publish plans
against this machine's copy of the manifest it last wrote, and writes the new one
only if the bucket's is still that one (``If-Match``); otherwise it reads the
bucket's and plans again. Machines of one store also take turns at the bucket (the
store's lock, ``site.source.publish``), and a build from a state of the store that
has since moved on (``BuiltSite.latest`` false) reads the bucket's manifest before
uploading anything, so it never uploads a page older than one already there.

At command start (``warm_up``), while the site builds, a thread asks the bucket whether
the local copy is still its manifest. Where the keys and region are given, that read
and the uploads are signed here (``_s3_light``, ``_LightClient``): boto3 takes longer
to import than the rest of the CLI together, on the GIL the build shares. boto3 is
imported, in that thread or when first needed, wherever its own settings decide, for
what the light client does not do (list, delete, check), and to send again whatever
the light client did not see succeed. A command that will publish without asking
starts the read even sooner, as its config's ``[publish]`` table is read
(``read_ahead``), and the warm-up takes it over. A new incident's page does not wait
for the read's answer: it is created only if the bucket has no such file
(``If-None-Match: *``), in the read's round trip (``_create_fresh_pages``); nor does a follow-up's
changed page, which replaces only the very object this machine last put there (``If-Match`` on the
ETag the bucket gave it, ``LocalCopy.page_etags``): another publisher's since is refused and waits.
"""

from __future__ import annotations

import contextlib
import hashlib
import mimetypes
import os
import threading
import time
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote, urlsplit, urlunsplit

from broadcaster.config import (
    AWS_SECRET_VARIABLES,
    FEED_TOKEN,
    is_http_url,
    plain_value,
    url_credentials,
    without_credentials,
)
from broadcaster.delivery import CheckResult, Receipt
from broadcaster.errors import ConfigError, DeliveryError, maybe_delivered, permanent, retryable
from broadcaster.redaction import redact, remember
from broadcaster.site.folder import AUDIENCE_DIR, SITE_SIGNATURE, is_site_path
from broadcaster.site.hosts import BuiltSite, SiteHost
from broadcaster.site.hosts._s3_manifest import MANIFEST_NAME, LocalCopy, Plan, Remote, fingerprinted, theirs_digest

if TYPE_CHECKING:
    import asyncio

    from broadcaster.config import ChannelConfig
    from broadcaster.site.hosts import _s3_light

_WARM_UP_THREAD = "s3-warm-up"


@dataclass(frozen=True)
class _ReadAhead:
    """A read of the manifest started when the config was read (``read_ahead``), for the warm-up."""

    unless: str | None  # the ETag of the local copy it was asked against
    reading: Future[Remote | None]
    started: float  # time.monotonic() when it left

    def usable(self, unless: str | None, fresh_for: float) -> bool:
        """Whether the warm-up may take it over: asked against this local copy, recently (the operator
        may have spent minutes in $EDITOR since), and not failed (then the warm-up asks afresh)."""
        failed = self.reading.done() and self.reading.exception() is not None
        return self.unless == unless and time.monotonic() - self.started <= fresh_for and not failed


# Text types carry their charset: without it some browsers guess, and feeds readers mangle accents.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".svg": "image/svg+xml; charset=utf-8",
    ".ics": "text/calendar; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".webmanifest": "application/manifest+json; charset=utf-8",
    ".ico": "image/x-icon",
    ".png": "image/png",
    ".woff2": "font/woff2",
}
# The feeds are XML files whose type readers check to offer "subscribe".
FEED_TYPES = {
    "feed.xml": "application/rss+xml; charset=utf-8",
    "atom.xml": "application/atom+xml; charset=utf-8",
}
_RETRYABLE_CODES = frozenset({
    "SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "RequestTimeTooSkewed",
    "InternalError", "ServiceUnavailable", "TooManyRequests", "RequestLimitExceeded",
})


# What a publish does when it lists the site's files for want of a manifest (said if the listing fails).
_LISTING_LOST = "list the site's files, whose manifest is lost"
# The files at a site's top that a first publish would replace in a bucket serving another website.
_SITE_TOP_NAMES = ("index.html", "feed.xml", "atom.xml", "summary.json")
# The user metadata (x-amz-meta-broadcaster) every object a publish uploads carries: the place's prefix it was
# published under (``S3Host.mark``). A key's shape says nothing of who wrote it (a shared bucket's CI badge is a
# badges/*.svg too): over a lost manifest, a publish deletes only keys whose HEAD shows this place's mark.
MARK_NAME = "broadcaster"


# Over a lost manifest, an unmarked key the build lacks fails the publish (exit 3) only when it could be a page
# readers were sent to that broadcaster took back: an incident's or maintenance window's page, a component's feeds
# (a component removed), a customer's page (a/). Any other site-shaped key (the summary, API files, badges) is
# rewritten by every build, so one the build lacks is likelier a shared bucket's own (api/v2/users.json).
_WITHDRAWABLE = ("incidents/", "components/", AUDIENCE_DIR)


def _valid_prefix(prefix: str) -> bool:
    if not prefix:
        return True
    parts = prefix.removesuffix("/").split("/")
    return (
        not prefix.startswith("/")
        and all(part not in ("", ".", "..") for part in parts)
        # '%' too: browsers decode "%2e%2e" to ".." in a URL's path; '?' and '#' end the path.
        and not any(c.isspace() or ord(c) < 32 or ord(c) == 127 or c in "\\%?#" for c in prefix)
    )


def content_type(path: str) -> str:
    """The Content-Type a browser or feed reader expects for a site file."""
    name = path.rsplit("/", 1)[-1]
    if name in FEED_TYPES:
        return FEED_TYPES[name]
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix in CONTENT_TYPES:
        return CONTENT_TYPES[suffix]
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def cache_control(path: str) -> str:
    """A year for fingerprinted assets; a minute for everything an outage changes."""
    if fingerprinted(path):
        return S3Host.immutable_cache
    return S3Host.short_cache


class S3Host(SiteHost):
    """``type = "s3"``: one bucket (and optional key prefix) serving the status page."""

    type_name = "s3"
    required_options = ("bucket",)
    optional_options = ("prefix", "region", "endpoint_url", "access_key_id", "secret_access_key")
    secret_options = ("access_key_id", "secret_access_key")

    # During an outage readers reload: they must see a new update within a minute.
    short_cache: ClassVar[str] = "public, max-age=60"
    immutable_cache: ClassVar[str] = "public, max-age=31536000, immutable"
    # Finite so that a dead endpoint fails one attempt instead of hanging the command;
    # the engine's own per-attempt timeout cannot stop a thread blocked in a socket.
    connect_timeout: ClassVar[float] = 5.0
    read_timeout: ClassVar[float] = 15.0
    # One quick retry per request absorbs a blip in a long upload; the engine owns real retries.
    request_attempts: ClassVar[int] = 2
    # Parallel uploads, so that one round goes up in one round trip: a post changes 15-20 of the
    # files that link to pages (index, feeds per component, JSON API, badges), which 8 took in two.
    upload_workers: ClassVar[int] = 32
    # Plans made again when another publisher replaced the manifest meanwhile, before giving up for a retry.
    conflict_attempts: ClassVar[int] = 4
    # How long the command waits at most for the warm-up's first request to leave before going on
    # (importing boto3 and making the client take about 0.2 s on a quiet machine).
    first_request_wait: ClassVar[float] = 2.0
    # How old a read started as the config was read (``read_ahead``) may be for the warm-up to take it over.
    read_ahead_fresh: ClassVar[float] = 5.0

    def __init__(self, config: ChannelConfig, base_dir: Path) -> None:
        super().__init__(config, base_dir)
        options = config.options
        self.validate_options(options, f"publish.{self.name}")
        self.bucket = str(options["bucket"])
        prefix = str(options.get("prefix", "")).removesuffix("/")
        self.prefix = f"{prefix}/" if prefix else ""
        self.region = str(options.get("region", "")) or None
        self.endpoint_url = plain_value(options.get("endpoint_url")) or config.api_url or None
        self._warm: Future[tuple[Any, Remote | None]] | None = None
        self._client_made: Future[Any] | None = None  # the warm-up's client, once made
        self._leaving = threading.Event()  # set when the warm-up's first request is about to leave
        self._stop: threading.Event | None = None  # the publish under way's: set when it is cancelled
        # What the publishes since the last that succeeded (the command's attempts) left for the operator to settle:
        # what their failures said of the pages they may have left in the bucket that no manifest names, the one
        # cancelled part way (the command's deadline) included. A cut attempt that sent nothing leaves the earlier
        # attempts' pages there all the same, and its caller sees only the cancellation, so this is kept for it to ask
        # (``HostDestination.left_by_cut``, which resets it per command). None: nothing.
        self.left_by_stop: str | None = None
        self._left_said: list[str] = []  # those sentences of the publish under way's failure
        # The paths the publish under way sent a put for that did not succeed: each may be in the bucket all the same.
        self._sent: set[str] = set()
        # Path -> (hash, ETag) of each page the publish under way put up: kept for the next (``LocalCopy.page_etags``).
        self._put_etags: dict[str, tuple[str, str]] = {}
        # Path -> the versions the manifest planned against named there ("" for none) when the publish under way sent
        # another in its rounds, recorded as each request leaves; and those a refusal then marked unknown in the
        # bucket's manifest (``_refused_after_putting``).
        self._over: dict[str, set[str]] = {}
        self._owed: dict[str, frozenset[str]] = {}  # as the publish under way found them (``LocalCopy.owed``)
        self._landed = False  # whether its manifest landed (``_publish_over``'s success: nothing left to owe)
        self._marked: set[str] = set()
        self._customers_put = False  # whether it sent a customer's page (a/): a failure makes the next publish list a/
        # False once the service answered a conditional write with 501: then the manifest is read
        # before every write and written plainly, the store's lock keeping one store's publishers apart.
        self._conditional = True
        # Site-shaped keys a publish over a lost manifest listed but left, not carrying this place's mark (its notes).
        self._left: set[str] = set()
        # Those of them carrying no mark at all: maybe this site's own, uploaded before the mark existed (a withdrawn
        # incident's page). The publish fails while any remains that its build lacks (``_unproven_failure``).
        self._unproven: set[str] = set()
        # Unmarked keys that are no page broadcaster could have taken back (a shared bucket's api/v2/users.json,
        # badges/coverage.svg): left and named in the notes, never a failure (``_WITHDRAWABLE``).
        self._unmarked_other: set[str] = set()
        # Keys under a/ that the build lacks, carrying no mark and named unlike a customer's folder (a/docs/: a
        # feed token is 20 to 128 characters), so another program's: left and counted in the notes, once.
        self._unmarked_customers: set[str] = set()
        # Those in a customer's folder shape: broadcaster marks every customer page it writes (since MANIFEST_VERSION
        # 2), yet a publish that stopped part way through the upgrade may have left some unmarked (``Remote.
        # unmarked_pages``: then deleted). Elsewhere they fail the publish (a rotated token's page still served is
        # the leak the rotation was for; deleting another program's file is a loss): ``_unmarked_pages_failure``.
        self._unmarked_pages: set[str] = set()
        # Pages in doubt (``LocalCopy.in_doubt``) the publish would have deleted that now hold another's object.
        self._doubts_left: set[str] = set()
        # The keys under a/ the build lacks, listed with their ETag, whose mark decides whether they are deleted.
        self._to_judge: dict[str, str] = {}
        # Digests (``theirs_digest``) of the keys under a/ found another's, by this publish or an earlier one; None
        # when the publish listed no customers' pages (the record is left as it is).
        self._theirs: set[str] | None = None
        # Pages an attempt that met another publisher's manifest (``_Conflict``) put up that the manifest it planned
        # against did not name: in doubt unless a manifest the publish reads or writes later names them.
        self._put_up: set[str] = set()

    @classmethod
    def validate_options(cls, options: Mapping[str, Any], where: str) -> None:
        where = where.rstrip(". ")
        if isinstance(options.get("secret_access_key"), str):
            raise ConfigError(
                f"{where}.secret_access_key holds a secret written in the file. Put it in an "
                'environment variable and write secret_access_key = "${MY_VAR}" instead.'
            )
        if ("access_key_id" in options) != ("secret_access_key" in options):
            raise ConfigError(
                f"{where}: set both access_key_id and secret_access_key, or neither "
                "(then the standard AWS environment variables and files are used)."
            )
        endpoint = plain_value(options.get("endpoint_url"))  # "${VAR}" too: a password stays out of the file
        if endpoint and not is_http_url(endpoint):
            # Not shown: "user:password@host" without a scheme reads as anything but a URL, and
            # botocore would repeat it whole in its own error.
            raise ConfigError(
                f"{where}.endpoint_url must be an http(s) URL with a host, like \"https://s3.example.com\" or "
                "\"http://127.0.0.1:9000\" (its value is not shown here, since it may hold a password)."
            )
        prefix = options.get("prefix", "")
        if not isinstance(prefix, str) or not _valid_prefix(prefix):
            raise ConfigError(
                f"{where}.prefix must be a folder path in the bucket, like \"status\" or \"sites/status/\": "
                "no leading '/', no '..' or '.', no empty part ('//'), no backslash, '%', '?', '#', space or "
                "control character. Browsers and CDNs resolve such keys elsewhere than the bucket lists them."
            )

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    @property
    def place(self) -> str:
        # Kept in the local copy of the manifest (.broadcaster/): never the endpoint's credentials. One
        # spelling of the endpoint, so that machines writing it differently take turns on one lock and
        # one record of how far the store got there (``site.source.publish``).
        return f"s3:{_one_spelling(self.endpoint_url or '')} {self.location}"

    @property
    def manifest_key(self) -> str:
        return self.prefix + MANIFEST_NAME

    @property
    def mark(self) -> str:
        """The value of ``MARK_NAME`` on every object this place's publishes upload: its prefix (ASCII, as S3
        requires of metadata), so that a site published under a prefix below this one (``components/eu/``) is
        never taken for this one's."""
        return quote(self.prefix, safe="/") or "/"

    # -- publishing -------------------------------------------------------------

    @property
    def local_copy(self) -> LocalCopy:
        return LocalCopy(self.base_dir / ".broadcaster" / f"{self.publish_lock}.json", self.place)

    def warm_up(self) -> None:
        """At command start, in a thread while the site builds: import boto3, make the client and
        read the bucket's manifest unless it is still the local copy (a read: nothing changes).

        Returns once that read is leaving (or ``first_request_wait`` has passed): the upload is the
        slowest delivery, and until then anything else the command did (importing the site's
        builder, the other destinations' SDKs) would share the one GIL with boto3's import and
        hold up the request that starts the slowest chain of round trips."""
        if self._warm is None:
            self._stop = None  # an earlier publish's stop refuses no request of this one (``_refuse_once_stopped``)
            leaving = self._leaving = threading.Event()
            made: Future[Any] = Future()
            self._client_made = made
            made.set_running_or_notify_cancel()
            warm = ThreadPoolExecutor(1, thread_name_prefix=_WARM_UP_THREAD).submit(self._warmed, leaving, made)
            self._warm = warm
            warm.add_done_callback(partial(_settled_like, made))
            # `site publish` warms up, then a full build may fork its page workers. A fork while
            # this thread imports boto3 or holds one of its locks copies them into the child held,
            # and a child that needs one waits for ever: every fork first waits for the warm-up.
            _forks_wait_for(warm)
            warm.add_done_callback(lambda _: leaving.set())  # failed before its request: nothing to wait for
            leaving.wait(self.first_request_wait)

    def warming(self) -> Future[Any] | None:
        # What takes the CPU: boto3's import and client (none with the light client). Not the read's
        # answer, which the uploads wait for but the other destinations' imports need not.
        return self._client_made

    def read_ahead(self) -> threading.Event | None:
        """The manifest's light read, started now (see ``SiteHost.read_ahead``)."""
        mine = self.local_copy.read()
        unless = mine.etag if mine is not None else None
        leaving = threading.Event()
        reading = self._start_light_read(unless, leaving.set)
        if reading is None:
            return None
        self.keep_ahead(_ReadAhead(unless, reading, time.monotonic()))
        reading.add_done_callback(lambda _: leaving.set())  # failed before it left
        return leaving

    def _warmed(self, leaving: threading.Event, made: Future[Any]) -> tuple[Any, Remote | None]:
        # While the site builds, the bucket says whether the local copy is still its manifest
        # (304: nothing sent back), or sends the one another publisher wrote since: either way
        # the publish then plans against the bucket's manifest without another round trip.
        mine = self.local_copy.read()
        unless = mine.etag if mine is not None else None
        ahead = self.taken_ahead()
        if isinstance(ahead, _ReadAhead) and ahead.usable(unless, self.read_ahead_fresh):
            reading: Future[Remote | None] | None = ahead.reading
            leaving.set()  # on its way since the config was read
        else:  # none, failed, old, or asked against a local copy another command has since replaced
            reading = self._start_light_read(unless, leaving.set)
        if reading is not None:
            reading.add_done_callback(lambda _: leaving.set())  # left, or failed before it left
        access = self._light_access()
        light = _LightClient.made(access, self._client, self.connect_timeout) if access else None
        client: Any = light or self._client()
        made.set_result(client)
        leaving.set()
        known, answered = self._light_answer(reading) if reading is not None else (None, False)
        if not answered:
            with contextlib.suppress(Exception):  # the publish reads it again and reports what went wrong
                known = self._read_document(client, unless=unless)
        return client, mine if known is None else known

    @staticmethod
    def _light_answer(reading: Future[Remote | None]) -> tuple[Remote | None, bool]:
        """What the light read learnt, and whether boto3 need not ask again."""
        import ssl

        try:
            return reading.result(), True
        except ssl.SSLError:
            return None, False  # boto3 may trust another authority (its config's ca_bundle): it reads it
        except OSError:
            return None, True  # unreachable: boto3 would wait as long; the publish reports it
        except Exception:  # noqa: BLE001 - refused or unreadable: boto3 reads it and says why
            return None, False

    def _start_light_read(self, unless: str | None, sent: Callable[[], None]) -> Future[Remote | None] | None:
        """The light read, started in a daemon thread: a command that stops early (a refusal) must
        not wait at exit for an endpoint that does not answer. None where boto3 must read it."""
        try:
            light = self._light_read()
        except Exception:  # noqa: BLE001 - an optimisation, never a new way to fail: boto3 reads it
            return None
        if light is None:
            return None
        # Without boto3, the read leaves before boto3 is even imported, and boto3 loads while it waits.
        reading: Future[Remote | None] = Future()

        def read() -> None:
            if reading.set_running_or_notify_cancel():
                try:
                    reading.set_result(light(unless, sent))
                except BaseException as exc:  # noqa: BLE001 - handed to whoever takes the answer
                    reading.set_exception(exc)

        threading.Thread(target=read, name=_WARM_UP_THREAD, daemon=True).start()
        _forks_wait_for(reading)  # see warm_up
        return reading

    def _light_access(self) -> _LightAccess | None:
        """How to reach the bucket without boto3 (``_s3_light``), where nothing about it is left to
        boto3's rules; None otherwise, and where working that out fails: an optimisation is never a
        new way for a publish to fail (boto3 then does it all, and reports what it finds)."""
        try:
            return self._find_light_access()
        except Exception:  # noqa: BLE001
            return None

    def _find_light_access(self) -> _LightAccess | None:
        from broadcaster.site.hosts import _s3_light

        if "access_key_id" in self.config.options:
            keys: _s3_light.Keys | None = _s3_light.Keys(
                _reveal(self.config.options["access_key_id"]), _reveal(self.config.options["secret_access_key"]))
        else:
            keys = _s3_light.Keys.from_environment(os.environ)
        region = self.region or os.environ.get("AWS_DEFAULT_REGION")  # the variable botocore reads
        url = _s3_light.object_url(self.endpoint_url, region, self.bucket, self.manifest_key) if region else None
        blocked = _s3_light.environment_blocks_it(os.environ, endpoint_given=self.endpoint_url is not None)
        if keys is None or region is None or url is None or blocked:
            return None
        if _s3_light.proxied(_s3_light.client_endpoint(self.endpoint_url, region), os.environ):
            return None  # boto3 goes through the proxy
        return _LightAccess(self.endpoint_url, region, self.bucket, keys)

    def _light_read(self) -> Callable[[str | None, Callable[[], None]], Remote | None] | None:
        """The manifest's conditional read without boto3 (``_s3_light``), where nothing about it is left
        to boto3's rules; None otherwise. The function raises on any answer but 200, 304 and 404."""
        from broadcaster.site.hosts import _s3_light

        access = self._light_access()
        if access is None:
            return None
        url = access.url(self.manifest_key)

        def read(unless: str | None, sent: Callable[[], None]) -> Remote | None:
            answer = _s3_light.get(url, access.region, access.keys, unless=unless, timeout=self.connect_timeout,
                                  cafile=os.environ.get("AWS_CA_BUNDLE") or None, sent=sent)
            if answer.status == 304 and unless is not None:
                return None
            if answer.status == 404 and b"<Code>NoSuchKey</Code>" in answer.body:
                return Remote()
            if answer.status != 200:
                raise _s3_light.Refused(answer.status)
            return Remote.of_bytes(answer.body, answer.etag)

        return read

    async def publish(self, site: BuiltSite) -> Receipt:
        """Upload the files of ``site`` that differ from what the bucket's manifest records.

        Cancelled (a deadline, Ctrl-C), it returns only once the uploading thread has stopped, after
        the requests it has on their way: its caller then gives up the store's lock (``site.source``),
        and an upload of this publish landing later could replace another publisher's newer file."""
        import asyncio
        stop = threading.Event()
        self.landed_after_cut = False
        uploading = asyncio.ensure_future(asyncio.to_thread(self._publish, site, stop))
        try:
            receipt = await asyncio.shield(uploading)
        except asyncio.CancelledError:
            stop.set()  # the thread cannot be killed: tell it to stop after the current requests
            ended = await _stopped(uploading)
            if uploading.cancelled() or ended is not None:
                self._keep_left(ended)
            else:  # it succeeded after all: its manifest names what earlier attempts left (review 23m)
                self.left_by_stop = None
                self.landed_after_cut = True  # the store counts it (``site.source.publish``)
            raise
        except DeliveryError as failure:  # the engine may try again, and that attempt be cut having sent nothing
            self._keep_left(failure)
            raise
        self.left_by_stop = None  # it planned over every page recorded in doubt, and no cut follows a success
        return receipt

    def _keep_left(self, ended: BaseException | None) -> None:
        """Add to ``left_by_stop`` what the publish that just ended said it left in the bucket (``_left_said``)."""
        if not isinstance(ended, DeliveryError) or not self._left_said:
            return
        kept = [self.left_by_stop] if self.left_by_stop else []
        # Once each: an attempt may send the same pages again and say so in the same words.
        self.left_by_stop = " ".join(kept + [s for s in self._left_said if s not in (self.left_by_stop or "")])

    def _publish(self, site: BuiltSite, stop: threading.Event) -> Receipt:
        """Two round trips after the build when the manifest planned against is still the bucket's:
        the pages and assets, then the index, feeds, JSON and the manifest, written if unchanged since."""
        warm, self._warm = self._warm, None
        self._left = set()
        self._unproven = set()
        self._unmarked_other = set()
        self._unmarked_customers = set()
        self._unmarked_pages = set()
        self._doubts_left = set()
        self._to_judge = {}
        self._theirs = None
        self._put_up = set()
        self._sent = set()
        self._put_etags = {}
        self._over = {}
        self._owed = self.local_copy.owed()
        self._landed = False
        self._marked = set()
        self._customers_put = False
        self._left_said = []
        self._stop = stop
        fresh = self._create_fresh_pages(site, stop) if warm is not None and not warm.done() else _Fresh.none()
        client = None
        try:
            client, known = warm.result() if warm is not None else (self._client(), self.local_copy.read())
            if isinstance(client, _LightClient):
                client.stop = stop
            return self._publish_with(client, known, site, stop, fresh)
        except BaseException as exc:
            if self._customers_put:  # no manifest may say that a customer's page is there: the next publish lists a/
                self.local_copy.doubt_customers()
            # Sent, and not known to be named by what was sent: this machine's next publish plans them as unknown
            # wherever the bucket's manifest names anything else (``LocalCopy.owed``), or marks them so if refused.
            sent = _merged(self._over, {} if self._landed else fresh.replaced_sent())
            owing = {p: v for p, v in sent.items() if p not in self._marked}
            ended = exc
            if not self.local_copy.owe(owing) and isinstance(exc, DeliveryError):  # no later publish would look
                exc = self._unowed_failure(exc, sorted(owing))
            put_up, self._put_up = self._put_up, set()  # those a failure after a conflict left unrecorded
            recorded = self.local_copy.doubt(put_up)
            if put_up and isinstance(exc, DeliveryError):
                failure = self._in_doubt_failure(exc, put_up, recorded=recorded)
                self._take_back(fresh, failure)
                raise failure from ended
            self._take_back(fresh, exc)
            if exc is not ended:
                raise exc from ended
            raise
        finally:
            fresh.wait()  # never left uploading behind the command's back, nor on a closed client
            self._stop = None  # the thread is done: no later request of this host is refused as stopped
            if isinstance(client, _LightClient):
                client.close()

    def _publish_with(
        self, client: Any, known: Remote | None, site: BuiltSite, stop: threading.Event, fresh: _Fresh
    ) -> Receipt:
        self._check_stop(stop)  # cancelled while the warm-up's read was out: nothing more is asked
        known = known.opened(site.store) if known is not None else None
        if known is None or not site.latest:
            # Another machine of this store may have published a build of a later state: its
            # pages must be known before any of ours goes up (the conditional write comes last).
            known = self._read_manifest(client, site)
        else:
            known = self._with_listed(client, known, site)
        if known.etag is None:  # none in the bucket
            known = self._claim(client, site)
        for _ in range(self.conflict_attempts):
            try:
                return self._publish_over(client, site, known, stop, fresh)
            except _Conflict as conflict:
                self._conditional = self._conditional and not isinstance(conflict, _Unsupported)
                known = self._read_manifest(client, site)  # if it fails, ``_publish`` records ``_put_up`` in doubt
                if known.etag is None:  # deleted since this publish planned against it: the site's files listed
                    known = replace(known, files=self._listed(client, "", None, _LISTING_LOST, recovering=True))
                fresh.named_by(known.files)  # the other publisher's manifest names them: never taken back
                # A file this publish sent may stand behind the version that manifest names: the other publisher's put
                # may have gone up before this one's, its manifest after. Looked for as a version named when it was sent.
                for path, named in self._over.items():
                    named.add(known.files.get(path, ""))
        self.local_copy.forget()
        failure = retryable(self._clean(
            f"{self.location}: another publisher replaced the manifest {self.conflict_attempts} times while "
            "this one uploaded; the site is not yet fully published. Run `broadcaster retry` in a moment."
        ))
        self._put_up -= known.files.keys()  # the rest: in doubt (``_publish``)
        raise failure

    def _claim(self, client: Any, site: BuiltSite) -> Remote:
        """The place without a manifest made this store's (``_claim_the_place``), after refusing another
        website's files. Where it holds a site of broadcaster's all the same (its manifest deleted, or one
        from before manifests), that site's files are listed: this build deletes those it lacks (a withdrawn
        incident's page), which no manifest names any more."""
        holds_a_site = self._refuse_anothers_files(client)
        listed = self._listed(client, "", None, _LISTING_LOST, recovering=True) if holds_a_site else {}
        return self._claim_the_place(client, site, listed)

    def _refuse_anothers_files(self, client: Any) -> bool:
        """A first publish (no manifest in the bucket) where the bucket or prefix serves another website: files the
        site would replace (its index.html, feeds, summary.json) and no site of broadcaster's (its signature: a
        manifest lost, or one from before manifests). Refused, as the directory and git targets refuse a folder
        or a branch of another's; nothing is uploaded. Looked up by name, together, on a first publish only.
        Returns whether the place holds a site of broadcaster's."""
        looks = (*_SITE_TOP_NAMES, SITE_SIGNATURE)
        with ThreadPoolExecutor(len(looks), thread_name_prefix="s3-look") as pool:
            found = dict(zip(looks, pool.map(partial(self._holds, client), looks), strict=True))
        theirs = sorted(path for path in _SITE_TOP_NAMES if found[path])
        if theirs and not found[SITE_SIGNATURE]:
            raise permanent(self._clean(
                f"{self.location} holds files broadcaster did not publish ({', '.join(theirs)}): publishing would "
                f"replace them. Give publish.{self.name} a prefix of its own (prefix = \"status/\") or another "
                "bucket; nothing was uploaded."
            ))
        return found[SITE_SIGNATURE]

    def _claim_the_place(self, client: Any, site: BuiltSite, listed: Mapping[str, str]) -> Remote:
        """A first publish writes a manifest of this store before any file, naming only the site files found
        ``listed`` (hash unknown): one that then fails part way leaves the place named as broadcaster's, and
        the next publish finishes it (deleting what its build lacks) rather than taking its files for another
        website's. Another publisher's claim first: theirs is read and planned against."""
        claim = Remote(files=dict(listed), store=site.store)
        try:
            return replace(claim, etag=self._write_manifest(client, claim, replaces=None))
        except _Unsupported:
            self._conditional = False
            return replace(claim, etag=self._write_manifest(client, claim, replaces=None))
        except _Conflict:
            return self._read_manifest(client, site)

    def _holds(self, client: Any, path: str) -> bool:
        """Whether the bucket has ``path``: asked without boto3 where the light client may ask."""
        from broadcaster.site.hosts import _s3_light

        access = self._light_access()
        if access is not None:
            with contextlib.suppress(Exception):  # boto3 asks again, and says what went wrong
                answer = _s3_light.get(access.url(self.prefix + path), access.region, access.keys, unless=None,
                                       timeout=self.connect_timeout, cafile=os.environ.get("AWS_CA_BUNDLE") or None)
                if answer.status in (200, 404):
                    return answer.status == 200

        def head() -> bool:
            try:
                client.head_object(Bucket=self.bucket, Key=self.prefix + path)
            except _botocore("ClientError") as exc:
                if _code(exc) in ("404", "NoSuchKey", "NotFound"):
                    return False
                raise
            return True

        return bool(self._call(head, f"look for {path}"))

    def _create_fresh_pages(self, site: BuiltSite, stop: threading.Event) -> _Fresh:
        """While the bucket has yet to say whether this machine's copy of its manifest is still right:
        the pages that copy does not name (a new incident's), each created only if the bucket has no
        such file (``If-None-Match: *``), and those it names that changed (a follow-up's), each only
        over the object this machine put there (``If-Match``), so nothing anyone else published is
        replaced. The index that links to them goes up a round trip later, as ever. Only with the light
        client, made at once."""
        made = self._client_made  # about made by now: the warm-up makes it once its read has left
        client = made.result() if made is not None and made.exception() is None else None
        mine = self.local_copy.read(site.store) if isinstance(client, _LightClient) and site.latest else None
        # Customers' pages are listed before the plan, which may fail: a page created ahead of a
        # publish that never reached its plan would be in the bucket, named in no manifest.
        customers = mine is not None and (mine.customer_pages or any(p.startswith(AUDIENCE_DIR) for p in site.hashes))
        restored = mine is not None and mine.store == site.store and site.restored_over(mine.generation)
        if client is None or mine is None or customers or restored:
            return _Fresh.none()
        client.stop = stop  # ahead of ``_publish``'s own: a creation sent again on a new connection looks at it
        doubts = self.local_copy.in_doubt()  # likely there already: uploaded with the publish's first round
        pages = [p for p in Plan.of(site, mine).pages if p not in doubts]
        # A changed page replaces only the very object this machine put there (``If-Match`` on its ETag): another
        # publisher's since is refused (412) and waits for the read like any page, as it did before.
        etags = self.local_copy.page_etags(mine) if self._conditional else {}
        conditions = {p: {"IfNoneMatch": "*"} if p not in mine.files else {"IfMatch": etags[p]}
                      for p in pages if p not in mine.files or p in etags}
        if not conditions:
            return _Fresh.none()

        sent: set[str] = set()  # those whose request left: read and checked for private detail first

        def create(path: str) -> str | None:
            if stop.is_set():
                return None
            request = self._put_request(site, path)
            sent.add(path)
            etag: str | None = client.put_ahead(conditions[path], **request)
            return etag

        replaced = {p: mine.files[p] for p in conditions if p in mine.files}
        pool = ThreadPoolExecutor(min(self.upload_workers, len(conditions)), thread_name_prefix="s3-upload")
        try:
            return _Fresh({path: pool.submit(create, path) for path in conditions}, site, client, sent, replaced)
        finally:
            pool.shutdown(wait=False)

    def _publish_over(
        self, client: Any, site: BuiltSite, remote: Remote, stop: threading.Event, fresh: _Fresh
    ) -> Receipt:
        fresh.named_by(remote.files)  # the bucket's manifest names them: never orphans, whatever happens next
        if remote.store == site.store:  # after a conflict too: the manifest read again may show a later build
            try:
                site.refuse_restored_over(remote.generation, self.location)
            except DeliveryError as refused:
                raise self._refused_after_putting(client, remote, fresh, refused) from None
        named = remote.files.keys()  # by the manifest planned against (what a failure leaves unnamed is in doubt)
        doubts = self.local_copy.in_doubt()
        if doubts & set(named):  # a manifest names them: whoever plans against it uploads or deletes them
            self.local_copy.settle(doubts & set(named))
            doubts = doubts - set(named)
        if doubts:  # left by a failed publish: planned as present, hash unknown (uploaded if built, else deleted)
            remote = replace(remote, files={**dict.fromkeys(doubts, ""), **remote.files})
        if suspect := self._sent_over(remote, client, site) - doubts:  # an earlier attempt's or publish's, maybe over another's
            remote = replace(remote, files={**remote.files, **dict.fromkeys(suspect, "")})  # uploaded, or left unknown
            named = remote.files.keys()
        plan = Plan.of(site, remote)
        confirming = self._confirm(client, site, remote, plan)
        # Whose are the keys it would delete that no manifest names: a page in doubt may hold another's object since.
        judging = self._judge(client, [p for p in plan.delete if p in self._to_judge or p in doubts])
        looking: list[Future[Any]] = [confirming, judging]
        done = _Progress(dict(remote.files), remote.etag)
        wrote = False
        try:
            try:
                try:
                    self._upload_round(client, site, [p for p in plan.pages if p not in fresh.paths], done, stop)
                finally:
                    wait(looking)  # never left asking behind the publish's back
                confirmed = confirming.result()
                if confirmed:  # the bucket serves these very files: neither uploaded nor a reason for a new manifest
                    remote = replace(remote, files={**remote.files, **confirmed})
                    plan = Plan.of(site, remote)
                    done.files.update(confirmed)
                if judged := judging.result():
                    remote, plan, dropped = self._judged(judged, site, remote, doubts)
                    for path in dropped:
                        done.files.pop(path, None)
            finally:  # the pages created ahead went up in the same round trip; on a failure they are progress too
                # Trusted only where the manifest planned against names no other version: after a
                # conflict, another publisher may have put theirs there since (it goes up again, below).
                # A replaced page only where it names the version replaced (the one ``If-Match`` found there): one it
                # does not name was deleted since, or is being deleted (``while_deleting``), after it went up.
                created = {p: h for p, h in fresh.created().items() if p not in plan.newer and remote.files.get(p) in
                           ((h, fresh.replaced[p]) if p in fresh.replaced else (None, h))}
                done.files.update(created)
                # Replaced where the plan now keeps the bucket's as later: what the bucket serves is unknown.
                done.files.update(dict.fromkeys(fresh.maybe_over(remote.files) - created.keys(), ""))
            self._upload_round(client, site, [p for p in plan.pages if p in fresh.paths and p not in created],
                               done, stop)
            # Unmarked files the build lacks remain: every later publish looks for them again until they are gone.
            result = replace(plan.result(site, remote), list_again=bool(self._unproven - site.hashes.keys()))
            if overwritten := fresh.maybe_over(remote.files) & plan.newer:  # the bucket's, kept, yet ours went up:
                result = replace(result, files={**result.files, **dict.fromkeys(overwritten, "")})  # its next publish
            # Also where a file of this machine's may stand behind it (``suspect``): a new manifest (a new ETag) makes
            # every other publisher read the bucket's, not its own copy, and so plan that file as unknown too.
            if _public(plan.upload + plan.delete) or remote.etag is None or suspect or not result.shows_the_same(remote):
                pending = frozenset(plan.linking) | frozenset(plan.delete)
                self._upload_round(client, site, plan.linking, done, stop,
                                   manifest=(replace(plan.while_deleting(result), list_again=result.list_again),
                                             pending), fresh=fresh)
                wrote = True
                fresh.named_by(result.files)
            else:
                # Only customers' pages changed, which the manifest never names: a new manifest (its ETag
                # and Last-Modified, which anyone may ask for) would tell readers that something changed, and when.
                self._upload_round(client, site, plan.linking, done, stop)
            for path in plan.delete:
                self._check_stop(stop)
                self._call(partial(client.delete_object, Bucket=self.bucket, Key=self.prefix + path), f"delete {path}")
                done.files.pop(path, None)
        except _Conflict:
            self._put_up |= {p for p, h in _public(done.files).items() if h and p not in named and p not in fresh.paths}
            raise
        except BaseException as exc:
            self.local_copy.forget()
            saved = False
            if _public(done.files) != _public(remote.files):  # customers' pages: listed again by the next publish
                progress = plan.progress(site, remote, done.files)
                list_again = remote.list_again or bool(self._unproven)
                saved = self._save_progress(client, replace(progress, etag=done.etag, list_again=list_again), fresh)
                if saved:
                    fresh.named_by(done.files)
            # Pages this publish put up that the manifest planned against did not name, with no manifest known to
            # name them now (the progress manifest not written): named nowhere, no later publish would delete them
            # (a withdrawn incident's page would stay up for good). The pages created ahead: ``_take_back``.
            # Those created ahead (``_take_back``) aside; one whose creation failed went up in a round like any other.
            made_ahead = fresh.created().keys()
            unnamed = set() if saved else {p for p, h in _public(done.files).items()
                                           if h and p not in named and p not in made_ahead}
            unnamed |= self._put_up - named - (done.files.keys() if saved else set())
            # A put whose answer never came (a timeout, the deadline's stop) may have landed: named by no manifest.
            unnamed |= {p for p in _public(sorted(self._sent)) if p not in named}
            # A creation ahead answered with nothing may have landed too (a refusal looks the same to it).
            unnamed |= {p for p in fresh.sent() - made_ahead - done.files.keys() if p not in named}
            self._put_up = set()
            if unnamed and isinstance(exc, DeliveryError):
                raise self._in_doubt_failure(exc, unnamed, recorded=self.local_copy.doubt(unnamed)) from exc
            if unnamed:
                self.local_copy.doubt(unnamed)
            raise
        if doubts:  # the manifest that landed names them (uploaded, or hash unknown), or they were deleted
            self.local_copy.settle(doubts & ({*plan.delete, *result.files} if wrote else set(plan.delete)))
        # Put up by an attempt before a conflict, then taken out by the later build that won it: named nowhere.
        stray, self._put_up = self._put_up - result.files.keys(), set()
        stray_recorded = self.local_copy.doubt(stray)
        fresh.named_by(result.files)
        self.local_copy.save(replace(result, etag=done.etag))
        self.local_copy.keep_page_etags(result.files, {**fresh.put(), **self._put_etags})
        self.local_copy.settle_owed()  # each was planned as unknown where the manifest named anything else
        self._over = {}  # named by the manifest that landed, or unknown there
        self._landed = True  # those sent ahead too: a failure raised below owes nothing
        self.local_copy.settle_customers()  # listed by this publish's plan (``_with_listed``): those it lacks deleted
        self._customers_put = False  # a manifest now names them: a failure raised below sets no flag again
        if self._theirs is not None:
            self.local_copy.keep_theirs(self._theirs)
        if result.list_again:
            raise self._unproven_failure(site, len(plan.upload), len(plan.delete))
        if self._unmarked_pages - site.hashes.keys():
            raise self._unmarked_pages_failure(site, len(plan.upload), len(plan.delete))
        left = self._left_note(site)
        notes = [f"{len(plan.upload)} uploaded, {len(plan.delete)} deleted, "
                 f"{len(site.hashes) - len(plan.upload)} unchanged"]
        if plan.newer - plan.taken_out:
            notes.append(f"{len(plan.newer - plan.taken_out)} kept: built elsewhere from a later state of the store")
        if plan.taken_out:
            notes.append(f"{len(plan.taken_out)} not uploaded: taken out of the site since this build read the store")
        if unknown := sorted(p for p in suspect if p in result.files and not result.files[p]):
            notes.append(f"{self._shown(unknown)}: sent from this machine by an attempt or publish that did not finish, "
                         "maybe left behind the manifest: named unknown in it, so the next publish there puts its own "
                         "up or deletes them where its build has none")
        if remote.store == site.store and site.restored_over(remote.generation):
            notes.append(site.restored_note(remote.generation))
        if left:
            notes.append(left)
        if stray:
            then = ("the next publish from this machine deletes them unless its build has them" if stray_recorded
                    else "delete them from the bucket by hand")
            notes.append(f"{len(stray)} pages put up before another publisher's manifest took their place are named "
                         f"by no manifest: {self._shown(sorted(stray))}; {then}.")
        return Receipt(remote_id=self.location, notes=tuple(notes))

    def _upload_round(
        self, client: Any, site: BuiltSite, paths: list[str], done: _Progress, stop: threading.Event,
        manifest: tuple[Remote, frozenset[str]] | None = None, fresh: _Fresh | None = None,
    ) -> None:
        """Upload ``paths`` in parallel, and with them the manifest if given (the document and the
        files it names unconfirmed), written only over the one ``done.etag`` names. The pages of ``fresh``
        (created ahead) that manifest names are marked named once it landed: whatever fails next, the bucket's
        manifest gives their hash, and no later publish would put them back. Where its write failed in a way
        that may have stored it (a 5xx, a timeout), the bucket's manifest is read back to find out."""
        halt = threading.Event()  # set when one request failed: the others stop after their current file

        def upload(path: str) -> None:
            self._check_stop(stop, halt)
            # Read (and checked for private detail, which refuses it) before anything is sent.
            request = self._call(lambda: self._put_request(site, path), f"upload {path}")
            self._sent.add(path)
            if not path.startswith(AUDIENCE_DIR):  # a customer's page: listed again by the next publish (``doubt_customers``)
                # Another version than the one named there: the bucket may serve it while a manifest names that one.
                # (A suspect one was planned as "", which adds nothing: it is looked at whatever the manifest names.)
                if (named := done.files.get(path) or "") != site.hashes[path]:
                    self._over.setdefault(path, set(self._owed.get(path, ()))).add(named)
            self._customers_put = self._customers_put or path.startswith(AUDIENCE_DIR)
            # Kept in ``_sent`` whatever the failure: a refusal (a 4xx) may answer boto3's resend of a put that the
            # light client sent first and that landed unanswered. Recording one too many in doubt costs the next
            # publish a look; one too few leaves a page up that no manifest names.
            answer = self._call(lambda: client.put_object(**request), f"upload {path}")
            self._sent.discard(path)
            done.files[path] = site.hashes[path]
            if isinstance(answer, Mapping) and answer.get("ETag"):
                self._put_etags[path] = (site.hashes[path], str(answer["ETag"]))

        def write() -> None:
            assert manifest is not None
            self._check_stop(stop)
            try:
                done.etag = self._write_manifest(client, *manifest, replaces=done.etag)
            except _Conflict:
                raise  # not written: the bucket's manifest is another publisher's
            except BaseException as exc:
                there = self._manifest_there(client) if fresh is not None and _may_have_landed(exc) else None
                if fresh is not None and there is not None:
                    fresh.named_by(there.files)  # a 503 or a refused connection stored nothing: not named
                    if _says_the_same(there, *manifest):
                        done.etag = there.etag  # it did land: the progress manifest replaces it
                raise
            if fresh is not None:
                fresh.named_by(manifest[0].files)

        if not paths and manifest is None:
            return
        workers = min(self.upload_workers, len(paths) + 1)
        with ThreadPoolExecutor(workers, thread_name_prefix="s3-upload") as pool:
            futures = [pool.submit(upload, p) for p in paths]
            if manifest is not None:
                futures.insert(0, pool.submit(write))  # a conflict is reported first: the publish plans again
            for future in as_completed(futures):
                if future.exception() is not None:
                    halt.set()
        errors = [e for f in futures if (e := f.exception()) is not None]
        if errors:
            raise next((e for e in errors if not isinstance(e, _Stopped)), errors[0])

    def _put_request(self, site: BuiltSite, path: str) -> dict[str, Any]:
        return {"Bucket": self.bucket, "Key": self.prefix + path, "Body": site.read(path),
                "ContentType": content_type(path), "CacheControl": cache_control(path),
                "Metadata": {MARK_NAME: self.mark}}

    def _read_manifest(self, client: Any, site: BuiltSite | None = None) -> Remote:
        """The hashes the bucket serves, and the customers' pages it holds (listed: never in the manifest),
        when it says it has some or ``site`` does."""
        return self._with_listed(client, self._read_named(client, site), site)

    def _read_named(self, client: Any, site: BuiltSite | None = None) -> Remote:
        """The files the bucket's manifest names, nothing listed (none when it is unreadable)."""
        remote: Remote = self._call(lambda: self._read_document(client) or Remote(), "read the manifest")
        remote = remote.opened(site.store) if site is not None else remote
        mine = self.local_copy.read(site.store if site is not None else "")  # sealed alike when not opened
        if mine is not None and mine.etag == remote.etag:
            remote = mine  # the same document, and this machine knows its unconfirmed files arrived
        return remote

    def _with_listed(self, client: Any, remote: Remote, site: BuiltSite | None) -> Remote:
        """``remote`` with the files no manifest names, listed from the bucket: every file of the site when the
        bucket's manifest is unreadable (its files, a withdrawn incident's page among them, are still served,
        and this build deletes those it lacks); else the customers' pages, when it has some or ``site`` does.
        Nothing where the bucket has no manifest: ``_claim`` lists what a site of broadcaster's there holds."""
        self._to_judge, self._theirs = {}, None  # of the listing the publish plans from: the latest
        if remote.etag is None:
            return remote
        if remote.unreadable:
            listed = self._listed(client, "", None, "list the site's files, whose manifest is unreadable",
                                  recovering=True)
            return replace(remote, files=listed, unreadable=False)
        if remote.list_again:  # a recovery left unmarked files: looked for again, until they are gone
            listed = self._listed(client, "", None, _LISTING_LOST, recovering=True, known=remote.files.keys())
            remote = replace(remote, files={**listed, **remote.files})
        if (not remote.customer_pages and not (site and any(p.startswith(AUDIENCE_DIR) for p in site.hashes))
                and not self.local_copy.customers_in_doubt()):
            return remote
        # Under an older format version, their headers may be the old ones: uploaded again, whatever their content.
        compared = None if remote.older else site
        # Only keys this place's publishes marked are deleted (a shared bucket's a/docs/index.html is not ours):
        # those the build lacks are looked at (``_judge``). Not over an older manifest, whose publishes marked nothing.
        owned = None if remote.older or site is None else site.hashes.keys()
        customers = self._listed(client, AUDIENCE_DIR, compared, "list the customers' pages", marked_unless=owned)
        return replace(remote, files={**remote.files, **customers}) if customers else remote

    def _listed(
        self, client: Any, under: str, site: BuiltSite | None, doing: str, *, recovering: bool = False,
        known: Collection[str] = (), marked_unless: Collection[str] | None = None,
    ) -> dict[str, str]:
        """Every file under ``under`` in the shape of a site's (a shared bucket's other files are not ours to
        delete), with ``site``'s hash where the bucket holds that very file, else unknown (""): uploaded again.
        ``recovering`` (no manifest says which files are the site's): only those carrying this place's mark
        (``_only_marked``); a shared bucket's CI badge or API file has the shape of a site's too. Keys in ``known``
        (named by the manifest) are not looked at again. ``marked_unless`` (the build's files): of the keys listed
        that are not among them, only those carrying this place's mark are kept (the others are left, and named).

        The customers' pages under ``a/`` are always listed: a manifest in the bucket naming them would give
        every customer's capability to whoever reads it. Compared by content (the ETag of an object a single
        PUT sent is its body's MD5), so that a publish changing nothing public writes nothing, not even the
        manifest, whose new ETag and Last-Modified would tell readers that staff did something, and when."""
        def listed() -> dict[str, str]:
            found: dict[str, str] = {}
            pages = client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix + under)
            for page in pages:
                for item in page.get("Contents", []):
                    key = str(item["Key"]).removeprefix(self.prefix)
                    if is_site_path(key):
                        found[key] = str(item.get("ETag") or "")
            return found

        etags: dict[str, str] = self._call(listed, doing)
        if recovering:
            etags = self._only_marked(client, {k: e for k, e in etags.items() if k not in known})
        elif marked_unless is not None:
            # Those the build lacks are looked at beside the first round's uploads (``_judge``), never in a round
            # trip of their own; those a publish here found another's, with the same ETag since, not at all.
            remembered = self.local_copy.theirs()
            lacked = {k: e for k, e in etags.items() if k not in marked_unless}
            seen = {k for k, e in lacked.items() if theirs_digest(k, e) in remembered}
            self._theirs = {theirs_digest(k, lacked[k]) for k in seen}
            self._to_judge = {k: e for k, e in lacked.items() if k not in seen}
            etags = {k: e for k, e in etags.items() if k not in seen}
        return {key: _hash_if_same(site, key, etag) for key, etag in etags.items()}

    def _only_marked(self, client: Any, etags: Mapping[str, str]) -> dict[str, str]:
        """Of the keys listed over a lost manifest, those this place's publishes uploaded: their HEAD shows
        ``mark`` (asked together, in one round trip: only on this recovery path). The others, a shared bucket's
        own files or objects uploaded before the mark existed, are never deleted. Those provably another's (another
        mark: another site's; a HEAD refused: an object encrypted with a customer key, or denied by policy, which
        this site's uploads never are) are named in the publish's notes (``_left_note``); those with no mark at all,
        maybe this site's from before the mark, fail it once it is done (``_unproven_failure``)."""
        found = self._marks(client, sorted(etags))
        self._left |= {key for key, mark in found.items() if mark == "another's"}
        unmarked = {key for key, mark in found.items() if mark == "unmarked"}
        self._unproven |= {key for key in unmarked if key.startswith(_WITHDRAWABLE)}
        self._unmarked_other |= {key for key in unmarked if not key.startswith(_WITHDRAWABLE)}
        return {key: etags[key] for key, mark in found.items() if mark == "ours"}

    def _marks(self, client: Any, keys: list[str]) -> dict[str, str | None]:
        """Key -> whose its HEAD says it is: "ours" (this place's mark), "unmarked", "another's" (another mark, or
        a HEAD refused: SSE-C, a policy's denial; this site's uploads are never either), None (gone). Asked
        together, in one round trip."""
        def marked(key: str) -> str | None:
            try:
                answer = client.head_object(Bucket=self.bucket, Key=self.prefix + key)
            except _botocore("ClientError") as exc:
                status = _status(exc)
                if _code(exc) in ("404", "NoSuchKey", "NotFound") or status == 404:
                    return None  # deleted since it was listed
                if 400 <= status < 500 and status not in (408, 429):
                    return "another's"  # SSE-C (400) or a policy's denial (403): not provably ours, left
                raise
            mark = (answer.get("Metadata") or {}).get(MARK_NAME)
            return "ours" if mark == self.mark else "unmarked" if mark is None else "another's"

        def looked(key: str) -> str | None:
            return self._call(partial(marked, key), f"look whether broadcaster published {key}")  # type: ignore[no-any-return]

        if not keys:
            return {}
        with ThreadPoolExecutor(min(self.upload_workers, len(keys)), thread_name_prefix="s3-look") as pool:
            return dict(zip(keys, pool.map(looked, keys), strict=True))

    def _judge(self, client: Any, keys: list[str]) -> Future[dict[str, str | None]]:
        """``_marks`` of ``keys`` (keys the plan deletes whose owner a listing cannot tell: under a/, and pages in
        doubt), asked beside the first round's uploads: the deletes come after the second round. Only a publish
        with such keys asks; one that finds a shared bucket's own a/ file remembers it (``LocalCopy.theirs``)."""
        answer: Future[dict[str, str | None]] = Future()
        if not keys:
            answer.set_result({})
            return answer
        pool = ThreadPoolExecutor(1, thread_name_prefix="s3-look")
        try:
            return pool.submit(self._marks, client, keys)
        finally:
            pool.shutdown(wait=False)

    def _judged(
        self, found: Mapping[str, str | None], site: BuiltSite, remote: Remote, doubts: Collection[str]
    ) -> tuple[Remote, Plan, set[str]]:
        """``remote`` and its plan without the keys ``_judge`` found are not this site's to delete (and those gone
        since), and the keys dropped. A page in doubt holding another's object is left and settled (the record
        said only that this machine once put a page there). Under a/: another's (another mark, or unmarked and
        named unlike a customer's folder) are left, named once, remembered; unmarked ones in a customer's folder
        shape are deleted where ``remote.unmarked_pages`` says some of ours may be unmarked, else kept and named
        (``_unmarked_pages_failure``)."""
        dropped = {key for key, mark in found.items() if mark is None}
        for key, mark in found.items():
            if mark in (None, "ours"):
                continue
            if key in doubts:
                self._doubts_left.add(key)
                dropped.add(key)
            elif mark == "unmarked" and _customer_page_shaped(key):
                if not remote.unmarked_pages:
                    self._unmarked_pages.add(key)
                continue
            else:
                (self._left if mark == "another's" else self._unmarked_customers).add(key)
                if self._theirs is not None and key in self._to_judge:
                    self._theirs.add(theirs_digest(key, self._to_judge[key]))
                dropped.add(key)
        self.local_copy.settle({key for key in found if key in doubts and found[key] is None} | self._doubts_left)
        remote = replace(remote, files={p: h for p, h in remote.files.items() if p not in dropped})
        plan = Plan.of(site, remote)
        return remote, replace(plan, delete=[p for p in plan.delete if p not in self._unmarked_pages]), dropped

    def _shown(self, keys: list[str]) -> str:
        """Keys left in place, as a publish names them: customers' pages counted, never named (a path is a
        capability), the rest by the first 20."""
        named = [self.prefix + key for key in keys if not key.startswith(AUDIENCE_DIR)]
        customers = len(keys) - len(named)
        shown = ", ".join(named[:20]) + (f" and {len(named) - 20} more" if len(named) > 20 else "")
        if customers:
            shown += f"{' and ' if named else ''}{customers} under {self.prefix}{AUDIENCE_DIR} (customers' pages: " \
                     "not named here, list them in the bucket)"
        return shown

    def _left_note(self, site: BuiltSite) -> str | None:
        """What a publish over a lost manifest left in place (``_only_marked``), and what to do; None if nothing.
        Those this build uploaded are its own now. Customers' pages counted, never named (a path is a capability)."""
        notes = []
        if left := sorted(self._left - site.hashes.keys()):
            notes.append(
                f"{len(left)} site-shaped files left in place, not deleted: no manifest names them and they carry "
                f"another site's mark, or this site's keys may not look at them (encrypted with a customer key, or "
                f"denied by the bucket's policy): {self._shown(left)}. Delete by hand any that is this site's old "
                "page.")
        if other := sorted(self._unmarked_other - site.hashes.keys()):
            notes.append(
                f"{len(other)} files with a site file's name but no page a reader could have been sent to (not under "
                f"incidents/, components/ or a/) left in place, not deleted: no manifest names them and they carry "
                f"no mark, so they may be another program's in this bucket: {self._shown(other)}. Delete by hand any "
                f"that is this site's old file; give publish.{self.name} a prefix of its own to keep them apart.")
        if mine := sorted(self._unmarked_customers - site.hashes.keys()):
            notes.append(
                f"{len(mine)} files under a/ carrying no mark, in a folder named unlike a customer's (a feed token), "
                f"left in place, not deleted: they are likely another program's in this bucket: {self._shown(mine)}. "
                f"Delete by hand any that is this site's; give publish.{self.name} a prefix of its own to keep them "
                "apart. They are not looked at again, nor named again, while they stay unchanged.")
        if doubts := sorted(self._doubts_left - site.hashes.keys()):
            notes.append(
                f"{len(doubts)} pages this machine had put up and no manifest named now hold a file broadcaster did "
                f"not write (no mark, or another's): left in place, not deleted: {self._shown(doubts)}. Delete by "
                "hand any that should not be served.")
        return " ".join(notes) or None

    def _unmarked_pages_failure(self, site: BuiltSite, uploaded: int, deleted: int) -> DeliveryError:
        """The publish is done, but a/ holds files in a customer's folder shape that its build lacks and that carry no
        mark (``_judged``): maybe this site's page of a removed customer or a changed feed_token, from before the
        mark, still served at the old address (the leak a rotation is for), maybe another program's. Not a success
        (exit 3), not retried: every publish fails the same way until they are gone. Counted, never named."""
        left = sorted(self._unmarked_pages - site.hashes.keys())
        return permanent(self._clean(
            f"{self.location}: the rest of the site is published ({uploaded} uploaded, {deleted} deleted), but "
            f"{len(left)} files under {self.prefix}{AUDIENCE_DIR} in a customer's folder shape, which this build does "
            "not have, carry no mark, so they were left in place (not named here: their paths are customers' "
            "addresses). They may be this site's pages of a removed customer or of a changed feed_token, written "
            "before broadcaster marked its files and still served at the old address. List "
            f"{self.prefix}{AUDIENCE_DIR} in the bucket and delete by hand every folder that is not a current "
            "customer's feed_token. Until they are gone, every publish here, `broadcaster retry` included, fails "
            f"again with this message. If one is another program's file, give publish.{self.name} a prefix of its "
            "own (or another bucket)."
            + (f" Also: {also}" if (also := self._left_note(site)) else "")
        ))

    def _read_document(self, client: Any, unless: str | None = None) -> Remote | None:
        """The bucket's manifest; empty on a first publish or an unreadable one; None if its ETag is
        still ``unless`` (the bucket then sends nothing back)."""
        from botocore.exceptions import ClientError

        condition = {"IfNoneMatch": unless} if unless is not None else {}
        try:
            answer = client.get_object(Bucket=self.bucket, Key=self.manifest_key, **condition)
            body = answer["Body"].read()
        except ClientError as exc:
            if unless is not None and _code(exc) in ("304", "NotModified"):
                return None
            if _code(exc) in ("NoSuchKey", "404"):
                return Remote()
            raise
        return Remote.of_bytes(body, str(answer.get("ETag") or ""))

    def _write_manifest(
        self, client: Any, remote: Remote, unconfirmed: frozenset[str] = frozenset(), *, replaces: str | None
    ) -> str:
        """Write the manifest if the bucket's is still the one with ETag ``replaces`` (None: if it has
        none); ``_Conflict`` if another publisher replaced it. Returns the new ETag."""
        from broadcaster.site.hosts._s3_light import Refused

        condition = {"IfMatch": replaces} if replaces is not None else {"IfNoneMatch": "*"}
        if not self._conditional:
            condition = {}
        try:
            answer = client.put_object(
                Bucket=self.bucket, Key=self.manifest_key, Body=remote.document(unconfirmed),
                ContentType=CONTENT_TYPES[".json"], CacheControl="no-store", Metadata={MARK_NAME: self.mark},
                **condition,
            )
        except Refused as exc:  # the light client's 409 or 412 under the condition
            raise _Conflict() from exc
        except _botocore("ClientError") as exc:
            # 412: replaced since; 409: another conditional write at the same moment; 404 with
            # If-Match: deleted since. Each time another publisher got there first.
            status = _status(exc)
            if _code(exc) in ("PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey") or status in (409, 412):
                raise _Conflict() from exc
            if condition and (_code(exc) == "NotImplemented" or status == 501):
                raise _Unsupported() from exc
            raise self._client_error(exc, "write the manifest") from exc
        except _botocore("BotoCoreError") as exc:
            raise self._transport_error(exc, "write the manifest") from exc
        return str(answer.get("ETag") or "")

    def _save_progress(self, client: Any, served: Remote, fresh: _Fresh) -> bool:
        """Record what did go up, so the engine's next attempt uploads only the rest. Whether the bucket's manifest
        is now ``served``: recorded, or read back after a failure that may have stored it (a 5xx, a timeout). The
        pages of ``fresh`` the manifest read back names are marked named (the others are taken back)."""
        # Best effort: if this fails too (or another publisher wrote since), the original error is the one to report.
        if self._stopped():
            return False
        try:
            etag = self._write_manifest(client, served, replaces=served.etag)
        except _Conflict:
            return False
        except Exception as exc:  # noqa: BLE001
            there = self._manifest_there(client) if _may_have_landed(exc) else None
            if there is None:
                return False
            fresh.named_by(there.files)
            if not _says_the_same(there, served):
                return False
            etag = there.etag or ""
        self.local_copy.save(replace(served, etag=etag))
        return True

    def _manifest_there(self, client: Any) -> Remote | None:
        """After a write of the manifest failed in a way that may have stored it: the bucket's manifest, read back
        once, to find out instead of guessing. None where that read fails too, or finds none: then
        no manifest is known to name the pages created ahead, and they are taken back (``_take_back``).
        None, unasked, once the publish was cancelled: the pages are then recorded in doubt."""
        if self._stopped():
            return None
        try:
            answer = client.get_object(Bucket=self.bucket, Key=self.manifest_key)
            body = bytes(answer["Body"].read())
        except Exception:  # noqa: BLE001 - unknown: the write's own error is the one reported
            return None
        return Remote.of_bytes(body, str(answer.get("ETag") or ""))

    def _unproven_failure(self, site: BuiltSite, uploaded: int, deleted: int) -> DeliveryError:
        """The publish over a lost manifest is done, but left files carrying no mark at all that its build lacks
        (``_only_marked``): maybe this site's from before the mark, a withdrawn incident's page still public. Not a
        success (exit 3), and not retried by the engine: every publish fails the same way until they are gone.
        Customers' pages counted, never named (a path is a capability)."""
        left = sorted(self._unproven - site.hashes.keys())
        shown = self._shown(left)
        return permanent(self._clean(
            f"{self.location}: the rest of the site is published ({uploaded} uploaded, {deleted} deleted), but its "
            f"manifest was lost and {len(left)} site-shaped files that this build does not have carry no mark, so "
            f"they were left in place: {shown}. They may be this site's own pages from before broadcaster marked its "
            "files, such as a withdrawn incident's page that is still public. Check each and delete by hand those "
            "that are this site's. Until they are gone, every publish here, `broadcaster retry` included, fails "
            f"again with this message; once they are deleted it succeeds. If one is another program's file, give "
            f"publish.{self.name} a prefix of its own (or another bucket)."
            + (f" Also: {also}" if (also := self._left_note(site)) else "")
        ))

    def _confirm(self, client: Any, site: BuiltSite, remote: Remote, plan: Plan) -> Future[dict[str, str]]:
        """Path -> hash of each linking file the bucket's manifest names unconfirmed with this build's very hash
        and the bucket serves as this build has it (asked in the first round's round trip, beside its uploads).
        Only the machine that wrote a manifest knows those files arrived: any other (a second team machine, a CI
        runner) would upload them and a new manifest on every publish, whose ETag and Last-Modified tell readers
        that staff did something, and when. Any failure: not confirmed (uploaded, as before)."""
        unsure = [p for p in plan.linking if not remote.files.get(p) and remote.recorded.get(p) == site.hashes[p]]
        answer: Future[dict[str, str]] = Future()
        if not unsure:
            answer.set_result({})
            return answer

        def confirmed() -> dict[str, str]:
            with ThreadPoolExecutor(min(self.upload_workers, len(unsure)), thread_name_prefix="s3-look") as pool:
                same = dict(zip(unsure, pool.map(partial(self._serves, client, site), unsure), strict=True))
            return {p: site.hashes[p] for p, yes in same.items() if yes}

        pool = ThreadPoolExecutor(1, thread_name_prefix="s3-look")
        try:
            return pool.submit(confirmed)
        finally:
            pool.shutdown(wait=False)

    def _serves(self, client: Any, site: BuiltSite, path: str) -> bool:
        """Whether the bucket's object at ``path`` is this build's file (its ETag, the MD5 of a single PUT's body):
        a conditional GET without boto3 where the light client may ask (304: nothing sent back), else a HEAD."""
        from broadcaster.site.hosts import _s3_light

        try:
            md5 = hashlib.md5(site.read(path), usedforsecurity=False).hexdigest()
        except OSError:
            return False  # its upload says what is wrong
        access = self._light_access()
        if access is not None:
            with contextlib.suppress(Exception):  # boto3 asks
                answer = _s3_light.get(access.url(self.prefix + path), access.region, access.keys, unless=f'"{md5}"',
                                       timeout=self.connect_timeout, cafile=os.environ.get("AWS_CA_BUNDLE") or None)
                if answer.status in (200, 304, 404):
                    return answer.status == 304 or (answer.status == 200 and answer.etag.strip('"') == md5)
        try:
            found = client.head_object(Bucket=self.bucket, Key=self.prefix + path)
        except Exception:  # noqa: BLE001 - unknown: uploaded again, which reports what is wrong
            return False
        return str(found.get("ETag") or "").strip('"') == md5

    def _sent_over(self, remote: Remote, client: Any = None, site: BuiltSite | None = None) -> set[str]:
        """Files this machine sent over another version (this publish's earlier attempts, or a publish that failed or
        was refused, whose marks are owed) that ``remote``, a manifest read since, names by a version named when they
        were sent, unknown, or not at all: the bucket may serve this machine's file where that manifest says
        otherwise. One it names by a third version was mostly written by a publisher whose file went up after; not
        always (its put went first and its manifest after, or this machine's put landed after the client gave up on
        it): where ``site`` has that very version, the bucket (``client``) is asked whether it serves it (this build's
        plan would send nothing for it otherwise). Where ``site`` has another, its plan sends it or deletes it anyway."""
        sent = _merged(self.local_copy.owed(), self._over)
        over = {p for p, named in sent.items() if remote.files.get(p, "") in named | {""}}
        third = sorted(p for p in sent.keys() - over if site is not None and site.hashes.get(p) == remote.files.get(p))
        if third and client is not None and site is not None and not self._stopped():
            with ThreadPoolExecutor(min(self.upload_workers, len(third)), thread_name_prefix="s3-look") as pool:
                served = dict(zip(third, pool.map(partial(self._serves, client, site), third), strict=True))
            over |= {p for p, yes in served.items() if not yes}  # unknown or another's: planned as unknown, sent again
        return over

    def _refused_after_putting(
        self, client: Any, remote: Remote, fresh: _Fresh, refused: DeliveryError
    ) -> DeliveryError:
        """A publish refused (a later state of the store in the bucket) after files of this machine's went up, this
        publish's or an earlier one's: those the bucket's manifest (``remote``) names by anything but what was sent
        (or not at all), and creations ahead that may have landed unanswered. The bucket's manifest is written again
        naming them unknown (""), so that whoever publishes there next puts its own version up or deletes what its
        build lacks. Where that write cannot be made (it fails, or the publish was stopped) they are owed: this
        machine's next publish marks them. The refusal, saying so. Pages created ahead and answered are
        ``_take_back``'s; pages in doubt are the next publish's from this machine (``_judge``: maybe another's)."""
        ahead = {p for p in fresh.sent() if p in fresh.replaced and remote.files.get(p) in (None, "", fresh.replaced[p])}
        unanswered = fresh.sent() - fresh.created().keys() - set(fresh.replaced) - remote.files.keys()
        if unanswered and not self._stopped():
            # A creation refused (412) looks unanswered too: the key may hold another's object, which whoever publishes
            # next would delete, named "" and lacking from its build. Those carrying no mark of this place's are left.
            with contextlib.suppress(Exception):  # unknown: named, as before (the refusal is what to report)
                found = self._marks(client, sorted(unanswered))
                unanswered = frozenset(p for p in unanswered if found[p] in (None, "ours"))
        over = self._sent_over(remote)
        earlier = over - self._over.keys()
        pages = sorted(ahead | unanswered | (over - earlier))
        if not pages and not earlier:
            return refused
        written = False
        every = sorted({*pages, *earlier})
        if not self._stopped():  # cut (Ctrl-C, the deadline): no request starts after it
            marked = replace(remote, files={**remote.files, **dict.fromkeys(every, "")})
            with contextlib.suppress(Exception):  # the refusal is what to report
                self._write_manifest(client, marked, replaces=remote.etag)
                written = True
        if written:
            self._marked |= set(every)
            self.local_copy.settle_owed(every)
            self.local_copy.settle(unanswered)
            then = ("now named unknown in the bucket's manifest: the next publish there puts its own version up, or "
                    "deletes it where its build has none")
        else:
            self.local_copy.doubt(unanswered)
            recorded = self.local_copy.owe(_merged(fresh.replaced_sent(ahead), self._over))
            then = ("not yet named unknown in the bucket's manifest: " + (
                "the next publish from this machine does it" if recorded else
                "publish from this machine again, or put each back as the store that moved on has it, by hand"))
        said = str(refused)
        if pages:
            said = said.replace("Nothing was published there.", f"Nothing else was published there: this publish "
                                f"had already sent {self._shown(pages)} ({then}).")
        if earlier:
            said += f" Files an earlier publish from this machine sent: {self._shown(sorted(earlier))} ({then})."
        return DeliveryError(said, retryable=refused.retryable)

    def _take_back(self, fresh: _Fresh, failure: BaseException) -> None:
        """After a publish that failed or was refused: delete the pages it created ahead (``_create_fresh_pages``)
        that no manifest in the bucket names. ``If-None-Match: *`` proved nothing was there before, and, named
        nowhere, no later publish would ever delete them (a withdrawn incident's page would stay up for good).
        The bucket's manifest is read first: a write answered with an error may have landed all the same, and a
        page it names must stay (every later publish trusts its hash). Where it cannot be read, or a delete
        fails, the pages are recorded in doubt for the next publish to settle (``LocalCopy.in_doubt``). Raises,
        in place of ``failure``, an error naming those left in the bucket."""
        # Stopped, a creation out at the stop may land after its timeout, counted as not made: every one named
        # nowhere is recorded (one that was refused, another's file being there, is only looked at again).
        orphans = sorted(fresh.unnamed() if self._stopped() else fresh.orphans())
        if not orphans or fresh.client is None:
            return
        client = fresh.client
        try:
            there = None if self._stopped() else self._read_document(client)
        except Exception:  # noqa: BLE001 - unknown: kept, the next publish settles them
            there = None
        if there is None:
            recorded = self.local_copy.doubt(orphans)
            if isinstance(failure, DeliveryError):
                raise self._in_doubt_failure(failure, set(orphans), recorded=recorded) from failure
            return
        fresh.named_by(there.files)
        orphans = sorted(fresh.orphans())
        if not orphans:
            return

        def delete(path: str) -> None:
            self._call(partial(client.delete_object, Bucket=self.bucket, Key=self.prefix + path), f"delete {path}")

        with ThreadPoolExecutor(min(self.upload_workers, len(orphans)), thread_name_prefix="s3-upload") as pool:
            outcomes = {path: pool.submit(delete, path) for path in orphans}
        left = {path: error for path, f in outcomes.items() if (error := f.exception()) is not None}
        if not left:
            return
        recorded = self.local_copy.doubt(left)
        shown = ", ".join(self.prefix + path for path in sorted(left))
        said = str(failure).replace("Nothing was published there.", "Nothing else was published there.")
        then = ("the next publish from this machine deletes them unless its build has them (run `broadcaster "
                f"retry`); if you publish from another machine instead, delete {shown} from the bucket by hand"
                if recorded else f"delete {shown} from the bucket, or a later publish may never take them out")
        self._left_said.append(self._clean(
            f"Before it stopped, this publish created new pages in {self.location} that no manifest names, "
            f"and could not delete them again ({next(iter(left.values()))}): {then}."
        ))
        raise DeliveryError(self._clean(f"{said} {self._left_said[-1]}"),
                            retryable=getattr(failure, "retryable", True)) from failure

    def _unowed_failure(self, failure: DeliveryError, paths: list[str]) -> DeliveryError:
        """``failure``, saying which files this publish sent over another version that it could not record as owed
        (``LocalCopy.owe``): the bucket may serve them behind a manifest naming that version, and no publish looks."""
        self._left_said.append(self._clean(
            f"This publish sent {self._shown(paths)} where the bucket's manifest named another version (or none), and "
            f"recording that under {self.local_copy.owed_path.parent} failed: the bucket may serve them behind a "
            "manifest that says otherwise, which no later publish would see. Make that folder writable and publish "
            "from this machine again before anything else changes there, or put each back as the store has it, by hand."
        ))
        return DeliveryError(self._clean(f"{failure} {self._left_said[-1]}"), retryable=failure.retryable,
                             retry_after=failure.retry_after, outcome_unknown=failure.outcome_unknown)

    def _in_doubt_failure(self, failure: DeliveryError, paths: set[str], *, recorded: bool) -> DeliveryError:
        """``failure``, saying which pages it left in the bucket that no manifest is known to name, and what
        settles them: a withdrawal published elsewhere would not know to delete them."""
        shown = self._shown(sorted(paths))
        if recorded:
            then = ("The next publish from this machine settles them: it uploads those its build has and deletes "
                    "the others (run `broadcaster retry`). If you publish from another machine instead and one of "
                    "them is a withdrawn incident's page, delete it from the bucket by hand.")
        else:
            then = (f"Recording them under {self.local_copy.doubts_path.parent} for the next publish failed too: "
                    "if one is a withdrawn incident's page, delete it from the bucket by hand; the others go in the "
                    "manifest with the next publish that succeeds.")
        said = (str(failure).replace("Nothing was published there.", "Nothing else was published there.")
                .replace("Nothing was sent there.", "Nothing else was sent there."))
        self._left_said.append(self._clean(
            f"Before it ended, this publish sent {len(paths)} page{'s' if len(paths) != 1 else ''} to "
            f"{self.location} that no manifest is known to name, each of which may be there: {shown}. {then}"
        ))
        return DeliveryError(self._clean(f"{said} {self._left_said[-1]}"), retryable=failure.retryable,
                             retry_after=failure.retry_after, outcome_unknown=failure.outcome_unknown)

    def _stopped(self) -> bool:
        """Whether the publish under way was cancelled (a deadline, Ctrl-C): from then on no request is started,
        only those already out are waited for; what is left unsettled is recorded in doubt (``LocalCopy``) for
        the next publish, which reads the bucket's manifest first."""
        return self._stop is not None and self._stop.is_set()

    @staticmethod
    def _check_stop(*stops: threading.Event) -> None:
        if any(stop.is_set() for stop in stops):
            raise _Stopped("the upload was stopped before it finished; the next attempt continues it")

    # -- checking ---------------------------------------------------------------

    async def check(self) -> list[CheckResult]:
        """HeadBucket with the configured credentials, then read the manifest. Changes nothing."""
        import asyncio
        return await asyncio.to_thread(self._check)

    def _check(self) -> list[CheckResult]:
        try:
            client = self._client()
            self._call(lambda: client.head_bucket(Bucket=self.bucket), "reach the bucket")
            named = self._read_named(client)
            served = self._with_listed(client, named, None)
        except DeliveryError as exc:
            return [CheckResult(self.name, self.location, False, str(exc))]
        state = f"{len(served.files)} files published" if served.files else "nothing published yet"
        results = [CheckResult(self.name, self.location, True, f"bucket reachable with these credentials; {state}")]
        # Left by a publish that failed or was cut by the deadline, whose own message the operator may not have seen.
        # Settled only where a manifest names them: a listing (an unreadable manifest's, the customers' pages) finds
        # those in doubt that are there, the very ones to name.
        doubts = sorted(self.local_copy.in_doubt() - named.files.keys())
        if doubts:
            results.append(CheckResult(self.name, self.location, False, self._clean(
                f"{len(doubts)} page{'s' if len(doubts) != 1 else ''} that a publish from this machine sent and did "
                f"not finish may be in the bucket, named by no manifest: {self._shown(doubts)}. The next publish "
                "from this machine settles them (`broadcaster retry`, or `broadcaster site publish`): it uploads "
                "those its build has and deletes the others. If you publish from another machine instead and one "
                "is a withdrawn incident's page, delete it from the bucket by hand.")))
        return results

    # -- the client and its errors ------------------------------------------------

    def _client(self) -> Any:
        import boto3
        from botocore.config import Config

        config = Config(
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            retries={"mode": "standard", "total_max_attempts": self.request_attempts},
            max_pool_connections=self.upload_workers + 2,
            # Path-style URLs work on every S3-compatible service; virtual hosts need DNS per bucket.
            s3={"addressing_style": "path"} if self.endpoint_url else {},
            # botocore >= 1.36 adds CRC checksums that several S3-compatible services reject.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        key_id = secret = None  # None: boto3's own chain (environment, profile, instance role)
        if "access_key_id" in self.config.options:
            key_id = _reveal(self.config.options["access_key_id"])
            secret = _reveal(self.config.options["secret_access_key"])
        from botocore.exceptions import BotoCoreError

        try:
            session = boto3.session.Session()
            _share_the_model_loader(session)
            if key_id is None:  # before the client uses them: fetching them is logged (an assumed role's, SSO's)
                _remember_credentials(session)
            client = session.client(
                "s3", region_name=self.region, endpoint_url=self.endpoint_url, config=config,
                aws_access_key_id=key_id, aws_secret_access_key=secret,
            )
        except (BotoCoreError, ValueError) as exc:  # an endpoint or region it refuses, a broken AWS config file
            raise permanent(self._clean(
                f"{self.location}: cannot make an S3 client: {exc}. Check publish.{self.name}.endpoint_url "
                f"(a URL like https://s3.example.com) and region, and the AWS config files if you use them."
            )) from exc
        # Each request, and each of botocore's own attempts, is sent only while the publish is not cancelled.
        client.meta.events.register("before-send.s3", self._refuse_once_stopped)
        return client

    def _refuse_once_stopped(self, **_: Any) -> None:
        if self._stop is not None:
            self._check_stop(self._stop)

    def _call(self, action: Callable[[], Any], doing: str) -> Any:
        """Run one S3 request, turning botocore's errors into DeliveryErrors that say what to do."""
        try:
            return action()
        except _botocore("ClientError") as exc:
            raise self._client_error(exc, doing) from exc
        except _botocore("BotoCoreError") as exc:
            raise self._transport_error(exc, doing) from exc
        except OSError as exc:
            raise permanent(self._clean(
                f"cannot read {exc.filename or 'a site file'} to {doing}: {exc.strerror or exc}. "
                "Rebuild the site with `broadcaster site publish`."
            )) from exc

    def _client_error(self, exc: Any, doing: str) -> DeliveryError:
        code = _code(exc)
        status = _status(exc)
        detail = exc.response.get("Error", {}).get("Message") or code
        where = f"{self.location}: could not {doing}"
        advice = self._advice(code)
        if advice:
            return permanent(self._clean(f"{where}: {advice}"))
        if code in _RETRYABLE_CODES or status == 429 or status >= 500:
            return retryable(self._clean(f"{where}: the storage service is busy or failing ({code}: {detail})."))
        return permanent(self._clean(f"{where}: {code}: {detail}. Check publish.{self.name} in the config."))

    def _advice(self, code: str) -> str:
        keys = f"publish.{self.name}.access_key_id / secret_access_key (or the AWS environment)"
        missing = (f"the bucket {self.bucket!r} does not exist at this endpoint. Create it, or fix "
                   f"publish.{self.name}.bucket (and endpoint_url / region).")
        return {
            "NoSuchBucket": missing,
            "404": missing,  # HeadBucket's answer has no body, hence no error code
            "NotFound": missing,
            "AccessDenied": "access denied. Give these credentials s3:GetObject, s3:PutObject and s3:DeleteObject "
                            f"on {self.bucket}/{self.prefix}* and s3:ListBucket on the bucket.",
            "403": "access denied (403). Check that the credentials may read and write this bucket.",
            "InvalidAccessKeyId": f"the storage service does not know this access key id. Check {keys}.",
            "SignatureDoesNotMatch": f"the secret access key does not match the access key id. Check {keys}.",
            "InvalidToken": f"the session token is invalid. Refresh the credentials ({keys}).",
            "ExpiredToken": f"the credentials have expired. Refresh them ({keys}).",
            "PermanentRedirect": f"the bucket is in another region. Set publish.{self.name}.region to its region.",
            "AuthorizationHeaderMalformed": f"wrong region for this bucket. Set publish.{self.name}.region to its region.",
            "InvalidBucketName": f"{self.bucket!r} is not a valid bucket name. Fix publish.{self.name}.bucket.",
        }.get(code, "")

    def _transport_error(self, exc: Exception, doing: str) -> DeliveryError:
        from botocore.exceptions import (
            ConnectionClosedError,
            HTTPClientError,
            NoCredentialsError,
            NoRegionError,
            PartialCredentialsError,
            ReadTimeoutError,
        )
        from botocore.exceptions import (
            ConnectionError as BotoConnectionError,
        )

        where = f"{self.location}: could not {doing}"
        if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
            return permanent(
                f"{where}: no S3 credentials found. Set access_key_id and secret_access_key "
                f'= "${{VAR}}" in publish.{self.name}, or the AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY environment.'
            )
        if isinstance(exc, NoRegionError):
            return permanent(f"{where}: no region. Set publish.{self.name}.region.")
        if isinstance(exc, (ReadTimeoutError, ConnectionClosedError)):
            # The request left; S3 may have stored the object. Uploading it again is harmless.
            return maybe_delivered(self._clean(
                f"{where}: {self.endpoint_url or 'the S3 endpoint'} dropped the connection or did not answer in time "
                f"({type(exc).__name__}), so it may or may not have been done."
            ))
        if isinstance(exc, (BotoConnectionError, HTTPClientError)):
            endpoint = self.endpoint_url or "the S3 endpoint"
            return retryable(self._clean(
                f"{where}: cannot reach {endpoint} ({type(exc).__name__}). Check the network and "
                f"publish.{self.name}.endpoint_url."
            ))
        return permanent(self._clean(f"{where}: {exc}. Check publish.{self.name} in the config."))

    def _clean(self, message: str) -> str:
        """``message`` without the credentials boto signs with (the config's, or the AWS environment's; those
        boto3 found by itself, a profile's or a role's, ``redact`` adds from ``known``), nor any request
        signature a gateway echoed (``redact`` masks those whatever the secrets), nor the token of a customer's
        page it names (a rotated token's old page, whose removal failed: no config holds that token any more)."""
        from broadcaster.redaction import without_customer_pages

        secrets = [plain_value(self.config.options.get(key)) for key in self.secret_options]
        secrets += [os.environ.get(name, "") for name in AWS_SECRET_VARIABLES]
        secrets += url_credentials(self.endpoint_url or "")  # "https://user:pass@host", which boto3 repeats
        return redact(without_customer_pages(message), secrets)


def _one_spelling(endpoint: str) -> str:
    """``endpoint`` as any machine may spell it: no credentials, scheme and host in lower case, no default port,
    no trailing '/'. As it was written where it is not such a URL (config load refuses those anyway)."""
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError:
        return without_credentials(endpoint)
    scheme, host = parts.scheme.lower(), parts.hostname
    if scheme not in ("http", "https") or not host:
        return without_credentials(endpoint)
    host = f"[{host}]" if ":" in host else host
    netloc = host if port in (None, {"http": 80, "https": 443}[scheme]) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), parts.query, ""))


def _may_have_landed(error: BaseException) -> bool:
    """Whether a write that failed with ``error`` may all the same have been stored: anything but a refusal
    (a 4xx, which the service answers before storing anything)."""
    return not isinstance(error, _Conflict) and bool(getattr(error, "retryable", True))


def _says_the_same(there: Remote, sent: Remote, unconfirmed: frozenset[str] = frozenset()) -> bool:
    """Whether the manifest read back from the bucket is the one ``sent`` (with ``unconfirmed``): the same content
    once opened with the store's id (each write seals it with a new nonce, so the bytes always differ)."""
    written = Remote.of_bytes(sent.document(unconfirmed), None).opened(sent.store)
    found = there.opened(sent.store)
    return found == written and found.list_again == written.list_again and not found.unreadable


def _customer_page_shaped(key: str) -> bool:
    """Whether ``key`` is in a customer's folder: a/<feed token>/<file>, the token 20 to 128 characters."""
    parts = key.split("/")
    return len(parts) == 3 and parts[0] + "/" == AUDIENCE_DIR and FEED_TOKEN.fullmatch(parts[1]) is not None


def _public(files: Mapping[str, str] | list[str]) -> dict[str, str]:
    """The entries of ``files`` (paths, or paths -> hashes) outside the customers' pages."""
    found = files if isinstance(files, Mapping) else dict.fromkeys(files, "")
    return {p: h for p, h in found.items() if not p.startswith(AUDIENCE_DIR)}


def _hash_if_same(site: BuiltSite | None, path: str, etag: str) -> str:
    """``site``'s hash of ``path`` if the bucket's object with ``etag`` is that very file, else "" (unknown)."""
    if site is None or path not in site.hashes or not etag:
        return ""
    try:
        body = site.read(path)
    except OSError:
        return ""  # its upload says what is wrong
    return site.hashes[path] if etag.strip('"') == hashlib.md5(body, usedforsecurity=False).hexdigest() else ""


def _remember_credentials(session: Any) -> None:
    """The credentials boto3 finds by itself (a profile, SSO, an assumed role, a web identity, the shared
    credentials file) known to redaction, with the tokens that buy them: botocore's debug log prints each
    request's canonical form (session token and access key included), and, as they are fetched, the request
    that buys them (a web identity token, an SSO token) and the answer that holds them. The log of fetching
    is held until they are known (``records_held``); so is that of fetching them again once they expire."""
    from botocore.exceptions import BotoCoreError

    from broadcaster.redaction import records_held

    with records_held():
        remember(_tokens_that_buy_credentials(session))
        _remember_what_signs(session)
        try:
            found = session.get_credentials()
            fetch = getattr(found, "_refresh_using", None)  # botocore's: what fetches them, now and when they expire
            if callable(fetch):
                def fetched_and_remembered() -> Any:
                    with records_held():
                        remember(_tokens_that_buy_credentials(session))  # a token file is rotated (EKS: hourly)
                        answer = fetch()
                        remember(str(answer.get(key) or "") for key in ("access_key", "secret_key", "token"))
                    return answer

                found._refresh_using = fetched_and_remembered
            frozen = found.get_frozen_credentials() if found is not None else None
        except BotoCoreError:
            return  # none to be found: the first request says so, in its own words
        if frozen is not None:
            remember(v for v in (frozen.access_key, frozen.secret_key, frozen.token) if v)


def _remember_what_signs(session: Any) -> None:
    """Every credential set that signs a request of ``session``'s clients remembered as it signs: those that
    buy the final ones too (a source profile's temporary keys signing AssumeRole, a chained role's keys signing
    the next AssumeRole), which botocore logs in the request and STS's answer while the fetch's log is held.
    ``records_held`` masks such keys by their shape as well; this knows them wherever else they appear."""
    def remember_signer(request_signer: Any = None, **_: Any) -> None:
        credentials = getattr(request_signer, "_credentials", None)  # botocore has no public reader
        if credentials is None:
            return  # unsigned
        frozen = credentials.get_frozen_credentials() if hasattr(credentials, "get_frozen_credentials") else None
        if frozen is not None:
            remember(v for v in (frozen.access_key, frozen.secret_key, frozen.token) if v)

    try:
        # The STS clients that fetch credentials are made later, from this session: they inherit the handler.
        session._session.register("before-sign", remember_signer, unique_id="broadcaster-remember-signer")
    except AttributeError:
        pass  # not botocore's session (a test's stand-in): the shape masking of the held log remains


def _tokens_that_buy_credentials(session: Any) -> list[str]:
    """The web identity token (CI's OIDC token, EKS's) and the SSO tokens boto3 would send for credentials:
    bearer tokens, each good for AWS keys while it lives."""
    import json

    from botocore.exceptions import BotoCoreError

    def read(path: str | Path) -> str:
        try:
            return Path(path).expanduser().read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            return ""  # botocore says what is wrong with it, if it needs it

    try:
        profile = session._session.get_scoped_config()  # boto3 has no public reader of the profile's settings
    except (BotoCoreError, AttributeError):
        profile = {}
    files = [os.environ.get("AWS_WEB_IDENTITY_TOKEN_FILE", ""), str(profile.get("web_identity_token_file", ""))]
    tokens = [read(name) for name in files if name]
    if profile.get("sso_start_url") or profile.get("sso_session"):  # botocore's cache, named by a digest
        for cache in sorted((Path.home() / ".aws" / "sso" / "cache").glob("*.json"))[:50]:
            try:
                cached = json.loads(read(cache) or "{}")
            except ValueError:
                continue
            if isinstance(cached, dict):
                tokens += [str(cached.get(key) or "") for key in ("accessToken", "refreshToken", "clientSecret")]
    return tokens


@dataclass(frozen=True)
class _LightAccess:
    endpoint_url: str | None
    region: str
    bucket: str
    keys: _s3_light.Keys

    def url(self, key: str) -> str:
        from broadcaster.site.hosts import _s3_light

        url = _s3_light.object_url(self.endpoint_url, self.region, self.bucket, key)
        assert url is not None
        return url


class _LightClient:
    """PutObject signed here (``_s3_light``), without boto3's 0.2 s of import and client; every other
    request, and every put it did not see succeed, by boto3's client, made when first needed.

    A put answered 409 or 412 under a condition raises ``_s3_light.Refused`` (another publisher got
    there first: boto3 would only ask again to say so); any other answer or failure is sent again by
    boto3, whose retries and errors the host reports. Sending a page or a conditional write again is
    safe even if the first one arrived: the same bytes, or a 412 that makes the publish plan again."""

    def __init__(self, access: _LightAccess, boto: Callable[[], Any], connections: _s3_light.Connections) -> None:
        self._access = access
        self._make_boto = boto
        self._boto: Any = None
        self._lock = threading.Lock()
        self._connections = connections
        self._given_up = False  # once a put failed: boto3 sends every later one (its proxies, CA bundle, clock)
        self.stop: threading.Event | None = None  # the publish's: once set, a failed put is not sent again

    @classmethod
    def made(cls, access: _LightAccess, boto: Callable[[], Any], timeout: float) -> _LightClient | None:
        """None where its TLS context cannot be made (an ``AWS_CA_BUNDLE`` that is not a readable bundle):
        boto3 then does it all and says what is wrong."""
        import ssl

        from broadcaster.site.hosts import _s3_light

        try:
            context = (_s3_light.tls_context(os.environ.get("AWS_CA_BUNDLE") or None)
                       if access.url("").startswith("https:") else None)
        except (OSError, ssl.SSLError):
            return None
        return cls(access, boto, _s3_light.Connections(access.url(""), timeout, context))

    def boto(self) -> Any:
        with self._lock:
            if self._boto is None:
                self._boto = self._make_boto()
            return self._boto

    def put_object(self, **request: Any) -> dict[str, Any]:
        from broadcaster.site.hosts import _s3_light

        conditional = "IfMatch" in request or "IfNoneMatch" in request
        answer = self._send(request)
        if answer is not None and 200 <= answer.status < 300:
            return {"ETag": answer.etag}
        if answer is not None and conditional and answer.status in (409, 412):
            raise _s3_light.Refused(answer.status)
        if self.stop is not None:
            S3Host._check_stop(self.stop)  # cancelled while it was out: no second request
        self._given_up = True
        return dict(self.boto().put_object(**request))

    def put_ahead(self, condition: Mapping[str, str], **request: Any) -> str | None:
        """Put the object only under ``condition`` (``IfNoneMatch: *``: the bucket has none under its key;
        ``IfMatch``: it has that very one); its ETag, or None if the bucket refused, or on any failure (never
        sent again: whoever put the object there, or whatever failed, the publish's own rounds handle it)."""
        answer = self._send({**request, **condition})
        return answer.etag if answer is not None and 200 <= answer.status < 300 else None  # "": put, no ETag said

    def _send(self, request: Mapping[str, Any]) -> Any:
        from broadcaster.site.hosts import _s3_light

        if self._given_up:
            return None
        headers = {"content-type": request["ContentType"], "cache-control": request["CacheControl"]}
        headers.update({f"x-amz-meta-{name}": value for name, value in request.get("Metadata", {}).items()})
        if "IfMatch" in request:
            headers["if-match"] = request["IfMatch"]
        if "IfNoneMatch" in request:
            headers["if-none-match"] = request["IfNoneMatch"]
        try:
            return _s3_light.put(self._connections, self._access.url(request["Key"]), self._access.region,
                                 self._access.keys, request["Body"], headers, stop=self.stop)
        except Exception:  # noqa: BLE001 - boto3 sends it again and reports what goes wrong
            return None

    def close(self) -> None:
        """Close the connections kept open (boto3's client, if made, closes its own when collected)."""
        self._connections.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.boto(), name)


def _merged(*records: Mapping[str, Collection[str]]) -> dict[str, set[str]]:
    """Path -> every version named there in any of ``records`` (``S3Host._over``, ``LocalCopy.owed``)."""
    merged: dict[str, set[str]] = {}
    for record in records:
        for path, named in record.items():
            merged.setdefault(path, set()).update(named)
    return merged


class _Fresh:
    """The pages put ahead of the plan (``S3Host._create_fresh_pages``), each path's put under way, by ``client``:
    a new incident's created, a changed one ``replaced`` (path -> the hash the manifest named it by); and which of
    them a manifest in the bucket names (else a failed publish deletes them). A replaced page is named from the
    start: it replaced the very object a manifest named, and taking it back would take an incident's page down."""

    def __init__(self, creating: Mapping[str, Future[Any]], site: BuiltSite | None, client: Any = None,
                 sent: set[str] | None = None, replaced: Mapping[str, str] | None = None) -> None:
        self._creating = dict(creating)  # each put's outcome: its ETag ("" if none was said), None or False if not
        self._sent = sent if sent is not None else set()  # those whose request left (filled as they leave)
        self._site = site
        self.client = client
        self.paths = frozenset(creating)
        self.replaced: Mapping[str, str] = dict(replaced or {})
        self._named: set[str] = set(self.replaced)

    @classmethod
    def none(cls) -> _Fresh:
        return cls({}, None)

    def named_by(self, files: Mapping[str, str]) -> None:
        """A manifest in the bucket names ``files``: a later publish uploads or deletes those of them it names."""
        self._named |= self.paths & files.keys()

    def unnamed(self) -> set[str]:
        """The pages this publish sent a creation for that no manifest in the bucket names, made or not."""
        self.wait()
        return set(self._sent) - self._named

    def sent(self) -> frozenset[str]:
        """The pages whose creation request left (answered or not; waiting for them all)."""
        self.wait()
        return frozenset(self._sent)

    def orphans(self) -> set[str]:
        """The pages this publish created that no manifest in the bucket names (waiting for the answers)."""
        return set(self.created()) - self._named if self.paths else set()

    def created(self) -> dict[str, str]:
        """Path -> hash of each page the bucket took (waiting for the answers)."""
        return {p: h for p, (h, _) in self.put().items()}

    def maybe_over(self, files: Mapping[str, str]) -> set[str]:
        """The replaced pages whose put was sent (answered or not) that ``files`` (a manifest read since) names by
        the version replaced: the bucket may serve this publish's page where that manifest says otherwise."""
        return {p for p in self.sent() if p in self.replaced and files.get(p) == self.replaced[p]}

    def replaced_sent(self, among: Collection[str] | None = None) -> dict[str, set[str]]:
        """Path -> {the version replaced} of the replaced pages whose put was sent (of ``among``), answered or not."""
        return {p: {self.replaced[p]} for p in self.sent() if p in self.replaced and (among is None or p in among)}

    def put(self) -> dict[str, tuple[str, str]]:
        """Path -> (hash, the ETag the bucket gave it, "" if none) of each page the bucket took (waiting for them)."""
        self.wait()
        site = self._site
        if site is None:
            return {}
        outcomes = {p: f.result() for p, f in self._creating.items() if f.exception() is None}
        return {p: (site.hashes[p], outcome if isinstance(outcome, str) else "")
                for p, outcome in outcomes.items() if outcome is not None and outcome is not False}

    def wait(self) -> None:
        wait(self._creating.values())


@dataclass
class _Progress:
    """What the bucket holds as one publish goes (updated as each request succeeds), and its manifest's ETag."""

    files: dict[str, str]
    etag: str | None


class _Conflict(Exception):
    """The bucket's manifest is no longer the one this publish planned against."""


class _Unsupported(_Conflict):
    """An S3-compatible service that does not take conditional writes (501 NotImplemented)."""


class _Stopped(DeliveryError):
    """Raised in an upload worker after another one failed or the publish was cancelled."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=True)


# One botocore loader per data path in a process (``_share_the_model_loader``).
_MODEL_LOADERS: dict[str, Any] = {}


def _share_the_model_loader(session: Any) -> None:
    """Give ``session`` the process's botocore loader for its data path, which keeps the service models it has
    read: reading S3's (about 90 ms of CPU) once serves every client made after the first, for a second S3 target,
    a long-running bot's next publish, or a retry in the same process (9 ms each instead). The loader only reads
    botocore's and boto3's data files; a client's credentials, region and config are its own."""
    core = session._session
    key = str(core.get_config_variable("data_path"))
    core.register_component("data_loader", _MODEL_LOADERS.setdefault(key, core.get_component("data_loader")))


def _botocore(name: str) -> type[Exception]:
    """botocore's exception class ``name``. Called in ``except`` clauses, which Python evaluates only
    when something was raised: the light client's uploads never import botocore (11 ms) otherwise."""
    from botocore import exceptions

    error: type[Exception] = getattr(exceptions, name)
    return error


def _status(exc: Any) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def _code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code") or "")


def _reveal(value: Any) -> str:
    return value.reveal() if hasattr(value, "reveal") else str(value)


def _settled_like(made: Future[Any], warm: Future[Any]) -> None:
    """Once the warm-up ends: if it did before making its client, ``made`` ends as it did."""
    if made.done():
        return
    error = None if warm.cancelled() else warm.exception()
    if error is not None:
        made.set_exception(error)
    else:
        made.set_result(None)


async def _stopped(uploading: asyncio.Future[Receipt]) -> BaseException | None:
    """Wait for a cancelled publish's thread to end, and return what it ended with (retrieved: the caller cancelled
    it, whatever it ended with). Cancelled again meanwhile, it waits on: the thread stops after the requests it has on
    their way, each bounded by the client's timeouts."""
    import asyncio

    while not uploading.done():
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait([uploading])
    return None if uploading.cancelled() else uploading.exception()


# The warm-ups and light reads still running, which every fork waits for (``_settle``). Each is held
# only until it is done: the hook, which cannot be unregistered, keeps no client alive.
_running: set[Future[Any]] = set()


def _forks_wait_for(future: Future[Any]) -> None:
    """Make every fork of this process wait for ``future`` while it runs (see ``S3Host.warm_up``)."""
    _running.add(future)
    future.add_done_callback(_running.discard)  # at once if it is already done


def _settle() -> None:
    """Before a fork: wait for the warm-ups (and reads) still running. Not when one of them forks
    (a credential_process run with a preexec_fn): it would wait for itself."""
    if not threading.current_thread().name.startswith(_WARM_UP_THREAD):
        wait(_running.copy())  # a copy: a done callback may take one out meanwhile


# Registered once for the process, as the module is imported: a hook stays registered for ever, and
# one per warm-up would pile up in a process that publishes again and again (the bot, tests).
if hasattr(os, "register_at_fork"):  # POSIX only
    os.register_at_fork(before=_settle)
