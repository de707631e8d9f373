"""Review 62a: Mastodon's question of whose a token is (verify_credentials) and the ids given by hand.

A withdrawal's dry run asked the instance which account access_token is for once per status whose id names its
account, while it did not answer: each question waited out the timeout, so an incident of ten statuses held
``withdraw --dry-run`` (and the confirmation of a real withdrawal) ten timeouts long, and its Left up lines disagreed
with each other once a later question was answered. A status given by hand (``retry --mark-unknown-sent --remote-id``
with its link or bare id) was recorded without its account, though the instance had just said whose it is: after
access_token was changed to another account's, the next update replied under the old account's status, the fault
1d0a4cf mended for the statuses broadcaster posts.
"""

from __future__ import annotations

import json

from tests.conftest import Project
from tests.fakes.base import Fault, Response
from tests.fakes.mastodon import FakeMastodon
from tests.social import M_TOKEN
from tests.test_review61i import (  # noqa: F401 - masto is a fixture
    OTHER_TOKEN,
    command,
    masto,
    mastodon_as,
    shown_incident,
    verifications,
)


def masto_posts(project: Project, incident_id: str) -> list[dict[str, object]]:
    result = project.cli("show", incident_id, "--json")
    assert result.exit_code == 0, result.output
    return [d for d in json.loads(result.stdout)["deliveries"] if d["destination"] == "masto"]


def test_a_withdrawals_dry_run_asks_an_instance_that_does_not_answer_once(
        project: Project, masto: FakeMastodon) -> None:  # noqa: F811
    mastodon_as(project, masto, M_TOKEN)
    code, said = command(project, "post", "--yes", "--title", "API errors", "Elevated errors.")
    assert code == 0, said
    incident_id = shown_incident(project)
    for status in ("identified", "monitoring"):
        code, said = command(project, "post", "--yes", "-i", incident_id, "-s", status, "More.")
        assert code == 0, said
    asked = verifications(masto)
    # One question unanswered (a timeout's place: each waited out [engine] timeout); asked again, it is answered.
    masto.fail(Fault(match="verify_credentials", response=Response(503, {"error": "Service unavailable"})))
    code, said = command(project, "withdraw", "--dry-run", incident_id, "--reason", "Posted in error.")
    assert code == 0, said
    assert verifications(masto) == asked, "asked the instance again for each status of the withdrawal"
    assert said.count("could not be asked now") == 3, said  # the three statuses alike
    assert len(masto.posted) == 3


def test_a_status_given_by_its_link_is_recorded_with_the_account_the_instance_names(
        project: Project, masto: FakeMastodon) -> None:  # noqa: F811
    mastodon_as(project, masto, M_TOKEN)
    code, said = command(project, "post", "--yes", "--title", "API errors", "Elevated errors.")
    assert code == 0, said
    incident_id = shown_incident(project)
    masto.fail(*[Fault(match="/api/v1/statuses", reset_after=True)] * 2)  # posted, its answers lost: unknown
    code, said = command(project, "post", "--yes", "-i", incident_id, "-s", "identified", "Cause found.")
    assert code == 3, said
    own = masto.posted[1]
    code, said = command(project, "retry", incident_id, "--mark-unknown-sent", "--remote-id",
                         f"masto=https://mastodon.example/@acmestatus/{own.id}?utm_source=share")
    assert code == 0, said
    assert masto_posts(project, incident_id)[-1]["remote_id"] == f"{own.id}@1001@mastodon.example"
    mastodon_as(project, masto, OTHER_TOKEN)  # the table now posts as another account of the instance
    code, said = command(project, "post", "--yes", "-i", incident_id, "-s", "monitoring", "A fix is out.")
    assert code == 0, said
    assert masto.posted[-1].in_reply_to_id is None, "replied under the old account's status"


def test_a_follow_up_whose_question_of_the_account_went_unanswered_says_nothing_was_posted(
        project: Project, masto: FakeMastodon) -> None:  # noqa: F811
    mastodon_as(project, masto, M_TOKEN)
    code, said = command(project, "post", "--yes", "--title", "API errors", "Elevated errors.")
    assert code == 0, said
    incident_id = shown_incident(project)
    mastodon_as(project, masto, OTHER_TOKEN)
    masto.fail(*[Fault(match="verify_credentials", reset=True)] * 2)  # each attempt's question, its answer lost
    code, said = command(project, "post", "--yes", "-i", incident_id, "-s", "identified", "Cause found.")
    assert code == 3 and len(masto.posted) == 1, said
    # Said of a read as of the post: "so it may or may not have been done", of a status never posted.
    assert "may or may not" not in said and "which account MASTODON_TOKEN is for" in said, said
    assert [d["state"] for d in masto_posts(project, incident_id)] == ["sent", "failed"]
    code, said = command(project, "retry", incident_id)
    assert code == 0 and len(masto.posted) == 2 and masto.posted[-1].in_reply_to_id is None, said


def test_mark_deleted_while_the_instance_cannot_say_whose_the_token_is_does_not_send_to_a_plain_retry(
        project: Project, masto: FakeMastodon) -> None:  # noqa: F811
    mastodon_as(project, masto, M_TOKEN)
    code, said = command(project, "post", "--yes", "--title", "API errors", "Elevated errors.")
    assert code == 0, said
    incident_id = shown_incident(project)
    mastodon_as(project, masto, OTHER_TOKEN)  # the old account's status: this table cannot delete it
    code, said = command(project, "withdraw", "--yes", incident_id, "--reason", "Posted in error.")
    assert code == 3 and "--mark-deleted masto" in said, said
    masto.statuses.clear()  # deleted by hand, signed in as the old account
    masto.fail(Fault(match="verify_credentials", response=Response(503, {"error": "Service unavailable"})))
    code, said = command(project, "retry", incident_id, "--mark-deleted", "masto")
    assert code == 2, said
    # It said "failed on no post this table's credentials cannot delete, so `broadcaster retry` finishes it": that
    # retry failed again, exit 3, as every retry would.
    assert "finishes it" not in said and "could not be told" in said, said
    code, said = command(project, "retry", incident_id, "--mark-deleted", "masto")  # the instance answers again
    assert code == 0 and "deleted by hand" in said, said
