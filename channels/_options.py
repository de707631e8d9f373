"""Option checks the channels share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from broadcaster.errors import ConfigError


def require_https(options: Mapping[str, Any], key: str, where: str, example: str, default: str | None = None) -> None:
    """Refuse ``options[key]`` unless it is an ``https://`` address with a host and no credentials or query."""
    value = options.get(key, default)
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme != "https" or not parts.hostname or parts.username or parts.query:
        raise ConfigError(f'{where}{key}: must be an https:// address, e.g. "{example}", not {value!r}.')
