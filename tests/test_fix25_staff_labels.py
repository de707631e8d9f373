"""Session 25: a label for staff written without brackets, at the head of a line or a sentence ("Internal only: the
cause was CHG-4411."), alone on a line ("CONFIDENTIAL"), or between breaks after its detail ("Cause: CHG-4411 —
internal only"), was published to the page and every public channel: the input gate read such labels in brackets
only. Staff write such lines to staff channels as a matter of course ("Staff only: ..." with ``--only ops``), so
the refusal depends on where the update goes: refused (exit 2, nothing stored or sent) when any destination is
beyond staff (the page, a public channel, a customer's channel), sent as written when every one is internal.

Each world here is real: Slack's SDK against the fake Slack on loopback, with a public channel, an internal one
and two customers' channels (``tests/test_audiences.py``'s), and the page built into its folder.
"""

from __future__ import annotations

import html
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from broadcaster.messages import gate

from tests.conftest import Project
from tests.fakes.slack import FakeSlack
from tests.test_audiences import said, slack_world

LEAK = "CHG-4411"


@pytest.fixture
def slack(project: Project) -> Iterator[FakeSlack]:
    """A public, an internal and two customers' Slack channels (``tests/test_audiences.py``)."""
    yield from slack_world(project)

# Refused wherever it goes beyond staff. Each holds LEAK after its label.
LABELLED = [
    ("internal-only", "Internal only: the cause was CHG-4411."),
    ("internal", "Internal: the cause was CHG-4411."),
    ("confidential-dash", "CONFIDENTIAL — the cause was CHG-4411."),
    ("staff-note-bold", "**Staff note:** the cause was CHG-4411."),
    ("staff", "Staff: the cause was CHG-4411."),
    ("note-to-staff", "Note to staff: the cause was CHG-4411."),
    ("do-not-share", "Do not share: the cause was CHG-4411."),
    ("dont-share", "Don't share - the cause was CHG-4411."),
    ("not-for-customers", "Not for customers: the cause was CHG-4411."),
    ("off-the-record", "Off the record: the cause was CHG-4411."),
    ("for-internal-use", "For internal use: the cause was CHG-4411."),
    ("internal-note", "Internal note: the cause was CHG-4411."),
    ("keep-internal", "Keep internal: the cause was CHG-4411."),
    ("restricted", "Restricted: the cause was CHG-4411."),
    ("second-sentence", "API errors are elevated. Internal only: the cause was CHG-4411."),
    ("second-line", "API errors are elevated.\n\nInternal: the cause was CHG-4411."),
    ("alone-on-a-line", "API errors are elevated.\n\nINTERNAL ONLY\nThe cause was CHG-4411."),
    ("quoted", "API errors are elevated.\n\n> Internal only: the cause was CHG-4411."),
    ("bullet", "API errors are elevated.\n\n- Confidential: the cause was CHG-4411."),
    ("numbered", "API errors are elevated.\n\n1. Internal only: the cause was CHG-4411."),
    ("heading", "API errors are elevated.\n\n### Internal only\nThe cause was CHG-4411."),
    ("pipe", "Internal | the cause was CHG-4411."),
    ("semicolon", "Confidential; the cause was CHG-4411."),
    ("hyphenated", "Internal-only: the cause was CHG-4411."),
    ("ends-its-detail-dash", "Cause: CHG-4411 — internal only."),
    ("ends-its-detail-semicolon", "Cause: CHG-4411; strictly confidential."),
    ("between-breaks", "Cause: internal only: CHG-4411."),
    ("tlp", "TLP:AMBER: the cause was CHG-4411."),
    ("german", "Nur intern: die Ursache war CHG-4411."),
    ("german-note", "Interne Notiz: die Ursache war CHG-4411."),
    ("german-staff", "Nur f\u00fcr Mitarbeiter: die Ursache war CHG-4411."),
    ("swedish", "Endast internt: orsaken var CHG-4411."),
    ("swedish-note", "Intern anteckning: orsaken var CHG-4411."),
    # lookalikes: they fold as markers do
    ("cyrillic-i", "\u0406nternal only: the cause was CHG-4411."),
    ("cyrillic-o", "Internal \u043enly: the cause was CHG-4411."),
    ("zero-width", "Inter\u200bnal only: the cause was CHG-4411."),
    ("soft-hyphen", "Inter\u00adnal only: the cause was CHG-4411."),
    ("fullwidth-colon", "Internal only\uff1a the cause was CHG-4411."),
    ("fullwidth-letters", "\uff29\uff4e\uff54\uff45\uff52\uff4e\uff41\uff4c only: the cause was CHG-4411."),
    ("digits", "Int3rnal only: the cause was CHG-4411."),
    ("spaced", "I n t e r n a l  o n l y: the cause was CHG-4411."),
    ("entity", "Internal only&#58; the cause was CHG-4411."),
    ("please-do-not-post-publicly", "Please do not post publicly: the cause was CHG-4411."),
    ("do-not-tell-customers", "Do not tell customers: the cause was CHG-4411."),
    ("emoji-before", "\U0001f512 Internal only: the cause was CHG-4411."),
    ("bracket-inside", "Internal (ops) only: the cause was CHG-4411."),
    # review 25a
    ("comma", "Internal only, the cause was CHG-4411."),
    ("comma-after", "Cause: CHG-4411, internal only."),
    ("html-bold", "<b>Internal only:</b> the cause was CHG-4411."),
    ("html-paragraphs", "<p>INTERNAL ONLY</p><p>The cause was CHG-4411.</p>"),
    ("html-details", "<details><summary>Internal only</summary>The cause was CHG-4411.</details>"),
    ("note-key", "Note: internal only. The cause was CHG-4411."),
    ("fyi-do-not-share", "FYI: do not share. The cause was CHG-4411."),
    ("after-a-colon", "The cause was CHG-4411: internal only."),
    ("arrow", "Internal only \u2192 the cause was CHG-4411."),
    ("ascii-arrow", "Internal only -> the cause was CHG-4411."),
    ("spaced-slash", "Internal only / the cause was CHG-4411."),
    ("en-dash-unspaced", "Internal only \u2013the cause was CHG-4411."),
    ("emoji-between", "Errors rose \u2705 Internal only: the cause was CHG-4411."),
    ("mention", "@channel Internal only: the cause was CHG-4411."),
    ("bold-no-colon", "**INTERNAL ONLY** the cause was CHG-4411."),
    ("after-a-quote", "Errors rose.\" Internal only: the cause was CHG-4411."),
    ("task-box", "- [ ] Internal only: the cause was CHG-4411."),
    ("letter-bullet", "a) Internal only: the cause was CHG-4411."),
    ("dash-not-for-customers", "The cause was CHG-4411 - not for customers."),
    ("dash-staff-note", "The cause was CHG-4411 \u2014 staff note."),
    ("not-public", "Not public: the cause was CHG-4411."),
    ("nicht-offentlich", "Nicht \u00f6ffentlich \u2014 die Ursache war CHG-4411."),
    ("do-not-post", "Do not post: the cause was CHG-4411."),
    ("internal-update", "Internal update: the cause was CHG-4411."),
    ("interne-zwecke", "Nur f\u00fcr interne Zwecke: die Ursache war CHG-4411."),
    ("between-us", "Between us: the cause was CHG-4411."),
    ("pipe-as-letter", "|nternal only: the cause was CHG-4411."),
    ("line-separator", "Errors are elevated.\u2028Internal only: the cause was CHG-4411."),
    ("shouted-without-a-break", "INTERNAL ONLY the cause was CHG-4411."),
    ("typo", "Intrnal only: the cause was CHG-4411."),
    ("long-bracket", "Internal only (for the ops and SRE teams and the people on the incident bridge today): CHG-4411."),
    ("long-comma", "Internal only, do not share with customers or partners under any circumstances: CHG-4411."),
    # review 25b
    ("time-first", "14:05 Internal only: the cause was CHG-4411."),
    ("date-time-first", "2026-12-06 14:05Z Internal only: the cause was CHG-4411."),
    ("numbered-in-brackets", "[1] Internal only: the cause was CHG-4411."),
    ("hash-number", "#1 Internal only: the cause was CHG-4411."),
    ("roman", "(iv) Internal only: the cause was CHG-4411."),
    ("cc-mention", "cc @bob Internal only: the cause was CHG-4411."),
    ("slack-mention", "<@U123ABC> Internal only: the cause was CHG-4411."),
    ("bbcode-colour", "[color=red]Internal only:[/color] the cause was CHG-4411."),
    ("no-space-after-the-stop", "Errors rose.Internal only: the cause was CHG-4411."),
    ("typo-in-only", "Internal olny: the cause was CHG-4411."),
    ("short-staff-typo", "Staf only: the cause was CHG-4411."),
    ("donot", "Donot share: the cause was CHG-4411."),
    ("customers-typo", "Not for custmers: the cause was CHG-4411."),
    ("interal-alone", "Interal: the cause was CHG-4411."),
    ("double-slash", "Internal only // the cause was CHG-4411."),
    ("chevrons", "Internal only >> the cause was CHG-4411."),
    ("tilde", "Internal only ~ the cause was CHG-4411."),
    ("dash-after-only", "Internal only- the cause was CHG-4411."),
    ("keep-it-internal", "Keep it internal: the cause was CHG-4411."),
    ("dash-not-public", "The cause was CHG-4411 \u2014 not public."),
    ("dash-between-us", "The cause was CHG-4411 \u2014 between us."),
    ("root-cause", "Internal root cause: CHG-4411."),
    ("confidential-rca", "Confidential RCA: CHG-4411."),
    ("not-for-publication", "Not for publication: the cause was CHG-4411."),
    ("zur-internen-verwendung", "Nur zur internen Verwendung: die Ursache war CHG-4411."),
    ("far-ej-spridas", "F\u00e5r ej spridas: orsaken var CHG-4411."),
    ("unclosed-bracket", "[Internal only: the cause was CHG-4411."),
    ("code-block-label", "```\nInternal only: the cause was CHG-4411.\n```"),
    # review 25c
    ("internally", "Internally: the cause was CHG-4411."),
    ("internally-only", "Internally only: the cause was CHG-4411."),
    ("not-to-be-shared", "Not to be shared: the cause was CHG-4411."),
    ("not-to-be-shared-tail", "The cause was CHG-4411. Not to be shared externally."),
    ("not-to-share", "Not to share: the cause was CHG-4411."),
    ("no-sharing", "No sharing: the cause was CHG-4411."),
    ("in-house-only", "In-house only: the cause was CHG-4411."),
    ("keep-this-between-us", "Keep this between us: the cause was CHG-4411."),
    ("not-external", "Not external: the cause was CHG-4411."),
    ("nicht-nach-aussen", "Nicht nach au\u00dfen: die Ursache war CHG-4411."),
    # review 25d: reopened by 25c's changes
    ("not-for-customers-or-partners", "Not for customers or partners: the cause was CHG-4411."),
    ("not-for-external-use", "Not for external use: the cause was CHG-4411."),
    ("nicht-fur-kunden-bestimmt", "Nicht f\u00fcr Kunden bestimmt: die Ursache war CHG-4411."),
    ("not-for-customers-comma", "Not for customers, the cause was CHG-4411."),
    ("nicht-fur-kunden-comma", "Nicht f\u00fcr Kunden, die Ursache war CHG-4411."),
    ("shouted-not-for-customers", "NOT FOR CUSTOMERS the cause was CHG-4411."),
    ("resolved-no-space", "Resolved.Internal only: the cause was CHG-4411."),
    ("bracket-no-space", "Errors rose (EU).Internal only: the cause was CHG-4411."),
    ("ellipsis-no-space", "Errors rose...Internal only: the cause was CHG-4411."),
    ("name-no-space", "Fixed by Bob.Staff only: the cause was CHG-4411."),
    ("glued-dash", "Confidential- the cause was CHG-4411."),
    ("glued-dash-internal", "Internal- the cause was CHG-4411."),
    ("users-do-not-share", "Users: do not share. The cause was CHG-4411."),
    ("note-for-users", "Note for users: internal only. The cause was CHG-4411."),
]

