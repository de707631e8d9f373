"""Review 19b, findings 2, 5, 8 and 9: Discord after its webhook is replaced, a Discord forum post left by a
withdrawal, the cut note of staff and customers' messages on Discord and Teams, and webhook header values HTTP
cannot carry. Each drives the real CLI against the fakes where the defect is user-visible."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from broadcaster.channels.discord import DiscordChannel
from broadcaster.channels.webhook import WebhookChannel
from broadcaster.messages import discord as discord_fmt
from broadcaster.messages import teams as teams_fmt
from broadcaster.messages.model import Audience
from broadcaster.messages.visibility import audience_view, public_view
from broadcaster.messages.words import cut_note, private_cut_note

from broadcaster.config import ChannelConfig, Secret
from broadcaster.errors import DeliveryError, NotEditable
from tests.conftest import ENGINE, Project
from tests.fakes.base import Request, Response
from tests.fakes.discord import DiscordError, FakeDiscord
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.teams import FakeTeams, plain_texts
from tests.fakes.webhook import SECRET, FakeReceiver
from tests.hook_helpers import URL, delete_once, edit_once, incident, run, send_once, update, view
from tests.social import M_TOKEN

# -- finding 2: a replaced Discord webhook (and a Mastodon token of another account) ------------------------------

NEW_ID, NEW_TOKEN = "223456789012345678", "N" * 68
NEW_URL = f"https://discord.com/api/webhooks/{NEW_ID}/{NEW_TOKEN}"


class OwningDiscord(FakeDiscord):
    """FakeDiscord where, as at Discord, a webhook edits and deletes only the messages it posted (10008 else)."""

    def __init__(self, **kw: Any) -> None:
        self.owner: dict[str, str] = {}
        super().__init__(**kw)
        self.other_webhooks[NEW_ID] = NEW_TOKEN

    def _execute(self, request: Request, found: re.Match[str]) -> Response:
        answer = super()._execute(request, found)
        self.owner[self.messages[-1].id] = found.group("id")
        return answer

    def _owned(self, found: re.Match[str]) -> None:
        if self.owner.get(found.group("message"), found.group("id")) != found.group("id"):
            raise DiscordError(404, 10008, "Unknown Message")

    def _delete(self, request: Request, found: re.Match[str]) -> Response:
        self._owned(found)
        return super()._delete(request, found)

    def _edit(self, request: Request, found: re.Match[str]) -> Response:
        self._owned(found)
        return super()._edit(request, found)


def _discord_config(project: Project, fake: FakeDiscord) -> None:
    project.write_config(ENGINE + f"""
