"""A retry after `amend --skip` of another public channel sends the correction, never the text corrected away (review 18e; failed before its fix)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import Project
from tests.fakes.webhook import SECRET, FakeReceiver
from tests.test_audiences import AUDIENCES
from tests.test_leak_review import run


@pytest.fixture
def two_public(project: Project) -> Iterator[dict[str, FakeReceiver]]:
    started = {name: FakeReceiver().start() for name in ("pub-now", "pub-late")}
    try:
        project.env["S"] = SECRET
        tables = "".join(f'\n[channels.{name}]\ntype = "webhook"\nurl = "{fake.hook_url}"\nsecret = "${{S}}"\n'
                         for name, fake in started.items())
        project.write_config("[engine]\ntimeout = 2\ndeadline = 20\nmax_attempts = 1\n" + AUDIENCES + tables)
        yield started
    finally:
        for fake in started.values():
            fake.stop()


def test_a_retry_after_an_amend_skipped_on_another_public_channel_sends_the_corrected_text(
        project: Project, two_public: dict[str, FakeReceiver]) -> None:
    """A public update names a customer by mistake; pub-late is down. The operator corrects it with
    ``--skip pub-now`` (no "corrected" notice there, drawing eyes to it). pub-late's post had not gone out, so the
    amend leaves it to `retry` "with this correction's text". But Store.left_out_by_operator(public) now counts the
    correction as kept from every public reader (one public channel skipped it), so the engine's
    as_last_corrected(..., left_out) sends pub-late the ORIGINAL text: the name corrected away reaches the public.
    Before d6bd88d the retry sent the corrected text."""
    two_public["pub-late"].answer = 503
    incident = run(project, "post", "--title", "API errors", "-C", "api",
                   "Errors on the API for Initech Ltd.")["incident_id"]
    assert two_public["pub-late"].events == []
    amended = run(project, "amend", incident, "1", "Errors on the API.", "--skip", "pub-now")
    states = {d["destination"]: (d["state"], d.get("last_error") or d.get("reason")) for d in amended["deliveries"]}
    assert states["pub-now"][0] == "skipped", states
    two_public["pub-late"].answer = 200
    retried = project.cli("retry")
    assert retried.exit_code == 0, retried.output
    sent = [e["data"]["update"]["message"] for e in two_public["pub-late"].events]
    assert sent, retried.output
    assert all("Initech" not in text for text in sent), f"pub-late was sent the text corrected away: {sent}"
