"""Known answers for every engine: the planted edge cases, read from each kind of source.

The built-in engine (loaded usage) and DuckDB (Parquet, CSV, a workspace database) must
each give exactly the statistics worked out by hand in rollup_data. Spark's run of the same
cases is in test_rollup_spark.py.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
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

from cstool import rollup as rollup_core
from cstool.config import DuckdbConfig, MetricsConfig
from cstool.engines import Job, Reading, Source
from cstool.engines.duck import DuckdbEngine
from cstool.engines.spark import spark_pattern
from cstool.engines.sqlite import SqliteEngine
from cstool.errors import EnvironmentProblem, InputError
from cstool.store import day_number
from cstool.workspace import Workspace

pytest.importorskip("duckdb")

HEADER = ("date", "account_id", "user_id", "feature", "events")


def job(ws: Workspace, source: Source, *dates: date, reading: Reading | None = None) -> Job:
    """A rollup job over ``source`` with the workspace's users, windows 7 and 28 days."""
    with ws.open_store() as store:
        users = rollup_core.workspace_users(store)
    return Job(source, reading or Reading(), users, days(*dates), 7, 28)


@pytest.fixture
def planted(tmp_path: Path) -> tuple[Workspace, dict[str, Path]]:
    """The planted company loaded with its usage, and its export files."""
    files = planted_files(tmp_path / "in")
    return planted_workspace(tmp_path / "ws", files), files


def test_builtin_engine_gives_the_known_answers(planted: tuple[Workspace, dict[str, Path]]) -> None:
    """The built-in engine over the loaded usage counts what the definitions say, on two dates."""
    ws, _ = planted
    with ws.open_store() as store:
        r = SqliteEngine(store, MetricsConfig()).rollup(
            job(ws, Source("workspace", str(ws.db_path)), D2, D)
        )
    assert as_stats(r) == EXPECTED
    assert (r.seen, r.rows, r.skipped) == (SEEN, len(USAGE), 0)


@pytest.mark.parametrize("kind", ["parquet", "csv", "workspace"])
def test_duckdb_gives_the_known_answers(
    planted: tuple[Workspace, dict[str, Path]], tmp_path: Path, kind: str
) -> None:
    """DuckDB over Parquet, CSV or the workspace database counts exactly the known answers."""
    ws, files = planted
    location = {
        "parquet": str(usage_parquet(USAGE, tmp_path / "lake" / "usage.parquet", HEADER)),
        "csv": str(files["usage"]),
        "workspace": str(ws.db_path),
    }[kind]
    source = Source(kind, location)  # type: ignore[arg-type]
    r = DuckdbEngine(DuckdbConfig(threads=2)).rollup(job(ws, source, D2, D))
    assert as_stats(r) == EXPECTED
    span = (day_number(D) - 28, day_number(D) + 2)  # a5 on D-28, a3 on D+2
    assert (r.seen, r.rows, r.skipped, r.span) == (SEEN, len(USAGE), 0, span)


def test_duckdb_maps_columns_and_reads_dates_written_as_text(
    planted: tuple[Workspace, dict[str, Path]], tmp_path: Path
) -> None:
    """Other header names map through exports.usage.columns, and text dates use date_format."""
    ws, _ = planted
    rows = [(f"{d[8:10]}/{d[5:7]}/{d[:4]}", a, u, f, e) for d, a, u, f, e in USAGE]
    names = ("Day", "Account", "User ID", "Feature", "Count")
    path = usage_parquet(rows, tmp_path / "lake.parquet", names)
    reading = Reading(
        columns={"Day": "date", "Account": "account_id", "User ID": "user_id", "Count": "events"},
        date_format="%d/%m/%Y",
    )
    r = DuckdbEngine(DuckdbConfig()).rollup(
        job(ws, Source("parquet", str(path)), D2, D, reading=reading)
    )
    assert as_stats(r) == EXPECTED


def test_duckdb_without_an_events_column_counts_each_row_as_one_event(
    planted: tuple[Workspace, dict[str, Path]], tmp_path: Path
) -> None:
    """Rows without events count as 1 event, as a load fills the default."""
    ws, _ = planted
    rows = [r[:4] for r in USAGE if r[4] > 0]  # the zero-event row would now be activity
    path = usage_parquet(rows, tmp_path / "lake.parquet", HEADER[:4])
    r = DuckdbEngine(DuckdbConfig()).rollup(job(ws, Source("parquet", str(path)), D2, D))
    assert as_stats(r) == EXPECTED


