"""``cstool rollup``: roll usage up where it lives, with DuckDB or Spark."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import typer
from rich.markup import escape

from cstool.commands import workspace
from cstool.commands.params import date_option
from cstool.console import errors_to_exit, message, warn


def rollup(
    engine: Annotated[
        Literal["duckdb", "spark"],
        typer.Option(help="The engine: duckdb (this machine) or spark (local or a cluster)."),
    ],
    usage: Annotated[
        str,
        typer.Option(
            metavar="SOURCE",
            help="Usage rows: Parquet or CSV files (a file, folder or quoted glob), a cstool "
            "database (.db), or a table name (spark).",
        ),
    ],
    as_of: Annotated[
        date | None, date_option("--as-of", "One date to roll up, YYYY-MM-DD.")
    ] = None,
    start: Annotated[
        date | None, date_option("--from", "Earliest date of a series, YYYY-MM-DD.")
    ] = None,
    end: Annotated[
        date | None,
        date_option(
            "--to", "Latest date of a series, YYYY-MM-DD (default: the source's last day)."
        ),
    ] = None,
    every: Annotated[int, typer.Option(min=1, metavar="DAYS", help="Days between dates.")] = 7,
) -> None:
    """Roll usage up where it lives and store each account's adoption statistics.

    Example: cstool rollup --engine duckdb --usage lake/usage --from 2026-10-02 --to 2026-11-20
    """
    from cstool.rollup import rollup as run

    message(f"Rolling up {escape(usage)} with {engine} ...")
    with errors_to_exit():
        ws = workspace()
        r = run(
            ws, engine, usage, as_of=as_of, start=start, end=end, every=every, now=datetime.now()
        )
    for w in r.warnings:
        warn(w)
    span = (
        f"{r.dates[0]}"
        if len(r.dates) == 1
        else f"{len(r.dates)} dates from {r.dates[0]} to {r.dates[-1]}"
    )
    message(
        f"Rolled up {r.rows:,} usage rows from {escape(r.source)} with {r.engine}: statistics "
        f"of {r.accounts:,} accounts on {span} in {r.seconds:.1f} s"
    )


def register(app: typer.Typer) -> None:
    app.command()(rollup)
