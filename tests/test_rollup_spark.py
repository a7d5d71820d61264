"""The Spark engine against the same known answers, in local mode (run with pytest -m spark).

One local Spark session serves the module (starting one takes about ten seconds); the engine
finds it active and uses it. The driver binds to 127.0.0.1 and the web UI is off.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from loading import load
from rollup_data import (
    D2,
    EXPECTED,
    SEEN,
    USAGE,
    D,
    as_stats,
    days,
    planted_files,
    planted_workspace,
    usage_parquet,
)
from typer.testing import CliRunner

from cstool import adoption, rollup
from cstool.cli import app
from cstool.config import MetricsConfig, SparkConfig
from cstool.engines import Job, Reading, Source
from cstool.engines.sqlite import SqliteEngine
from cstool.lake import export_usage
from cstool.workspace import Workspace, init_workspace, open_workspace

# A JVM's first jobs compile Spark's code paths as they go: on two busy cores one query can take
# minutes, far beyond the suite's default per-test timeout.
pytestmark = [pytest.mark.spark, pytest.mark.timeout(900)]
pyspark = pytest.importorskip("pyspark")

HEADER = ("date", "account_id", "user_id", "feature", "events")
NOW = datetime(2026, 11, 21, 9, 0)


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    """A local Spark session on two cores, bound to 127.0.0.1, without the web UI."""
    from cstool.engines.spark import SparkEngine

    session, _ = SparkEngine(SparkConfig(master="local[2]"))._session()
    yield session
    session.stop()


@pytest.fixture
def engine(spark: Any) -> Any:
    from cstool.engines.spark import SparkEngine

    return SparkEngine(SparkConfig(master="local[2]"))


@pytest.fixture
def planted(tmp_path: Path) -> tuple[Workspace, dict[str, Path]]:
    files = planted_files(tmp_path / "in")
    return planted_workspace(tmp_path / "ws", files), files


def job(ws: Workspace, source: Source, *dates: Any, reading: Reading | None = None) -> Job:
    with ws.open_store() as store:
        users = rollup.workspace_users(store)
    return Job(source, reading or Reading(), users, days(*dates), 7, 28)


@pytest.mark.parametrize("kind", ["parquet", "csv", "table"])
def test_spark_gives_the_known_answers(
    planted: tuple[Workspace, dict[str, Path]], tmp_path: Path, engine: Any, spark: Any, kind: str
) -> None:
    """Spark over Parquet, CSV or a table counts exactly the hand-worked statistics."""
    ws, files = planted
    parquet = usage_parquet(USAGE, tmp_path / "lake" / "usage.parquet", HEADER)
    if kind == "table":
        spark.read.parquet(str(parquet)).createOrReplaceTempView("usage_events")
    location = {"parquet": str(parquet), "csv": str(files["usage"]), "table": "usage_events"}
    r = engine.rollup(job(ws, Source(kind, location[kind]), D2, D))
    assert as_stats(r) == EXPECTED
    assert (r.seen, r.rows, r.skipped) == (SEEN, len(USAGE), 0)


def test_spark_equals_the_builtin_engine_row_for_row(
    planted: tuple[Workspace, dict[str, Path]], engine: Any
) -> None:
    """The long tables Spark returns equal the built-in engine's, column types included."""
    ws, files = planted
    with ws.open_store() as store:
        builtin = SqliteEngine(store, MetricsConfig()).rollup(
            job(ws, Source("workspace", str(ws.db_path)), D2, D)
        )
    r = engine.rollup(job(ws, Source("csv", str(files["usage"])), D2, D))
    assert r.accounts.equals(builtin.accounts)
    assert r.features.equals(builtin.features)


def test_spark_reads_mapped_columns_and_text_dates(
    planted: tuple[Workspace, dict[str, Path]], tmp_path: Path, engine: Any
) -> None:
    """Renamed headers and dates written as dd/mm/yyyy read as the canonical ones."""
    ws, _ = planted
    rows = [(f"{d[8:10]}/{d[5:7]}/{d[:4]}", a, u, f, e) for d, a, u, f, e in USAGE]
    names = ("Day", "Account", "User ID", "feature", "n")
    path = usage_parquet(rows, tmp_path / "lake.parquet", names)
    reading = Reading(
        columns={"Day": "date", "Account": "account_id", "User ID": "user_id", "n": "events"},
        date_format="%d/%m/%Y",
    )
    r = engine.rollup(job(ws, Source("parquet", str(path)), D2, D, reading=reading))
    assert as_stats(r) == EXPECTED


def test_spark_counts_bad_and_skipped_rows_as_duckdb_does(
    planted: tuple[Workspace, dict[str, Path]], tmp_path: Path, engine: Any
) -> None:
    """Unknown users are skipped and counted; a fractional event is a bad row."""
    ws, files = planted
    extra = tmp_path / "extra.csv"
    extra.write_text(
        files["usage"].read_text(encoding="utf-8") + f"{D},A,zz9,reports,1\n", encoding="utf-8"
    )
    r = engine.rollup(job(ws, Source("csv", str(extra)), D))
    assert (r.skipped_unknown, r.skipped_moved, r.examples) == (1, 0, ["zz9"])
    bad = tmp_path / "bad.csv"
    bad.write_text(
        files["usage"].read_text(encoding="utf-8") + f"{D},A,a1,reports,1.5\n", encoding="utf-8"
    )
    assert engine.rollup(job(ws, Source("csv", str(bad)), D)).bad_events == 1


def test_sample_company_scores_the_same_from_a_spark_rollup(tmp_path: Path, engine: Any) -> None:
    """The sample company rolled up by Spark from exported Parquet stores the snapshots the
    loaded usage gives, over a weekly backfill."""
    loaded, rolled = tmp_path / "loaded", tmp_path / "rolled"
    init_workspace(loaded, sample=True)
    init_workspace(rolled, sample=True)
    a, b = open_workspace(loaded), open_workspace(rolled)
    for kind in ("accounts", "users", "features", "usage"):
        load(a, kind, loaded / "data" / f"{kind}.csv")
    for kind in ("accounts", "users", "features"):
        load(b, kind, rolled / "data" / f"{kind}.csv")
    with a.open_store() as store:
        export_usage(store, tmp_path / "lake")
    end = datetime(2026, 11, 20).date()
    start = end - timedelta(weeks=4)
    run = rollup.rollup(
        b, "spark", str(tmp_path / "lake"), start=start, end=end, now=NOW, engine=engine
    )
    assert (len(run.dates), run.rows, run.skipped) == (5, 85_578, 0)
    for ws in (a, b):
        with ws.open_store(write=True) as store:
            adoption.backfill(store, ws.resolved.config, start, end)
    import sqlite3

    def snapshots(root: Path) -> list[Any]:
        db = sqlite3.connect(root / "cstool.db")
        try:
            return db.execute("SELECT * FROM snapshots ORDER BY as_of, account_id").fetchall()
        finally:
            db.close()

    assert snapshots(rolled) == snapshots(loaded)
    assert len(snapshots(loaded)) == 5 * 214
    runner = CliRunner()
    explain = ["score", "explain", "ACC-00092"]
    want = runner.invoke(app, ["-w", str(loaded), *explain], catch_exceptions=False)
    got = runner.invoke(app, ["-w", str(rolled), *explain], catch_exceptions=False)
    assert (got.exit_code, got.stdout) == (0, want.stdout)
