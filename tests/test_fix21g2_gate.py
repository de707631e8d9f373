"""Fix 21g2 (review 21h): the input gate's round-bracket rule by position and by what the bracket holds, through the
real CLI against the fake webhook and the public site.

A round bracket right after a word, its sentence going on as prose, describes that word ("The help desk portal (staff
only) is unavailable"); at the start of a text, a line or a sentence, or with a colon after it, or holding the detail
after the instruction ("(internal only: root cause is ...)"), it is a marker. A negated "share" or "publish" with an
object is advice to the reader ("(please do not share it)"). Common wordings of the instructions, Swedish word order,
German prohibitions, the names ops teams go by, and Greek capitals that look Latin are refused."""

from __future__ import annotations

import pytest

from tests.conftest import Project
from tests.fakes.webhook import FakeReceiver
from tests.gate_helpers import assert_kept_back, assert_taken, public_receiver  # noqa: F401 - public_receiver: the pub fixture

# Finding 7: ordinary prose the gate refused (each was refused before this fix): a link's text that gives advice.
OVER_REFUSED = [
    ("link-to-phishing-guide", "Read [Do not share your password](https://help.example/phishing) before replying.",
     "Do not share your password"),
]


@pytest.mark.parametrize(("text", "shown"), [c[1:] for c in OVER_REFUSED], ids=[c[0] for c in OVER_REFUSED])
def test_prose_with_a_round_bracket_after_a_word_or_advice_is_taken(project: Project, pub: FakeReceiver, text: str,
                                                                    shown: str) -> None:
    assert_taken(project, pub, text, shown)


# Changed by fix 21l (review 21l, the lead's decision): an instruction to hide anywhere in a round bracket is refused
# wherever the bracket stands (fail closed); its position no longer makes it a description, and an object no longer
# makes "(do not share ...)" advice. These were taken by 211978f's position rule and are refused now; the refusal says
# to reword without brackets ("the staff-only help desk portal").
DECIDED_REFUSED = [
    ("phishing-2fa", "Beware of phishing emails (don't share your 2FA codes)."),
    ("never-ask-password", "We will never ask for your password (please do not share it)."),
    ("phishing-forward", "Phishing emails are circulating (do not forward them)."),
    ("phishing-forward-it", "Do not click links in the phishing email (do not forward it)."),
    ("psa-password", "PSA: (do not share your password) with anyone claiming to be support."),
    ("sharing-feature", "Sharing is broken (do not share documents until fixed)."),
    ("publish-feature", "Publishing fails (do not publish posts until fixed)."),
    ("help-desk-staff-only", "The help desk portal (staff only) is unavailable."),
    ("sso-employees-only", "SSO for the admin console (employees only) is down."),
    ("back-office-internal-only", "The back-office tool (internal only) is down; customer APIs are fine."),
    ("tooling-staff-only-semicolon", "Our internal tooling is affected (staff only); customer traffic is fine."),
    ("employees-affected-staff-only", "Only our employees are affected (staff only)."),
    ("affected-ops-only", "Affected: admin API (ops only)."),
    ("vms-fail-to-boot", "Confidential VMs (confidential only) fail to boot."),
    ("nur-intern-at-the-end", "Nur interne Systeme sind betroffen (nur intern)."),
    ("endast-interna-paverkas", "Interna system (endast interna) påverkas."),
    ("tlp-feed", "The threat feed (TLP:AMBER indicators) is delayed."),
    ("tlp-feeds-and-above", "Threat feeds (TLP:GREEN and above) are delayed."),
    ("admin-panel-internal-use-only", "The admin panel (internal use only) is slow."),
    ("not-customer-facing", "Our tools (internal only, not customer-facing) are slow."),
]


@pytest.mark.parametrize("text", [c[1] for c in DECIDED_REFUSED], ids=[c[0] for c in DECIDED_REFUSED])
def test_an_instruction_in_a_describing_round_bracket_is_refused_by_decision(project: Project, pub: FakeReceiver,
                                                                             text: str) -> None:
    assert_kept_back(project, pub, text)


