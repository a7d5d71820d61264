"""Scoring speed: `cstool score` end to end beside a pandas reference on the same database.

Times `cstool score --format csv` and `cstool score backfill` over 13 weekly dates (median of
--runs each, wall time and peak memory of the process), and, in the same run, the three
measures computed with plain pandas from the same SQLite tables, as the README defines them.
The reference runs as a subprocess of this script so that its peak memory is its own; both
times are end to end, imports included. Its results are compared with cstool's CSV output, so
the benchmark doubles as a correctness check. A first, untimed score calibrates thresholds
when none are stored yet. Scoring stores snapshots in the workspace, as it always does.

    python benchmarks/bench_score.py --workspace acme-cs   # an existing, loaded workspace
    python benchmarks/bench_score.py --accounts 5000 --days 90        # generate and load one

Targets on a 2-core machine, 10M usage rows (5,000 accounts, 90 days): cstool at least as fast
as the reference, under 15 s and 1.5 GB; a 13-date backfill well under 13 scores.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

from _common import BIN, HERE, run, sample_data

EPOCH = date(1970, 1, 1)
MEASURES = ("deployment", "depth", "breadth")
TOLERANCE = 1e-9


def build_workspace(accounts: int, days: int, work: Path) -> Path:
    """A workspace loaded with a generated company, built once and reused by later runs."""
    ws = work / f"ws-score-{accounts}x{days}"
    if (ws / "cstool.db").exists():
        return ws
    data = sample_data(accounts, days, work)
    building = ws.with_name(ws.name + ".partial")
    shutil.rmtree(building, ignore_errors=True)
    subprocess.run([BIN / "cstool", "init", str(building)], check=True, stderr=subprocess.DEVNULL)
    for kind in ("accounts", "users", "features", "usage"):
        print(f"loading {kind} ...", flush=True)
        run([str(BIN / "cstool"), "load", kind, str(data / f"{kind}.csv")], building)
    building.rename(ws)
    return ws


def usage_summary(ws: Path) -> tuple[int, int, date]:
    """Usage rows, active accounts and the latest usage day of a workspace."""
    with sqlite3.connect(f"file:{ws / 'cstool.db'}?mode=ro", uri=True) as db:
        rows, last = db.execute("SELECT COUNT(*), MAX(day) FROM usage").fetchone()
        (accounts,) = db.execute("SELECT COUNT(*) FROM accounts WHERE active = 1").fetchone()
    if last is None:
        raise SystemExit(f"{ws}: no usage is loaded")
    return rows, accounts, EPOCH + timedelta(days=last)


def median_run(
    cmd: list[str], cwd: Path, runs: int, out: Path | None = None
) -> tuple[float, float]:
    """Median wall time and largest peak memory of ``runs`` runs; the output goes to ``out``."""
    walls, mems = [], []
    for _ in range(runs):
        with open(out or os.devnull, "wb") as f:
            wall, mem = run(cmd, cwd, stdout=f)
        walls.append(wall)
        mems.append(mem)
    return statistics.median(walls), max(mems)


# -- the pandas reference ------------------------------------------------------------------
def reference(ws: Path, as_of: date, out: Path) -> None:
    """Deployment, depth and breadth per active account with plain pandas, written to ``out``.

    A straightforward reading of the README's definitions: filter, merge, groupby, nunique.
    """
    import pandas as pd

    from cstool.workspace import open_workspace

    metrics = open_workspace(ws).resolved.config.metrics
    d = (as_of - EPOCH).days
    db = sqlite3.connect(f"file:{ws / 'cstool.db'}?mode=ro", uri=True)
    accounts = pd.read_sql(
        "SELECT account_id, licenses_purchased FROM accounts WHERE active = 1", db
    )
    users = pd.read_sql("SELECT uid, account_id, activated_at FROM users", db)
    # First day with events > 0 per user, which usage loads keep up to date.
    first_use = pd.read_sql("SELECT uid, first_day FROM user_activity", db)
    exported = pd.read_sql("SELECT account_id, feature, enabled FROM features", db)
    feature_names = pd.read_sql("SELECT fid, feature FROM feature_names", db)
    first_day = d - max(metrics.depth_window_days, metrics.breadth_window_days) + 1
    usage = pd.read_sql(
        "SELECT day, uid, fid, events FROM usage WHERE day BETWEEN ? AND ?",
        db,
        params=(first_day, d),
    )
    db.close()

    # Users of active accounts; activated by activated_at, else by their first usage.
    users = users[users["account_id"].isin(accounts["account_id"])]
    users = users.merge(first_use, on="uid", how="left")
    activated_at = pd.to_datetime(users["activated_at"], format="%Y-%m-%d")
    is_activated = activated_at.le(pd.Timestamp(as_of)) | (
        activated_at.isna() & users["first_day"].le(d)
    )
    activated = users[is_activated]
    n_activated = activated.groupby("account_id")["uid"].nunique()

    active = usage[usage["events"] > 0].merge(users[["uid", "account_id"]], on="uid")
    in_depth = active[active["day"] > d - metrics.depth_window_days]
    in_depth = in_depth[in_depth["uid"].isin(activated["uid"])]
    n_active = in_depth.groupby("account_id")["uid"].nunique()

    in_breadth = active[active["day"] > d - metrics.breadth_window_days]
    in_breadth = in_breadth.merge(feature_names, on="fid")
    users_per_feature = in_breadth.groupby(["account_id", "feature"])["uid"].nunique()
    used = users_per_feature[users_per_feature >= metrics.breadth_min_users].reset_index()
    used = used[["account_id", "feature"]]

    # Enabled features: the account's export rows, else the catalogue, else all seen in usage.
    exported = exported[exported["account_id"].isin(accounts["account_id"])]
    from_export = exported[exported["enabled"].fillna(1).astype(bool)][["account_id", "feature"]]
    catalogue = list(metrics.features) or list(feature_names["feature"])
    without_rows = accounts[~accounts["account_id"].isin(exported["account_id"])]
    from_default = without_rows[["account_id"]].merge(
        pd.DataFrame({"feature": catalogue}), how="cross"
    )
    enabled = pd.concat([from_export, from_default]).drop_duplicates()
    enabled = enabled.merge(used, on=["account_id", "feature"], how="left", indicator="used")
    enabled["weight"] = enabled["feature"].map(metrics.feature_weights).fillna(1.0)
    enabled["used_weight"] = enabled["weight"].where(enabled["used"] == "both", 0.0)
    weights = enabled.groupby("account_id")[["weight", "used_weight"]].sum()

    result = accounts.set_index("account_id")
    licenses = result["licenses_purchased"].where(result["licenses_purchased"] > 0)
    result["activated"] = n_activated.reindex(result.index, fill_value=0)
    result["active"] = n_active.reindex(result.index, fill_value=0)
    result["deployment"] = (result["activated"] / licenses).clip(upper=1.0)
    result["depth"] = (result["active"] / result["activated"]).where(result["activated"] > 0)
    weights = weights.reindex(result.index)
    result["breadth"] = (weights["used_weight"] / weights["weight"]).where(weights["weight"] > 0)
    result[list(MEASURES)].to_csv(out, float_format="%.17g")


# -- comparison ----------------------------------------------------------------------------
def read_measures(path: Path) -> dict[str, tuple[float | None, ...]]:
    """account_id -> the three measures (None when missing) from a CSV with those columns."""
    with path.open(newline="", encoding="utf-8") as f:
        return {
            r["account_id"]: tuple(float(r[m]) if r[m] != "" else None for m in MEASURES)
            for r in csv.DictReader(f)
        }


def compare(cstool_csv: Path, reference_csv: Path) -> str:
    """Say "agree (...)" or name the first disagreement of cstool's output and the reference."""
    got, want = read_measures(cstool_csv), read_measures(reference_csv)
    if got.keys() != want.keys():
        only_c = sorted(got.keys() - want.keys())[:3]
        only_r = sorted(want.keys() - got.keys())[:3]
        return f"DISAGREE: accounts differ (only cstool: {only_c}, only reference: {only_r})"
    worst = 0.0
    for account in sorted(got):
        for m, g, w in zip(MEASURES, got[account], want[account], strict=True):
            if (g is None) != (w is None):
                return f"DISAGREE: {account} {m}: cstool {g}, reference {w}"
            if g is not None and w is not None:
                diff = abs(g - w)
                if not diff < TOLERANCE or math.isnan(diff):
                    return f"DISAGREE: {account} {m}: cstool {g!r}, reference {w!r}"
                worst = max(worst, diff)
    return f"agree ({len(got):,} accounts, 3 measures, max abs difference {worst:.1e})"


