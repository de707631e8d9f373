"""Review 18d, findings 5 and 6: a withdrawal's dry run and confirmation name what the real run leaves up; the
summary of a post names each notice it raised, sent or not, and a notice keeps off what the command left out."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from tests.conftest import ENGINE, Project
from tests.fakes.base import Fault, Response
from tests.fakes.world import PUBLIC_CHAT, FakeWorld
from tests.test_confirmation import in_terminal

# -- finding 5: withdraw --dry-run and the confirmation ------------------------------------------


def _post(project: Project, *args: str) -> str:
    posted = project.cli("post", "--yes", "--json", *args)
    return str(json.loads(posted.stdout)["incident_id"])


def _posted_then_table_renamed(project: Project, world: FakeWorld) -> str:
    project.write_config(ENGINE + world.channels_toml())
    incident = _post(project, "--only", "site,tg-public", "--title", "API errors", "-C", "api", "Elevated API errors.")
    project.write_config(ENGINE + world.channels_toml().replace("[channels.tg-public]", "[channels.tg-announce]"))
    return incident


def _destinations_section(shown: str) -> str:
    """The confirmation's "Destinations" section: what is listed there, not what the incident's text holds."""
    return shown.split("Destinations", 1)[1].split("Withdraw it now?", 1)[0]


def test_withdraw_dry_run_names_the_public_post_it_will_leave_up_and_changes_nothing(
    project: Project, world: FakeWorld
) -> None:
    incident = _posted_then_table_renamed(project, world)
    stored_before = project.cli("show", incident, "--json").stdout
    requests_before = len(world.telegram.requests)

    dry = project.cli("withdraw", incident, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "Left up: 1 post(s) the withdrawal will not delete" in dry.output and "tg-public @acmestatus" in dry.output, dry.output
    assert "not deleted" in dry.output and "by hand" in dry.output
    dry_json = json.loads(project.cli("withdraw", incident, "--dry-run", "--json").stdout)
    assert [(d["destination"], d["state"]) for d in dry_json["in_doubt"]] == [("tg-public", "sent")], dry_json
    assert "not deleted" in dry_json["in_doubt"][0]["error"]
    # Read only: nothing stored, nothing sent.
    assert project.cli("show", incident, "--json").stdout == stored_before
    assert len(world.telegram.requests) == requests_before

    real = project.cli("withdraw", "--yes", "--json", incident)
    assert real.exit_code == 3  # as the dry run foretold
    assert [d["destination"] for d in json.loads(real.stdout)["in_doubt"]] == ["tg-public"]
    assert len(world.telegram_messages(PUBLIC_CHAT)) == 1


def test_withdraw_confirmation_names_the_public_post_it_will_leave_up(project: Project, world: FakeWorld) -> None:
    incident = _posted_then_table_renamed(project, world)
    code, shown = in_terminal(project, ["withdraw", incident, "--reason", "test"], b"n\n", b"Withdraw it now?")
    assert code == 2, shown
    listed = _destinations_section(shown)
    assert "Left up: 1 post(s) the withdrawal will not delete" in listed and "tg-public @acmestatus" in listed and "not deleted" in listed, shown


def test_withdraw_confirmation_names_a_channel_whose_readers_changed(project: Project, world: FakeWorld) -> None:
    project.write_config(ENGINE + world.channels_toml())
    incident = _post(project, "--only", "site,tg-public", "--title", "API errors", "-C", "api", "Elevated API errors.")
    project.write_config(ENGINE + world.channels_toml().replace(
        "[channels.tg-public]\n", '[channels.tg-public]\nvisibility = "internal"\n'))
    code, shown = in_terminal(project, ["withdraw", incident, "--reason", "test"], b"n\n", b"Withdraw it now?")
    assert code == 2, shown
    listed = _destinations_section(shown)
    assert "tg-public @acmestatus [internal]: skipped, its readers changed" in listed, shown
    assert "public then" in listed


def test_withdraw_dry_run_names_a_post_of_unknown_fate_and_leaves_it_unknown(
    project: Project, world: FakeWorld
) -> None:
    incident = _post(project, "--title", "API errors", "Investigating.")
    world.x.fail(Fault(match="/2/tweets", reset_after=True))  # X posts it, the answer is lost
    assert project.cli("post", "--yes", "--only", "x", "-i", incident, "Still looking.").exit_code == 3
    stored_before = project.cli("show", incident, "--json").stdout

    dry_json = json.loads(project.cli("withdraw", incident, "--dry-run", "--json").stdout)
    assert [(d["destination"], d["sequence"], d["state"]) for d in dry_json["in_doubt"]] == [("x", 2, "unknown")]
    assert "delete it by hand" in dry_json["in_doubt"][0]["error"]
    assert project.cli("show", incident, "--json").stdout == stored_before  # still unknown, its error as it was


def test_the_confirmation_does_not_say_posts_deleted_where_one_is_left_alone(
    project: Project, world: FakeWorld
) -> None:
    incident = _post(project, "--title", "API errors", "Investigating.")
    world.x.fail(Fault(match="/2/tweets", reset_after=True))
    assert project.cli("post", "--yes", "--only", "x", "-i", incident, "Still looking.").exit_code == 3
    stranger = world.x.tweets[-1]  # an id given by hand: withdraw never deletes it
    assert project.cli("retry", incident, "--mark-unknown-sent", "--remote-id", f"x={stranger.id}").exit_code == 0

    code, shown = in_terminal(project, ["withdraw", incident], b"n\n", b"Withdraw it now?")
    assert code == 2, shown
    listed = _destinations_section(shown)
    x_line = next(line for line in listed.splitlines() if line.strip().startswith("x [public]"))
    assert "its" not in x_line and "1 post(s) deleted; others left up, to delete by hand" in x_line, listed
    assert stranger.id in listed and "recorded by hand" in listed


def test_a_post_recorded_sent_without_its_id_is_named_before_the_withdrawal(
    project: Project, world: FakeWorld
) -> None:
    """`retry --mark-unknown-sent` without --remote-id: the post is there, with no id to delete it by. The dry run
    and the confirmation name it; the confirmation does not say x's posts are deleted."""
    incident = _post(project, "--title", "API errors", "Investigating.")
    world.x.fail(Fault(match="/2/tweets", reset_after=True))
    assert project.cli("post", "--yes", "--only", "x", "-i", incident, "Still looking.").exit_code == 3
    assert project.cli("retry", incident, "--mark-unknown-sent").exit_code == 0

    dry_json = json.loads(project.cli("withdraw", incident, "--dry-run", "--json").stdout)
    assert [(d["destination"], d["sequence"]) for d in dry_json["in_doubt"]] == [("x", 2)], dry_json
    assert "recorded sent without its id" in dry_json["in_doubt"][0]["error"]
    code, shown = in_terminal(project, ["withdraw", incident], b"n\n", b"Withdraw it now?")
    assert code == 2, shown
    listed = _destinations_section(shown)
    assert "x [public]: 1 post(s) deleted; others left up, to delete by hand (below)" in listed, listed
    assert "x (#2): posted here as x (no id recorded), and not deleted" in listed, listed
    assert len(world.x.tweets) == 2  # answered no: nothing deleted


