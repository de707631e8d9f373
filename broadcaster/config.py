"""The configuration as every layer reads it: frozen dataclasses, and secrets that never print.

Secrets are written ``${ENV_VAR}`` and wrapped in ``Secret``, whose ``str`` and
``repr`` are ``***``: a secret can reach a log line or a traceback only by
someone calling ``reveal()``, which happens where an SDK client is built.

``broadcaster.config_loader`` reads ``broadcaster.toml`` into these; this module
imports nothing of broadcaster but its errors and model, so channels, hosts, the
site and the store may all name the configuration they are given.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from broadcaster import lazy_re
from broadcaster.errors import ConfigError, InputError, did_you_mean, printable
from broadcaster.messages.model import Audience, Component, Level, Visibility

SITE_DESTINATION = "site"
# The destinations that deliver to the bot's subscribed chats: "subscribers" (public),
# "subscribers.internal", "subscribers.audience.ID".
SUBSCRIBERS = "subscribers"


def is_subscribers(destination: str) -> bool:
    """Whether ``destination`` is the bot's (``subscribers``, ``subscribers.audience.acme``...): its chats are the
    store's subscriptions, not a table's."""
    return destination == SUBSCRIBERS or destination.startswith(f"{SUBSCRIBERS}.")


# What [store] url may be; anything else is refused at load and again where the store is opened.
STORE_URL_SCHEMES = ("sqlite:///", "postgresql://", "postgres://")
STORE_URL_HELP = (
    'must be a URL: "postgresql://user@host/dbname" for a team store (a password as ${DB_PASSWORD}, '
    'PGPASSWORD or ~/.pgpass) or "sqlite:///path/to/state.db"; for a local file, [store] path is simpler'
)


def sqlite_url_query_refused(url: str) -> str | None:
    """Why a ``sqlite:///PATH`` URL holding a query or a fragment (``?mode=ro``, ``?immutable=1``, ``#main``) is
    refused, in words to follow the setting's name; None for one naming a file alone. SQLAlchemy's and SQLite's own
    URLs take options there; read as part of the file's name, they named a new, empty store beside the state file
    (``state.db?mode=ro``), which a post made and whose page dropped every other incident."""
    path = url.strip().removeprefix("sqlite:///")
    cut = min((found for found in (path.find("?"), path.find("#")) if found >= 0), default=-1)
    if cut < 0:
        return None
    return (f"{printable(url.strip(), one_line=True)} holds {printable(path[cut:], one_line=True)!r}, which a sqlite:/// "
            "URL here does not read: it would be part of the file's name, a new, empty store beside the one you "
            f"mean. Write the state file alone (sqlite:///{printable(path[:cut], one_line=True)}): broadcaster opens "
            "it as each command needs (one that only reads never writes it); a file whose name holds '?' or '#' "
            "is written as a plain path in [store] path. Nothing was stored or sent")


# Read by the SDKs from the environment when the config names no credential (botocore takes the
# session token from AWS_SECURITY_TOKEN before AWS_SESSION_TOKEN).
AWS_SECRET_VARIABLES = ("AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID")
# Proxies the SDKs read from the environment by themselves, each in any letter case (urllib takes every
# ``*_proxy``; slack_sdk logs the URL it loaded, password and all); ``no_proxy`` lists hosts, not a URL.
PROXY_VARIABLE_SUFFIX, NO_PROXY = "_proxy", "no_proxy"
# A feed token is the whole of a customer page's protection (``a/<token>/``): long, and safe in a path.
FEED_TOKEN = lazy_re.compile(r"[A-Za-z0-9_-]{20,128}")
FEED_TOKEN_FORM = "20 to 128 letters, digits, '-' or '_'"
MAKE_FEED_TOKEN = "`python3 -c 'import secrets; print(secrets.token_hex(24))'` or `openssl rand -hex 24`"


class Secret:
    """A config value that must never be printed. ``reveal()`` gives the raw value."""

    __slots__ = ("env_var", "_value")

    def __init__(self, env_var: str, value: str | None) -> None:
        self.env_var = env_var
        self._value = value

    def reveal(self) -> str:
        if self._value is None:
            raise ConfigError(
                f"environment variable {self.env_var} is not set. "
                f"Export it (export {self.env_var}=...) and run the command again."
            )
        if self.empty:
            raise ConfigError(
                f"environment variable {self.env_var} is set but empty (an unset shell variable, or an empty file, "
                f"copied into it?). Export its value (export {self.env_var}=...) and run the command again."
            )
        return self._value

    def reveal_or_empty(self) -> str:
        return self._value or ""

    @property
    def missing(self) -> bool:
        """Unset, or set to nothing but white space: no credential is ever empty (``export TG_TOKEN=`` or
        ``export TG_TOKEN=$(cat no-such-file)``), and taken as one it was sent and failed only after the post was
        stored, while `preview` said nothing of it."""
        return self._value is None or self.empty

    @property
    def empty(self) -> bool:
        return self._value is not None and not self._value.strip()

    def __repr__(self) -> str:
        return f"Secret(${{{self.env_var}}}=***)"

    __str__ = __repr__


@dataclass(frozen=True)
class PageConfig:
    title: str = "Service status"
    base_url: str = ""
    output_dir: Path = Path("public")
    timezone: str = "UTC"
    history_days: int = 14
    description: str = ""
    language: str = "en"  # the catalogue every word broadcaster writes itself comes from

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class StoreConfig:
    path: Path = Path(".broadcaster/state.db")
    url: str = ""
    # ``path`` came from a written ``url = "sqlite:///..."``: a refusal of the file names that setting, not "[store]
    # path", which the config did not set.
    path_from_url: bool = False


@dataclass(frozen=True)
class EngineConfig:
    """Timeouts in seconds: per attempt at one destination, and for the whole command."""

    timeout: float = 15.0
    deadline: float = 60.0
    max_attempts: int = 6


@dataclass(frozen=True)
class ChannelConfig:
    """One ``[channels.NAME]`` or ``[publish.NAME]`` table.

    ``visibility`` is ``public``, ``internal`` or ``audience:ID`` (``Visibility``'s
    text, as deliveries store it); the loader reads ``private`` as ``internal``.
    """

    name: str
    type: str
    visibility: str = "public"
    components: tuple[str, ...] = ()
    api_url: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    def wants(self, component_ids: set[str]) -> bool:
        """Whether an update touching these components goes to this destination."""
        return not self.components or bool(component_ids & set(self.components))

    @property
    def scope(self) -> Visibility:
        return Visibility.parse(self.visibility)

    @property
    def audience(self) -> str:
        """The audience id of a customer's channel; "" for a public or internal one."""
        return self.scope.audience

    @property
    def internal(self) -> bool:
        return self.scope.level == Level.INTERNAL