[channels.discord]
type = "discord"
webhook_url = "${{DISCORD_URL}}"
api_url = "{fake.api_url}"
""")
    project.env["DISCORD_URL"] = fake.webhook_url


@pytest.fixture
def discord(project: Project) -> Iterator[OwningDiscord]:
    with OwningDiscord() as fake:
        _discord_config(project, fake)
        yield fake


def _delivery(result: Any, name: str) -> dict[str, Any]:
    return next(d for d in json.loads(result.stdout)["deliveries"] if d["destination"] == name)


def test_withdraw_after_the_webhook_is_replaced_fails_naming_the_posts_to_delete_by_hand(
        project: Project, discord: OwningDiscord) -> None:
    posted = project.cli("post", "--yes", "--json", "--title", "Login errors", "Logins fail for some users.")
    assert posted.exit_code == 0, posted.output
    incident_id = json.loads(posted.stdout)["incident_id"]
    [message] = discord.messages

    project.env["DISCORD_URL"] = NEW_URL  # the old URL leaked: a new webhook in the same channel
    withdrawn = project.cli("withdraw", incident_id, "--yes", "--json", "--reason", "posted in error")
    delivery = _delivery(withdrawn, "discord")
    still_up = [m.id for m in discord.messages]
    assert not still_up or delivery["state"] != "sent", (still_up, delivery.get("notes"), delivery["state"])
    assert withdrawn.exit_code == 3 and delivery["state"] == "failed", delivery
    assert message.id in delivery["error"] and "by hand" in delivery["error"] and "another webhook" in delivery["error"]
    assert NEW_TOKEN not in withdrawn.output and discord.token not in withdrawn.output

    project.env["DISCORD_URL"] = discord.webhook_url  # the old webhook still exists: its URL put back
    retried = project.cli("retry", incident_id, "--json")
    assert retried.exit_code == 0 and discord.messages == [], retried.output


def test_amend_after_the_webhook_is_replaced_posts_the_correction_and_says_the_original_is_still_up(
        project: Project, discord: OwningDiscord) -> None:
    posted = project.cli("post", "--yes", "--json", "--title", "Login errors", "Logins fail in eu-west.")
    incident_id = json.loads(posted.stdout)["incident_id"]
    project.env["DISCORD_URL"] = NEW_URL
    amended = project.cli("amend", incident_id, "1", "--yes", "--json", "Logins fail in eu-central.")
    delivery = _delivery(amended, "discord")
    original, correction = discord.messages
    uncorrected = "eu-west" in original.shown and not original.edits
    assert not (uncorrected and any("gone" in n for n in delivery.get("notes", []))), delivery.get("notes")
    assert uncorrected and "eu-central" in correction.shown and discord.owner[correction.id] == NEW_ID
    assert any("still up" in n and "by hand" in n for n in delivery["notes"]), delivery["notes"]


def test_the_same_webhook_still_deletes_and_edits_its_own_posts(project: Project, discord: OwningDiscord) -> None:
    posted = project.cli("post", "--yes", "--json", "--title", "Login errors", "Logins fail.")
    incident_id = json.loads(posted.stdout)["incident_id"]
    amended = project.cli("amend", incident_id, "1", "--yes", "--json", "Logins fail in eu-west.")
    assert len(discord.messages) == 1 and discord.messages[0].edits, amended.output
    withdrawn = project.cli("withdraw", incident_id, "--yes", "--json", "--reason", "posted in error")
    assert withdrawn.exit_code == 0 and discord.messages == [], withdrawn.output


def test_an_id_stored_before_ids_named_their_webhook_says_the_post_may_still_be_up() -> None:
    with OwningDiscord() as fake:
        opts = {"webhook_url": Secret("DISCORD_URL", fake.webhook_url)}
        old = DiscordChannel(ChannelConfig("discord", "discord", api_url=fake.api_url, options=opts))
        receipt = send_once(old, view())
        legacy = receipt.remote_id.partition("@")[0]  # as stored before: the message id alone
        assert legacy == fake.messages[0].id
        opts = {"webhook_url": Secret("DISCORD_URL", NEW_URL)}
        new = DiscordChannel(ChannelConfig("discord", "discord", api_url=fake.api_url, options=opts))
        deleted = delete_once(new, [legacy])  # Discord answers 10008: gone, or another webhook's
        assert any("still up" in n and "by hand" in n for n in deleted.notes), deleted.notes
        with pytest.raises(NotEditable, match="still up"):  # the engine posts the correction anew (test_review19_discord)
            edit_once(new, view(update(2, "Corrected.", kind="correction")), legacy)


class OwningMastodon(FakeMastodon):
    """FakeMastodon with a second account: as Mastodon does, a token edits and deletes its own account's statuses
    alone, and answers 404 for another's (which anyone may still read)."""

    OTHER = "other-account-token"

    def __init__(self) -> None:
        self.owner: dict[str, str] = {}
        super().__init__(token=M_TOKEN)

    def _authorised(self, request: Request) -> bool:
        return request.headers.get("authorization", "") in (f"Bearer {M_TOKEN}", f"Bearer {self.OTHER}")

    def _post(self, request: Request, found: re.Match[str]) -> Response:
        before = set(self.statuses)
        answer = super()._post(request, found)
        for new in set(self.statuses) - before:
            self.owner[new] = request.headers.get("authorization", "")
        return answer

    def _anothers(self, request: Request, found: re.Match[str]) -> bool:
        owner = self.owner.get(found.group(1))
        return owner is not None and owner != request.headers.get("authorization", "")

    def _delete(self, request: Request, found: re.Match[str]) -> Response:
        if self._anothers(request, found):
            return Response(404, {"error": "Record not found"})
        return super()._delete(request, found)

    def _edit(self, request: Request, found: re.Match[str]) -> Response:
        if self._anothers(request, found):
            return Response(404, {"error": "Record not found"})
        return super()._edit(request, found)


