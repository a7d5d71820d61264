"""A small hand-counted company for the NPS, timeline and 360 tests.

Accounts and users (role, usage days with events > 0):

    A1 Alder   SMB         Ann   U1 Admin              2026-09-10, 2026-10-05
                                 U2 End User           2026-10-06
                                 U8 End User           2026-09-01, 2026-10-15, 2026-11-20
    A2 Birch   SMB         Bob   U3 Executive Sponsor  2026-09-15, 2026-10-07
                                 U7 End User           2026-09-15, 2026-11-15 (none in October)
    A3 Cedar   Enterprise  Bob   U4 Admin              2026-10-08
                                 U5 End User           (a usage row with 0 events only)
    A4 Dogwood Mid-Market  Cy    U6 Power User         2026-10-10

NPS responses: October (the period under test) and September (the previous period):

    R1 2026-10-05 U1 A1 10   R4 2026-10-08 U4 A3  7   R7 2026-09-10 U1 A1 10
    R2 2026-10-06 U2 A1  9   R5 2026-10-09 U5 A3  0   R8 2026-09-15 U3 A2  3
    R3 2026-10-07 U3 A2  6   R6 2026-10-10 -- A2  8   R9 2026-09-20 U4 A3  9
"""

from __future__ import annotations

from pathlib import Path

from adoption_data import write_csv
from loading import load

from cstool.workspace import Workspace

ACCOUNTS = [
    ("A1", "Alder", "SMB", "Ann", 3, "2027-03-01"),
    ("A2", "Birch", "SMB", "Bob", 2, "2026-12-01"),
    ("A3", "Cedar", "Enterprise", "Bob", 2, None),
    ("A4", "Dogwood", "Mid-Market", "Cy", 1, None),
]
USERS = [
    ("U1", "A1", "Una", "One", "Admin", "Manager", True),
    ("U2", "A1", "Ugo", "Two", "End User", "Staff", False),
    ("U8", "A1", "Uma", "Eight", "End User", "Staff", False),
    ("U3", "A2", "Ursula", "Three", "Executive Sponsor", "CXO", True),
    ("U7", "A2", "Uri", "Seven", "End User", "Staff", False),
    ("U4", "A3", "Uwe", "Four", "Admin", "Director", False),
    ("U5", "A3", "Ulla", "Five", "End User", "Staff", False),
    ("U6", "A4", "Udo", "Six", "Power User", "Manager", False),
]
USAGE = [
    ("2026-09-10", "A1", "U1", "reports", 2),
    ("2026-10-05", "A1", "U1", "reports", 1),
    ("2026-10-06", "A1", "U2", "dashboards", 4),
    ("2026-09-01", "A1", "U8", "reports", 1),
    ("2026-10-15", "A1", "U8", "reports", 1),
    ("2026-11-20", "A1", "U8", "reports", 1),
    ("2026-09-15", "A2", "U3", "reports", 1),
    ("2026-10-07", "A2", "U3", "reports", 1),
    ("2026-09-15", "A2", "U7", "reports", 1),
    ("2026-11-15", "A2", "U7", "reports", 1),
    ("2026-10-08", "A3", "U4", "reports", 3),
    ("2026-10-09", "A3", "U5", "reports", 0),
    ("2026-10-10", "A4", "U6", "reports", 1),
]
NPS = [
    ("R1", "2026-10-05", "U1", "A1", 10, "Love the dashboards"),
    ("R2", "2026-10-06", "U2", "A1", 9, None),
    ("R3", "2026-10-07", "U3", "A2", 6, "Too slow on Mondays"),
    ("R4", "2026-10-08", "U4", "A3", 7, None),
    ("R5", "2026-10-09", "U5", "A3", 0, "Export is broken"),
    ("R6", "2026-10-10", None, "A2", 8, "Fine"),
    ("R7", "2026-09-10", "U1", "A1", 10, None),
    ("R8", "2026-09-15", "U3", "A2", 3, "Onboarding was confusing"),
    ("R9", "2026-09-20", "U4", "A3", 9, None),
]


def load_company(ws: Workspace, folder: Path) -> Workspace:
    """Load the hand-counted company above into ``ws``."""
    files = {
        "accounts": write_csv(
            folder / "accounts.csv",
            ["account_id", "name", "segment", "csm", "licenses_purchased", "renewal_date"],
            ACCOUNTS,
        ),
        "users": write_csv(
            folder / "users.csv",
            ["user_id", "account_id", "first_name", "last_name", "role", "level", "is_advocate"],
            USERS,
        ),
        "usage": write_csv(
            folder / "usage.csv", ["date", "account_id", "user_id", "feature", "events"], USAGE
        ),
        "nps": write_csv(
            folder / "nps.csv",
            ["response_id", "date", "user_id", "account_id", "score", "comment"],
            NPS,
        ),
    }
    for kind, path in files.items():
        load(ws, kind, path)
    return ws
