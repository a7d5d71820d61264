"""Report commands: ``report account`` (the success snapshot) and ``report adoption``."""

from __future__ import annotations

from datetime import date
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from cstool.commands import workspace
from cstool.commands.params import date_option
from cstool.console import errors_to_exit, message, progress_bar
from cstool.errors import UsageError

app = typer.Typer(
    help="Reports to look at and share: HTML pages and PowerPoint decks.", no_args_is_help=True
)


class BookFormat(str, Enum):
    """File format of each report of a --csm book."""

    html = "html"
    pptx = "pptx"


def _size(n: int) -> str:
    return f"{n / 1024:,.0f} KB" if n >= 1024 else f"{n} bytes"


@app.command("account")
def account(
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="FILE.html or FILE.pptx; with --csm, a folder.", show_default=False
        ),
    ],
    account_id: Annotated[
        str | None, typer.Argument(metavar="ACCOUNT", help="Account ID.", show_default=False)
    ] = None,
    csm: Annotated[
        str | None, typer.Option(help="Write every active account of this CSM into --out.")
    ] = None,
    as_: Annotated[
        BookFormat | None,
        typer.Option(
            "--as", help="Format of each file of a --csm book (default: html).", show_default=False
        ),
    ] = None,
    as_of: Annotated[
        date | None,
        date_option("--as-of", "Date to report on, YYYY-MM-DD (default: latest usage day)."),
    ] = None,
    internal: Annotated[
        bool,
        typer.Option(
            "--internal", help="Add what only the team may see: NPS, CTAs, notes, contacts."
        ),
    ] = False,
) -> None:
    """Write the success snapshot of an account for the customer (HTML or PPTX).

    Example: cstool report account ACC-00042 --out acme-snapshot.html

    Example, a CSM's whole book (a folder, one file per account):

    cstool report account --csm "Priya Raman" --out snapshots/ --as pptx
    """
    from cstool import reports

    with errors_to_exit():
        if (account_id is None) == (csm is None):
            raise UsageError("name one ACCOUNT or a --csm", hint="e.g. --csm 'Priya Raman'")
        ws = workspace()
        with ws.open_store() as store, progress_bar("Writing", counts="steps") as bar:
            if csm is not None:
                book = reports.write_book(
                    store,
                    ws.resolved.config,
                    csm,
                    out,
                    fmt=(as_ or BookFormat.html).value,
                    as_of=as_of,
                    today=date.today(),
                    internal=internal,
                    progress=lambda done, total: bar("accounts", done, total),
                )
            else:
                one = reports.write_account(
                    store,
                    ws.resolved.config,
                    account_id or "",
                    out,
                    as_of=as_of,
                    today=date.today(),
                    internal=internal,
                    fmt=as_.value if as_ else None,
                )
    if csm is not None:
        message(
            f"Wrote {len(book.reports):,} {(as_ or BookFormat.html).value.upper()} snapshots "
            f"of {csm}'s book to {out} (list in {book.manifest.name})"
            + (" (internal)" if internal else "")
        )
    else:
        message(
            f"Wrote the success snapshot of {one.account_id} {one.name} to {out} "
            f"({_size(one.size)})" + (" (internal)" if internal else "")
        )


@app.command("adoption")
def adoption(
    out: Annotated[Path, typer.Option("--out", "-o", help="FILE.html", show_default=False)],
    as_of: Annotated[
        date | None,
        date_option("--as-of", "Snapshot date, YYYY-MM-DD (default: the latest snapshot)."),
    ] = None,
) -> None:
    """Write the team's weekly adoption dashboard: bands, movers by CSM, tiers and CTAs.

    Example: cstool report adoption --out adoption.html
    """
    from cstool import reports

    ws = workspace()
    with errors_to_exit(), ws.open_store() as store:
        written = reports.write_adoption(store, ws.resolved, out, as_of=as_of)
    message(f"Wrote the adoption dashboard to {out} ({_size(written.size)})")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="report")
