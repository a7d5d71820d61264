"""Account commands: ``account show`` (the 360) and ``account emails``."""

from __future__ import annotations

import json
import re
import sys
from datetime import date
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import typer

from cstool.commands import workspace
from cstool.commands.params import date_option
from cstool.console import (
    BAND_STYLES,
    Column,
    Format,
    band_text,
    errors_to_exit,
    message,
    out,
    pct,
    plain_cell,
    render,
    warn,
)

if TYPE_CHECKING:
    from rich.table import Table

    from cstool.account360 import Account360, TrendPoint

app = typer.Typer(help="One account at a glance.", no_args_is_help=True)


class ShowFormat(str, Enum):
    """Output formats of ``account show``: the page, or the whole object as JSON."""

    table = "table"
    json = "json"


@app.command("show")
def show(
    account: Annotated[str, typer.Argument(help="Account ID.", show_default=False)],
    as_of: Annotated[
        date | None,
        date_option("--as-of", "Date to look from, YYYY-MM-DD (default: latest usage day)."),
    ] = None,
    format: Annotated[ShowFormat, typer.Option("--format", "-f", help="Output format.")] = (
        ShowFormat.table
    ),
) -> None:
    """Show an account's 360: adoption, users, NPS, references, contacts, emails, CTAs, timeline.

    Example: cstool account show ACC-00042 --as-of 2026-11-20
    """
    from cstool.account360 import account_360

    ws = workspace()
    with errors_to_exit(), ws.open_store() as store:
        a = account_360(store, ws.resolved.config, account, as_of=as_of, today=date.today())
    for w in a.warnings:
        warn(w)
    if format is ShowFormat.json:
        sys.stdout.write(json.dumps(a.as_dict(), indent=2, ensure_ascii=False) + "\n")
    else:
        render_360(a)


# Addresses stay whole; the subject, then the least telling columns give way at 80 columns.
EMAIL_TABLE = (
    Column("day", kind="id"),
    Column("journey", min_width=8, priority=6),
    Column("step", kind="id", priority=5),
    Column("variant", "var", kind="id", priority=1),
    Column("recipient", kind="id"),
    Column("subject", min_width=12, priority=2),
    Column("outcome", kind="id"),
    Column("opened", kind="id", priority=4),
    Column("clicked", kind="id", priority=3),
)


@app.command("emails")
def emails(
    account: Annotated[str, typer.Argument(help="Account ID.", show_default=False)],
    format: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = (
        Format.table
    ),
) -> None:
    """List the journey emails an account's people received: when, which variant, opened.

    Example: cstool account emails ACC-00042
    """
    from cstool.journeys.stats import EMAIL_COLUMNS, account_emails

    ws = workspace()
    with errors_to_exit():
        rows = account_emails(ws, account)
    render(
        rows,
        EMAIL_COLUMNS,
        format,
        table=EMAIL_TABLE,
        title=f"Journey emails to {account}",
        cell=lambda c, v, r: ("yes" if v else "") if isinstance(v, bool) else plain_cell(c, v, r),
    )
    if not rows:
        message(f"No journey emails to {account} yet")


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(points: list[TrendPoint]) -> str:
    """One block per week, its height the value and its colour the band."""
    marks = []
    for p in points:
        if p.value is None:
            marks.append("[dim]·[/]")
            continue
        block = SPARKS[min(len(SPARKS) - 1, max(0, round(p.value * (len(SPARKS) - 1))))]
        style = BAND_STYLES.get(p.band or "", "dim")
        marks.append(f"[{style}]{block}[/]")
    return "".join(marks)


def _grid() -> Table:
    from rich.table import Table

    t = Table.grid(padding=(0, 1))
    t.add_column(style="bold", no_wrap=True, min_width=10)
    t.add_column()
    return t


# Spaces that end a line, before any closing style codes: Rich pads grid cells to their width.
_TRAILING = re.compile(r" +((?:\x1b\[[0-9;]*m)*)$", re.M)


