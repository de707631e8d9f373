"""Fix 21l (review 21l): in a message, a title, a postmortem and a customer's detail, a round (or curly) bracket that
holds an instruction to hide anywhere in it is refused wherever it stands (fail closed); 211978f let its position
(after a word, in a sentence that goes on) make it a description, which leaked a heading's section, a sentence's
trailing tag, "Root cause (internal only) is ...", and "(do not share it) root cause ...". Small Greek letters that
look Latin in a marker word read as those letters."""

from __future__ import annotations

import pytest
from broadcaster.messages import gate

from tests.conftest import Project
from tests.fakes.webhook import FakeReceiver
from tests.gate_helpers import RULE_IDS, RULES, assert_kept_back, assert_taken, post_text, public_receiver, refused  # noqa: F401 - pub fixture

# Each was taken at 211978f (findings 1-7): the instruction anywhere in the bracket, the bracket anywhere.
LEAKS = [
    # 1: a bracket ending a heading line
    ("md-heading", "## Root cause (internal only)\nThe CHG-4411 deploy by J. Smith dropped the index."),
    ("plain-heading", "API errors.\n\nTimeline (staff only)\n14:02 CHG-4411 deployed"),
    ("crlf-heading", "Affected customers (internal only)\r\n- Acme\n- Globex (CHG-4411)"),
    # 2: closing a sentence, or followed by punctuation and the detail
    ("trailing", "API errors. Root cause: the CHG-4411 deploy (internal only)."),
    ("trailing-no-stop", "API errors. Root cause: the CHG-4411 deploy (staff only)"),
    ("comma-after", "API errors (internal only), root cause CHG-4411."),
    ("ellipsis-after", "API errors (internal only) ... root cause CHG-4411."),
    # 3: before a verb, a conjunction or a preposition
    ("root-cause-is", "Root cause (internal only) is CHG-4411."),
    ("ursache-ist", "Ursache (nur intern) ist CHG-4411."),
    ("orsak-ar", "Orsak (endast internt) \u00e4r CHG-4411."),
    ("since", "API errors (internal only) since CHG-4411 was deployed."),
    # 4: a prohibition with an object, heading the detail
    ("share-it", "API errors. (don't share it) root cause CHG-4411."),
    ("share-the-cause", "API errors. (please do not share the cause) CHG-4411."),
    ("text-start-publish-it", "(do not publish it) Root cause CHG-4411."),
    # 5: a second comma after the negated description
    ("second-comma", "API errors (internal only, not customer-facing, root cause CHG-4411) are rising."),
    ("negation-then-detail", "API errors (internal only, not caused by us but by CHG-4411)."),
    # 6: any separator, none, or an inner bracket
    ("pipe", "API errors (internal only | cause: CHG-4411)."),
    ("arrow", "API errors (internal only \u2192 cause: CHG-4411)."),
    ("line-separator", "API errors (internal only\u2028root cause CHG-4411)."),
    ("no-separator", "API errors (internal only root cause CHG-4411)."),
    ("inner-square-bracket", "API errors. (staff only [root cause CHG-4411])"),
    ("inner-curly-bracket", "API errors. (internal only {root cause CHG-4411})"),
    ("curly-label", "Root cause {staff only} is CHG-4411."),
    # 7: wordings
    ("internal-only-please", "API errors. (internal only please) root cause CHG-4411."),
    ("please-comma-internal-only", "API errors. (please, internal only) root cause CHG-4411."),
    ("internally-only", "API errors. (internally only) root cause CHG-4411."),
    ("internal-eyes-only", "API errors. (internal eyes only) root cause CHG-4411."),
    ("not-for-customers", "API errors. (not for customers) root cause CHG-4411."),
    ("nicht-fuer-kunden", "API-Fehler. (nicht f\u00fcr Kunden) Ursache CHG-4411."),
    ("keep-internal", "API errors. (keep internal) root cause CHG-4411."),
    ("keep-this-internal", "API errors (keep this internal) root cause CHG-4411."),
    ("tlp-red-among-words", "The root cause (TLP:RED indicators CHG-4411) is known."),
]


