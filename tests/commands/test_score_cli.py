"""CLI tests of `cstool score` (with backfill and explain), `cstool thresholds` and `changes`.

The shop: seven accounts scored on D = 2024-03-31, every one below min_segment_size, so all
use the all-accounts cut points. Depth on D and a week before (D-7):

    S1 1 -> 1   S2 1 -> 0   S3 .5 -> 1   S4 .5 -> .5   E1 0 -> .5   E2 1 -> .5   N1 n/a

N1 has no licenses and no users; every other account has 2 licenses and 2 activated users.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from adoption_data import ago, set_metrics, write_csv
from loading import load
from typer.testing import CliRunner, Result

from cstool.cli import app
from cstool.workspace import init_workspace, open_workspace

THRESHOLD_COLUMNS = [
    "segment",
    "measure",
    "c20",
    "c40",
    "c60",
    "c80",
    "n",
    "calibrated_on",
    "applies",
]
COLUMNS = [
    "account_id",
    "name",
    "segment",
    "csm",
    "deployment",
    "deployment_band",
    "depth",
    "depth_band",
    "breadth",
    "breadth_band",
]
ACCOUNTS = [
    ("S1", "SMB", "Ann", 2),
    ("S2", "SMB", "Bob", 2),
    ("S3", "SMB", "Ann", 2),
    ("S4", "SMB", "Bob", 2),
    ("E1", "ENT", "Ann", 2),
    ("E2", "ENT", "Bob", 2),
    ("N1", "ENT", "Ann", None),
]
# user -> days before D with one "reports" event
ACTIVITY = {
    "S1a": [1, 8],
    "S1b": [1, 8],
    "S2a": [8],
    "S2b": [8],
    "S3a": [8, 2],
    "S3b": [2],
    "S4a": [9],
    "S4b": [3],
    "E1a": [20, 0],
    "E1b": [],
    "E2a": [10, 4],
    "E2b": [10],
}
SCORE_CSV = """\
account_id,name,segment,csm,deployment,deployment_band,depth,depth_band,breadth,breadth_band
E1,E1 Inc,ENT,Ann,1.0,green,0.5,lime,1.0,green
E2,E2 Inc,ENT,Bob,1.0,green,0.5,lime,1.0,green
N1,N1 Inc,ENT,Ann,,,,,0.0,red
S1,S1 Inc,SMB,Ann,1.0,green,1.0,green,1.0,green
S2,S2 Inc,SMB,Bob,1.0,green,0.0,red,1.0,green
S3,S3 Inc,SMB,Ann,1.0,green,1.0,green,1.0,green
S4,S4 Inc,SMB,Bob,1.0,green,0.5,lime,1.0,green
"""
# What calibrating on the shop's seven accounts warns about (a review would say the same).
CALIBRATION_WARNINGS = (
    "Warning: all accounts deployment: cut points collapse at 100.0%; orange, yellow and "
    "lime are empty\n"
    "Warning: all accounts depth: cut points collapse at 50.0%; orange and yellow are empty\n"
    "Warning: all accounts breadth: cut points collapse at 100.0%; orange, yellow and lime "
    "are empty\n"
    "Warning: calibrated on only 7 accounts; recalibrate with `cstool thresholds calibrate "
    "--apply` once the whole book is loaded\n"
)


@pytest.fixture(autouse=True)
def _wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables wide enough that no cell is cut."""
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """The workspace described in the module docstring, loaded through the CSV loader."""
    root = tmp_path / "shop"
    init_workspace(root)
    ws = open_workspace(root)
    src = tmp_path / "in"
    src.mkdir()
    accounts = [(a, f"{a} Inc", s, c, n) for a, s, c, n in ACCOUNTS]
    users = [(u, u[:2], "2024-01-01") for u in ACTIVITY]
    usage = [(ago(n), u[:2], u, "reports", 1) for u, days in ACTIVITY.items() for n in days]
    for kind, header, rows in (
        ("accounts", ("account_id", "name", "segment", "csm", "licenses_purchased"), accounts),
        ("users", ("user_id", "account_id", "activated_at"), users),
        ("usage", ("date", "account_id", "user_id", "feature", "events"), usage),
    ):
        load(ws, kind, write_csv(src / f"{kind}.csv", header, rows))
    return root


