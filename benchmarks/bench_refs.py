"""`cstool refs find` end to end, beside process start alone and a plain SQL query.

Times `cstool refs find --industry Healthcare --format csv` (the median of --runs, wall time
including process start) on a generated company, beside two peers in the same run:

* `cstool --version`: process start alone (Python, the CLI's imports, no workspace);
* the same filters and eligibility rules as one SQL query in a fresh Python process
  (`sqlite3` only): what any script over the database pays. Its eligible accounts are
  compared with cstool's, so the benchmark doubles as a check of the rules.

The workspace is built once (generate, load, one `cstool score` for the snapshot) and reused:

    python benchmarks/bench_refs.py                       # 5,000 accounts, 35 days
    python benchmarks/bench_refs.py --accounts 1000 --runs 3

Target on a 2-core machine, 5,000 accounts: under 1 s including process start.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from _common import BIN, HERE, run, sample_data

AS_OF = date(2026, 11, 20)  # the generator's last usage day
INDUSTRY = "Healthcare"

# The default rules of `refs.rules`, as one query: the latest snapshot on or before the date
# without red or orange bands; the latest NPS answer 9 or 10 where there is one; no open or
# snoozed risk CTA; renewal more than 60 days away; at most 2 references in the 90 days ending
# on the date (later ones count) and none in the last 30; an advocate. Workflow requests are
# left out: the benchmark workspace has none.
PEER_SQL = """
WITH wanted AS (
  SELECT account_id, renewal_date FROM accounts
  WHERE active = 1 AND lower(industry) = lower(:industry)
), snap AS (
  SELECT s.* FROM snapshots s JOIN wanted w USING (account_id)
  WHERE s.as_of = (SELECT MAX(as_of) FROM snapshots WHERE as_of <= :d)
), nps_latest AS (
  SELECT account_id, score FROM (
    SELECT n.account_id, n.score, ROW_NUMBER() OVER (
      PARTITION BY n.account_id ORDER BY n.date DESC, n.response_id DESC) AS rn
    FROM nps n JOIN wanted w USING (account_id) WHERE n.date <= :d)
  WHERE rn = 1
), refs AS (
  SELECT account_id, SUM(date >= :window_start) AS n, MAX(date) AS last
  FROM "references"
  WHERE coalesce(outcome, '') NOT IN ('Declined', 'Cancelled')
  GROUP BY account_id
)
SELECT w.account_id FROM wanted w
JOIN snap s USING (account_id)
LEFT JOIN nps_latest n USING (account_id)
LEFT JOIN refs r USING (account_id)
WHERE NOT (s.deployment_band IS NULL AND s.depth_band IS NULL AND s.breadth_band IS NULL)
  AND coalesce(s.deployment_band, '') NOT IN ('red', 'orange')
  AND coalesce(s.depth_band, '') NOT IN ('red', 'orange')
  AND coalesce(s.breadth_band, '') NOT IN ('red', 'orange')
  AND (n.score IS NULL OR n.score >= 9)
  AND NOT EXISTS (SELECT 1 FROM ctas c WHERE c.account_id = w.account_id
                  AND c.type = 'risk' AND c.status != 'closed')
  AND (w.renewal_date IS NULL OR w.renewal_date > :renewal_cutoff)
  AND coalesce(r.n, 0) <= 2 AND (r.last IS NULL OR r.last <= :gap_cutoff)
  AND EXISTS (SELECT 1 FROM users u WHERE u.account_id = w.account_id AND u.is_advocate = 1)
ORDER BY w.account_id
"""

PEER = """
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
for (a,) in db.execute(sys.argv[2], dict(zip(sys.argv[3::2], sys.argv[4::2]))):
    print(a)
