"""The root Typer app: global options and one sub-app per noun group."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from cstool import __version__, console
from cstool.commands import (
    accounts,
    config_cmd,
    cta_cmd,
    data,
    demo,
    export_cmd,
    journey_cmd,
    nps_cmd,
    plan_cmd,
    playbooks_cmd,
    refs_cmd,
    report,
    rollup_cmd,
    sample,
    score,
    tiers_cmd,
    timeline_cmd,
)

# The root help lists commands in the order of the work, not alphabetically: FIRST, then
# commands named in neither list (in the order they were added), then LAST.
FIRST = ("init", "load", "status", "score", "changes", "thresholds")
LAST = ("config", "demo", "sample")


class _Root(TyperGroup):
    """The root command group, listing its commands in workflow order."""

    def list_commands(self, ctx: Any) -> list[str]:
        rank = {n: i for i, n in enumerate(FIRST)}
        rank.update({n: len(FIRST) + 1 + i for i, n in enumerate(LAST)})
        return sorted(super().list_commands(ctx), key=lambda n: rank.get(n, len(FIRST)))

    def invoke(self, ctx: Any) -> Any:
        # The one translation point: whatever a command raises on purpose, including while
        # it finds its workspace before its own work starts, becomes a message and an exit
        # code here, never a traceback. Typer validates choices through pydantic, whose
        # message starts "Value error, ": noise for a user who only typed a wrong word.
        try:
            with console.errors_to_exit():
                return super().invoke(ctx)
        except typer.BadParameter as e:
            e.message = e.message.removeprefix("Value error, ")
            raise


console.plain_help()
app = typer.Typer(
    name="cstool",
    cls=_Root,
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
            metavar="DIR",
            envvar="CSTOOL_WORKSPACE",
            help="Workspace folder (default: nearest cstool.yaml upwards).",
            show_default=False,
        ),
    ] = None,
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose",
            "-v",
            count=True,
            show_default=False,
            help="Say more (e.g. which workspace is used).",
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
    console.options.workspace = workspace
    console.options.verbose = verbose
    console.options.quiet = quiet


data.register(app)
demo.register(app)
score.register(app)
nps_cmd.register(app)
accounts.register(app)
timeline_cmd.register(app)
journey_cmd.register(app)
plan_cmd.register(app)
tiers_cmd.register(app)
report.register(app)
rollup_cmd.register(app)
app.add_typer(export_cmd.app, name="export")
playbooks_cmd.register(app)
cta_cmd.register(app)
refs_cmd.register(app)
app.add_typer(config_cmd.app, name="config")
app.add_typer(sample.app, name="sample")


def main() -> None:
    """Entry point of the ``cstool`` script."""
    app()
