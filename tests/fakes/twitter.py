"""A fake of the X (Twitter) API v2, for the two calls broadcaster makes.

Routes (under an optional ``prefix``, to test an ``api_url`` with a path):

* ``POST /2/tweets`` with JSON ``{"text": ..., "reply": {"in_reply_to_tweet_id": ...}}``
  answers 201 ``{"data": {"id", "text", "edit_history_tweet_ids"}}``.
* ``GET /2/users/me`` answers ``{"data": {"id", "name", "username"}}``: the user id an OAuth 1.0a access token
  begins with (``1585-...``: 1585), or ``bearer_user_id`` for the OAuth 2.0 token.
* ``GET /2/tweets/:id`` (``tweet.fields=author_id``) answers ``{"data": {"id", "text", "edit_history_tweet_ids",
  "author_id"}}``; a post it does not hold, 200 with X's ``errors`` ("Not Found Error") and no ``data``, as X's v2
  lookup does. Each post's author is the account that posted it (``FakeTweet.author_id``).
* ``DELETE /2/tweets/:id`` answers ``{"data": {"deleted": true}}``; an id it does not hold
  (never issued, or deleted already) 404 with X's ``resource-not-found`` problem; an id
  in ``undeletable`` (another account's post) 403 "You are not allowed to delete this Tweet."

It checks what it receives the way X does, with X's error shapes:

* Authorization: ``OAuth ...`` (1.0a user context) whose ``oauth_consumer_key``
  and ``oauth_token`` are the configured ones, signed HMAC-SHA1; the signature
  is verified too when ``consumer_secret`` and ``access_token_secret`` are given.
  Or ``Bearer <bearer_token>`` (an OAuth 2.0 user token). Anything else: 401.
  ``Bearer <app_bearer_token>`` (app-only) gets X's 403 "Unsupported Authentication".
  ``read_only=True`` makes OAuth 1.0a posts fail as for an app without write permission.
* Text longer than 280 weighted characters: 400, ``errors[0].message`` "Your Tweet
  text is too long..." (the shape observed from v2 through tweepy: "400 Bad Request
  Your Tweet text is too long. For more information on how Twitter determines text
  length see https://github.com/twitter/twitter-text."). The weight is computed here
  by ``x_weighted_length``, written from X's published rules and independent of the
  twitter-text library our code uses, so the two check each other.
* Text equal to an earlier post's: 403 "You are not allowed to create a Tweet with
  duplicate content."
* A reply to an id it never issued: 403 "You attempted to reply to a Tweet that is
  deleted or not visible to you."
* ``rate_limit(reset_in=...)`` queues X's 429 with ``x-rate-limit-*`` headers.

Posts are recorded in ``tweets`` (``FakeTweet`` with ``id``, ``text``, ``in_reply_to``).
Construct with ``FakeX(consumer_key=..., access_token=..., bearer_token=..., latency=0.0)``;
every argument has a default, so ``with FakeX() as x:`` works with the defaults below.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import threading
import time
import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from tests.fakes.base import FakeServer, Fault, Request, Response

MAX_WEIGHTED = 280
FIRST_ID = 1_790_000_000_000_000_000  # X ids are 19-digit snowflakes, sent as strings

UNAUTHORIZED = {
    "title": "Unauthorized",
    "type": "about:blank",
    "status": 401,
    "detail": "Unauthorized",
}
DUPLICATE = {
    "detail": "You are not allowed to create a Tweet with duplicate content.",
    "type": "about:blank",
    "title": "Forbidden",
    "status": 403,
}
REPLY_TO_MISSING = {
    "detail": "You attempted to reply to a Tweet that is deleted or not visible to you.",
    "type": "about:blank",
    "title": "Forbidden",
    "status": 403,
}
READ_ONLY_APP = {
    "title": "Forbidden",
    "status": 403,
    "detail": "Your client app is not configured with the appropriate oauth1 app permissions for this endpoint.",
    "type": "https://api.twitter.com/2/problems/oauth1-permissions",
}
APP_ONLY_AUTH = {
    "title": "Unsupported Authentication",
    "detail": "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  "
    "Supported authentication types are [OAuth 1.0a User Context, OAuth 2.0 User Context].",
    "type": "https://api.twitter.com/2/problems/unsupported-authentication",
    "status": 403,
}
TOO_MANY = {
    "title": "Too Many Requests",
    "detail": "Too Many Requests",
    "type": "about:blank",
    "status": 429,
}
TOO_LONG_MESSAGE = (
    "Your Tweet text is too long. For more information on how Twitter determines "
    "text length see https://github.com/twitter/twitter-text."
)


NOT_FOUND = {
    "title": "Not Found Error",
    "detail": "Could not find tweet with id.",
    "type": "https://api.twitter.com/2/problems/resource-not-found",
    "status": 404,
}
NOT_YOURS = {
    "title": "Forbidden",
    "detail": "You are not allowed to delete this Tweet.",
    "type": "about:blank",
    "status": 403,
}


def invalid_request(message: str) -> dict[str, Any]:
    return {
        "errors": [{"message": message}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request",
    }


@dataclass(frozen=True)
class FakeTweet:
    id: str
    text: str
    in_reply_to: str | None
    auth: str  # "oauth1" or "bearer"
    author_id: str = ""  # the user id of the account that posted it


class FakeX(FakeServer):
    """X API v2 on loopback; see the module docstring for what it checks."""

    def __init__(
        self,
        *,
        consumer_key: str = "fake-consumer-key",
        consumer_secret: str | None = None,
        access_token: str = "1585-fake-access-token",
        access_token_secret: str | None = None,
        bearer_token: str = "fake-oauth2-user-token",
        app_bearer_token: str = "AAAAAAAAAAAAAAAAAAAAAfake-app-only",
        username: str = "acme_status",
        read_only: bool = False,
        prefix: str = "",
        latency: float = 0.0,
    ) -> None:
        super().__init__(latency=latency)
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.access_token = access_token
        self.access_token_secret = access_token_secret
        self.bearer_token = bearer_token
        self.app_bearer_token = app_bearer_token
        self.username = username
        self.bearer_user_id = "1585000000000000001"
        self.read_only = read_only
        self.prefix = prefix.rstrip("/")
        self.tweets: list[FakeTweet] = []
        self.deleted: list[FakeTweet] = []
        self.undeletable: set[str] = set()
        self._ids = iter(range(FIRST_ID, FIRST_ID + 10**9))
        self._posting = threading.Lock()
        self.route("POST", re.escape(self.prefix) + r"/2/tweets", self._create_tweet)
        self.route("GET", re.escape(self.prefix) + r"/2/users/me", self._me)
        self.route("GET", re.escape(self.prefix) + r"/2/tweets/(?P<id>[0-9]{1,19})", self._get_tweet)
        self.route("DELETE", re.escape(self.prefix) + r"/2/tweets/(?P<id>[0-9]{1,19})", self._delete_tweet)

    @property
    def api_url(self) -> str:
        """What to put in ``api_url`` to reach this fake."""
        return self.url + self.prefix

    def reset(self) -> None:
        """Forget posts, requests and queued faults, so one server can serve many tests."""
        with self._lock:
            self.tweets.clear()
            self.deleted.clear()
            self.undeletable.clear()
            self.requests.clear()
            self._faults.clear()

    def rate_limit(self, reset_in: float = 60.0, retry_after: float | None = None) -> None:
        """Answer the next post with X's 429, resetting ``reset_in`` seconds from now."""
        headers = {
            "x-rate-limit-limit": "17",
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": str(int(time.time() + reset_in)),
        }
        if retry_after is not None:
            headers = {"Retry-After": str(int(retry_after))}
        self.fail(Fault(match="/2/tweets", response=Response(429, TOO_MANY, headers)))

    def thread_of(self, tweet_id: str) -> list[FakeTweet]:
        """The chain of posts ending at ``tweet_id``, first post first."""
        by_id = {t.id: t for t in self.tweets}
        chain = []
        current: str | None = tweet_id
        while current in by_id:
            chain.append(by_id[current])
            current = by_id[current].in_reply_to
        return chain[::-1]

    # -- handlers ------------------------------------------------------------

    def _me(self, request: Request, _: re.Match[str]) -> Response:
        auth = self._authenticate(request)
        if isinstance(auth, Response):
            return auth
        return Response(
            200,
            {
                "data": {
                    "id": self._user_of(auth),
                    "name": "Acme Status",
                    "username": self.username,
                }
            },
        )

    def _user_of(self, auth: str) -> str:
        """The user id of the account the request's credentials are for."""
        if auth == "oauth1":
            return self.access_token.partition("-")[0]
        return self.bearer_user_id

    def _get_tweet(self, request: Request, found: re.Match[str]) -> Response:
        auth = self._authenticate(request)
        if isinstance(auth, Response):
            return auth
        tweet = next((t for t in self.tweets if t.id == found.group("id")), None)
        if tweet is None:
            return Response(200, {"errors": [{
                "value": found.group("id"), "detail": f"Could not find tweet with id: [{found.group('id')}].",
                "title": "Not Found Error", "resource_type": "tweet", "parameter": "id",
                "resource_id": found.group("id"), "type": "https://api.twitter.com/2/problems/resource-not-found"}]})
        data = {"id": tweet.id, "text": tweet.text, "edit_history_tweet_ids": [tweet.id]}
        fields = ",".join(request.query.get("tweet.fields", [])).split(",")
        if "author_id" in fields:
            data["author_id"] = tweet.author_id
        return Response(200, {"data": data})

    def _create_tweet(self, request: Request, _: re.Match[str]) -> Response:
        auth = self._authenticate(request)
        if isinstance(auth, Response):
            return auth
        if auth == "oauth1" and self.read_only:
            return Response(403, READ_ONLY_APP)
        if "application/json" not in request.headers.get("content-type", ""):
            return Response(
                400,
                invalid_request("Requests with bodies must have content-type of application/json."),
            )
        body = request.form
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            return Response(400, invalid_request("$.text: must be a non-empty string"))
        reply = body.get("reply") or {}
        reply_to = reply.get("in_reply_to_tweet_id") if isinstance(reply, dict) else reply
        if reply_to is not None and not re.fullmatch(r"[0-9]{1,19}", str(reply_to)):
            return Response(
                400,
                invalid_request(f"$.reply.in_reply_to_tweet_id: {reply_to!r} is not a Tweet id"),
            )
        if x_weighted_length(text) > MAX_WEIGHTED:
            return Response(400, invalid_request(TOO_LONG_MESSAGE))
        with self._posting:
            return self._store(text, reply_to, auth)

    def _delete_tweet(self, request: Request, found: re.Match[str]) -> Response:
        auth = self._authenticate(request)
        if isinstance(auth, Response):
            return auth
        with self._posting:
            tweet = next((t for t in self.tweets if t.id == found.group("id")), None)
            if tweet is None:
                return Response(404, NOT_FOUND)
            if tweet.id in self.undeletable:
                return Response(403, NOT_YOURS)
            self.tweets.remove(tweet)
            self.deleted.append(tweet)
        return Response(200, {"data": {"deleted": True}})

    def _store(self, text: str, reply_to: str | None, auth: str) -> Response:
        if any(t.text == text for t in self.tweets):
            return Response(403, DUPLICATE)
        if reply_to is not None and all(t.id != reply_to for t in self.tweets):
            return Response(403, REPLY_TO_MISSING)
        tweet = FakeTweet(str(next(self._ids)), text, reply_to, auth, self._user_of(auth))
        self.tweets.append(tweet)
        data = {"id": tweet.id, "text": text, "edit_history_tweet_ids": [tweet.id]}
        return Response(201, {"data": data}, headers={"x-rate-limit-remaining": "16"})

    # -- authentication ----------------------------------------------------

    def _authenticate(self, request: Request) -> str | Response:
        header = request.headers.get("authorization", "")
        if header.startswith("Bearer "):
            token = header[len("Bearer ") :]
            if token == self.app_bearer_token:
                return Response(403, APP_ONLY_AUTH)
            return "bearer" if token == self.bearer_token else Response(401, UNAUTHORIZED)
        if header.startswith("OAuth ") and self._oauth1_valid(request, header):
            return "oauth1"
        return Response(401, UNAUTHORIZED)

    def _oauth1_valid(self, request: Request, header: str) -> bool:
        params = {k: unquote(v) for k, v in re.findall(r'(\w+)="([^"]*)"', header)}
        required = (
            "oauth_consumer_key",
            "oauth_token",
            "oauth_signature",
            "oauth_nonce",
            "oauth_timestamp",
        )
        if any(not params.get(key) for key in required):
            return False
        if params.get("oauth_signature_method") != "HMAC-SHA1":
            return False
        if (params["oauth_consumer_key"], params["oauth_token"]) != (
            self.consumer_key,
            self.access_token,
        ):
            return False
        if self.consumer_secret is None or self.access_token_secret is None:
            return True
        expected = oauth1_signature(
            request.method,
            f"http://{request.headers.get('host', '')}{request.path}",
            {k: v for k, v in params.items() if k not in ("oauth_signature", "realm")},
            [(k, v) for k, values in request.query.items() for v in values],
            self.consumer_secret,
            self.access_token_secret,
        )
        return hmac.compare_digest(expected, params["oauth_signature"])


