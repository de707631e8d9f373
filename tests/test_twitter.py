"""The X channel: the real tweepy client talking HTTP to FakeX on loopback.

Assertions are on what the fake received and recorded (``fake.tweets``), not on
what the channel believes it sent.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar
from urllib.parse import quote

import pytest
from broadcaster.channels.twitter import TwitterChannel
from broadcaster.messages.model import Impact, Incident, Status, Update
from broadcaster.messages.twitter import weighted_length
from broadcaster.messages.visibility import private_view

from broadcaster.config_loader import parse
from broadcaster.delivery import Receipt, Rendered, ThreadRef
from broadcaster.errors import ConfigError, DeliveryError
from broadcaster.registry import load_channel_class
from tests.fakes.base import Fault, Response
from tests.fakes.twitter import FakeX, x_weighted_length
from tests.ports import free_port
from tests.test_twitter_format import LABEL, T0, TITLE, URL, make_view

SECRETS = {
    "consumer_key": "ck-Zq81+XkTr4/nW",  # "+" and "/" get URL-encoded in logs
    "consumer_secret": "cs-P0w9LmNb2vQ",
    "access_token": "1585-at-Yt6Hv3QaZ",
    "access_token_secret": "ats-Rr5Ee7Ww1Tt",
    "bearer_token": "u2-user-Kk4Jj8Gg/Pp+q==",
}
ENV = {f"X_{key.upper()}": value for key, value in SECRETS.items()}
OAUTH1 = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")


T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@pytest.fixture(scope="module")
def server() -> Iterator[FakeX]:
    # One server per module: stopping one takes ~0.5 s (the base's shutdown poll).
    with FakeX(
        consumer_key=SECRETS["consumer_key"],
        consumer_secret=SECRETS["consumer_secret"],
        access_token=SECRETS["access_token"],
        access_token_secret=SECRETS["access_token_secret"],
        bearer_token=SECRETS["bearer_token"],
    ) as fake:
        yield fake


@pytest.fixture
def fake(server: FakeX) -> FakeX:
    server.reset()
    return server


def make_channel(
    api_url: str,
    *,
    auth: str = "oauth1",
    environ: dict[str, str] | None = None,
    timeout: float = 10.0,  # room for a loaded run: the tests of a timeout pass their own
) -> TwitterChannel:
    """A channel built the way the engine builds it: from a parsed config."""
    keys = OAUTH1 if auth == "oauth1" else ("bearer_token",)
    table = {"type": "twitter", "api_url": api_url, **{k: f"${{X_{k.upper()}}}" for k in keys}}
    config = parse({"channels": {"x": table}}, None, ENV if environ is None else environ)
    channel_class = load_channel_class(config.channels["x"].type)
    channel = channel_class(config.channels["x"])
    assert isinstance(channel, TwitterChannel)
    channel.request_timeout = timeout
    return channel


async def send_once(
    channel: TwitterChannel, rendered: Rendered, thread: ThreadRef | None = None
) -> Receipt:
    try:
        return await channel.send(rendered, target="", thread=thread)
    finally:
        await channel.aclose()


def post(
    api_url: str, rendered: Rendered, thread: ThreadRef | None = None, **kwargs: Any
) -> Receipt:
    receipt: Receipt = run(send_once(make_channel(api_url, **kwargs), rendered, thread))
    return receipt


def failure(
    api_url: str, rendered: Rendered, thread: ThreadRef | None = None, **kwargs: Any
) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        post(api_url, rendered, thread, **kwargs)
    return caught.value


def rendered(message: str = "Still investigating.", **kwargs: Any) -> Rendered:
    channel = TwitterChannel.__new__(TwitterChannel)  # render is pure: no config needed
    return channel.render(make_view(message, **kwargs))


# -- Delivery and threading ----------------------------------------------------


def test_first_update_is_a_post_with_the_rendered_text(fake: FakeX) -> None:
    update = rendered("We are looking into elevated error rates.")
    receipt = post(fake.api_url, update)
    assert len(fake.tweets) == 1
    tweet = fake.tweets[0]
    assert receipt.remote_id == f"{tweet.id}@1585"  # the account the OAuth 1.0a token is (its user id)
    assert tweet.text == update.text
    assert tweet.in_reply_to is None
    assert tweet.auth == "oauth1"  # and the fake verified the HMAC-SHA1 signature
    body = fake.received("/2/tweets")[0].json()
    assert body == {"text": update.text}


def test_three_updates_from_separate_invocations_form_one_reply_chain(fake: FakeX) -> None:
    receipts: list[Receipt] = []
    for sequence, message in enumerate(["Investigating.", "Cause found.", "Fixed."], start=1):
        thread = ThreadRef(receipts[0].remote_id, receipts[-1].remote_id) if receipts else None
        receipts.append(post(fake.api_url, rendered(message, sequence=sequence), thread))
    first, second, third = fake.tweets
    assert (first.in_reply_to, second.in_reply_to, third.in_reply_to) == (None, first.id, second.id)
    assert [r.remote_id for r in receipts] == [f"{t.id}@1585" for t in (first, second, third)]
    assert fake.thread_of(third.id) == [first, second, third]
    replies = [r.json().get("reply") for r in fake.received("/2/tweets")]
    assert replies == [
        None,
        {"in_reply_to_tweet_id": first.id},
        {"in_reply_to_tweet_id": second.id},
    ]


def test_identical_routine_updates_are_both_accepted(fake: FakeX) -> None:
    first = post(fake.api_url, rendered("Still investigating.", sequence=2))
    thread = ThreadRef(first.remote_id, first.remote_id)
    post(fake.api_url, rendered("Still investigating.", sequence=3), thread)  # same minute
    assert len(fake.tweets) == 2
    assert all("Still investigating." in t.text for t in fake.tweets)
    assert fake.tweets[0].text != fake.tweets[1].text


def test_oauth2_user_token_is_sent_as_bearer(fake: FakeX) -> None:
    post(fake.api_url, rendered(), auth="bearer")
    assert fake.tweets[0].auth == "bearer"
    header = fake.received("/2/tweets")[0].headers["authorization"]
    assert header == f"Bearer {SECRETS['bearer_token']}"


def test_api_url_with_a_path_prefix() -> None:
    with FakeX(
        consumer_key=SECRETS["consumer_key"],
        consumer_secret=SECRETS["consumer_secret"],
        access_token=SECRETS["access_token"],
        access_token_secret=SECRETS["access_token_secret"],
        prefix="/proxy/x-api",
    ) as fake:
        post(fake.url + "/proxy/x-api/", rendered())
        assert [r.path for r in fake.received()] == ["/proxy/x-api/2/tweets"]
        assert len(fake.tweets) == 1  # signed over the prefixed URL, and verified


def test_reply_to_a_deleted_post_starts_a_new_thread_with_a_note(fake: FakeX) -> None:
    receipt = post(fake.api_url, rendered(sequence=2), ThreadRef("1234", "1234"))
    assert [t.in_reply_to for t in fake.tweets] == [None]
    assert receipt.remote_id == f"{fake.tweets[0].id}@1585"
    assert "new thread" in receipt.notes[0]


def test_channel_cannot_edit() -> None:
    assert not TwitterChannel.__new__(TwitterChannel).can_edit


# -- Nasty inputs: rendered, accepted by the fake, text intact -------------------

NASTY = [
    ("html", "<script>alert(1)</script> & <b>bold</b>", "<script>alert(1)</script> & <b>bold</b>"),
    ("slack-markup", "<!channel> <@U123> *bold* _it_", "<!channel> <@U123> *bold* _it_"),
    ("markdown-chars", "*_[]()~>#+-=|{}.!", "*_[]()~>#+-=|{}.!"),
    ("emoji", "Back up 🎉👍🏽👨‍👩‍👧🇫🇷", "Back up 🎉👍🏽👨‍👩‍👧🇫🇷"),
    ("rtl", "الخدمة متوقفة حاليا. שירות מושבת", "الخدمة متوقفة حاليا. שירות מושבת"),
    ("cjk", "サービスが停止しています。调查中。", "サービスが停止しています。调查中。"),
    (
        "links",
        "Details: https://example.com/a?b=c&d=e and example.org",
        "https://example.com/a?b=c&d=e",
    ),
    ("mentions", "cc @support #outage $USD", "cc @support #outage $USD"),
    ("cjk-10k", "障害が発生しています。" * 1000, "障害が発生しています。"),
    ("emoji-10k", "🔥" * 10_000, "🔥🔥🔥"),
    (
        "latin-10k",
        ("We are investigating the elevated error rates. " * 250)[:10_000],
        "We are investigating",
    ),
    (
        "urls-10k",
        "see https://example.com/" + "p" * 60 + " " * 1 + "x " * 5000,
        "see https://example.com/",
    ),
]


@pytest.mark.parametrize(("message", "expected"), [c[1:] for c in NASTY], ids=[c[0] for c in NASTY])
def test_nasty_input_is_accepted_intact(fake: FakeX, message: str, expected: str) -> None:
    update = rendered(message, etr=T0.replace(hour=16))
    post(fake.api_url, update)
    text = fake.tweets[0].text
    assert text == update.text
    assert expected in text
    assert text.startswith(f"{LABEL}: {TITLE}")
    assert text.endswith(URL)
    assert x_weighted_length(text) <= 280 and weighted_length(text) <= 280


def test_empty_optional_fields(fake: FakeX) -> None:
    update = rendered("Investigating.", url="", etr=None, next_update_by=None)
    post(fake.api_url, update)
    assert fake.tweets[0].text == f"{LABEL}: {TITLE}\n\nInvestigating.\n\nUpdate 1 · 14:05 UTC"


def test_private_detail_never_reaches_x(fake: FakeX) -> None:
    incident = Incident(
        id="inc-1", title=TITLE, impact=Impact.MAJOR, status=Status.IDENTIFIED, created_at=T0
    )
    update = Update(
        incident_id="inc-1",
        sequence=2,
        created_at=T0,
        status=Status.IDENTIFIED,
        raw_message="Cause found. [private]db-7 disk full[/private] Fixing.",
        private_note="page Bob",
        customers=("MegaCorp",),
        tickets=("OPS-99",),
        author="alice",
    )
    channel = TwitterChannel.__new__(TwitterChannel)
    post(fake.api_url, channel.render(private_view(incident, update, url=URL)))
    text = fake.tweets[0].text
    assert "Cause found. Fixing." in text
    assert not any(s in text for s in ("db-7", "Bob", "MegaCorp", "OPS-99", "alice", "Private"))


# -- Errors ----------------------------------------------------------------------


def test_rate_limit_is_retryable_after_the_reset_time(fake: FakeX) -> None:
    fake.rate_limit(reset_in=30)
    error = failure(fake.api_url, rendered())
    assert error.retryable
    assert error.retry_after is not None and 27 <= error.retry_after <= 31
    assert "429" in str(error) and "may post again at" in str(error)
    assert fake.tweets == []


def test_rate_limit_with_retry_after_header(fake: FakeX) -> None:
    fake.rate_limit(retry_after=7)
    error = failure(fake.api_url, rendered())
    assert error.retryable and error.retry_after == 7


# (id, fault, words in the message, may the post exist?). X has no idempotency key: a failure
# that does not prove X took nothing must say the post may exist, so the engine never repeats it.
SERVER_FAULTS = [
    (
        "500",
        Fault(match="/2/tweets", response=Response(500, {"title": "Internal Server Error"})),
        "server error",
        True,
    ),
    (
        "503",
        Fault(match="/2/tweets", response=Response(503, {"title": "Service Unavailable"})),
        "over capacity (503)",
        False,
    ),
    ("reset", Fault(match="/2/tweets", reset=True), "broke before it answered", True),
    ("reset-after-posting", Fault(match="/2/tweets", reset_after=True), "may or may not exist", True),
    (
        "429-no-headers",
        Fault(match="/2/tweets", response=Response(429, {"title": "Too Many Requests"})),
        "429",
        False,
    ),
]


@pytest.mark.parametrize(
    ("fault", "says", "may_exist"), [c[1:] for c in SERVER_FAULTS], ids=[c[0] for c in SERVER_FAULTS]
)
def test_transient_failures_are_retryable(fake: FakeX, fault: Fault, says: str, may_exist: bool) -> None:
    fake.fail(fault)
    error = failure(fake.api_url, rendered())
    assert error.retryable
    assert error.outcome_unknown is may_exist
    assert says in str(error) and "will retry" not in str(error)


def test_a_refused_connection_proves_nothing_was_posted() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    error = failure(dead, rendered())
    assert error.retryable and not error.outcome_unknown
    assert "could not connect to X" in str(error)


def test_a_hanging_request_times_out_within_request_timeout(fake: FakeX) -> None:
    fake.fail(Fault(match="/2/tweets", hang=10))
    started = time.monotonic()
    error = failure(fake.api_url, rendered(), timeout=0.5)
    elapsed = time.monotonic() - started
    assert error.outcome_unknown
    assert "did not answer within 0.5 s" in str(error) and "may or may not exist" in str(error)
    assert elapsed < 3, f"took {elapsed:.1f} s"


def test_wrong_oauth1_credentials_are_permanent(fake: FakeX) -> None:
    error = failure(fake.api_url, rendered(), environ={**ENV, "X_ACCESS_TOKEN": "1585-wrong"})
    assert not error.retryable
    assert str(error).startswith("X rejected the credentials")
    assert "check consumer_key, consumer_secret, access_token and access_token_secret" in str(error)


def test_wrong_oauth2_token_is_permanent(fake: FakeX) -> None:
    error = failure(
        fake.api_url, rendered(), auth="bearer", environ={**ENV, "X_BEARER_TOKEN": "expired"}
    )
    assert not error.retryable
    assert "check bearer_token" in str(error) and "expire" in str(error)


def test_app_only_bearer_token_is_permanent_with_advice(fake: FakeX) -> None:
    environ = {**ENV, "X_BEARER_TOKEN": fake.app_bearer_token}
    error = failure(fake.api_url, rendered(), auth="bearer", environ=environ)
    assert not error.retryable
    assert "app-only" in str(error) and "user access token" in str(error)


def test_read_only_app_is_permanent_with_advice() -> None:
    with FakeX(
        consumer_key=SECRETS["consumer_key"], access_token=SECRETS["access_token"], read_only=True
    ) as fake:
        error = failure(fake.api_url, rendered())
    assert not error.retryable
    assert "Read and write" in str(error) and "regenerate" in str(error)


def test_duplicate_post_is_not_retried_and_says_it_is_probably_there(fake: FakeX) -> None:
    """X's refusal of an exact duplicate is the nearest it has to an idempotency key:
    a resend of a post that had arrived comes back as this, so it counts as maybe posted."""
    update = rendered()
    post(fake.api_url, update)
    error = failure(fake.api_url, update)
    assert not error.retryable and error.outcome_unknown
    assert "duplicate" in str(error) and "earlier attempt did post it" in str(error)
    assert len(fake.tweets) == 1


def test_too_long_post_is_permanent(fake: FakeX) -> None:
    error = failure(fake.api_url, Rendered(text="日本" * 150, visibility="public"))
    assert not error.retryable
    assert "too long (600 of 280" in str(error)
    assert fake.tweets == []


def test_wrong_api_url_path_is_permanent(fake: FakeX) -> None:
    error = failure(fake.url + "/not-x", rendered())
    assert not error.retryable
    assert "404" in str(error) and "api_url" in str(error)


def test_unset_environment_variable_is_a_permanent_delivery_error(fake: FakeX) -> None:
    environ = {k: v for k, v in ENV.items() if k != "X_ACCESS_TOKEN_SECRET"}
    error = failure(fake.api_url, rendered(), environ=environ)
    assert not error.retryable
    assert "X_ACCESS_TOKEN_SECRET" in str(error)
    assert fake.received() == []


# -- Secrets never leak ------------------------------------------------------------

LEAK_CASES = [
    ("oauth1-ok", "oauth1", None, {}),
    ("bearer-ok", "bearer", None, {}),
    ("oauth1-bad-token", "oauth1", None, {"X_ACCESS_TOKEN": "1585-bad-token-Q9"}),
    ("bearer-bad-token", "bearer", None, {"X_BEARER_TOKEN": "bad-bearer-Zx8"}),
    ("oauth1-500", "oauth1", Fault(response=Response(500, {"title": "boom"})), {}),
    ("bearer-500", "bearer", Fault(response=Response(500, {"title": "boom"})), {}),
    ("oauth1-reset", "oauth1", Fault(reset=True), {}),
    ("bearer-reset", "bearer", Fault(reset=True), {}),
    ("oauth1-timeout", "oauth1", Fault(hang=5), {}),
    ("bearer-timeout", "bearer", Fault(hang=5), {}),
]


@pytest.mark.parametrize(
    ("auth", "fault", "env_override"), [c[1:] for c in LEAK_CASES], ids=[c[0] for c in LEAK_CASES]
)
def test_no_secret_in_errors_or_debug_logs(
    fake: FakeX,
    caplog: pytest.LogCaptureFixture,
    auth: str,
    fault: Fault | None,
    env_override: dict[str, str],
) -> None:
    environ = {**ENV, **env_override}
    if fault:
        fake.fail(fault)
    caplog.set_level(logging.DEBUG)
    outcome = ""
    try:
        post(fake.api_url, rendered(), auth=auth, environ=environ, timeout=0.5)
    except DeliveryError as exc:
        outcome = str(exc)
    checked = run(_check_text(make_channel(fake.api_url, auth=auth, environ=environ, timeout=0.5)))
    assert "Making API request" in caplog.text, "DEBUG records of the SDK were not captured"
    for secret in environ.values():
        once = quote(secret, safe="")
        for form in {secret, once, quote(once, safe="")}:  # oauthlib's base string encodes twice
            assert form not in outcome
            assert form not in checked
            assert form not in caplog.text


async def _check_text(channel: TwitterChannel) -> str:
    try:
        return " ".join(r.detail for r in await channel.check())
    finally:
        await channel.aclose()


# -- check() ---------------------------------------------------------------------


def test_check_reports_the_account(fake: FakeX) -> None:
    results = run(_checked(make_channel(fake.api_url)))
    assert [(r.ok, r.detail) for r in results] == [(True, "authenticated as @acme_status")]
    assert fake.tweets == []
    assert fake.received()[0].path == "/2/users/me"


def test_check_with_the_oauth2_token(fake: FakeX) -> None:
    results = run(_checked(make_channel(fake.api_url, auth="bearer")))
    assert results[0].ok and results[0].detail == "authenticated as @acme_status"


def test_check_reports_bad_credentials(fake: FakeX) -> None:
    results = run(
        _checked(make_channel(fake.api_url, environ={**ENV, "X_CONSUMER_KEY": "nope-nope"}))
    )
    assert not results[0].ok
    assert "X rejected the credentials" in results[0].detail


async def _checked(channel: TwitterChannel) -> list[Any]:
    try:
        return await channel.check()
    finally:
        await channel.aclose()


# -- Configuration -------------------------------------------------------------------

CONFIG_ERRORS = [
    ("nothing", {}, "needs X credentials"),
    (
        "partial-oauth1",
        {"consumer_key": "${A}", "consumer_secret": "${B}"},
        "is missing access_token, access_token_secret",
    ),
    ("both-sets", {**{k: "${A}" for k in OAUTH1}, "bearer_token": "${B}"}, "Keep one set"),
    ("plain-secret", {"bearer_token": "abc123"}, "holds a secret written in the file"),
    ("private", {"bearer_token": "${B}", "visibility": "private"}, "can only be public"),
    ("unknown-key", {"bearer_token": "${B}", "bearer": "${C}"}, "unknown key"),
]


@pytest.mark.parametrize(
    ("table", "says"), [c[1:] for c in CONFIG_ERRORS], ids=[c[0] for c in CONFIG_ERRORS]
)
def test_config_mistakes_are_refused(table: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(
            {"channels": {"x": {"type": "twitter", **table}}}, None, {"A": "a", "B": "b", "C": "c"}
        )
    assert says in str(caught.value)
    # The table, then a key of it ("channels.x.bearer_token: ...") or what is wrong with the table ("channels.x: is
    # missing ..."); review 52b: "channels.x.is missing" ran the table into the sentence.
    assert "channels.x." in str(caught.value) or "channels.x: " in str(caught.value)


@pytest.mark.parametrize("keys", [OAUTH1, ("bearer_token",)], ids=["oauth1", "oauth2-user-token"])
def test_complete_credential_sets_are_accepted(keys: tuple[str, ...]) -> None:
    config = parse(
        {"channels": {"x": {"type": "twitter", **{k: "${V}" for k in keys}}}}, None, {"V": "v"}
    )
    assert config.channels["x"].visibility == "public"
    assert config.channels["x"].api_url is None
    assert TwitterChannel(config.channels["x"]).api_url == "https://api.twitter.com"
