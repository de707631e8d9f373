"""Review 17a (secrets): the S3 host's local manifest copy sealed and private (F1), a proxy's password out of
the ``--debug`` log (F2), a secret webhook url's token out of the ``--debug`` log however the URL is sent (F3)."""

from __future__ import annotations

import json
import logging
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from broadcaster import config_loader, redaction
from broadcaster.config import Config
from broadcaster.site.hosts._s3_manifest import LocalCopy, Remote
from broadcaster.site.hosts._sealed import store_digest
from tests.conftest import Project
from tests.fakes.s3 import PUBLISH_ENV, S3Server

ENGINE = "\n[engine]\ntimeout = 5\ndeadline = 20\nmax_attempts = 1\n"
STORE_KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"  # a store's site_key, as the state's meta holds it
PLACE = "s3: s3://status/"
SAVED = Remote(files={"index.html": "ab12", "incidents/inc-1.html": "cd34"},
               versions={"incidents/inc-1.html": "17-2026-12-05T01:00:00Z"}, store=STORE_KEY, generation=4242,
               etag='"etag-1"')


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _store_key(db: Path) -> str:
    import sqlite3

    with sqlite3.connect(db) as conn:
        return str(conn.execute("SELECT value FROM meta WHERE key = 'site_key'").fetchone()[0])


# -- F1: the S3 host's local copy of the manifest ---------------------------------------------------


def test_the_s3_local_copy_is_sealed_private_and_out_of_git_with_the_store_elsewhere(
        project: Project, umask_022: None) -> None:
    """With the state outside .broadcaster/ (nothing else makes that folder private), a post that publishes to a
    bucket leaves a copy that holds neither the store's key nor its versions or generation, 0600 in a 0700 folder
    that git ignores; the next post plans from it (read back opened with the store's key)."""
    with S3Server() as s3:
        s3.create_bucket("status")
        project.write_config('\n[store]\npath = "state/state.db"\n' + ENGINE + s3.publish_toml("status"))
        project.env.update(PUBLISH_ENV)
        first = project.cli("post", "--yes", "--title", "API errors", "-C", "api", "Errors.")
        assert first.exit_code == 0, first.stdout + first.stderr
        second = project.cli("post", "--yes", "--title", "DNS errors", "-C", "api", "Errors.")
        assert second.exit_code == 0, second.stdout + second.stderr
    key = _store_key(project.root / "state" / "state.db")
    folder = project.root / ".broadcaster"
    copies = [c for c in folder.glob("*.json") if "manifest" in json.loads(c.read_text(encoding="utf-8"))]
    assert copies, "no local copy written"
    for copy in copies:
        text = copy.read_text(encoding="utf-8")
        manifest = json.loads(text)["manifest"]
        assert key not in text and "versions" not in manifest and "generation" not in manifest, manifest
        assert manifest["store"] == store_digest(key) and manifest["sealed"]
        assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert (folder / ".gitignore").read_text(encoding="utf-8").splitlines()[-1] == "*"


def test_the_local_copy_reads_back_opened_with_the_stores_key_and_sealed_to_any_other(tmp_path: Path) -> None:
    copy = LocalCopy(tmp_path / ".broadcaster" / "site-publish-x.json", PLACE)
    copy.save(SAVED)

    text = copy.path.read_text(encoding="utf-8")
    assert STORE_KEY not in text and "17-2026" not in text and "4242" not in text
    opened = copy.read(STORE_KEY)
    assert opened is not None
    assert (opened.files, opened.versions, opened.store, opened.generation, opened.etag) == (
        SAVED.files, SAVED.versions, STORE_KEY, 4242, '"etag-1"')
    other = copy.read("another-store-key-0123456789abcdef")  # another store's: its versions say nothing of ours
    assert other is not None and other.versions == {} and other.store != "another-store-key-0123456789abcdef"
    later = copy.read()  # opened later (the publish opens what the warm-up read)
    assert later is not None and later.opened(STORE_KEY).versions == SAVED.versions


def test_a_plain_local_copy_from_an_earlier_version_is_still_read_and_sealed_when_saved(tmp_path: Path) -> None:
    copy = LocalCopy(tmp_path / ".broadcaster" / "site-publish-x.json", PLACE)
    copy.path.parent.mkdir()
    plain = json.loads(SAVED.document(sealed=False))
    copy.path.write_text(json.dumps({"place": PLACE, "etag": SAVED.etag, "manifest": plain}), encoding="utf-8")

    found = copy.read(STORE_KEY)
    assert found is not None and found.versions == SAVED.versions and found.generation == 4242
    assert copy.read() is not None  # the warm-up's read, before any store key is known

    copy.save(found)
    assert STORE_KEY not in copy.path.read_text(encoding="utf-8")
    again = copy.read(STORE_KEY)
    assert again is not None and again.versions == SAVED.versions


