"""A fake Matrix homeserver (client-server API v3) on loopback, for matrix-nio's AsyncClient.

Point the client's homeserver at ``fake.url``. Served, with the spec's shapes:

* ``GET /_matrix/client/v3/account/whoami`` -> ``{"user_id", "device_id"}``
* ``GET /_matrix/client/v3/joined_rooms`` -> ``{"joined_rooms": [...]}``
* ``PUT /_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId}`` -> ``{"event_id"}``
* ``PUT /_matrix/client/v3/rooms/{roomId}/redact/{eventId}/{txnId}`` -> ``{"event_id"}`` of the
  redaction; the event's content is emptied (``fake.redacted`` lists the ids), an event
  redacted before is accepted again, an unknown one is 404 ``M_NOT_FOUND``.
* ``GET /_matrix/client/v3/rooms/{roomId}/state/{eventType}/{stateKey}`` (only ``m.room.encryption``):
  its content, or 404 ``M_NOT_FOUND`` for an unencrypted room.

It checks what a homeserver checks: ``Authorization: Bearer`` (missing -> 401
``M_MISSING_TOKEN``, wrong -> 401 ``M_UNKNOWN_TOKEN``), membership (403
``M_FORBIDDEN``), an unknown room (404 ``M_NOT_FOUND``), a body that is not a
JSON object (400 ``M_NOT_JSON``), an event over 65,536 bytes (413
``M_TOO_LARGE``, counted as the content plus a typical envelope), and relations:
a thread must root on an existing event that is not itself in a relation; an
edit (``m.replace``) must name an existing event of the same sender and type that
is not an edit, and carry ``m.new_content`` (400 ``M_INVALID_PARAM`` otherwise).
A transaction id repeated by the same token answers with the first event, as
the spec requires, and stores nothing new.

Events are kept per room: ``fake.events["!room:hs"]`` lists ``MatrixEvent``.
``fake.rate_limit(...)`` queues a 429 ``M_LIMIT_EXCEEDED`` (``Retry-After``
header and/or ``retry_after_ms``); ``fake.fail(Fault(...))`` for 5xx, hangs, resets.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from tests.fakes.base import FakeServer, Fault, Request, Response
from tests.fakes.smtp import Markup

PREFIX = "/_matrix/client/v3"
MAX_EVENT_BYTES = 65536
ENVELOPE_BYTES = 1200  # what a real event adds around its content (ids, hashes, signatures, prev events)
# The spec's suggested allow-list for formatted_body (instant_messaging.md).
ALLOWED_TAGS = frozenset(
    "del h1 h2 h3 h4 h5 h6 blockquote p a ul ol sup sub li b i u strong em s code hr br div table thead tbody "
    "tr th td caption pre span img details summary".split()
)


@dataclass
class MatrixEvent:
    event_id: str
    room_id: str
    sender: str
    type: str
    content: dict[str, Any]
    txn_id: str

    @property
    def relation(self) -> dict[str, Any]:
        relates = self.content.get("m.relates_to")
        return relates if isinstance(relates, dict) else {}

    @property
    def markup(self) -> Markup:
        """The HTML of its formatted_body (an edit's new content too) as a client parses it."""
        new = self.content.get("m.new_content")
        extra = str(new.get("formatted_body", "")) if isinstance(new, dict) else ""
        return Markup(str(self.content.get("formatted_body", "")) + extra)

    @property
    def would_ping_room(self) -> bool:
        """Legacy push rules ping on "@room" in the body unless the event carries m.mentions."""
        return "m.mentions" not in self.content and "@room" in str(self.content.get("body", ""))


class MatrixError(Exception):
    def __init__(self, status: int, errcode: str, error: str) -> None:
        super().__init__(error)
        self.status, self.errcode, self.error = status, errcode, error


class FakeMatrix(FakeServer):
    """One homeserver with one bot account."""

    def __init__(self, token: str = "syt_test", rooms: Iterable[str] = ("!room:example.org",), latency: float = 0.0) -> None:
        super().__init__(latency=latency)
        self._store_lock = threading.Lock()
        self.user_id = "@status-bot:example.org"
        self.reset(token, rooms)
        self.route("GET", re.escape(PREFIX) + "/account/whoami", self._api(self._whoami))
        self.route("GET", re.escape(PREFIX) + "/joined_rooms", self._api(self._joined))
        self.route("PUT", re.escape(PREFIX) + r"/rooms/([^/]+)/send/([^/]+)/([^/]+)", self._api(self._send))
        self.route("PUT", re.escape(PREFIX) + r"/rooms/([^/]+)/redact/([^/]+)/([^/]+)", self._api(self._redact))
        self.route("GET", re.escape(PREFIX) + r"/rooms/([^/]+)/state/([^/]+)/?([^/]*)", self._api(self._state))

    def __enter__(self) -> FakeMatrix:
        self.start()
        return self

    def reset(self, token: str = "syt_test", rooms: Iterable[str] = ("!room:example.org",),
              joined: Iterable[str] | None = None, encrypted: Iterable[str] = ()) -> None:
        """Forget everything and set the server anew (one running server serves many tests)."""
        with self._lock, self._store_lock:
            self.requests.clear()
            self._faults.clear()
            self.token = token
            self.events: dict[str, list[MatrixEvent]] = {room: [] for room in rooms}
            self.joined: set[str] = set(self.events if joined is None else joined)
            self.encrypted: set[str] = set(encrypted)
            self._txns: dict[tuple[str, str], str] = {}
            self.redacted: list[str] = []
            self._ids: Iterator[int | str] = itertools.count(1)

    # -- inspection --------------------------------------------------------------------

    def event(self, event_id: str) -> MatrixEvent | None:
        return next((e for room in self.events.values() for e in room if e.event_id == event_id), None)

    def top_level(self, room: str) -> list[MatrixEvent]:
        return [e for e in self.events.get(room, []) if not e.relation]

    def thread(self, room: str, root: str) -> list[MatrixEvent]:
        return [e for e in self.events.get(room, [])
                if e.relation.get("rel_type") == "m.thread" and e.relation.get("event_id") == root]

    def edits(self, room: str, original: str) -> list[MatrixEvent]:
        return [e for e in self.events.get(room, [])
                if e.relation.get("rel_type") == "m.replace" and e.relation.get("event_id") == original]

    # -- faults ------------------------------------------------------------------------------

    def name_next_events(self, *names: str) -> None:
        """The next events are "$ev<name>-Xy_z", one per name, then numbered on: a homeserver's id as no other
        makes it (a lone surrogate, valid JSON: "\\ud800")."""
        with self._store_lock:
            self._ids = itertools.chain(names, self._ids)

    def rate_limit(self, retry_after: int | None = 3, retry_after_ms: int | None = None, match: str = "/send/") -> None:
        body: dict[str, Any] = {"errcode": "M_LIMIT_EXCEEDED", "error": "Too Many Requests"}
        if retry_after_ms is not None:
            body["retry_after_ms"] = retry_after_ms
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        self.fail(Fault(match=match, response=Response(429, body, headers=headers)))

    # -- serving -----------------------------------------------------------------------------------

    def _api(self, handler: Any) -> Any:
        def serve(request: Request, found: re.Match[str]) -> Response:
            try:
                self._authorise(request)
                return Response(200, handler(request, *(unquote(g) for g in found.groups())))
            except MatrixError as exc:
                return Response(exc.status, {"errcode": exc.errcode, "error": exc.error})
        return serve

    def _authorise(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            raise MatrixError(401, "M_MISSING_TOKEN", "Missing access token")
        if header.removeprefix("Bearer ") != self.token:
            raise MatrixError(401, "M_UNKNOWN_TOKEN", "Invalid access token passed.")

    def _room(self, room: str) -> list[MatrixEvent]:
        if room not in self.events:
            raise MatrixError(404, "M_NOT_FOUND", "Unknown room")
        if room not in self.joined:
            raise MatrixError(403, "M_FORBIDDEN", f"User {self.user_id} not in room {room}")
        return self.events[room]

    def _whoami(self, request: Request) -> dict[str, Any]:
        return {"user_id": self.user_id, "device_id": "BROADCAST", "is_guest": False}

    def _joined(self, request: Request) -> dict[str, Any]:
        return {"joined_rooms": sorted(self.joined)}

    def _state(self, request: Request, room: str, event_type: str, state_key: str) -> dict[str, Any]:
        self._room(room)
        if event_type == "m.room.encryption" and room in self.encrypted:
            return {"algorithm": "m.megolm.v1.aes-sha2"}
        raise MatrixError(404, "M_NOT_FOUND", "Event not found.")

    def _send(self, request: Request, room: str, event_type: str, txn: str) -> dict[str, Any]:
        with self._store_lock:
            events = self._room(room)
            if (self.token, txn) in self._txns:
                return {"event_id": self._txns[(self.token, txn)]}
            content = self._content(request)
            self._check(events, event_type, content)
            event = MatrixEvent(f"$ev{next(self._ids)}-Xy_z", room, self.user_id, event_type, content, txn)
            events.append(event)
            self._txns[(self.token, txn)] = event.event_id
            return {"event_id": event.event_id}

    def _redact(self, request: Request, room: str, event_id: str, txn: str) -> dict[str, Any]:
        with self._store_lock:
            events = self._room(room)
            if (self.token, txn) in self._txns:
                return {"event_id": self._txns[(self.token, txn)]}
            target = next((e for e in events if e.event_id == event_id), None)
            if target is None:
                raise MatrixError(404, "M_NOT_FOUND", "Event not found.")
            if target.sender != self.user_id:
                raise MatrixError(403, "M_FORBIDDEN", "You don't have permission to redact events")
            target.content = {}
            self.redacted.append(event_id)
            redaction = f"$red{next(self._ids)}-Xy_z"
            self._txns[(self.token, txn)] = redaction
            return {"event_id": redaction}

    @staticmethod
    def _content(request: Request) -> dict[str, Any]:
        try:
            content = json.loads(request.body)
        except ValueError:
            raise MatrixError(400, "M_NOT_JSON", "Content not JSON.") from None
        if not isinstance(content, dict):
            raise MatrixError(400, "M_BAD_JSON", "Content must be a JSON object.")
        size = len(json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()) + ENVELOPE_BYTES
        if size > MAX_EVENT_BYTES:
            raise MatrixError(413, "M_TOO_LARGE", "event too large")
        return content

    def _check(self, events: list[MatrixEvent], event_type: str, content: dict[str, Any]) -> None:
        if event_type == "m.room.message":
            if not isinstance(content.get("msgtype"), str) or not isinstance(content.get("body"), str):
                raise MatrixError(400, "M_BAD_JSON", "m.room.message needs msgtype and body")
            if "format" in content and (content["format"] != "org.matrix.custom.html"
                                        or not isinstance(content.get("formatted_body"), str)):
                raise MatrixError(400, "M_BAD_JSON", "format needs formatted_body")
        relation = content.get("m.relates_to")
        if not isinstance(relation, dict):
            return
        target = next((e for e in events if e.event_id == relation.get("event_id")), None)
        kind = relation.get("rel_type")
        if kind == "m.thread" and (target is None or target.relation.get("rel_type") in ("m.thread", "m.replace")):
            raise MatrixError(400, "M_INVALID_PARAM", "Cannot start threads from an event with a relation")
        if kind == "m.replace":
            if target is None or target.sender != self.user_id or target.type != event_type:
                raise MatrixError(400, "M_INVALID_PARAM", "Edits must name an event of the same sender and type")
            if target.relation.get("rel_type") == "m.replace" or not isinstance(content.get("m.new_content"), dict):
                raise MatrixError(400, "M_INVALID_PARAM", "An edit needs m.new_content and cannot edit an edit")