def test_rows_of_unknown_users_or_another_account_are_skipped_and_counted(
    planted: tuple[Workspace, dict[str, Path]], tmp_path: Path
) -> None:
    """A row of a user the workspace lacks, or filed under another account, is not counted."""
    ws, _ = planted
    extra = [(ago0 := D.isoformat(), "A", "zz9", "reports", 1), (ago0, "B", "a1", "reports", 1)]
    path = usage_parquet(USAGE + extra, tmp_path / "lake.parquet", HEADER)
    r = DuckdbEngine(DuckdbConfig()).rollup(job(ws, Source("parquet", str(path)), D2, D))
    assert as_stats(r) == EXPECTED
    assert (r.rows, r.skipped_unknown, r.skipped_moved, r.examples) == (
        len(USAGE) + 2,
        1,
        1,
        ["a1", "zz9"],
    )


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        (("2024-02-31", "A", "a1", "reports", "1"), "not a date in the format %Y-%m-%d"),
        (("2024-03-01", "A", "a1", "reports", "-1"), "not a whole number >= 0"),
        (("2024-03-01", "A", "a1", "reports", "1.5"), "not a whole number >= 0"),
        (("2024-03-01", "A", "", "reports", "1"), "without a user_id or feature"),
    ],
)
def test_a_row_no_load_would_accept_refuses_the_rollup(
    planted: tuple[Workspace, dict[str, Path]], tmp_path: Path, row: tuple[str, ...], problem: str
) -> None:
    """Bad dates, events or missing ids are counted and refuse the rollup, naming the rule."""
    ws, files = planted
    bad = tmp_path / "bad.csv"
    bad.write_text(
        files["usage"].read_text(encoding="utf-8") + ",".join(row) + "\n", encoding="utf-8"
    )
    r = DuckdbEngine(DuckdbConfig()).rollup(job(ws, Source("csv", str(bad)), D))
    assert r.bad_dates + r.bad_events + r.missing == 1
    with pytest.raises(InputError, match=problem) as e:
        rollup_core.refuse_bad_rows(r, "bad.csv", "%Y-%m-%d")
    assert "1 usage row cannot be counted" in e.value.message
    # The date-format hint only where a date is the problem.
    assert ("date_formats" in (e.value.hint or "")) == ("date" in problem)


def test_csv_in_another_delimiter_and_header_case_is_read(
    planted: tuple[Workspace, dict[str, Path]], tmp_path: Path
) -> None:
    """A semicolon CSV with headers in other case reads like the comma one."""
    ws, files = planted
    text = files["usage"].read_text(encoding="utf-8").replace(",", ";")
    path = tmp_path / "usage-semi.csv"
    path.write_text(text.replace("account_id", "Account_ID "), encoding="utf-8")
    r = DuckdbEngine(DuckdbConfig()).rollup(
        job(ws, Source("csv", str(path)), D2, D, reading=Reading(delimiter=";"))
    )
    assert as_stats(r) == EXPECTED


def test_a_source_without_a_required_column_is_refused_with_the_mapping_hint(
    planted: tuple[Workspace, dict[str, Path]], tmp_path: Path
) -> None:
    """A missing user_id column is refused as a load's header would be, with the fix."""
    ws, _ = planted
    path = usage_parquet(
        USAGE, tmp_path / "lake.parquet", ("date", "account_id", "uid", "feature", "events")
    )
    with pytest.raises(InputError, match="missing required column: user_id") as e:
        DuckdbEngine(DuckdbConfig()).rollup(job(ws, Source("parquet", str(path)), D))
    assert "exports.usage.columns" in (e.value.hint or "")


def test_duckdb_finds_the_latest_day_of_a_source(
    planted: tuple[Workspace, dict[str, Path]],
) -> None:
    """The default date of a rollup is the source's last day, here D + 2."""
    _, files = planted
    day = DuckdbEngine(DuckdbConfig()).latest_day(Source("csv", str(files["usage"])), Reading())
    assert day == day_number(D) + 2


