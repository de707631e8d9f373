"""Running ``broadcaster bot run``'s machinery in a test: real python-telegram-bot against FakeTelegramBot.

``BotThread`` runs the bot's own ``run()`` on its own event loop in a thread
(signal handlers are for the main thread: a subprocess test sends SIGTERM),
with the store opened in that thread, as the process would.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from broadcaster import config_loader
from broadcaster.bot.chat import ChatBot
from broadcaster.bot.pacing import Pacer
from broadcaster.bot.runner import BotSettings, Listen, run
from broadcaster.store import open_store, store_location
from tests.fakes.telegram_bot import FakeTelegramBot
from tests.test_audiences import AUDIENCES  # acme (api) and globex (db)

TOKEN = "7000000001:bot-token-Zq81xkP"
__all__ = ["AUDIENCES", "TOKEN", "BotThread", "bot_running"]


class BotThread:
    """The bot answering ``fake`` until ``stop()``; ``error`` holds what ``run()`` raised, if anything."""

    def __init__(self, config_path: Path, fake: FakeTelegramBot, *, listen: Listen | None = None,
                 help_interval: float = 60.0) -> None:
        self.config_path, self.fake, self.listen = config_path, fake, listen
        self.help_interval = help_interval
        self.error: BaseException | None = None
        self.ready = threading.Event()
        self.said: list[str] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, daemon=True)

    def start(self) -> BotThread:
        self._thread.start()
        assert self.ready.wait(15) or self.error is not None, "the bot did not start"
        if self.error is not None:
            raise AssertionError(f"the bot failed to start: {self.error!r}")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)
        assert not self._thread.is_alive(), "the bot did not stop"

    def join(self, timeout: float = 30) -> None:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the bot is still running"

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            self.error = exc
            self.ready.set()

    async def _run(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        config = config_loader.load(str(self.config_path))
        store = open_store(store_location(config, None))
        try:
            pacer = Pacer(help_interval=self.help_interval)
            chat = ChatBot(config, store, pacer)
            await run(BotSettings(TOKEN, self.fake.url), chat.handlers(), pacer.limiter, listen=self.listen,
                      stop=self._stop, ready=self._ready)
        finally:
            store.close()

    def _ready(self, text: str) -> None:
        self.said.append(text)
        self.ready.set()


@contextmanager
def bot_running(config_path: Path, fake: FakeTelegramBot, **kwargs: Any) -> Iterator[BotThread]:
    thread = BotThread(config_path, fake, **kwargs).start()
    try:
        yield thread
    finally:
        thread.stop()
    if thread.error is not None:
        raise thread.error
