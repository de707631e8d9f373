"""A fake Slack Web API on loopback, for slack-sdk's AsyncWebClient.

Point the client at ``fake.api_url`` (``http://127.0.0.1:PORT/api/``); the SDK
joins method names to it, so requests arrive at ``/api/chat.postMessage`` and
so on, as at ``https://slack.com/api/``. Methods served, with Slack's shapes:

* ``POST chat.postMessage`` (JSON body): ``channel`` by id (``C0123``) or name
  (``#status`` / ``status``), ``text`` and/or ``blocks``, ``thread_ts``,
  ``reply_broadcast``. Answers ``{"ok": true, "channel": "C0123", "ts": ...,
  "message": {...}}`` with a fresh, increasing ts.
* ``POST chat.update``: ``channel`` (an id, as Slack requires), ``ts``,
  ``text``/``blocks``; unknown ts -> ``message_not_found``.
* ``POST chat.delete``: ``channel`` (an id), ``ts``; unknown ts -> ``message_not_found``,
  a ts in ``undeletable`` -> ``cant_delete_message`` (another user's message). Answers
  ``{"ok": true, "channel", "ts"}`` and moves the message to ``deleted``.
* ``chat.getPermalink``: ``channel`` (an id), ``message_ts``; the message's link as Slack gives it
  (``https://example.slack.com/archives/C0123/p1700000001000001``, a reply's with
  ``?thread_ts=<parent ts>&cid=C0123``); unknown ts -> ``message_not_found``.
* ``auth.test``, ``conversations.info`` (an id; a name is ``channel_not_found``
  as at Slack) and ``conversations.list`` (paginated by ``limit``/``cursor``; ``types``
  as at Slack, public channels by default; a private ``G...`` channel only to a member).

It checks what Slack checks: ``Authorization: Bearer <token>`` (missing ->
``not_authed``, wrong -> ``invalid_auth``; Slack answers these with HTTP 200
and ``ok: false``), the channel (``channel_not_found``, ``not_in_channel``,
``is_archived``), ``thread_not_found``, text over 40,000 characters
(``msg_too_long``), and Block Kit: at most 50 blocks, header text plain_text
of 1-150 characters, section text 1-3000, at most 10 fields of 1-2000, text
object types, ``verbatim``/``emoji`` only where allowed -> ``invalid_blocks``
with Slack's ``errors`` list. Lengths are counted in Python characters.

What was posted is kept per channel id: ``fake.messages["C0123"]`` is a list
of ``SlackMessage`` (ts, text, blocks, thread_ts, reply_broadcast, edits).
Each also lists the control sequences Slack would act on (``controls``:
``<!channel>``, ``<@U1>``, ``<url|label>`` found in mrkdwn), so a test can
prove that a message pings nobody.

Constructor: ``FakeSlack(token="xoxb-test", channels={"C0123": "status"},
member_of=None, archived=(), latency=0.0)``; ``member_of=None`` means the bot
is in every channel. ``fake.reset(...)`` (same keywords, bar latency) forgets
everything, so one running server can serve many tests. Faults:
``fake.rate_limit(retry_after, method)`` queues a 429 with ``Retry-After``;
``fake.fail(Fault(...))`` (from the base) for 5xx, hangs and resets.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.base import FakeServer, Fault, Request, Response

MAX_BLOCKS = 50
MAX_HEADER = 150
MAX_SECTION = 3000
MAX_FIELDS = 10
MAX_FIELD = 2000
MAX_CONTEXT_ELEMENTS = 10
MAX_TEXT = 40000
_CONTROL = re.compile(r"<([^<>]*)>")
_TEXT_TYPES = ("plain_text", "mrkdwn")
_BLOCK_TYPES = ("header", "section", "context", "divider")


@dataclass
class SlackMessage:
    """One message as Slack stored it; ``edits`` holds each earlier version."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    reply_broadcast: bool = False
    edits: list[dict[str, Any]] = field(default_factory=list)

    @property
    def controls(self) -> list[str]:
        """The ``<...>`` sequences Slack would act on: mentions, links, dates."""
        found = [m.group(1) for m in _CONTROL.finditer(self.text)]
        for text in mrkdwn_texts(self.blocks):
            found += [m.group(1) for m in _CONTROL.finditer(text)]
        return found

    @property
    def mentions(self) -> list[str]:
        """Controls that would notify someone: ``!channel``, ``!here``, ``@U123``, ``!subteam^S1``."""
        return [c for c in self.controls if c.startswith(("@", "!")) and not c.startswith("!date^")]

    @property
    def all_text(self) -> str:
        """Every string the message shows, joined: what a test searches for leaks."""
        return "\n".join([self.text, *all_texts(self.blocks)])


