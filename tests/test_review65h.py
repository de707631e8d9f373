"""Review 65h: ``store import`` numbers the file's updates after this store's, whatever their time. A postmortem
version or a correction the other store wrote before this store's latest of the same text became "the latest" by
its number: the page, the feeds and the JSON showed the older text, and ``retry`` sent it as a correction of the
newer one. Through the real CLI, two stores and a loopback webhook receiver."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import Project
from tests.fakes.webhook import FakeReceiver
from tests.test_repeats import hook

__all__ = ["hook"]  # the fixture: a signed webhook table "hook", one attempt


def cli_json(project: Project, *args: str) -> tuple[int, Any]:
    result = project.cli(*args, "--json")
    return result.exit_code, json.loads(result.stdout)


def resolved_in_two_stores(project: Project, tmp_path: Path) -> tuple[str, str]:
    """A resolved incident in the team store and, from its export, in a fallback store: (its id, the fallback)."""
    code, posted = cli_json(project, "post", "--yes", "--title", "API errors", "-C", "api", "Errors.")
    assert code == 0, posted
    incident = posted["incident_id"]
    assert project.cli("resolve", "--yes", incident, "Fixed.").exit_code == 0
    fallback = str(tmp_path / "fallback.db")
    moved = tmp_path / "team.jsonl"
    assert project.cli("store", "export", str(moved)).exit_code == 0
    assert project.cli("--store", fallback, "store", "import", str(moved)).exit_code == 0
    return incident, fallback


def postmortem(project: Project, tmp_path: Path, incident: str, text: str, *store: str) -> tuple[int, Any]:
    path = tmp_path / f"{text.split()[0].lower()}.md"
    path.write_text(text + "\n", encoding="utf-8")
    return cli_json(project, *store, "postmortem", "--yes", incident, "--file", str(path))


def import_from(project: Project, tmp_path: Path, fallback: str) -> str:
    moved = tmp_path / "fallback.jsonl"
    assert project.cli("--store", fallback, "store", "export", str(moved)).exit_code == 0
    imported = project.cli("store", "import", str(moved))
    assert imported.exit_code == 0, imported.output
    return imported.stdout


def site_texts(project: Project) -> str:
    """Every file the page, the feeds and the JSON are made of, as one text."""
    built = project.cli("site", "build")
    assert built.exit_code == 0, built.output
    return "\n".join(f.read_text(errors="replace") for f in project.site.rglob("*")
                     if f.is_file() and not f.name.startswith("."))


def test_an_imported_postmortem_draft_older_than_this_stores_final_never_becomes_the_postmortem(
    project: Project, hook: FakeReceiver, tmp_path: Path
) -> None:
    incident, fallback = resolved_in_two_stores(project, tmp_path)
    hook.answer = 503  # the fallback's announcement fails: its retry is owed
    code, draft = postmortem(project, tmp_path, incident, "Draft from the fallback: cause unknown.", "--store", fallback)
    assert code == 3, draft
    hook.answer = 200
    code, final = postmortem(project, tmp_path, incident, "Final from the team: a bad deploy, rolled back.")
    assert code == 0, final
    told = [e["data"] for e in hook.events]

    report = import_from(project, tmp_path, fallback)
    assert f"{incident}: 1 update(s) of the other store were overtaken here" in report, report

    texts = site_texts(project)
    assert "Final from the team" in texts and "Draft from the fallback" not in texts
    code, retried = cli_json(project, "retry", incident)
    assert code == 0, retried
    assert [e["data"] for e in hook.events] == told  # the draft never goes out after the final
    shown = cli_json(project, "show", incident)[1]
    assert "Draft from the fallback: cause unknown." in [u["message"] for u in shown["updates"]]  # kept for the record


def test_an_imported_correction_older_than_this_stores_correction_of_the_same_update_is_kept_as_history(
    project: Project, hook: FakeReceiver, tmp_path: Path
) -> None:
    incident, fallback = resolved_in_two_stores(project, tmp_path)
    hook.answer = 503
    code, early = cli_json(project, "--store", fallback, "amend", "--yes", incident, "1", "Errors on EU hosts.")
    assert code == 3, early
    hook.answer = 200
    code, late = cli_json(project, "amend", "--yes", incident, "1", "Errors on every host.")
    assert code == 0, late
    told = [e["data"] for e in hook.events]

    report = import_from(project, tmp_path, fallback)
    assert f"{incident}: 1 update(s) of the other store were overtaken here" in report, report

    texts = site_texts(project)
    assert "Errors on every host." in texts and "Errors on EU hosts." not in texts
    code, retried = cli_json(project, "retry", incident)
    assert code == 0, retried
    assert [e["data"] for e in hook.events] == told


def test_after_the_import_the_store_publishes_on_and_refuses_to_correct_the_history(
    project: Project, hook: FakeReceiver, tmp_path: Path
) -> None:
    """The version kept as history is numbered last: a command that read the updates in force must not take it for
    one stored while it planned, and ``amend`` of it would correct a text nobody is shown."""
    incident, fallback = resolved_in_two_stores(project, tmp_path)
    assert postmortem(project, tmp_path, incident, "Draft from the fallback.", "--store", fallback)[0] == 0
    assert postmortem(project, tmp_path, incident, "Final from the team.")[0] == 0
    import_from(project, tmp_path, fallback)
    history = [u["sequence"] for u in cli_json(project, "show", incident)[1]["updates"]][-1]

    refused = project.cli("amend", "--yes", incident, str(history), "Edited draft.")
    assert refused.exit_code == 2, refused.output
    assert f"#{history} of {incident} is kept as history" in refused.stderr and "Nothing was stored" in refused.stderr
    dry = project.cli("postmortem", "--dry-run", incident, "--file", str(tmp_path / "final.md"))
    assert dry.exit_code == 2 and "is this very postmortem" in dry.stderr, dry.output  # the final is in force
    code, again = postmortem(project, tmp_path, incident, "Second version from the team.")
    assert code == 0, again
    assert again["sequence"] == history + 1, again
    assert "We have corrected our postmortem" in hook.events[-1]["data"]["update"]["message"]
    code, amended = cli_json(project, "amend", "--yes", incident, "1", "Errors on every host.")
    assert code == 0, amended
    texts = site_texts(project)
    assert "Second version from the team." in texts and "Draft from the fallback." not in texts


def test_files_crossing_this_stores_unsent_draft_is_not_announced_after_the_final_the_other_store_posted(
    project: Project, hook: FakeReceiver, tmp_path: Path
) -> None:
    """A->B and B->A at once: the fallback imports the team's export, whose final the team announced on the webhook.
    The fallback's own draft, failed there and older, went out on its ``retry`` after the final."""
    incident, fallback = resolved_in_two_stores(project, tmp_path)
    hook.answer = 503
    assert postmortem(project, tmp_path, incident, "Draft from the fallback.", "--store", fallback)[0] == 3
    hook.answer = 200
    assert postmortem(project, tmp_path, incident, "Final from the team.")[0] == 0
    team = tmp_path / "team-final.jsonl"
    assert project.cli("store", "export", str(team)).exit_code == 0
    import_from(project, tmp_path, fallback)  # the team takes the fallback's draft as history
    told = [e["data"] for e in hook.events]

    imported = project.cli("--store", fallback, "store", "import", str(team))
    assert imported.exit_code == 0, imported.output
    assert f"{incident}: 1 update(s) of this store not sent yet were overtaken" in imported.stdout, imported.stdout
    for store in (("--store", fallback), ()):
        code, retried = cli_json(project, *store, "retry", incident)
        assert code == 0, retried
    assert [e["data"] for e in hook.events] == told


