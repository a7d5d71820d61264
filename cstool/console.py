"""Terminal output: Rich consoles, --format rendering, progress bars, and error translation.

Data goes to stdout; messages, progress and errors go to stderr. This is the one place that
turns a :class:`~cstool.errors.CstoolError` into ``Error: ...`` plus an exit code.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cstool.errors import CstoolError

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

BAND_STYLES = {
    "green": "bold green",
    "lime": "bold bright_green",
    "yellow": "bold yellow",
    "orange": "bold dark_orange",
    "red": "bold red",
}


# How a missing value reads in a table; CSV has an empty cell and JSON null.
NONE = "[dim](none)[/]"


class Format(str, Enum):
    """Output formats of listing commands."""

    table = "table"
    csv = "csv"
    json = "json"


@dataclass
class Options:
    """The global options given before the command; the root callback sets them."""

    workspace: Path | None = None
    verbose: int = 0
    quiet: bool = False


options = Options()


def message(text: str) -> None:
    """A line for people, on stderr (silenced by --quiet; errors and warnings never are)."""
    if not options.quiet:
        err.print(text)


def warn(text: str) -> None:
    err.print(f"[yellow]Warning:[/yellow] {escape(text)}")


def fail(e: CstoolError) -> typer.Exit:
    """Print a cstool error the house way and return the Exit to raise."""
    where = f"{e.location}: " if e.location else ""
    # Exit 4 means the work was done except for some items: not an error of the whole run.
    label = "[yellow]Partly done:[/yellow]" if e.exit_code == 4 else "[red]Error:[/red]"
    err.print(f"{label} {escape(where + e.message)}")
    shown = [p for p in e.problems if str(p) != f"{e.location}: {e.message}"]
    for p in shown:
        err.print(f"  {escape(str(p))}")
    if e.total > len(e.problems) and e.problems:
        err.print(f"  ... and {e.total - len(e.problems):,} more")
    if e.hint:
        err.print(f"[dim]hint:[/dim] {escape(e.hint)}")
    return typer.Exit(code=e.exit_code)


@contextmanager
def errors_to_exit() -> Iterator[None]:
    """Translate cstool errors and Ctrl-C into messages and exit codes."""
    try:
        yield
    except CstoolError as e:
        raise fail(e) from None
    except KeyboardInterrupt:
        err.print("[red]Interrupted.[/red] Nothing partial was committed.")
        raise typer.Exit(code=130) from None


def band_text(band: str | None) -> str:
    if not band:
        return "[dim]n/a[/dim]"
    return f"[{BAND_STYLES.get(band, '')}]{band}[/]"


def pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v * 100:.1f}%"


def plain_cell(column: str, value: Any, row: dict[str, Any]) -> str:
    """A value as table markup: escaped text, or a dim "(none)" when missing."""
    return NONE if value is None else escape(str(value))


def render(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    fmt: Format,
    *,
    title: str | None = None,
    caption: str | None = None,
    cell: Callable[[str, Any, dict[str, Any]], str] | None = None,
    headers: dict[str, str] | None = None,
    nowrap: Sequence[str] = (),
) -> None:
    """Print rows as a Rich table, CSV or JSON (CSV/JSON carry raw values, no markup)."""
    if fmt is Format.json:
        sys.stdout.write(
            json.dumps([{c: r.get(c) for c in columns} for r in rows], indent=2, ensure_ascii=False)
            + "\n"
        )
        return
    if fmt is Format.csv:
        from cstool.csvfile import to_csv_text

        sys.stdout.write(
            to_csv_text(
                list(columns),
                (["" if r.get(c) is None else r.get(c) for c in columns] for r in rows),
            )
        )
        return
    table = Table(
        title=title,
        title_justify="left",
        caption=caption,
        caption_justify="left",
        header_style="bold",
    )
    for c in columns:
        numeric = any(isinstance(r.get(c), int | float) for r in rows) or c in ("rows", "active")
        table.add_column(
            (headers or {}).get(c, c),
            no_wrap=c in nowrap,
            # A long word (a path, an id) folds onto the next line rather than being cut.
            overflow="ellipsis" if c in nowrap else "fold",
            justify="right" if numeric else "left",
        )
    show = cell or plain_cell
    for r in rows:
        table.add_row(*[show(c, r.get(c), r) for c in columns])
    out.print(table)


# Typer's type names for parameters without a metavar, as help shows them instead.
_TYPE_WORDS = {"int": "INTEGER", "int range": "INTEGER", "float": "NUMBER", "str": "TEXT"}


def plain_help() -> None:
    """Help that shows metavars instead of Typer's type column, and arguments without braces.

    Typer 0.29 prints a type beside every parameter (``<bool>`` on flags, ``<int>``,
    ``<str>``) and wraps required arguments in braces in the usage line. cstool's help shows:
    nothing for flags; the choices of a choice option (``--mode [upsert|replace]``); the
    declared metavar (``--as-of DATE``); else TEXT, INTEGER, NUMBER or PATH; and arguments by
    their upper-case name in the usage line (``cstool load [OPTIONS] KIND FILE``, an optional
    one as ``[DIR]``). Typer reads these three hooks from the parameter classes, so they are
    replaced there, once, before any help is printed.
    """
    from typer.core import TyperArgument, TyperOption

    def option_type(self: TyperOption, ctx: Any) -> str | None:
        if self.is_flag or self.count:
            return None
        if self.metavar is not None:
            return self.metavar
        inner = self.display_type(ctx).strip("<>")
        return f"[{inner}]" if "|" in inner else _TYPE_WORDS.get(inner, inner.upper())

    def argument_type(self: Any, ctx: Any) -> str | None:
        return None  # the name column already says what it is: KIND, FILE

    def argument_usage(self: TyperArgument, ctx: Any) -> list[str]:
        name = self.display_name_raw + ("..." if self.nargs != 1 else "")
        return [name if self.required else f"[{name}]"]

    TyperOption.display_type_rich = option_type  # type: ignore[method-assign]
    TyperArgument.display_type_rich = argument_type  # type: ignore[method-assign]
    TyperArgument.get_usage_pieces = argument_usage  # type: ignore[method-assign]
    TyperArgument.display_name_raw = property(  # type: ignore[assignment,method-assign]
        lambda self: self.metavar or self.name.upper()
    )


@contextmanager
def progress_bar(
    description: str, *, counts: str = "bytes"
) -> Iterator[Callable[[str, int, int], None]]:
    """A progress callback drawing a bar on stderr when stderr is a terminal, else nothing.

    ``counts`` is "bytes" (sizes and time left) or "steps" (dates, days: done of total).
    """
    if not err.is_terminal:
        yield lambda phase, done, total: None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    amount: list[ProgressColumn] = (
        [DownloadColumn(), TimeRemainingColumn()] if counts == "bytes" else [MofNCompleteColumn()]
    )
    with Progress(
        TextColumn("{task.description}"), BarColumn(), *amount, console=err, transient=True
    ) as bar:
        tasks: dict[str, Any] = {}

        def update(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(f"{description}: {phase}", total=total)
            bar.update(tasks[phase], completed=done, total=total)

        yield update
