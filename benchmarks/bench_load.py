"""Load speed: `cstool load usage` beside `sqlite-utils insert --csv` on the same files.

Generates usage with `cstool sample generate` (about 1M rows for 500 accounts and 10M rows for
5,000 accounts over 90 days), then, in the same run, loads each file with cstool (a fully
validated load into a fresh workspace, keys and indexes included) and with sqlite-utils, the
usual tool for CSV into SQLite. Prints rows/s, wall time and peak memory of both, and the ratio.

    python benchmarks/bench_load.py                  # 1M and 10M rows
    python benchmarks/bench_load.py --accounts 500   # 1M rows only
    python benchmarks/bench_load.py --peer-runs 0    # cstool only (sqlite-utils is slow)
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
from collections.abc import Callable
from pathlib import Path

from _common import BIN, HERE, run, sample_data


def count_rows(csv: Path) -> int:
    with csv.open("rb") as f:
        return sum(buf.count(b"\n") for buf in iter(lambda: f.read(1 << 20), b"")) - 1


def cstool_load(data: Path, work: Path) -> tuple[float, float]:
    """One fully validated usage load into a fresh workspace (accounts and users first)."""
    ws = work / "ws"
    shutil.rmtree(ws, ignore_errors=True)
    subprocess.run([BIN / "cstool", "init", str(ws)], check=True, stderr=subprocess.DEVNULL)
    for kind in ("accounts", "users"):
        run([str(BIN / "cstool"), "load", kind, str(data / f"{kind}.csv")], ws)
    try:
        return run([str(BIN / "cstool"), "load", "usage", str(data / "usage.csv")], ws)
    finally:
        shutil.rmtree(ws, ignore_errors=True)


def peer_load(data: Path, work: Path) -> tuple[float, float]:
    """`sqlite-utils insert --csv` of the same file into a fresh database."""
    db = work / "peer.db"
    db.unlink(missing_ok=True)
    try:
        cmd = [str(BIN / "sqlite-utils"), "insert", str(db), "usage", str(data / "usage.csv")]
        return run([*cmd, "--csv"], work)
    finally:
        db.unlink(missing_ok=True)


def median_of(n: int, fn: Callable[[], tuple[float, float]]) -> tuple[float, float]:
    """Median wall time and the largest peak memory of ``n`` runs."""
    runs = [fn() for _ in range(n)]
    return statistics.median(w for w, _ in runs), max(m for _, m in runs)


def bench(accounts: int, days: int, work: Path, runs: int, peer_runs: int) -> None:
    data = sample_data(accounts, days, work)
    rows = count_rows(data / "usage.csv")
    size_mb = (data / "usage.csv").stat().st_size / 1e6
    c_wall, c_mem = median_of(runs, lambda: cstool_load(data, work))
    print(f"\nusage.csv: {rows:,} rows, {size_mb:,.0f} MB")
    print(f"{'tool':<28}{'runs':>6}{'median s':>10}{'rows/s':>12}{'peak MB':>10}")
    print(
        f"{'cstool load usage':<28}{runs:>6}{c_wall:>10.1f}{rows / c_wall:>12,.0f}{c_mem:>10,.0f}"
    )
    if peer_runs:
        p_wall, p_mem = median_of(peer_runs, lambda: peer_load(data, work))
        print(
            f"{'sqlite-utils insert --csv':<28}{peer_runs:>6}{p_wall:>10.1f}"
            f"{rows / p_wall:>12,.0f}{p_mem:>10,.0f}"
        )
        print(f"cstool is {p_wall / c_wall:.1f}x sqlite-utils", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--accounts",
        type=int,
        action="append",
        help="accounts per run (repeatable); default 500 and 5000",
    )
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--runs", type=int, default=3, help="cstool loads per size (median)")
    ap.add_argument(
        "--peer-runs", type=int, default=1, help="sqlite-utils loads per size (0 skips it)"
    )
    ap.add_argument("--work", type=Path, default=HERE / "scratch")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    for n in args.accounts or [500, 5000]:
        bench(n, args.days, args.work, args.runs, args.peer_runs)


if __name__ == "__main__":
    main()
