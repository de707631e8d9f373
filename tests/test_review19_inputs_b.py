"""Review 19f, findings 3-6: a retitled incident's export (3), `maintenance ... -` with nothing on standard input
(4), the editor's template lines (5) and retry's advice for a post of unknown fate whose secret is unset (6).

Each drives the real CLI against the fakes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ENGINE, Project
from tests.fakes.base import Fault
from tests.fakes.world import OPS_CHATS, PUBLIC_CHAT, SLACK_CHANNEL, FakeWorld
from tests.input_helpers import stored
from tests.test_lifecycle import in_terminal
from tests.test_review19_inputs import _import, _record

# -- 3. `post -i ID --title` and the id made from the first title ---------------------------------------------------


def _round_trip(project: Project, tmp_path: Path) -> Any:
    out = tmp_path / "e.jsonl"
    exported = project.cli("store", "export", str(out))
    assert exported.exit_code == 0, exported.stderr
    other = Project(tmp_path / "other")
    other.root.mkdir()
    other.write_config()
    return other.cli("store", "import", str(out))


def _only_id(project: Project) -> str:
    [incident] = json.loads(project.cli("list", "--json").stdout)
    return str(incident["id"])


def _updates(project: Project, incident_id: str) -> list[dict[str, Any]]:
    return list(json.loads(project.cli("show", incident_id, "--json").stdout)["updates"])


RETITLES = [
    ("Frankfurt outage", "Outage [private]in Frankfurt[/private]"),
    ("API errors", "API errors [private]API errors at FRA[/private]"),
    ("Checkout slow for ACME", "Checkout slow [private]for ACME[/private]"),
    ("Slow for us", "Slow [private]for us[/private]"),
    ("Frankfurt outage", "Frankfurt outage [private]circuit 7741[/private]"),
]


@pytest.mark.parametrize(("first", "retitled"), RETITLES,
                         ids=["word-made-private", "same-words", "tail-made-private", "short-words-in-a-row", "added"])
def test_an_incident_retitled_with_post_title_round_trips_or_the_retitle_is_refused(
    project: Project, tmp_path: Path, first: str, retitled: str
) -> None:
    """The reviewer's test: `store import` refused the CLI's own export of "Frankfurt outage" retitled "Outage
    [private]in Frankfurt[/private]" (its id keeps "frankfurt"), and of "Checkout slow [private]for ACME[/private]"
    for "for". Either the retitle is refused, or the export imports."""
    assert project.cli("post", "--yes", "--title", first, "-C", "api", "Errors.").exit_code == 0
    incident_id = _only_id(project)
    retitle = project.cli("post", "--yes", "-i", incident_id, "--title", retitled, "Still errors.")
    if retitle.exit_code == 2:
        return
    assert retitle.exit_code == 0, retitle.stderr
    imported = _round_trip(project, tmp_path)
    assert imported.exit_code == 0, imported.stderr


@pytest.mark.parametrize(("first", "retitled", "word"), [
    ("Frankfurt outage", "Outage [private]in Frankfurt[/private]", "frankfurt"),
    ("Circuit 7741 down", "Circuit down [private]at 7741[/private]", "7741"),
    ("Slow for us", "Slow [private]for us[/private]", "for"),  # all of the span is in the id, in a row
], ids=["word", "digits", "whole-span"])
def test_a_retitle_putting_a_word_of_the_id_in_a_private_span_is_refused(
    project: Project, world: FakeWorld, first: str, retitled: str, word: str
) -> None:
    """The id is made from the first title and never changes: the address already shows the word, so a title cannot
    take it back. Refused, exit 2, nothing stored or sent, saying what to do instead."""
    assert project.cli("post", "--yes", "--title", first, "-C", "api", "Errors.").exit_code == 0
    incident_id = _only_id(project)
    sent = len(world.telegram_messages(PUBLIC_CHAT))
    retitle = project.cli("post", "--yes", "-i", incident_id, "--title", retitled, "Still errors.")
    said = " ".join(retitle.stderr.split())
    assert retitle.exit_code == 2, retitle.output
    assert f"'{word}'" in said and "address already shows it" in said, said
    assert f"broadcaster withdraw {incident_id}" in said and "new title" in said, said
    assert len(_updates(project, incident_id)) == 1 and len(world.telegram_messages(PUBLIC_CHAT)) == sent


@pytest.mark.parametrize(("first", "retitled"), [
    ("Checkout slow for ACME", "Checkout slow [private]for ACME[/private]"),  # "for" tells nothing; "acme" not in id
    ("Frankfurt outage", "Frankfurt outage [private]circuit 7741[/private]"),
    ("Frankfurt outage", "Frankfurt outage [private]in Frankfurt POP 7[/private]"),  # the public title keeps it
], ids=["short-word", "span-added", "word-still-public"])
def test_a_retitle_hiding_nothing_the_address_shows_is_published(
    project: Project, first: str, retitled: str
) -> None:
    assert project.cli("post", "--yes", "--title", first, "-C", "api", "Errors.").exit_code == 0
    incident_id = _only_id(project)
    retitle = project.cli("post", "--yes", "-i", incident_id, "--title", retitled, "Still errors.")
    assert retitle.exit_code == 0, retitle.output
    assert len(_updates(project, incident_id)) == 2


def test_an_id_holding_one_word_of_a_private_span_is_imported(project: Project) -> None:
    """An id made from an earlier title (as the CLI made, before retitles were checked) holding one word of a span
    imports: only all of a span's words in a row are refused, as before 2338a00."""
    imported = _import(project, _record("frankfurt-outage-2026-12-01", "Outage", "Outage [private]in Frankfurt[/private]"))
    assert imported.exit_code == 0, imported.stderr
    assert [r["incident"]["id"] for r in stored(project)] == ["frankfurt-outage-2026-12-01"]


