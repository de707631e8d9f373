"""The bot's process: python-telegram-bot's ``Application``, started and stopped by hand.

Not ``run_polling()``: it reaches for ``asyncio.get_event_loop()`` (a warning on
some Pythons), installs its own signal handlers and closes the loop. Here the
lifecycle is spelled out: ``async with app`` (getMe), start polling or the
webhook route, ``app.start()``, wait for SIGTERM/SIGINT, then stop both in
``finally`` so an error between start and stop is not masked by PTB's "still
running" on the way out.

The token never reaches PTB: the Application is built with ``TOKEN_SLOT`` and
its requests write the token into the path as they leave
(``channels.telegram.token_hidden_request``), so ``repr(app)``, PTB's and
httpx's logs and PTB's ``InvalidToken`` text only ever hold ``***``. Polling and
sending have separate request objects: a long poll holds its connection for
up to ``POLL_SECONDS``, which a reply must not wait behind.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import signal
import time
from collections.abc import Callable, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from broadcaster import lazy_re, redaction
from broadcaster.channels._ratelimit import RateLimiter
from broadcaster.channels.telegram import TOKEN_SLOT, token_hidden_request, username_problem
from broadcaster.customer_ids import claim_audience_ids
from broadcaster.errors import BroadcasterError, ConfigError, InputError, StoreError
from broadcaster.store import process_owner, utcnow

if TYPE_CHECKING:
    from telegram.error import TelegramError
    from telegram.ext import Application, BaseHandler

    from broadcaster.config import Config
    from broadcaster.store import Store

    AnyApplication = Application[Any, Any, Any, Any, Any, Any]

LOG = logging.getLogger("broadcaster.bot")

# What the bot listens to. Sent with every getUpdates: Telegram keeps the last list it was given.
ALLOWED_UPDATES = ("message", "callback_query", "my_chat_member")
POLL_SECONDS = 10  # a long poll's length; PTB cancels it at once on stop
REQUEST_TIMEOUT = 10.0
# Updates handled at once. Each chat's own are handled in order (chat.py), so most of these wait
# for their chat's turn; a chat that floods the bot holds at most pacing.MAX_IN_HAND of them.
CONCURRENT_UPDATES = 64
SEND_CONNECTIONS = 8
_POLLING_TASK = "Updater:start_polling:polling_task"  # the name python-telegram-bot gives its polling task
# Any word shaped like an invite code (``subscribers.INVITE_CODE``), wherever a chat sent it: after "/start",
# "/START" (the bot takes a command in any case) or alone; masking by the command let those through.
_CODE_SHAPED = lazy_re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{22,64}(?![A-Za-z0-9_-])")


@dataclass(frozen=True)
class BotSettings:
    """What the process needs of the ``[bot]`` table."""

    token: str
    api_url: str = "https://api.telegram.org"


@dataclass(frozen=True)
class Listen:
    """Webhook mode: Telegram posts to ``url``; this process listens on ``host:port`` at ``url``'s path."""

    url: str
    host: str
    port: int

    @property
    def path(self) -> str:
        return urlsplit(self.url).path or "/"


def webhook_mode(webhook: str | None, listen: str | None) -> Listen | None:
    """``--webhook URL --listen HOST:PORT`` as a ``Listen`` (None: long polling); InputError if malformed."""
    if webhook is None and listen is None:
        return None
    if webhook is None or listen is None:
        raise InputError("--webhook URL and --listen HOST:PORT go together: Telegram posts to the URL, a reverse "
                         "proxy forwards it to HOST:PORT. Give both, or neither for long polling.")
    parts = urlsplit(webhook)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment:
        raise InputError(f"--webhook {webhook!r} is not a URL Telegram can post to: give https://HOST/PATH.")
    host, sep, port = listen.rpartition(":")
    host = host.strip("[]")  # [::1]:8443
    # isascii: isdigit() takes "²" and "٣" for digits; int() refuses the first and reads the second as 3.
    if not sep or not host or not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
        raise InputError(f"--listen {listen!r} is not HOST:PORT: the port is a number from 1 to 65535 written with "
                         "the digits 0-9 (e.g. 127.0.0.1:8443). Nothing was started; give the port again.")
    return Listen(webhook, host, int(port))


