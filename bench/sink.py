"""A Bot API ``sendMessage`` sink fast enough to measure our client's own throughput.

``tests.fakes.telegram.FakeTelegram`` checks everything Telegram checks (HTML
entities, lengths, chats, limits) on a thread per connection, and tops out at
a few hundred requests a second on these machines: below the throughput the
client is asked to reach. This sink answers ``sendMessage`` (and ``getMe``)
with the shapes python-telegram-bot parses, from one asyncio loop in its own
thread, checking only the token, and records when each chat's message
arrived. It is for the "no limits" throughput run alone; every correctness
test uses the real fake.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Self
from urllib.parse import parse_qs, unquote_plus


class BotApiSink:
    """``with BotApiSink(token) as sink:`` ... ``sink.url``, ``sink.arrivals`` (chat id -> times)."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.arrivals: dict[int, list[float]] = {}
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._message_id = 0
        self._writers: set[asyncio.StreamWriter] = set()

    def __enter__(self) -> Self:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    def reset(self) -> None:
        self.arrivals = {}

    def times(self) -> list[float]:
        return sorted(t for times in self.arrivals.values() for t in times)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=512))
        self._ready.set()
        self._loop.run_forever()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
                body = await reader.readexactly(int(headers.get("content-length") or 0))
                status, payload = self._answer(target, headers.get("content-type", ""), body)
                writer.write(
                    f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    def _answer(self, target: str, content_type: str, body: bytes) -> tuple[int, bytes]:
        _, _, rest = target.partition("/bot")
        token, _, method = rest.partition("/")
        if unquote_plus(token) != self.token:
            return 401, b'{"ok": false, "error_code": 401, "description": "Unauthorized"}'
        if method == "getMe":
            return 200, json.dumps({"ok": True, "result": {"id": 1, "is_bot": True, "first_name": "Sink",
                                                             "username": "sink_bot"}}).encode()
        params = json.loads(body) if "json" in content_type else {k: v[-1] for k, v in parse_qs(body.decode()).items()}
        chat_id = int(params["chat_id"])
        self.arrivals.setdefault(chat_id, []).append(time.monotonic())
        self._message_id += 1
        chat = {"id": chat_id, "type": "supergroup", "title": str(chat_id)}
        result = {"message_id": self._message_id, "date": int(time.time()), "chat": chat, "text": params.get("text", "")}
        return 200, json.dumps({"ok": True, "result": result}).encode()
