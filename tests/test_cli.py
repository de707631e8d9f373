"""The CLI end to end, in-process: every command, the JSON contract, exit codes, the bad-input catalogue."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest

from tests.conftest import Project
from tests.fakes.world import FakeWorld


def new_incident(project: Project, *extra: str, message: str = "Investigating elevated API errors.") -> dict[str, Any]:
    code, payload = project.cli_json("post", "--yes", "--title", "API errors", "-C", "api", *extra, message)
    assert code == 0, payload
    return payload


def test_post_new_incident_stores_it_and_builds_the_site(project: Project) -> None:
    payload = new_incident(project)
    assert payload["incident_id"] == payload["incident_id"].lower()
    assert payload["incident_id"].startswith("api-errors-")
    assert payload["sequence"] == 1
    assert payload["new_incident"] is True
    site = next(d for d in payload["deliveries"] if d["destination"] == "site")
    assert site["state"] == "sent" and site["error"] is None
    page = (project.site / "index.html").read_text()
    assert "Investigating elevated API errors." in page
    assert (project.site / "incidents" / f"{payload['incident_id']}.html").exists()


def test_update_and_resolve_number_updates_in_order(project: Project) -> None:
    incident = new_incident(project)["incident_id"]
    code, second = project.cli_json("post", "--yes", "--incident", incident, "--status", "identified", "Cause found.")
    assert code == 0 and second["sequence"] == 2 and second["status"] == "identified"
    code, third = project.cli_json("resolve", incident, "--yes", "All good again.")
    assert code == 0 and third["sequence"] == 3 and third["status"] == "resolved"
    shown = json.loads(project.cli("show", incident, "--json").stdout)
    assert [u["status"] for u in shown["updates"]] == ["investigating", "identified", "resolved"]
    assert shown["resolved_at"] is not None


def test_json_contract_fields(project: Project) -> None:
    payload = new_incident(project)
    assert {"incident_id", "sequence", "deliveries"} <= payload.keys()
    for delivery in payload["deliveries"]:
        assert {"destination", "state", "remote_id", "error"} <= delivery.keys()


def test_resolved_incident_needs_reopen(project: Project) -> None:
    incident = new_incident(project)["incident_id"]
    assert project.cli("resolve", incident, "--yes").exit_code == 0
    refused = project.cli("post", "--yes", "--incident", incident, "It is back.")
    assert refused.exit_code == 2
    assert "--reopen" in refused.stderr
    reopened = project.cli("post", "--yes", "--incident", incident, "--reopen", "--status", "investigating", "It is back.")
    assert reopened.exit_code == 0, reopened.stderr


def test_backward_status_move_needs_reopen(project: Project) -> None:
    incident = new_incident(project, "--status", "monitoring")["incident_id"]
    refused = project.cli("post", "--yes", "-i", incident, "-s", "investigating", "Regressed.")
    assert refused.exit_code == 2 and "--reopen" in refused.stderr


def test_forward_jump_is_allowed(project: Project) -> None:
    incident = new_incident(project)["incident_id"]
    code, payload = project.cli_json("post", "--yes", "-i", incident, "-s", "monitoring", "Fix deployed.")
    assert code == 0 and payload["status"] == "monitoring"


def test_list_shows_open_first(project: Project) -> None:
    first = new_incident(project)["incident_id"]
    project.cli("resolve", first, "--yes")
    code, second = project.cli_json("post", "--yes", "--title", "DB slow", "-C", "db", "Looking into it.")
    listed = json.loads(project.cli("list", "--json").stdout)
    assert [i["id"] for i in listed] == [second["incident_id"], first]
    assert listed[0]["open"] is True and listed[1]["open"] is False
    text = project.cli("list").stdout
    assert "DB slow" in text and "API errors" in text


def test_show_prints_timeline_and_deliveries(project: Project) -> None:
    incident = new_incident(project, "--private", "router fra-2")["incident_id"]
    out = project.cli("show", incident).stdout
    assert "Investigating elevated API errors." in out
    assert "router fra-2" in out  # the operator's own view shows private detail, marked
    assert "[private]" in out
    assert "site" in out and "sent" in out


def test_show_refuses_a_prefix_and_suggests_on_typos(project: Project) -> None:
    # Issue 16 changed this on purpose: a unique prefix used to match; ids are now matched whole.
    incident = new_incident(project)["incident_id"]
    prefix = project.cli("show", incident[:8])
    assert prefix.exit_code == 2 and f"Did you mean '{incident}'" in prefix.stderr
    wrong = project.cli("show", incident.replace("errors", "erors"))
    assert wrong.exit_code == 2
    assert f"Did you mean '{incident}'" in wrong.stderr


def test_dry_run_stores_and_sends_nothing(project: Project) -> None:
    code, payload = project.cli_json("post", "--dry-run", "--title", "API errors", "Investigating.")
    assert code == 0 and payload["dry_run"] is True
    assert json.loads(project.cli("list", "--json").stdout) == []
    assert not (project.site / "index.html").exists()


def test_preview_marks_public_and_private(project: Project) -> None:
    project.write_config("""
        [channels.ops]
        type = "slack"
        visibility = "private"
        token = "${SLACK_TOKEN}"
        channel = "C0OPS0001"
    """)
    # The token set: a preview checks the config as post does (issue 16), and post would refuse without it.
    out = project.cli("preview", "--title", "API errors", "--private", "router fra-2", "Investigating.",
                      env={"SLACK_TOKEN": "xoxb-preview"}).stdout
    assert "ops (internal)" in out and "router fra-2" in out  # "private" is read as internal since audiences
    assert "site (public)" in out


def test_only_and_skip_name_destinations(project: Project) -> None:
    # The site is the only destination here: skipping it leaves none, which is refused (issue 12).
    nowhere = project.cli("post", "--yes", "--title", "API errors", "--skip", "site", "Investigating.")
    assert nowhere.exit_code == 2 and "would go nowhere" in nowhere.stderr
    code, payload = project.cli_json("post", "--yes", "--title", "API errors", "--only", "site", "Investigating.")
    assert code == 0
    assert payload["deliveries"][0]["state"] == "sent"
    typo = project.cli("post", "--yes", "--again", "--title", "API errors", "--only", "stie", "Investigating.")
    assert typo.exit_code == 2 and "Did you mean 'site'" in typo.stderr


def test_refuses_to_publish_without_terminal_or_yes(project: Project) -> None:
    result = project.cli("post", "--title", "API errors", "Investigating.")
    assert result.exit_code == 2
    assert "--yes" in result.stderr
    assert json.loads(project.cli("list", "--json").stdout) == []


def test_a_message_of_the_full_length_from_stdin_is_not_refused_for_its_line_end(project: Project) -> None:
    """Attack (review): `python -c 'print("a" * 5000)' | post -` was refused as 5,001 characters."""
    for end in ("\n", "\r\n"):
        result = project.cli("post", "--yes", "--again", "--only", "site", "--title", "API errors", "-",
                             input="a" * 5000 + end)
        assert result.exit_code == 0, result.output
    assert project.cli("post", "--yes", "--only", "site", "--title", "API errors", "-", input="a" * 5001).exit_code == 2


def test_message_from_stdin(project: Project) -> None:
    code, payload = project.cli_json("post", "--yes", "--title", "API errors", "-", input="From stdin.\n")
    assert code == 0
    shown = json.loads(project.cli("show", payload["incident_id"], "--json").stdout)
    assert shown["updates"][0]["message"] == "From stdin."


def test_etr_and_next_update_are_parsed(project: Project) -> None:
    payload = new_incident(project, "--etr", "2h", "--next-update", "30m")
    shown = json.loads(project.cli("show", payload["incident_id"], "--json").stdout)
    assert shown["updates"][0]["etr"] is not None and shown["updates"][0]["next_update_by"] is not None


def test_init_writes_a_config_that_loads(project: Project) -> None:
    target = project.root / "new" / "broadcaster.toml"
    result = project.cli("init", str(target))
    assert result.exit_code == 0 and target.exists()
    again = project.cli("init", str(target))
    assert again.exit_code == 2 and "--force" in again.stderr
    from broadcaster.config_loader import load

    assert load(str(target)).component_ids == ("api", "web", "db")


def test_the_starter_configs_examples_uncommented_give_each_channel_the_readers_its_comment_says(project: Project) -> None:
    """Attack (review): the starter's "customer's Slack channel" said visibility = "private", which is internal: as
    written, that customer would have been sent every other customer's detail and the internal notes."""
    import re

    from broadcaster.config_loader import load

    target = project.root / "starter.toml"
    assert project.cli("init", str(target)).exit_code == 0
    # Every commented table and key, uncommented; the prose comments stay comments.
    uncommented = re.sub(r"(?m)^# (\[[^\]]+\]|[a-z_]+ += .*)$", r"\1", target.read_text(encoding="utf-8"))
    target.write_text(uncommented, encoding="utf-8")
    config = load(str(target))
    visibility = {name: c.visibility for name, c in config.channels.items()}
    assert visibility["acme-slack"] == "audience:acme", visibility
    assert config.audiences["acme"].name == "Acme Corp"
    assert {name for name, seen in visibility.items() if seen == "internal"} == {"ops", "teams-ops"}


