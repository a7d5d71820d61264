"""``cstool sample``: generate sample exports at any scale."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from cstool.commands.params import parse_date
from cstool.console import errors_to_exit, message, progress_bar

app = typer.Typer(help="Generate realistic sample exports.", no_args_is_help=True)


@app.command("generate")
def generate(
    directory: Annotated[
        Path, typer.Argument(metavar="DIR", help="Folder to write the CSV files to.")
    ],
    accounts: Annotated[int, typer.Option(min=1, metavar="N", help="Number of accounts.")] = 214,
    days: Annotated[int, typer.Option(min=1, metavar="N", help="Days of usage history.")] = 120,
    seed: Annotated[int, typer.Option(metavar="N", help="Random seed; same seed, same bytes.")] = 7,
    end: Annotated[
        date,
        typer.Option(
            parser=lambda value: parse_date("--end", value),
            metavar="DATE",
            help="Last day of usage, YYYY-MM-DD.",
        ),
    ] = date(2026, 11, 20),
) -> None:
    """Write a deterministic sample company's exports to DIR.

    Example: cstool sample generate big --accounts 5000 --days 90 --seed 1
    """
    from cstool.sample import generate as run

    with errors_to_exit(), progress_bar("Generating usage", counts="steps") as bar:
        summary = run(
            directory,
            accounts=accounts,
            days=days,
            seed=seed,
            end=end,
            progress=lambda done, total: bar("days", done, total),
        )
    from cstool.schemas import KINDS

    counts = ", ".join(f"{n:,} {KINDS[k].label}" for k, n in summary.rows.items())
    message(f"Wrote {counts} to {directory} (usage ends {summary.end:%Y-%m-%d})")
