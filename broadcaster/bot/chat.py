"""The bot's commands: ``/start [invite]``, ``/components``, ``/status``, ``/stop``, ``/help``.

Who may do what:

* In a private chat, its user: every command. Unknown commands and free text
  get the short help, at most once a minute.
* In a group, only an administrator (``getChatMember``: creator or
  administrator) is answered, and only with an invite does ``/start``
  subscribe it (a plain ``/start`` brings back a group that sent ``/stop``,
  as it was); anyone else is ignored, and so is free text and commands the
  bot does not know (they are often another bot's). An anonymous administrator
  cannot be told apart from the group, so is asked to send as himself. A button
  under ``/components`` saves only when an administrator taps it.

A chat's visibility is never its own choice: it is that of the invite it
redeemed (``broadcaster.subscribers``), and everything sent to it is cut to it.
Each chat's updates are handled one at a time, in order, and every reply is
paced (``pacing``). A chat that blocked the bot or removed it is marked
inactive; a group that became a supergroup keeps its subscription.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from broadcaster import subscribers
from broadcaster.bot.pacing import Pacer
from broadcaster.bot.status import chat_visibility, status_replies
from broadcaster.channels.telegram import flood_wait
from broadcaster.destinations import table_rooms
from broadcaster.messages import bot as words
from broadcaster.messages import i18n
from broadcaster.messages.egress import LeakRefused
from broadcaster.messages.model import Level
from broadcaster.subscribers import ChatKind, InviteRefused, Refusal, Subscription

if TYPE_CHECKING:
    from telegram import Bot, CallbackQuery, InlineKeyboardMarkup, Message
    from telegram import Update as TelegramUpdate
    from telegram.ext import BaseHandler

    from broadcaster.config import Config
    from broadcaster.store import Store

LOG = logging.getLogger("broadcaster.bot")

ADMIN_STATUSES = frozenset({"creator", "administrator"})
GONE_STATUSES = frozenset({"kicked", "left"})
CALLBACK_PREFIX = "c:"
MAX_CALLBACK_BYTES = 64  # Telegram's limit on a button's callback_data
MAX_FLOOD_WAIT = 30.0  # a 429 asking for longer than this drops the reply

_REFUSAL_WORD = {Refusal.EXPIRED: "expired", Refusal.REVOKED: "revoked", Refusal.USED_UP: "used"}


@dataclass(frozen=True)
class Turn:
    """One command to answer: where it came from and what came with it."""

    bot: Bot
    chat_id: int
    kind: ChatKind
    args: tuple[str, ...]


Command = Callable[["ChatBot", Turn], Awaitable[None]]


class ChatBot:
    """The commands, over one config and one store; ``handlers()`` is what the Application gets."""

    def __init__(self, config: Config, store: Store, pacer: Pacer | None = None) -> None:
        self.config = config
        self.store = store
        self.pacer = pacer or Pacer()

    def handlers(self) -> list[BaseHandler[Any, Any, Any]]:
        from telegram.ext import CallbackQueryHandler, ChatMemberHandler, CommandHandler, MessageHandler, filters

        new = filters.UpdateType.MESSAGE  # an edited "/start CODE" is not a second /start
        commands: dict[str, Command] = {
            "start": ChatBot.start, "components": ChatBot.components, "status": ChatBot.status,
            "stop": ChatBot.stop, "help": ChatBot.help,
        }
        handlers: list[BaseHandler[Any, Any, Any]] = [
            CommandHandler(name, self._command(command), filters=new) for name, command in commands.items()
        ]
        return [
            *handlers,
            CallbackQueryHandler(self._tapped),
            MessageHandler(filters.StatusUpdate.MIGRATE, self._migrated),
            ChatMemberHandler(self._membership, ChatMemberHandler.MY_CHAT_MEMBER),
            MessageHandler(new & (filters.TEXT | filters.COMMAND), self._other),
        ]

    # -- the commands ------------------------------------------------------------------------

    async def start(self, turn: Turn) -> None:
        if turn.args:
            await self._redeem(turn, turn.args[0])
            return
        before = self.store.subscription(str(turn.chat_id))
        if turn.kind == ChatKind.GROUP and not self._group_comes_back(before):
            await self.reply(turn, words.group_needs_invite())
            return
        withdrawn = ""
        if before is not None and not before.active and self._invite_revoked(before):
            # A chat that left, whose invite the operator revoked since: the revoke took away what that invite
            # gave (a customer's detail, staff's notes), so it comes back as a new chat would, public.
            subscribers.remove(self.store, turn.chat_id)
            before, withdrawn = None, words.invite_refused("revoked") + "\n\n"
        # A chat that sent /stop comes back as it was, as /stop promised: the visibility its invite gave,
        # never more, and its invite is not needed again (it may be used up by this very chat).
        subscription = subscribers.subscribe(self.store, turn.chat_id, turn.kind)
        already = before is not None and before.active
        await self.reply(turn, words.already_subscribed() if already else withdrawn + self._welcome(subscription))

    def _group_comes_back(self, before: Subscription | None) -> bool:
        """Whether a plain ``/start`` may bring a group's subscription back: one it stopped itself (``/stop``
        promised it), whose invite was not revoked since. A group the bot was removed from, or whose invite the
        operator revoked, may have other members now: it needs a new invite."""
        if before is None or before.active:
            return before is not None
        return before.inactive_reason == "stopped" and not self._invite_revoked(before)

    def _refuse_a_departed_customers(self, code: str, chat_id: int) -> None:
        """An invite for a customer the config no longer defines grants nothing anyone may be told of: the chat would
        be welcomed to public updates while the store kept it as that customer's, whose detail it would get if an
        [audiences.ID] of that id came back (review 36c). Refused as no valid invite, nothing stored."""
        invite = self.store.invite(subscribers.code_hash(code)) if subscribers.INVITE_CODE.fullmatch(code) else None
        audience = invite.visibility.audience if invite is not None else ""
        if audience and audience not in self.config.audiences:
            LOG.warning("An invite for audience %s, which the config no longer defines, was opened in chat %s: "
                        "refused.", audience, chat_id)
            raise InviteRefused(Refusal.UNKNOWN, "That invite's customer is not in the config.")

    def _invite_revoked(self, subscription: Subscription) -> bool:
        invite = self.store.invite(subscription.invite) if subscription.invite else None
        return invite is not None and invite.revoked_at is not None

    async def _redeem(self, turn: Turn, code: str) -> None:
        named = table_rooms(self.config, self.store).naming(str(turn.chat_id))
        if named:
            # A channel table decides what this chat hears: an invite opened here (an administrator of two
            # groups picking the wrong one) would change nothing it is sent, so it is not used up, and the
            # reply names no visibility (a public group must not learn that a staff invite exists).
            LOG.warning("An invite was opened in chat %s, which [channels.%s] names: not redeemed; the chat hears "
                        "that table only.", turn.chat_id, named[0].name)
            await self.reply(turn, words.set_up_by_the_team())
            return
        try:
            self._refuse_a_departed_customers(code, turn.chat_id)
            redemption = subscribers.redeem(self.store, code, turn.chat_id, turn.kind)
        except InviteRefused as refused:
            await self.reply(turn, words.invite_refused(_REFUSAL_WORD.get(refused.reason, "")))
            return
        text = self._welcome(redemption.subscription)
        if redemption.previous is not None:
            text = f"{words.visibility_changed()}\n\n{text}"
        await self.reply(turn, text)

    async def components(self, turn: Turn) -> None:
        subscription = self._active(turn)
        if subscription is None:
            await self.reply(turn, words.not_subscribed())
            return
        await self.reply(turn, words.choose_components(), self._keyboard(subscription))

    async def status(self, turn: Turn) -> None:
        subscription = self.store.subscription(str(turn.chat_id))
        try:
            texts = status_replies(self.config, self.store, subscription)
        except LeakRefused as refused:
            LOG.error("/status was not sent to a chat: %s", refused)
            texts = (words.status_unavailable(self.config.page.base_url),)
        for text in texts:
            await self.reply(turn, text)

    async def stop(self, turn: Turn) -> None:
        stopped = self._active(turn) is not None and subscribers.unsubscribe(self.store, turn.chat_id)
        await self.reply(turn, words.unsubscribed() if stopped else words.not_subscribed())

    async def help(self, turn: Turn) -> None:
        await self.reply(turn, words.help_text(self.config.page.title))

    def _welcome(self, subscription: Subscription) -> str:
        # What the chat will hear (a table's chat, a doubt: less than its invite), never more.
        page, visibility = self.config.page.title, chat_visibility(self.config, self.store, subscription)
        if visibility.level == Level.INTERNAL:
            return words.subscribed_internal(page)
        if visibility.level == Level.AUDIENCE and visibility.audience in self.config.audiences:
            return words.subscribed_audience(page, self.config.audiences[visibility.audience].name)
        return words.subscribed_public(page)

    def _active(self, turn: Turn) -> Subscription | None:
        subscription = self.store.subscription(str(turn.chat_id))
        return subscription if subscription is not None and subscription.active else None

    # -- components' buttons -----------------------------------------------------------------

    def _allowed(self, subscription: Subscription) -> tuple[str, ...]:
        return subscribers.allowed_components(self.store, subscription, self.config.component_ids)

    def _keyboard(self, subscription: Subscription) -> InlineKeyboardMarkup:
        from telegram import InlineKeyboardButton, InlineKeyboardMarkup

        allowed = self._allowed(subscription)
        chosen = set(subscription.choice(self.config.component_ids) or allowed)
        rows = []
        for component_id in allowed:
            component = self.config.component(component_id)
            mark = "✅" if component_id in chosen else "▫️"
            name = component.name if component is not None else component_id
            rows.append([InlineKeyboardButton(f"{mark} {name}", callback_data=button_data(component_id))])
        return InlineKeyboardMarkup(rows)

    async def _tapped(self, update: TelegramUpdate, context: Any) -> None:
        query = update.callback_query
        message = query.message if query is not None else None
        if query is None or message is None or message.chat.type == "channel":
            return
        chat_id = message.chat.id
        with i18n.speaking(self.config.page.language):
            async with self.pacer.handling(chat_id) as handled:
                if not handled:
                    return
                if message.chat.type != "private" and not await _is_admin(context.bot, chat_id, query.from_user.id):
                    await query.answer(words.admins_only())
                    return
                await self._toggle(context.bot, query, chat_id, query.data or "")

    async def _toggle(self, bot: Bot, query: CallbackQuery, chat_id: int, data: str) -> None:
        subscription = self.store.subscription(str(chat_id))
        if subscription is None or not subscription.active:
            await query.answer(words.not_subscribed_plain())
            return
        allowed = self._allowed(subscription)
        tapped = next((c for c in allowed if button_data(c) == data), None)
        if tapped is None:
            await query.answer(words.component_gone())
            return
        chosen = set(subscription.choice(self.config.component_ids) or allowed) ^ {tapped}
        if not chosen:
            await query.answer(words.keep_one_component())
            return
        saved = subscribers.choose_components(self.store, chat_id, [c for c in allowed if c in chosen],
                                              self.config.component_ids)
        await query.answer(words.component_saved())
        await self._edit_keyboard(bot, chat_id, query, saved)

    async def _edit_keyboard(self, bot: Bot, chat_id: int, query: CallbackQuery, saved: Subscription) -> None:
        from telegram.error import BadRequest

        message = query.message
        if message is None or not await self.pacer.turn(chat_id):
            return
        try:
            await bot.edit_message_reply_markup(chat_id, message.message_id, reply_markup=self._keyboard(saved))
        except BadRequest as exc:
            if "not modified" not in exc.message.lower():  # two quick taps: the keyboard already shows it
                raise
        finally:
            self.pacer.answered(chat_id)

    # -- what is not a command -----------------------------------------------------------------

    async def _other(self, update: TelegramUpdate, context: Any) -> None:
        """Free text and unknown commands: the short help in a private chat, once a minute."""
        chat = update.effective_chat
        message = update.effective_message
        if chat is None or message is None or chat.type != "private" or _from_a_bot(message):
            return
        async with self.pacer.handling(chat.id) as handled:
            if handled and self.pacer.may_help(chat.id):
                with i18n.speaking(self.config.page.language):
                    await self.reply(Turn(context.bot, chat.id, ChatKind.PRIVATE, ()), words.short_help())

    async def _migrated(self, update: TelegramUpdate, context: Any) -> None:
        message = update.effective_message
        if message is not None and message.migrate_to_chat_id not in (None, message.chat.id):
            # As a send that meets the migration: never into a chat a table names (``follow_migration``).
            from broadcaster.destinations import follow_migration

            # In the order the chats said it (``Pacer.in_order``): after the group's commands before it (an
            # administrator's /stop just before the group became a supergroup stops the subscription that moves, an
            # invite changes it), and before the supergroup's after it (its /stop finds the subscription there). The
            # supergroup's turn is taken first, as the update arrives: a supergroup's id (-100...) is below its
            # group's, and the two turns are taken lowest first, so two migrations crossing (never sent by
            # Telegram, but a fake or a proxy might) cannot wait on each other for ever.
            old, new = message.chat.id, message.migrate_to_chat_id
            first, second = sorted((old, new))
            async with self.pacer.in_order(first), self.pacer.in_order(second):
                follow_migration(self.config, self.store, str(old), str(new))

    async def _membership(self, update: TelegramUpdate, context: Any) -> None:
        """The bot was blocked, removed from a group or the group deleted: stop sending there."""
        change = update.my_chat_member
        if change is not None and change.new_chat_member.status in GONE_STATUSES:
            async with self.pacer.in_order(change.chat.id):  # after an invite opened just before: it ends that too
                subscribers.deactivate(self.store, change.chat.id,
                                       "blocked" if change.chat.type == "private" else "left")

    # -- running a command ---------------------------------------------------------------------

    def _command(self, command: Command) -> Callable[[TelegramUpdate, Any], Coroutine[Any, Any, None]]:
        async def handle(update: TelegramUpdate, context: Any) -> None:
            chat = update.effective_chat
            if chat is None:
                return
            async with self.pacer.handling(chat.id) as handled:
                turn = await self._turn(update, context) if handled else None
                if turn is not None:
                    with i18n.speaking(self.config.page.language):
                        await command(self, turn)

        return handle

    async def _turn(self, update: TelegramUpdate, context: Any) -> Turn | None:
        """The turn to answer, or None when the sender is not to be answered here."""
        chat, message = update.effective_chat, update.effective_message
        if chat is None or message is None or chat.type == "channel":
            return None
        args = tuple(context.args or ())
        if chat.type == "private":
            return None if _from_a_bot(message) else Turn(context.bot, chat.id, ChatKind.PRIVATE, args)
        turn = Turn(context.bot, chat.id, ChatKind.GROUP, args)
        if message.sender_chat is not None and message.sender_chat.id == chat.id:
            if self.pacer.may_help(chat.id):
                with i18n.speaking(self.config.page.language):
                    await self.reply(turn, words.anonymous_admin())
            return None
        user = message.from_user
        if user is None or user.is_bot or not await _is_admin(context.bot, chat.id, user.id):
            return None
        # A group whose subscription followed it to its supergroup meanwhile (another process's post): the
        # command is the supergroup's, as its subscription is (review 28b).
        return replace(turn, chat_id=int(subscribers.where_now(self.store, chat.id)))

    async def reply(self, turn: Turn, text: str, markup: InlineKeyboardMarkup | None = None) -> Message | None:
        """Send ``text`` (Telegram HTML) into the turn's chat, paced; None when it was dropped or refused."""
        from telegram.error import Forbidden, TelegramError

        if not await self.pacer.turn(turn.chat_id):
            LOG.info("A reply was dropped: its chat sends faster than it can be answered.")
            return None
        try:
            return await self._send(turn, text, markup)
        except Forbidden:
            subscribers.deactivate(self.store, turn.chat_id, "blocked")
        except TelegramError as exc:
            LOG.warning("A reply could not be sent (%s).", exc.message)
        finally:
            self.pacer.answered(turn.chat_id)
        return None

    async def _send(self, turn: Turn, text: str, markup: InlineKeyboardMarkup | None) -> Message:
        """One message; after a 429 (a post from another process took the chat's second) once more."""
        import asyncio

        try:
            return await self._send_message(turn, text, markup)
        except Exception as exc:
            wait = flood_wait(exc)
            if wait is None or wait > MAX_FLOOD_WAIT:
                raise
        await asyncio.sleep(wait)
        return await self._send_message(turn, text, markup)

    async def _send_message(self, turn: Turn, text: str, markup: InlineKeyboardMarkup | None) -> Message:
        from telegram import LinkPreviewOptions
        from telegram.constants import ParseMode

        return await turn.bot.send_message(
            turn.chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        )


def button_data(component_id: str) -> str:
    """A button's callback_data for a component: its id, or a hash of it when the id is too long."""
    data = CALLBACK_PREFIX + component_id
    if len(data.encode()) <= MAX_CALLBACK_BYTES:
        return data
    return CALLBACK_PREFIX + "#" + hashlib.sha256(component_id.encode()).hexdigest()[:32]


def _from_a_bot(message: Message) -> bool:
    return message.from_user is None or message.from_user.is_bot


async def _is_admin(bot: Bot, chat_id: int, user_id: int) -> bool:
    """Whether the sender administers the group; one become a supergroup since the message, the supergroup (a
    command read after the move was dropped, and the migration carried the old subscription over: review 28b)."""
    from telegram.error import ChatMigrated, TelegramError

    try:
        try:
            member = await bot.get_chat_member(chat_id, user_id)
        except ChatMigrated as moved:
            member = await bot.get_chat_member(moved.new_chat_id, user_id)
    except TelegramError as exc:
        LOG.warning("Could not check a group member's status (%s): not answered.", exc.message)
        return False
    return member.status in ADMIN_STATUSES


