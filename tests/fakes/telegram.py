"""A fake Telegram Bot API that validates what it receives like the real one.

Routes ``GET``/``POST /bot<token>/<method>`` for ``getMe``, ``sendMessage``,
``editMessageText``, ``deleteMessage`` and ``getChat``, with form-encoded bodies (what
python-telegram-bot sends: strings as is, other values JSON-encoded), JSON
bodies or query strings. Answers use the real envelopes: ``{"ok": true,
"result": ...}`` and ``{"ok": false, "error_code": ..., "description": ...}``.

Construct it with the chats it knows::

    FakeTelegram(
        token="123:abc",
        chats={-100123: "ops", "@acmestatus": "Acme status", 42: "Ann"},
        blocked={42},              # 403 "Forbidden: bot was blocked by the user"
        migrated={-5: -1001000000005},  # 400 with parameters.migrate_to_chat_id
        enforce_limits=True,       # 30 msg/s overall, 1 msg/s per chat, else 429
        latency=0.0,
    )

A chat key is a numeric id or an ``@username`` (a public channel, given an id
of its own). Values are a title or a dict of Chat fields (``title``, ``type``,
``username``). Chat type follows the id the way Telegram's do: positive is a
private chat, ``-100...`` a supergroup (or a channel when named by
``@username``), other negatives a basic group. A migrated chat's new id is
created as a supergroup if ``chats`` does not name it.

What it received: ``fake.messages[key]`` is the list of ``SentMessage`` in the
chat named ``key`` (as in ``chats``, or the new id of a migration), holding
the raw ``html`` and the ``text`` and ``entities`` Telegram would have parsed
from it. ``fake.edits`` lists edits; ``fake.too_many_count`` counts 429s;
``fake.requests`` (from the base) has every request. ``reset()`` forgets all
of it (and queued faults, blocks, flood state) so tests can share a server.

Text is checked like Telegram checks ``parse_mode=HTML``: only its tags and
entities, balanced tags, at most 4096 UTF-16 code units after parsing, not
empty. ``parse_html`` is public so format tests can use the same rules.
"""

from __future__ import annotations

import html
import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.base import FakeServer, Request, Response

MAX_TEXT = 4096  # Telegram's limit, in UTF-16 code units after entity parsing
GLOBAL_PER_SECOND = 30  # Bot API broadcast limit across all chats
CHAT_INTERVAL = 1.0  # Bot API limit: one message per second into one chat

BOT_ID_NAME = "status_bot"

# tag -> entity type; attributes checked in _open_tag.
_TAGS = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic",
    "u": "underline", "ins": "underline", "s": "strikethrough", "strike": "strikethrough",
    "del": "strikethrough", "a": "text_link", "code": "code", "pre": "pre",
    "span": "spoiler", "tg-spoiler": "spoiler", "blockquote": "blockquote",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s+[^<>]*?)?)\s*(/?)>")