BAD_INPUT = [
    ("empty message", ["post", "--yes", "--title", "T", ""], "empty"),
    ("whitespace message", ["post", "--yes", "--title", "T", "   "], "empty"),
    ("unknown incident", ["post", "--yes", "--incident", "nope-2020-01-01", "Update."], "no incident"),
    ("unknown component", ["post", "--yes", "--title", "T", "-C", "apii", "M."], "Did you mean 'api'"),
    ("bad component status", ["post", "--yes", "--title", "T", "-C", "api=broken", "M."], "unknown component status"),
    ("bad status", ["post", "--yes", "--title", "T", "--status", "fixed", "M."], "unknown status"),
    ("bad impact", ["post", "--yes", "--title", "T", "--impact", "huge", "M."], "unknown impact"),
    ("unclosed private marker", ["post", "--yes", "--title", "T", "a [private] b"], "never closed"),
    ("stray closing marker", ["post", "--yes", "--title", "T", "a [/private] b"], "no [private] before it"),
    ("nested private marker", ["post", "--yes", "--title", "T", "[private]a [private]b[/private][/private]"], "nested"),
    ("malformed marker", ["post", "--yes", "--title", "T", "a [private b"], "looks like a private marker"),
    ("only private text", ["post", "--yes", "--title", "T", "[private]secret[/private]"], "no public text"),
    ("missing title", ["post", "--yes", "Something."], "--title"),
    ("bad time", ["post", "--yes", "--title", "T", "--etr", "soonish", "M."], "not a time"),
    # A review: the channels print "(20:00 CET)", so an operator types it back; say which zone 15:30 is read in.
    ("zone after a time", ["post", "--yes", "--title", "T", "--next-update", "15:30 CET", "M."],
     "read in the page's time zone"),
    ("bad clock time", ["post", "--yes", "--title", "T", "--etr", "25:00", "M."], "time of day"),
    ("no message without terminal", ["post", "--yes", "--title", "T"], "no MESSAGE"),
]


