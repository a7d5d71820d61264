"""Adoption commands: ``score`` (with ``backfill`` and ``explain``), ``thresholds``, ``changes``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from cstool.commands import workspace
from cstool.commands.params import date_option
from cstool.console import (
    NONE,
    Column,
    Format,
    band_text,
    errors_to_exit,
    fit_table,
    message,
    options,
    out,
    pct,
    progress_bar,
    render,
    warn,
)
from cstool.schemas import SCORE_COLUMNS

if TYPE_CHECKING:
    from cstool.store import Store
    from cstool.workspace import Workspace

app = typer.Typer(
    help="Score adoption: deployment, depth and breadth with coloured bands.\n\n"
    "Example: cstool score --segment SMB --band red,orange --sort depth"
)
thresholds_app = typer.Typer(
    help="Calibrate, review and show the band cut points.", no_args_is_help=True
)


AsOf = Annotated[
    date | None, date_option("--as-of", "Score date, YYYY-MM-DD (default: latest usage day).")
]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
MEASURE_COLUMNS = ("deployment", "depth", "breadth")
# The score table at 80 columns: names shorten first, then the CSM goes, then the segment;
# ids and measures always stay whole.
SCORE_TABLE = [
    Column("account_id", "account", "id"),
    Column("name"),
    Column("segment", priority=2),
    Column("csm", priority=1),
    *(Column(m, kind="band") for m in MEASURE_COLUMNS),
]


@contextmanager
def _store(write: bool) -> Iterator[tuple[Workspace, Store]]:
    ws = workspace()
    with ws.open_store(write=write) as store:
        yield ws, store


def _cell(column: str, value: Any, row: dict[str, Any]) -> str:
    from rich.markup import escape

    if column in MEASURE_COLUMNS and f"{column}_band" in row:
        # Padded so that percentages line up on the right and band words on the left.
        band = row[f"{column}_band"]
        return f"{pct(value):>6} {band_text(band)}" if band else f"{pct(value):>6}"
    if column.endswith("_band"):
        return band_text(value)
    if column in ("band", "value"):
        return str(value)
    if column in (*MEASURE_COLUMNS, "composite", "before", "after"):
        return pct(value)
    return NONE if value is None else escape(str(value))


@app.callback(invoke_without_command=True)
def score(
    ctx: typer.Context,
    as_of: AsOf = None,
    segment: Annotated[
        str | None, typer.Option(metavar="SEGMENT", help="Only this segment (any case).")
    ] = None,
    csm: Annotated[
        str | None, typer.Option(metavar="NAME", help="Only this CSM's accounts (any case).")
    ] = None,
    band: Annotated[
        str | None,
        typer.Option(
            metavar="BANDS",
            help="Only accounts with any measure in these bands, e.g. red,orange.",
        ),
    ] = None,
    sort: Annotated[
        str,
        typer.Option(
            metavar="COLUMN",
            help="Sort by a column, e.g. depth or breadth_band: worst first; -depth sorts "
            "descending (best first). Missing values go last.",
        ),
    ] = "account_id",
    limit: Annotated[
        int | None, typer.Option(min=1, metavar="N", help="Show at most N rows.")
    ] = None,
    no_save: Annotated[
        bool, typer.Option("--no-save", help="Store nothing (works on a read-only workspace).")
    ] = False,
    format: FormatOpt = Format.table,
) -> None:
    """Score every active account and store the snapshot of the date.

    Example: cstool score --segment SMB --band red,orange --sort depth
    """
    if ctx.invoked_subcommand is not None:
        return
    from cstool import adoption

    bands = [b.strip() for b in band.split(",") if b.strip()] if band else []
    with errors_to_exit(), _store(write=not no_save) as (ws, store):
        adoption.check_filters(bands, sort)  # a typo must not store a snapshot
        run = adoption.score(store, ws.resolved.config, as_of, save=not no_save)
        rows = adoption.filter_rows(run.rows, segment=segment, csm=csm, bands=bands, sort=sort)
    shown = rows[:limit] if limit else rows
    if run.calibrated_now:
        message(
            f"No thresholds were stored yet: calibrated on the data of {run.as_of} and "
            "stored them (review with `cstool thresholds show`)"
        )
    for w in run.warnings:
        warn(w)
    if not rows and (segment or csm or bands):
        _no_match(run, segment, csm, band)
    columns = list(SCORE_COLUMNS) + (["composite"] if run.composite else [])
    if format is Format.table:
        columns = [c for c in columns if not c.endswith("_band")]
    if rows or format is not Format.table:
        render(
            [r.as_dict() for r in shown],
            columns,
            format,
            table=SCORE_TABLE + ([Column("composite", kind="number")] if run.composite else []),
            cell=_cell,
            title=f"Adoption on {run.as_of} ({len(shown):,} of {len(run.rows):,} accounts)",
        )
    if rows and format is Format.table:
        _band_summary(rows)
    if not options.quiet and not no_save:
        message(f"Stored the snapshot of {run.as_of} ({len(run.rows):,} accounts)")


def _no_match(run: Any, segment: str | None, csm: str | None, band: str | None) -> None:
    """Say which filters matched nothing, and the values there are when one matches none."""
    import shlex

    from rich.markup import escape

    from cstool import adoption

    given = [("--segment", segment), ("--csm", csm), ("--band", band)]
    flags = " ".join(f"{flag} {shlex.quote(v)}" for flag, v in given if v)
    message(escape(f"No accounts match {flags} on {run.as_of}"))
    for what, values in adoption.unmatched(run.rows, segment=segment, csm=csm).items():
        message(f"[dim]hint:[/dim] the {what} are {escape(', '.join(values))}")


def _band_summary(rows: list[Any]) -> None:
    from cstool.bands import BANDS

    columns = [Column("measure", kind="id")]
    columns += [Column(b or "n/a", band_text(b), "number") for b in (*BANDS, None)]
    counts = [
        {
            "measure": m,
            **{
                b or "n/a": f"{sum(1 for r in rows if getattr(r, f'{m}_band') == b):,}"
                for b in (*BANDS, None)
            },
        }
        for m in MEASURE_COLUMNS
    ]
    out.print(fit_table(counts, columns, title="Accounts per band"))


@app.command("backfill")
def backfill(
    start: Annotated[
        date | None,
        date_option("--from", "Earliest date to score, YYYY-MM-DD (default: 8 weeks before --to)."),
    ] = None,
    end: Annotated[
        date | None,
        date_option("--to", "Latest date to score, YYYY-MM-DD (default: latest usage day)."),
    ] = None,
    every: Annotated[int, typer.Option(min=1, metavar="DAYS", help="Days between snapshots.")] = 7,
) -> None:
    """Store snapshots for --to, --to minus --every days, ... back to --from.

    Example: cstool score backfill --from 2026-08-01 --to 2026-11-20 --every 7
    """
    from cstool import adoption

    with (
        errors_to_exit(),
        _store(write=True) as (ws, store),
        progress_bar("Scoring", counts="steps") as bar,
    ):
        result = adoption.backfill(
            store,
            ws.resolved.config,
            start,
            end,
            every,
            progress=lambda done, total: bar("dates", done, total),
        )
    if result.calibrated_now:
        message(
            f"No thresholds were stored yet: calibrated on the data of {result.dates[-1]} "
            "and stored them (review with `cstool thresholds show`)"
        )
    for w in result.warnings:
        warn(w)
    n = len(result.dates)
    message(
        f"Stored {n:,} snapshot{'s' if n != 1 else ''} from {result.dates[0]} to "
        f"{result.dates[-1]} ({result.accounts:,} accounts each)"
    )


@app.command("explain")
def explain(
    account: Annotated[
        str, typer.Argument(metavar="ACCOUNT", help="Account ID.", show_default=False)
    ],
    as_of: AsOf = None,
) -> None:
    """Show the numbers behind an account's bands: users, windows, features, cut points.

    Example: cstool score explain ACC-00042 --as-of 2026-11-20
    """
    from cstool import adoption

    with errors_to_exit(), _store(write=False) as (ws, store):
        e = adoption.explain(store, ws.resolved.config, account, as_of)
    from rich.markup import escape

    out.print(
        f"[bold]{escape(e.account_id)}[/] {escape(e.name)}  segment "
        f"{escape(e.segment or '(none)')}, CSM {escape(e.csm or '(none)')}, as of {e.as_of}"
    )
    lic = "n/a" if e.licenses is None else f"{e.licenses:,.0f}"
    out.print(
        f"licenses {lic}; activated users {e.activated:,}; active users "
        f"{e.depth_window[0]}..{e.depth_window[1]}: {e.active:,}"
    )
    # Feature lists can be long: they wrap between names at the terminal's width.
    out.print(
        f"features used {e.breadth_window[0]}..{e.breadth_window[1]} "
        f"(enabled from the {e.enabled_source}): "
        f"{escape(', '.join(e.features_used) or 'none')}",
        soft_wrap=False,
    )
    out.print(
        f"features not used: {escape(', '.join(e.features_unused) or 'none')}", soft_wrap=False
    )
    rows = [
        {
            "measure": m.measure,
            "value": _cell(m.measure, m.value, {f"{m.measure}_band": m.band}),
            "before": band_text(m.band_week_before),
            "cuts": NONE if m.cuts is None else _cut_points(m.cuts.cuts),
            "from": _source(m.cuts),
        }
        for m in e.measures
    ]
    fallback = any(m.cuts and m.cuts.segment == adoption.ALL_SEGMENTS for m in e.measures)
    note = adoption.fallback_note(ws.resolved.config.metrics) if fallback else None
    out.print(fit_table(rows, EXPLAIN_TABLE, caption=note))


# At 80 columns the source shortens, then last week's band goes.
EXPLAIN_TABLE = [
    Column("measure", kind="id"),
    Column("value", kind="band"),
    Column("before", "last week", "band", priority=1),
    Column("cuts", "c20 c40 c60 c80 (%)", "id"),
    Column("from"),
]


def _cut_points(cuts: Any) -> str:
    """Cut points as percentages without the sign (the header says %), aligned: " 33.3 100.0"."""
    return " ".join(f"{c * 100:5.1f}" for c in cuts)


def _source(cuts: Any) -> str:
    """Where an account's cut points come from: its segment, all accounts or cstool.yaml."""
    from rich.markup import escape

    from cstool.adoption import ALL_SEGMENTS

    if cuts is None:
        return NONE
    if cuts.source == "override":
        return "cstool.yaml"
    if cuts.segment == ALL_SEGMENTS:
        return "all accounts"
    return escape(cuts.segment + (" (proposed)" if cuts.source == "proposed" else ""))


