"""Review 41b: a new operator following the README from the top, on a fresh project folder.

- A secret's variable set but empty (`export TG_TOKEN=`, `export TG_TOKEN=$(cat no-such-file)`) was taken as a
  token: `preview` said nothing, and `post` stored the update, published the page, and failed the channel after
  ("does not look like a Telegram bot token"; a blank Slack token was sent). An unset one is refused before anything
  is stored (exit 2, naming the variable): an empty one is as missing.
- A Matrix connection error read "Matrix the message failed: ...".
- A component id that is not one (`id = "API errors"`) was refused as "is required".
"""

from __future__ import annotations

import json

from tests.conftest import Project

TELEGRAM = '\n[channels.tg-ops]\ntype = "telegram"\nvisibility = "internal"\ntoken = "${TG_TOKEN}"\n' \
           'chat_ids = [-1001234567890]\napi_url = "http://127.0.0.1:9/"\n'


def _stored(project: Project) -> list[object]:
    listed = project.cli("list", "--json")
    assert listed.exit_code == 0, listed.output
    return list(json.loads(listed.stdout))


def test_an_empty_token_is_refused_before_anything_is_stored(project: Project) -> None:
    project.write_config(TELEGRAM)
    for value in ("", "  "):
        previewed = project.cli("preview", "--title", "API errors", "Elevated errors.", env={"TG_TOKEN": value})
        assert previewed.exit_code == 2, previewed.output
        posted = project.cli("post", "--yes", "--title", "API errors", "Elevated errors.", env={"TG_TOKEN": value})
        assert posted.exit_code == 2, posted.output
        assert "TG_TOKEN" in posted.output and "empty" in posted.output, posted.output
        assert "Nothing was stored or sent" in posted.output, posted.output
        assert _stored(project) == []
        assert not (project.site / "index.html").exists()


def test_an_empty_token_in_channels_check_says_so(project: Project) -> None:
    project.write_config(TELEGRAM)
    checked = project.cli("channels", "check", env={"TG_TOKEN": ""})
    assert checked.exit_code == 3, checked.output
    assert "TG_TOKEN is set but empty" in " ".join(checked.output.split()), checked.output


def test_a_matrix_connection_error_reads(project: Project) -> None:
    project.env["MX_TOKEN"] = "syt_review41b_token_0123456789"
    project.write_config('\n[engine]\nmax_attempts = 1\n\n[channels.mx]\ntype = "matrix"\nvisibility = "internal"\n'
                         'homeserver = "http://127.0.0.1:9"\naccess_token = "${MX_TOKEN}"\nroom_id = "!abc:example.org"\n')
    posted = project.cli("post", "--yes", "--only", "mx", "--title", "API errors", "Elevated errors.")
    assert posted.exit_code == 3, posted.output
    said = " ".join(posted.output.split())
    assert "Matrix the message" not in said, said
    assert "could not connect" in said, said
    assert "syt_review41b" not in said


def test_an_invalid_component_id_is_named_as_invalid(project: Project) -> None:
    project.config.write_text(project.config.read_text().replace('id = "api"', 'id = "API errors"'))
    listed = project.cli("list")
    assert listed.exit_code == 2, listed.output
    said = " ".join(listed.output.split())
    assert "is required" not in said, said
    assert "'API errors'" in said, said


def test_a_mistyped_channel_type_suggests_the_type_meant(project: Project) -> None:
    # Every other key of the config suggests the closest name; a channel's type listed them all and no more.
    project.write_config('\n[channels.hook]\ntype = "webhok"\nurl = "http://127.0.0.1:9/"\n')
    listed = project.cli("list")
    assert listed.exit_code == 2, listed.output
    assert "Did you mean 'webhook'?" in " ".join(listed.output.split()), listed.output


def test_an_invite_for_an_unknown_customer_gives_no_advice_about_private_text(project: Project) -> None:
    # `subscribers invite` takes no free text: "Free-text customer names go into --private now" was advice for
    # post's options, and "Nothing was stored or sent" said nothing of the invite.
    project.env["BOT_TOKEN"] = "123456:review41b-bot-token-0123456789abcdef"
    project.write_config('\n[audiences.acme]\nname = "Acme Corp"\n\n[bot]\ntype = "telegram"\n'
                         'token = "${BOT_TOKEN}"\napi_url = "http://127.0.0.1:9/"\n')
    invited = project.cli("subscribers", "invite", "--audience", "acmee")
    assert invited.exit_code == 2, invited.output
    said = " ".join(invited.output.split())
    assert "Did you mean 'acme'?" in said and "No invite was made." in said, said
    assert "--private" not in said, said
