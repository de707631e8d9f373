"""Webhook mode: an aiohttp route that Telegram posts updates to.

Our own route rather than PTB's ``start_webhook``: that needs the ``webhooks``
extra (tornado, one more dependency) and logs every body it receives at
DEBUG, invite codes included. aiohttp is already a dependency. A request
counts only with the secret token ``setWebhook`` gave Telegram (compared in
constant time) and a JSON body that is an Update; the update then joins the
Application's queue as a polled one would.
"""

from __future__ import annotations

import hmac
import logging
from typing import TYPE_CHECKING, Any

from broadcaster.errors import InputError

if TYPE_CHECKING:
    import asyncio

    from aiohttp import web

    from broadcaster.bot.runner import AnyApplication, Listen

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1 << 20  # an update is a few kilobytes; anything near this is not Telegram

LOG = logging.getLogger("broadcaster.bot")


async def serve(app: AnyApplication, listen: Listen, secret: str, stopping: asyncio.Event) -> web.AppRunner:
    """Listen on ``listen.host:port`` at ``listen.path``; the caller cleans the runner up. Once
    ``stopping`` is set, updates are refused (503): Telegram sends them again, to the next run."""
    from aiohttp import web

    site_app = web.Application(client_max_size=MAX_BODY)
    site_app.router.add_post(listen.path, _receiver(app, secret, stopping))
    runner = web.AppRunner(site_app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, listen.host, listen.port).start()
    except OSError as exc:
        await runner.cleanup()
        raise InputError(f"Cannot listen on {listen.host}:{listen.port} ({exc.strerror or exc}). "
                         "Choose another --listen HOST:PORT, or stop what uses it.") from exc
    return runner


def _receiver(app: AnyApplication, secret: str, stopping: asyncio.Event) -> Any:
    from aiohttp import web
    from telegram import Update

    expected = secret.encode()

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            LOG.warning("Refused a webhook request without the right secret token.")
            return web.Response(status=403)
        if request.content_type != "application/json":
            return web.Response(status=415)
        try:
            data = await request.json()
            update = Update.de_json(data, app.bot) if isinstance(data, dict) else None
        except (ValueError, TypeError, KeyError):
            update = None
        if update is None:
            return web.Response(status=400)
        if stopping.is_set() or not app.running:
            # Taken now, it would be dropped with the queue when the Application stops, and Telegram,
            # told 200, would never send it again: a /stop lost, a chat still subscribed.
            return web.Response(status=503, headers={"Retry-After": "5"})
        await app.update_queue.put(update)
        return web.Response(status=200)

    return receive