@pytest.fixture
def mastodon(project: Project) -> Iterator[OwningMastodon]:
    with OwningMastodon() as fake:
        project.write_config(ENGINE + f"""
[channels.masto]
type = "mastodon"
instance_url = "https://mastodon.example"
access_token = "${{MASTODON_TOKEN}}"
api_url = "{fake.url}"
""")
        project.env["MASTODON_TOKEN"] = M_TOKEN
        yield fake


def test_mastodon_withdraw_with_another_accounts_token_does_not_call_its_statuses_deleted(
        project: Project, mastodon: OwningMastodon) -> None:
    posted = project.cli("post", "--yes", "--json", "--title", "Login errors", "Logins fail.")
    assert posted.exit_code == 0, posted.output
    incident_id = json.loads(posted.stdout)["incident_id"]
    [status] = mastodon.posted

    project.env["MASTODON_TOKEN"] = OwningMastodon.OTHER  # the token changed to another account's
    amended = project.cli("amend", incident_id, "1", "--yes", "--json", "Logins fail in eu-west.")
    told = _delivery(amended, "masto")
    assert told["state"] == "failed" and "still up" in told["error"] and "another account" in told["error"], told
    withdrawn = project.cli("withdraw", incident_id, "--yes", "--json", "--reason", "posted in error")
    delivery = _delivery(withdrawn, "masto")
    assert [s.id for s in mastodon.posted] == [status.id]
    assert withdrawn.exit_code == 3 and delivery["state"] == "failed", delivery
    assert status.id in delivery["error"] and "by hand" in delivery["error"] and "MASTODON_TOKEN" in delivery["error"]
    assert OwningMastodon.OTHER not in withdrawn.output and M_TOKEN not in withdrawn.output


def test_mastodon_withdraw_still_counts_a_status_deleted_by_hand_as_deleted(
        project: Project, mastodon: OwningMastodon) -> None:
    posted = project.cli("post", "--yes", "--json", "--title", "Login errors", "Logins fail.")
    incident_id = json.loads(posted.stdout)["incident_id"]
    mastodon.statuses.clear()  # deleted by hand: 404 on DELETE, and on GET
    withdrawn = project.cli("withdraw", incident_id, "--yes", "--json", "--reason", "posted in error")
    assert withdrawn.exit_code == 0 and _delivery(withdrawn, "masto")["state"] == "sent", withdrawn.output


# -- finding 5: a Discord forum post outlives the withdrawal of its messages ----------------------------------------


def test_withdraw_in_a_forum_says_to_delete_the_forum_post_by_hand(project: Project) -> None:
    with FakeDiscord(forum=True) as forum:
        _discord_config(project, forum)
        posted = project.cli("post", "--yes", "--json", "--title", "Outage at Initrode datacenter", "Down.")
        assert posted.exit_code == 0, posted.output
        incident_id = json.loads(posted.stdout)["incident_id"]
        [starter] = forum.messages
        thread = starter.channel_id
        assert starter.body.get("thread_name") == "Outage at Initrode datacenter" and thread in forum.threads
        follow = project.cli("post", "--yes", "--json", "-i", incident_id, "Still down.")
        assert follow.exit_code == 0, follow.output

        withdrawn = project.cli("withdraw", incident_id, "--yes", "--json", "--reason", "posted in error")
        assert forum.messages == []
        delivery = _delivery(withdrawn, "discord")
        said = " ".join([*delivery.get("notes", []), delivery.get("error") or ""]).lower()
        assert "forum" in said or "thread" in said, delivery
        [note] = [n for n in delivery["notes"] if "forum post" in n]  # once, though two messages were in it
        assert thread in note and "by hand" in note and "Delete Post" in note


def test_withdraw_in_a_text_channel_says_nothing_of_a_forum_post(project: Project, discord: OwningDiscord) -> None:
    posted = project.cli("post", "--yes", "--json", "--title", "Login errors", "Logins fail.")
    incident_id = json.loads(posted.stdout)["incident_id"]
    withdrawn = project.cli("withdraw", incident_id, "--yes", "--json", "--reason", "posted in error")
    assert not any("forum" in n for n in _delivery(withdrawn, "discord")["notes"])


