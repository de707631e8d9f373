"""A stored public title holding a marker never reaches a reader: the record is left out, loudly.

The upgrade splits titles stored whole before titles had a public part (schema 1), but a store taken past that
step by an earlier version, or an edited export, may still hold one: "Checkout [private]ACMECORP[/private] down"
was then published as written, on every follow-up, and the egress guard had no value to look for.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator

import pytest

from tests.conftest import Project, public_webhook
from tests.fakes.webhook import FakeReceiver

SPAN = "ACMECORP"


@pytest.fixture
def public_hook(project: Project) -> Iterator[FakeReceiver]:
    with public_webhook(project) as hook:
        yield hook


def test_a_marker_left_in_a_stored_public_title_is_never_published(project: Project, public_hook: FakeReceiver) -> None:
    posted = project.cli("post", "--yes", "--json", "--title", "Checkout down", "Investigating.")
    assert posted.exit_code == 0, posted.output
    incident = json.loads(posted.stdout)["incident_id"]
    [state] = project.root.glob(".broadcaster/state.db")
    with sqlite3.connect(state) as db:  # as a store upgraded by an earlier version left it
        db.execute("UPDATE incidents SET title = ? WHERE id = ?", (f"Checkout [private]{SPAN}[/private] down", incident))
    followed = project.cli("post", "--yes", "-i", incident, "Still investigating.")
    assert followed.exit_code == 2 and "holds a private span" in followed.stderr, followed.output  # nothing stored
    built = project.cli("site", "build")
    assert "left out" in built.output and "holds a private span" in built.output, built.output
    retried = project.cli("retry")
    assert not [e for e in public_hook.events if SPAN in json.dumps(e)], retried.output
    assert not any(SPAN in p.read_text(errors="replace") for p in project.site.rglob("*") if p.is_file())
