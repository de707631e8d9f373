"""The proxy the environment names for a URL (``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY`` and ``NO_PROXY``, in
upper or lower case), by httpx's own rules, for the clients whose transport is our own.

Not a channel type (a helper module: its name starts with ``_``). httpx reads no proxy from the environment once a
client is given a transport, and Telegram's (the token written in as the request leaves) and the webhook channels'
(the secret URL, likewise) are ours; nio's aiohttp session reads none at all. Slack, X, Mastodon, Bluesky and boto3
read the environment themselves. So these clients mount what a plain httpx client would: per URL pattern of
``httpx._utils.get_environment_proxies`` (``https://``, ``all://``, a ``NO_PROXY`` host's ``all://*example.com``),
a transport through that proxy, or the direct one; Matrix is handed the proxy its homeserver's URL matches.

The proxy's URL may hold credentials (``http://user:password@proxy:3128``): httpx sends them as the
``Proxy-Authorization`` header, and nothing here writes them into a message (``shown``). ``config.proxy_secrets``
has every log record and error masked of them too.

No proxy variable set (most runs): nothing is imported and nothing built; the post path is timed (bench/fanout.py).
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from broadcaster.errors import ConfigError, printable

if TYPE_CHECKING:
    import asyncio

    import httpx

# The variables httpx reads a proxy from (urllib's getproxies, then the three schemes httpx uses); NO_PROXY alone
# changes nothing.
PROXY_VARIABLES = frozenset({"https_proxy", "http_proxy", "all_proxy"})
ADVICE = "list the host in NO_PROXY to reach it directly"


def named(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the environment names a proxy at all: a look at the variables' names, nothing imported."""
    env = os.environ if environ is None else environ
    return any(value and name.lower() in PROXY_VARIABLES for name, value in env.items())


def environment_proxies() -> dict[str, str | None]:
    """httpx's map of URL patterns to the proxy's URL (None: reached directly, from ``NO_PROXY``); empty when no
    proxy variable is set. ConfigError for a ``NO_PROXY`` entry httpx cannot read (a plain httpx client raises
    ``InvalidURL`` as it is made, and which hosts it meant to keep direct is not known)."""
    if not named():
        return {}
    import httpx
    from httpx._utils import URLPattern, get_environment_proxies  # what a plain httpx client mounts

    proxies = get_environment_proxies()
    for pattern in proxies:
        try:
            URLPattern(pattern)
        except (httpx.InvalidURL, ValueError) as exc:
            entry = pattern.removeprefix("all://").removeprefix("*")
            # A proxy's URL pasted there (NO_PROXY=$HTTPS_PROXY): what is before its "@" is a user and password,
            # which no other variable may hold, and httpx's text quotes a piece of it ("Invalid port: 'pa'").
            said = (f"an entry with a user or password in it ('…@{printable(entry.rpartition('@')[2])}', the "
                    "credentials not shown), which is not a host (it looks like a proxy's URL, which goes in "
                    "HTTPS_PROXY)") if "@" in entry else f"'{printable(entry)}', which is not a host httpx can read ({exc})"
            raise ConfigError(
                f"NO_PROXY (or no_proxy) holds {said}, so nothing "
                "was sent: write its entries as example.com, .example.com, 10.0.0.1 or ::1 (an IPv6 address "
                "without brackets), separated by commas") from None
    return proxies


def proxy_for(url: str) -> str | None:
    """The proxy URL a plain httpx client would send a request to ``url`` through, or None (direct)."""
    proxies = environment_proxies()
    if not proxies:
        return None
    import httpx
    from httpx._utils import URLPattern

    target = httpx.URL(url)
    for pattern in sorted(URLPattern(key) for key in proxies):  # the most specific first, as httpx tries them
        if pattern.matches(target):
            return proxies[pattern.pattern]
    return None


def problem(proxy_url: str, schemes: tuple[str, ...] = ("http", "https")) -> str | None:
    """Why ``proxy_url`` cannot be used (not a URL, a port out of range, a scheme none of ``schemes``), or None."""
    import httpx

    from broadcaster.config import proxy_userinfo

    if any(mark in proxy_userinfo(proxy_url) for mark in "/?#"):  # httpx would quote the password's head as a port
        return ("its user or password holds '/', '?' or '#', which end a URL's host part: write each "
                "percent-encoded (%2F, %3F, %23), as in http://user:pa%2Fss@host:port")
    try:
        parsed = httpx.URL(proxy_url)
        port = parsed.port
    except (httpx.InvalidURL, ValueError) as exc:  # its text quotes what is after the credentials, if any
        return f"it is not a URL httpx can read: {exc}"
    if parsed.scheme not in schemes:
        socks = " (SOCKS needs a package broadcaster does not install)" if parsed.scheme.startswith("socks") else ""
        return f"its scheme is not {' or '.join(schemes)}{socks}"
    if not parsed.host or "%" in parsed.host or (port is not None and not 0 < port < 65536):  # "%": escaped
        return "its host or port cannot be read (a port is 1 to 65535)"
    return None


