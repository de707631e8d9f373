"""No credential leaves the process, even when a server echoes it back.

Every fake here runs in ``echo_credentials`` mode: each error answer repeats
the credentials the request carried (Telegram's token in the path, Slack's and
X's Authorization header, S3's SigV4 header), verbatim, URL-quoted and in
other letter cases, as a misconfigured proxy or a self-hosted Bot API does.
python-telegram-bot then capitalises a 400's description (lower-casing the
token) and logs a non-JSON 500 body with a traceback. Whatever happens, no
form of a secret may reach stdout, stderr (with or without ``--debug``),
``show``, ``channels check``, ``store export``, ``--json`` or the state file.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from broadcaster.redaction import redact
from tests.conftest import Project
from tests.fakes.base import FakeServer, Fault, Request, Response, echo_of
from tests.fakes.s3 import S3Fault, S3Server
from tests.fakes.twitter import FakeX
from tests.fakes.world import SECRETS, TG_TOKEN, FakeWorld
from tests.ports import free_port

CONSUMER_KEY = "ck-ConsumerKey-41ab"
CONSUMER_SECRET = "cs-ConsumerSecret-77fe"
ACCESS_TOKEN = "1585-AccessToken-c0de"
ACCESS_SECRET = "as-AccessSecret-9a9a"
OAUTH_SECRETS = (CONSUMER_KEY, CONSUMER_SECRET, ACCESS_TOKEN, ACCESS_SECRET)
# The part of a bot token after the colon is the secret half: it must not show on its own either.
ALL_SECRETS = (*SECRETS, *OAUTH_SECRETS, TG_TOKEN.split(":", 1)[1])

ENGINE = """
[engine]
timeout = 3
deadline = 20
max_attempts = 2
"""

X_REFUSAL = {"title": "Forbidden", "status": 403, "type": "about:blank", "detail": "This request is not allowed"}
TG_REFUSAL = {"ok": False, "error_code": 400, "description": "Bad Request: wrong parameter action in request"}
TG_PROXY_PAGE = "<html><body>502 upstream failed</body></html>"
TG_SERVER_ERROR = {"ok": False, "error_code": 500, "description": "Internal Server Error"}


def leaks(text: str, secrets: tuple[str, ...] = ALL_SECRETS) -> list[str]:
    """Each secret found in ``text`` in any letter case, verbatim or URL-quoted."""
    lowered = text.lower()
    return sorted({s for s in secrets for form in (s, quote(s, safe=""), quote(s)) if form.lower() in lowered})


@pytest.fixture
def echoing(project: Project) -> Iterator[tuple[FakeWorld, FakeX]]:
    """Every fake echoes credentials; a second X account signs with OAuth 1.0a."""
    with FakeWorld(echo_credentials=True) as world, FakeX(
        consumer_key=CONSUMER_KEY, consumer_secret=CONSUMER_SECRET,
        access_token=ACCESS_TOKEN, access_token_secret=ACCESS_SECRET,
    ) as oauth_x:
        oauth_x.echo_credentials = True
        project.write_config(ENGINE + world.channels_toml() + f"""
