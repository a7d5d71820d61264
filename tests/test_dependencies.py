"""pyproject.toml declares what cstool imports, and nothing it does not need."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Declared for work that is on its way rather than imported yet: pandas for the group-by
# reports, sqlite-utils for full-text search over notes and the timeline.
AHEAD = {"pandas", "sqlite-utils"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def declared() -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {_name(r) for r in project["dependencies"]}


def imported() -> set[str]:
    """The distributions that provide the top-level modules cstool/ imports."""
    modules: set[str] = set()
    for path in (REPO / "cstool").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    third_party = modules - set(sys.stdlib_module_names) - {"cstool", "__future__"}
    dists = packages_distributions()
    missing = {m for m in third_party if m not in dists}
    assert not missing, f"modules imported by cstool but not installed: {missing}"
    return {_name(d) for m in third_party for d in dists[m]}


def test_every_imported_package_is_declared() -> None:
    """Each third-party package cstool/ imports is a dependency in pyproject.toml."""
    assert imported() - declared() == set()


def test_every_declared_package_is_imported() -> None:
    """A base dependency nothing imports goes, except the ones declared for work ahead."""
    assert declared() - imported() <= AHEAD
