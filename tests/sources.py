"""Reading the project's own source as a syntax tree, for the tests that guard its design."""

from __future__ import annotations

import ast
from pathlib import Path

ATTEMPTS = 5


def parse_file(path: Path) -> ast.Module:
    """``ast.parse`` of ``path``, tried again when CPython 3.11 races: its AST conversion keeps one recursion counter
    for every thread (gh-106905), and another thread of the test worker formatting a traceback (3.11's carets
    parse the line) makes it fail with "AST constructor recursion depth mismatch". The tree is right on the next try."""
    text = path.read_text(encoding="utf-8")
    for _ in range(ATTEMPTS - 1):
        try:
            return ast.parse(text, filename=str(path))
        except SystemError:
            continue
    return ast.parse(text, filename=str(path))
