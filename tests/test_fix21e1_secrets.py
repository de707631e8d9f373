"""Review 21e, findings 1-5 and 8 (secrets): a credential written into a webhook header, the store URL given whole
as ``${VAR}``, a Discord token or Teams sig in a URL written another way, a token split across lines, a proxy key
stored by an earlier version, and URL options refused with their credentials quoted. Through the real CLI."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from broadcaster import redaction
from broadcaster.cli import output
from broadcaster.delivery import DeliveryState
from broadcaster.store import Delivery
from tests.conftest import Project

ENGINE = "\n[engine]\ntimeout = 5\ndeadline = 20\nmax_attempts = 1\n"


def _published(project: Project) -> str:
    return "".join(p.read_text(encoding="utf-8", errors="replace") for p in project.site.rglob("*") if p.is_file())


# -- 1. a webhook header holding a credential written in the file -----------------------------------------------------

BEARER = "sk_live_Fx21e1HookKey0123456789"


def _hook_table(url: str, headers: str) -> str:
    return ENGINE + f"""
[channels.ops]
type = "webhook"
visibility = "internal"
url = "{url}"
secret = "${{HOOK_SECRET}}"
headers = {headers}
"""


@pytest.mark.parametrize(("headers", "named"), [
    (f'{{ "Authorization" = "Bearer {BEARER}" }}', "Authorization"),
    (f'{{ "X-Api-Key" = "{BEARER}" }}', "X-Api-Key"),
    (f'{{ "Cookie" = "session={BEARER}" }}', "Cookie"),
    (f'{{ "X-Forwarded-Auth" = "Basic {BEARER}" }}', "X-Forwarded-Auth"),
    (f'{{ "X-Upstream" = "Bearer {BEARER}" }}', "X-Upstream"),  # a credential by its value, whatever the name
], ids=["authorization", "api-key", "cookie", "auth-in-name", "bearer-value"])
def test_a_credential_header_written_in_the_file_is_refused_without_being_quoted(
        project: Project, headers: str, named: str) -> None:
    """Like every other credential written in the file (``registry._refuse_written_secrets``): refused as the
    config is read, saying to write it as ``${VAR}``, the value never quoted, nothing stored or sent."""
    from tests.fakes.webhook import SECRET, FakeReceiver

    with FakeReceiver() as hook:
        project.env["HOOK_SECRET"] = SECRET
        project.write_config(_hook_table(hook.hook_url, headers))
        result = project.cli("post", "--yes", "--title", "API errors", "-C", "api", "Errors.")
        assert hook.requests == []
    assert result.exit_code == 2, result.output
    assert f"headers.{named}: holds a credential written in the file" in result.output, result.output
    assert "${MY_VAR}" in result.output and BEARER not in result.output
    assert not (project.root / ".broadcaster" / "state.db").exists()  # nothing stored


def test_an_authorization_header_written_in_the_file_is_never_printed_or_stored(project: Project) -> None:
    """The review's case: a receiver quoting the request's Authorization in its 4xx answer. The key is in no
    output, stored error, ``show`` or ``store export``."""
    from tests.fakes.webhook import SECRET, FakeReceiver

    hook = FakeReceiver().start()
    hook.echo_credentials, hook.answer = True, 400
    try:
        project.env["HOOK_SECRET"] = SECRET
        project.write_config(_hook_table(hook.hook_url, f'{{ "Authorization" = "Bearer {BEARER}" }}'))
        posted = project.cli("post", "--yes", "--title", "API errors", "-C", "api", "Errors.")
    finally:
        hook.stop()
    texts = [posted.output]
    if (project.root / ".broadcaster" / "state.db").exists():
        incident = json.loads(project.cli("list", "--json").stdout)[0]["id"]
        texts += [project.cli("show", incident).output, project.cli("store", "export").output]
        with sqlite3.connect(project.root / ".broadcaster" / "state.db") as db:
            texts += [str(row) for row in db.execute("SELECT last_error FROM deliveries")]
    assert not [t for t in texts if BEARER.lower() in t.lower()]


def test_a_header_from_a_variable_and_a_plain_header_written_in_the_file_are_taken(project: Project) -> None:
    """The control: the README's own example (``"X-Tenant" = "acme"``, ``"Authorization" = "${HOOK_AUTH}"``)."""
    from tests.fakes.webhook import SECRET, FakeReceiver

    with FakeReceiver() as hook:
        project.env.update({"HOOK_SECRET": SECRET, "HOOK_AUTH": f"Bearer {BEARER}"})
        project.write_config(_hook_table(hook.hook_url, '{ "X-Tenant" = "acme", "Authorization" = "${HOOK_AUTH}" }'))
        result = project.cli("post", "--yes", "--title", "API errors", "-C", "api", "Errors.")
        assert result.exit_code == 0, result.output
        assert hook.requests[0].headers["authorization"] == f"Bearer {BEARER}"
        assert hook.requests[0].headers["x-tenant"] == "acme"


