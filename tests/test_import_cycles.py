"""No import circle among reseaux's modules: each module's imports, read with ``ast``, make a graph
whose strongly connected groups of two modules or more are circles, named in the failure.

Every import counts, a deferred one inside a function included: it is a dependency all the same,
only hidden from the start-up (the france ↔ layers circle was made of two such imports). Imports
under ``if TYPE_CHECKING:`` do not run and do not count. ``from package import module`` depends on
that module (and the package's ``__init__``, when it imports something, on what it imports)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

SOURCE = ROOT / "src"


def modules(source: Path = SOURCE) -> dict[str, Path]:
    """``{dotted name: file}`` of every module and package of ``source``."""
    found = {}
    for path in sorted(source.rglob("*.py")):
        parts = path.relative_to(source).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The modules of ``known`` that module ``name`` (at ``path``) imports, anywhere in it."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if _type_checking(node):
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return {m for m in found if m in known and m != name}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of two modules or more (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph[node]):
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return sorted(groups)


def graph_of(source: Path = SOURCE) -> dict[str, set[str]]:
    known = modules(source)
    return {name: imports(name, path, known) for name, path in known.items()}


def test_the_finder_sees_a_circle_made_of_deferred_imports(tmp_path):
    """Three modules written here: a → b at the top, b → c inside a function, c → a under
    TYPE_CHECKING (not a circle), then c → a inside a function (a circle of three)."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg import b\n")
    (package / "b.py").write_text("def f():\n    from pkg.c import g\n")
    (package / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\n")
    assert circles(graph_of(tmp_path)) == []
    (package / "c.py").write_text("def g():\n    from . import a\n")
    assert circles(graph_of(tmp_path)) == [["pkg.a", "pkg.b", "pkg.c"]]


def test_no_import_circle_among_the_modules():
    found = circles(graph_of())
    assert not found, "cercles d'imports : " + " ; ".join(" ↔ ".join(group) for group in found)
