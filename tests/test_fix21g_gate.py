"""Fix 21g: labels the gate published (do not release, classification and TLP labels, groups with "only", bracket
symbols with no bracket skeleton, instructions in round brackets, a link's text that is only an instruction) and
prose it refused (participles with a subject, "only via VPN" after a reach word, a mailto: or reference link), through
the real CLI against the fake webhook and the public site."""

from __future__ import annotations

import pytest

from tests.conftest import Project
from tests.fakes.webhook import FakeReceiver
from tests.gate_helpers import LEAK, assert_kept_back, assert_taken, post_text, public_files, public_receiver  # noqa: F401 - public_receiver: the pub fixture

# Each was published before this fix.
LEAKS = [
    # 1. "do not release", weak publish words, "don't" with either apostrophe
    ("do-not-release", "API errors. [do not release] cause: CHG-4411."),
    ("do-not-distribute", "API errors. [do not distribute] cause: CHG-4411."),
    ("not-for-release", "API errors. [not for release] cause: CHG-4411."),
    ("dont-publish", "API errors. [don't publish] cause: CHG-4411."),
    ("dont-publish-typographic", "API errors. [don\u2019t publish] cause: CHG-4411."),
    ("nicht-zur-weitergabe", "API errors. [nicht zur Weitergabe] Ursache: CHG-4411."),
    # 2. whole instructions in round brackets
    ("round-nur-intern", "API errors. (nur intern) Ursache: CHG-4411."),
    ("round-internal-only", "API errors. (internal only) cause: CHG-4411."),
    ("round-staff-only", "API errors. (staff only) cause: CHG-4411."),
    ("round-ops-only", "API errors. (ops only) cause: CHG-4411."),
    ("round-do-not-publish", "API errors. (do not publish) cause: CHG-4411."),
    ("round-not-for-public-release", "API errors. (not for public release) cause: CHG-4411."),
    ("round-please-do-not-share", "API errors. (please do not share) cause: CHG-4411."),
    ("round-bitte-nicht", "API errors. (bitte nicht veröffentlichen) Ursache: CHG-4411."),
    ("round-strictly-confidential", "API errors. (strictly confidential) cause: CHG-4411."),
    ("curly-nur-intern", "API errors. {nur intern} Ursache: CHG-4411."),
    ("round-tlp-amber", "API errors. (TLP:AMBER) cause: CHG-4411."),
    # 3. classification labels alone, restricted TLP levels
    ("restricted", "API errors. [restricted] cause: CHG-4411."),
    ("tlp-red", "API errors. [TLP:RED] cause: CHG-4411."),
    ("tlp-amber", "API errors. [TLP:AMBER] cause: CHG-4411."),
    ("tlp-amber-strict", "API errors. [TLP:AMBER+STRICT] cause: CHG-4411."),
    ("tlp-green", "API errors. [TLP:GREEN] cause: CHG-4411."),
    ("classified", "API errors. [classified] cause: CHG-4411."),
    ("sensitive", "API errors. [sensitive] cause: CHG-4411."),
    ("need-to-know", "API errors. [need to know] cause: CHG-4411."),
    ("nda", "API errors. [NDA] cause: CHG-4411."),
    ("under-embargo", "API errors. [under embargo] cause: CHG-4411."),
    ("embargoed", "API errors. [embargoed] cause: CHG-4411."),
    ("embargoed-until", "API errors. [embargoed until 14:00 UTC] cause: CHG-4411."),
    ("strictly-restricted", "API errors. [strictly restricted] cause: CHG-4411."),
    # 4. several groups, then "only"
    ("mitarbeiter-und-partner", "API errors. [Mitarbeiter und Partner only] Ursache: CHG-4411."),
    ("employees-and-contractors", "API errors. [employees & contractors only] cause: CHG-4411."),
    ("only-for-partners-and-staff", "API errors. [only for partners and staff] cause: CHG-4411."),
    ("ops-only", "API errors. [ops only] cause: CHG-4411."),
    ("ops-only-please", "API errors. [ops only please] cause: CHG-4411."),
    ("reachable-only-for-ops", "API errors. [not publicly reachable, only for ops] cause: CHG-4411."),
    # 5. bracket-like symbols that are no Ps/Pe punctuation
    ("upper-corners-private", "API errors. \u23a1private\u23a4 cause: CHG-4411."),
    ("square-image-private", "API errors. \u228fprivate\u2290 cause: CHG-4411."),
    ("subset-private", "API errors. \u2282private\u2283 cause: CHG-4411."),
    ("upper-corners-internal", "API errors. \u23a1internal\u23a4 cause: CHG-4411."),
    ("corner-marks-internal", "API errors. \u231cinternal\u231d cause: CHG-4411."),
    ("upper-corners-decorated", "API errors. \u23a1 -- internal -- \u23a4 cause: CHG-4411."),
    # a link's text that is only an instruction is no prose
    ("link-nur-intern", "API errors. [nur intern](https://x.example) Ursache: CHG-4411."),
    ("link-do-not-publish", "API errors. [do not publish](https://x.example) cause: CHG-4411."),
]


