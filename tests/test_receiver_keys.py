"""Review 18h (each test failed before its fix): one receiver written two ways that target_keys still tell apart."""

from __future__ import annotations

import pytest

from tests.conftest import ENGINE, Project
from tests.fakes.webhook import SECRET
from tests.test_audiences import AUDIENCES

SIG = "sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=r18hSIGNATUREabcdef"
FLOW = "/workflows/0a1b2c3d4e5f/triggers/manual/paths/invoke?api-version=2016-06-01&" + SIG


def teams_table(name: str, line: str, var: str) -> str:
    return f'\n[channels.{name}]\ntype = "teams"\n{line}\nwebhook_url = "${{{var}}}"\n'


@pytest.mark.parametrize("public_url, acme_url", [
    # the absolute form of the name (WebhookChannel's key drops the final dot since 744ca6d; Teams' does not)
    ("https://prod-01.westeurope.logic.azure.com" + FLOW, "https://prod-01.westeurope.logic.azure.com." + FLOW),
    # an escape in the path (%61 for a): httpx sends it as written, the flow's router decodes it
    ("https://prod-01.westeurope.logic.azure.com" + FLOW,
     "https://prod-01.westeurope.logic.azure.com" + FLOW.replace("/paths/", "/p%61ths/")),
    # a dot segment: httpx removes it before sending (RFC 3986 5.2.4), so both post to one flow
    ("https://prod-01.westeurope.logic.azure.com" + FLOW,
     "https://prod-01.westeurope.logic.azure.com/x/.." + FLOW),
])
def test_one_teams_flow_in_a_public_and_a_customers_table_is_refused(
    project: Project, public_url: str, acme_url: str
) -> None:
    project.env["TEAMS_PUBLIC"] = public_url
    project.env["TEAMS_ACME"] = acme_url
    project.write_config(ENGINE + AUDIENCES + teams_table("public-teams", 'visibility = "public"', "TEAMS_PUBLIC")
                         + teams_table("acme-teams", 'audience = "acme"', "TEAMS_ACME"))
    result = project.cli("preview", "--title", "API errors", "-C", "api", "--for", "acme", "Circuit ACM-7", "Errors.")
    assert result.exit_code == 2, result.output
    assert "One chat cannot be both" in result.output


def hook_table(name: str, line: str, url: str) -> str:
    return f'\n[channels.{name}]\ntype = "webhook"\n{line}\nurl = "{url}"\nsecret = "${{HOOK_SECRET}}"\n'


@pytest.mark.parametrize("public_url, acme_url", [
    # httpx removes dot segments before it sends: both POST to /status
    ("https://hooks.example.com/status", "https://hooks.example.com/acme/../status"),
    ("https://hooks.example.com/status", "https://hooks.example.com/./status"),
    # one IPv6 address written compressed and in full: one receiver
    ("https://[2001:db8::1]/status", "https://[2001:db8:0:0:0:0:0:1]/status"),
    # one IPv4 address in the short form inet_aton (and so getaddrinfo) takes
    ("https://10.0.0.1/status", "https://10.1/status"),
    # an international name with "ß": _host_key uses Python's IDNA 2003 codec (straße -> strasse), httpx the idna
    # package's IDNA 2008 (straße -> xn--strae-oqa): both URLs reach xn--strae-oqa.example
    ("https://xn--strae-oqa.example/status", "https://straße.example/status"),
])
def test_one_webhook_receiver_written_another_way_is_refused(
    project: Project, public_url: str, acme_url: str
) -> None:
    project.env["HOOK_SECRET"] = SECRET
    project.write_config(ENGINE + AUDIENCES + hook_table("public-hook", 'visibility = "public"', public_url)
                         + hook_table("acme-hook", 'audience = "acme"', acme_url))
    result = project.cli("preview", "--title", "API errors", "-C", "api", "--for", "acme", "Circuit ACM-7", "Errors.")
    assert result.exit_code == 2, result.output
    assert "One chat cannot be both" in result.output


def test_control_the_same_teams_flow_written_alike_is_refused(project: Project) -> None:
    """Control (passes today): the refusal the tests above expect, for one URL written alike."""
    url = "https://prod-01.westeurope.logic.azure.com" + FLOW
    project.env["TEAMS_PUBLIC"] = project.env["TEAMS_ACME"] = url
    project.write_config(ENGINE + AUDIENCES + teams_table("public-teams", 'visibility = "public"', "TEAMS_PUBLIC")
                         + teams_table("acme-teams", 'audience = "acme"', "TEAMS_ACME"))
    result = project.cli("preview", "--title", "API errors", "-C", "api", "--for", "acme", "Circuit ACM-7", "Errors.")
    assert result.exit_code == 2 and "One chat cannot be both" in result.output, result.output
