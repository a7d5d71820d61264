"""A hand-built company for the context, tiers, playbook and CTA tests.

Accounts are written to a real accounts export and loaded; their adoption snapshots are stored
with hand-chosen measures and bands (so that every band and band change is known), and NPS
answers are loaded from a real export. D (Friday 2026-11-20) is the date under test; the
previous snapshot is a week before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any

from adoption_data import write_csv
from loading import load

from cstool.schemas import KINDS
from cstool.store import adoption as snapshots_db
from cstool.workspace import Workspace

D = date(2026, 11, 20)  # a Friday
WEEK_BEFORE = D - timedelta(days=7)

ACCOUNT_DEFAULTS: dict[str, Any] = {
    "name": None,  # the account id with " Inc" when not given
    "industry": "Software",
    "segment": "SMB",
    "arr": 10000,
    "licenses_purchased": 10,
    "csm": "Priya Raman",
    "lifecycle_stage": "Mature",
    "onboarding_date": "2024-01-15",
    "renewal_date": "2027-06-30",
    "employees": 100,
    "region": "EMEA",
}
BAND_VALUE = {"green": 0.9, "lime": 0.7, "yellow": 0.5, "orange": 0.3, "red": 0.1}


def days(n: int, since: date = D) -> str:
    """The ISO date ``n`` days after ``since`` (before it when negative)."""
    return (since + timedelta(days=n)).isoformat()


def account(account_id: str, **fields: Any) -> dict[str, Any]:
    """An account with the defaults above and ``fields`` (extra keys become attributes)."""
    row = {"account_id": account_id, **ACCOUNT_DEFAULTS, **fields}
    row["name"] = row["name"] or f"{account_id} Inc"
    return row


def write_accounts(
    ws: Workspace, accounts: Iterable[Mapping[str, Any]], name: str = "a.csv", **options: Any
) -> None:
    """Load ``accounts`` as the accounts export (extra keys as extra columns); ``options``
    go to the load (``mode="replace"``: accounts not in the file become inactive)."""
    accounts = list(accounts)
    canon = list(KINDS["accounts"].column_names)
    extra = sorted({k for a in accounts for k in a} - set(canon))
    header = canon + extra
    path = write_csv(ws.root / name, header, [[a.get(c) for c in header] for a in accounts])
    load(ws, "accounts", path, **options)


def snapshot(
    ws: Workspace, day: date, bands: Mapping[str, Mapping[str, Any]], csm: str = "Priya Raman"
) -> None:
    """Store the snapshot of ``day``: per account, bands (``depth: 'red'``) or values.

    A measure given as a band gets that band's typical value; a number is stored as it is
    with the band given under ``<measure>_band`` (None when absent).
    """
    rows = []
    for account_id, measures in sorted(bands.items()):
        row: list[Any] = [day.isoformat(), account_id, f"{account_id} Inc", "SMB", csm]
        for m in ("deployment", "depth", "breadth"):
            given = measures.get(m)
            if isinstance(given, str):
                row += [BAND_VALUE[given], given]
            else:
                row += [given, measures.get(f"{m}_band")]
        row += [None, "test"]
        rows.append(tuple(row))
    with ws.open_store(write=True) as store, store.transaction():
        snapshots_db.save_snapshot(store.db, day.isoformat(), rows)


def write_nps(ws: Workspace, answers: Iterable[tuple[str, str, str, int]]) -> None:
    """Load NPS answers (response_id, date, account_id, score)."""
    path = write_csv(
        ws.root / "nps.csv",
        ["response_id", "date", "account_id", "score"],
        [list(a) for a in answers],
    )
    load(ws, "nps", path)


def write_users(ws: Workspace, users: Iterable[Mapping[str, Any]]) -> None:
    """Load users (user_id, account_id, email, first_name, last_name, role, level...)."""
    users = list(users)
    header = list(KINDS["users"].column_names)
    path = write_csv(ws.root / "users.csv", header, [[u.get(c) for c in header] for u in users])
    load(ws, "users", path)


def write_usage(ws: Workspace, rows: Iterable[tuple[str, str, str, str]]) -> None:
    """Load usage rows (date, account_id, user_id, feature), one event each."""
    path = write_csv(
        ws.root / "usage.csv",
        ["date", "account_id", "user_id", "feature", "events"],
        [[*r, 1] for r in rows],
    )
    load(ws, "usage", path)


def set_config(ws: Workspace, text: str) -> Workspace:
    """Append YAML ``text`` to the workspace's cstool.yaml (replacing keys it names)."""
    import yaml

    from cstool.workspace import open_workspace

    cfg = ws.root / "cstool.yaml"
    data = yaml.safe_load(cfg.read_text(encoding="utf-8"))
    data.update(yaml.safe_load(text))
    cfg.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return open_workspace(ws.root)