def test_this_stores_unsent_status_update_is_not_sent_after_the_resolution_the_other_store_posted(
    project: Project, hook: FakeReceiver, tmp_path: Path
) -> None:
    """The mirror of the rule the README states for the file's updates: the team's "Identified", failed on the
    webhook, went out on ``retry`` after the fallback's "Resolved" that the import brought, posted there already."""
    code, posted = cli_json(project, "post", "--yes", "--title", "API errors", "-C", "api", "Errors.")
    incident = posted["incident_id"]
    fallback, team = str(tmp_path / "fallback.db"), tmp_path / "team.jsonl"
    assert project.cli("store", "export", str(team)).exit_code == 0
    assert project.cli("--store", fallback, "store", "import", str(team)).exit_code == 0
    hook.answer = 503
    assert cli_json(project, "post", "--yes", "-i", incident, "--status", "identified", "Cause found.")[0] == 3
    hook.answer = 200
    assert cli_json(project, "--store", fallback, "resolve", "--yes", incident, "Fixed.")[0] == 0
    told = [e["data"] for e in hook.events]

    report = import_from(project, tmp_path, fallback)
    assert f"{incident}: 1 update(s) of this store not sent yet were overtaken" in report, report
    code, retried = cli_json(project, "retry", incident)
    assert code == 0, retried
    assert [e["data"] for e in hook.events] == told
    assert "Cause found." in site_texts(project)  # the page is built from the whole store: it keeps it


def test_the_history_key_on_a_status_update_of_an_edited_file_hides_nothing(project: Project, tmp_path: Path) -> None:
    """Only a version of a text is ever kept as history: an edited file putting the key on a status update took it
    off the page (and out of everything ``retry`` reads)."""
    code, posted = cli_json(project, "post", "--yes", "--title", "API errors", "-C", "api", "Errors.")
    incident = posted["incident_id"]
    assert cli_json(project, "post", "--yes", "-i", incident, "--status", "identified", "Cause found.")[0] == 0
    moved = tmp_path / "edited.jsonl"
    assert project.cli("store", "export", str(moved)).exit_code == 0
    lines = [json.loads(line) for line in moved.read_text(encoding="utf-8").splitlines()]
    record = next(line for line in lines if "incident" in line)
    record["updates"][1]["extra"]["overtaken"] = record["updates"][1]["created_at"]
    moved.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    elsewhere = project.fresh_beside(tmp_path / "elsewhere")
    (elsewhere.root / ".broadcaster").mkdir()
    imported = elsewhere.cli("store", "import", str(moved))
    assert imported.exit_code == 0, imported.output
    assert "Cause found." in site_texts(elsewhere)
