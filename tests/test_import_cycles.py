"""No import cycle among broadcaster's modules (channels/ and messages/ counted as the packages they install as).

The graph is read from the source with ``ast``, not by importing it, so an import
inside a function counts as much as one at the top of a module: it runs later, but
a cycle through it still ties the two modules together (and breaks the day someone
moves the import up). Imports under ``if TYPE_CHECKING:`` are left out: they never
run, and they are the sanctioned way to name a type across layers.

An edge goes to the module an import names: ``from broadcaster.store import sqlite``
to ``broadcaster.store.sqlite`` when that is a module, else to ``broadcaster.store``.
The parents a dotted import initialises on the way (``broadcaster.store``'s
``__init__`` for ``broadcaster.store.sqlite``) are not edges: a package that
re-exports its submodules, which import one another by their full names, is the
usual shape and imports fine.

A cycle is a strongly connected component of more than one module; the failure
lists each with the import lines that close it.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import ROOT
from tests.sources import parse_file

# Where each installed package's source sits in the repo (pyproject's package-dir).
PACKAGES = {
    "broadcaster": ROOT / "broadcaster",
    "broadcaster.channels": ROOT / "channels",
    "broadcaster.messages": ROOT / "messages",
}

Graph = dict[str, dict[str, int]]  # module -> {module it imports: line of the first such import}


def modules(packages: dict[str, Path]) -> dict[str, Path]:
    """Every module under ``packages``, by its dotted name."""
    found: dict[str, Path] = {}
    for package, folder in packages.items():
        for path in sorted(folder.rglob("*.py")):
            parts = [*path.relative_to(folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join([package, *parts])] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import under ``node`` at any depth (functions, classes, try blocks), less TYPE_CHECKING blocks."""
    if isinstance(node, ast.If) and _is_type_checking(node.test):
        children: list[ast.AST] = list(node.orelse)
    else:
        children = list(ast.iter_child_nodes(node))
    for child in children:
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        else:
            yield from _imports(child)


def _targets(module: str, is_package: bool, node: ast.Import | ast.ImportFrom, known: dict[str, Path]) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = node.module or ""
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        anchor = package[: len(package) - (node.level - 1)]
        base = ".".join([*anchor, *([node.module] if node.module else [])])
    for alias in node.names:
        submodule = f"{base}.{alias.name}"
        yield submodule if submodule in known else base


def import_graph(packages: dict[str, Path]) -> Graph:
    known = modules(packages)
    graph: Graph = {name: {} for name in known}
    for name, path in known.items():
        tree = parse_file(path)
        for node in _imports(tree):
            for target in _targets(name, path.name == "__init__.py", node, known):
                if target in known and target != name:
                    graph[name].setdefault(target, node.lineno)
    return graph


def cycles(graph: Graph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    advanced = True
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


def describe(component: list[str], graph: Graph, known: dict[str, Path]) -> str:
    members = set(component)
    lines = [f"  cycle of {len(component)}: {', '.join(component)}"]
    for module in component:
        path = known[module].relative_to(ROOT) if known[module].is_relative_to(ROOT) else known[module]
        for target, line in sorted(graph[module].items()):
            if target in members:
                lines.append(f"    {path}:{line} imports {target}")
    return "\n".join(lines)


def test_no_import_cycle_among_broadcaster_channels_and_messages() -> None:
    graph = import_graph(PACKAGES)
    found = cycles(graph)
    known = modules(PACKAGES)
    assert not found, "import cycles (break each; an import under TYPE_CHECKING does not count):\n" + "\n".join(
        describe(component, graph, known) for component in found
    )


def _tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


def test_the_walk_finds_a_cycle_through_a_function_and_a_relative_import(tmp_path: Path) -> None:
    _tree(tmp_path, {
        "app/__init__.py": "",
        "app/a.py": "def late():\n    from app.b import thing\n",
        "app/b.py": "from . import c\n",
        "app/c.py": "try:\n    import app.a\nexcept ImportError:\n    pass\n",
        "app/d.py": "import app.a\n",
        "lib/__init__.py": "from app import d\n",
    })
    graph = import_graph({"app": tmp_path / "app", "app.lib": tmp_path / "lib"})
    assert graph["app.a"] == {"app.b": 2}
    assert graph["app.lib"] == {"app.d": 1}
    assert cycles(graph) == [["app.a", "app.b", "app.c"]]
    message = describe(cycles(graph)[0], graph, modules({"app": tmp_path / "app"}))
    assert "a.py:2 imports app.b" in message and "c.py:2 imports app.a" in message


def test_the_walk_leaves_out_type_checking_imports_and_names_that_are_not_modules(tmp_path: Path) -> None:
    _tree(tmp_path, {
        "app/__init__.py": "from app.a import A\n",
        "app/a.py": """
            from typing import TYPE_CHECKING
            import typing
            if TYPE_CHECKING:
                from app.b import B
            else:
                from app import c
            if typing.TYPE_CHECKING:
                import app.b
            class A: ...
        """,
        "app/b.py": "from app.a import A\n",
        "app/c.py": "",
    })
    graph = import_graph({"app": tmp_path / "app"})
    assert graph["app.a"] == {"app.c": 7}  # the else branch runs, so it counts
    assert graph["app"] == {"app.a": 1}
    assert graph["app.b"] == {"app.a": 1}
    assert cycles(graph) == []
