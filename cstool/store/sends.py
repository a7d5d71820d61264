"""The send ledger: every journey email planned, written, delivered or held, and its batches.

One row of ``sends`` per (journey, step, recipient, cycle): that tuple is unique, so a
recipient gets a step at most once per cycle (a journey with ``reentry_days`` starts a new
cycle once that many days have passed). ``key`` is made from the tuple (never from data: the
recipient's id enters only as a hash) and names the message's file in the outbox and the left
part of its Message-ID.

A row's ``status`` moves along::

    planned --> written --> sending --> sent | failed | deferred | unknown
       |                                  deferred --> sending (retried by the next --deliver)
       '--> invalid (the message could not be built: reason says why; planned again next run)
                                          unknown --> written (resolve --resend) | skipped

``held_out`` rows record the recipients of holdout accounts, who get nothing but are
compared with the recipients in the journey's stats. ``planned`` rows are committed before
any file is written and ``sending`` before a message is handed to the SMTP server, so a
process killed at any point leaves rows that say what to do: re-render the planned ones
(byte-identical, since the Message-ID and Date come from here), and hold the sending ones for
a decision, since they may or may not have arrived.

``send_batches`` holds one row per run of ``journey send``: its date, the timestamp that
becomes the Date of its messages, its folder under ``outbox/JOURNEY/`` and whether every
message of it was written (``complete``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

# Statuses, in the order they are listed in reports.
PLANNED = "planned"
WRITTEN = "written"
SENDING = "sending"
SENT = "sent"
DEFERRED = "deferred"
FAILED = "failed"
UNKNOWN = "unknown"
SKIPPED = "skipped"
INVALID = "invalid"
HELD_OUT = "held_out"
STATUSES = (
    PLANNED,
    WRITTEN,
    SENDING,
    SENT,
    DEFERRED,
    FAILED,
    UNKNOWN,
    SKIPPED,
    INVALID,
    HELD_OUT,
)
# Rows that reached, or may yet reach, the recipient's inbox: they count against the
# frequency cap and start the clock of `after:` steps.
MAILED = (PLANNED, WRITTEN, SENDING, SENT, DEFERRED, UNKNOWN)
# Rows that hold a message file in the outbox.
WITH_MESSAGE = (WRITTEN, SENDING, SENT, DEFERRED, FAILED, UNKNOWN, SKIPPED)
# Rows waiting for SMTP delivery.
TO_DELIVER = (WRITTEN, DEFERRED)

# -- migrations ------------------------------------------------------------------------------


def create_tables(db: sqlite3.Connection) -> None:
    """Schema 9: the send ledger (``sends``) and its batches (``send_batches``)."""
    db.execute(
        "CREATE TABLE send_batches (batch_id INTEGER PRIMARY KEY, journey TEXT NOT NULL,"
        " as_of TEXT NOT NULL, created_at TEXT NOT NULL, folder TEXT NOT NULL,"
        " step TEXT, complete INTEGER NOT NULL DEFAULT 0)"
    )
    db.execute("CREATE INDEX send_batches_journey ON send_batches (journey, batch_id)")
    db.execute(
        "CREATE TABLE sends (send_id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE,"
        " journey TEXT NOT NULL, step TEXT NOT NULL, user_id TEXT NOT NULL,"
        " cycle INTEGER NOT NULL, batch_id INTEGER NOT NULL REFERENCES send_batches,"
        " account_id TEXT NOT NULL, day TEXT NOT NULL, variant TEXT, template TEXT,"
        " recipient TEXT, sender TEXT, message_id TEXT, subject TEXT, status TEXT NOT NULL,"
        " reason TEXT,"
        " smtp_code INTEGER, smtp_reply TEXT, sent_at TEXT, updated_at TEXT NOT NULL,"
        " UNIQUE (journey, step, user_id, cycle))"
    )
    db.execute("CREATE INDEX sends_user ON sends (user_id, day)")
    db.execute("CREATE INDEX sends_batch ON sends (batch_id, status)")
    db.execute("CREATE INDEX sends_account ON sends (account_id, day)")
    db.execute("CREATE INDEX sends_message ON sends (message_id)")


# -- batches ---------------------------------------------------------------------------------

BATCH_COLUMNS = ("batch_id", "journey", "as_of", "created_at", "folder", "step", "complete")


@dataclass(frozen=True)
class Batch:
    """One run of ``journey send``."""

    batch_id: int
    journey: str
    as_of: str
    created_at: str  # ISO timestamp with its UTC offset: the Date of the batch's messages
    folder: str  # under outbox/JOURNEY/
    step: str | None
    complete: bool


def _batch(row: Sequence[Any]) -> Batch:
    return Batch(int(row[0]), row[1], row[2], row[3], row[4], row[5], bool(row[6]))


def next_batch_id(db: sqlite3.Connection) -> int:
    """The id the next batch will get."""
    return int(db.execute("SELECT coalesce(max(batch_id), 0) + 1 FROM send_batches").fetchone()[0])


def add_batch(
    db: sqlite3.Connection,
    batch_id: int,
    journey: str,
    as_of: str,
    created_at: str,
    folder: str,
    step: str | None,
) -> None:
    """Record a new batch, not yet complete (inside the caller's transaction)."""
    db.execute(
        "INSERT INTO send_batches (batch_id, journey, as_of, created_at, folder, step, complete)"
        " VALUES (?, ?, ?, ?, ?, ?, 0)",
        (batch_id, journey, as_of, created_at, folder, step),
    )


def batch(db: sqlite3.Connection, batch_id: int) -> Batch | None:
    """The batch with this id, or None."""
    row = db.execute(
        f"SELECT {', '.join(BATCH_COLUMNS)} FROM send_batches WHERE batch_id = ?", (batch_id,)
    ).fetchone()
    return _batch(row) if row else None


def open_batches(db: sqlite3.Connection, journey: str) -> list[Batch]:
    """The journey's batches whose messages are not all written yet, oldest first."""
    cur = db.execute(
        f"SELECT {', '.join(BATCH_COLUMNS)} FROM send_batches"
        " WHERE journey = ? AND complete = 0 ORDER BY batch_id",
        (journey,),
    )
    return [_batch(r) for r in cur]


def batches(db: sqlite3.Connection, journey: str | None = None) -> list[Batch]:
    """Every batch (of one journey), oldest first."""
    where, args = ("WHERE journey = ?", (journey,)) if journey else ("", ())
    cur = db.execute(
        f"SELECT {', '.join(BATCH_COLUMNS)} FROM send_batches {where} ORDER BY batch_id", args
    )
    return [_batch(r) for r in cur]


def complete_batch(db: sqlite3.Connection, batch_id: int) -> None:
    """Mark a batch as fully written."""
    db.execute("UPDATE send_batches SET complete = 1 WHERE batch_id = ?", (batch_id,))


# -- sends -----------------------------------------------------------------------------------

SEND_COLUMNS = (
    "send_id",
    "key",
    "journey",
    "step",
    "user_id",
    "cycle",
    "batch_id",
    "account_id",
    "day",
    "variant",
    "template",
    "recipient",
    "sender",
    "message_id",
    "subject",
    "status",
    "reason",
    "smtp_code",
    "smtp_reply",
    "sent_at",
    "updated_at",
)


@dataclass(frozen=True, slots=True)
class NewSend:
    """A row to add to the ledger (a new key) or to plan again (an invalid row's key)."""

    key: str
    journey: str
    step: str
    user_id: str
    cycle: int
    account_id: str
    day: str
    variant: str | None
    template: str | None
    recipient: str | None
    sender: str | None
    message_id: str | None
    subject: str | None
    status: str
    reason: str | None


def add_sends(
    db: sqlite3.Connection, batch_id: int, rows: Iterable[NewSend], updated_at: str
) -> int:
    """Insert new ledger rows into a batch; a key already there as ``invalid`` is planned anew.

    Returns how many rows were inserted or planned anew: any other key already in the ledger
    is left as it is (the caller planned only absent or invalid keys, and checks the count).
    """
    before = db.total_changes
    db.executemany(
        "INSERT INTO sends (key, journey, step, user_id, cycle, batch_id, account_id, day,"
        " variant, template, recipient, sender, message_id, subject, status, reason,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (key) DO UPDATE SET batch_id = excluded.batch_id,"
        " account_id = excluded.account_id, day = excluded.day, variant = excluded.variant,"
        " template = excluded.template, recipient = excluded.recipient,"
        " sender = excluded.sender,"
        " message_id = excluded.message_id, subject = excluded.subject,"
        " status = excluded.status, reason = excluded.reason, updated_at = excluded.updated_at"
        " WHERE sends.status = 'invalid'",
        (
            (
                r.key,
                r.journey,
                r.step,
                r.user_id,
                r.cycle,
                batch_id,
                r.account_id,
                r.day,
                r.variant,
                r.template,
                r.recipient,
                r.sender,
                r.message_id,
                r.subject,
                r.status,
                r.reason,
                updated_at,
            )
            for r in rows
        ),
    )
    return db.total_changes - before


def history(db: sqlite3.Connection, journey: str) -> list[tuple[str, str, int, str, str]]:
    """(user_id, step, cycle, day, status) of every row of a journey, by user, step, cycle."""
    return db.execute(
        "SELECT user_id, step, cycle, day, status FROM sends WHERE journey = ?"
        " ORDER BY user_id, step, cycle",
        (journey,),
    ).fetchall()


def mailed_days(
    db: sqlite3.Connection, first: str, last: str, exempt: Sequence[str] = ()
) -> list[tuple[str, str]]:
    """(user_id, day) of the messages that count against the frequency cap from ``first``
    through ``last``, leaving out the journeys in ``exempt`` (transactional ones)."""
    marks = ", ".join("?" * len(MAILED))
    skip = f" AND journey NOT IN ({', '.join('?' * len(exempt))})" if exempt else ""
    return db.execute(
        f"SELECT user_id, day FROM sends WHERE day BETWEEN ? AND ? AND status IN ({marks})" + skip,
        (first, last, *MAILED, *exempt),
    ).fetchall()


def rows(
    db: sqlite3.Connection,
    *,
    batch_id: int | None = None,
    journey: str | None = None,
    statuses: Sequence[str] = (),
    account_id: str | None = None,
    after: int = 0,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Ledger rows as dicts of SEND_COLUMNS, by send_id, filtered by the arguments given.

    ``after`` and ``limit`` read a long list in pages: the rows with a send_id above
    ``after``, at most ``limit`` of them.
    """
    where: list[str] = ["send_id > ?"]
    args: list[Any] = [after]
    for column, value in (("batch_id", batch_id), ("journey", journey), ("account_id", account_id)):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    if statuses:
        where.append(f"status IN ({', '.join('?' * len(statuses))})")
        args.extend(statuses)
    page = f" LIMIT {int(limit)}" if limit is not None else ""
    cur = db.execute(
        f"SELECT {', '.join(SEND_COLUMNS)} FROM sends WHERE {' AND '.join(where)}"
        f" ORDER BY send_id{page}",
        args,
    )
    return [dict(zip(SEND_COLUMNS, r, strict=True)) for r in cur]


def count_by_status(db: sqlite3.Connection, batch_id: int) -> dict[str, int]:
    """How many rows of a batch are in each status."""
    return dict(
        db.execute(
            "SELECT status, COUNT(*) FROM sends WHERE batch_id = ? GROUP BY status", (batch_id,)
        ).fetchall()
    )


def set_status(
    db: sqlite3.Connection,
    send_ids: Iterable[int],
    status: str,
    updated_at: str,
    *,
    reason: str | None = None,
) -> None:
    """Move rows to ``status`` (with a reason, or none)."""
    db.executemany(
        "UPDATE sends SET status = ?, reason = ?, updated_at = ? WHERE send_id = ?",
        ((status, reason, updated_at, i) for i in send_ids),
    )


def mark_written(
    db: sqlite3.Connection, written: Iterable[tuple[int, str, str, str]], updated_at: str
) -> None:
    """Record (send_id, subject, recipient, envelope sender) as written to the outbox."""
    db.executemany(
        "UPDATE sends SET status = 'written', subject = ?, recipient = ?, sender = ?,"
        " reason = NULL, updated_at = ? WHERE send_id = ?",
        ((subject, to, sender, updated_at, i) for i, subject, to, sender in written),
    )


def record_outcome(
    db: sqlite3.Connection,
    send_id: int,
    status: str,
    code: int | None,
    reply: str | None,
    at: str,
) -> None:
    """Record an SMTP outcome; ``sent_at`` is set when the server took the message."""
    db.execute(
        "UPDATE sends SET status = ?, smtp_code = ?, smtp_reply = ?, updated_at = ?,"
        " sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END WHERE send_id = ?",
        (status, code, reply, at, status, at, send_id),
    )


def sent_on(db: sqlite3.Connection, day: str) -> int:
    """How many messages the SMTP server took on ``day`` (for the daily cap)."""
    return int(
        db.execute(
            "SELECT COUNT(*) FROM sends WHERE status = 'sent' AND substr(sent_at, 1, 10) = ?",
            (day,),
        ).fetchone()[0]
    )


# -- events ----------------------------------------------------------------------------------


def suppressing_events(db: sqlite3.Connection) -> list[tuple[str, str, str]]:
    """(user_id, journey, event) of bounces, complaints and unsubscribes of ledger messages."""
    return db.execute(
        "SELECT DISTINCT s.user_id, s.journey, e.event FROM email_events e"
        " JOIN sends s ON s.message_id = e.message_id"
        " WHERE e.event IN ('bounce', 'complaint', 'unsubscribe')"
    ).fetchall()


def events(
    db: sqlite3.Connection, *, journey: str | None = None, account_id: str | None = None
) -> list[tuple[str, str, str, str, str | None]]:
    """(message_id, event, timestamp, url, user_agent) of the events of ledger messages."""
    where, args = [], []
    if journey is not None:
        where.append("s.journey = ?")
        args.append(journey)
    if account_id is not None:
        where.append("s.account_id = ?")
        args.append(account_id)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    return db.execute(
        "SELECT e.message_id, e.event, e.timestamp, e.url, e.user_agent FROM email_events e"
        f" JOIN sends s ON s.message_id = e.message_id{clause}"
        " ORDER BY e.message_id, e.timestamp, e.event",
        args,
    ).fetchall()
