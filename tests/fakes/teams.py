"""A fake Teams Workflows trigger on loopback ("Post to a channel when a webhook request is received").

Route: ``POST [/powerautomate/automations/direct]/workflows/{id}/triggers/manual/paths/invoke?api-version=…&sp=…&sv=…&sig=…``,
as Power Automate serves it (the prefix on its hosts since 2025, ``…environment.api.powerplatform.com``). A channel reaches it with ``api_url = fake.url``,
which replaces the trigger URL's ``scheme://host`` (``fake.webhook_url`` is the
URL as Teams shows it).

It checks what the trigger and the flow's "Post card" step check: the ``sig``
(missing -> 401 ``DirectApiAuthorizationRequired``, wrong -> 401
``DirectApiInvalidAuthorizationSignature``), the workflow id (404
``WorkflowNotFound``; ``enabled = False`` -> 404 ``WorkflowTriggerIsNotEnabled``),
a JSON body (400 ``InvalidRequestContent``), the envelope (``type: "message"``,
one attachment of ``application/vnd.microsoft.card.adaptive`` whose content is
an ``AdaptiveCard`` with only the elements this product sends),
and the size Teams posts (28 KB, else 413 ``MessageSizeTooBig``). It answers 202
with an ``x-ms-workflow-run-id`` and no body.

Like the real trigger, it accepts a card of any version and posts it later: a card
above ``DISPLAYED_VERSION`` (1.4) is accepted, yet Teams shows "We're sorry, this card
couldn't be displayed" for it when a Workflows flow posts it (microsoft/AdaptiveCards#8965,
open; MicrosoftDocs/msteams-docs#9801, reproduced by Microsoft; Skitionek/notify-microsoft-teams#107).
Those cards are kept in ``fake.undisplayed`` too.

``fake.cards`` holds each card posted. ``markdown_texts(card)`` lists the texts
Teams reads as markdown (TextBlock text, FactSet titles and values);
``plain_texts(card)`` those it shows verbatim (TextRuns).
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from tests.fakes.base import FakeServer, Fault, Request, Response

MAX_BYTES = 28 * 1024
DISPLAYED_VERSION = "1.4"  # the highest card version a Workflows flow's post shows (see above)
ELEMENTS = {"TextBlock", "RichTextBlock", "FactSet"}


class TeamsError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.response = Response(status, {"error": {"code": code, "message": message}})


class FakeTeams(FakeServer):
    def __init__(self, workflow: str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0", sig: str = "sIg-" + "x" * 39,
                 latency: float = 0.0) -> None:
        super().__init__(latency=latency)
        self.workflow, self.sig, self.enabled = workflow, sig, True
        self.cards: list[dict[str, Any]] = []
        self.undisplayed: list[dict[str, Any]] = []
        self._runs = itertools.count(1)
        self.route("POST", r"(?:/powerautomate/automations/direct)?/workflows/(?P<id>[^/]+)/triggers/manual/paths/invoke",
                   self._invoke)

    @property
    def webhook_url(self) -> str:
        return (f"https://default1a2b3c4d5e6f.0a.environment.api.powerplatform.com:443/powerautomate/automations/"
                f"direct/workflows/{self.workflow}/triggers/manual/paths/invoke?api-version=1"
                f"&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={self.sig}")

    @property
    def old_webhook_url(self) -> str:
        """The form Power Automate gave before moving its triggers off logic.azure.com (2025-11-30)."""
        return (f"https://prod-12.westeurope.logic.azure.com:443/workflows/{self.workflow}/triggers/manual/paths/"
                f"invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={self.sig}")

    def rate_limit(self, retry_after: int = 7) -> Fault:
        fault = Fault(response=Response(429, {"error": {"code": "WorkflowRequestsThrottled", "message": "Throttled"}},
                                        headers={"Retry-After": str(retry_after)}))
        self.fail(fault)
        return fault

    def _invoke(self, request: Request, found: re.Match[str]) -> Response:
        try:
            self._authorise(request, found.group("id"))
            card = envelope_card(request)
        except TeamsError as exc:
            return exc.response
        self.cards.append(card)
        if _version(card) > _version({"version": DISPLAYED_VERSION}):
            self.undisplayed.append(card)
        run = f"08585{next(self._runs):012d}CU01"
        return Response(202, b"", headers={"x-ms-workflow-run-id": run}, content_type="text/plain")

    def _authorise(self, request: Request, workflow: str) -> None:
        sig = (request.query.get("sig") or [""])[0]
        if not sig:
            raise TeamsError(401, "DirectApiAuthorizationRequired", "The request must be authenticated.")
        if sig != self.sig or not request.query.get("api-version"):
            raise TeamsError(401, "DirectApiInvalidAuthorizationSignature", "The provided signature is not valid.")
        if workflow != self.workflow:
            raise TeamsError(404, "WorkflowNotFound", f"The workflow '{workflow}' could not be found.")
        if not self.enabled:
            raise TeamsError(404, "WorkflowTriggerIsNotEnabled", "The workflow is disabled.")


def envelope_card(request: Request) -> dict[str, Any]:
    if len(request.body) > MAX_BYTES:
        raise TeamsError(413, "MessageSizeTooBig", "Message size is over 28 KB.")
    try:
        body = request.json()
    except ValueError as exc:
        raise TeamsError(400, "InvalidRequestContent", "The request content is not valid JSON.") from exc
    attachments = body.get("attachments") if isinstance(body, dict) else None
    if not isinstance(body, dict) or body.get("type") != "message" or not isinstance(attachments, list) \
            or len(attachments) != 1:
        raise TeamsError(400, "InvalidRequestContent", "Expected a message with one attachment.")
    attachment = attachments[0]
    card = attachment.get("content")
    if attachment.get("contentType") != "application/vnd.microsoft.card.adaptive" or not isinstance(card, dict):
        raise TeamsError(400, "InvalidRequestContent", "The attachment is not an Adaptive Card.")
    if card.get("type") != "AdaptiveCard" or not _version(card) or not isinstance(card.get("body"), list):
        raise TeamsError(400, "InvalidRequestContent", "Not an AdaptiveCard with a version and a body.")
    for element in card["body"]:
        if element.get("type") not in ELEMENTS:
            raise TeamsError(400, "InvalidRequestContent", f"Unknown element {element.get('type')!r}.")
    for action in card.get("actions", []):
        if action.get("type") != "Action.OpenUrl" or not str(action.get("url", "")).startswith("https://"):
            raise TeamsError(400, "InvalidRequestContent", "Only Action.OpenUrl with an https url.")
    return card


def _version(card: dict[str, Any]) -> tuple[int, ...]:
    found = re.fullmatch(r"(\d+)\.(\d+)", str(card.get("version", "")))
    return (int(found.group(1)), int(found.group(2))) if found else ()


def markdown_texts(card: dict[str, Any]) -> list[str]:
    texts = [e["text"] for e in card["body"] if e["type"] == "TextBlock"]
    for element in card["body"]:
        if element["type"] == "FactSet":
            texts += [str(f[k]) for f in element["facts"] for k in ("title", "value")]
    return texts


def plain_texts(card: dict[str, Any]) -> list[str]:
    return [i["text"] for e in card["body"] if e["type"] == "RichTextBlock" for i in e["inlines"]]
