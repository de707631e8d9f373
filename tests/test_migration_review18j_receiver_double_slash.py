"""Review 18j (each test failed before its fix): receiver_key (channels/_http.py) reads a path starting with "//" as another host's."""

from __future__ import annotations

import httpx

from tests.conftest import ENGINE, Project
from tests.fakes.webhook import SECRET
from tests.test_audiences import AUDIENCES
from tests.test_receiver_keys import hook_table


def test_a_path_starting_with_two_slashes_is_not_another_hosts_path(project: Project) -> None:
    """urljoin("http://receiver/", "//other/status") reads "other" as a HOST: the key's path is "/status", so a
    receiver at //other/status is refused as the one at /status (httpx sends //other/status as written)."""
    public_url, acme_url = "https://hooks.example.com/status", "https://hooks.example.com//other/status"
    assert httpx.URL(public_url).raw_path != httpx.URL(acme_url).raw_path  # control: two requests
    project.env["HOOK_SECRET"] = SECRET
    project.write_config(ENGINE + AUDIENCES + hook_table("public-hook", 'visibility = "public"', public_url)
                         + hook_table("acme-hook", 'audience = "acme"', acme_url))
    result = project.cli("preview", "--title", "API errors", "-C", "api", "--for", "acme", "Circuit ACM-7", "Errors.")
    assert "One chat cannot be both" not in result.output, result.output
