"""The Destination protocol: all the engine knows of a place an update goes to.

The site (``site.destination.SiteDestination``), each ``[publish.NAME]`` host
(``HostDestination``) and each ``[channels.NAME]`` (``destinations.ChannelDestination``,
around a ``Channel``) implement it. The engine plans, orders, renders, guards,
sends, retries and records through these members alone; it never asks which
kind of destination it holds.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from broadcaster.config import Config
from broadcaster.delivery import CheckResult, PostedAnew, Receipt, Rendered, SendLog, ThreadRef

if TYPE_CHECKING:
    import asyncio

    from broadcaster.messages.model import Update
    from broadcaster.messages.visibility import UpdateView
    from broadcaster.store import Delivery, Store

T = TypeVar("T")


@dataclass
class Run:
    """One command's deliveries, as the destinations share them.

    ``incidents`` are those whose updates this command delivers (the site
    rebuilds their pages). ``shared`` holds work every delivery to a destination
    needs once per command: one site build, one upload per host.
    """

    config: Config
    store: Store
    incidents: Sequence[str] = ()
    _tasks: dict[str, asyncio.Task[Any]] = field(default_factory=dict)

    def shared(
        self, key: str, start: Callable[[], Coroutine[Any, Any, T]], *, again_after_failure: bool = False
    ) -> asyncio.Task[T]:
        """The task for ``key``, started by the first caller; a failed one is started again if asked."""
        import asyncio
        task = self._tasks.get(key)
        failed = task is not None and task.done() and (task.cancelled() or task.exception() is not None)
        if task is None or (again_after_failure and failed):
            task = asyncio.create_task(start())
            self._tasks[key] = task
        return task


@dataclass
class Job:
    """One delivery, as ``Destination.deliver`` receives it.

    ``rendered()`` is the rendering past the egress guard (it raises ``LeakRefused``:
    then nothing may leave); ``replaces`` is the remote id of the post a correction
    replaces, set only where the destination ``can_edit``. ``deletes`` is set for the
    withdrawal of an incident at a public destination that ``can_delete``: the remote
    ids of every post of it there (each part, each follow-up), to delete instead of
    sending anything.
    """

    target: str
    thread: ThreadRef | None
    log: SendLog
    rendered: Callable[[], Rendered]
    run: Run
    replaces: str | None = None
    deletes: tuple[str, ...] | None = None


@runtime_checkable
class Destination(Protocol):
    """A place an update goes to, by the name operators use for it.

    Facts the engine schedules by:

    * ``ordered``: follow-ups thread under earlier posts, so the updates of an
      incident must arrive in order (channels); the site shows them all at once.
    * ``idempotent``: delivering again shows nothing twice (the site and hosts
      rebuild and upload whole), so a delivery in doubt is simply redone.
    * ``sends_rendered``: ``deliver`` sends ``render``'s output, so the engine
      guards it before the first attempt and resumes posts sent in parts; the
      site and hosts publish from the store, guarded by the site builder.
    * ``reports_requests``: ``deliver`` calls ``log.sending()`` before each request
      that may post, so a send cut by the deadline with none out is "failed",
      not "unknown".
    * ``repeats_alike``: where not empty, ``deliver`` never calls ``log.sending()`` because every repeat of its
      request carries one id the receiver drops once seen, and this says so to the operator of a send cut or
      stopped before its answer (failed or pending, though it may have arrived).
    * ``keyed_repeats``: every repeat of a post carries a key made from the delivery, by which the service drops it
      or answers with what the first made (``Channel.keyed_repeats``): a correction made after an attempt follows
      the resend, never rides in it alone (``resend_may_be_dropped``).
    * ``can_edit``: a correction replaces the post it corrects (``Job.replaces``).
    * ``keeps_a_summary``: besides its posts it shows the incident as it stands (Slack's status card, the thread's
      first message), so a correction carries that too (``payload["now"]``) and an edit refreshes it.
    * ``can_delete``: ``broadcaster withdraw`` deletes the incident's posts here
      (``Job.deletes``). False is the default for a medium that cannot delete: the
      engine then sends the withdrawal's rendering, a short "posted in error"
      follow-up. A channel gets it by overriding ``Channel.delete``.
    * ``request_timeout``: how long one request may wait for an answer
      (``[engine] timeout``); set when the destination is made.
    * ``slowest``: its delivery is a post's slowest chain of round trips (a host over
      the network: the build, then rounds of uploads), so it is warmed up first and the
      others' sends wait for its ``head_start``.
    """

    @property
    def name(self) -> str: ...
    @property
    def visibility(self) -> str: ...
    @property
    def components(self) -> tuple[str, ...]:
        """The components it is subscribed to; empty for all."""
    @property
    def ordered(self) -> bool: ...
    @property
    def idempotent(self) -> bool: ...
    @property
    def sends_rendered(self) -> bool: ...
    @property
    def reports_requests(self) -> bool: ...
    @property
    def repeats_alike(self) -> str: ...
    @property
    def keyed_repeats(self) -> bool: ...
    @property
    def can_edit(self) -> bool: ...
    @property
    def keeps_a_summary(self) -> bool: ...
    @property
    def can_delete(self) -> bool: ...
    @property
    def request_timeout(self) -> float: ...
    @property
    def slowest(self) -> bool: ...
    @property
    def target_set(self) -> frozenset[str]:
        """``targets()`` as a set, read once: checked per delivery of a 1,000-chat channel."""

    def targets(self) -> tuple[str, ...]:
        """The separate places one update goes to (chats): one delivery record each; ("",) for one."""

    def target_key(self, target: str) -> str:
        """``target`` as the service tells its places apart: equal for two spellings of one place (a Telegram @name
        in another letter case). Compared by ``names_target`` and ``destinations.spelled_as_stored``."""

    def targets_for(self, component_ids: set[str]) -> tuple[str, ...]:
        """The targets an update touching these components is planned for: ``targets()``, except
        where each target chooses its own components (a subscribed chat)."""

    def wants(self, component_ids: set[str]) -> bool:
        """Whether an update touching these components goes here."""

    def render(self, view: UpdateView, update: Update, updates: Sequence[Update]) -> Rendered:
        """What this destination shows of ``update`` (cut into ``view``); pure. ``updates`` is its incident's history."""

    def egress_payloads(self, rendered: Rendered) -> list[tuple[str, str]]:
        """Everything of ``rendered`` that may leave, each with the media type its readers read it in."""

    def pacing_seconds(self, deliveries: int) -> float:
        """How long the service's rate limits make this many sends take at least (added to the deadline)."""

    def prepare(self) -> None:
        """Learn what ``render`` depends on (a Mastodon instance's limits), before the command's previews and
        sends alike; never raises."""

    def warm_up(self) -> None:
        """Import what ``deliver`` needs and start its slow clients, before the concurrent sends only (a dry
        run never calls it, so it stays light); never raises."""

    def head_start(self, run: Run) -> asyncio.Future[Any] | None:
        """The work of this destination the others' sends wait for before they start (a remote host's
        site build and warm-up), or None. The engine waits whatever the work's outcome, and at most
        ``Publisher.head_start_wait`` or a quarter of the deadline: one GIL runs the build and the
        other SDKs' imports, so the slowest chain of round trips (the build, then the uploads) is not
        held up by work that has time to spare."""

    async def deliver(self, job: Job) -> Receipt:
        """Deliver one update to one target (or, with ``job.deletes``, delete those posts); raises ``DeliveryError`` (retryable or not, outcome_unknown
        when a request may have arrived). Never retries: the engine owns retries and the deadline."""

    async def check(self) -> list[CheckResult]:
        """Verify credentials and targets without posting anything."""

    async def left_by_cut(self, run: Run) -> str | None:
        """Once the deadline of ``run`` cut a delivery here: what the cut send left for the operator to settle (a
        site host's stopped upload: pages it may have left that no manifest names), said with what to do; None
        where nothing is left, for `broadcaster retry` to send it again."""

    async def close(self) -> None:
        """Release network clients; called once per command by whoever delivered or checked."""

    def secret_values(self) -> list[str]:
        """Secrets of this destination that an error or note could echo (scrubbed by the engine)."""

    def remote_id_from(self, reference: str, target: str) -> str:
        """A post's remote id from what an operator copied (id or link); ``InputError`` where there are no posts."""

    async def checked_post_id(self, remote_id: str, target: str, replies_to: str | None = None) -> str:
        """A post id given by hand, checked with the service where only it tells whose post it is (``InputError`` for
        another account's), and where the thread it is in (``replies_to``: the thread's first post it must reply
        under, "" for a post that starts its thread, None where not to tell); the id, completed where the answer
        tells more."""

    def remote_location(self, remote_id: str) -> str | None:
        """The chat, channel or room a post's remote id names; None where ids name no place."""

    def left_after_delete(self, remote_ids: Sequence[str]) -> list[str]:
        """What deleting these posts leaves up, told before it is done (``withdraw --dry-run``)."""

    def not_deletable_here(self, remote_id: str, target: str) -> str:
        """Why a withdrawal's delete refuses this post here (another account's, another instance's), what to do by
        hand; "" where it deletes it. The real run and its dry run both ask it."""

    def not_editable_here(self, remote_id: str, target: str) -> PostedAnew | None:
        """Why a correction cannot edit this post here and goes as a new one (another account's, another instance's),
        with what to do with the original by hand; None where it edits it (or only the edit's answer tells). A
        correction's preview and its send both ask it, so the preview shows the new post the send makes."""

    def names_its_location(self) -> bool:
        """Whether the config names the place as remote ids do (so ``remote_id_from`` checks it)."""

    def posted_here(self, remote_id: str, target: str) -> bool:
        """Whether a post's remote id names the place the config now names for ``target`` (True where it cannot tell)."""

    def same_post(self, stored: str, given: str) -> bool:
        """Whether a remote id an operator gave (``remote_id_from``) names the post a stored one does."""

    def preflight(self, store: Store) -> None:
        """Refuse (``ConfigError``) before anything is stored when delivering here could not work or would harm."""


