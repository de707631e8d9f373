"""Secrets out of every text that leaves the process: errors, stored errors, exports, log records.

One rule, applied everywhere: each configured secret is replaced by ``***`` in
any letter case and in the encoded forms a library or a server may echo it in
(URL-quoted, quoted twice as OAuth signature strings hold it, JSON- or
HTML-escaped, "/" escaped as JSON may), with or without the spaces it was read
with, a URL with or without its default port (":443", which httpx drops), and
its start where a text was cut short before it was masked (an error body cut to
a few hundred characters). Case matters because libraries rewrite what servers say:
python-telegram-bot capitalises a 400's description, which lower-cases a token
echoed in it.

Request signatures too (AWS Signature Version 4: 64 hex digits after
``Signature=`` or ``X-Amz-Signature=``, in any case or URL-quoted), whatever the
secrets given: a gateway may echo a request's Authorization header, and a
signature lets whoever reads it send that very request again for minutes.

``known`` holds the secrets of the config this process loaded; the CLI adds
them as it loads the config, and each channel's own forms of them as the channel
is built (``destinations``). ``install_logging`` makes every log record of every
library pass through ``redact`` with them, and masks the user and password of
every URL in it, which no config may name (a proxy's from ``HTTPS_PROXY``).
"""

from __future__ import annotations

import bisect
import html
import json
import logging
import os
import re
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from urllib.parse import quote, quote_plus, unquote, urlsplit

from broadcaster import lazy_re
from broadcaster.config import without_credentials, without_lone_users
from broadcaster.errors import bounded, printable
from broadcaster.messages.gate import comparable

MASK = "***"
# Shorter values ("abc") would mask ordinary words; no real credential is that short.
MIN_SECRET_LENGTH = 4
# A SigV4 signature after its name (the header's "Signature", the query's "X-Amz-Signature", botocore's
# debug log's "Signature:" line), then "=" or ":", plain or URL-quoted once or twice, maybe in quotes
# (JSON's, escaped or not). The name and the "=" are kept: what was masked stays readable.
_QUOTE = r"(?:\\?[\"']|%22|%2522)"
_SIGNATURE = lazy_re.compile(
    rf"(signature{_QUOTE}?\s*(?:=|:|%3D|%253D|%3A|%253A)\s*{_QUOTE}?)[0-9a-f]{{64}}", re.IGNORECASE
)

# Loggers of the SDKs and transports we drive: they log requests, bodies and
# tracebacks (python-telegram-bot logs a non-JSON error body, token and all, with
# a traceback). Silent unless --debug.
SDK_LOGGERS = (
    "telegram", "httpx", "httpcore", "hpack", "tweepy", "requests", "requests_oauthlib", "oauthlib",
    "urllib3", "slack_sdk", "aiohttp", "asyncio", "boto3", "botocore", "s3transfer", "psycopg",
    "mastodon", "atproto", "atproto_client", "nio", "aiosmtplib",
)
# Our own packages: their warnings are worth showing without --debug.
OWN_LOGGERS = ("broadcaster",)  # broadcaster.channels and broadcaster.messages included

known: set[str] = set()


def forms(secret: str) -> set[str]:
    """The ways ``secret`` may appear in a text a server or a library produced.

    Also those of the secret without the spaces around it: a value read from a file or a
    ``.env`` keeps its line end, and the channels send it stripped. A secret URL also without its scheme or
    with the other one (``_other_url_forms``).
    """
    return _encoded_forms(secret, other_urls=True)


def _encoded_forms(secret: str, *, other_urls: bool) -> set[str]:
    values = {secret, secret.strip(), *_default_port_forms(secret.strip())}
    if other_urls:
        values |= {other for value in list(values) for other in _other_url_forms(value)}
    found: set[str] = set()
    for value in values:
        if len(value) < MIN_SECRET_LENGTH:
            continue
        once = quote(value, safe="")
        escaped = json.dumps(value)[1:-1]
        found |= {
            value,
            once,
            quote(value),  # "/" kept, as in a URL path
            quote_plus(value),
            quote(once, safe=""),  # OAuth 1.0a signature base strings quote values twice
            escaped,
            escaped.replace("/", "\\/"),  # JSON may escape "/" too (PHP's json_encode does)
            html.escape(value),
        }
    return found


