"""Review 52b: a new operator's first hour, and an operator in a hurry, through the real CLI.

A config, a postmortem or a message saved by a Windows editor starts with a byte order mark: the config was refused
"not valid TOML: Invalid statement (at line 1, column 1)" with its line not shown, and the postmortem or message read
from standard input "holds an invisible or control character (ZERO WIDTH NO-BREAK SPACE, U+FEFF) at character 1 ...
it often comes from copying out of a chat". The mark is the file's encoding, not its text. X's credential errors
read "channels.x.is missing access_token": the key path ran into the sentence."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import Project

BOM = b"\xef\xbb\xbf"


def _run(project: Project, *args: str, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """The real ``broadcaster`` in its own process, in the project's folder (no --config: found as a new operator's)."""
    env = {"PATH": "/usr/bin:/bin", "USER": "oncall", "HOME": str(project.root), **project.env}
    return subprocess.run([sys.executable, "-m", "broadcaster", *args], cwd=project.root, env=env, input=input,
                          capture_output=True, timeout=120, check=False)


def test_a_config_saved_with_a_byte_order_mark_is_read(project: Project) -> None:
    project.config.write_bytes(BOM + project.config.read_bytes().replace(b"\n", b"\r\n"))
    done = _run(project, "post", "--yes", "--title", "API errors", "-C", "api", "Elevated errors on the API.")
    assert done.returncode == 0, done.stderr.decode()
    assert b"not valid TOML" not in done.stderr
    listed = json.loads(_run(project, "list", "--json").stdout)
    assert [incident["title"] for incident in listed] == ["API errors"]


def test_a_message_from_a_file_with_a_byte_order_mark_is_its_text(project: Project) -> None:
    done = _run(project, "post", "--yes", "--title", "API errors", "-", input=BOM + b"Elevated errors on the API.\r\n")
    assert done.returncode == 0, done.stderr.decode()
    summary = json.loads((project.site / "api" / "v2" / "summary.json").read_text(encoding="utf-8"))
    assert summary["incidents"][0]["incident_updates"][0]["body"] == "Elevated errors on the API."


def test_a_postmortem_file_with_a_byte_order_mark_is_published(project: Project) -> None:
    assert _run(project, "post", "--yes", "--title", "API errors", "Elevated errors.").returncode == 0
    incident = json.loads(_run(project, "list", "--json").stdout)[0]["id"]
    assert _run(project, "resolve", "--yes", incident).returncode == 0
    postmortem = project.root / "postmortem.md"
    postmortem.write_bytes(BOM + b"# What happened\r\n\r\nA faulty deploy.\r\n")
    done = _run(project, "postmortem", "--yes", incident, "--file", str(postmortem))
    assert done.returncode == 0, done.stderr.decode()
    page = (project.site / "incidents" / f"{incident}.html").read_text(encoding="utf-8")
    assert "A faulty deploy." in page and "\ufeff" not in page


def test_an_error_of_x_credentials_names_the_table_and_then_says_what_is_wrong(project: Project) -> None:
    project.env.update({"X_CONSUMER_KEY": "k", "X_CONSUMER_SECRET": "s"})
    project.write_config('\n[channels.x]\ntype = "twitter"\nconsumer_key = "${X_CONSUMER_KEY}"\n'
                         'consumer_secret = "${X_CONSUMER_SECRET}"\n')
    done = _run(project, "post", "--yes", "--title", "API errors", "Elevated errors.")
    assert done.returncode == 2
    assert "channels.x: is missing access_token, access_token_secret" in done.stderr.decode()
    assert not (project.root / "public").exists()


def test_components_written_as_one_string_with_commas_is_shown_as_the_list_meant(project: Project) -> None:
    """`components = "api, db"` was refused as an unknown component 'api, db', "Did you mean 'api'?": the fix offered
    would have dropped db."""
    project.write_config('\n[audiences.acme]\nname = "Acme Corp"\ncomponents = "api, db"\n')
    done = _run(project, "post", "--yes", "--title", "API errors", "Elevated errors.")
    assert done.returncode == 2
    assert 'audiences.acme.components: must be a list, one string per id: components = ["api", "db"]' in done.stderr.decode()
    assert "Did you mean" not in done.stderr.decode()


def test_a_component_typed_after_a_small_c_is_pointed_to_the_capital_c(project: Project) -> None:
    done = _run(project, "post", "--yes", "--title", "API errors", "-c", "api=major_outage", "Elevated errors.")
    assert done.returncode == 2
    assert "-C ID[=STATUS], a capital C" in done.stderr.decode()
    assert not (project.root / "public").exists()


def test_chat_ids_written_as_a_string_says_how_to_write_the_list(project: Project) -> None:
    project.env["TELEGRAM_TOKEN"] = "123:abc"
    project.write_config('\n[channels.ops]\ntype = "telegram"\nvisibility = "internal"\ntoken = "${TELEGRAM_TOKEN}"\n'
                         'chat_ids = "-1001234567890"\n')
    done = _run(project, "post", "--yes", "--title", "API errors", "Elevated errors.")
    assert done.returncode == 2
    assert 'in square brackets: chat_ids = ["@mystatus", -1001234567890]' in done.stderr.decode()


def test_init_force_over_a_config_keeps_the_one_it_replaces(project: Project) -> None:
    """`init` refused "already exists; pass --force to overwrite it", and `--force` then threw away the operator's
    channels and audiences for good: every later post went to the local page alone."""
    written = project.config.read_bytes() + b'\n[channels.hook]\ntype = "webhook"\nurl = "https://hooks.example.com/s"\n'
    project.config.write_bytes(written)
    project.config.chmod(0o600)
    refused = _run(project, "init")
    assert refused.returncode == 2 and project.config.read_bytes() == written
    assert "keeping the file it replaces beside it" in refused.stderr.decode()
    done = _run(project, "init", "--force")
    assert done.returncode == 0, done.stderr.decode()
    kept = project.root / "broadcaster.toml.bak"
    assert kept.read_bytes() == written and (kept.stat().st_mode & 0o777) == 0o600
    assert f"Kept the config it replaced as {kept.name}" in done.stdout.decode()
    again = _run(project, "init", "--force")  # the starter over the starter: nothing to keep, the first .bak stays
    assert again.returncode == 0 and "Kept" not in again.stdout.decode()
    assert kept.read_bytes() == written and not (project.root / "broadcaster.toml.bak.2").exists()


def test_a_config_named_by_the_variable_says_the_folder_s_own_is_not_used(project: Project, tmp_path_factory: Any) -> None:
    """$BROADCASTER_CONFIG, left exported from a first hour's trial, named another config: a post run in the folder of
    the operator's broadcaster.toml went to that config's page alone, exit 0, with no word that this folder's config
    and its channels were passed over."""
    trial = tmp_path_factory.mktemp("trial") / "broadcaster.toml"
    trial.write_bytes(project.config.read_bytes().replace(b'output_dir = "public"', b'output_dir = "trial-page"'))
    project.env["BROADCASTER_CONFIG"] = str(trial)
    done = _run(project, "post", "--yes", "--title", "API errors", "Elevated errors.")
    assert done.returncode == 0, done.stderr.decode()
    said = done.stderr.decode()
    assert f"$BROADCASTER_CONFIG names {trial}, which is used; the broadcaster.toml in {project.root} is not" in said
    project.env["BROADCASTER_CONFIG"] = "broadcaster.toml"  # the same file: nothing to say
    assert "Note" not in _run(project, "list").stderr.decode()


def test_init_shows_the_paths_it_wrote_and_kept_escaped(project: Project) -> None:
    """Review 53a's note: `init` printed the path it wrote, and `--force` the path of the config it kept, as they
    are: a control character in a file name (an escape sequence pasted with it) reached the terminal raw."""
    name = "conf\u202egifnoc\x07.toml"  # a right-to-left override and a bell (click strips only ANSI sequences)
    (project.root / name).write_text("# the operator's own\n", encoding="utf-8")
    result = project.cli("init", "--force", str(project.root / name))
    assert result.exit_code == 0, result.output
    assert "\u202e" not in result.output and "\x07" not in result.output, ascii(result.output)
    assert "conf\\u202egifnoc\\x07.toml" in result.output, ascii(result.output)
    assert "Kept the config it replaced as" in result.output and ".bak" in result.output, result.output
    assert (project.root / (name + ".bak")).read_text(encoding="utf-8") == "# the operator's own\n"


def test_init_force_never_writes_the_kept_config_through_a_link_or_over_a_file(project: Project, tmp_path: Path) -> None:
    """The replaced config names the secrets' variables and may hold anything else: kept only where nothing is, never
    through a link planted under the backup's name, nor over a file made there (review 53a's note)."""
    config = project.root / "ops.toml"
    config.write_text("# the operator's own\n", encoding="utf-8")
    config.chmod(0o600)
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("not to be replaced\n", encoding="utf-8")
    (project.root / "ops.toml.bak").symlink_to(elsewhere)
    (project.root / "ops.toml.bak.2").write_text("an earlier backup\n", encoding="utf-8")
    result = project.cli("init", "--force", str(config))
    assert result.exit_code == 0, result.output
    kept = project.root / "ops.toml.bak.3"
    assert f"as {kept}." in result.output, result.output
    assert kept.read_text(encoding="utf-8") == "# the operator's own\n" and kept.stat().st_mode & 0o777 == 0o600
    assert elsewhere.read_text(encoding="utf-8") == "not to be replaced\n"
    assert (project.root / "ops.toml.bak.2").read_text(encoding="utf-8") == "an earlier backup\n"
