"""A review of the first fix (each test failed before its fix): a correction of a customer's detail never reaches the private page of a customer with no channel."""

from __future__ import annotations

from tests.conftest import Project
from tests.fakes.slack import FakeSlack
from tests.test_audiences import AUDIENCES, TOKEN, channels_toml, post, slack  # noqa: F401


def _page_only_customer(project: Project, fake: FakeSlack) -> None:
    project.env["ACME_FEED_TOKEN"] = TOKEN
    tables = channels_toml(fake).split("\n[channels.")
    kept = [t for t in tables if not t.startswith("acme-slack]")]  # acme reads its private page only
    project.write_config(AUDIENCES.replace('components = ["api"]', 'components = ["api"]\nfeed_token = "${ACME_FEED_TOKEN}"')
                         + "\n[channels.".join(kept))


def _corrected_and_built(project: Project, *posted_with: str) -> str:
    """Post acme's detail ACME-OLD-1, correct it to ACME-NEW-2, build the site: acme's page as it then reads."""
    code, out = post(project, *posted_with, "--title", "API errors", "-C", "api", "--for", "acme",
                     "Your circuit ACME-OLD-1 is down.", "Errors on the API.")
    assert code == 0, out
    page = project.site / "a" / TOKEN / "index.html"
    assert "ACME-OLD-1" in page.read_text(encoding="utf-8")
    amended = project.cli("amend", "--yes", str(out["incident_id"]), "1", "Errors on the API.", "--for", "acme",
                          "Your circuit ACME-NEW-2 is down.")
    assert amended.exit_code == 0, amended.output
    assert project.cli("site", "build").exit_code == 0
    return page.read_text(encoding="utf-8")


def test_corrected_detail_reaches_page_of_customer_without_channels(project: Project, slack: FakeSlack) -> None:  # noqa: F811
    _page_only_customer(project, slack)
    text = _corrected_and_built(project)
    assert "ACME-NEW-2" in text and "ACME-OLD-1" not in text, "the page is acme's only channel: it must be corrected"


def test_corrected_detail_reaches_page_when_first_post_skipped_the_customer_channel(
        project: Project, slack: FakeSlack) -> None:  # noqa: F811
    """acme's Slack was left out of the first post (``--skip acme-slack``: down for an hour); its page showed the detail
    all the same. The correction of that detail is then kept from acme's channel (no wider than before), so
    ``_corrections_told`` leaves it off acme's page: the page shows the wrong detail for good."""
    project.env["ACME_FEED_TOKEN"] = TOKEN
    project.write_config(AUDIENCES.replace('components = ["api"]', 'components = ["api"]\nfeed_token = "${ACME_FEED_TOKEN}"')
                         + channels_toml(slack))
    text = _corrected_and_built(project, "--skip", "acme-slack")
    assert "ACME-NEW-2" in text and "ACME-OLD-1" not in text, "acme's page keeps the detail corrected"


def test_detail_taken_out_leaves_page_of_customer_without_channels(project: Project, slack: FakeSlack) -> None:  # noqa: F811
    """The operator gave acme a detail by mistake (another customer's circuit) and takes it out (``--for acme ""``):
    acme reads only its private page, so nothing of acme's was 'sent' the correction and the page keeps it."""
    _page_only_customer(project, slack)
    code, out = post(project, "--title", "API errors", "-C", "api", "--for", "acme", "Circuit CKT-G-42 is down.",
                     "Errors on the API.")
    assert code == 0, out
    amended = project.cli("amend", "--yes", str(out["incident_id"]), "1", "Errors on the API.", "--for", "acme", "")
    assert amended.exit_code == 0, amended.output
    assert project.cli("site", "build").exit_code == 0
    for name in ("index.html", "feed.xml", "atom.xml"):
        assert "CKT-G-42" not in (project.site / "a" / TOKEN / name).read_text(encoding="utf-8"), name


def test_a_correction_the_operator_kept_to_staff_stays_off_the_customer_page(
        project: Project, slack: FakeSlack) -> None:  # noqa: F811
    """The other side of the rule: `amend --only ops` is the operator's, and acme's page keeps what acme was told."""
    _page_only_customer(project, slack)
    code, out = post(project, "--title", "API errors", "-C", "api", "--for", "acme", "Your circuit ACME-OLD-1 is down.",
                     "Errors on the API.")
    assert code == 0, out
    amended = project.cli("amend", "--yes", "--only", "ops", str(out["incident_id"]), "1", "Errors on the API.",
                          "--for", "acme", "Staff draft: circuit ACME-DRAFT-3.")
    assert amended.exit_code == 0, amended.output
    assert project.cli("site", "build").exit_code == 0
    text = (project.site / "a" / TOKEN / "index.html").read_text(encoding="utf-8")
    assert "ACME-OLD-1" in text and "ACME-DRAFT-3" not in text


# A review: the same choice spelt --skip acme-slack put the detail on acme's page, --only kept it off.
def test_correction_skipped_for_acme_still_reaches_acme_page(project: Project, slack: FakeSlack) -> None:  # noqa: F811
    project.env["ACME_FEED_TOKEN"] = TOKEN
    project.write_config(AUDIENCES.replace('components = ["api"]', 'components = ["api"]\nfeed_token = "${ACME_FEED_TOKEN}"')
                         + channels_toml(slack))
    code, out = post(project, "--title", "API errors", "-C", "api", "--for", "acme", "Your circuit ACME-OLD-1 is down.",
                     "Errors on the API.")
    assert code == 0, out
    incident = str(out["incident_id"])
    amended = project.cli("amend", "--yes", "--skip", "acme-slack", incident, "1", "Errors on the API.",
                          "--for", "acme", "Staff draft: circuit ACME-DRAFT-3.")
    assert amended.exit_code == 0, amended.output
    assert "ACME-DRAFT-3" not in str(slack.messages["C0ACME0001"])
    assert project.cli("site", "build").exit_code == 0
    text = (project.site / "a" / TOKEN / "index.html").read_text(encoding="utf-8")
    assert "ACME-OLD-1" in text and "ACME-DRAFT-3" not in text, "kept from acme's channel, shown on acme's page"