@pytest.mark.parametrize("text", [c[1] for c in LEAKS], ids=[c[0] for c in LEAKS])
@pytest.mark.parametrize("rule", RULES, ids=RULE_IDS)
def test_an_instruction_anywhere_in_a_round_bracket_is_refused(text: str, rule: gate.Rule) -> None:
    assert refused(text, rule)


def test_a_section_headed_internal_only_reaches_no_public_place(project: Project, pub: FakeReceiver) -> None:
    assert_kept_back(project, pub, "API errors for 40 minutes.\n\n## Root cause (internal only)\n"
                                   "The CHG-4411 deploy by J. Smith dropped the index.")


def test_a_label_before_is_refused_with_a_hint_to_reword_without_brackets(project: Project, pub: FakeReceiver) -> None:
    result = post_text(project, "Root cause (internal only) is CHG-4411.")
    assert result.exit_code == 2, result.output
    assert "without brackets" in result.stderr and "--private" in result.stderr, result.stderr


# Finding 10: small Greek letters whose capitals look Latin (taken at 211978f).
SMALL_GREEK = [
    ("epsilon-internal", "API errors. [int\u03b5rnal] cause: CHG-4411."),
    ("epsilon-secret", "API errors. [s\u03b5cret] cause: CHG-4411."),
    ("nu-internal", "API errors. [i\u03bdternal] cause: CHG-4411."),
    ("kappa-keep-internal", "API errors. [\u03baeep internal] cause: CHG-4411."),
    ("epsilon-round", "API errors. (int\u03b5rnal only) cause: CHG-4411."),
    ("cyrillic-ka", "API errors. [\u043aeep internal] cause: CHG-4411."),
]


@pytest.mark.parametrize("text", [c[1] for c in SMALL_GREEK], ids=[c[0] for c in SMALL_GREEK])
def test_a_small_greek_or_cyrillic_lookalike_is_refused(project: Project, pub: FakeReceiver, text: str) -> None:
    assert_kept_back(project, pub, text)


# Guards (taken at 211978f and now): round brackets holding no instruction to hide, and a nu that reads as "v".
PROSE = [
    ("eu-only", "API errors (EU only) are rising.", "(EU only)"),
    ("admins-only", "The dashboard (admins only) is slow.", "(admins only)"),
    ("see-below", "API errors (see below) are rising.", "(see below)"),
    ("updated", "API errors (updated 14:30 UTC) are rising.", "(updated 14:30 UTC)"),
    ("eta", "A fix is rolling out (ETA 15:00).", "(ETA 15:00)"),
    ("internal-tooling", "Deploys (internal tooling) are delayed.", "(internal tooling)"),
    ("internal-api", "The orders service (internal API) is slow.", "(internal API)"),
    ("internal-alone", "The build cache (internal) is slow.", "(internal)"),
    ("not-public", "The staging API (not public) is down.", "(not public)"),
    ("not-yet-released", "Version 2.4 (not yet released) is unaffected.", "(not yet released)"),
    ("tlp-clear", "The advisory (TLP:CLEAR) is below.", "(TLP:CLEAR)"),
    ("restricted-to-admins", "Exports (restricted to admins) are slow.", "(restricted to admins)"),
    ("internal-to", "Traffic (internal to the EU region) is delayed.", "(internal to the EU region)"),
]


@pytest.mark.parametrize(("text", "shown"), [c[1:] for c in PROSE], ids=[c[0] for c in PROSE])
def test_prose_in_round_brackets_stays_taken(project: Project, pub: FakeReceiver, text: str, shown: str) -> None:
    assert_taken(project, pub, text, shown)


@pytest.mark.parametrize("rule", RULES, ids=RULE_IDS)
def test_a_greek_nu_in_ordinary_words_stays_taken(rule: gate.Rule) -> None:
    assert not refused("API errors (\u03bd2 rollout, see below) are rising.", rule)


# Guard (refused at 211978f and now): an em dash, which folds to a letter-like mark, still ends the label.
@pytest.mark.parametrize("dash", ["\u2014", "\u2015", "\ufe58"], ids=["em", "bar", "small-em"])
def test_an_instruction_before_an_em_dash_stays_refused(dash: str) -> None:
    assert refused(f"API errors (internal only{dash} root cause CHG-4411).", gate.MESSAGE)
