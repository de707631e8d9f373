"""The side of the fake Bot API a listening bot uses: updates in, buttons, members, webhooks.

``FakeTelegramBot`` is ``FakeTelegram`` (sending, editing, flood control, errors)
plus what ``broadcaster bot run`` calls, with the real shapes and errors:

* ``getUpdates``: long polling. ``offset`` confirms every update below it,
  ``timeout`` holds the request until an update arrives (``timeout=0`` answers at
  once), ``allowed_updates`` is remembered, and a newer poll ends an older one
  with 409 "terminated by other getUpdates request" (two bots on one token).
  While a webhook is set it answers 409, as Telegram does.
* ``setWebhook`` / ``deleteWebhook`` / ``getWebhookInfo``. With a webhook set,
  each update pushed is POSTed to it as JSON with the secret token header; the
  answers are in ``webhook_answers``. (An ``http://`` URL is accepted on
  purpose: real Telegram demands HTTPS, which a loopback test cannot have.)
* ``getChatMember`` from ``members`` ({(chat id, user id): status}); a user not
  listed is ``member`` of a private chat with himself and ``left`` elsewhere.
* ``answerCallbackQuery`` (once per query; again, or an unknown id, is 400) and
  ``editMessageReplyMarkup`` ("message is not modified" when nothing changes).

Tests speak for the users: ``say(chat, text)`` pushes a message (a leading
``/command`` gets its ``bot_command`` entity) and ``tap(chat, message_id,
data)`` a button press on one of the bot's messages. Every object is complete
(PTB raises on a missing required field and then re-polls the same batch in a
loop). ``polling`` is set while a long poll waits: a bot is listening.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tests.fakes.base import Response
from tests.fakes.telegram import BOT_ID_NAME, FakeTelegram, _ApiError, _error, _int, _json, _markup, _ok

POLL_CAP = 10.0  # the longest a long poll is held here, below PTB's read timeout (5 s + timeout)
_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_ADMIN_RIGHTS = (
    "can_be_edited", "is_anonymous", "can_manage_chat", "can_delete_messages", "can_manage_video_chats",
    "can_restrict_members", "can_promote_members", "can_change_info", "can_invite_users", "can_post_stories",
    "can_edit_stories", "can_delete_stories", "can_pin_messages", "can_manage_topics",
)
_RESTRICTED_RIGHTS = (
    "is_member", "can_change_info", "can_invite_users", "can_pin_messages", "can_send_messages", "can_send_polls",
    "can_send_other_messages", "can_add_web_page_previews", "can_manage_topics", "can_send_audios",
    "can_send_documents", "can_send_photos", "can_send_videos", "can_send_video_notes", "can_send_voice_notes",
    "can_edit_tag", "can_react_to_messages",
)
_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"


@dataclass
class Webhook:
    url: str
    secret_token: str
    allowed_updates: list[str] | None
    max_connections: int


@dataclass
class MarkupEdit:
    chat_id: int
    message_id: int
    reply_markup: dict[str, Any] | None
    time: float


class FakeTelegramBot(FakeTelegram):
    """``FakeTelegram`` with updates, members, buttons and webhooks. See the module docstring."""

    def __init__(self, *args: Any, members: Mapping[tuple[int, int], str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.members: dict[tuple[int, int], str] = dict(members or {})
        self.webhook: Webhook | None = None
        self.webhook_answers: list[int] = []
        self.allowed_updates: list[str] | None = None
        self.answers: list[dict[str, Any]] = []  # answerCallbackQuery calls, as received
        self.markup_edits: list[MarkupEdit] = []
        self.member_checks: list[tuple[int, int]] = []
        self.polling = threading.Event()
        self._pending: list[dict[str, Any]] = []
        self._update_ids = itertools.count(500001)
        self._message_ids = itertools.count(9001)
        self._queries: dict[str, bool] = {}  # callback query id -> answered
        self._poll_generation = 0
        # On the fake's state lock: a waiting long poll releases it, so sends go on meanwhile.
        self._arrived = threading.Condition(self._state)

    def methods(self) -> dict[str, Callable[[Mapping[str, Any]], Response]]:
        return super().methods() | {
            "getupdates": self._get_updates,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "getchatmember": self._get_chat_member,
            "answercallbackquery": self._answer_callback_query,
            "editmessagereplymarkup": self._edit_message_reply_markup,
        }

    def stop(self) -> None:
        with self._arrived:
            self._stopping.set()
            self._arrived.notify_all()
        super().stop()

    # -- what users do ------------------------------------------------------------

    def user(self, user_id: int, name: str = "") -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": name or f"user{user_id}", "language_code": "en"}

    def say(
        self, chat: int, text: str, *, user: int | None = None, sender_chat: int | None = None, kind: str = "message",
    ) -> int:
        """A message from ``user`` (default: the private chat's own user) in ``chat``; returns its update id."""
        found = self._find(chat) or self.add_chat(chat, f"chat {chat}")
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": found.as_json(),
            "from": self.user(user if user is not None else chat),
            "text": text,
        }
        command = re.match(r"/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?", text)
        if command:
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command.group())}]
        if sender_chat is not None:  # an anonymous admin posts as the group itself
            sender = self._find(sender_chat)
            message["sender_chat"] = sender.as_json() if sender else {"id": sender_chat, "type": "supergroup", "title": "?"}
            message["from"] = {"id": 1087968824, "is_bot": True, "first_name": "Group", "username": "GroupAnonymousBot"}
        return self.push(kind, message)

    def tap(self, chat: int, message_id: int, data: str, *, user: int | None = None) -> str:
        """A press of a button under the bot's message ``message_id`` in ``chat``; returns the query id."""
        found = self.chat(chat)
        with self._state:
            sent = next(m for m in self.messages[found.key] if m.message_id == message_id)
            query_id = f"q{next(self._update_ids)}"
            self._queries[query_id] = False
        message = {
            "message_id": sent.message_id,
            "date": int(time.time()),
            "chat": found.as_json(),
            "from": {"id": int(self.token.split(":")[0]), "is_bot": True, "first_name": "Status", "username": BOT_ID_NAME},
            "text": sent.text,
        }
        if sent.reply_markup:
            message["reply_markup"] = sent.reply_markup
        query = {
            "id": query_id,
            "chat_instance": f"-88{abs(found.id)}",
            "from": self.user(user if user is not None else chat),
            "message": message,
            "data": data,
        }
        self.push("callback_query", query)
        return query_id

    def push(self, kind: str, payload: dict[str, Any]) -> int:
        """Queue one update (or POST it to the webhook); returns its update id."""
        with self._arrived:
            update_id = next(self._update_ids)
            update = {"update_id": update_id, kind: payload}
            webhook = self.webhook
            if webhook is None:
                if self.allowed_updates is None or not self.allowed_updates or kind in self.allowed_updates:
                    self._pending.append(update)
                self._arrived.notify_all()
        if webhook is not None:
            self.webhook_answers.append(self.deliver(update, webhook.url, webhook.secret_token))
        return update_id

    def deliver(
        self, update: Mapping[str, Any], url: str, secret: str | None, content_type: str = "application/json",
        body: bytes | None = None,
    ) -> int:
        """POST one update as Telegram does; returns the HTTP status the bot answered."""
        headers = {"Content-Type": content_type}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        data = body if body is not None else json.dumps(update).encode()
        request = urllib.request.Request(url, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback, a test's URL
                return int(answer.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)

    def pending(self) -> list[dict[str, Any]]:
        """The updates not yet confirmed by an offset."""
        with self._state:
            return list(self._pending)

    def wait_for(self, condition: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Whether ``condition`` came true within ``timeout`` (checked every 20 ms)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.02)
        return condition()

    def texts(self, chat: int | str) -> list[str]:
        """The plain texts the bot sent into ``chat``, in order."""
        with self._state:
            return [m.text for m in self.messages.get(chat, [])]

    # -- getUpdates -----------------------------------------------------------------

    def _get_updates(self, params: Mapping[str, Any]) -> Response:
        if self.webhook is not None:
            raise _ApiError(_error(
                409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
                     "delete the webhook first"))
        offset, timeout = _int(params.get("offset")), _int(params.get("timeout")) or 0
        limit = min(max(_int(params.get("limit")) or 100, 1), 100)
        allowed = _json(params.get("allowed_updates"))
        if isinstance(allowed, list):
            self.allowed_updates = [str(kind) for kind in allowed]
        if offset is not None:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        self._poll_generation += 1
        generation, deadline = self._poll_generation, time.monotonic() + min(timeout, POLL_CAP)
        while not self._pending and not self._stopping.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self.polling.set()
            self._arrived.wait(min(remaining, 0.05))
            if self._poll_generation != generation:
                raise _ApiError(_error(
                    409, "Conflict: terminated by other getUpdates request; make sure that only one bot "
                         "instance is running"))
        return _ok(self._pending[:limit])

    # -- webhooks ---------------------------------------------------------------------

    def _set_webhook(self, params: Mapping[str, Any]) -> Response:
        url, secret = str(params.get("url") or ""), params.get("secret_token")
        if not re.match(r"^https?://[^/\s]+", url):
            raise _ApiError(_error(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"))
        if secret is not None and not _SECRET_TOKEN.match(str(secret)):
            raise _ApiError(_error(400, "Bad Request: secret token contains unallowed characters"))
        allowed = _json(params.get("allowed_updates"))
        if isinstance(allowed, list):
            self.allowed_updates = [str(kind) for kind in allowed]
        if _json(params.get("drop_pending_updates")) is True:
            self._pending.clear()
        self.webhook = Webhook(url, str(secret or ""), self.allowed_updates, _int(params.get("max_connections")) or 40)
        self._arrived.notify_all()  # a waiting long poll now fails as Telegram's would
        return _ok(True)

    def _delete_webhook(self, params: Mapping[str, Any]) -> Response:
        self.webhook = None
        if _json(params.get("drop_pending_updates")) is True:
            self._pending.clear()
        return _ok(True)

    def _get_webhook_info(self, params: Mapping[str, Any]) -> Response:
        info: dict[str, Any] = {"url": "", "has_custom_certificate": False, "pending_update_count": len(self._pending)}
        if self.webhook is not None:
            info |= {"url": self.webhook.url, "max_connections": self.webhook.max_connections}
            if self.webhook.allowed_updates is not None:
                info["allowed_updates"] = self.webhook.allowed_updates
        return _ok(info)

    # -- members and buttons -------------------------------------------------------------

    def _get_chat_member(self, params: Mapping[str, Any]) -> Response:
        chat = self._target(params)
        user_id = _int(params.get("user_id"))
        if user_id is None:
            raise _ApiError(_error(400, "Bad Request: user not found"))
        self.member_checks.append((chat.id, user_id))
        default = "member" if chat.type == "private" and chat.id == user_id else "left"
        status = self.members.get((chat.id, user_id), default)
        return _ok(_member(status, self.user(user_id)))

    def _answer_callback_query(self, params: Mapping[str, Any]) -> Response:
        query_id = str(params.get("callback_query_id") or "")
        if self._queries.get(query_id, True):
            raise _ApiError(_error(400, _TOO_OLD))
        text = str(params.get("text") or "")
        if len(text) > 200:
            raise _ApiError(_error(400, "Bad Request: MESSAGE_TOO_LONG"))
        self._queries[query_id] = True
        self.answers.append(dict(params))
        return _ok(True)

    def _edit_message_reply_markup(self, params: Mapping[str, Any]) -> Response:
        chat, stored = self._to_edit(params)
        markup = _markup(params.get("reply_markup"))
        if markup == stored.reply_markup:
            raise _ApiError(_error(
                400, "Bad Request: message is not modified: specified new message content and reply markup are "
                     "exactly the same as a current content and reply markup of the message"))
        stored.reply_markup = markup
        self.markup_edits.append(MarkupEdit(chat.id, stored.message_id, markup, time.monotonic()))
        return _ok(self._message_json(chat, stored) | {"edit_date": int(time.time())})


def _member(status: str, user: dict[str, Any]) -> dict[str, Any]:
    """A complete ChatMember of ``status`` (every field PTB 22 requires for it)."""
    member: dict[str, Any] = {"status": status, "user": user}
    if status == "creator":
        member["is_anonymous"] = False
    elif status == "administrator":
        member |= {right: right in ("can_manage_chat", "can_invite_users") for right in _ADMIN_RIGHTS}
    elif status == "restricted":
        member |= {right: right == "is_member" for right in _RESTRICTED_RIGHTS} | {"until_date": 0}
    elif status == "kicked":
        member["until_date"] = 0
    return member
