"""Hand-built books for the reference tests, loaded through real exports.

Builds on :mod:`cta_data` (accounts with defaults, snapshots with chosen bands, NPS answers):
D (Friday 2026-11-20) is the date under test. The accounts renew on 2027-06-30 (222 days
after D) unless a test says otherwise; the contacts are VP advocates unless said otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from adoption_data import write_csv
from cta_data import (
    D,
    account,
    days,
    set_config,
    snapshot,
    write_accounts,
    write_usage,
    write_users,
)
from loading import load

from cstool.schemas import KINDS
from cstool.store import ctas as ctas_db
from cstool.workspace import Workspace

GREEN = {"deployment": "green", "depth": "green", "breadth": "green"}
OPP = "OPP-1"


def user(
    user_id: str,
    account_id: str,
    level: str | None = "VP",
    *,
    role: str = "Executive Sponsor",
    advocate: bool = True,
    email: str | None = None,
) -> dict[str, Any]:
    """A contact of ``account_id`` (an advocate at VP level unless said otherwise)."""
    return {
        "user_id": user_id,
        "account_id": account_id,
        "email": email or f"{user_id.lower()}@{account_id.lower()}.example",
        "first_name": user_id.title(),
        "last_name": account_id,
        "role": role,
        "level": level,
        "activated_at": "2025-01-10",
        "is_advocate": "true" if advocate else "false",
        "unsubscribed": "false",
    }


def write_opportunities(ws: Workspace, rows: Iterable[Mapping[str, Any]]) -> None:
    """Load the opportunities export (missing columns empty)."""
    header = list(KINDS["opportunities"].column_names)
    rows = list(rows)
    path = write_csv(ws.root / "opps.csv", header, [[r.get(c) for c in header] for r in rows])
    load(ws, "opportunities", path)


def opportunity(opportunity_id: str = OPP, **fields: Any) -> dict[str, Any]:
    """An open Healthcare opportunity of 50,000 owned by Ben Tanaka, unless said otherwise."""
    return {
        "opportunity_id": opportunity_id,
        "name": fields.pop("name", "Alder Health – New Business"),
        "prospect_industry": "Healthcare",
        "amount": 50000,
        "stage": "Proposal",
        "created_date": "2026-09-01",
        "close_date": "2027-01-31",
        "is_won": "false",
        "owner": "Ben Tanaka",
        **fields,
    }


def write_references(
    ws: Workspace, rows: Iterable[tuple[str, str, str | None, str | None, str, str | None]]
) -> None:
    """Load the references export: (reference_id, account_id, user_id, opportunity_id, date,
    outcome)."""
    path = write_csv(
        ws.root / "refs.csv",
        ["reference_id", "account_id", "user_id", "opportunity_id", "date", "outcome"],
        [list(r) for r in rows],
    )
    load(ws, "references", path)


def add_cta(
    ws: Workspace,
    account_id: str,
    *,
    type: str = "risk",
    status: str = "open",
    snoozed_until: date | None = None,
) -> int:
    """Store a playbook CTA of ``type`` on the account, in ``status``."""
    with ws.open_store(write=True) as store, store.transaction():
        cta = ctas_db.insert(
            store.db,
            source="playbook",
            playbook=f"{type}-{account_id}",
            account_id=account_id,
            type=type,
            priority="high",
            owner="Priya Raman",
            reason="test",
            opened_on=date.fromisoformat(days(-20)),
            due_on=date.fromisoformat(days(5)),
        )
        if status != "open":
            ctas_db.update(
                store.db,
                cta,
                status=status,
                snoozed_until=snoozed_until,
                closed_on=date.fromisoformat(days(-1)) if status == "closed" else None,
            )
    return cta


FLOW_CONFIG = """
csms:
  - {name: Priya Raman, email: priya@acme.example, title: Senior CSM}
  - {name: Marcus Oyelaran, email: marcus@acme.example}
refs:
  notify:
    csm_manager: {name: Avery Collins, email: avery@acme.example}
    customer_marketing:
      - {name: Jamie Fox, email: jamie@acme.example}
      - {name: Avery Collins, email: AVERY@acme.example}
    csms: [Priya Raman]
  account_executives:
    - {name: Ben Tanaka, email: ben@acme.example}
"""


def flow_book(ws: Workspace) -> Workspace:
    """Three eligible Healthcare accounts (H1 best, CSM Priya Raman; H2 CSM Marcus Oyelaran),
    their VP advocates (U11, U21, U31; U12 a Director), a little usage, OPP-1 and OPP-2 (no
    industry), and FLOW_CONFIG: the CSMs' addresses, who is notified, the AEs."""
    write_accounts(
        ws,
        [
            account("H1", name="Hale Clinics", industry="Healthcare", employees=1000, arr=50000),
            account("H2", industry="Healthcare", employees=400, csm="Marcus Oyelaran"),
            account("H3", industry="Healthcare", employees=300),
        ],
    )
    snapshot(ws, D, {"H1": GREEN, "H2": GREEN, "H3": GREEN})
    write_users(
        ws,
        [
            user("U11", "H1"),
            user("U12", "H1", "Director", advocate=False),
            user("U21", "H2"),
            user("U31", "H3"),
        ],
    )
    write_usage(ws, [(days(-2), "H1", "U11", "workflows"), (days(-1), "H2", "U21", "reports")])
    write_opportunities(ws, [opportunity(), opportunity("OPP-2", prospect_industry=None)])
    return set_config(ws, FLOW_CONFIG)