# Published as before: a line's head that names a thing, a status word or a key, and labels inside prose.
PROSE = [
    ("internal-dns", "Internal DNS: resolvers failed between 14:02 and 14:30."),
    ("internal-server-error", "Internal Server Error: the API answered 500 to 3% of requests."),
    ("private-link", "Private Link: connections failed in eu-west."),
    ("confidential-vms", "Confidential VMs: some failed to start."),
    ("internal-tools", "Internal tools: recovered at 14:30."),
    ("internal-status", "Internal status: the dashboards lag by a few minutes."),
    ("ops", "Ops: we restarted the database at 14:02."),
    ("team", "Team: the on-call engineers are on it."),
    ("update", "Update: errors are back to normal."),
    ("note", "Note: retries are safe."),
    ("scope-internal", "Scope: internal tools only saw errors; the API was unaffected."),
    ("internal-only-inside", "Scheduled work on internal systems only: no customer impact expected."),
    ("status-resolved", "Status: resolved \u2014 customers saw errors for 20 minutes."),
    ("region-only", "Region: EU only."),
    ("in-a-sentence", "The internal network is healthy: the cause lies elsewhere."),
    ("sensitive-sentence", "Sensitive data was not affected."),
    ("secrets-rotated", "Secrets: rotated as a precaution."),
    ("next-update", "Investigating. Next update: 15:30 UTC."),
    # a label's words opening a sentence that goes on (review of this session's first version)
    ("only-internal-systems", "Only internal systems are affected (no customer impact)."),
    ("internal-only-services", "Internal only services are degraded."),
    ("affects-internal-only", "Maintenance affects internal only services."),
    ("staff-only-portal-in-a-sentence", "We kept the staff only portal up."),
    ("team-only-workspaces", "Team only workspaces (Team plan) are read-only."),
    # advice to readers, with an object
    ("do-not-share-your-keys", "Please do not share your API keys (rotate them if exposed)."),
    ("do-not-publish-tokens", "Do not publish your tokens in public repositories."),
    ("do-not-share-passwords-key", "Do not share passwords: we will never ask for them."),
    # a key's value after a colon that ends the sentence
    ("impact-internal-only", "Impact: internal only (no customers affected)."),
    ("status-internal-only", "Status: internal only."),
    ("status-dash-internal-only", "Status \u2014 internal only."),
    ("network-private", "Network: private."),
    ("impact-dash-internal-only", "Impact \u2014 internal only."),
    ("forward-advice", "Please don't forward this email."),
    ("share-this-code", "Do not share this code with anyone."),
    ("keep-private-keys", "Keep private keys safe."),
    ("keep-it-private", "Never share your API key. Keep it private."),
    ("keep-internal-runbooks", "3. Keep internal runbooks up to date."),
    ("swedish-advice", "Dela inte ditt l\u00f6senord med n\u00e5gon."),
    ("table-row", "| Customer data | Confidential | not accessed |"),
    ("engineering-note", "Engineering note: the fix requires a restart of your workers."),
    ("for-sre", "For SRE teams: the new runbook is in the docs."),
    ("private-comments", "Private comments: delayed."),
    ("question", "Internal? No, this affected customers."),
    ("interval-only", "Interval only: every 5 minutes."),
    ("caps-component", "API errors are elevated in EU-WEST."),
    ("caps-nda-prose", "NDA signing is slow."),
    # review 25b: what the new rules must leave alone
    ("do-not-share-it", "If you receive a code you did not request, do not share it."),
    ("share-it-sentence", "Never give out your code. Do not share it."),
    ("for-staff-not-for-customers", "The dashboard is for staff, not for customers."),
    ("arrow-between-words", "Internal \u2192 external failover completed."),
    ("slash-between-words", "Private / public subnets are reachable again."),
    ("emoji-between-words", "Internal \u2705 External \u274c"),
    ("data-classification", "Data classification: confidential."),
    ("sensitivity", "Sensitivity: confidential."),
    ("table-impact-column", "| eu-west | internal only |"),
    ("yaml-in-a-code-block", "```yaml\nzone: example.net\ninternal: true\n```"),
    ("shouted-advice", "DO NOT SHARE your recovery codes with anyone."),
    ("shouted-first-word", "CONFIDENTIAL VMs fail to start."),
    ("plan-tier", "- Personal: degraded"),
    ("plural", "Privates: connectivity restored."),
    ("plus-between-words", "Internal + external APIs are degraded."),
    ("time-then-prose", "14:05 Internal DNS resolvers failed."),
    # review 25c: a hyphen shared by two words, "+" and "&" joining them, a dotted name, a key of users, a plural
    ("shared-hyphen-de", "Privat- und Gesch\u00e4ftskunden sind betroffen."),
    ("shared-hyphen-de-staff", "Mitarbeiter- und Kundendaten waren nicht betroffen."),
    ("shared-hyphen-sv", "Privat- och f\u00f6retagskunder p\u00e5verkas."),
    ("shared-hyphen-en", "Internal- and external-facing APIs are degraded."),
    ("shared-hyphen-staff", "Staff- and customer-facing apps are slow."),
    ("internal-only-plus", "Internal-only + public endpoints are degraded."),
    ("internal-only-and", "Internal-only & partner APIs are degraded."),
    ("dotted-name", "The Contoso.Internal: namespace failed to load."),
    ("affected-users", "Affected users: staff only."),
    ("interns", "Interns: the onboarding portal is slow."),
    ("not-for-customers-on-a-plan", "Not for customers on the free plan: exports are paused."),
    ("affected-staff-only-comma", "Affected: staff only, no customers."),
]

