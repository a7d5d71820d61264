"""Rollup speed: `cstool rollup --engine duckdb` over Parquet beside DuckDB's own group-by.

Generates (once, with DuckDB itself, in files of 10M rows under benchmarks/scratch/) a usage
lake of --events rows: one row per event, 10 users per account, 12 features, 180 days, events
0-3 per row (a quarter are 0). The workspace holds the accounts and users (70% with an
activated_at, some after the scored date) and no usage. Then, each as a fresh process on the
same files (median of --runs, wall time and peak memory):

- the floor: DuckDB's plain group-by of the same rows by (user_id, feature), counting them;
- for reference, the query a data team might write for breadth: distinct users per (account,
  feature) with events > 0, over all rows;
- `cstool rollup --engine duckdb --as-of D` end to end (imports, reading the users, storing);
- `cstool rollup` of a 13-date weekly series, for information;
- with --spark, `cstool rollup --engine spark --as-of D` on the first 10M-row file, for
  information (wall time only, JVM start included; Spark's memory is the JVM's).

A check doubles as a correctness test: the stored users per (account, feature) of D add up to
the distinct (user, feature) pairs with events > 0 in D's breadth window, counted by a plain
query.

    python benchmarks/bench_rollup.py                    # 100M events (takes a while)
    python benchmarks/bench_rollup.py --events 20000000  # 20M
    python benchmarks/bench_rollup.py --spark             # also Spark local on 10M events

Target on a 2-core machine: the rollup within 1.5x of the floor, under 2 GB of memory.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import subprocess
import sys
import textwrap
from datetime import date, timedelta
from pathlib import Path

from _common import BIN, HERE, run

DAYS = 180
FEATURES = 12
USERS_PER_ACCOUNT = 10
FILE_ROWS = 10_000_000
START = date(2026, 5, 25)
END = START + timedelta(days=DAYS - 1)  # 2026-11-20


def generate(events: int, work: Path) -> tuple[Path, int]:
    """The lake folder for ``events`` rows (made once) and its number of users."""
    import duckdb

    users = max(events // 500, 1_000)  # 500 event rows per user over the half year
    lake = work / f"lake-{events}"
    done = lake / "_complete"
    if done.exists():
        return lake, users
    shutil.rmtree(lake, ignore_errors=True)
    lake.mkdir(parents=True)
    con = duckdb.connect()
    files = (events + FILE_ROWS - 1) // FILE_ROWS
    for k in range(files):
        lo, hi = k * FILE_ROWS, min((k + 1) * FILE_ROWS, events)
        print(f"generating rows {lo:,}..{hi:,} of {events:,} ...", flush=True)
        # Deterministic: every value is a hash of the row number.
        con.execute(
            f"""
            COPY (
              SELECT DATE '{START}' + CAST(hash(i, 1) % {DAYS} AS INTEGER) AS date,
                     printf('A%06d', u // {USERS_PER_ACCOUNT}) AS account_id,
                     printf('U%07d', u) AS user_id,
                     printf('f%02d', CAST(hash(i, 3) % {FEATURES} AS INTEGER) + 1) AS feature,
                     CAST(hash(i, 4) % 4 AS BIGINT) AS events
              FROM (SELECT i, CAST(hash(i, 2) % {users} AS BIGINT) AS u
                    FROM range({lo}, {hi}) t(i))
            ) TO '{lake / f"part-{k:03d}.parquet"}' (FORMAT parquet, COMPRESSION zstd)
            """
        )
    done.touch()
    return lake, users


def build_workspace(events: int, users: int, work: Path) -> Path:
    """A workspace with the lake's accounts and users loaded, and no usage."""
    ws = work / f"ws-rollup-{events}"
    if (ws / "cstool.db").exists():
        return ws
    building = ws.with_name(ws.name + ".partial")
    shutil.rmtree(building, ignore_errors=True)
    subprocess.run([BIN / "cstool", "init", str(building)], check=True, stderr=subprocess.DEVNULL)
    data = building / "data"
    data.mkdir(exist_ok=True)
    accounts = (users + USERS_PER_ACCOUNT - 1) // USERS_PER_ACCOUNT
    with (data / "accounts.csv").open("w", encoding="utf-8") as f:
        f.write("account_id,name,segment,licenses_purchased\n")
        for a in range(accounts):
            segment = ("SMB", "Mid-Market", "Enterprise")[a % 3]
            f.write(f"A{a:06d},Account {a},{segment},{8 + a % 7}\n")
    with (data / "users.csv").open("w", encoding="utf-8") as f:
        f.write("user_id,account_id,activated_at\n")
        for u in range(users):
            # 70% activated on a day of the half year (some after the scored date), the rest
            # activated by their first usage.
            activated = START + timedelta(days=(u * 37) % (DAYS + 30)) if u % 10 < 7 else None
            f.write(f"U{u:07d},A{u // USERS_PER_ACCOUNT:06d},{activated or ''}\n")
    for kind in ("accounts", "users"):
        print(f"loading {kind} ...", flush=True)
        run([str(BIN / "cstool"), "load", kind, str(data / f"{kind}.csv")], building)
    building.rename(ws)
    return ws


def duckdb_query(sql: str, threads: int) -> list[str]:
    """A command running ``sql`` in a fresh DuckDB process (so its memory is its own)."""
    code = textwrap.dedent(
        f"""
        import duckdb
        con = duckdb.connect()
        con.execute("SET threads = {threads}")
        print(len(con.sql({sql!r}).fetchall()))
        """
    )
    return [sys.executable, "-c", code]


def median(cmd: list[str], cwd: Path, runs: int) -> tuple[float, float]:
    walls, mems = [], []
    for _ in range(runs):
        wall, mem = run(cmd, cwd)
        walls.append(wall)
        mems.append(mem)
    return statistics.median(walls), max(mems)


def check(ws: Path, lake: Path, d: date) -> str:
    """The stored users per (account, feature) of ``d`` beside a plain distinct count."""
    import duckdb

    day = (d - date(1970, 1, 1)).days
    db = sqlite3.connect(ws / "cstool.db")
    (stored,) = db.execute(
        "SELECT SUM(users) FROM rollup_features WHERE day = ?", (day,)
    ).fetchone()
    db.close()
    first = d - timedelta(days=27)
    (plain,) = duckdb.sql(
        "SELECT count(*) FROM (SELECT DISTINCT user_id, feature"
        f" FROM read_parquet('{lake}/*.parquet') WHERE events > 0"
        f" AND date BETWEEN DATE '{first}' AND DATE '{d}')"
    ).fetchone()
    verdict = "agree" if stored == plain else "DISAGREE"
    return f"{verdict}: stored {stored:,} users per (account, feature), plain query {plain:,}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--events", type=int, default=100_000_000, help="usage rows (100,000,000)")
    ap.add_argument("--runs", type=int, default=3, help="timed runs of each (median; 3)")
    ap.add_argument("--threads", type=int, default=2, help="DuckDB threads (2)")
    ap.add_argument("--spark", action="store_true", help="also Spark local on 10M events")
    ap.add_argument("--work", type=Path, default=HERE / "scratch")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    lake, users = generate(args.events, args.work)
    ws = build_workspace(args.events, users, args.work)
    (ws / "cstool.yaml").write_text(
        (ws / "cstool.yaml").read_text(encoding="utf-8").split("\n# bench\n")[0]
        + f"\n# bench\nengines:\n  duckdb: {{threads: {args.threads}}}\n",
        encoding="utf-8",
    )
    glob = f"{lake}/*.parquet"
    source = f"read_parquet('{glob}')"
    floor = duckdb_query(
        f"SELECT user_id, feature, count(*) FROM {source} GROUP BY user_id, feature", args.threads
    )
    breadth = duckdb_query(
        f"SELECT account_id, feature, count(DISTINCT user_id) FROM {source}"
        " WHERE events > 0 GROUP BY account_id, feature",
        args.threads,
    )
    cstool = str(BIN / "cstool")
    one = [cstool, "rollup", "--engine", "duckdb", "--usage", str(lake), "--as-of", str(END)]
    series = [cstool, "rollup", "--engine", "duckdb", "--usage", str(lake)]
    series += ["--from", str(END - timedelta(weeks=12)), "--to", str(END)]
    print(f"{lake}: {args.events:,} usage events, {users:,} users, {FEATURES} features")
    results = [
        ("DuckDB group-by (user, feature): floor", *median(floor, ws, args.runs)),
        ("DuckDB distinct users per (account, feature)", *median(breadth, ws, args.runs)),
        ("cstool rollup --engine duckdb, 1 date", *median(one, ws, args.runs)),
    ]
    verdict = check(ws, lake, END)
    results.append(("cstool rollup --engine duckdb, 13 dates", *median(series, ws, 1)))
    if args.spark:
        first = str(lake / "part-000.parquet")
        spark = [cstool, "rollup", "--engine", "spark", "--usage", first, "--as-of", str(END)]
        wall, _ = run(spark, ws)
        results.append(
            (
                f"cstool rollup --engine spark, {min(args.events, FILE_ROWS):,} events",
                wall,
                float("nan"),
            )
        )
    print(f"\n{'job':<48}{'median s':>10}{'peak MB':>10}")
    for name, wall, mem in results:
        print(f"{name:<48}{wall:>10.2f}{mem:>10,.0f}")
    ratio = results[2][1] / results[0][1]
    print(f"\nrollup / floor: {ratio:.2f}x; rollup events/s: {args.events / results[2][1]:,.0f}")
    print(f"check: {verdict}")
    targets = {
        "within 1.5x of the floor": ratio <= 1.5,
        "memory under 2 GB": results[2][2] < 2048,
    }
    print("targets: " + "; ".join(f"{k}: {'met' if ok else 'MISSED'}" for k, ok in targets.items()))
    if verdict.startswith("DISAGREE"):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
