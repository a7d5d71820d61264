"""Export tables and the load manifest: one table per declared export kind.

Identifiers in SQL come from the declared schemas in :mod:`cstool.schemas`, never from a
file's headers. A kind with ``storage == "compact"`` (usage) keeps its rows in the tables of
:mod:`cstool.store.usage` instead; :func:`count` and :func:`status` cover it too.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from cstool.errors import InputError
from cstool.schemas import KINDS, LOAD_ORDER, ExportKind
from cstool.store import rollups, usage
from cstool.store.sql import attributes_differ, count_changes, day_date, merged_attributes, q

# -- migrations ------------------------------------------------------------------------------

# The tables as schema 1 created them. Migrations are frozen: a new column of a kind needs a
# new migration, not an edit here.
_KIND_TABLES_V1 = (
    'CREATE TABLE "accounts" ("account_id" TEXT NOT NULL, "name" TEXT NOT NULL, "industry" TEXT,'
    ' "segment" TEXT, "arr" REAL, "licenses_purchased" INTEGER, "csm" TEXT,'
    ' "lifecycle_stage" TEXT, "onboarding_date" TEXT, "renewal_date" TEXT, "employees" INTEGER,'
    ' "region" TEXT, attributes TEXT, active INTEGER NOT NULL DEFAULT 1,'
    ' PRIMARY KEY ("account_id"))',
    'CREATE TABLE "features" ("account_id" TEXT NOT NULL, "feature" TEXT NOT NULL,'
    ' "enabled" INTEGER, attributes TEXT, PRIMARY KEY ("account_id", "feature"))',
    'CREATE TABLE "nps" ("response_id" TEXT NOT NULL, "date" TEXT NOT NULL, "user_id" TEXT,'
    ' "account_id" TEXT NOT NULL, "score" INTEGER NOT NULL, "comment" TEXT, attributes TEXT,'
    ' PRIMARY KEY ("response_id"))',
    'CREATE TABLE "email_events" ("message_id" TEXT NOT NULL, "event" TEXT NOT NULL,'
    ' "timestamp" TEXT NOT NULL, "url" TEXT NOT NULL, "user_agent" TEXT, attributes TEXT,'
    ' PRIMARY KEY ("message_id", "event", "timestamp", "url"))',
    'CREATE TABLE "activities" ("activity_id" TEXT NOT NULL, "account_id" TEXT NOT NULL,'
    ' "date" TEXT NOT NULL, "type" TEXT NOT NULL, "author" TEXT, "subject" TEXT, "body" TEXT,'
    ' attributes TEXT, PRIMARY KEY ("activity_id"))',
    'CREATE TABLE "opportunities" ("opportunity_id" TEXT NOT NULL, "name" TEXT NOT NULL,'
    ' "prospect_industry" TEXT, "amount" REAL, "stage" TEXT, "created_date" TEXT,'
    ' "close_date" TEXT, "is_won" INTEGER, "owner" TEXT, attributes TEXT,'
    ' PRIMARY KEY ("opportunity_id"))',
    'CREATE TABLE "references" ("reference_id" TEXT NOT NULL, "account_id" TEXT NOT NULL,'
    ' "user_id" TEXT, "opportunity_id" TEXT, "date" TEXT NOT NULL, "outcome" TEXT,'
    ' attributes TEXT, PRIMARY KEY ("reference_id"))',
)


def create_kind_tables(db: sqlite3.Connection) -> None:
    """Schema 1: a table per export kind stored as a table (users and usage excepted)."""
    for sql in _KIND_TABLES_V1:
        db.execute(sql)


def create_manifest(db: sqlite3.Connection) -> None:
    """Schema 1: the manifest of loads, which makes a repeated load a no-op."""
    db.execute(
        "CREATE TABLE loads (load_id INTEGER PRIMARY KEY, kind TEXT NOT NULL, file TEXT NOT NULL,"
        " sha256 TEXT NOT NULL, mode TEXT NOT NULL, rows INTEGER NOT NULL,"
        " inserted INTEGER NOT NULL, updated INTEGER NOT NULL, unchanged INTEGER NOT NULL,"
        " rejected INTEGER NOT NULL, deactivated INTEGER NOT NULL, loaded_at TEXT NOT NULL,"
        " seconds REAL NOT NULL)"
    )


def add_load_settings(db: sqlite3.Connection) -> None:
    """Schema 3: the reading settings a file was loaded with."""
    db.execute("ALTER TABLE loads ADD COLUMN settings TEXT NOT NULL DEFAULT ''")


# -- the manifest ----------------------------------------------------------------------------


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


def last_load(db: sqlite3.Connection, kind: str) -> LoadRecord | None:
    """The most recent load of ``kind`` in the manifest."""
    row = db.execute(
        "SELECT kind, file, sha256, mode, rows, inserted, updated, unchanged, rejected,"
        " deactivated, loaded_at, seconds, settings FROM loads WHERE kind = ?"
        " ORDER BY load_id DESC LIMIT 1",
        (kind,),
    ).fetchone()
    return LoadRecord(*row) if row else None


def record_load(db: sqlite3.Connection, rec: LoadRecord) -> None:
    """Add a load to the manifest (inside the caller's transaction)."""
    db.execute(
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


# -- rows of a kind --------------------------------------------------------------------------


def count(db: sqlite3.Connection, kind: str) -> int:
    """How many rows of ``kind`` are stored."""
    return int(db.execute(f"SELECT COUNT(*) FROM {q(KINDS[kind].name)}").fetchone()[0])


def key_values(db: sqlite3.Connection, kind: str, column: str) -> set[str]:
    """All values of ``column`` (one of the kind's key columns) stored for ``kind``."""
    if column not in KINDS[kind].key:
        raise ValueError(f"{column} is not a key of {kind}")
    return {r[0] for r in db.execute(f"SELECT {q(column)} FROM {q(kind)}")}


def _differs(kind: ExportKind, cols: Sequence[str], new: str, merge_attributes: bool) -> str:
    """SQL true when writing the ``new`` row over the stored row ``t`` would change it."""
    parts = []
    for c in cols:
        if c in kind.key:
            continue
        if c == "attributes" and merge_attributes:
            parts.append(attributes_differ("t.attributes", f"{new}.attributes"))
        else:
            parts.append(f"t.{q(c)} IS NOT {new}.{q(c)}")
    return " OR ".join(parts)


def upsert(
    db: sqlite3.Connection,
    kind: ExportKind,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    merge_attributes: bool = True,
) -> int:
    """Insert rows or update them by key where any value differs.

    ``columns`` are canonical names (plus ``attributes``); stored columns not among them are
    left as they are. With ``merge_attributes`` the row's JSON attributes are merged into
    the stored ones (keys the row lacks are kept), else they replace them. Rows that equal
    what is stored are left untouched, so the manifest can count them as unchanged.
    Returns the number of rows inserted or updated.
    """
    cols = list(columns)
    if kind.snapshot:
        cols.append("active")
        rows = (tuple(r) + (1,) for r in rows)
    sets = ", ".join(
        f"{q(c)} = "
        + (
            merged_attributes("t.attributes", "excluded.attributes")
            if c == "attributes" and merge_attributes
            else f"excluded.{q(c)}"
        )
        for c in cols
        if c not in kind.key
    )
    conflict = ", ".join(q(k) for k in kind.key)
    update = (
        f"UPDATE SET {sets} WHERE {_differs(kind, cols, 'excluded', merge_attributes)}"
        if sets
        else "NOTHING"  # a file of keys alone: a stored row has nothing to change
    )
    sql = (
        f"INSERT INTO {q(kind.name)} AS t ({', '.join(q(c) for c in cols)}) "
        f"VALUES ({', '.join('?' * len(cols))}) ON CONFLICT ({conflict}) DO {update}"
    )
    before = db.total_changes
    db.executemany(sql, rows)
    return db.total_changes - before


def changes(
    db: sqlite3.Connection,
    kind: ExportKind,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    merge_attributes: bool = True,
) -> tuple[int, int]:
    """How many of ``rows`` :func:`upsert` would insert and how many it would update, by the
    same rule, without writing (a dry run)."""
    cols = list(columns)
    if kind.snapshot:
        cols.append("active")
        rows = (tuple(r) + (1,) for r in rows)
    differs = _differs(kind, cols, "n", merge_attributes)
    return count_changes(db, kind.name, cols, kind.key, differs, rows)


def active(db: sqlite3.Connection, kind: ExportKind) -> int:
    """How many stored rows of a kind are active: all of them but inactive accounts."""
    where = " WHERE active = 1" if kind.snapshot else ""
    return int(db.execute(f"SELECT COUNT(*) FROM {q(kind.name)}{where}").fetchone()[0])


def retiring(
    db: sqlite3.Connection, kind: ExportKind, keys: Iterable[Any]
) -> list[tuple[Any, ...]]:
    """The active stored rows (keys as tuples) that a replace by a file with ``keys`` retires.

    Reads only. Refuses users whose usage would be orphaned, as the replace itself would.
    """
    have = {k if isinstance(k, tuple) else (k,) for k in keys}
    cols = ", ".join(q(k) for k in kind.key)
    where = " WHERE active = 1" if kind.snapshot else ""
    gone = [
        tuple(r)
        for r in db.execute(f"SELECT {cols} FROM {q(kind.name)}{where} ORDER BY {cols}")
        if tuple(r) not in have
    ]
    if kind.name == "users" and gone:
        n = db.execute(
            "SELECT COUNT(*) FROM users WHERE user_id IN (SELECT value FROM json_each(?))"
            " AND uid IN (SELECT uid FROM usage)",
            (json.dumps([k for (k,) in gone]),),
        ).fetchone()[0]
        if n:
            raise InputError(
                f"{n:,} user{'s' if n != 1 else ''} missing from the file still "
                f"{'have' if n != 1 else 'has'} usage rows",
                hint="load users with --mode upsert, or replace usage first",
            )
    return gone


def retire(db: sqlite3.Connection, kind: ExportKind, keys: Sequence[tuple[Any, ...]]) -> int:
    """Retire the rows with ``keys`` (from :func:`retiring`), in the caller's transaction:
    accounts are marked inactive, never deleted (their history stays); others are deleted."""
    match = " AND ".join(f"{q(k)} = ?" for k in kind.key)
    sql = (
        f"UPDATE {q(kind.name)} SET active = 0 WHERE {match}"
        if kind.snapshot
        else f"DELETE FROM {q(kind.name)} WHERE {match}"
    )
    before = db.total_changes
    db.executemany(sql, keys)
    return db.total_changes - before


# -- reading ---------------------------------------------------------------------------------


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


def status(db: sqlite3.Connection) -> list[KindStatus]:
    """Rows, last load and date range of every kind, then the rollups when there are any."""
    out = []
    for name in LOAD_ORDER:
        kind = KINDS[name]
        rows = count(db, name)
        active = (
            int(db.execute(f"SELECT COUNT(*) FROM {q(name)} WHERE active = 1").fetchone()[0])
            if kind.snapshot
            else None
        )
        last = last_load(db, name)
        first_d = last_d = None
        span = usage.day_range(db) if kind.storage == "compact" and rows else None
        if span:
            first_d, last_d = day_date(span[0]).isoformat(), day_date(span[1]).isoformat()
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
    rolled = rollups.summary(db)
    run = rollups.last_run(db)
    if rolled and run:
        # The latest rollup: rows it read, its source and engine, and every rolled-up date.
        out.append(
            KindStatus(
                "rollups",
                run.rows,
                None,
                run.made_at,
                f"{run.source} ({run.engine})",
                None,
                day_date(rolled[1]).isoformat(),
                day_date(rolled[2]).isoformat(),
            )
        )
    return out


def segment_column(segment_field: str, table: str = "") -> tuple[str, tuple[str, ...]]:
    """SQL for an account's segment and its parameters: the named canonical column of the
    accounts export, or else that name among its extra attributes. ``table`` is an alias."""
    prefix = f"{table}." if table else ""
    if segment_field in KINDS["accounts"].column_names:
        return prefix + q(segment_field), ()
    return f"json_extract({prefix}attributes, '$.' || ?)", ('"' + segment_field + '"',)


def active_accounts(
    db: sqlite3.Connection,
    segment_field: str,
    account_id: str | None = None,
    *,
    active_only: bool = True,
) -> list[tuple[Any, ...]]:
    """Active accounts: (account_id, name, segment, csm, licenses_purchased).

    The segment comes from the named canonical column, or else from the extra attributes
    of the accounts export. ``account_id`` narrows the list to that one account;
    ``active_only=False`` lists the inactive accounts too.
    """
    seg, params = segment_column(segment_field)
    one = " AND account_id = ?" if account_id is not None else ""
    active = "active = 1" if active_only else "1"
    sql = (
        f"SELECT account_id, name, {seg}, csm, licenses_purchased FROM accounts"
        f" WHERE {active}{one} ORDER BY account_id"
    )
    return list(db.execute(sql, params + ((account_id,) if account_id is not None else ())))


def enabled_features(
    db: sqlite3.Connection, account_id: str | None = None
) -> list[tuple[str, str, int | None]]:
    """(account_id, feature, enabled) rows of the features export (of one account if given)."""
    if account_id is not None:
        return list(
            db.execute(
                "SELECT account_id, feature, enabled FROM features WHERE account_id = ?",
                (account_id,),
            )
        )
    return list(db.execute("SELECT account_id, feature, enabled FROM features"))


ACCOUNT_COLUMNS = KINDS["accounts"].column_names


def account_rows(db: sqlite3.Connection, *, active: bool = True) -> list[tuple[Any, ...]]:
    """Accounts as tuples of ACCOUNT_COLUMNS plus the ``attributes`` JSON text, by account_id.

    ``active`` keeps the accounts of the latest accounts export (the default).
    """
    cols = ", ".join(q(c) for c in ACCOUNT_COLUMNS)
    where = " WHERE active = 1" if active else ""
    return list(db.execute(f"SELECT {cols}, attributes FROM accounts{where} ORDER BY account_id"))


def account_attribute_names(db: sqlite3.Connection) -> list[str]:
    """The names of the extra columns (attributes) of the active accounts, sorted."""
    cur = db.execute(
        "SELECT DISTINCT j.key FROM accounts a, json_each(a.attributes) j"
        " WHERE a.active = 1 AND a.attributes IS NOT NULL ORDER BY j.key"
    )
    return [r[0] for r in cur]


def account_name(db: sqlite3.Connection, account_id: str | None) -> str | None:
    """The name of an account (active or not), or None."""
    if account_id is None:
        return None
    row = db.execute("SELECT name FROM accounts WHERE account_id = ?", (account_id,)).fetchone()
    return str(row[0]) if row else None