# -- finding 6: the notices a post raises, in its summary -----------------------------------------


def _outage_two_hours_old(project: Project, world: FakeWorld) -> None:
    """An open outage of api over its 99.9 % SLA: the next post on it raises the SLA-breach notice."""
    from broadcaster.messages.model import AffectedComponent, ComponentStatus, Impact, Incident, Status, Update

    from broadcaster.config_loader import load
    from broadcaster.store import open_store

    project.config.write_text(project.config.read_text().replace('id = "api"\nname = "API"',
                                                                 'id = "api"\nname = "API"\nsla = 99.9'))
    began = datetime.now(UTC) - timedelta(hours=2)
    config = load(str(project.config), environ=world.env)
    store = open_store(config.store_path)
    down = (AffectedComponent("api", ComponentStatus.MAJOR_OUTAGE),)
    store.record_update(Incident("api-down", "API down", Impact.CRITICAL, Status.INVESTIGATING, began, components=down),
                        Update("api-down", 0, began, Status.INVESTIGATING, "The API is down.", components=down),
                        [], new=True)
    store.close()


def _notice_section(output: str) -> str:
    assert "Notice (SLA breach of api) raised by this update: api-down #3" in output, output
    return output.split("Notice (SLA breach of api)", 1)[1].split("Page:", 1)[0]


def test_a_notice_that_failed_is_named_in_the_summary_with_what_to_run(project: Project, world: FakeWorld) -> None:
    _outage_two_hours_old(project, world)
    # The update's own Slack post goes; the notice's, right after it, fails.
    world.slack.fail(Fault(match="chat.postMessage", after=1,
                           response=Response(400, {"ok": False, "error": "channel_not_found"})))

    done = project.cli("post", "--yes", "-i", "api-down", "Still down.")

    assert done.exit_code == 3, done.output
    notice = _notice_section(done.output)
    assert "✗" not in done.output.split("Notice (", 1)[0], done.output  # the update itself went everywhere
    assert "✗ slack-acme" in notice and "failed   Slack cannot find channel" in notice, notice
    assert "internal notice" not in notice  # the public destinations it never goes to are not listed
    assert "1 delivery not sent." in notice and "`broadcaster retry api-down`" in notice, notice


def test_a_notice_that_was_sent_is_named_in_the_summary(project: Project, world: FakeWorld) -> None:
    _outage_two_hours_old(project, world)
    done = project.cli("post", "--yes", "-i", "api-down", "Still down.")
    assert done.exit_code == 0, done.output
    notice = _notice_section(done.output)
    assert "✓ tg-ops → -1001001" in notice and "✓ slack-acme" in notice and "not sent" not in notice, notice


def test_a_notice_keeps_off_a_destination_the_command_left_out_and_retry_sends_it(
    project: Project, world: FakeWorld
) -> None:
    """`--skip slack-acme`: the SLA notice the post raises is not posted there either, but waits (exit 3, said
    in the summary); `retry` sends it once the operator wants it there. It is never lost."""
    _outage_two_hours_old(project, world)

    done = project.cli("post", "--yes", "-i", "api-down", "--skip", "slack-acme", "Still down.")

    assert done.exit_code == 3, done.output
    assert world.slack_messages() == []  # neither the update nor its notice
    notice = _notice_section(done.output)
    assert "slack-acme" in notice and "pending" in notice and "left slack-acme out (--skip)" in notice, notice
    assert "`broadcaster retry api-down` sends it there" in notice, notice  # the notice's own incident (review 18f)
    assert "✓ tg-ops → -1001001" in notice and "1 delivery not sent." in notice, notice
    shown = json.loads(project.cli("post", "--yes", "--json", "-i", "api-down", "--skip", "slack-acme",
                                   "Still down, still looking.").stdout)
    assert shown["notices"] == []  # raised once a month: nothing new, nothing sent there meanwhile
    assert world.slack_messages() == []

    retried = project.cli("retry")
    assert retried.exit_code == 0, retried.output
    assert len(world.slack_messages()) == 1  # the notice alone: the skipped updates stay skipped
    assert project.cli("retry").exit_code == 0
    assert len(world.slack_messages()) == 1
