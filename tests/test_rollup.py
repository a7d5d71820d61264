"""Rollups stored in the workspace: scores, bands, backfill, changes, explain and the 360 as
if the usage had been loaded; which source a date takes; what is recorded and refused.

Parity on the sample company: one workspace loads the usage, another only rolls it up with
DuckDB from the Parquet the first exports; every downstream answer must be identical.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from adoption_data import set_metrics
from loading import load
from rollup_data import (
    CATALOGUE,
    D2,
    EXPECTED,
    EXPECTED_MEASURES,
    D,
    planted_files,
    planted_workspace,
)
from typer.testing import CliRunner, Result

from cstool import adoption, rollup
from cstool.cli import app
from cstool.errors import InputError, UsageError
from cstool.lake import export_usage
from cstool.store import day_number
from cstool.workspace import Workspace, init_workspace, open_workspace

pytest.importorskip("duckdb")

NOW = datetime(2026, 11, 21, 9, 0)
SAMPLE_END = date(2026, 11, 20)
SAMPLE_START = SAMPLE_END - timedelta(weeks=6)


def cli(root: Path, *args: str) -> Result:
    """``cstool -w ROOT ARGS...`` in-process."""
    return CliRunner().invoke(app, ["-w", str(root), *args], catch_exceptions=False)


def ok(root: Path, *args: str) -> str:
    """The stdout of a command that must succeed."""
    r = cli(root, *args)
    assert r.exit_code == 0, r.stderr
    return r.stdout


def rows(root: Path, sql: str) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(root / "cstool.db")
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


# -- the sample company, loaded and rolled up ----------------------------------------------
@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(loaded, rolled): the sample company with its usage loaded, and the same company with
    only accounts, users and features loaded and the usage rolled up by DuckDB from the
    Parquet the first one exports. Both backfilled weekly over six weeks."""
    base = tmp_path_factory.mktemp("sample")
    loaded, rolled = base / "loaded", base / "rolled"
    init_workspace(loaded, sample=True)
    init_workspace(rolled, sample=True)
    a, b = open_workspace(loaded), open_workspace(rolled)
    for kind in ("accounts", "users", "features", "usage"):
        load(a, kind, loaded / "data" / f"{kind}.csv")
    for kind in ("accounts", "users", "features"):
        load(b, kind, rolled / "data" / f"{kind}.csv")
    with a.open_store() as store:
        export_usage(store, base / "lake")
    run = rollup.rollup(
        b, "duckdb", str(base / "lake"), start=SAMPLE_START, end=SAMPLE_END, now=NOW
    )
    assert len(run.dates) == 7
    for ws in (a, b):
        with ws.open_store(write=True) as store:
            adoption.backfill(store, ws.resolved.config, SAMPLE_START, SAMPLE_END)
    return loaded, rolled


def test_rolled_statistics_equal_the_loaded_ones(sample: tuple[Path, Path]) -> None:
    """On every rolled-up date, activated, active and users per feature equal the loaded
    usage's, account by account and feature by feature."""
    loaded, rolled = (open_workspace(p) for p in sample)
    dates = [SAMPLE_START + timedelta(weeks=k) for k in range(7)]
    with loaded.open_store() as s1, rolled.open_store() as s2:
        u1 = adoption.universe(s1, loaded.resolved.config.metrics)
        u2 = adoption.universe(s2, rolled.resolved.config.metrics)
        assert u1.account_ids == u2.account_ids and u1.feature_names == u2.feature_names
        want = adoption.statistics_for(s1, loaded.resolved.config, u1, dates)
        got = adoption.statistics_for(s2, rolled.resolved.config, u2, dates)
    for w, g in zip(want, got, strict=True):
        assert (w.source, g.source) == ("usage", "rollup")
        assert w.activated.tolist() == g.activated.tolist()
        assert w.active.tolist() == g.active.tolist()
        assert w.users.tolist() == g.users.tolist()
        assert w.any_user.tolist() == g.any_user.tolist()
    assert sum(g.users.sum() for g in got) > 1000  # the comparison is not of empty arrays


