"""``cstool tiers``: each account's touch tier with its rule, and the book per CSM."""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Annotated, Any

import typer
from rich.markup import escape

from cstool.commands import workspace_store
from cstool.commands.params import date_option
from cstool.console import (
    NONE,
    Format,
    errors_to_exit,
    message,
    out,
    pct,
    plain_cell,
    render,
    warn,
)

TABLE_COLUMNS = ("account_id", "name", "csm", "arr", "tier", "rule")


class By(str, Enum):
    """What the listing shows."""

    account = "account"
    csm = "csm"


def _cell(column: str, value: Any, row: dict[str, Any]) -> str:
    if column == "arr":
        return NONE if value is None else f"{value:,.0f}"
    if column == "arr_share":
        return NONE if value is None else pct(value)
    if column == "rule":  # the number; the rules are listed below the table
        return str(value).split(":", 1)[0]
    if isinstance(value, int):
        return f"{value:,}"
    return plain_cell(column, value, row)


def tiers(
    as_of: Annotated[
        date | None, date_option("--as-of", "Date, YYYY-MM-DD (default: the latest snapshot's).")
    ] = None,
    csm: Annotated[
        str | None, typer.Option(metavar="NAME", help="Only this CSM's accounts (any case).")
    ] = None,
    tier: Annotated[
        str | None, typer.Option(metavar="TIER", help="Only this tier: high, low or tech.")
    ] = None,
    by: Annotated[
        By | None,
        typer.Option(
            case_sensitive=False,
            help="account: each account's tier and rule; csm: the book per CSM and tier "
            "(default: both in a table, the accounts in CSV and JSON).",
        ),
    ] = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
) -> None:
    """Show each account's touch tier with the rule that set it, and the book per CSM.

    Example: cstool tiers --csm "Priya Raman" --by csm
    """
    from cstool import tiers as core
    from cstool.context import book

    with errors_to_exit(), workspace_store() as (ws, store):
        report = core.report(book(store, ws.resolved, as_of), csm=csm, tier=tier)
    for w in report.warnings:
        warn(w)
    if not report.accounts:
        given = [f"--{k} {v!r}" for k, v in (("csm", csm), ("tier", tier)) if v is not None]
        text = f"No accounts match {' '.join(given)}" if given else "No active accounts"
        message(escape(f"{text} on {report.as_of}"))
        if format is Format.table:
            return
    when = f"on {report.as_of}"
    if by is not By.csm:
        render(
            [a.as_dict() for a in report.accounts],
            core.ACCOUNT_COLUMNS if format is not Format.table else TABLE_COLUMNS,
            format,
            title=f"Touch tiers {when}",
            cell=_cell,
            nowrap=("account_id", "arr", "tier", "rule"),
        )
    if by is By.csm or (by is None and format is Format.table):
        render(
            [r.as_dict() for r in report.book],
            core.BOOK_COLUMNS,
            format,
            title=f"Book per CSM {when}",
            cell=_cell,
            headers={"arr_share": "share", "open_ctas": "open CTAs"},
            nowrap=("tier", "accounts", "arr", "arr_share", "open_ctas"),
        )
    if format is Format.table:
        import textwrap

        out.print("Rules, the first that holds:", markup=False)
        for rule in report.rules:
            out.print(
                textwrap.fill(rule, out.width, initial_indent="  ", subsequent_indent="    "),
                markup=False,
            )
    counts = ", ".join(f"{n:,} {t}" for t, n in report.totals.items())
    message(f"{len(report.accounts):,} accounts: {counts}")


def register(app: typer.Typer) -> None:
    app.command()(tiers)
