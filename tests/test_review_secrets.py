"""The review of secrets and terminal escapes (review-secrets.md, F1 to F6), through the real CLI and the fakes.

F1: credentials boto3 found by itself stay masked beside any other secret of the config, in every output and
in the store (a later ``show`` or ``store export`` cannot mask them: they must be clean when stored).
F2: ``--debug``'s traceback is made printable like the one-line error.
F3: a bot username from getMe that is not a Telegram username is refused, never printed raw nor put in a link.
F4: a secret webhook url made of short parts, or with a raw "+" in a query value, is masked where quoted.
F5: ``a/`` (customers' pages under their tokens) lists nothing: an ``index.html``, and 0711 on this machine.
F6: ``--json`` shows server-made ids with C1 controls and bidirectional overrides escaped.
F7: ``withdraw``'s preview (``--dry-run``, and what is read before confirming) shows the ids it deletes escaped.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.bot_helpers import AUDIENCES, TOKEN
from tests.conftest import ENGINE, Project
from tests.fakes.base import Fault, Response
from tests.fakes.matrix import FakeMatrix
from tests.fakes.s3 import PUBLISH_ENV, S3Fault, S3Server
from tests.fakes.telegram_bot import FakeTelegramBot
from tests.fakes.webhook import FakeReceiver
from tests.test_bot_run import bot_table
from tests.test_secrets_echo import ENGINE as QUICK_ENGINE
from tests.test_secrets_echo import bucket_table, leaks, profile_credentials

ESCAPES = ("\x1b", "\x07", "\x9b", "\u202e")


def raw_escapes(text: str) -> list[str]:
    """The terminal-driving characters ``text`` holds as they are (not shown escaped)."""
    return [c for c in ESCAPES if c in text]


# -- F1: S3 credentials from boto3's own chain, beside another secret ---------------------------------

KEY_ID, SECRET, SESSION = "ASIAFROMFILE0123456", "file-secret-Key-9f8e7d", "FwoGZXIvYXdzSessionTokenFromFileXYZ"
# Any other ${VAR} secret in the config: with one, the explicit secrets a caller passed used to replace the
# credentials only redaction knew of, instead of adding to them.
OTHER_SECRET = '\n[channels.hook]\ntype = "webhook"\nurl = "http://127.0.0.1:9/hook"\nsecret = "${HOOK_SECRET}"\n'


@pytest.fixture
def s3_from_profile(project: Project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[S3Server]:
    """An S3 gateway echoing the request's Authorization and X-Amz-Security-Token; the keys only in the
    shared credentials file (with a session token, as SSO and assumed roles have)."""
    profile_credentials(monkeypatch, tmp_path, KEY_ID, SECRET, SESSION)
    with S3Server() as s3:
        s3.create_bucket("status")
        s3.echo_credentials = True
        project.write_config(QUICK_ENGINE + bucket_table(s3.url) + OTHER_SECRET)  # no keys in [publish.bucket]
        project.env.update(HOOK_SECRET="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        yield s3


def test_s3_credentials_boto3_found_itself_are_masked_beside_other_secrets_everywhere(
    project: Project, s3_from_profile: S3Server
) -> None:
    s3_from_profile.fail(S3Fault(status=400, code="InvalidArgument", times=200))
    posted = project.cli("post", "--yes", "--json", "--title", "API errors", "Elevated errors.")
    assert posted.exit_code == 3, posted.stderr
    bucket = next(d for d in json.loads(posted.stdout)["deliveries"] if d["destination"] == "bucket")
    # The echo reached the stored error (so a layer that let it through would show here), masked.
    assert "InvalidArgument" in bucket["error"] and "***" in bucket["error"], bucket
    incident = json.loads(posted.stdout)["incident_id"]
    shown = {"post --json": posted.stdout + posted.stderr}
    # Each its own command, as a later process: only what was stored clean can be shown clean.
    for name, args in {"site publish": ("site", "publish"), "show": ("show", incident),
                       "show --json": ("show", "--json", incident), "store export": ("store", "export"),
                       "retry --json": ("retry", "--json"), "channels check": ("channels", "check")}.items():
        result = project.cli(*args)
        shown[name] = result.stdout + result.stderr
    state = b"".join(p.read_bytes() for p in (project.root / ".broadcaster").glob("state.db*"))
    shown["state file"] = state.decode("utf-8", errors="replace")
    found = {name: leaks(text, (KEY_ID, SECRET, SESSION)) for name, text in shown.items()}
    assert not any(found.values()), found
    assert "***" in shown["site publish"] and "***" in shown["store export"]


# -- F2: --debug's traceback -----------------------------------------------------------------------------

HOSTILE = "Bad Request: \x1b]0;pwned\x07\x1b]52;c;cm0gLXJmIH4=\x07 done"


@pytest.fixture
def bot_api(project: Project) -> Iterator[FakeTelegramBot]:
    """The bot's Bot API (``[bot]`` without ``username``: ``subscribers invite`` asks getMe)."""
    with FakeTelegramBot(token=TOKEN) as fake:
        project.write_config(AUDIENCES + bot_table(fake))
        project.env["BOT_TOKEN"] = TOKEN
        yield fake