# Refused, decided: a label alone before a colon reads as one, whatever the operator meant. The refusal says to
# reword ("Only internal systems are affected: no customer impact.").
DECIDED = [
    ("internal-only-scope", "Internal only: no customer impact."),
    ("impact-list", "Impact:\n- External: errors for 20 minutes\n- Internal: dashboards down"),
]


def labelled(text: str) -> bool:
    return gate.staff_label(text) is not None


@pytest.mark.parametrize("text", [c[1] for c in LABELLED], ids=[c[0] for c in LABELLED])
def test_the_label_is_found(text: str) -> None:
    assert labelled(text)


@pytest.mark.parametrize("text", [c[1] for c in PROSE], ids=[c[0] for c in PROSE])
def test_prose_holds_no_label(text: str) -> None:
    assert gate.staff_label(text) is None


@pytest.mark.parametrize("text", [c[1] for c in DECIDED], ids=[c[0] for c in DECIDED])
def test_decided_refusals(text: str) -> None:
    assert labelled(text)


def test_the_label_is_quoted_as_typed() -> None:
    assert gate.staff_label("API errors. \u0406nternal only: CHG-4411") == "\u0406nternal only"
    assert gate.staff_label("**Staff note:** CHG-4411") == "Staff note"


def test_a_long_postmortem_is_read_in_time() -> None:
    # a label-free document of 190 KB: every sentence's head is read, none is long
    body = "The API failed at 14:02 (see the graph). Retries were safe: no data was lost.\n" * 2_500
    assert gate.staff_label(body) is None
    assert labelled(body + "\nInternal only: CHG-4411")