@pytest.mark.parametrize(
    "command",
    [
        ("score", "--no-save", "--format", "csv"),
        ("score", "--no-save", "--format", "csv", "--as-of", "2026-10-23"),
        ("changes", "--format", "csv"),
        ("changes", "--by", "csm", "--weeks", "3", "--format", "csv"),
        ("score", "explain", "ACC-00092"),
        ("score", "explain", "ACC-00017", "--as-of", "2026-11-13"),
        ("thresholds", "show", "--format", "csv"),
        ("account", "show", "ACC-00092", "--format", "json"),
    ],
    ids=lambda c: " ".join(c),
)
def test_every_answer_is_the_same_from_a_rollup(
    sample: tuple[Path, Path], command: tuple[str, ...]
) -> None:
    """Scores, bands, changes, explain, thresholds and the 360 read the same either way."""
    loaded, rolled = sample
    want = ok(loaded, *command)
    assert want.strip()
    assert ok(rolled, *command) == want


def test_backfilled_snapshots_are_identical(sample: tuple[Path, Path]) -> None:
    """Every stored snapshot row, bands and basis included, is the same in both workspaces."""
    loaded, rolled = sample
    sql = "SELECT * FROM snapshots ORDER BY as_of, account_id"
    assert rows(rolled, sql) == rows(loaded, sql)
    assert len(rows(loaded, sql)) == 7 * 214


def test_the_rollup_is_recorded_like_a_load(sample: tuple[Path, Path]) -> None:
    """The record keeps engine, source, rows read, dates, windows and time; status lists it."""
    _, rolled = sample
    (rec,) = rows(
        rolled,
        "SELECT engine, rows, skipped, dates, depth_window_days, breadth_window_days, made_at"
        " FROM rollups",
    )
    assert rec == ("duckdb", 85_578, 0, 7, 7, 28, "2026-11-21T09:00:00")
    status = json.loads(ok(rolled, "status", "--format", "json"))
    last = status[-1]
    assert (last["kind"], last["rows"], last["first_date"], last["last_date"]) == (
        "rollups",
        85_578,
        SAMPLE_START.isoformat(),
        SAMPLE_END.isoformat(),
    )
    assert last["file"].endswith("lake (duckdb)")


def test_the_default_score_date_is_the_latest_rollup(sample: tuple[Path, Path]) -> None:
    """Without usage loaded, `score` scores the latest rolled-up date."""
    _, rolled = sample
    r = cli(rolled, "score", "--no-save", "--limit", "1")
    assert r.exit_code == 0
    assert f"Adoption on {SAMPLE_END}" in r.stdout


def test_a_date_without_a_rollup_or_usage_is_refused_with_the_dates_there_are(
    sample: tuple[Path, Path],
) -> None:
    """Scoring a date no rollup holds, with no usage loaded, says which dates there are."""
    _, rolled = sample
    r = cli(rolled, "score", "--no-save", "--as-of", "2026-11-19")
    assert r.exit_code == 1
    assert "--as-of 2026-11-19: no usage is loaded and there is no rollup of that date" in r.stderr
    assert f"7 dates from {SAMPLE_START} to {SAMPLE_END}" in r.stderr


# -- the planted company -------------------------------------------------------------------
@pytest.fixture
def planted(tmp_path: Path) -> tuple[Workspace, dict[str, Path]]:
    """The planted company without its usage loaded, and its export files."""
    files = planted_files(tmp_path / "in")
    return planted_workspace(tmp_path / "ws", files, usage=False), files


def roll(ws: Workspace, usage: Path, **dates: Any) -> rollup.RollupRun:
    return rollup.rollup(ws, "duckdb", str(usage), now=NOW, **dates)


def test_planted_rollup_scores_the_known_measures(
    planted: tuple[Workspace, dict[str, Path]],
) -> None:
    """From the rollup alone, each account scores the measures the definitions give."""
    ws, files = planted
    run = roll(ws, files["usage"], start=D2, end=D)
    assert (run.dates, run.accounts, run.rows, run.skipped) == ([D2, D], 2, 14, 0)
    with ws.open_store(write=True) as store:
        scored = adoption.score(store, ws.resolved.config, D)
    got = {r.account_id: (r.deployment, r.depth, r.breadth) for r in scored.rows}
    assert got.keys() == EXPECTED_MEASURES.keys()
    for account, want in EXPECTED_MEASURES.items():
        assert got[account] == pytest.approx(want, nan_ok=True), account


