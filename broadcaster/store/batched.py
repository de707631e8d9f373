"""The engine's store writes, many deliveries' at once: one transaction per turn of the event loop.

A post to a thousand chats claims a thousand deliveries, notes a thousand
attempts and records a thousand results. Written one transaction each, that is
three thousand commits (and, in team mode, round trips) on the event loop
between the sends. Here every write asked for during one turn of the loop
commits in one transaction (``Store.batch``) at the end of the turn, and each
caller gets its own write's result once that transaction has committed.

What stays true: a caller that awaits its claim sends nothing before the claim
is committed (claim before send); a result is committed before the caller
reports it. A process killed between a send and the commit of its result leaves
the delivery ``sending``, which the next command reaps as ``unknown``: never
``pending``, so never sent again without a human.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from broadcaster.store.contract import Store

if TYPE_CHECKING:
    import asyncio

T = TypeVar("T")


class BatchedWrites:
    """``await writes(fn)`` runs ``fn()`` (store writes and reads) in the loop turn's one transaction."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._queued: list[tuple[Callable[[], Any], asyncio.Future[Any]]] = []

    async def __call__(self, write: Callable[[], T]) -> T:
        import asyncio  # here, not at the top: a dry run imports this module and needs no event loop

        loop = asyncio.get_running_loop()
        if not self._queued:
            loop.call_soon(self._commit)  # after every task ready now has taken its step
        future: asyncio.Future[T] = loop.create_future()
        self._queued.append((write, future))
        return await future

    def _commit(self) -> None:
        queued, self._queued = self._queued, []
        try:
            with self.store.batch():
                results = [write() for write, _ in queued]
        except Exception as exc:  # noqa: BLE001 - nothing committed: every caller learns why
            for _, future in queued:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(queued, results, strict=True):
            if not future.done():
                future.set_result(result)
