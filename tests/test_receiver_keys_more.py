"""Review 18i (each test failed before its fix): receiver_key (channels/_http.py) attacked with odd URLs."""

from __future__ import annotations

import pytest

from tests.conftest import ENGINE, Project
from tests.fakes.webhook import SECRET
from tests.test_audiences import AUDIENCES
from tests.test_receiver_keys import FLOW, hook_table, teams_table


@pytest.mark.parametrize("url", [
    "https://hooks.example.com:99999/status",   # port out of range
    "https://hooks.example.com:80a/status",     # port not a number
    "https://[2001:db8::1/status",              # unclosed IPv6 bracket
])
def test_a_webhook_url_with_a_bad_port_or_host_is_a_config_error_not_a_crash(project: Project, url: str) -> None:
    project.env["HOOK_SECRET"] = SECRET
    project.write_config(ENGINE + AUDIENCES + hook_table("acme-hook", 'audience = "acme"', url))
    result = project.cli("preview", "--title", "API errors", "-C", "api", "--for", "acme", "Circuit ACM-7", "Errors.")
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 2, result.output


@pytest.mark.parametrize("url", [
    "https://prod-01.westeurope.logic.azure.com:99999" + FLOW,
    "https://[2001:db8::1" + FLOW,
])
def test_a_teams_url_with_a_bad_port_or_host_is_a_config_error_not_a_crash(project: Project, url: str) -> None:
    project.env["TEAMS_ACME"] = url
    project.write_config(ENGINE + AUDIENCES + teams_table("acme-teams", 'audience = "acme"', "TEAMS_ACME"))
    result = project.cli("preview", "--title", "API errors", "-C", "api", "--for", "acme", "Circuit ACM-7", "Errors.")
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 2, result.output


@pytest.mark.parametrize("public_url, acme_url", [
    # an IPv4-mapped IPv6 address: a dual-stack socket to ::ffff:10.0.0.1 reaches 10.0.0.1
    ("https://10.0.0.1/status", "https://[::ffff:10.0.0.1]/status"),
    ("https://10.0.0.1/status", "https://[::ffff:a00:1]/status"),
])
def test_one_ipv4_receiver_written_as_a_mapped_ipv6_address_is_refused(
    project: Project, public_url: str, acme_url: str
) -> None:
    project.env["HOOK_SECRET"] = SECRET
    project.write_config(ENGINE + AUDIENCES + hook_table("public-hook", 'visibility = "public"', public_url)
                         + hook_table("acme-hook", 'audience = "acme"', acme_url))
    result = project.cli("preview", "--title", "API errors", "-C", "api", "--for", "acme", "Circuit ACM-7", "Errors.")
    assert result.exit_code == 2, result.output
    assert "One chat cannot be both" in result.output


@pytest.mark.parametrize("public_url, acme_url", [
    # an escaped slash is one path segment to the receiver (httpx sends %2F as written): two receivers
    ("https://hooks.example.com/projects/acme/status", "https://hooks.example.com/projects/acme%2Fstatus"),
    # an escaped & is part of one value: ?a=x%26b=y is one parameter, ?a=x&b=y two
    ("https://hooks.example.com/status?a=x&b=y", "https://hooks.example.com/status?a=x%26b=y"),
    # two different invalid UTF-8 escapes: unquote() makes both U+FFFD
    ("https://hooks.example.com/hook/%C5", "https://hooks.example.com/hook/%C6"),
])
def test_two_different_receivers_are_not_refused_as_one(project: Project, public_url: str, acme_url: str) -> None:
    project.env["HOOK_SECRET"] = SECRET
    project.write_config(ENGINE + AUDIENCES + hook_table("public-hook", 'visibility = "public"', public_url)
                         + hook_table("acme-hook", 'audience = "acme"', acme_url))
    result = project.cli("preview", "--title", "API errors", "-C", "api", "--for", "acme", "Circuit ACM-7", "Errors.")
    assert "One chat cannot be both" not in result.output, result.output
