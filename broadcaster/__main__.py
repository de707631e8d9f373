"""``python -m broadcaster`` runs the CLI."""

from broadcaster.cli import run

run()
