"""Fix 21p (review 21p of 441fe04): a round bracket split by an inner bracket, a link, an HTML comment or emphasis
inside a word is read to its matching ")"; German written without umlauts ("fuer") and the I/l lookalike read as
the words they spell; more wordings of the decided instructions; "not for customers ..." and "keep internal ..."
followed by a qualifier or a noun are prose; and `store import` checks an old export's public title with --title's
rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from broadcaster.messages import gate

from tests.conftest import Project
from tests.fakes.webhook import FakeReceiver
from tests.gate_helpers import RULE_IDS, RULES, post_text, public_receiver, refused  # noqa: F401 - pub fixture
from tests.input_helpers import stored
from tests.test_import_rules import exported, write


def bracket(inner: str) -> str:
    return f"API errors ({inner}) root cause CHG-4411."


# Finding 1: the bracket is cut by an inner bracket, a link, a comment or emphasis inside a word.
SPLIT = ["staff (EU) only", "internal (ops) only", "do not (ever) share", "internal [only](https://x.example)",
         "staff [only](https://x.example)", "do not [share](https://x.example)", "internal [only]",
         "inter<!-- -->nal only", "st**aff** only", "inter*nal* only", "internal o*nly*"]
# Finding 3: German without umlauts.
GERMAN = ["nicht fuer Kunden", "nur fuer Mitarbeiter", "nur fuer den internen Gebrauch"]
# Finding 4: I for l and l for I.
LOOKALIKE = ["staff onIy", "internaI only", "lnternal only"]
# Finding 5: other wordings.
WORDINGS = ["for your eyes only", "our eyes only", "not for external use", "not for users", "don't tell customers",
            "do not mention to customers", "do not post publicly", "nicht an Kunden weitergeben",
            "nicht nach außen geben", "ej för extern spridning", "keep this in-house"]
LEAKS = SPLIT + GERMAN + LOOKALIKE + WORDINGS


@pytest.mark.parametrize("rule", RULES, ids=RULE_IDS)
@pytest.mark.parametrize("inner", LEAKS)
def test_an_instruction_in_a_round_bracket_is_refused(inner: str, rule: gate.Rule) -> None:
    assert refused(bracket(inner), rule), inner


def test_a_reference_link_inside_the_bracket_is_read_as_its_text() -> None:
    text = "API errors (internal [only][1]) root cause CHG-4411.\n\n[1]: https://x.example"
    assert refused(text, gate.MESSAGE)


# Finding 6 was a qualifier after "customers", a noun after "internal", taken as prose; review 21r then found the
# same narrowing let "(not for customers yet)" and "(keep internal root cause CHG-4411)" through, so by the lead's
# fail-closed decision these are refused again (reworded without brackets they are text).
QUALIFIED = ["Checkout errors (the fix is not for customers on the legacy plan) since 14:00.",
             "The new limits apply from Monday (not for customers in the EU).",
             "Neue Limits ab Montag (nicht für Kunden mit Enterprise-Vertrag).",
             "Redirects were changed (we keep internal links working) since 14:00.",
             "API errors (not for customers yet) since 14:00.",
             "API errors (keep internal root cause CHG-4411) since 14:00."]


@pytest.mark.parametrize("text", QUALIFIED)
def test_a_qualified_not_for_customers_or_keep_internal_is_refused_too(text: str) -> None:
    assert refused(text, gate.MESSAGE), text


# Prose with inner brackets, emphasis and i/l words stays prose.
PROSE = ["API errors (see [the runbook](https://x.example) for steps) since 14:00.",
         "API errors (EU (Frankfurt) only) since 14:00.",
         "API errors (**all** regions, still failing) since 14:00.",
         "API errors (we do not tell users to retry) since 14:00."]


@pytest.mark.parametrize("text", PROSE)
def test_a_round_bracket_holding_no_instruction_is_taken(text: str) -> None:
    assert not refused(text, gate.MESSAGE), text


@pytest.mark.parametrize("inner", ["not for customers", "not for customers, see below", "keep internal",
                                   "keep this internal, please"])
def test_the_phrase_ending_the_bracket_or_a_clause_is_still_refused(inner: str) -> None:
    assert refused(bracket(inner), gate.MESSAGE)


def test_a_bracket_split_by_a_link_reaches_no_public_channel(project: Project, pub: FakeReceiver) -> None:
    result = post_text(project, "API errors (staff [only](https://wiki.example/x)) root cause CHG-4411.")
    assert result.exit_code == 2, result.output
    assert "CHG-4411" not in json.dumps(pub.events)


def test_an_old_exports_public_title_meets_the_title_rule(project: Project, tmp_path: Path) -> None:
    """Finding 2: no raw_title (schema 1), so the title is what --title took, and --title refuses this."""
    header, *records = exported(project, tmp_path)
    header["schema"] = 1
    for record in records:
        record["incident"].pop("raw_title")
    records[-1]["incident"]["title"] = "Checkout down (internal only) root cause CHG-4411"
    target = Project(tmp_path / "target")
    target.root.mkdir()
    target.write_config()
    result = target.cli("store", "import", str(write(tmp_path / "old.jsonl", [header, *records])))
    assert result.exit_code == 2, result.output
    assert stored(target) == []
