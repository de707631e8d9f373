"""A fake Bluesky PDS on loopback, for atproto's AsyncClient.

Give ``fake.url`` as ``api_url``; atproto appends ``/xrpc``. Served, with the
XRPC shapes (lexicons and bluesky-social/atproto's PDS):

* ``com.atproto.server.createSession`` ``{"identifier", "password"}``: a JWT
  access token with a future ``exp`` (atproto reads it, unverified), no
  ``didDoc`` (else the client would move to the PDS named there).
* ``com.atproto.server.getSession``, ``com.atproto.repo.getRecord``.
* ``com.atproto.repo.deleteRecord`` ``{"repo", "collection", "rkey"}``: removes the
  post (kept in ``fake.deleted``); a record already gone is a 200 no-op, as at the PDS.
* ``com.atproto.repo.createRecord`` for ``app.bsky.feed.post``: the record is
  validated as the PDS does: ``text`` at most 300 graphemes and 3,000 bytes,
  ``createdAt``, facets whose byte ranges lie inside the text and fall on
  character boundaries, link features with a URI, a reply with both ``root``
  and ``parent`` strong refs naming posts that exist, an external embed with
  ``uri``, ``title`` and ``description``. An ``rkey`` must be a TID and may be
  used once: a second create with it is refused, as a repository cannot hold
  two records under one key.

Errors are XRPC's ``{"error", "message"}``: 401 ``AuthenticationRequired`` for a
wrong password or token, 400 ``InvalidRequest`` for a bad record, 400
``RecordNotFound``. ``fake.rate_limit()`` queues a 429 ``RateLimitExceeded``
with ``RateLimit-Reset`` (epoch seconds). Posts are kept in ``fake.posts``
(rkey -> ``Post``), in order; ``fake.logins`` counts sessions made.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

from tests.fakes.base import FakeServer, Fault, Request, Response
from tests.fakes.mastodon import graphemes

DID = "did:plc:acmestatus7fake3x5e2zq"
_TID = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")


def _jwt(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.c2ln"


@dataclass
class Post:
    rkey: str
    uri: str
    cid: str
    record: dict[str, Any]

    @property
    def text(self) -> str:
        return str(self.record["text"])

    @property
    def reply(self) -> dict[str, Any] | None:
        return self.record.get("reply")

    @property
    def links(self) -> list[tuple[str, str]]:
        """Each link facet as (the text it covers, its URI), cut by the byte offsets as Bluesky cuts."""
        raw = self.text.encode()
        found = []
        for facet in self.record.get("facets") or []:
            index = facet["index"]
            covered = raw[index["byteStart"]:index["byteEnd"]].decode()
            found += [(covered, f["uri"]) for f in facet["features"] if f.get("$type", "").endswith("#link")]
        return found


class FakeBluesky(FakeServer):
    """One PDS holding one account, logged in to with an app password; ``add_account`` adds another (each posts
    into its own repository, and any post may be read and replied to, as on the network)."""

    def __init__(self, handle: str = "acme.bsky.social", password: str = "app-pass", latency: float = 0.0) -> None:
        super().__init__(latency=latency)
        self._store_lock = threading.Lock()
        self.reset(handle, password)
        for nsid, method, handler in (
            ("com.atproto.server.createSession", "POST", self._create_session),
            ("com.atproto.server.getSession", "GET", self._get_session),
            ("com.atproto.repo.createRecord", "POST", self._create_record),
            ("com.atproto.repo.getRecord", "GET", self._get_record),
            ("com.atproto.repo.deleteRecord", "POST", self._delete_record),
        ):
            self.route(method, f"/xrpc/{re.escape(nsid)}", handler)

    def reset(self, handle: str = "acme.bsky.social", password: str = "app-pass") -> None:
        with self._lock:
            self.handle, self.password = handle, password
            self.posts: dict[str, Post] = {}
            self.deleted: list[Post] = []
            self.tokens: set[str] = set()
            self.token_dids: dict[str, str] = {}  # a session token -> the account (DID) it opens
            self.others: dict[str, tuple[str, str]] = {}  # another account: handle -> (DID, password)
            self.logins = 0
            self.requests.clear()
            self._faults.clear()
            self._cids = itertools.count(1)

    def rate_limit(self, seconds: int = 1, match: str = "createRecord") -> None:
        headers = {"RateLimit-Limit": "5000", "RateLimit-Remaining": "0",
                   "RateLimit-Reset": str(int(time.time()) + seconds), "RateLimit-Policy": "5000;w=3600"}
        body = {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}
        self.fail(Fault(match=match, response=Response(429, body, headers)))

    def add_account(self, handle: str, password: str, did: str) -> None:
        self.others[handle] = (did, password)

    def _account(self, identifier: Any) -> tuple[str, str, str] | None:
        """(handle, DID, password) of the account ``identifier`` (a handle or a DID) names."""
        for handle, (did, password) in {self.handle: (DID, self.password), **self.others}.items():
            if identifier in (handle, did):
                return handle, did, password
        return None

    def _did_of(self, request: Request) -> str:
        return self.token_dids.get(request.headers.get("authorization", "").removeprefix("Bearer "), DID)

    @property
    def posted(self) -> list[Post]:
        return list(self.posts.values())

    # -- handlers -------------------------------------------------------------

    @staticmethod
    def _error(status: int, error: str, message: str) -> Response:
        return Response(status, {"error": error, "message": message})

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        return header.startswith("Bearer ") and header.removeprefix("Bearer ") in self.tokens

    def _create_session(self, request: Request, _: re.Match[str]) -> Response:
        body = request.json() or {}
        account = self._account(body.get("identifier"))
        if account is None or body.get("password") != account[2]:
            return self._error(401, "AuthenticationRequired", "Invalid identifier or password")
        handle, did = account[0], account[1]
        with self._lock:
            self.logins += 1
            access = _jwt({"scope": "com.atproto.appPass", "sub": did, "exp": int(time.time()) + 7200,
                           "jti": str(self.logins)})
            self.tokens.add(access)
            self.token_dids[access] = did
        return Response(200, {"accessJwt": access, "refreshJwt": _jwt({"sub": did, "exp": int(time.time()) + 86400}),
                              "did": did, "handle": handle})

    def _get_session(self, request: Request, _: re.Match[str]) -> Response:
        if not self._authorised(request):
            return self._error(401, "AuthenticationRequired", "Authentication Required")
        did = self._did_of(request)
        account = self._account(did)
        return Response(200, {"did": did, "handle": account[0] if account else self.handle})

    def _get_record(self, request: Request, _: re.Match[str]) -> Response:
        repo, rkey = request.query.get("repo", [""])[0], request.query.get("rkey", [""])[0]
        account = self._account(repo)
        post = self.posts.get(rkey) if account is not None else None
        if post is not None and account is not None and not post.uri.startswith(f"at://{account[1]}/"):
            post = None
        if post is None:
            return self._error(400, "RecordNotFound", f"Could not locate record: at://{repo}/app.bsky.feed.post/{rkey}")
        return Response(200, {"uri": post.uri, "cid": post.cid, "value": post.record})

    def _create_record(self, request: Request, _: re.Match[str]) -> Response:
        if not self._authorised(request):
            return self._error(401, "AuthenticationRequired", "Authentication Required")
        body = request.json() or {}
        did = self._did_of(request)
        if self._account(body.get("repo")) != self._account(did) or body.get("collection") != "app.bsky.feed.post":
            return self._error(400, "InvalidRequest", "Invalid repo or collection")
        record = body.get("record") or {}
        problem = self._invalid(record)
        if problem:
            return self._error(400, "InvalidRequest", f"Invalid app.bsky.feed.post record: {problem}")
        with self._store_lock:
            rkey = body.get("rkey") or f"3l{next(self._cids):011d}"
            if not _TID.match(rkey):
                return self._error(400, "InvalidRequest", f"Invalid record key: {rkey}")
            if rkey in self.posts:
                return self._error(400, "InvalidRequest", f"Record already exists at key {rkey}")
            post = Post(rkey, f"at://{did}/app.bsky.feed.post/{rkey}", f"bafyreifake{next(self._cids):08d}", record)
            self.posts[rkey] = post
        return Response(200, {"uri": post.uri, "cid": post.cid, "validationStatus": "valid"})

    def _delete_record(self, request: Request, _: re.Match[str]) -> Response:
        if not self._authorised(request):
            return self._error(401, "AuthenticationRequired", "Authentication Required")
        body = request.json() or {}
        if self._account(body.get("repo")) != self._account(self._did_of(request)):
            return self._error(401, "AuthenticationRequired", "Invalid repo: not the authenticated account")
        if body.get("collection") != "app.bsky.feed.post" or not _TID.match(str(body.get("rkey", ""))):
            return self._error(400, "InvalidRequest", "Invalid collection or record key")
        with self._store_lock:
            post = self.posts.pop(str(body["rkey"]), None)
            if post is not None:
                self.deleted.append(post)
        return Response(200, {"commit": {"cid": f"bafyreicommit{next(self._cids):08d}", "rev": "3lfakerev"}})

    def _invalid(self, record: dict[str, Any]) -> str:
        text = record.get("text")
        if record.get("$type") != "app.bsky.feed.post" or not isinstance(text, str) or not record.get("createdAt"):
            return "Record must have the properties text and createdAt"
        if graphemes(text) > 300 or len(text.encode()) > 3000:
            return f"grapheme too big (maximum 300, got {graphemes(text)}) at $.record.text"
        return self._invalid_facets(record, text.encode()) or self._invalid_reply(record) or self._invalid_embed(record)

    @staticmethod
    def _invalid_facets(record: dict[str, Any], raw: bytes) -> str:
        for facet in record.get("facets") or []:
            start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
            if not 0 <= start < end <= len(raw):
                return f"facet byte range {start}-{end} outside the text"
            try:
                raw[start:end].decode()
            except UnicodeDecodeError:
                return f"facet byte range {start}-{end} cuts a character"
            for feature in facet.get("features") or []:
                if feature.get("$type") == "app.bsky.richtext.facet#link" and not feature.get("uri"):
                    return "link facet without uri"
        return ""

    def _invalid_reply(self, record: dict[str, Any]) -> str:
        reply = record.get("reply")
        if reply is None:
            return ""
        for part in ("root", "parent"):
            ref = reply.get(part) or {}
            post = next((p for p in self.posts.values() if p.uri == ref.get("uri")), None)
            if post is None or post.cid != ref.get("cid"):
                return f"reply {part} {ref} names no post of this repository"
        return ""

    @staticmethod
    def _invalid_embed(record: dict[str, Any]) -> str:
        embed = record.get("embed")
        if embed is None:
            return ""
        external = embed.get("external") or {}
        if embed.get("$type") != "app.bsky.embed.external" or not all(
            isinstance(external.get(k), str) for k in ("uri", "title", "description")
        ):
            return "embed must be app.bsky.embed.external with uri, title and description"
        return ""
