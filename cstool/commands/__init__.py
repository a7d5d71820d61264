"""Thin Typer command groups: parse arguments, call one core function, render."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from cstool.console import message, options

if TYPE_CHECKING:
    from cstool.store import Store
    from cstool.workspace import Workspace


def workspace() -> Workspace:
    """Open the workspace chosen by the global options (flag > env > cwd walk)."""
    from cstool.workspace import open_workspace

    ws = open_workspace(options.workspace)
    if options.verbose:
        message(f"workspace {ws.root} (config {ws.config_path.name}, database {ws.db_path.name})")
    return ws


@contextmanager
def workspace_store(*, write: bool = False) -> Iterator[tuple[Workspace, Store]]:
    """The workspace and its store, opened inside the caller's ``errors_to_exit()`` so that a
    bad ``cstool.yaml`` is reported like any other input error."""
    ws = workspace()
    with ws.open_store(write=write) as store:
        yield ws, store
