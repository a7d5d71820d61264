"""The loaded usage as Parquet, for a team moving its usage from CSV exports to a lake.

``cstool export usage --parquet DIR`` writes ``DIR/month=YYYY-MM/part-0.parquet`` with the
columns date (date32), account_id, user_id, feature (text) and events (int64): one folder
per month (Hive-style, which Spark, DuckDB and pyarrow read as a partition), rows in day,
user and feature order. The same loaded usage always gives byte-identical files. Reading
them back with ``cstool rollup`` gives the statistics scoring the loaded usage gives.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cstool.errors import EnvironmentProblem, InputError
from cstool.store import day_date

if TYPE_CHECKING:
    from collections.abc import Callable

    from cstool.store import Store

# Rows per Parquet row group: large enough for fast scans, small enough to bound memory.
ROW_GROUP = 1 << 20


@dataclass
class ParquetExport:
    """What an export wrote."""

    folder: Path
    files: list[Path]
    rows: int


def export_usage(
    store: Store, folder: Path, progress: Callable[[int, int], None] | None = None
) -> ParquetExport:
    """Write the loaded usage to ``folder`` as Parquet partitioned by month.

    ``folder`` must be new or empty: nothing is overwritten.
    """
    import pyarrow as pa

    from cstool.store import usage as usage_db

    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InputError(
            f"{folder} is not an empty folder", hint="pass a new or empty folder for the export"
        )
    span = usage_db.day_range(store.db)
    if span is None:
        raise InputError("no usage is loaded", hint="load usage with `cstool load usage FILE`")
    schema = pa.schema(
        [
            ("date", pa.date32()),
            ("account_id", pa.string()),
            ("user_id", pa.string()),
            ("feature", pa.string()),
            ("events", pa.int64()),
        ]
    )
    months: dict[str, list[int]] = {}
    for d in range(span[0], span[1] + 1):
        months.setdefault(day_date(d).strftime("%Y-%m"), []).append(d)
    try:
        files, rows = _write_months(store, folder, months, schema, progress)
    except OSError as e:
        raise EnvironmentProblem(
            f"cannot write {e.filename or folder}: {e.strerror or e}",
            hint="check that the folder can be created and written, and that the disk has room",
        ) from None
    return ParquetExport(folder, files, rows)


def _write_months(
    store: Store,
    folder: Path,
    months: dict[str, list[int]],
    schema: Any,
    progress: Callable[[int, int], None] | None,
) -> tuple[list[Path], int]:
    """Write each month's usage to ``folder/month=YYYY-MM/part-0.parquet``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    users, accounts, features = _names(store)
    files, rows, done = [], 0, 0
    total = sum(len(days) for days in months.values())
    folder.mkdir(parents=True, exist_ok=True)
    for month, days in months.items():
        path = folder / f"month={month}" / "part-0.parquet"
        writer = None
        pending: list[Any] = []
        size = 0
        for d in days:
            batch = _day(store, d, users, accounts, features, schema)
            if batch.num_rows:
                pending.append(batch)
                size += batch.num_rows
            if size >= ROW_GROUP or (d == days[-1] and pending):
                if writer is None:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    writer = pq.ParquetWriter(path, schema, compression="zstd")
                writer.write_table(pa.Table.from_batches(pending, schema), row_group_size=ROW_GROUP)
                rows += size
                pending, size = [], 0
            done += 1
            if progress:
                progress(done, total)
        if writer is not None:
            writer.close()
            files.append(path)
    return files, rows


def _names(store: Store) -> tuple[Any, Any, Any]:
    """user_id, account_id and feature name arrays indexed by uid and fid."""
    import pyarrow as pa

    from cstool.store import usage as usage_db

    users = usage_db.user_ids(store.db)
    n = max((r[0] for r in users), default=0) + 1
    user_ids: list[str | None] = [None] * n
    account_ids: list[str | None] = [None] * n
    for uid, user_id, account_id in users:
        user_ids[uid], account_ids[uid] = user_id, account_id
    names = usage_db.feature_catalogue(store.db)
    feature_names: list[str | None] = [None] * (max((r[0] for r in names), default=0) + 1)
    for fid, name in names:
        feature_names[fid] = name
    return (
        pa.array(user_ids, pa.string()),
        pa.array(account_ids, pa.string()),
        pa.array(feature_names, pa.string()),
    )


def _day(store: Store, d: int, users: Any, accounts: Any, features: Any, schema: Any) -> Any:
    """One day's usage rows as a record batch, in user and feature order."""
    import numpy as np
    import pyarrow as pa

    from cstool.store import usage as usage_db

    uids_text, fids_text, events_text = usage_db.day_keys(store.db, d)
    if uids_text is None or fids_text is None or events_text is None:
        return pa.record_batch([pa.array([], t) for t in schema.types], schema=schema)
    uid = pa.array(np.fromstring(uids_text, dtype=np.int64, sep=","))
    fid = pa.array(np.fromstring(fids_text, dtype=np.int64, sep=","))
    events = pa.array(np.fromstring(events_text, dtype=np.int64, sep=","))
    n = len(uid)
    return pa.record_batch(
        [
            pa.array(np.full(n, d, dtype=np.int32)).cast(pa.date32()),
            accounts.take(uid),
            users.take(uid),
            features.take(fid),
            events,
        ],
        schema=schema,
    )
