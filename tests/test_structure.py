"""Tests that guard the design: who may read private fields, and docs that keep up with the code."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import click

from tests.sources import parse_file

ROOT = Path(__file__).resolve().parent.parent
PRIVATE_FIELDS = {"raw_message", "raw_title", "private_note", "customers", "tickets", "private_message", "author"}
# visibility.py cuts the views; store/ persists updates; model.py defines them. The operator's own
# terminal views (show, the editor template) print private detail to the operator, marked as such.
# compose.py builds the Update from the operator's input.
ALLOWED = {"messages/visibility.py", "messages/model.py", "broadcaster/store/records.py",
           "broadcaster/cli/records.py",
           "broadcaster/compose_editor.py", "broadcaster/compose.py"}
# Formatters for private channels read private fields from a PrivateView, behind a visibility check.
PRIVATE_VIEW_READERS = {"messages/telegram.py", "messages/slack.py", "messages/rich.py"}
PRIVATE_VIEW_READERS |= {"messages/discord.py", "messages/teams.py", "messages/webhook.py", "messages/preview.py"}


def python_files() -> list[Path]:
    return [p for d in ("broadcaster", "channels", "messages") for p in (ROOT / d).rglob("*.py")]


def test_only_the_visibility_module_reads_private_fields_of_an_update() -> None:
    offenders = []
    for path in python_files():
        relative = path.relative_to(ROOT).as_posix()
        if relative in ALLOWED:
            continue
        tree = parse_file(path)
        called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}  # methods, not fields
        for node in ast.walk(tree):
            if id(node) in called:
                continue
            if isinstance(node, ast.Attribute) and node.attr in PRIVATE_FIELDS and isinstance(node.ctx, ast.Load):
                if relative in PRIVATE_VIEW_READERS and node.attr != "raw_message":
                    continue
                offenders.append(f"{relative}:{node.lineno} reads .{node.attr}")
    assert not offenders, "private fields read outside messages/visibility.py:\n" + "\n".join(offenders)


def test_site_builder_and_public_formatters_never_touch_private_fields() -> None:
    public_only = [ROOT / "messages" / "twitter.py", *(ROOT / "broadcaster" / "site").rglob("*.py")]
    for path in public_only:
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8")
        for name in PRIVATE_FIELDS:
            assert not re.search(rf"\.{name}\b(?!\s*\()", text), f"{path.relative_to(ROOT)} mentions .{name}"


def test_every_cli_command_is_in_the_readme() -> None:
    from broadcaster.cli import main

    readme = (ROOT / "README.md").read_text(encoding="utf-8")

    def walk(group: click.Group, prefix: list[str]) -> Iterator[str]:
        # Through the group's own listing: a command's module is imported when it is looked up, and until then the
        # group's ``commands`` does not hold it (``BroadcasterGroup.families``).
        ctx = click.Context(group)
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            assert command is not None, name
            yield " ".join([*prefix, name])
            if isinstance(command, click.Group):
                yield from walk(command, [*prefix, name])

    missing = [c for c in walk(main, []) if f"broadcaster {c}" not in readme]
    assert not missing, f"commands missing from README.md: {missing}"


def test_every_config_key_is_documented() -> None:
    from broadcaster import config_loader, registry

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    keys = set(registry.COMMON_KEYS)
    for group in (config_loader._PAGE_KEYS, config_loader._STORE_KEYS, config_loader._ENGINE_KEYS,
                  config_loader._COMPONENT_KEYS, config_loader._TEMPLATE_KEYS):
        keys |= group
    for type_name in registry.channel_types():
        cls = registry.load_channel_class(type_name)
        keys |= set(cls.required_options) | set(cls.optional_options)
    for type_name in registry.host_types():
        host_cls = registry.load_host_class(type_name)
        keys |= set(host_cls.required_options) | set(host_cls.optional_options)
    missing = sorted(k for k in keys if f"`{k}`" not in readme)
    assert not missing, f"config keys not documented in README.md (as `key`): {missing}"
