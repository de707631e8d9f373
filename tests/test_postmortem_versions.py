"""A new version of a postmortem goes only to readers who read it otherwise (review 17j; each test failed before
its fix): one that changes only staff's or one customer's text told the public "We have corrected our postmortem",
added a public feed entry and moved the page's anchor, so the public learnt something private had changed.

Through the real CLI against Standard Webhooks receivers on loopback (tests/fakes/webhook.py): one public, one
internal, one per customer, the site in a local folder, and acme's private page.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from broadcaster.site import source
from tests.conftest import Project
from tests.fakes.webhook import FakeReceiver
from tests.test_audiences import TOKEN
from tests.test_leak_review import hooks, run  # noqa: F401  (fixture)

FIRST = "# What happened\n\nA router failed. [private]CHG-4411 broke it[/private]\n\n[for acme]Your circuit ACM-7 flapped.[/for]\n"


def _postmortem(project: Project, incident: str, text: str, name: str) -> dict[str, Any]:
    file = project.root / name
    file.write_text(text, encoding="utf-8")
    return run(project, "postmortem", incident, "--file", str(file))


def _with_acme_page(project: Project) -> None:
    project.env["ACME_FEED_TOKEN"] = TOKEN
    config = project.config.read_text(encoding="utf-8")
    project.config.write_text(config.replace('components = ["api"]',
                                             'components = ["api"]\nfeed_token = "${ACME_FEED_TOKEN}"', 1),
                              encoding="utf-8")


def _closed_incident_with_postmortem(project: Project) -> str:
    _with_acme_page(project)
    incident: str = run(project, "post", "--title", "API errors", "-C", "api", "Elevated error rates.")["incident_id"]
    run(project, "resolve", incident, "Fixed.")
    _postmortem(project, incident, FIRST, "1.md")
    return incident


def _events(receivers: dict[str, FakeReceiver]) -> dict[str, int]:
    return {name: len(fake.events) for name, fake in receivers.items()}


def _told_since(receivers: dict[str, FakeReceiver], before: dict[str, int]) -> dict[str, list[str]]:
    return {name: [json.dumps(e["data"]) for e in fake.events[before[name]:]] for name, fake in receivers.items()}


def _states(result: dict[str, Any]) -> dict[str, str]:
    return {d["destination"]: d["state"] for d in result["deliveries"]}


def test_a_version_changing_only_staff_text_goes_to_staff_alone(
        project: Project, hooks: dict[str, FakeReceiver]) -> None:  # noqa: F811
    incident = _closed_incident_with_postmortem(project)
    before = _events(hooks)
    second = _postmortem(project, incident, FIRST.replace("CHG-4411 broke it", "CHG-4412 broke it, not CHG-4411"),
                         "2.md")
    told = _told_since(hooks, before)
    assert len(told["ops"]) == 1 and "CHG-4412" in told["ops"][0]
    assert told["pub"] == [] and told["acme"] == [] and told["globex"] == [], (told, _states(second))
    assert _states(second)["pub"] == "skipped" and _states(second)["acme-hook"] == "skipped"
    atom = (project.site / "atom.xml").read_text(encoding="utf-8")
    page = (project.site / "incidents" / f"{incident}.html").read_text(encoding="utf-8")
    assert atom.count("<title>[Postmortem]") == 1 and 'id="postmortem-1"' in page and "postmortem-2" not in page
    assert project.cli("site", "build").exit_code == 0  # the customer's page takes new versions at a build
    acme = (project.site / "a" / TOKEN / "atom.xml").read_text(encoding="utf-8")
    assert acme.count("<title>[Postmortem]") == 1, "acme reads the same postmortem: no second entry on its feed"


def test_a_version_changing_only_one_customers_text_goes_to_that_customer_and_staff(
        project: Project, hooks: dict[str, FakeReceiver]) -> None:  # noqa: F811
    incident = _closed_incident_with_postmortem(project)
    before = _events(hooks)
    second = _postmortem(project, incident, FIRST.replace("ACM-7", "ACM-9"), "2.md")
    told = _told_since(hooks, before)
    assert len(told["acme"]) == 1 and "ACM-9" in told["acme"][0], told["acme"]
    assert len(told["ops"]) == 1
    assert told["pub"] == [] and told["globex"] == [], (told, _states(second))
    atom = (project.site / "atom.xml").read_text(encoding="utf-8")
    assert atom.count("<title>[Postmortem]") == 1
    assert "ACM-9" not in (project.site / "incidents" / f"{incident}.html").read_text(encoding="utf-8")
    assert project.cli("site", "build").exit_code == 0
    acme = (project.site / "a" / TOKEN / "atom.xml").read_text(encoding="utf-8")
    # The version acme was sent, alone, as on every feed (review 36a: each version was an entry of its own).
    assert acme.count("<title>[Postmortem]") == 1 and "ACM-9" in acme and "ACM-7" not in acme, \
        "acme's own feed has the version acme was sent"


def test_a_version_changing_the_public_text_goes_everywhere(
        project: Project, hooks: dict[str, FakeReceiver]) -> None:  # noqa: F811
    incident = _closed_incident_with_postmortem(project)
    before = _events(hooks)
    second = _postmortem(project, incident, FIRST.replace("A router failed.", "Two routers failed."), "2.md")
    told = _told_since(hooks, before)
    assert all(len(told[name]) == 1 for name in ("pub", "ops", "acme")), (told, _states(second))
    assert "corrected our postmortem" in told["pub"][0]
    page = (project.site / "incidents" / f"{incident}.html").read_text(encoding="utf-8")
    assert "Two routers failed." in page


def test_a_version_the_public_reads_the_same_leaves_the_public_page_byte_for_byte(
        project: Project, hooks: dict[str, FakeReceiver]) -> None:  # noqa: F811
    incident = _closed_incident_with_postmortem(project)
    public = {p: p.read_bytes() for p in project.site.rglob("*") if p.is_file() and "/a/" not in str(p)
              and not p.name.startswith(".")}
    _postmortem(project, incident, FIRST.replace("CHG-4411", "CHG-4413"), "2.md")
    assert project.cli("site", "build").exit_code == 0
    after = {p: p.read_bytes() for p in public}
    changed = sorted(str(p.relative_to(project.site)) for p in public if after[p] != public[p])
    assert changed == [], changed


def test_a_correction_of_staff_text_alone_leaves_a_customers_page_as_it_was(
        project: Project, hooks: dict[str, FakeReceiver], monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """The same rule for corrections: acme's page took every correction the public page was left out of because the
    public reads it the same, one changing only staff's note too, and showed acme a correction of nothing it reads.

    Both builds see one clock: today's uptime figure of an open incident moves as the day goes on (fast in its first
    hour: a run at 00:20 UTC failed on 99.99% against 99.93%), which is a real change, not the one looked for."""
    moment = datetime.now(UTC) + timedelta(seconds=30)
    monkeypatch.setattr(source, "utcnow", lambda: moment)
    _with_acme_page(project)
    incident = run(project, "post", "--title", "API errors", "-C", "api", "--for", "acme", "Your circuit ACM-7.",
                   "--private", "Ticket OPS-1.", "Elevated error rates.")["incident_id"]
    acme_files = {p: p.read_bytes() for p in (project.site / "a" / TOKEN).rglob("*") if p.is_file()}
    amended = run(project, "amend", incident, "1", "Elevated error rates.", "--private", "Ticket OPS-2, not OPS-1.")
    assert {d["destination"]: d["state"] for d in amended["deliveries"]}["acme-hook"] == "skipped"
    assert project.cli("site", "build").exit_code == 0
    changed = sorted(p.name for p, before in acme_files.items() if p.read_bytes() != before)
    assert changed == [], changed


def test_amending_a_version_the_public_was_not_sent_into_one_it_reads_otherwise_is_refused(
        project: Project, hooks: dict[str, FakeReceiver]) -> None:  # noqa: F811
    """Version 2 changed only staff's text, so the public kept version 1. An amend of version 2 that changes the public
    text would go where version 2 went (staff alone) and the public would keep the old text for good: refused, with
    the command that reaches every reader (the file published again, planned per reader)."""
    incident = _closed_incident_with_postmortem(project)
    second = _postmortem(project, incident, FIRST.replace("CHG-4411", "CHG-4412"), "2.md")
    before = _events(hooks)
    amended = project.cli("amend", "--yes", incident, str(second["sequence"]),
                          FIRST.replace("CHG-4411", "CHG-4412").replace("A router failed.", "Two routers failed."))
    assert amended.exit_code == 2, amended.output
    assert "postmortem" in amended.output and "--file" in amended.output
    assert _told_since(hooks, before) == {name: [] for name in hooks}
    # Staff's own text of it too (review 18e: one rule, whatever changes): the file published again goes to staff.
    staff_fix = project.cli("amend", "--yes", incident, str(second["sequence"]), FIRST.replace("CHG-4411", "CHG-4414"))
    assert staff_fix.exit_code == 2, staff_fix.output
    fixed = _postmortem(project, incident, FIRST.replace("CHG-4411", "CHG-4414"), "3.md")
    assert _states(fixed)["ops"] == "sent" and _states(fixed)["pub"] == "skipped"
