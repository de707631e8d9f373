"""``broadcaster bot run`` as a real process (issue 19): polling, webhook, SIGTERM, the token kept out of sight."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
from collections.abc import Iterator

import pytest
from broadcaster.messages.model import Visibility

from broadcaster import config_loader, subscribers
from broadcaster.bot.runner import webhook_mode
from broadcaster.errors import InputError
from broadcaster.store import open_store, store_location
from tests.bot_helpers import AUDIENCES, TOKEN
from tests.conftest import Project
from tests.fakes.telegram_bot import FakeTelegramBot
from tests.ports import free_port

ANN = 4242


def bot_table(fake: FakeTelegramBot) -> str:
    return f"""
[bot]
type = "telegram"
token = "${{BOT_TOKEN}}"
api_url = "{fake.url}"
"""


@pytest.fixture
def fake() -> Iterator[FakeTelegramBot]:
    with FakeTelegramBot(token=TOKEN) as server:
        yield server


@pytest.fixture
def configured(project: Project, fake: FakeTelegramBot) -> Project:
    project.write_config(AUDIENCES + bot_table(fake))
    project.env["BOT_TOKEN"] = TOKEN
    return project


def stopped(process: subprocess.Popen[str], sig: int = signal.SIGTERM) -> tuple[int, str, str]:
    process.send_signal(sig)
    out, err = process.communicate(timeout=20)
    return process.returncode, out, err


def started(fake: FakeTelegramBot, process: subprocess.Popen[str]) -> None:
    if not fake.polling.wait(20):
        process.kill()
        raise AssertionError(f"the bot never polled: {process.communicate()}")


def test_sigterm_stops_the_polling_bot_cleanly_after_confirming_what_it_fetched(
    configured: Project, fake: FakeTelegramBot,
) -> None:
    process = configured.process("bot", "run")
    started(fake, process)
    last = fake.say(ANN, "/start")
    assert fake.wait_for(lambda: len(fake.texts(ANN)) == 1, 20), fake.texts(ANN)
    # The bot's next long poll (from the update after /start) is in before it is stopped: its request is recorded
    # when the fake's thread for it gets to it, and on a loaded machine that was after the confirming poll.
    assert fake.wait_for(lambda: any(r.form.get("offset") == str(last + 1) and r.form.get("timeout") != "0"
                                     for r in fake.received("/getUpdates")), 20)
    code, _, err = stopped(process)
    assert code == 0, err
    assert "@status_bot is answering chats (long polling)" in err and "The bot stopped." in err
    polls = [r.form for r in fake.received("/getUpdates")]
    assert fake.received("/deleteWebhook")[0].at < fake.received("/getUpdates")[0].at
    assert json.loads(polls[0]["allowed_updates"]) == ["message", "callback_query", "my_chat_member"]
    assert polls[-1]["timeout"] == "0" and int(polls[-1]["offset"]) == last + 1  # confirmed before leaving
    assert fake.pending() == []
    sub = open_store(store_location(config_loader.load(str(configured.config)), None)).subscription(str(ANN))
    assert sub is not None and sub.active


def test_sigint_stops_it_too_and_a_restart_answers_nothing_twice(configured: Project, fake: FakeTelegramBot) -> None:
    process = configured.process("bot", "run")
    started(fake, process)
    fake.say(ANN, "/help")
    assert fake.wait_for(lambda: len(fake.texts(ANN)) == 1, 20)
    assert stopped(process, signal.SIGINT)[0] == 0
    fake.polling.clear()
    again = configured.process("bot", "run")
    started(fake, again)
    fake.say(ANN + 1, "/help")
    assert fake.wait_for(lambda: len(fake.texts(ANN + 1)) == 1, 20)
    assert stopped(again)[0] == 0
    assert len(fake.texts(ANN)) == 1


def test_the_token_is_never_in_the_logs_even_with_debug(configured: Project, fake: FakeTelegramBot) -> None:
    fake.echo_credentials = True  # a proxy that repeats the request path in its errors
    process = configured.process("--debug", "bot", "run")
    started(fake, process)
    fake.say(ANN, "/status")
    fake.say(-100999, "/start", user=7)  # a group: getChatMember answers "chat not found" (echoing the path)
    assert fake.wait_for(lambda: len(fake.texts(ANN)) >= 1, 20)
    code, out, err = stopped(process)
    assert code == 0
    assert "getUpdates" in err  # --debug shows the libraries' logs, so this checks something
    secret_part = TOKEN.split(":")[1]
    for text in (out, err):
        assert secret_part not in text and secret_part.lower() not in text.lower()


def test_an_invite_code_is_never_in_the_logs_even_with_debug(configured: Project, fake: FakeTelegramBot) -> None:
    store = open_store(store_location(config_loader.load(str(configured.config)), None))
    code, invite = subscribers.create_invite(store, Visibility.parse("internal"))
    process = configured.process("--debug", "bot", "run")
    started(fake, process)
    fake.say(ANN, f"/start {code}")
    assert fake.wait_for(lambda: len(fake.texts(ANN)) == 1, 20)
    _, out, err = stopped(process)
    assert "/start ***" in err  # --debug shows the updates python-telegram-bot received, so this checks something
    assert code not in out + err and invite.hash[:12] not in fake.texts(ANN)[0]


def test_a_rejected_token_is_a_config_error(configured: Project, fake: FakeTelegramBot) -> None:
    configured.env["BOT_TOKEN"] = "7000000001:another-token-entirely"
    result = configured.process("bot", "run")
    _, err = result.communicate(timeout=30)
    assert result.returncode == 2 and "rejected the bot token" in err and "another-token" not in err


def test_a_second_bot_on_the_same_store_is_refused_and_the_first_answers_on(
    configured: Project, fake: FakeTelegramBot,
) -> None:
    """Review 36c: the second one used to poll too, and Telegram's 409 ended both (the first at once, the second
    by the first's parting getUpdates): with systemd's Restart=on-failure on two machines, each restart killed the
    other. The store's lease refuses the second before it asks Telegram anything."""
    first = configured.process("bot", "run")
    started(fake, first)
    try:
        second = configured.cli("bot", "run")
        assert second.exit_code == 1 and "another `broadcaster bot run` answers this store's chats" in second.output
        assert first.poll() is None  # still running
        fake.say(ANN, "/help")
        assert fake.wait_for(lambda: len(fake.texts(ANN)) == 1, 20)  # the first answers on
        assert len(fake.received("/getMe")) == 1  # the second never asked Telegram anything
    finally:
        code, _, err = stopped(first)
    assert code == 0, err
    again = configured.process("bot", "run")  # the first let its lease go: the next starts at once
    started_again = fake.wait_for(lambda: len(fake.received("/getMe")) == 2, 20)
    code, _, err = stopped(again)
    assert started_again and code == 0, err


