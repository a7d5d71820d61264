"""Every command has help with an example, and is documented in the README."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from cstool.cli import app

README = Path(__file__).parents[1] / "README.md"


def _walk(command: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], bool]]:
    """(path, is_group) of every visible command below ``command``."""
    found = []
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        if getattr(sub, "hidden", False):
            continue
        group = hasattr(sub, "commands")
        found.append(((*path, name), group))
        if group:
            found += _walk(sub, (*path, name))
    return found


COMMANDS = _walk(typer.main.get_command(app))
LEAVES = [p for p, group in COMMANDS if not group]
IDS = [" ".join(p) for p, _ in COMMANDS]


def test_the_walk_finds_the_foundation_commands() -> None:
    """The walk reaches top-level commands and commands inside groups."""
    paths = {p for p, _ in COMMANDS}
    assert {("init",), ("load",), ("status",), ("config", "show"), ("sample", "generate")} <= paths


@pytest.mark.parametrize(("path", "group"), COMMANDS, ids=IDS)
def test_help(path: tuple[str, ...], group: bool) -> None:
    """--help exits 0, prints to stdout, and a command's help carries an example."""
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0
    assert result.stderr == ""
    assert "Usage: " in result.stdout
    if not group:
        assert "Example" in result.stdout


def test_root_help() -> None:
    """cstool --help lists the commands and an example."""
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "Example" in result.stdout
    for path in COMMANDS:
        if len(path[0]) == 1:
            assert path[0][0] in result.stdout


@pytest.mark.parametrize(("path", "group"), COMMANDS, ids=IDS)
def test_documented_in_readme(path: tuple[str, ...], group: bool) -> None:
    """Each command path appears in the README as `cstool <path>`."""
    assert f"cstool {' '.join(path)}" in README.read_text(encoding="utf-8")


# -- how help reads ------------------------------------------------------------------------
ROOT = typer.main.get_command(app)


def _help(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0
    return result.stdout


def _command(path: tuple[str, ...]) -> Any:
    command = ROOT
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    return command


def _options(path: tuple[str, ...]) -> list[Any]:
    command = _command(path)
    return [p for p in command.get_params(typer.Context(command)) if p.param_type_name == "option"]


@pytest.mark.parametrize("path", [(), *(p for p, _ in COMMANDS)], ids=["cstool", *IDS])
def test_help_has_no_type_column_and_no_braces(path: tuple[str, ...]) -> None:
    """No <bool>/<int>/<str> beside parameters; arguments in the usage line are bare names."""
    text = _help(path)
    assert re.search(r"<[a-z][a-z |]*>", text) is None, text
    usage = next(line for line in text.splitlines() if "Usage:" in line)
    assert "{" not in usage and "}" not in usage


@pytest.mark.parametrize(
    ("path", "usage"),
    [
        (("load",), "Usage: cstool load [OPTIONS] KIND FILE"),
        (("init",), "Usage: cstool init [OPTIONS] DIR"),
        (("demo",), "Usage: cstool demo [OPTIONS] [DIR]"),
        (("score", "explain"), "Usage: cstool score explain [OPTIONS] ACCOUNT"),
    ],
)
def test_arguments_read_as_upper_case_names(path: tuple[str, ...], usage: str) -> None:
    """Required arguments as KIND FILE, an optional one in square brackets."""
    assert usage in _help(path)


def test_flags_show_no_value_and_no_negative_form() -> None:
    """--allow-rejects is a flag: no type, no --no-allow-rejects, no default."""
    line = next(ln for ln in _help(("load",)).splitlines() if "--allow-rejects" in ln)
    assert "--no-allow-rejects" not in line
    assert "default" not in line
    assert re.search(r"--allow-rejects\s+Load the good rows", line)


PATHS = [p for p, _ in COMMANDS]
FORMATTED = [p for p in PATHS if any("--format" in o.opts for o in _options(p))]


@pytest.mark.parametrize(
    ("path", "option", "choices"),
    [
        (("load",), "--mode", "[upsert|replace]"),
        (("changes",), "--by", "[segment|csm]"),
        *((p, "--format", "[table|") for p in FORMATTED),
    ],
)
def test_choices_are_listed(path: tuple[str, ...], option: str, choices: str) -> None:
    """An option with fixed choices lists them beside its name (--format: table|csv|json, or
    table|json where CSV does not fit)."""
    # A command with a required option marks it with "*" in a column of its own.
    line = next(ln for ln in _help(path).splitlines() if re.match(rf"│ (\* )?\s*{option} ", ln))
    assert choices in line


def test_listing_commands_take_format() -> None:
    """The listing commands all have --format (the choices test covers each of them)."""
    assert {" ".join(p) for p in FORMATTED} >= {
        "status",
        "score",
        "changes",
        "thresholds show",
        "thresholds calibrate",
        "config show",
    }


DATE_FLAGS = {"--as-of", "--from", "--to", "--end"}


def test_dates_read_as_dates() -> None:
    """Every date option has metavar DATE and says its format, YYYY-MM-DD."""
    found = 0
    for path in PATHS:
        for option in _options(path):
            if DATE_FLAGS & set(option.opts):
                found += 1
                assert option.metavar == "DATE", (path, option.opts)
                assert "YYYY-MM-DD" in option.help, (path, option.opts)
                assert re.search(r"--\S+\s+DATE\s", _help(path))
    assert found >= 7  # score, backfill (2), explain, calibrate, changes, sample generate


def test_root_help_lists_commands_in_workflow_order() -> None:
    """init, load, status, score, changes, thresholds ... config, demo, sample."""
    text = _help(())
    listed = re.findall(r"^│ ([a-z]+) ", text.split("Commands")[1], flags=re.MULTILINE)
    first = ["init", "load", "status", "score", "changes", "thresholds"]
    assert listed[: len(first)] == first
    assert listed[-3:] == ["config", "demo", "sample"]  # setup and samples come last


@pytest.mark.parametrize(
    ("command", "option", "choices"),
    [("load", "--mode", "upsert|replace"), ("changes", "--by", "segment|csm")],
)
def test_readme_lists_the_same_choices(command: str, option: str, choices: str) -> None:
    """The command reference shows a choice option with the choices its help lists."""
    row = next(
        line
        for line in README.read_text(encoding="utf-8").splitlines()
        if line.startswith(f"| `cstool {command} ")
    )
    assert f"{option} {choices.replace('|', chr(92) + '|')}" in row
    assert f"[{choices}]" in _help((command,))
