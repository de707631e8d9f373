"""Fixes of review 20a (secrets): clear-text api_url/endpoint_url/remote refused, a user alone in a URL masked,
credentials fetched by boto3 held out of the debug log until known, a customer's page masked in the hosts'
messages, a scheme-less proxy URL's password masked; and Slack's unusable proxy recorded failed, not unknown."""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from broadcaster.config import ChannelConfig, Secret, proxy_secrets_named, without_credentials, without_lone_users
from broadcaster.errors import ConfigError
from tests.conftest import Project
from tests.ports import free_port

ENGINE = "\n[engine]\ntimeout = 5\ndeadline = 20\nmax_attempts = 1\n"
OTHER_HOST = "192.0.2.10"  # a documentation address: never reached, the config is refused first
PASSWORD = "pw-F20a-s3cr3t-0001"


def _parse(data: dict[str, Any], env: dict[str, str] | None = None) -> Any:
    from broadcaster.config_loader import parse

    return parse(data, Path("/nonexistent/broadcaster.toml"), env or {})


# -- F1: http:// to another machine refused as the config is read -------------------------------------------------


TELEGRAM = {"type": "telegram", "token": "${TG}", "chat_ids": ["-1001"]}


@pytest.mark.parametrize("table, key", [
    ({"channels": {"tg": {**TELEGRAM, "api_url": f"http://ops:{PASSWORD}@{OTHER_HOST}:8081/"}}}, "channels.tg.api_url"),
    ({"channels": {"sl": {"type": "slack", "token": "${TG}", "channel": "C0123ABCD",
                          "api_url": "HTTP://proxy.example:3128/api/"}}}, "channels.sl.api_url"),
    ({"bot": {"type": "telegram", "token": "${TG}", "api_url": f"http://{OTHER_HOST}:8081"}}, "bot.api_url"),
    ({"publish": {"b": {"type": "s3", "bucket": "status", "api_url": f"http://{OTHER_HOST}:9000"}}}, "publish.b.api_url"),
], ids=["telegram", "slack", "bot", "s3-api_url"])
def test_an_api_url_over_http_to_another_machine_is_refused_naming_its_key(table: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as refused:
        _parse(table, {"TG": "123:abc"})
    said = str(refused.value)
    assert key in said and "clear text" in said and PASSWORD not in said, said


@pytest.mark.parametrize("url", ["http://127.0.0.1:8081", "http://localhost:8081/", "http://[::1]:8081/",
                                 "https://proxy.example/telegram/"])
def test_an_api_url_on_this_machine_or_over_https_is_taken(url: str) -> None:
    """The README's local Bot API server (http://127.0.0.1:8081) and every loopback fake stay allowed."""
    config = _parse({"channels": {"tg": {**TELEGRAM, "api_url": url}}}, {"TG": "123:abc"})
    assert config.channels["tg"].api_url == url


def test_an_s3_endpoint_over_http_to_another_machine_is_refused_from_a_variable_too(project: Project) -> None:
    project.write_config(ENGINE + """
[publish.bucket]
type = "s3"
bucket = "status"
region = "us-east-1"
endpoint_url = "${S3_ENDPOINT}"
""")
    project.env["S3_ENDPOINT"] = f"http://minio:{PASSWORD}@{OTHER_HOST}:9000"
    result = project.cli("post", "--yes", "--title", "API errors", "-C", "api", "Errors.")
    assert result.exit_code == 2, result.output
    assert "publish.bucket.endpoint_url" in result.output and "clear text" in result.output, result.output
    assert PASSWORD not in result.output
    assert not (project.root / ".broadcaster" / "state.db").exists()


@pytest.mark.parametrize("remote", [f"http://bot:{PASSWORD}@{OTHER_HOST}/status.git", f"http://{PASSWORD}@git.example/s.git"],
                         ids=["user-password", "token-as-user"])
def test_a_git_remote_over_http_to_another_machine_with_a_credential_is_refused(project: Project, remote: str) -> None:
    project.write_config(ENGINE + '\n[publish.pages]\ntype = "git"\nremote = "${PAGES_REMOTE}"\nbranch = "gh-pages"\n')
    project.env["PAGES_REMOTE"] = remote
    result = project.cli("post", "--yes", "--title", "API errors", "-C", "api", "Errors.")
    assert result.exit_code == 2, result.output
    assert "publish.pages.remote" in result.output and "clear text" in result.output, result.output
    assert PASSWORD not in result.output
    assert not (project.root / ".broadcaster" / "state.db").exists()


@pytest.mark.parametrize("remote", [f"http://{OTHER_HOST}/status.git", f"https://bot:{PASSWORD}@{OTHER_HOST}/s.git",
                                    f"http://bot:{PASSWORD}@127.0.0.1:9/s.git"], ids=["no-credential", "https", "loopback"])
def test_a_git_remote_without_a_credential_over_http_or_on_this_machine_is_taken(remote: str) -> None:
    config = _parse({"publish": {"pages": {"type": "git", "remote": "${R}", "branch": "gh-pages"}}}, {"R": remote})
    assert "pages" in config.publish


# -- F2: a user name standing alone in a URL -------------------------------------------------------------------------

LONE_USER = "pxF20aLoneUserToken"


def test_a_user_alone_in_a_telegram_api_url_is_never_printed_or_stored(project: Project) -> None:
    """Telegram's error quotes its api_url like Slack's (the reviewer's test): the user alone shows as ``***@``."""
    port = free_port()
    project.env["TG"] = "123456:tg-token-f20a"
    project.write_config(ENGINE + f"""
[channels.tg]
type = "telegram"
token = "${{TG}}"
chat_ids = ["-1001234567890"]
api_url = "http://{LONE_USER}@127.0.0.1:{port}/"
""")
    posted = project.cli("post", "--yes", "--json", "--title", "API errors", "-C", "api", "Errors.")
    assert posted.exit_code == 3, posted.output[-600:]
    shown = project.cli("show", json.loads(posted.stdout)["incident_id"])
    assert shown.exit_code == 0 and "Errors." in shown.output, shown.output
    for text in (posted.output, shown.output, project.cli("store", "export").output):
        assert LONE_USER not in text, text[-600:]
    with sqlite3.connect(project.root / ".broadcaster" / "state.db") as db:
        errors = [row[0] for row in db.execute("SELECT last_error FROM deliveries WHERE last_error IS NOT NULL")]
    assert errors and not [e for e in errors if LONE_USER in e], errors


def test_a_user_alone_is_masked_in_what_was_stored_before_and_a_user_with_a_password_keeps_its_name() -> None:
    from broadcaster.cli.records import _scrubbed

    stored = f"could not connect to http://{LONE_USER}@127.0.0.1:9/api/ nor https://deploy:{PASSWORD}@proxy/"
    shown = _scrubbed(stored) or ""
    assert LONE_USER not in shown and "http://***@127.0.0.1:9/api/" in shown
    assert without_lone_users("https://deploy:***@proxy/ and mailto:ops@acme.example") == (
        "https://deploy:***@proxy/ and mailto:ops@acme.example")  # README: "user:***@"


# -- F3: credentials boto3 fetches, held out of the debug log until known ------------------------------------------

ROLE_SECRET = "F20aRoleSecretAccessKey/+0001abcdefghijk"
ROLE_TOKEN = "F20aRoleSessionToken0001" + "x" * 40


class _Session:
    """What ``_remember_credentials`` reads of a boto3 session, around botocore's own credentials class."""

    def __init__(self, credentials: Any) -> None:
        self.credentials = credentials

    def get_credentials(self) -> Any:
        return self.credentials


def test_credentials_fetched_then_fetched_again_never_reach_the_debug_log(capsys: pytest.CaptureFixture[str]) -> None:
    """botocore logs STS's answer (``Response body``) while fetching, before the keys could be remembered; and
    fetches again when they expire (a long ``tick`` or ``bot run``). Both are held until the keys are known."""
    from datetime import UTC, datetime, timedelta

    from botocore.credentials import DeferredRefreshableCredentials

    from broadcaster.redaction import install_logging
    from broadcaster.site.hosts.s3 import _remember_credentials

    answers = iter([(ROLE_SECRET, ROLE_TOKEN, 12), (ROLE_SECRET[::-1], ROLE_TOKEN[::-1], 60)])

    def assume_role() -> dict[str, str]:
        secret, token, minutes = next(answers)
        logging.getLogger("botocore.parsers").debug("Response body: <SecretAccessKey>%s</SecretAccessKey>"
                                                    "<SessionToken>%s</SessionToken>", secret, token)
        expiry = datetime.now(UTC) + timedelta(minutes=minutes)  # 12: within botocore's advisory refresh
        return {"access_key": "ASIAF20AROLEKEY00001", "secret_key": secret, "token": token,
                "expiry_time": expiry.isoformat()}

    credentials = DeferredRefreshableCredentials(refresh_using=assume_role, method="assume-role")
    with install_logging(debug=True):
        _remember_credentials(_Session(credentials))
        again = credentials.get_frozen_credentials()  # expires within 15 minutes: fetched again
    printed = capsys.readouterr().err
    assert again.secret_key == ROLE_SECRET[::-1]
    assert printed.count("Response body: <SecretAccessKey>***</SecretAccessKey><SessionToken>***<") == 2, printed
    for secret in (ROLE_SECRET, ROLE_TOKEN, ROLE_SECRET[::-1], ROLE_TOKEN[::-1]):
        assert secret not in printed


def test_a_record_held_is_printed_once_scrubbed_of_what_was_learnt_meanwhile(capsys: pytest.CaptureFixture[str]) -> None:
    from broadcaster.redaction import install_logging, records_held, remember

    seen: list[str] = []

    class Seen(logging.Handler):  # another handler (a library's, a test's): never the raw text
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    other = Seen()
    logging.getLogger().addHandler(other)
    try:
        with install_logging(debug=True):
            with records_held():
                logging.getLogger("botocore.endpoint").debug("params: {'WebIdentityToken': '%s'}", ROLE_TOKEN)
                remember([ROLE_TOKEN])
            logging.getLogger("botocore.endpoint").debug("after")
    finally:
        logging.getLogger().removeHandler(other)
    printed = capsys.readouterr().err
    assert "params: {'WebIdentityToken': '***'}" in printed and printed.index("params") < printed.index("after")
    assert ROLE_TOKEN not in printed and not [m for m in seen if ROLE_TOKEN in m], seen


# -- F4: a customer's page named by a host ---------------------------------------------------------------------------

OLD_TOKEN = "tok_F20aOldFeedToken0123456789"


def test_a_git_hosts_message_masks_a_customers_page(tmp_path: Path) -> None:
    from broadcaster.site.hosts.git import GitHost

    host = GitHost(ChannelConfig("pages", "git", options={"remote": "https://git.example/s.git", "branch": "gh-pages"}),
                   tmp_path)
    said = host.clean(f"error: unable to unlink old 'docs/a/{OLD_TOKEN}/atom.xml': Permission denied")
    assert OLD_TOKEN not in said and "docs/a/***/atom.xml (a customer's page)" in said, said


def test_a_directory_hosts_error_masks_a_customers_page(tmp_path: Path) -> None:
    from broadcaster.site.hosts.directory import DirectoryHost

    host = DirectoryHost(ChannelConfig("www", "directory", options={"path": str(tmp_path / "www")}), tmp_path)
    failed = PermissionError(13, "Permission denied", str(tmp_path / "www" / "a" / OLD_TOKEN / "index.html"))
    said = str(host._error(failed))
    assert OLD_TOKEN not in said and "a/***/index.html (a customer's page)" in said, said


# -- F5: a proxy URL without a scheme --------------------------------------------------------------------------------


def test_a_proxy_password_without_a_scheme_is_a_secret_and_masked_in_any_text() -> None:
    named = proxy_secrets_named({"HTTPS_PROXY": f"deploy:{PASSWORD}@127.0.0.1:3128", "NO_PROXY": "x"})
    assert PASSWORD in [value for _, value in named]
    line = f"HTTP proxy URL has been loaded from an env variable: deploy:{PASSWORD}@127.0.0.1:3128"
    assert without_credentials(line) == "HTTP proxy URL has been loaded from an env variable: ***@127.0.0.1:3128"
    for kept in ("Contact: ops@acme.example", "mailto:ops@acme.example", "git@github.com:acme/status.git"):
        assert without_credentials(kept) == kept


# -- side note: Slack with a proxy urllib cannot use ----------------------------------------------------------------


def test_slack_with_a_proxy_urllib_cannot_use_is_failed_not_of_unknown_outcome(project: Project) -> None:
    """urllib refuses a socks5:// proxy before any connection (``unknown url type``): nothing left, so the delivery
    is failed with what to do, not "may or may not have been done" for someone to go and look."""
    from tests.fakes.slack import FakeSlack

    with FakeSlack(token="xoxb-f20a", channels={"C0123ABCD": "ops"}) as fake:
        project.env["SLACK_TOKEN"] = "xoxb-f20a"
        project.write_config(ENGINE + f"""
[channels.ops]
type = "slack"
visibility = "internal"
token = "${{SLACK_TOKEN}}"
channel = "C0123ABCD"
api_url = "{fake.api_url}"
""")
        proxy = f"socks5://deploy:{PASSWORD}@127.0.0.1:9"
        env = {name: proxy for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")}
        env.update(NO_PROXY="", no_proxy="")
        posted = project.cli("post", "--yes", "--json", "--title", "API errors", "-C", "api", "Errors.", env=env)
        assert fake.requests == [] and fake.messages.get("C0123ABCD", []) == []
    slack = next(d for d in json.loads(posted.stdout)["deliveries"] if d["destination"] == "ops")
    assert slack["state"] == "failed" and "proxy" in slack["error"] and "may or may not" not in slack["error"], slack
    assert PASSWORD not in posted.output


def test_a_secret_value_is_never_a_user_alone_of_a_written_url() -> None:
    """Kept from before (test_secrets_echo): "deploy" alone is a name the egress guard must not refuse."""
    config = _parse({"channels": {"tg": {**TELEGRAM, "api_url": "http://deploy@127.0.0.1:9/"}}}, {"TG": "123:abc"})
    assert "deploy" not in config.secret_values(environ={})
    assert isinstance(config.channels["tg"].options["token"], Secret)
