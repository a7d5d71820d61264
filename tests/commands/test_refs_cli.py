"""`cstool refs ...` on the command line: output formats, exit codes, the workflow end to end."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from refs_data import flow_book
from typer.testing import Result

from cstool.workspace import Workspace

Cli = Callable[..., Result]
TODAY = date.today()


@pytest.fixture
def flow(ws: Workspace) -> Workspace:
    """The workflow book of refs_data (H1, H2, H3 in Healthcare; OPP-1)."""
    return flow_book(ws)


def run(cli: Cli, ws: Workspace, *args: str) -> Result:
    return cli("--workspace", str(ws.root), *args)


def test_find_csv_has_the_documented_columns(cli: Cli, flow: Workspace) -> None:
    """The header is exactly the documented one; contacts and reasons are "; "-joined."""
    r = run(cli, flow, "refs", "find", "--industry", "healthcare", "--level", "vp",
            "--as-of", "2026-11-20", "--format", "csv")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == (
        "rank,account_id,name,industry,segment,score,contacts,references_90d,last_reference,reasons"
    )
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert [row["account_id"] for row in rows] == ["H1", "H2", "H3"]
    assert rows[0]["contacts"] == "U11 H1 (U11, VP)"
    assert rows[0]["reasons"].split("; ")[-2:] == ["0 refs in 90d", "1 VP advocate"]
    assert rows[0]["last_reference"] == ""


def test_find_json_with_explain_has_both_lists(cli: Cli, flow: Workspace) -> None:
    """--explain --format json: candidates and the excluded accounts with their rule."""
    r = run(cli, flow, "refs", "find", "--industry", "Healthcare", "--level", "Director",
            "--as-of", "2026-11-20", "--format", "json", "--explain")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["candidates"] == []
    assert [(e["account_id"], e["rule"]) for e in data["excluded"]] == [
        ("H1", "advocate"),
        ("H2", "advocate"),
        ("H3", "advocate"),
    ]
    assert "No account fits" in r.stderr


def test_find_table_fits_80_columns(
    cli: Cli, flow: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 80 columns no line of the table or the explanation is wider."""
    from rich.cells import cell_len

    monkeypatch.setenv("COLUMNS", "80")
    r = run(cli, flow, "refs", "find", "--industry", "Healthcare", "--explain", "--as-of",
            "2026-11-20", "--employees", "100-2000")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert "H1" in r.stdout and "Excluded by the rules" not in r.stdout
    assert "3 shown of 3 eligible; 3 of 3 active accounts matched the filters, 0 excluded" in (
        r.stderr
    )
    assert max(cell_len(line) for line in r.stdout.splitlines()) <= 80, r.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("refs", "find", "--industry", "x", "--employees", "500-100"), 2, "above the maximum"),
        (("refs", "find", "--industry", "x", "--level", "intern"), 2, "unknown level 'intern'"),
        (("refs", "report", "--by", "region"), 2, "--by"),
        (("refs", "propose", "REQ-0099"), 1, "no reference request 'REQ-0099'"),
        (("refs", "confirm", "REQ-0099"), 1, "no reference request 'REQ-0099'"),
        (
            ("refs", "request", "--opportunity", "OPP-404", "--level", "VP", "--topics", "x",
             "--needed-by", "2099-01-01"),
            1,
            "no opportunity 'OPP-404'",
        ),
        (
            ("refs", "request", "--opportunity", "OPP-1", "--level", "VP", "--topics", "x",
             "--needed-by", "2020-01-01"),
            1,
            "--needed-by 2020-01-01 is in the past",
        ),
        (
            ("refs", "request", "--opportunity", "OPP-1", "--level", "Boss", "--topics", "x",
             "--needed-by", "2099-01-01"),
            2,
            "unknown level 'Boss'",
        ),
    ],
)  # fmt: skip
def test_bad_input_exit_codes(
    cli: Cli,
    flow: Workspace,
    db_snapshot: Callable[[Path], str],
    args: tuple[str, ...],
    code: int,
    message: str,
) -> None:
    """Bad option values are usage errors (2); unknown things and past dates are exit 1,
    named, with nothing written and no traceback."""
    before = db_snapshot(flow.db_path)
    r = run(cli, flow, *args)
    assert r.exit_code == code
    assert message in " ".join(r.stderr.split())
    assert "Traceback" not in r.stderr
    assert db_snapshot(flow.db_path) == before


