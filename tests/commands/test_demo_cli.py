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
    # The demo ends with the CTAs the shipped playbooks open on the sample data.
    assert "$ cstool cta generate --limit 5" in first.stderr
    assert "opened 125, updated 0, closed 0 CTAs on 2026-11-20" in first.stderr
    assert "CTAs on " in first.stdout and "(10 of 125)" in first.stdout
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


def test_demo_stops_at_a_failing_step_with_its_exit_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A step that fails ends the demo with that step's exit code; later steps do not run."""
    from cstool import demo as core

    real = core.steps

    def failing(root: Path) -> list[core.Step]:
        init, *_ = real(root)
        where = ("--workspace", str(root))
        bad = ("score", "explain", "NOPE")
        return [init, core.Step(bad, (*where, *bad)), core.Step(("status",), (*where, "status"))]

    monkeypatch.setattr(core, "steps", failing)
    result = CliRunner().invoke(app, ["demo", str(tmp_path / "d")])
    assert result.exit_code == 1
    assert "$ cstool score explain NOPE" in result.stderr
    assert "$ cstool status" not in result.stderr


def test_demo_shows_commands_as_typed_in_the_workspace_and_stays_in_the_folder(
    tmp_path: Path,
) -> None:
    """The demo prints `cstool load accounts data/accounts.csv` and never changes folder."""
    here = Path.cwd()
    result = CliRunner().invoke(app, ["demo", str(tmp_path / "d")])
    assert result.exit_code == 0, result.stderr
    assert Path.cwd() == here
    assert "$ cstool load accounts data/accounts.csv\n" in result.stderr
    assert "$ cstool status\n" in result.stderr


def test_demo_previews_a_journey(tmp_path: Path) -> None:
    """The demo ends with a journey's dry run and says where the previews are."""
    import mailbox

    result = CliRunner().invoke(app, ["demo", str(tmp_path / "d")])
    assert result.exit_code == 0, result.stderr
    assert "$ cstool journey send feature-nudge --as-of 2026-11-20 --dry-run --limit 5" in (
        result.stderr
    )
    previews = tmp_path / "d" / "outbox" / "dry-run" / "feature-nudge"
    assert len(mailbox.Maildir(previews, factory=None, create=False)) == 5
    assert f"email previews of the feature-nudge journey in {tmp_path / 'd'}" in result.stderr
    assert not (tmp_path / "d" / "outbox" / "feature-nudge").exists()