# -- end to end: routed -----------------------------------------------------------------------------------------


def post(project: Project, *args: str) -> tuple[int, str]:
    result = project.cli("post", "--yes", *args)
    return result.exit_code, result.output


def public_files(project: Project) -> str:
    site = project.site
    return "".join(p.read_text(encoding="utf-8", errors="replace") for p in site.rglob("*") if p.is_file()) \
        if site.exists() else ""


def opened(project: Project, *args: str) -> str:
    """Post a new incident (exit 0) and return its id."""
    code, out = project.cli_json("post", "--yes", "--title", "API errors", "-C", "api", *args)
    assert code == 0, out
    return str(out["incident_id"])


@pytest.mark.parametrize("text", [c[1] for c in LABELLED], ids=[c[0] for c in LABELLED])
def test_a_labelled_line_is_refused_where_it_goes_beyond_staff(project: Project, slack: FakeSlack, text: str) -> None:
    code, output = post(project, "--title", "API errors", "-C", "api", "--", text)
    assert code == 2, output
    if "invisible or control character" not in output:  # a zero-width space, a soft hyphen: refused before
        assert "label for staff" in output and "--only" in output and "Nothing was stored or sent" in output
    assert all(not messages for messages in slack.messages.values())
    assert LEAK not in public_files(project)
    assert json.loads(project.cli("list", "--json").stdout) == []


