"""The Spark engine: the rollup as DataFrames, over Parquet, CSV or a table, on any cluster.

``engines.spark.master`` picks where it runs: ``local[*]`` (this machine's cores; the driver
binds to 127.0.0.1 and the web UI is off) or a cluster (``spark://host:7077``, ``yarn``,
``k8s://...``). The rows are read once: one aggregation by (user, feature, account) with the
first active day and, per date, the last active day on or before it, shuffled by that key
and kept (persisted) for the small steps after it. Only per-account results come back to
the driver. Source columns are renamed by position before use, so no name from a file is
parsed as an expression.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cstool.engines.base import Job, Reading, Rollup, Source, usage_columns
from cstool.errors import InputError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from cstool.config import SparkConfig

# strftime directives and the Spark (java.time) pattern letters that parse the same text.
_PATTERNS = {
    "Y": "yyyy",
    "y": "yy",
    "m": "MM",
    "d": "dd",
    "b": "MMM",
    "B": "MMMM",
    "H": "HH",
    "M": "mm",
    "S": "ss",
    "j": "DDD",
}


def spark_pattern(strftime: str) -> str:
    """A strftime date format as a Spark datetime pattern: ``%d/%m/%Y`` is ``dd/MM/yyyy``.

    Letters outside directives are quoted, as java.time wants; a directive without an
    equivalent is refused.
    """
    out: list[str] = []
    literal: list[str] = []

    def flush() -> None:
        if literal:
            text = "".join(literal)
            out.append(
                "'" + text.replace("'", "''") + "'" if re.search(r"[A-Za-z']", text) else text
            )
            literal.clear()

    i = 0
    while i < len(strftime):
        ch = strftime[i]
        if ch == "%" and i + 1 < len(strftime):
            code = strftime[i + 1]
            if code == "%":
                literal.append("%")
            elif code in _PATTERNS:
                flush()
                out.append(_PATTERNS[code])
            else:
                raise InputError(
                    f"the date format {strftime!r} has %{code}, which the spark engine cannot read",
                    hint="use %Y %y %m %d %b %B %H %M %S %j, or store dates as DATE",
                )
            i += 2
            continue
        literal.append(ch)
        i += 1
    flush()
    return "".join(out)


class SparkEngine:
    """Rollups with Spark (``cstool[spark]``)."""

    name = "spark"

    def __init__(self, settings: SparkConfig) -> None:
        self.settings = settings

    def _session(self) -> tuple[SparkSession, bool]:
        """The active session, or a new one (True: made here, so stopped after use)."""
        with warnings.catch_warnings():
            # pyspark warns that it does not yet support the pandas a fresh install gets; the
            # rollup does not use pandas.
            warnings.simplefilter("ignore", FutureWarning)
            from pyspark.sql import SparkSession

            active = SparkSession.getActiveSession()
            if active is not None:
                return active, False
            master = self.settings.master
            if master.startswith("local"):
                # The JVM picks its address before reading the session's settings.
                os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
            b = SparkSession.builder.appName("cstool rollup").master(master)
            if master.startswith("local"):
                b = (
                    b.config("spark.driver.host", "127.0.0.1")
                    .config("spark.driver.bindAddress", "127.0.0.1")
                    .config("spark.sql.shuffle.partitions", "8")
                )
            b = (
                b.config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false")
                .config("spark.sql.session.timeZone", "UTC")
            )
            spark = b.getOrCreate()
        spark.sparkContext.setLogLevel("ERROR")
        return spark, True

    def latest_day(self, source: Source, reading: Reading) -> int | None:
        from pyspark.sql import functions as F

        spark, mine = self._session()
        try:
            row = _canonical(spark, source, reading).agg(F.max("day")).first()
            return None if row is None or row[0] is None else int(row[0])
        finally:
            if mine:
                spark.stop()

    def rollup(self, job: Job) -> Rollup:
        spark, mine = self._session()
        try:
            return _rollup(spark, job)
        finally:
            if mine:
                spark.stop()


def _rollup(spark: SparkSession, job: Job) -> Rollup:
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    days = job.days
    rows = _canonical(spark, job.source, job.reading)
    day, events = F.col("day"), F.col("events")
    ones = F.lit(1)

    def count_if(cond: Any) -> Any:
        return F.sum(F.when(cond, ones).otherwise(0))

    # The one pass over the rows; users is small, so joining it is a broadcast, not a shuffle.
    pairs = rows.groupBy("user_id", "feature", "account_id").agg(
        F.count(ones).alias("n"),
        F.min(day).alias("lo"),
        F.max(day).alias("hi"),
        count_if(day.isNull()).alias("bad_dates"),
        count_if(events.isNull() | (events < 0)).alias("bad_events"),
        F.min(F.when(events > 0, day)).alias("first_day"),
        *(
            F.max(F.when((events > 0) & (day <= d), day)).alias(f"last_{i}")
            for i, d in enumerate(days)
        ),
    )
    users = F.broadcast(spark.createDataFrame(job.users))
    joined = pairs.join(
        users.select("user_id", F.col("account_id").alias("users_account")), "user_id", "left"
    ).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        return _from_groups(job, joined, users)
    finally:
        joined.unpersist()


def _from_groups(job: Job, joined: DataFrame, users: DataFrame) -> Rollup:
    """The statistics from the (user, feature, account) groups joined to their user."""
    from pyspark.sql import functions as F

    days = job.days
    n, owner, account = F.col("n"), F.col("users_account"), F.col("account_id")
    outside = owner.isNull() | (owner != account)
    totals = joined.agg(
        F.sum(n),
        F.sum("bad_dates"),
        F.sum("bad_events"),
        F.sum(F.when(F.col("user_id").isNull() | F.col("feature").isNull(), n).otherwise(0)),
        F.sum(F.when(owner.isNull(), n).otherwise(0)),
        F.sum(F.when(owner.isNotNull() & (owner != account), n).otherwise(0)),
        F.min("lo"),
        F.max("hi"),
    ).first()
    rows, bad_dates, bad_events, missing, unknown, moved = (
        int(v or 0) for v in (list(totals) if totals else [0] * 8)[:6]
    )
    lo, hi = (totals[6], totals[7]) if totals else (None, None)
    span = None if lo is None or hi is None else (int(lo), int(hi))
    if bad_dates or bad_events or missing:
        from cstool.engines.base import empty_tables

        accounts, features = empty_tables()
        return Rollup(
            accounts,
            features,
            [],
            rows,
            span,
            bad_dates=bad_dates,
            bad_events=bad_events,
            missing=missing,
        )
    examples = []
    if unknown or moved:
        examples = [
            r[0]
            for r in joined.where(outside)
            .select("user_id")
            .distinct()
            .orderBy("user_id")
            .limit(3)
            .collect()
        ]
    matched = joined.where(owner == account).drop("users_account")
    per_user = matched.groupBy("user_id").agg(
        F.min("first_day").alias("first_day"),
        *(F.max(f"last_{i}").alias(f"last_{i}") for i in range(len(days))),
    )
    activated_day = F.coalesce(F.col("activated"), F.col("first_day"))
    dw, bw = job.depth_window_days, job.breadth_window_days

    def count_if(cond: Any) -> Any:
        return F.sum(F.when(cond, 1).otherwise(0))

    wide_accounts = (
        users.join(per_user, "user_id", "left")
        .groupBy("account_id")
        .agg(
            *(count_if(activated_day <= d).alias(f"activated_{i}") for i, d in enumerate(days)),
            *(
                count_if((activated_day <= d) & (F.col(f"last_{i}") >= d - dw + 1)).alias(
                    f"active_{i}"
                )
                for i, d in enumerate(days)
            ),
        )
        .toArrow()
    )
    wide_features = (
        matched.groupBy("account_id", "feature")
        .agg(
            *(
                count_if(F.col(f"last_{i}") >= d - bw + 1).alias(f"users_{i}")
                for i, d in enumerate(days)
            )
        )
        .toArrow()
    )
    # Every feature of the counted rows has a group, used in the windows or not.
    seen = sorted({str(f) for f in wide_features.column("feature").to_pylist()})
    accounts, features = _long(days, wide_accounts, wide_features)
    return Rollup(
        accounts=accounts,
        features=features,
        seen=seen,
        rows=rows,
        span=span,
        skipped_unknown=unknown,
        skipped_moved=moved,
        examples=examples,
    )


def _long(days: tuple[int, ...], wide_accounts: Any, wide_features: Any) -> tuple[Any, Any]:
    """The per-date columns of the wide results as rows of (day, ...), as every engine
    returns them."""
    import pyarrow as pa
    import pyarrow.compute as pc

    acc_parts, feat_parts = [], []
    for i, d in enumerate(days):
        a = wide_accounts.filter(pc.greater(wide_accounts[f"activated_{i}"], 0))
        acc_parts.append(
            pa.table(
                {
                    "day": pa.array([d] * a.num_rows, pa.int32()),
                    "account_id": a["account_id"].cast(pa.string()),
                    "activated": a[f"activated_{i}"].cast(pa.int64()),
                    "active": a[f"active_{i}"].cast(pa.int64()),
                }
            )
        )
        f = wide_features.filter(pc.greater(wide_features[f"users_{i}"], 0))
        feat_parts.append(
            pa.table(
                {
                    "day": pa.array([d] * f.num_rows, pa.int32()),
                    "account_id": f["account_id"].cast(pa.string()),
                    "feature": f["feature"].cast(pa.string()),
                    "users": f[f"users_{i}"].cast(pa.int64()),
                }
            )
        )
    accounts = pa.concat_tables(acc_parts).sort_by(
        [("day", "ascending"), ("account_id", "ascending")]
    )
    features = pa.concat_tables(feat_parts).sort_by(
        [("day", "ascending"), ("account_id", "ascending"), ("feature", "ascending")]
    )
    return accounts, features


# -- reading ---------------------------------------------------------------------------------


def _canonical(spark: SparkSession, source: Source, reading: Reading) -> DataFrame:
    """The source as (user_id, feature, account_id, day, events): ids as trimmed text (empty
    = missing), the date as a day number (null when it does not parse), events as an
    integer (1 when missing; null when not a whole number)."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    df = _read(spark, source, reading)
    label = Path(source.location).name if source.kind != "table" else source.location
    at = usage_columns(list(df.columns), reading, label)
    types = [f.dataType for f in df.schema.fields]
    # Positional names, so that no header (dots, backticks) is ever read as an expression.
    df = df.toDF(*(f"c{i}" for i in range(len(df.columns))))

    def text(column: str) -> Any:
        c = F.trim(F.col(f"c{at[column]}").cast("string"))
        return F.when(c != "", c)

    date_col, date_type = F.col(f"c{at['date']}"), types[at["date"]]
    if isinstance(date_type, T.DateType):
        as_date = date_col
    elif isinstance(date_type, (T.TimestampType, T.TimestampNTZType)):
        as_date = F.to_date(date_col)
    elif isinstance(date_type, T.StringType):
        as_date = F.try_to_date(F.trim(date_col), spark_pattern(reading.date_format))
    else:
        raise InputError(
            f"{label}: column date is {date_type.simpleString()}",
            hint="cstool reads usage dates stored as DATE, TIMESTAMP or text",
        )
    if "events" not in at:
        events = F.lit(1).cast("long")
    else:
        e, kind = F.col(f"c{at['events']}"), types[at["events"]]
        if isinstance(kind, T.StringType):
            t = F.trim(e)
            # Whole numbers only: a cast alone may read 1.5 as 1.
            events = F.when(e.isNull() | (t == ""), F.lit(1).cast("long")).when(
                t.rlike("^[+-]?[0-9]+$"), t.try_cast("long")
            )
        elif isinstance(kind, (T.FloatType, T.DoubleType, T.DecimalType)):
            events = F.when(e.isNull(), F.lit(1).cast("long")).when(e == F.floor(e), e.cast("long"))
        else:
            events = F.coalesce(e.try_cast("long"), F.lit(1).cast("long"))
    return df.select(
        text("user_id").alias("user_id"),
        text("feature").alias("feature"),
        text("account_id").alias("account_id"),
        F.unix_date(as_date).alias("day"),
        events.alias("events"),
    )


def _read(spark: SparkSession, source: Source, reading: Reading) -> DataFrame:
    if source.kind == "workspace":
        raise InputError(
            f"{source.location}: the spark engine does not read workspace databases",
            hint="export the usage first with `cstool export usage --parquet DIR`, or use "
            "--engine duckdb",
        )
    try:
        if source.kind == "table":
            return spark.table(source.location)
        if source.kind == "csv":
            return (
                spark.read.option("header", True)
                .option("inferSchema", False)
                .option("sep", reading.delimiter)
                .option("encoding", reading.encoding)
                .csv(source.location)
            )
        return spark.read.option("mergeSchema", True).parquet(source.location)
    except Exception as e:  # AnalysisException and the like: a path or table that is not there
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InputError(
            f"cannot read {source.location}: {first}",
            hint="check the path, glob or table name",
        ) from None
