"""Thin Typer command groups: parse arguments, call one core function, render."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cstool.workspace import Workspace


@dataclass
class State:
    """Global options given before the command."""

    workspace: Path | None = None
    verbose: int = 0
    quiet: bool = False
    flags: dict[str, Any] = field(default_factory=dict)


state = State()


def workspace() -> Workspace:
    """Open the workspace chosen by the global options (flag > env > cwd walk)."""
    from cstool.workspace import open_workspace

    ws = open_workspace(state.workspace, flags=state.flags)
    if state.verbose:
        from cstool.console import message

        message(f"workspace {ws.root} (config {ws.config_path.name}, database {ws.db_path.name})")
    return ws
