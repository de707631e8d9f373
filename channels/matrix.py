"""Matrix: one room, one thread per incident, corrections as edits.

Config (``[channels.NAME]`` with ``type = "matrix"``)::

    homeserver = "https://matrix.example.org"   # the account's homeserver (client-server API root)
    access_token = "${MATRIX_TOKEN}"            # the bot account's access token
    room_id = "!AbCdEf:example.org"              # the room's internal id; invite the bot and let it join

The first update of an incident is a message in the room; later ones go in its
thread (``m.thread``, replying to the latest for clients without threads). A
correction edits the message it corrects (``m.replace``); Matrix keeps earlier
versions as edit history visible to room members, as the README says. A withdrawal
redacts each message and each edit broadcaster made of it: redacting the message
alone hides its edits in Element, but the edit events keep the corrected text for
other clients and for ``/messages``.

Every send carries a transaction id made from the delivery (channel, room,
incident, update): the homeserver answers a repeated one with the first event
instead of posting twice, so a send repeated soon after an answer was lost
shows nothing twice. End-to-end encrypted rooms are not supported (``check``
fails one): members would see every update flagged as unencrypted.

matrix-nio is imported when the client is built (it loads jsonschema and aiohttp).
nio's own retry loops (forever, on 429 and timeouts) are switched off: the engine
owns retries. Remote ids are ``"<room id>/<event id>"``, as matrix.to links
name an event; a correction edited in place is ``"<room id>/<message's event id>/<edit's event id>"``:
follow-ups reply to the message, and a withdrawal redacts the edit (the message goes with its own delivery).
A remote ``homeserver`` must be https: the token and a private room's messages would cross the network
in clear text (``http://`` only to this machine, a proxy there).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from broadcaster.channels import _proxy, _wait
from broadcaster.channels._ids import stable_digits
from broadcaster.channels._options import shown_url
from broadcaster.channels.base import Channel, redirect_refused
from broadcaster.messages import matrix as fmt
from broadcaster.messages.egress import HTML_STRINGS
from broadcaster.messages.visibility import UpdateView

from broadcaster import lazy_re
from broadcaster.config import Secret, is_loopback
from broadcaster.delivery import CheckResult, Receipt, Rendered, SendLog, ThreadRef
from broadcaster.errors import ConfigError, DeliveryError, InputError

if TYPE_CHECKING:
    from nio import AsyncClient, ErrorResponse

    from broadcaster.config import ChannelConfig

_ROOM_ID = lazy_re.compile(r"^![^\s:/\x00-\x1f\x7f-\x9f]+(:[A-Za-z0-9.\-]+(:\d{1,5})?)?$")  # !opaque:server (v12 rooms: no server)
_EVENT_ID = lazy_re.compile(r"^\$[^\s$]+$")  # room v3 ids are standard base64, "/" included
_HOMESERVER = lazy_re.compile(r"^https?://[^\s/?#@]+(/[^\s?#]*)?$")
_LINK = lazy_re.compile(r"matrix\.to/#/(?P<room>![^/?\s]+)/(?P<event>\$[^/?\s]+)")

_BAD_TOKEN = {"M_UNKNOWN_TOKEN", "M_MISSING_TOKEN"}
_REFUSALS = {
    "M_FORBIDDEN": "The Matrix homeserver refused {what} in room {room} (M_FORBIDDEN): the bot is not in the "
    "room or may not post there. Invite it, let it join, and give it the power level to send messages.",
    "M_NOT_FOUND": "The Matrix homeserver knows no room or event {room} (M_NOT_FOUND). Check `room_id` in "
    "[channels.{name}] (in Element: Room settings > Advanced > Internal room ID).",
    "M_TOO_LARGE": "The Matrix homeserver refused {what} as too large (M_TOO_LARGE). This is a bug in "
    "broadcaster's Matrix formatting; please report it. Shortening the update may work around it.",
}


class MatrixChannel(Channel):
    """One Matrix room, posted to by a bot account (see the module docstring for the config)."""

    type_name = "matrix"
    keyed_repeats = True
    required_options = ("homeserver", "access_token", "room_id")
    secret_options = ("access_token",)  # it acts as the account in every room it has joined
    media_type = "text/plain"  # Rendered.text is the plain body
    payload_media_type = HTML_STRINGS  # the content's formatted_body is HTML
    reports_requests = True

    def __init__(self, config: ChannelConfig) -> None:
        super().__init__(config)
        self._client: AsyncClient | None = None
        self._proxy: str | None = None  # the environment's proxy for the homeserver, once the client is built

    # -- config ------------------------------------------------------------------------

    @classmethod
    def validate_options(cls, options: Mapping[str, Any], where: str) -> None:
        homeserver = options.get("homeserver")
        if not isinstance(homeserver, str) or not _HOMESERVER.match(homeserver):
            raise ConfigError(
                f'{where}homeserver: must be the homeserver\'s address, e.g. "https://matrix.example.org" '
                f"(Element shows it under Settings > Help & About), not {shown_url(homeserver)}."
            )
        host = urlsplit(homeserver).hostname or ""
        if homeserver.startswith("http://") and not is_loopback(host):
            raise ConfigError(
                f"{where}homeserver: http:// would send the access token, and every message of the room, in clear "
                f'text to {host}. Give its https:// address, e.g. "https://{host}" (http:// only to this machine, '
                "a proxy on localhost)."
            )
        if not isinstance(options.get("access_token"), Secret):
            raise ConfigError(
                f'{where}access_token: must name an environment variable, e.g. access_token = "${{MATRIX_TOKEN}}" '
                "(the bot account's token: Element's Settings > Help & About > Access token)."
            )
        room = options.get("room_id")
        if not isinstance(room, str) or not _ROOM_ID.match(room):
            raise ConfigError(
                f'{where}room_id: must be a room\'s internal id such as "!AbCdEf:example.org" (in Element: Room '
                f"settings > Advanced > Internal room ID), not {room!r}; an alias (#room:server) is not an id."
            )

    @classmethod
    def target_keys(cls, options: Mapping[str, Any]) -> list[tuple[tuple[str, ...], str]]:
        room = str(options["room_id"])
        return [(("matrix", room), room)]

    @property
    def room_id(self) -> str:
        return str(self.config.options["room_id"])

    @property
    def homeserver(self) -> str:
        return (self.config.api_url or str(self.config.options["homeserver"])).rstrip("/")

    @property
    def token_variable(self) -> str:
        token = self.config.options.get("access_token")
        return token.env_var if isinstance(token, Secret) else "the access token's variable"

    # -- render ------------------------------------------------------------------------

    def render(self, view: UpdateView) -> Rendered:
        """The message content, and a key naming this update (id, sequence, time stored) in transaction ids."""
        return Rendered(
            text=fmt.preview(view),
            visibility=view.visibility,
            payload={"content": fmt.content(view), "key": stable_digits(view.incident.id, str(view.sequence), view.created_at.isoformat())},
        )

    def egress_payloads(self, rendered: Rendered) -> list[tuple[str, str]]:
        """Everything but ``key``: it goes only into transaction ids, which no member sees, and a hash of 29
        digits could hold a short numeric private value (a ticket) by chance, refusing the post for nothing."""
        shown = {name: value for name, value in rendered.payload.items() if name != "key"}
        return super().egress_payloads(Rendered(rendered.text, rendered.visibility, rendered.parts, shown))

    # -- send / edit -------------------------------------------------------------------------

    async def send(
        self, rendered: Rendered, *, target: str, thread: ThreadRef | None, log: SendLog | None = None
    ) -> Receipt:
        log = log if log is not None else SendLog()
        if log.parts:  # posted by an earlier attempt whose run ended before recording it sent
            return Receipt(log.parts[0])
        content = dict(rendered.payload["content"])
        room = self.room_id
        if thread is not None:
            room, root = self.parse_remote_id(thread.first_remote_id)
            _, latest = self.parse_remote_id(thread.last_remote_id)
            content = fmt.thread_content(content, root, latest)
        log.sending()
        event_id = await self._send_event(room, content, self._tx_id(rendered, room, "post"), "the message")
        remote_id = f"{room}/{event_id}"
        log.confirmed(remote_id)
        return Receipt(remote_id)

    async def edit(
        self, rendered: Rendered, *, target: str, remote_id: str, log: SendLog | None = None
    ) -> Receipt:
        """An ``m.replace`` of the original (edits chain to it, never to an edit). The receipt names both:
        ``<room>/<original>/<edit>``, so follow-ups reply to the original and a withdrawal redacts the edit."""
        room, original = self.parse_remote_id(remote_id)
        content = fmt.edit_content(dict(rendered.payload["content"]), original)
        if log is not None:
            log.sending()
        try:
            edit = await self._send_event(room, content, self._tx_id(rendered, room, f"edit {original}"), "the edit")
        except DeliveryError as exc:
            exc.outcome_unknown = False  # the same edit again (same txnId) shows nothing twice
            raise
        edited = f"{room}/{original}/{edit}"
        if log is not None:
            log.confirmed(edited)
        return Receipt(edited)

    async def delete(self, remote_ids: Sequence[str], *, target: str) -> Receipt:
        """Redact each event (its content is removed for everyone); one already gone (M_NOT_FOUND) counts.

        The redaction's transaction id is made from the event, so a repeat is one redaction.
        A correction's id names its edit last: the edit is redacted, since redacting the original
        only hides its edits in clients that apply them ("Redactions of edited events"); the edit
        event keeps its ``* corrected text`` fallback and ``m.new_content`` for every other client
        and for ``/messages``. The original goes with its own delivery's id.
        """
        from nio import RoomRedactResponse

        async def delete_one(remote_id: str) -> None:
            room, events = self._events(remote_id)
            event_id = events[-1]
            tx_id = "bc" + stable_digits(self.name, room, event_id, "redact")
            response = await self._request("the redaction", self._nio().room_redact(room, event_id, tx_id=tx_id))
            if isinstance(response, RoomRedactResponse) or getattr(response, "status_code", None) == "M_NOT_FOUND":
                return
            error = self._refused("the redaction", room, response)
            if not error.retryable:
                raise self.fail(f"{error} Redact (remove) the message by hand in the room.", retryable=False)
            raise error

        return await self.delete_each(remote_ids, delete_one)

    def remote_location(self, remote_id: str) -> str | None:
        try:
            return self.parse_remote_id(remote_id)[0]
        except DeliveryError:
            return None

    def posted_here(self, remote_id: str, target: str) -> bool:
        where = self.remote_location(remote_id)
        return where is None or where == self.room_id

    def remote_id_from(self, reference: str, target: str) -> str:
        """``!room:server/$event``, a matrix.to link to the event, or the event id alone (this room)."""
        text = reference.strip()
        link = _LINK.search(text)
        if link:
            text = f"{link.group('room')}/{link.group('event')}"
        if _EVENT_ID.match(text):
            text = f"{self.room_id}/{text}"
        try:
            room, _ = self.parse_remote_id(text)
        except DeliveryError:
            raise InputError(
                f"{reference!r} is not a Matrix event: give its link (the message's Share > Copy link, "
                "https://matrix.to/#/!room:server/$event), or !room:server/$event, or the event id."
            ) from None
        if room != self.room_id:
            # A correction replaces the event in the room its id names: another room's would get this text.
            raise InputError(
                f"{reference!r} is an event in room {room}, not in {self.room_id}, where this delivery went. "
                "Give the event id alone, or the link of the message in that room."
            )
        return text

    def _tx_id(self, rendered: Rendered, room: str, what: str) -> str:
        """The same for every attempt at one delivery, in any process; distinct across deliveries."""
        return "bc" + stable_digits(self.name, room, str(rendered.payload["key"]), what)

    async def _send_event(self, room: str, content: dict[str, Any], tx_id: str, what: str) -> str:
        from nio import RoomSendResponse

        response = await self._request(what, self._nio().room_send(room, "m.room.message", content, tx_id=tx_id))
        if isinstance(response, RoomSendResponse):
            return str(response.event_id)
        raise self._refused(what, room, response)

    # -- check ---------------------------------------------------------------------------------

    async def check(self) -> list[CheckResult]:
        """whoami, then the room: joined, and not end-to-end encrypted."""
        from nio import WhoamiResponse

        try:
            who = await self._request("whoami", self._nio().whoami())
            if not isinstance(who, WhoamiResponse):
                raise self._refused("whoami", self.room_id, who)
        except DeliveryError as exc:
            return [CheckResult(self.name, self.room_id, False, str(exc))]
        identity = CheckResult(self.name, "", True, f"token works: {who.user_id} on {self.homeserver}")
        return [identity, await self._check_room(str(who.user_id))]

    async def _check_room(self, user: str) -> CheckResult:
        from nio import JoinedRoomsResponse, RoomGetStateEventResponse

        try:
            joined = await self._request("joined_rooms", self._nio().joined_rooms())
            if not isinstance(joined, JoinedRoomsResponse):
                raise self._refused("joined_rooms", self.room_id, joined)
            if self.room_id not in joined.rooms:
                return CheckResult(self.name, self.room_id, False, (
                    f"{user} has not joined {self.room_id}. Invite it to the room and accept the invite as it "
                    "(or check `room_id`)."))
            state = await self._request(
                "the room's encryption", self._nio().room_get_state_event(self.room_id, "m.room.encryption"))
        except DeliveryError as exc:
            return CheckResult(self.name, self.room_id, False, str(exc))
        if isinstance(state, RoomGetStateEventResponse):
            return CheckResult(self.name, self.room_id, False, (
                f"{self.room_id} is end-to-end encrypted, and broadcaster posts plain text: members would see "
                "every update flagged as unencrypted. Use an unencrypted room."))
        if getattr(state, "status_code", None) != "M_NOT_FOUND":
            return CheckResult(self.name, self.room_id, False, str(self._refused("the room's state", self.room_id, state)))
        return CheckResult(self.name, self.room_id, True, f"{user} is in {self.room_id} and can post",
                           resolved=f"matrix:{self.room_id}")

    # -- client and errors ----------------------------------------------------------------------

    def _nio(self) -> AsyncClient:
        """The nio client, built on first use inside the running event loop."""
        if self._client is None:
            from nio import AsyncClientConfig

            try:
                token = self.secret("access_token")
            except ConfigError as exc:
                raise self.fail(str(exc), retryable=False) from exc
            proxy = self._environment_proxy()
            # 0 and 0: a 429 comes back as an answer and a timeout raises; nio's defaults retry forever.
            config = AsyncClientConfig(max_limit_exceeded=0, max_timeouts=0, request_timeout=self.request_timeout)
            self._client = _unredirected_client_class()(self.homeserver, config=config)
            self._client.access_token = token
            self._client.env_proxy = self._proxy = proxy
        return self._client

    def _environment_proxy(self) -> str | None:
        """The environment's proxy for the homeserver by httpx's rules, as every other channel takes it: nio's
        aiohttp session reads none (no ``trust_env``), and nio's own ``proxy`` tunnels even an http:// homeserver.
        DeliveryError for one that cannot be used: nothing is sent."""
        try:
            proxy = _proxy.proxy_for(self.homeserver)
        except ConfigError as exc:  # NO_PROXY, unreadable
            raise self.fail(f"Matrix: {exc}.", retryable=False) from None
        if proxy is None:
            return None
        scheme = urlsplit(self.homeserver).scheme
        why = _proxy.problem(proxy)
        if why is not None:
            raise self.fail(f"Matrix: {_proxy.unusable_message(proxy, scheme, why)}.", retryable=True)
        refused = _proxy.clear_text_refusal(proxy, self.homeserver)
        if refused is not None:
            raise self.fail(f"Matrix: {refused}.", retryable=False)
        return proxy

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    @staticmethod
    def parse_remote_id(remote_id: str) -> tuple[str, str]:
        """``"!room:server/$event"`` -> ``("!room:server", "$event")``; a correction's
        ``"!room:server/$event/$edit"`` names the message it edited: ``("!room:server", "$event")``."""
        room, events = MatrixChannel._events(remote_id)
        return room, events[0]

    @staticmethod
    def _events(remote_id: str) -> tuple[str, tuple[str, ...]]:
        """The room and the events of a remote id: the message, then its edit for a correction edited in place.
        "/$" parts them: no room id holds "/" and no event id "$"."""
        room, *events = (remote_id or "").split("/$")
        if not 1 <= len(events) <= 2 or not _ROOM_ID.match(room) or not all(_EVENT_ID.match("$" + e) for e in events):
            raise DeliveryError(
                f"the stored Matrix event id {remote_id!r} is not '<room id>/<event id>', so this update cannot "
                "be threaded or edited. Was the state database edited by hand?",
                retryable=False,
            )
        return room, tuple("$" + e for e in events)

    async def _request(self, what: str, request: Any) -> Any:
        """Await one nio request; a failure of the connection becomes a DeliveryError."""
        import aiohttp

        try:
            return await request
        except (aiohttp.ClientProxyConnectionError, aiohttp.ClientHttpProxyError, _ProxyNeverOpened) as exc:
            raise self._proxy_refused(what, exc) from exc
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            raise self.fail(
                f"Matrix: could not connect to {self.homeserver} for {what} (check the network, a proxy, "
                "or homeserver).", retryable=True) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            cause = f"no answer within {self.request_timeout:g}s" if isinstance(exc, TimeoutError) else (
                "the connection was reset or closed before the homeserver answered")
            raise self.fail(
                f"Matrix, {what}: {cause}, so it may or may not have been posted.", retryable=True,
                outcome_unknown=True,
            ) from exc

    def _proxy_refused(self, what: str, exc: Exception) -> DeliveryError:
        """The environment's proxy did not let ``what`` through (unreachable, or it refused the tunnel): nothing
        left for the homeserver."""
        import aiohttp

        if isinstance(exc, aiohttp.ClientHttpProxyError):
            said = f"refused the tunnel (HTTP {exc.status} {exc.message})"
        elif isinstance(exc, _ProxyNeverOpened):
            said = f"did not open the way ({exc})"
        else:
            said = f"could not be connected to ({getattr(exc, 'os_error', exc)})"
        scheme = urlsplit(self.homeserver).scheme
        return self.fail(f"Matrix, {what}: {_proxy.refused_message(self._proxy or '', scheme, said)}.", retryable=True)

    def _refused(self, what: str, room: str, response: ErrorResponse) -> DeliveryError:
        """An error answer as a DeliveryError saying what to do."""
        transport = getattr(response, "transport_response", None)
        status = int(getattr(transport, "status", 0) or 0)
        code = str(getattr(response, "status_code", "") or "")
        if 300 <= status < 400:
            location = str((getattr(transport, "headers", None) or {}).get("Location", ""))
            return self.fail(redirect_refused(
                f"The Matrix homeserver at {self.homeserver} answered {what}", location, "the message",
                f"Set homeserver in [channels.{self.name}] to the address that answers itself."), retryable=False)
        if status == 407:  # a forwarding proxy's (an http:// homeserver): no further than the proxy
            said = _proxy.credentials_asked(self.homeserver, (
                f"a proxy between broadcaster and {self.homeserver} asks for credentials (HTTP 407 Proxy "
                "Authentication Required), so nothing was sent: have it let broadcaster through"))
            return self.fail(f"Matrix, {what}: {said}.", retryable=True)
        if status == 429 or code == "M_LIMIT_EXCEEDED":
            wait = _retry_after(response)
            return self.fail(f"Matrix rate-limited {what} (HTTP 429, {_wait.said(wait)}).", retryable=True,
                             retry_after=wait)
        if status == 503:
            return self.fail(f"The Matrix homeserver is unavailable (HTTP 503): {what} was not taken. `broadcaster retry` "
                             "sends it once the homeserver is back.", retryable=True)
        if 200 <= status < 300:
            # nio could not read a success (a proxy's page, an empty body): the event may be in the room.
            return self.fail(
                f"The Matrix homeserver's answer to {what} could not be read (HTTP {status}, not Matrix's JSON), so "
                f"it may or may not have been posted. A proxy in front of {self.homeserver} may have answered "
                "for it.",
                retryable=True, outcome_unknown=True)
        if status >= 500 or (status == 0 and not code):
            # A proxy's 502 or 504, a 500 after the event was stored: it may be in the room. Not said to be safe to
            # repeat: the homeserver forgets a transaction id (a new token, the next day), and the engine does not
            # repeat it (review 35b: the unknown's advice said so beside "repeating it shows nothing twice").
            return self.fail(
                f"The Matrix homeserver failed answering {what} (HTTP {status}), so it may or may not have been "
                "posted.",
                retryable=True, outcome_unknown=True)
        if code in _BAD_TOKEN or status == 401:
            return self.fail(
                f"The Matrix homeserver rejected the access token ({code or status}). Check {self.token_variable}: "
                "it must hold the bot account's current access token (log in again if it was logged out).",
                retryable=False)
        template = _REFUSALS.get(code, "The Matrix homeserver refused {what} ({code}: {message}).")
        return self.fail(
            template.format(what=what, room=room, name=self.name, code=code or f"HTTP {status}",
                            message=getattr(response, "message", "")),
            retryable=False)


def _retry_after(response: Any) -> float | None:
    """Seconds to wait: the Retry-After header, else the body's deprecated retry_after_ms."""
    headers = getattr(getattr(response, "transport_response", None), "headers", None) or {}
    wait = _wait.honoured(headers.get("Retry-After"))  # Infinity, NaN, 1e300: read as a wait, never said as a number
    if wait is not None:
        return wait
    millis = _wait.honoured(getattr(response, "retry_after_ms", None))
    return millis / 1000 if millis else None


