"""A fake Mastodon instance on loopback, for Mastodon.py.

Give ``fake.url`` as ``api_url`` (Mastodon.py's ``api_base_url``). Served, with
Mastodon's paths and shapes (docs: methods/statuses.md, entities/Instance.md):

* ``GET /api/v2/instance/``: ``configuration.statuses.max_characters`` and
  ``characters_reserved_per_url`` (``fake.url_characters``, 23); ``fake.v2 = False`` makes it
  404 as on a server older than 4.0, ``fake.instance_status`` answers it with that status instead.
* ``GET /api/v1/instance/``: the same ``configuration`` (Mastodon 3.4+).
* ``GET /api/v1/accounts/verify_credentials``: the account.
* ``POST /api/v1/statuses`` (form-encoded, as Mastodon.py sends it): ``status``,
  ``visibility``, ``in_reply_to_id``, and the ``Idempotency-Key`` header: a key
  seen before returns the status it made, as Mastodon does for an hour.
* ``PUT /api/v1/statuses/:id``: edits, keeping each earlier text in ``history``.
* ``GET /api/v1/statuses/:id``.
* ``DELETE /api/v1/statuses/:id``: removes the status (kept in ``fake.deleted``) and
  answers it with its source ``text``, as Mastodon does; a status not there is 404.

It checks what Mastodon checks: ``Authorization: Bearer <token>`` (else 401
``The access token is invalid``): ``fake.token`` is account 1001's, and ``fake.add_account(token, id, username)``
adds another account of the instance, each status being its poster's. As Mastodon's StatusesController
(``Status.where(account: current_account).find``), an edit or delete of another account's status is 404
``Record not found``, while a read or a reply to it is allowed (public statuses); a blank status (422 ``Text can't be blank``),
the length (422 ``Text character limit of N exceeded``: grapheme clusters with
each http(s) link counted 23), the visibility, an unknown or foreign
``in_reply_to_id`` or status id (404 ``Record not found``).

Posted statuses are kept in ``fake.statuses`` (id -> ``Status``), in order.
Faults: ``fake.rate_limit()`` queues a 429 with ``X-RateLimit-Reset`` (Mastodon
sends no Retry-After); ``fake.fail(Fault(...))`` for 5xx, hangs and resets.
"""

from __future__ import annotations

import html
import itertools
import re
import threading
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fakes.base import FakeServer, Fault, Request, Response

_LINK = re.compile(r"https?://[^\s]+")
# Mastodon's Account::MENTION_RE: (?<![=/[:word:]])@(USERNAME_RE)... Ruby's [[:word:]] is letters, marks, decimal
# digits and connectors: not Python's \w, which also holds other numbers ("²", "½", "①").
_HANDLE = re.compile(r"@([a-z0-9_]+(?:[.-]+[a-z0-9_]+)*)", re.IGNORECASE)


def mentions_in(text: str) -> list[str]:
    """The accounts Mastodon would notify in ``text``, as its mention pattern finds them."""
    def word(char: str) -> bool:
        category = unicodedata.category(char)
        return category[0] in "LM" or category in ("Nd", "Pc")

    found = []
    for match in _HANDLE.finditer(text):
        before = text[match.start() - 1] if match.start() else ""
        if not (before and (before in "=/" or word(before))):
            found.append(match.group(1))
    return found
VISIBILITIES = ("public", "unlisted", "private", "direct")


def graphemes(text: str) -> int:
    import icu

    iterator = icu.BreakIterator.createCharacterInstance(icu.Locale.getRoot())
    iterator.setText(text)
    return sum(1 for _ in iterator) if text else 0


def countable_length(text: str, url_characters: int = 23) -> int:
    """Mastodon's StatusLengthValidator: links count 23 (the instance's setting), the rest by grapheme cluster."""
    return graphemes(_LINK.sub("x" * url_characters, text))


