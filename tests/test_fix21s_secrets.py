"""Review 21s (of 2e1dfbc): shown_url hid the host and kept a query tail after an "@"; credential-named webhook headers holding ordinary identity values were refused."""

from __future__ import annotations

import pytest
from broadcaster.channels import webhook
from broadcaster.channels._options import shown_url

from tests.conftest import Project

ENGINE = "\n[engine]\ntimeout = 5\ndeadline = 20\nmax_attempts = 1\n"


# -- 1. shown_url: an "@" inside the query of a path-less URL now shows the query's tail and hides the host ---------

@pytest.mark.parametrize("url", [
    "http://hooks.example.com?sig=x@Sup3rSecretTail",
    "https://host.example.com?tok=a@Sup3rSecretTail",
])
def test_shown_url_keeps_a_query_value_after_an_at_sign_hidden(url: str) -> None:
    shown = shown_url(url)
    assert "Sup3rSecretTail" not in shown, shown
    assert "example.com" in shown, shown  # the operator still sees which host was mistyped


def test_a_mistyped_mastodon_url_error_does_not_show_its_query_tail(project: Project) -> None:
    project.env["T"] = "mastodon-token-Fx21s-0123456789"
    project.write_config('\n[channels.ops]\ntype = "mastodon"\n'
                         'instance_url = "http://mastodon.example?sig=x@Sup3rSecretTail"\naccess_token = "${T}"\n')
    result = project.cli("list")
    assert result.exit_code == 2, result.output
    assert "Sup3rSecretTail" not in result.output, result.output


# -- 2. credential-named headers with an ordinary identity value, taken before 2e1dfbc, now refused --------------

@pytest.mark.parametrize(("name", "value"), [
    ("X-Auth-User", "status-bot-eu1"),
    ("X-Auth-Account", "acme-corp-42"),
    ("X-Auth-Region", "eu-central-1"),
    ("X-Secret-Version", "v1"),
    ("X-Token-Type", "Bearer"),
])
def test_an_ordinary_identity_value_under_a_credential_word_is_still_taken(name: str, value: str) -> None:
    assert webhook._headers({name: value}, "channels.hook.headers") == {name: value}
