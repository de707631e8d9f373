"""Fix 20g (review 20g, findings 2 and 3): marker words in brackets, through the real CLI against the fakes.

- 3, over-refusal: a Markdown link's text ("[Azure Private Link](https://...)") was refused since fix 20b as a
  restricting run; it is drawn as a link, so only its first word counts again, as at 8a876e4. A bracket that only
  looks like a link (escaped, a destination with spaces, an undefined reference) is still judged as a label.
- 2, leaks: a restricting word in a run of five to eight words, "staff only" and "do not publish" in German, Swedish
  and English, and decoration just inside the bracket ("[=== INTERNAL ===]", "[-ops-]...[/-ops-]") were published.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import Project
from tests.fakes.webhook import FakeReceiver
from tests.gate_helpers import LEAK, assert_taken, public_receiver  # noqa: F401 - public_receiver: the pub fixture
from tests.gate_helpers import post_text as _post
from tests.gate_helpers import public_files as _public_files


def _refused_and_kept_back(project: Project, pub: FakeReceiver, text: str) -> str:
    result = _post(project, text)
    assert result.exit_code == 2, result.output
    assert "looks like" in result.stderr and "nothing was stored or sent" in result.stderr, result.stderr
    assert not [e for e in pub.events if LEAK in json.dumps(e)], "the public webhook got the span"
    assert LEAK not in _public_files(project), "the public page or feeds hold the span"
    return str(result.stderr)


# -- 3. a link's text is judged by its first word ------------------------------------------------------------------

LINKS = [
    ("azure", "Customers using [Azure Private Link](https://learn.microsoft.com/azure/private-link/) saw errors.",
     "Azure Private Link"),
    ("gcp", "Calls to [GCP Secret Manager](https://cloud.google.com/secret-manager) timed out.", "GCP Secret Manager"),
    ("de", "Die [interne Netzwerk-Migration](https://example.com/blog/migration) ist abgeschlossen.",
     "interne Netzwerk-Migration"),
    ("sv", "Se [våra interna system](https://example.com/status) för mer information.", "våra interna system"),
    ("title", 'See [our private cloud docs](https://example.com/docs "Private cloud") for details.',
     "our private cloud docs"),
    ("reference", "See [our confidential computing page][cc] for details.\n\n[cc]: https://example.com/cc",
     "our confidential computing page"),
]


@pytest.mark.parametrize(("text", "shown"), [link[1:] for link in LINKS], ids=[link[0] for link in LINKS])
def test_a_markdown_links_text_with_a_restricting_word_after_its_first_isassert_taken(
        project: Project, pub: FakeReceiver, text: str, shown: str) -> None:
    assert_taken(project, pub, text, shown)


NOT_LINKS = [
    ("first-word", "[internal](https://example.com) edge router fra-2 lost BGP after {leak}."),
    ("first-word-bold", "[**internal**](https://example.com) edge router fra-2 lost BGP after {leak}."),
    ("destination-with-spaces", "[ops internal](edge router) fra-2 lost BGP after {leak}."),
    ("escaped", "\\[ops internal\\](https://example.com) edge router fra-2 lost BGP after {leak}."),
    ("undefined-reference", "[ops internal][x] edge router fra-2 lost BGP after {leak}."),
]


@pytest.mark.parametrize("text", [n[1] for n in NOT_LINKS], ids=[n[0] for n in NOT_LINKS])
def test_a_bracket_the_page_draws_as_typed_is_judged_as_a_label(project: Project, pub: FakeReceiver, text: str) -> None:
    """Not drawn as a link (escaped, no valid destination, no such reference), or a link opening with a marker word
    as at 8a876e4: refused."""
    _refused_and_kept_back(project, pub, "API errors. " + text.format(leak=LEAK))


# -- 2. phrases, equivalents and decoration ------------------------------------------------------------------------

REFUSED = [
    "[nur für den internen Gebrauch]", "[strictly for internal use only]", "[ops – intern – bitte nicht teilen]",
    "[this part is internal to the ops team]",
    "[nur für Mitarbeiter]", "[endast för anställda]", "[employees only]", "[nicht veröffentlichen]",
    "[nicht zur Veröffentlichung]", "[ej för publicering]", "[får ej publiceras]", "[not for public release]",
    "[do not publish]", "[do not share]",
    "[=== INTERNAL ===]", "[-- internal --]", "[!!! staff only !!!]", "[# nur intern]", "[>> internal]",
    "[🔒 internal]", "[|internal|]",
]


@pytest.mark.parametrize("opener", REFUSED)
def test_a_restricting_phrase_is_refused(project: Project, pub: FakeReceiver, opener: str) -> None:
    stderr = _refused_and_kept_back(project, pub, f"API errors. {opener} edge router fra-2 lost BGP after {LEAK}.")
    assert "by design" in stderr and "round brackets" in stderr, stderr


@pytest.mark.parametrize(("opener", "closer"), [("[-ops-]", "[/-ops-]"), ('["ops"]', '[/"ops"]'),
                                                ("[== ops ==]", "[/== ops ==]"), ("[#ops]", "[/ops]")])
def test_a_tag_pair_behind_decoration_is_refused(project: Project, pub: FakeReceiver, opener: str, closer: str) -> None:
    _refused_and_kept_back(project, pub, f"API errors. {opener}edge router fra-2 lost BGP after {LEAK}{closer} Fixed.")


# -- ordinary text in brackets is still taken ----------------------------------------------------------------------

PROSE = [
    ("customers", "Hold on: [2 customers affected] recover.", "[2 customers affected]"),
    ("http-500", "Calls failed with [HTTP 500 Internal Server Error] for ten minutes.", "Internal Server Error"),
    ("de-500", "Aufrufe scheiterten mit [Fehler 500: Interner Serverfehler].", "Interner Serverfehler"),
    ("not-affected", "Status: [API not affected, public status page up].", "public status page up"),
    ("not-publicly", "Some [not publicly] said things are fine.", "not publicly"),
    ("staff-without-only", "Das Team hat [Mitarbeiter informiert] und repariert.", "Mitarbeiter informiert"),
    ("checkboxes", "Steps: [x] restarted [-] skipped [!NOTE] done.", "restarted"),
    ("dot-path", "We ran [./run.sh] and [/v2/orders] recovered.", "run.sh"),
    ("round-brackets", "API errors (see the internal runbook link below) are fixed.", "internal runbook"),
    ("ten-words", "Errors [two hours on the EU internal billing and login APIs today] ended.", "billing"),
]


@pytest.mark.parametrize(("text", "shown"), [p[1:] for p in PROSE], ids=[p[0] for p in PROSE])
def test_ordinary_text_in_brackets_is_stillassert_taken(project: Project, pub: FakeReceiver, text: str, shown: str) -> None:
    """"[see the internal runbook link below]" is refused by design (a word such as "internal" in square brackets
    reads as a marker among up to eight words, and the refusal says to use round brackets): the same in round
    brackets is taken, and so is a run of more than eight words."""
    assert_taken(project, pub, text, shown)