@pytest.mark.parametrize(("incident_id", "title", "raw_title", "said"), [
    ("db-down-circuit-7741-2026-12-01", "DB down", "DB down [private]circuit 7741[/private]",
     "holds a private span of raw_title (circuit 7741)"),
    ("api-down-2026-12-01", "API down at Frankfurt", "API down [private]at Frankfurt POP 7741[/private]",
     "is not raw_title's public part 'API down'"),
], ids=["id-whole-span", "title"])
def test_an_import_whose_id_holds_a_whole_span_or_whose_title_is_not_the_public_part_is_refused(
    project: Project, incident_id: str, title: str, raw_title: str, said: str
) -> None:
    imported = _import(project, _record(incident_id, title, raw_title))
    assert imported.exit_code == 2 and said in imported.stderr, imported.output
    assert stored(project) == []


# -- 4. `maintenance ... -` with an empty standard input ------------------------------------------------------------

SCHEDULE = ("maintenance", "schedule", "--yes", "--json", "--title", "DB upgrade", "--start", "2h", "--end", "1h",
            "-C", "db")


def test_maintenance_schedule_with_dash_and_empty_standard_input_publishes_nothing(
    project: Project, world: FakeWorld
) -> None:
    """`notes | broadcaster maintenance schedule ... -` where `notes` printed nothing announced the window with the
    standard text, exit 0; `post -` and `resolve -` refuse an empty standard input."""
    scheduled = project.cli(*SCHEDULE, "-", input="")
    assert scheduled.exit_code == 2 and "The message is empty" in scheduled.stderr, scheduled.output
    assert world.telegram_messages(PUBLIC_CHAT) == [] and world.x.tweets == []
    assert json.loads(project.cli("list", "--json").stdout) == []


@pytest.mark.parametrize("step", ["start", "verifying", "complete", "cancel"])
def test_a_maintenance_step_with_dash_and_empty_standard_input_publishes_nothing(
    project: Project, world: FakeWorld, step: str
) -> None:
    scheduled = project.cli(*SCHEDULE, "Upgrading the database.")
    window = json.loads(scheduled.stdout)["incident_id"]
    if step in ("verifying", "complete"):
        assert project.cli("maintenance", "start", window, "--yes").exit_code == 0
    before, updates = len(world.telegram_messages(PUBLIC_CHAT)), len(_updates(project, window))
    ran = project.cli("maintenance", step, window, "--yes", "-", input="")
    assert ran.exit_code == 2 and "The message is empty" in ran.stderr, ran.output
    assert len(world.telegram_messages(PUBLIC_CHAT)) == before, [m.text for m in world.telegram_messages(PUBLIC_CHAT)]
    assert len(_updates(project, window)) == updates


def test_a_maintenance_step_without_a_message_keeps_the_standard_text(project: Project, world: FakeWorld) -> None:
    """An omitted MESSAGE (standard input empty or not) is the step's standard text, as before."""
    scheduled = project.cli(*SCHEDULE, input="")
    assert scheduled.exit_code == 0, scheduled.output
    window = json.loads(scheduled.stdout)["incident_id"]
    started = project.cli("maintenance", "start", window, "--yes", input="")
    assert started.exit_code == 0, started.output
    assert [bool(u["message"]) for u in _updates(project, window)] == [True, True]


# -- 5. the editor's template ---------------------------------------------------------------------------------------

POSTMORTEM = "# What happened\n\nA cache node ran out of memory.\n\n# What we changed\n\nMore memory.\n"


def _editor(tmp_path: Path, script: str) -> dict[str, str]:
    editor = tmp_path / "editor.sh"
    editor.write_text(f"#!/bin/sh\n{script}\n")
    editor.chmod(0o755)
    return {"EDITOR": str(editor), "VISUAL": str(editor)}


