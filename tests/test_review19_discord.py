"""Review 19e, findings 3 and 4: Discord posts made by two webhooks (the old URL, then its replacement).

3. A withdrawal keeps the posts each attempt deleted (``DeliveryError.deleted``, stored as its delivery's parts):
   a retry with the other webhook's URL asks only about the rest, and never calls a deleted post "still up".
4. A correction the channel cannot edit in place (``NotEditable``) is rendered and posted by the engine as a new
   post: the incident as it stands, marked as a correction, never the original's old status and promise.

Each drives the real CLI against the fakes where the defect is user-visible.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import pytest
from broadcaster.channels.discord import DiscordChannel

from broadcaster.config import ChannelConfig, Secret
from broadcaster.errors import DeliveryError, NotEditable
from tests.conftest import Project
from tests.hook_helpers import delete_once, edit_once, send_once, update, view
from tests.test_review19_channels_a import NEW_ID, NEW_URL, OwningDiscord, _delivery, _discord_config


def _discord(result: Any) -> dict[str, Any]:
    """The Discord delivery of a command's --json answer ({} if it has none)."""
    return next((d for d in json.loads(result.stdout).get("deliveries", []) if d["destination"] == "discord"), {})


def _two_webhooks(project: Project, discord: OwningDiscord) -> str:
    """An incident whose update 1 the old webhook posted and update 2 its replacement (the URL replaced between)."""
    _discord_config(project, discord)
    posted = project.cli("post", "--yes", "--json", "--title", "Login errors", "Logins fail for some users.")
    assert posted.exit_code == 0, posted.output
    incident_id: str = json.loads(posted.stdout)["incident_id"]
    project.env["DISCORD_URL"] = NEW_URL  # the old URL leaked: replaced
    follow = project.cli("post", "--yes", "--json", "-i", incident_id, "-s", "identified", "Cause found.")
    assert follow.exit_code == 0, follow.output
    assert len(discord.messages) == 2
    return incident_id


def _deletes_of(discord: OwningDiscord, message_id: str) -> int:
    return sum(1 for r in discord.received(f"/messages/{message_id}") if r.method == "DELETE")


# -- finding 3: a withdrawal of two webhooks' posts --------------------------------------------------------------


def test_withdraw_of_posts_made_by_two_webhooks_can_be_finished(project: Project) -> None:
    """Withdraw (new URL) deletes update 2 and fails on update 1, advising to put the old URL back and retry. That
    retry finishes: update 2, deleted already, is not asked about again, nor named "still up"."""
    with OwningDiscord() as discord:
        incident_id = _two_webhooks(project, discord)
        first, second = discord.messages

        withdrawn = project.cli("withdraw", incident_id, "--yes", "--json", "--reason", "posted in error")
        assert withdrawn.exit_code == 3, withdrawn.output
        assert [m.id for m in discord.messages] == [first.id]  # the new webhook's post is gone
        failed = _discord(withdrawn)
        assert first.id in failed["error"] and "still up" in failed["error"] and second.id not in failed["error"]

        project.env["DISCORD_URL"] = discord.webhook_url  # as advised: the old webhook's URL put back
        retried = project.cli("retry", incident_id, "--json")
        delivery = _discord(retried)
        assert discord.messages == [], retried.output
        assert second.id not in (delivery.get("error") or ""), (
            f"message {second.id} was deleted by the first withdraw, yet the retry says it is still up: "
            f"{delivery.get('error')}")
        assert retried.exit_code == 0 and delivery.get("state") == "sent", retried.output
        assert _deletes_of(discord, second.id) == 1  # asked once, by the attempt that deleted it
        assert any("deleted by an earlier attempt" in n for n in delivery["notes"]), delivery["notes"]