# A secret shorter than this may be an ordinary word ("postgres" as a password): looked for in an operator's text
# as a whole word only, where a longer one (every token and key) is found anywhere, inside a link or a word.
WHOLE_WORD_BELOW = 12


def held_secret(text: str, named: Iterable[tuple[str, str]]) -> str | None:
    """Where the first secret of ``named`` ((where it is configured, its value)) that ``text`` holds is
    configured, or None: for refusing an operator's text that holds one, saying which by its name alone.

    Compared as the input gate compares (``gate.comparable``: any case, compatibility forms, invisible characters
    dropped), in every form ``forms`` knows, in the text as written and with its percent-escapes and HTML
    entities decoded (a link copied from a browser's address bar or a page's source). A secret of
    ``WHOLE_WORD_BELOW`` characters or more also with the white space of both removed (a token wrapped across
    lines, an app password written in its groups or configured with them), and again with what a wrap leaves
    at a line's joint (``_JOINT``: a quote's "> ", a "\\" or "=" ending the line; and with the "> " alone, for a
    token's own "-" ending a quoted line); under ``JOINED_FROM``
    characters only where the match begins and ends at the text's word boundaries (``_bounded``), and not if
    it is a few words run together (``_words_run_together``).
    """
    readings = _readings(text)
    joined: tuple[tuple[str, tuple[int, ...], str], ...] | None = None
    for where, value in named:
        if any(pattern.search(reading) for pattern in _held_patterns(value) for reading in readings):
            return where
        bounded = len(value.strip()) < JOINED_FROM
        if len(value.strip()) >= WHOLE_WORD_BELOW and not (bounded and _words_run_together(value)):
            joined = joined if joined is not None else _joined_readings(readings)
            if any(_joined_holds(pattern, reading, bounded) for pattern in _joined_patterns(value)
                   for reading in joined):
                return where
    return None


# A secret this long is no word, nor a few words run together by chance: looked for in the text with its white
# space removed too wherever it is, as a token a terminal, a mail or a chat wrapped is pasted
# ("xoxb-slack-\ntoken-5c8e1a"), inside a longer word or a link. One of 12 to 19 characters (an app password
# "qwht zkvb nmrp xlsd", a short key) only where the pieces joined begin and end at the text's word boundaries:
# its own groups in a row; and not one made of words ("postgresmain": "the post gres main server" is prose), told
# by its letter pairs (``_WORD_PAIRS``).
JOINED_FROM = 20
# The 150 commonest letter pairs of English text (Norvig's count over Google Books). A secret of letters alone with
# 3 in 4 of its pairs among them is words run together ("postgresmain" 0.82, "administrator" 0.92); a random one
# (an app password, "qwhtzkvbnmrpxlsd" 0.07) has about 1 in 4, and 3 in 4 about once in 10,000.
_WORD_PAIRS = frozenset("""
    th he in er an re on at en nd ti es or te of ed is it al ar st to nt ng se ha as ou io le ve co me de hi ri ro ic
    ne ea ra ce li ch ll be ma si om ur ca el ta la ns di fo ho pe ec pr no ct us ac ot il tr ly nc et ut ss so rs un
    lo wa ge ie wh ee wi em ad ol rt po we na ul ni ts mo ow pa im mi ai sh ir su id os iv ia am fi ci vi pl ig tu ev
    ld ry mp fe bl ab gh ty op wo sa ay ex ke fr oo av ag if ap gr od bo sp rd do uc bu ei ov by rm ep tt oc fa
""".split())
_WORDY_SHARE = 0.75
_SPACES = lazy_re.compile(r"\s+")
# What a wrap leaves at a joint besides white space: a "\" (a shell's continuation), a "=" (quoted-printable's soft
# break) or a "-" (a hyphenating wrap) ending a line; a "> " (a mail reply, a Markdown quote), "| " or "# " starting
# the next. Dropped in a second reading only: a token may hold "-" or "=" itself, just before a line break.
_JOINT = lazy_re.compile(r"[\\=-][^\S\n]*(?=\n)|(?<=\n)[^\S\n]*(?:[>|#][^\S\n]*)+")
# The starting marks alone, for a third reading: the two kinds of mark are dropped independently.
_QUOTE_MARKS = lazy_re.compile(r"(?<=\n)[^\S\n]*(?:[>|#][^\S\n]*)+")


