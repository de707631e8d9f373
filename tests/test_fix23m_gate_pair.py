"""Review 23m of f8238f3 (fixed: no pair reading at all): a label "paired" with one plain word after '/' ("(confidential/public)", ``_paired``) lets a
label heading one word of detail through again, and a second '/' lets two through: refused at f8238f3^ (b1a6664: "a
label heads detail after any break ('/')"), published now. A codename or a customer's name is one word."""

from __future__ import annotations

import json

import pytest
from broadcaster.messages import gate

from tests.conftest import Project
from tests.fakes.webhook import FakeReceiver
from tests.gate_helpers import (  # noqa: F401 - public_receiver: the pub fixture
    RULE_IDS,
    RULES,
    assert_kept_back,
    post_text,
    public_files,
    public_receiver,
    refused,
)

LEAKS = [
    ("codename", "The outage hit (confidential/Nightingale) workloads from 09:10 to 09:55 UTC."),
    ("codename-spaced", "The outage hit (confidential / Nightingale) workloads from 09:10 to 09:55 UTC."),
    ("two-details", "The outage hit (confidential/Nightingale/Globex) workloads from 09:10 to 09:55 UTC."),
    ("then-ticket", "Root cause (confidential/Nightingale: CHG-4411) is fixed."),
    ("then-ticket-semicolon", "Root cause (confidential/Acme; see CHG-4411) is fixed."),
    ("then-ticket-dash", "Root cause (confidential/Acme - CHG-4411 rollback) is fixed."),
    ("pair-then-ticket", "Root cause (confidential/public: CHG-4411) is fixed."),
    ("german", "The outage hit (vertraulich / Nightingale) workloads from 09:10 to 09:55 UTC."),
]


@pytest.mark.parametrize("rule", RULES, ids=RULE_IDS)
@pytest.mark.parametrize("text", [c[1] for c in LEAKS], ids=[c[0] for c in LEAKS])
def test_a_label_heading_one_word_after_a_slash_is_refused(text: str, rule: gate.Rule) -> None:
    assert refused(text, rule)


def test_the_codename_reaches_no_public_place(project: Project, pub: FakeReceiver) -> None:
    result = post_text(project, "The outage hit (confidential/Nightingale/Globex) workloads from 09:10 to 09:55 UTC.")
    assert result.exit_code == 2, result.output
    assert "Nightingale" not in json.dumps(pub.events) and "Nightingale" not in public_files(project)


def test_the_ticket_behind_a_paired_word_reaches_no_public_place(project: Project, pub: FakeReceiver) -> None:
    """The pair check skips the '/' break, and the ':' after the paired word is never read as a head (a word no
    label takes stands before it): the whole detail, CHG-4411 included, is published."""
    assert_kept_back(project, pub, "Root cause (confidential/Acme; see CHG-4411) is fixed.")