def test_a_postmortem_corrected_in_the_editor_keeps_its_headings(project: Project, tmp_path: Path) -> None:
    """The reviewer's test: the editor dropped every line starting "# " as a template comment, so a postmortem
    corrected in it lost its markdown headings, silently, exit 0."""
    code, posted = project.cli_json("post", "--yes", "--title", "API down", "-C", "api", "API down.")
    assert code == 0
    incident = posted["incident_id"]
    assert project.cli("resolve", "--yes", incident).exit_code == 0
    (project.root / "pm.md").write_text(POSTMORTEM, encoding="utf-8")
    assert project.cli("postmortem", "--yes", incident, "-f", str(project.root / "pm.md")).exit_code == 0
    corrected = tmp_path / "corrected.md"
    corrected.write_text(POSTMORTEM.replace("A cache node", "A cache server"), encoding="utf-8")
    seen = tmp_path / "seen.txt"
    env = _editor(tmp_path, f'cp "$1" "{seen}"\ncat "{corrected}" > "$1"')
    code, output = in_terminal(project, ["amend", "--yes", incident, "3"], env=env)
    assert "# Correcting update #3" in seen.read_text(encoding="utf-8")
    assert code == 0, output
    message = _updates(project, incident)[-1]["message"]
    assert "cache server" in message
    assert "# What happened" in message and "# What we changed" in message, message


def test_a_heading_written_above_the_template_is_kept_and_the_template_left_out(
    project: Project, world: FakeWorld, tmp_path: Path
) -> None:
    """Every editor use (here `post -i`): the operator's "# " lines are text; the template's block is left out."""
    code, posted = project.cli_json("post", "--yes", "--title", "API errors", "-C", "api", "Investigating.")
    assert code == 0
    incident = posted["incident_id"]
    env = _editor(tmp_path, 'printf "# Cause found\\n\\nA faulty router.\\n" > "$1.new"\ncat "$1" >> "$1.new"\n'
                            'mv "$1.new" "$1"')
    code, output = in_terminal(project, ["post", "--yes", "-i", incident], env=env)
    assert code == 0, output
    message = _updates(project, incident)[-1]["message"]
    assert message == "# Cause found\n\nA faulty router.", message


def test_an_edited_line_of_the_template_is_refused_not_published(
    project: Project, world: FakeWorld, tmp_path: Path
) -> None:
    """The template shows the last update for reference, here one only staff got. A line of it edited out of its
    "#   " (or any line of the block changed) was published as the operator's text: now refused, nothing sent."""
    code, posted = project.cli_json("post", "--yes", "--title", "API errors", "-C", "api", "Investigating.")
    assert code == 0
    incident = posted["incident_id"]
    staff = project.cli("post", "--yes", "-i", incident, "--only", "tg-ops", "Root cause: the vendor's bad deploy.")
    assert staff.exit_code == 0, staff.output
    tweets, updates = len(world.x.tweets), len(_updates(project, incident))
    env = _editor(tmp_path, 'sed -i "s/^#   Root cause/Root cause/" "$1"\n'
                            'printf "Fixed now.\\n" > "$1.new"\ncat "$1" >> "$1.new"\nmv "$1.new" "$1"')
    code, output = in_terminal(project, ["post", "--yes", "-i", incident], env=env)
    said = " ".join(output.split())
    assert code == 2 and "template block" in said and "nothing was stored or sent" in said, output
    assert len(world.x.tweets) == tweets and len(_updates(project, incident)) == updates
    assert not any("vendor" in t.text for t in world.x.tweets)


def test_a_template_line_left_outside_its_block_is_refused(project: Project, world: FakeWorld, tmp_path: Path) -> None:
    code, posted = project.cli_json("post", "--yes", "--title", "API errors", "-C", "api", "Investigating.")
    assert code == 0
    incident = posted["incident_id"]
    # The block's first two lines moved above it: its opening line is then out of place, then a shown line stray.
    env = _editor(tmp_path, 'printf "Fixed.\\n#   Investigating.\\n" > "$1.new"\ncat "$1" >> "$1.new"\n'
                            'mv "$1.new" "$1"')
    code, output = in_terminal(project, ["post", "--yes", "-i", incident], env=env)
    assert code == 2 and "outside its block" in " ".join(output.split()), output
    assert len(_updates(project, incident)) == 1


def test_the_template_block_deleted_whole_leaves_the_operators_text(
    project: Project, world: FakeWorld, tmp_path: Path
) -> None:
    code, posted = project.cli_json("post", "--yes", "--title", "API errors", "-C", "api", "Investigating.")
    assert code == 0
    incident = posted["incident_id"]
    env = _editor(tmp_path, 'printf "# Fixed\\nAll good.\\n" > "$1"')
    code, output = in_terminal(project, ["post", "--yes", "-i", incident], env=env)
    assert code == 0, output
    assert _updates(project, incident)[-1]["message"] == "# Fixed\nAll good."
    assert not any(m.text.startswith("#~") for m in world.telegram_messages(OPS_CHATS[0]))