def oauth1_signature(
    method: str,
    url: str,
    oauth: dict[str, str],
    query: list[tuple[str, str]],
    consumer_secret: str,
    token_secret: str,
) -> str:
    """RFC 5849 HMAC-SHA1 over the request as the server received it (JSON bodies are not signed)."""

    def enc(value: str) -> str:
        return quote(value, safe="~")

    pairs = sorted((enc(k), enc(v)) for k, v in [*oauth.items(), *query])
    normalized = "&".join(f"{k}={v}" for k, v in pairs)
    base = "&".join((method.upper(), enc(url), enc(normalized)))
    key = f"{enc(consumer_secret)}&{enc(token_secret)}".encode()
    return base64.b64encode(hmac.new(key, base.encode(), hashlib.sha1).digest()).decode()


# -- X's character counting, written from the published rules ------------------

# Code points that weigh 1 (X's twitter-text configuration v3); all others weigh 2.
_LIGHT_RANGES = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))
LINK_WEIGHT = 23  # every link is wrapped by t.co and counts as its length

# Links with a scheme, or bare hosts under common TLDs (X links both). A subset
# of X's grammar, kept simple on purpose: the tests' links are of these forms.
_LINK = re.compile(
    r"(?<![\w@.\-])"
    r"(?:https?://[^\s<>\"]+"
    r"|(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:com|org|net|io|dev|app|co|info|gov|edu)\b(?:/[^\s<>\"]*)?)",
    re.IGNORECASE,
)
_LINK_TRAILING = ".,:;!?'\")]}"


