"""Patterns compiled where first used (``broadcaster.lazy_re``): the same matches as ``re``, every
module-level pattern of the package valid, and a command that does not use a pattern never compiles it."""

from __future__ import annotations

import copy
import importlib
import pickle
import pkgutil
import re
import subprocess
import sys
import threading
from types import ModuleType

import pytest

import broadcaster
from broadcaster import lazy_re


def _all_modules() -> list[ModuleType]:
    """Every module of the package (``__main__`` runs the command: left out)."""
    names = [info.name for info in pkgutil.walk_packages(broadcaster.__path__, "broadcaster.")]
    for package in ("broadcaster.channels", "broadcaster.messages"):
        root = importlib.import_module(package)
        names.extend(info.name for info in pkgutil.walk_packages(root.__path__, f"{package}."))
    return [importlib.import_module(name) for name in names if not name.endswith("__main__")]


def _deferred_in(module: ModuleType) -> list[tuple[str, lazy_re.Deferred]]:
    found: list[tuple[str, lazy_re.Deferred]] = []
    for name, value in vars(module).items():
        values = value if isinstance(value, (tuple, list)) else (value,)
        found.extend((f"{module.__name__}.{name}", v) for v in values if isinstance(v, lazy_re.Deferred))
    return found


def test_every_module_level_pattern_of_the_package_compiles() -> None:
    """A mistake in a pattern no longer fails at import: this is where it fails instead."""
    deferred = [pair for module in _all_modules() for pair in _deferred_in(module)]
    assert len(deferred) > 150, "the package's module-level patterns are found"
    for where, pattern in deferred:
        try:
            compiled = pattern.compiled()
        except re.error as exc:  # pragma: no cover - the failure this test exists for
            pytest.fail(f"{where}: {exc}")
        assert compiled.pattern == pattern.pattern, where


def _lines_of_the_package(matching: str) -> list[str]:
    """Where a line of the package's sources (``lazy_re`` itself aside: its docstring says why) matches."""
    found: list[str] = []
    for module in _all_modules():
        source = getattr(module, "__file__", None)
        if not source or module.__name__ == "broadcaster.lazy_re":
            continue
        with open(source, encoding="utf-8") as handle:
            found.extend(f"{module.__name__}:{number}" for number, line in enumerate(handle, 1)
                         if re.search(matching, line))
    return found


def test_a_module_level_re_compile_is_not_left_in_the_package() -> None:
    """New patterns go through lazy_re too, or the import cost creeps back one pattern at a time."""
    assert _lines_of_the_package(r"^[A-Za-z_][\w.]*\s*(:[^=]*)?=\s*re\.compile\(") == []


def test_no_code_asks_a_match_which_module_level_pattern_it_came_from() -> None:
    """A match's ``re`` is the compiled pattern, not the module's object: ``m.re is _ADDRESSED`` was always False
    once that pattern was deferred, and the gate's check of a head addressed to a customer ("(acme: 3 circuits)")
    then let it through as public. Tell the patterns apart by which one was searched, never by ``m.re``."""
    assert _lines_of_the_package(r"\.re\s*(?:is|==|!=|in)\b|\.re\s*[=!]=|\[\w+\.re\]") == []


def test_it_matches_as_the_compiled_pattern_does() -> None:
    text = "Edge [private]fra-2[/private] and [PRIVATE] ticket OPS-77, ops-78"
    source, flags = r"\[(/?)private\]|(?P<ticket>ops-\d+)", re.IGNORECASE
    lazy, eager = lazy_re.compile(source, flags), re.compile(source, flags)
    assert lazy.pattern == eager.pattern  # known before it is compiled (patterns are composed of others)
    assert lazy.search(text) is not None and lazy.search(text).span() == eager.search(text).span()  # type: ignore[union-attr]
    assert [m.span() for m in lazy.finditer(text)] == [m.span() for m in eager.finditer(text)]
    assert lazy.findall(text) == eager.findall(text)
    assert lazy.sub("-", text) == eager.sub("-", text)
    assert lazy.subn("-", text) == eager.subn("-", text)
    assert lazy.split(text) == eager.split(text)
    assert lazy.match(text) is None and eager.match(text) is None
    assert lazy.fullmatch("ops-1") is not None
    assert (lazy.flags, lazy.groups, dict(lazy.groupindex)) == (eager.flags, eager.groups, dict(eager.groupindex))


def test_a_mistake_fails_where_the_pattern_is_first_used() -> None:
    broken = lazy_re.compile(r"[unclosed")
    with pytest.raises(re.error):
        broken.search("x")


def test_after_the_first_use_calls_go_to_the_compiled_pattern() -> None:
    """Nothing of ours sits between a hot loop and ``re`` once a pattern is compiled."""
    lazy = lazy_re.compile(r"a+")
    assert "search" not in vars(lazy)
    lazy.search("caab")
    assert vars(lazy)["search"].__self__ is re.compile(r"a+")  # the compiled pattern's own bound method


def test_copies_and_pickles_and_threads() -> None:
    lazy = lazy_re.compile(r"b+", re.IGNORECASE)
    assert copy.deepcopy(lazy).search("aBb").group() == "Bb"  # type: ignore[union-attr]
    assert pickle.loads(pickle.dumps(lazy)).search("abB").group() == "bB"
    racing = lazy_re.compile(r"c(?P<n>\d+)")
    found: list[str] = []
    threads = [threading.Thread(target=lambda: found.append(racing.search("xc42")["n"])) for _ in range(8)]  # type: ignore[index]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert found == ["42"] * 8


def test_importing_the_gate_compiles_none_of_its_patterns() -> None:
    """What the change is for: a fresh interpreter imports the gate and the config's checks without
    compiling their patterns; checking a message compiles only the ones it uses."""
    probe = (
        "import re, sys\n"
        "compiled = []\n"
        "original = re._compile\n"
        "def counting(pattern, flags):\n"
        "    compiled.append(pattern)\n"
        "    return original(pattern, flags)\n"
        "re._compile = counting\n"
        "from broadcaster.messages import gate\n"
        "import broadcaster.config_loader, broadcaster.redaction\n"
        "from broadcaster import lazy_re\n"
        "at_import = [p for p in compiled if any(p == d.pattern for d in vars(gate).values()\n"
        "             if isinstance(d, lazy_re.Deferred))]\n"
        "print(len(at_import))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "0", result.stderr
