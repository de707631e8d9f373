"""Off-net hosting targets (``[publish.NAME]``): where the built site is uploaded.

One module per ``type``: ``s3``, ``git``, ``directory``. Each holds one
``SiteHost`` subclass whose ``type_name`` is the module's name (``broadcaster.registry``
finds it; a module named ``_x.py`` is a helper). A target uploads what the ``site`` destination built; it
never builds anything itself.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import errno
import hashlib
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from broadcaster import lazy_re
from broadcaster.errors import DeliveryError
from broadcaster.messages.egress import CALENDAR, PrivateValues, guard

if TYPE_CHECKING:
    from concurrent.futures import Future

    from broadcaster.config import ChannelConfig
    from broadcaster.delivery import CheckResult, Receipt

# What the egress guard reads a file as, by its name.
GUARD_TYPES = {
    ".html": "text/html", ".xml": "application/xml", ".json": "application/json", ".svg": "image/svg+xml",
    ".ics": CALENDAR,
}
# An incident page or a fingerprinted asset: what every other file of the site links to.
_LINKED = lazy_re.compile(r"incidents/[^/]+\.html|[^/]+\.[0-9a-f]{8}\.[a-z0-9]+")


def is_linking(path: str) -> bool:
    """A file built from every incident shown (index, feeds, JSON, badges, calendar), not one
    incident's page or an asset: uploaded after what it links to, and never replaced by a
    build that read an older state of the store."""
    return _LINKED.fullmatch(path) is None


@dataclass(frozen=True)
class BuiltSite:
    """A finished build in ``root``: every file's relative path and content hash.

    ``order`` lists the files so that readers never see a broken state when
    uploaded in that order: incident pages and assets first, then the index,
    feeds and JSON that link to them.
    """

    root: Path
    hashes: dict[str, str]
    # Incident page -> the version of the store's record it shows (see broadcaster.site.source).
    versions: Mapping[str, str] = field(default_factory=dict)
    # Files a host must never delete although this build lacks them: the pages of every
    # incident the store still holds (another machine may have built them, or a bad
    # record kept this build from rebuilding them).
    keep: frozenset[str] = frozenset()
    # Which store this build read, and how far it had got (a number that only grows): a host
    # that already serves a site built further along from the same store keeps it.
    store: str = ""
    generation: int = 0
    # Incidents left out of this build, each with why (see broadcaster.site.source).
    problems: tuple[str, ...] = ()
    # File -> the private values it must not hold, for the files this build wrote. Opaque here.
    private: Mapping[str, PrivateValues] = field(default_factory=dict)
    # The pages of incidents left out that the site no longer holds (taken out because they would show
    # private detail now, or because no build can vouch for them): never in ``keep``, so every host
    # deletes whatever an earlier build published of them.
    refused: frozenset[str] = frozenset()
    # Whether no update was stored since this build read the store (checked when the publish
    # takes its turn): then no machine of the store can have published a later build, and a
    # host may plan from its own record of what it last published without reading the remote.
    latest: bool = False
    # The operator said that this build of the store's latest state replaces a later build of the same store a
    # place holds (``site publish --replace-later``): the store was restored from a backup.
    replace_later: bool = False
    # How far this store had got when a publish of it last reached the place, as the store records it (before
    # each upload): None where it records none (never published there, or by a version before it recorded).
    reached: int | None = None

    def behind(self, published: int | None) -> bool:
        """Whether a place showing a build of generation ``published`` of this build's store holds a later
        state of it, to keep. Never when this build is of the store's latest state (see ``restored_over``)."""
        return published is not None and published > self.generation and not self.latest

    def restored_over(self, published: int | None) -> bool:
        """Whether the place shows a build of this store that no machine of this store's history made: one of
        a later state than the store holds now, or one further along than the store records it ever published
        there (a count alone cannot tell a copy level with the store apart). So the store was restored from a
        backup, or it is a stale copy of a store that moved on: only the operator can tell which
        (``refuse_restored_over``)."""
        if published is None:
            return False
        return (published > self.generation and self.latest) or (self.reached is not None and published > self.reached)

    def refuse_restored_over(self, published: int | None, place: str) -> None:
        """Raise a permanent DeliveryError where this build would replace a later one of the same store at
        ``place`` without the operator's word: a stale copy of the state file would put withdrawn incidents
        back up, and keeping the later build silently would keep every post of a restored store off the page."""
        if self.restored_over(published) and not self.replace_later:
            found = (f"from a later state of this store than it holds now (generation {published} > {self.generation})"
                     if published is not None and published > self.generation else
                     f"further along than this store ever published there (generation {published}, this store's "
                     f"last publish there {self.reached})")
            raise DeliveryError(
                f"{place} holds a site built {found}: the state file was restored from a backup, or it is a copy of "
                "one that has moved on. Nothing was published there. If this store is the one to publish from (a "
                "restore: what was stored after the backup is lost), run `broadcaster site publish --replace-later`; "
                "if it is a stale copy, post from the store that moved on.",
                retryable=False,
            )

    def restored_note(self, published: int) -> str:
        return (f"replaced a site built from a later state of this store (generation {published} > "
                f"{self.generation}), as --replace-later asked: what was stored after the backup is no longer shown")

    def read(self, path: str) -> bytes:
        """A file of the site, as it will be uploaded, checked by the egress guard.

        Raises ``LeakRefused`` if it holds a private value of an update it shows. Files
        this build did not write were checked when they were written.
        """
        full = os.path.join(self.root, path)
        if os.path.realpath(full) != os.path.join(os.path.realpath(self.root), path):
            # A link inside the site folder could make a host upload any file of this machine.
            raise OSError(errno.ELOOP, "a symbolic link inside the site folder; rebuild the site", full)
        with open(full, "rb") as file:
            body = file.read()
        values = self.private.get(path)
        if values:
            suffix = "." + path.rsplit(".", 1)[-1] if "." in path else ""
            guard(body, values, f"the upload of {path}", GUARD_TYPES.get(suffix, "text/plain"))
        return body

    @property
    def order(self) -> list[str]:
        return sorted(self.hashes, key=lambda p: (is_linking(p), p == "index.html", p))