@dataclass(frozen=True)
class BotConfig:
    """The ``[bot]`` table: the Telegram bot that chats subscribe through and that posts to them.

    ``table`` is what the Telegram client machinery reads (``token``, ``api_url``), as a
    channel table named ``bot``. ``username`` (without the @) names the bot in invite
    links; when empty, ``subscribers invite`` asks Telegram (getMe).
    """

    table: ChannelConfig
    username: str = ""


@dataclass(frozen=True)
class AudienceConfig:
    """One ``[audiences.ID]`` table: the customer, its contracted SLA and its private feed token."""

    audience: Audience
    sla: float | None = None
    feed_token: Secret | None = None
    renamed_from: str | None = None  # the name the store knew it by, when it was renamed (``broadcaster.customer_ids``)


@dataclass(frozen=True)
class ComponentConfig:
    component: Component
    sla: float | None = None
    since: date | None = None  # the first day of its uptime history; None: the first day the store names it


class Audiences(dict[str, Audience]):
    """Audience id -> the audience, and ``secrets``: each configured secret's value -> the id of the audience whose
    feed token it is ("" for any other secret). The egress guard keeps them from every reader but staff, a
    customer's own token excepted on its own page (``visibility.forbidden_values``, which reads ``secrets``
    through ``visibility.CarriesSecrets``). A dict as before for everyone else: it compares and prints as one,
    and the secrets never print."""

    def __init__(self, audiences: Mapping[str, Audience] | None = None, secrets: Mapping[str, str] | None = None) -> None:
        super().__init__(audiences or {})
        self.secrets: Mapping[str, str] = secrets if secrets is not None else {}


