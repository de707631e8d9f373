"""Review 47a: the last round's Slack thread, correction and cut fixes, times and site publish, attacked through the
real CLI against the loopback fakes."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import ENGINE, Project
from tests.fakes.discord import FakeDiscord
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.world import PUBLIC_CHAT, FakeWorld
from tests.social import M_TOKEN


def _discord_config(project: Project, fake: FakeDiscord) -> None:
    project.write_config(ENGINE + f"""
[channels.discord]
type = "discord"
webhook_url = "${{DISCORD_URL}}"
api_url = "{fake.api_url}"
""")
    project.env["DISCORD_URL"] = fake.webhook_url


def _post(project: Project, *args: str) -> tuple[int, dict[str, Any]]:
    result = project.cli("post", "--yes", "--json", *args)
    return result.exit_code, json.loads(result.stdout)


def test_after_a_forum_post_is_deleted_one_new_forum_post_carries_the_follow_ups(project: Project) -> None:
    with FakeDiscord(forum=True) as forum:
        _discord_config(project, forum)
        code, out = _post(project, "--title", "API errors", "-C", "api", "Errors on the API.")
        assert code == 0, out
        incident = str(out["incident_id"])
        [starter] = forum.messages
        forum.threads.discard(starter.channel_id)  # a moderator deleted the forum post in Discord
        forum.messages.clear()
        for status, text in (("identified", "Cause found."), ("monitoring", "A fix is out."), ("resolved", "Fixed.")):
            code, out = _post(project, "-i", incident, "-s", status, text)
            assert code == 0, out
        opened = [m for m in forum.messages if m.body.get("thread_name")]
        assert len(opened) == 1, [m.shown for m in opened]
        assert {m.channel_id for m in forum.messages} == {opened[0].id}


def test_a_correction_in_a_deleted_forum_post_is_posted_anew_and_holds_nothing_back(project: Project) -> None:
    with FakeDiscord(forum=True) as forum:
        _discord_config(project, forum)
        code, out = _post(project, "--title", "API errors", "-C", "api", "Errors on the API.")
        assert code == 0, out
        incident = str(out["incident_id"])
        forum.threads.discard(forum.messages[0].channel_id)  # a moderator deleted the forum post in Discord
        forum.messages.clear()
        result = project.cli("amend", "--yes", "--json", incident, "1", "Errors on the whole API.")
        [delivery] = [d for d in json.loads(result.stdout)["deliveries"] if d["destination"] == "discord"]
        assert result.exit_code == 0 and delivery["state"] == "sent", result.output
        assert "posted the correction as a new message" in " ".join(delivery["notes"]), delivery
        code, out = _post(project, "-i", incident, "-s", "resolved", "Fixed.")
        assert code == 0, out
        opened = [m for m in forum.messages if m.body.get("thread_name")]
        assert len(opened) == 1 and {m.channel_id for m in forum.messages} == {opened[0].id}, forum.messages


def _mastodon_config(project: Project, fake: FakeMastodon) -> None:
    project.write_config(ENGINE + f"""
