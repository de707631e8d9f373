"""A review (each test failed before its fix): an RFC 2047 encoded word in a title was decoded into the Subject
header, CR LF included: header injection (a Reply-To of the attacker's, a Bcc, or a blank line that starts the body)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from broadcaster.messages import gate

from tests.channel_updates import incident, update, view
from tests.conftest import ENGINE, Project
from tests.fakes.smtp import USERNAME, SmtpServer
from tests.test_email import TO, send_once, smtp  # noqa: F401 - smtp: the fixture

# Printable ASCII, one line: what a monitoring alert's raw mail subject looks like when pasted.
TITLE = "API errors =?utf-8?q?=0D=0AReply-To:_help@evil.example?="


def test_an_encoded_word_in_a_title_adds_no_header_to_the_mail(smtp: SmtpServer) -> None:  # noqa: F811
    assert gate.admit(TITLE, "--title", gate.TITLE) == TITLE  # the gate takes it: one line, printable ASCII
    send_once(smtp, view(update(), inc=incident(title=TITLE)), TO[0])
    [mail] = smtp.mails
    head = mail.raw.split(b"\r\n\r\n", 1)[0].decode()
    assert "Reply-To" not in mail.message  # replies from every customer would go to help@evil.example
    assert not any(line.startswith("Reply-To:") for line in head.splitlines()), head


@pytest.fixture
def mail_project(project: Project, tmp_path: Path) -> Iterator[SmtpServer]:
    with SmtpServer(tmp_path, password="smtp-pass-Secret-42") as server:
        project.write_config(ENGINE + f"""
[channels.mail]
type = "email"
host = "127.0.0.1"
port = {server.port}
username = "{USERNAME}"
password = "${{SMTP_PASSWORD}}"
from = "Acme status <status@example.com>"
to = ["customers@example.net"]
""")
        project.env.update({"SMTP_PASSWORD": "smtp-pass-Secret-42", "SSL_CERT_FILE": str(server.ca_file)})
        yield server


def test_through_the_cli_a_title_cannot_inject_a_header(project: Project, mail_project: SmtpServer) -> None:
    result = project.cli("post", "--yes", "--title", "Login errors =?utf-8?q?=0D=0A=0D=0APlease_reset_your_"
                         "password_at_https://evil.example/reset?=", "We are looking into it.")
    assert result.exit_code == 0, result.output  # taken, as text: the subject shows it as typed
    [mail] = mail_project.mails
    # The decoded CR LF CR LF ends the headers after Subject: Date, Message-ID, MIME-Version and the multipart's
    # Content-Type become body text, under the attacker's first body line.
    assert mail.message["Message-ID"] is not None and mail.message["Date"] is not None
    assert mail.message.is_multipart()
    assert not mail.message.get_payload(decode=False).__str__().startswith("Please reset")
