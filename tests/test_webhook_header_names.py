"""A header's name is a credential's by a word it holds, not by letters inside another word: `"X-Author" =
"status-bot"` and `"X-Keyboard" = "us"` stopped every command of a config that worked before 8123ed2."""

from __future__ import annotations

import pytest
from broadcaster.channels import webhook

from broadcaster.errors import ConfigError


@pytest.mark.parametrize(("name", "value"), [
    ("X-Author", "status-bot"),
    ("X-Authored-By", "on-call"),
    ("X-Keyboard", "us"),
])
def test_a_name_holding_a_credential_word_inside_another_word_is_plain(name: str, value: str) -> None:
    assert webhook._headers({name: value}, "channels.hook.headers") == {name: value}


@pytest.mark.parametrize("name", ["Authorization", "Proxy-Authorization", "Authentication", "X-Auth", "X-Api-Key",
                                  "X-ApiKey", "X-AccessKey", "X_API_KEY", "X-Idempotency-Key", "Cookie", "X-Session"])
def test_a_credential_name_still_needs_a_variable(name: str) -> None:
    with pytest.raises(ConfigError):
        webhook._headers({name: "Fx22wordsandnumbers9"}, "channels.hook.headers")