def clear_text_refusal(proxy_url: str, target_url: str) -> str | None:
    """Why a request to ``target_url`` must not go through ``proxy_url``, or None: an http:// URL (on this machine
    only: its token would otherwise cross the network in clear text, and the config refuses it) sent to an
    http:// proxy elsewhere would carry its token, path and all, across the network in clear text, and the proxy
    would read 127.0.0.1 as itself."""
    import httpx

    from broadcaster.config import is_loopback

    if problem(proxy_url) is not None:  # what the proxy cannot be used for is said instead
        return None
    proxy, target = httpx.URL(proxy_url), httpx.URL(target_url)
    if target.scheme != "http" or proxy.scheme != "http" or is_loopback(proxy.host):
        return None
    scheme = "http"
    return (f"the proxy {shown(proxy_url, scheme)} is not on this machine, and {target.host}'s http:// request "
            "(its token or secret in clear text) would cross the network to it, so nothing was sent: list "
            f"{target.host} in NO_PROXY (NO_PROXY=localhost,127.0.0.1,::1), or give a proxy on this machine")


def unusable_message(proxy_url: str, scheme: str, why: str) -> str:
    return (f"the proxy {shown(proxy_url, scheme)} cannot be used ({why}), so nothing was sent: give "
            f"{variable_of(proxy_url, scheme)} an http://host:port proxy, or {ADVICE}")


def shown(proxy_url: str, scheme: str) -> str:
    """The proxy's URL without its credentials, with the variable that gives it for ``scheme``'s URLs: what a
    message may name."""
    host_scheme, _, rest = proxy_url.partition("://") if "://" in proxy_url else ("http", "", proxy_url)
    # After the last "@" first: a password may hold "/", "?" or "#" unencoded (``problem``), and none of it shows.
    netloc = re.split(r"[/?#]", rest.rpartition("@")[2], maxsplit=1)[0]
    return printable(f"{host_scheme}://{netloc}") + f" (from {variable_of(proxy_url, scheme)})"


def variable_of(proxy_url: str, scheme: str) -> str:
    """The variable that gave ``proxy_url`` for a URL of ``scheme``, as urllib and httpx read them: the scheme's own
    (lower case before upper), else ALL_PROXY's."""
    for name in (f"{scheme}_proxy", f"{scheme.upper()}_PROXY", "all_proxy", "ALL_PROXY"):
        value = os.environ.get(name, "")
        if value and proxy_url in (value, f"http://{value}"):
            return f"${name}"
    return "the environment's proxy variables"


def mounts(
    through: Callable[[httpx.Proxy], httpx.AsyncBaseTransport],
    wrap: Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport],
) -> dict[str, httpx.AsyncBaseTransport | None]:
    """httpx's ``mounts`` for a client given our own transport: per pattern of the environment's, ``through(proxy)``
    (the innermost transport, or pools of them, through that proxy) wrapped by ``wrap`` (the token's or secret's
    transport, so it is written in only as the request leaves), or None (the client's own, direct transport)."""
    import httpx

    built: dict[str, httpx.AsyncBaseTransport | None] = {}
    for pattern, url in environment_proxies().items():
        if url is None:
            built[pattern] = None
            continue
        # One httpx cannot use fails the requests that would go through it, not the others (ALL_PROXY may be
        # a SOCKS proxy this client never sends through, HTTPS_PROXY naming the one it does).
        why = problem(url)
        inner = through(httpx.Proxy(url)) if why is None else _classes().unusable(url, why)
        built[pattern] = wrap(_classes().through_proxy(url, inner))
    return built


def transport(proxy: httpx.Proxy | None, **options: Any) -> httpx.AsyncHTTPTransport:
    """httpx's transport (``options`` as it takes them), through ``proxy`` if given; there, a tunnel that fails
    before it is open (the proxy answered the CONNECT 200, then the TLS handshake through it failed) is closed
    (``_Classes.ClosingOnFailure``): httpcore leaves it in the pool as a connection in use (encode/httpcore#1023),
    and a small pool (Telegram's two) then waits for it on every later request, PoolTimeout, until the process
    ends (a `bot run` too), though the proxy lets the next tunnel through."""
    import httpx

    made = httpx.AsyncHTTPTransport(proxy=proxy, **options)
    pool = getattr(made, "_pool", None)  # httpcore's pool: the one way to its connections
    create = getattr(pool, "create_connection", None)
    if proxy is not None and create is not None:
        closing = _classes().closing_on_failure
        pool.create_connection = lambda origin: closing(create(origin))  # type: ignore[union-attr]
    return made


