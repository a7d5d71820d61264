"""CLI tests of `cstool rollup` and `cstool export usage`: messages, exit codes, files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from rollup_data import D2, D, planted_files, planted_workspace
from typer.testing import CliRunner, Result

from cstool.cli import app
from cstool.workspace import Workspace

pytest.importorskip("duckdb")


def cli(root: Path, *args: str) -> Result:
    """``cstool -w ROOT ARGS...`` in-process."""
    return CliRunner().invoke(app, ["-w", str(root), *args], catch_exceptions=False)


@pytest.fixture
def planted(tmp_path: Path) -> tuple[Workspace, dict[str, Path]]:
    """The planted company with its usage loaded, and its export files."""
    files = planted_files(tmp_path / "in")
    return planted_workspace(tmp_path / "ws", files), files


@pytest.fixture
def bare(tmp_path: Path) -> tuple[Workspace, dict[str, Path]]:
    """The planted company without its usage, and its export files."""
    files = planted_files(tmp_path / "in")
    return planted_workspace(tmp_path / "bare", files, usage=False), files


def test_rollup_says_what_it_did(bare: tuple[Workspace, dict[str, Path]]) -> None:
    """A rollup prints one line with rows, source, engine, accounts and dates on stderr."""
    ws, files = bare
    dates = ("--from", D2.isoformat(), "--to", D.isoformat())
    r = cli(ws.root, "rollup", "--engine", "duckdb", "--usage", str(files["usage"]), *dates)
    assert r.exit_code == 0, r.stderr
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert lines[0] == f"Rolling up {files['usage']} with duckdb ..."
    assert lines[1].startswith(
        f"Rolled up 14 usage rows from {files['usage']} with duckdb: statistics of 2 accounts "
        f"on 2 dates from {D2} to {D} in "
    )


def test_skipped_rows_are_warned_about(
    bare: tuple[Workspace, dict[str, Path]], tmp_path: Path
) -> None:
    """Rows of users the workspace lacks are skipped with a warning naming one; exit 0."""
    ws, files = bare
    usage = tmp_path / "more.csv"
    usage.write_text(
        files["usage"].read_text(encoding="utf-8") + f"{D},A,ghost,reports,1\n", encoding="utf-8"
    )
    r = cli(ws.root, "rollup", "--engine", "duckdb", "--usage", str(usage), "--as-of", str(D))
    assert r.exit_code == 0
    assert (
        "Warning: skipped 1 usage row of users the users export does not have (e.g. 'ghost'); "
        "load the latest users export and roll up again to count them"
    ) in r.stderr.replace("\n", " ")


def test_a_bad_row_is_exit_1_and_names_the_rule(
    bare: tuple[Workspace, dict[str, Path]], tmp_path: Path
) -> None:
    """A date that is not a date refuses the rollup with exit 1 and a hint."""
    ws, files = bare
    usage = tmp_path / "bad.csv"
    usage.write_text(
        files["usage"].read_text(encoding="utf-8") + "31/03/2024,A,a1,reports,1\n",
        encoding="utf-8",
    )
    r = cli(ws.root, "rollup", "--engine", "duckdb", "--usage", str(usage), "--as-of", str(D))
    assert r.exit_code == 1
    text = r.stderr.replace("\n", " ")
    assert "1 usage row cannot be counted: 1 with a date that is not a date in the format" in text
    assert "hint: fix the rows at the source" in text


def test_an_unknown_engine_is_a_usage_error(bare: tuple[Workspace, dict[str, Path]]) -> None:
    """--engine accepts duckdb or spark only (exit 2)."""
    ws, files = bare
    r = cli(ws.root, "rollup", "--engine", "polars", "--usage", str(files["usage"]))
    assert r.exit_code == 2
    assert "'polars' is not one of 'duckdb', 'spark'" in r.stderr


def test_a_missing_extra_is_exit_3_with_the_install_line(
    bare: tuple[Workspace, dict[str, Path]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without duckdb installed, --engine duckdb says which extra installs it (exit 3)."""
    import importlib.util

    ws, files = bare
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "duckdb" else real(name, *a)
    )
    r = cli(ws.root, "rollup", "--engine", "duckdb", "--usage", str(files["usage"]))
    assert r.exit_code == 3
    assert "the duckdb engine needs duckdb, which is not installed" in r.stderr
    assert 'hint: install the extra: pip install "cstool[duckdb]"' in r.stderr


