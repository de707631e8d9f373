"""The whole path to off-net hosting through the CLI: post with the embedded defaults and an S3 target,
then read the page back from the S3 server; S3 faults handled by the engine like any destination's."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Project
from tests.fakes.s3 import PUBLISH_ENV, S3Fault, S3Server

BUCKET = "acme-status"


def s3_toml(server: S3Server) -> str:
    """The engine's limits and the bucket ``server`` serves, as ``[publish.bucket]``."""
    return textwrap.dedent("""
        [engine]
        timeout = 3
        deadline = 20
        max_attempts = 4
    """) + server.publish_toml(BUCKET)


@pytest.fixture
def s3(project: Project) -> Iterator[S3Server]:
    with S3Server() as server:
        server.create_bucket(BUCKET)
        project.write_config(s3_toml(server))
        project.env.update(PUBLISH_ENV)
        yield server


def fetch(server: S3Server, key: str) -> str:
    return server.body(BUCKET, key).decode()


def post(project: Project, *args: str) -> tuple[int, dict[str, Any]]:
    result = project.cli("post", "--yes", "--json", *args)
    assert result.stdout, result.stderr
    return result.exit_code, json.loads(result.stdout)


def test_post_with_the_embedded_default_and_s3_puts_the_page_on_the_server(project: Project, s3: S3Server) -> None:
    code, payload = post(project, "--title", "API errors", "-C", "api", "--private", "PRIVNOTE-42", "Elevated errors.")
    assert code == 0, payload
    assert {d["destination"]: d["state"] for d in payload["deliveries"]} == {"site": "sent", "bucket": "sent"}
    index = fetch(s3, "index.html")
    assert "Elevated errors." in index and "API errors" in index
    incident_page = fetch(s3, f"incidents/{payload['incident_id']}.html")
    assert "Elevated errors." in incident_page
    assert "Elevated errors." in fetch(s3, "feed.xml")
    summary = json.loads(fetch(s3, "summary.json"))
    assert summary["incidents"][0]["id"] == payload["incident_id"]
    for key in ("index.html", "feed.xml", "atom.xml", "summary.json", f"incidents/{payload['incident_id']}.html"):
        assert "PRIVNOTE-42" not in fetch(s3, key)

    code, second = post(project, "-i", payload["incident_id"], "-s", "identified", "Cause found.")
    assert code == 0
    assert "Cause found." in fetch(s3, "index.html")


def test_slow_down_twice_then_ok(project: Project, s3: S3Server) -> None:
    # The S3 client retries once by itself; four SlowDowns make the engine retry too.
    s3.fail(S3Fault(match=".html", status=503, code="SlowDown", times=4))
    code, payload = post(project, "--title", "API errors", "Elevated errors.")
    assert code == 0, payload
    bucket = next(d for d in payload["deliveries"] if d["destination"] == "bucket")
    assert bucket["state"] == "sent" and bucket["attempts"] >= 2
    assert "Elevated errors." in fetch(s3, "index.html")


def test_a_reset_is_retried(project: Project, s3: S3Server) -> None:
    # The incident page's light put (and its one repeat when the connection was a kept one), then boto3's
    # two attempts of it: six resets of that one file fail the first attempt whichever way it went, and the
    # engine's retry is what succeeds. (Three failed to when the light put's connection was a kept one.)
    s3.fail(S3Fault(match="/incidents/", reset=True, times=6))
    code, payload = post(project, "--title", "API errors", "Elevated errors.")
    assert code == 0, payload
    assert next(d for d in payload["deliveries"] if d["destination"] == "bucket")["attempts"] >= 2


def test_bad_credentials_fail_at_once_the_site_is_still_built_and_retry_uploads_later(project: Project, s3: S3Server) -> None:
    key, secret = s3.create_user("publisher", ["s3:*"])
    s3.enable_auth()
    project.env.update({"S3_KEY": "AKIAWRONGWRONG", "S3_SECRET": "wrong-secret-value"})
    code, payload = post(project, "--title", "API errors", "Elevated errors.")
    assert code == 3
    states = {d["destination"]: d for d in payload["deliveries"]}
    assert states["site"]["state"] == "sent"
    assert states["bucket"]["state"] == "failed" and states["bucket"]["attempts"] == 1
    assert "wrong-secret-value" not in states["bucket"]["error"]
    assert (project.site / "index.html").exists()

    project.env.update({"S3_KEY": key, "S3_SECRET": secret})
    retried = project.cli("retry", "--json")
    assert retried.exit_code == 0, retried.stdout
    s3.disable_auth()
    assert "Elevated errors." in fetch(s3, "index.html")


