"""A signed webhook: each update POSTed as a JSON event to a URL, signed per the Standard Webhooks spec.

Config (``[channels.NAME]`` with ``type = "webhook"``)::

    url = "https://hooks.example.com/status"   # https (http only to this machine)
    secret = "${STATUS_WEBHOOK_SECRET}"        # whsec_ + base64 of 24 to 64 random bytes; secret
    headers = { "X-Tenant" = "acme", "Authorization" = "${HOOK_AUTH}" }   # optional, added to each request

Each request carries ``webhook-id``, ``webhook-timestamp`` and
``webhook-signature`` (``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body``),
made by the ``standardwebhooks`` library, so a receiver verifies it with any
Standard Webhooks library. The body is ``messages.webhook.event`` (schema in
the README).

The ``webhook-id`` is the same on every attempt of one delivery, in this run
or a later one (it is made from the channel, the incident, the update and the
event type), so a receiver drops repeats by it. That is why a request whose
answer was lost is simply retried here, unlike a chat post: a repeat is
harmless by the spec. Answers: 2xx delivered; 410 Gone is permanent (the
receiver wants no more); 429 and 5xx are retried with backoff, honouring
``retry-after``; a redirect or another 4xx is a permanent failure naming the
cause. Redirects are never followed: the signed body would go elsewhere.

Amend sends ``update.amended`` for the corrected update. ``channels check``
sends a signed ``check.ping`` event with no update in it.

A remote id is ``"<sequence>:<webhook-id>"``: the update the event was about,
which an amend names.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import unicodedata
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, unquote_plus, urlsplit

from broadcaster.channels._http import (
    MASK,
    Answer,
    HttpChannel,
    HttpPoster,
    origin_replaced,
    receiver_key,
    split_secret_url,
)
from broadcaster.messages import webhook as fmt
from broadcaster.messages.preview import preview
from broadcaster.messages.visibility import UpdateView

from broadcaster import lazy_re
from broadcaster.config import Secret, secrets_in
from broadcaster.delivery import CheckResult, Receipt, Rendered, SendLog, ThreadRef
from broadcaster.errors import ConfigError, DeliveryError, InputError

SECRET_PREFIX = "whsec_"
MIN_SECRET_BYTES, MAX_SECRET_BYTES = 24, 64  # the spec's range for a signing key
_LOOPBACK = ("localhost", "127.0.0.1", "::1")
# Headers the spec or HTTP owns: a configured one would break the signature or the request.
_RESERVED = ("webhook-id", "webhook-timestamp", "webhook-signature", "content-type", "content-length", "host")
_HEADER_NAME = lazy_re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
# A value HTTP (and httpx, which encodes values as ASCII) carries: visible ASCII, with spaces and tabs only between.
_HEADER_VALUE = lazy_re.compile(r"(?:[\x21-\x7e](?:[ \t]*[\x21-\x7e])*)?")  # fullmatch: "$" passes a final "\n"
# Headers that carry a credential, by name ("Authorization", "Cookie", "X-Api-Key", "X-Auth-Token") or by value
# ("Bearer ...", "Basic ..."): given only as "${VAR}", like every secret. Any other value ("X-Tenant" = "acme") is
# plain text: masked as a secret it would be masked in every message.
# "auth" but not "author" ("X-Author"); "key" ending a word ("X-Api-Key", "X-AccessKey"), not starting one
# ("X-Keyboard").
_CREDENTIAL_HEADER = lazy_re.compile(
    r"auth(?!or(?!i))|cookie|key(?![a-z])|token|secret|signature|passw|pwd|credential|session", re.IGNORECASE)
_CREDENTIAL_VALUE = lazy_re.compile(r"(?:bearer|basic|token|digest|apikey|api-key)\s", re.IGNORECASE)
# Beside a key, a gateway's headers name the account or the scheme ("X-Auth-Email" = "ops@example.com",
# "X-Auth-User", "X-Request-Key-Id", "X-Signature-Version" = "v1"): no credential, though the name holds "auth" or
# "key". Taken as written when the value is an e-mail address, or the name ends in such a word and the value is not
# key-like (``_KEY_LIKE``); refused at load otherwise, they would stop every command of a working config.
_IDENTITY_HEADER = lazy_re.compile(
    r"[-_](?:e-?mail|user|username|login|account|id|version|algorithm|alg|region|type|scheme)$", re.IGNORECASE)
_EMAIL = lazy_re.compile(r"[^@\s:]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_KEY_LIKE = lazy_re.compile(r"(?=\S*\d)\S{16,}|(?=\S*[a-z])(?=\S*[A-Z])\S{16,}")  # 16+ characters not a word
# An address is an account's only under a name that says so ("X-Auth-Email", "X-Auth-User"); under "X-Api-Key" the
# value "sk_live_...@example.com" is a key. A session's, a token's or a secret's "-Id" is the credential itself: never
# plain text. Any other identity word exempts a short value ("k1", "v1", "HMAC-SHA256") or plain words only.
_MAIL_NAME = lazy_re.compile(r"mail|user|login|account", re.IGNORECASE)
_SECRET_NAME = lazy_re.compile(r"key|token|secret|session|passw|pwd|credential|cookie", re.IGNORECASE)
_NEVER_PLAIN = lazy_re.compile(r"session|token|secret|passw|pwd|cookie|credential", re.IGNORECASE)
_SHORT_IDENTITY = 12
# Words and numbers ("status-bot-eu1", "eu-central-1", "acme-corp-42"), never one long run of mixed characters (hex).
_PLAIN_WORDS = lazy_re.compile(r"(?:[A-Za-z]+|\d+|[A-Za-z0-9]{1,4})(?:[ ._/-](?:[A-Za-z]+|\d+|[A-Za-z0-9]{1,4}))*")
_ID_HEADER = lazy_re.compile(r"[-_]id$", re.IGNORECASE)
_REMOTE_ID = lazy_re.compile(r"^(?P<sequence>\d+):(?P<id>msg_[A-Za-z0-9]+)$")
_PLAIN_WORD = lazy_re.compile(r"[a-z._/-]+")  # "webhooks", "incoming": a path's words, not its token
_DATE = lazy_re.compile(r"\d{4}-\d{2}-\d{2}")
_SHORTEST_TOKEN = 6  # shorter parts of a url ("v2", "1234") are versions and numbers, too common to mask
_KEY_LENGTH = 20  # a part of a url this long and token-like is a key, never a word an update may hold


class WebhookChannel(HttpChannel):
    """One HTTPS receiver of signed JSON events."""

    type_name = "webhook"
    keyed_repeats = True
    required_options = ("url", "secret")
    optional_options = ("headers",)
    secret_options = ("secret",)  # the signing key: whoever holds it can forge events
    default_api_url = ""  # ``url`` is the whole address; api_url replaces its scheme://host
    reports_requests = True  # and never calls log.sending(): a repeat carries the same webhook-id
    repeats_alike = "its repeat carries the same webhook-id, for the receiver to drop as an id it has seen"

    # -- config -----------------------------------------------------------------

    @classmethod
    def validate_options(cls, options: Mapping[str, Any], where: str) -> None:
        url = options.get("url")
        if isinstance(url, Secret):  # a receiver whose URL holds a token: url = "${HOOK_URL}"
            if not url.missing:
                receiver_url(url.reveal(), f"{where}url: ${{{url.env_var}}}", written=False)
        else:
            receiver_url(url, f"{where}url", written=True)
        secret = options.get("secret")
        if isinstance(secret, Secret) and not secret.missing:
            signing_key(secret.reveal(), f"{where}secret: ${{{secret.env_var}}}")
        _headers(options.get("headers", {}), f"{where}headers")

    @classmethod
    def target_keys(cls, options: Mapping[str, Any]) -> list[tuple[tuple[str, ...], str]]:
        return cls.url_key(options, "url", "webhook", receiver_key)  # one receiver however its URL is written

    @classmethod
    def delivery_keys(cls, options: Mapping[str, Any]) -> list[tuple[tuple[str, ...], str]]:
        # A receiver may route on a header ("X-Tenant"): two tables told apart by their headers are two places.
        headers = sorted((name.lower(), value.reveal_or_empty() if isinstance(value, Secret) else str(value))
                         for name, value in dict(options.get("headers") or {}).items())
        told_apart = tuple(f"{name}: {value}" for name, value in headers)
        return [((*key, *told_apart), written) for key, written in cls.target_keys(options)]

    def secret_values(self) -> list[str]:
        """The signing key, and the url and any header value given as ``${VAR}``; of a url, also the
        parts a receiver quotes alone ("Cannot POST /hooks/catch/123/Zq8.../", a redirect's path):
        the parts that look like tokens, and the path or query holding them (``_url_parts``)."""
        values = [v for v in (s.reveal_or_empty() for _, s in secrets_in(self.config.options)) if v]
        return values + [part for value in values if "://" in value for part in _url_parts(value)]

    @classmethod
    def secret_parts(cls, value: str) -> list[str]:
        """Of a secret value, the parts an operator's text may hold alone, for ``Config.named_secrets``: each
        part of a url's path or query that is a key, 20 characters or more (``_url_parts`` gives a receiver's
        answer more: shorter ids and the whole path, "api/v1/Webhooks", which an update may name)."""
        return [part for part in _url_parts(value) if len(part) >= _KEY_LENGTH and "/" not in part
                and "&" not in part] if "://" in value else []

    # -- render / send ------------------------------------------------------------

    def render(self, view: UpdateView) -> Rendered:
        # The store's sequence names the delivery (its webhook-id, the stored remote id); the event holds the
        # receiver's own key, and a correction's event the corrected update's (``corrects``).
        return Rendered(text=preview(view, "Webhook"), visibility=view.visibility,
                        payload={"event": fmt.event(view), "sequence": view.sequence, "corrects": view.corrects_key})

    async def send(
        self, rendered: Rendered, *, target: str, thread: ThreadRef | None, log: SendLog | None = None
    ) -> Receipt:
        """POST the event; follow-ups need no thread (``data.incident.id`` and ``data.update.sequence`` link them)."""
        log = log if log is not None else SendLog()
        if log.parts:
            return Receipt(log.parts[0])
        receipt = await self._deliver(dict(rendered.payload["event"]), rendered.payload["sequence"])
        log.confirmed(receipt.remote_id)
        return receipt

    async def edit(self, rendered: Rendered, *, target: str, remote_id: str, log: SendLog | None = None) -> Receipt:
        """Send ``update.amended`` for the update ``remote_id`` names."""
        found = _REMOTE_ID.match(remote_id or "")
        if not found:
            raise self.fail(
                f"the stored webhook event id {remote_id!r} is not '<sequence>:<webhook-id>'. "
                "Was the state database edited by hand?",
                retryable=False,
            )
        corrects = rendered.payload["corrects"]
        if corrects is None:
            raise self.fail("only a correction can amend a webhook event.", retryable=False)
        event = fmt.amended(dict(rendered.payload["event"]), corrects)
        return await self._deliver(event, rendered.payload["sequence"], named=int(found.group("sequence")))

    def remote_id_from(self, reference: str, target: str) -> str:
        text = reference.strip()
        if not _REMOTE_ID.match(text):
            raise InputError(f"{reference!r} is not a webhook event id: give <sequence>:<webhook-id> (msg_...).")
        return text

    async def _deliver(self, event: Mapping[str, Any], sequence: int, named: int | None = None) -> Receipt:
        """POST ``event``; its webhook-id names this delivery, from what the event tells its receiver (its own key,
        a correction's for an amend: the store's sequence, hashed with what the receiver knows, would give the gaps
        back to a receiver trying numbers). The receipt is ``<sequence>:<webhook-id>`` with the store's sequence,
        an amend's with the amended update's (``named``)."""
        data = event["data"]
        key = data.get("correction", data["update"])["sequence"]
        message_id = self.message_id(data["incident"]["id"], key, event["type"], event["timestamp"])
        answer = await self._post(event, message_id)
        if not 200 <= answer.status < 300:
            raise self._error(answer)
        return Receipt(f"{sequence if named is None else named}:{message_id}")

    def message_id(self, incident_id: str, sequence: int, event_type: str, written_at: str) -> str:
        """The ``webhook-id`` of one delivery: the same on every attempt, in any run. With the time the update was
        written: another store (the fallback file while the team database is down) numbers another incident of
        the same id the same way, and a receiver drops an id it has seen."""
        seed = "\0".join((str(self.config.options.get("url", "")), self.name, incident_id, str(sequence), event_type,
                           written_at))
        return "msg_" + hashlib.sha256(seed.encode()).hexdigest()[:32]

    async def _post(self, event: Mapping[str, Any], message_id: str) -> Answer:
        from standardwebhooks import Webhook

        body = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
        now = datetime.now(UTC)
        signature = Webhook(self._key()).sign(message_id, now, body)
        headers = {
            **self._extra_headers(),
            "webhook-id": message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signature,
        }
        poster = self._client()
        return await poster.request("POST", poster.shown_url, body=body.encode(), headers=headers)

    # -- check --------------------------------------------------------------------

    async def check(self) -> list[CheckResult]:
        """A signed ``check.ping``: does the receiver answer, and accept the signature?"""
        try:
            answer = await self._post(fmt.ping(datetime.now(UTC)), f"msg_check{uuid.uuid4().hex}")
            if not 200 <= answer.status < 300:
                raise self._error(answer)
        except (DeliveryError, ConfigError) as exc:
            return [CheckResult(self.name, "", False, self.redact(str(exc)))]
        return [CheckResult(self.name, "", True, f"the receiver accepted a signed check.ping (HTTP {answer.status})")]

    # -- client and errors --------------------------------------------------------

    def make_poster(self) -> HttpPoster:
        """A url given as ``${VAR}`` holds a token: httpx's logs and errors show its path and query as ``***``."""
        # The loader checks the url, but not one whose variable was unset then (a long-running process).
        receiver_url(self.revealed("url"), self.source("url"), written=False)
        url = origin_replaced(self.revealed("url"), self.config.api_url)
        shown = _masked(url) if isinstance(self.config.options.get("url"), Secret) else url
        return HttpPoster(self, "the webhook receiver", real_url=url, shown_url=shown)

    def _key(self) -> bytes:
        try:
            return signing_key(self.revealed("secret"), self.source("secret"))
        except ConfigError as exc:
            raise self.fail(str(exc), retryable=False) from exc

    def _extra_headers(self) -> dict[str, str]:
        try:
            return {k: v.reveal() if isinstance(v, Secret) else v for k, v in _headers(
                self.config.options.get("headers", {}), f"channels.{self.name}.headers").items()}
        except ConfigError as exc:
            raise self.fail(str(exc), retryable=False) from exc

    def _error(self, answer: Answer) -> DeliveryError:
        status = answer.status
        # A repeat carries the same webhook-id, so nothing a receiver answers makes the outcome unknown.
        common = self._client().common_error(answer, may_post=False)
        if common is not None:
            return common
        if status == 410:
            return self.fail(
                f"the webhook receiver answered 410 Gone: it wants no more events. Remove [channels.{self.name}] "
                "or ask its owner for the new url.",
                retryable=False,
            )
        if 300 <= status < 400:
            where = answer.headers.get("location", "?")
            return self.fail(
                f"the webhook receiver redirected to {where} (HTTP {status}); redirects are not followed, so the "
                "signed event is never sent elsewhere. Set url to the final address.",
                retryable=False,
            )
        if status in (401, 403):
            return self.fail(
                f"the webhook receiver refused the request (HTTP {status}: {answer.excerpt()}). Check that secret "
                "holds the same whsec_ key the receiver verifies with, and any headers it requires.",
                retryable=False,
            )
        return self.fail(f"the webhook receiver refused the event (HTTP {status}: {answer.excerpt()}).",
                         retryable=False)