# Findings 1 and 2: instructions in round brackets the gate published (each was published before this fix).
ROUND_LEAKS = [
    # the instruction heading the detail inside the bracket, right after a word
    ("internal-only-colon", "API errors (internal only: root cause is CHG-4411)."),
    ("staff-only-colon", "API errors (staff only: root cause is CHG-4411)."),
    ("nur-intern-colon", "API errors (nur intern: Ursache ist CHG-4411)."),
    ("endast-internt-colon", "API errors (endast internt: orsak CHG-4411)."),
    ("upper-case-colon", "API errors (INTERNAL ONLY: CHG-4411)."),
    ("internal-only-dash", "API errors (internal only - root cause is CHG-4411)."),
    ("internal-only-comma", "API errors (internal only, root cause is CHG-4411)."),
    ("internal-only-semicolon", "API errors (internal only; root cause is CHG-4411)."),
    ("internal-only-line-break", "API errors (internal only\nroot cause is CHG-4411)."),
    # wordings of the instruction the rule did not know
    ("internal-use-only", "API errors. (internal use only) cause: CHG-4411."),
    ("for-internal-use-only", "API errors. (for internal use only) cause: CHG-4411."),
    ("nur-fuer-den-internen-gebrauch", "API errors. (nur für den internen Gebrauch) Ursache: CHG-4411."),
    ("internal-do-not-share", "API errors. (internal, do not share) cause: CHG-4411."),
    ("confidential-do-not-share", "API errors. (confidential - do not share) cause: CHG-4411."),
    ("intern-nicht-weitergeben", "API errors. (intern, nicht weitergeben) Ursache: CHG-4411."),
    ("not-for-external-release", "API errors. (not for external release) cause: CHG-4411."),
    ("publiceras-ej", "API errors. (publiceras ej) orsak: CHG-4411."),
    ("weitergabe-untersagt", "API errors. (Weitergabe untersagt) Ursache: CHG-4411."),
    ("eyes-only", "API errors. (eyes only) cause: CHG-4411."),
]


@pytest.mark.parametrize("text", [c[1] for c in ROUND_LEAKS], ids=[c[0] for c in ROUND_LEAKS])
def test_an_instruction_in_round_brackets_is_refused(project: Project, pub: FakeReceiver, text: str) -> None:
    assert_kept_back(project, pub, text)


# Finding 3: square labels of the families the gate claims, in wordings it did not know (each was published).
SQUARE_LEAKS = [
    ("not-for-external-release", "API errors. [not for external release] cause: CHG-4411."),
    ("not-for-external-distribution", "API errors. [not for external distribution] cause: CHG-4411."),
    ("nicht-zur-externen-weitergabe", "API errors. [nicht zur externen Weitergabe] Ursache: CHG-4411."),
    ("weitergabe-untersagt", "API errors. [Weitergabe untersagt] Ursache: CHG-4411."),
    ("veroeffentlichung-untersagt", "API errors. [Veröffentlichung untersagt] Ursache: CHG-4411."),
    ("weitergabe-verboten", "API errors. [Weitergabe verboten] Ursache: CHG-4411."),
    ("weitergabe-nicht-gestattet", "API errors. [Weitergabe nicht gestattet] Ursache: CHG-4411."),
    ("weitergabe-an-dritte", "API errors. [Weitergabe an Dritte untersagt] Ursache: CHG-4411."),
    ("distribution-prohibited", "API errors. [distribution prohibited] cause: CHG-4411."),
    ("nur-fuer-den-dienstgebrauch", "API errors. [nur für den Dienstgebrauch] Ursache: CHG-4411."),
    ("publicera-inte", "API errors. [publicera inte] orsak: CHG-4411."),
    ("dela-inte", "API errors. [dela inte] orsak: CHG-4411."),
    ("publiceras-ej", "API errors. [publiceras ej] orsak: CHG-4411."),
    ("sprid-inte", "API errors. [sprid inte] orsak: CHG-4411."),
    ("dont-publish-acute", "API errors. [don\u00b4t publish] cause: CHG-4411."),
    ("sre-only", "API errors. [SRE only] cause: CHG-4411."),
    ("noc-only", "API errors. [NOC only] cause: CHG-4411."),
    ("on-call-only", "API errors. [on-call only] cause: CHG-4411."),
    ("on-call-spaced", "API errors. [on call only] cause: CHG-4411."),
    ("eyes-only", "API errors. [eyes only] cause: CHG-4411."),
    ("engineering-only", "API errors. [engineering only] cause: CHG-4411."),
    ("ops-and-sre-only", "API errors. [ops & SRE only] cause: CHG-4411."),
    ("ops-people-only", "API errors. [ops people only] cause: CHG-4411."),
    ("embargoed-colon", "API errors. [embargoed: 14:00 UTC] cause: CHG-4411."),
    ("sperrfrist-colon", "API errors. [Sperrfrist: 14 Uhr] Ursache: CHG-4411."),
]


