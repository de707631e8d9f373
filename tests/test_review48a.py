"""Review 48a: the threading and schema-9 change (``deliveries.starts_thread``) attacked through the real CLI
against the loopback fakes."""

from __future__ import annotations

from tests.conftest import ENGINE, Project
from tests.fakes.base import Fault
from tests.fakes.discord import FakeDiscord
from tests.fakes.slack import FakeSlack
from tests.fakes.world import PUBLIC_CHAT, FakeWorld
from tests.test_review47a import _post, died_recording_a_restarted_thread
from tests.test_review47b import CHANNEL, slack  # noqa: F401 - a pytest fixture


def _discord_forum(project: Project, fake: FakeDiscord) -> None:
    project.write_config(ENGINE + f'\n[channels.discord]\ntype = "discord"\nwebhook_url = "${{DISCORD_URL}}"\n'
                         f'api_url = "{fake.api_url}"\n')
    project.env["DISCORD_URL"] = fake.webhook_url


def test_a_forum_post_known_by_its_message_id_alone_deleted_is_opened_anew_once(project: Project) -> None:
    """The incident's first forum post, its answer lost, marked sent with the message id the operator copied (no
    thread in it); then a moderator deleted the forum post. The next update opened a new forum post, and the one
    after it again: the forum post opened anew was not recorded as the thread's first."""
    with FakeDiscord(forum=True) as forum:
        _discord_forum(project, forum)
        forum.fail(Fault(match="/webhooks/", reset_after=True, after=1, when=lambda r: r.method == "POST"))
        code, out = _post(project, "--title", "API errors", "Errors on the API.")
        assert code == 3, out
        incident = str(out["incident_id"])
        [starter] = forum.messages
        marked = project.cli("retry", incident, "--mark-unknown-sent", "--remote-id", f"discord={starter.id}")
        assert marked.exit_code == 0, marked.output
        forum.threads.discard(starter.channel_id)  # a moderator deleted the forum post
        forum.messages.clear()
        for status, text in (("identified", "Cause found."), ("monitoring", "A fix is out."), ("resolved", "Fixed.")):
            code, out = _post(project, "-i", incident, "-s", status, text)
            assert code == 0, out
        opened = [m for m in forum.messages if m.body.get("thread_name")]
        assert len(opened) == 1, [m.channel_id for m in forum.messages]
        assert {m.channel_id for m in forum.messages} == {opened[0].id}


def test_a_correction_that_could_not_be_posted_anew_is_not_said_posted(
        project: Project, slack: FakeSlack) -> None:  # noqa: F811
    """Slack would not edit the corrected message (cant_update_message), and every attempt to post the correction
    anew met a 503: the delivery failed, and its line said, with the channel's reason, "posted the correction as a
    new message". Nothing was posted; the original is still up, uncorrected."""
    from tests.fakes.base import Response

    code, out = _post(project, "--title", "API errors", "Errors on the API: HOST-DB7.")
    assert code == 0, out
    unavailable = Fault(match="chat.postMessage", response=Response(503, {"ok": False, "error": "service_unavailable"}))
    slack.fail(Fault(match="chat.update", response=Response(200, {"ok": False, "error": "cant_update_message"})),
               *[unavailable] * 4)
    code, out = project.cli_json("amend", "--yes", str(out["incident_id"]), "1", "Errors on the API: a database.")
    [corrected] = [d for d in out["deliveries"] if d["destination"] == "status-slack"]
    assert code == 3 and corrected["state"] == "failed", corrected
    said = " ".join(corrected["notes"])
    assert "still up, uncorrected" in said and "posted the correction as a new message" not in said, said
    assert "did not go" in said, said
    assert len(slack.messages[CHANNEL]) == 1


def test_a_first_message_marked_sent_by_its_link_in_the_channel_s_own_case_is_replied_to(
        project: Project, world: FakeWorld) -> None:
    """The incident's first Telegram message, its answer lost, marked sent by its link as Telegram's Copy Link gives
    it (t.me/AcmeStatus/1, the username in the channel's own case) where the config writes @acmestatus. The id was
    kept so spelled, and the chat it named was not the delivery's to `_reply_id`: every follow-up went out replying to
    nothing, and without the note that says so."""
    world.telegram.fail(Fault(match="sendMessage", reset_after=True))
    code, out = _post(project, "--only", "tg-public", "--title", "API errors", "-C", "api", "Errors on the API.")
    assert code == 3, out
    incident = str(out["incident_id"])
    [first] = world.telegram_messages(PUBLIC_CHAT)
    marked = project.cli("retry", incident, "--mark-unknown-sent", "--remote-id",
                         f"tg-public=https://t.me/AcmeStatus/{first.message_id}")
    assert marked.exit_code == 0, marked.output
    code, out = _post(project, "-i", incident, "-s", "resolved", "Fixed.")
    assert code == 0, out
    first, fixed = world.telegram_messages(PUBLIC_CHAT)
    assert fixed.reply_to_message_id == first.message_id