def test_export_then_rollup_scores_as_the_loaded_usage(
    planted: tuple[Workspace, dict[str, Path]],
    bare: tuple[Workspace, dict[str, Path]],
    tmp_path: Path,
) -> None:
    """Usage exported as Parquet and rolled up elsewhere scores exactly as where it was loaded."""
    ws, _ = planted
    other, _ = bare
    lake = tmp_path / "lake"
    r = cli(ws.root, "export", "usage", "--parquet", str(lake))
    assert r.exit_code == 0, r.stderr
    assert r.stderr.strip() == f"Wrote 14 usage rows to {lake} (2 files, one per month)"
    assert sorted(p.relative_to(lake).as_posix() for p in lake.rglob("*.parquet")) == [
        "month=2024-03/part-0.parquet",
        "month=2024-04/part-0.parquet",
    ]
    r = cli(other.root, "rollup", "--engine", "duckdb", "--usage", str(lake), "--as-of", str(D))
    assert r.exit_code == 0, r.stderr
    score = ("score", "--as-of", str(D), "--format", "csv")
    want = cli(ws.root, *score)
    assert cli(other.root, *score).stdout == want.stdout
    assert want.stdout.count("\n") == 4


def test_export_is_byte_identical_and_matches_the_loaded_rows(
    planted: tuple[Workspace, dict[str, Path]], tmp_path: Path
) -> None:
    """Two exports of the same usage are byte for byte the same, and hold the loaded rows."""
    import pyarrow.dataset as ds

    ws, _ = planted
    for name in ("one", "two"):
        assert cli(ws.root, "export", "usage", "--parquet", str(tmp_path / name)).exit_code == 0
    files = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*.parquet"))
    for f in files:
        assert (tmp_path / "one" / f).read_bytes() == (tmp_path / "two" / f).read_bytes()
    table = ds.dataset(tmp_path / "one", partitioning="hive").to_table()
    columns = ("date", "account_id", "user_id", "feature", "events")
    got = sorted(
        (d.isoformat(), a, u, f, e)
        for d, a, u, f, e in zip(*(table.column(c).to_pylist() for c in columns), strict=True)
    )
    import sqlite3

    db = sqlite3.connect(ws.db_path)
    want = sorted(db.execute("SELECT date, account_id, user_id, feature, events FROM usage_rows"))
    db.close()
    assert got == want


def test_export_refuses_a_folder_with_files(
    planted: tuple[Workspace, dict[str, Path]], tmp_path: Path
) -> None:
    """Nothing is overwritten: a folder with files in it is refused (exit 1)."""
    ws, _ = planted
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine", encoding="utf-8")
    r = cli(ws.root, "export", "usage", "--parquet", str(tmp_path / "full"))
    assert r.exit_code == 1
    assert "is not an empty folder" in r.stderr
    assert (tmp_path / "full" / "keep.txt").read_text(encoding="utf-8") == "mine"


def test_export_without_usage_is_refused(
    bare: tuple[Workspace, dict[str, Path]], tmp_path: Path
) -> None:
    """A workspace without loaded usage has nothing to export (exit 1)."""
    ws, _ = bare
    r = cli(ws.root, "export", "usage", "--parquet", str(tmp_path / "lake"))
    assert r.exit_code == 1
    assert "no usage is loaded" in r.stderr


def test_rollup_runs_as_the_installed_command(
    bare: tuple[Workspace, dict[str, Path]],
) -> None:
    """The installed entry point rolls up in a subprocess and `score` then works."""
    ws, files = bare
    exe = Path(sys.executable).parent / "cstool"
    args = ["rollup", "--engine", "duckdb", "--usage", str(files["usage"]), "--as-of", str(D)]
    run = subprocess.run(
        [str(exe), "-w", str(ws.root), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    score = subprocess.run(
        [str(exe), "-w", str(ws.root), "score", "--format", "csv"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert score.returncode == 0, score.stderr
    assert score.stdout.splitlines()[1].startswith("A,A Inc,SMB,Ann,0.3,")
