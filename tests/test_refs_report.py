"""`refs report`: every section's arithmetic on a hand-counted book.

Accounts A1 (SMB, Ann), A2 (Enterprise, Bob), A3 (SMB, Bob), one contact each (U1..U3).

Opportunities (created, closed, days, outcome, amount):

    O1 01-01 02-10 40 won  100     O4 01-01 03-12 70 lost 400
    O2 01-01 03-02 60 lost 200     O5 03-01 (09-30) open  500
    O3 02-01 03-03 30 won  300     O6 04-01 05-01 30 won  600

References (2026): R1 A1/U1 O1 02-01 completed; R2 A2/U2 O2 02-15 influenced win; R3 A1/U1 O5
04-15 completed; R4 A3/U3 O6 05-10 completed, after O6 closed; R5 A2/U2 O5 04-20 declined;
R6 A1/U1 O1 02-05 no outcome (completed). Requests: REQ-0001 A3/U3 for O4, took place 03-05,
recorded (a milestone); REQ-0002 A2/U2 for O5, contacted only; REQ-0003 not proposed yet.
Hours from request to proposal: REQ-0001 6, REQ-0002 48.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from typing import Any

import pytest
from cta_data import account, write_accounts, write_users
from refs_data import opportunity, user, write_opportunities, write_references

from cstool.errors import InputError, UsageError
from cstool.refs.report import report
from cstool.store import refs as refs_db
from cstool.workspace import Workspace

OPPS = [
    ("O1", "2026-01-01", "2026-02-10", "Closed Won", "true", 100),
    ("O2", "2026-01-01", "2026-03-02", "Closed Lost", "false", 200),
    ("O3", "2026-02-01", "2026-03-03", "Closed Won", "true", 300),
    ("O4", "2026-01-01", "2026-03-12", "Closed Lost", "false", 400),
    ("O5", "2026-03-01", "2026-09-30", "Proposal", "false", 500),
    ("O6", "2026-04-01", "2026-05-01", "Closed Won", "true", 600),
]


def _request(db: sqlite3.Connection, rid: str, opp: str, stamps: list[str], **values: str) -> None:
    """A request through the store, one step per stamp: step 3 sets the account and contact,
    step 5 the day it took place."""
    fields = {"opportunity_id": opp, "industry": "Healthcare", "level": "VP", "count": 1}
    fields["needed_by"] = "2026-12-31"
    refs_db.insert_request(db, rid, 0, fields, at=stamps[0], day=stamps[0][:10])
    for n, at in enumerate(stamps[1:], start=2):
        wanted = {3: ("account_id", "user_id"), 5: ("occurred_on",)}.get(n, ())
        step = {k: v for k, v in values.items() if k in wanted}
        refs_db.advance(db, rid, from_step=n - 1, at=at, day=at[:10], **step)


@pytest.fixture
def book(ws: Workspace) -> Workspace:
    write_accounts(
        ws,
        [
            account("A1", segment="SMB", csm="Ann"),
            account("A2", segment="Enterprise", csm="Bob"),
            account("A3", segment="SMB", csm="Bob"),
        ],
    )
    write_users(ws, [user("U1", "A1"), user("U2", "A2"), user("U3", "A3")])
    write_opportunities(
        ws,
        [
            opportunity(o, created_date=c, close_date=d, stage=s, is_won=w, amount=a)
            for o, c, d, s, w, a in OPPS
        ],
    )
    write_references(
        ws,
        [
            ("R1", "A1", "U1", "O1", "2026-02-01", "Call completed"),
            ("R2", "A2", "U2", "O2", "2026-02-15", "Influenced win"),
            ("R3", "A1", "U1", "O5", "2026-04-15", "Call completed"),
            ("R4", "A3", "U3", "O6", "2026-05-10", "Call completed"),
            ("R5", "A2", "U2", "O5", "2026-04-20", "Declined"),
            ("R6", "A1", "U1", "O1", "2026-02-05", None),
        ],
    )
    with ws.open_store(write=True) as store, store.transaction():
        day = "2026-02-27T"
        _request(
            store.db,
            "REQ-0001",
            "O4",
            [day + "09:00:00+00:00", day + "15:00:00+00:00", "2026-03-01T10:00:00+00:00",
             "2026-03-02T10:00:00+00:00", "2026-03-05T10:00:00+00:00",
             "2026-03-06T10:00:00+00:00", "2026-03-06T11:00:00+00:00"],
            account_id="A3",
            user_id="U3",
            occurred_on="2026-03-05",
        )  # fmt: skip
        _request(
            store.db,
            "REQ-0002",
            "O5",
            ["2026-03-10T09:00:00+00:00", "2026-03-12T09:00:00+00:00",
             "2026-03-13T09:00:00+00:00"],
            account_id="A2",
            user_id="U2",
        )  # fmt: skip
        _request(store.db, "REQ-0003", "O5", ["2026-03-20T09:00:00+00:00"])
    return ws


def run(ws: Workspace, by: str = "quarter", start: date | None = None, end: date | None = None):  # type: ignore[no-untyped-def]
    with ws.open_store() as store:
        return report(store, ws.resolved.config, by, start, end)


def test_references_per_quarter_by_segment(book: Workspace) -> None:
    """Completed references, milestones, accounts, contacts and influenced amounts per group."""
    r = run(book)
    assert r.groups == [
        {
            "quarter": "2026-Q1",
            "segment": "Enterprise",
            "references": 1,
            "milestones": 0,
            "accounts": 1,
            "contacts": 1,
            "opportunities": 1,
            "influenced_amount": 200.0,
            "won_amount": 0.0,
        },
        {
            "quarter": "2026-Q1",
            "segment": "SMB",
            "references": 3,
            "milestones": 1,
            "accounts": 2,
            "contacts": 2,
            "opportunities": 2,
            "influenced_amount": 500.0,
            "won_amount": 100.0,
        },
        {
            "quarter": "2026-Q2",
            "segment": "SMB",
            "references": 2,
            "milestones": 0,
            "accounts": 2,
            "contacts": 2,
            "opportunities": 1,
            "influenced_amount": 500.0,
            "won_amount": 0.0,
        },
    ]
    assert r.group_columns()[:2] == ("quarter", "segment")


def test_references_per_csm_and_the_top_givers(book: Workspace) -> None:
    """Credit per CSM; customers and contacts by references, with the pipeline influenced."""
    r = run(book, by="csm")
    assert [(g["csm"], g["references"], g["milestones"]) for g in r.groups] == [
        ("Ann", 3, 0),
        ("Bob", 3, 1),
    ]
    assert r.per_csm == [
        {"csm": "Ann", "references": 3, "milestones": 0, "accounts": 1, "contacts": 1},
        {"csm": "Bob", "references": 3, "milestones": 1, "accounts": 2, "contacts": 2},
    ]
    assert [(c["account_id"], c["references"], c["pipeline"]) for c in r.top_customers] == [
        ("A1", 3, 600.0),
        ("A3", 2, 400.0),
        ("A2", 1, 200.0),
    ]
    assert [(c["user_id"], c["name"], c["references"], c["pipeline"]) for c in r.top_contacts] == [
        ("U1", "U1 A1", 3, 600.0),
        ("U3", "U3 A3", 2, 400.0),
        ("U2", "U2 A2", 1, 200.0),
    ]


def test_influence_and_deals_with_and_without_references(book: Workspace) -> None:
    """Influenced opportunities count once; a reference after the close influences nothing."""
    r = run(book)
    assert r.influence == {
        "opportunities": 4,
        "amount": 1200.0,
        "open": 1,
        "open_amount": 500.0,
        "won": 1,
        "won_amount": 100.0,
    }
    assert r.deals == [
        {
            "references": "with",
            "deals": 3,
            "won": 1,
            "win_rate": pytest.approx(1 / 3),
            "mean_cycle_days": 56.7,
            "median_cycle_days": 60.0,
        },
        {
            "references": "without",
            "deals": 2,
            "won": 2,
            "win_rate": 1.0,
            "mean_cycle_days": 30.0,
            "median_cycle_days": 30.0,
        },
    ]


def test_time_to_fulfil_against_the_target(book: Workspace) -> None:
    """Median and 90th percentile of 6 h and 48 h, one within a day, one still waiting."""
    assert run(book).fulfil == {
        "requests": 3,
        "proposed": 2,
        "waiting": 1,
        "median_hours": 27.0,
        "p90_hours": 43.8,
        "within_target": 1,
        "target_hours": 24.0,
    }


def test_dates_narrow_references_deals_and_requests(book: Workspace) -> None:
    """--from/--to Q2: its two references, the one deal closed in it, no requests."""
    r = run(book, by="segment", start=date(2026, 4, 1), end=date(2026, 6, 30))
    assert [(g["segment"], g["references"]) for g in r.groups] == [("SMB", 2)]
    assert [(d["references"], d["deals"], d["won"]) for d in r.deals] == [
        ("with", 0, 0),
        ("without", 1, 1),
    ]
    assert r.deals[0]["win_rate"] is None and r.fulfil["requests"] == 0
    assert r.fulfil["median_hours"] is None


def test_bad_grouping_and_dates(book: Workspace) -> None:
    """An unknown --by is a usage error; --from after --to is bad input."""
    with pytest.raises(UsageError):
        run(book, by="region")
    with pytest.raises(InputError, match="is after"):
        run(book, start=date(2026, 5, 1), end=date(2026, 4, 1))


def test_an_empty_workspace_reports_zeros(ws: Workspace) -> None:
    """No references, no opportunities: empty groups, zero counts, no rates."""
    r = run(ws)
    assert r.groups == [] and r.top_customers == [] and r.influence["opportunities"] == 0
    assert [d["deals"] for d in r.deals] == [0, 0]


def test_a_future_dated_row_is_scheduled_not_completed(book: Workspace) -> None:
    """As of 2026-04-16, R4 (Call completed, dated 05-10) has not taken place: the report
    leaves it out of the completed, while fatigue counts it as in progress."""
    from cstool.refs.find import counted, fatigue_counts

    later = run(book)  # no day: every row as its outcome says
    early = _run_on(book, date(2026, 4, 16))
    q2 = {g["quarter"]: g["references"] for g in early.groups if g["segment"] == "SMB"}
    assert q2["2026-Q2"] == 1  # R3 (04-15) only; R4 is scheduled
    assert {g["quarter"]: g["references"] for g in later.groups if g["segment"] == "SMB"}[
        "2026-Q2"
    ] == 2
    assert {c["account_id"]: c["references"] for c in early.top_customers}["A3"] == 1
    with book.open_store() as store:
        rows = refs_db.references(store.db, "A3")
    cfg = book.resolved.config.refs
    dates = [date.fromisoformat(r["date"]) for r in rows if counted(r, cfg)]
    assert fatigue_counts(dates, date(2026, 4, 16), 90) == (2, date(2026, 5, 10))


def _run_on(ws: Workspace, as_of: date, by: str = "quarter"):  # type: ignore[no-untyped-def]
    with ws.open_store() as store:
        return report(store, ws.resolved.config, by, as_of=as_of)


def test_csv_amounts_are_whole_numbers_when_whole(book: Workspace, cli: Any) -> None:
    """The grouped CSV prints 500, not 500.0; an amount with cents keeps them."""
    from cstool.csvfile import amount

    r = cli("--workspace", str(book.root), "refs", "report", "--format", "csv")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines()[1:] == [
        "2026-Q1,Enterprise,1,0,1,1,1,200,0",
        "2026-Q1,SMB,3,1,2,2,2,500,100",
        "2026-Q2,SMB,2,0,2,2,1,500,0",
    ]
    assert amount(100000.0) == 100000 and isinstance(amount(100000.0), int)
    assert amount(1234.5) == 1234.5 and amount(0.125) == 0.12 and amount(None) is None


def test_report_tables_fit_80_columns(
    book: Workspace, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 80 columns every table of every grouping fits, long names give way, and ids and
    amounts in the millions stay whole."""
    from rich.cells import cell_len

    write_accounts(
        book,
        [
            account("A1", name="Sequoia Insurance Company of the Pacific", segment="SMB",
                    csm="Annabelle Fitzgerald-Montgomery"),
            account("A2", segment="Enterprise", csm="Bob"),
            account("A3", segment="SMB", csm="Bob"),
        ],
    )  # fmt: skip
    write_opportunities(
        book,
        [
            opportunity(o, created_date=c, close_date=d, stage=s, is_won=w, amount=a * 10_000)
            for o, c, d, s, w, a in OPPS
        ],
    )
    monkeypatch.setenv("COLUMNS", "80")
    for by in ("quarter", "segment", "csm"):
        r = cli("--workspace", str(book.root), "refs", "report", "--by", by)
        assert r.exit_code == 0, r.stderr
        assert max(cell_len(line) for line in r.stdout.splitlines()) <= 80, r.stdout
        assert "5,000,000" in r.stdout and "6,000,000" in r.stdout  # influenced; A1's pipeline
        assert "A1 " in r.stdout and "U1 " in r.stdout
