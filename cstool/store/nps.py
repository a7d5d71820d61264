"""NPS queries over the ``nps`` export, with the respondent's role (users export) and the
account's segment and CSM (accounts export). The arithmetic lives in :mod:`cstool.nps`."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import date
from typing import Any

from cstool.store.exports import segment_column
from cstool.store.sql import day_number

# -- migrations ------------------------------------------------------------------------------


def create_indexes(db: sqlite3.Connection) -> None:
    """Schema 6: an account's responses by date, for its 360 and timeline."""
    db.execute('CREATE INDEX nps_account ON "nps" ("account_id", "date")')


# -- queries ---------------------------------------------------------------------------------

RESPONSE_COLUMNS = (
    "response_id",
    "date",
    "account_id",
    "user_id",
    "score",
    "role",
    "segment",
    "csm",
)
ACTIVE_COLUMNS = ("user_id", "account_id", "role", "segment", "csm")


def latest_date(db: sqlite3.Connection) -> date | None:
    """The date of the latest response, or None without responses."""
    d = db.execute("SELECT MAX(date) FROM nps").fetchone()[0]
    return date.fromisoformat(d) if d else None


def responses(
    db: sqlite3.Connection, start: date, end: date, segment_field: str
) -> list[tuple[Any, ...]]:
    """Responses dated ``start``..``end`` as RESPONSE_COLUMNS, oldest first."""
    seg, params = segment_column(segment_field, "a")
    return list(
        db.execute(
            f"SELECT n.response_id, n.date, n.account_id, n.user_id, n.score, u.role, {seg},"
            " a.csm FROM nps n LEFT JOIN users u ON u.user_id = n.user_id"
            " LEFT JOIN accounts a ON a.account_id = n.account_id"
            " WHERE n.date BETWEEN ? AND ? ORDER BY n.date, n.response_id",
            (*params, start.isoformat(), end.isoformat()),
        )
    )


def active_users(
    db: sqlite3.Connection, start: date, end: date, segment_field: str
) -> list[tuple[Any, ...]]:
    """Users with events > 0 on any day of ``start``..``end``, as ACTIVE_COLUMNS.

    ``user_activity`` holds each user's first and last active day, which settles most users
    without reading usage: active when either day falls in the period, not when the span
    misses it. Only users whose span encloses the period need their rows looked up; when
    the period ends at the latest usage day (the default report) there are none.
    """
    seg, params = segment_column(segment_field, "a")
    lo, hi = day_number(start), day_number(end)
    select = (
        f"SELECT u.user_id, u.account_id, u.role, {seg}, a.csm FROM users u"
        " JOIN accounts a ON a.account_id = u.account_id"
        " JOIN user_activity s ON s.uid = u.uid"
    )
    sure = list(
        db.execute(
            f"{select} WHERE s.first_day BETWEEN ? AND ? OR s.last_day BETWEEN ? AND ?",
            (*params, lo, hi, lo, hi),
        )
    )
    enclosing = "s.first_day < ? AND s.last_day > ?"
    (n,) = db.execute(
        f"SELECT COUNT(*) FROM user_activity s WHERE {enclosing}", (lo, hi)
    ).fetchone()
    if not n:
        return sure
    days = hi - lo + 1
    if n * days <= 2_000_000 and days < 30_000:
        # Few enough to look up: each (day, uid) pair is a seek in the primary key.
        marks = ", ".join("?" * days)
        rows = db.execute(
            f"{select} WHERE {enclosing} AND EXISTS (SELECT 1 FROM usage g"
            f" WHERE g.day IN ({marks}) AND g.uid = u.uid AND g.events > 0)",
            (*params, lo, hi, *range(lo, hi + 1)),
        )
    else:
        rows = db.execute(
            f"{select} WHERE {enclosing} AND u.uid IN (SELECT DISTINCT uid FROM usage"
            " WHERE day BETWEEN ? AND ? AND events > 0)",
            (*params, lo, hi, lo, hi),
        )
    return sure + list(rows)


def group_values(db: sqlite3.Connection, by: str, segment_field: str) -> list[str | None]:
    """Every value a grouping can take, so groups without responses still show: the roles
    of all users, or the segments or CSMs of the active accounts."""
    params: tuple[str, ...] = ()
    if by == "role":
        sql = "SELECT DISTINCT role FROM users"
    elif by == "segment":
        seg, params = segment_column(segment_field)
        sql = f"SELECT DISTINCT {seg} FROM accounts WHERE active = 1"
    elif by == "csm":
        sql = "SELECT DISTINCT csm FROM accounts WHERE active = 1"
    else:
        raise ValueError(by)
    return [None if r[0] in (None, "") else str(r[0]) for r in db.execute(sql, params)]


