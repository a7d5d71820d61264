"""``cstool demo``: build a workspace from the sample data and run the main job."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Annotated

import typer

from cstool.console import err, errors_to_exit, message


def demo(
    directory: Annotated[
        Path, typer.Argument(metavar="DIR", help="Folder for the demo workspace.")
    ] = Path("cstool-demo"),
    force: Annotated[
        bool, typer.Option("--force", help="Rebuild a previous demo workspace.")
    ] = False,
) -> None:
    """Build a fresh workspace from the sample data and run the main job, step by step.

    Example: cstool demo /tmp/acme-demo
    """
    from cstool import demo as core
    from cstool.cli import app

    with errors_to_exit():
        root = core.prepare(directory, force=force)
    run = [["init", str(root), "--sample"], *core.steps()]
    here = Path.cwd()
    try:
        for i, args in enumerate(run):
            err.print(f"\n[bold cyan]$ cstool {shlex.join(args)}[/]")
            # Every step names the demo workspace, so a CSTOOL_WORKSPACE in the environment
            # (the user's real workspace) is never the one written to.
            where = [] if i == 0 else ["--workspace", str(root)]
            try:
                app([*where, *args], standalone_mode=False, prog_name="cstool")
            except typer.Exit as e:
                if e.exit_code:
                    raise
            if i == 0:
                core.mark(root)
                os.chdir(root)
    finally:
        os.chdir(here)
    message(f"\nDemo workspace ready in {directory}. Try: cd {directory} && cstool status")


def register(app: typer.Typer) -> None:
    app.command()(demo)
