"""Fix 21g2 (review 21h, finding 4): a customer's detail (--for, a template's for = {...}) is read by that customer, so
an instruction in round brackets there ("(internal only) root cause: ...") was meant to keep what follows from them:
refused as in a message, through the real CLI against the fake Slack server. Staff-only text (--private) stays
exempt: its readers are those the bracket names."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import Project
from tests.fakes.slack import FakeSlack
from tests.gate_helpers import LEAK
from tests.input_helpers import stored
from tests.test_audiences import AUDIENCES, CHANNELS, SLACK_TOKEN, channels_toml, said

FOR_TEXT = "Your circuit flapped. (internal only) root cause: our change CHG-4411."


@pytest.fixture(name="slack")
def slack_server(project: Project) -> Iterator[FakeSlack]:
    with FakeSlack(token=SLACK_TOKEN, channels=CHANNELS) as fake:
        project.env["SLACK_TOKEN"] = SLACK_TOKEN
        project.write_config(AUDIENCES + channels_toml(fake))
        yield fake


def assert_nothing_reached_acme(project: Project, slack: FakeSlack) -> None:
    assert LEAK not in said(slack, "C0ACME0001"), "acme's channel got what its '(internal only)' held back"
    assert not stored(project), "a refused post stored something"


@pytest.mark.parametrize("text", [
    FOR_TEXT,
    "Your circuit flapped (internal only: root cause is our change CHG-4411).",
    "Your circuit flapped.\n(staff only) our change CHG-4411 did it.",
], ids=["heading-the-rest", "heading-the-detail-inside", "line-start"])
def test_a_round_instruction_in_for_text_is_refused(project: Project, slack: FakeSlack, text: str) -> None:
    result = project.cli("post", "--yes", "--title", "API errors", "-C", "api", "--for", "acme", text, "API errors.")
    assert result.exit_code == 2, result.output
    assert "--for acme" in result.stderr and "--private" in result.stderr, result.stderr
    assert_nothing_reached_acme(project, slack)


def test_a_round_instruction_in_a_templates_for_text_is_refused(project: Project, slack: FakeSlack) -> None:
    project.write_config(AUDIENCES + channels_toml(slack) + f"""
[templates.circuit]
title = "Circuit down"
components = ["api"]
message = "A circuit is down."
for = {{ acme = "{FOR_TEXT}" }}
""")
    result = project.cli("post", "--yes", "--template", "circuit")
    assert result.exit_code == 2, result.output
    assert_nothing_reached_acme(project, slack)


# Fail closed (review 21l): an instruction in round brackets is refused wherever it stands, even where it only
# describes a word; the same words without brackets are prose. And a staff-only note is exempt.
def test_a_bracket_describing_a_word_in_for_text_is_refused_and_the_same_words_unbracketed_taken(
    project: Project, slack: FakeSlack
) -> None:
    refused = project.cli("post", "--yes", "--title", "API errors", "-C", "api", "--for", "acme",
                          "Your admin console (staff only) is slow.", "API errors.")
    assert refused.exit_code == 2, refused.output
    assert_nothing_reached_acme(project, slack)
    result = project.cli("post", "--yes", "--title", "API errors", "-C", "api", "--for", "acme",
                         "Your staff-only admin console is slow.", "API errors.")
    assert result.exit_code == 0, result.output
    assert "Your staff-only admin console is slow." in said(slack, "C0ACME0001")


def test_a_round_instruction_in_a_staff_note_is_taken(project: Project, slack: FakeSlack) -> None:
    result = project.cli("post", "--yes", "--title", "API errors", "-C", "api", "--private",
                         "API errors. (internal only) root cause: CHG-4411.", "API errors.")
    assert result.exit_code == 0, result.output
    assert LEAK in said(slack, "C0OPS00001") and LEAK not in said(slack, "C0PUB00001")
    assert LEAK not in said(slack, "C0ACME0001")


def test_a_round_instruction_in_an_amended_for_text_is_refused(project: Project, slack: FakeSlack) -> None:
    posted = project.cli("post", "--yes", "--json", "--title", "API errors", "-C", "api", "--for", "acme",
                         "Your circuit flapped.", "API errors.")
    assert posted.exit_code == 0, posted.output
    incident = __import__("json").loads(posted.stdout)["incident_id"]
    before = stored(project)
    result = project.cli("amend", "--yes", incident, "1", "API errors.", "--for", "acme", FOR_TEXT)
    assert result.exit_code == 2, result.output
    assert "--for acme" in result.stderr, result.stderr
    assert LEAK not in said(slack, "C0ACME0001")
    assert stored(project) == before


def test_a_round_instruction_in_an_imported_customers_detail_is_refused(project: Project, slack: FakeSlack) -> None:
    import json

    posted = project.cli("post", "--yes", "--title", "API errors", "-C", "api", "--for", "acme",
                         "Your circuit flapped.", "API errors.")
    assert posted.exit_code == 0, posted.output
    exported = project.cli("store", "export")
    assert exported.exit_code == 0, exported.output
    lines = []
    for line in exported.stdout.splitlines():
        record = json.loads(line)
        for update in record.get("updates", []):
            update["audience_detail"] = [["acme", FOR_TEXT]]
        if "incident" in record:
            record["incident"]["id"] = record["incident"]["id"] + "-copy"
        lines.append(json.dumps(record))
    other = project.root / "other"
    other.mkdir()
    (other / "edited.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = project.cli("store", "import", str(other / "edited.jsonl"))
    assert result.exit_code == 2, result.output
    assert "audience_detail for acme" in result.output, result.output
