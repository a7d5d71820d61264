"""Workspace and data commands: ``init``, ``load``, ``status``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from cstool.commands import workspace
from cstool.commands.params import parse_delimiter, parse_encoding
from cstool.console import Column, Format, errors_to_exit, message, options, progress_bar, render
from cstool.schemas import LOAD_ORDER


def init(
    directory: Annotated[
        Path, typer.Argument(metavar="DIR", help="Folder to create the workspace in.")
    ],
    sample: Annotated[
        bool, typer.Option("--sample", help="Also copy the sample exports into data/.")
    ] = False,
    company: Annotated[
        str, typer.Option(metavar="NAME", help="Company name written to cstool.yaml.")
    ] = "Acme",
) -> None:
    """Create a workspace: cstool.yaml, cstool.db, playbooks/, email_templates/, journeys/, outbox/.

    Example: cstool init acme-cs --sample
    """
    from cstool.workspace import init_workspace

    with errors_to_exit():
        result = init_workspace(directory, sample=sample, company=company)
    message(f"Created workspace {directory} ({', '.join(result.created)})")
    if sample:
        message(f"Next: cd {directory} && cstool load accounts data/accounts.csv")


def load(
    kind: Annotated[
        str, typer.Argument(help=f"Export kind: {', '.join(LOAD_ORDER)}.", show_default=False)
    ],
    file: Annotated[Path, typer.Argument(help="The CSV file to load.", show_default=False)],
    mode: Annotated[
        Literal["upsert", "replace"],
        typer.Option(
            case_sensitive=False,
            help="upsert merges by key and removes nothing; replace takes the file as the full "
            "export (missing accounts become inactive, other missing rows are deleted).",
        ),
    ] = "upsert",
    encoding: Annotated[
        str | None,
        typer.Option(
            parser=parse_encoding,
            metavar="ENCODING",
            help="Text encoding of the file: utf-8 (the default, BOM allowed), cp1252, utf-16, ...",
        ),
    ] = None,
    delimiter: Annotated[
        str | None,
        typer.Option(
            parser=parse_delimiter,
            metavar="CHAR",
            help="What separates fields: ',' (the default), ';', tab or '|'.",
        ),
    ] = None,
    allow_rejects: Annotated[
        bool,
        typer.Option(
            "--allow-rejects", help="Load the good rows; write the bad ones to rejects/ (exit 4)."
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Check the file and report what loading it would change; write nothing "
            "(works on a read-only workspace).",
        ),
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Let --mode replace retire more than half of the active rows."
        ),
    ] = False,
) -> None:
    """Validate a CSV export and load it into the workspace, all or nothing.

    Example: cstool load accounts data/accounts.csv

    Example: cstool load accounts data/accounts.csv --mode replace --dry-run
    """
    from cstool.errors import PartialFailure
    from cstool.ingest import load as load_file

    with errors_to_exit():
        ws = workspace()
        try:
            with progress_bar(f"Loading {file.name}") as bar:
                result = load_file(
                    ws,
                    kind,
                    file,
                    mode=mode,
                    encoding=encoding,
                    delimiter=delimiter,
                    allow_rejects=allow_rejects,
                    dry_run=dry_run,
                    force=force,
                    now=datetime.now(),
                    progress=bar,
                )
        except PartialFailure as e:
            _summary(e.result)
            raise
    _summary(result)


def _summary(r: Any) -> None:
    if options.quiet:
        return
    if r.skipped:
        message(
            f"{'Dry run: ' if r.dry_run else 'Unchanged: '}{r.file} was already loaded as "
            f"{r.kind} ({r.rows:,} {_noun(r.rows, 'rows')}); nothing to do"
        )
        return
    from cstool.schemas import KINDS

    loaded = r.rows - r.rejected
    noun = _noun(loaded, KINDS[r.kind].label)
    if r.dry_run:
        rejected = f", {r.rejected:,} rejected" if r.rejected else ""
        message(
            f"Dry run: {r.file} would load {loaded:,} {noun} ({r.inserted:,} new, "
            f"{r.updated:,} updated, {r.unchanged:,} unchanged, "
            f"{r.deactivated + r.deleted:,} retired{rejected}); nothing was written"
        )
        return
    extra = ""
    if r.deactivated:
        extra += f", {r.deactivated:,} marked inactive"
    if r.deleted:
        extra += f", {r.deleted:,} deleted"
    if r.rejected:
        extra += f", {r.rejected:,} rejected"
    message(
        f"Loaded {loaded:,} {noun} from {r.file} ({r.inserted:,} new, "
        f"{r.updated:,} updated, {r.unchanged:,} unchanged{extra}) in {r.seconds:.1f} s"
    )


def _noun(n: int, plural: str) -> str:
    """``plural`` for one row: "1 account", "1 NPS response", "1 activity"."""
    if n != 1:
        return plural
    return plural[:-3] + "y" if plural.endswith("ies") else plural.removesuffix("s")


STATUS_COLUMNS = [
    "kind",
    "rows",
    "active",
    "last_loaded_at",
    "file",
    "sha256",
    "first_date",
    "last_date",
]


# At 80 columns the file shortens from the left, then the sha256 goes, then the load time.
STATUS_TABLE = [
    Column("kind", kind="id"),
    Column("rows", kind="number"),
    Column("active", kind="number"),
    Column("loaded", "last load", "id", priority=2),
    Column("file", kind="path", min_width=16),
    Column("sha256", kind="id", priority=1),
]


def status(
    format: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
) -> None:
    """Show what the workspace holds: rows, last load, file, sha256 and usage dates per kind.

    Example: cstool status --format json
    """
    from dataclasses import asdict

    from cstool.store import exports

    with errors_to_exit():
        ws = workspace()
        with ws.open_store() as store:
            rows = [asdict(s) for s in exports.status(store.db)]
    if format is not Format.table:
        render(rows, STATUS_COLUMNS, format)
        return
    for r in rows:
        r["sha256"] = (r["sha256"] or "")[:12]
        r["rows"] = f"{r['rows']:,}"
        r["active"] = "" if r["active"] is None else f"{r['active']:,}"
        # To the minute, so that the table fits a 100-column terminal (JSON has seconds).
        r["loaded"] = (r["last_loaded_at"] or "").replace("T", " ")[:16]
    # Only dated kinds have a date range: said under the table rather than in a column.
    dates = [
        f"{r['kind']} dates {r['first_date']} .. {r['last_date']}" for r in rows if r["first_date"]
    ]
    render(
        rows,
        STATUS_COLUMNS,
        format,
        table=STATUS_TABLE,
        title=f"Workspace {ws.root.name}",
        caption="; ".join(dates) or None,
    )


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command()(load)
    app.command()(status)
