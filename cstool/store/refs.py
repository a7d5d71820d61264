"""Reference tables and queries: requests, their steps and candidates, and references given.

A reference request (``cstool refs request``) is a row of ``ref_requests`` with the fields the
account executive gave, the CTA that carries it (``cta_id`` in ``ctas``), and the last step it
reached (``step``, 1 to 7). Each step is one row of ``ref_steps`` (request, step) with the time
it was recorded (``at``, ISO with offset) and its business date (``date``): the primary key
refuses a step recorded twice, and :func:`advance` moves a request on only from the step the
caller saw, so two writers cannot both take it. The candidates customer marketing proposed
are ``ref_candidates``, in rank order.

References given come from two places, read together by :func:`references`: the references
export (``references``) and the requests of the workflow from the moment a CSM contacted a
customer (step 3), dated by that contact until the reference takes place (step 5), then by
the day it took place. Nothing here knows what the steps mean: that is
:mod:`cstool.refs.workflow`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from cstool.store.sql import q

# -- migrations ------------------------------------------------------------------------------


def create_tables(db: sqlite3.Connection) -> None:
    """Reference requests, their steps and their proposed candidates."""
    db.execute(
        "CREATE TABLE ref_requests (request_id TEXT PRIMARY KEY, cta_id INTEGER NOT NULL,"
        " opportunity_id TEXT NOT NULL, industry TEXT, level TEXT NOT NULL,"
        " count INTEGER NOT NULL, topics TEXT, needed_by TEXT NOT NULL, characteristics TEXT,"
        " ae TEXT, step INTEGER NOT NULL CHECK (step BETWEEN 1 AND 7), account_id TEXT,"
        " user_id TEXT, occurred_on TEXT, requested_at TEXT NOT NULL)"
    )
    db.execute("CREATE INDEX ref_requests_account ON ref_requests (account_id)")
    # The advocates of a set of accounts without reading their other users.
    db.execute("CREATE INDEX users_advocates ON users (account_id) WHERE is_advocate = 1")
    db.execute(
        "CREATE TABLE ref_steps (request_id TEXT NOT NULL, step INTEGER NOT NULL,"
        " at TEXT NOT NULL, date TEXT NOT NULL, data TEXT, PRIMARY KEY (request_id, step))"
    )
    db.execute(
        "CREATE TABLE ref_candidates (request_id TEXT NOT NULL, rank INTEGER NOT NULL,"
        " account_id TEXT NOT NULL, score REAL, reasons TEXT, PRIMARY KEY (request_id, rank))"
    )


# -- requests --------------------------------------------------------------------------------

FIELDS = (
    "opportunity_id",
    "industry",
    "level",
    "count",
    "topics",
    "needed_by",
    "characteristics",
    "ae",
)
REQUEST_COLUMNS = (
    "request_id",
    "cta_id",
    *FIELDS,
    "step",
    "account_id",
    "user_id",
    "occurred_on",
    "requested_at",
)
STEP_COLUMNS = ("request_id", "step", "at", "date", "data")
CANDIDATE_COLUMNS = ("request_id", "rank", "account_id", "score", "reasons")


def next_number(db: sqlite3.Connection) -> int:
    """The number of the next request: one more than the highest so far (from 1)."""
    found = db.execute(
        "SELECT MAX(CAST(substr(request_id, 5) AS INTEGER)) FROM ref_requests"
    ).fetchone()[0]
    return int(found or 0) + 1


def insert_request(
    db: sqlite3.Connection,
    request_id: str,
    cta_id: int,
    fields: Mapping[str, Any],
    *,
    at: str,
    day: str,
) -> None:
    """Store a new request at step 1 with its first step row (inside the caller's transaction)."""
    db.execute(
        f"INSERT INTO ref_requests (request_id, cta_id, {', '.join(FIELDS)}, step, requested_at)"
        f" VALUES (?, ?, {', '.join('?' * len(FIELDS))}, 1, ?)",
        (request_id, cta_id, *(fields.get(f) for f in FIELDS), at),
    )
    db.execute(
        "INSERT INTO ref_steps (request_id, step, at, date, data) VALUES (?, 1, ?, ?, NULL)",
        (request_id, at, day),
    )


def _request(row: Sequence[Any]) -> dict[str, Any]:
    return dict(zip(REQUEST_COLUMNS, row, strict=True))


def get(db: sqlite3.Connection, request_id: str) -> dict[str, Any] | None:
    """One request as a dict of REQUEST_COLUMNS, or None (ids match in any case)."""
    row = db.execute(
        f"SELECT {', '.join(REQUEST_COLUMNS)} FROM ref_requests WHERE upper(request_id) = upper(?)",
        (request_id,),
    ).fetchone()
    return _request(row) if row else None


def requests(db: sqlite3.Connection, *, open_only: bool = False) -> list[dict[str, Any]]:
    """Requests by id; ``open_only`` keeps those not recorded yet (step below 7)."""
    where = " WHERE step < 7" if open_only else ""
    cur = db.execute(
        f"SELECT {', '.join(REQUEST_COLUMNS)} FROM ref_requests{where} ORDER BY request_id"
    )
    return [_request(r) for r in cur]


def advance(
    db: sqlite3.Connection,
    request_id: str,
    *,
    from_step: int,
    at: str,
    day: str,
    data: Mapping[str, Any] | None = None,
    **values: Any,
) -> bool:
    """Move a request from ``from_step`` to the next step (inside the caller's transaction).

    ``values`` set ``account_id``, ``user_id`` or ``occurred_on`` with it. Returns False, and
    changes nothing, when the request is no longer at ``from_step``.
    """
    allowed = {"account_id", "user_id", "occurred_on"}
    if set(values) - allowed:
        raise ValueError(f"not a column a step sets: {sorted(set(values) - allowed)}")
    names = sorted(values)
    sets = "".join(f", {n} = ?" for n in names)
    cur = db.execute(
        f"UPDATE ref_requests SET step = step + 1{sets} WHERE request_id = ? AND step = ?",
        (*(values[n] for n in names), request_id, from_step),
    )
    if cur.rowcount != 1:
        return False
    db.execute(
        "INSERT INTO ref_steps (request_id, step, at, date, data) VALUES (?, ?, ?, ?, ?)",
        (
            request_id,
            from_step + 1,
            at,
            day,
            json.dumps(dict(data), sort_keys=True, ensure_ascii=False) if data else None,
        ),
    )
    return True


def steps(db: sqlite3.Connection, request_ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Step rows (data parsed) by request and step; of ``request_ids`` when given."""
    sql = f"SELECT {', '.join(STEP_COLUMNS)} FROM ref_steps"
    params: list[Any] = []
    if request_ids is not None:
        ids = sorted(set(request_ids))
        sql += f" WHERE request_id IN ({', '.join('?' * len(ids))})"
        params = ids
    out = []
    for r in db.execute(sql + " ORDER BY request_id, step", params):
        s = dict(zip(STEP_COLUMNS, r, strict=True))
        s["data"] = json.loads(s["data"]) if s["data"] else None
        out.append(s)
    return out


# -- candidates ------------------------------------------------------------------------------


def set_candidates(
    db: sqlite3.Connection,
    request_id: str,
    rows: Iterable[tuple[str, float | None, str | None]],
) -> None:
    """Store the proposed candidates (account_id, score, reasons) in rank order."""
    db.executemany(
        "INSERT INTO ref_candidates (request_id, rank, account_id, score, reasons)"
        " VALUES (?, ?, ?, ?, ?)",
        ((request_id, i, a, s, r) for i, (a, s, r) in enumerate(rows, start=1)),
    )


def candidates(db: sqlite3.Connection, request_id: str) -> list[dict[str, Any]]:
    """A request's candidates in rank order, as dicts of CANDIDATE_COLUMNS."""
    cur = db.execute(
        f"SELECT {', '.join(CANDIDATE_COLUMNS)} FROM ref_candidates WHERE request_id = ?"
        " ORDER BY rank",
        (request_id,),
    )
    return [dict(zip(CANDIDATE_COLUMNS, r, strict=True)) for r in cur]


# -- references given ------------------------------------------------------------------------

REFERENCE_COLUMNS = (
    "reference_id",
    "account_id",
    "user_id",
    "opportunity_id",
    "date",
    "outcome",
    "source",
    "step",
)

# The workflow's requests once a customer was contacted, as references: in progress until
# recorded (step 7), dated by the contact (step 3) until the reference took place.
_WORKFLOW = (
    "SELECT r.request_id, r.account_id, r.user_id, r.opportunity_id,"
    " COALESCE(r.occurred_on, s.date), NULL, 'workflow', r.step"
    " FROM ref_requests r JOIN ref_steps s ON s.request_id = r.request_id AND s.step = 3"
    " WHERE r.step >= 3"
)
_EXPORT = (
    "SELECT reference_id, account_id, user_id, opportunity_id, date, outcome, 'export', NULL"
    f" FROM {q('references')}"
)


def references(db: sqlite3.Connection, account_id: str | None = None) -> list[dict[str, Any]]:
    """References given and in progress, from the export and the workflow, oldest first.

    Each is a dict of REFERENCE_COLUMNS: ``source`` is ``export`` or ``workflow``; a workflow
    reference has its request's ``step`` (3 to 7) and no outcome; an export row has its
    ``outcome`` and no step. ``account_id`` narrows them to one account.
    """
    where = ""
    params: tuple[Any, ...] = ()
    if account_id is not None:
        where = " WHERE account_id = ?"
        params = (account_id,)
    cur = db.execute(
        f"SELECT * FROM ({_EXPORT} UNION ALL {_WORKFLOW}){where} ORDER BY 5, 1", params
    )
    return [dict(zip(REFERENCE_COLUMNS, r, strict=True)) for r in cur]


# -- what the workflow and the reports read from the exports ---------------------------------

OPPORTUNITY_COLUMNS = (
    "opportunity_id",
    "name",
    "prospect_industry",
    "amount",
    "stage",
    "created_date",
    "close_date",
    "is_won",
    "owner",
)
CONTACT_COLUMNS = (
    "user_id",
    "account_id",
    "first_name",
    "last_name",
    "email",
    "role",
    "level",
    "is_advocate",
)


def opportunity(db: sqlite3.Connection, opportunity_id: str) -> dict[str, Any] | None:
    """One row of the opportunities export, or None. The id matches in any case (``opp-1``),
    as request ids do; an exact match comes first."""
    row = db.execute(
        f"SELECT {', '.join(q(c) for c in OPPORTUNITY_COLUMNS)} FROM opportunities"
        " WHERE upper(opportunity_id) = upper(?) ORDER BY opportunity_id = ? DESC,"
        " opportunity_id LIMIT 1",
        (opportunity_id, opportunity_id),
    ).fetchone()
    return dict(zip(OPPORTUNITY_COLUMNS, row, strict=True)) if row else None


def opportunities(db: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every row of the opportunities export, by id."""
    cur = db.execute(
        f"SELECT {', '.join(q(c) for c in OPPORTUNITY_COLUMNS)} FROM opportunities"
        " ORDER BY opportunity_id"
    )
    return [dict(zip(OPPORTUNITY_COLUMNS, r, strict=True)) for r in cur]


def advocates(
    db: sqlite3.Connection, account_ids: Iterable[str]
) -> list[tuple[str, str, Any, Any]]:
    """(account_id, user_id, level, role) of the advocates of ``account_ids``, by account and
    user_id (read through a partial index of advocates)."""
    ids = sorted(set(account_ids))
    out: list[tuple[str, str, Any, Any]] = []
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        out += db.execute(
            "SELECT account_id, user_id, level, role FROM users"
            f" WHERE account_id IN ({', '.join('?' * len(chunk))}) AND is_advocate = 1",
            chunk,
        ).fetchall()
    out.sort()
    return out


def contacts(
    db: sqlite3.Connection, account_ids: Iterable[str], *, advocates_only: bool = False
) -> list[dict[str, Any]]:
    """The users of ``account_ids``, by account and user_id (read through the account index)."""
    ids = sorted(set(account_ids))
    only = " AND is_advocate = 1" if advocates_only else ""
    out: list[dict[str, Any]] = []
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        cur = db.execute(
            f"SELECT {', '.join(q(c) for c in CONTACT_COLUMNS)} FROM users"
            f" WHERE account_id IN ({', '.join('?' * len(chunk))}){only}",
            chunk,
        )
        out += [dict(zip(CONTACT_COLUMNS, r, strict=True)) for r in cur]
    out.sort(key=lambda c: (c["account_id"], c["user_id"]))
    return out


def contact(db: sqlite3.Connection, user_id: str) -> dict[str, Any] | None:
    """One user as a contact, or None."""
    row = db.execute(
        f"SELECT {', '.join(q(c) for c in CONTACT_COLUMNS)} FROM users WHERE user_id = ?",
        (user_id,),
    ).fetchone()
    return dict(zip(CONTACT_COLUMNS, row, strict=True)) if row else None


def accounts_using(
    db: sqlite3.Connection, feature: str, first_day: int, last_day: int, account_ids: Iterable[str]
) -> set[str]:
    """Of ``account_ids``, those with a user who used ``feature`` (events > 0) in the days
    ``first_day``..``last_day`` (day numbers). The feature's name matches in any case."""
    ids = sorted(set(account_ids))
    if not ids:
        return set()
    fids = [
        r[0]
        for r in db.execute(
            "SELECT fid FROM feature_names WHERE lower(feature) = lower(?)", (feature,)
        )
    ]
    if not fids:
        return set()
    found: set[str] = set()
    # Per account's users, the usage key (day, uid, fid) is searched day by day: a few seeks
    # per user instead of a scan of every user's usage in the window.
    per = 500
    for i in range(0, len(ids), per):
        chunk = ids[i : i + per]
        cur = db.execute(
            "SELECT DISTINCT us.account_id FROM users us JOIN usage u ON u.uid = us.uid"
            f" WHERE us.account_id IN ({', '.join('?' * len(chunk))})"
            f" AND u.day BETWEEN ? AND ? AND u.fid IN ({', '.join('?' * len(fids))})"
            " AND u.events > 0",
            (*chunk, first_day, last_day, *fids),
        )
        found.update(r[0] for r in cur)
    return found


def account_groups(db: sqlite3.Connection, segment_field: str) -> list[tuple[Any, ...]]:
    """(account_id, name, segment, csm) of every account, active or not, by account_id."""
    from cstool.store.exports import segment_column

    seg, params = segment_column(segment_field)
    return list(
        db.execute(f"SELECT account_id, name, {seg}, csm FROM accounts ORDER BY account_id", params)
    )


def user_names(db: sqlite3.Connection, user_ids: Iterable[str]) -> dict[str, str]:
    """The names of ``user_ids`` (first and last name, else the id)."""
    ids = sorted({u for u in user_ids if u})
    out: dict[str, str] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        cur = db.execute(
            "SELECT user_id, first_name, last_name FROM users"
            f" WHERE user_id IN ({', '.join('?' * len(chunk))})",
            chunk,
        )
        for uid, first, last in cur:
            out[uid] = " ".join(p for p in (first, last) if p) or uid
    return out


FILTER_COLUMNS = ("account_id", "industry", "segment", "region", "employees")


def filter_rows(db: sqlite3.Connection) -> list[tuple[Any, ...]]:
    """(account_id, industry, segment, region, employees) of the active accounts, by id:
    what ``refs find`` filters on, without the rest of the row."""
    return list(
        db.execute(
            f"SELECT {', '.join(q(c) for c in FILTER_COLUMNS)} FROM accounts WHERE active = 1"
            " ORDER BY account_id"
        )
    )


def account_details(db: sqlite3.Connection, account_ids: Iterable[str]) -> list[dict[str, Any]]:
    """The accounts export's fields of ``account_ids``, by account_id."""
    from cstool.schemas import KINDS

    names = KINDS["accounts"].column_names
    ids = sorted(set(account_ids))
    out: list[dict[str, Any]] = []
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        cur = db.execute(
            f"SELECT {', '.join(q(c) for c in names)} FROM accounts"
            f" WHERE account_id IN ({', '.join('?' * len(chunk))})",
            chunk,
        )
        out += [dict(zip(names, r, strict=True)) for r in cur]
    out.sort(key=lambda a: a["account_id"])
    return out