# -- 2. [store] url = "${STORE_URL}" ----------------------------------------------------------------------------------

STORE_PASSWORD = "Fx21e1TeamDbPassw0rd"
STORE_URL = f"postgresql://status:{STORE_PASSWORD}@db.internal.example:5432/status"


@pytest.mark.parametrize("text", [f"The status DB ({STORE_URL}) is unreachable.",
                                  f"Reset the DB password, it was {STORE_PASSWORD}."], ids=["url", "password"])
def test_a_store_url_given_whole_as_a_variable_is_a_secret_the_message_may_not_hold(project: Project, text: str) -> None:
    project.write_config(ENGINE + '\n[store]\nurl = "${STORE_URL}"\n')
    project.env["STORE_URL"] = STORE_URL
    result = project.cli("--store", str(project.root / "fallback.db"), "post", "--yes", "--title", "Status DB down",
                         "-C", "api", text)
    assert STORE_PASSWORD not in _published(project)
    assert result.exit_code == 2 and "[store] url (${STORE_URL}), a configured secret" in result.output, result.output
    assert STORE_PASSWORD not in result.output


def test_a_store_url_password_in_its_query_is_a_secret_too(project: Project) -> None:
    """libpq takes the password in the query as well (``?password=``, and ``sslpassword=`` for a client key)."""
    project.write_config(ENGINE + '\n[store]\nurl = "${STORE_URL}"\n')
    project.env["STORE_URL"] = f"postgresql://status@db.internal.example/status?sslpassword={STORE_PASSWORD}"
    result = project.cli("--store", str(project.root / "fallback.db"), "post", "--yes", "--title", "Status DB down",
                         "-C", "api", f"The key passphrase is {STORE_PASSWORD}.")
    assert result.exit_code == 2 and "configured secret" in result.output, result.output


# -- 3. a Discord webhook's token or a Teams flow's sig in a URL written another way ----------------------------------


def test_a_discord_webhook_token_in_an_update_is_refused_however_the_url_around_it_is_written(project: Project) -> None:
    from tests.fakes.discord import FakeDiscord

    with FakeDiscord() as fake:
        project.env["DISCORD_URL"] = fake.webhook_url
        project.write_config(ENGINE + f"""
[channels.ops]
type = "discord"
visibility = "internal"
webhook_url = "${{DISCORD_URL}}"
api_url = "{fake.api_url}"
""")
        path = fake.webhook_url.split("/api/", 1)[1]  # webhooks/<id>/<token>
        result = project.cli("post", "--yes", "--title", "Alert relay down", "-C", "api",
                             f"Alerts to Discord fail: https://canary.discord.com/api/{path} answers 500.")
    assert fake.token not in _published(project)
    assert result.exit_code == 2 and "channels.ops.webhook_url (${DISCORD_URL})" in result.output, result.output


