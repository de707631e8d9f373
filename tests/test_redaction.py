"""Each redaction layer on its own, so that removing any one of them fails a test here.

The layers: ``broadcaster.redaction.redact`` (the rule), the logging filter and
``install_logging`` (every record of every library), ``Channel.fail`` (each
channel's errors), the engine's ``_fail`` and ``_unknown`` (whatever is stored,
unexpected errors included), ``channels check``'s table, the CLI's error report, and the
readers of stored errors (``show``, ``store export``). Each test below makes a
secret reach exactly one layer, in a form a library produces (another letter
case, URL-quoted), with no other layer in between.

Where a test needs a bug to happen (a channel whose ``send`` or ``check`` raises
an error holding its token), it patches that one method: simulating a bug is
the one legitimate use of patching here.
"""

from __future__ import annotations

import io
import json
import logging
from typing import Any
from urllib.parse import quote

import pytest

from broadcaster.config import ChannelConfig, Secret
from broadcaster.redaction import RedactingFilter, install_logging, redact
from broadcaster.registry import load_channel_class
from broadcaster.store import open_store
from tests.conftest import Project
from tests.fakes.world import TG_TOKEN, FakeWorld

TOKEN = "123456:AbCdEf-Secret_Token"


def variants(secret: str) -> list[str]:
    """The forms a secret comes back in: as is, lower and upper case, URL-quoted (both hex cases)."""
    quoted = quote(secret, safe="")
    return [secret, secret.lower(), secret.upper(), secret.swapcase(), quoted, quoted.lower(), quote(quote(secret, safe=""), safe="")]


def holds(text: str, secret: str) -> bool:
    lowered = text.lower()
    return any(form.lower() in lowered for form in (secret, quote(secret, safe="")))


# -- the rule ------------------------------------------------------------------------


@pytest.mark.parametrize("form", variants(TOKEN), ids=["verbatim", "lower", "upper", "swapped", "quoted", "quoted-lower", "quoted-twice"])
def test_redact_masks_a_secret_in_any_case_and_encoding(form: str) -> None:
    assert redact(f"GET /bot{form}/sendMessage failed", [TOKEN]) == "GET /bot***/sendMessage failed"


def test_redact_masks_escaped_forms_and_leaves_short_values_alone() -> None:
    secret = 'pa"ss/word<&>'
    text = json.dumps({"error": f"bad {secret}"}) + " <p>bad pa&quot;ss/word&lt;&amp;&gt;</p>"
    assert "pa" not in redact(text, [secret]).replace("***", "")
    assert redact("the id abc is public", ["abc"]) == "the id abc is public"  # too short to be a credential


# -- log records ---------------------------------------------------------------------


def test_the_logging_filter_scrubs_message_arguments_exception_and_stack() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter([TOKEN]))
    logger = logging.getLogger("tests.redaction.filter")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            raise RuntimeError(f"answer held {TOKEN.lower()}")
        except RuntimeError:
            logger.error("request to %s failed", f"/bot{quote(TOKEN, safe='')}/x", exc_info=True, stack_info=True)
    finally:
        logger.removeHandler(handler)
    written = stream.getvalue()
    assert "request to /bot***/x failed" in written and "RuntimeError: answer held ***" in written
    assert not holds(written, TOKEN)


def test_the_logging_filter_masks_a_request_signature_even_when_no_secret_is_known() -> None:
    """An S3 target on a profile or an instance role and channels without secrets: nothing is known
    to redact, and botocore's debug log still prints each request's signature."""
    signature = "3f" * 32
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter([]))
    logger = logging.getLogger("tests.redaction.signature")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("Signature:\n%s", signature)
        logger.warning("headers %s", {"Authorization": f"AWS4-HMAC-SHA256 Credential=x, Signature={signature}"})
    finally:
        logger.removeHandler(handler)
    written = stream.getvalue()
    assert signature not in written and "Signature:\n***" in written and "Signature=***" in written