@dataclass(frozen=True)
class Config:
    path: Path | None
    page: PageConfig
    store: StoreConfig
    engine: EngineConfig
    components: tuple[ComponentConfig, ...]
    channels: Mapping[str, ChannelConfig]
    publish: Mapping[str, ChannelConfig]
    templates: Mapping[str, Mapping[str, Any]]
    author: str = ""
    maintenance_reminder_minutes: int = 60
    audience_tables: Mapping[str, AudienceConfig] = field(default_factory=dict)
    bot: BotConfig | None = None  # [bot]: subscribers who sign themselves up (issue 19)

    @property
    def audiences(self) -> Audiences:
        """Audience id -> the audience: what the views and the egress guard are given, with the secrets the
        guard keeps from every reader but staff (``Audiences``)."""
        return Audiences({key: table.audience for key, table in self.audience_tables.items()},
                         dict(self._guarded_secrets))

    @cached_property
    def _guarded_secrets(self) -> tuple[tuple[str, str], ...]:
        """Every secret's value -> the audience whose feed token it is ("" for any other). Worked out once: the
        site's build asks for ``audiences`` for every page."""
        owners = {t.feed_token.reveal_or_empty(): key for key, t in self.audience_tables.items() if t.feed_token}
        return tuple((value, owners.get(value, "")) for value in self.secret_values())

    def require_audience(self, key: str, where: str, *, reading: bool = False, consequence: str = "") -> Audience:
        """The audience ``key`` names; an ``InputError`` with the closest configured id otherwise (``reading``: for a
        command that only reads, which stores and sends nothing anyway and takes no free-text names; ``consequence``:
        for one that takes no free-text names either but would have stored something, what it did not do)."""
        if key in self.audience_tables:
            return self.audience_tables[key].audience
        known = sorted(self.audience_tables)
        hint = did_you_mean(key, known)
        listing = ", ".join(known) if known else "none are configured: add [audiences.ID] to the config"
        after = "" if reading else f" {consequence}" if consequence else (
            " (Free-text customer names go into --private now.) Nothing was stored or sent.")
        raise InputError(f"{where}: no audience {key!r}.{hint} Audiences: {listing}.{after}")

    @property
    def base_dir(self) -> Path:
        return base_dir_of(self.path)

    @property
    def output_dir(self) -> Path:
        return self.base_dir / self.page.output_dir

    @property
    def store_path(self) -> Path:
        return self.base_dir / self.store.path

    @property
    def component_ids(self) -> tuple[str, ...]:
        return tuple(c.component.id for c in self.components)

    def component(self, component_id: str) -> Component | None:
        for entry in self.components:
            if entry.component.id == component_id:
                return entry.component
        return None

    @property
    def destination_names(self) -> tuple[str, ...]:
        return (SITE_DESTINATION, *self.publish, *self.channels)

    def _destination_tables(self) -> tuple[ChannelConfig, ...]:
        return (*self.channels.values(), *self.publish.values(), *([self.bot.table] if self.bot else []))

    def _named_tables(self) -> list[tuple[str, ChannelConfig]]:
        """``_destination_tables`` with the key the config gives each (``channels.NAME``, ``publish.NAME``, ``bot``)."""
        tables = [(f"channels.{name}", table) for name, table in self.channels.items()]
        tables += [(f"publish.{name}", table) for name, table in self.publish.items()]
        return tables + ([("bot", self.bot.table)] if self.bot else [])

    def secret_values(self, environ: Mapping[str, str] | None = None) -> list[str]:
        """Every secret this config gives a destination or the store, for redaction (``named_secrets``' values)."""
        return [value for _, value in self.named_secrets(environ)]

    def named_secrets(
        self, environ: Mapping[str, str] | None = None, *,
        parts_of: Callable[[ChannelConfig], Callable[[str], list[str]]] | None = None,
    ) -> list[tuple[str, str]]:
        """(where it is configured, its value) for every secret this config gives a destination or the store:
        what may be said of one (an update's text holding it is refused by its name, never its value).

        The ``${VAR}`` secrets of channels and publish targets (and, with ``parts_of``, the credential alone within
        a channel's, its type's ``secret_parts``: ``registry.secret_parts_of``), the variables a ``[store] url`` names, or the whole ``[store] url = "${VAR}"``
        and its password when it holds one, and the standard variables the SDKs read by
        themselves (AWS keys, ``PGPASSWORD``, a proxy's password), which may reach an error text
        or a library's log too.
        """
        env = os.environ if environ is None else environ
        tables = self._named_tables()
        named: list[tuple[str, str]] = []
        for where, table in tables:
            # With the credential alone within each (a Discord webhook's token, a Teams flow's sig): the same
            # webhook written another way (canary.discord.com, ":443") holds it, not the URL as configured.
            parts = parts_of(table) if parts_of is not None and where.startswith("channels.") else _no_parts
            for key, value in secrets_in(table.options):
                label, revealed = f"{where}.{key} (${{{value.env_var}}})", value.reveal_or_empty()
                named += [(label, revealed), *((label, part) for part in (parts(revealed) if revealed else []))]
        named += [(f"the credentials in {where}", part) for where, value in list(named)
                  for part in url_credentials(value)]
        named += [(f"a password in the URLs of {where}", part) for where, table in tables for part in url_secrets(table)]
        # A feed token is a capability: whoever holds it reads that customer's page.
        named += [(f"audiences.{key}.feed_token (${{{t.feed_token.env_var}}})", t.feed_token.reveal_or_empty())
                  for key, t in self.audience_tables.items() if t.feed_token]
        url = self.store.url.reveal_or_empty() if isinstance(self.store.url, Secret) else self.store.url
        named += [(f"${{{name}}} (in [store] url)", env.get(name, ""))
                  for name in re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", url or "")]
        if isinstance(self.store.url, Secret) and url:  # url = "${STORE_URL}": its value names no variable
            where = f"[store] url (${{{self.store.url.env_var}}})"
            passwords = store_url_secrets(url)
            named += [(where, part) for part in ([url, *passwords] if passwords else [])]
        if any(table.type == "s3" for table in self.publish.values()):
            named += [(name, env.get(name, "")) for name in AWS_SECRET_VARIABLES]
        if url:
            named.append(("PGPASSWORD", env.get("PGPASSWORD", "")))
        named += proxy_secrets_named(env)
        return [(where, value) for where, value in named if value]

    def missing_secrets(self, names: set[str] | None = None) -> list[str]:
        """``name.key: ${VAR}`` for every secret whose variable is unset, and for a feed token whose value
        cannot be one (refused before anything is stored, as an unset one is, not by the site's build after)."""
        missing = []
        for table in (self.channels, self.publish):
            for name, channel in table.items():
                if names is not None and name not in names:
                    continue
                for key, value in secrets_in(channel.options):
                    if value.missing:
                        missing.append(f"{name}.{key}: ${{{value.env_var}}}{_empty_said(value)}")
        bot_token = secrets_in(self.bot.table.options) if self.bot else []
        if names is None or any(is_subscribers(n) for n in names):
            missing += [f"bot.{key}: ${{{value.env_var}}}{_empty_said(value)}" for key, value in bot_token
                        if value.missing]
        if names is None or SITE_DESTINATION in names:  # the site builds the customers' pages
            for key, customer in self.audience_tables.items():
                token = customer.feed_token
                if token is not None and (token.missing or not FEED_TOKEN.fullmatch(token.reveal())):
                    unfit = _empty_said(token) if token.missing else (f" (its value is not a usable token: it must be {FEED_TOKEN_FORM}; "
                                                      f"make one with {MAKE_FEED_TOKEN})")
                    missing.append(f"audiences.{key}.feed_token: ${{{token.env_var}}}{unfit}")
        return missing


def _empty_said(value: Secret) -> str:
    return " (set, but empty)" if value.empty else ""


def _no_parts(_value: str) -> list[str]:
    return []


def secrets_in(options: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Secret]]:
    """Every ``${VAR}`` of a table with its dotted key, those in nested tables too (a webhook's ``headers``)."""
    found: list[tuple[str, Secret]] = []
    for key, value in options.items():
        if isinstance(value, Secret):
            found.append((f"{prefix}{key}", value))
        elif isinstance(value, Mapping):
            found += secrets_in(value, f"{prefix}{key}.")
    return found


