"""The site and its ``[publish.NAME]`` hosts as Destinations.

Both publish the whole site, built once per command from the store (not from
the rendering the engine hands them): delivering again shows nothing twice, and
the builder guards every public file itself. The builder and the hosts' SDKs
are imported on first use, so a command that only posts to a chat never loads them.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from broadcaster.config import SITE_DESTINATION, ChannelConfig, Config
from broadcaster.delivery import CheckResult, PostedAnew, Receipt, Rendered
from broadcaster.destination import Job, Run
from broadcaster.errors import ConfigError, DeliveryError, InputError
from broadcaster.messages import advice

if TYPE_CHECKING:
    import asyncio

    from broadcaster.messages.model import Update
    from broadcaster.messages.visibility import UpdateView
    from broadcaster.site.hosts import BuiltSite, SiteHost
    from broadcaster.store import Store


# How much of the command's deadline a build waits for another process's site lock: the wait fails
# first, saying the folder is locked (the deadline would only say time ran out), and the rest is the build's.
_LOCK_SHARE = 0.75


class _WholeSite:
    """What the site and its hosts share: one public destination, one target, nothing to thread or edit."""

    visibility = "public"
    components: tuple[str, ...] = ()
    ordered = False  # the site shows every update at once
    idempotent = True  # rebuilt and uploaded whole: again shows nothing twice
    sends_rendered = False  # built from the store; the builder runs the egress guard
    reports_requests = True  # nothing of a whole-site upload is ever in doubt
    repeats_alike = ""
    keyed_repeats = False
    can_edit = False
    keeps_a_summary = False
    can_delete = False  # a withdrawn incident leaves by the rebuild: its pages are not built, hosts delete them
    target_set = frozenset({""})

    def __init__(self, name: str, config: Config) -> None:
        self.name = name
        self.config = config
        self.request_timeout = config.engine.timeout

    def targets(self) -> tuple[str, ...]:
        return ("",)

    def target_key(self, target: str) -> str:
        return target

    def targets_for(self, component_ids: set[str]) -> tuple[str, ...]:
        return ("",)

    def wants(self, component_ids: set[str]) -> bool:
        return True

    def egress_payloads(self, rendered: Rendered) -> list[tuple[str, str]]:
        return [(rendered.text, "text/plain")]

    def pacing_seconds(self, deliveries: int) -> float:
        return 0.0

    def prepare(self) -> None:
        pass  # a site's rendering depends on nothing remote

    @property
    def slowest(self) -> bool:
        return False  # the local folder: written as soon as it is built

    def head_start(self, run: Run) -> asyncio.Future[Any] | None:
        return None  # nothing for the others to wait for

    async def left_by_cut(self, run: Run) -> str | None:
        return None  # the local folder is replaced whole or not at all

    def warm_up(self) -> None:
        # Imported here, not in the build's worker thread: an import there holds the
        # GIL long enough to bunch up the paced sends of a large Telegram broadcast.
        import broadcaster.site.build  # noqa: F401

    async def close(self) -> None:
        pass

    def secret_values(self) -> list[str]:
        return []  # its secrets are the config's, which the engine scrubs anyway

    def remote_id_from(self, reference: str, target: str) -> str:
        raise InputError(f"{self.name!r} is not a channel in the config, so its post ids cannot be read.")

    async def checked_post_id(self, remote_id: str, target: str, replies_to: str | None = None) -> str:
        return remote_id  # never reached: ``remote_id_from`` refuses

    def remote_location(self, remote_id: str) -> str | None:
        return None

    def left_after_delete(self, remote_ids: Sequence[str]) -> list[str]:
        return []  # a withdrawn incident's pages leave by the rebuild, every one

    def not_deletable_here(self, remote_id: str, target: str) -> str:
        return ""  # nothing is deleted by id: the rebuild leaves the incident out

    def not_editable_here(self, remote_id: str, target: str) -> PostedAnew | None:
        return None  # nothing is edited by id: the rebuild shows the correction

    def names_its_location(self) -> bool:
        return True

    def posted_here(self, remote_id: str, target: str) -> bool:
        return True

    def same_post(self, stored: str, given: str) -> bool:
        return stored == given

    def preflight(self, store: Store) -> None:
        from broadcaster.site.ownership import refuse_unowned_folder
        from broadcaster.site.tokens import refuse_reused_feed_tokens

        refuse_unowned_folder(self.config, store)
        refuse_reused_feed_tokens(self.config, store, "Nothing was stored or sent.")


class SiteDestination(_WholeSite):
    """``site``: the page, incident pages, feeds and summary.json, written to ``[page] output_dir``."""


    def __init__(self, config: Config) -> None:
        super().__init__(SITE_DESTINATION, config)

    def render(self, view: UpdateView, update: Update, updates: Sequence[Update]) -> Rendered:
        """What the incident's entry on the page will show (``preview``): status, impact, components, times."""
        from broadcaster.messages.preview import window_lines
        from broadcaster.messages.visibility import AudienceView
        from broadcaster.times import format_time

        zone, names = self.config.page.zone, {c.component.id: c.component.name for c in self.config.components}
        header = view.incident
        if update.kind == "withdrawal":  # the page shows nothing of it: its entry, pages and feeds go
            return Rendered(text=f"{header.title}: removed from the page, its feeds and its JSON", visibility="public")
        lines = [f"{header.title} · {view.status_label} · impact {header.impact.value}", view.message]
        if isinstance(view, AudienceView) and view.detail:  # a customer's page (CustomerPage): its detail too
            lines.append(f"{view.audience_name}: {view.detail}")
        if header.components:
            lines.append("Components: " + ", ".join(
                f"{names.get(c.id, c.id)} {c.status.label.lower()}" for c in header.components))
        lines += window_lines(view, lambda moment: format_time(moment, zone))
        if view.etr:
            lines.append(f"Estimated recovery: {format_time(view.etr, zone)}")
        if view.next_update_by:
            lines.append(f"Next update by: {format_time(view.next_update_by, zone)}")
        if header.url:
            lines.append(f"Page: {header.url}")
        return Rendered(text="\n".join(lines), visibility="public")

    async def deliver(self, job: Job) -> Receipt:
        built = await built_site(job.run)
        if built.problems:
            raise DeliveryError(advice.left_out(built.problems), retryable=False)
        return Receipt(remote_id=str(built.root / "index.html"))

    async def check(self) -> list[CheckResult]:
        return []  # a local folder: `site build` says what is wrong with it


