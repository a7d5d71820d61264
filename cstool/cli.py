"""The root Typer app: global options and one sub-app per noun group."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cstool import __version__, console
from cstool.commands import (
    accounts,
    config_cmd,
    data,
    demo,
    nps_cmd,
    sample,
    score,
    state,
    timeline_cmd,
)

app = typer.Typer(
    name="cstool",
    help="Customer Success operations over local files: load exports, score adoption, "
    "run playbooks and tech-touch email.\n\nExample: cstool init acme-cs --sample",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cstool {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace",
            "-w",
            envvar="CSTOOL_WORKSPACE",
            help="Workspace folder (default: nearest cstool.yaml upwards).",
            show_default=False,
        ),
    ] = None,
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose", "-v", count=True, help="Say more (e.g. which workspace is used)."
        ),
    ] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Say only errors and data.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Customer Success operations over local files."""
    state.workspace = workspace
    state.verbose = verbose
    state.quiet = quiet
    console.options.quiet = quiet


data.register(app)
demo.register(app)
score.register(app)
nps_cmd.register(app)
accounts.register(app)
timeline_cmd.register(app)
app.add_typer(config_cmd.app, name="config")
app.add_typer(sample.app, name="sample")


def main() -> None:
    """Entry point of the ``cstool`` script."""
    app()