def receiver_url(url: Any, source: str, *, written: bool) -> None:
    """ConfigError unless ``url`` is https (http only to this machine); a password written in the file is refused."""
    try:
        parts = urlsplit(url) if isinstance(url, str) else None
        _ = parts.port if parts else None  # a port that is not a number, an unclosed "[": ValueError
    except ValueError:
        parts = None
    shown = repr(url) if written and "@" not in str(url) else "the value given"
    if parts is None or not parts.hostname or not (
        parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK)
    ):
        raise ConfigError(f"{source}: must be the receiver's https:// address (http only to this machine), not {shown}.")
    if written and parts.password:
        raise ConfigError(
            f"{source}: holds a password written in the file. Put the whole URL in an environment variable and "
            'write url = "${STATUS_WEBHOOK_URL}" instead.'
        )


def signing_key(value: str, source: str) -> bytes:
    """The key of a ``whsec_`` secret; ConfigError naming ``source`` (never the value) unless it is one.

    Checked strictly here because the library decodes leniently: stray characters
    would be dropped silently, and events signed with a key the receiver lacks.
    """
    encoded = value.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True) if value.startswith(SECRET_PREFIX) else b""
    except (binascii.Error, ValueError):
        key = b""
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise ConfigError(
            f"{source} is not a Standard Webhooks secret: it must be whsec_ followed by the base64 of "
            f"{MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} random bytes. Make one with: "
            "python3 -c 'import base64, os; print(\"whsec_\" + base64.b64encode(os.urandom(32)).decode())'"
        )
    return key


