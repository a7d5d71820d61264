"""Errors become messages and exit codes in one place, for every command."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from typer.main import get_command
from typer.testing import Result

from cstool.cli import app

Cli = Callable[..., Result]

# Commands that work without a workspace (they make one, or only print).
NEEDS_NO_WORKSPACE = {("init",), ("demo",), ("sample", "generate")}


def _leaves(group: object, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], object]]:
    commands = getattr(group, "commands", None)
    if commands is None:
        yield path, group
        return
    for name, command in sorted(commands.items()):
        yield from _leaves(command, (*path, name))


def _arguments(command: object) -> list[str]:
    """Placeholder values for a command's required arguments and options."""
    args: list[str] = []
    for param in getattr(command, "params", []):
        if not param.required:
            continue
        value = "2026-11-20" if "date" in (param.metavar or "").lower() else "X1"
        if param.param_type_name == "argument":
            args.append(value)
        else:
            args += [param.opts[0], value]
    return args


LEAVES = [
    (path, command) for path, command in _leaves(get_command(app)) if path not in NEEDS_NO_WORKSPACE
]


@pytest.mark.parametrize(("path", "command"), LEAVES, ids=[" ".join(p) for p, _ in LEAVES])
def test_every_command_outside_a_workspace_says_so_without_a_traceback(
    cli: Cli, path: tuple[str, ...], command: object
) -> None:
    """Outside a workspace every command fails with a message and a hint, never a traceback."""
    result = cli(*path, *_arguments(command))
    assert result.exit_code in (1, 2), result.stderr
    assert "Traceback" not in result.stderr
    assert isinstance(result.exception, SystemExit)
    if result.exit_code == 1:
        assert result.stderr.startswith("Error: ")
        assert "hint: " in result.stderr
