"""Review 35a (each test but the controls failed before its fix): one webhook receiver written with a final slash, an
empty segment, a ``;`` parameter or other letter case was two receivers to the check that refuses one receiver in
two visibilities (``channels/_http.py`` ``receiver_key``), though common servers route them to one handler: nginx
merges slashes, Express and ASP.NET Core ignore a final slash and case, Tomcat and Spring drop ``;`` parameters (and
read "/x/..;/hook" as "/hook"). Found by a hostile review through the CLI: the internal event reached "/pub/"."""

from __future__ import annotations

import pytest

from tests.conftest import ENGINE, Project
from tests.fakes.webhook import SECRET
from tests.test_audiences import AUDIENCES
from tests.test_receiver_keys import FLOW, hook_table, teams_table

HOOK = "https://hooks.example.com"
REFUSED = "One chat cannot be both"


def _preview(project: Project, first: tuple[str, str], second: tuple[str, str]) -> str:
    """A preview with two webhook tables (``(line, url)`` each): its output."""
    project.env["HOOK_SECRET"] = SECRET
    project.write_config(ENGINE + AUDIENCES + hook_table("one", *first) + hook_table("two", *second))
    result = project.cli("preview", "--title", "API errors", "-C", "api", "--for", "acme", "Circuit ACM-7", "Errors.")
    return result.output if result.exit_code == 2 else f"exit {result.exit_code}: {result.output}"


@pytest.mark.parametrize("written", [
    "/hooks/status/",  # Express, ASP.NET Core: a final slash is the same route
    "//hooks/status",  # nginx's merge_slashes
    "/hooks//status",
    "/hooks/status;",  # Tomcat, Spring: a segment's parameters are not part of the route
    "/hooks/status;jsessionid=1",
    "/hooks/x/..;/status",  # Tomcat reads "..;" as ".."
    "/Hooks/STATUS",  # Express, ASP.NET Core: case-insensitive routing
])
@pytest.mark.parametrize("lines", [('visibility = "public"', 'visibility = "internal"'),
                                   ('audience = "acme"', 'audience = "globex"')], ids=["public-internal", "two-customers"])
def test_one_receiver_written_as_its_server_routes_it_is_refused(
    project: Project, written: str, lines: tuple[str, str]
) -> None:
    output = _preview(project, (lines[0], HOOK + "/hooks/status"), (lines[1], HOOK + written))
    assert REFUSED in output, output


def test_one_teams_flow_with_a_final_slash_is_refused(project: Project) -> None:
    url = "https://prod-01.westeurope.logic.azure.com" + FLOW
    project.env["TEAMS_PUBLIC"] = url
    project.env["TEAMS_ACME"] = url.replace("/invoke?", "/invoke/?")
    project.write_config(ENGINE + AUDIENCES + teams_table("public-teams", 'visibility = "public"', "TEAMS_PUBLIC")
                         + teams_table("acme-teams", 'audience = "acme"', "TEAMS_ACME"))
    result = project.cli("preview", "--title", "API errors", "-C", "api", "--for", "acme", "Circuit ACM-7", "Errors.")
    assert result.exit_code == 2 and REFUSED in result.output, result.output


@pytest.mark.parametrize("written", [
    "/hooks/status2",
    "/hooks/status?channel=ops",  # a relay addressed by its query: two receivers
    "/hooks/status/ops",
    "/hooks/status%2Fops",  # an escaped slash: one segment, another route
])
def test_control_two_receivers_are_still_two(project: Project, written: str) -> None:
    output = _preview(project, ('visibility = "public"', HOOK + "/hooks/status"),
                      ('visibility = "internal"', HOOK + written))
    assert REFUSED not in output and "exit 0" in output, output
