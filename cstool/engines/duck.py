"""The DuckDB engine: the rollup as SQL, over Parquet, CSV or a workspace database.

DuckDB runs in this process on every core, streams Parquet and CSV without loading them,
and spills to disk past ``engines.duckdb.memory_limit``. The usage is read once: one
group-by of the rows by (user, feature, account) keeps the first active day and, per date,
the last active day on or before it; the rest works on those groups. Source columns are
referred to by position (``#3``), never by a name pasted into SQL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cstool.engines.base import Job, Reading, Rollup, Source, usage_columns
from cstool.errors import InputError

if TYPE_CHECKING:
    import duckdb

    from cstool.config import DuckdbConfig

_EPOCH = "DATE '1970-01-01'"
# DuckDB reads CSV in these encodings (Python's names on the left).
_ENCODINGS = {
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "utf-8-sig": "utf-8",
    "utf-16": "utf-16",
    "latin-1": "latin-1",
    "latin1": "latin-1",
    "iso-8859-1": "latin-1",
}


class DuckdbEngine:
    """Rollups with DuckDB (``cstool[duckdb]``)."""

    name = "duckdb"

    def __init__(self, settings: DuckdbConfig) -> None:
        self.settings = settings

    def _connect(self) -> duckdb.DuckDBPyConnection:
        import duckdb

        con = duckdb.connect(":memory:")
        con.execute("SET TimeZone = 'UTC'")  # timestamps become the UTC date
        if self.settings.threads:
            con.execute(f"SET threads = {int(self.settings.threads)}")
        if self.settings.memory_limit:
            con.execute(f"SET memory_limit = '{self.settings.memory_limit}'")
        return con

    def latest_day(self, source: Source, reading: Reading) -> int | None:
        con = self._connect()
        try:
            _canonical(con, source, reading)
            (day,) = con.execute("SELECT max(day) FROM usage_rows").fetchone() or (None,)
            return None if day is None else int(day)
        finally:
            con.close()

    def rollup(self, job: Job) -> Rollup:
        con = self._connect()
        try:
            return _rollup(con, job)
        finally:
            con.close()


def _rollup(con: duckdb.DuckDBPyConnection, job: Job) -> Rollup:
    days = job.days
    _canonical(con, job.source, job.reading)
    con.register("users", job.users)
    last = ", ".join(
        f"max(day) FILTER (WHERE events > 0 AND day <= {int(d)}) AS last_{i}"
        for i, d in enumerate(days)
    )
    # The one pass over the rows.
    con.execute(
        "CREATE TEMP TABLE pairs AS SELECT user_id, feature, account_id, count(*) AS n,"
        " count(*) FILTER (WHERE day IS NULL) AS bad_dates,"
        " count(*) FILTER (WHERE events IS NULL OR events < 0) AS bad_events,"
        " min(day) AS lo, max(day) AS hi,"
        f" min(day) FILTER (WHERE events > 0) AS first_day, {last}"
        " FROM usage_rows GROUP BY user_id, feature, account_id"
    )
    rows, bad_dates, bad_events, missing, lo, hi = con.execute(
        "SELECT coalesce(sum(n), 0), coalesce(sum(bad_dates), 0), coalesce(sum(bad_events), 0),"
        " coalesce(sum(n) FILTER (WHERE user_id IS NULL OR feature IS NULL), 0), min(lo),"
        " max(hi) FROM pairs"
    ).fetchone() or (0, 0, 0, 0, None, None)
    if bad_dates or bad_events or missing:
        return _empty(int(rows), int(bad_dates), int(bad_events), int(missing))
    cols = ", ".join(f"p.last_{i}" for i in range(len(days)))
    # users holds one row per user_id, so the left join keeps one row per group.
    con.execute(
        "CREATE TEMP TABLE joined AS SELECT p.user_id, p.feature, p.account_id, p.n,"
        f" p.first_day, {cols}, u.account_id AS users_account"
        " FROM pairs p LEFT JOIN users u ON u.user_id = p.user_id"
    )
    con.execute("DROP TABLE pairs")
    con.execute("CREATE TEMP VIEW matched AS SELECT * FROM joined WHERE users_account = account_id")
    unknown, moved = con.execute(
        "SELECT coalesce(sum(n) FILTER (WHERE users_account IS NULL), 0),"
        " coalesce(sum(n) FILTER (WHERE users_account <> account_id), 0) FROM joined"
    ).fetchone() or (0, 0)
    examples = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT user_id FROM joined WHERE users_account IS NULL"
            " OR users_account <> account_id ORDER BY user_id LIMIT 3"
        ).fetchall()
    ]
    per_user = ", ".join(f"max(last_{i}) AS last_{i}" for i in range(len(days)))
    con.execute(
        f"CREATE TEMP TABLE per_user AS SELECT user_id, min(first_day) AS first_day, {per_user}"
        " FROM matched GROUP BY user_id"
    )
    dw, bw = job.depth_window_days, job.breadth_window_days
    activated = "coalesce(u.activated, p.first_day)"
    account_parts = [
        f"SELECT {int(d)} AS day, u.account_id,"
        f" count(*) FILTER (WHERE {activated} <= {int(d)}) AS activated,"
        f" count(*) FILTER (WHERE {activated} <= {int(d)} AND p.last_{i} >= {int(d) - dw + 1})"
        " AS active FROM users u LEFT JOIN per_user p ON p.user_id = u.user_id"
        " GROUP BY u.account_id"
        for i, d in enumerate(days)
    ]
    accounts = con.sql(
        "SELECT CAST(day AS INTEGER) AS day, account_id, activated, active FROM ("
        + " UNION ALL ".join(account_parts)
        + ") WHERE activated > 0 ORDER BY day, account_id"
    ).to_arrow_table()
    feature_parts = [
        f"SELECT {int(d)} AS day, account_id, feature,"
        f" count(*) FILTER (WHERE last_{i} >= {int(d) - bw + 1}) AS users"
        " FROM matched GROUP BY account_id, feature"
        for i, d in enumerate(days)
    ]
    features = con.sql(
        "SELECT CAST(day AS INTEGER) AS day, account_id, feature, users FROM ("
        + " UNION ALL ".join(feature_parts)
        + ") WHERE users > 0 ORDER BY day, account_id, feature"
    ).to_arrow_table()
    seen = [r[0] for r in con.execute("SELECT DISTINCT feature FROM matched ORDER BY 1").fetchall()]
    return Rollup(
        accounts=accounts,
        features=features,
        seen=seen,
        rows=int(rows),
        span=None if lo is None else (int(lo), int(hi)),
        skipped_unknown=int(unknown),
        skipped_moved=int(moved),
        examples=examples,
    )


def _empty(rows: int, bad_dates: int, bad_events: int, missing: int) -> Rollup:
    from cstool.engines.base import empty_tables

    accounts, features = empty_tables()
    return Rollup(
        accounts, features, [], rows, bad_dates=bad_dates, bad_events=bad_events, missing=missing
    )


# -- reading ---------------------------------------------------------------------------------


def _canonical(con: duckdb.DuckDBPyConnection, source: Source, reading: Reading) -> None:
    """Define the view ``usage_rows`` (user_id, feature, account_id, day, events) over the
    source: ids as trimmed text (empty = missing), the date as a day number (NULL when it
    does not parse), events as an integer (1 when missing; NULL when not a whole number)."""
    if source.kind == "workspace":
        _workspace_rows(con, Path(source.location))
        return
    rel = _relation(con, source, reading)
    at = usage_columns(list(rel.columns), reading, Path(source.location).name)
    types = [str(t).upper() for t in rel.types]
    rel.create_view("source_rows")

    def text(column: str) -> str:
        return f"NULLIF(trim(CAST(#{at[column] + 1} AS VARCHAR)), '')"

    date_ref, date_type = f"#{at['date'] + 1}", types[at["date"]]
    if date_type == "DATE":
        day = f"CAST({date_ref} - {_EPOCH} AS INTEGER)"
    elif date_type.startswith("TIMESTAMP"):
        day = f"CAST(CAST({date_ref} AS DATE) - {_EPOCH} AS INTEGER)"
    elif date_type == "VARCHAR":
        day = f"CAST(CAST(try_strptime(trim({date_ref}), $fmt) AS DATE) - {_EPOCH} AS INTEGER)"
    else:
        raise InputError(
            f"{Path(source.location).name}: column date is {date_type}",
            hint="cstool reads usage dates stored as DATE, TIMESTAMP or text",
        )
    if "events" not in at:
        events = "1"
    else:
        ref, kind = f"#{at['events'] + 1}", types[at["events"]]
        if kind == "VARCHAR":
            # Whole numbers only: a cast alone would round 1.5 to 2.
            events = (
                f"CASE WHEN {ref} IS NULL OR trim({ref}) = '' THEN 1"
                f" WHEN regexp_full_match(trim({ref}), '[+-]?[0-9]+')"
                f" THEN TRY_CAST(trim({ref}) AS BIGINT) END"
            )
        elif kind in ("FLOAT", "DOUBLE") or kind.startswith("DECIMAL"):
            events = (
                f"CASE WHEN {ref} IS NULL THEN 1 WHEN {ref} = trunc({ref})"
                f" THEN CAST({ref} AS BIGINT) END"
            )
        else:
            events = f"coalesce(TRY_CAST({ref} AS BIGINT), 1)"
    sql = (
        f"CREATE VIEW usage_rows AS SELECT {text('user_id')} AS user_id,"
        f" {text('feature')} AS feature, {text('account_id')} AS account_id,"
        f" {day} AS day, {events} AS events FROM source_rows"
    )
    # A view cannot hold a parameter: the date format goes in as a quoted literal.
    con.execute(sql.replace("$fmt", _literal(reading.date_format)))


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _relation(con: duckdb.DuckDBPyConnection, source: Source, reading: Reading) -> Any:
    path = source.location
    if source.kind == "table":
        raise InputError(
            f"{path!r} is a table name; the duckdb engine reads Parquet or CSV files",
            hint="pass a file, folder or glob, or use --engine spark for a table",
        )
    if Path(path).is_dir():
        ext = "csv" if source.kind == "csv" else "parquet"
        path = str(Path(path) / "**" / f"*.{ext}")
    try:
        if source.kind == "csv":
            encoding = _ENCODINGS.get(reading.encoding.lower())
            if encoding is None:
                raise InputError(
                    f"DuckDB cannot read CSV in {reading.encoding}",
                    hint="convert the files to UTF-8, or load them with `cstool load usage`",
                )
            return con.read_csv(
                path,
                header=True,
                all_varchar=True,
                sep=reading.delimiter,
                encoding=encoding,
                quotechar='"',
            )
        return con.read_parquet(path, union_by_name=True)
    except InputError:
        raise
    except Exception as e:  # duckdb.IOException, InvalidInputException, ...
        raise InputError(
            f"cannot read {source.location}: {str(e).splitlines()[0]}",
            hint="check the path or glob, and that the files are "
            + ("CSV" if source.kind == "csv" else "Parquet"),
        ) from None


def _workspace_rows(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """``usage_rows`` over the usage loaded in a cstool database, streamed from SQLite."""
    import pyarrow as pa

    from cstool.store import usage as usage_db

    if not path.exists():
        raise InputError(f"{path} does not exist", hint="pass the cstool.db of a workspace")
    # DuckDB pulls the batches from its own thread; only that thread reads the connection.
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
    try:
        ids = usage_db.user_ids(db)
        names = usage_db.feature_catalogue(db)
    except sqlite3.DatabaseError as e:
        db.close()
        raise InputError(
            f"{path.name} is not a cstool database ({e})",
            hint="pass the cstool.db of a workspace",
        ) from None
    users = pa.table(
        {
            "uid": pa.array([r[0] for r in ids], pa.int64()),
            "user_id": pa.array([r[1] for r in ids], pa.string()),
            "account_id": pa.array([r[2] for r in ids], pa.string()),
        }
    )
    features = pa.table(
        {
            "fid": pa.array([r[0] for r in names], pa.int64()),
            "feature": pa.array([r[1] for r in names], pa.string()),
        }
    )
    schema = pa.schema(
        [("day", pa.int32()), ("uid", pa.int64()), ("fid", pa.int64()), ("events", pa.int64())]
    )

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            for chunk in usage_db.all_rows(db, 200_000):
                day, uid, fid, events = zip(*chunk, strict=True)
                yield pa.record_batch(
                    [
                        pa.array(day, pa.int32()),
                        pa.array(uid, pa.int64()),
                        pa.array(fid, pa.int64()),
                        pa.array(events, pa.int64()),
                    ],
                    schema=schema,
                )
        finally:
            db.close()

    con.register("ws_users", users)
    con.register("ws_features", features)
    con.register("ws_usage", pa.RecordBatchReader.from_batches(schema, batches()))
    con.execute(
        "CREATE VIEW usage_rows AS SELECT u.user_id, f.feature, u.account_id, r.day, r.events"
        " FROM ws_usage r JOIN ws_users u ON u.uid = r.uid JOIN ws_features f ON f.fid = r.fid"
    )
