"""Compact usage storage: users by integer id, feature names, usage rows and activity spans.

Usage is the large table, so it is stored compactly: the day as an integer (days since
1970-01-01), the user and feature as integer ids into ``users`` and ``feature_names``. The view
``usage_rows`` shows it with text ids and ISO dates for people using the sqlite3 shell.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from cstool.store.sql import attributes_differ, count_changes, merged_attributes

# -- migrations ------------------------------------------------------------------------------


def create_tables(db: sqlite3.Connection) -> None:
    """Schema 1: users with integer ids, feature names, usage, activity spans and a view."""
    db.execute(
        'CREATE TABLE users (uid INTEGER PRIMARY KEY, "user_id" TEXT NOT NULL,'
        ' "account_id" TEXT NOT NULL, "email" TEXT, "first_name" TEXT, "last_name" TEXT,'
        ' "role" TEXT, "level" TEXT, "activated_at" TEXT, "is_advocate" INTEGER,'
        ' "unsubscribed" INTEGER, attributes TEXT, UNIQUE (user_id))'
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


# -- users and features ----------------------------------------------------------------------


def user_index(db: sqlite3.Connection) -> tuple[Any, Any, Any, Any]:
    """Users sorted by user_id as compact numpy arrays, for lookups without per-user objects.

    Returns (user_ids, uids, account codes, account_ids): ``account_ids[codes[i]]`` is
    the account of ``user_ids[i]``.
    """
    import numpy as np

    n, wu, wa = db.execute(
        "SELECT COUNT(*), MAX(length(user_id)), MAX(length(account_id)) FROM users"
    ).fetchone()
    ids = np.empty(n, dtype=f"U{wu or 1}")
    uids = np.empty(n, dtype=np.int64)
    accounts = np.empty(n, dtype=f"U{wa or 1}")
    cur = db.execute("SELECT user_id, uid, account_id FROM users")
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


def feature_names(db: sqlite3.Connection) -> list[tuple[str, int]]:
    """(feature, fid) of every feature seen in usage."""
    return list(db.execute("SELECT feature, fid FROM feature_names"))


def feature_catalogue(db: sqlite3.Connection) -> list[tuple[int, str]]:
    """(fid, name) of every feature seen in usage, by id."""
    return list(db.execute("SELECT fid, feature FROM feature_names ORDER BY fid"))


def add_features(db: sqlite3.Connection, features: Iterable[tuple[int, str]]) -> None:
    """Name new feature ids (inside the caller's transaction)."""
    db.executemany("INSERT INTO feature_names (fid, feature) VALUES (?, ?)", features)


# -- usage rows ------------------------------------------------------------------------------


def clear(db: sqlite3.Connection) -> None:
    """Delete every usage row and activity span (replace mode), in the caller's transaction."""
    db.execute("DELETE FROM usage")
    db.execute("DELETE FROM user_activity")


def upsert(
    db: sqlite3.Connection,
    rows: Callable[[], Iterable[Sequence[Any]]],
    *,
    attributes: bool,
    new_days: bool,
) -> int:
    """Insert usage rows (day, uid, fid, events[, attributes]) or update changed ones.

    ``rows`` makes a fresh iterator of the rows each time it is called.

    ``new_days`` says every row is on a day after all stored usage, so no stored row can
    conflict and a plain INSERT does (about a third faster than an upsert); should a row
    conflict after all (a key repeated in the file), the rows go through the upsert.
    With ``attributes``, each row's JSON attributes are merged into the stored ones.
    Returns the number of rows inserted or updated.
    """
    cols = "day, uid, fid, events" + (", attributes" if attributes else "")
    marks = ", ".join("?" * (5 if attributes else 4))
    insert = f"INSERT INTO usage AS t ({cols}) VALUES ({marks})"
    before = db.total_changes
    if new_days:
        db.execute("SAVEPOINT usage_batch")
        try:
            db.executemany(insert, rows())
            db.execute("RELEASE usage_batch")
            return db.total_changes - before
        except sqlite3.IntegrityError:
            db.execute("ROLLBACK TO usage_batch")
            db.execute("RELEASE usage_batch")
            before = db.total_changes
    sets, differs = "events = excluded.events", "t.events IS NOT excluded.events"
    if attributes:
        # Attribute keys the file lacks are kept, as for the other kinds.
        sets += f", attributes = {merged_attributes('t.attributes', 'excluded.attributes')}"
        differs += f" OR {attributes_differ('t.attributes', 'excluded.attributes')}"
    db.executemany(
        f"{insert} ON CONFLICT (day, uid, fid) DO UPDATE SET {sets} WHERE {differs}", rows()
    )
    return db.total_changes - before


def changes(
    db: sqlite3.Connection,
    rows: Iterable[Sequence[Any]],
    *,
    attributes: bool,
    merge: bool,
) -> tuple[int, int]:
    """How many usage rows (day, uid, fid, events[, attributes]) would be inserted and how
    many would change an existing row, without writing (a dry run).

    ``merge`` compares as :func:`upsert` writes (attributes merged); without it, as a
    replace writes (the row as it is, no attributes when ``attributes`` is false).
    """
    cols = ["day", "uid", "fid", "events"] + (["attributes"] if attributes else [])
    differs = "t.events IS NOT n.events"
    if attributes:
        differs += " OR " + (
            attributes_differ("t.attributes", "n.attributes")
            if merge
            else "t.attributes IS NOT n.attributes"
        )
    elif not merge:
        differs += " OR t.attributes IS NOT NULL"
    return count_changes(db, "usage", cols, ("day", "uid", "fid"), differs, rows)


def widen_user_activity(db: sqlite3.Connection, spans: Iterable[tuple[int, int, int]]) -> None:
    """Merge (uid, first_day, last_day) spans of activity into ``user_activity``."""
    db.executemany(
        "INSERT INTO user_activity (uid, first_day, last_day) VALUES (?,?,?)"
        " ON CONFLICT (uid) DO UPDATE SET first_day = min(first_day, excluded.first_day),"
        " last_day = max(last_day, excluded.last_day)",
        spans,
    )


def rebuild_user_activity(db: sqlite3.Connection) -> None:
    """Recompute every user's first and last active day from the usage table."""
    db.execute("DELETE FROM user_activity")
    db.execute(
        "INSERT INTO user_activity (uid, first_day, last_day)"
        " SELECT uid, MIN(day), MAX(day) FROM usage WHERE events > 0 GROUP BY uid"
    )


# -- reading ---------------------------------------------------------------------------------


def day_range(db: sqlite3.Connection) -> tuple[int, int] | None:
    """The first and last stored usage day numbers, or None without usage."""
    # Two queries: SQLite answers a lone MIN or MAX of the key from the index at once, but
    # scans the whole table for both in one query.
    lo = db.execute("SELECT MIN(day) FROM usage").fetchone()[0]
    hi = db.execute("SELECT MAX(day) FROM usage").fetchone()[0]
    return None if lo is None else (int(lo), int(hi))


def users_by_account(
    db: sqlite3.Connection, never: int, account_id: str | None = None
) -> Iterator[tuple[str, Any, Any]]:
    """Every user by account: (account_id, uids, activation days) with numpy arrays.

    A user's activation day is the day number of ``activated_at``, else of their first
    day with events > 0, else ``never``. Like :func:`active_usage`, one text of numbers
    per account rather than a Python object per user. ``account_id`` reads one account.
    """
    import numpy as np

    one = " WHERE u.account_id = ?" if account_id is not None else ""
    # julianday() - 2440587.5 is the day number of an ISO date: days since 1970-01-01.
    cur = db.execute(
        "SELECT u.account_id, group_concat(u.uid), group_concat(COALESCE("
        "CAST(julianday(u.activated_at) - 2440587.5 AS INTEGER), a.first_day, ?))"
        f" FROM users u LEFT JOIN user_activity a ON a.uid = u.uid{one} GROUP BY u.account_id",
        (never,) + ((account_id,) if account_id is not None else ()),
    )
    for account_id, uids, days in cur:
        yield (
            account_id,
            np.fromstring(uids, dtype=np.int64, sep=","),
            np.fromstring(days, dtype=np.int64, sep=","),
        )


def active_usage(
    db: sqlite3.Connection,
    first_day: int,
    last_day: int,
    fid_bits: int,
    uids: Sequence[int] | None = None,
) -> Iterator[tuple[int, Any]]:
    """Usage rows with events > 0 in a day range, day by day in order.

    Yields (day, keys): a numpy array of (uid << fid_bits) | fid per row of the day.
    SQLite hands over one text of comma-separated keys per day, which numpy parses in C:
    several times faster than a Python object per row, and each day's text stays small.
    ``uids`` may narrow the rows to those users' (one account's); with very many users
    (beyond SQLite's parameter limit) every user's rows come back.
    """
    import numpy as np

    if uids is not None and len(uids) + last_day - first_day < 30_000:
        # Days as a list rather than a range: SQLite then seeks each (day, uid) pair of the
        # primary key instead of scanning every row of the range.
        days = list(range(first_day, last_day + 1))
        where = f"day IN ({', '.join('?' * len(days))}) AND uid IN ({', '.join('?' * len(uids))})"
        params: tuple[int, ...] = (*days, *(int(u) for u in uids))
    else:
        where, params = "day BETWEEN ? AND ?", (first_day, last_day)
    cur = db.execute(
        f"SELECT day, group_concat((uid << {int(fid_bits)}) | fid) FROM usage"
        f" WHERE {where} AND events > 0 GROUP BY day ORDER BY day",
        params,
    )
    for day, text in cur:
        yield day, np.fromstring(text, dtype=np.int64, sep=",")


USER_COLUMNS = (
    "user_id",
    "account_id",
    "email",
    "first_name",
    "last_name",
    "role",
    "level",
    "activated_at",
    "is_advocate",
    "unsubscribed",
)


def user_rows(db: sqlite3.Connection) -> list[tuple[Any, ...]]:
    """Every user as (uid, *USER_COLUMNS, first active day, last active day), by user_id.

    The active days are day numbers from ``user_activity`` (None for a user never active).
    """
    cols = ", ".join(f'u."{c}"' for c in USER_COLUMNS)
    return list(
        db.execute(
            f"SELECT u.uid, {cols}, a.first_day, a.last_day FROM users u"
            " LEFT JOIN user_activity a ON a.uid = u.uid ORDER BY u.user_id"
        )
    )


def last_active_days(db: sqlite3.Connection, uids: Sequence[int], until: int) -> dict[int, int]:
    """The last day with events > 0 on or before day ``until`` of each of ``uids``.

    For dates before the latest usage, where ``user_activity`` (the last day overall) is too
    late; users without such a day are left out.
    """
    if not uids:
        return {}
    import json

    cur = db.execute(
        "SELECT uid, MAX(day) FROM usage WHERE day <= ? AND events > 0"
        " AND uid IN (SELECT value FROM json_each(?)) GROUP BY uid",
        (until, json.dumps([int(u) for u in uids])),
    )
    return {int(u): int(d) for u, d in cur}


# -- whole-table reads: rollups and exports --------------------------------------------------


def activation_days(db: sqlite3.Connection) -> list[tuple[str, str, int | None]]:
    """(user_id, account_id, day number of activated_at or None) of every user, by user_id."""
    return list(
        db.execute(
            "SELECT user_id, account_id, CAST(julianday(activated_at) - 2440587.5 AS INTEGER)"
            " FROM users ORDER BY user_id"
        )
    )


def user_ids(db: sqlite3.Connection) -> list[tuple[int, str, str]]:
    """(uid, user_id, account_id) of every user."""
    return list(db.execute("SELECT uid, user_id, account_id FROM users"))


def count(db: sqlite3.Connection) -> int:
    """How many usage rows are stored."""
    return int(db.execute("SELECT COUNT(*) FROM usage").fetchone()[0])


def day_keys(db: sqlite3.Connection, day: int) -> tuple[str | None, str | None, str | None]:
    """One day's rows as three texts of comma-separated uids, fids and events, in user and
    feature order (None when the day has no rows): numpy parses them in C."""
    row = db.execute(
        "SELECT group_concat(uid), group_concat(fid), group_concat(events)"
        " FROM (SELECT uid, fid, events FROM usage WHERE day = ? ORDER BY uid, fid)",
        (day,),
    ).fetchone()
    return (row[0], row[1], row[2]) if row else (None, None, None)


def all_rows(db: sqlite3.Connection, batch: int) -> Iterator[list[tuple[int, int, int, int]]]:
    """Every usage row as (day, uid, fid, events), ``batch`` rows at a time."""
    cur = db.execute("SELECT day, uid, fid, events FROM usage")
    while chunk := cur.fetchmany(batch):
        yield chunk
