"""Shared parameters: every date option of every command refuses a bad date with exit 1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer
import typer.main
from typer.testing import CliRunner

from cstool.cli import app
from cstool.workspace import init_workspace

# The arguments a command needs besides its options.
ARGUMENTS = {
    ("score", "explain"): ["A1"],
    ("sample", "generate"): ["out"],
    ("account", "show"): ["A1"],
    ("timeline",): ["A1"],
    ("timeline", "show"): ["A1"],
    ("timeline", "add"): ["A1", "--type", "note", "--subject", "Kick-off"],
}


def _date_options(command: Any, path: tuple[str, ...] = ()) -> list[tuple[list[str], str]]:
    """(command words, flag) of every option of every command whose metavar is DATE."""
    found = []
    ctx = typer.Context(command)
    for p in command.get_params(ctx):
        if p.param_type_name == "option" and p.metavar == "DATE":
            found.append(([*path, *ARGUMENTS.get(path, [])], p.opts[0]))
    for name, sub in getattr(command, "commands", {}).items():
        found += _date_options(sub, (*path, name))
    return found


DATE_OPTIONS = _date_options(typer.main.get_command(app))


def test_every_date_option_is_found() -> None:
    """The walk reaches the date options of the adoption and sample commands."""
    assert {(" ".join(c), f) for c, f in DATE_OPTIONS} >= {
        ("score", "--as-of"),
        ("score backfill", "--from"),
        ("score backfill", "--to"),
        ("score explain A1", "--as-of"),
        ("thresholds calibrate", "--as-of"),
        ("changes", "--as-of"),
        ("sample generate out", "--end"),
    }


@pytest.mark.parametrize(("command", "flag"), DATE_OPTIONS, ids=lambda x: " ".join(x))
@pytest.mark.parametrize("value", ["2026-13-01", "2026-1-5", "20/11/2026", "tomorrow"])
def test_bad_date_is_exit_1_with_a_plain_message(
    tmp_path: Path, command: list[str], flag: str, value: str
) -> None:
    """A bad date is bad input: exit 1, one error line and a hint, no usage text."""
    init_workspace(tmp_path / "ws")
    result = CliRunner().invoke(app, ["-w", "ws", *command, flag, value])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: {flag} {value!r} is not a date in the form YYYY-MM-DD\n"
        f"hint: e.g. {flag} 2026-11-20\n"
    )
    assert not (tmp_path / "out").exists()


def test_a_good_date_reaches_the_command(tmp_path: Path) -> None:
    """sample generate --end 2025-02-28 ends the usage on that day."""
    result = CliRunner().invoke(
        app, ["sample", "generate", "out", "--accounts", "3", "--days", "2", "--end", "2025-02-28"]
    )
    assert result.exit_code == 0, result.stderr
    assert "(usage ends 2025-02-28)" in result.stderr
    usage = (tmp_path / "out" / "usage.csv").read_text(encoding="utf-8").splitlines()
    dates = {line.split(",")[0] for line in usage[1:]}
    assert dates == {"2025-02-27", "2025-02-28"}
