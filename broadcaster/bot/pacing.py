"""How often the bot may answer a chat.

Telegram allows about one message a second into one chat and thirty a second
overall (``channels._ratelimit.RateLimiter`` spaces both). A chat that sends
faster than it can be answered is not queued for ever: a reply that would wait
more than ``MAX_WAIT`` is dropped, and a chat with ``MAX_IN_HAND`` updates
already being handled has the next ones dropped unread, so one chat flooding the
bot cannot hold the handlers every other chat needs. The short help for free text and unknown
commands goes at most once a minute to a chat.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from broadcaster.channels._ratelimit import RateLimiter

MESSAGES_PER_SECOND = 30  # Bot API: about 30 messages a second across all chats
SECONDS_PER_CHAT_MESSAGE = 1.0  # Bot API: about one a second into one chat
HELP_INTERVAL = 60.0  # the short help for text the bot does not understand, per chat
MAX_WAIT = 4.0  # a reply later than this is dropped: its chat is flooding the bot
HELPED_KEPT = 10_000  # chats remembered for the help's once a minute, before the old are forgotten
MAX_IN_HAND = 5  # a chat's updates being handled or waiting their turn; more are dropped unanswered


class Pacer:
    """One message a second per chat, thirty overall; the short help once a minute per chat."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, help_interval: float = HELP_INTERVAL) -> None:
        self.limiter = RateLimiter(MESSAGES_PER_SECOND, SECONDS_PER_CHAT_MESSAGE, clock=clock)
        self._clock = clock
        self._help_interval = help_interval
        self._helped: dict[int, float] = {}
        self._pruned_at = -help_interval
        self._locks: dict[int, asyncio.Lock] = {}
        self._in_hand: dict[int, int] = {}

    @asynccontextmanager
    async def handling(self, chat: int) -> AsyncIterator[bool]:
        """The chat's turn to be handled, its updates one at a time and in order; False (handle nothing)
        when the chat already has ``MAX_IN_HAND`` updates in hand."""
        if self._in_hand.get(chat, 0) >= MAX_IN_HAND:
            yield False
            return
        async with self.in_order(chat):
            yield True

    @asynccontextmanager
    async def in_order(self, chat: int) -> AsyncIterator[None]:
        """The chat's turn, never refused: a change of the chat itself (it became a supergroup, removed the bot)
        is handled after the commands that came before it, however many are in hand. Handled beside them, a
        group's ``/stop`` or invite waiting on its administrator's check acted on the id the group had left."""
        self._in_hand[chat] = self._in_hand.get(chat, 0) + 1
        try:
            async with self._locks.setdefault(chat, asyncio.Lock()):
                yield
        finally:
            self._in_hand[chat] -= 1
            if not self._in_hand[chat]:
                del self._in_hand[chat], self._locks[chat]

    def may_help(self, chat: int) -> bool:
        """Whether the short help may go to ``chat`` now (and, if so, counts it as sent)."""
        now = self._clock()
        last = self._helped.get(chat)
        if last is not None and now - last < self._help_interval:
            return False
        # A bot running for months meets many chats: forget those helped over a minute ago, at most
        # once a minute (so a burst of new chats does not rebuild the map at every message).
        if len(self._helped) >= HELPED_KEPT and now - self._pruned_at >= self._help_interval:
            self._helped = {c: t for c, t in self._helped.items() if now - t < self._help_interval}
            self._pruned_at = now
        self._helped[chat] = now
        return True

    async def turn(self, chat: int) -> bool:
        """Wait for ``chat``'s next slot; False (nothing reserved) when that is too far off."""
        if self.limiter.backlog(str(chat)) > MAX_WAIT:
            return False
        await self.limiter.wait(str(chat))
        return True

    def answered(self, chat: int) -> None:
        self.limiter.answered(str(chat))