class CustomerPage(SiteDestination):
    """One customer's private page (``a/<token>/``, ``[audiences.ID] feed_token``) as a publishing command checks
    it before storing anything: the site's rendering of that customer's view, guarded against what that customer
    must not read, as its own channel would be. Built and written by ``site``, never delivered on its own."""

    def __init__(self, config: Config, audience: str) -> None:
        super().__init__(config)
        self.visibility = f"audience:{audience}"
        self.audience = audience

    def egress_payloads(self, rendered: Rendered) -> list[tuple[str, str]]:
        """The rendering as text, and as the page's HTML shows it: its Markdown rendered as the build renders the
        customer's text ("[Globex](url) Corp" reads "Globex Corp" there, "Globex&nbsp;Corp" too), so that a text the
        build would leave out of the page is refused here, before anything is stored. The customer's name is written
        as the page writes it, as text (``markdown_as_text``)."""
        from broadcaster.messages.markdown import render_markdown
        from broadcaster.messages.visibility import markdown_as_text

        name = self.config.audiences[self.audience].name
        text = rendered.text.replace(f"\n{name}: ", f"\n{markdown_as_text(name)}: ")
        return [*super().egress_payloads(rendered), (render_markdown(text), "text/html")]


class HostDestination(_WholeSite):
    """One ``[publish.NAME]`` target: uploads what ``site`` built (one upload per command)."""


    def __init__(self, table: ChannelConfig, config: Config) -> None:
        super().__init__(table.name, config)
        self.table = table
        self.components = table.components
        # The command's upload here, once a delivery started it, by the command's ``Run``.
        self._upload: tuple[Run, asyncio.Task[Receipt]] | None = None

    def wants(self, component_ids: set[str]) -> bool:
        return self.table.wants(component_ids)

    @cached_property
    def host(self) -> SiteHost:
        from broadcaster.registry import load_host_class

        return load_host_class(self.table.type)(self.table, self.config.base_dir)

    def render(self, view: UpdateView, update: Update, updates: Sequence[Update]) -> Rendered:
        return Rendered(text="uploads the rebuilt site (page, incident pages, feeds, summary.json)", visibility="public")

    async def deliver(self, job: Job) -> Receipt:
        import asyncio
        try:
            built = await built_site(job.run)
        except DeliveryError as exc:
            raise DeliveryError(
                f"the site could not be built, so nothing was uploaded: {exc}", retryable=exc.retryable
            ) from exc
        if self._upload is None or self._upload[0] is not job.run:  # what an earlier command left is its own to say
            self.host.left_by_stop = None
        # Shielded: a deadline that cuts this delivery must not cut an upload others share.
        upload = job.run.shared(
            f"upload {self.name}", lambda: self.publish(job.run.store, built), again_after_failure=True
        )
        self._upload = (job.run, upload)
        return await asyncio.shield(upload)

    async def left_by_cut(self, run: Run) -> str | None:
        """Asked by the engine once the deadline of ``run`` (the command) cut a delivery here: stops its upload (every
        delivery sharing it met the same deadline, and the runner would cancel it on closing) and waits for the host
        to end it, then returns what this command's uploads left for the operator to settle: the host's word on the
        pages they may have left there that no manifest names (``S3Host.left_by_stop``), an earlier attempt's too.
        None where they left nothing to settle, for `broadcaster retry` to publish it all again."""
        import asyncio

        if self._upload is None or self._upload[0] is not run:  # cut before its upload started: nothing left
            return None
        upload = self._upload[1]
        upload.cancel()
        await asyncio.wait([upload])  # the host stops after the requests it has out, each bounded by its timeouts
        if not upload.cancelled():
            upload.exception()  # retrieved: what a stopped upload ended with is the host's to say, below
        return self.host.left_by_stop

    async def publish(self, store: Store, built: BuiltSite, *, wait: float | None = None) -> Receipt:
        """Upload ``built`` here, taking turns with every machine of ``store`` (``site.source.publish``)."""
        from broadcaster.site.source import publish

        return await publish(store, self.host, built, wait=wait)

    async def check(self) -> list[CheckResult]:
        return await self.host.check()

    def preflight(self, store: Store) -> None:
        super().preflight(store)
        self.host.preflight()

    def warm_up(self) -> None:
        self.host.warm_up()  # first: the upload is the slowest delivery, its client the longest to make
        super().warm_up()

    @property
    def slowest(self) -> bool:
        return self.host.over_network

    def head_start(self, run: Run) -> asyncio.Future[Any] | None:
        # The build and the host's client (boto3's import, where boto3 is used) come before the first
        # round of uploads: the others' SDK imports would share the one GIL with them. Not the answer
        # to the manifest's read, which takes no CPU.
        return run.shared(f"head start {self.name}", lambda: self._ready(run)) if self.slowest else None

    async def _ready(self, run: Run) -> None:
        import asyncio

        warming = self.host.warming()
        ready = [asyncio.wrap_future(warming)] if warming is not None else []
        await asyncio.wait([built_site(run), *ready])
        for future in ready:  # a failed warm-up is the upload's to report, not asyncio's "never retrieved"
            if not future.cancelled():
                future.exception()