def test_each_s3_server_starts_as_a_fresh_endpoint() -> None:
    """moto keeps buckets in the process: a test that checks a page is missing saw an earlier
    test's pages in a bucket of the same name (tests/fakes/s3.py empties moto between servers)."""
    with S3Server() as first:
        first.create_bucket(BUCKET)
        first.client().put_object(Bucket=BUCKET, Key="incidents/earlier.html", Body=b"<p>earlier</p>")
        assert "incidents/earlier.html" in first.objects(BUCKET)
    with S3Server() as second:
        assert second.client().list_buckets()["Buckets"] == []
        second.create_bucket(BUCKET)
        assert second.objects(BUCKET) == {}


def test_with_a_bucket_the_other_sends_wait_for_the_site_build(project: Project, s3: S3Server) -> None:
    """Issue 20: the upload is the slowest chain (the build, then two rounds of requests), so the other
    destinations' sends, and their SDKs' imports, wait for the build instead of sharing the GIL with it."""
    from tests.fakes.world import FakeWorld

    with FakeWorld() as world:
        project.write_config(s3_toml(s3) + world.channels_toml())
        project.env.update(world.env)
        wall_minus_monotonic = time.time() - time.monotonic()
        code, payload = post(project, "--title", "API errors", "-C", "api", "Elevated errors.")

        assert code == 0 and {d["state"] for d in payload["deliveries"]} == {"sent"}, payload
        built = max(p.stat().st_mtime for p in (project.root / "public").rglob("*") if p.is_file())
        # The posts themselves: the names of shared rooms are looked up before anything is stored.
        sends = [r.at + wall_minus_monotonic for fake in (world.x, world.telegram, world.slack) for r in fake.requests
                 if r.path.endswith(("/tweets", "/sendMessage", "/chat.postMessage"))]
        assert len(sends) == 5 and min(sends) >= built, (min(sends) - built, "a send left before the site was built")


def test_with_a_bucket_the_other_sends_wait_for_its_client_but_not_for_the_answer_to_its_read(
    project: Project, s3: S3Server
) -> None:
    """The host's warm-up makes its client (boto3's import, where boto3 is used: CPU the others' imports
    would share) and asks for the manifest. Waiting for the answer takes no CPU: a slow read holds the
    bucket's changed pages back, not the other destinations."""
    from broadcaster.site.hosts._s3_manifest import MANIFEST_NAME
    from tests.fakes.world import FakeWorld

    with FakeWorld() as world:
        project.write_config(s3_toml(s3) + world.channels_toml())
        project.env.update(world.env)
        s3.fail(S3Fault(match=MANIFEST_NAME, delay=2.0))  # the read answers two seconds late
        code, payload = post(project, "--only", "bucket,x", "--title", "API errors", "-C", "api", "Elevated errors.")

        states = {d["destination"]: d["state"] for d in payload["deliveries"]}
        assert code == 0 and states["bucket"] == states["x"] == "sent", payload
        read = next(r for r in s3.requests if r.method == "GET" and r.path.endswith(MANIFEST_NAME))
        tweets = world.x.received("/tweets")
        assert len(tweets) == 1 and tweets[0].at < read.at + 2.0, tweets[0].at - read.at


def test_a_post_with_a_bucket_never_imports_boto3_when_every_request_succeeds(project: Project, s3: S3Server) -> None:
    """Issue 20: boto3's import and client (0.2 s of CPU) held the bucket's first upload back. With the
    keys and region given, the read and the uploads are signed here (``_s3_light``); boto3 is only for
    what those did not see succeed."""
    for title in ("API errors", "DNS errors"):  # the first publish, then one from this machine's copy
        process = project.process("post", "--yes", "--json", "--title", title, "Elevated errors.",
                                  env={"PYTHONPROFILEIMPORTTIME": "1"})
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err[-2000:]
        payload = json.loads(out)
        assert {d["state"] for d in payload["deliveries"]} == {"sent"}, payload
        imported = {line.rsplit("|", 1)[-1].strip() for line in err.splitlines() if line.startswith("import time:")}
        # The profile is there (modules imported with importlib.import_module are not in it: the host's own).
        assert "broadcaster.site.hosts._s3_manifest" in imported
        assert not {"boto3", "botocore"} & imported
        assert "Elevated errors." in fetch(s3, f"incidents/{payload['incident_id']}.html")
    assert not [r for r in s3.requests if "Boto3" in r.headers.get("user-agent", "")]