def build_application(
    settings: BotSettings, handlers: Sequence[BaseHandler[Any, Any, Any]], limiter: RateLimiter, *, webhook: bool,
) -> AnyApplication:
    """The Application with our handlers; ``webhook`` leaves out PTB's Updater (our aiohttp route feeds it)."""
    from telegram.ext import ApplicationBuilder

    api = settings.api_url.rstrip("/")
    send = token_hidden_request(settings.token, REQUEST_TIMEOUT, pool_size=SEND_CONNECTIONS, admitted=limiter.admitted)
    # Two connections: the parting getUpdates that confirms what was fetched must not wait for the one
    # the cancelled long poll may still hold, or it fails and a restart answers those updates again.
    poll = token_hidden_request(settings.token, REQUEST_TIMEOUT, pool_size=2)
    builder = (
        ApplicationBuilder()
        .token(TOKEN_SLOT)
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .request(send)
        .get_updates_request(poll)
        .job_queue(None)  # APScheduler is not installed; PTB warns if it has to find out itself
        .concurrent_updates(CONCURRENT_UPDATES)
    )
    if webhook:
        builder = builder.updater(None)
    app: AnyApplication = builder.build()
    for handler in handlers:
        app.add_handler(handler)
    app.add_error_handler(_log_error)
    return app


async def run(
    settings: BotSettings,
    handlers: Sequence[BaseHandler[Any, Any, Any]],
    limiter: RateLimiter,
    *,
    listen: Listen | None = None,
    stop: asyncio.Event | None = None,
    ready: Callable[[str], None] = lambda _: None,
) -> None:
    """Answer chats until ``stop`` is set (SIGTERM or SIGINT set it in the main thread).

    ``ready`` is told, once listening, what the bot is and how it listens.
    Raises ConfigError for a token Telegram refuses or a port that cannot be
    listened on, BroadcasterError when another process polls with the same token.
    """
    from telegram.error import InvalidToken, TelegramError

    stop = stop or asyncio.Event()
    _stop_on_signals(stop)
    app = build_application(settings, handlers, limiter, webhook=listen is not None)
    failures: list[BroadcasterError] = []
    try:
        with invite_codes_out_of_logs():
            async with app:  # initialize(): getMe, which tells the bot its @name
                _check_username(app.bot.username or "")
                if listen is None:
                    await _poll(app, stop, failures, ready)
                else:
                    await _serve_webhook(app, listen, stop, ready)
    except InvalidToken as exc:
        raise ConfigError("Telegram rejected the bot token ([bot] token). Check that it holds the current token "
                          "from @BotFather (it changes when revoked).") from exc
    except TelegramError as exc:
        raise BroadcasterError(f"The bot could not start: Telegram answered {exc.message!r}. Check [bot] api_url "
                               "and the network, then start it again.") from exc
    if failures:
        raise failures[0]


def _check_username(name: str) -> None:
    """Refuse to start under a name that is no Telegram username: getMe's answer, a server's text, goes
    onto standard error (the systemd journal) in the "is answering chats" line."""
    problem = username_problem(name) if name else "Telegram's getMe gave no username for the bot"
    if problem:
        raise BroadcasterError(f"The bot could not start: {problem}. Check [bot] api_url: it must lead to the "
                               "Bot API. Then start it again.")


@contextmanager
def invite_codes_out_of_logs() -> Iterator[None]:
    """While the bot runs, every log record made has invite codes masked: python-telegram-bot's debug
    logs print whole updates (getUpdates' answer, "Processing update"), and "/start CODE" is one."""
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # arguments that do not fit: the redaction filter shows the template
            return record
        masked = _CODE_SHAPED.sub("***", message)
        if masked != message:
            record.msg, record.args = masked, None
        return record

    logging.setLogRecordFactory(factory)
    try:
        yield
    finally:
        logging.setLogRecordFactory(previous)


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread (in-process tests)
            return


