"""One HTTP client for the channels that post to a webhook URL (Discord, Teams, signed webhooks).

Not a channel type (a helper module: its name starts with ``_``). Four things
every such channel needs, done once here:

* The secret is in the URL (Discord's token in the path, Teams' ``sig`` in the
  query), and httpx logs every URL at INFO. The client only ever sees the URL
  with ``***`` in place of the secret; ``_SecretUrlTransport`` writes the real
  URL as the request leaves, so httpx's logs and errors show the placeholder.
* The environment's proxy (``HTTPS_PROXY``, ``NO_PROXY``...), which httpx reads no more once given our
  transport: mounted as a plain client would (``_proxy.mounts``), each behind the secret's transport.
* No retries and no redirects inside the client: the engine owns retries, and
  a redirect would carry the body (and the signature) somewhere not configured.
* Failures become ``DeliveryError`` by one rule: a request that never left is
  retryable; one that may have arrived is ``outcome_unknown`` unless repeating it
  shows nothing twice (an edit, or a webhook event with a stable id); 429 waits
  as long as the service asks; 503 was not taken; another 5xx may have been.

httpx is imported when the first request is made, not with this module.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from broadcaster.channels import _proxy, _wait
from broadcaster.channels.base import Channel

from broadcaster.config import ChannelConfig, Secret
from broadcaster.delivery import SendLog
from broadcaster.errors import ConfigError, DeliveryError

if TYPE_CHECKING:
    import ssl
    from urllib.parse import SplitResult

    import httpx

MASK = "***"
MAX_ERROR_BODY = 300  # characters of a refusal's body quoted in an error message


def shared_tls_context() -> ssl.SSLContext:
    """httpx's default TLS context (certifi's CA bundle, or ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` as httpx
    reads them), one per process for each of those settings: making one reads the CA bundle, about 20 ms
    of CPU, and a post to several channels made one per client, on the GIL the others share.

    Only for clients that speak HTTP/1.1 alone (httpx's default, and every one here): httpcore writes the
    protocols a connection offers (ALPN) into the context it is given, so a client with HTTP/2 on must make
    its own, or the others would offer h2 too; and from the event loop's thread, where every channel sends."""
    return _tls_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@cache
def _tls_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    import httpx

    del cert_file, cert_dir  # the cache's key only: httpx reads the same variables itself
    return httpx.create_ssl_context()


@dataclass(frozen=True)
class Answer:
    """An HTTP answer, read whole: status, headers (lower-case names) and body."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None

    def field(self, key: str) -> Any:
        data = self.json()
        return data.get(key) if isinstance(data, dict) else None

    def excerpt(self) -> str:
        """The start of the body on one line, its lines joined with " / ": it is quoted on the line of the delivery
        it is about, where a line of its own could pass for another delivery's ("✓ pub  sent")."""
        lines = self.body.decode("utf-8", errors="replace").splitlines()
        text = " / ".join(" ".join(line.split()) for line in lines if line.strip())
        return text[:MAX_ERROR_BODY] + ("…" if len(text) > MAX_ERROR_BODY else "")

    @property
    def may_have_posted(self) -> bool:
        """2xx, or a server error other than 503 (which says the request was not taken)."""
        return 200 <= self.status < 300 or (self.status >= 500 and self.status != 503)

    def retry_after(self) -> float | None:
        """Seconds the service asks to wait: the Retry-After header, else a JSON ``retry_after``."""
        for raw in (self.headers.get("retry-after"), self.field("retry_after")):
            value = _wait.honoured(raw)  # Infinity, NaN, 1e300: read as a wait, never said as a number
            if value is not None:
                return value
        return None


class HttpPoster:
    """An httpx client for one channel; ``shown_url`` stands for ``real_url`` everywhere but on the wire.

    ``service`` names the service in messages ("Discord"). Build it once per
    channel, close it in the channel's ``aclose``.
    """

    def __init__(self, channel: Channel, service: str, real_url: str = "", shown_url: str = "") -> None:
        self.channel = channel
        self.service = service
        self.real_url = real_url
        self.shown_url = shown_url or real_url
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            import httpx

            def pool(proxy: httpx.Proxy | None = None) -> httpx.AsyncHTTPTransport:
                return _proxy.transport(proxy, verify=shared_tls_context(), http2=False, retries=0)

            def hiding(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
                return _secret_url_transport(self.shown_url, self.real_url, inner)

            # The environment's proxy, as a plain client mounts it: httpx reads none once given our transport.
            self._client = httpx.AsyncClient(
                transport=hiding(pool()), mounts=_proxy.mounts(pool, hiding),
                timeout=self.channel.request_timeout, follow_redirects=False,
            )
        return self._client

    async def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        may_post: bool = False,
    ) -> Answer:
        """Send one request to ``url`` (which starts with ``shown_url``); raise DeliveryError if no answer came.

        ``may_post``: whether the request, once out, may have posted something that
        a repeat would post again (an answer lost then makes the outcome unknown).
        """
        import httpx

        sent = {"Content-Type": "application/json"} if body is not None else {}
        try:
            client = self._http()
        except ConfigError as exc:  # the environment's NO_PROXY, unreadable: nothing sent
            raise self.channel.fail(f"{self.service}: {exc}.", retryable=False) from None
        try:
            response = await client.request(method, url, content=body, headers={**sent, **(headers or {})})
        except (UnicodeEncodeError, httpx.LocalProtocolError) as exc:
            raise self._unsendable(exc) from None  # their text quotes the value, which may be a secret
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            if _proxy.is_proxy_failure(exc):  # it names the proxy and what to check
                raise self.channel.fail(f"{self.service}: {exc}.", retryable=True) from exc
            raise self.channel.fail(
                f"{self.service}: could not connect ({type(exc).__name__}: {exc}). Check the network, a proxy, "
                "and the URL's host.",
                retryable=True,
            ) from exc
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            raise self._lost(exc, may_post) from exc
        return Answer(response.status_code, {k.lower(): v for k, v in response.headers.items()}, response.content)

    async def post(self, url: str, body: bytes, log: SendLog) -> Answer:
        """A request that may post: ``log`` counts it on the wire until an answer says nothing was posted."""
        log.sending()
        answer = await self.request("POST", url, body=body, may_post=True)
        if not answer.may_have_posted:  # a refusal or a rate limit: cut short now, it is failed, not unknown
            log.on_wire = False
        return answer

    def _unsendable(self, exc: Exception) -> DeliveryError:
        """A request httpx or h11 refused to make (a header value outside visible ASCII): nothing left, and a
        repeat is refused alike, so it fails for good, saying what to fix."""
        return self.channel.fail(
            f"{self.service}: the request could not be made ({type(exc).__name__}), so nothing was sent: a header "
            "holds a character HTTP cannot carry (outside ASCII, or a control character). Check the headers in "
            f"[channels.{self.channel.name}]: visible ASCII characters only, with spaces or tabs between them.",
            retryable=False,
        )

    def _lost(self, exc: Exception, may_post: bool) -> DeliveryError:
        import httpx

        what = (
            f"no answer within {self.channel.request_timeout:g}s"
            if isinstance(exc, httpx.TimeoutException)
            else f"the connection broke before an answer ({type(exc).__name__})"
        )
        if not may_post:
            return self.channel.fail(f"{self.service}: {what}; repeating the request is harmless.", retryable=True)
        return self.channel.fail(
            f"{self.service}: {what}, so the message may or may not have been posted.",
            retryable=True,
            outcome_unknown=True,
        )

    def common_error(self, answer: Answer, *, may_post: bool) -> DeliveryError | None:
        """The error for a 429 or a 5xx (the same at every service), or None for the channel to judge."""
        if answer.status == 429:
            wait = answer.retry_after()
            return self.channel.fail(
                f"{self.service} rate-limited the request (HTTP 429, {_wait.said(wait)}).", retryable=True,
                retry_after=wait
            )
        if answer.status == 407:  # a forwarding proxy's (an http:// URL): no further than the proxy
            said = _proxy.credentials_asked(self.real_url, (
                "a proxy between broadcaster and it asks for credentials (HTTP 407 Proxy Authentication Required), "
                "so nothing was sent: have it let broadcaster through, or check the URL and api_url"))
            return self.channel.fail(f"{self.service}: {said}.", retryable=True)
        if answer.status == 503:
            return self.channel.fail(
                f"{self.service} is unavailable for now (HTTP 503): nothing was posted.",
                retryable=True,
                retry_after=answer.retry_after(),
            )
        if answer.status >= 500:
            maybe = ", so the message may or may not have been posted" if may_post else ""
            return self.channel.fail(
                f"{self.service} had a problem of its own (HTTP {answer.status}){maybe}.",
                retryable=True,
                outcome_unknown=may_post,
            )
        return None

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()


class HttpChannel(Channel):
    """A channel that posts through one ``HttpPoster``, built on first use by ``make_poster``."""

    def __init__(self, config: ChannelConfig) -> None:
        super().__init__(config)
        self._poster: HttpPoster | None = None

    def make_poster(self) -> HttpPoster:
        raise NotImplementedError

    @staticmethod
    def url_key(options: Mapping[str, Any], key: str, kind: str, place: Any) -> list[tuple[tuple[str, ...], str]]:
        """``target_keys`` for a channel whose one target is a URL: ``place(url)`` names where it posts.

        One URL in a public and a private table is refused by the loader; a URL whose
        variable is unset is known by the variable's name.
        """
        value = options.get(key)
        url, written = str(value), str(value)
        if isinstance(value, Secret):
            written = f"${{{value.env_var}}}"
            if value.missing:
                return [((f"{kind}-variable", value.env_var), written)]
            url = value.reveal()
        try:
            return [((kind, *place(url)), written)]
        except ConfigError:
            return []

    def _client(self) -> HttpPoster:
        if self._poster is None:
            try:
                self._poster = self.make_poster()
            except ConfigError as exc:  # a URL the loader could not see (its variable was unset then)
                raise self.fail(str(exc), retryable=False) from exc
        return self._poster

    def source(self, key: str) -> str:
        """Where an option's value comes from, as an operator finds it: ``${VAR}``, else the config key."""
        env_var = getattr(self.config.options.get(key), "env_var", "")
        return f"${{{env_var}}}" if env_var else f"channels.{self.name}.{key}"

    def revealed(self, key: str) -> str:
        """A secret option's raw value; ConfigError when its variable is unset."""
        return self.secret(key).strip()

    async def aclose(self) -> None:
        poster, self._poster = self._poster, None
        if poster is not None:
            await poster.aclose()


def _secret_url_transport(shown: str, real: str, inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
    """A transport that swaps ``shown`` for ``real`` at the start of each URL as the request leaves."""
    import httpx

    known = str(httpx.URL(shown))  # as httpx writes it back (a default port dropped, say)

    class _SecretUrlTransport(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            url = str(request.url)
            if shown != real and url.startswith(known):
                request = httpx.Request(
                    request.method,
                    httpx.URL(real + url[len(known):]),
                    headers=request.headers,
                    stream=request.stream,
                    extensions=request.extensions,
                )
            return await inner.handle_async_request(request)

        async def aclose(self) -> None:
            await inner.aclose()

    return _SecretUrlTransport()


def split_secret_url(url: str) -> SplitResult | None:
    """``urlsplit(url)``, or None for a url it refuses (an unclosed "["): the secrets of such a url are masked
    whole, and its send fails saying why, where an error here would replace that advice with a ValueError."""
    from urllib.parse import urlsplit

    try:
        return urlsplit(url)
    except ValueError:
        return None


def origin_replaced(url: str, api_url: str | None) -> str:
    """``url`` with its ``scheme://host[:port]`` replaced by ``api_url`` (the test seam), if given."""
    if not api_url:
        return url
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    rest = url[len(f"{parts.scheme}://{parts.netloc}"):]
    return api_url.rstrip("/") + rest


def receiver_key(url: str) -> tuple[str, str, str, str]:
    """(host, port, path, query) of ``url`` as the request reaches its receiver, however it is written: a name's
    case, final dot and international form (IDNA 2008, as httpx sends it), an address's forms (``10.1``,
    ``[2001:0db8::0001]``), the scheme's port written out or not, dot segments, escapes, the query's order.
    Two tables whose keys are equal post to one receiver (``Channel.target_keys``). Without httpx: read at every
    config load."""
    from urllib.parse import parse_qsl, quote, urlsplit

    parts = urlsplit(url)
    try:
        port = parts.port or {"https": 443, "http": 80}.get(parts.scheme.lower(), 0)
    except ValueError:  # not shown: the URL may hold a token
        raise ConfigError("a URL's port is not a number from 1 to 65535: check the table's URL") from None
    # As httpx sends it (characters outside RFC 3986 escaped), escapes as RFC 3986 normalises them, then its dot
    # segments removed: "/café" is "/caf%C3%A9", "/a/%2E%2E/b" is "/b", "//x/y" a path, never a host.
    try:
        quoted = quote(parts.path or "/", safe="/:@!$&'()*+,;=-._~%")
    except UnicodeEncodeError:  # a lone surrogate: bytes of a variable that are no UTF-8 (not shown: it may be a token)
        raise ConfigError("a URL holds bytes that are not UTF-8 text: check the table's URL") from None
    path = _as_routed(_without_dot_segments(_escapes_alike(quoted)))
    query = repr(sorted(parse_qsl(parts.query, keep_blank_values=True)))  # decoded as receivers read a query
    return (_host_key(parts.hostname or ""), str(port), path, query)


_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _without_dot_segments(path: str) -> str:
    """RFC 3986's remove_dot_segments for an absolute path: "." and ".." resolved, every other segment kept."""
    out: list[str] = []
    segments = path.split("/")[1:] if path.startswith("/") else path.split("/")
    for segment in segments:
        if segment == "..":
            if out:
                out.pop()
        elif segment != ".":
            out.append(segment)
    return "/" + "/".join(out) + ("/" if segments and segments[-1] in (".", "..") and out else "")


def _as_routed(path: str) -> str:
    """``path`` as common servers route it, so that one receiver's path written apart is one key: parameters taken
    off each segment (Tomcat's and Spring's: "/hook;" and "/hook;v=1" are "/hook", and "/x/..;/hook" is "/hook"),
    empty segments merged (nginx's ``merge_slashes``: "//hook" is "/hook"), a final slash dropped and the case folded,
    of escaped letters too (Express's and ASP.NET Core's default routing: "/Hook/" and "/%C3%A9" are "/hook" and
    "/%C3%89"), a backslash a slash and final dots dropped (IIS: "\\hook." is "/hook"). Folding what only some
    servers fold refuses a config that might not have leaked: the price of never sending one receiver two
    visibilities. An escaped slash stays one segment's, and the query is kept: a relay addressed by it
    (``?channel=ops``) is a legitimate pair of receivers."""
    import re

    segments = (segment.split(";", 1)[0] for segment in re.split(r"/|%5C", path))
    resolved = _without_dot_segments("/" + "/".join(s for s in segments if s))
    return "/" + "/".join(p for p in map(_segment_alike, resolved.split("/")) if p)


def _segment_alike(segment: str) -> str:
    """One segment's escapes read (never an escaped slash or "%", nor bytes that are no UTF-8), in lower case, final
    dots and spaces off."""
    import re
    from urllib.parse import unquote

    def read(piece: str) -> str:
        if piece in ("%2F", "%25"):  # kept: an escaped "%" read would make "%252F" an escaped slash
            return piece
        try:
            return unquote(piece, errors="strict")
        except UnicodeDecodeError:
            return piece
    # Lower case, as those servers compare (casefold would make "straße" "strasse": review 35e); final spaces too.
    return "".join(read(piece) for piece in re.split("(%2F|%25)", segment)).lower().rstrip(". ")


def _escapes_alike(path: str) -> str:
    """RFC 3986's own normalisation: an escaped unreserved character (%61) is that character, every other escape kept,
    in upper case: %2F is not a "/" to the receiver, nor %C5 a %C6."""
    import re

    def one(escape: re.Match[str]) -> str:
        character = chr(int(escape[1], 16))
        return character if character in _UNRESERVED else f"%{escape[1].upper()}"

    return re.sub(r"%([0-9A-Fa-f]{2})", one, path)


def _host_key(host: str) -> str:
    import ipaddress
    import re
    import socket

    name = host.lower().rstrip(".")
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        pass
    else:  # ::ffff:10.0.0.1 is 10.0.0.1
        mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
        return str(mapped or address)
    if re.fullmatch(r"(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}", name):
        try:
            return socket.inet_ntoa(socket.inet_aton(name))  # 10.1 is 10.0.0.1 to the resolver
        except OSError:
            return name
    if name.isascii():
        return name
    import idna  # httpx's own (IDNA 2008): "straße" is xn--strae-oqa to it, "strasse" to Python's codec

    try:
        return idna.encode(name, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        return name