def test_a_follow_up_puts_its_changed_page_up_before_the_bucket_answers_the_read(project: Project, s3: S3Server) -> None:
    """Issue 20: a follow-up takes two dependent round trips after the build too. Its changed page replaces the one
    this machine put there (``If-Match`` on the ETag the bucket gave it) while the read of the manifest is out; the
    index, feeds and JSON follow with the manifest."""
    from broadcaster.site.hosts._s3_manifest import MANIFEST_NAME

    code, first = post(project, "--title", "API errors", "-C", "api", "Elevated errors.")
    assert code == 0, first
    page = f"incidents/{first['incident_id']}.html"
    s3.clear()
    s3.fail(S3Fault(match=MANIFEST_NAME, method="GET", delay=1.5))  # the read answers late
    code, payload = post(project, "-i", first["incident_id"], "Errors are falling.")

    assert code == 0 and {d["state"] for d in payload["deliveries"]} == {"sent"}, payload
    read = next(r for r in s3.requests if r.method == "GET" and r.path.endswith(MANIFEST_NAME))
    [put] = s3.received("PUT", page)
    assert put.headers.get("if-match") and put.at < read.answered, (put.headers, put.at - read.answered)
    index = next(r for r in s3.received("PUT", "index.html"))
    assert index.at >= put.answered  # the pages first, then what links to them
    assert "Errors are falling." in fetch(s3, page)
    assert not [r for r in s3.requests if "Boto3" in r.headers.get("user-agent", "")]


def test_a_post_to_telegram_leaves_httpx_command_line_client_unloaded(project: Project, world: Any) -> None:
    """Issue 20: ``import httpx`` loads httpx's own CLI (rich's tables and progress bars, pygments) when
    click and rich are installed, about 60 ms of CPU on every Telegram post. The console script leaves it
    unloaded (``cli.UNUSED_IMPORTS``); the messages go out all the same."""
    process = project.process("post", "--yes", "--json", "--only", "tg-public,tg-ops", "--title", "API errors",
                              "Elevated errors.", env={"PYTHONPROFILEIMPORTTIME": "1"})
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err[-2000:]
    payload = json.loads(out)
    sent = [d for d in payload["deliveries"] if d["state"] == "sent"]
    assert {d["destination"] for d in sent} == {"tg-public", "tg-ops"} and len(sent) == 3, payload
    imported = {line.rsplit("|", 1)[-1].strip() for line in err.splitlines() if line.startswith("import time:")}
    assert {"httpx", "telegram"} <= imported  # the profile is there, and holds the SDK that was used
    # (httpx._main itself is in the profile: its import was tried, and halted at once.)
    assert not {"pygments", "rich.syntax", "rich.progress"} & imported
    assert len(world.telegram.received("sendMessage")) == 3


def test_a_stuck_build_holds_the_other_sends_back_a_quarter_of_the_deadline_at_most(
    project: Project, s3: S3Server
) -> None:
    """The head start is a courtesy: while another process holds the site folder's lock past the
    deadline, the bucket's delivery fails with it, and X is posted all the same."""
    from tests.fakes.world import FakeWorld

    with FakeWorld() as world:
        project.write_config(s3_toml(s3).replace("deadline = 20", "deadline = 3") + world.channels_toml())
        project.env.update(world.env)
        assert post(project, "--only", "site", "--title", "Warm-up", "-C", "api", "The folder is made.")[0] == 0
        with subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from pathlib import Path
            from broadcaster.site.source import site_lock
            with site_lock(Path({str(project.root / "public")!r})):
                print("held", flush=True)
                time.sleep(4.5)
        """)], stdout=subprocess.PIPE, text=True) as holder:  # closes its pipe, waits for it
            assert holder.stdout is not None and holder.stdout.readline() == "held\n"
            code, payload = post(project, "--only", "bucket,x", "--title", "API errors", "-C", "api", "Elevated errors.")

        states = {d["destination"]: d["state"] for d in payload["deliveries"] if d["destination"] in ("bucket", "x")}
        assert code == 3 and states["x"] == "sent" and states["bucket"] != "sent", payload
        assert len(world.x.received("/tweets")) == 1


def test_a_bucket_whose_client_cannot_be_made_fails_alone_and_quietly(project: Project, s3: S3Server) -> None:
    """The head start waits on the host's warm-up; when that fails (here boto3 refuses the endpoint),
    the upload reports it, X is posted, and asyncio prints no "exception was never retrieved"."""
    from tests.fakes.world import FakeWorld

    with FakeWorld() as world:
        # An https URL whose host botocore refuses (an http one to another machine, this host too, is refused at
        # config load: the read-ahead would send it a signed request in clear text).
        project.write_config(s3_toml(s3).replace(f'endpoint_url = "{s3.url}"', 'endpoint_url = "https://not_a_host"')
                             + world.channels_toml())
        project.env.update(world.env)
        result = project.cli("--debug", "post", "--yes", "--json", "--only", "bucket,x", "--title", "API errors",
                             "-C", "api", "Elevated errors.")  # --debug: asyncio's own log would show

        deliveries = {d["destination"]: d for d in json.loads(result.stdout)["deliveries"] if d["state"] != "skipped"}
        assert result.exit_code == 3 and {k: d["state"] for k, d in deliveries.items()} == {"bucket": "failed", "x": "sent"}
        assert "cannot make an S3 client" in deliveries["bucket"]["error"]
        assert "publish.bucket.endpoint_url" in deliveries["bucket"]["error"]
        assert "unexpected" not in deliveries["bucket"]["error"]
        assert "never retrieved" not in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_a_password_written_into_the_endpoint_url_is_not_repeated(project: Project, s3: S3Server) -> None:
    """boto3 repeats an endpoint it cannot use; a password written into it is scrubbed like the keys.
    (One that is not an http(s) URL at all is refused at config load: test_hosts_s3.)"""
    # https: an http:// endpoint to another machine (even one botocore refuses) is refused at config load.
    project.write_config(s3_toml(s3).replace(f'endpoint_url = "{s3.url}"', 'endpoint_url = "https://ops:hunter2-s3cr3t@bad_host"'))
    result = project.cli("post", "--yes", "--json", "--title", "API errors", "-C", "api", "Elevated errors.")

    bucket = next(d for d in json.loads(result.stdout)["deliveries"] if d["destination"] == "bucket")
    assert bucket["state"] == "failed" and "https://ops:***@bad_host" in bucket["error"], bucket
    assert "hunter2-s3cr3t" not in result.stdout + result.stderr
    state = b"".join(f.read_bytes() for f in (project.root / ".broadcaster").rglob("*") if f.is_file())
    assert b"bad_host" in state and b"hunter2-s3cr3t" not in state  # the failure is recorded, scrubbed


def test_a_post_that_will_not_ask_reads_the_bucket_once_as_its_table_is_read(project: Project, s3: S3Server) -> None:
    """Issue 20: with --yes the manifest's conditional read leaves as soon as the config's [publish] table is
    read (that it leaves before the draft is checked: the refused post below); the warm-up takes that read
    over instead of asking again, so the bucket is asked once."""
    from broadcaster.site.hosts._s3_manifest import MANIFEST_NAME

    code, first = post(project, "--title", "API errors", "-C", "api", "Elevated errors.")
    assert code == 0, first
    s3.clear()
    code, second = post(project, "-i", first["incident_id"], "-s", "identified", "Cause found.")

    reads = s3.received("GET", MANIFEST_NAME)
    assert code == 0 and {d["state"] for d in second["deliveries"]} == {"sent"}, second
    assert len(reads) == 1 and "if-none-match" in reads[0].headers, [(r.method, r.path) for r in s3.requests]
    assert "Cause found." in fetch(s3, "index.html")


def test_a_refused_post_has_stored_and_sent_nothing_and_does_not_wait_for_its_read_ahead(
    project: Project, s3: S3Server
) -> None:
    """The read ahead leaves before the gate checks the draft. A refusal then exits 2 at once: the read
    changed nothing, nothing was stored or uploaded, and the process does not wait for an answer that
    is late (here 8 s, longer than the read's own 5 s timeout)."""
    from broadcaster.site.hosts._s3_manifest import MANIFEST_NAME

    s3.fail(S3Fault(match=MANIFEST_NAME, delay=8.0))
    started = time.monotonic()
    # A Cyrillic "е" in the closing marker: the gate refuses a marker lookalike instead of publishing it.
    with project.process("post", "--yes", "--title", "API errors", "Elevated errors [private]edge-7[/privatе].") as cli:
        _, stderr = cli.communicate(timeout=60)
    elapsed = time.monotonic() - started

    assert cli.returncode == 2, stderr
    assert s3.delayed.is_set(), "the manifest's read did not leave"
    assert s3.requests == [], [(r.method, r.path) for r in s3.requests]  # nothing else: no upload
    assert elapsed < 5.0, f"the refused command waited {elapsed:.1f} s for its read ahead"
    listed = project.cli("list", "--json")
    assert listed.exit_code == 0 and json.loads(listed.stdout) == [], "something was stored"


@pytest.mark.parametrize("args", [
    ("--dry-run",),  # a preview sends nothing
    (),  # asks first (here it refuses: not a terminal)
    ("--yes", "--only", "site"),
    ("--yes", "--skip", "bucket"),
    ("--yes", "--only", "buckt"),  # misspelt: refused with a suggestion, read nothing
], ids=["dry-run", "asking", "only-site", "skip-bucket", "misspelt"])
def test_no_read_ahead_where_the_bucket_is_not_published_to_without_asking(
    project: Project, s3: S3Server, args: tuple[str, ...]
) -> None:
    result = project.cli("post", *args, "--title", "API errors", "-C", "api", "Elevated errors.")
    assert result.exit_code in (0, 2), result.output
    assert s3.requests == [], [(r.method, r.path) for r in s3.requests]


def test_a_read_ahead_ends_with_its_command(project: Project, s3: S3Server) -> None:
    """A refused post's read is not left for the next command of the same process (the bot, tests) to
    take over: `site publish` afterwards asks the bucket itself."""
    from broadcaster.site.hosts._s3_manifest import MANIFEST_NAME

    assert post(project, "--title", "API errors", "-C", "api", "Elevated errors.")[0] == 0
    s3.clear()
    refused = project.cli("post", "--yes", "--title", "API errors", "Elevated errors [private]edge-7[/privatе].")
    assert refused.exit_code == 2, refused.output
    deadline = time.monotonic() + 5
    while not s3.received("GET", MANIFEST_NAME) and time.monotonic() < deadline:
        time.sleep(0.01)
    s3.clear()  # the refused post's read has been answered

    published = project.cli("site", "publish")
    assert published.exit_code == 0, published.output
    assert len(s3.received("GET", MANIFEST_NAME)) == 1, "the refused post's read was taken over"


def test_a_bucket_that_never_completes_tls_does_not_hold_up_a_refusal(project: Project, s3: S3Server) -> None:
    """The command waits a moment for its reads to leave, not for each one as long as a first request may
    take: two buckets whose TLS handshakes never end cost a refused post a quarter of a second in all."""
    import socket

    def refused_post() -> float:
        started = time.monotonic()
        with project.process("post", "--yes", "--title", "API errors", "Elevated errors [private]x[/privatе].") as cli:
            _, stderr = cli.communicate(timeout=60)
        assert cli.returncode == 2, stderr
        return time.monotonic() - started

    project.write_config(s3_toml(s3))
    alike = refused_post()  # the same refusal beside answering buckets: this moment's start-up, measured side by side
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts connections, never answers
        endpoint = f"https://127.0.0.1:{silent.getsockname()[1]}"
        silent_bucket = s3.publish_toml(BUCKET).replace(f'"{s3.url}"', f'"{endpoint}"')
        project.write_config(s3_toml(s3).replace(s3.publish_toml(BUCKET), silent_bucket)
                             + silent_bucket.replace("[publish.bucket]", "[publish.mirror]"))
        elapsed = refused_post()

    # Held up, it would wait out the connect timeout (5 s a bucket): a busy machine's start-up is not that.
    assert elapsed < alike + 2.5, f"the refused command took {elapsed:.1f} s, {alike:.1f} s beside answering buckets"


def test_an_endpoint_may_come_from_the_environment(project: Project, s3: S3Server) -> None:
    """A password in an endpoint belongs in the environment like every secret: ``"${VAR}"`` works."""
    project.write_config(s3_toml(s3).replace(f'endpoint_url = "{s3.url}"', 'endpoint_url = "${S3_ENDPOINT}"'))
    project.env["S3_ENDPOINT"] = s3.url

    result = project.cli("post", "--yes", "--json", "--title", "API errors", "-C", "api", "Elevated errors.")

    bucket = next(d for d in json.loads(result.stdout)["deliveries"] if d["destination"] == "bucket")
    assert bucket["state"] == "sent", bucket
    assert "Elevated errors." in fetch(s3, "index.html")


def test_an_endpoint_from_the_environment_that_is_not_a_url_is_refused_unshown(project: Project, s3: S3Server) -> None:
    project.write_config(s3_toml(s3).replace(f'endpoint_url = "{s3.url}"', 'endpoint_url = "${S3_ENDPOINT}"'))
    project.env["S3_ENDPOINT"] = "ops:hunter2-s3cr3t@127.0.0.1:9"

    result = project.cli("post", "--yes", "--title", "API errors", "Elevated errors.")

    assert result.exit_code == 2 and "publish.bucket.endpoint_url must be an http(s) URL" in result.output
    assert "hunter2-s3cr3t" not in result.output
    assert not s3.requests
