"""The bot's pacing rules on their own, on a clock the test moves."""

from __future__ import annotations

from broadcaster.bot import pacing
from broadcaster.bot.pacing import Pacer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_short_help_once_a_minute_per_chat_and_old_chats_forgotten() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock)
    assert pacer.may_help(1) and not pacer.may_help(1) and pacer.may_help(2)
    clock.now += 59
    assert not pacer.may_help(1)
    clock.now += 2
    assert pacer.may_help(1)
    for chat in range(10, 10 + pacing.HELPED_KEPT):
        pacer.may_help(chat)
    clock.now += 61
    pacer.may_help(99_999)  # over the limit: everything older than a minute is forgotten
    assert len(pacer._helped) == 1
