"""Terminal output: Rich consoles, --format rendering, progress bars, and error translation.

Data goes to stdout; messages, progress and errors go to stderr. This is the one place that
turns a :class:`~cstool.errors.CstoolError` into ``Error: ...`` plus an exit code.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Literal

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from cstool.errors import CstoolError

# 128 + SIGPIPE: the reader of stdout went away (`cstool cta list | head`). cstool stops
# quietly with it, as other Unix tools do; what is still buffered goes nowhere.
BROKEN_PIPE = 141


def _quiet_stdout() -> typer.Exit:
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return typer.Exit(code=BROKEN_PIPE)


class _Console(Console):
    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise _quiet_stdout()


out = _Console(highlight=False, soft_wrap=True)
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


class ShowFormat(str, Enum):
    """Output formats of commands that show one item in full (no CSV: it is not a table)."""

    table = "table"
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
    except BrokenPipeError:
        raise _quiet_stdout() from None


def band_text(band: str | None) -> str:
    if not band:
        return "[dim]n/a[/dim]"
    return f"[{BAND_STYLES.get(band, '')}]{band}[/]"


def pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v * 100:.1f}%"


def plain_cell(column: str, value: Any, row: dict[str, Any]) -> str:
    """A value as table markup: escaped text, or a dim "(none)" when missing."""
    return NONE if value is None else escape(str(value))


Kind = Literal["id", "number", "band", "text", "prose", "path"]


@dataclass(frozen=True)
class Column:
    """One column of a table: the row key it shows, how its cells read, and how it gives way
    when the terminal is narrow.

    ``kind``: "id", "number" (right-aligned) and "band" cells never wrap and are never cut;
    "text" is shortened with an ellipsis, "prose" (comments, notes) wraps onto more lines,
    and "path" is shortened from the left (``…/outbox/x.csv``), each down to ``min_width``
    (default: its header, or 10 if wider). When even that does not fit, columns with a
    ``priority`` are dropped, lowest first; a column without one always stays. Dropped
    columns are named under the table.
    """

    key: str
    header: str | None = None
    kind: Kind = "text"
    priority: int | None = None
    min_width: int | None = None

    @property
    def title(self) -> str:
        return self.key if self.header is None else self.header


def _edges(n: int) -> int:
    """Columns a table spends besides its cells: padding of 1 each side and n + 1 rules."""
    return 3 * n + 1


def _fit(
    columns: Sequence[Column], natural: list[int], least: list[int], width: int
) -> tuple[list[int], list[int]]:
    """The columns kept (indices) and their widths, so that the table fits ``width``.

    Text, prose and path columns give way first, down to their least width: those with the
    lowest priority first, then those without one, most to spare first. Then columns with a
    priority are dropped, lowest first, and the rest laid out again.
    """
    kept = list(range(len(columns)))
    while True:
        widths = {i: natural[i] for i in kept}
        excess = sum(widths.values()) + _edges(len(kept)) - width
        while excess > 0:
            slack = [i for i in kept if widths[i] > least[i]]
            if not slack:
                break
            # Low-value columns give way first: by priority, then the one with most to spare.
            give = min(
                slack,
                key=lambda i: (
                    columns[i].priority is None,
                    columns[i].priority or 0,
                    least[i] - widths[i],
                    -i,
                ),
            )
            widths[give] -= 1
            excess -= 1
        droppable = [i for i in kept if columns[i].priority is not None]
        if excess <= 0 or not droppable:
            return kept, [widths[i] for i in kept]
        # Lowest priority first; of equals, the rightmost.
        kept.remove(min(droppable, key=lambda i: (columns[i].priority, -i)))


def _widest_line(text: Text) -> int:
    return max((line.cell_len for line in text.split("\n")), default=0)


def shorten_left(text: Text, width: int) -> Text:
    """A path cut from the left to ``width`` cells at a folder boundary: ``…/outbox/x.csv``."""
    if text.cell_len <= width:
        return text
    plain = text.plain
    for i, ch in enumerate(plain):
        if ch in "/\\" and len(plain) - i + 1 <= width:
            return Text("…") + text[i:]
    return Text("…") + text[len(plain) - (width - 1) :]


def fit_table(
    rows: Sequence[Mapping[str, str | Text]],
    columns: Sequence[Column],
    *,
    title: str | None = None,
    caption: str | None = None,
    width: int | None = None,
) -> Table:
    """A Rich table of ``rows`` (cells as Rich markup or Text, by column key) that fits
    ``width`` (default: the terminal's, 80 when piped) by the rules of :class:`Column`.

    Identifiers and numbers are never wrapped or cut: a table that cannot fit even with
    every droppable column gone is drawn wider than the terminal rather than cut.
    """
    width = width or out.width
    cells = [
        [
            c if isinstance(c, Text) else Text.from_markup(c)
            for c in (r.get(k.key, "") for k in columns)
        ]
        for r in rows
    ]
    natural, least = [], []
    for j, col in enumerate(columns):
        head = Text.from_markup(col.title).cell_len
        wide = max([head, *(_widest_line(row[j]) for row in cells)])
        natural.append(wide)
        if col.kind in ("text", "prose", "path"):
            floor = col.min_width if col.min_width is not None else max(head, 10)
            least.append(min(wide, floor))
        else:
            least.append(wide)
    kept, widths = _fit(columns, natural, least, width)
    needed = sum(widths) + _edges(len(kept))
    dropped = [columns[j].title for j in range(len(columns)) if j not in kept]
    if dropped:
        hidden = f"[dim]{escape(', '.join(dropped))}: not shown at this width[/]"
        caption = hidden if caption is None else f"{caption}\n{hidden}"
    table = Table(
        title=title,
        title_justify="left",
        caption=caption,
        caption_justify="left",
        header_style="bold",
        # Wider than the terminal only when ids and numbers alone do not fit: never cut them.
        width=needed if needed > width else None,
    )
    for j, w in zip(kept, widths, strict=True):
        col = columns[j]
        prose = col.kind == "prose"
        table.add_column(
            col.title,
            width=w,
            no_wrap=not prose,
            overflow="fold" if prose else "ellipsis",
            justify="right" if col.kind == "number" else "left",
        )
    for row in cells:
        table.add_row(
            *[
                shorten_left(row[j], w) if columns[j].kind == "path" else row[j]
                for j, w in zip(kept, widths, strict=True)
            ]
        )
    return table


def render(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    fmt: Format,
    *,
    table: Sequence[Column] | None = None,
    title: str | None = None,
    caption: str | None = None,
    cell: Callable[[str, Any, dict[str, Any]], str] | None = None,
    headers: dict[str, str] | None = None,
    nowrap: Sequence[str] = (),
) -> None:
    """Print rows as a table, CSV or JSON.

    CSV and JSON carry the raw values of ``columns`` (no markup; empty or null when missing).
    The table shows ``table`` columns (default: ``columns``, numbers as "number", those in
    ``nowrap`` as "id", the rest as "prose", headed by ``headers``), each cell made by
    ``cell(key, value, row)`` (default :func:`plain_cell`) and fitted by :func:`fit_table`.
    """
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
    if table is None:
        table = [
            Column(
                c,
                (headers or {}).get(c),
                "number" if _numeric(rows, c) else "id" if c in nowrap else "prose",
            )
            for c in columns
        ]
    show = cell or plain_cell
    shown = [{col.key: show(col.key, r.get(col.key), r) for col in table} for r in rows]
    out.print(fit_table(shown, table, title=title, caption=caption))


def _numeric(rows: Sequence[dict[str, Any]], column: str) -> bool:
    values = [r.get(column) for r in rows if r.get(column) is not None]
    return bool(values) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in values
    )


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
