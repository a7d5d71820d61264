"""Roll usage up where it lives, and store the per-account statistics in the workspace.

``cstool rollup`` runs an engine (:mod:`cstool.engines`) over a source of usage rows (Parquet
or CSV files, a Spark table, a workspace database) for one or more dates, with the users of
the workspace, and stores what it returns in :mod:`cstool.store.rollups`, recorded like a
load. From then on adoption takes each rolled-up date's statistics from the rollup (see
:func:`cstool.adoption.sources`), so ``score``, ``backfill``, ``explain``, the 360 and
everything downstream work as if the usage had been loaded.

The engine runs before the workspace is locked: a long rollup does not keep others from
reading or loading; only storing its result takes the write lock.
"""

from __future__ import annotations

import glob
import hashlib
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from cstool.engines import ENGINES, Job, Reading, Rollup, Source, refuse_bad_rows
from cstool.errors import InputError, UsageError
from cstool.store import day_date, day_number
from cstool.store import rollups as rollups_db
from cstool.store import usage as usage_db

if TYPE_CHECKING:
    import pyarrow as pa

    from cstool.config import Config
    from cstool.engines import Engine
    from cstool.store import Store
    from cstool.workspace import Workspace

_TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}")
_GLOB = re.compile(r"[*?\[]")


def source_of(text: str, engine: str) -> Source:
    """What ``--usage`` names: a ``.csv`` file or glob, a cstool database (``.db``), Parquet
    files (a ``.parquet`` file or glob, or a folder of them), or, for Spark, a table name."""
    path = Path(text)
    lower = text.lower()
    if lower.endswith((".db", ".sqlite", ".sqlite3")):
        kind = "workspace"
    elif lower.endswith((".csv", ".csv.gz", ".tsv", ".txt")):
        kind = "csv"
    elif path.is_dir() or lower.endswith(".parquet") or _GLOB.search(text):
        kind = "parquet"
    elif engine == "spark" and _TABLE_NAME.fullmatch(text):
        return Source("table", text)
    else:
        raise InputError(
            f"--usage {text}: not a .parquet or .csv file, a folder or a glob"
            + (" (nor a table name)" if engine == "spark" else ""),
            hint="e.g. --usage 'lake/usage/*.parquet' or --usage usage.csv"
            + ("; a table name is read with --engine spark" if engine != "spark" else ""),
        )
    if kind != "parquet" or not _GLOB.search(text):
        if not path.exists():
            raise InputError(f"--usage {text}: no such file or folder", hint="check the path")
    elif not glob.glob(text, recursive=True):
        raise InputError(f"--usage {text}: no file matches", hint="check the glob")
    return Source(kind, text)  # type: ignore[arg-type]


def reading_of(config: Config) -> Reading:
    """How usage sources are read: ``exports.usage`` in cstool.yaml."""
    cfg = config.export("usage")
    return Reading(
        columns=dict(cfg.columns),
        date_format=cfg.date_formats.get("date", config.date_format),
        delimiter=cfg.delimiter,
        encoding=cfg.encoding or "utf-8",
    )


def workspace_users(store: Store) -> pa.Table:
    """The workspace's users as the engines take them: user_id, account_id and the day
    number of activated_at (null when missing)."""
    import pyarrow as pa

    rows = usage_db.activation_days(store.db)
    return pa.table(
        {
            "user_id": pa.array([r[0] for r in rows], pa.string()),
            "account_id": pa.array([r[1] for r in rows], pa.string()),
            "activated": pa.array([r[2] for r in rows], pa.int32()),
        }
    )


def _series(start: date, end: date, every: int) -> list[date]:
    if start > end:
        raise InputError(f"--from {start} is after --to {end}", hint="swap the dates")
    out = []
    d = end
    while d >= start:
        out.append(d)
        d -= timedelta(days=every)
    return sorted(out)


@dataclass
class RollupRun:
    """What a rollup did: the dates it stored and what it read."""

    engine: str
    source: str
    dates: list[date]
    accounts: int  # accounts with statistics on the latest date
    rows: int
    skipped: int
    seconds: float
    warnings: list[str] = field(default_factory=list)