def test_the_debug_traceback_shows_a_servers_escape_sequences_escaped(
    project: Project, bot_api: FakeTelegramBot
) -> None:
    """The traceback prints the chained library error, whose message is the server's text as it came."""
    refusal = {"ok": False, "error_code": 400, "description": HOSTILE}
    bot_api.fail(*[Fault(match="getMe", response=Response(400, refusal)) for _ in range(5)])
    result = project.cli("--debug", "subscribers", "invite")
    shown = result.stdout + result.stderr
    assert result.exit_code == 2 and "Traceback" in shown, shown
    assert not raw_escapes(shown), [line for line in shown.splitlines() if "pwned" in line]
    assert "\\x1b]0;pwned\\x07" in shown  # shown, escaped, in the traceback and the message


# -- F3: the bot's username from getMe -------------------------------------------------------------------

EVIL_NAME = "statusbot\x1b]0;pwned\x07\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2K"


def hostile_get_me(fake: FakeTelegramBot) -> None:
    me = {"id": int(TOKEN.split(":")[0]), "is_bot": True, "first_name": "Status", "username": EVIL_NAME}
    fake.fail(*[Fault(match="getMe", response=Response(200, {"ok": True, "result": me})) for _ in range(20)])


def test_bot_run_refuses_a_username_that_is_not_one_and_prints_it_escaped(
    project: Project, bot_api: FakeTelegramBot
) -> None:
    """Its "@name is answering chats" line goes to standard error, the systemd journal."""
    hostile_get_me(bot_api)
    process = project.process("bot", "run")
    try:
        _, err = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:  # it started under that name
        process.kill()
        _, err = process.communicate()
        raise AssertionError(f"the bot started: {err!r}") from None
    assert process.returncode == 1, err
    assert not raw_escapes(err), repr(err)
    assert "is not a Telegram username" in err and "api_url" in err and "is answering chats" not in err, err
    assert not bot_api.received("/getUpdates")


def test_subscribers_invite_puts_no_invalid_username_in_a_link(project: Project, bot_api: FakeTelegramBot) -> None:
    hostile_get_me(bot_api)
    result = project.cli("subscribers", "invite")
    shown = result.stdout + result.stderr
    assert result.exit_code == 2, shown
    assert not raw_escapes(shown), repr(shown)
    assert "t.me/" not in shown and "is not a Telegram username" in shown and "Nothing was stored" in shown, shown


# -- F4: a secret webhook url's short parts, and raw query values ----------------------------------------

WEBHOOK = """
[engine]
timeout = 3
deadline = 20
max_attempts = 1

[channels.zap]
type = "webhook"
url = "${HOOK_URL}"
secret = "${HOOK_SECRET}"
"""