def all_texts(blocks: Iterable[Any]) -> list[str]:
    texts: list[str] = []
    for block in blocks:
        if not isinstance(block, dict):
            continue
        objects = [block.get("text"), *(block.get("fields") or []), *(block.get("elements") or [])]
        texts += [
            o["text"] for o in objects if isinstance(o, dict) and isinstance(o.get("text"), str)
        ]
    return texts


def mrkdwn_texts(blocks: Iterable[Any]) -> list[str]:
    texts: list[str] = []
    for block in blocks:
        if not isinstance(block, dict):
            continue
        objects = [block.get("text"), *(block.get("fields") or []), *(block.get("elements") or [])]
        texts += [o["text"] for o in objects if isinstance(o, dict) and o.get("type") == "mrkdwn"]
    return texts


class SlackError(Exception):
    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra


class FakeSlack(FakeServer):
    """Slack's Web API for one workspace with one bot token."""

    def __init__(
        self,
        token: str = "xoxb-test",
        channels: Mapping[str, str] | None = None,
        member_of: Iterable[str] | None = None,
        archived: Iterable[str] = (),
        latency: float = 0.0,
    ) -> None:
        super().__init__(latency=latency)
        self._store_lock = threading.Lock()
        self.team = "Example Inc"
        self.bot_user = "broadcaster"
        self.reset(token, channels, member_of, archived)
        for method, handler in (
            ("chat.postMessage", self._post_message),
            ("chat.update", self._update),
            ("chat.delete", self._delete),
            ("chat.getPermalink", self._permalink),
            ("auth.test", self._auth_test),
            ("conversations.info", self._conversations_info),
            ("conversations.list", self._conversations_list),
        ):
            for verb in ("GET", "POST"):
                self.route(verb, "/api/" + re.escape(method), self._api(handler))

    def reset(
        self,
        token: str = "xoxb-test",
        channels: Mapping[str, str] | None = None,
        member_of: Iterable[str] | None = None,
        archived: Iterable[str] = (),
    ) -> None:
        """Forget everything (messages, requests, queued faults) and set the workspace anew.

        Lets one running server serve many tests: starting and stopping one costs ~0.5 s.
        """
        with self._lock, self._store_lock:
            self.requests.clear()
            self._faults.clear()
            self.token = token
            self.channels: dict[str, str] = dict(
                channels if channels is not None else {"C0123": "status"}
            )
            self.member_of: set[str] = set(self.channels if member_of is None else member_of)
            self.archived: set[str] = set(archived)
            self.messages: dict[str, list[SlackMessage]] = {cid: [] for cid in self.channels}
            self.deleted: list[SlackMessage] = []
            self.undeletable: set[str] = set()
            self._ts = itertools.count(1)

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    # -- inspection ---------------------------------------------------------------

    def top_level(self, channel_id: str) -> list[SlackMessage]:
        return [m for m in self.messages.get(channel_id, []) if m.thread_ts is None]

    def replies(self, channel_id: str, thread_ts: str) -> list[SlackMessage]:
        return [m for m in self.messages.get(channel_id, []) if m.thread_ts == thread_ts]

    def message(self, channel_id: str, ts: str) -> SlackMessage | None:
        return next((m for m in self.messages.get(channel_id, []) if m.ts == ts), None)

    # -- faults -------------------------------------------------------------------

    def rate_limit(self, retry_after: int = 30, method: str = "") -> Fault:
        """Queue one HTTP 429 as Slack sends it (Retry-After header, ``ratelimited``)."""
        fault = Fault(
            match=method,
            response=Response(
                429,
                {"ok": False, "error": "ratelimited"},
                headers={"Retry-After": str(retry_after)},
            ),
        )
        self.fail(fault)
        return fault

    # -- plumbing -----------------------------------------------------------------

    def _api(self, handler: Any) -> Any:
        def serve(request: Request, _match: re.Match[str]) -> Response:
            params = self._params(request)
            try:
                self._authenticate(request, params)
                body = handler(params)
            except SlackError as exc:
                return Response(200, {"ok": False, "error": exc.code, **exc.extra})
            return Response(200, {"ok": True, **body})

        return serve

    @staticmethod
    def _params(request: Request) -> dict[str, Any]:
        params: dict[str, Any] = {k: v[0] for k, v in request.query.items()}
        params.update(request.form)
        return params

    def _authenticate(self, request: Request, params: dict[str, Any]) -> None:
        header = request.headers.get("authorization", "")
        token = (
            header.removeprefix("Bearer ").strip()
            if header.startswith("Bearer ")
            else params.get("token", "")
        )
        if not token:
            raise SlackError("not_authed")
        if token != self.token:
            raise SlackError("invalid_auth")

    def _resolve(self, channel: Any, *, by_name: bool) -> str:
        if not isinstance(channel, str) or not channel:
            raise SlackError("channel_not_found")
        if channel in self.channels:
            return channel
        name = channel.removeprefix("#")
        for cid, known in self.channels.items():
            if by_name and known == name:
                return cid
        raise SlackError("channel_not_found")

    def _next_ts(self) -> str:
        n = next(self._ts)
        return f"{1700000000 + n}.{n:06d}"

    # -- methods ------------------------------------------------------------------

    def _post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        cid = self._resolve(params.get("channel"), by_name=True)
        if cid in self.archived:
            raise SlackError("is_archived")
        if cid not in self.member_of:
            raise SlackError("not_in_channel")
        text, blocks = self._content(params)
        thread_ts = params.get("thread_ts")
        with self._store_lock:
            if thread_ts is not None and self.message(cid, str(thread_ts)) is None:
                raise SlackError("thread_not_found")
            message = SlackMessage(
                channel=cid,
                ts=self._next_ts(),
                text=text,
                blocks=blocks,
                thread_ts=str(thread_ts) if thread_ts is not None else None,
                reply_broadcast=bool(params.get("reply_broadcast")) and thread_ts is not None,
            )
            self.messages.setdefault(cid, []).append(message)
        return {"channel": cid, "ts": message.ts, "message": self._shape(message)}

    def _update(self, params: dict[str, Any]) -> dict[str, Any]:
        cid = self._resolve(params.get("channel"), by_name=False)
        text, blocks = self._content(params)
        with self._store_lock:
            message = self.message(cid, str(params.get("ts", "")))
            if message is None:
                raise SlackError("message_not_found")
            message.edits.append({"text": message.text, "blocks": message.blocks})
            message.text, message.blocks = text, blocks
        return {"channel": cid, "ts": message.ts, "text": text, "message": self._shape(message)}

    def _delete(self, params: dict[str, Any]) -> dict[str, Any]:
        cid = self._resolve(params.get("channel"), by_name=False)
        ts = str(params.get("ts", ""))
        with self._store_lock:
            message = self.message(cid, ts)
            if message is None:
                raise SlackError("message_not_found")
            if ts in self.undeletable:
                raise SlackError("cant_delete_message")
            self.messages[cid].remove(message)
            self.deleted.append(message)
        return {"channel": cid, "ts": ts}

    def _permalink(self, params: dict[str, Any]) -> dict[str, Any]:
        cid = self._resolve(params.get("channel"), by_name=False)
        message = self.message(cid, str(params.get("message_ts", "")))
        if message is None:
            raise SlackError("message_not_found")
        link = f"https://example.slack.com/archives/{cid}/p{message.ts.replace('.', '')}"
        if message.thread_ts and message.thread_ts != message.ts:
            link += f"?thread_ts={message.thread_ts}&cid={cid}"
        return {"channel": cid, "permalink": link}

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://example.slack.com/",
            "team": self.team,
            "user": self.bot_user,
            "team_id": "T0001",
            "user_id": "U0BOT",
            "bot_id": "B0BOT",
            "is_enterprise_install": False,
        }

    def _conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "channel": self._channel_object(self._resolve(params.get("channel"), by_name=False))
        }

    def _conversations_list(self, params: dict[str, Any]) -> dict[str, Any]:
        # As Slack: ``types`` defaults to public channels, and a private channel is listed
        # only to a member (the bot cannot see, nor post in, one it was not invited to).
        types = set(str(params.get("types") or "public_channel").split(","))
        ids = [cid for cid in sorted(self.channels)
               if ("private_channel" if self._is_private(cid) else "public_channel") in types
               and (not self._is_private(cid) or cid in self.member_of)]
        if str(params.get("exclude_archived", "")).lower() in ("1", "true"):
            ids = [cid for cid in ids if cid not in self.archived]
        start = int(params.get("cursor") or 0)
        limit = max(1, min(int(params.get("limit") or 100), 1000))
        page = ids[start : start + limit]
        cursor = str(start + limit) if start + limit < len(ids) else ""
        return {
            "channels": [self._channel_object(cid) for cid in page],
            "response_metadata": {"next_cursor": cursor},
        }

    @staticmethod
    def _is_private(cid: str) -> bool:
        return cid.startswith("G")

    def _channel_object(self, cid: str) -> dict[str, Any]:
        return {
            "id": cid,
            "name": self.channels[cid],
            "is_channel": True,
            "is_private": self._is_private(cid),
            "is_archived": cid in self.archived,
            "is_member": cid in self.member_of,
        }

    @staticmethod
    def _shape(message: SlackMessage) -> dict[str, Any]:
        shaped: dict[str, Any] = {
            "type": "message",
            "subtype": "bot_message",
            "text": message.text,
            "ts": message.ts,
            "bot_id": "B0BOT",
            "blocks": message.blocks,
        }
        if message.thread_ts:
            shaped["thread_ts"] = message.thread_ts
        return shaped

    # -- validation ---------------------------------------------------------------

    def _content(self, params: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        text = params.get("text") or ""
        blocks = params.get("blocks")
        if not isinstance(text, str):
            raise SlackError("invalid_arguments")
        if blocks is None and not text:
            raise SlackError("no_text")
        if len(text) > MAX_TEXT:
            raise SlackError("msg_too_long")
        if blocks is not None:
            errors = block_errors(blocks)
            if errors:
                raise SlackError(
                    "invalid_blocks",
                    errors=errors,
                    response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
                )
        return text, list(blocks or [])


def block_errors(blocks: Any) -> list[str]:
    """What Slack would say is wrong with ``blocks``; empty when it would accept them."""
    if not isinstance(blocks, list):
        return ["must be an array [json-pointer:/blocks]"]
    errors: list[str] = []
    if len(blocks) > MAX_BLOCKS:
        errors.append(f"no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]")
    for index, block in enumerate(blocks):
        errors += _block_errors(block, f"/blocks/{index}")
    return errors


def _block_errors(block: Any, where: str) -> list[str]:
    if not isinstance(block, dict) or block.get("type") not in _BLOCK_TYPES:
        return [f"unsupported type [json-pointer:{where}/type]"]
    kind = block["type"]
    if kind == "header":
        return _text_errors(block.get("text"), f"{where}/text", MAX_HEADER, types=("plain_text",))
    if kind == "section":
        return _section_errors(block, where)
    if kind == "context":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= MAX_CONTEXT_ELEMENTS:
            return [
                f"must have 1 to {MAX_CONTEXT_ELEMENTS} elements [json-pointer:{where}/elements]"
            ]
        errors: list[str] = []
        for i, element in enumerate(elements):
            errors += _text_errors(element, f"{where}/elements/{i}", MAX_SECTION)
        return errors
    extra = set(block) - {"type", "block_id"}
    return [f"unexpected {sorted(extra)} [json-pointer:{where}]"] if extra else []


def _section_errors(block: dict[str, Any], where: str) -> list[str]:
    if "text" not in block and "fields" not in block:
        return [f"must provide text or fields [json-pointer:{where}]"]
    errors: list[str] = []
    if "text" in block:
        errors += _text_errors(block["text"], f"{where}/text", MAX_SECTION)
    if "fields" in block:
        fields = block["fields"]
        if not isinstance(fields, list) or not 1 <= len(fields) <= MAX_FIELDS:
            return [*errors, f"must have 1 to {MAX_FIELDS} items [json-pointer:{where}/fields]"]
        for i, item in enumerate(fields):
            errors += _text_errors(item, f"{where}/fields/{i}", MAX_FIELD)
    return errors


def _text_errors(
    obj: Any, where: str, limit: int, types: tuple[str, ...] = _TEXT_TYPES
) -> list[str]:
    if not isinstance(obj, dict) or obj.get("type") not in types:
        return [f"must be a text object of type {' or '.join(types)} [json-pointer:{where}/type]"]
    text = obj.get("text")
    if not isinstance(text, str) or not 1 <= len(text) <= limit:
        return [f"must be between 1 and {limit} characters [json-pointer:{where}/text]"]
    if "verbatim" in obj and obj["type"] != "mrkdwn":
        return [f"verbatim is only allowed on mrkdwn [json-pointer:{where}/verbatim]"]
    if "emoji" in obj and obj["type"] != "plain_text":
        return [f"emoji is only allowed on plain_text [json-pointer:{where}/emoji]"]
    return []