def _words_run_together(value: str) -> bool:
    letters = _SPACES.sub("", value).casefold()
    if not (letters.isascii() and letters.isalpha()):
        return False
    pairs = [letters[i:i + 2] for i in range(len(letters) - 1)]
    return sum(pair in _WORD_PAIRS for pair in pairs) >= _WORDY_SHARE * len(pairs)


def _joined_readings(readings: tuple[str, ...]) -> tuple[tuple[str, tuple[int, ...], str], ...]:
    """Each reading with its white space removed, and also its joints' marks (``_JOINT``) where it has any: the
    joined text, where in the reading each of its characters is, the reading."""
    joined = []
    for reading in readings:
        joined.append(_without(reading, _SPACES.finditer(reading)))
        joints = list(_JOINT.finditer(reading))
        if joints:
            joined.append(_without(reading, (*_SPACES.finditer(reading), *joints)))
            # A wrap after the token's own "-" inside a quote: the line's end kept, the next line's "> " dropped.
            quotes = list(_QUOTE_MARKS.finditer(reading))
            if quotes and len(quotes) < len(joints):
                joined.append(_without(reading, (*_SPACES.finditer(reading), *quotes)))
    return tuple(joined)


def _without(reading: str, dropped: Iterable[re.Match[str]]) -> tuple[str, tuple[int, ...], str]:
    gone = bytearray(len(reading))
    for found in dropped:
        gone[found.start():found.end()] = b"\x01" * (found.end() - found.start())
    kept = tuple(i for i, mark in enumerate(gone) if not mark)
    return "".join(reading[i] for i in kept), kept, reading


def _joined_holds(pattern: re.Pattern[str], joined: tuple[str, tuple[int, ...], str], bounded: bool) -> bool:
    text, where, reading = joined
    found = pattern.search(text)
    while found is not None and found.end() > found.start():
        if not bounded or _bounded(reading, where[found.start()], where[found.end() - 1]):
            return True
        found = pattern.search(text, found.start() + 1)
    return False


def _bounded(reading: str, first: int, last: int) -> bool:
    """Whether ``reading[first:last + 1]`` neither begins nor ends inside a word of it."""
    def word(at: int) -> bool:
        return 0 <= at < len(reading) and (reading[at].isalnum() or reading[at] == "_")

    return not (word(first) and word(first - 1)) and not (word(last) and word(last + 1))


def _readings(text: str) -> tuple[str, ...]:
    return tuple({comparable(text), comparable(unquote(text)), comparable(html.unescape(text))})


@lru_cache(maxsize=256)
def _joined_patterns(value: str) -> tuple[re.Pattern[str], ...]:
    joined = {_SPACES.sub("", comparable(form)) for form in forms(value)}
    return tuple(re.compile(re.escape(form)) for form in sorted(joined) if len(form) >= MIN_SECRET_LENGTH)


@lru_cache(maxsize=256)
def _held_patterns(value: str) -> tuple[re.Pattern[str], ...]:
    patterns = []
    for form in sorted({comparable(f).strip() for f in forms(value)}):
        if len(form) < MIN_SECRET_LENGTH:
            continue
        whole = len(value.strip()) < WHOLE_WORD_BELOW
        before = r"(?<!\w)" if whole and re.match(r"\w", form) else ""
        after = r"(?!\w)" if whole and re.match(r"\w", form[-1]) else ""
        patterns.append(re.compile(before + re.escape(form) + after))
    return tuple(patterns)


_DEFAULT_PORTS = {"https": ":443", "http": ":80"}


def _default_port_forms(value: str) -> tuple[str, ...]:
    """A URL's other form, with its default port written out ("https://host:443/...") or not: httpx drops it
    from the URL it logs, Azure Logic Apps and Power Automate show trigger URLs with it, Teams' "Copy URL"
    without, and an operator pastes either. Nothing for anything else."""
    try:
        parts = urlsplit(value)
        written = parts.port
    except ValueError:  # not a URL urllib can read ("http://[::1"): a secret like any other
        return ()
    netloc, port = parts.netloc, _DEFAULT_PORTS.get(parts.scheme.lower())
    if port is None or not parts.hostname:
        return ()
    if netloc.endswith(port):
        return (value.replace(netloc, netloc[: -len(port)], 1),)
    return (value.replace(netloc, netloc + port, 1),) if written is None and not netloc.endswith(":") else ()