def render_360(a: Account360) -> None:
    """The 360 as a page for a terminal: readable at 80 columns and when piped."""
    with out.capture() as page:
        _page(a)
    sys.stdout.write(_TRAILING.sub(r"\1", page.get()))


def _page(a: Account360) -> None:
    from rich.markup import escape

    p = a.account
    out.print(f"[bold]{escape(a.account_id)} {escape(a.name)}[/]  [dim]as of {a.as_of}[/]")
    facts = [
        p.get("segment"),
        p.get("industry"),
        p.get("region"),
        f"{p['employees']:,} employees" if p.get("employees") is not None else None,
        f"ARR {p['arr']:,.0f}" if p.get("arr") is not None else None,
        f"CSM {p['csm']}" if p.get("csm") else "no CSM",
    ]
    life = [
        f"stage {p['lifecycle_stage']}" if p.get("lifecycle_stage") else None,
        f"onboarded {p['onboarding_date']}" if p.get("onboarding_date") else None,
        _renewal(p.get("renewal_date"), p.get("days_to_renewal")),
        None if p.get("active") else "[red]inactive[/]",
    ]
    g = _grid()
    g.add_row("Account", escape(" · ".join(str(f) for f in facts if f)))
    g.add_row("", " · ".join(f for f in life if f) or "[dim]no lifecycle dates[/]")
    out.print(g)

    from rich.table import Table

    t = Table.grid(padding=(0, 1))
    t.add_column(style="bold", no_wrap=True, min_width=10)
    t.add_column(justify="right", no_wrap=True)
    t.add_column(no_wrap=True, min_width=6)
    t.add_column(no_wrap=True)
    for m in a.measures:
        t.add_row(m.measure, pct(m.value), band_text(m.band), sparkline(m.trend))
    weeks = [pt.as_of for m in a.measures for pt in m.trend]
    span = f"8 weeks: {min(weeks)}..{max(weeks)}" if weeks else "no snapshots yet"
    out.print(f"\n[bold]Adoption[/] [dim](value, band, {span})[/]")
    out.print(t)

    d = a.as_dict()
    g = _grid()
    users = d["users"]
    if users["activated"] is not None:
        lic = "n/a" if users["licenses"] is None else f"{users['licenses']:,.0f}"
        window = "..".join(users["active_window"])
        g.add_row(
            "Users",
            f"{lic} licenses · {users['activated']:,} activated · "
            f"{users['active']:,} active ({window})",
        )
        feats = d["features"]
        n_used, n_all = len(feats["used"]), len(feats["used"]) + len(feats["unused"])
        used = ", ".join(f"{escape(f)} {feats['users'][f]:,}" for f in feats["used"])
        g.add_row(
            "Features",
            f"{n_used} of {n_all} used ({'..'.join(feats['window'])}): {used or 'none'}",
        )
        g.add_row("", f"not used: {escape(', '.join(feats['unused'])) or 'none'}")
    g.add_row("NPS", _nps(a))
    refs = d["references"]
    g.add_row(
        "References",
        f"{refs['count']} given"
        + (f", the last on {refs['last']}" if refs["last"] else "")
        + (f"; {refs['in_progress']} in progress" if refs["in_progress"] else ""),
    )
    g.add_row("Contacts", _contacts(a))
    g.add_row("Emails", _emails(a))
    g.add_row("CTAs", _ctas(a))
    out.print()
    out.print(g)

    out.print(
        f"\n[bold]Timeline[/] [dim](latest {len(a.timeline)} of {a.timeline_total}; "
        f"`cstool timeline {escape(a.account_id)}` for all)[/]"
    )
    if a.timeline:
        tl = Table.grid(padding=(0, 1))
        tl.add_column(no_wrap=True)
        tl.add_column(no_wrap=True)
        tl.add_column()
        for e in a.timeline:
            tl.add_row(str(e.date), e.type, escape(e.text))
        out.print(tl)
    if a.timeline_newer:
        out.print(f"[dim]{newer_entries(a.timeline_newer, a.as_of)}[/]")
    for note in a.notes:
        out.print(f"[dim]{escape(note)}[/]")


