"""Review 21t (of 8077f0d): a path-less address whose query holds an e-mail address shows the query's token."""

from __future__ import annotations

import pytest
from broadcaster.channels._options import shown_url

from tests.conftest import Project


@pytest.mark.parametrize("url", [
    "https://hooks.example.com?email=ops@example.com&token=S3cretTok99",
    "https://hooks.example.com#to=ops@example.com&sig=S3cretTok99",
    "https://hooks.example.com?sig=a@b.S3cretTok99",
])
def test_a_query_holding_an_email_address_keeps_its_token_hidden(url: str) -> None:
    shown = shown_url(url)
    assert "S3cretTok99" not in shown, shown
    assert "hooks.example.com" in shown, shown


def test_a_mistyped_mastodon_url_error_does_not_show_the_query_token(project: Project) -> None:
    project.env["T"] = "mastodon-token-Fx21t-0123456789"
    project.write_config('\n[channels.ops]\ntype = "mastodon"\ninstance_url = '
                         '"http://mastodon.example?email=ops@example.com&token=S3cretTok99"\naccess_token = "${T}"\n')
    result = project.cli("list")
    assert result.exit_code == 2, result.output
    assert "S3cretTok99" not in result.output, result.output
