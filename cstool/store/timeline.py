"""Timeline tables and queries: notes added with ``cstool timeline add``, and the account's
rows of the activities export that the merged timeline reads.

The merge itself (sources, order, filters) lives in :mod:`cstool.timeline`; each source reads
its own domain's tables. Notes are append-only: a note is never edited, so the timeline
shows what was known when.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from typing import Any

# -- migrations ------------------------------------------------------------------------------


def create_tables(db: sqlite3.Connection) -> None:
    """Schema 5: notes on an account's timeline, and an index to read an account's activities."""
    db.execute(
        "CREATE TABLE notes (note_id INTEGER PRIMARY KEY, account_id TEXT NOT NULL,"
        " date TEXT NOT NULL, type TEXT NOT NULL, subject TEXT NOT NULL, body TEXT,"
        " author TEXT, added_at TEXT NOT NULL)"
    )
    db.execute("CREATE INDEX notes_account ON notes (account_id, date)")
    db.execute('CREATE INDEX activities_account ON "activities" ("account_id", "date")')


# -- notes -----------------------------------------------------------------------------------

NOTE_COLUMNS = ("note_id", "account_id", "date", "type", "subject", "body", "author", "added_at")


def add_note(
    db: sqlite3.Connection,
    account_id: str,
    day: date,
    type: str,
    subject: str,
    body: str | None,
    author: str | None,
    added_at: str,
) -> int:
    """Append a note (inside the caller's transaction); returns its id."""
    cur = db.execute(
        "INSERT INTO notes (account_id, date, type, subject, body, author, added_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (account_id, day.isoformat(), type, subject, body, author, added_at),
    )
    return int(cur.lastrowid or 0)


def notes(db: sqlite3.Connection, account_id: str, since: date | None) -> list[dict[str, Any]]:
    """The account's notes on or after ``since``, as dicts of NOTE_COLUMNS."""
    cur = db.execute(
        f"SELECT {', '.join(NOTE_COLUMNS)} FROM notes WHERE account_id = ? AND date >= ?",
        (account_id, since.isoformat() if since else ""),
    )
    return [dict(zip(NOTE_COLUMNS, r, strict=True)) for r in cur]


# -- the activities export -------------------------------------------------------------------

ACTIVITY_COLUMNS = ("activity_id", "date", "type", "author", "subject", "body")


def activities(db: sqlite3.Connection, account_id: str, since: date | None) -> list[dict[str, Any]]:
    """The account's rows of the activities export on or after ``since``."""
    cur = db.execute(
        f"SELECT {', '.join(ACTIVITY_COLUMNS)} FROM activities WHERE account_id = ? AND date >= ?",
        (account_id, since.isoformat() if since else ""),
    )
    return [dict(zip(ACTIVITY_COLUMNS, r, strict=True)) for r in cur]