# A path or query part that makes an address a capability: a key (20+ characters), or an id with a digit or in mixed
# case (Zapier's "1234567" and "o6u3ylk"); not a word, a version ("v2") or a date ("2016-06-01").
_SHORTEST_KEY_PART, _KEY_PART = 6, 20
_DATE = lazy_re.compile(r"\d{4}-\d{2}-\d{2}")
_OTHER_SCHEME = {"https": "http", "http": "https"}


def _other_url_forms(value: str) -> tuple[str, ...]:
    """A secret URL as a chat, a mail or a terminal shows a link and an operator pastes it: without its scheme
    ("hooks.zapier.com/hooks/catch/1234567/o6u3ylk/"), with the other one ("http://"), with or without its last
    "/", with and without a user and password. Only where its path or query holds a key (``_holds_key``): the host
    and a few words ("hooks.example.com/in") name a receiver, which an update may; the host is always kept, so the
    path alone ("api/v1/Webhooks") stays ordinary text. Nothing for anything else."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return ()
    other = _OTHER_SCHEME.get(parts.scheme.lower())
    if other is None or not parts.hostname or not _holds_key(parts.path, parts.query):
        return ()
    rest = value.split("://", 1)[1] if "://" in value else ""
    if not rest:
        return ()
    written = {rest, parts.netloc.rpartition("@")[2] + rest[len(parts.netloc):]}  # a user and password left out
    written |= {form.rstrip("/") for form in written if form.rstrip("/") != form and "?" not in form}
    return tuple(sorted(written | {f"{scheme}://{form}" for form in written for scheme in (other, parts.scheme)}))


def _holds_key(path: str, query: str) -> bool:
    pieces = [unquote(step) for step in path.split("/") if step]
    pieces += [unquote(pair.partition("=")[2]) for pair in query.split("&") if pair.partition("=")[2]]
    return any(len(piece) >= _KEY_PART or (
        len(piece) >= _SHORTEST_KEY_PART and not _DATE.fullmatch(piece)
        and (any(c.isdigit() for c in piece) or piece not in (piece.lower(), piece.upper()))) for piece in pieces)


@lru_cache(maxsize=64)
def _pattern(secrets: frozenset[str]) -> re.Pattern[str] | None:
    every = {form for secret in secrets for form in forms(secret)}
    if not every:
        return None
    # Longest first, so a secret's quoted form is masked whole, not around a shorter secret.
    alternatives = sorted(every, key=lambda f: (-len(f), f))
    return re.compile("|".join(re.escape(f) for f in alternatives), re.IGNORECASE)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every secret (any case, any encoded form) and every request signature
    replaced by ``***``.

    The secrets masked are those given *and* those of this process (``known``), always both.
    """
    if not text:
        return text
    chosen = _chosen(secrets)
    pattern = _pattern(chosen) if chosen else None
    if pattern is not None:
        text = _without_cut_secrets(pattern.sub(MASK, text), _lowered_forms(chosen))
    return _SIGNATURE.sub(rf"\g<1>{MASK}", text)


def stored_text(text: str, secrets: Iterable[str] = ()) -> str:
    """A text read back from the store (an error, a note), masked as it would be stored today: ``redact``, and a
    user name standing alone in a URL (``without_lone_users``). A row an earlier version wrote, or a record
    imported from one, may hold what was masked only later (a proxy's key, ``http://KEY@proxy/``): every view
    and export of stored texts goes through here."""
    return without_lone_users(redact(text, secrets)) if text else text


def _chosen(secrets: Iterable[str]) -> frozenset[str]:
    """The secrets given and every one ``known``, without the empty or too short ones.

    A union, never "the given ones, else ``known``": a caller lists the secrets it knows of (a host its
    configured keys, maybe ``""`` for each one unset), but credentials boto3 found by itself (a profile,
    SSO, an assumed role) are only ever in ``known``, and only in the process that built the client. A
    later ``show`` or ``store export`` cannot mask them in what was stored, so what is stored or printed
    must be clean here, whoever calls.
    """
    return frozenset(s for s in (*secrets, *known) if s and len(s) >= MIN_SECRET_LENGTH)