@pytest.mark.parametrize(("args", "expected"), [(a, e) for _, a, e in BAD_INPUT], ids=[n for n, _, _ in BAD_INPUT])
def test_bad_input_is_refused_with_exit_2_and_nothing_stored(project: Project, args: list[str], expected: str) -> None:
    result = project.cli(*args)
    assert result.exit_code == 2, result.output
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2
    assert json.loads(project.cli("list", "--json").stdout) == []


def test_non_utf8_stdin_is_refused(project: Project) -> None:
    result = project.cli("post", "--yes", "--title", "T", "-", input=b"caf\xe9 down\n")
    assert result.exit_code == 2 and "not UTF-8" in result.stderr


def test_non_utf8_argument_is_refused(project: Project) -> None:
    result = project.cli("post", "--yes", "--title", "T", "caf\udce9 down")
    assert result.exit_code == 2 and "not valid UTF-8" in result.stderr


def test_malformed_toml_names_the_line(project: Project) -> None:
    project.config.write_text('[page]\ntitle = "Acme\n', encoding="utf-8")
    result = project.cli("list")
    assert result.exit_code == 2
    assert "line 2" in result.stderr and str(project.config) in result.stderr


def test_missing_env_var_is_named_and_nothing_is_stored(project: Project) -> None:
    project.write_config("""
        [channels.ops]
        type = "slack"
        visibility = "private"
        token = "${OPS_SLACK_TOKEN}"
        channel = "C0OPS0001"
    """)
    result = project.cli("post", "--yes", "--title", "T", "M.", env={"OPS_SLACK_TOKEN": None})  # type: ignore[dict-item]
    assert result.exit_code == 2
    assert "OPS_SLACK_TOKEN" in result.stderr
    assert json.loads(project.cli("list", "--json").stdout) == []


