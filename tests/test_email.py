"""The email channel end to end: aiosmtplib against a real SMTP server (aiosmtpd) on loopback.

TLS is real too: the server's certificate comes from a throwaway CA that the
tests put in ``SSL_CERT_FILE``, the client verifies it as it would a public one.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Coroutine, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from broadcaster.channels.email import EmailChannel
from broadcaster.messages.model import Status
from broadcaster.messages.visibility import UpdateView

from broadcaster.config import ChannelConfig, Secret
from broadcaster.config_loader import parse
from broadcaster.delivery import CheckResult, Receipt, Rendered, SendLog, ThreadRef
from broadcaster.errors import ConfigError, DeliveryError, InputError
from tests.channel_updates import T0, URL, incident, update, view
from tests.fakes.smtp import USERNAME, Markup, SmtpServer
from tests.ports import free_port

PASSWORD = "smtp-pass-Secret-42"
TO = ["customers@example.net", "ops@example.com"]

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, security: str) -> Iterator[SmtpServer]:
    with SmtpServer(tmp_path, security=security, password=PASSWORD) as started:
        monkeypatch.setenv("SSL_CERT_FILE", str(started.ca_file))
        yield started


@pytest.fixture
def smtp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    yield from start(tmp_path, monkeypatch, "starttls")


def make_channel(server: SmtpServer, password: str | None = PASSWORD, **options: Any) -> EmailChannel:
    opts: dict[str, Any] = {
        "host": "127.0.0.1", "port": server.port, "security": server.security, "from": "Acme status <status@example.com>",
        "to": TO, "username": USERNAME, "password": Secret("SMTP_PASSWORD", password), **options,
    }
    channel = EmailChannel(ChannelConfig("mail", "email", options={k: v for k, v in opts.items() if v is not None}))
    channel.request_timeout = 2.0
    return channel








async def deliver(channel: EmailChannel, rendered: Rendered, target: str, thread: ThreadRef | None = None,
                  log: SendLog | None = None) -> Receipt:
    try:
        return await channel.send(rendered, target=target, thread=thread, log=log)
    finally:
        await channel.aclose()


def send_once(server: SmtpServer, v: UpdateView, target: str = TO[0], thread: ThreadRef | None = None,
              log: SendLog | None = None, **options: Any) -> Receipt:
    channel = make_channel(server, **options)
    return run(deliver(channel, channel.render(v), target, thread, log))


def send_error(server: SmtpServer, target: str = TO[0], **options: Any) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        send_once(server, view(update()), target, **options)
    return caught.value


# -- the happy path --------------------------------------------------------------------------


def test_an_update_is_one_verified_tls_authenticated_multipart_mail(smtp: SmtpServer) -> None:
    receipt = send_once(smtp, view(update(next_update_by=T0 + timedelta(hours=1))))

    [mail] = smtp.mails
    assert mail.tls and mail.authenticated and smtp.handler.logins[0][0] == USERNAME
    assert (mail.mail_from, mail.rcpt_tos) == ("status@example.com", [TO[0]])
    message = mail.message
    assert message["To"] == TO[0]  # the other recipients are not disclosed
    assert message["From"] == "Acme status <status@example.com>"
    assert message["Subject"] == "[Acme status] Investigating: API errors"
    assert message["Message-ID"] == receipt.remote_id and receipt.remote_id.endswith("@example.com>")
    assert message["Auto-Submitted"] == "auto-generated" and message.get_content_type() == "multipart/alternative"
    assert "We are looking into it." in mail.text and "Next update by: 2024-05-01 13:00 UTC" in mail.text
    assert "<p>We are looking into it.</p>" in mail.html and f'href="{URL}"' in mail.html


def test_each_address_is_a_target_of_its_own(smtp: SmtpServer) -> None:
    channel = make_channel(smtp)
    assert channel.targets() == tuple(TO)
    first = send_once(smtp, view(update()), TO[0])
    second = send_once(smtp, view(update()), TO[1])
    assert [m.rcpt_tos for m in smtp.mails] == [[TO[0]], [TO[1]]]
    assert first.remote_id != second.remote_id


def test_a_delivery_keeps_its_message_id_across_attempts(smtp: SmtpServer) -> None:
    """Mail systems drop a second mail with a Message-ID they have seen: a repeat carries the same one."""
    again = [send_once(smtp, view(update())).remote_id for _ in range(2)]
    other = send_once(smtp, view(update(2, message="Later."))).remote_id
    assert again[0] == again[1] != other


def test_a_log_with_a_confirmed_mail_sends_nothing(smtp: SmtpServer) -> None:
    receipt = send_once(smtp, view(update()), log=SendLog(parts=["<1.broadcaster@example.com>"]))
    assert receipt.remote_id == "<1.broadcaster@example.com>" and smtp.mails == []


def test_follow_ups_thread_under_the_first_mail(smtp: SmtpServer) -> None:
    receipts: list[Receipt] = []
    for upd in (update(1), update(2, Status.IDENTIFIED, "Found it."), update(3, Status.RESOLVED, "Fixed.")):
        thread = ThreadRef(receipts[0].remote_id, receipts[-1].remote_id) if receipts else None
        receipts.append(send_once(smtp, view(upd), thread=thread))

    first, second, third = (m.message for m in smtp.mails)
    assert "In-Reply-To" not in first and "References" not in first
    assert second["In-Reply-To"] == receipts[0].remote_id and second["References"] == receipts[0].remote_id
    assert third["In-Reply-To"] == receipts[1].remote_id
    assert third["References"] == f"{receipts[0].remote_id} {receipts[1].remote_id}"
    assert third["Subject"] == "[Acme status] Resolved: API errors"


def test_reply_to_and_a_from_without_a_name(smtp: SmtpServer) -> None:
    options: dict[str, Any] = {"from": "status@example.com", "reply_to": "support@example.com"}
    send_once(smtp, view(update()), **options)
    [mail] = smtp.mails
    assert mail.message["Reply-To"] == "support@example.com"
    assert mail.message["Subject"] == "Investigating: API errors"


@pytest.mark.parametrize("security", ["tls", "none"])
def test_implicit_tls_and_a_plain_local_relay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, security: str) -> None:
    for server in start(tmp_path, monkeypatch, security):
        if security == "tls":
            send_once(server, view(update()))
        else:
            channel = make_channel(server, username=None)
            channel.config.options.pop("password")  # type: ignore[attr-defined]
            run(deliver(channel, channel.render(view(update())), TO[0]))
        [mail] = server.mails
        assert mail.tls == (security == "tls") and mail.authenticated == (security == "tls")


def test_an_untrusted_certificate_is_refused_for_good(smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "empty.pem"))
    (tmp_path / "empty.pem").write_text("")
    error = send_error(smtp)
    assert not error.retryable and "certificate" in str(error) and smtp.mails == []


# -- refusals and faults ---------------------------------------------------------------------------


def test_a_refused_address_fails_only_its_own_delivery(smtp: SmtpServer) -> None:
    smtp.handler.refuse_rcpt[TO[0]] = "550 5.1.1 <customers@example.net>: mailbox unavailable"
    error = send_error(smtp, TO[0])
    assert not error.retryable and "550" in str(error) and TO[0] in str(error)
    send_once(smtp, view(update()), TO[1])
    assert [m.rcpt_tos for m in smtp.mails] == [[TO[1]]]


@pytest.mark.parametrize(("where", "reply", "retryable"), [
    ("rcpt", "451 4.3.0 Try again later", True),
    ("data", "451 4.3.0 Try again later", True),
    ("data", "554 5.7.1 Message rejected as spam", False),
], ids=["rcpt-4xx", "data-4xx", "data-5xx"])
def test_4xx_is_for_now_and_5xx_for_good(smtp: SmtpServer, where: str, reply: str, retryable: bool) -> None:
    if where == "rcpt":
        smtp.handler.refuse_rcpt[TO[0]] = reply
    else:
        smtp.handler.data_replies.append(reply)
    error = send_error(smtp)
    assert error.retryable == retryable and not error.outcome_unknown and reply.split()[0] in str(error)
    assert smtp.mails == []


def test_a_wrong_password_is_permanent_names_the_variable_and_never_the_password(smtp: SmtpServer) -> None:
    error = send_error(smtp, password="wrong-Password-999")
    assert not error.retryable and "SMTP_PASSWORD" in str(error) and "535" in str(error)
    assert "wrong-Password-999" not in str(error) and smtp.mails == []


def test_a_server_echoing_the_password_in_any_encoding_never_shows_it(smtp: SmtpServer) -> None:
    """Found by attack: the password in base64 (as AUTH sends it) passed the redaction of its plain forms."""
    smtp.handler.echo_credentials = True
    wrong = "wrong-Password-999"
    error = send_error(smtp, password=wrong)
    shown = str(error)
    encoded = [base64.b64encode(raw.encode()).decode() for raw in (wrong, f"\0{USERNAME}\0{wrong}")]
    assert "535" in shown and wrong not in shown and not any(v in shown for v in encoded) and "***" in shown
    assert {m for _, m in smtp.handler.logins} == {"PLAIN", "LOGIN"}  # both tried, both echoed, neither shown


def test_a_title_with_a_line_separator_cannot_add_a_header(smtp: SmtpServer) -> None:
    send_once(smtp, view(update(), inc=incident("API errors\u2028Bcc: victim@example.org")))
    [mail] = smtp.mails
    assert mail.message["Subject"] == "[Acme status] Investigating: API errors Bcc: victim@example.org"
    assert mail.message["Bcc"] is None and mail.rcpt_tos == [TO[0]]


def test_an_unset_password_variable_is_permanent_and_names_it(smtp: SmtpServer) -> None:
    error = send_error(smtp, password=None)
    assert not error.retryable and "SMTP_PASSWORD" in str(error)


def test_an_answer_lost_after_data_is_unknown(smtp: SmtpServer) -> None:
    smtp.handler.hold_data = 4.0
    log = SendLog()
    with pytest.raises(DeliveryError) as caught:
        send_once(smtp, view(update()), log=log)
    assert caught.value.outcome_unknown and log.on_wire and "may or may not" in str(caught.value)
    assert len(smtp.mails) == 1


def test_connection_refused_is_retryable_and_nothing_was_sent(smtp: SmtpServer) -> None:
    error = send_error(smtp, port=free_port())
    assert error.retryable and not error.outcome_unknown and "Nothing was sent" in str(error)


# -- formatting over nasty input -----------------------------------------------------------------------


NASTY = [
    "<script>alert(1)</script><img src=x onerror=alert(1)>",
    '[x](javascript:alert(1)) <a href="javascript:alert(1)">y</a>',
    "שגיאות ב-API · خطأ في الواجهة",
    "🔥🚒 fire 👩‍👩‍👧 family",
    ".\r\n.\n.leading dots",
]


@pytest.mark.parametrize("message", NASTY, ids=["script", "js-link", "rtl", "emoji", "dots"])
def test_nasty_messages_arrive_inert_and_whole(smtp: SmtpServer, message: str) -> None:
    title = "Ошибки API 🔥 <b>x</b>"
    send_once(smtp, view(update(message=message.replace("\r", "")), inc=incident(title)))
    [mail] = smtp.mails
    assert mail.message["Subject"] == f"[Acme status] Investigating: {title}"
    markup = Markup(mail.html)
    assert not markup.tags & {"script", "img"} and all(h.startswith("https://") for h in markup.hrefs)
    assert "&lt;b&gt;x&lt;/b&gt;" in mail.html and 'dir="auto"' in mail.html
    assert message.replace("\r", "") in mail.text


def test_private_detail_only_in_a_private_view(smtp: SmtpServer) -> None:
    upd = update(message="Errors [private]for ACME-CORP[/private].", private_note="db-7 failover",
                 customers=("ACME-CORP",), tickets=("INC-4242",))
    send_once(smtp, view(upd, private=True))
    send_once(smtp, view(upd), TO[1])
    private, public = smtp.mails
    assert "db-7 failover" in private.text and "INC-4242" in private.html and "internal only" in private.html
    assert "ACME" not in public.raw.decode() and "ACME" not in public.text + public.html


# -- check ------------------------------------------------------------------------------------------------


def check(server: SmtpServer, **options: Any) -> list[CheckResult]:
    channel = make_channel(server, **options)
    return list(run(channel.check()))


def test_check_logs_in_and_asks_about_each_address_sending_nothing(smtp: SmtpServer) -> None:
    smtp.handler.refuse_rcpt[TO[1]] = "550 5.1.1 no such user"
    login, first, second = check(smtp)
    assert login.ok and "logged in" in login.detail
    assert first.ok and first.resolved == f"email:{TO[0]}"
    assert not second.ok and "550" in second.detail
    assert smtp.mails == []


def test_check_with_a_bad_password(smtp: SmtpServer) -> None:
    [result] = check(smtp, password="wrong-Password-999")
    assert not result.ok and "SMTP_PASSWORD" in result.detail and "wrong-Password-999" not in result.detail


# -- config and ids --------------------------------------------------------------------------------------------


def table(**overrides: Any) -> dict[str, Any]:
    base = {"type": "email", "host": "smtp.example.com", "username": USERNAME, "password": "${SMTP_PASSWORD}",
            "from": "Acme status <status@example.com>", "to": TO}
    return {k: v for k, v in {**base, **overrides}.items() if v is not None}


def load(t: dict[str, Any]) -> Any:
    return parse({"channels": {"mail": t}}, None, {"SMTP_PASSWORD": PASSWORD})


def test_config_defaults() -> None:
    channel = EmailChannel(load(table()).channels["mail"])
    assert (channel.security, channel.port) == ("starttls", 587)
    assert EmailChannel(load(table(security="tls")).channels["mail"]).port == 465


@pytest.mark.parametrize(("overrides", "words"), [
    ({"security": "none"}, "clear text"),
    ({"security": "ssl"}, "security"),
    ({"port": "587"}, "port"),
    ({"to": "ops@example.com"}, "list"),
    ({"to": ["ops@example.com", "OPS@example.com"]}, "twice"),
    ({"to": ["ops@example.com\r\nBcc: x@evil.com"]}, "plain address"),
    ({"from": "Acme <status@example.com>\nBcc: x@evil.com"}, "from"),
    ({"password": None}, "both"),
    ({"password": "written-in-file"}, "password"),
    ({"reply_to": "not an address"}, "reply_to"),
    ({"host": "smtp://smtp.example.com"}, "host"),
], ids=["none-with-password", "security", "port-type", "to-string", "to-duplicate", "to-injection",
        "from-injection", "half-login", "written-password", "reply-to", "host-url"])
def test_config_mistakes_are_explained(overrides: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigError, match=words) as caught:
        load(table(**overrides))
    assert "written-in-file" not in str(caught.value)


def test_none_with_a_password_is_fine_on_this_machine() -> None:
    assert load(table(security="none", host="127.0.0.1")).channels["mail"].options["security"] == "none"


def test_remote_id_from() -> None:
    channel = EmailChannel(load(table()).channels["mail"])
    assert channel.remote_id_from("Message-ID: <123.broadcaster@example.com>", "") == "<123.broadcaster@example.com>"
    assert channel.remote_id_from("123.broadcaster@example.com", "") == "<123.broadcaster@example.com>"
    with pytest.raises(InputError, match="Message-ID"):
        channel.remote_id_from("not a message id", "")


def test_a_malformed_stored_message_id_is_permanent(smtp: SmtpServer) -> None:
    with pytest.raises(DeliveryError, match="edited by hand") as caught:
        send_once(smtp, view(update(2)), thread=ThreadRef("bogus\r\nBcc: x@evil.com", "bogus"))
    assert not caught.value.retryable and smtp.mails == []


def test_nothing_listens_check_fails_cleanly(tmp_path: Path) -> None:
    port = free_port()
    channel = EmailChannel(ChannelConfig("mail", "email", options={
        "host": "127.0.0.1", "port": port, "security": "none", "from": "status@example.com", "to": TO}))
    [result] = run(channel.check())
    assert not result.ok and "check host, port" in result.detail
