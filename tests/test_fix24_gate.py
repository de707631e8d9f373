"""Session 24: two more ways of saying "not for publication" that the input gate published.

- An embargo alone in round brackets, or until a time: "(embargoed)", "(embargo until 15:00 UTC)", "(Sperrfrist bis
  14 Uhr)". In square brackets they were refused already; in round ones a label word asked for "only" or a degree
  ("(under embargo)" was refused, "(embargoed)" published). An embargo asks for none.
- "Off the record", alone or heading its detail, in round or square brackets or a link's text.

As everywhere in round brackets, where the bracket stands cannot tell a description from a label: "The advisory
(embargoed until 14:00 UTC) will be published later" is refused too (review 21l's survey had it among the prose
taken); the refusal says to write it without brackets.
"""

from __future__ import annotations

import pytest
from broadcaster.messages import gate

from tests.conftest import Project
from tests.fakes.webhook import FakeReceiver
from tests.gate_helpers import (  # noqa: F401 - public_receiver: the pub fixture
    RULE_IDS,
    RULES,
    assert_kept_back,
    assert_taken,
    public_receiver,
    refused,
)

LEAKS = [
    ("embargoed", "Root cause (embargoed) is CHG-4411."),
    ("embargo", "Root cause (embargo) is CHG-4411."),
    ("embargoed-until", "The fix for CHG-4411 ships today (embargoed until 15:00)."),
    ("embargo-until-utc", "The fix for CHG-4411 ships today (embargo until 15:00 UTC)."),
    ("embargoed-colon-time", "The fix for CHG-4411 ships today (embargoed: 15:00 UTC)."),
    ("embargoed-heads", "Root cause (embargoed: CHG-4411) was a bad push."),
    ("embargoed-capitals", "Root cause (EMBARGOED) is CHG-4411."),
    ("sperrfrist-bis", "Ursache (Sperrfrist bis 14 Uhr) ist CHG-4411."),
    ("strictly-embargoed", "Root cause (strictly embargoed) is CHG-4411."),  # refused before too (a degree)
    ("off-the-record", "Root cause: a bad push, CHG-4411 (off the record)."),
    ("off-the-record-heads", "Root cause (off the record: CHG-4411) was a bad push."),
    ("strictly-off-the-record", "Root cause (strictly off the record) was CHG-4411."),
    ("off-the-record-please", "Root cause (off the record, please) was CHG-4411."),
    ("off-the-record-title-case", "Root cause (Off The Record) was CHG-4411."),
    ("off-the-record-digits", "Root cause (0ff the rec0rd) was CHG-4411."),
    ("off-the-record-square", "Root cause [off the record] was CHG-4411."),
    ("off-the-record-curly", "Root cause {off the record} was CHG-4411."),
    ("off-the-record-link", "Root cause [off the record](https://example.com/x) was CHG-4411."),
    ("advisory-embargoed", "The advisory for CHG-4411 (embargoed until 14:00 UTC) will be published later."),
]

# Published before and now: an embargo or a record that is a thing, not a label.
PROSE = [
    ("trade-embargo", "Payments to sanctioned regions are blocked (trade embargo) since 14:02.", "(trade embargo)"),
    ("embargo-list", "Exports (embargo list) were updated at 14:10.", "(embargo list)"),
    ("on-the-record", "The audit log (on the record) is complete again.", "(on the record)"),
    ("record-set", "Writes (off the record set) failed at 14:02.", "(off the record set)"),
    ("dns-record", "Lookups (the DNS record) failed at 14:02.", "(the DNS record)"),
]


@pytest.mark.parametrize("text", [c[1] for c in LEAKS], ids=[c[0] for c in LEAKS])
def test_the_label_is_not_published(project: Project, pub: FakeReceiver, text: str) -> None:
    assert_kept_back(project, pub, text)


@pytest.mark.parametrize("rule", RULES, ids=RULE_IDS)
@pytest.mark.parametrize("text", [c[1] for c in LEAKS], ids=[c[0] for c in LEAKS])
def test_every_field_refuses_it(text: str, rule: gate.Rule) -> None:
    assert refused(text, rule)


def test_a_title_refuses_it() -> None:
    assert refused("Root cause (embargoed until 15:00)", gate.TITLE)
    assert refused("Root cause (off the record)", gate.TITLE)


@pytest.mark.parametrize(("text", "shown"), [c[1:] for c in PROSE], ids=[c[0] for c in PROSE])
def test_prose_is_published(project: Project, pub: FakeReceiver, text: str, shown: str) -> None:
    assert_taken(project, pub, text, shown)


@pytest.mark.parametrize("rule", RULES, ids=RULE_IDS)
@pytest.mark.parametrize("text", [c[1] for c in PROSE], ids=[c[0] for c in PROSE])
def test_every_field_takes_the_prose(text: str, rule: gate.Rule) -> None:
    assert not refused(text, rule)


def test_staff_detail_may_say_it() -> None:
    """What staff alone read hides nothing from its readers (``gate.PRIVATE``)."""
    assert not refused("Root cause (off the record): CHG-4411, embargoed until 15:00 (embargoed).", gate.PRIVATE)
