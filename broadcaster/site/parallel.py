"""A full build's incident pages, built in worker processes: one per core.

A full build of 10,000 incidents spends nearly all its time on the pages
(reading each record, cutting its public view, rendering, the egress guard,
writing), one incident at a time, on one core. Here forked workers each open
their own connection to the store, take chunks of incident ids and do all of
that, exactly as the build itself would (``build.write_pages_here``: the same
code, so the same bytes); the build records what each wrote (``Built``). The
index, feeds and JSON stay in the build's own process.

Only where it pays: a full build with many pages, a store that can give a
worker its own connection (SQLite), more than one core, and ``fork`` (the
workers inherit the build's state instead of having it pickled).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from broadcaster.errors import BroadcasterError, DeliveryError
from broadcaster.site.build import Built, Page, Refused, SiteData, write_pages_here
from broadcaster.site.output import SiteWriter
from broadcaster.store import Store

MIN_PAGES = 1000  # below this, starting the workers costs more than they save
CHUNK = 250  # incidents a worker takes at a time: small enough to share the work out evenly
MAX_WORKERS = 4
_WATCH_SECONDS = 0.2  # how soon a worker notices its build is gone

# The pages of these incident ids, read from a store and cut as the build would (the incidents
# that cannot be cut go into the dict, with why).
Cut = Callable[[Store, Sequence[str], dict[str, str]], Iterator[Page]]


@dataclass
class _Job:
    """What every worker inherits from the build that forked it."""

    store: Store
    cut: Cut
    data: SiteData
    writer: SiteWriter
    build: int  # the build's process id


_JOB: _Job | None = None


def workers(pages: int, store: Store) -> int:
    """How many worker processes a build of ``pages`` pages should use (0: none, build them here)."""
    import multiprocessing  # here: most commands never build in workers

    if pages < MIN_PAGES or not store.reopenable or "fork" not in multiprocessing.get_all_start_methods():
        return 0
    count = cores()
    return min(count, MAX_WORKERS) if count > 1 else 0


def cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def pages(
    store: Store, cut: Cut, ids: Sequence[str], data: SiteData, writer: SiteWriter, problems: dict[str, str],
    count: int,
) -> Iterator[Built | Refused]:
    """The pages of ``ids``, built by ``count`` workers; incidents left out go into ``problems``.

    Started when first read (the build has written its assets by then, and nothing is
    being written in the background that a fork would copy half done).
    """
    import gc
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    global _JOB
    _JOB = _Job(store, cut, data, writer, os.getpid())
    chunks = [list(ids[start : start + CHUNK]) for start in range(0, len(ids), CHUNK)]
    writer.others_write()
    frozen_before = gc.get_freeze_count()
    try:
        # What the workers inherit is left out of every collection until they are done: a worker's
        # collections would otherwise walk (and so copy, page by page) the whole heap it shares with
        # the build. About 3% of a full build of 10,000 incidents (BENCHMARKS.md, section 3).
        if not frozen_before:
            gc.freeze()
        # Not multiprocessing.Pool: it waits for ever for the chunk of a worker that died (killed
        # for memory, say) and starts again, endlessly, one whose start fails; this pool breaks.
        # With fork, it starts every worker before any thread of its own.
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(count, mp_context=context, initializer=_start) as pool:
            futures = [pool.submit(_build_chunk, chunk) for chunk in chunks]
            try:
                for future in as_completed(futures):
                    built, left_out, failure = future.result()
                    if failure is not None:
                        raise failure.error()
                    for incident_id, reason in left_out.items():
                        problems.setdefault(incident_id, reason)
                    yield from built
            finally:
                for future in futures:
                    future.cancel()  # the pool then waits only for the chunks already being built
    except BrokenProcessPool as exc:
        raise DeliveryError(
            f"a process building the site's pages stopped before it finished ({exc}); nothing was "
            "published. Run the command again; if it stops again, see whether the machine is short of memory "
            "(the kernel's log names what it killed), or run it with --debug to see why a process could not start.",
            retryable=True,
        ) from None
    finally:
        _JOB = None
        if not frozen_before:
            gc.unfreeze()  # the build's own objects are collected as ever again


def _start() -> None:
    """In a worker: its own store connection (never the build's), and writes made here, now."""
    assert _JOB is not None
    threading.Thread(target=_end_with, args=(_JOB.build,), name="broadcaster-build-watch", daemon=True).start()
    _JOB.store = _JOB.store.reopened()
    _JOB.writer.detach()


def _end_with(build: int) -> None:
    """In a worker: end when the build that forked it is gone (killed, out of memory, stopped by a
    service manager). Unlike multiprocessing.Pool's, this pool's workers would wait for ever for
    their next chunk, each holding a copy of the build's memory and a connection to the store."""
    while os.getppid() == build:
        time.sleep(_WATCH_SECONDS)
    os._exit(1)


def _build_chunk(ids: list[str]) -> tuple[list[Built | Refused], dict[str, str], _Failure | None]:
    assert _JOB is not None
    problems: dict[str, str] = {}
    try:
        built = write_pages_here(_JOB.data, _JOB.writer, _JOB.cut(_JOB.store, ids, problems), problems)
    except Exception as exc:  # noqa: BLE001 - raised again in the build's process, as _Failure says
        return [], problems, _Failure.of(exc)
    return built, problems, None


@dataclass(frozen=True)
class _Failure:
    """What stopped a worker (a page it cannot write, the store), carried back to be raised by the build.

    Not the exception itself: one that does not survive pickling (DeliveryError's keyword-only
    arguments) would stop the pool's result thread, and the build would wait for ever.
    """

    kind: type[BroadcasterError] | None  # None: not one of ours (a bug), raised as RuntimeError
    message: str
    retryable: bool = False
    outcome_unknown: bool = False

    @classmethod
    def of(cls, exc: Exception) -> _Failure:
        if isinstance(exc, DeliveryError):
            return cls(DeliveryError, str(exc), exc.retryable, exc.outcome_unknown)
        if isinstance(exc, BroadcasterError):
            return cls(type(exc), str(exc))
        return cls(None, f"{type(exc).__name__}: {exc}")

    def error(self) -> Exception:
        if self.kind is DeliveryError:
            return DeliveryError(self.message, retryable=self.retryable, outcome_unknown=self.outcome_unknown)
        try:
            return (self.kind or RuntimeError)(self.message)
        except TypeError:  # one of ours whose constructor takes more
            return RuntimeError(self.message)
