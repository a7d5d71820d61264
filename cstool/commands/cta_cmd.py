"""``cstool cta``: generate CTAs from the playbooks, list them, and work on one."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import typer
from rich.markup import escape

from cstool.commands import workspace_store
from cstool.commands.params import date_option
from cstool.console import (
    Column,
    Format,
    ShowFormat,
    errors_to_exit,
    message,
    out,
    plain_cell,
    render,
    warn,
)

app = typer.Typer(
    help="Calls to action: the work the playbooks open for CSMs, with tasks and due dates.\n\n"
    "Example: cstool cta generate --dry-run",
    no_args_is_help=True,
)
task_app = typer.Typer(
    help="Work on a CTA's tasks.\n\nExample: cstool cta task done 12 1", no_args_is_help=True
)
app.add_typer(task_app, name="task")

FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
CtaId = Annotated[int, typer.Argument(metavar="ID", help="The CTA's id (see cta list).")]
TaskNo = Annotated[int, typer.Argument(metavar="N", help="The task's number (see cta show).")]
OnDate = Annotated[
    date | None, date_option("--as-of", "Date of the change, YYYY-MM-DD (default: today).")
]

PLAN_TABLE = [
    Column("action", kind="id"),
    Column("account_id", kind="id"),
    Column("account_name", "account", min_width=10, priority=2),
    Column("playbook", min_width=14, priority=1),
    Column("why", "reason", "prose"),
]
LIST_TABLE = [
    Column("cta_id", "CTA", "number"),
    Column("account_id", kind="id"),
    Column("account_name", "account", min_width=10),
    Column("playbook", min_width=12, priority=3),
    Column("priority", kind="id", priority=2),
    Column("status", kind="id", priority=1),
    Column("due_on", "due", "id"),
    Column("tasks_open", "tasks", "number", priority=0),
    Column("reason", kind="prose", priority=4, min_width=24),
]
COUNT_COLUMNS = ("playbook", "open", "update", "close", "unchanged", "held")


def _now() -> datetime:
    return datetime.now().astimezone()


def _today(as_of: date | None) -> date:
    return as_of or _now().date()


def _cell(column: str, value: Any, row: dict[str, Any]) -> str:
    if column == "action":
        style = {"open": "green", "close": "red", "update": "yellow"}.get(str(value), "dim")
        return f"[{style}]{value}[/]"
    if column == "playbook" and row.get("_total"):
        return "[bold]all[/]"
    if isinstance(value, int) and column != "cta_id":
        return f"{value:,}"
    return plain_cell(column, value, row)


@app.command("generate")
def generate(
    as_of: Annotated[
        date | None,
        date_option("--as-of", "Snapshot date, YYYY-MM-DD (default: the latest snapshot)."),
    ] = None,
    playbook: Annotated[
        str | None, typer.Option(metavar="NAME", help="Only this playbook.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the plan and write nothing.")
    ] = False,
    limit: Annotated[int, typer.Option(min=0, help="Table: show at most N changes (0: all).")] = 20,
    format: FormatOpt = Format.table,
) -> None:
    """Evaluate the playbooks for every active account and open, update or close CTAs.

    Example: cstool cta generate --as-of 2026-11-20 --dry-run
    """
    from cstool import ctas

    with errors_to_exit(), workspace_store(write=not dry_run) as (ws, store):
        done = ctas.generate(ws, store, as_of=as_of, playbook=playbook, dry_run=dry_run, now=_now())
    plan = done.plan
    changes = [i for i in plan.items if i.action in ("open", "update", "close")]
    if format is not Format.table:
        render([i.as_dict() for i in plan.items], ctas.PLAN_COLUMNS, format)
    else:
        _plan_tables(plan, changes, limit)
    for w in done.warnings:
        message(f"[yellow]Warning:[/yellow] {escape(w)}")
    message(_summary(done))


def _plan_tables(plan: Any, changes: list[Any], limit: int) -> None:
    counts = [{"playbook": p, **c} for p, c in plan.by_playbook().items()]
    counts.append({"playbook": "all", **plan.counts(), "_total": True})
    render(
        counts,
        COUNT_COLUMNS,
        Format.table,
        title=f"CTA plan on {plan.as_of} ({plan.accounts:,} accounts)",
        cell=_cell,
        table=[Column("playbook"), *(Column(a, kind="number") for a in COUNT_COLUMNS[1:])],
    )
    if not changes:
        return
    shown = changes[:limit] if limit else changes
    rows = [
        {**i.as_dict(), "why": i.note if i.action != "open" else i.reason, "_item": i}
        for i in shown
    ]
    more = len(changes) - len(shown)
    render(
        rows,
        [c.key for c in PLAN_TABLE],
        Format.table,
        table=PLAN_TABLE,
        cell=_cell,
        caption=f"... and {more:,} more (--limit 0 shows all)" if more else None,
    )


def _summary(done: Any) -> str:
    plan = done.plan
    c = plan.counts()
    verb = (
        ("would open", "update", "close") if not done.applied else ("opened", "updated", "closed")
    )
    text = (
        f"{'Dry run: ' if not done.applied else ''}{verb[0]} {c['open']:,}, {verb[1]} "
        f"{c['update']:,}, {verb[2]} {c['close']:,} CTAs on {plan.as_of}; {c['unchanged']:,} "
        f"unchanged, {c['held']:,} held (cooldown or snooze)"
    )
    if plan.missing:
        text += (
            f"; {plan.missing:,} account{'s' if plan.missing != 1 else ''} had a condition "
            "false for a missing value"
        )
    if done.scored:
        text += f"; scored {plan.as_of} first" + ("" if done.applied else " (not stored)")
    if done.warnings:
        text += f"; {len(done.warnings)} warning{'s' if len(done.warnings) != 1 else ''}"
    return text + ("; nothing written" if not done.applied else "")


@app.command("list")
def list_(
    csm: Annotated[
        str | None, typer.Option(metavar="NAME", help="Only CTAs this CSM owns (any case).")
    ] = None,
    status: Annotated[
        str | None, typer.Option(metavar="STATUS", help="open, snoozed or closed.")
    ] = None,
    type: Annotated[
        str | None, typer.Option("--type", metavar="TYPE", help="risk, expansion, lifecycle...")
    ] = None,
    priority: Annotated[
        str | None, typer.Option(metavar="PRIORITY", help="low, medium, high or urgent.")
    ] = None,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Only open CTAs due before the date.")
    ] = False,
    as_of: Annotated[
        date | None, date_option("--as-of", "Date, YYYY-MM-DD (default: today).")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Show at most N CTAs.")] = None,
    format: FormatOpt = Format.table,
) -> None:
    """List CTAs by due date, with their status on the date and open tasks.

    Example: cstool cta list --csm "Priya Raman" --status open --overdue
    """
    from cstool import ctas

    day = _today(as_of)
    with errors_to_exit(), workspace_store() as (_ws, store):
        rows = ctas.list_ctas(
            store, day, csm=csm, status=status, type=type, priority=priority, overdue=overdue
        )
    shown = rows[:limit] if limit else rows
    render(
        shown,
        ctas.LIST_COLUMNS,
        format,
        table=LIST_TABLE,
        title=f"CTAs on {day} ({len(shown):,} of {len(rows):,})",
        cell=_cell,
    )
    if not rows:
        message("No CTAs match")


@app.command("show")
def show(
    cta_id: CtaId,
    as_of: Annotated[
        date | None,
        date_option("--as-of", "Date to show the status on, YYYY-MM-DD (default: today)."),
    ] = None,
    format: Annotated[
        ShowFormat, typer.Option("--format", "-f", help="Output format: table or json.")
    ] = ShowFormat.table,
) -> None:
    """Show one CTA: its account, reason, dates, tasks and events.

    Example: cstool cta show 12
    """
    import json

    from cstool import ctas

    with errors_to_exit(), workspace_store() as (_ws, store):
        detail = ctas.show(store, cta_id, _today(as_of))
    if format is ShowFormat.json:
        out.print_json(json.dumps(detail.as_dict(), ensure_ascii=False))
        return
    c = detail.cta
    out.print(
        f"[bold]CTA {c['cta_id']}[/] {escape(c['playbook'])} ({c['type']}, {c['priority']}) "
        f"for {escape(detail.account_name or c['account_id'] or '(no account)')}"
    )
    out.print(f"status {detail.status}; owner {escape(c['owner'] or '(none)')}")
    out.print(f"opened {c['opened_on']}, due {c['due_on']}" + _closing(c))
    out.print(f"reason: {escape(c['reason'])}")
    render(
        detail.tasks,
        ("n", "title", "due_on", "done_on", "email_assist"),
        Format.table,
        title="Tasks",
        table=[
            Column("n", kind="number"),
            Column("title", kind="prose"),
            Column("due_on", "due", "id"),
            Column("done_on", "done", "id"),
            Column("email_assist", "email assist", priority=1),
        ],
    )
    render(
        detail.events,
        ("date", "kind", "text"),
        Format.table,
        title="Events",
        table=[Column("date", kind="id"), Column("kind", kind="id"), Column("text", kind="prose")],
    )


def _closing(c: dict[str, Any]) -> str:
    if c["status"] == "closed":
        return f", closed {c['closed_on']}: {escape(c['close_reason'] or '')}"
    if c["snoozed_until"]:
        return f", snoozed until {c['snoozed_until']}"
    return ""


@app.command("close")
def close(
    cta_id: CtaId,
    reason: Annotated[str, typer.Option(metavar="TEXT", help="Why it is closed.")],
    as_of: OnDate = None,
) -> None:
    """Close a CTA with a reason; its playbook's cooldown then keeps it from reopening.

    Example: cstool cta close 12 --reason "Sponsor agreed a success plan"
    """
    from cstool import ctas

    with errors_to_exit(), workspace_store(write=True) as (_ws, store):
        c = ctas.close(store, cta_id, reason, as_of=_today(as_of), now=_now())
    message(f"Closed CTA {cta_id} ({escape(c['playbook'])}) on {c['closed_on']}")


@app.command("snooze")
def snooze(
    cta_id: CtaId,
    until: Annotated[date, date_option("--until", "The day it is open again, YYYY-MM-DD.")],
    reason: Annotated[str, typer.Option(metavar="TEXT", help="Why it waits.")],
    as_of: OnDate = None,
) -> None:
    """Snooze a CTA until a date; generate holds it until then, but still closes it if its
    condition clears.

    Example: cstool cta snooze 12 --until 2027-01-11 --reason "Customer on holiday"
    """
    from cstool import ctas

    with errors_to_exit(), workspace_store(write=True) as (_ws, store):
        ctas.snooze(store, cta_id, until, reason, as_of=_today(as_of), now=_now())
    message(f"Snoozed CTA {cta_id} until {until}")


@app.command("due")
def due(
    cta_id: CtaId,
    due_on: Annotated[str, typer.Argument(metavar="DATE", help="The new due date, YYYY-MM-DD.")],
    as_of: OnDate = None,
) -> None:
    """Move a CTA's due date; its open tasks move by the same number of business days.

    Example: cstool cta due 12 2026-12-18
    """
    from cstool import busdays, ctas
    from cstool.commands.params import parse_date

    day = parse_date("DATE", due_on)
    with errors_to_exit(), workspace_store(write=True) as (ws, store):
        calendar = busdays.Calendar.from_config(ws.resolved.config)
        moved = ctas.move_due(store, calendar, cta_id, day, as_of=_today(as_of), now=_now())
    tasks = len(moved.tasks_moved)
    message(
        f"CTA {cta_id} is due {moved.new} (was {moved.old}, {moved.business_days:+d} business "
        f"days); {tasks} open task{'s' if tasks != 1 else ''} moved"
    )


@task_app.command("done")
def task_done(cta_id: CtaId, n: TaskNo, as_of: OnDate = None) -> None:
    """Mark a CTA's task done.

    Example: cstool cta task done 12 1
    """
    from cstool import ctas

    with errors_to_exit(), workspace_store(write=True) as (_ws, store):
        task = ctas.finish_task(store, cta_id, n, as_of=_today(as_of), now=_now())
    message(f"Done: task {n} of CTA {cta_id} ({escape(task['title'])}) on {task['done_on']}")


@app.command("assist")
def assist(
    cta_id: CtaId,
    n: TaskNo,
    to: Annotated[
        list[str] | None,
        typer.Option("--user", metavar="USER_ID", help="Write for this user (repeatable)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Rewrite drafts already there.")] = False,
    as_of: Annotated[
        date | None,
        date_option("--as-of", "Date of the numbers, YYYY-MM-DD (default: the latest snapshot's)."),
    ] = None,
) -> None:
    """Write a task's email assist for the account's contacts into outbox/assist/ as drafts.

    Example: cstool cta assist 12 1
    """
    from cstool import ctas

    with errors_to_exit(), workspace_store() as (ws, store):
        result = ctas.write_assist(
            ws, store, cta_id, n, as_of=as_of, now=_now(), to=to, force=force
        )
    for w in result.warnings:
        warn(w)
    for user_id, why in result.skipped:
        message(f"Skipped {escape(user_id)}: {escape(why)}")
    for path in result.written:
        out.print(ws.relative(path), markup=False)
    message(
        f"Wrote {len(result.written)} draft{'s' if len(result.written) != 1 else ''} for "
        f"CTA {cta_id} task {n} into outbox/assist/ with the numbers of {result.as_of} (open "
        "one in your mail program to edit and send)"
    )


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="cta")