@pytest.mark.parametrize("text", [case[1] for case in LEAKS], ids=[case[0] for case in LEAKS])
def test_a_label_the_gate_published_is_refused(project: Project, pub: FakeReceiver, text: str) -> None:
    assert_kept_back(project, pub, text)


# Each was refused before this fix: ordinary prose.
OVER_REFUSED = [
    ("fix-not-yet-published", "API errors. [fix not yet published] Retry later.", "fix not yet published"),
    ("patch-noch-nicht", "API errors. [Patch noch nicht veröffentlicht] Bitte warten.", "Patch noch nicht veröffentlicht"),
    ("only-via-vpn-de", "API errors. [nicht öffentlich erreichbar, nur über VPN] Bitte warten.",
     "nicht öffentlich erreichbar, nur über VPN"),
    ("mailto-link", "API errors. Mail [ops internal notes](mailto:ops@x.example) for updates.", "ops internal notes"),
]


@pytest.mark.parametrize(("text", "shown"), [case[1:] for case in OVER_REFUSED], ids=[case[0] for case in OVER_REFUSED])
def test_prose_the_gate_refused_is_taken(project: Project, pub: FakeReceiver, text: str, shown: str) -> None:
    assert_taken(project, pub, text, shown)


# Regression guards: what stays refused (labels of earlier fixes beside the new exemptions) ...
STILL_REFUSED = [
    ("not-public-visible-only-to-ops", "API errors. [not public, visible only to ops] cause: CHG-4411."),
    ("erreichbar-nur-fur-ops", "API errors. [nicht öffentlich erreichbar, nur für Ops] Ursache: CHG-4411."),
    ("not-yet-published", "API errors. [not yet published] cause: CHG-4411."),
    ("not-to-be-shared", "API errors. [logs not to be shared] cause: CHG-4411."),
    ("nicht-geteilt", "API errors. [nicht geteilt] Ursache: CHG-4411."),
    ("mailto-nur-intern", "API errors. [nur intern](mailto:x@y.z) Ursache: CHG-4411."),
    ("staff-and-partners-only", "API errors. [staff and partners only] cause: CHG-4411."),
    ("white-square-private", "API errors. \u27e6private\u27e7 cause: CHG-4411."),
    ("white-corner-private", "API errors. \u301aprivate\u301b cause: CHG-4411."),
    ("white-curly-private", "API errors. \u2983private\u2984 cause: CHG-4411."),
]


@pytest.mark.parametrize("text", [case[1] for case in STILL_REFUSED], ids=[case[0] for case in STILL_REFUSED])
def test_labels_beside_the_new_exemptions_stay_refused(project: Project, pub: FakeReceiver, text: str) -> None:
    assert_kept_back(project, pub, text)


