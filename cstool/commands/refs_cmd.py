"""Reference commands: ``refs find``, the seven workflow steps, ``refs status``,
``refs follow-up`` and ``refs report``."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cstool.commands import workspace
from cstool.commands.params import date_option
from cstool.console import NONE, Column, Format, errors_to_exit, message, pct, render, warn

if TYPE_CHECKING:
    from cstool.refs.find import FindResult
    from cstool.refs.workflow import StepDone

app = typer.Typer(
    help="Customer references: find the right advocate, run a request through its seven "
    "steps, and report what references influenced.\n\n"
    "Example: cstool refs find --industry Healthcare --level VP",
    no_args_is_help=True,
)

FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]


def _level(value: str) -> str:
    """A level as in :data:`cstool.refs.LEVELS` (any case); another word is a usage error."""
    from cstool.refs import LEVELS, canonical_level

    found = canonical_level(value)
    if found is None:
        raise typer.BadParameter(f"unknown level {value!r}; use one of {', '.join(LEVELS)}")
    return found


LEVEL_METAVAR = "LEVEL"
LEVEL_HELP = "CXO, VP, Director, Manager, Staff or Admin (the contact's role)"


class By(str, Enum):
    """Groupings of ``refs report``."""

    quarter = "quarter"
    segment = "segment"
    csm = "csm"


def _employees(value: str | None) -> tuple[int, int] | None:
    """``--employees MIN-MAX``; a bad range is a usage error (exit 2)."""
    from cstool.refs.find import parse_employees

    if value is None:
        return None
    try:
        return parse_employees(value)
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="'--employees'") from None


def _now() -> datetime:
    return datetime.now().astimezone()


def _say(done: StepDone, what: str) -> None:
    nxt = done.next
    follow = f"; next: {nxt.usage(done.request_id)}" if nxt else "; the request is complete"
    message(f"{done.request_id} step {done.step.number} ({done.step.name}): {what}{follow}")
    for note in done.notes:
        warn(note)


# -- find ------------------------------------------------------------------------------------

FIND_TABLE = (
    Column("rank", "#", "number"),
    Column("account_id", "account", "id"),
    Column("name", priority=3),
    Column("segment", priority=1),
    Column("score", kind="number"),
    Column("contacts", kind="prose", min_width=14),
    Column("references_90d", "refs", "number", priority=2),
    Column("reasons", kind="prose", min_width=20, priority=4),
)
EXPLAIN_TABLE = (
    Column("account_id", "account", "id"),
    Column("name", priority=2),
    Column("segment", priority=1),
    Column("rule", kind="id"),
    Column("reason", kind="prose", min_width=20),
)


def _cell(column: str, value: Any, row: dict[str, Any]) -> str:
    from rich.markup import escape

    if value is None or value == "":
        return NONE
    if column == "score":
        return f"{value:.1f}"
    if column in ("contacts", "reasons"):
        return escape(str(value)).replace("; ", "\n")
    return escape(str(value))


def _show_found(found: FindResult, fmt: Format, explain: bool) -> None:
    from cstool.refs.find import CSV_COLUMNS, EXCLUDED_COLUMNS

    c = found.criteria
    level = f", {c.level} level" if c.level else ""
    rows = [x.as_dict() for x in found.candidates]
    excluded = [e.as_dict() for e in found.excluded]
    if fmt is Format.json and explain:
        doc = {"candidates": rows, "excluded": excluded}
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    elif fmt is Format.csv and explain:
        render(excluded, EXCLUDED_COLUMNS, fmt)
    elif rows or fmt is not Format.table:
        if fmt is Format.table:
            for row, x in zip(rows, found.candidates, strict=True):
                row["contacts"] = "; ".join(k.short() for k in x.contacts)
        title = f"Reference candidates in {' / '.join(found.industries)}{level}, {found.as_of}"
        render(rows, CSV_COLUMNS, fmt, table=FIND_TABLE, title=title, cell=_cell)
    if explain and fmt is Format.table and excluded:
        render(
            excluded,
            EXCLUDED_COLUMNS,
            fmt,
            table=EXPLAIN_TABLE,
            title=f"Excluded by the rules: {len(excluded):,} (the first rule that failed)",
        )
    message(
        f"{len(found.candidates)} shown of {found.eligible:,} eligible; {found.matched:,} of"
        f" {found.active:,} active accounts matched the filters, {len(excluded):,} excluded"
    )
    if found.snapshot is None:
        warn(f"no adoption snapshot on or before {found.as_of}: run `cstool score` first")
    for note in found.notes:
        message(note)
    for w in found.warnings:
        warn(w)


@app.command("find")
def find(
    industry: Annotated[
        str, typer.Option(help="The prospect's industry (any case).", show_default=False)
    ],
    segment: Annotated[str | None, typer.Option(help="Only this segment.")] = None,
    level: Annotated[
        str | None,
        typer.Option(
            parser=_level, metavar=LEVEL_METAVAR, help=f"The advocate's level: {LEVEL_HELP}."
        ),
    ] = None,
    employees: Annotated[
        str | None,
        typer.Option(metavar="MIN-MAX", help="Only accounts with MIN to MAX employees."),
    ] = None,
    region: Annotated[str | None, typer.Option(help="Only this region.")] = None,
    feature: Annotated[
        str | None, typer.Option(help="Only accounts using this feature (breadth window).")
    ] = None,
    as_of: Annotated[
        date | None, date_option("--as-of", "Date to look from, YYYY-MM-DD (default: today).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, metavar="N", help="Show the best N.")] = 5,
    explain: Annotated[
        bool, typer.Option("--explain", help="Also list excluded accounts and the rule.")
    ] = False,
    similar: Annotated[
        bool, typer.Option("--similar", help="Add the industry's neighbours (cstool.yaml).")
    ] = False,
    format: FormatOpt = Format.table,
) -> None:
    """Rank the customers to ask for a reference, with their best contacts and why.

    Example: cstool refs find --industry Healthcare --level VP --employees 500-5000 --explain
    """
    from cstool.refs.find import Criteria
    from cstool.refs.find import find as run

    criteria = Criteria(
        industry=industry,
        segment=segment,
        level=level,
        employees=_employees(employees),
        region=region,
        feature=feature,
        similar=similar,
    )
    ws = workspace()
    with errors_to_exit(), ws.open_store() as store:
        found = run(store, ws.resolved, criteria, as_of=as_of or date.today(), limit=limit)
    _show_found(found, format, explain)


# -- the workflow ----------------------------------------------------------------------------


def _templates(ws: Any) -> Any:
    from cstool.templating import EmailTemplates

    return EmailTemplates(ws.root / "email_templates", name="email_templates")


@app.command("request")
def request(
    opportunity: Annotated[
        str, typer.Option(metavar="OPP", help="The opportunity (opportunities export).")
    ],
    level: Annotated[
        str,
        typer.Option(
            parser=_level, metavar=LEVEL_METAVAR, help=f"The advocate's level: {LEVEL_HELP}."
        ),
    ],
    needed_by: Annotated[date, date_option("--needed-by", "Needed by, YYYY-MM-DD.")],
    topics: Annotated[str, typer.Option(help="What the prospect wants to hear about.")],
    count: Annotated[int, typer.Option(min=1, metavar="N", help="References wanted.")] = 1,
    industry: Annotated[
        str | None, typer.Option(help="Industry to search (default: the opportunity's).")
    ] = None,
    characteristics: Annotated[
        str | None, typer.Option(help="The ideal reference, in a few words.")
    ] = None,
    ae: Annotated[
        str | None, typer.Option(help="Account executive (default: the opportunity's owner).")
    ] = None,
) -> None:
    """Open a reference request (step 1) and write its alert and ask into the outbox.

    Example: cstool refs request --opportunity OPP-00002 --level VP --count 2
    --topics "Rollout to 40 clinics" --needed-by 2026-12-18
    """
    from cstool.refs import workflow as core

    new = core.NewRequest(
        opportunity, level, count, topics, needed_by, industry, characteristics, ae
    )
    ws = workspace()
    with errors_to_exit(), ws.open_store(write=True) as store:
        done = core.request(store, ws.resolved, _templates(ws), ws.outbox, new, now=_now())
    sys.stdout.write(done.request_id + "\n")
    where = ws.relative(done.outbox) if done.outbox else "the outbox"
    _say(done, f"opened as CTA {done.cta_id}; wrote {len(done.written)} email(s) to {where}")


@app.command("propose")
def propose(
    request_id: Annotated[str, typer.Argument(metavar="REQ", help="The request.")],
    accounts: Annotated[
        str | None,
        typer.Option(metavar="A,B", help="Accounts to propose (default: the top of refs find)."),
    ] = None,
) -> None:
    """Attach the candidates to a request (step 2: customer marketing aligns with the CSMs).

    Example: cstool refs propose REQ-0001 --accounts ACC-00007,ACC-00022
    """
    from cstool.refs import workflow as core

    chosen = [a for a in accounts.split(",") if a.strip()] if accounts else None
    ws = workspace()
    with errors_to_exit(), ws.open_store(write=True) as store:
        done = core.propose(store, ws.resolved, request_id, accounts=chosen, now=_now())
    for p in done.proposed:
        score = "" if p["score"] is None else f"  {p['score']:.1f}"
        sys.stdout.write(f"{p['account_id']}  {p['name']}{score}\n")
    _say(done, f"proposed {len(done.proposed)} candidate(s)")


@app.command("contact")
def contact(
    request_id: Annotated[str, typer.Argument(metavar="REQ", help="The request.")],
    account: Annotated[str, typer.Argument(metavar="ACCOUNT", help="The candidate asked.")],
    user: Annotated[
        str | None,
        typer.Option("--contact", metavar="USER", help="Who to ask (default: the best contact)."),
    ] = None,
) -> None:
    """Record that the CSM contacts the customer (step 3) and write the ask into the outbox.

    Example: cstool refs contact REQ-0001 ACC-00007
    """
    from cstool.refs import workflow as core

    ws = workspace()
    with errors_to_exit(), ws.open_store(write=True) as store:
        done = core.contact(
            store,
            ws.resolved,
            _templates(ws),
            ws.outbox,
            request_id,
            account,
            user_id=user,
            now=_now(),
        )
    where = ws.relative(done.outbox) if done.outbox else "the outbox"
    _say(done, f"the ask to {done.user_id} of {done.account_id} is in {where}")


@app.command("connect")
def connect(
    request_id: Annotated[str, typer.Argument(metavar="REQ", help="The request.")],
    account: Annotated[str, typer.Argument(metavar="ACCOUNT", help="The customer connected.")],
) -> None:
    """Record that the account executive connected the customer with the prospect (step 4).

    Example: cstool refs connect REQ-0001 ACC-00007
    """
    from cstool.refs import workflow as core

    ws = workspace()
    with errors_to_exit(), ws.open_store(write=True) as store:
        done = core.connect(store, request_id, account, now=_now())
    _say(done, f"{done.account_id} is connected with the prospect")


@app.command("occurred")
def occurred(
    request_id: Annotated[str, typer.Argument(metavar="REQ", help="The request.")],
    day: Annotated[date, date_option("--date", "The day it took place, YYYY-MM-DD.")],
    user: Annotated[
        str, typer.Option("--contact", metavar="USER", help="The contact who gave it.")
    ],
) -> None:
    """Record that the reference took place, on which day and with whom (step 5).

    Example: cstool refs occurred REQ-0001 --date 2026-12-08 --contact USR-000036
    """
    from cstool.refs import workflow as core

    ws = workspace()
    with errors_to_exit(), ws.open_store(write=True) as store:
        done = core.occurred(store, request_id, day=day, user_id=user, now=_now())
    _say(done, f"took place on {day} with {done.user_id} of {done.account_id}")


@app.command("confirm")
def confirm(request_id: Annotated[str, typer.Argument(metavar="REQ", help="The request.")]) -> None:
    """Record that the account executive confirmed the reference (step 6).

    Example: cstool refs confirm REQ-0001
    """
    from cstool.refs import workflow as core

    ws = workspace()
    with errors_to_exit(), ws.open_store(write=True) as store:
        done = core.confirm(store, ws.resolved, request_id, now=_now())
    _say(done, "confirmed by the account executive")


@app.command("record")
def record(request_id: Annotated[str, typer.Argument(metavar="REQ", help="The request.")]) -> None:
    """Record the reference (step 7): a Customer Reference milestone on the account's timeline.

    Example: cstool refs record REQ-0001
    """
    from cstool.refs import workflow as core

    ws = workspace()
    with errors_to_exit(), ws.open_store(write=True) as store:
        done = core.record(store, request_id, now=_now())
    _say(done, f"a Customer Reference milestone is on the timeline of {done.account_id}")


STATUS_TABLE = (
    Column("request_id", "request", "id"),
    Column("opportunity_id", "opportunity", "id", priority=2),
    Column("step", kind="number"),
    Column("step_name", "at", "id"),
    Column("next", kind="id", priority=1),
    Column("owner", kind="prose", min_width=12),
    Column("age_hours", "age (h)", "number"),
    Column("needed_by", "needed by", "id", priority=3),
)


@app.command("status")
def status(format: FormatOpt = Format.table) -> None:
    """List the open reference requests: step, next step, owner and age in hours.

    Example: cstool refs status --format csv
    """
    from cstool.refs import workflow as core

    ws = workspace()
    with errors_to_exit(), ws.open_store() as store:
        rows = core.status(store, ws.resolved, now=_now())
    if rows or format is not Format.table:
        title = "Open reference requests"
        render(rows, core.STATUS_COLUMNS, format, table=STATUS_TABLE, title=title)
    if not rows:
        message("No open reference requests")


@app.command("follow-up")
def follow_up(
    as_of: Annotated[
        date | None, date_option("--as-of", "The week's date, YYYY-MM-DD (default: today).")
    ] = None,
) -> None:
    """Write the weekly reminder to account executives about requests waiting on them.

    Example: cstool refs follow-up --as-of 2026-12-07
    """
    from cstool.refs import workflow as core

    ws = workspace()
    with errors_to_exit():
        with ws.open_store() as store:
            done = core.follow_up(
                store, ws.resolved, _templates(ws), ws.outbox, as_of=as_of or date.today()
            )
        for w in done.changed:
            sys.stdout.write(f"{ws.relative(w.path)}\n")
        what = f"follow-up email(s) for the week of {done.as_of}"
        same = f"{len(done.unchanged)} unchanged (the outbox already has them)"
        if done.changed or not done.unchanged:
            message(f"Wrote {len(done.changed)} {what}" + (f"; {same}" if done.unchanged else ""))
        else:
            message(f"{what.capitalize()}: {same}")
        done.check()


# -- report ----------------------------------------------------------------------------------


def _report_cell(column: str, value: Any, row: dict[str, Any]) -> str:
    from rich.markup import escape

    if value is None:
        return NONE
    if column == "win_rate":
        return pct(value)
    if column in ("influenced_amount", "won_amount", "pipeline", "amount", "open_amount"):
        return f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return escape(str(value))


# The report's tables at any width: ids and numbers stay whole, names give way, and the
# columns with a priority are dropped (lowest first) when even that does not fit.
GROUP_KEYS = {
    "quarter": Column("quarter", kind="id"),
    "segment": Column("segment", min_width=10),
    "csm": Column("csm", min_width=12),
}
COUNT_TABLE = (
    Column("references", "refs", "number"),
    Column("milestones", kind="number", priority=3),
    Column("accounts", kind="number", priority=2),
    Column("contacts", kind="number", priority=1),
    Column("opportunities", "opps", "number", priority=4),
    Column("influenced_amount", "influenced", "number"),
    Column("won_amount", "won", "number"),
)
# The sections after the grouped table: title, the report's attribute, the table's columns.
REPORT_SECTIONS: tuple[tuple[str, str, tuple[Column, ...]], ...] = (
    (
        "Customers who gave the most",
        "top_customers",
        (
            Column("account_id", "account", "id"),
            Column("name", min_width=12),
            Column("segment", min_width=10, priority=1),
            Column("csm", min_width=12, priority=2),
            Column("references", "refs", "number"),
            Column("pipeline", kind="number"),
        ),
    ),
    (
        "Contacts who gave the most",
        "top_contacts",
        (
            Column("user_id", "contact", "id"),
            Column("name", min_width=12),
            Column("account_id", "account", "id", priority=1),
            Column("references", "refs", "number"),
            Column("pipeline", kind="number"),
        ),
    ),
    (
        "Opportunities influenced",
        "influence",
        (
            Column("opportunities", "opps", "number"),
            Column("amount", kind="number"),
            Column("open", kind="number"),
            Column("open_amount", "open amount", "number"),
            Column("won", kind="number"),
            Column("won_amount", "won amount", "number"),
        ),
    ),
    (
        "Closed deals with and without references",
        "deals",
        (
            Column("references", "refs", "id"),
            Column("deals", kind="number"),
            Column("won", kind="number"),
            Column("win_rate", "win rate", "number"),
            Column("mean_cycle_days", "mean days", "number", priority=1),
            Column("median_cycle_days", "median days", "number"),
        ),
    ),
    (
        "References per CSM",
        "per_csm",
        (
            Column("csm", min_width=12),
            Column("references", "refs", "number"),
            Column("milestones", kind="number"),
            Column("accounts", kind="number", priority=2),
            Column("contacts", kind="number", priority=1),
        ),
    ),
    (
        "Time to fulfil a request (hours to candidates proposed)",
        "fulfil",
        (
            Column("requests", kind="number"),
            Column("proposed", kind="number"),
            Column("waiting", kind="number"),
            Column("median_hours", "median h", "number"),
            Column("p90_hours", "p90 h", "number"),
            Column("within_target", "in target", "number"),
            Column("target_hours", "target h", "number", priority=1),
        ),
    ),
)


@app.command("report")
def report(
    by: Annotated[
        By, typer.Option(case_sensitive=False, help="Group references by this.")
    ] = By.quarter,
    start: Annotated[
        date | None, date_option("--from", "First day, YYYY-MM-DD (default: all).")
    ] = None,
    end: Annotated[date | None, date_option("--to", "Last day, YYYY-MM-DD (default: all).")] = None,
    format: FormatOpt = Format.table,
) -> None:
    """Report references completed, pipeline influenced, deals with and without, fulfilment.

    Example: cstool refs report --by segment --from 2026-07-01 --to 2026-09-30
    """
    from cstool.refs import report as core

    ws = workspace()
    with errors_to_exit(), ws.open_store() as store:
        r = core.report(store, ws.resolved.config, by.value, start, end, as_of=date.today())
    if format is Format.json:
        sys.stdout.write(json.dumps(r.as_dict(), indent=2, ensure_ascii=False) + "\n")
        return
    grouped = (*(GROUP_KEYS[k] for k in core.GROUP_COLUMNS[r.by]), *COUNT_TABLE)
    title = _span(r, "References")
    render(r.groups, r.group_columns(), format, table=grouped, cell=_report_cell, title=title)
    if format is Format.csv:
        return
    for title, key, table in REPORT_SECTIONS:
        section = getattr(r, key)
        rows = section if isinstance(section, list) else [section]
        columns = [c.key for c in table]
        render(rows, columns, format, table=table, cell=_report_cell, title=title)


def _span(r: Any, what: str) -> str:
    span = f"{r.start or 'the start'} to {r.end or 'today'}" if (r.start or r.end) else "all time"
    return f"{what} by {r.by}, {span}"


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="refs")