def is_proxy_failure(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or what it was raised from) is a proxy's failure to let a request through: nothing left."""
    return proxy_failure(exc) is not None


def proxy_failure(exc: BaseException | None) -> BaseException | None:
    """The proxy's failure ``exc`` was raised from (``is_proxy_failure``), for its message."""
    while exc is not None:
        if named() and isinstance(exc, _classes().failure):
            return exc
        exc = exc.__cause__
    return None


def refused_message(proxy_url: str, scheme: str, what: str) -> str:
    """What to say of a proxy that did not let a request to a ``scheme`` URL through (``what``: "refused the tunnel
    (407 Proxy Authentication Required)")."""
    variable = variable_of(proxy_url, scheme)
    if re.search(r"\b407\b", what):
        fix = (f"it refused the credentials {variable} gives: check them" if "@" in proxy_url else
               f"it asks for credentials: give them in {variable} as http://user:password@host:port")
        fix += f", or {ADVICE}"
    else:
        fix = f"check that the proxy is up and lets this host through, and the address in {variable}, or {ADVICE}"
    return f"the proxy {shown(proxy_url, scheme)} {what}, so nothing was sent: {fix}"


def proxy_for_quietly(url: str) -> str | None:
    """``proxy_for``, None where the environment cannot be read (what is said of an answer, not whether to send)."""
    try:
        return proxy_for(url)
    except ConfigError:
        return None


def credentials_asked(target_url: str, fallback: str) -> str:
    """What to say of a 407 answer to a request for ``target_url``: the environment's proxy for it named, else
    ``fallback`` (a proxy the config's ``api_url`` points at, say)."""
    proxy = proxy_for_quietly(target_url)
    if proxy is None:
        return fallback
    scheme = target_url.partition("://")[0].lower()
    return refused_message(proxy, scheme, "answered HTTP 407 Proxy Authentication Required")


