"""Option checks the channels share."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from broadcaster import lazy_re
from broadcaster.errors import ConfigError


def require_https(options: Mapping[str, Any], key: str, where: str, example: str, default: str | None = None) -> None:
    """Refuse ``options[key]`` unless it is an ``https://`` address with a host and no credentials or query."""
    value = options.get(key, default)
    try:
        parts = urlsplit(value) if isinstance(value, str) else None
    except ValueError:  # an unclosed "[": refused like any other address it cannot read
        parts = None
    # Any "@" before the host: "https://:pw@host" has an empty user ("", falsy) and a password, which then went into
    # every Mastodon status's remote id (shown by `show`, kept by exports).
    if parts is None or parts.scheme != "https" or not parts.hostname or parts.username is not None or parts.query:
        raise ConfigError(f'{where}{key}: must be an https:// address, e.g. "{example}", not {shown_url(value)}.')


# Whatever comes before the host's "@", after a scheme however it is written: "https://", and the typos that get an
# address refused and quoted ("https//", "https:/", "https:///", none). Every "@" of it: "https://a@b:pw@host".
# A "?" or "#" before that "@" is the password's, not a query's: masked before the query is cut. "//" alone too
# (the scheme left out, its slashes kept).
_USERINFO = lazy_re.compile(r"^((?:[A-Za-z][A-Za-z0-9+.-]*(?::/*|/+)|/+)?)[^/]*@")


def shown_url(value: Any) -> str:
    """A refused address as a config error may quote it: its user and password, and its query, as ``***`` (a
    password or a token written there; a cron job's or a CI job's log keeps what a command prints)."""
    from broadcaster.config import without_credentials  # config loads the channel classes

    if not isinstance(value, str):
        return repr(value)
    found = _USERINFO.match(value)
    if found and re.search(r"[?#]", found.group(0)[len(found.group(1)):]):
        return repr(_before_an_ambiguous_at(value, found))
    masked = _USERINFO.sub(r"\1***@", value, count=1)
    address = re.split(r"[?#]", masked, maxsplit=1)[0]
    shown = address if masked != value else without_credentials(address)
    return repr(shown + ("?***" if len(address) < len(masked) else ""))


def _before_an_ambiguous_at(value: str, found: re.Match[str]) -> str:
    """An address with "?" or "#" before its last "@": a password holding one ("ops:Pw?x@host.example") or a query
    holding an "@" ("host.example?email=ops@example.com&token=..."). Shown only as far as it is certainly no secret:
    a plain host before the query (its port too would be a password's place: then nothing), or the host after a
    user and password when a host's shape follows the "@"; otherwise the scheme alone."""
    scheme = found.group(1)
    prefix = re.split(r"[?#]", value, maxsplit=1)[0]
    authority = prefix[len(scheme):]
    if "@" in authority:  # a user and password before the query, an "@" in the query too
        host = authority.rsplit("@", 1)[1]
        return (f"{scheme}***@{host}" if _PLAIN_HOST.fullmatch(host) else f"{scheme}***") + "?***"
    if _PLAIN_HOST.fullmatch(authority):  # the "@" is the query's
        return f"{prefix}?***"
    after = value[found.end():]
    named = re.match(r"[^/?#]*", after)
    host = named.group(0) if named else ""
    if _PLAIN_HOST.fullmatch(host) and ("." in host or host.startswith("[") or host.lower() == "localhost"):
        rest = after[len(host):]
        shown = host + re.split(r"[?#]", rest, maxsplit=1)[0]
        return f"{scheme}***@{shown}" + ("?***" if re.search(r"[?#]", rest) else "")
    return f"{scheme}***"


# A host as written in an address, without a port: a name of letters, digits, dots and dashes, or a bracketed IPv6.
_PLAIN_HOST = lazy_re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]")