def test_stored_rollup_rows_are_the_known_statistics(
    planted: tuple[Workspace, dict[str, Path]],
) -> None:
    """The rollup tables hold the hand-worked statistics, features by their ids."""
    ws, files = planted
    roll(ws, files["usage"], start=D2, end=D)
    accounts = rows(ws.root, "SELECT day, account_id, activated, active FROM rollup_accounts")
    features = rows(
        ws.root,
        "SELECT r.day, r.account_id, f.feature, r.users FROM rollup_features r"
        " JOIN feature_names f USING (fid)",
    )
    want_accounts = {
        (day_number(d), a, *v) for d, s in EXPECTED.items() for a, v in s["accounts"].items()
    }
    want_features = {
        (day_number(d), a, f, n) for d, s in EXPECTED.items() for (a, f), n in s["features"].items()
    }
    assert (set(accounts), set(features)) == (want_accounts, want_features)


def test_explain_and_the_360_read_the_rollup(planted: tuple[Workspace, dict[str, Path]]) -> None:
    """explain shows the rollup's users and features; the 360 its users per feature."""
    ws, files = planted
    roll(ws, files["usage"], start=D2, end=D)
    with ws.open_store() as store:
        e = adoption.explain(store, ws.resolved.config, "A", D)
        one = adoption.account_adoption(store, ws.resolved.config, "A", D)
    assert (e.activated, e.active, e.features_used, e.features_unused) == (
        3,
        1,
        ["dashboards", "reports"],  # in the order features were first seen: by name here
        [],
    )
    assert one is not None
    assert [(f.feature, f.users, f.used) for f in one.features] == [
        ("reports", 4, True),
        ("dashboards", 1, True),
    ]


def test_breadth_min_users_applies_to_rolled_up_counts(tmp_path: Path) -> None:
    """With breadth_min_users 2, only A's reports (4 users) counts: breadth 1/2."""
    files = planted_files(tmp_path / "in")
    ws = planted_workspace(tmp_path / "ws", files, usage=False, breadth_min_users=2)
    roll(ws, files["usage"], as_of=D)
    with ws.open_store(write=True) as store:
        scored = {r.account_id: r for r in adoption.score(store, ws.resolved.config, D).rows}
    assert (scored["A"].breadth, scored["B"].breadth) == (0.5, 0.0)


def test_a_rollup_wins_over_loaded_usage_for_its_dates(tmp_path: Path) -> None:
    """With usage loaded and a rollup of D from other rows, D takes the rollup; other dates
    the loaded usage."""
    files = planted_files(tmp_path / "in")
    ws = planted_workspace(tmp_path / "ws", files)  # usage loaded
    lake = tmp_path / "less.csv"
    text = files["usage"].read_text(encoding="utf-8").splitlines()
    lake.write_text("\n".join(t for t in text if ",b3," not in t) + "\n", encoding="utf-8")
    roll(ws, lake, as_of=D)  # without b3's row
    with ws.open_store() as store:
        assert adoption.sources(store, ws.resolved.config, [D, D2]) == {D: "rollup", D2: "usage"}
        e = adoption.explain(store, ws.resolved.config, "B", D)
    assert (e.activated, e.active) == (2, 1)  # b3 activated on D, but the rollup has no use


def test_changed_windows_fall_back_to_loaded_usage_or_are_refused(tmp_path: Path) -> None:
    """A rollup counted with other windows is not used: the loaded usage serves the date, and
    without usage the date is refused with the fix."""
    files = planted_files(tmp_path / "in")
    ws = planted_workspace(tmp_path / "ws", files, usage=False)
    roll(ws, files["usage"], as_of=D)
    ws = set_metrics(ws.root, depth_window_days=14)
    with ws.open_store() as store, pytest.raises(InputError) as e:
        adoption.explain(store, ws.resolved.config, "A", D)
    assert "counted a depth window of 7 and a breadth window of 28 days" in e.value.message
    assert "metrics say 14 and 28" in e.value.message
    load(ws, "usage", files["usage"])
    with ws.open_store() as store:
        assert adoption.sources(store, ws.resolved.config, [D]) == {D: "usage"}
        # 14 days of depth reach a2 (D-10) and a5 (D-7) besides a1.
        assert adoption.explain(store, ws.resolved.config, "A", D).active == 3