@pytest.mark.parametrize("text", [c[1] for c in PROSE], ids=[c[0] for c in PROSE])
def test_prose_is_published(project: Project, slack: FakeSlack, text: str) -> None:
    code, output = post(project, "--title", "API errors", "-C", "api", "--", text)
    assert code == 0, output
    shown = text.split(":")[0].split("|")[-1].strip()
    sent = said(slack, "C0PUB00001")  # Slack's text escapes "&", "<" and ">"
    assert any(json.dumps(form)[1:-1] in sent for form in (shown, html.escape(shown, quote=False))), sent


def test_sent_to_staff_alone_it_goes_out_as_written(project: Project, slack: FakeSlack) -> None:
    code, output = post(project, "--only", "ops", "--title", "API errors", "-C", "api",
                        "Internal only: the cause was CHG-4411.")
    assert code == 0, output
    assert "Internal only: the cause was CHG-4411." in said(slack, "C0OPS00001")
    assert not slack.messages["C0PUB00001"] and LEAK not in public_files(project)


def test_a_dry_run_refuses_it_too(project: Project, slack: FakeSlack) -> None:
    code, output = post(project, "--dry-run", "--title", "API errors", "-C", "api", "Internal only: CHG-4411.")
    assert code == 2 and "label for staff" in output, output


def test_inside_a_private_span_it_is_staff_detail(project: Project, slack: FakeSlack) -> None:
    code, output = post(project, "--title", "API errors", "-C", "api",
                        "Errors are elevated. [private]Internal only: the cause was CHG-4411.[/private]")
    assert code == 0, output
    assert LEAK in said(slack, "C0OPS00001") and LEAK not in said(slack, "C0PUB00001")
    assert LEAK not in public_files(project)


def test_a_labelled_title_is_refused(project: Project, slack: FakeSlack) -> None:
    code, output = post(project, "--title", "Internal: CHG-4411 rollout", "-C", "api", "Errors are elevated.")
    assert code == 2 and "the title" in output and "label for staff" in output, output
    assert all(not messages for messages in slack.messages.values())


def test_a_customers_detail_is_refused_where_it_reaches_the_customer(project: Project, slack: FakeSlack) -> None:
    code, output = post(project, "--only", "ops,acme-slack", "--title", "API errors", "-C", "api",
                        "--for", "acme", "Internal only: the cause was CHG-4411.", "Errors are elevated.")
    assert code == 2 and "--for acme" in output and "acme-slack" in output, output
    assert all(not messages for messages in slack.messages.values())
    code, output = post(project, "--only", "ops,acme-slack", "--title", "API errors", "-C", "api",
                        "Errors are elevated. [for acme]Internal only: your circuit CHG-4411.[/for]")
    assert code == 2 and "as acme reads it" in output, output
    assert all(not messages for messages in slack.messages.values())


def test_a_follow_up_of_an_incident_kept_to_staff_may_say_it(project: Project, slack: FakeSlack) -> None:
    incident_id = opened(project, "--only", "ops", "Errors are elevated.")
    # no wider than before: the page and the public channel are skipped, so this goes to staff alone
    code, output = post(project, "-i", incident_id, "Internal only: the cause was CHG-4411.")
    assert code == 0, output
    assert LEAK in said(slack, "C0OPS00001") and not slack.messages["C0PUB00001"]
    assert LEAK not in public_files(project)
    # widened to the public, the same line is refused
    code, output = post(project, "-i", incident_id, "--widen", "Internal only: CHG-4412.")
    assert code == 2 and "label for staff" in output, output


