"""Read ``broadcaster.toml`` into a ``Config``, refusing anything unknown.

Every mistake is a ``ConfigError`` naming the file and the key. The tables every
config has (page, store, engine, components, templates) are checked here; a
channel's or publish target's own options by its type, through
``broadcaster.registry``.
"""

from __future__ import annotations

import os
import re
import tomllib
import unicodedata
from collections.abc import Callable, Collection, Mapping
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from broadcaster import lazy_re, registry
from broadcaster.config import (
    SITE_DESTINATION,
    STORE_URL_HELP,
    STORE_URL_SCHEMES,
    SUBSCRIBERS,
    AudienceConfig,
    BotConfig,
    ChannelConfig,
    ComponentConfig,
    Config,
    EngineConfig,
    PageConfig,
    Secret,
    StoreConfig,
    base_dir_of,
    is_http_url,
    is_loopback,
    is_subscribers,
    refuse_unknown,
    sqlite_url_query_refused,
)
from broadcaster.errors import ConfigError, InputError, did_you_mean, printable
from broadcaster.messages import gate
from broadcaster.messages.egress import Compared
from broadcaster.messages.model import INTERNAL_SYNONYMS, Audience, Component, Visibility
from broadcaster.site.folder import refuse_a_config_in_a_site

CONFIG_ENV = "BROADCASTER_CONFIG"
DEFAULT_NAME = "broadcaster.toml"
_ENV_REF = lazy_re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
# Matched whole (fullmatch): "$" would let a trailing newline through.
_NAME = lazy_re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
# A component id names its badge and its feeds' folder (badges/<id>.svg, components/<id>/): the site's rule
# for a file name, checked here so a config the site cannot build is refused before anything is stored.
_COMPONENT_ID = lazy_re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")

_TOP_KEYS = {"page", "store", "engine", "components", "channels", "publish", "templates", "operator", "maintenance",
             "audiences", "bot"}
_AUDIENCE_KEYS = {"name", "components", "sla", "feed_token", "id_is_a_word", "renamed_from"}
# Inside a bracketed label, a break and more after it: the detail the label was meant to keep ("(internal only: rack 7)").
_DETAIL_AFTER_A_LABEL = lazy_re.compile(r"[:;\u2013\u2014]\s*\w|\s-\s*\w")
_MAINTENANCE_KEYS = {"reminder_minutes"}
_PAGE_KEYS = {"title", "base_url", "output_dir", "timezone", "history_days", "description", "language"}
_STORE_KEYS = {"path", "url"}
_ENGINE_KEYS = {"timeout", "deadline", "max_attempts"}
_COMPONENT_KEYS = {"id", "name", "group", "description", "sla", "since"}
_BOT_KEYS = {"type", "token", "api_url", "username"}
_NOT_HTTP = ('must be an http(s) URL with a host, like "https://proxy.example/telegram/" (the value is not shown: '
             "it may hold a password)")
_BOT_USERNAME = lazy_re.compile(r"^@?([A-Za-z][A-Za-z0-9_]{3,31})$")
_TEMPLATE_KEYS = {"title", "impact", "components", "status", "message", "private", "for"}


def find_config_path(explicit: str | None) -> Path | None:
    """``--config``, then ``$BROADCASTER_CONFIG``, then ``./broadcaster.toml``; None if none."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            found = "is a folder" if path.is_dir() else "not found"
            raise ConfigError(f"config file {path} {found}. {_what_to_do(path, 'Check the path')}"
                              f"{_component_meant(explicit) if found == 'not found' else ''}")
        return path.resolve()
    from_env = os.environ.get(CONFIG_ENV)
    if from_env:
        path = Path(from_env)
        if not path.is_file():
            raise ConfigError(f"${CONFIG_ENV} names {path}, which does not exist. {_what_to_do(path, 'Fix the variable')}")
        return path.resolve()
    default = Path.cwd() / DEFAULT_NAME
    return default if default.is_file() else None


def _component_meant(value: str) -> str:
    """`post -c api=partial_outage`: a component meant, typed with a small c, which is --config's short option."""
    if "/" in value or "\\" in value or "." in value:
        return ""
    return " (-c is --config, the config file; an affected component is -C ID[=STATUS], a capital C.)"


def _what_to_do(path: Path, fix: str) -> str:
    """A config file that is not there: the one meant, if its folder has config files; else how to make one.

    `broadcaster init` at a mistyped path would make a second config with no channels, and every post
    read from it would then go to a local page only."""
    folder = path if path.is_dir() else path.parent
    try:
        found = sorted(str(folder / f.name) for f in folder.glob("*.toml") if f.is_file())
    except OSError:  # a folder we may not read: nothing to suggest from it
        found = []
    if not found:
        import shlex

        made = path / DEFAULT_NAME if path.is_dir() else path  # `init FOLDER` fails: "is a directory" (review 35c)
        return f"{fix}, or run `broadcaster init {shlex.quote(str(made))}` to make one there."
    hint = did_you_mean(str(path), found)
    listed = "" if hint else f" {folder} has: {', '.join(found[:5])}{', ...' if len(found) > 5 else ''}."
    return f"{fix}.{hint}{listed}"


def _not_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


PublishKnown = Callable[[Mapping[str, ChannelConfig], Path], None]


