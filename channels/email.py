"""Email: one mail per update and recipient, one thread per incident, over SMTP.

Config (``[channels.NAME]`` with ``type = "email"``)::

    host = "smtp.example.com"
    port = 587                          # default: 587 for starttls, 465 for tls, 25 for none
    security = "starttls"               # "starttls" (default), "tls" (implicit TLS) or "none"
    username = "status@example.com"     # with password; leave both out for a relay without AUTH
    password = "${SMTP_PASSWORD}"
    from = "Acme status <status@example.com>"   # the display name is the subject's [prefix]
    to = ["customers@example.com", "ops@example.com"]
    reply_to = "support@example.com"   # optional

Each ``to`` address is a target with its own delivery record and its own mail
(``To:`` names that address alone, so recipients never see each other), so one
refused address fails only its own delivery. Follow-ups thread under the
incident's first mail (``In-Reply-To`` the latest, ``References`` the first and
the latest). Mail cannot be edited: a correction is a mail in the thread saying
what it corrects.

SMTP has no idempotency key. The ``Message-ID`` is made from the delivery (the
channel, the address, the incident, the update's number among those its readers
were told, ``view.key``, never the store's sequence, and its time), so a mail
sent twice carries one id, which many mail systems use to drop the second;
still, a connection lost after the message was handed over (``DATA``) leaves the
delivery ``unknown``, never resent by itself. Follow-ups name the stored
Message-IDs of the mails already sent, so a thread the previous version began
(it seeded ids with the sequence) goes on. Certificates are always verified;
AUTH over ``security = "none"`` is refused unless the server is on this machine.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from functools import cache
from typing import TYPE_CHECKING, Any

from broadcaster.channels._ids import is_message_id, stable_digits
from broadcaster.channels.base import Channel
from broadcaster.messages import email as fmt
from broadcaster.messages.egress import HTML_STRINGS
from broadcaster.messages.visibility import UpdateView

from broadcaster import lazy_re
from broadcaster.config import Secret, is_loopback
from broadcaster.delivery import CheckResult, Receipt, Rendered, SendLog, ThreadRef
from broadcaster.errors import ConfigError, DeliveryError, InputError

if TYPE_CHECKING:
    import asyncio

    import aiosmtplib

    from broadcaster.config import ChannelConfig

SECURITIES = {"starttls": 587, "tls": 465, "none": 25}  # security -> its usual port
# An address as mail servers take it: ASCII local part and domain, no quoting, no comments.
_ADDRESS = lazy_re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$")
# A name or an IPv4 address, or an IPv6 address as written bare: the host reaches the SMTP client as given, whose
# address lookup reads no brackets ("[::1]") and no port ("127.0.0.1:2525").
_HOST = lazy_re.compile(r"^[A-Za-z0-9.\-]+$")
# "=?" opens an RFC 2047 encoded word. With policy.default the mail library parses every value it is given as if
# read from the wire: an encoded word is decoded, CR LF included, and written raw, which starts a header of the
# writer's (a Reply-To of someone else's). It is refused in each value a header is made from.
_ENCODED_WORD_OPENER = "=?"


class EmailChannel(Channel):
    """Mail to a list of addresses through one SMTP server (see the module docstring for the config)."""

    type_name = "email"
    keyed_repeats = True
    required_options = ("host", "from", "to")
    optional_options = ("port", "security", "username", "password", "reply_to")
    secret_options = ("password",)
    media_type = "text/plain"  # Rendered.text is the text/plain part
    payload_media_type = HTML_STRINGS  # the payload holds the text/html part
    reports_requests = True
    # Mail servers limit connections per client (often 10 or fewer): a long list waits its turn.
    max_connections = 4

    def __init__(self, config: ChannelConfig) -> None:
        super().__init__(config)
        self._slots: asyncio.Semaphore | None = None

    # -- config ------------------------------------------------------------------------------

    @classmethod
    def validate_options(cls, options: Mapping[str, Any], where: str) -> None:
        host = options.get("host")
        if not isinstance(host, str) or not (_HOST.match(host) or _ipv6(host)):
            shown = host.rpartition("@")[2] if isinstance(host, str) else host  # "user:password@host": not its login
            raise ConfigError(
                f'{where}host: must be the SMTP server\'s name or address alone, e.g. "smtp.example.com", "127.0.0.1" '
                f'or "::1" (no brackets; the port goes in port = ..., a login in username and password), '
                f'not {shown!r}.')
        security = options.get("security", "starttls")
        if security not in SECURITIES:
            raise ConfigError(f'{where}security: must be "starttls", "tls" or "none", not {security!r}.')
        port = options.get("port", SECURITIES[str(security)])
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise ConfigError(f"{where}port: must be a port number such as 587, not {port!r}.")
        cls._validate_login(options, where, host, str(security))
        _sender(options.get("from"), f"{where}from")
        recipients = options.get("to")
        if not isinstance(recipients, list) or not recipients:
            raise ConfigError(f'{where}to: must be a list of addresses, e.g. to = ["status@example.com"].')
        folded = [_bare(value, f"{where}to").lower() for value in recipients]
        if len(set(folded)) != len(folded):
            raise ConfigError(f"{where}to: lists an address twice; each gets its own mail, so list it once.")
        if "reply_to" in options:
            _bare(options["reply_to"], f"{where}reply_to")

    @staticmethod
    def _validate_login(options: Mapping[str, Any], where: str, host: str, security: str) -> None:
        username, password = options.get("username"), options.get("password")
        if (username is None) != (password is None):
            raise ConfigError(f"{where}username, password: give both (AUTH) or neither (a relay that needs none).")
        if username is not None and (not isinstance(username, str) or not username.isprintable() or not username):
            raise ConfigError(f"{where}username: must be the account's user name, not {username!r}.")
        if password is not None and not isinstance(password, Secret):
            raise ConfigError(f'{where}password: must name an environment variable, e.g. password = "${{SMTP_PASSWORD}}".')
        if password is not None and security == "none" and not is_loopback(host):
            raise ConfigError(
                f'{where}security: "none" would send the password in clear text to {host}. Use "starttls" or '
                '"tls" (every public mail service offers one), or a relay on this machine.'
            )

    @classmethod
    def target_keys(cls, options: Mapping[str, Any]) -> list[tuple[tuple[str, ...], str]]:
        """One mailbox however it is addressed: ``ops+internal@example.com`` is delivered to ``ops@example.com``'s
        (subaddressing, RFC 5233, on most mail servers), so a staff table at one and a public one at the other mailed
        staff detail to the list behind both."""
        return [(("email", _mailbox(str(address))), str(address)) for address in options["to"]]

    @classmethod
    def delivery_keys(cls, options: Mapping[str, Any]) -> list[tuple[tuple[str, ...], str]]:
        # Two tables of the same readers at ops+pager@ and ops+archive@ are two folders an operator asked for.
        return [(("email", str(address).lower()), str(address)) for address in options["to"]]

    def targets(self) -> tuple[str, ...]:
        return tuple(str(address) for address in self.config.options["to"])

    def secret_values(self) -> list[str]:
        """The password, and as AUTH sends it (base64, alone and in the PLAIN blob), should a server echo it."""
        values = super().secret_values()
        username = str(self.config.options.get("username") or "")
        for password in list(values):
            values += [base64.b64encode(raw.encode()).decode() for raw in (password, f"\0{username}\0{password}")]
        return values

    @property
    def security(self) -> str:
        return str(self.config.options.get("security", "starttls"))

    @property
    def port(self) -> int:
        return int(self.config.options.get("port", SECURITIES[self.security]))

    @property
    def sender(self) -> Address:
        return _sender(self.config.options["from"], "from")

    @property
    def password_variable(self) -> str:
        password = self.config.options.get("password")
        return password.env_var if isinstance(password, Secret) else "the password's variable"

    # -- render --------------------------------------------------------------------------------

    def render(self, view: UpdateView) -> Rendered:
        prefix = self.sender.display_name
        subject = fmt.subject(view, prefix)
        return Rendered(
            text=fmt.preview(view, prefix),
            visibility=view.visibility,
            payload={
                "subject": subject,
                "text": fmt.text(view),
                "html": fmt.document(view, subject),
                # The reader's key, never the store's sequence: every other input of the Message-ID is known to
                # a recipient (the table's name is guessable), so a sequence hashed here would give away, to
                # whoever tries small numbers, how many updates were kept from them (as Bluesky's record key and
                # the webhook's webhook-id, made the same way).
                "key": stable_digits(view.incident.id, str(view.key), view.created_at.isoformat()),
            },
        )

    def egress_payloads(self, rendered: Rendered) -> list[tuple[str, str]]:
        """Everything but ``key``: it goes only into the Message-ID, hashed again, and a hash of 29 digits could
        hold a short numeric private value (a ticket) by chance, refusing the mail for nothing. The subject, the
        text and the HTML are guarded."""
        shown = {name: value for name, value in rendered.payload.items() if name != "key"}
        return super().egress_payloads(Rendered(rendered.text, rendered.visibility, rendered.parts, shown))

    # -- send -------------------------------------------------------------------------------------

    async def send(
        self, rendered: Rendered, *, target: str, thread: ThreadRef | None, log: SendLog | None = None
    ) -> Receipt:
        import asyncio
        log = log if log is not None else SendLog()
        if log.parts:  # handed over by an earlier attempt whose run ended before recording it sent
            return Receipt(log.parts[0])
        try:
            message = self.message(rendered, target, thread)
        except ValueError as exc:  # the email package refuses a header it cannot write safely
            raise self.fail(f"could not build the mail for {target}: {exc}. This is a bug in broadcaster's email "
                            "formatting; please report it.", retryable=False) from exc
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_connections)
        async with self._slots:
            await self._transfer(message, target, log)
        remote_id = str(message["Message-ID"])
        log.confirmed(remote_id)
        return Receipt(remote_id)

    def message(self, rendered: Rendered, target: str, thread: ThreadRef | None) -> EmailMessage:
        """The mail for one recipient; its Message-ID is the same for every attempt at this delivery.

        Raises a permanent ``DeliveryError`` when a header would hold a line break (``_set_header``).
        """
        payload = rendered.payload
        message = EmailMessage()
        ours = "This is a bug in broadcaster's email formatting; please report it."
        self._set_header(message, "From", self.sender, self._config_fix("from"))
        self._set_header(message, "To", target, self._config_fix("to"))
        if "reply_to" in self.config.options:
            self._set_header(message, "Reply-To", str(self.config.options["reply_to"]), self._config_fix("reply_to"))
        self._set_header(message, "Subject", str(payload["subject"]), ours)
        self._set_header(message, "Date", format_datetime(_now()), ours)
        domain = self.sender.domain
        own_id = f"<{stable_digits(self.name, target.lower(), str(payload['key']))}.broadcaster@{domain}>"
        self._set_header(message, "Message-ID", own_id, ours)
        if thread is not None:
            first, latest = _message_id(thread.first_remote_id, target), _message_id(thread.last_remote_id, target)
            stored = _stored_id_fix(target)
            self._set_header(message, "In-Reply-To", latest, stored)
            self._set_header(message, "References", first if first == latest else f"{first} {latest}", stored)
        # RFC 3834: vacation responders must not answer
        self._set_header(message, "Auto-Submitted", "auto-generated", ours)
        message.set_content(str(payload["text"]))
        message.add_alternative(str(payload["html"]), subtype="html")
        return message

    def _set_header(self, message: EmailMessage, name: str, value: Any, fix: str) -> None:
        """Set one header, refusing it if the mail library made a line break of its value.

        The checks of each source (config, stored ids, the subject) keep encoded words out; this is the net under
        them all, should one decode into CR or LF (``_ENCODED_WORD_OPENER``). ``fix`` says what to do then.
        """
        message[name] = value
        written = str(message[name])
        if "\r" in written or "\n" in written:
            raise self.fail(
                f"the mail's {name} header would hold a line break ({written!r}), which would add headers of "
                f"someone else's to the mail, so nothing was sent. {fix}", retryable=False)

    def _config_fix(self, key: str) -> str:
        return (f'Check {key} in [channels.{self.name}]: write it as plain text, without "=?", and run '
                "`broadcaster retry`.")

    async def _transfer(self, message: EmailMessage, target: str, log: SendLog) -> None:
        """Connect, log in, hand the mail over. Only a failure after DATA leaves its fate unknown."""
        import aiosmtplib

        smtp = self._smtp()
        try:
            await self._step("connect", smtp.connect(), target)
            await self._step("MAIL FROM", smtp.mail(self.sender.addr_spec), target)
            await self._step("RCPT TO", smtp.rcpt(target), target)
            log.sending()
            try:
                await smtp.data(message.as_bytes(policy=message.policy.clone(linesep="\r\n")))
            except aiosmtplib.SMTPResponseException as exc:
                raise self._response_error("DATA", exc, target) from exc
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                raise self.fail(
                    f"the connection to {self._server} was lost while handing over the mail to {target} "
                    f"({type(exc).__name__}), so it may or may not have been accepted. Ask the recipient, then "
                    "settle it with `broadcaster retry`.", retryable=True, outcome_unknown=True) from exc
        finally:
            await self._quit(smtp)

    async def _step(self, what: str, request: Any, target: str) -> Any:
        """One step before the mail is handed over: whatever fails, nothing was sent."""
        import ssl  # here, not at the top: a dry run never loads ssl

        import aiosmtplib

        try:
            return await request
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise self.fail(
                f"{self._server} rejected the username and password ({exc.code} {exc.message}). Check username "
                f"and {self.password_variable} (many services need an app password).", retryable=False) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise self._response_error(what, exc, target) from exc
        except aiosmtplib.SMTPRecipientsRefused as exc:
            first = exc.recipients[0]
            raise self._response_error(what, first, target) from exc
        except aiosmtplib.SMTPNotSupported as exc:
            raise self.fail(f"{self._server} cannot {what}: {exc.message}.", retryable=False) from exc
        except ssl.SSLCertVerificationError as exc:
            raise self.fail(
                f"{self._server}: its TLS certificate could not be verified ({exc.verify_message}). Check host (it "
                "must be the name on the certificate); a private CA belongs in the system's trust store.",
                retryable=False) from exc
        except aiosmtplib.SMTPException as exc:
            hint = " Nothing was sent; check host, port and security." if what == "connect" else ""
            raise self.fail(f"{self._server}: {what} failed ({exc.message}).{hint}", retryable=True) from exc
        except (OSError, TimeoutError) as exc:
            raise self.fail(
                f"{self._server}: {what} failed ({type(exc).__name__}: {exc}); nothing was sent. Check host, port "
                "and the network.", retryable=True) from exc

    def _response_error(self, what: str, exc: aiosmtplib.SMTPResponseException, target: str) -> DeliveryError:
        """SMTP's rule: 4xx is for now (retry), 5xx for good."""
        said = f"{exc.code} {' '.join(exc.message.split())}"
        if 400 <= exc.code < 500:
            return self.fail(f"{self._server} deferred {what} for {target} ({said}); trying again later may work.",
                             retryable=True)
        advice = {
            "RCPT TO": f"Check the address {target} in `to`.",
            "MAIL FROM": "Check `from`: the account may not send as that address.",
        }.get(what, "The server refused the mail itself (size, content or policy).")
        return self.fail(f"{self._server} refused {what} for {target} ({said}). {advice}", retryable=False)

    async def _quit(self, smtp: aiosmtplib.SMTP) -> None:
        import aiosmtplib

        if smtp.is_connected:
            try:
                await smtp.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                smtp.close()
        await _closed(smtp)

    def remote_id_from(self, reference: str, target: str) -> str:
        """A Message-ID, with or without its angle brackets (a mail client's "show original" has it)."""
        text = reference.strip().removeprefix("Message-ID:").removeprefix("Message-Id:").strip()
        text = text if text.startswith("<") else f"<{text}>"
        if not is_message_id(text):
            raise InputError(f"{reference!r} is not a Message-ID: give the mail's Message-ID header, <id@domain> "
                             '(one holding "=?" is refused: mail programs decode it into other text).')
        return text

    # -- check -------------------------------------------------------------------------------------

    async def check(self) -> list[CheckResult]:
        """Connect and log in, then ask the server about each address (MAIL, RCPT, RSET): nothing is sent."""
        smtp = self._smtp()
        try:
            try:
                await self._step("connect", smtp.connect(), "")
            except DeliveryError as exc:
                return [CheckResult(self.name, "", False, str(exc))]
            login = "logged in" if "username" in self.config.options else "connected (no AUTH configured)"
            results = [CheckResult(self.name, "", True, f"{login} at {self._server} ({self.security})")]
            for target in self.targets():
                results.append(await self._check_address(smtp, target))
            return results
        finally:
            await self._quit(smtp)

    async def _check_address(self, smtp: aiosmtplib.SMTP, target: str) -> CheckResult:
        try:
            await self._step("MAIL FROM", smtp.mail(self.sender.addr_spec), target)
            await self._step("RCPT TO", smtp.rcpt(target), target)
            await self._step("RSET", smtp.rset(), target)
        except DeliveryError as exc:
            await self._step("RSET", smtp.rset(), target)
            return CheckResult(self.name, target, False, str(exc))
        return CheckResult(self.name, target, True, "the server accepts mail for it", resolved=f"email:{target.lower()}")

    # -- client ---------------------------------------------------------------------------------------

    @property
    def _server(self) -> str:
        return f"the SMTP server {self.config.options['host']}:{self.port}"

    def _smtp(self) -> aiosmtplib.SMTP:
        try:
            password = self.secret("password") if "password" in self.config.options else None
        except ConfigError as exc:
            raise self.fail(str(exc), retryable=False) from exc
        return _smtp_class()(
            hostname=str(self.config.options["host"]),
            port=self.port,
            username=self.config.options.get("username"),
            password=password,
            use_tls=self.security == "tls",
            # False, not None: None would upgrade whenever the server offers it, ignoring the config.
            start_tls=self.security == "starttls",
            validate_certs=True,
            timeout=self.request_timeout,
        )