@thresholds_app.command("calibrate")
def calibrate(
    as_of: AsOf = None,
    apply: Annotated[bool, typer.Option("--apply", help="Store the proposed cut points.")] = False,
    format: FormatOpt = Format.table,
) -> None:
    """Propose cut points from the data's quintiles beside the current ones.

    Example: cstool thresholds calibrate --as-of 2026-11-20 --apply
    """
    from cstool import adoption

    with errors_to_exit(), _store(write=apply) as (ws, store):
        cal = adoption.calibrate(store, ws.resolved.config, as_of, apply=apply)
    rows = cal.rows()
    if format is not Format.json:

        def cuts(xs: list[float]) -> str:
            return _cut_points(xs) if format is Format.table else " ".join(repr(x) for x in xs)

        for r in rows:
            r["current"] = None if r["current"] is None else cuts(r["current"])
            r["proposed"] = cuts(r["proposed"])
            counts = _counts if format is Format.table else _plain_counts
            r["before"], r["after"] = counts(r["before"]), counts(r["after"])
    render(
        rows,
        ["segment", "measure", "n", "current", "proposed", "before", "after"],
        format,
        table=CALIBRATE_TABLE,
        title=f"Cut points from the data of {cal.as_of}: c20 c40 c60 c80 in %, and accounts "
        "per band green lime yellow orange red n/a",
        cell=lambda c, v, r: str(v) if c in ("before", "after") else _threshold_cell(c, v, r),
        caption=_fallback_caption(rows, ws),
    )
    for w in cal.warnings:
        warn(w)
    if cal.applied:
        message(f"Stored {len(cal.proposed)} sets of cut points calibrated on {cal.as_of}")
    elif not options.quiet:
        message("Nothing stored; pass --apply to store these cut points")