def is_http_url(text: str) -> bool:
    """Whether ``text`` is an http(s) URL with a host, no white space or control character, and a
    port that is a number: what an ``api_url`` or an ``endpoint_url`` must be. Checked when the
    config is read, since an SDK that refuses one repeats it whole (a password in it too)."""
    if not re.match(r"https?://[^/?#]", text, re.IGNORECASE) or any(c.isspace() or ord(c) < 32 for c in text):
        return False
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return False
    return bool(parts.hostname)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name, an address, an IPv6 address in brackets) is this machine: where a secret may
    travel without TLS (a relay, a proxy on localhost, a local Bot API server)."""
    if host.lower() == "localhost":  # a name is any case: "LOCALHOST" resolves as "localhost" does
        return True
    import ipaddress  # only here: a config with no http:// URL never needs it

    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def plain_value(value: Any) -> str:
    """An option's text: as written, or the value of the ``"${VAR}"`` it names ("" if unset)."""
    if value is None:
        return ""
    return value.reveal_or_empty() if isinstance(value, Secret) else str(value)


_USERINFO = lazy_re.compile(
    r"(?<=://)[^/@\s]+@"
    # Also "user:password@host" without a scheme, as a proxy variable may hold it (curl, requests, httpx and
    # urllib add "http://" themselves) and a library logs it: at the start of a text or of a word, never "mailto:".
    r"|(?<![^\s\"'=(<\[,;])(?!mailto:)[^/@\s:\"'=]+:[^/@\s\"']*@(?=[\w\[])",
    re.IGNORECASE,
)
# A user name standing alone in a URL ("https://TOKEN@proxy/"): many proxies and gateways take their key so.
# Also before an empty password ("https://TOKEN:@proxy/"), as curl's ``-u TOKEN:`` is written in a URL.
_USER_ALONE = lazy_re.compile(r"(?<=://)[^/@\s:]+:?@")