def _headers(value: Any, where: str) -> dict[str, str | Secret]:
    """The configured extra headers; ConfigError for a bad name, a reserved one, a value HTTP cannot carry, or a
    credential written in the file (``_CREDENTIAL_VALUE``; ``_CREDENTIAL_HEADER`` unless ``_names_no_credential``).

    A ``${VAR}`` value is checked when its variable is set (at load, and again as each request is made)."""
    if not isinstance(value, dict):
        raise ConfigError(f'{where}: must be a table of header names and values, e.g. headers = {{ "X-Tenant" = "acme" }}')
    for name, header in value.items():
        if not _HEADER_NAME.match(name) or name.lower() in _RESERVED:
            raise ConfigError(f"{where}.{name}: not a header broadcaster may set (reserved: {', '.join(_RESERVED)}).")
        text = header.reveal_or_empty() if isinstance(header, Secret) else header
        if not isinstance(text, str):
            raise ConfigError(f"{where}.{name}: must be a one-line string or \"${{VAR}}\".")
        if not _HEADER_VALUE.fullmatch(text):
            raise ConfigError(f"{where}.{name}: {_unsendable(text, header)}")
        if isinstance(header, str) and (_CREDENTIAL_VALUE.match(header) or (
                _CREDENTIAL_HEADER.search(name) and not _names_no_credential(name, header))):
            # Written in the file it would be no secret: printed where a receiver echoes it, stored, exported.
            raise ConfigError(
                f"{where}.{name}: holds a credential written in the file. Put it in an environment variable and "
                f'write "{name}" = "${{MY_VAR}}" instead: its value is then a secret, masked wherever it is shown.'
            )
    return dict(value)