class _ProxyNeverOpened(Exception):
    """The environment's proxy failed a request before its body began to be written: nothing reached the
    homeserver. Its text says how (no credentials: aiohttp's own text for the failure)."""


@cache
def _unredirected_client_class() -> type[AsyncClient]:
    """nio's ``AsyncClient``, handing a 3xx back as the answer instead of following it.

    aiohttp follows redirects: it drops the token when the host changes, but a 307 or 308 resends the
    message (a private room's included) to wherever it points. nio reads the 3xx as an error answer,
    which ``_refused`` explains. Defined on first use: it imports nio.
    """
    import aiohttp
    from nio import AsyncClient
    from nio.client.async_client import client_session

    class _Watched(aiohttp.BytesPayload):
        """A request's body, telling whether aiohttp began to write it: until then the request is not whole on the
        wire (through a proxy: the tunnel may never have opened), and the homeserver can have done nothing."""

        started = False

        async def write(self, writer: Any) -> None:
            self.started = True
            await super().write(writer)

        async def write_with_length(self, writer: Any, content_length: int | None) -> None:
            self.started = True
            await super().write_with_length(writer, content_length)

    class _UnredirectedClient(AsyncClient):  # type: ignore[misc]  # nio is untyped: Any to mypy
        env_proxy: str | None = None  # the environment's proxy for the homeserver (``_proxy.proxy_for``), or None

        @client_session  # type: ignore[untyped-decorator]  # as nio's own send: makes the aiohttp session
        async def send(self, method: str, path: str, data: Any = None, headers: dict[str, str] | None = None,
                       trace_context: Any | None = None, timeout: float | None = None) -> Any:  # noqa: ASYNC109
            assert self.client_session
            body = data
            if self.env_proxy and isinstance(data, str | bytes):  # nio's JSON; its Content-Type header stays
                body = _Watched(data.encode() if isinstance(data, str) else data)
            try:
                return await self.client_session.request(
                    method, self.homeserver + path, data=body, ssl=self.ssl, headers=headers, proxy=self.env_proxy,
                    trace_request_ctx=trace_context, allow_redirects=False,
                    timeout=self.config.request_timeout if timeout is None else timeout,
                )
            except aiohttp.ClientError as exc:
                if not isinstance(body, _Watched) or body.started or isinstance(exc, aiohttp.ClientHttpProxyError):
                    raise
                # The proxy hung up on the CONNECT, or answered it with what is not HTTP: nothing left.
                said = " ".join(str(getattr(exc, "message", "") or exc).split())[:160]  # not its url: the proxy's
                raise _ProxyNeverOpened(f"{type(exc).__name__}: {said}" if said else type(exc).__name__) from exc

    return _UnredirectedClient