def bench(ws: Path, as_of: date | None, runs: int) -> None:
    rows, accounts, last = usage_summary(ws)
    as_of = as_of or last
    start = as_of - timedelta(weeks=12)
    cstool = str(BIN / "cstool")
    score = [cstool, "score", "--as-of", as_of.isoformat(), "--format", "csv"]
    backfill = [
        cstool,
        "score",
        "backfill",
        "--from",
        start.isoformat(),
        "--to",
        as_of.isoformat(),
        "--every",
        "7",
    ]
    print(f"{ws}: {rows:,} usage rows, {accounts:,} active accounts, as of {as_of}")
    with tempfile.TemporaryDirectory() as tmp:
        cstool_csv, reference_csv = Path(tmp) / "cstool.csv", Path(tmp) / "reference.csv"
        # The first score calibrates and stores thresholds when there are none yet, and warms
        # the page cache; it is not timed.
        run(score, ws)
        s_wall, s_mem = median_run(score, ws, runs, cstool_csv)
        ref = [sys.executable, __file__, "--reference", "--workspace", str(ws)]
        ref += ["--as-of", as_of.isoformat(), "--out", str(reference_csv)]
        r_wall, r_mem = median_run(ref, ws, runs)
        b_wall, b_mem = median_run(backfill, ws, runs)
        verdict = compare(cstool_csv, reference_csv)

    print(f"\n{'tool':<36}{'median s':>10}{'peak MB':>10}")
    print(f"{'cstool score':<36}{s_wall:>10.2f}{s_mem:>10,.0f}")
    print(f"{'pandas reference':<36}{r_wall:>10.2f}{r_mem:>10,.0f}")
    print(f"{'cstool score backfill (13 dates)':<36}{b_wall:>10.2f}{b_mem:>10,.0f}")
    print(f"\npandas / cstool: {r_wall / s_wall:.2f}x")
    print(f"backfill / score: {b_wall / s_wall:.2f}x for 13 dates")
    print(f"reference: {verdict}")
    targets = {
        "cstool at least as fast as pandas": s_wall <= r_wall,
        "score under 15 s": s_wall < 15,
        "peak memory under 1.5 GB": max(s_mem, b_mem) < 1.5 * 1024,
        "backfill under 13 scores": b_wall < 13 * s_wall,
    }
    print("targets: " + "; ".join(f"{k}: {'met' if ok else 'MISSED'}" for k, ok in targets.items()))
    if verdict.startswith("DISAGREE"):
        raise SystemExit(1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--workspace", type=Path, help="an existing workspace with usage loaded")
    ap.add_argument("--accounts", type=int, default=5000, help="accounts to generate (5000)")
    ap.add_argument("--days", type=int, default=90, help="days of usage to generate (90)")
    ap.add_argument(
        "--as-of",
        type=date.fromisoformat,
        help="score date (default: latest usage day)",
    )
    ap.add_argument("--runs", type=int, default=3, help="timed runs of each (median; 3)")
    ap.add_argument("--work", type=Path, default=HERE / "scratch")
    ap.add_argument("--reference", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.reference:
        if not (args.workspace and args.as_of and args.out):
            ap.error("--reference needs --workspace, --as-of and --out")
        reference(args.workspace.resolve(), args.as_of, args.out)
        return
    if args.workspace:
        ws = args.workspace.resolve()
    else:
        args.work.mkdir(parents=True, exist_ok=True)
        ws = build_workspace(args.accounts, args.days, args.work)
    bench(ws, args.as_of, args.runs)


if __name__ == "__main__":
    main()