"""


def build_workspace(accounts: int, days: int, work: Path) -> Path:
    """A workspace with a generated company and one scored snapshot, built once."""
    ws = work / f"ws-refs-{accounts}x{days}"
    if (ws / "cstool.db").exists():
        return ws
    data = sample_data(accounts, days, work)
    building = ws.with_name(ws.name + ".partial")
    shutil.rmtree(building, ignore_errors=True)
    subprocess.run([BIN / "cstool", "init", str(building)], check=True, stderr=subprocess.DEVNULL)
    for kind in ("accounts", "users", "features", "usage", "nps", "opportunities", "references"):
        print(f"loading {kind} ...", flush=True)
        run([str(BIN / "cstool"), "load", kind, str(data / f"{kind}.csv")], building)
    print("scoring ...", flush=True)
    run([str(BIN / "cstool"), "score", "--as-of", AS_OF.isoformat()], building)
    building.rename(ws)
    return ws


def timed(cmd: list[str], cwd: Path, out: Path | None = None) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one run of ``cmd``.

    On a shared machine the wall time includes waiting for a core; the CPU time is what the
    process itself spent, and what its wall time is on an idle machine.
    """
    start = time.perf_counter()
    with open(out or os.devnull, "wb") as f:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=f, stderr=subprocess.PIPE)
        stderr = proc.stderr.read().decode() if proc.stderr else ""
        _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{stderr}")
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime


def medians(cmd: list[str], cwd: Path, runs: int, out: Path | None = None) -> tuple[float, float]:
    """Median wall and median CPU time of ``runs`` runs."""
    walls, cpus = zip(*(timed(cmd, cwd, out) for _ in range(runs)), strict=True)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=5000)
    parser.add_argument("--days", type=int, default=35)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--work", type=Path, default=HERE / ".work")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    ws = build_workspace(args.accounts, args.days, args.work)
    with sqlite3.connect(f"file:{ws / 'cstool.db'}?mode=ro", uri=True) as db:
        (n_accounts,) = db.execute("SELECT COUNT(*) FROM accounts WHERE active = 1").fetchone()
        (n_users,) = db.execute("SELECT COUNT(*) FROM users").fetchone()
    cstool = str(BIN / "cstool")
    find = [cstool, "refs", "find", "--industry", INDUSTRY, "--as-of", AS_OF.isoformat()]
    params = {
        "industry": INDUSTRY,
        "d": AS_OF.isoformat(),
        "window_start": (AS_OF - timedelta(days=89)).isoformat(),
        "renewal_cutoff": (AS_OF + timedelta(days=60)).isoformat(),
        "gap_cutoff": (AS_OF - timedelta(days=30)).isoformat(),
    }
    peer = [sys.executable, "-c", PEER, str(ws / "cstool.db"), PEER_SQL]
    peer += [x for kv in params.items() for x in kv]

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "find.csv"
        t_find = medians([*find, "--format", "csv"], ws, args.runs, out)
        t_explain = medians(
            [*find, "--level", "VP", "--similar", "--explain", "--format", "json"], ws, args.runs
        )
        t_start = medians([cstool, "--version"], ws, args.runs)
        t_status = medians([cstool, "status", "--format", "csv"], ws, args.runs)
        peer_out = Path(tmp) / "peer.txt"
        t_peer = medians(peer, ws, args.runs, peer_out)
        everyone = Path(tmp) / "all.csv"
        run([*find, "--format", "csv", "--limit", str(n_accounts)], ws, stdout=everyone.open("wb"))
        with everyone.open(encoding="utf-8") as f:
            ours = sorted(row["account_id"] for row in csv.DictReader(f))
        theirs = peer_out.read_text(encoding="utf-8").split()
    same = "agree" if ours == theirs else f"DIFFER ({len(ours)} vs {len(theirs)})"
    print(
        f"\n{n_accounts:,} accounts, {n_users:,} contacts; --industry {INDUSTRY}: "
        f"{len(ours):,} eligible (medians of {args.runs} runs: wall time, CPU time)"
    )
    rows = [
        ("cstool refs find --format csv", t_find),
        ("cstool refs find --level VP --similar --explain", t_explain),
        ("process start alone (cstool --version)", t_start),
        ("start and read the workspace (cstool status)", t_status),
        ("the same rules as one SQL query (python + sqlite3)", t_peer),
    ]
    for label, (wall, cpu) in rows:
        print(f"  {label:<52} {wall:6.2f} s wall {cpu:6.2f} s CPU")
    print(f"  eligible accounts: cstool and the SQL query {same}")
    if ours != theirs:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