def test_an_amendment_and_a_postmortem_are_read_too(project: Project, slack: FakeSlack, tmp_path: Path) -> None:
    incident_id = opened(project, "Errors are elevated.")
    amended = project.cli("amend", incident_id, "1", "--yes", "Errors are elevated.\n\nInternal: CHG-4411.")
    assert amended.exit_code == 2 and "label for staff" in amended.output, amended.output
    assert project.cli("resolve", incident_id, "--yes", "Fixed.").exit_code == 0
    document = tmp_path / "pm.md"
    document.write_text("# What happened\n\nA router failed.\n\n- Confidential: CHG-4411 was the change.\n",
                        encoding="utf-8")
    written = project.cli("postmortem", incident_id, "--yes", "--file", str(document))
    assert written.exit_code == 2 and "the postmortem" in written.output, written.output
    assert LEAK not in json.dumps({k: [m.text for m in v] for k, v in slack.messages.items() if k != "C0OPS00001"})
    assert LEAK not in public_files(project)


# -- an imported record --------------------------------------------------------------------------------------------


def exported_record(project: Project, *args: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Post ``args`` to a fresh incident and export the store: (the header, the incident's record)."""
    opened(project, *args)
    target = project.root / "export.jsonl"
    assert project.cli("store", "export", str(target)).exit_code == 0
    header, record = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    return header, record


def import_into_fresh(project: Project, tmp_path: Path, header: object, record: object) -> tuple[int, str]:
    fresh = Project(tmp_path / "fresh", env=dict(project.env))
    fresh.root.mkdir()
    fresh.config.write_text(project.config.read_text(encoding="utf-8"), encoding="utf-8")
    source = tmp_path / "edited.jsonl"
    source.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in (header, record)),
                      encoding="utf-8")
    imported = fresh.cli("store", "import", str(source))
    listed = json.loads(fresh.cli("list", "--json").stdout)
    return imported.exit_code, imported.output + json.dumps(listed)


def test_an_imported_record_the_page_would_show_is_refused(project: Project, slack: FakeSlack, tmp_path: Path) -> None:
    header, record = exported_record(project, "Errors are elevated.")
    [update] = record["updates"]
    update["raw_message"] = "Errors are elevated.\n\nInternal only: the cause was CHG-4411."
    code, output = import_into_fresh(project, tmp_path, header, record)
    assert code == 2 and "label for staff" in output and "Internal only" in output, output
    assert "Nothing was imported" in output and LEAK not in output.split("Nothing was imported")[1], output


def test_an_imported_record_kept_to_staff_may_say_it(project: Project, slack: FakeSlack, tmp_path: Path) -> None:
    header, record = exported_record(project, "--only", "ops", "Internal only: the cause was CHG-4411.")
    [update] = record["updates"]
    assert {d["visibility"] for d in update["deliveries"] if d["state"] == "skipped"} >= {"public"}
    code, output = import_into_fresh(project, tmp_path, header, record)
    assert code == 0, output


def customers_notice(record: dict[str, Any], text: str, state: str) -> dict[str, Any]:
    """An SLA notice for acme as ``tick`` stores one, saying ``text``, its delivery to acme's channel in ``state``."""
    first = record["updates"][0]
    delivery = next(d for d in first["deliveries"] if d["destination"] == "acme-slack")
    return {**first, "sequence": 2, "kind": "notice", "raw_message": text, "audiences": [], "audience_detail": [],
            "extra": {"notice": "audience_sla", "month": "2026-12", "audience": "acme"}, "author": "broadcaster",
            "deliveries": [{**delivery, "state": state, "remote_id": None, "thread_ref": None, "parts": [],
                            "sent_at": None, "attempts": 0, "last_error": None}]}


def test_an_imported_notice_still_to_be_sent_to_its_customer_is_read_as_it_reads_it(
    project: Project, slack: FakeSlack, tmp_path: Path
) -> None:
    """Review 25b: the import's label check skipped notices, and ``retry`` sent a forged one to its customer."""
    header, record = exported_record(project, "-C", "api", "Errors are elevated.")
    record["updates"].append(customers_notice(record, "Internal only: the cause was CHG-4411.", "pending"))
    code, output = import_into_fresh(project, tmp_path, header, record)
    assert code == 2 and "label for staff" in output and "still to be sent to acme" in output, output
    assert "Nothing was imported" in output and output.endswith("[]"), output  # `list --json` of the store: empty
    fresh = Project(tmp_path / "fresh", env=dict(project.env))
    sent_before = len(slack.messages["C0ACME0001"])
    fresh.cli("retry")
    assert len(slack.messages["C0ACME0001"]) == sent_before and LEAK not in said(slack, "C0ACME0001")