def x_weighted_length(text: str) -> int:
    """The weighted length of ``text`` by X's rules: NFC, links 23, emoji 2, ranges 1, rest 2."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n")
    total = 0
    position = 0
    for match in _LINK.finditer(text):
        link = match.group(0).rstrip(_LINK_TRAILING)
        total += _text_weight(text[position : match.start()]) + LINK_WEIGHT
        position = match.start() + len(link)
    return total + _text_weight(text[position:])


def _text_weight(text: str) -> int:
    total = 0
    index = 0
    while index < len(text):
        end = _emoji_end(text, index)
        if end > index:
            total += 2
            index = end
            continue
        total += 1 if _light(ord(text[index])) else 2
        index += 1
    return total


def _light(code: int) -> bool:
    return any(start <= code <= end for start, end in _LIGHT_RANGES)


def _emoji_end(text: str, index: int) -> int:
    """End of the emoji sequence starting at ``index``, or ``index`` if none starts there."""
    code = ord(text[index])
    nxt = ord(text[index + 1]) if index + 1 < len(text) else 0
    if _regional(code) and _regional(nxt):
        return index + 2  # a flag
    if chr(code) in "0123456789#*" and nxt in (0xFE0F, 0x20E3):
        end = index + 1 + (nxt == 0xFE0F)
        return end + 1 if end < len(text) and ord(text[end]) == 0x20E3 else index
    if not _pictographic(code) and not (_symbol(code) and nxt == 0xFE0F):
        return index
    end = index + 1
    while end < len(text):
        here = ord(text[end])
        if here == 0xFE0F or 0x1F3FB <= here <= 0x1F3FF or 0xE0020 <= here <= 0xE007F:
            end += 1
        elif here == 0x200D and end + 1 < len(text) and _pictographic(ord(text[end + 1])):
            end += 2
        else:
            break
    return end


def _symbol(code: int) -> bool:
    """A symbol that VS16 (U+FE0F) turns into an emoji, such as ©️ or ↔️."""
    return unicodedata.category(chr(code)) in ("So", "Sm") or code in (0x203C, 0x2049, 0x2139)


def _regional(code: int) -> bool:
    return 0x1F1E6 <= code <= 0x1F1FF


def _pictographic(code: int) -> bool:
    return (
        0x1F000 <= code <= 0x1FAFF
        or 0x2600 <= code <= 0x27BF
        or 0x2300 <= code <= 0x23FF
        or 0x2B00 <= code <= 0x2BFF
        or code in (0x3030, 0x303D, 0x3297, 0x3299)
    )
