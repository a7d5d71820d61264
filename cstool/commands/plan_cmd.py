"""``cstool plan``: the engagement plan per touch tier, from the playbooks and journeys."""

from __future__ import annotations

import sys
from enum import Enum
from typing import Annotated

import typer

from cstool.commands import workspace
from cstool.console import Column, errors_to_exit, message, render

# At 80 columns the touch's name and cadence stay whole; the conditions (`trigger`) give
# way first, then who gets it: --format markdown or a wider terminal shows them.
TABLE = (
    Column("tier", kind="id"),
    Column("stage", kind="id"),
    Column("channel", kind="id"),
    Column("name", kind="id"),
    Column("cadence", kind="prose", min_width=11, priority=3),
    Column("who", kind="prose", min_width=20, priority=2),
    Column("trigger", kind="prose", min_width=24, priority=1),
)


class PlanFormat(str, Enum):
    """Output formats of ``plan``: a table, CSV, or Markdown for a team's wiki."""

    table = "table"
    csv = "csv"
    markdown = "markdown"


def plan(
    tier: Annotated[
        str | None, typer.Option(metavar="TIER", help="Only this tier: high, low or tech.")
    ] = None,
    format: Annotated[PlanFormat, typer.Option("--format", "-f", help="Output format.")] = (
        PlanFormat.table
    ),
) -> None:
    """Show the engagement plan per touch tier: CTAs for CSMs and 1:many email, by stage.

    Example: cstool plan --tier tech --format markdown
    """
    from cstool.console import Format
    from cstool.engagement import PLAN_COLUMNS, engagement_plan, markdown

    ws = workspace()
    with errors_to_exit():
        rows = engagement_plan(ws, tier)
    if format is PlanFormat.markdown:
        sys.stdout.write(markdown(rows))
    else:
        fmt = Format.csv if format is PlanFormat.csv else Format.table
        render([r.as_dict() for r in rows], PLAN_COLUMNS, fmt, table=TABLE, title="Engagement plan")
    message(
        f"{sum(r.channel == 'CTA' for r in rows):,} CTA and "
        f"{sum(r.channel == 'email' for r in rows):,} email touches, read from playbooks/ and "
        "journeys/"
    )


def register(app: typer.Typer) -> None:
    app.command()(plan)
