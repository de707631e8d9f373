"""A real SMTP server on loopback (aiosmtpd) that keeps what it accepts, for the email channel.

``SmtpServer(security="starttls")`` serves STARTTLS with a certificate from a
throwaway CA (trustme): the client must verify it, so tests point
``SSL_CERT_FILE`` at ``server.ca_file``, as an operator's system trust store
would hold a real CA. AUTH is offered only over TLS and required
(``security="starttls"``), or offered after implicit TLS (``"tls"``); with
``"none"`` the server speaks plain SMTP with no AUTH, as a local relay.

What it accepts is kept as ``Mail`` (envelope, parsed message, whether TLS and
AUTH were in use). Refusals and faults, each used once unless kept:
``refuse_rcpt[address] = "550 5.1.1 ..."``, ``data_replies`` (a reply to DATA
instead of accepting), ``hold_data`` (accept and keep the mail, but answer only
after that many seconds: the client's answer is lost).
"""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from tests.ports import free_port  # aiosmtpd's Controller checks readiness by connecting: it cannot bind 0

USERNAME = "status@example.com"


@dataclass
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes
    tls: bool
    authenticated: bool

    @property
    def text(self) -> str:
        part = self.message.get_body(("plain",))
        return str(part.get_content()).replace("\r\n", "\n") if part is not None else ""

    @property
    def html(self) -> str:
        part = self.message.get_body(("html",))
        return str(part.get_content()) if part is not None else ""


class Markup(HTMLParser):
    """The tags, attributes and link targets of an HTML text, as a browser or mail client parses it."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: set[tuple[str, str]] = set()
        self.hrefs: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes |= {(tag, name) for name, _ in attrs}
        self.hrefs += [value or "" for name, value in attrs if tag == "a" and name == "href"]


@dataclass
class _Handler:
    password: str
    mails: list[Mail] = field(default_factory=list)
    refuse_rcpt: dict[str, str] = field(default_factory=dict)
    data_replies: list[str] = field(default_factory=list)
    hold_data: float = 0.0
    logins: list[tuple[str, str]] = field(default_factory=list)
    echo_credentials: bool = False

    async def handle_RCPT(self, server: SMTPServer, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        if self.data_replies:
            return self.data_replies.pop(0)
        raw = bytes(envelope.original_content or b"")
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        tls = server.transport is not None and server.transport.get_extra_info("sslcontext") is not None
        self.mails.append(Mail(str(envelope.mail_from), list(envelope.rcpt_tos), message, raw, tls,
                               bool(session.authenticated)))
        if self.hold_data:
            hold, self.hold_data = self.hold_data, 0.0
            await asyncio.sleep(hold)
        return "250 2.0.0 Ok: queued"

    def authenticate(self, server: SMTPServer, session: Session, envelope: Envelope, mechanism: str,
                     auth_data: Any) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            login, password = auth_data.login.decode(), auth_data.password.decode()
            self.logins.append((login, mechanism))
            if (login, password) == (USERNAME, self.password):
                return AuthResult(success=True, handled=False)
            if self.echo_credentials:  # a debugging server that repeats what it was sent, as given and encoded
                blob = base64.b64encode(f"\0{login}\0{password}".encode()).decode()
                said = f"{password} {base64.b64encode(password.encode()).decode()} {blob}"
                return AuthResult(success=False, handled=False, message=f"535 5.7.8 bad credentials {said}")
            return AuthResult(success=False, handled=False)
        return AuthResult(success=False, handled=False)


class SmtpServer:
    """aiosmtpd on 127.0.0.1 in a thread. Use as a context manager."""

    def __init__(self, folder: Path, *, security: str = "starttls", password: str = "smtp-pass-Secret-42") -> None:
        self.security = security
        self.handler = _Handler(password)
        self.ca = trustme.CA()
        self.ca_file = folder / "smtp-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        self.port = free_port()
        self._controller = self._make_controller()

    def _server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        return context

    def _make_controller(self) -> Controller:
        common: dict[str, Any] = {"hostname": "127.0.0.1", "port": self.port, "authenticator": self.handler.authenticate}
        if self.security == "starttls":
            return Controller(self.handler, tls_context=self._server_context(), require_starttls=True,
                              auth_required=True, **common)
        if self.security == "tls":
            return Controller(self.handler, ssl_context=self._server_context(), auth_require_tls=False, **common)
        return Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()

    @property
    def mails(self) -> list[Mail]:
        return self.handler.mails

    def to(self, address: str) -> list[Mail]:
        return [m for m in self.mails if address in m.rcpt_tos]