def test_a_teams_signature_in_an_update_is_refused_with_the_default_port_written(project: Project) -> None:
    from tests.fakes.teams import FakeTeams

    with FakeTeams() as fake:
        project.env["TEAMS_URL"] = fake.webhook_url.replace(":443/", "/", 1)  # as Teams' "Copy URL" gives it
        project.write_config(ENGINE + f"""
[channels.ops]
type = "teams"
visibility = "internal"
webhook_url = "${{TEAMS_URL}}"
api_url = "{fake.url}"
""")
        assert ":443/" in fake.webhook_url
        result = project.cli("post", "--yes", "--skip", "ops", "--title", "Teams alerts down", "-C", "api",
                             f"Our Teams flow {fake.webhook_url} is failing.")
    assert fake.sig not in _published(project)
    assert result.exit_code == 2 and "configured secret" in result.output, result.output


HOOK_KEY = "Zq8xYh2kLmN3pQ4rS5tU6vW7"


@pytest.mark.parametrize(("hook_url", "text", "refused"), [
    (f"https://hooks.example.com/in/{HOOK_KEY}", f"Our receiver http://hooks.example.com:80/in/{HOOK_KEY} is down.",
     True),
    (f"https://hooks.example.com/in?key={HOOK_KEY}&v=2", f"Hooks with key {HOOK_KEY} fail.", True),
    # Shorter parts and the path as a whole are masked in a receiver's answer, but an update may name them.
    ("https://hooks.example.com/api/v1/Webhooks", "POST /api/v1/Webhooks fails; Webhooks are delayed.", False),
], ids=["path-key", "query-key", "words"])
def test_a_key_in_a_webhook_url_is_refused_in_an_update_however_the_url_is_written(
        project: Project, hook_url: str, text: str, refused: bool) -> None:
    from tests.fakes.webhook import SECRET

    project.env.update({"HOOK_SECRET": SECRET, "HOOK_URL": hook_url})
    project.write_config(ENGINE + '''
[channels.ops]
type = "webhook"
visibility = "internal"
url = "${HOOK_URL}"
secret = "${HOOK_SECRET}"
''')
    result = project.cli("preview", "--title", "Hooks", "-C", "api", text)
    assert (result.exit_code == 2 and "channels.ops.url (${HOOK_URL}), a configured secret" in result.output) == refused, (
        result.output)
    assert result.exit_code == (2 if refused else 0), result.output


def test_a_url_secret_is_masked_with_its_default_port_written_out_too() -> None:
    """``forms`` knew the port-less form of a URL configured with ":443"; now the other way round too."""
    configured = "https://flows.example/workflows/1/invoke?sig=Fx21e1SignatureValue0123"
    masked = redaction.redact("POST https://flows.example:443/workflows/1/invoke?sig=Fx21e1SignatureValue0123 failed",
                              [configured])
    assert masked == "POST *** failed"


# -- 4. a token split across lines ----------------------------------------------------------------------------------


@pytest.mark.parametrize("joint", ["\n", "\r\n", " ", "\n  "], ids=["newline", "crlf", "space", "indented"])
def test_a_channel_token_split_across_lines_is_refused_in_a_staff_update_too(project: Project, world: Any,
                                                                           joint: str) -> None:
    from tests.fakes.world import OPS_CHATS, SLACK_TOKEN

    half = len(SLACK_TOKEN) // 2
    split = SLACK_TOKEN[:half] + joint + SLACK_TOKEN[half:]
    result = project.cli("post", "--yes", "--only", "tg-ops", "--title", "Slack app", "-C", "api",
                         f"Rotating the Slack bot token\n{split}\nafter it showed up in a build log.")
    sent = [m.text for chat in OPS_CHATS for m in world.telegram_messages(chat)]
    assert not [t for t in sent if SLACK_TOKEN[half:] in t], sent
    assert result.exit_code == 2 and "configured secret" in result.output, result.output


def test_a_short_secret_is_not_looked_for_across_white_space() -> None:
    """The control: a secret under ``JOINED_FROM`` characters may be words run together ("post gres" in prose is
    not the password "postgres"); a long one split anywhere is held."""
    short, long = ("a password", "postgresmain"), ("a token", "xoxb-Fx21e1-0123456789abcdef")
    assert redaction.held_secret("the post gres main server is down", [short]) is None
    assert redaction.held_secret("token xoxb-Fx21e1-01234\n56789abcdef", [short, long]) == "a token"


