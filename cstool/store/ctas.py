"""CTA tables and queries: the CTAs (calls to action), their tasks and their events.

A CTA is a work item for an account's owner. Playbook CTAs (``source = 'playbook'``) are
opened, updated and closed by ``cta generate``; other workflows (a reference request) open
CTAs of their own source, which ``cta generate`` never touches. At most one playbook CTA per
account and playbook is not closed: a partial unique index holds that rule in the database.

Dates are ISO text. Statuses are ``open``, ``snoozed`` (until ``snoozed_until``, when it is
open again) and ``closed``. Every change is an event in ``cta_events`` with the business date
it applies to (``date``) and the time it was recorded (``at``): the account timeline reads
them with :func:`cta_events`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

# -- migrations ------------------------------------------------------------------------------


def create_tables(db: sqlite3.Connection) -> None:
    """Schema 8: CTAs, their tasks and their events."""
    db.execute(
        "CREATE TABLE ctas (cta_id INTEGER PRIMARY KEY, source TEXT NOT NULL,"
        " playbook TEXT NOT NULL, account_id TEXT, type TEXT NOT NULL, priority TEXT NOT NULL,"
        " status TEXT NOT NULL CHECK (status IN ('open', 'snoozed', 'closed')), owner TEXT,"
        " reason TEXT NOT NULL, opened_on TEXT NOT NULL, due_on TEXT NOT NULL, closed_on TEXT,"
        " close_reason TEXT, snoozed_until TEXT, details TEXT)"
    )
    db.execute(
        "CREATE UNIQUE INDEX ctas_one_per_playbook ON ctas (account_id, playbook)"
        " WHERE source = 'playbook' AND status != 'closed'"
    )
    db.execute("CREATE INDEX ctas_account ON ctas (account_id, status)")
    db.execute(
        "CREATE TABLE cta_tasks (cta_id INTEGER NOT NULL, n INTEGER NOT NULL,"
        " title TEXT NOT NULL, due_on TEXT NOT NULL, email_assist TEXT, done_on TEXT,"
        " PRIMARY KEY (cta_id, n))"
    )
    db.execute(
        "CREATE TABLE cta_events (event_id INTEGER PRIMARY KEY, cta_id INTEGER NOT NULL,"
        " account_id TEXT, date TEXT NOT NULL, at TEXT NOT NULL, kind TEXT NOT NULL,"
        " text TEXT NOT NULL, data TEXT)"
    )
    db.execute("CREATE INDEX cta_events_account ON cta_events (account_id, date)")
    db.execute("CREATE INDEX cta_events_cta ON cta_events (cta_id)")


# -- rows ------------------------------------------------------------------------------------

PLAYBOOK = "playbook"  # the source of CTAs that `cta generate` manages
STATUSES = ("open", "snoozed", "closed")
EVENT_KINDS = ("opened", "updated", "closed", "snoozed", "due_moved", "task_done")

CTA_COLUMNS = (
    "cta_id",
    "source",
    "playbook",
    "account_id",
    "type",
    "priority",
    "status",
    "owner",
    "reason",
    "opened_on",
    "due_on",
    "closed_on",
    "close_reason",
    "snoozed_until",
    "details",
)
# What an update may change; never an identifier from elsewhere.
UPDATABLE = frozenset(CTA_COLUMNS) - {"cta_id", "source", "playbook", "account_id"}
TASK_COLUMNS = ("cta_id", "n", "title", "due_on", "email_assist", "done_on")
EVENT_COLUMNS = ("event_id", "cta_id", "account_id", "date", "at", "kind", "text", "data")


@dataclass(frozen=True)
class NewTask:
    """A task to store with a new CTA (numbered from 1 in order)."""

    title: str
    due_on: date
    email_assist: str | None = None


def _cta(row: Sequence[Any]) -> dict[str, Any]:
    out = dict(zip(CTA_COLUMNS, row, strict=True))
    out["details"] = json.loads(out["details"]) if out["details"] else None
    return out


def insert(
    db: sqlite3.Connection,
    *,
    source: str,
    playbook: str,
    account_id: str | None,
    type: str,
    priority: str,
    owner: str | None,
    reason: str,
    opened_on: date,
    due_on: date,
    tasks: Iterable[NewTask] = (),
    details: Mapping[str, Any] | None = None,
) -> int:
    """Store a new open CTA and its tasks (inside the caller's transaction); returns its id."""
    cur = db.execute(
        "INSERT INTO ctas (source, playbook, account_id, type, priority, status, owner, reason,"
        " opened_on, due_on, details) VALUES (?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?)",
        (
            source,
            playbook,
            account_id,
            type,
            priority,
            owner,
            reason,
            opened_on.isoformat(),
            due_on.isoformat(),
            json.dumps(dict(details), sort_keys=True, ensure_ascii=False) if details else None,
        ),
    )
    cta_id = int(cur.lastrowid or 0)
    db.executemany(
        "INSERT INTO cta_tasks (cta_id, n, title, due_on, email_assist) VALUES (?, ?, ?, ?, ?)",
        (
            (cta_id, n, t.title, t.due_on.isoformat(), t.email_assist)
            for n, t in enumerate(tasks, start=1)
        ),
    )
    return cta_id


def update(db: sqlite3.Connection, cta_id: int, **values: Any) -> None:
    """Set columns of one CTA (inside the caller's transaction); dates may be given as dates."""
    unknown = set(values) - UPDATABLE
    if unknown:
        raise ValueError(f"not an updatable CTA column: {', '.join(sorted(unknown))}")
    if not values:
        return
    names = sorted(values)
    params = [v.isoformat() if isinstance(v, date) else v for v in (values[n] for n in names)]
    db.execute(
        f"UPDATE ctas SET {', '.join(f'{n} = ?' for n in names)} WHERE cta_id = ?",
        (*params, cta_id),
    )


def finish_task(db: sqlite3.Connection, cta_id: int, n: int, done_on: date) -> None:
    """Mark a task done on ``done_on`` (inside the caller's transaction)."""
    db.execute(
        "UPDATE cta_tasks SET done_on = ? WHERE cta_id = ? AND n = ?",
        (done_on.isoformat(), cta_id, n),
    )


def move_task(db: sqlite3.Connection, cta_id: int, n: int, due_on: date) -> None:
    """Set a task's due date (inside the caller's transaction)."""
    db.execute(
        "UPDATE cta_tasks SET due_on = ? WHERE cta_id = ? AND n = ?",
        (due_on.isoformat(), cta_id, n),
    )


def add_event(
    db: sqlite3.Connection,
    cta_id: int,
    account_id: str | None,
    day: date,
    at: str,
    kind: str,
    text: str,
    data: Mapping[str, Any] | None = None,
) -> None:
    """Record an event of a CTA (inside the caller's transaction).

    ``day`` is the business date it applies to (the as-of date), ``at`` the ISO time it was
    recorded; ``data`` holds the values behind ``text`` (e.g. a change's old and new value).
    """
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown CTA event kind {kind!r}")
    db.execute(
        "INSERT INTO cta_events (cta_id, account_id, date, at, kind, text, data)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            cta_id,
            account_id,
            day.isoformat(),
            at,
            kind,
            text,
            json.dumps(dict(data), sort_keys=True, ensure_ascii=False, default=str)
            if data
            else None,
        ),
    )