def _names_no_credential(name: str, value: str) -> bool:
    """Whether a header whose name reads like a credential's holds an account or a scheme's word instead."""
    if _EMAIL.fullmatch(value) and _MAIL_NAME.search(name) and not _SECRET_NAME.search(name):
        return True
    # "X-Session-Id", "X-Token-Id": the id is the credential; "X-Token-Type" = "Bearer", "X-Secret-Version" are not.
    never_plain = bool(_ID_HEADER.search(name) and _NEVER_PLAIN.search(name))
    return bool(_IDENTITY_HEADER.search(name) and not never_plain and (
        len(value) < _SHORT_IDENTITY or (_PLAIN_WORDS.fullmatch(value) and not _KEY_LIKE.search(value))))


def _unsendable(text: str, header: str | Secret) -> str:
    """Why a header value cannot be sent, and what to write; a ``${VAR}``'s characters are never quoted."""
    bad = next((c for c in text if not ("\x21" <= c <= "\x7e" or c in " \t")), "")
    where = f"the value of ${{{header.env_var}}}" if isinstance(header, Secret) else "the value"
    if not bad:
        what = "begins or ends with a space or a tab, which HTTP drops or refuses"
    elif unicodedata.category(bad) == "Cc":
        what = "holds a line break or another control character"
    else:
        what = "holds a character outside ASCII" + ("" if isinstance(header, Secret) else f" ({bad!r})")
    return (f"{where} {what}. An HTTP header carries a one-line string of visible ASCII characters, with spaces or "
            "tabs between them: write \"Zurich\" for \"Zürich\" (or percent-encode it, if the receiver decodes that).")


