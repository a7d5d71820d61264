"""``cstool demo``: build a workspace from the sample data and run the main job."""

from __future__ import annotations

import shlex
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from cstool.console import err, errors_to_exit, message


def demo(
    ctx: typer.Context,
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

    with errors_to_exit():
        root = core.prepare(directory, force=force)
    cstool = ctx.find_root().command
    steps = [*core.steps(root), *core.reference_steps(root, date.today())]
    for i, step in enumerate(steps):
        err.print(f"\n[bold cyan]$ cstool {shlex.join(step.shown)}[/]")
        # Not standalone, a step returns its exit code instead of ending the process.
        code = cstool.main(list(step.args), standalone_mode=False, prog_name="cstool")
        if isinstance(code, int) and code:
            raise typer.Exit(code)
        if i == 0:
            core.mark(root)
    previews = Path(directory) / "outbox" / "dry-run" / core.DEMO_JOURNEY / "new"
    message(
        f"\nDemo workspace ready in {directory}; email previews of the {core.DEMO_JOURNEY} "
        f"journey in {previews}/, the adoption dashboard in "
        f"{Path(directory) / 'outbox' / 'adoption.html'}. Try: cd {directory} && cstool status"
    )


def register(app: typer.Typer) -> None:
    app.command()(demo)