@dataclass
class Status:
    id: str
    text: str
    visibility: str
    in_reply_to_id: str | None
    idempotency_key: str
    history: list[str] = field(default_factory=list)
    account_id: str = "1001"  # the account that posted it

    @property
    def mentions(self) -> list[str]:
        """The accounts Mastodon would notify: ``@name`` as its mention pattern finds them."""
        return mentions_in(self.text)


class FakeMastodon(FakeServer):
    """One Mastodon instance with one account and its access token."""

    def __init__(self, token: str = "mastodon-token", max_characters: int = 500, latency: float = 0.0) -> None:
        super().__init__(latency=latency)
        self._store_lock = threading.Lock()
        self.reset(token, max_characters)
        self.route("GET", r"/api/v2/instance/?", self._instance)
        self.route("GET", r"/api/v1/instance/?", self._instance_v1)
        self.route("GET", r"/api/v1/accounts/verify_credentials", self._verify)
        self.route("POST", r"/api/v1/statuses", self._post)
        self.route("PUT", r"/api/v1/statuses/(\d+)", self._edit)
        self.route("GET", r"/api/v1/statuses/(\d+)", self._get)
        self.route("DELETE", r"/api/v1/statuses/(\d+)", self._delete)

    def reset(self, token: str = "mastodon-token", max_characters: int = 500) -> None:
        with self._lock:
            self.token = token
            self.others: dict[str, dict[str, str]] = {}  # token -> another account of the instance
            self.write_only: set[str] = set()  # tokens without read:accounts (or profile): verify_credentials is 403
            self.max_characters = max_characters
            self.url_characters = 23
            self.v2 = True
            self.instance_status = 200
            self.statuses: dict[str, Status] = {}
            self.deleted: list[Status] = []
            self.requests.clear()
            self._faults.clear()
            self._ids = itertools.count(112233445566770001)

    def rate_limit(self, seconds: float = 1.0, match: str = "/api/v1/statuses") -> None:
        reset = (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat(timespec="microseconds")
        headers = {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
        self.fail(Fault(match=match, response=Response(429, {"error": "Too many requests"}, headers)))

    def add_account(self, token: str, account_id: str, username: str) -> None:
        """Another account of this instance, whose access token is ``token``."""
        self.others[token] = {"id": account_id, "username": username, "acct": username, "display_name": username}

    @property
    def posted(self) -> list[Status]:
        return list(self.statuses.values())

    # -- handlers -------------------------------------------------------------

    def _authorised(self, request: Request) -> bool:
        return self._token(request) == self.token or self._token(request) in self.others

    @staticmethod
    def _token(request: Request) -> str:
        header = request.headers.get("authorization", "")
        return header[len("Bearer "):] if header.startswith("Bearer ") else ""

    def _caller(self, request: Request) -> dict[str, str]:
        """The account the request's token is for."""
        return self.others.get(self._token(request)) or self._account()

    def _unauthorised(self) -> Response:
        return Response(401, {"error": "The access token is invalid"})

    def _statuses(self) -> dict[str, Any]:
        return {"max_characters": self.max_characters, "characters_reserved_per_url": self.url_characters}

    def _instance(self, request: Request, _: re.Match[str]) -> Response:
        if not self.v2:
            return Response(404, {"error": "Record not found"})
        if self.instance_status != 200:
            return Response(self.instance_status, {"error": "Something went wrong"})
        return Response(200, {"domain": "127.0.0.1", "version": "4.3.0", "configuration": {"statuses": self._statuses()}})

    def _instance_v1(self, request: Request, _: re.Match[str]) -> Response:
        return Response(200, {"uri": "127.0.0.1", "version": "3.5.3", "configuration": {"statuses": self._statuses()}})

    def _verify(self, request: Request, _: re.Match[str]) -> Response:
        if not self._authorised(request):
            return self._unauthorised()
        if self._token(request) in self.write_only:
            return Response(403, {"error": "This action is outside the authorized scopes"})
        return Response(200, self._caller(request))

    def _account(self, account_id: str = "1001") -> dict[str, Any]:
        other = next((a for a in self.others.values() if a["id"] == account_id), None)
        return other or {"id": "1001", "username": "acmestatus", "acct": "acmestatus", "display_name": "Acme status"}

    def _post(self, request: Request, _: re.Match[str]) -> Response:
        if not self._authorised(request):
            return self._unauthorised()
        if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
            return Response(422, {"error": "Validation failed: Text can't be blank"})
        form = request.form
        key = request.headers.get("idempotency-key", "")
        with self._store_lock:
            if key:
                for status in self.statuses.values():
                    # Mastodon keeps a key per account (``idempotency:status:<account id>:<key>``).
                    if status.idempotency_key == key and status.account_id == self._caller(request)["id"]:
                        return Response(200, self._entity(status))
            problem = self._invalid(form)
            if problem:
                return problem
            status = Status(
                id=str(next(self._ids)),
                text=str(form["status"]),
                visibility=str(form.get("visibility") or "public"),
                in_reply_to_id=str(form["in_reply_to_id"]) if form.get("in_reply_to_id") else None,
                idempotency_key=key,
                account_id=self._caller(request)["id"],
            )
            self.statuses[status.id] = status
        return Response(200, self._entity(status))

    def _invalid(self, form: dict[str, Any]) -> Response | None:
        text = form.get("status")
        if not isinstance(text, str) or not text.strip():
            return Response(422, {"error": "Validation failed: Text can't be blank"})
        if countable_length(text, self.url_characters) > self.max_characters:
            return Response(422, {"error": f"Validation failed: Text character limit of {self.max_characters} exceeded"})
        if form.get("visibility", "public") not in VISIBILITIES:
            return Response(422, {"error": "Validation failed: Visibility is not included in the list"})
        reply_to = form.get("in_reply_to_id")
        if reply_to and reply_to not in self.statuses:
            return Response(404, {"error": "Record not found"})
        return None

    def _edit(self, request: Request, found: re.Match[str]) -> Response:
        if not self._authorised(request):
            return self._unauthorised()
        with self._store_lock:
            status = self.statuses.get(found.group(1))
            if status is None or status.account_id != self._caller(request)["id"]:
                return Response(404, {"error": "Record not found"})
            text = request.form.get("status")
            if not isinstance(text, str) or not text.strip():
                return Response(422, {"error": "Validation failed: Text can't be blank"})
            if countable_length(text, self.url_characters) > self.max_characters:
                return Response(
                    422, {"error": f"Validation failed: Text character limit of {self.max_characters} exceeded"}
                )
            status.history.append(status.text)
            status.text = text
        return Response(200, self._entity(status))

    def _delete(self, request: Request, found: re.Match[str]) -> Response:
        if not self._authorised(request):
            return self._unauthorised()
        with self._store_lock:
            status = self.statuses.get(found.group(1))
            if status is None or status.account_id != self._caller(request)["id"]:
                return Response(404, {"error": "Record not found"})
            del self.statuses[status.id]
            self.deleted.append(status)
        return Response(200, {**self._entity(status), "text": status.text})

    def _get(self, request: Request, found: re.Match[str]) -> Response:
        status = self.statuses.get(found.group(1))
        if status is None:
            return Response(404, {"error": "Record not found"})
        return Response(200, self._entity(status))

    def _entity(self, status: Status) -> dict[str, Any]:
        return {
            "id": status.id,
            "uri": f"{self.url}/users/acmestatus/statuses/{status.id}",
            "url": f"{self.url}/@{self._account(status.account_id)['username']}/{status.id}",
            "created_at": "2026-11-25T15:00:00.000Z",
            "visibility": status.visibility,
            "in_reply_to_id": status.in_reply_to_id,
            "content": "<p>" + html.escape(status.text).replace("\n", "<br />") + "</p>",
            "edited_at": "2026-11-25T15:05:00.000Z" if status.history else None,
            "account": self._account(status.account_id),
        }