def test_config_file_not_found(project: Project) -> None:
    from click.testing import CliRunner

    from broadcaster.cli import main

    # Not through project.cli, which names the project's config first: two --config values are refused now.
    result = CliRunner().invoke(main, ["--config", "/nonexistent/x.toml", "list"])
    assert result.exit_code == 2 and "not found" in result.stderr


def test_every_command_has_help(project: Project) -> None:
    from broadcaster.cli import main

    def walk(group: click.Group, prefix: list[str]) -> Iterator[tuple[list[str], click.Command]]:
        # Through the group's own listing: a command's module is imported when it is looked up, and until then the
        # group's ``commands`` does not hold it (``BroadcasterGroup.families``).
        ctx = click.Context(group)
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            assert command is not None, name
            yield [*prefix, name], command
            if isinstance(command, click.Group):
                yield from walk(command, [*prefix, name])

    for path, command in walk(main, []):
        assert command.help, f"`broadcaster {' '.join(path)}` has no help text"
        assert project.cli(*path, "--help").exit_code == 0


@pytest.mark.parametrize("command", [["list"], ["show", "api-errors"], ["store", "export", "out.jsonl"], ["retry"],
                                     ["site", "build"], ["tick"]])
def test_a_mistyped_store_is_refused_by_commands_that_only_read_it(project: Project, command: list[str]) -> None:
    """Attack (review): `--store .broadcaster/stat.db store export` made an empty store and exported 0 incidents
    (exit 0), the README's migration recipe then importing nothing "successfully"."""
    typo = project.root / ".broadcaster" / "stat.db"
    result = project.cli("--store", str(typo), *command)
    assert result.exit_code == 2, result.output
    assert "no such file" in result.stderr and not typo.exists()
    assert not (project.root / "out.jsonl").exists()


def test_a_new_store_is_made_by_a_post_to_it(project: Project) -> None:
    fresh = project.root / "elsewhere" / "state.db"
    assert project.cli("--store", str(fresh), "post", "--yes", "--only", "site", "-t", "Errors", "Looking.").exit_code == 0
    assert fresh.exists() and project.cli("--store", str(fresh), "list").exit_code == 0


def test_init_never_writes_through_a_link_and_refuses_before_writing(project: Project) -> None:
    """Attack (review): `init --force link.toml` overwrote the file the link named; a dangling link gave an
    unexpected FileNotFoundError; a file named .broadcaster failed only after the config was written."""
    target = project.root / "target.txt"
    target.write_text("mine\n", encoding="utf-8")
    link = project.root / "link.toml"
    link.symlink_to(target)
    refused = project.cli("init", "--force", str(link))
    assert refused.exit_code == 2 and "symbolic link" in refused.stderr
    assert target.read_text(encoding="utf-8") == "mine\n"
    dangling = project.root / "dangling.toml"
    dangling.symlink_to(project.root / "nowhere")
    assert project.cli("init", str(dangling)).exit_code == 2
    elsewhere = project.root / "other"
    elsewhere.mkdir()
    (elsewhere / ".broadcaster").write_text("a file\n", encoding="utf-8")
    blocked = project.cli("init", str(elsewhere / "broadcaster.toml"))
    assert blocked.exit_code == 2 and ".broadcaster is a file" in blocked.stderr
    assert not (elsewhere / "broadcaster.toml").exists()


def test_a_reader_that_goes_away_ends_the_command_quietly(project: Project) -> None:
    """Attack (review): `store export | head` ended in "unexpected error (BrokenPipeError)", exit 1."""
    for n in range(40):
        assert project.cli("post", "--yes", "--only", "site", "-t", f"Errors {n}", "x" * 2000).exit_code == 0
    process = project.process("store", "export", "-")
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.read(10)
    process.stdout.close()  # as `head -c 10` does
    errors = process.stderr.read()
    process.stderr.close()
    assert process.wait(timeout=60) == 141, errors
    assert "unexpected" not in errors and "Traceback" not in errors
    # Printed through rich (a review: rich ended it with its own exit 1, "an unexpected error").
    incident = json.loads(project.cli("list", "--json").stdout)[0]["id"]
    shown = project.process("show", incident)
    assert shown.stdout is not None and shown.stderr is not None
    shown.stdout.close()  # gone before the first line, as `grep -q` may be
    shown_errors = shown.stderr.read()
    shown.stderr.close()
    assert shown.wait(timeout=60) == 141, shown_errors