# At 80 columns the counts before go first, then the current cut points.
CALIBRATE_TABLE = [
    Column("segment", min_width=12),  # "all accounts" whole
    Column("measure", kind="id"),
    Column("n", kind="number"),
    Column("current", kind="id", priority=2),
    Column("proposed", kind="id"),
    Column("before", kind="id", priority=1),
    Column("after", kind="id"),
]


def _counts(c: dict[str, int]) -> str:
    """Band counts as coloured numbers, in band order (the title names the order)."""
    from cstool.console import BAND_STYLES

    return " ".join(f"[{BAND_STYLES.get(b, 'dim')}]{n}[/]" for b, n in c.items())


def _plain_counts(c: dict[str, int]) -> str:
    return " ".join(f"{b}={n}" for b, n in c.items())


@thresholds_app.command("show")
def show(format: FormatOpt = Format.table) -> None:
    """List the stored cut points and the overrides from cstool.yaml, and which applies.

    Example: cstool thresholds show --format json
    """
    from cstool import adoption

    with errors_to_exit(), _store(write=False) as (ws, store):
        th = adoption.load_thresholds(store, ws.resolved.config.metrics)
    rows = adoption.threshold_rows(th)
    if not rows:
        message(
            "No thresholds are stored yet: `cstool thresholds calibrate --apply` stores them "
            "(so does the first `cstool score`)"
        )
        if format is Format.table:
            return
    render(
        rows,
        adoption.THRESHOLD_COLUMNS,
        format,
        table=THRESHOLDS_TABLE,
        title="Band cut points",
        cell=_threshold_cell,
        caption=_fallback_caption(rows, ws),
    )