# Where a text may have been cut short: an ellipsis (ours, slack-sdk's "..."), a closing quote around a
# cut excerpt (not an apostrophe: "Mastodon's"), the end of the text.
_CUT = lazy_re.compile(r"…|\.\.\.|['\"](?!\w)")
# The shortest start of a secret masked where a text was cut: fewer characters tell little.
MIN_CUT_PREFIX = 6


@lru_cache(maxsize=64)
def _lowered_forms(secrets: frozenset[str]) -> tuple[tuple[str, ...], re.Pattern[str], dict[str, int]]:
    """Each form of the secrets, lower-cased, a search for where any of them may begin (overlapping), and how much
    of a form without its scheme must be there to be masked where it was cut."""
    full = {f.lower() for s in secrets for f in _encoded_forms(s, other_urls=False) if len(f) > MIN_CUT_PREFIX}
    # A secret URL's forms without its scheme (``_other_url_forms``) begin with a host name, which an error may end
    # with or quote ('could not reach "discord.com"'): masked where cut only once past the host's "/" and a
    # character of the path ('"hooks.zapier.com/hooks/catch/7654321/q9z…'), as the full URL is past its scheme.
    least = {}
    for form in {f.lower() for s in secrets for f in _encoded_forms(s, other_urls=True)} - full:
        slash = _PATH_START.search(form)
        if slash is not None and len(form) > slash.end() + 1:
            least[form] = slash.end() + 1
    lowered = tuple(sorted(full | set(least)))
    starts = sorted({f[:MIN_CUT_PREFIX] for f in lowered})
    return lowered, re.compile("(?=(?:" + "|".join(re.escape(p) for p in starts) + "))"), least


_PATH_START = lazy_re.compile(r"/|%2f|\\/")


def _without_cut_secrets(text: str, found: tuple[tuple[str, ...], re.Pattern[str], dict[str, int]]) -> str:
    """``text`` without the start of a secret where it was cut short (an error body cut to
    300 characters before anyone masked it): whole secrets are masked already."""
    lowered_forms, starts, least = found
    if not lowered_forms:
        return text
    lowered = text.lower()
    if len(lowered) != len(text):  # a letter whose lower case is longer ("İ"): keep positions
        lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    ends: list[int] | None = None
    spans = []
    for start in (m.start() for m in starts.finditer(lowered)):
        for form in lowered_forms:
            if not lowered.startswith(form[:MIN_CUT_PREFIX], start):
                continue
            length = len(os.path.commonprefix([lowered[start:start + len(form)], form]))
            if ends is None:  # found only when some secret's start is in the text at all
                ends = sorted({m.start() for m in _CUT.finditer(text)} | {len(text.rstrip())})
            # The last cut within what matches: a secret whose next character is the marker's own (a JWT's
            # "." before "...") matches a little past where it was cut.
            cut = bisect.bisect_right(ends, start + length) - 1
            if length < len(form) and cut >= 0 and ends[cut] >= start + max(MIN_CUT_PREFIX, least.get(form, 0)):
                spans.append((start, ends[cut]))
    for start, end in sorted(_merged(spans), reverse=True):
        text = text[:start] + MASK + text[end:]
    return text


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


# A customer's page, where a path names it: ``a/`` and a feed token (``config.FEED_TOKEN``), a capability (whoever
# holds it reads the page), then the files in it.
_CUSTOMER_PAGE = lazy_re.compile(r"(?<![\w.~%+-])a/[A-Za-z0-9_-]{20,128}(?![A-Za-z0-9_-])((?:/[\w.~%+-]*)*)")


def without_customer_pages(text: str) -> str:
    """``text`` with the token of every customer's page it names masked, as ``site serve`` logs it, and the page
    named ("a/***/atom.xml (a customer's page)"): a host's message may name one whose token no config holds any
    more (a rotated token's old page, still served when removing it failed), which no secret known masks."""
    return _CUSTOMER_PAGE.sub(lambda found: f"a/{MASK}{found[1]} (a customer's page)", text)


def remember(secrets: Iterable[str]) -> None:
    """Add the secrets of a loaded config to those every log record is scrubbed of."""
    known.update(s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH)


# -- log records -----------------------------------------------------------------