async def _poll(
    app: AnyApplication, stop: asyncio.Event, failures: list[BroadcasterError], ready: Callable[[str], None],
) -> None:
    updater = app.updater
    assert updater is not None  # built with one for polling
    try:
        await updater.start_polling(
            timeout=POLL_SECONDS,
            allowed_updates=list(ALLOWED_UPDATES),
            drop_pending_updates=False,  # a /start sent while the bot was down is answered now
            error_callback=lambda exc: _poll_failed(exc, stop, failures),
        )
        await app.start()
        ready(f"@{app.bot.username} is answering chats (long polling). Stop it with SIGTERM or Ctrl-C.")
        await _until_stopped(stop)
    finally:
        try:
            if updater.running:
                await updater.stop()  # confirms what was fetched: getUpdates(offset, timeout=0)
        finally:
            if app.running:
                await app.stop()  # handles what is still queued


async def _until_stopped(stop: asyncio.Event) -> None:
    """Wait for ``stop``, or for PTB's polling to end by itself: on a token Telegram stops accepting it
    ends without a word while the process would go on answering nothing (``updater.stop()`` then raises
    its InvalidToken). Found by the name PTB gives the task; without it, waiting for ``stop`` alone."""
    polling = next((t for t in asyncio.all_tasks() if t.get_name() == _POLLING_TASK), None)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({stopped, *([polling] if polling else [])}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()


def _poll_failed(exc: TelegramError, stop: asyncio.Event, failures: list[BroadcasterError]) -> None:
    """PTB's error callback while polling: a conflict ends the process, anything else is retried."""
    from telegram.error import Conflict

    if isinstance(exc, Conflict):
        failures.append(BroadcasterError(
            f"Telegram gives this bot's updates to someone else ({exc.message}). Only one `broadcaster bot run` "
            "may run per bot token, by polling or by webhook: stop the other one, then start this one again."))
        stop.set()
        return
    LOG.warning("Telegram could not be polled (%s); trying again.", exc.message)


async def _serve_webhook(
    app: AnyApplication, listen: Listen, stop: asyncio.Event, ready: Callable[[str], None],
) -> None:
    from broadcaster.bot.webhook import serve

    # A fresh secret each start, which setWebhook hands Telegram: only it can post updates here.
    secret = secrets.token_urlsafe(32)
    # Kept out of every log like the token: PTB's debug log prints setWebhook's parameters, and whoever
    # holds the secret can post this process forged updates.
    redaction.remember([secret])
    server = await serve(app, listen, secret, stop)
    try:
        # Started first: Telegram posts what it kept as soon as setWebhook is answered, and an update
        # refused then (503: not running yet) would wait for Telegram's backoff.
        await app.start()
        await _set_webhook(app, listen.url, secret)
        ready(f"@{app.bot.username} is answering chats (webhook {listen.url}, listening on "
              f"{listen.host}:{listen.port}). Stop it with SIGTERM or Ctrl-C.")
        await stop.wait()
    finally:
        stop.set()  # from here every update is refused (503), and Telegram keeps it for the next run
        try:
            if app.running:
                await _drained(app.update_queue)
                await app.stop()
        finally:
            await server.cleanup()


async def _drained(queue: asyncio.Queue[Any], within: float = 10.0) -> None:
    """Until the updates already taken (answered 200) have left the queue: ``Application.stop``
    drops whatever is still in it, and Telegram would not send those again."""
    deadline = asyncio.get_running_loop().time() + within
    while not queue.empty() and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)


async def _set_webhook(app: AnyApplication, url: str, secret: str) -> None:
    from telegram.error import BadRequest

    try:
        await app.bot.set_webhook(url=url, allowed_updates=list(ALLOWED_UPDATES), secret_token=secret,
                                  drop_pending_updates=False)
    except BadRequest as exc:
        raise InputError(f"Telegram refused the webhook URL {url} ({exc.message}). It posts only to https URLs on "
                         "port 443, 80, 88 or 8443: fix --webhook (the proxy in front forwards to --listen).") from exc


async def _log_error(update: object, context: Any) -> None:
    """A command that failed is logged (type and message, no update: it holds what users typed)."""
    error = context.error
    LOG.warning("A chat command failed: %s: %s", type(error).__name__, error)
    LOG.debug("Traceback of the failed command", exc_info=error)