def test_an_imported_notice_already_sent_or_our_own_imports(project: Project, slack: FakeSlack, tmp_path: Path) -> None:
    header, record = exported_record(project, "-C", "api", "Errors are elevated.")
    record["updates"].append(customers_notice(record, "Internal only: the cause was CHG-4411.", "sent"))
    code, output = import_into_fresh(project, tmp_path, header, record)
    assert code == 0, output  # told already: an import sends nothing again, and no page shows a notice
    own = "Service level notice for Acme Corp: the availability of your services (API) this month is 99.1%."
    record["updates"][1] = customers_notice(record, own, "pending")
    (tmp_path / "again").mkdir()
    code, output = import_into_fresh(project, tmp_path / "again", header, record)
    assert code == 0, output


# -- the title: read where it is new to a reader (review 25a) ----------------------------------------------------


def test_a_title_kept_to_staff_is_read_when_the_incident_is_widened(project: Project, slack: FakeSlack) -> None:
    code, out = project.cli_json("post", "--yes", "--only", "ops", "--title", "Internal: CHG-4411 rollout", "-C", "api",
                                 "Errors are elevated.")
    assert code == 0, out
    incident_id = str(out["incident_id"])
    code, output = post(project, "-i", incident_id, "More errors.")  # no wider than before: staff alone
    assert code == 0, output
    code, output = post(project, "-i", incident_id, "--widen", "Errors are elevated.")
    assert code == 2 and "the title" in output and "label for staff" in output, output
    assert not slack.messages["C0PUB00001"] and LEAK not in public_files(project)


def test_a_title_stored_before_the_rule_does_not_stop_its_follow_ups(project: Project, slack: FakeSlack) -> None:
    incident_id = opened(project, "Errors are elevated.")
    # an incident titled before this rule existed (or imported by an older version): its title is public already
    with sqlite3.connect(project.root / ".broadcaster" / "state.db") as db:
        db.execute("UPDATE incidents SET title = ? WHERE id = ?", ("Internal: API errors", incident_id))
    code, output = post(project, "-i", incident_id, "We found the cause.")
    assert code == 0, output
    assert "We found the cause." in said(slack, "C0PUB00001")
    # a new title is read again
    code, output = post(project, "-i", incident_id, "--title", "Confidential: API errors", "Still working on it.")
    assert code == 2 and "the title" in output, output


# -- a customer's private page (review 25b) ----------------------------------------------------------------------

PAGE_TOKEN = "acmefeedtoken0123456789abcdef"


@pytest.fixture
def paged(project: Project, slack: FakeSlack) -> FakeSlack:
    return with_private_page(project, slack)


def with_private_page(project: Project, slack: FakeSlack) -> FakeSlack:
    """acme has a private page (a feed token) besides the Slack world's channels (the ``paged`` fixture's body)."""
    project.env["ACME_FEED_TOKEN"] = PAGE_TOKEN
    config = project.config.read_text(encoding="utf-8")
    project.config.write_text(config.replace('name = "Acme Corp"', 'name = "Acme Corp"\nfeed_token = "${ACME_FEED_TOKEN}"'),
                              encoding="utf-8")
    return slack


@pytest.mark.parametrize("args", [
    ("--skip", "acme-slack", "--customer", "acme", "Errors. [for acme]Internal only: your circuit CHG-4411.[/for]"),
    ("--skip", "acme-slack", "--for", "acme", "Internal only: your circuit CHG-4411.", "Errors."),
    ("--only", "site,ops", "--for", "acme", "Internal only: your circuit CHG-4411.", "Errors."),
], ids=["span-channel-skipped", "for-channel-skipped", "page-and-staff-only"])
def test_a_customers_private_page_is_read_for_its_customer(project: Project, paged: FakeSlack,
                                                           args: tuple[str, ...]) -> None:
    code, output = post(project, "--title", "API errors", "-C", "api", *args)
    assert code == 2 and "acme" in output and "label for staff" in output, output
    assert LEAK not in public_files(project)
    assert all(not messages for messages in paged.messages.values())


@pytest.mark.timeout(60)
def test_a_postmortem_of_emphasis_marks_at_the_size_limit_is_checked_in_bounded_time() -> None:
    """Review 25b: the gate's marks-inside-brackets pattern scanned a run of marks again from each of its
    characters; 16,000 asterisks took 8 s, a postmortem of them at the size limit about 20 minutes. Not a speed goal
    (those are benchmarks): a command that never ends is a failure, and this one ended after seconds (0.04 s for
    16,000 after the fix, on this machine)."""
    text = "*" * (gate.POSTMORTEM.max_chars - 100) + "\nThe cause was a router."
    assert gate.admit(text, "the postmortem", gate.POSTMORTEM).endswith("router.")


# -- where the site puts the update later (review 25c) -------------------------------------------------------------


def private_page(project: Project) -> str:
    folder = project.site / "a" / PAGE_TOKEN
    return "".join(p.read_text(encoding="utf-8", errors="replace") for p in folder.rglob("*") if p.is_file()) \
        if folder.exists() else ""