def _masked(url: str) -> str:
    """``url`` as ``scheme://authority/***``: the receiver's host, never its token (in the path or the query).
    A user and password stay: httpx sends them as Basic auth from this URL, and the logs mask them."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/{MASK}"


def _url_parts(url: str) -> list[str]:
    """The parts of a secret url a receiver may quote alone: its whole path (unless one word, "/webhook"),
    its whole query, and each part of either that looks like a token, as written and as decoded."""
    parts = split_secret_url(url.strip())
    if parts is None:
        return []
    path = parts.path.strip("/")
    # Each part as written ("+" and "%2F" as they went on the wire, which a receiver may quote) and decoded.
    steps = [(step, unquote(step)) for step in path.split("/") if step]
    values = [(value, unquote_plus(value)) for value in (pair.partition("=")[2] for pair in parts.query.split("&")) if value]
    # The path with the public host name is the whole capability, even when each part is short (Zapier's
    # "/hooks/catch/1234567/o6u3ylk/"): a receiver's "Cannot POST <path>" must not show it.
    whole_path = path if len(steps) > 1 or any(_token_like(decoded) for _, decoded in steps) else ""
    query = parts.query if any(_token_like(decoded) for _, decoded in values) else ""
    tokens = sorted({form for pair in (*steps, *values) if _token_like(pair[1]) for form in pair})
    return [p for p in (whole_path, query, *tokens) if p]


def _token_like(part: str) -> bool:
    """A part of a url that may be its secret, not a word, a date or a version ("json", "manual",
    "2016-10-01" stay readable in errors): long, or with a digit (an account or hook id, however short:
    Zapier's "1234567" and "o6u3ylk"), or in mixed case."""
    if len(part) < _SHORTEST_TOKEN or _PLAIN_WORD.fullmatch(part) or _DATE.fullmatch(part):
        return False
    return len(part) >= 20 or any(c.isdigit() for c in part) or (part != part.lower() and part != part.upper())
