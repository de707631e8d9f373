"""X (Twitter): each update is one public post; an incident's posts form one reply chain.

Config (``[channels.NAME]``)::

    type = "twitter"
    # OAuth 1.0a user context (the four keys of an app with Read and write permission)
    consumer_key = "${X_CONSUMER_KEY}"
    consumer_secret = "${X_CONSUMER_SECRET}"
    access_token = "${X_ACCESS_TOKEN}"
    access_token_secret = "${X_ACCESS_TOKEN_SECRET}"
    # ...or an OAuth 2.0 user access token (scopes tweet.write, users.read):
    # bearer_token = "${X_USER_TOKEN}"

The first update of an incident is a new post; each later one replies to the
incident's previous post (``ThreadRef.last_remote_id``), so followers read the
incident top to bottom as one thread. X cannot edit through this API, so there
is no ``edit()``: a correction is a reply like any other update.

A post's remote id is ``<post id>@<user id>`` where the config names the account (an OAuth 1.0a access token
begins with its user id): after the token is changed to another account's, the next update starts that account's
own thread rather than reply to the old account's post (``posted_here``). With an OAuth 2.0 ``bearer_token``, and for
ids stored before, the account is not known and follow-ups thread as before.

tweepy and requests are imported when the first client is built, not with
this module: together they take about 300 ms, which validating the config,
previewing and posting elsewhere should not pay.

tweepy's ``Client`` is synchronous, hard-codes ``https://api.twitter.com`` and
sends with no timeout. Its ``session`` is a ``requests.Session``, so we give it
one (``_RoutedSession``) that sends to ``api_url`` with ``request_timeout``. The
URL is rewritten before OAuth 1.0a signs it, so the signature covers the host the
request really goes to. ``wait_on_rate_limit`` stays off: it sleeps until a
reset that may be hours away, and the engine owns retries.

tweepy, requests-oauthlib and oauthlib log the Authorization header, the
consumer key and the access token at DEBUG; a logging filter scrubs this
channel's secrets from their records while the client exists.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, urlsplit

from broadcaster.channels import _wait
from broadcaster.channels._threads import off_the_loop
from broadcaster.channels.base import Channel, redirect_refused
from broadcaster.messages.twitter import MAX_WEIGHTED, format_post, weighted_length
from broadcaster.messages.visibility import UpdateView

from broadcaster import lazy_re
from broadcaster.delivery import CheckResult, Receipt, Rendered, SendLog, ThreadRef
from broadcaster.errors import ConfigError, DeliveryError

if TYPE_CHECKING:
    import requests
    import tweepy

    from broadcaster.config import ChannelConfig

OAUTH1_KEYS = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
BEARER_KEY = "bearer_token"
X_API = "https://api.twitter.com"
# Loggers that print credentials at DEBUG (found by running a post with DEBUG on).
CHATTY_LOGGERS = (
    "tweepy.client",
    "requests_oauthlib.oauth1_auth",
    "oauthlib.oauth1.rfc5849",
    "oauthlib.oauth1.rfc5849.signature",
    "urllib3.connectionpool",
)
T = TypeVar("T")
# An OAuth 1.0a access token: the account's user id, a hyphen, then the secret part.
_ACCOUNT_OF_TOKEN = lazy_re.compile(r"^(\d{1,25})-")
# A remote id as broadcaster records one: the post id, then the user id of the account that posted it.
_NAMED_POST = lazy_re.compile(r"^(?P<id>\d{1,25})@(?P<account>\d{1,25})$")
# What X answers the deletion of another account's post (403).
_NOT_YOURS = "not allowed to delete"
# A post's id as typed: the digits alone.
_POST_ID = lazy_re.compile(r"^(?P<id>\d{1,25})$")
# The hosts of a link to an X post, as an operator copies one (a browser's, the phone app's share, an old bookmark).
_X_HOSTS = frozenset(f"{sub}{site}.com" for sub in ("", "www.", "mobile.") for site in ("x", "twitter"))
# A post's page: /<account>/status/<id> (and /statuses/, an older spelling), /i/web/status/<id> (a link the web app
# copies), then what X adds under a post (/photo/1, /analytics); the query and the fragment are not the path. No
# segment is "." or "..": /acme/status/1/../2 is post 2's page, and was read as post 1.
_POST_PATH = lazy_re.compile(r"^/(?:i/web|[A-Za-z0-9_]{1,50})/status(?:es)?/(?P<id>\d{1,25})(?:/[A-Za-z0-9_]+)*/?$")


def post_linked(text: str) -> str | None:
    """The post id a link to an X post names (``https://x.com/acme/status/1870…``), or None: scheme and host in any
    case (a phone's autocorrect writes X.com), x.com or twitter.com, www. or mobile., the query and fragment
    dropped. The account in the path is a name anyone may write: ``checked_post_id`` asks X whose post it is."""
    try:
        parts = urlsplit(text)
    except ValueError:  # an unclosed [ in the host: no link
        return None
    found = _POST_PATH.match(parts.path)
    if parts.scheme.lower() not in ("http", "https") or parts.netloc.lower() not in _X_HOSTS or found is None:
        return None
    return found.group("id")


def post_id_of(remote_id: str) -> str:
    """The post id a remote id names (``1870…@1585``, or the bare id stored before ids named the account)."""
    return remote_id.partition("@")[0]


def _network_errors() -> tuple[type[Exception], ...]:
    import requests

    return (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


def _sdk_errors() -> tuple[type[Exception], ...]:
    """What a call through tweepy raises; imports the SDK, so call it once a call was made."""
    import requests
    import tweepy

    return (tweepy.TweepyException, requests.RequestException)


class TwitterChannel(Channel):
    """Posts to one X account; one target (the account)."""

    type_name = "twitter"
    visibilities = ("public",)  # every post on X is public
    optional_options = (*OAUTH1_KEYS, BEARER_KEY)  # one complete set: see validate_options
    secret_options = (*OAUTH1_KEYS, BEARER_KEY)
    default_api_url = X_API
    max_weighted = MAX_WEIGHTED  # X's limit per post; links count 23, CJK and emoji 2
    reports_requests = True

    def __init__(self, config: ChannelConfig) -> None:
        super().__init__(config)
        self.request_timeout: float = 15.0
        self._client: tweepy.Client | None = None
        self._log_filter: _Scrubber | None = None

    @classmethod
    def validate_options(cls, options: Mapping[str, Any], where: str) -> None:
        table = where.removesuffix(".")  # `where` ends ready for a key ("FILE: channels.x."); these name none
        given = {key for key in (*OAUTH1_KEYS, BEARER_KEY) if _given(options.get(key))}
        oauth1 = [key for key in OAUTH1_KEYS if key in given]
        if BEARER_KEY in given and oauth1:
            raise ConfigError(
                f"{table}: gives both {BEARER_KEY} and OAuth 1.0a keys ({', '.join(oauth1)}). "
                f"Keep one set: the four OAuth 1.0a keys, or {BEARER_KEY} alone."
            )
        if BEARER_KEY in given:
            return
        missing = [key for key in OAUTH1_KEYS if key not in given]
        if not oauth1:
            raise ConfigError(
                f"{table}: needs X credentials: either {', '.join(OAUTH1_KEYS)} (OAuth 1.0a, "
                f"from the app's Keys and tokens page) or {BEARER_KEY} (an OAuth 2.0 user "
                'access token), each written as "${ENV_VAR}".'
            )
        if missing:
            raise ConfigError(
                f"{table}: is missing {', '.join(missing)}: OAuth 1.0a needs all four of "
                f"{', '.join(OAUTH1_KEYS)}."
            )

    def render(self, view: UpdateView) -> Rendered:
        return Rendered(text=format_post(view), visibility="public")

    async def send(
        self, rendered: Rendered, *, target: str, thread: ThreadRef | None, log: SendLog | None = None
    ) -> Receipt:
        import tweepy

        log = log if log is not None else SendLog()
        if log.parts:  # confirmed by an earlier attempt whose run ended before recording it sent
            return Receipt(remote_id=log.parts[0])
        reply_to = post_id_of(thread.last_remote_id) if thread else None
        try:
            return Receipt(remote_id=await self._post(rendered.text, reply_to, log))
        except tweepy.Forbidden as exc:
            if reply_to is None or not _is_missing_parent(exc):
                raise self._error(exc, rendered.text) from exc
            parent_gone = exc
        except _sdk_errors() as exc:
            raise self._error(exc, rendered.text) from exc
        # Someone deleted the previous post: the update matters more than the
        # thread. Like following a migrated chat, this is protocol, not a retry.
        try:
            remote_id = await self._post(rendered.text, None, log)
        except _sdk_errors() as exc:
            raise self._error(exc, rendered.text) from parent_gone
        note = (
            f"the previous post {reply_to} is deleted or hidden, so this update starts a new thread"
        )
        return Receipt(remote_id=remote_id, notes=(note,))

    async def delete(self, remote_ids: Sequence[str], *, target: str) -> Receipt:
        """DELETE /2/tweets/:id for each post of the thread; one already gone (404) counts as deleted."""
        import tweepy

        async def delete_one(remote_id: str) -> None:
            why = self.not_deletable_here(remote_id, target)
            if why:
                raise self.fail(why, retryable=False)
            try:
                await self._run(lambda client: client.delete_tweet(post_id_of(remote_id), user_auth=self._user_auth))
            except tweepy.NotFound:
                return
            except tweepy.Forbidden as exc:
                if _NOT_YOURS not in _detail(exc):
                    raise self._error(exc, "") from exc
                # An id stored before ids named the account: whose post it is, only X knows.
                raise self.fail(self._anothers(post_id_of(remote_id), ""), retryable=False) from exc
            except Exception as exc:  # noqa: BLE001 - mapped like a post's errors
                raise self._error(exc, "") from exc

        return await self.delete_each(remote_ids, delete_one)

    def not_deletable_here(self, remote_id: str, target: str) -> str:
        """A post another account made (its id names it): X lets only that account delete it. Asked, X answers 403,
        which read as the app's permissions, and every `retry` asked again."""
        if self.posted_here(remote_id, target):
            return ""
        return self._anothers(post_id_of(remote_id), remote_id.partition("@")[2])

    def _anothers(self, post_id: str, posted_by: str) -> str:
        who = f"the account whose user id is {posted_by}" if posted_by else "another account"
        now = f" (user id {self._account()})" if self._account() else ""
        return (f"X post {post_id} was posted by {who}, not the one access_token of channels.{self.name} is for "
                f"now{now}, and X lets only the account that posted it delete it. Delete it by hand, signed in as "
                f"that account: https://x.com/i/status/{post_id}")

    def remote_id_from(self, reference: str, target: str) -> str:
        """A post id (digits), its link (``https://x.com/<account>/status/<id>``), or its remote id as broadcaster
        shows it (``<id>@<user id>``): one another account posted is refused, as ``posted_here`` would not thread
        under it."""
        from broadcaster.errors import InputError

        text = reference.strip()
        linked, found = post_linked(text), _POST_ID.match(text) or _NAMED_POST.match(text)
        if linked:
            return self._named(linked)
        if not found:
            raise InputError(
                f"{reference!r} is not an X post: give its id (the digits) or its link "
                "(https://x.com/<account>/status/<id>)."
            )
        posted_by = found.groupdict().get("account") or ""
        if posted_by and not self.posted_here(text, target):
            raise InputError(
                f"{text!r} is a post of the account whose user id is {posted_by}, and access_token of "
                f"channels.{self.name} is for user id {self._account()}: later updates would not thread under it. "
                "Give the post this account made; nothing was stored or sent."
            )
        return f"{found.group('id')}@{posted_by}" if posted_by else self._named(found.group("id"))

    async def checked_post_id(self, remote_id: str, target: str, replies_to: str | None = None) -> str:
        """Whose post it is, asked of X (GET /2/tweets/:id with its author_id): a link names the account by a screen
        name anyone may write, and an id names none, so another account's post was recorded as this account's and
        the next update replied under a stranger's post. With a bearer_token, whose account X says (/2/users/me)."""
        from broadcaster.errors import InputError

        post_id = post_id_of(remote_id)
        try:
            mine = self._account() or await self._own_user_id()
            found = await self._run(lambda client: client.get_tweet(post_id, tweet_fields=["author_id"],
                                                                     user_auth=self._user_auth))
        except _sdk_errors() + (DeliveryError,) as exc:
            raise InputError(f"could not ask X whose post {post_id} is ({self._error(exc, '')}). Nothing was stored "
                             "or sent; run the command again once X answers.") from exc
        author = str(getattr(found.data, "author_id", "") or "") if found.data is not None else ""
        if found.data is None:
            raise InputError(f"X has no post {post_id} that this account can see (deleted, or a protected account's), "
                             "so later updates could not reply under it. Check the link; nothing was stored or sent.")
        if author and mine and author != mine:
            raise InputError(
                f"X post {post_id} was posted by the account whose user id is {author}, not the one the credentials "
                f"of channels.{self.name} are for (user id {mine}): later updates would reply under another "
                "account's post. Give the post this account made; nothing was stored or sent.")
        return remote_id

    async def _own_user_id(self) -> str:
        """The user id of the account an OAuth 2.0 bearer_token is for, as X says it (its token does not tell)."""
        me = await self._run(lambda client: client.get_me(user_auth=self._user_auth))
        return str(getattr(me.data, "id", "") or "")

    def _named(self, post_id: str) -> str:
        """A post's remote id: its id, then the account that posted it where the config names it (an OAuth 1.0a
        access token begins with the account's user id), so ``posted_here`` can tell another account's posts."""
        account = self._account()
        return f"{post_id}@{account}" if account else post_id

    def _account(self) -> str:
        """The user id of the account the config posts as; "" where it cannot tell (an OAuth 2.0 token)."""
        if not self._user_auth:
            return ""
        try:
            found = _ACCOUNT_OF_TOKEN.match(self.secret("access_token"))
        except ConfigError:
            return ""
        return found.group(1) if found else ""

    def posted_here(self, remote_id: str, target: str) -> bool:
        """Whether the post is the account's the config posts as now; True where either names no account (an id
        stored before ids named it, an OAuth 2.0 token): those thread as before."""
        posted_by = remote_id.partition("@")[2]
        account = self._account()
        return not posted_by or not account or posted_by == account

    def same_post(self, stored: str, given: str) -> bool:
        """The same post: X's ids are one for the whole service, whoever posted them."""
        return post_id_of(stored) == post_id_of(given)

    async def check(self) -> list[CheckResult]:
        try:
            me = await self._run(lambda client: client.get_me(user_auth=self._user_auth))
        except _sdk_errors() + (DeliveryError,) as exc:
            return [CheckResult(self.name, "", False, str(self._error(exc, "")))]
        username = getattr(me.data, "username", None)
        if not username:
            return [CheckResult(self.name, "", False, "X answered /2/users/me without a username")]
        return [CheckResult(self.name, "", True, f"authenticated as @{username}")]

    async def aclose(self) -> None:
        if self._client is not None:
            self._client.session.close()
            self._client = None
        if self._log_filter is not None:
            self._log_filter.detach()
            self._log_filter = None

    def secret_values(self) -> list[str]:
        # oauthlib logs the signature base string, where values appear URL-encoded
        # twice; listing the encoded form makes redact() catch that one as well.
        values = super().secret_values()
        return values + [quote(v, safe="") for v in values if quote(v, safe="") != v]

    # -- internals -----------------------------------------------------------

    @property
    def _user_auth(self) -> bool:
        # tweepy's user_auth=True means OAuth 1.0a; an OAuth 2.0 user token goes as Bearer.
        return not _given(self.config.options.get(BEARER_KEY))

    async def _post(self, text: str, reply_to: str | None, log: SendLog) -> str:
        """Create one post; the SDK's exceptions come out unmapped."""
        log.sending()
        response = await self._run(
            lambda client: client.create_tweet(
                text=text, in_reply_to_tweet_id=reply_to, user_auth=self._user_auth
            )
        )
        data = response.data if isinstance(response.data, dict) else {}
        if not data.get("id"):
            raise self.fail(
                "X accepted the post but answered without its id, so later updates cannot "
                "thread under it. Check the account, and api_url if set.",
                retryable=False,
                outcome_unknown=True,
            )
        remote_id = self._named(str(data["id"]))
        log.confirmed(remote_id)
        return remote_id

    async def _run(self, action: Callable[[tweepy.Client], T]) -> T:
        """Run a blocking tweepy call in a worker thread (tweepy is synchronous), never waited for past the deadline."""
        return await off_the_loop(action, self._get_client())

    def _get_client(self) -> tweepy.Client:
        if self._client is not None:
            return self._client
        import tweepy

        try:
            if self._user_auth:
                keys = {key: self.secret(key) for key in OAUTH1_KEYS}
                client = tweepy.Client(**keys)
            else:
                client = tweepy.Client(bearer_token=self.secret(BEARER_KEY))
        except ConfigError as exc:  # an unset ${ENV_VAR}
            raise self.fail(str(exc), retryable=False) from None
        client.session = _routed_session_class()(self.api_url, self.request_timeout)
        self._log_filter = _Scrubber(self.redact)
        self._log_filter.attach()
        self._client = client
        return client

    def _error(self, exc: BaseException, text: str) -> DeliveryError:
        import tweepy

        if isinstance(exc, DeliveryError):
            return exc
        message, retryable, retry_after, unknown = _explain(exc, self, text)
        error = self.fail(message, retryable=retryable, retry_after=retry_after, outcome_unknown=unknown)
        if unknown and isinstance(exc, tweepy.Forbidden):  # a duplicate: ours only if an earlier attempt arrived
            error.refused_if_first = _DUPLICATE_OF_ANOTHER
        return error


# -- Error mapping -------------------------------------------------------------


def _explain(
    exc: BaseException, channel: TwitterChannel, text: str
) -> tuple[str, bool, float | None, bool]:
    """(message, retryable, retry_after, outcome_unknown) for one failure of a call to X.

    X's API has no idempotency key: a request that may have arrived is
    ``outcome_unknown``, and only failures that prove X did not take it
    (no connection, 429, 503, 408) are plain retryable.
    """
    import requests
    import tweepy

    if isinstance(exc, requests.ConnectTimeout) or (
        isinstance(exc, requests.ConnectionError) and _never_connected(exc)
    ):
        return (f"could not connect to X at {channel.api_url} ({type(exc).__name__}).", True, None, False)
    if isinstance(exc, requests.Timeout):
        message = f"X did not answer within {channel.request_timeout:g} s, so the post may or may not exist."
        return (message, True, None, True)
    if isinstance(exc, _network_errors()):
        message = (
            f"the connection to X broke before it answered ({type(exc).__name__}), so the post may or "
            "may not exist."
        )
        return (message, True, None, True)
    if isinstance(exc, tweepy.TooManyRequests):
        return (*_rate_limited(exc), False)
    if isinstance(exc, tweepy.Unauthorized):
        return (_credentials_advice(channel), False, None, False)
    if isinstance(exc, tweepy.Forbidden):
        return (_forbidden(exc, channel, text), False, None, "duplicate content" in _detail(exc))
    if isinstance(exc, tweepy.BadRequest):
        return (_bad_request(exc, text), False, None, False)
    if isinstance(exc, tweepy.NotFound):
        message = (
            f"X answered 404 Not Found at {channel.api_url}. If api_url is set, check it "
            f"points at the X API root (default {X_API})."
        )
        return (message, False, None, False)
    if isinstance(exc, tweepy.TwitterServerError):
        if _status(exc) == 503:  # "over capacity": X took nothing
            return ("X is over capacity (503).", True, None, False)
        return (f"X had a server error ({_status(exc)}), so the post may or may not exist.", True, None, True)
    if isinstance(exc, tweepy.HTTPException):
        status = _status(exc)
        return (f"X answered {status}: {_detail(exc)}.", status == 408, None, False)
    if isinstance(exc, requests.TooManyRedirects):  # the first redirect, never followed (max_redirects = 0)
        location = exc.response.headers.get("Location", "") if exc.response is not None else ""
        message = redirect_refused(f"X's API at {channel.api_url} answered", location, "the post and the credentials",
                                   f"Set api_url to the X API root (default {X_API}) or the address that answers itself.")
        return (message, False, None, False)
    if isinstance(exc, requests.JSONDecodeError):  # tweepy reads the body of a 2xx only (errors it reads itself)
        message = (
            f"X's answer could not be read (not X's JSON: a proxy in front of {channel.api_url} may have answered "
            "for it), so the post may or may not exist."
        )
        return (message, True, None, True)
    if isinstance(exc, requests.RequestException):
        return (f"the request to X failed ({type(exc).__name__}): check api_url.", False, None, False)
    return (f"unexpected error talking to X ({type(exc).__name__}).", False, None, False)


def _never_connected(exc: BaseException) -> bool:
    """Whether requests failed before any byte of the request left: no connection was made.

    requests wraps urllib3's error: a ``MaxRetryError`` whose reason is a failed
    connection (refused, unresolvable, connect timeout). A reset or a closed
    connection after sending arrives as a ``ProtocolError`` instead. A ``ProxyError``: urllib3 raises it only while
    no connection to the proxy was made (``has_connected_to_proxy``), so nothing left for X either.
    """
    from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError, ProxyError

    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError | ConnectTimeoutError | ProxyError)


def _retry_after_seconds(header: str) -> float | None:
    """Retry-After as delay-seconds, or None: a server's value, so a "²" (isdigit() alone takes it for a digit,
    float() refuses it) or another script's "٣" is read as no header rather than crash the send or be read as 3."""
    value = header.strip()
    return float(value) if value.isascii() and value.isdigit() else None


def _rate_limited(exc: tweepy.TooManyRequests) -> tuple[str, bool, float | None]:
    headers = exc.response.headers
    reset = _wait.honoured(exc.reset_time)  # x-rate-limit-reset: epoch seconds (of 400 digits: inf)
    if reset is not None:
        delay: float | None = max(0.0, reset - time.time())
    else:
        delay = _retry_after_seconds(headers.get("Retry-After", ""))
    if delay is None:
        return ("X rate limit reached (429).", True, None)
    if not _wait.sayable(delay):  # a date past any calendar ended the send as an unexpected error (OverflowError)
        return (f"X rate limit reached (429): {_wait.said(delay)}. Posting quotas are per app and per user; check "
                "the plan in the X developer portal.", True, delay)
    resume = datetime.fromtimestamp(time.time() + delay, UTC).strftime("%H:%M:%S UTC")
    message = (
        f"X rate limit reached (429): this app may post again at {resume} (in {delay:.0f} s). "
        "Posting quotas are per app and per user; check the plan in the X developer portal "
        "if this repeats."
    )
    return (message, True, delay)


def _credentials_advice(channel: TwitterChannel) -> str:
    if channel._user_auth:
        return (
            "X rejected the credentials (401 Unauthorized); check consumer_key, "
            f"consumer_secret, access_token and access_token_secret of channels.{channel.name} "
            "(regenerate them in the X developer portal if they were revoked)."
        )
    return (
        f"X rejected the credentials (401 Unauthorized); check bearer_token of channels.{channel.name}. "
        "It must be an OAuth 2.0 user access token with the tweet.write scope; these expire "
        "after two hours unless refreshed, so for unattended use prefer the four OAuth 1.0a keys."
    )


_DUPLICATE_OF_ANOTHER = (
    "X refused the post as a duplicate: the same text is already on the account, from another post. No earlier "
    "attempt of this update reached X, so it is not there, and X will refuse these words again: say it in other "
    "words in the next update (the status page and the other channels have this one)."
)


def _forbidden(exc: tweepy.HTTPException, channel: TwitterChannel, text: str) -> str:
    detail, kind = _detail(exc), _problem_type(exc)
    if "duplicate content" in detail:
        return (
            "X refused the post as a duplicate: the same text is already on the account. "
            "Most likely an earlier attempt did post it and its answer was lost."
        )
    if "too long" in detail:
        return _too_long(text)
    if "oauth1-permissions" in kind or "oauth1 app permissions" in detail:
        return (
            "X refused the post: the app has read-only permission. In the X developer portal set "
            "the app's permissions to Read and write, then regenerate the access token and secret "
            "(old tokens keep the old permission)."
        )
    if "unsupported-authentication" in kind or "Application-Only" in detail:
        return (
            f"X refused the request: bearer_token of channels.{channel.name} is an app-only token, "
            "which cannot post. Use an OAuth 2.0 user access token (tweet.write scope) or the four "
            "OAuth 1.0a keys."
        )
    if "client-forbidden" in kind or "Project" in detail:
        return (
            "X refused the request: the app is not attached to a Project with API access. "
            f"Attach it in the X developer portal. X said: {detail}"
        )
    return (
        f"X refused the request (403 Forbidden: {detail}). Check the app's permissions and the "
        "account's standing in the X developer portal."
    )


def _bad_request(exc: tweepy.HTTPException, text: str) -> str:
    detail = _detail(exc)
    if "too long" in detail:
        return _too_long(text)
    return f"X refused the post as invalid (400 Bad Request: {detail}). Fix the message and send again."


def _too_long(text: str) -> str:
    return (
        f"X refused the post as too long ({weighted_length(text)} of {MAX_WEIGHTED} characters as "
        "X counts them: links 23, CJK and emoji 2). Shorten the message or title and send again."
    )


def _is_missing_parent(exc: tweepy.HTTPException) -> bool:
    return "reply to a Tweet that is deleted or not visible" in _detail(exc)


def _status(exc: tweepy.HTTPException) -> int:
    return int(getattr(exc.response, "status_code", 0) or 0)


def _detail(exc: tweepy.HTTPException) -> str:
    messages = [str(m) for m in exc.api_messages if m]
    if messages:
        return "; ".join(messages)
    return str(getattr(exc.response, "reason", "") or "no detail")


def _problem_type(exc: tweepy.HTTPException) -> str:
    try:
        body = exc.response.json()
    except ValueError:
        return ""
    return str(body.get("type", "")) if isinstance(body, dict) else ""


def _given(value: Any) -> bool:
    if value is None:
        return False
    if hasattr(value, "env_var"):  # a Secret: present in the config, even if the variable is unset
        return True
    return bool(str(value).strip())


# -- Transport -------------------------------------------------------------------


@cache
def _routed_session_class() -> Callable[[str, float], requests.Session]:
    """``_RoutedSession``, defined on first use because its base class is requests'."""
    import requests

    class _RoutedSession(requests.Session):
        """tweepy's session, sending to ``api_url`` with a timeout.

        tweepy builds every URL as ``https://api.twitter.com`` + route and passes no
        timeout. Rewriting here, before ``requests`` applies the OAuth 1.0a auth,
        means the signature is computed over the URL actually requested.
        """

        def __init__(self, api_url: str, timeout: float) -> None:
            super().__init__()
            self.api_url = api_url.rstrip("/")
            self.timeout = timeout
            # No redirect is followed: a 307 or 308 would resend the post, and a same-host one the credentials,
            # to wherever it points. The first raises TooManyRedirects before anything follows it.
            self.max_redirects = 0

        def request(
            self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
        ) -> requests.Response:
            method = method.decode() if isinstance(method, bytes) else method
            url = url.decode() if isinstance(url, bytes) else url
            if url.startswith(X_API):
                url = self.api_url + url[len(X_API) :]
            if kwargs.get("timeout") is None:
                kwargs["timeout"] = self.timeout
            return super().request(method, url, *args, **kwargs)

    return _RoutedSession


class _Scrubber(logging.Filter):
    """Removes this channel's secrets from the records of the libraries that log them."""

    def __init__(self, redact: Callable[[str], str]) -> None:
        super().__init__()
        self._redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record: logging reports it itself
            return True
        cleaned = self._redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True

    def attach(self) -> None:
        for name in CHATTY_LOGGERS:
            logging.getLogger(name).addFilter(self)

    def detach(self) -> None:
        for name in CHATTY_LOGGERS:
            logging.getLogger(name).removeFilter(self)
