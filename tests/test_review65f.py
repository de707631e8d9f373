"""Review 65f: digits that only look like digits, a correction's note that misread itself, `retry` beside a live post.

1. ``str.isdigit()`` is true for a superscript "²", which ``int()`` and ``float()`` refuse, and for another script's
   digit "٣", which they read as 3. `bot run --listen 127.0.0.1:84²` ended "unexpected error (ValueError)", exit 1,
   and `--listen 127.0.0.1:٨٤٤٣` listened on 8443; X's 429 with ``Retry-After: ²`` crashed the send; a Mastodon
   answer whose ``X-RateLimit-Reset`` was "²" passed our check as a number, and Mastodon.py then failed to read it,
   so a status that was posted was recorded of unknown fate; an S3 manifest's ``"generation": "²"`` crashed the
   publish. Each now takes the digits 0-9 alone.
2. A correction that could not edit its original, whose new post then failed or was of unknown fate, still said on
   Mastodon "Posted the correction as a new status here" or "The correction goes as a new status here": the engine
   reworded a lowercase pattern alone. Channels now give their reason apart (``PostedAnew``), worded by the engine.
3. `retry` with something to send beside a live post still sending said "Tried 1 delivery, 1 sent:" and nothing of
   what the post was still sending (``sending_here``): it now says so, as its "Nothing to resend" line did.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from broadcaster.site.hosts._s3_manifest import MANIFEST_NAME, Remote
from tests.conftest import Project
from tests.fakes.base import Fault, Request, Response
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.s3 import S3Server
from tests.fakes.twitter import TOO_MANY
from tests.fakes.world import FakeWorld
from tests.social import M_TOKEN
from tests.test_hosts_s3 import SITE, make_host, write_site
from tests.test_interrupted_send import mastodon_alone
from tests.test_review63b import CHATS
from tests.test_wire_review17 import post, state_of

BOT = """
[bot]
type = "telegram"
token = "${BOT_TOKEN}"
api_url = "http://127.0.0.1:9/"
"""


@pytest.mark.parametrize("port", ["84²", "٨٤٤٣"])
def test_a_listen_port_in_other_digits_than_0_to_9_is_refused(project: Project, port: str) -> None:
    project.write_config(BOT)
    project.env["BOT_TOKEN"] = "123456:bot-token"
    refused = project.cli("bot", "run", "--webhook", "https://bot.example/hook", "--listen", f"127.0.0.1:{port}")
    assert refused.exit_code == 2, refused.output
    assert "unexpected error" not in refused.output and "digits 0-9" in refused.output, refused.output


@pytest.mark.parametrize("header", ["²", "³"])
def test_x_retry_after_in_superscript_digits_is_read_as_no_header(world: FakeWorld, project: Project, header: str) -> None:
    """A header is Latin-1 on the wire: "²" and "³" reach tweepy as they are (another script's digit never does)."""
    world.x.fail(Fault(match="/2/tweets", response=Response(429, TOO_MANY, {"Retry-After": header})))
    sent = post(project)
    assert sent["exit"] == 0, sent["output"]
    x = state_of(sent, "x")
    assert x["state"] == "sent" and x["attempts"] == 2, x  # a rate limit of unknown wait, retried: no crash
    assert len(world.x.tweets) == 1


def _reset_header_on_every_answer(fake: FakeMastodon, value: str) -> None:
    real = fake.dispatch

    def dispatch(request: Request) -> Response:
        answer = real(request)
        return Response(answer.status, answer.body, {**answer.headers, "X-RateLimit-Reset": value},
                        answer.content_type)

    fake.dispatch = dispatch  # type: ignore[method-assign]


def test_a_posted_status_whose_rate_limit_reset_is_a_superscript_is_sent_not_unknown(project: Project) -> None:
    with FakeMastodon() as fake:
        fake.reset(token=M_TOKEN)
        mastodon_alone(project, fake)
        _reset_header_on_every_answer(fake, "²")
        sent = post(project)
        assert len(fake.statuses) == 1, sent["output"]
        assert sent["exit"] == 0, sent["output"]
        assert state_of(sent, "masto")["state"] == "sent", sent["output"]


def _manifest_with_generation(s3: S3Server, bucket: str, generation: str) -> None:
    manifest = json.loads(s3.body(bucket, MANIFEST_NAME))
    manifest.pop("sealed", None)
    manifest["generation"] = generation
    s3.client().put_object(Bucket=bucket, Key=MANIFEST_NAME, Body=json.dumps(manifest).encode())


def test_an_s3_manifest_whose_generation_is_not_in_digits_0_to_9_is_read_as_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    site = write_site(tmp_path / "public", SITE)
    with S3Server() as s3:
        s3.create_bucket("status-65f")
        asyncio.run(make_host(s3.url, "status-65f", tmp_path).publish(site))
        _manifest_with_generation(s3, "status-65f", "²")
        asyncio.run(make_host(s3.url, "status-65f", tmp_path / "elsewhere").publish(site))  # read from the bucket
        assert json.loads(s3.body("status-65f", MANIFEST_NAME))["version"]
    other_script = {"version": 1, "files": {}, "generation": "٣"}
    assert Remote.of_document(other_script, None).generation == 0


# 2. A correction that cannot edit its original goes as a new post, and the channel's note says so. Where that new
# post failed or its fate was unknown, the engine reworded "posted the correction as a new ..." alone: Mastodon's
# "Posted the correction as a new status here" (another account's status) and "The correction goes as a new status
# here" (the preview's words, kept for the send) were left as they were, saying it went.

OTHER_TOKEN = "mastodon-another-accounts-token-9c2e"


def _mastodon_whose_token_changed(project: Project, fake: FakeMastodon) -> str:
    """An incident posted on account 1001's token, then access_token changed to account 2002's: a correction of its
    first status cannot edit it (only the account that posted a status may), and goes as a new status."""
    fake.reset(token=M_TOKEN)
    mastodon_alone(project, fake)
    first = post(project)
    assert first["exit"] == 0, first["output"]
    fake.add_account(OTHER_TOKEN, "2002", "other")
    project.env["MASTODON_TOKEN"] = OTHER_TOKEN
    return str(first["incident_id"])


def _new_statuses(fault: Fault) -> list[Fault]:
    return [fault] * 6


@pytest.mark.parametrize(("fault", "state", "fate"), [
    (Fault(match="/api/v1/statuses", when=lambda r: r.method == "POST",   # refused: nothing posted
     response=Response(422, {"error": "Validation failed: Text can't be blank"})),
     "failed", "did not go"),
    (Fault(match="/api/v1/statuses", when=lambda r: r.method == "POST", reset_after=True),
     "unknown", "may or may not have gone"),
])
def test_a_mastodon_correction_whose_new_status_did_not_go_is_not_said_posted(
    project: Project, fault: Fault, state: str, fate: str,
) -> None:
    with FakeMastodon() as fake:
        incident = _mastodon_whose_token_changed(project, fake)
        fake.fail(*_new_statuses(fault))
        code, out = project.cli_json("amend", "--yes", incident, "1", "Errors on the whole API.")
        [corrected] = [d for d in out["deliveries"] if d["destination"] == "masto"]
        assert code == 3 and corrected["state"] == state, corrected
        said = " ".join(corrected["notes"])
        assert fate in said and "correct the original by hand" in said, said
        assert "posted the correction as a new status" not in said.lower(), said
        assert "the correction goes as a new status" not in said.lower(), said


def test_a_mastodon_correction_retried_in_a_new_process_that_did_not_go_is_not_said_posted(project: Project) -> None:
    """`retry` in its own process asks which account the token is for only as the edit is tried (inside the event
    loop), so the channel's edit says it cannot: its words were "Posted the correction as a new status here"."""
    refused = Fault(match="/api/v1/statuses", when=lambda r: r.method == "POST",
                    response=Response(422, {"error": "Validation failed: Text can't be blank"}))
    with FakeMastodon() as fake:
        incident = _mastodon_whose_token_changed(project, fake)
        fake.fail(*_new_statuses(refused))
        code, _ = project.cli_json("amend", "--yes", incident, "1", "Errors on the whole API.")
        assert code == 3
        fake.fail(*_new_statuses(refused))
        retried = project.process("retry", incident, "--json")
        out, err = retried.communicate(timeout=60)
        assert retried.returncode == 3, (out, err)
        [corrected] = [d for d in json.loads(out)["deliveries"] if d["destination"] == "masto"]
        said = " ".join(corrected["notes"])
        assert corrected["state"] == "failed" and "did not go" in said, corrected
        assert "posted the correction as a new status" not in said.lower(), said
        assert [s.account_id for s in fake.posted] == ["1001"]


# 3. `retry` beside a live post still sending, with something of its own to send: "Tried 1 delivery, 1 sent:" and
# nothing of the deliveries the post was sending right then (`--json` counts them: sending_here; the "Nothing to
# resend" line says so). Read alone, the summary said everything was done.

def test_a_retry_with_something_to_send_beside_a_post_still_sending_says_what_the_post_still_sends(
    project: Project,
) -> None:
    with FakeWorld(ops_chats=CHATS) as world:
        project.env.update(world.env)
        project.write_config("[engine]\ntimeout = 5\ndeadline = 60\nmax_attempts = 1\n" + world.channels_toml())
        world.x.fail(Fault(match="/2/tweets", response=Response(503, {"title": "Service Unavailable"})))
        first = post(project, "--only", "x")
        assert first["exit"] == 3 and state_of(first, "x")["state"] == "failed", first["output"]
        paced = project.process("post", "--yes", "--only", "tg-ops", "--title", "DB errors", "-C", "db",
                                "Elevated database errors.")
        waited_until = time.monotonic() + 30
        while sum(bool(world.telegram_messages(c)) for c in CHATS) < 10 and time.monotonic() < waited_until:
            time.sleep(0.05)
        retried = project.cli("retry")
        told = sum(bool(world.telegram_messages(c)) for c in CHATS)
        output, errors = paced.communicate(timeout=90)
        assert paced.returncode == 0, output + errors
        assert told < len(CHATS), told  # the retry ran while the post was still sending
    said = " ".join(retried.output.split())
    assert retried.exit_code == 0 and "Tried 1 delivery, 1 sent:" in said, said
    assert "still being sent by another command on this machine" in said, said
