"""A review (each test failed before its fix): a correction of one customer's detail reaches that customer's channel but not its private page."""

from __future__ import annotations

from tests.conftest import Project
from tests.fakes.slack import FakeSlack
from tests.test_audiences import (
    AUDIENCES,
    TOKEN,
    channels_toml,
    post,
    said,
    slack,  # noqa: F401  (fixture)
)


def _with_token(project: Project, slack: FakeSlack) -> None:  # noqa: F811
    project.env["ACME_FEED_TOKEN"] = TOKEN
    project.write_config(AUDIENCES.replace('components = ["api"]', 'components = ["api"]\nfeed_token = "${ACME_FEED_TOKEN}"')
                         + channels_toml(slack))


def _posted_with_detail(project: Project, slack: FakeSlack, detail: str) -> str:  # noqa: F811
    _with_token(project, slack)
    code, out = post(project, "--title", "API errors", "-C", "api", "--for", "acme", detail, "Errors on the API.")
    assert code == 0, out
    return str(out["incident_id"])


def test_a_corrected_customer_detail_is_corrected_on_its_private_page_too(project: Project, slack: FakeSlack) -> None:  # noqa: F811
    incident = _posted_with_detail(project, slack, "Your circuit ACME-OLD-1 is down.")
    page = project.site / "a" / TOKEN / "index.html"
    assert "ACME-OLD-1" in page.read_text(encoding="utf-8")
    amended = project.cli("amend", "--yes", incident, "1", "Errors on the API.", "--for", "acme",
                          "Your circuit ACME-NEW-2 is down.")
    assert amended.exit_code == 0, amended.output
    assert "ACME-NEW-2" in said(slack, "C0ACME0001")  # the customer's channel was corrected
    assert project.cli("site", "build").exit_code == 0
    text = page.read_text(encoding="utf-8")
    feed = (project.site / "a" / TOKEN / "feed.xml").read_text(encoding="utf-8")
    assert "ACME-NEW-2" in text and "ACME-OLD-1" not in text, "the customer's private page keeps the detail corrected"
    assert "ACME-NEW-2" in feed and "ACME-OLD-1" not in feed


def test_a_customer_detail_taken_out_leaves_its_private_page(project: Project, slack: FakeSlack) -> None:  # noqa: F811
    incident = _posted_with_detail(project, slack, "Ticket ACME-WRONG-9 opened.")
    amended = project.cli("amend", "--yes", incident, "1", "Errors on the API.", "--for", "acme", "")
    assert amended.exit_code == 0, amended.output
    assert project.cli("site", "build").exit_code == 0
    for name in ("index.html", "feed.xml", "atom.xml"):
        assert "ACME-WRONG-9" not in (project.site / "a" / TOKEN / name).read_text(encoding="utf-8"), name


def public(project: Project) -> dict[str, bytes]:
    return {str(p.relative_to(project.site)): p.read_bytes() for p in project.site.rglob("*")
            if p.is_file() and not p.name.startswith(".") and "a/" not in str(p.relative_to(project.site))}


def test_amend_changes_no_public_byte_and_the_next_build_corrects_only_the_customer_page(
        project: Project, slack: FakeSlack) -> None:  # noqa: F811
    """A rebuild for acme's page alone would rewrite public bytes (the JSON's times, a host's manifest, a commit): the
    page takes the correction at the site's next build, and the public page then shows no "Corrected"."""
    incident = _posted_with_detail(project, slack, "Your circuit ACME-OLD-1 is down.")
    before = public(project)
    amended = project.cli("amend", "--yes", incident, "1", "Errors on the API.", "--for", "acme",
                          "Your circuit ACME-NEW-2 is down.")
    assert amended.exit_code == 0, amended.output
    assert public(project) == before
    assert project.cli("site", "build").exit_code == 0
    text = (project.site / "a" / TOKEN / "index.html").read_text(encoding="utf-8")
    assert "ACME-NEW-2" in text and "ACME-OLD-1" not in text
    after = public(project)
    for name in (f"incidents/{incident}.html", "feed.xml", "atom.xml"):
        assert after[name] == before[name], name  # no "Corrected", no new time