def test_a_retry_with_the_same_url_names_only_the_post_left(project: Project) -> None:
    """Retried before the URL is swapped, the withdrawal fails again on the other webhook's post alone: the one it
    deleted is neither asked about again nor counted among the posts not deleted."""
    with OwningDiscord() as discord:
        incident_id = _two_webhooks(project, discord)
        first, second = discord.messages
        assert project.cli("withdraw", incident_id, "--yes", "--json", "--reason", "posted in error").exit_code == 3

        again = project.cli("retry", incident_id, "--json")
        error = _discord(again)["error"]
        assert again.exit_code == 3 and first.id in error and "by hand" in error
        assert second.id not in error and "more post(s)" not in error, error
        assert _deletes_of(discord, second.id) == 1


def test_a_forum_post_deleted_by_an_earlier_attempt_is_still_said_to_stay(project: Project) -> None:
    """In a forum, the old webhook opened the post and the new one replied. The withdrawal with the old URL deletes
    the opening message and fails on the reply; its retry with the new URL skips the opening message, yet still says
    the forum post (titled with the incident) stays, to delete by hand."""
    with OwningDiscord(forum=True) as forum:
        incident_id = _two_webhooks(project, forum)
        opening, reply = forum.messages
        thread = opening.channel_id
        project.env["DISCORD_URL"] = forum.webhook_url
        withdrawn = project.cli("withdraw", incident_id, "--yes", "--json", "--reason", "posted in error")
        assert withdrawn.exit_code == 3 and [m.id for m in forum.messages] == [reply.id], withdrawn.output

        project.env["DISCORD_URL"] = NEW_URL
        retried = project.cli("retry", incident_id, "--json")
        delivery = _discord(retried)
        assert retried.exit_code == 0 and forum.messages == [], retried.output
        assert _deletes_of(forum, opening.id) == 1
        assert any("forum post" in n and thread in n and "by hand" in n for n in delivery["notes"]), delivery["notes"]


def test_a_failed_delete_carries_the_posts_it_deleted() -> None:
    """``DeliveryError.deleted``: the posts this webhook deleted; never another webhook's, nor an id stored before
    ids named their webhook that Discord did not find (it may be another's: asked about again, its note said)."""
    with OwningDiscord() as fake:
        old = DiscordChannel(ChannelConfig("discord", "discord", api_url=fake.api_url,
                                           options={"webhook_url": Secret("DISCORD_URL", fake.webhook_url)}))
        anothers = send_once(old, view()).remote_id
        legacy = send_once(old, view(update(2, "Cause found."))).remote_id.partition("@")[0]
        new = DiscordChannel(ChannelConfig("discord", "discord", api_url=fake.api_url,
                                           options={"webhook_url": Secret("DISCORD_URL", NEW_URL)}))
        own = send_once(new, view(update(3, "Fixed."))).remote_id
        with pytest.raises(DeliveryError) as failed:
            delete_once(new, [anothers, legacy, own])
        assert failed.value.deleted == (own,) and not failed.value.retryable


# -- finding 4: a correction posted anew ---------------------------------------------------------------------------


def _resolved_with_a_promise(project: Project) -> str:
    posted = project.cli("post", "--yes", "--json", "--title", "Login errors", "--next-update", "30m",
                         "Logins fail in eu-west.")
    assert posted.exit_code == 0, posted.output
    incident_id: str = json.loads(posted.stdout)["incident_id"]
    resolved = project.cli("post", "--yes", "--json", "-i", incident_id, "-s", "resolved", "Fixed.")
    assert resolved.exit_code == 0, resolved.output
    return incident_id


def _reads_as_a_new_correction(shown: str) -> None:
    """A correction posted as a new message: the incident as it stands (resolved), marked as a correction."""
    assert "eu-central" in shown and "Correction" in shown and "Resolved" in shown, shown
    assert "Next update" not in shown and "Investigating" not in shown, shown


