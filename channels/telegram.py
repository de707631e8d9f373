"""Telegram: one bot posting each update into every chat in ``chat_ids``.

Config (``[channels.NAME]``)::

    type = "telegram"
    token = "${TELEGRAM_TOKEN}"          # from @BotFather; secret
    chat_ids = ["@acmestatus", -1001234567890]   # or chat_id = ... for one chat
    disable_notification = false         # optional: deliver silently
    # api_url = "http://127.0.0.1:8081"  # replaces https://api.telegram.org

Every chat is its own target, so one blocked chat fails alone. Follow-ups
reply to the incident's first message in the chat, so an incident reads as a
thread. A remote id is ``"<chat>:<message_id>"``: it names the chat the
message is in, because a migrated group keeps its old target in the store but
its messages live in the new supergroup.

python-telegram-bot and httpx are imported when the first Bot is built (about
350 ms together), not with this module: validating the config, previewing and
posting elsewhere do not pay for them. Our subclasses of their classes are
defined then too (``_sdk_classes``).

Three details of python-telegram-bot shape this module:

* It puts the token in every URL, and httpx logs each URL at INFO. The token
  lives only in ``_TokenTransport``, which writes it into the path as the
  request leaves; the bot, its logs and its errors only ever see ``bot***``.
* Reading ``RetryAfter.retry_after`` (which PTB does itself when building the
  exception) warns about a deprecation. ``_Request`` answers a 429 with our own
  ``_FloodWait`` before PTB builds one.
* ``Bot.initialize()`` calls getMe, which sending does not need; nothing here
  calls it. ``check()`` calls getMe on purpose.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from broadcaster.channels import _proxy, _wait
from broadcaster.channels._http import shared_tls_context
from broadcaster.channels._ratelimit import RateLimiter
from broadcaster.channels.base import Channel
from broadcaster.messages import telegram as formatter
from broadcaster.messages.egress import TELEGRAM_HTML
from broadcaster.messages.visibility import UpdateView

from broadcaster import lazy_re
from broadcaster.delivery import CheckResult, PostedAnew, Receipt, Rendered, SendLog, ThreadRef
from broadcaster.errors import ConfigError, DeliveryError, printable

if TYPE_CHECKING:
    import httpx
    from telegram import Bot, Message
    from telegram.error import TelegramError
    from telegram.request import HTTPXRequest

    from broadcaster.config import ChannelConfig

TOKEN_SLOT = "***"  # what PTB and httpx see in place of the token
# The send log of the message this task is sending, for the client to mark it on the wire as its request leaves.
_LEAVING: ContextVar[SendLog | None] = ContextVar("telegram_leaving", default=None)
_TOKEN_FORMAT = lazy_re.compile(r"^\d+:[A-Za-z0-9_-]+$")
_USERNAME = lazy_re.compile(r"^@[A-Za-z][A-Za-z0-9_]{3,31}$")
# A bot's own username as getMe gives it (no "@"): Telegram's rule, as config_loader checks [bot] username.
_BOT_USERNAME = lazy_re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")
_NUMERIC = lazy_re.compile(r"^-?\d+$")
# A message's link; its scheme and host in any case (a phone's autocorrect writes T.me), and telegram.me's too.
_MESSAGE_LINK = lazy_re.compile(r"^(?i:https?://(?:t|telegram)\.me)/(?P<private>c/)?(?P<chat>[A-Za-z0-9_]+)/(?P<number>\d+)/?(?:\?.*)?$")
# A correction's original left as it was when the correction goes as a new message (``PostedAnew.then``).
_STILL_UP = "is still up, uncorrected: correct or delete it by hand in Telegram"
_GONE = ("chat not found", "group is deactivated", "user is deactivated")  # the chat will not come back
_CONTENT_ERRORS = ("can't parse entities", "message is too long", "message text is empty")


class TelegramChannel(Channel):
    """Posts to every chat in ``chat_ids`` through the Bot API."""

    type_name = "telegram"
    required_options = ("token",)
    optional_options = ("chat_ids", "chat_id", "disable_notification")
    secret_options = ("token",)
    default_api_url = "https://api.telegram.org"
    media_type = TELEGRAM_HTML  # every message goes with parse_mode=HTML
    max_chars = formatter.MAX_CHARS  # Telegram's limit per message: UTF-16 units of parsed text
    messages_per_second = 30  # Bot API: about 30 messages a second across all chats
    seconds_per_chat_message = 1.0  # Bot API: about one message a second into one chat
    # Paced sending needs about rate x latency requests on the wire (27/s x 0.3 s = 8). More than
    # that makes httpcore's pool re-scan its queue per request (quadratic) and throughput collapses.
    pool_size = 8
    in_flight = 8
    # The connections are split into pools of this many: httpcore checks every connection of a pool
    # on each request (a select each), so one pool of 8 costs each message more than four of 2.
    connections_per_pool = 2
    reports_requests = True

    def __init__(self, config: ChannelConfig) -> None:
        super().__init__(config)
        self._bot: Bot | None = None
        self._request: HTTPXRequest | None = None
        self._shared_limiter: RateLimiter | None = None

    # -- config -----------------------------------------------------------------

    @classmethod
    def validate_options(cls, options: Mapping[str, Any], where: str) -> None:
        configured_chats(options, where)
        flag = options.get("disable_notification", False)
        if not isinstance(flag, bool):
            raise ConfigError(f"{where}disable_notification: must be true or false")

    @classmethod
    def target_keys(cls, options: Mapping[str, Any]) -> list[tuple[tuple[str, ...], str]]:
        # A chat is the same whichever bot or Bot API server posts to it.
        return [(("telegram", _chat_key(chat)), chat) for chat in configured_chats(options)]

    @classmethod
    def target_key(cls, target: str) -> str:
        return _chat_key(target)

    @classmethod
    def post_chat_key(cls, remote_id: str) -> tuple[str, ...] | None:
        chat, _, number = remote_id.rpartition(":")
        if not chat or not (number.isascii() and number.isdigit()):
            return None
        return ("telegram", _chat_key(chat))

    def pacing_seconds(self, deliveries: int) -> float:
        return deliveries / self.messages_per_second

    # -- rooms ------------------------------------------------------------------

    def room_names(self) -> tuple[str, ...]:
        return self.targets()

    def room(self, written: str) -> str | None:
        return f"telegram:{int(written)}" if _NUMERIC.match(written) else None

    def room_cache_key(self, written: str) -> str:
        # An @name is one chat on the whole of Telegram, but a local Bot API server is another world.
        server = hashlib.sha256(self.api_url.encode()).hexdigest()[:16]
        return f"telegram:{server}:{written.lower()}"

    async def lookup_room(self, written: str) -> str:
        """getChat on the @name: the numeric id Telegram posts to."""
        from telegram.error import BadRequest, TelegramError

        try:
            chat = await self._client().get_chat(written)
        except BadRequest as exc:
            if "not found" in str(exc).lower():
                return ""
            raise self._lookup_error(exc) from exc
        except TelegramError as exc:
            raise self._lookup_error(exc) from exc
        return f"telegram:{chat.id}"

    def _lookup_error(self, exc: TelegramError) -> DeliveryError:
        """Why getChat failed, in its own words. It posts nothing: a send's "the message may or may not have been
        posted" would send the operator looking for a post that cannot exist, or fearing a retry posts twice."""
        from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, TimedOut

        sdk = _sdk_classes()
        if isinstance(exc, (InvalidToken, sdk.flood_wait)):
            return self._error(exc, "")  # the token's fix and the wait are the same for every request
        detail = exc.message.rstrip(".")
        if isinstance(exc, TimedOut):
            what = f"Telegram did not answer getChat within {self.request_timeout:g}s"
        elif isinstance(exc, sdk.server_error):
            what = f"Telegram answered getChat with a server error ({detail})"
        elif isinstance(exc, sdk.not_bot_api):
            what = f"the answer to getChat was not the Bot API's ({detail}): check api_url ({self.api_url}) and any proxy"
        elif isinstance(exc, NetworkError):
            what = f"getChat got no answer from Telegram at {self.api_url} ({detail})"
        else:
            what = f"Telegram refused getChat ({detail})"
        return self.fail(what, retryable=not isinstance(exc, (BadRequest, Forbidden)))

    @property
    def _limiter(self) -> RateLimiter:
        """One limiter per bot: Telegram counts a bot's messages, whichever channel table sends them."""
        if self._shared_limiter is None:
            digest = hashlib.sha256(f"{self.api_url}\0{self.secret('token')}".encode()).hexdigest()
            if digest not in _LIMITERS:
                _LIMITERS[digest] = RateLimiter(self.messages_per_second, self.seconds_per_chat_message)
            self._shared_limiter = _LIMITERS[digest]
        return self._shared_limiter

    def targets(self) -> tuple[str, ...]:
        return self._configured_chats

    @cached_property
    def _configured_chats(self) -> tuple[str, ...]:
        # Read once: every delivery asks (``_own_chats``), and a table's list can run to thousands of chats.
        return configured_chats(self.config.options, f"channels.{self.name}.")

    def _own_chats(self) -> tuple[str, ...]:
        """This table's configured chats, where a stored post may also be (``_own_chat``); none for a destination
        whose chats are not configured (the bot's subscribers, each delivery to its own chat)."""
        try:
            return self.targets()
        except ConfigError:
            return ()

    # -- rendering --------------------------------------------------------------

    def render(self, view: UpdateView) -> Rendered:
        parts = formatter.messages(view, self.max_chars)
        return Rendered(
            text=formatter.full_text(view),
            visibility=view.visibility,
            parts=parts if len(parts) > 1 else (),
            payload={"parse_mode": "HTML"},
        )

    # -- sending ----------------------------------------------------------------

    async def send(
        self, rendered: Rendered, *, target: str, thread: ThreadRef | None, log: SendLog | None = None
    ) -> Receipt:
        """Post every part in order; later parts reply to the first.

        A retry of the same update resumes after the parts ``log`` holds (this
        run's earlier attempts, or a run before that stored them) instead of
        repeating them: Telegram has no idempotency key to make a repeat harmless.
        """
        import asyncio

        from telegram.error import TelegramError

        # Let the command's other deliveries take their first step before this one is
        # paced: that step is where other channels import their SDK, which blocks the
        # event loop for a few hundred ms. A block between a message's admission and
        # its write sends paced messages out bunched up, and Telegram answers 429.
        await asyncio.sleep(0)
        log = log if log is not None else SendLog()
        bot = self._client()
        progress = _Progress.resumed(target, log.parts, self._own_chats())
        try:
            for part in rendered.messages[len(progress.message_ids) :]:
                message = await self._post(bot, progress, part, thread, log)
                if not progress.message_ids and message.reply_to_message is None:
                    # Sent with allow_sending_without_reply: the message it replies to is gone from the chat.
                    progress.thread_gone = _reply_id(thread, progress.chat)
                    if progress.thread_gone is not None:  # kept with the delivery: a resume records it so too
                        log.starting_thread()
                progress.message_ids.append(message.message_id)
                log.confirmed(_remote_id(progress.chat, message.message_id))
        except TelegramError as exc:
            raise self._error(exc, progress.chat) from exc
        return progress.receipt(target)

    async def _post(
        self, bot: Bot, progress: _Progress, text: str, thread: ThreadRef | None, log: SendLog
    ) -> Message:
        """Send one message, following the chat once if Telegram says it migrated."""
        from telegram.error import ChatMigrated

        from broadcaster.errors import MovedElsewhere

        try:
            return await self._send_message(bot, progress, text, thread, log)
        except ChatMigrated as exc:
            log.on_wire = False  # refused: nothing of it was posted, and no request of the send is out (review 30b)
            if progress.migrated_from is not None:
                raise
            if not self.may_follow_to(str(exc.new_chat_id)):  # mid-post too: its later parts would go there
                raise MovedElsewhere(str(exc.new_chat_id), len(progress.message_ids)) from exc
            progress.migrated_from, progress.chat = progress.chat, exc.new_chat_id
            return await self._post(bot, progress, text, thread, log)  # a second move is refused there

    async def _send_message(
        self, bot: Bot, progress: _Progress, text: str, thread: ThreadRef | None, log: SendLog
    ) -> Message:
        reply_to = progress.message_ids[0] if progress.message_ids else _reply_id(thread, progress.chat)
        await self._limiter.wait(str(progress.chat))
        try:
            # Admitted before python-telegram-bot builds the request: counted from a little
            # earlier than it leaves, and a thousand chats do not all pass through the SDK
            # before the first request can go.
            async with self._limiter.admitted():
                log.check_still_wanted()
                # On the wire once the client lets the request out (``_TokenTransport``): up to a second's worth
                # of sends are admitted at once, and only ``in_flight`` are out; a stop leaves the rest unsent.
                leaving = _LEAVING.set(log)
                try:
                    return await self._post_message(bot, progress, text, reply_to)
                finally:
                    _LEAVING.reset(leaving)
        finally:
            self._limiter.answered(str(progress.chat))

    async def _post_message(self, bot: Bot, progress: _Progress, text: str, reply_to: int | None) -> Message:
        from telegram import LinkPreviewOptions, ReplyParameters
        from telegram.constants import ParseMode

        return await bot.send_message(
            chat_id=progress.chat,
            text=text,
            parse_mode=ParseMode.HTML,
            disable_notification=bool(self.config.options.get("disable_notification", False)),
            # A preview card of the status page under every update is noise.
            link_preview_options=LinkPreviewOptions(is_disabled=True),
            reply_parameters=(
                ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
                if reply_to is not None
                else None
            ),
        )

    async def edit(
        self, rendered: Rendered, *, target: str, remote_id: str, log: SendLog | None = None
    ) -> Receipt:
        """Replace the text of an earlier message (editMessageText).

        When that cannot work (the correction needs several messages, or the
        original was deleted) the correction is posted as a reply to the
        original instead, and the receipt notes why: a correction that arrives
        beats one that fails. An edit repeated is harmless (Telegram answers
        "not modified"), so an edit whose answer was lost is simply retried.
        """
        from telegram import LinkPreviewOptions
        from telegram.constants import ParseMode
        from telegram.error import BadRequest, TelegramError

        log = log if log is not None else SendLog()
        chat, message_id = _own_chat(remote_id, target, self._own_chats())
        if message_id is None:
            return await self._reply_instead(rendered, target, remote_id, "no message id was recorded", log,
                                             then=f"the original, if it is there, {_STILL_UP}")
        if len(rendered.messages) > 1:
            reason = f"the correction needs {len(rendered.messages)} messages; one can be edited"
            return await self._reply_instead(rendered, target, remote_id, reason, log, then=f"the original {_STILL_UP}")
        bot = self._client()
        # An edit counts against the chat's one-a-second like a message, and a
        # reply may follow it at once when the original is gone.
        await self._limiter.wait(str(chat))
        # No log.sending(): an edit cut short by the deadline is safe to repeat, so it is
        # recorded failed (retried), not unknown.
        try:
            async with self._limiter.admitted():
                log.check_still_wanted()  # a correction carries text too: not into a chat whose readers changed
                await bot.edit_message_text(
                    rendered.messages[0],
                    chat_id=chat,
                    message_id=message_id,
                    parse_mode=ParseMode.HTML,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                )
        except BadRequest as exc:
            lowered = exc.message.lower()
            if "to edit not found" in lowered or "can't be edited" in lowered:
                still = "" if "to edit not found" in lowered else f"the original {_STILL_UP}"
                return await self._reply_instead(rendered, target, remote_id, exc.message, log, then=still)
            if "not modified" not in lowered:  # "not modified": the text is already as wanted
                raise self._error(exc, chat) from exc
        except TelegramError as exc:
            error = self._error(exc, chat)
            error.outcome_unknown = False  # repeating an edit cannot show anything twice
            raise error from exc
        return Receipt(remote_id=_remote_id(chat, message_id))

    async def delete(self, remote_ids: Sequence[str], *, target: str) -> Receipt:
        """deleteMessage for each message. Telegram lets a bot delete its own messages in
        groups and supergroups, and in channels where it may post, within 48 hours; older
        ones only where it is an admin with "Delete messages". A message already gone counts
        as deleted."""
        from telegram.error import BadRequest, TelegramError

        bot = self._client()

        async def delete_one(remote_id: str) -> None:
            why = self.not_deletable_here(remote_id, target)
            if why:
                raise self.fail(why, retryable=False)
            chat, message_id = _own_chat(remote_id, target, self._own_chats())
            if message_id is None:
                return  # no message was recorded there: nothing to delete
            try:
                await bot.delete_message(chat_id=chat, message_id=message_id)
            except BadRequest as exc:
                lowered = exc.message.lower()
                if "not found" in lowered:
                    return
                if "can't be deleted" in lowered:
                    raise self.fail(
                        f"Telegram chat {chat} refused to delete message {message_id} ({exc.message.rstrip('.')}): "
                        "a bot may delete its own messages for 48 hours, older ones only as an admin with "
                        "'Delete messages'. Give the bot that right and run `broadcaster retry`, or delete it by hand.",
                        retryable=False,
                    ) from exc
                raise self._error(exc, chat) from exc
            except TelegramError as exc:
                raise self._error(exc, chat) from exc

        return await self.delete_each(remote_ids, delete_one)

    def not_deletable_here(self, remote_id: str, target: str) -> str:
        """A stored post in a chat that is neither this delivery's nor another of this table's (``_own_chat``)."""
        try:
            _own_chat(remote_id, target, self._own_chats())
        except DeliveryError as exc:
            return str(exc)
        return ""

    async def _reply_instead(
        self, rendered: Rendered, target: str, remote_id: str, reason: str, log: SendLog, *, then: str = ""
    ) -> Receipt:
        """Nothing is posted here: the engine sends the correction as a new post, rendered as one (the incident as
        it stands), where this edit's rendering would repeat the original's old status and promises as if new.
        ``then``: whether the original is still up, uncorrected, as Slack's, Discord's and Mastodon's notes say (a
        message deleted is not)."""
        from broadcaster.errors import NotEditable

        raise NotEditable(PostedAnew(f"could not edit Telegram message {remote_id or '(none recorded)'} ({reason})",
                                     then=then))

    def same_post(self, stored: str, given: str) -> bool:
        """One message: its number in one chat, an @name in any letter case (``@AcmeStatus:1`` is ``@acmestatus:1``).
        Compared as written, another incident's message given by the other spelling was taken for this update's."""
        (kept_chat, kept), (named_chat, named) = _parse_remote_id(stored, ""), _parse_remote_id(given, "")
        if kept is None or named is None or not str(kept_chat) or not str(named_chat):
            return stored == given  # a bare number (the chat is the delivery's) or no message id: as written
        return kept == named and _same_chat(kept_chat, str(named_chat))

    def remote_id_from(self, reference: str, target: str) -> str:
        """``-100123:45``, a message number in ``target`` (``45``), or a link ``https://t.me/<chat>/45``."""
        from broadcaster.errors import InputError

        text = reference.strip()
        link = _MESSAGE_LINK.match(text)
        if link:
            # t.me/c/<id>/<n>: a private chat's link carries its id without the -100 of the Bot API's.
            named = f"-100{link.group('chat')}" if link.group("private") else f"@{link.group('chat')}"
            text = f"{named}:{link.group('number')}"
        if text.isdecimal():  # not isdigit: "4²" is digits to it, and int() refused it ("unexpected error", exit 1)
            text = f"{target}:{text}"
        chat, number = _parse_remote_id(text, target)
        if number is None or number == 0:  # Telegram numbers a chat's messages from 1: 0 names none
            raise InputError(
                f"{reference!r} is not a Telegram message: give its number, chat:number, or its link "
                "(https://t.me/<channel>/<number>, from the message's Copy Link)."
            )
        if not _same_chat(chat, target):
            # Later corrections edit the message an id names, in the chat it names: another chat's
            # message (a public channel's, copied from the wrong line of `show`) would get this one's text.
            raise InputError(
                f"{reference!r} is a message in {chat}, not in {target}, the chat this delivery went to. "
                f"Give the message's number alone, or {target}:<number>."
            )
        # Spelled as the delivery's chat is (a link's username in the channel's own case, @AcmeStatus for @acmestatus):
        # follow-ups reply to the incident's first message only in a chat so spelled, and went out replying to nothing.
        return _remote_id(_chat_ref(target), number)

    # -- checking ---------------------------------------------------------------

    async def check(self) -> list[CheckResult]:
        """getMe once, then getChat for every chat. Posts nothing."""
        from telegram.error import TelegramError

        try:
            bot = self._client()
            me = await bot.get_me()
        except DeliveryError as exc:
            return [CheckResult(self.name, "", False, str(exc))]
        except TelegramError as exc:
            return [CheckResult(self.name, "", False, str(self._error(exc, "")))]
        return [await self._check_chat(bot, target, me.username or "") for target in self.targets()]

    def target_gone(self, error: DeliveryError) -> bool:
        """403 (blocked, kicked, deactivated user) or a chat Telegram no longer knows."""
        from telegram.error import BadRequest, Forbidden

        cause = error.__cause__
        if isinstance(cause, Forbidden):
            return True
        return isinstance(cause, BadRequest) and any(gone in cause.message.lower() for gone in _GONE)

    def moved_target(self, receipt: Receipt, target: str) -> str | None:
        chat, _ = _parse_remote_id(receipt.remote_id, target)
        return str(chat) if str(chat) != target else None

    async def username(self) -> str:
        """The bot's username (getMe), for links that open a chat with it, or "" if Telegram gave none;
        DeliveryError if Telegram refuses or gives one that is no Telegram username."""
        from telegram.error import TelegramError

        try:
            me = await self._client().get_me()
        except TelegramError as exc:
            raise self._error(exc, "") from exc
        name = me.username or ""
        problem = username_problem(name) if name else None
        if problem:
            raise self.fail(f"{problem}. Check api_url: it must lead to the Bot API.", retryable=False)
        return name

    async def _check_chat(self, bot: Bot, target: str, bot_name: str) -> CheckResult:
        from telegram.error import ChatMigrated, TelegramError

        try:
            chat = await bot.get_chat(_chat_ref(target))
        except ChatMigrated as exc:
            detail = (
                f"this group became a supergroup with id {exc.new_chat_id}: replace {target} "
                f"with {exc.new_chat_id} in chat_ids"
            )
            return CheckResult(self.name, target, False, detail)
        except TelegramError as exc:
            return CheckResult(self.name, target, False, str(self._error(exc, target)))
        name = chat.title or chat.full_name or chat.username or str(chat.id)
        handle = f" (@{chat.username})" if chat.username else ""
        detail = f"{chat.type} {name!r}{handle} id {chat.id} is reachable by @{bot_name}"
        if chat.type == "channel":
            detail += "; the bot must be an admin allowed to post messages"
        return CheckResult(self.name, target, True, detail, resolved=f"telegram:{chat.id}")

    async def aclose(self) -> None:
        if self._request is not None:
            await self._request.shutdown()
        self._bot = self._request = None

    # -- the client ---------------------------------------------------------------

    def _client(self) -> Bot:
        """The Bot, built on first use with the current ``request_timeout``."""
        if self._bot is None:
            from telegram import Bot

            try:
                self._request = token_hidden_request(
                    self._token(), self.request_timeout, pool_size=self.pool_size,
                    in_flight=self.in_flight, connections_per_pool=self.connections_per_pool,
                )
            except ConfigError as exc:  # the environment's NO_PROXY, unreadable: nothing sent
                raise self.fail(f"Telegram: {exc}.", retryable=False) from None
            self._bot = Bot(
                TOKEN_SLOT,
                base_url=f"{self.api_url.rstrip('/')}/bot",
                request=self._request,
                get_updates_request=self._request,  # one client; this channel never polls
            )
        return self._bot

    def _token(self) -> str:
        try:
            token = self.secret("token").strip()
        except ConfigError as exc:
            raise self.fail(str(exc), retryable=False) from exc
        if not _TOKEN_FORMAT.match(token):
            raise self.fail(
                f"{self._token_source()} does not look like a Telegram bot token (digits, a colon, "
                "then letters and digits). Copy the token again from @BotFather.",
                retryable=False,
            )
        return token

    def _token_source(self) -> str:
        env_var = getattr(self.config.options.get("token"), "env_var", "")
        return f"${{{env_var}}}" if env_var else f"channels.{self.name}.token"

    # -- errors -----------------------------------------------------------------

    def _error(self, exc: TelegramError, chat: int | str) -> DeliveryError:
        """The operator-facing error for a Bot API failure at one chat.

        Telegram's Bot API has no idempotency key, so a message whose request may
        have arrived is ``outcome_unknown``: resending it could post it twice.
        """
        from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, NetworkError, TimedOut

        where = f"Telegram chat {chat}" if chat != "" else "Telegram"
        detail = exc.message.rstrip(".")
        sdk = _sdk_classes()
        if isinstance(exc, sdk.flood_wait):
            wait = getattr(exc, "retry_after", None)  # set by _FloodWait, defined with the SDK
            return self.fail(
                f"{where} is rate limited (HTTP 429, {_wait.said(wait)}).",
                retryable=True,
                retry_after=wait,
            )
        if isinstance(exc, InvalidToken):
            return self.fail(
                f"Telegram rejected the bot token ({detail}). Check that {self._token_source()} "
                "holds the current token from @BotFather (it changes when revoked).",
                retryable=False,
            )
        if isinstance(exc, ChatMigrated):
            return self.fail(
                f"{where} moved to {exc.new_chat_id} more than once in one send. "
                f"Run `broadcaster channels check` and update chat_ids.",
                retryable=False,
            )
        if isinstance(exc, Forbidden):
            return self.fail(
                f"{where} refused the bot ({detail}). Unblock the bot or add it back to the chat "
                f"with permission to post, or remove {chat} from chat_ids.",
                retryable=False,
            )
        if isinstance(exc, BadRequest):
            return self.fail(self._bad_request(where, chat, detail), retryable=False)
        if isinstance(exc, sdk.server_error):
            return self._server_error(where, exc.status, detail)  # type: ignore[attr-defined]
        if isinstance(exc, sdk.not_bot_api):
            return self._not_bot_api(where, exc.status, bool(exc.done), detail)  # type: ignore[attr-defined]
        if isinstance(exc, NetworkError) and isinstance(exc.__cause__, sdk.stopped_before_leaving):
            # Stopped as it waited for a connection: what ``SendLog.sending`` says, never "could not connect".
            return DeliveryError(str(exc.__cause__), retryable=False)
        failure = _proxy.proxy_failure(exc)
        if failure is not None:  # it names the proxy and what to check
            return self.fail(f"{where}: {failure}.", retryable=True)
        if isinstance(exc, TimedOut | NetworkError) and _never_left(exc):
            return self.fail(f"{where}: could not connect to Telegram at {self.api_url} ({detail}).", retryable=True)
        if isinstance(exc, TimedOut):
            return self.fail(
                f"{where}: Telegram did not answer within {self.request_timeout:g}s, so the message "
                "may or may not have been posted.",
                retryable=True,
                outcome_unknown=True,
            )
        if isinstance(exc, NetworkError):  # resets and protocol errors after the request left
            return self.fail(
                f"{where}: the connection to Telegram broke before it answered ({detail}), so the "
                "message may or may not have been posted.",
                retryable=True,
                outcome_unknown=True,
            )
        return self.fail(f"{where}: Telegram refused the request ({detail}).", retryable=False)

    def _server_error(self, where: str, status: int, detail: str) -> DeliveryError:
        # 503 is "cannot take requests now": nothing was done. Any other 5xx may come
        # after the message was stored (a proxy timing out waiting for the Bot API).
        if status == 503:
            return self.fail(f"{where}: Telegram is unavailable for now ({detail}).", retryable=True)
        return self.fail(
            f"{where}: Telegram answered with a server error ({detail}), so the message may or "
            "may not have been posted.",
            retryable=True,
            outcome_unknown=True,
        )

    def _not_bot_api(self, where: str, status: int, done: bool, detail: str) -> DeliveryError:
        """An answer from something in front of the Bot API (a proxy, a moved api_url), never from Telegram."""
        if done:  # the request got through to something that said yes: Telegram may have posted it
            return self.fail(
                f"{where}: {detail}, so the message may or may not have been posted. A proxy between broadcaster "
                f"and Telegram may have answered for it: check api_url ({self.api_url}) and any proxy.",
                retryable=True,
                outcome_unknown=True,
            )
        # Nothing was posted. Repeating is harmless and a proxy's answer may pass; the engine's advice says `retry`.
        if status == 407 and _proxy.proxy_for_quietly(self.api_url):  # the environment's proxy, named
            return self.fail(f"{where}: {_proxy.credentials_asked(self.api_url, '')}.", retryable=True)
        on_the_way = f"api_url ({self.api_url}) and any proxy between broadcaster and Telegram"
        fix = {
            407: f"a proxy on the way asks for credentials: have it let broadcaster through, or check {on_the_way}",
            413: f"something on the way refused the request's size: raise its body size limit, or check {on_the_way}",
        }.get(status, f"check {on_the_way}")
        if 300 <= status < 400:
            fix = f"broadcaster does not follow redirects: set api_url to the address that answers itself ({fix})"
        return self.fail(f"{where}: the answer was not the Bot API's ({detail}), so nothing was posted; {fix}.",
                         retryable=True)

    @staticmethod
    def _bad_request(where: str, chat: int | str, detail: str) -> str:
        lowered = detail.lower()
        if "chat not found" in lowered:
            return (
                f"{where} was not found. Check its id in chat_ids (a public channel is written "
                "@name, a group id is negative such as -1001234567890) and that the bot was "
                "added to the chat."
            )
        if any(kind in lowered for kind in _CONTENT_ERRORS):
            return (
                f"{where}: Telegram rejected the message text ({detail}). This is a bug in "
                "broadcaster's Telegram formatting: see the text with `broadcaster preview` "
                "and report it."
            )
        return f"{where}: Telegram refused the message ({detail}). Fix the cause and retry."