@pytest.mark.parametrize("debug", [False, True], ids=["quiet", "debug"])
def test_install_logging_silences_sdk_loggers_unless_debug_and_scrubs_every_record(
    debug: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    from broadcaster import redaction

    # A library may attach a handler of its own: silence must hold there too.
    own_handler_stream = io.StringIO()
    library_handler = logging.StreamHandler(own_handler_stream)
    logging.getLogger("telegram").addHandler(library_handler)
    try:
        with install_logging(debug):
            redaction.remember([TOKEN])
            logging.getLogger("telegram.request").error("Can not load invalid JSON data: %r", f"<html>/bot{TOKEN.upper()}</html>")
            logging.getLogger("httpx").info("HTTP Request: POST /bot%s/sendMessage", TOKEN)
            logging.getLogger("some_other_library").warning("a warning of a library we do not list")
            logging.getLogger("broadcaster.engine").warning("our own warning about %s", TOKEN.lower())
    finally:
        logging.getLogger("telegram").removeHandler(library_handler)
    errors = capsys.readouterr().err
    assert "our own warning about ***" in errors  # our warnings always show
    assert ("Can not load invalid JSON data" in errors) is debug
    assert ("Can not load invalid JSON data" in own_handler_stream.getvalue()) is debug
    assert ("HTTP Request: POST /bot***/sendMessage" in errors) is debug
    assert ("a warning of a library we do not list" in errors) is debug
    assert not holds(errors + own_handler_stream.getvalue(), TOKEN)
    assert TOKEN not in redaction.known  # the command's secrets are forgotten with it


def test_a_record_reaching_a_handler_installed_by_someone_else_is_scrubbed_too() -> None:
    """The record factory scrubs where a record is made, so a library's own handler sees no secret."""
    from broadcaster import redaction

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("tests.redaction.foreign")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with install_logging(False):
            redaction.remember([TOKEN])
            logger.warning("foreign handler got %s", TOKEN.swapcase())
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue().strip() == "foreign handler got ***"


# -- Channel.fail ----------------------------------------------------------------------

CHANNEL_OPTIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "telegram": ("token", {"chat_ids": ["@acmestatus"]}),
    "slack": ("token", {"channel": "C0123ABCD"}),
    "twitter": ("bearer_token", {}),
}


@pytest.mark.parametrize("type_name", sorted(CHANNEL_OPTIONS))
def test_channel_fail_scrubs_the_channel_secret_in_any_case(type_name: str) -> None:
    key, options = CHANNEL_OPTIONS[type_name]
    config = ChannelConfig("c", type_name, "private" if type_name != "twitter" else "public",
                           options={key: Secret("V", TOKEN), **options})
    channel = load_channel_class(type_name)(config)
    error = channel.fail("the server said: " + " ".join(variants(TOKEN)), retryable=False)
    assert not holds(str(error), TOKEN), str(error)
    assert str(error).startswith("the server said: ***")


# -- the engine, channels check and the CLI, through the CLI ----------------------------