def refused_webhook(project: Project, url: str, said: str) -> str:
    """Post to a receiver at ``url`` (a ${VAR}) that refuses, quoting ``said``: everything then shown."""
    with FakeReceiver() as fake:
        project.write_config(WEBHOOK)
        project.env.update(HOOK_URL=fake.url + url, HOOK_SECRET="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        fake.fail(*[Fault(response=Response(404, said, content_type="text/html")) for _ in range(5)])
        posted = project.cli("post", "--yes", "--json", "--title", "API errors", "Elevated errors.")
        assert posted.exit_code == 3, posted.stderr
        error = next(d for d in json.loads(posted.stdout)["deliveries"] if d["destination"] == "zap")["error"]
        assert "refused" in error and "***" in error, error  # the receiver's words reached the message, masked
        check = project.cli("channels", "check")
    exported = project.cli("store", "export").stdout
    state = b"".join(p.read_bytes() for p in (project.root / ".broadcaster").glob("state.db*"))
    return posted.stdout + posted.stderr + check.stdout + check.stderr + exported + state.decode(errors="replace")


def test_a_secret_webhook_urls_path_of_short_parts_is_masked(project: Project) -> None:
    """Zapier's catch hooks: a numeric account id and a 7-character hook id, each too short to look like a
    token alone; with the public host name, the path is the whole capability."""
    path = "/hooks/catch/1234567/o6u3ylk/"
    shown = refused_webhook(project, path, f"<pre>Cannot POST {path}</pre>")
    assert "o6u3ylk" not in shown and "1234567" not in shown, [x for x in shown.splitlines() if "o6u3ylk" in x][:2]
    assert "Cannot POST /***/" in shown


def test_a_raw_plus_in_a_secret_webhook_urls_query_is_masked_as_sent(project: Project) -> None:
    """A base64 key with "+": the receiver quotes it as it arrived, not as a decoder turns "+" into a space."""
    key = "Zm9vYmFy+YmF6/cXV4QUxMb3dlcg=="
    shown = refused_webhook(project, f"/in?key={key}&v=2", f"unknown key: '{key}'")
    assert key not in shown and "Zm9vYmFy" not in shown, [x for x in shown.splitlines() if "Zm9v" in x][:2]
    assert "unknown key: '***'" in shown


# -- F5: a/ lists no customer's token ----------------------------------------------------------------------

FEED_TOKEN = "tok_0123456789abcdefABCDEF"
CUSTOMER = '\n[audiences.acme]\nname = "Acme Corp"\ncomponents = ["api"]\nfeed_token = "${ACME_FEED_TOKEN}"\n'


class _QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def listing_of(folder: Path, path: str) -> str:
    """What a static server that lists folders (python's, as Apache's "Options Indexes") answers for ``path``."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietFiles, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}{path}", timeout=10) as answer:
            return str(answer.read().decode())
    finally:
        server.shutdown()
        server.server_close()


def test_the_customers_folder_lists_no_token_on_the_site_a_directory_target_or_a_bucket(project: Project) -> None:
    with S3Server() as s3:
        s3.create_bucket("status")
        project.write_config(CUSTOMER + '\n[publish.mirror]\ntype = "directory"\npath = "mirror"\n'
                             + s3.publish_toml("status"))
        project.env.update(PUBLISH_ENV, ACME_FEED_TOKEN=FEED_TOKEN)
        old = os.umask(0o022)  # a/ must be 0711 whatever the umask would make of it
        try:
            posted = project.cli("post", "--yes", "--title", "API errors", "-C", "api", "--customer", "acme",
                                 "--for", "acme", "Your circuit is rerouted.", "Errors.")
        finally:
            os.umask(old)
        assert posted.exit_code == 0, posted.stdout + posted.stderr
        bucket = s3.objects("status")
        assert s3.body("status", "a/index.html") == (project.site / "a" / "index.html").read_bytes()
        assert f"a/{FEED_TOKEN}/index.html" in bucket
        manifest = s3.body("status", ".broadcaster-manifest.json").decode()
        assert FEED_TOKEN not in manifest and "a/index.html" not in manifest  # the manifest names nothing of a/
        republished = project.cli("site", "publish")
        assert republished.exit_code == 0, republished.stdout + republished.stderr
        assert "a/index.html" in s3.objects("status")  # a customer page like the others: listed, kept
    for site in (project.site, project.root / "mirror"):
        customers = site / "a"
        assert stat.S_IMODE(customers.stat().st_mode) == 0o711, (site, oct(customers.stat().st_mode))
        assert stat.S_IMODE((customers / FEED_TOKEN).stat().st_mode) == 0o755  # the page stays readable
        index = (customers / "index.html").read_text(encoding="utf-8")
        assert FEED_TOKEN not in index and 'content="noindex"' in index
        assert FEED_TOKEN not in listing_of(site, "/a/")
        assert "Acme Corp" in listing_of(site, f"/a/{FEED_TOKEN}/")  # the page itself is served
    # A target published before a/ was closed (its files all the same) is closed by the next publish.
    (project.root / "mirror" / "a").chmod(0o755)
    project.write_config(CUSTOMER + '\n[publish.mirror]\ntype = "directory"\npath = "mirror"\n')
    assert project.cli("site", "publish").exit_code == 0
    assert stat.S_IMODE((project.root / "mirror" / "a").stat().st_mode) == 0o711


def test_the_customers_folder_goes_with_the_last_customer(project: Project) -> None:
    project.write_config(CUSTOMER + '\n[publish.mirror]\ntype = "directory"\npath = "mirror"\n')
    project.env["ACME_FEED_TOKEN"] = FEED_TOKEN
    assert project.cli("post", "--yes", "--title", "API errors", "-C", "api", "Errors.").exit_code == 0
    project.write_config('\n[publish.mirror]\ntype = "directory"\npath = "mirror"\n')
    assert project.cli("site", "build").exit_code == 0
    assert project.cli("site", "publish").exit_code == 0
    for site in (project.site, project.root / "mirror"):
        assert not (site / "a").exists(), sorted(p.name for p in (site / "a").iterdir())


# -- F6: --json and what a server made up --------------------------------------------------------------------


def test_json_shows_a_servers_c1_controls_and_bidi_overrides_escaped(project: Project) -> None:
    """``json.dumps`` escapes C0 only: a C1 CSI (U+009B) clears or colours, an override reorders the line."""
    with FakeMatrix(token="syt_escape_test_77", rooms=["!ops:example.org"]) as matrix:
        project.env["MATRIX_TOKEN"] = "syt_escape_test_77"
        project.write_config(ENGINE + f'\n[channels.ops]\ntype = "matrix"\nvisibility = "internal"\n'
                             f'homeserver = "{matrix.url}"\naccess_token = "${{MATRIX_TOKEN}}"\n'
                             'room_id = "!ops:example.org"\n')
        matrix.fail(Fault(match="/send/", response=Response(200, {"event_id": "$ev\u009b2J\u009b31mSENT\u202edeliated"})))
        posted = project.cli("post", "--yes", "--json", "--title", "API errors", "Errors.")
        incident = json.loads(posted.stdout)["incident_id"]
        shown = project.cli("show", "--json", incident)
    for result in (posted, shown):
        assert result.exit_code == 0, result.stderr
        assert not raw_escapes(result.stdout), [hex(ord(c)) for c in raw_escapes(result.stdout)]
    sent = next(d for d in json.loads(posted.stdout)["deliveries"] if d["destination"] == "ops")
    stored = next(d for d in json.loads(shown.stdout)["deliveries"] if d["destination"] == "ops")
    assert sent["remote_id"].endswith("$ev\\x9b2J\\x9b31mSENT\\u202edeliated"), sent
    assert stored["remote_id"] == sent["remote_id"]


# -- F7: withdraw's preview -------------------------------------------------------------------------------


def test_withdraws_preview_shows_the_ids_it_deletes_escaped(project: Project) -> None:
    """The ids are a server's, as stored: rich's markup escaping leaves ESC sequences to the terminal."""
    evil = "$ev\x1b]0;pwned\x07\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J"
    with FakeMatrix(token="syt_escape_test_77", rooms=["!ops:example.org"]) as matrix:
        project.env["MATRIX_TOKEN"] = "syt_escape_test_77"
        project.write_config(ENGINE + f'\n[channels.ops]\ntype = "matrix"\nvisibility = "public"\n'
                             f'homeserver = "{matrix.url}"\naccess_token = "${{MATRIX_TOKEN}}"\n'
                             'room_id = "!ops:example.org"\n')
        matrix.fail(Fault(match="/send/", response=Response(200, {"event_id": evil})))
        posted = project.cli("post", "--yes", "--json", "--title", "API errors", "Errors.")
        incident = json.loads(posted.stdout)["incident_id"]
        dry = project.cli("withdraw", "--dry-run", incident)
    shown = dry.stdout + dry.stderr
    assert dry.exit_code == 0, shown
    assert not raw_escapes(shown), repr(shown)
    # Review 51a: the id is stored escaped, which `store import` takes back, and names no post: withdraw leaves the
    # post to the operator, saying so (it was "deletes its 1 post(s) there" while the store's own export was refused).
    assert "not deleted" in shown and "still up" in shown and "$ev\\x1b]0;pwned" in shown, shown


@pytest.mark.parametrize("command", ["/start", "/START", "/Start", ""], ids=["start", "upper", "title", "bare"])
def test_an_invite_code_sent_in_any_form_stays_out_of_the_debug_log(project: Project, command: str) -> None:
    """F8: `bot run --debug` masked "/start CODE" alone; the bot takes "/START CODE" too (python-telegram-bot
    matches commands in any case), and that code, or one pasted bare, was logged in clear: an invite that
    may grant internal visibility, reusable unless --uses was given."""
    from broadcaster.messages.model import Visibility

    from broadcaster import config_loader, subscribers
    from broadcaster.store import open_store, store_location
    from tests.test_bot_run import ANN, started, stopped

    with FakeTelegramBot(token=TOKEN) as fake:
        project.write_config(AUDIENCES + bot_table(fake))
        project.env["BOT_TOKEN"] = TOKEN
        store = open_store(store_location(config_loader.load(str(project.config)), None))
        try:
            code, _ = subscribers.create_invite(store, Visibility.parse("internal"))
        finally:
            store.close()
        process = project.process("--debug", "bot", "run")
        started(fake, process)
        fake.say(ANN, f"{command} {code}".strip())
        assert fake.wait_for(lambda: len(fake.texts(ANN)) == 1, 20)
        _, out, err = stopped(process)
    assert "***" in err and code not in out + err
