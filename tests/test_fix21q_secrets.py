"""Fix 21q (review 21q of 164b126): a token wrapped after its own hyphen in a quoted block, the webhook header rule's
"-Id" and e-mail exemptions, shown_url with "?"/"#" in a password or a bare "//", and a cut secret URL without its
scheme."""

from __future__ import annotations

import pytest
from broadcaster.channels import webhook
from broadcaster.channels._options import shown_url

from broadcaster import redaction
from broadcaster.errors import ConfigError
from tests.conftest import Project

# -- 1. a token wrapped after one of its own hyphens inside a quoted block ------------------------------------------

SLACK_TOKEN = "xoxb-7310029846-5512093817-Fx21qQuotedHyphenJoint"


@pytest.mark.parametrize("cut", [SLACK_TOKEN.index("-5512") + 1, SLACK_TOKEN.index("-Fx21q") + 1],
                         ids=["after-second-hyphen", "after-third-hyphen"])
def test_a_token_wrapped_after_its_own_hyphen_in_a_quoted_block_is_held(cut: int) -> None:
    text = (f"From the vendor's reply:\n\n> the bot runs with {SLACK_TOKEN[:cut]}\n> {SLACK_TOKEN[cut:]} and"
            " fails\n\nWe rotate it.")
    assert redaction.held_secret(text, [("channels.ops.token", SLACK_TOKEN)]) == "channels.ops.token"


def test_a_token_wrapped_after_its_own_hyphen_in_a_quoted_block_is_refused_by_post(project: Project) -> None:
    project.env["SLACK_TOKEN"] = SLACK_TOKEN
    project.write_config('\n[channels.ops]\ntype = "slack"\ntoken = "${SLACK_TOKEN}"\nchannel = "#status"\n')
    cut = SLACK_TOKEN.index("-5512") + 1
    result = project.cli("post", "--yes", "--title", "Vendor reply", "-C", "api",
                         f"> the bot runs with {SLACK_TOKEN[:cut]}\n> {SLACK_TOKEN[cut:]} and fails")
    assert result.exit_code == 2, result.output
    assert "channels.ops.token" in result.output, result.output
    assert "5512093817" not in result.output


def test_hyphens_of_ordinary_quoted_prose_are_not_joined_into_a_secret() -> None:
    text = "> the build-\n> 5512093817-Fx21q notes"
    assert redaction.held_secret(text, [("t", SLACK_TOKEN)]) is None


# -- 2. webhook header rule ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "value"), [
    ("X-Session-Id", "a1b2c3d4e5f6a7b"),
    ("X-Session-Id", "kdjfhqowieurtyalskdjfhgqpwoeiruty"),
    ("X-Session-Id", "abc123"),  # a session's id is the credential however short
    ("X-Token-Id", "plainwords"),
    ("X-Auth-Id", "a1b2c3d4e5f6a7b"),  # 15 characters, not words: no longer taken as plain
    ("X-Api-Key", "sk_live_51Hq8Zk2Lx@example.com"),
    ("Authorization", "ops@example.com"),
    ("X-Auth-Token-Email", "ops@example.com"),
])
def test_a_credential_header_written_in_the_file_is_refused(name: str, value: str) -> None:
    with pytest.raises(ConfigError):
        webhook._headers({name: value}, "channels.hook.headers")


@pytest.mark.parametrize(("name", "value"), [
    ("X-Auth-Email", "ops@example.com"),
    ("X-Auth-User", "ops@example.com"),
    ("X-Auth-User", "status-robot"),
    ("X-Request-Key-Id", "k1"),
    ("X-Signature-Version", "v1"),
    ("X-Signature-Algorithm", "HMAC-SHA256"),
    ("X-Auth-Region", "eu-west-1"),
])
def test_an_account_or_scheme_header_is_still_taken_as_written(name: str, value: str) -> None:
    assert webhook._headers({name: value}, "channels.hook.headers") == {name: value}


# -- 4. shown_url ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("address", [
    "https:/ops:Fx21qPre?Post9@mastodon.example",
    "https://ops:Fx21qPre#Post9@mastodon.example",
    "https://ops:Fx21qPre?Post9@mastodon.example/api?x=1",
    "//ops:Fx21qPre9@mastodon.example/",
])
def test_shown_url_masks_any_user_info_before_cutting_the_query(address: str) -> None:
    shown = shown_url(address)
    assert "Fx21qPre" not in shown and "ops" not in shown, shown
    assert "mastodon.example" in shown, shown


def test_shown_url_still_cuts_a_query() -> None:
    assert shown_url("https://mastodon.example/api?token=Fx21qQuery") == "'https://mastodon.example/api?***'"


def test_a_mistyped_instance_url_with_a_question_mark_in_its_password_is_refused_without_quoting_it(
        project: Project) -> None:
    project.env["T"] = "tok-Fx21q-abcdefghijklmnop"
    project.write_config('\n[channels.ops]\ntype = "mastodon"\n'
                         'instance_url = "https:/ops:Fx21qPre?Post9@mastodon.example"\naccess_token = "${T}"\n')
    result = project.cli("list")
    assert result.exit_code == 2, result.output
    assert "Fx21qPre" not in result.output, result.output


# -- 5. a cut secret URL without its scheme --------------------------------------------------------------------------

ZAPIER = "https://hooks.zapier.com/hooks/catch/7654321/q9z4mwx/"


@pytest.mark.parametrize("text", [
    'could not post to "hooks.zapier.com/hooks/catch/7654321/q9z…',
    "could not post to 'hooks.zapier.com/hooks/catch/7654321/q9",
    "could not post to hooks.zapier.com/hooks/catch/765...",
])
def test_a_cut_secret_url_without_its_scheme_is_masked(text: str) -> None:
    masked = redaction.redact(text, [ZAPIER])
    assert "7654321" not in masked and "765..." not in masked, masked
    assert masked.startswith("could not post to "), masked


@pytest.mark.parametrize("text", [
    'could not reach "hooks.zapier.com"',
    "could not reach hooks.zapier.com",
    'could not reach "hooks.zapier.com/"',
])
def test_the_host_of_a_secret_url_alone_is_not_masked(text: str) -> None:
    assert redaction.redact(text, [ZAPIER]) == text