@cache
def _smtp_class() -> type[aiosmtplib.SMTP]:
    """aiosmtplib's client, remembering the sockets it closes (imported on first use)."""
    import aiosmtplib

    class SMTP(aiosmtplib.SMTP):
        closing: list[Any]

        def close(self) -> None:
            if self.transport is not None:
                self.__dict__.setdefault("closing", []).append(self.transport.get_extra_info("socket"))
            super().close()

    return SMTP


async def _closed(smtp: aiosmtplib.SMTP, wait: float = 2.0) -> None:
    """Wait (bounded) until the sockets ``smtp`` closed are closed: a TLS connection closes only after
    its TLS shutdown, and a loop that ends first leaves the socket open."""
    import asyncio
    sockets = [s for s in getattr(smtp, "closing", []) if s is not None]
    for _ in range(int(wait / 0.01)):
        if all(s.fileno() == -1 for s in sockets):
            return
        await asyncio.sleep(0.01)


def _sender(value: Any, where: str) -> Address:
    """``from`` as an Address: ``status@example.com`` or ``Acme status <status@example.com>``."""
    if isinstance(value, str) and value.isprintable():
        _refuse_encoded_word(value, where, "Acme status <status@example.com>")
        name, address = parseaddr(value)
        if address and _ADDRESS.match(address) and "<" not in name and ">" not in name:
            local, _, domain = address.rpartition("@")
            return Address(display_name=name, username=local, domain=domain)
    raise ConfigError(f'{where}: must be an address such as "Acme status <status@example.com>", not {value!r}.')


