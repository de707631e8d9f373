"""Issue 19 end to end: invite -> /start in the running bot -> post -> each chat receives exactly its view;
the bot and two ``post`` processes on one store at once. Real processes, real python-telegram-bot, the fake
Bot API on loopback."""

from __future__ import annotations

import json
import re
import signal
import subprocess
from collections.abc import Iterator

import pytest

from tests.bot_helpers import AUDIENCES, TOKEN
from tests.conftest import UNHURRIED_ENGINE, Project
from tests.fakes.telegram import BOT_ID_NAME
from tests.fakes.telegram_bot import FakeTelegramBot
from tests.pg import PASSWORD_ENV, PgServer, pg_server_fixture  # noqa: F401 - pytest fixtures

ANN, BOB, CAROL, STAFF = 4242, 4343, 4444, 4545
ACME_CONFIGURED = -1001777  # a configured channel for the same audience: what "its view" looks like there
SECRETS = ("Edge fra-2 flapping", "Globex exports stalled", "TICKET-77812")
MESSAGE = ("Errors on the API. [private]Edge fra-2 flapping.[/private] [for acme]Your EU tenants see 502s.[/for] "
           "[for globex]Globex exports stalled.[/for] Investigating.")


@pytest.fixture
def fake() -> Iterator[FakeTelegramBot]:
    with FakeTelegramBot(token=TOKEN, chats={ACME_CONFIGURED: "acme ops"}) as server:
        yield server


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """The store's [store] table: the embedded file, or (where a test asks for it) the team's PostgreSQL."""
    if request.param == "sqlite":
        yield ""
        return
    server: PgServer = request.getfixturevalue("pg_server")
    name = server.create_database()
    yield f'\n[store]\nurl = "{server.config_url(name)}"\n'
    server.drop_database(name)


@pytest.fixture
def configured(project: Project, fake: FakeTelegramBot, backend: str, request: pytest.FixtureRequest) -> Project:
    if backend:
        project.env[PASSWORD_ENV] = request.getfixturevalue("pg_server").password
    project.write_config(UNHURRIED_ENGINE + AUDIENCES + backend + f"""
[bot]
type = "telegram"
token = "${{BOT_TOKEN}}"
api_url = "{fake.url}"
username = "{BOT_ID_NAME}"

[channels.acme-telegram]
type = "telegram"
audience = "acme"
token = "${{BOT_TOKEN}}"
chat_ids = [{ACME_CONFIGURED}]
api_url = "{fake.url}"
""")
    project.env["BOT_TOKEN"] = TOKEN
    if backend:
        assert project.cli("store", "migrate").exit_code == 0
    return project


def invite(project: Project, *args: str) -> str:
    result = project.cli("subscribers", "invite", *args)
    assert result.exit_code == 0, result.output
    found = re.search(rf"https://t\.me/{BOT_ID_NAME}\?start=([A-Za-z0-9_-]+)", result.output)
    assert found, result.output
    return found.group(1)


@pytest.fixture
def bot(configured: Project, fake: FakeTelegramBot) -> Iterator[subprocess.Popen[str]]:
    process = configured.process("bot", "run")
    if not fake.polling.wait(20):
        process.kill()
        raise AssertionError(process.communicate())
    yield process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=20)
    assert process.returncode == 0, err


def started(fake: FakeTelegramBot, chat: int, text: str) -> str:
    before = len(fake.texts(chat))
    fake.say(chat, text)
    assert fake.wait_for(lambda: len(fake.texts(chat)) > before, 20), fake.texts(chat)
    return fake.texts(chat)[-1]


def test_invite_start_post_each_chat_receives_exactly_its_view(
    configured: Project, fake: FakeTelegramBot, bot: subprocess.Popen[str],
) -> None:
    assert "for Acme Corp" in started(fake, ANN, f"/start {invite(configured, '--audience', 'acme')}")
    assert "public status updates" in started(fake, BOB, "/start")
    assert "internal status updates" in started(fake, STAFF, f"/start {invite(configured, '--internal')}")
    result = configured.cli("post", "--yes", "--title", "API errors", "-C", "api", "--ticket", "TICKET-77812",
                            "--customer", "acme", MESSAGE)
    assert result.exit_code == 0, result.output
    acme, public, staff = (fake.messages[chat][-1] for chat in (ANN, BOB, STAFF))
    assert acme.html == fake.messages[ACME_CONFIGURED][-1].html  # exactly what a configured acme channel gets
    assert "Your EU tenants see 502s." in acme.text and "Your EU tenants" not in public.text
    for secret in SECRETS:
        assert secret not in acme.text and secret not in public.text
        assert secret in staff.text
    assert "Errors on the API." in public.text and "Investigating." in public.text


def test_a_chat_that_narrowed_its_components_hears_only_those(
    configured: Project, fake: FakeTelegramBot, bot: subprocess.Popen[str],
) -> None:
    started(fake, CAROL, "/start")
    started(fake, CAROL, "/components")
    keyboard = fake.messages[CAROL][-1]
    for count, data in enumerate(("c:api", "c:web"), start=1):  # leaves Database alone
        fake.tap(CAROL, keyboard.message_id, data)
        assert fake.wait_for(lambda n=count: len(fake.markup_edits) >= n, 20)  # type: ignore[misc]
    seen = len(fake.texts(CAROL))
    assert configured.cli("post", "--yes", "--title", "API errors", "-C", "api", "Errors.").exit_code == 0
    assert configured.cli("post", "--yes", "--title", "Database slow", "-C", "db", "Slow queries.").exit_code == 0
    later = fake.texts(CAROL)[seen:]
    assert len(later) == 1 and "Database slow" in later[0]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_the_bot_and_two_posts_on_one_store_at_once(
    configured: Project, fake: FakeTelegramBot, bot: subprocess.Popen[str],
) -> None:
    chats = list(range(5001, 5009))
    for chat in chats[:4]:
        started(fake, chat, "/start")
    posts = [configured.process("post", "--yes", "--title", f"Outage {n}", "-C", "api", f"Errors {n}.")
             for n in (1, 2)]
    for chat in chats[4:]:  # chats subscribing while both posts write to the store
        fake.say(chat, "/start")
    for process in posts:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, out + err
    assert fake.wait_for(lambda: all(fake.texts(chat) for chat in chats[4:]), 20)
    for chat in chats[:4]:
        received = fake.texts(chat)[1:]
        assert sorted(t.split(":")[1].split("\n")[0].strip() for t in received) == ["Outage 1", "Outage 2"], received
    listed = configured.cli("subscribers", "list", "--json")
    assert listed.exit_code == 0, listed.output
    assert {str(c) for c in chats} <= {str(s["chat_id"]) for s in json.loads(listed.stdout) if s["active"]}
    # Two processes cannot share one pacer, so Telegram may answer 429: each is waited out, nothing lost or doubled.
