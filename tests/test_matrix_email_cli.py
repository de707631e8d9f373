"""Matrix and email through the real CLI: threading and amend across invocations, faults through the engine,
`channels check`, and private detail kept to the private channel. FakeMatrix and a real SMTP server on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import UNHURRIED_ENGINE, Project
from tests.fakes.matrix import FakeMatrix
from tests.fakes.smtp import USERNAME, SmtpServer
from tests.input_helpers import stored
from tests.unsent_records import assert_refused_whole, import_unsent, saying

MATRIX_TOKEN = "syt_cli_MaTrIx_SeCrEt_77"
SMTP_PASSWORD = "smtp-pass-Secret-42"
ROOM = "!ops:example.org"
CUSTOMERS, OPS = "customers@example.net", "ops@example.com"


class Fakes:
    def __init__(self, matrix: FakeMatrix, smtp: SmtpServer) -> None:
        self.matrix, self.smtp = matrix, smtp

    @property
    def room(self) -> list[Any]:
        return self.matrix.events[ROOM]


@pytest.fixture
def fakes(project: Project, tmp_path: Path) -> Iterator[Fakes]:
    with FakeMatrix(token=MATRIX_TOKEN, rooms=[ROOM]) as matrix, SmtpServer(tmp_path, password=SMTP_PASSWORD) as smtp:
        project.write_config(UNHURRIED_ENGINE + f"""
[channels.ops-matrix]
type = "matrix"
visibility = "private"
homeserver = "{matrix.url}"
access_token = "${{MATRIX_TOKEN}}"
room_id = "{ROOM}"

