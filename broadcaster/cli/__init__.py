"""The ``broadcaster`` command: thin click commands that parse, call one function of
``broadcaster.operations`` (or ``lifecycle``), and print through ``broadcaster.cli.output``.

``group`` holds the group and the only mapping of errors to exit codes; ``options`` the
options shared by many commands; one module per family of commands, each listing its
``COMMANDS``, added here. Nothing in the package imports this module back.
"""

from __future__ import annotations

from broadcaster.cli import bot, inspect, lifecycle, post, store, subscribers
from broadcaster.cli.group import main

for _family in (post, inspect, lifecycle, store, subscribers, bot):
    for _command in _family.COMMANDS:
        main.add_command(_command)

__all__ = ["main"]
