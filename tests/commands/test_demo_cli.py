"""`cstool demo`: builds a workspace, and --force rebuilds only what the demo built."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cstool.cli import app
from cstool.workspace import init_workspace


def test_demo_builds_a_marked_workspace_and_force_rebuilds_it(tmp_path: Path) -> None:
    """The demo runs end to end; a second run needs --force and then rebuilds the folder."""
    runner = CliRunner()
    first = runner.invoke(app, ["demo", str(tmp_path / "d")])
    assert first.exit_code == 0, first.stderr
    assert (tmp_path / "d" / ".cstool-demo").is_file()
    (tmp_path / "d" / "leftover.txt").write_text("x")
    again = runner.invoke(app, ["demo", str(tmp_path / "d")])
    assert again.exit_code == 1
    assert "already exists" in again.stderr
    forced = runner.invoke(app, ["demo", str(tmp_path / "d"), "--force"])
    assert forced.exit_code == 0, forced.stderr
    assert not (tmp_path / "d" / "leftover.txt").exists()


def test_force_never_deletes_a_workspace_the_demo_did_not_build(tmp_path: Path) -> None:
    """A real workspace with the user's files survives `demo --force`."""
    init_workspace(tmp_path / "real")
    mine = tmp_path / "real" / "q3-report.csv"
    mine.write_text("precious")
    result = CliRunner().invoke(app, ["demo", str(tmp_path / "real"), "--force"])
    assert result.exit_code == 1
    assert "was not built by `cstool demo`" in result.stderr
    assert mine.read_text() == "precious"


def test_demo_never_writes_to_the_workspace_in_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With CSTOOL_WORKSPACE pointing at a real workspace, the demo still loads its own."""
    init_workspace(tmp_path / "real")
    before = (tmp_path / "real" / "cstool.db").read_bytes()
    monkeypatch.setenv("CSTOOL_WORKSPACE", str(tmp_path / "real"))
    result = CliRunner().invoke(app, ["demo", str(tmp_path / "d")])
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "real" / "cstool.db").read_bytes() == before
    assert "Loaded 214 accounts" in result.stderr
