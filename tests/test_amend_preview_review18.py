"""An amend's preview shows the correction as the engine then sends it (review 18d; failed before its fix)."""

from __future__ import annotations

import json

from tests.conftest import Project
from tests.fakes.world import PUBLIC_CHAT, FakeWorld

LONG = "Errors on the API. " + " ".join(f"word{i}" for i in range(520))  # two Telegram messages


def test_amend_preview_of_a_post_in_parts_shows_what_is_sent(project: Project, world: FakeWorld) -> None:
    """Update #1 went to Telegram in two parts, so the engine posts the correction as a new reply, headed with the
    incident's status now ("Identified"). `amend --dry-run` (and the confirmation, which says "edited in place")
    rendered it as an edit of #1 ("Investigating", with #1's components): not the message that went out."""
    created = project.cli("post", "--yes", "--json", "--only", "site,tg-public", "--title", "API errors", "-C", "api",
                          LONG)
    incident = json.loads(created.stdout)["incident_id"]
    assert len(world.telegram_messages(PUBLIC_CHAT)) == 2
    assert project.cli("post", "--yes", "-i", incident, "-s", "identified", "--only", "site,tg-public",
                       "Cause found.").exit_code == 0
    dry = json.loads(project.cli("amend", incident, "1", "--dry-run", "--json", "Errors on the API, EU only.").stdout)
    [previewed] = [d["rendered"] for d in dry["deliveries"] if d["destination"] == "tg-public"]

    assert project.cli("amend", incident, "1", "--yes", "Errors on the API, EU only.").exit_code == 0

    sent = world.telegram_messages(PUBLIC_CHAT)[-1]
    assert [sent.html] == previewed, (sent.html, previewed)