@pytest.mark.parametrize(("title", "made"), [("Störung der API", "storung-der-api"), ("Erreur élevée sur l'API", "erreur-elevee-sur")])
def test_an_incident_id_from_a_title_with_accents_keeps_its_letters(project: Project, title: str, made: str) -> None:
    """Attack (review): "Störung" made the id st-rung-...; an operator types the id back."""
    code, payload = project.cli_json("post", "--yes", "--only", "site", "--title", title, "Investigating.")
    assert code == 0 and str(payload["incident_id"]).startswith(made + "-"), payload


@pytest.mark.parametrize("option", ["--next-update", "--etr"])
def test_a_time_to_come_of_nothing_is_refused(project: Project, option: str) -> None:
    """Attack (review): --next-update 0m was accepted: the incident was overdue the moment it was posted."""
    result = project.cli("post", "--yes", "--only", "site", "--title", "API errors", option, "0m", "Investigating.")
    assert result.exit_code == 2 and "not a time to come" in result.stderr



def _run_here(folder: Path, *args: str) -> Any:
    """The CLI run in ``folder`` with no --config and no $BROADCASTER_CONFIG, as an operator types it."""
    from click.testing import CliRunner

    from broadcaster.cli import main

    return CliRunner().invoke(main, list(args), env={"BROADCASTER_CONFIG": ""}, catch_exceptions=False)


def test_a_command_run_without_a_config_says_the_built_in_default_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by a review: `cd` to the wrong folder, post: "stored", the default's page written, no channel
    told, exit 0, and not a word about it. The default still works, and says so on stderr every time."""
    monkeypatch.chdir(tmp_path)

    posted = _run_here(tmp_path, "post", "--yes", "--title", "Checkout down", "Investigating.")

    assert posted.exit_code == 0, posted.output
    assert "no broadcaster.toml in" in posted.stderr and "built-in default is used" in posted.stderr
    assert "--config FILE" in posted.stderr
    assert _run_here(tmp_path, "init").exit_code == 0
    assert "built-in default" not in _run_here(tmp_path, "list").stderr  # ./broadcaster.toml found now


def test_init_elsewhere_says_to_pass_that_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A review: `init sub/b.toml` said "Edit it, then: broadcaster post ...", which would not read it."""
    monkeypatch.chdir(tmp_path)
    written = _run_here(tmp_path, "init", "sub/b.toml")
    assert written.exit_code == 0 and "broadcaster --config sub/b.toml post" in written.stdout, written.output
    plain = _run_here(tmp_path, "init")
    assert plain.exit_code == 0 and "Edit it, then: broadcaster post" in plain.stdout, plain.output


def test_a_preview_of_a_new_incident_shows_the_id_it_will_get(project: Project) -> None:
    """Found by a review: with "API errors" taken, --dry-run said api-errors-<date> (the other incident, and its
    page's link), while the post became api-errors-<date>-2."""
    project.write_config()
    args = ("--title", "API errors", "-C", "api", "Errors.")
    first = json.loads(project.cli("post", "--yes", "--json", *args).stdout)["incident_id"]

    previewed = json.loads(project.cli("post", "--dry-run", "--json", "--again", *args).stdout)
    shown = project.cli("preview", "--again", *args).stdout
    posted = json.loads(project.cli("post", "--yes", "--json", "--again", *args).stdout)

    assert previewed["incident_id"] == posted["incident_id"] == f"{first}-2"
    assert f"{first}-2.html" in shown


def test_a_post_refused_at_its_preview_says_refused_not_dry_run_and_never_to_amend_it(project: Project) -> None:
    """Found by a review: a real post the guard refused printed "Dry run: ..." and, for each destination,
    "correct the update without it (`broadcaster amend`)", of an update never stored; its JSON said dry_run."""
    project.write_config()
    args = ("--title", "Checkout errors", "-C", "api", "--ticket", "INC-4242", "Errors, see INC-4242.")

    shown = project.cli("post", "--yes", *args)
    as_json = project.cli("post", "--yes", "--json", *args)
    dry = project.cli("post", "--dry-run", "--json", *args)

    assert shown.exit_code == 2 and shown.stdout.startswith("Refused: "), shown.output
    assert "Dry run" not in shown.output and "broadcaster amend" not in shown.output
    assert "REFUSED" in shown.stdout and "--skip" in shown.stderr
    found = json.loads(as_json.stdout)
    assert as_json.exit_code == 2 and found["dry_run"] is False and found["refused"] is True
    assert [d["state"] for d in found["deliveries"] if d["destination"] == "site"] == ["failed"]
    assert json.loads(dry.stdout)["dry_run"] is True and json.loads(dry.stdout)["refused"] is True
    assert json.loads(project.cli("list", "--json").stdout) == []



