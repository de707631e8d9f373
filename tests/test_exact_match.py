"""Issue 16: everything an operator names is matched whole; a miss exits 2 and says what they may have meant."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Project


def new_incident(project: Project, title: str = "API errors") -> str:
    result = project.cli("post", "--yes", "--json", "--title", title, "-C", "api", "Investigating.")
    assert result.exit_code == 0, result.stderr
    return str(json.loads(result.stdout)["incident_id"])


def test_resolve_with_a_prefix_resolves_nothing(project: Project) -> None:
    incident = new_incident(project, "T")
    refused = project.cli("resolve", "t", "--yes", "done")
    assert refused.exit_code == 2
    assert f"Did you mean '{incident}'" in refused.stderr and "matched whole" in refused.stderr
    shown = json.loads(project.cli("show", incident, "--json").stdout)
    assert shown["status"] == "investigating" and len(shown["updates"]) == 1


@pytest.mark.parametrize(("args", "expected"), [
    (["-C", "api=partial"], "unknown component status 'partial'. Did you mean 'partial_outage'?"),
    (["-C", "ap"], "unknown component 'ap'. Did you mean 'api'?"),
    (["--status", "ident"], "unknown status 'ident'. Did you mean 'identified'?"),
    (["--impact", "maj"], "unknown impact 'maj'. Did you mean 'major'?"),
    (["--only", "sit"], "no destination named 'sit'. Did you mean 'site'?"),
    (["--template", "db"], "no template 'db'. Did you mean 'db-failover'?"),
    (["-C", "API"], "unknown component 'API'. Did you mean 'api'?"),
    (["--template", "DB-failover"], "no template 'DB-failover'. Did you mean 'db-failover'?"),
    (["--only", "SITE"], "no destination named 'SITE'. Did you mean 'site'?"),
    (["--customer", "ACME"], "no audience 'ACME'. Did you mean 'acme'?"),
    (["--for", "ac", "detail"], "no audience 'ac'. Did you mean 'acme'?"),
], ids=["component-status", "component", "status", "impact", "destination", "template", "component-case",
        "template-case", "destination-case", "audience-case", "audience-prefix"])
def test_every_named_thing_is_matched_whole(project: Project, args: list[str], expected: str) -> None:
    project.write_config('\n[templates.db-failover]\ntitle = "DB failover"\nmessage = "Failing over."\n'
                         '\n[audiences.acme]\nname = "Acme Corp"\ncomponents = ["api"]\n')
    refused = project.cli("post", "--yes", "--title", "API errors", *args, "Investigating.")
    assert refused.exit_code == 2, refused.output
    assert expected in refused.stderr
    assert json.loads(project.cli("list", "--json").stdout) == []


def test_spelling_variants_are_not_guesses(project: Project) -> None:
    result = project.cli("post", "--yes", "--json", "--title", "API errors", "-C", "api=Partial-Outage", "M.")
    assert result.exit_code == 0, result.stderr
    incident = json.loads(result.stdout)["incident_id"]
    assert json.loads(project.cli("show", incident, "--json").stdout)["components"] == [
        {"id": "api", "status": "partial_outage"}]


def complete(project: Project, *words: str) -> list[str]:
    env = {**os.environ, **project.env, "COMP_WORDS": " ".join(["broadcaster", "--config", str(project.config), *words]),
           "COMP_CWORD": str(2 + len(words)), "_BROADCASTER_COMPLETE": "bash_complete"}
    done = subprocess.run([sys.executable, "-c", "from broadcaster.cli import main; main(prog_name='broadcaster')"],
                          env=env, capture_output=True, text=True, timeout=60, cwd=project.root)
    return [line.split(",", 1)[1] for line in done.stdout.splitlines() if "," in line]


def test_completion_covers_what_exact_matching_asks_for(project: Project) -> None:
    incident = new_incident(project)
    assert complete(project, "resolve", "api") == [incident]
    assert complete(project, "withdraw", "api") == [incident]
    assert complete(project, "post", "--status", "ide") == ["identified"]
    assert complete(project, "post", "--impact", "ma") == ["major"]
    assert complete(project, "maintenance", "schedule", "-C", "d") == ["db"]


def test_completion_creates_no_store(project: Project) -> None:
    assert complete(project, "show", "") == []
    assert not any(p.suffix in (".db", ".sqlite") for p in project.root.rglob("*"))


def test_completion_offers_the_configured_customers(project: Project) -> None:
    """A review: README says completion covers every name the config defines; --customer, --for, list --customer
    and subscribers' --audience completed nothing."""
    project.write_config('\n[audiences.acme]\nname = "Acme Corp"\ncomponents = ["api"]\n'
                         '\n[audiences.globex]\nname = "Globex"\ncomponents = ["db"]\n')
    assert complete(project, "post", "--customer", "a") == ["acme"]
    assert complete(project, "post", "--for", "g") == ["globex"]
    assert complete(project, "amend", "x", "1", "--for", "") == ["acme", "globex"]
    assert complete(project, "list", "--customer", "gl") == ["globex"]
    assert complete(project, "subscribers", "invite", "--audience", "ac") == ["acme"]


def test_completion_on_the_built_in_default_prints_nothing_into_the_shell(tmp_path: Path) -> None:
    """Commands on the built-in default say so on stderr; a completion must not, or each Tab press would."""
    env = {**os.environ, "COMP_WORDS": "broadcaster post --status ide", "COMP_CWORD": "3",
           "_BROADCASTER_COMPLETE": "bash_complete"}
    env.pop("BROADCASTER_CONFIG", None)
    done = subprocess.run([sys.executable, "-c", "from broadcaster.cli import main; main(prog_name='broadcaster')"],
                          env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert "identified" in done.stdout and done.stderr == ""


@pytest.mark.parametrize(("args", "expected"), [
    (["-C", "api=down"], "unknown component status 'down'. Did you mean 'major_outage' or 'partial_outage'?"),
    (["-C", "api=up"], "unknown component status 'up'. Did you mean 'operational'?"),
    (["-C", "api=slow"], "unknown component status 'slow'. Did you mean 'degraded_performance'?"),
    (["-C", "api=maintenance"], "unknown component status 'maintenance'. Did you mean 'under_maintenance'?"),
    (["--status", "fixed"], "unknown status 'fixed'. Did you mean 'resolved' or 'monitoring'?"),
    (["--impact", "high"], "unknown impact 'high'. Did you mean 'major' or 'critical'?"),
    (["--impact", "SEV1"], "unknown impact 'SEV1'. Did you mean 'critical'?"),
], ids=["down", "up", "slow", "maintenance", "fixed", "high", "sev1"])
def test_an_everyday_word_for_a_status_is_refused_with_the_names_it_may_mean(
        project: Project, args: list[str], expected: str) -> None:
    """`-C api=down` got no suggestion at all (no name is spelt like it), and `-s fixed` got 'identified' (spelt
    alike). The word is never taken: `down` is a partial or a major outage, and only the operator knows which."""
    refused = project.cli("post", "--yes", "--title", "API errors", *args, "Investigating.")
    assert refused.exit_code == 2, refused.output
    assert expected in refused.stderr, refused.stderr
    assert json.loads(project.cli("list", "--json").stdout) == []
