"""Blocking SDK calls (X, Slack, Mastodon) on threads a command's end never waits for.

``asyncio.to_thread`` runs them on the loop's default executor, which closing the loop joins, and the interpreter's
exit joins every ``ThreadPoolExecutor``'s threads even when they are daemons: a request out at ``[engine] deadline``
(or at Ctrl-C) held the command up to ``[engine] timeout`` longer, for an answer it then threw away.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import asyncio
    from concurrent.futures import Future

T = TypeVar("T")


async def off_the_loop(call: Callable[..., T], *args: Any) -> T:
    """``call(*args)`` on a worker thread that the command's end never waits for: the blocking SDKs' requests (X,
    Slack, Mastodon). ``asyncio.to_thread`` runs them on the loop's default executor, which closing the loop joins,
    and the interpreter's exit joins every ``ThreadPoolExecutor``'s threads: a request out at ``[engine] deadline``
    (or at Ctrl-C) then held the command up to ``[engine] timeout`` longer, for an answer it threw away. Here the
    await ends at the cancel, as the engine records (unknown); the thread's late answer is dropped unread."""
    import asyncio
    import contextvars
    from functools import partial

    loop = asyncio.get_running_loop()
    answer: asyncio.Future[T] = loop.create_future()
    job = _workers().submit(partial(contextvars.copy_context().run, call, *args))

    def settled(job: Future[T]) -> None:
        try:
            loop.call_soon_threadsafe(_pass_on, job, answer)
        except RuntimeError:  # the loop is closed: the command ended without this answer, as recorded
            pass

    job.add_done_callback(settled)
    try:
        return await answer
    except asyncio.CancelledError:
        if not job.cancel():  # out already (one not yet started never starts): its thread is let go, not waited for
            _workers().abandoned(job)
        raise


def _pass_on(job: Future[T], answer: asyncio.Future[T]) -> None:
    if answer.cancelled():  # the engine stopped waiting (its deadline, Ctrl-C): a late answer is not recorded
        return
    if job.cancelled():
        answer.cancel()
    elif (error := job.exception()) is not None:
        answer.set_exception(error)
    else:
        answer.set_result(job.result())


class _Workers:
    """Daemon threads for ``off_the_loop``, as many at work at once as the default executor has
    (``min(32, CPUs + 4)``), plus one for each call let go while still out: one stuck until its request's timeout
    never holds up the next command's calls in the same process (the tests run commands so). Never joined at exit:
    what such a thread still runs is an answer nobody waits for."""

    def __init__(self) -> None:
        import queue
        import threading

        self._most = min(32, (os.cpu_count() or 1) + 4)
        self._jobs: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]]] = queue.SimpleQueue()
        self._lock = threading.Lock()  # guards the counts below
        self._threads = 0
        self._abandoned = 0  # threads still running a call let go
        self._free = 0  # threads waiting for a job that no queued job has been promised
        self._unpromised = 0  # queued jobs no thread was free or started for (all were busy)

    def submit(self, call: Callable[[], T]) -> Future[T]:
        import threading
        from concurrent.futures import Future

        job: Future[T] = Future()
        with self._lock:
            self._jobs.put((job, call))
            if self._free:
                self._free -= 1
            elif self._threads - self._abandoned < self._most:
                self._threads += 1
                threading.Thread(target=self._work, name="broadcaster-sdk", daemon=True).start()
            else:
                self._unpromised += 1
        return job

    def abandoned(self, job: Future[Any]) -> None:
        with self._lock:
            self._abandoned += 1
        job.add_done_callback(self._returned)

    def _returned(self, _: Future[Any]) -> None:
        with self._lock:
            self._abandoned -= 1

    def _work(self) -> None:
        while True:
            job, call = self._jobs.get()
            if job.set_running_or_notify_cancel():  # else cancelled while queued: never run
                try:
                    result = call()
                except BaseException as exc:  # noqa: BLE001 - handed to the awaiting side, which raises it
                    job.set_exception(exc)
                else:
                    job.set_result(result)
            del job, call  # an answer nobody waits for is not kept alive by an idle thread
            with self._lock:
                if self._threads - self._abandoned > self._most:  # one started beside an abandoned call
                    self._threads -= 1
                    return
                if self._unpromised:
                    self._unpromised -= 1
                else:
                    self._free += 1


@cache
def _workers() -> _Workers:
    """The one pool, made with the first call (a command that sends nothing through it imports none of it)."""
    return _Workers()
