"""Review 18g (failed before its fix): a6a54d4 refuses an option said twice with two values (an edited command line recalled from history would
otherwise act on the last silently), but only on post/preview/resolve/amend's fields. Other commands that publish
or hand out access still take the last value without a word."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Project
from tests.test_audiences import AUDIENCES


def _ids(project: Project) -> list[str]:
    return sorted(i["id"] for i in json.loads(project.cli("list", "--json").stdout))


def test_maintenance_schedule_with_two_starts_is_refused(project: Project) -> None:
    """`--start 1h ... --start 5h` announced to every public reader a window at 5h (the last), and `--title`
    twice a window under the second title: nothing says another value was given."""
    result = project.cli("maintenance", "schedule", "--yes", "--json", "--title", "DB upgrade",
                         "--start", "1h", "--start", "5h", "--end", "2h", "-C", "db")
    assert result.exit_code == 2, result.output
    assert "'1h'" in result.stderr and "'5h'" in result.stderr, result.output
    assert _ids(project) == []


def test_maintenance_schedule_with_two_titles_is_refused(project: Project) -> None:
    result = project.cli("maintenance", "schedule", "--yes", "--json", "--title", "DB upgrade",
                         "--title", "Web upgrade", "--start", "1h", "--end", "2h", "-C", "db")
    assert result.exit_code == 2, result.output
    assert _ids(project) == []


def test_postmortem_with_two_files_is_refused(project: Project, tmp_path: Path) -> None:
    """`postmortem ID -f draft.md -f final.md`: the last file is published to every reader, the other ignored."""
    created = project.cli("post", "--yes", "--json", "--title", "API errors", "Down.")
    incident = json.loads(created.stdout)["incident_id"]
    assert project.cli("resolve", "--yes", incident, "Fixed.").exit_code == 0
    (tmp_path / "final.md").write_text("# Postmortem\nThe final text.\n")
    (tmp_path / "draft.md").write_text("# Postmortem\nA draft with TODOs.\n")
    result = project.cli("postmortem", incident, "--yes", "-f", str(tmp_path / "final.md"),
                         "-f", str(tmp_path / "draft.md"))
    assert result.exit_code == 2, result.output
    page = (project.site / "incidents" / f"{incident}.html").read_text()
    assert "A draft with TODOs" not in page


def test_an_invite_with_two_audiences_is_refused(project: Project) -> None:
    """`subscribers invite --audience acme --audience globex` made an invite to globex's updates (their circuits'
    detail), to be handed to whoever was meant to get acme's: the last audience, silently."""
    project.write_config(AUDIENCES + '\n[bot]\ntype = "telegram"\ntoken = "${BOT_TOKEN}"\nusername = "status_bot"\n')
    project.env["BOT_TOKEN"] = "123456:bot-token"
    result = project.cli("subscribers", "invite", "--audience", "acme", "--audience", "globex")
    assert result.exit_code == 2, result.output
    assert "?start=" not in result.output