def cli(root: Path, *args: str) -> Result:
    """Run ``cstool -w ROOT ARGS...`` in-process; unexpected exceptions propagate."""
    return CliRunner().invoke(app, ["-w", str(root), *args], catch_exceptions=False)


def ok(root: Path, *args: str) -> Result:
    """Run a command that must succeed."""
    result = cli(root, *args)
    assert result.exit_code == 0, result.stderr
    return result


def query(root: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows of a query on the workspace database."""
    db = sqlite3.connect(root / "cstool.db")
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def ids(result: Result) -> list[str]:
    """Account ids of a --format csv listing."""
    return [r["account_id"] for r in csv.DictReader(io.StringIO(result.stdout))]


# -- score ---------------------------------------------------------------------------------
def test_score_csv_is_exact(shop: Path) -> None:
    """score --format csv prints the documented columns and the known answers."""
    result = ok(shop, "score", "--format", "csv")
    assert result.stdout == SCORE_CSV
    assert result.stdout.splitlines()[0] == ",".join(COLUMNS)
    for row in csv.DictReader(io.StringIO(result.stdout)):
        for m in ("deployment", "depth", "breadth"):
            assert row[m] == "" or 0.0 <= float(row[m]) <= 1.0
            assert row[f"{m}_band"] in ("", "green", "lime", "yellow", "orange", "red")
            assert (row[m] == "") == (row[f"{m}_band"] == "")


def test_first_score_says_it_calibrated_and_stored_thresholds(shop: Path) -> None:
    """The first score calibrates on its date and says so; the second does not."""
    first = ok(shop, "score", "--format", "csv")
    assert first.stderr == (
        "No thresholds were stored yet: calibrated on the data of 2024-03-31 and stored them "
        "(review with `cstool thresholds show`)\n"
        + CALIBRATION_WARNINGS
        + "Stored the snapshot of 2024-03-31 (7 accounts)\n"
    )
    assert query(shop, "SELECT DISTINCT as_of FROM thresholds") == [("2024-03-31",)]
    second = ok(shop, "score", "--format", "csv")
    assert second.stderr == "Stored the snapshot of 2024-03-31 (7 accounts)\n"


def test_score_json_keys_in_column_order(shop: Path) -> None:
    """score --format json gives one object per account with the columns in order."""
    rows = json.loads(ok(shop, "score", "--format", "json").stdout)
    assert [list(r) for r in rows] == [COLUMNS] * 7
    n1 = next(r for r in rows if r["account_id"] == "N1")
    assert (n1["deployment"], n1["deployment_band"], n1["depth"], n1["breadth"]) == (
        None,
        None,
        None,
        0.0,
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--segment", "SMB"], ["S1", "S2", "S3", "S4"]),
        (["--csm", "Bob"], ["E2", "S2", "S4"]),
        (["--band", "red"], ["N1", "S2"]),
        (["--band", "lime"], ["E1", "E2", "S4"]),
        (["--band", "orange,yellow"], []),
        (["--segment", "SMB", "--csm", "Ann"], ["S1", "S3"]),
        (["--sort", "depth"], ["S2", "E1", "E2", "S4", "S1", "S3", "N1"]),
        (["--sort", "depth_band"], ["S2", "E1", "E2", "S4", "S1", "S3", "N1"]),
        (["--sort", "breadth", "--limit", "2"], ["N1", "E1"]),
        (["--segment", "smb", "--csm", "ANN"], ["S1", "S3"]),
        (["--band", "RED"], ["N1", "S2"]),
        (["--band", "Lime", "--sort", "DEPTH"], ["E1", "E2", "S4"]),
        (["--sort", "-depth"], ["S1", "S3", "E1", "E2", "S4", "S2", "N1"]),
        (["--sort", "-depth_band"], ["S1", "S3", "E1", "E2", "S4", "S2", "N1"]),
        (["--sort", "-account_id", "--limit", "3"], ["S4", "S3", "S2"]),
    ],
)
def test_score_filters_and_sort(shop: Path, args: list[str], expected: list[str]) -> None:
    """--segment, --csm, --band (any measure, any case), --sort (worst first, -col descending;
    missing last), --limit."""
    assert ids(ok(shop, "score", "--format", "csv", *args)) == expected


def test_filters_matching_nothing_say_so_on_stderr(shop: Path) -> None:
    """An empty result names the filters and the date, exit 0, and prints no empty table."""
    ok(shop, "thresholds", "calibrate", "--apply")
    result = ok(shop, "score", "--segment", "smb", "--band", "orange")
    assert result.stdout == ""
    assert result.stderr == (
        "No accounts match --segment smb --band orange on 2024-03-31\n"
        "Stored the snapshot of 2024-03-31 (7 accounts)\n"
    )
    csv_out = ok(shop, "score", "--csm", "ann lee", "--format", "csv")
    assert csv_out.stdout == ",".join(COLUMNS) + "\n"
    assert csv_out.stderr == (
        "No accounts match --csm 'ann lee' on 2024-03-31\n"
        "hint: the CSMs are Ann, Bob\n"
        "Stored the snapshot of 2024-03-31 (7 accounts)\n"
    )
    assert json.loads(ok(shop, "score", "--segment", "MID", "--format", "json").stdout) == []


def test_unknown_band_exits_2_and_stores_nothing(shop: Path) -> None:
    """An unknown band is a usage error naming the valid bands, before anything is stored."""
    result = cli(shop, "score", "--band", "red,blue")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "Error: unknown band 'blue'\nhint: use green, lime, yellow, orange, red\n"
    )
    assert query(shop, "SELECT COUNT(*) FROM snapshots") == [(0,)]
    assert query(shop, "SELECT COUNT(*) FROM thresholds") == [(0,)]


def test_unknown_sort_column_exits_2(shop: Path) -> None:
    """--sort must name a score column (a usage error)."""
    result = cli(shop, "score", "--sort", "arr")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("Error: cannot sort by 'arr'\nhint: use one of account_id,")


def test_rescoring_the_same_date_is_byte_identical(shop: Path) -> None:
    """Same data and as-of: the same stdout bytes and the same single snapshot."""
    first = ok(shop, "score", "--as-of", "2024-03-31", "--format", "csv")
    rows = query(shop, "SELECT * FROM snapshots ORDER BY account_id")
    second = ok(shop, "score", "--as-of", "2024-03-31", "--format", "csv")
    assert second.stdout_bytes == first.stdout_bytes
    assert query(shop, "SELECT * FROM snapshots ORDER BY account_id") == rows
    assert len(rows) == 7
    assert {r[0] for r in rows} == {"2024-03-31"}


def test_score_table_shows_percentages_and_band_counts(shop: Path) -> None:
    """The default table shows measures as percentages with their band and a band summary."""
    out = ok(shop, "score").stdout
    assert "Adoption on 2024-03-31 (7 of 7 accounts)" in out
    s2 = next(line for line in out.splitlines() if " S2 " in line)
    assert "0.0% red" in s2 and "100.0% green" in s2
    depth = next(line for line in out.splitlines() if line.startswith("│ depth"))
    assert [c.strip() for c in depth.strip("│").split("│")] == [
        "depth",
        "2",
        "3",
        "0",
        "0",
        "1",
        "1",
    ]


def test_score_runs_as_the_installed_command(shop: Path) -> None:
    """The cstool entry point prints the same CSV as the in-process run."""
    ok(shop, "score", "--format", "csv")
    exe = Path(sys.executable).with_name("cstool")
    done = subprocess.run(
        [str(exe), "-w", str(shop), "score", "--format", "csv"],
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode() == SCORE_CSV
    assert b"Stored the snapshot of 2024-03-31" in done.stderr


# -- backfill, explain, changes ------------------------------------------------------------
def test_backfill_stores_every_dates_snapshot(shop: Path) -> None:
    """backfill --from --to --every 7 stores --to, --to minus 7, ... back to --from."""
    result = ok(shop, "score", "backfill", "--from", "2024-03-15", "--to", "2024-03-31")
    assert result.stdout == ""
    assert result.stderr == (
        "No thresholds were stored yet: calibrated on the data of 2024-03-31 and stored them "
        "(review with `cstool thresholds show`)\n"
        + CALIBRATION_WARNINGS
        + "Stored 3 snapshots from 2024-03-17 to 2024-03-31 (7 accounts each)\n"
    )
    assert query(shop, "SELECT as_of, COUNT(*) FROM snapshots GROUP BY as_of") == [
        ("2024-03-17", 7),
        ("2024-03-24", 7),
        ("2024-03-31", 7),
    ]
    daily = ok(
        shop, "score", "backfill", "--from", "2024-03-29", "--to", "2024-03-31", "--every", "1"
    )
    assert "Stored 3 snapshots from 2024-03-29 to 2024-03-31" in daily.stderr
    assert "calibrated" not in daily.stderr
    assert len(query(shop, "SELECT DISTINCT as_of FROM snapshots")) == 5


def test_explain_shows_the_numbers_behind_the_bands(shop: Path) -> None:
    """explain prints licenses, activated and active users, features and the cut points."""
    ok(shop, "score")
    result = ok(shop, "score", "explain", "S3")
    lines = result.stdout.splitlines()
    assert lines[:4] == [
        "S3 S3 Inc  segment SMB, CSM Ann, as of 2024-03-31",
        "licenses 2; activated users 2; active users 2024-03-25..2024-03-31: 2",
        "features used 2024-03-04..2024-03-31 (enabled from the usage): reports",
        "features not used: none",
    ]
    table = {
        cells[0]: cells
        for line in lines[4:]
        if line.startswith("│")
        for cells in [[c.strip() for c in line.strip("│").split("│")]]
    }
    # One row per measure: value and band, last week's band, c20..c80 in %, their source.
    assert table["depth"] == [
        "depth",
        "100.0% green",
        "lime",  # the band a week earlier
        "50.0  50.0  50.0 100.0",
        "all accounts",
    ]
    # What "all accounts" means is said once, under the table, with the configured minimum.
    assert (
        lines[-1] == "all accounts: used for segments under 10 accounts (metrics.min_segment_size)"
    )
    assert table["breadth"][1:3] == ["100.0% green", "green"]
    assert result.stderr == ""


def test_explain_account_without_licenses_or_users(shop: Path) -> None:
    """N1: licenses n/a, no activated users, its one enabled feature unused."""
    out = ok(shop, "score", "explain", "N1").stdout.splitlines()
    assert out[1] == "licenses n/a; activated users 0; active users 2024-03-25..2024-03-31: 0"
    assert out[2:4] == [
        "features used 2024-03-04..2024-03-31 (enabled from the usage): none",
        "features not used: reports",
    ]
    depth = next(line for line in out if line.startswith("│ depth"))
    assert [c.strip() for c in depth.strip("│").split("│")][1:3] == ["n/a", "n/a"]


def test_explain_before_any_score_stores_nothing(shop: Path) -> None:
    """explain without stored thresholds shows proposed cut points and writes nothing."""
    result = ok(shop, "score", "explain", "S2")
    assert "│ all accounts" in result.stdout
    assert query(shop, "SELECT COUNT(*) FROM thresholds") == [(0,)]
    assert query(shop, "SELECT COUNT(*) FROM snapshots") == [(0,)]


def test_explain_unknown_account_exits_1(shop: Path) -> None:
    """An unknown account id is an error with a hint."""
    result = cli(shop, "score", "explain", "ZZ")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "Error: no active account 'ZZ'\nhint: see `cstool score` for the account ids\n"
    )


def test_changes_without_older_snapshot_hints_at_backfill(shop: Path) -> None:
    """changes after one score exits 1 and says how to build the history."""
    ok(shop, "score")
    result = cli(shop, "changes")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "Error: there is no snapshot on or before 2024-03-24 to compare 2024-03-31 with\n"
        "hint: build history with `cstool score backfill --from 2024-03-17 --to 2024-03-31`\n"
    )


def test_changes_lists_movers_worst_drops_first(shop: Path) -> None:
    """After a backfill, changes lists the band moves of D against D-7, worst drops first."""
    ok(shop, "score", "backfill", "--from", "2024-03-24", "--to", "2024-03-31")
    movers = json.loads(ok(shop, "changes", "--format", "json").stdout)
    assert [(m["account_id"], m["measure"], m["band_before"], m["band_after"]) for m in movers] == [
        ("S2", "depth", "green", "red"),
        ("E2", "depth", "green", "lime"),
        ("S3", "depth", "lime", "green"),
        ("E1", "depth", "red", "lime"),
    ]
    assert [m["change"] for m in movers] == [-4, -1, 1, 3]
    assert [m["group"] for m in movers] == ["SMB", "ENT", "SMB", "ENT"]
    assert list(movers[0]) == [
        "group",
        "account_id",
        "name",
        "measure",
        "band_before",
        "band_after",
        "before",
        "after",
        "change",
    ]
    assert (movers[0]["before"], movers[0]["after"]) == (1.0, 0.0)


def test_changes_by_csm_groups_by_csm(shop: Path) -> None:
    """--by csm puts each mover in its CSM's group; the table counts ups and downs."""
    ok(shop, "score", "backfill", "--from", "2024-03-24", "--to", "2024-03-31")
    movers = json.loads(ok(shop, "changes", "--by", "csm", "--format", "json").stdout)
    assert [(m["group"], m["account_id"]) for m in movers] == [
        ("Bob", "S2"),
        ("Bob", "E2"),
        ("Ann", "S3"),
        ("Ann", "E1"),
    ]
    table = ok(shop, "changes", "--by", "csm").stdout
    assert "Band moves by csm, 2024-03-24 -> 2024-03-31" in table
    rows = [
        [c.strip() for c in line.strip("│").split("│")]
        for line in table.splitlines()
        if line.startswith("│") and "depth" in line and "%" not in line
    ]
    assert rows == [["Ann", "depth", "4", "2", "0"], ["Bob", "depth", "3", "0", "2"]]


def test_changes_weeks_and_unknown_grouping(shop: Path) -> None:
    """--weeks 2 compares with two weeks earlier; --by must be segment or csm."""
    ok(shop, "score", "backfill", "--from", "2024-03-24", "--to", "2024-03-31")
    result = cli(shop, "changes", "--weeks", "2")
    assert result.exit_code == 1
    assert "--from 2024-03-10 --to 2024-03-31" in result.stderr
    bad = cli(shop, "changes", "--by", "region")
    assert bad.exit_code == 2
    # --by lists its choices, so Click refuses another value as a usage error.
    assert "Invalid value for '--by': 'region' is not one of 'segment', 'csm'." in (bad.stderr)


# -- thresholds ----------------------------------------------------------------------------
def test_calibrate_without_apply_stores_nothing(shop: Path) -> None:
    """thresholds calibrate proposes cut points with band counts, warns, and stores nothing."""
    result = ok(shop, "thresholds", "calibrate", "--format", "json")
    rows = {r["measure"]: r for r in json.loads(result.stdout)}
    assert set(rows) == {"deployment", "depth", "breadth"}
    depth = rows["depth"]
    assert (depth["segment"], depth["n"], depth["current"]) == ("*", 6, None)
    assert depth["proposed"] == [0.5, 0.5, 0.5, 1.0]
    none = {"green": 0, "lime": 0, "yellow": 0, "orange": 0, "red": 0, "n/a": 0}
    assert depth["before"] == {**none, "n/a": 7}
    assert depth["after"] == {**none, "green": 2, "lime": 3, "red": 1, "n/a": 1}
    assert (
        "Warning: all accounts depth: cut points collapse at 50.0%; orange and yellow are empty"
        in (result.stderr)
    )
    assert result.stderr.endswith("Nothing stored; pass --apply to store these cut points\n")
    assert query(shop, "SELECT COUNT(*) FROM thresholds") == [(0,)]
    shown = ok(shop, "thresholds", "show", "--format", "json")
    assert json.loads(shown.stdout) == []
    assert shown.stderr.startswith("No thresholds are stored yet: `cstool thresholds calibrate")


def test_calibrate_apply_stores_and_show_lists_them(shop: Path) -> None:
    """--apply stores the cut points with their date; show lists them as applied."""
    result = ok(shop, "thresholds", "calibrate", "--as-of", "2024-03-31", "--apply")
    assert "Stored 3 sets of cut points calibrated on 2024-03-31" in result.stderr
    shown = json.loads(ok(shop, "thresholds", "show", "--format", "json").stdout)
    assert [(r["segment"], r["measure"]) for r in shown] == [
        ("*", "deployment"),
        ("*", "depth"),
        ("*", "breadth"),
    ]
    depth = shown[1]
    assert [depth[c] for c in ("c20", "c40", "c60", "c80", "n", "calibrated_on", "applies")] == [
        0.5,
        0.5,
        0.5,
        1.0,
        6,
        "2024-03-31",
        "calibrated",
    ]
    # score now uses them without calibrating again.
    assert "calibrated" not in ok(shop, "score").stderr


def test_show_with_nothing_stored_says_so_without_a_table(shop: Path) -> None:
    """No thresholds: stderr says so and names the command to run; stdout stays empty."""
    result = ok(shop, "thresholds", "show")
    assert result.stdout == ""
    assert result.stderr == (
        "No thresholds are stored yet: `cstool thresholds calibrate --apply` stores them (so "
        "does the first `cstool score`)\n"
    )
    assert ok(shop, "thresholds", "show", "--format", "csv").stdout == (
        ",".join(THRESHOLD_COLUMNS) + "\n"
    )


def test_show_and_calibrate_list_sets_in_the_same_order(shop: Path) -> None:
    """All accounts first, then segments by name, measures as deployment, depth, breadth."""
    set_metrics(shop, min_segment_size=3)  # ENT (3 accounts) and SMB (4) get their own sets
    ok(shop, "thresholds", "calibrate", "--apply")
    keys = [(s, m) for s in ("*", "ENT", "SMB") for m in ("deployment", "depth", "breadth")]
    keys.remove(("ENT", "deployment"))  # N1 has no licenses: two ENT values, under 3
    keys.remove(("ENT", "depth"))
    shown = json.loads(ok(shop, "thresholds", "show", "--format", "json").stdout)
    proposed = json.loads(ok(shop, "thresholds", "calibrate", "--format", "json").stdout)
    assert [(r["segment"], r["measure"]) for r in shown] == keys
    assert [(r["segment"], r["measure"]) for r in proposed] == keys


def test_the_all_accounts_fallback_is_explained_once(shop: Path) -> None:
    """The table names the set "all accounts" and says once what it is for, with the minimum."""
    set_metrics(shop, min_segment_size=3)
    ok(shop, "thresholds", "calibrate", "--apply")
    note = "all accounts: used for segments under 3 accounts (metrics.min_segment_size)"
    for args in (["thresholds", "show"], ["thresholds", "calibrate"]):
        out = ok(shop, *args).stdout
        assert out.count(note) == 1, args
        assert out.count("│ all accounts ") == 3, args
        assert "│ * " not in out
    assert note not in ok(shop, "thresholds", "show", "--format", "csv").stdout


def test_override_in_config_wins_and_show_says_so(shop: Path) -> None:
    """An override in cstool.yaml bands its segment and is listed as what applies."""
    ok(shop, "thresholds", "calibrate", "--apply")
    set_metrics(shop, overrides={"SMB": {"depth": [0.1, 0.2, 0.3, 0.4]}})
    shown = json.loads(ok(shop, "thresholds", "show", "--format", "json").stdout)
    # The override follows the set it replaces.
    assert [(r["segment"], r["measure"], r["applies"]) for r in shown] == [
        ("*", "deployment", "calibrated"),
        ("*", "depth", "calibrated"),
        ("*", "breadth", "calibrated"),
        ("SMB", "depth", "override (cstool.yaml)"),
    ]
    assert shown[-1] == {
        "segment": "SMB",
        "measure": "depth",
        "c20": 0.1,
        "c40": 0.2,
        "c60": 0.3,
        "c80": 0.4,
        "n": None,
        "calibrated_on": None,
        "applies": "override (cstool.yaml)",
    }
    rows = {r["account_id"]: r for r in json.loads(ok(shop, "score", "--format", "json").stdout)}
    assert rows["S4"]["depth_band"] == "green"  # 0.5 >= 0.4 under the override
    assert rows["E1"]["depth_band"] == "lime"  # ENT keeps the calibrated cut points
    explained = ok(shop, "score", "explain", "S4").stdout
    depth = next(line for line in explained.splitlines() if line.startswith("│ depth"))
    assert depth.rstrip("│ ").endswith("│ cstool.yaml")


def test_score_warns_when_thresholds_are_older_than_recheck_days(shop: Path) -> None:
    """Cut points calibrated more than recheck_days before the score date get a warning."""
    set_metrics(shop, recheck_days=7)
    ok(shop, "thresholds", "calibrate", "--as-of", "2024-03-23", "--apply")
    fresh = ok(shop, "score", "--as-of", "2024-03-30", "--format", "csv")
    assert "Warning" not in fresh.stderr
    stale = ok(shop, "score", "--format", "csv")
    assert stale.stderr.startswith(
        "Warning: thresholds were calibrated on 2024-03-23, 8 days before 2024-03-31; recheck "
        "them with `cstool thresholds calibrate`\n"
    )
    assert stale.stdout.startswith(",".join(COLUMNS) + "\n")


def test_changes_warns_when_the_snapshots_were_banded_differently(shop: Path) -> None:
    """Moves caused by new cut points or settings are flagged, not passed off as customers'."""
    ok(shop, "score", "backfill", "--from", "2024-03-24", "--to", "2024-03-31")
    same = ok(shop, "changes")
    assert "banded with different" not in same.stderr
    set_metrics(shop, overrides={"SMB": {"depth": [0.1, 0.2, 0.3, 0.4]}})
    ok(shop, "score")
    result = ok(shop, "changes")
    assert (
        "Warning: the snapshots of 2024-03-24 and 2024-03-31 were banded with different cut "
        "points or settings" in result.stderr
    )


# -- missing values ------------------------------------------------------------------------
def test_missing_segment_and_csm_are_data_in_csv_and_json(shop: Path, tmp_path: Path) -> None:
    """No "(none)" in CSV or JSON: an empty cell and null; only tables say "(none)"."""
    write_csv(tmp_path / "more.csv", ("account_id", "name"), [("X1", "X1 Inc")])
    load(open_workspace(shop), "accounts", tmp_path / "more.csv")
    set_metrics(shop, min_segment_size=1)  # accounts without a segment get their own cut points
    ok(shop, "score", "backfill", "--from", "2024-03-24", "--to", "2024-03-31")
    for args in (["score"], ["changes"], ["thresholds", "show"], ["thresholds", "calibrate"]):
        for fmt in ("csv", "json"):
            assert "(none)" not in ok(shop, *args, "--format", fmt).stdout, (args, fmt)
    scored = ok(shop, "score", "--format", "csv").stdout.splitlines()
    assert scored[-1] == "X1,X1 Inc,,,,,,,0.0,red"
    x1 = json.loads(ok(shop, "score", "--format", "json").stdout)[-1]
    assert (x1["segment"], x1["csm"]) == (None, None)
    shown = json.loads(ok(shop, "thresholds", "show", "--format", "json").stdout)
    assert [r["measure"] for r in shown if r["segment"] is None] == ["breadth"]
    shown_csv = ok(shop, "thresholds", "show", "--format", "csv").stdout.splitlines()
    assert any(line.startswith(",breadth,") for line in shown_csv)
    calibrated = json.loads(ok(shop, "thresholds", "calibrate", "--format", "json").stdout)
    assert [r["measure"] for r in calibrated if r["segment"] is None] == ["breadth"]
    table = ok(shop, "score").stdout
    assert "(none)" in next(line for line in table.splitlines() if "X1" in line)


def test_calibrate_csv_leaves_current_empty_when_nothing_is_stored(shop: Path) -> None:
    """Before any calibration, the CSV's current column is empty, not a word."""
    rows = list(
        csv.DictReader(io.StringIO(ok(shop, "thresholds", "calibrate", "-f", "csv").stdout))
    )
    assert {r["current"] for r in rows} == {""}
    table = ok(shop, "thresholds", "calibrate").stdout
    assert "(none)" in table


# -- narrow terminals ----------------------------------------------------------------------
def test_score_table_at_80_columns_never_splits_an_id_or_a_number(
    shop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 80 columns long names shorten and the CSM goes; ids and measures stay whole."""
    from rich.cells import cell_len

    long = [
        (a, f"{a} Consolidated Holdings International", f"{c}-Maria Fernández-Oyelaran")
        for a, _, c, _ in ACCOUNTS
    ]
    write_csv(tmp_path / "long.csv", ("account_id", "name", "csm"), long)
    load(open_workspace(shop), "accounts", tmp_path / "long.csv")
    rows = list(csv.DictReader(io.StringIO(ok(shop, "score", "--format", "csv").stdout)))
    monkeypatch.setenv("COLUMNS", "80")
    lines = ok(shop, "score").stdout.splitlines()
    assert max(cell_len(line) for line in lines) <= 80
    for r in rows:
        line = next(ln for ln in lines if f"│ {r['account_id']} " in ln)
        for m in ("deployment", "depth", "breadth"):
            shown = "n/a" if r[m] == "" else f"{float(r[m]) * 100:.1f}% {r[f'{m}_band']}"
            assert shown in line, (m, line)
        name = [c.strip() for c in line.strip("│").split("│")][1]
        assert name.startswith(f"{r['account_id']} Con") and name.endswith("…")
    assert "csm: not shown at this width" in lines  # the CSM goes before the segment


def test_explain_wraps_feature_lists_between_words(
    shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A narrow terminal wraps explain's feature line between words, dates kept whole."""
    monkeypatch.setenv("COLUMNS", "50")
    lines = ok(shop, "score", "explain", "S3").stdout.splitlines()
    i = next(n for n, line in enumerate(lines) if line.startswith("features used"))
    assert lines[i : i + 2] == [
        "features used 2024-03-04..2024-03-31 (enabled from",
        "the usage): reports",
    ]
