"""Channel and host types by name, and the checks of their options.

A type is a module: ``type = "slack"`` in ``[channels.NAME]`` is the module
``channels/slack.py``, holding one ``Channel`` whose ``type_name`` is ``"slack"``;
``type = "s3"`` in ``[publish.NAME]`` is ``broadcaster/site/hosts/s3.py``, holding
one ``SiteHost``. A module whose name starts with ``_`` is a helper, never a type.
Modules are imported on first use, so a command pays for an SDK only when its
config names that type.

The config loader asks here whether a table's options suit its type: the keys
the type knows, those it requires, its secrets given as ``${VAR}``, the
visibilities it allows, and the type's own ``validate_options``.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Callable, Iterable, Mapping
from types import ModuleType
from typing import Any

import broadcaster.channels
import broadcaster.site.hosts
from broadcaster import lazy_re
from broadcaster.channels.base import Channel
from broadcaster.config import ChannelConfig, Secret, refuse_unknown
from broadcaster.errors import ConfigError, InputError, did_you_mean
from broadcaster.messages.model import Visibility
from broadcaster.site.hosts import SiteHost

# The keys every [channels.NAME] and [publish.NAME] table may hold, whatever its type.
COMMON_KEYS = frozenset({"type", "visibility", "audience", "components", "api_url"})
_TYPE_NAME = lazy_re.compile(r"^[a-z][a-z0-9_]*$")


def _types(package: ModuleType) -> tuple[str, ...]:
    return _modules_in(tuple(package.__path__))


@functools.cache  # a command asks for every table it checks; the files of a folder do not change while it runs
def _modules_in(folders: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(
        m.name for m in pkgutil.iter_modules(folders) if not m.name.startswith("_") and m.name != "base"
    ))


def secret_parts_of(table: ChannelConfig) -> Callable[[str], list[str]]:
    """The ``secret_parts`` of a channel table's type (the credential alone within one of its secret values, a
    Discord webhook's token, a Teams flow's sig), for ``Config.named_secrets``; none for a type no module is there
    for (a config made in code)."""
    try:
        return load_channel_class(table.type).secret_parts
    except ConfigError:
        return lambda _value: []


def channel_types() -> tuple[str, ...]:
    """Every channel type there is: the modules of ``channels/`` but ``base`` and helpers."""
    return _types(broadcaster.channels)


def host_types() -> tuple[str, ...]:
    """Every publish target type there is: the modules of ``site/hosts/`` but helpers."""
    return _types(broadcaster.site.hosts)


def _named(package: ModuleType, type_name: str) -> list[type]:
    """The classes of a type's module whose ``type_name`` is the module's name."""
    module = importlib.import_module(f"{package.__name__}.{type_name}")
    return [v for v in vars(module).values() if isinstance(v, type) and getattr(v, "type_name", None) == type_name]


def load_channel_class(type_name: str, where: str = "") -> type[Channel]:
    """The ``Channel`` for ``type = "<type_name>"``; ``ConfigError`` (prefixed with ``where``) if none."""
    known = channel_types()
    if not _TYPE_NAME.match(type_name) or type_name not in known:
        raise ConfigError(f"{where}unknown channel type {type_name!r}. Known types: {', '.join(known)}."
                          f"{did_you_mean(type_name, known)}")
    for found in _named(broadcaster.channels, type_name):
        if issubclass(found, Channel):
            return found
    raise ConfigError(f"{where}channels/{type_name}.py defines no Channel with that type_name.")


def load_host_class(type_name: str, where: str = "") -> type[SiteHost]:
    """The ``SiteHost`` for ``[publish.NAME] type = "<type_name>"``; ``ConfigError`` if none."""
    known = host_types()
    if not _TYPE_NAME.match(type_name) or type_name not in known:
        raise ConfigError(f"{where}unknown publish type {type_name!r}; use one of {', '.join(known)}."
                          f"{did_you_mean(type_name, known)}")
    for found in _named(broadcaster.site.hosts, type_name):
        if issubclass(found, SiteHost):
            return found
    raise ConfigError(f"{where}site/hosts/{type_name}.py defines no SiteHost with that type_name.")


# -- options ---------------------------------------------------------------------


def check_channel(kind: str, visibility: str, options: Mapping[str, Any], where: str) -> None:
    """Whether a ``[channels.NAME]`` table (``where`` = ``"<file>: channels.NAME."``) suits its type."""
    channel_class = load_channel_class(kind, f"{where}type: ")
    scope = Visibility.parse(visibility)
    if scope.audience and not channel_class.may_carry_audience():
        raise ConfigError(
            f"{where}audience: a {kind} channel cannot belong to one customer: everything posted there is public."
        )
    allowed = {str(Visibility.parse(v)) for v in channel_class.visibilities if v != "audience"}
    if not scope.audience and str(scope) not in allowed:
        raise ConfigError(
            f"{where}visibility: a {kind} channel can only be {' or '.join(channel_class.visibilities)}: "
            "everything posted there is public."
        )
    _check_keys(channel_class, options, where, f"a {kind} channel", extra=COMMON_KEYS)


def check_bot(options: Mapping[str, Any], where: str) -> None:
    """The ``[bot]`` table's token: required, and only as ``${VAR}``, like every channel's secret."""
    if "token" not in options:
        raise ConfigError(f'{where}token: is required: token = "${{TELEGRAM_BOT_TOKEN}}" (from @BotFather)')
    _refuse_written_secrets(options, ("token",), where)


def check_host(kind: str, visibility: str, options: Mapping[str, Any], where: str) -> None:
    """Whether a ``[publish.NAME]`` table (``where`` = ``"<file>: publish.NAME."``) suits its type."""
    host_class = load_host_class(kind, f"{where}type: ")
    if visibility != "public":
        raise ConfigError(f"{where}visibility: the site is public; publish targets cannot be private")
    _check_keys(host_class, options, where, f"a {kind} target")


def _check_keys(
    kind: type[Channel] | type[SiteHost], options: Mapping[str, Any], where: str, what: str,
    extra: frozenset[str] = frozenset(),
) -> None:
    refuse_unknown(options, set(kind.required_options) | set(kind.optional_options) | extra, where)
    for key in kind.required_options:
        if key not in options:
            raise ConfigError(f"{where}{key}: is required for {what}")
    _refuse_written_secrets(options, kind.secret_options, where)
    kind.validate_options(options, where)


def _refuse_written_secrets(options: Mapping[str, Any], secret_keys: tuple[str, ...], where: str) -> None:
    for key in secret_keys:
        value = options.get(key)
        if isinstance(value, str) and value:
            raise ConfigError(
                f"{where}{key}: holds a secret written in the file. Put it in an environment variable "
                f"and write {key} = \"${{MY_VAR}}\" instead."
            )
        if value is not None and not isinstance(value, (str, Secret)):
            raise ConfigError(
                f"{where}{key}: is a secret: write it as a string naming an environment variable, "
                f"{key} = \"${{MY_VAR}}\", not a {_toml_type(value)}."
            )


def _toml_type(value: Any) -> str:
    names = {bool: "boolean", int: "number", float: "number", list: "list", dict: "table"}
    return next((n for t, n in names.items() if isinstance(value, t)), type(value).__name__)


def refuse_posts_in_other_chats(channels: Mapping[str, ChannelConfig], records: Iterable[Mapping[str, Any]]) -> None:
    """No imported delivery names, as its post (``remote_id``, ``parts``), a message in a chat that is the target of a
    table of other readers: ``retry`` would send the rest of the post there and ``amend`` edit it there, a staff
    post's text in the public channel. A chat written another way (a numeric id for an @name) is caught by the
    channel when it sends (Telegram's ``_own_chat``)."""
    owners: dict[tuple[str, ...], str] = {}
    for name, table in channels.items():
        for key, _ in load_channel_class(table.type).target_keys(table.options):
            owners.setdefault(key, name)
    for record in records:
        for update in record.get("updates", []):
            for delivery in update.get("deliveries", []):
                configured = channels.get(delivery["destination"])
                if configured is None:
                    continue
                kind = load_channel_class(configured.type)
                # The delivery's own chat: its target as written, or the table's one (Slack's target is "").
                own = {key for key, written in kind.target_keys(configured.options)
                       if written == delivery["target"] or not delivery["target"]}
                readers = Visibility.parse(delivery["visibility"])
                for post in [delivery.get("remote_id"), *delivery.get("parts", [])]:
                    chat = kind.post_chat_key(post) if post else None
                    # Another table's chat of other readers: a migrated group's new chat, or one moved to another
                    # table of the same readers, is no leak (and a channel refuses a chat not its own when sending).
                    if (chat is not None and chat not in own and chat in owners
                            and Visibility.parse(channels[owners[chat]].visibility) != readers):
                        raise InputError(
                            f"incident {record['incident']['id']!r}, update #{update['sequence']}: the "
                            f"{delivery['destination']} delivery to {delivery['target']} names the post {post!r}, a "
                            f"message in the chat of [channels.{owners[chat]}]. A retry or a correction would write "
                            "there. Fix the file (the post's own chat), or remove that delivery. Nothing was imported."
                        )


def refuse_shared_targets(channels: Mapping[str, ChannelConfig], where: str) -> None:
    """One chat or channel, one visibility: a public table never shares a target with a private one, and two tables
    never share the place a message lands (an update both take would reach it twice).

    Targets are compared as each channel type knows them (``Channel.target_keys``): a
    Telegram chat by id or by ``@name`` in any case, a Slack channel by id or by name.
    A chat named one way here and the other way there cannot be told apart offline:
    ``broadcaster channels check`` resolves names and catches that case.
    """
    seen: dict[tuple[str, ...], tuple[str, str, str]] = {}  # key -> (table, visibility, as written)
    places: dict[tuple[str, ...], str] = {}  # where a message lands -> the first table posting there
    for name, table in channels.items():
        kind = load_channel_class(table.type)
        for key, written in kind.target_keys(table.options):
            first = seen.setdefault(key, (name, table.visibility, written))
            if first[1] != table.visibility:
                raise ConfigError(
                    f"{where}channels.{name}: {written} is also a target of [channels.{first[0]}] ({first[2]}), "
                    f"which is {first[1]}, while this table is {table.visibility}. One chat cannot be both: a "
                    "private table's detail would reach the public there. Remove it from one of the two tables."
                )
        for key, written in kind.delivery_keys(table.options):
            other = places.setdefault(key, name)
            if other != name:
                # Whatever their components: an update naming a component of each goes to both (``wants``).
                raise ConfigError(
                    f"{where}channels.{name}: {written} is also a target of [channels.{other}]: that chat would get "
                    "an update twice whenever both tables take it. List it in one table (its `components` naming "
                    "every component it is for)."
                )