def _mailbox(address: str) -> str:
    """The mailbox an address reaches, for telling two tables' readers apart: without a ``+tag`` on its local part,
    in one case."""
    local, _, domain = address.rpartition("@")
    return f"{local.partition('+')[0] or local}@{domain}".lower()


def _bare(value: Any, where: str) -> str:
    if isinstance(value, str) and _ADDRESS.match(value):
        # "=?" is allowed in a local part, but the mail library refuses the header it decodes into: every mail to
        # the address would fail, after the post was stored.
        _refuse_encoded_word(value, where, "ops@example.com")
        return value
    raise ConfigError(f'{where}: {value!r} is not a plain address such as "ops@example.com".')


def _refuse_encoded_word(value: str, where: str, example: str) -> None:
    if _ENCODED_WORD_OPENER in value:
        raise ConfigError(
            f'{where}: {value!r} holds "=?", which mail programs decode as an RFC 2047 encoded word into other text '
            "(even line breaks, and headers of someone else's). Write it as plain text, without \"=?\", e.g. "
            f'"{example}"; accents and other scripts are fine as they are.')


def _ipv6(host: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(host).version == 6
    except ValueError:
        return False


def _message_id(remote_id: str, target: str) -> str:
    if not is_message_id(remote_id or ""):
        raise DeliveryError(
            f"the stored Message-ID {remote_id!r} of an earlier mail to {target} is not <id@domain> (or holds "
            '"=?", which mail programs decode into other text, even headers), so this mail cannot join the '
            f"incident's thread and was not sent. {_stored_id_fix(target)}", retryable=False)
    return remote_id


def _stored_id_fix(target: str) -> str:
    return (f"Was the state database edited by hand, or a store imported before Message-IDs were checked? Correct "
            f"the remote_id of the incident's earlier deliveries to {target} (in the database, or in a `store export` "
            "file imported into a new store) to the mails' Message-ID headers, then run `broadcaster retry`.")


def _now() -> datetime:
    return datetime.now(UTC)