def test_the_channel_names_the_forum_posts_a_delete_would_leave() -> None:
    with FakeDiscord(forum=True) as forum:
        opts = {"webhook_url": Secret("DISCORD_URL", forum.webhook_url)}
        channel = DiscordChannel(ChannelConfig("discord", "discord", api_url=forum.api_url, options=opts))
        first = send_once(channel, view())
        thread = forum.messages[0].id
        [left] = channel.left_after_delete([first.remote_id, f"{thread}:1200000000000000099@{forum.webhook_id}"])
        assert thread in left and "by hand" in left
        assert channel.left_after_delete(["1200000000000000099", "900000000000000077:1200000000000000099"]) == []


# -- finding 8: a staff or customer's message cut to fit points at no page ------------------------------------------

PAGE_NOTE = "the incident page has it in full"


@pytest.fixture
def staff(project: Project) -> Iterator[tuple[FakeDiscord, FakeTeams]]:
    with FakeDiscord() as discord, FakeTeams() as teams:
        project.write_config(ENGINE + f"""
[channels.ops-discord]
type = "discord"
visibility = "internal"
webhook_url = "${{DISCORD_URL}}"
api_url = "{discord.api_url}"

[channels.ops-teams]
type = "teams"
visibility = "internal"
webhook_url = "${{TEAMS_URL}}"
api_url = "{teams.url}"
""")
        project.env.update({"DISCORD_URL": discord.webhook_url, "TEAMS_URL": teams.webhook_url})
        yield discord, teams


def test_a_cut_staff_discord_message_does_not_point_at_the_public_page(project: Project, staff: Any) -> None:
    discord, _ = staff
    public = " ".join(["Für Kunden in Europa bleiben Anmeldungen gestört."] * 88)
    message = f"{public} [private]The root cause is the db-7 failover.[/private]"
    private = " ".join(["Rückfall auf den Standby-Cluster in Frankfurt läuft."] * 90)
    result = project.cli("post", "--yes", "--json", "--title", "Login errors", "--only", "ops-discord",
                         "--private", private, message[:5000])
    assert result.exit_code == 0, result.output
    description = discord.messages[0].embed["description"]
    assert "db-7" not in description
    assert PAGE_NOTE not in description, description[-200:]
    assert description.endswith("(cut to fit Discord)")


def test_a_cut_staff_teams_card_does_not_point_at_the_public_page(project: Project, staff: Any) -> None:
    _, teams = staff
    public = "日本のお客様のログインが失敗しています。" * 240
    message = f"{public} [private]The root cause is the db-7 failover.[/private]"
    private = "東京の待機クラスタへの切り替えを進めています。" * 200
    result = project.cli("post", "--yes", "--json", "--title", "Login errors", "--only", "ops-teams",
                         "--private", private[:5000], message)
    assert result.exit_code == 0, result.output
    shown = plain_texts(teams.cards[0])[1]
    assert "db-7" not in shown
    assert PAGE_NOTE not in shown, shown[-200:]
    assert shown.endswith("(cut to fit Teams)")


def _card(envelope: dict[str, Any]) -> dict[str, Any]:
    return dict(envelope["attachments"][0]["content"])


def test_a_customers_cut_message_points_at_no_page_and_a_public_one_still_does() -> None:
    long = "Logins fail for customers in Europe. " * 400
    upd = update(message=long, audiences=("acme",), audience_detail=(("acme", "Your tenant is affected."),))
    customer = audience_view(Audience("acme", "Acme"), incident(), upd, url=URL)
    public = public_view(incident(), update(message=long), url=URL)
    assert not discord_fmt.embed(customer)["description"].endswith(cut_note(discord_fmt.MEDIUM))
    assert discord_fmt.embed(customer)["description"].endswith(private_cut_note(discord_fmt.MEDIUM))
    assert discord_fmt.embed(public)["description"].endswith(cut_note(discord_fmt.MEDIUM))
    wide = "ログインが失敗しています。" * 3000
    upd = update(message=wide, audiences=("acme",), audience_detail=(("acme", "Your tenant is affected."),))
    customer_card = plain_texts(_card(teams_fmt.message(audience_view(Audience("acme", "Acme"), incident(), upd, url=URL))))
    public_card = plain_texts(_card(teams_fmt.message(public_view(incident(), update(message=wide), url=URL))))
    assert customer_card[1].endswith(private_cut_note(teams_fmt.MEDIUM)), customer_card[1][-80:]
    assert public_card[1].endswith(cut_note(teams_fmt.MEDIUM)), public_card[1][-80:]