class SiteHost(ABC):
    """Base of every publish target. Facts as class attributes, I/O in ``publish``."""

    type_name: ClassVar[str]
    required_options: ClassVar[tuple[str, ...]] = ()
    optional_options: ClassVar[tuple[str, ...]] = ()
    secret_options: ClassVar[tuple[str, ...]] = ()
    # Publishes over the network (round trips after the build): the slowest destination of a post.
    over_network: ClassVar[bool] = True
    # What its last publish, stopped part way, left for the operator to settle, said with what to do (S3: pages it
    # may have left that no manifest names); None where nothing is.
    left_by_stop: str | None = None
    # Whether its last publish, cut (Ctrl-C, SIGTERM, a deadline) while its thread went on, put its build there all
    # the same (a push or a swap already under way): ``site.source.publish`` then records it as this store's own.
    landed_after_cut: bool = False

    def __init__(self, config: ChannelConfig, base_dir: Path) -> None:
        self.config = config
        self.name = config.name
        self.base_dir = base_dir

    @classmethod
    def validate_options(cls, options: Mapping[str, Any], where: str) -> None:
        """Raise ConfigError for type-specific mistakes the key lists cannot express (at config load)."""

    def preflight(self) -> None:
        """Before an update is stored: raise ConfigError if publishing here is bound to be refused."""

    def warm_up(self) -> None:
        """At command start, before the site is built: start what publishing needs (a client, a
        read of what the remote serves) in the background. Changes nothing remote."""

    def warming(self) -> Future[Any] | None:
        """The background work ``warm_up`` started, until ``publish`` takes it over; None if none."""
        return None

    def read_ahead(self) -> threading.Event | None:
        """As soon as this target's table is read, in a command that will publish here without asking:
        start the first request ``warm_up`` would send, if it is a read that changes nothing, so that it
        leaves before the command's own imports and checks. Returns an event set once it has left (or
        failed); None if nothing was started. What it started is kept (``keep_ahead``) for this target's
        ``warm_up`` in the same command to take over (``taken_ahead``); the command drops it when it ends
        (``taken_ahead`` again), so a refusal leaves nothing behind."""
        return None

    def keep_ahead(self, started: object) -> None:
        with _AHEAD_LOCK:
            _AHEAD[(self.name, self.place)] = started

    def taken_ahead(self) -> object | None:
        """What ``read_ahead`` started for this target in this command, once; None if nothing."""
        with _AHEAD_LOCK:
            return _AHEAD.pop((self.name, self.place), None)

    @property
    def place(self) -> str:
        """Where this target publishes, the same on every machine that publishes there (no credentials)."""
        return f"{self.type_name}:{self.name}"

    @property
    def publish_lock(self) -> str:
        """The name of the store lock publishes to this place take turns on (a file name on SQLite)."""
        return "site-publish-" + hashlib.sha256(self.place.encode()).hexdigest()[:16]

    @abstractmethod
    async def publish(self, site: BuiltSite) -> Receipt:
        """Upload what changed in ``site``; raise DeliveryError on failure."""

    async def check(self) -> list[CheckResult]:
        from broadcaster.delivery import CheckResult

        return [CheckResult(self.name, "", True, "nothing to check")]


async def publish_in_thread(host: SiteHost, work: Callable[[], Receipt], stop: Callable[[], None] = lambda: None) -> Receipt:
    """``work()`` (a host's publish) in a thread of its own. Cut (Ctrl-C, SIGTERM, a deadline, the loop torn down),
    it calls ``stop`` and waits for the thread, which cannot be killed, to end (the process would wait for it at
    exit anyway), and notes whether the build landed all the same (``landed_after_cut``: a push or a swap under
    way goes on). Returned at once, the store's lock was let go with the push or swap still under way, and the
    store never counted a build that landed: the next publish took the place for one a later copy of the store
    had made (a backup restored) and refused every post until --replace-later. A plain future, not a task: the
    loop's teardown cancels every task, and a cancelled task says nothing of what its thread did."""
    import asyncio
    import contextvars

    host.landed_after_cut = False
    done: concurrent.futures.Future[Receipt] = concurrent.futures.Future()
    done.set_running_or_notify_cancel()  # never cancelled: the thread runs to its end whatever happens here
    context = contextvars.copy_context()

    def run() -> None:
        try:
            done.set_result(context.run(work))
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting coroutine
            done.set_exception(exc)

    threading.Thread(target=run, name=f"publish {host.name}").start()
    try:
        return await asyncio.wrap_future(done)
    except asyncio.CancelledError:
        stop()
        while not done.done():  # cancelled again meanwhile, it waits on
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(0.05)
        host.landed_after_cut = done.exception() is None
        raise


# (target name, place) -> what its read_ahead started: the host the engine makes later is another instance.
_AHEAD: dict[tuple[str, str], object] = {}
_AHEAD_LOCK = threading.Lock()

