"""NPS commands: ``nps`` (the score by group) and ``nps comments``."""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Annotated, Any

import typer

from cstool.commands import workspace
from cstool.commands.params import date_option
from cstool.console import (
    NONE,
    Column,
    Format,
    errors_to_exit,
    message,
    pct,
    plain_cell,
    render,
)

app = typer.Typer(
    help="Net Promoter Score by role, segment, CSM, tier or quarter, and the comments.\n\n"
    "Example: cstool nps --by role"
)


class By(str, Enum):
    """Groupings of the NPS report."""

    role = "role"
    segment = "segment"
    csm = "csm"
    tier = "tier"
    quarter = "quarter"


FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
# Short headers keep the table within 80 columns; CSV and JSON use the full names.
HEADERS = {
    "responses": "answers",
    "promoters": "prom.",
    "passives": "pass.",
    "detractors": "detr.",
    "nps": "NPS",
    "response_rate": "rate",
}
# Long group names are shortened with "…"; the counts and scores stay whole.
TABLE = (
    Column("group", kind="text"),
    *(
        Column(c, HEADERS.get(c), "number")
        for c in ("responses", "promoters", "passives", "detractors", "nps", "response_rate")
    ),
    Column("change", kind="number"),
)
COMMENTS_TABLE = (
    Column("date", kind="id"),
    Column("account_name", "account", "text"),
    Column("role", kind="text"),
    Column("score", kind="number"),
    Column("comment", kind="prose"),
)


def _points(v: float | None) -> str:
    return NONE if v is None else f"{v:+.1f}"


def _cell(column: str, value: Any, row: dict[str, Any]) -> str:
    if column in ("nps", "change"):
        return _points(value)
    if column == "response_rate":
        return NONE if value is None else pct(value)
    if column == "group" and row.get("_total"):
        return "[bold]all[/]"
    if isinstance(value, int):
        return f"{value:,}"
    return plain_cell(column, value, row)


@app.callback(invoke_without_command=True)
def nps(
    ctx: typer.Context,
    by: Annotated[
        By | None,
        typer.Option(
            case_sensitive=False, help="Group by role, segment, CSM, touch tier or quarter."
        ),
    ] = None,
    start: Annotated[
        date | None, date_option("--from", "First day, YYYY-MM-DD (default: 89 days before --to).")
    ] = None,
    end: Annotated[
        date | None, date_option("--to", "Last day, YYYY-MM-DD (default: the latest response).")
    ] = None,
    format: FormatOpt = Format.table,
) -> None:
    """Show NPS, promoters, passives, detractors and response rates, with the change.

    The change compares with the previous period of the same length.

    Example: cstool nps --by segment --from 2026-08-23 --to 2026-11-20
    """
    if ctx.invoked_subcommand is not None:
        return
    from cstool import nps as core

    ws = workspace()
    with errors_to_exit(), ws.open_store() as store:
        report = core.report(store, ws.resolved, by.value if by else None, start, end)
    rows = [r.as_dict() for r in report.rows]
    if format is Format.table and report.by is not None:
        rows.append({**report.total.as_dict(), "_total": True})
    render(
        rows,
        core.NPS_COLUMNS,
        format,
        table=TABLE,
        cell=_cell,
        title=f"NPS {report.period}"
        + (f" by {report.by}" if report.by else "")
        + (
            f"; change against the quarter above, all against {report.previous}"
            if report.by == "quarter"
            else f"; change against {report.previous}"
        ),
    )
    if report.total.responses == 0:
        message(f"No responses in {report.period}")


@app.command("comments")
def comments(
    detractors: Annotated[
        bool, typer.Option("--detractors", help="Only detractors' comments (scores 0-6).")
    ] = False,
    account: Annotated[str | None, typer.Option(help="Only this account's comments.")] = None,
    start: Annotated[
        date | None, date_option("--from", "First day, YYYY-MM-DD (default: any).")
    ] = None,
    end: Annotated[date | None, date_option("--to", "Last day, YYYY-MM-DD (default: any).")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Show at most N comments.")] = None,
    format: FormatOpt = Format.table,
) -> None:
    """List NPS comments, newest first, with the account and the respondent's role.

    Example: cstool nps comments --detractors --from 2026-10-01
    """
    from cstool import nps as core

    ws = workspace()
    with errors_to_exit(), ws.open_store() as store:
        found = core.comments(
            store, detractors=detractors, start=start, end=end, account_id=account
        )
    shown = found[:limit] if limit else found
    render(
        [c.as_dict() for c in shown],
        core.COMMENT_COLUMNS,
        format,
        table=COMMENTS_TABLE,
        title=f"NPS comments ({len(shown):,} of {len(found):,})",
    )
    if not found:
        message("No comments match" + (" (detractors only)" if detractors else ""))


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="nps")
