"""A hostile review of the operator's terminal; each test failed before its fix (exit 0 with a loss or a wrong
post, exit 1 with "unexpected error", or a secret on the screen)."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import Project


def _post(project: Project, title: str = "API errors") -> str:
    result = project.cli("post", "--yes", "--json", "--title", title, "-C", "api", "Investigating.")
    assert result.exit_code == 0, result.stderr
    return str(json.loads(result.stdout)["incident_id"])


def test_export_onto_the_state_file_is_refused_and_the_store_survives(project: Project) -> None:
    incident = _post(project)
    state = project.root / ".broadcaster" / "state.db"
    exported = project.cli("store", "export", str(state))
    assert exported.exit_code == 2, exported.stderr
    listed = project.cli("list", "--json")
    assert listed.exit_code == 0, listed.stderr
    assert incident in listed.stdout


def test_export_onto_the_config_is_refused(project: Project) -> None:
    _post(project)
    before = project.config.read_text(encoding="utf-8")
    exported = project.cli("store", "export", str(project.config))
    assert exported.exit_code == 2, exported.stderr
    assert project.config.read_text(encoding="utf-8") == before


def test_export_onto_a_file_that_is_not_an_export_is_refused(project: Project) -> None:
    _post(project)
    notes = project.root / "notes.md"
    notes.write_text("the on-call handover notes\n", encoding="utf-8")
    exported = project.cli("store", "export", str(notes))
    assert exported.exit_code == 2, exported.stderr
    assert notes.read_text(encoding="utf-8") == "the on-call handover notes\n"


@pytest.mark.parametrize("line", [
    'token = "xoxb-1111-2222-SeCrEtToKeN',           # the closing quote forgotten
    "token = xoxb-1111-2222-SeCrEtToKeN",            # no quotes at all
])
def test_a_toml_syntax_error_never_echoes_a_written_token(project: Project, line: str) -> None:
    project.write_config(f"""
[channels.slack]
type = "slack"
{line}
channel = "#status"
""")
    result = project.cli("list")
    assert result.exit_code == 2
    assert "SeCrEtToKeN" not in result.stdout + result.stderr, result.stderr


def test_a_toml_syntax_error_never_echoes_a_database_password(project: Project) -> None:
    project.write_config("""
[store]
url = "postgresql://oncall:Hunter2Pa55@db.example.com/status
""")
    result = project.cli("list")
    assert result.exit_code == 2
    assert "Hunter2Pa55" not in result.stdout + result.stderr, result.stderr


@pytest.mark.parametrize("key", [b"\x04", b"SIGINT"], ids=["ctrl-d", "ctrl-c"])
def test_ctrl_c_or_ctrl_d_at_the_confirmation_is_a_refusal_not_an_unexpected_error(project: Project, key: bytes) -> None:
    """Both said click's "Aborted!" and exited 1, which the README keeps for a broken store or a bug."""
    leader, follower = pty.openpty()
    env = {**os.environ, **project.env, "COLUMNS": "160", "TERM": "dumb"}
    process = subprocess.Popen([sys.executable, "-m", "broadcaster", "--config", str(project.config), "post",
                                "--title", "API errors", "-C", "api", "Investigating."],
                               stdin=follower, stdout=follower, stderr=follower, env=env, cwd=project.root)
    os.close(follower)
    output = b""
    while b"Publish now?" not in output:
        ready, _, _ = select.select([leader], [], [], 30)
        assert ready, output
        output += os.read(leader, 4096)
    if key == b"SIGINT":  # what Ctrl-C sends to the terminal's foreground process
        # A signal that lands after the prompt is written and before the terminal read begins is seen by CPython
        # only when the read returns (it blocks): a person sees the prompt before pressing Ctrl-C, so wait a
        # moment as they would, and press again if the first one fell into that gap on a loaded machine.
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGINT)
    else:
        os.write(leader, key)
    code = process.wait(timeout=30)
    while select.select([leader], [], [], 0.2)[0]:
        try:
            output += os.read(leader, 4096)
        except OSError:
            break
    os.close(leader)
    shown = output.decode(errors="replace")
    assert code == 2, shown
    assert "nothing was stored or sent" in shown.lower() and "Aborted" not in shown, shown
    assert project.cli("list", "--json").stdout.strip() in ("[]", "")


def test_resolve_with_a_second_incident_id_does_not_publish_it_as_the_message(project: Project) -> None:
    first = _post(project, "API errors")
    second = _post(project, "DB slow")
    result = project.cli("resolve", "--yes", first, second)
    assert result.exit_code == 2, result.stdout
    page = (project.site / "incidents" / f"{first}.html").read_text(encoding="utf-8")
    assert second not in page