# Set while this thread's log records are held (``records_held``): what each was made from, in order.
_holding = threading.local()
_HELD = "broadcaster_held"  # the attribute that marks a record held: our handler does not print it
_HELD_MESSAGE = "(held until the credentials being fetched are known)"


# AWS credentials by their shape, whoever's they are: what fetching credentials logs of keys nobody could
# remember first (a source profile's session token signing AssumeRole, a chained role's keys in STS's answer, an
# SSO answer). The field's name is kept, its value masked: an XML element (STS), a JSON field (SSO, container
# credentials, credential_process), a header as botocore's debug log prints it (canonical request, the request's
# header dict, a presigned query), and the access key ID in an Authorization header's Credential=.
_XML_FIELD = lazy_re.compile(r"(<(AccessKeyId|SecretAccessKey|SessionToken)>)[^<]+(</\2>)")
_JSON_FIELD = lazy_re.compile(
    r"""((?:\\?["'])(?:accessKeyId|secretAccessKey|sessionToken|token|accessToken|refreshToken|clientSecret)"""
    r"""(?:\\?["'])\s*:\s*(?:\\?["']))[^"'\\]+""",
    re.IGNORECASE,
)
_TOKEN_HEADER = lazy_re.compile(
    r"""(x-amz-security-token(?:['"]?\s*[:=]\s*(?:b?['"])?|%3D))[^\s'"&,;\\]+""", re.IGNORECASE
)
_KEY_ID_IN_CREDENTIAL = lazy_re.compile(r"(Credential(?:=|%3D))[A-Z0-9]{16,128}(?=/|%2F)", re.IGNORECASE)


def without_aws_credentials(text: str) -> str:
    """``text`` with every AWS credential shown by its shape (``<SecretAccessKey>``, ``"sessionToken":``,
    ``X-Amz-Security-Token:``, ``Credential=AKIA...``) masked, its name kept: for the log of fetching
    credentials, which may print keys no config holds and nobody could remember before (``records_held``)."""
    text = _XML_FIELD.sub(lambda found: f"{found[1]}{MASK}{found[3]}", text)
    text = _JSON_FIELD.sub(lambda found: f"{found[1]}{MASK}", text)
    text = _TOKEN_HEADER.sub(lambda found: f"{found[1]}{MASK}", text)
    return _KEY_ID_IN_CREDENTIAL.sub(lambda found: f"{found[1]}{MASK}", text)


def _without_aws_credentials_in(record: logging.LogRecord) -> None:
    """``record``'s message and exception text masked with ``without_aws_credentials``, formatted first."""
    try:
        message = record.getMessage()
    except (TypeError, ValueError):  # arguments that do not fit: as RedactingFilter shows it, the template
        message = str(record.msg)
    record.msg, record.args = without_aws_credentials(message), None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    record.exc_info = None
    if record.exc_text:
        record.exc_text = without_aws_credentials(record.exc_text)


@contextmanager
def records_held() -> Iterator[None]:
    """The log records this thread makes meanwhile are printed when it ends, scrubbed of the secrets known then.

    For fetching credentials: botocore logs the answer that holds them (an assumed role's keys, an SSO token)
    and the request that bought them (a web identity token) before anyone could ``remember`` them, and a
    record is scrubbed when it is made. The caller remembers them inside. Any other handler sees only
    "held" while it runs, then the scrubbed record.
    """
    if getattr(_holding, "records", None) is not None:  # held already, by a caller further out
        yield
        return
    held: list[tuple[logging.LogRecord, dict[str, object]]] = []
    _holding.records = held
    try:
        yield
    finally:
        _holding.records = None
        for record, made in held:
            record.__dict__.update(made)
            delattr(record, _HELD)
            # By shape too, whatever was remembered: keys that sign a fetch, or come in one, are not all known.
            _without_aws_credentials_in(record)
            RedactingFilter().filter(record)
            logging.getLogger(record.name).handle(record)


def _held(record: logging.LogRecord) -> bool:
    """Hold ``record`` if this thread's records are held (``records_held``): keep what it was made from, and
    leave it nothing to show meanwhile."""
    held = getattr(_holding, "records", None)
    if held is None:
        return False
    held.append((record, dict(record.__dict__)))
    record.msg, record.args, record.exc_info, record.exc_text, record.stack_info = _HELD_MESSAGE, None, None, None, None
    setattr(record, _HELD, True)
    return True


