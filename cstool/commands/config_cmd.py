"""``cstool config``: inspect the resolved configuration."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from cstool.commands import workspace
from cstool.console import Format, errors_to_exit, render

app = typer.Typer(help="Inspect the workspace configuration (cstool.yaml).", no_args_is_help=True)


@app.command("show")
def show(
    format: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
) -> None:
    """Print every resolved setting and where its value came from.

    Example: CSTOOL_METRICS_DEPTH_WINDOW_DAYS=28 cstool config show
    """
    with errors_to_exit():
        ws = workspace()
    rows = [
        {"key": s.key, "value": _value(s.value, format), "source": s.source}
        for s in ws.resolved.settings
    ]
    render(rows, ["key", "value", "source"], format, title=f"{ws.config_path}")


def _value(value: Any, format: Format) -> Any:
    """JSON keeps the value; a CSV cell is the text itself, or JSON text for anything else."""
    if format is Format.json or value is None:
        return value
    if format is Format.csv and isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)
