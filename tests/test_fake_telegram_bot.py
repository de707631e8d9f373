"""The fake Bot API's listening side behaves like Telegram's: checked on the wire, and its objects through PTB's parsers."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from telegram import ChatMember, Update

from tests.fakes.telegram_bot import FakeTelegramBot

TOKEN = "7000000001:fake-test-token"


@pytest.fixture
def fake() -> Iterator[FakeTelegramBot]:
    with FakeTelegramBot(token=TOKEN, chats={-1001: "Ops"}, members={(-1001, 5): "administrator"},
                         enforce_limits=False) as server:
        yield server


def call(fake: FakeTelegramBot, method: str, **params: Any) -> tuple[int, dict[str, Any]]:
    body = urllib.parse.urlencode({k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}).encode()
    request = urllib.request.Request(f"{fake.url}/bot{TOKEN}/{method}", data=body, method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(request, timeout=15) as answer:  # noqa: S310 - loopback
            return int(answer.status), json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), json.loads(exc.read())


def test_get_updates_confirms_by_offset_and_answers_at_once_with_timeout_zero(fake: FakeTelegramBot) -> None:
    first = fake.say(42, "/start")
    second = fake.say(42, "hello")
    started = time.monotonic()
    code, body = call(fake, "getUpdates", timeout=0)
    assert code == 200 and [u["update_id"] for u in body["result"]] == [first, second]
    assert time.monotonic() - started < 1
    assert call(fake, "getUpdates", offset=second, timeout=0)[1]["result"][0]["update_id"] == second
    assert call(fake, "getUpdates", offset=second + 1, timeout=0)[1]["result"] == []
    for update in body["result"]:
        assert Update.de_json(update, None) is not None  # complete: PTB parses it


def test_a_long_poll_waits_for_an_update_and_a_newer_poll_ends_it_with_409(fake: FakeTelegramBot) -> None:
    answers: list[tuple[int, dict[str, Any]]] = []
    waiting = threading.Thread(target=lambda: answers.append(call(fake, "getUpdates", timeout=5)))
    waiting.start()
    assert fake.polling.wait(5)
    assert call(fake, "getUpdates", timeout=0)[0] == 200
    waiting.join(10)
    assert answers[0][0] == 409 and "terminated by other getUpdates request" in answers[0][1]["description"]
    waiting = threading.Thread(target=lambda: answers.append(call(fake, "getUpdates", timeout=5)))
    waiting.start()
    time.sleep(0.2)
    update_id = fake.say(42, "/help")
    waiting.join(10)
    assert answers[1][0] == 200 and [u["update_id"] for u in answers[1][1]["result"]] == [update_id]


def test_allowed_updates_are_kept_and_a_webhook_blocks_polling(fake: FakeTelegramBot) -> None:
    call(fake, "getUpdates", timeout=0, allowed_updates=["message"])
    fake.push("my_chat_member", {"chat": {"id": 42, "type": "private", "first_name": "A"}})
    assert call(fake, "getUpdates", timeout=0)[1]["result"] == []  # not a kind it asked for: never stored
    assert call(fake, "setWebhook", url="https://bot.example/hook", secret_token="bad token!")[0] == 400
    assert call(fake, "setWebhook", url="https://bot.example/hook", secret_token="good_token-1")[0] == 200
    code, body = call(fake, "getUpdates", timeout=0)
    assert code == 409 and "webhook is active" in body["description"]
    info = call(fake, "getWebhookInfo")[1]["result"]
    assert info["url"] == "https://bot.example/hook" and info["allowed_updates"] == ["message"]
    assert call(fake, "deleteWebhook")[0] == 200 and call(fake, "getUpdates", timeout=0)[0] == 200


@pytest.mark.parametrize("status", ["creator", "administrator", "member", "restricted", "left", "kicked"])
def test_every_chat_member_is_complete_for_ptb(fake: FakeTelegramBot, status: str) -> None:
    fake.members[(-1001, 7)] = status
    code, body = call(fake, "getChatMember", chat_id=-1001, user_id=7)
    assert code == 200
    assert ChatMember.de_json(body["result"], None).status == status


def test_buttons_answers_and_edits_have_telegrams_errors(fake: FakeTelegramBot) -> None:
    keyboard = {"inline_keyboard": [[{"text": "API", "callback_data": "c:api"}]]}
    too_long = {"inline_keyboard": [[{"text": "API", "callback_data": "x" * 65}]]}
    assert call(fake, "sendMessage", chat_id=-1001, text="pick", reply_markup=too_long)[1]["description"] == (
        "Bad Request: BUTTON_DATA_INVALID")
    sent = call(fake, "sendMessage", chat_id=-1001, text="pick", reply_markup=keyboard)[1]["result"]
    assert sent["reply_markup"] == keyboard
    query = fake.tap(-1001, sent["message_id"], "c:api", user=5)
    assert call(fake, "answerCallbackQuery", callback_query_id=query, text="Saved.")[0] == 200
    code, body = call(fake, "answerCallbackQuery", callback_query_id=query)
    assert code == 400 and "query is too old" in body["description"]
    same = call(fake, "editMessageReplyMarkup", chat_id=-1001, message_id=sent["message_id"], reply_markup=keyboard)
    assert same[0] == 400 and "message is not modified" in same[1]["description"]
    gone = call(fake, "editMessageReplyMarkup", chat_id=-1001, message_id=999, reply_markup=keyboard)
    assert gone[0] == 400 and "message to edit not found" in gone[1]["description"]
