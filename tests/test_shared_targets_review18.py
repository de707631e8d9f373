"""One receiver or chat configured twice, written slightly differently (review 18c; each test failed before its fix)."""

from __future__ import annotations

import pytest

from tests.conftest import ENGINE, Project
from tests.fakes.telegram import FakeTelegram
from tests.fakes.webhook import SECRET
from tests.test_audiences import AUDIENCES

TOKEN = "123456:r18c-token"


def hook_table(name: str, line: str, url: str) -> str:
    return f'\n[channels.{name}]\ntype = "webhook"\n{line}\nurl = "{url}"\nsecret = "${{HOOK_SECRET}}"\n'


@pytest.mark.parametrize("public_url, acme_url", [
    ("https://hooks.example.com/status", "https://hooks.example.com:443/status"),
    ("https://hooks.example.com:443/status", "https://hooks.example.com/status"),
    ("https://hooks.example.com", "https://hooks.example.com/"),  # an empty path is sent as "/"
    ("https://hooks.example.com/status", "https://hooks.example.com./status"),  # the absolute form of the name
    ("https://hooks.example.com/s?a=1&b=2", "https://hooks.example.com/s?b=2&a=1"),  # the query in another order
    ("https://hooks.example.com/status", "https://hooks.example.com/st%61tus"),  # an escape
    ("https://bücher.example/status", "https://xn--bcher-kva.example/status"),  # an international name
])
def test_one_webhook_receiver_written_with_and_without_its_default_port_is_refused(
    project: Project, public_url: str, acme_url: str
) -> None:
    """``https://h/x`` and ``https://h:443/x`` are one receiver: a public table and acme's table on it would hand
    acme's detail to whoever consumes the public events. The loader refuses the same URL written alike; the
    default port written out slips past (WebhookChannel.target_keys keys on ``str(parts.port or "")``)."""
    project.env["HOOK_SECRET"] = SECRET
    project.write_config(ENGINE + AUDIENCES + hook_table("public-hook", 'visibility = "public"', public_url)
                         + hook_table("acme-hook", 'audience = "acme"', acme_url))
    result = project.cli("preview", "--title", "API errors", "-C", "api", "--for", "acme", "Circuit ACM-7", "Errors.")
    assert result.exit_code == 2, result.output
    assert "One chat cannot be both" in result.output


def test_one_telegram_chat_written_twice_in_a_table_in_other_letter_cases_is_refused(project: Project) -> None:
    """``chat_ids`` refuses a chat listed twice, but compares @names as written: ``@AcmeStatus`` and
    ``@acmestatus`` (one chat: Telegram's names ignore case, as ``target_keys`` says) pass, and every update is
    posted into that chat twice."""
    with FakeTelegram(token=TOKEN, chats={"@acmestatus": "acme status"}) as fake:
        project.env["TG_TOKEN"] = TOKEN
        project.write_config(ENGINE + AUDIENCES + f"""
[channels.acme-tg]
type = "telegram"
audience = "acme"
token = "${{TG_TOKEN}}"
chat_ids = ["@AcmeStatus", "@acmestatus"]
api_url = "{fake.url}"
""")
        result = project.cli("post", "--yes", "--title", "API errors", "-C", "api", "Errors on the API.")
        sends = [r for r in fake.requests if r.path.endswith("/sendMessage")]
        assert result.exit_code == 2 and len(sends) == 0, (result.exit_code, len(sends))


def _slack_tables(fake_url: str, first: str, second: str) -> str:
    return "".join(f'\n[channels.{name}]\ntype = "slack"\n{line}\ntoken = "${{SLACK_TOKEN}}"\nchannel = "C0STATUS01"\n'
                   f'api_url = "{fake_url}"\n' for name, line in (("status-a", first), ("status-b", second)))


@pytest.mark.parametrize("first, second", [
    ("", ""),  # every update twice
    ('components = ["api"]', ""),  # the api's updates twice
    ('components = ["api", "db"]', 'components = ["db"]'),  # the database's twice
    # Review 18g: an update naming a component of each goes to both (``wants`` is any overlap), so tables of other
    # components on one chat are refused too; the first version took them and advised them.
    ('components = ["api"]', 'components = ["db"]'),
])
def test_one_chat_in_two_tables_is_refused(project: Project, first: str, second: str) -> None:
    project.env["SLACK_TOKEN"] = "xoxb-r18c"
    project.write_config(ENGINE + AUDIENCES + _slack_tables("http://127.0.0.1:9/api/", first, second))
    result = project.cli("preview", "--title", "API errors", "-C", "api", "Errors.")
    assert result.exit_code == 2, result.output
    assert "an update twice" in result.output and "status-a" in result.output


HOOK = "https://discord.com/api/webhooks/123456789012345678/" + "T" * 68


def test_one_discord_webhook_posting_into_two_threads_is_not_one_chat_getting_each_update_twice(
        project: Project) -> None:
    """Discord's target key is the webhook alone (right for visibilities: a thread's readers are the channel's),
    but a table with ``thread_id`` posts into that thread only. A forum channel with an "All incidents" thread and
    a "Database" thread, both fed by the forum's one webhook, is two places: each hears an update once. The first
    version of this check refused it (review 18e), saying that chat would get each update twice."""
    project.env["HOOK"] = HOOK
    project.write_config(ENGINE + AUDIENCES + """
[channels.discord-all]
type = "discord"
webhook_url = "${HOOK}"
thread_id = "900000000000000001"

[channels.discord-db]
type = "discord"
webhook_url = "${HOOK}"
thread_id = "900000000000000002"
components = ["db"]
""")
    result = project.cli("preview", "--title", "DB errors", "-C", "db", "Errors.")
    assert result.exit_code == 0, result.output


def test_one_discord_webhook_posting_twice_into_one_thread_is_refused(project: Project) -> None:
    project.env["HOOK"] = HOOK
    project.write_config(ENGINE + AUDIENCES + """
[channels.discord-all]
type = "discord"
webhook_url = "${HOOK}"
thread_id = "900000000000000001"

[channels.discord-api]
type = "discord"
webhook_url = "${HOOK}"
thread_id = "900000000000000001"
components = ["api"]
""")
    result = project.cli("preview", "--title", "API errors", "-C", "api", "Errors.")
    assert result.exit_code == 2 and "an update twice" in result.output, result.output


def test_one_webhook_receiver_told_apart_by_a_header_is_two_places(project: Project) -> None:
    """A receiver routing on a header (X-Tenant) takes two tables on one URL as two places: taken. The same
    headers on both would hand it each update twice: refused."""
    project.env["HOOK_SECRET"] = SECRET
    url = "https://hooks.example.com/status"
    one = hook_table("hook-a", 'visibility = "public"', url) + 'headers = { "X-Tenant" = "a" }\n'
    two = hook_table("hook-b", 'visibility = "public"', url) + 'headers = { "X-Tenant" = "b" }\n'
    project.write_config(ENGINE + AUDIENCES + one + two)
    assert project.cli("preview", "--title", "API errors", "-C", "api", "Errors.").exit_code == 0
    project.write_config(ENGINE + AUDIENCES + one + two.replace('"b"', '"a"'))
    refused = project.cli("preview", "--title", "API errors", "-C", "api", "Errors.")
    assert refused.exit_code == 2 and "an update twice" in refused.output, refused.output
