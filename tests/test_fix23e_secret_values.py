"""Fix 23e: the credential alone within a secret URL (a Discord webhook's token, a Teams flow's sig) is added to a
channel's secret values by the base class (``Channel.secret_parts``), once, not by each channel: every channel type
still reports exactly the secrets it did (pinned here per type), and only its own kind of part."""

from __future__ import annotations

import pytest

from broadcaster.config import ChannelConfig, Secret
from broadcaster.registry import channel_types, load_channel_class, secret_parts_of

DISCORD_TOKEN = "TokDiscordAbcdefghijklmnop123"
DISCORD = f"https://discord.com/api/webhooks/123456789/{DISCORD_TOKEN}"
TEAMS_SIG = "SigTeamsAbcdefghijklmnop1234"
TEAMS = f"https://prod-00.westus.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?sv=1.0&sig={TEAMS_SIG}"
PROXY = "https://ops:ProxyPw123@proxy.example/"
PROXY_SECRETS = ["ProxyPw123", "ProxyPw123", "b3BzOlByb3h5UHcxMjM="]  # url_secrets: the password, and Basic's blob


def _values(kind: str, value: str, api_url: str | None = None) -> list[str]:
    cls = load_channel_class(kind)
    options = {key: Secret(f"V_{key.upper()}", value) for key in cls.secret_options}
    return cls(ChannelConfig(name="x", type=kind, api_url=api_url, options=options)).secret_values()


@pytest.mark.parametrize(("kind", "url", "part"), [("discord", DISCORD, DISCORD_TOKEN), ("teams", TEAMS, TEAMS_SIG)],
                         ids=["discord", "teams"])
def test_a_webhook_channel_reports_its_url_then_the_credential_alone(kind: str, url: str, part: str) -> None:
    assert _values(kind, url) == [url, part]
    # A proxy's password in api_url comes before the part, as it did: the parts follow every value.
    assert _values(kind, url, PROXY) == [url, *PROXY_SECRETS, part]
    assert _values(kind, "") == []  # nothing set, nothing reported


@pytest.mark.parametrize("kind", sorted(set(channel_types()) - {"discord", "teams", "webhook", "twitter", "email"}))
def test_a_token_channel_reports_its_tokens_whole_and_no_part(kind: str) -> None:
    # A token that happens to look like a Discord or Teams URL is one token to such a channel: no part is cut out.
    count = len(load_channel_class(kind).secret_options)
    for url in (DISCORD, TEAMS):
        assert _values(kind, url) == [url] * count
        assert _values(kind, url, PROXY) == [url] * count + PROXY_SECRETS
        assert secret_parts_of(ChannelConfig(name="x", type=kind))(url) == []


def test_the_channels_that_add_encodings_still_add_only_those() -> None:
    quoted = "https%3A%2F%2Fdiscord.com%2Fapi%2Fwebhooks%2F123456789%2F" + DISCORD_TOKEN
    assert _values("twitter", DISCORD) == [DISCORD] * 5 + [quoted] * 5
    email = _values("email", DISCORD)
    assert email[0] == DISCORD and len(email) == 3 and DISCORD_TOKEN not in email


@pytest.mark.parametrize(("kind", "parts"), [
    ("discord", {DISCORD: [DISCORD_TOKEN], TEAMS: []}),
    ("teams", {DISCORD: [], TEAMS: [TEAMS_SIG]}),
    ("webhook", {DISCORD: [DISCORD_TOKEN], TEAMS: [TEAMS_SIG]}),  # its own rule: any key-like part of a URL
    ("nosuchtype", {DISCORD: [], TEAMS: []}),  # a config made in code, no module for its type
], ids=["discord", "teams", "webhook", "unknown"])
def test_named_secrets_asks_each_type_for_its_own_parts(kind: str, parts: dict[str, list[str]]) -> None:
    of = secret_parts_of(ChannelConfig(name="x", type=kind))
    assert {url: of(url) for url in parts} == parts
