"""Pacing to a platform's limits: a global window counted as the server counts it, and a gap per chat.

Telegram counts a bot's messages as they arrive: at most 30 in any second, and
about one a second into one chat. A client cannot see when a request arrives,
only that it arrived between leaving and being answered. So a message is counted
in the global window from the moment it is let onto the wire until one second
after its answer: a message answered before ``t - 1`` arrived before ``t - 1``
and cannot share a second with one leaving at ``t``; anything else might. Counted
so, no second at the server ever holds more than the limit, however requests
bunch up in transit (a busy machine, a slow connection), and no margin is needed:
a request on loopback costs its own latency on top of the second, nothing more.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncio


class RateLimiter:
    """``per_second`` messages in any second across all chats; one per ``chat_interval`` per chat.

    ``wait(chat)`` spaces sends evenly at ``per_second`` across chats (so they
    leave in the order they asked, never as one burst) and one per ``chat_interval``
    into a chat (a chat's first message waits only for the even spacing);
    ``admit()`` lets one request onto the wire when the global window has room,
    and ``landed()`` must follow it once the request is answered or has failed.
    The spacing alone would let requests slow in transit bunch up at the server;
    the window cannot. Waiters are let through in the order they came, woken one
    timer at a time rather than all polling. ``margin`` stretches the per-chat
    interval, which Telegram keeps only approximately.
    """

    def __init__(
        self,
        per_second: float,
        chat_interval: float,
        *,
        margin: float = 1.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.spacing = 1.0 / per_second
        self.chat_interval = chat_interval * margin
        self.window_limit = max(1, int(per_second))
        self._clock = clock
        self._next_any = 0.0
        self._next_in: dict[str, float] = {}
        self._open = 0  # let onto the wire, not answered yet: may arrive any time
        self._answered: deque[float] = deque()  # when each of the last second's requests was answered
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    # -- one chat -------------------------------------------------------------

    def reserve(self, chat: str) -> float:
        """Claim the next slot for ``chat``; returns the seconds to wait for it."""
        now = self._clock()
        slot = max(now, self._next_any, self._next_in.get(chat, 0.0))
        self._next_any = slot + self.spacing
        self._next_in[chat] = slot + self.chat_interval
        return slot - now

    def answered(self, chat: str) -> None:
        """The server has answered a message into ``chat``: the chat's next one waits a full
        interval from now. Spacing reserved at send time alone cannot see a request that sat
        longer in transit than the next one (a busy machine), which then arrive too close."""
        self._next_in[chat] = max(self._next_in.get(chat, 0.0), self._clock() + self.chat_interval)

    def backlog(self, chat: str) -> float:
        """Seconds until ``chat``'s next slot, reserving nothing."""
        now = self._clock()
        return max(0.0, self._next_in.get(chat, 0.0) - now, self._next_any - now)

    async def wait(self, chat: str) -> None:
        import asyncio  # here, not at the top: config checks and dry runs load this module

        delay = self.reserve(chat)
        if delay > 0:
            await asyncio.sleep(delay)

    # -- the global window --------------------------------------------------------

    def counted(self, now: float) -> int:
        """The requests that may still share a second with one leaving at ``now``."""
        while self._answered and self._answered[0] <= now - 1.0:
            self._answered.popleft()
        return self._open + len(self._answered)

    def free_at(self, now: float) -> float | None:
        """When the window next has room: ``now`` if it has, None while it waits for an answer."""
        if self.counted(now) < self.window_limit:
            return now
        return self._answered[0] + 1.0 if self._answered else None

    async def admit(self) -> None:
        """Let one request onto the wire once the window has room (first come, first served)."""
        if not self._waiting and self.counted(self._clock()) < self.window_limit:
            self._open += 1
            return
        import asyncio

        future = asyncio.get_running_loop().create_future()
        self._waiting.append(future)
        self._wake()
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():  # let through, then cancelled: it never left
                self._open -= 1
                self._wake()
            raise

    @asynccontextmanager
    async def admitted(self) -> AsyncIterator[None]:
        """``admit()`` on entry, ``landed()`` on the way out: around a request and its answer."""
        await self.admit()
        try:
            yield
        finally:
            self.landed()

    def landed(self) -> None:
        """An admitted request was answered, or failed: it arrived, if ever, before now."""
        self._open -= 1
        self._answered.append(self._clock())
        self._wake()

    def _wake(self) -> None:
        """Let waiters through while there is room; else wake again when the oldest answer ages out."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._waiting:
            if self._waiting[0].done():  # cancelled while waiting (a deadline)
                self._waiting.popleft()
                continue
            now = self._clock()
            free = self.free_at(now)
            if free is None:
                return  # the next landed() wakes them
            if free > now:
                loop = self._waiting[0].get_loop()
                self._timer = loop.call_later(free - now, self._wake)
                return
            self._open += 1
            self._waiting.popleft().set_result(None)
