"""One chat written two ways in tables of different visibility: refused at post time, not only by `channels check`.

`#status` in a public table and its id `C0PUB00001` in a customer's table pass the config loader (it compares
chats as written); so do a Telegram `@name` and its numeric id. Before the first send, broadcaster asks Slack
(conversations.list) and Telegram (getChat) through their real SDKs, once per name, and refuses (exit 2,
nothing stored or sent) when two tables of different visibility reach one chat.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.conftest import ENGINE, Project
from tests.fakes.discord import FakeDiscord
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram

SLACK_TOKEN = "xoxb-shared-rooms-token"
TG_TOKEN = "123456:shared-rooms-token"
CHANNELS = {"C0ACME0001": "acme-status", "C0GLOB0001": "globex-status", "C0PUB00001": "status"}
AUDIENCES = """
[audiences.acme]
name = "Acme Corp"
components = ["api"]

[audiences.globex]
name = "Globex Industries"
components = ["db"]
"""


def slack_table(name: str, line: str, channel: str, fake: FakeSlack) -> str:
    return (f'\n[channels.{name}]\ntype = "slack"\n{line}\ntoken = "${{SLACK_TOKEN}}"\nchannel = "{channel}"\n'
            f'api_url = "{fake.api_url}"\n')


@pytest.fixture
def slack(project: Project) -> Iterator[FakeSlack]:
    with FakeSlack(token=SLACK_TOKEN, channels=CHANNELS) as fake:
        project.env["SLACK_TOKEN"] = SLACK_TOKEN
        yield fake


def posted(fake: FakeSlack) -> list[str]:
    return [r.path for r in fake.requests if r.path.endswith(("chat.postMessage", "chat.update"))]


def nothing_stored(project: Project) -> bool:
    listed = project.cli("list", "--json")
    return listed.exit_code == 0 and json.loads(listed.stdout) == []


def test_a_public_name_and_a_customers_id_of_one_slack_channel_are_refused_before_anything_is_sent(
    project: Project, slack: FakeSlack
) -> None:
    project.write_config(ENGINE + AUDIENCES + slack_table("public-slack", 'visibility = "public"', "#status", slack)
                         + slack_table("acme-slack", 'audience = "acme"', "C0PUB00001", slack))
    result = project.cli("post", "--yes", "--title", "API errors", "-C", "api", "--for", "acme", "Circuit ACM-7", "Errors.")
    assert result.exit_code == 2, result.stdout + result.stderr
    assert "slack:C0PUB00001" in result.stderr and "[channels.public-slack] (public) as #status" in result.stderr
    assert "[channels.acme-slack] (audience:acme) as C0PUB00001" in result.stderr
    assert "Nothing was stored or sent" in result.stderr and SLACK_TOKEN not in result.stderr
    assert posted(slack) == [] and slack.messages["C0PUB00001"] == []
    assert nothing_stored(project)
    # a dry run asks no service, but refuses alike from what the store now knows
    assert project.cli("post", "--dry-run", "--title", "API errors", "-C", "api", "Errors.").exit_code == 2


def test_two_customers_tables_on_one_slack_channel_written_two_ways_are_refused(project: Project, slack: FakeSlack) -> None:
    project.write_config(ENGINE + AUDIENCES + slack_table("acme-slack", 'audience = "acme"', "#globex-status", slack)
                         + slack_table("globex-slack", 'audience = "globex"', "C0GLOB0001", slack))
    result = project.cli("post", "--yes", "--title", "API errors", "-C", "api", "-C", "db", "--for", "acme", "Circuit ACM-7", "Errors.")
    assert result.exit_code == 2, result.stdout + result.stderr
    assert "audience:acme and audience:globex" in result.stderr
    assert posted(slack) == []


def test_names_resolved_once_then_remembered_in_the_store(project: Project, slack: FakeSlack) -> None:
    project.write_config(ENGINE + AUDIENCES + slack_table("public-slack", 'visibility = "public"', "#status", slack)
                         + slack_table("acme-slack", 'audience = "acme"', "C0ACME0001", slack))
    code, first = project.cli_json("post", "--yes", "--title", "API errors", "-C", "api", "--for", "acme",
                                   "Circuit ACM-7", "Errors.")
    assert code == 0, first
    second = project.cli("post", "--yes", "--incident", str(first["incident_id"]), "Still looking.")
    assert second.exit_code == 0, second.stdout + second.stderr
    assert len(slack.received("conversations.list")) == 1  # one lookup per name, then the store's answer
    assert len(slack.messages["C0PUB00001"]) == 2 and len(slack.messages["C0ACME0001"]) >= 1
    assert "ACM-7" not in " ".join(m.all_text for m in slack.messages["C0PUB00001"])


def test_a_name_that_cannot_be_resolved_now_holds_back_only_what_its_readers_must_not_see(
    project: Project, slack: FakeSlack
) -> None:
    """The public table's token is not set, so #status cannot be asked about: the customer's table (which might
    post into it) is held back, recorded failed with why; the page still gets the update. `retry` asks again."""
    project.write_config(ENGINE + AUDIENCES + slack_table("public-slack", 'visibility = "public"', "#status", slack)
                         + slack_table("acme-slack", 'audience = "acme"', "C0PUB00001", slack).replace(
                             "${SLACK_TOKEN}", "${ACME_SLACK_TOKEN}"))
    project.env["ACME_SLACK_TOKEN"] = SLACK_TOKEN
    project.env.pop("SLACK_TOKEN")
    code, out = project.cli_json("post", "--yes", "--skip", "public-slack", "--title", "API errors", "-C", "api",
                                 "--for", "acme", "Circuit ACM-7", "Errors.")
    assert code == 3, out
    states = {d["destination"]: (d["state"], d["error"] or "") for d in out["deliveries"]}
    assert states["site"][0] == "sent" and states["acme-slack"][0] == "failed"
    assert "[channels.public-slack] names #status" in states["acme-slack"][1] and "retry" in states["acme-slack"][1]
    assert posted(slack) == [] and slack.received("conversations.list") == []
    project.env["SLACK_TOKEN"] = SLACK_TOKEN
    retried = project.cli("retry")
    assert retried.exit_code == 2 and "one chat (slack:C0PUB00001)" in retried.stderr, retried.stdout + retried.stderr
    assert posted(slack) == []


def test_a_held_delivery_is_sent_by_retry_once_the_name_resolves_elsewhere(project: Project, slack: FakeSlack) -> None:
    project.write_config(ENGINE + AUDIENCES + slack_table("public-slack", 'visibility = "public"', "#status", slack)
                         + slack_table("acme-slack", 'audience = "acme"', "C0ACME0001", slack).replace(
                             "${SLACK_TOKEN}", "${ACME_SLACK_TOKEN}"))
    project.env["ACME_SLACK_TOKEN"] = SLACK_TOKEN
    project.env.pop("SLACK_TOKEN")
    code, out = project.cli_json("post", "--yes", "--skip", "public-slack", "--title", "API errors", "-C", "api",
                                 "--for", "acme", "Circuit ACM-7", "Errors.")
    assert code == 3 and slack.messages["C0ACME0001"] == [], out
    project.env["SLACK_TOKEN"] = SLACK_TOKEN
    assert project.cli("retry").exit_code == 0
    assert project.cli("retry").exit_code == 0
    assert len(slack.messages["C0ACME0001"]) == 1 and "ACM-7" in slack.messages["C0ACME0001"][0].all_text
    assert len(slack.received("conversations.list")) == 1


def test_a_telegram_at_name_and_its_numeric_id_in_tables_of_different_visibility_are_refused(project: Project) -> None:
    with FakeTelegram(token=TG_TOKEN, chats={"@acmestatus": "Acme status", -1001001: "ops"}) as telegram:
        chat_id = telegram.chat("@acmestatus").id
        tables = "".join(
            f'\n[channels.{name}]\ntype = "telegram"\n{line}\ntoken = "${{TG_TOKEN}}"\nchat_ids = [{chats}]\n'
            f'api_url = "{telegram.url}"\n'
            for name, line, chats in (("tg-public", 'visibility = "public"', '"@acmestatus"'),
                                      ("tg-ops", 'visibility = "internal"', f"-1001001, {chat_id}"))
        )
        project.write_config(ENGINE + tables)
        result = project.cli("post", "--yes", "--title", "API errors", "--private", "edge fra-2", "Errors.",
                             env={"TG_TOKEN": TG_TOKEN})
        assert result.exit_code == 2, result.stdout + result.stderr
        assert f"telegram:{chat_id}" in result.stderr and "[channels.tg-public] (public) as @acmestatus" in result.stderr
        assert [r.path.rsplit("/", 1)[-1] for r in telegram.requests] == ["getChat"]
        assert TG_TOKEN not in result.stderr


def test_a_private_channel_the_bot_is_not_in_is_no_room_it_can_reach(project: Project) -> None:
    """As at Slack, conversations.list shows a private channel only to a member: a #name the bot cannot see is no
    chat anything can be posted to, so it shares none; the post goes on and Slack itself refuses that table."""
    channels = {"G0HIDDEN01": "hidden", "C0ACME0001": "acme-status"}
    with FakeSlack(token=SLACK_TOKEN, channels=channels, member_of=["C0ACME0001"]) as fake:
        project.env["SLACK_TOKEN"] = SLACK_TOKEN
        project.write_config(ENGINE + AUDIENCES + slack_table("public-slack", 'visibility = "public"', "#hidden", fake)
                             + slack_table("acme-slack", 'audience = "acme"', "C0ACME0001", fake))
        code, out = project.cli_json("post", "--yes", "--title", "API errors", "-C", "api", "--for", "acme", "ACM-7",
                                     "Errors.")
        assert code == 3, out
        states = {d["destination"]: d["state"] for d in out["deliveries"]}
        assert states["acme-slack"] == "sent" and states["public-slack"] == "failed"
        assert fake.messages["G0HIDDEN01"] == []


def _discord_tables(fake: FakeDiscord) -> str:
    return "".join(f'\n[channels.{name}]\ntype = "discord"\n{line}\nwebhook_url = "${{{variable}}}"\napi_url = "{fake.api_url}"\n'
                   for name, line, variable in (("discord-public", 'visibility = "public"', "PUBLIC_HOOK"),
                                                ("discord-acme", 'audience = "acme"', "ACME_HOOK")))


def test_two_discord_webhooks_into_one_channel_of_different_visibility_are_refused(project: Project) -> None:
    """Two webhook URLs may post into one Discord channel: only Discord can say (GET the webhook)."""
    with FakeDiscord() as fake:
        second_id, second_token = "223456789012345678", "U" * 68
        fake.other_webhooks[second_id] = second_token
        project.env.update({"PUBLIC_HOOK": fake.webhook_url,
                            "ACME_HOOK": f"https://discord.com/api/webhooks/{second_id}/{second_token}"})
        project.write_config(ENGINE + AUDIENCES + _discord_tables(fake))
        result = project.cli("post", "--yes", "--title", "API errors", "-C", "api", "--for", "acme", "ACM-7", "Errors.")
        assert result.exit_code == 2, result.stdout + result.stderr
        assert f"discord:{fake.channel_id}" in result.stderr and "[channels.discord-acme] (audience:acme)" in result.stderr
        assert fake.messages == [] and second_token not in result.stderr and fake.token not in result.stderr


def test_two_discord_webhooks_into_two_channels_are_asked_about_once(project: Project) -> None:
    with FakeDiscord() as public, FakeDiscord(webhook_id="223456789012345678", token="U" * 68) as acme:
        acme.channel_id = "900000000000000002"
        project.env.update({"PUBLIC_HOOK": public.webhook_url, "ACME_HOOK": acme.webhook_url})
        project.write_config(ENGINE + AUDIENCES + _discord_tables(public).replace(
            f'"${{ACME_HOOK}}"\napi_url = "{public.api_url}"', f'"${{ACME_HOOK}}"\napi_url = "{acme.api_url}"'))
        code, out = project.cli_json("post", "--yes", "--title", "API errors", "-C", "api", "--for", "acme", "ACM-7",
                                     "Errors.")
        assert code == 0, out
        assert project.cli("post", "--yes", "-i", str(out["incident_id"]), "Still.").exit_code == 0
        gets = [r for fake in (public, acme) for r in fake.requests if r.method == "GET"]
        assert len(gets) == 2 and len(acme.in_channel(acme.channel_id)) == 2


def test_a_telegram_name_telegram_does_not_know_shares_no_chat(project: Project) -> None:
    """getChat answers "chat not found": nothing can be posted there, so it shares nothing; the rest goes out."""
    with FakeTelegram(token=TG_TOKEN, chats={-1001001: "ops"}) as telegram:
        tables = "".join(
            f'\n[channels.{name}]\ntype = "telegram"\n{line}\ntoken = "${{TG_TOKEN}}"\nchat_ids = [{chats}]\n'
            f'api_url = "{telegram.url}"\n'
            for name, line, chats in (("tg-public", 'visibility = "public"', '"@nosuchchat"'),
                                      ("tg-ops", 'visibility = "internal"', "-1001001")))
        project.write_config(ENGINE + tables)
        code, out = project.cli_json("post", "--yes", "--title", "API errors", "--private", "edge fra-2", "Errors.",
                                     env={"TG_TOKEN": TG_TOKEN})
        assert code == 3, out
        assert {d["destination"]: d["state"] for d in out["deliveries"]} == {"site": "sent", "tg-public": "failed",
                                                                            "tg-ops": "sent"}
        assert "edge fra-2" in telegram.messages[-1001001][0].text


@pytest.mark.parametrize("status", [400, 500])
def test_a_lookup_answer_that_echoes_the_token_leaks_it_nowhere(project: Project, status: int) -> None:
    """Attack: the Bot API (a proxy, a self-hosted server) echoes the token in its answer to getChat. The doubt's
    reason is stored in the held deliveries and printed: masked everywhere, the state file included."""
    from tests.fakes.base import Fault, Response
    from tests.fakes.world import TG_TOKEN as WORLD_TOKEN
    from tests.fakes.world import FakeWorld

    with FakeWorld(echo_credentials=True) as world:
        project.write_config(ENGINE + world.channels_toml())
        world.telegram.fail(Fault(match="getChat", response=Response(
            status, {"ok": False, "error_code": status, "description": "Bad Request: chat unavailable"})))
        posted = project.cli("--debug", "post", "--yes", "--json", "--title", "API errors", "--private", "edge fra-2",
                             "Errors.", env=world.env)
        assert posted.exit_code == 3, posted.stdout + posted.stderr
        held = [d for d in json.loads(posted.stdout)["deliveries"] if d["destination"] == "tg-ops"]
        assert held and all(d["state"] == "failed" and d["attempts"] == 0 for d in held), held
        assert all("***" in d["error"] for d in held), held  # the echo reached the reason, masked
        shown = project.cli("show", json.loads(posted.stdout)["incident_id"])
        state = b"".join(p.read_bytes() for p in (project.root / ".broadcaster").glob("state.db*"))
        secret_half = WORLD_TOKEN.split(":", 1)[1]
        for text in (posted.stdout, posted.stderr, shown.stdout, state.decode("utf-8", errors="replace")):
            assert secret_half.lower() not in text.lower()
        assert world.telegram_messages(-1001001) == []
