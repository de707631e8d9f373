"""A fake Discord webhook API on loopback, as an incoming webhook sees it.

Point a channel at it with ``api_url = fake.api_url`` (``http://127.0.0.1:PORT/api``);
the webhook URL's id and token are checked as Discord checks them. Routes, with
Discord's shapes (discord-api-docs ``resources/webhook.mdx``):

* ``POST /api/webhooks/{id}/{token}[?wait=true][&thread_id=T]``: execute. With
  ``wait=true`` answers 200 and the message object (``id``, ``channel_id``,
  ``embeds``...), without it 204 and no body. ``thread_name`` opens a forum post
  (the thread's id is the starter message's id, as at Discord).
* ``PATCH /api/webhooks/{id}/{token}/messages/{message_id}[?thread_id=T]``: edit.
* ``DELETE /api/webhooks/{id}/{token}/messages/{message_id}[?thread_id=T]``: delete,
  204 and no body (kept in ``fake.deleted``).
* ``GET /api/webhooks/{id}/{token}``: the webhook object (no ``user``).
* ``GET /api/webhooks/{id}/{token}/messages/{message_id}[?thread_id=T]``: the webhook's own message, as
  Discord answers it (``id``, ``channel_id``, ``webhook_id``...); another webhook's message, or one not in
  that channel or thread, -> 404 code 10008, as Discord answers both.

It validates like Discord: a wrong token -> 401 code 50027, an unknown webhook
-> 404 code 10015, an unknown message -> 404 code 10008, an unknown thread ->
404 code 10003; an empty message -> 400 code 50006; content over 2,000, more
than 10 embeds, any embed limit (title 256, description 4,096, 25 fields of
256/1,024, footer 2,048, 6,000 in all) -> 400 code 50035 with an ``errors``
tree; in a forum, a post without ``thread_id`` or ``thread_name`` -> 400 code
220001; ``thread_name`` outside a forum -> 400 code 220003. Lengths count UTF-16
units (Discord is JavaScript).

What was posted is kept: ``fake.messages`` (``DiscordMessage``: channel,
body, edits). ``DiscordMessage.pings`` lists the mentions Discord would notify,
given the body's ``allowed_mentions`` (Discord parses every kind when it is
absent); ``shown`` is what readers see of the embed's texts, escapes undone.
``fake.rate_limit(retry_after)`` queues a 429 as Discord sends one.
"""

from __future__ import annotations

import itertools
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.base import FakeServer, Fault, Request, Response

MAX_CONTENT = 2000
MAX_EMBEDS = 10
EMBED_LIMITS = {"title": 256, "description": 4096}
MAX_FIELDS, MAX_FIELD_NAME, MAX_FIELD_VALUE, MAX_FOOTER, MAX_TOTAL = 25, 256, 1024, 2048, 6000
_MENTION = re.compile(r"(?<!\\)(@everyone|@here|<@[!&]?\d+>)")
_ESCAPE = re.compile(r"\\([^0-9A-Za-z\s])")


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class DiscordMessage:
    id: str
    channel_id: str
    body: dict[str, Any]
    edits: list[dict[str, Any]] = field(default_factory=list)
    webhook_id: str = ""  # the webhook that posted it: only it may read (GET) it

    def texts(self) -> list[str]:
        found = [str(self.body.get("content") or "")]
        for embed in self.body.get("embeds") or []:
            found += [str(embed.get("title", "")), str(embed.get("description", ""))]
            found += [str(f.get(k, "")) for f in embed.get("fields") or [] for k in ("name", "value")]
            found.append(str((embed.get("footer") or {}).get("text", "")))
        return found

    @property
    def shown(self) -> str:
        """Every text as readers see it: Discord drops a backslash before punctuation."""
        return "\n".join(_ESCAPE.sub(r"\1", t) for t in self.texts())

    @property
    def pings(self) -> list[str]:
        """Mentions Discord would notify: parsed in the content (embeds never ping) unless allowed_mentions stops it."""
        allowed = self.body.get("allowed_mentions")
        if allowed is not None and not allowed.get("parse") and not allowed.get("users") and not allowed.get("roles"):
            return []
        return _MENTION.findall(str(self.body.get("content") or ""))

    @property
    def embed(self) -> dict[str, Any]:
        return dict(self.body["embeds"][0])