class RedactingFilter(logging.Filter):
    """Scrubs a record's message, arguments, exception and stack text of the known secrets, and of the
    user and password of every URL in it (``user:password@``): a library may log a URL it found by
    itself, which no config names (slack_sdk logs the proxy it read from ``HTTPS_PROXY``).

    The record is rewritten in place (message formatted with its arguments,
    exception formatted into ``exc_text``), so every handler that sees it after
    this filter prints the scrubbed text.
    """

    def __init__(self, secrets: Iterable[str] | None = None) -> None:
        super().__init__()
        self._secrets = None if secrets is None else frozenset(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        # Even with no secret known: a request signature is masked whatever the secrets (``redact``).
        secrets = known if self._secrets is None else self._secrets
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # arguments that do not fit: show the template alone
            message = str(record.msg)
        record.msg, record.args = _scrubbed(message, secrets, bound=_own(record)), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.exc_info = None  # handlers print exc_text, which is scrubbed below
        if record.exc_text:
            record.exc_text = _scrubbed(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = _scrubbed(record.stack_info, secrets)
        return True


def _scrubbed(text: str, secrets: Iterable[str], *, bound: bool = False) -> str:
    # Shown on a terminal too: a server's text in a library's log must not drive it (errors.printable).
    # ``bound``: cut as a delivery's error is (errors.bounded), after it is masked.
    masked = without_credentials(redact(text, secrets))
    return bounded(printable(masked)) if bound else printable(masked)


def _own(record: logging.LogRecord) -> bool:
    """Whether ``record`` is of our own loggers, shown without --debug: they quote what a server said (the bot's
    "could not be polled (...)", once per attempt), and a server may say megabytes. The libraries' records, shown
    with --debug alone, are left whole for whoever debugs."""
    return record.name.split(".", 1)[0] in OWN_LOGGERS


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (the CLI's test runner swaps it)."""

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


class _OwnOrDebug(logging.Filter):
    def __init__(self, debug: bool) -> None:
        super().__init__()
        self.debug = debug

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, _HELD, False):  # printed when it is let go (``records_held``)
            return False
        return self.debug or record.name.split(".", 1)[0] in OWN_LOGGERS


@contextmanager
def install_logging(debug: bool = False) -> Iterator[_OwnOrDebug]:
    """For one command: every record scrubbed; SDK loggers silent unless ``debug``.

    Every record is scrubbed where it is made (the record factory), so a
    handler anyone adds (a library's, a test's) only ever sees scrubbed text.
    Yields the switch ``set_debug`` turns on when ``--debug`` is parsed late.
    Restores the previous logging state on exit.
    """
    root = logging.getLogger()
    previous_factory = logging.getLogRecordFactory()
    previous_root_level = root.level
    previous_levels = {name: logging.getLogger(name).level for name in SDK_LOGGERS}
    previous_known = set(known)
    scrub = RedactingFilter()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous_factory(*args, **kwargs)
        if not _held(record):
            scrub.filter(record)
        return record

    switch = _OwnOrDebug(debug)
    handler = _Stderr()
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s: %(message)s"))
    handler.addFilter(switch)
    handler.addFilter(scrub)  # again at the handler: records made before the factory was set
    logging.setLogRecordFactory(factory)
    root.addHandler(handler)
    _apply(switch, debug)
    try:
        yield switch
    finally:
        root.removeHandler(handler)
        logging.setLogRecordFactory(previous_factory)
        root.setLevel(previous_root_level)
        for name, level in previous_levels.items():
            logging.getLogger(name).setLevel(level)
        known.clear()
        known.update(previous_known)


def _apply(switch: _OwnOrDebug, debug: bool) -> None:
    switch.debug = debug
    logging.getLogger().setLevel(logging.DEBUG if debug else logging.WARNING)
    # Silent means not even made: python-telegram-bot formats a traceback for every 500.
    for name in SDK_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if debug else logging.CRITICAL + 1)


def set_debug(switch: _OwnOrDebug | None, debug: bool) -> None:
    """Turn SDK logs on (``--debug`` given after the command name)."""
    if switch is not None:
        _apply(switch, debug)