def newer_entries(n: int, as_of: date) -> str:
    """The hint that entries dated after ``as_of`` are not shown."""
    return f"{n} newer timeline entr{'ies' if n != 1 else 'y'} after {as_of} (use --as-of)"


def _emails(a: Account360) -> str:
    """The latest journey emails, one a line: day, journey/step, recipient, opened/clicked."""
    from rich.markup import escape

    if not a.emails:
        return "[dim]no journey emails[/]"
    lines = []
    for e in a.emails:
        seen = ", ".join(w for w in ("opened", "clicked") if e[w])
        step = f"{e['step']} {e['variant']}" if e["variant"] else e["step"]
        lines.append(
            f"{e['day']} {escape(str(e['journey']))}/{escape(str(step))} to "
            f"{escape(str(e['recipient']))}" + (f" ({seen})" if seen else "")
        )
    if a.emails_total > len(a.emails):
        lines.append(
            f"[dim]... {a.emails_total} in all: `cstool account emails {escape(a.account_id)}`[/]"
        )
    return "\n".join(lines)


def _ctas(a: Account360) -> str:
    """The open CTAs, one a line: playbook, priority, due date and reason."""
    from rich.markup import escape

    if not a.ctas:
        return "[dim]none open[/]"
    overdue = a.as_of.isoformat()
    lines = []
    for c in a.ctas:
        due = f"[red]due {c['due_on']}[/]" if c["due_on"] < overdue else f"due {c['due_on']}"
        lines.append(
            f"{escape(c['playbook'])} ({escape(c['priority'])}, {due}): {escape(c['reason'])}"
        )
    return "\n".join(lines)


def _renewal(renewal: str | None, days: int | None) -> str | None:
    if not renewal or days is None:
        return None
    when = f"in {days} days" if days >= 0 else f"{-days} days ago"
    colour = "red" if 0 <= days <= 90 else ""
    return f"[{colour}]renewal {renewal} ({when})[/]" if colour else f"renewal {renewal} ({when})"


def _nps(a: Account360) -> str:
    from rich.markup import escape

    n = a.nps
    if not n:
        return "[dim]no responses[/]"
    who = ", ".join(x for x in (n.get("name"), n.get("role")) if x)
    text = f"{n['score']} ({n['category']}) on {n['date']}" + (
        f" from {escape(who)}" if who else ""
    )
    total = n["responses"]
    return text + f"; {total} response{'s' if total != 1 else ''}"


def _contacts(a: Account360, per_role: int = 3) -> str:
    """Per role: how many, the advocates (*) first, then the most senior, a few names."""
    from rich.markup import escape

    if not a.contacts:
        return "[dim]none[/]"
    roles: dict[str, list[str]] = {}
    order: dict[str, list[bool]] = {}
    for c in a.contacts:
        role = c.role or "no role"
        label = escape(c.name) + ("*" if c.advocate else "") + (f" ({c.level})" if c.level else "")
        roles.setdefault(role, []).append(label)
        order.setdefault(role, []).append(c.advocate)
    lines = []
    for role, names in roles.items():
        flags = order[role]
        ranked = [n for n, adv in zip(names, flags, strict=True) if adv] + [
            n for n, adv in zip(names, flags, strict=True) if not adv
        ]
        more = len(ranked) - per_role
        shown = ", ".join(ranked[:per_role]) + (f" and {more} more" if more > 0 else "")
        lines.append(f"{escape(role)} ({len(names)}): {shown}")
    if any(c.advocate for c in a.contacts):
        lines.append("[dim]* advocate[/]")
    return "\n".join(lines)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="account")
