"""CLI tests of `cstool account show` (the 360) and `cstool timeline` on the company of nps_data.

A1 Alder on the latest usage day, 2026-11-20: 3 licenses; U1, U2 and U8 activated from their
first usage; only U8 used the product in the depth window (2026-11-14..2026-11-20); in the
breadth window (2026-10-24..2026-11-20) only "reports" was used (by U8), not "dashboards".
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
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


def show(cli: Cli, ws: Workspace, *args: str) -> Result:
    return cli("-w", str(ws.root), "account", "show", *args)


def test_json_has_every_section_with_known_answers(cli: Cli, company: Workspace) -> None:
    """The 360 as one object: stable keys and hand-counted users, features, NPS, contacts."""
    r = show(cli, company, "A1", "--format", "json")
    assert r.exit_code == 0, r.stderr
    d = json.loads(r.stdout)
    assert list(d) == [
        "account_id",
        "as_of",
        "account",
        "adoption",
        "users",
        "features",
        "timeline",
        "nps",
        "references",
        "contacts",
        "emails",
        "ctas",
        "notes",
    ]
    assert d["emails"] == {"entries": [], "total": 0}  # no journey has sent anything
    assert d["as_of"] == "2026-11-20"
    assert d["account"]["csm"] == "Ann"
    assert d["account"]["days_to_renewal"] == (date(2027, 3, 1) - date(2026, 11, 20)).days
    assert d["users"] == {
        "licenses": 3.0,
        "activated": 3,
        "active": 1,
        "active_window": ["2026-11-14", "2026-11-20"],
    }
    assert d["features"]["used"] == ["reports"]
    assert d["features"]["unused"] == ["dashboards"]
    assert d["features"]["users"] == {"reports": 1, "dashboards": 0}
    m = d["adoption"]["measures"]
    assert m["deployment"]["value"] == 1.0 and m["depth"]["value"] == pytest.approx(1 / 3)
    assert m["breadth"]["value"] == 0.5
    # Nothing scored yet: no bands, no trend, and a note that says why.
    assert d["adoption"]["banded"] is False and m["depth"]["band"] is None
    assert m["depth"]["trend"] == []
    assert any("cstool score" in n for n in d["notes"])
    assert d["nps"]["response_id"] == "R2" and d["nps"]["responses"] == 3
    assert d["nps"]["name"] == "Ugo Two" and d["nps"]["category"] == "promoter"
    assert [(c["user_id"], c["advocate"]) for c in d["contacts"]] == [
        ("U1", True),
        ("U2", False),
        ("U8", False),
    ]
    assert [e["record_id"] for e in d["timeline"]["entries"]] == ["R2", "R1", "R7"]
    assert d["references"] == {"count": 0, "last": None, "in_progress": 0, "items": []}
    assert d["ctas"] == []


def test_measures_equal_the_stored_score(cli: Cli, company: Workspace) -> None:
    """Read for one account alone, the measures and bands equal those `cstool score` stored."""
    assert cli("-w", str(company.root), "score", "backfill").exit_code == 0
    scored = json.loads(cli("-w", str(company.root), "score", "--format", "json").stdout)
    assert len(scored) == 4
    for row in scored:
        d = json.loads(show(cli, company, row["account_id"], "--format", "json").stdout)
        for m in ("deployment", "depth", "breadth"):
            assert d["adoption"]["measures"][m]["value"] == row[m]
            assert d["adoption"]["measures"][m]["band"] == row[f"{m}_band"]
            last = d["adoption"]["measures"][m]["trend"][-1]
            assert last == {"as_of": "2026-11-20", "value": row[m], "band": row[f"{m}_band"]}
        assert d["adoption"]["banded"] is True and d["notes"] == []


def test_as_of_hides_what_came_later(cli: Cli, company: Workspace) -> None:
    """A 360 of a past day shows the NPS and timeline as they were then."""
    d = json.loads(show(cli, company, "A1", "--as-of", "2026-10-05", "--format", "json").stdout)
    assert d["nps"]["response_id"] == "R1" and d["nps"]["responses"] == 2
    assert [e["record_id"] for e in d["timeline"]["entries"]] == ["R1", "R7"]
    assert d["users"]["active_window"] == ["2026-09-29", "2026-10-05"]


def test_table_reads_at_80_columns(cli: Cli, company: Workspace) -> None:
    """The page fits 80 columns, ends no line with spaces, and shows each section."""
    r = cli("-w", str(company.root), "account", "show", "A1", env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "A1 Alder  as of 2026-11-20"
    assert all(len(line) <= 80 and line == line.rstrip() for line in lines)
    text = r.stdout
    for label in ("Account", "Adoption", "Users", "Features", "NPS", "Contacts", "Timeline"):
        assert label in text
    assert "3 licenses · 3 activated · 1 active (2026-11-14..2026-11-20)" in text
    assert "Admin (1): Una One* (Manager)" in text


def test_unknown_account_is_exit_1(cli: Cli, company: Workspace) -> None:
    """An unknown id is exit 1 with a hint."""
    r = show(cli, company, "NOPE")
    assert r.exit_code == 1
    assert "no account 'NOPE'" in r.stderr and "hint:" in r.stderr


def test_timeline_add_then_show(cli: Cli, company: Workspace) -> None:
    """A note added with `timeline add` appears first in `timeline ACCOUNT` (show is default)."""
    r = cli(
        "-w",
        str(company.root),
        "timeline",
        "add",
        "A2",
        "--type",
        "call",
        "--subject",
        "Renewal check-in",
        "--body",
        "Budget approved",
        "--date",
        "2026-10-20",
        "--author",
        "Bob",
    )
    assert r.exit_code == 0, r.stderr
    assert "Added a call on 2026-10-20 to the timeline of A2 Birch: Renewal check-in" in r.stderr
    r = cli("-w", str(company.root), "timeline", "A2", "--format", "csv")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines()[:2] == [
        "date,type,source,author,text,detail,record_id",
        "2026-10-20,call,notes,Bob,Renewal check-in,Budget approved,note-1",
    ]


def test_timeline_show_table_and_type_filter(cli: Cli, company: Workspace) -> None:
    """`timeline show` with --type lists only those entries, with a title of counts."""
    r = cli("-w", str(company.root), "timeline", "show", "A2", "--type", "NPS")
    assert r.exit_code == 0, r.stderr
    assert "A2 Birch: 3 of 3 entries" in r.stdout
    assert "NPS 8 (passive)" in r.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--type", "email", "--subject", "x"], 2, "'email' is not one of"),
        (["--type", "call", "--subject", ""], 1, "the subject is empty"),
        (["--type", "call", "--subject", "x", "--date", "2026-13-01"], 1, "is not a date"),
    ],
)
def test_timeline_add_bad_input(
    cli: Cli, company: Workspace, args: list[str], code: int, message: str
) -> None:
    """Bad types, subjects and dates are refused with their exit code; nothing is added."""
    r = cli("-w", str(company.root), "timeline", "add", "A1", *args)
    assert r.exit_code == code
    assert message in r.stderr
    r = cli("-w", str(company.root), "timeline", "A1", "--type", "call", "--format", "json")
    assert json.loads(r.stdout) == []


def test_open_ctas_show_in_the_360(cli: Cli, company: Workspace) -> None:
    """An open CTA of the account is listed with its playbook, priority and due date."""
    from cstool.store import ctas as ctas_db

    with company.open_store(write=True) as store, store.transaction():
        for playbook, opened, closed in (("renewal-at-risk", 1, False), ("old-play", 2, True)):
            cta_id = ctas_db.insert(
                store.db,
                source="playbook",
                playbook=playbook,
                account_id="A1",
                type="risk",
                priority="high",
                owner="Ann",
                reason=f"{playbook} reason",
                opened_on=date(2026, 11, opened),
                due_on=date(2026, 11, 18),
            )
            if closed:
                ctas_db.update(store.db, cta_id, status="closed", closed_on=date(2026, 11, 3))
    d = json.loads(show(cli, company, "A1", "--format", "json").stdout)
    assert [(c["playbook"], c["priority"], c["due_on"]) for c in d["ctas"]] == [
        ("renewal-at-risk", "high", "2026-11-18")
    ]
    r = show(cli, company, "A1")
    assert "renewal-at-risk (high, due 2026-11-18): renewal-at-risk reason" in r.stdout


def test_newer_timeline_entries_are_counted_not_hidden(cli: Cli, company: Workspace) -> None:
    """A note dated after the latest usage day is not in the default 360, but counted and
    said: JSON `timeline.newer`, a line under the table's timeline; --as-of shows it."""
    r = cli(
        "-w",
        str(company.root),
        "timeline",
        "add",
        "A1",
        "--type",
        "note",
        "--subject",
        "Today",
        "--date",
        "2026-12-01",
    )
    assert r.exit_code == 0, r.stderr
    d = json.loads(show(cli, company, "A1", "--format", "json").stdout)
    assert d["as_of"] == "2026-11-20"
    assert d["timeline"]["newer"] == 1 and d["timeline"]["total"] == 3
    assert "Today" not in [e["text"] for e in d["timeline"]["entries"]]
    r = show(cli, company, "A1")
    assert "1 newer timeline entry after 2026-11-20 (use --as-of)" in r.stdout
    d = json.loads(show(cli, company, "A1", "--as-of", "2026-12-01", "--format", "json").stdout)
    assert d["timeline"]["newer"] == 0 and d["timeline"]["entries"][0]["text"] == "Today"