def test_the_local_copy_tightens_an_old_folder_and_never_writes_through_a_link(tmp_path: Path, umask_022: None) -> None:
    folder = tmp_path / ".broadcaster"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)  # as older versions made it
    elsewhere = tmp_path / "someone-elses-file"
    elsewhere.write_text("keep me\n", encoding="utf-8")
    copy = LocalCopy(folder / "site-publish-x.json", PLACE)
    copy.path.symlink_to(elsewhere)

    copy.save(SAVED)

    assert elsewhere.read_text(encoding="utf-8") == "keep me\n"
    assert not copy.path.is_symlink() and stat.S_IMODE(copy.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700 and (folder / ".gitignore").is_file()
    assert copy.read(STORE_KEY) is not None


# -- F2: a proxy's password ---------------------------------------------------------------------------

PROXY_PASSWORD = "proxyPassw0rd-Q7x9"


@pytest.mark.parametrize("command", [("post", "--yes", "--title", "API errors", "-C", "api", "Errors."),
                                     ("channels", "check")], ids=["post", "channels-check"])
def test_a_proxy_password_from_the_environment_stays_out_of_the_debug_log(project: Project, command: tuple[str, ...]) -> None:
    """slack_sdk logs the proxy URL it loaded from HTTPS_PROXY, password and all."""
    from tests.fakes.world import FakeWorld

    with FakeWorld() as world:
        project.write_config(ENGINE + world.channels_toml())
        project.env.update(world.env)
        proxy = f"http://deploy:{PROXY_PASSWORD}@127.0.0.1:9"
        env = {name: proxy for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")}
        env.update(NO_PROXY="", no_proxy="")
        result = project.cli("--debug", *command, env=env)
    shown = result.stdout + result.stderr
    assert "slack_sdk" in shown and "http://***@127.0.0.1:9" in shown  # the line is there, masked
    assert PROXY_PASSWORD.lower() not in shown.lower()


def test_the_config_lists_the_password_of_every_proxy_variable_in_any_case(tmp_path: Path) -> None:
    config_file = tmp_path / "broadcaster.toml"
    config_file.write_text("", encoding="utf-8")
    config = config_loader.load(str(config_file), {})
    env = {"Https_Proxy": "http://deploy:pw-https-1@proxy:3128", "all_proxy": "socks5://u:pw-all-22@proxy:1080",
           "NO_PROXY": "http://x:not-a-proxy@h", "HTTP_PROXY": "http://deploy@proxy:3128"}
    values = config.secret_values(env)
    assert {"pw-https-1", "pw-all-22"} <= set(values)
    assert "not-a-proxy" not in values and "deploy" not in values  # no_proxy lists hosts; a user alone is a name


def test_every_log_record_is_scrubbed_of_the_user_and_password_of_any_url() -> None:
    records = _kept_records("HTTP proxy URL has been loaded from an env variable: %s",
                            "http://deploy:Unkn0wnPass@proxy:3128", remembered=[], logger="slack_sdk")
    assert records == ["HTTP proxy URL has been loaded from an env variable: http://***@proxy:3128"]


# -- F3: a secret webhook url's token -----------------------------------------------------------------

HOOK_TOKEN = "Zq8hookPathTok3n"


def test_a_secret_webhook_urls_token_stays_out_of_the_debug_log_when_the_url_sent_is_not_the_url_given(
    project: Project,
) -> None:
    """With api_url the URL on the wire is not the configured string: httpx's line shows the masked URL."""
    from tests.fakes.webhook import SECRET, FakeReceiver

    with FakeReceiver() as receiver:
        project.write_config(ENGINE + f"""
[channels.hook]
type = "webhook"
url = "${{HOOK_URL}}"
secret = "${{HOOK_SECRET}}"
api_url = "{receiver.url}"
""")
        project.env.update(HOOK_URL=f"https://hooks.example.com/hooks/status?token={HOOK_TOKEN}", HOOK_SECRET=SECRET)
        posted = project.cli("--debug", "post", "--yes", "--title", "API errors", "-C", "api", "Errors.")
        assert posted.exit_code == 0, posted.stdout + posted.stderr
        assert receiver.events, "the receiver got nothing"
        sent = [(r.path, r.query) for r in receiver.requests if r.method == "POST"]
        assert sent == [("/hooks/status", {"token": [HOOK_TOKEN]})]  # the real URL on the wire
    shown = posted.stdout + posted.stderr
    assert f"POST {receiver.url.rstrip('/')}/*** " in shown  # httpx's line, with the masked URL
    assert HOOK_TOKEN.lower() not in shown.lower()


def _kept_records(message: str, *args: object, remembered: list[str],
                  build: Callable[[], object] | None = None, logger: str = "httpx") -> list[str]:
    """What a library's log ``message`` reads as once the CLI's logging has scrubbed it."""
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    keep = Keep()
    with redaction.install_logging(debug=True):
        redaction.remember(remembered)  # what options.load_config does
        if build is not None:
            build()
        logging.getLogger().addHandler(keep)
        try:
            logging.getLogger(logger).info(message, *args)
        finally:
            logging.getLogger().removeHandler(keep)
    return records


def _webhook_config(tmp_path: Path, url: str) -> Config:
    from tests.fakes.webhook import SECRET

    config_file = tmp_path / "broadcaster.toml"
    config_file.write_text('[channels.flow]\ntype = "webhook"\nurl = "${HOOK_URL}"\nsecret = "${HOOK_SECRET}"\n',
                           encoding="utf-8")
    return config_loader.load(str(config_file), {"HOOK_URL": url, "HOOK_SECRET": SECRET})


def test_a_logic_apps_webhook_urls_signature_stays_out_of_httpxs_log_line(tmp_path: Path) -> None:
    """A Logic Apps URL is copied with ":443", which httpx drops from the URL it logs."""
    import httpx

    sig = "Xq3vB9mZ0pLkR7tYw2sN4cD6fG8hJ1aE5uI0oP9qW3e"
    url = ("https://prod-12.westeurope.logic.azure.com:443/workflows/4f1c2a9b7d3e4f5a8b6c0d1e2f3a4b5c/triggers/"
           f"manual/paths/invoke?api-version=2016-10-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={sig}")
    config = _webhook_config(tmp_path, url)
    records = _kept_records('HTTP Request: %s %s "%s %d %s"', "POST", httpx.URL(url), "HTTP/1.1", 202, "Accepted",
                            remembered=config.secret_values())
    assert records == ['HTTP Request: POST *** "HTTP/1.1 202 Accepted"']
    assert redaction.redact(f"sent to {str(httpx.URL(url))}.", [url]) == "sent to ***."


def test_a_channels_own_forms_of_its_secrets_are_remembered_when_it_is_built(tmp_path: Path) -> None:
    """A receiver's "Cannot POST <path>" in a library's log quotes the token alone, which only the channel knows
    is a secret (``WebhookChannel.secret_values``): remembered for the log as the channel is built."""
    from broadcaster.destinations import ChannelDestination, destinations

    config = _webhook_config(tmp_path, f"https://hooks.example.com/hooks/catch/{HOOK_TOKEN}/")
    built = destinations(config)
    hook = built["flow"]
    assert isinstance(hook, ChannelDestination)
    records = _kept_records("receiver said: Cannot POST %s", f"/x/{HOOK_TOKEN}",
                            remembered=config.secret_values(),
                            build=lambda: hook.channel)
    assert records == ["receiver said: Cannot POST /x/***"]


def test_a_webhook_url_given_as_a_variable_is_shown_masked_and_sent_whole(tmp_path: Path) -> None:
    from broadcaster.channels.webhook import WebhookChannel

    from broadcaster.config import ChannelConfig, Secret
    from tests.fakes.webhook import SECRET

    secret_url = f"https://ops:pw@hooks.example.com:443/hooks/status?token={HOOK_TOKEN}"
    options = {"url": Secret("HOOK_URL", secret_url), "secret": Secret("HOOK_SECRET", SECRET)}
    poster = WebhookChannel(ChannelConfig("hook", "webhook", options=options)).make_poster()
    assert (poster.real_url, poster.shown_url) == (secret_url, "https://ops:pw@hooks.example.com:443/***")
    written = WebhookChannel(ChannelConfig("hook", "webhook", options={**options, "url": "https://h.example/in"}))
    assert written.make_poster().shown_url == "https://h.example/in"  # written in the file: no secret in it
