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