def test_as_of_after_the_latest_usage_warns(cli: Cli, company: Workspace) -> None:
    """--as-of past the last usage day says that activity since is not counted, as score does."""
    r = show(cli, company, "A1", "--as-of", "2026-12-01")
    assert r.exit_code == 0, r.stderr
    warning = "--as-of 2026-12-01 is 11 days after the latest usage loaded (2026-11-20)"
    assert "Warning:" in r.stderr and warning in r.stderr
    d = json.loads(show(cli, company, "A1", "--as-of", "2026-12-01", "--format", "json").stdout)
    assert any(warning in n for n in d["notes"])
    assert show(cli, company, "A1").stderr == ""


def test_licenses_are_an_integer_count_and_zero_is_zero(cli: Cli, company: Workspace) -> None:
    """`users.licenses` is the purchased count as an integer: 3, and 0 (not null) for none."""
    r = show(cli, company, "A1", "--format", "json")
    assert '"licenses": 3,' in r.stdout
    with company.open_store(write=True) as store, store.transaction():
        store.db.execute("UPDATE accounts SET licenses_purchased = 0 WHERE account_id = 'A4'")
    d = json.loads(show(cli, company, "A4", "--format", "json").stdout)
    assert d["users"]["licenses"] == 0 and isinstance(d["users"]["licenses"], int)
    assert "0 licenses ·" in show(cli, company, "A4").stdout


def test_timeline_add_type_in_any_case(cli: Cli, company: Workspace) -> None:
    """`timeline add --type Call` is accepted like `timeline --type Call`, stored as call."""
    r = cli(
        "-w",
        str(company.root),
        "timeline",
        "add",
        "A1",
        "--type",
        "Call",
        "--subject",
        "Hi",
        "--date",
        "2026-11-01",
    )
    assert r.exit_code == 0, r.stderr
    r = cli("-w", str(company.root), "timeline", "A1", "--type", "CALL", "--format", "json")
    assert [(e["type"], e["text"]) for e in json.loads(r.stdout)] == [("call", "Hi")]


def test_show_help_names_every_section(cli: Cli) -> None:
    """`account show --help` says the 360 holds CTAs, the timeline, references and emails."""
    r = cli("account", "show", "--help", env={"COLUMNS": "200"})
    assert r.exit_code == 0
    summary = " ".join(r.stdout.split())
    for word in ("CTAs", "timeline", "references", "emails"):
        assert word in summary, word
