"""CTA generation speed: `cstool cta generate` with the shipped playbooks, at two book sizes.

Builds (once, then reuses) a workspace per size from a generated sample company (seed 1):
accounts, users, features, usage and NPS loaded, and two snapshots a week apart scored, so
that band changes exist. Then times, end to end as a process (imports included):

- the first `cta generate` on the latest snapshot, which opens every CTA (a copy of the
  workspace each run, so that every run starts from no CTAs);
- a second run on the same data, which opens nothing and leaves every CTA unchanged;
- `cta generate --dry-run`, which plans without writing.

It prints wall time (median of --runs) and peak memory per size, the accounts per second, and
the growth from the small to the large book against the growth in accounts.

    python benchmarks/bench_ctas.py                     # 5,000 and 50,000 accounts
    python benchmarks/bench_ctas.py --sizes 5000 --runs 3

Targets on a 2-core machine: 5,000 accounts in at most 3 s and 300 MB; from 5,000 to 50,000
accounts, time growing no faster than the number of accounts.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
from datetime import date, timedelta
from pathlib import Path

from _common import BIN, run, sample_data

DAYS = 8  # a week of history for the band changes, and a small usage table to load
KINDS = ("accounts", "users", "features", "usage", "nps")


def build(accounts: int, work: Path) -> Path:
    """A loaded and scored workspace for ``accounts`` accounts, built on first use."""
    ws = work / f"ws-ctas-{accounts}"
    if (ws / "cstool.db").exists():
        return ws
    data = sample_data(accounts, DAYS, work)
    building = ws.with_name(ws.name + ".partial")
    shutil.rmtree(building, ignore_errors=True)
    subprocess.run([BIN / "cstool", "init", str(building)], check=True, stderr=subprocess.DEVNULL)
    for kind in KINDS:
        print(f"loading {kind} ({accounts:,} accounts) ...", flush=True)
        run([str(BIN / "cstool"), "load", kind, str(data / f"{kind}.csv")], building)
    with sqlite3.connect(building / "cstool.db") as db:
        last = date(1970, 1, 1) + timedelta(
            days=db.execute("SELECT MAX(day) FROM usage").fetchone()[0]
        )
    for day in (last - timedelta(days=7), last):
        print(f"scoring {day} ...", flush=True)
        run([str(BIN / "cstool"), "score", "--as-of", day.isoformat()], building)
    building.rename(ws)
    return ws


def timed(cmd: list[str], ws: Path, runs: int, *, fresh: Path | None = None) -> tuple[float, float]:
    """Median wall time and peak memory of ``runs`` runs of ``cmd`` in workspace ``ws``.

    With ``fresh``, each run works on a new copy of ``ws`` made at ``fresh`` (not timed).
    """
    walls, mems = [], []
    for _ in range(runs):
        where = ws
        if fresh is not None:
            shutil.rmtree(fresh, ignore_errors=True)
            shutil.copytree(ws, fresh)
            where = fresh
        wall, mem = run([str(BIN / "cstool"), "--workspace", str(where), *cmd], where)
        walls.append(wall)
        mems.append(mem)
    return statistics.median(walls), max(mems)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 50000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "cstool-bench")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    results = {}
    for size in args.sizes:
        ws = build(size, args.work)
        first = timed(["cta", "generate"], ws, args.runs, fresh=args.work / "ws-ctas-run")
        opened = args.work / "ws-ctas-run"  # the last copy holds the opened CTAs
        with sqlite3.connect(opened / "cstool.db") as db:
            (ctas,) = db.execute("SELECT COUNT(*) FROM ctas").fetchone()
        again = timed(["cta", "generate"], opened, args.runs)
        dry = timed(["cta", "generate", "--dry-run"], ws, args.runs)
        results[size] = (first, again, dry, ctas)
        print(f"\n{size:,} accounts, {ctas:,} CTAs opened by the first run")
        for label, (wall, mem) in (("first run", first), ("second run", again), ("dry run", dry)):
            print(
                f"  cta generate, {label:<10}: {wall:6.2f} s, {mem:5.0f} MB peak, "
                f"{size / wall:9,.0f} accounts/s"
            )
    if len(results) > 1:
        small, large = min(results), max(results)
        print(f"\nfrom {small:,} to {large:,} accounts ({large / small:.0f}x):")
        for i, label in enumerate(("first run", "second run", "dry run")):
            growth = results[large][i][0] / results[small][i][0]
            print(f"  {label:<10}: time {growth:.1f}x, peak memory "
                  f"{results[large][i][1] / results[small][i][1]:.1f}x")  # fmt: skip
    print(f"\n(workspaces kept in {args.work})")


if __name__ == "__main__":
    main()
