"""Speed of the account 360 and of the success snapshots, each beside a peer.

1. `cstool account show ACCOUNT` on a generated company of --accounts (5,000) accounts with
   every export loaded and weekly snapshots, end to end (process start, imports, output):
   the median over --runs runs for each of five accounts spread over the book. The peer is
   `cstool score explain` for the same accounts, the view that measures every account to
   explain one. Also `cstool status`, what any command costs to start, and the 360's
   assembly alone, in this process (imports and start-up apart).
2. `cstool report account --csm NAME --out DIR` writing a CSM's book of about 50 accounts
   (the shipped sample company: 214 accounts, Marcus Oyelaran's book has 52), as HTML and
   as PPTX, median of --runs. The peer is the same book written one account per process
   (timed over --single accounts and scaled to the book), as a script without --csm would.

    python benchmarks/bench_reports.py                    # generate and load on first use
    python benchmarks/bench_reports.py --accounts 5000 --runs 5

Targets: `account show` under 0.5 s on 5,000 accounts; a 50-account book under 20 s.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
from pathlib import Path

from _common import BIN, HERE, run, sample_data

KINDS = (
    "accounts",
    "users",
    "features",
    "usage",
    "nps",
    "opportunities",
    "references",
    "activities",
)
CSM = "Marcus Oyelaran"


def load_all(ws: Path, data: Path) -> None:
    """Load every export of ``data`` into the workspace ``ws`` and store weekly snapshots."""
    cstool = str(BIN / "cstool")
    for kind in KINDS:
        print(f"loading {kind} ...", flush=True)
        run([cstool, "load", kind, str(data / f"{kind}.csv")], ws)
    print("scoring weekly snapshots ...", flush=True)
    run([cstool, "score", "backfill", "--every", "7"], ws)


def workspace(work: Path, name: str, data: Path | None) -> Path:
    """A loaded and scored workspace, built once and reused by later runs.

    ``data`` is a folder of exports; None builds the shipped sample company.
    """
    ws = work / name
    if (ws / "cstool.db").exists():
        return ws
    building = ws.with_name(ws.name + ".partial")
    shutil.rmtree(building, ignore_errors=True)
    init = [str(BIN / "cstool"), "init", str(building)] + (["--sample"] if data is None else [])
    subprocess.run(init, check=True, stderr=subprocess.DEVNULL)
    load_all(building, data or building / "data")
    building.rename(ws)
    return ws


def median(cmd: list[str], cwd: Path, runs: int) -> tuple[float, float]:
    walls, mems = [], []
    for _ in range(runs):
        wall, mem = run(cmd, cwd)
        walls.append(wall)
        mems.append(mem)
    return statistics.median(walls), max(mems)


def spread_accounts(ws: Path, n: int = 5) -> list[str]:
    with sqlite3.connect(f"file:{ws / 'cstool.db'}?mode=ro", uri=True) as db:
        ids = [r[0] for r in db.execute("SELECT account_id FROM accounts ORDER BY account_id")]
    return [ids[i * (len(ids) - 1) // (n - 1)] for i in range(n)]


def core_times(ws: Path, accounts: list[str], runs: int) -> float:
    """Median seconds of ``account360.account_360`` alone, in this process, after one warm-up."""
    import time
    from datetime import date

    from cstool.account360 import account_360
    from cstool.workspace import open_workspace

    w = open_workspace(ws)
    times = []
    with w.open_store() as store:
        account_360(store, w.resolved.config, accounts[0], today=date.today())
        for account in accounts:
            for _ in range(runs):
                start = time.perf_counter()
                account_360(store, w.resolved.config, account, today=date.today())
                times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_show(ws: Path, runs: int) -> bool:
    cstool = str(BIN / "cstool")
    with sqlite3.connect(f"file:{ws / 'cstool.db'}?mode=ro", uri=True) as db:
        (accounts,) = db.execute("SELECT COUNT(*) FROM accounts").fetchone()
        (rows,) = db.execute("SELECT COUNT(*) FROM usage").fetchone()
    print(f"\n{ws.name}: {accounts:,} accounts, {rows:,} usage rows")
    print(f"{'account':<12}{'show s':>10}{'show MB':>10}{'explain s':>12}{'explain MB':>12}")
    shows, explains = [], []
    for account in spread_accounts(ws):
        run([cstool, "account", "show", account], ws)  # warm the page cache, untimed
        s, s_mem = median([cstool, "account", "show", account], ws, runs)
        e, e_mem = median([cstool, "score", "explain", account], ws, runs)
        shows.append(s)
        explains.append(e)
        print(f"{account:<12}{s:>10.3f}{s_mem:>10,.0f}{e:>12.3f}{e_mem:>12,.0f}")
    floor, _ = median([cstool, "status", "--format", "json"], ws, runs)
    print(f"cstool status (start-up, config, store, no work): median {floor:.3f} s")
    core = core_times(ws, spread_accounts(ws), runs)
    print(f"the 360 assembled in-process (imports done, store open): median {core * 1000:.0f} ms")
    show, explain = statistics.median(shows), statistics.median(explains)
    print(
        f"median: account show {show:.3f} s, score explain {explain:.3f} s "
        f"({explain / show:.1f}x slower)"
    )
    return max(shows) < 0.5


def bench_book(ws: Path, runs: int, single: int) -> bool:
    cstool = str(BIN / "cstool")
    with sqlite3.connect(f"file:{ws / 'cstool.db'}?mode=ro", uri=True) as db:
        ids = [
            r[0]
            for r in db.execute(
                "SELECT account_id FROM accounts WHERE active = 1 AND csm = ? ORDER BY 1", (CSM,)
            )
        ]
    print(f"\n{CSM}'s book: {len(ids)} accounts")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("html", "pptx"):
            out = Path(tmp) / fmt
            cmd = [cstool, "report", "account", "--csm", CSM, "--out", str(out), "--as", fmt]
            wall, mem = median(cmd, ws, runs)
            files = len(list(out.glob(f"*.{fmt}")))
            one = [
                run([cstool, "report", "account", a, "--out", str(Path(tmp) / f"one.{fmt}")], ws)[0]
                for a in ids[:single]
            ]
            peer = statistics.mean(one) * len(ids)
            print(
                f"--csm, {fmt}: {wall:.1f} s for {files} files ({wall / files:.2f} s each), "
                f"{mem:,.0f} MB peak; one process per account: {peer:.1f} s "
                f"(from {single} accounts, scaled) -> {peer / wall:.1f}x"
            )
            ok = ok and wall < 20
    return ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--accounts", type=int, default=5000, help="accounts to generate (5000)")
    ap.add_argument("--days", type=int, default=90, help="days of usage to generate (90)")
    ap.add_argument("--runs", type=int, default=3, help="timed runs of each (median; 3)")
    ap.add_argument("--single", type=int, default=5, help="one-account runs for the peer (5)")
    ap.add_argument("--work", type=Path, default=HERE / "scratch")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    name = f"ws-reports-{args.accounts}x{args.days}"
    built = (args.work / name / "cstool.db").exists()
    big = workspace(
        args.work, name, None if built else sample_data(args.accounts, args.days, args.work)
    )
    show_ok = bench_show(big, args.runs)
    book_ok = bench_book(workspace(args.work, "ws-reports-sample", None), args.runs, args.single)
    print(
        f"\ntargets: account show under 0.5 s: {'met' if show_ok else 'MISSED'}; "
        f"50-account book under 20 s: {'met' if book_ok else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