def settings_of(config: Config) -> BotSettings:
    """The ``[bot]`` table as what the process needs; ConfigError when it is missing or its token is wrong."""
    from broadcaster.channels.telegram import TelegramChannel, looks_like_token
    from broadcaster.config import Secret

    if config.bot is None:
        raise ConfigError('There is no [bot] table in the config. Add one (type = "telegram", token = '
                          '"${TELEGRAM_BOT_TOKEN}" with the token from @BotFather), then run `broadcaster bot run` again.')
    table = config.bot.table
    raw: Any = table.options.get("token")  # a Secret: the loader refuses a token written in the file
    token = (raw.reveal() if isinstance(raw, Secret) else str(raw or "")).strip()
    if not looks_like_token(token):
        source = f"${{{raw.env_var}}}" if isinstance(raw, Secret) else "[bot] token"
        raise ConfigError(f"{source} does not look like a Telegram bot token (digits, a colon, then letters and "
                          "digits). Copy the token again from @BotFather.")
    return BotSettings(token, table.api_url or TelegramChannel.default_api_url)


def run_bot(config: Config, store: Store, listen: Listen | None, ready: Callable[[str], None]) -> None:
    """``broadcaster bot run``: answer chats with ``store``'s subscriptions until SIGTERM or SIGINT, the only bot
    of the store while it runs (``Store.claim_bot``)."""
    from broadcaster.bot.chat import ChatBot
    from broadcaster.bot.pacing import Pacer

    settings = settings_of(config)
    # A chat of an id reused for another customer would be welcomed as the new one and told the old one's detail
    # (/status), and a departed customer's chat the new one's name: the bot answers with the config it starts with.
    claim_audience_ids(config, store, "The bot did not start.")
    pacer = Pacer()
    chat = ChatBot(config, store, pacer)
    with _the_only_bot(store):
        asyncio.run(_leased(store, run(settings, chat.handlers(), pacer.limiter, listen=listen, ready=ready)))


LEASE_BEAT = 20.0  # seconds between a running bot's heartbeats in the store
LEASE_STALE = timedelta(seconds=90)  # a bot on another machine silent this long has died: the next may start


@contextmanager
def _the_only_bot(store: Store) -> Iterator[None]:
    owner = process_owner()
    holder = store.claim_bot(owner, utcnow(), LEASE_STALE)
    if holder is not None:
        raise BroadcasterError(
            f"another `broadcaster bot run` answers this store's chats ({holder}). Only one may run per store and "
            "bot token: two end each other's polls, and a polling one takes a webhook bot's webhook away. Stop the "
            f"other one first; one on another machine that died is taken over {LEASE_STALE.seconds} seconds after "
            "its last heartbeat.")
    try:
        yield
    finally:
        store.release_bot(owner)


def _beat(store: Store, owner: str) -> bool | None:
    """Renew the lease (the store's own thread: one small write): False when another bot holds it now, None when
    the store cannot be written for now (locked, the database restarting), which costs a heartbeat, not the bot."""
    try:
        return store.beat_bot(owner, utcnow())
    except StoreError as exc:
        LOG.warning("The bot's heartbeat could not be written to the store (%s); trying again in %.0f s.",
                    type(exc).__name__, LEASE_BEAT)
        return None


async def _leased(store: Store, bot: Coroutine[Any, Any, None]) -> None:
    """Run ``bot``, renewing its lease every ``LEASE_BEAT`` seconds; a lease taken over (this machine's clock or
    network stalled past ``LEASE_STALE``) ends it, as a conflict with another bot would."""
    task = asyncio.ensure_future(bot)
    owner = process_owner()
    renewed = time.monotonic()
    try:
        while not task.done():
            await asyncio.wait({task}, timeout=LEASE_BEAT)
            if task.done():
                break
            beat = _beat(store, owner)
            if beat:
                renewed = time.monotonic()
            # Half the lease: a failing beat may itself take a lock's wait (30 s), and the next check comes a beat
            # after it; another machine's bot may start once the heartbeat is LEASE_STALE old.
            elif beat is False or time.monotonic() - renewed > LEASE_STALE.total_seconds() / 2:
                # Taken over, or about to be: past the lease, another machine's bot may start, and two end each other.
                task.cancel()
                raise BroadcasterError("this store's chats may be another `broadcaster bot run`'s now (its lease was "
                                       "taken, or the store could not be written long enough for another to take "
                                       "it): this one stops. Only one may run per store and bot token; start it "
                                       "again once the store answers.")
    finally:
        if not task.done():
            task.cancel()
    await task