def test_the_workflow_end_to_end(cli: Cli, flow: Workspace) -> None:
    """request prints the id; each step names the next; a wrong step is exit 1 naming where
    the request is; status lists it until it is recorded; the report counts it."""
    needed = (TODAY + timedelta(days=10)).isoformat()
    r = run(cli, flow, "refs", "request", "--opportunity", "OPP-1", "--level", "VP",
            "--count", "2", "--topics", "Rollout", "--needed-by", needed)  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert r.stdout == "REQ-0001\n"
    assert "next: cstool refs propose REQ-0001" in r.stderr
    assert len(list((flow.outbox / "refs" / "REQ-0001" / "new").iterdir())) == 4

    wrong = run(cli, flow, "refs", "record", "REQ-0001")
    assert wrong.exit_code == 1
    assert "REQ-0001 is at step 1 of 7 (requested" in wrong.stderr

    status = run(cli, flow, "refs", "status", "--format", "csv")
    assert status.stdout.splitlines()[0] == (
        "request_id,opportunity_id,level,count,needed_by,step,step_name,next,owner,"
        "account_id,age_hours"
    )
    assert status.stdout.splitlines()[1].startswith(f"REQ-0001,OPP-1,VP,2,{needed},1,requested,")

    steps = [
        ("propose", "REQ-0001", "--accounts", "H1,H2"),
        ("contact", "REQ-0001", "H1"),
        ("connect", "REQ-0001", "H1"),
        ("occurred", "REQ-0001", "--date", TODAY.isoformat(), "--contact", "U11"),
        ("confirm", "REQ-0001"),
        ("record", "REQ-0001"),
    ]
    for n, step in enumerate(steps, start=2):
        r = run(cli, flow, "refs", *step)
        assert r.exit_code == 0, r.stderr
        assert f"REQ-0001 step {n} " in r.stderr
    assert "the request is complete" in r.stderr
    assert run(cli, flow, "refs", "status").stderr.strip() == "No open reference requests"

    report = run(cli, flow, "refs", "report", "--by", "segment", "--format", "json")
    data = json.loads(report.stdout)
    assert data["groups"][0]["references"] == 1 and data["groups"][0]["milestones"] == 1
    assert data["time_to_fulfil"]["proposed"] == 1
    assert set(data) == {
        "by",
        "from",
        "to",
        "groups",
        "top_customers",
        "top_contacts",
        "influence",
        "deals",
        "references_per_csm",
        "time_to_fulfil",
    }
    table = run(cli, flow, "refs", "report")
    assert table.exit_code == 0 and "Time to fulfil a request" in table.stdout


def test_report_csv_is_the_grouped_table(cli: Cli, flow: Workspace) -> None:
    """--format csv writes the grouped table alone, with its documented columns."""
    r = run(cli, flow, "refs", "report", "--by", "csm", "--format", "csv")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == (
        "csm,references,milestones,accounts,contacts,opportunities,influenced_amount,won_amount\n"
    )


def test_follow_up_writes_into_the_outbox(cli: Cli, flow: Workspace) -> None:
    """A connected request gets its weekly reminder; stdout lists the file written."""
    needed = (TODAY + timedelta(days=10)).isoformat()
    run(cli, flow, "refs", "request", "--opportunity", "OPP-1", "--level", "VP", "--topics",
        "Rollout", "--needed-by", needed)  # fmt: skip
    for step in (
        ("propose", "REQ-0001"),
        ("contact", "REQ-0001", "H1"),
        ("connect", "REQ-0001", "H1"),
    ):
        assert run(cli, flow, "refs", *step).exit_code == 0
    r = run(cli, flow, "refs", "follow-up", "--as-of", "2026-12-07")
    assert r.exit_code == 0, r.stderr
    assert r.stdout == "outbox/refs/REQ-0001/new/REQ-0001.follow-up.2026-W50\n"
    assert "Wrote 1 follow-up email(s) for the week of 2026-12-07" in r.stderr


