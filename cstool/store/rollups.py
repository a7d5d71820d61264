"""Usage rollups: per-account adoption statistics rolled up from usage by an engine.

A rollup holds, per date and account, what the adoption measures need from usage: activated
users, active users in the depth window and, per feature, the distinct users in the breadth
window. ``rollups`` records each run like the load manifest records a load (source, engine,
rows read, time); ``rollup_dates`` says which run each date's statistics come from and the
windows they were counted with. Days are day numbers and features ids into
``feature_names``, as for usage.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

# -- migrations ------------------------------------------------------------------------------


def create_tables(db: sqlite3.Connection) -> None:
    """Schema 10: rollup runs, the dates they cover and their per-account statistics."""
    db.execute(
        "CREATE TABLE rollups (rollup_id INTEGER PRIMARY KEY, engine TEXT NOT NULL,"
        " source TEXT NOT NULL, rows INTEGER NOT NULL, skipped INTEGER NOT NULL,"
        " first_day INTEGER NOT NULL, last_day INTEGER NOT NULL, dates INTEGER NOT NULL,"
        " depth_window_days INTEGER NOT NULL, breadth_window_days INTEGER NOT NULL,"
        " users_load INTEGER NOT NULL, settings TEXT NOT NULL, made_at TEXT NOT NULL,"
        " seconds REAL NOT NULL)"
    )
    db.execute(
        "CREATE TABLE rollup_dates (day INTEGER PRIMARY KEY, rollup_id INTEGER NOT NULL,"
        " depth_window_days INTEGER NOT NULL, breadth_window_days INTEGER NOT NULL)"
    )
    # Accounts without activated or active users and features without users have no row.
    db.execute(
        "CREATE TABLE rollup_accounts (day INTEGER NOT NULL, account_id TEXT NOT NULL,"
        " activated INTEGER NOT NULL, active INTEGER NOT NULL, PRIMARY KEY (day, account_id))"
        " WITHOUT ROWID"
    )
    db.execute(
        "CREATE TABLE rollup_features (day INTEGER NOT NULL, account_id TEXT NOT NULL,"
        " fid INTEGER NOT NULL, users INTEGER NOT NULL, PRIMARY KEY (day, account_id, fid))"
        " WITHOUT ROWID"
    )


# -- runs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RollupRecord:
    """One rollup run, as recorded: where the usage came from, how much, when and how long."""

    engine: str
    source: str
    rows: int  # usage rows read
    skipped: int  # rows of users the workspace does not know, or of another account
    first_day: int
    last_day: int
    dates: int
    depth_window_days: int
    breadth_window_days: int
    users_load: int  # the last users load when the rollup ran (0: none)
    settings: str  # fingerprint of the column mapping and reading settings
    made_at: str
    seconds: float


_RECORD_COLUMNS = (
    "engine, source, rows, skipped, first_day, last_day, dates, depth_window_days,"
    " breadth_window_days, users_load, settings, made_at, seconds"
)


def record(db: sqlite3.Connection, rec: RollupRecord) -> int:
    """Record a run (inside the caller's transaction); returns its id."""
    cur = db.execute(
        f"INSERT INTO rollups ({_RECORD_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            rec.engine,
            rec.source,
            rec.rows,
            rec.skipped,
            rec.first_day,
            rec.last_day,
            rec.dates,
            rec.depth_window_days,
            rec.breadth_window_days,
            rec.users_load,
            rec.settings,
            rec.made_at,
            rec.seconds,
        ),
    )
    return int(cur.lastrowid or 0)


def last_run(db: sqlite3.Connection) -> RollupRecord | None:
    """The most recent rollup run, or None."""
    row = db.execute(
        f"SELECT {_RECORD_COLUMNS} FROM rollups ORDER BY rollup_id DESC LIMIT 1"
    ).fetchone()
    return RollupRecord(*row) if row else None


def last_users_load(db: sqlite3.Connection) -> int:
    """The id of the latest users load in the manifest (0: none yet)."""
    row = db.execute("SELECT MAX(load_id) FROM loads WHERE kind = 'users'").fetchone()
    return int(row[0] or 0)


# -- statistics ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RolledDate:
    """A date with stored statistics: the windows they were counted with and their run."""

    day: int
    depth_window_days: int
    breadth_window_days: int
    rollup_id: int
    users_load: int
    made_at: str


def dates(db: sqlite3.Connection) -> dict[int, RolledDate]:
    """Every date with stored statistics, by day number."""
    cur = db.execute(
        "SELECT d.day, d.depth_window_days, d.breadth_window_days, d.rollup_id, r.users_load,"
        " r.made_at FROM rollup_dates d JOIN rollups r ON r.rollup_id = d.rollup_id"
    )
    return {int(r[0]): RolledDate(*r) for r in cur}


def replace(
    db: sqlite3.Connection,
    rollup_id: int,
    days: Sequence[int],
    windows: tuple[int, int],
    accounts: Iterable[tuple[int, str, int, int]],
    features: Iterable[tuple[int, str, int, int]],
) -> None:
    """Store the statistics of ``days``, replacing what those days held (inside the caller's
    transaction): ``accounts`` as (day, account_id, activated, active) and ``features`` as
    (day, account_id, fid, users)."""
    for table in ("rollup_accounts", "rollup_features", "rollup_dates"):
        db.executemany(f"DELETE FROM {table} WHERE day = ?", ((d,) for d in days))
    db.executemany(
        "INSERT INTO rollup_dates (day, rollup_id, depth_window_days, breadth_window_days)"
        " VALUES (?,?,?,?)",
        ((d, rollup_id, *windows) for d in days),
    )
    db.executemany("INSERT INTO rollup_accounts VALUES (?,?,?,?)", accounts)
    db.executemany("INSERT INTO rollup_features VALUES (?,?,?,?)", features)


def account_rows(
    db: sqlite3.Connection, day: int, account_id: str | None = None
) -> list[tuple[str, int, int]]:
    """(account_id, activated, active) on ``day`` (of one account if given)."""
    if account_id is not None:
        return list(
            db.execute(
                "SELECT account_id, activated, active FROM rollup_accounts"
                " WHERE day = ? AND account_id = ?",
                (day, account_id),
            )
        )
    return list(
        db.execute(
            "SELECT account_id, activated, active FROM rollup_accounts WHERE day = ?", (day,)
        )
    )


def feature_rows(
    db: sqlite3.Connection, day: int, account_id: str | None = None
) -> list[tuple[str, int, int]]:
    """(account_id, fid, users) on ``day`` (of one account if given)."""
    if account_id is not None:
        return list(
            db.execute(
                "SELECT account_id, fid, users FROM rollup_features"
                " WHERE day = ? AND account_id = ?",
                (day, account_id),
            )
        )
    return list(
        db.execute("SELECT account_id, fid, users FROM rollup_features WHERE day = ?", (day,))
    )


def summary(db: sqlite3.Connection) -> tuple[int, int, int] | None:
    """(dates, first day, last day) of the stored statistics, or None without any."""
    n, lo, hi = db.execute("SELECT COUNT(*), MIN(day), MAX(day) FROM rollup_dates").fetchone()
    return None if not n else (int(n), int(lo), int(hi))


def as_rows(records: Iterable[Sequence[Any]]) -> list[tuple[Any, ...]]:
    """Rows as tuples of plain Python values (numpy scalars become int and str)."""
    return [tuple(v.item() if hasattr(v, "item") else v for v in r) for r in records]