def test_a_polling_bot_never_takes_a_webhook_bots_webhook_away(configured: Project, fake: FakeTelegramBot) -> None:
    """Review 36c: a plain `bot run` beside a webhook bot deleted its webhook (PTB's start_polling does), and the
    webhook bot, still running, answered nothing from then on without a word."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    webhook_bot = configured.process("bot", "run", "--webhook", url, "--listen", f"127.0.0.1:{port}")
    try:
        assert fake.wait_for(lambda: fake.webhook is not None, 20) and fake.wait_for(lambda: _listening(port), 10)
        polling = configured.cli("bot", "run")
        assert polling.exit_code == 1 and "answers this store's chats" in polling.output, polling.output
        assert fake.webhook is not None and fake.received("/deleteWebhook") == []
        fake.say(ANN, "/help")
        assert fake.wait_for(lambda: len(fake.texts(ANN)) == 1, 20)
    finally:
        code, _, err = stopped(webhook_bot)
    assert code == 0, err


def test_without_a_bot_table_it_says_what_to_add(project: Project) -> None:
    result = project.cli("bot", "run")
    assert result.exit_code == 2 and "There is no [bot] table" in result.stderr


@pytest.mark.parametrize(
    ("webhook", "listen", "wanted"),
    [
        ("https://bot.example/tg", None, "go together"),
        (None, "127.0.0.1:8443", "go together"),
        ("ftp://bot.example/tg", "127.0.0.1:8443", "not a URL"),
        ("https://bot.example/tg", "127.0.0.1", "not HOST:PORT"),
        ("https://bot.example/tg", "127.0.0.1:99999", "not HOST:PORT"),
    ],
    ids=["no-listen", "no-webhook", "scheme", "no-port", "bad-port"],
)
def test_webhook_options_are_checked(webhook: str | None, listen: str | None, wanted: str) -> None:
    with pytest.raises(InputError, match=wanted):
        webhook_mode(webhook, listen)


def test_webhook_mode_takes_updates_only_with_the_secret(configured: Project, fake: FakeTelegramBot) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    process = configured.process("--debug", "bot", "run", "--webhook", url, "--listen", f"127.0.0.1:{port}")
    try:
        if not fake.wait_for(lambda: fake.webhook is not None, 40):  # 20 s once passed in a loaded full run
            process.kill()
            raise AssertionError(f"the bot never set its webhook: {process.communicate()}")
        assert fake.webhook is not None and fake.webhook.url == url and len(fake.webhook.secret_token) >= 32
        assert fake.wait_for(lambda: _listening(port), 10)
        update = {"update_id": 1, "message": {"message_id": 1, "date": 1, "chat": {"id": ANN, "type": "private",
                  "first_name": "Ann"}, "from": fake.user(ANN), "text": "/help",
                  "entities": [{"type": "bot_command", "offset": 0, "length": 5}]}}
        assert fake.deliver(update, url, None) == 403
        assert fake.deliver(update, url, "not-the-secret") == 403
        assert fake.deliver(update, url, fake.webhook.secret_token, body=b"{not json") == 400
        assert fake.deliver(update, url, fake.webhook.secret_token, content_type="text/plain") == 415
        assert fake.texts(ANN) == []
        fake.say(ANN, "/help")  # the fake posts it to the webhook with the secret
        assert fake.wait_for(lambda: len(fake.texts(ANN)) == 1, 20) and fake.webhook_answers == [200]
        assert fake.received("/getUpdates") == []
    finally:
        code, _, err = stopped(process)
    assert code == 0, err
    assert "webhook" in err and "setWebhook" in err  # --debug shows PTB's calls, so the next line checks something
    # Whoever reads the logs must not be able to post forged updates (a forged migration moves a chat's
    # subscription to any chat id).
    assert fake.webhook.secret_token not in err


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_a_port_in_use_is_refused(configured: Project, fake: FakeTelegramBot) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = configured.cli("bot", "run", "--webhook", "https://bot.example/hook", "--listen", f"127.0.0.1:{port}")
    assert result.exit_code == 2 and "Cannot listen on 127.0.0.1" in result.stderr


def test_invite_then_start_in_a_real_process(configured: Project, fake: FakeTelegramBot) -> None:
    store = open_store(store_location(config_loader.load(str(configured.config)), None))
    code, _ = subscribers.create_invite(store, Visibility.parse("audience:globex"), ["db"])
    process = configured.process("bot", "run")
    started(fake, process)
    fake.say(ANN, f"/start {code}")
    assert fake.wait_for(lambda: len(fake.texts(ANN)) == 1, 20)
    assert stopped(process)[0] == 0
    assert "for Globex Industries" in fake.texts(ANN)[0]
    sub = store.subscription(str(ANN))
    assert sub is not None and sub.visibility == Visibility.parse("audience:globex") and sub.components == ("db",)


def test_a_token_of_the_wrong_shape_is_refused_before_anything_is_sent(configured: Project, fake: FakeTelegramBot) -> None:
    configured.env["BOT_TOKEN"] = "not a token"
    result = configured.cli("bot", "run")
    assert result.exit_code == 2 and "${BOT_TOKEN} does not look like a Telegram bot token" in result.stderr
    assert "not a token" not in result.stderr and fake.requests == []


def test_an_unreachable_bot_api_is_said_plainly(project: Project) -> None:
    port = free_port()
    project.write_config(AUDIENCES + f'\n[bot]\ntype = "telegram"\ntoken = "${{BOT_TOKEN}}"\n'
                                     f'api_url = "http://127.0.0.1:{port}"\n')
    result = project.cli("bot", "run", env={"BOT_TOKEN": TOKEN})
    assert result.exit_code == 1 and "The bot could not start" in result.stderr
    assert TOKEN.split(":")[1] not in result.stderr


def test_a_webhook_url_telegram_refuses_is_an_input_error(configured: Project, fake: FakeTelegramBot) -> None:
    from tests.fakes.base import Fault, Response

    refusal = {"ok": False, "error_code": 400,
               "description": "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"}
    fake.fail(Fault(match="setWebhook", response=Response(400, refusal)))
    port = free_port()
    result = configured.cli("bot", "run", "--webhook", f"http://127.0.0.1:{port}/hook", "--listen",
                            f"127.0.0.1:{port}")
    assert result.exit_code == 2 and "Telegram refused the webhook URL" in result.stderr
    assert "https url must be provided" in result.stderr.lower() and not _listening(port)  # the route was closed again


def test_an_update_arriving_while_the_webhook_bot_stops_is_refused_for_telegram_to_send_again(
    configured: Project, fake: FakeTelegramBot
) -> None:
    """Found by a review: taken with a 200 while the bot drained, it was dropped with the queue, and
    Telegram, told it arrived, never sent it again: a /stop lost, the chat still subscribed."""
    import time

    from tests.fakes.base import Fault

    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    process = configured.process("bot", "run", "--webhook", url, "--listen", f"127.0.0.1:{port}")
    try:
        assert fake.wait_for(lambda: fake.webhook is not None, 20) and fake.wait_for(lambda: _listening(port), 10)
        fake.say(ANN, "/start")
        assert fake.wait_for(lambda: len(fake.texts(ANN)) == 1, 20)
        fake.fail(Fault(match="sendMessage", hold=3.0))
        fake.say(ANN + 1, "/help")  # its answer is held: the bot is still busy when told to stop
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        fake.say(ANN, "/stop")
        assert fake.webhook_answers[-1] == 503, fake.webhook_answers
    finally:
        code, _, err = stopped(process)
    assert code == 0, err
    store = open_store(store_location(config_loader.load(str(configured.config)), None))
    subscription = store.subscription(str(ANN))
    assert subscription is not None and subscription.active  # untouched: the next run gets the /stop again


def test_a_bot_killed_leaves_its_lease_to_the_next_at_once(configured: Project, fake: FakeTelegramBot) -> None:
    """Control of the lease: SIGKILL leaves it in the store, and this machine sees that its process is gone."""
    first = configured.process("bot", "run")
    started(fake, first)
    first.kill()
    first.communicate(timeout=20)
    second = configured.process("bot", "run")
    answering = fake.wait_for(lambda: len(fake.received("/getMe")) == 2, 20)
    code, _, err = stopped(second)
    assert answering and code == 0, err
