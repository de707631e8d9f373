"""Choosing the backend: a path or ``sqlite:///`` URL is the embedded file, ``postgresql://`` the team database."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from broadcaster import lazy_re
from broadcaster.config import STORE_URL_HELP, STORE_URL_SCHEMES, sqlite_url_query_refused
from broadcaster.errors import ConfigError, InputError
from broadcaster.store.contract import Store
from broadcaster.store.sqlite import STORE_SETTING, SQLiteStore

if TYPE_CHECKING:
    from broadcaster.config import Config, Secret

_PG_SCHEMES = ("postgresql://", "postgres://")
# A libpq keyword string ("host=db password=..."): two of its words, or a password, are no file name anyone means.
_CONNINFO_WORD = lazy_re.compile(r"(?:^|\s)(host|hostaddr|port|dbname|user|password|passfile|sslmode|service)\s*=", re.IGNORECASE)
# A store URL missing its "//" ("postgresql:/host/db", "sqlite:state.db"); "postgres-old.db" is a file.
_SCHEME_ALONE = lazy_re.compile(r"^\s*(?:sqlite|postgres(?:ql)?):", re.IGNORECASE)


def _looks_like_a_url_or_connection_string(text: str) -> bool:
    words = [w.lower() for w in _CONNINFO_WORD.findall(text)]
    # One keyword alone ("service=team", "dbname=x") too, unless its value is a path ("host=db1/state.db").
    value = text.partition("=")[2].strip()
    alone = len(words) == 1 and ("/" not in value or value.startswith("/"))  # host=/var/run/postgresql: a socket
    return bool(_SCHEME_ALONE.match(text)) or "password" in words or len(words) >= 2 or alone


def is_postgres_url(text: str) -> bool:
    return text.strip().lower().startswith(_PG_SCHEMES)


def open_store(location: Path | str | Secret, *, upgrade: bool = False,
               when_waiting: Callable[[Path], None] | None = None, setting: str = STORE_SETTING) -> Store:
    """Open a store: a path or ``sqlite:///path`` is the embedded file; ``postgresql://...`` the team database.

    ``location`` may be a ``Secret`` (``[store] url = "${STORE_URL}"``). The
    embedded file is always brought up to date; a team database is created
    when empty, but an older schema there is only upgraded with ``upgrade``
    (``broadcaster store migrate``), because it changes every member's store.
    ``when_waiting(path)`` is called once whenever the embedded file's write lock has been waited
    for a second (another command holds it). Raises ``StoreError`` (cannot open or reach it) or
    ``ConfigError`` (a location that is neither). ``setting``: what named an embedded file (``[store] url``,
    ``--store``...), which its refusals tell the operator to change.
    """
    if hasattr(location, "reveal"):
        location = location.reveal()
    if isinstance(location, Path):
        return SQLiteStore(location, when_waiting=when_waiting, setting=setting)
    text = location.strip()
    if text.startswith("sqlite:///"):
        return SQLiteStore(Path(text.removeprefix("sqlite:///")).expanduser(), when_waiting=when_waiting, setting=setting)
    if is_postgres_url(text):
        from broadcaster.store.pg import PostgresStore

        return PostgresStore(text, upgrade=upgrade)
    if "://" in text:
        raise ConfigError(
            f"unsupported store location {text.split('://', 1)[0]}://...: use a file path, "
            "sqlite:///path/to/state.db or postgresql://user@host/dbname ([store] url or --store)."
        )
    return SQLiteStore(Path(text).expanduser(), when_waiting=when_waiting, setting=setting)


def _refuse_hidden_characters(url: str, setting: str) -> None:
    """A variable's sqlite:/// URL as a written one (``config_loader``): no control or format character in the file's
    name, which would name a new, empty store and drive the terminal in every message naming it."""
    from broadcaster.messages import gate

    try:
        gate.normalise(url, setting)
    except InputError as exc:
        raise ConfigError(str(exc)) from exc


def configured_location(config: Config) -> Path | str | Secret | None:
    """The config's own store (``[store]``), or None where it cannot be told: its URL's variable unset, the case a
    ``--store`` fallback is for. Never an error: a command on another store has already stored and sent by the time
    it compares the two, and "export it and run the command again" would post twice (review 35d)."""
    try:
        return store_location(config)
    except (ConfigError, InputError):
        return None


def store_location(config: Config, override: str | None = None) -> Path | str | Secret:
    """Where the store is: ``--store`` (a path relative to the working directory, or a URL), else the config."""
    if override:
        if override.strip().startswith("sqlite:///") and sqlite_url_query_refused(override):
            raise InputError(f"--store {sqlite_url_query_refused(override)}.")
        if override.strip().startswith("sqlite:///"):
            # As --store PATH and a [store] url are read: "~" the home folder. Opened as it stood, --store
            # sqlite:///~/fallback.db made a new store in a folder named "~" in the working folder, while `--store
            # ~/fallback.db` (and the check that --store is the config's own store) read the home folder's.
            return Path(override.strip().removeprefix("sqlite:///")).expanduser()
        if "://" in override:
            return override
        if not Path(override).expanduser().exists() and _looks_like_a_url_or_connection_string(override):
            # Opened as a file, it made a new, empty store named after it (the password in the file
            # name) and posted past the team store. Its value is not shown: it may hold a password.
            raise InputError(
                "--store is neither a file path nor a store URL (it looks like a connection string, or a URL "
                "missing its //). Give postgresql://user@host/dbname (the password through PGPASSWORD or "
                "~/.pgpass), sqlite:///path/to/state.db or a file path. Nothing was stored or sent."
            )
        return Path(override).expanduser()
    if config.store.url:
        url = config.store.url
        text = url.reveal() if hasattr(url, "reveal") else url
        if not text.strip().lower().startswith(STORE_URL_SCHEMES):
            raise ConfigError(f"[store] url {STORE_URL_HELP}.")  # its value unshown: it may hold a password
        if hasattr(url, "reveal") and text.strip().startswith("sqlite:///") and sqlite_url_query_refused(text):
            raise ConfigError(f"[store] url (${{{getattr(url, 'env_var', '')}}}) {sqlite_url_query_refused(text)}.")
        if hasattr(url, "reveal") and text.strip().startswith("sqlite:///"):
            _refuse_hidden_characters(text.strip(), f"[store] url (${{{getattr(url, 'env_var', '')}}})")
            # As the same URL written in the config (``config_loader._store``): its file beside the config, ``~`` the
            # home folder. Opened as it stood, it named a file in the working folder (a cron job's `list` said 'No
            # incidents yet', its post made a new, empty store there) and '~' a folder of that name.
            return config.base_dir / Path(text.strip().removeprefix("sqlite:///")).expanduser()
        return url
    return config.store_path
