"""Microsoft Teams: a Workflows webhook posting each update as an Adaptive Card.

Config (``[channels.NAME]`` with ``type = "teams"``)::

    webhook_url = "${TEAMS_WEBHOOK_URL}"   # the trigger URL of a Workflows flow; secret

Make the flow in Teams: the channel's ... > Workflows > "Post to a channel when
a webhook request is received", then copy its URL. The retired Office 365
connectors (``…webhook.office.com/webhookb2/…``) are refused: Microsoft turned
them off.

What Teams allows shapes the rest. The trigger answers 202 Accepted and runs
the flow later, with no message id: follow-ups cannot be threaded, a post
cannot be edited (``amend`` posts a correction card), and there is no
idempotency key, so a post whose answer was lost is ``unknown``, never sent
again blindly. The remote id is the flow run's id when the trigger names it
(``x-ms-workflow-run-id``: the flow's run history shows what became of it).

``channels check`` cannot ask the flow anything without running it: a trigger
made without a method takes a GET as a run too, and a run with a bad body fails
in the flow's history (and may mail its owner). So it checks what it can without
a request: the URL's form, that the host answers a TLS handshake with a valid
certificate (DNS, network, proxy, TLS; nothing is sent over it), and whether the
URL is an old ``*.logic.azure.com`` one, which Power Automate stopped serving
after 2025-11-30 (learn.microsoft.com, Power Automate "Changes to HTTP or Teams
Webhook trigger flows"). Whether the signature is current and the flow on is
known only when a card goes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from broadcaster.channels import _proxy
from broadcaster.channels._http import (
    MASK,
    Answer,
    HttpChannel,
    HttpPoster,
    origin_replaced,
    receiver_key,
    split_secret_url,
)
from broadcaster.messages import teams as fmt
from broadcaster.messages.preview import preview
from broadcaster.messages.visibility import UpdateView

from broadcaster.config import Secret
from broadcaster.delivery import CheckResult, Receipt, Rendered, SendLog, ThreadRef
from broadcaster.errors import ConfigError, DeliveryError

_OLD_TRIGGER = (
    "It is an old Power Automate trigger address (*.logic.azure.com), which Power Automate stopped serving after "
    "2025-11-30. Copy the flow's URL again from its trigger in Workflows (…environment.api.powerplatform.com…)"
)
# Office 365 connector URLs, retired by Microsoft: a post there goes nowhere.
_RETIRED_HOSTS = ("webhook.office.com", "outlook.office.com", "outlook.office365.com")
_URL_FORM = "https://…/workflows/<id>/triggers/manual/paths/invoke?api-version=…&sp=…&sv=…&sig=…"


class TeamsChannel(HttpChannel):
    """One Teams channel, posted to by a Workflows flow's webhook trigger."""

    type_name = "teams"
    required_options = ("webhook_url",)
    secret_options = ("webhook_url",)  # its sig= signs every request: anyone with the URL can post
    default_api_url = ""  # the trigger URL is the whole address; api_url replaces its scheme://host
    reports_requests = True

    @classmethod
    def validate_options(cls, options: Mapping[str, Any], where: str) -> None:
        url = options.get("webhook_url")
        if isinstance(url, Secret) and not url.missing:
            _split_signature(url.reveal(), f"{where}webhook_url: ${{{url.env_var}}}")

    @classmethod
    def target_keys(cls, options: Mapping[str, Any]) -> list[tuple[tuple[str, ...], str]]:
        def flow(url: str) -> tuple[str, ...]:
            _split_signature(url, "")
            host, _port, path, _query = receiver_key(url)  # the query is the signature: one flow, any signature
            return (host, path)

        return cls.url_key(options, "webhook_url", "teams", flow)

    @classmethod
    def secret_parts(cls, value: str) -> list[str]:
        """Of a secret value, the part that is the credential alone: a trigger URL's ``sig=``, which an error may
        quote, and which the same flow written another way holds too (with ":443", as Power Automate shows it).
        ``Config.named_secrets`` asks here, so an update holding it is refused."""
        parts = split_secret_url(value)
        return [v for k, v in parse_qsl(parts.query) if k == "sig" and v] if parts is not None else []

    def render(self, view: UpdateView) -> Rendered:
        return Rendered(text=preview(view, "Teams"), visibility=view.visibility, payload={"body": fmt.message(view)})

    async def send(
        self, rendered: Rendered, *, target: str, thread: ThreadRef | None, log: SendLog | None = None
    ) -> Receipt:
        """POST the card; every update stands alone (a Workflows post has no id to thread under)."""
        log = log if log is not None else SendLog()
        if log.parts:
            return Receipt(log.parts[0])
        poster = self._client()
        body = json.dumps(rendered.payload["body"], ensure_ascii=False).encode()
        answer = await poster.post(poster.shown_url, body, log)
        if answer.status not in (200, 201, 202):
            raise poster.common_error(answer, may_post=True) or self.fail(self._refusal(answer), retryable=False)
        run = answer.headers.get("x-ms-workflow-run-id", "")
        remote_id = f"run:{run}" if run else "accepted"
        log.confirmed(remote_id)
        note = "" if run else "Teams accepted the card without a run id; the flow posts it on its side"
        return Receipt(remote_id, notes=(note,) if note else ())

    async def check(self) -> list[CheckResult]:
        """The URL's form, a TLS handshake with its host (no request sent), and an old host named; posts nothing."""
        try:
            poster = self._client()
            old = _old_power_automate_host(self.revealed("webhook_url"))
        except (ConfigError, DeliveryError) as exc:
            return [CheckResult(self.name, "", False, self.redact(str(exc)))]
        try:
            host = await self._handshake(poster.real_url)
        except (ConfigError, DeliveryError) as exc:
            # An old address that no longer answers is told as old first: that is the fix, not the network.
            said = self.redact(str(exc))
            return [CheckResult(self.name, "", False, f"{_OLD_TRIGGER} ({said})" if old else said)]
        if old:
            return [CheckResult(self.name, "", False, f"{host} answers, but {_OLD_TRIGGER[0].lower()}{_OLD_TRIGGER[1:]}"
                                "; an Azure Logic App of your own may keep this one.")]
        return [CheckResult(
            self.name, "", True,
            f"the URL has a Workflows trigger's form and {host} answers a TLS handshake; whether the flow takes "
            "cards is known only by posting one, which check never does "
            "(send one with `broadcaster post --only " + self.name + "`)",
        )]

    async def _handshake(self, url: str) -> str:
        """Connect to the URL's host (TLS, certificate verified, when https) and hang up before any request."""
        import asyncio
        import ssl

        parts = urlsplit(url)
        host, tls = parts.hostname or "", parts.scheme == "https"
        port = parts.port or (443 if tls else 80)
        try:
            proxy = _proxy.proxy_for(url)
        except ConfigError as exc:
            raise self.fail(f"Teams: {exc}.", retryable=False) from None
        if proxy is not None:  # through the environment's proxy, as a post goes: a tunnel, then the handshake
            refused = _proxy.clear_text_refusal(proxy, url)
            if refused is not None:  # a post is refused so: the check says it
                raise self.fail(f"Teams: {refused}.", retryable=False)
            return await self._handshake_through(proxy, host, port, tls, parts.scheme)
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port, ssl=ssl.create_default_context() if tls else None),
                self.request_timeout)
        except (OSError, TimeoutError) as exc:
            raise self.fail(f"Teams: cannot reach {host}:{port} ({type(exc).__name__}: {exc}). Check the network, "
                            "a proxy, and the URL's host.", retryable=True) from exc
        await _hang_up(writer)
        return host

    async def _handshake_through(self, proxy: str, host: str, port: int, tls: bool, scheme: str) -> str:
        import asyncio
        import ssl

        try:
            _, writer = await _proxy.open_tunnel(proxy, host, port, scheme, self.request_timeout)
        except ConnectionError as exc:
            raise self.fail(f"Teams: {exc}.", retryable=True) from None
        try:
            if tls:
                await asyncio.wait_for(writer.start_tls(ssl.create_default_context(), server_hostname=host),
                                       self.request_timeout)
        except (OSError, TimeoutError) as exc:
            raise self.fail(f"Teams: cannot reach {host}:{port} through the proxy {_proxy.shown(proxy, scheme)} "
                            f"({type(exc).__name__}: {exc}). Check the proxy, a TLS-inspecting proxy's authority in "
                            "SSL_CERT_FILE, and the URL's host.", retryable=True) from exc
        finally:
            await _hang_up(writer)
        return host

    def make_poster(self) -> HttpPoster:
        real, shown = _split_signature(self.revealed("webhook_url"), self.source("webhook_url"))
        api_url = self.config.api_url
        return HttpPoster(self, "Teams", real_url=origin_replaced(real, api_url), shown_url=origin_replaced(shown, api_url))

    def _refusal(self, answer: Answer) -> str:
        error = answer.field("error")
        code = str(error.get("code", "")) if isinstance(error, dict) else ""
        source = self.source("webhook_url")
        if answer.status in (401, 403):
            return (
                f"Teams refused the webhook's signature (HTTP {answer.status} {code}). {source} holds an old or "
                "mistyped URL: copy it again from the flow's trigger in Workflows."
            )
        if answer.status == 404:
            return (
                f"Teams cannot find the flow (HTTP 404 {code}): it was deleted or turned off. Turn it on in "
                f"Workflows, or make a new one and put its URL in {source}."
            )
        if answer.status == 400:
            return (
                f"Teams refused the card (HTTP 400 {code}: {answer.excerpt()}). The flow's trigger may expect "
                "another body, or this is a bug in broadcaster's Teams card: see it with `broadcaster preview`."
            )
        return f"Teams refused the request (HTTP {answer.status}: {answer.excerpt()})."


