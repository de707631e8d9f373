"""Review 47c's note: X behind a proxy that cannot be reached. requests raises urllib3's ``ProxyError`` only when no
connection to the proxy was made (``has_connected_to_proxy`` is false), so the request never left for X: it is
retryable and nothing may be up, never "may or may not exist" (``unknown``, which holds every later update to X back
until a human looks)."""

from __future__ import annotations

import json

from tests.conftest import ENGINE, Project
from tests.fakes.world import FakeWorld
from tests.ports import free_port


def test_a_post_to_x_through_a_proxy_nothing_answers_is_failed_not_unknown(project: Project, world: FakeWorld) -> None:
    project.write_config(ENGINE + world.channels_toml())
    proxy = f"http://127.0.0.1:{free_port()}"  # nothing listens: the connection to the proxy is refused
    unreachable = {name: proxy for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy")}
    posted = project.cli("post", "--yes", "--json", "--only", "x", "--title", "API errors", "Errors on the API.",
                         env={**unreachable, "NO_PROXY": "", "no_proxy": ""})
    assert posted.exit_code == 3, posted.output
    [x] = [d for d in json.loads(posted.stdout)["deliveries"] if d["destination"] == "x"]
    assert x["state"] == "failed" and "may or may not" not in x["error"], x
    assert world.x.tweets == []
    retried = project.cli("retry", "--json")
    assert retried.exit_code == 0, retried.output
    assert len(world.x.tweets) == 1
