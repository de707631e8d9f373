"""A destination's own words are not private detail; the same word in the update's own text is.

main's egress guard on the channels and fc-site's guard on the site met in one
merge: a customer whose name is a word every payload prints ("Next" in "Next
update by", the status "Investigating", "Incident page", Slack's "blocks", the
feed's <guid>, the base URL) had every public post refused and its incident
left off the page. These customers now publish everywhere, the site's uploads
included, and the guard still refuses the update that writes the name itself.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ENGINE, Project
from tests.fakes.world import PUBLIC_CHAT, SLACK_CHANNEL, FakeWorld
from tests.input_helpers import stored
from tests.unsent_records import assert_refused_whole, import_unsent, saying

GUARD = "refused to publish the message for"
PUBLIC = ("x", "tg-public", "slack-public")

# Customer, what makes the destinations print it of their own, and a public text that names it.
OWN_WORDS = [
    ("Next", ["--next-update", "30m"], "Next sees checkout errors."),
    ("Investigating", [], "Investigating Ltd sees checkout errors."),
    ("Degraded", ["-C", "api=degraded_performance"], "Degraded sees checkout errors."),
    ("Incident", [], "Incident GmbH sees checkout errors."),
    ("Block", [], "Block sees checkout errors."),
    ("Guid", [], "Guid sees checkout errors."),
    ("Example", [], "Example sees checkout errors."),
]
IDS = [customer for customer, *_ in OWN_WORDS]


@pytest.fixture
def public_world(project: Project) -> Iterator[FakeWorld]:
    """X, a public Telegram chat and a public Slack channel; the site copied to a directory target."""
    with FakeWorld() as world:
        project.write_config(ENGINE + textwrap.dedent(f"""
            [channels.x]
            type = "twitter"
            bearer_token = "${{X_TOKEN}}"
            api_url = "{world.x.url}"

            [channels.tg-public]
            type = "telegram"
            token = "${{TG_TOKEN}}"
            chat_ids = ["{PUBLIC_CHAT}"]
            api_url = "{world.telegram.url}"

            [channels.slack-public]
            type = "slack"
            token = "${{SLACK_TOKEN}}"
            channel = "{SLACK_CHANNEL}"
            api_url = "{world.slack.url}/api/"

            [publish.www]
            type = "directory"
            path = "www"
        """))
        project.env.update(world.env)
        yield world


def post(project: Project, *args: str) -> tuple[int, dict[str, Any]]:
    result = project.cli("post", "--yes", "--json", "--title", "Checkout errors", "-C", "api", *args)
    assert result.stdout, result.stderr
    return result.exit_code, json.loads(result.stdout)


def states(posted: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {d["destination"]: (d["state"], d["error"] or "") for d in posted["deliveries"]}


def public_sends(world: FakeWorld) -> list[str]:
    return ([t.text for t in world.x.tweets] + [m.text for m in world.telegram_messages(PUBLIC_CHAT)]
            + [json.dumps(m.__dict__, default=str) for m in world.slack_messages()])


def site_files(folder: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize(("customer", "flags", "naming"), OWN_WORDS, ids=IDS)
def test_a_customer_named_like_a_word_the_destinations_print_publishes_everywhere(
    project: Project, public_world: FakeWorld, customer: str, flags: list[str], naming: str
) -> None:
    code, posted = post(project, "--ticket", customer, *flags, "Some customers see checkout errors.")

    assert code == 0, posted
    assert {name: state for name, (state, _) in states(posted).items()} == dict.fromkeys((*PUBLIC, "site", "www"), "sent")
    incident = posted["incident_id"]
    for folder in (project.site, project.root / "www"):
        assert (folder / "incidents" / f"{incident}.html").is_file()
        assert "Some customers see checkout errors." in (folder / "index.html").read_text()
    assert len(public_sends(public_world)) == 3


@pytest.mark.parametrize(("customer", "flags", "naming"), OWN_WORDS, ids=IDS)
def test_the_same_word_written_in_the_update_is_still_refused(
    project: Project, public_world: FakeWorld, tmp_path: Path, customer: str, flags: list[str], naming: str
) -> None:
    result = project.cli("post", "--yes", "--json", "--title", "Checkout errors", "-C", "api",
                         "--ticket", customer, *flags, naming)

    assert_refused_whole(result, *PUBLIC, "site")
    assert stored(project) == [] and public_sends(public_world) == []
    assert not project.site.exists() and not (project.root / "www").exists()

    # The send-time guard, for such an update stored another way (an edited export): refused there too.
    import_unsent(project, tmp_path, "post", "--title", "Checkout errors", "-C", "api", "--ticket", customer, *flags,
                  "Some customers see checkout errors.", edit=saying(naming))
    code, sent = project.cli_json("retry")

    assert code == 3
    found = states(sent)
    for name in PUBLIC:
        assert found[name][0] == "failed" and found[name][1].startswith(GUARD), found[name]
    assert found["site"][0] == "failed" and "was left out of the site" in found["site"][1]
    assert public_sends(public_world) == []
    for folder in (project.site, project.root / "www"):
        assert naming not in site_files(folder)


def test_a_customer_named_post_publishes_its_postmortem_and_a_postmortem_naming_it_is_refused(
    project: Project, public_world: FakeWorld
) -> None:
    """"Post" is in "Postmortem" on every page and announcement; a postmortem that names the
    customer of one of the incident's updates is refused before it is stored, since the page shows
    every update (it had been stored, then kept the whole incident off the site: half published)."""
    code, posted = post(project, "--ticket", "Post", "Some customers see checkout errors.")
    assert code == 0, posted
    incident = posted["incident_id"]
    assert project.cli("resolve", "--yes", incident, "Fixed.").exit_code == 0
    clean = project.root / "clean.md"
    clean.write_text("# What happened\n\nA bad deploy broke checkout.\n")

    result = project.cli("postmortem", "--yes", "-f", str(clean), incident)

    assert result.exit_code == 0, result.output
    page = (project.root / "www" / "incidents" / f"{incident}.html").read_text()
    assert "A bad deploy broke checkout." in page

    naming = project.root / "naming.md"
    naming.write_text("# What happened\n\nPost was hit hardest by the bad deploy.\n")
    second = post(project, "--ticket", "Post", "More customers see checkout errors.")[1]["incident_id"]
    assert project.cli("resolve", "--yes", second, "Fixed.").exit_code == 0

    result = project.cli("postmortem", "--yes", "--json", "-f", str(naming), second)

    assert result.exit_code == 2, result.output
    assert states(json.loads(result.stdout))["site"][0] == "failed"  # refused there: nothing stored or sent
    assert "Post was hit hardest" not in site_files(project.site) + site_files(project.root / "www")
    assert "A bad deploy broke checkout." in site_files(project.root / "www")
    assert second in site_files(project.site)  # the incident itself stays on the page
    assert len(json.loads(project.cli("show", second, "--json").stdout)["updates"]) == 2  # posted, resolved


def test_another_incidents_public_text_does_not_take_an_incident_off_the_index(
    project: Project, public_world: FakeWorld
) -> None:
    """The index and feeds are checked per incident: what is left of a value with the incident's
    own texts shaped away (the page's words, another incident's public text) is not its leak."""
    assert post(project, "Checkout fix ships next week.")[0] == 0

    code, posted = post(project, "--ticket", "Next", "Some customers see checkout errors.")

    assert code == 0, posted
    index = (project.root / "www" / "index.html").read_text()
    assert "Checkout fix ships next week." in index and "Some customers see checkout errors." in index


def test_preview_shows_such_a_customer_s_update(project: Project, public_world: FakeWorld) -> None:
    shown = project.cli("preview", "--title", "Checkout errors", "--ticket", "Next", "--next-update", "30m",
                        "Some customers see checkout errors.")

    assert shown.exit_code == 0, shown.output
    assert "REFUSED" not in shown.stdout and "Next update by" in shown.stdout


def test_a_title_or_a_link_naming_such_a_customer_is_refused(
    project: Project, public_world: FakeWorld, tmp_path: Path
) -> None:
    """The title (and the page's id made from it) and a link in the message are the update's own
    texts too: shaped away in the template, so the customer they name counts."""
    titled = ("--title", "Next checkout errors", "-C", "api", "--ticket", "Next", "--next-update", "30m",
              "Some customers see checkout errors.")
    assert_refused_whole(project.cli("post", "--yes", *titled), *PUBLIC, "site")
    linked = ("--title", "Checkout errors", "-C", "api", "--ticket", "Next",
              "Errors, see https://status.next.example/checkout.")
    assert_refused_whole(project.cli("post", "--yes", *linked), *PUBLIC, "site")
    assert stored(project) == [] and public_sends(public_world) == []

    # At send time, for such updates brought in by an import:
    def next_title(incident: dict[str, Any], update: dict[str, Any]) -> None:
        incident.update(title="Next checkout errors", id=incident["id"].replace("checkout", "next-checkout"))

    import_unsent(project, tmp_path, "post", "--title", "Checkout errors", "-C", "api", "--ticket", "Next",
                  "--next-update", "30m", "Some customers see checkout errors.", edit=next_title)
    result = project.cli("retry", "--json")
    assert result.exit_code == 3
    assert {d["destination"]: d["state"] for d in json.loads(result.stdout)["deliveries"]} == {
        **dict.fromkeys((*PUBLIC, "site"), "failed"), "www": "sent"}  # the rest of the site, without it
    assert "Next checkout" not in site_files(project.site) + site_files(project.root / "www")

    import_unsent(project, tmp_path, "post", "--title", "Checkout errors", "-C", "api", "--ticket", "Next",
                  "Errors, see the status page.", edit=saying("Errors, see https://status.next.example/checkout."))
    code, sent = project.cli_json("retry")

    assert code == 3
    assert all(state == "failed" for name, (state, _) in states(sent).items() if name in (*PUBLIC, "site"))
    assert public_sends(public_world) == []
