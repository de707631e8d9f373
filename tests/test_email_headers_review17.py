"""Review 17c, findings 1 and 2 (each test failed before its fix): an RFC 2047 encoded word ("=?...?=") in a value a
mail header is made from is decoded by the mail library, CR LF included, into headers of someone else's (a Reply-To).

The sources: the display name of `from`, and a stored Message-ID (the thread the next mail joins), which
`retry --remote-id` or `store import` can put in the store. `to` and `reply_to` with an encoded word failed every
mail after the post was stored. Under them all, a header whose value became more than one line is never sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from broadcaster.delivery import Rendered, ThreadRef
from broadcaster.errors import ConfigError, DeliveryError, InputError
from tests.channel_updates import update, view
from tests.conftest import ENGINE, Project
from tests.fakes.smtp import USERNAME, SmtpServer
from tests.test_email import TO, deliver, load, make_channel, run, send_once, smtp, table  # noqa: F401 - the fixture

INJECTED_NAME = "=?utf-8?q?Acme_status=0D=0AReply-To=3A_help=40evil.example?="
CRAFTED_ID = "<=?utf-8?q?x=0D=0AReply-To=3A_help=40evil.example?=@example.com>"
FIRST_ID = "<1.broadcaster@example.com>"


def head(raw: bytes) -> str:
    return raw.split(b"\r\n\r\n", 1)[0].decode()


# -- config: refused as it is read ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("overrides", "key"), [
    ({"from": f"{INJECTED_NAME} <status@example.com>"}, "mail.from"),
    ({"from": "=?utf-8?q?x?=@example.com"}, "mail.from"),
    ({"to": ["ops@example.com", "=?utf-8?q?x=0D=0ABcc=3A_y?=@example.com"]}, "mail.to"),
    ({"reply_to": "=?utf-8?q?x=0D=0ABcc=3A_y?=@example.com"}, "mail.reply_to"),
], ids=["from-name", "from-address", "to", "reply-to"])
def test_an_encoded_word_in_an_address_is_refused_naming_the_key(overrides: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError, match="=\\?") as caught:
        load(table(**overrides))
    assert key in str(caught.value) and "plain text" in str(caught.value)


def test_names_in_other_scripts_still_make_a_from_header(smtp: SmtpServer) -> None:  # noqa: F811
    sender = "Störungsmeldung Ü <status@example.com>"
    assert load(table(**{"from": sender})).channels["mail"].options["from"] == sender
    options: dict[str, Any] = {"from": sender}
    send_once(smtp, view(update()), TO[0], **options)
    [mail] = smtp.mails
    assert mail.message["From"] == sender and "Reply-To" not in mail.message


@pytest.fixture
def mail_project(project: Project, tmp_path: Path) -> Iterator[SmtpServer]:
    with SmtpServer(tmp_path, password="smtp-pass-Secret-42") as server:
        project.env.update({"SMTP_PASSWORD": "smtp-pass-Secret-42", "SSL_CERT_FILE": str(server.ca_file)})
        yield server


def write_mail_config(project: Project, server: SmtpServer, sender: str = "Acme status <status@example.com>") -> None:
    project.write_config(ENGINE + f"""
