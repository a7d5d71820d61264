"""What the domain modules share: quoting declared identifiers, how days are stored,
merging JSON attributes, and counting what an upsert would change."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

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


def merged_attributes(stored: str, new: str) -> str:
    """SQL for a row's stored JSON ``attributes`` with new ones merged in.

    A JSON merge patch: keys of ``new`` are added or updated, stored keys ``new`` does not
    have are kept (an export without a column says nothing about it). The result is
    minified JSON, as :func:`attributes_differ` compares it.
    """
    return f"json_patch(coalesce({stored}, '{{}}'), {new})"


def attributes_differ(stored: str, new: str) -> str:
    """SQL that is true when merging ``new`` into ``stored`` attributes would change them."""
    return f"json(coalesce({stored}, '{{}}')) IS NOT {merged_attributes(stored, new)}"


def count_changes(
    db: sqlite3.Connection,
    table: str,
    columns: Sequence[str],
    key: Sequence[str],
    differs: str,
    rows: Iterable[Sequence[Any]],
) -> tuple[int, int]:
    """What writing ``rows`` (values of ``columns``) into ``table`` would do, read only.

    Returns how many rows have no stored row with their ``key`` (they would be inserted),
    and how many have one for which ``differs`` is true: SQL over the stored row ``t`` and
    the new row ``n``, the same condition the writing upsert updates on. Nothing is written,
    so this works on a store opened for reading.
    """
    names = ", ".join(q(c) for c in columns)
    on = " AND ".join(f"t.{q(k)} = n.{q(k)}" for k in key)
    first = f"t.{q(key[0])}"  # key columns are NOT NULL: null means no stored row
    row = "(" + ", ".join("?" * len(columns)) + ")"
    per = max(1, min(db.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER), 32766) // len(columns))
    new = changed = 0
    it = iter(rows)
    while chunk := list(itertools.islice(it, per)):
        found, differ = db.execute(
            f"WITH n({names}) AS (VALUES {', '.join([row] * len(chunk))})"
            f" SELECT COUNT(*) - COUNT({first}),"
            f" COALESCE(SUM({first} IS NOT NULL AND ({differs or '0'})), 0)"
            f" FROM n LEFT JOIN {q(table)} AS t ON {on}",
            [v for r in chunk for v in r],
        ).fetchone()
        new += int(found)
        changed += int(differ)
    return new, changed
