"""``cstool playbooks``: list, show and validate playbooks, and list their variables."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from cstool.commands import workspace_store
from cstool.console import (
    Column,
    Format,
    ShowFormat,
    errors_to_exit,
    message,
    out,
    render,
    warn,
)

app = typer.Typer(
    help="Playbooks: the rules that open CTAs (playbooks/*.yaml).\n\n"
    "Example: cstool playbooks validate",
    no_args_is_help=True,
)
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
LIST_COLUMNS = ("name", "type", "priority", "audience", "due_in", "tasks", "file")


@app.command("list")
def list_(format: FormatOpt = Format.table) -> None:
    """List the workspace's playbooks: type, priority, audience, due days and tasks.

    Example: cstool playbooks list --format csv
    """
    from cstool import playbooks
    from cstool.context import account_catalogue

    with errors_to_exit(), workspace_store() as (ws, store):
        found = playbooks.load(ws, account_catalogue(store))
    rows = [
        {
            "name": d.model.name,
            "type": d.model.type,
            "priority": d.model.priority,
            "audience": d.model.audience,
            "due_in": d.model.due_in,
            "tasks": len(d.model.tasks),
            "file": d.name,
        }
        for d in found
    ]
    render(
        rows,
        LIST_COLUMNS,
        format,
        title=f"Playbooks ({len(rows)})",
        table=[
            Column("name", kind="id"),
            Column("type", kind="id", priority=2),
            Column("priority", kind="id"),
            Column("audience", kind="prose", priority=1),
            Column("due_in", "due in", "number"),
            Column("tasks", kind="number", priority=0),
        ],
    )
    if not rows:
        message("No playbooks in playbooks/")


@app.command("show")
def show(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The playbook's name.")],
    format: Annotated[
        ShowFormat, typer.Option("--format", "-f", help="Output format: table or json.")
    ] = ShowFormat.table,
) -> None:
    """Show one playbook: its conditions, reason, owner, due days and tasks.

    Example: cstool playbooks show renewal-at-risk
    """
    import json

    from cstool import playbooks
    from cstool.context import account_catalogue

    with errors_to_exit(), workspace_store() as (ws, store):
        found = playbooks.find(playbooks.load(ws, account_catalogue(store)), name)
    pb = found.model
    if format is ShowFormat.json:
        out.print_json(json.dumps({**pb.model_dump(), "file": found.name}, ensure_ascii=False))
        return
    out.print(f"[bold]{escape(pb.name)}[/] ({pb.type}, {pb.priority}) from {found.name}")
    if pb.description:
        out.print(escape(pb.description))
    for key in ("audience", "when", "close_when", "reason"):
        value = getattr(pb, key)
        if value is not None:
            out.print(f"[bold]{key}:[/] {escape(' '.join(value.split()))}")
    cooldown = f"; cooldown {pb.cooldown_days} days" if pb.cooldown_days else ""
    out.print(f"[bold]owner:[/] {pb.owner}; due in {pb.due_in} business days{cooldown}")
    render(
        [
            {"n": i, "title": t.title, "due_in": t.due_in, "email_assist": t.email_assist}
            for i, t in enumerate(pb.tasks, start=1)
        ],
        ("n", "title", "due_in", "email_assist"),
        Format.table,
        title="Tasks",
        table=[
            Column("n", kind="number"),
            Column("title", kind="prose"),
            Column("due_in", "due in", "number"),
            Column("email_assist", "email assist", priority=1),
        ],
    )


@app.command("validate")
def validate() -> None:
    """Check every playbook: keys, conditions, owner, and that reasons and assists render.

    Example: cstool playbooks validate
    """
    from cstool import playbooks

    with errors_to_exit(), workspace_store() as (ws, store):
        result = playbooks.validate(ws, store)
    for w in result.warnings:
        warn(w)
    n, k = len(result.playbooks), len(result.warnings)
    message(
        f"{n} playbook{'s' if n != 1 else ''} valid; {result.assists} email "
        f"assist{'s' if result.assists != 1 else ''} rendered for a full and a sparse "
        "sample account" + (f"; {k} warning{'s' if k != 1 else ''}" if k else "")
    )


@app.command("vars")
def vars_(format: FormatOpt = Format.table) -> None:
    """List the variables conditions and reasons can use, with the workspace's attributes.

    Example: cstool playbooks vars --format csv
    """
    from cstool.context import account_catalogue

    with errors_to_exit(), workspace_store() as (_ws, store):
        catalogue = account_catalogue(store)
    rows = [
        {
            "name": v.name,
            "group": v.group,
            "type": v.type,
            "example": v.example,
            "description": v.description,
        }
        for v in catalogue
    ]
    render(
        rows,
        ("name", "group", "type", "example", "description"),
        format,
        title="Condition variables (missing values are none: compare with `is none`)",
        table=[
            Column("name", kind="id"),
            Column("group", kind="id", priority=1),
            Column("type", min_width=10, priority=2),
            Column("example", kind="id", priority=0),
            Column("description", kind="prose", min_width=30),
        ],
    )


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="playbooks")
