"""A Standard Webhooks receiver on loopback: it verifies every request with the ``standardwebhooks`` library.

``POST /hooks/status``: ``Webhook(secret).verify(body, headers)`` (the library
itself, not our code) or 401 with the library's complaint. Verified events are
kept in ``fake.events`` (each with the ``webhook-id`` it came with); an id seen
before is answered 200 and not kept again, as a receiver that drops repeats
does (``fake.repeats`` counts them). ``fake.answer`` (a status, 200 by default)
and the base's ``fail`` script other answers. ``required_headers`` are checked
too (401 when one is missing or differs).
"""

from __future__ import annotations

import re
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from tests.fakes.base import FakeServer, Request, Response

SECRET = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"


class FakeReceiver(FakeServer):
    def __init__(self, secret: str = SECRET, latency: float = 0.0) -> None:
        super().__init__(latency=latency)
        self.secret = secret
        self.answer = 200
        self.required_headers: dict[str, str] = {}
        self.events: list[dict[str, Any]] = []
        self.ids: list[str] = []
        self.repeats = 0
        self.route("POST", r"/hooks/status", self._receive)

    @property
    def hook_url(self) -> str:
        return f"{self.url}/hooks/status"

    def _receive(self, request: Request, _found: re.Match[str]) -> Response:
        try:
            event = Webhook(self.secret).verify(request.body, request.headers)
        except WebhookVerificationError as exc:
            return Response(401, {"error": str(exc)})
        for name, value in self.required_headers.items():
            if request.headers.get(name.lower()) != value:
                return Response(401, {"error": f"missing or wrong {name}"})
        if self.answer >= 300:
            return Response(self.answer, {"error": "scripted"})
        message_id = request.headers["webhook-id"]
        if message_id in self.ids:
            self.repeats += 1
        else:
            self.ids.append(message_id)
            self.events.append(event)
        return Response(self.answer, b"", content_type="text/plain")
