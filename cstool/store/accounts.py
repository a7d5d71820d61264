"""Reading one account for its 360 and reports: the account row and its contacts, from the
export tables (the references it gave: :func:`cstool.store.refs.references`)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from cstool.schemas import KINDS
from cstool.store.sql import q

ACCOUNT_COLUMNS = (*KINDS["accounts"].column_names, "active")
CONTACT_COLUMNS = ("user_id", "first_name", "last_name", "email", "role", "level", "is_advocate")


def account(db: sqlite3.Connection, account_id: str) -> dict[str, Any] | None:
    """The account's row (active or not) with its extra attributes, or None."""
    row = db.execute(
        f"SELECT {', '.join(q(c) for c in ACCOUNT_COLUMNS)}, attributes FROM accounts"
        " WHERE account_id = ?",
        (account_id,),
    ).fetchone()
    if row is None:
        return None
    out = dict(zip(ACCOUNT_COLUMNS, row[:-1], strict=True))
    out["attributes"] = json.loads(row[-1]) if row[-1] else {}
    return out


def account_ids(db: sqlite3.Connection, *, csm: str | None = None) -> list[str]:
    """Active accounts' ids in order; with ``csm``, that CSM's (matched case-insensitively)."""
    if csm is None:
        cur = db.execute("SELECT account_id FROM accounts WHERE active = 1 ORDER BY account_id")
    else:
        cur = db.execute(
            "SELECT account_id FROM accounts WHERE active = 1 AND lower(csm) = lower(?)"
            " ORDER BY account_id",
            (csm,),
        )
    return [r[0] for r in cur]


def csms(db: sqlite3.Connection) -> list[str]:
    """The CSMs of active accounts, sorted."""
    return [
        r[0]
        for r in db.execute(
            "SELECT DISTINCT csm FROM accounts WHERE active = 1 AND csm IS NOT NULL ORDER BY csm"
        )
    ]


def contacts(db: sqlite3.Connection, account_id: str) -> list[dict[str, Any]]:
    """The account's users as contacts, by user_id."""
    cur = db.execute(
        f"SELECT {', '.join(CONTACT_COLUMNS)} FROM users WHERE account_id = ? ORDER BY user_id",
        (account_id,),
    )
    return [dict(zip(CONTACT_COLUMNS, r, strict=True)) for r in cur]
