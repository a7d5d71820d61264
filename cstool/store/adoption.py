"""Adoption tables: band cut points (thresholds) and dated score snapshots."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from cstool.schemas import SCORE_COLUMNS

# -- migrations ------------------------------------------------------------------------------


def create_tables(db: sqlite3.Connection) -> None:
    """Schema 2: thresholds and snapshots."""
    # Cut points per segment and measure; segment '*' holds the all-accounts fallback.
    db.execute(
        "CREATE TABLE thresholds (segment TEXT NOT NULL, measure TEXT NOT NULL,"
        " c20 REAL NOT NULL, c40 REAL NOT NULL, c60 REAL NOT NULL, c80 REAL NOT NULL,"
        " n INTEGER NOT NULL, as_of TEXT NOT NULL, PRIMARY KEY (segment, measure))"
    )
    db.execute(
        "CREATE TABLE snapshots (as_of TEXT NOT NULL, account_id TEXT NOT NULL, name TEXT,"
        " segment TEXT, csm TEXT, deployment REAL, deployment_band TEXT, depth REAL,"
        " depth_band TEXT, breadth REAL, breadth_band TEXT, composite REAL,"
        " PRIMARY KEY (as_of, account_id))"
    )


def add_snapshot_basis(db: sqlite3.Connection) -> None:
    """Schema 4: the fingerprint of the rules each snapshot was banded with."""
    db.execute("ALTER TABLE snapshots ADD COLUMN basis TEXT NOT NULL DEFAULT ''")


def index_account_history(db: sqlite3.Connection) -> None:
    """Schema 7: one account's snapshots over time (its trend) without a scan."""
    db.execute("CREATE INDEX snapshots_account ON snapshots (account_id, as_of)")


# -- thresholds ------------------------------------------------------------------------------

ThresholdRow = tuple[str, str, float, float, float, float, int, str]


def load_thresholds(db: sqlite3.Connection) -> list[ThresholdRow]:
    """(segment, measure, c20, c40, c60, c80, n, as_of) of every stored set of cut points."""
    return list(
        db.execute(
            "SELECT segment, measure, c20, c40, c60, c80, n, as_of FROM thresholds"
            " ORDER BY segment, measure"
        )
    )


def save_thresholds(db: sqlite3.Connection, rows: Iterable[ThresholdRow]) -> None:
    """Replace the stored cut points (inside the caller's transaction)."""
    db.execute("DELETE FROM thresholds")
    db.executemany("INSERT INTO thresholds VALUES (?,?,?,?,?,?,?,?)", rows)


# -- snapshots -------------------------------------------------------------------------------

# basis: a fingerprint of the cut points and settings the bands were given with, so that
# comparing two snapshots can tell a change of rules from a change of customers.
SNAPSHOT_COLUMNS = ("as_of", *SCORE_COLUMNS, "composite", "basis")


def save_snapshot(db: sqlite3.Connection, as_of: str, rows: Iterable[Sequence[Any]]) -> None:
    """Replace the snapshot of one as-of date (inside the caller's transaction)."""
    db.execute("DELETE FROM snapshots WHERE as_of = ?", (as_of,))
    db.executemany(
        f"INSERT INTO snapshots ({', '.join(SNAPSHOT_COLUMNS)})"
        f" VALUES ({', '.join('?' * len(SNAPSHOT_COLUMNS))})",
        rows,
    )


def snapshot(db: sqlite3.Connection, as_of: str) -> list[dict[str, Any]]:
    """The stored snapshot of one date, by account, as dicts of SNAPSHOT_COLUMNS."""
    cur = db.execute(
        f"SELECT {', '.join(SNAPSHOT_COLUMNS)} FROM snapshots WHERE as_of = ? ORDER BY account_id",
        (as_of,),
    )
    return [dict(zip(SNAPSHOT_COLUMNS, r, strict=True)) for r in cur]


def snapshot_dates(db: sqlite3.Connection) -> list[str]:
    """Every date with a stored snapshot, oldest first."""
    return [r[0] for r in db.execute("SELECT DISTINCT as_of FROM snapshots ORDER BY as_of")]


def account_snapshots(
    db: sqlite3.Connection, account_id: str, until: str | None = None
) -> list[dict[str, Any]]:
    """One account's stored snapshots up to ``until`` (ISO date, included), oldest first."""
    cur = db.execute(
        f"SELECT {', '.join(SNAPSHOT_COLUMNS)} FROM snapshots WHERE account_id = ?"
        " AND as_of <= ? ORDER BY as_of",
        (account_id, until or "9999-12-31"),
    )
    return [dict(zip(SNAPSHOT_COLUMNS, r, strict=True)) for r in cur]


def snapshot_on_or_before(db: sqlite3.Connection, as_of: str) -> str | None:
    """The date of the latest snapshot on or before ``as_of`` (ISO), or None."""
    found = db.execute("SELECT MAX(as_of) FROM snapshots WHERE as_of <= ?", (as_of,)).fetchone()[0]
    return str(found) if found else None


def snapshot_before(db: sqlite3.Connection, as_of: str) -> str | None:
    """The date of the latest snapshot strictly before ``as_of`` (ISO), or None."""
    found = db.execute("SELECT MAX(as_of) FROM snapshots WHERE as_of < ?", (as_of,)).fetchone()[0]
    return str(found) if found else None


def snapshot_of(
    db: sqlite3.Connection, as_of: str, account_ids: Iterable[str]
) -> list[dict[str, Any]]:
    """The stored snapshot of one date for ``account_ids`` alone, as dicts of
    SNAPSHOT_COLUMNS (a key look-up per account)."""
    ids = sorted(set(account_ids))
    out: list[dict[str, Any]] = []
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        cur = db.execute(
            f"SELECT {', '.join(SNAPSHOT_COLUMNS)} FROM snapshots WHERE as_of = ?"
            f" AND account_id IN ({', '.join('?' * len(chunk))})",
            (as_of, *chunk),
        )
        out += [dict(zip(SNAPSHOT_COLUMNS, r, strict=True)) for r in cur]
    return out
