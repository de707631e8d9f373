"""What a server says never drives the operator's terminal.

Found by a review: Telegram's ``description`` (or any server's error text) holding escape sequences was
printed raw by ``post``'s progress and summary, ``channels check`` and ``show`` (the stored error): it
could clear the screen, rewrite the line above (a failed delivery shown as sent), set the window title
or write the clipboard (OSC 52). Each control character is now shown as its escape; and a Matrix
``room_id`` holding one is refused when the config is read.
"""

from __future__ import annotations

import json

import pytest

from broadcaster import subscribers
from broadcaster.subscribers import ChatKind
from tests.conftest import ENGINE, Project
from tests.fakes.base import Fault, Response
from tests.fakes.telegram import FakeTelegram
from tests.fakes.world import FakeWorld
from tests.matrix_helpers import matrix_room
from tests.test_subscribers import PUBLIC_CHAT, bot_project, fake, store_of  # noqa: F401 - its fixtures

HOSTILE = "Bad Request: \x1b[2J\x1b[1A\x1b[2K\x1b]0;pwned\x07\x1b]52;c;cm0gLXJmIH4=\x07\u202eneves\x9b31m done"


def refusing(description: str) -> Response:
    return Response(400, {"ok": False, "error_code": 400, "description": description})


def test_a_servers_escape_sequences_reach_no_output(project: Project, world: FakeWorld) -> None:
    project.write_config(ENGINE + world.channels_toml())
    world.telegram.fail(*[Fault(match="sendMessage", response=refusing(HOSTILE)) for _ in range(6)])
    posted = project.cli("post", "--yes", "--title", "API errors", "-C", "api", "Elevated errors.")
    assert posted.exit_code == 3, posted.stderr
    incident = project.cli("list", "--json")
    incident_id = json.loads(incident.stdout)[0]["id"]
    world.telegram.fail(*[Fault(match="getMe", response=refusing(HOSTILE)) for _ in range(4)])
    outputs = {
        "post": posted,
        "show": project.cli("show", incident_id),
        "retry": project.cli("retry"),
        "channels check": project.cli("channels", "check"),
    }
    for name, result in outputs.items():
        text = result.stdout + result.stderr
        assert not {"\x1b", "\x07", "\x9b", "\u202e"} & set(text), f"{name}: {text!r}"
    # Shown escaped (python-telegram-bot lower-cases a description): the operator sees what the server sent.
    assert "\\x1b[2j" in (posted.stdout + posted.stderr).lower()


def test_printable_keeps_line_ends_tabs_and_every_language() -> None:
    from broadcaster.errors import printable

    text = "Zeile 1\n\tnächste: 故障 🚨 ok"
    assert printable(text) == text
    assert printable("a\rb\x00c\x7f") == "a\\rb\\x00c\\x7f"


# As TOML writes them: the escapes are the config's, not Python's.
@pytest.mark.parametrize("room", ["!abc\\u001b[2J:example.org", "!abc\\u009b2J:example.org"])
def test_a_matrix_room_id_holding_a_control_character_is_refused(project: Project, room: str) -> None:
    project.write_config(ENGINE + f"""
[channels.ops]
type = "matrix"
visibility = "internal"
homeserver = "https://matrix.example.org"
access_token = "${{MATRIX_TOKEN}}"
room_id = "{room}"
""")
    project.env["MATRIX_TOKEN"] = "syt_room_test_secret"
    result = project.cli("channels", "check")
    assert result.exit_code == 2, result.stdout + result.stderr
    assert "\x1b" not in result.stdout + result.stderr and "room_id" in result.stderr


def test_a_blocked_subscribers_reason_is_listed_escaped(bot_project: Project, fake: FakeTelegram) -> None:  # noqa: F811
    """Found by the fix review: the reason a chat was dropped is the library's own error, which the first
    fix never saw, and `subscribers list` printed it raw (a window title, the clipboard)."""
    subscribers.subscribe(store_of(bot_project), PUBLIC_CHAT, ChatKind.PRIVATE)
    blocked = refusing("Forbidden: bot was blocked by the user " + HOSTILE)
    fake.fail(*[Fault(match="sendMessage", response=Response(403, blocked.body)) for _ in range(3)])
    assert bot_project.cli("post", "--yes", "--title", "API errors", "Errors on the API.").exit_code == 3
    listed = bot_project.cli("subscribers", "list")
    assert "inactive" in listed.output and "\\x1b" in listed.output
    assert not {"\x1b", "\x07", "\x9b", "\u202e"} & set(listed.output), listed.output


def test_every_log_record_is_escaped_for_the_terminal() -> None:
    import logging

    from broadcaster.redaction import RedactingFilter

    record = logging.LogRecord("telegram", logging.WARNING, __file__, 1, "answer: %s", (HOSTILE,), None)
    RedactingFilter([]).filter(record)
    assert not {"\x1b", "\x07", "\x9b", "\u202e"} & set(record.getMessage()) and "\\x1b]0;pwned" in record.getMessage()


def test_a_post_id_a_server_made_up_is_shown_escaped(project: Project) -> None:
    """Found by the fix review: `show` printed a remote id as the server gave it (Matrix's event_id)."""
    with matrix_room(project, "syt_escape_test_77") as matrix:
        matrix.fail(Fault(match="/send/", response=Response(200, {"event_id": "$ev\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J"})))
        posted = project.cli("post", "--yes", "--json", "--title", "API errors", "Errors.")
        incident = json.loads(posted.stdout)["incident_id"]
        shown = project.cli("show", incident)
    assert "\\x1b[2J" in shown.stdout
    assert not {"\x1b", "\x07"} & set(shown.stdout + shown.stderr), shown.stdout


def test_the_configs_templates_are_listed_escaped(project: Project) -> None:
    """Left alone last session: `templates` printed a template's name and title raw, so an escape sequence in the
    config (a title pasted from somewhere) set the terminal's title or rewrote the screen."""
    project.write_config('[templates.db]\ntitle = "DB \\u001b]0;pwned\\u0007 {region} down"\n'
                         'message = "m"\n[templates."a\\u001b[31mb"]\ntitle = "t"\nmessage = "m"\n')
    listed = project.cli("templates")
    assert listed.exit_code == 0, listed.output
    assert "\x1b" not in listed.output and "\x07" not in listed.output
    assert "db: DB \\x1b]0;pwned\\x07" in listed.output and "a\\x1b[31mb: t" in listed.output
