"""``cstool export``: write what the workspace holds for other tools to read."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from cstool.commands import workspace
from cstool.console import errors_to_exit, message, progress_bar

app = typer.Typer(
    help="Write what the workspace holds for other tools.\n\n"
    "Example: cstool export usage --parquet lake/usage",
    no_args_is_help=True,
)


@app.command("usage")
def usage(
    parquet: Annotated[
        Path,
        typer.Option(
            "--parquet", metavar="DIR", help="A new or empty folder for the Parquet files."
        ),
    ],
) -> None:
    """Write the loaded usage as Parquet, one folder per month.

    Example: cstool export usage --parquet lake/usage
    """
    from cstool.lake import export_usage

    with errors_to_exit():
        ws = workspace()
        with ws.open_store() as store, progress_bar("Exporting usage", counts="steps") as bar:
            result = export_usage(store, parquet, lambda done, total: bar("days", done, total))
    message(
        f"Wrote {result.rows:,} usage rows to {escape(str(parquet))} ({len(result.files):,} "
        f"file{'s' if len(result.files) != 1 else ''}, one per month)"
    )