def test_an_engine_whose_package_is_missing_names_its_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without pyspark installed, asking for spark says which extra to install (exit 3)."""
    import importlib.util

    from cstool.config import Config
    from cstool.engines import engine

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "pyspark" else real(name, *a)
    )
    with pytest.raises(EnvironmentProblem) as e:
        engine("spark", Config())
    assert e.value.exit_code == 3
    assert e.value.hint == 'install the extra: pip install "cstool[spark]"'


@pytest.mark.parametrize(
    ("strftime", "pattern"),
    [
        ("%Y-%m-%d", "yyyy-MM-dd"),
        ("%d/%m/%Y", "dd/MM/yyyy"),
        ("%Y%m%d", "yyyyMMdd"),
        ("%d %b %Y", "dd MMM yyyy"),
        ("%Y-%m-%dT%H:%M:%S", "yyyy-MM-dd'T'HH:mm:ss"),
        ("%d.%m.%y", "dd.MM.yy"),
        ("day %j of %Y", "'day 'DDD' of 'yyyy"),
    ],
)
def test_date_formats_translate_to_spark_patterns(strftime: str, pattern: str) -> None:
    """strftime formats become the java.time patterns Spark parses the same text with."""
    assert spark_pattern(strftime) == pattern


def test_a_date_directive_spark_cannot_read_is_refused() -> None:
    """%A (a weekday name) has no Spark equivalent: refused, naming what works."""
    with pytest.raises(InputError, match="%A"):
        spark_pattern("%A %d %B %Y")


# -- the engines agree on any data ---------------------------------------------------------
USERS = ["a1", "a2", "a3", "b1", "b2"]
ACCOUNT = {"a1": "A", "a2": "A", "a3": "A", "b1": "B", "b2": "B"}
usage_rows = st.lists(
    st.tuples(
        st.integers(min_value=-3, max_value=40),  # days before D
        st.sampled_from(USERS),
        st.sampled_from(["reports", "dash", "alerts", "api"]),
        st.integers(min_value=0, max_value=3),
    ),
    min_size=1,
    max_size=40,
    unique_by=lambda r: (r[0], r[1], r[2]),
)
activations = st.lists(
    st.one_of(st.none(), st.integers(min_value=-5, max_value=60)), min_size=5, max_size=5
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=usage_rows, activated=activations)
def test_duckdb_and_the_builtin_engine_agree_on_any_usage(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[tuple[int, str, str, int]],
    activated: list[int | None],
) -> None:
    """On random usage, activations and dates, DuckDB's statistics equal the built-in ones."""
    from datetime import timedelta

    from adoption_data import set_metrics, write_csv
    from loading import load

    from cstool.workspace import init_workspace

    root = tmp_path_factory.mktemp("prop")
    init_workspace(root / "ws")
    ws = set_metrics(root / "ws", depth_window_days=3, breadth_window_days=9)
    iso = {
        u: None if a is None else (D - timedelta(days=a)).isoformat()
        for u, a in zip(USERS, activated, strict=True)
    }
    load(
        ws, "accounts", write_csv(root / "a.csv", ("account_id", "name"), [("A", "A"), ("B", "B")])
    )
    load(
        ws,
        "users",
        write_csv(
            root / "u.csv",
            ("user_id", "account_id", "activated_at"),
            [(u, ACCOUNT[u], iso[u]) for u in USERS],
        ),
    )
    usage = [((D - timedelta(days=n)).isoformat(), ACCOUNT[u], u, f, e) for n, u, f, e in rows]
    path = write_csv(root / "usage.csv", HEADER, usage)
    load(ws, "usage", path)
    dates = [D - timedelta(days=k) for k in (0, 2, 9)]
    with ws.open_store() as store:
        users = rollup_core.workspace_users(store)
        builtin = SqliteEngine(store, MetricsConfig()).rollup(
            Job(Source("workspace", str(ws.db_path)), Reading(), users, days(*dates), 3, 9)
        )
    duck = DuckdbEngine(DuckdbConfig()).rollup(
        Job(Source("csv", str(path)), Reading(), users, days(*dates), 3, 9)
    )
    assert as_stats(duck) == as_stats(builtin)
    assert duck.seen == builtin.seen