def built_site(run: Run) -> asyncio.Task[BuiltSite]:
    """The site build of this command, started by the first destination that needs it."""
    return run.shared("site build", lambda: _build_site(run))


async def _build_site(run: Run) -> BuiltSite:
    import asyncio

    from broadcaster.site import ownership, source
    from broadcaster.site.output import SiteWriter

    output_dir = run.config.output_dir
    try:
        ownership.claim_folder(run.config, run.store)
        # Another process may be building too: the one holding the lock reads the
        # store inside it, so the last build to finish always shows every update.
        async with source.site_lock(output_dir, wait=run.config.engine.deadline * _LOCK_SHARE):
            writer = SiteWriter(output_dir)
            data = source.read(run.config, run.store, writer, changed=sorted(run.incidents))
            return await asyncio.to_thread(source.build, data, writer)
    except ConfigError as exc:  # a folder that is not broadcaster's: fixing it takes the operator
        raise DeliveryError(str(exc), retryable=False) from exc
    except OSError as exc:
        raise DeliveryError(
            f"cannot write the site to {output_dir}: {exc.strerror or exc}. "
            "Check [page] output_dir and its permissions.",
            retryable=False,
        ) from exc


def site_destinations(config: Config) -> list[SiteDestination | HostDestination]:
    """``site`` first, then each publish target, in the config's order."""
    return [SiteDestination(config), *(HostDestination(table, config) for table in config.publish.values())]