def without_credentials(text: str) -> str:
    """``text`` with the user and password of every URL in it shown as ``***@``."""
    return _USERINFO.sub("***@", text)


def without_lone_users(text: str) -> str:
    """``text`` with a user name standing alone in a URL shown as ``***@`` (``http://***@proxy/``), where
    ``user:password@`` keeps its user (``redact`` masks the password): not a secret value, since "deploy"
    alone is a word every message would lose, but never printed or stored as part of a URL (README)."""
    return _USER_ALONE.sub("***@", text)


def proxy_secrets(env: Mapping[str, str]) -> list[str]:
    """The passwords of the proxies in ``env`` (``HTTPS_PROXY``, ``http_proxy``, ``ALL_PROXY``...), which
    the SDKs use without the config naming them. A user alone there is a name, not a secret."""
    return [value for _, value in proxy_secrets_named(env)]


def proxy_secrets_named(env: Mapping[str, str]) -> list[tuple[str, str]]:
    """``proxy_secrets`` with the variable each is in."""
    names = [n for n in env if n.lower().endswith(PROXY_VARIABLE_SUFFIX) and n.lower() != NO_PROXY]
    # Without a scheme ("user:password@proxy:3128") the SDKs read it as http://, and so is it read here.
    passwords = [(f"the password in ${{{name}}}", part) for name in names
                 for part in dict.fromkeys([*url_credentials(env[name] if "://" in env[name] else f"http://{env[name]}",
                                                             user_alone=False), *loose_proxy_password(env[name])])]
    return passwords + [(f"the proxy's user and host in ${{{name}}} (a key, for some proxies)", part)
                        for name in names for part in key_as_the_proxys_user(env[name])]


def proxy_userinfo(value: str) -> str:
    """What a proxy variable's value holds before its host, read loosely: all before its last "@" (after the
    scheme). A password pasted with "/", "?" or "#" unencoded ("http://deploy:pa/ss@proxy:3128") is no password to
    a strict reading (its host part ends at the "/"), yet it is one, and every library quoting the value shows it;
    a proxy's URL has no path, so an "@" is always the credentials' end."""
    rest = value.partition("://")[2] if "://" in value else value
    return rest.rpartition("@")[0]