def test_the_engine_scrubs_an_unexpected_error_before_storing_it(
    project: Project, world: FakeWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    from broadcaster.channels.telegram import TelegramChannel

    async def buggy_send(self: TelegramChannel, *args: object, **kwargs: object) -> object:
        raise RuntimeError(f"bug while posting with {TG_TOKEN.upper()} ({quote(TG_TOKEN, safe='')})")

    monkeypatch.setattr(TelegramChannel, "send", buggy_send)
    result = project.cli("post", "--yes", "--json", "--only", "tg-ops", "--title", "API errors", "Errors.")
    assert result.exit_code == 3
    errors = [d["error"] for d in json.loads(result.stdout)["deliveries"] if d["state"] == "failed"]
    assert errors and all("unexpected error: RuntimeError: bug while posting with ***" in e for e in errors)
    state = b"".join(p.read_bytes() for p in (project.root / ".broadcaster").glob("state.db*"))
    assert not holds(state.decode("utf-8", errors="replace"), TG_TOKEN)


def test_the_engine_scrubs_an_error_it_stores_as_unknown(
    project: Project, world: FakeWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request that may have arrived is stored ``unknown`` with the error and advice: scrubbed like a failure."""
    from broadcaster.channels.telegram import TelegramChannel

    from broadcaster.errors import DeliveryError

    async def unscrubbed_send(self: TelegramChannel, *args: object, **kwargs: object) -> object:
        # The bug: an error built without Channel.fail, quoting the request path in another case.
        raise DeliveryError(f"no answer from /bot{TG_TOKEN.swapcase()}/sendMessage", retryable=False,
                            outcome_unknown=True)

    monkeypatch.setattr(TelegramChannel, "send", unscrubbed_send)
    result = project.cli("post", "--yes", "--json", "--only", "tg-ops", "--title", "API errors", "Errors.")
    assert result.exit_code == 3
    unknown = [d["error"] for d in json.loads(result.stdout)["deliveries"] if d["state"] == "unknown"]
    assert unknown and all(e.startswith("no answer from /bot***/sendMessage") for e in unknown), unknown
    assert all("--mark-unknown-sent" in e for e in unknown)
    state = b"".join(p.read_bytes() for p in (project.root / ".broadcaster").glob("state.db*"))
    assert not holds(state.decode("utf-8", errors="replace"), TG_TOKEN)


def test_channels_check_scrubs_whatever_a_check_raised(
    project: Project, world: FakeWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    from broadcaster.channels.telegram import TelegramChannel

    async def buggy_check(self: TelegramChannel) -> list[object]:
        raise ValueError(f"check broke on /bot{TG_TOKEN.lower()}/getMe")

    monkeypatch.setattr(TelegramChannel, "check", buggy_check)
    result = project.cli("channels", "check")
    assert result.exit_code == 3
    assert "check broke on /bot***/getMe" in result.stdout
    assert not holds(result.stdout + result.stderr, TG_TOKEN)


@pytest.mark.parametrize("debug", [False, True], ids=["quiet", "debug"])
def test_the_cli_error_report_scrubs_message_and_traceback(
    project: Project, world: FakeWorld, monkeypatch: pytest.MonkeyPatch, debug: bool
) -> None:
    from broadcaster.cli import output

    def buggy_list(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"list broke holding {TG_TOKEN.swapcase()}")

    monkeypatch.setattr(output, "print_list", buggy_list)
    result = project.cli(*(["--debug"] if debug else []), "list")
    assert result.exit_code == 1
    assert "unexpected error (RuntimeError): list broke holding ***" in result.stderr
    assert ("Traceback" in result.stderr) is debug
    assert not holds(result.stdout + result.stderr, TG_TOKEN)


def test_show_and_export_scrub_an_error_stored_before_redaction_knew_the_secret(project: Project, world: FakeWorld) -> None:
    """A state file written by an older version may hold a token in last_error; it is never shown."""
    result = project.cli("post", "--yes", "--json", "--title", "API errors", "Errors.")
    incident = json.loads(result.stdout)["incident_id"]
    store = open_store(project.root / ".broadcaster" / "state.db")
    try:
        delivery = store.deliveries(incident_id=incident)[-1]
        store.mark_failed(delivery.id, f"old error: /bot{TG_TOKEN.lower()}/sendMessage")
    finally:
        store.close()
    outputs = [project.cli("show", incident), project.cli("show", "--json", incident), project.cli("store", "export")]
    for output in outputs:
        assert "old error: /bot***/sendMessage" in output.stdout
        assert not holds(output.stdout + output.stderr, TG_TOKEN)


def test_a_secret_is_masked_without_the_spaces_it_was_read_with() -> None:
    assert redact("POST /bot123456:aahsecret/sendMessage", ["123456:AAHsecret\r\n"]) == "POST /bot***/sendMessage"
    assert redact("Bearer xoxb-1-2-abc", [" xoxb-1-2-abc "]) == "Bearer ***"


def test_a_secret_is_masked_in_json_that_escapes_its_slashes() -> None:
    # PHP's json_encode writes "/" as "\/" by default.
    assert redact(r'{"received": "Bearer eyJ0eX\/Zm9v+c2Vj\/dG9r="}', ["Bearer eyJ0eX/Zm9v+c2Vj/dG9r="]) == '{"received": "***"}'


@pytest.mark.parametrize("cut", ["{}…", "{}...", "'{}'", '"{}"', "{}"], ids=["ellipsis", "dots", "quote", "double-quote", "end"])
def test_the_start_of_a_secret_is_masked_where_a_text_was_cut_short(cut: str) -> None:
    # An error body is cut to a few hundred characters (ours; slack-sdk's 100) before it is masked.
    secret = "DiscordTokSecret_abcdefghijklmnopqrstuvwxyz"
    text = "refused: POST /api/webhooks/123/" + cut.format(secret[:30])
    assert redact(text, [secret]) == "refused: POST /api/webhooks/123/" + cut.format("***")


def test_a_dotted_secret_cut_at_its_dot_is_masked() -> None:
    # Found by the second fix review: a JWT cut before its "." matched one character into the "...".
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl"
    assert redact('token "eyJhbGciOiJIUzI1NiJ9..."', [jwt]) == 'token "***..."'


def test_a_few_characters_like_a_secrets_start_are_left_alone() -> None:
    # Found by the suite: a token beginning with the service's name masked "Mastodon's" (an apostrophe
    # is not the quote that closes a cut excerpt).
    assert redact("up to 500 (Mastodon's default)", ["mastodon-SeCrEt-token-4f1a"]) == "up to 500 (Mastodon's default)"
    secret = "DiscordTokSecret_abcdefghijklmnopqrstuvwxyz"
    assert redact("try again later...", [secret]) == "try again later..."
    assert redact("the word Disc ends here", [secret]) == "the word Disc ends here"
    assert redact("DiscordTokSecret_x was not it", [secret]) == "DiscordTokSecret_x was not it"
