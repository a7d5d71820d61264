"""Shared by the rollup tests: a company with planted edge cases and its known statistics,
workspaces built from it, and a rollup as plain comparable data.

The planted company, scored on D = 2024-03-31 with depth 7 and breadth 28 days:

- a1 (A): activated early; used reports on D and dashboards on D-6 (the depth window's first
  day).
- a2 (A): no activated_at; first used reports on D-10, so activated from first usage.
- a3 (A): no activated_at; a row with events = 0 on D-2 (not activity) and dashboards on
  D+2 (after D): not activated on D, counted nowhere.
- a4 (A): activated after D; used alerts (disabled for A in the features export) on D-1 and
  reports on D-3: counts for breadth's users, not as activated or active.
- a5 (A): activated early; reports on D-7 (just outside the depth window), dashboards on
  D-28 (just outside the breadth window), workflows on D-27 (its first day; not enabled
  for A).
- b1 (B, no licenses, no export rows: the catalogue): workflows and reports on D-3, reports
  again on D-20.
- b2 (B): activated_at missing and no usage: not activated.
- b3 (B): activated on D exactly; used "custom", a feature only usage knows, on D.
- C: licenses, no users.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from adoption_data import D, ago, set_metrics, write_csv
from loading import load

from cstool.store import day_number
from cstool.workspace import Workspace, init_workspace

EARLY = "2024-01-01"
D2 = D - timedelta(days=7)

ACCOUNTS = [
    ("A", "A Inc", "SMB", "Ann", 10),
    ("B", "B Inc", "SMB", "Bob", None),
    ("C", "C Inc", "SMB", "Cy", 5),
]
USERS = [
    ("a1", "A", EARLY),
    ("a2", "A", None),
    ("a3", "A", None),
    ("a4", "A", ago(-5)),
    ("a5", "A", EARLY),
    ("b1", "B", EARLY),
    ("b2", "B", None),
    ("b3", "B", D.isoformat()),
]
FEATURES = [("A", "reports", "true"), ("A", "dashboards", "true"), ("A", "alerts", "false")]
CATALOGUE = ["reports", "dashboards", "workflows"]
USAGE = [  # date, account, user, feature, events
    (ago(0), "A", "a1", "reports", 3),
    (ago(6), "A", "a1", "dashboards", 1),
    (ago(10), "A", "a2", "reports", 1),
    (ago(2), "A", "a3", "reports", 0),
    (ago(-2), "A", "a3", "dashboards", 4),
    (ago(1), "A", "a4", "alerts", 2),
    (ago(3), "A", "a4", "reports", 1),
    (ago(7), "A", "a5", "reports", 1),
    (ago(28), "A", "a5", "dashboards", 1),
    (ago(27), "A", "a5", "workflows", 5),
    (ago(3), "B", "b1", "workflows", 1),
    (ago(3), "B", "b1", "reports", 2),
    (ago(20), "B", "b1", "reports", 1),
    (ago(0), "B", "b3", "custom", 1),
]

Stats = dict[str, Any]

# The statistics the definitions give, by hand: per date, (activated, active) per account
# with an activated user, and users per (account, feature) with any.
EXPECTED: dict[date, Stats] = {
    D: {
        "accounts": {"A": (3, 1), "B": (2, 2)},
        "features": {
            ("A", "reports"): 4,
            ("A", "dashboards"): 1,
            ("A", "alerts"): 1,
            ("A", "workflows"): 1,
            ("B", "reports"): 1,
            ("B", "workflows"): 1,
            ("B", "custom"): 1,
        },
    },
    D2: {
        "accounts": {"A": (3, 2), "B": (1, 0)},
        "features": {
            ("A", "reports"): 2,
            ("A", "dashboards"): 1,
            ("A", "workflows"): 1,
            ("B", "reports"): 1,
        },
    },
}
# The measures they give on D: A from its export rows (reports, dashboards), B and C from the
# catalogue; B has no licenses, C no activated user.
EXPECTED_MEASURES = {
    "A": (0.3, 1 / 3, 1.0),
    "B": (None, 1.0, 2 / 3),
    "C": (0.0, None, 0.0),
}
SEEN = ["alerts", "custom", "dashboards", "reports", "workflows"]


def planted_files(folder: Path) -> dict[str, Path]:
    """The planted company's exports as CSV files in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "accounts": write_csv(
            folder / "accounts.csv",
            ("account_id", "name", "segment", "csm", "licenses_purchased"),
            ACCOUNTS,
        ),
        "users": write_csv(folder / "users.csv", ("user_id", "account_id", "activated_at"), USERS),
        "features": write_csv(
            folder / "features.csv", ("account_id", "feature", "enabled"), FEATURES
        ),
        "usage": write_csv(
            folder / "usage.csv", ("date", "account_id", "user_id", "feature", "events"), USAGE
        ),
    }


def planted_workspace(
    root: Path, files: dict[str, Path], *, usage: bool = True, **metrics: Any
) -> Workspace:
    """A workspace with the planted company's exports loaded (``usage=False``: all but usage)."""
    init_workspace(root)
    ws = set_metrics(root, features=CATALOGUE, **metrics)
    for kind in ("accounts", "users", "features") + (("usage",) if usage else ()):
        load(ws, kind, files[kind])
    return ws


def as_stats(rollup: Any) -> dict[date, Stats]:
    """An engine's rollup as {date: {"accounts": {...}, "features": {...}}}, like EXPECTED."""
    out: dict[date, Stats] = {}
    epoch = date(1970, 1, 1)
    for day, aid, activated, active in zip(
        *(
            rollup.accounts.column(c).to_pylist()
            for c in ("day", "account_id", "activated", "active")
        ),
        strict=True,
    ):
        d = epoch + timedelta(days=day)
        out.setdefault(d, {"accounts": {}, "features": {}})["accounts"][aid] = (activated, active)
    for day, aid, feature, users in zip(
        *(rollup.features.column(c).to_pylist() for c in ("day", "account_id", "feature", "users")),
        strict=True,
    ):
        d = epoch + timedelta(days=day)
        out.setdefault(d, {"accounts": {}, "features": {}})["features"][aid, feature] = users
    return out


def days(*dates: date) -> tuple[int, ...]:
    """Day numbers of dates, ascending, as a Job takes them."""
    return tuple(sorted(day_number(d) for d in dates))


def usage_parquet(rows: Sequence[tuple[Any, ...]], path: Path, names: Sequence[str]) -> Path:
    """Usage rows as one Parquet file with these column names; dates become DATE values."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = list(zip(*rows, strict=True))
    arrays = []
    for name, values in zip(names, columns, strict=True):
        if name.lower().startswith("date") and isinstance(values[0], str):
            arrays.append(pa.array([date.fromisoformat(v) for v in values], pa.date32()))
        else:
            arrays.append(pa.array(values))
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(dict(zip(names, arrays, strict=True))), path)
    return path