# -- reading ---------------------------------------------------------------------------------


def get(db: sqlite3.Connection, cta_id: int) -> dict[str, Any] | None:
    """One CTA as a dict of CTA_COLUMNS (details parsed), or None."""
    row = db.execute(
        f"SELECT {', '.join(CTA_COLUMNS)} FROM ctas WHERE cta_id = ?", (cta_id,)
    ).fetchone()
    return _cta(row) if row else None


def tasks(db: sqlite3.Connection, cta_id: int) -> list[dict[str, Any]]:
    """A CTA's tasks in order, as dicts of TASK_COLUMNS."""
    cur = db.execute(
        f"SELECT {', '.join(TASK_COLUMNS)} FROM cta_tasks WHERE cta_id = ? ORDER BY n", (cta_id,)
    )
    return [dict(zip(TASK_COLUMNS, r, strict=True)) for r in cur]


def _events(cur: sqlite3.Cursor) -> list[dict[str, Any]]:
    out = []
    for r in cur:
        e = dict(zip(EVENT_COLUMNS, r, strict=True))
        e["data"] = json.loads(e["data"]) if e["data"] else None
        out.append(e)
    return out


def events(db: sqlite3.Connection, cta_id: int) -> list[dict[str, Any]]:
    """A CTA's events, oldest first, as dicts of EVENT_COLUMNS (data parsed)."""
    return _events(
        db.execute(
            f"SELECT {', '.join(EVENT_COLUMNS)} FROM cta_events WHERE cta_id = ?"
            " ORDER BY date, event_id",
            (cta_id,),
        )
    )


def cta_events(
    db: sqlite3.Connection, account_id: str, since: date | None = None
) -> list[dict[str, Any]]:
    """An account's CTA events on or after ``since``, oldest first, for its timeline.

    Each is a dict of EVENT_COLUMNS plus the CTA's ``playbook`` and ``type``: ``date`` is the
    business date, ``at`` the time it was recorded, ``kind`` one of EVENT_KINDS and ``text``
    a sentence for people (``opened: Renewal in 23 days; depth orange``).
    """
    cols = ", ".join(f"e.{c}" for c in EVENT_COLUMNS)
    cur = db.execute(
        f"SELECT {cols}, c.playbook, c.type FROM cta_events e JOIN ctas c ON c.cta_id = e.cta_id"
        " WHERE e.account_id = ? AND e.date >= ? ORDER BY e.date, e.event_id",
        (account_id, since.isoformat() if since else ""),
    )
    out = []
    for r in cur:
        e = dict(zip((*EVENT_COLUMNS, "playbook", "type"), r, strict=True))
        e["data"] = json.loads(e["data"]) if e["data"] else None
        out.append(e)
    return out


