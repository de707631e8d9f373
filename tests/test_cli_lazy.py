"""Each command's module is imported when the command runs (``BroadcasterGroup.families``): every command is
still there, in help, in completion and in "did you mean", and a post loads no other command's module."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

from click.testing import CliRunner

from broadcaster.cli import main
from tests.conftest import Project

_FAMILIES = ("post", "inspect", "lifecycle", "store", "subscribers", "bot")


def test_the_map_names_every_command_of_every_module_and_nothing_else() -> None:
    defined = {command.name: family for family in _FAMILIES
               for command in importlib.import_module(f"broadcaster.cli.{family}").COMMANDS}
    assert dict(main.families) == defined


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    listed = result.output.split("Commands:", 1)[1]
    for name in main.families:
        assert f"\n  {name} " in listed, name


def test_a_mistyped_command_is_told_the_command_it_meant() -> None:
    """Click suggests from the commands the group holds: a name no module has loads them all first."""
    probe = ("from click.testing import CliRunner\n"
             "from broadcaster.cli import main\n"
             "result = CliRunner().invoke(main, ['lsit'])\n"
             "print(result.exit_code, result.output)\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.startswith("2 ") and "No such command 'lsit'" in out and "'list'" in out, out


def test_a_post_loads_no_other_commands_module() -> None:
    probe = ("import sys\n"
             "from click.testing import CliRunner\n"
             "from broadcaster.cli import main\n"
             "CliRunner().invoke(main, ['post', '--help'])\n"
             "print(sorted(m for m in sys.modules if m.startswith('broadcaster.cli.')))\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    loaded = {name.rsplit(".", 1)[1] for name in eval(out)}  # noqa: S307 - our own probe's printed list
    assert "post" in loaded
    assert not loaded & {"inspect", "lifecycle", "store", "subscribers", "bot"}, loaded


def test_completion_offers_every_command() -> None:
    result = CliRunner().invoke(main, [], env={"_BROADCASTER_COMPLETE": "bash_complete", "COMP_WORDS": "broadcaster ",
                                               "COMP_CWORD": "1"}, prog_name="broadcaster")
    offered = {line.split(",", 1)[1] for line in result.output.splitlines() if line.startswith("plain,")}
    assert offered >= set(main.families), result.output


def test_every_name_broadcaster_operations_offers_comes_from_the_module_it_names() -> None:
    """The package lists its names three times (for type checkers, for loading, ``__all__``): kept the same."""
    import broadcaster.operations as operations

    assert set(operations._MODULE_OF) == set(operations.__all__)
    for name, module in operations._MODULE_OF.items():
        source = importlib.import_module(f"broadcaster.operations.{module}")
        assert getattr(operations, name) is getattr(source, name), name


def test_a_post_with_json_loads_no_rich_and_prints_the_same_object(project: Project) -> None:
    """rich draws progress and tables (about 12 ms to import, on the way to the first upload): a script's `--json`
    post and `--dry-run --json` need neither, and print their one object as before."""
    for args in (("--dry-run",), ("--yes",)):
        post = project.process("post", *args, "--json", "--title", "Elevated errors", "-C", "api", "Investigating.",
                               env={"PYTHONPROFILEIMPORTTIME": "1"})
        out, imports = post.communicate(timeout=60)
        assert post.returncode == 0, imports[-3000:]
        assert "| rich" not in imports and "| broadcaster.cli.output" not in imports
        printed = json.loads(out)
        assert printed["dry_run"] is (args == ("--dry-run",))
        assert [d["state"] for d in printed["deliveries"]] == (["pending"] if args == ("--dry-run",) else ["sent"])
    shown = project.process("post", "--yes", "-i", printed["incident_id"], "Fixed.",
                            env={"PYTHONPROFILEIMPORTTIME": "1"})
    out, imports = shown.communicate(timeout=60)
    assert shown.returncode == 0 and "| rich" in imports and "✓ site" in out, out  # printed for a person, by rich
