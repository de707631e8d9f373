"""Review 65e: a Mastodon correction's preview after access_token changed to another account's, and links an operator
pastes into `retry --remote-id`.

After access_token was changed to another account's on the same instance, `amend --dry-run` (and amend's confirmation)
said the correction edits the status, while the real run posts it anew (only the account that posted a status may edit
it) and says why: the preview now asks which account the token is for, as withdraw's dry run does, and says what the
run does.
"""

from __future__ import annotations

import json

from tests.conftest import Project
from tests.fakes.mastodon import FakeMastodon
from tests.social import M_TOKEN
from tests.test_confirmation import in_terminal
from tests.test_review56b import post
from tests.test_review61i import (  # noqa: F401 - masto is a fixture
    OTHER_TOKEN,
    command,
    masto,
    mastodon_as,
    verifications,
)

CORRECTED = "Elevated errors on the EU cluster."


def edits(fake: FakeMastodon) -> list[object]:
    return [r for r in fake.requests if r.method == "PUT"]


def test_an_amend_dry_run_by_another_account_says_the_correction_goes_as_a_new_status(
        project: Project, masto: FakeMastodon) -> None:  # noqa: F811
    mastodon_as(project, masto, M_TOKEN)
    first = post(project, "--title", "API errors", "Elevated errors.")
    mastodon_as(project, masto, OTHER_TOKEN)
    code, said = command(project, "amend", "--dry-run", first["incident_id"], "1", CORRECTED)
    assert code == 0, said
    assert "a new post, not an edit of the original" in said.lower(), said
    assert "1001" in said and "by hand" in said and "https://mastodon.example/web/statuses/" in said, said
    code, said = command(project, "amend", "--dry-run", "--json", first["incident_id"], "1", CORRECTED)
    (masto_entry,) = [d for d in json.loads(said)["deliveries"] if d["destination"] == "masto"]
    assert "1001" in masto_entry["reason"] and "new status" in masto_entry["reason"], masto_entry
    assert len(masto.posted) == 1 and not edits(masto)  # a dry run: nothing sent


def test_the_same_accounts_amend_dry_run_still_says_nothing_of_a_new_post(
        project: Project, masto: FakeMastodon) -> None:  # noqa: F811
    mastodon_as(project, masto, M_TOKEN)
    first = post(project, "--title", "API errors", "Elevated errors.")
    code, said = command(project, "amend", "--dry-run", first["incident_id"], "1", CORRECTED)
    assert code == 0 and "not an edit" not in said, said
    assert verifications(masto) == 1  # asked once, as withdraw's dry run does
    code, said = command(project, "amend", "--yes", first["incident_id"], "1", CORRECTED)
    assert code == 0 and "note:" not in said, said
    assert len(edits(masto)) == 1 and CORRECTED in masto.posted[0].text


def test_amends_confirmation_by_another_account_says_a_new_status_goes(
        project: Project, masto: FakeMastodon) -> None:  # noqa: F811
    mastodon_as(project, masto, M_TOKEN)
    first = post(project, "--title", "API errors", "Elevated errors.")
    mastodon_as(project, masto, OTHER_TOKEN)
    code, shown = in_terminal(project, ["amend", first["incident_id"], "1", CORRECTED], b"n\n", b"Publish now?")
    said = " ".join(shown.split())
    assert code == 2, said
    assert "masto [public]: a new post, not an edit of the original" in said and "1001" in said, said


def test_the_real_amend_after_its_preview_still_says_the_original_is_to_correct_by_hand(
        project: Project, masto: FakeMastodon) -> None:  # noqa: F811
    mastodon_as(project, masto, M_TOKEN)
    first = post(project, "--title", "API errors", "Elevated errors.")
    mastodon_as(project, masto, OTHER_TOKEN)
    code, said = command(project, "amend", "--yes", first["incident_id"], "1", CORRECTED)
    assert code == 0, said
    assert "1001" in said and "correct the original by hand" in said, said
    original, correction = masto.posted
    assert not edits(masto) and correction.account_id == "2002" and correction.in_reply_to_id is None
    assert verifications(masto) == 1  # the preview's answer serves the run of the same command
