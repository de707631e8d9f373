"""Session 24: "off the record" (or "off record"), which the input gate published: alone, with a degree, a companion
or a time, or heading its detail after a break, in round, square or curly brackets or a link's text. "(off, record)"
(two settings) and "(off the record set)" stay text. As everywhere in round brackets, where the bracket stands cannot
tell a description from a label: a link's text "Off the Record" is refused too, and the refusal says to write it
without brackets. Hyphenated ("(Off-the-Record)", the OTR protocol) it stays text, as the words are broken apart.

An embargo in round brackets was tried as well and taken out after two reviews (24g, 24h): "(embargoed)" alone, "(for
embargo purposes)", "(embargo: RU, IR, KP)", "(embargo until further notice)" are a payment provider's sanctions prose,
and telling "(embargoed until 15:00)" from them needs the time, which the folded words the gate reads no longer show
("15:00" folds to letters). Those embargo texts are kept below as prose; "(under embargo)" and "(strictly embargoed)"
stay refused as before.
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
    ("strictly-embargoed", "Root cause (strictly embargoed) is CHG-4411."),  # refused before and now (a degree)
    ("off-the-record", "Root cause: a bad push, CHG-4411 (off the record)."),
    ("off-the-record-heads", "Root cause (off the record: CHG-4411) was a bad push."),
    ("strictly-off-the-record", "Root cause (strictly off the record) was CHG-4411."),
    ("off-the-record-please", "Root cause (off the record, please) was CHG-4411."),
    ("off-the-record-title-case", "Root cause (Off The Record) was CHG-4411."),
    ("off-the-record-digits", "Root cause (0ff the rec0rd) was CHG-4411."),
    ("off-the-record-for-now", "Root cause (off the record for now) was CHG-4411."),
    ("off-the-record-until", "Root cause (off the record until 15:00) was CHG-4411."),
    ("still-off-the-record", "Root cause (still off the record) was CHG-4411."),
    ("off-record", "Root cause (off record) was CHG-4411."),
    ("off-the-record-square", "Root cause [off the record] was CHG-4411."),
    ("off-the-record-square-heads", "Root cause [off the record: CHG-4411] was a bad push."),
    ("off-the-record-square-dash", "Root cause [off the record - CHG-4411] was a bad push."),
    ("off-the-record-curly", "Root cause {off the record} was CHG-4411."),
    ("off-the-record-link", "Root cause [off the record](https://example.com/x) was CHG-4411."),
    ("off-the-record-link-heads", "Root cause [off the record: CHG-4411](https://example.com/x) was a bad push."),
]

# Published before and now: an embargo that is a sanction or a topic, a record that is a thing (review 24g).
PROSE = [
    ("trade-embargo", "Payments to sanctioned regions are blocked (trade embargo) since 14:02.", "(trade embargo)"),
    ("embargoed-alone", "Payments to sanctioned regions (embargoed) are declined.", "(embargoed)"),
    ("embargo-alone", "Users in some regions cannot sign in (embargo).", "(embargo)"),
    ("embargo-list", "Exports (embargo list) were updated at 14:10.", "(embargo list)"),
    ("for-embargo-purposes", "Address checks (for embargo purposes) were slow.", "(for embargo purposes)"),
    ("for-the-embargo", "Screening (for the embargo) was slow between 14:02 and 14:30.", "(for the embargo)"),
    ("fur-die-sperrfrist", "Der Abgleich (f\u00fcr die Sperrfrist) war langsam.", "(f\u00fcr die Sperrfrist)"),
    ("embargo-country-list", "Shipments (embargo: RU, IR, KP) are blocked as intended.", "(embargo: RU, IR, KP)"),
    ("embargo-slash", "Sanctions screening (embargo / denied parties) was slow.", "(embargo / denied parties)"),
    ("embargoed-slash", "Payments (embargoed / sanctioned regions) are blocked.", "(embargoed / sanctioned regions)"),
    ("embargo-lifted", "The advisory (embargo - lifted 15:00 UTC) is now published.", "(embargo - lifted 15:00 UTC)"),
    ("embargo-ended", "The advisory (embargo: ended) is now published.", "(embargo: ended)"),
    ("embargo-link", "See the [embargo](https://example.com/embargo) notice of our payments provider.", "embargo"),
    ("on-the-record", "The audit log (on the record) is complete again.", "(on the record)"),
    ("record-set", "Writes (off the record set) failed at 14:02.", "(off the record set)"),
    ("dns-record", "Lookups (the DNS record) failed at 14:02.", "(the DNS record)"),
    ("otr-protocol", "Chat messages encrypted with OTR (Off-the-Record) were delayed.", "(Off-the-Record)"),
    ("off-comma-record", "Session capture modes (off, record) were reset.", "(off, record)"),
]

# Refused, decided (review 24g): a link's text that is a label is one. The refusal says to write it otherwise.
DECIDED = [
    ("otr-podcast-link", "Our podcast [Off the Record](https://podcast.example.com/) is unaffected."),
]


@pytest.mark.parametrize("text", [c[1] for c in LEAKS], ids=[c[0] for c in LEAKS])
def test_the_label_is_not_published(project: Project, pub: FakeReceiver, text: str) -> None:
    assert_kept_back(project, pub, text)


@pytest.mark.parametrize("rule", RULES, ids=RULE_IDS)
@pytest.mark.parametrize("text", [c[1] for c in LEAKS], ids=[c[0] for c in LEAKS])
def test_every_field_refuses_it(text: str, rule: gate.Rule) -> None:
    assert refused(text, rule)


def test_a_title_refuses_it() -> None:
    assert refused("Root cause (off the record)", gate.TITLE)
    assert not refused("Root cause (off, record)", gate.TITLE)


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


@pytest.mark.parametrize("text", [c[1] for c in DECIDED], ids=[c[0] for c in DECIDED])
def test_decided_refusals(text: str) -> None:
    assert refused(text, gate.MESSAGE)