@pytest.mark.parametrize("text", [c[1] for c in SQUARE_LEAKS], ids=[c[0] for c in SQUARE_LEAKS])
def test_a_square_label_in_a_wording_the_gate_did_not_know_is_refused(project: Project, pub: FakeReceiver,
                                                                      text: str) -> None:
    assert_kept_back(project, pub, text)


# Finding 6: Greek capitals whose skeleton is a Latin capital, and a bracket whose skeleton is no bracket.
LOOKALIKE_LEAKS = [
    ("greek-epsilon-internal", "API errors. [INT\u0395RNAL] cause: CHG-4411."),
    ("greek-epsilon-secret", "API errors. [S\u0395CR\u0395T] cause: CHG-4411."),
    ("greek-epsilon-hidden", "API errors. [HIDD\u0395N] cause: CHG-4411."),
    ("greek-nu-nda", "API errors. [\u039dDA] cause: CHG-4411."),
    ("greek-nu-do-not-publish", "API errors. [DO \u039dOT PUBLISH] cause: CHG-4411."),
    ("greek-kappa-keep-internal", "API errors. [\u039aEEP INTERNAL] cause: CHG-4411."),
    ("greek-nu-round-internal-only", "API errors. (I\u039dTERNAL O\u039dLY) cause: CHG-4411."),
    ("sideways-u-bracket", "API errors. \u2e26private\u2e27 cause: CHG-4411."),
]


@pytest.mark.parametrize("text", [c[1] for c in LOOKALIKE_LEAKS], ids=[c[0] for c in LOOKALIKE_LEAKS])
def test_a_greek_capital_or_sideways_bracket_lookalike_is_refused(project: Project, pub: FakeReceiver,
                                                                   text: str) -> None:
    assert_kept_back(project, pub, text)


# Regression guards of the position rule (refused before this fix and after): where a bracket heads what follows.
STILL_REFUSED = [
    ("text-start", "(internal only) cause: CHG-4411."),
    ("sentence-start", "API errors. (staff only) cause: CHG-4411."),
    ("line-start", "API errors.\n(internal only) cause: CHG-4411."),
    ("bullet", "API errors.\n- (internal only) cause: CHG-4411."),
    ("emphasis-at-start", "**(internal only)** cause: CHG-4411."),
    ("after-a-bracket", "[Update 2] (internal only) cause: CHG-4411."),
    ("colon-after", "API errors (internal only): root cause is CHG-4411."),
    ("detail-goes-on", "API errors (internal only) root cause is CHG-4411."),
    ("do-not-publish-after-a-word", "API errors (do not publish) cause: CHG-4411."),
    ("do-not-share-this", "API errors. (do not share this) cause: CHG-4411."),
    ("do-not-publish-until", "API errors (do not publish until 14:00 UTC) cause: CHG-4411."),
    ("tlp-amber-alone", "API errors. (TLP:AMBER) cause: CHG-4411."),
    ("tlp-amber-colon", "API errors (TLP:AMBER: root cause is CHG-4411)."),
    ("link-staff-only", "API errors. [staff only](https://x.example) cause: CHG-4411."),
]


@pytest.mark.parametrize("text", [c[1] for c in STILL_REFUSED], ids=[c[0] for c in STILL_REFUSED])
def test_a_round_instruction_heading_what_follows_stays_refused(project: Project, pub: FakeReceiver,
                                                                text: str) -> None:
    assert_kept_back(project, pub, text)


# ... and prose that stays taken (taken before this fix and after).
STILL_TAKEN = [
    ("admins-only", "The dashboard (admins only) is slow.", "(admins only)"),
    ("not-yet-released", "Version 2.4 (not yet released) is unaffected.", "(not yet released)"),
    ("ops-heading-a-statement", "API errors. [Ops: only the EU region affected] Retry later.",
     "Ops: only the EU region affected"),
    ("sre-heading-a-statement", "API errors. [SRE: only EU affected] Retry later.", "SRE: only EU affected"),
    ("team-in-a-sentence", "API errors. [Only team members affected] Retry later.", "Only team members affected"),
    ("need-to-know-dns", "API errors. [Need to know: DNS] Retry later.", "Need to know: DNS"),
]


@pytest.mark.parametrize(("text", "shown"), [c[1:] for c in STILL_TAKEN], ids=[c[0] for c in STILL_TAKEN])
def test_prose_beside_the_new_rules_stays_taken(project: Project, pub: FakeReceiver, text: str, shown: str) -> None:
    assert_taken(project, pub, text, shown)