def current(db: sqlite3.Connection, playbooks: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """The playbook CTAs that are not closed (of ``playbooks`` when given), by id."""
    sql = f"SELECT {', '.join(CTA_COLUMNS)} FROM ctas WHERE source = ? AND status != 'closed'"
    params: list[Any] = [PLAYBOOK]
    if playbooks is not None:
        names = sorted(set(playbooks))
        sql += f" AND playbook IN ({', '.join('?' * len(names))})"
        params += names
    return [_cta(r) for r in db.execute(sql + " ORDER BY cta_id", params)]


def last_closed(
    db: sqlite3.Connection, playbooks: Iterable[str] | None = None
) -> dict[tuple[str, str], str]:
    """The latest closing date per (account_id, playbook) of closed playbook CTAs."""
    sql = (
        "SELECT account_id, playbook, MAX(closed_on) FROM ctas WHERE source = ?"
        " AND status = 'closed' AND account_id IS NOT NULL"
    )
    params: list[Any] = [PLAYBOOK]
    if playbooks is not None:
        names = sorted(set(playbooks))
        sql += f" AND playbook IN ({', '.join('?' * len(names))})"
        params += names
    return {(a, p): d for a, p, d in db.execute(sql + " GROUP BY account_id, playbook", params)}


# The status a CTA has on a date: a snooze ends on its date.
_STATUS_ON = (
    "CASE WHEN c.status = 'snoozed' AND c.snoozed_until <= :as_of THEN 'open' ELSE c.status END"
)


def open_counts(db: sqlite3.Connection, as_of: date) -> dict[str, int]:
    """The number of open CTAs per account on ``as_of`` (a snooze ended by then is open)."""
    cur = db.execute(
        f"SELECT c.account_id, COUNT(*) FROM ctas c WHERE c.account_id IS NOT NULL"
        f" AND c.status != 'closed' AND {_STATUS_ON} = 'open' GROUP BY c.account_id",
        {"as_of": as_of.isoformat()},
    )
    return {a: int(n) for a, n in cur}


LIST_COLUMNS = (
    "cta_id",
    "account_id",
    "account_name",
    "playbook",
    "type",
    "priority",
    "status",
    "owner",
    "reason",
    "opened_on",
    "due_on",
    "closed_on",
    "close_reason",
    "tasks_open",
)


def listing(
    db: sqlite3.Connection,
    as_of: date,
    *,
    owner: str | None = None,
    status: str | None = None,
    type: str | None = None,
    priority: str | None = None,
    overdue: bool = False,
    account_id: str | None = None,
) -> list[dict[str, Any]]:
    """CTAs as dicts of LIST_COLUMNS (and ``snoozed_until``) with their status on ``as_of``.

    Filters match in any case; ``overdue`` keeps open CTAs due before ``as_of``. Sorted by
    due date, then priority (urgent first), then id.
    """
    where = ["1 = 1"]
    params: dict[str, Any] = {"as_of": as_of.isoformat()}
    for name, column, value in (
        ("owner", "c.owner", owner),
        ("type", "c.type", type),
        ("priority", "c.priority", priority),
    ):
        if value is not None:
            where.append(f"lower({column}) = lower(:{name})")
            params[name] = value
    if status is not None:
        where.append(f"{_STATUS_ON} = lower(:status)")
        params["status"] = status
    if overdue:
        where.append(f"{_STATUS_ON} = 'open' AND c.due_on < :as_of")
    if account_id is not None:
        where.append("c.account_id = :account_id")
        params["account_id"] = account_id
    cur = db.execute(
        "SELECT c.cta_id, c.account_id, a.name, c.playbook, c.type, c.priority,"
        f" {_STATUS_ON}, c.owner, c.reason, c.opened_on, c.due_on, c.closed_on, c.close_reason,"
        " (SELECT COUNT(*) FROM cta_tasks t WHERE t.cta_id = c.cta_id AND t.done_on IS NULL),"
        " c.snoozed_until FROM ctas c LEFT JOIN accounts a ON a.account_id = c.account_id"
        f" WHERE {' AND '.join(where)} ORDER BY c.due_on, CASE c.priority WHEN 'urgent' THEN 0"
        " WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END, c.cta_id",
        params,
    )
    return [dict(zip((*LIST_COLUMNS, "snoozed_until"), r, strict=True)) for r in cur]


def events_of_ctas_changed_after(db: sqlite3.Connection, day: date) -> list[dict[str, Any]]:
    """Every event of the CTAs that have an event dated after ``day``, by CTA then oldest
    first (dicts of EVENT_COLUMNS, data parsed): what it takes to see them as on ``day``."""
    cols = ", ".join(EVENT_COLUMNS)
    return _events(
        db.execute(
            f"SELECT {cols} FROM cta_events WHERE cta_id IN"
            " (SELECT DISTINCT cta_id FROM cta_events WHERE date > ?)"
            " ORDER BY cta_id, date, event_id",
            (day.isoformat(),),
        )
    )
