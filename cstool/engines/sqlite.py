"""The built-in engine: the statistics from the usage loaded in the workspace.

This is the arithmetic ``cstool score`` runs on loaded usage (numpy over the compact usage
table, :func:`cstool.adoption.statistics_at`), offered behind the engine interface so that
the other engines are checked against it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cstool.engines.base import Job, Reading, Rollup, Source
from cstool.errors import InputError
from cstool.store import day_date

if TYPE_CHECKING:
    from cstool.config import MetricsConfig
    from cstool.store import Store


class SqliteEngine:
    """Rollups of the usage loaded in this workspace's database."""

    name = "sqlite"

    def __init__(self, store: Store, metrics: MetricsConfig) -> None:
        self.store = store
        self.metrics = metrics

    def latest_day(self, source: Source, reading: Reading) -> int | None:
        from cstool.store import usage as usage_db

        span = usage_db.day_range(self.store.db)
        return None if span is None else span[1]

    def rollup(self, job: Job) -> Rollup:
        """The statistics of every account (active or not) from the loaded usage; ``job``'s
        source must be this workspace (its users are the store's)."""
        import pyarrow as pa

        from cstool import adoption
        from cstool.store import usage as usage_db

        if job.source.kind != "workspace":
            raise InputError(
                f"the built-in engine reads the usage loaded in the workspace, not "
                f"{job.source.location}",
                hint="use --engine duckdb or --engine spark",
            )
        metrics = self.metrics.model_copy(
            update={
                "depth_window_days": job.depth_window_days,
                "breadth_window_days": job.breadth_window_days,
            }
        )
        u = adoption.universe(self.store, metrics, active_only=False)
        window = max(job.depth_window_days, job.breadth_window_days)
        usage = adoption.read_active(self.store, u, job.days[0] - window + 1, job.days[-1])
        acc: dict[str, list[Any]] = {"day": [], "account_id": [], "activated": [], "active": []}
        feat: dict[str, list[Any]] = {"day": [], "account_id": [], "feature": [], "users": []}
        for d in job.days:
            s = adoption.statistics_at(u, usage, day_date(d), metrics)
            for i in s.activated.nonzero()[0].tolist():
                acc["day"].append(d)
                acc["account_id"].append(u.account_ids[i])
                acc["activated"].append(int(s.activated[i]))
                acc["active"].append(int(s.active[i]))
            rows, cols = s.users.nonzero()
            for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
                feat["day"].append(d)
                feat["account_id"].append(u.account_ids[i])
                feat["feature"].append(u.feature_names[j])
                feat["users"].append(int(s.users[i, j]))
        rows_read = usage_db.count(self.store.db)
        seen = sorted(name for _, name in usage_db.feature_catalogue(self.store.db))
        accounts = pa.table(
            {
                "day": pa.array(acc["day"], pa.int32()),
                "account_id": pa.array(acc["account_id"], pa.string()),
                "activated": pa.array(acc["activated"], pa.int64()),
                "active": pa.array(acc["active"], pa.int64()),
            }
        ).sort_by([("day", "ascending"), ("account_id", "ascending")])
        features = pa.table(
            {
                "day": pa.array(feat["day"], pa.int32()),
                "account_id": pa.array(feat["account_id"], pa.string()),
                "feature": pa.array(feat["feature"], pa.string()),
                "users": pa.array(feat["users"], pa.int64()),
            }
        ).sort_by([("day", "ascending"), ("account_id", "ascending"), ("feature", "ascending")])
        return Rollup(accounts, features, seen, rows_read, usage_db.day_range(self.store.db))
