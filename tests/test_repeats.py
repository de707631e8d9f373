"""A post that repeats one just made (the up-arrow and Enter after a post that exited 3, or a second operator posting
what the first did) is refused: readers would get a second incident, or the same update twice, on every channel.
``--again`` posts it; ``retry`` sends what the first left unsent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Project
from tests.fakes.webhook import SECRET, FakeReceiver
from tests.test_leak_review import hooks, run

__all__ = ["hooks"]  # the fixture: a public, an internal and each customer's receiver


@pytest.fixture
def hook(project: Project) -> Iterator[FakeReceiver]:
    receiver = FakeReceiver().start()
    try:
        project.env["S"] = SECRET
        project.write_config("[engine]\ntimeout = 2\ndeadline = 10\nmax_attempts = 1\n"
                             f'[channels.hook]\ntype = "webhook"\nurl = "{receiver.hook_url}"\nsecret = "${{S}}"\n')
        yield receiver
    finally:
        receiver.stop()


def post(project: Project, *args: str) -> Any:
    return project.cli("post", "--yes", "--json", *args)


def incidents(project: Project) -> list[str]:
    listed = project.cli("list", "--json")
    assert listed.exit_code == 0, listed.stderr
    return [i["id"] for i in json.loads(listed.stdout)]


def test_the_up_arrow_after_a_failed_post_is_refused_and_points_to_retry(project: Project, hook: FakeReceiver) -> None:
    hook.answer = 500
    first = post(project, "--title", "API errors", "-C", "api", "Elevated error rates.")
    assert first.exit_code == 3, first.stderr
    incident = json.loads(first.stdout)["incident_id"]

    again = post(project, "--title", "API errors", "-C", "api", "Elevated error rates.")
    assert again.exit_code == 2, again.stdout
    assert f"broadcaster retry {incident}" in again.stderr and "--again" in again.stderr
    assert incidents(project) == [incident] and len(hook.events) == 0

    hook.answer = 200
    assert project.cli("retry", incident).exit_code == 0
    assert [e["data"]["incident"]["id"] for e in hook.events] == [incident]


@pytest.mark.parametrize("typed", [("--title", "API errors", "Elevated error rates."),
                                   ("--title", "api  errors ", "elevated error\nrates.")])
def test_the_same_new_incident_posted_twice_is_refused(project: Project, hook: FakeReceiver,
                                                        typed: tuple[str, ...]) -> None:
    first = post(project, "--title", "API errors", "-C", "api", "Elevated error rates.")
    assert first.exit_code == 0, first.stderr
    again = post(project, *typed[:2], "-C", "api", typed[2])
    assert again.exit_code == 2 and "Nothing was stored or sent" in again.stderr, again.stderr
    assert len(incidents(project)) == 1 and len(hook.events) == 1


def test_again_posts_it_as_a_new_incident(project: Project, hook: FakeReceiver) -> None:
    assert post(project, "--title", "API errors", "-C", "api", "Errors.").exit_code == 0
    again = post(project, "--again", "--title", "API errors", "-C", "api", "Errors.")
    assert again.exit_code == 0, again.stderr
    assert len(incidents(project)) == 2 and len(hook.events) == 2


def test_a_dry_run_of_a_repeat_says_so(project: Project, hook: FakeReceiver) -> None:
    assert post(project, "--title", "API errors", "-C", "api", "Errors.").exit_code == 0
    dry = project.cli("post", "--dry-run", "--title", "API errors", "-C", "api", "Errors.")
    assert dry.exit_code == 2 and "--again" in dry.stderr, dry.stderr


def test_the_same_update_twice_is_refused_another_status_or_text_is_not(project: Project, hook: FakeReceiver) -> None:
    incident = json.loads(post(project, "--title", "API errors", "-C", "api", "Errors.").stdout)["incident_id"]
    assert post(project, "-i", incident, "-s", "identified", "A bad deploy.").exit_code == 0
    repeated = post(project, "-i", incident, "-s", "identified", "A bad deploy.")
    assert repeated.exit_code == 2 and f"update 2 of {incident}" in repeated.stderr, repeated.stderr
    assert post(project, "-i", incident, "-s", "monitoring", "A bad deploy.").exit_code == 0
    assert post(project, "-i", incident, "-s", "monitoring", "A bad deploy, rolled back.").exit_code == 0
    assert post(project, "-i", incident, "-s", "monitoring", "--again", "A bad deploy, rolled back.").exit_code == 0
    assert len(hook.events) == 5


def test_a_closed_incident_of_the_same_title_is_no_repeat(project: Project, hook: FakeReceiver) -> None:
    incident = json.loads(post(project, "--title", "API errors", "-C", "api", "Errors.").stdout)["incident_id"]
    assert project.cli("resolve", "--yes", incident).exit_code == 0
    assert post(project, "--title", "API errors", "-C", "api", "Errors.").exit_code == 0


# A review: the same words to other readers repeat nothing (nobody gets them twice), and were refused.
def test_the_same_words_first_to_staff_then_to_the_public_are_not_a_repeat(
        project: Project, hooks: dict[str, FakeReceiver]) -> None:
    """Staff are told first (--only ops); minutes later the public is told the same sentence (--skip ops). No reader
    gets it twice, yet it is refused as "a repeat ... it was delivered everywhere it was planned"."""
    incident = run(project, "post", "--title", "API errors", "-C", "api", "Elevated error rates.")["incident_id"]
    run(project, "post", "-i", incident, "--only", "ops", "A fix is being deployed.")
    public = project.cli("post", "--yes", "--json", "-i", incident, "--skip", "ops", "A fix is being deployed.")
    assert public.exit_code == 0, public.output
    assert [e["data"]["update"]["message"] for e in hooks["pub"].events][-1] == "A fix is being deployed."


def test_one_sentence_told_to_each_customer_in_turn_is_not_a_repeat(
        project: Project, hooks: dict[str, FakeReceiver]) -> None:
    incident = run(project, "post", "--title", "Maintenance overrun", "-C", "api", "-C", "db",
                   "Maintenance is taking longer.")["incident_id"]
    run(project, "post", "-i", incident, "--only", "acme-hook", "Your traffic is being moved to the standby region.")
    globex = project.cli("post", "--yes", "--json", "-i", incident, "--only", "globex-hook",
                         "Your traffic is being moved to the standby region.")
    assert globex.exit_code == 0, globex.output
    assert len(hooks["globex"].events) == 2