# -- 5. a proxy key stored by an earlier version ----------------------------------------------------------------------

OLD_LONE_USER = "PxFx21e1OldLoneUser0123"
OLD_ERROR = (f"Slack chat.postMessage failed: could not connect to https://slack.com/api/ through the proxy "
             f"http://{OLD_LONE_USER}@proxy.internal:3128/ (Tunnel connection failed: 407)")


def test_a_user_alone_stored_before_the_fix_is_masked_by_show_and_store_export_too(project: Project,
                                                                                   world: Any) -> None:
    assert project.cli("post", "--yes", "--title", "API errors", "-C", "api", "Errors.").exit_code == 0
    with sqlite3.connect(project.root / ".broadcaster" / "state.db") as db:  # as an earlier version stored it
        db.execute("UPDATE deliveries SET state = 'failed', last_error = ? WHERE destination = 'slack-acme'",
                   (OLD_ERROR,))
    incident = json.loads(project.cli("list", "--json").stdout)[0]["id"]
    shown = project.cli("show", incident).output
    exported = project.cli("store", "export").output
    assert OLD_LONE_USER not in shown and "http://***@proxy.internal:3128/" in " ".join(shown.split())
    assert OLD_LONE_USER not in exported and "http://***@proxy.internal:3128/" in exported


def _stored(error: str) -> Delivery:
    now = datetime(2026, 12, 5, tzinfo=UTC)
    return Delivery(id=1, incident_id="2026-12-05-api", sequence=1, destination="slack-acme", target="#status",
                    visibility="public", state=DeliveryState.UNKNOWN, remote_id=None, thread_ref=None, attempts=1,
                    last_error=error, claimed_by=None, claimed_at=None, created_at=now, updated_at=now, sent_at=None)


def test_the_lines_of_a_withdrawal_mask_a_user_alone_stored_before_the_fix() -> None:
    """``unknown_line`` of a withdrawn incident and the "left up" lines of a withdrawal print the stored error as
    ``show`` does."""
    delivery = _stored(OLD_ERROR)
    unknown = output.unknown_line(delivery, withdrawn=True).plain
    left = output._withdraw_left_alone(cast(Any, type("Result", (), {"previews": []})()), [delivery], {})
    for line in (unknown, left[-1]):
        assert OLD_LONE_USER not in line and "http://***@proxy.internal:3128/" in line, line


# -- 8. a URL option refused with its credentials quoted ---------------------------------------------------------------

WRITTEN_PASSWORD = "Fx21e1WrittenPassw0rd"


@pytest.mark.parametrize("table", [
    f'type = "matrix"\nhomeserver = "https://ops:{WRITTEN_PASSWORD}@matrix.example.org"\naccess_token = "${{T}}"\n'
    'room_id = "!ops:example.org"\nvisibility = "internal"',
    f'type = "mastodon"\ninstance_url = "https://ops:{WRITTEN_PASSWORD}@mastodon.example"\naccess_token = "${{T}}"',
    f'type = "bluesky"\nhandle = "acme.bsky.social"\napp_password = "${{T}}"\n'
    f'service = "https://ops:{WRITTEN_PASSWORD}@pds.example"',
    f'type = "mastodon"\ninstance_url = "https://mastodon.example/?token={WRITTEN_PASSWORD}"\naccess_token = "${{T}}"',
], ids=["matrix-homeserver", "mastodon-instance_url", "bluesky-service", "query"])
def test_a_url_refused_for_its_credentials_is_not_quoted_with_them(project: Project, table: str) -> None:
    project.env["T"] = "tok-Fx21e1-abcdefghijklmnop"
    project.write_config(f"\n[channels.ops]\n{table}\n")
    result = project.cli("list")
    assert result.exit_code == 2, result.output
    assert WRITTEN_PASSWORD not in result.output and "***" in result.output, result.output