# ... and ordinary status prose with brackets that stays taken.
PROSE = [
    ("update-time", "[Update 14:30] API errors are elevated.", "Update 14:30"),
    ("resolved", "[Resolved] API errors are back to normal.", "Resolved"),
    ("region", "[EU-West] API errors are elevated.", "EU-West"),
    ("component", "[API] errors elevated in EU-West.", "[API] errors elevated"),
    ("link", "Customers of [Azure Private Link](https://x.example) saw errors.", "Azure Private Link"),
    ("restricted-in-a-sentence", "API errors. [restricted mode enabled on the dashboard] Retry later.",
     "restricted mode enabled on the dashboard"),
    ("scheduled", "[Scheduled maintenance] API errors expected.", "Scheduled maintenance"),
    ("sensitive-in-a-sentence", "API errors. [Sensitive data was not affected] Retry later.",
     "Sensitive data was not affected"),
    ("tlp-clear", "API errors. [TLP:CLEAR] Retry later.", "TLP:CLEAR"),
    ("tlp-white", "API errors. [TLP:WHITE] Retry later.", "TLP:WHITE"),
    ("release-blocker", "API errors. [not a release blocker] Retry later.", "not a release blocker"),
    ("round-internal", "The billing API (internal) failed. Retry later.", "(internal)"),
    ("round-intern", "Die Abrechnungs-API (intern) ist ausgefallen.", "(intern)"),
    ("round-internal-api", "Errors in the (internal API) layer. Retry later.", "(internal API)"),
    ("round-internal-dns", "Lookups failed (internal DNS resolvers affected). Retry later.",
     "(internal DNS resolvers affected)"),
    ("round-not-public", "The admin endpoint (not public) failed. Retry later.", "(not public)"),
    ("round-not-yet-released", "Version 2.4 (not yet released) is unaffected.", "(not yet released)"),
    ("round-admins-only", "The dashboard (admins only) is slow.", "(admins only)"),
    ("cant-share", "API errors. [Users can't share files] Retry later.", "Users can't share files"),
    ("staff-portal-prose", "API errors. [EU staff and partner portal only affected] Retry later.",
     "EU staff and partner portal only affected"),
    # beside the new rules: "ops" heading a statement, a participle with a subject, "only via", a reference link
    ("ops-heading-a-statement", "API errors. [Ops: only the EU region affected] Retry later.",
     "Ops: only the EU region affected"),
    ("fix-not-yet-released", "API errors. [fix not yet released] Retry later.", "fix not yet released"),
    ("only-via-vpn-en", "API errors. [not publicly reachable, only via VPN] Retry later.",
     "not publicly reachable, only via VPN"),
    ("reference-with-m", "API errors. See [our internal summary][sum] later.\n\n[sum]: https://x.example/s",
     "our internal summary"),
]


@pytest.mark.parametrize(("text", "shown"), [case[1:] for case in PROSE], ids=[case[0] for case in PROSE])
def test_ordinary_status_prose_stays_taken(project: Project, pub: FakeReceiver, text: str, shown: str) -> None:
    assert_taken(project, pub, text, shown)


def test_a_round_bracket_refusal_says_to_reword_not_to_use_round_brackets(project: Project) -> None:
    result = post_text(project, "API errors. (nur intern) Ursache: CHG-4411.")
    assert result.exit_code == 2, result.output
    assert "even in round brackets" in result.stderr and "reword" in result.stderr, result.stderr
    assert "use round brackets" not in result.stderr, result.stderr


def test_an_instruction_in_round_brackets_is_prose_in_a_field_private_as_a_whole(project: Project,
                                                                                 pub: FakeReceiver) -> None:
    """Only where markers cut a text into public and private parts does "(staff only)" try to hide what follows; a
    staff note says it as prose and stays off the public page."""
    result = project.cli("post", "--yes", "--title", "API errors", "-C", "api", "--private",
                         "Ticket CHG-4411 (staff only)", "API errors are elevated.")
    assert result.exit_code == 0, result.output
    assert LEAK not in public_files(project) and not [e for e in pub.events if LEAK in str(e)]
