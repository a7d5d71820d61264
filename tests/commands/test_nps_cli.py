"""CLI tests of `cstool nps` and `cstool nps comments` on the company of nps_data."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from nps_data import load_company
from typer.testing import Result

from cstool.workspace import Workspace

Cli = Callable[..., Result]


@pytest.fixture
def company(ws: Workspace, tmp_path: Path) -> Workspace:
    """The hand-counted company loaded into a fresh workspace."""
    return load_company(ws, tmp_path)


def test_csv_columns_exactly(cli: Cli, company: Workspace) -> None:
    """The CSV has exactly the documented columns; missing values are empty, NPS unrounded."""
    r = cli(
        "-w",
        str(company.root),
        "nps",
        "--by",
        "role",
        "--from",
        "2026-10-01",
        "--to",
        "2026-10-30",
        "--format",
        "csv",
    )
    assert r.exit_code == 0, r.stderr
    assert r.stdout == (
        "group,responses,promoters,passives,detractors,nps,response_rate,change\n"
        "Admin,2,1,1,0,50.0,1.0,-50.0\n"
        "End User,2,1,0,1,0.0,0.5,\n"
        "Executive Sponsor,1,0,0,1,-100.0,1.0,0.0\n"
        "Power User,0,0,0,0,,0.0,\n"
        ",1,0,1,0,0.0,,\n"
    )


def test_json_is_one_row_per_group_with_nulls(cli: Cli, company: Workspace) -> None:
    """JSON rows carry null for a missing NPS, rate or change; no '(none)' anywhere."""
    r = cli(
        "-w",
        str(company.root),
        "nps",
        "--by",
        "SEGMENT",
        "--from",
        "2026-10-01",
        "--to",
        "2026-10-30",
        "--format",
        "json",
    )
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    assert [d["group"] for d in data] == ["Enterprise", "Mid-Market", "SMB"]
    assert data[1] == {
        "group": "Mid-Market",
        "responses": 0,
        "promoters": 0,
        "passives": 0,
        "detractors": 0,
        "nps": None,
        "response_rate": 0.0,
        "change": None,
    }
    assert "(none)" not in r.stdout


def test_table_shows_points_rates_and_the_total(cli: Cli, company: Workspace) -> None:
    """The table signs points, shows rates as percentages and ends with the total."""
    r = cli(
        "-w", str(company.root), "nps", "--by", "csm", "--from", "2026-10-01", "--to", "2026-10-30"
    )
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "NPS 2026-10-01..2026-10-30 by csm; change against 2026-09-01..2026-09-30" in lines[0]
    ann = next(line for line in lines if "Ann" in line)
    assert "+100.0" in ann and "66.7%" in ann and "+0.0" in ann
    total = next(line for line in lines if "│ all" in line)
    assert "-33.3" in total and "66.7%" in total


def test_unknown_grouping_is_exit_2(cli: Cli, company: Workspace) -> None:
    """--by accepts only the documented groupings."""
    r = cli("-w", str(company.root), "nps", "--by", "colour")
    assert r.exit_code == 2
    assert "role" in r.stderr and "tier" in r.stderr and "quarter" in r.stderr


def test_from_after_to_is_exit_1(cli: Cli, company: Workspace) -> None:
    """Reversed dates are bad input with a hint."""
    r = cli("-w", str(company.root), "nps", "--from", "2026-10-30", "--to", "2026-10-01")
    assert r.exit_code == 1
    assert "--from 2026-10-30 is after --to 2026-10-01" in r.stderr
    assert "hint: swap the dates" in r.stderr


def test_comments_detractors_csv(cli: Cli, company: Workspace) -> None:
    """nps comments --detractors lists commented detractors with account and role."""
    r = cli("-w", str(company.root), "nps", "comments", "--detractors", "--format", "csv")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines() == [
        "response_id,date,account_id,account_name,user_id,role,score,category,comment",
        "R5,2026-10-09,A3,Cedar,U5,End User,0,detractor,Export is broken",
        "R3,2026-10-07,A2,Birch,U3,Executive Sponsor,6,detractor,Too slow on Mondays",
        "R8,2026-09-15,A2,Birch,U3,Executive Sponsor,3,detractor,Onboarding was confusing",
    ]


def test_comments_none_match_says_so(cli: Cli, company: Workspace) -> None:
    """An empty result is an empty table and a message on stderr."""
    r = cli("-w", str(company.root), "nps", "comments", "--account", "A4")
    assert r.exit_code == 0
    assert "No comments match" in r.stderr


def test_comments_of_an_unknown_account_is_exit_1(cli: Cli, company: Workspace) -> None:
    """--account naming no account is exit 1 naming it, like `timeline` and `account show`."""
    r = cli("-w", str(company.root), "nps", "comments", "--account", "ACC-99999")
    assert r.exit_code == 1
    assert "no account 'ACC-99999'" in r.stderr and "hint:" in r.stderr
    assert "No comments match" not in r.stderr


def test_quarter_title_says_what_change_compares(cli: Cli, company: Workspace) -> None:
    """With --by quarter the title says each change is against the quarter above."""
    r = cli(
        "-w",
        str(company.root),
        "nps",
        "--by",
        "quarter",
        "--from",
        "2026-09-12",
        "--to",
        "2026-12-31",
    )
    assert r.exit_code == 0, r.stderr
    assert "change against the quarter above, all against" in r.stdout


def test_long_names_are_shortened_not_wrapped(cli: Cli, company: Workspace) -> None:
    """At 80 columns a long CSM or account name ends in "…" on one line; numbers stay whole."""
    long = "Maximilian Alexander Featherstonehaugh-Worthington of the Northern Region"
    with company.open_store(write=True) as store, store.transaction():
        store.db.execute(
            "UPDATE accounts SET csm = ?, name = ? WHERE account_id = 'A3'", (long, long)
        )
    env = {"COLUMNS": "80"}
    r = cli(
        "-w",
        str(company.root),
        "nps",
        "--by",
        "csm",
        "--from",
        "2026-10-01",
        "--to",
        "2026-10-30",
        env=env,
    )
    assert r.exit_code == 0, r.stderr
    row = next(line for line in r.stdout.splitlines() if "Maximilian" in line)
    assert "…" in row and "-50.0" in row and "-150.0" in row
    assert sum("Maximilian" in line or "Northern" in line for line in r.stdout.splitlines()) == 1
    r = cli("-w", str(company.root), "nps", "comments", "--account", "A3", env=env)
    assert r.exit_code == 0, r.stderr
    rows = [line for line in r.stdout.splitlines() if "Maximilian" in line]
    assert len(rows) == 1 and "…" in rows[0] and "Export is broken" in rows[0]
    assert not any("Northern" in line for line in r.stdout.splitlines())
    assert all(len(line) <= 80 for line in r.stdout.splitlines())