def username_problem(name: str) -> str | None:
    """What is wrong with ``name``, a bot's username as getMe gave it, or None when it is a Telegram username.

    It is a server's text (the Bot API at ``api_url``, or anything on the way) that goes onto the terminal and
    the systemd journal ("@name is answering chats") and into the invite links handed to customers: escape
    sequences there would drive the operator's terminal, and "/" or "?" would change where a link leads.
    """
    if _BOT_USERNAME.fullmatch(name):
        return None
    shown = printable(name[:64]) + ("…" if len(name) > 64 else "")
    return (f"Telegram's getMe gave the bot's username as '{shown}', which is not a Telegram username "
            "(4 to 32 letters, digits or underscores, starting with a letter)")


def looks_like_token(token: str) -> bool:
    """Whether ``token`` has the shape of a bot token from @BotFather (digits, a colon, letters and digits)."""
    return bool(_TOKEN_FORMAT.match(token))


def token_hidden_request(
    token: str, timeout: float, *, pool_size: int = 1,
    admitted: Callable[[], AbstractAsyncContextManager[None]] | None = None,
    in_flight: int = 8, connections_per_pool: int | None = None,
) -> HTTPXRequest:
    """PTB's request object for a Bot built with ``TOKEN_SLOT``: the token is written into the
    path only as each request leaves (``_TokenTransport``), 429 and 5xx come back as our own errors.

    ``admitted`` is entered around each message and its answer (the pacing window); ``timeout`` is every
    one of httpx's timeouts (PTB adds a long poll's own seconds to the read timeout). ``pool_size``
    connections in all, in pools of ``connections_per_pool`` (default: one pool).
    """
    import httpx

    sdk = _sdk_classes()
    per_pool = min(pool_size, connections_per_pool or pool_size)
    sizes = [per_pool] * (pool_size // per_pool) + ([pool_size % per_pool] if pool_size % per_pool else [])
    tls = shared_tls_context()  # one for all the pools and channels: making each takes about 20 ms

    def pools(proxy: httpx.Proxy | None = None) -> httpx.AsyncBaseTransport:
        made = [_proxy.transport(proxy, verify=tls, http2=False, limits=httpx.Limits(max_connections=size))
                for size in sizes]
        return made[0] if len(made) == 1 else sdk.pools(made)

    def hiding(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        return sdk.token_transport(token, inner, admitted=admitted, in_flight=in_flight)

    # The environment's proxy, as a plain client mounts it (httpx reads none once given our transport): each
    # proxy's pools behind a token transport of their own, so the token is still written in only as a request
    # leaves. A client sends to one api_url, so one of them is ever used: the pacing is not split.
    return sdk.request(
        connection_pool_size=pool_size,
        connect_timeout=timeout,
        read_timeout=timeout,
        write_timeout=timeout,
        pool_timeout=timeout,
        httpx_kwargs={"transport": hiding(pools()), "mounts": _proxy.mounts(pools, hiding)},
    )


# -- chats and ids -------------------------------------------------------------


def configured_chats(options: Mapping[str, Any], where: str = "") -> tuple[str, ...]:
    """The chats as target strings ("-100123", "@name"); ConfigError when missing or malformed."""
    if "chat_ids" in options and "chat_id" in options:
        raise ConfigError(f"{where}chat_id: give chat_ids = [...] or chat_id, not both")
    if "chat_id" in options:
        raw, key = [options["chat_id"]], "chat_id"
    elif "chat_ids" in options:
        raw, key = options["chat_ids"], "chat_ids"
    else:
        raise ConfigError(
            f"{where}chat_ids: is required for a telegram channel, e.g. "
            'chat_ids = ["@mystatus", -1001234567890]'
        )
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{where}{key}: must be a non-empty list of chat ids or @channelnames, in square brackets: "
                          'chat_ids = ["@mystatus", -1001234567890]')
    chats = tuple(_chat_target(value, f"{where}{key}") for value in raw)
    # Counted in one pass: a channel's list of chats can run to thousands. As Telegram knows them: @names ignore case.
    keys = [_chat_key(chat) for chat in chats]
    counted = Counter(keys)
    duplicates = sorted(chat for chat, key in zip(chats, keys, strict=True) if counted[key] > 1)
    if duplicates:
        raise ConfigError(f"{where}{key}: {', '.join(duplicates)} listed twice; each chat once")
    return chats


def _chat_key(chat: str) -> str:
    """A chat as Telegram knows it: an id as its number, an @name in any case. The one place that decides whether
    two spellings are one chat (``_same_chat``, ``Telegram.target_key``)."""
    return str(int(chat)) if _NUMERIC.match(chat) else chat.casefold()


def _chat_target(value: Any, where: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and (_NUMERIC.match(value.strip()) or _USERNAME.match(value.strip())):
        return value.strip()
    shown = "a ${...} reference" if hasattr(value, "reveal") else repr(value)
    raise ConfigError(
        f"{where}: {shown} is not a chat. Write a numeric id (-1001234567890) or a public "
        "@channelname, in the file itself: chat ids are not secrets."
    )


def _chat_ref(target: str) -> int | str:
    return int(target) if _NUMERIC.match(target) else target


def _same_chat(chat: int | str, target: str) -> bool:
    """Whether ``chat`` is ``target`` as written (usernames in any case: Telegram's are)."""
    return _chat_key(str(chat)) == _chat_key(target)


def _remote_id(chat: int | str, message_id: int) -> str:
    return f"{chat}:{message_id}"


def _own_chat(remote_id: str, target: str, own: Sequence[str]) -> tuple[int | str, int | None]:
    """``_parse_remote_id`` for a stored post that is edited, resumed or deleted in the chat it names: that chat is
    ``target``, or another chat of this table's own (``own``, as configured: the supergroup a group migrated to,
    written into ``chat_ids`` as the receipt's note advised). Any other (an imported or hand-edited record naming a
    public channel from a staff delivery, by any spelling) is refused: the staff text would be written there."""
    chat, message_id = _parse_remote_id(remote_id, target)
    if message_id is None or _same_chat(chat, target) or any(_same_chat(chat, written) for written in own):
        return chat, message_id
    raise DeliveryError(
        f"the stored post {printable(remote_id)!r} is in chat {printable(str(chat))}, not in {printable(target)}, this "
        "delivery's chat, nor in another chat of this table; nothing was written there. If the group migrated, put "
        f"{printable(str(chat))} in chat_ids (as the earlier receipt's note said) and run `broadcaster retry`; if the "
        "record was imported or edited by hand, correct or drop that delivery in the export and import it again.",
        retryable=False,
    )


def _parse_remote_id(remote_id: str, target: str) -> tuple[int | str, int | None]:
    """(chat, message id) from a remote id; a bare number is a message in ``target``."""
    chat, _, number = remote_id.rpartition(":")
    if not number.isdecimal():  # what int() reads: a superscript "²" is a digit to isdigit() alone
        return _chat_ref(target), None
    return _chat_ref(chat or target), int(number)


def _reply_id(thread: ThreadRef | None, chat: int | str) -> int | None:
    """The message to reply to in ``chat``: the incident's first, if it lives in this chat."""
    if thread is None:
        return None
    where, message_id = _parse_remote_id(thread.first_remote_id, str(chat))
    return message_id if _same_chat(where, str(chat)) else None  # a username in any case: recorded so before


@dataclass
class _Progress:
    """Where one send of one update to one target has got to."""

    chat: int | str
    message_ids: list[int] = field(default_factory=list)
    migrated_from: int | str | None = None
    thread_gone: int | None = None  # the message this update was to reply to, no longer in the chat

    @classmethod
    def resumed(cls, target: str, parts: list[str], own: Sequence[str] = ()) -> _Progress:
        """The progress the confirmed ``parts`` (remote ids) describe: their chat and message ids (``_own_chat``)."""
        progress = cls(chat=_chat_ref(target))
        for part in parts:
            chat, message_id = _own_chat(part, target, own)
            if message_id is not None:
                progress.chat = chat
                progress.message_ids.append(message_id)
        if not _same_chat(progress.chat, target):  # @AcmeStatus:1 resumed at @acmestatus is no migration
            progress.migrated_from = _chat_ref(target)
        return progress

    def receipt(self, target: str) -> Receipt:
        remote_id = _remote_id(self.chat, self.message_ids[0])
        notes = []
        if self.thread_gone is not None:
            notes.append(f"the incident's first message here ({self.thread_gone}) is deleted or not in chat "
                         f"{self.chat}, so this update was posted without replying to it; later ones reply to it")
        if self.migrated_from is not None:
            notes.append(f"chat {self.migrated_from} migrated to {self.chat}: replace it in chat_ids in the config")
        # Posted replying to nothing, it starts the thread anew: later follow-ups reply to it. Each went out on its
        # own, saying the first message was gone, and the incident's updates lay apart in the chat.
        return Receipt(remote_id=remote_id, notes=tuple(notes), starts_thread=self.thread_gone is not None)


# -- rate limits ---------------------------------------------------------------


_LIMITERS: dict[str, RateLimiter] = {}


# -- transport details -----------------------------------------------------------


class _TransportClass(Protocol):
    def __call__(
        self,
        token: str,
        inner: httpx.AsyncBaseTransport,
        admitted: Callable[[], AbstractAsyncContextManager[None]] | None = None,
        in_flight: int = 8,
    ) -> httpx.AsyncBaseTransport: ...


class _SdkClasses(NamedTuple):
    flood_wait: type[TelegramError]
    server_error: type[TelegramError]
    not_bot_api: type[TelegramError]
    request: type[HTTPXRequest]
    token_transport: _TransportClass
    pools: Callable[[list[httpx.AsyncHTTPTransport]], httpx.AsyncBaseTransport]
    stopped_before_leaving: type[httpx.ConnectError]


@cache
def _sdk_classes() -> _SdkClasses:
    """Our subclasses of PTB's and httpx's classes, defined on first use (it imports them)."""
    import asyncio

    import httpx
    from telegram.error import TelegramError
    from telegram.request import HTTPXRequest

    class _FloodWait(TelegramError):
        """A 429, carried without touching PTB's RetryAfter (whose attribute warns)."""

        def __init__(self, retry_after: float | None) -> None:
            super().__init__(f"Flood control exceeded ({_wait.said(retry_after)})")
            self.retry_after = retry_after

        def __reduce__(self) -> tuple[type, tuple[float | None]]:  # type: ignore[override]
            return self.__class__, (self.retry_after,)

    class _ServerError(TelegramError):
        """A 5xx, with its status kept: PTB folds them all into one NetworkError."""

        def __init__(self, status: int, description: str) -> None:
            super().__init__(f"{description} ({status})")
            self.status = status

        def __reduce__(self) -> tuple[type, tuple[int, str]]:  # type: ignore[override]
            return self.__class__, (self.status, self.message)

    class _NotBotApi(TelegramError):
        """An answer the Bot API never gives (a proxy's or a redirect's), with its status kept.

        ``done``: a 2xx whose body is not the Bot API's, so the request may have been carried out;
        otherwise a 3xx or 4xx PTB has no class for (302, 405, 407, 413), which carried out nothing.
        """

        def __init__(self, status: int, description: str) -> None:
            super().__init__(f"{description} (HTTP {status})")
            self.status = status

        @property
        def done(self) -> bool:
            return 200 <= self.status < 300

        def __reduce__(self) -> tuple[type, tuple[int, str]]:  # type: ignore[override]
            return self.__class__, (self.status, self.message)

    class _Request(HTTPXRequest):
        """PTB's HTTPX request, answering 429 with ``_FloodWait``, 5xx with ``_ServerError`` and what the Bot API
        never answers with ``_NotBotApi``."""

        async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
            code, payload = await super().do_request(*args, **kwargs)
            if code == 429:
                raise _FloodWait(_retry_after(payload))
            if code >= 500:
                raise _ServerError(code, _description(payload, code))
            if 200 <= code < 300 and not _bot_api_result(payload):
                raise _NotBotApi(code, f"the answer was not the Bot API's: {_excerpt(payload)}")
            if 300 <= code < 500 and code not in _BOT_API_REFUSALS:
                raise _NotBotApi(code, f"{_phrase(code)}: {_excerpt(payload)}")
            return code, payload

    class _StoppedBeforeLeaving(httpx.ConnectError):
        """The command stopped while the request waited for a connection: python-telegram-bot wraps it as any
        error of httpx's, and ``_never_left`` reads it as what it is, a request that never left."""

    class _TokenTransport(httpx.AsyncBaseTransport):
        """Writes the token into ``/bot***/`` as a request leaves, and nowhere else.

        httpx logs ``request.url`` of the request it built, so the logged URL keeps
        the placeholder; only the copy sent over the wire carries the token.
        """

        def __init__(
            self,
            token: str,
            inner: httpx.AsyncBaseTransport,
            admitted: Callable[[], AbstractAsyncContextManager[None]] | None = None,
            in_flight: int = 8,
        ) -> None:
            self._slot = f"/bot{TOKEN_SLOT}/".encode()
            self._with_token = f"/bot{token}/".encode()
            self._inner = inner
            self._admitted = admitted
            self._in_flight = asyncio.Semaphore(in_flight)

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            path = request.url.raw_path.replace(self._slot, self._with_token, 1)
            wire = httpx.Request(
                request.method,
                request.url.copy_with(raw_path=path),
                headers=request.headers,
                stream=request.stream,
                extensions=request.extensions,
            )
            if self._admitted is not None and request.url.raw_path.endswith((b"/sendMessage", b"/editMessageText")):
                async with self._admitted():
                    return await self._send(wire)
            return await self._send(wire)

        async def _send(self, wire: httpx.Request) -> httpx.Response:
            async with self._in_flight:
                log = _LEAVING.get()
                if log is not None:
                    try:
                        log.leaving()
                    except DeliveryError as stopped:  # a ConnectError to python-telegram-bot: it never left
                        raise _StoppedBeforeLeaving(str(stopped)) from None  # no request kept with it: it never left
                return await self._inner.handle_async_request(wire)

        async def aclose(self) -> None:
            await self._inner.aclose()

    class _Pools(httpx.AsyncBaseTransport):
        """Several connection pools as one: each request goes to the pool with the fewest requests out.

        httpcore's pool checks each of its connections on every request (``has_expired``, a ``select``
        each) and hands queued requests out by scanning them all: a pool's cost per request grows with
        its size. Small pools side by side keep the connections without that cost. Errors pass through
        unchanged, so what may have reached Telegram is told apart as before (``_never_left``).
        """

        def __init__(self, pools: list[httpx.AsyncHTTPTransport]) -> None:
            self._pools = pools
            self._out = [0] * len(pools)

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            index = self._out.index(min(self._out))
            self._out[index] += 1
            try:
                return await self._pools[index].handle_async_request(request)
            finally:
                self._out[index] -= 1

        async def aclose(self) -> None:
            async with contextlib.AsyncExitStack() as closing:  # every pool, even after one fails to close
                for pool in self._pools:
                    closing.push_async_callback(pool.aclose)

    return _SdkClasses(_FloodWait, _ServerError, _NotBotApi, _Request, _TokenTransport, _Pools, _StoppedBeforeLeaving)


def flood_wait(exc: BaseException) -> float | None:
    """The seconds a 429 asked to wait, if ``exc`` is one (from a request of ``token_hidden_request``)."""
    if isinstance(exc, _sdk_classes().flood_wait):
        wait = getattr(exc, "retry_after", None)
        return 1.0 if wait is None else float(wait)  # a 429 without a wait it can read: wait a little anyway
    return None


def _description(payload: bytes, status: int) -> str:
    try:
        return str(json.loads(payload)["description"])
    except (ValueError, KeyError, TypeError):
        return f"HTTP {status}"


# The statuses below 500 the Bot API answers with (each with its JSON), which PTB maps to its own errors.
_BOT_API_REFUSALS = frozenset({400, 401, 403, 404, 409, 429})
_MAX_EXCERPT = 120  # characters of a foreign answer quoted in an error


def _bot_api_result(payload: bytes) -> bool:
    """Whether a 2xx body is the Bot API's: a JSON object holding ``result`` (PTB reads nothing else)."""
    try:
        data = json.loads(payload)
    except ValueError:
        return False
    return isinstance(data, dict) and "result" in data


def _excerpt(payload: bytes) -> str:
    text = " ".join(payload.decode("utf-8", errors="replace").split())
    if not text:
        return "an empty body"
    return text[:_MAX_EXCERPT] + ("…" if len(text) > _MAX_EXCERPT else "")


def _phrase(code: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "an unknown status"


def _never_left(exc: BaseException) -> bool:
    """Whether the request provably never reached Telegram: no connection was made.

    PTB raises ``TimedOut``/``NetworkError`` ``from`` httpx's own error, which
    says which step failed. Only a failure to connect (or to get a pooled
    connection) proves nothing was sent; a read timeout or a reset after the
    request was written leaves the message possibly posted.
    """
    import httpx

    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
            return True
        cause = cause.__cause__
    return False


def _retry_after(payload: bytes) -> float | None:
    """The wait a 429 asked (``_wait.honoured``: Infinity as endless, NaN as none), None without one. A number of 400
    digits ended PTB's request 'OverflowError', the message's fate unknown, where Telegram had refused it."""
    try:
        return _wait.honoured(json.loads(payload)["parameters"]["retry_after"])
    except (ValueError, KeyError, TypeError):
        return None