def test_every_number_sign_line_outside_the_block_is_the_operators_text() -> None:
    """What test_lifecycle's `_is_comment` test guarded ("#42 customers affected" was dropped as a comment), now for
    every line outside the template's block: "# " headings and a bare "#" too."""
    from broadcaster.compose_editor import BLOCK_CLOSES, BLOCK_OPENS, TEMPLATE_HELP, without_block

    block = f"{BLOCK_OPENS}\n# Update to api-errors-2026-12-05: API errors (now investigating)\n{TEMPLATE_HELP}{BLOCK_CLOSES}\n"
    written = "# Heading\n#\n#42 customers affected\n#incident-channel\n  # x\nAffected: 42\n"
    assert without_block(f"{written}\n\n{block}", block) == written.strip()


# -- 6. retry --include-unknown where a secret is unset -------------------------------------------------------------


def _slack_unknown(project: Project, world: FakeWorld) -> str:
    """A post whose Slack message went out but whose answer was lost: its fate is unknown."""
    project.write_config(ENGINE + world.channels_toml())
    world.slack.fail(Fault(match="chat.postMessage", reset_after=True))
    posted = project.cli("post", "--yes", "--json", "--title", "API errors", "-C", "api", "Investigating.")
    assert posted.exit_code == 3, posted.output
    [slack] = [d for d in json.loads(posted.stdout)["deliveries"] if d["destination"] == "slack-acme"]
    assert slack["state"] == "unknown", slack
    world.slack.clear_faults()
    return str(json.loads(posted.stdout)["incident_id"])


def test_retry_include_unknown_with_the_secret_unset_advises_what_sends_it(project: Project, world: FakeWorld) -> None:
    """The reviewer's test: the unknown Slack post's line said "then `broadcaster retry` sends this", which plain
    retry never does (exit 3, nothing sent)."""
    incident = _slack_unknown(project, world)
    assert len(world.slack.messages[SLACK_CHANNEL]) == 1  # it did arrive
    token = project.env.pop("SLACK_TOKEN")
    retried = project.cli("retry", "--include-unknown")
    assert retried.exit_code == 3, retried.output
    line = " ".join(next(x for x in retried.output.splitlines() if "slack-acme" in x and "unknown" in x).split())
    said = " ".join(retried.output.split())
    assert "SLACK_TOKEN" in said, said
    assert "then `broadcaster retry` sends this" not in line, line
    assert f"`broadcaster retry {incident} --mark-unknown-sent`" in said, said
    assert f"`broadcaster retry {incident} --include-unknown`" in said, said
    project.env["SLACK_TOKEN"] = token
    followed = project.cli("retry")  # plain retry: what the old line said, and indeed sends nothing
    assert followed.exit_code == 3 and len(world.slack.messages[SLACK_CHANNEL]) == 1, followed.output
    marked = project.cli("retry", incident, "--mark-unknown-sent")  # what the new line says, when it is there
    assert marked.exit_code == 0, marked.output
    assert len(world.slack.messages[SLACK_CHANNEL]) == 1


@pytest.mark.parametrize("given", ["", "   "])
def test_maintenance_schedule_with_an_empty_message_argument_publishes_nothing(
    project: Project, world: FakeWorld, given: str
) -> None:
    """Review 19h: `broadcaster maintenance schedule ... "$NOTES"` with NOTES empty: the operator gave a MESSAGE; as `post ""`
    and `maintenance schedule ... -` with an empty input, it must be refused, not replaced by the standard text."""
    assert project.cli("post", "--yes", "--title", "X", given).exit_code == 2  # what post does with it
    scheduled = project.cli(*SCHEDULE, given)
    assert scheduled.exit_code == 2, scheduled.output
    assert world.telegram_messages(PUBLIC_CHAT) == [] and world.x.tweets == []


@pytest.mark.parametrize("step", ["start", "cancel"])
def test_a_maintenance_step_with_an_empty_message_argument_publishes_nothing(
    project: Project, world: FakeWorld, step: str
) -> None:
    scheduled = project.cli(*SCHEDULE, "Upgrading the database.")
    window = json.loads(scheduled.stdout)["incident_id"]
    before, updates = len(world.telegram_messages(PUBLIC_CHAT)), len(_updates(project, window))
    ran = project.cli("maintenance", step, window, "--yes", "")
    assert ran.exit_code == 2, ran.output
    assert len(world.telegram_messages(PUBLIC_CHAT)) == before
    assert len(_updates(project, window)) == updates
