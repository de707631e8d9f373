"""Discord, Teams and the signed webhook through the real CLI and engine, across invocations.

Each ``project.cli`` call is one invocation (its own event loop, its own
channel objects); what threads a follow-up or an amend is what the store kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Project
from tests.fakes.base import Fault, Response
from tests.fakes.discord import FakeDiscord
from tests.fakes.teams import FakeTeams, plain_texts
from tests.fakes.webhook import SECRET, FakeReceiver
from tests.input_helpers import stored
from tests.unsent_records import assert_refused_whole, import_unsent, saying


@dataclass
class Hooks:
    discord: FakeDiscord
    teams: FakeTeams
    receiver: FakeReceiver
    env: dict[str, str] = field(default_factory=dict)

    def toml(self) -> str:
        return f"""
[channels.discord-public]
type = "discord"
webhook_url = "${{DISCORD_WEBHOOK_URL}}"
api_url = "{self.discord.api_url}"

[channels.teams-ops]
type = "teams"
visibility = "private"
webhook_url = "${{TEAMS_WEBHOOK_URL}}"
api_url = "{self.teams.url}"

[channels.hook]
type = "webhook"
url = "{self.receiver.hook_url}"
secret = "${{HOOK_SECRET}}"
"""


@pytest.fixture
def hooks(project: Project) -> Iterator[Hooks]:
    with ExitStack() as stack:
        found = Hooks(FakeDiscord(forum=True), FakeTeams(), FakeReceiver())
        for fake in (found.discord, found.teams, found.receiver):
            stack.enter_context(fake)
        found.env = {"DISCORD_WEBHOOK_URL": found.discord.webhook_url, "TEAMS_WEBHOOK_URL": found.teams.webhook_url,
                     "HOOK_SECRET": SECRET}
        project.write_config(found.toml())
        project.env.update(found.env)
        yield found


def run_json(project: Project, *args: str) -> tuple[int, dict[str, Any]]:
    result = project.cli(*args, "--json")
    assert result.stdout, result.stderr
    return result.exit_code, json.loads(result.stdout)


def states(payload: dict[str, Any]) -> dict[str, str]:
    return {d["destination"]: d["state"] for d in payload["deliveries"]}


def test_an_incident_threads_and_amends_across_invocations(project: Project, hooks: Hooks) -> None:
    code, posted = run_json(project, "post", "--yes", "--title", "API errors", "-C", "api", "--ticket", "Globex Corp",
                            "Elevated errors on the API.")
    assert code == 0, posted
    incident = posted["incident_id"]
    code, _ = run_json(project, "post", "-i", incident, "--yes", "Fix deployed; monitoring.")
    assert code == 0
    code, amended = run_json(project, "amend", incident, "1", "--yes", "Elevated errors on the API in eu-west.")
    assert code == 0, amended

    # Discord (a forum): one post for the incident, the follow-up in it, the first message edited.
    first, follow_up = hooks.discord.messages
    assert first.channel_id == follow_up.channel_id == first.id
    assert "Elevated errors on the API in eu-west." in first.shown and len(first.edits) == 1
    assert "Globex" not in first.shown + follow_up.shown  # a public channel
    # Teams (private): three cards, the last a correction naming what it corrects, with the customer.
    assert len(hooks.teams.cards) == 3
    assert plain_texts(hooks.teams.cards[2])[1].startswith("Correction to our update of")
    assert any("Globex Corp" in t for t in plain_texts(hooks.teams.cards[0]))
    # The webhook: two updates, then update.amended of update 1; all verified by the library.
    types = [(e["type"], e["data"]["update"]["sequence"]) for e in hooks.receiver.events]
    assert types == [("incident.updated", 1), ("incident.updated", 2), ("update.amended", 1)]
    assert all(e["data"]["incident"]["id"] == incident for e in hooks.receiver.events)


def test_a_lost_discord_answer_is_unknown_and_retry_does_not_post_it_again(project: Project, hooks: Hooks) -> None:
    hooks.discord.fail(Fault(match="/webhooks/", reset_after=True, after=1))  # the forum refusal, then the post
    code, posted = run_json(project, "post", "--yes", "--title", "API errors", "Errors.")
    assert code == 3 and states(posted)["discord-public"] == "unknown"
    assert len(hooks.discord.messages) == 1

    retried = project.cli("retry")
    assert retried.exit_code == 3 and len(hooks.discord.messages) == 1  # unknown is never resent blindly


def test_a_lost_webhook_answer_is_retried_with_the_same_id(project: Project, hooks: Hooks) -> None:
    hooks.receiver.fail(Fault(reset_after=True))
    code, posted = run_json(project, "post", "--yes", "--title", "API errors", "Errors.")
    assert code == 0 and states(posted)["hook"] == "sent"
    assert len(hooks.receiver.events) == 1 and hooks.receiver.repeats == 1


def test_a_rate_limited_discord_post_is_sent_after_the_wait(project: Project, hooks: Hooks) -> None:
    hooks.discord.rate_limit(0.2)
    code, posted = run_json(project, "post", "--yes", "--title", "API errors", "Errors.")
    assert code == 0 and states(posted)["discord-public"] == "sent"
    assert len(hooks.discord.messages) == 1


@pytest.mark.parametrize("customer", ["Globex Corp", "ACME_Corp [EU]", "<@Initech> #1-ops"],
                         ids=["plain", "markdown", "mention-like"])
def test_a_public_text_naming_a_customer_never_reaches_discord_or_the_public_webhook(
    project: Project, hooks: Hooks, customer: str, tmp_path: Path
) -> None:
    """Discord escapes markdown (ACME\\_Corp): the guard reads the text as readers see it, and still finds it."""
    # A private free-text value: --customer names an [audiences.ID] since issue 15 (as in test_egress_own_words).
    args = ("--title", "API errors", "--ticket", customer)
    refused = project.cli("post", "--yes", *args, f"Errors for {customer.lower()}.")
    assert_refused_whole(refused, "discord-public", "hook", "site")  # what the preview shows refused: the whole post
    assert stored(project) == [] and hooks.discord.messages == [] and hooks.receiver.events == [] and hooks.teams.cards == []

    # Stored another way (an edited export), it is refused at send time where readers may not see it.
    import_unsent(project, tmp_path, "post", *args, "Errors for some customers.", edit=saying(f"Errors for {customer.lower()}."))
    code, posted = run_json(project, "retry")
    assert code == 3
    assert states(posted)["discord-public"] == "failed" and states(posted)["hook"] == "failed"
    assert hooks.discord.messages == [] and hooks.receiver.events == []
    assert len(hooks.teams.cards) == 1  # the private channel may read it


def test_channels_check_good_and_bad_credentials(project: Project, hooks: Hooks) -> None:
    good = project.cli("channels", "check")
    assert good.exit_code == 0, good.stdout
    assert hooks.discord.messages == [] and hooks.teams.cards == []
    assert [e["type"] for e in hooks.receiver.events] == ["check.ping"]

    bad_env = {"DISCORD_WEBHOOK_URL": hooks.discord.webhook_url.replace(hooks.discord.token, "W" * 68),
               "HOOK_SECRET": "whsec_" + "B" * 32}
    bad = project.cli("channels", "check", env=bad_env)
    assert bad.exit_code == 3
    failed = [" ".join(line.split()) for line in bad.stdout.splitlines() if "FAIL" in line]
    assert any("discord-public" in line and "token" in line for line in failed), bad.stdout
    assert any("hook" in line and "401" in line for line in failed), bad.stdout
    for secret in ("W" * 68, "B" * 32, hooks.teams.sig, hooks.discord.token):
        assert secret not in bad.stdout + bad.stderr

    not_a_flow = project.cli("channels", "check", env={"TEAMS_WEBHOOK_URL": "https://example.com/hook?x=1"})
    assert not_a_flow.exit_code == 2 and "TEAMS_WEBHOOK_URL" in not_a_flow.stderr
    assert "example.com/hook" not in not_a_flow.stderr


def test_an_unset_header_variable_is_refused_before_anything_is_stored(project: Project, hooks: Hooks) -> None:
    project.write_config(hooks.toml() + 'headers = { "Authorization" = "${HOOK_AUTH}" }\n')
    result = project.cli("post", "--yes", "--title", "API errors", "Errors.")
    assert result.exit_code == 2 and "hook.headers.Authorization: ${HOOK_AUTH}" in result.stderr
    assert hooks.receiver.requests == [] and hooks.discord.requests == [] and hooks.teams.requests == []
    assert json.loads(project.cli("list", "--json").stdout) == []  # nothing stored


def test_debug_logs_show_no_webhook_secret(project: Project, hooks: Hooks) -> None:
    """httpx logs every request URL at --debug: the Discord token and the Teams sig are *** there."""
    hooks.receiver.fail(Fault(response=Response(502, {"error": "bad gateway"})))  # retried with backoff, then sent
    result = project.cli("--debug", "post", "--yes", "--title", "API errors", "Errors.")
    assert result.exit_code == 0, result.stdout
    assert "HTTP Request: POST" in result.stderr and "webhooks/123456789012345678/***" in result.stderr
    assert "sig=***" in result.stderr
    for secret in (hooks.discord.token, hooks.teams.sig, SECRET.removeprefix("whsec_")):
        assert secret not in result.stdout + result.stderr
    assert len(hooks.receiver.events) == 1 and len(hooks.receiver.requests) == 1  # the 502 was not kept


def test_one_url_in_a_public_and_a_private_table_is_refused(hooks: Hooks) -> None:
    from broadcaster.config_loader import parse
    from broadcaster.errors import ConfigError

    other_discord = hooks.discord.webhook_url.replace(hooks.discord.webhook_id, "987654321098765432")
    other_teams = hooks.teams.webhook_url.replace(hooks.teams.workflow, "f" * 32)
    cases = {
        "discord": ("webhook_url", hooks.env["DISCORD_WEBHOOK_URL"], other_discord),
        "teams": ("webhook_url", hooks.env["TEAMS_WEBHOOK_URL"], other_teams),
        "webhook": ("url", "https://hooks.example.com/status", "https://hooks.example.com/other"),
    }
    for kind, (key, same, other) in cases.items():
        secret = {"secret": "${HOOK_SECRET}"} if kind == "webhook" else {}
        for second, refused in ((same, True), (other, False)):
            env = {**hooks.env, "A": same, "B": second}
            value_a, value_b = ("${A}", "${B}") if key == "webhook_url" else (same, second)
            channels = {"a": {"type": kind, key: value_a, **secret},
                        "b": {"type": kind, "visibility": "private", key: value_b, **secret}}
            if refused:
                with pytest.raises(ConfigError, match="cannot be both"):
                    parse({"channels": channels}, None, env)
            else:
                parse({"channels": channels}, None, env)


def test_check_fails_two_discord_webhooks_into_one_channel_public_and_private(project: Project, hooks: Hooks) -> None:
    """Two webhooks look like two places offline; channels check asks Discord which channel each posts to."""
    hooks.discord.other_webhooks["987654321098765432"] = "O" * 68
    project.write_config(hooks.toml() + f"""