def test_a_new_incident_is_stored_from_its_plain_id_whatever_its_preview_showed(project: Project) -> None:
    """A review: once the preview's free id (`...-2`) was what the post stored from, two posts racing for it
    got `...-2` and `...-2-2` (the store's insert adds -2 to what it is given); README promises -2, -3. The post
    hands the store the plain id; only the preview shows the free one."""
    from broadcaster import compose
    from broadcaster.config_loader import load
    from broadcaster.operations.posting import prepare
    from broadcaster.store import SQLiteStore

    project.write_config()
    args = ("--title", "API errors", "-C", "api", "Errors.")
    first = json.loads(project.cli("post", "--yes", "--json", *args).stdout)["incident_id"]
    store = SQLiteStore(project.root / ".broadcaster" / "state.db")
    try:
        incident, _, new = prepare(load(str(project.config)), store, compose.Draft("Errors.", title="API errors"))
    finally:
        store.close()
    assert new and incident.id == first  # the plain id: insert_incident finds -2, -3... itself
    assert json.loads(project.cli("post", "--dry-run", "--json", "--again", *args).stdout)["incident_id"] == f"{first}-2"


def test_the_default_note_names_the_store_given_and_init_heeds_the_config_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A review: with --store the note still said the state was in ./.broadcaster/; with $BROADCASTER_CONFIG set,
    `init elsewhere.toml` suggested a plain post, which would read the variable's file."""
    from click.testing import CliRunner

    from broadcaster.cli import main

    monkeypatch.chdir(tmp_path)
    listed = CliRunner().invoke(main, ["--store", "st/s.db", "post", "--yes", "-t", "T", "M."],
                                env={"BROADCASTER_CONFIG": ""}, catch_exceptions=False)
    assert "the state in st/s.db (--store)" in listed.stderr, listed.output
    (tmp_path / "team.toml").write_text("", encoding="utf-8")
    written = CliRunner().invoke(main, ["init", "broadcaster.toml"], env={"BROADCASTER_CONFIG": "team.toml"},
                                 catch_exceptions=False)
    assert written.exit_code == 0 and "broadcaster --config broadcaster.toml post" in written.stdout, written.output


