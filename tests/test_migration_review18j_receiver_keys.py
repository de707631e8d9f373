"""Review 18j (each test failed before its fix): receiver_key (channels/_http.py) still tells apart URLs httpx sends as the very same request."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import ENGINE, Project
from tests.fakes.webhook import SECRET
from tests.test_audiences import AUDIENCES
from tests.test_receiver_keys import hook_table

SAME_REQUEST = [
    # a non-ASCII path character: httpx sends it UTF-8 escaped (/caf%C3%A9), exactly as the escaped form
    ("https://hooks.example.com/caf%C3%A9", "https://hooks.example.com/café"),
    # a space: httpx sends %20
    ("https://hooks.example.com/acme%20status", "https://hooks.example.com/acme status"),
    # a character httpx escapes ({ -> %7B)
    ("https://hooks.example.com/hook%7Bacme%7D", "https://hooks.example.com/hook{acme}"),
    # escaped dots: RFC 3986 6.2.2 decodes %2E first, then removes the dot segments; the key decodes after
    ("https://hooks.example.com/status", "https://hooks.example.com/acme/%2E%2E/status"),
]


@pytest.mark.parametrize("public_url, acme_url", SAME_REQUEST[:3])
def test_control_httpx_sends_both_urls_as_one_request(public_url: str, acme_url: str) -> None:
    """Control (passes today): the two URLs are one request on the wire."""
    assert httpx.URL(public_url).raw_path == httpx.URL(acme_url).raw_path


@pytest.mark.parametrize("public_url, acme_url", SAME_REQUEST)
def test_one_receiver_written_with_raw_characters_is_refused(project: Project, public_url: str, acme_url: str) -> None:
    project.env["HOOK_SECRET"] = SECRET
    project.write_config(ENGINE + AUDIENCES + hook_table("public-hook", 'visibility = "public"', public_url)
                         + hook_table("acme-hook", 'audience = "acme"', acme_url))
    result = project.cli("preview", "--title", "API errors", "-C", "api", "--for", "acme", "Circuit ACM-7", "Errors.")
    assert result.exit_code == 2, result.output
    assert "One chat cannot be both" in result.output