@pytest.mark.parametrize("port", ["99999", "-1"])
def test_a_mistyped_port_is_an_input_error(project: Project, port: str) -> None:
    _post(project)
    result = project.cli("site", "serve", "--port", port)
    assert result.exit_code == 2, result.stderr
    assert "unexpected" not in result.stderr


def test_importing_a_binary_file_is_an_input_error(project: Project) -> None:
    import gzip

    _post(project)
    exported = project.cli("store", "export")
    packed = project.root / "backup.jsonl.gz"
    packed.write_bytes(gzip.compress(exported.stdout.encode()))
    for source in (packed, project.root / ".broadcaster" / "state.db"):
        result = project.cli("store", "import", str(source))
        assert result.exit_code == 2, result.stderr
        assert "unexpected" not in result.stderr, result.stderr


def test_importing_binary_standard_input_is_an_input_error(project: Project) -> None:
    result = project.cli("store", "import", "-", input=b"\x1f\x8b\x08\x00\xff\xfe binary")
    assert result.exit_code == 2, result.stderr
    assert "unexpected" not in result.stderr, result.stderr


# -- `--set region=` (an unset shell variable) publishes "DNS failures in ."; a key given twice --------

TEMPLATE = """
[templates.dns]
title = "DNS resolution errors in {region}"
impact = "major"
components = ["api"]
message = "We see DNS failures in {region}. Next update in 30 minutes."
"""


def _template_project(project: Project) -> None:
    project.write_config(TEMPLATE)


def test_an_empty_template_value_is_refused(project: Project) -> None:
    _template_project(project)
    result = project.cli("post", "--yes", "--template", "dns", "--set", "region=")  # --set region=$REGION, unset
    assert result.exit_code == 2, result.stdout
    assert project.cli("list", "--json").stdout.strip() == "[]"


def test_a_template_key_given_twice_is_refused(project: Project) -> None:
    _template_project(project)
    result = project.cli("post", "--yes", "--template", "dns", "--set", "region=eu-west", "--set", "region=us-east")
    assert result.exit_code == 2, result.stdout


def test_one_component_given_two_statuses_is_refused(project: Project) -> None:
    result = project.cli("post", "--yes", "--json", "--title", "API down", "--impact", "critical",
                         "-C", "api=major_outage", "-C", "api=operational", "The API is down.")

    assert result.exit_code == 2, result.stdout


def test_export_onto_an_earlier_export_or_an_empty_file_replaces_it(project: Project) -> None:
    incident = _post(project)
    for name in ("daily.jsonl", "empty.jsonl"):
        target = project.root / name
        target.write_text("" if name == "empty.jsonl" else project.cli("store", "export").stdout, encoding="utf-8")
        exported = project.cli("store", "export", str(target))
        assert exported.exit_code == 0 and incident in target.read_text(encoding="utf-8"), exported.stderr


# A typo in the config's [store] path (as in --store, which was refused) read as a new, empty store: "No incidents
# yet", a build that emptied the page, a post that split the history in two.
def _typo_store(project: Project) -> None:
    text = project.config.read_text(encoding="utf-8")
    project.config.write_text(text + '\n[store]\npath = ".broadcaster/state.dv"\n', encoding="utf-8")


def test_a_store_path_typo_in_the_config_is_not_read_as_an_empty_store(project: Project) -> None:
    _post(project)
    _typo_store(project)
    listed = project.cli("list")
    assert listed.exit_code == 2, listed.stdout
    assert not (project.root / ".broadcaster" / "state.dv").exists()


def test_a_store_path_typo_does_not_empty_the_page(project: Project) -> None:
    incident = _post(project)
    _typo_store(project)
    built = project.cli("site", "build")
    assert built.exit_code == 2, built.stdout
    assert (project.site / "incidents" / f"{incident}.html").exists()


def test_a_post_through_a_store_path_typo_is_refused(project: Project) -> None:
    incident = _post(project)
    _typo_store(project)
    posted = project.cli("post", "--yes", "--title", "DB slow", "-C", "db", "Slow queries.")
    assert posted.exit_code == 2, posted.stdout
    assert (project.site / "incidents" / f"{incident}.html").exists()


# Paths from the config reached the terminal raw: an escape sequence in [page] output_dir rewrote the line above
# the post's summary ("Page: ..."), one in [store] path set the window title from every message naming the store.
FAKE_OK = "\\u001b[1A\\u001b[2K\\u001b[32m OK all channels sent\\u001b[0m"  # as TOML writes it


@pytest.mark.parametrize("setting", [f'[page]\noutput_dir = "pub{FAKE_OK}"\n',
                                     '[store]\npath = ".broadcaster/st\\u001b]0;pwned\\u0007.db"\n'])