@pytest.fixture
def channelless(project: Project, paged: FakeSlack) -> FakeSlack:
    """acme has a private page and no channel of its own."""
    config = project.config.read_text(encoding="utf-8")
    start = config.index("\n[channels.acme-slack]")
    end = config.index("\n[channels.", start + 1)
    project.config.write_text(config[:start] + config[end:], encoding="utf-8")
    return paged


@pytest.mark.parametrize("args", [
    ("--skip", "site,acme-slack", "--for", "acme", "Internal only: your circuit CHG-4411.", "Errors are elevated."),
    ("--only", "public-slack,ops", "Errors are elevated. [for acme]Internal only: your circuit CHG-4411.[/for]"),
], ids=["site-skipped", "only-a-public-channel"])
def test_a_customers_page_built_later_is_read_now(project: Project, paged: FakeSlack, args: tuple[str, ...]) -> None:
    """The site shows an update any public delivery told, at its next build (the next post, tick, site publish),
    on each reached customer's page too, whether or not this post built the site."""
    code, output = post(project, "--title", "API errors", "-C", "api", *args)
    assert code == 2 and "acme" in output and "label for staff" in output, output
    assert all(not messages for messages in paged.messages.values())
    assert post(project, "--title", "DB slow", "-C", "db", "Slow queries.")[0] == 0  # a later build
    assert LEAK not in private_page(project) and LEAK not in public_files(project)


@pytest.mark.parametrize("how", ["for", "span"])
def test_a_correction_its_public_reads_the_same_is_read_for_the_customers_page(
        project: Project, channelless: FakeSlack, how: str) -> None:
    """Every public delivery of the correction is skipped as reading the same; the site shows it on acme's page."""
    if how == "for":
        incident = opened(project, "--customer", "acme", "--for", "acme", "Your circuit is ACM-7.", "Errors are elevated.")
        amended = project.cli("amend", incident, "1", "--yes", "--for", "acme", "Internal only: your circuit CHG-4411.",
                              "Errors are elevated.")
    else:
        incident = opened(project, "--customer", "acme", "Errors are elevated. [for acme]Your circuit ACM-7.[/for]")
        amended = project.cli("amend", incident, "1", "--yes",
                              "Errors are elevated. [for acme]Internal only: your circuit CHG-4411.[/for]")
    assert amended.exit_code == 2 and "label for staff" in amended.output, amended.output
    assert post(project, "-i", incident, "Still working on it.")[0] == 0
    assert LEAK not in private_page(project)


def test_a_postmortem_version_changing_only_a_customers_text_is_read(project: Project, channelless: FakeSlack,
                                                                     tmp_path: Path) -> None:
    incident = opened(project, "--customer", "acme", "Errors are elevated.")
    assert project.cli("resolve", incident, "--yes", "Fixed.").exit_code == 0
    document = tmp_path / "pm.md"
    document.write_text("# What happened\n\nA router failed.\n\n[for acme]Your circuit ACM-7 was affected.[/for]\n",
                        encoding="utf-8")
    assert project.cli("postmortem", incident, "--yes", "--file", str(document)).exit_code == 0
    document.write_text("# What happened\n\nA router failed.\n\n[for acme]Internal only: CHG-4411 was the change.[/for]\n",
                        encoding="utf-8")
    second = project.cli("postmortem", incident, "--yes", "--file", str(document))
    assert second.exit_code == 2 and "label for staff" in second.output, second.output
    assert post(project, "--title", "DB slow", "-C", "db", "Slow.")[0] == 0
    assert LEAK not in private_page(project)


def test_a_correction_of_a_staff_note_does_not_read_the_public_text_it_leaves(project: Project, slack: FakeSlack) -> None:
    """Review 25d: a public text published before this rule (or before one of its labels was read), which the
    correction leaves as it was, was read again, and the correction of the staff note refused over it."""
    incident = opened(project, "--customer", "acme", "--for", "acme", "Your circuit is ACM-7.", "--private",
                      "Rolled back by Ann.", "We rolled back the deploy.")
    with sqlite3.connect(project.root / ".broadcaster" / "state.db") as db:
        db.execute("UPDATE updates SET raw_message = ? WHERE incident_id = ?", ("Internally: we rolled back the deploy.",
                                                                              incident))
    amended = project.cli("amend", incident, "1", "--yes", "--for", "acme", "Your circuit is ACM-7.",
                          "--private", "Rolled back by Bob.", "Internally: we rolled back the deploy.")
    assert amended.exit_code == 0, amended.output
    changed = project.cli("amend", incident, "1", "--yes", "--for", "acme", "Internal only: your circuit CHG-4411.",
                          "--private", "Rolled back by Bob.", "Internally: we rolled back the deploy.")
    assert changed.exit_code == 2 and "label for staff" in changed.output, changed.output