def loose_proxy_password(value: str) -> list[str]:
    """The password of ``proxy_userinfo``, as written and decoded, and the HTTP Basic form of it. A user alone is a
    name, not a secret, but for one holding "/", "?" or "#": no name, a key given as the user, which no log's scrub
    of a URL's user@ finds (its URL read strictly has none). One without its scheme: ``key_as_the_proxys_user``."""
    user, _, password = proxy_userinfo(value).partition(":")
    secret = password or (user if any(mark in user for mark in "/?#") else "")
    if not secret:
        return []
    basic = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode()
    return [secret, unquote(secret), basic]


def key_as_the_proxys_user(value: str) -> list[str]:
    """"KEY@proxy:3128" without its scheme, which libraries log as written (slack_sdk): no scrub of a URL's user@ finds
    the user there, and some proxies take a key in its place. Masked with the host it is written before: masked with
    its "@" alone, a name given so ("support@proxy:3128") refused every post giving an address at that name
    ("support@example.com") as holding the proxy's password; the user and host together is no ordinary text."""
    userinfo = proxy_userinfo(value)
    if "://" in value or not userinfo or ":" in userinfo or any(mark in userinfo for mark in "/?#"):
        return []  # a URL's user (scrubbed after its "://"), or a password (loose_proxy_password)
    # With the port as written: 'support@acme' alone was found in 'support@acme.com', an address at another host, and
    # refused it; the variable (and slack_sdk's line quoting it) ends the host at the port's ':' ("[::1]:3128" whole).
    host = re.split(r"[/?#]", value.rpartition("@")[2], maxsplit=1)[0]
    user_and_host = f"{userinfo}@{host}"
    basic = base64.b64encode(f"{unquote(userinfo)}:".encode()).decode()
    return list(dict.fromkeys([user_and_host, unquote(user_and_host), basic]))


def store_url_secrets(url: str) -> list[str]:
    """The password of a store URL, as written and decoded, in its userinfo or its query (libpq's
    ``sslpassword``, a client key's passphrase, too). A user alone there is a name, not a secret."""
    query = re.findall(r"[?&](?:ssl)?password=([^&#]+)", url, re.IGNORECASE)
    return [*url_credentials(url, user_alone=False), *query, *(unquote(q) for q in query)]


def url_secrets(table: ChannelConfig) -> list[str]:
    """The passwords written into a destination's URLs (a proxy's ``api_url``, an ``endpoint_url``):
    errors quote the URLs they could not reach. A user alone there is a name, not a secret."""
    urls = [v for v in (table.api_url, *table.options.values()) if isinstance(v, str) and "://" in v]
    return [part for url in urls for part in url_credentials(url, user_alone=False)]


def url_credentials(value: str, *, user_alone: bool = True) -> list[str]:
    """The credential a URL holds (a git remote from ${VAR}) in the forms an error may show it on
    its own: the password, or a user name given alone (a token written as the user; not with
    ``user_alone=False``, for URLs written in the file, where a user alone is a name like "deploy"),
    as written and decoded, and the HTTP Basic form git sends (``user:password`` in base64), which
    a server or proxy echoing the request's Authorization header repeats.

    Read by hand, not with ``urlsplit``: a URL it refuses (an unclosed "[") may still be repeated
    by whatever fails on it, password and all."""
    scheme, found, rest = value.partition("://")
    authority = rest[: min((i for i in map(rest.find, "/?#") if i >= 0), default=len(rest))]
    if not found or "@" not in authority:
        return []
    user, _, password = authority.rpartition("@")[0].partition(":")
    secret = password or (user if user_alone else "")
    if not secret:
        return []
    basic = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode()
    return [secret, unquote(secret), basic]


def refuse_unknown(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    """A ``ConfigError`` naming the first key of ``table`` not ``allowed`` (``where`` + key), with the
    closest allowed key as a hint: the loader and the registry check every table this way."""
    for key in table:
        if key not in allowed:
            import difflib  # only to suggest a fix for a mistake
            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"{where}{key}: unknown key.{hint} Allowed here: {', '.join(sorted(allowed))}.")


def base_dir_of(path: Path | None) -> Path:
    """The folder relative paths of a config at ``path`` start from (the working folder without a file)."""
    return path.parent if path else Path.cwd()


def destination_names(options: Iterable[str]) -> list[str]:
    """The names given to ``--only``/``--skip``: each value may be a comma list; spaces and empty names go."""
    return [name for chunk in options for name in (n.strip() for n in chunk.split(",")) if name]
