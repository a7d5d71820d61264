"""Timeline commands: ``timeline ACCOUNT`` (``timeline show``) and ``timeline add``."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from cstool.commands import workspace
from cstool.commands.params import date_option
from cstool.console import Format, errors_to_exit, message, render


class _ShowByDefault(TyperGroup):
    """``cstool timeline ACCOUNT ...`` runs ``timeline show ACCOUNT ...``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["show", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_ShowByDefault,
    no_args_is_help=True,
    help="An account's timeline, newest first, merged from every source: activities, notes, "
    "band changes, NPS responses, emails and more. `cstool timeline ACCOUNT` is short for "
    "`cstool timeline show ACCOUNT`.\n\n"
    "Example: cstool timeline ACC-00042 --since 2026-10-01 --type call,meeting",
)


class NoteType(str, Enum):
    """Entry types a person can add."""

    call = "call"
    meeting = "meeting"
    note = "note"


def _text(column: str, value: Any, row: dict[str, Any]) -> str:
    from rich.markup import escape

    if column == "text":
        by = f" [dim]({escape(row['author'])})[/]" if row.get("author") else ""
        detail = f"\n[dim]{escape(row['detail'])}[/]" if row.get("detail") else ""
        return escape(value) + by + detail
    return escape("" if value is None else str(value))


@app.command("show")
def show(
    account: Annotated[str, typer.Argument(help="Account ID.", show_default=False)],
    since: Annotated[
        date | None, date_option("--since", "Only entries on or after this day, YYYY-MM-DD.")
    ] = None,
    type: Annotated[
        str | None,
        typer.Option("--type", help="Only these types, e.g. call,meeting,band_change,nps."),
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Show at most N entries.")] = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = (
        Format.table
    ),
) -> None:
    """Show an account's timeline, newest first, merged from every source.

    Example: cstool timeline show ACC-00042 --type band_change,nps --limit 20
    """
    from cstool import timeline as core

    types = [t.strip().lower() for t in type.split(",") if t.strip()] if type else []
    ws = workspace()
    with errors_to_exit(), ws.open_store() as store:
        tl = core.timeline(store, account, since=since, types=types, limit=limit)
    render(
        [e.as_dict() for e in tl.entries],
        core.TIMELINE_COLUMNS if format is not Format.table else ("date", "type", "source", "text"),
        format,
        title=f"{tl.account_id} {tl.name}: {len(tl.entries):,} of {tl.total:,} entries",
        cell=_text,
        nowrap=("date", "type", "source"),
    )
    if not tl.total:
        message("No entries match" if since or types else "No entries yet")


@app.command("add")
def add(
    account: Annotated[str, typer.Argument(help="Account ID.", show_default=False)],
    type: Annotated[
        NoteType,
        typer.Option("--type", case_sensitive=False, help="What happened.", show_default=False),
    ],
    subject: Annotated[
        str, typer.Option("--subject", help="One line: what it was about.", show_default=False)
    ],
    body: Annotated[str | None, typer.Option("--body", help="The details.")] = None,
    day: Annotated[
        date | None, date_option("--date", "When it happened, YYYY-MM-DD (default: today).")
    ] = (None),
    author: Annotated[str | None, typer.Option("--author", help="Who wrote it.")] = None,
) -> None:
    """Add a call, meeting or note to an account's timeline.

    Example: cstool timeline add ACC-00042 --type call --subject "Renewal check-in"
    """
    from cstool import timeline as core

    now = datetime.now().astimezone()
    ws = workspace()
    with errors_to_exit(), ws.open_store(write=True) as store:
        added = core.add_note(
            store,
            account,
            type=type.value,
            subject=subject,
            body=body,
            day=day or now.date(),
            author=author,
            now=now.isoformat(timespec="seconds"),
        )
    message(
        f"Added a {added.entry.type} on {added.entry.date} to the timeline of "
        f"{added.account_id} {added.name}: {added.entry.text}"
    )


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="timeline")