async def open_tunnel(
    proxy_url: str, host: str, port: int, scheme: str, timeout: float,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection to ``host:port`` through the proxy at ``proxy_url`` (``CONNECT``, its credentials as
    ``Proxy-Authorization``), for a check that sends no request (Teams' TLS handshake). ConnectionError saying
    which proxy did not let it through, and what to check."""
    import asyncio
    import base64
    import ssl

    import httpx

    why = problem(proxy_url)
    if why is not None:
        raise ConnectionError(unusable_message(proxy_url, scheme, why))
    parsed = httpx.URL(proxy_url)
    auth = {"Proxy-Authorization": "Basic " + base64.b64encode(f"{parsed.username}:{parsed.password}".encode())
            .decode()} if parsed.username or parsed.password else {}
    target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    head = "".join(f"{k}: {v}\r\n" for k, v in {"Host": target, **auth}.items())
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(
            parsed.host, parsed.port or (443 if parsed.scheme == "https" else 80),
            ssl=ssl.create_default_context() if parsed.scheme == "https" else None), timeout)
    except (OSError, TimeoutError) as exc:
        said = str(exc) or type(exc).__name__
        raise ConnectionError(refused_message(proxy_url, scheme, f"could not be connected to ({said})")) from None
    try:
        writer.write(f"CONNECT {target} HTTP/1.1\r\n{head}\r\n".encode())
        answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        writer.close()
        said = f"no answer to CONNECT ({type(exc).__name__})"
        raise ConnectionError(refused_message(proxy_url, scheme, said)) from None
    status_line = answer.split(b"\r\n", 1)[0].decode("latin-1")
    if not re.match(r"HTTP/1\.[01] 2\d\d", status_line):
        writer.close()
        said = f"refused the tunnel ({printable(status_line.partition(' ')[2][:80], one_line=True)})"
        raise ConnectionError(refused_message(proxy_url, scheme, said))
    return reader, writer


def _tls_message(proxy_url: str, scheme: str, said: str) -> str:
    return (f"the TLS handshake through the proxy {shown(proxy_url, scheme)} failed ({said}), so nothing was sent: a proxy "
            "that inspects TLS signs with its own authority, given to broadcaster in SSL_CERT_FILE, or "
            f"{ADVICE}")


class _Classes:
    def __init__(self) -> None:
        import httpcore
        import httpx

        class ProxyFailure(httpx.ConnectError):
            """A request the proxy did not let through (no connection to it, a tunnel refused, a handshake through
            it failed): nothing left for the service. A ``ConnectError``, so every reader of httpx's errors takes
            it as one that never left."""

        class Watched(httpx.AsyncByteStream):
            """A request's body, telling whether it began to be written: until then the request is not whole on
            the wire, and nothing can have been done with it (a tunnel that was never opened, say)."""

            def __init__(self, inner: Any) -> None:
                self._inner, self.started = inner, False

            async def __aiter__(self) -> AsyncIterator[bytes]:
                self.started = True
                async for chunk in self._inner:
                    yield chunk

            async def aclose(self) -> None:
                await self._inner.aclose()

        class ThroughProxy(httpx.AsyncBaseTransport):
            """``inner`` (through the proxy at ``url``), its failures to get through said with the proxy named."""

            def __init__(self, url: str, inner: httpx.AsyncBaseTransport) -> None:
                self._url, self._inner = url, inner

            async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
                refused = clear_text_refusal(self._url, str(request.url.copy_with(path="/", query=None)))
                if refused is not None:
                    raise ProxyFailure(refused, request=request)
                body = Watched(request.stream)
                wire = httpx.Request(request.method, request.url, headers=request.headers, stream=body,
                                     extensions=request.extensions)
                scheme = request.url.scheme
                try:
                    return await self._inner.handle_async_request(wire)
                except ProxyFailure:
                    raise
                except httpx.ProxyError as exc:  # the CONNECT's answer was not 2xx: the tunnel never opened
                    message = refused_message(self._url, scheme, f"refused the tunnel ({exc})")
                    raise ProxyFailure(message, request=request) from exc
                except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                    said = str(exc) or type(exc).__name__
                    message = (_tls_message(self._url, scheme, said) if "SSL" in said.upper()
                               else refused_message(self._url, scheme, f"could not be connected to ({said})"))
                    raise ProxyFailure(message, request=request) from exc
                except httpx.TransportError as exc:
                    if body.started:  # the request was out: what the proxy or the service did with it is unknown
                        raise
                    # The proxy hung up on the CONNECT, answered it with what is not HTTP, or not in time.
                    said = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                    message = refused_message(self._url, scheme, f"did not open the way ({said})")
                    raise ProxyFailure(message, request=request) from exc

            async def aclose(self) -> None:
                await self._inner.aclose()

        class Unusable(httpx.AsyncBaseTransport):
            """A proxy httpx cannot use (``problem``): fails each request that would go through it."""

            def __init__(self, url: str, why: str) -> None:
                self._url, self._why = url, why

            async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
                raise ProxyFailure(unusable_message(self._url, request.url.scheme, self._why), request=request)

        class ClosingOnFailure(httpcore.AsyncConnectionInterface):
            """One of httpcore's connections, closed when a request fails and leaves it neither idle nor closed:
            a tunnel whose TLS handshake failed after the proxy's 200 (``transport``). A connection that served a
            request is left idle or closed by httpcore itself, so only that one is."""

            def __init__(self, inner: httpcore.AsyncConnectionInterface) -> None:
                self._inner = inner

            async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
                try:
                    return await self._inner.handle_async_request(request)
                except httpcore.ConnectionNotAvailable:
                    # Busy with another request (the pool handed every queued one the connection that came free,
                    # and another took it first): this one is queued again. Closed here, it cut the other's request
                    # once sent (its answer lost) and a new tunnel was opened for each.
                    raise
                except BaseException:
                    if not (self._inner.is_idle() or self._inner.is_closed()):
                        await self._inner.aclose()
                    raise

            async def aclose(self) -> None:
                await self._inner.aclose()

            def info(self) -> str:
                return self._inner.info()

            def can_handle_request(self, origin: httpcore.Origin) -> bool:
                return self._inner.can_handle_request(origin)

            def is_available(self) -> bool:
                return self._inner.is_available()

            def has_expired(self) -> bool:
                return self._inner.has_expired()

            def is_idle(self) -> bool:
                return self._inner.is_idle()

            def is_closed(self) -> bool:
                return self._inner.is_closed()

            def __repr__(self) -> str:
                return repr(self._inner)

        self.failure = ProxyFailure
        self.closing_on_failure = ClosingOnFailure
        self.through_proxy = ThroughProxy
        self.unusable = Unusable


@cache
def _classes() -> _Classes:
    """Our subclasses of httpx's classes, defined on first use (it imports httpx)."""
    return _Classes()
