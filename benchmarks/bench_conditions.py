"""Condition speed: evaluations per second of a compiled condition over many accounts.

Evaluates the playbook example condition
``segment == 'Enterprise' and depth_band in ['red', 'orange'] and days_to_renewal <= 90``
over generated account contexts (about 1 in 5 without a renewal date, 30 extra attributes
each), beside Jinja's own ``compile_expression`` called on the same contexts (the peer: the
same sandbox, without cstool's missing-value handling), in the same run. Best of --runs.

    python benchmarks/bench_conditions.py --accounts 100000

Target on a 2-core machine: at least 100,000 evaluations/s.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from typing import Any

from cstool.conditions import ACCOUNT_VARIABLES, Verdict

SOURCE = "segment == 'Enterprise' and depth_band in ['red', 'orange'] and days_to_renewal <= 90"
BANDS = ("green", "lime", "yellow", "orange", "red")


def contexts(n: int) -> list[dict[str, Any]]:
    """``n`` account contexts with the condition's variables and 30 other values."""
    rng = random.Random(1)
    return [
        {
            "segment": rng.choice(["Enterprise", "Mid-Market", "SMB"]),
            "depth_band": rng.choice(BANDS),
            "days_to_renewal": None if rng.random() < 0.2 else rng.randint(-30, 400),
            **{f"attr{i}": rng.random() for i in range(30)},
        }
        for _ in range(n)
    ]


def best(runs: int, fn: Callable[[], object]) -> float:
    """The best wall time of ``runs`` calls of ``fn``."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    data = contexts(args.accounts)

    start = time.perf_counter()
    condition = ACCOUNT_VARIABLES.compile(SOURCE)
    compile_ms = (time.perf_counter() - start) * 1000

    from jinja2.sandbox import ImmutableSandboxedEnvironment

    peer = ImmutableSandboxedEnvironment().compile_expression(SOURCE)

    ours = best(args.runs, lambda: [condition.evaluate(c) for c in data])
    theirs = best(args.runs, lambda: [peer(**c) if c["days_to_renewal"] is not None else
                                      None for c in data])  # fmt: skip
    verdicts = [condition.evaluate(c).verdict for c in data]
    counts = {v.value: verdicts.count(v) for v in Verdict}
    n = args.accounts
    print(f"condition: {SOURCE}")
    print(f"compile once: {compile_ms:.1f} ms; verdicts over {n:,} accounts: {counts}")
    print(f"cstool conditions:              {n / ours:>10,.0f} evaluations/s")
    print(f"jinja compile_expression (peer): {n / theirs:>9,.0f} evaluations/s")
    print(f"cstool is {theirs / ours:.2f}x the speed of the peer")


if __name__ == "__main__":
    main()