[channels.mail]
type = "email"
host = "127.0.0.1"
port = {smtp.port}
username = "{USERNAME}"
password = "${{SMTP_PASSWORD}}"
from = "Acme status <status@example.com>"
to = ["{CUSTOMERS}", "{OPS}"]
""")
        project.env.update({"MATRIX_TOKEN": MATRIX_TOKEN, "SMTP_PASSWORD": SMTP_PASSWORD,
                            "SSL_CERT_FILE": str(smtp.ca_file)})
        yield Fakes(matrix, smtp)


def run_json(project: Project, *args: str) -> tuple[int, dict[str, Any]]:
    result = project.cli(*args, "--json")
    assert result.stdout, result.stderr
    return result.exit_code, json.loads(result.stdout)


def states(payload: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(d["destination"], d["target"]): d["state"] for d in payload["deliveries"] if d["destination"] != "site"}


def test_an_incident_threads_in_the_room_and_in_each_mailbox_across_invocations(project: Project, fakes: Fakes) -> None:
    # Globex Corp as a private free-text value: --customer names an [audiences.ID] since issue 15.
    code, first = run_json(project, "post", "--yes", "--title", "API errors", "-C", "api", "--ticket", "Globex Corp",
                           "--private", "Root cause: db-7 failover", "Errors on the API.")
    assert code == 0, json.dumps(first, indent=1)  # whole: which delivery failed, and why
    incident = first["incident_id"]
    assert set(states(first).values()) == {"sent"} and len(states(first)) == 3
    assert run_json(project, "post", "--yes", "-i", incident, "--status", "identified", "A bad deploy.")[0] == 0
    assert run_json(project, "resolve", incident, "--yes", "Rolled back.")[0] == 0

    [root] = fakes.matrix.top_level(ROOM)
    replies = fakes.matrix.thread(ROOM, root.event_id)
    assert len(replies) == 2 and "Resolved: API errors" in replies[-1].content["body"]
    assert "db-7 failover" in root.content["body"] and "Globex Corp" in root.content["formatted_body"]
    for address in (CUSTOMERS, OPS):
        mails = [m.message for m in fakes.smtp.to(address)]
        assert [m["To"] for m in mails] == [address] * 3
        assert mails[1]["In-Reply-To"] == mails[0]["Message-ID"] and mails[2]["In-Reply-To"] == mails[1]["Message-ID"]
        assert mails[2]["References"] == f"{mails[0]['Message-ID']} {mails[1]['Message-ID']}"
        assert mails[2]["Subject"] == "[Acme status] Resolved: API errors"
    public = "\n".join(m.raw.decode() + m.text + m.html for m in fakes.smtp.mails)
    assert "Globex" not in public and "db-7" not in public  # the mail table is public


def test_amend_edits_in_matrix_and_mails_a_correction_in_the_thread(project: Project, fakes: Fakes) -> None:
    incident = run_json(project, "post", "--yes", "--title", "API errors", "-C", "api", "Errors in eu-west.")[1]["incident_id"]
    code, amended = run_json(project, "amend", incident, "1", "--yes", "Errors in eu-central.")
    assert code == 0, json.dumps(amended, indent=1)  # whole: which delivery failed, and why

    [root] = fakes.matrix.top_level(ROOM)
    [edit] = fakes.matrix.edits(ROOM, root.event_id)
    assert "eu-central" in edit.content["m.new_content"]["body"] and len(fakes.room) == 2
    for address in (CUSTOMERS, OPS):
        original, correction = fakes.smtp.to(address)
        assert correction.message["In-Reply-To"] == original.message["Message-ID"]
        assert "Correction to our update" in correction.text and "eu-central" in correction.text


def test_a_rate_limited_room_is_retried_within_the_command(project: Project, fakes: Fakes) -> None:
    fakes.matrix.rate_limit(retry_after=1)
    code, posted = run_json(project, "post", "--yes", "--title", "API errors", "Errors.")
    assert code == 0, json.dumps(posted, indent=1)  # whole: which delivery failed, and why
    assert len(fakes.room) == 1 and len(fakes.matrix.received("/send/")) == 1  # the 429 was not stored


def test_one_refused_address_fails_alone_and_retry_sends_only_it(project: Project, fakes: Fakes) -> None:
    fakes.smtp.handler.refuse_rcpt[CUSTOMERS] = "550 5.1.1 <customers@example.net>: mailbox unavailable"
    code, posted = run_json(project, "post", "--yes", "--title", "API errors", "Errors.")
    assert code == 3
    assert states(posted) == {("ops-matrix", ""): "sent", ("mail", CUSTOMERS): "failed", ("mail", OPS): "sent"}
    error = next(d["error"] for d in posted["deliveries"] if d["target"] == CUSTOMERS)
    assert "550" in error and "Check the address" in error
    del fakes.smtp.handler.refuse_rcpt[CUSTOMERS]
    assert project.cli("retry").exit_code == 0
    assert [len(fakes.smtp.to(a)) for a in (CUSTOMERS, OPS)] == [1, 1] and len(fakes.room) == 1


def test_a_mail_whose_answer_was_lost_is_unknown_and_not_resent_by_itself(project: Project, fakes: Fakes) -> None:
    project.config.write_text(project.config.read_text().replace("timeout = 10\n", "timeout = 2\n"))
    fakes.smtp.handler.hold_data = 4.0  # longer than [engine] timeout
    code, posted = run_json(project, "post", "--yes", "--title", "API errors", "--only", "mail", "Errors.")
    mail = {t: state for (name, t), state in states(posted).items() if name == "mail"}
    assert code == 3 and sorted(mail.values()) == ["sent", "unknown"]
    held = next(t for t, state in mail.items() if state == "unknown")
    assert len(fakes.smtp.mails) == 2  # both arrived
    held_id = fakes.smtp.to(held)[0].message["Message-ID"]
    project.cli("retry")
    assert len(fakes.smtp.mails) == 2
    assert project.cli("retry", "--include-unknown").exit_code == 0
    again = fakes.smtp.to(held)
    assert len(again) == 2 and again[1].message["Message-ID"] == held_id  # receivers can drop it as a repeat


def test_channels_check_good_and_bad_credentials(project: Project, fakes: Fakes) -> None:
    good = project.cli("channels", "check")
    assert good.exit_code == 0, good.stdout
    assert "FAIL" not in good.stdout and fakes.room == [] and fakes.smtp.mails == []
    bad = project.cli("channels", "check", env={"MATRIX_TOKEN": "syt_wrong_Token_1", "SMTP_PASSWORD": "wrong-Pass-2"})
    assert bad.exit_code == 3
    lines = [" ".join(line.split()) for line in bad.stdout.splitlines() if "FAIL" in line]
    assert any("ops-matrix" in line for line in lines) and any("mail" in line for line in lines)
    assert "syt_wrong_Token_1" not in bad.stdout + bad.stderr and "wrong-Pass-2" not in bad.stdout + bad.stderr


def test_the_egress_guard_stops_a_public_mail_naming_a_customer(project: Project, fakes: Fakes, tmp_path: Path) -> None:
    """The public text itself names the customer given as private: the post is refused whole (its preview
    would show the mails refused); such an update stored another way is refused per mail at send time,
    and the room still gets it."""
    args = ("--title", "API errors", "--ticket", "Globex Corp")
    assert_refused_whole(project.cli("post", "--yes", *args, "Errors for **Globex** Corp."), "mail", "site")
    assert stored(project) == [] and fakes.smtp.mails == [] and len(fakes.room) == 0

    import_unsent(project, tmp_path, "post", *args, "Errors for some customers.", edit=saying("Errors for **Globex** Corp."))
    code, posted = run_json(project, "retry")
    assert code == 3
    assert states(posted) == {("ops-matrix", ""): "sent", ("mail", CUSTOMERS): "failed", ("mail", OPS): "failed"}
    assert all("refused to publish" in d["error"] for d in posted["deliveries"] if d["destination"] == "mail")
    assert fakes.smtp.mails == [] and len(fakes.room) == 1