def rollup(
    ws: Workspace,
    engine_name: str,
    usage: str,
    *,
    as_of: date | None = None,
    start: date | None = None,
    end: date | None = None,
    every: int = 7,
    now: datetime,
    engine: Engine | None = None,
) -> RollupRun:
    """Roll the usage at ``usage`` up with ``engine_name`` and store the statistics.

    Dates: ``as_of``; or ``end``, ``end - every``, ... back to ``start``; by default the
    latest day in the source (with ``--from`` and no ``--to``, the series ends there).
    ``engine`` replaces the one the name picks (a test may pass one with a session open).
    ``now`` is the time the record keeps (the core never reads the clock).
    """
    from cstool.engines import engine as pick

    if engine_name not in ENGINES:
        raise UsageError(f"unknown engine {engine_name!r}", hint=f"use {' or '.join(ENGINES)}")
    config = ws.resolved.config
    source = source_of(usage, engine_name)
    if as_of is not None and (start is not None or end is not None):
        raise UsageError("--as-of cannot be combined with --from or --to", hint="pick one")
    if every < 1:
        raise InputError("--every must be at least 1 day", hint="e.g. --every 7")
    eng = engine or pick(engine_name, config)
    reading = reading_of(config)
    started = time.perf_counter()
    if as_of is not None:
        dates = [as_of]
    else:
        if end is None:
            latest = eng.latest_day(source, reading)
            if latest is None:
                raise InputError(
                    f"{usage}: the source has no usage rows with a date", hint="check --usage"
                )
            end = day_date(latest)
        dates = _series(start or end, end, every) if start is not None else [end]
    with ws.open_store() as store:
        users = workspace_users(store)
        users_load = rollups_db.last_users_load(store.db)
    if users.num_rows == 0:
        raise InputError(
            "no users are loaded, so there is nobody to count usage for",
            hint="load the users export first: `cstool load users FILE`",
        )
    m = config.metrics
    job = Job(
        source,
        reading,
        users,
        tuple(day_number(d) for d in dates),
        m.depth_window_days,
        m.breadth_window_days,
    )
    result = eng.rollup(job)
    refuse_bad_rows(result, usage, reading.date_format)
    warnings = _check_dates(
        dates, result, usage, max(job.depth_window_days, job.breadth_window_days)
    )
    seconds = time.perf_counter() - started
    record = rollups_db.RollupRecord(
        engine=engine_name,
        source=_label(ws, usage),
        rows=result.rows,
        skipped=result.skipped,
        first_day=job.days[0],
        last_day=job.days[-1],
        dates=len(job.days),
        depth_window_days=job.depth_window_days,
        breadth_window_days=job.breadth_window_days,
        users_load=users_load,
        settings=_fingerprint(reading),
        made_at=now.isoformat(timespec="seconds"),
        seconds=round(seconds, 3),
    )
    with ws.open_store(write=True) as store, store.transaction():
        store_rollup(store, record, job, result)
    last = job.days[-1]
    accounts = sum(1 for d in result.accounts.column("day").to_pylist() if d == last)
    return RollupRun(
        engine_name,
        record.source,
        dates,
        accounts,
        result.rows,
        result.skipped,
        seconds,
        warnings + _warnings(result),
    )


def store_rollup(store: Store, record: rollups_db.RollupRecord, job: Job, r: Rollup) -> None:
    """Store an engine's statistics for the job's dates (inside the caller's transaction).

    Features the rows name that the workspace has not seen join ``feature_names``, as a
    usage load adds them, so that "every feature seen in usage" holds the rolled-up ones.
    """
    fids = dict(usage_db.feature_names(store.db))
    fresh = sorted((set(r.seen) | set(r.features.column("feature").to_pylist())) - fids.keys())
    start = max(fids.values(), default=0) + 1
    added = [(start + i, name) for i, name in enumerate(fresh)]
    usage_db.add_features(store.db, added)
    fids.update((name, fid) for fid, name in added)
    rid = rollups_db.record(store.db, record)

    def accounts() -> Iterator[tuple[int, str, int, int]]:
        t = r.accounts
        return zip(
            t.column("day").to_pylist(),
            t.column("account_id").to_pylist(),
            t.column("activated").to_pylist(),
            t.column("active").to_pylist(),
            strict=True,
        )

    def features() -> Iterator[tuple[int, str, int, int]]:
        t = r.features
        for day, aid, name, users in zip(
            t.column("day").to_pylist(),
            t.column("account_id").to_pylist(),
            t.column("feature").to_pylist(),
            t.column("users").to_pylist(),
            strict=True,
        ):
            yield day, aid, fids[name], users

    rollups_db.replace(
        store.db,
        rid,
        job.days,
        (job.depth_window_days, job.breadth_window_days),
        accounts(),
        features(),
    )


def _check_dates(dates: list[date], r: Rollup, usage: str, reach: int) -> list[str]:
    """Refuse dates so far from the source's rows that every account would look idle; warn
    about dates after its last day."""
    if r.span is None:
        raise InputError(f"{usage}: the source has no usage rows", hint="check --usage")
    first, last = day_date(r.span[0]), day_date(r.span[1])
    for d in dates:
        if not first - timedelta(days=reach) < d < last + timedelta(days=reach):
            raise InputError(
                f"{d} is too far from the usage in {usage}, {first} to {last}",
                hint="pick dates in that range",
            )
    after = [d for d in dates if d > last]
    if not after:
        return []
    return [
        f"{after[0]} is {(after[0] - last).days} days after the latest usage in the source "
        f"({last}); activity since then is not counted"
    ]


def _warnings(r: Rollup) -> list[str]:
    out = []
    if r.skipped_unknown:
        out.append(
            f"skipped {r.skipped_unknown:,} usage row{'s' if r.skipped_unknown != 1 else ''} "
            "of users the users export does not have"
            + (f" (e.g. {', '.join(repr(x) for x in r.examples)})" if r.examples else "")
            + "; load the latest users export and roll up again to count them"
        )
    if r.skipped_moved:
        out.append(
            f"skipped {r.skipped_moved:,} usage row{'s' if r.skipped_moved != 1 else ''} whose "
            "account_id is not the user's account in the users export"
        )
    return out


def _label(ws: Workspace, usage: str) -> str:
    """The source as the record keeps it: relative to the workspace when inside it."""
    if _GLOB.search(usage) or not Path(usage).exists():
        return usage
    return ws.relative(Path(usage))


def _fingerprint(reading: Reading) -> str:
    facts = json.dumps(reading.__dict__, sort_keys=True)
    return hashlib.sha256(facts.encode()).hexdigest()[:12]
