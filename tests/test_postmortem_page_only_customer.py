"""A customer with its page alone (no channel) and a postmortem version only it reads otherwise (review 18e; each
test failed before its fix)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import Project
from tests.fakes.webhook import SECRET, FakeReceiver
from tests.test_audiences import AUDIENCES, TOKEN
from tests.test_leak_review import run
from tests.test_postmortem_versions import _postmortem

FIRST = "# What happened\n\nA router failed.\n\n[for acme]Your circuit ACM-7 flapped.[/for]\n"


@pytest.fixture
def page_only(project: Project) -> Iterator[dict[str, FakeReceiver]]:
    started = {name: FakeReceiver().start() for name in ("pub", "ops")}
    try:
        project.env.update({"S": SECRET, "ACME_FEED_TOKEN": TOKEN})
        audiences = AUDIENCES.replace('components = ["api"]', 'components = ["api"]\nfeed_token = "${ACME_FEED_TOKEN}"', 1)
        lines = {"pub": "", "ops": 'visibility = "internal"'}
        tables = "".join(f'\n[channels.{name}]\ntype = "webhook"\n{line}\nurl = "{started[name].hook_url}"\n'
                         'secret = "${S}"\n' for name, line in lines.items())
        project.write_config("[engine]\ntimeout = 2\ndeadline = 20\nmax_attempts = 2\n" + audiences + tables)
        yield started
    finally:
        for fake in started.values():
            fake.stop()


def test_a_correction_of_a_version_only_a_page_only_customer_reads_otherwise_reaches_its_page(
        project: Project, page_only: dict[str, FakeReceiver]) -> None:
    """acme has no channel, only its private page. Version 2 of the postmortem changes acme's detail alone: the
    site is skipped as READ_THE_SAME and acme's page takes it (source._corrections_told). acme's detail in version
    2 is then corrected with `amend`: not refused (the public reads it the same), but the correction is planned
    where version 2 went, so the site is skipped as "update #N was not sent here", not READ_THE_SAME, and
    _corrections_told drops it for acme's page: acme's page keeps the detail the operator corrected."""
    incident = run(project, "post", "--title", "API errors", "-C", "api", "--for", "acme", "Your circuit ACM-1.",
                   "Elevated error rates.")["incident_id"]
    run(project, "resolve", incident, "Fixed.")
    _postmortem(project, incident, FIRST, "1.md")
    second = _postmortem(project, incident, FIRST.replace("ACM-7", "ACM-WRONG-8"), "2.md")
    assert project.cli("site", "build").exit_code == 0
    feed = project.site / "a" / TOKEN / "atom.xml"
    assert "ACM-WRONG-8" in feed.read_text(encoding="utf-8")  # acme's page took version 2
    amended = project.cli("amend", "--yes", incident, str(second["sequence"]), FIRST.replace("ACM-7", "ACM-9"))
    assert amended.exit_code == 2 and "--file" in amended.output, amended.output  # as a correction it stayed off the page
    _postmortem(project, incident, FIRST.replace("ACM-7", "ACM-9"), "3.md")
    assert project.cli("site", "build").exit_code == 0
    text = feed.read_text(encoding="utf-8")
    assert "ACM-9" in text, "acme's page takes the version that corrects what it alone read"


def test_amending_a_staff_only_version_into_new_detail_for_a_page_only_customer_is_refused_or_reaches_its_page(
        project: Project, page_only: dict[str, FakeReceiver]) -> None:
    """Version 2 changes staff's text alone (everyone else skipped as READ_THE_SAME). An amend of version 2 that
    changes acme's detail is refused for a customer with a channel (4feab1d: its channel's place is checked), but
    acme here has its page alone, which is no place in _refuse_a_version_kept_as_read_the_same: the amend is
    taken, goes to staff alone, and acme's page never shows the new detail."""
    incident = run(project, "post", "--title", "API errors", "-C", "api", "--for", "acme", "Your circuit ACM-1.",
                   "Elevated error rates.")["incident_id"]
    run(project, "resolve", incident, "Fixed.")
    text = FIRST + "\n[private]CHG-1[/private]\n"
    _postmortem(project, incident, text, "1.md")
    second = _postmortem(project, incident, text.replace("CHG-1", "CHG-2"), "2.md")
    amended = project.cli("amend", "--yes", incident, str(second["sequence"]),
                          text.replace("CHG-1", "CHG-2").replace("ACM-7", "ACM-9"))
    assert amended.exit_code == 2 and "--file" in amended.output, amended.output  # as a correction: staff alone
    _postmortem(project, incident, text.replace("CHG-1", "CHG-2").replace("ACM-7", "ACM-9"), "3.md")
    assert project.cli("site", "build").exit_code == 0
    feed = (project.site / "a" / TOKEN / "atom.xml").read_text(encoding="utf-8")
    assert "ACM-9" in feed, "acme's page shows the detail the new version changed"