_ATTR = re.compile(r"""([A-Za-z_:][-A-Za-z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")
_ENTITY = re.compile(r"&(?:#(\d{1,7})|#[xX]([0-9A-Fa-f]{1,6})|([A-Za-z]+));")


class EntityError(ValueError):
    """Text that Telegram would refuse with "can't parse entities"."""


@dataclass
class SentMessage:
    message_id: int
    chat_id: int
    html: str
    text: str
    entities: list[dict[str, Any]]
    reply_to_message_id: int | None
    time: float
    disable_notification: bool = False
    reply_markup: dict[str, Any] | None = None  # an inline keyboard, as sent


@dataclass
class Chat:
    key: int | str
    id: int
    type: str
    title: str
    username: str = ""
    next_message_id: int = 1
    last_sent: float = -math.inf

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.type == "private":
            data["first_name"] = self.title
        else:
            data["title"] = self.title
        if self.username:
            data["username"] = self.username
        return data


@dataclass
class Edit:
    chat_id: int
    message_id: int
    html: str
    text: str
    time: float


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Telegram's parse_mode=HTML: the plain text and its entities, or EntityError."""
    out: list[str] = []
    entities: list[dict[str, Any]] = []
    stack: list[tuple[str, int, dict[str, Any]]] = []  # tag, utf16 offset, entity
    position = 0
    while position < len(source):
        char = source[position]
        if char == "<":
            position = _tag(source, position, out, stack, entities)
        elif char == "&":
            position = _entity(source, position, out)
        else:
            out.append(char)
            position += 1
    if stack:
        raise EntityError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _byte_offset(source: str, position: int) -> int:
    return len(source[:position].encode())


def _tag(
    source: str,
    position: int,
    out: list[str],
    stack: list[tuple[str, int, dict[str, Any]]],
    entities: list[dict[str, Any]],
) -> int:
    found = _TAG.match(source, position)
    offset = _byte_offset(source, position)
    if not found:
        raise EntityError(f"Unclosed start tag at byte offset {offset}")
    closing, name, attrs = found.group(1) == "/", found.group(2).lower(), found.group(3)
    here = utf16_len("".join(out))
    if closing:
        if not stack or stack[-1][0] != name:
            expected = f'expected "</{stack[-1][0]}>", ' if stack else ""
            raise EntityError(
                f'Unmatched end tag at byte offset {offset}, {expected}found "</{name}>"'
            )
        _, start, entity = stack.pop()
        if here > start:
            entities.append({**entity, "offset": start, "length": here - start})
        return found.end()
    if name not in _TAGS or found.group(4):
        raise EntityError(f'Unsupported start tag "{name}" at byte offset {offset}')
    stack.append((name, here, _open_tag(name, _attributes(attrs), offset)))
    return found.end()


def _attributes(text: str) -> dict[str, str]:
    values = {}
    for match in _ATTR.finditer(text):
        raw = next((g for g in match.groups()[1:] if g is not None), "")
        values[match.group(1).lower()] = html.unescape(raw)
    return values


def _open_tag(name: str, attrs: dict[str, str], offset: int) -> dict[str, Any]:
    entity: dict[str, Any] = {"type": _TAGS[name]}
    if name == "a":
        href = attrs.get("href", "")
        if not re.match(r"^(https?|tg)://", href):
            raise EntityError(f"Wrong HTTP URL at byte offset {offset}")
        entity["url"] = href
    if name == "span" and attrs.get("class") != "tg-spoiler":
        raise EntityError(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
    if name == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    return entity


def _entity(source: str, position: int, out: list[str]) -> int:
    found = _ENTITY.match(source, position)
    if not found:
        raise EntityError(
            f"Can't find end of the entity starting at byte offset {_byte_offset(source, position)}"
        )
    decimal, hexadecimal, named = found.groups()
    if named is not None:
        if named.lower() not in _NAMED_ENTITIES:
            raise EntityError(
                f'Unsupported HTML entity "&{named};" at byte offset {_byte_offset(source, position)}'
            )
        out.append(_NAMED_ENTITIES[named.lower()])
    else:
        code = int(decimal) if decimal is not None else int(hexadecimal, 16)
        out.append(chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else "\ufffd")
    return found.end()


def _error(code: int, description: str, **parameters: Any) -> Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return Response(code, body)


def _ok(result: Any) -> Response:
    return Response(200, {"ok": True, "result": result})


class _ApiError(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__(response.body)
        self.response = response


@dataclass
class _Limits:
    """Telegram's flood control, as the fake enforces it."""

    recent: deque[float] = field(default_factory=deque)

    def check(self, chat: Chat, now: float) -> None:
        while self.recent and self.recent[0] <= now - 1.0:
            self.recent.popleft()
        if len(self.recent) >= GLOBAL_PER_SECOND:
            wait = max(1, math.ceil(self.recent[0] + 1.0 - now))
            raise _ApiError(_error(429, f"Too Many Requests: retry after {wait}", retry_after=wait))
        if now - chat.last_sent < CHAT_INTERVAL:
            wait = max(1, math.ceil(chat.last_sent + CHAT_INTERVAL - now))
            raise _ApiError(_error(429, f"Too Many Requests: retry after {wait}", retry_after=wait))

    def record(self, chat: Chat, now: float) -> None:
        self.recent.append(now)
        chat.last_sent = now


class FakeTelegram(FakeServer):
    """The Bot API on loopback. See the module docstring for the constructor."""

    def __init__(
        self,
        token: str = "123456:test-token",
        chats: Mapping[int | str, str | Mapping[str, Any]] | None = None,
        *,
        blocked: Iterable[int | str] = (),
        migrated: Mapping[int, int] | None = None,
        enforce_limits: bool = True,
        latency: float = 0.0,
    ) -> None:
        super().__init__(latency=latency)
        self.token = token
        self.enforce_limits = enforce_limits
        self.blocked = set(blocked)
        self.migrated = dict(migrated or {})
        self.messages: dict[int | str, list[SentMessage]] = {}
        self.edits: list[Edit] = []
        # deleteMessage: deleted messages; message ids too old to delete (over 48 hours) and
        # chats where the bot may not delete (neither its own messages nor an admin's right).
        self.deleted: list[SentMessage] = []
        self.too_old: set[int] = set()
        self.no_delete_right: set[int | str] = set()
        self.too_many_count = 0
        self._chats: dict[int | str, Chat] = {}
        self._limits = _Limits()
        self._state = threading.Lock()
        for key, value in (chats or {}).items():
            self.add_chat(key, value)
        for new_id in self.migrated.values():
            if self._find(new_id) is None:
                self.add_chat(new_id, f"supergroup {new_id}")
        self.route("POST", r"/bot(?P<token>[^/]*)/(?P<method>[A-Za-z]+)", self._serve_api)
        self.route("GET", r"/bot(?P<token>[^/]*)/(?P<method>[A-Za-z]+)", self._serve_api)

    # -- set-up ---------------------------------------------------------------

    def reset(self) -> None:
        """Forget everything received, queued faults, blocks and flood state; keep the chats.

        Lets a test module share one running server (stopping one costs half a second).
        """
        with self._lock, self._state:
            self.requests.clear()
            self._faults.clear()
            self.blocked.clear()
            self.edits.clear()
            self.deleted.clear()
            self.too_old.clear()
            self.no_delete_right.clear()
            self.too_many_count = 0
            self._limits = _Limits()
            for chat in self._chats.values():
                chat.next_message_id, chat.last_sent = 1, -math.inf
                self.messages[chat.key] = []

    def add_chat(self, key: int | str, value: str | Mapping[str, Any] = "") -> Chat:
        info = {"title": value} if isinstance(value, str) else dict(value)
        if isinstance(key, str):
            chat_id = int(info.get("id", -1001_000_000_000 - len(self._chats)))
            kind, username = info.get("type", "channel"), key.lstrip("@")
        else:
            chat_id, username = key, info.get("username", "")
            kind = info.get("type") or _type_of(key)
        chat = Chat(key, chat_id, kind, info.get("title") or str(key), username)
        self._chats[key] = chat
        self.messages.setdefault(key, [])
        return chat

    def to_chat(self, key: int | str) -> Callable[[Request], bool]:
        """For ``Fault.when``: a request addressed to this chat (by its key, its id or its @username)."""
        wanted = self.chat(key)

        def addressed(request: Request) -> bool:
            params = {k: v[-1] for k, v in request.query.items()} | request.form
            try:
                return self._target(params) is wanted
            except _ApiError:
                return False

        return addressed

    def chat(self, key: int | str) -> Chat:
        found = self._find(key)
        if found is None:
            raise KeyError(key)
        return found

    def _find(self, address: int | str) -> Chat | None:
        for chat in self._chats.values():
            if address in (chat.key, chat.id) or (
                isinstance(address, str)
                and chat.username
                and address.lower() == f"@{chat.username}".lower()
            ):
                return chat
        return None

    # -- serving --------------------------------------------------------------

    def _serve_api(self, request: Request, found: re.Match[str]) -> Response:
        token, method = found.group("token"), found.group("method")
        if not re.match(r"^\d+:[A-Za-z0-9_-]+$", token):
            return _error(404, "Not Found")
        if token != self.token:
            return _error(401, "Unauthorized")
        handler = self.methods().get(method.lower())
        if handler is None:
            return _error(404, "Not Found")
        params = {k: v[-1] for k, v in request.query.items()} | request.form
        try:
            with self._state:
                return handler(params)
        except _ApiError as exc:
            if exc.response.status == 429:
                self.too_many_count += 1
            return exc.response

    def methods(self) -> dict[str, Callable[[Mapping[str, Any]], Response]]:
        """The Bot API methods served, by lower-cased name; each runs holding ``_state``."""
        return {
            "getme": self._get_me,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "deletemessage": self._delete_message,
            "getchat": self._get_chat,
        }

    def _get_me(self, params: Mapping[str, Any]) -> Response:
        return _ok(
            {
                "id": int(self.token.split(":")[0]),
                "is_bot": True,
                "first_name": "Status",
                "username": BOT_ID_NAME,
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        )

    def _get_chat(self, params: Mapping[str, Any]) -> Response:
        chat = self._target(params)
        info = chat.as_json() | {
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }
        return _ok(info)

    def _send_message(self, params: Mapping[str, Any]) -> Response:
        chat = self._target(params)
        text, entities, source = _text(params)
        reply_to = self._reply_to(chat, params)
        now = time.monotonic()
        if self.enforce_limits:
            self._limits.check(chat, now)
        self._limits.record(chat, now)
        message = SentMessage(
            message_id=chat.next_message_id,
            chat_id=chat.id,
            html=source,
            text=text,
            entities=entities,
            reply_to_message_id=reply_to,
            time=now,
            disable_notification=_json(params.get("disable_notification")) is True,
            reply_markup=_markup(params.get("reply_markup")),
        )
        chat.next_message_id += 1
        self.messages[chat.key].append(message)
        return _ok(self._message_json(chat, message))

    def _to_edit(self, params: Mapping[str, Any]) -> tuple[Chat, SentMessage]:
        """The chat and the message an edit names; 400 "message to edit not found" if there is none."""
        chat = self._target(params)
        message_id = _int(params.get("message_id"))
        stored = next((m for m in self.messages[chat.key] if m.message_id == message_id), None)
        if stored is None:
            raise _ApiError(_error(400, "Bad Request: message to edit not found"))
        return chat, stored

    def _edit_message_text(self, params: Mapping[str, Any]) -> Response:
        chat, stored = self._to_edit(params)
        text, entities, source = _text(params)
        if text == stored.text and entities == stored.entities:
            raise _ApiError(
                _error(
                    400,
                    "Bad Request: message is not modified: specified new message content and "
                    "reply markup are exactly the same as a current content and reply markup "
                    "of the message",
                )
            )
        stored.html, stored.text, stored.entities = source, text, entities
        self.edits.append(Edit(chat.id, stored.message_id, source, text, time.monotonic()))
        return _ok(self._message_json(chat, stored) | {"edit_date": int(time.time())})

    def _delete_message(self, params: Mapping[str, Any]) -> Response:
        chat = self._target(params)
        message_id = _int(params.get("message_id"))
        stored = next((m for m in self.messages[chat.key] if m.message_id == message_id), None)
        if stored is None:
            raise _ApiError(_error(400, "Bad Request: message to delete not found"))
        if message_id in self.too_old or chat.key in self.no_delete_right or chat.id in self.no_delete_right:
            raise _ApiError(_error(400, "Bad Request: message can't be deleted"))
        self.messages[chat.key].remove(stored)
        self.deleted.append(stored)
        return _ok(True)

    # -- the rules ------------------------------------------------------------

    def _target(self, params: Mapping[str, Any]) -> Chat:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise _ApiError(_error(400, "Bad Request: chat_id is empty"))
        address: int | str = raw
        if isinstance(raw, str) and re.match(r"^-?\d+$", raw):
            address = int(raw)
        if isinstance(address, int) and address in self.migrated:
            raise _ApiError(
                _error(
                    400,
                    "Bad Request: group chat was upgraded to a supergroup chat",
                    migrate_to_chat_id=self.migrated[address],
                )
            )
        chat = self._find(address)
        if chat is None:
            raise _ApiError(_error(400, "Bad Request: chat not found"))
        if chat.key in self.blocked or chat.id in self.blocked:
            raise _ApiError(_error(403, "Forbidden: bot was blocked by the user"))
        return chat

    def _reply_to(self, chat: Chat, params: Mapping[str, Any]) -> int | None:
        reply = _json(params.get("reply_parameters"))
        if isinstance(reply, dict):
            message_id, allow = _int(reply.get("message_id")), reply.get("allow_sending_without_reply")
        elif params.get("reply_to_message_id") is not None:
            message_id = _int(params.get("reply_to_message_id"))
            allow = _json(params.get("allow_sending_without_reply"))
        else:
            return None
        if any(m.message_id == message_id for m in self.messages[chat.key]):
            return message_id
        if allow is True:
            return None
        raise _ApiError(_error(400, "Bad Request: message to be replied not found"))

    def _message_json(self, chat: Chat, message: SentMessage) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message_id": message.message_id,
            "date": int(time.time()),
            "chat": chat.as_json(),
            "text": message.text,
        }
        if message.entities:
            data["entities"] = message.entities
        if message.reply_markup:
            data["reply_markup"] = message.reply_markup
        if chat.type == "channel":
            data["sender_chat"] = chat.as_json()
        else:
            data["from"] = {"id": int(self.token.split(":")[0]), "is_bot": True,
                            "first_name": "Status", "username": BOT_ID_NAME}
        if message.reply_to_message_id is not None:
            data["reply_to_message"] = {
                "message_id": message.reply_to_message_id,
                "date": int(time.time()),
                "chat": chat.as_json(),
            }
        return data


def _type_of(chat_id: int) -> str:
    if chat_id > 0:
        return "private"
    return "supergroup" if str(chat_id).startswith("-100") else "group"


def _json(value: Any) -> Any:
    """A form field as PTB sends it: non-string values are JSON-encoded."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _markup(value: Any) -> dict[str, Any] | None:
    """An inline keyboard as Telegram checks it: rows of buttons, each with text and 1-64 bytes of callback_data."""
    markup = _json(value)
    if markup is None or markup == "":
        return None
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _ApiError(_error(400, "Bad Request: can't parse reply keyboard markup JSON object"))
    for button in (b for row in rows for b in row):
        data = button.get("callback_data") if isinstance(button, dict) else None
        if not isinstance(data, str) or not button.get("text") or not 1 <= len(data.encode()) <= 64:
            raise _ApiError(_error(400, "Bad Request: BUTTON_DATA_INVALID"))
    return dict(markup)


def _int(value: Any) -> int | None:
    try:
        return int(_json(value))
    except (TypeError, ValueError):
        return None


def _text(params: Mapping[str, Any]) -> tuple[str, list[dict[str, Any]], str]:
    source = params.get("text")
    source = "" if source is None else str(source)
    mode = str(params.get("parse_mode") or "").lower()
    if mode == "html":
        try:
            text, entities = parse_html(source)
        except EntityError as exc:
            raise _ApiError(_error(400, f"Bad Request: can't parse entities: {exc}")) from exc
    elif mode:
        raise _ApiError(_error(400, f"Bad Request: unsupported parse_mode {mode!r} in this fake"))
    else:
        text, entities = source, []
    if not text.strip():
        raise _ApiError(_error(400, "Bad Request: message text is empty"))
    if utf16_len(text) > MAX_TEXT:
        raise _ApiError(_error(400, "Bad Request: message is too long"))
    return text, entities, source