def test_a_correction_posted_anew_after_the_webhook_is_replaced_repeats_no_lapsed_promise(project: Project) -> None:
    """An edit shows the update as it was posted (its status, its "Next update by"); a correction posted as a new
    message must not: it is rendered as a new post, as media that cannot edit render it."""
    with OwningDiscord() as discord:
        _discord_config(project, discord)
        incident_id = _resolved_with_a_promise(project)
        project.env["DISCORD_URL"] = NEW_URL
        amended = project.cli("amend", incident_id, "1", "--yes", "--json", "Logins failed in eu-central.")
        assert amended.exit_code == 0, amended.output
        original, _, correction = discord.messages
        _reads_as_a_new_correction(correction.shown)
        assert "eu-west" in original.shown and not original.edits and discord.owner[correction.id] == NEW_ID
        delivery = _delivery(amended, "discord")
        assert delivery["state"] == "sent" and delivery["remote_id"].startswith(correction.id)
        assert any("still up" in n and "by hand" in n for n in delivery["notes"]), delivery["notes"]


def test_amend_of_a_message_deleted_by_hand_posts_the_correction_as_it_stands(project: Project) -> None:
    """Discord answers the edit 10008 (the message is gone): the correction is posted anew, rendered as one."""
    with OwningDiscord() as discord:
        _discord_config(project, discord)
        incident_id = _resolved_with_a_promise(project)
        discord.messages.pop(0)  # deleted by hand in Discord
        amended = project.cli("amend", incident_id, "1", "--yes", "--json", "Logins failed in eu-central.")
        assert amended.exit_code == 0, amended.output
        _, correction = discord.messages
        _reads_as_a_new_correction(correction.shown)
        assert any("gone" in n for n in _delivery(amended, "discord")["notes"])


def test_amend_of_an_id_stored_before_ids_named_their_webhook_says_the_original_may_still_be_up(
        project: Project) -> None:
    """An old-form id (no webhook) of a replaced webhook's message: Discord answers the new one's edit 10008. The
    correction is posted anew as it stands, and the note says the original may still be up."""
    with OwningDiscord() as discord:
        _discord_config(project, discord)
        incident_id = _resolved_with_a_promise(project)
        with sqlite3.connect(project.root / ".broadcaster" / "state.db") as db:  # as stored before 4c7fb62
            db.execute("UPDATE deliveries SET remote_id = substr(remote_id, 1, instr(remote_id, '@') - 1)"
                       " WHERE destination = 'discord' AND remote_id LIKE '%@%'")
        project.env["DISCORD_URL"] = NEW_URL
        amended = project.cli("amend", incident_id, "1", "--yes", "--json", "Logins failed in eu-central.")
        assert amended.exit_code == 0, amended.output
        original, _, correction = discord.messages
        _reads_as_a_new_correction(correction.shown)
        assert not original.edits
        assert any("still up" in n and "by hand" in n for n in _delivery(amended, "discord")["notes"])


def test_the_channel_says_a_post_it_cannot_edit_rather_than_posting_the_edit() -> None:
    """``DiscordChannel.edit`` raises ``NotEditable`` (nothing changed, nothing posted) for another webhook's message
    and for one Discord does not find; the engine posts the correction, rendered as a new post."""
    with OwningDiscord() as fake:
        old = DiscordChannel(ChannelConfig("discord", "discord", api_url=fake.api_url,
                                           options={"webhook_url": Secret("DISCORD_URL", fake.webhook_url)}))
        first = send_once(old, view()).remote_id
        new = DiscordChannel(ChannelConfig("discord", "discord", api_url=fake.api_url,
                                           options={"webhook_url": Secret("DISCORD_URL", NEW_URL)}))
        correction = view(update(2, "Corrected.", kind="correction"))
        with pytest.raises(NotEditable, match="another webhook") as anothers:
            edit_once(new, correction, first)
        assert "still up" in str(anothers.value) and not any(r.method == "PATCH" for r in fake.received())
        with pytest.raises(NotEditable, match="gone") as gone:
            edit_once(old, correction, "1200000000000000999@" + fake.webhook_id)
        assert "still up" not in str(gone.value)
        with pytest.raises(NotEditable, match="still up"):  # an old-form id: it may be a replaced webhook's
            edit_once(new, correction, first.partition("@")[0])
        assert len(fake.messages) == 1 and not fake.messages[0].edits and NEW_URL not in str(anothers.value)