[channels.mail]
type = "email"
host = "127.0.0.1"
port = {server.port}
username = "{USERNAME}"
password = "${{SMTP_PASSWORD}}"
from = "{sender}"
to = ["customers@example.net"]
""")


def test_through_the_cli_a_from_name_with_an_encoded_word_is_refused(project: Project, mail_project: SmtpServer) -> None:
    write_mail_config(project, mail_project, f"{INJECTED_NAME} <status@example.com>")
    result = project.cli("post", "--yes", "--title", "API errors", "We are looking into it.")
    assert result.exit_code == 2, result.output
    assert "channels.mail.from" in result.output and "=?" in result.output
    assert mail_project.mails == []
    assert not (project.root / ".broadcaster" / "state.db").exists()  # nothing stored


# -- the channel: a stored thread reference ----------------------------------------------------------------------


def test_a_message_id_with_an_encoded_word_is_not_read_from_the_operator(smtp: SmtpServer) -> None:  # noqa: F811
    channel = make_channel(smtp)
    assert channel.remote_id_from(FIRST_ID, TO[0]) == FIRST_ID
    with pytest.raises(InputError, match="=\\?"):
        channel.remote_id_from(CRAFTED_ID, TO[0])


@pytest.mark.parametrize("thread", [ThreadRef(FIRST_ID, CRAFTED_ID), ThreadRef(CRAFTED_ID, FIRST_ID)],
                         ids=["latest", "first"])
def test_a_stored_message_id_with_an_encoded_word_fails_for_good_sending_nothing(
    smtp: SmtpServer, thread: ThreadRef  # noqa: F811
) -> None:
    with pytest.raises(DeliveryError) as caught:
        send_once(smtp, view(update(2)), TO[0], thread=thread)
    assert not caught.value.retryable and smtp.mails == []
    assert "remote_id" in str(caught.value) and "broadcaster retry" in str(caught.value)


def test_a_header_made_into_two_lines_is_never_sent(smtp: SmtpServer) -> None:  # noqa: F811
    """The net under the checks of each source: a subject that escaped its defusing (here, rendered by hand)."""
    channel = make_channel(smtp)
    rendered = channel.render(view(update()))
    payload = {**rendered.payload, "subject": "Update =?utf-8?q?x=0D=0AReply-To=3A_help=40evil.example?="}
    with pytest.raises(DeliveryError, match="Subject header would hold a line break") as caught:
        run(deliver(channel, Rendered(text=rendered.text, visibility=rendered.visibility, payload=payload), TO[0]))
    assert not caught.value.retryable and smtp.mails == []


# -- store import: refused as the file is read ------------------------------------------------------------------


def crafted_export(project: Project, server: SmtpServer, tmp_path: Path, key: str) -> tuple[Path, Path]:
    """A post's export, and a copy whose mail delivery carries ``CRAFTED_ID`` in ``key``."""
    write_mail_config(project, server)
    assert project.cli("post", "--yes", "--title", "API errors", "We are looking into it.").exit_code == 0
    real_id = str(server.mails[0].message["Message-ID"])
    exported = tmp_path / "export.jsonl"
    assert project.cli("store", "export", str(exported)).exit_code == 0
    lines = exported.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    [delivery] = [d for u in records[1]["updates"] for d in u["deliveries"] if d["destination"] == "mail"]
    assert delivery["remote_id"] == real_id
    if key == "parts":
        delivery["parts"] = [CRAFTED_ID]
    else:
        delivery[key] = CRAFTED_ID
    crafted = tmp_path / "crafted.jsonl"
    crafted.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return exported, crafted


@pytest.mark.parametrize("key", ["remote_id", "thread_ref", "parts"])
def test_store_import_refuses_a_mail_delivery_whose_message_id_the_channel_refuses(
    project: Project, mail_project: SmtpServer, tmp_path: Path, key: str
) -> None:
    exported, crafted = crafted_export(project, mail_project, tmp_path, key)
    other = tmp_path / "other.db"
    refused = project.cli("store", "import", "--store", str(other), str(crafted))
    assert refused.exit_code == 2, refused.output
    assert key in refused.output and "Message-ID" in refused.output and "Nothing was imported" in refused.output
    assert not other.exists() or json.loads(project.cli("list", "--json", "--store", str(other)).stdout) == []
    # The export as written imports, and its next update threads under the first mail.
    assert project.cli("store", "import", "--store", str(other), str(exported)).exit_code == 0
    incident_id = json.loads(exported.read_text(encoding="utf-8").splitlines()[1])["incident"]["id"]
    assert project.cli("post", "--yes", "--store", str(other), "-i", incident_id, "Still looking.").exit_code == 0
    first, second = mail_project.mails
    assert second.message["In-Reply-To"] == first.message["Message-ID"]
    assert "Reply-To" not in second.message


def test_an_export_of_mails_to_an_address_with_an_apostrophe_imports(
    project: Project, mail_project: SmtpServer, tmp_path: Path
) -> None:
    """`store import` took fewer characters in a mail address than the email channel: an export of mails to
    o'brien@example.net was refused ("not a chat or channel"), though the channel sends to it."""
    write_mail_config(project, mail_project)
    project.config.write_text(project.config.read_text().replace('"customers@example.net"', "\"o'brien+ops@example.net\""))
    posted = project.cli("post", "--yes", "--title", "API errors", "We are looking into it.")
    assert posted.exit_code == 0, posted.output
    exported = tmp_path / "export.jsonl"
    assert project.cli("store", "export", str(exported)).exit_code == 0
    imported = project.cli("store", "import", "--store", str(tmp_path / "other.db"), str(exported))
    assert imported.exit_code == 0, imported.output
