"""Attacks on audiences (issue 15) that found something, kept as tests.

Each drives the CLI against the fake Slack, with the fixtures of ``test_audiences``.
"""

from __future__ import annotations

import json
import stat

import pytest

from tests.conftest import Project
from tests.fakes.slack import FakeSlack
from tests.test_audiences import AUDIENCES, TOKEN, channels_toml, post, slack  # noqa: F401 - the fixture

__all__ = ["slack"]


def _with_tokens(acme: str, globex: str) -> str:
    return (AUDIENCES.replace('components = ["api"]', f'components = ["api"]\nfeed_token = "${{{acme}}}"')
            .replace('components = ["db"]', f'components = ["db"]\nfeed_token = "${{{globex}}}"'))


@pytest.mark.parametrize(("acme", "globex"), [("SHARED_TOKEN", "SHARED_TOKEN"), ("ACME_TOKEN", "GLOBEX_TOKEN")],
                         ids=["one-variable", "one-value"])
def test_two_customers_on_one_feed_token_are_refused(project: Project, slack: FakeSlack, acme: str, globex: str) -> None:
    """Attack: two audiences given the same token would share one a/<token>/ folder, and one customer would
    read the other's page (whichever was written last)."""
    project.env.update({acme: TOKEN, globex: TOKEN})
    project.write_config(_with_tokens(acme, globex) + channels_toml(slack))
    result = project.cli("post", "--yes", "--title", "API errors", "-C", "api", "-C", "db", "--for", "acme", "ACME-CIRCUIT-7",
                         "--for", "globex", "GLOBEX-LINK-9", "Errors.")
    assert result.exit_code == 2, result.stdout + result.stderr
    assert "audiences.globex.feed_token" in result.stderr and "[audiences.acme]" in result.stderr
    assert TOKEN not in result.stderr and TOKEN not in result.stdout
    assert all(not messages for messages in slack.messages.values())
    assert not (project.site / "a" / TOKEN).exists()


def test_the_manifest_that_lists_customer_pages_is_not_world_readable(project: Project, slack: FakeSlack) -> None:
    """Attack: a web server pointed at output_dir serves dot files too; the manifest names every a/<token>/ file."""
    project.env["ACME_FEED_TOKEN"] = TOKEN
    project.write_config(AUDIENCES.replace('components = ["api"]', 'components = ["api"]\nfeed_token = "${ACME_FEED_TOKEN}"')
                         + channels_toml(slack))
    for step in range(2):  # written whole the first time, appended to the next
        code, out = post(project, "--title", f"API errors {step}", "-C", "api", "Errors.")
        assert code == 0, out
        manifest = project.site / ".broadcaster-manifest.json"
        assert TOKEN in manifest.read_text(encoding="utf-8")  # what makes its mode matter
        assert stat.S_IMODE(manifest.stat().st_mode) == 0o600
    assert stat.S_IMODE((project.site / "a" / TOKEN / "index.html").stat().st_mode) == 0o644


def test_a_correction_or_postmortem_naming_an_unknown_audience_is_refused(project: Project, slack: FakeSlack) -> None:
    """Attack: `[for acmee]` (a typo) passed `amend` and `postmortem`, which skip the draft's audience check: stored
    for no one, and acme never told. Refused as in `post`: exit 2, the closest id, nothing stored or sent."""
    code, out = post(project, "--title", "API errors", "-C", "api", "Errors.")
    assert code == 0, out
    incident = str(out["incident_id"])
    sent = {channel: len(messages) for channel, messages in slack.messages.items()}
    amended = project.cli("amend", incident, "1", "--yes", "Errors on the API [for acmee]your circuit ACM-7[/for].")
    assert amended.exit_code == 2, amended.stdout + amended.stderr
    assert "no audience 'acmee'" in amended.stderr and "Did you mean 'acme'" in amended.stderr
    assert {channel: len(messages) for channel, messages in slack.messages.items()} == sent
    assert post(project, "-i", incident, "-s", "resolved", "Fixed.")[0] == 0
    sent = {channel: len(messages) for channel, messages in slack.messages.items()}
    (project.root / "pm.md").write_text("# What happened\n\nA bad deploy [for acmee]hit ACM-7[/for].\n", encoding="utf-8")
    written = project.cli("postmortem", incident, "--yes", "--file", str(project.root / "pm.md"))
    assert written.exit_code == 2, written.stdout + written.stderr
    assert "no audience 'acmee'" in written.stderr
    shown = project.cli_json("show", incident)[1]
    assert len(shown["updates"]) == 2 and "acmee" not in json.dumps(shown)
    assert {channel: len(messages) for channel, messages in slack.messages.items()} == sent
    known = project.cli("amend", incident, "1", "--yes", "Errors on the API [for acme]your circuit ACM-7[/for].")
    assert known.exit_code == 0, known.stdout + known.stderr