def _old_power_automate_host(url: str) -> bool:
    parts = urlsplit(url)
    return (parts.hostname or "").lower().endswith(".logic.azure.com") and "/powerautomate/" not in parts.path


def _split_signature(url: str, source: str) -> tuple[str, str]:
    """(the URL, the URL with ``sig`` masked); ConfigError naming ``source``, never the URL."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - read for its ValueError: a port that is no number, or out of range
    except ValueError:
        raise ConfigError(f"{source} is not a URL (its host or port cannot be read). Copy it again from the flow's "
                          "\"When a Teams webhook request is received\" trigger.") from None
    host = (parts.hostname or "").lower()
    if host in _RETIRED_HOSTS or host.endswith(".webhook.office.com"):
        raise ConfigError(
            f"{source} holds an Office 365 connector URL; Microsoft retired those. In Teams, open the channel's "
            "... > Workflows > \"Post to a channel when a webhook request is received\" and use that flow's URL."
        )
    query = parse_qsl(parts.query, keep_blank_values=True)
    if parts.scheme != "https" or not host or not any(k == "sig" and v for k, v in query):
        raise ConfigError(
            f"{source} does not hold a Workflows trigger URL ({_URL_FORM}). Copy it from the flow's "
            "\"When a Teams webhook request is received\" trigger."
        )
    masked = urlencode([(k, MASK if k == "sig" else v) for k, v in query], safe="*")
    return url, urlunsplit((parts.scheme, parts.netloc, parts.path, masked, ""))


async def _hang_up(writer: Any) -> None:
    """Close a connection the check made, before any request."""
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass
