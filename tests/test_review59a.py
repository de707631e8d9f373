"""Review 59a: the state folder's refusal, a state file that is no regular file, SIGTERM/SIGHUP with a scratch
store and the proxied transports, attacked through the CLI and the fakes."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from broadcaster.cli import main
from tests.conftest import ENGINE, Project
from tests.test_confirmation import in_terminal
from tests.test_env_proxy import proxy_env

KEY = "pk9Xq2LmW7vRt"  # a proxy's key, as some take one in place of a user


def _on_a_terminal(folder: Path, args: list[str]) -> tuple[int, str]:
    """The real CLI on a pseudo-terminal in ``folder`` (no config: the built-in default), answering y if asked."""
    return in_terminal(Project(folder), args, b"y\n", b"Publish now?", built_in=True)


# -- a file where the state folder should be, with the built-in default ------------------------------------------


def test_a_state_folder_that_is_a_file_is_refused_before_the_question(tmp_path: Path) -> None:
    """Review 58a refused it, but with the built-in default only once the operator had read the preview and
    answered yes: the preview reads a scratch store, and only the publication opened the state file's path."""
    (tmp_path / ".broadcaster").write_text("", encoding="utf-8")
    code, shown = _on_a_terminal(tmp_path, ["post", "--title", "API errors", "Investigating."])
    said = " ".join(shown.split())
    assert "Publish now?" not in said, said
    assert code == 2 and f"{tmp_path / '.broadcaster'} is a file, not a folder" in said, (code, said)


def test_a_dry_run_says_the_state_folder_is_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A dry run read the empty scratch store and said all was well (exit 0); the post itself was then refused."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".broadcaster").write_text("", encoding="utf-8")
    result = CliRunner().invoke(main, ["post", "--dry-run", "--title", "API errors", "Investigating."],
                                env={"BROADCASTER_CONFIG": ""})
    said = " ".join(result.output.split())
    assert result.exit_code == 2 and "is a file, not a folder" in said, (result.exit_code, said)


# -- a state file that is no regular file ---------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["list"], ["post", "--yes", "--title", "API errors", "Investigating."]],
                         ids=["list", "post"])
def test_a_named_pipe_for_the_state_file_is_refused_not_waited_on(tmp_path: Path, args: list[str]) -> None:
    """`--store` naming a named pipe (or a device: `--store /dev/null`, to keep no state) opened it to read its
    header: a pipe waited for a writer for ever; a device was made 0600 (as root, /dev/null for every user of the
    machine) and then said to be a disk full or failing. Refused now, untouched, exit 2."""
    pipe = tmp_path / "state.db"
    os.mkfifo(pipe, 0o644)
    env = {**os.environ}
    env.pop("BROADCASTER_CONFIG", None)
    try:
        done = subprocess.run([sys.executable, "-m", "broadcaster", "--store", str(pipe), *args], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail("the command waited on the named pipe")
    said = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 2 and "not a regular file" in said, (done.returncode, said)
    assert stat.S_IMODE(pipe.stat().st_mode) == 0o644


# -- a proxy's key written as its user, without the URL's scheme --------------------------------------------------


def test_a_key_as_the_proxys_user_without_a_scheme_stays_out_of_the_debug_log(project: Project) -> None:
    """HTTPS_PROXY=KEY@proxy:3128 (no "http://": curl, requests and httpx add it themselves): slack_sdk logs the
    variable as written, and the logs' scrub finds a URL's user@ only after its "://", so --debug printed the key
    whole, where http://KEY@proxy:3128 shows ***@."""
    from tests.fakes.world import FakeWorld

    with FakeWorld() as world:
        project.write_config(ENGINE + world.channels_toml())
        project.env.update(world.env)
        result = project.cli("--debug", "post", "--yes", "--title", "API errors", "-C", "api", "Errors.",
                             env=proxy_env(f"{KEY}@127.0.0.1:9"))
    shown = result.stdout + result.stderr
    assert "HTTP proxy URL has been loaded" in shown
    assert KEY not in shown and KEY[:6] not in shown, shown[shown.index(KEY[:6]) - 100:][:200]


# -- a proxy's URL pasted into NO_PROXY -------------------------------------------------------------------------------


@pytest.mark.parametrize("entry", [f"http://deploy:{KEY}/x@127.0.0.1:3128", f"deploy:{KEY}/x@127.0.0.1:3128"],
                         ids=["url", "without-scheme"])
def test_credentials_in_no_proxy_are_not_quoted(project: Project, entry: str) -> None:
    """NO_PROXY is no proxy variable, so its value holds no secret the config knows of; a proxy's URL pasted there
    with a '/' in its password is no host httpx can read, and the delivery's stored error quoted the entry whole
    (and httpx's 'Invalid port' quoted the password's head), in `show` and `store export`."""
    from tests.test_env_proxy import CHANNELS
    from tests.test_env_proxy import post as post_through

    with CHANNELS["telegram"]() as channel:
        code, ops, output = post_through(project, channel, proxy_env("http://127.0.0.1:9", no_proxy=entry))
        assert channel.received() == 0
    stored = project.cli("store", "export").output + project.cli("show", ops["incident_id"]).output
    assert code == 3 and ops["state"] == "failed" and "user or password" in ops["error"], ops
    assert KEY[:6] not in output + stored and "deploy" not in ops["error"], ops["error"]


# -- the proxied transports' closing of a connection a request failed on ----------------------------------------------


def test_a_request_waiting_for_a_busy_connection_does_not_close_it(tmp_path: Path) -> None:
    """httpcore hands every request queued for a pool the connection that just came free; the first takes it and the
    others are told ConnectionNotAvailable and queued again. ClosingOnFailure took that for a failed request and
    closed the connection under the one it carried: a request already sent ended ReadError (its answer lost: an
    unknown fate), and keep-alive was lost (a new tunnel each). Through the real httpx and a loopback proxy, more
    requests at once than the pool has connections now each get their answer, on the one tunnel."""
    import asyncio
    import re
    import ssl

    import httpx
    import trustme
    from broadcaster.channels import _proxy

    from tests.fakes.base import FakeServer, Request, Response
    from tests.test_review57b import InspectingProxy

    ca = trustme.CA()
    proxy = InspectingProxy(ca, drops=0)
    tls = ssl.create_default_context()
    ca.configure_trust(tls)

    def answer(request: Request, _found: re.Match[str]) -> Response:
        return Response(200, {"ok": True})

    async def six_at_once(url: str) -> list[object]:
        pool = _proxy.transport(httpx.Proxy(proxy.url), verify=tls, limits=httpx.Limits(max_connections=1))
        async with httpx.AsyncClient(transport=pool, timeout=10) as client:
            async def one() -> object:
                try:
                    return (await client.post(url, content=b"{}")).status_code
                except httpx.HTTPError as exc:
                    return repr(exc)
            return list(await asyncio.gather(*[one() for _ in range(6)]))

    try:
        with FakeServer(latency=0.05) as server:
            server.route("POST", r"/send", answer)
            said = asyncio.run(six_at_once(f"https://127.0.0.1:{server.port}/send"))
    finally:
        proxy.close()
    assert said == [200] * 6, said
    assert len(proxy.connects) == 1, proxy.connects
