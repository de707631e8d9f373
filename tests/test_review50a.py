"""Review 50a: post ids that name no post (``delivery.names_no_post``) and ids an operator gives by hand, attacked
through the real CLI and the fakes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import Project
from tests.fakes.base import Fault
from tests.fakes.matrix import FakeMatrix
from tests.matrix_helpers import ROOM
from tests.test_review49a import public_matrix_room


@contextmanager
def _matrix_post_of_unknown_fate(project: Project) -> Iterator[tuple[FakeMatrix, str]]:
    """A public Matrix room whose first post arrived but whose answer was lost twice (aiohttp repeats a PUT once): the delivery is unknown."""
    with public_matrix_room(project) as matrix:
        matrix.fail(*(Fault(match="/send/", reset_after=True) for _ in range(2)))
        posted = project.cli("post", "--title", "API errors", "Errors.", "--yes", "--json")
        matrix.clear_faults()
        incident = json.loads(posted.stdout)["incident_id"]
        [delivery] = [d for d in json.loads(posted.stdout)["deliveries"] if d["destination"] == "room"]
        assert delivery["state"] == "unknown", posted.output
        yield matrix, incident




@pytest.mark.parametrize("given", [
    "$ev1\u200b-Xy_z",  # a zero-width space, come with a copy out of a chat
    "$ev1-Xy\u2026",  # cut with "…" where it was copied (a narrow column)
    "$ev1\\u200b-Xy_z",  # as `show` escapes an id it cannot print
])
def test_an_event_id_given_by_hand_that_names_no_post_is_refused_not_recorded(
    project: Project, tmp_path: Path, given: str,
) -> None:
    """`retry --mark-unknown-sent --remote-id room=ID` took any id the event pattern matched: one holding a zero-width
    space was stored as given (the store's export was refused by `store import`: "remote_id holds an invisible or
    control character", and the follow-up threaded under it was refused for good: "Cannot start threads ..."); one
    cut with "…" or holding an escape was recorded with "later updates thread under" it, and they went out unthreaded
    (``names_no_post``). Now such an id is refused (exit 2), nothing recorded, the post still of unknown fate."""
    with _matrix_post_of_unknown_fate(project) as (_, incident):
        marked = project.cli("retry", "--mark-unknown-sent", "--remote-id", f"room={given}")
        assert marked.exit_code == 2, marked.output
        assert "nothing was stored or sent" in marked.output.lower(), marked.output
        assert "copy" in marked.output.lower(), marked.output
        shown = project.cli("show", incident, "--json")
        [delivery] = [d for d in json.loads(shown.stdout)["deliveries"] if d["destination"] == "room"]
        assert delivery["state"] == "unknown", delivery


def test_the_whole_event_id_given_by_hand_is_recorded_and_threaded_under(project: Project) -> None:
    """The check above refuses only what names no post: the event's whole id is recorded and threaded under."""
    with _matrix_post_of_unknown_fate(project) as (matrix, incident):
        [event] = matrix.events[ROOM]
        marked = project.cli("retry", "--mark-unknown-sent", "--remote-id", f"room={event.event_id}")
        assert marked.exit_code == 0, marked.output
        follow_up = project.cli("post", "--incident", incident, "--status", "monitoring", "Fixed.", "--yes")
        assert follow_up.exit_code == 0, follow_up.output
        assert matrix.events[ROOM][-1].relation.get("event_id") == event.event_id, matrix.events[ROOM][-1].relation

