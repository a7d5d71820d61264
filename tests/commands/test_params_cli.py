"""Shared parameters: every date option refuses a bad date with exit 1 and a plain message."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cstool.cli import app
from cstool.workspace import init_workspace

# Every command's date options, with the arguments the command needs besides.
DATE_OPTIONS = [
    (["score"], "--as-of"),
    (["score", "backfill"], "--from"),
    (["score", "backfill"], "--to"),
    (["score", "explain", "A1"], "--as-of"),
    (["thresholds", "calibrate"], "--as-of"),
    (["changes"], "--as-of"),
    (["sample", "generate", "out"], "--end"),
]


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
