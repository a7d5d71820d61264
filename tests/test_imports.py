"""What cstool imports: declared packages only, no cycle among its own modules, and a core
that never imports the terminal libraries."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Collection, Iterator
from importlib.metadata import packages_distributions
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Declared for work that is on its way rather than imported yet: pandas for the group-by
# reports, sqlite-utils for full-text search over notes and the timeline.
AHEAD = {"pandas", "sqlite-utils"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


# Extras that add to what cstool/ itself imports (the rest serve tests and benchmarks).
ENGINE_EXTRAS = ("duckdb", "spark")
# The module each engine extra's package provides, which may not be installed.
OPTIONAL_MODULES = {"duckdb": "duckdb", "pyspark": "pyspark"}


def declared() -> set[str]:
    """The base dependencies and the packages of the engine extras."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    return {_name(r) for r in project["dependencies"]} | {
        _name(r) for e in ENGINE_EXTRAS for r in extras[e]
    }


def modules() -> dict[str, Path]:
    """Every module of the cstool package by dotted name."""
    out = {}
    for path in (REPO / "cstool").rglob("*.py"):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node of a module except those under ``if TYPE_CHECKING:``, which never run."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in [child, *_runtime_nodes(child)])
            continue
        yield node
        yield from _runtime_nodes(node)


def imports(path: Path, mods: Collection[str] = ()) -> set[str]:
    """Every module a file imports when it runs, at the top or inside a function.
    ``from a import b`` is ``a.b`` when that is one of ``mods`` (Python runs the package
    ``a`` first either way, but its names are not what is used), else ``a``."""
    found: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for a in node.names:
                sub = f"{node.module}.{a.name}"
                found.add(sub if sub in mods else node.module)
    return found


def imported() -> set[str]:
    """The distributions that provide the top-level modules cstool/ imports."""
    top: set[str] = set()
    for path in (REPO / "cstool").rglob("*.py"):
        top |= {m.split(".")[0] for m in imports(path)}
    third_party = top - set(sys.stdlib_module_names) - {"cstool", "__future__"}
    dists = packages_distributions()
    # An engine's package is imported only when that engine runs, and may be absent.
    missing = {m for m in third_party if m not in dists and m not in OPTIONAL_MODULES}
    assert not missing, f"modules imported by cstool but not installed: {missing}"
    return {_name(d) for m in third_party for d in dists.get(m, [OPTIONAL_MODULES.get(m, m)])}


def test_every_imported_package_is_declared() -> None:
    """Each third-party package cstool/ imports is a dependency in pyproject.toml."""
    assert imported() - declared() == set()


def test_every_declared_package_is_imported() -> None:
    """A dependency (base or engine extra) nothing imports goes, except the ones declared
    for work ahead."""
    assert declared() - imported() <= AHEAD


def graph() -> dict[str, set[str]]:
    """Which cstool modules each cstool module imports."""
    mods = modules()
    return {name: imports(path, mods) & mods.keys() for name, path in mods.items()}


def test_no_import_cycle_among_cstool_modules() -> None:
    """No module imports (even lazily) one that imports it back: layers stay layers."""
    edges = graph()
    state: dict[str, int] = {}
    path: list[str] = []
    cycles: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        path.append(m)
        for n in sorted(edges[m]):
            if state.get(n) == 1:
                cycles.append(" -> ".join([*path[path.index(n) :], n]))
            elif n not in state:
                visit(n)
        path.pop()
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m)
    assert cycles == []


def test_the_core_never_imports_typer_or_rich() -> None:
    """Only cli, console and commands/ may use the terminal libraries."""
    terminal = {"typer", "rich", "click"}
    offenders = {
        name
        for name, path in modules().items()
        if not (name in ("cstool.cli", "cstool.console") or name.startswith("cstool.commands"))
        and {m.split(".")[0] for m in imports(path)} & terminal
    }
    assert offenders == set()