# -- finding 9: a webhook header value HTTP cannot carry -------------------------------------------------------------


def _hook_config(project: Project, fake: FakeReceiver, headers: str) -> None:
    project.write_config(ENGINE + f"""
[channels.hook]
type = "webhook"
url = "{fake.hook_url}"
secret = "${{HOOK_SECRET}}"
headers = {headers}
""")
    project.env["HOOK_SECRET"] = SECRET


@pytest.mark.parametrize(("headers", "env", "named"), [
    ('{ "X-Tenant" = "Zürich" }', {}, "X-Tenant"),
    ('{ "X-Tenant" = " acme" }', {}, "X-Tenant"),
    ('{ "X-Tenant" = "acme\\u0001" }', {}, "X-Tenant"),
    ('{ "X-Tenant" = "acme\\n" }', {}, "X-Tenant"),
    ('{ "Authorization" = "${HOOK_AUTH}" }', {"HOOK_AUTH": "Bearer sëcret-tøken-42"}, "HOOK_AUTH"),
], ids=["non-ascii", "leading-space", "control", "final-line-break", "variable"])
def test_a_header_value_that_cannot_be_sent_is_refused_with_the_config(
        project: Project, headers: str, env: dict[str, str], named: str) -> None:
    with FakeReceiver() as fake:
        _hook_config(project, fake, headers)
        project.env.update(env)
        result = project.cli("post", "--yes", "--json", "--title", "Login errors", "Logins fail.")
        assert result.exit_code == 2, result.output
        assert named in result.output and "visible ASCII" in result.output
        assert "sëcret" not in result.output and fake.events == []
        listed = project.cli("list", "--json")
        assert "Login errors" not in listed.output  # nothing stored


def test_a_header_value_that_is_fine_is_sent(project: Project) -> None:
    with FakeReceiver() as fake:
        _hook_config(project, fake, '{ "X-Tenant" = "Zurich\\tnorth 1" }')
        result = project.cli("post", "--yes", "--json", "--title", "Login errors", "Logins fail.")
        assert result.exit_code == 0 and len(fake.events) == 1, result.output
        assert fake.requests[0].headers["x-tenant"] == "Zurich\tnorth 1"


@pytest.mark.parametrize("value", ["Zürich", " padded", "a\x00b"], ids=["unicode-encode", "h11-space", "h11-nul"])
def test_the_http_poster_turns_a_header_httpx_cannot_send_into_a_permanent_failure(value: str) -> None:
    with FakeReceiver() as fake:
        opts = {"url": fake.hook_url, "secret": Secret("HOOK_SECRET", SECRET)}
        channel = WebhookChannel(ChannelConfig("hook", "webhook", options=opts))

        async def request() -> None:
            poster = channel._client()
            try:
                await poster.request("POST", poster.shown_url, body=b"{}", headers={"X-Tenant": value}, may_post=True)
            finally:
                await channel.aclose()

        with pytest.raises(DeliveryError) as caught:
            run(request())
        problem = caught.value
        assert not problem.retryable and not problem.outcome_unknown
        assert "channels.hook" in str(problem) and "nothing was sent" in str(problem) and value not in str(problem)
        assert "unexpected" not in str(problem) and fake.requests == []


def test_withdraws_dry_run_in_a_forum_says_the_forum_post_stays(project: Project) -> None:
    """The dry run tells the same as the withdrawal's outcome (the fixer's note: ``deleting_preview`` read the store
    alone and could not know a forum post stays)."""
    with FakeDiscord(forum=True) as forum:
        _discord_config(project, forum)
        posted = project.cli("post", "--yes", "--json", "--title", "Outage at Initrode datacenter", "Down.")
        incident_id = json.loads(posted.stdout)["incident_id"]
        thread = forum.messages[0].channel_id
        dry = project.cli("withdraw", incident_id, "--dry-run", "--reason", "posted in error")
        assert dry.exit_code == 0, dry.output
        assert len(forum.messages) == 1  # nothing deleted
    [line] = [line for line in dry.output.splitlines() if "forum post" in line]
    assert thread in line and "by hand" in line, dry.output