def names_target(destination: Destination, target: str) -> bool:
    """Whether the config names ``target`` (a stored delivery's) among ``destination``'s targets, by any spelling
    of that place: `@AcmeStatus` rewritten `@acmestatus` is still the chat the delivery was stored for, and its
    `retry` is owed there (it was skipped as a chat removed from the config)."""
    if target in destination.target_set:
        return True  # the common case, and a 1,000-chat table's keys are not worked out for it
    key = destination.target_key(target)
    return any(destination.target_key(written) == key for written in destination.targets())


def resend_may_be_dropped(destination: Destination, delivery: Delivery) -> bool:
    """Whether a resend of ``delivery`` may be dropped, or answered with what its first attempt made: the service
    knows a repeat by a key made from the delivery (``Destination.keyed_repeats``), and an attempt of it may have
    arrived: its fate is unknown, or, where a send in doubt is recorded failed or pending because its repeat is
    harmless (``repeats_alike``, a webhook), an attempt was made. A correction stored meanwhile then follows the
    resend, never rides in it alone: carried in it (the resend has the corrected text all the same: the text taken
    back never goes out anew), the service kept the first text and the correction was lost (review 36b). A failure that proved nothing arrived
    (Matrix or Mastodon answering 503) leaves the correction carried, one message: a webhook's cannot be told from
    a timeout in the store, so its receiver may get a correction that changes nothing."""
    from broadcaster.delivery import DeliveryState

    if not destination.keyed_repeats:
        return False
    if destination.repeats_alike:
        return delivery.attempts > 0
    return delivery.state == DeliveryState.UNKNOWN or bool(delivery.parts)
