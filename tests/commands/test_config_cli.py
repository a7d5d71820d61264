"""``cstool config show`` through the CLI."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

import pytest
from typer.testing import Result

from cstool.workspace import Workspace

Cli = Callable[..., Result]


def _settings(result: Result) -> dict[str, dict[str, object]]:
    return {s["key"]: s for s in json.loads(result.stdout)}


def test_show_json_names_the_env_source(cli: Cli, ws: Workspace) -> None:
    """An environment override shows its value and the variable it came from."""
    result = cli(
        "-w", "ws", "config", "show", "--format", "json",
        env={"CSTOOL_METRICS_DEPTH_WINDOW_DAYS": "28"},
    )  # fmt: skip
    assert result.exit_code == 0
    assert result.stderr == ""
    settings = _settings(result)
    assert settings["metrics.depth_window_days"] == {
        "key": "metrics.depth_window_days",
        "value": 28,
        "source": "env CSTOOL_METRICS_DEPTH_WINDOW_DAYS",
    }
    assert settings["metrics.breadth_window_days"]["source"] == "cstool.yaml"
    assert settings["sender.reply_to"] == {
        "key": "sender.reply_to",
        "value": None,
        "source": "default",
    }


def test_show_json_without_env(cli: Cli, ws: Workspace) -> None:
    """Without overrides the file's values are shown with the file as their source."""
    result = cli("-w", "ws", "config", "show", "--format", "json")
    assert result.exit_code == 0
    setting = _settings(result)["metrics.depth_window_days"]
    assert (setting["value"], setting["source"]) == (7, "cstool.yaml")


def test_show_csv_columns(cli: Cli, ws: Workspace) -> None:
    """--format csv has the columns key, value, source."""
    result = cli("-w", "ws", "config", "show", "--format", "csv")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "key,value,source"
    table = {r["key"]: r for r in csv.DictReader(io.StringIO(result.stdout))}
    assert table["company"] == {"key": "company", "value": "Acme", "source": "cstool.yaml"}


def test_show_csv_and_json_values_are_data(cli: Cli, ws: Workspace) -> None:
    """CSV: text as is, JSON text for the rest, empty for none; JSON: null; table: (none)."""
    rows = {
        r["key"]: r["value"]
        for r in csv.DictReader(
            io.StringIO(cli("-w", "ws", "config", "show", "--format", "csv").stdout)
        )
    }
    assert [rows[k] for k in ("sender.reply_to", "sending.starttls", "metrics.features")] == [
        "",
        "false",
        "[]",
    ]
    assert rows["metrics.composite.weights.depth"] == "1.0"
    settings = _settings(cli("-w", "ws", "config", "show", "--format", "json"))
    assert settings["sender.reply_to"]["value"] is None
    assert settings["sending.starttls"]["value"] is False
    table = cli("-w", "ws", "config", "show").stdout
    reply_to = next(line for line in table.splitlines() if "sender.reply_to" in line)
    assert "(none)" in reply_to


def test_show_table(cli: Cli, ws: Workspace) -> None:
    """The table is titled with the config path and shows values as JSON."""
    result = cli("-w", "ws", "config", "show")
    assert result.exit_code == 0
    assert result.stderr == ""
    assert result.stdout.splitlines()[0] == str(ws.config_path)
    assert "metrics.depth_window_days" in result.stdout
    assert '"Acme"' in result.stdout


def test_unknown_key(cli: Cli, ws: Workspace) -> None:
    """An unknown key fails with exit 1, naming the file, line and key path."""
    ws.config_path.write_text(
        "version: 1\nmetrics:\n  depth_window_days: 7\n  bogus: 3\n", encoding="utf-8"
    )
    result = cli("-w", "ws", "config", "show")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "Error: cstool.yaml: line 4: metrics.bogus: unknown key\n"
        "hint: fix the key in cstool.yaml; the README's Configuration section lists the settings\n"
    )


def test_invalid_yaml(cli: Cli, ws: Workspace) -> None:
    """Invalid YAML fails with exit 1 and the line of the problem."""
    ws.config_path.write_text('version: 1\ncompany: "Acme\nmetrics: {}\n', encoding="utf-8")
    result = cli("-w", "ws", "config", "show")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("Error: cstool.yaml: line ")
    assert "not valid YAML" in result.stderr
    assert "hint: fix the YAML syntax" in result.stderr


def test_bad_env_value(cli: Cli, ws: Workspace) -> None:
    """An invalid environment override fails with exit 1 and names the variable."""
    result = cli(
        "-w", "ws", "config", "show", env={"CSTOOL_SENDING_SMTP_PORT": "many"}
    )  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "Error: environment variable CSTOOL_SENDING_SMTP_PORT: sending.smtp_port: "
    )
    assert result.stderr.endswith("hint: fix or unset CSTOOL_SENDING_SMTP_PORT\n")


@pytest.mark.parametrize("command", [["status"], ["load", "accounts", "a.csv"]])
def test_bad_config_stops_every_command(cli: Cli, ws: Workspace, command: list[str]) -> None:
    """A broken cstool.yaml is reported by any command that opens the workspace."""
    ws.config_path.write_text("version: 1\nexports:\n  acounts: {}\n", encoding="utf-8")
    (ws.root.parent / "a.csv").write_text("account_id,name\nA1,Acme\n", encoding="utf-8")
    result = cli("-w", "ws", *command)
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "Error: cstool.yaml: line 3: exports.acounts: unknown export kind\n"
    )


def test_show_outside_a_workspace(cli: Cli) -> None:
    """config show outside a workspace fails with exit 1 and a hint."""
    result = cli("config", "show")
    assert result.exit_code == 1
    assert "no cstool workspace here" in result.stderr
    assert "hint: " in result.stderr


def test_config_that_is_not_utf8(cli: Cli, ws: Workspace) -> None:
    """A cstool.yaml saved in another encoding fails with exit 1 naming the file and line."""
    ws.config_path.write_bytes("version: 1\ncompany: Café\n".encode("cp1252"))
    result = cli("-w", "ws", "config", "show")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "Error: cstool.yaml: line 2: not UTF-8 text: byte 0xE9 at column 13 cannot be decoded\n"
        "hint: save the file as UTF-8 (most editors offer it under 'Save with encoding')\n"
    )


def test_bad_value_is_not_called_a_bad_key(cli: Cli, ws: Workspace) -> None:
    """A wrong value is reported as a value to fix, not as a key."""
    ws.config_path.write_text("version: 1\nsending:\n  smtp_port: many\n", encoding="utf-8")
    result = cli("-w", "ws", "config", "show")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: cstool.yaml: line 3: sending.smtp_port: ")
    assert result.stderr.endswith(
        "hint: fix the value in cstool.yaml; "
        "the README's Configuration section lists the settings\n"
    )
    assert "key" not in result.stderr.splitlines()[0]


def test_misspelt_key_suggests_the_known_one(cli: Cli, ws: Workspace) -> None:
    """An unknown key close to a known one names it in the hint."""
    ws.config_path.write_text("version: 1\nmetrics:\n  depth_window_day: 7\n", encoding="utf-8")
    result = cli("-w", "ws", "config", "show")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: cstool.yaml: line 3: metrics.depth_window_day: unknown key\n"
        "hint: fix the key in cstool.yaml (did you mean depth_window_days?); "
        "the README's Configuration section lists the settings\n"
    )
