"""Every command has help with an example, and is documented in the README."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from cstool.cli import app

README = Path(__file__).parents[1] / "README.md"


def _walk(command: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], bool]]:
    """(path, is_group) of every visible command below ``command``."""
    found = []
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        if getattr(sub, "hidden", False):
            continue
        group = hasattr(sub, "commands")
        found.append(((*path, name), group))
        if group:
            found += _walk(sub, (*path, name))
    return found


COMMANDS = _walk(typer.main.get_command(app))
LEAVES = [p for p, group in COMMANDS if not group]
IDS = [" ".join(p) for p, _ in COMMANDS]


def test_the_walk_finds_the_foundation_commands() -> None:
    """The walk reaches top-level commands and commands inside groups."""
    paths = {p for p, _ in COMMANDS}
    assert {("init",), ("load",), ("status",), ("config", "show"), ("sample", "generate")} <= paths


@pytest.mark.parametrize(("path", "group"), COMMANDS, ids=IDS)
def test_help(path: tuple[str, ...], group: bool) -> None:
    """--help exits 0, prints to stdout, and a command's help carries an example."""
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0
    assert result.stderr == ""
    assert "Usage: " in result.stdout
    if not group:
        assert "Example" in result.stdout


def test_root_help() -> None:
    """cstool --help lists the commands and an example."""
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "Example" in result.stdout
    for path in COMMANDS:
        if len(path[0]) == 1:
            assert path[0][0] in result.stdout


@pytest.mark.parametrize(("path", "group"), COMMANDS, ids=IDS)
def test_documented_in_readme(path: tuple[str, ...], group: bool) -> None:
    """Each command path appears in the README as `cstool <path>`."""
    assert f"cstool {' '.join(path)}" in README.read_text(encoding="utf-8")