def test_users_loaded_after_a_rollup_are_warned_about(
    planted: tuple[Workspace, dict[str, Path]], tmp_path: Path
) -> None:
    """A users load after the rollup makes scoring its dates warn that they are stale."""
    ws, files = planted
    roll(ws, files["usage"], as_of=D)
    more = tmp_path / "more-users.csv"
    more.write_text(
        files["users"].read_text(encoding="utf-8") + "a6,A,2024-01-01\n", encoding="utf-8"
    )
    load(ws, "users", more)
    with ws.open_store(write=True) as store:
        run = adoption.score(store, ws.resolved.config, D)
    assert any("made before the latest users load" in w for w in run.warnings)


def test_a_refused_rollup_stores_nothing(
    planted: tuple[Workspace, dict[str, Path]],
    tmp_path: Path,
    db_snapshot: Any,
) -> None:
    """A bad date in the source refuses the rollup and leaves the database as it was."""
    ws, files = planted
    bad = tmp_path / "bad.csv"
    bad.write_text(
        files["usage"].read_text(encoding="utf-8") + "2024-13-01,A,a1,reports,1\n",
        encoding="utf-8",
    )
    before = db_snapshot(ws.db_path)
    with pytest.raises(InputError, match="1 usage row cannot be counted"):
        roll(ws, bad, as_of=D)
    assert db_snapshot(ws.db_path) == before


def test_dates_far_from_the_source_are_refused(
    planted: tuple[Workspace, dict[str, Path]],
) -> None:
    """A date more than the longest window past the source's rows would show everyone idle."""
    ws, files = planted
    with pytest.raises(InputError, match="too far from the usage"):
        roll(ws, files["usage"], as_of=D + timedelta(days=60))


def test_a_date_after_the_source_is_rolled_up_with_a_warning(
    planted: tuple[Workspace, dict[str, Path]],
) -> None:
    """A date after the source's last day is allowed, saying activity since is not counted."""
    ws, files = planted
    run = roll(ws, files["usage"], as_of=D + timedelta(days=5))
    assert run.warnings == [
        f"{D + timedelta(days=5)} is 3 days after the latest usage in the source "
        f"({D + timedelta(days=2)}); activity since then is not counted"
    ]


def test_without_dates_the_source_latest_day_is_rolled_up(
    planted: tuple[Workspace, dict[str, Path]],
) -> None:
    """No --as-of, --from or --to: the latest day in the source (D + 2)."""
    ws, files = planted
    assert roll(ws, files["usage"]).dates == [D + timedelta(days=2)]


@pytest.mark.parametrize(
    ("usage", "dates", "error", "message"),
    [
        ("nowhere.parquet", {}, InputError, "no such file or folder"),
        ("lake/*.parquet", {}, InputError, "no file matches"),
        ("usage_table", {}, InputError, "a table name is read with --engine spark"),
        ("in/usage.csv", {"as_of": D, "end": D}, UsageError, "cannot be combined"),
        ("in/usage.csv", {"start": D, "end": D2}, InputError, "is after --to"),
        ("in/usage.csv", {"end": D, "every": 0}, InputError, "--every must be at least 1"),
    ],
)
def test_bad_requests_are_refused(
    planted: tuple[Workspace, dict[str, Path]],
    tmp_path: Path,
    usage: str,
    dates: dict[str, Any],
    error: type[Exception],
    message: str,
) -> None:
    """Unknown sources and inconsistent dates are refused before any work."""
    ws, _ = planted
    with pytest.raises(error) as e:
        rollup.rollup(ws, "duckdb", str(tmp_path / usage), now=NOW, **dates)
    assert message in (str(e.value) + " " + (getattr(e.value, "hint", "") or ""))


def test_catalogue_of_the_planted_company_is_in_its_config(
    planted: tuple[Workspace, dict[str, Path]],
) -> None:
    """The planted workspace's cstool.yaml carries the feature catalogue B and C fall back to."""
    ws, _ = planted
    assert ws.resolved.config.metrics.features == CATALOGUE


def test_export_to_a_folder_that_cannot_be_made_is_an_environment_error(
    sample: tuple[Path, Path], tmp_path: Path
) -> None:
    """A folder under a file cannot be created: exit 3 naming the path, no traceback."""
    loaded, _ = sample
    (tmp_path / "a-file").write_text("x")
    r = cli(loaded, "export", "usage", "--parquet", str(tmp_path / "a-file" / "lake"))
    assert r.exit_code == 3, r.stderr
    assert f"cannot write {tmp_path / 'a-file' / 'lake'}" in r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""