def test_a_config_path_holding_escapes_is_refused_when_read(project: Project, setting: str) -> None:
    project.write_config(setting, base="")
    result = project.cli("list")
    assert result.exit_code == 2 and "control character" in result.stderr, result.output
    assert "\x1b" not in result.stdout + result.stderr, repr(result.stderr)


def test_a_post_run_inside_the_site_folder_is_refused_and_writes_no_state_into_it(
        project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """`cd public` to look at the page, then the next post from there: the built-in default kept its store (the
    private note in it) and a second site inside the published folder, and later builds kept them there."""
    from click.testing import CliRunner

    from broadcaster.cli import main

    _post(project)
    monkeypatch.delenv("BROADCASTER_CONFIG", raising=False)
    monkeypatch.chdir(project.site)
    result = CliRunner().invoke(main, ["post", "--yes", "--title", "DB slow", "--private", "circuit 42, Initech",
                                       "Slow queries."], catch_exceptions=False)
    assert result.exit_code == 2 and "is a site broadcaster builds" in result.output, result.output
    assert not (project.site / ".broadcaster").exists() and not (project.site / "public").exists()


def test_ctrl_c_pressed_repeatedly_during_a_post_prints_no_traceback(project: Project) -> None:
    """A stressed operator hammering Ctrl-C: after "Interrupted.", Python printed "Exception ignored in <module
    'threading'> ... KeyboardInterrupt", the second press interrupting the exit's wait for the SDKs' threads."""
    import time

    from tests.fakes.world import FakeWorld

    with FakeWorld(latency=3) as world:
        project.write_config(world.channels_toml())  # the default [engine]: as an operator runs it
        project.env.update(world.env)
        for n in range(6):  # a store with some history, as any team's has
            assert project.cli("post", "--yes", "--only", "site", "--title", f"Earlier {n}", "Done.").exit_code == 0
        env = {**os.environ, **project.env}
        env.pop("BROADCASTER_CONFIG", None)
        process = subprocess.Popen(
            [sys.executable, "-m", "broadcaster", "--config", str(project.config), "post", "--yes", "--title",
             "API errors", "-C", "api", "Investigating."],
            cwd=project.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        time.sleep(1.5)  # the post under way: its requests wait on the slow fakes, the SDKs' threads running
        for _ in range(4):
            process.send_signal(signal.SIGINT)
            time.sleep(0.15)
        out, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, (stderr, out)
    assert "Traceback" not in stderr and "Interrupted." in stderr, stderr


def test_a_store_that_is_a_folder_is_named_as_given(project: Project) -> None:
    """`--store /tmp` was "unexpected" (exit 1) and blamed "[store] path", which the operator had not touched."""
    result = project.cli("--store", str(project.root), "list")
    assert result.exit_code == 2 and f"--store {project.root} is a folder" in result.stderr, result.output
    project.write_config(f'[store]\npath = "{project.root}"\n')
    result = project.cli("list")
    assert result.exit_code == 2 and "[store] path" in result.stderr and "is a folder" in result.stderr, result.output


@pytest.mark.parametrize("option", ["--next-update", "--etr"])
def test_a_time_given_twice_is_refused(project: Project, option: str) -> None:
    """A repeated --next-update kept the last one without a word: the promise published may not be the one meant."""
    result = project.cli("post", "--yes", "--title", "API errors", option, "30m", option, "2h", "Errors.")
    assert result.exit_code == 2 and "given 2 times" in result.output, result.output
    assert project.cli("list", "--json").stdout.strip() in ("[]", "")


def test_a_message_that_begins_like_a_number_says_how_to_post_it(project: Project) -> None:
    """A review: `post "-5% of requests fail"` got click's "No such option '-5'" and nothing about the message."""
    refused = project.cli("post", "--yes", "--title", "API errors", "-5% of requests fail")
    assert refused.exit_code == 2 and "put `--` just before the message" in refused.stderr, refused.stderr
    posted = project.cli("post", "--yes", "--json", "--title", "API errors", "--", "-5% of requests fail")
    assert posted.exit_code == 0, posted.output
    # A review: the hint printed `broadcaster resolve [OPTIONS] -- "MESSAGE"`, the incident id left out.
    incident = json.loads(posted.stdout)["incident_id"]
    hinted = project.cli("resolve", "--yes", incident, "-5% still fail, now fixed")
    assert hinted.exit_code == 2 and "after the options and any incident id" in hinted.stderr, hinted.stderr
    assert project.cli("resolve", "--yes", incident, "--", "-5% still fail, now fixed").exit_code == 0
    typo = project.cli("post", "--yse", "--title", "API errors", "Errors.")
    assert "put `--`" not in typo.stderr and "--yes" in typo.stderr
