"""The SQLite store: schema, migrations, connections and every query cstool runs.

This is the only module that holds SQL. Identifiers in SQL come from the declared schemas in
:mod:`cstool.schemas`, never from a file's headers.

Usage is the large table, so it is stored compactly: the day as an integer (days since
1970-01-01), the user and feature as integer ids into ``users`` and ``feature_names``. The view
``usage_rows`` shows it with text ids and ISO dates for people using the sqlite3 shell.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from cstool.errors import EnvironmentProblem, InputError
from cstool.schemas import KINDS, SCORE_COLUMNS, ColType, ExportKind

EPOCH = date(1970, 1, 1)


def day_number(d: date) -> int:
    """Days since 1970-01-01: how usage dates are stored."""
    return (d - EPOCH).days


def day_date(n: int) -> date:
    """The date of a stored day number."""
    return EPOCH + timedelta(days=int(n))


def q(name: str) -> str:
    """Quote an identifier that comes from the declared schemas (never from a file)."""
    return '"' + name.replace('"', '""') + '"'


_SQL_TYPES = {
    ColType.TEXT: "TEXT",
    ColType.INTEGER: "INTEGER",
    ColType.NUMBER: "REAL",
    ColType.DATE: "TEXT",
    ColType.TIMESTAMP: "TEXT",
    ColType.BOOL: "INTEGER",
}


def _kind_table_sql(kind: ExportKind) -> str:
    cols = []
    for c in kind.columns:
        null = " NOT NULL" if c.required or c.name in kind.key else ""
        cols.append(f"{q(c.name)} {_SQL_TYPES[c.type]}{null}")
    cols.append("attributes TEXT")
    if kind.snapshot:
        cols.append("active INTEGER NOT NULL DEFAULT 1")
    key = ", ".join(q(k) for k in kind.key)
    return f"CREATE TABLE {q(kind.name)} ({', '.join(cols)}, PRIMARY KEY ({key}))"


def _m001_initial(db: sqlite3.Connection) -> None:
    for name in (
        "accounts",
        "features",
        "nps",
        "email_events",
        "activities",
        "opportunities",
        "references",
    ):
        db.execute(_kind_table_sql(KINDS[name]))
    users = KINDS["users"]
    ucols = ", ".join(
        f"{q(c.name)} {_SQL_TYPES[c.type]}{' NOT NULL' if c.required else ''}"
        for c in users.columns
    )
    db.execute(
        f"CREATE TABLE users (uid INTEGER PRIMARY KEY, {ucols}, attributes TEXT, UNIQUE (user_id))"
    )
    db.execute("CREATE INDEX users_account ON users (account_id)")
    db.execute("CREATE TABLE feature_names (fid INTEGER PRIMARY KEY, feature TEXT NOT NULL UNIQUE)")
    db.execute(
        "CREATE TABLE usage (day INTEGER NOT NULL, uid INTEGER NOT NULL, fid INTEGER NOT NULL,"
        " events INTEGER NOT NULL, attributes TEXT, PRIMARY KEY (day, uid, fid)) WITHOUT ROWID"
    )
    # First and last day with events > 0 per user, kept up to date by usage loads, so that
    # "activated from first usage" needs no scan of the usage history.
    db.execute(
        "CREATE TABLE user_activity (uid INTEGER PRIMARY KEY, first_day INTEGER NOT NULL,"
        " last_day INTEGER NOT NULL)"
    )
    db.execute(
        "CREATE VIEW usage_rows AS SELECT date(u.day * 86400, 'unixepoch') AS date,"
        " us.account_id, us.user_id, f.feature, u.events FROM usage u"
        " JOIN users us ON us.uid = u.uid JOIN feature_names f ON f.fid = u.fid"
    )
    db.execute(
        "CREATE TABLE loads (load_id INTEGER PRIMARY KEY, kind TEXT NOT NULL, file TEXT NOT NULL,"
        " sha256 TEXT NOT NULL, mode TEXT NOT NULL, rows INTEGER NOT NULL,"
        " inserted INTEGER NOT NULL, updated INTEGER NOT NULL, unchanged INTEGER NOT NULL,"
        " rejected INTEGER NOT NULL, deactivated INTEGER NOT NULL, loaded_at TEXT NOT NULL,"
        " seconds REAL NOT NULL)"
    )


def _m002_adoption(db: sqlite3.Connection) -> None:
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


def _m003_load_settings(db: sqlite3.Connection) -> None:
    db.execute("ALTER TABLE loads ADD COLUMN settings TEXT NOT NULL DEFAULT ''")


def _m004_snapshot_basis(db: sqlite3.Connection) -> None:
    db.execute("ALTER TABLE snapshots ADD COLUMN basis TEXT NOT NULL DEFAULT ''")


# Migrations run in order; PRAGMA user_version records how many have been applied.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    _m001_initial,
    _m002_adoption,
    _m003_load_settings,
    _m004_snapshot_basis,
]


@dataclass(frozen=True)
class KindStatus:
    """What the store holds of one export kind."""

    kind: str
    rows: int
    active: int | None
    last_loaded_at: str | None
    file: str | None
    sha256: str | None
    first_date: str | None
    last_date: str | None


@dataclass(frozen=True)
class LoadRecord:
    """One row of the load manifest."""

    kind: str
    file: str
    sha256: str
    mode: str
    rows: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    deactivated: int
    loaded_at: str
    seconds: float
    # Fingerprint of the reading settings (mapping, date formats, encoding) the file was
    # loaded with: the same bytes read differently are a different load.
    settings: str = ""


class Store:
    """A connection to a workspace database with cstool's queries."""

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self.db = db
        self.path = path

    # -- opening ---------------------------------------------------------------------------
    @classmethod
    def _connect(cls, path: Path) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(str(path), isolation_level=None, timeout=0.0)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=OFF")
            db.execute("PRAGMA cache_size=-8192")
            db.execute("PRAGMA temp_store=MEMORY")
        except sqlite3.DatabaseError as e:  # also "file is not a database"
            raise EnvironmentProblem(
                f"cannot open the database {path.name}: {e}",
                hint="check the file's permissions and that the disk is not full; a file that "
                "is not a database was not written by cstool",
            ) from None
        return db

    @classmethod
    def create(cls, path: Path) -> Store:
        """Create a new database with the current schema."""
        store = cls(cls._connect(path), path)
        store.migrate()
        return store

    @classmethod
    def open(cls, path: Path) -> Store:
        """Open an existing workspace database, applying pending migrations."""
        if not path.exists():
            raise InputError(
                f"{path.name} is missing from the workspace",
                hint="run `cstool init` to create a workspace",
            )
        store = cls(cls._connect(path), path)
        store.migrate()
        return store

    def close(self) -> None:
        self.db.close()

    def migrate(self) -> None:
        """Apply the migrations this database has not seen yet, each in a transaction."""
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise EnvironmentProblem(
                f"the database was written by a newer cstool (schema {version})",
                hint="upgrade cstool",
            )
        for i, step in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.transaction():
                step(self.db)
                self.db.execute(f"PRAGMA user_version = {i}")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction: committed on success, rolled back on any exception."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            raise EnvironmentProblem(
                f"the database is busy: {e}", hint="another process is writing; try again"
            ) from None
        try:
            yield
        except BaseException:
            # SQLite may already have rolled back (a full disk, an I/O error): the original
            # error is the one to report.
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")

    # -- loading ---------------------------------------------------------------------------
    def last_load(self, kind: str) -> LoadRecord | None:
        """The most recent load of ``kind`` in the manifest."""
        row = self.db.execute(
            "SELECT kind, file, sha256, mode, rows, inserted, updated, unchanged, rejected,"
            " deactivated, loaded_at, seconds, settings FROM loads WHERE kind = ?"
            " ORDER BY load_id DESC LIMIT 1",
            (kind,),
        ).fetchone()
        return LoadRecord(*row) if row else None

    def record_load(self, rec: LoadRecord) -> None:
        self.db.execute(
            "INSERT INTO loads (kind, file, sha256, mode, rows, inserted, updated, unchanged,"
            " rejected, deactivated, loaded_at, seconds, settings)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                rec.kind,
                rec.file,
                rec.sha256,
                rec.mode,
                rec.rows,
                rec.inserted,
                rec.updated,
                rec.unchanged,
                rec.rejected,
                rec.deactivated,
                rec.loaded_at,
                rec.seconds,
                rec.settings,
            ),
        )

    def count(self, kind: str) -> int:
        return int(self.db.execute(f"SELECT COUNT(*) FROM {q(kind)}").fetchone()[0])

    def existing_keys(self, kind: str, column: str) -> set[str]:
        """All values of ``column`` (a key) stored for ``kind``."""
        return {r[0] for r in self.db.execute(f"SELECT {q(column)} FROM {q(kind)}")}

    def user_index(self) -> tuple[Any, Any, Any, Any]:
        """Users sorted by user_id as compact numpy arrays, for lookups without per-user objects.

        Returns (user_ids, uids, account codes, account_ids): ``account_ids[codes[i]]`` is
        the account of ``user_ids[i]``.
        """
        import numpy as np

        n, wu, wa = self.db.execute(
            "SELECT COUNT(*), MAX(length(user_id)), MAX(length(account_id)) FROM users"
        ).fetchone()
        ids = np.empty(n, dtype=f"U{wu or 1}")
        uids = np.empty(n, dtype=np.int64)
        accounts = np.empty(n, dtype=f"U{wa or 1}")
        cur = self.db.execute("SELECT user_id, uid, account_id FROM users")
        at = 0
        while rows := cur.fetchmany(65536):
            u, d, a = zip(*rows, strict=True)
            ids[at : at + len(rows)] = u
            uids[at : at + len(rows)] = d
            accounts[at : at + len(rows)] = a
            at += len(rows)
        order = np.argsort(ids, kind="stable")
        account_ids, codes = np.unique(accounts[order], return_inverse=True)
        return ids[order], uids[order], codes, account_ids

    def feature_names(self) -> list[tuple[str, int]]:
        """(feature, fid) of every feature seen in usage."""
        return list(self.db.execute("SELECT feature, fid FROM feature_names"))

    def add_features(self, features: Iterable[tuple[int, str]]) -> None:
        """Name new feature ids (inside the caller's transaction)."""
        self.db.executemany("INSERT INTO feature_names (fid, feature) VALUES (?, ?)", features)

    def clear(self, kind: str) -> None:
        """Delete every row of a kind (replace mode), inside the caller's transaction."""
        if kind == "usage":
            self.db.execute("DELETE FROM usage")
            self.db.execute("DELETE FROM user_activity")
        else:
            self.db.execute(f"DELETE FROM {q(kind)}")

    def upsert(
        self, kind: ExportKind, columns: Sequence[str], rows: Iterable[Sequence[Any]]
    ) -> int:
        """Insert rows or update them by key where any value differs.

        ``columns`` are canonical names (plus ``attributes``); rows that equal what is stored
        are left untouched, so the manifest can count them as unchanged. Returns the number
        of rows inserted or updated.
        """
        cols = list(columns)
        if kind.snapshot:
            cols.append("active")
            rows = (tuple(r) + (1,) for r in rows)
        non_key = [c for c in cols if c not in kind.key]
        sets = ", ".join(f"{q(c)} = excluded.{q(c)}" for c in non_key)
        differs = " OR ".join(f"{q(c)} IS NOT excluded.{q(c)}" for c in non_key)
        conflict = ", ".join(q(k) for k in kind.key)
        sql = (
            f"INSERT INTO {q(kind.name)} ({', '.join(q(c) for c in cols)}) "
            f"VALUES ({', '.join('?' * len(cols))}) "
            f"ON CONFLICT ({conflict}) DO UPDATE SET {sets} WHERE {differs}"
        )
        before = self.db.total_changes
        self.db.executemany(sql, rows)
        return self.db.total_changes - before

    def upsert_usage(
        self, rows: Callable[[], Iterable[Sequence[Any]]], *, attributes: bool, new_days: bool
    ) -> int:
        """Insert usage rows (day, uid, fid, events[, attributes]) or update changed ones.

        ``rows`` makes a fresh iterator of the rows each time it is called.

        ``new_days`` says every row is on a day after all stored usage, so no stored row can
        conflict and a plain INSERT does (about a third faster than an upsert); should a row
        conflict after all (a key repeated in the file), the rows go through the upsert.
        Returns the number of rows inserted or updated.
        """
        cols = "day, uid, fid, events" + (", attributes" if attributes else "")
        marks = ", ".join("?" * (5 if attributes else 4))
        insert = f"INSERT INTO usage ({cols}) VALUES ({marks})"
        before = self.db.total_changes
        if new_days:
            self.db.execute("SAVEPOINT usage_batch")
            try:
                self.db.executemany(insert, rows())
                self.db.execute("RELEASE usage_batch")
                return self.db.total_changes - before
            except sqlite3.IntegrityError:
                self.db.execute("ROLLBACK TO usage_batch")
                self.db.execute("RELEASE usage_batch")
                before = self.db.total_changes
        sets = "events = excluded.events" + (
            ", attributes = excluded.attributes" if attributes else ""
        )
        differs = "events IS NOT excluded.events" + (
            " OR attributes IS NOT excluded.attributes" if attributes else ""
        )
        self.db.executemany(
            f"{insert} ON CONFLICT (day, uid, fid) DO UPDATE SET {sets} WHERE {differs}", rows()
        )
        return self.db.total_changes - before

    def widen_user_activity(self, spans: Iterable[tuple[int, int, int]]) -> None:
        """Merge (uid, first_day, last_day) spans of activity into ``user_activity``."""
        self.db.executemany(
            "INSERT INTO user_activity (uid, first_day, last_day) VALUES (?,?,?)"
            " ON CONFLICT (uid) DO UPDATE SET first_day = min(first_day, excluded.first_day),"
            " last_day = max(last_day, excluded.last_day)",
            spans,
        )

    def rebuild_user_activity(self) -> None:
        """Recompute every user's first and last active day from the usage table."""
        self.db.execute("DELETE FROM user_activity")
        self.db.execute(
            "INSERT INTO user_activity (uid, first_day, last_day)"
            " SELECT uid, MIN(day), MAX(day) FROM usage WHERE events > 0 GROUP BY uid"
        )

    def deactivate_missing(self, kind: ExportKind, keys: Iterable[str]) -> int:
        """Mark rows of a snapshot kind inactive when their key is not in ``keys``."""
        (key,) = kind.key
        self.db.execute("CREATE TEMP TABLE IF NOT EXISTS loaded_keys (k TEXT PRIMARY KEY)")
        self.db.execute("DELETE FROM loaded_keys")
        self.db.executemany("INSERT OR IGNORE INTO loaded_keys VALUES (?)", ((k,) for k in keys))
        cur = self.db.execute(
            f"UPDATE {q(kind.name)} SET active = 0 WHERE active = 1"
            f" AND {q(key)} NOT IN (SELECT k FROM loaded_keys)"
        )
        self.db.execute("DELETE FROM loaded_keys")
        return int(cur.rowcount)

    def delete_missing(self, kind: ExportKind, keys: Iterable[Any]) -> int:
        """Delete rows whose key is not in ``keys`` (replace mode), refusing to orphan usage."""
        cols = [f"k{i}" for i in range(len(kind.key))]
        self.db.execute("DROP TABLE IF EXISTS temp.loaded_keys")
        self.db.execute(
            f"CREATE TEMP TABLE loaded_keys ({', '.join(cols)}, PRIMARY KEY ({', '.join(cols)}))"
        )
        rows = (k if isinstance(k, tuple) else (k,) for k in keys)
        self.db.executemany(
            f"INSERT OR IGNORE INTO loaded_keys VALUES ({', '.join('?' * len(cols))})", rows
        )
        match = " AND ".join(f"l.k{i} = t.{q(c)}" for i, c in enumerate(kind.key))
        gone = f"NOT EXISTS (SELECT 1 FROM loaded_keys l WHERE {match})"
        if kind.name == "users":
            n = self.db.execute(
                f"SELECT COUNT(*) FROM users t WHERE {gone}"
                " AND EXISTS (SELECT 1 FROM usage u WHERE u.uid = t.uid LIMIT 1)"
            ).fetchone()[0]
            if n:
                raise InputError(
                    f"{n:,} user{'s' if n != 1 else ''} missing from the file still "
                    f"{'have' if n != 1 else 'has'} usage rows",
                    hint="load users with --mode upsert, or replace usage first",
                )
        cur = self.db.execute(f"DELETE FROM {q(kind.name)} AS t WHERE {gone}")
        self.db.execute("DROP TABLE temp.loaded_keys")
        return int(cur.rowcount)

    # -- reading ---------------------------------------------------------------------------
    def status(self) -> list[KindStatus]:
        """Rows, last load and date range of every kind."""
        from cstool.schemas import LOAD_ORDER

        out = []
        for name in LOAD_ORDER:
            kind = KINDS[name]
            rows = self.count(name)
            active = (
                int(
                    self.db.execute(f"SELECT COUNT(*) FROM {q(name)} WHERE active = 1").fetchone()[
                        0
                    ]
                )
                if kind.snapshot
                else None
            )
            last = self.last_load(name)
            first_d = last_d = None
            if name == "usage" and rows:
                lo, hi = self.usage_day_range()  # type: ignore[misc]
                first_d, last_d = day_date(lo).isoformat(), day_date(hi).isoformat()
            out.append(
                KindStatus(
                    name,
                    rows,
                    active,
                    last.loaded_at if last else None,
                    last.file if last else None,
                    last.sha256 if last else None,
                    first_d,
                    last_d,
                )
            )
        return out

    def rows(
        self, kind: str, columns: Sequence[str], where: str = "", params: Sequence[Any] = ()
    ) -> list[dict[str, Any]]:
        """Rows of a kind's table as dicts (``where`` is a fixed SQL fragment from cstool)."""
        sql = f"SELECT {', '.join(q(c) for c in columns)} FROM {q(kind)} {where}"
        cur = self.db.execute(sql, tuple(params))
        return [dict(zip(columns, r, strict=True)) for r in cur]

    # -- adoption --------------------------------------------------------------------------
    def scoring_accounts(self, segment_field: str) -> list[tuple[Any, ...]]:
        """Active accounts: (account_id, name, segment, csm, licenses_purchased).

        The segment comes from the named canonical column, or else from the extra
        attributes of the accounts export.
        """
        from cstool.schemas import KINDS

        if segment_field in KINDS["accounts"].column_names:
            seg = q(segment_field)
        else:
            seg = "json_extract(attributes, '$.' || ?)"
        sql = (
            f"SELECT account_id, name, {seg}, csm, licenses_purchased FROM accounts"
            " WHERE active = 1 ORDER BY account_id"
        )
        params = (
            () if segment_field in KINDS["accounts"].column_names else ('"' + segment_field + '"',)
        )
        return list(self.db.execute(sql, params))

    def scoring_users(self, never: int) -> Iterator[tuple[str, Any, Any]]:
        """Every user by account: (account_id, uids, activation days) with numpy arrays.

        A user's activation day is the day number of ``activated_at``, else of their first
        day with events > 0, else ``never``. Like :meth:`active_usage`, one text of numbers
        per account rather than a Python object per user.
        """
        import numpy as np

        # julianday() - 2440587.5 is the day number of an ISO date: days since 1970-01-01.
        cur = self.db.execute(
            "SELECT u.account_id, group_concat(u.uid), group_concat(COALESCE("
            "CAST(julianday(u.activated_at) - 2440587.5 AS INTEGER), a.first_day, ?))"
            " FROM users u LEFT JOIN user_activity a ON a.uid = u.uid GROUP BY u.account_id",
            (never,),
        )
        for account_id, uids, days in cur:
            yield (
                account_id,
                np.fromstring(uids, dtype=np.int64, sep=","),
                np.fromstring(days, dtype=np.int64, sep=","),
            )

    def feature_catalogue(self) -> list[tuple[int, str]]:
        """(fid, name) of every feature seen in usage."""
        return list(self.db.execute("SELECT fid, feature FROM feature_names ORDER BY fid"))

    def enabled_features(self) -> list[tuple[str, str, int | None]]:
        """(account_id, feature, enabled) rows of the features export."""
        return list(self.db.execute("SELECT account_id, feature, enabled FROM features"))

    def active_usage(
        self, first_day: int, last_day: int, fid_bits: int
    ) -> Iterator[tuple[int, Any]]:
        """Usage rows with events > 0 in a day range, day by day in order.

        Yields (day, keys): a numpy array of (uid << fid_bits) | fid per row of the day.
        SQLite hands over one text of comma-separated keys per day, which numpy parses in C:
        several times faster than a Python object per row, and each day's text stays small.
        """
        import numpy as np

        cur = self.db.execute(
            f"SELECT day, group_concat((uid << {int(fid_bits)}) | fid) FROM usage"
            " WHERE day BETWEEN ? AND ? AND events > 0 GROUP BY day ORDER BY day",
            (first_day, last_day),
        )
        for day, text in cur:
            yield day, np.fromstring(text, dtype=np.int64, sep=",")

    def usage_day_range(self) -> tuple[int, int] | None:
        # Two queries: SQLite answers a lone MIN or MAX of the key from the index at once, but
        # scans the whole table for both in one query.
        lo = self.db.execute("SELECT MIN(day) FROM usage").fetchone()[0]
        hi = self.db.execute("SELECT MAX(day) FROM usage").fetchone()[0]
        return None if lo is None else (int(lo), int(hi))

    def load_thresholds(self) -> list[tuple[str, str, float, float, float, float, int, str]]:
        return list(
            self.db.execute(
                "SELECT segment, measure, c20, c40, c60, c80, n, as_of FROM thresholds"
                " ORDER BY segment, measure"
            )
        )

    def save_thresholds(
        self, rows: Iterable[tuple[str, str, float, float, float, float, int, str]]
    ) -> None:
        """Replace the stored cut points (inside the caller's transaction)."""
        self.db.execute("DELETE FROM thresholds")
        self.db.executemany("INSERT INTO thresholds VALUES (?,?,?,?,?,?,?,?)", rows)

    # basis: a fingerprint of the cut points and settings the bands were given with, so
    # that comparing two snapshots can tell a change of rules from a change of customers.
    SNAPSHOT_COLUMNS = ("as_of", *SCORE_COLUMNS, "composite", "basis")

    def save_snapshot(self, as_of: str, rows: Iterable[Sequence[Any]]) -> None:
        """Replace the snapshot of one as-of date (inside the caller's transaction)."""
        self.db.execute("DELETE FROM snapshots WHERE as_of = ?", (as_of,))
        self.db.executemany(
            f"INSERT INTO snapshots ({', '.join(self.SNAPSHOT_COLUMNS)})"
            f" VALUES ({', '.join('?' * len(self.SNAPSHOT_COLUMNS))})",
            rows,
        )

    def snapshot(self, as_of: str) -> list[dict[str, Any]]:
        cols = self.SNAPSHOT_COLUMNS
        cur = self.db.execute(
            f"SELECT {', '.join(cols)} FROM snapshots WHERE as_of = ? ORDER BY account_id",
            (as_of,),
        )
        return [dict(zip(cols, r, strict=True)) for r in cur]

    def snapshot_dates(self) -> list[str]:
        return [
            r[0] for r in self.db.execute("SELECT DISTINCT as_of FROM snapshots ORDER BY as_of")
        ]

    def attributes(self, kind: str, key: str, value: str) -> dict[str, Any]:
        """The extra (non-canonical) columns stored for one row."""
        row = self.db.execute(
            f"SELECT attributes FROM {q(kind)} WHERE {q(key)} = ?", (value,)
        ).fetchone()
        return json.loads(row[0]) if row and row[0] else {}
