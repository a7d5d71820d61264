"""Thin Typer command groups: parse arguments, call one core function, render."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cstool.console import message, options

if TYPE_CHECKING:
    from cstool.workspace import Workspace


def workspace() -> Workspace:
    """Open the workspace chosen by the global options (flag > env > cwd walk)."""
    from cstool.workspace import open_workspace

    ws = open_workspace(options.workspace)
    if options.verbose:
        message(f"workspace {ws.root} (config {ws.config_path.name}, database {ws.db_path.name})")
    return ws