def test_init_writes_where_the_global_config_option_points(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Noticed in a session's review: `broadcaster --config sub/my.toml init` wrote ./broadcaster.toml, and the
    next `broadcaster --config sub/my.toml post` found no config. A plain `init` writes where the other
    commands of the same invocation would read: --config (before or after the name), then $BROADCASTER_CONFIG."""
    from click.testing import CliRunner

    from broadcaster.cli import main

    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    before = runner.invoke(main, ["--config", "sub/my.toml", "init"], env={"BROADCASTER_CONFIG": ""})
    after = runner.invoke(main, ["init", "--config", "other.toml"], env={"BROADCASTER_CONFIG": ""})
    from_env = runner.invoke(main, ["init"], env={"BROADCASTER_CONFIG": "team.toml"})
    named = runner.invoke(main, ["--config", "sub/my.toml", "init", "named.toml"], env={"BROADCASTER_CONFIG": ""})

    assert [r.exit_code for r in (before, after, from_env, named)] == [0, 0, 0, 0], before.output + after.output
    assert (tmp_path / "sub" / "my.toml").is_file() and (tmp_path / "other.toml").is_file()
    assert (tmp_path / "team.toml").is_file() and (tmp_path / "named.toml").is_file()  # the argument wins
    assert not (tmp_path / "broadcaster.toml").exists()
    listed = runner.invoke(main, ["--config", "sub/my.toml", "list"], env={"BROADCASTER_CONFIG": ""})
    assert listed.exit_code == 0 and "built-in default" not in listed.stderr, listed.output
    assert "Edit it, then: broadcaster post" in from_env.stdout  # a plain command reads the variable's file


def test_a_store_path_one_typo_from_a_file_beside_it_is_refused_not_made(project: Project) -> None:
    """A review: `--store .broadcaster/state.dv post` made a new, empty store and rebuilt the page from it: every
    other incident, open ones too, left the page, exit 0. A name of its own (a fallback) is still made."""
    project.write_config()
    assert project.cli("post", "--yes", "--title", "Checkout down", "Investigating.").exit_code == 0

    typo = project.cli("--store", str(project.root / ".broadcaster" / "state.dv"), "post", "--yes", "--title",
                       "Login slow", "Investigating.")
    assert typo.exit_code == 2 and "Did you mean" in typo.output and "touch" in typo.output
    assert f"'{project.root / '.broadcaster' / 'state.db'}'?" in typo.output
    assert not (project.root / ".broadcaster" / "state.dv").exists()
    assert [p.name for p in (project.site / "incidents").iterdir() if p.name.startswith("checkout-down")]

    fallback = project.cli("--store", str(project.root / "fallback.db"), "post", "--yes", "--title", "Login slow",
                           "Investigating.")
    assert fallback.exit_code == 0, fallback.output


def test_a_bare_component_on_a_follow_up_keeps_what_was_reported(project: Project) -> None:
    """A review: "API still down" with a bare `-C api` took api from major outage to the impact's default (partial
    outage), and the banner from "Critical" to "Major". An explicit status or a new --impact still decide."""
    project.write_config()
    first = json.loads(project.cli("post", "--yes", "--json", "--title", "API down", "--impact", "major",
                                   "-C", "api=major_outage", "Investigating.").stdout)
    incident = first["incident_id"]

    def api_status() -> str:
        summary = json.loads((project.site / "summary.json").read_text(encoding="utf-8"))
        return str(next(c["status"] for c in summary["components"] if c["id"] == "api"))

    assert project.cli("post", "--yes", "-i", incident, "-C", "api", "API still down.").exit_code == 0
    assert api_status() == "major_outage"
    assert project.cli("post", "--yes", "-i", incident, "-C", "api=degraded_performance", "Recovering.").exit_code == 0
    assert api_status() == "degraded_performance"
    assert project.cli("post", "--yes", "-i", incident, "--impact", "critical", "-C", "api", "Worse.").exit_code == 0
    assert api_status() == "major_outage"  # critical's default: the operator's new reading


def test_resolving_a_resolved_incident_says_what_posts_to_it(project: Project) -> None:
    """A review: `resolve` of a resolved incident said "add --reopen", an option resolve does not have."""
    project.write_config()
    incident = json.loads(project.cli("post", "--yes", "--json", "--title", "API down", "Down.").stdout)["incident_id"]
    assert project.cli("resolve", "--yes", incident, "Fixed.").exit_code == 0
    again = project.cli("resolve", "--yes", incident, "Fixed.")
    assert again.exit_code == 2 and "already resolved" in again.output
    assert f"broadcaster post -i {incident} --reopen -s resolved" in again.output


def test_a_store_path_whose_folder_is_a_typo_is_refused_too(project: Project) -> None:
    """A review of the fix above: `--store .broadcastr/state.db` (the folder misspelt) made a new store there."""
    project.write_config()
    assert project.cli("post", "--yes", "--title", "Checkout down", "Investigating.").exit_code == 0
    typo = project.root / ".broadcastr" / "state.db"
    refused = project.cli("--store", str(typo), "post", "--yes", "--title", "Login slow", "Investigating.")
    assert refused.exit_code == 2 and ".broadcaster/state.db" in refused.output, refused.output
    assert not typo.parent.exists()


def test_a_store_path_with_a_typo_further_up_is_refused(project: Project) -> None:
    """A review of the fix above: `prd/data/state.db` for `prod/data/state.db` (a folder further up misspelt, or
    two typos at once) made a new store."""
    project.write_config()
    real = project.root / "prod" / "data" / "state.db"
    assert project.cli("--store", str(real), "post", "--yes", "--title", "Checkout down", "Down.").exit_code == 0
    for typo in (project.root / "prd" / "data" / "state.db", project.root / "prod" / "dta" / "state.dv"):
        refused = project.cli("--store", str(typo), "post", "--yes", "--title", "Login slow", "Investigating.")
        assert refused.exit_code == 2 and str(real) in refused.output, refused.output
    assert not (project.root / "prd").exists() and not (project.root / "prod" / "dta").exists()


def test_a_new_store_in_a_numbered_sibling_folder_is_made(project: Project) -> None:
    """A review of the folder-by-folder match: `backups/2026-12-04/state.db` beside `backups/2026-12-03/state.db` is a
    new store meant so (a day's fallback), not a typo; and the advice for a refused one makes its folder too."""
    project.write_config()
    day_before = project.root / "backups" / "2026-12-03" / "state.db"
    assert project.cli("--store", str(day_before), "post", "--yes", "--title", "Checkout down", "Down.").exit_code == 0
    today = project.root / "backups" / "2026-12-04" / "state.db"
    made = project.cli("--store", str(today), "post", "--yes", "--title", "Login slow", "Investigating.")
    assert made.exit_code == 0, made.output
    typo = project.cli("--store", str(project.root / "backup" / "2026-12-03" / "state.db"), "post", "--yes",
                       "--title", "Login slow", "Investigating.")
    assert typo.exit_code == 2 and "mkdir -p" in typo.output, typo.output


def test_a_store_path_the_system_cannot_use_is_refused_not_a_crash(project: Project) -> None:
    """A review: a folder name over 255 characters, a loop of links, a file where a folder should be: each ended
    "unexpected error (OSError)", exit 1."""
    project.write_config()
    (project.root / "afile").write_text("", encoding="utf-8")
    (project.root / "loop-a").symlink_to(project.root / "loop-b")
    (project.root / "loop-b").symlink_to(project.root / "loop-a")
    for path in (project.root / ("x" * 300) / "state.db", project.root / "loop-a" / "state.db",
                 project.root / "afile" / "state.db"):
        refused = project.cli("--store", str(path), "post", "--yes", "--title", "Login slow", "Investigating.")
        assert refused.exit_code == 2 and "Check the path" in refused.output, refused.output


def test_a_loop_of_links_for_the_state_folder_is_said_to_be_one(project: Project) -> None:
    """Refused before a scratch store stands for the state file (review 59a), a loop of links read as "a symbolic
    link to nothing", which sends the operator looking for a missing target."""
    project.write_config()
    (project.root / "loop-a").symlink_to(project.root / "loop-b")
    (project.root / "loop-b").symlink_to(project.root / "loop-a")
    refused = project.cli("--store", str(project.root / "loop-a" / "state.db"), "post", "--yes", "--title",
                          "Login slow", "Investigating.")
    assert refused.exit_code == 2, refused.output
    assert "a loop of symbolic links" in refused.output and "to nothing" not in refused.output, refused.output
    project.write_config('\n[store]\npath = "loop-a/state.db"\n')
    listed = project.cli("list")  # a read, where a scratch store would stand for a state file not made yet
    assert listed.exit_code == 2 and "a loop of symbolic links" in listed.output, listed.output


def test_an_unusable_store_value_that_holds_a_password_is_not_shown(project: Project) -> None:
    """Found in the session's last look: a connection string too long for a file name reached the refusal above,
    which printed it, password and all."""
    project.write_config()
    given = "host=db password=hunter2secret dbname=" + "x" * 300
    refused = project.cli("--store", given, "post", "--yes", "--title", "Login slow", "Investigating.")
    assert refused.exit_code == 2 and "hunter2secret" not in refused.output, refused.output


def test_a_refused_post_shows_the_refusals_not_every_other_rendering(project: Project, world: FakeWorld) -> None:
    """A docs review: a post the guard refused printed every other destination's rendering first (Slack's JSON
    a screenful each), so the reason was off the screen of an operator in a hurry. The refusals alone are shown;
    `--dry-run` still shows everything."""
    args = ("--title", "Checkout errors", "-C", "api", "--ticket", "INC-4242", "Errors, see INC-4242.")

    shown = project.cli("post", "--yes", *args)
    dry = project.cli("post", "--dry-run", *args)

    assert shown.exit_code == 2 and shown.stdout.startswith("Refused: "), shown.output
    assert "REFUSED" in shown.stdout and '"blocks"' not in shown.stdout and "Investigating" not in shown.stdout
    assert "Not shown: what slack-acme, tg-ops would have sent (`--dry-run` shows it all)." in shown.stdout
    assert len(shown.stdout.splitlines()) < 40, shown.stdout
    assert '"blocks"' in dry.stdout and dry.stdout.count("REFUSED") == shown.stdout.count("REFUSED")
