"""Variants of the postmortem-version rules (review 18e; each test failed before its fix): an earlier version
corrected after a later one replaced it for some readers, and a draft given to staff first then published."""

from __future__ import annotations

from tests.conftest import Project
from tests.fakes.webhook import FakeReceiver
from tests.test_audiences import TOKEN
from tests.test_leak_review import hooks, run  # noqa: F401  (fixture)
from tests.test_postmortem_versions import FIRST, _closed_incident_with_postmortem, _events, _postmortem, _told_since


def test_amending_an_earlier_postmortem_version_leaves_a_customers_page_on_the_uncorrected_later_one(
        project: Project, hooks: dict[str, FakeReceiver]) -> None:  # noqa: F811
    """Version 2 changed only acme's detail (the public kept version 1). The public text has a typo: `amend` of
    version 2 is refused (4feab1d) but `amend` of version 1 is taken. Its correction reaches acme's channel, yet
    acme's page keeps showing version 2 (the latest postmortem it has, uncorrected): acme's page never shows the
    corrected public text its channel and the public page both have."""
    incident = _closed_incident_with_postmortem(project)
    second_text = FIRST.replace("ACM-7", "ACM-9")
    second = _postmortem(project, incident, second_text, "2.md")
    first = second["sequence"] - 1  # version 1, published just before
    before = _events(hooks)
    fixed_text = second_text.replace("A router failed.", "Two routers failed.")
    amended = project.cli("amend", "--yes", incident, str(first), fixed_text)
    # Taken, its correction went to acme's channel and version 1's feed entry, while acme's page kept version 2
    # uncorrected (version 2 had replaced version 1 for acme). Refused: the file published again reaches each reader.
    assert amended.exit_code == 2, amended.output
    assert "a later version replaced it" in amended.output and "--file" in amended.output
    assert all(v == [] for v in _told_since(hooks, before).values())
    republished = _postmortem(project, incident, fixed_text, "3.md")
    told = _told_since(hooks, before)
    assert len(told["pub"]) == 1 and len(told["acme"]) == 1, (told, republished["deliveries"])
    assert project.cli("site", "build").exit_code == 0
    atom = (project.site / "a" / TOKEN / "atom.xml").read_text(encoding="utf-8")
    newest_postmortem = atom.split("<title>[Postmortem]", 2)[1].split("</entry>", 1)[0]
    assert "Two routers failed." in newest_postmortem and "ACM-9" in newest_postmortem


def test_a_postmortem_first_given_to_staff_alone_can_then_be_published_to_everyone(
        project: Project, hooks: dict[str, FakeReceiver]) -> None:  # noqa: F811
    """Staff review a draft: `postmortem --only ops`. Then the same file without --only is refused as "this very
    postmortem, published" (lifecycle._refuse_published_again compares with the latest version whoever got it), and
    the amend it suggests goes only where the draft went (staff). Not new this session, but the per-reader planning
    of dd1714e is what would make publishing it again correct: the public and acme were never told any version."""
    from tests.test_postmortem_versions import _with_acme_page

    _with_acme_page(project)
    incident = run(project, "post", "--title", "API errors", "-C", "api", "Elevated error rates.")["incident_id"]
    run(project, "resolve", incident, "Fixed.")
    file = project.root / "pm.md"
    file.write_text(FIRST, encoding="utf-8")
    assert project.cli("postmortem", "--yes", incident, "--file", str(file), "--only", "ops").exit_code == 0
    before = _events(hooks)
    published = project.cli("postmortem", "--yes", incident, "--file", str(file))
    assert published.exit_code == 0, published.output
    told = _told_since(hooks, before)
    assert len(told["pub"]) == 1 and len(told["acme"]) == 1 and told["ops"] == [], told
    assert "We have published a postmortem" in told["pub"][0] and "corrected" not in told["pub"][0], told["pub"]
    assert (project.site / "atom.xml").read_text(encoding="utf-8").count("<title>[Postmortem]") == 1