def load(
    explicit: str | None = None, environ: Mapping[str, str] | None = None, *, publish_known: PublishKnown | None = None
) -> Config:
    """Find and load the config; with no file at all, the embedded default.

    ``publish_known(tables, base_dir)`` is called with the ``[publish.NAME]`` tables as soon as
    they are valid, before the rest is checked (see ``parse``)."""
    path = find_config_path(explicit)
    if path is None:
        return parse({}, None, environ)
    refuse_a_config_in_a_site(path)
    try:
        # "utf-8-sig": a byte order mark, which Windows editors (Notepad) write at the start of a UTF-8 file, is the
        # file's encoding mark, not text; tomllib would read it as "Invalid statement (at line 1, column 1)".
        raw = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text (byte {exc.start}). Save it as UTF-8.") from exc
    try:
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_toml_error(path, raw, exc)) from exc
    return parse(data, path, environ, publish_known=publish_known)


def _toml_error(path: Path, raw: str, exc: tomllib.TOMLDecodeError) -> str:
    lineno = getattr(exc, "lineno", None)
    if lineno is None:
        found = re.search(r"line (\d+)", str(exc))
        lineno = int(found.group(1)) if found else None
    message = f"{path} is not valid TOML: {exc}."
    if lineno:
        lines = raw.splitlines()
        if 0 < lineno <= len(lines):
            message += f"\n  line {lineno}: {_shown_line(lines[lineno - 1].strip())}"
    return message


def _shown_line(line: str) -> str:
    """A line of the config as an error shows it: its key and never its value, which may be a token or a password
    written in the file (a value broken by a missing quote is exactly what the error is about); a table's header
    whole; any other line (inside a broken string) not at all."""
    key, equals, _ = line.partition("=")
    if equals:
        return f"{printable(key.strip())} = … (the value is not shown: it may be a secret)"
    if line.startswith("["):
        return printable(line)
    return "(not shown: it may hold a secret)"


