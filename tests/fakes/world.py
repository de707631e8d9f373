"""All the fake services at once, with the config and environment that point broadcaster at them.

Used by the end-to-end delivery tests and by the benchmarks, so both exercise
the same fakes through the real CLI.
"""

from __future__ import annotations

import textwrap
from contextlib import ExitStack
from dataclasses import dataclass, field

from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram
from tests.fakes.twitter import FakeX

X_TOKEN = "x-user-token-7f3a9c"
TG_TOKEN = "123456:tg-token-9b2e4d"
SLACK_TOKEN = "xoxb-slack-token-5c8e1a"
PUBLIC_CHAT = "@acmestatus"
OPS_CHATS = (-1001001, -1001002)
SLACK_CHANNEL = "C0123ABCD"
SECRETS = (X_TOKEN, TG_TOKEN, SLACK_TOKEN)


@dataclass
class FakeWorld:
    """FakeX, FakeTelegram and FakeSlack on loopback, and the ``[channels]`` that use them."""

    latency: float = 0.0
    ops_chats: tuple[int, ...] = OPS_CHATS
    enforce_limits: bool = True
    echo_credentials: bool = False  # every error answer repeats the credentials it received
    x: FakeX = field(init=False)
    telegram: FakeTelegram = field(init=False)
    slack: FakeSlack = field(init=False)
    _stack: ExitStack = field(init=False, default_factory=ExitStack)

    def __enter__(self) -> FakeWorld:
        self.x = self._stack.enter_context(FakeX(bearer_token=X_TOKEN, latency=self.latency))
        chats: dict[int | str, str] = {PUBLIC_CHAT: "Acme status", **{c: f"ops {c}" for c in self.ops_chats}}
        self.telegram = self._stack.enter_context(
            FakeTelegram(token=TG_TOKEN, chats=chats, enforce_limits=self.enforce_limits, latency=self.latency)
        )
        self.slack = self._stack.enter_context(
            FakeSlack(token=SLACK_TOKEN, channels={SLACK_CHANNEL: "acme-status"}, latency=self.latency)
        )
        for fake in (self.x, self.telegram, self.slack):
            fake.echo_credentials = self.echo_credentials
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    @property
    def env(self) -> dict[str, str]:
        return {"X_TOKEN": X_TOKEN, "TG_TOKEN": TG_TOKEN, "SLACK_TOKEN": SLACK_TOKEN}

    def channels_toml(self, *, slack_components: str = '["api"]') -> str:
        chat_list = ", ".join(str(c) for c in self.ops_chats)
        return textwrap.dedent(f"""
            [channels.x]
            type = "twitter"
            bearer_token = "${{X_TOKEN}}"
            api_url = "{self.x.url}"

            [channels.tg-public]
            type = "telegram"
            token = "${{TG_TOKEN}}"
            chat_ids = ["{PUBLIC_CHAT}"]
            api_url = "{self.telegram.url}"

            [channels.tg-ops]
            type = "telegram"
            visibility = "private"
            token = "${{TG_TOKEN}}"
            chat_ids = [{chat_list}]
            api_url = "{self.telegram.url}"

            [channels.slack-acme]
            type = "slack"
            visibility = "private"
            components = {slack_components}
            token = "${{SLACK_TOKEN}}"
            channel = "{SLACK_CHANNEL}"
            api_url = "{self.slack.url}/api/"
        """)

    def slack_messages(self) -> list:  # type: ignore[type-arg]
        return list(self.slack.messages.get(SLACK_CHANNEL, []))

    def telegram_messages(self, chat: int | str) -> list:  # type: ignore[type-arg]
        return list(self.telegram.messages.get(chat, []))
