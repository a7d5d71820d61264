"""A hand-built company for the journey tests: every shipped journey has someone due on D.

D is Friday 2026-11-20. Accounts (all Priya Raman's, SMB, so tech or low touch):

* A1 onboarding since yesterday (onboarding: welcome), A2 since 30 days (onboarding: day30);
* A3 adopting, onboarded 364 days ago (nps-survey: 364 % 182 == 0) and renewing in 60 days
  (renewal); its end user is active and has not tried three features (feature-nudge, B);
* A5 mature: its power user has been idle 20 days (power-user-inactive), its admin is active
  with two features untried (feature-nudge, A);
* A6 mature, held out of feature-nudge by the hash (its active user would be due).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
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

from cstool.workspace import Workspace

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
POSTAL = "Acme Inc., 100 Market Street, San Francisco, CA 94105"
FEATURES = ("dashboards", "reports", "workflows", "alerts")
CONFIG = f"""
company: Acme
sender:
  name: Acme Customer Success
  email: success@acme.example
  postal_address: "{POSTAL}"
csms:
  - name: Priya Raman
    email: priya.raman@acme.example
    title: Senior Customer Success Manager
journeys:
  unsubscribe_url: "https://acme.example/u?user={{user_id}}&list={{category}}"
"""


def user(user_id: str, account_id: str, role: str, **fields: Any) -> dict[str, Any]:
    """A user with a name and an address made from the id."""
    first = fields.pop("first_name", f"First{user_id}")
    return {
        "user_id": user_id,
        "account_id": account_id,
        "email": f"{user_id.lower()}@{account_id.lower()}.example",
        "first_name": first,
        "last_name": fields.pop("last_name", "Doe"),
        "role": role,
        "level": "Manager",
        "activated_at": fields.pop("activated_at", "2026-01-10"),
        "is_advocate": "false",
        "unsubscribed": "false",
        **fields,
    }


ACCOUNTS = [
    account("A1", lifecycle_stage="Onboarding", onboarding_date=days(-1)),
    account("A2", lifecycle_stage="Onboarding", onboarding_date=days(-30)),
    account(
        "A3",
        name="Northwind & Co",
        lifecycle_stage="Adopting",
        onboarding_date=days(-364),
        renewal_date=days(60),
    ),
    account("A5", lifecycle_stage="Mature", onboarding_date="2024-01-15"),
    account("A6", lifecycle_stage="Mature", onboarding_date="2024-01-15"),
]
USERS = [
    user("U11", "A1", "Admin", first_name="Zoë", last_name="Müller"),
    user("U12", "A1", "Power User"),
    user("U21", "A2", "Admin"),
    user("U31", "A3", "Executive Sponsor", level="VP"),
    user("U32", "A3", "Admin"),
    user("U33", "A3", "End User"),
    user("U51", "A5", "Power User"),
    user("U52", "A5", "Admin"),
    user("U53", "A5", "Executive Sponsor", activated_at=None),
    user("U61", "A6", "End User"),
]
USAGE = [
    (days(-3), "A3", "U33", "dashboards"),
    (days(-20), "A5", "U51", "dashboards"),
    (days(-1), "A5", "U52", "dashboards"),
    (days(-1), "A5", "U52", "reports"),
    (days(-2), "A6", "U61", "dashboards"),
]


def write_features(ws: Workspace, accounts: Iterable[str]) -> None:
    """Enable FEATURES for every account."""
    rows = [[a, f, "true"] for a in accounts for f in FEATURES]
    load(
        ws,
        "features",
        write_csv(ws.root / "features.csv", ["account_id", "feature", "enabled"], rows),
    )


def build(ws: Workspace, *, users: list[dict[str, Any]] | None = None) -> Workspace:
    """Load the company into ``ws`` and configure it; returns the reopened workspace."""
    ws = set_config(ws, CONFIG)
    write_accounts(ws, ACCOUNTS)
    write_users(ws, users if users is not None else USERS)
    write_features(ws, [a["account_id"] for a in ACCOUNTS])
    write_usage(ws, USAGE)
    snapshot(
        ws,
        D,
        {
            a["account_id"]: {"deployment": "green", "depth": "lime", "breadth": "yellow"}
            for a in ACCOUNTS
        },
    )
    return ws