def comments(
    db: sqlite3.Connection,
    start: date | None,
    end: date | None,
    account_id: str | None,
    max_score: int | None,
) -> list[tuple[Any, ...]]:
    """Responses with a comment, newest first: (response_id, date, account_id, account name,
    user_id, role, score, comment)."""
    where = ["n.comment IS NOT NULL", "n.comment != ''"]
    params: list[Any] = []
    if start is not None:
        where.append("n.date >= ?")
        params.append(start.isoformat())
    if end is not None:
        where.append("n.date <= ?")
        params.append(end.isoformat())
    if account_id is not None:
        where.append("n.account_id = ?")
        params.append(account_id)
    if max_score is not None:
        where.append("n.score <= ?")
        params.append(max_score)
    return list(
        db.execute(
            "SELECT n.response_id, n.date, n.account_id, a.name, n.user_id, u.role, n.score,"
            " n.comment FROM nps n LEFT JOIN users u ON u.user_id = n.user_id"
            " LEFT JOIN accounts a ON a.account_id = n.account_id"
            f" WHERE {' AND '.join(where)} ORDER BY n.date DESC, n.response_id DESC",
            params,
        )
    )


ACCOUNT_RESPONSE_COLUMNS = (
    "response_id",
    "date",
    "user_id",
    "score",
    "comment",
    "role",
    "first_name",
    "last_name",
)


def account_responses(
    db: sqlite3.Connection, account_id: str, since: date | None = None
) -> list[dict[str, Any]]:
    """The account's responses on or after ``since`` with the respondent, newest first."""
    cur = db.execute(
        "SELECT n.response_id, n.date, n.user_id, n.score, n.comment, u.role, u.first_name,"
        " u.last_name FROM nps n LEFT JOIN users u ON u.user_id = n.user_id"
        " WHERE n.account_id = ? AND n.date >= ? ORDER BY n.date DESC, n.response_id DESC",
        (account_id, since.isoformat() if since else ""),
    )
    return [dict(zip(ACCOUNT_RESPONSE_COLUMNS, r, strict=True)) for r in cur]


def latest_scores(db: sqlite3.Connection, as_of: date) -> list[tuple[str, int, str]]:
    """(account_id, score, date) of each account's latest response on or before ``as_of``.

    Responses of one day are ordered by response_id: the last one counts. One index seek per
    account (``nps_account``) rather than a sort of every response.
    """
    return list(
        db.execute(
            "SELECT a.account_id, n.score, n.date FROM accounts a JOIN nps n ON n.rowid ="
            " (SELECT m.rowid FROM nps m WHERE m.account_id = a.account_id AND m.date <= ?"
            " ORDER BY m.date DESC, m.response_id DESC LIMIT 1)",
            (as_of.isoformat(),),
        )
    )


def latest_scores_of(
    db: sqlite3.Connection, as_of: date, account_ids: Iterable[str]
) -> list[tuple[str, int, str]]:
    """:func:`latest_scores` for ``account_ids`` alone: one index look-up per account, so a
    few hundred accounts of a large book answer in milliseconds."""
    out = []
    for account_id in sorted(set(account_ids)):
        row = db.execute(
            "SELECT account_id, score, date FROM nps WHERE account_id = ? AND date <= ?"
            " ORDER BY date DESC, response_id DESC LIMIT 1",
            (account_id, as_of.isoformat()),
        ).fetchone()
        if row is not None:
            out.append((row[0], int(row[1]), row[2]))
    return out


def latest_user_scores(
    db: sqlite3.Connection, account_id: str, as_of: date
) -> dict[str, tuple[int, str]]:
    """{user_id: (score, date)} of each user's latest answer for ``account_id`` on or before
    ``as_of`` (answers without a user_id left out; one day's answers by response_id)."""
    out: dict[str, tuple[int, str]] = {}
    for user_id, score, day in db.execute(
        "SELECT user_id, score, date FROM nps WHERE account_id = ? AND date <= ?"
        " AND user_id IS NOT NULL AND user_id != '' ORDER BY date, response_id",
        (account_id, as_of.isoformat()),
    ):
        out[str(user_id)] = (int(score), str(day))
    return out