class DiscordError(Exception):
    def __init__(self, status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.response = Response(status, {"message": message, "code": code, **({"errors": errors} if errors else {})})


class FakeDiscord(FakeServer):
    """One guild's webhook into one channel (``forum=True``: a forum channel)."""

    def __init__(self, webhook_id: str = "123456789012345678", token: str = "T" * 68, *, forum: bool = False,
                 latency: float = 0.0) -> None:
        super().__init__(latency=latency)
        self.webhook_id, self.token, self.forum = webhook_id, token, forum
        self.channel_id = "900000000000000001"
        self.other_webhooks: dict[str, str] = {}  # more webhooks into the same channel: id -> token
        self.threads: set[str] = set()
        self.messages: list[DiscordMessage] = []
        self.deleted: list[DiscordMessage] = []
        self._ids = itertools.count(1)
        self._store = threading.Lock()
        base = r"/api/webhooks/(?P<id>\d+)/(?P<token>[^/]+)"
        self.route("POST", base, self._guarded(self._execute))
        self.route("PATCH", base + r"/messages/(?P<message>\d+)", self._guarded(self._edit))
        self.route("DELETE", base + r"/messages/(?P<message>\d+)", self._guarded(self._delete))
        self.route("GET", base, self._guarded(self._get))
        self.route("GET", base + r"/messages/(?P<message>\d+)", self._guarded(self._get_message))

    @property
    def api_url(self) -> str:
        return f"{self.url}/api"

    @property
    def webhook_url(self) -> str:
        """The URL as Discord shows it (the channel's api_url points it here)."""
        return f"https://discord.com/api/webhooks/{self.webhook_id}/{self.token}"

    def open_thread(self, thread_id: str = "900000000000000077") -> str:
        self.threads.add(thread_id)
        return thread_id

    def in_channel(self, channel_id: str) -> list[DiscordMessage]:
        return [m for m in self.messages if m.channel_id == channel_id]

    def rate_limit(self, retry_after: float = 2.5) -> Fault:
        fault = Fault(response=Response(
            429, {"message": "You are being rate limited.", "retry_after": retry_after, "global": False},
            headers={"Retry-After": str(int(retry_after) + 1), "X-RateLimit-Scope": "user"},
        ))
        self.fail(fault)
        return fault

    # -- plumbing -------------------------------------------------------------------

    def _guarded(self, handler: Any) -> Any:
        def serve(request: Request, found: re.Match[str]) -> Response:
            try:
                tokens = {self.webhook_id: self.token, **self.other_webhooks}
                if found.group("id") not in tokens:
                    raise DiscordError(404, 10015, "Unknown Webhook")
                if found.group("token") != tokens[found.group("id")]:
                    raise DiscordError(401, 50027, "Invalid Webhook Token")
                return handler(request, found)  # type: ignore[no-any-return]
            except DiscordError as exc:
                return exc.response

        return serve

    def _thread_of(self, request: Request) -> str:
        thread = (request.query.get("thread_id") or [""])[0]
        if thread and thread not in self.threads:
            raise DiscordError(404, 10003, "Unknown Channel")
        return thread

    # -- routes ---------------------------------------------------------------------

    def _execute(self, request: Request, found: re.Match[str]) -> Response:
        body = request.json()
        thread = self._thread_of(request)
        validate(body)
        name = body.get("thread_name")
        if name is not None and not self.forum:
            raise DiscordError(400, 220003, "Webhooks can only create threads in forum channels")
        if self.forum and not thread and not name:
            raise DiscordError(400, 220001, "Webhooks posted to forum channels must have a thread_name or thread_id")
        with self._store:
            message_id = str(1_200_000_000_000_000_000 + next(self._ids))
            channel = thread or (message_id if name else self.channel_id)
            if name:
                self.threads.add(message_id)
            message = DiscordMessage(message_id, channel, body, webhook_id=found.group("id"))
            self.messages.append(message)
        if (request.query.get("wait") or [""])[0] != "true":
            return Response(204, b"")
        return Response(200, {"id": message_id, "channel_id": channel, "webhook_id": found.group("id"), **body})

    def _edit(self, request: Request, found: re.Match[str]) -> Response:
        body = request.json()
        thread = self._thread_of(request) or self.channel_id
        validate(body, editing=True)
        message = next((m for m in self.messages if m.id == found.group("message") and m.channel_id == thread), None)
        if message is None:
            raise DiscordError(404, 10008, "Unknown Message")
        with self._store:
            message.edits.append(message.body)
            message.body = {**message.body, **body}
        return Response(200, {"id": message.id, "channel_id": message.channel_id, **message.body})

    def _delete(self, request: Request, found: re.Match[str]) -> Response:
        thread = self._thread_of(request) or self.channel_id
        with self._store:
            message = next((m for m in self.messages if m.id == found.group("message") and m.channel_id == thread), None)
            if message is None:
                raise DiscordError(404, 10008, "Unknown Message")
            self.messages.remove(message)
            self.deleted.append(message)
        return Response(204, b"")

    def _get_message(self, request: Request, found: re.Match[str]) -> Response:
        thread = self._thread_of(request) or self.channel_id
        message = next((m for m in self.messages if m.id == found.group("message") and m.channel_id == thread
                        and m.webhook_id in ("", found.group("id"))), None)
        if message is None:
            raise DiscordError(404, 10008, "Unknown Message")
        return Response(200, {"id": message.id, "type": 0, "channel_id": message.channel_id,
                              "webhook_id": message.webhook_id or self.webhook_id, **message.body})

    def _get(self, _request: Request, found: re.Match[str]) -> Response:
        return Response(200, {"id": found.group("id"), "type": 1, "name": "Status", "channel_id": self.channel_id,
                              "guild_id": "800000000000000001", "token": found.group("token")})


def validate(body: Any, *, editing: bool = False) -> None:
    """Discord's checks of a message body; DiscordError(400) for the first that fails."""
    if not isinstance(body, dict):
        raise DiscordError(400, 50109, "The request body contains invalid JSON.")
    content, embeds = str(body.get("content") or ""), body.get("embeds") or []
    if not editing and not content.strip() and not embeds:
        raise DiscordError(400, 50006, "Cannot send an empty message")
    if units(content) > MAX_CONTENT:
        raise _form_error("content", f"Must be {MAX_CONTENT} or fewer in length.")
    if len(embeds) > MAX_EMBEDS:
        raise _form_error("embeds", f"Must be {MAX_EMBEDS} or fewer in length.")
    total = 0
    for index, embed in enumerate(embeds):
        total += _embed_size(embed, f"embeds.{index}")
    if total > MAX_TOTAL:
        raise _form_error("embeds", f"Embed size exceeds maximum size of {MAX_TOTAL}")


def _embed_size(embed: dict[str, Any], where: str) -> int:
    size = 0
    for key, limit in EMBED_LIMITS.items():
        size += _checked(str(embed.get(key, "")), limit, f"{where}.{key}")
    fields = embed.get("fields") or []
    if len(fields) > MAX_FIELDS:
        raise _form_error(f"{where}.fields", f"Must be {MAX_FIELDS} or fewer in length.")
    for index, item in enumerate(fields):
        name, value = str(item.get("name", "")), str(item.get("value", ""))
        if not name.strip() or not value.strip():
            raise _form_error(f"{where}.fields.{index}", "This field is required")
        size += _checked(name, MAX_FIELD_NAME, f"{where}.fields.{index}.name")
        size += _checked(value, MAX_FIELD_VALUE, f"{where}.fields.{index}.value")
    size += _checked(str((embed.get("footer") or {}).get("text", "")), MAX_FOOTER, f"{where}.footer.text")
    if "color" in embed and not (isinstance(embed["color"], int) and 0 <= embed["color"] <= 0xFFFFFF):
        raise _form_error(f"{where}.color", "Value is not a valid color.")
    return size


def _checked(text: str, limit: int, where: str) -> int:
    if units(text.strip()) > limit:
        raise _form_error(where, f"Must be {limit} or fewer in length.")
    return units(text.strip())


def _form_error(where: str, message: str) -> DiscordError:
    tree: dict[str, Any] = {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": message}]}
    for part in reversed(where.split(".")):
        tree = {part: tree}
    return DiscordError(400, 50035, "Invalid Form Body", tree)