def test_find_in_a_real_process(flow: Workspace) -> None:
    """The installed entry point runs `refs find` and exits 0 with CSV on stdout."""
    exe = Path(sys.executable).parent / "cstool"
    p = subprocess.run(
        [str(exe), "--workspace", str(flow.root), "refs", "find", "--industry", "Healthcare",
         "--as-of", "2026-11-20", "--format", "csv", "--limit", "1"],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[1].startswith("1,H1,Hale Clinics,Healthcare,SMB,")
    assert "Only 1 of 1" not in p.stderr


def _open_request(cli: Cli, ws: Workspace, *extra: str) -> Result:
    needed = (TODAY + timedelta(days=10)).isoformat()
    return run(cli, ws, "refs", "request", "--opportunity", "OPP-1", "--level", "VP",
               "--topics", "Rollout", "--needed-by", needed, *extra)  # fmt: skip


def test_follow_up_run_again_reports_unchanged(cli: Cli, flow: Workspace) -> None:
    """The same --as-of gives the same bytes: the second run writes nothing, lists no file and
    says the email is unchanged."""
    assert _open_request(cli, flow).exit_code == 0
    for step in (("propose", "REQ-0001"), ("contact", "REQ-0001", "H1")):
        assert run(cli, flow, "refs", *step).exit_code == 0
    first = run(cli, flow, "refs", "follow-up", "--as-of", TODAY.isoformat())
    assert first.exit_code == 0, first.stderr
    (path,) = [flow.root / line for line in first.stdout.splitlines()]
    data = path.read_bytes()
    again = run(cli, flow, "refs", "follow-up", "--as-of", TODAY.isoformat())
    assert again.exit_code == 0, again.stderr
    assert again.stdout == ""
    assert "1 unchanged (the outbox already has them)" in again.stderr
    assert "Wrote" not in again.stderr
    assert path.read_bytes() == data


def test_an_unknown_ae_is_warned_about_and_follow_up_exits_4(cli: Cli, flow: Workspace) -> None:
    """--ae without an email: request warns (exit 0); the follow-up writes what it can and
    exits 4 naming the request and why, with a hint."""
    r = _open_request(cli, flow, "--ae", "Sam Unlisted")
    assert r.exit_code == 0, r.stderr
    said = " ".join(r.stderr.split())
    assert "Warning: no email for Sam Unlisted under refs.account_executives" in said
    for step in (("propose", "REQ-0001"), ("contact", "REQ-0001", "H1")):
        assert run(cli, flow, "refs", *step).exit_code == 0
    f = run(cli, flow, "refs", "follow-up", "--as-of", TODAY.isoformat())
    assert f.exit_code == 4
    said = " ".join(f.stderr.split())
    assert (
        "Partly done: 1 of 1 follow-up email(s) not written: REQ-0001: no email for Sam "
        "Unlisted under refs.account_executives"
    ) in said
    assert "hint: list each account executive with their email under" in said
    assert "Traceback" not in f.stderr


def test_a_closed_opportunity_is_refused_on_the_command_line(
    cli: Cli, flow: Workspace, db_snapshot: Callable[[Path], str]
) -> None:
    """Exit 1 naming the opportunity and its stage, with a hint; nothing written."""
    from refs_data import opportunity, write_opportunities

    write_opportunities(flow, [opportunity("OPP-7", stage="Closed Won", is_won="true")])
    before = db_snapshot(flow.db_path)
    needed = (TODAY + timedelta(days=10)).isoformat()
    r = run(cli, flow, "refs", "request", "--opportunity", "opp-7", "--level", "VP",
            "--topics", "x", "--needed-by", needed)  # fmt: skip
    assert r.exit_code == 1
    said = " ".join(r.stderr.split())
    assert "Error: OPP-7 is already closed (stage Closed Won)" in said
    assert "hint: request references for an open opportunity" in said
    assert db_snapshot(flow.db_path) == before


def test_status_without_open_requests_prints_no_table(cli: Cli, flow: Workspace) -> None:
    """No open requests: stdout is empty (no header-only table), stderr says so."""
    r = run(cli, flow, "refs", "status")
    assert r.exit_code == 0
    assert r.stdout == ""
    assert r.stderr.strip() == "No open reference requests"
    csv_out = run(cli, flow, "refs", "status", "--format", "csv").stdout
    assert csv_out.startswith("request_id,opportunity_id,") and len(csv_out.splitlines()) == 1
