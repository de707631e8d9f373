"""Fix 20l (review 20l findings 3-6): the gate's "not for the public", "staff only" and link rules, and short names
ending in a joining word, through the real CLI against the fake webhook and the reader's page."""

from __future__ import annotations

import pytest

from tests.conftest import Project
from tests.fakes.webhook import FakeReceiver
from tests.gate_helpers import LEAK, assert_kept_back, assert_taken, public_receiver  # noqa: F401 - public_receiver: the pub fixture
from tests.input_helpers import READER_TOKEN, page_of, post_for, stored, two_customers

REFUSED = [
    # finding 3: nouns for "the public", more small words between, round brackets inside
    "API errors. [nicht für die Öffentlichkeit] Ursache: CHG-4411.",
    "API errors. [inte för allmänheten] Orsak: CHG-4411.",
    "API errors. [not for the general public] cause: CHG-4411.",
    "API errors. [not meant for the public] cause: CHG-4411.",
    "API errors. [not intended for the wider public] cause: CHG-4411.",
    "API errors. [ops (internal)] cause: CHG-4411.",
    # finding 4: a ticket id in round brackets is no link destination
    "API errors. [nur intern](INC-7) Ursache: CHG-4411.",
    "API errors. [not public](INC-7) cause: CHG-4411.",
    "API errors. [ops internal](INC-7) cause: CHG-4411.",
    # guards of finding 6: staff nouns and "public" before any other word stay markers
    "API errors. [nur für Personal] Ursache: CHG-4411.",
    "API errors. [nur für Personal bitte] Ursache: CHG-4411.",
    "API errors. [Personal only] cause: CHG-4411.",
    "API errors. [staff use only] cause: CHG-4411.",
    "API errors. [not for public release] cause: CHG-4411.",
    "API errors. [nicht öffentlich, nur Ops] Ursache: CHG-4411.",
]


@pytest.mark.parametrize("text", REFUSED)
def test_a_label_holding_the_text_back_is_refused(project: Project, pub: FakeReceiver, text: str) -> None:
    assert_kept_back(project, pub, text)


TAKEN = [
    # finding 6: ordinary prose
    ("API errors. [only personal data exports affected] Retry later.", "only personal data exports affected"),
    ("API errors. [personal accounts only] Business accounts work.", "personal accounts only"),
    ("API errors. [EU staff portal only affected] Customer portal works.", "EU staff portal only affected"),
    ("API errors. [API nicht öffentlich erreichbar] Intern läuft sie.", "API nicht öffentlich erreichbar"),
    ("API errors. [inte offentligt tillgänglig] Internt fungerar den.", "inte offentligt tillgänglig"),
    ("API errors. [Störung nur beim Personal-Login] Kunden nicht betroffen.", "Störung nur beim Personal-Login"),
    ("API errors. [not publicly reachable] Retry later.", "not publicly reachable"),
    # finding 4: a link to an address keeps its text as a link's
    ("API errors. See [Azure Private Link](https://example.com/x) docs.", "Azure Private Link"),
    ("API errors. See [ops internal notes](docs.example.com/ops) later.", "ops internal notes"),
]


@pytest.mark.parametrize(("text", "shown"), TAKEN)
def test_ordinary_prose_and_real_links_are_taken(project: Project, pub: FakeReceiver, text: str,
                                                 shown: str) -> None:
    assert_taken(project, pub, text, shown)


@pytest.mark.parametrize(("reader_name", "detail"), [
    ("Globex Plus GmbH", "Affected: Globex plus Initech links, uplink FRA-7 is down."),
    ("Globex Samt Partner AB", "Berörda: Globex samt Initech, uplink FRA-7 is down."),
    ("Globex Versus Ltd", "Globex versus Initech cutover: uplink FRA-7 is down."),
    ("Globex Nebst Partner GmbH", "Betroffen: Globex nebst Initech, uplink FRA-7 is down."),
    ("Globex Bzw Partner GmbH", "Betroffen: Globex bzw Initech, uplink FRA-7 is down."),
])
def test_a_short_name_never_ends_in_a_joining_word(project: Project, reader_name: str, detail: str) -> None:
    """globex (Globex Corporation) stands in the reader's detail beside a joining word: refused, nothing stored."""
    two_customers(project, "globex", "Globex Corporation", "globex-partners", reader_name)
    result = post_for(project, "globex-partners", detail)
    assert result.exit_code == 2, result.output
    assert "FRA-7" not in page_of(project, READER_TOKEN), result.output
    assert stored(project) == [], result.output
