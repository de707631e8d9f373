"""Review 18f (each test failed before its fix): Slack's status card refreshed after `amend` shows what the operator kept from THIS channel (--skip/--only).

The engine sends a post that had not gone out with its latest correction, never one the operator kept from that
place (``left_out_by_operator(at=place)``). The card refresh (``engine.render`` -> ``_latest_as_corrected``) counts
only what the readers' *visibility* was never told (``kept_from``): an update or correction skipped at this
Slack channel but given to another public place (the page) is put on this channel's card by a later amend.
"""

from __future__ import annotations

import json

from tests.conftest import Project
from tests.fakes.slack import FakeSlack
from tests.test_audiences import post, slack  # noqa: F401
from tests.test_slack_card_corrections import PUBLIC, amend, card, replies


def test_card_never_shows_a_correction_the_operator_kept_from_this_channel(
        project: Project, slack: FakeSlack) -> None:  # noqa: F811
    code, out = post(project, "--title", "API errors", "-C", "api", "Errors on the API.")
    assert code == 0, out
    incident = str(out["incident_id"])
    assert post(project, "-i", incident, "-s", "identified", "Cause found: a cable.")[0] == 0
    # A correction of update 2 kept from the public Slack channel (the page and the others get it).
    code, out = amend(project, incident, "2", "DRAFT-CAUSE-WORDING not for slack", "--skip", "public-slack")
    assert code == 0, json.dumps(out)
    assert "DRAFT-CAUSE-WORDING" not in json.dumps([m.all_text for m in slack.messages[PUBLIC]])
    # Then update 1 is corrected everywhere: the public Slack card is redone.
    code, out = amend(project, incident, "1", "Errors on the public API.")
    assert code == 0, json.dumps(out)
    shown = card(slack, PUBLIC)
    thread = [m.all_text for m in replies(slack, PUBLIC)]
    assert "DRAFT-CAUSE-WORDING" not in shown, ("card shows the correction kept from this channel", shown, thread)


def test_card_never_shows_an_update_the_operator_kept_from_this_channel(
        project: Project, slack: FakeSlack) -> None:  # noqa: F811
    code, out = post(project, "--title", "API errors", "-C", "api", "Errors on the API.")
    assert code == 0, out
    incident = str(out["incident_id"])
    assert post(project, "-i", incident, "-s", "identified", "Cause found: a cable.")[0] == 0
    code, out = post(project, "-i", incident, "-s", "monitoring", "SKIPPED-AT-SLACK fix deployed.",
                     "--skip", "public-slack")
    assert code == 0, json.dumps(out)
    assert "SKIPPED-AT-SLACK" not in json.dumps([m.all_text for m in slack.messages[PUBLIC]])
    code, out = amend(project, incident, "2", "Cause found: a switch.")
    assert code == 0, json.dumps(out)
    shown = card(slack, PUBLIC)
    assert "SKIPPED-AT-SLACK" not in shown, ("card shows an update skipped at this channel", shown)


def test_a_customers_card_never_shows_detail_the_operator_kept_from_its_channel(
        project: Project, slack: FakeSlack) -> None:  # noqa: F811
    """The operator corrects update 2 with a draft of acme's detail and keeps it from acme's channel
    (`--skip acme-slack`, say the circuit is not confirmed yet); a later `amend 1` puts that detail on acme's card."""
    from tests.test_slack_card_corrections import ACME

    code, out = post(project, "--title", "API errors", "-C", "api", "Errors on the API.")
    assert code == 0, out
    incident = str(out["incident_id"])
    assert post(project, "-i", incident, "-s", "identified", "Cause found. [for acme]Your circuit AC-1.[/for]")[0] == 0
    code, out = amend(project, incident, "2", "Cause found: a switch. [for acme]Your circuit UNCONFIRMED-AC-9.[/for]",
                      "--skip", "acme-slack")
    assert code == 0, json.dumps(out)
    assert "UNCONFIRMED-AC-9" not in json.dumps([m.all_text for m in slack.messages[ACME]])
    code, out = amend(project, incident, "1", "Errors on the public API.")
    assert code == 0, json.dumps(out)
    shown = card(slack, ACME)
    assert "UNCONFIRMED-AC-9" not in shown, ("acme's card shows detail kept from acme's channel", shown)
