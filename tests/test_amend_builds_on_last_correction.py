"""A correction builds on what each reader was last given (review 18a; the first two tests failed before the fix): a
second amend was built from the update as first posted, and put back the customer detail (another customer's
circuit) and the staff note the first amend had corrected. Neither it nor a post still waiting to go out may build
on a correction the operator kept from those readers (``amend --only ops`` of a draft)."""

from __future__ import annotations

from tests.conftest import Project
from tests.fakes.slack import FakeSlack
from tests.test_audiences import post, said, slack  # noqa: F401


def _amend(project: Project, *args: str) -> None:
    result = project.cli("amend", "--yes", *args)
    assert result.exit_code == 0, result.output


def test_a_second_amend_does_not_put_back_a_customer_detail_the_first_amend_corrected(
        project: Project, slack: FakeSlack) -> None:  # noqa: F811
    code, out = post(project, "--title", "API errors", "-C", "api", "--for", "acme", "Circuit OTHER-CIRCUIT-5 is down.",
                     "Errors on the API.")
    assert code == 0, out
    incident = str(out["incident_id"])
    _amend(project, incident, "1", "Errors on the API.", "--for", "acme", "Your circuit ACME-CIRCUIT-2 is down.")
    assert "OTHER-CIRCUIT-5" not in said(slack, "C0ACME0001")
    _amend(project, incident, "1", "Errors on the public API.")  # a typo fixed; nothing said of acme's detail
    acme = said(slack, "C0ACME0001")
    assert "Errors on the public API." in acme and "ACME-CIRCUIT-2" in acme
    assert "OTHER-CIRCUIT-5" not in acme, "the second correction put the first one's corrected detail back"
    assert project.cli("site", "build").exit_code == 0


def test_a_second_amend_keeps_the_private_note_the_first_amend_gave(project: Project, slack: FakeSlack) -> None:  # noqa: F811
    code, out = post(project, "--title", "API errors", "-C", "api", "--private", "NOTE-OLD-77", "Errors on the API.")
    assert code == 0, out
    incident = str(out["incident_id"])
    _amend(project, incident, "1", "Errors on the API.", "--private", "NOTE-NEW-88")
    _amend(project, incident, "1", "Errors on the public API.")
    ops = said(slack, "C0OPS00001")
    assert "NOTE-NEW-88" in ops and "NOTE-OLD-77" not in ops, ops


def test_a_later_amend_does_not_send_a_customer_the_draft_kept_to_staff(project: Project, slack: FakeSlack) -> None:  # noqa: F811
    code, out = post(project, "--title", "API errors", "-C", "api", "--for", "acme", "Your circuit ACME-OLD-1 is down.",
                     "Errors on the API.")
    assert code == 0, out
    incident = str(out["incident_id"])
    _amend(project, "--only", "ops", incident, "1", "Errors on the API.", "--for", "acme", "Draft: circuit ACME-DRAFT-3.")
    assert "ACME-DRAFT-3" in said(slack, "C0OPS00001") and "ACME-DRAFT-3" not in said(slack, "C0ACME0001")
    _amend(project, incident, "1", "Errors on the public API.")
    acme = said(slack, "C0ACME0001")
    assert "Errors on the public API." in acme and "ACME-OLD-1" in acme and "ACME-DRAFT-3" not in acme, acme


def test_a_post_still_waiting_goes_without_the_draft_kept_to_staff(project: Project, slack: FakeSlack) -> None:  # noqa: F811
    """acme's channel refused the post (the bot not in it yet); the operator drafts acme's detail for staff only;
    the bot is invited, and `retry` sends acme the post: as it was, never the draft."""
    slack.member_of.discard("C0ACME0001")
    code, out = post(project, "--title", "API errors", "-C", "api", "--for", "acme", "Your circuit ACME-OLD-1 is down.",
                     "Errors on the API.")
    assert {d["destination"]: d["state"] for d in out["deliveries"]}["acme-slack"] == "failed", out
    incident = str(out["incident_id"])
    _amend(project, "--only", "ops", incident, "1", "Errors on the API.", "--for", "acme", "Draft: circuit ACME-DRAFT-3.")
    slack.member_of.add("C0ACME0001")
    retried = project.cli("retry")
    assert retried.exit_code == 0, retried.output
    acme = said(slack, "C0ACME0001")
    assert "ACME-OLD-1" in acme and "ACME-DRAFT-3" not in acme, acme


def test_a_post_sent_after_an_amend_keeps_its_own_number(project: Project, slack: FakeSlack) -> None:  # noqa: F811
    """Sent as last corrected, the update was counted twice among what its readers were told: update 1 went out as
    "Update 2" (a helper's find while fixing review 18a)."""
    slack.member_of.discard("C0ACME0001")
    code, out = post(project, "--title", "API errors", "-C", "api", "Errors on the API.")
    incident = str(out["incident_id"])
    _amend(project, incident, "1", "Errors on the public API.")
    slack.member_of.add("C0ACME0001")
    retried = project.cli("retry")
    assert retried.exit_code == 0, retried.output
    acme = said(slack, "C0ACME0001")
    assert "Errors on the public API." in acme and "Update 1" in acme and "Update 2" not in acme, acme