[channels.discord-ops]
type = "discord"
visibility = "private"
webhook_url = "${{DISCORD_OPS_URL}}"
api_url = "{hooks.discord.api_url}"
""")
    env = {"DISCORD_OPS_URL": "https://discord.com/api/webhooks/987654321098765432/" + "O" * 68}
    result = project.cli("channels", "check", env=env)
    assert result.exit_code == 3 and "cannot be both" in " ".join(result.stdout.split()), result.stdout
    assert "O" * 68 not in result.stdout


def test_the_webhook_says_a_cancelled_window_is_cancelled(project: Project, hooks: Hooks) -> None:
    """Left alone last session: the event of a cancelled window read "completed", as the stored status does; every
    channel and the page say "Cancelled", and a receiver could not tell it from a window done."""
    code, scheduled = run_json(project, "maintenance", "schedule", "--yes", "--title", "DB upgrade", "--start", "2h",
                               "--end", "3h", "-C", "api", "Upgrading the database.")
    assert code == 0, scheduled
    code, _ = run_json(project, "maintenance", "cancel", scheduled["incident_id"], "--yes")
    assert code == 0
    assert [(e["data"]["update"]["status"], e["data"]["update"]["cancelled"]) for e in hooks.receiver.events] == [
        ("scheduled", False), ("completed", True)]