[channels.x-oauth]
type = "twitter"
consumer_key = "${{X_CK}}"
consumer_secret = "${{X_CS}}"
access_token = "${{X_AT}}"
access_token_secret = "${{X_AS}}"
api_url = "{oauth_x.url}"
""")
        project.env.update(world.env, X_CK=CONSUMER_KEY, X_CS=CONSUMER_SECRET, X_AT=ACCESS_TOKEN, X_AS=ACCESS_SECRET)
        yield world, oauth_x


def refuse_every_send(world: FakeWorld, oauth_x: FakeX) -> None:
    """One error answer per channel, each a kind whose text our messages quote."""
    for x in (world.x, oauth_x):
        x.fail(*[Fault(match="/2/tweets", response=Response(403, X_REFUSAL)) for _ in range(3)])
    world.telegram.fail(
        Fault(match="sendMessage", response=Response(400, TG_REFUSAL)),
        *[Fault(match="sendMessage", response=Response(502, TG_PROXY_PAGE, content_type="text/html")) for _ in range(8)],
    )
    world.slack.fail(*[Fault(match="chat.postMessage", response=Response(200, {"ok": False, "error": "invalid_arguments"}))
                       for _ in range(3)])


def refuse_every_check(world: FakeWorld, oauth_x: FakeX) -> None:
    for x in (world.x, oauth_x):
        x.fail(Fault(match="/2/users/me", response=Response(403, X_REFUSAL)))
    world.telegram.fail(*[Fault(match="getMe", response=Response(401, {"ok": False, "error_code": 401, "description": "Unauthorized"}))
                          for _ in range(2)])
    world.slack.fail(Fault(match="auth.test", response=Response(200, {"ok": False, "error": "invalid_auth"})))


@pytest.mark.parametrize("debug", [False, True], ids=["quiet", "debug"])
def test_echoed_credentials_reach_no_output_no_store_and_no_export(
    project: Project, echoing: tuple[FakeWorld, FakeX], debug: bool
) -> None:
    world, oauth_x = echoing
    refuse_every_send(world, oauth_x)
    flags = ["--debug"] if debug else []
    posted = project.cli(*flags, "post", "--yes", "--json", "--title", "API errors", "-C", "api", "Elevated errors.")
    assert posted.exit_code == 3, posted.stderr
    payload = json.loads(posted.stdout)
    deliveries = payload["deliveries"]
    not_sent = {d["destination"] for d in deliveries if d["state"] in ("failed", "unknown")}
    assert not_sent == {"x", "x-oauth", "tg-public", "tg-ops", "slack-acme"}
    # A Telegram 502 may come after the message was stored: unknown, not failed (README, "Delivery states").
    assert any(d["state"] == "unknown" for d in deliveries if d["destination"].startswith("tg-")), deliveries
    # The refusals quote what the server said, so the echo did reach our messages (masked): the test
    # would see a leak if a layer let it through.
    refused = [d for d in deliveries if d["state"] == "failed"]
    assert {"x", "x-oauth", "slack-acme"} <= {d["destination"] for d in refused}
    assert any(d["destination"].startswith("tg-") for d in refused), deliveries
    assert all("***" in d["error"] for d in refused), refused
    incident = payload["incident_id"]

    refuse_every_check(world, oauth_x)
    outputs = {
        "post": posted,
        "show": project.cli(*flags, "show", incident),
        "show --json": project.cli(*flags, "show", "--json", incident),
        "channels check": project.cli(*flags, "channels", "check"),
        "store export": project.cli(*flags, "store", "export"),
    }
    assert outputs["channels check"].exit_code == 3
    assert outputs["channels check"].stdout.count("***") >= 4, outputs["channels check"].stdout
    for name, result in outputs.items():
        assert not leaks(result.stdout + result.stderr), f"{name} shows {leaks(result.stdout + result.stderr)}"
    state = b"".join(p.read_bytes() for p in (project.root / ".broadcaster").glob("state.db*"))
    assert not leaks(state.decode("utf-8", errors="replace")), "the state file holds a credential"
    if debug:
        # --debug shows the libraries' logs: the echoing answers are in them, scrubbed.
        assert "***" in posted.stderr and "httpx" in posted.stderr


def test_a_bot_api_that_echoes_the_token_in_a_500_page_prints_no_traceback_and_no_token(project: Project) -> None:
    """python-telegram-bot logs a non-JSON error body with its traceback (about 84 lines a 500); not here."""
    with FakeWorld(echo_credentials=True) as world:
        project.write_config(ENGINE + world.channels_toml())
        # One per chat: a 500 is never repeated by itself, so none is left over for the retry below.
        world.telegram.fail(*[Fault(match="sendMessage", response=Response(500, TG_PROXY_PAGE, content_type="text/html"))
                              for _ in range(3)])
        process = project.process("post", "--yes", "--only", "tg-public,tg-ops", "--title", "API errors", "Errors.",
                                  env=world.env)
        output, errors = process.communicate(timeout=60)
        assert process.returncode == 3, output + errors
        # A 500 may come after the message was stored: unknown, never resent by itself (README, "Delivery states").
        assert output.count("Telegram answered with a server error") == 3, output
        assert "Traceback" not in errors and len(errors.splitlines()) <= 2, errors
        assert not leaks(output + errors)

        # Resent on request (a 5xx body never reaches the library's parser, so it logs no page now); this
        # time the 500 is JSON whose description echoes the request path, and our message quotes it.
        world.telegram.fail(*[Fault(match="sendMessage", response=Response(500, TG_SERVER_ERROR)) for _ in range(3)])
        process = project.process("--debug", "retry", "--include-unknown", env=world.env)
        output, errors = process.communicate(timeout=60)
        assert "500 Internal Server Error" in errors, errors  # the libraries' records, shown with --debug
        assert output.count("Internal Server Error (request was /bot***/sendMessage") == 3, output
        assert not leaks(output + errors)


# -- S3 ----------------------------------------------------------------------------

S3_KEY_ID = "AKIAECHOKEY0000EXAMPLE"
S3_SECRET = "Echo/Secret+Key0000000000000000000000000"
S3_TOKEN = "IQoJb3JpZ2luX2VjEchoSecurityToken0000+/="
# A SigV4 request signature, as the echo repeats the Authorization header: verbatim, URL-quoted, in any case.
# Not a secret itself, but whoever reads it may send that very request again for minutes.
SIGNED = re.compile(r"signature(?:=|%3D)[0-9a-f]{64}", re.IGNORECASE)
SIGNATURE = "87bba3921f9d6ae23da90b59a1decf620c7e94fda5a6ffb0bab014e69825923e"


@pytest.mark.parametrize("text", [
    f"Credential=AKID/20240502/us-east-1/s3/aws4_request, SignedHeaders=host, Signature={SIGNATURE}",
    f"https://s3.example.com/status/index.html?X-Amz-Credential=x&X-Amz-Signature={SIGNATURE.upper()}&x=1",
    f"AWS4-HMAC-SHA256%20Credential%3DAKID%2C%20Signature%3D{SIGNATURE}",
    f"SIGNATURE%253D{SIGNATURE}",
    f"Signature:\n{SIGNATURE}",  # botocore's debug log
    f'{{"X-Amz-Signature": "{SIGNATURE}"}}',
], ids=["header", "query", "url-quoted", "quoted-twice", "botocore-log", "json"])
def test_a_request_signature_is_masked_in_every_spelling(text: str) -> None:
    masked = redact(text, ["unrelated-secret"])
    assert SIGNATURE not in masked.lower() and "***" in masked, masked
    assert redact(text) == masked.replace("unrelated-secret", "")  # with no secret known, too


def bucket_table(url: str) -> str:
    return f'\n[publish.bucket]\ntype = "s3"\nbucket = "status"\nregion = "us-east-1"\nendpoint_url = "{url}"\n'


def aws_credentials_from(monkeypatch: pytest.MonkeyPatch, credentials: Path, tmp_path: Path) -> None:
    """boto3 reads only ``credentials`` (the shared credentials file), never the machine's AWS settings."""
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)