def test_a_customer_whose_name_holds_another_customers_is_still_told(project: Project) -> None:
    """Attack: with "Acme Corp" and "Acme Corp EU" both customers, every message and page for Acme Corp EU (headed
    "For Acme Corp EU:") held "Acme Corp", another customer's name: the guard refused them all, for good, so that
    customer was never told. Its own name is now taken out before the search; the other's name alone still is not."""
    channels = {"C0ACME0001": "acme", "C0ACEU0001": "acme-eu", "C0PUB00001": "status"}
    eu_token = "acme-eu-feed-token-0123456789abcdef"
    with FakeSlack(token="xoxb-eu-test", channels=channels) as fake:
        project.env.update({"SLACK_TOKEN": "xoxb-eu-test", "EU_FEED_TOKEN": eu_token})
        tables = "".join(
            f'\n[channels.{name}]\ntype = "slack"\n{line}\ntoken = "${{SLACK_TOKEN}}"\nchannel = "{channel}"\n'
            f'api_url = "{fake.api_url}"\n'
            for name, line, channel in (("acme-slack", 'audience = "acme"', "C0ACME0001"),
                                        ("eu-slack", 'audience = "acme-eu"', "C0ACEU0001"),
                                        ("public-slack", 'visibility = "public"', "C0PUB00001")))
        project.write_config('\n[audiences.acme]\nname = "Acme Corp"\ncomponents = ["api"]\n'
                             '\n[audiences.acme-eu]\nname = "Acme Corp EU"\ncomponents = ["api"]\n'
                             'feed_token = "${EU_FEED_TOKEN}"\n' + tables)
        code, out = post(project, "--title", "API errors", "-C", "api", "--for", "acme-eu", "Your circuit EU-7", "Errors.")
        assert code == 0, out
        [told] = fake.messages["C0ACEU0001"]
        assert "For Acme Corp EU:" in told.all_text and "EU-7" in told.all_text
        page = (project.site / "a" / eu_token / "index.html").read_text(encoding="utf-8")
        assert "EU-7" in page and "For Acme Corp EU:" in page
        code, out = post(project, "-i", str(out["incident_id"]), "--for", "acme-eu", "Acme Corp is down as well.",
                         "Still errors.")
        assert code == 2 and out["refused"] and not out["dry_run"]  # refused whole, before anything is stored
        assert {d["destination"]: d["state"] for d in out["deliveries"]}["eu-slack"] == "failed"
        assert len(fake.messages["C0ACEU0001"]) == 1


def test_a_correction_keeps_the_customers_detail_and_the_internal_note(project: Project, slack: FakeSlack) -> None:
    """Attack (review): `amend` built its correction without the original's --for detail and private note: the
    customer's message was edited in place without its detail, the ops message without the note, and the
    customer's private page lost the detail, all silently."""
    project.env["ACME_FEED_TOKEN"] = TOKEN
    project.write_config(AUDIENCES.replace('components = ["api"]', 'components = ["api"]\nfeed_token = "${ACME_FEED_TOKEN}"')
                         + channels_toml(slack))
    code, out = post(project, "--title", "Backup errors", "-C", "api", "--private", "storage node st-4 degraded",
                     "--for", "acme", "Your backup job B-42 will rerun tonight.", "Elevated latency.")
    assert code == 0, out
    amended = project.cli("amend", str(out["incident_id"]), "1", "--yes", "Elevated database latency.")
    assert amended.exit_code == 0, amended.stdout + amended.stderr
    [acme] = slack.messages["C0ACME0001"]
    [ops] = slack.messages["C0OPS00001"]
    assert acme.edits and "Elevated database latency." in acme.all_text and "B-42" in acme.all_text
    assert ops.edits and "st-4" in ops.all_text and "B-42" in ops.all_text
    page = (project.site / "a" / TOKEN / "index.html").read_text(encoding="utf-8")
    assert "Elevated database latency." in page and "B-42" in page
    assert "B-42" not in json.dumps([[m.text, m.blocks] for m in slack.messages["C0PUB00001"]])


def test_a_correction_can_replace_or_take_out_a_customers_detail(project: Project, slack: FakeSlack) -> None:
    """Review of the fix above: with the detail carried into every correction, a wrong --for could no longer be
    corrected; amend takes --for ID TEXT (and "" to take it out), the other customers' detail kept."""
    code, out = post(project, "--title", "Backup errors", "-C", "api", "-C", "db", "--for", "acme", "Your job B-42 reruns.",
                     "--for", "globex", "Your feed G-7 is late.", "Elevated latency.")
    assert code == 0, out
    incident = str(out["incident_id"])
    fixed = project.cli("amend", incident, "1", "--yes", "--for", "acme", "Your job B-43 reruns.", "Elevated latency.")
    assert fixed.exit_code == 0, fixed.stdout + fixed.stderr
    [acme] = slack.messages["C0ACME0001"]
    assert "B-43" in acme.all_text and "B-42" not in acme.all_text
    assert "G-7" in slack.messages["C0GLOB0001"][0].all_text
    gone = project.cli("amend", incident, "1", "--yes", "--for", "acme", "", "Elevated latency.")
    assert gone.exit_code == 0, gone.stdout + gone.stderr
    assert "B-4" not in slack.messages["C0ACME0001"][0].all_text
    unknown = project.cli("amend", incident, "1", "--yes", "--for", "acmee", "x", "Elevated latency.")
    assert unknown.exit_code == 2 and "Did you mean 'acme'" in unknown.stderr
