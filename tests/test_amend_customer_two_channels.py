"""An amend builds on the detail a customer was last given when one of its two channels skipped a correction (review 18e; failed before its fix)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Project
from tests.fakes.webhook import SECRET, FakeReceiver
from tests.test_audiences import AUDIENCES
from tests.test_leak_review import run

NAMES = ("pub", "ops", "acme-hook", "acme-pager")


@pytest.fixture
def two_acme(project: Project) -> Iterator[dict[str, FakeReceiver]]:
    started = {name: FakeReceiver().start() for name in NAMES}
    try:
        project.env["S"] = SECRET
        lines = {"pub": "", "ops": 'visibility = "internal"', "acme-hook": 'audience = "acme"',
                 "acme-pager": 'audience = "acme"'}
        tables = "".join(f'\n[channels.{name}]\ntype = "webhook"\n{line}\nurl = "{started[name].hook_url}"\n'
                         'secret = "${S}"\n' for name, line in lines.items())
        project.write_config("[engine]\ntimeout = 2\ndeadline = 20\nmax_attempts = 2\n" + AUDIENCES + tables)
        yield started
    finally:
        for fake in started.values():
            fake.stop()


def _acme_detail(fake: FakeReceiver) -> str:
    event: dict[str, Any] = fake.events[-1]["data"]
    return json.dumps(event.get("update", {}).get("audience") or event.get("audience"))


def test_a_correction_skipped_on_one_of_acmes_channels_is_not_undone_on_the_other(
        project: Project, two_acme: dict[str, FakeReceiver]) -> None:
    """acme's circuit is corrected ACM-7 -> ACM-9 with ``--skip acme-pager`` (the pager is noisy): acme-hook is told
    ACM-9. A second amend fixes a public typo only. Store.left_out_by_operator counts the correction as kept from
    every acme reader because one acme channel skipped it, so _as_each_reader_has_it builds acme's detail on the
    original: acme-hook, which was told ACM-9, is now told ACM-7 again (the correction is undone for it, and acme's
    detail in the store is back to the circuit the operator corrected away)."""
    incident = run(project, "post", "--title", "API errors", "-C", "api", "--for", "acme", "Your circuit ACM-7.",
                   "Elevated error rates.")["incident_id"]
    first = run(project, "amend", incident, "1", "Elevated error rates.", "--for", "acme", "Your circuit ACM-9.",
                "--skip", "acme-pager")
    states = {d["destination"]: d["state"] for d in first["deliveries"]}
    assert states["acme-hook"] == "sent" and states["acme-pager"] == "skipped", states
    assert "ACM-9" in _acme_detail(two_acme["acme-hook"])
    second = project.cli("amend", "--yes", "--json", incident, "1", "Elevated error rates on the API.")
    if second.exit_code == 2:  # refused, asking for acme's detail with --for: acme's channels were told two texts
        return
    assert second.exit_code == 0, second.output
    told = _acme_detail(two_acme["acme-hook"])
    assert "ACM-9" in told and "ACM-7" not in told, f"acme-hook, told ACM-9, is now told {told}"
