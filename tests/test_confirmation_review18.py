"""What the confirmation shows against what is published (review 18d; each test failed before its fix): another
reader's rendering was printed under "What the public will read" when no public channel took the update, a "y"
typed before the question answered it, and a new title was not named."""

from __future__ import annotations

import json
import re

from tests.conftest import Project
from tests.fakes.slack import FakeSlack
from tests.fakes.world import FakeWorld
from tests.test_audiences import slack  # noqa: F401 - the fixture
from tests.test_confirmation import in_terminal


def _public_part(shown: str) -> str:
    """What is printed under "What the public will read", up to the next heading (a line of rules)."""
    after = shown.split("What the public will read", 1)[1].split("\n", 1)[1]
    return after.split("──")[0]


def _posted(project: Project, text: str) -> str:
    found = json.loads(project.cli("post", "--yes", "--json", "--title", "API errors", "-C", "api", text).stdout)
    return str(found["incident_id"])


def test_a_staff_only_update_is_not_shown_as_what_the_public_will_read(project: Project, world: FakeWorld) -> None:
    incident = _posted(project, "Investigating.")
    code, shown = in_terminal(project, ["post", "-i", incident, "--only", "tg-ops", "--private", "circuit 42 of Initech",
                                        "Staff: [private]router r7 at Initech[/private] looking."], b"n\n", b"Publish now?")
    assert code == 2, shown
    public = _public_part(shown)
    assert "Initech" not in public and "router r7" not in public and "Nothing: neither the page" in public, public
    assert "What tg-ops (internal) will read" in shown and "router r7" in shown  # the operator still sees it, named


def test_a_customer_only_update_is_not_shown_as_what_the_public_will_read(project: Project, slack: FakeSlack) -> None:  # noqa: F811
    code, shown = in_terminal(project, ["post", "--title", "API errors", "-C", "api", "--only", "acme-slack",
                                        "--for", "acme", "Your circuit ACM-CIRCUIT-7", "Errors."], b"n\n", b"Publish now?")
    assert code == 2, shown
    assert "ACM-CIRCUIT-7" not in _public_part(shown), shown
    assert "What acme-slack (audience:acme) will read" in shown


def test_a_correction_of_staff_detail_alone_is_not_shown_as_what_the_public_will_read(
        project: Project, world: FakeWorld) -> None:
    incident = _posted(project, "Errors on the API. [private]router r6[/private]")
    code, shown = in_terminal(project, ["amend", incident, "1", "Errors on the API. [private]router r7 at Initech[/private]"],
                              b"n\n", b"Publish now?")
    assert code == 2, shown
    assert "x [public]" not in shown and "tg-ops [internal]" in shown, shown  # staff alone take it
    public = _public_part(shown)
    assert "Initech" not in public and "router r7" not in public, public


def test_a_public_update_is_shown_as_the_public_reads_it(project: Project, world: FakeWorld) -> None:
    code, shown = in_terminal(project, ["post", "--title", "API errors", "-C", "api", "--private", "circuit 42",
                                        "Errors on the API. [private]router r7[/private]"], b"n\n", b"Publish now?")
    assert code == 2, shown
    public = _public_part(shown)
    assert "Errors on the API." in public and "router r7" not in public and "circuit 42" not in public, public


def test_the_confirmation_says_the_update_retitles_the_incident(project: Project, world: FakeWorld) -> None:
    incident = _posted(project, "Investigating.")
    code, shown = in_terminal(project, ["post", "-i", incident, "-t", "Payments outage", "Still looking."], b"n\n",
                              b"Publish now?")
    assert code == 2, shown
    assert "Title: API errors → Payments outage" in shown, shown


def test_a_yes_typed_before_the_confirmation_was_shown_does_not_publish(project: Project, world: FakeWorld) -> None:
    code, shown = in_terminal(project, ["post", "--title", "API errors", "-C", "api", "Investigating."], b"\n",
                              b"[y/N]:", typed_ahead=b"y\n")
    assert world.x.tweets == [], shown
    assert json.loads(project.cli("list", "--json").stdout) == [], shown
    assert code != 0, shown


def test_an_update_only_the_public_page_takes_is_shown_as_the_public_reads_it(project: Project) -> None:
    """Review 18e, of the fix above: with no channel (the page alone, as `init` writes it) the update goes on the
    public page, and the confirmation said the public read "Nothing"."""
    project.write_config()
    code, shown = in_terminal(project, ["post", "--title", "API errors", "-C", "api", "Errors on the API."], b"n\n",
                              b"Publish now?")
    assert code == 2, shown
    public = _public_part(shown)
    assert "Nothing" not in public and "Errors on the API." in public, public


def test_the_new_incident_confirmed_is_the_one_published(project: Project, world: FakeWorld) -> None:
    """A new incident kept from the public gets an id that spells nothing of its title: it was drawn at random
    again by the real run, so the confirmation named one incident (and its link) and another was stored and sent."""
    code, shown = in_terminal(project, ["post", "--title", "API errors", "-C", "api", "--only", "tg-ops",
                                        "Staff: looking."], b"y\n", b"Publish now?")
    assert code == 0, shown
    confirmed = re.search(r"New incident (\S+): API errors", shown)
    assert confirmed and confirmed.group(1).startswith("incident-"), shown
    stored = [i["id"] for i in json.loads(project.cli("list", "--json").stdout)]
    assert stored == [confirmed.group(1)], (stored, confirmed.group(1))
    assert confirmed.group(1) in str(world.telegram_messages(world.ops_chats[0]))


def test_the_id_a_preview_shows_is_the_id_the_post_gets_and_two_such_incidents_differ(
        project: Project, world: FakeWorld) -> None:
    args = ("--title", "API errors", "-C", "api", "--only", "tg-ops", "Staff: looking.")
    previewed = json.loads(project.cli("preview", "--json", *args).stdout)["incident_id"]
    posted = json.loads(project.cli("post", "--yes", "--json", *args).stdout)["incident_id"]
    assert previewed == posted and "api" not in posted
    again = json.loads(project.cli("post", "--yes", "--json", "--again", *args).stdout)["incident_id"]
    # Not "<the first>-2": a widened one would tell the public another was kept from it under the same title.
    assert again != posted and not again.startswith(posted), (posted, again)
