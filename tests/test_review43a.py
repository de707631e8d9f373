"""Review 43a: hostile review of the X refused-for-good skip, publish_in_thread and the git hook's words, through
the real CLI against the project's fakes and real git; each test failed before its fix."""

from __future__ import annotations

import json

from tests.conftest import Project
from tests.fakes.world import FakeWorld
from tests.test_review42c import at, post, refuse_the_first_words, x_delivery

# -- X refused update 1 for good; the operator then said it in other words with `amend` ----------------------------


def test_an_update_x_refused_then_amended_is_not_skipped_by_the_next_update(project: Project, world: FakeWorld) -> None:
    """X refused update 1's words for good; the operator did as told and said it in other words, with `amend` (the
    correction's X delivery is skipped: "update #1 has not gone out here yet: it goes with this correction's
    text"). The next update then skipped update 1 as refused for good, though it no longer carries the words X
    refused: the corrected text, promised to go with update 1, never reached X."""
    refuse_the_first_words(world)
    code, first = post(project, "--title", "API errors", "-C", "api", "Elevated errors.")
    incident = first["incident_id"]
    amended = project.cli("amend", incident, "1", "--yes", "--json", "Elevated errors on the API and the website.")
    [carried] = at(json.loads(amended.stdout), "x")
    assert carried["state"] == "skipped" and "goes with this correction's text" in carried["reason"], carried
    post(project, "-i", incident, "We are still looking into the errors.")
    assert x_delivery(project, incident, 1)["state"] != "skipped", x_delivery(project, incident, 1)
    project.cli("retry", incident)
    texts = [t.text for t in world.x.tweets]
    assert any("on the API and the website" in t for t in texts), texts
    assert x_delivery(project, incident, 1)["state"] == "sent"
