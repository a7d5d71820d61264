"""Journey commands: ``journey list|show|validate|send|resolve|stats``."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from cstool.commands import workspace
from cstool.commands.params import date_option
from cstool.console import (
    NONE,
    Column,
    Format,
    errors_to_exit,
    message,
    out,
    pct,
    plain_cell,
    progress_bar,
    render,
    warn,
)

if TYPE_CHECKING:
    from cstool.journeys.send import Delivered, Resolved, SendResult

app = typer.Typer(
    help="Tech-touch journeys: lifecycle email to many customers, written to a Maildir outbox "
    "and sent exactly once.\n\nExample: cstool journey send onboarding --dry-run",
    no_args_is_help=True,
)

NameArg = Annotated[str, typer.Argument(metavar="NAME", help="Journey name.", show_default=False)]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]


# Names and addresses stay whole; the conditions show when there is room.
TABLE_LIST = (
    Column("name", kind="id"),  # what `journey send NAME` takes: never cut
    Column("category", kind="id", priority=6),
    Column("steps", kind="number", priority=4),
    Column("from", kind="id", priority=5),
    Column("audience", min_width=14, priority=3),
    Column("recipients", min_width=14, priority=2),
    Column("holdout", kind="number", priority=1),
    Column("reentry_days", "reentry", kind="number", priority=0),
)
# Addresses and ids stay whole; at 80 columns the subject shortens, then columns give way.
TABLE_PLAN = (
    Column("step", kind="id", priority=4),
    Column("variant", "var", kind="id", priority=1),
    Column("user_id", "user", kind="id", priority=2),
    Column("recipient", kind="id"),
    Column("subject", min_width=12, priority=3),
    Column("status", kind="id"),
)
REASON = Column("reason", kind="prose", min_width=20)


def _cell(column: str, value: Any, row: dict[str, Any]) -> str:
    if column == "reason" and value is None:
        return ""
    if column == "holdout":
        return NONE if not value else pct(value)
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, int):
        return f"{value:,}"
    if column.endswith("_rate") and value is not None:
        return pct(value)
    return plain_cell(column, value, row)


@app.command("list")
def list_(format: FormatOpt = Format.table) -> None:
    """List the workspace's journeys: category, steps, audience, sender and holdout.

    Example: cstool journey list --format csv
    """
    from cstool.journeys import overview

    ws = workspace()
    with errors_to_exit():
        rows, broken = overview.list_journeys(ws)
    _broken(broken)
    render(rows, overview.LIST_COLUMNS, format, table=TABLE_LIST, title="Journeys", cell=_cell)
    if not rows:
        message("No journeys: add YAML files to journeys/ (cstool init ships starters)")


STEP_TABLE = (
    Column("step", kind="id"),
    Column("rule", kind="prose", min_width=16),
    Column("templates", kind="prose", min_width=16),
    Column("catch_up_days", "catch-up", kind="number", priority=1),
)
AUDIENCE_TABLE = (
    Column("account_id", "account", kind="id"),
    Column("name", min_width=12),
    Column("touch_tier", "tier", kind="id", priority=3),
    Column("csm", min_width=10, priority=2),
    Column("recipients", kind="number"),
    Column("held_out", "held out", kind="id", priority=1),
)


@app.command()
def show(
    name: NameArg,
    as_of: Annotated[
        date | None, date_option("--as-of", "Date, YYYY-MM-DD (default: today).")
    ] = None,
    format: FormatOpt = Format.table,
) -> None:
    """Show a journey's steps and the accounts and people in its audience on a date.

    Example: cstool journey show onboarding --as-of 2026-11-20
    """
    from cstool.journeys import overview

    ws = workspace()
    with errors_to_exit():
        shown = overview.show(ws, name, as_of or date.today())
    j = shown.journey
    _broken(shown.broken)
    if format is Format.table:
        message(f"{j.name} ({j.category}, {shown.file}): {' '.join(j.description.split())}")
        render(
            shown.steps, overview.STEP_COLUMNS, format, table=STEP_TABLE, title="Steps", cell=_cell
        )
    render(
        shown.audience,
        overview.AUDIENCE_COLUMNS,
        format,
        title=f"Audience on {shown.as_of}: {j.audience}",
        cell=_cell,
        table=AUDIENCE_TABLE,
    )
    message(
        f"{len(shown.audience):,} accounts ({shown.held_out:,} held out), "
        f"{shown.recipients:,} recipients ({j.recipients}) on {shown.as_of}"
        + (f"; {shown.not_send_day}" if shown.not_send_day else "")
    )


@app.command()
def validate(
    name: Annotated[
        str | None,
        typer.Argument(metavar="NAME", help="One journey (default: all).", show_default=False),
    ] = None,
) -> None:
    """Check journeys: files, conditions, templates, unsubscribe link and postal footer.

    Example: cstool journey validate onboarding
    """
    from cstool.errors import InputError
    from cstool.journeys import overview

    ws = workspace()
    with errors_to_exit():
        checked = overview.validate(ws, name)
        # A problem of the configuration is every journey's: listed once.
        problems = list(dict.fromkeys(p for c in checked for p in c.problems))
        for c in checked:
            state = "ok" if not c.problems else f"{len(c.problems)} problem(s)"
            message(f"{c.file}: {state} ({len(c.templates)} template(s) rendered)")
        if problems:
            raise InputError(
                f"{len(problems)} problem(s) in {sum(1 for c in checked if c.problems)} journey(s)",
                problems=problems,
                hint="fix them and validate again; `cstool journey send` refuses a broken journey",
            )
    message(f"All {len(checked)} journey(s) are valid")


@app.command()
def send(
    name: NameArg,
    as_of: Annotated[
        date | None, date_option("--as-of", "Send date, YYYY-MM-DD (default: today).")
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Print the plan, write previews to outbox/dry-run/NAME/, record nothing.",
        ),
    ] = False,
    limit: Annotated[
        int | None, typer.Option(min=1, metavar="N", help="Send at most N emails now.")
    ] = None,
    step: Annotated[str | None, typer.Option(metavar="ID", help="Only this step.")] = None,
    deliver: Annotated[
        bool, typer.Option("--deliver", help="Also deliver over SMTP (sending: in cstool.yaml).")
    ] = False,
    format: FormatOpt = Format.table,
) -> None:
    """Work out who is due, render every email, record it in the ledger and write the outbox.

    Example: cstool journey send onboarding --as-of 2026-11-20 --dry-run
    """
    from cstool.errors import PartialFailure
    from cstool.journeys.send import send as run

    ws = workspace()
    now = datetime.now().astimezone()
    with errors_to_exit():
        try:
            with progress_bar(f"journey {name}", counts="steps") as bar:
                result = run(
                    ws, name, as_of=as_of or now.date(), now=now, dry_run=dry_run,
                    limit=limit, step=step, deliver=deliver, progress=bar,
                )  # fmt: skip
        except PartialFailure as e:
            _report(ws, cast("SendResult", e.result), format)
            raise
    _report(ws, result, format)


def _broken(problems: list[str]) -> None:
    """Warn of journey files that do not load (their journeys cannot be shown or sent)."""
    for p in problems:
        warn(f"{p} (this journey cannot be sent until `cstool journey validate` passes)")


def _report(ws: Any, r: SendResult, format: Format) -> None:
    from cstool.journeys.send import PLAN_COLUMNS

    _broken(r.broken)
    if r.now_unknown:
        warn(f"{r.now_unknown:,} message(s) of an interrupted delivery are held as unknown")
    if r.completed:
        message(
            f"Completed interrupted batch(es) {', '.join(map(str, r.completed))}: "
            f"{r.completed_written:,} message(s) written"
        )
    if r.not_send_day:
        message(f"Nothing to send: {r.not_send_day}")
    if r.dry_run:
        render(
            [row.as_dict() for row in r.rows],
            PLAN_COLUMNS,
            format,
            table=(*TABLE_PLAN, REASON) if r.invalid else TABLE_PLAN,
            title=f"Plan of {r.journey} on {r.as_of}",
            cell=_cell,
        )
    else:
        for row in r.invalid:
            warn(f"{row.user_id} ({row.step}): {row.reason}")
    c = r.counts
    counts = (
        f"{c.due:,} due: {c.to_send:,} to send, {c.already_sent:,} already sent, "
        f"{c.held_out:,} held out, {c.suppressed:,} suppressed, {c.capped:,} capped, "
        f"{c.invalid:,} invalid" + (f", {c.limited:,} left by --limit" if c.limited else "")
    )
    where = ws.relative(r.folder) if r.folder else None
    if r.dry_run:
        message(f"Dry run of {r.journey} on {r.as_of}: {counts}; nothing recorded")
        if where:
            message(f"Previews: {where}/new/ ({r.written:,} messages, manifest.csv)")
        if r.open_batches:
            message(f"A real run first completes interrupted batch(es) {r.open_batches}")
    elif r.batch_id is not None:
        message(
            f"Wrote {r.written:,} email{'' if r.written == 1 else 's'} of {r.journey} to {where}/"
            f" (batch {r.batch_id}); {counts}"
        )
    elif r.send_day:
        message(f"Nothing new to send for {r.journey} on {r.as_of}: {counts}")
    if r.delivered is not None:
        _delivered(r.delivered)
    _unknown(r.unknown)


def _unknown(held: list[Any]) -> None:
    """Warn of every message held with an unknown SMTP outcome, and how to decide on it."""
    from cstool.journeys.send import resolve_commands

    for u in held[:20]:
        warn(
            f"batch {u.batch_id}, {u.key} ({u.user_id}, {u.step}): SMTP outcome unknown"
            + (f": {u.reason}" if u.reason else "")
        )
    if len(held) > 20:
        warn(f"... and {len(held) - 20:,} more with an unknown outcome")
    for command in resolve_commands(held):
        warn(f"held until you decide: {command}")


def _delivered(d: Delivered | None) -> None:
    if d is None:
        return
    o = d.outcomes
    message(
        f"Delivered {o['sent']:,} of {d.attempted:,} over SMTP: {o['failed']:,} refused, "
        f"{o['deferred']:,} deferred (retried by the next --deliver), {o['unknown']:,} unknown "
        "(held for `cstool journey resolve`)"
        + (f"; {d.left:,} left for tomorrow by sending.daily_cap" if d.left else "")
    )
    for f in d.failures[:20]:
        warn(f"batch {f['batch_id']} {f['user_id']} ({f['step']}): {f['why']}")
    if len(d.failures) > 20:
        warn(f"... and {len(d.failures) - 20:,} more")


@app.command()
def resolve(
    batch: Annotated[int, typer.Argument(metavar="BATCH", help="Batch number.")],
    resend: Annotated[bool, typer.Option("--resend", help="Send them again now.")] = False,
    skip: Annotated[bool, typer.Option("--skip", help="Never send them.")] = False,
) -> None:
    """Decide on a batch's emails whose SMTP outcome is unknown: resend them or skip them.

    Example: cstool journey resolve 12 --skip
    """
    from cstool.errors import PartialFailure, UsageError
    from cstool.journeys.send import resolve as run

    ws = workspace()
    with errors_to_exit():
        if resend == skip:
            raise UsageError("pass exactly one of --resend and --skip", hint="e.g. --skip")
        try:
            r = run(ws, batch, resend=resend, now=datetime.now().astimezone())
        except PartialFailure as e:
            _delivered(cast("Resolved", e.result).delivered)
            raise
    if not r.held:
        message(f"Batch {batch} ({r.journey}) has no emails with an unknown outcome")
    elif r.delivered is not None:
        _delivered(r.delivered)
    else:
        message(f"Skipped {r.skipped:,} email(s) of batch {batch} ({r.journey}): never sent again")


class By(str, Enum):
    """Groupings of ``journey stats``."""

    step = "step"
    variant = "variant"


# Counts stay whole; the rarer counts give way first, named under the table when dropped.
TABLE_STATS = (
    Column("group", kind="id"),
    Column("sent", kind="number"),
    Column("delivered", kind="number", priority=8),
    Column("opens", kind="number", priority=7),
    Column("clicks", kind="number", priority=6),
    Column("bounced", kind="number", priority=5),
    Column("unsubscribed", "unsubs", kind="number", priority=4),
    Column("complaints", kind="number", priority=1),
    Column("proxy_opens", "proxy opens", kind="number", priority=0),
    Column("open_rate", "open rate", kind="number", priority=3),
    Column("click_rate", "click rate", kind="number", priority=2),
)


@app.command()
def stats(
    name: NameArg,
    by: Annotated[By | None, typer.Option(help="Group by step or A/B variant.")] = None,
    format: FormatOpt = Format.table,
) -> None:
    """Show a journey's sends, deliveries, opens and clicks, its A/B verdicts and holdout lift.

    Example: cstool journey stats feature-nudge --by variant
    """
    from cstool.journeys import stats as core

    ws = workspace()
    with errors_to_exit():
        s = core.journey_stats(ws, name, by.value if by else None)
    render(
        s.rows,
        core.STAT_COLUMNS,
        format,
        table=TABLE_STATS,
        title=f"{name}: email outcomes",
        cell=_cell,
    )
    _unknown(s.unknown)
    if format is not Format.table:
        return
    for c in s.comparisons:
        rates = f"{pct(c.base_rate)} vs {pct(c.rate)}: " if c.rate is not None else ""
        out.print(f"A/B {c.step} {c.variant} vs {c.base}, {c.measure}: {rates}{c.verdict}")
    for lift in s.lifts:
        out.print(_lift(lift))
    if s.batches:
        render(s.batches, BATCH_COLUMNS, format, table=BATCH_TABLE, title="Batches", cell=_cell)
    if not s.rows:
        message(f"Nothing sent yet by {name}")


BATCH_COLUMNS = ("batch", "as_of", "folder", "written", "sent", "unknown", "failed", "invalid")
BATCH_TABLE = (
    Column("batch", kind="number"),
    Column("as_of", kind="id"),
    Column("folder", kind="path", min_width=16),
    *(Column(c, kind="number", priority=5 - i) for i, c in enumerate(BATCH_COLUMNS[3:])),
)


def _lift(x: Any) -> str:
    def points(v: float | None) -> str:
        return "n/a" if v is None else f"{v * 100:+.1f} points"

    if not x.recipients or not x.holdout:
        return (
            f"Holdout, {x.measure} {x.days} days after the send: not enough data yet "
            f"({x.recipients} recipient and {x.holdout} held-out accounts with both snapshots)"
        )
    return (
        f"Holdout, {x.measure} {x.days} days after the send: recipients "
        f"{points(x.recipients_change)} ({x.recipients} accounts), holdout "
        f"{points(x.holdout_change)} ({x.holdout} accounts): lift {points(x.lift)}"
    )


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="journey")