# At 80 columns the calibration date goes first, then the number of accounts.
THRESHOLDS_TABLE = [
    Column("segment", min_width=12),  # "all accounts" whole
    Column("measure", kind="id"),
    *(Column(c, kind="number") for c in ("c20", "c40", "c60", "c80")),
    Column("n", kind="number", priority=2),
    Column("calibrated_on", "calibrated", "id", priority=1),
    Column("applies"),
]


def _threshold_cell(column: str, value: Any, row: dict[str, Any]) -> str:

    from cstool.adoption import ALL_SEGMENTS

    if column in ("c20", "c40", "c60", "c80"):
        return pct(value)
    if column == "segment" and value == ALL_SEGMENTS:
        return "all accounts"
    return "" if value is None and column in ("n", "calibrated_on") else _cell(column, value, row)


def _fallback_caption(rows: list[dict[str, Any]], ws: Workspace) -> str | None:
    """The note on the all-accounts cut points, when the table lists them."""
    from cstool import adoption

    if any(r["segment"] == adoption.ALL_SEGMENTS for r in rows):
        return adoption.fallback_note(ws.resolved.config.metrics)
    return None


def changes(
    as_of: Annotated[
        date | None,
        date_option(
            "--as-of", "Snapshot date to look from, YYYY-MM-DD (default: the latest snapshot)."
        ),
    ] = None,
    weeks: Annotated[
        int, typer.Option(min=1, metavar="N", help="Compare with this many weeks earlier.")
    ] = 1,
    by: Annotated[
        Literal["segment", "csm"], typer.Option(help="Group the moves by segment or by CSM.")
    ] = "segment",
    limit: Annotated[
        int | None, typer.Option(min=1, metavar="N", help="List at most N movers (worst first).")
    ] = None,
    format: FormatOpt = Format.table,
) -> None:
    """Show who moved bands since the snapshot a week (or --weeks) earlier, worst drops first.

    Example: cstool changes --by csm --weeks 2
    """
    from cstool import adoption

    with errors_to_exit(), _store(write=False) as (_, store):
        ch = adoption.changes(store, as_of, weeks, by)
    for w in ch.warnings:
        warn(w)
    cols = [
        "group",
        "account_id",
        "name",
        "measure",
        "band_before",
        "band_after",
        "before",
        "after",
        "change",
    ]
    movers = [m.as_dict() for m in ch.movers[:limit]]
    title = f"Movers, worst drops first ({len(movers):,} of {len(ch.movers):,})"
    if format is Format.table:
        _group_moves(ch)
        # One column per move reads better in a terminal than four.
        for m in movers:
            m["band"] = f"{band_text(m['band_before'])} -> {band_text(m['band_after'])}"
            m["value"] = f"{pct(m['before']):>6} -> {pct(m['after']):>6}"
    render(movers, cols, format, table=_movers_table(ch.by), cell=_cell, title=title)


def _movers_table(by: str) -> list[Column]:
    """At 80 columns names shorten first, then the change count goes, then the group."""
    return [
        Column("account_id", "account", "id"),
        Column("name"),
        Column("group", by, priority=2),
        Column("measure", kind="id"),
        Column("band", kind="band"),
        Column("value", kind="band"),
        Column("change", kind="number", priority=1),
    ]


def _group_moves(ch: Any) -> None:
    """The table of accounts moving up and down, per group and measure."""
    from rich.markup import escape

    rows = [
        {
            "group": NONE if g.group is None else escape(g.group),
            "measure": g.measure,
            "accounts": f"{g.accounts:,}",
            "up": f"[green]{g.up:,}[/]",
            "down": f"[red]{g.down:,}[/]",
        }
        for g in ch.groups
    ]
    columns = [Column("group", ch.by), Column("measure", kind="id")]
    columns += [Column(c, kind="number") for c in ("accounts", "up", "down")]
    title = f"Band moves by {ch.by}, {ch.compared_to} -> {ch.as_of}"
    out.print(fit_table(rows, columns, title=title))


def register(app_root: typer.Typer) -> None:
    app_root.add_typer(app, name="score")
    app_root.add_typer(thresholds_app, name="thresholds")
    app_root.command("changes")(changes)