[channels.masto]
type = "mastodon"
instance_url = "https://mastodon.example"
access_token = "${{MASTODON_TOKEN}}"
api_url = "{fake.url}"
""")
    project.env["MASTODON_TOKEN"] = M_TOKEN


def test_a_correction_of_a_deleted_mastodon_status_is_posted_anew_and_holds_nothing_back(project: Project) -> None:
    """As Slack's (275fdeb), Discord's and Telegram's: the correction failed for good ("Post a new update"), and that
    new update was held back behind it ("held back ... retry sends both"), retry meeting the same 404."""
    with FakeMastodon(token=M_TOKEN) as fake:
        _mastodon_config(project, fake)
        code, out = _post(project, "--title", "API errors", "-C", "api", "Errors on the API.")
        assert code == 0, [(d["state"], d["error"]) for d in out["deliveries"]]
        incident = str(out["incident_id"])
        fake.statuses.clear()  # deleted by hand on the instance
        result = project.cli("amend", "--yes", "--json", incident, "1", "Errors on the whole API.")
        [delivery] = [d for d in json.loads(result.stdout)["deliveries"] if d["destination"] == "masto"]
        assert result.exit_code == 0 and delivery["state"] == "sent", result.output
        assert "posted the correction as a new status" in " ".join(delivery["notes"]), delivery
        [correction] = fake.posted
        assert "Errors on the whole API." in correction.text, correction.text
        code, out = _post(project, "-i", incident, "-s", "resolved", "Fixed.")
        assert code == 0, out
        assert [s.in_reply_to_id for s in fake.posted] == [None, correction.id]


def test_after_the_first_telegram_message_is_deleted_the_follow_ups_reply_to_one_new_first(
        project: Project, world: FakeWorld) -> None:
    """As Slack's (fb116d4) and Discord's: every follow-up went out replying to nothing, each saying the first message
    was gone, and the incident's updates lay apart in the chat; the first of them now starts the thread anew."""
    code, out = _post(project, "--only", "tg-public", "--title", "API errors", "-C", "api", "Errors on the API.")
    assert code == 0, out
    incident = str(out["incident_id"])
    world.telegram.messages[PUBLIC_CHAT].clear()  # deleted by a channel admin
    notes = []
    for status, text in (("identified", "Cause found."), ("monitoring", "A fix is out."), ("resolved", "Fixed.")):
        code, out = _post(project, "-i", incident, "-s", status, text)
        assert code == 0, out
        notes += [n for d in out["deliveries"] if d["destination"] == "tg-public" for n in d["notes"]]
    restarted, *later = world.telegram_messages(PUBLIC_CHAT)
    assert restarted.reply_to_message_id is None and len(later) == 2, world.telegram_messages(PUBLIC_CHAT)
    assert [m.reply_to_message_id for m in later] == [restarted.message_id] * 2
    assert len([n for n in notes if "deleted" in n]) == 1, notes  # said once, by the one that started anew


def died_recording_a_restarted_thread(project: Project, world: FakeWorld) -> str:
    """An incident on tg-public whose first message was then deleted, and a follow-up that replied to nothing,
    confirmed by Telegram, whose command died as it recorded it sent (a kill -9): the incident's id."""
    from tests.test_review47b import WHEN

    code, out = _post(project, "--only", "tg-public", "--title", "API errors", "-C", "api", "Errors on the API.")
    assert code == 0, out
    incident = str(out["incident_id"])
    world.telegram.messages[PUBLIC_CHAT].clear()  # deleted by a channel admin
    process = project.process("post", "--yes", "-i", incident, "-s", "identified", "Cause found.",
                              env={"PYTHONPATH": str(WHEN), "BROADCASTER_TEST_DIE_BEFORE_SENT": f"{PUBLIC_CHAT}:"})
    process.communicate(timeout=60)
    assert process.returncode == 137
    return incident


def test_a_telegram_follow_up_that_started_anew_and_was_cut_before_its_record_keeps_the_thread(
        project: Project, world: FakeWorld) -> None:
    """The post that replied to nothing was confirmed, and the command died as it recorded it sent (a kill -9):
    `retry --mark-unknown-sent` records it as the thread's first, from the word the channel gave before it was
    confirmed, so the next follow-up replies to it, not to the deleted first message again."""
    incident = died_recording_a_restarted_thread(project, world)
    marked = project.cli("retry", incident, "--mark-unknown-sent")
    assert marked.exit_code == 0, marked.output
    code, out = _post(project, "-i", incident, "-s", "resolved", "Fixed.")
    assert code == 0, out
    restarted, fixed = world.telegram_messages(PUBLIC_CHAT)
    assert restarted.reply_to_message_id is None and fixed.reply_to_message_id == restarted.message_id
