"""Review 32b of start-up's deferred work (lazy_re, broadcaster.operations' names, the command families' map).

1. The suite's guards that walk every command (each has help; each is in the README) walked ``main.commands``,
   which a fresh process now holds empty (a command is added when it is looked up): they checked nothing, or only
   the commands earlier tests of the same worker happened to run.
2. A name of ``broadcaster.operations`` first used while a test had patched its module was the patch, and kept it
   for the rest of the process (the package stored it in its globals) after the patch was undone: the package's
   names were the modules' own functions when it imported them, and tests/test_review19_posting.py relies on that
   (its retry test failed when run alone, and passed only after another test had used the name).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _fresh(probe: str) -> str:
    """``probe``'s output, run in a fresh interpreter (no command looked up, no name of operations used yet)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH"))))}
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, env=env,
                            check=False, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_readme_guard_sees_a_command_missing_from_the_readme_in_a_fresh_process() -> None:
    probe = (
        "import pathlib, tempfile\n"
        "import tests.test_structure as t\n"
        "folder = pathlib.Path(tempfile.mkdtemp())\n"
        "text = (t.ROOT / 'README.md').read_text(encoding='utf-8')\n"
        "(folder / 'README.md').write_text(text.replace('broadcaster bot', 'broadcaster b0t'), encoding='utf-8')\n"
        "t.ROOT = folder\n"
        "try:\n"
        "    t.test_every_cli_command_is_in_the_readme()\n"
        "except AssertionError as exc:\n"
        "    print('refused', \"'bot'\" in str(exc))\n"
        "else:\n"
        "    print('passed')\n"
    )
    assert _fresh(probe) == "refused True"


def test_the_help_guard_sees_a_command_without_help_in_a_fresh_process() -> None:
    probe = (
        "import broadcaster.cli.bot as family\n"
        "[command] = family.COMMANDS\n"
        "command.help = None\n"
        "import tests.test_cli as t\n"
        "class Ran:\n"
        "    exit_code = 0\n"
        "class Project:\n"
        "    def cli(self, *args):\n"
        "        return Ran()\n"
        "try:\n"
        "    t.test_every_command_has_help(Project())\n"
        "except AssertionError as exc:\n"
        "    print('refused', 'broadcaster bot' in str(exc))\n"
        "else:\n"
        "    print('passed')\n"
    )
    assert _fresh(probe) == "refused True"


def test_a_name_of_operations_first_used_under_a_patch_is_not_kept_once_the_patch_is_undone() -> None:
    probe = (
        "from broadcaster.operations import retrying\n"
        "import broadcaster.operations as operations\n"
        "real = retrying.retry_todo\n"
        "retrying.retry_todo = lambda *args, **kwargs: []\n"
        "during = operations.retry_todo is real\n"  # its first use, while a test has patched its module
        "retrying.retry_todo = real\n"  # the test's patch undone
        "print(during, operations.retry_todo is real)\n"
    )
    # As when the package imported its modules: its names are the functions the modules defined, whatever a test
    # patches in a module afterwards (tests/test_review19_posting.py's claimed_meanwhile patches retrying.retry_todo
    # for retry's own call; `broadcaster retry` then listed its targets with the patch, claimed the delivery first,
    # and the test failed when run alone).
    assert _fresh(probe) == "True True"