def test_a_post_broadcaster_confirmed_marked_sent_by_its_link_in_another_case_is_withdrawn(
        project: Project, world: FakeWorld) -> None:
    """The follow-up that started the thread anew (the first message deleted) was confirmed, its id stored, and the
    command died as it recorded it sent. Marked sent by its link as Telegram gives it (t.me/AcmeStatus/N), it did
    not match the stored @acmestatus:N (4d01488 compares the two): recorded as an id given by hand, and withdraw
    left broadcaster's own post up, "an id given by hand may name someone else's post"."""
    incident = died_recording_a_restarted_thread(project, world)
    [restarted] = world.telegram_messages(PUBLIC_CHAT)
    marked = project.cli("retry", incident, "--mark-unknown-sent", "--remote-id",
                         f"tg-public=https://t.me/AcmeStatus/{restarted.message_id}")
    assert marked.exit_code == 0, marked.output
    code, out = project.cli_json("withdraw", incident, "--yes", "--reason", "posted in error")
    assert code == 0, out
    assert world.telegram_messages(PUBLIC_CHAT) == [], out


def test_a_forum_post_broadcaster_confirmed_marked_sent_by_its_ids_is_withdrawn(project: Project) -> None:
    """The follow-up that opened the forum post anew was confirmed, its id stored, and the command died as it
    recorded it sent. Marked sent with <thread id>:<message id>, as Discord's ids are copied (no webhook in them), it
    did not match the stored id, which names the webhook: recorded as given by hand, and withdraw left broadcaster's
    own message up, told twice, once per spelling."""
    from tests.test_review47b import WHEN

    with FakeDiscord(forum=True) as forum:
        _discord_forum(project, forum)
        code, out = _post(project, "--title", "API errors", "Errors on the API.")
        assert code == 0, out
        incident = str(out["incident_id"])
        [starter] = forum.messages
        forum.threads.discard(starter.channel_id)  # a moderator deleted the forum post
        forum.messages.clear()
        process = project.process("post", "--yes", "-i", incident, "-s", "identified", "Cause found.",
                                  env={"PYTHONPATH": str(WHEN), "BROADCASTER_TEST_DIE_BEFORE_SENT": "1200"})
        process.communicate(timeout=60)
        assert process.returncode == 137
        [opened] = forum.messages
        marked = project.cli("retry", incident, "--mark-unknown-sent", "--remote-id",
                             f"discord={opened.channel_id}:{opened.id}")
        assert marked.exit_code == 0, marked.output
        code, out = project.cli_json("withdraw", incident, "--yes", "--reason", "posted in error")
        assert code == 0, out
        assert forum.messages == [], out


def test_a_new_thread_s_first_post_retried_and_confirmed_before_a_crash_is_not_posted_again(
        project: Project, slack: FakeSlack) -> None:  # noqa: F811
    """The follow-up going out at top level (the first message deleted) failed (a 503 every attempt): kept as the
    thread's new first post. `retry` then posted it, Slack confirmed it, and the command died as it recorded it
    sent. The log began already knowing it starts the thread, so the channel's word came to nothing and the post's
    id was not stored the moment it was confirmed (as 4849db5 does for the first try): the resume posted it again,
    a second new thread."""
    from tests.fakes.base import Response
    from tests.test_review47b import WHEN, first_message_deleted

    incident = first_message_deleted(project, slack)
    unavailable = Fault(match="chat.postMessage", after=1,  # the reply (refused: thread_not_found) goes through
                        response=Response(503, {"ok": False, "error": "service_unavailable"}))
    slack.fail(*[unavailable] * 4)
    code, out = _post(project, "-i", incident, "-s", "identified", "Cause found.")
    assert code == 3 and slack.top_level(CHANNEL) == [], out
    process = project.process("retry", incident,
                              env={"PYTHONPATH": str(WHEN), "BROADCASTER_TEST_DIE_BEFORE_SENT": f"{CHANNEL}:"})
    process.communicate(timeout=60)
    assert process.returncode == 137
    assert len(slack.top_level(CHANNEL)) == 1
    code, out = project.cli_json("retry", incident, "--include-unknown")
    assert code == 0, out
    assert len(slack.top_level(CHANNEL)) == 1, [m.text for m in slack.top_level(CHANNEL)]


def test_a_correction_posted_anew_of_unknown_fate_is_not_said_posted(
        project: Project, slack: FakeSlack) -> None:  # noqa: F811
    """As above, the new post's answer lost: of unknown fate, not "posted"."""
    from tests.fakes.base import Response

    code, out = _post(project, "--title", "API errors", "Errors on the API: HOST-DB7.")
    assert code == 0, out
    slack.fail(Fault(match="chat.update", response=Response(200, {"ok": False, "error": "cant_update_message"})),
               Fault(match="chat.postMessage", reset_after=True))
    code, out = project.cli_json("amend", "--yes", str(out["incident_id"]), "1", "Errors on the API: a database.")
    [corrected] = [d for d in out["deliveries"] if d["destination"] == "status-slack"]
    assert code == 3 and corrected["state"] == "unknown", corrected
    said = " ".join(corrected["notes"])
    assert "still up, uncorrected" in said and "may or may not have gone" in said, said
    assert "posted the correction as a new message" not in said, said


def test_a_store_of_a_newer_schema_is_a_refusal(project: Project) -> None:
    """A state file a newer broadcaster wrote (a member of the team upgraded first, a restored backup) is refused
    before anything is read or written: exit 2, as every refusal, not 1, which says something failed part way."""
    import sqlite3

    assert project.cli("post", "--yes", "--title", "API errors", "Errors on the API.").exit_code == 0
    with sqlite3.connect(project.root / ".broadcaster" / "state.db") as db:
        db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    listed = project.cli("list")
    assert listed.exit_code == 2, listed.output
    assert "written by a newer broadcaster (schema 99); upgrade broadcaster" in listed.stderr, listed.stderr
    assert "Nothing was stored or sent." in listed.stderr, listed.stderr