class _Reader:
    """Reads one table, naming the file and key in every error."""

    def __init__(self, path: Path | None, environ: Mapping[str, str]) -> None:
        self.where = f"{path}: " if path else "config: "
        self.environ = environ

    def error(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.where}{key}: {problem}")

    def table(self, value: Any, key: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.error(key, "must be a table ([" + key + "])")
        return value

    def refuse_unknown(self, table: Mapping[str, Any], allowed: set[str], prefix: str) -> None:
        refuse_unknown(table, allowed, f"{self.where}{prefix}")

    def string(self, table: Mapping[str, Any], key: str, prefix: str, default: str = "") -> str:
        value = table.get(key, default)
        if not isinstance(value, str):
            raise self.error(prefix + key, f"must be a string, not {type(value).__name__}")
        return value

    def path(self, table: Mapping[str, Any], key: str, prefix: str, default: str = "") -> str:
        """A file or folder's name: no control or format character, which every message naming it would print to
        the operator's terminal (an escape sequence rewriting the line above)."""
        value = self.string(table, key, prefix, default)
        try:
            gate.normalise(value, "the path")
        except InputError as exc:
            raise self.error(prefix + key, str(exc).replace("nothing was stored or sent", "nothing was done")) from exc
        return value

    def text(self, table: Mapping[str, Any], key: str, prefix: str, default: str = "") -> str:
        """A string readers see (the page's title, a component's name): no control or format character,
        which would break the badges, feeds and calendar it is printed in, or turn text around; and no
        private marker or lookalike, which every reader of it would get as written."""
        value = self.string(table, key, prefix, default)
        marker = gate.find_marker(value)
        if marker is not None:
            raise self.error(prefix + key, f"holds {marker[1]!r} at character {marker[0] + 1}, a private marker or "
                             "something that looks like one: every reader sees this text as written, so it takes no "
                             "markers. Remove it; nothing was done.")
        try:
            value = gate.normalise(value, "the value")
        except InputError as exc:
            raise self.error(prefix + key, str(exc).replace("nothing was stored or sent", "nothing was done")) from exc
        self._refuse_staff_labels(value, prefix + key)
        return value

    def _refuse_staff_labels(self, value: str, where: str) -> None:
        """A bracketed label with the detail it was meant to keep from outsiders ("REST API (internal only: rack
        FRA-7)"): every reader of the page, its feeds and JSON, or the customer's own channel reads this text as
        written (review 29a). A label alone says who a component is for ("VPN (staff only)", a group "Internal: DNS")
        and is no such detail: a config refused stops every command (review 29e). Only a round or curly bracket
        holds such a label (``gate.lookalike``'s ``mixed``): a text of ASCII without one is not read again, since
        every command reads every text of the config (520 components: 60 ms more)."""
        if value.isascii() and "(" not in value and "{" not in value:
            return
        found = gate.lookalike(value, mixed=True)
        if found is not None and _DETAIL_AFTER_A_LABEL.search(found[1]):
            raise self.error(where, f"holds {found[1]!r} at character {found[0] + 1}, a label with the detail it keeps "
                             "from outsiders: every reader sees this text as written. Keep that detail out of the "
                             "config; nothing was done.")

    def number(self, table: Mapping[str, Any], key: str, prefix: str, default: float) -> float:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise self.error(prefix + key, "must be a positive number")
        return float(value)

    def names(self, table: Mapping[str, Any], key: str, prefix: str) -> tuple[str, ...]:
        value = table.get(key, [])
        if isinstance(value, str) and "," in value:
            # "api, db" would be read as one id and refused as unknown, with 'api' offered in its place (review 52b)
            listed = ", ".join(f'"{part.strip()}"' for part in value.split(",") if part.strip())
            raise self.error(prefix + key, f"must be a list, one string per id: {key} = [{printable(listed)}]")
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(prefix + key, "must be a list of strings")
        return tuple(value)

    def resolve(self, value: Any) -> Any:
        """``${VAR}`` strings become Secrets; lists and tables are walked."""
        if isinstance(value, str):
            found = _ENV_REF.match(value.strip())
            if found:
                var = found.group(1)
                held = self.environ.get(var)
                if held is not None and not held.isascii() and _not_text(held):
                    # Bytes that are no UTF-8 (Python's surrogate escapes): every later use of the value, its masking
                    # first, would fail with a traceback (review 35f). Never shown: it may be a token.
                    raise ConfigError(f"environment variable {var} holds bytes that are not UTF-8 text: set it again "
                                      "(its value is not shown).")
                return Secret(var, held)
            return value
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        return value


def parse(
    data: Mapping[str, Any], path: Path | None, environ: Mapping[str, str] | None = None,
    *, publish_known: PublishKnown | None = None,
) -> Config:
    """Validate a parsed TOML document; every mistake is a ConfigError naming the key.

    The publish targets are read first, and handed to ``publish_known``: a command that will
    publish starts the bucket's first read then, while the channels' modules load for their
    checks (a read changes nothing, so a mistake found later only wastes it). So a mistake in
    ``[publish]`` is reported before one in ``[channels]``, wherever each is in the file."""
    reader = _Reader(path, os.environ if environ is None else environ)
    reader.refuse_unknown(data, _TOP_KEYS, "")
    publish = {
        name: _publish_target(reader, name, table)
        for name, table in reader.table(data.get("publish"), "publish").items()
    }
    if publish_known is not None:
        publish_known(publish, base_dir_of(path))
    components = _components(reader, data.get("components", []))
    ids = {c.component.id for c in components}
    audiences = _audiences(reader, reader.table(data.get("audiences"), "audiences"), ids)
    channels = {
        name: _channel(reader, name, table, ids, audiences)
        for name, table in reader.table(data.get("channels"), "channels").items()
    }
    _refuse_name_clashes(reader, channels, publish)
    _refuse_kept_capabilities(reader, audiences, publish)
    _refuse_shared_feed_tokens(reader, audiences)
    registry.refuse_shared_targets(channels, reader.where)
    operator = reader.table(data.get("operator"), "operator")
    reader.refuse_unknown(operator, {"name"}, "operator.")
    maintenance = reader.table(data.get("maintenance"), "maintenance")
    reader.refuse_unknown(maintenance, _MAINTENANCE_KEYS, "maintenance.")
    reminder = maintenance.get("reminder_minutes", 60)
    if isinstance(reminder, bool) or not isinstance(reminder, int) or reminder < 0:
        raise reader.error("maintenance.reminder_minutes", "must be a whole number of minutes (0 turns reminders off)")
    page = _page(reader, reader.table(data.get("page"), "page"))
    _refuse_customers_in_public_texts(reader, page, components, audiences)
    _refuse_overlapping_folders(reader, page.output_dir, publish, base_dir_of(path))
    return Config(
        path=path,
        page=page,
        store=_store(reader, reader.table(data.get("store"), "store")),
        engine=_engine(reader, reader.table(data.get("engine"), "engine")),
        components=components,
        channels=channels,
        publish=publish,
        templates=_templates(reader, reader.table(data.get("templates"), "templates"), ids, audiences),
        author=reader.text(operator, "name", "operator."),
        maintenance_reminder_minutes=reminder,
        audience_tables=audiences,
        bot=_bot(reader, data.get("bot"), channels),
    )


def _refuse_overlapping_folders(
    reader: _Reader, output_dir: Path, publish: Mapping[str, ChannelConfig], base_dir: Path
) -> None:
    """A directory target is replaced whole at each publish: inside the site's own folder, or holding it,
    every publish would fail after the post was stored. Refused here, before anything is."""
    site = (base_dir / output_dir).resolve()
    for name, target in publish.items():
        if target.type != "directory" or not isinstance(target.options.get("path"), str):
            continue
        folder = (base_dir / Path(target.options["path"]).expanduser()).resolve()
        if folder == site or folder.is_relative_to(site) or site.is_relative_to(folder):
            raise reader.error(f"publish.{name}.path", f"({folder}) overlaps the folder the site is built in, "
                                                       f"[page] output_dir ({site}). Point it somewhere else, e.g. "
                                                       "the folder your web server serves")


def _bot(reader: _Reader, value: Any, channels: Mapping[str, ChannelConfig]) -> BotConfig | None:
    """``[bot]``: a Telegram bot (``token`` from ``${VAR}``, optional ``api_url`` and ``username``)."""
    if value is None:
        return None
    table = reader.table(value, "bot")
    reader.refuse_unknown(table, _BOT_KEYS, "bot.")
    if table.get("type") != "telegram":
        raise reader.error("bot.type", 'must be "telegram" (the only bot broadcaster runs)')
    api_url = table.get("api_url")
    if api_url is not None and (not isinstance(api_url, str) or not is_http_url(api_url)):
        raise reader.error("bot.api_url", _NOT_HTTP)
    if api_url is not None:
        _refuse_clear_text(reader, "bot.api_url", api_url, "the bot's token, and what subscribers send it,")
    username = reader.string(table, "username", "bot.")
    named = _BOT_USERNAME.match(username) if username else None
    if username and named is None:
        raise reader.error("bot.username", "must be the bot's Telegram username, e.g. \"acme_status_bot\"")
    options = {"token": reader.resolve(table.get("token"))} if "token" in table else {}
    registry.check_bot(options, f"{reader.where}bot.")
    for name in channels:
        if is_subscribers(name):
            raise reader.error(f"channels.{name}", f"names starting with {SUBSCRIBERS!r} are the bot's "
                               "subscribers when [bot] is set; rename this table")
    return BotConfig(ChannelConfig("bot", "telegram", "public", (), api_url, options), named.group(1) if named else "")


def _page(reader: _Reader, table: dict[str, Any]) -> PageConfig:
    # Here, not at the top: they load after the publish targets' first read has left (see ``parse``).
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from broadcaster.messages import i18n

    reader.refuse_unknown(table, _PAGE_KEYS, "page.")
    timezone = reader.string(table, "timezone", "page.", "UTC")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise reader.error("page.timezone", f"unknown time zone {timezone!r}; use e.g. 'Europe/Berlin'") from exc
    days = table.get("history_days", 14)
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        raise reader.error("page.history_days", "must be a whole number of days, 0 or more")
    base_url = _base_url(reader, reader.string(table, "base_url", "page."))
    language = reader.string(table, "language", "page.", "en")
    if language not in i18n.languages():
        shipped = ", ".join(f'"{code}"' for code in i18n.languages())
        raise reader.error(
            "page.language",
            f"no catalogue for {language!r}; use one of {shipped}, or add messages/locale/{language}/LC_MESSAGES/"
            "broadcaster.po (see the README, \"The page in the reader's language\")",
        )
    return PageConfig(
        title=reader.text(table, "title", "page.", PageConfig.title),
        base_url=base_url,
        output_dir=Path(reader.path(table, "output_dir", "page.", "public")).expanduser(),  # "~" as --store takes it
        timezone=timezone,
        history_days=days,
        description=reader.text(table, "description", "page."),
        language=language,
    )


def _base_url(reader: _Reader, value: str) -> str:
    """The page's public address: it is printed in every post and feed, so only a plain https URL."""
    if not value:
        return ""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        parts = None
    if (
        parts is None or parts.scheme != "https" or not parts.hostname or parts.username is not None
        or parts.password is not None or "?" in value or "#" in value or "\\" in value  # browsers read "\\" as "/"
        or any(c.isspace() for c in value)
        or any(unicodedata.category(c) == "Cc" for c in value)
    ):
        raise reader.error(
            "page.base_url",
            "must be an absolute https:// URL with a host, and no user or password, no ?query, no #fragment, "
            "no backslash and no spaces, e.g. \"https://status.example.com/\" (it is published in every link)",
        )
    return value.rstrip("/") + "/"


def _store(reader: _Reader, table: dict[str, Any]) -> StoreConfig:
    reader.refuse_unknown(table, _STORE_KEYS, "store.")
    path = reader.path(table, "path", "store.", ".broadcaster/state.db").strip()
    if path.startswith("sqlite:///") and sqlite_url_query_refused(path):
        raise reader.error("store.path", f"{sqlite_url_query_refused(path)}.")
    if path.startswith("sqlite:///") and path != "sqlite:///":
        path = path.removeprefix("sqlite:///")
    elif path.lower().startswith(("sqlite:", "postgres")) or "://" in path:
        # Opened as a file, it made a folder named "sqlite:" and a new, empty store in it.
        raise reader.error("store.path", 'must be a file path, or "sqlite:///path/to/state.db"; a PostgreSQL '
                                         "store goes in [store] url")
    url = table.get("url", "")
    url = reader.resolve(url) if isinstance(url, str) else url
    if isinstance(url, str):
        # As ``path`` is, and a URL from a variable (``store_location``): " sqlite:///state.db" was kept as a server's
        # URL and opened as it stood, a file in the working folder, and "sqlite:///state.db " a file named with a space.
        url = url.strip()
        _refuse_written_password(reader, url)
        if url.strip() and not url.strip().lower().startswith(STORE_URL_SCHEMES):
            # A libpq keyword string ("host=db password=…") would otherwise open as a local
            # file named after it: the team store silently replaced, the password in a file name.
            raise reader.error("store.url", STORE_URL_HELP)
    if isinstance(url, str) and url.startswith("sqlite:///"):
        if sqlite_url_query_refused(url):
            raise reader.error("store.url", f"{sqlite_url_query_refused(url)}.")
        _refuse_hidden_characters(reader, url)
        if "path" in table:
            # One of them was taken without a word (the URL): an operator who moved the store by editing `path`
            # read and wrote the old file, and the one who edited the URL kept a `path` that said otherwise.
            raise reader.error("store.path", "and [store] url both name the state file, and only one can: keep "
                                             "one of them (delete the other). Nothing was done.")
        return StoreConfig(path=Path(url.removeprefix("sqlite:///")).expanduser(), path_from_url=True)
    return StoreConfig(path=Path(path).expanduser(), url=url)


def _refuse_hidden_characters(reader: _Reader, url: str) -> None:
    """A state file's name from a sqlite:/// URL as one from [store] path: no control or format character. A zero-width
    space copied from a chat named a new, empty store beside the state file, and an escape sequence was printed to the
    terminal by every message naming the file."""
    try:
        gate.normalise(url, "the URL")
    except InputError as exc:
        raise reader.error("store.url", str(exc).replace("nothing was stored or sent", "nothing was done")) from exc


_URL_PASSWORD = lazy_re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/@?#]*?:(?P<password>[^/@?#]*)@")
_QUERY_PASSWORD = lazy_re.compile(r"[?&]password=(?P<password>[^&#]*)", re.IGNORECASE)
_ENV_ANYWHERE = lazy_re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")


def _refuse_written_password(reader: _Reader, url: str) -> None:
    """A password in ``[store] url`` must come from the environment, like every secret."""
    for found in (_URL_PASSWORD.match(url), _QUERY_PASSWORD.search(url)):
        if found and found.group("password") and _ENV_ANYWHERE.fullmatch(found.group("password")) is None:
            raise reader.error(
                "store.url",
                "holds a password written in the file. Put it in an environment variable and write "
                'url = "postgresql://user:${DB_PASSWORD}@host/dbname" (or use PGPASSWORD or ~/.pgpass).',
            )


def _engine(reader: _Reader, table: dict[str, Any]) -> EngineConfig:
    reader.refuse_unknown(table, _ENGINE_KEYS, "engine.")
    attempts = table.get("max_attempts", EngineConfig.max_attempts)
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        raise reader.error("engine.max_attempts", "must be a whole number, 1 or more")
    return EngineConfig(
        timeout=reader.number(table, "timeout", "engine.", EngineConfig.timeout),
        deadline=reader.number(table, "deadline", "engine.", EngineConfig.deadline),
        max_attempts=attempts,
    )


def _components(reader: _Reader, entries: Any) -> tuple[ComponentConfig, ...]:
    if not isinstance(entries, list):
        raise reader.error("components", "must be an array of tables ([[components]])")
    seen: set[str] = set()
    result = []
    for index, entry in enumerate(entries):
        prefix = f"components[{index}]."
        if not isinstance(entry, dict):
            raise reader.error(prefix.rstrip("."), "must be a table")
        reader.refuse_unknown(entry, _COMPONENT_KEYS, prefix)
        component_id = reader.string(entry, "id", prefix)
        if not _COMPONENT_ID.fullmatch(component_id) or ".." in component_id:
            raise reader.error(
                prefix + "id", (f"{component_id!r} is not a component id" if component_id else "is required")
                + ": up to 128 letters, digits, '-', '_' or '.' (not '..'), starting with a letter or digit "
                "(e.g. \"api-gateway\"; the name shown on the page goes into name)",
            )
        if component_id in seen:
            raise reader.error(prefix + "id", f"{component_id!r} is defined twice")
        seen.add(component_id)
        sla = entry.get("sla")
        if sla is not None and (isinstance(sla, bool) or not isinstance(sla, (int, float)) or not 0 < sla <= 100):
            raise reader.error(prefix + "sla", "must be a percentage such as 99.9")
        component = Component(
            id=component_id,
            name=reader.text(entry, "name", prefix, component_id) or component_id,
            group=reader.text(entry, "group", prefix),
            description=reader.text(entry, "description", prefix),
        )
        since = entry.get("since")
        if since is not None and (not isinstance(since, date) or isinstance(since, datetime)):
            raise reader.error(prefix + "since", "must be a date written without quotes, such as 2026-01-01")
        result.append(ComponentConfig(component, float(sla) if sla is not None else None, since))
    return tuple(result)


def _audiences(reader: _Reader, tables: Mapping[str, Any], component_ids: set[str]) -> dict[str, AudienceConfig]:
    result = {}
    for key, table in tables.items():
        prefix = f"audiences.{key}."
        if not _NAME.fullmatch(key):
            raise reader.error(f"audiences.{key}", "ids may hold letters, digits, '-', '_' and '.'")
        if not isinstance(table, dict):
            raise reader.error(f"audiences.{key}", "must be a table")
        reader.refuse_unknown(table, _AUDIENCE_KEYS, prefix)
        name = " ".join(reader.text(table, "name", prefix, key).split()) or key
        components = reader.names(table, "components", prefix)
        for component_id in components:
            _known(reader, component_id, component_ids, prefix + "components", "component", "Define it in [[components]].")
        sla = table.get("sla")
        if sla is not None and (isinstance(sla, bool) or not isinstance(sla, (int, float)) or not 0 < sla <= 100):
            raise reader.error(prefix + "sla", "must be a percentage such as 99.95")
        id_is_a_word = table.get("id_is_a_word", False)
        if not isinstance(id_is_a_word, bool):
            raise reader.error(prefix + "id_is_a_word", "must be true or false")
        renamed_from = " ".join(reader.text(table, "renamed_from", prefix, "").split()) or None
        result[key] = AudienceConfig(Audience(key, name, components, id_is_a_word),
                                     float(sla) if sla is not None else None,
                                     _feed_token(reader, table.get("feed_token"), prefix), renamed_from)
    return result


def _feed_token(reader: _Reader, value: Any, prefix: str) -> Secret | None:
    """A feed token is a capability: like every secret it comes from the environment, never the file."""
    if value is None:
        return None
    resolved = reader.resolve(value) if isinstance(value, str) else value
    if not isinstance(resolved, Secret):
        raise reader.error(
            prefix + "feed_token",
            'holds a token written in the file: whoever reads the file could read that customer\'s page. '
            'Put it in an environment variable and write feed_token = "${ACME_FEED_TOKEN}" instead.',
        )
    return resolved


def _known(reader: _Reader, value: str, known: Collection[str], key: str, what: str, fix: str) -> None:
    if value not in known:
        import difflib  # only to suggest a fix for a mistake
        close = difflib.get_close_matches(value, sorted(known), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise reader.error(key, f"unknown {what} {value!r}.{hint} {fix}")


def _visibility(reader: _Reader, table: Mapping[str, Any], prefix: str, audiences: Mapping[str, Any]) -> str:
    """``public``, ``internal`` (written ``internal`` or ``private``) or ``audience:ID`` from ``audience = "ID"``."""
    written = reader.string(table, "visibility", prefix, "")
    audience = reader.string(table, "audience", prefix, "")
    if audience:
        if written not in ("", "audience"):
            raise reader.error(prefix + "audience", f'a customer\'s channel has visibility "audience", not {written!r}: '
                               "remove visibility, or remove audience")
        _known(reader, audience, audiences, prefix + "audience", "audience", "Define it as [audiences.ID].")
        return str(Visibility.of(audience))
    if written == "audience":
        raise reader.error(prefix + "visibility", '"audience" needs audience = "ID" naming an [audiences.ID] table')
    if written not in ("", "public", *INTERNAL_SYNONYMS):
        raise reader.error(prefix + "visibility", 'must be "public", "internal" (or "private"), or set audience = "ID"')
    return "internal" if written in INTERNAL_SYNONYMS else "public"


def _common(
    reader: _Reader, name: str, table: Any, section: str, component_ids: set[str],
    audiences: Mapping[str, Any] | None = None,
) -> tuple[str, dict[str, Any], str, tuple[str, ...], str | None]:
    prefix = f"{section}.{name}."
    if not _NAME.fullmatch(name) or name == SITE_DESTINATION:
        raise reader.error(f"{section}.{name}", "names may hold letters, digits, '-', '_' and '.', and 'site' is taken")
    if not isinstance(table, dict):
        raise reader.error(f"{section}.{name}", "must be a table")
    kind = table.get("type")
    if not isinstance(kind, str) or not kind:
        example = "s3" if section == "publish" else "slack"  # a publish target's types are not a channel's
        said = "is required" if kind is None or kind == "" else "must be a type's name in quotes"
        raise reader.error(prefix + "type", f'{said} (e.g. type = "{example}")')
    visibility = _visibility(reader, table, prefix, audiences or {})
    components = reader.names(table, "components", prefix)
    for component_id in components:
        _known(reader, component_id, component_ids, prefix + "components", "component", "Define it in [[components]].")
    api_url = table.get("api_url")
    if api_url is not None and (not isinstance(api_url, str) or not is_http_url(api_url)):
        raise reader.error(prefix + "api_url", _NOT_HTTP)
    if api_url is not None:  # it replaces the origin whose https the channel's own options require
        _refuse_clear_text(reader, prefix + "api_url", api_url, "the destination's token, and everything sent,")
    options = {k: reader.resolve(v) for k, v in table.items() if k not in registry.COMMON_KEYS}
    return kind, options, visibility, components, api_url


def _refuse_clear_text(reader: _Reader, key: str, url: str, what: str) -> None:
    """A ConfigError unless ``url`` is https, or http to this machine (a proxy or a local Bot API server there):
    elsewhere ``what`` would cross the network in clear text, for anyone on the way to read. Shows the host
    alone (the URL may hold a password).

    The host is judged as every client reads it, not as one: ``urlsplit`` reads ``http://OTHER\\@127.0.0.1/``
    as 127.0.0.1, urllib3 (botocore, requests) and browsers end the authority at the backslash and connect to
    OTHER. A URL they read apart is refused whatever its scheme: nobody can tell where it sends."""
    hosts = _hosts_clients_read(url)
    if url.lower().startswith("http://"):
        elsewhere = [host for host in hosts if not is_loopback(host)]
        if elsewhere:
            raise reader.error(key, f"is http:// to another machine ({elsewhere[0]}): {what} would cross the network "
                                    "in clear text. Give its https:// address (http:// only to this machine: a proxy "
                                    "on localhost, a local Telegram Bot API server at http://127.0.0.1:8081)")
    if len(set(hosts)) > 1 or "\\" in _authority(url):
        raise reader.error(key, "holds a backslash (or another character) before its path that HTTP clients read "
                                "differently: some would connect to one host, some to another. Write the URL with no "
                                "backslash, and a user or password in it percent-encoded (\"%5C\" for a backslash)")


def _authority(url: str) -> str:
    """What stands between ``scheme://`` and the path, as written (read by hand: no parser's opinion)."""
    rest = url.partition("://")[2]
    return rest[: min((i for i in map(rest.find, "/?#") if i >= 0), default=len(rest))]


# An authority of RFC 3986's characters alone, with at most one "@", and brackets only around an IPv6 literal that
# is the whole host (then at most a ":port" after it): every parser reads the same host from it. A bracket anywhere
# else ("192.0.2.10[::1]", "[::1]192.0.2.10") is one urlsplit reads as loopback and urllib3 cannot read at all.
_PLAIN_AUTHORITY = lazy_re.compile(
    r"(?:[A-Za-z0-9._~%!$&'()*+,;=:-]*@)?"
    r"(?:\[[A-Za-z0-9._~%:-]*\](?::[0-9]*)?|[A-Za-z0-9._~%!$&'()*+,;=:-]*)"
)


def _hosts_clients_read(url: str) -> list[str]:
    """The host ``url`` names as the standard library reads it, and as urllib3 does (botocore and requests
    connect with it), lower-cased. A URL urllib3 cannot read gives its placeholder ``?``: never loopback.

    urllib3 is asked only about an authority that is not plain: its import (about 25 ms) would delay the S3
    read-ahead, which starts while the config is read."""
    from urllib.parse import unquote, urlsplit

    try:
        ours = urlsplit(url).hostname or ""
    except ValueError:
        ours = "?"
    if _PLAIN_AUTHORITY.fullmatch(_authority(url)) and "://" in url:
        return [unquote(ours).lower().strip("[]")]
    from urllib3.exceptions import LocationParseError
    from urllib3.util import parse_url

    try:
        theirs = parse_url(url).host or ""
    except LocationParseError:
        theirs = "?"
    # urlsplit keeps an IPv6 zone's "%25" ("[::1%25lo]") that urllib3 decodes: the same host, alike.
    return list(dict.fromkeys(unquote(host).lower().strip("[]") for host in (ours, theirs)))


def _channel(
    reader: _Reader, name: str, table: Any, component_ids: set[str], audiences: Mapping[str, Any]
) -> ChannelConfig:
    kind, options, visibility, components, api_url = _common(reader, name, table, "channels", component_ids, audiences)
    registry.check_channel(kind, visibility, options, f"{reader.where}channels.{name}.")
    return ChannelConfig(name, kind, visibility, components, api_url, options)


def _publish_target(reader: _Reader, name: str, table: Any) -> ChannelConfig:
    kind, options, visibility, components, api_url = _common(reader, name, table, "publish", set())
    registry.check_host(kind, visibility, options, f"{reader.where}publish.{name}.")
    if kind == "s3":
        _refuse_clear_endpoint(reader, f"publish.{name}.endpoint_url", options.get("endpoint_url"))
    return ChannelConfig(name, kind, "public", (), api_url, options)


def _refuse_clear_endpoint(reader: _Reader, key: str, endpoint: Any) -> None:
    """An S3 ``endpoint_url`` (from ``${VAR}`` too) is held to ``api_url``'s rule: the session token, the signed
    requests and the customers' pages (their paths are their feed tokens) would go in clear text."""
    url = endpoint.reveal_or_empty() if isinstance(endpoint, Secret) else endpoint
    if not isinstance(url, str) or not is_http_url(url):
        return  # refused already, or unset
    # Even a host botocore refuses ("minio_1"): the read-ahead (http.client) asks it first, signed.
    _refuse_clear_text(reader, key, url, "the session token, the signed requests and the customers' pages")


def _refuse_kept_capabilities(
    reader: _Reader, audiences: Mapping[str, AudienceConfig], publish: Mapping[str, ChannelConfig]
) -> None:
    """A customer page's path is its capability: a branch that keeps every commit would keep each old one."""
    if not any(table.feed_token for table in audiences.values()):
        return
    for name, table in publish.items():
        if table.type == "git" and table.options.get("history") == "keep":
            raise reader.error(
                f"publish.{name}.history",
                '"keep" would keep every customer page\'s path (its feed_token) in the branch history, so a '
                'changed token would stay readable there. Use history = "replace" (the default), or drop feed_token',
            )


def _refuse_customers_in_public_texts(
    reader: _Reader, page: PageConfig, components: Collection[ComponentConfig], audiences: Mapping[str, AudienceConfig],
) -> None:
    """No public text of the config (the page's title and description, a component's id, name, group and
    description) names a customer, by its name or by its id (``visibility.audience_names``): the page, the JSON
    and every customer's page print them, and the egress guard counts the config's words as the product's own,
    allowed wherever a template prints them. A component's id is read as its ``-``/``_``/``.`` words. A name is
    found as the guard would find it (``_naming``), or the guard would allow on every public file a spelling of
    it that this check let through ("Acme-Corp uplink" for a customer "Acme Corp.")."""
    # Imported here, after the publish targets' reads have left (``parse``): the bucket's first request waits for
    # every module imported before them, and the visibility rules are about 5 ms of them.
    from broadcaster.messages.visibility import audience_names

    texts = {"page.title": page.title, "page.description": page.description}
    for index, entry in enumerate(components):
        texts[f"components[{index}].id"] = _id_words(entry.component.id)
        for field in ("name", "group", "description"):
            texts[f"components[{index}].{field}"] = getattr(entry.component, field)
    for key, table in audiences.items():
        for what in audience_names(table.audience):
            found = _naming(what)
            where = next((w for w, text in texts.items() if found is not None and text and found(text)), None)
            if where is None:
                continue
            called = (f"the customer {table.audience.name!r}" if what == table.audience.name.strip()
                      else f"the customer {table.audience.name!r} by its id {what!r}")
            public = ("it is public (it names the component's files, feeds and badge on the site, and every JSON "
                      "file carries it). Give the component an id without the customer" if where.endswith(".id") else
                      "it is public (the page and the JSON show it). Reword it without the customer")
            raise reader.error(where, f"names {called} ([audiences.{key}]), and {public}")


def _naming(name: str) -> Callable[[str], bool] | None:
    """Whether a text names ``name``, as the egress guard reads both (``messages.egress``): folded (compatibility
    forms, invisible characters, case: "GLOBEX uplink") and as whole words, punctuation aside ("Acme-Corp uplink"
    and "Acme Corp uplink" name "Acme Corp." and acme-corp) or markup aside ("AcmeCorp" names acme_corp); the name
    without its accents too ("Nestle Waters" names "Nestlé Waters"; the texts keep theirs, as the guard's do).
    A name under four characters, which the guard does not search, only as written (``_as_written``)."""
    written = unicodedata.normalize("NFKC", name).strip()
    if len(written) < 4:
        return _as_written(written)
    forms = [Compared(spelling) for spelling in dict.fromkeys((written, gate.without_accents(written)))]
    words = {f" {form.words} " for form in forms if form.words}
    markup = [re.compile(rf"(?<!\w){re.escape(form.markup)}(?!\w)") for form in forms
              if form.markup and form.markup != form.words]
    if not words:
        return None

    def names(text: str) -> bool:
        read = _read(text)
        return any(w in f" {read.words} " for w in words) or any(m.search(read.markup) for m in markup)

    return names


@lru_cache(maxsize=1024)
def _read(text: str) -> Compared:
    """A public text as the guard reads it, folded once for every customer's name searched in it."""
    return Compared(text)


def _as_written(name: str) -> Callable[[str], bool] | None:
    """A name in its case, as whole words: a customer "IBM" is refused in "IBM line", and "IT" does not refuse
    "Where it all starts". An id's ``-``/``_``/``.`` as any punctuation: "a.b" is in "a-b link"."""
    if not name:
        return None
    words = [re.escape(word) for word in _id_words(name).split()] if re.fullmatch(r"[\w.-]+", name) else [re.escape(name)]
    pattern = re.compile(r"(?<!\w)" + r"[\W_]+".join(words) + r"(?!\w)")
    return lambda text: pattern.search(unicodedata.normalize("NFKC", text)) is not None


def _id_words(identifier: str) -> str:
    """An id as the words it is made of: "globex-link" -> "globex link"."""
    return " ".join(re.split(r"[-_.]+", identifier))


def _refuse_shared_feed_tokens(reader: _Reader, audiences: Mapping[str, AudienceConfig]) -> None:
    """One token, one customer: two audiences on one token would share one ``a/<token>/`` folder, and
    each customer would read the other's page (or whichever was written last)."""
    seen: dict[str, str] = {}
    for key, table in audiences.items():
        token = table.feed_token
        if token is None:
            continue
        # A blank value is no token (``Secret.missing``): said as empty where the token is needed, not as shared.
        for same in {f"${token.env_var}", "" if token.missing else token.reveal_or_empty()} - {""}:
            other = seen.setdefault(same, key)
            if other != key:
                raise reader.error(
                    f"audiences.{key}.feed_token",
                    f"is the same token as [audiences.{other}]'s: each customer would read the other's page at "
                    "that path. Give each customer its own token (`openssl rand -hex 24`)",
                )


def _refuse_name_clashes(reader: _Reader, channels: Mapping[str, Any], publish: Mapping[str, Any]) -> None:
    for name in set(channels) & set(publish):
        raise reader.error(f"publish.{name}", "has the same name as a channel; destination names must be unique")


def _templates(
    reader: _Reader, table: dict[str, Any], component_ids: set[str], audiences: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    result = {}
    for name, template in table.items():
        prefix = f"templates.{name}."
        if not isinstance(template, dict):
            raise reader.error(f"templates.{name}", "must be a table")
        reader.refuse_unknown(template, _TEMPLATE_KEYS, prefix)
        for entry in reader.names(template, "components", prefix):
            if entry.split("=", 1)[0] not in component_ids:
                raise reader.error(prefix + "components", f"unknown component {entry!r}")
        for key in _TEMPLATE_KEYS - {"components", "for"}:
            reader.string(template, key, prefix)
        _template_title_one_line(reader, template, prefix)
        _template_for(reader, template.get("for", {}), prefix + "for", audiences)
        _check_placeholders(reader, template, prefix)
        result[name] = dict(template)
    return result


def _template_title_one_line(reader: _Reader, template: Mapping[str, Any], prefix: str) -> None:
    """A template's title on one line, as every title is: one with a line break is refused by every post made from
    it, and breaks shell completion (zsh and fish read one line a value)."""
    title = str(template.get("title", ""))
    broken = next((i for i, char in enumerate(title) if char in "\n\t\u2028\u2029"), None)
    if broken is not None:
        raise reader.error(prefix + "title", f"must be one line, as every title is; it has a line break or tab at "
                           f"character {broken + 1}. Put the detail in the template's message; nothing was done.")


def _template_for(reader: _Reader, value: Any, key: str, audiences: Mapping[str, Any]) -> None:
    """``for = { acme = "..." }``: audience detail, keyed by configured audience ids."""
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise reader.error(key, 'must be a table of texts keyed by audience id: for = { acme = "..." }')
    for audience in value:
        _known(reader, audience, audiences, key, "audience", "Define it as [audiences.ID].")


def _check_placeholders(reader: _Reader, template: Mapping[str, Any], prefix: str) -> None:
    """Only plain ``{name}`` placeholders: ``{x.__class__}`` must never reach Python's formatter."""
    from broadcaster.templates import TemplateSyntaxError, pieces

    for key, value in template.items():
        texts = list(value.values()) if isinstance(value, dict) else value if isinstance(value, list) else [value]
        for text in texts:
            try:
                list(pieces(text))
            except TemplateSyntaxError as exc:
                raise reader.error(prefix + key, f"{exc}.") from None