def profile_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, key_id: str, secret: str, token: str) -> None:
    """Keys only in the shared credentials file, with a session token (as SSO and assumed roles have)."""
    credentials = tmp_path / "aws-credentials"
    credentials.write_text(f"[default]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n"
                           f"aws_session_token = {token}\n")
    aws_credentials_from(monkeypatch, credentials, tmp_path)


@pytest.fixture
def s3_echoing(project: Project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[S3Server]:
    aws_credentials_from(monkeypatch, tmp_path / "no-aws-credentials", tmp_path)
    with S3Server() as s3:
        s3.create_bucket("status")
        s3.echo_credentials = True
        project.write_config(ENGINE + bucket_table(s3.url) + 'access_key_id = "${S3_KEY}"\n'
                             'secret_access_key = "${S3_SECRET}"\n')
        project.env.update(S3_KEY=S3_KEY_ID, S3_SECRET=S3_SECRET)
        yield s3


@pytest.mark.parametrize("debug", [False, True], ids=["quiet", "debug"])
def test_an_s3_gateway_that_echoes_the_key_leaks_nothing(project: Project, s3_echoing: S3Server, debug: bool) -> None:
    s3_echoing.fail(S3Fault(status=400, code="InvalidArgument", times=50))
    flags = ["--debug"] if debug else []
    posted = project.cli(*flags, "post", "--yes", "--json", "--title", "API errors", "Elevated errors.")
    assert posted.exit_code == 3, posted.stderr
    delivery = next(d for d in json.loads(posted.stdout)["deliveries"] if d["destination"] == "bucket")
    assert delivery["state"] == "failed" and "InvalidArgument" in delivery["error"] and "***" in delivery["error"]
    incident = json.loads(posted.stdout)["incident_id"]
    outputs = [posted, project.cli(*flags, "site", "publish"), project.cli(*flags, "show", incident),
               project.cli(*flags, "channels", "check"), project.cli(*flags, "store", "export")]
    secrets = (S3_KEY_ID, S3_SECRET)
    for result in outputs:
        assert not leaks(result.stdout + result.stderr, secrets), result.stdout + result.stderr
        assert not SIGNED.search(result.stdout + result.stderr), result.stdout + result.stderr
    state = b"".join(p.read_bytes() for p in (project.root / ".broadcaster").glob("state.db*"))
    assert not leaks(state.decode("utf-8", errors="replace"), secrets)
    assert not SIGNED.search(state.decode("utf-8", errors="replace"))


# fc-site's S3 requests one by one: the manifest read (and written), the uploads; keys from the config or
# from the AWS environment (which the target's own messages did not know to scrub).
S3_PATHS = {"manifest": ".broadcaster-manifest.json", "uploads": "/incidents/"}


@pytest.mark.parametrize("failing", sorted(S3_PATHS))
@pytest.mark.parametrize("source", ["config", "environment", "environment-with-security-token"])
def test_each_s3_request_of_a_publish_that_echoes_the_key_leaks_nothing(
    project: Project, s3_echoing: S3Server, source: str, failing: str
) -> None:
    secrets: tuple[str, ...] = (S3_KEY_ID, S3_SECRET)
    if source.startswith("environment"):
        config = project.config.read_text()
        project.config.write_text("\n".join(line for line in config.splitlines() if "_key" not in line) + "\n")
        project.env.update(AWS_ACCESS_KEY_ID=S3_KEY_ID, AWS_SECRET_ACCESS_KEY=S3_SECRET)
    if source == "environment-with-security-token":  # the older name, which botocore reads first
        project.env.update(AWS_SECURITY_TOKEN=S3_TOKEN)
        secrets += (S3_TOKEN,)
    s3_echoing.fail(S3Fault(match=S3_PATHS[failing], status=400, code="InvalidArgument", times=200))

    posted = project.cli("post", "--yes", "--json", "--title", "API errors", "Elevated errors.")

    assert posted.exit_code == 3, posted.stderr
    delivery = next(d for d in json.loads(posted.stdout)["deliveries"] if d["destination"] == "bucket")
    doing = "read the manifest" if failing == "manifest" else "upload incidents/"
    assert delivery["state"] == "failed" and doing in delivery["error"] and "***" in delivery["error"], delivery
    incident = json.loads(posted.stdout)["incident_id"]
    published = project.cli("site", "publish")
    assert published.exit_code == 3 and "***" in published.stdout, published.stdout  # the echo, masked
    outputs = [posted, published]
    for flags in ([], ["--debug"]):
        outputs += [project.cli(*flags, "site", "publish"), project.cli(*flags, "show", incident),
                    project.cli(*flags, "retry"), project.cli(*flags, "channels", "check"),
                    project.cli(*flags, "store", "export")]
    for result in outputs:
        assert not leaks(result.stdout + result.stderr, secrets), result.stdout + result.stderr
        assert not SIGNED.search(result.stdout + result.stderr), result.stdout + result.stderr
    state = b"".join(p.read_bytes() for p in (project.root / ".broadcaster").glob("state.db*"))
    assert not leaks(state.decode("utf-8", errors="replace"), secrets)
    assert not SIGNED.search(state.decode("utf-8", errors="replace"))


# -- git -----------------------------------------------------------------------------

GIT_USER, GIT_TOKEN = "ci-bot", "ghp_EchoToken0123456789abcdef"
# What git sends once the credential helper has answered: HTTP Basic, the token readable by anyone.
GIT_BASIC = base64.b64encode(f"{GIT_USER}:{GIT_TOKEN}".encode()).decode()


@pytest.fixture
def git_echoing(project: Project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeServer]:
    """A smart-HTTP git host whose every answer is an error repeating the credentials it received,
    decoded (git shows a text/plain error body as "remote: ..." lines)."""
    monkeypatch.setenv("HOME", str(tmp_path))  # git without the operator's config and helpers
    server = FakeServer()
    server.status = 403  # type: ignore[attr-defined]

    def answer(request: Request, match: object) -> Response:
        carried = request.headers.get("authorization", "")
        decoded = base64.b64decode(carried.split()[-1]).decode(errors="replace") if carried else ""
        status = server.status  # type: ignore[attr-defined]
        headers = {"WWW-Authenticate": 'Basic realm="git"'} if status == 401 else {}
        return Response(status, f"denied for {echo_of([carried, decoded, GIT_TOKEN if carried else ''])}\n",
                        headers=headers, content_type="text/plain")

    server.route("GET", r"/.*", answer)
    server.route("POST", r"/.*", answer)
    with server:
        project.write_config(ENGINE + '\n[publish.pages]\ntype = "git"\nremote = "${PAGES_REMOTE}"\nbranch = "gh-pages"\n')
        project.env.update(PAGES_REMOTE=f"http://{GIT_USER}:{GIT_TOKEN}@127.0.0.1:{server.port}/acme/status.git")
        yield server


@pytest.mark.parametrize("status", [401, 403, 503])
def test_a_git_host_that_echoes_the_token_leaks_nothing(project: Project, git_echoing: FakeServer, status: int) -> None:
    git_echoing.status = status  # type: ignore[attr-defined]

    posted = project.cli("post", "--yes", "--json", "--title", "API errors", "Elevated errors.")

    assert posted.exit_code == 3, posted.stderr
    assert git_echoing.received("/acme/status.git/info/refs"), "git never reached the fake host"
    delivery = next(d for d in json.loads(posted.stdout)["deliveries"] if d["destination"] == "pages")
    assert delivery["state"] == "failed" and "remote: denied for" in delivery["error"], delivery
    incident = json.loads(posted.stdout)["incident_id"]
    outputs = [posted]
    for flags in ([], ["--debug"]):
        outputs += [project.cli(*flags, "site", "publish"), project.cli(*flags, "show", incident),
                    project.cli(*flags, "retry"), project.cli(*flags, "channels", "check"),
                    project.cli(*flags, "store", "export")]
    for result in outputs:
        assert not leaks(result.stdout + result.stderr, (GIT_TOKEN, GIT_BASIC)), result.stdout + result.stderr
    state = b"".join(p.read_bytes() for p in (project.root / ".broadcaster").glob("state.db*"))
    assert not leaks(state.decode("utf-8", errors="replace"), (GIT_TOKEN, GIT_BASIC))


PROXY_PASSWORD = "Pr0xy-Passw0rd-5e5e"


@pytest.mark.parametrize("debug", [False, True], ids=["quiet", "debug"])
def test_a_proxys_password_written_into_api_url_is_never_shown(project: Project, debug: bool) -> None:
    """api_url may be a proxy that wants a user and password; every error that names the URL it could
    not reach (the SDKs' own, ours) masks the password, in output, ``show``, the export and the store."""
    proxy = f"http://ops:{PROXY_PASSWORD}@127.0.0.1:{free_port()}"
    project.write_config(ENGINE + f'''
        [channels.tg]
        type = "telegram"
        token = "${{TG_TOKEN}}"
        chat_ids = ["-1001234567890"]
        api_url = "{proxy}/"

        [channels.slack]
        type = "slack"
        token = "${{SLACK_TOKEN}}"
        channel = "C0123STATUS"
        api_url = "{proxy}/api/"

        [channels.x]
        type = "twitter"
        bearer_token = "${{X_TOKEN}}"
        api_url = "{proxy}"

        [publish.bucket]
        type = "s3"
        bucket = "status"
        region = "us-east-1"
        endpoint_url = "{proxy}"
        access_key_id = "${{AWS_KEY}}"
        secret_access_key = "${{AWS_SECRET}}"
    '''.replace("\n        ", "\n"))
    project.env.update(TG_TOKEN="123456:tg-token-for-test", SLACK_TOKEN="xoxb-slack-token-for-test",
                       X_TOKEN="x-bearer-for-test", AWS_KEY="AKIATESTKEY12345", AWS_SECRET="aws-secret-for-test")
    flags = ["--debug"] if debug else []

    posted = project.cli(*flags, "post", "--yes", "--json", "--title", "API errors", "Elevated errors.")

    assert posted.exit_code == 3, posted.stderr
    deliveries = json.loads(posted.stdout)["deliveries"]
    failed = {d["destination"]: d["error"] for d in deliveries if d["state"] in ("failed", "unknown")}
    assert set(failed) == {"tg", "slack", "x", "bucket"}, deliveries
    assert any("ops:***@127.0.0.1" in error for error in failed.values()), failed  # the URL was quoted, masked
    incident = json.loads(posted.stdout)["incident_id"]
    outputs = [posted, project.cli(*flags, "show", incident), project.cli(*flags, "channels", "check"),
               project.cli(*flags, "store", "export")]
    for result in outputs:
        assert not leaks(result.stdout + result.stderr, (PROXY_PASSWORD,)), result.stdout + result.stderr
    state = b"".join(p.read_bytes() for p in (project.root / ".broadcaster").glob("state.db*"))
    assert state and not leaks(state.decode("utf-8", errors="replace"), (PROXY_PASSWORD,))


def test_a_proxy_url_that_cannot_be_parsed_is_refused_unshown(project: Project) -> None:
    """An unclosed "[" made the SDKs repeat the URL whole (password too), or fail with a ValueError."""
    project.write_config(f'''
[channels.tg]
type = "telegram"
token = "${{TG_TOKEN}}"
chat_ids = ["-1001234567890"]
api_url = "http://ops:{PROXY_PASSWORD}@[127.0.0.1:9/"
''')
    project.env.update(TG_TOKEN="123456:tg-token-for-test")

    result = project.cli("post", "--yes", "--title", "API errors", "Elevated errors.")

    assert result.exit_code == 2 and "channels.tg.api_url" in result.output and "http(s) URL" in result.output
    assert not leaks(result.output, (PROXY_PASSWORD,))
    assert not (project.root / ".broadcaster" / "state.db").exists() or b"API errors" not in (
        project.root / ".broadcaster" / "state.db").read_bytes()


def test_a_user_alone_in_a_written_url_is_a_name_not_a_secret(tmp_path: Path) -> None:
    """Only a password is masked in a URL written in the file: "deploy" or "admin" alone are ordinary
    words that every message would otherwise lose. (From "${VAR}", a user alone may be a token.)"""
    from broadcaster.config_loader import parse

    config = parse({
        "channels": {"tg": {"type": "telegram", "token": "${TG}", "chat_ids": ["1"],
                            "api_url": "http://admin@127.0.0.1:9/"},
                     "sl": {"type": "slack", "token": "${SL}", "channel": "C0123ABCD",
                            "api_url": f"http://deploy:{PROXY_PASSWORD}@[::1]:9/api/"}},
    }, tmp_path / "b.toml", {"TG": "123:abc", "SL": "xoxb-1"})

    secrets = config.secret_values(environ={})
    assert PROXY_PASSWORD in secrets
    assert "admin" not in secrets and "deploy" not in secrets


@pytest.mark.parametrize("end", ["\n", " ", "\r\n"], ids=["newline", "space", "crlf"])
def test_a_secret_read_with_its_line_end_is_masked_as_it_went_on_the_wire(
    project: Project, echoing: tuple[FakeWorld, FakeX], end: str
) -> None:
    """A token from a file or a CRLF .env keeps its line end; the channels send it stripped, and a
    server echoes what was sent. Found by a review: the whole bot token was printed and stored."""
    world, oauth_x = echoing
    project.env.update(TG_TOKEN=TG_TOKEN + end, SLACK_TOKEN=world.env["SLACK_TOKEN"] + end)
    refuse_every_send(world, oauth_x)
    posted = project.cli("post", "--yes", "--json", "--title", "API errors", "-C", "api", "Elevated errors.")
    assert posted.exit_code == 3, posted.stderr
    refused = [d for d in json.loads(posted.stdout)["deliveries"] if d["state"] == "failed"]
    assert any(d["destination"].startswith("tg-") and "***" in d["error"] for d in refused), refused
    shown = posted.stdout + posted.stderr + project.cli("store", "export").stdout
    assert not leaks(shown), leaks(shown)


def test_s3_credentials_boto3_found_by_itself_stay_out_of_the_debug_log(
    project: Project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Found by a review: with keys from the shared credentials file (or a profile, SSO, an assumed
    role), botocore's debug log printed each request's session token and access key id."""
    key_id, secret, token = "ASIAFROMFILE0123456", "file-secret-Key-9f8e7d", "FwoGZXIvYXdzSessionTokenFromFileXYZ"
    profile_credentials(monkeypatch, tmp_path, key_id, secret, token)
    with S3Server() as s3:
        s3.create_bucket("status")
        project.write_config(ENGINE + bucket_table(s3.url))  # no keys: boto3's own chain finds them
        assert project.cli("post", "--yes", "--only", "site", "--title", "API errors", "Errors.").exit_code == 0
        published = project.cli("--debug", "site", "publish")
    shown = published.stdout + published.stderr
    assert "botocore" in shown and "x-amz-security-token" in shown.lower(), shown[-2000:]  # the log was on
    assert not leaks(shown, (key_id, secret, token)), leaks(shown, (key_id, secret, token))
