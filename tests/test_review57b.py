"""Review 57b of the environment's proxy (channels/_proxy.py): through the real CLI, the fakes and
``tests.proxy_helpers``, as a hostile or careless operator sets HTTPS_PROXY and the others."""

from __future__ import annotations

import pytest

from tests.conftest import ENGINE, Project
from tests.test_env_proxy import CHANNELS, post, proxy_env

# -- a password holding '/', '?' or '#' unencoded ----------------------------------------------------------------

# What an operator pastes from a password manager: '/', '?' and '#' end a URL's host part, so httpx (and urllib3,
# and aiohttp) read "deploy" as the host and the password's first piece as its port ("Invalid port: 's3cretHead'").
HEAD, TAIL = "s3cretHead", "Tail9q"


@pytest.mark.parametrize("mark", ["/", "?", "#"], ids=["slash", "question", "hash"])
@pytest.mark.parametrize("kind", ["telegram", "matrix"])
def test_a_password_with_a_character_that_ends_the_host_shows_no_piece_of_it(
        project: Project, kind: str, mark: str) -> None:
    """It was 'the proxy http://deploy:s3cretHead (from $http_proxy) cannot be used (... Invalid port: 's3cretHead')',
    stored and printed: the password's head in clear. Now the proxy is named by its host alone, and the message says
    to percent-encode the character."""
    with CHANNELS[kind]() as channel:
        code, ops, output = post(project, channel, proxy_env(f"http://deploy:{HEAD}{mark}{TAIL}@127.0.0.1:3128"))
        assert channel.received() == 0
    assert code == 3 and ops["state"] == "failed", output
    assert HEAD not in output and TAIL not in output and "deploy" not in ops["error"], ops["error"]
    assert "the proxy http://127.0.0.1:3128 (from $" in ops["error"] and "percent-encoded" in ops["error"], ops
    stored = project.cli("store", "export").output + project.cli("show", ops["incident_id"]).output
    assert HEAD not in stored and TAIL not in stored
    assert all(HEAD.encode() not in f.read_bytes() for f in (project.root / ".broadcaster").iterdir() if f.is_file())


def test_a_password_with_a_slash_stays_out_of_slacks_debug_log(project: Project) -> None:
    """slack_sdk logs the proxy URL it loaded; the password with a '/' was no password to the config (its URL
    read strictly has none) and no URL's user:password@ to the log's scrub, so it was printed whole."""
    from tests.fakes.world import FakeWorld

    password = f"{HEAD}/{TAIL}"
    with FakeWorld() as world:
        project.write_config(ENGINE + world.channels_toml())
        project.env.update(world.env)
        result = project.cli("--debug", "post", "--yes", "--title", "API errors", "-C", "api", "Errors.",
                             env=proxy_env(f"http://deploy:{password}@127.0.0.1:9"))
    shown = result.stdout + result.stderr
    assert "HTTP proxy URL has been loaded" in shown
    assert HEAD not in shown and TAIL not in shown
